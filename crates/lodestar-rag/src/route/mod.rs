//! Question understanding (问题理解): which metric, which scope, which period, and whether the
//! knowledge bases are needed.
//!
//! Names are found by scanning the question for every dictionary alias (countries, regions,
//! categories, customers, staff; specs by pattern), longest match first, so `巨型工程胎` wins over
//! `工程胎` and `Altai Trans` over `Altai`. A fragment that starts several customers' names
//! (`Altai`, `阿尔泰`) makes the question ambiguous: the answer asks which one is meant.
//!
//! [`Router::route`] runs the stages, one submodule each: `scope` (places, specs and the filters
//! names become), `intent` (what is asked, and whether the engine has that measure), `period`
//! (months, quarters, ranges) and `words` (content units and stretches for the evidence gate).
//! Every cue word comes from `dictionaries/route_cues.csv`, `metric_subjects.csv` and
//! `period_words.csv`.
//!
//! ```
//! use lodestar_rag::route::{Router, Intent};
//! let d = lodestar_dict::Dictionaries::builtin().unwrap();
//! let r = Router::new(&d).route("俄罗斯 9 月全钢达成率多少？", lodestar_core::Month { year: 2026, month: 10 });
//! assert!(r.intents.contains(&Intent::Achievement));
//! assert_eq!(r.period.unwrap().period.to_string(), "2026-09");
//! ```

use crate::source::{AlertKind, Dim, Filter, Measure, MetricRequest, SortKey};
use chrono::NaiveDate;
pub(crate) use lodestar_core::text::is_cjk;
use lodestar_core::text::{cn_number, norm_key, to_halfwidth, CueSet};
use lodestar_core::{Month, Period};
use lodestar_dict::vocab::{Cues, Vocabulary};
use lodestar_dict::{Dictionaries, NameKind};
use regex::Regex;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{LazyLock, OnceLock};

mod intent;
mod period;
mod scope;
mod words;

use intent::*;
pub(crate) use period::cn_numeral_months;
use period::*;
pub use period::{parse_period, parse_period_in};
pub(crate) use scope::FOREIGN_COUNTRIES;
use scope::*;
pub(crate) use words::content_units;
use words::*;
pub use words::{content_segments, overdue_threshold};

/// What the question asks (意图).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// 实际销量 / 销售额
    Actual,
    /// 达成率 / 完成率
    Achievement,
    /// 同比
    Yoy,
    /// 环比
    Mom,
    /// 年累计
    Ytd,
    /// 年度同比 / 累计同比
    YtdYoy,
    /// 缺口 / 差距
    Gap,
    /// 年度目标完成进度 / 剩余缺口
    AnnualProgress,
    /// 排名 / 前 N / 最好 / 最差
    Ranking,
    /// 贡献 / 占比
    Contribution,
    /// 集中度 / CR10
    Concentration,
    /// 逾期 / 账龄
    Overdue,
    /// 货好待款 / 待发货
    ShipmentAtRisk,
    /// 信用异常 / 超额度
    CreditAnomaly,
    /// 开发停滞
    Stalled,
}

impl Intent {
    /// True for the risk-alert intents (逾期, 货好待款, 信用异常, 开发停滞), which the alert rules answer.
    pub fn is_alert(self) -> bool {
        matches!(self, Intent::Overdue | Intent::ShipmentAtRisk | Intent::CreditAnomaly | Intent::Stalled)
    }
}

/// The period a question means (期间).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeriodSpec {
    /// The month, quarter or year (serialized as `2026-09`, `2026-Q3`, `2026`).
    #[serde(serialize_with = "ser_display")]
    pub period: Period,
    /// Year to date through `period`'s last month (年累计).
    pub ytd: bool,
    /// The question named the period (else the reference month was assumed).
    pub explicit: bool,
}

fn ser_display<S: serde::Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl PeriodSpec {
    /// `2026年9月`, `2026年1–9月`, `2026年第3季度`, `2026年`.
    pub fn label(&self) -> String {
        match (self.period, self.ytd) {
            (p, true) => {
                let m = p.last_month();
                if m.month == 1 {
                    format!("{}年1月", m.year)
                } else {
                    format!("{}年1–{}月", m.year, m.month)
                }
            }
            (Period::Month(m), false) => format!("{}年{}月", m.year, m.month),
            (Period::Quarter { year, quarter }, false) => format!("{year}年第{quarter}季度"),
            (Period::Year(y), false) => format!("{y}年"),
        }
    }
}

