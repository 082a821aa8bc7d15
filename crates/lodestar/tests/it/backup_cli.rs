//! `lodestar backup` / `restore` end to end: a home with demo data, knowledge documents, minutes,
//! an account, a dictionary, a config and a file in each of uploads/, drafts/ and reports/ is
//! backed up while another connection holds the write
//! lock, restored into a new home, and answers the same metric, search and ledger queries; a
//! damaged archive is refused naming the file that failed; a non-empty home needs `--force`.

use crate::support::{json, lodestar_in, run};
use lodestar_store::rusqlite::Connection;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;

fn lodestar(home: &Path, args: &[&str]) -> (bool, String, String) {
    run(lodestar_in(home)
        .args(args)
        .env_remove("LODESTAR_HOME")
        .env("LODESTAR_NO_EMBED", "1")
        .env("LODESTAR_MODELS", home.with_extension("no-models")))
}

fn ok(home: &Path, args: &[&str]) -> String {
    let (ok, out, err) = lodestar(home, args);
    assert!(ok, "lodestar {args:?} failed: {err}\n{out}");
    out
}

/// JSON output without timings (`*_ms` fields differ from run to run).
fn answer(home: &Path, args: &[&str]) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| !k.ends_with("_ms"));
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = json(&ok(home, args));
    strip(&mut v);
    v
}

const QUERIES: &[&[&str]] = &[
    &["metrics", "--period", "2026-09", "--by", "country", "--json"],
    &["metrics", "--period", "2026-Q3", "--by", "country,category", "--json"],
    &["alerts", "--json"],
    &["search", "11R22.5 适合哪些矿山工况", "--json"],
    &["search", "质保政策 全钢", "--k", "10", "--json"],
    &["--as", "viewer1", "search", "区域指导价", "--json"],
    &["kb", "list", "--json"],
    &["ledger", "list", "--json"],
    &["user", "list", "--json"],
    &["dict", "check", "--json"],
];

