//! Importing one export file (导入): read → find each sheet's header and kind → clean every row →
//! store the good rows, quarantine the bad ones, replace what a newer export covers — all in one
//! transaction — and report what happened.

use crate::clean::{self, cell_clean, cell_date, cell_decimal, cell_month, decimal_string, is_blank};
use crate::layout::{self, Detection, Layout, RecordKind};
use crate::workbook::{self, SheetGrid};
use crate::IngestError;
use calamine::Data;
use lodestar_core::Month;
use lodestar_dict::{Dictionaries, NameKind};
use lodestar_store::imports::{
    BatchCounts, FxRecord, NewBatch, NewQuarantine, ReceivableRecord, SalesRecord, TargetRecord,
};
use lodestar_store::Store;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// Options of one import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// `--kind`: treat every data sheet as this kind instead of detecting it.
    pub kind: Option<RecordKind>,
    /// `--append`: add sales/targets rows without replacing the months they cover.
    pub append: bool,
    /// Who imports (for the batch and the audit log).
    pub actor: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { kind: None, append: false, actor: "admin".into() }
    }
}

/// The import report (human table and `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The new batch; for a duplicate, the batch that imported the same bytes before.
    pub batch_id: Option<i64>,
    pub file: String,
    /// The same bytes were imported before (and not undone): nothing was imported.
    pub duplicate: bool,
    /// Rows imported over all sheets and kinds.
    pub imported: u64,
    /// Rows set aside in the quarantine.
    pub quarantined: u64,
    /// Earlier rows this import replaced.
    pub replaced: u64,
    /// Data rows read below the header rows (imported + quarantined + skipped).
    pub rows_read: u64,
    pub sheets: Vec<SheetReport>,
    pub unresolved: Unresolved,
    /// sha256 of the file.
    pub content_hash: String,
}

/// What happened to one sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SheetReport {
    pub sheet: String,
    /// sales / targets / receivables / fx; `None` for a skipped sheet.
    pub kind: Option<RecordKind>,
    /// Excel row number (1-based) of the header row.
    pub header_row: Option<u32>,
    pub rows_read: u64,
    pub imported: u64,
    pub replaced: u64,
    pub quarantined: u64,
    pub quarantine_reasons: BTreeMap<String, u64>,
    /// Subtotal/total rows plus blank rows.
    pub skipped_rows: u64,
    pub subtotal_rows: u64,
    pub blank_rows: u64,
    /// Months the sheet's rows cover (sales, targets, fx).
    pub months: Vec<String>,
    /// `imported` or `skipped`.
    pub status: String,
    pub skip_reason: Option<String>,
}

/// Names no dictionary knew at import time; their rows are imported and flagged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Unresolved {
    pub countries: Vec<UnresolvedName>,
    pub customers: Vec<UnresolvedName>,
    pub specs: Vec<UnresolvedName>,
    pub categories: Vec<UnresolvedName>,
}

impl Unresolved {
    pub fn is_empty(&self) -> bool {
        self.countries.is_empty() && self.customers.is_empty() && self.specs.is_empty() && self.categories.is_empty()
    }
    pub fn total_names(&self) -> usize {
        self.countries.len() + self.customers.len() + self.specs.len() + self.categories.len()
    }
}

/// An unresolved name, how many rows carry it, and the nearest known names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnresolvedName {
    pub name: String,
    pub rows: u64,
    pub suggestions: Vec<String>,
}

/// Quarantine reasons (stable codes).
pub mod reason {
    /// A required cell is empty.
    pub const MISSING_VALUE: &str = "missing_value";
    /// Not a number (after thousands separators, full-width digits, currency signs).
    pub const BAD_NUMBER: &str = "bad_number";
    /// Not a month in any known form.
    pub const BAD_MONTH: &str = "bad_month";
    /// Not a calendar date.
    pub const BAD_DATE: &str = "bad_date";
    /// Not a currency code or name.
    pub const BAD_CURRENCY: &str = "bad_currency";
    /// The same installment (合同号, 付款节点, 约定回款日期) or rate (月份, 币种) twice in one file.
    pub const DUPLICATE_KEY: &str = "duplicate_key";
}

