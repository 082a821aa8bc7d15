//! Scope: names of places the dictionaries do not cover, specs written in the question, and the
//! filters a question's names become.

use super::*;

pub(super) fn push_filter(filters: &mut Vec<Filter>, f: Filter) {
    if !filters.iter().any(|g| g.dim == f.dim && g.code == f.code) {
        filters.push(f);
    }
}

/// `后五名` / `后 3 位`: the last places of a ranking.
pub(super) fn bottom_places() -> &'static Regex {
    lodestar_core::regex!(r"后\s*(?:\d{1,2}|[一二三四五六七八九十])\s*(?:名|位)")
}

/// `最近三个月` / `近 3 个月` / `过去三个月` / `last 3 months` → 3 (at most 12); `每个月` / `逐月` /
/// `each month` / `monthly` over a year → the months from January to that year's last month.
/// Words naming an area (`中亚区域`, `高加索地区`, `远东片区`) whose name no dictionary alias
/// covered (`taken`): the 2–4 Han characters before 区域 / 地区 / 片区 / 大区 / 五国 / 三国.
pub(super) fn unknown_scopes(c: &Cues, chars: &[char], taken: &[bool]) -> Vec<String> {
    // Words that qualify the area rather than name one.
    let generic = c.get("scope_generic");
    // Time words and particles end the name (`10月份中亚区域` → 中亚).
    let stop = c.get("scope_stop");
    let mut out: Vec<String> = Vec::new();
    for suffix in c.get("scope_suffix").words() {
        let suf: Vec<char> = suffix.chars().collect();
        let mut i = 0;
        while i + suf.len() <= chars.len() {
            if chars[i..i + suf.len()] != suf[..] || taken[i..i + suf.len()].iter().any(|&t| t) {
                i += 1;
                continue;
            }
            let mut start = i;
            while start > 0
                && i - start < 4
                && is_cjk(chars[start - 1])
                && !taken[start - 1]
                && !stop.contains(chars[start - 1].encode_utf8(&mut [0; 4]))
            {
                start -= 1;
            }
            // a name right before the suffix that a dictionary matched (`独联体区域`) is known
            let known = start == i || (i > 0 && taken[i - 1]);
            let word: String = chars[start..i].iter().collect();
            if !known && word.chars().count() >= 2 && !generic.contains(&word) && !out.contains(&word) {
                out.push(word);
            }
            i += suf.len();
        }
    }
    // Countries outside the dictionaries (`越南10月销售额`): the data has none of their sales.
    let not_words: Vec<Vec<char>> = c.get("foreign_not").words().iter().map(|w| w.chars().collect()).collect();
    let mut used = taken.to_vec();
    for name in c.get("foreign_country").words() {
        let key: Vec<char> = name.chars().collect();
        let mut i = 0;
        while i + key.len() <= chars.len() {
            if chars[i..i + key.len()] == key[..] {
                let free = used[i..i + key.len()].iter().all(|t| !t);
                let before_ok = i == 0 || !(is_word_char(chars[i - 1]) && is_word_char(key[0]));
                let after_ok = i + key.len() == chars.len()
                    || !(is_word_char(chars[i + key.len()]) && is_word_char(key[key.len() - 1]));
                // `内蒙古` is not Mongolia
                let inner = not_words.iter().any(|w| within_word(w, &key, chars, i));
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

/// Whether `key`, found at `i` of `chars`, lies inside an occurrence of the longer word `w`.
pub(super) fn within_word(w: &[char], key: &[char], chars: &[char], i: usize) -> bool {
    (0..w.len().saturating_sub(key.len()) + 1)
        .any(|k| w[k..].starts_with(key) && i >= k && chars.get(i - k..i - k + w.len()).is_some_and(|s| s == w))
}

/// Countries a question may name that the demo region does not cover, Chinese and English
/// (lower case). A country the dictionaries do know is matched by its alias first and never
/// reported.
/// The built-in `foreign_country` rows of `dictionaries/route_cues.csv` (routing itself reads the
/// home's overlaid rows).
pub(crate) static FOREIGN_COUNTRIES: LazyLock<Vec<String>> =
    LazyLock::new(|| Vocabulary::builtin().route.get("foreign_country").words().to_vec());

/// Finds tyre-spec-like codes: (start char, end char, normalized spec).
pub(super) fn find_specs(chars: &[char]) -> Vec<(usize, usize, String)> {
    let re = lodestar_core::regex!(
        r"(?i)(?:lt|p)?\d{2,3}(?:\.\d{1,2})?\s*/\s*\d{2}(?:\.\d{1,2})?\s*(?:zr|r|-)?\s*\d{2}(?:\.\d)?c?|\d{3}\s+\d{2}\s*r\s*\d{2}(?:\.\d)?|\d{4}\s*r\s*\d{2}(?:\.\d)?|\d{1,2}(?:\.\d{1,2})?\s*(?:r|-)\s*\d{2}(?:\.\d)?",
    );
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
