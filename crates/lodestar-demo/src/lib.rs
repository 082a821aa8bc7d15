//! `lodestar-demo`: writes realistic, deterministic demo workbooks for the fictional company 北辰轮胎
//! (Beichen Tyre), in the export formats that `lodestar import` reads.
//!
//! [`generate`] writes five workbooks into a folder: `sales.xlsx` (销售明细), `targets.xlsx` (目标),
//! `receivables.xlsx` (合同回款), `fx.xlsx` (汇率) and `messy_sales.xlsx`, a deliberately untidy
//! re-export of the end month that exercises the cleaner. The same [`DemoOptions`] always give
//! byte-identical files. [`build`] returns the same records in memory (for tests and fact sheets).
//!
//! The data follow the dictionaries (`dictionaries/*.csv`) and the customer dossiers
//! (`knowledge/customer/*.md`): payment terms, credit limits and the receivable events the dossiers
//! tell of (Sibir Logistics 30 % 预付 / 70 % 见提单, the Ob Agrotech dispute, …) are scripted relative
//! to the end month, so with the default end month 2026-10 they fall on the dossiers' dates.
//!
//! ```no_run
//! use lodestar_demo::{generate, DemoOptions};
//! let manifest = generate(std::path::Path::new("demo-data"), &DemoOptions::default()).unwrap();
//! for f in &manifest.files {
//!     println!("{} {} rows ({})", f.file, f.rows, f.note);
//! }
//! ```

pub mod knowledge;
pub mod model;
mod profiles;
mod receivables;
mod sales;
pub mod seed;
mod targets;
mod write;

pub use model::{FxRate, Installment, PaymentNode, SaleRow, ShippingStatus, TargetRow};

use chrono::NaiveDate;
use lodestar_core::Month;
use lodestar_dict::Dictionaries;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// The last month with sales (default 2026-10, which the evaluation sets assume).
    pub end_month: Month,
    /// How many months of sales, ending at `end_month` (default 24).
    pub months: usize,
    /// Seed of the random generator.
    pub seed: u64,
}

/// The default seed.
pub const DEFAULT_SEED: u64 = 20_261_031;

impl Default for DemoOptions {
    fn default() -> Self {
        Self { end_month: Month { year: 2026, month: 10 }, months: 24, seed: DEFAULT_SEED }
    }
}

