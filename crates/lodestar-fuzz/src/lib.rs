//! `lodestar-fuzz`: a fuzz harness on stable Rust for the readers that take user files —
//! workbooks ([`lodestar_ingest::import_file`]: `.xlsx` `.xlsm` `.xls` `.ods` `.csv`), customer and
//! staff lists ([`lodestar_ingest::dictfile`]: CSV), minutes
//! ([`lodestar_ledger::text::read_minutes`] and the action-item extraction: `.md` `.txt` `.docx`)
//! and knowledge documents ([`lodestar_index::reader`] and the chunker: `.md` `.txt` `.docx`
//! `.xlsx` `.pdf` …).
//!
//! Inputs come from a deterministic mutation engine ([`mutate`]) over seeds built in code
//! ([`seeds`]). Each input runs in a worker process ([`harness`]) under a per-input time limit
//! and a memory cap ([`alloc`]); a panic, a crash, a hang, an allocation past the cap or an
//! error that does not name the file is a failure, saved with its input.

pub mod alloc;
pub mod harness;
pub mod mutate;
pub mod rng;
pub mod seeds;
pub mod target;
pub mod zipkit;

/// The readers under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reader {
    Workbook = 1,
    Csv = 2,
    Minutes = 3,
    Knowledge = 4,
}

impl Reader {
    pub const ALL: [Reader; 4] = [Reader::Workbook, Reader::Csv, Reader::Minutes, Reader::Knowledge];

    pub fn name(self) -> &'static str {
        match self {
            Reader::Workbook => "workbook",
            Reader::Csv => "csv",
            Reader::Minutes => "minutes",
            Reader::Knowledge => "knowledge",
        }
    }

    /// A reader by name, or by an alias: `xlsx` for workbook, `kb` for knowledge.
    pub fn parse(s: &str) -> Option<Reader> {
        match s {
            "xlsx" => Some(Reader::Workbook),
            "kb" => Some(Reader::Knowledge),
            _ => Reader::ALL.into_iter().find(|r| r.name() == s),
        }
    }

    /// File extensions the reader is fed (an input may be renamed to any of them).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Reader::Workbook => &["xlsx", "xlsm", "xls", "ods", "csv"],
            Reader::Csv => &["csv"],
            Reader::Minutes => &["md", "txt", "docx"],
            Reader::Knowledge => &["md", "txt", "docx", "xlsx", "xls", "ods", "pdf"],
        }
    }
}

impl std::fmt::Display for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
