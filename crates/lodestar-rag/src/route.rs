//! Question understanding (问题理解): which metric, which scope, which period, and whether the
//! knowledge bases are needed.
//!
//! Names are found by scanning the question for every dictionary alias (countries, regions,
//! categories, customers, staff; specs by pattern), longest match first, so `巨型工程胎` wins over
//! `工程胎` and `Altai Trans` over `Altai`. A fragment that starts several customers' names
//! (`Altai`, `阿尔泰`) makes the question ambiguous: the answer asks which one is meant.
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
    pub fn is_alert(self) -> bool {
        matches!(self, Intent::Overdue | Intent::ShipmentAtRisk | Intent::CreditAnomaly | Intent::Stalled)
    }
}

/// The period a question means (期间).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeriodSpec {
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
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub country: String,
}

/// The parsed question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub kind: RouteKind,
    pub intents: Vec<Intent>,
    pub filters: Vec<Filter>,
    pub by: Vec<Dim>,
    pub measure: Measure,
    /// A measure the imported tables do not hold (`毛利率`, `profit`, `库存`): said so, not answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported_measure: Option<String>,
    /// Both the amount and the quantity are asked (`销售额和销量`): `measure` is the quantity and
    /// the amount is asked as well.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub both_measures: bool,
    pub period: Option<PeriodSpec>,
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
    pub fn needs_metrics(&self) -> bool {
        matches!(self.kind, RouteKind::Metric | RouteKind::Mixed)
    }
    pub fn needs_knowledge(&self) -> bool {
        matches!(self.kind, RouteKind::Knowledge | RouteKind::Mixed)
    }
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

impl<'d> Router<'d> {
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
                if chars[i..i + key.len()] == key[..] && taken[i..i + key.len()].iter().all(|t| !t) {
                    let before_ok = i == 0 || !(is_word_char(chars[i - 1]) && is_word_char(key[0]));
                    let after_ok = i + key.len() == chars.len()
                        || !(is_word_char(chars[i + key.len()]) && is_word_char(key[key.len() - 1]));
                    if before_ok && after_ok {
                        for t in taken.iter_mut().skip(i).take(key.len()) {
                            *t = true;
                        }
                        if a.dim == Dim::Customer {
                            // An alias shared by several customers is ambiguous.
                            let ids: Vec<String> =
                                self.dicts.customer_candidates(&a.key).iter().map(|c| c.id.clone()).collect();
                            customer_hits
                                .push((a.key.clone(), if ids.is_empty() { vec![a.code.clone()] } else { ids }));
                        } else {
                            let name = self.display_name(a.dim, &a.code);
                            push_filter(&mut filters, Filter { dim: a.dim, code: a.code.clone(), name });
                        }
                        i += key.len();
                        continue;
                    }
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
                    if chars[i..i + key.len()] == key[..] && taken[i..i + key.len()].iter().all(|t| !t) {
                        let before_ok = i == 0 || !(is_word_char(chars[i - 1]) && is_word_char(key[0]));
                        let after_ok = i + key.len() == chars.len()
                            || !(is_word_char(chars[i + key.len()]) && is_word_char(key[key.len() - 1]));
                        if before_ok && after_ok {
                            ambiguous = Some((frag.clone(), ids.clone()));
                            break 'outer;
                        }
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

fn push_filter(filters: &mut Vec<Filter>, f: Filter) {
    if !filters.iter().any(|g| g.dim == f.dim && g.code == f.code) {
        filters.push(f);
    }
}

/// `后五名` / `后 3 位`: the last places of a ranking.
fn bottom_places() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"后\s*(?:\d{1,2}|[一二三四五六七八九十])\s*(?:名|位)").unwrap_or_else(|_| unreachable!())
    })
}

