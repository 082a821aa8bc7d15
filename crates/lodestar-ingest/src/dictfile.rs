//! A user's own customer or staff list (`lodestar dict import FILE`), and the check of names in the
//! stored data that no dictionary resolves (`lodestar dict check`).
//!
//! Customer lists have the columns 客户名称, 英文名称, 本地名称 (aliases separated by `;`), 国家,
//! 销售负责人, 状态, 信用额度, 币种, 信用等级; staff lists 姓名, 别名, 岗位, 部门, 国家. Header aliases
//! apply (`[customers]` / `[staff]` in header_aliases.toml), and which list a file is comes from its
//! headers. 客户名称 (or 姓名) is the key: an entry whose name or any alias matches is updated,
//! otherwise a new entry gets the next id. The merged list is written to the home's
//! `dictionaries/customers.csv` or `staff.csv`, which the dictionaries overlay on the built-in ones.

use crate::clean::{self, cell_clean};
use crate::workbook;
use crate::IngestError;
use lodestar_core::text::norm_key;
use lodestar_core::{LimitExceeded, ReadLimits};
use lodestar_dict::{Customer, CustomerStatus, Dictionaries, NameKind, Staff};
use lodestar_store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// Which dictionary a list file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DictList {
    /// The customer list (`customers.csv`).
    Customers,
    /// The staff list (`staff.csv`).
    Staff,
}

impl DictList {
    fn as_str(self) -> &'static str {
        match self {
            DictList::Customers => "customers",
            DictList::Staff => "staff",
        }
    }
}

/// What `dict import` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DictImportReport {
    /// The list file read.
    pub file: String,
    /// Which dictionary it updated.
    pub list: DictList,
    /// Data rows read.
    pub rows: usize,
    /// Entries new to the dictionary.
    pub added: usize,
    /// Existing entries whose values changed.
    pub updated: usize,
    /// Existing entries the file repeats unchanged.
    pub unchanged: usize,
    /// One line per added or updated entry.
    pub changes: Vec<DictChange>,
    /// Values that could not be applied (unknown country, owner or status …), row by row.
    pub warnings: Vec<String>,
    /// The dictionary file written.
    pub written: String,
}

/// One entry `dict import` added or updated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DictChange {
    /// The entry's id (customer `C…` or staff `S…`).
    pub id: String,
    /// The entry's display name.
    pub name: String,
    /// `added` or `updated`.
    pub action: String,
}

struct ListTable {
    list: DictList,
    /// field → column index
    cols: HashMap<String, usize>,
    rows: Vec<(usize, Vec<String>)>,
}

/// (score, sheet index, header row index, list, field → column)
type HeaderHit = (usize, usize, usize, DictList, HashMap<String, usize>);

fn read_list(path: &Path, dicts: &Dictionaries, limits: &ReadLimits) -> Result<ListTable, IngestError> {
    let bytes = std::fs::read(path)
        .map_err(|e| IngestError::Unreadable { path: path.display().to_string(), reason: e.to_string() })?;
    let sheets = workbook::read_sheets(&bytes, &workbook::extension(path), limits)
        .map_err(|f| IngestError::Unreadable { path: path.display().to_string(), reason: f.0 })?;
    let aliases = &dicts.header_aliases;
    let mut best: Option<HeaderHit> = None;
    for (si, sheet) in sheets.iter().enumerate() {
        for (ri, row) in sheet.rows().take(crate::layout::HEADER_SCAN_ROWS).enumerate() {
            for list in [DictList::Customers, DictList::Staff] {
                let mut cols = HashMap::new();
                for (ci, cell) in row.iter().enumerate() {
                    let h = cell_clean(cell);
                    if let Some(f) = aliases.field_for(list.as_str(), &h) {
                        cols.entry(f.to_string()).or_insert(ci);
                    }
                }
                let keyed = match list {
                    DictList::Customers => cols.contains_key("name_zh") || cols.contains_key("name_en"),
                    DictList::Staff => cols.contains_key("name"),
                };
                // 客户名称 names a customer list even when the staff aliases also match a column or two
                let score = cols.len() * 2 + usize::from(list == DictList::Customers && cols.contains_key("name_zh"));
                if keyed && cols.len() >= 2 && best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((score, si, ri, list, cols));
                }
            }
        }
    }
    let Some((_, si, ri, list, cols)) = best else {
        return Err(IngestError::Invalid(format!(
            "{}: no customer list (客户名称, 英文名称, 本地名称, 国家, 销售负责人, 状态, 信用额度, 币种, 信用等级) \
             or staff list (姓名, 别名, 岗位, 部门, 国家) header found",
            path.display()
        )));
    };
    let sheet = &sheets[si];
    let origin = sheet.origin();
    let rows = sheet
        .rows()
        .enumerate()
        .skip(ri + 1)
        .map(|(i, r)| (origin.0 as usize + i + 1, r.iter().map(cell_clean).collect::<Vec<String>>()))
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
        .collect();
    Ok(ListTable { list, cols, rows })
}

