//! `lodestar demo`: the main job on the built-in demo data, end to end — fetch the models if missing,
//! generate the fictional company's workbooks, import them, show the month's headline metrics and
//! alerts, index the knowledge bases and answer example questions. `lodestar demo generate` only
//! writes the workbooks.
//!
//! The data are seeded through the library (`lodestar_demo::seed`, as the benches seed theirs)
//! and each import report printed as `lodestar import` prints it; the steps after it run the
//! command a user would type (its arguments parsed by that command's own parser), so the demo
//! shows exactly what the commands show.

use crate::Ctx;
use anyhow::{Context, Result};
use clap::{Args, FromArgMatches, Subcommand};
use lodestar_core::{Month, Role};
use lodestar_ingest::ImportOptions;
use std::path::PathBuf;

#[derive(Args)]
pub struct DemoArgs {
    #[command(subcommand)]
    action: Option<DemoAction>,
    /// Last month of demo sales
    #[arg(long, default_value = "2026-10")]
    end_month: String,
    /// Do not fetch missing models (answers then come from the rule engine and retrieval only)
    #[arg(long)]
    no_models: bool,
    /// Skip the example questions at the end
    #[arg(long)]
    no_ask: bool,
}

#[derive(Subcommand)]
enum DemoAction {
    /// Write the demo workbooks to a folder (default: <home>/demo)
    Generate {
        /// Output folder
        #[arg(long)]
        out: Option<PathBuf>,
        /// Last month of demo sales
        #[arg(long, default_value = "2026-10")]
        end_month: String,
        /// Number of months of sales
        #[arg(long, default_value_t = 24)]
        months: usize,
    },
}

/// Parses `argv` with the argument parser of a command's `Args` type.
fn args<A: Args + FromArgMatches>(name: &str, argv: &[&str]) -> Result<A> {
    let cmd = A::augment_args(clap::Command::new("lodestar").no_binary_name(true));
    let m = cmd.try_get_matches_from(argv).with_context(|| format!("demo step `{name} {}`", argv.join(" ")))?;
    Ok(A::from_arg_matches(&m)?)
}

fn heading(title: &str) {
    println!("\n━━ {title} ━━");
}

/// `knowledge/` in the working directory when there is one (a checkout, or a team's own
/// documents), else the embedded demo documents written to `<home>/demo/knowledge`.
fn knowledge_dir(ctx: &Ctx) -> Result<PathBuf> {
    if let Some(d) = std::env::current_dir().ok().map(|d| d.join("knowledge")).filter(|p| p.is_dir()) {
        return Ok(d);
    }
    let dir = ctx.home.root().join("demo").join("knowledge");
    let n = lodestar_demo::knowledge::write_to(&dir).with_context(|| format!("cannot write {}", dir.display()))?;
    println!("{n} demo documents written to {}", dir.display());
    Ok(dir)
}

