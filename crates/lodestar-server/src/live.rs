//! What the workspace's write routes change while the server answers: the rule engine's snapshot
//! (reloaded after an import or an undo) and the knowledge index (documents added and removed),
//! plus the home's folders.

use crate::error::ApiError;
use lodestar_core::{Principal, Role};
use lodestar_rag::adapters::{EngineSource, IndexRetriever};
use lodestar_rag::{MetricRequest, MetricTable, MetricsSource, RagError};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The rule engine behind the assistant, swapped for a fresh snapshot after every import.
#[derive(Default)]
pub struct SwapMetrics {
    inner: RwLock<Option<Arc<dyn MetricsSource>>>,
}

impl SwapMetrics {
    /// A holder of `inner` (`None`: no rule engine yet).
    pub fn new(inner: Option<Arc<dyn MetricsSource>>) -> Self {
        Self { inner: RwLock::new(inner) }
    }
    fn current(&self) -> Option<Arc<dyn MetricsSource>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Replaces the snapshot (answers already running keep the one they started with).
    pub fn set(&self, m: Option<Arc<dyn MetricsSource>>) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = m;
    }
}

impl MetricsSource for SwapMetrics {
    fn latest_month(&self) -> Result<Option<lodestar_core::Month>, RagError> {
        match self.current() {
            Some(m) => m.latest_month(),
            None => Ok(None),
        }
    }
    fn earliest_month(&self) -> Result<Option<lodestar_core::Month>, RagError> {
        match self.current() {
            Some(m) => m.earliest_month(),
            None => Ok(None),
        }
    }
    fn run(&self, request: &MetricRequest, principal: &Principal) -> Result<MetricTable, RagError> {
        match self.current() {
            Some(m) => m.run(request, principal),
            None => Err(RagError::Source("还没有导入销售数据 (no sales data has been imported yet)".into())),
        }
    }
}

/// The home as the workspace routes see it.
pub struct Workspace {
    /// The home folder (`uploads/` is created in it).
    pub home: PathBuf,
    /// The knowledge index the assistant searches; `None` = knowledge uploads are refused.
    pub index: Option<Arc<IndexRetriever>>,
    /// The assistant's rule engine, reloaded after imports.
    pub metrics: Arc<SwapMetrics>,
    /// Largest upload in bytes (`serve --upload-limit-mb`, else `[limits] max_upload_bytes`). The
    /// other limits of the uploaded files (zip containers, sheets, minutes text, chunks) are
    /// `[limits]` of the server's config (`ServerOptions::config`).
    pub upload_limit: usize,
}

impl Workspace {
    /// Loads a fresh rule-engine snapshot from the home database into the assistant.
    pub fn reload_metrics(&self, state: &crate::AppState) -> Result<(), ApiError> {
        let store = state.store()?;
        let src: Option<Arc<dyn MetricsSource>> = if store.latest_sales_month()?.is_some() {
            Some(Arc::new(
                EngineSource::load(store, state.assistant.dicts.clone(), state.opts.config.clone())
                    .map_err(|e| ApiError::internal(format!("reloading the rule engine: {e}")))?,
            ))
        } else {
            None
        };
        self.metrics.set(src);
        Ok(())
    }
}

/// 403 unless the user has one of `roles`.
pub fn require(auth: &crate::auth::Auth, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&auth.user.role) {
        return Ok(());
    }
    let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Err(ApiError::forbidden(
        "role",
        format!("用户 {}（{}）无权{what}；需要角色 {}", auth.user.name, auth.user.role, allowed.join(" / ")),
    ))
}

/// The workspace of a server, or 503 when it was started without one (tests of the chat alone).
pub fn workspace(state: &crate::AppState) -> Result<&Workspace, ApiError> {
    state.workspace.get().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "no_workspace",
            "this server was started without a home workspace (uploads are off)",
        )
    })
}

/// Runs blocking work (SQLite, parsing, the rule engine) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(e.to_string()))?
}
