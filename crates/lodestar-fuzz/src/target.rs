//! Running one input through a reader, the way the application does: the bytes are written to a
//! file named `fuzz-input.<ext>` and the reader is called on its path.
//!
//! * workbook: [`lodestar_ingest::import_file`] into an in-memory store (reading, layout
//!   detection, cleaning, the import transaction);
//! * csv: [`lodestar_ingest::dictfile::import_dictionary`] into a scratch dictionary folder;
//! * minutes: [`lodestar_ledger::text::read_minutes`], then [`lodestar_ledger::extract`];
//! * knowledge: [`lodestar_index::reader::read_file`], then
//!   [`lodestar_index::chunker::chunk_markdown`] and the index's chunk limit.
//!
//! Success and typed errors are both fine; an error must name the file, though (a user with ten
//! files open needs to know which one failed).

use crate::Reader;
use lodestar_dict::Dictionaries;
use std::path::{Path, PathBuf};

/// The stem of every input file; errors are expected to mention it.
pub const INPUT_STEM: &str = "fuzz-input";

/// What a reader did with an input that is not a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Read; a short summary.
    Read(String),
    /// Refused with a typed error that names the file.
    Refused(String),
}

/// Dictionaries and a scratch folder, shared by all inputs of a worker.
pub struct Context {
    pub dicts: Dictionaries,
    pub dir: PathBuf,
}

impl Context {
    pub fn new(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let dicts = Dictionaries::builtin().map_err(|e| e.to_string())?;
        Ok(Self { dicts, dir: dir.to_path_buf() })
    }
}

/// Runs one input. `Err` is a failure of the error-context kind (the reader returned an error that
/// does not say which file); panics propagate to the caller.
pub fn run(ctx: &Context, reader: Reader, ext: &str, bytes: &[u8]) -> Result<Outcome, String> {
    let ext = if ext.chars().all(|c| c.is_ascii_alphanumeric()) { ext } else { "bin" };
    let path = ctx.dir.join(format!("{INPUT_STEM}.{ext}"));
    std::fs::write(&path, bytes).map_err(|e| format!("harness: cannot write {}: {e}", path.display()))?;
    let res = match reader {
        Reader::Workbook => workbook(ctx, &path),
        Reader::Csv => csv(ctx, &path),
        Reader::Minutes => minutes(ctx, &path),
        Reader::Knowledge => knowledge(&path),
    };
    match res {
        Ok(summary) => Ok(Outcome::Read(summary)),
        Err(msg) if msg.contains(INPUT_STEM) => Ok(Outcome::Refused(msg)),
        Err(msg) => Err(msg),
    }
}

fn workbook(ctx: &Context, path: &Path) -> Result<String, String> {
    let mut store =
        lodestar_store::Store::open_in_memory().map_err(|e| format!("harness: store: {e} ({INPUT_STEM})"))?;
    let r = lodestar_ingest::import_file(&mut store, &ctx.dicts, path, &lodestar_ingest::ImportOptions::default())
        .map_err(|e| e.to_string())?;
    Ok(format!("{} imported, {} quarantined, {} sheets", r.imported, r.quarantined, r.sheets.len()))
}

fn csv(ctx: &Context, path: &Path) -> Result<String, String> {
    let out = ctx.dir.join("dictionaries");
    let r = lodestar_ingest::dictfile::import_dictionary(&ctx.dicts, path, &out).map_err(|e| e.to_string())?;
    Ok(format!("{:?}: {} rows, {} added, {} updated", r.list, r.rows, r.added, r.updated))
}

fn minutes(ctx: &Context, path: &Path) -> Result<String, String> {
    let text = lodestar_ledger::text::read_minutes(path).map_err(|e| e.to_string())?;
    let meeting = chrono::NaiveDate::from_ymd_opt(2026, 9, 7).expect("valid date");
    let items = lodestar_ledger::extract(&text, meeting, &ctx.dicts, None);
    Ok(format!("{} chars, {} action items", text.chars().count(), items.len()))
}

fn knowledge(path: &Path) -> Result<String, String> {
    let src = lodestar_index::reader::read_file(path).map_err(|e| e.to_string())?;
    let title = src.meta.title.clone().unwrap_or_else(|| INPUT_STEM.to_string());
    let chunks = lodestar_index::chunker::chunk_markdown(&src.body, &title, Default::default());
    // as the index does before embedding anything
    lodestar_core::ReadLimits::default()
        .check_chunks(chunks.len() as u64)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!("{} chars, {} chunks", src.body.chars().count(), chunks.len()))
}
