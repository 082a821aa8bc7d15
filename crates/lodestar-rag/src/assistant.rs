//! The assistant (问答助手): route → rule engine and/or retrieval → prompt → guarded answer.

use crate::guard::{self, Evidence};
use crate::prompt::{self, PromptSource, DECISION_REMINDER, NO_EVIDENCE};
use crate::render;
use crate::route::{content_units, Route, RouteKind, Router};
use crate::source::{AlertKind, Dim, Hit, MetricRequest, MetricTable, MetricsSource, Retriever};
use crate::RagError;
use chrono::NaiveDate;
use lodestar_core::config::FieldSensitivity;
use lodestar_core::text::norm_key;
use lodestar_core::{CancelToken, ChatMessage, GenParams, Generator, KbId, Month, Principal, Sensitivity};
use lodestar_dict::Dictionaries;
use serde::Serialize;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

/// Least share of the question's content words a chunk must contain to count as evidence.
pub const MIN_OVERLAP: f32 = 0.4;
/// Fused retrieval score (absolute, and relative to the best hit) of the retrievers' first pick:
/// the chunk both retrievers rank first (see `evidence_hits`).
pub const FIRST_PICK: f32 = 0.95;
/// Least overlap of a first pick missing one short question word.
pub const TOLERANT_OVERLAP: f32 = 0.5;
/// Least overlap of a first pick that meets every stretch of the question.
pub const LOW_OVERLAP_FIRST_PICK: f32 = 0.25;
/// Fused score of a top hit that both retrievers rank first by a clear margin (hybrid scores run
/// above 1 when BM25 and the vectors agree; BM25 alone never reaches it): its words may differ from
/// the question's (a paraphrase, colloquial wording) and it is still evidence when it shares at
/// least [`STRONG_FIRST_MIN_OVERLAP`] of them. Calibrated on `tests/eval/dev` and `tests/eval/qa.jsonl`:
/// no out-of-scope or unanswerable question's top hit reaches 0.97, half of the refused answerable
/// ones did.
pub const STRONG_FIRST_PICK: f32 = 0.97;
/// Least overlap of such a top hit.
pub const STRONG_FIRST_MIN_OVERLAP: f32 = 0.15;
/// A top hit holding most of the question's words (a question word or two in other words) …
pub const WIDE_OVERLAP: f32 = 0.6;
/// … with at least this fused score is evidence even when a stretch of the question is missing.
pub const WIDE_OVERLAP_MIN_FUSED: f32 = 0.85;
/// Least share of the question's words a first pick the judge reads holds (see `judge_candidates`).
pub const BORDERLINE_OVERLAP: f32 = 0.15;
/// A model answer with fewer letters and digits than this before its first citation marker is a
/// fragment (`推荐 [1]`, `30 天 [1]`) and is written out with the question's subject.
pub const FRAGMENT_CHARS: usize = 8;
/// Probability of `是` to the judge question ([`prompt::JUDGE_TAIL`]) below which sources the
/// words admitted (see `evidence_hits`) are taken not to hold the asked detail: the answer says so
/// and quotes them.
///
/// Low on purpose. On the development set (`tests/eval/dev`, 1.5B model) the judge did not tell
/// these apart: sources lacking the asked detail scored 0.36–0.88, answering ones 0.26–0.97
/// (colloquial questions lowest). A missing detail is caught by the answer instead: the model
/// says `资料中没有提到…`, or writes a figure no source holds while the judge is unsure
/// ([`JUDGE_CONFIDENT`]).
pub const JUDGE_YES_WORDS: f32 = 0.2;
/// The same for the retrievers' first picks that the words did not admit (paraphrases,
/// colloquial questions): below it the question is refused.
///
/// Calibrated on the development set (1.5B model): its unanswerable questions' first picks
/// scored 0.08–0.69, the answerable ones' 0.49–0.98 (13 of 15 at 0.72 or more).
pub const JUDGE_YES_RETRIEVED: f32 = 0.7;
/// Below this probability of `是`, an answer holding a figure no source holds is not shown: the
/// sources most likely lack the asked detail (see `missing_detail_answer`).
pub const JUDGE_CONFIDENT: f32 = 0.8;
/// Longest question stretch (characters) an answer may not state when no source mentions it and
/// the judge is unsure (see `answer_from_knowledge`): details are short nouns (`餐厅`, `电话号码`). On the
/// development set, the one longer stretch an answer repeated was a colloquial clause of an
/// answerable question.
pub const ECHO_DETAIL_CHARS: usize = 4;
/// Least fused retrieval score of a first pick the judge reads when the words admitted nothing.
pub const JUDGE_MIN_FUSED: f32 = 0.7;
/// Share of character pairs two chunks hold in common (Jaccard) from which the later one is the
/// same text again: spec sheets of one line share their ordering and warranty boilerplate word
/// for word (0.89–0.92 between four winter-tyre sheets), while different sections of the
/// knowledge bases reach 0.8 in only 4 % of same-named pairs. A near copy would only take the
/// prompt's room from the next source.
pub const NEAR_DUPLICATE: f32 = 0.85;
/// The same for a hit holding every code the question names (see `judge_candidates`).
pub const JUDGE_MIN_FUSED_CODE: f32 = 0.3;
/// Chunks the judge's candidates come from when the words admitted none of the first
/// [`RETRIEVE_K`], none of those the judge may read was ranked high, and the question names a
/// code: BM25 finds a one-letter code (`V`) the vectors miss, below the fused first picks.
pub const RETRIEVE_K_CODES: usize = 20;
/// Chunks asked from the retriever before the evidence gate.
pub const RETRIEVE_K: usize = 8;
/// Words that name the kind of answer wanted rather than its topic; a question segment made only
/// of them need not appear in the evidence.
const GENERIC_ASK_WORDS: &[&str] = &[
    "措施", "办法", "方法", "方案", "情况", "内容", "原因", "安排", "要求", "规定", "步骤", "做法", "建议", "意见",
    "结论", "重点", "进展", "变化", "影响", "问题", "事项", "决定", "举措", "打算", "计划", "提出", "采取", "做出",
    "给出", "说明", "介绍", "有关", "相关", "包括", "需要", "具体", "条胎", "个柜", "轮胎",
];
/// Weight of the (relative) retrieval score when ordering evidence (see `evidence_hits`).
pub const RANK_WEIGHT: f32 = 0.3;
/// Most source quotes shown under a generated answer.
pub const MAX_QUOTES: usize = 3;
/// Token budget of one quote under a generated answer.
pub const QUOTE_TOKENS: usize = 70;
/// Bonus for a chunk holding the table row the question singles out ([`prompt::has_answer_row`]).
pub const ROW_BONUS: f32 = 0.3;
/// Bonus for a document dated in a month the question names.
pub const MONTH_BONUS: f32 = 0.3;
/// How far below the best evidence score a chunk may be and still be given to the model / cited.
pub const EVIDENCE_MARGIN: f32 = 0.25;

/// Per-question options.
#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Who asks: retrieval and rule-engine results are filtered by this.
    pub principal: Principal,
    /// `--as-of`: relative periods and alerts are taken against this date.
    pub as_of: Option<NaiveDate>,
    /// Restrict retrieval to these knowledge bases (empty = all the principal may read).
    pub kbs: Vec<KbId>,
    /// Tokens the model may generate.
    pub max_tokens: usize,
    /// Token budget of the user turn (sources + question).
    pub prompt_budget: usize,
    /// Stops generation within one decode step when fired (the web chat's stop button, a dropped
    /// stream); the answer keeps what was generated so far.
    pub cancel: Option<CancelToken>,
}

impl Default for AskOptions {
    fn default() -> Self {
        Self {
            principal: Principal::local_admin(),
            as_of: None,
            kbs: Vec::new(),
            max_tokens: prompt::MAX_ANSWER_TOKENS,
            prompt_budget: prompt::PROMPT_BUDGET,
            cancel: None,
        }
    }
}

/// A cited source (引用).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// The knowledge base the cited document belongs to.
    pub kb: KbId,
    /// The knowledge base's Chinese name (产品知识库 …).
    pub kb_name: &'static str,
    /// Document id (path under `knowledge/`).
    pub doc: String,
    /// Document title.
    pub title: String,
    /// Id of the cited chunk.
    pub chunk_id: String,
    /// The first 160 characters of the excerpt the model was given, on one line.
    pub snippet: String,
    /// Heading path of the cited chunk (章节).
    pub section: String,
    /// Sensitivity of the cited document (密级).
    pub sensitivity: Sensitivity,
}

/// One rule-engine query and its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolResult {
    /// The request (kind, period, filters …) and the equivalent command line.
    pub query: serde_json::Value,
    /// The table's rows as JSON (a sales, concentration or alert row each).
    pub rows: Vec<serde_json::Value>,
    /// The total (合计) row of a sales table, as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<serde_json::Value>,
    /// Why there are no rows (permission, engine error), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Retrieval and the evidence gate.
    pub retrieve: f64,
    /// The evidence judge's forward pass (its prompt is then reused by the answer's prefill).
    pub judge: f64,
    /// The model reading the prompt (prompt prefill).
    pub prefill: f64,
    /// The model generating the answer.
    pub decode: f64,
    /// The whole question, from routing to the guarded answer.
    pub total: f64,
}

/// A grounded answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The answer text as shown: guarded, with citation markers and any footnotes.
    pub answer: String,
    /// The sources cited: `[n]` in the answer is the n-th.
    pub citations: Vec<Citation>,
    /// The rule-engine queries run and their rows.
    pub tool_results: Vec<ToolResult>,
    /// Notes for the user in words: no data imported, unverified numbers, a fallback to excerpts …
    pub warnings: Vec<String>,
    /// True when the text was generated or assembled from documents: a person must approve it.
    pub needs_review: bool,
    /// Milliseconds spent per stage.
    pub timings_ms: Timings,
    /// How the question was routed (kind, intent, scope, period).
    pub route: Route,
    /// Time to the first streamed piece of generated text (not part of the JSON contract).
    #[serde(skip)]
    pub ttft_ms: Option<f64>,
    /// The knowledge part found no evidence (or the model refused).
    #[serde(skip)]
    pub no_evidence: bool,
    /// Numbers the guard flagged.
    #[serde(skip)]
    pub flagged: Vec<String>,
    /// Token counts and timings of the generation, when the model ran.
    #[serde(skip)]
    pub gen_stats: Option<lodestar_core::GenStats>,
    /// The chat model's probability that the sources it was given answer the question (the
    /// evidence judge), when it was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_judge: Option<f32>,
}

