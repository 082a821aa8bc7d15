//! `lodestar bench qa` as a library-level example, for measuring while the CLI is being built:
//! `cargo run --release -p lodestar-rag --example qa_bench -- [MODEL|none] [HOME_DIR] [CATEGORY,…|all] [BUDGET]`.
//! Same steps as `crates/lodestar/src/cmd/ask.rs::run_bench_qa`.
#![allow(clippy::print_stdout)]
use anyhow::{Context, Result};
use lodestar_core::{Generator, KbId, Principal, Role, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_metrics::NaiveDate;
use lodestar_rag::adapters::{EngineSource, IndexRetriever};
use lodestar_rag::{AskOptions, Assistant, MetricsSource, Retriever};
use lodestar_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").with_context(|| format!("bad date `{s}`"))
}

/// The parts of an assistant a home provides.
struct Parts {
    metrics: Option<Arc<dyn MetricsSource>>,
    retriever: Option<Arc<dyn Retriever>>,
    warnings: Vec<String>,
}

fn open_parts(
    home_db: &Path,
    index_dir: &Path,
    dicts: &Arc<Dictionaries>,
    config: &lodestar_core::config::Config,
    models_dir: &Path,
) -> Result<Parts> {
    let mut warnings = Vec::new();
    let store = Store::open(home_db)?;
    let metrics: Option<Arc<dyn MetricsSource>> = if store.latest_sales_month()?.is_some() {
        Some(Arc::new(EngineSource::load(store, dicts.clone(), config.clone())?))
    } else {
        warnings.push("no sales data imported yet: metric questions cannot be answered (run `lodestar import`)".into());
        None
    };
    let retriever: Option<Arc<dyn Retriever>> = if index_dir.is_dir() {
        let embedder = lodestar_infer::open_embedder(models_dir, None).ok();
        let ix = lodestar_index::KnowledgeIndex::open(index_dir, dicts, embedder)?;
        Some(Arc::new(IndexRetriever::new(ix)))
    } else {
        warnings.push(
            "no knowledge index yet: knowledge questions cannot be answered (run `lodestar kb add knowledge/`)".into(),
        );
        None
    };
    Ok(Parts { metrics, retriever, warnings })
}

fn open_generator(models_dir: &Path, model: Option<&str>) -> Result<Arc<dyn Generator>> {
    Ok(lodestar_infer::open_chat(models_dir, model)?)
}

fn repo_path(rel: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::current_dir().ok().map(|d| d.join(rel)),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

/// Builds a bench home: demo data (end month 2026-10) imported, the knowledge bases indexed, and the
/// accounts the evaluation set asks as.
fn build_bench_home(root: &Path, dicts: &Arc<Dictionaries>, models_dir: &Path) -> Result<()> {
    let db = root.join("lodestar.db");
    let mut store = Store::open(&db)?;
    if store.latest_sales_month()?.is_none() {
        let dir = root.join("demo");
        let manifest = lodestar_demo::generate(&dir, &lodestar_demo::DemoOptions::default())?;
        let order = ["fx", "targets", "sales", "receivables", "messy_sales"];
        let mut files: Vec<&lodestar_demo::DemoFile> = manifest.files.iter().collect();
        files.sort_by_key(|f| order.iter().position(|k| *k == f.kind).unwrap_or(order.len()));
        for f in files {
            lodestar_ingest::import_file(&mut store, dicts, &f.path, &lodestar_ingest::ImportOptions::default())
                .with_context(|| format!("importing {}", f.path.display()))?;
        }
    }
    // Accounts of the sensitive questions: an intern with 内部 clearance over every base, and a
    // salesperson limited to the product and policy bases.
    store.upsert_user("intern", Role::Viewer, Sensitivity::Internal, &[], None)?;
    store.upsert_user("sales_kz", Role::Sales, Sensitivity::Sensitive, &[KbId::Product, KbId::Policy], None)?;
    let index_dir = root.join("index");
    if !index_dir.is_dir() {
        let knowledge = repo_path("knowledge").context("knowledge/ folder not found (run from the repository root)")?;
        let embedder = lodestar_infer::open_embedder(models_dir, None).ok();
        let mut ix = lodestar_index::KnowledgeIndex::open(&index_dir, dicts, embedder)?;
        ix.add_paths(&[knowledge], &lodestar_index::AddOptions::default())?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = args.first().cloned().filter(|m| m != "none");
    let root = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| "/tmp/qa-bench-home".into()));
    let only: Option<Vec<String>> =
        args.get(2).filter(|s| *s != "all").map(|s| s.split(',').map(str::to_string).collect());
    let budget: usize = args.get(3).and_then(|b| b.parse().ok()).unwrap_or(lodestar_rag::prompt::PROMPT_BUDGET);
    let models_dir = lodestar_core::home::models_dir();
    std::fs::create_dir_all(&root)?;
    let dicts = Arc::new(Dictionaries::builtin()?);
    build_bench_home(&root, &dicts, &models_dir)?;
    let config = lodestar_core::config::Config::default();
    let parts = open_parts(&root.join("lodestar.db"), &root.join("index"), &dicts, &config, &models_dir)?;
    for w in &parts.warnings {
        eprintln!("warning: {w}");
    }
    let generator: Option<Arc<dyn Generator>> = match &model {
        Some(m) => Some(open_generator(&models_dir, Some(m))?),
        None => None,
    };
    let name = generator.as_ref().map(|g| g.name().to_string());
    let assistant = Assistant::new(dicts.clone(), parts.metrics, parts.retriever, generator);
    let store = Store::open(&root.join("lodestar.db"))?;
    let set = repo_path("tests/eval/qa.jsonl").context("qa.jsonl")?;
    let mut cases = lodestar_rag::eval::load_cases(&std::fs::read_to_string(set)?)?;
    if let Some(o) = &only {
        cases.retain(|c| o.contains(&c.category) || o.contains(&c.id));
    }
    let mut scores = Vec::new();
    for c in &cases {
        let principal: Principal = store.principal(c.user.as_deref())?;
        let opts = AskOptions {
            principal,
            as_of: Some(parse_date(&c.as_of)?),
            prompt_budget: budget,
            ..AskOptions::default()
        };
        let ans = assistant.ask(&c.question, &opts)?;
        let s = lodestar_rag::eval::score(c, &ans);
        if let Some(g) = &ans.gen_stats {
            println!(
                "    prompt={} cached={} gen={} prefill={:.0}ms decode={:.0}ms",
                g.prompt_tokens, g.cached_tokens, g.generated_tokens, g.prefill_ms, g.decode_ms
            );
        }
        let ok = s.missing.is_empty()
            && s.forbidden_found.is_empty()
            && s.refused == s.refusal_expected
            && s.candidates_ok != Some(false);
        println!(
            "{} {} {} ttft={:?} total={:.0} cites={}/{} missing={:?} flagged={:?} forbidden={:?}",
            if ok { "OK " } else { "BAD" },
            c.id,
            c.question,
            ans.ttft_ms,
            ans.timings_ms.total,
            s.citations_in_gold,
            s.citations,
            s.missing,
            s.flagged,
            s.forbidden_found
        );
        if std::env::var("QA_VERBOSE").is_ok() {
            println!("{}\n---", ans.answer);
            for ci in &ans.citations {
                println!("  cite {}", ci.doc);
            }
        }
        scores.push(s);
    }
    let mut report = lodestar_rag::eval::aggregate(name, scores);
    report.scores.clear();
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