/// The row's note when it brings more aliases (`what`) than `[limits] max_aliases`: the first
/// ones are kept (a cell of 100,000 aliases is a broken file, not a person).
fn too_many_aliases(line: usize, n: usize, what: &str, max: usize) -> String {
    format!(
        "row {line}: {}; the first {max} kept",
        LimitExceeded::new(format!("{n} {what}, over the limit of {max} per entry"), "max_aliases").0
    )
}

fn split_aliases(s: &str) -> Vec<String> {
    s.split([';', '；', '\n']).map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// More than `max` characters: a broken cell, not a name (`[limits] max_name_chars`).
fn over_long(s: &str, max: usize) -> bool {
    s.chars().nth(max).is_some()
}

/// The row's note for a name over `[limits] max_name_chars`, and what became of it.
fn too_long_name(line: usize, what: &str, name: &str, max: usize, outcome: &str) -> String {
    let n = name.chars().count();
    format!(
        "row {line}: {}; {outcome}",
        LimitExceeded::new(format!("{what} of {n} characters, over the limit of {max}"), "max_name_chars").0
    )
}

/// `names` without those over `max` characters, each dropped one reported.
fn drop_long(names: Vec<String>, line: usize, what: &str, max: usize, report: &mut DictImportReport) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| {
            let long = over_long(n, max);
            if long {
                report.warnings.push(too_long_name(line, what, n, max, "dropped"));
            }
            !long
        })
        .collect()
}

/// The [`norm_key`]s of one name list of each entry (`(entry, list)`), worked out the first time
/// a row adds to that list and kept up to date after: a list is normalized once per import, not
/// once per row (6,000 rows of one customer, one of whose local names was a megabyte long,
/// normalized that name 6,000 times).
#[derive(Default)]
struct KeyCache(HashMap<(usize, u8), std::collections::HashSet<String>>);

impl KeyCache {
    /// Adds the names of `extra` that `list` (list `which` of entry `entry`) lacks, by
    /// [`norm_key`]; each new name is normalized once.
    fn merge_into(&mut self, entry: usize, which: u8, list: &mut Vec<String>, extra: Vec<String>) {
        let seen = self.0.entry((entry, which)).or_insert_with(|| list.iter().map(|x| norm_key(x)).collect());
        for e in extra {
            if seen.insert(norm_key(&e)) {
                list.push(e);
            }
        }
    }
}

/// Which name list of an entry a [`KeyCache`] key is for.
const ALIASES: u8 = 0;
const LOCAL_NAMES: u8 = 1;

/// Next id with `prefix` after the largest numeric one (`C041` → `C042`), keeping the width.
fn next_id<'a>(prefix: char, ids: impl Iterator<Item = &'a str>) -> String {
    let mut max = 0u64;
    let mut width = 3usize;
    for id in ids {
        if let Some(n) = id.strip_prefix(prefix) {
            if let Ok(v) = n.parse::<u64>() {
                if v >= max {
                    max = v;
                    width = n.len();
                }
            }
        }
    }
    format!("{prefix}{:0width$}", max + 1)
}

