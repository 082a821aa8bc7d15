//! One module per command family; each is owned by the library crate it fronts.

pub mod ask;
pub mod batch;
pub mod bench_llm;
pub mod compare;
pub mod demo;
pub mod draft;
pub mod embed;
pub mod generate;
pub mod import;
pub mod kb;
pub mod metrics;
pub mod minutes;
pub mod models;
pub mod serve;
pub mod user;
