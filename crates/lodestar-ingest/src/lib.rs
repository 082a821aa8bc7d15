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
    Unreadable {
        /// The file's path.
        path: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// A data sheet lacks required columns.
    #[error(
        "{file}, sheet \"{sheet}\" (header row {header_row}) looks like {kind} data but lacks required column(s): {}. Headers seen: {}",
        missing.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("; "),
        seen.join(", ")
    )]
    MissingColumns {
        /// The file's name.
        file: String,
        /// The sheet's name.
        sheet: String,
        /// The record kind the sheet was recognized as.
        kind: RecordKind,
        /// Excel row number (1-based) of the header row.
        header_row: u32,
        /// The required columns (or column groups) missing.
        missing: Vec<MissingColumn>,
        /// The header texts of the header row.
        seen: Vec<String>,
    },
    /// A data sheet has a column that looks like a currency, paid-amount or target column but
    /// matches no known header: importing it would silently default (USD / 0 / null).
    #[error(
        "{file}, sheet \"{sheet}\" (header row {header_row}, {kind} data): column(s) {} look like {} but match no known header, so they would be ignored and defaulted. Add the spelling to header_aliases.toml (or rename the column)",
        columns.iter().map(|c| format!("\"{}\"", c.header)).collect::<Vec<_>>().join(", "),
        columns.iter().map(|c| format!("{} ({})", c.column, c.field)).collect::<Vec<_>>().join(", ")
    )]
    LookalikeColumns {
        /// The file's name.
        file: String,
        /// The sheet's name.
        sheet: String,
        /// The record kind the sheet was recognized as.
        kind: RecordKind,
        /// Excel row number (1-based) of the header row.
        header_row: u32,
        /// The look-alike columns.
        columns: Vec<LookalikeColumn>,
    },
    /// The database refused (nothing of the file is stored).
    #[error(transparent)]
    Store(#[from] lodestar_store::StoreError),
    /// A dictionary file could not be loaded.
    #[error(transparent)]
    Dict(#[from] lodestar_dict::DictError),
    /// A file (a dictionary written by `dict import`) could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Any other refusal; the message says why.
    #[error("{0}")]
    Invalid(String),
}