/// Imports a customer or staff list into the home's dictionary folder `dict_dir`, under the
/// default `[limits]` (see [`import_dictionary_with`]).
pub fn import_dictionary(dicts: &Dictionaries, path: &Path, dict_dir: &Path) -> Result<DictImportReport, IngestError> {
    import_dictionary_with(dicts, path, dict_dir, &ReadLimits::default())
}

/// [`import_dictionary`] under the given `[limits]` of `config.toml`: the file is read under the
/// workbook limits (zip container, sheet cells) and an entry keeps at most `max_aliases` aliases
/// (local names for a customer); a row with more keeps the first ones and is reported.
pub fn import_dictionary_with(
    dicts: &Dictionaries,
    path: &Path,
    dict_dir: &Path,
    limits: &ReadLimits,
) -> Result<DictImportReport, IngestError> {
    let table = read_list(path, dicts, limits)?;
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match table.list {
        DictList::Customers => import_customers(dicts, &table, &file, dict_dir, limits),
        DictList::Staff => import_staff(dicts, &table, &file, dict_dir, limits),
    }
}

fn get<'a>(t: &ListTable, row: &'a [String], field: &str) -> &'a str {
    t.cols.get(field).and_then(|&c| row.get(c)).map(|s| s.as_str()).unwrap_or("")
}

fn write_file(dict_dir: &Path, name: &str, text: &str) -> Result<String, IngestError> {
    std::fs::create_dir_all(dict_dir)
        .map_err(|source| IngestError::Io { path: dict_dir.display().to_string(), source })?;
    let target = dict_dir.join(name);
    let tmp = dict_dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).map_err(|source| IngestError::Io { path: tmp.display().to_string(), source })?;
    std::fs::rename(&tmp, &target).map_err(|source| IngestError::Io { path: target.display().to_string(), source })?;
    Ok(target.display().to_string())
}