/// How the question will be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// Rule engine only.
    Metric,
    /// Retrieval (+ model) only.
    Knowledge,
    /// Both.
    Mixed,
    /// A name matched several customers: ask which one.
    Ambiguous,
}

/// A candidate when a name is ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// Customer id (`C001`).
    pub id: String,
    /// The customer's Chinese name.
    pub name_zh: String,
    /// The customer's English name.
    pub name_en: String,
    /// The customer's country, by its Chinese name.
    pub country: String,
}

/// The parsed question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// How the question is answered: rule engine, retrieval, both, or a question back.
    pub kind: RouteKind,
    /// What is asked (达成率, 同比, 排名, 逾期 …), in a fixed order; empty for a knowledge question.
    pub intents: Vec<Intent>,
    /// Scope filters from the names in the question (country, customer, category, spec, owner …).
    pub filters: Vec<Filter>,
    /// Dimensions to break the figures down by (`各国家`, `哪个客户`), in column order.
    pub by: Vec<Dim>,
    /// Amount (default) or quantity (`销量`, `多少条`).
    pub measure: Measure,
    /// A measure the imported tables do not hold (`毛利率`, `profit`, `库存`): said so, not answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported_measure: Option<String>,
    /// Both the amount and the quantity are asked (`销售额和销量`): `measure` is the quantity and
    /// the amount is asked as well.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub both_measures: bool,
    /// The period asked about; `None` = the reference month is meant.
    pub period: Option<PeriodSpec>,
    /// `前 N` / `top N`: how many rows of a ranking to keep.
    pub top: Option<usize>,
    /// 最差 / 最低 / 倒数.
    pub ascending: bool,
    /// The fragment that matched several customers, and who they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambiguous: Option<(String, Vec<Candidate>)>,
    /// Spec-like codes in the question, normalized (known to the dictionary or not).
    pub specs: Vec<String>,
    /// The question touches price, payment terms, credit or shipping commitments.
    pub decision_topic: bool,
    /// The question asked for an answer in English.
    pub english: bool,
    /// `逾期超过 90 天` / `90 天以上`: keep overdue items with at least this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_overdue_days: Option<i64>,
    /// `最近三个月` / `last 3 months` / `今年每个月`: one figure per month, ending with the
    /// period's last month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each_month: Option<u32>,
    /// Area words no dictionary knows (`中亚` in `中亚区域销售额`): a figure for them would be
    /// the whole region's, so the question is sent back instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_scopes: Vec<String>,
    /// The question asked for this quarter (year, quarter), which the data covers only up to
    /// the reference month: its months so far are answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarter_so_far: Option<(i32, u32)>,
}

impl Route {
    /// The rule engine is asked (a metric or mixed question).
    pub fn needs_metrics(&self) -> bool {
        matches!(self.kind, RouteKind::Metric | RouteKind::Mixed)
    }
    /// The knowledge bases are searched (a knowledge or mixed question).
    pub fn needs_knowledge(&self) -> bool {
        matches!(self.kind, RouteKind::Knowledge | RouteKind::Mixed)
    }
    /// The filter on `dim`, if the question names one.
    pub fn filter(&self, dim: Dim) -> Option<&Filter> {
        self.filters.iter().find(|f| f.dim == dim)
    }

