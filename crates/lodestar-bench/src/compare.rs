//! `lodestar bench compare`: several chat models over the same suites, as one report.
//!
//! Each model runs the chosen suites in turn — **speed** (load time, prefill and decode at
//! 512 and 1,024 prompt tokens as mean ± sd over repetitions, aggregate decode at batch 8, peak
//! memory, time to first token p50/p95 on the qa prompts), **qa** (`tests/eval/qa.jsonl`),
//! **minutes** (`tests/eval/minutes`, model path on, against the rules alone) and **drafts**
//! (grounding of customer-profile drafts). Every figure is flattened to one key
//! (`speed.decode_512_tok_s`, `qa.fact_coverage`, …) so that the deltas against the baseline
//! model are plain differences of the same key. [`write_report`] writes `report.json`,
//! `report.md` and a self-contained `report.html` (inline CSS and SVG, nothing fetched) beside the
//! per-sample logs (`qa.<model>.jsonl`, `minutes.<model>.jsonl`, `drafts.<model>.jsonl`).
//!
//! Timings are comparable only within one report: one machine, one run.

use crate::home::BenchHome;
use crate::qa::{QaCase, QaReport};
use crate::{io_err, mean_sd, quantile, BenchError, Result};
use lodestar_core::Generator;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A suite of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suite {
    /// Load time, prefill and decode speed, batched decoding, time to first token, memory.
    Speed,
    /// The qa evaluation set (answers).
    Qa,
    /// Action-item extraction from the minutes set, with the model and by the rules alone.
    Minutes,
    /// Grounding of customer-profile drafts.
    Drafts,
}

impl Suite {
    /// The lowercase id (`speed`, `qa`, `minutes`, `drafts`).
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Speed => "speed",
            Suite::Qa => "qa",
            Suite::Minutes => "minutes",
            Suite::Drafts => "drafts",
        }
    }

    /// Parses `speed,qa,minutes,drafts` (any order, duplicates ignored).
    pub fn parse_list(s: &str) -> Result<Vec<Suite>> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let suite = match part.to_ascii_lowercase().as_str() {
                "speed" => Suite::Speed,
                "qa" => Suite::Qa,
                "minutes" => Suite::Minutes,
                "drafts" => Suite::Drafts,
                other => {
                    return Err(BenchError::Invalid(format!(
                        "unknown suite `{other}` (choose from speed, qa, minutes, drafts)"
                    )))
                }
            };
            if !out.contains(&suite) {
                out.push(suite);
            }
        }
        if out.is_empty() {
            return Err(BenchError::Invalid("no suite given (speed, qa, minutes, drafts)".into()));
        }
        out.sort();
        Ok(out)
    }
}

/// Options of a comparison.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CompareOptions {
    /// The suites to run, in order.
    pub suites: Vec<Suite>,
    /// Repetitions of each speed measurement.
    pub reps: usize,
    /// Prompt lengths of the speed suite.
    pub prompt_tokens: Vec<usize>,
    /// Tokens decoded after each speed prompt.
    pub gen_tokens: usize,
    /// Sequences decoded together for the aggregate figure (0: not measured).
    pub batch: usize,
    /// Prompt tokens of each sequence of the batched measurement.
    pub batch_prompt_tokens: usize,
    /// Only the first N qa questions (all when `None`).
    pub qa_limit: Option<usize>,
    /// Questions asked for the time to first token when the qa suite is not chosen.
    pub ttft_questions: usize,
    /// Prompt budget of the answers.
    pub prompt_budget: usize,
    /// Profiles drafted by the drafts suite.
    pub draft_customers: usize,
    /// The qa evaluation set (`tests/eval/qa.jsonl`).
    pub qa_set: PathBuf,
    /// The minutes evaluation folder (`tests/eval/minutes`).
    pub minutes_dir: PathBuf,
    /// The customer knowledge folder the drafts suite checks profiles against (`knowledge/customer`).
    pub customer_docs: PathBuf,
}

impl CompareOptions {
    /// Defaults over the repository's sets (`None` when they cannot be found).
    pub fn defaults(suites: Vec<Suite>) -> Option<Self> {
        Some(Self {
            suites,
            reps: 3,
            prompt_tokens: vec![512, 1024],
            gen_tokens: 64,
            batch: 8,
            batch_prompt_tokens: 128,
            qa_limit: None,
            ttft_questions: 10,
            prompt_budget: lodestar_rag::prompt::PROMPT_BUDGET,
            draft_customers: 4,
            qa_set: crate::repo_path("tests/eval/qa.jsonl")?,
            minutes_dir: crate::repo_path("tests/eval/minutes")?,
            customer_docs: crate::repo_path("knowledge/customer")?,
        })
    }
}

/// Mean ± sample standard deviation over `n` repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct MeanSd {
    /// Mean of the samples.
    pub mean: f64,
    /// Sample standard deviation (0 for a single sample).
    pub sd: f64,
    /// Number of samples.
    pub n: usize,
}

impl MeanSd {
    /// Mean and standard deviation of `v`; `None` when `v` is empty.
    pub fn of(v: &[f64]) -> Option<Self> {
        mean_sd(v).map(|(mean, sd)| MeanSd { mean, sd, n: v.len() })
    }
}

/// The speed suite's figures of one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct SpeedFigures {
    /// Time to read the weights and be ready (local models).
    pub load_ms: Option<f64>,
    /// Prefill tok/s per prompt length.
    pub prefill_tok_s: BTreeMap<usize, MeanSd>,
    /// Decode tok/s per prompt length.
    pub decode_tok_s: BTreeMap<usize, MeanSd>,
    /// Sequences decoded together in the batched measurement (`None`: not measured).
    pub batch: Option<usize>,
    /// Tokens decoded per second by the whole batch.
    pub batch_decode_tok_s: Option<f64>,
    /// Peak resident memory of the process that ran the model alone (local models).
    pub peak_rss_mb: Option<f64>,
    /// Time to first token of the qa suite's generated answers.
    pub ttft_p50_ms: Option<f64>,
    /// 95th percentile of the time to first token.
    pub ttft_p95_ms: Option<f64>,
    /// Answers the time-to-first-token figures are taken over.
    pub ttft_samples: usize,
    /// Threads the model ran on (local models).
    pub threads: Option<usize>,
    /// Where the model ran (`cpu`, `cuda:0`, `metal`; `remote` for a remote model).
    pub device: String,
}

