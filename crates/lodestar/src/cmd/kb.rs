//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct KbArgs {}

pub fn run_kb(_ctx: &Ctx, _args: KbArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct IndexArgs {}

pub fn run_index(_ctx: &Ctx, _args: IndexArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct SearchArgs {}

pub fn run_search(_ctx: &Ctx, _args: SearchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchRetrievalArgs {}

pub fn run_bench_retrieval(_ctx: &Ctx, _args: BenchRetrievalArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchIndexArgs {}

pub fn run_bench_index(_ctx: &Ctx, _args: BenchIndexArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
