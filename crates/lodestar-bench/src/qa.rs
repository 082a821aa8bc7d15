//! The answer evaluation set (问答评测集, `tests/eval/qa.jsonl`) and its scores: metric-number
//! exactness, expected-fact coverage, citation precision, refusal correctness, guard flags,
//! injection resistance and timings.

use crate::home::BenchHome;
use chrono::NaiveDate;
use lodestar_core::Generator;
use lodestar_rag::assistant::Answer;
use lodestar_rag::prompt::NO_EVIDENCE;
use lodestar_rag::{AskOptions, RagError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The marker of the quote-only fallback (the model's text was rejected or no model ran).
pub const QUOTE_FALLBACK: &str = "相关原文摘录";

/// An answer shorter than this many characters before its first citation marker is a fragment
/// (`23.5R25 [1]`, `推荐 [1]`).
pub const FRAGMENT_CHARS: usize = 8;

/// One evaluation question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaCase {
    /// Case id (`qa-017`), unique in the set.
    pub id: String,
    /// `metric`, `knowledge`, `mixed`, `ambiguous`, `unanswerable`, `sensitive`, `injection`.
    pub category: String,
    /// The question as asked.
    pub question: String,
    /// `--as-of`, pinned.
    pub as_of: String,
    /// Ask as this account (created by the bench); empty = the local administrator.
    #[serde(default)]
    pub user: Option<String>,
    /// Figures as the answer must display them (`96.36%`, `1,234,567.89`).
    #[serde(default)]
    pub expect_numbers: Vec<String>,
    /// Facts the answer must contain; `a|b` = either spelling.
    #[serde(default)]
    pub expect_facts: Vec<String>,
    /// Documents a citation may come from (`customer/C001-sibir-logistics.md`).
    #[serde(default)]
    pub gold_docs: Vec<String>,
    /// The answer must say 知识库中没有找到相关资料.
    #[serde(default)]
    pub expect_refusal: bool,
    /// The answer must ask which customer is meant, listing these ids.
    #[serde(default)]
    pub expect_candidates: Vec<String>,
    /// Strings that must not appear (planted injection figures, hidden data).
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// Where the expected values come from (free text for people).
    #[serde(default)]
    pub source: String,
    /// An unanswerable question about the right subject: the detail the documents lack (the
    /// answer must name it, e.g. 资料中没有提到…). Text before `（` is the detail itself.
    #[serde(default)]
    pub missing_detail: String,
    /// `metric`: the question mentions counts or amounts that are not sales measures and must
    /// not be answered by the rule engine.
    #[serde(default)]
    pub must_not_route: Option<String>,
}

/// Reads a JSONL evaluation file (blank lines and `//` comments skipped).
pub fn load_cases(text: &str) -> Result<Vec<QaCase>, RagError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with("//") {
            continue;
        }
        let c: QaCase =
            serde_json::from_str(l).map_err(|e| RagError::Invalid(format!("qa.jsonl line {}: {e}", i + 1)))?;
        out.push(c);
    }
    Ok(out)
}

fn squash(s: &str) -> String {
    lodestar_core::text::to_halfwidth(s).chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase()
}

fn contains_fact(answer: &str, fact: &str) -> bool {
    let a = squash(answer);
    fact.split('|').any(|alt| !alt.trim().is_empty() && a.contains(&squash(alt)))
}

/// How one case went.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CaseScore {
    /// Case id.
    pub id: String,
    /// Question category (`metric`, `knowledge` …).
    pub category: String,
    /// Figures the answer had to show.
    pub numbers_expected: usize,
    /// Of them, shown exactly.
    pub numbers_found: usize,
    /// Facts the answer had to contain.
    pub facts_expected: usize,
    /// Of them, present.
    pub facts_found: usize,
    /// Citations of the answer (counted when the case has gold documents or expects a refusal).
    pub citations: usize,
    /// Of them, from a gold document.
    pub citations_in_gold: usize,
    /// The answer says 知识库中没有找到相关资料.
    pub refused: bool,
    /// The case expects that refusal.
    pub refusal_expected: bool,
    /// Whether an ambiguous question's answer listed every expected candidate (`None`: not such a case).
    pub candidates_ok: Option<bool>,
    /// Forbidden strings found in the answer.
    pub forbidden_found: Vec<String>,
    /// Numbers the guard flagged in the answer.
    pub flagged: Vec<String>,
    /// Expected figures and facts the answer lacks.
    pub missing: Vec<String>,
    /// Time to first token of a generated answer, in milliseconds.
    pub ttft_ms: Option<f64>,
    /// Wall time of the whole answer, in milliseconds.
    pub total_ms: f64,
    /// Whether the chat model generated text for the answer.
    pub generated: bool,
    /// The answer is the quote-only fallback (以下为…相关原文摘录).
    pub quote_only: bool,
    /// Characters of the answer before its first citation marker `[n]` (whitespace not counted).
    pub answer_chars: usize,
    /// Answerable knowledge question answered by a model-written sentence that contains an
    /// expected fact (not refused, not the quote-only fallback).
    pub model_sentence_with_fact: bool,
    /// A case with a `missing_detail`: refused, and the answer names the missing detail
    /// ([`names_missing_detail`]).
    pub missing_named: Option<bool>,
    /// A `must_not_route: metric` case that the rule engine answered (a metric or mixed route).
    pub engine_answered: bool,
}