fn import_customers(
    dicts: &Dictionaries,
    t: &ListTable,
    file: &str,
    dict_dir: &Path,
    limits: &ReadLimits,
) -> Result<DictImportReport, IngestError> {
    let max_aliases = usize::try_from(limits.max_aliases).unwrap_or(usize::MAX);
    let max_name = usize::try_from(limits.max_name_chars).unwrap_or(usize::MAX);
    let mut all: Vec<Customer> = dicts.customers.clone();
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    let add_keys = |index: &mut HashMap<String, Vec<usize>>, c: &Customer, i: usize| {
        for n in c.all_names() {
            for k in [norm_key(n), lodestar_dict::strip_legal_form(n)] {
                if !k.is_empty() {
                    let v = index.entry(k).or_default();
                    if !v.contains(&i) {
                        v.push(i);
                    }
                }
            }
        }
    };
    for (i, c) in all.iter().enumerate() {
        add_keys(&mut index, c, i);
    }
    let mut report = DictImportReport {
        file: file.to_string(),
        list: DictList::Customers,
        rows: 0,
        added: 0,
        updated: 0,
        unchanged: 0,
        changes: Vec::new(),
        warnings: Vec::new(),
        written: String::new(),
    };
    let mut keys = KeyCache::default();
    for (line, row) in &t.rows {
        let name_zh = get(t, row, "name_zh").to_string();
        let name_en = get(t, row, "name_en").to_string();
        let key = if name_zh.is_empty() { name_en.clone() } else { name_zh.clone() };
        if key.is_empty() {
            report.warnings.push(format!("row {line}: no 客户名称 — skipped"));
            continue;
        }
        if clean::is_subtotal_label(&key) {
            continue;
        }
        if let Some(long) = [&name_zh, &name_en].into_iter().find(|n| over_long(n, max_name)) {
            report.warnings.push(too_long_name(*line, "a customer name", long, max_name, "the row is skipped"));
            continue;
        }
        report.rows += 1;
        let locals = drop_long(split_aliases(get(t, row, "name_local")), *line, "a local name", max_name, &mut report);
        let mut hits: Vec<usize> = Vec::new();
        for n in std::iter::once(&key).chain(std::iter::once(&name_en).filter(|n| !n.is_empty())) {
            for k in [norm_key(n), lodestar_dict::strip_legal_form(n)] {
                if let Some(v) = index.get(&k) {
                    for &i in v {
                        if !hits.contains(&i) {
                            hits.push(i);
                        }
                    }
                }
            }
            if !hits.is_empty() {
                break;
            }
        }
        if hits.len() > 1 {
            let ids: Vec<&str> = hits.iter().map(|&i| all[i].id.as_str()).collect();
            report
                .warnings
                .push(format!("row {line}: `{key}` matches several customers ({}) — skipped", ids.join(", ")));
            continue;
        }
        let (idx, is_new) = match hits.first() {
            Some(&i) => (i, false),
            None => {
                let id = next_id('C', all.iter().map(|c| c.id.as_str()));
                all.push(Customer {
                    id,
                    name_zh: name_zh.clone(),
                    name_en: String::new(),
                    name_local: Vec::new(),
                    aliases: Vec::new(),
                    country: String::new(),
                    owner: String::new(),
                    status: CustomerStatus::Active,
                    credit_limit: None,
                    currency: "USD".into(),
                    rating: String::new(),
                });
                (all.len() - 1, true)
            }
        };
        let before = all[idx].clone();
        let c = &mut all[idx];
        if !name_zh.is_empty() && c.name_zh.is_empty() {
            c.name_zh = name_zh.clone();
        } else if !name_zh.is_empty() && norm_key(&c.name_zh) != norm_key(&name_zh) {
            // matched through an alias: keep the canonical name, remember the spelling
            keys.merge_into(idx, ALIASES, &mut c.aliases, vec![name_zh.clone()]);
        }
        if !name_en.is_empty() {
            if c.name_en.is_empty() || is_new {
                c.name_en = name_en.clone();
            } else if norm_key(&c.name_en) != norm_key(&name_en) {
                keys.merge_into(idx, ALIASES, &mut c.aliases, vec![name_en.clone()]);
            }
        }
        let mut locals = locals;
        if locals.len() > max_aliases {
            report.warnings.push(too_many_aliases(*line, locals.len(), "local names", max_aliases));
            locals.truncate(max_aliases);
        }
        locals.truncate(max_aliases.saturating_sub(c.name_local.len()));
        keys.merge_into(idx, LOCAL_NAMES, &mut c.name_local, locals);
        let country = get(t, row, "country");
        if !country.is_empty() {
            match dicts.resolve_country(country) {
                Some(k) => c.country = k.code.clone(),
                None => {
                    report.warnings.push(format!(
                        "row {line}: country `{country}` is not in the country dictionary; kept as written"
                    ));
                    c.country = country.to_string();
                }
            }
        }
        let owner = get(t, row, "owner");
        if !owner.is_empty() {
            match dicts.resolve_staff(owner) {
                Some(s) => c.owner = s.id.clone(),
                None => {
                    report
                        .warnings
                        .push(format!("row {line}: owner `{owner}` is not in the staff list; kept as written"));
                    c.owner = owner.to_string();
                }
            }
        }
        let status = get(t, row, "status");
        if !status.is_empty() {
            match CustomerStatus::parse(status) {
                Some(s) => c.status = s,
                None => report
                    .warnings
                    .push(format!("row {line}: status `{status}` is not 开发中 / 合作中 / 暂停; left as it was")),
            }
        }
        let credit = get(t, row, "credit_limit");
        if !credit.is_empty() {
            match clean::parse_decimal_text(credit) {
                Some(d) => c.credit_limit = Some(clean::decimal_string(d)),
                None => {
                    report.warnings.push(format!("row {line}: credit limit `{credit}` is not a number; left as it was"))
                }
            }
        }
        let currency = get(t, row, "currency");
        match clean::normalize_currency(currency) {
            Ok(Some(cur)) => c.currency = cur,
            Ok(None) => {}
            Err(clean::UnknownCurrency) => {
                report.warnings.push(format!("row {line}: currency `{currency}` not recognized; left as it was"))
            }
        }
        let rating = get(t, row, "rating");
        if !rating.is_empty() {
            c.rating = rating.to_string();
        }
        let after = c.clone();
        if is_new {
            report.added += 1;
            report.changes.push(DictChange {
                id: after.id.clone(),
                name: after.display().to_string(),
                action: "added".into(),
            });
        } else if after != before {
            report.updated += 1;
            report.changes.push(DictChange {
                id: after.id.clone(),
                name: after.display().to_string(),
                action: "updated".into(),
            });
        } else {
            report.unchanged += 1;
        }
        // only a customer whose names changed has new keys (a row repeated 20,000 times walked
        // all the names each time)
        if is_new || before != after {
            add_keys(&mut index, &after, idx);
        }
    }
    report.written = write_file(dict_dir, "customers.csv", &lodestar_dict::customers_to_csv(&all))?;
    Ok(report)
}

