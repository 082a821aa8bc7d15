//! Cell cleaning (清洗): text, numbers stored as text, months and dates in every form the exports
//! use, currencies, payment nodes and shipping states.
//!
//! ```
//! use lodestar_ingest::clean::{parse_decimal_text, parse_month_text};
//! assert_eq!(parse_decimal_text("１，２３４．５０").unwrap().to_string(), "1234.50");
//! assert_eq!(parse_month_text("2026年9月").unwrap().to_string(), "2026-09");
//! ```

use calamine::Data;
use chrono::{Datelike, NaiveDate};
use lodestar_core::text::to_halfwidth;
use lodestar_core::Month;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Plain text of a cell, as the spreadsheet shows it (dates as `YYYY-MM-DD`).
pub fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => float_text(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Whether a cell holds nothing (empty, or only spaces).
pub fn is_blank(d: &Data) -> bool {
    match d {
        Data::Empty => true,
        Data::String(s) => s.chars().all(|c| c.is_whitespace()),
        _ => false,
    }
}

/// A name or free text as stored: half-width, trimmed, inner whitespace runs collapsed to one space.
pub fn clean_text(s: &str) -> String {
    if is_clean(s) {
        return s.to_string();
    }
    let h = to_halfwidth(s);
    let mut out = String::with_capacity(h.len());
    for w in h.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Whether `s` is already clean: no full-width forms or special spaces, no leading, trailing,
/// doubled or non-space whitespace (one pass, no allocation).
fn is_clean(s: &str) -> bool {
    let mut prev_space = true; // a leading space is not clean
    for c in s.chars() {
        match c {
            ' ' => {
                if prev_space {
                    return false;
                }
                prev_space = true;
            }
            '\u{3000}' | '\u{FF01}'..='\u{FF5E}' | '。' | '、' | '\u{00A0}' | '\u{2007}' | '\u{202F}' => {
                return false
            }
            c if c.is_whitespace() => return false,
            _ => prev_space = false,
        }
    }
    !prev_space || s.is_empty()
}

/// Whether a text is a placeholder an export writes into a cell that has no value (空值标记):
/// `—` `–` `-` `--` `N/A` `n/a` `NA` `/` `无` `空` (also doubled dashes and `#N/A`). In an optional
/// column such a cell counts as empty; in a required one it is still an error.
pub fn is_empty_marker(s: &str) -> bool {
    let k: String = lodestar_core::text::norm_key(s).chars().filter(|c| !c.is_whitespace()).collect();
    if !k.is_empty() && k.chars().all(|c| matches!(c, '-' | '—' | '–' | '―' | '−')) && k.chars().count() <= 3 {
        return true;
    }
    matches!(k.as_str(), "n/a" | "na" | "n.a." | "#n/a" | "/" | "无" | "空")
}

/// Whether a cell is blank or holds only an empty marker (see [`is_empty_marker`]).
pub fn is_blank_or_marker(d: &Data) -> bool {
    match d {
        Data::String(s) => is_blank(d) || is_empty_marker(s),
        other => is_blank(other),
    }
}

/// Whether an fx (汇率) header quotes the rate the other way round from 对美元汇率 (USD per unit of
/// the currency): local currency per one US dollar — `汇率(本币/USD)`, `本币/美元`, `RUB/USD`,
/// `1美元兑本币`, `美元兑卢布`, `Rate (per USD)`, `Units per USD`, `1 USD = …`. Such rates are
/// inverted on import. `USD/本币`, `对美元汇率`, `USD per unit` quote USD per unit and are not.
pub fn fx_header_is_local_per_usd(header: &str) -> bool {
    let k: String = lodestar_core::text::norm_key(header).chars().filter(|c| !c.is_whitespace()).collect();
    const INVERSE: &[&str] =
        &["美元兑", "usd兑", "每美元", "每1美元", "perusd", "per1usd", "1usd=", "1美元=", "单位/美元", "perdollar"];
    if INVERSE.iter().any(|w| k.contains(w)) {
        return true;
    }
    // `X/USD` or `X/美元` with X not USD itself: X per dollar
    for usd in ["/usd", "/美元", "/us$", "/$"] {
        let mut from = 0;
        while let Some(i) = k[from..].find(usd) {
            let at = from + i;
            let before: String = k[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '$')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let before = before.trim_start_matches(|c: char| c.is_ascii_digit());
            if !before.is_empty() && !before.ends_with("usd") && !before.ends_with("美元") {
                return true;
            }
            from = at + usd.len();
        }
    }
    false
}

/// Currencies worth certainly less than one US dollar (a 对美元汇率 above 1 for them is a rate
/// quoted as local currency per USD): RUB KZT UZS KGS TJS AMD AZN GEL BYN CNY JPY KRW.
pub const BELOW_ONE_USD: &[&str] =
    &["RUB", "KZT", "UZS", "KGS", "TJS", "AMD", "AZN", "GEL", "BYN", "CNY", "JPY", "KRW"];

/// The cleaned text of a cell (see [`clean_text`]).
pub fn cell_clean(d: &Data) -> String {
    match d {
        Data::String(s) => clean_text(s),
        other => cell_text(other),
    }
}

/// A number from a cell: numeric cells as they are, text via [`parse_decimal_text`].
pub fn cell_decimal(d: &Data) -> Option<Decimal> {
    match d {
        Data::Int(i) => Some(Decimal::from(*i)),
        Data::Float(f) => float_decimal(*f),
        Data::String(s) => parse_decimal_text(s),
        Data::Bool(_)
        | Data::Empty
        | Data::Error(_)
        | Data::DateTime(_)
        | Data::DateTimeIso(_)
        | Data::DurationIso(_) => None,
    }
}

fn float_decimal(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    // f64's Display is the shortest text that round-trips, so 0.1 stays 0.1 (not 0.1000000000000000055…)
    Decimal::from_str(&format!("{f}")).ok()
}

/// Canonical decimal text of a stored amount or quantity: no trailing zeros (`1234.50` → `1234.5`).
pub fn decimal_string(d: Decimal) -> String {
    d.normalize().to_string()
}

const AFFIXES: &[&str] = &[
    "US$", "USD", "RMB", "CNY", "EUR", "RUB", "KZT", "JPY", "KRW", "pcs", "PCS", "руб.", "руб", "$", "¥", "￥", "€",
    "₽", "₸", "₩", "元", "条", "个", "只", "套",
];

/// A number written as text: full-width digits, thousands separators (`1,234.50`, `1 234,50`,
/// `1.234,50`), a decimal comma, parentheses or a trailing minus for negatives, currency signs
/// and units around it (`$1,200`, `1200条`), scientific notation.
pub fn parse_decimal_text(raw: &str) -> Option<Decimal> {
    let mut t: String = to_halfwidth(raw.trim()).trim().to_string();
    if t.is_empty() {
        return None;
    }
    let mut neg = false;
    if t.starts_with('(') && t.ends_with(')') && t.len() >= 3 {
        neg = true;
        t = t[1..t.len() - 1].trim().to_string();
    }
    // strip currency signs / units on either side (repeat: "US$ 1,200 元")
    loop {
        let before = t.len();
        for a in AFFIXES {
            if let Some(r) = t.strip_prefix(a) {
                t = r.trim().to_string();
            }
            if let Some(r) = t.strip_suffix(a) {
                t = r.trim().to_string();
            }
        }
        if t.len() == before {
            break;
        }
    }
    if let Some(r) = t.strip_prefix(['-', '−', '–']) {
        neg = !neg;
        t = r.trim().to_string();
    } else if let Some(r) = t.strip_prefix('+') {
        t = r.trim().to_string();
    } else if let Some(r) = t.strip_suffix('-') {
        neg = !neg;
        t = r.trim().to_string();
    }
    if t.starts_with('(') && t.ends_with(')') && t.len() >= 3 {
        neg = !neg;
        t = t[1..t.len() - 1].trim().to_string();
    }
    let t: String = t.chars().filter(|c| !matches!(c, ' ' | '\'' | '_' | '\u{a0}' | '\u{202f}' | '\u{2009}')).collect();
    if t.is_empty() || !t.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == ',') {
        return None;
    }
    if t.contains(['e', 'E']) {
        let d = Decimal::from_scientific(&t.to_ascii_lowercase()).ok()?;
        return Some(if neg { -d } else { d });
    }
    if !t.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',') {
        return None;
    }
    let dots = t.matches('.').count();
    let commas = t.matches(',').count();
    let plain: String = match (dots, commas) {
        (0, 0) | (1, 0) => t,
        (_, 0) => {
            // 1.234.567 — dots as thousands separators
            if grouped(&t, '.') {
                t.replace('.', "")
            } else {
                return None;
            }
        }
        (0, 1) => {
            if grouped(&t, ',') {
                t.replace(',', "")
            } else {
                t.replace(',', ".")
            }
        }
        (0, _) => {
            if grouped(&t, ',') {
                t.replace(',', "")
            } else {
                return None;
            }
        }
        _ => {
            let last_dot = t.rfind('.').unwrap_or(0);
            let last_comma = t.rfind(',').unwrap_or(0);
            if last_dot > last_comma && dots == 1 && grouped(&t[..last_dot], ',') {
                t.replace(',', "")
            } else if last_comma > last_dot && commas == 1 && grouped(&t[..last_comma], '.') {
                t.replace('.', "").replace(',', ".")
            } else {
                return None;
            }
        }
    };
    let d = Decimal::from_str(&plain).ok()?;
    Some(if neg { -d } else { d })
}