    /// The rule-engine requests this route needs (`as_of` for alerts; the reference month's last
    /// day when the caller has none).
    pub fn requests(&self, reference: Month, as_of: Option<NaiveDate>) -> Vec<MetricRequest> {
        let mut out = Vec::new();
        if !self.needs_metrics() {
            return out;
        }
        let as_of = as_of.unwrap_or_else(|| reference.last_day());
        let alert_filters: Vec<Filter> = self
            .filters
            .iter()
            .filter(|f| matches!(f.dim, Dim::Customer | Dim::Country | Dim::Region | Dim::Owner))
            .cloned()
            .collect();
        for (intent, kind) in [
            (Intent::Overdue, AlertKind::Overdue),
            (Intent::ShipmentAtRisk, AlertKind::ShipmentAtRisk),
            (Intent::CreditAnomaly, AlertKind::CreditAnomaly),
            (Intent::Stalled, AlertKind::StalledDevelopment),
        ] {
            if self.intents.contains(&intent) {
                out.push(MetricRequest::Alerts { kind, as_of, filters: alert_filters.clone() });
            }
        }
        let period =
            self.period.unwrap_or(PeriodSpec { period: Period::Month(reference), ytd: false, explicit: false });
        if self.intents.contains(&Intent::Concentration) {
            out.push(MetricRequest::Concentration {
                month: period.period.last_month(),
                filters: self.filters.iter().filter(|f| f.dim != Dim::Customer).cloned().collect(),
                measure: self.measure,
            });
        }
        let sales = self.intents.iter().any(|i| {
            matches!(
                i,
                Intent::Actual
                    | Intent::Achievement
                    | Intent::Yoy
                    | Intent::Mom
                    | Intent::Ytd
                    | Intent::YtdYoy
                    | Intent::Gap
                    | Intent::AnnualProgress
                    | Intent::Ranking
                    | Intent::Contribution
            )
        });
        if sales {
            let mut filters = self.filters.clone();
            let mut by = self.by.clone();
            if self.intents.contains(&Intent::Contribution) {
                // 贡献 of a customer is its share of the customer's country (or of the named scope):
                // ask for all customers of that scope and read the customer's row.
                if let Some(pos) = filters.iter().position(|f| f.dim == Dim::Customer) {
                    filters.remove(pos);
                    if !by.contains(&Dim::Customer) {
                        by.push(Dim::Customer);
                    }
                }
            }
            let sort = if self.intents.contains(&Intent::Ranking) {
                Some(if self.intents.contains(&Intent::Achievement) {
                    SortKey::Achievement
                } else if self.intents.contains(&Intent::Gap) {
                    SortKey::Gap
                } else if self.intents.contains(&Intent::Yoy) {
                    SortKey::Yoy
                } else {
                    SortKey::Actual
                })
            } else {
                None
            };
            let ytd = period.ytd
                || self.intents.iter().any(|i| matches!(i, Intent::Ytd | Intent::YtdYoy | Intent::AnnualProgress));
            if let (Some(n), None, false) = (self.each_month, sort, ytd) {
                let last = period.period.last_month();
                for back in (0..n).rev() {
                    out.push(MetricRequest::Sales {
                        period: Period::Month(last.add(-(back as i64))),
                        ytd: false,
                        by: by.clone(),
                        filters: filters.clone(),
                        measure: self.measure,
                        sort: None,
                        ascending: false,
                        top: None,
                    });
                }
                return out;
            }
            if self.both_measures {
                out.push(MetricRequest::Sales {
                    period: period.period,
                    ytd,
                    by: by.clone(),
                    filters: filters.clone(),
                    measure: Measure::Amount,
                    sort,
                    ascending: self.ascending,
                    top: self.top,
                });
            }
            out.push(MetricRequest::Sales {
                period: period.period,
                ytd,
                by,
                filters,
                measure: self.measure,
                sort,
                ascending: self.ascending,
                top: self.top,
            });
        }
        out
    }
}

/// A dictionary alias to look for in questions.
#[derive(Debug, Clone)]
struct AliasEntry {
    key: String,
    dim: Dim,
    code: String,
}

/// Routes questions with the dictionaries' alias tables (built once, reused per question).
pub struct Router<'d> {
    dicts: &'d Dictionaries,
    aliases: Vec<AliasEntry>,
    /// Fragments that begin two or more customers' names (`altai`, `阿尔泰`) → customer ids.
    partials: Vec<(String, Vec<String>)>,
    /// Fragments (3+ Han characters) that begin exactly one customer's name → its id.
    unique_starts: Vec<(String, String)>,
    /// The metric-subject vocabulary (`dictionaries/metric_subjects.csv` with the home's overlay).
    subjects: Subjects,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Whether `key` stands at `chars[i..]` on characters no earlier name took, as a whole word: a
