//! The integration tests of lodestar-remote, built as one test binary (one module per area).

mod fake_server;
