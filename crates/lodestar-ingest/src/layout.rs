//! Sheet layout (表头识别): which row holds the headers, which record kind the sheet holds, and
//! which column is which canonical field — all from the header aliases, never from fixed positions.

use crate::workbook::SheetGrid;
use lodestar_dict::aliases::header_key;
use lodestar_dict::aliases::MatchQuality;
use lodestar_dict::HeaderAliases;
use std::fmt;
use std::str::FromStr;

/// How many rows from the top are searched for the header row.
pub const HEADER_SCAN_ROWS: usize = 30;

/// Header detection looks at this many columns of a row, and this many characters of a cell: a
/// header row is narrow and its names short, and matching every alias against 16,384 cells of
/// 50,000 characters each took minutes.
pub const HEADER_SCAN_COLS: usize = 256;
/// Characters of a cell header detection looks at (see [`HEADER_SCAN_COLS`]).
pub const HEADER_SCAN_CHARS: usize = 200;

/// The record kinds an export sheet can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// 销售明细
    Sales,
    /// 目标
    Targets,
    /// 合同/回款
    Receivables,
    /// 汇率
    Fx,
}

impl RecordKind {
    /// The four kinds.
    pub const ALL: [RecordKind; 4] = [RecordKind::Sales, RecordKind::Targets, RecordKind::Receivables, RecordKind::Fx];

    /// The lowercase id (`sales`, `targets`, `receivables`, `fx`) used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Sales => "sales",
            RecordKind::Targets => "targets",
            RecordKind::Receivables => "receivables",
            RecordKind::Fx => "fx",
        }
    }

    /// Required columns: each group needs one of its fields.
    pub fn required(self) -> &'static [&'static [&'static str]] {
        match self {
            RecordKind::Sales => {
                &[&["month"], &["country"], &["customer"], &["category"], &["spec"], &["quantity"], &["amount"]]
            }
            RecordKind::Targets => &[&["month"], &["country"], &["target_quantity", "target_amount"]],
            RecordKind::Receivables => {
                &[&["contract_no"], &["customer"], &["country"], &["payment_node"], &["due_amount"], &["due_date"]]
            }
            RecordKind::Fx => &[&["month"], &["currency"], &["usd_rate"]],
        }
    }

    /// Columns whose merged cells are filled into every row of the merge (names, months, per-contract
    /// values) — never per-row quantities or amounts.
    pub fn fills_merged(self, field: &str) -> bool {
        !matches!(
            field,
            "quantity"
                | "amount"
                | "target_quantity"
                | "target_amount"
                | "due_amount"
                | "paid_amount"
                | "usd_rate"
                | "due_date"
                | "paid_date"
        )
    }

    /// Label columns checked for 合计 / 小计 / Total markers.
    pub fn label_fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::Sales => &["month", "country", "customer", "category", "spec", "owner"],
            RecordKind::Targets => &["month", "country", "category", "customer"],
            RecordKind::Receivables => &["contract_no", "customer", "country", "payment_node"],
            RecordKind::Fx => &["month", "currency"],
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match lodestar_core::text::norm_key(s).as_str() {
            "sales" | "sale" | "销售" | "销售明细" => Ok(RecordKind::Sales),
            "targets" | "target" | "目标" => Ok(RecordKind::Targets),
            "receivables" | "receivable" | "回款" | "合同" | "合同/回款" | "应收" => {
                Ok(RecordKind::Receivables)
            }
            "fx" | "rates" | "汇率" => Ok(RecordKind::Fx),
            _ => Err(format!("unknown record kind `{s}` (expected sales, targets, receivables or fx)")),
        }
    }
}

/// A header row mapped to canonical fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The record kind the header row was recognized as.
    pub kind: RecordKind,
    /// Index of the header row within the sheet's used range (0-based).
    pub header_index: usize,
    /// Absolute 0-based row of the header (Excel row = this + 1).
    pub header_row_abs: u32,
    /// (field, column index within the used range).
    pub columns: Vec<(String, usize)>,
    /// Every non-empty header text of the row, cleaned.
    pub headers_seen: Vec<String>,
    /// (field, unit) for headers that carried a unit in brackets (`销售额(万美元)` → `万美元`).
    pub units: Vec<(String, String)>,
    /// Header texts of the row that map to no field of the kind (reported, never silently lost).
    pub unmapped: Vec<String>,
    /// (field, header text as matched): for a two-row header the combined text (`销售额`,
    /// or `本月数量(条)` when the child alone named nothing).
    pub headers: Vec<(String, String)>,
    /// The header was read from two rows combined (a parent row above `header_index`).
    pub two_row: bool,
}