/// Measures a local GGUF chat model (`name`: built-in, added or a `.gguf` path) in this process.
/// Run it in a process of its own per model so that the peak memory is the model's own.
pub fn speed_local(models_dir: &Path, name: &str, opts: &CompareOptions) -> Result<SpeedFigures> {
    let max_ctx =
        opts.prompt_tokens.iter().copied().max().unwrap_or(0).max(opts.batch_prompt_tokens) + opts.gen_tokens + 16;
    let t = std::time::Instant::now();
    let chat = lodestar_infer::open_gguf_chat(
        models_dir,
        Some(name),
        &lodestar_infer::ChatOptions { max_context: Some(max_ctx), ..Default::default() },
    )
    .map_err(|e| BenchError::Invalid(format!("model `{name}`: {e}")))?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let infer = |e: lodestar_infer::InferError| BenchError::Invalid(format!("model `{name}`: {e}"));
    let mut f = SpeedFigures { load_ms: Some(load_ms), ..Default::default() };
    for &n in &opts.prompt_tokens {
        let (mut pre, mut dec) = (Vec::new(), Vec::new());
        for _ in 0..opts.reps.max(1) {
            let rows = crate::llm::bench_llm(&chat, &[n], opts.gen_tokens, 1).map_err(infer)?;
            if let Some(r) = rows.first() {
                pre.push(r.prefill_tok_s);
                dec.push(r.decode_tok_s);
                f.device = r.device.clone();
            }
        }
        if let Some(m) = MeanSd::of(&pre) {
            f.prefill_tok_s.insert(n, m);
        }
        if let Some(m) = MeanSd::of(&dec) {
            f.decode_tok_s.insert(n, m);
        }
    }
    if opts.batch > 1 {
        let rows = crate::llm::bench_llm_batch(
            &chat,
            &[opts.batch_prompt_tokens],
            opts.gen_tokens,
            &[opts.batch],
            opts.reps.max(1),
        )
        .map_err(infer)?;
        f.batch = Some(opts.batch);
        f.batch_decode_tok_s = rows.first().and_then(|r| r.aggregate_decode_tok_s);
    }
    f.threads = Some(crate::llm::threads());
    f.peak_rss_mb = Some(crate::llm::peak_rss_mb()).filter(|m| *m > 0.0);
    Ok(f)
}

/// Measures any chat model through the [`Generator`] trait (remote models): prompts of about N
/// tokens with a different first line per repetition (no prompt cache can serve a repeat), the
/// time to the first piece as prefill, the rest as decoding. No load time, batch or memory.
pub fn speed_generic(g: &dyn Generator, opts: &CompareOptions) -> Result<SpeedFigures> {
    use lodestar_core::{ChatMessage, GenParams};
    let per = g.count_tokens(crate::llm::BENCH_TEXT).map_err(|e| BenchError::Invalid(e.to_string()))?.max(1);
    let mut f = SpeedFigures { device: "remote".into(), ..Default::default() };
    for &n in &opts.prompt_tokens {
        let (mut pre, mut dec) = (Vec::new(), Vec::new());
        for rep in 0..opts.reps.max(1) {
            let prompt = format!(
                "第 {} 轮测试（{n}）。\n{}\n请用一句话总结。",
                rep + 1,
                crate::llm::BENCH_TEXT.repeat(n.div_ceil(per))
            );
            let params = GenParams { max_tokens: opts.gen_tokens, temperature: 0.0, ..GenParams::default() };
            let r = g
                .generate(&[ChatMessage::user(prompt)], &params, &mut |_| std::ops::ControlFlow::Continue(()))
                .map_err(|e| BenchError::Invalid(format!("model `{}`: {e}", g.name())))?;
            pre.push(r.stats.prompt_tokens as f64 / (r.stats.prefill_ms / 1e3).max(1e-9));
            if r.stats.generated_tokens > 1 {
                dec.push((r.stats.generated_tokens - 1) as f64 / (r.stats.decode_ms / 1e3).max(1e-9));
            }
        }
        if let Some(m) = MeanSd::of(&pre) {
            f.prefill_tok_s.insert(n, m);
        }
        if let Some(m) = MeanSd::of(&dec) {
            f.decode_tok_s.insert(n, m);
        }
    }
    Ok(f)
}

/// What a compared model is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelInfo {
    /// Name the report shows for the model (also names its per-sample log files).
    pub name: String,
    /// `built-in`, `added`, `file` or `remote`.
    pub kind: String,
    /// Path of the GGUF file (local models).
    pub path: Option<String>,
    /// Architecture (`qwen2`, `qwen3`, `llama`), when known.
    pub arch: Option<String>,
    /// Type of most weight elements (`Q4_K`, `Q8_0` …), when known.
    pub quant: Option<String>,
    /// Size of the model file in bytes.
    pub size_bytes: Option<u64>,
    /// Weight elements (parameters).
    pub parameters: Option<u64>,
    /// sha256 of the model file, hex.
    pub sha256: Option<String>,
}

/// The minutes suite's figures: with the model, the rules alone, and the difference.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MinutesFigures {
    /// Minutes figures with the model's extraction (figure name → value).
    pub with_model: BTreeMap<String, f64>,
    /// The same figures with the rules alone.
    pub rules_only: BTreeMap<String, f64>,
    /// `with_model − rules_only` per figure.
    pub vs_rules: BTreeMap<String, f64>,
    /// Wall time of the suite, in seconds.
    pub seconds: f64,
}

fn minutes_figures(r: &crate::minutes::BenchReport) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Option<f64>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    put("item_recall", r.items.recall);
    put("item_precision", r.items.precision);
    put("links_recall", r.links.recall);
    put("updates_recall", r.updates.recall);
    for (f, s) in &r.fields {
        put(&format!("field_{f}"), s.accuracy);
    }
    m
}

/// One model's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModelResult {
    /// What the model is.
    pub model: ModelInfo,
    /// The speed suite's figures (when the suite ran).
    pub speed: Option<SpeedFigures>,
    /// The qa report without its per-case scores (they are in `qa.<model>.jsonl`).
    pub qa: Option<QaReport>,
    /// The minutes suite's figures (when the suite ran).
    pub minutes: Option<MinutesFigures>,
    /// The drafts suite's report (when the suite ran).
    pub drafts: Option<crate::drafts::DraftsReport>,
    /// Every figure under one flat key (see [`FIGURES`]).
    pub figures: BTreeMap<String, f64>,
    /// What failed (a suite that could not run for this model), in words.
    pub errors: Vec<String>,
}

/// The machine and the build.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hardware {
    /// CPU model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// Logical cores available.
    pub cores: usize,
    /// Threads the models use.
    pub threads_used: usize,
    /// Total memory in GB (`/proc/meminfo`).
    pub memory_gb: Option<f64>,
    /// GPU model (NVIDIA driver), if any.
    pub gpu: Option<String>,
    /// Operating system and architecture (`linux x86_64`).
    pub os: String,
}

/// Build and run identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BuildInfo {
    /// Version of the lodestar binary.
    pub lodestar_version: String,
    /// Git commit of the build, when known.
    pub commit: Option<String>,
    /// Cargo profile of the build (`release` …).
    pub profile: String,
    /// Cargo features enabled in the build.
    pub features: Vec<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// When the report was made (local time, `YYYY-MM-DD HH:MM:SS +hh:mm`).
    pub generated_at: String,
    /// Wall time of the whole comparison, in seconds.
    pub wall_seconds: f64,
    /// The machine it ran on.
    pub hardware: Hardware,
    /// The build that ran it.
    pub build: BuildInfo,
    /// The suites run.
    pub suites: Vec<Suite>,
    /// The options of the run.
    pub options: Option<CompareOptions>,
    /// Name of the model the deltas are measured against.
    pub baseline: String,
    /// One result per model, in the order given.
    pub models: Vec<ModelResult>,
    /// Per non-baseline model: figure → (model − baseline), for every figure both have.
    pub deltas: BTreeMap<String, BTreeMap<String, f64>>,
    /// The per-sample logs written, relative to the report folder.
    pub logs: Vec<String>,
}

