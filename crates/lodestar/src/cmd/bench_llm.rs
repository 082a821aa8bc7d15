//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct BenchLlmArgs {}

pub fn run_llm(_ctx: &Ctx, _args: BenchLlmArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchEmbedArgs {}

pub fn run_embed(_ctx: &Ctx, _args: BenchEmbedArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
