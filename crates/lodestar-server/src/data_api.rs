//! Excel import (数据导入), knowledge documents (知识库) and administration (管理) in the browser:
//! the same library calls and JSON as `lodestar import`, `quarantine`, `kb`, `user`, `audit` and
//! `feedback`, with the role checks on the server.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::live::{blocking, require, workspace};
use crate::AppState;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lodestar_core::{KbId, Role, Sensitivity};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

type Params = BTreeMap<String, String>;

fn get<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
}

const IMPORTERS: &[Role] = &[Role::Admin, Role::Ops];
const ADMIN: &[Role] = &[Role::Admin];

fn json<T: serde::Serialize>(v: &T) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))?))
}

// ------------------------------------------------------------------------------ import

/// `POST /api/import` (multipart `file`, `kind`?, `append`?): `lodestar import --json`.
pub async fn import(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    mp: Multipart,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, IMPORTERS, "导入数据")?;
    let ws = workspace(&state)?;
    let up = crate::uploads::read(mp, ws.upload_limit).await?;
    let kind = match up.field("kind") {
        Some(k) => Some(
            k.parse::<lodestar_ingest::RecordKind>()
                .map_err(|e| ApiError::bad_request("invalid_kind", format!("kind `{k}`: {e}")))?,
        ),
        None => None,
    };
    let append = matches!(up.field("append"), Some("1" | "true" | "on" | "yes"));
    crate::uploads::check(&up, &["xlsx", "xlsm", "xls", "ods", "csv"], &(&state.opts.config.limits).into())?;
    let path = crate::uploads::store(&ws.home, "import", &up)?;
    let who = auth.user.name.clone();
    let st = state.clone();
    let name = up.name.clone();
    let size = up.bytes.len();
    drop(up);
    let rep = blocking(move || {
        let mut store = st.store()?;
        store.audit(&who, "upload", &serde_json::json!({"kind": "import", "file": name, "bytes": size}))?;
        let opts =
            lodestar_ingest::ImportOptions { kind, append, actor: who.clone(), limits: st.opts.config.limits.clone() };
        lodestar_ingest::import_file(&mut store, &st.assistant.dicts, &path, &opts).map_err(|e| {
            // the stored path is the server's business: name the user's file instead
            let msg = e.to_string().replace(&path.display().to_string(), &name);
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                "import_failed",
                format!("{msg}（文件未导入，没有写入任何数据）"),
            )
        })
    })
    .await?;
    if rep.imported > 0 || rep.replaced > 0 {
        let st = state.clone();
        blocking(move || workspace(&st)?.reload_metrics(&st)).await?;
    }
    json(&rep)
}

/// `GET /api/import`: `lodestar import list --json`.
pub async fn batches(State(state): State<Arc<AppState>>, _auth: Auth) -> Result<Json<serde_json::Value>, ApiError> {
    blocking(move || json(&state.store()?.list_batches()?)).await
}

/// `POST /api/import/{batch}/undo`: `lodestar import undo --json`.
pub async fn undo(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(batch): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, IMPORTERS, "撤销导入")?;
    let who = auth.user.name.clone();
    let st = state.clone();
    let r = blocking(move || {
        let mut store = st.store()?;
        store.undo_batch(batch, &who).map_err(|e| match e {
            lodestar_store::StoreError::Invalid(m) => {
                ApiError::new(StatusCode::CONFLICT, "invalid_request_error", "invalid", m)
            }
            other => other.into(),
        })
    })
    .await?;
    let st = state.clone();
    blocking(move || workspace(&st)?.reload_metrics(&st)).await?;
    json(&r)
}

/// `GET /api/quarantine?batch=`: `lodestar quarantine list --json`.
pub async fn quarantine(
    State(state): State<Arc<AppState>>,
    _auth: Auth,
    Query(p): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let batch = get(&p, "batch")
        .map(|b| b.parse::<i64>().map_err(|_| ApiError::bad_request("invalid_batch", "batch: a batch id")))
        .transpose()?;
    blocking(move || json(&state.store()?.quarantine_list(batch)?)).await
}

