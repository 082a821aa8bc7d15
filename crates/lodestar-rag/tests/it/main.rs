//! The integration tests of lodestar-rag, built as one test binary (one module per area).

mod assistant;
mod routing;