/// Imports one file into the store (one transaction). See the crate docs for what it copes with.
pub fn import_file(
    store: &mut Store,
    dicts: &Dictionaries,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, IngestError> {
    let bytes = std::fs::read(path)
        .map_err(|e| IngestError::Unreadable { path: path.display().to_string(), reason: e.to_string() })?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    let hash = hex::encode(Sha256::digest(&bytes));

    if let Some(prev) = store.find_batch_by_hash(&hash)? {
        let report = ImportReport {
            batch_id: Some(prev.id),
            file: file_name.clone(),
            duplicate: true,
            imported: 0,
            quarantined: 0,
            replaced: 0,
            rows_read: 0,
            sheets: Vec::new(),
            unresolved: Unresolved::default(),
            content_hash: hash,
        };
        store.audit(
            &opts.actor,
            "import",
            &serde_json::json!({"file": file_name, "duplicate": true, "duplicate_of": prev.id, "imported": 0}),
        )?;
        return Ok(report);
    }

    let sheets = workbook::read_sheets(&bytes, &workbook::extension(path))
        .map_err(|f| IngestError::Unreadable { path: path.display().to_string(), reason: f.0 })?;
    drop(bytes);

    let mut cleaner = Cleaner::new(dicts, &file_name);
    let mut outcomes = Vec::with_capacity(sheets.len());
    for sheet in &sheets {
        match layout::detect(sheet, &dicts.header_aliases, opts.kind) {
            Detection::Skip(why) => outcomes.push(SheetOutcome::skipped(&sheet.name, why)),
            Detection::Data(l) => {
                let missing = layout::missing_columns(&l, &dicts.header_aliases);
                if !missing.is_empty() {
                    return Err(IngestError::MissingColumns {
                        file: file_name,
                        sheet: sheet.name.clone(),
                        kind: l.kind,
                        header_row: l.header_row_abs + 1,
                        missing,
                        seen: l.headers_seen.clone(),
                    });
                }
                outcomes.push(cleaner.sheet(sheet, &l));
            }
        }
    }
    drop(sheets);

    let mut tx = store.import_tx()?;
    let batch = tx.insert_batch(&NewBatch {
        file_name: &file_name,
        file_path: path.to_str(),
        content_hash: &hash,
        imported_by: &opts.actor,
        append: opts.append,
    })?;
    for o in &mut outcomes {
        write_sheet(&mut tx, batch, o, opts.append)?;
    }
    let mut report = ImportReport {
        batch_id: Some(batch),
        file: file_name.clone(),
        duplicate: false,
        imported: 0,
        quarantined: 0,
        replaced: 0,
        rows_read: 0,
        sheets: outcomes.into_iter().map(|o| o.report).collect(),
        unresolved: cleaner.unresolved_report(),
        content_hash: hash,
    };
    for s in &report.sheets {
        report.imported += s.imported;
        report.quarantined += s.quarantined;
        report.replaced += s.replaced;
        report.rows_read += s.rows_read;
    }
    let json = serde_json::to_string(&report).map_err(|e| IngestError::Invalid(e.to_string()))?;
    tx.finish_batch(
        batch,
        BatchCounts {
            rows_read: report.rows_read as i64,
            rows_imported: report.imported as i64,
            rows_replaced: report.replaced as i64,
            rows_quarantined: report.quarantined as i64,
        },
        &json,
    )?;
    tx.audit(
        &opts.actor,
        "import",
        &serde_json::json!({
            "batch_id": batch, "file": file_name, "imported": report.imported, "quarantined": report.quarantined,
            "replaced": report.replaced, "append": opts.append, "duplicate": false,
        }),
    )?;
    tx.commit()?;
    Ok(report)
}

fn write_sheet(
    tx: &mut lodestar_store::imports::ImportTx<'_>,
    batch: i64,
    o: &mut SheetOutcome,
    append: bool,
) -> Result<(), IngestError> {
    let months: Vec<String> = o.report.months.clone();
    match &o.rows {
        Rows::None => {}
        Rows::Sales(rows) => {
            if !append {
                o.report.replaced += tx.supersede_months("sales", batch, &months)? as u64;
            }
            for r in rows {
                tx.insert_sales(batch, r)?;
            }
        }
        Rows::Targets(rows) => {
            if !append {
                o.report.replaced += tx.supersede_months("targets", batch, &months)? as u64;
            }
            for r in rows {
                tx.insert_target(batch, r)?;
            }
        }
        Rows::Receivables(rows) => {
            for r in rows {
                o.report.replaced += tx.upsert_receivable(batch, r)? as u64;
            }
        }
        Rows::Fx(rows) => {
            for r in rows {
                o.report.replaced += tx.upsert_fx(batch, r)? as u64;
            }
        }
    }
    for q in &o.quarantine {
        tx.insert_quarantine(batch, q)?;
    }
    Ok(())
}

enum Rows {
    None,
    Sales(Vec<SalesRecord>),
    Targets(Vec<TargetRecord>),
    Receivables(Vec<ReceivableRecord>),
    Fx(Vec<FxRecord>),
}

struct SheetOutcome {
    report: SheetReport,
    rows: Rows,
    quarantine: Vec<NewQuarantine>,
}

impl SheetOutcome {
    fn skipped(sheet: &str, why: String) -> Self {
        SheetOutcome {
            report: SheetReport {
                sheet: sheet.to_string(),
                kind: None,
                header_row: None,
                rows_read: 0,
                imported: 0,
                replaced: 0,
                quarantined: 0,
                quarantine_reasons: BTreeMap::new(),
                skipped_rows: 0,
                subtotal_rows: 0,
                blank_rows: 0,
                months: Vec::new(),
                status: "skipped".into(),
                skip_reason: Some(why),
            },
            rows: Rows::None,
            quarantine: Vec::new(),
        }
    }
}

/// A problem with one cell that sends its row to the quarantine.
struct Bad {
    field: &'static str,
    raw: String,
    reason: &'static str,
}

/// Per-file cleaning state: caches (each distinct name is resolved once) and unresolved names.
struct Cleaner<'a> {
    dicts: &'a Dictionaries,
    file: String,
    country_ok: HashMap<String, bool>,
    customer_ok: HashMap<String, bool>,
    category_ok: HashMap<String, bool>,
    /// raw spec text → (stored form, known to the catalogue)
    spec: HashMap<String, (String, bool)>,
    month_text: HashMap<String, Option<Month>>,
    unresolved: [BTreeMap<String, u64>; 4],
    receivable_keys: HashSet<(String, String, Option<String>)>,
    fx_keys: HashSet<(String, String)>,
}

