//! `lodestar-ingest`: reads messy Excel exports (sales 销售明细, targets 目标, receivables 合同/回款,
//! fx 汇率), cleans them against the dictionaries, quarantines bad rows and imports them into the
//! store as batches.
//!
//! The pipeline mirrors the module tree: [`workbook`] (calamine: `.xlsx` `.xlsm` `.xls` `.ods`,
//! plus `.csv`) → [`layout`] (header row anywhere in the first 30 rows, record kind from the header
//! aliases) → [`clean`] (full-width digits, thousands separators, text numbers, every month/date
//! form, subtotal rows) → [`import`] (one transaction per file: batch, replacement of the months a
//! newer export covers, receivables updated in place, quarantine, audit) → [`ImportReport`].
//! [`dictfile`] imports a user's customer/staff list and checks unresolved names. (The import
//! benchmark lives in `lodestar-bench`.)
//!
//! ```no_run
//! use lodestar_ingest::{import_file, ImportOptions};
//! let mut store = lodestar_store::Store::open(std::path::Path::new("/tmp/home/lodestar.db")).unwrap();
//! let dicts = lodestar_dict::Dictionaries::builtin().unwrap();
//! let report = import_file(&mut store, &dicts, "sales-2026-09.xlsx".as_ref(), &ImportOptions::default()).unwrap();
//! println!("imported {} rows, quarantined {}", report.imported, report.quarantined);
//! ```

// Not every public item here is documented yet: `missing_docs` (workspace lints) is on for the
// crates whose items all are, and this allow goes when this crate's are.
#![allow(missing_docs)]

pub mod clean;
pub mod dictfile;
pub mod import;
pub mod layout;
pub mod workbook;

pub use import::{import_file, ImportOptions, ImportReport, SheetReport, Unresolved, UnresolvedName};
pub use layout::{LookalikeColumn, MissingColumn, RecordKind};

/// Errors of an import or a dictionary import. Bad rows are not errors (they go to the
/// quarantine); these stop the whole file, and nothing of it is stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file cannot be opened or is not a workbook.
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    /// A data sheet lacks required columns.
    #[error(
        "{file}, sheet \"{sheet}\" (header row {header_row}) looks like {kind} data but lacks required column(s): {}. Headers seen: {}",
        missing.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("; "),
        seen.join(", ")
    )]
    MissingColumns {
        file: String,
        sheet: String,
        kind: RecordKind,
        header_row: u32,
        missing: Vec<MissingColumn>,
        seen: Vec<String>,
    },
    /// A data sheet has a column that looks like a currency, paid-amount or target column but
    /// matches no known header: importing it would silently default (USD / 0 / null).
    #[error(
        "{file}, sheet \"{sheet}\" (header row {header_row}, {kind} data): column(s) {} look like {} but match no known header, so they would be ignored and defaulted. Add the spelling to header_aliases.toml (or rename the column)",
        columns.iter().map(|c| format!("\"{}\"", c.header)).collect::<Vec<_>>().join(", "),
        columns.iter().map(|c| format!("{} ({})", c.column, c.field)).collect::<Vec<_>>().join(", ")
    )]
    LookalikeColumns { file: String, sheet: String, kind: RecordKind, header_row: u32, columns: Vec<LookalikeColumn> },
    #[error(transparent)]
    Store(#[from] lodestar_store::StoreError),
    #[error(transparent)]
    Dict(#[from] lodestar_dict::DictError),
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}
