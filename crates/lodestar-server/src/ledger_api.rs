//! The action ledger (督办台账) and minutes upload in the browser: the JSON of `lodestar ledger …
//! --json`, status / deadline / note changes with history, and minutes that a person reviews item by
//! item before anything enters the ledger.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::live::{blocking, require, workspace};
use crate::AppState;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lodestar_core::Role;
use lodestar_ledger::review::{Review, ReviewScope};
use lodestar_ledger::{ActionItem, ImportOptions, Ledger, ListFilter, NaiveDate, Status};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

type Params = BTreeMap<String, String>;

fn get<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn date(s: &str, what: &str) -> Result<NaiveDate, ApiError> {
    lodestar_ledger::parse_date(s)
        .ok_or_else(|| ApiError::bad_request("invalid_date", format!("{what} `{s}`: expected YYYY-MM-DD")))
}

fn ledger_error(e: lodestar_ledger::LedgerError) -> ApiError {
    let msg = e.to_string();
    match e {
        lodestar_ledger::LedgerError::NotFound(_) => ApiError::not_found(msg),
        lodestar_ledger::LedgerError::Invalid(_) => {
            ApiError::new(StatusCode::CONFLICT, "invalid_request_error", "invalid", msg)
        }
        _ => ApiError::internal(msg),
    }
}

/// Runs `f` on the ledger of the home database (on a blocking thread: SQLite).
async fn with_ledger<T: Send + 'static>(
    state: Arc<AppState>,
    f: impl FnOnce(&mut Ledger) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking(move || {
        let mut store = state.store()?;
        let mut ledger = Ledger::open(&mut store).map_err(ledger_error)?;
        f(&mut ledger)
    })
    .await
}

fn to_json<T: serde::Serialize>(v: T) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))?))
}

fn status(s: &str) -> Result<Status, ApiError> {
    Status::parse(s).ok_or_else(|| {
        ApiError::bad_request("invalid_status", format!("unknown status `{s}` (待办, 进行中, 已完成, 延期, 取消)"))
    })
}

/// Staff who may change the ledger: everyone but viewers.
const WRITERS: &[Role] = &[Role::Admin, Role::Ops, Role::Sales];
/// Who may bring minutes and data in.
const IMPORTERS: &[Role] = &[Role::Admin, Role::Ops];

/// The filters and as-of date of `/api/ledger` and its export.
fn list_filter(p: &Params) -> Result<(ListFilter, NaiveDate), ApiError> {
    let f = ListFilter {
        country: get(p, "country").map(str::to_string),
        owner: get(p, "owner").map(str::to_string),
        item_type: get(p, "type").map(str::to_string),
        status: get(p, "status").map(status).transpose()?,
        overdue: matches!(get(p, "overdue"), Some("1" | "true" | "on" | "yes")),
        meeting_id: get(p, "meeting")
            .map(|m| m.parse::<i64>().map_err(|_| ApiError::bad_request("invalid_meeting", "meeting: a meeting id")))
            .transpose()?,
        since: get(p, "since").map(|s| date(s, "since")).transpose()?,
    };
    let as_of = get(p, "as_of").map(|s| date(s, "as_of")).transpose()?.unwrap_or_else(lodestar_ledger::today);
    Ok((f, as_of))
}

/// `GET /api/ledger?owner=&type=&status=&country=&meeting=&overdue=1&as_of=`: `ledger list --json`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    _auth: Auth,
    Query(p): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (f, as_of) = list_filter(&p)?;
    let dicts = state.assistant.dicts.clone();
    with_ledger(state, move |ledger| to_json(ledger.list(&f, as_of, &dicts).map_err(ledger_error)?)).await
}

/// `GET /api/ledger/{id}`: `{"item", "history"}`.
pub async fn item(
    State(state): State<Arc<AppState>>,
    _auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    with_ledger(state, move |ledger| {
        let item = ledger.get(id, Some(lodestar_ledger::today())).map_err(ledger_error)?;
        let history = ledger.history(id).map_err(ledger_error)?;
        Ok(Json(serde_json::json!({"item": item, "history": history})))
    })
    .await
}

/// Body of `POST /api/ledger/{id}`.
#[derive(Debug, Deserialize)]
pub struct ItemChange {
    /// New status (待办, 进行中, 已完成, 延期, 取消).
    pub status: Option<String>,
    /// New deadline, `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// A note added to the item's history.
    pub note: Option<String>,
}

