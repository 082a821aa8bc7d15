//! Period: the month, quarter, year or range a question names (Chinese and English), relative to
//! a reference month.

use super::*;

pub(super) fn each_month(p: &Cues, t: &str, period: Option<&PeriodSpec>, reference: Month) -> Option<u32> {
    let re: [&Regex; 2] = [
        lodestar_core::regex!(r"(?:最近|近|过去)\s*([一二两三四五六七八九十]|十[一二]|\d{1,2})\s*个\s*月"),
        lodestar_core::regex!(r"\b(?:last|past|previous)\s+(\d{1,2}|two|three|four|five|six|twelve)\s+months\b"),
    ];
    let word = |w: &str| w.parse().ok().or_else(|| lodestar_core::text::en_number(w)).or_else(|| cn_number(w));
    for r in re.iter() {
        if let Some(c) = r.captures(t) {
            return word(&c[1]).filter(|n| (2..=12).contains(n));
        }
    }
    if p.get("each_month").any_in(t) {
        let last = period.map(|p| p.period.last_month()).unwrap_or(reference);
        return (last.month >= 2).then_some(last.month);
    }
    None
}

/// The text without `前三季度`-style periods (January to the end of a quarter), which are not a
/// top-3 ranking.
pub(super) fn without_first_quarters(t: &str) -> String {
    first_quarters().replace_all(t, " ").into_owned()
}

/// `前三季度` / `2025年前两个季度`: year (optional) and number of quarters.
pub(super) fn first_quarters() -> &'static Regex {
    lodestar_core::regex!(r"(?:(\d{4})\s*年\s*)?前\s*([一二两三1-3])\s*个?\s*季度")
}

/// Parses explicit and relative periods (the text is already `norm_key`-ed: half-width, lower case).
pub fn parse_period(t: &str, reference: Month) -> Option<PeriodSpec> {
    parse_period_in(Vocabulary::builtin(), t, reference)
}