// ------------------------------------------------------------------------------ knowledge

/// A background indexing job of `POST /api/kb`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KbJob {
    /// Job id (returned by `POST /api/kb`, polled with `GET /api/kb/jobs/{id}`).
    pub id: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// `queued`, `reading`, `indexing`, `done`.
    pub stage: String,
    /// Stages finished so far (of `total`).
    pub done: usize,
    /// Stages in all (3).
    pub total: usize,
    /// Id of the document added, when done.
    pub doc: Option<String>,
    /// The add report of the index, when done.
    pub report: Option<serde_json::Value>,
    /// Why the job failed.
    pub error: Option<String>,
    /// The account that started the job (only it and administrators may see the job).
    #[serde(skip)]
    pub user: String,
}

/// Indexing jobs of this server run, by id.
#[derive(Default)]
pub struct KbJobs(Mutex<HashMap<String, KbJob>>);

impl KbJobs {
    fn set(&self, id: &str, f: impl FnOnce(&mut KbJob)) {
        if let Some(j) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id) {
            f(j);
        }
    }
}

/// `GET /api/kb`: the documents the user may see.
pub async fn kb_list(State(state): State<Arc<AppState>>, auth: Auth) -> Result<Json<serde_json::Value>, ApiError> {
    let ws = workspace(&state)?;
    let Some(ix) = ws.index.clone() else { return Ok(Json(serde_json::json!([]))) };
    let p = auth.principal();
    blocking(move || {
        let docs: Vec<lodestar_index::DocumentInfo> =
            ix.index().documents().into_iter().filter(|d| p.can_read(d.kb, d.sensitivity)).collect();
        json(&docs)
    })
    .await
}

/// `POST /api/kb` (multipart `file`, `kb`, `sensitivity`): 202 `{"job_id"}`; the document is read,
/// chunked, embedded and indexed in the background.
pub async fn kb_add(State(state): State<Arc<AppState>>, auth: Auth, mp: Multipart) -> Result<Response, ApiError> {
    require(&auth, IMPORTERS, "维护知识库")?;
    let ws = workspace(&state)?;
    let Some(ix) = ws.index.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "no_index",
            "this server has no knowledge index",
        ));
    };
    let up = crate::uploads::read(mp, ws.upload_limit).await?;
    let kb: KbId = up
        .field("kb")
        .ok_or_else(|| {
            ApiError::bad_request("no_kb", "choose a knowledge base (kb=product|customer|policy|meeting|ops)")
        })?
        .parse()
        .map_err(|e| ApiError::bad_request("invalid_kb", format!("{e}")))?;
    let sensitivity: Sensitivity = match up.field("sensitivity") {
        Some(s) => s.parse().map_err(|e| ApiError::bad_request("invalid_sensitivity", format!("{e}")))?,
        None => Sensitivity::Internal,
    };
    if sensitivity > auth.user.clearance {
        return Err(ApiError::forbidden("clearance", format!("不能上传高于自己权限（{}）的文档", auth.user.clearance)));
    }
    if !auth.principal().can_read_kb(kb) {
        return Err(ApiError::forbidden("kb", format!("没有知识库 {} 的权限", kb.id())));
    }
    crate::uploads::check(
        &up,
        &["md", "markdown", "txt", "docx", "xlsx", "xls", "ods", "pdf"],
        &(&state.opts.config.limits).into(),
    )?;
    let path = crate::uploads::store_in(&ws.home, "kb", Some(kb.id()), &up)?;
    let id = path
        .parent()
        .and_then(|p| p.parent())
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let job = KbJob {
        id: id.clone(),
        status: "running".into(),
        stage: "queued".into(),
        done: 0,
        total: 3,
        doc: None,
        report: None,
        error: None,
        user: auth.user.name.clone(),
    };
    state.kb_jobs.0.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), job);
    let st = state.clone();
    let who = auth.user.name.clone();
    let name = up.name.clone();
    let size = up.bytes.len();
    let jid = id.clone();
    tokio::task::spawn_blocking(move || {
        let jobs = &st.kb_jobs;
        if let Ok(store) = st.store() {
            let _ = store.audit(&who, "upload", &serde_json::json!({"kind": "kb", "file": name, "bytes": size, "kb": kb.id(), "sensitivity": sensitivity}));
        }
        jobs.set(&jid, |j| {
            j.stage = "indexing".into();
            j.done = 1;
        });
        let opts = lodestar_index::AddOptions { kb: Some(kb), sensitivity: Some(sensitivity) };
        let res = {
            let mut index = ix.index();
            // the documents are read, and cut into chunks, under the server's `[limits]`
            index.set_limits(st.opts.config.limits.clone());
            index.add_paths(std::slice::from_ref(&path), &opts)
        };
        match res {
            Ok(rep) if rep.skipped.is_empty() => {
                let doc = rep.docs.first().map(|d| d.doc.clone());
                if let Ok(store) = st.store() {
                    let _ = store.audit(&who, "kb_add", &serde_json::json!({"doc": doc, "chunks": rep.chunks_added}));
                }
                jobs.set(&jid, |j| {
                    j.status = "done".into();
                    j.stage = "done".into();
                    j.done = 3;
                    j.doc = doc;
                    j.report = serde_json::to_value(&rep).ok();
                });
            }
            Ok(rep) => {
                let why = rep.skipped.iter().map(|s| s.reason.clone()).collect::<Vec<_>>().join("; ");
                crate::uploads::discard(&path);
                jobs.set(&jid, |j| {
                    j.status = "failed".into();
                    j.stage = "done".into();
                    j.error =
                        Some(format!("`{name}` could not be read: {why}").replace(&path.display().to_string(), &name));
                });
            }
            Err(e) => {
                crate::uploads::discard(&path);
                jobs.set(&jid, |j| {
                    j.status = "failed".into();
                    j.stage = "done".into();
                    j.error = Some(e.to_string().replace(&path.display().to_string(), &name));
                });
            }
        }
    });
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({"job_id": id}))).into_response())
}