/// `1,234,567` (groups of three after the first group of one to three digits).
fn grouped(s: &str, sep: char) -> bool {
    let mut parts = s.split(sep);
    let first = parts.next().unwrap_or("");
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut any = false;
    for p in parts {
        any = true;
        if p.len() != 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    any
}

/// Day 0 of Excel's 1900 date system as chrono sees it (serial 1 = 1900-01-01 after the leap bug).
fn excel_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default()
}

/// An Excel date serial (days since 1899-12-30) between 1990 and 2100.
pub fn serial_date(serial: f64) -> Option<NaiveDate> {
    // 32874 = 1990-01-01, 73051 = 2100-01-01
    if !(32874.0..73051.0).contains(&serial) {
        return None;
    }
    excel_epoch().checked_add_days(chrono::Days::new(serial.floor() as u64))
}

fn month_word(w: &str) -> Option<u32> {
    const EN: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const RU: [&str; 12] = ["янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"];
    if w.is_ascii() {
        if w.len() < 3 {
            return None;
        }
        return EN.iter().position(|m| w.starts_with(m)).map(|i| i as u32 + 1);
    }
    // Russian: май / мая need the two-letter stem; check the longer stems first
    for (i, m) in RU.iter().enumerate() {
        if i != 4 && w.starts_with(m) {
            return Some(i as u32 + 1);
        }
    }
    if w == "май" || w == "мая" {
        return Some(5);
    }
    None
}

