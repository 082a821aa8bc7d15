//! The public vocabulary of the rule engine: queries ([`MetricQuery`]), their result tables
//! ([`MetricTable`], [`MetricRow`]) and concentration ([`Concentration`]).
//!
//! Money and ratios are exact [`Decimal`]s, serialized as unrounded decimal strings; ratios are
//! fractions (`0.9635…`), never percents. A value that cannot be computed is `None` (JSON `null`)
//! and its row carries a [`Reason`] naming the field.

use lodestar_core::{Period, Principal};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A scope dimension (维度) a query can group or filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    /// 区域 (region group: 独联体 CIS / 东亚 EA), derived from the country.
    Region,
    /// 国家
    Country,
    /// 品类
    Category,
    /// 规格
    Spec,
    /// 客户
    Customer,
    /// 销售负责人: the sales row's owner, else the customer's owner in the dictionary.
    Owner,
}

impl Dim {
    /// The six dimensions, in id-array order.
    pub const ALL: [Dim; 6] = [Dim::Region, Dim::Country, Dim::Category, Dim::Spec, Dim::Customer, Dim::Owner];
    /// Position in the engine's per-fact id arrays.
    pub fn index(self) -> usize {
        self as usize
    }
    /// The lowercase id (`region`, `country` …) used on the command line and in JSON.
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
    /// Chinese label for tables and reasons.
    pub fn label_zh(self) -> &'static str {
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

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dim {
    type Err = crate::MetricsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match lodestar_core::text::norm_key(s).as_str() {
            "region" | "区域" | "大区" | "region_group" => Ok(Dim::Region),
            "country" | "国家" | "国家/地区" => Ok(Dim::Country),
            "category" | "品类" | "产品" => Ok(Dim::Category),
            "spec" | "规格" => Ok(Dim::Spec),
            "customer" | "客户" => Ok(Dim::Customer),
            "owner" | "销售负责人" | "负责人" | "sales" => Ok(Dim::Owner),
            _ => Err(crate::MetricsError::Invalid(format!(
                "unknown dimension `{s}` (expected region, country, category, spec, customer, owner)"
            ))),
        }
    }
}

/// What is summed (度量): 销售额 (amount) or 销量 (quantity, 条).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// 销售额, converted to USD when the fx table has rows.
    #[default]
    Amount,
    /// 销量 (条).
    Quantity,
}

impl FromStr for Measure {
    type Err = crate::MetricsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match lodestar_core::text::norm_key(s).as_str() {
            "amount" | "销售额" | "金额" | "revenue" => Ok(Measure::Amount),
            "quantity" | "qty" | "销量" | "数量" | "volume" => Ok(Measure::Quantity),
            _ => Err(crate::MetricsError::Invalid(format!("unknown measure `{s}` (expected amount or quantity)"))),
        }
    }
}

/// The ranking key (排名依据); rows rank descending on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// 实际 (default)
    #[default]
    Actual,
    /// 达成率
    Achievement,
    /// 缺口 (largest shortfall first)
    Gap,
}

impl FromStr for SortKey {
    type Err = crate::MetricsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match lodestar_core::text::norm_key(s).as_str() {
            "actual" | "实际" | "销售额" => Ok(SortKey::Actual),
            "achievement" | "达成率" | "达成" => Ok(SortKey::Achievement),
            "gap" | "缺口" => Ok(SortKey::Gap),
            _ => {
                Err(crate::MetricsError::Invalid(format!("unknown sort key `{s}` (expected actual, achievement, gap)")))
            }
        }
    }
}

/// The comparison period of contribution change (贡献变化对比期).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    /// 同期: the same period one year earlier (default).
    #[default]
    SameMonthLastYear,
    /// 上期: the previous month (quarter, year).
    PrevMonth,
}

impl FromStr for Compare {
    type Err = crate::MetricsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match lodestar_core::text::norm_key(s).as_str() {
            "yoy" | "same-month-last-year" | "last-year" | "同比" | "同期" => Ok(Compare::SameMonthLastYear),
            "mom" | "prev-month" | "previous" | "prev" | "环比" | "上期" => Ok(Compare::PrevMonth),
            _ => Err(crate::MetricsError::Invalid(format!("unknown comparison `{s}` (expected yoy or prev-month)"))),
        }
    }
}

