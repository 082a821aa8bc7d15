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
    /// One line per unverified number or other problem found.
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

/// Judgement words (`data/claim_words.txt`).
fn claim_words() -> (Vec<&'static str>, Vec<&'static str>) {
    let lines =
        include_str!("../data/claim_words.txt").lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    let (neutral, words): (Vec<&str>, Vec<&str>) = lines.partition(|l| l.starts_with('~'));
    (words, neutral.into_iter().map(|n| n.trim_start_matches('~')).collect())
}

/// Numbers in a text as written (`1,234.50`, `96.35%`).
fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (!cur.is_empty() && matches!(c, ',' | '.' | '%')) {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(cur.trim_end_matches([',', '.']).to_string());
            cur.clear();
        }
    }
    out
}

/// Why a model's rewrite of `template` is not faithful to it, if it is not: a number the template
/// does not have (or one of its numbers left out), or a judgement word the template does not use (`达成` where it says `未达成`,
/// `最低` where it says `最高`). Such a rewrite is thrown away for the template.
pub fn unfaithful(template: &str, rewrite: &str) -> Option<String> {
    let tnums = numbers(template);
    let rnums = numbers(rewrite);
    if let Some(n) = rnums.iter().find(|n| !tnums.contains(n)) {
        return Some(format!("数字 {n} 不在要点中"));
    }
    // measure names out first (达成率 is no judgement); then the longest words first, so that
    // 未达成 is not also read as 达成
    let (mut words, neutral) = claim_words();
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let strip = |mut t: String| -> Vec<&'static str> {
        for n in &neutral {
            t = t.replace(n, "□");
        }
        let mut found = Vec::new();
        for w in &words {
            if t.contains(w) {
                found.push(*w);
                t = t.replace(w, "□");
            }
        }
        found
    };
    let in_template = strip(template.to_string());
    if let Some(w) = strip(rewrite.to_string()).into_iter().find(|w| !in_template.contains(w)) {
        return Some(format!("判断词“{w}”不在要点中"));
    }
    tnums.iter().find(|n| !rnums.contains(n)).map(|n| format!("漏掉了数字 {n}"))
}

/// A section's commentary: the model rewrites the deterministic `template` sentence(s) in
/// better prose when it keeps every number and judgement of it; otherwise the template stays
/// (and the draft says why). Returns the block, warnings and generated tokens.
pub fn rewrite(
    generator: &dyn Generator,
    heading: &str,
    template: &str,
    facts: &[Fact],
) -> Result<(crate::doc::Block, Vec<String>, usize), crate::DraftError> {
    // the model sees the sentence alone: given the underlying figures too, a small model adds them
    let _ = facts;
    let task = "把【事实】中的要点改写成一到两句通顺、专业的中文。必须保留要点中的每个数字和判断，不得改变判断，不得增加要点里没有的结论或数字。";
    let point = [Fact { key: "template".into(), label: "要点".into(), value: template.to_string() }];
    let Some(c) = write_prose(generator, heading, task, &point, &[])? else {
        return Ok((crate::doc::Block::Para { text: template.to_string(), ai: false }, Vec::new(), 0));
    };
    // faithful = every number and judgement word of the rewrite is the template's (the sentence
    // source check of `check` does not apply: the whole rewrite rests on the one template)
    if let Some(why) = unfaithful(template, &c.text) {
        let w = vec![format!("{heading}：模型改写与事实不一致（{why}），已改用模板句")];
        return Ok((crate::doc::Block::Para { text: template.to_string(), ai: false }, w, c.tokens));
    }
    Ok((crate::doc::Block::Para { text: c.text, ai: true }, Vec::new(), c.tokens))
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
    // a model that echoes the prompt's labels (`【部分】…`, `【客户概要】`) has them taken off
    let mut text = g.text.trim();
    while let Some(rest) = text.strip_prefix('【').and_then(|r| r.split_once('】')).map(|(_, r)| r.trim_start()) {
        text = rest;
    }
    let text: &str = text.lines().find(|l| !l.trim().is_empty()).map(str::trim).unwrap_or("");
    let text = text.trim_start_matches(['-', '*', '•', ' ']);
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

    #[test]
    fn a_rewrite_must_keep_the_templates_numbers_and_judgements() {
        let t = "俄罗斯本月达成率 95.73%，未达成目标，缺口 516,578.92 美元；哈萨克斯坦达成率最高。";
        assert_eq!(
            unfaithful(t, "俄罗斯本月未达成目标，达成率为 95.73%，缺口 516,578.92 美元，哈萨克斯坦最高。"),
            None
        );
        // "目标达成" states completion where the template says 未达成
        let w = unfaithful("本月未达成目标，达成率 95.73%。", "本月实际目标达成，达成率 95.73%。");
        assert!(w.as_deref().is_some_and(|w| w.contains("达成")), "{w:?}");
        let w = unfaithful(t, "哈萨克斯坦达成率最低。");
        assert!(w.as_deref().is_some_and(|w| w.contains("最低")), "{w:?}");
        let w = unfaithful(t, "俄罗斯达成率 96%。");
        assert!(w.as_deref().is_some_and(|w| w.contains("96%")), "{w:?}");
        let w = unfaithful(t, "俄罗斯本月达成率 95.73%，未达成目标；哈萨克斯坦达成率最高。");
        assert!(w.as_deref().is_some_and(|w| w.contains("漏掉了数字 516,578.92")), "{w:?}");
        assert_eq!(numbers("达成 1,234.50 美元，占 3.2%。"), ["1,234.50", "3.2%"]);
    }
}
