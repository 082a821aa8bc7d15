//! Crash safety: `lodestar import`, `minutes import` and `kb add` killed with SIGKILL at named
//! points (the test hook `LODESTAR_TEST_PAUSE_AT` stops the child there, then it is killed) and
//! after delays spread over a clean run's duration. Whatever point a kill lands at: the database
//! passes `PRAGMA integrity_check`, a batch is all there or not there at all, `lodestar doctor`
//! leaves no problem, and a re-run completes the job to the same state as a run never killed.
//! No assertion depends on where a timed kill lands.

use crate::support::{json, lodestar_in, run};
use lodestar_core::testhook::{PAUSED_MARK, PAUSE_ENV};
use lodestar_store::rusqlite::Connection;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn cmd(home: &Path, args: &[&str]) -> Command {
    let mut c = lodestar_in(home);
    c.args(args)
        .env_remove("LODESTAR_HOME")
        .env_remove(PAUSE_ENV)
        .env("LODESTAR_NO_EMBED", "1")
        .env("LODESTAR_MODELS", home.with_extension("no-models"));
    c
}

fn lodestar(home: &Path, args: &[&str]) -> (bool, String, String) {
    run(&mut cmd(home, args))
}

fn ok(home: &Path, args: &[&str]) -> String {
    let (ok, out, err) = lodestar(home, args);
    assert!(ok, "lodestar {args:?} failed: {err}\n{out}");
    out
}

