//! The cue matcher (词表匹配): one set of words, found in a text with one Aho–Corasick pass.
//!
//! Routing, minutes extraction and indexing read their words from the vocabulary files
//! (`dictionaries/*.csv`, overlaid by a home's own); each kind of word becomes a [`CueSet`]. The
//! words keep their file order, which some rules read (`first_listed_in`: the first listed word
//! that occurs, so `毛利率` listed before `毛利` wins).

use aho_corasick::AhoCorasick;

/// An ordered set of words and the automaton that finds them.
#[derive(Debug, Clone, Default)]
pub struct CueSet {
    words: Vec<String>,
    ac: Option<AhoCorasick>,
}

impl PartialEq for CueSet {
    fn eq(&self, other: &Self) -> bool {
        self.words == other.words
    }
}

impl CueSet {
    /// A set of `words` in this order (empty words are dropped: they would match everywhere).
    pub fn new<I, S>(words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let words: Vec<String> = words.into_iter().map(Into::into).filter(|w: &String| !w.is_empty()).collect();
        let ac = if words.is_empty() { None } else { AhoCorasick::new(&words).ok() };
        CueSet { words, ac }
    }

    /// The words, in file order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// No words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether any word occurs in `t`.
    pub fn any_in(&self, t: &str) -> bool {
        match &self.ac {
            Some(ac) => ac.is_match(t),
            None => self.words.iter().any(|w| t.contains(w.as_str())),
        }
    }

    /// The first word in file order that occurs in `t`.
    pub fn first_listed_in(&self, t: &str) -> Option<&str> {
        let ac = self.ac.as_ref()?;
        let mut best: Option<usize> = None;
        for m in ac.find_overlapping_iter(t) {
            let id = m.pattern().as_usize();
            if best.is_none_or(|b| id < b) {
                best = Some(id);
            }
        }
        best.map(|i| self.words[i].as_str())
    }

    /// Whether `w` is one of the words (exactly).
    pub fn contains(&self, w: &str) -> bool {
        self.words.iter().any(|x| x == w)
    }

    /// The first word in file order that `t` starts with.
    pub fn prefix_of(&self, t: &str) -> Option<&str> {
        self.words.iter().find(|w| t.starts_with(w.as_str())).map(String::as_str)
    }

    /// The first word in file order that `t` ends with.
    pub fn suffix_of(&self, t: &str) -> Option<&str> {
        self.words.iter().find(|w| t.ends_with(w.as_str())).map(String::as_str)
    }

    /// Every occurrence of every word in `t` as (byte start, byte end, word), overlapping ones
    /// included, ordered by start.
    pub fn find_all(&self, t: &str) -> Vec<(usize, usize, &str)> {
        let Some(ac) = &self.ac else { return Vec::new() };
        let mut v: Vec<(usize, usize, &str)> = ac
            .find_overlapping_iter(t)
            .map(|m| (m.start(), m.end(), self.words[m.pattern().as_usize()].as_str()))
            .collect();
        v.sort();
        v
    }

    /// Replaces every occurrence of the words in `t`, longest word first, by `with` (as a chain of
    /// `str::replace` over the words sorted longest first would).
    pub fn replace_all(&self, t: &str, with: &str) -> String {
        let mut sorted: Vec<&String> = self.words.iter().collect();
        sorted.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        let mut out = t.to_string();
        for w in sorted {
            out = out.replace(w.as_str(), with);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::CueSet;

    #[test]
    fn finds_words_and_keeps_file_order() {
        let s = CueSet::new(["毛利率", "毛利", "profit"]);
        assert!(s.any_in("上月毛利是多少"));
        assert!(!s.any_in("销售额"));
        assert_eq!(s.first_listed_in("毛利率和毛利"), Some("毛利率"));
        assert_eq!(s.first_listed_in("毛利和毛利率"), Some("毛利率"));
        assert_eq!(s.first_listed_in("gross profit"), Some("profit"));
        assert_eq!(s.prefix_of("毛利多少"), Some("毛利"));
        assert!(CueSet::new(Vec::<String>::new()).first_listed_in("x").is_none());
        assert_eq!(CueSet::new(["什么", "什么时候"]).replace_all("什么时候做什么", " "), " 做 ");
    }
}
