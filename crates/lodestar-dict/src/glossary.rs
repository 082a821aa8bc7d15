//! English → Chinese business glossary (中英术语表), from `glossary.csv`: lets a question asked in
//! English find the Chinese knowledge documents through BM25, which matches words, not meanings.
//!
//! File format: header `en,zh`; `en` is a lower-case English word or phrase in its singular form,
//! `zh` one or more Chinese terms separated by `|` (most common first); `#` starts a comment line.
//!
//! Matching is on whole words, case-insensitive, longest phrase first (up to
//! [`MAX_PHRASE_WORDS`] words), after undoing a plural `-s` / `-es` / `-ies` or a past `-ed` /
//! `-ied`, so `approved credit limits` finds `approve` and `credit limit`.

use crate::DictError;
use std::collections::HashMap;

/// Longest English phrase looked up, in words.
pub const MAX_PHRASE_WORDS: usize = 4;

/// One glossary line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GlossaryEntry {
    /// The English word or phrase, lower-case and singular.
    pub en: String,
    /// Its Chinese terms, most common first.
    pub zh: Vec<String>,
}

/// The glossary with its phrase index.
#[derive(Debug, Clone, Default)]
pub struct Glossary {
    entries: Vec<GlossaryEntry>,
    /// Normalized phrase (words joined by one space) → entry index.
    index: HashMap<String, usize>,
}

impl Glossary {
    /// Parses `glossary.csv` text.
    pub fn parse(text: &str, file: &str) -> Result<Self, DictError> {
        let mut g = Glossary::default();
        for (line, en, zh) in term_lists(text, file, ("en", "zh"), &['|', ';', '；'])? {
            if en.is_empty() || zh.is_empty() {
                return Err(DictError::Row { file: file.into(), line, message: "needs both `en` and `zh`".into() });
            }
            g.insert(GlossaryEntry { en, zh });
        }
        Ok(g)
    }

    /// Adds an entry, replacing one with the same English phrase.
    pub fn insert(&mut self, e: GlossaryEntry) {
        let key = phrase_key(&e.en);
        if key.is_empty() {
            return;
        }
        match self.index.get(&key) {
            Some(&i) => self.entries[i] = e,
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push(e);
            }
        }
    }

    /// Adds every entry of `other` (same phrase: `other` wins).
    pub fn merge(&mut self, other: Glossary) {
        for e in other.entries {
            self.insert(e);
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the glossary has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in the order first inserted (a replaced entry keeps its place).
    pub fn entries(&self) -> &[GlossaryEntry] {
        &self.entries
    }

    /// The Chinese terms of the English phrases found in `text`, in order of appearance, each
    /// once. Longest match first: `credit limit` wins over `credit` and `limit`.
    pub fn expand(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.phrases(text) {
            for z in &e.zh {
                if !out.contains(z) {
                    out.push(z.clone());
                }
            }
        }
        out
    }

    /// The glossary entries of the English phrases found in `text`, in order of appearance
    /// (longest match first, each entry once).
    pub fn phrases(&self, text: &str) -> Vec<&GlossaryEntry> {
        let words: Vec<String> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\''))
            .map(|w| w.trim_matches('\'').to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let mut out: Vec<&GlossaryEntry> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = 0;
            for n in (1..=MAX_PHRASE_WORDS.min(words.len() - i)).rev() {
                if let Some(&e) = lookup(&self.index, &words[i..i + n]) {
                    let entry = &self.entries[e];
                    if !out.iter().any(|x| std::ptr::eq(*x, entry)) {
                        out.push(entry);
                    }
                    matched = n;
                    break;
                }
            }
            i += matched.max(1);
        }
        out
    }
}

