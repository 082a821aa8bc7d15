//! `lodestar ask "question"`: grounded answers (rule engine for metrics, cited knowledge for the
//! rest, number guard on generated text), and `lodestar bench qa`: the answer evaluation set.

use crate::Ctx;
use anyhow::{Context, Result};
use lodestar_core::{Generator, KbId};
use lodestar_dict::Dictionaries;
use lodestar_metrics::NaiveDate;
use lodestar_rag::adapters::{EngineSource, IndexRetriever};
use lodestar_rag::{AskOptions, Assistant, MetricsSource, Retriever, Router};
use lodestar_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct AskArgs {
    /// The question (Chinese or English)
    pub question: String,
    /// Search only this knowledge base (repeatable): product, customer, policy, meeting, ops
    #[arg(long = "kb", value_name = "ID")]
    pub kb: Vec<String>,
    /// Take relative periods (本月, 上月, 今年以来) and alerts as of this date (YYYY-MM-DD)
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Chat model name or alias (default: the manifest's default chat model)
    #[arg(long)]
    pub model: Option<String>,
    /// Print the answer at the end instead of streaming it
    #[arg(long)]
    pub no_stream: bool,
    /// Do not load a chat model (metric answers and quoted passages only)
    #[arg(long)]
    pub no_model: bool,
    /// CPU threads for the model (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Token budget for the sources and question in the prompt (time to first token grows with it)
    #[arg(long, default_value_t = lodestar_rag::prompt::PROMPT_BUDGET)]
    pub budget: usize,
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").with_context(|| format!("--as-of `{s}`: expected YYYY-MM-DD"))
}

/// The parts of an assistant a home provides.
pub(crate) struct Parts {
    pub metrics: Option<Arc<dyn MetricsSource>>,
    pub retriever: Option<Arc<dyn Retriever>>,
    /// The same index as `retriever`, for routes that add and remove documents.
    pub index: Option<Arc<IndexRetriever>>,
    pub warnings: Vec<String>,
}

pub(crate) fn open_parts(
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
    let index: Option<Arc<IndexRetriever>> = if index_dir.is_dir() {
        let embedder = lodestar_infer::open_embedder(models_dir, None).ok();
        let mut ix = lodestar_index::KnowledgeIndex::open(index_dir, dicts, embedder)?;
        // documents the web server indexes are read under the home's `[limits]`
        ix.set_limits(config.limits.clone());
        Some(Arc::new(IndexRetriever::new(ix)))
    } else {
        None
    };
    let retriever: Option<Arc<dyn Retriever>> = if let Some(ix) = &index {
        Some(ix.clone())
    } else {
        warnings.push(
            "no knowledge index yet: knowledge questions cannot be answered (run `lodestar kb add knowledge/`)".into(),
        );
        None
    };
    Ok(Parts { metrics, retriever, index, warnings })
}

/// The chat model `model` names: a remote model registered in the home, else a local one.
pub(crate) fn open_generator(ctx: &Ctx, model: Option<&str>) -> Result<Arc<dyn Generator>> {
    open_generator_slots(ctx, model, 1)
}

/// [`open_generator`] with `slots` sequences decoded together (a local model serves that many
/// concurrent calls in one batch; a remote one takes them as concurrent requests).
pub(crate) fn open_generator_slots(ctx: &Ctx, model: Option<&str>, slots: usize) -> Result<Arc<dyn Generator>> {
    if let Some(name) = model {
        let reg = lodestar_remote::Registry::load(ctx.home.root())?;
        if let Some(spec) = reg.get(name) {
            if spec.role != lodestar_remote::RemoteRole::Chat {
                anyhow::bail!("remote model `{name}` is registered as an embedding model, not a chat model");
            }
            return Ok(Arc::new(lodestar_remote::RemoteChat::new(spec.clone())?));
        }
    }
    Ok(lodestar_infer::open_chat_slots(&ctx.models_dir, model, slots)?)
}

pub fn run_ask(ctx: &Ctx, args: AskArgs) -> Result<()> {
    if let Some(t) = args.threads {
        lodestar_infer::set_threads(t);
    }
    let store = ctx.store()?;
    let dicts = Arc::new(ctx.dicts()?);
    let config = ctx.config()?;
    let principal = ctx.principal(&store)?;
    let as_of = args.as_of.as_deref().map(parse_date).transpose()?;
    let kbs = args.kb.iter().map(|k| k.parse::<KbId>()).collect::<Result<Vec<_>, _>>()?;
    let parts = open_parts(&ctx.home.db_path(), &ctx.home.index_dir(), &dicts, &config, &ctx.models_dir)?;
    let mut assistant = Assistant::new(dicts.clone(), parts.metrics, parts.retriever, None);
    assistant.fields = config.fields.clone();

    // Load the chat model only when the question needs the knowledge bases.
    let reference = assistant.reference_month(as_of)?;
    let route = Router::new(&dicts).route(&args.question, reference);
    let mut notes = parts.warnings;
    if route.needs_knowledge() && !args.no_model {
        match open_generator(ctx, args.model.as_deref()) {
            Ok(g) => assistant.generator = Some(g),
            Err(e) => notes.push(format!("chat model not available ({e:#}): quoting passages instead")),
        }
    }
    let opts =
        AskOptions { principal: principal.clone(), as_of, kbs, prompt_budget: args.budget, ..AskOptions::default() };
    let stream = !ctx.json && !args.no_stream;
    let mut out = std::io::stdout();
    let ans = assistant.ask_streaming(&args.question, &opts, &mut |piece| {
        if stream {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
        }
    })?;
    lodestar_rag::audit(&store, &principal, &args.question, &ans)?;
    if ctx.json {
        let mut v = serde_json::to_value(&ans)?;
        if let (serde_json::Value::Object(o), false) = (&mut v, notes.is_empty()) {
            if let Some(serde_json::Value::Array(w)) = o.get_mut("warnings") {
                w.extend(notes.into_iter().map(serde_json::Value::String));
            }
        }
        return ctx.print_json(&v);
    }
    if stream {
        println!();
        if !ans.flagged.is_empty() {
            println!("\n（数字校验后的文本）\n{}", ans.answer);
        }
    } else {
        println!("{}", ans.answer);
    }
    if !ans.citations.is_empty() {
        println!("\n来源：");
        for (i, c) in ans.citations.iter().enumerate() {
            println!("  [{}] {} · {} （{}）", i + 1, c.kb.name_zh(), c.title, c.doc);
        }
    }
    for w in ans.warnings.iter().chain(notes.iter()) {
        println!("⚠ {w}");
    }
    if ans.needs_review {
        println!("（AI 生成内容，需人工审核后使用）");
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct BenchQaArgs {
    /// Chat model name or alias (default: the manifest's default chat model)
    #[arg(long)]
    pub model: Option<String>,
    /// Run without a chat model (rule engine and quoted passages only)
    #[arg(long)]
    pub no_model: bool,
    /// Evaluation set
    #[arg(long, value_name = "FILE")]
    pub set: Option<PathBuf>,
    /// Only the first N questions
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only questions of these categories (comma-separated)
    #[arg(long)]
    pub only: Option<String>,
    /// Keep the temporary home here (re-used when it already holds data)
    #[arg(long, value_name = "DIR")]
    pub keep_home: Option<PathBuf>,
    /// CPU threads for the model (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Token budget for the sources and question in the prompt
    #[arg(long, default_value_t = lodestar_rag::prompt::PROMPT_BUDGET)]
    pub budget: usize,
    /// Write every question's answer, route, citations and score to this JSONL file (one line per
    /// question, for checking the scores by hand)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

pub fn run_bench_qa(ctx: &Ctx, args: BenchQaArgs) -> Result<()> {
    if let Some(t) = args.threads {
        lodestar_infer::set_threads(t);
    }
    let set = match &args.set {
        Some(p) => p.clone(),
        None => lodestar_bench::repo_path("tests/eval/qa.jsonl")
            .context("tests/eval/qa.jsonl not found (give --set FILE)")?,
    };
    let text = std::fs::read_to_string(&set).with_context(|| format!("cannot read {}", set.display()))?;
    let mut cases = lodestar_bench::qa::load_cases(&text)?;
    if let Some(only) = &args.only {
        let cats: Vec<&str> = only.split(',').map(str::trim).collect();
        cases.retain(|c| cats.contains(&c.category.as_str()));
    }
    if let Some(n) = args.limit {
        cases.truncate(n);
    }

    let (root, temporary) = match &args.keep_home {
        Some(p) => (p.clone(), false),
        None => (std::env::temp_dir().join(format!("lodestar-bench-qa-{}", std::process::id())), true),
    };
    let home = lodestar_bench::home::seed(&root, lodestar_infer::open_embedder(&ctx.models_dir, None).ok())?;
    let setup_ms = home.setup_ms;
    let generator = if args.no_model {
        None
    } else {
        match open_generator(ctx, args.model.as_deref()) {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("chat model not available ({e:#}): running without one");
                None
            }
        }
    };
    let json = ctx.json;
    let mut progress = |i: usize, n: usize, s: &lodestar_bench::qa::QaSample| {
        if json {
            return;
        }
        let c = &s.score;
        eprintln!(
            "[{:>2}/{}] {} {:<5} {:<12} {:>7.0} ms  cites {}/{}{}{}",
            i,
            n,
            if s.passed { "✓" } else { "✗" },
            s.id,
            s.category,
            c.total_ms,
            c.citations_in_gold,
            c.citations,
            if c.missing.is_empty() { String::new() } else { format!("  missing: {}", c.missing.join(" / ")) },
            if c.flagged.is_empty() { String::new() } else { format!("  flagged: {}", c.flagged.join(" ")) },
        );
    };
    let (report, samples) = lodestar_bench::qa::run(&home, &cases, generator, args.budget, &mut progress)?;
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    if let Some(path) = &args.log {
        let mut s = String::new();
        for sample in &samples {
            s.push_str(&serde_json::to_string(sample)?);
            s.push('\n');
        }
        std::fs::write(path, s).with_context(|| format!("cannot write {}", path.display()))?;
        if !json {
            eprintln!("per-question log: {} ({} lines)", path.display(), samples.len());
        }
    }
    if ctx.json {
        let mut v = serde_json::to_value(&report)?;
        if let serde_json::Value::Object(o) = &mut v {
            o.insert("setup_ms".into(), serde_json::json!(setup_ms));
            o.insert("set".into(), serde_json::json!(set.display().to_string()));
        }
        return ctx.print_json(&v);
    }
    let pct = |x: Option<f64>| x.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "—".into());
    let msf = |x: Option<f64>| x.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "—".into());
    println!("bench qa — {} questions, model {}", report.cases, report.model.as_deref().unwrap_or("(none)"));
    println!("  metric-number exactness     {}", pct(report.metric_number_exactness));
    println!("  metric questions all exact  {}", pct(report.metric_questions_all_exact));
    println!("  expected-fact coverage      {}", pct(report.fact_coverage));
    println!("  citation precision          {}", pct(report.citation_precision));
    println!("  refusal correctness         {}", pct(report.refusal_correctness));
    println!("  false refusals (answerable) {}", pct(report.false_refusals));
    println!("  clarification correctness   {}", pct(report.clarification_correctness));
    println!("  missing detail named        {}", pct(report.missing_detail_named));
    println!("  engine answers to knowledge {}", report.engine_answers_to_knowledge);
    println!("  forbidden-string clean      {}", pct(report.forbidden_clean));
    println!("  guard flags                 {} (in {} answers)", report.guard_flags, report.answers_with_flags);
    println!("  model sentence with a fact  {}", pct(report.model_answer_with_fact));
    println!("  quote-only fallbacks        {}", pct(report.quote_only_share));
    println!("  answers under 8 characters  {}", report.short_answers);
    println!(
        "  median answer length        {}",
        report.median_answer_chars.map(|v| format!("{v:.0} chars")).unwrap_or_else(|| "—".into())
    );
    println!("  median TTFT (knowledge)     {}", msf(report.median_ttft_ms));
    println!("  median total (knowledge)    {}", msf(report.median_total_ms_knowledge));
    println!("  median total (metric)       {}", msf(report.median_total_ms_metric));
    println!("  setup (demo + import + index) {setup_ms:.0} ms");
    Ok(())
}