/// `GET /api/kb/jobs/{id}`.
pub async fn kb_job(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<KbJob>, ApiError> {
    let jobs = state.kb_jobs.0.lock().unwrap_or_else(|e| e.into_inner());
    match jobs.get(&id) {
        Some(j) if j.user == auth.user.name || auth.user.role == Role::Admin => Ok(Json(j.clone())),
        _ => Err(ApiError::not_found(format!("no indexing job `{id}`"))),
    }
}

/// `DELETE /api/kb/{*doc}`: `{"removed": [doc…]}`.
pub async fn kb_delete(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(doc): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, IMPORTERS, "维护知识库")?;
    let ws = workspace(&state)?;
    let Some(ix) = ws.index.clone() else { return Err(ApiError::not_found("no knowledge index")) };
    let p = auth.principal();
    let who = auth.user.name.clone();
    let st = state.clone();
    blocking(move || {
        let mut index = ix.index();
        // one document, by exact id, that the user may see (a folder prefix is the CLI's job)
        let Some(info) = index.documents().into_iter().find(|d| d.doc == doc) else {
            return Err(ApiError::not_found(format!("no document `{doc}`")));
        };
        if !p.can_read(info.kb, info.sensitivity) {
            return Err(ApiError::not_found(format!("no document `{doc}`")));
        }
        let removed = index.remove(&doc).map_err(|e| ApiError::internal(e.to_string()))?;
        drop(index);
        st.store()?.audit(&who, "kb_remove", &serde_json::json!({"removed": removed}))?;
        Ok(Json(serde_json::json!({"removed": removed})))
    })
    .await
}

// ------------------------------------------------------------------------------ admin

/// `GET /api/users`: every account with `disabled`.
pub async fn users(State(state): State<Arc<AppState>>, auth: Auth) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, ADMIN, "查看账号")?;
    blocking(move || {
        let rows = state.store()?.list_all_users()?;
        let v: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|(u, disabled)| {
                let mut v = serde_json::to_value(&u).unwrap_or_default();
                v["disabled"] = serde_json::json!(disabled);
                v
            })
            .collect();
        Ok(Json(serde_json::Value::Array(v)))
    })
    .await
}

