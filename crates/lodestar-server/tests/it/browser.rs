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
