//! Hermetic tests on tiny random-weight models written by the tests (no downloads): loading,
//! chat template, streaming, stop strings, determinism, the KV prefix cache, cancellation and the
//! context-length error; the BERT embedder; the E5S1 conversion.

use crate::common::*;
use candle_core::quantized::GgmlDType;
use lodestar_core::model::{
    CancelToken, ChatMessage, EmbedKind, Embedder, FinishReason, GenParams, Generator, ModelError,
};
use lodestar_infer::bert::{cosine, BertEmbedder};
use lodestar_infer::{BatchEvent, BatchRequest, ChatOptions, GgufChat};
use std::ops::ControlFlow;

fn tiny_chat(arch: &str, ctx: u32, dtype: GgmlDType) -> (tempfile::TempDir, GgufChat) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_tiny_gguf(&path, arch, ctx, dtype, 42);
    let chat = GgufChat::load(&path, "tiny", &ChatOptions::default()).unwrap();
    (dir, chat)
}

fn collect(
    chat: &GgufChat,
    msgs: &[ChatMessage],
    params: &GenParams,
) -> (lodestar_core::model::Generation, Vec<String>) {
    let mut pieces = Vec::new();
    let g = chat
        .generate(msgs, params, &mut |p| {
            pieces.push(p.to_string());
            ControlFlow::Continue(())
        })
        .unwrap();
    (g, pieces)
}

fn greedy(n: usize) -> GenParams {
    GenParams { max_tokens: n, temperature: 0.0, ..GenParams::default() }
}

