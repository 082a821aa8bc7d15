use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use lodestar_core::{
    ChatMessage, FinishReason, GenParams, GenStats, Generation, Generator, KbId, ModelError, Role, Sensitivity,
};
use lodestar_rag::memory::MemoryRetriever;
use lodestar_rag::Assistant;
use lodestar_server::{AppState, ServerOptions};
use lodestar_store::Store;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

pub const WARRANTY: &str = "---\nkb: policy\ntitle: 质保政策\nsensitivity: 内部\n---\n# 质保政策\n## 全钢胎\n全钢胎质保期为 36 个月，长途干线 15 万公里。\n";
/// A sensitive document with distinctive strings that must never reach a 内部 user.
pub const SECRET: &str = "---\nkb: customer\ntitle: 西伯利亚物流信用评级内参\nsensitivity: 敏感\n---\n# 西伯利亚物流信用评级内参\n## 信用额度\n西伯利亚物流信用额度 ZX-4471 号批复为 880 万美元，付款条件 30% 预付。\n";

/// A slow chat model: writes `pieces` pieces `delay` apart, stops on cancel.
pub struct FakeModel {
    pub pieces: Vec<String>,
    pub delay: Duration,
    pub calls: AtomicUsize,
    pub cancelled: AtomicUsize,
}

impl FakeModel {
    pub fn new(text: &str, delay_ms: u64) -> Arc<Self> {
        Arc::new(Self {
            pieces: text.chars().map(|c| c.to_string()).collect(),
            delay: Duration::from_millis(delay_ms),
            calls: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
        })
    }
}

impl Generator for FakeModel {
    fn name(&self) -> &str {
        "fake"
    }
    fn context_length(&self) -> usize {
        8192
    }
    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        Ok(text.chars().count() / 2 + 1)
    }
    fn generate(
        &self,
        _messages: &[ChatMessage],
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut text = String::new();
        let mut finish = FinishReason::Stop;
        for p in &self.pieces {
            if params.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                finish = FinishReason::Cancelled;
                break;
            }
            std::thread::sleep(self.delay);
            text.push_str(p);
            if on_token(p).is_break() {
                finish = FinishReason::Cancelled;
                break;
            }
        }
        if finish == FinishReason::Cancelled {
            self.cancelled.fetch_add(1, Ordering::SeqCst);
        }
        let generated_tokens = text.chars().count();
        Ok(Generation {
            text,
            stats: GenStats {
                prompt_tokens: 10,
                cached_tokens: 0,
                generated_tokens,
                prefill_ms: 1.0,
                decode_ms: 1.0,
                finish,
            },
        })
    }
    /// The evidence judge (a local model reads it off its logits, without decoding): the sources
    /// answer. Not counted in `calls`, which counts answers.
    fn choose(&self, _messages: &[ChatMessage], options: &[&str]) -> Result<Vec<f32>, ModelError> {
        Ok((0..options.len()).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect())
    }
}

pub struct Harness {
    pub _dir: tempfile::TempDir,
    pub db: std::path::PathBuf,
    pub state: Arc<AppState>,
}

pub fn assistant(model: Option<Arc<FakeModel>>) -> Assistant {
    let dicts = Arc::new(lodestar_dict::Dictionaries::builtin().unwrap());
    let mut kb = MemoryRetriever::new();
    kb.add_markdown("policy/warranty.md", WARRANTY, KbId::Policy);
    kb.add_markdown("customer/sibir-credit.md", SECRET, KbId::Customer);
    let generator: Option<Arc<dyn Generator>> = model.map(|m| m as Arc<dyn Generator>);
    Assistant::new(dicts, None, Some(Arc::new(kb)), generator)
}

/// A home with accounts `li` (ops, 敏感), `intern` (viewer, 内部) and `wang` (sales, 内部).
pub fn harness(model: Option<Arc<FakeModel>>, opts: ServerOptions) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lodestar.db");
    let store = Store::open(&db).unwrap();
    for (name, role, clearance, pw) in [
        ("li", Role::Ops, Sensitivity::Sensitive, "li-pass"),
        ("intern", Role::Viewer, Sensitivity::Internal, "intern-pass"),
        ("wang", Role::Sales, Sensitivity::Internal, "wang-pass"),
    ] {
        let h = lodestar_store::accounts::hash_password(pw).unwrap();
        store.upsert_user(name, role, clearance, &[], Some(&h)).unwrap();
    }
    let state = AppState::new(assistant(model), db.clone(), opts).unwrap();
    Harness { _dir: dir, db, state }
}