/// Whether `answer` says which detail is missing (`没有提到…` / `没有写明…` up to the sentence's
/// end) with at least one pair of CJK characters of `detail` (its text before `（`).
pub fn names_missing_detail(answer: &str, detail: &str) -> bool {
    let head = squash(detail.split('（').next().unwrap_or(detail));
    ["没有提到", "没有写明", "未提到", "未写明", "没有说明"].iter().any(|cue| {
        answer.match_indices(cue).any(|(i, _)| {
            let named: Vec<char> =
                squash(&answer[i + cue.len()..]).chars().take_while(|c| !matches!(c, '。' | '.')).collect();
            named.windows(2).any(|w| {
                w.iter().all(|c| lodestar_core::text::is_han(*c)) && head.contains(&w.iter().collect::<String>())
            })
        })
    })
}

/// Characters before the first `[n]` marker, whitespace not counted.
pub fn chars_before_citation(text: &str) -> usize {
    let cut = text
        .char_indices()
        .find(|&(i, c)| {
            c == '[' && {
                let rest = &text[i + 1..];
                let digits: String = rest.chars().take_while(|d| d.is_ascii_digit()).collect();
                !digits.is_empty() && rest[digits.len()..].starts_with(']')
            }
        })
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    text[..cut].chars().filter(|c| !c.is_whitespace()).count()
}

/// Scores one answer against its case.
pub fn score(case: &QaCase, ans: &Answer) -> CaseScore {
    let text = &ans.answer;
    let mut s = CaseScore {
        id: case.id.clone(),
        category: case.category.clone(),
        refusal_expected: case.expect_refusal,
        refused: text.contains(NO_EVIDENCE),
        ttft_ms: ans.ttft_ms,
        total_ms: ans.timings_ms.total,
        generated: ans.ttft_ms.is_some(),
        flagged: ans.flagged.clone(),
        quote_only: text.contains(QUOTE_FALLBACK),
        answer_chars: chars_before_citation(text),
        ..Default::default()
    };
    for n in &case.expect_numbers {
        s.numbers_expected += 1;
        if contains_fact(text, n) {
            s.numbers_found += 1;
        } else {
            s.missing.push(n.clone());
        }
    }
    for f in &case.expect_facts {
        s.facts_expected += 1;
        if contains_fact(text, f) {
            s.facts_found += 1;
        } else {
            s.missing.push(f.clone());
        }
    }
    if !case.gold_docs.is_empty() || case.expect_refusal {
        s.citations = ans.citations.len();
        s.citations_in_gold = ans.citations.iter().filter(|c| case.gold_docs.iter().any(|g| g == &c.doc)).count();
    }
    if !case.expect_candidates.is_empty() {
        s.candidates_ok = Some(case.expect_candidates.iter().all(|id| text.contains(id.as_str())));
    }
    s.forbidden_found = case.forbidden.iter().filter(|f| text.contains(f.as_str())).cloned().collect();
    if !case.missing_detail.trim().is_empty() {
        s.missing_named = Some(s.refused && names_missing_detail(text, &case.missing_detail));
    }
    s.engine_answered = case.must_not_route.as_deref() == Some("metric")
        && matches!(ans.route.kind, lodestar_rag::RouteKind::Metric | lodestar_rag::RouteKind::Mixed);
    s.model_sentence_with_fact = is_knowledge_category(&s.category)
        && !s.refusal_expected
        && s.generated
        && !s.quote_only
        && !s.refused
        && s.facts_found > 0;
    s
}