/// Latin or digit key does not continue a Latin or digit word on either side (`Altai` is not in
/// `Altaiskiy`; CJK has no word boundaries to check).
fn free_word_at(chars: &[char], taken: &[bool], key: &[char], i: usize) -> bool {
    let end = i + key.len();
    if key.is_empty() || end > chars.len() || chars[i..end] != key[..] || taken[i..end].iter().any(|t| *t) {
        return false;
    }
    let before_ok = i == 0 || !(is_word_char(chars[i - 1]) && is_word_char(key[0]));
    let after_ok = end == chars.len() || !(is_word_char(chars[end]) && is_word_char(key[key.len() - 1]));
    before_ok && after_ok
}

impl<'d> Router<'d> {
    /// The dictionaries the router reads.
    pub fn dicts(&self) -> &'d Dictionaries {
        self.dicts
    }

    /// Builds the alias tables from the dictionaries (do it once and reuse the router).
    pub fn new(dicts: &'d Dictionaries) -> Self {
        let mut aliases = Vec::new();
        for (kind, dim) in [
            (NameKind::Region, Dim::Region),
            (NameKind::Country, Dim::Country),
            (NameKind::Category, Dim::Category),
            (NameKind::Customer, Dim::Customer),
            (NameKind::Staff, Dim::Owner),
        ] {
            for (key, code) in dicts.alias_keys(kind) {
                let n = key.chars().count();
                // One-letter keys (`哈`, `俄`) only for countries; one-letter Latin keys never.
                if n == 0 || (n == 1 && (dim != Dim::Country || !key.chars().all(is_cjk))) {
                    continue;
                }
                // Two-letter Latin abbreviations (`RF`) are too easily part of other text.
                if n <= 2 && key.chars().all(|c| c.is_ascii_alphabetic()) && dim != Dim::Category {
                    continue;
                }
                aliases.push(AliasEntry { key, dim, code });
            }
        }
        aliases.sort_by(|a, b| b.key.chars().count().cmp(&a.key.chars().count()).then(a.key.cmp(&b.key)));

        let mut partial_map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for c in &dicts.customers {
            for name in c.all_names() {
                let k = norm_key(name);
                if k.chars().all(is_cjk) {
                    let chars: Vec<char> = k.chars().collect();
                    for len in 3..chars.len() {
                        partial_map.entry(chars[..len].iter().collect()).or_default().insert(c.id.clone());
                    }
                } else if let Some(first) = k.split_whitespace().next() {
                    if first.chars().count() >= 4 && k.contains(' ') {
                        partial_map.entry(first.to_string()).or_default().insert(c.id.clone());
                    }
                }
            }
        }
        // `杜尚别那个客户`: the start of one customer's Chinese name, pointed at as a customer
        let mut unique_starts: Vec<(String, String)> = partial_map
            .iter()
            .filter(|(k, ids)| ids.len() == 1 && k.chars().all(is_cjk))
            .filter_map(|(k, ids)| ids.iter().next().map(|id| (k.clone(), id.clone())))
            .collect();
        unique_starts.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.0.cmp(&b.0)));
        let mut partials: Vec<(String, Vec<String>)> = partial_map
            .into_iter()
            .filter(|(_, ids)| ids.len() >= 2)
            .map(|(k, ids)| (k, ids.into_iter().collect()))
            .collect();
        partials.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.0.cmp(&b.0)));
        Self { dicts, aliases, partials, unique_starts, subjects: Subjects::new(dicts) }
    }

    /// Parses `question`; relative periods are taken against `reference` (the data's latest month,
    /// or the `--as-of` month).
    pub fn route(&self, question: &str, reference: Month) -> Route {
        let text = norm_key(question);
        let chars: Vec<char> = text.chars().collect();
        let mut taken = vec![false; chars.len()];

        // Specs first (they contain digits and slashes that other scanners must not see).
        let mut specs = Vec::new();
        let mut unknown_specs: Vec<String> = Vec::new();
        let mut filters: Vec<Filter> = Vec::new();
        for (start, end, spec) in find_specs(&chars) {
            for t in taken.iter_mut().take(end).skip(start) {
                *t = true;
            }
            if let Some(s) = self.dicts.resolve_spec(&spec) {
                push_filter(&mut filters, Filter { dim: Dim::Spec, code: s.spec.clone(), name: s.spec.clone() });
            } else if !unknown_specs.contains(&spec) {
                // not in the catalogue: its figure would silently be the whole region's
                unknown_specs.push(spec.clone());
            }
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }

        // Dictionary aliases, longest first, non-overlapping.
        let mut customer_hits: Vec<(String, Vec<String>)> = Vec::new();
        for a in &self.aliases {
            let key: Vec<char> = a.key.chars().collect();
            let mut i = 0;
            while i + key.len() <= chars.len() {
                if free_word_at(&chars, &taken, &key, i) {
                    for t in taken.iter_mut().skip(i).take(key.len()) {
                        *t = true;
                    }
                    if a.dim == Dim::Customer {
                        // An alias shared by several customers is ambiguous.
                        let ids: Vec<String> =
                            self.dicts.customer_candidates(&a.key).iter().map(|c| c.id.clone()).collect();
                        customer_hits.push((a.key.clone(), if ids.is_empty() { vec![a.code.clone()] } else { ids }));
                    } else {
                        let name = self.display_name(a.dim, &a.code);
                        push_filter(&mut filters, Filter { dim: a.dim, code: a.code.clone(), name });
                    }
                    i += key.len();
                    continue;
                }
                i += 1;
            }
        }

        let mut ambiguous = None;
        for (key, ids) in customer_hits {
            if ids.len() == 1 {
                let name = self.display_name(Dim::Customer, &ids[0]);
                push_filter(&mut filters, Filter { dim: Dim::Customer, code: ids[0].clone(), name });
            } else if ambiguous.is_none() {
                ambiguous = Some((key, ids));
            }
        }
        if ambiguous.is_none() && !filters.iter().any(|f| f.dim == Dim::Customer) {
            'outer: for (frag, ids) in &self.partials {
                let key: Vec<char> = frag.chars().collect();
                let mut i = 0;
                while i + key.len() <= chars.len() {
                    if free_word_at(&chars, &taken, &key, i) {
                        ambiguous = Some((frag.clone(), ids.clone()));
                        break 'outer;
                    }
                    i += 1;
                }
            }
        }
        if ambiguous.is_none() && !filters.iter().any(|f| f.dim == Dim::Customer) {
            let pointers = self.cues().get("pointer");
            'starts: for (frag, id) in &self.unique_starts {
                let key: Vec<char> = frag.chars().collect();
                for i in 0..(chars.len() + 1).saturating_sub(key.len()) {
                    let end = i + key.len();
                    if chars[i..end] != key[..] || taken[i..end].iter().any(|t| *t) {
                        continue;
                    }
                    let rest: String = chars[end..].iter().take(3).collect();
                    if pointers.prefix_of(&rest).is_some() {
                        for t in taken.iter_mut().take(end).skip(i) {
                            *t = true;
                        }
                        let name = self.display_name(Dim::Customer, id);
                        push_filter(&mut filters, Filter { dim: Dim::Customer, code: id.clone(), name });
                        break 'starts;
                    }
                }
            }
        }
        // A customer names its country implicitly; drop a country filter that merely repeats it.
        let ambiguous = ambiguous.map(|(frag, ids)| {
            let cands = ids
                .iter()
                .filter_map(|id| self.dicts.customer_by_id(id))
                .map(|c| Candidate {
                    id: c.id.clone(),
                    name_zh: c.name_zh.clone(),
                    name_en: c.name_en.clone(),
                    country: self.display_name(Dim::Country, &c.country),
                })
                .collect::<Vec<_>>();
            (frag, cands)
        });

        let masked: String = chars.iter().zip(&taken).map(|(c, t)| if *t { ' ' } else { *c }).collect();
        let c = self.cues();
        let v = &self.dicts.vocab;
        let period = parse_period_in(v, &masked, reference);
        let mut intents = detect_intents(c, &without_first_quarters(&masked));
        let strong_sales = self.subjects.strong.iter().any(|w| masked.contains(w.as_str()));
        metric_subject_ok(
            &self.subjects,
            &masked,
            &mut intents,
            strong_sales,
            !filters.is_empty() || period.is_some(),
            !filters.is_empty(),
        );
        // `俄区上月咋样` / `How did Russia do last month?`: a named scope or period asked how it
        // went is its sales, achievement and year-on-year change
        let overview = c.get("overview").any_in(&masked);
        if intents.is_empty() && overview && (period.is_some() || !filters.is_empty()) {
            intents.extend([Intent::Actual, Intent::Achievement, Intent::Yoy]);
        }
        // `毛利率是多少`: a figure no imported table holds
        let asks_figure = c.get("asks_figure").any_in(&masked);
        let unsupported_measure =
            if asks_figure { c.get("unsupported_measure").first_listed_in(&masked).map(str::to_string) } else { None };
        let measure = if c.get("quantity_measure").any_in(&masked) { Measure::Quantity } else { Measure::Amount };
        let both_measures = measure == Measure::Quantity && c.get("amount_measure").any_in(&masked);
        let top = parse_top(&masked);
        // `三季度比二季度` / `9月比8月`: the period against the one before it is 环比
        if previous_period_named(c, &cn_numeral_months(&masked)) {
            intents.insert(Intent::Mom);
        }
        if intents.iter().any(|i| i.is_alert()) {
            // "哪些客户逾期" lists the alert rows; it is not a sales ranking
            intents.remove(&Intent::Ranking);
        } else if top.is_some() && !intents.is_empty() {
            intents.insert(Intent::Ranking);
        }
        let ascending = c.get("ascending").any_in(&masked) || bottom_places().is_match(&masked);
        let by = self.detect_by(&masked, &intents, &filters, top.is_some());
        let knowledge = is_knowledge_question(c, &masked, &intents);
        let decision_topic = c.get("decision_topic").any_in(&masked);
        let english = !chars.iter().any(|c| is_cjk(*c)) || c.get("english_request").any_in(&masked);

        // `how much` / `how many` ask for figures
        let how = c.get("how").any_in(&c.get("how_figure").replace_all(&masked, " "));
        if how && period.is_none() && filters.is_empty() {
            intents.clear();
        }
        let metric = !intents.is_empty();
        let kind = if ambiguous.is_some() {
            RouteKind::Ambiguous
        } else if metric && knowledge {
            RouteKind::Mixed
        } else if metric {
            RouteKind::Metric
        } else {
            RouteKind::Knowledge
        };
        let mut intents: Vec<Intent> = intents.into_iter().collect();
        intents.sort();
        let min_overdue_days = overdue_threshold_in(c, question);
        let mut each_month = each_month(&v.periods, &masked, period.as_ref(), reference);
        // the months are listed one by one, not summed from January
        let mut period = match (each_month, period) {
            (Some(_), Some(p)) => Some(PeriodSpec { ytd: false, ..p }),
            (_, p) => p,
        };
        // The quarter of the latest data, not yet complete (`四季度销售额` with data up to
        // October): its months so far, rather than an error for months not imported yet.
        let mut quarter_so_far = None;
        if let (None, Some(PeriodSpec { period: Period::Quarter { year, quarter }, .. })) = (each_month, &period) {
            let first = (*quarter - 1) * 3 + 1;
            if *year == reference.year && (first..first + 2).contains(&reference.month) {
                quarter_so_far = Some((*year, *quarter));
                let n = reference.month - first + 1;
                if n > 1 {
                    each_month = Some(n);
                }
                period = Some(PeriodSpec { period: Period::Month(reference), ytd: false, explicit: true });
            }
        }
        let mut unknown_scopes = unknown_scopes(c, &chars, &taken);
        unknown_scopes.extend(unknown_specs);
        Route {
            kind,
            intents,
            filters,
            by,
            measure,
            unsupported_measure,
            both_measures,
            period,
            top,
            ascending,
            ambiguous,
            specs,
            decision_topic,
            english,
            min_overdue_days,
            each_month,
            unknown_scopes,
            quarter_so_far,
        }
    }

    fn display_name(&self, dim: Dim, code: &str) -> String {
        let d = self.dicts;
        match dim {
            Dim::Region => d.regions.iter().find(|r| r.code == code).map(|r| r.name_zh.clone()),
            Dim::Country => d.country_by_code(code).map(|c| c.name_zh.clone()),
            Dim::Category => d.category_by_code(code).map(|c| c.name_zh.clone()),
            Dim::Customer => d.customer_by_id(code).map(|c| c.display().to_string()),
            Dim::Owner => d.staff_by_id(code).map(|s| s.name.clone()),
            Dim::Spec => None,
        }
        .unwrap_or_else(|| code.to_string())
    }

    fn detect_by(&self, t: &str, intents: &BTreeSet<Intent>, filters: &[Filter], has_top: bool) -> Vec<Dim> {
        let c = self.cues();
        // `那个客户` / `这家客户` points at one customer; it asks for no per-customer table
        let pointed = c.get("pointed_customer").replace_all(t, " ");
        let t = pointed.as_str();
        let mut by = Vec::new();
        let groups: [(Dim, &str); 6] = [
            (Dim::Region, "by_region"),
            (Dim::Country, "by_country"),
            (Dim::Category, "by_category"),
            (Dim::Spec, "by_spec"),
            (Dim::Customer, "by_customer"),
            (Dim::Owner, "by_owner"),
        ];
        for (dim, kind) in groups {
            if c.get(kind).any_in(t) {
                by.push(dim);
            }
        }
        if by.is_empty() && (intents.contains(&Intent::Ranking) || has_top) {
            // "前 5 名" without a dimension word: the dimension named in the question (`前五的规格`,
            // `top 5 specs`), else customers within a country, else countries.
            let spec_named = filters.iter().any(|f| f.dim == Dim::Spec);
            let cat_named = filters.iter().any(|f| f.dim == Dim::Category);
            if !spec_named && c.get("rank_spec").any_in(t) {
                by.push(Dim::Spec);
            } else if !cat_named && c.get("rank_category").any_in(t) {
                by.push(Dim::Category);
            } else if c.get("rank_owner").any_in(t) {
                by.push(Dim::Owner);
            } else if c.get("rank_customer").any_in(t) || filters.iter().any(|f| f.dim == Dim::Country) {
                by.push(Dim::Customer);
            } else if filters.iter().any(|f| f.dim == Dim::Customer) {
                // ranking of one customer among its peers
                by.push(Dim::Customer);
            } else {
                by.push(Dim::Country);
            }
        }
        by
    }

    /// The routing cues (`dictionaries/route_cues.csv` with the home's overlay).
    fn cues(&self) -> &'d Cues {
        &self.dicts.vocab.route
    }
}

