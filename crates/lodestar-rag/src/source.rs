//! What an answer draws on (依据): the rule engine's tables and the knowledge bases' chunks.
//!
//! The assistant programs against two small traits, [`MetricsSource`] and [`Retriever`], so that
//! tests inject fakes and the real crates (`lodestar-metrics`, `lodestar-index`) plug in through
//! the adapters in [`crate::adapters`]. A future OpenSearch retriever or a PostgreSQL-backed engine
//! would be another implementation, not a rewrite.

use crate::RagError;
use chrono::NaiveDate;
use lodestar_core::{KbId, Month, Period, Principal, Sensitivity};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A dimension of a metric scope (统计维度).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    /// 区域 (独联体 / 东亚)
    Region,
    /// 国家
    Country,
    /// 品类
    Category,
    /// 规格
    Spec,
    /// 客户
    Customer,
    /// 销售负责人
    Owner,
}

impl Dim {
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Region => "region",
            Dim::Country => "country",
            Dim::Category => "category",
            Dim::Spec => "spec",
            Dim::Customer => "customer",
            Dim::Owner => "owner",
        }
    }
    /// The Chinese label (表头).
    pub fn label(self) -> &'static str {
        match self {
            Dim::Region => "区域",
            Dim::Country => "国家",
            Dim::Category => "品类",
            Dim::Spec => "规格",
            Dim::Customer => "客户",
            Dim::Owner => "销售负责人",
        }
    }
}

/// A scope filter resolved through the dictionaries: `country = RU (俄罗斯)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub dim: Dim,
    /// Canonical code (`RU`, `TBR`, `C001`, `315/80R22.5`, `S05`).
    pub code: String,
    /// Chinese display name.
    pub name: String,
}

/// The measure (度量): quantity (销量, 条) or amount (销售额, USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    Quantity,
    #[default]
    Amount,
}

impl Measure {
    pub fn label(self) -> &'static str {
        match self {
            Measure::Quantity => "销量",
            Measure::Amount => "销售额",
        }
    }
    pub fn unit(self) -> &'static str {
        match self {
            Measure::Quantity => "条",
            Measure::Amount => "美元",
        }
    }
}

/// The sort key of a ranking (排名依据).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    Actual,
    Achievement,
    Gap,
    Yoy,
}

/// Which alert rule (风险规则).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// 回款逾期
    Overdue,
    /// 货好待款
    ShipmentAtRisk,
    /// 信用异常
    CreditAnomaly,
    /// 开发停滞
    StalledDevelopment,
}

impl AlertKind {
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Overdue => "回款逾期",
            AlertKind::ShipmentAtRisk => "货好待款",
            AlertKind::CreditAnomaly => "信用异常",
            AlertKind::StalledDevelopment => "开发停滞",
        }
    }
}

/// What to ask the rule engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum MetricRequest {
    /// The sales metric table (实际 / 目标 / 达成率 / 同比 / 环比 / 年累计 / 缺口 / 排名 / 贡献).
    Sales {
        #[serde(with = "period_serde")]
        period: Period,
        /// Read the year-to-date (年累计) columns of `period`'s last month.
        ytd: bool,
        by: Vec<Dim>,
        filters: Vec<Filter>,
        measure: Measure,
        sort: Option<SortKey>,
        /// `true` = smallest first (最差 / 最低).
        ascending: bool,
        top: Option<usize>,
    },
    /// Customer concentration (集中度, CR10 / CR20) of a month.
    Concentration { month: Month, filters: Vec<Filter>, measure: Measure },
    /// Risk alerts (风险预警) as of a date.
    Alerts { kind: AlertKind, as_of: NaiveDate, filters: Vec<Filter> },
}

