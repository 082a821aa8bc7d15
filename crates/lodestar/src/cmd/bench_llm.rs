//! `lodestar bench llm` and `lodestar bench embed`: model latency and throughput (medians).

use crate::Ctx;
use anyhow::Result;
use lodestar_bench::llm::{bench_embed, bench_llm, bench_llm_batch};
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
    /// Batched decoding: sequences decoded together, comma separated (e.g. 1,4,8); reports
    /// aggregate and per-sequence decode tok/s per batch size (local models only)
    #[arg(long, value_delimiter = ',')]
    pub batch: Vec<usize>,
}

/// The median of `xs` (0 for none).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    match xs.len() {
        0 => 0.0,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// The same table for a remote model (`models add-remote`): prompts of about N tokens (the
/// server's own count is reported), time to the first streamed piece as the prompt time, the rest
/// as decoding. Memory and threads are the server's, so they are not reported.
fn bench_remote(
    spec: lodestar_remote::RemoteSpec,
    args: &BenchLlmArgs,
) -> Result<Vec<lodestar_bench::llm::LlmBenchRow>> {
    use lodestar_core::{ChatMessage, GenParams, Generator};
    let chat = lodestar_remote::RemoteChat::new(spec)?;
    let unit = "北辰轮胎在北部战区的全钢、半钢和工程胎销售按月统计，运营团队核对目标达成与回款。";
    let mut rows = Vec::new();
    for &n in &args.prompt_tokens {
        let per = chat.count_tokens(unit)?.max(1);
        let (mut pre, mut dec, mut ttft, mut real_prompt) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for rep in 0..args.reps.max(1) {
            // a different first line each time, so a server's prompt cache cannot serve a repeat
            let prompt =
                format!("第 {} 轮测试（{}）。\n{}\n请用一句话总结。", rep + 1, n, unit.repeat(n.div_ceil(per)));
            let params = GenParams { max_tokens: args.gen_tokens, temperature: 0.0, ..GenParams::default() };
            let g = chat.generate(&[ChatMessage::user(prompt.clone())], &params, &mut |_| {
                std::ops::ControlFlow::Continue(())
            })?;
            real_prompt = g.stats.prompt_tokens;
            ttft.push(g.stats.prefill_ms);
            pre.push(g.stats.prompt_tokens as f64 / (g.stats.prefill_ms / 1e3).max(1e-9));
            dec.push(g.stats.generated_tokens.saturating_sub(1) as f64 / (g.stats.decode_ms / 1e3).max(1e-9));
        }
        rows.push(lodestar_bench::llm::LlmBenchRow {
            model: chat.name().to_string(),
            prompt_tokens: if real_prompt > 0 { real_prompt } else { n },
            gen_tokens: args.gen_tokens,
            prefill_tok_s: median(pre),
            decode_tok_s: median(dec),
            ttft_ms: median(ttft),
            peak_rss_mb: 0.0,
            repetitions: args.reps.max(1),
            threads: 0,
            device: format!("remote {}", chat.spec().url),
            batch: None,
            aggregate_decode_tok_s: None,
            per_seq_decode_tok_s: None,
        });
    }
    Ok(rows)
}

pub fn run_llm(ctx: &Ctx, args: BenchLlmArgs) -> Result<()> {
    if let Some(t) = args.threads {
        lodestar_infer::set_threads(t);
    }
    let remote = match args.model.as_deref() {
        Some(n) => lodestar_remote::Registry::load(ctx.home.root())?.get(n).cloned(),
        None => None,
    };
    if remote.is_some() && !args.batch.is_empty() {
        anyhow::bail!("--batch measures the local engine's batched decoding; it does not apply to a remote model");
    }
    let rows = match remote {
        Some(spec) => bench_remote(spec, &args)?,
        None => {
            let max_ctx = args.prompt_tokens.iter().max().copied().unwrap_or(0) + args.gen_tokens + 16;
            let chat = open_gguf_chat(
                &ctx.models_dir,
                args.model.as_deref(),
                &ChatOptions { max_context: Some(max_ctx), ..ChatOptions::default() },
            )?;
            if args.batch.is_empty() {
                bench_llm(&chat, &args.prompt_tokens, args.gen_tokens, args.reps)?
            } else {
                bench_llm_batch(&chat, &args.prompt_tokens, args.gen_tokens, &args.batch, args.reps)?
            }
        }
    };
    if ctx.json {
        return ctx.print_json(&rows);
    }
    if !args.batch.is_empty() {
        println!(
            "{:<22} {:>7} {:>5} {:>5} {:>14} {:>15} {:>13} {:>10} {:>12} {:>4} {:>7}",
            "model",
            "prompt",
            "gen",
            "batch",
            "prefill tok/s",
            "aggregate tok/s",
            "per-seq tok/s",
            "ttft ms",
            "peak RSS MB",
            "reps",
            "threads"
        );
        for r in &rows {
            println!(
                "{:<22} {:>7} {:>5} {:>5} {:>14.1} {:>15.1} {:>13.1} {:>10.0} {:>12.0} {:>4} {:>7}",
                r.model,
                r.prompt_tokens,
                r.gen_tokens,
                r.batch.unwrap_or(1),
                r.prefill_tok_s,
                r.aggregate_decode_tok_s.unwrap_or(r.decode_tok_s),
                r.per_seq_decode_tok_s.unwrap_or(r.decode_tok_s),
                r.ttft_ms,
                r.peak_rss_mb,
                r.repetitions,
                r.threads
            );
        }
        return Ok(());
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