/// Year, month and (when present) day from text in any of the export forms: `2026-09`, `2026/9`,
/// `2026.09`, `2026年9月`, `2026年9月15日`, `202609`, `20260915`, `2026-09-15 00:00:00`,
/// `15.09.2026`, `9/15/2026`, `Sep 2026`, `September 2026`, `15 Sep 2026`, `сентябрь 2026`,
/// and a date serial written as text (`46280`).
pub fn parse_ymd_text(raw: &str) -> Option<(i32, u32, Option<u32>)> {
    let mut t = to_halfwidth(raw.trim()).trim().to_lowercase();
    if t.is_empty() {
        return None;
    }
    // drop a time part
    if t.contains(':') {
        if let Some(i) = t.find(['t', ' ']).filter(|&i| t[i..].contains(':')) {
            t.truncate(i);
        }
    }
    // `2026年10月份`: 月份 is 月
    let t = t.trim().replace("月份", "月");
    let t = t.as_str();
    // `2026M10`, `2026-M10`, `2026 m10`
    if let Some((y, m)) = t.split_once('m') {
        let y = y.trim_end_matches(['-', ' ', '/', '.']);
        if y.len() == 4
            && y.bytes().all(|b| b.is_ascii_digit())
            && (1..=2).contains(&m.len())
            && m.bytes().all(|b| b.is_ascii_digit())
        {
            return ym(y.parse().ok()?, m.parse().ok()?, None);
        }
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.len() {
            6 => ym(t[..4].parse().ok()?, t[4..].parse().ok()?, None),
            8 => ym(t[..4].parse().ok()?, t[4..6].parse().ok()?, Some(t[6..].parse().ok()?)),
            5 => {
                let d = serial_date(t.parse().ok()?)?;
                Some((d.year(), d.month(), Some(d.day())))
            }
            _ => None,
        };
    }
    if let Some(d) = t.parse::<f64>().ok().and_then(serial_date) {
        return Some((d.year(), d.month(), Some(d.day())));
    }
    let dotted = t.contains('.') && !t.contains('年');
    let mut nums: Vec<&str> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    for tok in t.split(|c: char| !c.is_alphanumeric() || matches!(c, '年' | '月' | '日' | '号')) {
        if tok.is_empty() {
            continue;
        }
        if tok.bytes().all(|b| b.is_ascii_digit()) {
            nums.push(tok);
        } else if tok.chars().all(|c| c.is_alphabetic()) {
            words.push(tok);
        } else {
            // mixed like "1st", "2026q3": only ordinals are fine
            let digits: String = tok.chars().take_while(|c| c.is_ascii_digit()).collect();
            let rest = &tok[digits.len()..];
            if !digits.is_empty() && matches!(rest, "st" | "nd" | "rd" | "th") {
                nums.push(&tok[..digits.len()]);
            } else {
                return None;
            }
        }
    }
    if !words.is_empty() {
        if words.len() != 1 {
            return None;
        }
        let month = month_word(words[0])?;
        let mut year = None;
        let mut day = None;
        for n in nums {
            let v: u32 = n.parse().ok()?;
            if n.len() == 4 {
                year = Some(v as i32);
            } else if year.is_none() && n.len() == 2 && day.is_some() {
                year = Some(2000 + v as i32);
            } else if day.is_none() && (1..=31).contains(&v) {
                day = Some(v);
            } else if year.is_none() && n.len() == 2 {
                year = Some(2000 + v as i32);
            } else {
                return None;
            }
        }
        // "Sep-26": a lone two-digit number after the month word is the year
        if year.is_none() {
            if let Some(d) = day.take() {
                year = Some(2000 + d as i32);
            }
        }
        return ym(year?, month, day);
    }
    let v: Vec<u32> = nums.iter().map(|n| n.parse::<u32>()).collect::<Result<_, _>>().ok()?;
    let len4: Vec<bool> = nums.iter().map(|n| n.len() == 4).collect();
    match (v.as_slice(), len4.as_slice()) {
        ([y, m], [true, false]) => ym(*y as i32, *m, None),
        ([m, y], [false, true]) => ym(*y as i32, *m, None),
        ([y, m, d], [true, false, false]) => ym(*y as i32, *m, Some(*d)),
        ([a, b, y], [false, false, true]) => {
            // 15.09.2026 (day first) unless the first cannot be a day… or the second cannot be a month
            if dotted || *a > 12 || *b <= 12 {
                ym(*y as i32, *b, Some(*a))
            } else {
                ym(*y as i32, *a, Some(*b))
            }
        }
        _ => None,
    }
}