fn detect_intents(c: &Cues, t: &str) -> BTreeSet<Intent> {
    let mut s = BTreeSet::new();
    let rules: [(Intent, &str); 15] = [
        (Intent::YtdYoy, "intent_ytd_yoy"),
        (Intent::AnnualProgress, "intent_annual_progress"),
        (Intent::Achievement, "intent_achievement"),
        (Intent::Yoy, "intent_yoy"),
        (Intent::Mom, "intent_mom"),
        (Intent::Ytd, "intent_ytd"),
        (Intent::Gap, "intent_gap"),
        (Intent::Ranking, "intent_ranking"),
        (Intent::Contribution, "intent_contribution"),
        (Intent::Concentration, "intent_concentration"),
        (Intent::Overdue, "intent_overdue"),
        (Intent::ShipmentAtRisk, "intent_shipment_at_risk"),
        (Intent::CreditAnomaly, "intent_credit_anomaly"),
        (Intent::Stalled, "intent_stalled"),
        (Intent::Actual, "intent_actual"),
    ];
    for (intent, kind) in rules {
        if c.get(kind).any_in(t) {
            s.insert(intent);
        }
    }
    // `How much did Kazakhstan sell`, `tyres sold`: whole words only (`resell` is a policy word).
    static SELL: OnceLock<Regex> = OnceLock::new();
    let sell = SELL.get_or_init(|| {
        Regex::new(r"\b(?:sell|sells|sold|selling|bought|buy|buys|purchased)\b").unwrap_or_else(|_| unreachable!())
    });
    if sell.is_match(t) {
        s.insert(Intent::Actual);
    }
    // `韩国半钢Q3达成` / `完成年累计目标的百分之几`: achievement without the word 达成率
    let reached = c.get("achieved").any_in(t) && !c.get("achieved_not").any_in(t);
    let share_of_target = c.get("target_word").any_in(t) && c.get("share_of_target").any_in(t);
    if (reached || share_of_target) && !s.contains(&Intent::AnnualProgress) {
        s.insert(Intent::Achievement);
    }
    if s.contains(&Intent::YtdYoy) {
        s.remove(&Intent::Yoy);
        s.insert(Intent::Ytd);
    }
    if s.contains(&Intent::Concentration) {
        s.remove(&Intent::Ranking);
        s.remove(&Intent::Contribution);
    }
    // "剩余缺口" is annual progress, not the month's gap.
    let remaining = c.get("remaining_gap");
    if remaining.any_in(t) && !c.get("gap_word").any_in(&remaining.replace_all(t, "")) {
        s.remove(&Intent::Gap);
    }
    s
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

/// Whether a tyre count (`多少条`) at byte `i` of `t` counts tyres: the word before it (particles
/// skipped) sells, measures, or is a masked scope or a period, and no other noun follows it
/// (`有效线索有多少条`, `多少条有效线索`, `需求有多少条` count something else).
fn counts_tyres(s: &Subjects, t: &str, i: usize, len: usize) -> bool {
    let after = t[i + len..].trim_start();
    let next = after.chars().next();
    let other_noun_after = next.is_some_and(is_cjk)
        && !s.count_object.iter().any(|o| after.starts_with(o.as_str()))
        && s.sentence_particle.prefix_of(after).is_none();
    if other_noun_after {
        return false;
    }
    // walk back over particles; a masked scope (a country, customer, category or spec name is
    // blanked out of `t`) right before the count makes it a count of that scope's tyres
    let mut before = &t[..i];
    loop {
        let trimmed = before.trim_end();
        if trimmed.len() < before.len() || trimmed.is_empty() {
            return true;
        }
        before = trimmed;
        let Some(p) = s.count_particle.iter().find(|p| before.ends_with(p.as_str())) else { break };
        before = &before[..before.len() - p.len()];
    }
    before.chars().last().is_some_and(|c| c.is_ascii_digit())
        || s.count_subject.iter().any(|w| before.ends_with(w.as_str()))
}

/// A metric route needs a metric subject: removes the intents that only a weak cue gave — a
/// selling verb without a quantity word, a count of something other than tyres, a ranking word
/// without a ranking dimension, scope or period — so `展会收集到多少条线索` and `最高能跑多少公里每小时`
/// go to the knowledge bases instead of getting an exact figure for another question.
fn metric_subject_ok(
    s: &Subjects,
    t: &str,
    intents: &mut BTreeSet<Intent>,
    strong_sales: bool,
    scoped: bool,
    scoped_by_name: bool,
) {
    if intents.contains(&Intent::Actual) && !strong_sales {
        let quantity = s.quantity.iter().any(|q| t.contains(q.as_str()));
        let verb = s.weak_verb.iter().any(|w| t.contains(w.as_str())) && quantity;
        let mut count = false;
        for c in &s.count {
            for (i, _) in t.match_indices(c.as_str()) {
                count |= counts_tyres(s, t, i, c.len());
            }
        }
        let existence = s.existence.any_in(t);
        static PASSIVE: OnceLock<Regex> = OnceLock::new();
        let passive = PASSIVE.get_or_init(|| {
            Regex::new(r"\b(?:be|been|being|is|are)\s+(?:sold|bought|purchased)\b").unwrap_or_else(|_| unreachable!())
        });
        static SELL: OnceLock<Regex> = OnceLock::new();
        let sell = SELL.get_or_init(|| {
            Regex::new(r"\b(?:sell|sells|sold|selling|bought|buy|buys|purchased)\b").unwrap_or_else(|_| unreachable!())
        });
        let english = sell.is_match(t) && !passive.is_match(t);
        if !(verb || count || existence || english) {
            intents.remove(&Intent::Actual);
        }
    }
    // a rule or a threshold (`达成率低于多少就拿不到返利`), or a figure in a named document (`经营分析会上…`):
    // the documents answer, unless a scope is named (`俄罗斯…`)
    if !scoped_by_name
        && (s.rule_cue.iter().any(|w| t.contains(w.as_str())) || s.anchor.iter().any(|w| t.contains(w.as_str())))
    {
        intents.clear();
        return;
    }
    // a measure word about something else (`产能缺口`, `理赔金额`): without a sales measure, no metric;
    // nor when such a subject is the question's only one and no scope is named (`一张理赔单平均要多少
    // 天？公司的目标是多少？`: the second sentence's 目标 is the first one's subject's)
    let foreign = s.foreign_prefix.iter().any(|p| {
        s.foreign_measure.words().iter().any(|m| t.contains(&format!("{p}{m}")))
            || (!scoped_by_name && t.contains(p.as_str()))
    });
    if foreign && !strong_sales {
        intents.clear();
        return;
    }
    let only_ranking = intents.iter().all(|i| matches!(i, Intent::Ranking));
    if !intents.is_empty() && only_ranking && !scoped && !s.rank_dimension.iter().any(|w| t.contains(w.as_str())) {
        intents.clear();
    }
}

/// Words that ask for documents rather than numbers.
fn is_knowledge_question(c: &Cues, t: &str, intents: &BTreeSet<Intent>) -> bool {
    let t = &c.get("knowledge_not").replace_all(t, " ");
    if c.get("knowledge").any_in(t) {
        return true;
    }
    // English question words ask for knowledge only without a metric in the question: `What was
    // the October sales amount` is a metric question (as `销售额是多少` is), `How much` / `How
    // many` ask for figures.
    // `How did Korea do in August`, `how does it compare with last year` ask for figures too.
    let english_how =
        t.contains("how") && !c.get("english_how_figure").any_in(t) && (!t.contains("compare") || intents.is_empty());
    // No metric word at all: a knowledge question.
    english_how || intents.is_empty()
}

/// `最近三个月` / `近 3 个月` / `过去三个月` / `last 3 months` → 3 (at most 12); `每个月` / `逐月` /
/// `each month` / `monthly` over a year → the months from January to that year's last month.
/// Words naming an area (`中亚区域`, `高加索地区`, `远东片区`) whose name no dictionary alias
/// covered (`taken`): the 2–4 Han characters before 区域 / 地区 / 片区 / 大区 / 五国 / 三国.
fn unknown_scopes(c: &Cues, chars: &[char], taken: &[bool]) -> Vec<String> {
    // Words that qualify the area rather than name one.
    let generic = c.get("scope_generic");
    // Time words and particles end the name (`10月份中亚区域` → 中亚).
    let stop = c.get("scope_stop");
    let mut out: Vec<String> = Vec::new();
    for suffix in c.get("scope_suffix").words() {
        let suf: Vec<char> = suffix.chars().collect();
        let mut i = 0;
        while i + suf.len() <= chars.len() {
            if chars[i..i + suf.len()] != suf[..] || taken[i..i + suf.len()].iter().any(|&t| t) {
                i += 1;
                continue;
            }
            let mut start = i;
            while start > 0
                && i - start < 4
                && is_cjk(chars[start - 1])
                && !taken[start - 1]
                && !stop.contains(chars[start - 1].encode_utf8(&mut [0; 4]))
            {
                start -= 1;
            }
            // a name right before the suffix that a dictionary matched (`独联体区域`) is known
            let known = start == i || (i > 0 && taken[i - 1]);
            let word: String = chars[start..i].iter().collect();
            if !known && word.chars().count() >= 2 && !generic.contains(&word) && !out.contains(&word) {
                out.push(word);
            }
            i += suf.len();
        }
    }
    // Countries outside the dictionaries (`越南10月销售额`): the data has none of their sales.
    let not_words: Vec<Vec<char>> = c.get("foreign_not").words().iter().map(|w| w.chars().collect()).collect();
    let mut used = taken.to_vec();
    for name in c.get("foreign_country").words() {
        let key: Vec<char> = name.chars().collect();
        let mut i = 0;
        while i + key.len() <= chars.len() {
            if chars[i..i + key.len()] == key[..] {
                let free = used[i..i + key.len()].iter().all(|t| !t);
                let before_ok = i == 0 || !(is_word_char(chars[i - 1]) && is_word_char(key[0]));
                let after_ok = i + key.len() == chars.len()
                    || !(is_word_char(chars[i + key.len()]) && is_word_char(key[key.len() - 1]));
                // `内蒙古` is not Mongolia
                let inner = not_words.iter().any(|w| within_word(w, &key, chars, i));
                if free && before_ok && after_ok && !inner {
                    for u in used.iter_mut().skip(i).take(key.len()) {
                        *u = true;
                    }
                    if !out.iter().any(|w| w == name) {
                        out.push(name.to_string());
                    }
                }
            }
            i += 1;
        }
    }
    out
}

/// Whether `key`, found at `i` of `chars`, lies inside an occurrence of the longer word `w`.
fn within_word(w: &[char], key: &[char], chars: &[char], i: usize) -> bool {
    (0..w.len().saturating_sub(key.len()) + 1)
        .any(|k| w[k..].starts_with(key) && i >= k && chars.get(i - k..i - k + w.len()).is_some_and(|s| s == w))
}

/// Countries a question may name that the demo region does not cover, Chinese and English
/// (lower case). A country the dictionaries do know is matched by its alias first and never
/// reported.
/// The built-in `foreign_country` rows of `dictionaries/route_cues.csv` (routing itself reads the
/// home's overlaid rows).
pub(crate) static FOREIGN_COUNTRIES: LazyLock<Vec<String>> =
    LazyLock::new(|| Vocabulary::builtin().route.get("foreign_country").words().to_vec());

fn each_month(p: &Cues, t: &str, period: Option<&PeriodSpec>, reference: Month) -> Option<u32> {
    static RE: OnceLock<[Regex; 2]> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let p = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!());
        [
            p(r"(?:最近|近|过去)\s*([一二两三四五六七八九十]|十[一二]|\d{1,2})\s*个\s*月"),
            p(r"\b(?:last|past|previous)\s+(\d{1,2}|two|three|four|five|six|twelve)\s+months\b"),
        ]
    });
    let word = |w: &str| match w {
        "two" => Some(2),
        "three" => Some(3),
        "four" => Some(4),
        "five" => Some(5),
        "six" => Some(6),
        "twelve" => Some(12),
        _ => w.parse().ok().or_else(|| cn_number(w)),
    };
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
fn without_first_quarters(t: &str) -> String {
    first_quarters().replace_all(t, " ").into_owned()
}