/// How a figure reads: label, unit, and whether more is better.
#[derive(Debug, Clone, Copy)]
pub struct FigureDef {
    /// Flat key of the figure in [`ModelResult::figures`].
    pub key: &'static str,
    /// Label shown in the reports.
    pub label: &'static str,
    /// Unit the value is formatted in.
    pub unit: Unit,
    /// Whether a larger value is an improvement (↑ / ↓ in the reports).
    pub higher_is_better: bool,
}

/// Unit of a figure (formatting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// Tokens per second.
    TokS,
    /// Megabytes.
    Mb,
    /// A fraction shown as a percent (deltas in percentage points).
    Share,
    /// A plain count.
    Count,
    /// Characters.
    Chars,
    /// Seconds.
    Seconds,
}

macro_rules! fig {
    ($k:expr, $l:expr, $u:ident, $h:expr) => {
        FigureDef { key: $k, label: $l, unit: Unit::$u, higher_is_better: $h }
    };
}

/// The figures of the headline tables, in order. Figures with a prompt length or batch size in
/// their key (`speed.decode_512_tok_s`) are described by [`describe`].
pub const FIGURES: &[FigureDef] = &[
    fig!("speed.load_ms", "load time", Ms, false),
    fig!("speed.ttft_p50_ms", "time to first token p50 (qa prompts)", Ms, false),
    fig!("speed.ttft_p95_ms", "time to first token p95 (qa prompts)", Ms, false),
    fig!("speed.peak_rss_mb", "peak memory (RSS)", Mb, false),
    fig!("qa.metric_number_exactness", "metric-number exactness", Share, true),
    fig!("qa.fact_coverage", "expected-fact coverage", Share, true),
    fig!("qa.citation_precision", "citation precision", Share, true),
    fig!("qa.refusal_correctness", "refusal correctness", Share, true),
    fig!("qa.false_refusals", "false refusals (answerable)", Share, false),
    fig!("qa.clarification_correctness", "clarification correctness", Share, true),
    fig!("qa.forbidden_clean", "no forbidden string", Share, true),
    fig!("qa.guard_flags", "number-guard flags", Count, false),
    fig!("qa.model_answer_with_fact", "model sentence with expected fact", Share, true),
    fig!("qa.quote_only_share", "quote-only fallbacks", Share, false),
    fig!("qa.short_answers", "answers under 8 characters", Count, false),
    fig!("qa.median_answer_chars", "median answer length", Chars, true),
    fig!("qa.passed", "questions passed as a whole", Share, true),
    fig!("qa.median_total_ms_knowledge", "median answer time (knowledge)", Ms, false),
    fig!("minutes.item_recall", "item recall", Share, true),
    fig!("minutes.item_precision", "item precision", Share, true),
    fig!("minutes.links_recall", "links across meetings", Share, true),
    fig!("minutes.updates_recall", "status updates found", Share, true),
    fig!("minutes.item_recall_vs_rules", "item recall − rules alone", Share, true),
    fig!("minutes.item_precision_vs_rules", "item precision − rules alone", Share, true),
    fig!("minutes.seconds", "minutes suite time", Seconds, false),
    fig!("drafts.numbers_traced_share", "draft numbers traced", Share, true),
    fig!("drafts.cited_claims_share", "claim sentences with citation", Share, true),
    fig!("drafts.missing_marked_share", "待补充 correct", Share, true),
    fig!("drafts.ai_paragraphs", "model-written paragraphs", Count, true),
    fig!("drafts.numbers", "numbers in model-written prose", Count, true),
    fig!("drafts.claim_sentences", "model-written sentences in cited sections", Count, true),
    fig!("drafts.seconds_per_profile", "time per profile", Seconds, false),
];

/// Label, unit and direction of any figure key.
pub fn describe(key: &str) -> (String, Unit, bool) {
    if let Some(d) = FIGURES.iter().find(|d| d.key == key) {
        return (d.label.to_string(), d.unit, d.higher_is_better);
    }
    let num = |prefix: &str, suffix: &str| {
        key.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)).and_then(|n| n.parse::<usize>().ok())
    };
    if let Some(n) = num("speed.prefill_", "_tok_s") {
        return (format!("prefill at {n} tokens"), Unit::TokS, true);
    }
    if let Some(n) = num("speed.decode_", "_tok_s") {
        return (format!("decode after {n} tokens"), Unit::TokS, true);
    }
    if let Some(n) = num("speed.prefill_", "_tok_s_sd") {
        return (format!("prefill at {n} tokens, sd"), Unit::TokS, false);
    }
    if let Some(n) = num("speed.decode_", "_tok_s_sd") {
        return (format!("decode after {n} tokens, sd"), Unit::TokS, false);
    }
    if let Some(n) = num("speed.batch", "_decode_tok_s") {
        return (format!("aggregate decode, batch {n}"), Unit::TokS, true);
    }
    if let Some(f) = key.strip_prefix("minutes.field_") {
        let f = f.strip_suffix("_vs_rules").map(|x| format!("{x} − rules alone")).unwrap_or_else(|| f.to_string());
        return (format!("field accuracy: {f}"), Unit::Share, true);
    }
    if let Some(base) = key.strip_suffix("_vs_rules") {
        let (label, unit, higher) = describe(base);
        return (format!("{label} − rules alone"), unit, higher);
    }
    if let Some(rest) = key.strip_prefix("qa.cat.") {
        let (cat, what) = rest.split_once('.').unwrap_or((rest, ""));
        let unit = if what == "guard_flags" { Unit::Count } else { Unit::Share };
        return (format!("{cat}: {}", what.replace('_', " ")), unit, what != "refused" && what != "guard_flags");
    }
    if let Some(rest) = key.strip_prefix("minutes.rules.") {
        return (format!("rules alone: {}", rest.replace('_', " ")), Unit::Share, true);
    }
    (key.to_string(), Unit::Count, true)
}

