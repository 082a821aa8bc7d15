//! A short fuzz run of each reader must find no failure. The budget per reader comes from
//! `LODESTAR_FUZZ_SECONDS` (default 8); the seed from `LODESTAR_FUZZ_SEED` (default 1, so CI is
//! deterministic up to how many inputs fit in the budget; set it to explore further — a failure
//! stays reproducible with `lodestar-fuzz --reader R --seed S`).

use crate::{crate_dir, fuzz_bin};

fn seconds() -> String {
    std::env::var("LODESTAR_FUZZ_SECONDS").unwrap_or_else(|_| "8".into())
}

fn seed() -> String {
    std::env::var("LODESTAR_FUZZ_SEED").unwrap_or_else(|_| "1".into())
}

fn fuzz(reader: &str) {
    let save = crate_dir().join("../../target/fuzz-failures");
    let json = crate_dir().join(format!("../../target/fuzz-ci-{reader}.json"));
    let (secs, seed) = (seconds(), seed());
    let out = fuzz_bin()
        // the seeds as they are: `seeds::tests`; here only mutated inputs
        .args(["--reader", reader, "--seconds", &secs, "--seed", &seed, "--skip-seeds", "--save-failures"])
        .arg(&save)
        .arg("--json")
        .arg(&json)
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
    let reports: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).expect("the JSON report")).unwrap();
    let r = &reports[0];
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{k} in {r}"));
    assert_eq!(r["reader"], reader);
    assert!(n("inputs") >= 10, "only {} inputs ran in {secs} s:\n{stdout}", n("inputs"));
    assert_eq!(n("read") + n("refused") + n("failed"), n("inputs"), "{r}");
    assert_eq!(n("failed"), 0, "{r}");
    assert_eq!(r["failures"].as_array().map(Vec::len), Some(0), "{r}");
    // the mutations reach both ends: inputs the reader takes and inputs it refuses with an error
    // that names the file (the harness counts an error without the file name as a failure)
    assert!(n("read") > 0 && n("refused") > 0, "{r}");
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
