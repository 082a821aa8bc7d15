//! The night queue (夜间批处理): durable, resumable batches in SQLite, in the OpenAI batch formats.
//!
//! A batch is a list of items (`custom_id` + input): chat completions (`/v1/chat/completions`
//! bodies), customer profiles, review material, minutes re-extraction. [`run`] processes pending
//! items one by one; an item counts as done only when its result (and the draft it produced) is
//! committed in one SQLite transaction, so a run killed at any point and started again finishes
//! exactly what is left. An item's identity is the SHA-256 of its `custom_id`, input, model and
//! parameters: a resubmitted item whose identity already has a committed result is not redone.
//! Transient failures retry with backoff; permanent ones fail the item with the reason.

use crate::{store as drafts, Draft, DraftError};
use lodestar_store::{now, rusqlite, Store};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

const MIGRATIONS: &[&str] = &["
CREATE TABLE batches (
    id          TEXT PRIMARY KEY,              -- batch_<hex>
    kind        TEXT NOT NULL,                 -- chat / profiles / review / minutes
    status      TEXT NOT NULL,                 -- validating / in_progress / completed / failed / expired / cancelling / cancelled
    model       TEXT,
    params      TEXT NOT NULL DEFAULT '{}',
    manifest    TEXT,
    input_file  TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE TABLE batch_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id    TEXT NOT NULL REFERENCES batches(id),
    seq         INTEGER NOT NULL,
    custom_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,                 -- chat / profile / review / minutes
    input       TEXT NOT NULL,                 -- JSON
    identity    TEXT NOT NULL,                 -- sha256(custom_id, input, model, params)
    status      TEXT NOT NULL,                 -- pending / completed / failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    response    TEXT,                          -- JSON body of the result
    error       TEXT,                          -- JSON {code, message}
    files       TEXT NOT NULL DEFAULT '[]',
    draft_id    INTEGER,
    tokens      INTEGER NOT NULL DEFAULT 0,
    reused_from INTEGER,
    finished_at TEXT,
    UNIQUE (batch_id, custom_id)
);
CREATE INDEX batch_items_pending ON batch_items(batch_id, status, seq);
CREATE INDEX batch_items_identity ON batch_items(identity, status);
"];

/// Creates or upgrades the batch tables (`batches`, `batch_items`; component `batch`).
pub fn migrate(store: &mut Store) -> Result<(), DraftError> {
    Ok(store.migrate_component("batch", MIGRATIONS)?)
}

/// Kinds of item.
pub const KINDS: [&str; 4] = ["chat", "profile", "review", "minutes"];
/// The only `url` the batch input accepts.
pub const CHAT_URL: &str = "/v1/chat/completions";

/// One line of the OpenAI batch input format.
#[derive(Debug, Clone, Deserialize)]
struct InputLine {
    custom_id: Option<serde_json::Value>,
    method: Option<String>,
    url: Option<String>,
    body: Option<serde_json::Value>,
}

/// An item to queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewItem {
    /// The caller's id of the item, unique within the batch (returned with its result).
    pub custom_id: String,
    /// `chat`, `profile`, `review` or `minutes`.
    pub kind: String,
    /// The item's input as JSON (a chat-completion body, or the subject of a draft).
    pub input: serde_json::Value,
}

/// Validates an OpenAI batch input file (JSONL) as a whole: every line's shape, unique
/// `custom_id`s. Any bad line fails the file with its line number; nothing is queued then.
pub fn parse_input(text: &str) -> Result<Vec<NewItem>, DraftError> {
    let mut items = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: InputLine = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("line {n}: not a JSON object ({e})"));
                continue;
            }
        };
        let id = match &parsed.custom_id {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(_) => {
                errors.push(format!("line {n}: `custom_id` must be a non-empty string"));
                continue;
            }
            None => {
                errors.push(format!("line {n}: missing `custom_id`"));
                continue;
            }
        };
        if let Some(first) = seen.insert(id.clone(), n) {
            errors.push(format!("line {n}: duplicate custom_id `{id}` (first on line {first})"));
            continue;
        }
        if parsed.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case("POST")) {
            errors.push(format!("line {n}: method must be POST"));
            continue;
        }
        match parsed.url.as_deref() {
            Some(CHAT_URL) => {}
            Some(u) => {
                errors.push(format!("line {n}: unknown url `{u}` (only {CHAT_URL} is supported)"));
                continue;
            }
            None => {
                errors.push(format!("line {n}: missing `url`"));
                continue;
            }
        }
        let Some(body) = parsed.body.filter(|b| b.is_object()) else {
            errors.push(format!("line {n}: missing `body` object"));
            continue;
        };
        let msgs_ok = body["messages"].as_array().is_some_and(|m| {
            !m.is_empty()
                && m.iter().all(|x| {
                    matches!(x["role"].as_str(), Some("system" | "user" | "assistant")) && x["content"].is_string()
                })
        });
        if !msgs_ok {
            errors.push(format!(
                "line {n}: body.messages must be a non-empty list of {{\"role\": system|user|assistant, \"content\": string}}"
            ));
            continue;
        }
        items.push(NewItem { custom_id: id, kind: "chat".into(), input: body });
    }
    if !errors.is_empty() {
        let shown = errors.iter().take(20).cloned().collect::<Vec<_>>().join("\n  ");
        let more = if errors.len() > 20 { format!("\n  … and {} more", errors.len() - 20) } else { String::new() };
        return Err(DraftError::Invalid(format!("batch input rejected, nothing queued:\n  {shown}{more}")));
    }
    if items.is_empty() {
        return Err(DraftError::Invalid("batch input holds no request lines".into()));
    }
    Ok(items)
}

