//! The action ledger (督办台账) in SQLite: meetings, items, their history, links across meetings and
//! the status updates that later minutes propose.
//!
//! Lifecycle: an item starts as 待办; `update` moves it to 进行中 / 已完成 / 延期 / 取消 with a
//! history row (who, when, note, new deadline). Importing later minutes never duplicates an open
//! item: an extracted item that repeats one (same type, overlapping owners, same customer, similar
//! wording) is **linked** to it; what the minutes say about open items (已完成, 延期至…, 已到账, 取消)
//! becomes a **proposed update**, applied only with `apply_updates` (after a person confirmed).

use crate::extract::{self, masked_description, mostly_latin, Signal};
use crate::scan::{Kind, Scanner};
use crate::text::{fold, jaccard};
use crate::{ActionItem, FieldSource, LedgerError, NaiveDate, Status};
use lodestar_core::Generator;
use lodestar_dict::Dictionaries;
use lodestar_store::rusqlite::{params, OptionalExtension, Row};
use lodestar_store::Store;
use serde::Serialize;
use sha2::Digest;
use std::collections::BTreeMap;

/// Migrations of the `ledger` component (index + 1 = version); never edit a released one.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE ledger_meetings (
    id INTEGER PRIMARY KEY,
    meeting TEXT NOT NULL,             -- 经营分析会, 销售会, …
    date TEXT NOT NULL,                -- ISO date of the meeting
    file TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    stats TEXT
);
CREATE TABLE ledger_items (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES ledger_meetings(id),
    seq INTEGER NOT NULL,
    description TEXT NOT NULL,
    type TEXT NOT NULL,
    country TEXT,
    customer TEXT,
    owners TEXT NOT NULL,              -- JSON array of names
    owner_ids TEXT NOT NULL,           -- JSON array of staff ids
    deadline TEXT,
    deadline_text TEXT,
    next_meeting INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    confidence REAL NOT NULL,
    needs_review INTEGER NOT NULL DEFAULT 1,
    missing TEXT NOT NULL,             -- JSON array
    field_sources TEXT NOT NULL,       -- JSON object
    status TEXT NOT NULL DEFAULT '待办',
    latest_note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ledger_items_status ON ledger_items(status);
CREATE TABLE ledger_history (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES ledger_items(id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    note TEXT,
    new_deadline TEXT,
    meeting_id INTEGER
);
CREATE TABLE ledger_links (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES ledger_items(id),
    meeting_id INTEGER NOT NULL REFERENCES ledger_meetings(id),
    source TEXT NOT NULL,
    similarity REAL NOT NULL
);
CREATE TABLE ledger_updates (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES ledger_meetings(id),
    item_id INTEGER NOT NULL REFERENCES ledger_items(id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    new_deadline TEXT,
    evidence TEXT NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0
);
"#,
    r#"
-- owners carry a role: supporting owners (协同人) beside the lead owners
ALTER TABLE ledger_items ADD COLUMN supporting_owners TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ledger_items ADD COLUMN supporting_owner_ids TEXT NOT NULL DEFAULT '[]';
"#,
];

/// Link threshold on masked character-bigram Jaccard when the customer is the same (tuned on
/// `tests/eval/minutes`; see `docs/ledger.md`).
pub const LINK_SAME_CUSTOMER: f64 = 0.05;
/// … when the customer is the same but at least one line does not name it (it was inherited from
/// an earlier sentence of the paragraph, `…。剩余15万美元欠款客户承诺…`): the words must carry more.
pub const LINK_INHERITED_CUSTOMER: f64 = 0.3;
/// … when neither names a customer but both name the same country.
pub const LINK_SAME_COUNTRY: f64 = 0.15;
/// … when neither names a customer nor a country.
pub const LINK_NO_CONTEXT: f64 = 0.35;

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The minutes file as given (a path, or the uploaded file's name), recorded with the meeting.
    pub file: String,
    /// Meeting kind: 经营分析会, 销售会, …
    pub meeting: String,
    /// Date of the meeting: relative deadlines (`下周五`, `月底前`) count from it.
    pub date: NaiveDate,
    /// Apply the proposed status updates (after a person confirmed them).
    pub apply_updates: bool,
    /// Who imports (history and audit log).
    pub who: String,
}

/// An extracted item that repeats an open ledger item.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedItem {
    /// The extracted item (not stored: the open item stands for it).
    pub item: ActionItem,
    /// Ledger id of the open item it repeats.
    pub linked_to: i64,
    /// That item's description.
    pub linked_description: String,
    /// Similarity of the two (masked character-bigram Jaccard, 3 decimals).
    pub similarity: f64,
}

/// A status change that minutes propose for an open item.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProposedUpdate {
    /// Id of the proposal (for `apply_update`); 0 in a preview.
    pub update_id: i64,
    /// Ledger id of the item it concerns.
    pub item_id: i64,
    /// That item's description.
    pub description: String,
    /// The item's status when the update was proposed.
    pub from_status: Status,
    /// The status the minutes report.
    pub to_status: Status,
    /// The new deadline of a delay, when the minutes give one.
    pub new_deadline: Option<NaiveDate>,
    /// The sentence of the minutes it comes from.
    pub evidence: String,
}

/// Counters of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportStats {
    /// Non-empty lines read.
    pub lines: usize,
    /// Clauses (sentences, list items, table rows) considered.
    pub clauses: usize,
    /// New items stored (repeats of open items are linked instead).
    pub items: usize,
    /// Extracted items linked to an open item.
    pub linked: usize,
    /// Status updates proposed.
    pub updates: usize,
    /// Extracted items without an owner.
    pub missing_owner: usize,
    /// Extracted items without a deadline.
    pub missing_deadline: usize,
    /// Items with owner + deadline + type / all extracted items (结构化率).
    pub structured_rate: Option<f64>,
    /// What the chat-model pass did, when a model ran.
    pub model: Option<crate::model::ModelReport>,
}