#[test]
fn loads_tiny_qwen2_and_renders_chatml() {
    let (_d, chat) = tiny_chat("qwen2", 256, GgmlDType::F32);
    assert_eq!(chat.name(), "tiny");
    assert_eq!(chat.context_length(), 256);
    let msgs = [ChatMessage::system("be brief"), ChatMessage::user("hello")];
    assert_eq!(
        chat.render(&msgs),
        "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    );
    // "hello" is one merged token (id 259); " wx" = "Ġw" (260) + "x" (byte 0x78).
    assert_eq!(chat.tokenizer().encode("hello wx", false).unwrap(), vec![259, 260, 0x78]);
    assert_eq!(chat.count_tokens("hello").unwrap(), 1);
    // The rendered prompt starts with the <|im_start|> special (262), not its characters.
    let ids = chat.encode_prompt(&chat.render(&msgs)).unwrap();
    assert_eq!(ids[0], 262);
    assert_eq!(ids.iter().filter(|&&i| i == IM_END).count(), 2);
}

#[test]
fn streaming_pieces_add_up_and_greedy_is_deterministic() {
    let (_d, chat) = tiny_chat("qwen2", 256, GgmlDType::F32);
    let msgs = [ChatMessage::user("hello")];
    let (g1, pieces) = collect(&chat, &msgs, &greedy(24));
    assert_eq!(pieces.concat(), g1.text);
    assert!(g1.stats.generated_tokens > 0);
    chat.clear_cache();
    let (g2, _) = collect(&chat, &msgs, &greedy(24));
    assert_eq!(g1.text, g2.text);
    // Same seed, same sampled text; sampling params are honoured.
    let p = GenParams {
        max_tokens: 16,
        temperature: 0.9,
        top_p: Some(0.95),
        top_k: Some(40),
        seed: 7,
        ..GenParams::default()
    };
    let (s1, _) = collect(&chat, &msgs, &p);
    let (s2, _) = collect(&chat, &msgs, &p);
    assert_eq!(s1.text, s2.text);
}

#[test]
fn max_tokens_gives_length_finish() {
    let (_d, chat) = tiny_chat("qwen2", 256, GgmlDType::F32);
    let (g, _) = collect(&chat, &[ChatMessage::user("hello")], &greedy(5));
    if g.stats.finish == FinishReason::Length {
        assert_eq!(g.stats.generated_tokens, 5);
    } else {
        // The model ended its turn before 5 tokens.
        assert!(g.stats.generated_tokens < 5);
    }
}

#[test]
fn stop_string_cuts_the_output() {
    let (_d, chat) = tiny_chat("qwen2", 256, GgmlDType::F32);
    let msgs = [ChatMessage::user("hello")];
    let (full, _) = collect(&chat, &msgs, &greedy(24));
    let chars: Vec<char> = full.text.chars().collect();
    assert!(chars.len() >= 6, "tiny model produced too little text: {:?}", full.text);
    // Stop at the 4th..5th characters of the unconstrained output: the result is the text before
    // the first occurrence of that string, and the stop string itself is not emitted.
    let stop: String = chars[3..5].iter().collect();
    let cut = &full.text[..full.text.find(&stop).unwrap()];
    let p = GenParams { stop: vec![stop.clone()], ..greedy(24) };
    let (g, pieces) = collect(&chat, &msgs, &p);
    assert_eq!(g.text, cut);
    assert_eq!(pieces.concat(), cut);
    assert_eq!(g.stats.finish, FinishReason::Stop);
}

#[test]
fn kv_prefix_cache_matches_full_recompute() {
    let (_d, chat) = tiny_chat("qwen2", 256, GgmlDType::F32);
    let sys = ChatMessage::system("hello hello hello, a shared system prompt");
    let a = chat.encode_prompt(&chat.render(&[sys.clone(), ChatMessage::user("first question")])).unwrap();
    let b = chat.encode_prompt(&chat.render(&[sys.clone(), ChatMessage::user("second one")])).unwrap();
    let lcp = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    assert!(lcp > 10);
    let (_, reused_a) = chat.logits_cached(&a).unwrap();
    assert_eq!(reused_a, 0);
    let (cached, reused_b) = chat.logits_cached(&b).unwrap();
    assert_eq!(reused_b, lcp);
    let full = chat.logits_full(&b).unwrap();
    let max_diff = cached.iter().zip(&full).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 1e-4, "cached vs full logits differ by {max_diff}");

    // Through the Generator: the second question re-uses the system prompt's tokens and answers
    // exactly as a fresh model would.
    chat.clear_cache();
    let (g1, _) = collect(&chat, &[sys.clone(), ChatMessage::user("first question")], &greedy(8));
    assert_eq!(g1.stats.cached_tokens, 0);
    let (g2, _) = collect(&chat, &[sys.clone(), ChatMessage::user("second one")], &greedy(8));
    assert_eq!(g2.stats.cached_tokens, lcp);
    assert_eq!(g2.stats.prompt_tokens, b.len());
    chat.clear_cache();
    let (fresh, _) = collect(&chat, &[sys, ChatMessage::user("second one")], &greedy(8));
    assert_eq!(fresh.text, g2.text);
}

#[test]
fn quantized_batched_prompt_matches_token_by_token() {
    // Q8_0 weights: the prompt path (many rows) and the decode path (one row) agree closely.
    let (_d, chat) = tiny_chat("qwen2", 256, GgmlDType::Q8_0);
    let ids = chat.encode_prompt("<|im_start|>user\nhello hello wow<|im_end|>\n").unwrap();
    let full = chat.logits_full(&ids).unwrap();
    let m = chat.model();
    let mut cache = m.new_cache();
    let mut inc = Vec::new();
    for t in &ids {
        inc = m.forward(&[*t], &mut cache).unwrap();
    }
    let max_diff = full.iter().zip(&inc).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 1e-2, "batched vs incremental differ by {max_diff}");
}

#[test]
fn dense_prompt_path_matches_quantized_kernels() {
    // A prompt of 60 byte tokens (≥ 32 rows) takes the dense f32 path; the quantized kernels
    // (Q8_0 weights, Q8_0-quantized activations) must give the same logits within 2% of the
    // largest logit (8-bit activations carry about 0.4% error per product, over 2 blocks), and the
    // same greedy token.
    use lodestar_infer::llm::PrefillMode;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_tiny_gguf(&path, "qwen2", 256, GgmlDType::Q8_0, 42);
    let load = |p| GgufChat::load(&path, "tiny", &ChatOptions { prefill: Some(p), ..ChatOptions::default() }).unwrap();
    let dense = load(PrefillMode::F32);
    let quant = load(PrefillMode::Quantized);
    let ids = dense.tokenizer().encode(&"steel tyre ".repeat(6), false).unwrap();
    assert!(ids.len() >= 32);
    let a = dense.logits_full(&ids).unwrap();
    let b = quant.logits_full(&ids).unwrap();
    let d = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(d < 0.02 * scale, "dense vs quantized prompt logits differ by {d} (largest logit {scale})");
    assert_eq!(lodestar_infer::llm::argmax(&a), lodestar_infer::llm::argmax(&b));
}

