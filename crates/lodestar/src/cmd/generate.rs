//! `lodestar generate "prompt"`: one chat turn with a local model, streamed to stdout.

use crate::Ctx;
use anyhow::Result;
use lodestar_core::model::{ChatMessage, GenParams, Generator};
use lodestar_infer::{open_gguf_chat, ChatOptions};
use std::io::Write;
use std::ops::ControlFlow;

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The user message
    pub prompt: String,
    /// Model name or alias (default: the manifest's default chat model), or a path to a .gguf file
    #[arg(long)]
    pub model: Option<String>,
    /// Optional system prompt
    #[arg(long)]
    pub system: Option<String>,
    #[arg(long, default_value_t = 512)]
    pub max_tokens: usize,
    /// 0 = greedy (deterministic)
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop before this string (repeatable)
    #[arg(long)]
    pub stop: Vec<String>,
    /// CPU threads (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Treat PROMPT as an already rendered prompt (no chat template)
    #[arg(long)]
    pub raw: bool,
}

pub fn run(ctx: &Ctx, args: GenerateArgs) -> Result<()> {
    if let Some(t) = args.threads {
        lodestar_infer::set_threads(t);
    }
    let params = GenParams {
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        top_k: args.top_k,
        repeat_penalty: args.repeat_penalty,
        seed: args.seed,
        stop: args.stop.clone(),
        ..GenParams::default()
    };
    let json = ctx.json;
    let mut out = std::io::stdout();
    let mut on_token = |piece: &str| {
        if !json {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
        }
        ControlFlow::Continue(())
    };
    let mut msgs = Vec::new();
    if let Some(s) = &args.system {
        msgs.push(ChatMessage::system(s.clone()));
    }
    msgs.push(ChatMessage::user(args.prompt.clone()));
    // a remote model registered in this home (chat turns only: a raw prompt needs the local template)
    let remote = match args.model.as_deref() {
        Some(n) => lodestar_remote::Registry::load(ctx.home.root())?.get(n).cloned(),
        None => None,
    };
    let (name, g) = match remote {
        Some(spec) => {
            if args.raw {
                anyhow::bail!("--raw needs a local model: a remote model takes chat messages");
            }
            let chat = lodestar_remote::RemoteChat::new(spec)?;
            (chat.name().to_string(), lodestar_core::Generator::generate(&chat, &msgs, &params, &mut on_token)?)
        }
        None => {
            let chat = open_gguf_chat(&ctx.models_dir, args.model.as_deref(), &ChatOptions::default())?;
            let g = if args.raw {
                chat.generate_raw(&args.prompt, &params, &mut on_token)?
            } else {
                chat.generate(&msgs, &params, &mut on_token)?
            };
            (chat.name().to_string(), g)
        }
    };
    if json {
        return ctx.print_json(&serde_json::json!({ "model": name, "text": g.text, "stats": g.stats }));
    }
    println!();
    let s = &g.stats;
    eprintln!(
        "[{}: {} prompt tokens in {:.0} ms ({:.1} tok/s), {} generated in {:.0} ms ({:.1} tok/s), finish {:?}]",
        name,
        s.prompt_tokens,
        s.prefill_ms,
        (s.prompt_tokens - s.cached_tokens) as f64 / (s.prefill_ms / 1e3).max(1e-9),
        s.generated_tokens,
        s.decode_ms,
        s.generated_tokens as f64 / (s.decode_ms / 1e3).max(1e-9),
        s.finish
    );
    Ok(())
}
