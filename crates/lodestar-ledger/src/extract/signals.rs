//! Signals (stage 3): what a clause says about earlier items (已完成 / 延期至… / 取消 / 进行中), and
//! the masked description the matching compares.

use super::*;

/// The clause with names, dates and field labels blanked out (for type keywords and similarity).
pub(super) fn mask(t: &str, mentions: &[Mention], deadlines: &[Deadline]) -> String {
    let mut spans: Vec<(usize, usize)> = mentions.iter().map(|m| (m.start, m.end)).collect();
    spans.extend(deadlines.iter().map(|d| (d.start, d.end)));
    for m in re().owner_label.find_iter(t) {
        spans.push((m.start(), m.end()));
    }
    spans.sort();
    let mut out = String::with_capacity(t.len());
    let mut pos = 0;
    for (s, e) in spans {
        if s < pos {
            pos = pos.max(e);
            continue;
        }
        out.push_str(&t[pos..s]);
        out.push(' ');
        pos = e;
    }
    if pos < t.len() {
        out.push_str(&t[pos..]);
    }
    out
}

/// The description of an item: the clause without list markers, tag brackets and field labels.
pub(super) fn describe(k: &Cues, t: &str) -> String {
    let r = re();
    let mut s = strip_marker(t).to_string();
    s = r.tag_bracket.replace_all(&s, "").to_string();
    for prefix in k.get("desc_prefix").words() {
        if let Some(x) = s.trim_start().strip_prefix(prefix.as_str()) {
            s = x.to_string();
        }
    }
    // drop trailing field segments: "; 负责人:张三; 完成时间:…" and "责任人:张三"
    let mut parts: Vec<&str> = s.split(';').collect();
    parts.retain(|p| !r.field_label.is_match(p));
    let s = parts.join(";");
    let s = match r.owner_label.find(&s) {
        Some(m) if m.start() > 0 => s[..m.start()].to_string(),
        _ => s,
    };
    s.trim().trim_end_matches(['。', ';', ',', '.', ' ', ':']).trim().to_string()
}

pub(super) fn status_of(k: &Cues, text: &str, meeting: NaiveDate) -> Option<(Status, Option<NaiveDate>)> {
    let r = re();
    if let Some(m) = r.delay.find(text) {
        let rest = &text[m.end()..];
        let d = deadline::find_all(rest, meeting).into_iter().find(|d| d.start < 6).and_then(|d| d.date);
        return Some((Status::Delayed, d));
    }
    if r.cancel.is_match(text) {
        return Some((Status::Cancelled, None));
    }
    let done = r.done.is_match(text) || r.done_end.is_match(text) || r.done_en.is_match(text);
    if done {
        // `初稿已完成，待王总审阅`: the step is done, the task waits for a sign-off
        if k.get("done_blocker").any_in(text) || r.pending.is_match(text) {
            return Some((Status::InProgress, None));
        }
        return Some((Status::Done, None));
    }
    if k.get("delay_word").any_in(text) {
        return Some((Status::Delayed, None));
    }
    if r.progress.is_match(text) {
        return Some((Status::InProgress, None));
    }
    None
}

/// Whether a word of `words` (written in lower case) occurs in `t`, case-insensitively.
pub(super) fn has_any(t: &str, words: &CueSet) -> bool {
    words.any_in(&t.to_lowercase())
}
