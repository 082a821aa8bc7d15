//! `lodestar`: the one CLI. Thin glue over the library crates: each command module under `cmd/`
//! parses its arguments, calls a library, and prints a human table or `--json`.

mod cmd;
mod ctx;

use clap::{Parser, Subcommand};
pub use ctx::Ctx;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "lodestar",
    version,
    about = "北辰 lodestar — private AI assistant for sales operations (all data stays on this machine)"
)]
struct Cli {
    /// Home directory (database, index, config); default: $LODESTAR_HOME or <data dir>/lodestar
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Machine-readable JSON output (same as `--format json` where a command has --format)
    #[arg(long, global = true)]
    json: bool,
    /// Act as this user (default: the local administrator)
    #[arg(long = "as", global = true, value_name = "USER")]
    as_user: Option<String>,
    /// Runtime option of the models, over config.toml's [runtime] and the LODESTAR_* variables
    /// (repeatable): device=cpu|auto, prefill=quant|f32|f32-cached, decode=plain|tensor,
    /// f16_attention=on|off, e5_integer=on|off, embed=on|off
    #[arg(long = "runtime", global = true, value_name = "KEY=VALUE")]
    runtime: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job on the built-in demo data (generate, import, metrics, alerts, knowledge, answers)
    Demo(cmd::demo::DemoArgs),
    /// Import Excel exports (sales, targets, receivables, fx); `import undo BATCH` takes a batch back out
    Import(cmd::import::ImportArgs),
    /// Rows set aside by the importer
    Quarantine(cmd::import::QuarantineArgs),
    /// Dictionaries: import a customer or staff list, check unresolved names
    Dict(cmd::import::DictArgs),
    /// Local accounts
    User(cmd::user::UserArgs),
    /// Sales metrics (达成率, 同比, 环比, 年累计, 缺口, 排名, 贡献) from the rule engine
    Metrics(cmd::metrics::MetricsArgs),
    /// Customer concentration (CR10 / CR20)
    Concentration(cmd::metrics::ConcentrationArgs),
    /// 国家×品类×客户 summary workbook for meeting material
    Summary(cmd::metrics::SummaryArgs),
    /// Receivable and customer risk alerts (逾期, 货好待款, 信用异常, 开发停滞)
    Alerts(cmd::metrics::AlertsArgs),
    /// Model store: fetch, import, add your own GGUF, add a remote model, list, verify, remove
    Models(cmd::models::ModelsArgs),
    /// Generate text with a local chat model (streams to stdout)
    Generate(cmd::generate::GenerateArgs),
    /// Embed texts with the local embedding model
    Embed(cmd::embed::EmbedArgs),
    /// Knowledge bases: add, list, remove documents
    Kb(cmd::kb::KbArgs),
    /// Search index: build, stats
    Index(cmd::kb::IndexArgs),
    /// Hybrid search over the knowledge bases
    Search(cmd::kb::SearchArgs),
    /// Meeting minutes → action items
    Minutes(cmd::minutes::MinutesArgs),
    /// Action ledger (督办台账): list, update, export, review
    Ledger(cmd::minutes::LedgerArgs),
    /// Ask a question: metrics from the rule engine, knowledge with citations
    Ask(cmd::ask::AskArgs),
    /// Drafts: customer profiles and the monthly business-review material, and their review
    Draft(cmd::draft::DraftArgs),
    /// The night queue: submit, run (resumable), status, cancel, results, report
    Batch(cmd::batch::BatchArgs),
    /// The intranet web chat (login, streaming answers with citations, conversations, feedback)
    Serve(cmd::serve::ServeArgs),
    /// Ratings of web-chat answers: export (csv/xlsx) and AI 输出可用率
    Feedback(cmd::serve::FeedbackArgs),
    /// The audit log: export for admins
    Audit(cmd::serve::AuditArgs),
    /// Check the home's invariants (database, import batches, search index) and repair what is safe
    Doctor(cmd::doctor::DoctorArgs),
    /// Back up the home (database via SQLite's online backup, index, config, dictionaries) into one archive
    Backup(cmd::backup::BackupArgs),
    /// Restore a backup archive into --home DIR (checksums verified first)
    Restore(cmd::backup::RestoreArgs),
    /// Benchmarks (quality and latency)
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    #[command(subcommand)]
    which: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Import throughput on a generated messy workbook
    Import(cmd::import::BenchImportArgs),
    /// Rule-engine time on generated sales rows
    Metrics(cmd::metrics::BenchMetricsArgs),
    /// Chat model prefill/decode speed
    Llm(cmd::bench_llm::BenchLlmArgs),
    /// Embedding throughput
    Embed(cmd::bench_llm::BenchEmbedArgs),
    /// Retrieval quality on tests/eval/retrieval.jsonl
    Retrieval(cmd::kb::BenchRetrievalArgs),
    /// Index build and search latency on generated chunks
    Index(cmd::kb::BenchIndexArgs),
    /// Minutes extraction quality on tests/eval/minutes
    Minutes(cmd::minutes::BenchMinutesArgs),
    /// Answer quality and latency on tests/eval/qa.jsonl
    Qa(cmd::ask::BenchQaArgs),
    /// The web chat under simulated users (latency per question class, errors, queue waits)
    Serve(cmd::serve::BenchServeArgs),
    /// Several models over the speed, qa, minutes and drafts suites as one report (md, html, json)
    Compare(cmd::compare::BenchCompareArgs),
    /// One local model's speed suite, in a process of its own (run by `bench compare`)
    #[command(hide = true)]
    SpeedProbe(cmd::compare::SpeedProbeArgs),
}

