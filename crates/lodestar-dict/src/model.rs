//! Dictionary entry types and their CSV parsers (formats: `dictionaries/README.md`).

use crate::DictError;
use serde::{Deserialize, Serialize};

fn split_list(s: &str) -> Vec<String> {
    s.split([';', '；']).map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn rows(text: &str, file: &str) -> Result<Vec<(usize, csv::StringRecord, csv::StringRecord)>, DictError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|source| DictError::Csv { file: file.into(), source })?.clone();
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|source| DictError::Csv { file: file.into(), source })?;
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        out.push((i + 2, headers.clone(), rec));
    }
    Ok(out)
}

fn field<'a>(h: &csv::StringRecord, r: &'a csv::StringRecord, name: &str) -> &'a str {
    h.iter().position(|x| x.trim_start_matches('\u{feff}') == name).and_then(|i| r.get(i)).unwrap_or("")
}

fn required<'a>(
    h: &csv::StringRecord,
    r: &'a csv::StringRecord,
    name: &str,
    file: &str,
    line: usize,
) -> Result<&'a str, DictError> {
    let v = field(h, r, name);
    if v.is_empty() {
        Err(DictError::Row { file: file.into(), line, message: format!("missing `{name}`") })
    } else {
        Ok(v)
    }
}

/// Region group (区域): 独联体 CIS / 东亚 East Asia.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Region code, e.g. `CIS`.
    pub code: String,
    /// Chinese name, e.g. `独联体`.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Other spellings that resolve to this region.
    pub aliases: Vec<String>,
}

impl Region {
    /// Code, names and aliases: every spelling that resolves to this region.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        [self.code.as_str(), &self.name_zh, &self.name_en].into_iter().chain(self.aliases.iter().map(|s| s.as_str()))
    }
}

/// Country (国家/地区) of the northern region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Country {
    /// ISO alpha-2, e.g. `RU`.
    pub code: String,
    /// Chinese name, e.g. `俄罗斯`.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Name in the local language (`Россия`), may be empty.
    pub name_local: String,
    /// Region code, e.g. `CIS`.
    pub region: String,
    /// Staff id of the country owner.
    pub owner: String,
    /// Other spellings (short forms, official names, ISO alpha-3 …).
    pub aliases: Vec<String>,
}

impl Country {
    /// Code, names and aliases: every non-empty spelling that resolves to this country.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        [self.code.as_str(), &self.name_zh, &self.name_en, &self.name_local]
            .into_iter()
            .filter(|s| !s.is_empty())
            .chain(self.aliases.iter().map(|s| s.as_str()))
    }
}

/// Product category (品类): 巨胎 GOTR, 全钢 TBR, 半钢 PCR, 中小工程胎 OTR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Category code, e.g. `TBR`.
    pub code: String,
    /// Chinese name, e.g. `全钢`.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Other spellings (`全钢胎`, `truck tyre` …).
    pub aliases: Vec<String>,
}

impl Category {
    /// Code, names and aliases: every spelling that resolves to this category.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        [self.code.as_str(), &self.name_zh, &self.name_en].into_iter().chain(self.aliases.iter().map(|s| s.as_str()))
    }
}

/// A catalogue spec (规格), in canonical form (`315/80R22.5`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// The spec in canonical form, e.g. `315/80R22.5`.
    pub spec: String,
    /// Category code.
    pub category: String,
    /// Tyre size as the catalogue writes it.
    pub size: String,
    /// Load index, e.g. `156/150`.
    pub load_index: String,
    /// Speed symbol, e.g. `L`.
    pub speed: String,
    /// Ply rating, e.g. `20PR`.
    pub ply: String,
    /// Tread pattern code, e.g. `BD177`.
    pub pattern: String,
    /// Typical application (长途干线驱动轮 …).
    pub application: String,
}

/// Customer status (客户状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CustomerStatus {
    /// 开发中
    #[serde(rename = "开发中")]
    Developing,
    /// 合作中
    #[serde(rename = "合作中")]
    Active,
    /// 暂停
    #[serde(rename = "暂停")]
    Paused,
}

impl CustomerStatus {
    /// Parses a status in Chinese or English (`合作中`, `active`, `暂停` …); `None` if unknown.
    pub fn parse(s: &str) -> Option<Self> {
        match lodestar_core::text::norm_key(s).as_str() {
            "开发中" | "developing" | "prospect" | "潜在" | "在开发" => Some(Self::Developing),
            "合作中" | "active" | "合作" | "正常" => Some(Self::Active),
            "暂停" | "paused" | "停止合作" | "冻结" | "inactive" => Some(Self::Paused),
            _ => None,
        }
    }
    /// The Chinese label (`开发中`, `合作中`, `暂停`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Developing => "开发中",
            Self::Active => "合作中",
            Self::Paused => "暂停",
        }
    }
}