/// SHA-256 over an item's custom_id, input, model and parameters.
pub fn identity(custom_id: &str, input: &serde_json::Value, model: Option<&str>, params: &serde_json::Value) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in [custom_id.to_string(), input.to_string(), model.unwrap_or("").to_string(), params.to_string()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Counts of a batch's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Items in the batch.
    pub total: i64,
    /// Items finished with a result.
    pub completed: i64,
    /// Items that failed for good.
    pub failed: i64,
}

/// `batch status --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchStatus {
    /// Batch id (`batch_<hex>`).
    pub id: String,
    /// What the batch holds: `chat`, `profiles`, `review` or `minutes`.
    pub kind: String,
    /// `validating`, `in_progress`, `completed`, `failed`, `expired`, `cancelling` or `cancelled`.
    pub status: String,
    /// Item counts.
    pub request_counts: RequestCounts,
    /// When the batch was queued (RFC 3339).
    pub created_at: String,
    /// When a run first started it.
    pub started_at: Option<String>,
    /// When it completed or was cancelled.
    pub finished_at: Option<String>,
    /// The chat model the batch runs with, when it was given one.
    pub model: Option<String>,
    /// Name of the results file (`<id>-output.jsonl`), once the batch is done and has results.
    pub output_file: Option<String>,
    /// Name of the errors file (`<id>-errors.jsonl`), once the batch is done and has failures.
    pub error_file: Option<String>,
}

/// A committed result of the same identity: (item id, response, files, draft id, tokens).
type PriorResult = (i64, Option<String>, String, Option<i64>, i64);

/// Queues a batch; items whose identity already has a committed result elsewhere are marked
/// completed with that result (not redone). Returns the batch id.
pub fn submit(
    store: &Store,
    kind: &str,
    items: &[NewItem],
    model: Option<&str>,
    params: &serde_json::Value,
    input_file: Option<&str>,
    by: &str,
) -> Result<String, DraftError> {
    if items.is_empty() {
        return Err(DraftError::Invalid("a batch needs at least one item".into()));
    }
    let id = format!("batch_{}", lodestar_store::accounts::random_token(12));
    let conn = store.conn();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let res = (|| -> Result<(), DraftError> {
        conn.execute(
            "INSERT INTO batches(id, kind, status, model, params, input_file, created_by, created_at) VALUES (?1, ?2, 'validating', ?3, ?4, ?5, ?6, ?7)",
            params![id, kind, model, params.to_string(), input_file, by, now()],
        )?;
        for (seq, it) in items.iter().enumerate() {
            let ident = identity(&it.custom_id, &it.input, model, params);
            let prior: Option<PriorResult> = conn
                .query_row(
                    "SELECT id, response, files, draft_id, tokens FROM batch_items WHERE identity = ?1 AND status = 'completed' ORDER BY id LIMIT 1",
                    [&ident],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            match prior {
                Some((pid, response, files, draft_id, tokens)) => conn.execute(
                    "INSERT INTO batch_items(batch_id, seq, custom_id, kind, input, identity, status, response, files, draft_id, tokens, reused_from, finished_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'completed', ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![id, seq as i64, it.custom_id, it.kind, it.input.to_string(), ident, response, files, draft_id, tokens, pid, now()],
                )?,
                None => conn.execute(
                    "INSERT INTO batch_items(batch_id, seq, custom_id, kind, input, identity, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
                    params![id, seq as i64, it.custom_id, it.kind, it.input.to_string(), ident],
                )?,
            };
        }
        conn.execute("UPDATE batches SET status = 'in_progress' WHERE id = ?1", [&id])?;
        Ok(())
    })();
    match res {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            conn.execute_batch("ROLLBACK")?;
            return Err(e);
        }
    }
    store.audit(by, "batch_submit", &serde_json::json!({"id": id, "kind": kind, "items": items.len()}))?;
    finish_if_done(store, &id)?;
    Ok(id)
}

fn counts(store: &Store, id: &str) -> Result<RequestCounts, DraftError> {
    Ok(store.conn().query_row(
        "SELECT COUNT(*), COALESCE(SUM(status = 'completed'), 0), COALESCE(SUM(status = 'failed'), 0) FROM batch_items WHERE batch_id = ?1",
        [id],
        |r| Ok(RequestCounts { total: r.get(0)?, completed: r.get(1)?, failed: r.get(2)? }),
    )?)
}

