//! Checks against the real models and the reference outputs in `../shared/reference/`.
//! They run only when asked (`LODESTAR_REAL_MODELS=1`, or `scripts/real-model-tests.sh`), and
//! then skip (with a printed reason) when the models or the reference files are absent.

use lodestar_core::model::{EmbedKind, GenParams};
use lodestar_infer::bert::cosine;
use lodestar_infer::{open_bert, open_gguf_chat, ChatOptions, ModelStore};
use serde_json::Value;
use std::ops::ControlFlow;
use std::path::PathBuf;

fn reference(name: &str) -> Option<Vec<Value>> {
    let dir = std::env::var_os("LODESTAR_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"));
    let path = dir.join(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("SKIP: reference file {} not found", path.display());
        return None;
    };
    Some(text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect())
}

fn installed(name: &str) -> bool {
    if std::env::var("LODESTAR_REAL_MODELS").map_or(true, |v| v != "1") {
        println!("SKIP: real-model tests run only with LODESTAR_REAL_MODELS=1 (scripts/real-model-tests.sh)");
        return false;
    }
    let dir = lodestar_core::home::models_dir();
    let ok = ModelStore::new(&dir).map(|s| s.is_installed(name)).unwrap_or(false);
    if !ok {
        println!("SKIP: model {name} is not installed in {} (run `lodestar models fetch`)", dir.display());
    }
    ok
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_u64()).map(|x| x as u32).collect()).unwrap_or_default()
}

