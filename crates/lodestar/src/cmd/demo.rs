//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct DemoArgs {}

pub fn run(_ctx: &Ctx, _args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