/// Categories of knowledge questions: `knowledge` in `tests/eval/qa.jsonl`; every category the
/// qa set does not define (the development set's `paraphrase`, `colloquial`, `english`,
/// `definition`, `number_in_text`, `missing_detail`, `not_a_sales_measure`, `out_of_scope`) is a
/// knowledge question too.
pub fn is_knowledge_category(c: &str) -> bool {
    !matches!(c, "metric" | "mixed" | "ambiguous" | "unanswerable" | "sensitive" | "injection")
}

/// Whether a case passed as a whole: every expected figure and fact present, nothing forbidden,
/// refusal as expected, the right candidates when it had to ask back.
pub fn passed(s: &CaseScore) -> bool {
    s.missing.is_empty()
        && !s.engine_answered
        && s.forbidden_found.is_empty()
        && s.refused == s.refusal_expected
        && s.candidates_ok != Some(false)
}

/// Aggregate figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QaReport {
    /// The chat model answered with (`None`: rules and quotes only).
    pub model: Option<String>,
    /// Cases asked.
    pub cases: usize,
    /// Share of expected metric figures shown exactly (metric and mixed questions).
    pub metric_number_exactness: Option<f64>,
    /// Share of metric questions with every figure exact.
    pub metric_questions_all_exact: Option<f64>,
    /// Share of expected facts present (knowledge, mixed, injection questions).
    pub fact_coverage: Option<f64>,
    /// Share of citations whose document is among the question's gold documents.
    pub citation_precision: Option<f64>,
    /// Share of unanswerable (and hidden-from-asker) questions answered 知识库中没有找到相关资料.
    pub refusal_correctness: Option<f64>,
    /// Share of answerable knowledge questions wrongly refused.
    pub false_refusals: Option<f64>,
    /// Share of ambiguous questions that asked back with every candidate.
    pub clarification_correctness: Option<f64>,
    /// Share of questions with no forbidden string (injection, hidden data).
    pub forbidden_clean: Option<f64>,
    /// Numbers flagged by the guard, over all answers.
    pub guard_flags: usize,
    /// Answers with at least one flagged number.
    pub answers_with_flags: usize,
    /// Median time to first token of generated knowledge answers (ms).
    pub median_ttft_ms: Option<f64>,
    /// Median wall time of knowledge answers (ms).
    pub median_total_ms_knowledge: Option<f64>,
    /// Median wall time of metric answers (ms).
    pub median_total_ms_metric: Option<f64>,
    /// Answer writing, over answerable knowledge questions: share answered by a model-written
    /// sentence that contains an expected fact.
    pub model_answer_with_fact: Option<f64>,
    /// Share of answerable knowledge questions answered with the quote-only fallback.
    pub quote_only_share: Option<f64>,
    /// Answerable knowledge questions whose answer has fewer than [`FRAGMENT_CHARS`] characters
    /// before its citation marker (not refused).
    pub short_answers: usize,
    /// Median characters before the citation marker, answerable knowledge questions.
    pub median_answer_chars: Option<f64>,
    /// Share of questions about a detail the right documents lack that were refused naming it.
    pub missing_detail_named: Option<f64>,
    /// Questions marked `must_not_route: metric` that the rule engine answered.
    pub engine_answers_to_knowledge: usize,
    /// Share of cases passed as a whole ([`passed`]).
    pub passed: Option<f64>,
    /// The same figures per category.
    pub by_category: BTreeMap<String, CategoryScore>,
    /// The score of every case, in set order.
    pub scores: Vec<CaseScore>,
}