pub fn run(ctx: &Ctx, a: DemoArgs) -> Result<()> {
    if let Some(DemoAction::Generate { out, end_month, months }) = a.action {
        let out = out.unwrap_or_else(|| ctx.home.root().join("demo"));
        let opts = lodestar_demo::DemoOptions { end_month: end_month.parse::<Month>()?, months, ..Default::default() };
        let manifest = lodestar_demo::generate(&out, &opts)?;
        if ctx.json {
            return ctx.print_json(&manifest);
        }
        for f in &manifest.files {
            println!("{:<22} {:>7} rows  {}", f.file, f.rows, f.note);
        }
        println!("written to {}", out.display());
        return Ok(());
    }

    let end: Month = a.end_month.parse()?;
    let as_of = end.last_day().to_string();
    ctx.home.ensure()?;
    println!("lodestar demo — home {}", ctx.home.root().display());

    if !a.no_models {
        heading("1. models (verified defaults; skipped when present)");
        if let Err(e) = crate::cmd::models::run(ctx, args("models", &["fetch"])?) {
            println!("models could not be fetched ({e:#}); continuing without them — answers come from the rule engine and retrieval");
        }
    }

    heading("2. demo workbooks");
    let dir = ctx.home.root().join("demo");
    let opts = lodestar_demo::DemoOptions { end_month: end, ..Default::default() };
    let manifest = lodestar_demo::generate(&dir, &opts)?;
    for f in &manifest.files {
        println!("{:<22} {:>7} rows  {}", f.file, f.rows, f.note);
    }

    heading("3. import (a re-run imports nothing: byte-identical files are recognized)");
    {
        // what `lodestar import FILE` checks, uses and prints, file by file
        let mut store = ctx.store()?;
        let principal = ctx.principal(&store)?;
        crate::cmd::import::require(&principal, &[Role::Admin, Role::Ops], "import data")?;
        let dicts = ctx.dicts()?;
        let opts = ImportOptions { actor: principal.name.clone(), limits: ctx.config()?.limits, ..Default::default() };
        let mut printed = Ok(());
        lodestar_demo::seed::import_workbooks(&mut store, &dicts, &manifest, &opts, &mut |_, r| {
            if ctx.json {
                if printed.is_ok() {
                    printed = ctx.print_json(r);
                }
            } else {
                crate::cmd::import::print_report(r);
            }
        })?;
        printed?;
    }

    heading(&format!("4. headline metrics {end} by country (amount, USD)"));
    let period = end.to_string();
    crate::cmd::metrics::run_metrics(ctx, args("metrics", &["--period", &period, "--by", "country"])?)?;
    heading(&format!("   {end} by category (quantity)"));
    crate::cmd::metrics::run_metrics(
        ctx,
        args("metrics", &["--period", &period, "--by", "category", "--measure", "quantity"])?,
    )?;

    heading(&format!("5. alerts as of {as_of}"));
    crate::cmd::metrics::run_alerts(ctx, args("alerts", &["--as-of", &as_of])?)?;

    heading("6. knowledge bases");
    let k = knowledge_dir(ctx)?.to_string_lossy().to_string();
    crate::cmd::kb::run_kb(ctx, args("kb", &["add", k.as_str()])?)?;

    if !a.no_ask {
        heading("7. example questions");
        let questions = [
            "俄罗斯本月全钢达成率多少？".to_string(),
            format!("{} 哈萨克斯坦半钢销售额同比增长多少？", end.year),
            "Sibir Logistics 的付款条件和逾期情况？".to_string(),
            "11R22.5 适合哪些矿山工况？".to_string(),
        ];
        for q in &questions {
            println!("\n> {q}");
            if let Err(e) = crate::cmd::ask::run_ask(ctx, args("ask", &[q.as_str(), "--as-of", &as_of])?) {
                println!("(could not answer: {e:#})");
            }
        }
        println!("\nAsk your own: lodestar --home {} ask \"…\" --as-of {as_of}", ctx.home.root().display());
    }

    heading("8. web chat");
    let store = ctx.store()?;
    println!("Demo accounts (demo data only — change or disable them before real data goes in):");
    for (name, role, clearance, kbs, password) in DEMO_ACCOUNTS {
        let kb_ids: Vec<lodestar_core::KbId> = kbs.iter().map(|k| k.parse()).collect::<Result<_, _>>()?;
        let scope = if kbs.is_empty() { String::new() } else { format!("  knowledge bases: {}", kbs.join(", ")) };
        // an account someone already gave a password keeps it
        if store.get_user(name)?.is_none_or(|u| !u.has_password) {
            let hash = lodestar_store::accounts::hash_password(password)?;
            store.upsert_user(name, role.parse()?, clearance.parse()?, &kb_ids, Some(&hash))?;
            println!("  {name:<9} password {password:<17} {role:<6} {clearance}{scope}");
        } else {
            println!("  {name:<9} (exists; password unchanged) {role:<6} {clearance}{scope}");
        }
    }
    println!(
        "\nStart the chat:  lodestar --home {} serve   — then open http://127.0.0.1:8080/ and log in",
        ctx.home.root().display()
    );
    println!(
        "The workspace on the same port: /metrics 指标 · /alerts 预警 · /ledger 督办台账 · /minutes 纪要上传 · /import 数据导入 · /kb 知识库 · /admin 管理"
    );
    Ok(())
}

/// Web accounts of the demo: (name, role, clearance, knowledge bases, password).
const DEMO_ACCOUNTS: &[(&str, &str, &str, &[&str], &str)] = &[
    ("admin", "admin", "机密", &[], "demo-admin-2026"),
    ("ops", "ops", "敏感", &[], "demo-ops-2026"),
    ("sales_ru", "sales", "内部", &["product", "policy", "customer"], "demo-sales-2026"),
    ("viewer", "viewer", "内部", &[], "demo-viewer-2026"),
];
