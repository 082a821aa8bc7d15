//! End to end in headless Chromium (Debian packages `chromium` and `chromium-driver`, driven over
//! WebDriver): log in, ask a metric question and see the exact figure with its 口径 note, ask a
//! knowledge question and open a citation, press stop during a streamed answer, rate an answer.
//! The screenshots land in `target/web-chat-*.png` to be looked at. Skipped, saying why, where
//! Chromium or its driver is not installed.

use crate::support::*;
use base64::Engine;
use lodestar_core::{KbId, Role, Sensitivity};
use lodestar_rag::adapters::EngineSource;
use lodestar_rag::memory::MemoryRetriever;
use lodestar_rag::Assistant;
use lodestar_server::{AppState, ServerOptions};
use lodestar_store::Store;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SALES: &str = "月份,国家,客户,品类,规格,销量,销售额,币种\n\
2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,100,30000,USD\n\
2026-09,俄罗斯,阿尔泰运输,全钢,315/70R22.5,50,18000,USD\n\
2026-08,俄罗斯,西伯利亚物流,全钢,315/80R22.5,80,24000,USD\n";
const TARGETS: &str =
    "月份,国家,品类,目标销量,目标金额,币种\n2026-09,俄罗斯,全钢,160,50000,USD\n2026-08,俄罗斯,全钢,100,30000,USD\n";

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(bin)).find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    async fn start(driver: &Path, chromium: &Path, profile: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let t = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(t.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium.to_str().unwrap(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--user-data-dir={}", profile.display()), "--window-size=1280,900", "--lang=zh-CN"]
        }}}});
        let mut d = Driver { http, base, session: String::new(), child };
        let v = d.call("POST", "/session", caps).await;
        d.session = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        d
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"]["error"].is_string() {
            panic!("webdriver {method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({"url": url})).await;
    }
    async fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", json!({"using": "css selector", "value": css})).await;
        v[ELEMENT].as_str().unwrap().to_string()
    }
    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        let el = json!({ ELEMENT: e });
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", "args": [el]}),
        )
        .await;
        self.call("POST", &format!("/element/{e}/click"), json!({})).await;
    }
    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call("POST", &format!("/element/{e}/value"), json!({"text": text})).await;
    }
    async fn js(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", json!({"script": script, "args": []})).await
    }
    /// Polls `script` (which returns a value) until it is truthy.
    async fn wait_for(&self, what: &str, script: &str) -> Value {
        let t = Instant::now();
        loop {
            let v = self.js(script).await;
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            if t.elapsed() > Duration::from_secs(40) {
                let body = self.js("return document.body.innerText").await;
                panic!("timed out waiting for {what}; page text:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    async fn screenshot(&self, path: &Path) {
        let v = self.call("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
    async fn ask(&self, q: &str) {
        self.type_into("#question", q).await;
        self.click("#send").await;
    }
}

fn target_dir() -> PathBuf {
    let d = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_in_a_real_browser() {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        eprintln!("skipped: chat_in_a_real_browser needs the Debian packages chromium and chromium-driver (`apt-get install -y chromium chromium-driver`)");
        return;
    };
    // a home with imported exports (the real rule engine) and a user
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lodestar.db");
    let dicts = Arc::new(lodestar_dict::Dictionaries::builtin().unwrap());
    {
        let mut store = Store::open(&db).unwrap();
        for (name, text) in [("targets.csv", TARGETS), ("sales.csv", SALES)] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            lodestar_ingest::import_file(&mut store, &dicts, &p, &lodestar_ingest::ImportOptions::default()).unwrap();
        }
        let h = lodestar_store::accounts::hash_password("li-pass").unwrap();
        store.upsert_user("li", Role::Ops, Sensitivity::Sensitive, &[], Some(&h)).unwrap();
    }
    let metrics = EngineSource::load(Store::open(&db).unwrap(), dicts.clone(), Default::default()).unwrap();
    let mut kb = MemoryRetriever::new();
    kb.add_markdown("policy/warranty.md", WARRANTY, KbId::Policy);
    let model = FakeModel::new(&"全钢胎质保期为 36 个月，长途干线 15 万公里 [1]。".repeat(5), 12);
    let assistant = Assistant::new(dicts, Some(Arc::new(metrics)), Some(Arc::new(kb)), Some(model.clone()));
    let state = AppState::new(assistant, db.clone(), ServerOptions::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lodestar_server::serve(listener, state, async {
        let _ = stop_rx.await;
    }));

    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(&driver, &chromium, profile.path()).await;
    let shots = target_dir();
    d.goto(&url).await;
    d.wait_for(
        "the login form",
        "return document.querySelector('#login-form') && document.querySelector('#login-form').offsetParent !== null",
    )
    .await;
    d.type_into("#login-user", "li").await;
    d.type_into("#login-password", "li-pass").await;
    d.click("#login-submit").await;
    d.wait_for(
        "the chat",
        "return document.querySelector('#question') && document.querySelector('#question').offsetParent !== null",
    )
    .await;

    // a metric question: the exact figure and its 口径 note, as a table
    d.ask("俄罗斯 2026年9月全钢达成率和缺口？").await;
    let text = d
        .wait_for(
            "the metric answer",
            "const a = document.querySelectorAll('.answer .answer-body'); const t = a.length ? a[a.length-1].innerText : ''; return t.includes('口径') ? t : null",
        )
        .await;
    let text = text.as_str().unwrap();
    // 48,000 / 50,000 = 96.00 %; gap 2,000
    assert!(text.contains("96.00%") && text.contains("2,000.00"), "{text}");
    assert!(text.contains("达成率 = 实际 / 目标"), "{text}");
    // a ranking is a table
    d.ask("2026年9月俄罗斯各客户销售额排名").await;
    let table = d
        .wait_for(
            "the ranking table",
            "const t = document.querySelectorAll('.answer table'); return t.length ? t[t.length-1].innerText : null",
        )
        .await;
    let table = table.as_str().unwrap();
    // 西伯利亚物流 30,000 (rank 1), 阿尔泰运输 18,000 (rank 2)
    assert!(table.contains("30,000.00") && table.contains("18,000.00"), "{table}");
    assert_eq!(
        d.js("return document.querySelectorAll('.answer .needs-review').length").await,
        json!(0),
        "rule-engine text needs no review mark"
    );

    // a knowledge question: streamed, cited, marked for review; open the citation
    d.ask("全钢胎质保期是多久？").await;
    d.wait_for("the knowledge answer's citation", "return document.querySelectorAll('.answer .citation').length > 0")
        .await;
    assert_eq!(d.js("return document.querySelectorAll('.answer .needs-review').length").await, json!(1));
    d.click(".answer .citation").await;
    let panel = d
        .wait_for("the citation panel", "const p = document.querySelector('#citation-panel'); return p && !p.hidden && getComputedStyle(p).display !== 'none' && p.getBoundingClientRect().width > 0 ? p.innerText : null")
        .await;
    let panel = panel.as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await; // let the panel finish sliding in
    assert!(panel.contains("质保政策") && panel.contains("内部") && panel.contains("36 个月"), "{panel}");
    d.screenshot(&shots.join("web-chat-citation.png")).await;
    d.click("#citation-close").await;

    // stop during a streamed answer
    d.ask("全钢胎质保期是多久？").await;
    d.wait_for(
        "streamed text",
        "const p = document.querySelector('.answer.pending'); return p && p.innerText.includes('36')",
    )
    .await;
    d.click("#stop").await;
    d.wait_for("the stopped mark", "return document.querySelectorAll('.answer .stopped').length > 0").await;
    let t = Instant::now();
    while model.cancelled.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(t.elapsed() < Duration::from_secs(5), "the server did not stop generating");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // rate the first answer
    d.click(".answer .rate-up").await;
    d.wait_for("the rating", "return document.querySelectorAll('.answer .rate-up.selected').length > 0").await;
    let t = Instant::now();
    loop {
        let store = Store::open(&db).unwrap();
        if lodestar_server::db::feedback_stats(&store, None).unwrap().up == 1 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "feedback not stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.js("window.scrollTo(0, 0); const m = document.querySelector('#messages'); if (m) m.scrollTop = 0;").await;
    d.screenshot(&shots.join("web-chat.png")).await;
    eprintln!("screenshots: {}", shots.join("web-chat*.png").display());
    d.call("DELETE", "", Value::Null).await;
    drop(d);
    let _ = stop_tx.send(());
    let _ = server.await;
}

/// A messy export: a title row above the header, thousands separators, and one row whose 销售额
/// is text (quarantined, Excel row 6).
fn messy_workbook(path: &Path) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("9月明细").unwrap();
    ws.write(0, 0, "北部战区 2026 年 9 月销售明细（导出）").unwrap();
    let rows: [[&str; 8]; 5] = [
        ["月份", "国家", "客户", "品类", "规格", "销量", "销售额", "币种"],
        ["2026-09", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "100", "30,000.00", "USD"],
        ["2026-09", "俄罗斯", "阿尔泰运输", "全钢", "315/70R22.5", "50", "18,000.00", "USD"],
        ["2026-09", "哈萨克斯坦", "阿拉木图轮胎之家", "半钢", "205/55R16", "40", "6,000.00", "USD"],
        ["2026-09", "哈萨克斯坦", "阿拉木图轮胎之家", "半钢", "205/55R16", "10", "待确认", "USD"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

const MINUTES: &str = "# 北部战区 2026 年 9 月经营分析会纪要\n\n## 行动项\n\
1. 西伯利亚物流 12 万美元尾款催收，9 月 15 日前到账。责任人：张伟；完成时限：2026-09-15。\n\
2. 伏尔加卡车服务 3 个柜 9 月船期订舱确认。责任人：孙晓东；完成时限：9 月 12 日。\n\
3. 卡拉干达煤炭服务 40.00R57 试用数据汇总，形成技术报告。责任人：韩磊；完成时限：9 月底。\n";

/// Sets a form field's value the way a person's input would, and fires its events.
fn set_value(css: &str, v: &str) -> String {
    format!(
        "const e = document.querySelector('{css}'); e.value = '{v}'; e.dispatchEvent(new Event('input', {{bubbles: true}})); e.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_in_a_real_browser() {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        eprintln!("skipped: workspace_in_a_real_browser needs the Debian packages chromium and chromium-driver (`apt-get install -y chromium chromium-driver`)");
        return;
    };
    // a home with targets only: the sales arrive through the browser
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lodestar.db");
    let dicts = Arc::new(lodestar_dict::Dictionaries::builtin().unwrap());
    {
        let mut store = Store::open(&db).unwrap();
        let p = dir.path().join("targets.csv");
        std::fs::write(&p, TARGETS).unwrap();
        lodestar_ingest::import_file(&mut store, &dicts, &p, &lodestar_ingest::ImportOptions::default()).unwrap();
        let h = lodestar_store::accounts::hash_password("li-pass").unwrap();
        store.upsert_user("li", Role::Ops, Sensitivity::Sensitive, &[], Some(&h)).unwrap();
    }
    let live = Arc::new(lodestar_server::live::SwapMetrics::new(None));
    let ix = lodestar_index::KnowledgeIndex::open(&dir.path().join("index"), &dicts, None).unwrap();
    let assistant = Assistant::new(dicts, Some(live.clone()), None, None);
    let state = AppState::new(assistant, db.clone(), ServerOptions::default()).unwrap();
    let _ = state.workspace.set(lodestar_server::live::Workspace {
        home: dir.path().to_path_buf(),
        index: Some(Arc::new(lodestar_rag::adapters::IndexRetriever::new(ix))),
        metrics: live,
        upload_limit: lodestar_server::uploads::DEFAULT_UPLOAD_LIMIT,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lodestar_server::serve(listener, state, async {
        let _ = stop_rx.await;
    }));
    let files = tempfile::tempdir().unwrap();
    let workbook = files.path().join("九月销售导出.xlsx");
    messy_workbook(&workbook);
    let minutes = files.path().join("2026-09-07-经营分析会.md");
    std::fs::write(&minutes, MINUTES).unwrap();

    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(&driver, &chromium, profile.path()).await;
    let shots = target_dir();
    let visible = |css: &str| {
        format!("const e = document.querySelector('{css}'); return e && e.offsetParent !== null && !e.disabled")
    };

    // log in on the import page
    d.goto(&format!("{url}/import")).await;
    d.wait_for("the login form", &visible("#login-form")).await;
    d.type_into("#login-user", "li").await;
    d.type_into("#login-password", "li-pass").await;
    d.click("#login-submit").await;
    d.wait_for("the import form", &visible("#import-file")).await;

    // 1. upload the messy workbook: the report and the quarantined row
    d.type_into("#import-file", workbook.to_str().unwrap()).await;
    d.click("#import-submit").await;
    let report = d
        .wait_for("the import report", "const r = document.querySelector('#import-report'); return r && r.innerText.includes('9月明细') ? r.innerText : null")
        .await;
    assert!(report.as_str().unwrap().contains('3'), "3 rows imported: {report}");
    let q = d
        .wait_for("the quarantined row", "const r = document.querySelectorAll('#quarantine-table tr.quarantine-row'); return r.length ? Array.from(r).map(x => x.innerText).join('\\n') : null")
        .await;
    let q = q.as_str().unwrap();
    assert!(q.contains("待确认") && q.contains('6'), "the bad 销售额 on Excel row 6: {q}");
    d.screenshot(&shots.join("ws-e2e-import.png")).await;

    // 2. the metrics page for that month: a figure from the table and from the chart's data
    d.goto(&format!("{url}/metrics")).await;
    d.wait_for("the metrics table", "return document.querySelector('#metrics-table tr.metrics-row[data-key=\"RU\"]')")
        .await;
    // Russia 30,000 + 18,000 = 48,000 against a target of 50,000 → 96.00 %
    let actual = d
        .js("return document.querySelector('#metrics-table tr.metrics-row[data-key=\"RU\"] td[data-field=\"actual\"]').innerText")
        .await;
    assert_eq!(actual.as_str().unwrap().trim(), "48,000.00");
    let bar = d
        .wait_for("the achievement bar", "const b = document.querySelector('#chart-achievement rect.bar[data-label=\"俄罗斯\"]'); return b ? b.getAttribute('data-value') : null")
        .await;
    assert!((bar.as_str().unwrap().parse::<f64>().unwrap() - 0.96).abs() < 1e-9, "{bar}");
    d.wait_for("the trend chart", "return document.querySelectorAll('#chart-trend circle.pt').length > 0").await;
    d.screenshot(&shots.join("ws-e2e-metrics.png")).await;

    // 3. minutes: upload, review, accept two of three items
    d.goto(&format!("{url}/minutes")).await;
    d.wait_for("the minutes form", &visible("#minutes-file")).await;
    d.type_into("#minutes-file", minutes.to_str().unwrap()).await;
    d.js(&set_value("#minutes-date", "2026-09-07")).await;
    d.click("#minutes-submit").await;
    d.wait_for("three extracted items", "return document.querySelectorAll('.minutes-item').length === 3").await;
    assert!(d.js("return document.querySelectorAll('.minutes-source-line').length").await.as_u64().unwrap() >= 5);
    d.js(
        "const c = document.querySelectorAll('.minutes-item .item-accept')[2]; if (c.checked) c.click(); return true;",
    )
    .await;
    d.screenshot(&shots.join("ws-e2e-minutes.png")).await;
    d.click("#minutes-commit").await;
    d.wait_for(
        "the stored result",
        "const r = document.querySelector('#minutes-result'); return r && r.innerText.trim().length > 0",
    )
    .await;
    {
        let mut store = Store::open(&db).unwrap();
        let ledger = lodestar_ledger::Ledger::open(&mut store).unwrap();
        let d2 = lodestar_dict::Dictionaries::builtin().unwrap();
        let items = ledger.list(&Default::default(), lodestar_ledger::today(), &d2).unwrap();
        assert_eq!(items.len(), 2, "only the accepted items entered the ledger");
        assert!(items.iter().all(|i| !i.description.contains("卡拉干达")));
    }

    // 4. the ledger: change a status inline, see it in the item's history, export
    d.goto(&format!("{url}/ledger")).await;
    d.wait_for("two ledger rows", "return document.querySelectorAll('#ledger-table tr.ledger-row').length === 2").await;
    d.js("const s = document.querySelector('#ledger-table tr.ledger-row .status-select'); s.value = '进行中'; s.dispatchEvent(new Event('change', {bubbles: true})); return true;").await;
    let id = d.js("return document.querySelector('#ledger-table tr.ledger-row').getAttribute('data-id')").await;
    let id: i64 = id.as_str().unwrap().parse().unwrap();
    let t = Instant::now();
    loop {
        let mut store = Store::open(&db).unwrap();
        let ledger = lodestar_ledger::Ledger::open(&mut store).unwrap();
        if ledger.get(id, None).unwrap().status == lodestar_ledger::Status::InProgress {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the status change did not reach the server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.click(&format!("#ledger-table tr.ledger-row[data-id=\"{id}\"] td")).await;
    d.wait_for("the history", "return Array.from(document.querySelectorAll('#ledger-history .history-entry')).some(e => e.innerText.includes('进行中'))").await;
    d.screenshot(&shots.join("ws-e2e-ledger.png")).await;
    let export = d
        .wait_for("the export", "const a = document.querySelector('#ledger-export'); if (!a) return null; if (!window.__x) { window.__x = 'pending'; fetch(a.href).then(r => r.arrayBuffer().then(b => { window.__x = r.status + ' ' + r.headers.get('content-type') + ' ' + b.byteLength; })); } return window.__x === 'pending' ? null : window.__x")
        .await;
    let export = export.as_str().unwrap();
    assert!(export.starts_with("200 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), "{export}");
    eprintln!("screenshots: {}", shots.join("ws-e2e-*.png").display());
    d.call("DELETE", "", Value::Null).await;
    drop(d);
    let _ = stop_tx.send(());
    let _ = server.await;
}
