//! Output of the rule engine for people: aligned text tables, CSV, Markdown and xlsx workbooks
//! (the 国家×品类×客户 summary ops paste into meeting material).
//!
//! Text, CSV and Markdown round half-up: ratios to percents with two decimals (`96.35%`), money
//! to two decimals. xlsx cells hold the exact numbers with number formats (`#,##0.00`, `0.00%`).

use crate::alerts::Alerts;
use crate::types::*;
use crate::{MetricsEngine, MetricsError, Result};
use lodestar_core::{Period, Principal};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt::Write as _;
use std::path::Path;

/// How a metric column is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// Money or quantity.
    Amount,
    /// A fraction shown as a percent.
    Ratio,
    /// A rank.
    Rank,
}

/// One metric column: JSON field name, Chinese header, kind.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// JSON field name of [`MetricRow`] the column shows.
    pub field: &'static str,
    /// Chinese column header.
    pub label_zh: &'static str,
    /// How the column's values are formatted.
    pub kind: ColKind,
}

const fn col(field: &'static str, label_zh: &'static str, kind: ColKind) -> Column {
    Column { field, label_zh, kind }
}

/// The metric columns, in display order.
pub const COLUMNS: &[Column] = &[
    col("actual", "实际", ColKind::Amount),
    col("target", "目标", ColKind::Amount),
    col("achievement", "达成率", ColKind::Ratio),
    col("gap", "缺口", ColKind::Amount),
    col("yoy", "同比", ColKind::Ratio),
    col("mom", "环比", ColKind::Ratio),
    col("ytd_actual", "年累计", ColKind::Amount),
    col("ytd_target", "年累计目标", ColKind::Amount),
    col("ytd_achievement", "年累计达成率", ColKind::Ratio),
    col("ytd_yoy", "年度同比", ColKind::Ratio),
    col("annual_target", "全年目标", ColKind::Amount),
    col("annual_progress", "年度进度", ColKind::Ratio),
    col("time_progress", "时间进度", ColKind::Ratio),
    col("remaining_gap", "剩余缺口", ColKind::Amount),
    col("run_rate", "所需月均", ColKind::Amount),
    col("rank", "排名", ColKind::Rank),
    col("contribution", "贡献", ColKind::Ratio),
    col("contribution_change", "贡献变化", ColKind::Ratio),
];

/// The value of a metric column of a row.
pub fn value(row: &MetricRow, field: &str) -> Option<Decimal> {
    match field {
        "actual" => row.actual,
        "target" => row.target,
        "achievement" => row.achievement,
        "gap" => row.gap,
        "yoy" => row.yoy,
        "mom" => row.mom,
        "ytd_actual" => row.ytd_actual,
        "ytd_target" => row.ytd_target,
        "ytd_achievement" => row.ytd_achievement,
        "ytd_gap" => row.ytd_gap,
        "ytd_yoy" => row.ytd_yoy,
        "annual_target" => row.annual_target,
        "annual_progress" => row.annual_progress,
        "time_progress" => row.time_progress,
        "remaining_gap" => row.remaining_gap,
        "run_rate" => row.run_rate,
        "rank" => row.rank.map(Decimal::from),
        "contribution" => row.contribution,
        "contribution_change" => row.contribution_change,
        _ => None,
    }
}

/// A fraction as a percent, half-up to two decimals: `0.96354` → `96.35%`.
pub fn percent(d: Decimal) -> String {
    let p = (d * Decimal::ONE_HUNDRED).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    format!("{p:.2}%")
}

/// Money half-up to two decimals, with thousands separators when `group`.
pub fn money(d: Decimal, group: bool) -> String {
    let r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let s = format!("{r:.2}");
    if !group {
        return s;
    }
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.as_str()),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{}{}{}{}", if neg { "-" } else { "" }, out, if frac.is_empty() { "" } else { "." }, frac)
}

fn cell_text(c: &Column, v: Option<Decimal>, group: bool) -> String {
    match v {
        None => "—".into(),
        Some(d) => match c.kind {
            ColKind::Amount => money(d, group),
            ColKind::Ratio => percent(d),
            ColKind::Rank => d.to_string(),
        },
    }
}