impl Layout {
    /// The unit written in the header of `field`, if any.
    pub fn unit(&self, field: &str) -> Option<&str> {
        self.units.iter().find(|(f, _)| f == field).map(|(_, u)| u.as_str())
    }
    /// The header text the column of `field` was matched by.
    pub fn header(&self, field: &str) -> Option<&str> {
        self.headers.iter().find(|(f, _)| f == field).map(|(_, h)| h.as_str())
    }
    /// Column (within the used range) of `field`, when the header row has it.
    pub fn col(&self, field: &str) -> Option<usize> {
        self.columns.iter().find(|(f, _)| f == field).map(|(_, c)| *c)
    }
    /// Required groups none of whose fields is mapped.
    pub fn missing_groups(&self) -> Vec<&'static [&'static str]> {
        self.kind.required().iter().copied().filter(|g| g.iter().all(|f| self.col(f).is_none())).collect()
    }
}

/// What the header search found for a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Detection {
    /// A data sheet (possibly missing required columns: see [`Layout::missing_groups`]).
    Data(Layout),
    /// No recognizable data (notes, pivots, empty): the reason for the report.
    Skip(String),
}

/// A header row mapped to fields: (field, column) pairs, every header text seen, the unit each
/// field's header carried (`万美元`, `RUB`) and the headers that mapped to no field (or to a field
/// a better-matching column already had).
struct MappedRow {
    cols: Vec<(String, usize)>,
    seen: Vec<String>,
    units: Vec<(String, String)>,
    unmapped: Vec<String>,
    headers: Vec<(String, String)>,
}

/// How one column matched a field: quality, column index, unit, header text.
type Candidate = (MatchQuality, usize, Option<String>, String);

/// How one header text maps to a field of `kind`. Beyond the aliases, an fx sheet's rate column
/// may be written as local currency per USD in a form no alias lists (`RUB/USD`, `KZT per USD`):
/// it is the rate column, read the other way round (see [`crate::clean::fx_header_is_local_per_usd`]).
fn match_field(aliases: &HeaderAliases, kind: RecordKind, raw: &str) -> Option<(String, MatchQuality, Option<String>)> {
    if let Some(m) = aliases.match_header(kind.as_str(), raw) {
        return Some((m.field.to_string(), m.quality, m.unit));
    }
    if kind == RecordKind::Fx && crate::clean::fx_header_is_local_per_usd(raw) {
        return Some(("usd_rate".to_string(), MatchQuality::Part, None));
    }
    None
}

fn map_row(row: &[calamine::Data], kind: RecordKind, aliases: &HeaderAliases) -> MappedRow {
    // field → (quality, column, unit): an exact alias beats a header without its unit beats one
    // part of a bilingual header; among equals the leftmost column wins
    let mut best: Vec<(String, Candidate)> = Vec::new();
    let mut seen = Vec::new();
    let mut texts: Vec<(usize, String)> = Vec::new();
    for (i, cell) in row.iter().enumerate() {
        let calamine::Data::String(s) = cell else {
            continue;
        };
        let t = crate::clean::clean_text(s);
        if t.is_empty() {
            continue;
        }
        // keep line breaks for splitting bilingual headers (`国家\nCountry`)
        let raw = lodestar_core::text::to_halfwidth(s.trim());
        if let Some((field, quality, unit)) = match_field(aliases, kind, &raw) {
            let cand = (quality, i, unit, t.clone());
            match best.iter_mut().find(|(f, _)| *f == field) {
                Some((_, b)) if (cand.0, cand.1) < (b.0, b.1) => *b = cand,
                Some(_) => {}
                None => best.push((field, cand)),
            }
        }
        texts.push((i, t.clone()));
        seen.push(t);
    }
    best.sort_by_key(|(_, (_, c, _, _))| *c);
    let cols: Vec<(String, usize)> = best.iter().map(|(f, (_, c, _, _))| (f.clone(), *c)).collect();
    let units = best.iter().filter_map(|(f, (_, _, u, _))| u.clone().map(|u| (f.clone(), u))).collect();
    let headers = best.iter().map(|(f, (_, _, _, h))| (f.clone(), h.clone())).collect();
    let unmapped = texts.into_iter().filter(|(i, _)| !cols.iter().any(|(_, c)| c == i)).map(|(_, t)| t).collect();
    MappedRow { cols, seen, units, unmapped, headers }
}

