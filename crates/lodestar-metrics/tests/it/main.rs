//! The integration tests of lodestar-metrics, built as one test binary (one module per area;
//! `common` holds the fixture helpers they share).

mod common;

mod alerts;
mod golden;
mod props;