fn scope_text(row: &MetricRow) -> Vec<String> {
    row.scope
        .dims
        .iter()
        .map(|p| {
            if p.code.is_empty() || p.code == p.name_zh {
                p.name_zh.clone()
            } else {
                format!("{} {}", p.name_zh, p.code)
            }
        })
        .collect()
}

/// Display width (CJK = 2 columns).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            if (0x1100..=0x115F).contains(&u)
                || (0x2E80..=0xA4CF).contains(&u)
                || (0xAC00..=0xD7A3).contains(&u)
                || (0xF900..=0xFAFF).contains(&u)
                || (0xFF00..=0xFF60).contains(&u)
                || (0xFFE0..=0xFFE6).contains(&u)
                || c == '—'
            {
                2
            } else {
                1
            }
        })
        .sum()
}

fn pad(s: &str, w: usize, right: bool) -> String {
    let n = w.saturating_sub(width(s));
    if right {
        format!("{}{}", " ".repeat(n), s)
    } else {
        format!("{}{}", s, " ".repeat(n))
    }
}

fn header(t: &MetricTable) -> String {
    let mut h = format!("期间 {}", t.period);
    if !t.filters.is_empty() {
        let f: Vec<String> = t.filters.iter().map(|f| format!("{}={}", f.dim.label_zh(), f.name_zh)).collect();
        let _ = write!(h, " · 筛选 {}", f.join(", "));
    }
    let unit = t.unit.clone().unwrap_or_else(|| "混合币种".into());
    let measure = match t.measure {
        Measure::Amount => "销售额",
        Measure::Quantity => "销量",
    };
    let _ = write!(h, " · {measure}（{unit}）· 对比期 {}", t.compare_period);
    h
}

fn grid(t: &MetricTable, group: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head: Vec<String> = t.by.iter().map(|d| d.label_zh().to_string()).collect();
    if head.is_empty() {
        head.push("范围".into());
    }
    head.extend(COLUMNS.iter().map(|c| c.label_zh.to_string()));
    let mut rows = Vec::new();
    for r in t.rows.iter().chain(std::iter::once(&t.total)) {
        let mut line = scope_text(r);
        if r.scope.dims.is_empty() {
            line = vec!["合计".to_string()];
            line.resize(t.by.len().max(1), String::new());
        }
        line.extend(COLUMNS.iter().map(|c| cell_text(c, value(r, c.field), group)));
        rows.push(line);
    }
    (head, rows)
}

fn reason_notes(t: &MetricTable) -> Vec<String> {
    let mut seen: Vec<(String, String, usize)> = Vec::new();
    for r in t.rows.iter().chain(std::iter::once(&t.total)) {
        for re in &r.reasons {
            if re.field == "rank" && r.scope.dims.is_empty() {
                continue;
            }
            match seen.iter_mut().find(|(f, x, _)| *f == re.field && *x == re.reason) {
                Some(e) => e.2 += 1,
                None => seen.push((re.field.clone(), re.reason.clone(), 1)),
            }
        }
    }
    seen.into_iter().take(30).map(|(f, r, n)| format!("{f}: {r}（{n} 行）")).collect()
}

/// An aligned text table with the total row and the reasons for the empty cells.
pub fn text_table(t: &MetricTable) -> String {
    let (head, rows) = grid(t, true);
    let ndims = t.by.len().max(1);
    let mut w: Vec<usize> = head.iter().map(|h| width(h)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(width(c));
        }
    }
    let mut out = header(t);
    out.push('\n');
    let line = |cells: &[String]| -> String {
        cells.iter().enumerate().map(|(i, c)| pad(c, w[i], i >= ndims)).collect::<Vec<_>>().join("  ")
    };
    out.push_str(&line(&head));
    out.push('\n');
    out.push_str(&"-".repeat(w.iter().sum::<usize>() + 2 * (w.len() - 1)));
    out.push('\n');
    for r in &rows {
        out.push_str(line(r).trim_end());
        out.push('\n');
    }
    let notes = reason_notes(t);
    if !notes.is_empty() {
        out.push_str("说明（— 的原因）:\n");
        for n in notes {
            let _ = writeln!(out, "  {n}");
        }
    }
    out
}