fn import_staff(
    dicts: &Dictionaries,
    t: &ListTable,
    file: &str,
    dict_dir: &Path,
    limits: &ReadLimits,
) -> Result<DictImportReport, IngestError> {
    let max_aliases = usize::try_from(limits.max_aliases).unwrap_or(usize::MAX);
    let max_name = usize::try_from(limits.max_name_chars).unwrap_or(usize::MAX);
    let mut all: Vec<Staff> = dicts.staff.clone();
    let mut report = DictImportReport {
        file: file.to_string(),
        list: DictList::Staff,
        rows: 0,
        added: 0,
        updated: 0,
        unchanged: 0,
        changes: Vec::new(),
        warnings: Vec::new(),
        written: String::new(),
    };
    // staff by the key of each of their names, kept up to date as rows add people and aliases (a
    // list of thousands of rows compared each with every name before it took minutes)
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, s) in all.iter().enumerate() {
        for n in s.all_names() {
            by_key.entry(norm_key(n)).or_default().push(i);
        }
    }
    let mut keys = KeyCache::default();
    for (line, row) in &t.rows {
        let name = get(t, row, "name").to_string();
        if name.is_empty() {
            report.warnings.push(format!("row {line}: no 姓名 — skipped"));
            continue;
        }
        if over_long(&name, max_name) {
            report.warnings.push(too_long_name(*line, "a name", &name, max_name, "the row is skipped"));
            continue;
        }
        report.rows += 1;
        let key = norm_key(&name);
        let mut hits: Vec<usize> = by_key.get(&key).cloned().unwrap_or_default();
        hits.sort_unstable();
        hits.dedup();
        if hits.len() > 1 {
            report.warnings.push(format!("row {line}: `{name}` matches several people — skipped"));
            continue;
        }
        let (idx, is_new) = match hits.first() {
            Some(&i) => (i, false),
            None => {
                let id = next_id('S', all.iter().map(|s| s.id.as_str()));
                all.push(Staff {
                    id,
                    name: name.clone(),
                    aliases: Vec::new(),
                    role: String::new(),
                    department: String::new(),
                    countries: Vec::new(),
                });
                by_key.entry(key.clone()).or_default().push(all.len() - 1);
                (all.len() - 1, true)
            }
        };
        let before = all[idx].clone();
        let s = &mut all[idx];
        let mut aliases = drop_long(split_aliases(get(t, row, "aliases")), *line, "an alias", max_name, &mut report);
        if aliases.len() > max_aliases {
            report.warnings.push(too_many_aliases(*line, aliases.len(), "aliases", max_aliases));
            aliases.truncate(max_aliases);
        }
        if norm_key(&s.name) != key {
            aliases.push(name.clone());
        }
        // room for the row's spelling of the name besides its aliases
        let room = max_aliases.saturating_add(1).saturating_sub(s.aliases.len());
        let had = s.aliases.len();
        keys.merge_into(idx, ALIASES, &mut s.aliases, aliases.into_iter().take(room).collect());
        for a in &s.aliases[had..] {
            by_key.entry(norm_key(a)).or_default().push(idx);
        }
        let role = get(t, row, "role");
        if !role.is_empty() {
            s.role = role.to_string();
        }
        let dept = get(t, row, "department");
        if !dept.is_empty() {
            s.department = dept.to_string();
        }
        let countries = get(t, row, "countries");
        if !countries.is_empty() {
            let mut codes = Vec::new();
            for c in countries.split([';', '；', ',', '、', '/']).map(str::trim).filter(|c| !c.is_empty()) {
                match dicts.resolve_country(c) {
                    Some(k) => codes.push(k.code.clone()),
                    None => {
                        report.warnings.push(format!(
                            "row {line}: country `{c}` is not in the country dictionary; kept as written"
                        ));
                        codes.push(c.to_string());
                    }
                }
            }
            s.countries = codes;
        }
        let after = s.clone();
        if is_new {
            report.added += 1;
            report.changes.push(DictChange { id: after.id.clone(), name: after.name.clone(), action: "added".into() });
        } else if after != before {
            report.updated += 1;
            report.changes.push(DictChange {
                id: after.id.clone(),
                name: after.name.clone(),
                action: "updated".into(),
            });
        } else {
            report.unchanged += 1;
        }
    }
    report.written = write_file(dict_dir, "staff.csv", &lodestar_dict::staff_to_csv(&all))?;
    Ok(report)
}

