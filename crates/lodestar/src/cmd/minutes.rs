//! `lodestar minutes import`, `lodestar ledger list|update|history|apply|export|review` and
//! `lodestar bench minutes`: thin glue over `lodestar_ledger` (督办台账).

use crate::Ctx;
use anyhow::{bail, Context, Result};
use lodestar_core::Generator;
use lodestar_ledger::review::{Review, ReviewScope};
use lodestar_ledger::{ImportOptions, Ledger, ListFilter, NaiveDate, Status};
use std::path::PathBuf;
use std::sync::Arc;

/// The chat model for extraction, only when one is installed (the ledger works fully without it).
/// `name` = None: the manifest's default chat model.
fn open_model(ctx: &Ctx, name: Option<&str>) -> Option<Arc<dyn Generator>> {
    let name = match name {
        Some(n) => n.to_string(),
        None => lodestar_infer::Manifest::builtin().ok()?.defaults.chat,
    };
    let remote = lodestar_remote::Registry::load(ctx.home.root()).ok().is_some_and(|r| r.get(&name).is_some());
    if !remote && !lodestar_infer::store::is_installed(&ctx.models_dir, &name) {
        return None;
    }
    match crate::cmd::ask::open_generator(ctx, Some(&name)) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("warning: chat model {name} not usable ({e}); using rules only");
            None
        }
    }
}

fn who(ctx: &Ctx) -> String {
    ctx.as_user.clone().unwrap_or_else(|| "admin".into())
}

fn date(s: &str) -> Result<NaiveDate> {
    lodestar_ledger::parse_date(s).with_context(|| format!("not a date: `{s}` (expected YYYY-MM-DD)"))
}

fn today() -> NaiveDate {
    lodestar_ledger::today()
}

#[derive(clap::Args)]
pub struct MinutesArgs {
    #[command(subcommand)]
    cmd: MinutesCommand,
}