/// Text of a header cell (`None` when blank or not text).
fn cell_str(d: Option<&calamine::Data>) -> Option<String> {
    match d {
        Some(calamine::Data::String(s)) if !s.trim().is_empty() => {
            Some(match s.char_indices().nth(HEADER_SCAN_CHARS) {
                Some((cut, _)) => s[..cut].to_string(),
                None => s.clone(),
            })
        }
        _ => None,
    }
}

/// The header texts of the first rows, each cell filled from the merged region covering it
/// (merged cells keep their text in the top-left cell only). `down` fills only from merges that
/// start in a row above (a header merged down over the sub-header row); otherwise from any merge
/// (a parent header merged across its children too).
fn filled_rows(sheet: &SheetGrid, n: usize, down_only: bool) -> Vec<Vec<Option<String>>> {
    let origin = sheet.origin();
    let mut rows: Vec<Vec<Option<String>>> =
        sheet.rows().take(n).map(|r| r.iter().take(HEADER_SCAN_COLS).map(|d| cell_str(Some(d))).collect()).collect();
    for m in &sheet.merges {
        let Some(text) = cell_str(sheet.range.get_value(m.start)) else { continue };
        for r in m.start.0.max(origin.0)..=m.end.0 {
            let ri = (r - origin.0) as usize;
            let Some(row) = rows.get_mut(ri) else { break };
            if down_only && r == m.start.0 {
                continue;
            }
            for c in m.start.1.max(origin.1)..=m.end.1 {
                let ci = (c - origin.1) as usize;
                if let Some(cell) = row.get_mut(ci) {
                    if cell.is_none() {
                        *cell = Some(text.clone());
                    }
                }
            }
        }
    }
    rows
}

/// Two header rows read as one (表头两行): per column, the child (lower row) names the column;
/// a blank child takes its parent's text (a header merged down over both rows, or written once
/// above an empty cell); a child that alone maps to no field of `kind` is tried as parent+child
/// (`本月` over `数量(条)` → `本月数量(条)`) and as parent(child) (`销售额` over `USD` →
/// `销售额(USD)`). A blank parent cell beside a filled one under which children continue carries
/// that parent on (an unmerged parent written over the first of its children only).
fn combine_rows(
    parent: &[Option<String>],
    child: &[Option<String>],
    kind: RecordKind,
    aliases: &HeaderAliases,
) -> Vec<calamine::Data> {
    let width = parent.len().max(child.len());
    let mut out = Vec::with_capacity(width);
    let mut carried: Option<String> = None;
    for c in 0..width {
        let p = parent.get(c).cloned().flatten();
        let k = child.get(c).cloned().flatten();
        let p = match (p, &k) {
            (Some(p), _) => {
                carried = Some(p.clone());
                Some(p)
            }
            (None, Some(_)) => carried.clone(),
            (None, None) => {
                carried = None;
                None
            }
        };
        let text = match (p, k) {
            (None, None) => None,
            (Some(p), None) => Some(p),
            (None, Some(k)) => Some(k),
            (Some(p), Some(k)) => {
                let maps = |t: &str| match_field(aliases, kind, &lodestar_core::text::to_halfwidth(t.trim())).is_some();
                if maps(&k) {
                    Some(k)
                } else {
                    let joined = format!("{}{}", p.trim(), k.trim());
                    let unit = format!("{}({})", p.trim(), k.trim());
                    if maps(&joined) {
                        Some(joined)
                    } else if maps(&unit) {
                        Some(unit)
                    } else {
                        Some(k)
                    }
                }
            }
        };
        out.push(text.map(calamine::Data::String).unwrap_or(calamine::Data::Empty));
    }
    out
}

fn groups_met(kind: RecordKind, cols: &[(String, usize)]) -> usize {
    kind.required().iter().filter(|g| g.iter().any(|f| cols.iter().any(|(c, _)| c == f))).count()
}

