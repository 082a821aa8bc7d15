//! `lodestar-metrics`: the deterministic rule engine (指标口径) over the store; it never calls a model.
//!
//! - [`MetricsEngine`] loads the active sales, targets and fx rows once, resolving every stored
//!   name through the dictionaries (each distinct raw value once), and answers [`MetricQuery`]s
//!   with a [`MetricTable`]: actual, target, 达成率, 缺口, 同比, 环比, 年累计, 年度进度, 剩余缺口,
//!   所需月均, 排名, 贡献 — each null with a [`Reason`].
//! - [`MetricsEngine::concentration`]: CR10 / CR20 over customers.
//! - [`alerts::alerts`]: receivable and customer risk rules (逾期, 货好待款, 信用异常, 开发停滞).
//! - [`render`]: table / csv / markdown text and xlsx workbooks (the 国家×品类×客户 summary).
//!
//! The definitions are DESIGN.md's "Metric definitions (口径)", documented for ops in
//! `docs/metrics.md`.
//!
//! ```no_run
//! use lodestar_metrics::{Dim, MetricQuery, MetricsEngine};
//! let store = lodestar_store::Store::open(std::path::Path::new("/tmp/x/lodestar.db")).unwrap();
//! let dicts = lodestar_dict::Dictionaries::builtin().unwrap();
//! let engine = MetricsEngine::load(&store, &dicts).unwrap();
//! let month = engine.latest_month().unwrap();
//! let q = MetricQuery::new(lodestar_core::Period::Month(month), vec![Dim::Country, Dim::Category]);
//! let table = engine.query(&q).unwrap();
//! println!("{}", lodestar_metrics::render::text_table(&table));
//! ```

pub mod alerts;
mod engine;
pub mod render;
mod types;

pub use alerts::{alerts, Alerts};
/// Dates of the alert rules (re-exported so callers need not depend on chrono).
pub use chrono::NaiveDate;
pub use engine::{months_needed, MetricsEngine};
pub use types::*;

use lodestar_core::Sensitivity;

/// Errors of the rule engine. Values that merely cannot be computed are not errors: they are
/// `null` with a [`Reason`].
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] lodestar_store::StoreError),
    /// An SQL query failed.
    #[error("database error: {0}")]
    Sql(#[from] lodestar_store::rusqlite::Error),
    /// 期间晚于最新数据月份.
    #[error("没有 {period} 的数据：最新数据月份为 {latest}，规则引擎只统计已导入的实际数据，不做预测 (period {period} is after the latest month with sales data, {latest})")]
    PeriodAfterLatest {
        /// The period asked for.
        period: String,
        /// The latest month with sales data, `YYYY-MM`.
        latest: String,
    },
    /// 期间早于最早数据月份.
    #[error("没有 {period} 的数据：销售数据从 {earliest} 开始 (period {period} is before the first month with sales data, {earliest})")]
    PeriodBeforeEarliest {
        /// The period asked for.
        period: String,
        /// The first month with sales data, `YYYY-MM`.
        earliest: String,
    },
    /// No sales data has been imported yet.
    #[error("no sales data has been imported yet (没有销售数据)")]
    NoData,
    /// 缺少汇率.
    #[error("missing fx rate for {currency} in {month} (缺少 {month} {currency} 对美元汇率)")]
    MissingFxRate {
        /// The currency without a rate.
        currency: String,
        /// The month without a rate, `YYYY-MM`.
        month: String,
    },
    /// A filter value no dictionary resolves, with the nearest known names.
    #[error("unknown {dim} `{value}` in filter{}", suggestion_text(.suggestions))]
    UnknownFilterValue {
        /// The dimension filtered (`country`, `customer` …).
        dim: String,
        /// The value as given.
        value: String,
        /// The nearest known names.
        suggestions: Vec<String>,
    },
    /// 权限不足.
    #[error("{principal} (clearance {clearance}) may not see {what} figures: they need clearance {needed} (权限不足)")]
    Forbidden {
        /// The asker's account name.
        principal: String,
        /// The asker's clearance.
        clearance: Sensitivity,
        /// The figures refused (e.g. `sales (销售)`).
        what: String,
        /// The clearance those figures need (`[fields]` of `config.toml`).
        needed: Sensitivity,
    },
    /// A stored value that does not parse (a number, a date).
    #[error("bad value in {table} row {row}: `{value}` ({what})")]
    BadValue {
        /// The table read (`sales`, `targets`, `receivables`, `fx`).
        table: String,
        /// Row id in that table.
        row: i64,
        /// The value as stored.
        value: String,
        /// What the value should have been (`month`, a number field …).
        what: String,
    },
    /// Any other refusal (an invalid argument); the message says why.
    #[error("{0}")]
    Invalid(String),
    /// An export file could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file's path.
        path: String,
        /// Why it could not be written.
        message: String,
    },
}

fn suggestion_text(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean: {})", s.join(", "))
    }
}

/// Result of the rule engine.
pub type Result<T, E = MetricsError> = std::result::Result<T, E>;
