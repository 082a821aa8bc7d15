//! Word lists the rules read (词表): which words make a question a sales-metric question
//! (`metric_subjects.csv`), the role words that make a person in minutes a supporting owner
//! (`owner_roles.csv`), the extra type keywords of action items (`type_keywords.csv`), and the cue
//! lists of routing (`route_cues.csv`), periods (`period_words.csv`) and minutes extraction
//! (`minutes_cues.csv`), each kind of cue loaded into one [`CueSet`] (the shared Aho–Corasick
//! matcher of `lodestar_core::text::cues`).
//!
//! Each is a CSV compiled in from the repository's `dictionaries/` and overlaid by the file of the
//! same name in a home's `dictionaries/` folder, read when the home is opened — ops extend the
//! vocabulary without a rebuild (see `docs/vocabulary.md`):
//! - a line of the home's file **adds** a row (`supporting,帮忙跟进`);
//! - a line starting with `-` **removes** the built-in row it repeats (`-count_object,人`);
//! - `#` lines, blank lines and the header are skipped.

use crate::DictError;
use lodestar_core::text::CueSet;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The word-list files, by name.
pub const FILES: [&str; 6] = [
    "metric_subjects.csv",
    "owner_roles.csv",
    "type_keywords.csv",
    "route_cues.csv",
    "period_words.csv",
    "minutes_cues.csv",
];

/// Built-in word lists.
pub mod builtin {
    /// `metric_subjects.csv`: words that make a question a sales-metric question.
    pub const METRIC_SUBJECTS: &str = include_str!("../../../dictionaries/metric_subjects.csv");
    /// `owner_roles.csv`: role words that make a person in minutes a supporting owner.
    pub const OWNER_ROLES: &str = include_str!("../../../dictionaries/owner_roles.csv");
    /// `type_keywords.csv`: extra type keywords of action items.
    pub const TYPE_KEYWORDS: &str = include_str!("../../../dictionaries/type_keywords.csv");
    /// `route_cues.csv`: cue words of question routing.
    pub const ROUTE_CUES: &str = include_str!("../../../dictionaries/route_cues.csv");
    /// `period_words.csv`: words that name periods.
    pub const PERIOD_WORDS: &str = include_str!("../../../dictionaries/period_words.csv");
    /// `minutes_cues.csv`: cue words of minutes extraction.
    pub const MINUTES_CUES: &str = include_str!("../../../dictionaries/minutes_cues.csv");
}

/// One word list: its rows (cells trimmed), built-in rows first, then the home's additions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WordList {
    /// The rows, cells trimmed: built-in rows first (minus those the home removes), then the home's additions.
    pub rows: Vec<Vec<String>>,
}

fn is_header(cells: &[String]) -> bool {
    // `kind,word`, `role,word`, `keyword,tag,weight`
    matches!(cells.first().map(String::as_str), Some("kind" | "role" | "keyword"))
}

/// Cells trimmed; a cell in double quotes keeps its inner spaces (`owner_after,"to "`).
fn parse_line(line: &str) -> Vec<String> {
    line.split(',')
        .map(|c| {
            let t = c.trim();
            match t.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(inner) if t.len() >= 2 => inner.to_string(),
                _ => t.to_string(),
            }
        })
        .collect()
}

impl WordList {
    /// Parses a built-in list.
    pub fn parse(text: &str) -> Self {
        let rows = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(parse_line)
            .filter(|c| !is_header(c) && c.iter().any(|x| !x.is_empty()))
            .collect();
        WordList { rows }
    }

    /// Applies a home's file: added rows, `-` rows removed. `file` names it in errors.
    pub fn overlay(&mut self, text: &str, file: &str) -> Result<(), DictError> {
        let width = self.rows.first().map(Vec::len);
        for (i, line) in text.lines().enumerate() {
            let l = line.trim().trim_start_matches('\u{feff}');
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (remove, body) = match l.strip_prefix('-') {
                Some(rest) => (true, rest.trim()),
                None => (false, l),
            };
            let cells = parse_line(body);
            if is_header(&cells) {
                continue;
            }
            if let Some(w) = width {
                if cells.len() != w {
                    return Err(DictError::Row {
                        file: file.into(),
                        line: i + 1,
                        message: format!("expected {w} comma-separated fields, found {}", cells.len()),
                    });
                }
            }
            if cells.iter().any(|c| c.is_empty()) {
                return Err(DictError::Row { file: file.into(), line: i + 1, message: "an empty field".into() });
            }
            if remove {
                self.rows.retain(|r| !r.iter().map(|x| x.to_lowercase()).eq(cells.iter().map(|x| x.to_lowercase())));
            } else if !self.rows.contains(&cells) {
                self.rows.push(cells);
            }
        }
        Ok(())
    }

    /// The second column of the rows whose first is `kind`, lower-cased.
    pub fn words(&self, kind: &str) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| r.first().is_some_and(|k| k == kind))
            .filter_map(|r| r.get(1))
            .map(|w| w.to_lowercase())
            .collect()
    }
}

/// A `kind,word` cue file: its rows and one [`CueSet`] per kind, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cues {
    /// The rows (built-in, then the home's).
    pub list: WordList,
    /// The kinds the built-in file defines: a home's row must use one of them.
    kinds: Vec<String>,
    /// Words lower-cased (matched against lower-cased text) or kept as written.
    lowercase: bool,
    sets: BTreeMap<String, CueSet>,
}

static EMPTY: LazyLock<CueSet> = LazyLock::new(CueSet::default);