/// Finds the header row and the record kind of a sheet. With `forced`, only that kind is tried.
///
/// A row qualifies as the header of a kind when it names at least half of the kind's required
/// columns (and at least two); among qualifying (kind, row) pairs the one naming the most known
/// columns wins, then the one meeting more required columns, then the earlier row.
pub fn detect(sheet: &SheetGrid, aliases: &HeaderAliases, forced: Option<RecordKind>) -> Detection {
    let kinds: Vec<RecordKind> = match forced {
        Some(k) => vec![k],
        None => RecordKind::ALL.to_vec(),
    };
    if sheet.range.is_empty() {
        return Detection::Skip("empty sheet".into());
    }
    let origin = sheet.origin();
    // (score, required met, -row, one row rather than two) best
    let mut best: Option<((usize, usize, i64, bool), Layout)> = None;
    let mut best_partial: Option<(usize, RecordKind, usize)> = None;
    // each row alone (its cells filled from headers merged down over it), then each row under the
    // row above it (see `combine_rows`); one row wins a tie
    let down = filled_rows(sheet, HEADER_SCAN_ROWS, true);
    let across = filled_rows(sheet, HEADER_SCAN_ROWS, false);
    let single: Vec<Vec<calamine::Data>> = down
        .iter()
        .map(|r| r.iter().map(|c| c.clone().map(calamine::Data::String).unwrap_or(calamine::Data::Empty)).collect())
        .collect();
    for (ri, row) in single.iter().enumerate() {
        for &kind in &kinds {
            let combined = (ri > 0).then(|| {
                let child: Vec<Option<String>> = sheet
                    .rows()
                    .nth(ri)
                    .map(|r| r.iter().take(HEADER_SCAN_COLS).map(|d| cell_str(Some(d))).collect())
                    .unwrap_or_default();
                combine_rows(&across[ri - 1], &child, kind, aliases)
            });
            let tries = std::iter::once((row.as_slice(), false)).chain(combined.as_deref().map(|c| (c, true)));
            for (cells, two_row) in tries {
                let MappedRow { cols, seen, units, unmapped, headers } = map_row(cells, kind, aliases);
                if cols.is_empty() {
                    continue;
                }
                let met = groups_met(kind, &cols);
                let total = kind.required().len();
                if best_partial.is_none_or(|(m, _, _)| met > m) {
                    best_partial = Some((met, kind, total));
                }
                if met < 2 || met * 2 < total {
                    continue;
                }
                let key = (cols.len(), met, -(ri as i64), !two_row);
                if best.as_ref().is_none_or(|(k, _)| key > *k) {
                    best = Some((
                        key,
                        Layout {
                            kind,
                            header_index: ri,
                            header_row_abs: origin.0 + ri as u32,
                            columns: cols,
                            headers_seen: seen,
                            units,
                            unmapped,
                            headers,
                            two_row,
                        },
                    ));
                }
            }
        }
    }
    match best {
        Some((_, layout)) => Detection::Data(layout),
        None => match best_partial {
            Some((met, kind, total)) if met > 0 => Detection::Skip(format!(
                "no header row found in the first {HEADER_SCAN_ROWS} rows (best match: {met} of {total} required {kind} columns)"
            )),
            _ => Detection::Skip(format!("no recognizable header in the first {HEADER_SCAN_ROWS} rows")),
        },
    }
}

/// Why a sheet that names some of a kind's required columns but not all is a summary or pivot
/// (汇总 / 透视表) rather than a broken detail sheet: it lacks two or more required columns (a
/// detail row needs all of them; a summary groups them away), it carries analysis columns
/// (达成率, 占比, 同比, 实际 …), or its name says so (汇总, 透视, 附表, Summary, Pivot).
/// `None`: a detail sheet missing a column, which must fail the import.
pub fn summary_signal(sheet_name: &str, layout: &Layout, missing: usize) -> Option<String> {
    if missing >= 2 {
        return Some(format!("{missing} required columns absent"));
    }
    const ANALYSIS: &[&str] = &[
        "达成率",
        "完成率",
        "达成",
        "占比",
        "比例",
        "同比",
        "环比",
        "增长率",
        "实际",
        "差额",
        "缺口",
        "achievement",
        "actual",
        "share",
        "yoy",
        "mom",
        "growth",
        "%",
    ];
    if let Some(h) = layout.unmapped.iter().find(|h| {
        let k = header_key(h);
        ANALYSIS.iter().any(|w| k.contains(w))
    }) {
        return Some(format!("analysis column \"{h}\""));
    }
    const NAMES: &[&str] = &["汇总", "透视", "附表", "统计", "分析", "summary", "pivot", "overview", "dashboard"];
    let n = header_key(sheet_name);
    if NAMES.iter().any(|w| n.contains(w)) {
        return Some(format!("sheet name \"{sheet_name}\""));
    }
    None
}

