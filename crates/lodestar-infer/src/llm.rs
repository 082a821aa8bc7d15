//! Decoder-only transformer over quantized GGUF weights (量化语言模型): architectures `qwen2`
//! (biases on q/k/v), `qwen3` (per-head q/k RMS norm) and `llama` (interleaved rotary pairs).
//!
//! The KV cache ([`KvCache`]) lives outside the model so that a caller can keep several (one per
//! shared prompt prefix) and truncate them to a common prefix.

use crate::error::{InferError, Result};
use candle_core::quantized::{gguf_file, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};
use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::Arc;

/// Supported GGUF architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Qwen2,
    Qwen3,
    Llama,
}

impl Arch {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "qwen2" => Ok(Arch::Qwen2),
            "qwen3" => Ok(Arch::Qwen3),
            "llama" => Ok(Arch::Llama),
            other => {
                Err(InferError::Format(format!("GGUF architecture {other:?} is not supported (qwen2, qwen3, llama)")))
            }
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Llama => "llama",
        }
    }
}

/// Shape and hyper-parameters read from the GGUF metadata.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub arch: Arch,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub rms_eps: f64,
    pub rope_theta: f32,
    pub context_length: usize,
}

/// How prompt rows (more than one token at a time) are multiplied on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefillMode {
    /// The quantized kernels: activations quantized to 8 bits per block, integer products, as
    /// llama.cpp does (the real-model greedy references hold on this path).
    Quantized,
    /// Weights dequantized to f32 for each prompt chunk and multiplied with a dense GEMM.
    F32,
    /// Like `F32` but the dequantized weights are kept (fast, about 4 bytes per weight of memory).
    F32Cached,
}

impl PrefillMode {
    /// From `LODESTAR_PREFILL` (`quant`, `f32`, `f32-cached`); default [`PrefillMode::Quantized`]:
    /// with our Q5_0 kernels (see `qmm`) it is as fast as the dequantized f32 path on a 2-core
    /// CPU (0.5B, 512-token prompt: 108.6 vs 120.1 tok/s; 1024: 107.0 vs 107.5), needs no extra
    /// memory and keeps llama.cpp's rounding, so the greedy references hold.
    pub fn from_env() -> Self {
        match std::env::var("LODESTAR_PREFILL").as_deref() {
            Ok("f32") => PrefillMode::F32,
            Ok("f32-cached") => PrefillMode::F32Cached,
            _ => PrefillMode::Quantized,
        }
    }
}

/// Prompt chunks with fewer rows than this always use the quantized kernels.
const DENSE_MIN_ROWS: usize = 32;

/// A linear layer with quantized weight and optional f32 bias. On the CPU, single rows
/// (decoding) always go through our kernels over the compact blocks (`qmm`); prompt rows go
/// through ours for Q5_0 and through candle's (repacked, faster for many rows) for the k-quants.
struct Linear {
    own: Option<crate::qmm::QWeights>,
    candle: Option<(QMatMul, Arc<QTensor>)>,
    b: Option<Tensor>,
    dense: std::sync::OnceLock<Tensor>,
}

impl Linear {
    fn new(w: Arc<QTensor>, b: Option<Tensor>) -> Result<Self> {
        let own = crate::qmm::QWeights::from_qtensor(&w)?;
        let candle = match &own {
            Some(o) if o.owns_copy() => None,
            _ => Some((QMatMul::from_arc(w.clone())?, w)),
        };
        Ok(Self { own, candle, b, dense: std::sync::OnceLock::new() })
    }

    fn dequantized(&self, device: &Device) -> Result<Tensor> {
        Ok(match (&self.own, &self.candle) {
            (_, Some((_, qt))) => qt.dequantize(device)?,
            (Some(q), None) => {
                let (n, k) = q.shape();
                Tensor::from_vec(q.dequantize(), (n, k), device)?
            }
            (None, None) => return Err(InferError::Format("linear layer without weights".into())),
        })
    }