/// Flattens a model's results into figure keys.
pub fn figures_of(r: &ModelResult) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let mut put = |k: String, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            m.insert(k, v);
        }
    };
    if let Some(s) = &r.speed {
        put("speed.load_ms".into(), s.load_ms);
        put("speed.ttft_p50_ms".into(), s.ttft_p50_ms);
        put("speed.ttft_p95_ms".into(), s.ttft_p95_ms);
        put("speed.peak_rss_mb".into(), s.peak_rss_mb);
        // a standard deviation only where there were repetitions to take it over
        for (n, v) in &s.prefill_tok_s {
            put(format!("speed.prefill_{n}_tok_s"), Some(v.mean));
            put(format!("speed.prefill_{n}_tok_s_sd"), (v.n > 1).then_some(v.sd));
        }
        for (n, v) in &s.decode_tok_s {
            put(format!("speed.decode_{n}_tok_s"), Some(v.mean));
            put(format!("speed.decode_{n}_tok_s_sd"), (v.n > 1).then_some(v.sd));
        }
        if let Some(b) = s.batch {
            put(format!("speed.batch{b}_decode_tok_s"), s.batch_decode_tok_s);
        }
    }
    if let Some(q) = &r.qa {
        put("qa.metric_number_exactness".into(), q.metric_number_exactness);
        put("qa.fact_coverage".into(), q.fact_coverage);
        put("qa.citation_precision".into(), q.citation_precision);
        put("qa.refusal_correctness".into(), q.refusal_correctness);
        put("qa.false_refusals".into(), q.false_refusals);
        put("qa.clarification_correctness".into(), q.clarification_correctness);
        put("qa.forbidden_clean".into(), q.forbidden_clean);
        put("qa.guard_flags".into(), Some(q.guard_flags as f64));
        put("qa.model_answer_with_fact".into(), q.model_answer_with_fact);
        put("qa.quote_only_share".into(), q.quote_only_share);
        put("qa.short_answers".into(), Some(q.short_answers as f64));
        put("qa.median_answer_chars".into(), q.median_answer_chars);
        put("qa.passed".into(), q.passed);
        put("qa.median_total_ms_knowledge".into(), q.median_total_ms_knowledge);
        for (cat, c) in &q.by_category {
            put(format!("qa.cat.{cat}.passed"), c.passed);
            put(format!("qa.cat.{cat}.fact_coverage"), c.fact_coverage);
            put(format!("qa.cat.{cat}.number_exactness"), c.number_exactness);
            put(format!("qa.cat.{cat}.citation_precision"), c.citation_precision);
            put(format!("qa.cat.{cat}.refused"), c.refused);
            put(format!("qa.cat.{cat}.guard_flags"), Some(c.guard_flags as f64));
        }
    }
    if let Some(mi) = &r.minutes {
        for (k, v) in &mi.with_model {
            put(format!("minutes.{k}"), Some(*v));
        }
        for (k, v) in &mi.rules_only {
            put(format!("minutes.rules.{k}"), Some(*v));
        }
        for (k, v) in &mi.vs_rules {
            put(format!("minutes.{k}_vs_rules"), Some(*v));
        }
        put("minutes.seconds".into(), Some(mi.seconds));
    }
    if let Some(d) = &r.drafts {
        put("drafts.numbers_traced_share".into(), d.numbers_traced_share);
        put("drafts.cited_claims_share".into(), d.cited_claims_share);
        put("drafts.missing_marked_share".into(), d.missing_marked_share);
        put("drafts.ai_paragraphs".into(), Some(d.ai_paragraphs as f64));
        put("drafts.numbers".into(), Some(d.numbers as f64));
        put("drafts.claim_sentences".into(), Some(d.claim_sentences as f64));
        put("drafts.seconds_per_profile".into(), d.seconds_per_profile);
    }
    m
}

/// For every model but the baseline: figure → (model − baseline), over the figures both have.
pub fn deltas(models: &[ModelResult], baseline: &str) -> BTreeMap<String, BTreeMap<String, f64>> {
    let Some(base) = models.iter().find(|m| m.model.name == baseline) else { return BTreeMap::new() };
    models
        .iter()
        .filter(|m| m.model.name != baseline)
        .map(|m| {
            let d = m
                .figures
                .iter()
                .filter_map(|(k, v)| base.figures.get(k).map(|b| (k.clone(), v - b)))
                .collect::<BTreeMap<_, _>>();
            (m.model.name.clone(), d)
        })
        .collect()
}

/// A model to compare: what it is, how to open it for the quality suites, and how to measure its
/// speed (for local models the CLI runs [`speed_local`] in a child process).
pub struct Candidate<'a> {
    /// What the model is.
    pub info: ModelInfo,
    /// Opens the model for the quality suites.
    pub open: Box<dyn Fn() -> Result<Arc<dyn Generator>> + 'a>,
    /// Measures the model's speed.
    pub speed: Box<dyn Fn() -> Result<SpeedFigures> + 'a>,
}

/// File-name form of a model name.
pub fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect()
}

fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut s = String::new();
    for r in rows {
        s.push_str(&serde_json::to_string(r)?);
        s.push('\n');
    }
    std::fs::write(path, s).map_err(io_err(path))
}