impl MetricRequest {
    /// The field group whose sensitivity governs this request (`sales`, `receivables`, `credit`).
    pub fn field_group(&self) -> &'static str {
        match self {
            MetricRequest::Sales { .. } | MetricRequest::Concentration { .. } => "sales",
            MetricRequest::Alerts { kind: AlertKind::CreditAnomaly, .. } => "credit",
            MetricRequest::Alerts { kind: AlertKind::StalledDevelopment, .. } => "sales",
            MetricRequest::Alerts { .. } => "receivables",
        }
    }
    /// The equivalent `lodestar` command line, for people who want to re-run it.
    pub fn command_line(&self) -> String {
        let filt = |fs: &[Filter]| -> String {
            fs.iter().map(|f| format!(" --filter {}={}", f.dim.as_str(), f.code)).collect::<String>()
        };
        match self {
            MetricRequest::Sales { period, ytd, by, filters, measure, sort, ascending, top } => {
                let mut s = format!("lodestar metrics --period {period}");
                if *ytd {
                    s.push_str(" --ytd");
                }
                if !by.is_empty() {
                    s.push_str(&format!(" --by {}", by.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(",")));
                }
                s.push_str(&format!(
                    " --measure {}",
                    if *measure == Measure::Quantity { "quantity" } else { "amount" }
                ));
                s.push_str(&filt(filters));
                if let Some(k) = sort {
                    let k = match k {
                        SortKey::Actual => "actual",
                        SortKey::Achievement => "achievement",
                        SortKey::Gap => "gap",
                        SortKey::Yoy => "yoy",
                    };
                    s.push_str(&format!(" --sort {k}{}", if *ascending { ":asc" } else { "" }));
                }
                if let Some(n) = top {
                    s.push_str(&format!(" --top {n}"));
                }
                s
            }
            MetricRequest::Concentration { month, filters, .. } => {
                format!("lodestar concentration --month {month}{}", filt(filters))
            }
            MetricRequest::Alerts { kind, as_of, filters } => {
                let k = match kind {
                    AlertKind::Overdue => "overdue",
                    AlertKind::ShipmentAtRisk => "shipment",
                    AlertKind::CreditAnomaly => "credit",
                    AlertKind::StalledDevelopment => "stalled",
                };
                format!("lodestar alerts --as-of {as_of} --kind {k}{}", filt(filters))
            }
        }
    }
}

/// Serde for [`Period`] as its display form (`2026-09`, `2026-Q3`, `2026`).
pub mod period_serde {
    use lodestar_core::Period;
    pub fn serialize<S: serde::Serializer>(p: &Period, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(p)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One part of a row's scope: `country = RU 俄罗斯`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeKey {
    pub dim: Dim,
    pub code: String,
    pub name_zh: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_en: String,
}

/// One row of the sales metric table. Ratios are unrounded fractions (0.9635…); a `None` value has
/// its reason in `reasons` under the field's name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// Empty for the total row of the whole filtered scope.
    pub scope: Vec<ScopeKey>,
    pub actual: Option<Decimal>,
    pub target: Option<Decimal>,
    /// 达成率 = actual / target.
    pub achievement: Option<Decimal>,
    /// 缺口 = target − actual.
    pub gap: Option<Decimal>,
    /// 同比 = actual(m) / actual(m − 12) − 1.
    pub yoy: Option<Decimal>,
    /// 环比 = actual(m) / actual(m − 1) − 1.
    pub mom: Option<Decimal>,
    pub last_year: Option<Decimal>,
    pub prev_month: Option<Decimal>,
    pub ytd_actual: Option<Decimal>,
    pub ytd_target: Option<Decimal>,
    pub ytd_achievement: Option<Decimal>,
    pub ytd_gap: Option<Decimal>,
    /// 年度同比 = YTD actual(m) / YTD actual(m − 12) − 1.
    pub ytd_yoy: Option<Decimal>,
    pub ytd_last_year: Option<Decimal>,
    /// 年度目标完成进度 = YTD actual / full-year target.
    pub annual_progress: Option<Decimal>,
    pub annual_target: Option<Decimal>,
    /// 剩余缺口 = full-year target − YTD actual.
    pub remaining_gap: Option<Decimal>,
    /// 所需月均 = remaining gap / (12 − m).
    pub run_rate: Option<Decimal>,
    /// 贡献 = row actual / total actual of the filtered scope.
    pub contribution: Option<Decimal>,
    pub rank: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,
}

