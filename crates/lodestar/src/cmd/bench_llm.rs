//! `lodestar bench llm` and `lodestar bench embed`: model latency and throughput (medians).

use crate::Ctx;
use anyhow::Result;
use lodestar_infer::bench::{bench_embed, bench_llm};
use lodestar_infer::{open_gguf_chat, ChatOptions};

#[derive(clap::Args)]
pub struct BenchLlmArgs {
    /// Model name or alias (default: the manifest's default chat model), or a .gguf path
    #[arg(long)]
    pub model: Option<String>,
    /// Prompt lengths in tokens, comma separated
    #[arg(long, value_delimiter = ',', default_values_t = vec![256usize, 1024])]
    pub prompt_tokens: Vec<usize>,
    /// Tokens decoded after each prompt
    #[arg(long, default_value_t = 128)]
    pub gen_tokens: usize,
    /// CPU threads (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Repetitions per prompt length (the median is reported)
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
}

pub fn run_llm(ctx: &Ctx, args: BenchLlmArgs) -> Result<()> {
    if let Some(t) = args.threads {
        lodestar_infer::set_threads(t);
    }
    let max_ctx = args.prompt_tokens.iter().max().copied().unwrap_or(0) + args.gen_tokens + 16;
    let chat = open_gguf_chat(
        &ctx.models_dir,
        args.model.as_deref(),
        &ChatOptions { max_context: Some(max_ctx), ..ChatOptions::default() },
    )?;
    let rows = bench_llm(&chat, &args.prompt_tokens, args.gen_tokens, args.reps)?;
    if ctx.json {
        return ctx.print_json(&rows);
    }
    println!(
        "{:<22} {:>7} {:>5} {:>14} {:>13} {:>10} {:>12} {:>4} {:>7}",
        "model", "prompt", "gen", "prefill tok/s", "decode tok/s", "ttft ms", "peak RSS MB", "reps", "threads"
    );
    for r in &rows {
        println!(
            "{:<22} {:>7} {:>5} {:>14.1} {:>13.1} {:>10.0} {:>12.0} {:>4} {:>7}",
            r.model,
            r.prompt_tokens,
            r.gen_tokens,
            r.prefill_tok_s,
            r.decode_tok_s,
            r.ttft_ms,
            r.peak_rss_mb,
            r.repetitions,
            r.threads
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct BenchEmbedArgs {
    /// Embedding model (default: the manifest's default embedder)
    #[arg(long)]
    pub model: Option<String>,
    /// Number of passages (about 88 characters each)
    #[arg(long, default_value_t = 256)]
    pub passages: usize,
    /// Passages per call
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// CPU threads (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run_embed(ctx: &Ctx, args: BenchEmbedArgs) -> Result<()> {
    if let Some(t) = args.threads {
        lodestar_infer::set_threads(t);
    }
    let e = lodestar_infer::open_bert(&ctx.models_dir, args.model.as_deref())?;
    let row = bench_embed(&e, args.passages, args.batch)?;
    if ctx.json {
        return ctx.print_json(&row);
    }
    println!(
        "{}: {} passages ({:.0} chars, {:.1} tokens avg) in {:.2} s = {:.1} passages/s (batch {}, {} threads, peak RSS {:.0} MB)",
        row.model, row.passages, row.avg_chars, row.avg_tokens, row.seconds, row.passages_per_s, row.batch_size, row.threads, row.peak_rss_mb
    );
    Ok(())
}
