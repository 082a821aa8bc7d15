//! Colloquial Chinese → the knowledge documents' wording (口语/行话同义词), from `synonyms.csv`:
//! a question that says 铲车 finds the spec sheet that says 装载机. BM25 matches words, so the
//! documents' terms are added to the query of a question that contains a colloquial one.
//!
//! File format: header `term,canonical`; `term` is the wording a question may use, `canonical`
//! one or more document terms separated by `|` (most useful first); `#` starts a comment line.
//!
//! Matching: a term with a CJK character matches anywhere in the question (Chinese has no
//! spaces); a Latin-only term (`LC`, `MOQ`) only as a whole word, case-insensitive, so `LC`
//! does not fire inside `LLC`. Longer terms win: a term found only inside a longer matched
//! term is not counted. Canonical terms the question already contains are not added again.

use crate::DictError;

/// One `synonyms.csv` line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynonymEntry {
    /// The wording a question may use (e.g. `铲车`).
    pub term: String,
    /// The documents' terms it stands for, most useful first.
    pub canonical: Vec<String>,
}

/// The synonym list.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    entries: Vec<SynonymEntry>,
}

impl Synonyms {
    /// Parses `synonyms.csv` text.
    pub fn parse(text: &str, file: &str) -> Result<Self, DictError> {
        let mut s = Synonyms::default();
        for (line, term, mut canonical) in crate::glossary::term_lists(text, file, ("term", "canonical"), &['|'])? {
            canonical.retain(|c| *c != term);
            if term.is_empty() || canonical.is_empty() {
                return Err(DictError::Row {
                    file: file.into(),
                    line,
                    message: "needs a `term` and at least one other `canonical` term".into(),
                });
            }
            s.insert(SynonymEntry { term, canonical });
        }
        Ok(s)
    }

    /// Adds an entry, replacing one with the same term (case-insensitive).
    pub fn insert(&mut self, e: SynonymEntry) {
        let key = e.term.to_lowercase();
        match self.entries.iter_mut().find(|x| x.term.to_lowercase() == key) {
            Some(x) => *x = e,
            None => self.entries.push(e),
        }
    }

    /// Adds every entry of `other` (same term: `other` wins).
    pub fn merge(&mut self, other: Synonyms) {
        for e in other.entries {
            self.insert(e);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries.
    pub fn entries(&self) -> &[SynonymEntry] {
        &self.entries
    }

    /// The entries whose term occurs in `text` (longest terms first; see the module notes).
    pub fn matches(&self, text: &str) -> Vec<&SynonymEntry> {
        let hay: Vec<char> = text.to_lowercase().chars().collect();
        let mut order: Vec<&SynonymEntry> = self.entries.iter().collect();
        order.sort_by_key(|e| std::cmp::Reverse(e.term.chars().count()));
        let mut covered = vec![false; hay.len()];
        let mut out = Vec::new();
        for e in order {
            let needle: Vec<char> = e.term.to_lowercase().chars().collect();
            let latin = !needle.iter().any(|c| is_cjk(*c));
            let mut found = false;
            let mut i = 0;
            while !needle.is_empty() && i + needle.len() <= hay.len() {
                let end = i + needle.len();
                let hit = hay[i..end] == needle[..]
                    && !(latin && (i > 0 && is_word(hay[i - 1]) || end < hay.len() && is_word(hay[end])))
                    && !covered[i..end].iter().all(|&c| c);
                if hit {
                    covered[i..end].iter_mut().for_each(|c| *c = true);
                    found = true;
                    i = end;
                } else {
                    i += 1;
                }
            }
            if found {
                out.push(e);
            }
        }
        out
    }

    /// The document terms to add to a search for `text`: the canonical terms of every colloquial
    /// term found, each once, leaving out those `text` already contains.
    pub fn expand(&self, text: &str) -> Vec<String> {
        let lower = text.to_lowercase();
        let mut out: Vec<String> = Vec::new();
        for e in self.matches(text) {
            for c in &e.canonical {
                if !lower.contains(&c.to_lowercase()) && !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }
}

/// A letter or digit of a Latin-script (or Cyrillic…) word: what a Latin term must not touch.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

// Han ideographs: the text layer's check.
use lodestar_core::text::is_han as is_cjk;

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str =
        "term,canonical\n# comment\n铲车,装载机\nLC,信用证|L/C\n肩部脱空,胎肩脱层|肩空\n脱空,脱层\n爆胎,爆破|爆胎\n";

    #[test]
    fn parses_and_drops_a_term_mapped_to_itself() {
        let s = Synonyms::parse(CSV, "synonyms.csv").unwrap();
        assert_eq!(s.len(), 5);
        // 爆胎 → 爆破 only: mapping a term to itself adds nothing.
        assert_eq!(s.expand("前轮爆胎了怎么办"), vec!["爆破".to_string()]);
    }

    #[test]
    fn chinese_terms_match_inside_text_latin_only_as_words() {
        let s = Synonyms::parse(CSV, "synonyms.csv").unwrap();
        assert_eq!(s.expand("铲车用什么胎"), vec!["装载机".to_string()]);
        assert_eq!(s.expand("客户要开LC吗"), vec!["信用证".to_string(), "L/C".to_string()]);
        assert!(s.expand("Sibir Logistics LLC 的付款").is_empty(), "LC inside LLC is not a match");
        assert_eq!(s.expand("lc 付款").len(), 2, "case-insensitive");
    }

    #[test]
    fn longer_terms_win_and_present_terms_are_not_repeated() {
        let s = Synonyms::parse(CSV, "synonyms.csv").unwrap();
        // 脱空 sits inside the matched 肩部脱空, so only the longer term's wording is added.
        assert_eq!(s.expand("肩部脱空能索赔吗"), vec!["胎肩脱层".to_string(), "肩空".to_string()]);
        // On its own 脱空 still matches.
        assert_eq!(s.expand("胎面脱空"), vec!["脱层".to_string()]);
        // Canonical wording already in the question is not added again.
        assert!(s.expand("铲车和装载机的区别").is_empty());
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let err = Synonyms::parse("term,canonical\n铲车,\n", "synonyms.csv").unwrap_err();
        assert!(err.to_string().contains('2'), "{err}");
        assert!(Synonyms::parse("a,b\nx,y\n", "synonyms.csv").is_err());
    }

    #[test]
    fn the_shipped_list_parses_and_every_line_has_document_wording() {
        let s = Synonyms::parse(crate::builtin::SYNONYMS, "synonyms.csv").unwrap();
        assert!(s.len() >= 100, "{} entries", s.len());
        assert!(s.entries().iter().all(|e| !e.canonical.is_empty()));
    }
}
