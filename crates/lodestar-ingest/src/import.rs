//! Importing one export file (导入): read → find each sheet's header and kind → clean every row →
//! store the good rows, quarantine the bad ones, replace what a newer export covers — all in one
//! transaction — and report what happened.

use crate::clean::{self, cell_clean, cell_date, cell_decimal, cell_month, decimal_string, is_blank};
use crate::layout::{self, Detection, Layout, RecordKind};
use crate::workbook::{self, SheetGrid};
use crate::IngestError;
use calamine::Data;
use lodestar_core::{Month, ReadLimits};
use lodestar_dict::{Dictionaries, NameKind};
use lodestar_store::imports::{
    BatchCounts, FxRecord, NewBatch, NewQuarantine, ReceivableRecord, SalesRecord, TargetRecord,
};
use lodestar_store::Store;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::mpsc;

/// Options of one import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// `--kind`: treat every data sheet as this kind instead of detecting it.
    pub kind: Option<RecordKind>,
    /// `--append`: add sales/targets rows without replacing the months they cover.
    pub append: bool,
    /// Who imports (for the batch and the audit log).
    pub actor: String,
    /// `[limits]` of `config.toml`: zip containers and sheet dimensions are held to them before
    /// any cell is read.
    pub limits: ReadLimits,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { kind: None, append: false, actor: "admin".into(), limits: ReadLimits::default() }
    }
}

/// The import report (human table and `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The new batch; for a duplicate, the batch that imported the same bytes before.
    pub batch_id: Option<i64>,
    /// The imported file's name.
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
    /// One report per sheet, in workbook order.
    pub sheets: Vec<SheetReport>,
    /// Every sheet warning, prefixed with its sheet name (unmapped columns, skipped summary or
    /// hidden sheets, categories taken from the spec).
    pub warnings: Vec<String>,
    /// Names no dictionary knew; their rows were imported and flagged.
    pub unresolved: Unresolved,
    /// sha256 of the file.
    pub content_hash: String,
}

/// What happened to one sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SheetReport {
    /// Sheet name.
    pub sheet: String,
    /// sales / targets / receivables / fx; `None` for a skipped sheet.
    pub kind: Option<RecordKind>,
    /// Excel row number (1-based) of the header row.
    pub header_row: Option<u32>,
    /// Data rows read below the header row.
    pub rows_read: u64,
    /// Rows stored.
    pub imported: u64,
    /// Earlier rows these rows replaced.
    pub replaced: u64,
    /// Rows set aside in the quarantine.
    pub quarantined: u64,
    /// Quarantine reason code → rows set aside for it.
    pub quarantine_reasons: BTreeMap<String, u64>,
    /// Subtotal/total rows plus blank rows.
    pub skipped_rows: u64,
    /// Subtotal / total rows skipped (小计, 合计 …).
    pub subtotal_rows: u64,
    /// Blank rows skipped.
    pub blank_rows: u64,
    /// Months the sheet's rows cover (sales, targets, fx).
    pub months: Vec<String>,
    /// `imported` or `skipped`.
    pub status: String,
    /// Why the sheet was skipped (summary or hidden sheet, no header found …).
    pub skip_reason: Option<String>,
    /// Header texts of the header row that map to no column of the kind: their cells are not
    /// imported (see `warnings`).
    pub unmapped_columns: Vec<String>,
    /// Rows whose 品类 was empty or unknown and was taken from the catalogue entry of their 规格.
    pub categories_from_spec: u64,
    /// Things the user should know about this sheet (unmapped columns, why it was skipped …).
    pub warnings: Vec<String>,
}

/// Names no dictionary knew at import time; their rows are imported and flagged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Unresolved {
    /// Countries no dictionary resolves.
    pub countries: Vec<UnresolvedName>,
    /// Customers no dictionary resolves.
    pub customers: Vec<UnresolvedName>,
    /// Specs the catalogue does not know.
    pub specs: Vec<UnresolvedName>,
    /// Categories no dictionary resolves.
    pub categories: Vec<UnresolvedName>,
}

impl Unresolved {
    /// Whether every name resolved.
    pub fn is_empty(&self) -> bool {
        self.countries.is_empty() && self.customers.is_empty() && self.specs.is_empty() && self.categories.is_empty()
    }
    /// Number of distinct unresolved names over all fields.
    pub fn total_names(&self) -> usize {
        self.countries.len() + self.customers.len() + self.specs.len() + self.categories.len()
    }
}

