//! Seeding a database with the demo data (演示数据入库): the workbooks [`crate::generate`] wrote,
//! imported in [`crate::IMPORT_ORDER`] through the same importer as `lodestar import`, one batch
//! (one transaction) per file. `lodestar demo` and the bench home (`lodestar-bench`) both seed
//! through [`import_workbooks`]; nothing rebuilds a command line to do it.

use crate::{DemoError, DemoFile, DemoManifest, DemoOptions};
use lodestar_dict::Dictionaries;
use lodestar_ingest::{ImportOptions, ImportReport};
use lodestar_store::Store;
use std::path::{Path, PathBuf};

/// Errors of [`seed`] and [`import_workbooks`].
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The workbooks could not be generated.
    #[error(transparent)]
    Demo(#[from] Box<DemoError>),
    /// A workbook could not be imported; the batches before it stay stored.
    #[error("import of {} failed; nothing of it was stored", file.display())]
    Import {
        /// The workbook.
        file: PathBuf,
        /// The importer's error (boxed: it is large).
        #[source]
        source: Box<lodestar_ingest::IngestError>,
    },
}

/// Imports the workbooks of `manifest` into `store` in [`crate::IMPORT_ORDER`] with `opts`,
/// handing each file's report to `on_report` as soon as it is stored. A re-run imports nothing:
/// the importer recognizes byte-identical files.
pub fn import_workbooks(
    store: &mut Store,
    dicts: &Dictionaries,
    manifest: &DemoManifest,
    opts: &ImportOptions,
    on_report: &mut dyn FnMut(&DemoFile, &ImportReport),
) -> Result<Vec<ImportReport>, SeedError> {
    let mut reports = Vec::new();
    for f in manifest.in_import_order() {
        let r = lodestar_ingest::import_file(store, dicts, &f.path, opts)
            .map_err(|e| SeedError::Import { file: f.path.clone(), source: Box::new(e) })?;
        on_report(f, &r);
        reports.push(r);
    }
    Ok(reports)
}

/// Writes the demo workbooks for `demo` to `dir` and imports them into `store` (see
/// [`import_workbooks`]).
pub fn seed(
    store: &mut Store,
    dicts: &Dictionaries,
    dir: &Path,
    demo: &DemoOptions,
    opts: &ImportOptions,
) -> Result<(DemoManifest, Vec<ImportReport>), SeedError> {
    let manifest = crate::generate(dir, demo).map_err(Box::new)?;
    let reports = import_workbooks(store, dicts, &manifest, opts, &mut |_, _| {})?;
    Ok((manifest, reports))
}