/// Body of `POST /api/users` and `POST /api/users/{name}`.
#[derive(Debug, Deserialize)]
pub struct UserBody {
    /// Account name (required by `POST /api/users`; `POST /api/users/{name}` takes it from the path).
    pub name: Option<String>,
    /// New password (at least 8 characters; stored as an argon2 hash).
    pub password: Option<String>,
    /// Role (`admin`, `ops`, `sales`, `viewer`; 管理员 … also accepted).
    pub role: Option<String>,
    /// Clearance (公开 / 内部 / 敏感 / 机密).
    pub clearance: Option<String>,
    /// Granted knowledge bases (empty = all); absent keeps the current grant.
    pub kbs: Option<Vec<String>>,
    /// Disables (true) or re-enables (false) the account.
    pub disabled: Option<bool>,
}

fn save_user(
    state: &AppState,
    actor: &str,
    name: &str,
    b: UserBody,
    create: bool,
) -> Result<serde_json::Value, ApiError> {
    let store = state.store()?;
    let existing = store.list_all_users()?.into_iter().find(|(u, _)| u.name == name);
    if create && existing.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "exists",
            format!("account `{name}` exists"),
        ));
    }
    if !create && existing.is_none() {
        return Err(ApiError::not_found(format!("no account `{name}`")));
    }
    let cur = existing.as_ref().map(|(u, _)| u);
    let role: Role = match b.role.as_deref() {
        Some(r) => r.parse().map_err(|e| ApiError::bad_request("invalid_role", format!("{e}")))?,
        None => cur.map(|u| u.role).ok_or_else(|| ApiError::bad_request("no_role", "role is required"))?,
    };
    let clearance: Sensitivity = match b.clearance.as_deref() {
        Some(c) => c.parse().map_err(|e| ApiError::bad_request("invalid_clearance", format!("{e}")))?,
        None => {
            cur.map(|u| u.clearance).ok_or_else(|| ApiError::bad_request("no_clearance", "clearance is required"))?
        }
    };
    let kbs: Vec<KbId> = match &b.kbs {
        Some(k) => k
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse().map_err(|e| ApiError::bad_request("invalid_kb", format!("{e}"))))
            .collect::<Result<_, _>>()?,
        None => cur.map(|u| u.kbs.clone()).unwrap_or_default(),
    };
    let hash = match b.password.as_deref().filter(|p| !p.is_empty()) {
        Some(pw) if pw.chars().count() < 8 => {
            return Err(ApiError::bad_request("weak_password", "password: at least 8 characters"))
        }
        Some(pw) => Some(lodestar_store::accounts::hash_password(pw).map_err(|e| ApiError::internal(e.to_string()))?),
        None if create => return Err(ApiError::bad_request("no_password", "a new account needs a password")),
        None => None,
    };
    if name == actor && (role != Role::Admin || b.disabled == Some(true)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "self",
            "you cannot take admin away from, or disable, your own account",
        ));
    }
    store.upsert_user(name, role, clearance, &kbs, hash.as_deref())?;
    match b.disabled {
        Some(true) => {
            store.disable_user(name)?;
        }
        Some(false) => {
            store.enable_user(name)?;
        }
        None => {}
    }
    let kb_ids: Vec<&str> = kbs.iter().map(|k| k.id()).collect();
    store.audit(
        actor,
        if create { "user_add" } else { "user_change" },
        &serde_json::json!({"name": name, "role": role, "clearance": clearance, "kbs": kb_ids, "password_set": hash.is_some(), "disabled": b.disabled}),
    )?;
    let (u, disabled) = store
        .list_all_users()?
        .into_iter()
        .find(|(u, _)| u.name == name)
        .ok_or_else(|| ApiError::internal("account not found after saving"))?;
    let mut v = serde_json::to_value(&u).map_err(|e| ApiError::internal(e.to_string()))?;
    v["disabled"] = serde_json::json!(disabled);
    Ok(v)
}

