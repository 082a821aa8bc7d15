//! What the CLI tests share: the `lodestar` binary under test run on a home folder, its output
//! read back, and a knowledge document several of them add.

use std::path::Path;
use std::process::{Command, Output};

/// `lodestar --home HOME`, the binary under test; each test module adds its arguments and the
/// environment it runs under.
pub fn lodestar_in(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lodestar"));
    c.arg("--home").arg(home);
    c
}

/// Whether a finished run succeeded, its stdout and its stderr.
pub fn outcome(out: &Output) -> (bool, String, String) {
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the command to its end: whether it succeeded, its stdout and its stderr.
pub fn run(c: &mut Command) -> (bool, String, String) {
    outcome(&c.output().expect("run lodestar"))
}

/// The stdout of a run of `lodestar ARGS` that must have succeeded.
pub fn succeeded(args: &[&str], (ok, out, err): (bool, String, String)) -> String {
    assert!(ok, "lodestar {args:?} failed: {err}\n{out}");
    out
}

/// Text that must be JSON.
pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The warranty policy: an internal (内部) document of the `policy` knowledge base.
pub const WARRANTY: &str = "---\nkb: policy\ntitle: 质保政策\nsensitivity: 内部\n---\n# 质保政策\n## 全钢胎\n全钢胎质保期为 36 个月，长途干线 15 万公里。\n";