/// What `minutes import` returns (the JSON of `lodestar minutes import --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Ledger id of the meeting; 0 in a preview.
    pub meeting_id: i64,
    /// Meeting kind (经营分析会, 销售会 …).
    pub meeting: String,
    /// Date of the meeting.
    pub date: NaiveDate,
    /// The minutes file as given at import.
    pub file: String,
    /// New items stored, with their ledger ids (`None` in a preview).
    pub items: Vec<ActionItem>,
    /// Extracted items that repeat an open item, and which.
    pub linked: Vec<LinkedItem>,
    /// Status updates proposed for open items.
    pub updates: Vec<ProposedUpdate>,
    /// Whether the proposed updates were applied.
    pub applied: bool,
    /// Counters of the import.
    pub stats: ImportStats,
}

/// One ledger row with its meeting and computed flags.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerItem {
    /// Ledger id of the item.
    pub id: i64,
    /// The meeting it was first recorded at.
    pub meeting_id: i64,
    /// That meeting's kind (经营分析会 …).
    pub meeting: String,
    /// That meeting's date.
    pub meeting_date: NaiveDate,
    /// 事项内容.
    pub description: String,
    /// 事项类型: a tag name (`回款风险`).
    #[serde(rename = "type")]
    pub item_type: String,
    /// Country code (`RU`).
    pub country: Option<String>,
    /// Customer id (`C001`).
    pub customer: Option<String>,
    /// Owner names (负责人), as in [`ActionItem::owners`].
    pub owners: Vec<String>,
    /// Staff ids of the owners the staff dictionary resolved.
    pub owner_ids: Vec<String>,
    /// Supporting owners (协同人) and their staff ids.
    pub supporting_owners: Vec<String>,
    /// Staff ids of the supporting owners.
    pub supporting_owner_ids: Vec<String>,
    /// 截止日期.
    pub deadline: Option<NaiveDate>,
    /// The words the deadline came from (`9月底前`, `下次会议前`).
    pub deadline_text: Option<String>,
    /// The deadline is "before the next meeting" (a checkpoint without a date).
    pub next_meeting_checkpoint: bool,
    /// Current status (事项状态).
    pub status: Status,
    /// 最新进展: the latest history note.
    pub latest_note: Option<String>,
    /// 更新时间.
    pub updated_at: String,
    /// When the item entered the ledger (RFC 3339).
    pub created_at: String,
    /// The sentence, list item or table row of the minutes it came from.
    pub source: String,
    /// 0..1: how sure the extractor was.
    pub confidence: f64,
    /// Whether a person still has to confirm it (set on every imported item).
    pub needs_review: bool,
    /// Fields left empty: `owner`, `deadline`.
    pub missing: Vec<String>,
    /// Field → `rule` | `model`.
    pub field_sources: BTreeMap<String, FieldSource>,
    /// Open with a deadline before the as-of date.
    pub overdue: bool,
    /// Later meetings that repeated this item.
    pub mentions: i64,
}

/// One history row (变更记录).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who made the change: the account that imported the minutes or ran the update.
    pub who: String,
    /// Status before; `None` on the row that created the item and on notes from later minutes.
    pub from_status: Option<Status>,
    /// Status after; `None` on a note from later minutes (a repeat mention, a deadline supplied).
    pub to_status: Option<Status>,
    /// What happened, in words (`2026-09-07 经营分析会 新增`, an update's note).
    pub note: Option<String>,
    /// The deadline set by this change, if any.
    pub new_deadline: Option<NaiveDate>,
    /// The meeting whose minutes caused the change; `None` for a manual update.
    pub meeting_id: Option<i64>,
}

/// A meeting in the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingRow {
    /// Ledger id of the meeting.
    pub id: i64,
    /// Meeting kind (经营分析会, 销售会 …).
    pub meeting: String,
    /// Date of the meeting.
    pub date: NaiveDate,
    /// The minutes file as given at import.
    pub file: String,
    /// When it was imported (RFC 3339).
    pub imported_at: String,
}

/// Filters of `ledger list`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Country code or name.
    pub country: Option<String>,
    /// Staff id, name or alias.
    pub owner: Option<String>,
    /// Tag name or code.
    pub item_type: Option<String>,
    /// Only items with this status.
    pub status: Option<Status>,
    /// Only open items past their deadline (as of `as_of`).
    pub overdue: bool,
    /// Only items first recorded at this meeting.
    pub meeting_id: Option<i64>,
    /// Only items of meetings on or after this date.
    pub since: Option<NaiveDate>,
}

/// The ledger over a store.
pub struct Ledger<'a> {
    store: &'a mut Store,
}