const U_COUNTRY: usize = 0;
const U_CUSTOMER: usize = 1;
const U_SPEC: usize = 2;
const U_CATEGORY: usize = 3;

/// Reads the mapped cells of one data row, filling merged key cells from the merge's top-left.
struct RowView<'a> {
    cells: &'a [Data],
    abs_row: u32,
    layout: &'a Layout,
    sheet: &'a SheetGrid,
    fill: &'a HashMap<(u32, u32), (u32, u32)>,
    origin_col: u32,
}

const EMPTY: Data = Data::Empty;

impl<'a> RowView<'a> {
    fn get(&self, field: &str) -> &'a Data {
        let Some(c) = self.layout.col(field) else {
            return &EMPTY;
        };
        let d = self.cells.get(c).unwrap_or(&EMPTY);
        if !self.fill.is_empty() && is_blank(d) {
            if let Some(&src) = self.fill.get(&(self.abs_row, self.origin_col + c as u32)) {
                return self.sheet.range.get_value(src).unwrap_or(&EMPTY);
            }
        }
        d
    }
}

impl<'a> Cleaner<'a> {
    fn new(dicts: &'a Dictionaries, file: &str) -> Self {
        Cleaner {
            dicts,
            file: file.to_string(),
            country_ok: HashMap::new(),
            customer_ok: HashMap::new(),
            category_ok: HashMap::new(),
            spec: HashMap::new(),
            month_text: HashMap::new(),
            unresolved: Default::default(),
            receivable_keys: HashSet::new(),
            fx_keys: HashSet::new(),
        }
    }

