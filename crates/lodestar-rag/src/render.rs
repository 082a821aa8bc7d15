//! Deterministic answers from the rule engine's rows (规则引擎答案): a Chinese sentence, a small
//! table and the 口径 — no model involved. Percentages are rounded half-up to two decimals for
//! display; the JSON keeps the unrounded fractions.

use crate::route::Intent;
use crate::source::{AlertKind, AlertRow, Dim, Measure, MetricRequest, MetricRow, MetricTable, SortKey};
use lodestar_core::Period;
use rust_decimal::prelude::*;
use rust_decimal::Decimal;

/// Rounds half-up (away from zero at the midpoint) to `dp` decimals.
pub fn round_half_up(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

fn group_thousands(int: &str) -> String {
    let (sign, digits) = if let Some(d) = int.strip_prefix('-') { ("-", d) } else { ("", int) };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// `1234567.891` → `1,234,567.89`.
pub fn fmt_money(d: Decimal) -> String {
    let r = round_half_up(d, 2);
    let s = format!("{r:.2}");
    let (i, f) = s.split_once('.').unwrap_or((&s, "00"));
    format!("{}.{f}", group_thousands(i))
}

/// `12345.4` → `12,345`.
pub fn fmt_qty(d: Decimal) -> String {
    let r = round_half_up(d, 0);
    group_thousands(&format!("{r:.0}"))
}

/// A fraction as a percent with two decimals, half-up: `0.963583` → `96.36%`.
pub fn fmt_pct(d: Decimal) -> String {
    let r = round_half_up(d * Decimal::from(100), 2);
    format!("{r:.2}%")
}

fn fmt_measure(d: Decimal, m: Measure) -> String {
    match m {
        Measure::Amount => fmt_money(d),
        Measure::Quantity => fmt_qty(d),
    }
}

fn opt(v: Option<Decimal>, f: impl Fn(Decimal) -> String) -> String {
    v.map(f).unwrap_or_else(|| "—".to_string())
}

/// A rate of change as words: `增长 5.20%` / `下降 3.10%` / `持平`.
fn change_words(d: Decimal) -> String {
    if d > Decimal::ZERO {
        format!("增长 {}", fmt_pct(d))
    } else if d < Decimal::ZERO {
        format!("下降 {}", fmt_pct(-d))
    } else {
        "持平".to_string()
    }
}

fn reason(row: &MetricRow, field: &str) -> Option<String> {
    row.reasons.get(field).or_else(|| row.reasons.get(field.trim_start_matches("ytd_"))).cloned()
}

/// Which figures a route asks to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Actual,
    Target,
    Achievement,
    Gap,
    LastYear,
    Yoy,
    PrevMonth,
    Mom,
    YtdLastYear,
    YtdYoy,
    AnnualTarget,
    AnnualProgress,
    RemainingGap,
    RunRate,
    Contribution,
    Rank,
}

/// The columns shown for `intents`; a year-to-date figure is compared with last year's
/// year-to-date figure (`ytd`).
fn columns(intents: &[Intent], sort: Option<SortKey>, ytd: bool) -> Vec<Col> {
    let (last_year, yoy) = if ytd { (Col::YtdLastYear, Col::YtdYoy) } else { (Col::LastYear, Col::Yoy) };
    let mut cols = vec![Col::Actual];
    let add = |c: Col, cols: &mut Vec<Col>| {
        if !cols.contains(&c) {
            cols.push(c);
        }
    };
    for i in intents {
        match i {
            Intent::Achievement => {
                add(Col::Target, &mut cols);
                add(Col::Achievement, &mut cols);
            }
            Intent::Gap => {
                add(Col::Target, &mut cols);
                add(Col::Gap, &mut cols);
            }
            Intent::Yoy => {
                add(last_year, &mut cols);
                add(yoy, &mut cols);
            }
            Intent::Mom => {
                add(Col::PrevMonth, &mut cols);
                add(Col::Mom, &mut cols);
            }
            Intent::YtdYoy => {
                add(Col::YtdLastYear, &mut cols);
                add(Col::YtdYoy, &mut cols);
            }
            Intent::AnnualProgress => {
                add(Col::AnnualTarget, &mut cols);
                add(Col::AnnualProgress, &mut cols);
                add(Col::RemainingGap, &mut cols);
                add(Col::RunRate, &mut cols);
            }
            Intent::Contribution => add(Col::Contribution, &mut cols),
            _ => {}
        }
    }
    match sort {
        Some(SortKey::Achievement) => {
            add(Col::Target, &mut cols);
            add(Col::Achievement, &mut cols);
        }
        Some(SortKey::Gap) => {
            add(Col::Target, &mut cols);
            add(Col::Gap, &mut cols);
        }
        Some(SortKey::Yoy) => {
            add(last_year, &mut cols);
            add(yoy, &mut cols);
        }
        _ => {}
    }
    if sort.is_some() {
        cols.insert(0, Col::Rank);
    }
    cols
}

struct View<'a> {
    /// What the previous period is called: 上月 / 上季度 / 上年.
    prev: &'static str,
    row: &'a MetricRow,
    ytd: bool,
    measure: Measure,
}

