//! A short fuzz run of each reader must find no failure. The budget per reader comes from
//! `LODESTAR_FUZZ_SECONDS` (default 20); the seed from `LODESTAR_FUZZ_SEED` (default: a new one
//! each day, printed, so CI explores beyond one fixed set of inputs while a failure stays
//! reproducible with `lodestar-fuzz --reader R --seed S`).

use crate::{crate_dir, fuzz_bin};

fn seconds() -> String {
    std::env::var("LODESTAR_FUZZ_SECONDS").unwrap_or_else(|_| "20".into())
}

fn seed() -> String {
    std::env::var("LODESTAR_FUZZ_SEED").unwrap_or_else(|_| {
        let days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 86_400).unwrap_or(0);
        days.to_string()
    })
}

fn fuzz(reader: &str) {
    let save = crate_dir().join("../../target/fuzz-failures");
    let (secs, seed) = (seconds(), seed());
    let out = fuzz_bin()
        .args(["--reader", reader, "--seconds", &secs, "--seed", &seed, "--save-failures"])
        .arg(&save)
        .output()
        .expect("lodestar-fuzz runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{reader}: seed {seed}, {secs} s\n{stdout}{stderr}");
    assert!(
        out.status.success(),
        "fuzzing {reader} (seed {seed}, {secs} s) found failures; inputs saved under {}:\n{stdout}{stderr}",
        save.display()
    );
    let line = stdout.lines().next().unwrap_or("");
    let inputs: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(inputs >= 20, "only {inputs} inputs ran in {secs} s:\n{stdout}");
}

#[test]
fn workbook_reader_survives_fuzzing() {
    fuzz("workbook");
}

#[test]
fn csv_reader_survives_fuzzing() {
    fuzz("csv");
}

#[test]
fn minutes_reader_survives_fuzzing() {
    fuzz("minutes");
}

#[test]
fn knowledge_reader_survives_fuzzing() {
    fuzz("knowledge");
}
