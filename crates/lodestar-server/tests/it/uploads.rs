//! The workspace's write routes: Excel import with its report, quarantine and undo; minutes that
//! a person reviews before anything enters the ledger; ledger changes with history; knowledge
//! documents indexed in the background; admin pages; upload safety (size, type by content, zip
//! bombs); role checks.

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use lodestar_rag::MetricsSource;
use lodestar_server::live::{SwapMetrics, Workspace};
use lodestar_server::ServerOptions;
use std::io::Write;
use std::sync::Arc;

/// Two good rows and one whose 销售额 is not a number (quarantined, row 4 as Excel counts).
const SALES: &str = "月份,国家,客户,品类,规格,销量,销售额,币种\n\
2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,100,30000,USD\n\
2026-09,俄罗斯,阿尔泰运输,全钢,315/70R22.5,50,18000,USD\n\
2026-09,哈萨克斯坦,阿拉木图轮胎之家,半钢,205/55R16,40,约六千,USD\n";

const MINUTES: &str = "# 北部战区 2026 年 9 月经营分析会纪要\n\n## 行动项\n\
1. 西伯利亚物流 12 万美元尾款催收，9 月 15 日前到账。责任人：张伟；完成时限：2026-09-15。\n\
2. 伏尔加卡车服务 3 个柜 9 月船期订舱确认。责任人：孙晓东；完成时限：9 月 12 日。\n\
3. 卡拉干达煤炭服务 40.00R57 试用数据汇总，形成技术报告。责任人：韩磊；完成时限：9 月底。\n";

struct Home {
    h: Harness,
    home: tempfile::TempDir,
    metrics: Arc<SwapMetrics>,
}

/// A harness whose server has a workspace: a home folder, an empty knowledge index, the live rule
/// engine, and an upload limit of `limit` bytes. Adds an admin `root`.
fn home(limit: usize) -> Home {
    home_with(limit, ServerOptions::default())
}

/// [`home`] with the server's options (its config's `[limits]`).
fn home_with(limit: usize, opts: ServerOptions) -> Home {
    let h = harness(None, opts);
    let store = lodestar_store::Store::open(&h.db).unwrap();
    let pw = lodestar_store::accounts::hash_password("root-pass").unwrap();
    store.upsert_user("root", lodestar_core::Role::Admin, lodestar_core::Sensitivity::Secret, &[], Some(&pw)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let dicts = lodestar_dict::Dictionaries::builtin().unwrap();
    let ix = lodestar_index::KnowledgeIndex::open(&home.path().join("index"), &dicts, None).unwrap();
    let metrics = Arc::new(SwapMetrics::new(None));
    let ws = Workspace {
        home: home.path().to_path_buf(),
        index: Some(Arc::new(lodestar_rag::adapters::IndexRetriever::new(ix))),
        metrics: metrics.clone(),
        upload_limit: limit,
    };
    assert!(h.state.workspace.set(ws).is_ok());
    Home { h, home, metrics }
}

fn multipart(c: &Client, path: &str, file: (&str, &[u8]), fields: &[(&str, &str)]) -> Request<Body> {
    let boundary = "----lodestar-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").unwrap();
    }
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        file.0
    )
    .unwrap();
    body.extend_from_slice(file.1);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    Request::post(path)
        .header(header::COOKIE, &c.cookie)
        .header("x-csrf-token", &c.csrf)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap()
}

/// Files stored under `<home>/uploads/<area>/`.
fn stored(home: &std::path::Path, area: &str) -> usize {
    fn walk(p: &std::path::Path, n: &mut usize) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), n)
                } else {
                    *n += 1
                }
            }
        }
    }
    let mut n = 0;
    walk(&home.join("uploads").join(area), &mut n);
    n
}

