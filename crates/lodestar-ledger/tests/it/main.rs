//! The integration tests of lodestar-ledger, built as one test binary (one module per area).

mod held_out_rules;