/// Customer (客户).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Canonical id, e.g. `C001`.
    pub id: String,
    /// Chinese name (may be empty when only the English one is known).
    pub name_zh: String,
    /// English (usually legal) name.
    pub name_en: String,
    /// Local-language names (Cyrillic, Japanese, Korean …).
    pub name_local: Vec<String>,
    /// Other spellings (short names, former names …).
    pub aliases: Vec<String>,
    /// Country code.
    pub country: String,
    /// Staff id of the sales owner (销售负责人).
    pub owner: String,
    /// Cooperation status (合作中 when the file leaves it blank).
    pub status: CustomerStatus,
    /// 信用额度, plain decimal text.
    pub credit_limit: Option<String>,
    /// Currency of the credit limit, upper-case ISO code (default `USD`).
    pub currency: String,
    /// 信用等级.
    pub rating: String,
}

impl Customer {
    /// Every non-empty name and alias that resolves to this customer.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        [self.name_zh.as_str(), &self.name_en]
            .into_iter()
            .filter(|s| !s.is_empty())
            .chain(self.name_local.iter().map(|s| s.as_str()))
            .chain(self.aliases.iter().map(|s| s.as_str()))
    }
    /// Chinese name, else English name.
    pub fn display(&self) -> &str {
        if self.name_zh.is_empty() {
            &self.name_en
        } else {
            &self.name_zh
        }
    }
}

/// A person of the company (员工): owners of accounts and action items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Staff {
    /// Staff id, e.g. `S02`.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Other spellings (English name, 王总-style forms of address …).
    pub aliases: Vec<String>,
    /// Job title, e.g. `国家经理`.
    pub role: String,
    /// Department, e.g. `销售部`.
    pub department: String,
    /// ISO codes of the countries this person covers.
    pub countries: Vec<String>,
}

impl Staff {
    /// Name and aliases: every spelling that resolves to this person.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(|s| s.as_str()))
    }
}

/// Action-item tag (事项类型).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag code, e.g. `AR_RISK`.
    pub code: String,
    /// Chinese name, e.g. `回款风险`.
    pub name: String,
    /// Words in an item's text that suggest this tag.
    pub keywords: Vec<String>,
}

/// Parses `regions.csv` text (`file` names it in errors).
pub fn parse_regions(text: &str, file: &str) -> Result<Vec<Region>, DictError> {
    rows(text, file)?
        .into_iter()
        .map(|(line, h, r)| {
            Ok(Region {
                code: required(&h, &r, "code", file, line)?.to_string(),
                name_zh: required(&h, &r, "name_zh", file, line)?.to_string(),
                name_en: field(&h, &r, "name_en").to_string(),
                aliases: split_list(field(&h, &r, "aliases")),
            })
        })
        .collect()
}

/// Parses `countries.csv` text (`file` names it in errors).
pub fn parse_countries(text: &str, file: &str) -> Result<Vec<Country>, DictError> {
    rows(text, file)?
        .into_iter()
        .map(|(line, h, r)| {
            Ok(Country {
                code: required(&h, &r, "code", file, line)?.to_string(),
                name_zh: required(&h, &r, "name_zh", file, line)?.to_string(),
                name_en: field(&h, &r, "name_en").to_string(),
                name_local: field(&h, &r, "name_local").to_string(),
                region: field(&h, &r, "region").to_string(),
                owner: field(&h, &r, "owner").to_string(),
                aliases: split_list(field(&h, &r, "aliases")),
            })
        })
        .collect()
}

/// Parses `categories.csv` text (`file` names it in errors).
pub fn parse_categories(text: &str, file: &str) -> Result<Vec<Category>, DictError> {
    rows(text, file)?
        .into_iter()
        .map(|(line, h, r)| {
            Ok(Category {
                code: required(&h, &r, "code", file, line)?.to_string(),
                name_zh: required(&h, &r, "name_zh", file, line)?.to_string(),
                name_en: field(&h, &r, "name_en").to_string(),
                aliases: split_list(field(&h, &r, "aliases")),
            })
        })
        .collect()
}