fn ym(year: i32, month: u32, day: Option<u32>) -> Option<(i32, u32, Option<u32>)> {
    if !(1990..=2100).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    if let Some(d) = day {
        NaiveDate::from_ymd_opt(year, month, d)?;
    }
    Some((year, month, day))
}

/// A month from text (see [`parse_ymd_text`]; a full date gives its month).
pub fn parse_month_text(raw: &str) -> Option<Month> {
    let (y, m, _) = parse_ymd_text(raw)?;
    Month::new(y, m).ok()
}

/// A month from a cell: date cells, `YYYYMM` numbers, date serials, and text forms.
pub fn cell_month(d: &Data) -> Option<Month> {
    match d {
        Data::DateTime(dt) => dt.as_datetime().map(|t| Month::of_date(t.date())),
        Data::Int(i) => number_month(*i as f64),
        Data::Float(f) => number_month(*f),
        Data::String(s) | Data::DateTimeIso(s) => parse_month_text(s),
        _ => None,
    }
}

fn number_month(f: f64) -> Option<Month> {
    if f.fract() == 0.0 && (199001.0..=210012.0).contains(&f) {
        let i = f as i64;
        return Month::new((i / 100) as i32, (i % 100) as u32).ok();
    }
    if f.fract() == 0.0 && (19900101.0..=21001231.0).contains(&f) {
        let i = f as i64;
        return Month::new((i / 10000) as i32, ((i / 100) % 100) as u32).ok();
    }
    serial_date(f).map(Month::of_date)
}