/// Keeps large freed blocks in the heap for reuse. Each layer of a prompt allocates activation
/// buffers of tens of MB; glibc's default returns blocks over 32 MB (dynamic threshold) to the OS
/// and maps fresh, zeroed pages for the next one — page faults that cost 1.5B prefill 11 %
/// (`bench llm`, 1,024 tokens, 2 threads: 81.5 → 90–93 tok/s, same peak RSS).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator thresholds; called first thing, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// `lodestar metrics --json | head`: a reader that stops early ends the output quietly, as for
/// any command-line tool, instead of a panic from `println!` on the broken pipe.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn quiet_broken_pipe() {
    // SAFETY: restores the default action for SIGPIPE before any thread starts; lodestar never
    // writes to a socket or a child's stdin, where the default would end the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn quiet_broken_pipe() {}

fn main() {
    tune_allocator();
    quiet_broken_pipe();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("LODESTAR_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let ctx = Ctx::new(cli.home.as_deref(), cli.json, cli.as_user.clone());
    match runtime_options(&ctx, &cli.runtime) {
        Ok(rt) => lodestar_core::runtime::set(rt),
        Err(e) => fail(&ctx, e),
    }
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(&ctx, a),
        Command::Import(a) => cmd::import::run_import(&ctx, a),
        Command::Quarantine(a) => cmd::import::run_quarantine(&ctx, a),
        Command::Dict(a) => cmd::import::run_dict(&ctx, a),
        Command::User(a) => cmd::user::run_user(&ctx, a),
        Command::Metrics(a) => cmd::metrics::run_metrics(&ctx, a),
        Command::Concentration(a) => cmd::metrics::run_concentration(&ctx, a),
        Command::Summary(a) => cmd::metrics::run_summary(&ctx, a),
        Command::Alerts(a) => cmd::metrics::run_alerts(&ctx, a),
        Command::Models(a) => cmd::models::run(&ctx, a),
        Command::Generate(a) => cmd::generate::run(&ctx, a),
        Command::Embed(a) => cmd::embed::run(&ctx, a),
        Command::Kb(a) => cmd::kb::run_kb(&ctx, a),
        Command::Index(a) => cmd::kb::run_index(&ctx, a),
        Command::Search(a) => cmd::kb::run_search(&ctx, a),
        Command::Minutes(a) => cmd::minutes::run_minutes(&ctx, a),
        Command::Ledger(a) => cmd::minutes::run_ledger(&ctx, a),
        Command::Ask(a) => cmd::ask::run_ask(&ctx, a),
        Command::Serve(a) => cmd::serve::run_serve(&ctx, a),
        Command::Draft(a) => cmd::draft::run(&ctx, a),
        Command::Batch(a) => cmd::batch::run(&ctx, a),
        Command::Feedback(a) => cmd::serve::run_feedback(&ctx, a),
        Command::Audit(a) => cmd::serve::run_audit(&ctx, a),
        Command::Doctor(a) => cmd::doctor::run(&ctx, a),
        Command::Backup(a) => cmd::backup::run_backup(&ctx, a),
        Command::Restore(a) => cmd::backup::run_restore(&ctx, a),
        Command::Bench(b) => match b.which {
            BenchCommand::Import(a) => cmd::import::run_bench_import(&ctx, a),
            BenchCommand::Metrics(a) => cmd::metrics::run_bench_metrics(&ctx, a),
            BenchCommand::Llm(a) => cmd::bench_llm::run_llm(&ctx, a),
            BenchCommand::Embed(a) => cmd::bench_llm::run_embed(&ctx, a),
            BenchCommand::Retrieval(a) => cmd::kb::run_bench_retrieval(&ctx, a),
            BenchCommand::Index(a) => cmd::kb::run_bench_index(&ctx, a),
            BenchCommand::Minutes(a) => cmd::minutes::run_bench_minutes(&ctx, a),
            BenchCommand::Qa(a) => cmd::ask::run_bench_qa(&ctx, a),
            BenchCommand::Serve(a) => cmd::serve::run_bench_serve(&ctx, a),
            BenchCommand::Compare(a) => cmd::compare::run(&ctx, a),
            BenchCommand::SpeedProbe(a) => cmd::compare::run_speed_probe(&ctx, a),
        },
    };
    if let Err(e) = result {
        fail(&ctx, e);
    }
}

/// The models' runtime options: the defaults, the home's `[runtime]`, the `LODESTAR_*`
/// overrides, then `--runtime` (see `lodestar_core::runtime`). A config file that does not parse
/// is left to the commands that read it to report.
fn runtime_options(ctx: &Ctx, flags: &[String]) -> anyhow::Result<lodestar_core::runtime::RuntimeOptions> {
    let mut rt = ctx.config().map(|c| c.runtime).unwrap_or_default().with_env();
    for s in flags {
        rt.apply(s).map_err(|e| anyhow::anyhow!("--runtime {e}"))?;
    }
    Ok(rt)
}

/// Reports `e` (also as JSON with `--json`) and exits with status 1.
fn fail(ctx: &Ctx, e: anyhow::Error) -> ! {
    if ctx.json {
        let msg = format!("{e:#}");
        println!("{}", serde_json::json!({ "error": msg }));
    }
    eprintln!("error: {e:#}");
    std::process::exit(1);
}
