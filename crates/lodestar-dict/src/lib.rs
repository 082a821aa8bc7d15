//! `lodestar-dict`: the dictionaries (三类基础字典) and how names are resolved through them.
//!
//! The built-in dictionaries (`dictionaries/*.csv` in the repository) are compiled into the binary;
//! a home's `dictionaries/` folder adds or overrides entries (what `lodestar dict import` writes).
//! Every lookup goes through [`lodestar_core::text::norm_key`], so full-width forms, case and
//! stray spaces never matter.
//!
//! ```no_run
//! let d = lodestar_dict::Dictionaries::builtin().unwrap();
//! assert_eq!(d.resolve_country("Россия").map(|c| c.code.as_str()), Some("RU"));
//! assert_eq!(lodestar_dict::spec::normalize_spec("315/80 r22.5").as_deref(), Some("315/80R22.5"));
//! ```

pub mod aliases;
pub mod glossary;
pub mod model;
pub mod spec;
pub mod synonyms;

pub use aliases::HeaderAliases;
pub use glossary::{Glossary, GlossaryEntry};
pub use model::*;
pub use synonyms::{SynonymEntry, Synonyms};

use lodestar_core::text::norm_key;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DictError {
    #[error("cannot read dictionary {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("dictionary {file}, line {line}: {message}")]
    Row { file: String, line: usize, message: String },
    #[error("dictionary {file}: {source}")]
    Csv { file: String, source: csv::Error },
    #[error("header aliases {file}: {source}")]
    Toml { file: String, source: toml::de::Error },
}

/// Built-in dictionary files, embedded at compile time.
pub mod builtin {
    pub const REGIONS: &str = include_str!("../../../dictionaries/regions.csv");
    pub const COUNTRIES: &str = include_str!("../../../dictionaries/countries.csv");
    pub const CATEGORIES: &str = include_str!("../../../dictionaries/categories.csv");
    pub const SPECS: &str = include_str!("../../../dictionaries/specs.csv");
    pub const CUSTOMERS: &str = include_str!("../../../dictionaries/customers.csv");
    pub const STAFF: &str = include_str!("../../../dictionaries/staff.csv");
    pub const TAGS: &str = include_str!("../../../dictionaries/tags.csv");
    pub const HEADER_ALIASES: &str = include_str!("../../../dictionaries/header_aliases.toml");
    pub const GLOSSARY: &str = include_str!("../../../dictionaries/glossary.csv");
    pub const SYNONYMS: &str = include_str!("../../../dictionaries/synonyms.csv");
}

/// What kind of name a lookup or suggestion is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameKind {
    Region,
    Country,
    Category,
    Spec,
    Customer,
    Staff,
}

/// The loaded dictionaries with their alias indexes.
#[derive(Debug, Clone, Default)]
pub struct Dictionaries {
    pub regions: Vec<Region>,
    pub countries: Vec<Country>,
    pub categories: Vec<Category>,
    pub specs: Vec<Spec>,
    pub customers: Vec<Customer>,
    pub staff: Vec<Staff>,
    pub tags: Vec<Tag>,
    pub header_aliases: HeaderAliases,
    /// English → Chinese terms for searching Chinese documents with English questions.
    pub glossary: Glossary,
    /// Colloquial Chinese → the documents' wording, for searching.
    pub synonyms: Synonyms,
    region_ix: HashMap<String, usize>,
    country_ix: HashMap<String, usize>,
    category_ix: HashMap<String, usize>,
    spec_ix: HashMap<String, usize>,
    customer_ix: HashMap<String, Vec<usize>>,
    staff_ix: HashMap<String, Vec<usize>>,
}