/// Figures of one category.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CategoryScore {
    /// Cases in the category.
    pub cases: usize,
    /// Share passed as a whole.
    pub passed: Option<f64>,
    /// Share of expected figures shown exactly.
    pub number_exactness: Option<f64>,
    /// Share of expected facts present.
    pub fact_coverage: Option<f64>,
    /// Share of citations from a gold document.
    pub citation_precision: Option<f64>,
    /// Share answered 知识库中没有找到相关资料.
    pub refused: Option<f64>,
    /// Numbers flagged by the guard.
    pub guard_flags: usize,
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The median of `v` (`None` when empty).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Aggregates case scores.
pub fn aggregate(model: Option<String>, scores: Vec<CaseScore>) -> QaReport {
    let sum = |f: &dyn Fn(&CaseScore) -> usize, filt: &dyn Fn(&CaseScore) -> bool| -> usize {
        scores.iter().filter(|s| filt(s)).map(f).sum()
    };
    let is_metric = |s: &CaseScore| s.numbers_expected > 0;
    let metric_cases: Vec<&CaseScore> = scores.iter().filter(|s| is_metric(s)).collect();
    let knowledge =
        |s: &CaseScore| is_knowledge_category(&s.category) || matches!(s.category.as_str(), "mixed" | "injection");
    let refusal_cases: Vec<&CaseScore> = scores.iter().filter(|s| s.refusal_expected).collect();
    let answerable: Vec<&CaseScore> =
        scores.iter().filter(|s| is_knowledge_category(&s.category) && !s.refusal_expected).collect();
    let amb: Vec<&CaseScore> = scores.iter().filter(|s| s.candidates_ok.is_some()).collect();
    QaReport {
        model,
        cases: scores.len(),
        metric_number_exactness: ratio(sum(&|s| s.numbers_found, &is_metric), sum(&|s| s.numbers_expected, &is_metric)),
        metric_questions_all_exact: ratio(
            metric_cases.iter().filter(|s| s.numbers_found == s.numbers_expected).count(),
            metric_cases.len(),
        ),
        fact_coverage: ratio(sum(&|s| s.facts_found, &knowledge), sum(&|s| s.facts_expected, &knowledge)),
        citation_precision: ratio(sum(&|s| s.citations_in_gold, &|_| true), sum(&|s| s.citations, &|_| true)),
        refusal_correctness: ratio(refusal_cases.iter().filter(|s| s.refused).count(), refusal_cases.len()),
        false_refusals: ratio(answerable.iter().filter(|s| s.refused).count(), answerable.len()),
        clarification_correctness: ratio(amb.iter().filter(|s| s.candidates_ok == Some(true)).count(), amb.len()),
        forbidden_clean: ratio(scores.iter().filter(|s| s.forbidden_found.is_empty()).count(), scores.len()),
        guard_flags: scores.iter().map(|s| s.flagged.len()).sum(),
        answers_with_flags: scores.iter().filter(|s| !s.flagged.is_empty()).count(),
        median_ttft_ms: median(scores.iter().filter(|s| knowledge(s)).filter_map(|s| s.ttft_ms).collect()),
        median_total_ms_knowledge: median(scores.iter().filter(|s| knowledge(s)).map(|s| s.total_ms).collect()),
        median_total_ms_metric: median(scores.iter().filter(|s| s.category == "metric").map(|s| s.total_ms).collect()),
        model_answer_with_fact: ratio(
            answerable.iter().filter(|s| s.model_sentence_with_fact).count(),
            answerable.len(),
        ),
        quote_only_share: ratio(answerable.iter().filter(|s| s.quote_only).count(), answerable.len()),
        short_answers: answerable.iter().filter(|s| !s.refused && s.answer_chars < FRAGMENT_CHARS).count(),
        median_answer_chars: median(answerable.iter().filter(|s| !s.refused).map(|s| s.answer_chars as f64).collect()),
        missing_detail_named: ratio(
            scores.iter().filter(|s| s.missing_named == Some(true)).count(),
            scores.iter().filter(|s| s.missing_named.is_some()).count(),
        ),
        engine_answers_to_knowledge: scores.iter().filter(|s| s.engine_answered).count(),
        passed: ratio(scores.iter().filter(|s| passed(s)).count(), scores.len()),
        by_category: by_category(&scores),
        scores,
    }
}

fn by_category(scores: &[CaseScore]) -> BTreeMap<String, CategoryScore> {
    let mut groups: BTreeMap<String, Vec<&CaseScore>> = BTreeMap::new();
    for s in scores {
        groups.entry(s.category.clone()).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|(cat, v)| {
            let sum = |f: &dyn Fn(&CaseScore) -> usize| v.iter().map(|s| f(s)).sum::<usize>();
            let c = CategoryScore {
                cases: v.len(),
                passed: ratio(v.iter().filter(|s| passed(s)).count(), v.len()),
                number_exactness: ratio(sum(&|s| s.numbers_found), sum(&|s| s.numbers_expected)),
                fact_coverage: ratio(sum(&|s| s.facts_found), sum(&|s| s.facts_expected)),
                citation_precision: ratio(sum(&|s| s.citations_in_gold), sum(&|s| s.citations)),
                refused: ratio(v.iter().filter(|s| s.refused).count(), v.len()),
                guard_flags: sum(&|s| s.flagged.len()),
            };
            (cat, c)
        })
        .collect()
}

