//! `lodestar metrics | concentration | summary | alerts | bench metrics`: thin glue over
//! `lodestar-metrics` (the rule engine).

use crate::Ctx;
use anyhow::{bail, Context, Result};
use lodestar_core::{Month, Period};
use lodestar_metrics::{
    render, Compare, ConcentrationQuery, Dim, Measure, MetricQuery, MetricsEngine, NaiveDate, SortKey,
};
use std::path::PathBuf;

/// `DIM=VALUE` → (Dim, value).
fn parse_filters(raw: &[String]) -> Result<Vec<(Dim, String)>> {
    raw.iter()
        .map(|f| {
            let (d, v) = f
                .split_once('=')
                .or_else(|| f.split_once(':'))
                .with_context(|| format!("filter `{f}` is not DIM=VALUE (e.g. country=俄罗斯)"))?;
            Ok((d.parse::<Dim>()?, v.trim().to_string()))
        })
        .collect()
}

fn parse_dims(raw: &[String]) -> Result<Vec<Dim>> {
    raw.iter().flat_map(|s| s.split(',')).filter(|s| !s.trim().is_empty()).map(|s| Ok(s.parse::<Dim>()?)).collect()
}

/// Opens the store, loads the engine for `period` (or the latest month) with the config's field
/// sensitivities, and returns it with the period.
fn engine_for(ctx: &Ctx, period: Option<&str>) -> Result<(MetricsEngine, Period, lodestar_core::Principal)> {
    let store = ctx.store()?;
    let dicts = ctx.dicts()?;
    let config = ctx.config()?;
    let principal = ctx.principal(&store)?;
    let period: Period = match period {
        Some(p) => p.parse()?,
        None => {
            let latest = store.latest_sales_month()?.context("no sales data has been imported yet (没有销售数据)")?;
            Period::Month(latest.parse::<Month>()?)
        }
    };
    let engine = MetricsEngine::load_for_period(&store, &dicts, &period)?.with_field_sensitivity(config.fields);
    Ok((engine, period, principal))
}

#[derive(clap::Args)]
pub struct MetricsArgs {
    /// Period: YYYY-MM, YYYY-Qn or YYYY (default: the latest month with data)
    #[arg(long, alias = "month")]
    period: Option<String>,
    /// Group by: region, country, category, spec, customer, owner (comma-separated)
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
    /// amount (销售额, USD when an fx table exists) or quantity (销量)
    #[arg(long, default_value = "amount")]
    measure: String,
    /// DIM=VALUE, repeatable (values: code, Chinese/English name or alias)
    #[arg(long)]
    filter: Vec<String>,
    /// Ranking key: actual, achievement or gap
    #[arg(long, default_value = "actual")]
    sort: String,
    /// Contribution change against: yoy (same month last year) or prev-month
    #[arg(long, default_value = "yoy")]
    compare: String,
    /// table, json, csv, md or xlsx
    #[arg(long, default_value = "table")]
    format: String,
    /// Write to FILE instead of stdout (required for xlsx)
    #[arg(long)]
    out: Option<PathBuf>,
}

