//! Words: the question cut into content units and stretches between function words (what the
//! evidence gate and the missing-detail answer compare with passages), and thresholds written in it.

use super::*;

/// Punctuation left out of the evidence check's content units (the words are the `stop_phrase`
/// rows of `dictionaries/route_cues.csv`).
pub(super) const STOP_PUNCT: &[&str] =
    &["？", "?", "，", ",", "。", "、", "：", ":", "（", "）", "(", ")", "“", "”", "\"", "！", "!"];

/// Content units of a text for overlap checks: CJK bigrams and Latin/number words.
pub(crate) fn content_units(text: &str) -> Vec<String> {
    let mut seen = HashMap::new();
    content_segments(text).into_iter().flatten().filter(|u| seen.insert(u.clone(), ()).is_none()).collect()
}

/// A days threshold on overdue items: `超过 90 天` / `大于90天` / `多于 60 天` → more than N days
/// (N + 1); `90 天以上` / `90天及以上` / `不少于 30 天` → at least N days.
pub fn overdue_threshold(question: &str) -> Option<i64> {
    overdue_threshold_in(&Vocabulary::builtin().route, question)
}

pub(super) fn overdue_threshold_in(cues: &Cues, question: &str) -> Option<i64> {
    // English: `more than 90 days`, `over 60 days` (exclusive); `90+ days`, `at least 90 days`,
    // `90 days or more` (inclusive)
    let en: [&Regex; 2] = [
        lodestar_core::regex!(r"\b(?:more than|over|above|longer than|greater than|beyond)\s*(\d+)\s*days?\b"),
        lodestar_core::regex!(
            r"(?:\bat least\s*(\d+)\s*days?\b|\b(\d+)\s*\+\s*days?\b|\b(\d+)\s*days?\s*(?:or more|or longer|and (?:more|above|longer)|plus)\b)"
        ),
    ];
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

/// The content units grouped by the stretch of text (between question words) they came from:
/// `北辰在巴西有哪些经销商` → `[[巴西], [经销, 销商]]`.
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

pub(super) fn segment_units(t: &str) -> Vec<String> {
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