/// Names in the active data that no dictionary resolves (`dict check`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DictCheckReport {
    /// The unresolved names, by kind, with their row counts and suggestions.
    pub unresolved: CheckedNames,
    /// Distinct unresolved names.
    pub names: usize,
    /// Rows carrying an unresolved name (a row with two counts twice).
    pub rows: u64,
}

/// Unresolved names of the active data, by field.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckedNames {
    /// Countries no dictionary resolves.
    pub countries: Vec<crate::UnresolvedName>,
    /// Customers no dictionary resolves.
    pub customers: Vec<crate::UnresolvedName>,
    /// Specs the catalogue does not know.
    pub specs: Vec<crate::UnresolvedName>,
    /// Categories no dictionary resolves.
    pub categories: Vec<crate::UnresolvedName>,
    /// 销售负责人 not in the staff list.
    pub owners: Vec<crate::UnresolvedName>,
}

/// Resolves every distinct name of the active sales, targets and receivables through `dicts`.
pub fn check_names(store: &Store, dicts: &Dictionaries) -> Result<DictCheckReport, IngestError> {
    let mut out = DictCheckReport::default();
    for n in store.distinct_names()? {
        let (ok, kind, list) = match n.field.as_str() {
            "country" => (dicts.resolve_country(&n.name).is_some(), NameKind::Country, &mut out.unresolved.countries),
            "customer" => {
                (dicts.resolve_customer(&n.name).is_some(), NameKind::Customer, &mut out.unresolved.customers)
            }
            "category" => {
                (dicts.resolve_category(&n.name).is_some(), NameKind::Category, &mut out.unresolved.categories)
            }
            "spec" => (dicts.resolve_spec(&n.name).is_some(), NameKind::Spec, &mut out.unresolved.specs),
            "owner" => (dicts.resolve_staff(&n.name).is_some(), NameKind::Staff, &mut out.unresolved.owners),
            _ => continue,
        };
        if ok {
            continue;
        }
        out.names += 1;
        out.rows += n.rows as u64;
        list.push(crate::UnresolvedName {
            suggestions: dicts.suggest(kind, &n.name, 3),
            name: n.name,
            rows: n.rows as u64,
        });
    }
    for list in [
        &mut out.unresolved.countries,
        &mut out.unresolved.customers,
        &mut out.unresolved.specs,
        &mut out.unresolved.categories,
        &mut out.unresolved.owners,
    ] {
        list.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.name.cmp(&b.name)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_ids_keep_width() {
        assert_eq!(next_id('C', ["C001", "C041", "X9"].into_iter()), "C042");
        assert_eq!(next_id('S', ["S01", "S24"].into_iter()), "S25");
        assert_eq!(next_id('C', std::iter::empty()), "C001");
    }
}