fn emit(ctx: &Ctx, out: Option<&PathBuf>, text: String) -> Result<()> {
    match out {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?;
            if !ctx.json {
                eprintln!("wrote {}", p.display());
            }
            Ok(())
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub fn run_metrics(ctx: &Ctx, args: MetricsArgs) -> Result<()> {
    let (engine, period, principal) = engine_for(ctx, args.period.as_deref())?;
    let q = MetricQuery {
        period,
        by: parse_dims(&args.by)?,
        measure: args.measure.parse::<Measure>()?,
        filters: parse_filters(&args.filter)?,
        sort: args.sort.parse::<SortKey>()?,
        compare: args.compare.parse::<Compare>()?,
        principal,
    };
    let table = engine.query(&q)?;
    let format = if ctx.wants_json(Some(&args.format)) { "json".to_string() } else { args.format.to_lowercase() };
    match format.as_str() {
        "json" => emit(ctx, args.out.as_ref(), format!("{}\n", serde_json::to_string_pretty(&table)?)),
        "table" | "text" => emit(ctx, args.out.as_ref(), render::text_table(&table)),
        "csv" => emit(ctx, args.out.as_ref(), render::csv(&table)),
        "md" | "markdown" => emit(ctx, args.out.as_ref(), render::markdown(&table)),
        "xlsx" => {
            let out = args.out.context("--format xlsx needs --out FILE.xlsx")?;
            render::write_xlsx(&table, &out)?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        other => bail!("unknown format `{other}` (expected table, json, csv, md, xlsx)"),
    }
}

#[derive(clap::Args)]
pub struct ConcentrationArgs {
    /// Period: YYYY-MM, YYYY-Qn or YYYY (default: the latest month with data)
    #[arg(long, alias = "period")]
    month: Option<String>,
    /// The n of CR-n, comma-separated
    #[arg(long, default_value = "10,20", value_delimiter = ',')]
    top: Vec<usize>,
    /// DIM=VALUE, repeatable: the scope (e.g. country=RU)
    #[arg(long)]
    filter: Vec<String>,
    /// amount or quantity
    #[arg(long, default_value = "amount")]
    measure: String,
    /// table or json
    #[arg(long, default_value = "table")]
    format: String,
}

pub fn run_concentration(ctx: &Ctx, args: ConcentrationArgs) -> Result<()> {
    let (engine, period, principal) = engine_for(ctx, args.month.as_deref())?;
    let q = ConcentrationQuery {
        period,
        measure: args.measure.parse()?,
        filters: parse_filters(&args.filter)?,
        tops: args.top.clone(),
        principal,
    };
    let c = engine.concentration(&q)?;
    if ctx.wants_json(Some(&args.format)) {
        ctx.print_json(&c)
    } else {
        print!("{}", render::concentration_text(&c));
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct SummaryArgs {
    /// Month (or quarter/year) of the summary (default: the latest month with data)
    #[arg(long, alias = "period")]
    month: Option<String>,
    /// Output workbook (.xlsx)
    #[arg(long)]
    out: PathBuf,
}

pub fn run_summary(ctx: &Ctx, args: SummaryArgs) -> Result<()> {
    let (engine, period, principal) = engine_for(ctx, args.month.as_deref())?;
    let s = render::summary(&engine, period, &principal)?;
    render::write_summary_xlsx(&s, &args.out)?;
    if let Ok(store) = ctx.store() {
        let _ = store.audit(
            &principal.name,
            "export",
            &serde_json::json!({"kind": "summary", "period": s.period, "file": args.out.display().to_string()}),
        );
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "period": s.period,
            "out": args.out.display().to_string(),
            "sheets": s.sheets.iter().map(|(n, t)| serde_json::json!({"name": n, "rows": t.rows.len()})).collect::<Vec<_>>(),
        }))
    } else {
        println!("wrote {} ({} sheets + 口径, period {})", args.out.display(), s.sheets.len(), s.period);
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct AlertsArgs {
    /// As-of date YYYY-MM-DD (default: today)
    #[arg(long)]
    as_of: Option<String>,
    /// table or json
    #[arg(long, default_value = "table")]
    format: String,
}

pub fn run_alerts(ctx: &Ctx, args: AlertsArgs) -> Result<()> {
    let store = ctx.store()?;
    let dicts = ctx.dicts()?;
    let config = ctx.config()?;
    let principal = ctx.principal(&store)?;
    let as_of = match &args.as_of {
        Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .with_context(|| format!("--as-of `{s}` is not YYYY-MM-DD"))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| NaiveDate::from_num_days_from_ce_opt(719_163 + (d.as_secs() / 86_400) as i32))
            .context("cannot read today's date")?,
    };
    let a = lodestar_metrics::alerts(&store, &dicts, as_of, &config, &principal)?;
    if ctx.wants_json(Some(&args.format)) {
        ctx.print_json(&a)
    } else {
        print!("{}", render::alerts_text(&a));
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct BenchMetricsArgs {
    /// Sales rows to generate
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Timed runs (the median is reported)
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Keep the generated database at this path (reused when it already exists), e.g. for
    /// benches/metrics_pandas.py
    #[arg(long)]
    db: Option<PathBuf>,
    /// Also time the web metrics page's data (table, 24-month trend, category mix) over HTTP
    #[arg(long)]
    web: bool,
}

pub fn run_bench_metrics(ctx: &Ctx, args: BenchMetricsArgs) -> Result<()> {
    let dicts = lodestar_dict::Dictionaries::builtin()?;
    let (path, temp) = match &args.db {
        Some(p) => (p.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("lodestar-bench-metrics-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            (dir.join("bench.db"), Some(dir))
        }
    };
    let t0 = std::time::Instant::now();
    let generated = if path.exists() {
        None
    } else {
        if !ctx.json {
            eprintln!("generating {} sales rows into {} …", args.rows, path.display());
        }
        Some(lodestar_bench::metrics::generate(&path, args.rows, &dicts)?)
    };
    let generate_s = t0.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..args.runs.max(1) {
        let (d, t) = lodestar_bench::metrics::run_once(&path, &dicts, lodestar_bench::metrics::BENCH_MONTH)?;
        times.push(d);
        last = Some(t);
    }
    let med = lodestar_bench::metrics::median(&times);
    let table = last.context("no run")?;
    let report = serde_json::json!({
        "rows": generated.as_ref().map(|g| g.rows),
        "db": path.display().to_string(),
        "month": lodestar_bench::metrics::BENCH_MONTH.to_string(),
        "query": "country × category, amount (USD via fx), with YTD and YoY",
        "runs": times.len(),
        "times_ms": times.iter().map(|d| d.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
        "median_ms": med.as_secs_f64() * 1000.0,
        "generate_s": generate_s,
        "result_rows": table.rows.len(),
        "total_actual": table.total.actual.map(|v| v.to_string()),
        "total_ytd_actual": table.total.ytd_actual.map(|v| v.to_string()),
        "total_yoy": table.total.yoy.map(|v| v.to_string()),
    });
    let mut report = report;
    let page = if args.web {
        let p = lodestar_server::bench::metrics_page_load(
            &path,
            std::sync::Arc::new(dicts.clone()),
            &lodestar_bench::metrics::BENCH_MONTH.to_string(),
            args.runs,
        )
        .map_err(|e| anyhow::anyhow!("web page load: {e}"))?;
        report["web_page"] = serde_json::to_value(&p)?;
        Some(p)
    } else {
        None
    };
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    if ctx.json {
        ctx.print_json(&report)
    } else {
        println!(
            "bench metrics: {} rows, country×category {} with YTD/YoY: median {:.1} ms over {} runs (from opening the DB)",
            generated.map(|g| g.rows.to_string()).unwrap_or_else(|| "existing".into()),
            lodestar_bench::metrics::BENCH_MONTH,
            med.as_secs_f64() * 1000.0,
            times.len()
        );
        println!(
            "  result: {} rows, total actual {} USD, YTD {} USD",
            table.rows.len(),
            table.total.actual.map(|v| render::money(v, true)).unwrap_or_default(),
            table.total.ytd_actual.map(|v| render::money(v, true)).unwrap_or_default()
        );
        if let Some(p) = page {
            println!(
                "  web metrics page (table + 24-month trend + category mix over HTTP): median {:.1} ms over {} loads; per request {}",
                p.median_ms,
                p.runs,
                p.per_request_median_ms.iter().map(|m| format!("{m:.1} ms")).collect::<Vec<_>>().join(" / ")
            );
        }
        Ok(())
    }
}
