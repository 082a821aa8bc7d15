//! `lodestar serve`: the intranet web chat (lodestar-server) over this home; `lodestar bench
//! serve`: simulated users against a server on a loopback port in a seeded temporary home;
//! `lodestar feedback …` and `lodestar audit export`: what the chat records, for ops and admins.

use crate::cmd::ask::{open_generator_slots, open_parts};
use crate::Ctx;
use anyhow::{bail, Context, Result};
use lodestar_core::{ChatMessage, GenParams, Generator, Role, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_rag::Assistant;
use lodestar_server::{AppState, ServerOptions};
use lodestar_store::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (anything but loopback is an explicit choice and is warned about)
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Answers generated at once; above 1 a local model decodes them together in one batch
    /// (each step reads the weights once for all of them: more answers per second, each a
    /// little slower)
    #[arg(long, default_value_t = 1)]
    pub slots: usize,
    /// Requests that may wait for the model; more are answered 503 with Retry-After
    #[arg(long, default_value_t = 32)]
    pub queue: usize,
    /// Chat model name or alias (default: the manifest's default chat model)
    #[arg(long)]
    pub model: Option<String>,
    /// Serve without a chat model (metric answers and quoted passages only)
    #[arg(long)]
    pub no_model: bool,
    /// CPU threads for the model (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Token budget for the sources and question in a knowledge prompt
    #[arg(long, default_value_t = lodestar_rag::prompt::PROMPT_BUDGET)]
    pub budget: usize,
    /// Hours a login lasts
    #[arg(long, default_value_t = 12)]
    pub session_hours: i64,
    /// Mark the session cookie Secure (when a TLS proxy is in front)
    #[arg(long)]
    pub secure_cookies: bool,
    /// Largest upload (workbooks, minutes, documents) in MB [default: `[limits] max_upload_bytes`
    /// of config.toml, 50 MiB]
    #[arg(long)]
    pub upload_limit_mb: Option<usize>,
}

/// The largest upload in bytes: `--upload-limit-mb` when given, else `[limits] max_upload_bytes`.
fn upload_limit(flag_mb: Option<usize>, limits: &lodestar_core::ReadLimits) -> usize {
    match flag_mb {
        Some(mb) => mb.max(1).saturating_mul(1024 * 1024),
        None => usize::try_from(limits.max_upload_bytes).unwrap_or(usize::MAX).max(1),
    }
}

/// Loads the chat model, then answers one short question so the system prompt's KV cache is
/// warm before the first user arrives.
fn load_generator(ctx: &Ctx, model: Option<&str>, slots: usize) -> Result<Arc<dyn Generator>> {
    let g = open_generator_slots(ctx, model, slots)?;
    let params = GenParams { max_tokens: 1, ..GenParams::default() };
    let msgs = [ChatMessage::system(lodestar_rag::prompt::SYSTEM_PROMPT), ChatMessage::user("你好")];
    g.generate(&msgs, &params, &mut |_| std::ops::ControlFlow::Continue(()))
        .map_err(|e| anyhow::anyhow!("warming the model: {e}"))?;
    Ok(g)
}