/// One metrics question: period × scopes × measure, filtered, ranked, for a principal.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// The reporting period.
    pub period: Period,
    /// Grouping dimensions, in column order; empty = one total row.
    pub by: Vec<Dim>,
    /// What is summed: amount or quantity.
    pub measure: Measure,
    /// `(dim, value)`: the value is resolved through the dictionaries (code, Chinese/English name,
    /// alias). Several values of one dimension mean "any of"; different dimensions all apply.
    pub filters: Vec<(Dim, String)>,
    /// Which column ranks the rows.
    pub sort: SortKey,
    /// The comparison period of `contribution_change` (同期 or 上期).
    pub compare: Compare,
    /// Who asks: sales figures need clearance ≥ `fields.sales`.
    pub principal: Principal,
}

impl MetricQuery {
    /// A query with the defaults: amount, no filters, sorted by actual, compared with last year,
    /// as the local administrator.
    pub fn new(period: Period, by: Vec<Dim>) -> Self {
        Self {
            period,
            by,
            measure: Measure::Amount,
            filters: Vec::new(),
            sort: SortKey::Actual,
            compare: Compare::SameMonthLastYear,
            principal: Principal::local_admin(),
        }
    }
}

/// One dimension value of a scope: canonical code plus Chinese and English names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScopePart {
    /// Which dimension the value belongs to.
    pub dim: Dim,
    /// Canonical code (country `RU`, category `TBR`, customer `C001`, staff `S05`, spec `315/80R22.5`);
    /// the cleaned raw text when no dictionary knows the name.
    pub code: String,
    /// Chinese name (the raw text when unresolved).
    pub name_zh: String,
    /// English name (may be empty).
    pub name_en: String,
    /// `false` when no dictionary knows the name (shown as imported).
    pub resolved: bool,
}

/// The scope (范围) a row describes; empty `dims` = the total (合计) of the query.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Scope {
    /// One part per grouping dimension, in the query's column order.
    pub dims: Vec<ScopePart>,
}

impl Scope {
    /// `俄罗斯 / 全钢`, or `合计` for the total.
    pub fn label_zh(&self) -> String {
        if self.dims.is_empty() {
            "合计".into()
        } else {
            self.dims.iter().map(|d| d.name_zh.as_str()).collect::<Vec<_>>().join(" / ")
        }
    }
    /// Canonical ids joined with `|` (the tie-breaker of ranking).
    pub fn id(&self) -> String {
        self.dims.iter().map(|d| d.code.as_str()).collect::<Vec<_>>().join("|")
    }
}

/// Why a field is `null` (原因).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The JSON field name that is null.
    pub field: String,
    /// Human-readable reason, in Chinese.
    pub reason: String,
}

/// One row of a metric table. Money is in `currency` (USD when converted); ratios are fractions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// What the row describes (empty = the total row).
    pub scope: Scope,
    /// `USD` when amounts were converted with the fx table; the scope's one currency without an fx
    /// table; `null` for quantities or a mixed-currency scope.
    pub currency: Option<String>,
    /// 实际 actual(s, period) = Σ sales.
    pub actual: Option<Decimal>,
    /// 目标 = Σ targets of the period.
    pub target: Option<Decimal>,
    /// 达成率 = actual / target.
    pub achievement: Option<Decimal>,
    /// 缺口 = target − actual (positive = shortfall).
    pub gap: Option<Decimal>,
    /// 同比 = actual / actual(same period last year) − 1.
    pub yoy: Option<Decimal>,
    /// 环比 = actual / actual(previous period) − 1.
    pub mom: Option<Decimal>,
    /// 年累计 = Σ January..last month of the period.
    pub ytd_actual: Option<Decimal>,
    /// 年累计目标 = Σ targets of January..last month of the period.
    pub ytd_target: Option<Decimal>,
    /// 年累计达成率 = YTD actual / YTD target.
    pub ytd_achievement: Option<Decimal>,
    /// 年累计缺口 = YTD target − YTD actual.
    pub ytd_gap: Option<Decimal>,
    /// 年度同比 = YTD actual / YTD actual one year earlier − 1.
    pub ytd_yoy: Option<Decimal>,
    /// 全年目标 = Σ targets of the 12 months.
    pub annual_target: Option<Decimal>,
    /// 年度目标完成进度 = YTD actual / annual target.
    pub annual_progress: Option<Decimal>,
    /// 时间进度 = m / 12.
    pub time_progress: Option<Decimal>,
    /// 剩余缺口 = annual target − YTD actual.
    pub remaining_gap: Option<Decimal>,
    /// 所需月均 = remaining gap / (12 − m); null in December.
    pub run_rate: Option<Decimal>,
    /// 排名 (competition ranking 1, 2, 2, 4); null for the total row and for null keys.
    pub rank: Option<u32>,
    /// 贡献 = row actual / total actual of the query (after filters).
    pub contribution: Option<Decimal>,
    /// 贡献变化 = contribution − contribution in the comparison period (0.012 = 1.2 points).
    pub contribution_change: Option<Decimal>,
    /// Actual of the same period last year and of the previous period (the YoY / MoM bases).
    pub actual_last_year: Option<Decimal>,
    /// Actual of the previous period (the MoM base).
    pub actual_prev: Option<Decimal>,
    /// YTD actual of the same months one year earlier (the YTD YoY base).
    pub ytd_actual_last_year: Option<Decimal>,
    /// One entry for every null field.
    pub reasons: Vec<Reason>,
}

