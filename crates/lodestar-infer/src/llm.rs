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
    /// `qwen2` (Qwen2 / Qwen2.5): biases on q, k, v.
    Qwen2,
    /// `qwen3`: per-head RMS norm of q and k.
    Qwen3,
    /// `llama`: interleaved rotary pairs.
    Llama,
}

impl Arch {
    /// The architecture of a GGUF `general.architecture` value; an error for unsupported ones.
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
    /// The `general.architecture` name.
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
    /// The architecture.
    pub arch: Arch,
    /// Transformer blocks.
    pub n_layer: usize,
    /// Width of the hidden states.
    pub n_embd: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (grouped-query attention).
    pub n_kv_head: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Epsilon of the RMS norms.
    pub rms_eps: f64,
    /// Base frequency of the rotary embeddings.
    pub rope_theta: f32,
    /// Context length the model was trained for.
    pub context_length: usize,
}

/// How prompt rows (more than one token at a time) are multiplied on the CPU: a run-time option
/// (`prefill`, see [`lodestar_core::runtime`]).
pub use lodestar_core::runtime::PrefillMode;

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
    /// An empty cache for a model of `n_layer` blocks.
    pub fn new(n_layer: usize) -> Self {
        Self { layers: (0..n_layer).map(|_| None).collect(), len: 0, cap: 0, tokens: Vec::new() }
    }
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether no position is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Forgets everything after the first `n` positions.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
        self.tokens.truncate(self.len);
    }
    /// A copy of the first `n` cached positions in buffers of its own (appending to either cache
    /// later leaves the other alone).
    pub fn copy_prefix(&self, n: usize) -> Result<Self> {
        let n = n.min(self.len);
        if n == 0 {
            return Ok(Self::new(self.layers.len()));
        }
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            layers.push(match l {
                Some((k, v)) => Some((k.copy()?, v.copy()?)),
                None => None,
            });
        }
        Ok(Self { layers, len: n, cap: self.cap, tokens: self.tokens[..n].to_vec() })
    }

    /// Bytes held by the buffers.
    pub fn bytes(&self) -> usize {
        self.layers.iter().flatten().map(|(k, v)| (k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes()).sum()
    }

    /// Runs `f` over `layer`'s key and value buffers read in place on the CPU, laid out
    /// (kv head, position, dim) with room for `cap` positions.
    fn with_layer<R>(&self, layer: usize, f: impl FnOnce(&[f32], &[f32], usize) -> R) -> Result<R> {
        let Some((kb, vb)) = &self.layers[layer] else {
            return Err(InferError::Format("kv cache layer missing".into()));
        };
        let cap = kb.dim(2)?;
        let (ks, kl) = kb.storage_and_layout();
        let (vs, vl) = vb.storage_and_layout();
        match (&*ks, &*vs) {
            (candle_core::Storage::Cpu(k), candle_core::Storage::Cpu(v)) => {
                let (k, v) = (k.as_slice::<f32>()?, v.as_slice::<f32>()?);
                Ok(f(&k[kl.start_offset()..], &v[vl.start_offset()..], cap))
            }
            _ => Err(InferError::Format("kv cache is not on the CPU".into())),
        }
    }

    /// `layer`'s key and value buffers (handles to the same storage), laid out (1, kv head,
    /// position < capacity, dim).
    fn layer_buffers(&self, layer: usize) -> Result<(Tensor, Tensor)> {
        self.layers[layer].clone().ok_or_else(|| InferError::Format("kv cache layer missing".into()))
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
    /// Shape and hyper-parameters.
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
    /// Round queries, keys and values to f16 as llama.cpp's f16 KV cache does, and the attention
    /// probabilities as its non-flash attention does before multiplying the f16 values (1.5B
    /// greedy references: 1 → 2 of 3 identical texts; 0.5B: 3 of 3 either way).
    pub f16_attn: bool,
    /// Norm weights, biases and rotary tables as plain vectors for [`LlmModel::forward_one`]
    /// (made on the first decoded token; `None` where that path does not apply).
    raw: std::sync::OnceLock<Option<RawParams>>,
    /// Whether single tokens take the plain-vector path (`LODESTAR_DECODE=tensor` turns it off).
    pub raw_decode: bool,
}

/// The small f32 parameters of one block as vectors.
struct RawBlock {
    attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    q_bias: Option<Vec<f32>>,
    k_bias: Option<Vec<f32>>,
    v_bias: Option<Vec<f32>>,
    o_bias: Option<Vec<f32>>,
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
}

/// Everything [`LlmModel::forward_one`] reads besides the quantized weights.
struct RawParams {
    blocks: Vec<RawBlock>,
    norm: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
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
    /// Reads the shape from GGUF metadata (`general.architecture` and `<arch>.*` keys).
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
        let runtime = lodestar_core::runtime::current();
        Ok(Self {
            cfg,
            embed,
            blocks,
            norm,
            output,
            cos,
            sin,
            device: device.clone(),
            prefill: runtime.prefill,
            f16_attn: runtime.f16_attention,
            raw: std::sync::OnceLock::new(),
            raw_decode: runtime.decode == lodestar_core::runtime::DecodePath::Plain,
        })
    }

    /// The device the tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Builds the prompt tiles of every block's weights now instead of on the first prompt (which
    /// otherwise waits for them: about 2 s for the 1.5B on this project's 2-core machine). The
    /// products and their results are the same either way. Returns the bytes of the tiles.
    pub fn prepare_prompt_kernels(&self) -> usize {
        self.own_weights().map(|w| w.prepare_tiles()).sum()
    }

    /// Every block weight we multiply ourselves.
    fn own_weights(&self) -> impl Iterator<Item = &crate::qmm::QWeights> {
        self.blocks
            .iter()
            .flat_map(|b| [&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down])
            .filter_map(|l| l.own.as_ref())
    }

    /// [`Self::prepare_prompt_kernels`] spread over the thread pool (the first prompt calls this
    /// so that its wait for the tiles is shared by all cores; weights whose tiles exist already,
    /// or are being built by another thread, cost only a look-up or that wait).
    fn prepare_prompt_kernels_parallel(&self) {
        let weights: Vec<&crate::qmm::QWeights> = self.own_weights().collect();
        candle_core::utils::barrier_pool().execute_chunked(weights.len(), |items| {
            for i in items {
                weights[i].prepare_tiles();
            }
        });
    }

    /// An empty KV cache sized for this model's blocks.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.cfg.n_layer)
    }

    /// Runs `tokens` (appended after the cache's current positions) and returns the logits of the
    /// last token as a vector. Appends to the cache.
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        if let ([token], true) = (tokens, self.raw_decode) {
            if let Some(raw) = self.raw_params()? {
                return self.forward_one(*token, cache, raw);
            }
        }
        if tokens.len() > 1 && self.raw_decode && self.prefill == PrefillMode::Quantized {
            if let Some(raw) = self.raw_params()? {
                return self.forward_rows(tokens, cache, raw);
            }
        }
        let logits = self.forward_tensor(tokens, cache)?;
        Ok(logits.to_dtype(DType::F32)?.to_vec1::<f32>()?)
    }

    /// One decoded token for each of several sequences at once (a decoding batch): `tokens[i]`
    /// is appended after `caches[i]`'s positions and row `i` of the result is its next-token
    /// logits. Each sequence attends only to its own cache, whatever its length. On the CPU's
    /// plain-vector path the weight products run once for all rows ([`Self::forward_one`]'s
    /// arithmetic row for row, so every row's logits equal what [`Self::forward`] of that token
    /// alone gives, bit for bit); elsewhere the sequences run one after another.
    pub fn forward_batch(&self, tokens: &[u32], caches: &mut [&mut KvCache]) -> Result<Vec<Vec<f32>>> {
        if tokens.len() != caches.len() {
            return Err(InferError::Format(format!(
                "forward_batch: {} tokens for {} caches",
                tokens.len(),
                caches.len()
            )));
        }
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        if self.raw_decode {
            if let Some(raw) = self.raw_params()? {
                return self.forward_one_batch(tokens, caches, raw);
            }
        }
        tokens.iter().zip(caches.iter_mut()).map(|(&t, c)| self.forward(&[t], c)).collect()
    }

    /// Like [`Self::forward`] but always through the tensor path (the reference the single-token
    /// path is checked against).
    pub fn forward_reference(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let logits = self.forward_tensor(tokens, cache)?;
        Ok(logits.to_dtype(DType::F32)?.to_vec1::<f32>()?)
    }

    /// Whether a single decoded token takes the plain-vector path ([`Self::forward_one`]): on
    /// the CPU when every weight type has our kernels (Q5_0, Q8_0, Q4_K, Q6_K).
    pub fn decodes_plain(&self) -> Result<bool> {
        Ok(self.raw_decode && self.raw_params()?.is_some())
    }

    /// The plain-vector parameters, when every weight is multiplied by our CPU kernels.
    fn raw_params(&self) -> Result<Option<&RawParams>> {
        if let Some(r) = self.raw.get() {
            return Ok(r.as_ref());
        }
        let own = |l: &Linear| l.own.is_some();
        let applies = self.device.is_cpu()
            && own(&self.output)
            && own(self.embed.table())
            && self.blocks.iter().all(|b| [&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down].into_iter().all(own));
        let made = if applies {
            let v = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?) };
            let ov = |t: &Option<Tensor>| -> Result<Option<Vec<f32>>> { t.as_ref().map(v).transpose() };
            let blocks = self
                .blocks
                .iter()
                .map(|b| {
                    Ok(RawBlock {
                        attn_norm: v(&b.attn_norm)?,
                        ffn_norm: v(&b.ffn_norm)?,
                        q_bias: ov(&b.q.b)?,
                        k_bias: ov(&b.k.b)?,
                        v_bias: ov(&b.v.b)?,
                        o_bias: ov(&b.o.b)?,
                        q_norm: ov(&b.q_norm)?,
                        k_norm: ov(&b.k_norm)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Some(RawParams { blocks, norm: v(&self.norm)?, cos: v(&self.cos)?, sin: v(&self.sin)? })
        } else {
            None
        };
        let _ = self.raw.set(made);
        Ok(self.raw.get().and_then(|r| r.as_ref()))
    }

    /// One decoded token on the CPU with plain vectors: the same arithmetic as
    /// [`Self::forward_tensor`] for one row (RMS norm, rotary, f16-rounded attention, SwiGLU)
    /// without building a tensor per operation, reading the KV cache in place, and spreading the
    /// attention heads over the thread pool. Appends to the cache; returns the logits.
    fn forward_one(&self, token: u32, cache: &mut KvCache, raw: &RawParams) -> Result<Vec<f32>> {
        let pos = cache.len();
        if pos + 1 > self.cfg.context_length {
            return Err(InferError::ContextLength { needed: pos + 1, limit: self.cfg.context_length });
        }
        let (nh, nkv, hd) = (self.cfg.n_head, self.cfg.n_kv_head, self.cfg.head_dim);
        let eps = self.cfg.rms_eps as f32;
        let mut x = own(self.embed.table())?.row_f32(token as usize);
        let half = hd / 2;
        let (cos, sin) = (&raw.cos[pos * half..(pos + 1) * half], &raw.sin[pos * half..(pos + 1) * half]);
        let interleaved = self.cfg.arch == Arch::Llama;
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        let kv_len = pos + 1;
        for (li, (b, rb)) in self.blocks.iter().zip(&raw.blocks).enumerate() {
            let h = rms_norm_vec(&x, &rb.attn_norm, eps);
            let [mut q, mut k, mut v]: [Vec<f32>; 3] =
                crate::qmm::matvec_many(&[own(&b.q)?, own(&b.k)?, own(&b.v)?], &h)
                    .try_into()
                    .map_err(|_| InferError::Format("three projections expected".into()))?;
            add_bias(&mut q, &rb.q_bias);
            add_bias(&mut k, &rb.k_bias);
            add_bias(&mut v, &rb.v_bias);
            if let (Some(qn), Some(kn)) = (&rb.q_norm, &rb.k_norm) {
                for head in q.chunks_exact_mut(hd) {
                    let n = rms_norm_vec(head, qn, eps);
                    head.copy_from_slice(&n);
                }
                for head in k.chunks_exact_mut(hd) {
                    let n = rms_norm_vec(head, kn, eps);
                    head.copy_from_slice(&n);
                }
            }
            for head in q.chunks_exact_mut(hd).chain(k.chunks_exact_mut(hd)) {
                rope_vec(head, cos, sin, interleaved);
            }
            if self.f16_attn {
                for t in q.iter_mut().chain(k.iter_mut()).chain(v.iter_mut()) {
                    *t = half::f16::from_f32(*t).to_f32();
                }
            }
            let kt = Tensor::from_vec(k, (1, nkv, 1, hd), &self.device)?;
            let vt = Tensor::from_vec(v, (1, nkv, 1, hd), &self.device)?;
            cache.append(li, &kt, &vt)?;
            let y = cache
                .with_layer(li, |kc, vc, cap| attend_one(&q, kc, vc, cap, kv_len, nh, nkv, hd, scale, self.f16_attn))?;
            let mut o = own(&b.o)?.matmul(&y, 1);
            add_bias(&mut o, &rb.o_bias);
            for (a, b) in x.iter_mut().zip(&o) {
                *a += b;
            }
            let h = rms_norm_vec(&x, &rb.ffn_norm, eps);
            let a = crate::qmm::swiglu_matvec(own(&b.gate)?, own(&b.up)?, &h);
            let d = own(&b.down)?.matmul(&a, 1);
            for (a, b) in x.iter_mut().zip(&d) {
                *a += b;
            }
        }
        cache.len = pos + 1;
        cache.tokens.push(token);
        let last = rms_norm_vec(&x, &raw.norm, eps);
        Ok(own(&self.output)?.matmul(&last, 1))
    }

    /// [`Self::forward_one`] for `m` sequences: norms, biases, rotary (at each sequence's own
    /// position) and residuals row by row exactly as there; the q/k/v, output, gate/up/SwiGLU
    /// and down products through [`crate::qmm::matvec_many_rows`] /
    /// [`crate::qmm::swiglu_matvec_rows`] (each row equal to the one-token products bit for
    /// bit, the weights streamed once for all rows); attention per sequence over its own cache
    /// ([`attend_batch`], one pool call for all sequences). Appends to every cache.
    fn forward_one_batch(&self, tokens: &[u32], caches: &mut [&mut KvCache], raw: &RawParams) -> Result<Vec<Vec<f32>>> {
        use crate::qmm::{matvec_many_rows, swiglu_matvec_rows};
        let m = tokens.len();
        let pos: Vec<usize> = caches.iter().map(|c| c.len()).collect();
        if let Some(&p) = pos.iter().find(|&&p| p + 1 > self.cfg.context_length) {
            return Err(InferError::ContextLength { needed: p + 1, limit: self.cfg.context_length });
        }
        let (nh, nkv, hd) = (self.cfg.n_head, self.cfg.n_kv_head, self.cfg.head_dim);
        let d = self.cfg.n_embd;
        let eps = self.cfg.rms_eps as f32;
        let half = hd / 2;
        let interleaved = self.cfg.arch == Arch::Llama;
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        let table = own(self.embed.table())?;
        let mut x: Vec<f32> = Vec::with_capacity(m * d);
        for &id in tokens {
            x.extend_from_slice(&table.row_f32(id as usize));
        }
        let norm_rows =
            |x: &[f32], w: &[f32]| -> Vec<f32> { x.chunks_exact(d).flat_map(|r| rms_norm_vec(r, w, eps)).collect() };
        let (qw, kw) = (nh * hd, nkv * hd);
        for (li, (b, rb)) in self.blocks.iter().zip(&raw.blocks).enumerate() {
            let h = norm_rows(&x, &rb.attn_norm);
            let [mut q, mut k, mut v]: [Vec<f32>; 3] = matvec_many_rows(&[own(&b.q)?, own(&b.k)?, own(&b.v)?], &h, m)
                .try_into()
                .map_err(|_| InferError::Format("three projections expected".into()))?;
            for (r, &p) in pos.iter().enumerate() {
                let (q, k, v) =
                    (&mut q[r * qw..(r + 1) * qw], &mut k[r * kw..(r + 1) * kw], &mut v[r * kw..(r + 1) * kw]);
                add_bias(q, &rb.q_bias);
                add_bias(k, &rb.k_bias);
                add_bias(v, &rb.v_bias);
                if let (Some(qn), Some(kn)) = (&rb.q_norm, &rb.k_norm) {
                    for head in q.chunks_exact_mut(hd) {
                        let n = rms_norm_vec(head, qn, eps);
                        head.copy_from_slice(&n);
                    }
                    for head in k.chunks_exact_mut(hd) {
                        let n = rms_norm_vec(head, kn, eps);
                        head.copy_from_slice(&n);
                    }
                }
                let (cos, sin) = (&raw.cos[p * half..(p + 1) * half], &raw.sin[p * half..(p + 1) * half]);
                for head in q.chunks_exact_mut(hd).chain(k.chunks_exact_mut(hd)) {
                    rope_vec(head, cos, sin, interleaved);
                }
                if self.f16_attn {
                    for t in q.iter_mut().chain(k.iter_mut()).chain(v.iter_mut()) {
                        *t = half::f16::from_f32(*t).to_f32();
                    }
                }
            }
            for (r, cache) in caches.iter_mut().enumerate() {
                let kt = Tensor::from_vec(k[r * kw..(r + 1) * kw].to_vec(), (1, nkv, 1, hd), &self.device)?;
                let vt = Tensor::from_vec(v[r * kw..(r + 1) * kw].to_vec(), (1, nkv, 1, hd), &self.device)?;
                cache.append(li, &kt, &vt)?;
            }
            let y = {
                let bufs = caches.iter().map(|c| c.layer_buffers(li)).collect::<Result<Vec<_>>>()?;
                let held: Vec<_> =
                    bufs.iter().map(|(kb, vb)| (kb.storage_and_layout(), vb.storage_and_layout())).collect();
                let mut seqs = Vec::with_capacity(m);
                for (r, (((ks, kl), (vs, vl)), (kb, _))) in held.iter().zip(&bufs).enumerate() {
                    match (&**ks, &**vs) {
                        (candle_core::Storage::Cpu(kc), candle_core::Storage::Cpu(vc)) => seqs.push(SeqAttn {
                            q: &q[r * qw..(r + 1) * qw],
                            kc: &kc.as_slice::<f32>()?[kl.start_offset()..],
                            vc: &vc.as_slice::<f32>()?[vl.start_offset()..],
                            cap: kb.dim(2)?,
                            kv_len: pos[r] + 1,
                        }),
                        _ => return Err(InferError::Format("kv cache is not on the CPU".into())),
                    }
                }
                attend_batch(&seqs, nh, nkv, hd, scale, self.f16_attn)
            };
            let mut o = matvec_many_rows(&[own(&b.o)?], &y, m).swap_remove(0);
            for (orow, xrow) in o.chunks_exact_mut(d).zip(x.chunks_exact_mut(d)) {
                add_bias(orow, &rb.o_bias);
                for (a, b) in xrow.iter_mut().zip(orow.iter()) {
                    *a += b;
                }
            }
            let h = norm_rows(&x, &rb.ffn_norm);
            let a = swiglu_matvec_rows(own(&b.gate)?, own(&b.up)?, &h, m);
            let dn = matvec_many_rows(&[own(&b.down)?], &a, m).swap_remove(0);
            for (a, b) in x.iter_mut().zip(&dn) {
                *a += b;
            }
        }
        for ((cache, &p), &t) in caches.iter_mut().zip(&pos).zip(tokens) {
            cache.len = p + 1;
            cache.tokens.push(t);
        }
        let last = norm_rows(&x, &raw.norm);
        let logits = matvec_many_rows(&[own(&self.output)?], &last, m).swap_remove(0);
        let n = logits.len() / m;
        Ok(logits.chunks_exact(n).map(|r| r.to_vec()).collect())
    }

    /// A prompt chunk on the CPU with plain vectors: [`Self::forward_one`]'s arithmetic for `t`
    /// rows at once. The matrix products are the same tiled kernels as the tensor path's; norms,
    /// rotary and SwiGLU run over row chunks on the thread pool, and causal attention runs per
    /// (query head, block of 32 query rows) against only the keys each block may see (see
    /// [`attend_rows`]). Appends to the cache; returns the last row's logits.
    fn forward_rows(&self, tokens: &[u32], cache: &mut KvCache, raw: &RawParams) -> Result<Vec<f32>> {
        use crate::vmath::par_rows;
        let t = tokens.len();
        let pos = cache.len();
        if pos + t > self.cfg.context_length {
            return Err(InferError::ContextLength { needed: pos + t, limit: self.cfg.context_length });
        }
        let (nh, nkv, hd) = (self.cfg.n_head, self.cfg.n_kv_head, self.cfg.head_dim);
        let d = self.cfg.n_embd;
        let eps = self.cfg.rms_eps as f32;
        let half = hd / 2;
        let interleaved = self.cfg.arch == Arch::Llama;
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        self.prepare_prompt_kernels_parallel();
        let table = own(self.embed.table())?;
        let mut x: Vec<f32> = Vec::with_capacity(t * d);
        for &id in tokens {
            x.extend_from_slice(&table.row_f32(id as usize));
        }
        const ROWS: usize = 8;
        for (li, (b, rb)) in self.blocks.iter().zip(&raw.blocks).enumerate() {
            let h = rms_norm_rows(&x, &rb.attn_norm, eps);
            let mut q = own(&b.q)?.matmul(&h, t);
            let mut k = own(&b.k)?.matmul(&h, t);
            let mut v = own(&b.v)?.matmul(&h, t);
            let f16 = self.f16_attn;
            // bias, q/k norms, rotary at each row's position, f16 rounding
            let prep =
                |m: &mut Vec<f32>, heads: usize, bias: &Option<Vec<f32>>, norm: &Option<Vec<f32>>, rope: bool| {
                    par_rows(m, heads * hd, ROWS, |r0, part| {
                        for (i, row) in part.chunks_exact_mut(heads * hd).enumerate() {
                            add_bias(row, bias);
                            let p = pos + r0 + i;
                            let (cos, sin) = (&raw.cos[p * half..(p + 1) * half], &raw.sin[p * half..(p + 1) * half]);
                            for head in row.chunks_exact_mut(hd) {
                                if let Some(nw) = norm {
                                    let n = rms_norm_vec(head, nw, eps);
                                    head.copy_from_slice(&n);
                                }
                                if rope {
                                    rope_vec(head, cos, sin, interleaved);
                                }
                            }
                            if f16 {
                                row.iter_mut().for_each(|x| *x = half::f16::from_f32(*x).to_f32());
                            }
                        }
                    });
                };
            let qk_norms = rb.q_norm.is_some() && rb.k_norm.is_some();
            prep(&mut q, nh, &rb.q_bias, if qk_norms { &rb.q_norm } else { &None }, true);
            prep(&mut k, nkv, &rb.k_bias, if qk_norms { &rb.k_norm } else { &None }, true);
            prep(&mut v, nkv, &rb.v_bias, &None, false);
            // (t, nkv, hd) → (1, nkv, t, hd) for the cache
            let to_heads = |m: &[f32]| -> Vec<f32> {
                let mut out = vec![0f32; m.len()];
                for i in 0..t {
                    for g in 0..nkv {
                        out[(g * t + i) * hd..(g * t + i + 1) * hd]
                            .copy_from_slice(&m[(i * nkv + g) * hd..(i * nkv + g + 1) * hd]);
                    }
                }
                out
            };
            let kt = Tensor::from_vec(to_heads(&k), (1, nkv, t, hd), &self.device)?;
            let vt = Tensor::from_vec(to_heads(&v), (1, nkv, t, hd), &self.device)?;
            cache.append(li, &kt, &vt)?;
            let y =
                cache.with_layer(li, |kc, vc, cap| attend_rows(&q, kc, vc, cap, pos, t, nh, nkv, hd, scale, f16))?;
            let mut o = own(&b.o)?.matmul(&y, t);
            par_rows(&mut o, d, ROWS, |r0, part| {
                for (i, row) in part.chunks_exact_mut(d).enumerate() {
                    add_bias(row, &rb.o_bias);
                    row.iter_mut().zip(&x[(r0 + i) * d..(r0 + i + 1) * d]).for_each(|(a, b)| *a += b);
                }
            });
            x = o;
            let h = rms_norm_rows(&x, &rb.ffn_norm, eps);
            let mut g = own(&b.gate)?.matmul(&h, t);
            let u = own(&b.up)?.matmul(&h, t);
            let ff = g.len() / t;
            par_rows(&mut g, ff, ROWS, |r0, part| {
                let us = &u[r0 * ff..r0 * ff + part.len()];
                // candle's silu, exactly: x / (1 + e^(−x)) with libm exp
                part.iter_mut().zip(us).for_each(|(g, &u)| *g = *g / (1.0 + (-*g).exp()) * u);
            });
            let mut dn = own(&b.down)?.matmul(&g, t);
            par_rows(&mut dn, d, ROWS, |r0, part| {
                let xs = &x[r0 * d..r0 * d + part.len()];
                part.iter_mut().zip(xs).for_each(|(a, b)| *a += b);
            });
            x = dn;
        }
        cache.len = pos + t;
        cache.tokens.extend_from_slice(tokens);
        let last = rms_norm_vec(&x[(t - 1) * d..], &raw.norm, eps);
        Ok(own(&self.output)?.matmul(&last, 1))
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
            // llama.cpp multiplies the f16 values by the probabilities converted to f16 too.
            let att = if self.f16_attn { round_f16(&att)? } else { att };
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

/// The CPU weights of a linear layer (present wherever [`LlmModel::forward_one`] runs).
fn own(l: &Linear) -> Result<&crate::qmm::QWeights> {
    l.own.as_ref().ok_or_else(|| InferError::Format("linear layer without CPU weights".into()))
}

/// [`rms_norm_vec`] of every row (rows of `w.len()` values), over the thread pool.
fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut h = x.to_vec();
    crate::vmath::par_rows(&mut h, d, 8, |_, part| {
        for row in part.chunks_exact_mut(d) {
            let n = rms_norm_vec(row, w, eps);
            row.copy_from_slice(&n);
        }
    });
    h
}

/// candle's RMS norm of one row: `x / sqrt(mean(x²) + eps) · w`.
fn rms_norm_vec(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let sum2: f32 = x.iter().map(|v| v * v).sum();
    let m = (sum2 / x.len() as f32 + eps).sqrt();
    x.iter().zip(w).map(|(v, w)| v / m * w).collect()
}

fn add_bias(y: &mut [f32], b: &Option<Vec<f32>>) {
    if let Some(b) = b {
        for (y, b) in y.iter_mut().zip(b) {
            *y += b;
        }
    }
}

/// Rotary embedding of one head at one position, as candle's `rope` (halves) or `rope_i`
/// (interleaved pairs).
fn rope_vec(x: &mut [f32], cos: &[f32], sin: &[f32], interleaved: bool) {
    let half = x.len() / 2;
    for i in 0..half {
        let (i1, i2) = if interleaved { (2 * i, 2 * i + 1) } else { (i, i + half) };
        let (a, b) = (x[i1], x[i2]);
        x[i1] = a * cos[i] - b * sin[i];
        x[i2] = a * sin[i] + b * cos[i];
    }
}

/// One sequence's query and cache for [`attend_batch`]: `q` holds `nh` heads of one position,
/// the caches are laid out (kv head, position < `cap`, dim) and hold `kv_len` positions.
struct SeqAttn<'a> {
    q: &'a [f32],
    kc: &'a [f32],
    vc: &'a [f32],
    cap: usize,
    kv_len: usize,
}

/// Attention of one query position over `kv_len` cached positions: `q` holds `nh` heads, the
/// caches are laid out (kv head, position < `cap`, dim). See [`attend_batch`].
#[allow(clippy::too_many_arguments)]
fn attend_one(
    q: &[f32],
    kc: &[f32],
    vc: &[f32],
    cap: usize,
    kv_len: usize,
    nh: usize,
    nkv: usize,
    hd: usize,
    scale: f32,
    f16_probs: bool,
) -> Vec<f32> {
    attend_batch(&[SeqAttn { q, kc, vc, cap, kv_len }], nh, nkv, hd, scale, f16_probs)
}

/// Attention of one query position per sequence, each over its own cache. The query heads that
/// share a kv head are taken together, so each cached key and value row is read once for all
/// of them; the (sequence, kv group) pairs (or, with a single group, the heads) are work items
/// of one pool call. A sequence's result does not depend on the others in the call. Returns
/// the sequences' outputs (`nh · hd` each) one after another.
fn attend_batch(seqs: &[SeqAttn<'_>], nh: usize, nkv: usize, hd: usize, scale: f32, f16_probs: bool) -> Vec<f32> {
    let rep = nh / nkv;
    // Work items: (sequence, kv group, a run of its query heads).
    let splits = if nkv >= 2 { 1 } else { rep };
    let per = rep / splits;
    let per_seq = nkv * splits;
    let width = nh * hd;
    let mut y = vec![0f32; seqs.len() * width];
    let y_ptr = y.as_mut_ptr() as usize;
    candle_core::utils::barrier_pool().execute_chunked(seqs.len() * per_seq, |items| {
        let mut p: Vec<f32> = Vec::new();
        for item in items {
            let (si, item) = (item / per_seq, item % per_seq);
            let SeqAttn { q, kc, vc, cap, kv_len } = seqs[si];
            p.resize(per * kv_len, 0.0);
            let (g, part) = (item / splits, item % splits);
            let h0 = g * rep + part * per;
            let qs = &q[h0 * hd..(h0 + per) * hd];
            let (kg, vg) = (&kc[g * cap * hd..], &vc[g * cap * hd..]);
            for j in 0..kv_len {
                let kj = &kg[j * hd..(j + 1) * hd];
                for r in 0..per {
                    p[r * kv_len + j] = crate::vmath::dot_lanes(&qs[r * hd..(r + 1) * hd], kj) * scale;
                }
            }
            for row in p.chunks_exact_mut(kv_len) {
                crate::vmath::softmax_exact_in_place(row, f16_probs);
            }
            // SAFETY: si < seqs.len() and h0 + per ≤ nkv · rep ≤ nh, so the per·hd values from
            // si·width + h0·hd are inside `y` (seqs.len() · nh·hd), which outlives the pool call;
            // this item alone writes the outputs of heads h0 … h0 + per of sequence `si`.
            let out =
                unsafe { std::slice::from_raw_parts_mut((y_ptr as *mut f32).add(si * width + h0 * hd), per * hd) };
            for j in 0..kv_len {
                let vj = &vg[j * hd..(j + 1) * hd];
                for (r, o) in out.chunks_exact_mut(hd).enumerate() {
                    let w = p[r * kv_len + j];
                    for (o, v) in o.iter_mut().zip(vj) {
                        *o += w * v;
                    }
                }
            }
        }
    });
    y
}

/// Causal attention of `t` query rows at positions `pos …` (`q`: t × nh·hd) over the cache
/// (laid out (kv head, position < `cap`, dim), already holding the `t` new positions). Each kv
/// group's keys are transposed once (hd × positions); then every (query head, block of 32 rows)
/// is a work item on the thread pool that scores only the keys its last row may see, masks the
/// later ones per row, takes the softmax (exp(s − max) / Σ), rounds the probabilities to f16
/// when `f16_probs`, and sums the values. Returns t × nh·hd.
#[allow(clippy::too_many_arguments)]
fn attend_rows(
    q: &[f32],
    kc: &[f32],
    vc: &[f32],
    cap: usize,
    pos: usize,
    t: usize,
    nh: usize,
    nkv: usize,
    hd: usize,
    scale: f32,
    f16_probs: bool,
) -> Vec<f32> {
    use crate::vmath::{attn_context, attn_scores, CW, LW, RB};
    let kv_len = pos + t;
    let lp = kv_len.div_ceil(LW) * LW;
    let pool = candle_core::utils::barrier_pool();
    let mut kt = vec![0f32; nkv * hd * lp];
    let kt_ptr = kt.as_mut_ptr() as usize;
    pool.execute_chunked(nkv, |groups| {
        for g in groups {
            // SAFETY: g < nkv, so the hd·lp values from g·hd·lp are inside `kt` (nkv·hd·lp), which
            // outlives the pool call; each group writes only its own block.
            let dst = unsafe { std::slice::from_raw_parts_mut((kt_ptr as *mut f32).add(g * hd * lp), hd * lp) };
            for j in 0..kv_len {
                let kj = &kc[(g * cap + j) * hd..(g * cap + j + 1) * hd];
                for (dd, &kv) in kj.iter().enumerate() {
                    dst[dd * lp + j] = kv;
                }
            }
        }
    });
    let rep = nh / nkv;
    // Work items: (query head, block of QB rows). Inside, keys are taken in runs of KB (their
    // transposed block, hd × KB, stays in L1) against every 4-row group of the block, and values
    // in strips of CW dims (len × CW, in L2) against every group: each key and value is read from
    // memory once per QB rows rather than once per 4.
    const QB: usize = 32;
    const KB: usize = 32;
    let blocks = t.div_ceil(QB);
    let width = nh * hd;
    let mut y = vec![0f32; t * width];
    let y_ptr = y.as_mut_ptr() as usize;
    let kt = &kt;
    pool.execute_chunked(nh * blocks, |items| {
        let mut p = vec![0f32; QB.next_multiple_of(RB) * lp];
        for item in items {
            let (head, blk) = (item / blocks, item % blocks);
            let g = head / rep;
            let i0 = blk * QB;
            let rows = QB.min(t - i0);
            let groups = rows.div_ceil(RB);
            let seen = pos + i0 + rows; // keys the block's last row sees
            let ncols = seen.div_ceil(LW) * LW;
            let ktg = &kt[g * hd * lp..(g + 1) * hd * lp];
            let q_rows = |gi: usize| -> [&[f32]; RB] {
                std::array::from_fn(|r| &q[(i0 + (gi * RB + r).min(rows - 1)) * width + head * hd..][..hd])
            };
            for j0 in (0..ncols).step_by(KB) {
                let j1 = ncols.min(j0 + KB);
                for gi in 0..groups {
                    attn_scores(&q_rows(gi), ktg, lp, (j0, j1), scale, &mut p[gi * RB * ncols..], ncols);
                }
            }
            for r in 0..groups * RB {
                let row = &mut p[r * ncols..(r + 1) * ncols];
                let valid = if r < rows { pos + i0 + r + 1 } else { 0 };
                crate::vmath::softmax_exact_in_place(&mut row[..valid], f16_probs);
                row[valid..].iter_mut().for_each(|v| *v = 0.0);
            }
            let vg = &vc[g * cap * hd..];
            for d0 in (0..hd).step_by(CW) {
                let w = CW.min(hd - d0);
                for gi in 0..groups {
                    let acc = attn_context(&p[gi * RB * ncols..], ncols, vg, hd, seen, d0, w);
                    for (r, a) in acc.iter().enumerate().take(rows.saturating_sub(gi * RB)) {
                        // SAFETY: i0 + gi·RB + r < i0 + rows ≤ t and head·hd + d0 + w ≤ nh·hd,
                        // so the w values are inside `y` (t · nh·hd), which outlives the pool
                        // call; this item alone writes head `head` of rows i0 … i0 + rows.
                        let out = unsafe {
                            std::slice::from_raw_parts_mut(
                                (y_ptr as *mut f32).add((i0 + gi * RB + r) * width + head * hd + d0),
                                w,
                            )
                        };
                        out.copy_from_slice(&a[..w]);
                    }
                }
            }
        }
    });
    y
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