fn build_home(dir: &Path) -> std::path::PathBuf {
    let home = dir.join("home");
    let opts = lodestar_demo::DemoOptions { months: 6, ..Default::default() };
    let m = lodestar_demo::generate(&dir.join("demo"), &opts).unwrap();
    for f in m.in_import_order() {
        ok(&home, &["import", f.path.to_str().unwrap()]);
    }
    ok(&home, &["kb", "add", Path::new(env!("CARGO_MANIFEST_DIR")).join("../../knowledge").to_str().unwrap()]);
    let minutes = dir.join("m.md");
    std::fs::write(
        &minutes,
        "# 8月经营分析会\n## 行动项\n1. 西伯利亚物流 12 万美元尾款催收。责任人：张伟；截止：9 月 15 日。\n",
    )
    .unwrap();
    ok(&home, &["minutes", "import", minutes.to_str().unwrap(), "--date", "2026-09-07", "--no-model"]);
    ok(&home, &["user", "add", "viewer1", "--role", "viewer", "--clearance", "公开"]);
    let list = dir.join("customers.csv");
    std::fs::write(&list, "客户名称,本地名称,国家,销售负责人\n诺瓦公司,Нова Компания,俄罗斯,陈思远\n").unwrap();
    ok(&home, &["dict", "import", list.to_str().unwrap()]);
    std::fs::write(home.join("config.toml"), "# thresholds as shipped\n").unwrap();
    // the home's files for people: an upload the web server received, a draft, a report
    for (rel, text) in HOME_FILES {
        let p = home.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    home
}

/// A file in each of the home's uploads/, drafts/ and reports/ (nested as the commands write them).
const HOME_FILES: &[(&str, &str)] = &[
    ("uploads/kb/policy/20261001-120000-ab12/质保政策.md", "# 质保政策\n\n全钢三年。\n"),
    ("drafts/客户画像-西伯利亚物流.md", "# 客户画像：西伯利亚物流\n\n（待审核）\n"),
    ("reports/compare-20261001-120000/report.md", "# 模型对比\n\n| 模型 | 得分 |\n"),
];

/// A copy of `src` with `edit` applied to each entry's bytes.
fn rewrite_zip(src: &Path, dst: &Path, edit: impl Fn(&str, &mut Vec<u8>)) {
    let mut a = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..a.len() {
        let mut e = a.by_index(i).unwrap();
        let name = e.name().unwrap().into_owned();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        edit(&name, &mut bytes);
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn backup_while_written_restore_answers_the_same_and_damage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = build_home(dir.path());
    let archive = dir.path().join("backup.zip");

    // another connection holds the write lock with an uncommitted row: the backup neither waits
    // for it nor carries the row
    let writer = Connection::open(home.join("lodestar.db")).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE; INSERT INTO users(name, role, clearance, created_at) VALUES ('ghost', 'viewer', '公开', '2026-10-01T00:00:00Z');").unwrap();
    let rep = json(&ok(&home, &["backup", "--out", archive.to_str().unwrap(), "--json"]));
    writer.execute_batch("ROLLBACK").unwrap();
    drop(writer);
    let names: Vec<&str> = rep["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    for must in ["home/lodestar.db", "home/index/catalog.json", "home/config.toml", "home/dictionaries/customers.csv"] {
        assert!(names.contains(&must), "{must} not in {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("home/index/bm25/")), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with(".lock") || n.ends_with(".tmp")), "{names:?}");
    // uploads/, drafts/ and reports/ are in it, each file with its size and checksum
    for (rel, text) in HOME_FILES {
        let path = format!("home/{rel}");
        let f = rep["files"].as_array().unwrap().iter().find(|f| f["path"] == path.as_str());
        let f = f.unwrap_or_else(|| panic!("{path} not in {names:?}"));
        assert_eq!(f["size"].as_u64(), Some(text.len() as u64), "{f}");
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64, "{f}");
    }

    // round trip: the restored home answers every query as the original does
    let restored = dir.path().join("restored");
    let r = json(&ok(&restored, &["restore", archive.to_str().unwrap(), "--json"]));
    assert_eq!(r["verified"], true);
    assert_eq!(r["problems"].as_array().unwrap().len(), 0, "{r}");
    for q in QUERIES {
        assert_eq!(answer(&restored, q), answer(&home, q), "lodestar {q:?}");
    }
    for (rel, text) in HOME_FILES {
        assert_eq!(std::fs::read_to_string(restored.join(rel)).unwrap(), *text, "{rel} restored");
    }
    let users = json(&ok(&restored, &["user", "list", "--json"]));
    assert!(!users.to_string().contains("ghost"), "an uncommitted row reached the backup");
    let (fine, _, err) = lodestar(&restored, &["doctor", "--no-repair"]);
    assert!(fine, "{err}");

    // a damaged archive: one file's bytes changed behind its manifest entry
    let bad = dir.path().join("bad.zip");
    rewrite_zip(&archive, &bad, |name, b| {
        if name == "home/config.toml" {
            b.extend_from_slice(b"[oops]\n");
        }
    });
    let fresh = dir.path().join("fresh");
    let (fine, _, err) = lodestar(&fresh, &["restore", bad.to_str().unwrap()]);
    assert!(!fine);
    assert!(err.contains("home/config.toml") && err.contains("failed verification"), "{err}");
    assert!(!fresh.join("lodestar.db").exists(), "nothing restored from a damaged archive");

    // the same for a file of drafts/
    let bad_draft = dir.path().join("bad-draft.zip");
    rewrite_zip(&archive, &bad_draft, |name, b| {
        if name.starts_with("home/drafts/") {
            b.extend_from_slice("改动".as_bytes());
        }
    });
    let (fine, _, err) = lodestar(&fresh, &["restore", bad_draft.to_str().unwrap()]);
    assert!(
        !fine && err.contains("home/drafts/客户画像-西伯利亚物流.md") && err.contains("failed verification"),
        "{err}"
    );
    assert!(!fresh.join("lodestar.db").exists() && !fresh.join("drafts").exists());

    // a flipped byte inside the compressed database
    let flipped = dir.path().join("flipped.zip");
    let mut bytes = std::fs::read(&archive).unwrap();
    let (start, len) = {
        let mut a = zip::ZipArchive::new(std::fs::File::open(&archive).unwrap()).unwrap();
        let e = a.by_name("home/lodestar.db").unwrap();
        (e.data_start().unwrap() as usize, e.compressed_size() as usize)
    };
    bytes[start + len / 2] ^= 0x55;
    std::fs::write(&flipped, &bytes).unwrap();
    let (fine, _, err) = lodestar(&fresh, &["restore", flipped.to_str().unwrap()]);
    assert!(!fine);
    assert!(err.contains("home/lodestar.db"), "{err}");
    assert!(!fresh.join("lodestar.db").exists());

    // not a backup at all
    std::fs::write(&bad, b"PK\x03\x04 not really").unwrap();
    let (fine, _, err) = lodestar(&fresh, &["restore", bad.to_str().unwrap()]);
    assert!(!fine && err.contains("not a readable lodestar backup"), "{err}");

    // a non-empty home is refused without --force and left as it was; --force replaces it
    let (fine, _, err) = lodestar(&home, &["restore", archive.to_str().unwrap()]);
    assert!(!fine && err.contains("--force"), "{err}");
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep me").unwrap();
    // a draft of its own, and one of the same name as the backup's
    std::fs::create_dir_all(other.join("drafts")).unwrap();
    std::fs::write(other.join("drafts").join("local.md"), "mine").unwrap();
    std::fs::write(other.join(HOME_FILES[1].0), "older text").unwrap();
    let (fine, _, err) = lodestar(&other, &["restore", archive.to_str().unwrap()]);
    assert!(!fine && err.contains("not empty"), "{err}");
    assert!(!other.join("lodestar.db").exists());
    ok(&other, &["restore", archive.to_str().unwrap(), "--force"]);
    assert_eq!(std::fs::read_to_string(other.join("notes.txt")).unwrap(), "keep me");
    // the backup's files replace those of the same name; the home's other drafts stay
    assert_eq!(std::fs::read_to_string(other.join("drafts").join("local.md")).unwrap(), "mine");
    for (rel, text) in HOME_FILES {
        assert_eq!(std::fs::read_to_string(other.join(rel)).unwrap(), *text, "{rel}");
    }
    assert_eq!(answer(&other, QUERIES[0]), answer(&home, QUERIES[0]));
}