fn parse_day(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

fn status_from(s: &str) -> Status {
    Status::parse(s).unwrap_or(Status::Todo)
}

impl<'a> Ledger<'a> {
    /// Opens the ledger, creating its tables (component `ledger`) if needed.
    pub fn open(store: &'a mut Store) -> Result<Self, LedgerError> {
        store.migrate_component("ledger", MIGRATIONS)?;
        Ok(Self { store })
    }

    /// The store the ledger lives in.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Imports minutes: extracts items (rules, then the model when given), links repeats of open
    /// items, proposes status updates and (with `apply_updates`) applies them.
    pub fn import(
        &mut self,
        text: &str,
        opts: &ImportOptions,
        d: &Dictionaries,
        model: Option<&dyn Generator>,
    ) -> Result<ImportReport, LedgerError> {
        self.import_with(text, opts, d, model, None, false)
    }

    /// What [`Ledger::import`] would store — items, links to open items, proposed updates — with
    /// nothing stored (the web's review step: a person checks every item before it enters the
    /// ledger). Ids in the report are `None` / 0.
    pub fn preview(
        &mut self,
        text: &str,
        opts: &ImportOptions,
        d: &Dictionaries,
        model: Option<&dyn Generator>,
    ) -> Result<ImportReport, LedgerError> {
        self.import_with(text, opts, d, model, None, true)
    }

    /// Imports minutes with the items a person reviewed (kept, edited or dropped) instead of
    /// extracting them again; links and proposed status updates still come from the text.
    pub fn import_reviewed(
        &mut self,
        text: &str,
        items: Vec<ActionItem>,
        opts: &ImportOptions,
        d: &Dictionaries,
    ) -> Result<ImportReport, LedgerError> {
        self.import_with(text, opts, d, None, Some(items), false)
    }

    fn import_with(
        &mut self,
        text: &str,
        opts: &ImportOptions,
        d: &Dictionaries,
        model: Option<&dyn Generator>,
        reviewed: Option<Vec<ActionItem>>,
        dry_run: bool,
    ) -> Result<ImportReport, LedgerError> {
        let hash = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        let dup: Option<i64> = self
            .store
            .conn()
            .query_row(
                "SELECT id FROM ledger_meetings WHERE content_hash = ?1 AND date = ?2",
                params![hash, opts.date.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = dup {
            return Err(LedgerError::Invalid(format!(
                "these minutes were already imported as meeting {id} (same text and date); nothing changed"
            )));
        }
        let analysis = extract::analyze(text, opts.date, d);
        let (items, model_report) = match (reviewed, model) {
            (Some(items), _) => (items, None),
            (None, Some(g)) => {
                let (it, rep) = crate::model::merge_with_model(analysis.items.clone(), text, opts.date, d, g);
                (it, Some(rep))
            }
            (None, None) => (analysis.items.clone(), None),
        };
        let scanner = Scanner::new(d);
        let types = extract::TypeRules::new(d);
        let open = self.open_items_before()?;
        let open_masked: Vec<String> =
            open.iter().map(|o| masked_description(&o.description, o.meeting_date, &scanner)).collect();

        // 1. where each status signal points
        let mut targets: Vec<(usize, usize, f64)> = Vec::new(); // (signal, open index, score)
        for (si, s) in analysis.signals.iter().enumerate() {
            if let Some(t) = best_target(s, &open, &open_masked, &types) {
                targets.push((si, t.0, t.1));
            }
        }
        let closing: Vec<usize> = targets
            .iter()
            .filter(|(si, _, _)| matches!(analysis.signals[*si].to_status, Status::Done | Status::Cancelled))
            .map(|t| t.1)
            .collect();

        // 2. links (repeats of open items)
        let now = lodestar_store::now();
        let tx = self.store.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO ledger_meetings(meeting, date, file, content_hash, imported_at, imported_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![opts.meeting, opts.date.to_string(), opts.file, hash, now, opts.who],
        )?;
        let meeting_id = tx.last_insert_rowid();
        let mut stored: Vec<ActionItem> = Vec::new();
        let mut linked: Vec<LinkedItem> = Vec::new();
        let mut link_of_item: BTreeMap<usize, usize> = BTreeMap::new();
        for (ix, it) in items.iter().enumerate() {
            let masked = masked_description(&it.description, opts.date, &scanner);
            let best = open
                .iter()
                .enumerate()
                .filter(|(oi, _)| !closing.contains(oi))
                .filter_map(|(oi, o)| {
                    let named = names_customer(&it.source, it.customer.as_deref(), &scanner)
                        && names_customer(&o.source, o.customer.as_deref(), &scanner);
                    link_score(it, &masked, o, &open_masked[oi], named).map(|s| (oi, s))
                })
                .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
            if let Some((oi, sim)) = best {
                let o = &open[oi];
                tx.execute(
                    "INSERT INTO ledger_links(item_id, meeting_id, source, similarity) VALUES (?1, ?2, ?3, ?4)",
                    params![o.id, meeting_id, it.source, sim],
                )?;
                tx.execute(
                    "INSERT INTO ledger_history(item_id, at, who, note, meeting_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        o.id,
                        now,
                        opts.who,
                        format!("{} {} 再次提及：{}", opts.date, opts.meeting, it.source),
                        meeting_id
                    ],
                )?;
                tx.execute(
                    "UPDATE ledger_items SET latest_note = ?2, updated_at = ?3 WHERE id = ?1",
                    params![o.id, format!("{} {}：{}", opts.date, opts.meeting, it.description), now],
                )?;
                // the repeat names a deadline the open item lacked: the item takes it
                if let (None, Some(nd)) = (o.deadline, it.deadline) {
                    let missing: Vec<&String> = o.missing.iter().filter(|m| *m != "deadline").collect();
                    tx.execute(
                        "UPDATE ledger_items SET deadline = ?2, deadline_text = ?3, missing = ?4 WHERE id = ?1",
                        params![o.id, nd.to_string(), it.deadline_text, serde_json::to_string(&missing)?],
                    )?;
                    tx.execute(
                        "INSERT INTO ledger_history(item_id, at, who, note, new_deadline, meeting_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            o.id,
                            now,
                            opts.who,
                            format!("{} {} 补充截止日期", opts.date, opts.meeting),
                            nd.to_string(),
                            meeting_id
                        ],
                    )?;
                }
                link_of_item.insert(ix, oi);
                linked.push(LinkedItem {
                    item: it.clone(),
                    linked_to: o.id,
                    linked_description: o.description.clone(),
                    similarity: (sim * 1000.0).round() / 1000.0,
                });
                continue;
            }
            let mut it = it.clone();
            tx.execute(
                "INSERT INTO ledger_items(meeting_id, seq, description, type, country, customer, owners, owner_ids, deadline,
                   deadline_text, next_meeting, source, confidence, needs_review, missing, field_sources, status, created_at, updated_at,
                   supporting_owners, supporting_owner_ids)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?15, '待办', ?16, ?16, ?17, ?18)",
                params![
                    meeting_id,
                    stored.len() as i64 + 1,
                    it.description,
                    it.item_type,
                    it.country,
                    it.customer,
                    serde_json::to_string(&it.owners)?,
                    serde_json::to_string(&it.owner_ids)?,
                    it.deadline.map(|d| d.to_string()),
                    it.deadline_text,
                    it.next_meeting_checkpoint as i64,
                    it.source,
                    it.confidence,
                    serde_json::to_string(&it.missing)?,
                    serde_json::to_string(&it.field_sources)?,
                    now,
                    serde_json::to_string(&it.supporting_owners)?,
                    serde_json::to_string(&it.supporting_owner_ids)?
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO ledger_history(item_id, at, who, to_status, note, new_deadline, meeting_id) VALUES (?1, ?2, ?3, '待办', ?4, ?5, ?6)",
                params![id, now, opts.who, format!("{} {} 新增", opts.date, opts.meeting), it.deadline.map(|d| d.to_string()), meeting_id],
            )?;
            it.id = Some(id);
            stored.push(it);
        }

        // 3. proposed updates, one per item (cancel > delay with date > done > delay > progress)
        let rank = |s: Status, d: Option<NaiveDate>| match (s, d) {
            (Status::Cancelled, _) => 5,
            (Status::Delayed, Some(_)) => 4,
            (Status::Done, _) => 3,
            (Status::Delayed, None) => 2,
            _ => 1,
        };
        let mut per_item: BTreeMap<usize, &Signal> = BTreeMap::new();
        for (si, oi, _) in &targets {
            let s = &analysis.signals[*si];
            let better = per_item
                .get(oi)
                .is_none_or(|cur| rank(s.to_status, s.new_deadline) > rank(cur.to_status, cur.new_deadline));
            if better {
                per_item.insert(*oi, s);
            }
        }
        let mut updates = Vec::new();
        for (oi, s) in per_item {
            let o = &open[oi];
            if o.status == s.to_status && (s.new_deadline.is_none() || s.new_deadline == o.deadline) {
                continue;
            }
            tx.execute(
                "INSERT INTO ledger_updates(meeting_id, item_id, from_status, to_status, new_deadline, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![meeting_id, o.id, o.status.label(), s.to_status.label(), s.new_deadline.map(|d| d.to_string()), s.evidence],
            )?;
            updates.push(ProposedUpdate {
                update_id: tx.last_insert_rowid(),
                item_id: o.id,
                description: o.description.clone(),
                from_status: o.status,
                to_status: s.to_status,
                new_deadline: s.new_deadline,
                evidence: s.evidence.clone(),
            });
        }
        let n_items = items.len();
        let structured =
            items.iter().filter(|i| !i.owner_ids.is_empty() && i.deadline.is_some() && !i.item_type.is_empty()).count();
        let stats = ImportStats {
            lines: analysis.lines,
            clauses: analysis.clauses,
            items: stored.len(),
            linked: linked.len(),
            updates: updates.len(),
            missing_owner: items.iter().filter(|i| i.missing.iter().any(|m| m == "owner")).count(),
            missing_deadline: items.iter().filter(|i| i.missing.iter().any(|m| m == "deadline")).count(),
            structured_rate: (n_items > 0).then(|| structured as f64 / n_items as f64),
            model: model_report,
        };
        tx.execute(
            "UPDATE ledger_meetings SET stats = ?2 WHERE id = ?1",
            params![meeting_id, serde_json::to_string(&stats)?],
        )?;
        if dry_run {
            drop(tx); // rolled back: nothing of the preview is stored
            for it in &mut stored {
                it.id = None;
            }
            for u in &mut updates {
                u.update_id = 0;
            }
            return Ok(ImportReport {
                meeting_id: 0,
                meeting: opts.meeting.clone(),
                date: opts.date,
                file: opts.file.clone(),
                items: stored,
                linked,
                updates,
                applied: false,
                stats,
            });
        }
        // the audit entry commits with the meeting: a crash cannot leave an unaudited import
        tx.execute(
            "INSERT INTO audit_log(at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![
                now,
                opts.who,
                "minutes_import",
                serde_json::json!({"meeting_id": meeting_id, "file": opts.file, "items": stored.len(), "linked": linked.len(), "updates": updates.len(), "applied": opts.apply_updates}).to_string()
            ],
        )?;
        lodestar_core::testhook::pause_point("minutes.before_commit");
        tx.commit()?;
        lodestar_core::testhook::pause_point("minutes.after_commit");
        if opts.apply_updates {
            for u in &updates {
                self.apply_update(u.update_id, &opts.who)?;
            }
        }
        Ok(ImportReport {
            meeting_id,
            meeting: opts.meeting.clone(),
            date: opts.date,
            file: opts.file.clone(),
            items: stored,
            linked,
            updates,
            applied: opts.apply_updates,
            stats,
        })
    }

    /// Applies one proposed update (from `ledger_updates`), with a history row.
    pub fn apply_update(&mut self, update_id: i64, who: &str) -> Result<LedgerItem, LedgerError> {
        type Pending = (i64, i64, String, Option<String>, String, i64, String, String);
        let row: Option<Pending> = self
            .store
            .conn()
            .query_row(
                "SELECT u.item_id, u.meeting_id, u.to_status, u.new_deadline, u.evidence, u.applied, m.meeting, m.date
                 FROM ledger_updates u JOIN ledger_meetings m ON m.id = u.meeting_id WHERE u.id = ?1",
                [update_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)),
            )
            .optional()?;
        let Some((item_id, meeting_id, to, nd, evidence, applied, meeting, date)) = row else {
            return Err(LedgerError::NotFound(format!("proposed update {update_id}")));
        };
        if applied != 0 {
            return self.get(item_id, None);
        }
        let note = format!("{date} {meeting}：{evidence}");
        let item = self.change(item_id, Some(status_from(&to)), parse_day(nd), Some(&note), who, Some(meeting_id))?;
        self.store.conn().execute("UPDATE ledger_updates SET applied = 1 WHERE id = ?1", [update_id])?;
        Ok(item)
    }

    /// Applies every pending proposed update of a meeting.
    pub fn apply_pending(&mut self, meeting_id: i64, who: &str) -> Result<Vec<LedgerItem>, LedgerError> {
        let ids: Vec<i64> = {
            let mut st = self
                .store
                .conn()
                .prepare("SELECT id FROM ledger_updates WHERE meeting_id = ?1 AND applied = 0 ORDER BY id")?;
            let rows = st.query_map([meeting_id], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        ids.into_iter().map(|id| self.apply_update(id, who)).collect()
    }

    /// Changes an item's status and/or deadline with a note (`ledger update`); every change leaves a
    /// history row.
    pub fn update(
        &mut self,
        id: i64,
        status: Option<Status>,
        deadline: Option<NaiveDate>,
        note: Option<&str>,
        who: &str,
    ) -> Result<LedgerItem, LedgerError> {
        if status.is_none() && deadline.is_none() && note.is_none() {
            return Err(LedgerError::Invalid("nothing to change: give --status, --deadline or --note".into()));
        }
        let item = self.change(id, status, deadline, note, who, None)?;
        self.store.audit(
            who,
            "ledger_update",
            &serde_json::json!({"item": id, "status": status.map(|s| s.label()), "deadline": deadline.map(|d| d.to_string()), "note": note}),
        )?;
        Ok(item)
    }

    fn change(
        &mut self,
        id: i64,
        status: Option<Status>,
        deadline: Option<NaiveDate>,
        note: Option<&str>,
        who: &str,
        meeting_id: Option<i64>,
    ) -> Result<LedgerItem, LedgerError> {
        let cur = self.get(id, None)?;
        let now = lodestar_store::now();
        let tx = self.store.conn_mut().transaction()?;
        let to = status.unwrap_or(cur.status);
        tx.execute(
            "UPDATE ledger_items SET status = ?2, deadline = COALESCE(?3, deadline), latest_note = COALESCE(?4, latest_note), updated_at = ?5 WHERE id = ?1",
            params![id, to.label(), deadline.map(|d| d.to_string()), note, now],
        )?;
        tx.execute(
            "INSERT INTO ledger_history(item_id, at, who, from_status, to_status, note, new_deadline, meeting_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, now, who, cur.status.label(), to.label(), note, deadline.map(|d| d.to_string()), meeting_id],
        )?;
        tx.commit()?;
        self.get(id, None)
    }

    /// One item (as of `as_of` for the overdue flag; default today).
    pub fn get(&self, id: i64, as_of: Option<NaiveDate>) -> Result<LedgerItem, LedgerError> {
        let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
        self.store
            .conn()
            .query_row(&format!("{SELECT} WHERE i.id = ?1"), [id], |r| row_item(r, as_of))
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(format!("ledger item {id}")))
    }

    /// The history of an item, oldest first.
    pub fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, LedgerError> {
        let mut st = self.store.conn().prepare(
            "SELECT at, who, from_status, to_status, note, new_deadline, meeting_id FROM ledger_history WHERE item_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(HistoryEntry {
                at: r.get(0)?,
                who: r.get(1)?,
                from_status: r.get::<_, Option<String>>(2)?.map(|s| status_from(&s)),
                to_status: r.get::<_, Option<String>>(3)?.map(|s| status_from(&s)),
                note: r.get(4)?,
                new_deadline: parse_day(r.get(5)?),
                meeting_id: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items matching a filter, as of a date (for `overdue`), in ledger order (id).
    pub fn list(&self, f: &ListFilter, as_of: NaiveDate, d: &Dictionaries) -> Result<Vec<LedgerItem>, LedgerError> {
        let mut st = self.store.conn().prepare(&format!("{SELECT} ORDER BY i.id"))?;
        let rows = st.query_map([], |r| row_item(r, as_of))?;
        let all: Vec<LedgerItem> = rows.collect::<Result<_, _>>()?;
        let country = f
            .country
            .as_ref()
            .map(|c| d.resolve_country(c).map(|x| x.code.clone()).unwrap_or_else(|| c.to_uppercase()));
        let owner = f.owner.as_ref().map(|o| d.resolve_staff(o).map(|s| s.id.clone()).unwrap_or_else(|| o.clone()));
        let tag = f.item_type.as_ref().map(|t| d.tag_by_name(t).map(|x| x.name.clone()).unwrap_or_else(|| t.clone()));
        Ok(all
            .into_iter()
            .filter(|i| country.as_ref().is_none_or(|c| i.country.as_ref() == Some(c)))
            .filter(|i| owner.as_ref().is_none_or(|o| i.owner_ids.contains(o) || i.owners.contains(o)))
            .filter(|i| tag.as_ref().is_none_or(|t| &i.item_type == t))
            .filter(|i| f.status.is_none_or(|s| i.status == s))
            .filter(|i| !f.overdue || i.overdue)
            .filter(|i| f.meeting_id.is_none_or(|m| i.meeting_id == m))
            .filter(|i| f.since.is_none_or(|s| i.meeting_date >= s))
            .collect())
    }

    /// All meetings, oldest first.
    pub fn meetings(&self) -> Result<Vec<MeetingRow>, LedgerError> {
        let mut st = self
            .store
            .conn()
            .prepare("SELECT id, meeting, date, file, imported_at FROM ledger_meetings ORDER BY date, id")?;
        let rows = st.query_map([], |r| {
            Ok(MeetingRow {
                id: r.get(0)?,
                meeting: r.get(1)?,
                date: parse_day(r.get(2)?).unwrap_or_default(),
                file: r.get(3)?,
                imported_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Proposed updates of a meeting.
    pub fn proposed_updates(&self, meeting_id: i64) -> Result<Vec<(ProposedUpdate, bool)>, LedgerError> {
        let mut st = self.store.conn().prepare(
            "SELECT u.id, u.item_id, i.description, u.from_status, u.to_status, u.new_deadline, u.evidence, u.applied
             FROM ledger_updates u JOIN ledger_items i ON i.id = u.item_id WHERE u.meeting_id = ?1 ORDER BY u.id",
        )?;
        let rows = st.query_map([meeting_id], |r| {
            Ok((
                ProposedUpdate {
                    update_id: r.get(0)?,
                    item_id: r.get(1)?,
                    description: r.get(2)?,
                    from_status: status_from(&r.get::<_, String>(3)?),
                    to_status: status_from(&r.get::<_, String>(4)?),
                    new_deadline: parse_day(r.get(5)?),
                    evidence: r.get(6)?,
                },
                r.get::<_, i64>(7)? != 0,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn open_items_before(&self) -> Result<Vec<LedgerItem>, LedgerError> {
        let today = chrono::Local::now().date_naive();
        let mut st = self
            .store
            .conn()
            .prepare(&format!("{SELECT} WHERE i.status IN ('待办', '进行中', '延期') ORDER BY i.id"))?;
        let rows = st.query_map([], |r| row_item(r, today))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

const SELECT: &str = "SELECT i.id, i.meeting_id, m.meeting, m.date, i.description, i.type, i.country, i.customer, i.owners, i.owner_ids,
    i.deadline, i.deadline_text, i.next_meeting, i.status, i.latest_note, i.updated_at, i.created_at, i.source, i.confidence,
    i.needs_review, i.missing, i.field_sources,
    (SELECT COUNT(*) FROM ledger_links l WHERE l.item_id = i.id), i.supporting_owners, i.supporting_owner_ids
    FROM ledger_items i JOIN ledger_meetings m ON m.id = i.meeting_id";

fn row_item(r: &Row, as_of: NaiveDate) -> lodestar_store::rusqlite::Result<LedgerItem> {
    let json_vec = |s: String| serde_json::from_str::<Vec<String>>(&s).unwrap_or_default();
    let status = status_from(&r.get::<_, String>(13)?);
    let deadline = parse_day(r.get(10)?);
    Ok(LedgerItem {
        id: r.get(0)?,
        meeting_id: r.get(1)?,
        meeting: r.get(2)?,
        meeting_date: parse_day(r.get(3)?).unwrap_or_default(),
        description: r.get(4)?,
        item_type: r.get(5)?,
        country: r.get(6)?,
        customer: r.get(7)?,
        owners: json_vec(r.get(8)?),
        owner_ids: json_vec(r.get(9)?),
        supporting_owners: json_vec(r.get(23)?),
        supporting_owner_ids: json_vec(r.get(24)?),
        deadline,
        deadline_text: r.get(11)?,
        next_meeting_checkpoint: r.get::<_, i64>(12)? != 0,
        status,
        latest_note: r.get(14)?,
        updated_at: r.get(15)?,
        created_at: r.get(16)?,
        source: r.get(17)?,
        confidence: r.get(18)?,
        needs_review: r.get::<_, i64>(19)? != 0,
        missing: json_vec(r.get(20)?),
        field_sources: serde_json::from_str(&r.get::<_, String>(21)?).unwrap_or_default(),
        overdue: status.is_open() && deadline.is_some_and(|d| d < as_of),
        mentions: r.get(22)?,
    })
}

/// Whether an extracted item repeats an open item, and how similar they are. Same type and
/// overlapping owners (or both without owner) are required; then the customer decides the bar:
/// same customer named in both lines → [`LINK_SAME_CUSTOMER`]; same customer but inherited on one
/// side (`customer_named` false) → [`LINK_INHERITED_CUSTOMER`]; no customer on either side but the same country →
/// [`LINK_SAME_COUNTRY`]; neither → [`LINK_NO_CONTEXT`]. Texts in different scripts (an English
/// line repeating a Chinese one) cannot be compared by bigrams, so there the fields decide alone.
pub fn link_score(it: &ActionItem, masked: &str, o: &LedgerItem, o_masked: &str, customer_named: bool) -> Option<f64> {
    if it.item_type != o.item_type {
        return None;
    }
    let owners_ok = if it.owner_ids.is_empty() && o.owner_ids.is_empty() {
        it.owners == o.owners
    } else {
        it.owner_ids.iter().any(|x| o.owner_ids.contains(x))
    };
    if !owners_ok {
        return None;
    }
    let sim = jaccard(masked, o_masked);
    let cross_script = mostly_latin(masked) != mostly_latin(o_masked);
    let bar = match (&it.customer, &o.customer) {
        (Some(a), Some(b)) if a == b && customer_named => LINK_SAME_CUSTOMER,
        (Some(a), Some(b)) if a == b => LINK_INHERITED_CUSTOMER,
        (None, None) => match (&it.country, &o.country) {
            (Some(a), Some(b)) if a == b => LINK_SAME_COUNTRY,
            (None, None) => LINK_NO_CONTEXT,
            _ => return None,
        },
        _ => return None,
    };
    if sim >= bar || (cross_script && (it.customer.is_some() || it.country.is_some())) {
        Some(sim)
    } else {
        None
    }
}

/// Whether `source` itself names the customer `id` (rather than inheriting it from an earlier
/// sentence of its paragraph).
fn names_customer(source: &str, id: Option<&str>, scanner: &Scanner) -> bool {
    id.is_some_and(|id| scanner.scan(&fold(source)).iter().any(|m| m.kind == Kind::Customer && m.id == id))
}

/// Status and filler words a shared phrase must not consist of (正在进行, 继续跟进 …).
const GENERIC_HAN: &str = "正在进行中已完成继续跟进推进负责取消延期客户会议要求情况目前本周下周月底前";

/// Length (in Han characters) of the longest run of Han characters both texts share, not counting
/// runs made only of status and filler words.
fn common_han_run(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let mut best = 0;
    let mut i = 0;
    while i < a.len() {
        if !crate::text::is_han(a[i]) {
            i += 1;
            continue;
        }
        let mut n = 0;
        let mut probe = String::new();
        while i + n < a.len() && crate::text::is_han(a[i + n]) {
            probe.push(a[i + n]);
            if !b.contains(probe.as_str()) {
                break;
            }
            n += 1;
            if n > best && !probe.chars().all(|c| GENERIC_HAN.contains(c)) {
                best = n;
            }
        }
        i += 1;
    }
    best
}

/// The open item a status signal talks about, with a score.
fn best_target(
    s: &Signal,
    open: &[LedgerItem],
    open_masked: &[String],
    types: &extract::TypeRules,
) -> Option<(usize, f64)> {
    let tag_name = s.tag.as_deref().and_then(|c| types.name_of(c));
    open.iter()
        .enumerate()
        .filter_map(|(i, o)| {
            // texts in different scripts cannot be compared by bigrams: an unknown, not a zero, similarity
            let sim = if mostly_latin(&s.masked) != mostly_latin(&open_masked[i]) {
                0.1
            } else {
                jaccard(&s.masked, &open_masked[i])
            };
            let owner = s.staff.iter().any(|x| o.owner_ids.contains(x));
            let same_type = tag_name.is_some_and(|t| t == o.item_type);
            let score = match (&s.customer, &o.customer) {
                (Some(a), Some(b)) if a == b && (sim >= 0.1 || owner || same_type) => {
                    0.5 + sim + if owner { 0.2 } else { 0.0 } + if same_type { 0.3 } else { 0.0 }
                }
                (Some(_), _) => return None,
                (None, _) if sim >= 0.3 || (sim >= 0.2 && owner) => sim + if owner { 0.2 } else { 0.0 },
                // no customer named: a shared key phrase (`冬季胎推广方案`, `预算编制`) together with a
                // matching country, owner or type (`韩国冬季胎推广方案因客户库存充足，取消`)
                (None, _) => {
                    let country_clash = matches!((&s.country, &o.country), (Some(a), Some(b)) if a != b);
                    let country_same = s.country.is_some() && s.country == o.country;
                    let run = common_han_run(&s.masked, &open_masked[i]);
                    let support = usize::from(country_same) + usize::from(owner) + usize::from(same_type);
                    if country_clash || !(run >= 6 || (run >= 4 && support >= 1)) {
                        return None;
                    }
                    0.1 * run.min(8) as f64
                        + sim
                        + if owner { 0.2 } else { 0.0 }
                        + if same_type { 0.1 } else { 0.0 }
                        + if country_same { 0.1 } else { 0.0 }
                }
            };
            Some((i, score))
        })
        .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        crate::parse_date(s).unwrap()
    }

    fn opts(date: &str) -> ImportOptions {
        ImportOptions {
            file: format!("{date}.md"),
            meeting: "经营分析会".into(),
            date: day(date),
            apply_updates: false,
            who: "ops".into(),
        }
    }

    const FIRST: &str = "## 行动项\n1. 西伯利亚物流 12 万美元尾款催收。责任人：张伟；截止：9 月 15 日。\n2. 乌拉尔矿业年度框架协议谈判方案。责任人：唐志强；截止：10 月 15 日。\n3. 逾期应收清单逐户核对。责任人：冯雪；截止：9 月 11 日。\n";
    const SECOND: &str = "## 上期事项跟踪\n- 西伯利亚物流尾款：已全部到账，关闭。\n- 乌拉尔矿业框架协议谈判方案：延期至 10 月 31 日。\n## 行动项\n1. 乌拉尔矿业框架协议谈判方案，10 月 31 日前提交审批。责任人：唐志强。\n2. 喀山轮胎贸易货款催收。责任人：孙晓东；截止：10 月 20 日。\n";

    #[test]
    fn lifecycle_keeps_a_history() {
        let d = Dictionaries::builtin().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let mut l = Ledger::open(&mut store).unwrap();
        let rep = l.import(FIRST, &opts("2026-09-07"), &d, None).unwrap();
        assert_eq!(rep.items.len(), 3);
        let id = rep.items[0].id.unwrap();
        assert_eq!(l.get(id, None).unwrap().status, Status::Todo);
        l.update(id, Some(Status::InProgress), None, Some("客户确认付款计划"), "zhangwei").unwrap();
        l.update(id, Some(Status::Delayed), Some(day("2026-09-30")), Some("客户资金紧张"), "zhangwei").unwrap();
        let it = l.update(id, Some(Status::Done), None, Some("已到账"), "zhangwei").unwrap();
        assert_eq!(it.status, Status::Done);
        assert_eq!(it.deadline, Some(day("2026-09-30")));
        assert_eq!(it.latest_note.as_deref(), Some("已到账"));
        let h = l.history(id).unwrap();
        // created + three changes, in order, each with who and note
        let steps: Vec<(Option<Status>, Option<Status>)> = h.iter().map(|e| (e.from_status, e.to_status)).collect();
        assert_eq!(
            steps,
            vec![
                (None, Some(Status::Todo)),
                (Some(Status::Todo), Some(Status::InProgress)),
                (Some(Status::InProgress), Some(Status::Delayed)),
                (Some(Status::Delayed), Some(Status::Done)),
            ]
        );
        assert_eq!(h[2].new_deadline, Some(day("2026-09-30")));
        assert_eq!(h[3].who, "zhangwei");
        assert!(l.update(id, None, None, None, "x").is_err());
        assert!(l.update(9999, Some(Status::Done), None, None, "x").is_err());
    }

    #[test]
    fn later_minutes_link_repeats_and_propose_updates() {
        let d = Dictionaries::builtin().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let mut l = Ledger::open(&mut store).unwrap();
        let first = l.import(FIRST, &opts("2026-09-07"), &d, None).unwrap();
        let (sibir, ural) = (first.items[0].id.unwrap(), first.items[1].id.unwrap());
        let second = l.import(SECOND, &opts("2026-10-13"), &d, None).unwrap();
        // the repeated Ural item is linked, not duplicated; the Kazan item is new
        assert_eq!(second.linked.len(), 1, "{:#?}", second.linked);
        assert_eq!(second.linked[0].linked_to, ural);
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.items[0].customer.as_deref(), Some("C010"));
        // proposed, not applied
        let ups: Vec<(i64, Status, Option<NaiveDate>)> =
            second.updates.iter().map(|u| (u.item_id, u.to_status, u.new_deadline)).collect();
        assert!(ups.contains(&(sibir, Status::Done, None)), "{ups:?}");
        assert!(ups.contains(&(ural, Status::Delayed, Some(day("2026-10-31")))), "{ups:?}");
        assert_eq!(l.get(sibir, None).unwrap().status, Status::Todo);
        assert!(!second.applied);
        // applied after confirmation
        let applied = l.apply_pending(second.meeting_id, "ops").unwrap();
        assert_eq!(applied.len(), 2);
        assert_eq!(l.get(sibir, None).unwrap().status, Status::Done);
        let u = l.get(ural, None).unwrap();
        assert_eq!((u.status, u.deadline), (Status::Delayed, Some(day("2026-10-31"))));
        assert_eq!(u.mentions, 1);
        // the same file again changes nothing
        assert!(l.import(SECOND, &opts("2026-10-13"), &d, None).is_err());
        assert_eq!(l.list(&ListFilter::default(), day("2026-10-13"), &d).unwrap().len(), 4);
    }

    #[test]
    fn list_filters_and_overdue() {
        let d = Dictionaries::builtin().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let mut l = Ledger::open(&mut store).unwrap();
        l.import(FIRST, &opts("2026-09-07"), &d, None).unwrap();
        let as_of = day("2026-09-20");
        // deadlines 09-15 and 09-11 are past on 09-20, 10-15 is not
        let overdue = l.list(&ListFilter { overdue: true, ..Default::default() }, as_of, &d).unwrap();
        assert_eq!(overdue.len(), 2);
        let by_owner =
            l.list(&ListFilter { owner: Some("David Zhang".into()), ..Default::default() }, as_of, &d).unwrap();
        assert_eq!(by_owner.len(), 1);
        let by_country =
            l.list(&ListFilter { country: Some("俄罗斯".into()), ..Default::default() }, as_of, &d).unwrap();
        assert_eq!(by_country.len(), 2);
        let by_type =
            l.list(&ListFilter { item_type: Some("回款风险".into()), ..Default::default() }, as_of, &d).unwrap();
        assert_eq!(by_type.len(), 2);
    }

    #[test]
    fn an_inherited_customer_does_not_lower_the_link_bar() {
        let d = Dictionaries::builtin().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let mut l = Ledger::open(&mut store).unwrap();
        // the second sentence inherits 远东港口服务 from the first; owner 冯雪, 12月底前
        let first =
            "远东港口服务已于11月20日支付10万美元。剩余15万美元欠款客户承诺12月底前付清，由冯雪每周跟踪到账情况。\n";
        let a = l.import(first, &opts("2026-11-27"), &d, None).unwrap();
        assert_eq!(a.items.len(), 1, "{:#?}", a.items);
        let c = a.items[0].customer.clone();
        assert!(c.is_some());
        // a new task a month later: the customer is named, the owner and the type are the same,
        // the words barely overlap (剩余/欠款 only)
        let second = "## 行动项\n1. 远东港口服务剩余欠款催收，冯雪负责，1月15日前。\n";
        let b = l.import(second, &opts("2026-12-28"), &d, None).unwrap();
        assert_eq!(b.items.len() + b.linked.len(), 1);
        assert_eq!(b.items[0].customer, c);
        assert_eq!(b.items[0].item_type, a.items[0].item_type);
        assert!(b.linked.is_empty(), "{:#?}", b.linked);
        // the same pair with the customer named in both lines clears the low bar and links
        let it = &b.items[0];
        let scanner = Scanner::new(&d);
        let open = l.get(a.items[0].id.unwrap(), None).unwrap();
        let m1 = masked_description(&it.description, day("2026-12-28"), &scanner);
        let m0 = masked_description(&open.description, day("2026-11-27"), &scanner);
        let sim = jaccard(&m1, &m0);
        assert!((LINK_SAME_CUSTOMER..LINK_INHERITED_CUSTOMER).contains(&sim), "{sim}");
        assert_eq!(link_score(it, &m1, &open, &m0, true), Some(sim));
        assert_eq!(link_score(it, &m1, &open, &m0, false), None);
    }
}
