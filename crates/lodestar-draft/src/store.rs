//! The review workflow (人工复核): every draft is stored as `needs_review` with its files; a
//! reviewer approves, rejects (with a reason) or edits it (the AI text and the edited text are
//! both kept). AI 输出可用率 = approved ÷ reviewed (approved + rejected).

use crate::{Draft, DraftError};
use lodestar_store::{now, rusqlite, Store};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

const MIGRATIONS: &[&str] = &["
CREATE TABLE drafts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,              -- profile / review
    subject      TEXT NOT NULL,              -- customer id / month
    month        TEXT NOT NULL,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,              -- needs_review / edited / approved / rejected
    model        TEXT,
    draft        TEXT NOT NULL,              -- the draft JSON (sections with text, facts, citations)
    ai_text      TEXT NOT NULL,              -- the Markdown as drafted
    edited_text  TEXT,                       -- the reviewer's version
    edit_share   TEXT,                       -- share of characters changed (decimal string)
    files        TEXT NOT NULL DEFAULT '[]', -- JSON list of written files
    warnings     INTEGER NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    reviewer     TEXT,
    reviewed_at  TEXT,
    reason       TEXT
);
CREATE INDEX drafts_status ON drafts(status);
"];

/// Creates or upgrades the `drafts` table (component `draft`).
pub fn migrate(store: &mut Store) -> Result<(), DraftError> {
    Ok(store.migrate_component("draft", MIGRATIONS)?)
}

/// A stored draft (list rows and `draft show`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDraft {
    /// Draft id.
    pub id: i64,
    /// `profile` or `review`.
    pub kind: String,
    /// Customer id (profile) or month (review).
    pub subject: String,
    /// The month drafted, `YYYY-MM`.
    pub month: String,
    /// Document title.
    pub title: String,
    /// `needs_review`, `edited`, `approved` or `rejected`.
    pub status: String,
    /// The model that wrote the prose; `None` = template sentences.
    pub model: Option<String>,
    /// Number of grounding warnings.
    pub warnings: i64,
    /// Files written for the draft.
    pub files: Vec<String>,
    /// Account that generated it.
    pub created_by: String,
    /// When it was generated (RFC 3339).
    pub created_at: String,
    /// Account that last edited, approved or rejected it.
    pub reviewer: Option<String>,
    /// When it was last edited, approved or rejected (RFC 3339).
    pub reviewed_at: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Share of characters the reviewer changed (edited drafts).
    pub edit_share: Option<String>,
    /// The Markdown as drafted (only when one draft is read, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_text: Option<String>,
    /// The reviewer's edited version (only when one draft is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_text: Option<String>,
}

/// AI 输出可用率 and how much reviewers changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftStats {
    /// Drafts stored.
    pub drafts: i64,
    /// Drafts waiting for review.
    pub needs_review: i64,
    /// Drafts a reviewer edited and that await a decision.
    pub edited: i64,
    /// Approved drafts.
    pub approved: i64,
    /// Rejected drafts.
    pub rejected: i64,
    /// approved + rejected.
    pub reviewed: i64,
    /// approved ÷ reviewed, decimal string; null when nothing was reviewed.
    pub usable_rate: Option<String>,
    /// Mean share of characters edited over edited drafts, decimal string.
    pub mean_edit_share: Option<String>,
}

fn row(r: &rusqlite::Row<'_>, with_text: bool) -> rusqlite::Result<StoredDraft> {
    let files: String = r.get(8)?;
    Ok(StoredDraft {
        id: r.get(0)?,
        kind: r.get(1)?,
        subject: r.get(2)?,
        month: r.get(3)?,
        title: r.get(4)?,
        status: r.get(5)?,
        model: r.get(6)?,
        warnings: r.get(7)?,
        files: serde_json::from_str(&files).unwrap_or_default(),
        created_by: r.get(9)?,
        created_at: r.get(10)?,
        reviewer: r.get(11)?,
        reviewed_at: r.get(12)?,
        reason: r.get(13)?,
        edit_share: r.get(14)?,
        ai_text: if with_text { r.get(15)? } else { None },
        edited_text: if with_text { r.get(16)? } else { None },
    })
}

const COLS: &str = "id, kind, subject, month, title, status, model, warnings, files, created_by, created_at, reviewer, reviewed_at, reason, edit_share, ai_text, edited_text";

/// Stores a new draft as `needs_review`; returns its id.
pub fn save(store: &Store, draft: &Draft, markdown: &str, files: &[String], by: &str) -> Result<i64, DraftError> {
    let json = serde_json::to_string(draft).map_err(|e| DraftError::Invalid(e.to_string()))?;
    store.conn().execute(
        "INSERT INTO drafts(kind, subject, month, title, status, model, draft, ai_text, files, warnings, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, 'needs_review', ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            draft.kind.as_str(),
            draft.subject,
            draft.month,
            draft.title,
            draft.model,
            json,
            markdown,
            serde_json::to_string(files).unwrap_or_else(|_| "[]".into()),
            draft.warnings.len() as i64,
            by,
            now()
        ],
    )?;
    let id = store.conn().last_insert_rowid();
    store.audit(
        by,
        "draft_create",
        &serde_json::json!({"id": id, "kind": draft.kind.as_str(), "subject": draft.subject, "model": draft.model}),
    )?;
    Ok(id)
}

/// Records the files written for a draft.
pub fn set_files(store: &Store, id: i64, files: &[String]) -> Result<(), DraftError> {
    store.conn().execute(
        "UPDATE drafts SET files = ?1 WHERE id = ?2",
        params![serde_json::to_string(files).unwrap_or_default(), id],
    )?;
    Ok(())
}

