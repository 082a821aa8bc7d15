//! Word lists the rules read (词表): which words make a question a sales-metric question
//! (`metric_subjects.csv`), the role words that make a person in minutes a supporting owner
//! (`owner_roles.csv`) and the extra type keywords of action items (`type_keywords.csv`).
//!
//! Each is a CSV compiled in from the repository's `dictionaries/` and overlaid by the file of the
//! same name in a home's `dictionaries/` folder, read when the home is opened — ops extend the
//! vocabulary without a rebuild (see `docs/vocabulary.md`):
//! - a line of the home's file **adds** a row (`supporting,帮忙跟进`);
//! - a line starting with `-` **removes** the built-in row it repeats (`-count_object,人`);
//! - `#` lines, blank lines and the header are skipped.

use crate::DictError;

/// The word-list files, by name.
pub const FILES: [&str; 3] = ["metric_subjects.csv", "owner_roles.csv", "type_keywords.csv"];

/// Built-in word lists.
pub mod builtin {
    pub const METRIC_SUBJECTS: &str = include_str!("../../../dictionaries/metric_subjects.csv");
    pub const OWNER_ROLES: &str = include_str!("../../../dictionaries/owner_roles.csv");
    pub const TYPE_KEYWORDS: &str = include_str!("../../../dictionaries/type_keywords.csv");
}

/// One word list: its rows (cells trimmed), built-in rows first, then the home's additions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WordList {
    pub rows: Vec<Vec<String>>,
}

fn is_header(cells: &[String]) -> bool {
    // `kind,word`, `role,word`, `keyword,tag,weight`
    matches!(cells.first().map(String::as_str), Some("kind" | "role" | "keyword"))
}

fn parse_line(line: &str) -> Vec<String> {
    line.split(',').map(|c| c.trim().to_string()).collect()
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

/// The three word lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    /// `kind,word`: what makes a question a rule-engine question.
    pub metric_subjects: WordList,
    /// `role,word`: role words after a name in minutes.
    pub owner_roles: WordList,
    /// `keyword,tag,weight`: extra type keywords of action items.
    pub type_keywords: WordList,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            metric_subjects: WordList::parse(builtin::METRIC_SUBJECTS),
            owner_roles: WordList::parse(builtin::OWNER_ROLES),
            type_keywords: WordList::parse(builtin::TYPE_KEYWORDS),
        }
    }
}

impl Vocabulary {
    /// Overlays the home's file `name` (one of [`FILES`]).
    pub fn overlay(&mut self, name: &str, text: &str) -> Result<(), DictError> {
        match name {
            "metric_subjects.csv" => self.metric_subjects.overlay(text, name),
            "owner_roles.csv" => self.owner_roles.overlay(text, name),
            "type_keywords.csv" => self.type_keywords.overlay(text, name),
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
}