/// The warmed chat model unless `--no-model`; a model that cannot be loaded is a warning (the
/// answers then quote passages), returned for the answers' notes.
fn generator_or_warning(
    ctx: &Ctx,
    model: Option<&str>,
    no_model: bool,
    slots: usize,
) -> (Option<Arc<dyn Generator>>, Option<String>) {
    if no_model {
        return (None, None);
    }
    eprintln!("loading the chat model …");
    match load_generator(ctx, model, slots) {
        Ok(g) => (Some(g), None),
        Err(e) => {
            eprintln!("warning: chat model not available ({e:#}): knowledge answers quote passages instead");
            (None, Some("对话模型未加载：知识类问题以原文摘录作答".into()))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("lodestar-http").build()?)
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

pub fn run_serve(ctx: &Ctx, a: ServeArgs) -> Result<()> {
    if let Some(t) = a.threads {
        lodestar_infer::set_threads(t);
    }
    let store = ctx.store()?;
    let config = ctx.config()?;
    let bind = a.bind.clone().unwrap_or_else(|| config.server.bind.clone());
    let addr: SocketAddr =
        bind.parse().with_context(|| format!("--bind `{bind}`: expected IP:PORT, e.g. 127.0.0.1:8080"))?;
    if store.list_users()?.iter().all(|u| !u.has_password) {
        eprintln!("warning: no account has a password yet, so nobody can log in to the web chat (API keys still work); add one with\n  echo 'PASSWORD' | lodestar --home {} user add NAME --role ops --clearance 敏感 --password-stdin", ctx.home.root().display());
    }
    drop(store);
    // Listen at once: while the model and the index load, /health says 503 (loading).
    let std_listener = std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    std_listener.set_nonblocking(true)?;
    let local = std_listener.local_addr()?;
    if !is_loopback(&local) {
        eprintln!("warning: listening on {local}, reachable from other machines — make sure that is intended");
    }
    let rt = runtime()?;
    let (loaded_tx, loaded_rx) = tokio::sync::oneshot::channel::<()>();
    let loading = {
        let l = std_listener.try_clone()?;
        rt.spawn(async move {
            let l = tokio::net::TcpListener::from_std(l)?;
            lodestar_server::serve_loading(l, async {
                let _ = loaded_rx.await;
            })
            .await
        })
    };
    println!("lodestar listening on http://{local}/ — loading (GET /health answers 503 until ready)");
    let dicts = Arc::new(ctx.dicts()?);
    // the knowledge page adds documents: an empty index is created rather than none
    std::fs::create_dir_all(ctx.home.index_dir())
        .with_context(|| format!("cannot create {}", ctx.home.index_dir().display()))?;
    let parts = open_parts(&ctx.home.db_path(), &ctx.home.index_dir(), &dicts, &config, &ctx.models_dir)?;
    let mut notes = parts.warnings;
    // imports through the web reload the rule engine behind the chat
    let live_metrics = Arc::new(lodestar_server::live::SwapMetrics::new(parts.metrics));
    let metrics_source: Arc<dyn lodestar_rag::MetricsSource> = live_metrics.clone();
    let (generator, warning) = generator_or_warning(ctx, a.model.as_deref(), a.no_model, a.slots);
    notes.extend(warning);
    let model_name = generator.as_ref().map(|g| g.name().to_string());
    let mut assistant = Assistant::new(dicts, Some(metrics_source), parts.retriever, generator);
    assistant.fields = config.fields.clone();
    let opts = ServerOptions {
        slots: a.slots,
        queue: a.queue,
        session_ttl_secs: a.session_hours.max(1) * 3600,
        secure_cookies: a.secure_cookies,
        prompt_budget: a.budget,
        notes,
        config: config.clone(),
    };
    let embedder = lodestar_infer::open_embedder(&ctx.models_dir, None).ok();
    let state = AppState::with_embedder(assistant, embedder, ctx.home.db_path(), opts)?;
    let _ = state.workspace.set(lodestar_server::live::Workspace {
        home: ctx.home.root().to_path_buf(),
        index: parts.index,
        metrics: live_metrics,
        upload_limit: upload_limit(a.upload_limit_mb, &config.limits),
    });
    rt.block_on(async move {
        // hand the socket over from the loading answers to the application
        let _ = loaded_tx.send(());
        let _ = loading.await;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        println!(
            "lodestar web chat ready on http://{local}/  (home {}, model {}, {} slot(s), queue {}) — Ctrl-C stops",
            ctx.home.root().display(),
            model_name.as_deref().unwrap_or("none"),
            a.slots,
            a.queue
        );
        lodestar_server::serve(listener, state, lodestar_server::shutdown_signal()).await?;
        println!("stopped");
        Ok::<_, anyhow::Error>(())
    })
}

// ---------------------------------------------------------------- feedback / audit

#[derive(clap::Args)]
pub struct FeedbackArgs {
    #[command(subcommand)]
    action: FeedbackAction,
}

#[derive(clap::Subcommand)]
enum FeedbackAction {
    /// Rated answers of the web chat, for ops (csv or xlsx)
    Export {
        #[arg(long, default_value = "csv", value_parser = ["csv", "xlsx"])]
        format: String,
        /// Output file (default: standard output for csv; required for xlsx)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only feedback given on or after this date (YYYY-MM-DD)
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
    /// AI 输出可用率: share of rated answers rated up
    Stats {
        /// Only feedback given on or after this date (YYYY-MM-DD)
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
}

fn require_role(ctx: &Ctx, store: &Store, roles: &[Role], what: &str) -> Result<()> {
    let p = ctx.principal(store)?;
    if !roles.contains(&p.role) {
        bail!(
            "{what} needs the role {} (you are {} with role {})",
            roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or "),
            p.name,
            p.role
        );
    }
    Ok(())
}

fn check_date(s: Option<&str>) -> Result<()> {
    if let Some(d) = s {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--since `{d}`: expected YYYY-MM-DD"))?;
    }
    Ok(())
}

pub fn run_feedback(ctx: &Ctx, a: FeedbackArgs) -> Result<()> {
    let mut store = ctx.store()?;
    lodestar_server::db::migrate(&mut store)?;
    require_role(ctx, &store, &[Role::Admin, Role::Ops], "feedback")?;
    match a.action {
        FeedbackAction::Export { format, out, since } => {
            check_date(since.as_deref())?;
            let rows = lodestar_server::db::feedback(&store, since.as_deref())?;
            let fmt = if ctx.json { "json" } else { format.as_str() };
            match (fmt, &out) {
                ("json", _) => ctx.print_json(&rows)?,
                ("xlsx", None) => bail!("--format xlsx needs --out FILE.xlsx"),
                ("xlsx", Some(p)) => lodestar_server::export::feedback_xlsx(&rows, p)?,
                (_, Some(p)) => {
                    let mut f = std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?;
                    lodestar_server::export::feedback_csv(&rows, &mut f)?;
                }
                (_, None) => lodestar_server::export::feedback_csv(&rows, &mut std::io::stdout().lock())?,
            }
            store.audit(
                &ctx.principal(&store)?.name,
                "export",
                &serde_json::json!({"what": "feedback", "rows": rows.len(), "format": fmt}),
            )?;
            if let Some(p) = out {
                eprintln!("{} rated answers written to {}", rows.len(), p.display());
            }
            Ok(())
        }
        FeedbackAction::Stats { since } => {
            check_date(since.as_deref())?;
            let s = lodestar_server::db::feedback_stats(&store, since.as_deref())?;
            if ctx.json {
                return ctx.print_json(&s);
            }
            match &s.usable_rate {
                Some(r) => {
                    let pct = r.parse::<f64>().unwrap_or(0.0) * 100.0;
                    println!(
                        "AI 输出可用率 {pct:.2}%  ({} of {} rated answers rated up, {} down, {} with a comment)",
                        s.up, s.rated, s.down, s.with_comment
                    );
                }
                None => println!("no rated answers yet"),
            }
            Ok(())
        }
    }
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    action: AuditAction,
}

#[derive(clap::Subcommand)]
enum AuditAction {
    /// The audit log (logins, questions, answers, imports, exports, approvals) as CSV, for admins
    Export {
        /// From this date on (YYYY-MM-DD)
        #[arg(long, value_name = "DATE")]
        since: String,
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        /// Output file (default: standard output)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub fn run_audit(ctx: &Ctx, a: AuditArgs) -> Result<()> {
    let store = ctx.store()?;
    require_role(ctx, &store, &[Role::Admin], "audit export")?;
    let AuditAction::Export { since, format, out } = a.action;
    check_date(Some(&since))?;
    let rows = store.audit_since(&since)?;
    if ctx.json || format == "json" {
        ctx.print_json(&rows)?;
    } else if let Some(p) = &out {
        let mut f = std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?;
        lodestar_server::export::audit_csv(&rows, &mut f)?;
        eprintln!("{} audit entries written to {}", rows.len(), p.display());
    } else {
        lodestar_server::export::audit_csv(&rows, &mut std::io::stdout().lock())?;
    }
    store.audit(
        &ctx.principal(&store)?.name,
        "export",
        &serde_json::json!({"what": "audit", "since": since, "rows": rows.len()}),
    )?;
    Ok(())
}

// ---------------------------------------------------------------- bench serve

#[derive(clap::Args)]
pub struct BenchServeArgs {
    /// Simulated users
    #[arg(long, default_value_t = 20)]
    pub users: usize,
    /// Seconds during which users start new questions (those in flight then finish)
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Pause between one user's questions, in milliseconds
    #[arg(long, default_value_t = 1000)]
    pub think_ms: u64,
    /// Chat model name or alias (default: the manifest's default chat model)
    #[arg(long)]
    pub model: Option<String>,
    /// Run without a chat model
    #[arg(long)]
    pub no_model: bool,
    /// Concurrent generations
    #[arg(long, default_value_t = 1)]
    pub slots: usize,
    /// Waiting requests allowed
    #[arg(long, default_value_t = 32)]
    pub queue: usize,
    /// Question set (JSONL with `category` and `question`; default tests/eval/qa.jsonl: its
    /// metric and knowledge questions)
    #[arg(long, value_name = "FILE")]
    pub set: Option<PathBuf>,
    /// Keep the temporary home here (re-used when it already holds data)
    #[arg(long, value_name = "DIR")]
    pub keep_home: Option<PathBuf>,
    /// CPU threads for the model (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

fn load_questions(path: &Path) -> Result<Vec<lodestar_server::bench::LoadQuestion>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        let (Some(cat), Some(q)) = (v["category"].as_str(), v["question"].as_str()) else {
            bail!("{}:{}: needs `category` and `question`", path.display(), i + 1);
        };
        // the bench asks as ordinary users: questions written for other accounts stay out
        if v.get("user").is_some_and(|u| !u.is_null()) {
            continue;
        }
        let class = match cat {
            "metric" => "metric",
            "knowledge" | "mixed" => "knowledge",
            _ => continue,
        };
        out.push(lodestar_server::bench::LoadQuestion { class: class.into(), question: q.into() });
    }
    if out.is_empty() {
        bail!("{}: no metric or knowledge questions", path.display());
    }
    Ok(out)
}

pub fn run_bench_serve(ctx: &Ctx, a: BenchServeArgs) -> Result<()> {
    if let Some(t) = a.threads {
        lodestar_infer::set_threads(t);
    }
    let set = match &a.set {
        Some(p) => p.clone(),
        None => lodestar_bench::repo_path("tests/eval/qa.jsonl")
            .context("tests/eval/qa.jsonl not found (give --set FILE)")?,
    };
    let questions = load_questions(&set)?;
    let (root, temporary) = match &a.keep_home {
        Some(p) => (p.clone(), false),
        None => (std::env::temp_dir().join(format!("lodestar-bench-serve-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&root)?;
    let dicts = Arc::new(Dictionaries::builtin()?);
    eprintln!("seeding {} with the demo data …", root.display());
    lodestar_bench::home::seed(&root, lodestar_infer::open_embedder(&ctx.models_dir, None).ok())?;
    let db = root.join("lodestar.db");
    let users: Vec<(String, String)> =
        (1..=a.users.max(1)).map(|i| (format!("bench{i:02}"), format!("bench-pass-{i:02}"))).collect();
    {
        let store = Store::open(&db)?;
        for (u, pw) in &users {
            let h = lodestar_store::accounts::hash_password(pw)?;
            store.upsert_user(u, Role::Ops, Sensitivity::Sensitive, &[], Some(&h))?;
        }
    }
    let config = lodestar_core::config::Config::default();
    let parts = open_parts(&db, &root.join("index"), &dicts, &config, &ctx.models_dir)?;
    let (generator, _) = generator_or_warning(ctx, a.model.as_deref(), a.no_model, a.slots);
    let model_name = generator.as_ref().map(|g| g.name().to_string());
    let assistant = Assistant::new(dicts, parts.metrics, parts.retriever, generator);
    let opts = ServerOptions { slots: a.slots, queue: a.queue, ..ServerOptions::default() };
    let state = AppState::new(assistant, db, opts)?;
    let rt = runtime()?;
    let report = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(lodestar_server::serve(listener, state, async {
            let _ = stop_rx.await;
        }));
        eprintln!(
            "{} users for {} s against {base} (model {}) …",
            users.len(),
            a.duration,
            model_name.as_deref().unwrap_or("none")
        );
        let quiet = ctx.json;
        let report = lodestar_server::bench::run_load(
            lodestar_server::bench::LoadOptions {
                base_url: base,
                users: users.clone(),
                questions,
                duration: Duration::from_secs(a.duration),
                think: Duration::from_millis(a.think_ms),
            },
            move |s| {
                if !quiet {
                    eprintln!(
                        "  user {:>2} {:<9} {} {:>8.0} ms to first token, {:>8.0} ms total{}  {}",
                        s.user + 1,
                        s.class,
                        if s.ok { "✓" } else { "✗" },
                        s.ttft_ms.unwrap_or(0.0),
                        s.total_ms,
                        if s.max_queue_position > 0 {
                            format!(", queued (max place {})", s.max_queue_position)
                        } else {
                            String::new()
                        },
                        s.error.as_deref().unwrap_or(""),
                    );
                }
            },
        )
        .await;
        let _ = stop_tx.send(());
        let _ = server.await;
        report.map_err(anyhow::Error::msg)
    })?;
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    if ctx.json {
        let mut v = serde_json::to_value(&report)?;
        v["model"] = serde_json::json!(model_name);
        return ctx.print_json(&v);
    }
    let f = |x: Option<f64>| x.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into());
    println!(
        "bench serve — {} users, {} s, model {}: {} requests, {} errors (wall {:.0} s)",
        report.users,
        report.duration_s,
        model_name.as_deref().unwrap_or("none"),
        report.requests,
        report.errors,
        report.wall_s
    );
    println!(
        "{:<10} {:>5} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "class", "n", "errors", "ttft p50", "ttft p95", "done p50", "done p95", "queue p50", "queue p95", "queued"
    );
    for c in &report.classes {
        println!(
            "{:<10} {:>5} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7}",
            c.class,
            c.requests,
            c.errors,
            f(c.ttft_p50_ms),
            f(c.ttft_p95_ms),
            f(c.total_p50_ms),
            f(c.total_p95_ms),
            f(c.queue_p50_ms),
            f(c.queue_p95_ms),
            c.queued_requests
        );
    }
    println!("(milliseconds; ttft = time to the first streamed text, done = to the final answer)");
    if report.errors > 0 {
        bail!("{} requests failed", report.errors);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn upload_limit_comes_from_the_flag_else_the_config() {
        let mut limits = lodestar_core::ReadLimits::default();
        assert_eq!(super::upload_limit(None, &limits), 50 * 1024 * 1024);
        limits.max_upload_bytes = 123_456;
        assert_eq!(super::upload_limit(None, &limits), 123_456);
        assert_eq!(super::upload_limit(Some(2), &limits), 2 * 1024 * 1024);
        assert_eq!(super::upload_limit(Some(0), &limits), 1024 * 1024);
    }
}