/// An unresolved name, how many rows carry it, and the nearest known names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnresolvedName {
    /// The name as written in the file.
    pub name: String,
    /// Rows that carry it.
    pub rows: u64,
    /// The nearest known names, best first.
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
    let file_name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
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
            warnings: Vec::new(),
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

    let sheets = workbook::read_sheets(&bytes, &workbook::extension(path), &opts.limits)
        .map_err(|f| IngestError::Unreadable { path: path.display().to_string(), reason: f.0 })?;
    drop(bytes);

    // every sheet's layout first: a data sheet missing a required column stops the file before
    // anything is written — unless another sheet of the file is complete, in which case it is a
    // summary / pivot beside the detail and is skipped with a warning
    let detections: Vec<Detection> =
        sheets.iter().map(|s| layout::detect(s, &dicts.header_aliases, opts.kind)).collect();
    let complete = |d: &Detection| matches!(d, Detection::Data(l) if l.missing_groups().is_empty());
    let visible_kinds: BTreeSet<RecordKind> = sheets
        .iter()
        .zip(&detections)
        .filter(|(s, d)| !s.hidden && complete(d))
        .filter_map(|(_, d)| match d {
            Detection::Data(l) => Some(l.kind),
            Detection::Skip(_) => None,
        })
        .collect();
    let any_complete = detections.iter().any(complete);
    let mut plans: Vec<Result<Layout, (String, Vec<String>)>> = Vec::with_capacity(sheets.len());
    for (sheet, det) in sheets.iter().zip(detections) {
        match det {
            Detection::Skip(why) => plans.push(Err((why, Vec::new()))),
            Detection::Data(l) => {
                let missing = layout::missing_columns(&l, &dicts.header_aliases);
                if !missing.is_empty() {
                    let signal = layout::summary_signal(&sheet.name, &l, missing.len());
                    if let (None, true, Some(signal)) = (opts.kind, any_complete, signal) {
                        let names: Vec<String> = missing.iter().map(|m| m.column.clone()).collect();
                        let why = format!(
                            "summary/pivot sheet ({signal}): has some {} columns but lacks {}; the complete detail sheet(s) of this file are imported instead",
                            l.kind,
                            names.join(", ")
                        );
                        let warn = format!("sheet \"{}\" skipped as a summary: {why}", sheet.name);
                        plans.push(Err((why, vec![warn])));
                        continue;
                    }
                    return Err(IngestError::MissingColumns {
                        file: file_name,
                        sheet: sheet.name.clone(),
                        kind: l.kind,
                        header_row: l.header_row_abs + 1,
                        missing,
                        seen: l.headers_seen.clone(),
                    });
                }
                if sheet.hidden && visible_kinds.contains(&l.kind) {
                    let why = format!(
                        "hidden sheet: not imported, a visible {} sheet is (unhide it to import it too)",
                        l.kind
                    );
                    let warn = format!("sheet \"{}\" skipped: {why}", sheet.name);
                    plans.push(Err((why, vec![warn])));
                    continue;
                }
                let lookalike = layout::lookalike_columns(&l, &dicts.header_aliases);
                if !lookalike.is_empty() {
                    return Err(IngestError::LookalikeColumns {
                        file: file_name,
                        sheet: sheet.name.clone(),
                        kind: l.kind,
                        header_row: l.header_row_abs + 1,
                        columns: lookalike,
                    });
                }
                plans.push(Ok(l));
            }
        }
    }

    // clean on this thread, write on another: the two overlap, and the writer owns the one
    // transaction of the file (dropped without commit = rolled back)
    let meta = BatchMeta {
        file_name: file_name.clone(),
        file_path: path.to_str().map(String::from),
        hash,
        actor: opts.actor.clone(),
        append: opts.append,
    };
    std::thread::scope(|scope| {
        let (out, inbox) = mpsc::sync_channel::<Msg>(8);
        let writer = scope.spawn(move || write_batch(store, inbox, meta));
        let mut cleaner = Cleaner::new(dicts, &file_name);
        let mut sheet_reports = Vec::with_capacity(sheets.len());
        let mut sent = true;
        for (i, (sheet, plan)) in sheets.iter().zip(plans).enumerate() {
            match plan {
                Err((why, warnings)) => {
                    let mut r = skipped_report(&sheet.name, why);
                    r.warnings = warnings;
                    sheet_reports.push(r)
                }
                Ok(l) => match cleaner.sheet(sheet, &l, i, &out) {
                    Some(r) => sheet_reports.push(r),
                    None => {
                        sent = false;
                        break;
                    }
                },
            }
        }
        if sent {
            let warnings = sheet_reports.iter().flat_map(|s| s.warnings.iter().cloned()).collect();
            let report = ImportReport {
                batch_id: None,
                file: file_name.clone(),
                duplicate: false,
                imported: 0,
                quarantined: 0,
                replaced: 0,
                rows_read: 0,
                sheets: sheet_reports,
                warnings,
                unresolved: cleaner.unresolved_report(),
                content_hash: String::new(),
            };
            // a failed send means the writer stopped; its error comes from join below
            let _ = out.send(Msg::Finish(Box::new(report)));
        }
        drop(out);
        writer.join().unwrap_or_else(|_| Err(IngestError::Invalid("the import writer panicked".into())))
    })
}

