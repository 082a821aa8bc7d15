//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct GenerateArgs {}

pub fn run(_ctx: &Ctx, _args: GenerateArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
