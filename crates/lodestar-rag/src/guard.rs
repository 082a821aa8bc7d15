//! The number guard (数字校验): every number in a generated answer must appear in the tool
//! results or the cited chunks.
//!
//! Numbers are compared as values, not strings: `12.5%` = `0.125`, `1,200` = `1200`, `12.6万` =
//! `126000`, full-width digits are half-width, and a value matches when the source rounds to the
//! answer's displayed precision (`96.35%` matches `0.963512`). Dates (`2026-09-30`,
//! `2026年9月`), citation markers (`[2]`) and codes (`315/80R22.5`, `BC-RU-2026-0412`, `40HQ`) are
//! checked as whole tokens. Anything else is flagged: a warning, and `⟨?⟩` after it in the text.
//!
//! ```
//! use lodestar_rag::guard::{Evidence, check};
//! let mut ev = Evidence::default();
//! ev.add_text("信用额度 800,000 美元，达成率 0.9635");
//! let r = check("额度为 80万 美元，达成率 96.35%，另有 123 条。", &ev, 0);
//! assert_eq!(r.flagged, vec!["123".to_string()]);
//! assert!(r.text.contains("123⟨?⟩"));
//! ```

use regex::Regex;
use rust_decimal::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashSet;

/// The mark placed after an unverified number.
pub const MARK: &str = "⟨?⟩";

/// What numbers, dates and codes the answer may use.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    values: Vec<Decimal>,
    dates: HashSet<String>,
    codes: HashSet<String>,
}

/// A token found in text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// `[n]` / `【n】`
    Citation(usize),
    /// Canonical date forms (`2026-09-30`, `2026-09`, `2026`, `M09`, `09-30`).
    Date(Vec<String>),
    /// Upper-cased code.
    Code(String),
    /// A `a-b` range that may also be a code (`17.5-25`): whole token, else both ends as numbers.
    Range(String, Box<Token>, Box<Token>),
    /// A number: mantissa as written (sign dropped), unit multiplier, decimals shown.
    Number { mantissa: Decimal, unit: Decimal, decimals: u32 },
}

/// A token with its char span in the text.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub raw: String,
    pub token: Token,
}

fn re_all() -> &'static Regex {
    lodestar_core::regex!(concat!(
        r"(?P<cite>\[\d{1,2}\]|【\d{1,2}】)",
        r"|(?P<ymd>\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?:\s*[日号]|\b))",
        r"|(?P<ym>\d{4}\s*(?:-|/|年)\s*\d{1,2}(?:\s*月|\b))",
        r"|(?P<md>\d{1,2}\s*月\s*\d{1,2}\s*[日号])",
        r"|(?P<y>\d{4}\s*年)",
        r"|(?P<m>\d{1,2}\s*月)",
        // English month and day (`March 31st`, `Mar. 31`, `31 March`, `the 31st of March`)
        r"|(?P<enmd>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?i:st|nd|rd|th)?\b)",
        r"|(?P<endm>\d{1,2}(?i:st|nd|rd|th)?\s+(?:of\s+)?(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b)",
        r"|(?P<code>[A-Za-z]+[A-Za-z0-9]*(?:[-/.][A-Za-z0-9]+)*|\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)+[A-Za-z]*[0-9.]*[A-Za-z]*|\d+(?:\.\d+)?[A-Za-z]+[A-Za-z0-9.]*(?:[-/][A-Za-z0-9.]+)*)",
        r"|(?P<range>\d+(?:\.\d+)?\s*[-–—~～]\s*\d+(?:\.\d+)?)\s*(?P<runit>%|％|万|亿)?",
        r"|(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?P<unit>%|％|‰|个百分点|百分点|pp|万亿|亿|万|千)?"
    ))
}

fn canon_date_ymd(y: i64, m: i64, d: Option<i64>) -> Vec<String> {
    let mut v = vec![format!("{y:04}-{m:02}"), format!("{y:04}"), format!("M{m:02}")];
    if let Some(d) = d {
        v.insert(0, format!("{y:04}-{m:02}-{d:02}"));
        v.push(format!("{m:02}-{d:02}"));
    }
    v
}

fn digits(s: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(cur.parse().unwrap_or(0));
            cur.clear();
        }
    }
    if !cur.is_empty() {
        out.push(cur.parse().unwrap_or(0));
    }
    out
}

