//! `lodestar-server`: the intranet web chat and its JSON API (`lodestar serve`).
//!
//! One process holds the assistant (rule engine, index, chat model) and serves, as the logged-in
//! user, the same [`lodestar_rag::Assistant::ask`] the CLI uses — the server adds no second answer
//! path. Routes:
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the chat page (assets embedded in the binary) |
//! | `POST /api/login`, `POST /api/logout`, `GET /api/me` | sessions ([`auth`]) |
//! | `POST /api/ask`, `POST /api/ask/{message_id}/cancel` | answers, streamed as SSE ([`ask`]) |
//! | `GET/DELETE /api/conversations[/{id}]` | stored conversations ([`api`]) |
//! | `POST /api/feedback` | 👍/👎 on an answer (AI 输出可用率) |
//!
//! Generation runs behind a bounded [`queue::GenQueue`]; rule-engine answers never wait on it.
//!
//! ```no_run
//! # async fn f(assistant: lodestar_rag::Assistant) -> std::io::Result<()> {
//! use lodestar_server::{AppState, ServerOptions};
//! let state = AppState::new(assistant, "home/lodestar.db".into(), ServerOptions::default()).unwrap();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! lodestar_server::serve(listener, state, std::future::pending()).await
//! # }
//! ```

pub mod api;
pub mod ask;
pub mod auth;
pub mod bench;
pub mod data_api;
pub mod db;
pub mod error;
pub mod export;
pub mod ledger_api;
pub mod live;
pub mod metrics;
pub mod openai;
pub mod queue;
pub mod render;
pub mod uploads;
pub mod workspace;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use lodestar_rag::Assistant;
use lodestar_store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use error::ApiError;

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Concurrent generations (`--slots`; 1 on a CPU).
    pub slots: usize,
    /// Requests that may wait for a slot (`--queue`); more get 503.
    pub queue: usize,
    /// How long a login lasts.
    pub session_ttl_secs: i64,
    /// Mark the cookie `Secure` (behind a TLS proxy; also when `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// Token budget of sources + question in a knowledge prompt.
    pub prompt_budget: usize,
    /// Warnings shown under every answer (e.g. "no knowledge index yet").
    pub notes: Vec<String>,
    /// The home's config (alert thresholds, field sensitivities) for the workspace routes.
    pub config: lodestar_core::config::Config,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            slots: 1,
            queue: 32,
            session_ttl_secs: 12 * 3600,
            secure_cookies: false,
            prompt_budget: lodestar_rag::prompt::PROMPT_BUDGET,
            notes: Vec::new(),
            config: lodestar_core::config::Config::default(),
        }
    }
}

/// What every request shares.
pub struct AppState {
    /// The question-answering assistant (routing, retrieval, rule engine, chat model).
    pub assistant: Assistant,
    /// The embedding model for `/v1/embeddings` (none: that route answers 404).
    pub embedder: Option<Arc<dyn lodestar_core::Embedder>>,
    /// When the server started (unix seconds; `created` of `/v1/models`).
    pub started_unix: i64,
    /// Tokens generated through the API and the chat.
    pub tokens_generated: std::sync::atomic::AtomicU64,
    /// Requests by (route, status), for `/metrics`.
    pub request_counts: Mutex<std::collections::BTreeMap<(String, u16), u64>>,
    /// Time-to-first-token histogram of answers that ran the model (bucket upper bounds in s).
    pub ttft: Mutex<metrics::Histogram>,
    db_path: PathBuf,
    /// The server's settings.
    pub opts: ServerOptions,
    /// The generation queue: slots for the chat model and the requests waiting for one.
    pub queue: Arc<queue::GenQueue>,
    /// Failed-login counter per remote address.
    pub limiter: auth::LoginLimiter,
    running: Mutex<HashMap<i64, ask::Running>>,
    /// The home's workspace (uploads, live index and rule engine); unset = upload routes answer 503.
    pub workspace: std::sync::OnceLock<live::Workspace>,
    /// Knowledge indexing jobs started through `POST /api/kb`.
    pub kb_jobs: data_api::KbJobs,
}

