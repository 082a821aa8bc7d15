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
pub mod vocab;

pub use aliases::HeaderAliases;
pub use glossary::{Glossary, GlossaryEntry};
pub use model::*;
pub use synonyms::{SynonymEntry, Synonyms};
pub use vocab::{Vocabulary, WordList};

use lodestar_core::text::norm_key;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Why a dictionary file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DictError {
    /// A home dictionary file could not be read.
    #[error("cannot read dictionary {path}: {source}")]
    Io {
        /// The file's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A row is missing a required column or has an invalid value.
    #[error("dictionary {file}, line {line}: {message}")]
    Row {
        /// The file's name.
        file: String,
        /// 1-based line of the row in the file.
        line: usize,
        /// What is wrong with the row.
        message: String,
    },
    /// The CSV itself is malformed.
    #[error("dictionary {file}: {source}")]
    Csv {
        /// The file's name.
        file: String,
        /// The CSV error.
        source: csv::Error,
    },
    /// `header_aliases.toml` is not valid TOML of the expected shape.
    #[error("header aliases {file}: {source}")]
    Toml {
        /// The file's name.
        file: String,
        /// The TOML error.
        source: toml::de::Error,
    },
}

/// Built-in dictionary files, embedded at compile time.
pub mod builtin {
    /// `regions.csv`: region groups.
    pub const REGIONS: &str = include_str!("../../../dictionaries/regions.csv");
    /// `countries.csv`: countries and their owners.
    pub const COUNTRIES: &str = include_str!("../../../dictionaries/countries.csv");
    /// `categories.csv`: product categories.
    pub const CATEGORIES: &str = include_str!("../../../dictionaries/categories.csv");
    /// `specs.csv`: the tyre spec catalogue.
    pub const SPECS: &str = include_str!("../../../dictionaries/specs.csv");
    /// `customers.csv`: customers, their owners and credit terms.
    pub const CUSTOMERS: &str = include_str!("../../../dictionaries/customers.csv");
    /// `staff.csv`: staff and the countries they cover.
    pub const STAFF: &str = include_str!("../../../dictionaries/staff.csv");
    /// `tags.csv`: action-item tags and their keywords.
    pub const TAGS: &str = include_str!("../../../dictionaries/tags.csv");
    /// `header_aliases.toml`: column header spellings of imports.
    pub const HEADER_ALIASES: &str = include_str!("../../../dictionaries/header_aliases.toml");
    /// `glossary.csv`: English → Chinese business terms.
    pub const GLOSSARY: &str = include_str!("../../../dictionaries/glossary.csv");
    /// `synonyms.csv`: colloquial Chinese → document wording.
    pub const SYNONYMS: &str = include_str!("../../../dictionaries/synonyms.csv");
}

/// What kind of name a lookup or suggestion is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameKind {
    /// A region group ([`Region`]).
    Region,
    /// A country ([`Country`]).
    Country,
    /// A product category ([`Category`]).
    Category,
    /// A tyre spec ([`Spec`]).
    Spec,
    /// A customer ([`Customer`]).
    Customer,
    /// A staff member ([`Staff`]).
    Staff,
}