/// An unmapped header that looks like a column the importer would otherwise default: a currency
/// (defaults to USD), a paid amount (defaults to 0) or a target (defaults to null). Such a header
/// must stop the import with a clear error instead of a silent default.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LookalikeColumn {
    /// The header as written.
    pub header: String,
    /// The field it looks like (canonical field name).
    pub field: String,
    /// The canonical Chinese header of that field.
    pub column: String,
}

/// Unmapped headers that look like a currency, paid-amount or target column the sheet does not
/// have mapped (see [`LookalikeColumn`]).
pub fn lookalike_columns(layout: &Layout, aliases: &HeaderAliases) -> Vec<LookalikeColumn> {
    let mut out = Vec::new();
    for h in &layout.unmapped {
        let k = header_key(h);
        let any = |words: &[&str]| words.iter().any(|w| k.contains(w));
        let ratio = any(&["率", "%", "rate", "比例", "占比", "达成", "完成"]);
        let date = any(&["日期", "时间", "日", "date"]);
        let mut fields: Vec<&str> = Vec::new();
        if any(&["币种", "币别", "货币", "currency", "curr", "ccy", "валют"]) || k == "原币" || k == "币"
        {
            fields.push("currency");
        }
        if layout.kind == RecordKind::Receivables
            && !date
            && !ratio
            && !any(&["应收", "应回", "应付", "due", "合同"])
            && any(&["已收", "实收", "已回", "回款", "已付", "到账", "paid", "received", "collected", "оплач"])
        {
            fields.push("paid_amount");
        }
        if layout.kind == RecordKind::Targets
            && !ratio
            && !date
            && any(&["目标", "任务", "计划", "预算", "target", "plan", "budget", "план"])
        {
            fields.push("target_quantity");
            fields.push("target_amount");
        }
        for f in fields {
            let known = aliases.spellings(layout.kind.as_str(), f);
            if known.is_empty() || layout.col(f).is_some() {
                continue;
            }
            // a targets sheet with one target column mapped: a second target-like header is the
            // other one only when that one is missing
            out.push(LookalikeColumn {
                header: h.clone(),
                field: f.to_string(),
                column: label(aliases, layout.kind, f).to_string(),
            });
            break;
        }
    }
    out
}

/// The canonical (first) header spelling of a field, for messages and quarantine entries.
pub fn label<'a>(aliases: &'a HeaderAliases, kind: RecordKind, field: &'a str) -> &'a str {
    aliases.spellings(kind.as_str(), field).first().map(|s| s.as_str()).unwrap_or(field)
}

/// A required column the sheet lacks, with the spellings it would accept and the closest header
/// the sheet had.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MissingColumn {
    /// Canonical header (e.g. `规格`), alternatives joined with ` / `.
    pub column: String,
    /// Some accepted spellings.
    pub expected: Vec<String>,
    /// The sheet's header most similar to one of the accepted spellings.
    pub nearest: Option<String>,
}

impl fmt::Display for MissingColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (expected one of: {})", self.column, self.expected.join(", "))?;
        match &self.nearest {
            Some(n) => write!(f, "; nearest header seen: \"{n}\""),
            None => write!(f, "; no similar header seen"),
        }
    }
}