impl MetricRow {
    /// The reason a field is null, if any.
    pub fn reason(&self, field: &str) -> Option<&str> {
        self.reasons.iter().find(|r| r.field == field).map(|r| r.reason.as_str())
    }
}

/// The result of a [`MetricQuery`]: ranked rows plus the total row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricTable {
    /// `2026-09`, `2026-Q3` or `2026`.
    pub period: String,
    /// First and last month of the period.
    pub months: Vec<String>,
    /// The grouping dimensions, in column order.
    pub by: Vec<Dim>,
    /// What is summed: amount or quantity.
    pub measure: Measure,
    /// `USD`, the single currency, `条` for quantities, or null when mixed.
    pub unit: Option<String>,
    /// The column the rows are ranked by.
    pub sort: SortKey,
    /// The comparison of `contribution_change`.
    pub compare: Compare,
    /// The comparison period of `contribution_change`.
    pub compare_period: String,
    /// Filters as resolved: `{dim, value, codes}`.
    pub filters: Vec<ResolvedFilter>,
    /// Whether amounts were converted to USD with the fx table.
    pub fx_converted: bool,
    /// Latest month with sales data.
    pub latest_month: Option<String>,
    /// The ranked rows.
    pub rows: Vec<MetricRow>,
    /// The total (合计) row over all rows, after filters.
    pub total: MetricRow,
}

/// A filter after dictionary resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedFilter {
    /// The dimension filtered.
    pub dim: Dim,
    /// As given.
    pub value: String,
    /// Canonical code it resolved to.
    pub code: String,
    /// Chinese name of the resolved value.
    pub name_zh: String,
}

/// A concentration question (客户集中度): CR-n over customers within an optional scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcentrationQuery {
    /// The reporting period.
    pub period: Period,
    /// What is summed: amount or quantity.
    pub measure: Measure,
    /// `(dim, value)` filters, resolved as in [`MetricQuery::filters`].
    pub filters: Vec<(Dim, String)>,
    /// The n of CR-n, e.g. `[10, 20]`.
    pub tops: Vec<usize>,
    /// Who asks: sales figures need clearance ≥ `fields.sales`.
    pub principal: Principal,
}

impl ConcentrationQuery {
    /// A query with the defaults: amount, no filters, CR-10 and CR-20, as the local administrator.
    pub fn new(period: Period) -> Self {
        Self {
            period,
            measure: Measure::Amount,
            filters: Vec::new(),
            tops: vec![10, 20],
            principal: Principal::local_admin(),
        }
    }
}

/// CR-n: the share of the top n customers in the scope's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcentrationRatio {
    /// The n of CR-n.
    pub n: usize,
    /// Σ actual of the top n / total actual; null when the total is zero, negative or mixed.
    pub share: Option<Decimal>,
    /// How many customers were actually summed (fewer than n when the scope has fewer).
    pub customers_counted: usize,
    /// Why `share` is null, or a note when the scope has fewer than n customers (in Chinese).
    pub reason: Option<String>,
}

/// The result of a [`ConcentrationQuery`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    /// The period, as written (`2026-09`).
    pub period: String,
    /// What is summed: amount or quantity.
    pub measure: Measure,
    /// `USD`, the single currency, `条` for quantities, or null when mixed.
    pub unit: Option<String>,
    /// Filters as resolved.
    pub filters: Vec<ResolvedFilter>,
    /// Σ actual of the scope (the total row's actual); null when it cannot be computed.
    pub total: Option<Decimal>,
    /// Customers with a non-zero actual in the scope.
    pub customer_count: usize,
    /// One CR-n per requested n.
    pub ratios: Vec<ConcentrationRatio>,
    /// Customers ranked by actual (the rows CR-n sums), with their contribution.
    pub customers: Vec<MetricRow>,
}
