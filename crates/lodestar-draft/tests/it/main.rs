//! The integration tests of lodestar-draft, built as one test binary (one module per area).

mod drafts;
