//! `lodestar kb add|list|remove`, `lodestar index build|stats`, `lodestar search`,
//! `lodestar bench retrieval`, `lodestar bench index` — glue over `lodestar-index`.

use crate::Ctx;
use anyhow::{Context, Result};
use lodestar_bench::index::{run_index_bench, IndexBenchOptions};
use lodestar_bench::retrieval::{evaluate, load_questions};
use lodestar_core::{Embedder, KbId, Principal, Sensitivity};
use lodestar_index::{AddOptions, Fusion, KnowledgeIndex, Rerank, SearchMode, SearchRequest};
use std::path::PathBuf;
use std::sync::Arc;

/// The embedding model for passages and queries, when installed (`lodestar models fetch`).
/// The run-time option `embed = false` (`LODESTAR_NO_EMBED=1`) skips it (BM25 only). Returns the
/// reason when there is none.
pub fn open_embedder(ctx: &Ctx) -> (Option<Arc<dyn Embedder>>, Option<String>) {
    if !lodestar_core::runtime::current().embed {
        return (
            None,
            Some("the embedding model is switched off (runtime option embed = false or LODESTAR_NO_EMBED)".into()),
        );
    }
    match lodestar_infer::open_embedder(&ctx.models_dir, None) {
        Ok(e) => (Some(e), None),
        Err(e) => (None, Some(e.to_string())),
    }
}

/// Opens the home's knowledge index with the embedder when installed.
pub fn open_index(ctx: &Ctx) -> Result<(KnowledgeIndex, Option<String>)> {
    ctx.home.ensure().with_context(|| format!("cannot create home {}", ctx.home.root().display()))?;
    let dicts = ctx.dicts()?;
    let (emb, why) = open_embedder(ctx);
    let dir = ctx.home.index_dir();
    let ix = KnowledgeIndex::open(&dir, &dicts, emb).with_context(|| format!("cannot open index {}", dir.display()))?;
    Ok((ix, why))
}

fn principal(ctx: &Ctx) -> Result<Principal> {
    match &ctx.as_user {
        None => Ok(Principal::local_admin()),
        Some(_) => {
            let store = ctx.store()?;
            ctx.principal(&store)
        }
    }
}

fn parse_kb(s: &str) -> Result<KbId, String> {
    s.parse::<KbId>().map_err(|e| e.to_string())
}

fn parse_sensitivity(s: &str) -> Result<Sensitivity, String> {
    s.parse::<Sensitivity>().map_err(|e| e.to_string())
}

#[derive(clap::Args)]
pub struct KbArgs {
    #[command(subcommand)]
    cmd: KbCmd,
}

#[derive(clap::Subcommand)]
enum KbCmd {
    /// Add files or folders (.md .txt .docx .xlsx .xls .ods .pdf); changed documents replace their chunks
    Add {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Knowledge base when neither front matter nor folder name gives one
        #[arg(long, value_parser = parse_kb)]
        kb: Option<KbId>,
        /// Sensitivity (公开/内部/敏感/机密) when the front matter gives none (default 内部)
        #[arg(long, value_parser = parse_sensitivity)]
        sensitivity: Option<Sensitivity>,
    },
    /// List stored documents
    List {
        #[arg(long, value_parser = parse_kb)]
        kb: Option<KbId>,
    },
    /// Remove documents by id (`product/spec-11r22_5.md`), folder prefix or knowledge-base id
    Remove {
        #[arg(required = true)]
        docs: Vec<String>,
    },
}

