//! The integration tests of lodestar-ingest, built as one test binary (one module per area;
//! `common` holds the workbook builders they share).

mod common;

mod dictionaries;
mod held_out_quotes;
mod import;
mod limits;
mod messy_headers;