/// Runs `args` until the test hook pauses it at `point`, then SIGKILLs it.
fn kill_at(home: &Path, args: &[&str], point: &str) {
    let mut child = cmd(home, args).env(PAUSE_ENV, point).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let reached = BufReader::new(err).lines().map_while(Result::ok).any(|l| {
        seen.push(l.clone());
        l.contains(PAUSED_MARK)
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(reached, "lodestar {args:?} ended without reaching {point}: {}", seen.join("\n"));
}

/// Starts `args` and SIGKILLs it after `delay` unless it ended first; whether it was killed.
fn kill_after(home: &Path, args: &[&str], delay: Duration) -> bool {
    let mut child = cmd(home, args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t = Instant::now();
    while t.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    true
}

/// Runs `args` to its end; how long it took.
fn timed(home: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    ok(home, args);
    t.elapsed()
}

/// `lodestar doctor --json` (`--no-repair` unless `repair`): whether it exited 0, and its report.
fn doctor(home: &Path, repair: bool) -> (bool, Value) {
    let mut args = vec!["doctor", "--json"];
    if !repair {
        args.push("--no-repair");
    }
    let (ok, out, err) = lodestar(home, &args);
    let rep = json(&out);
    assert_eq!(rep["ok"].as_bool(), Some(ok), "exit status and report disagree: {out}\n{err}");
    (ok, rep)
}

fn check(rep: &Value, name: &str) -> Value {
    rep["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap()
}

fn db(home: &Path) -> Connection {
    Connection::open(home.join("lodestar.db")).unwrap()
}

fn one(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The database after a kill: intact, every import batch whole (its rows and quarantine entries
/// as its report counts them), no file imported twice, and the doctor finds nothing.
fn assert_db_whole(home: &Path) {
    let (fine, rep) = doctor(home, false);
    assert!(fine, "{rep:#}");
    if !home.join("lodestar.db").exists() {
        return; // killed before it created the database
    }
    let c = db(home);
    let ic: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ic, "ok");
    if one(&c, "SELECT count(*) FROM sqlite_master WHERE name = 'import_batches'") == 0 {
        return; // killed before the schema's transaction committed
    }
    let mut st = c.prepare("SELECT id, rows_imported, rows_quarantined FROM import_batches").unwrap();
    let batches: Vec<(i64, i64, i64)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    for (id, imported, quarantined) in batches {
        let rows: i64 = ["sales", "targets", "receivables", "fx"]
            .iter()
            .map(|t| one(&c, &format!("SELECT count(*) FROM {t} WHERE batch_id = {id}")))
            .sum();
        assert_eq!(rows, imported, "batch {id} is not whole");
        assert_eq!(one(&c, &format!("SELECT count(*) FROM quarantine WHERE batch_id = {id}")), quarantined);
        assert_eq!(one(&c, &format!("SELECT count(*) FROM audit_log WHERE action = 'import' AND json_extract(detail, '$.batch_id') = {id}")), 1);
    }
    assert_eq!(
        one(
            &c,
            "SELECT count(*) FROM (SELECT content_hash FROM import_batches GROUP BY content_hash HAVING count(*) > 1)"
        ),
        0,
        "a file imported twice"
    );
}

fn active_counts(home: &Path) -> Vec<i64> {
    let c = db(home);
    ["sales_active", "targets_active", "receivables_active", "fx_active", "quarantine"]
        .iter()
        .map(|t| one(&c, &format!("SELECT count(*) FROM {t}")))
        .collect()
}

fn demo_files(dir: &Path) -> Vec<PathBuf> {
    let opts = lodestar_demo::DemoOptions { months: 6, ..Default::default() };
    let m = lodestar_demo::generate(dir, &opts).unwrap();
    m.in_import_order().into_iter().map(|f| f.path.clone()).collect()
}

#[test]
fn import_killed_anywhere_is_all_or_nothing_and_a_rerun_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = demo_files(&dir.path().join("demo"));
    let (reference, home) = (dir.path().join("reference"), dir.path().join("home"));
    let metrics = ["metrics", "--period", "2026-09", "--by", "country", "--json"];

    // a run never killed, timed per file
    let mut took = Vec::new();
    for f in &files {
        took.push(timed(&reference, &["import", f.to_str().unwrap(), "--json"]));
    }

    for (i, f) in files.iter().enumerate() {
        let args = ["import", f.to_str().unwrap(), "--json"];
        // at the named points: killed before the commit nothing of the file is there; after it, all
        if i == 2 {
            kill_at(&home, &args, "import.before_commit");
            assert_db_whole(&home);
            assert_eq!(one(&db(&home), "SELECT count(*) FROM import_batches"), i as i64, "nothing of the file");
            kill_at(&home, &args, "import.after_commit");
            assert_db_whole(&home);
            assert_eq!(one(&db(&home), "SELECT count(*) FROM import_batches"), i as i64 + 1, "all of the file");
        }
        // timed kills spread over a clean run of this file (start-up included)
        for frac in [0.2, 0.5, 0.8] {
            kill_after(&home, &args, took[i].mul_f64(frac));
            assert_db_whole(&home);
        }
        // the re-run completes it: imported now, or already there (byte-identical)
        let r = json(&ok(&home, &args));
        assert!(r["duplicate"] == true || r["imported"].as_u64().unwrap() > 0, "{r}");
        assert_db_whole(&home);
    }
    assert_eq!(active_counts(&home), active_counts(&reference));
    assert_eq!(json(&ok(&home, &metrics)), json(&ok(&reference, &metrics)));
}

const MINUTES: &str = "# 8月经营分析会\n## 二、行动项\n1. 西伯利亚物流 12 万美元尾款催收。责任人：张伟；截止：9 月 15 日。\n2. 乌拉尔矿业框架协议谈判方案。责任人：唐志强；截止：下次会议前。\n3. 塔什干轮胎贸易信用额度复核。责任人：（待定）；截止：月底前。\n";

#[test]
fn minutes_import_killed_stores_the_meeting_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let m = dir.path().join("m1.md");
    std::fs::write(&m, MINUTES).unwrap();
    let args = ["minutes", "import", m.to_str().unwrap(), "--date", "2026-09-07", "--no-model", "--json"];
    let whole = |expect: Option<bool>| {
        let c = db(&home);
        let meetings = one(&c, "SELECT count(*) FROM ledger_meetings");
        let items = one(&c, "SELECT count(*) FROM ledger_items");
        let audited = one(&c, "SELECT count(*) FROM audit_log WHERE action = 'minutes_import'");
        assert!(meetings <= 1);
        assert_eq!(
            (items, audited),
            (3 * meetings, meetings),
            "the meeting, its items and its audit entry go together"
        );
        if let Some(present) = expect {
            assert_eq!(meetings == 1, present);
        }
        let (fine, rep) = doctor(&home, false);
        assert!(fine, "{rep:#}");
        meetings == 1
    };
    kill_at(&home, &args, "minutes.before_commit");
    whole(Some(false));
    for ms in [30, 120, 300] {
        kill_after(&home, &args, Duration::from_millis(ms));
        if whole(None) {
            break;
        }
    }
    if !whole(None) {
        kill_at(&home, &args, "minutes.after_commit");
        whole(Some(true));
    }
    // a re-run finds the meeting complete and changes nothing
    let (again, _, err) = lodestar(&home, &args);
    assert!(!again && err.contains("already imported"), "{err}");
    whole(Some(true));
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn search_docs(home: &Path, q: &str) -> Vec<String> {
    let r = json(&ok(home, &["search", q, "--k", "20", "--json"]));
    r["hits"].as_array().unwrap().iter().map(|h| h["doc"].as_str().unwrap().to_string()).collect()
}

fn knowledge() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../knowledge")
}

/// One single-chunk document in two versions that differ in one word: the update replaces its one
/// chunk, so BM25 keeps the same number of entries — the case a count check cannot see.
const NOTE_V1: &str = "---\nkb: policy\ntitle: 崩溃测试说明\nsensitivity: 内部\n---\n# 崩溃测试说明\n冬季胎样品寄送由 zyxamber 小组负责。\n";
const NOTE_V2: &str = "---\nkb: policy\ntitle: 崩溃测试说明\nsensitivity: 内部\n---\n# 崩溃测试说明\n冬季胎样品寄送由 zyxjade 小组负责。\n";

#[test]
fn kb_add_killed_keeps_catalogue_and_search_index_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, home) = (dir.path().join("reference"), dir.path().join("home"));
    let extra = dir.path().join("extra");
    let kdir = knowledge();
    let kn = kdir.to_str().unwrap();
    let ex = extra.to_str().unwrap();

    let full = timed(&reference, &["kb", "add", kn]);
    for frac in [0.3, 0.6, 0.9] {
        kill_after(&home, &["kb", "add", kn], full.mul_f64(frac));
        let (fine, rep) = doctor(&home, true);
        assert!(fine, "doctor left a problem after a kill: {rep:#}");
        let (fine, rep) = doctor(&home, false);
        assert!(fine, "{rep:#}");
    }
    ok(&home, &["kb", "add", kn]);

    // an update killed between the BM25 commit and the catalogue save
    write(&extra, "policy/crash-note.md", NOTE_V1);
    ok(&home, &["kb", "add", ex]);
    assert_eq!(search_docs(&home, "zyxamber"), vec!["policy/crash-note.md"]);
    write(&extra, "policy/crash-note.md", NOTE_V2);
    kill_at(&home, &["kb", "add", ex], "index.after_bm25_commit");
    let (fine, rep) = doctor(&home, false);
    assert!(!fine, "the doctor must see the interrupted save: {rep:#}");
    let ix = check(&rep, "index");
    assert!(ix["found"].to_string().contains("BM25 commit"), "{ix}");
    // a reader opening the index sees the catalogue's version, searchable (before the commit
    // token, BM25 held only the new chunk and the document could not be found at all)
    assert_eq!(search_docs(&home, "zyxamber"), vec!["policy/crash-note.md"]);
    assert!(search_docs(&home, "zyxjade").is_empty());
    let (fine, rep) = doctor(&home, false);
    assert!(fine, "opening the index repaired it: {rep:#}");

    // the same with the doctor repairing, and at the later points
    kill_at(&home, &["kb", "add", ex], "index.after_bm25_commit");
    let (fine, rep) = doctor(&home, true);
    assert!(fine, "{rep:#}");
    assert!(check(&rep, "index")["repairs"].to_string().contains("rebuilt BM25"), "{rep:#}");
    kill_at(&home, &["kb", "add", ex], "index.after_vectors_saved");
    let (fine, rep) = doctor(&home, true);
    assert!(fine, "{rep:#}");
    kill_at(&home, &["kb", "add", ex], "index.after_catalog_saved");
    let (fine, rep) = doctor(&home, false);
    assert!(fine, "a finished save needs no repair: {rep:#}");
    assert_eq!(search_docs(&home, "zyxjade"), vec!["policy/crash-note.md"]);
    assert!(search_docs(&home, "zyxamber").is_empty());

    // a leftover temp file of an interrupted save is reported and removed
    std::fs::write(home.join("index").join("catalog.json.tmp"), b"{").unwrap();
    let (fine, rep) = doctor(&home, false);
    assert!(!fine, "{rep:#}");
    let (fine, rep) = doctor(&home, true);
    assert!(fine && check(&rep, "index")["status"] == "repaired", "{rep:#}");

    // the re-run completes the job: same documents and chunks as a run never killed
    ok(&home, &["kb", "add", kn, ex]);
    ok(&reference, &["kb", "add", ex]);
    let (fine, rep) = doctor(&home, false);
    assert!(fine, "{rep:#}");
    assert_eq!(json(&ok(&home, &["kb", "list", "--json"])), json(&ok(&reference, &["kb", "list", "--json"])));
    let stats = |h: &Path| {
        let s = json(&ok(h, &["index", "stats", "--json"]));
        (s["documents"].clone(), s["chunks"].clone(), s["bm25_docs"].clone())
    };
    assert_eq!(stats(&home), stats(&reference));
    // BM25 rebuilt on both (no deleted entries weighing on the statistics): the same answers
    ok(&home, &["index", "build"]);
    ok(&reference, &["index", "build"]);
    for q in ["11R22.5 适合哪些矿山工况", "质保政策"] {
        assert_eq!(search_docs(&home, q), search_docs(&reference, q), "{q}");
    }
}

#[test]
fn doctor_reports_a_damaged_database_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    ok(&home, &["user", "add", "viewer1", "--role", "viewer", "--clearance", "公开"]);
    let (fine, rep) = doctor(&home, true);
    assert!(fine, "{rep:#}");
    // a batch whose rows went missing (as if half of it had been written)
    let c = db(&home);
    c.execute_batch(
        "INSERT INTO import_batches(id, file_name, content_hash, imported_at, imported_by, rows_imported) VALUES (7, 'x.xlsx', 'h', '2026-10-01T00:00:00Z', 'test', 5);",
    )
    .unwrap();
    drop(c);
    let (fine, rep) = doctor(&home, true);
    assert!(!fine);
    let d = check(&rep, "database");
    assert_eq!(d["status"], "problem");
    assert!(d["remaining"].to_string().contains("batch 7 (x.xlsx) is not whole"), "{d}");
    assert!(d["hint"].as_str().unwrap().contains("lodestar restore"), "{d}");
}