/// `POST /api/ledger/{id}` `{"status"?, "deadline"?, "note"?}`: the changed item (`ledger update --json`).
pub async fn update(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
    body: Result<Json<ItemChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, WRITERS, "修改督办事项")?;
    let Json(c) = body?;
    let st = c.status.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(status).transpose()?;
    let dl = c.deadline.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| date(s, "deadline")).transpose()?;
    let note = c.note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if st.is_none() && dl.is_none() && note.is_none() {
        return Err(ApiError::bad_request("nothing_to_change", "give a status, a deadline or a note"));
    }
    let who = auth.user.name.clone();
    with_ledger(state, move |ledger| to_json(ledger.update(id, st, dl, note.as_deref(), &who).map_err(ledger_error)?))
        .await
}

/// `GET /api/ledger/review?meeting=&since=&as_of=`: `ledger review --format json`.
pub async fn review(
    State(state): State<Arc<AppState>>,
    _auth: Auth,
    Query(p): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let scope = match (get(&p, "meeting"), get(&p, "since")) {
        (Some(m), _) => ReviewScope::Meeting(
            m.parse().map_err(|_| ApiError::bad_request("invalid_meeting", "meeting: a meeting id"))?,
        ),
        (None, Some(s)) => ReviewScope::Since(date(s, "since")?),
        (None, None) => ReviewScope::Latest,
    };
    let as_of = get(&p, "as_of").map(|s| date(s, "as_of")).transpose()?.unwrap_or_else(lodestar_ledger::today);
    let dicts = state.assistant.dicts.clone();
    with_ledger(state, move |ledger| to_json(Review::build(ledger, scope, as_of, &dicts).map_err(ledger_error)?)).await
}

/// `GET /api/ledger/meetings`: the meetings, newest first.
pub async fn meetings(State(state): State<Arc<AppState>>, _auth: Auth) -> Result<Json<serde_json::Value>, ApiError> {
    with_ledger(state, move |ledger| {
        let mut m = ledger.meetings().map_err(ledger_error)?;
        m.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
        to_json(m)
    })
    .await
}

/// `GET /api/ledger/meetings/{id}/updates`: `[{"update", "applied"}]`.
pub async fn meeting_updates(
    State(state): State<Arc<AppState>>,
    _auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    with_ledger(state, move |ledger| {
        let u = ledger.proposed_updates(id).map_err(ledger_error)?;
        let v: Vec<serde_json::Value> =
            u.into_iter().map(|(u, applied)| serde_json::json!({"update": u, "applied": applied})).collect();
        Ok(Json(serde_json::Value::Array(v)))
    })
    .await
}

/// `POST /api/ledger/updates/{update_id}/apply`: the changed item.
pub async fn apply_update(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(update_id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, WRITERS, "应用状态更新")?;
    let who = auth.user.name.clone();
    with_ledger(state, move |ledger| to_json(ledger.apply_update(update_id, &who).map_err(ledger_error)?)).await
}

/// `GET /api/ledger/tags`: the type tags and statuses (filters and edit forms).
pub async fn tags(State(state): State<Arc<AppState>>, _auth: Auth) -> Json<serde_json::Value> {
    let tags: Vec<String> = state.assistant.dicts.tags.iter().map(|t| t.name.clone()).collect();
    let statuses: Vec<&str> = [Status::Todo, Status::InProgress, Status::Done, Status::Delayed, Status::Cancelled]
        .iter()
        .map(|s| s.label())
        .collect();
    Json(serde_json::json!({"tags": tags, "statuses": statuses}))
}

