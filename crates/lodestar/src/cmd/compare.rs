//! `lodestar bench compare`: several chat models (built-in, added with `models add`, remote, or a
//! `.gguf` path) over the speed, qa, minutes and drafts suites, as one report. The suites and the
//! report live in `lodestar_bench::compare`; this module resolves the model names, runs each local
//! model's speed suite in a child process (`bench speed-probe`, so that its peak memory is its
//! own), and prints where the report went.

use crate::Ctx;
use anyhow::{bail, Context, Result};
use lodestar_bench::compare::{self, Candidate, CompareOptions, ModelInfo, SpeedFigures, Suite};
use lodestar_core::Generator;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct BenchCompareArgs {
    /// Models, comma separated: built-in names or aliases, `models add` names, remote names
    /// (`models add-remote`) or .gguf paths
    #[arg(long, value_delimiter = ',', required = true)]
    pub models: Vec<String>,
    /// Suites, comma separated: speed, qa, minutes, drafts
    #[arg(long, default_value = "speed,qa,minutes,drafts")]
    pub suites: String,
    /// The model the deltas are taken against (default: the first)
    #[arg(long)]
    pub baseline: Option<String>,
    /// Repetitions of each speed measurement (mean ± sd)
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Report folder (default: <home>/reports/compare-<date>-<time>)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Prompt lengths of the speed suite, comma separated
    #[arg(long, value_delimiter = ',', default_values_t = vec![512usize, 1024])]
    pub prompt_tokens: Vec<usize>,
    /// Tokens decoded after each speed prompt
    #[arg(long, default_value_t = 64)]
    pub gen_tokens: usize,
    /// Sequences decoded together for the aggregate decode figure (0 or 1: not measured)
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Only the first N questions of the qa set
    #[arg(long)]
    pub qa_limit: Option<usize>,
    /// The qa set (default tests/eval/qa.jsonl)
    #[arg(long, value_name = "FILE")]
    pub set: Option<PathBuf>,
    /// Customer profiles the drafts suite writes per model (half with a customer document)
    #[arg(long, default_value_t = 4)]
    pub draft_customers: usize,
    /// Keep (and re-use) the seeded bench home here instead of a temporary folder
    #[arg(long, value_name = "DIR")]
    pub keep_home: Option<PathBuf>,
    /// CPU threads for the models (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `bench speed-probe`: the speed suite of one local model in this process (used by `compare`).
#[derive(clap::Args)]
pub struct SpeedProbeArgs {
    #[arg(long)]
    pub model: String,
    /// The options as JSON (as `compare` passes them)
    #[arg(long)]
    pub options: String,
}

enum Resolved {
    Local { info: ModelInfo },
    Remote { info: ModelInfo, spec: lodestar_remote::RemoteSpec },
}

fn short_err(e: impl std::fmt::Display) -> lodestar_bench::BenchError {
    lodestar_bench::BenchError::Invalid(e.to_string())
}

fn resolve(ctx: &Ctx, name: &str) -> Result<Resolved> {
    let remote = lodestar_remote::Registry::load(ctx.home.root())?;
    if let Some(spec) = remote.get(name) {
        if spec.role != lodestar_remote::RemoteRole::Chat {
            bail!("remote model `{name}` is an embedding model, not a chat model");
        }
        let info = ModelInfo {
            name: name.to_string(),
            kind: "remote".into(),
            path: Some(format!("{} (model {})", spec.url, spec.model)),
            ..Default::default()
        };
        return Ok(Resolved::Remote { info, spec: spec.clone() });
    }
    let added = lodestar_infer::added::AddedModels::load(&ctx.models_dir)?;
    if let Some(m) = added.get(name) {
        return Ok(Resolved::Local {
            info: ModelInfo {
                name: m.name.clone(),
                kind: "added".into(),
                path: Some(m.path.display().to_string()),
                arch: Some(m.arch.clone()),
                quant: Some(m.quant.clone()),
                size_bytes: Some(m.size_bytes),
                parameters: Some(m.parameters),
                sha256: Some(m.sha256.clone()),
            },
        });
    }
    let p = Path::new(name);
    if name.ends_with(".gguf") {
        if !p.is_file() {
            bail!("{name}: no such file");
        }
        let h = lodestar_infer::added::inspect_gguf(p)?;
        return Ok(Resolved::Local {
            info: ModelInfo {
                name: name.to_string(),
                kind: "file".into(),
                path: Some(p.display().to_string()),
                arch: Some(h.arch),
                quant: Some(h.quant),
                size_bytes: Some(h.size_bytes),
                parameters: Some(h.parameters),
                sha256: Some(lodestar_infer::store::sha256_file(p, None)?),
            },
        });
    }
    let store = lodestar_infer::ModelStore::new(&ctx.models_dir)?;
    let spec = store.installed_spec(Some(name), lodestar_infer::Role::Chat).with_context(|| {
        format!(
            "`{name}` is not an installed built-in model, an added model (`lodestar models add`), a remote model or a .gguf file"
        )
    })?;
    let path = store.file_path(spec);
    let h = lodestar_infer::added::inspect_gguf(&path).ok();
    Ok(Resolved::Local {
        info: ModelInfo {
            name: spec.name.clone(),
            kind: "built-in".into(),
            path: Some(path.display().to_string()),
            arch: h.as_ref().map(|h| h.arch.clone()),
            quant: h.as_ref().map(|h| h.quant.clone()),
            size_bytes: Some(spec.size),
            parameters: h.as_ref().map(|h| h.parameters),
            sha256: Some(spec.sha256.clone()),
        },
    })
}

/// Runs `bench speed-probe` for one model in a child process and reads its JSON.
fn probe_in_child(
    ctx: &Ctx,
    model: &str,
    opts: &CompareOptions,
    threads: Option<usize>,
) -> lodestar_bench::Result<SpeedFigures> {
    let exe = std::env::current_exe().map_err(short_err)?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--home").arg(ctx.home.root()).args(["bench", "speed-probe", "--model", model, "--options"]);
    cmd.arg(serde_json::to_string(opts)?);
    cmd.env("LODESTAR_MODELS", &ctx.models_dir);
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t.to_string()).env("CANDLE_NUM_THREADS", t.to_string());
    }
    cmd.stderr(std::process::Stdio::inherit());
    let out = cmd.output().map_err(short_err)?;
    if !out.status.success() {
        return Err(short_err(format!("the speed probe of `{model}` failed ({})", out.status)));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

pub fn run_speed_probe(ctx: &Ctx, a: SpeedProbeArgs) -> Result<()> {
    let opts: CompareOptions = serde_json::from_str(&a.options).context("--options: not the JSON `compare` passes")?;
    let f = compare::speed_local(&ctx.models_dir, &a.model, &opts)?;
    println!("{}", serde_json::to_string(&f)?);
    Ok(())
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut c = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        c.push_str("-dirty");
    }
    Some(c)
}