impl MetricRow {
    /// `俄罗斯 · 全钢` (or `合计` for the total row).
    pub fn label(&self) -> String {
        if self.scope.is_empty() {
            "合计".to_string()
        } else {
            self.scope
                .iter()
                .map(|k| if k.name_zh.is_empty() { k.code.as_str() } else { &k.name_zh })
                .collect::<Vec<_>>()
                .join(" · ")
        }
    }
    pub fn code_of(&self, dim: Dim) -> Option<&str> {
        self.scope.iter().find(|k| k.dim == dim).map(|k| k.code.as_str())
    }
}

/// Customer concentration (客户集中度).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConcentrationRow {
    pub total: Option<Decimal>,
    pub customers: usize,
    pub cr10: Option<Decimal>,
    pub cr20: Option<Decimal>,
    /// Top customers with their shares: (name, actual, share).
    pub top: Vec<(String, Decimal, Option<Decimal>)>,
}

/// One risk alert (预警).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub kind: String,
    pub customer: String,
    pub customer_name: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub contract: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub currency: String,
    /// Overdue, missing or over-limit amount.
    pub amount: Option<Decimal>,
    /// Days overdue / to goods-ready (negative = since) / since last activity.
    pub days: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bucket: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub due_date: String,
    /// The engine's own sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The rows a request returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "snake_case")]
pub enum MetricTable {
    Sales { rows: Vec<MetricRow>, total: Option<Box<MetricRow>> },
    Concentration { row: ConcentrationRow },
    Alerts { rows: Vec<AlertRow> },
}

/// The rule engine as the assistant sees it (规则引擎).
pub trait MetricsSource: Send + Sync {
    /// The latest month with sales data, for relative periods (本月, 上月, 今年以来).
    fn latest_month(&self) -> Result<Option<Month>, RagError>;
    /// The first month with sales data, to say when a period starts before the data does.
    fn earliest_month(&self) -> Result<Option<Month>, RagError> {
        Ok(None)
    }
    /// Runs one request. Implementations may apply their own field filters as well; the assistant
    /// checks the principal's clearance before calling.
    fn run(&self, request: &MetricRequest, principal: &Principal) -> Result<MetricTable, RagError>;
}

/// One retrieved chunk (检索片段).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub kb: KbId,
    /// Document id (path under `knowledge/`, e.g. `customer/C001-sibir-logistics.md`).
    pub doc: String,
    pub title: String,
    pub chunk_id: String,
    /// Heading path of the chunk (章节).
    #[serde(default)]
    pub section: String,
    pub text: String,
    pub sensitivity: Sensitivity,
    /// Fused retrieval score (higher = better; scale depends on the retriever).
    pub score: f32,
    /// Customer ids the document is about (front matter), if known.
    #[serde(default)]
    pub customers: Vec<String>,
}

/// Hybrid retrieval with permission filters (混合检索).
pub trait Retriever: Send + Sync {
    /// The `k` best chunks for `query` among those `principal` may read, restricted to `kbs` when
    /// given. Implementations must filter before ranking.
    fn search(&self, query: &str, principal: &Principal, kbs: &[KbId], k: usize) -> Result<Vec<Hit>, RagError>;
}

/// The audit log (审计日志) that [`crate::audit`] appends a question and its answer to. The
/// pipeline needs nothing else from a store; `lodestar-store`'s `Store` implements it in
/// [`crate::adapters`] (feature `metrics`).
pub trait AuditLog {
    /// Appends one entry: who, what (`question`, `answer`) and its JSON detail.
    fn audit(&self, actor: &str, action: &str, detail: &serde_json::Value) -> Result<(), RagError>;
}