/// Errors of the demo generator.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A folder or file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A workbook could not be written.
    #[error("cannot write workbook {path}: {source}")]
    Xlsx {
        /// The workbook.
        path: PathBuf,
        /// What the writer said.
        source: rust_xlsxwriter::XlsxError,
    },
    /// The built-in dictionaries could not be loaded.
    #[error("dictionaries: {0}")]
    Dict(#[from] lodestar_dict::DictError),
    /// Options out of range (e.g. `months` not in 1..=120).
    #[error("invalid demo options: {0}")]
    Options(String),
    /// The built-in profiles disagree with the dictionaries (a customer or spec missing, a spec's
    /// category different from specs.csv).
    #[error("demo profile does not match the dictionaries: {0}")]
    Profile(String),
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DemoManifest {
    /// The first month of sales.
    pub first_month: Month,
    /// The last month of sales.
    pub end_month: Month,
    /// Months of sales.
    pub months: usize,
    /// The generator's seed.
    pub seed: u64,
    /// The as-of date the receivables are staged for: the end month's last day.
    pub as_of: NaiveDate,
    /// The workbooks written.
    pub files: Vec<DemoFile>,
}

/// The kinds of demo workbook in the order they must be imported: exchange rates before the
/// sales they convert, targets before sales, the messy export last (it replaces months).
pub const IMPORT_ORDER: [&str; 5] = ["fx", "targets", "sales", "receivables", "messy_sales"];

impl DemoManifest {
    /// The written files in [`IMPORT_ORDER`].
    pub fn in_import_order(&self) -> Vec<&DemoFile> {
        let mut files: Vec<&DemoFile> = self.files.iter().collect();
        files.sort_by_key(|f| IMPORT_ORDER.iter().position(|k| *k == f.kind).unwrap_or(IMPORT_ORDER.len()));
        files
    }
}

/// One written workbook.
#[derive(Debug, Clone, Serialize)]
pub struct DemoFile {
    /// File name inside the output folder, e.g. `sales.xlsx`.
    pub file: String,
    /// Its full path.
    pub path: PathBuf,
    /// `sales`, `targets`, `receivables`, `fx` or `messy_sales` (a sales export).
    pub kind: String,
    /// The data sheet's name.
    pub sheet: String,
    /// Data rows written (the messy workbook: data-looking rows, bad ones included; subtotal and
    /// total rows not counted).
    pub rows: usize,
    /// What the file is for and how to import it.
    pub note: String,
}

/// All generated records.
#[derive(Debug, Clone, Serialize)]
pub struct DemoData {
    /// The first month of sales.
    pub first_month: Month,
    /// The last month of sales.
    pub end_month: Month,
    /// The as-of date the receivables are staged for.
    pub as_of: NaiveDate,
    /// Sales rows (销售明细).
    pub sales: Vec<SaleRow>,
    /// Targets (目标).
    pub targets: Vec<TargetRow>,
    /// Receivable installments (合同/回款).
    pub receivables: Vec<Installment>,
    /// Exchange rates (汇率).
    pub fx: Vec<FxRate>,
}

impl DemoData {
    /// 对美元汇率 of `currency` in `month` (1 for USD).
    pub fn fx_rate(&self, month: Month, currency: &str) -> Option<Decimal> {
        if currency == "USD" {
            return Some(Decimal::ONE);
        }
        self.fx.iter().find(|r| r.month == month && r.currency == currency).map(|r| r.usd_per_unit)
    }
    /// A sales row's amount in USD (amount × the month's rate).
    pub fn amount_usd(&self, row: &SaleRow) -> Option<Decimal> {
        self.fx_rate(row.month, &row.currency).map(|r| row.amount * r)
    }
}

/// The currencies of the fx table besides USD.
pub const FX_CURRENCIES: &[&str] = &["EUR", "RUB", "CNY", "KZT"];

/// Generates every record in memory.
pub fn build(opts: &DemoOptions) -> Result<DemoData, DemoError> {
    if opts.months == 0 || opts.months > 120 {
        return Err(DemoError::Options(format!("months must be 1..=120, got {}", opts.months)));
    }
    let dict = Dictionaries::builtin()?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let first_month = opts.end_month.add(-(opts.months as i64 - 1));
    let as_of = opts.end_month.last_day();
    let fx = sales::fx_table(&mut rng, first_month, opts.months);
    let sales = sales::generate(&dict, &mut rng, first_month, opts.months, &fx)?;
    let mut data = DemoData {
        first_month,
        end_month: opts.end_month,
        as_of,
        sales,
        targets: Vec::new(),
        receivables: Vec::new(),
        fx,
    };
    data.targets = targets::generate(&mut rng, &data);
    data.receivables = receivables::generate(&dict, &mut rng, &data)?;
    Ok(data)
}

/// Generates the demo workbooks into `out_dir` (created if missing) and says what it wrote.
pub fn generate(out_dir: &Path, opts: &DemoOptions) -> Result<DemoManifest, DemoError> {
    let data = build(opts)?;
    let dict = Dictionaries::builtin()?;
    std::fs::create_dir_all(out_dir).map_err(|source| DemoError::Io { path: out_dir.to_path_buf(), source })?;
    let files = vec![
        write::sales(out_dir, &dict, &data)?,
        write::targets(out_dir, &dict, &data)?,
        write::receivables(out_dir, &dict, &data)?,
        write::fx(out_dir, &data)?,
        write::messy_sales(out_dir, &dict, &data)?,
    ];
    Ok(DemoManifest {
        first_month: data.first_month,
        end_month: data.end_month,
        months: opts.months,
        seed: opts.seed,
        as_of: data.as_of,
        files,
    })
}

/// Round half away from zero to two decimals (cents).
pub(crate) fn cents(x: f64) -> Decimal {
    Decimal::new((x * 100.0).round() as i64, 2)
}

#[cfg(test)]
mod tests;