fn parse_number(num: &str, unit: Option<&str>) -> Option<Token> {
    let clean = num.replace(',', "");
    let mantissa = Decimal::from_str(&clean).ok()?;
    let decimals = clean.split_once('.').map_or(0, |(_, f)| f.len() as u32);
    let unit = match unit {
        Some("%") | Some("％") | Some("个百分点") | Some("百分点") | Some("pp") => Decimal::new(1, 2),
        Some("‰") => Decimal::new(1, 3),
        Some("万") => Decimal::from(10_000),
        Some("亿") => Decimal::from(100_000_000),
        Some("万亿") => Decimal::from(1_000_000_000_000i64),
        Some("千") => Decimal::from(1000),
        _ => Decimal::ONE,
    };
    Some(Token::Number { mantissa, unit, decimals })
}

/// Splits `text` into guarded tokens (numbers, dates, codes, citation markers).
pub(crate) fn tokenize(text: &str) -> Vec<Span> {
    // `。` ends a sentence: made `.` by the half-width folding, it would glue `TT。2026年` into
    // the code `TT.2026` (one character for one, so spans keep their positions)
    let half = lodestar_core::text::to_halfwidth(&text.replace('。', " "));
    let chars: Vec<char> = half.chars().collect();
    let mut out = Vec::new();
    for c in re_all().captures_iter(&half) {
        let Some(m) = c.get(0) else { continue };
        let start = half[..m.start()].chars().count();
        let end = start + m.as_str().trim_end().chars().count();
        // A token glued to a preceding letter/digit is part of a longer word we did not match.
        if start > 0 && (chars[start - 1].is_ascii_alphanumeric() || chars[start - 1] == '_') {
            continue;
        }
        let raw = m.as_str().trim_end().to_string();
        let token = if let Some(t) = c.name("cite") {
            Token::Citation(digits(t.as_str()).first().copied().unwrap_or(0) as usize)
        } else if let Some(t) = c.name("ymd") {
            let d = digits(t.as_str());
            if d.len() == 3 && (1..=12).contains(&d[1]) && (1..=31).contains(&d[2]) {
                Token::Date(canon_date_ymd(d[0], d[1], Some(d[2])))
            } else {
                Token::Code(t.as_str().to_uppercase())
            }
        } else if let Some(t) = c.name("ym") {
            let d = digits(t.as_str());
            if d.len() == 2 && (1..=12).contains(&d[1]) && (1900..=2999).contains(&d[0]) {
                Token::Date(canon_date_ymd(d[0], d[1], None))
            } else {
                Token::Code(t.as_str().to_uppercase())
            }
        } else if let Some(t) = c.name("md") {
            let d = digits(t.as_str());
            if d.len() == 2 && (1..=12).contains(&d[0]) && (1..=31).contains(&d[1]) {
                Token::Date(vec![format!("{:02}-{:02}", d[0], d[1]), format!("M{:02}", d[0])])
            } else {
                continue;
            }
        } else if let Some(t) = c.name("y") {
            let d = digits(t.as_str());
            Token::Date(vec![format!("{:04}", d.first().copied().unwrap_or(0))])
        } else if let Some(t) = c.name("m") {
            let d = digits(t.as_str());
            let m = d.first().copied().unwrap_or(0);
            if !(1..=12).contains(&m) {
                // "30 月" is not a month: treat as a number
                match parse_number(&m.to_string(), None) {
                    Some(n) => n,
                    None => continue,
                }
            } else {
                Token::Date(vec![format!("M{m:02}")])
            }
        } else if let Some(t) = c.name("enmd").or_else(|| c.name("endm")) {
            let text = t.as_str().to_ascii_lowercase();
            let month = text.split(|c: char| !c.is_ascii_alphabetic()).find_map(english_month).unwrap_or(0);
            let day = digits(t.as_str()).first().copied().unwrap_or(0);
            if month == 0 || !(1..=31).contains(&day) {
                continue;
            }
            Token::Date(vec![format!("{month:02}-{day:02}"), format!("M{month:02}")])
        } else if let Some(t) = c.name("code") {
            let s = t.as_str();
            if !s.chars().any(|c| c.is_ascii_digit()) {
                continue; // a plain word
            }
            match english_ordinal(s) {
                // `31st` (an English answer's date, `March 31st`) is the number 31
                Some(n) => match parse_number(n, None) {
                    Some(n) => n,
                    None => continue,
                },
                None => Token::Code(s.to_uppercase()),
            }
        } else if let Some(t) = c.name("range") {
            let s: String = t
                .as_str()
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if "–—~～".contains(c) { '-' } else { c })
                .collect();
            let (a, b) = s.split_once('-').unwrap_or((&s, ""));
            let u = c.name("runit").map(|u| u.as_str());
            match (parse_number(a, u), parse_number(b, u)) {
                (Some(x), Some(y)) => Token::Range(s.clone(), Box::new(x), Box::new(y)),
                _ => continue,
            }
        } else if let Some(t) = c.name("num") {
            match parse_number(t.as_str(), c.name("unit").map(|u| u.as_str())) {
                Some(n) => n,
                None => continue,
            }
        } else {
            continue;
        };
        out.push(Span { start, end, raw, token });
    }
    out
}