/// The question-answering assistant. Cheap to share: everything is behind `Arc`.
#[derive(Clone)]
pub struct Assistant {
    /// The dictionaries (countries, customers, specs, staff …) the router resolves names with.
    pub dicts: Arc<Dictionaries>,
    /// The rule engine; `None` = no business data: metric questions get a note to import it first.
    pub metrics: Option<Arc<dyn MetricsSource>>,
    /// The knowledge index; `None` = knowledge questions find no evidence (with a warning).
    pub retriever: Option<Arc<dyn Retriever>>,
    /// The chat model; `None` = metric answers and extractive knowledge answers only.
    pub generator: Option<Arc<dyn Generator>>,
    /// Sensitivity of data fields (config.toml `[fields]`).
    pub fields: FieldSensitivity,
}

impl Assistant {
    /// An assistant over these sources, with the default field sensitivities.
    pub fn new(
        dicts: Arc<Dictionaries>,
        metrics: Option<Arc<dyn MetricsSource>>,
        retriever: Option<Arc<dyn Retriever>>,
        generator: Option<Arc<dyn Generator>>,
    ) -> Self {
        Self { dicts, metrics, retriever, generator, fields: FieldSensitivity::default() }
    }

    /// The month relative periods refer to: the `as_of` month capped by the latest month with
    /// data, else the latest month with data, else the current month.
    pub fn reference_month(&self, as_of: Option<NaiveDate>) -> Result<Month, RagError> {
        let latest = match &self.metrics {
            Some(m) => m.latest_month()?,
            None => None,
        };
        Ok(match (as_of.map(Month::of_date), latest) {
            (Some(a), Some(l)) => a.min(l),
            (Some(a), None) => a,
            (None, Some(l)) => l,
            (None, None) => Month::of_date(chrono::Local::now().date_naive()),
        })
    }

    /// Answers `question` (no streaming).
    pub fn ask(&self, question: &str, opts: &AskOptions) -> Result<Answer, RagError> {
        self.ask_streaming(question, opts, &mut |_| {})
    }