/// A Markdown table (for pasting into documents).
pub fn markdown(t: &MetricTable) -> String {
    let (head, rows) = grid(t, true);
    let mut out = format!("**{}**\n\n", header(t));
    let esc = |s: &str| s.replace('|', "\\|");
    let _ = writeln!(out, "| {} |", head.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        (0..head.len()).map(|i| if i < t.by.len().max(1) { "---" } else { "---:" }).collect::<Vec<_>>().join("|")
    );
    for r in &rows {
        let _ = writeln!(out, "| {} |", r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | "));
    }
    let notes = reason_notes(t);
    if !notes.is_empty() {
        out.push_str("\n说明：\n");
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV with scope code and names per dimension, rounded values and a `reasons` column.
pub fn csv(t: &MetricTable) -> String {
    let mut head: Vec<String> = Vec::new();
    for d in &t.by {
        head.push(format!("{d}_code"));
        head.push(format!("{d}_name_zh"));
        head.push(format!("{d}_name_en"));
    }
    head.push("currency".into());
    head.extend(COLUMNS.iter().map(|c| c.field.to_string()));
    head.push("reasons".into());
    let mut out = head.join(",");
    out.push('\n');
    for r in t.rows.iter().chain(std::iter::once(&t.total)) {
        let mut cells: Vec<String> = Vec::new();
        if r.scope.dims.is_empty() {
            for (i, _) in t.by.iter().enumerate() {
                cells.push(if i == 0 { "TOTAL".into() } else { String::new() });
                cells.push(if i == 0 { "合计".into() } else { String::new() });
                cells.push(if i == 0 { "Total".into() } else { String::new() });
            }
        } else {
            for p in &r.scope.dims {
                cells.push(p.code.clone());
                cells.push(p.name_zh.clone());
                cells.push(p.name_en.clone());
            }
        }
        cells.push(r.currency.clone().unwrap_or_default());
        for c in COLUMNS {
            cells.push(match value(r, c.field) {
                None => String::new(),
                Some(v) => cell_text(c, Some(v), false),
            });
        }
        cells.push(r.reasons.iter().map(|x| format!("{}: {}", x.field, x.reason)).collect::<Vec<_>>().join("; "));
        out.push_str(&cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// 口径 notes: (term, definition), shown on the notes sheet of workbooks.
pub const NOTES: &[(&str, &str)] = &[
    ("实际", "期间内销售明细之和；金额按销售月份汇率折算为美元（汇率 = 每单位币种折合美元），缺汇率时报错；无汇率表时混合币种范围金额为空并注明币种"),
    ("目标", "期间内目标之和。目标行品类为空表示该国家全部品类；范围比目标粒度更细（如目标按国家×品类设定时的客户）目标为空"),
    ("达成率", "实际 ÷ 目标；目标为 0、负数或缺失时为空并注明原因"),
    ("缺口", "目标 − 实际（正数 = 未完成）；目标为 0 时缺口 = −实际"),
    ("同比", "实际 ÷ 去年同期实际 − 1；去年同期为 0 或负数时为空"),
    ("环比", "实际 ÷ 上期实际 − 1（月度为上月，季度为上季度）"),
    ("年累计", "当年 1 月至期间最后一个月之和；年累计达成率 = 年累计实际 ÷ 年累计目标"),
    ("年度同比", "年累计实际 ÷ 去年同期年累计实际 − 1"),
    ("年度进度", "年累计实际 ÷ 全年目标，对照时间进度 = 月份 ÷ 12"),
    ("剩余缺口", "全年目标 − 年累计实际；所需月均 = 剩余缺口 ÷ (12 − 月份)，12 月为空"),
    ("排名", "按排序依据（默认实际）降序的竞争排名 1、2、2、4；依据为空的行不排名；并列按编码排列"),
    ("贡献", "行实际 ÷ 查询范围（筛选后全部行）合计实际；贡献变化 = 本期贡献 − 对比期贡献（0.012 = 1.2 个百分点）"),
    ("集中度", "CR10 / CR20：实际最高的前 10 / 20 个客户之和 ÷ 范围合计"),
    ("显示", "百分比四舍五入保留两位小数；JSON 中为未舍入的小数（0.9635 表示 96.35%）"),
];

fn xerr(path: &Path) -> impl Fn(rust_xlsxwriter::XlsxError) -> MetricsError + '_ {
    move |e| MetricsError::Write { path: path.display().to_string(), message: e.to_string() }
}

/// Writes one metric table on a worksheet: header row, frozen pane, number formats.
fn write_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    t: &MetricTable,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Format;
    let bold = Format::new()
        .set_bold()
        .set_background_color(rust_xlsxwriter::Color::RGB(0xDDEBF7))
        .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin);
    let money_f = Format::new().set_num_format("#,##0.00");
    let qty_f = Format::new().set_num_format("#,##0");
    let pct_f = Format::new().set_num_format("0.00%");
    let rank_f = Format::new().set_num_format("0");
    let total_f = Format::new().set_bold();
    let mut c = 0u16;
    for d in &t.by {
        ws.write_string_with_format(0, c, format!("{}编码", d.label_zh()), &bold)?;
        ws.write_string_with_format(0, c + 1, d.label_zh(), &bold)?;
        ws.write_string_with_format(0, c + 2, format!("{} (EN)", d.label_zh()), &bold)?;
        ws.set_column_width(c, 10)?;
        ws.set_column_width(c + 1, 18)?;
        ws.set_column_width(c + 2, 22)?;
        c += 3;
    }
    if t.by.is_empty() {
        ws.write_string_with_format(0, 0, "范围", &bold)?;
        c = 1;
    }
    let first_metric = c;
    ws.write_string_with_format(0, c, "币种", &bold)?;
    for (i, col) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, first_metric + 1 + i as u16, col.label_zh, &bold)?;
        ws.set_column_width(first_metric + 1 + i as u16, 14)?;
    }
    let reasons_col = first_metric + 1 + COLUMNS.len() as u16;
    ws.write_string_with_format(0, reasons_col, "说明", &bold)?;
    ws.set_column_width(reasons_col, 60)?;
    let amount_f = if t.measure == Measure::Quantity { &qty_f } else { &money_f };
    for (ri, r) in t.rows.iter().chain(std::iter::once(&t.total)).enumerate() {
        let row = ri as u32 + 1;
        if r.scope.dims.is_empty() {
            ws.write_string_with_format(row, if t.by.is_empty() { 0 } else { 1 }, "合计", &total_f)?;
        } else {
            for (i, p) in r.scope.dims.iter().enumerate() {
                let cc = i as u16 * 3;
                ws.write_string(row, cc, &p.code)?;
                ws.write_string(row, cc + 1, &p.name_zh)?;
                ws.write_string(row, cc + 2, &p.name_en)?;
            }
        }
        ws.write_string(row, first_metric, r.currency.as_deref().unwrap_or(""))?;
        for (i, col) in COLUMNS.iter().enumerate() {
            let cc = first_metric + 1 + i as u16;
            if let Some(v) = value(r, col.field).and_then(|v| v.to_f64()) {
                let f = match col.kind {
                    ColKind::Amount => amount_f,
                    ColKind::Ratio => &pct_f,
                    ColKind::Rank => &rank_f,
                };
                ws.write_number_with_format(row, cc, v, f)?;
            }
        }
        let reasons = r.reasons.iter().map(|x| format!("{}: {}", x.field, x.reason)).collect::<Vec<_>>().join("; ");
        ws.write_string(row, reasons_col, reasons)?;
    }
    ws.set_freeze_panes(1, first_metric)?;
    Ok(())
}

fn write_notes(
    ws: &mut rust_xlsxwriter::Worksheet,
    extra: &[String],
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    ws.set_name("口径")?;
    ws.write_string_with_format(0, 0, "指标", &bold)?;
    ws.write_string_with_format(0, 1, "口径", &bold)?;
    ws.set_column_width(0, 14)?;
    ws.set_column_width(1, 110)?;
    for (i, (k, v)) in NOTES.iter().enumerate() {
        ws.write_string(i as u32 + 1, 0, *k)?;
        ws.write_string(i as u32 + 1, 1, *v)?;
    }
    let base = NOTES.len() as u32 + 2;
    for (i, e) in extra.iter().enumerate() {
        ws.write_string(base + i as u32, 1, e)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Writes one metric table as a workbook (the table sheet plus the 口径 sheet).
pub fn write_xlsx(t: &MetricTable, path: &Path) -> Result<()> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("指标").map_err(xerr(path))?;
    write_sheet(ws, t).map_err(xerr(path))?;
    write_notes(wb.add_worksheet(), &[header(t)]).map_err(xerr(path))?;
    wb.save(path).map_err(xerr(path))
}

/// The monthly 国家×品类×客户 summary: one table per sheet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// The period, as written (`2026-09`).
    pub period: String,
    /// (sheet name, table): 按国家, 按品类, 按客户, 国家×品类×客户.
    pub sheets: Vec<(String, MetricTable)>,
}

/// Computes the summary tables for a period.
pub fn summary(engine: &MetricsEngine, period: Period, principal: &Principal) -> Result<Summary> {
    let specs: [(&str, Vec<Dim>); 4] = [
        ("按国家", vec![Dim::Country]),
        ("按品类", vec![Dim::Category]),
        ("按客户", vec![Dim::Customer]),
        ("国家×品类×客户", vec![Dim::Country, Dim::Category, Dim::Customer]),
    ];
    let mut sheets = Vec::new();
    for (name, by) in specs {
        let mut q = MetricQuery::new(period, by);
        q.principal = principal.clone();
        let mut t = engine.query(&q)?;
        if name == "国家×品类×客户" {
            // a pivot reads best in dictionary order, not by rank
            t.rows.sort_by_key(|a| a.scope.id());
        }
        sheets.push((name.to_string(), t));
    }
    Ok(Summary { period: period.to_string(), sheets })
}

/// Writes the summary workbook: the four sheets and the 口径 notes sheet.
pub fn write_summary_xlsx(s: &Summary, path: &Path) -> Result<()> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    add_summary_sheets(&mut wb, s).map_err(xerr(path))?;
    wb.save(path).map_err(xerr(path))
}

