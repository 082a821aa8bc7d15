//! Owners (stage 2): who leads an item (负责人) and who supports it (协同人), from the clause's staff
//! mentions, the role words of `dictionaries/owner_roles.csv` and the minutes cues.

use super::*;

/// The words after a name that make the person a supporting owner (协同人): `role,word` rows of
/// `dictionaries/owner_roles.csv` (with the home's overlay) whose role is `supporting`.
pub(super) fn supporting_words(d: &Dictionaries) -> Vec<String> {
    let mut v = d.vocab.owner_roles.words("supporting");
    // longest first: `同步跟踪` before `同步`
    v.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    v
}

/// Whether the text right after a name (`rest`) gives the person a supporting role: a role word,
/// possibly inside brackets (`（协助）`, `(配合技术部分)`).
pub(super) fn supporting_after(words: &[String], rest: &str) -> bool {
    let r = rest.trim_start_matches([' ', '\t']);
    let r = r.strip_prefix(['（', '(']).unwrap_or(r).trim_start();
    // only as much of the rest as the longest word (lower-casing all of it for every name made a
    // long line quadratic)
    let longest = words.iter().map(|w| w.chars().count()).max().unwrap_or(0);
    let r = r.chars().take(longest).collect::<String>().to_lowercase();
    words.iter().any(|w| r.starts_with(w.as_str()))
}

/// Splits owners into lead and supporting: a staff mention in `text` followed by a supporting role
/// word is a supporting owner — also when the name rules had left it out (`由吴刚牵头、曹俊配合`) — as
/// long as someone else leads. Returns the supporting ids (removed from `owners.ids`).
pub(super) fn split_supporting(text: &str, staff: &[&Mention], owners: &mut Owners, d: &Dictionaries) -> Vec<String> {
    let words = supporting_words(d);
    let mut support: Vec<String> = Vec::new();
    // the role word after the last name covers the names listed before it (`冯雪、何佳配合`), not
    // those a comma separates (`曹俊，韩磊协助`: 曹俊 leads)
    let joined = |a: &Mention, b: &Mention| {
        a.end < b.start && text[a.end..b.start].trim().chars().all(|c| matches!(c, '、' | '/' | '和' | '与' | '及'))
    };
    // the last name of the run each name is in, worked out once from the right (a run of
    // thousands of names stays linear)
    let mut run_end: Vec<usize> = (0..staff.len()).collect();
    for k in (0..staff.len().saturating_sub(1)).rev() {
        if joined(staff[k], staff[k + 1]) {
            run_end[k] = run_end[k + 1];
        }
    }
    for (i, m) in staff.iter().enumerate() {
        let k = run_end[i];
        if supporting_after(&words, &text[staff[k].end..]) && !support.contains(&m.id) {
            support.push(m.id.clone());
        }
    }
    let leads: Vec<String> = owners.ids.iter().filter(|id| !support.contains(id)).cloned().collect();
    if leads.is_empty() && owners.unresolved.is_empty() {
        // nobody leads: whoever was named keeps the task
        return Vec::new();
    }
    owners.ids = leads;
    support
}

pub(super) fn after_skip<'a>(t: &'a str, mut i: usize, deadlines: &[Deadline], adverbs: &CueSet) -> &'a str {
    loop {
        let rest = &t[i..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        i += rest.len() - trimmed.len();
        if let Some(d) = deadlines.iter().find(|d| d.start == i) {
            i = d.end;
            continue;
        }
        if let Some(a) = adverbs.prefix_of(&t[i..]) {
            i += a.len();
            continue;
        }
        return &t[i..];
    }
}

