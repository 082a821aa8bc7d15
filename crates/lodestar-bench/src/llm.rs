//! Latency and throughput measurements (性能基准) behind `lodestar bench llm` / `bench embed`.

use lodestar_core::model::EmbedKind;
use lodestar_infer::bert::BertEmbedder;
use lodestar_infer::chat::GgufChat;
use lodestar_infer::error::Result;
use lodestar_infer::llm::argmax;
use std::time::Instant;

/// Median figures for one prompt length (JSON field names are a contract).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LlmBenchRow {
    /// Model name.
    pub model: String,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Tokens decoded after the prompt.
    pub gen_tokens: usize,
    /// Prompt tokens processed per second (median).
    pub prefill_tok_s: f64,
    /// Tokens decoded per second (median).
    pub decode_tok_s: f64,
    /// Time to first token, in milliseconds (median).
    pub ttft_ms: f64,
    /// Peak resident memory of the process after the runs (VmHWM), in MiB.
    pub peak_rss_mb: f64,
    /// Runs the medians are taken over.
    pub repetitions: usize,
    /// CPU threads the model used.
    pub threads: usize,
    /// Where the model ran (`cpu`, `cuda:0`, `metal`).
    pub device: String,
    /// Sequences decoded together (`bench llm --batch`); absent in single-sequence rows. In a
    /// batch row `prefill_tok_s` is over all the batch's prompts (processed one after another),
    /// `ttft_ms` the time until every sequence has its first token, and `decode_tok_s` equals
    /// `aggregate_decode_tok_s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    /// Tokens decoded per second by the whole batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregate_decode_tok_s: Option<f64>,
    /// Tokens decoded per second by each sequence (each advances one token per batched step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_seq_decode_tok_s: Option<f64>,
}

/// Embedding throughput.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmbedBenchRow {
    /// Model name.
    pub model: String,
    /// Passages embedded.
    pub passages: usize,
    /// Passages per call of the embedder.
    pub batch_size: usize,
    /// Mean passage length in characters.
    pub avg_chars: f64,
    /// Mean passage length in tokens.
    pub avg_tokens: f64,
    /// Wall time of embedding all passages, in seconds.
    pub seconds: f64,
    /// Passages embedded per second.
    pub passages_per_s: f64,
    /// Peak resident memory of the process (VmHWM), in MiB.
    pub peak_rss_mb: f64,
    /// CPU threads the model used.
    pub threads: usize,
}

/// Peak resident memory of this process so far (VmHWM), in MiB; 0 where unknown.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Threads candle will use (RAYON_NUM_THREADS, else the core count).
pub fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Fictional business text used to build prompts of a given token length.
pub const BENCH_TEXT: &str = "北辰轮胎北部战区经营周报：俄罗斯 9 月全钢子午线轮胎销量 12,480 条，达成率 96.4%，\
同比增长 8.2%；哈萨克斯坦半钢 PCR 替换胎 205/55R16 91V 到港 3 柜，客户 Sibir Logistics 付款条件为 30% TT 预付、\
70% 见提单副本付款，逾期 45 天金额 USD 120,000。The goods-ready date of contract BC-2026-0917 is 2026-10-20; \
booking is confirmed but only USD 120,000 of 400,000 has been received. 59/80R63 巨胎用于 300 吨级矿用自卸车，\
11R22.5 与 12R22.5 负荷指数需按客户工况核对。乌兹别克 Q4 目标缺口 1,250 条，需月均补足 417 条。";