/// Runs the comparison over `candidates` (the first is the baseline unless `baseline` names
/// another) and writes the per-sample logs into `out`. `log` receives progress lines.
pub fn run(
    candidates: &[Candidate<'_>],
    baseline: Option<&str>,
    home: &BenchHome,
    opts: &CompareOptions,
    out: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<Report> {
    if candidates.is_empty() {
        return Err(BenchError::Invalid("no model to compare".into()));
    }
    let baseline = baseline.map(str::to_string).unwrap_or_else(|| candidates[0].info.name.clone());
    if !candidates.iter().any(|c| c.info.name == baseline) {
        return Err(BenchError::Invalid(format!("baseline `{baseline}` is not among the compared models")));
    }
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let t0 = std::time::Instant::now();
    let has = |s: Suite| opts.suites.contains(&s);
    let mut cases: Vec<QaCase> = Vec::new();
    if has(Suite::Qa) || has(Suite::Speed) {
        let text = std::fs::read_to_string(&opts.qa_set).map_err(io_err(&opts.qa_set))?;
        cases = crate::qa::load_cases(&text)?;
        if let Some(n) = opts.qa_limit {
            cases.truncate(n);
        }
    }
    // the rules alone do not depend on the model: once
    let rules = if has(Suite::Minutes) {
        log("minutes: rules alone");
        Some(crate::minutes::run(&opts.minutes_dir, &home.dicts, None)?)
    } else {
        None
    };
    let with_docs = crate::drafts::customers_with_documents(&opts.customer_docs);
    let mut logs = Vec::new();
    let mut models = Vec::new();
    for (mi, c) in candidates.iter().enumerate() {
        let name = c.info.name.clone();
        let stem = file_stem(&name);
        let mut r = ModelResult { model: c.info.clone(), ..Default::default() };
        log(&format!("[{}/{}] {name}", mi + 1, candidates.len()));
        if has(Suite::Speed) {
            log(&format!(
                "  speed: {} reps at {:?} prompt tokens, batch {}",
                opts.reps, opts.prompt_tokens, opts.batch
            ));
            match (c.speed)() {
                Ok(s) => r.speed = Some(s),
                Err(e) => r.errors.push(format!("speed: {e}")),
            }
        }
        let needs_model = has(Suite::Qa) || has(Suite::Minutes) || has(Suite::Drafts) || has(Suite::Speed);
        let generator = if needs_model {
            match (c.open)() {
                Ok(g) => Some(g),
                Err(e) => {
                    r.errors.push(format!("cannot open the model: {e}"));
                    None
                }
            }
        } else {
            None
        };
        if let Some(g) = &generator {
            // qa (or only its knowledge questions, for the time to first token)
            let qa_cases: Vec<QaCase> = if has(Suite::Qa) {
                cases.clone()
            } else {
                cases
                    .iter()
                    .filter(|c| c.category == "knowledge" && !c.expect_refusal)
                    .take(opts.ttft_questions)
                    .cloned()
                    .collect()
            };
            if !qa_cases.is_empty() {
                let label = if has(Suite::Qa) { "qa" } else { "speed: time to first token on qa prompts" };
                let mut progress = |i: usize, n: usize, s: &crate::qa::QaSample| {
                    if i == n || i.is_multiple_of(10) {
                        log(&format!("  {label}: {i}/{n} (last: {} {})", s.id, if s.passed { "✓" } else { "✗" }));
                    }
                };
                match crate::qa::run(home, &qa_cases, Some(g.clone()), opts.prompt_budget, &mut progress) {
                    Ok((mut report, samples)) => {
                        let ttfts: Vec<f64> = report.scores.iter().filter_map(|s| s.ttft_ms).collect();
                        if let Some(sp) = r.speed.as_mut() {
                            sp.ttft_samples = ttfts.len();
                            sp.ttft_p50_ms = quantile(ttfts.clone(), 0.5);
                            sp.ttft_p95_ms = quantile(ttfts, 0.95);
                        }
                        if has(Suite::Qa) {
                            let file = format!("qa.{stem}.jsonl");
                            write_jsonl(&out.join(&file), &samples)?;
                            logs.push(file);
                            report.scores.clear();
                            r.qa = Some(report);
                        }
                    }
                    Err(e) => r.errors.push(format!("qa: {e}")),
                }
            }
            if let (true, Some(rules)) = (has(Suite::Minutes), &rules) {
                log("  minutes: rules + model");
                match crate::minutes::run(&opts.minutes_dir, &home.dicts, Some(g.as_ref())) {
                    Ok(mr) => {
                        let with_model = minutes_figures(&mr);
                        let rules_only = minutes_figures(rules);
                        let vs_rules = with_model
                            .iter()
                            .filter_map(|(k, v)| rules_only.get(k).map(|b| (k.clone(), v - b)))
                            .collect();
                        let file = format!("minutes.{stem}.jsonl");
                        let rows: Vec<serde_json::Value> = mr
                            .per_meeting
                            .iter()
                            .map(|m| {
                                serde_json::json!({
                                    "meeting": m.key,
                                    "gold": m.gold,
                                    "predicted": m.predicted,
                                    "matched": m.matched,
                                    "mismatches": mr.mismatches.iter().filter(|x| x.meeting == m.key).collect::<Vec<_>>(),
                                })
                            })
                            .collect();
                        write_jsonl(&out.join(&file), &rows)?;
                        logs.push(file);
                        r.minutes = Some(MinutesFigures { with_model, rules_only, vs_rules, seconds: mr.seconds });
                    }
                    Err(e) => r.errors.push(format!("minutes: {e}")),
                }
            }
            if has(Suite::Drafts) {
                let drafted = (|| -> Result<_> {
                    let store = home.store()?;
                    let engine = lodestar_metrics::MetricsEngine::load(&store, &home.dicts)?;
                    let month = engine
                        .latest_month()
                        .ok_or_else(|| BenchError::Invalid("no sales in the bench home".into()))?;
                    let config = lodestar_core::config::Config::default();
                    let ctx = lodestar_draft::Context {
                        store: &store,
                        dicts: &home.dicts,
                        engine: &engine,
                        config: &config,
                        retriever: None,
                        generator: None,
                        principal: store.principal(None)?,
                        month,
                        as_of: lodestar_draft::Context::as_of_for(month),
                    };
                    let customers = crate::drafts::pick_customers(&ctx, &with_docs, opts.draft_customers)?;
                    let mut progress = |i: usize, n: usize, s: &crate::drafts::DraftSample| {
                        log(&format!("  drafts: {i}/{n} {} ({:.1} s)", s.customer, s.seconds));
                    };
                    crate::drafts::run(home, &customers, &with_docs, Some(g.clone()), &mut progress)
                })();
                match drafted {
                    Ok((report, samples)) => {
                        let file = format!("drafts.{stem}.jsonl");
                        write_jsonl(&out.join(&file), &samples)?;
                        logs.push(file);
                        r.drafts = Some(report);
                    }
                    Err(e) => r.errors.push(format!("drafts: {e}")),
                }
            }
        }
        drop(generator);
        for e in &r.errors {
            log(&format!("  ✗ {e}"));
        }
        r.figures = figures_of(&r);
        models.push(r);
    }
    let deltas = deltas(&models, &baseline);
    Ok(Report {
        generated_at: chrono::Local::now().format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        wall_seconds: t0.elapsed().as_secs_f64(),
        hardware: hardware(),
        build: BuildInfo::default(),
        suites: opts.suites.clone(),
        options: Some(opts.clone()),
        baseline,
        models,
        deltas,
        logs,
    })
}

/// Reads the machine: CPU model, cores, memory, GPU (NVIDIA driver's list), OS.
pub fn hardware() -> Hardware {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let memory_gb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0)
    });
    let gpu = std::fs::read_dir("/proc/driver/nvidia/gpus").ok().and_then(|d| {
        d.flatten().find_map(|e| {
            std::fs::read_to_string(e.path().join("information")).ok().and_then(|s| {
                s.lines().find(|l| l.starts_with("Model:")).map(|l| l.trim_start_matches("Model:").trim().to_string())
            })
        })
    });
    Hardware {
        cpu,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        threads_used: crate::llm::threads(),
        memory_gb,
        gpu,
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// Writes `report.json`, `report.md` and `report.html` into `out`; returns their paths.
pub fn write_report(report: &Report, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let files = [
        ("report.json", serde_json::to_string_pretty(report)?),
        ("report.md", render_markdown(report)),
        ("report.html", render_html(report)),
    ];
    let mut paths = Vec::new();
    for (name, text) in files {
        let p = out.join(name);
        std::fs::write(&p, text).map_err(io_err(&p))?;
        paths.push(p);
    }
    Ok(paths)
}

/// Formats a figure's value in its unit.
pub fn format_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Ms => format!("{v:.0} ms"),
        Unit::TokS => format!("{v:.1} tok/s"),
        Unit::Mb => format!("{v:.0} MB"),
        Unit::Share => format!("{:.1}%", v * 100.0),
        Unit::Count => format!("{v:.0}"),
        Unit::Chars => format!("{v:.0} chars"),
        Unit::Seconds => format!("{v:.1} s"),
    }
}

/// Formats a delta in its unit, signed (`+1.2 pp` for shares).
pub fn format_delta(unit: Unit, d: f64) -> String {
    let sign = if d > 0.0 {
        "+"
    } else if d < 0.0 {
        "−"
    } else {
        "±"
    };
    let a = d.abs();
    match unit {
        Unit::Ms => format!("{sign}{a:.0} ms"),
        Unit::TokS => format!("{sign}{a:.1} tok/s"),
        Unit::Mb => format!("{sign}{a:.0} MB"),
        Unit::Share => format!("{sign}{:.1} pp", a * 100.0),
        Unit::Count => format!("{sign}{a:.0}"),
        Unit::Chars => format!("{sign}{a:.0} chars"),
        Unit::Seconds => format!("{sign}{a:.1} s"),
    }
}

