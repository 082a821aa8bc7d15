//! Deadline grammar (截止日期规则): the date words of minutes, resolved against the meeting date.
//!
//! The rules are written down in `docs/ledger.md`; in short (meeting date = D):
//!
//! | words | resolves to |
//! |---|---|
//! | `2026-03-31`, `2026/3/31`, `2026.3.31`, `2026年3月31日` | that date |
//! | `3月31日`, `3月31号`, `3/31`, `3.31` (dotted only next to 前/截止/日…) | that day in D's year; a day before D means next year |
//! | `3月底` / `3月末` / `3月内` / `3月份` + 前 | last day of March (year rule as above) |
//! | `3月上旬` / `3月中旬` / `3月下旬`, `3月中` | the 10th / 20th / last day, the 15th |
//! | `月底`, `本月底`, `本月内`, `月内`, `本月末` | last day of D's month |
//! | `月中`, `本月中` | the 15th of D's month (the next month's 15th when D is past it) |
//! | `下月底`, `下月内`, `下个月底` / `下月中` / `下月初` | last day / 15th / 5th of the next month |
//! | `本周内`, `本周`, `这周内` | Friday of D's week (weeks run Monday–Sunday) |
//! | `本周X`, `周X前` | weekday X of D's week (a day already past means next week) |
//! | `下周X`, `下周内`, `下周` | weekday X (Friday) of the following week |
//! | `N月第一周` … `第四周`, `本月/下月第N周` | Friday of the N-th week whose Friday falls in that month |
//! | `N天内`, `N日内` / `N周内`, `两周内`, `一周内` / `N个工作日内` | D + N days / D + 7N days / N weekdays after D (no holiday calendar) |
//! | `Q4末`, `四季度末`, `第四季度末`, `Q4前`, `四季度内` | last day of the quarter (next year's when past) |
//! | `年底`, `年底前`, `年末`, `年内`, `今年内`, `本年度内` | 31 December of D's year |
//! | `上半年` / `下半年` | 30 June / 31 December |
//! | `下次会议前`, `下次例会前`, `下次经营分析会前`, `下周会前` | no date; `checkpoint` = next meeting |
//! | `尽快`, `立即`, `马上`, `即刻`, `持续` | no date; the words are kept |
//!
//! When a line holds several date phrases, one labelled `截止` / `deadline` / `due` wins, then one
//! followed by `前` / `之前` / `以前` / `内`, then the last one in the line.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::Regex;
use std::sync::OnceLock;

/// A deadline found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The resolved date; `None` for 下次会议前 / 尽快 and the like.
    pub date: Option<NaiveDate>,
    /// The words it came from (`3月31日前`, `本周内`, `下次会议前`).
    pub text: String,
    /// True for "before the next meeting" checkpoints (count as trackable without a date).
    pub next_meeting: bool,
    /// Byte offset of the phrase in the searched text.
    pub start: usize,
    /// Byte offset just past the phrase.
    pub end: usize,
    /// 0 = plain, 1 = followed by 前/之前/内, 2 = labelled 截止/deadline.
    pub strength: u8,
}

/// Parses a plain date as people type it in the CLI or a table cell: `2026-03-31`, `2026/3/31`,
/// `2026.3.31`, `2026年3月31日`, `20260331`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = lodestar_core::text::to_halfwidth(s.trim());
    let re = lodestar_core::regex!(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*(?:日|号)?$");
    if let Some(c) = re.captures(&t) {
        return ymd(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
    }
    if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
        return ymd(t[0..4].parse().ok()?, t[4..6].parse().ok()?, t[6..8].parse().ok()?);
    }
    None
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Last day of a month.
pub fn month_end(y: i32, m: u32) -> Option<NaiveDate> {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    ymd(ny, nm, 1).map(|d| d - Duration::days(1))
}

fn add_months(y: i32, m: u32, k: i32) -> (i32, u32) {
    let idx = y * 12 + (m as i32 - 1) + k;
    (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32)
}

/// The year of a month/day written without a year: the meeting's year, or the next one when the
/// day would fall before the meeting (a deadline is never in the past — the year boundary rule).
fn year_for(meeting: NaiveDate, m: u32, d: u32) -> i32 {
    if (m, d) < (meeting.month(), meeting.day()) {
        meeting.year() + 1
    } else {
        meeting.year()
    }
}

fn year_for_month(meeting: NaiveDate, m: u32) -> i32 {
    if m < meeting.month() {
        meeting.year() + 1
    } else {
        meeting.year()
    }
}

/// Chinese or Arabic number (`两`, `十二`, `二十`, `3`): the text layer's [`lodestar_core::text::cn_number`].
pub fn cn_num(s: &str) -> Option<u32> {
    lodestar_core::text::cn_number(s)
}

/// The deadline words of `dictionaries/minutes_cues.csv` (built in: deadlines are read where no
/// dictionaries are at hand).
fn words() -> &'static lodestar_dict::vocab::Cues {
    &lodestar_dict::Vocabulary::builtin().minutes
}

fn weekday_of(c: &str) -> Option<Weekday> {
    Some(match c {
        "一" | "1" => Weekday::Mon,
        "二" | "2" => Weekday::Tue,
        "三" | "3" => Weekday::Wed,
        "四" | "4" => Weekday::Thu,
        "五" | "5" => Weekday::Fri,
        "六" | "6" => Weekday::Sat,
        "日" | "天" | "7" => Weekday::Sun,
        _ => return None,
    })
}

/// Monday of the week holding `d`.
fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