impl AppState {
    /// Applies the server's migrations to the home database at `db_path`.
    pub fn new(
        assistant: Assistant,
        db_path: PathBuf,
        opts: ServerOptions,
    ) -> Result<Arc<Self>, lodestar_store::StoreError> {
        let mut store = Store::open(&db_path)?;
        db::migrate(&mut store)?;
        store.purge_expired_sessions()?;
        Ok(Arc::new(Self {
            assistant,
            embedder: None,
            started_unix: chrono::Utc::now().timestamp(),
            tokens_generated: Default::default(),
            request_counts: Mutex::new(Default::default()),
            ttft: Mutex::new(metrics::Histogram::default()),
            db_path,
            queue: queue::GenQueue::new(opts.slots, opts.queue),
            opts,
            limiter: auth::LoginLimiter::default(),
            running: Mutex::new(HashMap::new()),
            workspace: std::sync::OnceLock::new(),
            kb_jobs: Default::default(),
        }))
    }

    /// [`AppState::new`] with an embedding model for `/v1/embeddings`.
    pub fn with_embedder(
        assistant: Assistant,
        embedder: Option<Arc<dyn lodestar_core::Embedder>>,
        db_path: PathBuf,
        opts: ServerOptions,
    ) -> Result<Arc<Self>, lodestar_store::StoreError> {
        let s = Self::new(assistant, db_path, opts)?;
        Ok(match Arc::try_unwrap(s) {
            Ok(mut inner) => {
                inner.embedder = embedder;
                Arc::new(inner)
            }
            Err(shared) => shared,
        })
    }

    /// Records a time to first token (milliseconds) in the `/metrics` histogram.
    pub fn observe_ttft(&self, ms: Option<f64>) {
        if let Some(ms) = ms {
            self.ttft.lock().unwrap_or_else(|e| e.into_inner()).observe(ms / 1000.0);
        }
    }

    /// A connection to the home database (SQLite in WAL mode: readers and one writer at a time).
    pub fn store(&self) -> Result<Store, ApiError> {
        Ok(Store::open(&self.db_path)?)
    }

    fn running_map(&self) -> std::sync::MutexGuard<'_, HashMap<i64, ask::Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn running_insert(&self, id: i64, r: ask::Running) {
        self.running_map().insert(id, r);
    }
    pub(crate) fn running_remove(&self, id: i64) {
        self.running_map().remove(&id);
    }
    pub(crate) fn running_get(&self, id: i64) -> Option<ask::Running> {
        self.running_map().get(&id).cloned()
    }
    /// Cancels every running answer (shutdown).
    pub fn cancel_all(&self) {
        for r in self.running_map().values() {
            r.cancel.cancel();
        }
    }
}

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const WORKSPACE_HTML: &str = include_str!("../assets/workspace.html");
const WORKSPACE_JS: &str = include_str!("../assets/workspace.js");
const WORKSPACE_CSS: &str = include_str!("../assets/workspace.css");

fn workspace_page() -> Response {
    asset("text/html; charset=utf-8", WORKSPACE_HTML)
}

/// `GET /metrics`: the metrics page to a browser (`Accept: text/html`), Prometheus text otherwise.
async fn metrics_page_or_prometheus(
    state: axum::extract::State<Arc<AppState>>,
    req: axum::extract::Request,
) -> Response {
    let html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.split(',').any(|t| t.trim().starts_with("text/html")));
    if html {
        workspace_page()
    } else {
        metrics::metrics(state, req).await.into_response()
    }
}

