//! Crash-test hook. `LODESTAR_TEST_PAUSE_AT=<point>` makes a command stop for good at the named
//! point of a write (after announcing it on stderr), so that a crash-safety test can SIGKILL it
//! exactly there. Unset — always, outside tests — a point costs one environment lookup and does
//! nothing; set, it only ever makes the process wait, never changes what it writes.
//!
//! Points: `import.before_commit`, `import.after_commit` (lodestar-ingest, one file's batch);
//! `minutes.before_commit`, `minutes.after_commit` (lodestar-ledger); `index.after_bm25_commit`,
//! `index.after_vectors_saved`, `index.after_catalog_saved` (lodestar-index, `kb add` / `remove`).

/// The environment variable naming the point to pause at.
pub const PAUSE_ENV: &str = "LODESTAR_TEST_PAUSE_AT";

/// What the hook writes to stderr when it pauses (followed by the point's name).
pub const PAUSED_MARK: &str = "lodestar test hook: paused at ";

/// Pauses forever when `LODESTAR_TEST_PAUSE_AT` names `point`; returns at once otherwise.
pub fn pause_point(point: &str) {
    if std::env::var_os(PAUSE_ENV).is_some_and(|v| v == point) {
        eprintln!("{PAUSED_MARK}{point}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