/// The month number of an English month name or its abbreviation (`mar`, `march`, `sept`).
fn english_month(word: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if word.len() < 3 {
        return None;
    }
    MONTHS.iter().position(|m| m.starts_with(word) || word == "sept" && *m == "september").map(|i| i as i64 + 1)
}

/// The digits of an English ordinal (`1st`, `22nd`, `3rd`, `31st`, `15th`), else `None`.
fn english_ordinal(s: &str) -> Option<&str> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (digits, suffix) = s.split_at(split);
    let last = digits.chars().last()?;
    let teen = digits.len() >= 2 && digits.as_bytes()[digits.len() - 2] == b'1';
    let expected = match (teen, last) {
        (false, '1') => "st",
        (false, '2') => "nd",
        (false, '3') => "rd",
        _ => "th",
    };
    (!digits.is_empty() && suffix.eq_ignore_ascii_case(expected)).then_some(digits)
}

impl Evidence {
    /// Adds every number, date and code of a text (a chunk, a tool-result string, the question).
    pub fn add_text(&mut self, text: &str) {
        for s in tokenize(text) {
            self.add_token(s.token);
        }
    }

    fn add_token(&mut self, t: Token) {
        match t {
            Token::Citation(_) => {}
            Token::Date(forms) => {
                for f in forms {
                    // a full date also vouches for its parts as plain numbers ("30 日")
                    self.dates.insert(f);
                }
            }
            Token::Code(c) => {
                self.codes.insert(c);
            }
            Token::Range(raw, a, b) => {
                self.codes.insert(raw.to_uppercase());
                self.add_token(*a);
                self.add_token(*b);
            }
            Token::Number { mantissa, unit, .. } => {
                self.values.push((mantissa * unit).abs());
            }
        }
    }

    /// Adds an exact value (a rule-engine figure). Fractions (|v| < 10, not whole) also count as
    /// percent points (`0.9635` → `96.35`).
    pub fn add_value(&mut self, v: Decimal) {
        let v = v.abs();
        self.values.push(v);
        if v < Decimal::from(10) && v.fract() != Decimal::ZERO {
            self.values.push(v * Decimal::from(100));
        }
    }

    /// Adds a date or period (`2026-09`, `2026-Q3`, `2026-09-30`).
    pub fn add_date(&mut self, s: &str) {
        self.add_text(s);
        self.codes.insert(s.to_uppercase());
    }

    /// Walks a JSON value (tool results): numbers and numeric strings become values; other strings
    /// are scanned as text.
    pub fn add_json(&mut self, v: &serde_json::Value) {
        match v {
            serde_json::Value::Number(n) => {
                if let Some(d) = n.as_i64().map(Decimal::from).or_else(|| n.as_f64().and_then(Decimal::from_f64)) {
                    self.add_value(d);
                }
            }
            serde_json::Value::String(s) => match Decimal::from_str(s.trim()) {
                Ok(d) => self.add_value(d),
                Err(_) => {
                    self.add_text(s);
                    self.codes.insert(s.trim().to_uppercase());
                }
            },
            serde_json::Value::Array(a) => a.iter().for_each(|x| self.add_json(x)),
            serde_json::Value::Object(o) => o.values().for_each(|x| self.add_json(x)),
            _ => {}
        }
    }

