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
    /// The English name used in JSON and on the command line (`country`, `spec`, `owner` …).
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
    /// The dimension the filter restricts.
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
    /// 销量: number of tyres (条).
    Quantity,
    /// 销售额: sales amount, in US dollars (美元).
    #[default]
    Amount,
}

impl Measure {
    /// The Chinese name of the measure (`销量` / `销售额`).
    pub fn label(self) -> &'static str {
        match self {
            Measure::Quantity => "销量",
            Measure::Amount => "销售额",
        }
    }
    /// The unit its figures are shown in (`条` / `美元`).
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
    /// 实际: the actual quantity or amount.
    Actual,
    /// 达成率: actual / target.
    Achievement,
    /// 缺口: target − actual.
    Gap,
    /// 同比: change on the same period last year.
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
    /// The Chinese name of the rule (`回款逾期`, `货好待款`, `信用异常`, `开发停滞`).
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
        /// The month, quarter or year asked about.
        #[serde(with = "period_serde")]
        period: Period,
        /// Read the year-to-date (年累计) columns of `period`'s last month.
        ytd: bool,
        /// Dimensions to break the table down by, in column order; empty = the total row only.
        by: Vec<Dim>,
        /// Scope filters (`country = RU`, `category = TBR` …), all of which a row must match.
        filters: Vec<Filter>,
        /// Sales amount or quantity (条).
        measure: Measure,
        /// The ranking key, if the question asks for a ranking (the YTD column of it when `ytd`).
        sort: Option<SortKey>,
        /// `true` = smallest first (最差 / 最低).
        ascending: bool,
        /// Keep only the first n rows (after ranking).
        top: Option<usize>,
    },
    /// Customer concentration (集中度, CR10 / CR20) of a month.
    Concentration {
        /// The month whose customer shares are measured.
        month: Month,
        /// Scope filters (region, country, category, spec, owner) the customers are drawn from.
        filters: Vec<Filter>,
        /// Whether shares are of sales amount or of quantity.
        measure: Measure,
    },
    /// Risk alerts (风险预警) as of a date.
    Alerts {
        /// Which alert rule to list.
        kind: AlertKind,
        /// The date the rules are evaluated at (overdue days, days to goods-ready count from it).
        as_of: NaiveDate,
        /// Scope filters: an alert is kept when its customer, country, region and owner match them all.
        filters: Vec<Filter>,
    },
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
    /// Writes the period as its display form.
    pub fn serialize<S: serde::Serializer>(p: &Period, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(p)
    }
    /// Parses the display form back into a period.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One part of a row's scope: `country = RU 俄罗斯`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeKey {
    /// The dimension this part of the scope is on.
    pub dim: Dim,
    /// Canonical code (`RU`, `TBR`, `C001`, `S05`).
    pub code: String,
    /// Chinese name (the raw text when no dictionary knows the value).
    pub name_zh: String,
    /// English name; may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_en: String,
}