fn weekday_in_week(week_monday: NaiveDate, wd: Weekday) -> NaiveDate {
    week_monday + Duration::days(wd.num_days_from_monday() as i64)
}

/// Friday of the `n`-th week of a month: the first Friday of the month plus `n − 1` weeks.
pub fn nth_week_friday(y: i32, m: u32, n: u32) -> Option<NaiveDate> {
    let first = ymd(y, m, 1)?;
    let offset =
        (Weekday::Fri.num_days_from_monday() as i64 - first.weekday().num_days_from_monday() as i64).rem_euclid(7);
    let f = first + Duration::days(offset + 7 * (n.max(1) as i64 - 1));
    (f.month() == m).then_some(f)
}

/// `n` working days (Monday–Friday) after `d`.
pub fn add_workdays(d: NaiveDate, n: u32) -> NaiveDate {
    let mut x = d;
    let mut left = n;
    while left > 0 {
        x += Duration::days(1);
        if !matches!(x.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    x
}

struct Rules {
    full: Regex,
    md: Regex,
    slash: Regex,
    dotted: Regex,
    month_part: Regex,
    rel_month: Regex,
    week: Regex,
    nth_week: Regex,
    within: Regex,
    quarter: Regex,
    year_end: Regex,
    next_meeting: Regex,
    asap: Regex,
    label: Regex,
    en_week: Regex,
    en_within: Regex,
    en_end: Regex,
    en_next_meeting: Regex,
    rel_quarter: Regex,
    festival: Regex,
    holiday: Regex,
    dom: Regex,
    rel_day: Regex,
    en_weekday: Regex,
    en_month_day: Regex,
    en_day_month: Regex,
    en_mid: Regex,
    en_day: Regex,
    en_festival: Regex,
}

/// Spring Festival (春节, 正月初一) dates 2025–2036, checked against the `lunardate` tables.
const SPRING_FESTIVAL: &[(i32, u32, u32)] = &[
    (2025, 1, 29),
    (2026, 2, 17),
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 3),
    (2031, 1, 23),
    (2032, 2, 11),
    (2033, 1, 31),
    (2034, 2, 19),
    (2035, 2, 8),
    (2036, 1, 28),
];

/// The eve of the first Spring Festival after `meeting` (除夕: what `春节前` / `年前` mean), or None
/// beyond the table.
pub fn spring_festival_eve(meeting: NaiveDate) -> Option<NaiveDate> {
    SPRING_FESTIVAL
        .iter()
        .filter_map(|&(y, m, d)| ymd(y, m, d))
        .find(|&sf| sf > meeting)
        .map(|sf| sf - Duration::days(1))
}

const EN_MONTHS: &str =
    "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";

fn en_month(s: &str) -> Option<u32> {
    let s = s.to_ascii_lowercase();
    let k = s.get(..3)?;
    Some(match k {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    })
}

fn en_weekday_of(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// Last day of the quarter holding month `m`, `k` quarters on.
fn quarter_end(y: i32, m: u32, k: i32) -> Option<NaiveDate> {
    let q_last = ((m - 1) / 3 + 1) * 3;
    let (y, mo) = add_months(y, q_last, 3 * k);
    month_end(y, mo)
}

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("deadline regex");
        Rules {
            full: re(r"(\d{4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?|[-/.](\d{1,2})[-/.](\d{1,2}))"),
            md: re(r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]"),
            slash: re(r"(\d{1,2})/(\d{1,2})"),
            dotted: re(r"(\d{1,2})\.(\d{1,2})"),
            month_part: re(
                r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*月份?\s*(底|末|内|上旬|中旬|下旬|中|初|前|之前|以前|第?[一二三四1-4]周)",
            ),
            rel_month: re(r"(本月|当月|这个月|下个?月|月)(底|末|内|上旬|中旬|下旬|中|初|第[一二三四1-4]周)"),
            week: re(r"(本周|这周|下周|下下周|周)([一二三四五六日天1-7]|内|末)?"),
            nth_week: re(r"第([一二三四1-4])周"),
            within: re(r"(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(个工作日|个自然日|天|日|周|个星期|星期|个月)(?:内|之内|以内)"),
            quarter: re(r"(?:Q([1-4])|[qQ]([1-4])|第?([一二三四])季度)\s*(末|底|前|内|结束前)"),
            year_end: re(r"(年底|年末|年内|今年内|本年度内|本年内|上半年|下半年)"),
            next_meeting: re(r"下次(?:[\p{Han}]{0,6}?)?(?:会议|例会|周会|月会|分析会|经营会|会)(?:召开)?(?:前|之前|时)"),
            asap: re(r"(?i)(尽快|立即|马上|即刻|立刻|持续跟进|长期跟进|(?-u:\b)asap(?-u:\b)|as soon as possible)"),
            en_week: re(r"(?i)(?-u:\b)(this|next)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday|week)(?-u:\b)"),
            en_within: re(r"(?i)(?-u:\b)within\s+(\d{1,3}|one|two|three|four|five|six|seven|ten)\s+(working days|business days|days|weeks)(?-u:\b)"),
            en_end: re(r"(?i)(?-u:\b)(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?(this\s+|next\s+|current\s+)?(month|year|quarter|week|q[1-4])(?-u:\b)"),
            en_next_meeting: re(r"(?i)(?-u:\b)(?:before|by)\s+(?:the\s+)?next\s+(?:meeting|sync|weekly|call)(?-u:\b)"),
            rel_quarter: re(r"(本季度|本季|这个季度|当季度|当季|下个?季度|季度)(末|底|内|前|结束前)"),
            festival: re(r"(春节|过年|农历新年|新春|年)(?:假期|放假)?(前|之前|以前)"),
            holiday: re(r"(元旦|国庆|五一|劳动节)(?:假期|节|放假)?(前|之前|以前)"),
            dom: re(r"(本月|这个月|当月|下个?月|次月)?\s*(\d{1,2}|[一二三四五六七八九十]{1,3})\s*[号日]\s*(?:前|之前|以前|截止)"),
            rel_day: re(r"(今天|明天|明日|后天)"),
            en_weekday: re(r"(?i)(?-u:\b)(?:by|before|until|till|due|on)\s+(?:the\s+)?(mon|tues|wednes|thurs|fri|satur|sun)day(?-u:\b)"),
            en_month_day: re(&format!(r"(?i)(?-u:\b)({EN_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\s*(\d{{4}}))?")),
            en_day_month: re(&format!(r"(?i)(?-u:\b)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({EN_MONTHS})(?-u:\b)\.?(?:,?\s*(\d{{4}}))?")),
            en_mid: re(&format!(r"(?i)(?-u:\b)mid[- ]?({EN_MONTHS}|month)(?-u:\b)")),
            en_day: re(r"(?i)(?-u:\b)(tomorrow|today|tonight|eod|end of (?:the )?day|cob|close of business)(?-u:\b)"),
            en_festival: re(r"(?i)(?-u:\b)(?:before|by|ahead of)\s+(?:the\s+)?(chinese new year|cny|spring festival|lunar new year)(?-u:\b)"),
            label: re(r"(?i)(截止(?:日期|时间)?|截至|完成时间|期限|deadline|due)\s*[:：]?\s*$"),
        }
    })
}