/// `前三季度` / `2025年前两个季度`: year (optional) and number of quarters.
fn first_quarters() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:(\d{4})\s*年\s*)?前\s*([一二两三1-3])\s*个?\s*季度").unwrap_or_else(|_| unreachable!())
    })
}

fn parse_top(t: &str) -> Option<usize> {
    let t = &without_first_quarters(t);
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?:前|top\s*|最[好高大低差多少小]的?\s*)(\d{1,2})|(?:前|最[好高大低差多少小]的?\s*)([一二三四五六七八九十])",
        )
            .unwrap_or_else(|_| unreachable!())
    });
    static MORE: OnceLock<[Regex; 2]> = OnceLock::new();
    let more = MORE.get_or_init(|| {
        let p = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!());
        [
            // 后五名 / 倒数 3 / 倒数第三 / bottom 3
            p(r"后\s*(\d{1,2}|[一二三四五六七八九十])\s*(?:名|位)|倒数第?\s*(\d{1,2}|[一二三四五六七八九十])|bottom\s*(\d{1,2})"),
            // which three countries / the five customers / top five
            p(r"\b(?:top\s+|bottom\s+)?(two|three|four|five|six|seven|eight|nine|ten)\s+(?:countries|customers|categories|specs|markets)\b|\b(?:top|bottom)\s+(two|three|four|five|ten)\b"),
        ]
    });
    let word = |w: &str| -> Option<usize> {
        Some(match w {
            "two" => 2,
            "three" => 3,
            "four" => 4,
            "five" => 5,
            "six" => 6,
            "seven" => 7,
            "eight" => 8,
            "nine" => 9,
            "ten" => 10,
            _ => w.parse().ok().or_else(|| cn_number(w).map(|n| n as usize))?,
        })
    };
    if let Some(c) = re.captures(t) {
        if let Some(n) = c.get(1) {
            return n.as_str().parse().ok().filter(|n: &usize| *n > 0);
        }
        return c.get(2).and_then(|m| cn_number(m.as_str())).map(|n| n as usize);
    }
    for r in more.iter() {
        if let Some(c) = r.captures(t) {
            return c.iter().skip(1).flatten().next().and_then(|m| word(m.as_str())).filter(|n| *n > 0);
        }
    }
    None
}