/// The rows of a two-column term file (`glossary.csv`, `synonyms.csv`): header naming the
/// columns `cols` (key, list), `#` comment lines, the list split on `seps`. Each row as (line,
/// key, list items), trimmed, empty items dropped; rows with both sides empty are skipped, a row
/// with one side empty is returned for the caller to report.
pub(crate) fn term_lists(
    text: &str,
    file: &str,
    cols: (&str, &str),
    seps: &[char],
) -> Result<Vec<(usize, String, Vec<String>)>, DictError> {
    let mut rdr =
        csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).comment(Some(b'#')).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|source| DictError::Csv { file: file.into(), source })?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name);
    let (Some(k_col), Some(l_col)) = (col(cols.0), col(cols.1)) else {
        return Err(DictError::Row {
            file: file.into(),
            line: 1,
            message: format!("header must name `{}` and `{}`", cols.0, cols.1),
        });
    };
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|source| DictError::Csv { file: file.into(), source })?;
        let key = rec.get(k_col).unwrap_or("").trim().to_string();
        let list: Vec<String> =
            rec.get(l_col).unwrap_or("").split(seps).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if key.is_empty() && list.is_empty() {
            continue;
        }
        out.push((rec.position().map_or(i + 2, |p| p.line() as usize), key, list));
    }
    Ok(out)
}

/// A question written in a Latin-script language (`Who has to approve a credit limit…`): no CJK
/// character, at least three words of two or more letters, and mostly ASCII letters. The
/// knowledge bases are Chinese, so such a question needs the glossary to be matched word for word.
pub fn is_latin_question(text: &str) -> bool {
    let cjk = text.chars().any(lodestar_core::text::is_han);
    let words = text.split(|c: char| !c.is_alphabetic()).filter(|w| w.chars().count() >= 2).count();
    !cjk && words >= 3
        && text.chars().filter(|c| c.is_ascii_alphabetic()).count() * 2
            > text.chars().filter(|c| c.is_alphabetic()).count()
}

/// Chinese forms of the English dates in a question (`July 2026` → `2026 年 7 月`, `7月`;
/// `Q3 2026` → `2026 年第三季度`, `三季度`), as the knowledge documents write them in titles and
/// headings. `May` counts only before a year (it is also a verb).
pub fn english_dates(text: &str) -> Vec<String> {
    const MONTHS: [(&str, &str); 12] = [
        ("jan", "january"),
        ("feb", "february"),
        ("mar", "march"),
        ("apr", "april"),
        ("may", "may"),
        ("jun", "june"),
        ("jul", "july"),
        ("aug", "august"),
        ("sep", "september"),
        ("oct", "october"),
        ("nov", "november"),
        ("dec", "december"),
    ];
    const QUARTERS: [&str; 4] = ["一", "二", "三", "四"];
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let year_at = |i: usize| -> Option<u32> {
        words.get(i).filter(|w| w.len() == 4).and_then(|w| w.parse::<u32>().ok()).filter(|y| (1990..2100).contains(y))
    };
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for (i, w) in words.iter().enumerate() {
        let year = year_at(i + 1);
        let month = MONTHS.iter().position(|(short, full)| w == short || w == full || (w == "sept" && *short == "sep"));
        if let Some(m) = month {
            // `may` alone is a verb
            if m == 4 && year.is_none() {
                continue;
            }
            if let Some(y) = year {
                push(format!("{y} 年 {} 月", m + 1));
            }
            push(format!("{}月", m + 1));
        } else if let Some(q) = ["q1", "q2", "q3", "q4"].iter().position(|x| x == w) {
            if let Some(y) = year {
                push(format!("{y} 年第{}季度", QUARTERS[q]));
            }
            push(format!("{}季度", QUARTERS[q]));
        }
    }
    out
}

/// The phrase with its words lower-cased and joined by one space.
fn phrase_key(p: &str) -> String {
    p.split_whitespace().map(|w| w.to_ascii_lowercase()).collect::<Vec<_>>().join(" ")
}