fn before_char(text: &str, start: usize) -> Option<char> {
    text[..start].chars().next_back()
}

fn after_str(text: &str, end: usize) -> &str {
    &text[end..]
}

fn is_digitish(c: char) -> bool {
    c.is_ascii_digit() || c == '.' || c == '/' || c == '-'
}

/// Strength of a phrase: labelled (2), followed by 前/之前/以前/内 (1), plain (0). Extends `end`
/// over a trailing 前/之前/以前.
fn strength(text: &str, start: usize, end: &mut usize) -> u8 {
    let mut s = 0;
    let rest = after_str(text, *end);
    let trimmed = rest.trim_start();
    if let Some(suf) = words().get("deadline_suffix").prefix_of(trimmed) {
        *end += rest.len() - trimmed.len() + suf.len();
        s = 1;
    }
    let head = &text[..start];
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || c == '于' || c == '在' || c == '至');
    if rules().label.is_match(head) {
        s = 2;
    }
    s
}

/// Every deadline phrase in `text`, resolved against `meeting`.
pub fn find_all(text: &str, meeting: NaiveDate) -> Vec<Deadline> {
    let r = rules();
    let mut out: Vec<Deadline> = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let overlaps = |taken: &Vec<(usize, usize)>, s: usize, e: usize| taken.iter().any(|&(a, b)| s < b && a < e);
    let push = |out: &mut Vec<Deadline>,
                taken: &mut Vec<(usize, usize)>,
                start: usize,
                end: usize,
                date: Option<NaiveDate>,
                next_meeting: bool| {
        let mut e = end;
        let strength = strength(text, start, &mut e);
        taken.push((start, e));
        out.push(Deadline { date, text: text[start..e].trim().to_string(), next_meeting, start, end: e, strength });
    };
    // a phrase taken as matched, at strength 1 (holidays, 春节前, `before CNY`)
    let push_as_is =
        |out: &mut Vec<Deadline>, taken: &mut Vec<(usize, usize)>, m: regex::Match, date: Option<NaiveDate>| {
            taken.push((m.start(), m.end()));
            let text = m.as_str().to_string();
            out.push(Deadline { date, text, next_meeting: false, start: m.start(), end: m.end(), strength: 1 });
        };

    for c in r.full.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) || before_char(text, m.start()).is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let y: i32 = c[1].parse().unwrap_or(0);
        let (mo, d) = match (c.get(2), c.get(3), c.get(4), c.get(5)) {
            (Some(a), Some(b), _, _) | (_, _, Some(a), Some(b)) => {
                (a.as_str().parse().unwrap_or(0), b.as_str().parse().unwrap_or(0))
            }
            _ => continue,
        };
        if let Some(date) = ymd(y, mo, d) {
            push(&mut out, &mut taken, m.start(), m.end(), Some(date), false);
        }
    }
    for c in r.md.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) || before_char(text, m.start()).is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let (mo, d): (u32, u32) = (cn_num(&c[1]).unwrap_or(0), cn_num(&c[2]).unwrap_or(0));
        // `10 月 1–11 日` is a range in a report, not a deadline: skip when a range dash follows.
        if after_str(text, m.end()).starts_with(['–', '-', '~', '至'])
            && words().get("until_now").prefix_of(after_str(text, m.end())).is_none()
        {
            continue;
        }
        if let Some(date) = ymd(year_for(meeting, mo, d), mo, d) {
            push(&mut out, &mut taken, m.start(), m.end(), Some(date), false);
        }
    }
    for (re, dotted) in [(&r.slash, false), (&r.dotted, true)] {
        for c in re.captures_iter(text) {
            let m = c.get(0).expect("match");
            if overlaps(&taken, m.start(), m.end()) {
                continue;
            }
            if before_char(text, m.start()).is_some_and(|c| is_digitish(c) || c.is_ascii_alphabetic()) {
                continue;
            }
            let rest = after_str(text, m.end());
            let mut rc = rest.chars();
            let next = rc.next();
            let next2 = rc.next();
            let bad_next = next.is_some_and(|c| {
                (is_digitish(c) && (c != '.' || next2.is_some_and(|d| d.is_ascii_digit())))
                    || (c.is_alphanumeric() && c.is_ascii())
                    || c == '%'
            });
            if bad_next {
                continue;
            }
            if dotted {
                // `3.31` only next to a deadline word: `3.31前`, `截止 3.31`, `3.31日`.
                let head = text[..m.start()].trim_end();
                let ok_after = words().get("dotted_date_after").prefix_of(rest.trim_start()).is_some();
                let ok_before = r.label.is_match(head) || head.ends_with('于') || head.ends_with('至');
                if !ok_after && !ok_before {
                    continue;
                }
            }
            let (mut mo, mut d): (u32, u32) = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0));
            if !dotted && mo > 12 && (1..=12).contains(&d) {
                // `15/12`: day/month as written in Europe and Central Asia
                std::mem::swap(&mut mo, &mut d);
            }
            if !(1..=12).contains(&mo) {
                continue;
            }
            if let Some(date) = ymd(year_for(meeting, mo, d), mo, d) {
                let mut e = m.end();
                if rest.starts_with('日') || rest.starts_with('号') {
                    e += 3;
                }
                push(&mut out, &mut taken, m.start(), e, Some(date), false);
            }
        }
    }
    for c in r.month_part.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) || before_char(text, m.start()).is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let Some(mo) = cn_num(&c[1]).filter(|m| (1..=12).contains(m)) else { continue };
        // `2027年1月首批` style: a month with its own year
        let head = text[..m.start()].trim_end();
        let explicit_year: Option<i32> = head
            .strip_suffix('年')
            .map(|h| h.trim_end())
            .and_then(|h| h.get(h.len().saturating_sub(4)..))
            .and_then(|y| y.parse().ok());
        let y = explicit_year.unwrap_or_else(|| year_for_month(meeting, mo));
        let part = &c[2];
        let date = match part {
            "底" | "末" | "内" => month_end(y, mo),
            "上旬" => ymd(y, mo, 10),
            "中旬" => ymd(y, mo, 20),
            "下旬" => month_end(y, mo),
            "中" => ymd(y, mo, 15),
            "初" => ymd(y, mo, 5),
            "前" | "之前" | "以前" => {
                let (py, pm) = add_months(y, mo, -1);
                month_end(py, pm)
            }
            p => {
                let n = p.trim_start_matches('第').trim_end_matches('周');
                cn_num(n).and_then(|n| nth_week_friday(y, mo, n))
            }
        };
        let start = if explicit_year.is_some() {
            // include the year in the phrase
            head.len().saturating_sub(5).min(m.start())
        } else {
            m.start()
        };
        let start = if text.is_char_boundary(start) { start } else { m.start() };
        if date.is_some() {
            push(&mut out, &mut taken, start, m.end(), date, false);
        }
    }
    for c in r.rel_month.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let which = &c[1];
        // bare `月内` / `月底` must not be the tail of `3月底` (handled above) or `个月内` (within)
        if which == "月"
            && before_char(text, m.start())
                .is_some_and(|c| c.is_ascii_digit() || c == '个' || "一二三四五六七八九十".contains(c))
        {
            continue;
        }
        let k = if which.starts_with('下') { 1 } else { 0 };
        let (y, mo) = add_months(meeting.year(), meeting.month(), k);
        let part = &c[2];
        let date = match part {
            "底" | "末" | "内" | "下旬" => month_end(y, mo),
            "上旬" => ymd(y, mo, 10),
            "中旬" => ymd(y, mo, 20),
            "中" => {
                let d = ymd(y, mo, 15);
                if k == 0 && meeting.day() > 15 {
                    let (ny, nm) = add_months(y, mo, 1);
                    ymd(ny, nm, 15)
                } else {
                    d
                }
            }
            "初" => ymd(y, mo, 5),
            p => {
                let n = p.trim_start_matches('第').trim_end_matches('周');
                cn_num(n).and_then(|n| nth_week_friday(y, mo, n))
            }
        };
        if date.is_some() {
            push(&mut out, &mut taken, m.start(), m.end(), date, false);
        }
    }
    for c in r.quarter.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let q = c
            .get(1)
            .or(c.get(2))
            .map(|x| x.as_str().parse().unwrap_or(0))
            .or_else(|| c.get(3).and_then(|x| cn_num(x.as_str())));
        let Some(q) = q.filter(|q| (1..=4).contains(q)) else { continue };
        let mo = q * 3;
        let y = if mo < meeting.month() { meeting.year() + 1 } else { meeting.year() };
        if let Some(date) = month_end(y, mo) {
            push(&mut out, &mut taken, m.start(), m.end(), Some(date), false);
        }
    }
    for c in r.year_end.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        // `明年年底`, `2027年底`
        let head = &text[..m.start()];
        let y = if words().get("next_year_prefix").suffix_of(head).is_some() {
            meeting.year() + 1
        } else if let Some(y) = head.get(head.len().saturating_sub(4)..).and_then(|y| y.parse::<i32>().ok()) {
            y
        } else {
            meeting.year()
        };
        let explicit = y != meeting.year();
        let date = match &c[1] {
            // `上半年` at a meeting after June: the next year's first half
            "上半年" if !explicit && meeting.month() > 6 => ymd(y + 1, 6, 30),
            "上半年" => ymd(y, 6, 30),
            _ => ymd(y, 12, 31),
        };
        push(&mut out, &mut taken, m.start(), m.end(), date, false);
    }
    for c in r.rel_quarter.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        // `一季度末` / `Q1末` are taken above; a bare `季度` must not be the tail of `四季度`
        if before_char(text, m.start()).is_some_and(|c| "一二三四1234第每个".contains(c)) {
            continue;
        }
        let k = if c[1].starts_with('下') { 1 } else { 0 };
        let date = quarter_end(meeting.year(), meeting.month(), k);
        push(&mut out, &mut taken, m.start(), m.end(), date, false);
    }
    for c in r.festival.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        if &c[1] == "年" {
            // `年前` = before the Spring Festival; not `三年前`, `今年前三季度`, `2025年前`
            let bad_before = before_char(text, m.start()).is_some_and(|c| {
                c.is_ascii_digit() || "一二三四五六七八九十两几多今去明前每当全半上下本该同".contains(c)
            });
            let bad_after = after_str(text, m.end())
                .starts_with(|c: char| c.is_ascii_digit() || "一二三四五六七八九十两几后".contains(c));
            if bad_before || bad_after {
                continue;
            }
        }
        if after_str(text, m.end()).starts_with('后') {
            continue; // 春节前后: around the festival
        }
        push_as_is(&mut out, &mut taken, m, spring_festival_eve(meeting));
    }
    for c in r.holiday.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let (mo, d) = match &c[1] {
            "元旦" => (12, 31),
            "国庆" => (9, 30),
            _ => (4, 30),
        };
        let date = ymd(year_for(meeting, mo, d), mo, d);
        push_as_is(&mut out, &mut taken, m, date);
    }
    for c in r.dom.captures_iter(text) {
        // `25号前`, `20日前`, `下个月15号前`: that day of this (next) month, the next one on or after D
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        if c.get(1).is_none()
            && before_char(text, m.start()).is_some_and(|c| is_digitish(c) || c == '月' || c == '第' || c == '每')
        {
            continue;
        }
        let Some(day) = cn_num(&c[2]).filter(|d| (1..=31).contains(d)) else { continue };
        let date = match c.get(1).map(|x| x.as_str()) {
            Some(p) if p.starts_with('下') || p == "次月" => {
                let (y, mo) = add_months(meeting.year(), meeting.month(), 1);
                month_end(y, mo).map(|e| e.day()).and_then(|last| ymd(y, mo, day.min(last)))
            }
            Some(_) => month_end(meeting.year(), meeting.month())
                .map(|e| e.day())
                .and_then(|last| ymd(meeting.year(), meeting.month(), day.min(last))),
            None => {
                let (y, mo) = if day >= meeting.day() {
                    (meeting.year(), meeting.month())
                } else {
                    add_months(meeting.year(), meeting.month(), 1)
                };
                month_end(y, mo).map(|e| e.day()).and_then(|last| ymd(y, mo, day.min(last)))
            }
        };
        let e = m.end();
        taken.push((m.start(), e));
        out.push(Deadline {
            date,
            text: text[m.start()..e].trim().to_string(),
            next_meeting: false,
            start: m.start(),
            end: e,
            strength: 1,
        });
    }
    for c in r.rel_day.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let n = match &c[1] {
            "今天" => 0,
            "明天" | "明日" => 1,
            _ => 2,
        };
        push(&mut out, &mut taken, m.start(), m.end(), Some(meeting + Duration::days(n)), false);
    }
    for c in r.nth_week.captures_iter(text) {
        // `第二周` on its own: the meeting month's n-th week (the `N月第N周` forms are taken above)
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        if let Some(n) = cn_num(&c[1]) {
            let mut d = nth_week_friday(meeting.year(), meeting.month(), n);
            if d.is_some_and(|d| d < meeting) {
                let (y, mo) = add_months(meeting.year(), meeting.month(), 1);
                d = nth_week_friday(y, mo, n);
            }
            push(&mut out, &mut taken, m.start(), m.end(), d, false);
        }
    }
    for c in r.week.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let which = &c[1];
        let rest = c.get(2).map(|x| x.as_str());
        let mon = monday(meeting);
        let date = match (which, rest) {
            ("本周" | "这周", None | Some("内")) => Some(weekday_in_week(mon, Weekday::Fri)),
            ("本周" | "这周", Some("末")) => Some(weekday_in_week(mon, Weekday::Sun)),
            ("本周" | "这周", Some(w)) => weekday_of(w).map(|w| weekday_in_week(mon, w)),
            ("下周", None | Some("内")) => Some(weekday_in_week(mon + Duration::days(7), Weekday::Fri)),
            ("下周", Some("末")) => Some(weekday_in_week(mon + Duration::days(7), Weekday::Sun)),
            ("下周", Some(w)) => weekday_of(w).map(|w| weekday_in_week(mon + Duration::days(7), w)),
            ("下下周", None | Some("内")) => Some(weekday_in_week(mon + Duration::days(14), Weekday::Fri)),
            ("下下周", Some(w)) => weekday_of(w).map(|w| weekday_in_week(mon + Duration::days(14), w)),
            ("周", Some(w)) if w != "内" && w != "末" => {
                // `周五前`: this week's Friday, or next week's when already past
                let after = after_str(text, m.end()).trim_start();
                let bef = before_char(text, m.start());
                if !(words().get("weekday_before").prefix_of(after).is_some() || bef == Some('每')) || bef == Some('每')
                {
                    None
                } else {
                    weekday_of(w).map(|w| {
                        let d = weekday_in_week(mon, w);
                        if d < meeting {
                            d + Duration::days(7)
                        } else {
                            d
                        }
                    })
                }
            }
            _ => None,
        };
        if date.is_some() {
            push(&mut out, &mut taken, m.start(), m.end(), date, false);
        }
    }
    for c in r.within.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let Some(n) = cn_num(&c[1]) else { continue };
        let date = match &c[2] {
            "个工作日" => Some(add_workdays(meeting, n)),
            "天" | "日" | "个自然日" => Some(meeting + Duration::days(n as i64)),
            "周" | "个星期" | "星期" => Some(meeting + Duration::days(7 * n as i64)),
            "个月" => {
                let (y, mo) = add_months(meeting.year(), meeting.month(), n as i32);
                let last = month_end(y, mo).map(|d| d.day()).unwrap_or(28);
                ymd(y, mo, meeting.day().min(last))
            }
            _ => None,
        };
        push(&mut out, &mut taken, m.start(), m.end(), date, false);
    }
    for c in r.en_week.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let mon = monday(meeting) + Duration::days(if c[1].eq_ignore_ascii_case("next") { 7 } else { 0 });
        let wd = match c[2].to_ascii_lowercase().as_str() {
            "monday" => Weekday::Mon,
            "tuesday" => Weekday::Tue,
            "wednesday" => Weekday::Wed,
            "thursday" => Weekday::Thu,
            "saturday" => Weekday::Sat,
            "sunday" => Weekday::Sun,
            _ => Weekday::Fri,
        };
        push(&mut out, &mut taken, m.start(), m.end(), Some(weekday_in_week(mon, wd)), false);
    }
    for c in r.en_weekday.captures_iter(text) {
        // `by Friday`: this week's, or next week's when already past
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let Some(wd) = en_weekday_of(&c[1]) else { continue };
        let mut d = weekday_in_week(monday(meeting), wd);
        if d < meeting {
            d += Duration::days(7);
        }
        push(&mut out, &mut taken, m.start(), m.end(), Some(d), false);
    }
    for (re_, month_first) in [(&r.en_month_day, true), (&r.en_day_month, false)] {
        for c in re_.captures_iter(text) {
            let m = c.get(0).expect("match");
            if overlaps(&taken, m.start(), m.end()) {
                continue;
            }
            let (mo, d) = if month_first {
                (en_month(&c[1]), c[2].parse::<u32>().ok())
            } else {
                (en_month(&c[2]), c[1].parse::<u32>().ok())
            };
            let (Some(mo), Some(d)) = (mo, d) else { continue };
            let y = c.get(3).and_then(|y| y.as_str().parse().ok()).unwrap_or_else(|| year_for(meeting, mo, d));
            if let Some(date) = ymd(y, mo, d) {
                push(&mut out, &mut taken, m.start(), m.end(), Some(date), false);
            }
        }
    }
    for c in r.en_mid.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let date = match en_month(&c[1]) {
            Some(mo) => ymd(year_for(meeting, mo, 15), mo, 15),
            None if meeting.day() > 15 => {
                let (y, mo) = add_months(meeting.year(), meeting.month(), 1);
                ymd(y, mo, 15)
            }
            None => ymd(meeting.year(), meeting.month(), 15),
        };
        push(&mut out, &mut taken, m.start(), m.end(), date, false);
    }
    for c in r.en_day.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let n = if c[1].eq_ignore_ascii_case("tomorrow") { 1 } else { 0 };
        push(&mut out, &mut taken, m.start(), m.end(), Some(meeting + Duration::days(n)), false);
    }
    for m in r.en_festival.find_iter(text) {
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        push_as_is(&mut out, &mut taken, m, spring_festival_eve(meeting));
    }
    for c in r.en_within.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let n: u32 = lodestar_core::text::en_number(&c[1]).unwrap_or_else(|| c[1].parse().unwrap_or(0));
        let unit = c[2].to_ascii_lowercase();
        let date = if unit.starts_with("working") || unit.starts_with("business") {
            add_workdays(meeting, n)
        } else if unit == "weeks" {
            meeting + Duration::days(7 * n as i64)
        } else {
            meeting + Duration::days(n as i64)
        };
        push(&mut out, &mut taken, m.start(), m.end(), Some(date), false);
    }
    for c in r.en_end.captures_iter(text) {
        let m = c.get(0).expect("match");
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        let next = c.get(1).is_some_and(|x| x.as_str().trim().eq_ignore_ascii_case("next"));
        let k = i32::from(next);
        let unit = c[2].to_ascii_lowercase();
        let date = match unit.as_str() {
            "year" => ymd(meeting.year() + k, 12, 31),
            "quarter" => quarter_end(meeting.year(), meeting.month(), k),
            "week" => Some(weekday_in_week(monday(meeting) + Duration::days(7 * k as i64), Weekday::Fri)),
            "month" => {
                let (y, mo) = add_months(meeting.year(), meeting.month(), k);
                month_end(y, mo)
            }
            q => {
                // `end of Q1`: that quarter's last day, next year's when already past
                let qn: u32 = q[1..].parse().unwrap_or(4);
                let mo = qn * 3;
                let y = if mo < meeting.month() { meeting.year() + 1 } else { meeting.year() };
                month_end(y, mo)
            }
        };
        push(&mut out, &mut taken, m.start(), m.end(), date, false);
    }
    for m in r.en_next_meeting.find_iter(text) {
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        taken.push((m.start(), m.end()));
        out.push(Deadline {
            date: None,
            text: m.as_str().to_string(),
            next_meeting: true,
            start: m.start(),
            end: m.end(),
            strength: 1,
        });
    }
    for m in r.next_meeting.find_iter(text) {
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        taken.push((m.start(), m.end()));
        out.push(Deadline {
            date: None,
            text: m.as_str().to_string(),
            next_meeting: true,
            start: m.start(),
            end: m.end(),
            strength: 1,
        });
    }
    for m in r.asap.find_iter(text) {
        if overlaps(&taken, m.start(), m.end()) {
            continue;
        }
        taken.push((m.start(), m.end()));
        out.push(Deadline {
            date: None,
            text: m.as_str().to_string(),
            next_meeting: false,
            start: m.start(),
            end: m.end(),
            strength: 0,
        });
    }
    out.sort_by_key(|d| d.start);
    out
}