/// A zip archive of (name, bytes) entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (n, b) in entries {
        w.start_file(*n, o).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn an_import_reports_like_the_cli_quarantines_reloads_the_chat_and_can_be_undone() {
    let w = home(1024 * 1024);
    let h = &w.h;
    let ops = h.login("li", "li-pass").await;
    let r = h.send(multipart(&ops, "/api/import", ("九月销售.csv", SALES.as_bytes()), &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    // the same report as `lodestar import 九月销售.csv --json` on a fresh home
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("九月销售.csv");
    std::fs::write(&p, SALES).unwrap();
    let mut fresh = lodestar_store::Store::open(&dir.path().join("db")).unwrap();
    let dicts = lodestar_dict::Dictionaries::builtin().unwrap();
    let opts = lodestar_ingest::ImportOptions { actor: "li".into(), ..Default::default() };
    let cli = lodestar_ingest::import_file(&mut fresh, &dicts, &p, &opts).unwrap();
    assert_eq!(v, serde_json::to_value(&cli).unwrap());
    assert_eq!((v["imported"].as_u64(), v["quarantined"].as_u64()), (Some(2), Some(1)));

    // the quarantined row: file, sheet, Excel row 4, the 销售额 column, the raw value, the reason
    let q = h.send(h.get(&ops, &format!("/api/quarantine?batch={}", v["batch_id"]))).await.json();
    assert_eq!(q.as_array().unwrap().len(), 1, "{q}");
    assert_eq!(q[0]["row"], 4);
    assert_eq!(q[0]["raw_value"], "约六千");
    assert_eq!(q[0]["reason"], "bad_number");
    assert_eq!(q[0]["file"], "九月销售.csv");

    // the chat's rule engine sees the new month without a restart
    assert_eq!(w.metrics.latest_month().unwrap().map(|m| m.to_string()), Some("2026-09".into()));
    // and the workspace's metrics page reads it: Russia 30,000 + 18,000
    let m = h.send(h.get(&ops, "/api/metrics?month=2026-09&by=country")).await.json();
    let ru = m["rows"].as_array().unwrap().iter().find(|r| r["scope"]["dims"][0]["code"] == "RU").unwrap().clone();
    assert_eq!(ru["actual"].as_str().unwrap().parse::<f64>().unwrap(), 48000.0);

    // viewer and sales may not import (nothing stored for them)
    let before = stored(w.home.path(), "import");
    for (u, pw) in [("intern", "intern-pass"), ("wang", "wang-pass")] {
        let c = h.login(u, pw).await;
        let r = h.send(multipart(&c, "/api/import", ("s.csv", SALES.as_bytes()), &[])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{u}: {}", r.body);
    }
    assert_eq!(stored(w.home.path(), "import"), before);

    // the batch list, then undo: the month is gone from the engine again
    let b = h.send(h.get(&ops, "/api/import")).await.json();
    assert_eq!(b[0]["rows_imported"], 2);
    let r = h.send(h.post(&ops, &format!("/api/import/{}/undo", v["batch_id"]), serde_json::json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["deleted"], 2);
    assert_eq!(w.metrics.latest_month().unwrap(), None);
    // every upload is in the audit log
    let store = lodestar_store::Store::open(&h.db).unwrap();
    assert!(store.audit_tail(50).unwrap().iter().any(|e| e.action == "upload" && e.actor == "li"));
}

#[tokio::test]
async fn oversize_mismatched_and_zip_bomb_uploads_are_refused_before_anything_is_stored() {
    let w = home(64 * 1024);
    let h = &w.h;
    let ops = h.login("li", "li-pass").await;
    // 413 with the JSON error shape
    let big = vec![b'a'; 100 * 1024];
    let r = h.send(multipart(&ops, "/api/import", ("big.csv", &big), &[])).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "upload_too_large");
    // text that calls itself a workbook: 415 naming what it really is
    let r = h.send(multipart(&ops, "/api/import", ("sales.xlsx", SALES.as_bytes()), &[])).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("plain text"), "{}", r.body);
    // a docx where a workbook was expected
    let docx = zip_of(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")]);
    let r = h.send(multipart(&ops, "/api/import", ("sales.xlsx", &docx), &[])).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    // 40 MB of zeros in one xlsx entry: about 40 KB on the wire, a ratio near 1000
    let zeros = vec![0u8; 40 * 1024 * 1024];
    let bomb = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("xl/workbook.xml", b"<workbook/>"),
        ("xl/worksheets/sheet1.xml", &zeros),
    ]);
    assert!(bomb.len() < 64 * 1024, "bomb is {} bytes", bomb.len());
    let r = h.send(multipart(&ops, "/api/import", ("bomb.xlsx", &bomb), &[])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "zip_bomb");
    // an extension that is not accepted at all
    let r = h.send(multipart(&ops, "/api/import", ("run.exe", b"MZ\x90\x00"), &[])).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // nothing was stored and no batch exists
    assert_eq!(stored(w.home.path(), "import"), 0);
    let store = lodestar_store::Store::open(&h.db).unwrap();
    assert!(store.list_batches().unwrap().is_empty());
    // a client path never becomes a server path
    let r = h
        .send(multipart(&ops, "/api/minutes", ("../../../escape.md", MINUTES.as_bytes()), &[("date", "2026-09-07")]))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["file"], "escape.md");
    assert!(!w.home.path().parent().unwrap().join("escape.md").exists());
    assert_eq!(stored(w.home.path(), "minutes"), 2, "the upload and its review record");
}