#[test]
fn qwen_tokenizer_matches_llama_cpp_ids() {
    let Some(cases) = reference("qwen2-tokenizer.jsonl") else { return };
    if !installed("qwen2.5-coder-0.5b") {
        return;
    }
    let chat = open_gguf_chat(&lodestar_core::home::models_dir(), Some("qwen2.5-coder-0.5b"), &ChatOptions::default())
        .expect("load 0.5B");
    let tok = chat.tokenizer();
    let mut failures = Vec::new();
    for c in &cases {
        let text = c["text"].as_str().unwrap_or_default();
        let special = c["parse_special"].as_bool().unwrap_or(false);
        let want = ids(&c["ids"]);
        let got = tok.encode(text, special).expect("encode");
        if got != want {
            failures.push(format!("{text:?} special={special}\n  want {want:?}\n  got  {got:?}"));
        }
    }
    println!("qwen tokenizer: {} of {} reference cases match", cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Greedy generation of the reference prompts. `exact`: the text must equal the reference.
/// Otherwise a differing text is accepted only when, following the reference ids (teacher
/// forcing), every step where our top token differs from the reference is a near tie: the
/// reference token's logit is within `NEAR_TIE` of our top logit. Quantized kernels round
/// differently between engines (reference/README.md), so exact ids are not expected everywhere.
///
/// The 1.5B references sit on such ties: llama.cpp itself (0c1e57098, built with
/// `-march=native` on the 2-core AVX2 machine, `scripts/llamacpp-baseline.sh --greedy`)
/// reproduces only 1 of its 3 texts there, while we reproduce 2; our one differing prompt has
/// its largest gap at 0.11. The 0.5B references are checked exactly.
const NEAR_TIE: f32 = 0.25;

fn check_greedy(model: &str, file: &str, exact: bool) {
    let Some(cases) = reference(file) else { return };
    if !installed(model) {
        return;
    }
    let chat =
        open_gguf_chat(&lodestar_core::home::models_dir(), Some(model), &ChatOptions::default()).expect("load model");
    let mut failures = Vec::new();
    for c in &cases {
        let prompt = c["prompt"].as_str().unwrap_or_default();
        let want_ids = ids(&c["greedy_ids"]);
        let want_text = c["text"].as_str().unwrap_or_default();
        let params = GenParams { max_tokens: 32, temperature: 0.0, ..GenParams::default() };
        let tokens = chat.encode_prompt(prompt).expect("encode");
        let (g, got_ids) =
            chat.generate_tokens(&tokens, &params, &mut |_| ControlFlow::Continue(())).expect("generate");
        let same_prefix = got_ids.iter().zip(&want_ids).take_while(|(a, b)| a == b).count();
        let tail: String = prompt.chars().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        println!("{model}: …{tail:?} → {:?} ({same_prefix}/{} ids agree)", g.text, want_ids.len());
        if g.text == want_text {
            continue;
        }
        if exact {
            failures.push(format!("{prompt:?}: got {:?}, want {want_text:?}", g.text));
            continue;
        }
        // Teacher forcing along the reference ids.
        let mut seq = tokens.clone();
        for (step, &want) in want_ids.iter().enumerate() {
            let logits = chat.logits_full(&seq).expect("logits");
            let top = lodestar_infer::llm::argmax(&logits);
            let gap = logits[top as usize] - logits[want as usize];
            if top != want {
                println!("  step {step}: ours {top} vs reference {want}, logit gap {gap:.4}");
                if gap > NEAR_TIE {
                    failures.push(format!(
                        "{prompt:?} step {step}: reference token {want} is {gap:.3} below our top {top}"
                    ));
                }
            }
            seq.push(want);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn qwen_0_5b_greedy_matches_reference_text() {
    check_greedy("qwen2.5-coder-0.5b", "qwen2-greedy.jsonl", true);
}

#[test]
fn qwen_1_5b_greedy_matches_reference_text() {
    check_greedy("qwen2.5-coder-1.5b", "qwen2-1.5b-greedy.jsonl", false);
}

#[test]
fn e5_embeddings_match_reference() {
    let Some(cases) = reference("e5-embeddings.jsonl") else { return };
    if !installed("e5-small") {
        return;
    }
    let e = open_bert(&lodestar_core::home::models_dir(), Some("e5-small")).expect("load e5");
    let mut worst = 1.0f32;
    let mut count_mismatch = Vec::new();
    for c in &cases {
        let text = c["text"].as_str().unwrap_or_default();
        let kind = if c["mode"].as_str() == Some("query") { EmbedKind::Query } else { EmbedKind::Passage };
        let want: Vec<f32> = c["embedding"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect())
            .unwrap_or_default();
        let n = c["n_tokens"].as_u64().unwrap_or(0) as usize;
        if e.count_tokens(text, kind) != n {
            count_mismatch.push(format!("{text:?} {kind:?}: want {n}, got {}", e.count_tokens(text, kind)));
        }
        let got = e.embed_texts(&[text], kind).expect("embed");
        let cos = cosine(&got[0], &want);
        worst = worst.min(cos);
        assert!(cos >= 0.999, "cosine {cos} < 0.999 for {text:?} ({kind:?})");
    }
    println!("e5: {} cases, worst cosine {worst:.6}, token-count mismatches {}", cases.len(), count_mismatch.len());
    assert!(count_mismatch.is_empty(), "{}", count_mismatch.join("\n"));
    // Batched embedding gives the same vectors as one at a time.
    let texts: Vec<&str> = cases.iter().filter_map(|c| c["text"].as_str()).collect();
    let batch = e.embed_texts(&texts, EmbedKind::Passage).expect("batch");
    for (t, b) in texts.iter().zip(&batch) {
        let single = e.embed_texts(&[t], EmbedKind::Passage).expect("single");
        // The linear layers quantize activations per row to 8 bits: the same text in a padded
        // batch or alone differs by that rounding only (measured worst cosine 0.99997; f32 path
        // 0.9999999), while padding leaking into attention moves vectors to cosine ≈ 0.85.
        assert!(cosine(&single[0], b) > 0.9999, "batching changed {t:?}: {}", cosine(&single[0], b));
    }
}

/// Four different chat prompts decoded together (greedy, continuous batching through four
/// slots) give each prompt's tokens decoded alone on a fresh cache, exactly.
fn check_batch_equals_alone(model: &str) {
    use lodestar_core::model::ChatMessage;
    use lodestar_infer::{BatchEvent, BatchRequest};
    if !installed(model) {
        return;
    }
    let chat =
        open_gguf_chat(&lodestar_core::home::models_dir(), Some(model), &ChatOptions::default()).expect("load model");
    let questions = [
        "Write a Rust function that returns the median of a slice of f64.",
        "用一句话说明全钢子午线轮胎和半钢轮胎的区别。",
        "What is 17 * 23? Answer with the number only.",
        "列出三个提高回款率的办法，每条不超过十五个字。",
    ];
    let params = GenParams { max_tokens: 32, temperature: 0.0, ..GenParams::default() };
    let prompts: Vec<Vec<u32>> =
        questions.iter().map(|q| chat.encode_prompt(&chat.render(&[ChatMessage::user(*q)])).expect("encode")).collect();
    let alone: Vec<(String, Vec<u32>)> = prompts
        .iter()
        .map(|p| {
            chat.clear_cache();
            let (g, ids) = chat.generate_tokens(p, &params, &mut |_| ControlFlow::Continue(())).expect("generate");
            (g.text, ids)
        })
        .collect();
    let requests: Vec<BatchRequest> =
        prompts.iter().map(|p| BatchRequest { tokens: p.clone(), params: params.clone() }).collect();
    let t = std::time::Instant::now();
    let results = chat.generate_batch(&requests, 4, &mut |_: BatchEvent<'_>| ControlFlow::Continue(())).expect("batch");
    println!("{model}: batch of 4 in {:.1} s", t.elapsed().as_secs_f64());
    assert_eq!(results.len(), 4);
    let mut failures = Vec::new();
    for r in &results {
        let (text, ids) = &alone[r.index];
        println!("{model} #{}: {:?} (alone {:?})", r.index, r.generation.text, text);
        if &r.tokens != ids {
            let same = r.tokens.iter().zip(ids).take_while(|(a, b)| a == b).count();
            failures.push(format!(
                "request {}: batched {:?} vs alone {text:?} (first {same} ids agree)",
                r.index, r.generation.text
            ));
        }
    }
    // The same prompts twice each through eight slots (the 8-row kernels) give the same tokens.
    let twice: Vec<BatchRequest> = requests.iter().chain(&requests).cloned().collect();
    let results =
        chat.generate_batch(&twice, 8, &mut |_: BatchEvent<'_>| ControlFlow::Continue(())).expect("batch of 8");
    assert_eq!(results.len(), 8);
    for r in &results {
        let (_, ids) = &alone[r.index % 4];
        if &r.tokens != ids {
            failures.push(format!("batch of 8, request {}: {:?}", r.index, r.generation.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn qwen_0_5b_batched_greedy_equals_each_alone() {
    check_batch_equals_alone("qwen2.5-coder-0.5b");
}

#[test]
fn qwen_1_5b_batched_greedy_equals_each_alone() {
    check_batch_equals_alone("qwen2.5-coder-1.5b");
}