/// The deadline of a line: the strongest phrase (labelled > 前/内 > plain), the last among equals;
/// a phrase with a date beats one without at the same strength.
pub fn pick(text: &str, meeting: NaiveDate) -> Option<Deadline> {
    let all = find_all(text, meeting);
    all.into_iter().max_by_key(|d| (d.strength, d.date.is_some() || d.next_meeting, d.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn resolve(text: &str, meeting: &str) -> Option<NaiveDate> {
        pick(text, d(meeting)).and_then(|x| x.date)
    }

    // Meeting 2026-09-07 is a Monday (2026-01-01 is a Thursday; Sep 1 = day 244 → Tuesday; Sep 7 = Monday).
    const MON: &str = "2026-09-07";

    #[test]
    fn explicit_dates_in_all_spellings() {
        for t in ["2026-03-31", "2026/3/31", "2026.3.31", "2026年3月31日", "截止：2026-03-31"] {
            assert_eq!(resolve(t, "2026-01-10"), Some(d("2026-03-31")), "{t}");
        }
        assert_eq!(resolve("3月31日前提交", "2026-01-10"), Some(d("2026-03-31")));
        assert_eq!(resolve("3月31号完成", "2026-01-10"), Some(d("2026-03-31")));
        assert_eq!(resolve("3/31前", "2026-01-10"), Some(d("2026-03-31")));
        assert_eq!(resolve("3.31前完成", "2026-01-10"), Some(d("2026-03-31")));
        assert_eq!(resolve("截止 3.31", "2026-01-10"), Some(d("2026-03-31")));
    }

    #[test]
    fn month_day_before_the_meeting_means_next_year() {
        // minutes of 2026-12-15 saying 1月10日 mean 2027-01-10
        assert_eq!(resolve("1月10日前回款", "2026-12-15"), Some(d("2027-01-10")));
        assert_eq!(resolve("1/10前", "2026-12-15"), Some(d("2027-01-10")));
        // the meeting day itself stays in the same year
        assert_eq!(resolve("12月15日", "2026-12-15"), Some(d("2026-12-15")));
        // 1月底 at a December meeting → January of next year
        assert_eq!(resolve("1月底前", "2026-12-15"), Some(d("2027-01-31")));
    }

    #[test]
    fn decimals_and_specs_are_not_dates() {
        assert_eq!(pick("同比增长3.5%", d(MON)), None);
        assert_eq!(pick("40.00R57 分配 110 条", d(MON)), None);
        assert_eq!(pick("315/80R22.5 补库", d(MON)), None);
        assert_eq!(pick("单价上调2.5美元", d(MON)), None);
        assert_eq!(pick("10 月 1–11 日区域销售额", d(MON)), None);
    }

    #[test]
    fn month_end_forms() {
        assert_eq!(resolve("月底前完成", MON), Some(d("2026-09-30")));
        assert_eq!(resolve("本月底", MON), Some(d("2026-09-30")));
        assert_eq!(resolve("本月内", MON), Some(d("2026-09-30")));
        assert_eq!(resolve("9月底前", MON), Some(d("2026-09-30")));
        assert_eq!(resolve("9月内收回", MON), Some(d("2026-09-30")));
        assert_eq!(resolve("下月底", MON), Some(d("2026-10-31")));
        assert_eq!(resolve("下个月底前", MON), Some(d("2026-10-31")));
        assert_eq!(resolve("月中", MON), Some(d("2026-09-15")));
        // meeting after the 15th: the next month's 15th
        assert_eq!(resolve("月中前", "2026-09-20"), Some(d("2026-10-15")));
        assert_eq!(resolve("10月中旬", MON), Some(d("2026-10-20")));
        assert_eq!(resolve("10月上旬", MON), Some(d("2026-10-10")));
        assert_eq!(resolve("10月下旬", MON), Some(d("2026-10-31")));
        // 11月前 = before November = 31 October
        assert_eq!(resolve("11月前", MON), Some(d("2026-10-31")));
        // 2月底 in a leap-less year
        assert_eq!(resolve("2月底", "2026-09-07"), Some(d("2027-02-28")));
    }

    #[test]
    fn week_forms() {
        // Monday 2026-09-07: this week's Friday is 09-11, next week's Friday 09-18.
        assert_eq!(resolve("本周内", MON), Some(d("2026-09-11")));
        assert_eq!(resolve("本周五", MON), Some(d("2026-09-11")));
        assert_eq!(resolve("本周三前", MON), Some(d("2026-09-09")));
        assert_eq!(resolve("下周五", MON), Some(d("2026-09-18")));
        assert_eq!(resolve("下周一", MON), Some(d("2026-09-14")));
        assert_eq!(resolve("下周内", MON), Some(d("2026-09-18")));
        // meeting on Thursday 2026-09-10: 本周五 = 09-11, 周三前 (already past) = 09-16
        assert_eq!(resolve("本周五", "2026-09-10"), Some(d("2026-09-11")));
        assert_eq!(resolve("周三前", "2026-09-10"), Some(d("2026-09-16")));
        // a Sunday meeting: its week is Mon 09-07 .. Sun 09-13, so 本周内 → 09-11
        assert_eq!(resolve("本周内", "2026-09-13"), Some(d("2026-09-11")));
    }

    #[test]
    fn nth_week_of_a_month() {
        // October 2026: Oct 1 is a Thursday → first Friday Oct 2; second week Friday Oct 9.
        assert_eq!(resolve("10月第一周", MON), Some(d("2026-10-02")));
        assert_eq!(resolve("10月第二周", MON), Some(d("2026-10-09")));
        // November 2026: Nov 1 is a Sunday → first Friday Nov 6
        assert_eq!(resolve("11月第一周", MON), Some(d("2026-11-06")));
        assert_eq!(resolve("下月第一周", MON), Some(d("2026-10-02")));
        // January of next year: 2027-01-01 is a Friday → first week's Friday is Jan 1
        assert_eq!(resolve("1月第一周", "2026-12-20"), Some(d("2027-01-01")));
    }

    #[test]
    fn within_n_days_weeks_and_workdays() {
        assert_eq!(resolve("两周内", MON), Some(d("2026-09-21")));
        assert_eq!(resolve("一周内", MON), Some(d("2026-09-14")));
        assert_eq!(resolve("10天内", MON), Some(d("2026-09-17")));
        assert_eq!(resolve("三日内", MON), Some(d("2026-09-10")));
        // 10 working days after Monday 09-07: 08..11 (4), 14..18 (9), 21 (10) → 09-21
        assert_eq!(resolve("10 个工作日内", MON), Some(d("2026-09-21")));
        // 5 working days after Thursday 09-10: 11, 14, 15, 16, 17 → 09-17
        assert_eq!(resolve("5个工作日内", "2026-09-10"), Some(d("2026-09-17")));
        assert_eq!(resolve("一个月内", MON), Some(d("2026-10-07")));
    }

    #[test]
    fn quarter_and_year_end() {
        assert_eq!(resolve("Q4末", MON), Some(d("2026-12-31")));
        assert_eq!(resolve("四季度末", MON), Some(d("2026-12-31")));
        assert_eq!(resolve("第四季度末前", MON), Some(d("2026-12-31")));
        assert_eq!(resolve("Q1末", MON), Some(d("2027-03-31")));
        assert_eq!(resolve("三季度末", MON), Some(d("2026-09-30")));
        assert_eq!(resolve("年底前", MON), Some(d("2026-12-31")));
        assert_eq!(resolve("年内", MON), Some(d("2026-12-31")));
        assert_eq!(resolve("明年年底", MON), Some(d("2027-12-31")));
    }

    #[test]
    fn next_meeting_and_asap_keep_text_without_date() {
        let n = pick("下次会议前反馈", d(MON)).unwrap();
        assert_eq!(n.date, None);
        assert!(n.next_meeting);
        assert_eq!(n.text, "下次会议前");
        let n = pick("下次经营分析会前提交", d(MON)).unwrap();
        assert!(n.next_meeting);
        let a = pick("尽快联系客户", d(MON)).unwrap();
        assert_eq!(a.date, None);
        assert!(!a.next_meeting);
        assert_eq!(a.text, "尽快");
        assert!(pick("立即停止发货", d(MON)).is_some_and(|x| x.date.is_none() && x.text == "立即"));
    }

    #[test]
    fn labelled_phrase_wins_over_others() {
        // the report date 8月24日 loses to the labelled deadline
        assert_eq!(resolve("8月24日到账8万美元，余款截止：9月30日", MON), Some(d("2026-09-30")));
        assert_eq!(resolve("顺延至2027年1月首批交付；截止：2026-09-14", MON), Some(d("2026-09-14")));
        // 前 beats a plain date
        assert_eq!(resolve("9月8日客户来访时提出，9月20日前回复", MON), Some(d("2026-09-20")));
    }

    #[test]
    fn english_forms() {
        // Monday 2026-11-16: next Friday = 11-27; within two weeks = 11-30
        assert_eq!(resolve("visit the customer, due next Friday", "2026-11-16"), Some(d("2026-11-27")));
        assert_eq!(resolve("interviews within two weeks", "2026-11-16"), Some(d("2026-11-30")));
        assert_eq!(resolve("due 11/20.", "2026-10-19"), Some(d("2026-11-20")));
        assert_eq!(resolve("by end of month", "2026-11-16"), Some(d("2026-11-30")));
        assert!(pick("proposal before the next meeting", d(MON)).is_some_and(|x| x.next_meeting && x.date.is_none()));
        assert!(pick("follow-up, ASAP", d(MON)).is_some_and(|x| x.date.is_none() && x.text == "ASAP"));
    }

    #[test]
    fn chinese_numbers() {
        assert_eq!(cn_num("两"), Some(2));
        assert_eq!(cn_num("十"), Some(10));
        assert_eq!(cn_num("十二"), Some(12));
        assert_eq!(cn_num("二十"), Some(20));
        assert_eq!(cn_num("二十五"), Some(25));
        assert_eq!(cn_num("15"), Some(15));
    }
}