impl Dictionaries {
    /// The dictionaries compiled into the binary.
    pub fn builtin() -> Result<Self, DictError> {
        let mut d = Dictionaries {
            regions: model::parse_regions(builtin::REGIONS, "regions.csv")?,
            countries: model::parse_countries(builtin::COUNTRIES, "countries.csv")?,
            categories: model::parse_categories(builtin::CATEGORIES, "categories.csv")?,
            specs: model::parse_specs(builtin::SPECS, "specs.csv")?,
            customers: model::parse_customers(builtin::CUSTOMERS, "customers.csv")?,
            staff: model::parse_staff(builtin::STAFF, "staff.csv")?,
            tags: model::parse_tags(builtin::TAGS, "tags.csv")?,
            header_aliases: HeaderAliases::parse(builtin::HEADER_ALIASES, "header_aliases.toml")?,
            glossary: Glossary::parse(builtin::GLOSSARY, "glossary.csv")?,
            synonyms: Synonyms::parse(builtin::SYNONYMS, "synonyms.csv")?,
            ..Default::default()
        };
        d.reindex();
        Ok(d)
    }

    /// Built-in dictionaries overlaid with a home's `dictionaries/` folder: `customers.csv`,
    /// `staff.csv`, `countries.csv`, `specs.csv`, `categories.csv`, `glossary.csv`, `synonyms.csv` (entries with the
    /// same key replace built-in ones, new keys are added) and `header_aliases.toml` (spellings are
    /// added).
    pub fn load(dir: &Path) -> Result<Self, DictError> {
        let mut d = Self::builtin()?;
        let read = |name: &str| -> Result<Option<String>, DictError> {
            let p = dir.join(name);
            match std::fs::read_to_string(&p) {
                Ok(s) => Ok(Some(s)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(DictError::Io { path: p, source }),
            }
        };
        if let Some(s) = read("countries.csv")? {
            overlay(&mut d.countries, model::parse_countries(&s, "countries.csv")?, |c| c.code.clone());
        }
        if let Some(s) = read("categories.csv")? {
            overlay(&mut d.categories, model::parse_categories(&s, "categories.csv")?, |c| c.code.clone());
        }
        if let Some(s) = read("specs.csv")? {
            overlay(&mut d.specs, model::parse_specs(&s, "specs.csv")?, |c| c.spec.clone());
        }
        if let Some(s) = read("customers.csv")? {
            overlay(&mut d.customers, model::parse_customers(&s, "customers.csv")?, |c| c.id.clone());
        }
        if let Some(s) = read("staff.csv")? {
            overlay(&mut d.staff, model::parse_staff(&s, "staff.csv")?, |c| c.id.clone());
        }
        if let Some(s) = read("header_aliases.toml")? {
            d.header_aliases.merge(HeaderAliases::parse(&s, "header_aliases.toml")?);
        }
        if let Some(s) = read("glossary.csv")? {
            d.glossary.merge(Glossary::parse(&s, "glossary.csv")?);
        }
        if let Some(s) = read("synonyms.csv")? {
            d.synonyms.merge(Synonyms::parse(&s, "synonyms.csv")?);
        }
        d.reindex();
        Ok(d)
    }

    /// Rebuilds the alias indexes; call after editing the entry vectors.
    pub fn reindex(&mut self) {
        self.region_ix.clear();
        self.country_ix.clear();
        self.category_ix.clear();
        self.spec_ix.clear();
        self.customer_ix.clear();
        self.staff_ix.clear();
        for (i, r) in self.regions.iter().enumerate() {
            for n in r.all_names() {
                self.region_ix.entry(norm_key(n)).or_insert(i);
            }
        }
        for (i, c) in self.countries.iter().enumerate() {
            for n in c.all_names() {
                self.country_ix.entry(norm_key(n)).or_insert(i);
            }
        }
        for (i, c) in self.categories.iter().enumerate() {
            for n in c.all_names() {
                self.category_ix.entry(norm_key(n)).or_insert(i);
            }
        }
        for (i, s) in self.specs.iter().enumerate() {
            self.spec_ix.entry(s.spec.clone()).or_insert(i);
        }
        for (i, c) in self.customers.iter().enumerate() {
            let mut keys: Vec<String> = Vec::new();
            for n in c.all_names() {
                keys.push(norm_key(n));
                keys.push(strip_legal_form(n));
            }
            keys.push(norm_key(&c.id));
            keys.sort();
            keys.dedup();
            for k in keys.into_iter().filter(|k| !k.is_empty()) {
                self.customer_ix.entry(k).or_default().push(i);
            }
        }
        for (i, s) in self.staff.iter().enumerate() {
            let mut keys: Vec<String> = s.all_names().map(norm_key).collect();
            keys.push(norm_key(&s.id));
            keys.sort();
            keys.dedup();
            for k in keys.into_iter().filter(|k| !k.is_empty()) {
                self.staff_ix.entry(k).or_default().push(i);
            }
        }
    }

    pub fn resolve_region(&self, raw: &str) -> Option<&Region> {
        self.region_ix.get(&norm_key(raw)).map(|&i| &self.regions[i])
    }
    pub fn resolve_country(&self, raw: &str) -> Option<&Country> {
        self.country_ix.get(&norm_key(raw)).map(|&i| &self.countries[i])
    }
    pub fn resolve_category(&self, raw: &str) -> Option<&Category> {
        self.category_ix.get(&norm_key(raw)).map(|&i| &self.categories[i])
    }
    /// Normalizes a spec and looks it up in the catalogue.
    pub fn resolve_spec(&self, raw: &str) -> Option<&Spec> {
        let s = spec::normalize_spec(raw)?;
        self.spec_ix.get(&s).map(|&i| &self.specs[i])
    }
    /// All customers a name could mean (one entry when unambiguous).
    pub fn customer_candidates(&self, raw: &str) -> Vec<&Customer> {
        let k = norm_key(raw);
        let hit = self.customer_ix.get(&k).or_else(|| self.customer_ix.get(&strip_legal_form(raw)));
        hit.map(|v| v.iter().map(|&i| &self.customers[i]).collect()).unwrap_or_default()
    }
    /// The customer a name means, when exactly one matches.
    pub fn resolve_customer(&self, raw: &str) -> Option<&Customer> {
        match self.customer_candidates(raw).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
    pub fn customer_by_id(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }
    pub fn staff_candidates(&self, raw: &str) -> Vec<&Staff> {
        let k = norm_key(raw.trim_start_matches('@'));
        self.staff_ix.get(&k).map(|v| v.iter().map(|&i| &self.staff[i]).collect()).unwrap_or_default()
    }
    pub fn resolve_staff(&self, raw: &str) -> Option<&Staff> {
        match self.staff_candidates(raw).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
    pub fn staff_by_id(&self, id: &str) -> Option<&Staff> {
        self.staff.iter().find(|s| s.id == id)
    }
    pub fn country_by_code(&self, code: &str) -> Option<&Country> {
        self.countries.iter().find(|c| c.code == code)
    }
    pub fn category_by_code(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }
    pub fn tag_by_name(&self, name: &str) -> Option<&Tag> {
        let k = norm_key(name);
        self.tags.iter().find(|t| norm_key(&t.name) == k || norm_key(&t.code) == k)
    }

    /// Every (alias key, index) pair of a kind, for scanning free text for mentions.
    pub fn alias_keys(&self, kind: NameKind) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = match kind {
            NameKind::Region => {
                self.region_ix.iter().map(|(k, &i)| (k.clone(), self.regions[i].code.clone())).collect()
            }
            NameKind::Country => {
                self.country_ix.iter().map(|(k, &i)| (k.clone(), self.countries[i].code.clone())).collect()
            }
            NameKind::Category => {
                self.category_ix.iter().map(|(k, &i)| (k.clone(), self.categories[i].code.clone())).collect()
            }
            NameKind::Spec => self.specs.iter().map(|s| (s.spec.to_lowercase(), s.spec.clone())).collect(),
            NameKind::Customer => self
                .customer_ix
                .iter()
                .flat_map(|(k, v)| v.iter().map(move |&i| (k.clone(), i)))
                .map(|(k, i)| (k, self.customers[i].id.clone()))
                .collect(),
            NameKind::Staff => self
                .staff_ix
                .iter()
                .flat_map(|(k, v)| v.iter().map(move |&i| (k.clone(), i)))
                .map(|(k, i)| (k, self.staff[i].id.clone()))
                .collect(),
        };
        out.sort();
        out
    }

    /// Up to `n` known names closest to `raw` (for "did you mean" in import reports and `dict check`).
    pub fn suggest(&self, kind: NameKind, raw: &str, n: usize) -> Vec<String> {
        let key = norm_key(raw);
        let names: Vec<(String, String)> = match kind {
            NameKind::Region => {
                self.regions.iter().flat_map(|r| r.all_names().map(|a| (a.to_string(), r.name_zh.clone()))).collect()
            }
            NameKind::Country => {
                self.countries.iter().flat_map(|c| c.all_names().map(|a| (a.to_string(), c.name_zh.clone()))).collect()
            }
            NameKind::Category => {
                self.categories.iter().flat_map(|c| c.all_names().map(|a| (a.to_string(), c.name_zh.clone()))).collect()
            }
            NameKind::Spec => self.specs.iter().map(|s| (s.spec.clone(), s.spec.clone())).collect(),
            NameKind::Customer => self
                .customers
                .iter()
                .flat_map(|c| c.all_names().map(|a| (a.to_string(), format!("{} ({})", c.name_zh, c.id))))
                .collect(),
            NameKind::Staff => {
                self.staff.iter().flat_map(|s| s.all_names().map(|a| (a.to_string(), s.name.clone()))).collect()
            }
        };
        let mut best: BTreeMap<String, f64> = BTreeMap::new();
        for (alias, display) in names {
            let a = norm_key(&alias);
            let mut score = strsim::jaro_winkler(&key, &a);
            if !key.is_empty() && (a.contains(&key) || key.contains(&a)) {
                score = score.max(0.9);
            }
            let e = best.entry(display).or_insert(0.0);
            if score > *e {
                *e = score;
            }
        }
        let mut v: Vec<(String, f64)> = best.into_iter().filter(|(_, s)| *s >= 0.6).collect();
        v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal).then(a.0.cmp(&b.0)));
        v.into_iter().take(n).map(|(d, _)| d).collect()
    }
}