#[tokio::test]
async fn minutes_enter_the_ledger_only_as_reviewed_and_items_keep_their_history() {
    let w = home(1024 * 1024);
    let h = &w.h;
    let ops = h.login("li", "li-pass").await;
    let r = h
        .send(multipart(
            &ops,
            "/api/minutes",
            ("0907.md", MINUTES.as_bytes()),
            &[("date", "2026-09-07"), ("meeting", "经营分析会")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let preview = r.json();
    let items = preview["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{preview}");
    assert!(items.iter().all(|i| i.get("id").is_none()), "a preview stores nothing: {preview}");
    // the source lines come back, and each item points at its line
    let lines = preview["lines"].as_array().unwrap();
    let l0 = items[0]["line"].as_u64().unwrap() as usize;
    assert!(lines[l0 - 1].as_str().unwrap().contains("西伯利亚物流"));
    // nothing entered the ledger
    assert_eq!(h.send(h.get(&ops, "/api/ledger")).await.json(), serde_json::json!([]));

    // accept the first two, edit the second's owners (a supporting owner added), drop the third
    let mut second = items[1].clone();
    second["owners"] = serde_json::json!(["孙晓东", "黄晓静"]);
    second["description"] = serde_json::json!("伏尔加卡车服务 3 个柜 9 月船期订舱确认（含报关资料）");
    let upload = preview["upload_id"].as_str().unwrap().to_string();
    let r = h
        .send(h.post(&ops, &format!("/api/minutes/{upload}/commit"), serde_json::json!({"items": [items[0], second]})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rep = r.json();
    assert_eq!(rep["items"].as_array().unwrap().len(), 2);
    // committing twice is refused
    let again = h.send(h.post(&ops, &format!("/api/minutes/{upload}/commit"), serde_json::json!({"items": []}))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // the ledger list is `ledger list --json`
    let list = h.send(h.get(&ops, "/api/ledger")).await.json();
    let mut store = lodestar_store::Store::open(&h.db).unwrap();
    let dicts = lodestar_dict::Dictionaries::builtin().unwrap();
    {
        let ledger = lodestar_ledger::Ledger::open(&mut store).unwrap();
        let cli = ledger.list(&Default::default(), lodestar_ledger::today(), &dicts).unwrap();
        assert_eq!(list, serde_json::to_value(&cli).unwrap());
    }
    assert_eq!(list.as_array().unwrap().len(), 2);
    let edited = list.as_array().unwrap().iter().find(|i| i["description"].as_str().unwrap().contains("报关")).unwrap();
    assert_eq!(edited["owners"], serde_json::json!(["孙晓东", "黄晓静"]));
    assert_eq!(edited["owner_ids"].as_array().unwrap().len(), 2, "both names resolve to staff: {edited}");
    let id = edited["id"].as_i64().unwrap();

    // a status change and a note, then the history shows creation and both changes
    let r = h
        .send(h.post(&ops, &format!("/api/ledger/{id}"), serde_json::json!({"status": "进行中", "note": "已联系船司"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "进行中");
    let d = h.send(h.get(&ops, &format!("/api/ledger/{id}"))).await.json();
    let hist = d["history"].as_array().unwrap();
    assert!(hist.len() >= 2, "{d}");
    assert!(hist.iter().any(|e| e["to_status"] == "进行中" && e["note"] == "已联系船司" && e["who"] == "li"), "{d}");
    // filters and a bad status
    let f = h.send(h.get(&ops, "/api/ledger?status=%E8%BF%9B%E8%A1%8C%E4%B8%AD")).await.json();
    assert_eq!(f.as_array().unwrap().len(), 1);
    let r = h.send(h.post(&ops, &format!("/api/ledger/{id}"), serde_json::json!({"status": "maybe"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // a viewer reads but cannot change
    let viewer = h.login("intern", "intern-pass").await;
    let r = h.send(h.post(&viewer, &format!("/api/ledger/{id}"), serde_json::json!({"status": "已完成"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // review and export
    let rv = h.send(h.get(&ops, "/api/ledger/review?as_of=2026-09-20")).await;
    assert_eq!(rv.status, StatusCode::OK, "{}", rv.body);
    let x = h.send(h.get(&ops, "/api/ledger/export")).await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x.body.as_bytes().starts_with(b"PK"), "an xlsx archive");
    // the export follows the page's filters: only the item in progress, with its 协同人
    let app = h.app();
    let r = tower::ServiceExt::oneshot(app, h.get(&ops, "/api/ledger/export?status=%E8%BF%9B%E8%A1%8C%E4%B8%AD"))
        .await
        .unwrap();
    let bytes = http_body_util::BodyExt::collect(r.into_body()).await.unwrap().to_bytes();
    let mut wb: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut wb, lodestar_ledger::export::LEDGER_SHEET).unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 2, "header + the one item in progress: {rows:?}");
    assert!(rows[1][8].contains("报关"), "{rows:?}");
    assert_eq!(rows[1][10], "进行中");
}

#[tokio::test]
async fn knowledge_documents_index_in_the_background_and_stay_within_clearance() {
    let w = home(1024 * 1024);
    let h = &w.h;
    let ops = h.login("li", "li-pass").await;
    let doc = "# 乌拉尔矿业 决策链\n\n采购决策人为总经理，技术评估由矿山机动科负责，年度招标在 11 月。\n";
    let r = h
        .send(multipart(
            &ops,
            "/api/kb",
            ("ural-decision.md", doc.as_bytes()),
            &[("kb", "customer"), ("sensitivity", "敏感")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        last = h.send(h.get(&ops, &format!("/api/kb/jobs/{job}"))).await.json();
        if last["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(last["status"], "done", "{last}");
    assert_eq!(last["doc"], "customer/ural-decision.md");
    let listed = h.send(h.get(&ops, "/api/kb")).await.json();
    let d = listed.as_array().unwrap().iter().find(|d| d["doc"] == "customer/ural-decision.md").expect("listed");
    assert_eq!(d["sensitivity"], "敏感");
    assert!(d["chunks"].as_u64().unwrap() >= 1);
    // the chat searches it at once — as ops, not as a 内部 user
    let ix = h.state.workspace.get().unwrap().index.clone().unwrap();
    let hits = lodestar_rag::Retriever::search(
        &*ix,
        "乌拉尔矿业 决策人",
        &h.state.store().unwrap().principal(Some("li")).unwrap(),
        &[],
        3,
    )
    .unwrap();
    assert!(hits.iter().any(|x| x.doc == "customer/ural-decision.md"));
    let intern = h.login("intern", "intern-pass").await;
    let listed = h.send(h.get(&intern, "/api/kb")).await.json();
    assert!(listed.as_array().unwrap().iter().all(|d| d["doc"] != "customer/ural-decision.md"));
    // a viewer cannot delete; a delete of what one cannot see is a 404 for ops below 机密
    let r = h
        .send(
            Request::delete("/api/kb/customer/ural-decision.md")
                .header(header::COOKIE, &intern.cookie)
                .header("x-csrf-token", &intern.csrf)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // an upload above one's own clearance is refused
    let r = h
        .send(multipart(&ops, "/api/kb", ("x.md", b"# x\n\nsecret\n"), &[("kb", "customer"), ("sensitivity", "机密")]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .send(
            Request::delete("/api/kb/customer/ural-decision.md")
                .header(header::COOKIE, &ops.cookie)
                .header("x-csrf-token", &ops.csrf)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["removed"], serde_json::json!(["customer/ural-decision.md"]));
    assert!(h.send(h.get(&ops, "/api/kb")).await.json().as_array().unwrap().is_empty());
}

#[tokio::test]
async fn admin_pages_are_for_admins_and_account_changes_take_effect() {
    let w = home(1024 * 1024);
    let h = &w.h;
    let sales = h.login("wang", "wang-pass").await;
    for path in ["/api/users", "/api/audit", "/api/audit.csv", "/api/status"] {
        let r = h.send(h.get(&sales, path)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    let root = h.login("root", "root-pass").await;
    let r = h
        .send(h.post(&root, "/api/users", serde_json::json!({"name": "zhao", "password": "zhao-pass-1", "role": "sales", "clearance": "内部", "kbs": ["product"]})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["kbs"], serde_json::json!(["product"]));
    let zhao = h.login("zhao", "zhao-pass-1").await;
    // raising the clearance, then disabling: the session ends
    let r = h.send(h.post(&root, "/api/users/zhao", serde_json::json!({"clearance": "敏感"}))).await;
    assert_eq!(r.json()["clearance"], "敏感");
    let r = h.send(h.post(&root, "/api/users/zhao", serde_json::json!({"disabled": true}))).await;
    assert_eq!(r.json()["disabled"], true);
    assert_eq!(h.send(h.get(&zhao, "/api/me")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.login_reply("zhao", "zhao-pass-1").await.status, StatusCode::UNAUTHORIZED);
    // an admin cannot lock themself out
    let r = h.send(h.post(&root, "/api/users/root", serde_json::json!({"role": "viewer"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // the audit log, filtered, and as CSV
    let a = h.send(h.get(&root, "/api/audit?action=user_add")).await.json();
    assert_eq!(a.as_array().unwrap().len(), 1, "{a}");
    assert_eq!(a[0]["actor"], "root");
    let csv = h.send(h.get(&root, "/api/audit.csv?user=root")).await;
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.body.contains("user_add"));
    let s = h.send(h.get(&root, "/api/status")).await.json();
    assert!(s["index"]["chunks"].is_number(), "{s}");
}

/// Waits for a knowledge indexing job to finish; its last state.
async fn kb_job(h: &Harness, c: &Client, job: &str) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..400 {
        last = h.send(h.get(c, &format!("/api/kb/jobs/{job}"))).await.json();
        if last["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    last
}

#[tokio::test]
async fn uploads_are_held_to_the_configured_limits_not_the_defaults() {
    let mut opts = ServerOptions::default();
    opts.config.limits =
        lodestar_core::ReadLimits { max_minutes_bytes: 200, max_chunks: 2, max_zip_entries: 3, ..Default::default() };
    let w = home_with(1024 * 1024, opts);
    let h = &w.h;
    let ops = h.login("li", "li-pass").await;

    // minutes: MINUTES is well within the default 2 MiB but over the configured 200 bytes
    assert!(MINUTES.len() > 200);
    let r = h.send(multipart(&ops, "/api/minutes", ("0907.md", MINUTES.as_bytes()), &[("date", "2026-09-07")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("0907.md") && msg.contains(&format!("{} bytes", MINUTES.len())), "{msg}");
    assert!(msg.contains("over the limit of 200") && msg.contains("[limits] max_minutes_bytes"), "{msg}");
    assert_eq!(stored(w.home.path(), "minutes"), 0, "a refused upload is not kept");
    // a short one passes
    let short = "## 行动项\n1. 报关资料补齐。责任人：张伟。\n";
    let r = h.send(multipart(&ops, "/api/minutes", ("short.md", short.as_bytes()), &[("date", "2026-09-07")])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // knowledge: a document of four sections makes more chunks than the configured 2
    let doc =
        "# 政策\n\n## 一\n\n质保三年。\n\n## 二\n\n账期九十天。\n\n## 三\n\n运费到港。\n\n## 四\n\n返利季度结算。\n";
    let r = h.send(multipart(&ops, "/api/kb", ("policy.md", doc.as_bytes()), &[("kb", "policy")])).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    let last = kb_job(h, &ops, &job).await;
    assert_eq!(last["status"], "failed", "{last}");
    let err = last["error"].as_str().unwrap();
    assert!(
        err.contains("policy.md") && err.contains("over the limit of 2") && err.contains("[limits] max_chunks"),
        "{err}"
    );
    assert!(h.send(h.get(&ops, "/api/kb")).await.json().as_array().unwrap().is_empty());
    // one section fits
    let r =
        h.send(multipart(&ops, "/api/kb", ("one.md", "# 质保\n\n质保三年。\n".as_bytes()), &[("kb", "policy")])).await;
    let job = r.json()["job_id"].as_str().unwrap().to_string();
    assert_eq!(kb_job(h, &ops, &job).await["status"], "done");

    // zip containers: a .docx of four entries, over the configured 3 (the default is 10,000)
    let docx = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", b"<w:document/>"),
        ("word/styles.xml", b"<w:styles/>"),
        ("docProps/core.xml", b"<cp:coreProperties/>"),
    ]);
    let r = h.send(multipart(&ops, "/api/kb", ("four.docx", &docx), &[("kb", "policy")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("4 entries") && msg.contains("over the limit of 3") && msg.contains("max_zip_entries"),
        "{msg}"
    );
}