/// One row of the sales metric table. Ratios are unrounded fractions (0.9635…); a `None` value has
/// its reason in `reasons` under the field's name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// Empty for the total row of the whole filtered scope.
    pub scope: Vec<ScopeKey>,
    /// 实际: Σ sales of the period (USD or tyres, per the measure).
    pub actual: Option<Decimal>,
    /// 目标: Σ targets of the period.
    pub target: Option<Decimal>,
    /// 达成率 = actual / target.
    pub achievement: Option<Decimal>,
    /// 缺口 = target − actual.
    pub gap: Option<Decimal>,
    /// 同比 = actual(m) / actual(m − 12) − 1.
    pub yoy: Option<Decimal>,
    /// 环比 = actual(m) / actual(m − 1) − 1.
    pub mom: Option<Decimal>,
    /// Actual of the same period last year (the YoY base).
    pub last_year: Option<Decimal>,
    /// Actual of the previous period (the MoM base).
    pub prev_month: Option<Decimal>,
    /// 年累计: Σ actual of January up to the period's last month.
    pub ytd_actual: Option<Decimal>,
    /// 年累计目标: Σ targets of January up to the period's last month.
    pub ytd_target: Option<Decimal>,
    /// 年累计达成率 = YTD actual / YTD target.
    pub ytd_achievement: Option<Decimal>,
    /// 年累计缺口 = YTD target − YTD actual.
    pub ytd_gap: Option<Decimal>,
    /// 年度同比 = YTD actual(m) / YTD actual(m − 12) − 1.
    pub ytd_yoy: Option<Decimal>,
    /// YTD actual of the same months one year earlier (the YTD YoY base).
    pub ytd_last_year: Option<Decimal>,
    /// 年度目标完成进度 = YTD actual / full-year target.
    pub annual_progress: Option<Decimal>,
    /// 全年目标: Σ targets of the 12 months.
    pub annual_target: Option<Decimal>,
    /// 剩余缺口 = full-year target − YTD actual.
    pub remaining_gap: Option<Decimal>,
    /// 所需月均 = remaining gap / (12 − m).
    pub run_rate: Option<Decimal>,
    /// 贡献 = row actual / total actual of the filtered scope.
    pub contribution: Option<Decimal>,
    /// 排名 on the request's sort key (competition ranking 1, 2, 2, 4); null when unranked.
    pub rank: Option<u32>,
    /// Why a field is null: field name → reason in Chinese.
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
    /// The code of this row's scope on `dim` (`RU` for a country row), if the row is broken down by it.
    pub fn code_of(&self, dim: Dim) -> Option<&str> {
        self.scope.iter().find(|k| k.dim == dim).map(|k| k.code.as_str())
    }
}

/// Customer concentration (客户集中度).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConcentrationRow {
    /// Σ actual of the filtered scope in the month; null when it cannot be computed.
    pub total: Option<Decimal>,
    /// Customers with a non-zero actual in the scope.
    pub customers: usize,
    /// CR10: share of the top 10 customers in the total (a fraction).
    pub cr10: Option<Decimal>,
    /// CR20: share of the top 20 customers in the total (a fraction).
    pub cr20: Option<Decimal>,
    /// Top customers with their shares: (name, actual, share).
    pub top: Vec<(String, Decimal, Option<Decimal>)>,
}

/// One risk alert (预警).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    /// Id of the rule that fired (`overdue`, `shipment_at_risk`, `credit_over_limit` …).
    pub kind: String,
    /// Customer id (`C001`).
    pub customer: String,
    /// Customer's Chinese name.
    pub customer_name: String,
    /// Country's Chinese name (the code when no dictionary knows it).
    pub country: String,
    /// Contract number; empty when the rule has none or it is hidden.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub contract: String,
    /// Currency of `amount`; empty when there is no amount.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub currency: String,
    /// Overdue, missing or over-limit amount.
    pub amount: Option<Decimal>,
    /// Days overdue / to goods-ready (negative = since) / since last activity.
    pub days: Option<i64>,
    /// Overdue age bucket (`31-60 天`); overdue alerts only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bucket: String,
    /// Agreed payment date (overdue) or goods-ready date (shipment), ISO; empty for other rules.
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
    /// The answer to [`MetricRequest::Sales`].
    Sales {
        /// One row per scope of the breakdown, ranked and cut to `top` when the request asked.
        rows: Vec<MetricRow>,
        /// The total row of the whole filtered scope (empty `scope`), when the source computes one.
        total: Option<Box<MetricRow>>,
    },
    /// The answer to [`MetricRequest::Concentration`].
    Concentration {
        /// The month's concentration figures.
        row: ConcentrationRow,
    },
    /// The answer to [`MetricRequest::Alerts`].
    Alerts {
        /// The alerts of the requested rule within the filters (overdue ones largest amount first).
        rows: Vec<AlertRow>,
    },
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
    /// The knowledge base the document belongs to.
    pub kb: KbId,
    /// Document id (path under `knowledge/`, e.g. `customer/C001-sibir-logistics.md`).
    pub doc: String,
    /// Document title (front matter).
    pub title: String,
    /// Stable chunk id: `<doc>#<hash>`.
    pub chunk_id: String,
    /// Heading path of the chunk (章节).
    #[serde(default)]
    pub section: String,
    /// The chunk's text.
    pub text: String,
    /// The document's sensitivity level (密级).
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