fn overlay<T: Clone>(base: &mut Vec<T>, extra: Vec<T>, key: impl Fn(&T) -> String) {
    for e in extra {
        let k = key(&e);
        if let Some(slot) = base.iter_mut().find(|b| key(b) == k) {
            *slot = e;
        } else {
            base.push(e);
        }
    }
}

/// A customer name without its legal form and quotes: `ООО «Сибирь Логистик»` → `сибирь логистик`,
/// `Sibir Logistics LLC` → `sibir logistics`, `西伯利亚物流有限公司` → `西伯利亚物流`.
pub fn strip_legal_form(name: &str) -> String {
    const FORMS: &[&str] = &[
        "llc",
        "llp",
        "ltd",
        "ltd.",
        "co.",
        "co",
        "inc",
        "inc.",
        "jsc",
        "ojsc",
        "cjsc",
        "pjsc",
        "gmbh",
        "corp",
        "corp.",
        "company",
        "group",
        "ооо",
        "тoo",
        "тоо",
        "ао",
        "оао",
        "зао",
        "пао",
        "ип",
        "чп",
        "株式会社",
        "(株)",
        "㈜",
        "주식회사",
    ];
    const ZH_SUFFIX: &[&str] = &["有限责任公司", "股份有限公司", "有限公司", "公司", "集团"];
    let k = norm_key(name);
    let cleaned: String = k
        .chars()
        .map(|c| if matches!(c, '«' | '»' | '"' | '“' | '”' | '\'' | '„' | ',' | '「' | '」') { ' ' } else { c })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().filter(|w| !FORMS.contains(w)).collect();
    let mut s = words.join(" ");
    for suf in ZH_SUFFIX {
        if let Some(t) = s.strip_suffix(suf) {
            if !t.is_empty() {
                s = t.to_string();
                break;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests;