/// The keys of all figures any model has, headline ones first (in [`FIGURES`] order, speed rows by
/// prompt length), then per-category and per-field rows.
fn ordered_keys(report: &Report) -> Vec<String> {
    let mut all: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for m in &report.models {
        all.extend(m.figures.keys().cloned());
    }
    let mut out: Vec<String> = Vec::new();
    let take = |k: &str, out: &mut Vec<String>| {
        if all.contains(k) && !out.iter().any(|x| x == k) {
            out.push(k.to_string());
        }
    };
    take("speed.load_ms", &mut out);
    let mut lens: Vec<usize> = all
        .iter()
        .filter_map(|k| {
            k.strip_prefix("speed.prefill_").and_then(|r| r.strip_suffix("_tok_s")).and_then(|n| n.parse().ok())
        })
        .collect();
    lens.sort();
    for n in &lens {
        take(&format!("speed.prefill_{n}_tok_s"), &mut out);
        take(&format!("speed.decode_{n}_tok_s"), &mut out);
    }
    let batch_keys: Vec<String> =
        all.iter().filter(|k| k.starts_with("speed.batch") && k.ends_with("_decode_tok_s")).cloned().collect();
    for k in batch_keys {
        take(&k, &mut out);
    }
    for d in FIGURES {
        take(d.key, &mut out);
    }
    for k in all.iter().filter(|k| k.starts_with("minutes.field_") && !k.ends_with("_vs_rules")) {
        take(k, &mut out);
    }
    for k in &all {
        take(k, &mut out);
    }
    // standard deviations are shown beside their means, not as rows
    out.retain(|k| !k.ends_with("_tok_s_sd"));
    out
}

fn cell(m: &ModelResult, key: &str) -> String {
    let (_, unit, _) = describe(key);
    match m.figures.get(key) {
        // a difference to the rules alone reads as one
        Some(v) if key.ends_with("_vs_rules") => format_delta(unit, *v),
        Some(v) => {
            let sd = m.figures.get(&format!("{key}_sd"));
            match sd {
                Some(sd) if unit == Unit::TokS => format!("{v:.1} ± {sd:.1} tok/s"),
                _ => format_value(unit, *v),
            }
        }
        None => "—".into(),
    }
}

fn suite_of(key: &str) -> &str {
    key.split('.').next().unwrap_or("")
}

/// The Markdown report.
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    let names: Vec<&str> = r.models.iter().map(|m| m.model.name.as_str()).collect();
    let _ = writeln!(s, "# Model comparison — {}\n", names.join(" vs "));
    let _ = writeln!(
        s,
        "Generated {} in {:.0} s · suites {} · baseline **{}**. Timings compare only within this report (one machine, one run).\n",
        r.generated_at,
        r.wall_seconds,
        r.suites.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", "),
        r.baseline
    );
    let _ = writeln!(s, "## Machine and build\n");
    let h = &r.hardware;
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| CPU | {} ({} cores, {} threads used) |", h.cpu, h.cores, h.threads_used);
    let _ = writeln!(s, "| memory | {} |", h.memory_gb.map(|g| format!("{g} GiB")).unwrap_or_else(|| "—".into()));
    let _ = writeln!(s, "| GPU | {} |", h.gpu.clone().unwrap_or_else(|| "none".into()));
    let _ = writeln!(s, "| OS | {} |", h.os);
    let b = &r.build;
    let _ = writeln!(
        s,
        "| lodestar | {} ({}{}, {}) |",
        b.lodestar_version,
        b.commit.clone().unwrap_or_else(|| "commit unknown".into()),
        if b.features.is_empty() { String::new() } else { format!(", features {}", b.features.join(" ")) },
        b.profile
    );
    let _ = writeln!(s, "\n## Models\n");
    let _ = writeln!(s, "| model | kind | arch | quant | size | parameters | sha256 |\n|---|---|---|---|---|---|---|");
    for m in &r.models {
        let i = &m.model;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | `{}` |",
            i.name,
            i.kind,
            i.arch.as_deref().unwrap_or("—"),
            i.quant.as_deref().unwrap_or("—"),
            i.size_bytes.map(|b| format!("{:.0} MB", b as f64 / 1048576.0)).unwrap_or_else(|| "—".into()),
            i.parameters.map(|p| format!("{:.2} B", p as f64 / 1e9)).unwrap_or_else(|| "—".into()),
            i.sha256.as_deref().map(|h| &h[..h.len().min(16)]).unwrap_or("—")
        );
    }
    let others: Vec<&ModelResult> = r.models.iter().filter(|m| m.model.name != r.baseline).collect();
    let keys = ordered_keys(r);
    for suite in ["speed", "qa", "minutes", "drafts"] {
        let rows: Vec<&String> = keys.iter().filter(|k| suite_of(k) == suite).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n## {suite}\n");
        let mut head = String::from("| figure |");
        let mut line = String::from("|---|");
        for m in &r.models {
            let _ = write!(head, " {} |", m.model.name);
            line.push_str("---:|");
        }
        for m in &others {
            let _ = write!(head, " Δ {} |", m.model.name);
            line.push_str("---:|");
        }
        let _ = writeln!(s, "{head}\n{line}");
        for k in rows {
            let (label, unit, higher) = describe(k);
            let mut row = format!("| {label} {} |", if higher { "↑" } else { "↓" });
            for m in &r.models {
                let _ = write!(row, " {} |", cell(m, k));
            }
            for m in &others {
                let d = r.deltas.get(&m.model.name).and_then(|d| d.get(k.as_str()));
                let _ = write!(row, " {} |", d.map(|d| format_delta(unit, *d)).unwrap_or_else(|| "—".into()));
            }
            let _ = writeln!(s, "{row}");
        }
    }
    let errors: Vec<String> =
        r.models.iter().flat_map(|m| m.errors.iter().map(move |e| format!("- {}: {e}", m.model.name))).collect();
    if !errors.is_empty() {
        let _ = writeln!(s, "\n## What did not run\n\n{}", errors.join("\n"));
    }
    if !r.logs.is_empty() {
        let _ = writeln!(s, "\n## Per-sample logs\n");
        for l in &r.logs {
            let _ = writeln!(s, "- [{l}]({l})");
        }
    }
    let _ = writeln!(
        s,
        "\n↑ more is better, ↓ less is better. Δ = model − baseline; shares in percentage points (pp). Speed: mean ± sd over {} repetitions.",
        r.options.as_ref().map(|o| o.reps).unwrap_or(1)
    );
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const COLORS: [&str; 6] = ["#2f6db5", "#e07b24", "#3a9d5d", "#b8433f", "#7d5ba6", "#8c6d31"];