/// Prompt ids of exactly `n` tokens.
pub fn prompt_ids(chat: &GgufChat, n: usize) -> Result<Vec<u32>> {
    let mut ids = Vec::with_capacity(n);
    let one = chat.tokenizer().encode(BENCH_TEXT, false)?;
    while ids.len() < n {
        ids.extend_from_slice(&one);
    }
    ids.truncate(n);
    Ok(ids)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        0.0
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

/// Measures prefill, time to first token and decode speed, as medians over `reps` runs per
/// prompt length. Greedy decoding that ignores end-of-turn, so every run decodes `gen_tokens`.
pub fn bench_llm(chat: &GgufChat, prompt_lens: &[usize], gen_tokens: usize, reps: usize) -> Result<Vec<LlmBenchRow>> {
    let model = chat.model();
    let mut rows = Vec::new();
    // Warm-up: first use packs weights and starts thread pools.
    let mut warm = model.new_cache();
    model.forward(&prompt_ids(chat, 16)?, &mut warm)?;
    drop(warm);
    for &n in prompt_lens {
        let ids = prompt_ids(chat, n)?;
        let (mut pre, mut dec, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps.max(1) {
            let mut cache = model.new_cache();
            let t0 = Instant::now();
            let mut logits = Vec::new();
            for chunk in ids.chunks(512) {
                logits = model.forward(chunk, &mut cache)?;
            }
            let prefill = t0.elapsed().as_secs_f64();
            let mut next = argmax(&logits);
            let first = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let steps = gen_tokens.saturating_sub(1);
            for _ in 0..steps {
                let l = model.forward(&[next], &mut cache)?;
                next = argmax(&l);
            }
            let decode = t1.elapsed().as_secs_f64();
            pre.push(n as f64 / prefill.max(1e-9));
            if steps > 0 {
                dec.push(steps as f64 / decode.max(1e-9));
            }
            ttft.push(first * 1e3);
        }
        rows.push(LlmBenchRow {
            model: chat_name(chat),
            prompt_tokens: n,
            gen_tokens,
            prefill_tok_s: median(&mut pre),
            decode_tok_s: median(&mut dec),
            ttft_ms: median(&mut ttft),
            peak_rss_mb: peak_rss_mb(),
            repetitions: reps.max(1),
            threads: threads(),
            device: lodestar_infer::device_name(model.device()).to_string(),
            batch: None,
            aggregate_decode_tok_s: None,
            per_seq_decode_tok_s: None,
        });
    }
    Ok(rows)
}

/// Prompt ids of exactly `n` tokens that differ per sequence `seq` (the bench text starts at a
/// different token for each).
pub fn prompt_ids_for(chat: &GgufChat, n: usize, seq: usize) -> Result<Vec<u32>> {
    let one = chat.tokenizer().encode(BENCH_TEXT, false)?;
    let skip = (seq * 17) % one.len().max(1);
    Ok(one.iter().cycle().skip(skip).take(n).copied().collect())
}

/// Batched decoding: for each prompt length and batch size `b`, `b` different prompts are
/// processed (one after another, as a continuous-batching server admits them), then
/// `gen_tokens − 1` steps decode one greedy token for every sequence at once through
/// [`lodestar_infer::llm::LlmModel::forward_batch`]. Reports the aggregate and per-sequence decode
/// speed (medians over `reps`; each repetition runs every batch size in turn).
pub fn bench_llm_batch(
    chat: &GgufChat,
    prompt_lens: &[usize],
    gen_tokens: usize,
    batches: &[usize],
    reps: usize,
) -> Result<Vec<LlmBenchRow>> {
    let model = chat.model();
    let mut rows = Vec::new();
    let mut warm = model.new_cache();
    model.forward(&prompt_ids(chat, 16)?, &mut warm)?;
    drop(warm);
    for &n in prompt_lens {
        let batches: Vec<usize> = batches.iter().map(|&b| b.max(1)).collect();
        let prompts = (0..batches.iter().copied().max().unwrap_or(1))
            .map(|i| prompt_ids_for(chat, n, i))
            .collect::<Result<Vec<_>>>()?;
        // Per batch size: prefill tok/s, aggregate and per-sequence decode tok/s, ttft. Each
        // repetition runs every batch size back to back, so that a machine whose load changes
        // over minutes affects the sizes alike.
        let mut figs: Vec<[Vec<f64>; 4]> = batches.iter().map(|_| Default::default()).collect();
        for _ in 0..reps.max(1) {
            for (bi, &b) in batches.iter().enumerate() {
                let mut caches: Vec<lodestar_infer::llm::KvCache> = (0..b).map(|_| model.new_cache()).collect();
                let t0 = Instant::now();
                let mut next = Vec::with_capacity(b);
                for (p, c) in prompts.iter().zip(caches.iter_mut()) {
                    let mut logits = Vec::new();
                    for chunk in p.chunks(512) {
                        logits = model.forward(chunk, c)?;
                    }
                    next.push(argmax(&logits));
                }
                let first = t0.elapsed().as_secs_f64();
                let t1 = Instant::now();
                let steps = gen_tokens.saturating_sub(1);
                let mut refs: Vec<&mut lodestar_infer::llm::KvCache> = caches.iter_mut().collect();
                for _ in 0..steps {
                    let l = model.forward_batch(&next, &mut refs)?;
                    for (nx, row) in next.iter_mut().zip(&l) {
                        *nx = argmax(row);
                    }
                }
                let decode = t1.elapsed().as_secs_f64();
                let [pre, agg, per, ttft] = &mut figs[bi];
                pre.push((b * n) as f64 / first.max(1e-9));
                if steps > 0 {
                    agg.push((b * steps) as f64 / decode.max(1e-9));
                    per.push(steps as f64 / decode.max(1e-9));
                }
                ttft.push(first * 1e3);
            }
        }
        for (&b, [pre, agg, per, ttft]) in batches.iter().zip(figs.iter_mut()) {
            let aggregate = median(agg);
            rows.push(LlmBenchRow {
                model: chat_name(chat),
                prompt_tokens: n,
                gen_tokens,
                prefill_tok_s: median(pre),
                decode_tok_s: aggregate,
                ttft_ms: median(ttft),
                peak_rss_mb: peak_rss_mb(),
                repetitions: reps.max(1),
                threads: threads(),
                device: lodestar_infer::device_name(model.device()).to_string(),
                batch: Some(b),
                aggregate_decode_tok_s: Some(aggregate),
                per_seq_decode_tok_s: Some(median(per)),
            });
        }
    }
    Ok(rows)
}

fn chat_name(chat: &GgufChat) -> String {
    use lodestar_core::model::Generator;
    chat.name().to_string()
}

/// Fictional passages of about 88 characters for embedding throughput.
pub fn bench_passages(n: usize) -> Vec<String> {
    let countries = ["俄罗斯", "哈萨克斯坦", "白俄罗斯", "乌兹别克", "格鲁吉亚", "日本", "韩国", "阿塞拜疆"];
    let specs = ["315/80R22.5", "11R22.5", "12R22.5", "205/55R16", "59/80R63", "17.5-25", "12.00R24"];
    (0..n)
        .map(|i| {
            format!(
                "{} 客户第{}号订单：{} 全钢子午线轮胎 {} 条，货好日期 2026-10-{:02}，30% TT 预付，70% 见提单副本付款，请跟进回款与订舱。",
                countries[i % countries.len()],
                1000 + i,
                specs[i % specs.len()],
                100 + (i * 37) % 900,
                1 + i % 28
            )
        })
        .collect()
}

/// Embeds `n` passages in batches of `batch` and reports passages per second.
pub fn bench_embed(e: &BertEmbedder, n: usize, batch: usize) -> Result<EmbedBenchRow> {
    let passages = bench_passages(n);
    let refs: Vec<&str> = passages.iter().map(|s| s.as_str()).collect();
    // Warm-up.
    e.embed_texts(&refs[..refs.len().min(4)], EmbedKind::Passage)?;
    let t0 = Instant::now();
    for chunk in refs.chunks(batch.max(1)) {
        e.embed_texts(chunk, EmbedKind::Passage)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    let avg_tokens = refs.iter().map(|t| e.count_tokens(t, EmbedKind::Passage) as f64).sum::<f64>() / n.max(1) as f64;
    Ok(EmbedBenchRow {
        model: lodestar_core::model::Embedder::name(e).to_string(),
        passages: n,
        batch_size: batch,
        avg_chars: refs.iter().map(|t| t.chars().count() as f64).sum::<f64>() / n.max(1) as f64,
        avg_tokens,
        seconds: secs,
        passages_per_s: n as f64 / secs.max(1e-9),
        peak_rss_mb: peak_rss_mb(),
        threads: threads(),
    })
}