/// Adds the summary's four sheets and the 口径 notes sheet to a workbook (drafts add charts after).
pub fn add_summary_sheets(
    wb: &mut rust_xlsxwriter::Workbook,
    s: &Summary,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    for (name, t) in &s.sheets {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        write_sheet(ws, t)?;
    }
    let head = s.sheets.first().map(|(_, t)| header(t)).unwrap_or_default();
    write_notes(wb.add_worksheet(), &[head])
}

/// Writes a view (one table, first sheet `当前视图`) followed by the summary's sheets and notes.
pub fn write_view_and_summary_xlsx(view: &MetricTable, s: &Summary, path: &Path) -> Result<()> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("当前视图").map_err(xerr(path))?;
    write_sheet(ws, view).map_err(xerr(path))?;
    add_summary_sheets(&mut wb, s).map_err(xerr(path))?;
    wb.save(path).map_err(xerr(path))
}

/// CR-n as text.
pub fn concentration_text(c: &Concentration) -> String {
    let mut out = format!("客户集中度 期间 {}", c.period);
    if !c.filters.is_empty() {
        let f: Vec<String> = c.filters.iter().map(|f| format!("{}={}", f.dim.label_zh(), f.name_zh)).collect();
        let _ = write!(out, " · 筛选 {}", f.join(", "));
    }
    let _ = writeln!(
        out,
        " · 合计 {} {} · 客户数 {}",
        c.total.map(|t| money(t, true)).unwrap_or_else(|| "—".into()),
        c.unit.clone().unwrap_or_default(),
        c.customer_count
    );
    for r in &c.ratios {
        let _ = write!(out, "CR{}: {}", r.n, r.share.map(percent).unwrap_or_else(|| "—".into()));
        if let Some(re) = &r.reason {
            let _ = write!(out, "（{re}）");
        }
        out.push('\n');
    }
    let top = c.ratios.iter().map(|r| r.n).max().unwrap_or(10);
    for r in c.customers.iter().take(top) {
        let name = r.scope.dims.first().map(|p| format!("{} {}", p.name_zh, p.code)).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:>3}. {}  {}  {}",
            r.rank.map(|x| x.to_string()).unwrap_or_else(|| "—".into()),
            pad(&name, 32, false),
            r.actual.map(|a| money(a, true)).unwrap_or_else(|| "—".into()),
            r.contribution.map(percent).unwrap_or_else(|| "—".into())
        );
    }
    out
}