pub fn run_kb(ctx: &Ctx, args: KbArgs) -> Result<()> {
    match args.cmd {
        KbCmd::Add { paths, kb, sensitivity } => {
            let (mut ix, why) = open_index(ctx)?;
            if let Some(w) = &why {
                eprintln!("note: no embedding model ({w}); documents are indexed for BM25 only — run `lodestar index build` after installing it");
            }
            ix.set_limits(ctx.config()?.limits);
            let rep = ix.add_paths(&paths, &AddOptions { kb, sensitivity })?;
            if ctx.json {
                return ctx.print_json(&rep);
            }
            for d in &rep.docs {
                let tag = match d.change {
                    lodestar_index::DocChange::Added => "added",
                    lodestar_index::DocChange::Updated => "updated",
                    lodestar_index::DocChange::Unchanged => "unchanged",
                };
                println!("{tag:9} {} ({} chunks)", d.doc, d.chunks);
            }
            for s in &rep.skipped {
                println!("skipped   {}: {}", s.path.display(), s.reason);
            }
            println!(
                "{} added, {} updated, {} unchanged, {} skipped; chunks +{} −{}, {} embedded",
                rep.added,
                rep.updated,
                rep.unchanged,
                rep.skipped.len(),
                rep.chunks_added,
                rep.chunks_removed,
                rep.chunks_embedded
            );
            Ok(())
        }
        KbCmd::List { kb } => {
            let dicts = ctx.dicts()?;
            let ix = KnowledgeIndex::open(&ctx.home.index_dir(), &dicts, None)?;
            let docs: Vec<_> = ix.documents().into_iter().filter(|d| kb.is_none_or(|k| d.kb == k)).collect();
            if ctx.json {
                return ctx.print_json(&docs);
            }
            for d in &docs {
                println!("{:8} {:4} {:>3}  {}  {}", d.kb.id(), d.sensitivity.label(), d.chunks, d.doc, d.title);
            }
            println!("{} documents", docs.len());
            Ok(())
        }
        KbCmd::Remove { docs } => {
            let dicts = ctx.dicts()?;
            let mut ix = KnowledgeIndex::open(&ctx.home.index_dir(), &dicts, None)?;
            let mut removed = Vec::new();
            for d in &docs {
                removed.extend(ix.remove(d)?);
            }
            if ctx.json {
                return ctx.print_json(&serde_json::json!({ "removed": removed }));
            }
            for r in &removed {
                println!("removed {r}");
            }
            Ok(())
        }
    }
}

#[derive(clap::Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    cmd: IndexCmd,
}

#[derive(clap::Subcommand)]
enum IndexCmd {
    /// Rebuild BM25 and re-embed every chunk (after installing a model or changing dictionaries);
    /// with paths, add them first
    Build { paths: Vec<PathBuf> },
    /// Documents, chunks, vectors and disk use
    Stats,
}

pub fn run_index(ctx: &Ctx, args: IndexArgs) -> Result<()> {
    match args.cmd {
        IndexCmd::Build { paths } => {
            let (mut ix, why) = open_index(ctx)?;
            ix.set_limits(ctx.config()?.limits);
            let added = if paths.is_empty() { None } else { Some(ix.add_paths(&paths, &AddOptions::default())?) };
            if let Some(w) = &why {
                eprintln!("note: no embedding model ({w}): BM25 only");
            }
            let quiet = ctx.json;
            let rep = ix.rebuild(&mut |done, total| {
                if !quiet {
                    eprint!("\rembedding {done}/{total}");
                }
            })?;
            if !quiet && rep.embedded > 0 {
                eprintln!();
            }
            if ctx.json {
                return ctx.print_json(&serde_json::json!({ "added": added, "rebuild": rep, "stats": ix.stats() }));
            }
            println!(
                "{} chunks: BM25 {:.0} ms, {} embedded in {:.1} s",
                rep.chunks,
                rep.bm25_ms,
                rep.embedded,
                rep.embed_ms / 1e3
            );
            Ok(())
        }
        IndexCmd::Stats => {
            let (ix, _) = {
                let dicts = ctx.dicts()?;
                let (emb, why) = (None::<Arc<dyn Embedder>>, ());
                (KnowledgeIndex::open(&ctx.home.index_dir(), &dicts, emb)?, why)
            };
            let st = ix.stats();
            if ctx.json {
                return ctx.print_json(&st);
            }
            println!("index {}", st.dir.display());
            println!(
                "documents {}  chunks {}  bm25 {}  vectors {} ({})",
                st.documents,
                st.chunks,
                st.bm25_docs,
                st.vectors,
                st.embedder.as_deref().unwrap_or("none")
            );
            for (k, n) in &st.by_kb {
                println!("  {k:9} {n}");
            }
            for (k, n) in &st.by_sensitivity {
                println!("  {k:9} {n}");
            }
            println!("disk {:.1} MiB", st.disk_bytes as f64 / 1048576.0);
            Ok(())
        }
    }
}

#[derive(clap::Args)]
pub struct SearchArgs {
    /// The question or keywords
    query: String,
    /// Restrict to knowledge bases (repeatable)
    #[arg(long, value_parser = parse_kb)]
    kb: Vec<KbId>,
    /// Number of hits
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Keep chunks tied to this country code (or to none)
    #[arg(long)]
    country: Option<String>,
    /// Keep chunks about this customer id (or about none)
    #[arg(long)]
    customer: Option<String>,
    /// hybrid (default), bm25 or vector
    #[arg(long, default_value = "hybrid")]
    mode: String,
    /// Re-sort the fused top 20 by e5 cosine (measured; off by default)
    #[arg(long)]
    rerank: bool,
    /// How BM25 and vector results are combined: score (default; normalized scores) or rrf
    /// (reciprocal ranks)
    #[arg(long, default_value = "score")]
    fusion: String,
    /// Chunks of one document listed before other documents' hits (0 = no collapsing)
    #[arg(long, default_value_t = lodestar_index::SEARCH_PER_DOC)]
    per_doc: usize,
}

