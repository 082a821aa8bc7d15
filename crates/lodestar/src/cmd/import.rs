//! `lodestar import`, `quarantine`, `dict` and `bench import`: thin glue over `lodestar-ingest` and
//! `lodestar-store` (`user` is in `cmd/user.rs`).

use crate::Ctx;
use anyhow::{bail, Context, Result};
use lodestar_core::{Principal, Role};
use lodestar_ingest::{ImportOptions, ImportReport, RecordKind, UnresolvedName};
use std::path::PathBuf;

pub(crate) fn require(p: &Principal, roles: &[Role], what: &str) -> Result<()> {
    if roles.contains(&p.role) {
        Ok(())
    } else {
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        bail!("user `{}` ({}) may not {what}; needs role {}", p.name, p.role, allowed.join(" or "))
    }
}

/// Width of a string in terminal columns (CJK counts two).
fn width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x1100 && !matches!(c as u32, 0x2000..=0x206F) { 2 } else { 1 }).sum()
}

fn pad(s: &str, w: usize) -> String {
    let n = width(s);
    if n >= w {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

/// Prints rows as an aligned table (first row = header).
pub(crate) fn table(rows: &[Vec<String>]) {
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| width(s)).max().unwrap_or(0)).collect();
    for r in rows {
        let line: Vec<String> = r.iter().enumerate().map(|(i, s)| pad(s, widths[i])).collect();
        println!("  {}", line.join("  ").trim_end());
    }
}

// ---------------------------------------------------------------- import

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ImportArgs {
    #[command(subcommand)]
    action: Option<ImportAction>,
    /// Export files (.xlsx, .xlsm, .xls, .ods, .csv); each file is one batch and one transaction
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Treat every data sheet as this kind instead of detecting it from the headers
    #[arg(long, value_parser = parse_kind)]
    kind: Option<RecordKind>,
    /// Add sales/targets rows instead of replacing the months the file covers
    #[arg(long)]
    append: bool,
}

fn parse_kind(s: &str) -> Result<RecordKind, String> {
    s.parse()
}

#[derive(clap::Subcommand)]
enum ImportAction {
    /// Take a batch back out: delete its rows and restore the rows it replaced
    Undo {
        /// Batch id (from the import report or `lodestar import list`)
        batch: i64,
    },
    /// List import batches, newest first
    List,
}

pub fn run_import(ctx: &Ctx, args: ImportArgs) -> Result<()> {
    let mut store = ctx.store()?;
    let principal = ctx.principal(&store)?;
    match args.action {
        Some(ImportAction::Undo { batch }) => {
            require(&principal, &[Role::Admin, Role::Ops], "undo imports")?;
            let r = store.undo_batch(batch, &principal.name)?;
            if ctx.json {
                return ctx.print_json(&r);
            }
            println!(
                "undid batch {} ({}): {} rows taken out, {} earlier rows restored, {} quarantine entries removed",
                r.batch_id, r.file, r.deleted, r.restored, r.quarantine_removed
            );
            Ok(())
        }
        Some(ImportAction::List) => {
            let batches = store.list_batches()?;
            if ctx.json {
                return ctx.print_json(&batches);
            }
            let mut rows = vec![vec![
                "batch".to_string(),
                "file".into(),
                "imported_at".into(),
                "by".into(),
                "imported".into(),
                "replaced".into(),
                "quarantined".into(),
                "status".into(),
            ]];
            for b in batches {
                rows.push(vec![
                    b.id.to_string(),
                    b.file_name,
                    b.imported_at,
                    b.imported_by,
                    b.rows_imported.to_string(),
                    b.rows_replaced.to_string(),
                    b.rows_quarantined.to_string(),
                    b.undone_at.map(|t| format!("undone {t}")).unwrap_or_else(|| "active".into()),
                ]);
            }
            table(&rows);
            Ok(())
        }
        None => {
            require(&principal, &[Role::Admin, Role::Ops], "import data")?;
            let dicts = ctx.dicts()?;
            let limits = ctx.config()?.limits;
            let opts = ImportOptions { kind: args.kind, append: args.append, actor: principal.name.clone(), limits };
            let mut reports = Vec::new();
            for f in &args.files {
                let r = lodestar_ingest::import_file(&mut store, &dicts, f, &opts)
                    .with_context(|| format!("import of {} failed; nothing of it was stored", f.display()))?;
                if !ctx.json {
                    print_report(&r);
                }
                reports.push(r);
            }
            if ctx.json {
                if reports.len() == 1 {
                    return ctx.print_json(&reports[0]);
                }
                let imported: u64 = reports.iter().map(|r| r.imported).sum();
                let quarantined: u64 = reports.iter().map(|r| r.quarantined).sum();
                let replaced: u64 = reports.iter().map(|r| r.replaced).sum();
                return ctx.print_json(&serde_json::json!({
                    "imported": imported, "quarantined": quarantined, "replaced": replaced, "files": reports,
                }));
            }
            Ok(())
        }
    }
}