/// What the cleaner hands the writer, in order.
enum Msg {
    /// A chunk of rows of sheet `.0`.
    Rows(usize, Rows),
    Quarantine(Vec<NewQuarantine>),
    /// Sheet `.0` is complete: replace the months it covers (sales, targets) unless appending.
    SheetDone(usize, RecordKind, Vec<String>),
    /// Every sheet is done: the report without the writer's numbers.
    Finish(Box<ImportReport>),
}

struct BatchMeta {
    file_name: String,
    file_path: Option<String>,
    hash: String,
    actor: String,
    append: bool,
}

/// The writer: one transaction for the batch, its rows, replacements, quarantine and audit entry.
fn write_batch(store: &mut Store, inbox: mpsc::Receiver<Msg>, meta: BatchMeta) -> Result<ImportReport, IngestError> {
    let tx = store.import_tx()?;
    let batch = tx.insert_batch(&NewBatch {
        file_name: &meta.file_name,
        file_path: meta.file_path.as_deref(),
        content_hash: &meta.hash,
        imported_by: &meta.actor,
        append: meta.append,
    })?;
    let mut replaced: BTreeMap<usize, u64> = BTreeMap::new();
    for msg in inbox {
        match msg {
            Msg::Rows(sheet, rows) => {
                let n = replaced.entry(sheet).or_default();
                match rows {
                    Rows::Sales(v) => tx.insert_sales_rows(batch, &v)?,
                    Rows::Targets(v) => {
                        for r in &v {
                            tx.insert_target(batch, r)?;
                        }
                    }
                    Rows::Receivables(v) => {
                        for r in &v {
                            *n += tx.upsert_receivable(batch, r)? as u64;
                        }
                    }
                    Rows::Fx(v) => {
                        for r in &v {
                            *n += tx.upsert_fx(batch, r)? as u64;
                        }
                    }
                }
            }
            Msg::Quarantine(v) => {
                for q in &v {
                    tx.insert_quarantine(batch, q)?;
                }
            }
            Msg::SheetDone(sheet, kind, months) => {
                // rows of this batch are never replaced by it, so replacing after inserting is exact
                let table = match kind {
                    RecordKind::Sales => "sales",
                    RecordKind::Targets => "targets",
                    _ => continue,
                };
                if !meta.append {
                    *replaced.entry(sheet).or_default() += tx.supersede_months(table, batch, &months)? as u64;
                }
            }
            Msg::Finish(report) => {
                let mut report = *report;
                report.batch_id = Some(batch);
                report.content_hash = meta.hash.clone();
                for (i, s) in report.sheets.iter_mut().enumerate() {
                    s.replaced = replaced.get(&i).copied().unwrap_or(0);
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
                    &meta.actor,
                    "import",
                    &serde_json::json!({
                        "batch_id": batch, "file": meta.file_name, "imported": report.imported,
                        "quarantined": report.quarantined, "replaced": report.replaced, "append": meta.append,
                        "duplicate": false,
                    }),
                )?;
                lodestar_core::testhook::pause_point("import.before_commit");
                tx.commit()?;
                lodestar_core::testhook::pause_point("import.after_commit");
                return Ok(report);
            }
        }
    }
    Err(IngestError::Invalid("the import stopped before it finished; nothing was stored".into()))
}

/// Rows per message from the cleaner to the writer.
const CHUNK: usize = 4096;

enum Rows {
    Sales(Vec<SalesRecord>),
    Targets(Vec<TargetRecord>),
    Receivables(Vec<ReceivableRecord>),
    Fx(Vec<FxRecord>),
}

