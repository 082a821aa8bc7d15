//! Builders for tiny random-weight models written by the tests themselves (no downloads).
#![allow(dead_code)]

use candle_core::quantized::{gguf_file::Value, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Deterministic pseudo-random values in [-scale, scale].
pub struct Prng(u64);
impl Prng {
    pub fn new(seed: u64) -> Self {
        Prng(seed)
    }
    pub fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

/// GPT-2 byte → char table (same as the tokenizer's).
pub fn byte_chars() -> Vec<char> {
    let mut n = 0u32;
    (0..256u32)
        .map(|b| {
            let printable = (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
            let c = if printable {
                b
            } else {
                n += 1;
                255 + n
            };
            char::from_u32(c).unwrap()
        })
        .collect()
}

pub const HIDDEN: usize = 32;
pub const VOCAB_SPECIAL: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// Vocabulary: 256 byte tokens, merged tokens "he", "ll", "hell", "hello", "Ġw", then the three
/// ChatML specials (ids 261, 262, 263).
pub fn tiny_vocab() -> (Vec<String>, Vec<i32>, Vec<String>) {
    let mut tokens: Vec<String> = byte_chars().iter().map(|c| c.to_string()).collect();
    let mut types = vec![1i32; 256];
    for t in ["he", "ll", "hell", "hello", "Ġw"] {
        tokens.push(t.into());
        types.push(1);
    }
    for s in VOCAB_SPECIAL {
        tokens.push(s.into());
        types.push(3);
    }
    let merges = ["h e", "l l", "he ll", "hell o", "Ġ w"].iter().map(|s| s.to_string()).collect();
    (tokens, types, merges)
}

pub const IM_END: u32 = 263;

/// Writes a tiny random-weight GGUF chat model of architecture `arch` ("qwen2", "qwen3",
/// "llama") to `path`. Two blocks, hidden 32, 4 query heads, 2 kv heads, context `ctx`.
pub fn write_tiny_gguf(path: &Path, arch: &str, ctx: u32, dtype: GgmlDType, seed: u64) {
    let (tokens, types, merges) = tiny_vocab();
    let vocab = tokens.len();
    let (h, nh, nkv, ff, layers) = (HIDDEN, 4usize, 2usize, 64usize, 2usize);
    let hd = h / nh;
    let mut rng = Prng::new(seed);
    let dev = Device::Cpu;
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut add = |name: &str, shape: &[usize], data: Vec<f32>, q: bool| {
        let t = Tensor::from_vec(data, shape, &dev).unwrap();
        let dt = if q { dtype } else { GgmlDType::F32 };
        tensors.push((name.to_string(), QTensor::quantize(&t, dt).unwrap()));
    };
    add("token_embd.weight", &[vocab, h], rng.vec(vocab * h, 1.0), true);
    let ones = |n: usize| vec![1.0f32; n];
    add("output_norm.weight", &[h], ones(h), false);
    // Output rows of the special tokens are zero, so that random logits rarely end the turn.
    let mut out = rng.vec(vocab * h, 0.5);
    for id in 261..vocab {
        out[id * h..(id + 1) * h].iter_mut().for_each(|x| *x = 0.0);
    }
    add("output.weight", &[vocab, h], out, true);
    for l in 0..layers {
        let p = format!("blk.{l}");
        add(&format!("{p}.attn_norm.weight"), &[h], ones(h), false);
        add(&format!("{p}.ffn_norm.weight"), &[h], ones(h), false);
        add(&format!("{p}.attn_q.weight"), &[nh * hd, h], rng.vec(nh * hd * h, 0.3), true);
        add(&format!("{p}.attn_k.weight"), &[nkv * hd, h], rng.vec(nkv * hd * h, 0.3), true);
        add(&format!("{p}.attn_v.weight"), &[nkv * hd, h], rng.vec(nkv * hd * h, 0.3), true);
        add(&format!("{p}.attn_output.weight"), &[h, nh * hd], rng.vec(h * nh * hd, 0.3), true);
        add(&format!("{p}.ffn_gate.weight"), &[ff, h], rng.vec(ff * h, 0.3), true);
        add(&format!("{p}.ffn_up.weight"), &[ff, h], rng.vec(ff * h, 0.3), true);
        add(&format!("{p}.ffn_down.weight"), &[h, ff], rng.vec(h * ff, 0.3), true);
        if arch == "qwen2" {
            add(&format!("{p}.attn_q.bias"), &[nh * hd], rng.vec(nh * hd, 0.1), false);
            add(&format!("{p}.attn_k.bias"), &[nkv * hd], rng.vec(nkv * hd, 0.1), false);
            add(&format!("{p}.attn_v.bias"), &[nkv * hd], rng.vec(nkv * hd, 0.1), false);
        }
        if arch == "qwen3" {
            add(&format!("{p}.attn_q_norm.weight"), &[hd], ones(hd), false);
            add(&format!("{p}.attn_k_norm.weight"), &[hd], ones(hd), false);
        }
    }
    let s = |x: &str| Value::String(x.to_string());
    let template = if arch == "llama" {
        "{{ '<|start_header_id|>' }}"
    } else {
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    };
    let md: Vec<(String, Value)> = vec![
        ("general.architecture".into(), s(arch)),
        ("general.name".into(), s("tiny")),
        (format!("{arch}.block_count"), Value::U32(layers as u32)),
        (format!("{arch}.embedding_length"), Value::U32(h as u32)),
        (format!("{arch}.feed_forward_length"), Value::U32(ff as u32)),
        (format!("{arch}.attention.head_count"), Value::U32(nh as u32)),
        (format!("{arch}.attention.head_count_kv"), Value::U32(nkv as u32)),
        (format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (format!("{arch}.rope.freq_base"), Value::F32(10000.0)),
        (format!("{arch}.context_length"), Value::U32(ctx)),
        ("tokenizer.ggml.model".into(), s("gpt2")),
        ("tokenizer.ggml.pre".into(), s("qwen2")),
        ("tokenizer.ggml.tokens".into(), Value::Array(tokens.iter().map(|t| s(t)).collect())),
        ("tokenizer.ggml.token_type".into(), Value::Array(types.iter().map(|&t| Value::I32(t)).collect())),
        ("tokenizer.ggml.merges".into(), Value::Array(merges.iter().map(|m| s(m)).collect())),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(IM_END)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
        ("tokenizer.chat_template".into(), s(template)),
    ];
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    candle_core::quantized::gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
}

/// Writes a tiny BERT (HF names) with `config.json` and a unigram `tokenizer.json` into `dir`.
/// Hidden 16, 2 layers, 2 heads, intermediate 32, `max_pos` positions.
pub fn write_tiny_bert(dir: &Path, max_pos: usize, seed: u64) {
    write_tiny_bert_opts(dir, max_pos, seed, false)
}

/// A tiny BERT; with `q4` its linear weights are exact Q4_0 blocks (`d · q`, `q` in −8 … 7, `d`
/// an f16 value, 32 values per block along the input) and its widths multiples of 32, as the
/// integer kernels need.
pub fn write_tiny_bert_opts(dir: &Path, max_pos: usize, seed: u64, q4: bool) {
    use lodestar_infer::tokenizer::UnigramTokenizer;
    let pieces: Vec<String> =
        ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁query", ":", "▁passage", "▁tyre", "▁steel", "▁a", "b", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let scores: Vec<f32> = (0..pieces.len()).map(|i| if i < 4 { 0.0 } else { -1.0 - i as f32 * 0.1 }).collect();
    let tok = UnigramTokenizer::new(pieces.clone(), scores, (0, 2, 1, 3), vec![(9, vec![32])]).unwrap();
    let (h, ff, layers, vocab) = if q4 { (32usize, 64usize, 2usize, pieces.len()) } else { (16, 32, 2, pieces.len()) };
    let mut rng = Prng::new(seed);
    let dev = Device::Cpu;
    let mut t: HashMap<String, Tensor> = HashMap::new();
    let mut put = |n: &str, shape: &[usize], scale: f32, rng: &mut Prng| {
        let count: usize = shape.iter().product();
        t.insert(n.to_string(), Tensor::from_vec(rng.vec(count, scale), shape, &dev).unwrap());
    };
    put("embeddings.word_embeddings.weight", &[vocab, h], 1.0, &mut rng);
    put("embeddings.position_embeddings.weight", &[max_pos, h], 0.1, &mut rng);
    put("embeddings.token_type_embeddings.weight", &[1, h], 0.1, &mut rng);
    let ln = |n: &str, t: &mut HashMap<String, Tensor>| {
        t.insert(format!("{n}.weight"), Tensor::ones(h, candle_core::DType::F32, &dev).unwrap());
        t.insert(format!("{n}.bias"), Tensor::zeros(h, candle_core::DType::F32, &dev).unwrap());
    };
    ln("embeddings.LayerNorm", &mut t);
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for (n, o, i) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", ff, h),
            ("output.dense", h, ff),
        ] {
            let mut wv = rng.vec(o * i, 0.3);
            if q4 {
                for blk in wv.chunks_mut(32) {
                    let d = half::f16::from_f32(0.3 / 8.0 * (1.0 + blk[0].abs())).to_f32();
                    for v in blk.iter_mut() {
                        *v = ((*v / 0.3 * 8.0).round().clamp(-8.0, 7.0)) * d;
                    }
                }
            }
            let w = Tensor::from_vec(wv, (o, i), &dev).unwrap();
            let b = Tensor::from_vec(rng.vec(o, 0.05), o, &dev).unwrap();
            t.insert(format!("{p}.{n}.weight"), w);
            t.insert(format!("{p}.{n}.bias"), b);
        }
        ln(&format!("{p}.attention.output.LayerNorm"), &mut t);
        ln(&format!("{p}.output.LayerNorm"), &mut t);
    }
    std::fs::create_dir_all(dir).unwrap();
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();
    let cfg = serde_json::json!({
        "hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": 2,
        "intermediate_size": ff, "vocab_size": vocab, "max_position_embeddings": max_pos,
        "type_vocab_size": 1, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "model_type": "bert"
    });
    std::fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tok.to_json().unwrap()).unwrap();
}