pub fn run(ctx: &Ctx, a: BenchCompareArgs) -> Result<()> {
    if let Some(t) = a.threads {
        lodestar_infer::set_threads(t);
    }
    let suites = Suite::parse_list(&a.suites)?;
    let mut names: Vec<String> = Vec::new();
    for n in a.models.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if names.iter().any(|x| x == n) {
            bail!("model `{n}` is named twice");
        }
        names.push(n.to_string());
    }
    if names.is_empty() {
        bail!("--models: name at least one model");
    }
    // every model is checked before anything runs
    let resolved: Vec<Resolved> = names.iter().map(|n| resolve(ctx, n)).collect::<Result<_>>()?;
    let mut opts = CompareOptions::defaults(suites.clone())
        .context("the evaluation sets (tests/eval, knowledge/) were not found: run from the repository")?;
    opts.reps = a.reps.max(1);
    opts.prompt_tokens = a.prompt_tokens.clone();
    opts.gen_tokens = a.gen_tokens.max(2);
    opts.batch = if a.batch > 1 { a.batch } else { 0 };
    opts.qa_limit = a.qa_limit;
    opts.draft_customers = a.draft_customers;
    if let Some(s) = &a.set {
        opts.qa_set = s.clone();
    }
    let baseline = a.baseline.clone();
    if let Some(b) = &baseline {
        let known = resolved.iter().any(|r| match r {
            Resolved::Local { info } | Resolved::Remote { info, .. } => &info.name == b,
        }) || names.contains(b);
        if !known {
            bail!("--baseline `{b}` is not one of --models");
        }
    }
    let out = match &a.out {
        Some(o) => o.clone(),
        None => {
            ctx.home.root().join("reports").join(format!("compare-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")))
        }
    };
    let (root, temporary) = match &a.keep_home {
        Some(p) => (p.clone(), false),
        None => (std::env::temp_dir().join(format!("lodestar-bench-compare-{}", std::process::id())), true),
    };
    let t0 = std::time::Instant::now();
    let quiet = ctx.json;
    let mut log = |line: &str| {
        if !quiet {
            eprintln!("[{:>6.0} s] {line}", t0.elapsed().as_secs_f64());
        }
    };
    log(&format!("seeding the bench home {} …", root.display()));
    let home = lodestar_bench::home::seed(&root, lodestar_infer::open_embedder(&ctx.models_dir, None).ok())?;
    let threads = a.threads;
    let candidates: Vec<Candidate> = resolved
        .into_iter()
        .map(|r| match r {
            Resolved::Local { info } => {
                let n1 = info.name.clone();
                let models_dir = ctx.models_dir.clone();
                let opts2 = opts.clone();
                let open_name = match info.kind.as_str() {
                    "file" => info.path.clone().unwrap_or_else(|| n1.clone()),
                    _ => n1.clone(),
                };
                let probe_name = open_name.clone();
                Candidate {
                    info,
                    open: Box::new(move || lodestar_infer::open_chat(&models_dir, Some(&open_name)).map_err(short_err)),
                    speed: Box::new(move || probe_in_child(ctx, &probe_name, &opts2, threads)),
                }
            }
            Resolved::Remote { info, spec } => {
                let spec2 = spec.clone();
                let opts2 = opts.clone();
                Candidate {
                    info,
                    open: Box::new(move || {
                        let g: Arc<dyn Generator> =
                            Arc::new(lodestar_remote::RemoteChat::new(spec.clone()).map_err(short_err)?);
                        Ok(g)
                    }),
                    speed: Box::new(move || {
                        let g = lodestar_remote::RemoteChat::new(spec2.clone()).map_err(short_err)?;
                        compare::speed_generic(&g, &opts2)
                    }),
                }
            }
        })
        .collect();
    let mut report = compare::run(&candidates, baseline.as_deref(), &home, &opts, &out, &mut log)?;
    report.build = compare::BuildInfo {
        lodestar_version: env!("CARGO_PKG_VERSION").to_string(),
        commit: git_commit(),
        profile: if cfg!(debug_assertions) { "debug build".into() } else { "release build".into() },
        features: if cfg!(feature = "cuda") { vec!["cuda".into()] } else { vec![] },
    };
    report.wall_seconds = t0.elapsed().as_secs_f64();
    let files = compare::write_report(&report, &out)?;
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    if ctx.json {
        return ctx.print_json(&report);
    }
    println!("bench compare — {} models, suites {}, {:.0} s", report.models.len(), a.suites, report.wall_seconds);
    let show = [
        "speed.decode_512_tok_s",
        "speed.prefill_1024_tok_s",
        "speed.ttft_p50_ms",
        "speed.peak_rss_mb",
        "qa.fact_coverage",
        "qa.citation_precision",
        "qa.passed",
        "minutes.item_recall",
        "minutes.item_precision",
        "drafts.numbers_traced_share",
    ];
    print!("{:<34}", "figure");
    for m in &report.models {
        print!(" {:>22}", m.model.name);
    }
    println!();
    for k in show {
        if report.models.iter().all(|m| !m.figures.contains_key(k)) {
            continue;
        }
        let (label, unit, _) = compare::describe(k);
        print!("{label:<34}");
        for m in &report.models {
            print!(" {:>22}", m.figures.get(k).map(|v| compare::format_value(unit, *v)).unwrap_or_else(|| "—".into()));
        }
        println!();
    }
    for m in &report.models {
        for e in &m.errors {
            println!("✗ {}: {e}", m.model.name);
        }
    }
    for f in files {
        println!("{}", f.display());
    }
    Ok(())
}