pub fn run_search(ctx: &Ctx, args: SearchArgs) -> Result<()> {
    let principal = principal(ctx)?;
    let mode = match args.mode.to_ascii_lowercase().as_str() {
        "hybrid" => SearchMode::Hybrid,
        "bm25" => SearchMode::Bm25,
        "vector" => SearchMode::Vector,
        m => anyhow::bail!("unknown mode `{m}` (hybrid, bm25, vector)"),
    };
    let (ix, _) = if mode == SearchMode::Bm25 {
        let dicts = ctx.dicts()?;
        (KnowledgeIndex::open(&ctx.home.index_dir(), &dicts, None)?, None)
    } else {
        open_index(ctx)?
    };
    let mut req = SearchRequest::new(args.query, principal);
    req.k = args.k.max(1);
    req.kbs = args.kb;
    req.country = args.country;
    req.customer = args.customer;
    req.mode = mode;
    req.rerank = if args.rerank { Rerank::Cosine } else { Rerank::None };
    req.fusion = match args.fusion.as_str() {
        "score" => Fusion::Score,
        "rrf" => Fusion::Rrf,
        f => anyhow::bail!("unknown fusion `{f}` (score, rrf)"),
    };
    req.per_doc = (args.per_doc > 0).then_some(args.per_doc);
    let res = ix.search(&req)?;
    if ctx.json {
        return ctx.print_json(&res);
    }
    for w in &res.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "mode {} · {} hits · {:.1} ms (+{:.1} ms query embedding)",
        res.mode,
        res.hits.len(),
        res.search_ms,
        res.embed_ms
    );
    if !res.expanded_terms.is_empty() {
        println!("English question: BM25 also searched {}", res.expanded_terms.join(" "));
    }
    let r = |x: Option<usize>| x.map_or("-".to_string(), |v| v.to_string());
    for (i, h) in res.hits.iter().enumerate() {
        println!(
            "{:2}. [{}·{}] {} — {}  (score {:.4}, bm25 #{}, vector #{})",
            i + 1,
            h.kb.id(),
            h.sensitivity.label(),
            h.doc,
            if h.section.is_empty() { h.title.as_str() } else { h.section.as_str() },
            h.score,
            r(h.ranks.bm25),
            r(h.ranks.vector)
        );
        println!("    {}", h.snippet);
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct BenchRetrievalArgs {
    /// Knowledge folder (default: ./knowledge or the repository's)
    #[arg(long)]
    knowledge: Option<PathBuf>,
    /// Evaluation set (default: tests/eval/retrieval.jsonl)
    #[arg(long)]
    eval: Option<PathBuf>,
    /// Keep the bench index in DIR and reuse it on the next run (unchanged documents are not
    /// re-embedded); default: a temporary home removed afterwards
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

/// Finds `rel` in the current directory or its ancestors (a checkout).
fn locate(rel: &str) -> Option<PathBuf> {
    lodestar_bench::repo_path(rel)
}

struct TempHome(PathBuf);
impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_home(tag: &str) -> Result<TempHome> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let p = std::env::temp_dir().join(format!("lodestar-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
    Ok(TempHome(p))
}

pub fn run_bench_retrieval(ctx: &Ctx, args: BenchRetrievalArgs) -> Result<()> {
    let home = temp_home("bench-retrieval")?;
    let knowledge = match args.knowledge.or_else(|| locate("knowledge")) {
        Some(k) => k,
        None => {
            // outside a checkout: the demo documents the questions were written for
            let k = home.0.join("knowledge");
            lodestar_demo::knowledge::write_to(&k).with_context(|| format!("cannot write {}", k.display()))?;
            k
        }
    };
    let eval = args
        .eval
        .or_else(|| locate("tests/eval/retrieval.jsonl"))
        .context("tests/eval/retrieval.jsonl not found (use --eval)")?;
    let questions = load_questions(&eval)?;
    let index_dir = args.keep.clone().unwrap_or_else(|| home.0.join("index"));
    let dicts = ctx.dicts()?;
    let (emb, why) = open_embedder(ctx);
    let mut ix = KnowledgeIndex::open(&index_dir, &dicts, emb.clone())?;
    if !ctx.json {
        eprintln!("indexing {} (embedder: {}) …", knowledge.display(), emb.as_ref().map_or("none", |e| e.name()));
    }
    let t = std::time::Instant::now();
    let add = ix.add_paths(std::slice::from_ref(&knowledge), &AddOptions::default())?;
    let index_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let rep = evaluate(&ix, &questions)?;
    let eval_s = t.elapsed().as_secs_f64();
    let mut warnings = Vec::new();
    if let Some(w) = &why {
        warnings.push(format!("vector retrieval unavailable (no embedding model: {w}); hybrid = BM25"));
    }
    let st = ix.stats();
    let out = serde_json::json!({
        "hybrid": rep.hybrid,
        "bm25": rep.bm25,
        "vector": rep.vector,
        "hybrid_rerank": rep.hybrid_rerank,
        "hybrid_rrf": rep.hybrid_rrf,
        "questions": rep.questions,
        "documents": st.documents,
        "chunks": st.chunks,
        "skipped_files": add.skipped.len(),
        "embedder": emb.as_ref().map(|e| e.name().to_string()),
        "index_s": index_s,
        "eval_s": eval_s,
        "warnings": warnings,
    });
    if ctx.json {
        return ctx.print_json(&out);
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "{} questions, {} documents, {} chunks (indexed in {:.1} s)",
        rep.questions, st.documents, st.chunks, index_s
    );
    println!("{:14} {:>6} {:>6} {:>6} {:>6}  perm.violations", "retriever", "R@1", "R@5", "R@10", "MRR");
    let row = |name: &str, m: Option<&lodestar_bench::retrieval::ModeReport>| match m {
        Some(m) => println!(
            "{name:14} {:>6.3} {:>6.3} {:>6.3} {:>6.3}  {}",
            m.recall_at_1, m.recall_at_5, m.recall_at_10, m.mrr, m.permission_violations
        ),
        None => println!("{name:14} unavailable (no embedding model)"),
    };
    row("hybrid", Some(&rep.hybrid));
    row("bm25", Some(&rep.bm25));
    row("vector", rep.vector.as_ref());
    row("hybrid+rerank", rep.hybrid_rerank.as_ref());
    row("hybrid (RRF)", rep.hybrid_rrf.as_ref());
    Ok(())
}

#[derive(clap::Args)]
pub struct BenchIndexArgs {
    /// Generated chunks
    #[arg(long, default_value_t = 50_000)]
    chunks: usize,
    /// Vector dimension of the synthetic embeddings
    #[arg(long, default_value_t = 384)]
    dim: usize,
    /// Search queries timed
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Passages embedded with the real model for the throughput figure (0 = skip)
    #[arg(long, default_value_t = 64)]
    embed_sample: usize,
}

pub fn run_bench_index(ctx: &Ctx, args: BenchIndexArgs) -> Result<()> {
    let home = temp_home("bench-index")?;
    let dicts = ctx.dicts()?;
    let (emb, why) = if args.embed_sample > 0 { open_embedder(ctx) } else { (None, Some("--embed-sample 0".into())) };
    let opts = IndexBenchOptions {
        chunks: args.chunks,
        dim: args.dim,
        queries: args.queries.max(10),
        embed_sample: args.embed_sample,
        ..Default::default()
    };
    if !ctx.json {
        eprintln!("indexing {} generated chunks …", opts.chunks);
    }
    let rep = run_index_bench(&home.0.join("index"), &dicts, emb.as_deref(), &opts)?;
    if ctx.json {
        let mut v = serde_json::to_value(&rep)?;
        if let (Some(w), Some(obj)) = (why, v.as_object_mut()) {
            obj.insert("warnings".into(), serde_json::json!([format!("embedding throughput not measured: {w}")]));
        }
        return ctx.print_json(&v);
    }
    println!("{} chunks, dim {}", rep.chunks, rep.dim);
    println!("BM25 indexing   {:>10.0} chunks/s ({:.1} s)", rep.bm25_chunks_per_s, rep.bm25_index_s);
    println!("HNSW indexing   {:>10.0} chunks/s ({:.1} s)", rep.hnsw_chunks_per_s, rep.hnsw_index_s);
    println!("persist {:.1} s, reopen {:.1} s", rep.persist_s, rep.reopen_s);
    println!(
        "search (admin)     p50 {:.2} ms  p95 {:.2} ms  ({} queries, query embedding excluded)",
        rep.search_p50_ms, rep.search_p95_ms, rep.queries
    );
    println!("search (filtered)  p50 {:.2} ms  p95 {:.2} ms", rep.filtered_search_p50_ms, rep.filtered_search_p95_ms);
    match (rep.embed_passages_per_s, &rep.embed_model) {
        (Some(p), Some(m)) => println!("embedding ({m}) {p:.1} passages/s"),
        _ => println!("embedding: not measured ({})", why.unwrap_or_default()),
    }
    Ok(())
}