/// The vocabulary of [`metric_subject_ok`] (`dictionaries/metric_subjects.csv`).
#[derive(Debug, Clone)]
struct Subjects {
    strong: Vec<String>,
    weak_verb: Vec<String>,
    count: Vec<String>,
    count_particle: Vec<String>,
    count_subject: Vec<String>,
    count_object: Vec<String>,
    quantity: Vec<String>,
    rank_dimension: Vec<String>,
    rule_cue: Vec<String>,
    anchor: Vec<String>,
    foreign_prefix: Vec<String>,
    /// `route_cues.csv`: measure words after a foreign prefix, existence questions, final particles.
    foreign_measure: CueSet,
    existence: CueSet,
    sentence_particle: CueSet,
}

impl Subjects {
    fn new(d: &Dictionaries) -> Self {
        let w = |k: &str| d.vocab.metric_subjects.words(k);
        let mut count_particle = w("count_particle");
        // longest particles first: `一共` before `共`
        count_particle.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        Subjects {
            strong: w("strong"),
            weak_verb: w("weak_verb"),
            count: w("count"),
            count_particle,
            count_subject: w("count_subject"),
            count_object: w("count_object"),
            quantity: w("quantity"),
            rank_dimension: w("rank_dimension"),
            rule_cue: w("rule_cue"),
            anchor: w("anchor"),
            foreign_prefix: w("foreign_prefix"),
            foreign_measure: d.vocab.route.get("foreign_measure").clone(),
            existence: d.vocab.route.get("existence").clone(),
            sentence_particle: d.vocab.route.get("sentence_particle").clone(),
        }
    }
}
