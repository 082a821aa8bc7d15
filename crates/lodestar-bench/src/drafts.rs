//! Grounding of the customer-profile drafts (客户画像初稿) a model writes: the share of numbers in
//! model-written prose that the grounding check traced to a rule-engine figure or a cited source,
//! the share of model-written claim sentences in cited sections that carry a citation marker, and
//! whether the knowledge section says 待补充 exactly for customers the customer knowledge base has
//! no document about.

use crate::home::BenchHome;
use crate::{BenchError, Result};
use lodestar_core::config::Config;
use lodestar_core::Generator;
use lodestar_draft::doc::Block;
use lodestar_draft::Context;
use lodestar_metrics::MetricsEngine;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// The mark the grounding check puts after a number it could not trace.
const UNTRACED: &str = "⟨?⟩";

/// Figures of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DraftsReport {
    /// The chat model that wrote the prose (`None`: template sentences only).
    pub model: Option<String>,
    /// Profiles drafted.
    pub profiles: usize,
    /// Numbers in model-written paragraphs.
    pub numbers: usize,
    /// Of them, traced to an engine figure or a cited source (not marked ⟨?⟩).
    pub numbers_traced: usize,
    /// `numbers_traced ÷ numbers`; `None` without numbers.
    pub numbers_traced_share: Option<f64>,
    /// Model-written sentences in sections that cite sources.
    pub claim_sentences: usize,
    /// Of them, with a citation marker `[n]`.
    pub claim_sentences_cited: usize,
    /// `claim_sentences_cited ÷ claim_sentences`; `None` without such sentences.
    pub cited_claims_share: Option<f64>,
    /// Profiles whose knowledge section says 待补充 exactly when the customer has no document.
    pub missing_marked_correct: usize,
    /// `missing_marked_correct ÷ profiles`.
    pub missing_marked_share: Option<f64>,
    /// Model-written paragraphs (the rest are template sentences).
    pub ai_paragraphs: usize,
    /// Mean wall time of one profile, in seconds.
    pub seconds_per_profile: Option<f64>,
}

/// One drafted profile, for the per-sample log.
#[derive(Debug, Clone, Serialize)]
pub struct DraftSample {
    /// Customer id of the profile.
    pub customer: String,
    /// Whether the customer has a document in the customer knowledge folder.
    pub has_document: bool,
    /// Knowledge passages the profile cites.
    pub knowledge_citations: usize,
    /// Whether the knowledge section says 待补充 exactly when the customer has no document.
    pub missing_marked_correct: bool,
    /// The model-written paragraphs.
    pub ai_paragraphs: Vec<String>,
    /// Numbers in the model-written paragraphs.
    pub numbers: usize,
    /// Of them, traced to an engine figure or a cited source.
    pub numbers_traced: usize,
    /// Model-written sentences in sections that cite sources.
    pub claim_sentences: usize,
    /// Of them, with a citation marker `[n]`.
    pub claim_sentences_cited: usize,
    /// The draft's grounding warnings.
    pub warnings: Vec<String>,
    /// Wall time of this profile, in seconds.
    pub seconds: f64,
}

/// Customer ids that the customer documents of `knowledge/customer` are about (front matter
/// `customer: C001`).
pub fn customers_with_documents(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
        for line in text.lines().take(40) {
            if let Some(v) = line.trim().strip_prefix("customer:") {
                out.extend(v.split([',', ' ', '，']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
            }
        }
    }
    out
}

/// Numbers in prose: runs of digits (with `,` and `.` inside), a `%` kept with them.
fn numbers_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let inner = matches!(c, ',' | '.') && !cur.is_empty() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c.is_ascii_digit() || inner {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    // citation markers are not claims
    let markers: BTreeSet<String> = (1..=40).map(|n| n.to_string()).collect();
    let mut cleaned = Vec::new();
    let mut rest = text;
    for n in out {
        if let Some(pos) = rest.find(n.as_str()) {
            let before = rest[..pos].chars().last();
            let after = rest[pos + n.len()..].chars().next();
            rest = &rest[pos + n.len()..];
            if before == Some('[') && after == Some(']') && markers.contains(&n) {
                continue;
            }
        }
        cleaned.push(n);
    }
    cleaned
}

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, '。' | '！' | '？' | '；' | '\n') {
            if cur.trim().chars().filter(|c| c.is_alphanumeric()).count() > 3 {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        }
    }
    if cur.trim().chars().filter(|c| c.is_alphanumeric()).count() > 3 {
        out.push(cur.trim().to_string());
    }
    out
}