/// [`parse_period`] with the period words of `v` (a home's vocabulary).
pub fn parse_period_in(v: &Vocabulary, t: &str, reference: Month) -> Option<PeriodSpec> {
    let p = &v.periods;
    let english = cn_numeral_months(&english_dates(t));
    let t = english.as_str();
    // 前三季度 / 去年前两个季度: January through the end of that quarter, year to date
    if let Some(c) = first_quarters().captures(t) {
        let q = c.get(2).map(|m| m.as_str()).and_then(|s| s.parse::<u32>().ok().or_else(|| cn_number(s)));
        let year = c.get(1).and_then(|m| m.as_str().parse::<i32>().ok()).unwrap_or_else(|| {
            if p.get("last_year_prefix").any_in(t) {
                reference.year - 1
            } else {
                reference.year
            }
        });
        if let Some(m) = q.and_then(|q| Month::new(year, q * 3).ok()) {
            return Some(PeriodSpec { period: Period::Month(m), ytd: true, explicit: true });
        }
    }
    struct Res {
        re: Vec<(Regex, u8)>,
    }
    static RES: OnceLock<Res> = OnceLock::new();
    let res = RES.get_or_init(|| {
        let p = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!());
        Res {
            re: vec![
                // 0: 2026年1-9月 / 2026年1至9月
                (p(r"(\d{4})\s*年\s*(\d{1,2})\s*(?:-|~|至|到|—|–|－)\s*(\d{1,2})\s*月"), 0),
                // 1: 1-9月 (no year)
                (p(r"(?:^|[^\d])(\d{1,2})\s*(?:-|~|至|到|—|–)\s*(\d{1,2})\s*月"), 1),
                // 2: 2026年9月
                (p(r"(\d{4})\s*年\s*(\d{1,2})\s*月"), 2),
                // 3: 2026-09, 2026/9, 2026.09
                (p(r"(?:^|[^\d])(\d{4})\s*[-/.]\s*(\d{1,2})(?:[^\d]|$)"), 3),
                // 4: 202609
                (p(r"(?:^|[^\d])(20\d{2})(0[1-9]|1[0-2])(?:[^\d]|$)"), 4),
                // 5: 2026 Q3, 2026-q3, 2026年第三季度, 2026年三季度
                (p(r"(\d{4})\s*(?:年\s*)?(?:-\s*)?(?:q([1-4])|第?([一二三四1-4])\s*季度)"), 5),
                // 6: q3, 第三季度, 三季度
                (p(r"(?:^|[^a-z])q([1-4])(?:[^\d]|$)|第?([一二三四1-4])\s*季度"), 6),
                // 7: 2026年上半年 / 上半年
                (p(r"(?:(\d{4})\s*年\s*)?上半年"), 7),
                // 8: (今年|去年)? 9月
                (p(r"(今年|去年|前年)?\s*(\d{1,2})\s*月(?:份)?"), 8),
                // 9: 2026年 / 2026年度 / 2026 全年
                (p(r"(?:^|[^\d])(20\d{2})\s*(?:年|全年|年度)"), 9),
            ],
        }
    });
    let year_of = |rel: Option<&str>| -> i32 {
        match rel {
            Some("去年") => reference.year - 1,
            Some("前年") => reference.year - 2,
            _ => reference.year,
        }
    };
    let ytd_or_year = |year: i32| -> PeriodSpec {
        if year == reference.year && reference.month < 12 {
            PeriodSpec { period: Period::Month(reference), ytd: true, explicit: true }
        } else {
            PeriodSpec { period: Period::Year(year), ytd: false, explicit: true }
        }
    };
    for (re, tag) in &res.re {
        let Some(c) = re.captures(t) else { continue };
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i64>().ok());
        let spec = match tag {
            0 => {
                let (y, m) = (num(1)? as i32, num(3)? as u32);
                Month::new(y, m).ok().map(|m| PeriodSpec { period: Period::Month(m), ytd: true, explicit: true })
            }
            1 => {
                let m = num(2)? as u32;
                Month::new(reference.year, m).ok().map(|m| PeriodSpec {
                    period: Period::Month(m),
                    ytd: true,
                    explicit: true,
                })
            }
            2..=4 => {
                let (y, m) = (num(1)? as i32, num(2)? as u32);
                Month::new(y, m).ok().map(|m| PeriodSpec { period: Period::Month(m), ytd: false, explicit: true })
            }
            5 => {
                let y = num(1)? as i32;
                let q =
                    c.get(2).or(c.get(3)).map(|m| m.as_str()).and_then(|s| s.parse().ok().or_else(|| cn_number(s)))?;
                Some(PeriodSpec { period: Period::Quarter { year: y, quarter: q }, ytd: false, explicit: true })
            }
            6 => {
                let q =
                    c.get(1).or(c.get(2)).map(|m| m.as_str()).and_then(|s| s.parse().ok().or_else(|| cn_number(s)))?;
                let year = if p.get("last_year_prefix").any_in(t) { reference.year - 1 } else { reference.year };
                Some(PeriodSpec { period: Period::Quarter { year, quarter: q }, ytd: false, explicit: true })
            }
            7 => {
                let y = num(1).map(|y| y as i32).unwrap_or_else(|| {
                    if p.get("last_year_prefix").any_in(t) {
                        reference.year - 1
                    } else {
                        reference.year
                    }
                });
                Month::new(y, 6).ok().map(|m| PeriodSpec { period: Period::Month(m), ytd: true, explicit: true })
            }
            8 => {
                let m = num(2)? as u32;
                let y = year_of(c.get(1).map(|m| m.as_str()));
                // "3个月" is a duration, handled by the regex not matching `个`.
                Month::new(y, m).ok().map(|m| PeriodSpec { period: Period::Month(m), ytd: false, explicit: true })
            }
            9 => Some(ytd_or_year(num(1)? as i32)),
            _ => None,
        };
        if spec.is_some() {
            return spec;
        }
    }
    // Relative words.
    let rel: [(&str, u8); 10] = [
        ("next_year", 7),
        ("next_month", 8),
        ("next_quarter", 9),
        ("year_to_date", 0),
        ("month_before_last", 6),
        ("last_month", 1),
        ("this_month", 2),
        ("last_quarter", 3),
        ("this_quarter", 4),
        ("last_year", 5),
    ];
    for (kind, tag) in rel {
        if p.get(kind).any_in(t) {
            let cur_q = Period::Quarter { year: reference.year, quarter: reference.quarter() };
            return Some(match tag {
                0 => PeriodSpec { period: Period::Month(reference), ytd: true, explicit: true },
                1 => PeriodSpec { period: Period::Month(reference.prev()), ytd: false, explicit: true },
                2 => PeriodSpec { period: Period::Month(reference), ytd: false, explicit: true },
                3 => PeriodSpec { period: cur_q.previous(), ytd: false, explicit: true },
                4 => PeriodSpec { period: cur_q, ytd: false, explicit: true },
                5 => {
                    // "去年同期" is a comparison, not a period.
                    if v.route
                        .get("intent_yoy")
                        .words()
                        .iter()
                        .any(|w| p.get("last_year").any_in(w) && t.contains(w.as_str()))
                    {
                        continue;
                    }
                    PeriodSpec { period: Period::Year(reference.year - 1), ytd: false, explicit: true }
                }
                6 => PeriodSpec { period: Period::Month(reference.add(-2)), ytd: false, explicit: true },
                // future periods: the rule engine says there is no data for them yet
                7 => PeriodSpec { period: Period::Year(reference.year + 1), ytd: false, explicit: true },
                8 => PeriodSpec { period: Period::Month(reference.add(1)), ytd: false, explicit: true },
                _ => {
                    let q = reference.quarter();
                    let (year, quarter) = if q == 4 { (reference.year + 1, 1) } else { (reference.year, q + 1) };
                    PeriodSpec { period: Period::Quarter { year, quarter }, ytd: false, explicit: true }
                }
            });
        }
    }
    if p.get("this_year").any_in(t) {
        return Some(ytd_or_year(reference.year));
    }
    None
}