/// Marks a batch completed when no item is pending.
fn finish_if_done(store: &Store, id: &str) -> Result<(), DraftError> {
    let c = counts(store, id)?;
    if c.completed + c.failed == c.total {
        store.conn().execute(
            "UPDATE batches SET status = CASE WHEN status = 'cancelling' THEN 'cancelled' ELSE 'completed' END, finished_at = COALESCE(finished_at, ?2)
             WHERE id = ?1 AND status NOT IN ('completed', 'cancelled')",
            params![id, now()],
        )?;
    }
    Ok(())
}

/// The status of batch `id`; [`DraftError::NotFound`] if there is none.
pub fn status(store: &Store, id: &str) -> Result<BatchStatus, DraftError> {
    let row = store
        .conn()
        .query_row(
            "SELECT id, kind, status, created_at, started_at, finished_at, model FROM batches WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )
        .optional()?
        .ok_or_else(|| DraftError::NotFound(format!("batch {id} (see `lodestar batch status`)")))?;
    let c = counts(store, id)?;
    let done = matches!(row.2.as_str(), "completed" | "expired" | "cancelled" | "failed");
    Ok(BatchStatus {
        id: row.0.clone(),
        kind: row.1,
        status: row.2,
        request_counts: c,
        created_at: row.3,
        started_at: row.4,
        finished_at: row.5,
        model: row.6,
        output_file: (done && c.completed > 0).then(|| format!("{}-output.jsonl", row.0)),
        error_file: (done && c.failed > 0).then(|| format!("{}-errors.jsonl", row.0)),
    })
}

/// All batches, newest first.
pub fn list(store: &Store) -> Result<Vec<BatchStatus>, DraftError> {
    let ids: Vec<String> = {
        let mut st = store.conn().prepare("SELECT id FROM batches ORDER BY created_at DESC, rowid DESC")?;
        let v = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        v
    };
    ids.iter().map(|i| status(store, i)).collect()
}

/// Asks a batch to stop: no new item starts; the batch ends `cancelled`.
pub fn cancel(store: &Store, id: &str, by: &str) -> Result<BatchStatus, DraftError> {
    let s = status(store, id)?;
    if matches!(s.status.as_str(), "completed" | "cancelled" | "failed") {
        return Err(DraftError::Invalid(format!("batch {id} is already {}", s.status)));
    }
    store
        .conn()
        .execute("UPDATE batches SET status = 'cancelled', finished_at = ?2 WHERE id = ?1", params![id, now()])?;
    store.audit(by, "batch_cancel", &serde_json::json!({"id": id}))?;
    status(store, id)
}

/// A pending item handed to the runner.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Row id of the item.
    pub id: i64,
    /// The batch it belongs to.
    pub batch_id: String,
    /// The caller's id of the item.
    pub custom_id: String,
    /// `chat`, `profile`, `review` or `minutes`.
    pub kind: String,
    /// The item's input as JSON.
    pub input: serde_json::Value,
    /// Tries already made (failed transiently).
    pub attempts: i64,
}

/// What an item produced.
#[derive(Debug, Clone)]
pub struct ItemOutput {
    /// The response body (OpenAI `chat.completion` for chat items).
    pub body: serde_json::Value,
    /// Files written (already complete on disk: temp name, fsync, rename).
    pub files: Vec<String>,
    /// A draft to store with the result, in the same transaction.
    pub draft: Option<(Draft, String)>,
    /// Tokens generated.
    pub tokens: i64,
}

/// Why an item failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemError {
    /// A bad request or a context too long: retrying cannot help.
    pub permanent: bool,
    /// Short error code (e.g. `context_length_exceeded`), written to the batch's errors file.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// Runs items (the CLI implements it with the model, the drafts and the ledger).
pub trait ItemRunner {
    /// Runs one item; an error says whether retrying can help.
    fn run(&mut self, item: &Item) -> Result<ItemOutput, ItemError>;
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Stop starting items at this instant; pending items stay, the batch is `expired`.
    pub until: Option<Instant>,
    /// Tries of an item that fails transiently.
    pub max_attempts: i64,
    /// First backoff between tries (doubles each time).
    pub backoff: Duration,
    /// Account the drafts and audit entries of the run are recorded as.
    pub who: String,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { until: None, max_attempts: 3, backoff: Duration::from_secs(2), who: "admin".into() }
    }
}

/// One finished item, for progress.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Batch of the finished item.
    pub batch_id: String,
    /// The item's caller id.
    pub custom_id: String,
    /// Whether it finished with a result (else it failed).
    pub ok: bool,
    /// Items of the batch completed so far.
    pub done: i64,
    /// Items of the batch failed so far.
    pub failed: i64,
    /// Items in the batch.
    pub total: i64,
    /// Tokens the item generated.
    pub tokens: i64,
    /// Time since the run started.
    pub elapsed: Duration,
    /// The failure (`code: message`) when the item failed.
    pub message: Option<String>,
}

/// Summary of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// The batches the run was asked to work through.
    pub batches: Vec<String>,
    /// Items completed in this run.
    pub completed: i64,
    /// Items failed in this run.
    pub failed: i64,
    /// Items still pending in those batches when the run ended.
    pub pending: i64,
    /// Tokens generated in this run.
    pub tokens: i64,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// The run stopped at its deadline (`--until`) with items left; the batch is `expired`.
    pub expired: bool,
}

