//! Dictionary scanning (字典扫描): finds the staff, customers and countries (and cities, which place
//! an item in a country) that a line of minutes names. Longest match first; Latin and Cyrillic names
//! match on word boundaries; short all-caps acronyms (`DPS`, `UMC`) match case-sensitively; one-character
//! Chinese aliases (`俄`, `哈`, `日`) are too ambiguous in free text and are not scanned.

use crate::text::is_han;
use lodestar_dict::Dictionaries;
use std::collections::HashMap;

const CITIES: &str = include_str!("../data/cities.csv");

/// What a mention names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A staff member (`id` is the staff id, `S05`).
    Staff,
    /// A customer (`id` is the customer id, `C001`).
    Customer,
    /// A country (`id` is the country code, `RU`).
    Country,
    /// A city: places the item in its country (`id` is the country code).
    City,
}

/// One name found in a text, with byte offsets into that text.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// What the name is.
    pub kind: Kind,
    /// The dictionary id it resolves to (staff id, customer id or country code).
    pub id: String,
    /// Byte offset where the name starts.
    pub start: usize,
    /// Byte offset just past the name.
    pub end: usize,
}

struct Pattern {
    chars: Vec<char>,
    kind: Kind,
    id: String,
    case_sensitive: bool,
    latin: bool,
}

/// The alias patterns of the dictionaries, ready to scan text.
pub struct Scanner {
    by_first: HashMap<char, Vec<Pattern>>,
    /// The minutes cues of the same dictionaries (`minutes_cues.csv` with the home's overlay), for
    /// the rules that read a text with only a scanner at hand.
    cues: lodestar_dict::vocab::Cues,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || (c.is_alphabetic() && !is_han(c)) || c == '\''
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

impl Scanner {
    /// The minutes cues (`dictionaries/minutes_cues.csv` with the home's overlay).
    pub fn cues(&self) -> &lodestar_dict::vocab::Cues {
        &self.cues
    }

    /// Builds the patterns from the dictionaries' names and aliases (and the built-in city list).
    pub fn new(d: &Dictionaries) -> Self {
        let mut raw: Vec<(String, Kind, String)> = Vec::new();
        for s in &d.staff {
            for n in s.all_names() {
                raw.push((n.to_string(), Kind::Staff, s.id.clone()));
            }
        }
        for c in &d.customers {
            for n in c.all_names() {
                raw.push((n.to_string(), Kind::Customer, c.id.clone()));
                let stripped = lodestar_dict::strip_legal_form(n);
                if !stripped.is_empty() {
                    raw.push((stripped, Kind::Customer, c.id.clone()));
                }
            }
        }
        for c in &d.countries {
            for n in c.all_names() {
                raw.push((n.to_string(), Kind::Country, c.code.clone()));
            }
        }
        for line in CITIES.lines().skip(1) {
            if line.starts_with('#') {
                continue;
            }
            if let Some((name, code)) = line.split_once(',') {
                raw.push((name.trim().to_string(), Kind::City, code.trim().to_string()));
            }
        }
        // an alias that means two different entries of the same kind is dropped
        let mut owners: HashMap<(String, Kind), Vec<String>> = HashMap::new();
        for (n, k, id) in &raw {
            let key = crate::text::fold(n.trim()).to_lowercase();
            let v = owners.entry((key, *k)).or_default();
            if !v.contains(id) {
                v.push(id.clone());
            }
        }
        let mut by_first: HashMap<char, Vec<Pattern>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for (n, kind, id) in raw {
            let folded = crate::text::fold(n.trim());
            let key = folded.to_lowercase();
            if owners.get(&(key.clone(), kind)).is_some_and(|v| v.len() > 1) || !seen.insert((key.clone(), kind)) {
                continue;
            }
            let chars: Vec<char> = folded.chars().collect();
            let han = chars.iter().filter(|c| is_han(**c)).count();
            let latin = chars.iter().any(|c| is_word(*c) && !is_han(*c));
            if chars.len() < 2 || (han == 1 && chars.len() == 1) || (latin && han == 0 && chars.len() <= 2) {
                continue;
            }
            let case_sensitive = latin && chars.len() <= 4 && chars.iter().all(|c| c.is_ascii_uppercase());
            let chars: Vec<char> = if case_sensitive { chars } else { chars.into_iter().map(lower).collect() };
            let first = chars[0];
            by_first.entry(first).or_default().push(Pattern { chars, kind, id, case_sensitive, latin });
        }
        Self { by_first, cues: d.vocab.minutes.clone() }
    }