/// A calendar date from a cell (约定回款日期, 货好日期 …): date cells, serials, `YYYYMMDD`, text.
/// A month without a day is not a date.
pub fn cell_date(d: &Data) -> Option<NaiveDate> {
    match d {
        Data::DateTime(dt) => dt.as_datetime().map(|t| t.date()),
        Data::Int(i) => number_date(*i as f64),
        Data::Float(f) => number_date(*f),
        Data::String(s) | Data::DateTimeIso(s) => {
            let (y, m, day) = parse_ymd_text(s)?;
            NaiveDate::from_ymd_opt(y, m, day?)
        }
        _ => None,
    }
}

fn number_date(f: f64) -> Option<NaiveDate> {
    if f.fract() == 0.0 && (19900101.0..=21001231.0).contains(&f) {
        let i = f as i64;
        return NaiveDate::from_ymd_opt((i / 10000) as i32, ((i / 100) % 100) as u32, (i % 100) as u32);
    }
    serial_date(f)
}

/// A currency text that is neither a code nor a known name or sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCurrency;

/// ISO 4217 code of a currency written as a code, a sign or a Chinese/Russian name.
/// Empty → `None` (the caller applies the default).
pub fn normalize_currency(raw: &str) -> Result<Option<String>, UnknownCurrency> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) && !matches!(raw, "RUR" | "RMB") {
        return Ok(Some(raw.to_string()));
    }
    let k = lodestar_core::text::norm_key(raw);
    if k.is_empty() {
        return Ok(None);
    }
    let code = match k.as_str() {
        "usd" | "$" | "us$" | "美元" | "美金" | "us dollar" | "dollar" | "доллар" | "долл" => "USD",
        "cny" | "rmb" | "人民币" | "元" | "¥" | "￥" | "yuan" => "CNY",
        "rub" | "rur" | "卢布" | "俄罗斯卢布" | "₽" | "руб" | "руб." | "рубль" => "RUB",
        "eur" | "€" | "欧元" | "euro" | "евро" => "EUR",
        "kzt" | "坚戈" | "哈萨克斯坦坚戈" | "₸" | "тенге" => "KZT",
        "byn" | "白俄罗斯卢布" | "白俄卢布" => "BYN",
        "uzs" | "苏姆" | "乌兹别克斯坦苏姆" => "UZS",
        "jpy" | "日元" | "円" => "JPY",
        "krw" | "韩元" | "₩" => "KRW",
        "azn" | "马纳特" => "AZN",
        "amd" | "德拉姆" => "AMD",
        "gel" | "拉里" => "GEL",
        "kgs" | "索姆" => "KGS",
        "tjs" | "索莫尼" => "TJS",
        other if other.len() == 3 && other.bytes().all(|b| b.is_ascii_alphabetic()) => {
            return Ok(Some(other.to_ascii_uppercase()))
        }
        _ => return Err(UnknownCurrency),
    };
    Ok(Some(code.to_string()))
}

/// What a unit in a header's brackets says about the column's numbers: a multiplier (`万` =
/// 10,000, `千` / `k` / `'000` = 1,000, `百万` / `mln` = 1,000,000, `亿`) and a currency (`美元`,
/// `RUB`, `卢布`, `元`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderUnit {
    /// Multiplier of the column's numbers (1 when the unit names none).
    pub scale: Decimal,
    /// Currency the unit names (ISO code), if any.
    pub currency: Option<String>,
}