/// Parses `specs.csv` text, normalizing each spec (`file` names it in errors).
pub fn parse_specs(text: &str, file: &str) -> Result<Vec<Spec>, DictError> {
    rows(text, file)?
        .into_iter()
        .map(|(line, h, r)| {
            let raw = required(&h, &r, "spec", file, line)?;
            let spec = crate::spec::normalize_spec(raw).unwrap_or_else(|| raw.to_string());
            Ok(Spec {
                spec,
                category: required(&h, &r, "category", file, line)?.to_string(),
                size: field(&h, &r, "size").to_string(),
                load_index: field(&h, &r, "load_index").to_string(),
                speed: field(&h, &r, "speed").to_string(),
                ply: field(&h, &r, "ply").to_string(),
                pattern: field(&h, &r, "pattern").to_string(),
                application: field(&h, &r, "application").to_string(),
            })
        })
        .collect()
}

/// Parses `customers.csv` text (`file` names it in errors); a blank status is 合作中, a blank currency USD.
pub fn parse_customers(text: &str, file: &str) -> Result<Vec<Customer>, DictError> {
    rows(text, file)?
        .into_iter()
        .map(|(line, h, r)| {
            let status_raw = field(&h, &r, "status");
            let status = if status_raw.is_empty() {
                CustomerStatus::Active
            } else {
                CustomerStatus::parse(status_raw).ok_or_else(|| DictError::Row {
                    file: file.into(),
                    line,
                    message: format!("unknown status `{status_raw}` (expected 开发中, 合作中, 暂停)"),
                })?
            };
            let credit = field(&h, &r, "credit_limit").replace([',', ' '], "");
            Ok(Customer {
                id: required(&h, &r, "id", file, line)?.to_string(),
                name_zh: field(&h, &r, "name_zh").to_string(),
                name_en: field(&h, &r, "name_en").to_string(),
                name_local: split_list(field(&h, &r, "name_local")),
                aliases: split_list(field(&h, &r, "aliases")),
                country: field(&h, &r, "country").to_string(),
                owner: field(&h, &r, "owner").to_string(),
                status,
                credit_limit: if credit.is_empty() { None } else { Some(credit) },
                currency: match field(&h, &r, "currency") {
                    "" => "USD".to_string(),
                    c => c.to_uppercase(),
                },
                rating: field(&h, &r, "rating").to_string(),
            })
        })
        .collect()
}

/// Parses `staff.csv` text (`file` names it in errors).
pub fn parse_staff(text: &str, file: &str) -> Result<Vec<Staff>, DictError> {
    rows(text, file)?
        .into_iter()
        .map(|(line, h, r)| {
            Ok(Staff {
                id: required(&h, &r, "id", file, line)?.to_string(),
                name: required(&h, &r, "name", file, line)?.to_string(),
                aliases: split_list(field(&h, &r, "aliases")),
                role: field(&h, &r, "role").to_string(),
                department: field(&h, &r, "department").to_string(),
                countries: split_list(field(&h, &r, "countries")),
            })
        })
        .collect()
}

/// Parses `tags.csv` text (`file` names it in errors).
pub fn parse_tags(text: &str, file: &str) -> Result<Vec<Tag>, DictError> {
    rows(text, file)?
        .into_iter()
        .map(|(line, h, r)| {
            Ok(Tag {
                code: required(&h, &r, "code", file, line)?.to_string(),
                name: required(&h, &r, "name", file, line)?.to_string(),
                keywords: split_list(field(&h, &r, "keywords")),
            })
        })
        .collect()
}

/// Writes customers back to CSV in the `customers.csv` format (used by `dict import`).
pub fn customers_to_csv(customers: &[Customer]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "id",
        "name_zh",
        "name_en",
        "name_local",
        "aliases",
        "country",
        "owner",
        "status",
        "credit_limit",
        "currency",
        "rating",
    ]);
    for c in customers {
        let _ = w.write_record([
            c.id.as_str(),
            &c.name_zh,
            &c.name_en,
            &c.name_local.join(";"),
            &c.aliases.join(";"),
            &c.country,
            &c.owner,
            c.status.label(),
            c.credit_limit.as_deref().unwrap_or(""),
            &c.currency,
            &c.rating,
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Writes staff back to CSV in the `staff.csv` format (used by `dict import`).
pub fn staff_to_csv(staff: &[Staff]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["id", "name", "aliases", "role", "department", "countries"]);
    for s in staff {
        let _ = w.write_record([
            s.id.as_str(),
            &s.name,
            &s.aliases.join(";"),
            &s.role,
            &s.department,
            &s.countries.join(";"),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
