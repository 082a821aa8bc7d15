//! Every input a fuzz run once failed on (crates/lodestar-fuzz/regressions/<reader>/) is replayed:
//! it must now be read or refused with an error that names the file — no panic, hang, crash or
//! allocation over the cap.

use crate::{crate_dir, fuzz_bin};

#[test]
fn saved_failures_stay_fixed() {
    let dir = crate_dir().join("regressions");
    let files = lodestar_fuzz::harness::regression_files(&dir);
    assert!(!files.is_empty(), "the regression inputs are found under {}", dir.display());
    // tighter than a campaign's limits: the inputs kept for their time or memory must stay cheap
    let out = fuzz_bin()
        .args(["--timeout", "10", "--max-memory-mb", "512", "--replay"])
        .arg(&dir)
        .output()
        .expect("lodestar-fuzz runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "a regression input fails again:\n{stdout}{stderr}");
    let replayed = stdout.lines().filter(|l| l.starts_with("ok ") || l.starts_with("refused ")).count();
    assert_eq!(replayed, files.len(), "every regression file is replayed:\n{stdout}");
}
