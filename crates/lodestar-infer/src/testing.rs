//! Tiny random-weight chat models for tests (here and in other crates' tests): the real GGUF
//! loading, tokenizer and generation code run on them without any download.
#![doc(hidden)]

pub use candle_core::quantized::gguf_file::Value as GgufValue;
pub use candle_core::quantized::GgmlDType as TinyDType;
use candle_core::quantized::{gguf_file::Value, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use std::path::Path;

/// Deterministic pseudo-random values in [-scale, scale].
pub struct Prng(u64);
impl Prng {
    pub fn new(seed: u64) -> Self {
        Prng(seed)
    }
    #[allow(clippy::should_implement_trait)]
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

/// A tiny qwen2 chat model (Q8_0 weights) at `path`, for other crates' tests.
pub fn write_tiny_chat_model(path: &Path, seed: u64) {
    write_tiny_gguf(path, "qwen2", 4096, GgmlDType::Q8_0, seed)
}

/// Copies the GGUF at `src` to `dst` with its metadata edited by `edit` (tensors unchanged): for
/// tests of files that lack a key or carry another value.
pub fn rewrite_gguf(src: &Path, dst: &Path, edit: impl FnOnce(&mut Vec<(String, Value)>)) {
    use candle_core::quantized::gguf_file;
    let mut f = std::fs::File::open(src).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    let mut md: Vec<(String, Value)> = content.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    md.sort_by(|a, b| a.0.cmp(&b.0));
    edit(&mut md);
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let tensors: Vec<(String, QTensor)> =
        names.into_iter().map(|n| (n.clone(), content.tensor(&mut f, n, &Device::Cpu).unwrap())).collect();
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = std::fs::File::create(dst).unwrap();
    gguf_file::write(&mut out, &md_refs, &t_refs).unwrap();
}