impl View<'_> {
    fn actual(&self) -> Option<Decimal> {
        if self.ytd {
            self.row.ytd_actual
        } else {
            self.row.actual
        }
    }
    fn target(&self) -> Option<Decimal> {
        if self.ytd {
            self.row.ytd_target
        } else {
            self.row.target
        }
    }
    fn achievement(&self) -> Option<Decimal> {
        if self.ytd {
            self.row.ytd_achievement
        } else {
            self.row.achievement
        }
    }
    fn gap(&self) -> Option<Decimal> {
        if self.ytd {
            self.row.ytd_gap
        } else {
            self.row.gap
        }
    }
    fn field_name(&self, base: &str) -> String {
        if self.ytd {
            format!("ytd_{base}")
        } else {
            base.to_string()
        }
    }
    fn cell(&self, c: Col) -> String {
        let m = self.measure;
        match c {
            Col::Actual => opt(self.actual(), |d| fmt_measure(d, m)),
            Col::Target => opt(self.target(), |d| fmt_measure(d, m)),
            Col::Achievement => opt(self.achievement(), fmt_pct),
            Col::Gap => opt(self.gap(), |d| fmt_measure(d, m)),
            Col::LastYear => opt(self.row.last_year, |d| fmt_measure(d, m)),
            Col::Yoy => opt(self.row.yoy, fmt_pct),
            Col::PrevMonth => opt(self.row.prev_month, |d| fmt_measure(d, m)),
            Col::Mom => opt(self.row.mom, fmt_pct),
            Col::YtdLastYear => opt(self.row.ytd_last_year, |d| fmt_measure(d, m)),
            Col::YtdYoy => opt(self.row.ytd_yoy, fmt_pct),
            Col::AnnualTarget => opt(self.row.annual_target, |d| fmt_measure(d, m)),
            Col::AnnualProgress => opt(self.row.annual_progress, fmt_pct),
            Col::RemainingGap => opt(self.row.remaining_gap, |d| fmt_measure(d, m)),
            Col::RunRate => opt(self.row.run_rate, |d| fmt_measure(d, m)),
            Col::Contribution => opt(self.row.contribution, fmt_pct),
            Col::Rank => self.row.rank.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
        }
    }
    fn header(&self, c: Col) -> String {
        let unit = self.measure.unit();
        let p = if self.ytd { "年累计" } else { "" };
        match c {
            Col::Actual => format!("{p}实际（{unit}）"),
            Col::Target => format!("{p}目标（{unit}）"),
            Col::Achievement => format!("{p}达成率"),
            Col::Gap => format!("{p}缺口（{unit}）"),
            Col::LastYear => format!("去年同期（{unit}）"),
            Col::Yoy => "同比".into(),
            Col::PrevMonth => format!("{}（{unit}）", self.prev),
            Col::Mom => "环比".into(),
            Col::YtdLastYear => format!("去年同期累计（{unit}）"),
            Col::YtdYoy => "年度同比".into(),
            Col::AnnualTarget => format!("全年目标（{unit}）"),
            Col::AnnualProgress => "年度完成进度".into(),
            Col::RemainingGap => format!("剩余缺口（{unit}）"),
            Col::RunRate => format!("所需月均（{unit}）"),
            Col::Contribution => "贡献占比".into(),
            Col::Rank => "排名".into(),
        }
    }
    /// `达成率 96.36%` or `达成率无法计算（原因）`.
    fn phrase(&self, c: Col) -> Option<String> {
        let m = self.measure;
        let unit = m.unit();
        let null = |name: &str, field: &str| -> String {
            match reason(self.row, &self.field_name(field)).or_else(|| reason(self.row, field)) {
                Some(r) => format!("{name}无法计算（{r}）"),
                None => format!("{name}无法计算"),
            }
        };
        let p = if self.ytd { "年累计" } else { "" };
        Some(match c {
            Col::Actual => match self.actual() {
                Some(d) => format!("{p}实际{} {} {unit}", m.label(), fmt_measure(d, m)),
                None => null(&format!("{p}实际{}", m.label()), "actual"),
            },
            Col::Target => match self.target() {
                Some(d) => format!("{p}目标 {} {unit}", fmt_measure(d, m)),
                None => null(&format!("{p}目标"), "target"),
            },
            Col::Achievement => match self.achievement() {
                Some(d) => format!("{p}达成率 {}", fmt_pct(d)),
                None => null(&format!("{p}达成率"), "achievement"),
            },
            Col::Gap => match self.gap() {
                Some(d) if d > Decimal::ZERO => format!("{p}缺口 {} {unit}", fmt_measure(d, m)),
                Some(d) if d < Decimal::ZERO => {
                    format!("{p}超额完成 {} {unit}（缺口 {}）", fmt_measure(-d, m), fmt_measure(d, m))
                }
                Some(_) => format!("{p}缺口为 0"),
                None => null(&format!("{p}缺口"), "gap"),
            },
            Col::LastYear => match self.row.last_year {
                Some(d) => format!("去年同期 {} {unit}", fmt_measure(d, m)),
                None => return None,
            },
            Col::Yoy => match self.row.yoy {
                Some(d) => format!("同比{}", change_words(d)),
                None => null("同比", "yoy"),
            },
            Col::PrevMonth => match self.row.prev_month {
                Some(d) => format!("{} {} {unit}", self.prev, fmt_measure(d, m)),
                None => return None,
            },
            Col::Mom => match self.row.mom {
                Some(d) => format!("环比{}", change_words(d)),
                None => null("环比", "mom"),
            },
            Col::YtdLastYear => match self.row.ytd_last_year {
                Some(d) => format!("去年同期累计 {} {unit}", fmt_measure(d, m)),
                None => return None,
            },
            Col::YtdYoy => match self.row.ytd_yoy {
                Some(d) => format!("年度同比{}", change_words(d)),
                None => null("年度同比", "ytd_yoy"),
            },
            Col::AnnualTarget => match self.row.annual_target {
                Some(d) => format!("全年目标 {} {unit}", fmt_measure(d, m)),
                None => null("全年目标", "annual_target"),
            },
            Col::AnnualProgress => match self.row.annual_progress {
                Some(d) => format!("年度目标完成进度 {}", fmt_pct(d)),
                None => null("年度目标完成进度", "annual_progress"),
            },
            Col::RemainingGap => match self.row.remaining_gap {
                Some(d) => format!("剩余缺口 {} {unit}", fmt_measure(d, m)),
                None => return None,
            },
            Col::RunRate => match self.row.run_rate {
                Some(d) => format!("剩余月份需月均 {} {unit}", fmt_measure(d, m)),
                None => null("所需月均", "run_rate"),
            },
            Col::Contribution => match self.row.contribution {
                Some(d) => format!("贡献占比 {}", fmt_pct(d)),
                None => null("贡献占比", "contribution"),
            },
            Col::Rank => match self.row.rank {
                Some(r) => format!("排名第 {r}"),
                None => return None,
            },
        })
    }
}