    fn forward(&self, x: &Tensor, mode: PrefillMode) -> Result<Tensor> {
        let k = x.dim(candle_core::D::Minus1)?;
        let rows = x.elem_count() / k;
        let cpu = x.device().is_cpu();
        let dense = rows >= DENSE_MIN_ROWS && cpu && mode != PrefillMode::Quantized;
        let mut od = x.dims().to_vec();
        let y = if dense {
            let w = match mode {
                PrefillMode::F32Cached => match self.dense.get() {
                    Some(w) => w.clone(),
                    None => {
                        let w = self.dequantized(x.device())?;
                        let _ = self.dense.set(w.clone());
                        w
                    }
                },
                _ => self.dequantized(x.device())?,
            };
            let y = x.reshape((rows, k))?.matmul(&w.t()?)?;
            if let Some(last) = od.last_mut() {
                *last = y.dim(1)?;
            }
            y.reshape(od)?
        } else {
            match (&self.own, &self.candle) {
                (Some(q), c) if cpu && (rows == 1 || c.is_none() || q.handles_prompts()) => {
                    let flat: Vec<f32> = x.flatten_all()?.to_vec1()?;
                    let y = q.matmul(&flat, rows);
                    if let Some(last) = od.last_mut() {
                        *last = q.shape().0;
                    }
                    Tensor::from_vec(y, od, x.device())?
                }
                (_, Some((w, _))) => w.forward(x)?,
                (_, None) => return Err(InferError::Format("linear layer without weights".into())),
            }
        };
        Ok(match &self.b {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }

    /// Row `i` of the weight as f32 (embedding lookup for a tied output layer).
    fn row(&self, i: usize, device: &Device) -> Result<Tensor> {
        Ok(match (&self.own, &self.candle) {
            (Some(q), _) => Tensor::new(q.row_f32(i), device)?,
            (None, Some((_, qt))) => {
                let ids = Tensor::new(&[i as u32], device)?;
                qt.embedding(&ids)?.squeeze(0)?
            }
            (None, None) => return Err(InferError::Format("linear layer without weights".into())),
        })
    }
}

struct Block {
    attn_norm: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// Where token embeddings are read from.
enum EmbedTable {
    Tied(Arc<Linear>),
    Separate(Arc<Linear>),
}

impl EmbedTable {
    fn table(&self) -> &Linear {
        match self {
            EmbedTable::Tied(l) | EmbedTable::Separate(l) => l,
        }
    }
}

/// Keys and values of one sequence for every layer, in preallocated buffers that grow by doubling.
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    cap: usize,
    /// The token ids whose keys/values are stored, in order.
    pub tokens: Vec<u32>,
}

impl KvCache {
    pub fn new(n_layer: usize) -> Self {
        Self { layers: (0..n_layer).map(|_| None).collect(), len: 0, cap: 0, tokens: Vec::new() }
    }
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Forgets everything after the first `n` positions.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
        self.tokens.truncate(self.len);
    }
    /// Bytes held by the buffers.
    pub fn bytes(&self) -> usize {
        self.layers.iter().flatten().map(|(k, v)| (k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes()).sum()
    }

    /// Appends `k`, `v` of shape (1, n_kv, t, hd) for `layer` at the current length and returns
    /// views of all cached positions.
    fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (_, n_kv, t, hd) = k.dims4()?;
        let need = self.len + t;
        let grow = match &self.layers[layer] {
            None => true,
            Some((kb, _)) => kb.dim(2)? < need,
        };
        if grow {
            let new_cap = need.max(self.cap).max(64).next_power_of_two();
            let kb = Tensor::zeros((1, n_kv, new_cap, hd), k.dtype(), k.device())?;
            let vb = Tensor::zeros((1, n_kv, new_cap, hd), v.dtype(), v.device())?;
            if let Some((ok, ov)) = &self.layers[layer] {
                if self.len > 0 {
                    kb.slice_set(&ok.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                    vb.slice_set(&ov.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                }
            }
            self.layers[layer] = Some((kb, vb));
            if layer + 1 == self.layers.len() || self.cap < new_cap {
                self.cap = self.cap.max(new_cap);
            }
        }
        let Some((kb, vb)) = &self.layers[layer] else {
            return Err(InferError::Format("kv cache layer missing".into()));
        };
        kb.slice_set(&k.contiguous()?, 2, self.len)?;
        vb.slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((kb.narrow(2, 0, need)?, vb.narrow(2, 0, need)?))
    }
}

/// A loaded GGUF chat model.
pub struct LlmModel {
    pub cfg: LlmConfig,
    /// Token embeddings: the same weights as the output layer when the model ties them.
    embed: EmbedTable,
    blocks: Vec<Block>,
    norm: Tensor,
    output: Arc<Linear>,
    cos: Tensor,
    sin: Tensor,
    device: Device,
    /// How prompt chunks are multiplied (see [`PrefillMode`]).
    pub prefill: PrefillMode,
    /// Round queries, keys and values to f16 as llama.cpp's f16 KV cache does.
    pub f16_attn: bool,
}

fn md_usize(md: &HashMap<String, gguf_file::Value>, key: &str) -> Result<usize> {
    let v = md.get(key).ok_or_else(|| InferError::Format(format!("missing metadata {key}")))?;
    v.to_u32()
        .map(|x| x as usize)
        .or_else(|_| v.to_u64().map(|x| x as usize))
        .or_else(|_| v.to_i32().map(|x| x as usize))
        .map_err(|e| InferError::Format(format!("{key}: {e}")))
}

fn md_f32(md: &HashMap<String, gguf_file::Value>, key: &str) -> Option<f32> {
    md.get(key).and_then(|v| v.to_f32().ok().or_else(|| v.to_f64().ok().map(|x| x as f32)))
}

impl LlmConfig {
    pub fn from_metadata(md: &HashMap<String, gguf_file::Value>) -> Result<Self> {
        let arch_s = md
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .ok_or_else(|| InferError::Format("missing general.architecture".into()))?;
        let arch = Arch::parse(arch_s)?;
        let a = arch.as_str();
        let n_embd = md_usize(md, &format!("{a}.embedding_length"))?;
        let n_head = md_usize(md, &format!("{a}.attention.head_count"))?;
        let n_kv_head = md_usize(md, &format!("{a}.attention.head_count_kv")).unwrap_or(n_head);
        let head_dim = md_usize(md, &format!("{a}.attention.key_length")).unwrap_or(n_embd / n_head.max(1));
        let cfg = Self {
            arch,
            n_layer: md_usize(md, &format!("{a}.block_count"))?,
            n_embd,
            n_head,
            n_kv_head,
            head_dim,
            rms_eps: md_f32(md, &format!("{a}.attention.layer_norm_rms_epsilon")).unwrap_or(1e-6) as f64,
            rope_theta: md_f32(md, &format!("{a}.rope.freq_base")).unwrap_or(10_000.0),
            context_length: md_usize(md, &format!("{a}.context_length")).unwrap_or(4096),
        };
        if cfg.n_head == 0
            || cfg.n_kv_head == 0
            || !cfg.n_head.is_multiple_of(cfg.n_kv_head)
            || !cfg.head_dim.is_multiple_of(2)
        {
            return Err(InferError::Format(format!("inconsistent attention shape: {cfg:?}")));
        }
        Ok(cfg)
    }
}

impl LlmModel {
    /// Loads the weights of a parsed GGUF file. `max_context` caps the rotary table (and so the
    /// context the model accepts) to bound memory.
    pub fn load<R: Read + Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        device: &Device,
        max_context: Option<usize>,
    ) -> Result<Self> {
        let mut cfg = LlmConfig::from_metadata(&content.metadata)?;
        if let Some(m) = max_context {
            cfg.context_length = cfg.context_length.min(m.max(1));
        }
        let mut get = |name: &str| -> Result<Arc<QTensor>> {
            Ok(Arc::new(
                content.tensor(reader, name, device).map_err(|e| InferError::Format(format!("tensor {name}: {e}")))?,
            ))
        };
        let has = |name: &str| content.tensor_infos.contains_key(name);
        let embed_q = get("token_embd.weight")?;
        let norm = get("output_norm.weight")?.dequantize(device)?;
        let (output, embed) = if has("output.weight") {
            let out = Arc::new(Linear::new(get("output.weight")?, None)?);
            (out, EmbedTable::Separate(Arc::new(Linear::new(embed_q, None)?)))
        } else {
            let out = Arc::new(Linear::new(embed_q, None)?);
            (out.clone(), EmbedTable::Tied(out))
        };
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            let p = format!("blk.{i}");
            let mut lin = |n: &str| -> Result<Linear> {
                let w = get(&format!("{p}.{n}.weight"))?;
                let bname = format!("{p}.{n}.bias");
                let b = if has(&bname) { Some(get(&bname)?.dequantize(device)?) } else { None };
                Linear::new(w, b)
            };
            let q = lin("attn_q")?;
            let k = lin("attn_k")?;
            let v = lin("attn_v")?;
            let o = lin("attn_output")?;
            let gate = lin("ffn_gate")?;
            let up = lin("ffn_up")?;
            let down = lin("ffn_down")?;
            let qn = format!("{p}.attn_q_norm.weight");
            let kn = format!("{p}.attn_k_norm.weight");
            let q_norm = if has(&qn) { Some(get(&qn)?.dequantize(device)?) } else { None };
            let k_norm = if has(&kn) { Some(get(&kn)?.dequantize(device)?) } else { None };
            blocks.push(Block {
                attn_norm: get(&format!("{p}.attn_norm.weight"))?.dequantize(device)?,
                q,
                k,
                v,
                o,
                q_norm,
                k_norm,
                ffn_norm: get(&format!("{p}.ffn_norm.weight"))?.dequantize(device)?,
                gate,
                up,
                down,
            });
        }
        let (cos, sin) = rope_tables(cfg.head_dim, cfg.rope_theta, cfg.context_length, device)?;
        Ok(Self {
            cfg,
            embed,
            blocks,
            norm,
            output,
            cos,
            sin,
            device: device.clone(),
            prefill: PrefillMode::from_env(),
            f16_attn: std::env::var("LODESTAR_F16_ATTN").map(|v| v != "0").unwrap_or(true),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.cfg.n_layer)
    }

    /// Runs `tokens` (appended after the cache's current positions) and returns the logits of the
    /// last token as a vector. Appends to the cache.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let logits = self.forward_tensor(tokens, cache)?;
        Ok(logits.to_dtype(DType::F32)?.to_vec1::<f32>()?)
    }

    fn forward_tensor(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let t = tokens.len();
        if t == 0 {
            return Err(InferError::Format("forward called with no tokens".into()));
        }
        let pos = cache.len();
        if pos + t > self.cfg.context_length {
            return Err(InferError::ContextLength { needed: pos + t, limit: self.cfg.context_length });
        }
        let rows =
            tokens.iter().map(|&id| self.embed.table().row(id as usize, &self.device)).collect::<Result<Vec<_>>>()?;
        let mut x = Tensor::stack(&rows, 0)?.unsqueeze(0)?; // (1, t, d)
        let cos = self.cos.narrow(0, pos, t)?;
        let sin = self.sin.narrow(0, pos, t)?;
        let mask = if t > 1 { Some(causal_mask(t, pos, &self.device)?) } else { None };
        let (nh, nkv, hd) = (self.cfg.n_head, self.cfg.n_kv_head, self.cfg.head_dim);
        let eps = self.cfg.rms_eps as f32;
        let mode = self.prefill;
        for (li, b) in self.blocks.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &b.attn_norm, eps)?;
            let q = b.q.forward(&h, mode)?.reshape((1, t, nh, hd))?;
            let k = b.k.forward(&h, mode)?.reshape((1, t, nkv, hd))?;
            let v = b.v.forward(&h, mode)?.reshape((1, t, nkv, hd))?.transpose(1, 2)?.contiguous()?;
            let (q, k) = match (&b.q_norm, &b.k_norm) {
                (Some(qn), Some(kn)) => (
                    candle_nn::ops::rms_norm(&q.contiguous()?, qn, eps)?,
                    candle_nn::ops::rms_norm(&k.contiguous()?, kn, eps)?,
                ),
                _ => (q, k),
            };
            let q = q.transpose(1, 2)?.contiguous()?;
            let k = k.transpose(1, 2)?.contiguous()?;
            let (q, k) = if self.cfg.arch == Arch::Llama {
                (candle_nn::rotary_emb::rope_i(&q, &cos, &sin)?, candle_nn::rotary_emb::rope_i(&k, &cos, &sin)?)
            } else {
                (candle_nn::rotary_emb::rope(&q, &cos, &sin)?, candle_nn::rotary_emb::rope(&k, &cos, &sin)?)
            };
            // llama.cpp keeps keys and values in f16 and multiplies queries in f16: round the
            // same way so greedy choices at near-ties follow the reference engine.
            let (q, k, v) = if self.f16_attn { (round_f16(&q)?, round_f16(&k)?, round_f16(&v)?) } else { (q, k, v) };
            let (k_all, v_all) = cache.append(li, &k, &v)?;
            let kv_len = pos + t;
            // Grouped-query attention without copying keys: fold the query heads of one kv group
            // into the row dimension: (1, nkv, rep * t, hd) against (1, nkv, kv_len, hd).
            let rep = nh / nkv;
            let qg = q.reshape((1, nkv, rep * t, hd))?;
            let scale = 1.0 / (hd as f64).sqrt();
            let att = (qg.matmul(&k_all.t()?)? * scale)?; // (1, nkv, rep*t, kv_len)
            let att = match &mask {
                Some(m) => {
                    att.reshape((1, nkv, rep, t, kv_len))?.broadcast_add(m)?.reshape((1, nkv, rep * t, kv_len))?
                }
                None => att,
            };
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let y = att.matmul(&v_all.contiguous()?)?; // (1, nkv, rep*t, hd)
            let y = y.reshape((1, nh, t, hd))?.transpose(1, 2)?.reshape((1, t, nh * hd))?;
            let y = b.o.forward(&y, mode)?;
            x = (x + y)?;
            let h = candle_nn::ops::rms_norm(&x, &b.ffn_norm, eps)?;
            let g = candle_nn::ops::silu(&b.gate.forward(&h, mode)?)?;
            let u = b.up.forward(&h, mode)?;
            let y = b.down.forward(&(g * u)?, mode)?;
            x = (x + y)?;
        }
        cache.len = pos + t;
        cache.tokens.extend_from_slice(tokens);
        let last = x.narrow(1, t - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, eps)?;
        let logits = self.output.forward(&last, PrefillMode::Quantized)?;
        Ok(logits.flatten_all()?)
    }
}

