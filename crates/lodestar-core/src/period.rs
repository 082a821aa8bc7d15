//! Periods (期间): a month, a quarter or a year, and the month arithmetic the metrics need.

use std::fmt;
use std::str::FromStr;

/// A calendar month (月份), e.g. `2026-09`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Calendar year, e.g. 2026.
    pub year: i32,
    /// 1..=12
    pub month: u32,
}

/// A period string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// The text is not a month, quarter or year in any accepted form (holds the text).
    #[error("not a period: `{0}` (expected YYYY-MM, YYYY-Qn or YYYY)")]
    Invalid(String),
}

impl Month {
    /// The month `year-month`; an error unless `month` is 1..=12 and `year` 1900..=2999.
    pub fn new(year: i32, month: u32) -> Result<Self, PeriodError> {
        if (1..=12).contains(&month) && (1900..=2999).contains(&year) {
            Ok(Self { year, month })
        } else {
            Err(PeriodError::Invalid(format!("{year}-{month}")))
        }
    }
    /// Months since year 0, for arithmetic.
    pub fn index(self) -> i64 {
        self.year as i64 * 12 + (self.month as i64 - 1)
    }
    /// The month at [`Month::index`] `i` (the inverse of `index`).
    pub fn from_index(i: i64) -> Self {
        Self { year: i.div_euclid(12) as i32, month: (i.rem_euclid(12) + 1) as u32 }
    }
    /// `self` shifted by `n` months (negative = earlier).
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, n: i64) -> Self {
        Self::from_index(self.index() + n)
    }
    /// The month before (上月).
    pub fn prev(self) -> Self {
        self.add(-1)
    }
    /// The same month one year earlier (同期).
    pub fn same_month_last_year(self) -> Self {
        self.add(-12)
    }
    /// The quarter (1..=4) the month falls in.
    pub fn quarter(self) -> u32 {
        (self.month - 1) / 3 + 1
    }
    /// First day of the month.
    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }
    /// Last day of the month.
    pub fn last_day(self) -> chrono::NaiveDate {
        self.add(1).first_day().pred_opt().unwrap_or_default()
    }
    /// The month `d` falls in.
    pub fn of_date(d: chrono::NaiveDate) -> Self {
        use chrono::Datelike;
        Self { year: d.year(), month: d.month() }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = PeriodError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<Period>()? {
            Period::Month(m) => Ok(m),
            _ => Err(PeriodError::Invalid(s.to_string())),
        }
    }
}

impl serde::Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A reporting period (报告期): month, quarter or year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// One month, e.g. `2026-09`.
    Month(Month),
    /// A quarter, e.g. `2026-Q3`.
    Quarter {
        /// Calendar year.
        year: i32,
        /// Quarter of the year, 1..=4.
        quarter: u32,
    },
    /// A whole year, e.g. `2026`.
    Year(i32),
}

impl Period {
    /// The months the period covers, in order.
    pub fn months(&self) -> Vec<Month> {
        match *self {
            Period::Month(m) => vec![m],
            Period::Quarter { year, quarter } => {
                (0..3).map(|i| Month { year, month: (quarter - 1) * 3 + 1 + i }).collect()
            }
            Period::Year(year) => (1..=12).map(|month| Month { year, month }).collect(),
        }
    }
    /// The first month the period covers.
    pub fn first_month(&self) -> Month {
        self.months()[0]
    }
    /// The last month the period covers.
    pub fn last_month(&self) -> Month {
        *self.months().last().unwrap_or(&Month { year: 1900, month: 1 })
    }
    /// The calendar year of the period.
    pub fn year(&self) -> i32 {
        match *self {
            Period::Month(m) => m.year,
            Period::Quarter { year, .. } | Period::Year(year) => year,
        }
    }
    /// The same period one year earlier (同期).
    pub fn last_year(&self) -> Period {
        match *self {
            Period::Month(m) => Period::Month(m.add(-12)),
            Period::Quarter { year, quarter } => Period::Quarter { year: year - 1, quarter },
            Period::Year(y) => Period::Year(y - 1),
        }
    }
    /// The period immediately before (上期): previous month, quarter or year.
    pub fn previous(&self) -> Period {
        match *self {
            Period::Month(m) => Period::Month(m.prev()),
            Period::Quarter { year, quarter } => {
                if quarter == 1 {
                    Period::Quarter { year: year - 1, quarter: 4 }
                } else {
                    Period::Quarter { year, quarter: quarter - 1 }
                }
            }
            Period::Year(y) => Period::Year(y - 1),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(m) => write!(f, "{m}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::Year(y) => write!(f, "{y:04}"),
        }
    }
}

impl FromStr for Period {
    type Err = PeriodError;
    /// Accepts `2026-09`, `2026-9`, `2026/09`, `202609`, `2026-Q3`, `2026Q3`, `2026`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = crate::text::to_halfwidth(s.trim()).to_ascii_uppercase();
        let bad = || PeriodError::Invalid(s.to_string());
        if let Some((y, q)) = t.split_once('Q') {
            let y = y.trim_end_matches(['-', '/', ' ']);
            let year: i32 = y.parse().map_err(|_| bad())?;
            let quarter: u32 = q.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&quarter) || !(1900..=2999).contains(&year) {
                return Err(bad());
            }
            return Ok(Period::Quarter { year, quarter });
        }
        if let Some((y, m)) = t.split_once(['-', '/', '.']) {
            let year: i32 = y.parse().map_err(|_| bad())?;
            let month: u32 = m.parse().map_err(|_| bad())?;
            return Month::new(year, month).map(Period::Month).map_err(|_| bad());
        }
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            let year: i32 = t[..4].parse().map_err(|_| bad())?;
            let month: u32 = t[4..].parse().map_err(|_| bad())?;
            return Month::new(year, month).map(Period::Month).map_err(|_| bad());
        }
        if t.len() == 4 {
            let year: i32 = t.parse().map_err(|_| bad())?;
            if (1900..=2999).contains(&year) {
                return Ok(Period::Year(year));
            }
        }
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        let m = Month { year: 2026, month: 9 };
        for s in ["2026-09", "2026-9", "2026/09", "202609", " 2026-09 "] {
            assert_eq!(s.parse::<Period>().unwrap(), Period::Month(m), "{s}");
        }
        assert_eq!("2026-Q3".parse::<Period>().unwrap(), Period::Quarter { year: 2026, quarter: 3 });
        assert_eq!("2026q4".parse::<Period>().unwrap(), Period::Quarter { year: 2026, quarter: 4 });
        assert_eq!("2026".parse::<Period>().unwrap(), Period::Year(2026));
        assert!("2026-13".parse::<Period>().is_err());
        assert!("2026-Q5".parse::<Period>().is_err());
        assert!("abc".parse::<Period>().is_err());
    }

    #[test]
    fn month_arithmetic_crosses_years() {
        let jan = Month { year: 2026, month: 1 };
        assert_eq!(jan.prev(), Month { year: 2025, month: 12 });
        assert_eq!(jan.add(-12), Month { year: 2025, month: 1 });
        assert_eq!(Month { year: 2025, month: 12 }.add(1), jan);
        assert_eq!(Month { year: 2026, month: 2 }.last_day().to_string(), "2026-02-28");
    }

    #[test]
    fn quarter_months_and_previous() {
        let q = Period::Quarter { year: 2026, quarter: 1 };
        assert_eq!(q.months().iter().map(|m| m.to_string()).collect::<Vec<_>>(), ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(q.previous(), Period::Quarter { year: 2025, quarter: 4 });
        assert_eq!(q.last_year(), Period::Quarter { year: 2025, quarter: 1 });
    }
}