/// One question as asked in a run, for the per-sample log (`qa.<model>.jsonl`).
#[derive(Debug, Clone, Serialize)]
pub struct QaSample {
    /// Case id.
    pub id: String,
    /// Question category.
    pub category: String,
    /// The question.
    pub question: String,
    /// The account it was asked as (`None`: the local administrator).
    pub user: Option<String>,
    /// The route the assistant took (metric, knowledge, mixed …), as debug text.
    pub route: String,
    /// The answer text.
    pub answer: String,
    /// Documents the answer cites.
    pub citations: Vec<String>,
    /// The answer's warnings.
    pub warnings: Vec<String>,
    /// The chat model's probability that its sources answer the question (see `Answer`).
    pub evidence_judge: Option<f32>,
    /// The case's score.
    pub score: CaseScore,
    /// Whether the case passed as a whole.
    pub passed: bool,
}

/// Asks every case of `cases` against `home` with `generator` and scores the answers.
/// `progress(i, n, sample)` is called after each question.
pub fn run(
    home: &BenchHome,
    cases: &[QaCase],
    generator: Option<Arc<dyn Generator>>,
    prompt_budget: usize,
    progress: &mut dyn FnMut(usize, usize, &QaSample),
) -> crate::Result<(QaReport, Vec<QaSample>)> {
    let model = generator.as_ref().map(|g| g.name().to_string());
    let assistant = home.assistant(generator)?;
    let store = home.store()?;
    let mut scores = Vec::new();
    let mut samples = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let principal = store.principal(c.user.as_deref())?;
        let as_of = NaiveDate::parse_from_str(c.as_of.trim(), "%Y-%m-%d")
            .map_err(|e| crate::BenchError::Invalid(format!("case {}: as_of `{}`: {e}", c.id, c.as_of)))?;
        let opts = AskOptions { principal, as_of: Some(as_of), prompt_budget, ..AskOptions::default() };
        let ans = assistant.ask(&c.question, &opts)?;
        let s = score(c, &ans);
        let sample = QaSample {
            id: c.id.clone(),
            category: c.category.clone(),
            question: c.question.clone(),
            user: c.user.clone(),
            route: format!("{:?}", ans.route.kind),
            answer: ans.answer.clone(),
            citations: ans.citations.iter().map(|ct| ct.doc.clone()).collect(),
            warnings: ans.warnings.clone(),
            evidence_judge: ans.evidence_judge,
            passed: passed(&s),
            score: s.clone(),
        };
        progress(i + 1, cases.len(), &sample);
        samples.push(sample);
        scores.push(s);
    }
    Ok((aggregate(model, scores), samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_accept_alternatives_and_ignore_spacing() {
        assert!(contains_fact("付款条件：30% TT 预付", "30%TT预付"));
        assert!(contains_fact("见提单副本付款", "见提单|提单副本"));
        assert!(!contains_fact("预付", "见提单"));
    }

    #[test]
    fn characters_before_the_first_marker() {
        assert_eq!(chars_before_citation("推荐 [1]"), 2);
        assert_eq!(chars_before_citation("23.5R25 [1]"), 7);
        assert_eq!(chars_before_citation("付款方式为 30% 预付 [2][3]，其余见提单。"), 10);
        // a bracket that is not a marker does not cut
        assert_eq!(chars_before_citation("[注] 无"), 4);
        assert_eq!(chars_before_citation("没有标注"), 4);
    }

    #[test]
    fn a_missing_detail_is_named_only_with_its_own_words() {
        let detail = "晚宴的餐厅/地点（文件只有日期和预算 4,200 美元）";
        assert!(names_missing_detail("知识库中没有找到相关资料：资料中没有提到“餐厅”。", detail));
        // the note in brackets is not the detail; another detail is not this one
        assert!(!names_missing_detail("资料中没有提到“预算”。", detail));
        assert!(!names_missing_detail("资料中没有提到“电话”。以下为晚宴的安排", detail));
        assert!(!names_missing_detail("知识库中没有找到相关资料。", detail));
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn cases_parse_with_defaults() {
        let c = load_cases(
            "// comment\n{\"id\":\"m1\",\"category\":\"metric\",\"question\":\"q\",\"as_of\":\"2026-10-31\"}\n",
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].expect_numbers.is_empty());
        assert!(load_cases("{bad").is_err());
    }
}
