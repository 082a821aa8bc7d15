//! Column header aliases (表头别名) for imports, from `header_aliases.toml` — a data file users extend.
//!
//! ```toml
//! [sales]
//! month = ["月份", "Month", "年月"]
//! ```
//!
//! Matching is tolerant of the ways exports decorate a header: an exact alias first; then the
//! header without a trailing unit in brackets (`销量(条)`, `销售额（万美元）`, `Qty [pcs]` — the
//! unit is kept, see [`HeaderMatch::unit`]); then each part of a bilingual header split on
//! `/ | \` and line breaks and where Chinese text meets Latin or Cyrillic (`国家/Country`,
//! `国家 Country`, `客户\nCustomer`). Parts that mean two different fields make the header
//! ambiguous, and it maps to nothing.

use crate::DictError;
use std::collections::{BTreeMap, HashMap};

/// kind (`sales`, `targets`, `receivables`, `fx`, `customers`, `staff`) → canonical field → spellings.
#[derive(Debug, Clone, Default)]
pub struct HeaderAliases {
    /// kind → canonical field → the header spellings that mean it.
    pub kinds: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// kind → [`header_key`] of a field or spelling → the field (the first field in `kinds`
    /// order that has it), built at the first lookup and dropped by [`HeaderAliases::merge`]:
    /// every header cell looked up once per lookup instead of normalizing every spelling each
    /// time (a workbook of 83 sheets spent ten seconds there).
    keys: std::sync::OnceLock<HashMap<String, HashMap<String, String>>>,
}

impl PartialEq for HeaderAliases {
    fn eq(&self, other: &Self) -> bool {
        self.kinds == other.kinds
    }
}

/// How a header matched a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchQuality {
    /// The whole header is an alias.
    Exact,
    /// The header without its trailing bracketed unit is an alias.
    WithoutUnit,
    /// One part of a bilingual / split header is an alias (and no part means another field).
    Part,
}

/// A header mapped to a canonical field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMatch<'a> {
    /// The canonical field the header means (a key of the kind's table).
    pub field: &'a str,
    /// Which matching step found it.
    pub quality: MatchQuality,
    /// The trailing unit in brackets that was stripped (`万美元`, `pcs`, `RUB`, `原币`), as written
    /// (half-width, lower-case).
    pub unit: Option<String>,
}

/// The comparison key of a header: half-width, lower-case, no spaces, no trailing `*` or `:`,
/// `（条）` and `(条)` alike.
pub fn header_key(h: &str) -> String {
    lodestar_core::text::norm_key(h)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '*' | ':' | '\n' | '\r'))
        .collect()
}

/// Units that count pieces (条 / pcs): a money field with such a unit means its quantity sibling.
const COUNT_UNITS: &[&str] =
    &["条", "pcs", "pc", "pcs.", "个", "只", "套", "件", "шт", "шт.", "units", "tyres", "tires"];

/// Whether a header unit counts pieces (`条`, `pcs`, `шт`).
pub fn is_count_unit(unit: &str) -> bool {
    COUNT_UNITS.contains(&header_key(unit).as_str())
}