impl Rows {
    fn empty(kind: RecordKind) -> Self {
        match kind {
            RecordKind::Sales => Rows::Sales(Vec::with_capacity(CHUNK)),
            RecordKind::Targets => Rows::Targets(Vec::new()),
            RecordKind::Receivables => Rows::Receivables(Vec::new()),
            RecordKind::Fx => Rows::Fx(Vec::new()),
        }
    }
    fn len(&self) -> usize {
        match self {
            Rows::Sales(v) => v.len(),
            Rows::Targets(v) => v.len(),
            Rows::Receivables(v) => v.len(),
            Rows::Fx(v) => v.len(),
        }
    }
}

fn skipped_report(sheet: &str, why: String) -> SheetReport {
    SheetReport {
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
        unmapped_columns: Vec::new(),
        categories_from_spec: 0,
        warnings: Vec::new(),
    }
}

/// 1/rate for a rate quoted the other way round (`None` for zero or a negative rate, which no
/// quote can be).
fn invert_rate(rate: Decimal) -> Option<Decimal> {
    if rate <= Decimal::ZERO {
        return None;
    }
    Decimal::ONE.checked_div(rate).map(|r| r.normalize())
}

/// Canonical field ids (indexes into a sheet's column table), named as in header_aliases.toml.
mod f {
    pub const MONTH: usize = 0;
    pub const COUNTRY: usize = 1;
    pub const CUSTOMER: usize = 2;
    pub const CATEGORY: usize = 3;
    pub const SPEC: usize = 4;
    pub const QUANTITY: usize = 5;
    pub const AMOUNT: usize = 6;
    pub const CURRENCY: usize = 7;
    pub const OWNER: usize = 8;
    pub const TARGET_QUANTITY: usize = 9;
    pub const TARGET_AMOUNT: usize = 10;
    pub const CONTRACT_NO: usize = 11;
    pub const CONTRACT_AMOUNT: usize = 12;
    pub const PAYMENT_TERMS: usize = 13;
    pub const PAYMENT_NODE: usize = 14;
    pub const DUE_AMOUNT: usize = 15;
    pub const DUE_DATE: usize = 16;
    pub const PAID_AMOUNT: usize = 17;
    pub const PAID_DATE: usize = 18;
    pub const GOODS_READY_DATE: usize = 19;
    pub const SHIPPING_STATUS: usize = 20;
    pub const USD_RATE: usize = 21;
    pub const NAMES: [&str; 22] = [
        "month",
        "country",
        "customer",
        "category",
        "spec",
        "quantity",
        "amount",
        "currency",
        "owner",
        "target_quantity",
        "target_amount",
        "contract_no",
        "contract_amount",
        "payment_terms",
        "payment_node",
        "due_amount",
        "due_date",
        "paid_amount",
        "paid_date",
        "goods_ready_date",
        "shipping_status",
        "usd_rate",
    ];
    /// Numeric fields (a header unit's multiplier applies).
    pub const NUMERIC: [usize; 7] =
        [QUANTITY, AMOUNT, TARGET_QUANTITY, TARGET_AMOUNT, CONTRACT_AMOUNT, DUE_AMOUNT, PAID_AMOUNT];
    /// Money fields (a header unit's currency applies).
    pub const MONEY: [usize; 5] = [AMOUNT, TARGET_AMOUNT, CONTRACT_AMOUNT, DUE_AMOUNT, PAID_AMOUNT];
    pub fn id(name: &str) -> Option<usize> {
        NAMES.iter().position(|n| *n == name)
    }
}

/// A problem with one cell that sends its row to the quarantine.
struct Bad {
    field: usize,
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
    month_strings: Vec<(Month, String)>,
    unresolved: [BTreeMap<String, u64>; 4],
    receivable_keys: HashSet<(String, String, Option<String>)>,
    fx_keys: HashSet<(String, String)>,
    /// Rows of the current sheet whose 品类 came from their 规格.
    categories_from_spec: u64,
    /// The current fx sheet's rate header quotes local currency per USD: rates are inverted.
    fx_inverted_header: bool,
    /// Rates of the current fx sheet inverted by the plausibility guard: (currency, month, as
    /// written, stored).
    fx_guarded: Vec<(String, String, Decimal, Decimal)>,
}

const U_COUNTRY: usize = 0;
const U_CUSTOMER: usize = 1;
const U_SPEC: usize = 2;
const U_CATEGORY: usize = 3;