/// The Content-Security-Policy of every response: nothing but this origin, no inline code.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn security_headers(r: Response) -> Response {
    // a body over the limit gets the JSON error shape too
    let mut r = if r.status() == StatusCode::PAYLOAD_TOO_LARGE
        && !r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"))
    {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            format!("request body over the limit of {} bytes", BODY_LIMIT),
        )
        .into_response()
    } else {
        r
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

/// Largest request body accepted (bytes); more is answered 413 with a JSON error.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The upload routes, with their own body limit (the rest of the API keeps [`BODY_LIMIT`]).
fn uploads_router(limit: usize) -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/import", post(data_api::import))
        .route("/api/minutes", post(ledger_api::upload_minutes))
        .route("/api/kb", post(data_api::kb_add))
        // multipart framing on top of the file itself
        .layer(axum::extract::DefaultBodyLimit::max(limit.saturating_add(64 * 1024)))
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let upload_limit = state.workspace.get().map(|w| w.upload_limit).unwrap_or(uploads::DEFAULT_UPLOAD_LIMIT);
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route("/api/ask", post(ask::ask))
        .route("/api/ask/{message_id}/cancel", post(ask::cancel))
        .route("/api/conversations", get(api::list))
        .route("/api/conversations/{id}", get(api::get).delete(api::delete))
        .route("/api/feedback", post(api::feedback))
        .route("/api/queue", get(queue_status))
        .route("/api/metrics", get(workspace::metrics))
        .route("/api/metrics/trend", get(workspace::trend))
        .route("/api/metrics/export", get(workspace::export))
        .route("/api/alerts", get(workspace::alerts))
        .route("/api/ledger", get(ledger_api::list))
        .route("/api/ledger/review", get(ledger_api::review))
        .route("/api/ledger/meetings", get(ledger_api::meetings))
        .route("/api/ledger/meetings/{id}/updates", get(ledger_api::meeting_updates))
        .route("/api/ledger/updates/{update_id}/apply", post(ledger_api::apply_update))
        .route("/api/ledger/export", get(ledger_api::export))
        .route("/api/ledger/tags", get(ledger_api::tags))
        .route("/api/ledger/{id}", get(ledger_api::item).post(ledger_api::update))
        .route("/api/minutes/{upload_id}/commit", post(ledger_api::commit_minutes))
        .route("/api/import", get(data_api::batches))
        .route("/api/import/{batch}/undo", post(data_api::undo))
        .route("/api/quarantine", get(data_api::quarantine))
        .route("/api/kb", get(data_api::kb_list))
        .route("/api/kb/jobs/{id}", get(data_api::kb_job))
        .route("/api/kb/{*doc}", axum::routing::delete(data_api::kb_delete))
        .route("/api/users", get(data_api::users).post(data_api::user_add))
        .route("/api/users/{name}", post(data_api::user_change))
        .route("/api/audit", get(data_api::audit))
        .route("/api/audit.csv", get(data_api::audit_csv))
        .route("/api/feedback/stats", get(data_api::feedback_stats))
        .route("/api/status", get(data_api::status))
        .route("/alerts", get(|| async { workspace_page() }))
        .route("/ledger", get(|| async { workspace_page() }))
        .route("/minutes", get(|| async { workspace_page() }))
        .route("/import", get(|| async { workspace_page() }))
        .route("/kb", get(|| async { workspace_page() }))
        .route("/admin", get(|| async { workspace_page() }))
        .route("/assets/workspace.js", get(|| async { asset("text/javascript; charset=utf-8", WORKSPACE_JS) }))
        .route("/assets/workspace.css", get(|| async { asset("text/css; charset=utf-8", WORKSPACE_CSS) }))
        .merge(uploads_router(upload_limit))
        .route("/v1/models", get(openai::models))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/health", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route("/metrics", get(metrics_page_or_prometheus))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn queue_status(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    _auth: auth::Auth,
) -> axum::Json<queue::QueueStatus> {
    axum::Json(state.queue.status())
}

/// What answers while the model and the index load: `/health` → 503 `{"status":"loading"}`,
/// anything else → 503 with `Retry-After`.
pub fn loading_router() -> Router {
    let busy = || async {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "loading",
            "lodestar is loading the model; retry shortly",
        )
        .with_retry_after(5)
    };
    Router::new()
        .route(
            "/health",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "loading"}))) }),
        )
        .fallback(busy)
        .layer(axum::middleware::map_response(security_headers))
}

/// Serves [`loading_router`] until `ready` completes.
pub async fn serve_loading(
    listener: tokio::net::TcpListener,
    ready: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, loading_router()).with_graceful_shutdown(ready).await
}

/// Serves until `shutdown` completes; running answers are cancelled then.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let st = state.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            st.cancel_all();
        })
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