/// `text` without a trailing bracketed unit: `("销售额", "万美元")` for `销售额(万美元)`.
/// Works on any bracket pair `()` `（）` `[]` `【】`; `None` when there is none or nothing before it.
pub fn split_unit(text: &str) -> Option<(String, String)> {
    let t = lodestar_core::text::to_halfwidth(text.trim());
    let t = t.trim_end_matches(['*', ':', ' ']);
    let close = t.chars().last()?;
    let open = match close {
        ')' => '(',
        ']' => '[',
        '】' => '【',
        '）' => '（',
        _ => return None,
    };
    let i = t.rfind(open)?;
    let base = t[..i].trim();
    let unit = t[i + open.len_utf8()..t.len() - close.len_utf8()].trim();
    if base.is_empty() || unit.is_empty() {
        return None;
    }
    Some((base.to_string(), unit.to_lowercase()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Cjk,
    Latin,
    Cyrillic,
    Other,
}

fn script(c: char) -> Script {
    match c {
        'a'..='z' | 'A'..='Z' => Script::Latin,
        '\u{0400}'..='\u{04FF}' => Script::Cyrillic,
        c if lodestar_core::text::is_cjk(c) => Script::Cjk,
        _ => Script::Other,
    }
}

/// The parts of a bilingual header: split on `/ | \ ／ ｜` and line breaks, then where Chinese
/// meets Latin or Cyrillic letters (`国家 Country` → `国家`, `Country`). Digits, spaces and
/// punctuation stay with the part before them.
pub fn header_parts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in text.split(['/', '|', '\\', '\n', '\r', '／', '｜']) {
        let mut cur = String::new();
        let mut last = Script::Other;
        for c in piece.chars() {
            let s = script(c);
            if s != Script::Other && last != Script::Other && s != last && !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if s != Script::Other {
                last = s;
            }
            cur.push(c);
        }
        out.push(cur);
    }
    out.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

impl HeaderAliases {
    /// Parses `header_aliases.toml` text; `file` names the file in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, DictError> {
        let kinds: BTreeMap<String, BTreeMap<String, Vec<String>>> =
            toml::from_str(text).map_err(|source| DictError::Toml { file: file.into(), source })?;
        Ok(Self { kinds, keys: Default::default() })
    }

    /// Adds the spellings of `other` to these.
    pub fn merge(&mut self, other: HeaderAliases) {
        self.keys = Default::default();
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

    /// The field whose alias (or canonical name) is exactly `key` (a [`header_key`]).
    fn exact(&self, kind: &str, key: &str) -> Option<&str> {
        if key.is_empty() {
            return None;
        }
        let keys = self.keys.get_or_init(|| {
            let mut all: HashMap<String, HashMap<String, String>> = HashMap::new();
            for (kind, fields) in &self.kinds {
                let k = all.entry(kind.clone()).or_default();
                for (field, names) in fields {
                    for n in std::iter::once(field).chain(names) {
                        k.entry(header_key(n)).or_insert_with(|| field.clone());
                    }
                }
            }
            all
        });
        let field = keys.get(kind)?.get(key)?;
        self.kinds.get(kind)?.get_key_value(field).map(|(f, _)| f.as_str())
    }

    /// An exact match of `text`, else of `text` without its trailing unit.
    fn exact_or_unit(&self, kind: &str, text: &str) -> Option<(&str, Option<String>)> {
        if let Some(f) = self.exact(kind, &header_key(text)) {
            return Some((f, None));
        }
        let (base, unit) = split_unit(text)?;
        self.exact(kind, &header_key(&base)).map(|f| (f, Some(unit)))
    }

    /// A money field written with a count unit (`目标(pcs)`) means its quantity sibling.
    fn with_unit_sense<'s>(&'s self, kind: &str, field: &'s str, unit: Option<&str>) -> &'s str {
        let Some(u) = unit else { return field };
        if !is_count_unit(u) {
            return field;
        }
        let sibling = match field {
            "amount" => "quantity",
            "target_amount" => "target_quantity",
            _ => return field,
        };
        self.kinds.get(kind).and_then(|f| f.get_key_value(sibling)).map(|(k, _)| k.as_str()).unwrap_or(field)
    }

    /// How a header maps to a canonical field of `kind`, if it does (see the module docs).
    pub fn match_header(&self, kind: &str, header: &str) -> Option<HeaderMatch<'_>> {
        let key = header_key(header);
        if key.is_empty() {
            return None;
        }
        if let Some(field) = self.exact(kind, &key) {
            return Some(HeaderMatch { field, quality: MatchQuality::Exact, unit: None });
        }
        // the unit comes off first: `汇率(USD/本币)` must not be split on its slash
        let (body, unit) = match split_unit(header) {
            Some((base, unit)) => (base, Some(unit)),
            None => (header.to_string(), None),
        };
        if unit.is_some() {
            if let Some(field) = self.exact(kind, &header_key(&body)) {
                let field = self.with_unit_sense(kind, field, unit.as_deref());
                return Some(HeaderMatch { field, quality: MatchQuality::WithoutUnit, unit });
            }
        }
        let parts = header_parts(&body);
        if parts.len() < 2 {
            return None;
        }
        let mut found: Option<(&str, Option<String>)> = None;
        for p in &parts {
            if let Some((f, u)) = self.exact_or_unit(kind, p) {
                match &found {
                    Some((g, _)) if *g != f => return None, // ambiguous: two fields
                    Some(_) => {}
                    None => found = Some((f, u)),
                }
            }
        }
        let (field, part_unit) = found?;
        let unit = unit.or(part_unit);
        let field = self.with_unit_sense(kind, field, unit.as_deref());
        Some(HeaderMatch { field, quality: MatchQuality::Part, unit })
    }

    /// The canonical field of `kind` a header means, if any (see [`HeaderAliases::match_header`]).
    pub fn field_for(&self, kind: &str, header: &str) -> Option<&str> {
        self.match_header(kind, header).map(|m| m.field)
    }

    /// Canonical fields of `kind`.
    pub fn fields(&self, kind: &str) -> Vec<&str> {
        self.kinds.get(kind).map(|f| f.keys().map(|s| s.as_str()).collect()).unwrap_or_default()
    }

    /// The spellings of one field (first = the canonical Chinese header).
    pub fn spellings(&self, kind: &str, field: &str) -> &[String] {
        self.kinds.get(kind).and_then(|f| f.get(field)).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// Alias spellings that mean two different fields of one kind (after [`header_key`]):
    /// `(kind, spelling, field, other field)`. A well-formed alias file has none.
    pub fn ambiguities(&self) -> Vec<(String, String, String, String)> {
        let mut out = Vec::new();
        for (kind, fields) in &self.kinds {
            let mut seen: BTreeMap<String, &str> = BTreeMap::new();
            for (field, names) in fields {
                for n in names.iter().chain(std::iter::once(field)) {
                    let k = header_key(n);
                    match seen.get(&k) {
                        Some(other) if *other != field.as_str() => {
                            out.push((kind.clone(), n.clone(), other.to_string(), field.clone()))
                        }
                        Some(_) => {}
                        None => {
                            seen.insert(k, field);
                        }
                    }
                }
            }
        }
        out
    }
}
