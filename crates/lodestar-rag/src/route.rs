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
use lodestar_core::text::{norm_key, to_halfwidth};
use lodestar_core::{Month, Period};
use lodestar_dict::{Dictionaries, NameKind};
use regex::Regex;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

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

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
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
            const POINTERS: [&str; 7] = ["那个", "这个", "那家", "这家", "的客户", "客户", "公司"];
            'starts: for (frag, id) in &self.unique_starts {
                let key: Vec<char> = frag.chars().collect();
                for i in 0..(chars.len() + 1).saturating_sub(key.len()) {
                    let end = i + key.len();
                    if chars[i..end] != key[..] || taken[i..end].iter().any(|t| *t) {
                        continue;
                    }
                    let rest: String = chars[end..].iter().take(3).collect();
                    if POINTERS.iter().any(|p| rest.starts_with(p)) {
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
        let period = parse_period(&masked, reference);
        let mut intents = detect_intents(&without_first_quarters(&masked));
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
        let overview = has_any(
            &masked,
            &[
                "咋样",
                "怎么样",
                "情况如何",
                "情况怎样",
                "表现如何",
                "表现怎样",
                "业绩如何",
                "how did",
                "how is",
                "how are",
                "how was",
                "doing",
                "perform",
            ],
        );
        if intents.is_empty() && overview && (period.is_some() || !filters.is_empty()) {
            intents.extend([Intent::Actual, Intent::Achievement, Intent::Yoy]);
        }
        // `毛利率是多少`: a figure no imported table holds
        let asks_figure = has_any(
            &masked,
            &["多少", "几", "是多少", "how much", "how many", "what was", "what is", "what's", "rate", "率"],
        );
        let unsupported_measure = if asks_figure {
            UNSUPPORTED_MEASURES.iter().find(|w| masked.contains(*w)).map(|w| w.to_string())
        } else {
            None
        };
        let measure = if has_any(
            &masked,
            &[
                "销量",
                "数量",
                "条数",
                "多少条",
                "quantity",
                "volume",
                "units",
                "how many tyres",
                "how many tires",
                "pieces",
            ],
        ) {
            Measure::Quantity
        } else {
            Measure::Amount
        };
        let both_measures = measure == Measure::Quantity
            && has_any(&masked, &["销售额", "销售金额", "金额", "营收", "收入", "amount", "revenue"]);
        let top = parse_top(&masked);
        // `三季度比二季度` / `9月比8月`: the period against the one before it is 环比
        if previous_period_named(&cn_numeral_months(&masked)) {
            intents.insert(Intent::Mom);
        }
        if intents.iter().any(|i| i.is_alert()) {
            // "哪些客户逾期" lists the alert rows; it is not a sales ranking
            intents.remove(&Intent::Ranking);
        } else if top.is_some() && !intents.is_empty() {
            intents.insert(Intent::Ranking);
        }
        let ascending =
            has_any(&masked, &["最差", "最低", "最少", "最小", "倒数", "垫底", "最落后", "worst", "lowest", "bottom"])
                || bottom_places().is_match(&masked);
        let by = self.detect_by(&masked, &intents, &filters, top.is_some());
        let knowledge = is_knowledge_question(&masked, &intents);
        let decision_topic = has_any(
            &masked,
            &[
                "价格", "报价", "定价", "调价", "降价", "折扣", "返利", "付款", "账期", "预付", "尾款", "信用", "额度",
                "赊销", "发货", "发运", "交期", "交货", "船期", "订舱", "排产", "price", "payment", "credit",
                "shipping",
            ],
        );
        let english =
            !chars.iter().any(|c| is_cjk(*c)) || has_any(&masked, &["in english", "英文回答", "用英文", "英语回答"]);

        // `how much` / `how many` ask for figures
        let how = has_any(
            &masked.replace("how much", " ").replace("how many", " "),
            &[
                "怎样",
                "怎么办",
                "如何",
                "怎么处理",
                "会怎样",
                "规定",
                "流程",
                "政策",
                "可以吗",
                "能否",
                "是否可以",
                "为什么",
                "是什么意思",
                "what happens",
                "how",
                "can we",
                "may we",
                "are we allowed",
                "is it allowed",
            ],
        );
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
        let min_overdue_days = overdue_threshold(question);
        let mut each_month = each_month(&masked, period.as_ref(), reference);
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
        let mut unknown_scopes = unknown_scopes(&chars, &taken);
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
        // `那个客户` / `这家客户` points at one customer; it asks for no per-customer table
        let pointed =
            t.replace("那个客户", " ").replace("这个客户", " ").replace("那家客户", " ").replace("这家客户", " ");
        let t = pointed.as_str();
        let mut by = Vec::new();
        let groups: [(Dim, &[&str]); 6] = [
            (Dim::Region, &["各区域", "分区域", "按区域", "哪个区域", "各战区", "by region"]),
            (
                Dim::Country,
                &["各国", "各个国家", "每个国家", "分国家", "按国家", "哪个国家", "哪些国家", "国家排名", "by country"],
            ),
            (
                Dim::Category,
                &["各品类", "分品类", "按品类", "哪个品类", "哪些品类", "品类排名", "各产品线", "by category"],
            ),
            (Dim::Spec, &["各规格", "分规格", "按规格", "哪个规格", "哪些规格", "规格排名", "by spec"]),
            (
                Dim::Customer,
                &[
                    "各客户",
                    "分客户",
                    "按客户",
                    "哪个客户",
                    "哪些客户",
                    "客户排名",
                    "大客户",
                    "家客户",
                    "个客户",
                    "名客户",
                    "top客户",
                    "by customer",
                    "customers",
                ],
            ),
            (Dim::Owner, &["各销售", "每个销售", "按销售", "哪个销售", "销售负责人排名", "业务员", "by owner"]),
        ];
        for (dim, words) in groups {
            if has_any(t, words) {
                by.push(dim);
            }
        }
        if by.is_empty() && (intents.contains(&Intent::Ranking) || has_top) {
            // "前 5 名" without a dimension word: the dimension named in the question (`前五的规格`,
            // `top 5 specs`), else customers within a country, else countries.
            let spec_named = filters.iter().any(|f| f.dim == Dim::Spec);
            let cat_named = filters.iter().any(|f| f.dim == Dim::Category);
            if !spec_named && has_any(t, &["规格", "spec"]) {
                by.push(Dim::Spec);
            } else if !cat_named && has_any(t, &["品类", "categor"]) {
                by.push(Dim::Category);
            } else if has_any(t, &["销售负责人", "业务员", "sales rep", "salesperson"]) {
                by.push(Dim::Owner);
            } else if t.contains("客户") || filters.iter().any(|f| f.dim == Dim::Country) {
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
}

fn push_filter(filters: &mut Vec<Filter>, f: Filter) {
    if !filters.iter().any(|g| g.dim == f.dim && g.code == f.code) {
        filters.push(f);
    }
}

fn has_any(t: &str, words: &[&str]) -> bool {
    words.iter().any(|w| t.contains(w))
}

/// Measures a question may ask for that no imported table holds.
const UNSUPPORTED_MEASURES: &[&str] = &[
    "毛利率",
    "毛利",
    "利润率",
    "利润",
    "净利",
    "库存量",
    "gross margin",
    "margin",
    "profit",
    "inventory",
    "stock level",
];

/// `后五名` / `后 3 位`: the last places of a ranking.
fn bottom_places() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"后\s*(?:\d{1,2}|[一二三四五六七八九十])\s*(?:名|位)").unwrap_or_else(|_| unreachable!())
    })
}

