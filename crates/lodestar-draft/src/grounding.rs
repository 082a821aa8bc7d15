//! The grounding check of a draft (依据校验): every number in model-written prose must match an
//! engine figure or a cited passage (the number guard of `lodestar-rag`), and each sentence must
//! carry a citation marker or use a fact. Violations become the draft's warnings.

use crate::{Citation, Fact};
use lodestar_core::{ChatMessage, GenParams, Generator};
use lodestar_rag::guard::{self, Evidence};
use std::ops::ControlFlow;

/// The system prompt of connecting prose (a data file, not code).
pub const PROSE_PROMPT: &str = include_str!("../data/prose_prompt.txt");

/// What the guard may accept: the facts' values and labels, and the passages.
pub fn evidence(facts: &[Fact], citations: &[Citation]) -> Evidence {
    let mut ev = Evidence::default();
    for f in facts {
        ev.add_text(&f.value);
        ev.add_text(&f.label);
    }
    for c in citations {
        ev.add_text(&c.excerpt);
        ev.add_text(&c.title);
    }
    ev
}

/// The result of checking one piece of prose.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The text with `⟨?⟩` after each unverified number.
    pub text: String,
    pub warnings: Vec<String>,
    /// Tokens the model generated (0 when checked text was not generated here).
    pub tokens: usize,
}

/// Splits prose into sentences (。！？; and line ends).
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, '。' | '！' | '？' | '；' | '\n') {
            if cur.trim().chars().count() > 1 {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        }
    }
    if cur.trim().chars().count() > 1 {
        out.push(cur.trim().to_string());
    }
    out
}

/// Checks model prose of section `heading` against its facts and citations.
pub fn check(heading: &str, text: &str, facts: &[Fact], citations: &[Citation]) -> Checked {
    let ev = evidence(facts, citations);
    let report = guard::check(text, &ev, citations.len());
    let mut warnings: Vec<String> = report
        .flagged
        .iter()
        .map(|f| format!("{heading}：模型文字中的数字 {f} 不在引擎数据或引用资料中（已标记 {}）", guard::MARK))
        .collect();
    for s in sentences(text) {
        let cited = s.contains('[') && s.contains(']');
        let uses_fact = facts.iter().any(|f| !f.value.is_empty() && s.contains(&f.value))
            || facts.iter().any(|f| f.label.chars().count() >= 2 && s.contains(&f.label));
        let names_source = citations.iter().any(|c| s.contains(&c.title));
        if !cited && !uses_fact && !names_source {
            warnings.push(format!("{heading}：句子未标注来源或事实依据：{s}"));
        }
    }
    Checked { text: report.text, warnings, tokens: 0 }
}

/// Asks the model for 1–3 sentences of prose over `facts` and `citations`, checked.
/// Returns `None` when the model wrote nothing usable.
pub fn write_prose(
    generator: &dyn Generator,
    heading: &str,
    task: &str,
    facts: &[Fact],
    citations: &[Citation],
) -> Result<Option<Checked>, crate::DraftError> {
    let mut user = format!("【部分】{heading}\n【任务】{task}\n【事实】\n");
    for f in facts {
        user.push_str(&format!("- {}：{}\n", f.label, f.value));
    }
    if !citations.is_empty() {
        user.push_str("【资料】\n");
        for c in citations {
            user.push_str(&format!("[{}] {}：{}\n", c.n, c.title, c.excerpt));
        }
    }
    let params = GenParams {
        max_tokens: 160,
        temperature: 0.0,
        repeat_penalty: 1.1,
        stop: vec!["<|im_end|>".into(), "\n\n".into()],
        ..GenParams::default()
    };
    let messages = [ChatMessage::system(PROSE_PROMPT), ChatMessage::user(user)];
    let g = generator
        .generate(&messages, &params, &mut |_| ControlFlow::Continue(()))
        .map_err(|e| crate::DraftError::Model(e.to_string()))?;
    // a model that echoes the section label (`【客户概要】…`) has it taken off
    let text = g.text.trim();
    let text = text.strip_prefix(&format!("【{heading}】")).unwrap_or(text).trim();
    if text.chars().filter(|c| c.is_alphanumeric()).count() < 6 {
        return Ok(None);
    }
    Ok(Some(Checked { tokens: g.stats.generated_tokens, ..check(heading, text, facts, citations) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(label: &str, value: &str) -> Fact {
        Fact { key: label.into(), label: label.into(), value: value.into() }
    }

    #[test]
    fn unverified_numbers_and_unsourced_sentences_are_flagged() {
        let facts = vec![fact("达成率", "96.35%"), fact("实际销售额", "1,989,235.80")];
        let c = check(
            "总体达成",
            "本月达成率 96.35%，实际销售额 1,989,235.80 美元。预计下月将增长 12%。市场整体向好。",
            &facts,
            &[],
        );
        assert!(c.text.contains(&format!("12%{}", guard::MARK)), "{}", c.text);
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings); // 12% unverified; two sentences without a source
        assert!(c.warnings.iter().any(|w| w.contains("12%")));
        assert!(c.warnings.iter().any(|w| w.contains("市场整体向好")));
        let clean = check("总体达成", "本月达成率为 96.35%。", &facts, &[]);
        assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
    }
}
