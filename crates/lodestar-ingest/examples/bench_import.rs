//! Import throughput on a generated messy sales workbook (same as `lodestar bench import`):
//! `cargo run --release -p lodestar-ingest --example bench_import -- 200000`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(200_000);
    let dicts = lodestar_dict::Dictionaries::builtin()?;
    let r = lodestar_ingest::bench::run_import_bench(rows, &dicts)?;
    println!("{}", serde_json::to_string_pretty(&r)?);
    Ok(())
}
