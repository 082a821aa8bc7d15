//! Writes the demo workbooks (default options, end month 2026-10) to a folder, for
//! `tests/eval/expected_metrics.py`: `cargo run -p lodestar-rag --example demo_workbooks -- DIR`.
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "demo-data".into());
    match lodestar_demo::generate(std::path::Path::new(&dir), &lodestar_demo::DemoOptions::default()) {
        Ok(m) => {
            for f in &m.files {
                println!("{} {} rows", f.path.display(), f.rows);
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