/// An item from a `SELECT id, batch_id, custom_id, kind, input, attempts` row.
fn item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let input: String = r.get(4)?;
    Ok(Item {
        id: r.get(0)?,
        batch_id: r.get(1)?,
        custom_id: r.get(2)?,
        kind: r.get(3)?,
        input: serde_json::from_str(&input).unwrap_or(serde_json::Value::Null),
        attempts: r.get(5)?,
    })
}

fn next_pending(store: &Store, batch: &str) -> Result<Option<Item>, DraftError> {
    Ok(store
        .conn()
        .query_row(
            "SELECT id, batch_id, custom_id, kind, input, attempts FROM batch_items WHERE batch_id = ?1 AND status = 'pending' ORDER BY seq LIMIT 1",
            [batch],
            item_row,
        )
        .optional()?)
}

/// Commits an item's result (and its draft) in one transaction.
fn commit_ok(store: &Store, item: &Item, out: &ItemOutput, who: &str) -> Result<(), DraftError> {
    let conn = store.conn();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let res = (|| -> Result<(), DraftError> {
        let draft_id = match &out.draft {
            Some((d, md)) => Some(drafts::save(store, d, md, &out.files, who)?),
            None => None,
        };
        let n = conn.execute(
            "UPDATE batch_items SET status = 'completed', response = ?1, files = ?2, draft_id = ?3, tokens = ?4, attempts = attempts + 1, finished_at = ?5, error = NULL
             WHERE id = ?6 AND status = 'pending'",
            params![out.body.to_string(), serde_json::to_string(&out.files).unwrap_or_default(), draft_id, out.tokens, now(), item.id],
        )?;
        if n != 1 {
            return Err(DraftError::Invalid(format!("item {} was no longer pending", item.custom_id)));
        }
        Ok(())
    })();
    match res {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            conn.execute_batch("ROLLBACK")?;
            Err(e)
        }
    }
}

fn commit_err(store: &Store, item: &Item, e: &ItemError, final_try: bool) -> Result<(), DraftError> {
    let err = serde_json::json!({"code": e.code, "message": e.message});
    if final_try {
        store.conn().execute(
            "UPDATE batch_items SET status = 'failed', error = ?1, attempts = attempts + 1, finished_at = ?2 WHERE id = ?3 AND status = 'pending'",
            params![err.to_string(), now(), item.id],
        )?;
    } else {
        store.conn().execute(
            "UPDATE batch_items SET error = ?1, attempts = attempts + 1 WHERE id = ?2 AND status = 'pending'",
            params![err.to_string(), item.id],
        )?;
    }
    Ok(())
}

fn batch_state(store: &Store, id: &str) -> Result<String, DraftError> {
    Ok(store.conn().query_row("SELECT status FROM batches WHERE id = ?1", [id], |r| r.get(0))?)
}

/// The batches a run takes by default: those with pending items, oldest first.
pub fn runnable(store: &Store) -> Result<Vec<String>, DraftError> {
    let mut st = store.conn().prepare(
        "SELECT b.id FROM batches b WHERE b.status IN ('in_progress', 'expired')
         AND EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.status = 'pending') ORDER BY b.created_at, b.rowid",
    )?;
    let v = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(v)
}

/// Processes the pending items of `batches` in order.
pub fn run(
    store: &Store,
    batches: &[String],
    runner: &mut dyn ItemRunner,
    opts: &RunOptions,
    manifest: &serde_json::Value,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<RunSummary, DraftError> {
    let t0 = Instant::now();
    let mut sum = RunSummary { batches: batches.to_vec(), ..RunSummary::default() };
    'batches: for b in batches {
        let st = status(store, b)?;
        if matches!(st.status.as_str(), "cancelled" | "completed" | "failed") {
            continue;
        }
        store.conn().execute(
            "UPDATE batches SET status = 'in_progress', started_at = COALESCE(started_at, ?2), manifest = ?3 WHERE id = ?1",
            params![b, now(), manifest.to_string()],
        )?;
        while let Some(item) = next_pending(store, b)? {
            if opts.until.is_some_and(|u| Instant::now() >= u) {
                store.conn().execute("UPDATE batches SET status = 'expired' WHERE id = ?1", [b])?;
                sum.expired = true;
                break 'batches;
            }
            if batch_state(store, b)? == "cancelled" {
                continue 'batches;
            }
            let outcome = run_with_retries(runner, &item, opts, &mut |e| commit_err(store, &item, e, false))?;
            settle(store, &item, &outcome, opts, &mut sum, t0, on_progress)?;
        }
        finish_if_done(store, b)?;
    }
    for b in batches {
        let c = counts(store, b)?;
        sum.pending += c.total - c.completed - c.failed;
    }
    sum.seconds = t0.elapsed().as_secs_f64();
    Ok(sum)
}

/// Makes the runner of one worker thread of [`run_parallel`] (called on that thread, so a
/// runner may hold its own database connection).
pub type RunnerFactory<'a> = dyn Fn() -> Result<Box<dyn ItemRunner + 'a>, DraftError> + Sync + 'a;