/// Finds tyre-spec-like codes: (start char, end char, normalized spec).
fn find_specs(chars: &[char]) -> Vec<(usize, usize, String)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?i)(?:lt|p)?\d{2,3}(?:\.\d{1,2})?\s*/\s*\d{2}(?:\.\d{1,2})?\s*(?:zr|r|-)?\s*\d{2}(?:\.\d)?c?|\d{3}\s+\d{2}\s*r\s*\d{2}(?:\.\d)?|\d{4}\s*r\s*\d{2}(?:\.\d)?|\d{1,2}(?:\.\d{1,2})?\s*(?:r|-)\s*\d{2}(?:\.\d)?",
        )
        .unwrap_or_else(|_| unreachable!())
    });
    let s: String = chars.iter().collect();
    let mut out = Vec::new();
    for m in re.find_iter(&s) {
        let start = s[..m.start()].chars().count();
        let len = m.as_str().chars().count();
        let end = start + len;
        let before = if start > 0 { Some(chars[start - 1]) } else { None };
        let after = chars.get(end).copied();
        if before.is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '/' || c == '-')
            || after.is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '/')
        {
            continue;
        }
        // `1-12` style month ranges and `2026-09` are not specs: a spec with `-` has rim ≥ 15 and
        // a width with a decimal or ≥ 10.
        let raw = m.as_str();
        if !raw.contains('/') && !raw.to_ascii_lowercase().contains('r') {
            let parts: Vec<&str> = raw.split('-').map(|p| p.trim()).collect();
            let ok = parts.len() == 2
                && parts[1].parse::<f64>().is_ok_and(|r| r >= 15.0)
                && parts[0].parse::<f64>().is_ok_and(|w| w >= 10.0)
                && after != Some('月');
            if !ok {
                continue;
            }
        }
        if let Some(norm) = lodestar_dict::spec::normalize_spec(raw) {
            out.push((start, end, norm));
        }
    }
    out
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
fn previous_period_named(c: &Cues, t: &str) -> bool {
    static RE: OnceLock<[Regex; 2]> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let p = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!());
        [p(r"第?([一二三四1-4])\s*季度|(?:^|[^a-z0-9])q([1-4])(?:[^0-9]|$)"), p(r"(?:^|[^\d])(\d{1,2})\s*月")]
    });
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
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(^|[^一二三四五六七八九十两零〇第])(十[一二]|[一二三四五六七八九十])(\s*月)")
            .unwrap_or_else(|_| unreachable!())
    });
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
fn english_dates(t: &str) -> String {
    static RES: OnceLock<[Regex; 5]> = OnceLock::new();
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let res = RES.get_or_init(|| {
        let p = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!());
        let m = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";
        [
            p(&format!(r"\b{m}\.?\s*,?\s*(20\d{{2}})\b")),
            p(&format!(r"\b(20\d{{2}})\s*,?\s*{m}\b")),
            p(r"\b(january|february|march|april|june|july|august|september|sept|october|november|december)\b"),
            p(r"\bq([1-4])\s*,?\s*(20\d{2})\b"),
            p(r"\b(?:in|for|of|during|year|fy)\s*(20\d{2})\b"),
        ]
    });
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