/// Describes the missing required columns of a layout.
pub fn missing_columns(layout: &Layout, aliases: &HeaderAliases) -> Vec<MissingColumn> {
    let unmapped: Vec<&String> = layout.unmapped.iter().collect();
    layout
        .missing_groups()
        .into_iter()
        .map(|group| {
            let mut expected = Vec::new();
            let mut labels = Vec::new();
            for f in group {
                labels.push(label(aliases, layout.kind, f).to_string());
                // a few Chinese spellings and a few English ones
                let sp = aliases.spellings(layout.kind.as_str(), f);
                let english = sp.iter().filter(|s| s.is_ascii()).take(3);
                for s in sp.iter().filter(|s| !s.is_ascii()).take(4).chain(english) {
                    if !expected.contains(s) {
                        expected.push(s.clone());
                    }
                }
            }
            let mut nearest: Option<(f64, String)> = None;
            for h in &unmapped {
                let hk = header_key(h);
                for f in group {
                    for s in aliases.spellings(layout.kind.as_str(), f) {
                        let sk = header_key(s);
                        let mut score =
                            strsim::normalized_levenshtein(&hk, &sk).max(strsim::jaro_winkler(&hk, &sk) * 0.9);
                        if !hk.is_empty() && (sk.contains(&hk) || hk.contains(&sk)) {
                            score = score.max(0.8);
                        }
                        if nearest.as_ref().is_none_or(|(b, _)| score > *b) {
                            nearest = Some((score, (*h).clone()));
                        }
                    }
                }
            }
            MissingColumn {
                column: labels.join(" / "),
                expected,
                nearest: nearest.filter(|(s, _)| *s >= 0.3).map(|(_, h)| h),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Range};

    fn grid(rows: &[&[&str]]) -> SheetGrid {
        let w = rows.iter().map(|r| r.len()).max().unwrap_or(1) as u32;
        let mut range = Range::new((0, 0), (rows.len() as u32 - 1, w - 1));
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    range.set_value((r as u32, c as u32), Data::String(v.to_string()));
                }
            }
        }
        SheetGrid { name: "s".into(), range, merges: vec![], hidden: false }
    }

    fn aliases() -> HeaderAliases {
        lodestar_dict::Dictionaries::builtin().unwrap().header_aliases
    }

    #[test]
    fn finds_header_below_a_title_and_detects_kind() {
        let g = grid(&[
            &["北辰轮胎 2026年9月销售明细"],
            &["制表: 运营部"],
            &[],
            &["Month", "国家/地区", "客户名称", "产品类别", "Size", "Qty (pcs)", "Amount (USD)", "Currency"],
            &["2026-09", "Russia", "Sibir", "TBR", "315/80R22.5", "10", "1000", "USD"],
        ]);
        let Detection::Data(l) = detect(&g, &aliases(), None) else { panic!("not detected") };
        assert_eq!(l.kind, RecordKind::Sales);
        assert_eq!(l.header_index, 3);
        assert_eq!(l.col("spec"), Some(4));
        assert!(l.missing_groups().is_empty());
    }

    #[test]
    fn kinds_from_headers() {
        let a = aliases();
        let t = grid(&[&["月份", "国家", "品类", "目标销量(条)", "目标金额"]]);
        assert!(matches!(detect(&t, &a, None), Detection::Data(l) if l.kind == RecordKind::Targets));
        let fx = grid(&[&["月份", "币种", "对美元汇率"]]);
        assert!(matches!(detect(&fx, &a, None), Detection::Data(l) if l.kind == RecordKind::Fx));
        let r = grid(&[&["合同号", "客户", "国家", "付款节点", "应回款金额", "约定回款日期", "已回款金额"]]);
        assert!(matches!(detect(&r, &a, None), Detection::Data(l) if l.kind == RecordKind::Receivables));
        let notes = grid(&[&["说明"], &["本文件由系统导出"], &["行标签", "求和项:销量"]]);
        assert!(matches!(detect(&notes, &a, None), Detection::Skip(_)));
    }

    #[test]
    fn two_header_rows_merged_down_and_across_are_combined() {
        // row 1: 月份 国家 客户 产品(D1:E1) 销售(F1:G1) 币种; 月份/国家/客户/币种 merged down A1:A2 …
        // row 2: _ _ _ 品类 规格 销量 销售额 _ → every one of the 8 columns maps (7 required + 币种)
        let mut g = grid(&[
            &["月份", "国家", "客户", "产品", "", "销售", "", "币种"],
            &["", "", "", "品类", "规格", "销量", "销售额", ""],
            &["2026-10", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "10", "2000", "USD"],
        ]);
        let m = |r0, c0, r1, c1| calamine::Dimensions { start: (r0, c0), end: (r1, c1) };
        g.merges = vec![m(0, 0, 1, 0), m(0, 1, 1, 1), m(0, 2, 1, 2), m(0, 3, 0, 4), m(0, 5, 0, 6), m(0, 7, 1, 7)];
        let Detection::Data(l) = detect(&g, &aliases(), None) else { panic!("not detected") };
        assert_eq!(l.kind, RecordKind::Sales);
        assert_eq!(l.header_index, 1, "data starts below the second header row");
        assert!(l.missing_groups().is_empty(), "{:?}", l.columns);
        let cols: Vec<(&str, usize)> = l.columns.iter().map(|(f, c)| (f.as_str(), *c)).collect();
        assert_eq!(
            cols,
            vec![
                ("month", 0),
                ("country", 1),
                ("customer", 2),
                ("category", 3),
                ("spec", 4),
                ("quantity", 5),
                ("amount", 6),
                ("currency", 7)
            ]
        );
        // the same layout with no merge information (blank cells under the top headers) too
        g.merges.clear();
        let Detection::Data(l) = detect(&g, &aliases(), None) else { panic!("not detected without merges") };
        assert_eq!(l.header_index, 1);
        assert!(l.missing_groups().is_empty(), "{:?}", l.columns);
        assert_eq!(l.col("currency"), Some(7));
    }

    #[test]
    fn a_child_header_that_maps_alone_wins_else_parent_plus_child() {
        // targets: parent 目标 over 销量 | 金额 — neither child is a targets header alone, so the
        // columns are read as 目标销量 (target_quantity) and 目标金额 (target_amount)
        let g = grid(&[
            &["月份", "国家", "品类", "目标", "", "币种"],
            &["", "", "", "销量", "金额", ""],
            &["2026-10", "俄罗斯", "全钢", "100", "20000", "USD"],
        ]);
        // (销量 and 金额 alone would also pass for a sales sheet's columns: the kind is given)
        let Detection::Data(l) = detect(&g, &aliases(), Some(RecordKind::Targets)) else { panic!("not detected") };
        assert_eq!(l.kind, RecordKind::Targets);
        assert_eq!(l.col("target_quantity"), Some(3));
        assert_eq!(l.col("target_amount"), Some(4));
        assert_eq!(l.header("target_quantity"), Some("目标销量"));
        // sales: parent 本月 over 数量(条) | 金额(USD) — the children map alone and keep their names
        // (and the unit USD of 金额)
        let g = grid(&[
            &["月份", "国家", "客户", "品类", "规格", "本月", "", "币种"],
            &["", "", "", "", "", "数量(条)", "金额(USD)", ""],
            &["2026-10", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "10", "2000", "USD"],
        ]);
        let Detection::Data(l) = detect(&g, &aliases(), None) else { panic!("not detected") };
        assert_eq!(l.header_index, 1);
        assert!(l.missing_groups().is_empty(), "{:?}", l.columns);
        assert_eq!((l.col("quantity"), l.col("amount")), (Some(5), Some(6)));
        assert_eq!(l.header("amount"), Some("金额(USD)"));
    }

    #[test]
    fn a_one_row_header_is_not_read_as_two_rows() {
        // header on row 1, data below: row 2 under row 1 maps no more columns, so row 1 alone wins
        let g = grid(&[
            &["月份", "国家", "客户", "品类", "规格", "销量", "销售额", "币种", "备注"],
            &["2026-10", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "10", "2000", "USD", ""],
        ]);
        let Detection::Data(l) = detect(&g, &aliases(), None) else { panic!("not detected") };
        assert_eq!((l.header_index, l.two_row), (0, false));
        assert_eq!(l.unmapped, vec!["备注".to_string()]);
    }

    #[test]
    fn rate_headers_quoted_per_usd_map_to_the_rate_column() {
        let a = aliases();
        for h in ["汇率(本币/USD)", "RUB/USD", "1美元兑本币", "Rate (per USD)", "KZT per USD"] {
            let g = grid(&[&["月份", "币种", h]]);
            let Detection::Data(l) = detect(&g, &a, None) else { panic!("{h}: not detected") };
            assert_eq!((l.kind, l.col("usd_rate")), (RecordKind::Fx, Some(2)), "{h}");
            assert!(crate::clean::fx_header_is_local_per_usd(l.header("usd_rate").unwrap()), "{h}");
        }
        for h in ["对美元汇率", "汇率(USD/本币)", "USD per Unit", "Rate to USD (USD per unit)", "兑美元汇率", "汇率"]
        {
            assert!(!crate::clean::fx_header_is_local_per_usd(h), "{h} is USD per unit");
        }
    }

    #[test]
    fn missing_column_names_expected_and_nearest() {
        let g = grid(&[&["月份", "国家", "客户", "品类", "规格号码", "销量", "销售额"]]);
        let a = aliases();
        let Detection::Data(l) = detect(&g, &a, None) else { panic!() };
        let m = missing_columns(&l, &a);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].column, "规格");
        assert_eq!(m[0].nearest.as_deref(), Some("规格号码"));
        assert!(m[0].to_string().contains("Size"));
    }
}