/// What a worker of [`run_parallel`] reports.
enum WorkerMsg {
    /// A transient failure; the item is tried again after the backoff.
    Retry(Item, ItemError),
    /// The item's last outcome.
    Done(Item, Box<Result<ItemOutput, ItemError>>),
    /// The worker could not start (its runner could not be made).
    Broken(DraftError),
}

/// Runs an item with retries, reporting each transient failure.
fn run_with_retries(
    runner: &mut dyn ItemRunner,
    item: &Item,
    opts: &RunOptions,
    on_retry: &mut dyn FnMut(&ItemError) -> Result<(), DraftError>,
) -> Result<Result<ItemOutput, ItemError>, DraftError> {
    let mut attempt = item.attempts;
    loop {
        match runner.run(item) {
            Ok(out) => return Ok(Ok(out)),
            Err(e) if e.permanent || attempt + 1 >= opts.max_attempts => return Ok(Err(e)),
            Err(e) => {
                on_retry(&e)?;
                attempt += 1;
                let wait = opts.backoff * 2u32.saturating_pow(attempt.saturating_sub(1) as u32);
                tracing::warn!("batch item {} failed ({}), retrying in {:?}", item.custom_id, e.message, wait);
                std::thread::sleep(wait);
            }
        }
    }
}

/// Commits an item's last outcome and reports it.
fn settle(
    store: &Store,
    item: &Item,
    outcome: &Result<ItemOutput, ItemError>,
    opts: &RunOptions,
    sum: &mut RunSummary,
    t0: Instant,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<(), DraftError> {
    let (ok, message, tokens) = match outcome {
        Ok(out) => {
            commit_ok(store, item, out, &opts.who)?;
            sum.completed += 1;
            sum.tokens += out.tokens;
            (true, None, out.tokens)
        }
        Err(e) => {
            commit_err(store, item, e, true)?;
            sum.failed += 1;
            (false, Some(format!("{}: {}", e.code, e.message)), 0)
        }
    };
    let c = counts(store, &item.batch_id)?;
    on_progress(&Progress {
        batch_id: item.batch_id.clone(),
        custom_id: item.custom_id.clone(),
        ok,
        done: c.completed,
        failed: c.failed,
        total: c.total,
        tokens,
        elapsed: t0.elapsed(),
        message,
    });
    Ok(())
}

fn pending_items(store: &Store, batch: &str) -> Result<Vec<Item>, DraftError> {
    let mut st = store.conn().prepare(
        "SELECT id, batch_id, custom_id, kind, input, attempts FROM batch_items WHERE batch_id = ?1 AND status = 'pending' ORDER BY seq",
    )?;
    let v = st.query_map([batch], item_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

/// Like [`run`], with `workers` items in progress at once, each on its own thread with its
/// own runner from `make` (their model calls then meet in the chat model's decoding slots).
/// Results are committed on the calling thread, one transaction per item as in [`run`], so the
/// durability rules are the same; items start in queue order, batch after batch, and finish
/// in any order. `--until` and cancellation stop new items from starting; those running
/// finish and are committed.
pub fn run_parallel(
    store: &Store,
    batches: &[String],
    workers: usize,
    make: &RunnerFactory<'_>,
    opts: &RunOptions,
    manifest: &serde_json::Value,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<RunSummary, DraftError> {
    if workers <= 1 {
        let mut runner = make()?;
        return run(store, batches, runner.as_mut(), opts, manifest, on_progress);
    }
    let t0 = Instant::now();
    let mut sum = RunSummary { batches: batches.to_vec(), ..RunSummary::default() };
    let (job_tx, job_rx) = std::sync::mpsc::channel::<Item>();
    let job_rx = std::sync::Mutex::new(job_rx);
    let (msg_tx, msg_rx) = std::sync::mpsc::channel::<WorkerMsg>();
    std::thread::scope(|scope| -> Result<(), DraftError> {
        for w in 0..workers {
            let (job_rx, msg_tx) = (&job_rx, msg_tx.clone());
            std::thread::Builder::new()
                .name(format!("lodestar-batch-{w}"))
                .spawn_scoped(scope, move || {
                    let mut runner = match make() {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = msg_tx.send(WorkerMsg::Broken(e));
                            return;
                        }
                    };
                    loop {
                        let next = job_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok(item)) = next else { return };
                        let outcome = run_with_retries(runner.as_mut(), &item, opts, &mut |e| {
                            msg_tx
                                .send(WorkerMsg::Retry(item.clone(), e.clone()))
                                .map_err(|_| DraftError::Invalid("the run stopped".into()))
                        });
                        let Ok(outcome) = outcome else { return };
                        if msg_tx.send(WorkerMsg::Done(item, Box::new(outcome))).is_err() {
                            return;
                        }
                    }
                })
                .map_err(|e| DraftError::Invalid(format!("cannot start a batch worker: {e}")))?;
        }
        drop(msg_tx);
        let result = (|| -> Result<(), DraftError> {
            let mut in_flight = 0usize;
            let mut broken = 0usize;
            // waits for one worker message and commits what it says
            let mut settle_one =
                |in_flight: &mut usize, broken: &mut usize, sum: &mut RunSummary| -> Result<(), DraftError> {
                    match msg_rx.recv() {
                        Ok(WorkerMsg::Retry(item, e)) => commit_err(store, &item, &e, false),
                        Ok(WorkerMsg::Done(item, outcome)) => {
                            *in_flight -= 1;
                            settle(store, &item, &outcome, opts, sum, t0, on_progress)
                        }
                        Ok(WorkerMsg::Broken(e)) => {
                            *broken += 1;
                            if *broken == workers {
                                return Err(e);
                            }
                            tracing::warn!("a batch worker could not start: {e}");
                            Ok(())
                        }
                        Err(_) => Err(DraftError::Invalid("every batch worker stopped".into())),
                    }
                };
            'batches: for b in batches {
                let st = status(store, b)?;
                if matches!(st.status.as_str(), "cancelled" | "completed" | "failed") {
                    continue;
                }
                store.conn().execute(
                    "UPDATE batches SET status = 'in_progress', started_at = COALESCE(started_at, ?2), manifest = ?3 WHERE id = ?1",
                    params![b, now(), manifest.to_string()],
                )?;
                for item in pending_items(store, b)? {
                    while in_flight >= workers.saturating_sub(broken).max(1) {
                        settle_one(&mut in_flight, &mut broken, &mut sum)?;
                    }
                    if opts.until.is_some_and(|u| Instant::now() >= u) {
                        while in_flight > 0 {
                            settle_one(&mut in_flight, &mut broken, &mut sum)?;
                        }
                        store.conn().execute("UPDATE batches SET status = 'expired' WHERE id = ?1", [b])?;
                        sum.expired = true;
                        break 'batches;
                    }
                    if batch_state(store, b)? == "cancelled" {
                        break;
                    }
                    job_tx.send(item).map_err(|_| DraftError::Invalid("every batch worker stopped".into()))?;
                    in_flight += 1;
                }
                while in_flight > 0 {
                    settle_one(&mut in_flight, &mut broken, &mut sum)?;
                }
                finish_if_done(store, b)?;
            }
            Ok(())
        })();
        drop(job_tx);
        result
    })?;
    for b in batches {
        let c = counts(store, b)?;
        sum.pending += c.total - c.completed - c.failed;
    }
    sum.seconds = t0.elapsed().as_secs_f64();
    Ok(sum)
}

/// One line of the OpenAI batch output format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputLine {
    /// `batch_req_<item id>`.
    pub id: String,
    /// The caller's id of the item.
    pub custom_id: String,
    /// `{status_code, request_id, body}` of a completed item.
    pub response: Option<serde_json::Value>,
    /// `{code, message}` of a failed item.
    pub error: Option<serde_json::Value>,
}