/// A grouped bar chart as inline SVG: one group per figure, one bar per model.
pub fn bar_chart(title: &str, unit: Unit, groups: &[(String, Vec<Option<f64>>)], models: &[String]) -> String {
    let (w, h, left, top, bottom) = (520.0f64, 250.0f64, 56.0f64, 34.0f64, 52.0f64);
    let plot_h = h - top - bottom;
    let max = groups.iter().flat_map(|(_, v)| v.iter().flatten()).fold(0.0f64, |a, &b| a.max(b));
    let max = if unit == Unit::Share {
        1.0f64.max(max)
    } else if max <= 0.0 {
        1.0
    } else {
        max * 1.1
    };
    let n = groups.len().max(1) as f64;
    let gw = (w - left - 10.0) / n;
    let bw = (gw * 0.8 / models.len().max(1) as f64).min(44.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title><text x="{left}" y="18" class="ct">{t}</text>"#,
        t = esc(title)
    );
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let y = top + plot_h - plot_h * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{lx}" y="{ty:.1}" class="ax" text-anchor="end">{label}</text>"##,
            x2 = w - 10.0,
            lx = left - 6.0,
            ty = y + 4.0,
            label = esc(&short_value(unit, v))
        );
    }
    for (gi, (label, vals)) in groups.iter().enumerate() {
        let gx = left + gi as f64 * gw + gw * 0.1;
        for (mi, v) in vals.iter().enumerate() {
            let Some(v) = v else { continue };
            let bh = (v / max).clamp(0.0, 1.0) * plot_h;
            let x = gx + mi as f64 * bw;
            let y = top + plot_h - bh;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bw1:.1}" height="{bh:.1}" fill="{c}"><title>{m}: {val}</title></rect><text x="{tx:.1}" y="{vy:.1}" class="bv" text-anchor="middle">{sv}</text>"#,
                bw1 = bw - 2.0,
                c = COLORS[mi % COLORS.len()],
                m = esc(&models[mi]),
                val = esc(&format_value(unit, *v)),
                tx = x + (bw - 2.0) / 2.0,
                vy = y - 3.0,
                sv = esc(&short_value(unit, *v))
            );
        }
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{y:.1}" class="ax" text-anchor="middle">{l}</text>"#,
            x = left + gi as f64 * gw + gw / 2.0,
            y = h - bottom + 16.0,
            l = esc(label)
        );
    }
    // legend
    for (mi, m) in models.iter().enumerate() {
        let x = left + mi as f64 * 170.0;
        let y = h - 14.0;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{ry}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{y}" class="ax">{m}</text>"#,
            ry = y - 9.0,
            c = COLORS[mi % COLORS.len()],
            tx = x + 14.0,
            m = esc(m)
        );
    }
    s.push_str("</svg>");
    s
}

fn short_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Share => format!("{:.0}%", v * 100.0),
        Unit::TokS | Unit::Seconds => {
            if v >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        }
        _ => format!("{v:.0}"),
    }
}

/// A chart: title, unit, and the figure keys with their short group labels.
type ChartSpec = (String, Unit, Vec<(String, String)>);

/// The charts of a report.
fn chart_specs(r: &Report) -> Vec<ChartSpec> {
    let keys = ordered_keys(r);
    let pick = |pred: &dyn Fn(&str) -> Option<String>| -> Vec<(String, String)> {
        keys.iter().filter_map(|k| pred(k).map(|l| (k.clone(), l))).collect()
    };
    let mut specs = vec![
        (
            "Decode speed (tok/s, more is better)".to_string(),
            Unit::TokS,
            pick(&|k| {
                if let Some(n) = k.strip_prefix("speed.decode_").and_then(|r| r.strip_suffix("_tok_s")) {
                    Some(format!("after {n} tokens"))
                } else {
                    k.strip_prefix("speed.batch")
                        .and_then(|r| r.strip_suffix("_decode_tok_s"))
                        .map(|b| format!("batch {b} total"))
                }
            }),
        ),
        (
            "Prefill speed (tok/s, more is better)".to_string(),
            Unit::TokS,
            pick(&|k| {
                k.strip_prefix("speed.prefill_").and_then(|r| r.strip_suffix("_tok_s")).map(|n| format!("{n} tokens"))
            }),
        ),
        (
            "Time to first token on the qa prompts (ms, less is better)".to_string(),
            Unit::Ms,
            pick(&|k| match k {
                "speed.ttft_p50_ms" => Some("p50".into()),
                "speed.ttft_p95_ms" => Some("p95".into()),
                _ => None,
            }),
        ),
        (
            "Load time (ms, less is better)".to_string(),
            Unit::Ms,
            pick(&|k| (k == "speed.load_ms").then(|| "load".to_string())),
        ),
        (
            "Peak memory (MB, less is better)".to_string(),
            Unit::Mb,
            pick(&|k| (k == "speed.peak_rss_mb").then(|| "peak RSS".to_string())),
        ),
        (
            "Answer quality (qa set)".to_string(),
            Unit::Share,
            pick(&|k| match k {
                "qa.metric_number_exactness" => Some("numbers exact".into()),
                "qa.fact_coverage" => Some("facts".into()),
                "qa.citation_precision" => Some("citations".into()),
                "qa.refusal_correctness" => Some("refusals".into()),
                "qa.model_answer_with_fact" => Some("model sentence".into()),
                "qa.passed" => Some("passed".into()),
                _ => None,
            }),
        ),
        (
            "Answer quality by category (share passed)".to_string(),
            Unit::Share,
            pick(&|k| k.strip_prefix("qa.cat.").and_then(|r| r.strip_suffix(".passed")).map(str::to_string)),
        ),
        (
            "Minutes extraction (rules + model)".to_string(),
            Unit::Share,
            pick(&|k| match k {
                "minutes.item_recall" => Some("recall".into()),
                "minutes.item_precision" => Some("precision".into()),
                _ => k.strip_prefix("minutes.field_").filter(|f| !f.ends_with("_vs_rules")).map(str::to_string),
            }),
        ),
        (
            "Drafts grounding".to_string(),
            Unit::Share,
            pick(&|k| match k {
                "drafts.numbers_traced_share" => Some("numbers traced".into()),
                "drafts.cited_claims_share" => Some("claims cited".into()),
                "drafts.missing_marked_share" => Some("待补充 correct".into()),
                _ => None,
            }),
        ),
    ];
    specs.retain(|(_, _, k)| !k.is_empty());
    specs
}