/// `GET /api/ledger/export?<the filters of /api/ledger>`: the ledger workbook (督办台账 + 统计) of
/// the items the page shows (all without filters).
pub async fn export(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let (f, as_of) = list_filter(&p)?;
    let dicts = state.assistant.dicts.clone();
    let who = auth.user.name.clone();
    let bytes = blocking(move || {
        let mut store = state.store()?;
        let ledger = Ledger::open(&mut store).map_err(ledger_error)?;
        let items = ledger.list(&f, as_of, &dicts).map_err(ledger_error)?;
        let dir = crate::workspace::tempfile_dir()?;
        let path = dir.join("ledger.xlsx");
        let n = lodestar_ledger::export::export_ledger(&items, &dicts, &path).map_err(ledger_error)?;
        let b = std::fs::read(&path).map_err(|e| ApiError::internal(e.to_string()))?;
        let _ = std::fs::remove_dir_all(&dir);
        ledger.store().audit(&who, "export", &serde_json::json!({"ledger": "web", "items": n}))?;
        Ok(b)
    })
    .await?;
    let name = format!("attachment; filename=\"ledger-{}.xlsx\"", lodestar_ledger::today());
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

// ------------------------------------------------------------------------- minutes upload

/// A minutes upload waiting for review: stored under `uploads/minutes/…` with this JSON beside it.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct PendingMinutes {
    upload_id: String,
    file: String,
    path: String,
    meeting: String,
    date: NaiveDate,
    user: String,
    committed: Option<i64>,
}

fn pending_path(home: &std::path::Path, upload_id: &str) -> Result<std::path::PathBuf, ApiError> {
    if upload_id.is_empty() || !upload_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::not_found("no such upload"));
    }
    Ok(home.join("uploads").join("minutes").join(format!("{upload_id}.json")))
}

/// `POST /api/minutes` (multipart `file`, `date`, `meeting`, `model`): the extracted items,
/// proposed updates and source lines; nothing enters the ledger.
pub async fn upload_minutes(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    mp: Multipart,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, IMPORTERS, "上传会议纪要")?;
    let ws = workspace(&state)?;
    let up = crate::uploads::read(mp, ws.upload_limit).await?;
    let meeting_date = date(
        up.field("date")
            .ok_or_else(|| ApiError::bad_request("no_date", "the meeting date (date=YYYY-MM-DD) is required"))?,
        "date",
    )?;
    let meeting = up.field("meeting").unwrap_or("经营分析会").to_string();
    let use_model = matches!(up.field("model"), Some("1" | "true" | "on" | "yes"));
    crate::uploads::check(&up, &["md", "txt", "markdown", "docx"], &(&state.opts.config.limits).into())?;
    let path = crate::uploads::store(&ws.home, "minutes", &up)?;
    let text = match lodestar_ledger::text::read_minutes_with(&path, &state.opts.config.limits) {
        Ok(t) => t,
        Err(e) => {
            crate::uploads::discard(&path);
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                "unreadable",
                format!("`{}`: {e}", up.name),
            ));
        }
    };
    let upload_id = path
        .parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ApiError::internal("upload folder has no name"))?;
    let pending = PendingMinutes {
        upload_id: upload_id.clone(),
        file: up.name.clone(),
        path: path.display().to_string(),
        meeting: meeting.clone(),
        date: meeting_date,
        user: auth.user.name.clone(),
        committed: None,
    };
    let pfile = pending_path(&ws.home, &upload_id)?;
    std::fs::write(&pfile, serde_json::to_vec_pretty(&pending).map_err(|e| ApiError::internal(e.to_string()))?)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let generator = if use_model { state.assistant.generator.clone() } else { None };
    let dicts = state.assistant.dicts.clone();
    let who = auth.user.name.clone();
    let st = state.clone();
    let file = up.name.clone();
    let size = up.bytes.len();
    blocking(move || {
        let mut store = st.store()?;
        store.audit(
            &who,
            "upload",
            &serde_json::json!({"kind": "minutes", "file": file, "bytes": size, "upload_id": upload_id}),
        )?;
        let mut ledger = Ledger::open(&mut store).map_err(ledger_error)?;
        let opts = ImportOptions { file: file.clone(), meeting, date: meeting_date, apply_updates: false, who };
        let rep = ledger.preview(&text, &opts, &dicts, generator.as_deref()).map_err(ledger_error)?;
        let mut v = serde_json::to_value(&rep).map_err(|e| ApiError::internal(e.to_string()))?;
        v["upload_id"] = serde_json::json!(upload_id);
        v["lines"] = serde_json::json!(text.lines().collect::<Vec<_>>());
        Ok(Json(v))
    })
    .await
}

/// Body of `POST /api/minutes/{upload_id}/commit`.
#[derive(Debug, Deserialize)]
pub struct CommitBody {
    /// The items to store, as reviewed (edited fields win; dropped items are simply absent).
    pub items: Vec<ActionItem>,
    /// Open ledger items whose proposed status update the person accepted.
    #[serde(default)]
    pub apply_updates: Vec<i64>,
}