/// The batch's results in input order: completed and failed items (pending ones are left out).
pub fn results(store: &Store, id: &str) -> Result<Vec<OutputLine>, DraftError> {
    status(store, id)?;
    let mut st = store.conn().prepare(
        "SELECT id, custom_id, status, response, error FROM batch_items WHERE batch_id = ?1 AND status IN ('completed', 'failed') ORDER BY seq",
    )?;
    let rows = st.query_map([id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (iid, custom_id, status, response, error) = row?;
        let parse = |s: Option<String>| s.and_then(|x| serde_json::from_str::<serde_json::Value>(&x).ok());
        let (response, error) = if status == "completed" {
            (
                Some(
                    serde_json::json!({"status_code": 200, "request_id": format!("req_{iid}"), "body": parse(response)}),
                ),
                None,
            )
        } else {
            (None, parse(error))
        };
        out.push(OutputLine { id: format!("batch_req_{iid}"), custom_id, response, error });
    }
    Ok(out)
}

/// A row of the morning report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportItem {
    /// The caller's id of the item.
    pub custom_id: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    /// `code: message` of a failed item.
    pub error: Option<String>,
    /// The draft the item stored, if any.
    pub draft_id: Option<i64>,
    /// That draft's review status (`needs_review`, `approved` …).
    pub draft_status: Option<String>,
    /// Files the item wrote.
    pub files: Vec<String>,
    /// Tokens the item generated.
    pub tokens: i64,
    /// The result was reused from an earlier item of the same identity, not redone.
    pub reused: bool,
}