#[derive(clap::Subcommand)]
enum MinutesCommand {
    /// Extract action items from minutes (.md, .txt, .docx) into the ledger
    Import {
        file: PathBuf,
        /// Meeting date (deadlines like 本周五 / 月底 resolve against it)
        #[arg(long)]
        date: String,
        /// Meeting kind: 经营分析会, 销售会, …
        #[arg(long, default_value = "经营分析会")]
        meeting: String,
        /// Apply the status updates the minutes propose for open items (after you checked them)
        #[arg(long)]
        apply_updates: bool,
        /// Rules only, even when a chat model is installed
        #[arg(long)]
        no_model: bool,
        /// Chat model to use when installed (default: the manifest's default chat model)
        #[arg(long)]
        model: Option<String>,
        /// Show what would be extracted, linked and proposed, and store nothing
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run_minutes(ctx: &Ctx, args: MinutesArgs) -> Result<()> {
    match args.cmd {
        MinutesCommand::Import { file, date: d, meeting, apply_updates, no_model, model, dry_run } => {
            let meeting_date = date(&d)?;
            let text = lodestar_ledger::text::read_minutes_with(&file, &ctx.config()?.limits)?;
            let dicts = ctx.dicts()?;
            let g = if no_model { None } else { open_model(ctx, model.as_deref()) };
            let mut store = ctx.store()?;
            let mut ledger = Ledger::open(&mut store)?;
            let opts = ImportOptions {
                file: file.display().to_string(),
                meeting,
                date: meeting_date,
                apply_updates,
                who: who(ctx),
            };
            let rep = if dry_run {
                ledger.preview(&text, &opts, &dicts, g.as_deref())?
            } else {
                ledger.import(&text, &opts, &dicts, g.as_deref())?
            };
            if ctx.json {
                return ctx.print_json(&rep);
            }
            if dry_run {
                println!("dry run: nothing stored");
            }
            println!(
                "meeting #{} {} {}: {} new items, {} linked to open items, {} proposed updates{}",
                rep.meeting_id,
                rep.date,
                rep.meeting,
                rep.items.len(),
                rep.linked.len(),
                rep.updates.len(),
                if g.is_some() { " (rules + model)" } else { " (rules)" }
            );
            for i in &rep.items {
                println!(
                    "  #{:<4} [{}] {} | {}{} | {} | {}{}",
                    i.id.unwrap_or(0),
                    i.item_type,
                    i.description,
                    if i.owners.is_empty() { "（无负责人）".into() } else { i.owners.join("、") },
                    if i.supporting_owners.is_empty() {
                        String::new()
                    } else {
                        format!("（协同：{}）", i.supporting_owners.join("、"))
                    },
                    i.deadline
                        .map(|d| d.to_string())
                        .or(i.deadline_text.clone())
                        .unwrap_or_else(|| "（无截止）".into()),
                    i.country_name.clone().unwrap_or_default(),
                    if i.missing.is_empty() { String::new() } else { format!(" ⚠ 缺 {}", i.missing.join(",")) }
                );
            }
            for l in &rep.linked {
                println!("  ↪ linked to #{}: {}", l.linked_to, l.item.description);
            }
            for u in &rep.updates {
                println!(
                    "  ✎ #{} {} → {}{}  ({})",
                    u.item_id,
                    u.from_status,
                    u.to_status,
                    u.new_deadline.map(|d| format!(" {d}")).unwrap_or_default(),
                    u.evidence
                );
            }
            if !rep.updates.is_empty() && !rep.applied {
                println!(
                    "  proposed updates are not applied; check them, then `lodestar ledger apply {}`",
                    rep.meeting_id
                );
            }
            if let Some(r) = rep.stats.structured_rate {
                println!("  结构化率 {:.2}%  (all items need review)", r * 100.0);
            }
            Ok(())
        }
    }
}

#[derive(clap::Args)]
pub struct LedgerArgs {
    #[command(subcommand)]
    cmd: LedgerCommand,
}

#[derive(clap::Subcommand)]
enum LedgerCommand {
    /// List ledger items
    List {
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long = "type")]
        item_type: Option<String>,
        /// 待办 | 进行中 | 已完成 | 延期 | 取消
        #[arg(long)]
        status: Option<String>,
        /// Only open items past their deadline
        #[arg(long)]
        overdue: bool,
        /// Date for the overdue check (default today)
        #[arg(long)]
        as_of: Option<String>,
        /// Only items of this meeting id
        #[arg(long)]
        meeting: Option<i64>,
    },
    /// Change an item's status, deadline or note (kept in its history)
    Update {
        id: i64,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        deadline: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// The change history of an item
    History { id: i64 },
    /// Apply the status updates a meeting's minutes proposed
    Apply { meeting_id: i64 },
    /// Export the ledger to Excel (督办台账 + 统计 sheets)
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Pre-meeting review: done / overdue / delayed / open / missing, 结构化率, 可追踪率
    Review {
        /// A meeting id (default: the latest meeting)
        #[arg(long, conflicts_with = "since")]
        meeting: Option<i64>,
        /// Every meeting on or after this date
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        as_of: Option<String>,
        /// md | json | xlsx
        #[arg(long, default_value = "md")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run_ledger(ctx: &Ctx, args: LedgerArgs) -> Result<()> {
    let dicts = ctx.dicts()?;
    let mut store = ctx.store()?;
    let mut ledger = Ledger::open(&mut store)?;
    match args.cmd {
        LedgerCommand::List { country, owner, item_type, status, overdue, as_of, meeting } => {
            let status = match status {
                Some(s) => Some(
                    Status::parse(&s)
                        .with_context(|| format!("unknown status `{s}` (待办, 进行中, 已完成, 延期, 取消)"))?,
                ),
                None => None,
            };
            let as_of = as_of.as_deref().map(date).transpose()?.unwrap_or_else(today);
            let f = ListFilter { country, owner, item_type, status, overdue, meeting_id: meeting, since: None };
            let items = ledger.list(&f, as_of, &dicts)?;
            if ctx.json {
                return ctx.print_json(&items);
            }
            for i in &items {
                println!(
                    "#{:<4} {} {:<4} {:<10} {:<8} {} | {} | {}{}",
                    i.id,
                    i.meeting_date,
                    i.country.clone().unwrap_or_else(|| "-".into()),
                    i.owners.join("、"),
                    i.item_type,
                    i.description,
                    i.deadline.map(|d| d.to_string()).or(i.deadline_text.clone()).unwrap_or_else(|| "-".into()),
                    i.status,
                    if i.overdue { " ⚠逾期" } else { "" }
                );
            }
            println!("{} items", items.len());
            Ok(())
        }
        LedgerCommand::Update { id, status, deadline, note } => {
            let status = match status {
                Some(s) => Some(
                    Status::parse(&s)
                        .with_context(|| format!("unknown status `{s}` (待办, 进行中, 已完成, 延期, 取消)"))?,
                ),
                None => None,
            };
            let deadline = deadline.as_deref().map(date).transpose()?;
            let it = ledger.update(id, status, deadline, note.as_deref(), &who(ctx))?;
            if ctx.json {
                return ctx.print_json(&it);
            }
            println!(
                "#{} {} → {} (deadline {})",
                it.id,
                it.description,
                it.status,
                it.deadline.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
            );
            Ok(())
        }
        LedgerCommand::History { id } => {
            let h = ledger.history(id)?;
            if ctx.json {
                return ctx.print_json(&h);
            }
            for e in &h {
                println!(
                    "{} {} {} → {} {} {}",
                    e.at,
                    e.who,
                    e.from_status.map(|s| s.label()).unwrap_or("-"),
                    e.to_status.map(|s| s.label()).unwrap_or("-"),
                    e.new_deadline.map(|d| d.to_string()).unwrap_or_default(),
                    e.note.clone().unwrap_or_default()
                );
            }
            Ok(())
        }
        LedgerCommand::Apply { meeting_id } => {
            let items = ledger.apply_pending(meeting_id, &who(ctx))?;
            if ctx.json {
                return ctx.print_json(&items);
            }
            for i in &items {
                println!("#{} → {} {}", i.id, i.status, i.description);
            }
            println!("{} updates applied", items.len());
            Ok(())
        }
        LedgerCommand::Export { out } => {
            let items = ledger.list(&ListFilter::default(), today(), &dicts)?;
            let n = lodestar_ledger::export::export_ledger(&items, &dicts, &out)?;
            ledger.store().audit(
                &who(ctx),
                "export",
                &serde_json::json!({"ledger": out.display().to_string(), "items": n}),
            )?;
            if ctx.json {
                return ctx.print_json(&serde_json::json!({"out": out, "items": n}));
            }
            println!("wrote {} ({} items)", out.display(), n);
            Ok(())
        }
        LedgerCommand::Review { meeting, since, as_of, format, out } => {
            let scope = match (meeting, since) {
                (Some(m), _) => ReviewScope::Meeting(m),
                (None, Some(s)) => ReviewScope::Since(date(&s)?),
                (None, None) => ReviewScope::Latest,
            };
            let as_of = as_of.as_deref().map(date).transpose()?.unwrap_or_else(today);
            let r = Review::build(&ledger, scope, as_of, &dicts)?;
            let fmt = if ctx.wants_json(Some(&format)) { "json".to_string() } else { format.to_lowercase() };
            match fmt.as_str() {
                "json" => {
                    let s = serde_json::to_string_pretty(&r)?;
                    match out {
                        Some(p) => std::fs::write(&p, s).with_context(|| format!("cannot write {}", p.display()))?,
                        None => println!("{s}"),
                    }
                }
                "md" | "markdown" => {
                    let s = r.to_markdown();
                    match out {
                        Some(p) => std::fs::write(&p, s).with_context(|| format!("cannot write {}", p.display()))?,
                        None => print!("{s}"),
                    }
                }
                "xlsx" => {
                    let Some(p) = out else { bail!("--format xlsx needs --out FILE.xlsx") };
                    lodestar_ledger::export::export_review(&r, &dicts, &p)?;
                    println!("wrote {}", p.display());
                }
                other => bail!("unknown format `{other}` (md, json, xlsx)"),
            }
            Ok(())
        }
    }
}

#[derive(clap::Args)]
pub struct BenchMinutesArgs {
    /// Evaluation set folder (meetings.json, *.gold.jsonl, updates.jsonl)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Rules only, even when a chat model is installed
    #[arg(long)]
    no_model: bool,
    /// Chat model for the rules + model run (default: the manifest's default chat model)
    #[arg(long)]
    model: Option<String>,
    /// Print every mismatch
    #[arg(long)]
    verbose: bool,
}

pub fn run_bench_minutes(ctx: &Ctx, args: BenchMinutesArgs) -> Result<()> {
    let dir = match args.dir {
        Some(d) => d,
        None => lodestar_bench::minutes::default_dir().context("tests/eval/minutes not found (give --dir DIR)")?,
    };
    let dicts = ctx.dicts()?;
    let mut reports = vec![lodestar_bench::minutes::run(&dir, &dicts, None)?];
    if !args.no_model {
        match open_model(ctx, args.model.as_deref()) {
            Some(g) => reports.push(lodestar_bench::minutes::run(&dir, &dicts, Some(g.as_ref()))?),
            None => eprintln!("rules + model: skipped (no chat model installed)"),
        }
    }
    if ctx.json {
        return ctx.print_json(&reports);
    }
    let p = |x: Option<f64>| x.map(|v| format!("{:.3}", v)).unwrap_or_else(|| "-".into());
    for r in &reports {
        println!("== {} {} ({} meetings, {:.1}s)", r.mode, r.model.clone().unwrap_or_default(), r.meetings, r.seconds);
        println!(
            "items   recall {}  precision {}  ({} gold, {} predicted, {} matched)",
            p(r.items.recall),
            p(r.items.precision),
            r.items.gold,
            r.items.predicted,
            r.items.correct
        );
        for (f, s) in &r.fields {
            println!("field   {:<9} {}  ({}/{})", f, p(s.accuracy), s.correct, s.total);
        }
        println!("links   recall {}  precision {}", p(r.links.recall), p(r.links.precision));
        println!("updates recall {}  precision {}", p(r.updates.recall), p(r.updates.precision));
        if args.verbose {
            for m in &r.mismatches {
                println!("  {} {:?} [{}] want {} got {} | {}", m.meeting, m.gold, m.field, m.expected, m.got, m.source);
            }
        }
    }
    Ok(())
}
