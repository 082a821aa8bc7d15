//! The integration tests of lodestar-infer, built as one test binary (one module per area;
//! `common` holds the tiny-model builders). `real_models` runs only with `LODESTAR_REAL_MODELS=1`
//! (`scripts/real-model-tests.sh`).

mod common;

mod e5s1;
mod kernel_bounds;
mod real_models;
mod store;
mod tiny_models;
