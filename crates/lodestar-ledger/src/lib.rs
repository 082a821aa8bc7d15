//! `lodestar-ledger`: turns meeting minutes into a tracked action ledger (督办台账).
//!
//! The data flow follows the modules:
//! [`text`] (read .md / .txt / .docx) → [`extract`](mod@extract) (deterministic rules: structure,
//! owners, [`deadline`] grammar, tag keywords, dictionary [`scan`]) → [`model`] (optional chat model,
//! JSON validated, rules win) → [`ledger`] (SQLite: items, history, links across meetings, proposed
//! status updates) → [`review`] (pre-meeting review, 结构化率 / 可追踪率) and [`export`] (Excel).
//! `lodestar-bench` scores the extractor on the hand-written evaluation set in `tests/eval/minutes/`.
//!
//! Every extracted item is marked `needs_review`: the ledger organizes and reminds, people decide.
//!
//! ```
//! use lodestar_ledger::{extract, parse_date};
//! let d = lodestar_dict::Dictionaries::builtin().unwrap();
//! let items = extract("西伯利亚物流尾款催收。责任人：张伟；截止：9月15日。", parse_date("2026-09-07").unwrap(), &d, None);
//! assert_eq!(items[0].owner_ids, vec!["S05"]);
//! assert_eq!(items[0].deadline.map(|d| d.to_string()).as_deref(), Some("2026-09-15"));
//! assert_eq!(items[0].item_type, "回款风险");
//! ```

pub mod deadline;
pub mod export;
pub mod extract;
pub mod ledger;
pub mod model;
pub mod review;
pub mod scan;
pub mod text;

pub use chrono::NaiveDate;
pub use deadline::parse_date;
pub use ledger::{ImportOptions, ImportReport, Ledger, LedgerItem, ListFilter};

pub use review::{Review, ReviewScope};

use lodestar_core::Generator;
use lodestar_dict::Dictionaries;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Errors of the ledger crate.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A minutes file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file, as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Bad input: an unsupported or unreadable file, an invalid value or option.
    #[error("{0}")]
    Invalid(String),
    /// No such ledger item, meeting or proposed update.
    #[error("not found: {0}")]
    NotFound(String),
    /// The store failed (the ledger tables' migration, the audit log).
    #[error(transparent)]
    Store(#[from] lodestar_store::StoreError),
    /// A query on the ledger tables failed.
    #[error("database error: {0}")]
    Sql(#[from] lodestar_store::rusqlite::Error),
    /// The Excel export could not be written.
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// An item's list fields or a meeting's statistics could not be written as JSON.
    #[error("bad JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Where a field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldSource {
    /// Set by the deterministic rules.
    Rule,
    /// Given by the chat model: a field the rules left empty, or an item only the model found.
    Model,
}

/// Status of a ledger item (事项状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Status {
    /// 待办
    #[serde(rename = "待办")]
    Todo,
    /// 进行中
    #[serde(rename = "进行中")]
    InProgress,
    /// 已完成
    #[serde(rename = "已完成")]
    Done,
    /// 延期
    #[serde(rename = "延期")]
    Delayed,
    /// 取消
    #[serde(rename = "取消")]
    Cancelled,
}

impl Status {
    /// Every status, in display order (待办, 进行中, 已完成, 延期, 取消).
    pub const ALL: [Status; 5] = [Status::Todo, Status::InProgress, Status::Done, Status::Delayed, Status::Cancelled];

    /// The Chinese name stored and shown (`待办`, `进行中` …).
    pub fn label(self) -> &'static str {
        match self {
            Status::Todo => "待办",
            Status::InProgress => "进行中",
            Status::Done => "已完成",
            Status::Delayed => "延期",
            Status::Cancelled => "取消",
        }
    }

    /// Parses `待办`, `进行中`, `已完成` / `完成` / `done`, `延期`, `取消` (and English names).
    pub fn parse(s: &str) -> Option<Status> {
        Some(match lodestar_core::text::norm_key(s).as_str() {
            "待办" | "todo" | "open" | "未开始" => Status::Todo,
            "进行中" | "in_progress" | "in progress" | "doing" | "跟进中" => Status::InProgress,
            "已完成" | "完成" | "done" | "closed" | "已关闭" => Status::Done,
            "延期" | "delayed" | "postponed" | "推迟" => Status::Delayed,
            "取消" | "cancelled" | "canceled" | "已取消" => Status::Cancelled,
            _ => return None,
        })
    }

    /// Still to be tracked (待办, 进行中, 延期).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Todo | Status::InProgress | Status::Delayed)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One action item (行动项) extracted from minutes. JSON field names are a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionItem {
    /// Ledger id, once stored.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<i64>,
    /// 事项内容.
    pub description: String,
    /// 事项类型: one of the tag names of the dictionaries (e.g. `回款风险`).
    #[serde(rename = "type")]
    pub item_type: String,
    /// Country code (`RU`) or null.
    pub country: Option<String>,
    /// Chinese name of the country, when `country` is set.
    pub country_name: Option<String>,
    /// Customer id (`C001`) or null.
    pub customer: Option<String>,
    /// The customer's display name (Chinese, else English), when `customer` is set.
    pub customer_name: Option<String>,
    /// Owner names (负责人): staff names, and unknown names as written.
    pub owners: Vec<String>,
    /// Staff ids of the owners that the staff dictionary resolved.
    pub owner_ids: Vec<String>,
    /// Owner names no dictionary entry matched (kept as text, flagged for review).
    #[serde(default)]
    pub unresolved_owners: Vec<String>,
    /// Supporting owners (协同人: `何佳配合`, `韩磊（协助）`): names, beside the lead owners above.
    #[serde(default)]
    pub supporting_owners: Vec<String>,
    /// Staff ids of the supporting owners.
    #[serde(default)]
    pub supporting_owner_ids: Vec<String>,
    /// 截止日期 (ISO date) or null.
    pub deadline: Option<NaiveDate>,
    /// The words the deadline came from (`9月底前`, `下次会议前`, `尽快`).
    pub deadline_text: Option<String>,
    /// True when the deadline is "before the next meeting" (a checkpoint without a date).
    #[serde(default)]
    pub next_meeting_checkpoint: bool,
    /// The sentence, list item or table row the item came from.
    pub source: String,
    /// 1-based line number in the minutes.
    #[serde(default)]
    pub line: usize,
    /// 0..1: how sure the extractor is.
    pub confidence: f64,
    /// Always true: a person confirms every extracted item.
    pub needs_review: bool,
    /// Fields that are empty: `owner`, `deadline`.
    pub missing: Vec<String>,
    /// Field → `rule` | `model`.
    pub field_sources: BTreeMap<String, FieldSource>,
}

/// Today's date on this machine (the default as-of date of reviews and overdue checks).
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// Extracts the action items of minutes held on `meeting_date`: deterministic rules first; when a
/// chat model is given it is asked for a JSON item list, the JSON is validated, and rules win where
/// both give a value (see [`model`]).
pub fn extract(
    text: &str,
    meeting_date: NaiveDate,
    dicts: &Dictionaries,
    model: Option<&dyn Generator>,
) -> Vec<ActionItem> {
    let a = extract::analyze(text, meeting_date, dicts);
    match model {
        Some(g) => model::merge_with_model(a.items, text, meeting_date, dicts, g).0,
        None => a.items,
    }
}
