//! `[limits]` of the home's `config.toml` reach the commands that read user files: a limit set
//! lower than its default refuses (or trims) what the default lets through, with an error that
//! names the file, the figure and the key.

use crate::support::{json, lodestar_in, run};
use std::path::Path;

fn lodestar(home: &Path, args: &[&str]) -> (bool, String, String) {
    run(lodestar_in(home)
        .args(args)
        .env_remove("LODESTAR_HOME")
        .env("LODESTAR_NO_EMBED", "1")
        .env("LODESTAR_MODELS", home.with_extension("no-models")))
}

const MINUTES: &str =
    "# 8月经营分析会\n## 行动项\n1. 西伯利亚物流 12 万美元尾款催收。责任人：张伟；截止：9 月 15 日。\n";

#[test]
fn minutes_import_reads_under_the_configured_text_limit() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let m = dir.path().join("m.md");
    std::fs::write(&m, MINUTES).unwrap();
    let n = MINUTES.len();
    assert!(n > 64 && n < 2 << 20);
    std::fs::write(home.join("config.toml"), "[limits]\nmax_minutes_bytes = 64\n").unwrap();
    let args = ["minutes", "import", m.to_str().unwrap(), "--date", "2026-09-07", "--no-model"];
    let (ok, out, err) = lodestar(&home, &args);
    assert!(!ok, "over the configured limit: {out}");
    assert!(err.contains("m.md") && err.contains(&format!("{n} bytes of minutes text")), "{err}");
    assert!(err.contains("over the limit of 64") && err.contains("[limits] max_minutes_bytes"), "{err}");
    let (_, out, _) = lodestar(&home, &["ledger", "list", "--json"]);
    assert_eq!(json(&out), serde_json::json!([]), "nothing entered the ledger");
    // the limit raised to the file's size: read and imported
    std::fs::write(home.join("config.toml"), format!("[limits]\nmax_minutes_bytes = {n}\n")).unwrap();
    let (ok, _, err) = lodestar(&home, &args);
    assert!(ok, "{err}");
    let (_, out, _) = lodestar(&home, &["ledger", "list", "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 1, "{out}");
}

#[test]
fn dict_import_keeps_the_configured_number_of_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.toml"), "[limits]\nmax_aliases = 2\n").unwrap();
    let list = dir.path().join("staff.csv");
    std::fs::write(&list, "姓名,别名,岗位\n钱多多,Alpha Qian;Beta Qian;Gamma Qian,销售代表\n").unwrap();
    let (ok, out, err) = lodestar(&home, &["dict", "import", list.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let r = json(&out);
    assert_eq!(r["added"], 1, "{r}");
    let w = r["warnings"].to_string();
    assert!(w.contains("3 aliases, over the limit of 2") && w.contains("[limits] max_aliases"), "{w}");
    let csv = std::fs::read_to_string(home.join("dictionaries").join("staff.csv")).unwrap();
    let row = csv.lines().find(|l| l.contains("钱多多")).unwrap();
    assert!(row.contains("Alpha Qian") && row.contains("Beta Qian") && !row.contains("Gamma Qian"), "{row}");
}