pub(crate) fn print_report(r: &ImportReport) {
    if r.duplicate {
        println!(
            "{}: identical to batch {} imported before — nothing imported (imported: 0)",
            r.file,
            r.batch_id.map(|b| b.to_string()).unwrap_or_default()
        );
        return;
    }
    println!(
        "{} → batch {}: {} rows imported, {} earlier rows replaced, {} quarantined",
        r.file,
        r.batch_id.map(|b| b.to_string()).unwrap_or_default(),
        r.imported,
        r.replaced,
        r.quarantined
    );
    let mut rows = vec![vec![
        "sheet".to_string(),
        "kind".into(),
        "header".into(),
        "read".into(),
        "imported".into(),
        "replaced".into(),
        "quarantined".into(),
        "skipped".into(),
        "status".into(),
    ]];
    for s in &r.sheets {
        rows.push(vec![
            s.sheet.clone(),
            s.kind.map(|k| k.to_string()).unwrap_or_else(|| "-".into()),
            s.header_row.map(|h| format!("row {h}")).unwrap_or_else(|| "-".into()),
            s.rows_read.to_string(),
            s.imported.to_string(),
            s.replaced.to_string(),
            s.quarantined.to_string(),
            if s.skipped_rows > 0 {
                format!("{} ({} subtotal, {} blank)", s.skipped_rows, s.subtotal_rows, s.blank_rows)
            } else {
                "0".into()
            },
            match &s.skip_reason {
                Some(why) => format!("skipped: {why}"),
                None => s.status.clone(),
            },
        ]);
    }
    table(&rows);
    for s in r.sheets.iter().filter(|s| !s.quarantine_reasons.is_empty()) {
        let reasons: Vec<String> = s.quarantine_reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  quarantined in {}: {}", s.sheet, reasons.join(", "));
    }
    if r.quarantined > 0 {
        if let Some(b) = r.batch_id {
            println!("  see `lodestar quarantine list --batch {b}`");
        }
    }
    for w in &r.warnings {
        println!("  warning: {w}");
    }
    if !r.unresolved.is_empty() {
        println!("unresolved names (rows imported and flagged; `lodestar dict import` repairs them):");
        print_unresolved("country", &r.unresolved.countries);
        print_unresolved("customer", &r.unresolved.customers);
        print_unresolved("spec", &r.unresolved.specs);
        print_unresolved("category", &r.unresolved.categories);
    }
}

fn print_unresolved(what: &str, names: &[UnresolvedName]) {
    for n in names {
        let hint = if n.suggestions.is_empty() {
            String::new()
        } else {
            format!("  did you mean: {}", n.suggestions.join(" | "))
        };
        println!("  {what:<8} {} ({} rows){hint}", n.name, n.rows);
    }
}

// ---------------------------------------------------------------- quarantine

#[derive(clap::Args)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    action: QuarantineAction,
}

#[derive(clap::Subcommand)]
enum QuarantineAction {
    /// Rows set aside by imports: file, sheet, row, column, raw value, reason
    List {
        /// Only this batch
        #[arg(long)]
        batch: Option<i64>,
    },
}

