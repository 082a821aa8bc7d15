//! The `lodestar bench metrics` measurement without the CLI (faster to build in release):
//! `cargo run --release -p lodestar-metrics --example bench_metrics -- [ROWS] [DB] [RUNS]`.
//! An existing DB file is reused (so `benches/metrics_pandas.py` can time the same file).

use lodestar_metrics::bench;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let db = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp/lodestar-bench-metrics.db".into()));
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let dicts = lodestar_dict::Dictionaries::builtin()?;
    if !db.exists() {
        let t = std::time::Instant::now();
        bench::generate(&db, rows, &dicts)?;
        eprintln!("generated {rows} rows into {} in {:.1} s", db.display(), t.elapsed().as_secs_f64());
    }
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs.max(1) {
        let (d, t) = bench::run_once(&db, &dicts, bench::BENCH_MONTH)?;
        eprintln!("run: {:.1} ms", d.as_secs_f64() * 1000.0);
        times.push(d);
        last = Some(t);
    }
    let t = last.ok_or("no run")?;
    println!(
        "lodestar-metrics: country×category {} with YTD/YoY: median {:.1} ms over {} runs; {} rows, total actual {} USD, YTD {} USD",
        bench::BENCH_MONTH,
        bench::median(&times).as_secs_f64() * 1000.0,
        times.len(),
        t.rows.len(),
        t.total.actual.map(|v| lodestar_metrics::render::money(v, true)).unwrap_or_default(),
        t.total.ytd_actual.map(|v| lodestar_metrics::render::money(v, true)).unwrap_or_default(),
    );
    Ok(())
}