    fn sheet(&mut self, sheet: &SheetGrid, l: &Layout) -> SheetOutcome {
        let origin = sheet.origin();
        // merged cells of key columns: (row, col) → top-left of the merge
        let mut fill: HashMap<(u32, u32), (u32, u32)> = HashMap::new();
        for m in &sheet.merges {
            for (field, c) in &l.columns {
                let col = origin.1 + *c as u32;
                if !l.kind.fills_merged(field) || col < m.start.1 || col > m.end.1 {
                    continue;
                }
                for r in m.start.0..=m.end.0 {
                    if (r, col) != m.start && r > l.header_row_abs {
                        fill.insert((r, col), m.start);
                    }
                }
            }
        }
        let mut report = SheetOutcome::skipped(&sheet.name, String::new()).report;
        report.kind = Some(l.kind);
        report.header_row = Some(l.header_row_abs + 1);
        report.status = "imported".into();
        report.skip_reason = None;
        let mut months: BTreeSet<String> = BTreeSet::new();
        let mut quarantine = Vec::new();
        let mut rows = match l.kind {
            RecordKind::Sales => Rows::Sales(Vec::new()),
            RecordKind::Targets => Rows::Targets(Vec::new()),
            RecordKind::Receivables => Rows::Receivables(Vec::new()),
            RecordKind::Fx => Rows::Fx(Vec::new()),
        };
        for (i, cells) in sheet.rows().enumerate().skip(l.header_index + 1) {
            let abs_row = origin.0 + i as u32;
            let row = RowView { cells, abs_row, layout: l, sheet, fill: &fill, origin_col: origin.1 };
            report.rows_read += 1;
            if l.columns.iter().all(|(f, _)| is_blank(row.get(f))) {
                report.blank_rows += 1;
                continue;
            }
            let labels = l.kind.label_fields();
            let labelled_total =
                labels.iter().any(|f| matches!(row.get(f), Data::String(s) if clean::is_subtotal_label(s)));
            let unlabelled_total = matches!(l.kind, RecordKind::Sales | RecordKind::Targets)
                && labels.iter().all(|f| is_blank(row.get(f)));
            if labelled_total || unlabelled_total {
                report.subtotal_rows += 1;
                continue;
            }
            let row_no = abs_row as i64 + 1;
            let result = match &mut rows {
                Rows::Sales(v) => self.sales(&row, &sheet.name, row_no).map(|r| {
                    months.insert(r.month.clone());
                    v.push(r)
                }),
                Rows::Targets(v) => self.target(&row, &sheet.name, row_no).map(|r| {
                    months.insert(r.month.clone());
                    v.push(r)
                }),
                Rows::Receivables(v) => self.receivable(&row, &sheet.name, row_no).map(|r| v.push(r)),
                Rows::Fx(v) => self.fx(&row).map(|r| {
                    months.insert(r.month.clone());
                    v.push(r)
                }),
                Rows::None => Ok(()),
            };
            match result {
                Ok(()) => report.imported += 1,
                Err(bad) => {
                    report.quarantined += 1;
                    *report.quarantine_reasons.entry(bad.reason.to_string()).or_default() += 1;
                    let header = l
                        .col(bad.field)
                        .and_then(|c| sheet.range.get_value((l.header_row_abs, origin.1 + c as u32)))
                        .map(cell_clean)
                        .unwrap_or_else(|| layout::label(&self.dicts.header_aliases, l.kind, bad.field).to_string());
                    quarantine.push(NewQuarantine {
                        file: self.file.clone(),
                        sheet: Some(sheet.name.clone()),
                        row_no: Some(row_no),
                        column_name: Some(header),
                        raw_value: Some(bad.raw),
                        reason: bad.reason.to_string(),
                        kind: Some(l.kind.as_str().to_string()),
                    });
                }
            }
        }
        report.skipped_rows = report.subtotal_rows + report.blank_rows;
        report.months = months.into_iter().collect();
        SheetOutcome { report, rows, quarantine }
    }