    fn has_value(&self, mantissa: Decimal, unit: Decimal, decimals: u32) -> bool {
        let a = mantissa.abs();
        self.values.iter().any(|&s| {
            let scaled = s / unit;
            if decimals == 0 && unit == Decimal::ONE && s < Decimal::from(100) {
                // small whole numbers must match exactly
                return scaled == a;
            }
            scaled.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero) == a || scaled == a
        })
    }

    fn has_code(&self, code: &str) -> bool {
        self.codes.contains(code) || self.codes.iter().any(|c| c.len() > code.len() && c.contains(code))
    }

    fn token_ok(&self, t: &Token, n_sources: usize) -> bool {
        match t {
            Token::Citation(n) => *n >= 1 && *n <= n_sources,
            Token::Date(forms) => forms.first().is_some_and(|f| self.dates.contains(f)),
            Token::Code(c) => self.has_code(c),
            Token::Range(raw, a, b) => {
                self.has_code(&raw.to_uppercase()) || (self.token_ok(a, n_sources) && self.token_ok(b, n_sources))
            }
            Token::Number { mantissa, unit, decimals } => self.has_value(*mantissa, *unit, *decimals),
        }
    }
}

/// The guard's verdict on one text.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardReport {
    /// The text with `⟨?⟩` after every unverified token.
    pub text: String,
    /// The unverified tokens as written.
    pub flagged: Vec<String>,
    /// Citation markers used (1-based source numbers), in order of first use.
    pub cited: Vec<usize>,
}

/// Checks `text` against `evidence`; `n_sources` numbered sources were given (valid markers are
/// `[1]..=[n]`). List markers at the start of a line (`1.`, `2、`) are not numbers.
pub fn check(text: &str, evidence: &Evidence, n_sources: usize) -> GuardReport {
    let chars: Vec<char> = text.chars().collect();
    let mut flagged = Vec::new();
    let mut cited = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    for s in tokenize(text) {
        if let Token::Citation(n) = s.token {
            if n >= 1 && n <= n_sources && !cited.contains(&n) {
                cited.push(n);
            }
        }
        if is_list_marker(&chars, &s) {
            continue;
        }
        if !evidence.token_ok(&s.token, n_sources) {
            flagged.push(s.raw.clone());
            marks.push(s.end);
        }
    }
    let mut out = String::with_capacity(text.len() + marks.len() * 4);
    for (i, c) in chars.iter().enumerate() {
        out.push(*c);
        if marks.contains(&(i + 1)) {
            out.push_str(MARK);
        }
    }
    GuardReport { text: out, flagged, cited }
}