/// Does the question compare a quarter or month with the one right before it (`三季度比二季度`,
/// `Q3 vs Q2`, `9月和8月相比`)?
pub(super) fn previous_period_named(c: &Cues, t: &str) -> bool {
    let re: [&Regex; 2] = [
        lodestar_core::regex!(r"第?([一二三四1-4])\s*季度|(?:^|[^a-z0-9])q([1-4])(?:[^0-9]|$)"),
        lodestar_core::regex!(r"(?:^|[^\d])(\d{1,2})\s*月"),
    ];
    if !c.get("compare_word").any_in(t) {
        return false;
    }
    let numbers = |r: &Regex| -> Vec<u32> {
        r.captures_iter(t)
            .filter_map(|c| c.get(1).or(c.get(2)))
            .filter_map(|m| m.as_str().parse::<u32>().ok().or_else(|| cn_number(m.as_str())))
            .collect()
    };
    re.iter().any(|r| {
        let n = numbers(r);
        n.len() == 2 && (n[0] == n[1] + 1 || (n[0] == 1 && n[1] == 12 && r.as_str().contains("月")))
    })
}

/// Rewrites months written in Chinese numerals into digits: `三月份` → `3月份`, `十二月` → `12月`,
/// `2025年九月` → `2025年9月`. Durations (`三个月`) and `每月` / `上月` are left alone.
pub(crate) fn cn_numeral_months(t: &str) -> String {
    let re = lodestar_core::regex!(r"(^|[^一二三四五六七八九十两零〇第])(十[一二]|[一二三四五六七八九十])(\s*月)");
    re.replace_all(t, |c: &regex::Captures| {
        let n = cn_number(&c[2]).unwrap_or_default();
        format!("{}{n}{}", &c[1], &c[3])
    })
    .into_owned()
}

/// Rewrites English dates into the Chinese forms the period patterns read: `September 2026` /
/// `Sep. 2026` / `2026 September` → `2026年9月`, a full month name alone (`in October`) → `10月`,
/// `Q3 2026` → `2026 q3`, `in 2026` / `for 2026` / `FY2026` → `2026年`, `first half` → `上半年`.
/// `may` alone is left alone (a verb more often than a month).
pub(super) fn english_dates(t: &str) -> String {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const M: &str = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
    let res: [&Regex; 5] = [
        lodestar_core::regex!(&format!(r"\b{M}\.?\s*,?\s*(20\d{{2}})\b")),
        lodestar_core::regex!(&format!(r"\b(20\d{{2}})\s*,?\s*{M}\b")),
        lodestar_core::regex!(
            r"\b(january|february|march|april|june|july|august|september|sept|october|november|december)\b"
        ),
        lodestar_core::regex!(r"\bq([1-4])\s*,?\s*(20\d{2})\b"),
        lodestar_core::regex!(r"\b(?:in|for|of|during|year|fy)\s*(20\d{2})\b"),
    ];
    let lower = t.to_lowercase();
    if !lower.chars().any(|c| c.is_ascii_alphabetic()) {
        return t.to_string();
    }
    let month_no = |name: &str| MONTHS.iter().position(|m| name.starts_with(m)).map_or(0, |i| i + 1);
    let out = res[0].replace_all(&lower, |c: &regex::Captures| format!("{}年{}月", &c[2], month_no(&c[1])));
    let out = res[1].replace_all(&out, |c: &regex::Captures| format!("{}年{}月", &c[1], month_no(&c[2])));
    let out = res[2].replace_all(&out, |c: &regex::Captures| format!("{}月", month_no(&c[1])));
    let out = res[3].replace_all(&out, |c: &regex::Captures| format!("{} q{}", &c[2], &c[1]));
    let out = res[4].replace_all(&out, |c: &regex::Captures| format!(" {}年", &c[1]));
    out.replace("first half", "上半年").replace("h1 ", "上半年 ")
}