/// Owner names as a person typed them: staff resolved to ids, the rest kept as text.
fn resolve_owners(it: &mut ActionItem, d: &lodestar_dict::Dictionaries) {
    let names: Vec<String> = it
        .owners
        .iter()
        .flat_map(|o| o.split([',', '，', '、', ';', '；', '/']))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut owners = Vec::new();
    let mut ids = Vec::new();
    let mut unresolved = Vec::new();
    for n in names {
        match d.resolve_staff(&n) {
            Some(s) => {
                if !ids.contains(&s.id) {
                    ids.push(s.id.clone());
                    owners.push(s.name.clone());
                }
            }
            None => {
                owners.push(n.clone());
                unresolved.push(n);
            }
        }
    }
    it.owners = owners;
    it.owner_ids = ids;
    it.unresolved_owners = unresolved;
    if let Some(c) = it.country.clone().filter(|c| !c.is_empty()) {
        if let Some(k) = d.resolve_country(&c) {
            it.country = Some(k.code.clone());
            it.country_name = Some(k.name_zh.clone());
        }
    }
    let mut missing = Vec::new();
    if it.owners.is_empty() {
        missing.push("owner".to_string());
    }
    if it.deadline.is_none() && it.deadline_text.as_deref().is_none_or(|t| t.trim().is_empty()) {
        missing.push("deadline".to_string());
    }
    it.missing = missing;
    it.needs_review = true;
}

/// `POST /api/minutes/{upload_id}/commit`: stores the reviewed items (the `minutes import --json`
/// report) and applies the accepted status updates.
pub async fn commit_minutes(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(upload_id): Path<String>,
    body: Result<Json<CommitBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require(&auth, IMPORTERS, "把纪要事项写入台账")?;
    let Json(body) = body?;
    let ws = workspace(&state)?;
    let pfile = pending_path(&ws.home, &upload_id)?;
    let raw = std::fs::read(&pfile).map_err(|_| ApiError::not_found(format!("no minutes upload `{upload_id}`")))?;
    let mut pending: PendingMinutes =
        serde_json::from_slice(&raw).map_err(|e| ApiError::internal(format!("upload record: {e}")))?;
    if let Some(m) = pending.committed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "already_committed",
            format!("this upload was already stored as meeting {m}"),
        ));
    }
    let text = lodestar_ledger::text::read_minutes_with(std::path::Path::new(&pending.path), &state.opts.config.limits)
        .map_err(|e| ApiError::internal(format!("reading the stored upload: {e}")))?;
    let dicts = state.assistant.dicts.clone();
    let who = auth.user.name.clone();
    let st = state.clone();
    let p2 = pending.clone();
    let rep = blocking(move || {
        let mut items = body.items;
        for it in &mut items {
            it.id = None;
            if it.description.trim().is_empty() {
                return Err(ApiError::bad_request("empty_item", "an accepted item has no description"));
            }
            resolve_owners(it, &dicts);
        }
        let mut store = st.store()?;
        let mut ledger = Ledger::open(&mut store).map_err(ledger_error)?;
        let opts = ImportOptions { file: p2.file.clone(), meeting: p2.meeting.clone(), date: p2.date, apply_updates: false, who: who.clone() };
        let mut rep = ledger.import_reviewed(&text, items, &opts, &dicts).map_err(ledger_error)?;
        let mut applied = Vec::new();
        for u in &rep.updates {
            if body.apply_updates.contains(&u.item_id) {
                ledger.apply_update(u.update_id, &who).map_err(ledger_error)?;
                applied.push(u.item_id);
            }
        }
        rep.applied = !applied.is_empty();
        ledger.store().audit(&who, "minutes_review", &serde_json::json!({"upload_id": p2.upload_id, "meeting_id": rep.meeting_id, "items": rep.items.len(), "applied_updates": applied}))?;
        Ok(rep)
    })
    .await?;
    pending.committed = Some(rep.meeting_id);
    let _ = std::fs::write(&pfile, serde_json::to_vec_pretty(&pending).unwrap_or_default());
    Ok(Json(serde_json::to_value(&rep).map_err(|e| ApiError::internal(e.to_string()))?))
}