fn has_marker(s: &str) -> bool {
    s.char_indices().any(|(i, c)| {
        c == '[' && {
            let rest = &s[i + 1..];
            let d = rest.chars().take_while(|x| x.is_ascii_digit()).count();
            d > 0 && rest[d..].starts_with(']')
        }
    })
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Picks `n` customers among the top 40 by year-to-date sales: half with a customer document,
/// half without (as many as there are).
pub fn pick_customers(ctx: &Context<'_>, with_docs: &BTreeSet<String>, n: usize) -> Result<Vec<String>> {
    let top = lodestar_draft::profile::top_customers(ctx, 40)?;
    let (yes, no): (Vec<String>, Vec<String>) = top.into_iter().partition(|c| with_docs.contains(c));
    let half = n.div_ceil(2);
    let mut out: Vec<String> = yes.iter().take(half).cloned().collect();
    out.extend(no.iter().take(n - out.len().min(n)).cloned());
    // fill up from either side when one is short
    for c in yes.iter().chain(no.iter()) {
        if out.len() >= n {
            break;
        }
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(out)
}

/// Drafts a profile of each customer in `customers` with `generator` and scores them.
pub fn run(
    home: &BenchHome,
    customers: &[String],
    with_docs: &BTreeSet<String>,
    generator: Option<Arc<dyn Generator>>,
    progress: &mut dyn FnMut(usize, usize, &DraftSample),
) -> Result<(DraftsReport, Vec<DraftSample>)> {
    let store = home.store()?;
    let config = Config::default();
    let engine = MetricsEngine::load(&store, &home.dicts)?;
    let month = engine.latest_month().ok_or_else(|| BenchError::Invalid("bench home has no sales".into()))?;
    let assistant = home.assistant(None)?;
    let retriever = assistant.retriever.clone();
    let principal = store.principal(None)?;
    let ctx = Context {
        store: &store,
        dicts: &home.dicts,
        engine: &engine,
        config: &config,
        retriever: retriever.as_deref(),
        generator: generator.as_deref(),
        principal,
        month,
        as_of: Context::as_of_for(month),
    };
    let mut report = DraftsReport { model: generator.as_ref().map(|g| g.name().to_string()), ..Default::default() };
    let mut samples = Vec::new();
    let mut secs = Vec::new();
    for (i, cust) in customers.iter().enumerate() {
        let t = std::time::Instant::now();
        let draft = lodestar_draft::profile::build_profile(&ctx, cust)?;
        let seconds = t.elapsed().as_secs_f64();
        secs.push(seconds);
        let has_document = with_docs.contains(&draft.subject);
        let knowledge_citations =
            draft.sections.iter().filter(|s| s.id == "knowledge").map(|s| s.citations.len()).sum::<usize>();
        let missing_ok = if has_document { knowledge_citations > 0 } else { knowledge_citations == 0 };
        let mut sample = DraftSample {
            customer: draft.subject.clone(),
            has_document,
            knowledge_citations,
            missing_marked_correct: missing_ok,
            ai_paragraphs: Vec::new(),
            numbers: 0,
            numbers_traced: 0,
            claim_sentences: 0,
            claim_sentences_cited: 0,
            warnings: draft.warnings.clone(),
            seconds,
        };
        for sec in &draft.sections {
            for b in &sec.blocks {
                let Block::Para { text, ai: true } = b else { continue };
                sample.ai_paragraphs.push(text.clone());
                let nums = numbers_in(text);
                let untraced = text.matches(UNTRACED).count();
                sample.numbers += nums.len();
                sample.numbers_traced += nums.len().saturating_sub(untraced);
                if !sec.citations.is_empty() {
                    for s in sentences(text) {
                        sample.claim_sentences += 1;
                        if has_marker(&s) {
                            sample.claim_sentences_cited += 1;
                        }
                    }
                }
            }
        }
        report.profiles += 1;
        report.numbers += sample.numbers;
        report.numbers_traced += sample.numbers_traced;
        report.claim_sentences += sample.claim_sentences;
        report.claim_sentences_cited += sample.claim_sentences_cited;
        report.ai_paragraphs += sample.ai_paragraphs.len();
        if missing_ok {
            report.missing_marked_correct += 1;
        }
        progress(i + 1, customers.len(), &sample);
        samples.push(sample);
    }
    report.numbers_traced_share = ratio(report.numbers_traced, report.numbers);
    report.cited_claims_share = ratio(report.claim_sentences_cited, report.claim_sentences);
    report.missing_marked_share = ratio(report.missing_marked_correct, report.profiles);
    report.seconds_per_profile = crate::median(secs);
    Ok((report, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_markers_and_sentences() {
        assert_eq!(numbers_in("达成率 96.35%，销售额 1,989,235.80 美元 [1]。"), vec!["96.35", "1,989,235.80"]);
        assert_eq!(numbers_in("见 [2] 与 [12]"), Vec::<String>::new());
        assert_eq!(numbers_in("2026 年 10 月"), vec!["2026", "10"]);
        assert!(has_marker("客户偏好 12R22.5 [3]。"));
        assert!(!has_marker("客户偏好 [注]。"));
        assert_eq!(sentences("第一句话有内容。第二句也有内容！短。").len(), 2);
    }

    #[test]
    fn customers_of_documents_from_front_matter() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.md"), "---\nkb: customer\ncustomer: C001\n---\n# x\n").unwrap();
        std::fs::write(dir.path().join("b.md"), "---\ncustomer: C002, C003\n---\n").unwrap();
        std::fs::write(dir.path().join("c.md"), "# no front matter\n").unwrap();
        let got: Vec<String> = customers_with_documents(dir.path()).into_iter().collect();
        assert_eq!(got, vec!["C001", "C002", "C003"]);
    }
}