/// The previous period's name (上期) for a period: 上月, 上季度 or 上年.
fn prev_label(period: &Period) -> &'static str {
    match period {
        Period::Month(_) => "上月",
        Period::Quarter { .. } => "上季度",
        Period::Year(_) => "上年",
    }
}

fn definitions(cols: &[Col], ytd: bool, sort: Option<SortKey>, ascending: bool, period: &Period) -> Vec<String> {
    let mut d = Vec::new();
    let p = if ytd { "年累计" } else { "" };
    for c in cols {
        let s = match c {
            Col::Achievement => format!("{p}达成率 = {p}实际 / {p}目标"),
            Col::Gap => format!("{p}缺口 = {p}目标 − {p}实际（正数为未完成）"),
            Col::Yoy => "同比 = 本期实际 / 去年同期实际 − 1".into(),
            Col::Mom => match period {
                Period::Month(_) => "环比 = 本月实际 / 上月实际 − 1".into(),
                Period::Quarter { .. } => "环比 = 本季度实际 / 上季度实际 − 1".into(),
                Period::Year(_) => "环比 = 本年实际 / 上年实际 − 1".into(),
            },
            Col::YtdYoy => "年度同比 = 年累计实际 / 去年同期年累计实际 − 1".into(),
            Col::AnnualProgress => "年度目标完成进度 = 年累计实际 / 全年目标（对照时间进度 = 月份 / 12）".into(),
            Col::RunRate => "所需月均 = 剩余缺口 / 剩余月数".into(),
            Col::Contribution => format!("贡献占比 = 该行{p}实际 / 筛选范围内合计{p}实际"),
            _ => continue,
        };
        d.push(s);
    }
    if ytd && !d.iter().any(|s| s.starts_with("年累计 =")) {
        d.insert(0, "年累计 = 当年 1 月至当月合计".into());
    }
    if let Some(k) = sort {
        let key = match k {
            SortKey::Actual => "实际",
            SortKey::Achievement => "达成率",
            SortKey::Gap => "缺口",
            SortKey::Yoy if ytd => "年度同比",
            SortKey::Yoy => "同比",
        };
        d.push(format!(
            "排名按{key}{}，并列同名次，无数据的行不参与排名",
            if ascending { "从低到高" } else { "从高到低" }
        ));
    }
    d
}

