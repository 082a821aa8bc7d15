//! Builders for tiny random-weight models written by the tests themselves (no downloads).
#![allow(dead_code)]

use candle_core::{Device, Tensor};
pub use lodestar_infer::testing::{write_tiny_gguf, Prng, IM_END};
use std::collections::HashMap;
use std::path::Path;

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