    fn text(&self, row: &RowView<'_>, field: &'static str) -> Result<String, Bad> {
        let d = row.get(field);
        let t = cell_clean(d);
        if t.is_empty() {
            return Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        Ok(t)
    }

    fn opt_text(&self, row: &RowView<'_>, field: &'static str) -> Option<String> {
        let t = cell_clean(row.get(field));
        if t.is_empty() {
            None
        } else {
            Some(t)
        }
    }

    fn month(&mut self, row: &RowView<'_>, field: &'static str) -> Result<String, Bad> {
        let d = row.get(field);
        if is_blank(d) {
            return Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        let m = match d {
            Data::String(s) => match self.month_text.get(s.as_str()) {
                Some(m) => *m,
                None => {
                    let m = clean::parse_month_text(s);
                    self.month_text.insert(s.clone(), m);
                    m
                }
            },
            other => cell_month(other),
        };
        m.map(|m| m.to_string()).ok_or_else(|| Bad { field, raw: clean::cell_text(d), reason: reason::BAD_MONTH })
    }

    fn number(&self, row: &RowView<'_>, field: &'static str) -> Result<String, Bad> {
        let d = row.get(field);
        if is_blank(d) {
            return Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        cell_decimal(d).map(decimal_string).ok_or_else(|| Bad { field, raw: clean::cell_text(d), reason: reason::BAD_NUMBER })
    }

    fn opt_number(&self, row: &RowView<'_>, field: &'static str) -> Result<Option<String>, Bad> {
        if is_blank(row.get(field)) {
            Ok(None)
        } else {
            self.number(row, field).map(Some)
        }
    }

    fn opt_date(&self, row: &RowView<'_>, field: &'static str) -> Result<Option<String>, Bad> {
        let d = row.get(field);
        if is_blank(d) {
            return Ok(None);
        }
        match cell_date(d) {
            Some(date) => Ok(Some(date.format("%Y-%m-%d").to_string())),
            None => {
                // 无 / — / N/A mean "no date yet"
                let t = lodestar_core::text::norm_key(&clean::cell_text(d));
                if matches!(t.as_str(), "-" | "--" | "—" | "无" | "n/a" | "na" | "/" | "未定" | "tbd") {
                    Ok(None)
                } else {
                    Err(Bad { field, raw: clean::cell_text(d), reason: reason::BAD_DATE })
                }
            }
        }
    }

    fn currency(&self, row: &RowView<'_>, field: &'static str, default: Option<&str>) -> Result<String, Bad> {
        let d = row.get(field);
        match clean::normalize_currency(&clean::cell_text(d)) {
            Ok(Some(c)) => Ok(c),
            Ok(None) => match default {
                Some(c) => Ok(c.to_string()),
                None => Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE }),
            },
            Err(()) => Err(Bad { field, raw: clean::cell_text(d), reason: reason::BAD_CURRENCY }),
        }
    }

    fn check(&mut self, which: usize, name: &str) -> bool {
        let dicts = self.dicts;
        let map = match which {
            U_COUNTRY => &mut self.country_ok,
            U_CUSTOMER => &mut self.customer_ok,
            _ => &mut self.category_ok,
        };
        if let Some(&ok) = map.get(name) {
            return ok;
        }
        let ok = match which {
            U_COUNTRY => dicts.resolve_country(name).is_some(),
            U_CUSTOMER => dicts.resolve_customer(name).is_some(),
            _ => dicts.resolve_category(name).is_some(),
        };
        map.insert(name.to_string(), ok);
        ok
    }

    /// Normalized spec (when it looks like a size) and whether the catalogue knows it.
    fn spec(&mut self, raw: &str) -> (String, bool) {
        if let Some(v) = self.spec.get(raw) {
            return v.clone();
        }
        let stored = lodestar_dict::spec::normalize_spec(raw).unwrap_or_else(|| raw.to_string());
        let known = self.dicts.resolve_spec(&stored).is_some();
        self.spec.insert(raw.to_string(), (stored.clone(), known));
        (stored, known)
    }

    /// Records unresolved names of a row that is going to be stored; returns the flag text.
    fn flag(&mut self, names: &[(usize, &str)]) -> Option<String> {
        let mut flags: Vec<&str> = Vec::new();
        for &(which, name) in names {
            let ok = if which == U_SPEC { self.spec.get(name).is_none_or(|v| v.1) } else { self.check(which, name) };
            if !ok {
                flags.push(["country", "customer", "spec", "category"][which]);
                *self.unresolved[which].entry(name.to_string()).or_default() += 1;
            }
        }
        if flags.is_empty() {
            None
        } else {
            Some(flags.join(","))
        }
    }

    fn sales(&mut self, row: &RowView<'_>, sheet: &str, row_no: i64) -> Result<SalesRecord, Bad> {
        let month = self.month(row, "month")?;
        let country = self.text(row, "country")?;
        let customer = self.text(row, "customer")?;
        let category = self.text(row, "category")?;
        let spec_raw = self.text(row, "spec")?;
        let quantity = self.number(row, "quantity")?;
        let amount = self.number(row, "amount")?;
        let currency = self.currency(row, "currency", Some("USD"))?;
        let owner = self.opt_text(row, "owner");
        let (spec, known) = self.spec(&spec_raw);
        let mut unresolved = self.flag(&[(U_COUNTRY, &country), (U_CUSTOMER, &customer), (U_CATEGORY, &category)]);
        if !known {
            *self.unresolved[U_SPEC].entry(spec.clone()).or_default() += 1;
            unresolved = Some(match unresolved {
                Some(u) => format!("{u},spec"),
                None => "spec".to_string(),
            });
        }
        Ok(SalesRecord {
            month,
            country,
            customer,
            category,
            spec,
            quantity,
            amount,
            currency,
            owner,
            sheet: sheet.to_string(),
            row_no,
            unresolved,
        })
    }

    fn target(&mut self, row: &RowView<'_>, sheet: &str, row_no: i64) -> Result<TargetRecord, Bad> {
        let month = self.month(row, "month")?;
        let country = self.text(row, "country")?;
        let category = self.opt_text(row, "category");
        let customer = self.opt_text(row, "customer");
        let target_quantity = self.opt_number(row, "target_quantity")?;
        let target_amount = self.opt_number(row, "target_amount")?;
        if target_quantity.is_none() && target_amount.is_none() {
            let field = if row.layout.col("target_quantity").is_some() { "target_quantity" } else { "target_amount" };
            return Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        let currency = self.currency(row, "currency", Some("USD"))?;
        let mut names: Vec<(usize, &str)> = vec![(U_COUNTRY, &country)];
        if let Some(c) = &category {
            names.push((U_CATEGORY, c));
        }
        if let Some(c) = &customer {
            names.push((U_CUSTOMER, c));
        }
        let unresolved = self.flag(&names);
        Ok(TargetRecord {
            month,
            country,
            category,
            customer,
            target_quantity,
            target_amount,
            currency,
            sheet: sheet.to_string(),
            row_no,
            unresolved,
        })
    }

    fn receivable(&mut self, row: &RowView<'_>, sheet: &str, row_no: i64) -> Result<ReceivableRecord, Bad> {
        let contract_no = self.text(row, "contract_no")?;
        let customer = self.text(row, "customer")?;
        let country = self.text(row, "country")?;
        let currency = self.currency(row, "currency", Some("USD"))?;
        let contract_amount = self.opt_number(row, "contract_amount")?;
        let payment_terms = self.opt_text(row, "payment_terms");
        let payment_node = clean::normalize_payment_node(&self.text(row, "payment_node")?);
        let due_amount = self.number(row, "due_amount")?;
        let due_date = self.opt_date(row, "due_date")?;
        let paid_amount = self.opt_number(row, "paid_amount")?.unwrap_or_else(|| "0".to_string());
        let paid_date = self.opt_date(row, "paid_date")?;
        let goods_ready_date = self.opt_date(row, "goods_ready_date")?;
        let shipping_status = self.opt_text(row, "shipping_status").map(|s| clean::normalize_shipping_status(&s));
        let key = (contract_no.clone(), payment_node.clone(), due_date.clone());
        if !self.receivable_keys.insert(key) {
            return Err(Bad {
                field: "contract_no",
                raw: format!("{contract_no} / {payment_node} / {}", due_date.as_deref().unwrap_or("")),
                reason: reason::DUPLICATE_KEY,
            });
        }
        let unresolved = self.flag(&[(U_COUNTRY, &country), (U_CUSTOMER, &customer)]);
        Ok(ReceivableRecord {
            contract_no,
            customer,
            country,
            currency,
            contract_amount,
            payment_terms,
            payment_node,
            due_amount,
            due_date,
            paid_amount,
            paid_date,
            goods_ready_date,
            shipping_status,
            sheet: sheet.to_string(),
            row_no,
            unresolved,
        })
    }

    fn fx(&mut self, row: &RowView<'_>) -> Result<FxRecord, Bad> {
        let month = self.month(row, "month")?;
        let currency = self.currency(row, "currency", None)?;
        let usd_rate = self.number(row, "usd_rate")?;
        if !self.fx_keys.insert((month.clone(), currency.clone())) {
            return Err(Bad { field: "currency", raw: format!("{month} {currency}"), reason: reason::DUPLICATE_KEY });
        }
        Ok(FxRecord { month, currency, usd_rate })
    }

    fn unresolved_report(&self) -> Unresolved {
        let list = |which: usize, kind: NameKind| -> Vec<UnresolvedName> {
            let mut v: Vec<UnresolvedName> = self.unresolved[which]
                .iter()
                .map(|(name, rows)| UnresolvedName {
                    name: name.clone(),
                    rows: *rows,
                    suggestions: self.dicts.suggest(kind, name, 3),
                })
                .collect();
            v.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.name.cmp(&b.name)));
            v
        };
        Unresolved {
            countries: list(U_COUNTRY, NameKind::Country),
            customers: list(U_CUSTOMER, NameKind::Customer),
            specs: list(U_SPEC, NameKind::Spec),
            categories: list(U_CATEGORY, NameKind::Category),
        }
    }
}