#[test]
fn cancellation_by_token_and_by_callback() {
    let (_d, chat) = tiny_chat("qwen2", 256, GgmlDType::F32);
    let msgs = [ChatMessage::user("hello")];
    let cancel = CancelToken::new();
    cancel.cancel();
    let p = GenParams { cancel: Some(cancel), ..greedy(20) };
    let (g, pieces) = collect(&chat, &msgs, &p);
    assert_eq!(g.stats.finish, FinishReason::Cancelled);
    assert_eq!(g.stats.generated_tokens, 0);
    assert!(pieces.is_empty());

    let mut n = 0;
    let g = chat
        .generate(&msgs, &greedy(20), &mut |_| {
            n += 1;
            if n == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(g.stats.finish, FinishReason::Cancelled);
    assert_eq!(n, 2);
    assert!(g.stats.generated_tokens < 20);
}

#[test]
fn context_length_error_and_length_stop() {
    let (_d, chat) = tiny_chat("qwen2", 48, GgmlDType::F32);
    let long = "x".repeat(100); // 100 byte tokens + template > 48
    let err = chat.generate(&[ChatMessage::user(long)], &greedy(4), &mut |_| ControlFlow::Continue(())).unwrap_err();
    match err {
        ModelError::ContextLength { needed, limit } => {
            assert_eq!(limit, 48);
            assert!(needed > 100);
        }
        other => panic!("expected a context-length error, got {other}"),
    }
    // A prompt that fits but leaves little room stops with Length at the context limit.
    let prompt = "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n";
    let n = chat.encode_prompt(prompt).unwrap().len();
    let g = chat.generate_raw(prompt, &greedy(1000), &mut |_| ControlFlow::Continue(())).unwrap();
    if g.stats.finish == FinishReason::Length {
        assert!(n + g.stats.generated_tokens <= 48);
    }
}

#[test]
fn qwen3_and_llama_architectures_load_and_generate() {
    for arch in ["qwen3", "llama"] {
        let (_d, chat) = tiny_chat(arch, 128, GgmlDType::F32);
        let (g, pieces) = collect(&chat, &[ChatMessage::user("hello")], &greedy(6));
        assert_eq!(pieces.concat(), g.text, "{arch}");
        // Prompt path and token-by-token path agree (checks each architecture's rotary layout).
        let ids = chat.tokenizer().encode("hello hello wow", false).unwrap();
        let full = chat.logits_full(&ids).unwrap();
        let m = chat.model();
        let mut cache = m.new_cache();
        let mut inc = Vec::new();
        for t in &ids {
            inc = m.forward(&[*t], &mut cache).unwrap();
        }
        let d = full.iter().zip(&inc).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(d < 1e-4, "{arch}: {d}");
    }
    assert!(lodestar_infer::llm::Arch::parse("gpt2").is_err());
}

#[test]
fn plain_vector_decoding_matches_the_tensor_path() {
    // Q8_0 weights: every layer has our CPU kernels, so single tokens take the plain-vector path
    // (own RMS norm, rotary, f16-rounded attention over the cache read in place). It must give
    // the tensor path's logits, token after token, for each architecture's layout (qwen2 biases,
    // qwen3 q/k norms, llama interleaved rotary), with a cache that grows past its first 64 slots.
    for arch in ["qwen2", "qwen3", "llama"] {
        let (_d, chat) = tiny_chat(arch, 256, GgmlDType::Q8_0);
        let m = chat.model();
        assert!(m.decodes_plain().unwrap(), "{arch}: the plain path should apply to Q8_0 weights");
        let ids = chat.tokenizer().encode("steel tyre hello wow", false).unwrap();
        let (mut fast, mut slow) = (m.new_cache(), m.new_cache());
        m.forward(&ids, &mut fast).unwrap();
        m.forward_reference(&ids, &mut slow).unwrap();
        let mut next = ids[0];
        for step in 0..80 {
            let a = m.forward(&[next], &mut fast).unwrap();
            let b = m.forward_reference(&[next], &mut slow).unwrap();
            let scale = b.iter().fold(0.0f32, |s, x| s.max(x.abs()));
            let d = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(d <= 1e-4 * scale.max(1.0), "{arch} step {step}: logits differ by {d} (largest {scale})");
            next = lodestar_infer::llm::argmax(&b);
        }
        assert_eq!(fast.len(), slow.len());
        assert_eq!(fast.tokens, slow.tokens);
    }
}

#[test]
fn plain_prompt_rows_match_the_tensor_path() {
    // Prompt chunks of several rows take the plain path too (per-row norms, rotary, causal
    // attention per head and block of 4 rows over only the visible keys). Chunks of 1 … 13 rows
    // after cached prefixes of 0 … 70 positions (past the cache's first 64 slots) must give the
    // tensor path's logits, and leave the same cache behind (checked by decoding after them).
    for arch in ["qwen2", "qwen3", "llama"] {
        let (_d, chat) = tiny_chat(arch, 256, GgmlDType::Q8_0);
        let m = chat.model();
        let ids: Vec<u32> = chat.tokenizer().encode(&"steel tyre hello wow radial truck ".repeat(6), false).unwrap();
        assert!(ids.len() >= 100, "{arch}: {} ids", ids.len());
        let (mut fast, mut slow) = (m.new_cache(), m.new_cache());
        let mut at = 0;
        for chunk in [5usize, 1, 13, 4, 2, 9, 7, 12, 3, 11, 6] {
            let part = &ids[at..at + chunk];
            let a = m.forward(part, &mut fast).unwrap();
            let b = m.forward_reference(part, &mut slow).unwrap();
            let scale = b.iter().fold(0.0f32, |s, x| s.max(x.abs()));
            let d = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(d <= 1e-4 * scale.max(1.0), "{arch} chunk of {chunk} at {at}: logits differ by {d}");
            at += chunk;
        }
        assert_eq!(fast.tokens, slow.tokens);
        let a = m.forward(&[ids[0]], &mut fast).unwrap();
        let b = m.forward_reference(&[ids[0]], &mut slow).unwrap();
        let d = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(d <= 1e-4 * b.iter().fold(1.0f32, |s, x| s.max(x.abs())), "{arch}: decode after chunks differs by {d}");
    }
}

#[test]
fn prompt_tiles_built_ahead_give_the_same_logits() {
    // Q5_0 weights have prompt tiles (on AVX2). Building them ahead (as `open_chat` does on a
    // background thread) must not change what a prompt computes: the same logits, bit for bit,
    // as a model that builds them on its first prompt.
    if !lodestar_infer::q5tile::TiledQ5::available() {
        println!("skipped: the prompt tiles need AVX2 and FMA");
        return;
    }
    let (_d1, ahead) = tiny_chat("qwen2", 256, GgmlDType::Q5_0);
    let (_d2, lazy) = tiny_chat("qwen2", 256, GgmlDType::Q5_0);
    let bytes = ahead.model().prepare_prompt_kernels();
    assert!(bytes > 0, "no tiles were built");
    assert_eq!(ahead.model().prepare_prompt_kernels(), bytes, "a second call builds nothing new");
    let ids = ahead.tokenizer().encode("steel tyre hello wow radial truck", false).unwrap();
    assert!(ids.len() >= 2);
    let a = ahead.model().forward(&ids, &mut ahead.model().new_cache()).unwrap();
    let b = lazy.model().forward(&ids, &mut lazy.model().new_cache()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn tiny_bert_with_4bit_weights_runs_the_integer_kernels_and_agrees_with_f32() {
    if !lodestar_infer::q5tile::TiledQ5::available() {
        println!("skipped: the integer kernels need AVX2 and FMA");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_tiny_bert_opts(dir.path(), 16, 5, true);
    let dev = candle_core::Device::Cpu;
    let int = BertEmbedder::load_opts(dir.path(), "tiny-e5", &dev, true).unwrap();
    let f32 = BertEmbedder::load_opts(dir.path(), "tiny-e5", &dev, false).unwrap();
    // qkv, attention output, intermediate and output of each of the 2 layers.
    assert_eq!(int.integer_linears(), 8);
    assert_eq!(f32.integer_linears(), 0);
    let texts = ["tyre steel", "a b c", "steel", "tyre tyre a b"];
    let a = int.embed(&texts, EmbedKind::Passage).unwrap();
    let b = f32.embed(&texts, EmbedKind::Passage).unwrap();
    for ((t, x), y) in texts.iter().zip(&a).zip(&b) {
        // 8-bit activations against exact f32 ones: the same direction to within 0.1 %.
        assert!(cosine(x, y) > 0.999, "{t}: {}", cosine(x, y));
        // The integer path packs a batch's sequences without padding, and every step (row
        // quantization, the tiled products, layer norms, attention within one sequence) works
        // row by row: one text alone gives bit for bit the vector it gets inside the batch.
        let single = int.embed(&[t], EmbedKind::Passage).unwrap();
        assert_eq!(&single[0], x, "{t}");
    }
    // The packed plain-slice pass computes what the padded tensor pass computes on the same
    // integer tiles, up to f32 rounding in layer norms, softmax and GELU.
    let mut padded = BertEmbedder::load_opts(dir.path(), "tiny-e5", &dev, true).unwrap();
    padded.pack_sequences = false;
    let c = padded.embed(&texts, EmbedKind::Passage).unwrap();
    for ((t, x), y) in texts.iter().zip(&a).zip(&c) {
        let worst = x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-4, "{t}: packed and padded differ by {worst}");
    }
}

#[test]
fn tiny_bert_embeds_normalized_batch_invariant_vectors() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_bert(dir.path(), 16, 3);
    let e = BertEmbedder::load(dir.path(), "tiny-e5", &candle_core::Device::Cpu).unwrap();
    assert_eq!(e.dim(), 16);
    let texts = ["tyre steel", "a b c", "steel"];
    let batch = e.embed(&texts, EmbedKind::Passage).unwrap();
    for (t, v) in texts.iter().zip(&batch) {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        // One at a time (no padding) equals the padded batch.
        let single = e.embed(&[t], EmbedKind::Passage).unwrap();
        assert!(cosine(&single[0], v) > 0.99999, "{t}");
    }
    // The prefix matters: query and passage vectors differ.
    let q = e.embed(&["tyre steel"], EmbedKind::Query).unwrap();
    assert!(cosine(&q[0], &batch[0]) < 0.99999);
    // "passage: tyre steel" = ▁passage : ▁tyre ▁steel plus <s> </s> = 6 tokens.
    assert_eq!(e.count_tokens("tyre steel", EmbedKind::Passage), 6);
    // Longer than the 16 positions: embedded in windows, still a unit vector.
    let long = "tyre steel ".repeat(20);
    let v = e.embed(&[long.as_str()], EmbedKind::Passage).unwrap();
    assert!((v[0].iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-5);
}

/// Prompts of different lengths (so the sequences of a batch sit at different cache lengths).
fn batch_prompts(chat: &GgufChat, n: usize) -> Vec<Vec<u32>> {
    let questions = [
        "hello",
        "steel tyre hello wow radial truck",
        "wow",
        "radial truck tyres for the northern region, hello hello",
        "hello wow hello",
        "truck",
        "the goods-ready date of contract hello",
        "wow wow wow steel",
    ];
    (0..n)
        .map(|i| {
            let q = questions[i % questions.len()];
            chat.encode_prompt(&chat.render(&[ChatMessage::user(format!("{q} #{i}"))])).unwrap()
        })
        .collect()
}

/// Each prompt decoded alone on a fresh cache (no prefix reuse): (generation, token ids).
fn solo(chat: &GgufChat, tokens: &[u32], params: &GenParams) -> (lodestar_core::model::Generation, Vec<u32>) {
    chat.clear_cache();
    chat.generate_tokens(tokens, params, &mut |_| ControlFlow::Continue(())).unwrap()
}

#[test]
fn batched_forward_rows_equal_single_token_logits_bit_for_bit() {
    // `forward_batch` against `forward` of each token alone, step after step, for each
    // architecture's layout, sequences at different cache lengths (one grows past its first 64
    // slots), batch sizes 1 … 5, 8 and 9, and the F32 model whose layers are not on our kernels (there
    // the sequences run one after another).
    for (arch, dtype) in
        [("qwen2", GgmlDType::Q8_0), ("qwen3", GgmlDType::Q8_0), ("llama", GgmlDType::Q8_0), ("qwen2", GgmlDType::F32)]
    {
        let (_d, chat) = tiny_chat(arch, 256, dtype);
        let m = chat.model();
        assert_eq!(m.decodes_plain().unwrap(), dtype == GgmlDType::Q8_0);
        for b in [1usize, 2, 3, 4, 5, 8, 9] {
            let prompts = batch_prompts(&chat, b);
            let (mut batched, mut alone): (Vec<_>, Vec<_>) = (Vec::new(), Vec::new());
            let mut next = Vec::new();
            for p in &prompts {
                let (mut c1, mut c2) = (m.new_cache(), m.new_cache());
                let l = m.forward(p, &mut c1).unwrap();
                assert_eq!(l, m.forward(p, &mut c2).unwrap());
                next.push(lodestar_infer::llm::argmax(&l));
                batched.push(c1);
                alone.push(c2);
            }
            let steps = if b == 2 { 60 } else { 12 };
            for step in 0..steps {
                let mut caches: Vec<&mut lodestar_infer::llm::KvCache> = batched.iter_mut().collect();
                let rows = m.forward_batch(&next, &mut caches).unwrap();
                assert_eq!(rows.len(), b);
                for (i, row) in rows.iter().enumerate() {
                    let want = m.forward(&[next[i]], &mut alone[i]).unwrap();
                    assert!(row == &want, "{arch} {dtype:?} batch {b} step {step} sequence {i}: logits differ");
                    next[i] = lodestar_infer::llm::argmax(row);
                }
            }
            for (a, s) in batched.iter().zip(&alone) {
                assert_eq!(a.len(), s.len());
                assert_eq!(a.tokens, s.tokens);
            }
        }
        assert!(m.forward_batch(&[1, 2], &mut [&mut m.new_cache()]).is_err(), "tokens and caches must pair up");
        assert!(m.forward_batch(&[], &mut []).unwrap().is_empty());
    }
}

#[test]
fn four_prompts_decoded_together_equal_each_decoded_alone() {
    let (_d, chat) = tiny_chat("qwen2", 4096, GgmlDType::Q8_0);
    let prompts = batch_prompts(&chat, 4);
    let params = greedy(40);
    let alone: Vec<_> = prompts.iter().map(|p| solo(&chat, p, &params)).collect();
    let requests: Vec<BatchRequest> =
        prompts.iter().map(|p| BatchRequest { tokens: p.clone(), params: params.clone() }).collect();
    let mut pieces: Vec<String> = vec![String::new(); 4];
    let results = chat
        .generate_batch(&requests, 4, &mut |ev| {
            if let BatchEvent::Token { index, piece } = ev {
                pieces[index].push_str(piece);
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(results.len(), 4);
    let distinct: std::collections::HashSet<&Vec<u32>> = alone.iter().map(|(_, ids)| ids).collect();
    assert!(distinct.len() > 1, "the prompts should not all give the same tokens");
    for r in &results {
        let (g, ids) = &alone[r.index];
        assert_eq!(&r.tokens, ids, "request {}: batched tokens differ from decoding alone", r.index);
        assert!(!r.tokens.is_empty());
        assert_eq!(r.generation.text, g.text);
        assert_eq!(r.generation.stats.finish, g.stats.finish);
        assert_eq!(r.generation.stats.generated_tokens, g.stats.generated_tokens);
        assert_eq!(r.generation.stats.prompt_tokens, prompts[r.index].len());
        assert_eq!(pieces[r.index], r.generation.text, "streamed pieces add up to the text");
    }
}

#[test]
fn continuous_batching_gives_every_request_its_own_result_in_order_of_completion() {
    // Seven requests through three slots, with different lengths, samplers and seeds: each
    // result equals that request decoded alone, the results come back in the order they
    // finished (not the input order), never more than three run at once, and a request
    // cancelled from its own event stops alone.
    let (_d, chat) = tiny_chat("qwen2", 4096, GgmlDType::Q8_0);
    let prompts = batch_prompts(&chat, 7);
    let max_tokens = [14usize, 3, 9, 1, 20, 6, 11];
    let params: Vec<GenParams> = (0..7)
        .map(|i| GenParams {
            max_tokens: max_tokens[i],
            temperature: if i % 3 == 1 { 0.9 } else { 0.0 },
            top_k: Some(20),
            seed: 100 + i as u64,
            ..GenParams::default()
        })
        .collect();
    let alone: Vec<_> = prompts.iter().zip(&params).map(|(p, q)| solo(&chat, p, q)).collect();
    let requests: Vec<BatchRequest> =
        prompts.iter().zip(&params).map(|(p, q)| BatchRequest { tokens: p.clone(), params: q.clone() }).collect();
    let (mut started, mut done_order, mut running, mut most) = (Vec::new(), Vec::new(), 0usize, 0usize);
    let results = chat
        .generate_batch(&requests, 3, &mut |ev| {
            match ev {
                BatchEvent::Started { index } => {
                    started.push(index);
                    running += 1;
                    most = most.max(running);
                }
                BatchEvent::Done { result } => {
                    done_order.push(result.index);
                    running -= 1;
                }
                BatchEvent::Token { .. } => {}
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(started, (0..7).collect::<Vec<_>>(), "requests start in input order");
    assert_eq!(most, 3, "three slots are used and never more");
    let order: Vec<usize> = results.iter().map(|r| r.index).collect();
    assert_eq!(order, done_order, "results come back in order of completion");
    assert_ne!(order, (0..7).collect::<Vec<_>>(), "a short request overtakes a long one");
    let mut seen = order.clone();
    seen.sort();
    assert_eq!(seen, (0..7).collect::<Vec<_>>(), "every request has exactly one result");
    for r in &results {
        let (g, ids) = &alone[r.index];
        assert_eq!(&r.tokens, ids, "request {}", r.index);
        assert_eq!(r.generation.text, g.text, "request {}", r.index);
        assert_eq!(r.generation.stats.finish, FinishReason::Length);
        assert_eq!(r.tokens.len(), max_tokens[r.index]);
    }

    // Cancelling request 0 from its first piece leaves the others as they were.
    let mut cancelled_pieces = 0;
    let results = chat
        .generate_batch(&requests[..4], 2, &mut |ev| match ev {
            BatchEvent::Token { index: 0, .. } => {
                cancelled_pieces += 1;
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .unwrap();
    assert_eq!(cancelled_pieces, 1);
    assert_eq!(results.len(), 4);
    for r in &results {
        if r.index == 0 {
            assert_eq!(r.generation.stats.finish, FinishReason::Cancelled);
            assert!(r.tokens.len() < max_tokens[0]);
        } else {
            assert_eq!(r.tokens, alone[r.index].1, "request {}", r.index);
        }
    }
    // A bad prompt fails the call before anything runs.
    let bad = vec![requests[0].clone(), BatchRequest { tokens: Vec::new(), params: greedy(4) }];
    assert!(chat.generate_batch(&bad, 2, &mut |_| ControlFlow::Continue(())).is_err());
}

#[test]
fn concurrent_calls_through_slots_decode_together_and_each_equals_its_call_alone() {
    // Five threads call `generate` on one SlotChat with three slots while it is paused, so the
    // first round starts as one batch: every call's text, token count and finish equal the
    // same call on the plain model, one step held three sequences, and a caller whose
    // `on_token` breaks stops alone (cancelled) while the others finish.
    let (_d, chat) = tiny_chat("qwen2", 4096, GgmlDType::Q8_0);
    let chat = std::sync::Arc::new(chat);
    let msgs: Vec<Vec<ChatMessage>> = (0..5)
        .map(|i| vec![ChatMessage::user(format!("radial truck tyres hello wow #{i} {}", "steel ".repeat(i)))])
        .collect();
    // the caller that cancels may run long: the decoding thread must not be able to finish its
    // call before that caller's thread has read its second piece (under load it could, at 30)
    let all_params: Vec<GenParams> = (0..5).map(|i| greedy(if i == 4 { 2000 } else { 30 })).collect();
    let alone: Vec<lodestar_core::model::Generation> = msgs
        .iter()
        .zip(&all_params)
        .map(|(m, params)| {
            chat.clear_cache();
            chat.generate(m, params, &mut |_| ControlFlow::Continue(())).unwrap()
        })
        .collect();
    let slots = lodestar_infer::SlotChat::new(chat.clone(), 3).unwrap();
    assert_eq!(slots.name(), "tiny");
    assert_eq!(slots.context_length(), 4096);
    let (steps_before, _) = chat.batch_stats();
    let results: Vec<(String, lodestar_core::model::Generation)> = {
        let pause = slots.pause();
        let out = std::thread::scope(|s| {
            let handles: Vec<_> = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let (slots, params) = (&slots, &all_params[i]);
                    s.spawn(move || {
                        let mut streamed = String::new();
                        let mut pieces = 0;
                        let g = slots
                            .generate(m, params, &mut |p| {
                                streamed.push_str(p);
                                pieces += 1;
                                // the last caller stops after its second piece
                                if i == 4 && pieces == 2 {
                                    ControlFlow::Break(())
                                } else {
                                    ControlFlow::Continue(())
                                }
                            })
                            .unwrap();
                        (streamed, g)
                    })
                })
                .collect();
            // release the round once every caller has queued its call
            while slots.waiting() < 5 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            drop(pause);
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        });
        out
    };
    let (steps, most) = chat.batch_stats();
    assert!(steps > steps_before, "the calls went through batched steps");
    assert_eq!(most, 3, "three slots were full in one step");
    let distinct: std::collections::HashSet<&str> = alone.iter().map(|g| g.text.as_str()).collect();
    assert!(distinct.len() > 1, "the prompts should not all give the same text");
    for (i, ((streamed, g), a)) in results.iter().zip(&alone).enumerate().take(4) {
        assert_eq!(g.text, a.text, "call {i}: text differs from the call alone");
        assert_eq!(g.stats.generated_tokens, a.stats.generated_tokens, "call {i}");
        assert_eq!(g.stats.finish, a.stats.finish, "call {i}");
        assert_eq!(&g.text, streamed, "call {i}: streamed pieces add up to the text");
    }
    let (_, cancelled) = &results[4];
    assert!(alone[4].stats.generated_tokens > 5, "the call alone runs past the point where it is cancelled");
    assert_eq!(cancelled.stats.finish, FinishReason::Cancelled);
    assert!(cancelled.stats.generated_tokens < alone[4].stats.generated_tokens);
    assert_eq!(slots.waiting(), 0);
    // a prompt that does not fit fails that call alone, before it is queued
    let long = vec![ChatMessage::user("hello ".repeat(5000))];
    assert!(matches!(
        slots.generate(&long, &all_params[0], &mut |_| ControlFlow::Continue(())),
        Err(ModelError::ContextLength { .. })
    ));
    assert_eq!(
        slots.generate(&msgs[0], &all_params[0], &mut |_| ControlFlow::Continue(())).unwrap().text,
        alone[0].text
    );
}
