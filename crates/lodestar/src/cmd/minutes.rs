//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct MinutesArgs {}

pub fn run_minutes(_ctx: &Ctx, _args: MinutesArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct LedgerArgs {}

pub fn run_ledger(_ctx: &Ctx, _args: LedgerArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchMinutesArgs {}

pub fn run_bench_minutes(_ctx: &Ctx, _args: BenchMinutesArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
