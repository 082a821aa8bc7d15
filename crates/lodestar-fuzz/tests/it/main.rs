//! The fuzz harness in CI: each reader for a short budget (`LODESTAR_FUZZ_SECONDS`, default 8 s
//! per reader; the readers run in parallel), and every saved regression input replayed.

mod regressions;
mod smoke;

use std::path::PathBuf;
use std::process::Command;

/// The harness binary of this package.
pub fn fuzz_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lodestar-fuzz"))
}

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