/// Reads a header unit (`万美元` → ×10,000 USD; `RUB` → ×1 RUB; `pcs` / `条` / `原币` → ×1, no
/// currency; `万条` → ×10,000).
pub fn parse_header_unit(unit: &str) -> HeaderUnit {
    let k: String = lodestar_core::text::norm_key(unit).chars().filter(|c| !c.is_whitespace()).collect();
    const SCALES: &[(&str, i64)] = &[
        ("百万", 1_000_000),
        ("千万", 10_000_000),
        ("亿", 100_000_000),
        ("万", 10_000),
        ("千", 1_000),
        ("thousands", 1_000),
        ("thousand", 1_000),
        ("million", 1_000_000),
        ("mln", 1_000_000),
        ("млн", 1_000_000),
        ("тыс.", 1_000),
        ("тыс", 1_000),
        ("'000", 1_000),
        ("000", 1_000),
        ("k", 1_000),
    ];
    let mut scale = Decimal::ONE;
    let mut rest = k.as_str();
    for (w, m) in SCALES {
        if let Some(r) = rest.strip_prefix(w) {
            scale = Decimal::from(*m);
            rest = r;
            break;
        }
        // `USD'000`, `USD k`, `USD mln` (a bare trailing `k` only after a currency code)
        if let Some(r) = rest.strip_suffix(w) {
            if !r.is_empty() && (w.len() > 1 || r.len() == 3) {
                scale = Decimal::from(*m);
                rest = r;
                break;
            }
        }
    }
    let rest = rest.trim_matches(|c: char| matches!(c, ' ' | '.' | '\'' | '-' | '_'));
    let currency = match rest {
        "" | "原币" | "本币" | "外币" => None,
        r => normalize_currency(r).ok().flatten(),
    };
    HeaderUnit { scale, currency }
}

/// 付款节点 in its canonical form (预付 / 发货前 / 见提单 / 发货后) when recognized, else the cleaned
/// text. Normalizing keeps the receivable key stable across exports that spell it differently.
pub fn normalize_payment_node(raw: &str) -> String {
    let c = clean_text(raw);
    let k = lodestar_core::text::norm_key(&c);
    let canon = match k.as_str() {
        "预付"
        | "预付款"
        | "定金"
        | "订金"
        | "预付定金"
        | "advance"
        | "prepayment"
        | "advance payment"
        | "deposit"
        | "down payment"
        | "t/t in advance"
        | "tt in advance"
        | "предоплата"
        | "аванс" => "预付",
        "发货前"
        | "发货前付款"
        | "出货前"
        | "出运前"
        | "装运前"
        | "before shipment"
        | "prior to shipment"
        | "balance before shipment"
        | "до отгрузки" => "发货前",
        "见提单"
        | "见提单付款"
        | "见提单副本"
        | "提单"
        | "against b/l"
        | "against bl"
        | "against b/l copy"
        | "b/l copy"
        | "against copy of b/l"
        | "по коносаменту" => "见提单",
        "发货后"
        | "发货后付款"
        | "出货后"
        | "出运后"
        | "装运后"
        | "后付"
        | "账期"
        | "after shipment"
        | "after delivery"
        | "deferred"
        | "после отгрузки" => "发货后",
        _ => return c,
    };
    canon.to_string()
}

/// 发货状态 in its canonical form (未发货 / 已订舱 / 已发货) when recognized, else the cleaned text.
pub fn normalize_shipping_status(raw: &str) -> String {
    let c = clean_text(raw);
    let k = lodestar_core::text::norm_key(&c);
    let canon = match k.as_str() {
        "未发货"
        | "待发货"
        | "未发"
        | "未出运"
        | "未装运"
        | "生产中"
        | "备货中"
        | "not shipped"
        | "pending"
        | "unshipped"
        | "in production"
        | "не отгружено" => "未发货",
        "已订舱" | "订舱" | "已定舱" | "订舱中" | "booked" | "booking confirmed" | "space booked" | "забронировано" => {
            "已订舱"
        }
        "已发货" | "已发" | "已出运" | "已装运" | "已发运" | "shipped" | "delivered" | "in transit" | "отгружено" => {
            "已发货"
        }
        _ => return c,
    };
    canon.to_string()
}

/// Whether a label cell is, as a whole, a subtotal or total label (合计, 合 计, 小计, 总计, 俄罗斯小计,
/// Total, Total:, Grand Total, Sub-total, Итого). Spaces inside do not matter. A name that merely
/// contains the word (`Total Logistics LLP`) is not one: see [`mentions_subtotal`].
pub fn is_subtotal_label(s: &str) -> bool {
    // CJK markers have no full-width forms; spaces between the characters (合 计) are common
    if s.chars().any(|c| c as u32 >= 0x3000) {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if ["合计", "小计", "总计", "汇总", "共计"].iter().any(|m| compact.contains(m)) {
            return true;
        }
    }
    let latin_or_cyrillic = |c: char| {
        c.is_ascii_alphabetic() || ('\u{0400}'..='\u{04FF}').contains(&c) || ('\u{FF21}'..='\u{FF5A}').contains(&c)
    };
    if !s.chars().any(latin_or_cyrillic) {
        return false;
    }
    let k = lodestar_core::text::norm_key(s);
    if k.starts_with("итого") || k.starts_with("всего") {
        return true;
    }
    let mut words = k.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).peekable();
    words.peek().is_some()
        && words.all(|w| {
            SUBTOTAL_WORDS.contains(&w) || matches!(w, "grand" | "sub" | "all" | "general" | "итого" | "всего")
        })
}

