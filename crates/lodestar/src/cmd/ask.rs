//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct AskArgs {}

pub fn run_ask(_ctx: &Ctx, _args: AskArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchQaArgs {}

pub fn run_bench_qa(_ctx: &Ctx, _args: BenchQaArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