pub fn run_quarantine(ctx: &Ctx, args: QuarantineArgs) -> Result<()> {
    let store = ctx.store()?;
    match args.action {
        QuarantineAction::List { batch } => {
            let entries = store.quarantine_list(batch)?;
            if ctx.json {
                return ctx.print_json(&entries);
            }
            if entries.is_empty() {
                println!("quarantine is empty");
                return Ok(());
            }
            let mut rows = vec![vec![
                "batch".to_string(),
                "file".into(),
                "sheet".into(),
                "row".into(),
                "column".into(),
                "raw value".into(),
                "reason".into(),
            ]];
            for e in entries {
                rows.push(vec![
                    e.batch_id.map(|b| b.to_string()).unwrap_or_default(),
                    e.file,
                    e.sheet.unwrap_or_default(),
                    e.row.map(|r| r.to_string()).unwrap_or_default(),
                    e.column.unwrap_or_default(),
                    e.raw_value.unwrap_or_default(),
                    e.reason,
                ]);
            }
            table(&rows);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- dict

#[derive(clap::Args)]
pub struct DictArgs {
    #[command(subcommand)]
    action: DictAction,
}

#[derive(clap::Subcommand)]
enum DictAction {
    /// Add or update customers (客户名称, 英文名称, 本地名称, 国家, 销售负责人, 状态, 信用额度, 币种, 信用等级)
    /// or staff (姓名, 别名, 岗位, 部门, 国家) from a CSV/XLSX file
    Import {
        /// CSV or workbook file
        file: PathBuf,
    },
    /// Names in the stored data that no dictionary resolves, with the nearest known names
    Check,
}

pub fn run_dict(ctx: &Ctx, args: DictArgs) -> Result<()> {
    match args.action {
        DictAction::Import { file } => {
            let store = ctx.store()?;
            let principal = ctx.principal(&store)?;
            require(&principal, &[Role::Admin, Role::Ops], "change dictionaries")?;
            let dicts = ctx.dicts()?;
            let limits = ctx.config()?.limits;
            let r = lodestar_ingest::dictfile::import_dictionary_with(&dicts, &file, &ctx.home.dict_dir(), &limits)?;
            // the written file must load
            ctx.dicts().context("the dictionary file written does not load")?;
            store.audit(
                &principal.name,
                "dict_import",
                &serde_json::json!({"file": r.file, "list": r.list, "added": r.added, "updated": r.updated}),
            )?;
            if ctx.json {
                return ctx.print_json(&r);
            }
            println!(
                "{} ({} list): {} rows, {} added, {} updated, {} unchanged → {}",
                r.file,
                serde_json::to_value(r.list)?.as_str().unwrap_or(""),
                r.rows,
                r.added,
                r.updated,
                r.unchanged,
                r.written
            );
            for c in &r.changes {
                println!("  {} {} {}", c.action, c.id, c.name);
            }
            for w in &r.warnings {
                println!("  warning: {w}");
            }
            Ok(())
        }
        DictAction::Check => {
            let store = ctx.store()?;
            let dicts = ctx.dicts()?;
            let r = lodestar_ingest::dictfile::check_names(&store, &dicts)?;
            if ctx.json {
                return ctx.print_json(&r);
            }
            if r.names == 0 {
                println!("every name in the stored data resolves through the dictionaries");
                return Ok(());
            }
            println!("{} names in the stored data are not in the dictionaries ({} rows):", r.names, r.rows);
            print_unresolved("country", &r.unresolved.countries);
            print_unresolved("customer", &r.unresolved.customers);
            print_unresolved("spec", &r.unresolved.specs);
            print_unresolved("category", &r.unresolved.categories);
            print_unresolved("owner", &r.unresolved.owners);
            println!(
                "add them with `lodestar dict import FILE` (names are resolved at query time, so history is repaired)"
            );
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- bench import

#[derive(clap::Args)]
pub struct BenchImportArgs {
    /// Data rows in the generated workbook
    #[arg(long, default_value_t = 200_000)]
    rows: usize,
}

pub fn run_bench_import(ctx: &Ctx, args: BenchImportArgs) -> Result<()> {
    let dicts = lodestar_dict::Dictionaries::builtin()?;
    let r = lodestar_bench::import::run_import_bench(args.rows, &dicts)?;
    if ctx.json {
        return ctx.print_json(&r);
    }
    println!(
        "import of a messy {}-row sales workbook ({:.1} MB, generated in {:.2} s):",
        r.rows,
        r.file_bytes as f64 / 1e6,
        r.generate_s
    );
    println!(
        "  {:.2} s end to end → {:.0} rows/s  ({} imported, {} quarantined, {} subtotal/blank rows skipped, {} unresolved names)",
        r.import_s, r.rows_per_s, r.imported, r.quarantined, r.skipped_rows, r.unresolved_names
    );
    Ok(())
}
