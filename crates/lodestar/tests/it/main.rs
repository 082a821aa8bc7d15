//! The CLI end to end: each module runs the `lodestar` binary (`CARGO_BIN_EXE_lodestar`) on
//! temporary homes, one module per command family, built as one test binary. `support` holds what
//! they share.

mod support;

mod ask_cli;
mod backup_cli;
mod batch_cli;
mod compare_cli;
mod crash_cli;
mod import_cli;
mod ledger_cli;
mod limits_cli;
mod metrics_cli;
mod remote_cli;
mod search_cli;
mod serve_cli;