/// Punctuation left out of the evidence check's content units (the words are the `stop_phrase`
/// rows of `dictionaries/route_cues.csv`).
const STOP_PUNCT: &[&str] =
    &["？", "?", "，", ",", "。", "、", "：", ":", "（", "）", "(", ")", "“", "”", "\"", "！", "!"];

/// Content units of a text for overlap checks: CJK bigrams and Latin/number words.
pub(crate) fn content_units(text: &str) -> Vec<String> {
    let mut seen = HashMap::new();
    content_segments(text).into_iter().flatten().filter(|u| seen.insert(u.clone(), ()).is_none()).collect()
}

/// The content units grouped by the stretch of text (between question words) they came from:
/// `北辰在巴西有哪些经销商` → `[[巴西], [经销, 销商]]`.
/// A days threshold on overdue items: `超过 90 天` / `大于90天` / `多于 60 天` → more than N days
/// (N + 1); `90 天以上` / `90天及以上` / `不少于 30 天` → at least N days.
pub fn overdue_threshold(question: &str) -> Option<i64> {
    overdue_threshold_in(&Vocabulary::builtin().route, question)
}

fn overdue_threshold_in(cues: &Cues, question: &str) -> Option<i64> {
    // English: `more than 90 days`, `over 60 days` (exclusive); `90+ days`, `at least 90 days`,
    // `90 days or more` (inclusive)
    static EN: OnceLock<[Regex; 2]> = OnceLock::new();
    let en = EN.get_or_init(|| {
        let p = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!());
        [
            p(r"\b(?:more than|over|above|longer than|greater than|beyond)\s*(\d+)\s*days?\b"),
            p(r"(?:\bat least\s*(\d+)\s*days?\b|\b(\d+)\s*\+\s*days?\b|\b(\d+)\s*days?\s*(?:or more|or longer|and (?:more|above|longer)|plus)\b)"),
        ]
    });
    let lower = question.to_lowercase();
    if let Some(c) = en[0].captures(&lower) {
        return c[1].parse::<i64>().ok().map(|n| n + 1);
    }
    if let Some(c) = en[1].captures(&lower) {
        return c.get(1).or(c.get(2)).or(c.get(3)).and_then(|m| m.as_str().parse().ok());
    }
    let q: String = to_halfwidth(question).chars().filter(|c| !c.is_whitespace()).collect();
    let c: Vec<char> = q.chars().collect();
    for i in 0..c.len() {
        if !c[i].is_ascii_digit() || (i > 0 && c[i - 1].is_ascii_digit()) {
            continue;
        }
        let mut j = i;
        while j < c.len() && c[j].is_ascii_digit() {
            j += 1;
        }
        if c.get(j) != Some(&'天') {
            continue;
        }
        let n: i64 = c[i..j].iter().collect::<String>().parse().ok()?;
        let before: String = c[i.saturating_sub(3)..i].iter().collect();
        let after: String = c[j + 1..(j + 4).min(c.len())].iter().collect();
        if cues.get("more_than_before").suffix_of(&before).is_some() || before.ends_with('>') {
            return Some(n + 1);
        }
        if cues.get("at_least_after").prefix_of(&after).is_some()
            || cues.get("at_least_before").suffix_of(&before).is_some()
            || before.ends_with('≥')
        {
            return Some(n);
        }
    }
    None
}

pub fn content_segments(text: &str) -> Vec<Vec<String>> {
    let mut t = norm_key(&to_halfwidth(text));
    // longest first, so `什么时候` goes before `什么` can split it
    let words = Vocabulary::builtin().route.get("stop_phrase");
    let mut stops: Vec<&str> = words.words().iter().map(String::as_str).chain(STOP_PUNCT.iter().copied()).collect();
    stops.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
    for p in stops {
        t = t.replace(p, " ");
    }
    t.split_whitespace().map(segment_units).filter(|v| !v.is_empty()).collect()
}

fn segment_units(t: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cjk_run: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_cjk = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.len() == 1 {
            out.push(run[0].to_string());
        }
        for w in run.windows(2) {
            out.push(w.iter().collect());
        }
        run.clear();
    };
    for c in t.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            cjk_run.push(c);
        } else if c.is_alphanumeric() || matches!(c, '/' | '.' | '-') {
            flush_cjk(&mut cjk_run, &mut out);
            word.push(c);
        } else {
            flush_cjk(&mut cjk_run, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_cjk(&mut cjk_run, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out.retain(|u| !u.trim_matches(|c| c == '.' || c == '-' || c == '/').is_empty());
    out
}