    /// Answers `question`, passing each piece of text to `on_text` as it becomes available (the
    /// rule-engine part at once, generated text token by token). The final [`Answer::answer`] is
    /// the guarded text, which may differ from the stream by the guard's marks.
    pub fn ask_streaming(
        &self,
        question: &str,
        opts: &AskOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Answer, RagError> {
        let t0 = Instant::now();
        let reference = self.reference_month(opts.as_of)?;
        let router = Router::new(&self.dicts);
        let route = router.route(question, reference);
        let mut ans = Answer {
            answer: String::new(),
            citations: Vec::new(),
            tool_results: Vec::new(),
            warnings: Vec::new(),
            needs_review: false,
            timings_ms: Timings::default(),
            route: route.clone(),
            ttft_ms: None,
            no_evidence: false,
            flagged: Vec::new(),
            gen_stats: None,
            evidence_judge: None,
        };

        if route.kind == RouteKind::Ambiguous {
            let (frag, cands) = route.ambiguous.clone().unwrap_or_default();
            let mut s = format!("“{frag}”对应多个客户，请问您指的是哪一个？\n");
            for (i, c) in cands.iter().enumerate() {
                s.push_str(&format!("{}. {}（{}，{}，{}）\n", i + 1, c.name_zh, c.name_en, c.country, c.id));
            }
            s.push_str("请在问题中写明客户全称后再问一次。");
            on_text(&s);
            ans.answer = s;
            ans.timings_ms.total = ms(t0);
            return Ok(ans);
        }

        // A figure no imported table holds (毛利率, profit): say so rather than quote look-alikes.
        if let Some(m) = &route.unsupported_measure {
            let s = if route.english {
                format!(
                    "The imported data holds no \"{m}\": lodestar has sales quantities and amounts, targets, \
                     receivables, credit and fx rates only, so this cannot be answered here."
                )
            } else {
                format!(
                    "导入的数据里没有“{m}”：lodestar 只有销量、销售额、目标、回款、信用和汇率数据，无法回答这个问题（请向财务部门查询）。"
                )
            };
            on_text(&s);
            ans.answer = s;
            ans.no_evidence = true;
            ans.warnings.push(format!("unsupported measure: {m}"));
            ans.timings_ms.total = ms(t0);
            return Ok(ans);
        }

        // A figure for an area the dictionaries do not know would silently be the whole region's.
        if route.needs_metrics() && !route.unknown_scopes.is_empty() {
            // tyre specs carry digits (`12.00-24`); areas do not
            let (specs, areas): (Vec<&String>, Vec<&String>) =
                route.unknown_scopes.iter().partition(|w| w.chars().any(|c| c.is_ascii_digit()));
            let quote = |v: &[&String]| v.iter().map(|w| format!("“{w}”")).collect::<Vec<_>>().join("、");
            let mut s = String::new();
            if !areas.is_empty() {
                let groups = self.dicts.regions.iter().map(|r| r.name_zh.as_str()).collect::<Vec<_>>().join("、");
                let countries = self.dicts.countries.iter().map(|c| c.name_zh.as_str()).collect::<Vec<_>>().join("、");
                s.push_str(&format!(
                    "{}不在国家和区域字典里，数据中没有这个范围的销售（区域分组：{groups}；国家：{countries}），按它统计会得到全区数字。\n\
                     请在问题中写明字典里的国家（例如“哈萨克斯坦、乌兹别克斯坦”）后再问一次，或在 dictionaries/regions.csv / countries.csv 中增加它。",
                    quote(&areas)
                ));
            }
            if !specs.is_empty() {
                if !s.is_empty() {
                    s.push('\n');
                }
                s.push_str(&format!(
                    "{}不在规格目录（dictionaries/specs.csv）里，按它统计会得到全区数字。请核对规格写法（例如 315/80R22.5、12.00R24）后再问一次。",
                    quote(&specs)
                ));
            }
            on_text(&s);
            ans.answer = s;
            ans.warnings.push(format!("unknown area: {}", route.unknown_scopes.join(", ")));
            ans.timings_ms.total = ms(t0);
            return Ok(ans);
        }

        let mut parts: Vec<String> = Vec::new();
        let mut evidence = Evidence::default();
        evidence.add_text(question);

        // 1. Rule engine (a mixed question: over its metric sentences only).
        if route.needs_metrics() {
            let metric_route = if route.kind == RouteKind::Mixed {
                metric_part_route(&router, question, reference).unwrap_or_else(|| route.clone())
            } else {
                route.clone()
            };
            let text = self.run_metrics(&metric_route, reference, opts, &mut ans, &mut evidence);
            if !text.is_empty() {
                on_text(&text);
                parts.push(text);
            }
        }

        // 2. Knowledge.
        if route.needs_knowledge() {
            if !parts.is_empty() {
                on_text("\n\n");
            }
            let kq = if route.kind == RouteKind::Mixed {
                knowledge_part(&router, question, reference)
            } else {
                question.to_string()
            };
            // the rule engine gave figures (not only a permission note)
            let metric_answered = !parts.is_empty() && ans.tool_results.iter().any(|t| t.note.is_none());
            let refusal = format!("{NO_EVIDENCE}。");
            // the rule engine answered: a mixed route's empty knowledge part adds nothing
            let mut pass = |t: &str| {
                if !(metric_answered && t == refusal) {
                    on_text(t)
                }
            };
            // the knowledge sentences' own names gate the evidence (a customer named in the metric
            // sentence does not have to appear in a policy passage)
            let kroute = if kq != question { router.route(&kq, reference) } else { route.clone() };
            let text = self.answer_from_knowledge(&kq, &kroute, opts, &mut ans, &mut evidence, t0, &mut pass)?;
            if metric_answered && ans.no_evidence && text == refusal {
                ans.no_evidence = false;
                // nothing generated: the deterministic rule-engine text needs no review
                ans.needs_review = false;
            } else {
                parts.push(text);
            }
        }

        if route.decision_topic && !(route.needs_knowledge() && ans.no_evidence && !route.needs_metrics()) {
            let s = format!("\n\n{DECISION_REMINDER}");
            on_text(&s);
            parts.push(DECISION_REMINDER.to_string());
        }
        ans.answer = parts.join("\n\n");
        ans.timings_ms.total = ms(t0);
        Ok(ans)
    }

    fn level_of(&self, group: &str) -> Sensitivity {
        match group {
            "receivables" => self.fields.receivables,
            "credit" => self.fields.credit,
            "contract" => self.fields.contract,
            "price" => self.fields.price,
            _ => self.fields.sales,
        }
    }

    fn run_metrics(
        &self,
        route: &Route,
        reference: Month,
        opts: &AskOptions,
        ans: &mut Answer,
        evidence: &mut Evidence,
    ) -> String {
        let requests = route.requests(reference, opts.as_of);
        let Some(metrics) = &self.metrics else {
            ans.warnings.push("没有可用的业务数据（请先导入销售、目标和回款数据）".into());
            return "没有可用的业务数据，无法计算指标（请先用 `lodestar import` 导入数据）。".into();
        };
        let focus_customer = route.filter(Dim::Customer).map(|f| f.code.clone());
        let mut texts = Vec::new();
        for req in requests {
            let mut query = serde_json::to_value(&req).unwrap_or(serde_json::Value::Null);
            if let serde_json::Value::Object(o) = &mut query {
                o.insert("command".into(), serde_json::Value::String(req.command_line()));
            }
            let level = self.level_of(req.field_group());
            if !opts.principal.can_see(level) {
                let what = match req.field_group() {
                    "receivables" => "回款与逾期",
                    "credit" => "信用",
                    _ => "销售",
                };
                let note =
                    format!("权限不足：{what}数据为{level}级，您的权限为{}级，无法查看。", opts.principal.clearance);
                ans.tool_results.push(ToolResult { query, rows: vec![], total: None, note: Some(note.clone()) });
                texts.push(note);
                continue;
            }
            match metrics.run(&req, &opts.principal) {
                Ok(mut table) => {
                    if let (MetricRequest::Alerts { kind: AlertKind::Overdue, .. }, MetricTable::Alerts { rows }) =
                        (&req, &mut table)
                    {
                        if let Some(n) = route.min_overdue_days {
                            rows.retain(|r| r.days.is_some_and(|d| d >= n));
                            if let serde_json::Value::Object(o) = &mut query {
                                o.insert("min_days".into(), serde_json::json!(n));
                            }
                        }
                    }
                    let (rows, total) = table_json(&table);
                    let tr = ToolResult { query, rows, total, note: None };
                    evidence.add_json(&serde_json::to_value(&tr).unwrap_or_default());
                    add_request_dates(evidence, &req);
                    let focus = match &req {
                        MetricRequest::Sales { by, .. } if by.contains(&Dim::Customer) => focus_customer.as_deref(),
                        _ => None,
                    };
                    let mut text = render::render(&req, &table, &route.intents, focus);
                    // `2024年销售额` with data from 2024-11: the figure covers only the months held
                    if let (MetricRequest::Sales { period, .. }, Ok(Some(first))) = (&req, metrics.earliest_month()) {
                        if period.first_month() < first && period.last_month() >= first {
                            text =
                                format!("注：销售数据从 {first} 开始，{period} 的数字只含 {first} 起的月份。\n{text}");
                        }
                    }
                    // the rendered figures vouch for themselves (rounded displays of the rows)
                    evidence.add_text(&text);
                    texts.push(text);
                    ans.tool_results.push(tr);
                }
                Err(e) => {
                    let msg = e.to_string();
                    // `没有 2023 的数据：…` (a period outside the data) is an answer, not a failure;
                    // an English question keeps the English half
                    let note = match msg.split_once(" (period ") {
                        Some((zh, en)) if msg.starts_with("没有 ") => {
                            if route.english {
                                format!("No data: period {}", en.trim_end_matches(')'))
                            } else {
                                format!("{zh}。")
                            }
                        }
                        _ => format!("规则引擎未能完成查询：{e}"),
                    };
                    ans.warnings.push(note.clone());
                    ans.tool_results.push(ToolResult { query, rows: vec![], total: None, note: Some(note.clone()) });
                    texts.push(note);
                }
            }
        }
        if texts.is_empty() {
            texts.push("没有识别出可以计算的指标。".into());
        }
        if let Some((y, q)) = route.quarter_so_far {
            let note = format!("{y}年第{q}季度的数据截至 {}年{}月，以下为已有月份：", reference.year, reference.month);
            texts.insert(0, note);
        }
        // One month after another (`最近三个月`): a definitions line (口径) said by the next block
        // too is said once, at the end.
        let n = texts.len();
        for i in 0..n.saturating_sub(1) {
            let later: Vec<String> = texts[i + 1..].iter().flat_map(|t| t.lines().map(str::to_string)).collect();
            let kept: Vec<&str> =
                texts[i].lines().filter(|l| !(l.starts_with("口径：") && later.iter().any(|x| x == l))).collect();
            texts[i] = kept.join("\n");
        }
        texts.join("\n\n")
    }

    /// The glossary phrases of an English question (`Who approves credit limits?`), each as its
    /// Chinese terms (normalized); `None` for a Chinese question or when the glossary knows none.
    fn english_phrases(&self, question: &str) -> Option<Vec<Vec<String>>> {
        if !lodestar_dict::glossary::is_latin_question(question) {
            return None;
        }
        let groups: Vec<Vec<String>> = self
            .dicts
            .glossary
            .phrases(question)
            .into_iter()
            .map(|e| e.zh.iter().map(|z| norm_key(z)).collect())
            .collect();
        (!groups.is_empty()).then_some(groups)
    }

    /// The question's content units for picking excerpts: for an English question, those of the
    /// Chinese terms of its glossary phrases (plus its codes, e.g. `40.00r57`).
    fn question_units(&self, question: &str) -> Vec<String> {
        let units = content_units(question);
        if !lodestar_dict::glossary::is_latin_question(question) {
            return units;
        }
        let mut zh = self.dicts.glossary.expand(question);
        // the countries and customers it names in English, by their Chinese names, as the
        // documents write them (`South Korea` → 韩国: the table row about 韩国 is the excerpt)
        zh.extend(self.chinese_names(question));
        if zh.is_empty() {
            return units;
        }
        let mut out = content_units(&zh.join(" "));
        for u in units {
            let code = u.chars().any(|c| c.is_ascii_digit()) && u.chars().any(|c| c.is_alphabetic());
            if code && !out.contains(&u) {
                out.push(u);
            }
        }
        out
    }

    /// The Chinese names of the countries and customers an English question names (by an ASCII name
    /// or alias of four letters or more, as a whole word).
    fn chinese_names(&self, question: &str) -> Vec<String> {
        let lower = question.to_lowercase();
        let named = |name: &str| {
            let n = name.trim().to_lowercase();
            n.len() >= 4 && n.is_ascii() && {
                lower.match_indices(n.as_str()).any(|(i, _)| {
                    let before = lower[..i].chars().next_back();
                    let after = lower[i + n.len()..].chars().next();
                    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
                })
            }
        };
        let countries = self.dicts.countries.iter().filter(|c| c.all_names().any(named)).map(|c| c.name_zh.clone());
        let customers = self.dicts.customers.iter().filter(|c| c.all_names().any(named)).map(|c| c.name_zh.clone());
        countries.chain(customers).filter(|n| !n.is_empty()).collect()
    }

    /// Does `text` name a customer the dictionaries know (a name or alias of two characters or
    /// more, Latin ones case-insensitive)?
    fn names_a_customer(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        self.dicts
            .customers
            .iter()
            .any(|c| c.all_names().filter(|n| n.chars().count() >= 2).any(|n| lower.contains(&n.to_lowercase())))
    }

    /// A Chinese question's colloquial words (`铲车`, `放炮`) with the documents' wording for them
    /// (`装载机`, `爆破`, from `synonyms.csv`), normalized; none for an English question.
    fn colloquial_terms(&self, question: &str) -> Vec<(String, Vec<String>)> {
        if lodestar_dict::glossary::is_latin_question(question) {
            return Vec::new();
        }
        self.dicts
            .synonyms
            .matches(question)
            .into_iter()
            .map(|e| (norm_key(&e.term), e.canonical.iter().map(|c| norm_key(c)).collect()))
            .collect()
    }

    /// Keeps the hits that are evidence for the question (enough shared words, about the customer
    /// / spec the question names), best first, and drops those far below the best.
    ///
    /// Order: the share of the question's words a chunk covers (plus a bonus when it is about the
    /// named customer) plus [`RANK_WEIGHT`] × its retrieval score relative to the top hit, so word
    /// coverage decides between closely ranked chunks; a chunk more than [`EVIDENCE_MARGIN`] below
    /// the best is not cited.
    pub fn evidence_hits(&self, question: &str, route: &Route, hits: Vec<Hit>) -> Vec<Hit> {
        let units = content_units(question);
        // An English question: coverage is counted over its glossary phrases, each met by any of
        // its Chinese terms (`credit limit` → 信用额度 / 额度 / 限额).
        let english = self.english_phrases(question);
        // Stretches of the question made of CJK text (e.g. `巴西`, `高铁票价`): each must show up in
        // the chunk at least in part, so a question about something the bases never mention is not
        // answered from a chunk that merely shares its generic words (`经销商`).
        let segments: Vec<Vec<String>> = crate::route::content_segments(question)
            .into_iter()
            .filter(|seg| seg.iter().any(|u| u.chars().count() >= 2 && u.chars().all(crate::route::is_cjk)))
            // `措施`, `情况`: words naming the kind of answer wanted, not its topic
            .filter(|seg| !seg.iter().all(|u| GENERIC_ASK_WORDS.contains(&u.as_str())))
            .collect();
        let customers: Vec<&lodestar_dict::Customer> = route
            .filters
            .iter()
            .filter(|f| f.dim == Dim::Customer)
            .filter_map(|f| self.dicts.customer_by_id(&f.code))
            .collect();
        let specs: Vec<String> = route.specs.iter().map(|s| norm_key(s)).collect();
        let top = hits.iter().map(|h| h.score).fold(0f32, f32::max);
        let months = question_months(question);
        let colloquial = self.colloquial_terms(question);
        let misses = |hay: &str| -> Vec<String> {
            segments
                .iter()
                .filter(|seg| !seg.iter().any(|u| hay.contains(u.as_str())))
                .map(|seg| seg.concat())
                .collect()
        };
        // the best-ranked hit meeting every stretch of the question (its words or, through
        // synonyms.csv, their document wording), when the retrievers ranked it high
        let hays: Vec<String> = hits.iter().map(|h| credited_hay(h, &colloquial)).collect();
        let first_full_cover: Option<usize> =
            hays.iter().position(|hay| misses(hay).is_empty()).filter(|&i| hits[i].score >= JUDGE_MIN_FUSED);
        let mut kept: Vec<(Hit, f32)> = hits
            .into_iter()
            .zip(hays)
            .enumerate()
            .filter_map(|(i, (h, hay))| {
                let about_customer = customers.iter().all(|c| {
                    h.customers.iter().any(|id| id == &c.id)
                        || c.all_names().any(|n| {
                            let k = norm_key(n);
                            k.chars().count() >= 3 && hay.contains(&k)
                        })
                });
                let about_spec = specs.iter().all(|s| hay.contains(s.as_str()));
                // entity mentions count double: a dossier about the named customer is evidence even
                // when the question's wording differs
                let mut score = match &english {
                    Some(groups) => {
                        groups.iter().filter(|alts| alts.iter().any(|a| hay.contains(a.as_str()))).count() as f32
                            / groups.len() as f32
                    }
                    None => prompt::overlap(&units, &hay),
                };
                if !customers.is_empty() && about_customer {
                    score += 0.2;
                }
                let missing = misses(&hay);
                let rank = if top > 0.0 { h.score / top } else { 0.0 };
                // The retrievers' first pick covering most of the question: one missing two-character
                // word (`最晚`, `评级`: the documents say it otherwise) among three or more stretches
                // does not veto it, unless that word names a place the bases may simply not cover.
                // (the fused score is min-max normalized per retriever: near 1 only for the chunk
                // both BM25 and the vectors put first)
                let first = rank >= FIRST_PICK && h.score >= FIRST_PICK;
                let tolerable = |m: &String| {
                    m.chars().count() == 2 && !crate::route::FOREIGN_COUNTRIES.iter().any(|c| m.contains(c))
                };
                let segments_ok = missing.is_empty()
                    || (first
                        && score >= TOLERANT_OVERLAP
                        && segments.len() >= 3
                        && missing.len() == 1
                        && tolerable(&missing[0]));
                // A long colloquial question (`货好以后客户一直不打款，从哪天开始收仓储费`) shares few of
                // its words with the rule it asks about; the first pick meeting every stretch is
                // enough, and so is the best-ranked one when those above it each miss a stretch
                // (`拜访完忘录 CRM 了，最晚啥时候得补上` → the chunk with `录入时限`).
                let full_cover = first || first_full_cover == Some(i);
                let overlap_ok = score >= MIN_OVERLAP
                    || (full_cover && missing.is_empty() && segments.len() >= 2 && score >= LOW_OVERLAP_FIRST_PICK);
                tracing::debug!(
                    doc = %h.doc, section = %h.section, fused = h.score, overlap = score,
                    ?missing, about_customer, about_spec, "evidence gate"
                );
                // the top hit, when the retrievers agree on it strongly or it holds most of the
                // question's words, is evidence whatever the wording (paraphrases, colloquial words)
                // — unless the missing words name a place the bases may simply not cover (`巴西`)
                let foreign_missing =
                    missing.iter().any(|m| crate::route::FOREIGN_COUNTRIES.iter().any(|c| m.contains(c)));
                let top_hit = rank >= 0.999 && !foreign_missing;
                let strong_first = top_hit && h.score >= STRONG_FIRST_PICK && score >= STRONG_FIRST_MIN_OVERLAP;
                let wide = top_hit && h.score >= WIDE_OVERLAP_MIN_FUSED && score >= WIDE_OVERLAP;
                let ok = about_customer && about_spec && ((segments_ok && overlap_ok) || strong_first || wide);
                // `9月经营分析会`: a document dated in the month the question names comes first
                let dated = !months.is_empty() && months.iter().any(|m| doc_in_month(&h.doc, &h.title, *m));
                // `B级客户的付款条件`: the chunk holding the `| B | …` row comes before the notes
                // under the same table
                let row = ok && prompt::has_answer_row(&h.text, question);
                let bonus = if dated { MONTH_BONUS } else { 0.0 } + if row { ROW_BONUS } else { 0.0 };
                ok.then_some((h, score + RANK_WEIGHT * rank + bonus))
            })
            .collect();
        kept.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        let best = kept.first().map(|k| k.1).unwrap_or(0.0);
        let mut seen = Vec::new();
        kept.into_iter()
            .filter(|(h, v)| *v >= best - EVIDENCE_MARGIN && first_of_its_kind(&mut seen, &h.text))
            .map(|(h, _)| h)
            .collect()
    }

    /// The retrievers' first picks the evidence judge reads when the words admitted no source:
    /// up to [`prompt::MAX_SOURCES`] hits, best first, with a fused score of at least
    /// [`JUDGE_MIN_FUSED`], about the asked customers and specs, holding every code the question
    /// names (`V`, `XL`, `E-4`, `40HQ`: a passage about another speed rating or tread is about
    /// something else), no foreign place of the question missing, and sharing at least
    /// [`BORDERLINE_OVERLAP`] of the question's words (its glossary phrases for an English one).
    /// They come in the order of their best sentence or row for the question (see
    /// [`prompt::best_piece_score`]; `| 展位 | 10 号馆 … |` for `展位在几号馆`), not of their
    /// retrieval score: the first source gets the most room in the prompt.
    ///
    /// `deep`: the deeper search for a named code, where a hit holding every code the question
    /// names needs only [`JUDGE_MIN_FUSED_CODE`].
    fn judge_candidates(&self, question: &str, route: &Route, hits: &[Hit], deep: bool) -> Vec<Hit> {
        let units = self.question_units(question);
        let customers: Vec<&lodestar_dict::Customer> = route
            .filters
            .iter()
            .filter(|f| f.dim == Dim::Customer)
            .filter_map(|f| self.dicts.customer_by_id(&f.code))
            .collect();
        let codes: Vec<String> = question_codes(question).collect();
        let colloquial = self.colloquial_terms(question);
        // a hit holding every code the question names (`V` in `速度级别标 V`) was found by its
        // exact token, which the embedding does not see: a lower floor
        let holds_codes = |h: &Hit| {
            let hay = norm_key(&format!("{} {} {}", h.title, h.section, h.text));
            !codes.is_empty() && codes.iter().all(|c| holds_code(&hay, c))
        };
        let mut ranked: Vec<&Hit> = hits
            .iter()
            .filter(|h| h.score >= JUDGE_MIN_FUSED || deep && h.score >= JUDGE_MIN_FUSED_CODE && holds_codes(h))
            .collect();
        ranked.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal));
        let mut out: Vec<(Hit, f32)> = Vec::new();
        let mut seen = Vec::new();
        for h in ranked {
            let hay = credited_hay(h, &colloquial);
            let overlap = prompt::overlap(&units, &hay);
            let customers_ok = customers.iter().all(|c| h.customers.iter().any(|id| id == &c.id));
            let specs_ok = route.specs.iter().all(|s| hay.contains(norm_key(s).as_str()));
            let foreign_missing =
                crate::route::FOREIGN_COUNTRIES.iter().any(|c| question.contains(c) && !hay.contains(c));
            let codes_ok = codes.iter().all(|c| holds_code(&hay, c));
            tracing::debug!(doc = %h.doc, fused = h.score, overlap, customers_ok, specs_ok, foreign_missing, codes_ok, "judge candidate");
            if overlap >= BORDERLINE_OVERLAP
                && customers_ok
                && specs_ok
                && codes_ok
                && !foreign_missing
                && first_of_its_kind(&mut seen, &h.text)
            {
                out.push((h.clone(), prompt::best_piece_score(&h.text, question, &units)));
            }
        }
        // stable: by fused score between equals
        out.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        out.into_iter().take(prompt::MAX_SOURCES).map(|(h, _)| h).collect()
    }

    /// Is the question's tie to its routed customers weak: is every routed customer either named
    /// only inside a longer word (`阿拉木图轮胎` in `阿拉木图轮胎展`), or not named whole at all but by
    /// the start of its name (`阿拉木图那个轮胎展`: a name start that is also a city)? A customer
    /// carried over from the conversation, named nowhere in the question, is not weak.
    fn customer_match_is_weak(&self, question: &str, route: &Route) -> bool {
        const PARTICLES: &str = "的在是有和与及、，。？！：；还都也要给对从向把被将能会该为了吗呢么";
        let q: Vec<char> = question.chars().collect();
        let customers: Vec<&lodestar_dict::Customer> = route
            .filters
            .iter()
            .filter(|f| f.dim == Dim::Customer)
            .filter_map(|f| self.dicts.customer_by_id(&f.code))
            .collect();
        if customers.is_empty() {
            return false;
        }
        customers.iter().all(|c| {
            let mut found = false;
            let mut all_embedded = true;
            for name in c.all_names().filter(|n| n.chars().count() >= 2) {
                let n: Vec<char> = name.chars().collect();
                if n.iter().any(|ch| !crate::route::is_cjk(*ch)) {
                    // a Latin or Cyrillic name is a name
                    if question.to_lowercase().contains(&name.to_lowercase()) {
                        found = true;
                        all_embedded = false;
                    }
                    continue;
                }
                for i in 0..q.len().saturating_sub(n.len() - 1) {
                    if q[i..i + n.len()] == n[..] {
                        found = true;
                        let next = q.get(i + n.len());
                        let glued = next.is_some_and(|ch| crate::route::is_cjk(*ch) && !PARTICLES.contains(*ch));
                        if !glued {
                            all_embedded = false;
                        }
                    }
                }
            }
            if !found {
                // named by the start of a Chinese name only (two characters or more of it)
                return c.all_names().any(|name| {
                    let n: Vec<char> = name.chars().take_while(|ch| crate::route::is_cjk(*ch)).collect();
                    (2..n.len()).any(|k| question.contains(&n[..k].iter().collect::<String>()))
                });
            }
            all_embedded
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn answer_from_knowledge(
        &self,
        question: &str,
        route: &Route,
        opts: &AskOptions,
        ans: &mut Answer,
        evidence: &mut Evidence,
        t0: Instant,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<String, RagError> {
        let tr = Instant::now();
        let hits = match &self.retriever {
            Some(r) => r.search(question, &opts.principal, &opts.kbs, RETRIEVE_K)?,
            None => {
                ans.warnings.push("知识库索引不可用（请先运行 `lodestar index build`）".into());
                Vec::new()
            }
        };
        // Belt and braces: whatever the retriever did, nothing above the asker's clearance or
        // outside the asked knowledge bases goes further.
        let hits: Vec<Hit> = hits
            .into_iter()
            .filter(|h| {
                opts.principal.can_read(h.kb, h.sensitivity) && (opts.kbs.is_empty() || opts.kbs.contains(&h.kb))
            })
            .collect();
        let mut hits_ev = self.evidence_hits(question, route, hits.clone());
        // `阿拉木图轮胎展`, `阿拉木图那个轮胎展`: a customer alias inside a longer word, or the start
        // of a customer's name that is also a place, is weak evidence that the question is about
        // that customer; when nothing about it is evidence, look again without requiring it.
        let loose = (hits_ev.is_empty() && self.customer_match_is_weak(question, route)).then(|| {
            let mut loose = route.clone();
            loose.filters.retain(|f| f.dim != Dim::Customer);
            loose
        });
        if let Some(loose) = &loose {
            hits_ev = self.evidence_hits(question, loose, hits.clone());
        }
        // No evidence by the words, but a chat model is there: the retrievers' first picks about
        // the asked customer, spec and codes (a paraphrase or a colloquial question shares few
        // words with its rule) go to the judge below.
        let by_words = !hits_ev.is_empty();
        if !by_words && self.generator.is_some() {
            let judge_route = loose.as_ref().unwrap_or(route);
            hits_ev = self.judge_candidates(question, judge_route, &hits, false);
            // none, and a code named: look deeper for the code
            if hits_ev.is_empty() && question_codes(question).next().is_some() {
                if let Some(r) = &self.retriever {
                    let more: Vec<Hit> = r
                        .search(question, &opts.principal, &opts.kbs, RETRIEVE_K_CODES)?
                        .into_iter()
                        .filter(|h| {
                            opts.principal.can_read(h.kb, h.sensitivity)
                                && (opts.kbs.is_empty() || opts.kbs.contains(&h.kb))
                        })
                        .collect();
                    hits_ev = self.judge_candidates(question, judge_route, &more, true);
                }
            }
        }
        let hits = hits_ev;
        ans.timings_ms.retrieve = ms(tr);
        ans.needs_review = true;

        if hits.is_empty() {
            ans.no_evidence = true;
            let s = format!("{NO_EVIDENCE}。");
            on_text(&s);
            return Ok(s);
        }
        // what excerpts and quotes are picked by
        let units = self.question_units(question);

        // A year the question names that no source mentions (`2027年的返利档位` over the 2026
        // policy): the sources are about another year — say so rather than answer from them.
        let absent_years = years_absent(question, &hits);
        if !absent_years.is_empty() {
            ans.no_evidence = true;
            if !by_words {
                let s = format!("{NO_EVIDENCE}。");
                on_text(&s);
                return Ok(s);
            }
            let named = absent_years.iter().map(|y| year_phrase(question, y)).collect::<Vec<_>>().join("”“");
            let s = missing_detail_answer(question, Some(&named), &units, &hits, ans);
            on_text(&s);
            return Ok(s);
        }

        let Some(generator) = &self.generator else {
            let s =
                quote_passages(question, &units, &hits, "未加载对话模型，以下为知识库中的相关原文摘录：", true, ans);
            on_text(&s);
            return Ok(s);
        };

        let count = |t: &str| generator.count_tokens(t).unwrap_or_else(|_| prompt::estimate_tokens(t));
        let (user, sources) = prompt::build_user_turn(question, &units, &hits, &count, opts.prompt_budget);
        tracing::debug!(prompt = %user, "user turn");
        if hits.iter().take(prompt::MAX_SOURCES).any(|h| prompt::sanitize(&h.text).1) {
            push_unique(&mut ans.warnings, "检索资料中含有疑似提示注入的指令文字，已忽略");
        }
        for s in &sources {
            evidence.add_text(&s.excerpt);
            evidence.add_text(&s.hit.title);
        }

        // The evidence judge: do these sources answer the question? One forward pass over the same
        // turn with a yes/no last line; its KV cache then serves the answer's prompt.
        let tj = Instant::now();
        let judge_messages = [ChatMessage::system(prompt::SYSTEM_PROMPT), ChatMessage::user(prompt::judge_turn(&user))];
        let p_yes = match generator.choose(&judge_messages, &prompt::JUDGE_OPTIONS) {
            Ok(p) => p.first().copied().unwrap_or(0.0),
            Err(e) => {
                // no judge: sources the words admitted are kept, the retrievers' guesses are not
                tracing::warn!(error = %e, "evidence judge failed");
                if by_words {
                    1.0
                } else {
                    0.0
                }
            }
        };
        ans.timings_ms.judge = ms(tj);
        tracing::debug!(p_yes, by_words, "evidence judge");
        ans.evidence_judge = Some(p_yes);
        if p_yes < if by_words { JUDGE_YES_WORDS } else { JUDGE_YES_RETRIEVED } {
            ans.no_evidence = true;
            if by_words {
                // about the right subject, without the asked detail: say which, then show what
                // the sources do say
                let s = missing_detail_answer(question, None, &units, &hits, ans);
                on_text(&s);
                return Ok(s);
            }
            let s = format!("{NO_EVIDENCE}。");
            on_text(&s);
            return Ok(s);
        }
        // sources the judge admitted without the words: an answer with a figure they do not hold
        // is refused rather than shown (below)
        let borderline = !by_words;
        let messages = [ChatMessage::system(prompt::SYSTEM_PROMPT), ChatMessage::user(user)];
        let params = GenParams {
            max_tokens: opts.max_tokens,
            temperature: 0.0,
            repeat_penalty: 1.1,
            stop: vec!["<|im_end|>".into(), "【资料】".into()],
            cancel: opts.cancel.clone(),
            ..GenParams::default()
        };
        let mut first: Option<f64> = None;
        // Hold the answer's lead back until it can be told whether it is a sentence or a bare
        // fragment (`推荐 [1]`), so that what the reader sees streamed is what the answer says in
        // the end: a fragment is streamed after the question's stem (see below), and a leading
        // run of bare citation markers (`[2]`) never reaches the stream on its own.
        let mut held = String::new();
        let mut lead: Option<bool> = None;
        let stem = question_stem(question);
        let gen = generator
            .generate(&messages, &params, &mut |piece| {
                if first.is_none() && !piece.is_empty() {
                    first = Some(ms(t0));
                }
                if lead.is_some() {
                    on_text(piece);
                } else {
                    held.push_str(piece);
                    lead = fragment_lead(&held, false);
                    match lead {
                        Some(true) => on_text(&expand_fragment(&held, &stem, &sources)),
                        Some(false) => on_text(&held),
                        None => {}
                    }
                }
                ControlFlow::Continue(())
            })
            .map_err(RagError::Model)?;
        ans.ttft_ms = first;
        ans.timings_ms.prefill = gen.stats.prefill_ms;
        ans.timings_ms.decode = gen.stats.decode_ms;
        ans.gen_stats = Some(gen.stats.clone());
        // A marker past the last source (`[3]` when two were given) points nowhere: with one source
        // it can only mean that one; with several it is dropped (the quotes name the sources).
        let n_sources = sources.len();
        let raw = rewrite_markers(gen.text.trim(), |m| {
            let n: usize = m.trim().parse().ok()?;
            (n == 0 || n > n_sources).then(|| if n_sources == 1 { "[1]".to_string() } else { String::new() })
        });

        tracing::debug!(answer = %raw, "model answer");
        // Only citation markers and punctuation (`[1] [2]`): the model said nothing; quote the
        // passages instead of showing an empty answer.
        let said: String = strip_markers(&raw).chars().filter(|c| c.is_alphanumeric()).collect();
        if said.chars().count() < 2 {
            ans.warnings.push("模型未给出有效回答，改为列出相关原文摘录".into());
            let s = quote_passages(question, &units, &hits, "以下为知识库中的相关原文摘录：", true, ans);
            on_text(&format!("\n{s}"));
            return Ok(s);
        }

        // The model restated the question without an answer (`索科洛娃的电话是 [1]。`, `BC-C 配方是 [1]`):
        // a detail the sources lack is named; otherwise the passages are quoted for the reader.
        if restates_question(&raw, question) {
            if borderline {
                ans.no_evidence = true;
                ans.citations.clear();
                let s = format!("{NO_EVIDENCE}。");
                on_text(&format!("\n{s}"));
                return Ok(s);
            }
            if !missing_details(question, &hits).is_empty() {
                ans.no_evidence = true;
                let s = missing_detail_answer(question, None, &units, &hits, ans);
                on_text(&format!("\n{s}"));
                return Ok(s);
            }
            ans.warnings.push("模型未给出有效回答，改为列出相关原文摘录".into());
            let s = quote_passages(question, &units, &hits, "以下为知识库中的相关原文摘录：", true, ans);
            on_text(&format!("\n{s}"));
            return Ok(s);
        }
        if borderline && raw.contains(NO_EVIDENCE) {
            ans.no_evidence = true;
            ans.citations.clear();
            let s = format!("{NO_EVIDENCE}。");
            on_text(&format!("\n{s}"));
            return Ok(s);
        }
        if raw.contains(NO_EVIDENCE) && raw.chars().count() < NO_EVIDENCE.chars().count() + 20 {
            // The model found nothing in sources the evidence gate admitted: small models refuse
            // answerable questions, so quote the passages (cited, for the reader to check) instead
            // of refusing.
            ans.warnings.push("模型未能依据资料作答，改为列出相关原文摘录".into());
            let s = quote_passages(question, &units, &hits, "以下为知识库中的相关原文摘录：", true, ans);
            on_text(&format!("\n{s}"));
            return Ok(s);
        }
        // The model says the sources lack what was asked (`资料中没有提到…`): a refusal naming that
        // detail, with what the sources do say.
        if let Some(named) = model_missing_detail(&raw, question) {
            ans.no_evidence = true;
            if borderline {
                ans.citations.clear();
                let s = format!("{NO_EVIDENCE}。");
                on_text(&format!("\n{s}"));
                return Ok(s);
            }
            let s = missing_detail_answer(question, Some(&named), &units, &hits, ans);
            on_text(&format!("\n{s}"));
            return Ok(s);
        }
        // The answer states the very thing the question asks that no source mentions (`…定在…的
        // 餐厅` when the sources never say 餐厅), and the judge was not sure the sources answer: the
        // model filled the gap — name the missing detail instead.
        if !borderline && p_yes < JUDGE_CONFIDENT {
            let said = strip_markers(&raw);
            // a detail is a short noun (`餐厅`, `电话号码`); a long stretch is the question's own
            // clause in other words (`一个多月才来找我说`), which an answer may well repeat
            let echoed: Vec<String> = missing_details(question, &hits)
                .into_iter()
                .filter(|m| m.chars().count() <= ECHO_DETAIL_CHARS && said.contains(m.as_str()))
                .collect();
            if !echoed.is_empty() {
                ans.no_evidence = true;
                let s = missing_detail_answer(question, Some(&echoed.join("”“")), &units, &hits, ans);
                on_text(&format!("\n{s}"));
                return Ok(s);
            }
        }
        // The question asks which customers (`哪几家客户`, route_cues.csv `asks_customer`) and the
        // answer names none the dictionaries know (`巨胎与矿山客户`), while the judge was unsure:
        // the sources do not give the names.
        if p_yes < JUDGE_CONFIDENT {
            let lower = question.to_lowercase();
            let asked = self.dicts.vocab.route.get("asks_customer").first_listed_in(&lower);
            if let Some(asked) = asked.filter(|_| !self.names_a_customer(&raw)) {
                ans.no_evidence = true;
                let s = if borderline {
                    ans.citations.clear();
                    format!("{NO_EVIDENCE}。")
                } else {
                    missing_detail_answer(question, Some(asked), &units, &hits, ans)
                };
                on_text(&format!("\n{s}"));
                return Ok(s);
            }
        }
        let report = guard::check(&raw, evidence, sources.len());
        if !borderline && !report.flagged.is_empty() && p_yes < JUDGE_CONFIDENT {
            // a figure no source holds, in an answer the judge was not sure the sources give: the
            // detail is most likely not there — say so rather than show an invented figure
            ans.no_evidence = true;
            ans.flagged = report.flagged.clone();
            let s = missing_detail_answer(question, None, &units, &hits, ans);
            on_text(&format!("\n{s}"));
            return Ok(s);
        }
        if borderline && !report.flagged.is_empty() {
            // a figure the close-but-not-certain passage does not hold: no answer rather than a
            // confident wrong one
            ans.no_evidence = true;
            ans.flagged = report.flagged.clone();
            let s = format!("{NO_EVIDENCE}。");
            on_text(&format!("\n{s}"));
            return Ok(s);
        }
        for f in &report.flagged {
            ans.warnings.push(format!("未核实的数字或编号：{f}（不在工具结果或引用资料中，见文末脚注）"));
        }
        ans.flagged = report.flagged.clone();
        let mut cited: Vec<&PromptSource> = if report.cited.is_empty() {
            sources.iter().collect()
        } else {
            report.cited.iter().filter_map(|n| sources.get(n - 1)).collect()
        };
        // The other sources the words admitted follow the cited ones: a small model answers from
        // its first source and leaves out the one that holds the decision (`9月经营分析会对 40.00R57
        // 是怎么分配的` — the action item cited, the allocation in [3] not).
        if !borderline {
            for src in &sources {
                if !cited.iter().any(|c| std::ptr::eq(*c, src)) {
                    cited.push(src);
                }
            }
        }
        // The supporting lines under the answer: a small model may pick the wrong table row or
        // leave a figure out; the quoted source lets the reader check it at a glance.
        let mut quotes = String::new();
        for (n, src) in sources.iter().enumerate() {
            if !cited.iter().any(|c| std::ptr::eq(*c, src)) || quotes.matches('\n').count() >= MAX_QUOTES {
                continue;
            }
            // from the whole chunk, not the prompt excerpt: the reader is not bound by the prompt budget
            let (clean, _) = prompt::sanitize(&src.hit.text);
            let q = prompt::reader_excerpt(&clean, question, &units, QUOTE_TOKENS, &prompt::estimate_tokens);
            let q = q.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
            // the answer already says it (the model copied the source): no need to repeat it
            let q_units = content_units(&q);
            let said = norm_key(&report.text);
            let repeated = !q_units.is_empty()
                && q_units.iter().filter(|u| said.contains(u.as_str())).count() * 5 >= q_units.len() * 4;
            if !q.is_empty() && !repeated {
                quotes.push_str(&format!("\n[{}] 《{}》：{}", n + 1, src.hit.title, q));
            }
        }
        // Number the sources as they are listed (1, 2, … in citation order), in the text too.
        let renumber: Vec<(usize, usize)> = cited
            .iter()
            .enumerate()
            .filter_map(|(i, c)| sources.iter().position(|s| std::ptr::eq(*c, s)).map(|orig| (orig + 1, i + 1)))
            .collect();
        let quotes = renumber_markers(&quotes, &renumber);
        ans.citations = cited.into_iter().map(citation).collect();
        // the reader sees untraced figures in a footnote, not as glyphs inside the sentence;
        // `flagged` and the warnings keep them for programs
        let mut base = report.text.replace(guard::MARK, "");
        // A bare fragment (`30 天 [1]`, `推荐 [1]`) reads as a sentence once it restates what was
        // asked: `49 寸以上的巨胎要提前多少天订舱：45 天 [1]`, and a table cell as its rows (decided
        // as it was streamed, when it was; before renumbering, so its marker names its source).
        let fragment = lead.or_else(|| fragment_lead(&base, true)).unwrap_or(false);
        if fragment && !base.contains(NO_EVIDENCE) {
            base = expand_fragment(&base, &stem, &sources);
        }
        let mut text = renumber_markers(&base, &renumber);
        if lead.is_none() {
            // nothing of the answer was streamed yet (a short answer without a marker)
            on_text(&text);
        }
        // A model that answered and then also wrote the refusal sentence contradicts itself: the
        // evidence gate found sources, so drop the refusal and keep the answer (flags included).
        if text.contains(NO_EVIDENCE) {
            let rest = text.replace(&format!("{NO_EVIDENCE}。"), "").replace(NO_EVIDENCE, "");
            if strip_markers(&rest).chars().filter(|c| c.is_alphanumeric()).count() >= 8 {
                text = rest.trim().to_string();
            }
        }
        if !quotes.is_empty() {
            let block = format!("\n\n原文摘录：{quotes}");
            on_text(&block);
            text.push_str(&block);
        }
        if !report.flagged.is_empty() {
            let note = format!("\n\n⚠ 未在来源中找到：{}（请核实后使用）", report.flagged.join("、"));
            on_text(&note);
            text.push_str(&note);
        }
        Ok(text)
    }
}

/// Months named in the question (`9月`, `2026年9月`, `九月`).
fn question_months(q: &str) -> Vec<u32> {
    let c: Vec<char> = crate::route::cn_numeral_months(q).chars().collect();
    let mut out = Vec::new();
    for i in 0..c.len() {
        if c[i] != '月' {
            continue;
        }
        let mut j = i;
        while j > 0 && c[j - 1] == ' ' {
            j -= 1;
        }
        let end = j;
        while j > 0 && c[j - 1].is_ascii_digit() {
            j -= 1;
        }
        if j < end && end - j <= 2 {
            // `1-9月` is a range, not a month of a document
            if j > 0 && matches!(c[j - 1], '-' | '–' | '~' | '至') {
                continue;
            }
            if let Ok(m) = c[j..end].iter().collect::<String>().parse::<u32>() {
                if (1..=12).contains(&m) {
                    out.push(m);
                }
            }
        }
    }
    out
}

/// Is the document dated in month `m` (path `…2026-09…` or title `…9月…`)?
fn doc_in_month(doc: &str, title: &str, m: u32) -> bool {
    let in_path = doc.contains(&format!("-{m:02}-")) || doc.contains(&format!("-{m:02}."));
    let t: String = title.chars().filter(|c| *c != ' ').collect();
    let tc: Vec<char> = t.chars().collect();
    let ms: Vec<char> = format!("{m}月").chars().collect();
    let in_title = (0..tc.len().saturating_sub(ms.len() - 1))
        .any(|i| tc[i..i + ms.len()] == ms[..] && (i == 0 || !tc[i - 1].is_ascii_digit()));
    in_path || in_title
}

/// Rewrites each `[…]` whose inside `f` accepts with what `f` returns; other text is kept.
fn rewrite_markers(text: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(']').filter(|&j| j > 0).and_then(|j| f(&after[..j]).map(|r| (j, r))) {
            Some((j, r)) => {
                out.push_str(&r);
                rest = &after[j + 1..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The inside of a citation marker: `1`, `1, 2`.
fn is_marker_body(m: &str) -> bool {
    m.chars().all(|c| c.is_ascii_digit() || c == ',' || c == ' ')
}

/// Whether streamed text holds more than citation markers — a marker still being streamed
/// (`[1` before its `]`) counts as a marker.
/// Whether an answer's lead — its text before the first citation marker, leading markers
/// aside — is a bare fragment (fewer than [`FRAGMENT_CHARS`] letters or digits, `推荐 [1]`).
/// While the answer is still coming (`complete` false) this is `None` until it can be told: a
/// marker after some text, or a lead long enough.
fn fragment_lead(text: &str, complete: bool) -> Option<bool> {
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix('[') {
        match after.find(']') {
            Some(j) if is_marker_body(&after[..j]) => rest = after[j + 1..].trim_start(),
            _ => break,
        }
    }
    let (lead, marked) = match rest.find('[') {
        // a marker still being streamed (`推荐 [`, `推荐 [1`): wait for its `]`, so that the lead
        // is decided with the source it cites
        Some(i) if !complete && !rest[i..].contains(']') => return None,
        Some(i) => (&rest[..i], true),
        None => (rest, false),
    };
    let n = lead.chars().filter(|c| c.is_alphanumeric()).count();
    if n >= FRAGMENT_CHARS {
        Some(false)
    } else if (marked && n > 0) || complete {
        Some(true)
    } else {
        None
    }
}

/// Most table rows a bare cell value stands for in [`expand_fragment`].
const FRAGMENT_ROWS: usize = 3;

/// A bare fragment answer (`30 天 [1]`, `推荐 [1]`) written out after the question's stem. When
/// the fragment is a whole table cell of the source its first marker cites, the rows holding that
/// cell, read as sentences, stand for it (`11R22.5 适合哪些矿山工况：矿山工况：露天煤矿煤炭倒运，是否推荐：推荐，… [1]`):
/// a cell alone says nothing.
fn expand_fragment(text: &str, stem: &str, sources: &[PromptSource]) -> String {
    let t = text.trim_start();
    let mut rest = t;
    while let Some(after) = rest.strip_prefix('[') {
        match after.find(']') {
            Some(j) if is_marker_body(&after[..j]) => rest = after[j + 1..].trim_start(),
            _ => break,
        }
    }
    let marker = rest
        .char_indices()
        .find(|&(i, c)| c == '[' && rest[i + 1..].find(']').is_some_and(|j| is_marker_body(&rest[i + 1..i + 1 + j])));
    let plain = format!("{stem}：{t}");
    let Some((i, _)) = marker else { return plain };
    let value = rest[..i].trim().trim_matches(|c: char| !c.is_alphanumeric());
    let body_end = rest[i + 1..].find(']').map(|j| i + 1 + j).unwrap_or(i);
    let n: usize = rest[i + 1..body_end].split([',', '，']).next().and_then(|d| d.trim().parse().ok()).unwrap_or(1);
    // the cited source first, then the others (a model may cite the wrong number)
    let cited = n.saturating_sub(1);
    let order = std::iter::once(cited).chain((0..sources.len()).filter(|&k| k != cited));
    let Some(rows) = order
        .filter_map(|k| sources.get(k))
        .map(|src| prompt::rows_with_cell(&prompt::sanitize(&src.hit.text).0, value))
        .find(|rows| !rows.is_empty())
    else {
        return plain;
    };
    let rows: Vec<&str> = rows.iter().take(FRAGMENT_ROWS).map(|r| r.trim_end_matches('。')).collect();
    format!("{stem}：{} {}", rows.join("；"), &rest[i..])
}

/// The text without `[n]` / `[1, 2]` citation markers.
fn strip_markers(text: &str) -> String {
    rewrite_markers(text, |m| is_marker_body(m).then(String::new))
}

/// The years the question names (`2027年`, `2027 年`, `in 2027?`) that none of `hits` (title, section or
/// text) mentions.
fn years_absent(question: &str, hits: &[Hit]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let q = lodestar_core::text::to_halfwidth(question);
    for m in lodestar_core::regex!(r"[0-9]+").find_iter(&q) {
        let run = m.as_str();
        // part of a code or a number (`BC-RU-2026-0412`, `2026.5`, `C2026`) is not a year
        let glued =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.' | ','));
        // a year is written `2027年` / `2027 年`, or ends a phrase (`in 2027?`); `2031 公里` is a figure
        let next = q[m.end()..].trim_start().chars().next();
        let as_year = next.is_none_or(|c| c == '年' || (!c.is_alphanumeric() && !matches!(c, '%' | '％')));
        if run.len() != 4
            || !(run.starts_with("19") || run.starts_with("20"))
            || glued(q[..m.start()].chars().next_back())
            || glued(q[m.end()..].chars().next())
            || !as_year
        {
            continue;
        }
        let y = run.to_string();
        let mentioned = hits.iter().any(|h| h.title.contains(&y) || h.section.contains(&y) || h.text.contains(&y));
        if !mentioned && !out.contains(&y) {
            out.push(y);
        }
    }
    out
}

/// The question's words for a year no source mentions: the year and the stretch of the question
/// right after it that says what of that year (`2027 年经销商年度返利的档位` → `2027年经销商年度返利`),
/// up to the first question word (`route_cues.csv` `stop_phrase`, see `route::content_segments`).
fn year_phrase(question: &str, year: &str) -> String {
    let q = norm_key(&lodestar_core::text::to_halfwidth(question));
    let mut out = format!("{year}年");
    let Some(at) = q.find(year) else { return out };
    let rest = q[at + year.len()..].trim_start();
    let rest = rest.strip_prefix('年').unwrap_or(rest).trim_start();
    let Some(seg) = crate::route::content_segments(rest).into_iter().next() else { return out };
    // a stretch of overlapping character pairs, starting right after the year
    let joined = seg.windows(2).all(|w| w[0].chars().last() == w[1].chars().next());
    let pairs = seg.iter().all(|u| u.chars().count() == 2 && u.chars().all(crate::route::is_cjk));
    if joined && pairs && rest.starts_with(seg[0].as_str()) {
        out.push_str(&seg[0]);
        for u in &seg[1..] {
            out.extend(u.chars().skip(1));
        }
    }
    out
}

/// Whether an answer only restates its question: every word of it (each CJK character, each run of
/// other letters; citation markers aside) is one the question has, and it holds no digit at all —
/// so it gives nothing the question did not (`索科洛娃的电话是 [1]。` for `索科洛娃的电话是多少？`).
/// Picking one of the question's own figures (`填 0.0108` for `填 92.5 还是 0.0108`) is an answer.
fn restates_question(raw: &str, question: &str) -> bool {
    fn words(t: &str) -> Vec<String> {
        let t = lodestar_core::text::to_halfwidth(t).to_lowercase();
        let mut out = Vec::new();
        let mut word = String::new();
        for c in t.chars() {
            if c.is_alphanumeric() && !crate::route::is_cjk(c) {
                word.push(c);
                continue;
            }
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if crate::route::is_cjk(c) {
                out.push(c.to_string());
            }
        }
        if !word.is_empty() {
            out.push(word);
        }
        out
    }
    let q: std::collections::HashSet<String> = words(question).into_iter().collect();
    let a = strip_markers(raw);
    // A yes/no question asked as `X不X` / `X没X` (`能不能`, `算不算`, `有没有`): an answer that
    // keeps one side (`不能…`, `算`) answers it in the question's own words.
    let qc: Vec<char> = question.chars().collect();
    let takes_a_side = qc.windows(3).any(|w| {
        crate::route::is_cjk(w[0])
            && w[0] == w[2]
            && matches!(w[1], '不' | '没')
            && a.contains(w[0])
            && !a.contains(&w.iter().collect::<String>())
    });
    !takes_a_side && !a.chars().any(|c| c.is_ascii_digit()) && words(&a).iter().all(|w| q.contains(w))
}

/// Rewrites `[n]` markers by `map` (old → new); markers not in the map are left alone.
fn renumber_markers(text: &str, map: &[(usize, usize)]) -> String {
    if map.iter().all(|(a, b)| a == b) {
        return text.to_string();
    }
    rewrite_markers(text, |m| {
        let n: usize = m.chars().all(|c| c.is_ascii_digit()).then(|| m.parse().ok()).flatten()?;
        Some(format!("[{}]", map.iter().find(|(a, _)| *a == n).map_or(n, |(_, b)| *b)))
    })
}

/// The question's sentences (split after ？ ? 。 ； ; ！ !).
fn clauses(question: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in question.chars() {
        cur.push(c);
        if matches!(c, '？' | '?' | '。' | '；' | ';' | '！' | '!') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// The route of a mixed question's metric sentences alone (`哈萨克斯坦10月达成率多少？冬季全钢促销有什么
/// 政策` → the first sentence: 全钢 belongs to the policy question, not to the figure); `None` when
/// the question is one sentence or every sentence asks for figures.
fn metric_part_route(router: &Router, question: &str, reference: Month) -> Option<Route> {
    let clauses = clauses(question);
    if clauses.len() < 2 {
        return None;
    }
    let metric: Vec<&String> = clauses
        .iter()
        .filter(|c| {
            let r = router.route(c, reference);
            r.needs_metrics() && !(r.kind == RouteKind::Mixed && r.intents.is_empty())
        })
        .collect();
    if metric.is_empty() || metric.len() == clauses.len() {
        return None;
    }
    let text: String = metric.into_iter().map(|s| s.trim()).collect();
    let r = router.route(&text, reference);
    r.needs_metrics().then_some(r)
}

/// The part of a mixed question to search the knowledge bases with: its clauses that are not
/// metric questions on their own (`俄罗斯9月全钢达成率多少？9月经营分析会提出了什么措施？` → the
/// second clause). The whole question when it has a single clause or every clause is a metric.
fn knowledge_part(router: &Router, question: &str, reference: Month) -> String {
    let clauses = clauses(question);
    if clauses.len() < 2 {
        return without_figure_asks(router, question, reference);
    }
    let kept: Vec<String> = clauses
        .iter()
        .filter(|c| {
            let r = router.route(c, reference);
            !r.needs_metrics() || r.needs_knowledge()
        })
        .map(|c| without_figure_asks(router, c, reference))
        .collect();
    if kept.is_empty() {
        question.to_string()
    } else {
        kept.iter().map(|s| s.trim()).collect::<Vec<_>>().join("")
    }
}

/// A clause without the asks joined to it (route_cues.csv `ask_conjunction`: 和, 以及) that
/// are figures for the rule engine alone (a metric intent, nothing for the documents):
/// `阿尔泰矿业的付款条件和2026年9月销售额` → `阿尔泰矿业的付款条件`, so that the model is not asked
/// for a figure the engine gives (and does not answer it from a passage about another figure).
fn without_figure_asks(router: &Router, clause: &str, reference: Month) -> String {
    let conj = router.dicts().vocab.route.get("ask_conjunction");
    let lower = clause.to_lowercase();
    let mut cuts: Vec<(usize, usize)> = conj
        .words()
        .iter()
        .flat_map(|w| lower.match_indices(w.as_str()).map(|(i, m)| (i, i + m.len())).collect::<Vec<_>>())
        .collect();
    if cuts.is_empty() || lower.len() != clause.len() {
        return clause.to_string();
    }
    cuts.sort_unstable();
    let mut parts: Vec<&str> = Vec::new();
    let mut start = 0;
    for (a, b) in cuts {
        if a < start {
            continue;
        }
        parts.push(&clause[start..a]);
        start = b;
    }
    parts.push(&clause[start..]);
    let figure_only = |p: &str| {
        let r = router.route(p, reference);
        r.needs_metrics() && !r.needs_knowledge() && !r.intents.is_empty()
    };
    // the first part carries the subject: it stays
    let kept: Vec<&str> =
        parts.iter().enumerate().filter(|(i, p)| *i == 0 || !figure_only(p)).map(|(_, p)| *p).collect();
    if kept.len() == parts.len() {
        return clause.to_string();
    }
    let mut out = kept.join("、");
    if let Some(end) = clause.trim_end().chars().last().filter(|c| matches!(c, '？' | '?' | '。' | '！')) {
        if !out.ends_with(end) {
            out.push(end);
        }
    }
    out
}

/// The stretches of the question that none of `hits` mentions, as written (`餐厅`, `带教补贴`):
/// the stretches between function words (see `route::content_segments`) of two CJK characters
/// or more none of whose character pairs a passage (title, section or text) holds, except words
/// that only name the kind of answer wanted (`情况`, `规定`).
fn missing_details(question: &str, hits: &[Hit]) -> Vec<String> {
    let hay: Vec<String> = hits.iter().map(|h| norm_key(&format!("{} {} {}", h.title, h.section, h.text))).collect();
    let mut out: Vec<String> = Vec::new();
    for seg in crate::route::content_segments(question) {
        let pairs = seg.iter().all(|u| u.chars().count() == 2 && u.chars().all(crate::route::is_cjk));
        // consecutive pairs of one stretch overlap by a character (`晚宴` `宴定`)
        let joined = seg.windows(2).all(|w| w[0].chars().last() == w[1].chars().next());
        if !pairs || !joined || seg.iter().any(|u| hay.iter().any(|h| h.contains(u.as_str()))) {
            continue;
        }
        let mut stretch = seg[0].clone();
        for u in &seg[1..] {
            stretch.extend(u.chars().skip(1));
        }
        if !GENERIC_ASK_WORDS.contains(&stretch.as_str()) && !out.contains(&stretch) {
            out.push(stretch);
        }
    }
    out
}

/// What the model says the sources lack, when its answer is that (`资料中没有提到晚宴的餐厅。[1]`):
/// the named detail, kept only when it is about the question (at least half of its CJK
/// characters are the question's; else the question's own missing stretches are named).
fn model_missing_detail(raw: &str, question: &str) -> Option<String> {
    let t = strip_markers(raw);
    let t = t.trim_start();
    let rest = ["资料中没有提到", "资料中未提到", "资料中没有", "没有提到"].iter().find_map(|p| t.strip_prefix(p))?;
    let named: String = rest
        .chars()
        .take_while(|c| !matches!(c, '。' | '；' | '\n' | '，' | ','))
        .collect::<String>()
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '“' | '”' | '"' | '：' | ':'))
        .to_string();
    let cjk: Vec<char> = named.chars().filter(|c| crate::route::is_cjk(*c)).collect();
    let about = !cjk.is_empty() && cjk.iter().filter(|c| question.contains(**c)).count() * 2 >= cjk.len();
    // an empty name: the model refused without a usable detail (the question's own are named)
    Some(if about && named.chars().count() <= 30 { named } else { String::new() })
}

/// The answer when the judge finds that sources about the right subject lack the asked detail:
/// the refusal sentence naming what is missing (资料中没有提到…), then what the sources do say,
/// quoted and cited.
fn missing_detail_answer(
    question: &str,
    named: Option<&str>,
    units: &[String],
    hits: &[Hit],
    ans: &mut Answer,
) -> String {
    let missing = match named {
        Some(n) if !n.is_empty() => vec![n.to_string()],
        _ => missing_details(question, hits),
    };
    let lead = if missing.is_empty() {
        format!("{NO_EVIDENCE}：资料中没有写明“{}”。", question_stem(question))
    } else {
        format!("{NO_EVIDENCE}：资料中没有提到“{}”。", missing.join("”“"))
    };
    let quotes = quote_passages(question, units, hits, "以下为最接近的资料原文，供参考：", false, ans);
    format!("{lead}\n\n{quotes}")
}

/// The extractive answer: the most relevant sentences of the top sources, numbered and cited.
/// The passages as the answer, led by one sentence: the line of the first passage that best
/// matches the question (a table row read as a sentence), with its source, then the quotes.
fn quote_passages(
    question: &str,
    units: &[String],
    hits: &[Hit],
    lead: &str,
    sentence: bool,
    ans: &mut Answer,
) -> String {
    let count = prompt::estimate_tokens;
    let mut s = String::new();
    if let Some(h) = hits.first().filter(|_| sentence) {
        let (clean, _) = prompt::sanitize(&h.text);
        let shown = prompt::reader_excerpt(&clean, question, units, 90, &count);
        // the line that holds most of what the question asks beyond the document's own topic: the
        // question's character pairs that the title and section do not already contain (the first
        // of equals), as a sentence
        let topic = norm_key(&format!("{} {}", h.title, h.section));
        let pairs: Vec<String> = char_pairs(question).into_iter().filter(|p| !topic.contains(p.as_str())).collect();
        let mut best: Option<(usize, &str)> = None;
        for l in shown.lines().map(str::trim).filter(|l| l.chars().filter(|c| c.is_alphanumeric()).count() >= 4) {
            let key = norm_key(l);
            let o = pairs.iter().filter(|p| key.contains(p.as_str())).count();
            if best.is_none_or(|(b, _)| o > b) {
                best = Some((o, l));
            }
        }
        if let Some((_, line)) = best {
            let sentence = as_sentence(line);
            let body = sentence.strip_suffix('。').unwrap_or(&sentence);
            s.push_str(&format!("根据《{}》：{body} [1]。\n\n", h.title));
        }
    }
    s.push_str(&format!("{lead}\n"));
    let mut sources = Vec::new();
    for (i, h) in hits.iter().take(prompt::MAX_SOURCES).enumerate() {
        let (clean, removed) = prompt::sanitize(&h.text);
        if removed {
            push_unique(&mut ans.warnings, "检索资料中含有疑似提示注入的指令文字，已忽略");
        }
        let ex = prompt::reader_excerpt(&clean, question, units, 90, &count);
        s.push_str(&format!("[{}] 《{}》{}：{}\n", i + 1, h.title, h.section, ex.replace('\n', " ")));
        sources.push(PromptSource { hit: h.clone(), excerpt: ex });
    }
    ans.citations = sources.iter().map(citation).collect();
    s.trim_end().to_string()
}

/// The codes a question names (`V`, `XL`, `E-4`, `40HQ`), normalized: its Latin words with a
/// letter (in an English question, only those with a digit too).
fn question_codes(question: &str) -> impl Iterator<Item = String> + '_ {
    question
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.')))
        .map(|w| w.trim_matches(['-', '/', '.']))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(move |w| !lodestar_dict::glossary::is_latin_question(question) || w.chars().any(|c| c.is_ascii_digit()))
        .map(norm_key)
}

/// Does `hay` hold `code` as a whole token (`V` in `V（240 km/h）`, not in `BV360`)?
fn holds_code(hay: &str, code: &str) -> bool {
    hay.match_indices(code).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A hit's title, section and text, normalized, with each colloquial word of the question (see
/// `colloquial_terms`) added when the hit holds the documents' wording for it: the chunk covers it.
fn credited_hay(h: &Hit, colloquial: &[(String, Vec<String>)]) -> String {
    let mut hay = norm_key(&format!("{} {} {}", h.title, h.section, h.text));
    for (term, canonical) in colloquial {
        if !hay.contains(term.as_str()) && canonical.iter().any(|c| hay.contains(c.as_str())) {
            hay.push(' ');
            hay.push_str(term);
        }
    }
    hay
}

/// Is `text` no near copy ([`NEAR_DUPLICATE`]) of a text already `seen`? Records it if so.
fn first_of_its_kind(seen: &mut Vec<Vec<String>>, text: &str) -> bool {
    let pairs = char_pairs(text);
    let copy = seen.iter().any(|s| jaccard(s, &pairs) >= NEAR_DUPLICATE);
    if !copy {
        seen.push(pairs);
    }
    !copy
}

/// Jaccard similarity of two sorted, deduplicated lists (1 for two empty ones).
fn jaccard(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f32 / (a.len() + b.len() - both) as f32
}

/// Adjacent pairs of CJK characters and whole ASCII words of a text, normalized as `norm_key`.
fn char_pairs(text: &str) -> Vec<String> {
    let t = norm_key(text);
    let chars: Vec<char> = t.chars().collect();
    let mut out: Vec<String> = Vec::new();
    for w in chars.windows(2) {
        if crate::route::is_cjk(w[0]) && crate::route::is_cjk(w[1]) {
            out.push(w.iter().collect());
        }
    }
    for word in t.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() >= 2) {
        out.push(word.to_string());
    }
    out.sort();
    out.dedup();
    out
}

/// The question as the subject of an answer sentence: its clauses joined by `，`, the question
/// marks and a polite opening (`请问`) off.
fn question_stem(question: &str) -> String {
    let q = question.trim().trim_start_matches("请问").trim_start_matches(['，', ',', ' ']);
    let parts: Vec<&str> = q
        .split(['？', '?', '。'])
        .map(|p| p.trim().trim_end_matches(['，', ',', '：', ':']))
        .filter(|p| !p.is_empty())
        .collect();
    parts.join("，")
}

/// A passage line as a sentence: list numbering (`3.`, `-`) off the front, a dangling `；` / `：` at
/// the end made a full stop.
fn as_sentence(line: &str) -> String {
    let mut l = line.trim();
    let digits = l.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && l[digits..].starts_with(['.', '、', ')', '）']) {
        l = l[digits + 1..].trim_start();
    }
    l = l.trim_start_matches(['-', '*', '•', ' ']);
    let l = l.trim_end_matches(['；', ';', '，', ',', '：', ':', ' ']);
    if l.ends_with(['。', '！', '？', '.', '!', '?', '）', ')']) {
        l.to_string()
    } else {
        format!("{l}。")
    }
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn citation(s: &PromptSource) -> Citation {
    let snippet: String = s.excerpt.chars().take(160).collect();
    Citation {
        kb: s.hit.kb,
        kb_name: s.hit.kb.name_zh(),
        doc: s.hit.doc.clone(),
        title: s.hit.title.clone(),
        chunk_id: s.hit.chunk_id.clone(),
        snippet: snippet.replace('\n', " "),
        section: s.hit.section.clone(),
        sensitivity: s.hit.sensitivity,
    }
}

fn add_request_dates(e: &mut Evidence, req: &MetricRequest) {
    match req {
        MetricRequest::Sales { period, .. } => {
            e.add_date(&period.to_string());
            for m in period.months() {
                e.add_date(&m.to_string());
            }
        }
        MetricRequest::Concentration { month, .. } => e.add_date(&month.to_string()),
        MetricRequest::Alerts { as_of, .. } => e.add_date(&as_of.to_string()),
    }
}

fn table_json(t: &MetricTable) -> (Vec<serde_json::Value>, Option<serde_json::Value>) {
    fn j<T: Serialize>(x: &T) -> serde_json::Value {
        serde_json::to_value(x).unwrap_or(serde_json::Value::Null)
    }
    match t {
        MetricTable::Sales { rows, total } => (rows.iter().map(j).collect(), total.as_deref().map(j)),
        MetricTable::Concentration { row } => (vec![j(row)], None),
        MetricTable::Alerts { rows } => (rows.iter().map(j).collect(), None),
    }
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

/// Appends the question and the answer to the audit log (提问 / 回答).
pub fn audit(
    store: &dyn crate::AuditLog,
    principal: &Principal,
    question: &str,
    answer: &Answer,
) -> Result<(), RagError> {
    audit_with(store, principal, question, answer, serde_json::Map::new())
}

/// [`audit`] with extra fields on the `answer` entry (the web chat adds the remote address,
/// conversation and message ids, and whether the answer was cancelled).
pub fn audit_with(
    store: &dyn crate::AuditLog,
    principal: &Principal,
    question: &str,
    answer: &Answer,
    extra: serde_json::Map<String, serde_json::Value>,
) -> Result<(), RagError> {
    use sha2::Digest;
    store.audit(&principal.name, "question", &serde_json::json!({ "question": question }))?;
    let docs: Vec<&str> = answer.citations.iter().map(|c| c.doc.as_str()).collect();
    let chunks: Vec<&str> = answer.citations.iter().map(|c| c.chunk_id.as_str()).collect();
    // the knowledge bases the retrieval searched: those the asker may read
    let kbs: Vec<&str> = if answer.route.needs_knowledge() {
        KbId::ALL.iter().filter(|k| principal.can_read_kb(**k)).map(|k| k.id()).collect()
    } else {
        Vec::new()
    };
    let hash: String = sha2::Sha256::digest(answer.answer.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let mut detail = serde_json::json!({
        "question": question,
        "route": answer.route.kind,
        "kbs": kbs,
        "answer": answer.answer,
        "answer_sha256": hash,
        "citations": docs,
        "chunk_ids": chunks,
        "warnings": answer.warnings,
        "flagged": answer.flagged,
        "needs_review": answer.needs_review,
    });
    if let serde_json::Value::Object(o) = &mut detail {
        o.extend(extra);
    }
    store.audit(&principal.name, "answer", &detail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_taking_a_side_of_a_yes_no_question_is_no_restatement() {
        let q = "客户说明天就打款，货能不能先装柜发走？";
        assert!(!restates_question("货不能先装柜发走。[1]", q));
        assert!(!restates_question("能先装柜发走。[1]", q));
        // both sides kept: nothing was answered
        assert!(restates_question("货能不能先装柜发走 [1]", q));
        // no yes/no form: the words of the question alone answer nothing
        assert!(restates_question("BC-C 配方是 [1]", "BC-C 配方是什么？"));
        assert!(!restates_question("是否可以 [1]", "这种算不算三包？"));
    }

    #[test]
    fn a_figure_joined_to_a_policy_ask_is_left_to_the_engine() {
        let d = lodestar_dict::Dictionaries::builtin().unwrap();
        let router = Router::new(&d);
        let month = Month { year: 2026, month: 10 };
        assert_eq!(knowledge_part(&router, "阿尔泰矿业的付款条件和2026年9月销售额？", month), "阿尔泰矿业的付款条件？");
        // two asks for documents: both stay
        let q = "阿尔泰矿业的付款条件和信用额度？";
        assert_eq!(knowledge_part(&router, q, month), q);
        // a scope joined to a scope is no figure ask
        let q = "俄罗斯和哈萨克斯坦的付款条件有什么不同？";
        assert_eq!(knowledge_part(&router, q, month), q);
    }

    #[test]
    fn a_missing_year_is_named_with_what_of_it_was_asked() {
        assert_eq!(year_phrase("2027 年经销商年度返利的档位和比例是多少？", "2027"), "2027年经销商年度返利");
        assert_eq!(year_phrase("What rebate tiers apply in 2027?", "2027"), "2027年");
        assert_eq!(year_phrase("2027年的返利档位", "2027"), "2027年");
    }

    #[test]
    fn a_code_is_held_only_as_a_whole_token() {
        assert!(holds_code("速度级别 v（240 km/h）", "v"));
        assert!(holds_code("107 v", "v"));
        assert!(!holds_code("花纹代号 bv360", "v"));
        assert!(!holds_code("mostyre2026", "mostyre"));
        assert!(holds_code("e-4 花纹", "e-4"));
        assert_eq!(question_codes("轮胎速度级别标 V，代表多少公里每小时？").collect::<Vec<_>>(), ["v"]);
        // an English question's codes carry a digit: its words are not codes
        assert_eq!(question_codes("What does 40HQ mean in a spec sheet?").collect::<Vec<_>>(), ["40hq"]);
    }

    #[test]
    fn near_copies_are_dropped_and_different_texts_kept() {
        let mut seen = Vec::new();
        let a = "单条重量：约 9.4 kg。40 尺高柜装箱量：约 1250 条。冬季胎须在 8 月 31 日前下单以保证 10 月到货。质保 48 个月。";
        let b = "单条重量：约 11.0 kg。40 尺高柜装箱量：约 960 条。冬季胎须在 8 月 31 日前下单以保证 10 月到货。质保 48 个月。";
        let c = "客户须在发现轮胎质量问题后 30 天内提交索赔申请，逾期不予受理。";
        assert!(first_of_its_kind(&mut seen, a));
        assert!(!first_of_its_kind(&mut seen, b), "{}", jaccard(&char_pairs(a), &char_pairs(b)));
        assert!(first_of_its_kind(&mut seen, c));
        assert!(!first_of_its_kind(&mut seen, c));
    }
}
