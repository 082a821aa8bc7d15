//! CPU time of an import on a generated workbook, to judge throughput on a loaded machine:
//! process CPU (all threads) and this thread's CPU (read cells + clean); the rest is the merge
//! scan and the writer thread, which run in parallel with this one.
//! `cargo run --release -p lodestar-bench --example phase_times -- 200000`
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .unwrap_or(0.0)
        / 1e9
}
fn process_cpu() -> f64 {
    std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .unwrap_or(0.0)
        / 1e9
}
fn process_cpu_all() -> f64 {
    // utime + stime of all threads, in clock ticks (100 Hz)
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(200_000);
    let dicts = lodestar_dict::Dictionaries::builtin()?;
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("m.xlsx");
    lodestar_bench::import::write_messy_sales_workbook(&f, rows, &dicts)?;
    let mut store = lodestar_store::Store::open(&dir.path().join("db.sqlite"))?;
    let (w, t, p) = (std::time::Instant::now(), thread_cpu(), process_cpu_all());
    let _ = process_cpu();
    let r = lodestar_ingest::import_file(&mut store, &dicts, &f, &Default::default())?;
    let (wall, main_cpu, all_cpu) = (w.elapsed().as_secs_f64(), thread_cpu() - t, process_cpu_all() - p);
    println!(
        "rows {rows} imported {} wall {wall:.2}s cpu(all threads) {all_cpu:.2}s cpu(main: read+clean) {main_cpu:.2}s \
         → {:.0} rows/s per CPU-second of the critical path",
        r.imported,
        rows as f64 / main_cpu.max(all_cpu - main_cpu)
    );
    Ok(())
}