/// Stored drafts, newest first, optionally only those with `status` (texts left out).
pub fn list(store: &Store, status: Option<&str>) -> Result<Vec<StoredDraft>, DraftError> {
    let mut st = store
        .conn()
        .prepare(&format!("SELECT {COLS} FROM drafts WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC"))?;
    let rows = st.query_map([status], |r| row(r, false))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Draft `id` with its texts; [`DraftError::NotFound`] if there is none.
pub fn get(store: &Store, id: i64) -> Result<StoredDraft, DraftError> {
    store
        .conn()
        .query_row(&format!("SELECT {COLS} FROM drafts WHERE id = ?1"), [id], |r| row(r, true))
        .optional()?
        .ok_or_else(|| DraftError::NotFound(format!("draft {id} (see `lodestar draft list`)")))
}

/// The stored draft JSON.
pub fn draft_json(store: &Store, id: i64) -> Result<serde_json::Value, DraftError> {
    let s: String = store
        .conn()
        .query_row("SELECT draft FROM drafts WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| DraftError::NotFound(format!("draft {id}")))?;
    serde_json::from_str(&s).map_err(|e| DraftError::Invalid(e.to_string()))
}

fn decide(store: &Store, id: i64, to: &str, reviewer: &str, reason: Option<&str>) -> Result<StoredDraft, DraftError> {
    let d = get(store, id)?;
    if d.status == "approved" || d.status == "rejected" {
        return Err(DraftError::Invalid(format!(
            "draft {id} is already {} (by {})",
            d.status,
            d.reviewer.unwrap_or_default()
        )));
    }
    store.conn().execute(
        "UPDATE drafts SET status = ?1, reviewer = ?2, reviewed_at = ?3, reason = ?4 WHERE id = ?5",
        params![to, reviewer, now(), reason, id],
    )?;
    let action = if to == "approved" { "draft_approve" } else { "draft_reject" };
    store.audit(reviewer, action, &serde_json::json!({"id": id, "reason": reason}))?;
    get(store, id)
}

/// Approves draft `id` (refused when already approved or rejected); audited.
pub fn approve(store: &Store, id: i64, reviewer: &str) -> Result<StoredDraft, DraftError> {
    decide(store, id, "approved", reviewer, None)
}

/// Rejects draft `id` with a reason (required); audited.
pub fn reject(store: &Store, id: i64, reviewer: &str, reason: &str) -> Result<StoredDraft, DraftError> {
    if reason.trim().is_empty() {
        return Err(DraftError::Invalid("a rejection needs a reason (--reason TEXT)".into()));
    }
    decide(store, id, "rejected", reviewer, Some(reason.trim()))
}

/// Share of characters changed between two texts: Levenshtein distance over characters ÷ the
/// longer length (0 = unchanged, 1 = all different).
pub fn edit_share(before: &str, after: &str) -> rust_decimal::Decimal {
    let a: Vec<char> = before.chars().collect();
    let b: Vec<char> = after.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return rust_decimal::Decimal::ZERO;
    }
    let dist = strsim::generic_levenshtein(&a, &b);
    rust_decimal::Decimal::from(dist as u64) / rust_decimal::Decimal::from(longest as u64)
}

/// Stores the reviewer's version; the draft stays open for approval or rejection.
pub fn edit(store: &Store, id: i64, reviewer: &str, text: &str) -> Result<StoredDraft, DraftError> {
    let d = get(store, id)?;
    if d.status == "approved" || d.status == "rejected" {
        return Err(DraftError::Invalid(format!("draft {id} is already {}", d.status)));
    }
    let share = edit_share(d.ai_text.as_deref().unwrap_or(""), text);
    store.conn().execute(
        "UPDATE drafts SET edited_text = ?1, edit_share = ?2, status = 'edited', reviewer = ?3, reviewed_at = ?4 WHERE id = ?5",
        params![text, share.round_dp(6).to_string(), reviewer, now(), id],
    )?;
    store.audit(reviewer, "draft_edit", &serde_json::json!({"id": id, "edit_share": share.round_dp(6).to_string()}))?;
    get(store, id)
}

/// Counts by status, AI 输出可用率 and the mean share edited.
pub fn stats(store: &Store) -> Result<DraftStats, DraftError> {
    let count = |status: &str| -> Result<i64, DraftError> {
        Ok(store.conn().query_row("SELECT COUNT(*) FROM drafts WHERE status = ?1", [status], |r| r.get(0))?)
    };
    let drafts: i64 = store.conn().query_row("SELECT COUNT(*) FROM drafts", [], |r| r.get(0))?;
    let (approved, rejected) = (count("approved")?, count("rejected")?);
    let reviewed = approved + rejected;
    let shares: Vec<rust_decimal::Decimal> = {
        let mut st = store.conn().prepare("SELECT edit_share FROM drafts WHERE edit_share IS NOT NULL")?;
        let v = st.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        v.iter().filter_map(|s| s.parse().ok()).collect()
    };
    let mean = (!shares.is_empty()).then(|| {
        (shares.iter().copied().sum::<rust_decimal::Decimal>() / rust_decimal::Decimal::from(shares.len() as u64))
            .to_string()
    });
    Ok(DraftStats {
        drafts,
        needs_review: count("needs_review")?,
        edited: count("edited")?,
        approved,
        rejected,
        reviewed,
        usable_rate: (reviewed > 0)
            .then(|| (rust_decimal::Decimal::from(approved) / rust_decimal::Decimal::from(reviewed)).to_string()),
        mean_edit_share: mean,
    })
}