/// The self-contained HTML report (inline CSS and SVG; nothing is fetched).
pub fn render_html(r: &Report) -> String {
    let names: Vec<String> = r.models.iter().map(|m| m.model.name.clone()).collect();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>lodestar — model comparison</title><style>
body{{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px auto;max-width:1100px;color:#1d2733;padding:0 16px}}
h1{{font-size:22px;margin:0 0 4px}} h2{{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}}
.meta{{color:#5b6775;font-size:13px}} table{{border-collapse:collapse;font-size:13px;margin:6px 0}} th,td{{border:1px solid #dde2e8;padding:4px 8px}}
th{{background:#f3f5f8;text-align:left}} td.n{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}
td.better{{color:#1f7a3f}} td.worse{{color:#b23b36}} .charts{{display:flex;flex-wrap:wrap;gap:12px}} .chart{{border:1px solid #e3e6ea;border-radius:6px;padding:6px;background:#fff}}
svg .ct{{font-size:13px;font-weight:600;fill:#1d2733}} svg .ax{{font-size:11px;fill:#5b6775}} svg .bv{{font-size:10px;fill:#1d2733}} .err{{color:#b23b36}}
</style></head><body>"#
    );
    let _ = write!(s, "<h1>Model comparison — {}</h1>", esc(&names.join(" vs ")));
    let _ = write!(
        s,
        r#"<p class="meta">Generated {} in {:.0} s · suites {} · baseline <b>{}</b> · timings compare only within this report (one machine, one run).</p>"#,
        esc(&r.generated_at),
        r.wall_seconds,
        esc(&r.suites.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")),
        esc(&r.baseline)
    );
    let h = &r.hardware;
    let b = &r.build;
    let _ = write!(
        s,
        "<h2>Machine and build</h2><table><tr><th>CPU</th><td>{} ({} cores, {} threads used)</td></tr><tr><th>memory</th><td>{}</td></tr><tr><th>GPU</th><td>{}</td></tr><tr><th>OS</th><td>{}</td></tr><tr><th>lodestar</th><td>{} ({}{}, {})</td></tr></table>",
        esc(&h.cpu),
        h.cores,
        h.threads_used,
        h.memory_gb.map(|g| format!("{g} GiB")).unwrap_or_else(|| "—".into()),
        esc(h.gpu.as_deref().unwrap_or("none")),
        esc(&h.os),
        esc(&b.lodestar_version),
        esc(b.commit.as_deref().unwrap_or("commit unknown")),
        if b.features.is_empty() { String::new() } else { format!(", features {}", esc(&b.features.join(" "))) },
        esc(&b.profile)
    );
    let _ = write!(s, "<h2>Models</h2><table><tr><th>model</th><th>kind</th><th>arch</th><th>quant</th><th>size</th><th>parameters</th><th>sha256</th></tr>");
    for m in &r.models {
        let i = &m.model;
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td><code>{}</code></td></tr>",
            esc(&i.name),
            esc(&i.kind),
            esc(i.arch.as_deref().unwrap_or("—")),
            esc(i.quant.as_deref().unwrap_or("—")),
            i.size_bytes.map(|b| format!("{:.0} MB", b as f64 / 1048576.0)).unwrap_or_else(|| "—".into()),
            i.parameters.map(|p| format!("{:.2} B", p as f64 / 1e9)).unwrap_or_else(|| "—".into()),
            esc(i.sha256.as_deref().map(|h| &h[..h.len().min(16)]).unwrap_or("—"))
        );
    }
    s.push_str("</table>");
    let specs = chart_specs(r);
    if !specs.is_empty() {
        s.push_str("<h2>Charts</h2><div class=charts>");
        for (title, unit, keys) in &specs {
            let groups: Vec<(String, Vec<Option<f64>>)> = keys
                .iter()
                .map(|(k, label)| (label.clone(), r.models.iter().map(|m| m.figures.get(k).copied()).collect()))
                .collect();
            let _ = write!(s, "<div class=chart>{}</div>", bar_chart(title, *unit, &groups, &names));
        }
        s.push_str("</div>");
    }
    let others: Vec<&ModelResult> = r.models.iter().filter(|m| m.model.name != r.baseline).collect();
    let keys = ordered_keys(r);
    for suite in ["speed", "qa", "minutes", "drafts"] {
        let rows: Vec<&String> = keys.iter().filter(|k| suite_of(k) == suite).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = write!(s, "<h2>{suite}</h2><table><tr><th>figure</th>");
        for m in &r.models {
            let _ = write!(s, "<th>{}</th>", esc(&m.model.name));
        }
        for m in &others {
            let _ = write!(s, "<th>Δ {} vs {}</th>", esc(&m.model.name), esc(&r.baseline));
        }
        s.push_str("</tr>");
        for k in rows {
            let (label, unit, higher) = describe(k);
            let _ = write!(s, "<tr><td>{} {}</td>", esc(&label), if higher { "↑" } else { "↓" });
            for m in &r.models {
                let _ = write!(s, "<td class=n>{}</td>", esc(&cell(m, k)));
            }
            for m in &others {
                match r.deltas.get(&m.model.name).and_then(|d| d.get(k.as_str())) {
                    Some(d) => {
                        let class = if *d == 0.0 {
                            "n"
                        } else if (*d > 0.0) == higher {
                            "n better"
                        } else {
                            "n worse"
                        };
                        let _ = write!(s, "<td class=\"{class}\">{}</td>", esc(&format_delta(unit, *d)));
                    }
                    None => s.push_str("<td class=n>—</td>"),
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
    let errors: Vec<String> = r
        .models
        .iter()
        .flat_map(|m| m.errors.iter().map(move |e| format!("<li>{}: {}</li>", esc(&m.model.name), esc(e))))
        .collect();
    if !errors.is_empty() {
        let _ = write!(s, "<h2>What did not run</h2><ul class=err>{}</ul>", errors.join(""));
    }
    if !r.logs.is_empty() {
        s.push_str("<h2>Per-sample logs</h2><ul>");
        for l in &r.logs {
            let _ = write!(s, "<li><a href=\"{0}\">{0}</a></li>", esc(l));
        }
        s.push_str("</ul>");
    }
    let _ = write!(
        s,
        "<p class=meta>↑ more is better, ↓ less is better. Δ = model − baseline; shares in percentage points (pp). Speed: mean ± sd over {} repetitions.</p></body></html>",
        r.options.as_ref().map(|o| o.reps).unwrap_or(1)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, figs: &[(&str, f64)]) -> ModelResult {
        ModelResult {
            model: ModelInfo { name: name.into(), kind: "added".into(), ..Default::default() },
            figures: figs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn deltas_are_differences_of_shared_figures() {
        let a = result("a", &[("speed.decode_512_tok_s", 20.0), ("qa.fact_coverage", 0.75)]);
        let b =
            result("b", &[("speed.decode_512_tok_s", 12.5), ("qa.fact_coverage", 0.9), ("drafts.ai_paragraphs", 3.0)]);
        let d = deltas(&[a, b], "a");
        assert_eq!(d.len(), 1);
        let db = &d["b"];
        assert_eq!(db["speed.decode_512_tok_s"], -7.5);
        assert!((db["qa.fact_coverage"] - 0.15).abs() < 1e-12);
        assert!(!db.contains_key("drafts.ai_paragraphs"), "a figure the baseline lacks has no delta");
    }

    #[test]
    fn suites_parse_and_refuse_unknown_names() {
        assert_eq!(Suite::parse_list("qa, speed,qa").unwrap(), vec![Suite::Speed, Suite::Qa]);
        let e = Suite::parse_list("speed,latency").unwrap_err().to_string();
        assert!(e.contains("latency"), "{e}");
    }

    #[test]
    fn figure_keys_describe_themselves() {
        assert_eq!(describe("speed.decode_1024_tok_s").0, "decode after 1024 tokens");
        assert_eq!(describe("speed.batch8_decode_tok_s").0, "aggregate decode, batch 8");
        assert!(!describe("speed.ttft_p95_ms").2);
        assert_eq!(describe("minutes.links_recall_vs_rules").0, "links across meetings − rules alone");
        let m = ModelResult {
            figures: [("minutes.field_country_vs_rules".to_string(), -0.008)].into(),
            ..Default::default()
        };
        assert_eq!(cell(&m, "minutes.field_country_vs_rules"), "−0.8 pp");
        assert_eq!(format_delta(Unit::Share, -0.0126), "−1.3 pp");
        assert_eq!(format_delta(Unit::TokS, 2.0), "+2.0 tok/s");
    }

    #[test]
    fn a_chart_has_one_bar_per_value_and_escapes_labels() {
        let svg = bar_chart(
            "t <x>",
            Unit::Share,
            &[("a&b".into(), vec![Some(0.5), Some(0.25)]), ("c".into(), vec![None, Some(1.0)])],
            &["m1".into(), "m2".into()],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // 3 bars + 2 legend swatches
        assert_eq!(svg.matches("<rect").count(), 5);
        assert!(svg.contains("t &lt;x&gt;") && svg.contains("a&amp;b"));
    }
}