fn scope_text(filters: &[crate::source::Filter]) -> String {
    if filters.is_empty() {
        "北部战区".to_string()
    } else {
        filters.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(" · ")
    }
}

fn period_text(period: &Period, ytd: bool) -> String {
    crate::route::PeriodSpec { period: *period, ytd, explicit: true }.label()
}

/// Renders one request's rows as Chinese text (sentence + table + 口径).
pub fn render(
    request: &MetricRequest,
    table: &MetricTable,
    intents: &[Intent],
    focus_customer: Option<&str>,
) -> String {
    match (request, table) {
        (
            MetricRequest::Sales { period, ytd, by, filters, measure, sort, ascending, .. },
            MetricTable::Sales { rows, total },
        ) => {
            let cols = columns(intents, *sort, *ytd);
            let when = period_text(period, *ytd);
            let scope = scope_text(filters);
            let mut out = String::new();
            if by.is_empty() || rows.is_empty() && total.is_some() {
                let row = total.as_deref().or(rows.first());
                let Some(row) = row else {
                    return format!("{scope} {when}没有{}数据。", measure.label());
                };
                let v = View { row, ytd: *ytd, measure: *measure, prev: prev_label(period) };
                let parts: Vec<String> = cols.iter().filter_map(|c| v.phrase(*c)).collect();
                out.push_str(&format!("{scope} {when}{}：{}。", measure.label(), parts.join("，")));
            } else {
                let label_dims: Vec<&str> = by.iter().map(|d| d.label()).collect();
                let focus_row =
                    focus_customer.and_then(|id| rows.iter().find(|r| r.code_of(Dim::Customer) == Some(id)));
                if let Some(r) = focus_row {
                    let v = View { row: r, ytd: *ytd, measure: *measure, prev: prev_label(period) };
                    let parts: Vec<String> = cols.iter().filter_map(|c| v.phrase(*c)).collect();
                    out.push_str(&format!("{} {when}（在{scope}范围内）：{}。", r.label(), parts.join("，")));
                } else if focus_customer.is_some() {
                    out.push_str(&format!("{scope} {when}没有该客户的{}数据。", measure.label()));
                } else if sort.is_some() && !rows.is_empty() {
                    let first = &rows[0];
                    let v = View { row: first, ytd: *ytd, measure: *measure, prev: prev_label(period) };
                    let key = match sort {
                        Some(SortKey::Achievement) => v.phrase(Col::Achievement),
                        Some(SortKey::Gap) => v.phrase(Col::Gap),
                        Some(SortKey::Yoy) => v.phrase(if *ytd { Col::YtdYoy } else { Col::Yoy }),
                        _ => v.phrase(Col::Actual),
                    }
                    .unwrap_or_default();
                    out.push_str(&format!(
                        "{scope} {when}按{}{}排名，{}的是 {}（{}）。",
                        label_dims.join("×"),
                        measure.label(),
                        if *ascending { "最低" } else { "最高" },
                        first.label(),
                        key
                    ));
                } else {
                    out.push_str(&format!("{scope} {when}按{}的{}如下。", label_dims.join("×"), measure.label()));
                }
                if let Some(t) = total {
                    let v = View { row: t, ytd: *ytd, measure: *measure, prev: prev_label(period) };
                    if let Some(p) = v.phrase(Col::Actual) {
                        out.push_str(&format!("合计{}。", p));
                    }
                }
                // table
                let v0 = View { row: &rows[0], ytd: *ytd, measure: *measure, prev: prev_label(period) };
                out.push_str("\n\n| ");
                out.push_str(&label_dims.join(" | "));
                for c in &cols {
                    out.push_str(&format!(" | {}", v0.header(*c)));
                }
                out.push_str(" |\n|");
                for _ in 0..(label_dims.len() + cols.len()) {
                    out.push_str("---|");
                }
                out.push('\n');
                let limit = if focus_row.is_some() { 10 } else { 15 };
                for r in rows.iter().take(limit) {
                    let v = View { row: r, ytd: *ytd, measure: *measure, prev: prev_label(period) };
                    let names: Vec<String> = by
                        .iter()
                        .map(|d| {
                            r.scope
                                .iter()
                                .find(|k| k.dim == *d)
                                .map(|k| if k.name_zh.is_empty() { k.code.clone() } else { k.name_zh.clone() })
                                .unwrap_or_default()
                        })
                        .collect();
                    out.push_str(&format!("| {}", names.join(" | ")));
                    for c in &cols {
                        out.push_str(&format!(" | {}", v.cell(*c)));
                    }
                    out.push_str(" |\n");
                }
                if rows.len() > limit {
                    out.push_str(&format!("（共 {} 行，仅列前 {limit} 行；完整结果见 tool_results）\n", rows.len()));
                }
            }
            let defs = definitions(&cols, *ytd, *sort, *ascending, period);
            if !defs.is_empty() {
                out.push_str(&format!("\n口径：{}。", defs.join("；")));
            }
            if *measure == Measure::Amount {
                out.push_str("金额单位：美元（按当月汇率折算）。");
            }
            out.trim().to_string()
        }
        (MetricRequest::Concentration { month, filters, .. }, MetricTable::Concentration { row }) => {
            let scope = scope_text(filters);
            let mut out = format!("{scope} {}年{}月客户集中度：", month.year, month.month);
            let mut parts = vec![format!("共 {} 家客户有销售", row.customers)];
            if let Some(c) = row.cr10 {
                parts.push(format!("CR10 = {}", fmt_pct(c)));
            }
            if let Some(c) = row.cr20 {
                parts.push(format!("CR20 = {}", fmt_pct(c)));
            }
            out.push_str(&parts.join("，"));
            out.push('。');
            if !row.top.is_empty() {
                out.push_str("\n\n| 客户 | 销售额（美元） | 占比 |\n|---|---|---|\n");
                for (name, amount, share) in row.top.iter().take(10) {
                    out.push_str(&format!("| {name} | {} | {} |\n", fmt_money(*amount), opt(*share, fmt_pct)));
                }
            }
            out.push_str("\n口径：CR10 = 前 10 大客户销售额合计 / 全部客户销售额合计（CR20 同理）。");
            out
        }
        (MetricRequest::Alerts { kind, as_of, filters }, MetricTable::Alerts { rows }) => {
            render_alerts(*kind, as_of, filters, rows)
        }
        _ => "规则引擎返回的结果与查询不匹配。".to_string(),
    }
}