/// Reads the mapped cells of one data row, filling merged key cells from the merge's top-left.
struct RowView<'a> {
    cells: &'a [Data],
    abs_row: u32,
    /// field id → column index within the used range
    cols: &'a [Option<usize>; f::NAMES.len()],
    sheet: &'a SheetGrid,
    fill: &'a HashMap<(u32, u32), (u32, u32)>,
    origin_col: u32,
    /// field id → multiplier from the header's unit (`销售额(万美元)` → 10,000)
    scale: &'a [Option<Decimal>; f::NAMES.len()],
    /// The currency the headers' units name (`销售额(RUB)`), the default for a blank 币种.
    unit_currency: Option<&'a str>,
}

const EMPTY: Data = Data::Empty;

impl<'a> RowView<'a> {
    fn get(&self, field: usize) -> &'a Data {
        let Some(c) = self.cols[field] else {
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
    fn has(&self, field: usize) -> bool {
        self.cols[field].is_some()
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
            month_strings: Vec::new(),
            unresolved: Default::default(),
            receivable_keys: HashSet::new(),
            fx_keys: HashSet::new(),
            categories_from_spec: 0,
            fx_inverted_header: false,
            fx_guarded: Vec::new(),
        }
    }

    /// Cleans one data sheet, sending its rows to the writer in chunks. `None` when the writer
    /// has stopped (its error is the import's error).
    fn sheet(&mut self, sheet: &SheetGrid, l: &Layout, idx: usize, out: &mpsc::SyncSender<Msg>) -> Option<SheetReport> {
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
        let mut report = skipped_report(&sheet.name, String::new());
        report.kind = Some(l.kind);
        report.header_row = Some(l.header_row_abs + 1);
        report.status = "imported".into();
        report.skip_reason = None;
        let mut months: BTreeSet<String> = BTreeSet::new();
        let mut quarantine = Vec::new();
        let mut rows = Rows::empty(l.kind);
        let mut cols = [None; f::NAMES.len()];
        let mut mapped: Vec<usize> = Vec::new();
        for (field, c) in &l.columns {
            if let Some(id) = f::id(field) {
                cols[id] = Some(*c);
                mapped.push(id);
            }
        }
        // units written in the headers: a multiplier for numbers (万美元), a currency for amounts
        // when the row has none (销售额(RUB))
        let mut scale: [Option<Decimal>; f::NAMES.len()] = [None; f::NAMES.len()];
        let mut unit_currency: Option<String> = None;
        for (field, unit) in &l.units {
            let Some(id) = f::id(field) else { continue };
            if !f::NUMERIC.contains(&id) {
                continue;
            }
            let u = clean::parse_header_unit(unit);
            if u.scale != Decimal::ONE {
                scale[id] = Some(u.scale);
            }
            if f::MONEY.contains(&id) && unit_currency.is_none() {
                unit_currency = u.currency;
            }
        }
        if !l.unmapped.is_empty() {
            report.unmapped_columns = l.unmapped.clone();
            report.warnings.push(format!(
                "sheet \"{}\": column(s) {} match no {} header and were not imported",
                sheet.name,
                l.unmapped.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", "),
                l.kind
            ));
        }
        self.fx_inverted_header = false;
        if l.kind == RecordKind::Fx {
            if let Some(h) = l.header("usd_rate").filter(|h| clean::fx_header_is_local_per_usd(h)) {
                self.fx_inverted_header = true;
                report.warnings.push(format!(
                    "sheet \"{}\": the rate column \"{h}\" quotes local currency per USD; each rate was inverted (1/rate) and stored as 对美元汇率 (USD per unit of the currency)",
                    sheet.name
                ));
            }
        }
        let labels: Vec<usize> = l.kind.label_fields().iter().filter_map(|n| f::id(n)).collect();
        // label columns every data row fills: a row mentioning "Total" with one of them blank is a
        // subtotal, one with all of them filled is data (the customer `Total Logistics LLP`)
        let required_labels: Vec<usize> = labels
            .iter()
            .copied()
            .filter(|&id| l.kind.required().iter().any(|g| g.len() == 1 && g[0] == f::NAMES[id]) && cols[id].is_some())
            .collect();
        for (i, cells) in sheet.rows().enumerate().skip(l.header_index + 1) {
            let abs_row = origin.0 + i as u32;
            let row = RowView {
                cells,
                abs_row,
                cols: &cols,
                sheet,
                fill: &fill,
                origin_col: origin.1,
                scale: &scale,
                unit_currency: unit_currency.as_deref(),
            };
            report.rows_read += 1;
            if mapped.iter().all(|&f| is_blank(row.get(f))) {
                report.blank_rows += 1;
                continue;
            }
            let labelled_total =
                labels.iter().any(|&f| matches!(row.get(f), Data::String(s) if clean::is_subtotal_label(s)))
                    || (labels.iter().any(|&f| matches!(row.get(f), Data::String(s) if clean::mentions_subtotal(s)))
                        && required_labels.iter().any(|&f| is_blank(row.get(f))));
            let unlabelled_total = matches!(l.kind, RecordKind::Sales | RecordKind::Targets)
                && labels.iter().all(|&f| is_blank(row.get(f)));
            if labelled_total || unlabelled_total {
                report.subtotal_rows += 1;
                continue;
            }
            let row_no = abs_row as i64 + 1;
            let result = match &mut rows {
                Rows::Sales(v) => self.sales(&row, &sheet.name, row_no).map(|r| {
                    if !months.contains(&r.month) {
                        months.insert(r.month.clone());
                    }
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
            };
            match result {
                Ok(()) => {
                    report.imported += 1;
                    if rows.len() >= CHUNK {
                        let full = std::mem::replace(&mut rows, Rows::empty(l.kind));
                        out.send(Msg::Rows(idx, full)).ok()?;
                    }
                }
                Err(bad) => {
                    report.quarantined += 1;
                    *report.quarantine_reasons.entry(bad.reason.to_string()).or_default() += 1;
                    let header = l
                        .header(f::NAMES[bad.field])
                        .map(str::to_string)
                        .or_else(|| {
                            cols[bad.field]
                                .and_then(|c| sheet.range.get_value((l.header_row_abs, origin.1 + c as u32)))
                                .map(cell_clean)
                        })
                        .unwrap_or_else(|| {
                            layout::label(&self.dicts.header_aliases, l.kind, f::NAMES[bad.field]).to_string()
                        });
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
        let guarded = std::mem::take(&mut self.fx_guarded);
        const SHOWN: usize = 20;
        for (currency, month, written, stored) in guarded.iter().take(SHOWN) {
            let (w, st) = (decimal_string(*written), decimal_string(*stored));
            report.warnings.push(if self.fx_inverted_header {
                format!(
                    "sheet \"{}\": {currency} {month}: rate {w} read as {currency} per USD would make 1 {currency} worth more than 1 USD, so it was kept as written: {st} USD per {currency}",
                    sheet.name
                )
            } else {
                format!(
                    "sheet \"{}\": {currency} {month}: rate {w} would make 1 {currency} worth more than 1 USD, so it was read as {currency} per USD and inverted to {st} (USD per {currency})",
                    sheet.name
                )
            });
        }
        if guarded.len() > SHOWN {
            report.warnings.push(format!(
                "sheet \"{}\": {} more implausible rate(s) inverted the same way",
                sheet.name,
                guarded.len() - SHOWN
            ));
        }
        report.skipped_rows = report.subtotal_rows + report.blank_rows;
        report.categories_from_spec = std::mem::take(&mut self.categories_from_spec);
        if report.categories_from_spec > 0 {
            report.warnings.push(format!(
                "sheet \"{}\": {} row(s) had an empty or unknown 品类; it was taken from their 规格 in the spec catalogue",
                sheet.name, report.categories_from_spec
            ));
        }
        report.months = months.into_iter().collect();
        if rows.len() > 0 {
            out.send(Msg::Rows(idx, rows)).ok()?;
        }
        if !quarantine.is_empty() {
            out.send(Msg::Quarantine(quarantine)).ok()?;
        }
        out.send(Msg::SheetDone(idx, l.kind, report.months.clone())).ok()?;
        Some(report)
    }

    fn text(&self, row: &RowView<'_>, field: usize) -> Result<String, Bad> {
        let d = row.get(field);
        let t = cell_clean(d);
        if t.is_empty() {
            return Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        Ok(t)
    }

    /// An optional text cell; blank or an empty marker (`—`, `N/A`, `无` …) is `None`.
    fn opt_text(&self, row: &RowView<'_>, field: usize) -> Option<String> {
        let t = cell_clean(row.get(field));
        if t.is_empty() || clean::is_empty_marker(&t) {
            None
        } else {
            Some(t)
        }
    }

    fn month(&mut self, row: &RowView<'_>, field: usize) -> Result<String, Bad> {
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
        m.map(|m| self.month_string(m)).ok_or_else(|| Bad {
            field,
            raw: clean::cell_text(d),
            reason: reason::BAD_MONTH,
        })
    }

    /// `YYYY-MM` text of a month (formatted once per distinct month).
    fn month_string(&mut self, m: Month) -> String {
        if let Some((_, s)) = self.month_strings.iter().find(|(k, _)| *k == m) {
            return s.clone();
        }
        let s = m.to_string();
        self.month_strings.push((m, s.clone()));
        s
    }

    fn number(&self, row: &RowView<'_>, field: usize) -> Result<String, Bad> {
        let d = row.get(field);
        if is_blank(d) {
            return Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        let v = cell_decimal(d).ok_or_else(|| Bad { field, raw: clean::cell_text(d), reason: reason::BAD_NUMBER })?;
        let v = match row.scale[field] {
            Some(m) => {
                v.checked_mul(m).ok_or_else(|| Bad { field, raw: clean::cell_text(d), reason: reason::BAD_NUMBER })?
            }
            None => v,
        };
        Ok(decimal_string(v))
    }

    /// An optional number; blank or an empty marker (`—`, `-`, `N/A`, `/`, `无` …) is `None`.
    fn opt_number(&self, row: &RowView<'_>, field: usize) -> Result<Option<String>, Bad> {
        if clean::is_blank_or_marker(row.get(field)) {
            Ok(None)
        } else {
            self.number(row, field).map(Some)
        }
    }

    fn opt_date(&self, row: &RowView<'_>, field: usize) -> Result<Option<String>, Bad> {
        let d = row.get(field);
        if clean::is_blank_or_marker(d) {
            return Ok(None);
        }
        match cell_date(d) {
            Some(date) => Ok(Some(date.format("%Y-%m-%d").to_string())),
            None => {
                // 未定 / TBD mean "no date yet" too
                let t = lodestar_core::text::norm_key(&clean::cell_text(d));
                if matches!(t.as_str(), "未定" | "待定" | "tbd") {
                    Ok(None)
                } else {
                    Err(Bad { field, raw: clean::cell_text(d), reason: reason::BAD_DATE })
                }
            }
        }
    }

    fn currency(&self, row: &RowView<'_>, field: usize, default: Option<&str>) -> Result<String, Bad> {
        let d = row.get(field);
        let text = clean::cell_text(d);
        let text = if clean::is_empty_marker(&text) { String::new() } else { text };
        match clean::normalize_currency(&text) {
            Ok(Some(c)) => Ok(c),
            Ok(None) => match default {
                Some(c) => Ok(c.to_string()),
                None => Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE }),
            },
            Err(clean::UnknownCurrency) => Err(Bad { field, raw: clean::cell_text(d), reason: reason::BAD_CURRENCY }),
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
            if !self.check(which, name) {
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
        let month = self.month(row, f::MONTH)?;
        let country = self.text(row, f::COUNTRY)?;
        let customer = self.text(row, f::CUSTOMER)?;
        let category_raw = self.opt_text(row, f::CATEGORY);
        if category_raw.is_none() && is_blank(row.get(f::SPEC)) {
            return Err(Bad { field: f::CATEGORY, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        let spec_raw = self.text(row, f::SPEC)?;
        let quantity = self.number(row, f::QUANTITY)?;
        let amount = self.number(row, f::AMOUNT)?;
        let currency = self.currency(row, f::CURRENCY, Some(row.unit_currency.unwrap_or("USD")))?;
        let owner = self.opt_text(row, f::OWNER);
        let (spec, known) = self.spec(&spec_raw);
        // an empty or unknown 品类 is taken from the catalogue entry of a known 规格
        let category = match category_raw {
            Some(c) if self.check(U_CATEGORY, &c) => c,
            other => match self.dicts.resolve_spec(&spec).map(|s| s.category.clone()) {
                Some(code) if known && !code.is_empty() => {
                    self.categories_from_spec += 1;
                    code
                }
                _ => other.ok_or(Bad { field: f::CATEGORY, raw: String::new(), reason: reason::MISSING_VALUE })?,
            },
        };
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
        let month = self.month(row, f::MONTH)?;
        let country = self.text(row, f::COUNTRY)?;
        let category = self.opt_text(row, f::CATEGORY);
        let customer = self.opt_text(row, f::CUSTOMER);
        let target_quantity = self.opt_number(row, f::TARGET_QUANTITY)?;
        let target_amount = self.opt_number(row, f::TARGET_AMOUNT)?;
        if target_quantity.is_none() && target_amount.is_none() {
            let field = if row.has(f::TARGET_QUANTITY) { f::TARGET_QUANTITY } else { f::TARGET_AMOUNT };
            return Err(Bad { field, raw: String::new(), reason: reason::MISSING_VALUE });
        }
        let currency = self.currency(row, f::CURRENCY, Some(row.unit_currency.unwrap_or("USD")))?;
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
        let contract_no = self.text(row, f::CONTRACT_NO)?;
        let customer = self.text(row, f::CUSTOMER)?;
        let country = self.text(row, f::COUNTRY)?;
        let currency = self.currency(row, f::CURRENCY, Some(row.unit_currency.unwrap_or("USD")))?;
        let contract_amount = self.opt_number(row, f::CONTRACT_AMOUNT)?;
        let payment_terms = self.opt_text(row, f::PAYMENT_TERMS);
        let payment_node = clean::normalize_payment_node(&self.text(row, f::PAYMENT_NODE)?);
        let due_amount = self.number(row, f::DUE_AMOUNT)?;
        let due_date = self.opt_date(row, f::DUE_DATE)?;
        let paid_amount = self.opt_number(row, f::PAID_AMOUNT)?.unwrap_or_else(|| "0".to_string());
        let paid_date = self.opt_date(row, f::PAID_DATE)?;
        let goods_ready_date = self.opt_date(row, f::GOODS_READY_DATE)?;
        let shipping_status = self.opt_text(row, f::SHIPPING_STATUS).map(|s| clean::normalize_shipping_status(&s));
        let key = (contract_no.clone(), payment_node.clone(), due_date.clone());
        if !self.receivable_keys.insert(key) {
            return Err(Bad {
                field: f::CONTRACT_NO,
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

    /// One fx (汇率) row. The stored rate is always 对美元汇率, USD per unit of the currency
    /// (DESIGN 口径). Rates quoted the other way round are turned around, each with a warning:
    /// - a rate header whose unit says local currency per USD (`汇率(本币/USD)`, `本币/美元`,
    ///   `RUB/USD`, `1美元兑本币`, `per USD`) → every rate of the sheet is stored as 1/rate;
    /// - plausibility guard: for a currency certainly worth less than a dollar
    ///   ([`clean::BELOW_ONE_USD`]: RUB KZT UZS KGS TJS AMD AZN GEL BYN CNY JPY KRW) a rate above 1
    ///   is local currency per USD and is stored as 1/rate (the warning names currency, month and
    ///   both values). EUR, GBP, CHF, USD and other currencies are never turned around.
    fn fx(&mut self, row: &RowView<'_>) -> Result<FxRecord, Bad> {
        let month = self.month(row, f::MONTH)?;
        let currency = self.currency(row, f::CURRENCY, None)?;
        let written = self.number(row, f::USD_RATE)?;
        let bad =
            || Bad { field: f::USD_RATE, raw: clean::cell_text(row.get(f::USD_RATE)), reason: reason::BAD_NUMBER };
        let original = Decimal::from_str_exact(&written).map_err(|_| bad())?;
        let mut rate = original;
        // a header quoting local currency per USD (汇率(本币/USD), 1美元兑本币): 1/rate
        if self.fx_inverted_header {
            rate = invert_rate(rate).ok_or_else(bad)?;
        }
        // plausibility: a currency certainly worth less than a dollar cannot have a rate above 1
        // USD per unit — the number is local currency per USD, so it is inverted (or, under a
        // local-per-USD header, it was written as USD per unit after all and is kept as written)
        if rate > Decimal::ONE && clean::BELOW_ONE_USD.contains(&currency.as_str()) {
            let stored = if self.fx_inverted_header { original } else { invert_rate(rate).ok_or_else(bad)? };
            self.fx_guarded.push((currency.clone(), month.clone(), original, stored));
            rate = stored;
        }
        if !self.fx_keys.insert((month.clone(), currency.clone())) {
            return Err(Bad { field: f::CURRENCY, raw: format!("{month} {currency}"), reason: reason::DUPLICATE_KEY });
        }
        Ok(FxRecord { month, currency, usd_rate: decimal_string(rate) })
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