/// The loaded dictionaries with their alias indexes.
#[derive(Debug, Clone, Default)]
pub struct Dictionaries {
    /// Region groups (`regions.csv`).
    pub regions: Vec<Region>,
    /// Countries (`countries.csv`).
    pub countries: Vec<Country>,
    /// Product categories (`categories.csv`).
    pub categories: Vec<Category>,
    /// The spec catalogue (`specs.csv`), specs in canonical form.
    pub specs: Vec<Spec>,
    /// Customers (`customers.csv`).
    pub customers: Vec<Customer>,
    /// Staff (`staff.csv`).
    pub staff: Vec<Staff>,
    /// Action-item tags (`tags.csv`).
    pub tags: Vec<Tag>,
    /// Column header aliases of imports (`header_aliases.toml`).
    pub header_aliases: HeaderAliases,
    /// English → Chinese terms for searching Chinese documents with English questions.
    pub glossary: Glossary,
    /// Colloquial Chinese → the documents' wording, for searching.
    pub synonyms: Synonyms,
    /// The word lists routing and minutes extraction read (`metric_subjects.csv`,
    /// `owner_roles.csv`, `type_keywords.csv`).
    pub vocab: Vocabulary,
    region_ix: HashMap<String, usize>,
    country_ix: HashMap<String, usize>,
    category_ix: HashMap<String, usize>,
    /// [`category_key`] of every category name → category.
    category_key_ix: HashMap<String, usize>,
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
        for name in vocab::FILES {
            if let Some(s) = read(name)? {
                d.vocab.overlay(name, &s)?;
            }
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
        // the generic-suffix-free keys live apart: they resolve cells, but are too short to scan
        // free text with (`工程` is in 工程师), so `alias_keys` does not list them
        self.category_key_ix.clear();
        for (i, c) in self.categories.iter().enumerate() {
            for n in c.all_names() {
                let k = category_key(n);
                if !k.is_empty() {
                    self.category_key_ix.entry(k).or_insert(i);
                }
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

    /// A region by its code, Chinese or English name or any alias.
    pub fn resolve_region(&self, raw: &str) -> Option<&Region> {
        self.region_ix.get(&norm_key(raw)).map(|&i| &self.regions[i])
    }
    /// A country by any of its names; failing that, by its name without the official-name
    /// decorations (`哈萨克斯坦共和国`, `Korea, Republic of`, `Russian Fed.`, `Korea Rep`).
    pub fn resolve_country(&self, raw: &str) -> Option<&Country> {
        if let Some(&i) = self.country_ix.get(&norm_key(raw)) {
            return Some(&self.countries[i]);
        }
        country_variants(raw).iter().find_map(|k| self.country_ix.get(k)).map(|&i| &self.countries[i])
    }
    /// A category by any of its names; failing that, by the name without a generic suffix and
    /// bracketed codes (`全钢轮胎`, `TBR轮胎`, `载重子午胎`, `巨胎 (GOTR)` → the key of `全钢`,
    /// `TBR`, `载重胎`, `巨胎`), then by the parts of a compound (`全钢 TBR`, `PCR/LT`) when they
    /// agree.
    pub fn resolve_category(&self, raw: &str) -> Option<&Category> {
        if let Some(&i) = self.category_ix.get(&norm_key(raw)) {
            return Some(&self.categories[i]);
        }
        let by_key = |s: &str| -> Option<usize> {
            let k = category_key(s);
            if k.is_empty() {
                return None;
            }
            self.category_ix.get(&norm_key(s)).or_else(|| self.category_key_ix.get(&k)).copied()
        };
        if let Some(i) = by_key(raw) {
            return Some(&self.categories[i]);
        }
        // the bracketed code alone (`巨胎 (GOTR)` → GOTR), then the parts of a compound name
        let h = lodestar_core::text::to_halfwidth(raw);
        let mut found: Option<usize> = None;
        let parts = h
            .split(|c: char| {
                matches!(c, '(' | ')' | '[' | ']' | '/' | '|' | '+' | '&' | ',' | ';') || c.is_whitespace()
            })
            .filter(|p| !p.trim().is_empty());
        for p in parts {
            if let Some(i) = by_key(p) {
                match found {
                    Some(j) if j != i => return None,
                    _ => found = Some(i),
                }
            }
        }
        found.map(|i| &self.categories[i])
    }
    /// Normalizes a spec and looks it up in the catalogue.
    pub fn resolve_spec(&self, raw: &str) -> Option<&Spec> {
        let s = spec::normalize_spec(raw)?;
        self.spec_ix.get(&s).map(|&i| &self.specs[i])
    }
    /// All customers a name could mean (one entry when unambiguous).
    ///
    /// Tried in turn: the name; the name without its legal form ([`strip_legal_form`]); the name
    /// without a trailing bracketed country (`西伯利亚物流(俄罗斯)`), and that without its legal form.
    pub fn customer_candidates(&self, raw: &str) -> Vec<&Customer> {
        let k = norm_key(raw);
        let mut hit = self.customer_ix.get(&k).or_else(|| self.customer_ix.get(&strip_legal_form(raw)));
        if hit.is_none() {
            if let Some(base) = self.without_country_qualifier(raw) {
                hit = self.customer_ix.get(&norm_key(&base)).or_else(|| self.customer_ix.get(&strip_legal_form(&base)));
            }
        }
        hit.map(|v| v.iter().map(|&i| &self.customers[i]).collect()).unwrap_or_default()
    }

    /// `name` without a trailing `(country)` / `（country）` / `- country` whose country a
    /// dictionary knows.
    fn without_country_qualifier(&self, raw: &str) -> Option<String> {
        let h = lodestar_core::text::to_halfwidth(raw.trim());
        if let Some(stripped) = h.strip_suffix(')') {
            let i = stripped.rfind('(')?;
            let (base, inner) = (&stripped[..i], &stripped[i + 1..]);
            if !base.trim().is_empty() && self.resolve_country(inner).is_some() {
                return Some(base.trim().to_string());
            }
            return None;
        }
        let (base, tail) = h.rsplit_once(['-', '–', '—'])?;
        (!base.trim().is_empty() && self.resolve_country(tail.trim()).is_some()).then(|| base.trim().to_string())
    }
    /// The customer a name means, when exactly one matches.
    pub fn resolve_customer(&self, raw: &str) -> Option<&Customer> {
        match self.customer_candidates(raw).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
    /// The customer with canonical id `id` (e.g. `C001`).
    pub fn customer_by_id(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }
    /// All staff a name or alias could mean (a leading `@` is ignored); one entry when unambiguous.
    pub fn staff_candidates(&self, raw: &str) -> Vec<&Staff> {
        let k = norm_key(raw.trim_start_matches('@'));
        self.staff_ix.get(&k).map(|v| v.iter().map(|&i| &self.staff[i]).collect()).unwrap_or_default()
    }
    /// The staff member a name means, when exactly one matches.
    pub fn resolve_staff(&self, raw: &str) -> Option<&Staff> {
        match self.staff_candidates(raw).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
    /// The staff member with id `id` (e.g. `S02`).
    pub fn staff_by_id(&self, id: &str) -> Option<&Staff> {
        self.staff.iter().find(|s| s.id == id)
    }
    /// The country with ISO code `code` (e.g. `RU`).
    pub fn country_by_code(&self, code: &str) -> Option<&Country> {
        self.countries.iter().find(|c| c.code == code)
    }
    /// The category with code `code` (e.g. `TBR`).
    pub fn category_by_code(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }
    /// The tag whose name or code is `name` (normalized comparison).
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

/// Other keys an official or abbreviated country name may be listed under: `X共和国` / `X联邦` → `X`;
/// `X, Republic of` → `Republic of X` and `X`; `Fed.` → `Federation`; a trailing `Rep` / `Rep.` /
/// `Republic` dropped; `The` dropped.
pub fn country_variants(raw: &str) -> Vec<String> {
    let k = norm_key(raw).trim_end_matches('.').trim().to_string();
    let mut out: Vec<String> = Vec::new();
    for suf in ["人民共和国", "民主共和国", "共和国", "联邦", "王国"] {
        if let Some(t) = k.strip_suffix(suf) {
            if !t.is_empty() {
                out.push(t.trim().to_string());
            }
        }
    }
    let words: Vec<String> = k
        .replace(',', " , ")
        .split_whitespace()
        .map(|w| match w.trim_end_matches('.') {
            "fed" => "federation".to_string(),
            "rep" => "republic".to_string(),
            w => w.to_string(),
        })
        .filter(|w| w != "the")
        .collect();
    let joined = words.join(" ").replace(" , ", ", ");
    out.push(joined.clone());
    if let Some((name, form)) = joined.split_once(", ") {
        out.push(format!("{form} {name}"));
        out.push(name.to_string());
    }
    if let Some(name) = joined.strip_suffix(" republic") {
        out.push(name.to_string());
        out.push(format!("republic of {name}"));
    }
    if let Some(name) = joined.strip_prefix("republic of ") {
        out.push(name.to_string());
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The comparison key of a category name without what every tyre category name may carry:
/// bracketed codes, spaces, and a generic suffix (轮胎 / 子午线轮胎 / 子午胎 / 胎 / tyre / tire /
/// radial). `全钢轮胎` and `全钢胎` both give `全钢`; `巨胎 (GOTR)` gives `巨`.
pub fn category_key(name: &str) -> String {
    let h = norm_key(name);
    let mut s = String::with_capacity(h.len());
    let mut depth = 0usize;
    for c in h.chars() {
        match c {
            '(' | '[' | '【' => depth += 1,
            ')' | ']' | '】' => depth = depth.saturating_sub(1),
            c if depth == 0 && !c.is_whitespace() && !matches!(c, '-' | '_' | '.') => s.push(c),
            _ => {}
        }
    }
    const SUFFIXES: &[&str] = &[
        "子午线轮胎",
        "子午线胎",
        "子午胎",
        "轮胎",
        "胎",
        "radialtyres",
        "radialtyre",
        "radialtires",
        "radialtire",
        "tyres",
        "tyre",
        "tires",
        "tire",
        "radial",
    ];
    loop {
        let before = s.len();
        for suf in SUFFIXES {
            if let Some(t) = s.strip_suffix(suf) {
                if !t.is_empty() {
                    s = t.to_string();
                    break;
                }
            }
        }
        if s.len() == before {
            break;
        }
    }
    s
}

/// A customer name without its legal form and quotes: `ООО «Сибирь Логистик»` → `сибирь логистик`,
/// `Sibir Logistics LLC.` and `OOO Sibir Logistics` → `sibir logistics`, `西伯利亚物流有限公司` and
/// `乌拉尔矿业股份公司` → `西伯利亚物流` / `乌拉尔矿业`, `北星运输株式会社` → `北星运输`,
/// `한성물류(주)` → `한성물류`, `阿尔泰 矿业` → `阿尔泰矿业` (no spaces between CJK characters).
pub fn strip_legal_form(name: &str) -> String {
    const FORMS: &[&str] = &[
        "llc",
        "llp",
        "ltd",
        "limited",
        "co",
        "inc",
        "jsc",
        "ojsc",
        "cjsc",
        "pjsc",
        "gmbh",
        "corp",
        "company",
        "group",
        "ooo",
        "too",
        "zao",
        "oao",
        "pao",
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
        "(주)",
        "주식회사",
    ];
    const CJK_SUFFIX: &[&str] = &[
        "股份有限公司",
        "有限责任公司",
        "股份公司",
        "有限公司",
        "株式会社",
        "(株)",
        "(주)",
        "㈜",
        "주식회사",
        "公司",
        "集团",
    ];
    const CJK_PREFIX: &[&str] = &["株式会社", "(株)", "(주)", "㈜", "주식회사"];
    let k = norm_key(name);
    let cleaned: String = k
        .chars()
        .map(|c| if matches!(c, '«' | '»' | '"' | '“' | '”' | '\'' | '„' | ',' | '「' | '」') { ' ' } else { c })
        .collect();
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .filter(|w| {
            let bare = w.trim_end_matches('.');
            !FORMS.contains(w) && !FORMS.contains(&bare) && !bare.is_empty()
        })
        .collect();
    // no spaces between two CJK characters (`阿尔泰 矿业`)
    let mut s = String::new();
    for w in words {
        let joins = s.chars().last().is_some_and(is_cjk) && w.chars().next().is_some_and(is_cjk);
        if !s.is_empty() && !joins {
            s.push(' ');
        }
        s.push_str(w);
    }
    loop {
        let before = s.len();
        for suf in CJK_SUFFIX {
            if let Some(t) = s.strip_suffix(suf) {
                if !t.trim().is_empty() {
                    s = t.trim().to_string();
                    break;
                }
            }
        }
        for pre in CJK_PREFIX {
            if let Some(t) = s.strip_prefix(pre) {
                if !t.trim().is_empty() {
                    s = t.trim().to_string();
                    break;
                }
            }
        }
        if s.len() == before {
            break;
        }
    }
    s.trim_end_matches('.').trim().to_string()
}

use lodestar_core::text::is_cjk;

#[cfg(test)]
mod tests;
