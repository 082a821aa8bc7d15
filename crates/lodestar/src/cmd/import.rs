//! Placeholder: filled in by the owning crate's work.
use crate::Ctx;

#[derive(clap::Args)]
pub struct ImportArgs {}

pub fn run_import(_ctx: &Ctx, _args: ImportArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct QuarantineArgs {}

pub fn run_quarantine(_ctx: &Ctx, _args: QuarantineArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct DictArgs {}

pub fn run_dict(_ctx: &Ctx, _args: DictArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct UserArgs {}

pub fn run_user(_ctx: &Ctx, _args: UserArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}

#[derive(clap::Args)]
pub struct BenchImportArgs {}

pub fn run_bench_import(_ctx: &Ctx, _args: BenchImportArgs) -> anyhow::Result<()> {
    anyhow::bail!("not available in this build yet")
}