/// An amount an alert may withhold: the figure, or `（无权限）`.
pub fn masked_money(v: Option<Decimal>) -> String {
    v.map(|v| money(v, true)).unwrap_or_else(|| "（无权限）".into())
}

/// A contract number an alert may withhold.
pub fn masked_contract(c: &Option<String>) -> String {
    c.clone().unwrap_or_else(|| "（无权限）".into())
}

/// Alerts as text, grouped.
pub fn alerts_text(a: &Alerts) -> String {
    let mut out = format!("风险提醒 截至 {}（共 {} 条）\n", a.as_of, a.count());
    let _ = writeln!(out, "\n回款逾期 overdue（{} 条）", a.overdue.len());
    for (k, b) in &a.overdue_buckets {
        let cur: Vec<String> = b.by_currency.iter().map(|(c, v)| format!("{} {}", money(*v, true), c)).collect();
        let _ = writeln!(
            out,
            "  {k:>7} 天: {} 笔  {}{}",
            b.count,
            if b.reason.is_some() && cur.is_empty() {
                "金额（无权限）".into()
            } else if cur.is_empty() {
                "0".into()
            } else {
                cur.join(" + ")
            },
            b.amount_usd.map(|u| format!("  ≈ {} USD", money(u, true))).unwrap_or_default()
        );
    }
    for o in &a.overdue {
        let _ = writeln!(
            out,
            "  - {} {}（{}）合同 {} {}：逾期 {} {}，{} 天（到期 {}）",
            o.customer.id,
            o.customer.name_zh,
            o.country,
            masked_contract(&o.contract_no),
            o.payment_node,
            masked_money(o.overdue_amount),
            o.currency,
            o.days_overdue,
            o.due_date
        );
    }
    let _ = writeln!(out, "\n货好待款 shipment_at_risk（{} 条）", a.shipment_at_risk.len());
    for s in &a.shipment_at_risk {
        let when = if s.days_to_goods_ready >= 0 {
            format!("{} 天后货好", s.days_to_goods_ready)
        } else {
            format!("货好已 {} 天", -s.days_to_goods_ready)
        };
        let _ = writeln!(
            out,
            "  - {} {} 合同 {} {}（{}）：缺款 {} {}，{}（{}）",
            s.customer.id,
            s.customer.name_zh,
            masked_contract(&s.contract_no),
            s.payment_node,
            s.shipping_status,
            masked_money(s.missing_amount),
            s.currency,
            when,
            s.goods_ready_date
        );
    }
    let _ = writeln!(out, "\n信用异常 credit_anomaly（{} 条）", a.credit_anomaly.len());
    for c in &a.credit_anomaly {
        let detail = match c.rule.id.as_str() {
            "credit_over_limit" => format!(
                "未回款余额 {} {} 超过信用额度 {} {}",
                masked_money(c.outstanding),
                c.currency,
                if c.outstanding.is_none() {
                    masked_money(None)
                } else {
                    c.credit_limit.map(|l| money(l, true)).unwrap_or_else(|| "—".into())
                },
                c.credit_currency.clone().unwrap_or_default()
            ),
            _ => format!(
                "合同 {} 逾期 {} 天（{} {}），本月仍有销售",
                masked_contract(&c.contract_no),
                c.days_overdue.unwrap_or_default(),
                masked_money(c.overdue_amount),
                c.currency
            ),
        };
        let _ = writeln!(
            out,
            "  - {} {}：{}{}",
            c.customer.id,
            c.customer.name_zh,
            detail,
            c.note.as_ref().map(|n| format!("（{n}）")).unwrap_or_default()
        );
    }
    let _ = writeln!(out, "\n开发停滞 stalled_development（{} 条）", a.stalled_development.len());
    for s in &a.stalled_development {
        let last = match (s.last_activity, s.days_since_activity) {
            (Some(d), Some(n)) => {
                format!("最近活动 {d}（{}），已 {n} 天", s.last_activity_kind.clone().unwrap_or_default())
            }
            _ => "没有任何活动记录".into(),
        };
        let _ = writeln!(out, "  - {} {}：{}", s.customer.id, s.customer.name_zh, last);
    }
    for w in &a.withheld {
        let _ = writeln!(out, "\n[未显示] {}：{}", w.group, w.reason);
    }
    for w in &a.masked {
        let _ = writeln!(out, "\n[金额未显示] {}：{}", w.group, w.reason);
    }
    if !a.notes.is_empty() {
        out.push_str("\n备注:\n");
        for n in &a.notes {
            let _ = writeln!(out, "  {n}");
        }
    }
    out
}