fn is_list_marker(chars: &[char], s: &Span) -> bool {
    if !matches!(s.token, Token::Number { decimals: 0, .. }) {
        // "1." tokenizes as number "1" followed by '.', decimals 0
        return false;
    }
    let before_ok = chars[..s.start].iter().rev().take_while(|c| **c != '\n').all(|c| c.is_whitespace() || *c == '#');
    let after = chars.get(s.end).copied();
    before_ok && matches!(after, Some('.') | Some('、') | Some(')') | Some('）'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: &str) -> Evidence {
        let mut e = Evidence::default();
        e.add_text(t);
        e
    }

    #[test]
    fn percent_and_fraction_are_the_same_value() {
        // 12.5% = 0.125
        let e = ev("上调幅度 0.125");
        assert!(check("上调 12.5%", &e, 0).flagged.is_empty());
        let e = ev("上调 12.5%");
        assert!(check("上调幅度为 0.125", &e, 0).flagged.is_empty());
    }

    #[test]
    fn thousands_separators_wan_and_yi() {
        let e = ev("逾期 126,000 美元；全年目标 1.2亿");
        assert!(check("逾期 126000 美元", &e, 0).flagged.is_empty());
        assert!(check("逾期 12.6万 美元", &e, 0).flagged.is_empty());
        assert!(check("目标 120,000,000", &e, 0).flagged.is_empty());
        assert!(check("目标 12000万", &e, 0).flagged.is_empty());
        assert_eq!(check("逾期 12.7万 美元", &e, 0).flagged, vec!["12.7万"]);
    }

    #[test]
    fn full_width_digits() {
        let e = ev("额度 ８００，０００ 美元");
        assert!(check("额度 800,000 美元", &e, 0).flagged.is_empty());
        let e = ev("额度 800000 美元");
        assert!(check("额度 ８０万 美元", &e, 0).flagged.is_empty());
    }

    #[test]
    fn rounding_to_displayed_precision() {
        let mut e = Evidence::default();
        // achievement 1,156,300 / 1,200,000 = 0.963583… → displayed 96.36%
        e.add_value(Decimal::from_str("0.9635833333").unwrap());
        assert!(check("达成率 96.36%", &e, 0).flagged.is_empty());
        assert!(check("达成率 96.4%", &e, 0).flagged.is_empty());
        assert!(check("达成率 96.36", &e, 0).flagged.is_empty());
        assert_eq!(check("达成率 96.35%", &e, 0).flagged, vec!["96.35%"]);
    }

    #[test]
    fn a_full_stop_ends_a_token() {
        let e = ev("付款条件：90% 货到验收后 60 天内 TT。2026 年 9 月末应收余额 2,536 万美元");
        assert!(check("货到后 60 天内 TT。2026年9月 [1]", &e, 1).flagged.is_empty());
        // before: `TT.2026` was one code, found in no source
        assert!(check("TT。2026年9月", &e, 0).flagged.is_empty());
        let e = ev("信用额度 800,000 美元");
        assert!(check("额度为 800,000。", &e, 0).flagged.is_empty());
        assert_eq!(check("额度为 900,000。", &e, 0).flagged, vec!["900,000"]);
    }

    #[test]
    fn english_ordinals_are_numbers() {
        // an English answer writes the source's `3 月 31 日` as `March 31st`
        let e = ev("返利在次年 3 月 31 日前核算");
        assert!(check("Rebates are settled by March 31st [1].", &e, 1).flagged.is_empty());
        assert!(check("by the 31ST of March", &e, 1).flagged.is_empty());
        assert!(check("before Mar. 31, reviewed", &e, 1).flagged.is_empty());
        assert!(check("before 31 March", &e, 1).flagged.is_empty());
        // the day and the month are checked together, as the Chinese date is
        assert_eq!(check("by March 30th", &e, 1).flagged, vec!["March 30th"]);
        assert_eq!(check("by April 31st", &e, 1).flagged, vec!["April 31st"]);
        // a suffix that is not the number's ordinal is a code, as before; a bare ordinal is a number
        assert_eq!(check("model 31th", &e, 1).flagged, vec!["31th"]);
        let e = ev("试用期第 3 个月");
        assert!(check("in the 3rd month", &e, 1).flagged.is_empty());
        assert_eq!(check("in the 4th month", &e, 1).flagged, vec!["4th"]);
        assert_eq!(english_ordinal("12th"), Some("12"));
        assert_eq!(english_ordinal("112th"), Some("112"));
        assert_eq!(english_ordinal("22nd"), Some("22"));
        assert_eq!(english_ordinal("11st"), None);
    }

    #[test]
    fn codes_and_dates_are_whole_tokens() {
        let e = ev("合同 BC-RU-2026-0412，规格 315/80R22.5，2026-07-28 起逾期");
        let r = check("合同 BC-RU-2026-0412 的 315/80R22.5 自 2026年7月28日 起逾期", &e, 0);
        assert!(r.flagged.is_empty(), "{:?}", r.flagged);
        // the digits inside a code do not vouch for loose numbers
        let r = check("共 315 条，2026-08-28 到期，合同 BC-RU-2026-0413", &e, 0);
        assert_eq!(r.flagged, vec!["315", "2026-08-28", "BC-RU-2026-0413"]);
    }

    #[test]
    fn citation_markers_must_name_a_source() {
        let e = ev("付款 30%");
        let r = check("预付 30% [1]，见提单付款 [3]。", &e, 2);
        assert_eq!(r.flagged, vec!["[3]"]);
        assert_eq!(r.cited, vec![1]);
        assert!(r.text.contains("[3]⟨?⟩"));
    }

    #[test]
    fn list_markers_are_not_numbers() {
        let e = ev("预付 30%");
        let r = check("1. 预付 30%\n2、其余见提单", &e, 0);
        assert!(r.flagged.is_empty(), "{:?}", r.flagged);
    }

    #[test]
    fn unknown_numbers_are_marked_in_place() {
        let e = ev("信用额度 400,000 美元");
        let r = check("信用额度 999 万美元，另 400,000 美元", &e, 0);
        assert_eq!(r.flagged, vec!["999 万"]);
        assert_eq!(r.text, "信用额度 999 万⟨?⟩美元，另 400,000 美元");
    }

    #[test]
    fn ranges_match_whole_or_by_ends() {
        let e = ev("规格 17.5-25；行驶 15–18 万公里");
        assert!(check("17.5-25 适合装载机", &e, 0).flagged.is_empty());
        assert!(check("约 15-18 万公里", &e, 0).flagged.is_empty());
    }
}