fn render_alerts(
    kind: AlertKind,
    as_of: &chrono::NaiveDate,
    filters: &[crate::source::Filter],
    rows: &[AlertRow],
) -> String {
    let scope = scope_text(filters);
    let def = match kind {
        AlertKind::Overdue => "逾期 = 约定回款日期早于截止日且未付清，逾期金额 = 应回款 − 已回款，逾期天数 = 截止日 − 约定回款日期",
        AlertKind::ShipmentAtRisk => {
            "货好待款 = 付款节点为预付或发货前、未付清、合同未发货（未发货/已订舱），且货好日期在截止日前后 14 天内或已过"
        }
        AlertKind::CreditAnomaly => "信用异常 = 未回款余额超过信用额度，或有逾期超过 90 天的款项而当月仍有销售",
        AlertKind::StalledDevelopment => "开发停滞 = 开发中客户最近一次活动（销售、回款、督办事项、客户资料）早于 30 天前",
    };
    if rows.is_empty() {
        return format!("截至 {as_of}，{scope}没有{}预警。\n口径：{def}。", kind.label());
    }
    let mut out = format!("截至 {as_of}，{scope}共有 {} 条{}预警", rows.len(), kind.label());
    // totals per currency
    let mut totals: Vec<(String, Decimal)> = Vec::new();
    for r in rows {
        if let Some(a) = r.amount {
            let cur = if r.currency.is_empty() { "USD".to_string() } else { r.currency.clone() };
            match totals.iter_mut().find(|(c, _)| *c == cur) {
                Some((_, t)) => *t += a,
                None => totals.push((cur, a)),
            }
        }
    }
    if !totals.is_empty() && kind != AlertKind::StalledDevelopment {
        let label = match kind {
            AlertKind::Overdue => "逾期金额合计",
            AlertKind::ShipmentAtRisk => "待收款合计",
            _ => "超额合计",
        };
        let t: Vec<String> = totals.iter().map(|(c, a)| format!("{} {c}", fmt_money(*a))).collect();
        out.push_str(&format!("，{label} {}", t.join(" + ")));
    }
    out.push_str("。\n\n");
    let (amount_h, days_h) = match kind {
        AlertKind::Overdue => ("逾期金额", "逾期天数"),
        AlertKind::ShipmentAtRisk => ("未付金额", "距货好天数"),
        AlertKind::CreditAnomaly => ("超额/逾期金额", "逾期天数"),
        AlertKind::StalledDevelopment => ("—", "未活动天数"),
    };
    out.push_str(&format!(
        "| 客户 | 国家 | 合同号 | {amount_h} | 币种 | {days_h} | 说明 |\n|---|---|---|---|---|---|---|\n"
    ));
    for r in rows.iter().take(15) {
        let name = if r.customer_name.is_empty() { r.customer.clone() } else { r.customer_name.clone() };
        let detail = if r.bucket.is_empty() {
            r.detail.clone()
        } else {
            format!("{} {}", r.bucket, r.detail).trim().to_string()
        };
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            r.country,
            if r.contract.is_empty() { "—" } else { &r.contract },
            opt(r.amount, fmt_money),
            if r.currency.is_empty() { "USD" } else { &r.currency },
            r.days.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
            detail.replace('|', "/"),
        ));
    }
    if rows.len() > 15 {
        out.push_str(&format!("（共 {} 条，仅列前 15 条；完整结果见 tool_results）\n", rows.len()));
    }
    out.push_str(&format!("\n口径：{def}。"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Filter, ScopeKey};
    use lodestar_core::Month;

    #[test]
    fn percent_rounds_half_up() {
        // 0.963550 → 96.3550% → 96.36% (half-up; banker's rounding would give 96.36 too, so also
        // check an exact midpoint that banker's rounding sends down: 0.12125 → 12.125 → 12.13)
        assert_eq!(fmt_pct(Decimal::from_str("0.963550").unwrap()), "96.36%");
        assert_eq!(fmt_pct(Decimal::from_str("0.12125").unwrap()), "12.13%");
        assert_eq!(fmt_pct(Decimal::from_str("-0.0315").unwrap()), "-3.15%");
        assert_eq!(fmt_money(Decimal::from_str("1234567.885").unwrap()), "1,234,567.89");
        assert_eq!(fmt_qty(Decimal::from_str("12345.5").unwrap()), "12,346");
    }

    #[test]
    fn single_scope_sentence_states_the_definition() {
        let req = MetricRequest::Sales {
            period: Period::Month(Month { year: 2026, month: 9 }),
            ytd: false,
            by: vec![],
            filters: vec![
                Filter { dim: Dim::Country, code: "RU".into(), name: "俄罗斯".into() },
                Filter { dim: Dim::Category, code: "TBR".into(), name: "全钢".into() },
            ],
            measure: Measure::Amount,
            sort: None,
            ascending: false,
            top: None,
        };
        // 1,156,300 / 1,200,000 = 0.96358333… → 96.36%
        let row = MetricRow {
            scope: vec![ScopeKey {
                dim: Dim::Country,
                code: "RU".into(),
                name_zh: "俄罗斯".into(),
                name_en: String::new(),
            }],
            actual: Some(Decimal::from(1_156_300)),
            target: Some(Decimal::from(1_200_000)),
            achievement: Some(Decimal::from(1_156_300) / Decimal::from(1_200_000)),
            ..Default::default()
        };
        let t = MetricTable::Sales { rows: vec![], total: Some(Box::new(row)) };
        let s = render(&req, &t, &[Intent::Achievement], None);
        assert!(s.contains("俄罗斯 · 全钢 2026年9月销售额"), "{s}");
        assert!(s.contains("实际销售额 1,156,300.00 美元"), "{s}");
        assert!(s.contains("目标 1,200,000.00 美元"), "{s}");
        assert!(s.contains("达成率 96.36%"), "{s}");
        assert!(s.contains("达成率 = 实际 / 目标"), "{s}");
    }

    #[test]
    fn a_quarter_is_compared_with_the_previous_quarter_by_name() {
        let req = MetricRequest::Sales {
            period: Period::Quarter { year: 2026, quarter: 3 },
            ytd: false,
            by: vec![],
            filters: vec![Filter { dim: Dim::Country, code: "RU".into(), name: "俄罗斯".into() }],
            measure: Measure::Amount,
            sort: None,
            ascending: false,
            top: None,
        };
        // 9,902,675.75 / 9,622,162.15 − 1 = 0.029153… → +2.92%
        let row = MetricRow {
            actual: Some(Decimal::from_str("9902675.75").unwrap()),
            prev_month: Some(Decimal::from_str("9622162.15").unwrap()),
            mom: Some(Decimal::from_str("0.029153").unwrap()),
            ..Default::default()
        };
        let t = MetricTable::Sales { rows: vec![], total: Some(Box::new(row)) };
        let s = render(&req, &t, &[Intent::Mom], None);
        assert!(s.contains("上季度 9,622,162.15 美元"), "{s}");
        assert!(s.contains("环比 = 本季度实际 / 上季度实际 − 1"), "{s}");
        assert!(!s.contains("上月"), "{s}");
    }

    #[test]
    fn null_ratio_shows_reason() {
        let req = MetricRequest::Sales {
            period: Period::Month(Month { year: 2026, month: 9 }),
            ytd: false,
            by: vec![],
            filters: vec![],
            measure: Measure::Quantity,
            sort: None,
            ascending: false,
            top: None,
        };
        let mut row = MetricRow { actual: Some(Decimal::from(120)), ..Default::default() };
        row.reasons.insert("achievement".into(), "没有目标".into());
        let t = MetricTable::Sales { rows: vec![], total: Some(Box::new(row)) };
        let s = render(&req, &t, &[Intent::Achievement], None);
        assert!(s.contains("达成率无法计算（没有目标）"), "{s}");
        assert!(s.contains("实际销量 120 条"), "{s}");
    }
}
