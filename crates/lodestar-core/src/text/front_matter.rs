//! YAML-style front matter (`---` / `key: value` lines / `---` or `...`) at the top of a Markdown
//! knowledge document. The one parser: the index's reader and the in-memory retriever map the
//! fields they know.

/// Splits front matter off `text`: the `key: value` fields (key trimmed, value trimmed and
/// unquoted) in order, and the body after the closing line. `None` when the text has none
/// (leading blank lines are allowed before the opening `---`; the opening and closing lines hold
/// nothing else).
pub fn split(text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let trimmed = text.trim_start_matches(['\n', '\r']);
    let rest = trimmed.strip_prefix("---")?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let rest = rest.strip_prefix('\n').or_else(|| rest.strip_prefix("\r\n"))?;
    let mut end = None;
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            end = Some((pos, pos + line.len()));
            break;
        }
        pos += line.len();
    }
    let (head_end, body_start) = end?;
    let fields = rest[..head_end]
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), unquote(v.trim()).to_string()))
        .collect();
    Some((fields, &rest[body_start..]))
}

/// `"x"` / `'x'` → `x` (one pair of matching quotes).
pub fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// A list value: `RU;KZ`, `[RU, KZ]`, `RU，KZ` → items, trimmed, unquoted, empty ones dropped.
pub fn list(v: &str) -> Vec<String> {
    v.trim_matches(['[', ']'])
        .split([';', ',', '；', '，'])
        .map(|s| unquote(s.trim()).to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_body() {
        let (f, body) = split("\n---\nkb: customer\ntitle: \"Sibir\"\ncountries: [RU, 'KZ']\n---\n# Body\n").unwrap();
        assert_eq!(f[0], ("kb".into(), "customer".into()));
        assert_eq!(f[1].1, "Sibir");
        assert_eq!(list(&f[2].1), vec!["RU", "KZ"]);
        assert_eq!(body, "# Body\n");
        assert!(split("# no front matter\n---\n").is_none());
        assert!(split("---\nkb: x\nno end").is_none());
    }
}