pub(super) fn owners_of(
    t: &str,
    mentions: &[Mention],
    deadlines: &[Deadline],
    section: Section,
    d: &Dictionaries,
) -> Owners {
    let r = re();
    let k = cues(d);
    let staff: Vec<&Mention> = mentions.iter().filter(|m| m.kind == Kind::Staff).collect();
    let mut o = Owners::default();
    let mut chosen: Vec<usize> = Vec::new();
    let not_owner = |m: &Mention| {
        let rest = t[m.end..].trim_start();
        k.get("not_owner_except").prefix_of(rest).is_none() && k.get("not_owner_after").prefix_of(rest).is_some()
    };
    // a) labelled field
    for c in r.owner_label.captures_iter(t) {
        let m = c.get(0).expect("match");
        if c[1].eq_ignore_ascii_case("负责") && !t[..m.start()].trim_end().is_empty() && !t[..m.start()].ends_with(';')
        {
            // "张三负责：…" is handled by the name rules
            continue;
        }
        o.labelled = true;
        let rest = &t[m.end()..];
        let mut end = rest.find([';', '。', '|']).unwrap_or(rest.len());
        for stop in k.get("owner_field_stop").words() {
            if let Some(p) = rest.find(stop.as_str()) {
                end = end.min(p);
            }
        }
        let (a, b) = (m.end(), m.end() + end);
        let inside: Vec<usize> =
            staff.iter().enumerate().filter(|(_, s)| s.start >= a && s.end <= b).map(|(i, _)| i).collect();
        if inside.is_empty() {
            for tok in unknown_names(&rest[..end], d) {
                if !o.unresolved.contains(&tok) {
                    o.unresolved.push(tok);
                }
            }
        }
        chosen.extend(inside);
    }
    // b–g) name rules
    for (i, m) in staff.iter().enumerate() {
        if not_owner(m) {
            continue;
        }
        let before = t[..m.start].trim_end();
        let after = after_skip(t, m.end, deadlines, k.get("adverb"));
        let after_raw = &t[m.end..];
        let by_before = k.get("owner_before").suffix_of(before).is_some();
        let owner_after = k.get("owner_after");
        let by_after = owner_after.prefix_of(after).is_some()
            || owner_after.prefix_of(after_raw.trim_start()).is_some()
            || after_raw.starts_with(" to ")
            || after_raw.starts_with(" will ");
        let paren = before.rfind('(').is_some_and(|p| {
            let between = &t[p + 1..m.start];
            !between.contains(')') && between.chars().all(|c| matches!(c, ' ' | '、' | ',' | '/' | '和' | '及'))
        }) || {
            // a later name inside the same parentheses: (陈思远、李娜)
            let p = before.rfind('(');
            p.is_some_and(|p| {
                let between = &t[p + 1..m.start];
                !between.contains(')')
                    && staff.iter().any(|s| s.start == p + 1 + (between.len() - between.trim_start().len()))
                    && between.chars().all(|c| !c.is_ascii_digit())
                    && between.chars().count() <= 16
            })
        };
        let lead_dash = section == Section::Action
            && before.trim_start_matches(['@', ' ']).is_empty()
            && after_raw.trim_start().starts_with(['—', '–', '-', ':']);
        if by_before || by_after || paren || lead_dash {
            chosen.push(i);
        }
    }
    for c in r.unknown_by.captures_iter(t) {
        let name = c[1].to_string();
        if !staff.iter().any(|s| s.start == c.get(1).map(|x| x.start()).unwrap_or(0))
            && !o.unresolved.contains(&name)
            && d.resolve_staff(&name).is_none()
            && !k.get("no_owner").contains(&name)
            && !name.ends_with('部')
        {
            o.unresolved.push(name);
        }
    }
    // people not in the staff list: `人力资源部张敏负责`, `请Giorgi Beridze…`, `Aidos负责`, `Aidos Seitkali to …`
    let covered = |s: usize, e: usize| staff.iter().any(|m| m.start < e && s < m.end);
    let mut unknown: Vec<(usize, usize)> = Vec::new();
    for c in r.unknown_han.captures_iter(t) {
        if let Some(g) = c.get(1) {
            let first = g.as_str().chars().next().unwrap_or(' ');
            if k.get("surname").contains(first.encode_utf8(&mut [0; 4])) && !g.as_str().ends_with(['部', '方', '组'])
            {
                unknown.push((g.start(), g.end()));
            }
        }
    }
    for re_ in [&r.latin_before, &r.latin_after] {
        for c in re_.captures_iter(t) {
            if let Some(g) = c.get(1) {
                unknown.push((g.start(), g.end()));
            }
        }
    }
    if section == Section::Action {
        let body = strip_marker(t);
        let off = t.len() - body.len();
        if let Some(g) = r.latin_lead.captures(body).and_then(|c| c.get(1)) {
            unknown.push((off + g.start(), off + g.end()));
        }
    }
    for (s, e) in unknown {
        let name = t[s..e].trim().to_string();
        let first_word = name.split([' ', '-']).next().unwrap_or("");
        if covered(s, e)
            || k.get("not_name").contains(first_word)
            || k.get("no_owner").contains(&name.to_lowercase())
            || d.resolve_staff(&name).is_some()
            || o.unresolved.contains(&name)
        {
            continue;
        }
        o.unresolved.push(name);
    }
    o.explicit = !chosen.is_empty() || !o.unresolved.is_empty() || o.labelled;
    // heuristic: a name followed by an action verb (张三提交…, 吴刚 11 月第三周前完成…)
    if !o.explicit {
        for (i, m) in staff.iter().enumerate() {
            if not_owner(m) {
                continue;
            }
            let after = after_skip(t, m.end, deadlines, k.get("adverb"));
            if k.get("action_verb").prefix_of(after).is_some() {
                chosen.push(i);
            }
        }
    }
    // fallback: exactly one person named in a dated task (韩工下周二出发，两周内提交报告)
    if !o.explicit && chosen.is_empty() && !deadlines.is_empty() && has_any(t, k.get("action_verb")) {
        let candidates: Vec<usize> = (0..staff.len()).filter(|&i| !not_owner(staff[i])).collect();
        let distinct: std::collections::BTreeSet<&str> = candidates.iter().map(|&i| staff[i].id.as_str()).collect();
        if distinct.len() == 1 && staff.iter().all(|m| !not_owner(m)) {
            chosen.extend(candidates);
        }
    }
    // chain: 张三、李四跟进 / 刘洋和马丽… / Tina Zhou / 何佳
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..staff.len() {
            if chosen.contains(&i) {
                continue;
            }
            let near = |j: usize| {
                let (a, b) = if j < i { (staff[j], staff[i]) } else { (staff[i], staff[j]) };
                a.end <= b.start && {
                    let between = &t[a.end..b.start];
                    between.chars().all(|c| matches!(c, ' ' | '、' | ',' | '/' | '和' | '与' | '及' | '&' | '+' | '@'))
                        || k.get("owner_joiner").contains(&between.trim().to_lowercase())
                }
            };
            if ((i > 0 && chosen.contains(&(i - 1)) && near(i - 1)) || (chosen.contains(&(i + 1)) && near(i + 1)))
                && !not_owner(staff[i])
            {
                chosen.push(i);
                changed = true;
            }
        }
    }
    chosen.sort();
    for i in chosen {
        let id = staff[i].id.clone();
        if !o.ids.contains(&id) {
            o.ids.push(id);
        }
    }
    o
}

/// Names in an owner field that the staff dictionary does not know: 2–4 Han characters (`赵强`) or a
/// capitalised Latin name of up to three words (`Aidos Seitkali`); placeholders (待定, TBD) are skipped.
pub(super) fn unknown_names(field: &str, d: &Dictionaries) -> Vec<String> {
    let mut out = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    for tok in field.split([',', '、', '/', '&', '+', '和', '及', ';']) {
        for t in tok.split(" and ") {
            parts.push(t.to_string());
        }
    }
    for tok in parts {
        let tok = tok.trim().trim_matches(['(', ')']).trim();
        if tok.is_empty() || cues(d).get("no_owner").contains(&tok.to_lowercase()) || d.resolve_staff(tok).is_some() {
            continue;
        }
        let n = tok.chars().count();
        if ((2..=4).contains(&n) && tok.chars().all(is_han)) || re().latin_name.is_match(tok) {
            out.push(tok.to_string());
        } else if tok.contains(' ')
            && tok.split(' ').all(|w| (2..=4).contains(&w.chars().count()) && w.chars().all(is_han))
        {
            // `赵强 钱明`: names separated by spaces
            out.extend(tok.split(' ').map(str::to_string));
        }
    }
    out
}