/// A logged-in client: cookie and CSRF token.
#[derive(Clone)]
pub struct Client {
    pub cookie: String,
    pub csrf: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Harness {
    pub fn app(&self) -> axum::Router {
        lodestar_server::router(self.state.clone())
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let r = self.app().oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn login_reply(&self, user: &str, pw: &str) -> Reply {
        let req = Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::json!({"username": user, "password": pw}).to_string()))
            .unwrap();
        self.send(req).await
    }

    pub async fn login(&self, user: &str, pw: &str) -> Client {
        let r = self.login_reply(user, pw).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
        Client { cookie, csrf: r.json()["csrf_token"].as_str().unwrap().to_string() }
    }

    pub fn post(&self, c: &Client, path: &str, body: serde_json::Value) -> Request<Body> {
        Request::post(path)
            .header(header::COOKIE, &c.cookie)
            .header("x-csrf-token", &c.csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    pub fn get(&self, c: &Client, path: &str) -> Request<Body> {
        Request::get(path).header(header::COOKIE, &c.cookie).body(Body::empty()).unwrap()
    }

    pub fn ask_stream_req(&self, c: &Client, body: serde_json::Value) -> Request<Body> {
        let mut r = self.post(c, "/api/ask", body);
        r.headers_mut().insert(header::ACCEPT, "text/event-stream".parse().unwrap());
        r
    }

    /// Opens an answer stream.
    pub async fn open_stream(&self, c: &Client, question: &str) -> Stream {
        let r = self.app().oneshot(self.ask_stream_req(c, serde_json::json!({"question": question}))).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        Stream { body: r.into_body(), buf: String::new() }
    }

    /// Asks and reads the whole stream.
    pub async fn ask_events(&self, c: &Client, body: serde_json::Value) -> Vec<(String, serde_json::Value)> {
        let r = self.app().oneshot(self.ask_stream_req(c, body)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let mut s = Stream { body: r.into_body(), buf: String::new() };
        let mut out = Vec::new();
        while let Some(e) = s.next().await {
            out.push(e);
        }
        out
    }

    pub fn audit_actions(&self) -> Vec<(String, String, serde_json::Value)> {
        let s = Store::open(&self.db).unwrap();
        let mut v: Vec<_> = s
            .audit_tail(10_000)
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, serde_json::from_str(e.detail.as_deref().unwrap_or("null")).unwrap()))
            .collect();
        v.reverse();
        v
    }
}

/// An SSE response body read event by event.
pub struct Stream {
    pub body: Body,
    pub buf: String,
}

impl Stream {
    /// The next event (name, JSON data); `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<(String, serde_json::Value)> {
        loop {
            let mut evs = lodestar_server::bench::take_events(&mut self.buf);
            if !evs.is_empty() {
                let (name, data) = evs.remove(0);
                // put back what was parsed beyond the first event
                let rest: String = evs.iter().map(|(n, d)| format!("event: {n}\ndata: {d}\n\n")).collect();
                self.buf = format!("{rest}{}", self.buf);
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let frame =
                tokio::time::timeout(Duration::from_secs(30), self.body.frame()).await.expect("stream stalled")?;
            let frame = frame.unwrap();
            if let Ok(d) = frame.into_data() {
                self.buf.push_str(&String::from_utf8_lossy(&d));
            }
        }
    }

    /// Reads until an event named `name`.
    pub async fn until(&mut self, name: &str) -> serde_json::Value {
        while let Some((n, d)) = self.next().await {
            if n == name {
                return d;
            }
        }
        panic!("stream ended before `{name}`");
    }
}

pub fn names(events: &[(String, serde_json::Value)]) -> Vec<&str> {
    let mut v: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    v.dedup();
    v
}
