//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct EmbedArgs {}

pub fn run(_ctx: &Ctx, _args: EmbedArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
