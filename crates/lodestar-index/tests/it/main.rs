//! The integration tests of lodestar-index, built as one test binary (one module per area).

mod index;
mod limits;
mod readers;
