//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct MetricsArgs {}

pub fn run_metrics(_ctx: &Ctx, _args: MetricsArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct ConcentrationArgs {}

pub fn run_concentration(_ctx: &Ctx, _args: ConcentrationArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct SummaryArgs {}

pub fn run_summary(_ctx: &Ctx, _args: SummaryArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct AlertsArgs {}

pub fn run_alerts(_ctx: &Ctx, _args: AlertsArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchMetricsArgs {}

pub fn run_bench_metrics(_ctx: &Ctx, _args: BenchMetricsArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
