//! The answer evaluation set (问答评测集, `tests/eval/qa.jsonl`) and its scores: metric-number
//! exactness, expected-fact coverage, citation precision, refusal correctness, guard flags,
//! injection resistance and timings.

use crate::assistant::Answer;
use crate::prompt::NO_EVIDENCE;
use crate::RagError;
use serde::{Deserialize, Serialize};

/// One evaluation question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaCase {
    pub id: String,
    /// `metric`, `knowledge`, `mixed`, `ambiguous`, `unanswerable`, `sensitive`, `injection`.
    pub category: String,
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
    pub id: String,
    pub category: String,
    pub numbers_expected: usize,
    pub numbers_found: usize,
    pub facts_expected: usize,
    pub facts_found: usize,
    pub citations: usize,
    pub citations_in_gold: usize,
    pub refused: bool,
    pub refusal_expected: bool,
    pub candidates_ok: Option<bool>,
    pub forbidden_found: Vec<String>,
    pub flagged: Vec<String>,
    pub missing: Vec<String>,
    pub ttft_ms: Option<f64>,
    pub total_ms: f64,
    pub generated: bool,
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
    s
}

/// Aggregate figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QaReport {
    pub model: Option<String>,
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
    pub answers_with_flags: usize,
    /// Median time to first token of generated knowledge answers (ms).
    pub median_ttft_ms: Option<f64>,
    pub median_total_ms_knowledge: Option<f64>,
    pub median_total_ms_metric: Option<f64>,
    pub scores: Vec<CaseScore>,
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
    let knowledge = |s: &CaseScore| matches!(s.category.as_str(), "knowledge" | "mixed" | "injection");
    let refusal_cases: Vec<&CaseScore> = scores.iter().filter(|s| s.refusal_expected).collect();
    let answerable: Vec<&CaseScore> =
        scores.iter().filter(|s| s.category == "knowledge" && !s.refusal_expected).collect();
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
        scores,
    }
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