fn round_f16(t: &Tensor) -> Result<Tensor> {
    Ok(t.to_dtype(DType::F16)?.to_dtype(DType::F32)?)
}

/// Causal mask for `t` new positions after `pos` cached ones: (t, pos + t), 0 or −∞.
fn causal_mask(t: usize, pos: usize, device: &Device) -> Result<Tensor> {
    let n = pos + t;
    let mut m = vec![0f32; t * n];
    for i in 0..t {
        for j in (pos + i + 1)..n {
            m[i * n + j] = f32::NEG_INFINITY;
        }
    }
    Ok(Tensor::from_vec(m, (t, n), device)?)
}

/// Rotary tables (cos, sin) of shape (positions, head_dim / 2).
fn rope_tables(head_dim: usize, theta: f32, positions: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = head_dim / 2;
    let inv: Vec<f32> = (0..half).map(|i| 1.0 / theta.powf(2.0 * i as f32 / head_dim as f32)).collect();
    let mut cos = Vec::with_capacity(positions * half);
    let mut sin = Vec::with_capacity(positions * half);
    for p in 0..positions {
        for f in &inv {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    Ok((Tensor::from_vec(cos, (positions, half), device)?, Tensor::from_vec(sin, (positions, half), device)?))
}

/// Index of the largest value (first on ties).
pub fn argmax(v: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best as u32
}