/// The items of batch `id` in input order, with their drafts' review status (the morning report's rows).
pub fn report_items(store: &Store, id: &str) -> Result<Vec<ReportItem>, DraftError> {
    let mut st = store.conn().prepare(
        "SELECT i.custom_id, i.status, i.error, i.draft_id, d.status, i.files, i.tokens, i.reused_from IS NOT NULL
         FROM batch_items i LEFT JOIN drafts d ON d.id = i.draft_id WHERE i.batch_id = ?1 ORDER BY i.seq",
    )?;
    let rows = st.query_map([id], |r| {
        let err: Option<String> = r.get(2)?;
        let files: String = r.get(5)?;
        Ok(ReportItem {
            custom_id: r.get(0)?,
            status: r.get(1)?,
            error: err
                .and_then(|e| serde_json::from_str::<serde_json::Value>(&e).ok())
                .map(|v| format!("{}: {}", v["code"].as_str().unwrap_or(""), v["message"].as_str().unwrap_or(""))),
            draft_id: r.get(3)?,
            draft_status: r.get(4)?,
            files: serde_json::from_str(&files).unwrap_or_default(),
            tokens: r.get(6)?,
            reused: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The morning summary (Markdown): what finished, what failed and why, drafts waiting for review.
pub fn report_markdown(store: &Store, id: &str) -> Result<String, DraftError> {
    let s = status(store, id)?;
    let items = report_items(store, id)?;
    let manifest: Option<String> =
        store.conn().query_row("SELECT manifest FROM batches WHERE id = ?1", [id], |r| r.get(0))?;
    let tokens: i64 = items.iter().map(|i| i.tokens).sum();
    let mut md = format!("# 夜间批处理报告 {}\n\n", s.id);
    md.push_str(&format!(
        "- 类型：{} · 状态：{} · 模型：{}\n- 提交：{} · 开始：{} · 结束：{}\n- 条目：共 {}，完成 {}，失败 {}，未完成 {}\n- 生成 token：{}\n",
        s.kind,
        s.status,
        s.model.as_deref().unwrap_or("—"),
        s.created_at,
        s.started_at.as_deref().unwrap_or("—"),
        s.finished_at.as_deref().unwrap_or("—"),
        s.request_counts.total,
        s.request_counts.completed,
        s.request_counts.failed,
        s.request_counts.total - s.request_counts.completed - s.request_counts.failed,
        tokens
    ));
    let failed: Vec<&ReportItem> = items.iter().filter(|i| i.status == "failed").collect();
    if !failed.is_empty() {
        md.push_str("\n## 失败条目\n\n| custom_id | 原因 |\n| --- | --- |\n");
        for i in failed {
            md.push_str(&format!("| {} | {} |\n", i.custom_id, i.error.as_deref().unwrap_or("").replace('|', "\\|")));
        }
    }
    let review: Vec<&ReportItem> = items.iter().filter(|i| i.draft_id.is_some()).collect();
    if !review.is_empty() {
        md.push_str("\n## 待复核初稿\n\n| custom_id | 初稿 | 状态 | 文件 |\n| --- | ---: | --- | --- |\n");
        for i in review {
            let files: Vec<String> = i
                .files
                .iter()
                .map(|f| {
                    format!(
                        "[{}](file://{f})",
                        std::path::Path::new(f).file_name().and_then(|n| n.to_str()).unwrap_or(f)
                    )
                })
                .collect();
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                i.custom_id,
                i.draft_id.map(|d| d.to_string()).unwrap_or_default(),
                i.draft_status.as_deref().unwrap_or(""),
                files.join(" ")
            ));
        }
        md.push_str("\n复核：`lodestar draft show ID`，`lodestar draft approve ID` 或 `lodestar draft reject ID --reason …`。\n");
    }
    let done: Vec<&ReportItem> = items.iter().filter(|i| i.status == "completed" && i.draft_id.is_none()).collect();
    if !done.is_empty() {
        md.push_str(&format!(
            "\n## 已完成（无初稿）\n\n{} 条，结果：`lodestar batch results {}`。\n",
            done.len(),
            s.id
        ));
    }
    if let Some(m) = manifest {
        md.push_str(&format!("\n## 运行清单\n\n```json\n{m}\n```\n"));
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_with_their_numbers_and_nothing_is_queued() {
        let ok = |id: &str| {
            format!(
                r#"{{"custom_id":"{id}","method":"POST","url":"/v1/chat/completions","body":{{"model":"x","messages":[{{"role":"user","content":"hi"}}]}}}}"#
            )
        };
        let text = [
            ok("a"),
            "not json".to_string(),
            r#"{"method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"hi"}]}}"#
                .to_string(),
            ok("a"),
            r#"{"custom_id":"b","method":"POST","url":"/v1/embeddings","body":{"input":"x"}}"#.to_string(),
            r#"{"custom_id":"c","method":"POST","url":"/v1/chat/completions","body":{"messages":[]}}"#.to_string(),
            ok("d"),
        ]
        .join("\n");
        let e = parse_input(&text).unwrap_err().to_string();
        assert!(e.contains("line 2: not a JSON object"), "{e}");
        assert!(e.contains("line 3: missing `custom_id`"), "{e}");
        assert!(e.contains("line 4: duplicate custom_id `a` (first on line 1)"), "{e}");
        assert!(e.contains("line 5: unknown url `/v1/embeddings`"), "{e}");
        assert!(e.contains("line 6: body.messages"), "{e}");
        assert!(!e.contains("line 7"), "{e}");
        let good = parse_input(&format!("{}\n\n{}\n", ok("x"), ok("y"))).unwrap();
        assert_eq!(good.iter().map(|i| i.custom_id.as_str()).collect::<Vec<_>>(), ["x", "y"]);
        assert!(parse_input("\n").is_err());
    }

    struct Echo {
        calls: Vec<String>,
        transient_left: usize,
    }

    impl ItemRunner for Echo {
        fn run(&mut self, item: &Item) -> Result<ItemOutput, ItemError> {
            self.calls.push(item.custom_id.clone());
            if item.custom_id == "bad" {
                return Err(ItemError {
                    permanent: true,
                    code: "context_length_exceeded".into(),
                    message: "too long".into(),
                });
            }
            if item.custom_id == "flaky" && self.transient_left > 0 {
                self.transient_left -= 1;
                return Err(ItemError { permanent: false, code: "model_unavailable".into(), message: "busy".into() });
            }
            Ok(ItemOutput { body: serde_json::json!({"echo": item.input}), files: vec![], draft: None, tokens: 3 })
        }
    }

    fn item(id: &str, content: &str) -> NewItem {
        NewItem {
            custom_id: id.into(),
            kind: "chat".into(),
            input: serde_json::json!({"messages": [{"role": "user", "content": content}]}),
        }
    }

    #[test]
    fn runs_retry_fail_and_reuse_committed_results() {
        let mut s = Store::open_in_memory().unwrap();
        crate::store::migrate(&mut s).unwrap();
        migrate(&mut s).unwrap();
        let p = serde_json::json!({"temperature": 0});
        let items = [item("a", "1"), item("flaky", "2"), item("bad", "3"), item("b", "4")];
        let id = submit(&s, "chat", &items, Some("m"), &p, None, "ops").unwrap();
        assert_eq!(status(&s, &id).unwrap().status, "in_progress");
        let mut r = Echo { calls: vec![], transient_left: 1 };
        let opts = RunOptions { backoff: Duration::from_millis(1), ..RunOptions::default() };
        let mut seen = Vec::new();
        let sum = run(&s, std::slice::from_ref(&id), &mut r, &opts, &serde_json::json!({}), &mut |p| {
            seen.push((p.custom_id.clone(), p.ok))
        })
        .unwrap();
        assert_eq!((sum.completed, sum.failed, sum.pending, sum.tokens), (3, 1, 0, 9));
        assert_eq!(r.calls, ["a", "flaky", "flaky", "bad", "b"], "transient retried once, permanent not retried");
        let st = status(&s, &id).unwrap();
        assert_eq!(st.status, "completed");
        assert_eq!(st.request_counts, RequestCounts { total: 4, completed: 3, failed: 1 });
        let out = results(&s, &id).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].response.as_ref().unwrap()["status_code"], 200);
        assert_eq!(out[0].response.as_ref().unwrap()["body"]["echo"]["messages"][0]["content"], "1");
        assert_eq!(out[2].custom_id, "bad");
        assert!(out[2].response.is_none());
        assert_eq!(out[2].error.as_ref().unwrap()["code"], "context_length_exceeded");
        // resubmitted: unchanged items are not redone, a changed one is
        let id2 = submit(&s, "chat", &[item("a", "1"), item("b", "changed")], Some("m"), &p, None, "ops").unwrap();
        let mut r2 = Echo { calls: vec![], transient_left: 0 };
        run(&s, std::slice::from_ref(&id2), &mut r2, &opts, &serde_json::json!({}), &mut |_| {}).unwrap();
        assert_eq!(r2.calls, ["b"]);
        assert_eq!(status(&s, &id2).unwrap().request_counts.completed, 2);
        // another model is another identity
        let id3 = submit(&s, "chat", &[item("a", "1")], Some("other"), &p, None, "ops").unwrap();
        assert_eq!(status(&s, &id3).unwrap().request_counts.completed, 0);
        assert!(report_markdown(&s, &id).unwrap().contains("| bad | context_length_exceeded: too long |"));
    }

    #[test]
    fn until_expires_and_keeps_what_finished_and_cancel_stops() {
        let mut s = Store::open_in_memory().unwrap();
        crate::store::migrate(&mut s).unwrap();
        migrate(&mut s).unwrap();
        let id =
            submit(&s, "chat", &[item("a", "1"), item("b", "2")], None, &serde_json::json!({}), None, "ops").unwrap();
        let mut r = Echo { calls: vec![], transient_left: 0 };
        let opts = RunOptions { until: Some(Instant::now()), ..RunOptions::default() };
        let sum = run(&s, std::slice::from_ref(&id), &mut r, &opts, &serde_json::json!({}), &mut |_| {}).unwrap();
        assert!(sum.expired);
        assert_eq!(status(&s, &id).unwrap().status, "expired");
        assert_eq!(runnable(&s).unwrap(), std::slice::from_ref(&id));
        let sum =
            run(&s, std::slice::from_ref(&id), &mut r, &RunOptions::default(), &serde_json::json!({}), &mut |_| {})
                .unwrap();
        assert_eq!((sum.completed, sum.pending), (2, 0));
        assert_eq!(status(&s, &id).unwrap().status, "completed");
        let id2 = submit(&s, "chat", &[item("c", "3")], None, &serde_json::json!({}), None, "ops").unwrap();
        assert_eq!(cancel(&s, &id2, "ops").unwrap().status, "cancelled");
        let sum =
            run(&s, std::slice::from_ref(&id2), &mut r, &RunOptions::default(), &serde_json::json!({}), &mut |_| {})
                .unwrap();
        assert_eq!(sum.completed, 0);
        assert!(cancel(&s, &id2, "ops").is_err());
    }
}
