//! Column header aliases (表头别名) for imports, from `header_aliases.toml` — a data file users extend.
//!
//! ```toml
//! [sales]
//! month = ["月份", "Month", "年月"]
//! ```

use crate::DictError;
use std::collections::BTreeMap;

/// kind (`sales`, `targets`, `receivables`, `fx`, `customers`, `staff`) → canonical field → spellings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderAliases {
    pub kinds: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// The comparison key of a header: half-width, lower-case, no spaces, no trailing `*` or `:`,
/// `（条）` and `(条)` alike.
pub fn header_key(h: &str) -> String {
    lodestar_core::text::norm_key(h)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | ':' | '\n' | '\r'))
        .collect()
}

impl HeaderAliases {
    pub fn parse(text: &str, file: &str) -> Result<Self, DictError> {
        let kinds: BTreeMap<String, BTreeMap<String, Vec<String>>> =
            toml::from_str(text).map_err(|source| DictError::Toml { file: file.into(), source })?;
        Ok(Self { kinds })
    }

    /// Adds the spellings of `other` to these.
    pub fn merge(&mut self, other: HeaderAliases) {
        for (kind, fields) in other.kinds {
            let k = self.kinds.entry(kind).or_default();
            for (field, names) in fields {
                let v = k.entry(field).or_default();
                for n in names {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                }
            }
        }
    }

    /// The canonical field of `kind` a header means, if any (exact alias match after [`header_key`]).
    pub fn field_for(&self, kind: &str, header: &str) -> Option<&str> {
        let key = header_key(header);
        if key.is_empty() {
            return None;
        }
        let fields = self.kinds.get(kind)?;
        fields
            .iter()
            .find(|(field, names)| header_key(field) == key || names.iter().any(|n| header_key(n) == key))
            .map(|(f, _)| f.as_str())
    }

    /// Canonical fields of `kind`.
    pub fn fields(&self, kind: &str) -> Vec<&str> {
        self.kinds.get(kind).map(|f| f.keys().map(|s| s.as_str()).collect()).unwrap_or_default()
    }

    /// The spellings of one field (first = the canonical Chinese header).
    pub fn spellings(&self, kind: &str, field: &str) -> &[String] {
        self.kinds.get(kind).and_then(|f| f.get(field)).map(|v| v.as_slice()).unwrap_or(&[])
    }
}