/// `POST /api/users` `{"name","password","role","clearance","kbs"}`.
pub async fn user_add(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    body: Result<Json<UserBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, ADMIN, "管理账号")?;
    let Json(b) = body?;
    let name = b.name.clone().map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| ApiError::bad_request("no_name", "name is required"))?;
    if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(ApiError::bad_request("invalid_name", "name: letters, digits, _ - ."));
    }
    let actor = auth.user.name.clone();
    blocking(move || Ok(Json(save_user(&state, &actor, &name, b, true)?))).await
}

/// `POST /api/users/{name}` `{"role"?, "clearance"?, "kbs"?, "disabled"?, "password"?}`.
pub async fn user_change(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
    body: Result<Json<UserBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, ADMIN, "管理账号")?;
    let Json(b) = body?;
    let actor = auth.user.name.clone();
    blocking(move || Ok(Json(save_user(&state, &actor, &name, b, false)?))).await
}

fn audit_rows(state: &AppState, p: &Params) -> Result<Vec<lodestar_store::AuditEntry>, ApiError> {
    let store = state.store()?;
    let since = get(p, "since").unwrap_or("0000");
    let until = get(p, "until").map(|u| format!("{u}\u{10FFFF}"));
    let limit: usize = get(p, "limit").and_then(|l| l.parse().ok()).unwrap_or(1000).min(100_000);
    let mut rows: Vec<_> = store
        .audit_since(since)?
        .into_iter()
        .filter(|e| until.as_deref().is_none_or(|u| e.at.as_str() <= u))
        .filter(|e| get(p, "user").is_none_or(|u| e.actor == u))
        .filter(|e| get(p, "action").is_none_or(|a| e.action == a))
        .collect();
    rows.reverse();
    rows.truncate(limit);
    Ok(rows)
}

/// `GET /api/audit?user=&action=&since=&until=&limit=`: newest first.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(p): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, ADMIN, "查看审计日志")?;
    blocking(move || json(&audit_rows(&state, &p)?)).await
}

/// `GET /api/audit.csv?<same>`.
pub async fn audit_csv(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    require(&auth, ADMIN, "导出审计日志")?;
    let who = auth.user.name.clone();
    let bytes = blocking(move || {
        let rows = audit_rows(&state, &p)?;
        let mut b = vec![0xEF, 0xBB, 0xBF];
        crate::export::audit_csv(&rows, &mut b).map_err(|e| ApiError::internal(e.to_string()))?;
        state.store()?.audit(
            &who,
            "export",
            &serde_json::json!({"what": "audit", "rows": rows.len(), "via": "web"}),
        )?;
        Ok(b)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"lodestar-audit.csv\""),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/feedback/stats`: `lodestar feedback stats --json`.
pub async fn feedback_stats(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(p): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, &[Role::Admin, Role::Ops], "查看反馈统计")?;
    let since = get(&p, "since").map(str::to_string);
    blocking(move || json(&crate::db::feedback_stats(&state.store()?, since.as_deref())?)).await
}

/// `GET /api/status`: version, models, index and data coverage.
pub async fn status(State(state): State<Arc<AppState>>, auth: Auth) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, ADMIN, "查看系统状态")?;
    blocking(move || {
        let store = state.store()?;
        let (first, last): (Option<String>, Option<String>) = store
            .conn()
            .query_row("SELECT MIN(month), MAX(month) FROM sales_active", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let index = state.workspace.get().and_then(|w| w.index.clone()).map(|ix| {
            let s = ix.index().stats();
            serde_json::to_value(s).unwrap_or_default()
        });
        Ok(Json(serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "model": state.assistant.generator.as_ref().map(|g| g.name().to_string()),
            "embedder": state.embedder.as_ref().map(|e| e.name().to_string()),
            "index": index,
            "sales_months": [first, last],
            "queue": state.queue.status(),
            "notes": state.opts.notes,
        })))
    })
    .await
}