const SUBTOTAL_WORDS: &[&str] = &["total", "subtotal", "totals", "grandtotal", "sum"];

/// Whether a label cell mentions a subtotal word among other words (`Russia Total`, `Total RU`,
/// but also the customer `Total Logistics LLP`): a subtotal only when the row's other required
/// labels are blank, which the importer decides.
pub fn mentions_subtotal(s: &str) -> bool {
    if is_subtotal_label(s) {
        return true;
    }
    let k = lodestar_core::text::norm_key(s);
    k.split(|c: char| !c.is_alphanumeric()).any(|w| SUBTOTAL_WORDS.contains(&w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Option<String> {
        parse_decimal_text(s).map(decimal_string)
    }

    #[test]
    fn text_numbers() {
        assert_eq!(dec("1234").as_deref(), Some("1234"));
        assert_eq!(dec(" 1,234.50 ").as_deref(), Some("1234.5"));
        assert_eq!(dec("１２，３４５．６７").as_deref(), Some("12345.67"));
        assert_eq!(dec("1 234,50").as_deref(), Some("1234.5"));
        assert_eq!(dec("1.234.567,8").as_deref(), Some("1234567.8"));
        assert_eq!(dec("1.234.567").as_deref(), Some("1234567"));
        assert_eq!(dec("12,5").as_deref(), Some("12.5"));
        assert_eq!(dec("(1,200.00)").as_deref(), Some("-1200"));
        assert_eq!(dec("-35").as_deref(), Some("-35"));
        assert_eq!(dec("$1,200").as_deref(), Some("1200"));
        assert_eq!(dec("1200条").as_deref(), Some("1200"));
        assert_eq!(dec("USD 3,000.5").as_deref(), Some("3000.5"));
        assert_eq!(dec("1.5E3").as_deref(), Some("1500"));
        assert_eq!(dec("abc"), None);
        assert_eq!(dec("12a"), None);
        assert_eq!(dec(""), None);
        assert_eq!(dec("1,23,4"), None);
        assert_eq!(dec("#N/A"), None);
    }

    #[test]
    fn float_cells_keep_their_shortest_form() {
        assert_eq!(cell_decimal(&Data::Float(0.1)).map(decimal_string).as_deref(), Some("0.1"));
        assert_eq!(cell_decimal(&Data::Float(1234.5)).map(decimal_string).as_deref(), Some("1234.5"));
        assert_eq!(cell_decimal(&Data::Int(-7)).map(decimal_string).as_deref(), Some("-7"));
    }

    #[test]
    fn month_forms() {
        for s in [
            "2026-09",
            "2026/9",
            "2026.09",
            "2026年9月",
            "２０２６年０９月",
            "202609",
            "2026-09-01",
            "2026/9/30",
            "2026-09-15 00:00:00",
            "15.09.2026",
            "9/15/2026",
            "Sep 2026",
            "September 2026",
            "sep-26",
            "15 Sep 2026",
            "Sep 15, 2026",
            "сентябрь 2026",
            "09/2026",
            "2026年9月15日",
            "20260915",
            "2026年9月份",
            "2026M09",
            "2026M9",
            "2026-M09",
        ] {
            assert_eq!(parse_month_text(s).map(|m| m.to_string()).as_deref(), Some("2026-09"), "{s}");
        }
        // 2026-09-15 is serial 46280: 2026-01-01 is 46023 (45658 for 2025-01-01 + 365), + 257 days to Sep 15
        assert_eq!(parse_month_text("46280").map(|m| m.to_string()).as_deref(), Some("2026-09"));
        assert_eq!(cell_month(&Data::Float(46280.0)).map(|m| m.to_string()).as_deref(), Some("2026-09"));
        assert_eq!(cell_month(&Data::Int(202609)).map(|m| m.to_string()).as_deref(), Some("2026-09"));
        for bad in ["2026-13", "abc", "Q3", "2026", "13/13/2026", "合计", "12", "2026M13", "M09"] {
            assert_eq!(parse_month_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_forms() {
        let d = NaiveDate::from_ymd_opt(2026, 9, 15).unwrap();
        for s in ["2026-09-15", "2026/9/15", "2026年9月15日", "15.09.2026", "20260915", "46280", "Sep 15 2026"] {
            assert_eq!(cell_date(&Data::String(s.into())), Some(d), "{s}");
        }
        assert_eq!(cell_date(&Data::Float(46280.0)), Some(d));
        assert_eq!(cell_date(&Data::Int(20260915)), Some(d));
        assert_eq!(cell_date(&Data::String("2026-09".into())), None, "a month is not a date");
        assert_eq!(cell_date(&Data::String("2026-02-30".into())), None);
    }

    #[test]
    fn currencies_nodes_states() {
        assert_eq!(normalize_currency(" usd "), Ok(Some("USD".into())));
        assert_eq!(normalize_currency("卢布"), Ok(Some("RUB".into())));
        assert_eq!(normalize_currency("ＵＳＤ"), Ok(Some("USD".into())));
        assert_eq!(normalize_currency(""), Ok(None));
        assert_eq!(normalize_currency("dollars!"), Err(UnknownCurrency));
        // RUR is the pre-1998 code of the rouble, still written in exports: it means RUB
        assert_eq!(normalize_currency("RUR"), Ok(Some("RUB".into())));
        assert_eq!(normalize_currency("RMB"), Ok(Some("CNY".into())));
        assert_eq!(normalize_payment_node("预付款"), "预付");
        assert_eq!(normalize_payment_node("Against B/L copy"), "见提单");
        assert_eq!(normalize_payment_node("质保金"), "质保金");
        assert_eq!(normalize_shipping_status(" booked "), "已订舱");
        assert_eq!(normalize_shipping_status("已出运"), "已发货");
    }

    #[test]
    fn empty_markers() {
        for m in ["—", "–", "-", "--", "——", "N/A", "n/a", "NA", "/", "无", "空", " — ", "#N/A"] {
            assert!(is_empty_marker(m), "{m:?}");
        }
        for t in ["0", "-5", "张伟", "Nadia", "RUB", "1/2", "无锡"] {
            assert!(!is_empty_marker(t), "{t:?}");
        }
    }

    #[test]
    fn subtotal_labels() {
        for s in ["合计", "俄罗斯 小计", "Total", "Grand Total", "Sub-total", "SUBTOTAL", "Итого", "（合计）"]
        {
            assert!(is_subtotal_label(s), "{s}");
        }
        for s in ["TotalEnergies Trading", "Sibir Logistics", "俄罗斯", ""] {
            assert!(!is_subtotal_label(s), "{s}");
        }
    }

    #[test]
    fn spaced_cjk_subtotals_are_labels_but_names_with_total_are_not() {
        for s in ["合 计", "总 计", "小  计", "合\u{3000}计", "俄罗斯 小 计", "Total:", "GRAND TOTAL", "Итого по РФ"]
        {
            assert!(is_subtotal_label(s), "{s}");
        }
        // a customer whose name starts with the word: only a mention, never a whole label
        assert!(!is_subtotal_label("Total Logistics LLP"));
        assert!(mentions_subtotal("Total Logistics LLP"));
        assert!(mentions_subtotal("Russia Total"));
        assert!(!mentions_subtotal("TotalEnergies Trading"));
    }

    #[test]
    fn clean_text_trims_and_halfwidths() {
        assert_eq!(clean_text("  Ｓｉｂｉｒ   Logistics  "), "Sibir Logistics");
        assert_eq!(clean_text("阿尔泰运输 "), "阿尔泰运输");
        assert_eq!(clean_text("A\tB"), "A B");
        assert_eq!(clean_text("plain"), "plain");
        assert_eq!(clean_text("西伯利亚物流"), "西伯利亚物流");
        assert_eq!(clean_text("西伯利亚、物流"), "西伯利亚,物流");
        assert_eq!(clean_text("a  b"), "a b");
        assert_eq!(clean_text(" "), "");
        assert_eq!(clean_text(""), "");
    }
}