/// Looks `words` up as given, then with the inflection of the last word undone.
fn lookup<'a>(index: &'a HashMap<String, usize>, words: &[String]) -> Option<&'a usize> {
    let (last, head) = words.split_last()?;
    let head = head.join(" ");
    let join = |w: &str| if head.is_empty() { w.to_string() } else { format!("{head} {w}") };
    std::iter::once(last.clone()).chain(base_forms(last)).find_map(|w| index.get(&join(&w)))
}

/// Candidate base forms of an inflected English word (`limits` → `limit`, `approved` →
/// `approve` / `approv`, `policies` → `policy`, `shipped` → `ship`).
fn base_forms(w: &str) -> Vec<String> {
    let mut out = Vec::new();
    let n = w.len();
    if n <= 3 {
        return out;
    }
    if let Some(s) = w.strip_suffix("ies") {
        out.push(format!("{s}y"));
    }
    if let Some(s) = w.strip_suffix("ied") {
        out.push(format!("{s}y"));
    }
    if let Some(s) = w.strip_suffix("es") {
        out.push(s.to_string());
    }
    if let Some(s) = w.strip_suffix('s') {
        if !s.ends_with('s') {
            out.push(s.to_string());
        }
    }
    if let Some(s) = w.strip_suffix("ed") {
        out.push(s.to_string());
        out.push(format!("{s}e"));
        // shipped → ship
        let b = s.as_bytes();
        if b.len() >= 2 && b[b.len() - 1] == b[b.len() - 2] {
            out.push(s[..s.len() - 1].to_string());
        }
    }
    if let Some(s) = w.strip_suffix("ing") {
        out.push(s.to_string());
        out.push(format!("{s}e"));
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn english_dates_become_the_documents_forms() {
        assert_eq!(english_dates("Why was July 2026 weak?"), vec!["2026 年 7 月".to_string(), "7月".to_string()]);
        assert_eq!(english_dates("sales in Sept."), vec!["9月".to_string()]);
        assert_eq!(
            english_dates("Q3 2026 versus Q2"),
            vec!["2026 年第三季度".to_string(), "三季度".to_string(), "二季度".to_string()]
        );
        // `may` is a month only before a year
        assert!(english_dates("Who may approve a discount?").is_empty());
        assert_eq!(english_dates("May 2025 shipments"), vec!["2025 年 5 月".to_string(), "5月".to_string()]);
        // a number that is not a year is not taken as one
        assert_eq!(english_dates("March 12"), vec!["3月".to_string()]);
    }
    use super::*;

    const SAMPLE: &str = "en,zh\n# payment\ncredit limit,信用额度|授信额度\ncredit,信用\nlimit,限额\napprove,审批|批准\npolicy,政策\nship,发运\nworking day,工作日\n";

    #[test]
    fn longest_phrase_wins_and_inflections_are_undone() {
        let g = Glossary::parse(SAMPLE, "glossary.csv").unwrap();
        assert_eq!(g.len(), 7);
        // "credit limits" is the two-word entry (plural undone), not "credit" + "limit".
        assert_eq!(
            g.expand("Who approved the credit limits under this policies?"),
            vec!["审批", "批准", "信用额度", "授信额度", "政策"]
        );
        assert_eq!(g.expand("goods shipped in 5 working days"), vec!["发运", "工作日"]);
        // Words not in the glossary give nothing; case does not matter.
        assert!(g.expand("Hello there").is_empty());
        assert_eq!(g.expand("CREDIT"), vec!["信用"]);
    }

    #[test]
    fn later_entries_replace_earlier_ones_and_bad_rows_are_reported() {
        let mut g = Glossary::parse(SAMPLE, "glossary.csv").unwrap();
        g.merge(Glossary::parse("en,zh\nCredit  Limit,额度\n", "home").unwrap());
        assert_eq!(g.len(), 7);
        assert_eq!(g.expand("credit limit"), vec!["额度"]);
        assert!(Glossary::parse("en,zh\nwarranty,\n", "x").is_err());
        assert!(Glossary::parse("english,chinese\na,b\n", "x").is_err());
    }
}