/// Words asking for a comparison with the same period a year earlier (同比).
const YOY_WORDS: &[&str] = &[
    "同比",
    "去年同期",
    "比去年",
    "去年同月",
    "上年同期",
    "上年同月",
    "较去年",
    "和去年比",
    "跟去年比",
    "与去年相比",
    "yoy",
    "year over year",
    "year-on-year",
    "same month last year",
    "same month of last year",
    "same period last year",
    "same period of last year",
    "same month a year",
    "a year ago",
    "a year earlier",
    "vs last year",
    "versus last year",
    "compared to last year",
    "compared with last year",
];

fn detect_intents(t: &str) -> BTreeSet<Intent> {
    let mut s = BTreeSet::new();
    let rules: [(Intent, &[&str]); 15] = [
        (Intent::YtdYoy, &["年度同比", "累计同比", "年累计同比", "ytd yoy", "ytd同比"]),
        (
            Intent::AnnualProgress,
            &[
                "年度目标完成进度",
                "全年目标",
                "年度目标",
                "剩余缺口",
                "时间进度",
                "月均需",
                "run rate",
                "annual target",
                "full-year target",
                "full year target",
                "target progress",
                "全年任务",
                "年度任务",
                "还剩多少任务",
                "剩余任务",
                "每月得做",
                "每月要做",
                "每个月要做",
                "每个月得做",
            ],
        ),
        (
            Intent::Achievement,
            &[
                "达成率",
                "完成率",
                "达成情况",
                "完成情况",
                "达成了",
                "完成了多少",
                "达标",
                "任务完成",
                "完成任务",
                "几成",
                "完成度",
                "任务是多少",
                "任务多少",
                "目标是多少",
                "目标多少",
                "achievement",
                "vs target",
                "vs. target",
                "versus target",
                "against target",
                "compared to target",
                "compared with target",
            ],
        ),
        (Intent::Yoy, YOY_WORDS),
        (Intent::Mom, &["环比", "比上月", "较上月", "mom", "month over month", "month-on-month", "month on month"]),
        (Intent::Ytd, &["年累计", "累计", "今年以来", "年初至今", "年初以来", "截至目前", "ytd", "year to date"]),
        (Intent::Gap, &["缺口", "差距", "还差", "差多少", "gap", "shortfall"]),
        (
            Intent::Ranking,
            &[
                "排名",
                "排行",
                "前三",
                "前五",
                "前十",
                "最好",
                "最差",
                "最高",
                "最低",
                "最多",
                "最少",
                "最大",
                "最小",
                "倒数",
                "后三名",
                "后五名",
                "后十名",
                "lowest",
                "bottom",
                "top",
                "哪个国家",
                "哪个客户",
                "哪个品类",
                "哪些客户",
                "哪些国家",
                "rank",
                "which country",
                "which countries",
                "which customer",
                "highest",
                "best selling",
                "best-selling",
            ],
        ),
        (Intent::Contribution, &["贡献", "占比", "份额", "比重", "share of", "contribution"]),
        (
            Intent::Concentration,
            &[
                "集中度",
                "cr10",
                "cr20",
                "cr5",
                "前十大客户占",
                "前十客户占",
                "前10大客户占",
                "前10客户占",
                "前二十大客户占",
                "前20大客户占",
                "concentration",
            ],
        ),
        (Intent::Overdue, &["逾期", "账龄", "超期", "拖欠", "欠款", "overdue", "aging"]),
        (
            Intent::ShipmentAtRisk,
            &["货好待款", "货好未付", "待发货", "货好", "shipment at risk", "goods ready", "ready but unpaid"],
        ),
        (
            Intent::CreditAnomaly,
            &[
                "信用异常",
                "超额度",
                "超信用",
                "超出信用",
                "超过信用额度",
                "credit anomaly",
                "over limit",
                "exceed their credit",
                "exceeds its credit",
                "exceeding their credit",
                "over their credit limit",
                "over the credit limit",
                "above their credit limit",
                "credit limit exceeded",
            ],
        ),
        (Intent::Stalled, &["开发停滞", "停滞", "长期没有进展", "没有动静", "stalled"]),
        (
            Intent::Actual,
            &[
                "销售额",
                "销量",
                "销售金额",
                "卖了多少",
                "卖了",
                "买了",
                "有销售",
                "有没有销售",
                "能卖",
                "卖多少",
                "会卖",
                "采购额",
                "采购量",
                "进货",
                "提货量",
                "出货量",
                "营收",
                "收入",
                "业绩",
                "多少条",
                "sales",
                "revenue",
                "volume",
            ],
        ),
    ];
    for (intent, words) in rules {
        if has_any(t, words) {
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
    let reached = t.contains("达成") && !has_any(t, &["达成一致", "达成共识", "达成协议", "达成的协议"]);
    let share_of_target =
        t.contains("目标") && has_any(t, &["百分之几", "百分之多少", "完成了多少", "完成多少", "完成了几"]);
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
    if t.contains("剩余缺口") && !t.replace("剩余缺口", "").contains("缺口") {
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
        && !["呢", "吗", "啊", "呀", "吧"].iter().any(|p| after.starts_with(p));
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
        let existence = has_any(t, &["有销售", "有没有销售"]);
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
    // a measure word about something else (`产能缺口`, `理赔金额`): without a sales measure, no metric
    let foreign = s
        .foreign_prefix
        .iter()
        .any(|p| ["缺口", "金额", "目标", "比例", "数量", "多少"].iter().any(|m| t.contains(&format!("{p}{m}"))));
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
fn is_knowledge_question(t: &str, intents: &BTreeSet<Intent>) -> bool {
    const CUES: &[&str] = &[
        "付款条件",
        "付款方式",
        "账期",
        "条款",
        "政策",
        "流程",
        "规定",
        "规则",
        "制度",
        "要求",
        "适合",
        "适用",
        "工况",
        "推荐",
        "怎么",
        "如何",
        "为什么",
        "是什么",
        "什么是",
        "介绍",
        "档案",
        "背景",
        "联系人",
        "负责人是谁",
        "保修",
        "质保",
        "三包",
        "理赔",
        "索赔",
        "返利",
        "价格",
        "报价",
        "价目",
        "花纹",
        "层级",
        "负荷",
        "气压",
        "认证",
        "会议",
        "纪要",
        "分析会",
        "周会",
        "专题会",
        "措施",
        "决议",
        "督办",
        "展会",
        "培训",
        "模板",
        "填写",
        "注意",
        "风险提示",
        "下一步",
        "计划",
        "追加",
        "打算",
        "备货",
        "反馈",
        "偏好",
        "信用额度",
        "信用等级",
        "审批",
        "权限",
        "订舱",
        "装柜",
        "why",
        "policy",
        "payment terms",
        "warranty",
        "suitable",
    ];
    let t = &t.replace("怎么样", " ");
    if has_any(t, CUES) {
        return true;
    }
    // English question words ask for knowledge only without a metric in the question: `What was
    // the October sales amount` is a metric question (as `销售额是多少` is), `How much` / `How
    // many` ask for figures.
    // `How did Korea do in August`, `how does it compare with last year` ask for figures too.
    let english_how = t.contains("how")
        && !has_any(
            t,
            &["how much", "how many", "how did", "how was", "how were", "how far", "how close", "doing", "perform"],
        )
        && (!t.contains("compare") || intents.is_empty());
    // No metric word at all: a knowledge question.
    english_how || intents.is_empty()
}

/// `最近三个月` / `近 3 个月` / `过去三个月` / `last 3 months` → 3 (at most 12); `每个月` / `逐月` /
/// `each month` / `monthly` over a year → the months from January to that year's last month.
/// Words naming an area (`中亚区域`, `高加索地区`, `远东片区`) whose name no dictionary alias
/// covered (`taken`): the 2–4 Han characters before 区域 / 地区 / 片区 / 大区 / 五国 / 三国.
fn unknown_scopes(chars: &[char], taken: &[bool]) -> Vec<String> {
    const SUFFIXES: [&str; 7] = ["区域", "地区", "片区", "大区", "五国", "三国", "市场"];
    // Words that qualify the area rather than name one.
    const GENERIC: [&str; 20] = [
        "北部", "整个", "所有", "各个", "其他", "其它", "重点", "主要", "负责", "国内", "国外", "海外", "国际", "整体",
        "全球", "这个", "那个", "目标", "当地", "本地",
    ];
    let mut out: Vec<String> = Vec::new();
    for suffix in SUFFIXES {
        let suf: Vec<char> = suffix.chars().collect();
        let mut i = 0;
        while i + suf.len() <= chars.len() {
            if chars[i..i + suf.len()] != suf[..] || taken[i..i + suf.len()].iter().any(|&t| t) {
                i += 1;
                continue;
            }
            // Time words and particles end the name (`10月份中亚区域` → 中亚).
            const STOP: &str = "月份年季度周的在和与及对给从今去本上下这那哪些个各全该每";
            let mut start = i;
            while start > 0
                && i - start < 4
                && is_cjk(chars[start - 1])
                && !taken[start - 1]
                && !STOP.contains(chars[start - 1])
            {
                start -= 1;
            }
            // a name right before the suffix that a dictionary matched (`独联体区域`) is known
            let known = start == i || (i > 0 && taken[i - 1]);
            let word: String = chars[start..i].iter().collect();
            if !known && word.chars().count() >= 2 && !GENERIC.contains(&word.as_str()) && !out.contains(&word) {
                out.push(word);
            }
            i += suf.len();
        }
    }
    // Countries outside the dictionaries (`越南10月销售额`): the data has none of their sales.
    let mut used = taken.to_vec();
    for name in FOREIGN_COUNTRIES {
        let key: Vec<char> = name.chars().collect();
        let mut i = 0;
        while i + key.len() <= chars.len() {
            if chars[i..i + key.len()] == key[..] {
                let free = used[i..i + key.len()].iter().all(|t| !t);
                let before_ok = i == 0 || !(is_word_char(chars[i - 1]) && is_word_char(key[0]));
                let after_ok = i + key.len() == chars.len()
                    || !(is_word_char(chars[i + key.len()]) && is_word_char(key[key.len() - 1]));
                // `内蒙古` is not Mongolia
                let inner = *name == "蒙古" && i > 0 && chars[i - 1] == '内';
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

/// Countries a question may name that the demo region does not cover, Chinese and English
/// (lower case). A country the dictionaries do know is matched by its alias first and never
/// reported.
pub(crate) const FOREIGN_COUNTRIES: &[&str] = &[
    "美国",
    "加拿大",
    "墨西哥",
    "巴西",
    "阿根廷",
    "智利",
    "秘鲁",
    "哥伦比亚",
    "英国",
    "法国",
    "德国",
    "意大利",
    "西班牙",
    "葡萄牙",
    "荷兰",
    "比利时",
    "瑞士",
    "瑞典",
    "挪威",
    "芬兰",
    "丹麦",
    "波兰",
    "捷克",
    "匈牙利",
    "罗马尼亚",
    "保加利亚",
    "希腊",
    "土耳其",
    "乌克兰",
    "摩尔多瓦",
    "立陶宛",
    "拉脱维亚",
    "爱沙尼亚",
    "土库曼斯坦",
    "蒙古",
    "伊朗",
    "伊拉克",
    "沙特",
    "阿联酋",
    "以色列",
    "埃及",
    "南非",
    "尼日利亚",
    "肯尼亚",
    "印度尼西亚",
    "印度",
    "巴基斯坦",
    "孟加拉",
    "阿富汗",
    "越南",
    "泰国",
    "马来西亚",
    "新加坡",
    "印尼",
    "菲律宾",
    "缅甸",
    "柬埔寨",
    "老挝",
    "澳大利亚",
    "新西兰",
    "朝鲜",
    "united states",
    "usa",
    "canada",
    "mexico",
    "brazil",
    "argentina",
    "chile",
    "peru",
    "germany",
    "france",
    "italy",
    "spain",
    "poland",
    "turkey",
    "ukraine",
    "moldova",
    "lithuania",
    "latvia",
    "estonia",
    "turkmenistan",
    "mongolia",
    "iran",
    "iraq",
    "saudi arabia",
    "uae",
    "egypt",
    "south africa",
    "nigeria",
    "kenya",
    "india",
    "indonesia",
    "pakistan",
    "vietnam",
    "thailand",
    "malaysia",
    "singapore",
    "philippines",
    "australia",
    "north korea",
];

fn each_month(t: &str, period: Option<&PeriodSpec>, reference: Month) -> Option<u32> {
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
        _ => w.parse().ok().or_else(|| cn_digit(w)),
    };
    for r in re.iter() {
        if let Some(c) = r.captures(t) {
            return word(&c[1]).filter(|n| (2..=12).contains(n));
        }
    }
    if has_any(t, &["每个月", "每月", "逐月", "各月", "分月", "each month", "monthly", "month by month"]) {
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
            _ => w.parse().ok().or_else(|| cn_digit(w).map(|n| n as usize))?,
        })
    };
    if let Some(c) = re.captures(t) {
        if let Some(n) = c.get(1) {
            return n.as_str().parse().ok().filter(|n: &usize| *n > 0);
        }
        return c.get(2).and_then(|m| cn_digit(m.as_str())).map(|n| n as usize);
    }
    for r in more.iter() {
        if let Some(c) = r.captures(t) {
            return c.iter().skip(1).flatten().next().and_then(|m| word(m.as_str())).filter(|n| *n > 0);
        }
    }
    None
}

fn cn_digit(s: &str) -> Option<u32> {
    Some(match s {
        "一" => 1,
        "二" | "两" => 2,
        "三" => 3,
        "四" => 4,
        "五" => 5,
        "六" => 6,
        "七" => 7,
        "八" => 8,
        "九" => 9,
        "十" => 10,
        "十一" => 11,
        "十二" => 12,
        _ => return None,
    })
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
    let english = cn_numeral_months(&english_dates(t));
    let t = english.as_str();
    // 前三季度 / 去年前两个季度: January through the end of that quarter, year to date
    if let Some(c) = first_quarters().captures(t) {
        let q = c.get(2).map(|m| m.as_str()).and_then(|s| s.parse::<u32>().ok().or_else(|| cn_digit(s)));
        let year = c.get(1).and_then(|m| m.as_str().parse::<i32>().ok()).unwrap_or_else(|| {
            if t.contains("去年") {
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
                    c.get(2).or(c.get(3)).map(|m| m.as_str()).and_then(|s| s.parse().ok().or_else(|| cn_digit(s)))?;
                Some(PeriodSpec { period: Period::Quarter { year: y, quarter: q }, ytd: false, explicit: true })
            }
            6 => {
                let q =
                    c.get(1).or(c.get(2)).map(|m| m.as_str()).and_then(|s| s.parse().ok().or_else(|| cn_digit(s)))?;
                let year = if t.contains("去年") { reference.year - 1 } else { reference.year };
                Some(PeriodSpec { period: Period::Quarter { year, quarter: q }, ytd: false, explicit: true })
            }
            7 => {
                let y = num(1).map(|y| y as i32).unwrap_or_else(|| {
                    if t.contains("去年") {
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
    let rel: [(&[&str], u8); 10] = [
        (&["明年", "next year"], 7),
        (&["下个月", "下月", "next month"], 8),
        (&["下季度", "下个季度", "下一季度", "next quarter"], 9),
        (&["今年以来", "年初至今", "年初以来", "今年累计", "本年累计", "截至目前", "year to date"], 0),
        (&["上上月", "上上个月"], 6),
        (&["上月", "上个月", "last month"], 1),
        (&["本月", "当月", "这个月", "this month"], 2),
        (&["上季度", "上个季度", "上一季度", "last quarter"], 3),
        (&["本季度", "这个季度", "当季", "this quarter"], 4),
        (&["去年", "last year"], 5),
    ];
    for (words, tag) in rel {
        if has_any(t, words) {
            let cur_q = Period::Quarter { year: reference.year, quarter: reference.quarter() };
            return Some(match tag {
                0 => PeriodSpec { period: Period::Month(reference), ytd: true, explicit: true },
                1 => PeriodSpec { period: Period::Month(reference.prev()), ytd: false, explicit: true },
                2 => PeriodSpec { period: Period::Month(reference), ytd: false, explicit: true },
                3 => PeriodSpec { period: cur_q.previous(), ytd: false, explicit: true },
                4 => PeriodSpec { period: cur_q, ytd: false, explicit: true },
                5 => {
                    // "去年同期" is a comparison, not a period.
                    if YOY_WORDS.iter().any(|w| (w.contains("去年") || w.contains("last year")) && t.contains(w)) {
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
    if has_any(t, &["今年", "本年", "this year"]) {
        return Some(ytd_or_year(reference.year));
    }
    None
}

/// Does the question compare a quarter or month with the one right before it (`三季度比二季度`,
/// `Q3 vs Q2`, `9月和8月相比`)?
fn previous_period_named(t: &str) -> bool {
    static RE: OnceLock<[Regex; 2]> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let p = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!());
        [p(r"第?([一二三四1-4])\s*季度|(?:^|[^a-z0-9])q([1-4])(?:[^0-9]|$)"), p(r"(?:^|[^\d])(\d{1,2})\s*月")]
    });
    if !has_any(t, &["比", "较", "相比", "对比", "vs", "versus", "compared", "against"]) {
        return false;
    }
    let numbers = |r: &Regex| -> Vec<u32> {
        r.captures_iter(t)
            .filter_map(|c| c.get(1).or(c.get(2)))
            .filter_map(|m| m.as_str().parse::<u32>().ok().or_else(|| cn_digit(m.as_str())))
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
        let n = cn_digit(&c[2]).unwrap_or_default();
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

/// Words that carry no meaning for evidence checks (问句虚词).
pub(crate) const STOP_PHRASES: &[&str] = &[
    "请问",
    "请",
    "一下",
    "是什么",
    "什么",
    "多少",
    "哪些",
    "哪个",
    "哪家",
    "怎么样",
    "怎么",
    "如何",
    "为什么",
    "是否",
    "有没有",
    "可以",
    "能否",
    "吗",
    "呢",
    "吧",
    "的",
    "了",
    "和",
    "与",
    "及",
    "或",
    "是",
    "有",
    "在",
    "对",
    "给",
    "把",
    "我们",
    "我司",
    "公司",
    "北辰",
    "告诉我",
    "介绍",
    "情况",
    "目前",
    "现在",
    "一般",
    "需要",
    "应该",
    "会",
    "要",
    "？",
    "?",
    "，",
    ",",
    "。",
    "、",
    "：",
    ":",
    "（",
    "）",
    "(",
    ")",
    "“",
    "”",
    "\"",
    "！",
    "!",
    "多久",
    "多长时间",
    "多长",
    "什么时候",
    "何时",
    "哪里",
    "哪儿",
    "谁",
    "怎样",
    "怎么办",
    "会",
    "处理",
    "几",
];

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
        if before.ends_with("超过") || before.ends_with("大于") || before.ends_with("多于") || before.ends_with('>')
        {
            return Some(n + 1);
        }
        if after.starts_with("以上")
            || after.starts_with("及以上")
            || before.ends_with("不少于")
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
    let mut stops: Vec<&str> = STOP_PHRASES.to_vec();
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