impl Cues {
    /// A built-in cue file; `lowercase` when the rules match it against lower-cased text.
    pub fn parse(text: &str, lowercase: bool) -> Self {
        let list = WordList::parse(text);
        let mut kinds: Vec<String> = Vec::new();
        for r in &list.rows {
            if let Some(k) = r.first() {
                if !kinds.contains(k) {
                    kinds.push(k.clone());
                }
            }
        }
        let mut c = Cues { list, kinds, lowercase, sets: BTreeMap::new() };
        c.rebuild();
        c
    }

    fn rebuild(&mut self) {
        let mut words: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &self.list.rows {
            if let (Some(k), Some(w)) = (r.first(), r.get(1)) {
                let w = if self.lowercase { w.to_lowercase() } else { w.clone() };
                words.entry(k.clone()).or_default().push(w);
            }
        }
        self.sets = words.into_iter().map(|(k, v)| (k, CueSet::new(v))).collect();
    }

    /// The words of `kind` (an empty set for a kind without rows).
    pub fn get(&self, kind: &str) -> &CueSet {
        self.sets.get(kind).unwrap_or(&EMPTY)
    }

    /// The kinds the built-in file defines.
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// Applies a home's file (rows added, `-` rows removed); a row of a kind the built-in file
    /// does not define stops with the file and line.
    pub fn overlay(&mut self, text: &str, file: &str) -> Result<(), DictError> {
        for (i, line) in text.lines().enumerate() {
            let l = line.trim().trim_start_matches('\u{feff}');
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let cells = parse_line(l.strip_prefix('-').unwrap_or(l).trim());
            let kind = cells.first().map(String::as_str).unwrap_or("");
            if !is_header(&cells) && !self.kinds.iter().any(|k| k == kind) {
                return Err(DictError::Row {
                    file: file.into(),
                    line: i + 1,
                    message: format!("unknown kind `{kind}` (known: {})", self.kinds.join(", ")),
                });
            }
        }
        self.list.overlay(text, file)?;
        self.rebuild();
        Ok(())
    }
}

/// The word lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    /// `kind,word`: what makes a question a rule-engine question.
    pub metric_subjects: WordList,
    /// `role,word`: role words after a name in minutes.
    pub owner_roles: WordList,
    /// `keyword,tag,weight`: extra type keywords of action items.
    pub type_keywords: WordList,
    /// `kind,word`: the cues of question routing (intents, dimensions, knowledge cues, scopes).
    pub route: Cues,
    /// `kind,word`: relative period words of questions (上月, this quarter).
    pub periods: Cues,
    /// `kind,word`: the cues of minutes extraction (action verbs, owner markers, non-names).
    pub minutes: Cues,
}

static BUILTIN: LazyLock<Vocabulary> = LazyLock::new(|| Vocabulary {
    metric_subjects: WordList::parse(builtin::METRIC_SUBJECTS),
    owner_roles: WordList::parse(builtin::OWNER_ROLES),
    type_keywords: WordList::parse(builtin::TYPE_KEYWORDS),
    route: Cues::parse(builtin::ROUTE_CUES, true),
    periods: Cues::parse(builtin::PERIOD_WORDS, true),
    minutes: Cues::parse(builtin::MINUTES_CUES, false),
});

impl Default for Vocabulary {
    fn default() -> Self {
        BUILTIN.clone()
    }
}

impl Vocabulary {
    /// The built-in vocabulary (no home overlay), for rules called without dictionaries.
    pub fn builtin() -> &'static Vocabulary {
        &BUILTIN
    }

    /// Overlays the home's file `name` (one of [`FILES`]).
    pub fn overlay(&mut self, name: &str, text: &str) -> Result<(), DictError> {
        match name {
            "metric_subjects.csv" => self.metric_subjects.overlay(text, name),
            "owner_roles.csv" => self.owner_roles.overlay(text, name),
            "type_keywords.csv" => self.type_keywords.overlay(text, name),
            "route_cues.csv" => self.route.overlay(text, name),
            "period_words.csv" => self.periods.overlay(text, name),
            "minutes_cues.csv" => self.minutes.overlay(text, name),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lists_parse_without_headers_or_comments() {
        let v = Vocabulary::default();
        assert!(v.metric_subjects.words("strong").contains(&"销售额".to_string()));
        assert!(v.owner_roles.words("supporting").contains(&"配合".to_string()));
        assert!(v.type_keywords.rows.iter().all(|r| r.len() == 3));
        assert!(v.metric_subjects.rows.iter().all(|r| r[0] != "kind"));
    }

    #[test]
    fn a_home_file_adds_and_removes_rows() {
        let mut v = Vocabulary::default();
        assert!(v.owner_roles.words("supporting").contains(&"协助".to_string()));
        v.overlay("owner_roles.csv", "\u{feff}role,word\n# ours\nsupporting,帮忙跟进\n-supporting,协助\n").unwrap();
        let w = v.owner_roles.words("supporting");
        assert!(w.contains(&"帮忙跟进".to_string()));
        assert!(!w.contains(&"协助".to_string()));
        let e = v.overlay("type_keywords.csv", "补货,ORDER_SHIP\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("expected 3"), "{e}");
    }

    #[test]
    fn cue_files_add_remove_and_check_kinds() {
        let mut v = Vocabulary::default();
        assert!(v.route.get("knowledge").contains("保修"));
        assert!(v.minutes.get("owner_after").contains("to "), "quoted cells keep their spaces");
        v.overlay("route_cues.csv", "kind,word\nknowledge,Lead Time\n-knowledge,保修\n").unwrap();
        assert!(v.route.get("knowledge").any_in("what is the lead time"));
        assert!(!v.route.get("knowledge").contains("保修"));
        let e = v.overlay("route_cues.csv", "knowledg,交期\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("unknown kind"), "{e}");
        assert!(v.get_missing_kind_is_empty());
    }

    impl Vocabulary {
        fn get_missing_kind_is_empty(&self) -> bool {
            self.route.get("no such kind").is_empty()
        }
    }
}