    /// Non-overlapping mentions in `text`, longest first, returned in text order.
    pub fn scan(&self, text: &str) -> Vec<Mention> {
        let orig: Vec<(usize, char)> = text.char_indices().collect();
        let low: Vec<char> = orig.iter().map(|(_, c)| lower(*c)).collect();
        let byte_at = |i: usize| if i < orig.len() { orig[i].0 } else { text.len() };
        let mut found: Vec<(usize, usize, Kind, String)> = Vec::new();
        for i in 0..low.len() {
            let keys: &[char] = if low[i] == orig[i].1 { &[low[i]][..] } else { &[low[i], orig[i].1][..] };
            for first in keys {
                let Some(pats) = self.by_first.get(first) else { continue };
                for p in pats {
                    let n = p.chars.len();
                    if i + n > low.len() {
                        continue;
                    }
                    let ok = (0..n).all(|k| {
                        let c = if p.case_sensitive { orig[i + k].1 } else { low[i + k] };
                        c == p.chars[k]
                    });
                    if !ok {
                        continue;
                    }
                    if p.latin {
                        if i > 0 && is_word(orig[i - 1].1) && is_word(p.chars[0]) {
                            continue;
                        }
                        if i + n < orig.len() && is_word(orig[i + n].1) && is_word(p.chars[n - 1]) {
                            continue;
                        }
                    }
                    found.push((i, i + n, p.kind, p.id.clone()));
                }
            }
        }
        found.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut out = Vec::new();
        for (s, e, kind, id) in found {
            if taken.iter().any(|&(a, b)| s < b && a < e) {
                continue;
            }
            taken.push((s, e));
            out.push(Mention { kind, id, start: byte_at(s), end: byte_at(e) });
        }
        out.sort_by_key(|m| m.start);
        out.dedup_by(|a, b| a.start == b.start && a.end == b.end);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &Scanner, t: &str) -> Vec<(Kind, String)> {
        s.scan(t).into_iter().map(|m| (m.kind, m.id)).collect()
    }

    #[test]
    fn longest_match_and_boundaries() {
        let d = Dictionaries::builtin().unwrap();
        let s = Scanner::new(&d);
        // 乌兹别克斯坦 (country) + 克孜勒库姆矿山服务 (customer) side by side
        assert_eq!(
            ids(&s, "乌兹别克斯坦克孜勒库姆矿山服务提出索赔"),
            vec![(Kind::Country, "UZ".into()), (Kind::Customer, "C033".into())]
        );
        // 白俄 is Belarus, not 俄 = Russia
        assert_eq!(ids(&s, "白俄市场"), vec![(Kind::Country, "BY".into())]);
        // "Russian-speaking" is not Russia; Latin names need word boundaries
        assert!(ids(&s, "a Russian-speaking assistant").is_empty());
        assert_eq!(
            ids(&s, "@Tina Zhou — Karaganda Komir"),
            vec![(Kind::Staff, "S07".into()), (Kind::Customer, "C018".into())]
        );
        // 3月31日 must not be Japan (日 is a one-character alias)
        assert!(ids(&s, "3月31日前").is_empty());
        // Cyrillic customer name and an acronym
        assert_eq!(
            ids(&s, "ООО «Сибирь Логистик» и DPS"),
            vec![(Kind::Customer, "C001".into()), (Kind::Customer, "C046".into())]
        );
        assert_eq!(ids(&s, "莫斯科展会"), vec![(Kind::City, "RU".into())]);
    }
}
