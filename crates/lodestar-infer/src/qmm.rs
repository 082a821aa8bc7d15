//! Quantized matrix products that candle 0.11 leaves on its scalar reference path on x86.
//!
//! Qwen2.5-0.5B's hidden size (896) is not a multiple of the 256-wide k-quant blocks, so its
//! Q4_K_M GGUF stores every tensor whose rows are 896 long (q, k, v, o, gate, up) as **Q5_0**.
//! candle multiplies Q5_0 with `vec_dot_unopt` (a scalar loop): a profile of decoding showed
//! 53 % of all CPU time there. This module holds the same arithmetic as llama.cpp's AVX2
//! `ggml_vec_dot_q5_0_q8_0` (activations quantized to Q8_0 per 32 values, integer products,
//! one f32 scale per block pair) and a tiled multi-threaded product over it:
//!
//! * one weight block is unpacked once and multiplied against up to four activation rows;
//! * prompt rows are processed in tiles so a weight row stays in L1 while the tile passes over
//!   it, and work items are spread over candle's barrier thread pool.
//!
//! The scalar fallback ([`dot_q5_0_q8_0_scalar`]) computes the same integer sums and is what the
//! tests compare the AVX2 kernel against.
//!
//! # How the CPU path of a chat model fits together
//!
//! This module holds our CPU matrix products over the quantized blocks: Q5_0 and Q8_0 blocks
//! copied with f32 scales and multiplied by our AVX2 kernels; single rows of Q4_K / Q6_K through
//! candle's dot kernels on the compact blocks, viewed in place. [`crate::ktile`] multiplies prompt
//! rows of Q4_K / Q6_K weights and [`crate::q5tile`] prompt rows of Q5_0 weights (tiles repacked
//! on the first prompt, integer sums as llama.cpp, one float step per block); the e5 embedder
//! runs its linear layers on `q5tile` too when their weights are exact Q4_0 blocks. CPUs without
//! AVX2 use candle's or the scalar sums.
//!
//! On the CPU, single decoded tokens take a plain-vector path (`LlmModel::forward_one`: no
//! tensor per op, KV cache read in place, attention per kv group over the thread pool;
//! [`matvec_many`] runs q, k and v as one pool call on one quantized row, and [`swiglu_matvec`]
//! gate, up and SwiGLU as another), and prompt chunks a plain-slice one (`forward_rows`: per-row
//! norms and rotary over the pool, causal attention per query head and 32-row block over only
//! the visible keys). The tensor path (`forward_reference`) is what the tests hold both to; the
//! run-time option `decode = "tensor"` (`LODESTAR_DECODE=tensor`) selects it.
//!
//! Several sequences decode together through `LlmModel::forward_batch` (one token each, each
//! with its own `KvCache` and length): [`matvec_many_rows`] / [`swiglu_matvec_rows`] run every
//! 8-row weight group against all the batch's rows while it sits in L1 (weights streamed once per
//! step), with each row's arithmetic that of the one-token kernels, so a row's logits equal
//! `forward` of that token alone bit for bit; attention runs per sequence (`attend_batch`, one
//! pool call). `GgufChat::generate_batch` is the continuous-batching loop over it (a finished
//! sequence's slot takes the next request; the solo and batched loops share one per-sequence
//! state), and `SlotChat` queues concurrent `generate` calls to one decoding thread running that
//! loop (`serve --slots N`, `batch run --parallel N`).
//!
//! `vmath` holds the shared small routines: register-blocked AVX2 attention blocks (scores of
//! 4 rows × 16 keys, values summed in key order, 4 rows × 16 dims), vector exp / erf-GELU /
//! softmax / f16 rounding, and row-chunk work on the pool. The e5 embedder packs a batch's
//! sequences without padding and runs the same way on plain slices when all its linear layers
//! are on the integer tiles. `benches/kernels.rs` (`cargo bench -p lodestar-infer --bench
//! kernels`) reports the tile kernels' GOPS.

use crate::error::{InferError, Result};
use candle_core::quantized::k_quants::{BlockQ4K, BlockQ6K, GgmlType};
use candle_core::quantized::{GgmlDType, QTensor};
use half::f16;

const QK: usize = 32;
/// Rows from which Q4_K / Q6_K products use the repacked tiles rather than row dot products.
const TILED_MIN_ROWS: usize = 2;

/// One Q5_0 block as stored in GGUF: f16 scale, 32 high bits, 32 low nibbles.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5 {
    d: u16,
    qh: [u8; 4],
    qs: [u8; 16],
}
const _: () = assert!(std::mem::size_of::<BlockQ5>() == 22);

impl BlockQ5 {
    /// A block from its GGUF fields: the bits of the f16 scale, the 32 high bits (bit `j` of
    /// the little-endian word is value `j`'s), and the low nibbles (values `j` and `j + 16` in
    /// byte `j`).
    pub const fn new(d: u16, qh: [u8; 4], qs: [u8; 16]) -> Self {
        Self { d, qh, qs }
    }
}

/// One Q8_0 block: f16 scale and 32 signed bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8 {
    d: u16,
    qs: [i8; QK],
}
const _: () = assert!(std::mem::size_of::<BlockQ8>() == 34);

impl BlockQ8 {
    /// A block of zeros (scale 0).
    pub const ZERO: BlockQ8 = BlockQ8 { d: 0, qs: [0; QK] };

    /// A block from the bits of its f16 scale and its 32 quants.
    pub const fn new(d: u16, qs: [i8; QK]) -> Self {
        Self { d, qs }
    }

    /// The quants and the scale as f32.
    pub fn parts(&self) -> ([i8; QK], f32) {
        (self.qs, f16::from_bits(self.d).to_f32())
    }
}

/// A Q5_0 block repacked for the AVX2 kernel (the scale is kept apart as f32): the low nibbles
/// as stored, and the 32 high bits reordered so that one 32-bit broadcast and one byte mask test
/// them: GGUF's bit `j` (value `j`) becomes bit `(j % 4) · 8 + j / 4`, i.e. byte `j % 4` of the
/// word, which is the byte a broadcast puts at vector byte `j`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Q5Packed {
    qs: [u8; 16],
    qh: u32,
}
const _: () = assert!(std::mem::size_of::<Q5Packed>() == 20);

/// `QH_SPREAD[i][byte]`: where the 8 bits of byte `i` of GGUF's `qh` go in [`Q5Packed::qh`]
/// (bit `j` → bit `(j % 4) · 8 + j / 4`).
static QH_SPREAD: [[u32; 256]; 4] = {
    let mut t = [[0u32; 256]; 4];
    let mut i = 0;
    while i < 4 {
        let mut byte = 0;
        while byte < 256 {
            let mut r = 0u32;
            let mut bit = 0;
            while bit < 8 {
                if byte >> bit & 1 == 1 {
                    let j = i * 8 + bit;
                    r |= 1 << ((j % 4) * 8 + j / 4);
                }
                bit += 1;
            }
            t[i][byte] = r;
            byte += 1;
        }
        i += 1;
    }
    t
};

impl Q5Packed {
    fn from_gguf(b: &BlockQ5) -> Self {
        // One table lookup per byte of `qh` (the load repacks millions of blocks).
        let qh = b.qh.iter().enumerate().fold(0u32, |r, (i, &byte)| r | QH_SPREAD[i][byte as usize]);
        Self { qs: b.qs, qh }
    }
    /// The 32 signed 5-bit values (−16 … 15).
    fn values(&self) -> [i8; QK] {
        let bit = |j: usize| ((self.qh >> ((j % 4) * 8 + j / 4)) & 1) as u8;
        let mut out = [0i8; QK];
        for j in 0..16 {
            out[j] = ((self.qs[j] & 0x0F) | (bit(j) << 4)) as i8 - 16;
            out[j + 16] = ((self.qs[j] >> 4) | (bit(j + 16) << 4)) as i8 - 16;
        }
        out
    }
}

/// 32 quantized activations, aligned for one AVX2 load.
#[repr(C, align(32))]
#[derive(Clone, Copy)]
pub struct Q8Lane([i8; QK]);

/// Eight i32 lanes, aligned for one AVX2 load.
#[repr(C, align(32))]
#[derive(Clone, Copy)]
struct I32Lane([i32; 8]);

/// One activation row quantized to Q8_0: values, f32 scales, and per block the eight i32 lane
/// sums of `16 · y` (lane `l` covers values `4l … 4l+3`) that turn the unsigned product
/// `Σ (w + 16) · y` of a Q5_0 block back into the signed `Σ w · y` lane for lane.
#[derive(Clone, Copy)]
pub struct Act<'a> {
    q: &'a [Q8Lane],
    d: &'a [f32],
    c: &'a [I32Lane],
}

impl Act<'_> {
    /// Blocks in the row. Invariant (what the kernels rely on): `q`, `d` and `c` have this one
    /// length — an `Act` is only made by [`Q8Rows::row`], which takes the same range of three
    /// vectors that [`Q8Rows::push`] grows together.
    fn len(&self) -> usize {
        debug_assert!(self.d.len() == self.q.len() && self.c.len() == self.q.len());
        self.q.len()
    }
}

/// Activation rows quantized to Q8_0, stored as values and f32 scales side by side.
struct Q8Rows {
    qs: Vec<Q8Lane>,
    d: Vec<f32>,
    c: Vec<I32Lane>,
    kb: usize,
}

impl Q8Rows {
    fn new(x: &[f32], m: usize, k: usize) -> Self {
        let kb = k / QK;
        let mut tmp = vec![BlockQ8::ZERO; kb];
        let mut rows =
            Self { qs: Vec::with_capacity(m * kb), d: Vec::with_capacity(m * kb), c: Vec::with_capacity(m * kb), kb };
        for r in 0..m {
            quantize_q8_0(&x[r * k..(r + 1) * k], &mut tmp);
            tmp.iter().for_each(|b| rows.push(b));
        }
        rows
    }

    /// Appends one quantized block (values, scale, and its `16 · y` lane sums).
    fn push(&mut self, b: &BlockQ8) {
        self.qs.push(Q8Lane(b.qs));
        self.d.push(f16::from_bits(b.d).to_f32());
        self.c
            .push(I32Lane(std::array::from_fn(|l| 16 * b.qs[4 * l..4 * l + 4].iter().map(|&q| q as i32).sum::<i32>())));
    }
    fn row(&self, r: usize) -> Act<'_> {
        let s = r * self.kb..(r + 1) * self.kb;
        Act { q: &self.qs[s.clone()], d: &self.d[s.clone()], c: &self.c[s] }
    }
}

/// Quantizes `xs` to Q8_0 blocks like llama.cpp's AVX2 `quantize_row_q8_0`: `d = max|x| / 127`,
/// nearest, ties to even (`_mm256_round_ps`).
///
/// # Panics
/// Unless `xs` holds exactly 32 values per block of `ys`.
pub fn quantize_q8_0(xs: &[f32], ys: &mut [BlockQ8]) {
    check_q8_0_lengths(xs, ys);
    #[cfg(target_arch = "x86_64")]
    if crate::vmath::has_avx2_f16c() {
        // SAFETY: AVX2, FMA and F16C detected at run time (`has_avx2_f16c`); the kernel reads
        // whole 32-value chunks of `xs` only (and `xs` holds 32 per block of `ys`, checked above).
        unsafe { avx2::quantize_q8_0(xs, ys) };
        return;
    }
    quantize_q8_0_scalar(xs, ys)
}

/// [`quantize_q8_0`] one value at a time (the reference the AVX2 version is tested against).
///
/// # Panics
/// Unless `xs` holds exactly 32 values per block of `ys`.
pub fn quantize_q8_0_scalar(xs: &[f32], ys: &mut [BlockQ8]) {
    check_q8_0_lengths(xs, ys);
    for (chunk, y) in xs.chunks_exact(QK).zip(ys.iter_mut()) {
        let amax = chunk.iter().fold(0f32, |a, x| a.max(x.abs()));
        let d = amax / 127.0;
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        y.d = f16::from_f32(d).to_bits();
        for (q, &x) in y.qs.iter_mut().zip(chunk) {
            *q = (x * id).round_ties_even() as i8;
        }
    }
}

fn check_q8_0_lengths(xs: &[f32], ys: &[BlockQ8]) {
    assert!(
        ys.len().checked_mul(QK) == Some(xs.len()),
        "quantize_q8_0: {} values for {} blocks of {QK}",
        xs.len(),
        ys.len()
    );
}

/// The 32 signed 5-bit values of a Q5_0 block (−16 … 15).
fn unpack_q5(b: &BlockQ5) -> [i8; QK] {
    let qh = u32::from_le_bytes(b.qh);
    let mut out = [0i8; QK];
    for j in 0..16 {
        let h0 = ((qh >> j) & 1) as u8;
        let h1 = ((qh >> (j + 16)) & 1) as u8;
        out[j] = ((b.qs[j] & 0x0F) | (h0 << 4)) as i8 - 16;
        out[j + 16] = ((b.qs[j] >> 4) | (h1 << 4)) as i8 - 16;
    }
    out
}

/// Reference dot product of a Q5_0 row and a Q8_0 row.
///
/// # Panics
/// Unless `x` and `y` hold the same number of blocks.
pub fn dot_q5_0_q8_0_scalar(x: &[BlockQ5], y: &[BlockQ8]) -> f32 {
    assert_eq!(x.len(), y.len(), "dot_q5_0_q8_0_scalar: {} weight blocks, {} activation blocks", x.len(), y.len());
    let mut sum = 0f32;
    for (bx, by) in x.iter().zip(y) {
        let v = unpack_q5(bx);
        let s: i32 = v.iter().zip(by.qs.iter()).map(|(&a, &b)| a as i32 * b as i32).sum();
        sum += s as f32 * f16::from_bits(bx.d).to_f32() * f16::from_bits(by.d).to_f32();
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Act, Q5Packed, Q8Lane};
    use std::arch::x86_64::*;

    /// The sum of the eight lanes.
    ///
    /// # Safety
    /// The CPU must have AVX (every caller is an AVX2 kernel that the CPU was checked for).
    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        // SAFETY: register operations only; AVX is present (this function's contract).
        unsafe {
            let r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
            let r = _mm_add_ps(r, _mm_movehl_ps(r, r));
            let r = _mm_add_ss(r, _mm_movehdup_ps(r));
            _mm_cvtss_f32(r)
        }
    }

    /// The 32 values of a repacked Q5_0 block plus 16, as unsigned bytes 0 … 31: nibbles with
    /// bit 4 set where the high bit is (one broadcast, one mask test; see [`Q5Packed`]).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn unpack(b: &Q5Packed) -> __m256i {
        // SAFETY: AVX2 is present (this function's contract); the one load reads the 16 bytes
        // of `b.qs`, a `[u8; 16]` (unaligned load).
        unsafe {
            let tmp = _mm_loadu_si128(b.qs.as_ptr() as *const __m128i);
            let qx = _mm256_and_si256(_mm256_set1_epi8(0x0F), _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp));
            // Byte j tests bit j / 4 (of byte j % 4 of the broadcast word).
            let mask = _mm256_set_epi64x(
                0x8080808040404040u64 as i64,
                0x2020202010101010,
                0x0808080804040404,
                0x0202020201010101,
            );
            let h = _mm256_and_si256(_mm256_set1_epi32(b.qh as i32), mask);
            let h = _mm256_and_si256(_mm256_cmpeq_epi8(h, mask), _mm256_set1_epi8(0x10));
            _mm256_or_si256(qx, h)
        }
    }

    /// `Σ w · y` of one block as 8 f32 lane sums: the unsigned product of `w + 16` minus the
    /// activation's `16 · y` lane sums — the same integers as llama.cpp's signed product.
    ///
    /// # Safety
    /// The CPU must have AVX2, and `i < y.len()` (block `i` of `y` is read without a bounds
    /// check).
    #[inline(always)]
    unsafe fn mul_sum(u: __m256i, y: Act<'_>, i: usize) -> __m256 {
        // SAFETY: AVX2 is present and `i < y.len()`, the length of `y.q` and `y.c` (`Act`'s
        // invariant) — this function's contract; `Q8Lane` and `I32Lane` are 32-byte aligned
        // 32-byte values, as the aligned loads need.
        unsafe {
            let qy = _mm256_load_si256(y.q.get_unchecked(i).0.as_ptr() as *const __m256i);
            let dot = _mm256_madd_epi16(_mm256_maddubs_epi16(u, qy), _mm256_set1_epi16(1));
            let c = _mm256_load_si256(y.c.get_unchecked(i).0.as_ptr() as *const __m256i);
            _mm256_cvtepi32_ps(_mm256_sub_epi32(dot, c))
        }
    }

    /// llama.cpp's AVX2 `quantize_row_q8_0`: per 32 values `d = max|x| / 127`, `q = round(x ·
    /// 127 / max|x|)` to nearest, ties to even.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C. (Lengths need no care: only whole 32-value chunks
    /// of `xs` are read, one per block of `ys`.)
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn quantize_q8_0(xs: &[f32], ys: &mut [super::BlockQ8]) {
        let sign = _mm256_set1_ps(-0.0);
        for (chunk, y) in xs.chunks_exact(32).zip(ys.iter_mut()) {
            let p = chunk.as_ptr();
            // SAFETY: `chunk` holds 32 f32: the four unaligned loads read values 0 … 31.
            let v = unsafe {
                [_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)), _mm256_loadu_ps(p.add(16)), _mm256_loadu_ps(p.add(24))]
            };
            let mut m = _mm256_andnot_ps(sign, v[0]);
            for x in &v[1..] {
                m = _mm256_max_ps(m, _mm256_andnot_ps(sign, *x));
            }
            let m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
            let m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            let m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            let amax = _mm_cvtss_f32(m4);
            y.d = half::f16::from_f32(amax / 127.0).to_bits();
            let id = _mm256_set1_ps(if amax != 0.0 { 127.0 / amax } else { 0.0 });
            let q: [__m256i; 4] = std::array::from_fn(|i| {
                _mm256_cvtps_epi32(_mm256_round_ps(
                    _mm256_mul_ps(v[i], id),
                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
                ))
            });
            // i32 → i16 → i8 with the lanes put back in order (packs work per 128-bit half).
            let a = _mm256_packs_epi32(q[0], q[1]);
            let b = _mm256_packs_epi32(q[2], q[3]);
            let c = _mm256_packs_epi16(a, b);
            let c = _mm256_permutevar8x32_epi32(c, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            // SAFETY: `y.qs` is an `[i8; 32]`: the unaligned store writes exactly its 32 bytes.
            unsafe { _mm256_storeu_si256(y.qs.as_mut_ptr() as *mut __m256i, c) };
        }
    }

    /// `Σ w · y` of one Q8_0 weight block as 8 f32 lane sums (llama.cpp's sign trick:
    /// `maddubs(|w|, sign(y, w))`).
    ///
    /// # Safety
    /// The CPU must have AVX2, and `i < y.len()` (block `i` of `y` is read without a bounds
    /// check).
    #[inline(always)]
    unsafe fn mul_sum8(w: &Q8Lane, y: Act<'_>, i: usize) -> __m256 {
        // SAFETY: AVX2 is present and `i < y.len()` (this function's contract); `Q8Lane` is a
        // 32-byte aligned 32-byte value, as the aligned loads need.
        unsafe {
            let qw = _mm256_load_si256(w.0.as_ptr() as *const __m256i);
            let qy = _mm256_load_si256(y.q.get_unchecked(i).0.as_ptr() as *const __m256i);
            let dot = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qy, qw));
            _mm256_cvtepi32_ps(_mm256_madd_epi16(dot, _mm256_set1_epi16(1)))
        }
    }

    /// One Q8_0 weight row against one activation row.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C; `xd` and `y` must hold at least `x.len()` blocks
    /// (read without bounds checks).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_q8(x: &[Q8Lane], xd: &[f32], y: Act<'_>) -> f32 {
        // One accumulator, blocks in order, as llama.cpp's `ggml_vec_dot_q8_0_q8_0`.
        let mut acc = _mm256_setzero_ps();
        for i in 0..x.len() {
            // SAFETY: i < x.len() ≤ xd.len(), y.len() (this function's contract); AVX2 is
            // enabled here, as `mul_sum8` needs.
            unsafe {
                let d = _mm256_set1_ps(*xd.get_unchecked(i) * *y.d.get_unchecked(i));
                acc = _mm256_fmadd_ps(d, mul_sum8(x.get_unchecked(i), y, i), acc);
            }
        }
        // SAFETY: AVX is enabled here.
        unsafe { hsum(acc) }
    }

    /// One Q8_0 weight row against four activation rows.
    ///
    /// # Safety
    /// As [`dot_q8`], for each of the four rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot4_q8(x: &[Q8Lane], xd: &[f32], y: [Act<'_>; 4]) -> [f32; 4] {
        let mut a = [_mm256_setzero_ps(); 4];
        for i in 0..x.len() {
            // SAFETY: i < x.len() ≤ xd.len() and the length of every row of `y` (this
            // function's contract); AVX2 is enabled here, as `mul_sum8` needs.
            unsafe {
                let w = x.get_unchecked(i);
                let dx = *xd.get_unchecked(i);
                for (r, acc) in a.iter_mut().enumerate() {
                    *acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * *y[r].d.get_unchecked(i)), mul_sum8(w, y[r], i), *acc);
                }
            }
        }
        // SAFETY: AVX is enabled here.
        a.map(|v| unsafe { hsum(v) })
    }

    /// One weight row (`x`, scales `xd`) against one activation row.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C; `xd` and `y` must hold at least `x.len()` blocks
    /// (read without bounds checks).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot(x: &[Q5Packed], xd: &[f32], y: Act<'_>) -> f32 {
        // One accumulator, blocks in order: the same float operations as llama.cpp's
        // `ggml_vec_dot_q5_0_q8_0` (two accumulators were 3 % faster but round differently,
        // which flipped a greedy choice at a near-tie).
        let mut acc = _mm256_setzero_ps();
        for i in 0..x.len() {
            // SAFETY: i < x.len() ≤ xd.len(), y.len() (this function's contract); AVX2 is
            // enabled here, as `unpack` and `mul_sum` need.
            unsafe {
                let u = unpack(x.get_unchecked(i));
                let d = _mm256_set1_ps(*xd.get_unchecked(i) * *y.d.get_unchecked(i));
                acc = _mm256_fmadd_ps(d, mul_sum(u, y, i), acc);
            }
        }
        // SAFETY: AVX is enabled here.
        unsafe { hsum(acc) }
    }

    /// One weight row against four activation rows.
    ///
    /// # Safety
    /// As [`dot`], for each of the four rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot4(x: &[Q5Packed], xd: &[f32], y: [Act<'_>; 4]) -> [f32; 4] {
        let (mut a0, mut a1, mut a2, mut a3) =
            (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        for i in 0..x.len() {
            // SAFETY: i < x.len() ≤ xd.len() and the length of every row of `y` (this
            // function's contract); AVX2 is enabled here, as `unpack` and `mul_sum` need.
            unsafe {
                let u = unpack(x.get_unchecked(i));
                let dx = *xd.get_unchecked(i);
                a0 = _mm256_fmadd_ps(_mm256_set1_ps(dx * *y[0].d.get_unchecked(i)), mul_sum(u, y[0], i), a0);
                a1 = _mm256_fmadd_ps(_mm256_set1_ps(dx * *y[1].d.get_unchecked(i)), mul_sum(u, y[1], i), a1);
                a2 = _mm256_fmadd_ps(_mm256_set1_ps(dx * *y[2].d.get_unchecked(i)), mul_sum(u, y[2], i), a2);
                a3 = _mm256_fmadd_ps(_mm256_set1_ps(dx * *y[3].d.get_unchecked(i)), mul_sum(u, y[3], i), a3);
            }
        }
        // SAFETY: AVX is enabled here.
        unsafe { [hsum(a0), hsum(a1), hsum(a2), hsum(a3)] }
    }

    /// One Q5_0 weight row against `N` activation rows (the unpacked block shared); each row's
    /// operations are [`dot`]'s, so each result equals `dot` of that row bit for bit.
    ///
    /// # Safety
    /// As [`dot`], for each of the `N` rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dotn<const N: usize>(x: &[Q5Packed], xd: &[f32], y: [Act<'_>; N]) -> [f32; N] {
        let mut a = [_mm256_setzero_ps(); N];
        for i in 0..x.len() {
            // SAFETY: i < x.len() ≤ xd.len() and the length of every row of `y` (this
            // function's contract); AVX2 is enabled here, as `unpack` and `mul_sum` need.
            unsafe {
                let u = unpack(x.get_unchecked(i));
                let dx = *xd.get_unchecked(i);
                for (acc, y) in a.iter_mut().zip(&y) {
                    *acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * *y.d.get_unchecked(i)), mul_sum(u, *y, i), *acc);
                }
            }
        }
        // SAFETY: AVX is enabled here.
        a.map(|v| unsafe { hsum(v) })
    }

    /// One Q8_0 weight row against `N` activation rows; each result equals [`dot_q8`] of its
    /// row bit for bit.
    ///
    /// # Safety
    /// As [`dot_q8`], for each of the `N` rows.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dotn_q8<const N: usize>(x: &[Q8Lane], xd: &[f32], y: [Act<'_>; N]) -> [f32; N] {
        let mut a = [_mm256_setzero_ps(); N];
        for i in 0..x.len() {
            // SAFETY: i < x.len() ≤ xd.len() and the length of every row of `y` (this
            // function's contract); AVX2 is enabled here, as `mul_sum8` needs.
            unsafe {
                let w = x.get_unchecked(i);
                let dx = *xd.get_unchecked(i);
                for (acc, y) in a.iter_mut().zip(&y) {
                    *acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * *y.d.get_unchecked(i)), mul_sum8(w, *y, i), *acc);
                }
            }
        }
        // SAFETY: AVX is enabled here.
        a.map(|v| unsafe { hsum(v) })
    }
}

/// Dot product of a Q5_0 row and a Q8_0 row through the matrix kernel (AVX2 when the CPU has
/// it, else the scalar sums over the repacked blocks).
///
/// # Panics
/// Unless `x` and `y` hold the same number of blocks (the kernel reads `y` at every block of
/// `x`).
pub fn dot_q5_0_q8_0(x: &[BlockQ5], y: &[BlockQ8]) -> f32 {
    assert_eq!(x.len(), y.len(), "dot_q5_0_q8_0: {} weight blocks, {} activation blocks", x.len(), y.len());
    let xp: Vec<Q5Packed> = x.iter().map(Q5Packed::from_gguf).collect();
    let xd: Vec<f32> = x.iter().map(|b| f16::from_bits(b.d).to_f32()).collect();
    let mut rows = Q8Rows { qs: Vec::new(), d: Vec::new(), c: Vec::new(), kb: y.len() };
    y.iter().for_each(|b| rows.push(b));
    Q5Packed::dot1(&xp, &xd, rows.row(0))
}

impl<B: LaneBlock> LaneMatrix<B> {
    /// Weight rows `c0 … c1` against one quantized activation row, into `out[0 … c1 − c0]`
    /// (the arithmetic of [`LaneMatrix::matmul_rowwise`] for one row).
    fn dot_cols(&self, y: Act<'_>, c0: usize, c1: usize, out: &mut [f32]) {
        for (c, o) in (c0..c1).zip(out) {
            *o = B::dot1(self.row(c), self.row_scales(c), y);
        }
    }
}

/// A block of 32 weights as the matrix kernels keep it (scales apart, as f32).
pub trait LaneBlock: Copy + Send + Sync + 'static {
    /// The GGUF type this block holds.
    const DTYPE: GgmlDType;
    /// The 32 signed values.
    fn values(&self) -> [i8; QK];
    /// One GGUF block's bytes → the block and its scale.
    fn from_gguf(raw: &[u8]) -> (Self, f32);
    /// The AVX2 kernel for one weight row (scales `xd`) against one activation row.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C, and `xd` and every activation row must hold at
    /// least `x.len()` blocks: the kernels read them without bounds checks. The safe
    /// [`LaneBlock::dot1`], [`LaneBlock::dot4`] and [`LaneBlock::dot8`] check both.
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot1(x: &[Self], xd: &[f32], y: Act<'_>) -> f32;
    /// The AVX2 kernel for one weight row against four activation rows.
    ///
    /// # Safety
    /// As [`LaneBlock::avx2_dot1`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot4(x: &[Self], xd: &[f32], y: [Act<'_>; 4]) -> [f32; 4];

    /// The AVX2 kernel for one weight row against eight activation rows.
    ///
    /// # Safety
    /// As [`LaneBlock::avx2_dot1`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot8(x: &[Self], xd: &[f32], y: [Act<'_>; 8]) -> [f32; 8];

    /// One weight row against eight activation rows (a decoding batch); each value equals
    /// [`LaneBlock::dot1`] of its row bit for bit.
    ///
    /// # Panics
    /// Unless `xd` and every row of `y` hold `x.len()` blocks.
    fn dot8(x: &[Self], xd: &[f32], y: [Act<'_>; 8]) -> [f32; 8] {
        check_lane_lengths(x.len(), xd.len(), &y);
        #[cfg(target_arch = "x86_64")]
        if crate::vmath::has_avx2_f16c() {
            // SAFETY: AVX2, FMA and F16C detected at run time; `xd` and every row of `y` hold
            // `x.len()` blocks (checked above).
            return unsafe { Self::avx2_dot8(x, xd, y) };
        }
        y.map(|r| dot_lanes_scalar(x, xd, r))
    }
    /// One weight row (scales `xd`) against one activation row.
    ///
    /// # Panics
    /// Unless `xd` and `y` hold `x.len()` blocks.
    fn dot1(x: &[Self], xd: &[f32], y: Act<'_>) -> f32 {
        check_lane_lengths(x.len(), xd.len(), &[y]);
        #[cfg(target_arch = "x86_64")]
        if crate::vmath::has_avx2_f16c() {
            // SAFETY: AVX2, FMA and F16C detected at run time; `xd` and `y` hold `x.len()`
            // blocks (checked above).
            return unsafe { Self::avx2_dot1(x, xd, y) };
        }
        dot_lanes_scalar(x, xd, y)
    }
    /// One weight row against four activation rows.
    ///
    /// # Panics
    /// Unless `xd` and every row of `y` hold `x.len()` blocks.
    fn dot4(x: &[Self], xd: &[f32], y: [Act<'_>; 4]) -> [f32; 4] {
        check_lane_lengths(x.len(), xd.len(), &y);
        #[cfg(target_arch = "x86_64")]
        if crate::vmath::has_avx2_f16c() {
            // SAFETY: AVX2, FMA and F16C detected at run time; `xd` and every row of `y` hold
            // `x.len()` blocks (checked above).
            return unsafe { Self::avx2_dot4(x, xd, y) };
        }
        y.map(|r| dot_lanes_scalar(x, xd, r))
    }
}

/// The lengths the lane kernels read without bounds checks: a weight row of `x` blocks, `xd`
/// scales, and activation rows of `x` blocks each. Once per call, outside the kernels' loops.
#[inline]
fn check_lane_lengths(x: usize, xd: usize, ys: &[Act<'_>]) {
    if xd != x || ys.iter().any(|y| y.len() != x) {
        lane_lengths_differ(x, xd, ys)
    }
}

#[cold]
#[inline(never)]
fn lane_lengths_differ(x: usize, xd: usize, ys: &[Act<'_>]) -> ! {
    let rows: Vec<usize> = ys.iter().map(|y| y.len()).collect();
    panic!("lane kernel: {x} weight blocks, {xd} scales, activation rows of {rows:?} blocks")
}

/// The same integer sums as the kernels, one value at a time (the fallback without AVX2).
fn dot_lanes_scalar<B: LaneBlock>(x: &[B], xd: &[f32], y: Act<'_>) -> f32 {
    let mut sum = 0f32;
    for i in 0..x.len() {
        let v = x[i].values();
        let s: i32 = v.iter().zip(y.q[i].0.iter()).map(|(&a, &b)| a as i32 * b as i32).sum();
        sum += s as f32 * xd[i] * y.d[i];
    }
    sum
}

impl LaneBlock for Q5Packed {
    const DTYPE: GgmlDType = GgmlDType::Q5_0;
    fn from_gguf(c: &[u8]) -> (Self, f32) {
        let b = BlockQ5 {
            d: u16::from_le_bytes([c[0], c[1]]),
            qh: [c[2], c[3], c[4], c[5]],
            qs: std::array::from_fn(|i| c[6 + i]),
        };
        (Q5Packed::from_gguf(&b), f16::from_bits(b.d).to_f32())
    }
    fn values(&self) -> [i8; QK] {
        Q5Packed::values(self)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot1(x: &[Self], xd: &[f32], y: Act<'_>) -> f32 {
        // SAFETY: the caller upholds this method's contract, which is `avx2::dot`'s.
        unsafe { avx2::dot(x, xd, y) }
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot4(x: &[Self], xd: &[f32], y: [Act<'_>; 4]) -> [f32; 4] {
        // SAFETY: the caller upholds this method's contract, which is `avx2::dot4`'s.
        unsafe { avx2::dot4(x, xd, y) }
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot8(x: &[Self], xd: &[f32], y: [Act<'_>; 8]) -> [f32; 8] {
        // SAFETY: the caller upholds this method's contract, which is `avx2::dotn`'s.
        unsafe { avx2::dotn(x, xd, y) }
    }
}

impl LaneBlock for Q8Lane {
    const DTYPE: GgmlDType = GgmlDType::Q8_0;
    fn from_gguf(c: &[u8]) -> (Self, f32) {
        (Q8Lane(std::array::from_fn(|i| c[2 + i] as i8)), f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32())
    }
    fn values(&self) -> [i8; QK] {
        self.0
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot1(x: &[Self], xd: &[f32], y: Act<'_>) -> f32 {
        // SAFETY: the caller upholds this method's contract, which is `avx2::dot_q8`'s.
        unsafe { avx2::dot_q8(x, xd, y) }
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot4(x: &[Self], xd: &[f32], y: [Act<'_>; 4]) -> [f32; 4] {
        // SAFETY: the caller upholds this method's contract, which is `avx2::dot4_q8`'s.
        unsafe { avx2::dot4_q8(x, xd, y) }
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_dot8(x: &[Self], xd: &[f32], y: [Act<'_>; 8]) -> [f32; 8] {
        // SAFETY: the caller upholds this method's contract, which is `avx2::dotn_q8`'s.
        unsafe { avx2::dotn_q8(x, xd, y) }
    }
}

/// A Q5_0 or Q8_0 weight matrix of `n` rows (outputs) by `k` columns (inputs), in GGUF's row
/// order, copied into the kernels' layout: 32-value blocks with their scales apart as f32.
pub struct LaneMatrix<B: LaneBlock> {
    blocks: Vec<B>,
    /// Block scales as f32.
    scales: Vec<f32>,
    n: usize,
    k: usize,
    /// Q5_0 weights repacked for prompt-sized products (made on first use).
    tiled: std::sync::OnceLock<Option<crate::q5tile::TiledQ5>>,
}

/// Q5_0 weights (every 896-wide tensor of Qwen2.5-0.5B's Q4_K_M file).
pub type Q5Matrix = LaneMatrix<Q5Packed>;
/// Q8_0 weights (the tied token-embedding / output layer of Qwen2.5-0.5B's Q4_K_M file).
pub type Q8Matrix = LaneMatrix<Q8Lane>;

/// Activation rows per tile (kept in L1 while a weight row passes over them).
const ROW_TILE: usize = 16;
/// Weight rows per work item.
const COL_GROUP: usize = 8;

impl<B: LaneBlock> LaneMatrix<B> {
    /// Copies the blocks of a 2-D tensor of `B`'s type; `None` for any other type or shape.
    pub fn from_qtensor(qt: &QTensor) -> Result<Option<Self>> {
        if qt.dtype() != B::DTYPE || qt.shape().rank() != 2 {
            return Ok(None);
        }
        let (n, k) = qt.shape().dims2()?;
        if !k.is_multiple_of(QK) {
            return Ok(None);
        }
        let bytes = qt.data()?;
        let nb = n * k / QK;
        let size = B::DTYPE.type_size();
        if bytes.len() != nb * size {
            return Err(InferError::Format(format!("{:?} tensor of {n}×{k} has {} bytes", B::DTYPE, bytes.len())));
        }
        let (blocks, scales) = bytes.chunks_exact(size).map(B::from_gguf).unzip();
        Ok(Some(Self { blocks, scales, n, k, tiled: std::sync::OnceLock::new() }))
    }

    /// Rows (output features) of the matrix.
    pub fn rows(&self) -> usize {
        self.n
    }
    /// Columns (input features) of the matrix.
    pub fn cols(&self) -> usize {
        self.k
    }

    fn row(&self, i: usize) -> &[B] {
        let kb = self.k / QK;
        &self.blocks[i * kb..(i + 1) * kb]
    }
    /// The block scales of row `i`.
    pub fn row_scales(&self, i: usize) -> &[f32] {
        let kb = self.k / QK;
        &self.scales[i * kb..(i + 1) * kb]
    }

    /// Row `i` as f32.
    pub fn row_f32(&self, i: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.k);
        for (b, d) in self.row(i).iter().zip(self.row_scales(i)) {
            out.extend(b.values().iter().map(|&v| v as f32 * d));
        }
        out
    }

    /// The weights as f32, row-major `n × k`.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.n * self.k);
        for (b, d) in self.blocks.iter().zip(&self.scales) {
            out.extend(b.values().iter().map(|&v| v as f32 * d));
        }
        out
    }

    /// The Q5_0 tiles for prompt rows (see [`crate::q5tile`]), made on first use; `None` for
    /// other types or without AVX2.
    pub fn tiled(&self) -> Option<&crate::q5tile::TiledQ5> {
        if B::DTYPE != GgmlDType::Q5_0 || !crate::q5tile::TiledQ5::available() {
            return None;
        }
        self.tiled
            .get_or_init(|| crate::q5tile::TiledQ5::from_blocks(&self.blocks, &self.scales, self.n, self.k))
            .as_ref()
    }

    /// `x` is `m` rows of `k` f32 values; returns `m` rows of `n` values (x · Wᵀ). Two or more
    /// rows of Q5_0 go through the tiles (when the CPU has AVX2), one row through the compact
    /// blocks.
    pub fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        if m >= TILED_MIN_ROWS {
            if let Some(t) = self.tiled() {
                return t.matmul(x, m);
            }
        }
        self.matmul_rowwise(x, m)
    }

    /// The product through the row-at-a-time kernels, whatever the number of rows.
    pub fn matmul_rowwise(&self, x: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        assert_eq!(x.len(), m * k, "{:?} matmul: input is not {m}×{k}", B::DTYPE);
        let xq = Q8Rows::new(x, m, k);
        let mut out = vec![0f32; m * n];
        let out_ptr = out.as_mut_ptr() as usize;
        let xq = &xq;
        let row_tiles = m.div_ceil(ROW_TILE);
        let col_groups = n.div_ceil(COL_GROUP);
        let pool = candle_core::utils::barrier_pool();
        pool.execute_chunked(row_tiles * col_groups, |range| {
            for item in range {
                let (tile, group) = (item / col_groups, item % col_groups);
                let r0 = tile * ROW_TILE;
                let r1 = m.min(r0 + ROW_TILE);
                let c0 = group * COL_GROUP;
                let c1 = n.min(c0 + COL_GROUP);
                for c in c0..c1 {
                    let (w, wd) = (self.row(c), self.row_scales(c));
                    let mut r = r0;
                    // SAFETY: r < m and c < n, so r·n + c is inside `out` (m·n values), which
                    // outlives the pool call; each (r, c) is written by exactly one work item.
                    let put = |r: usize, v: f32| unsafe { *(out_ptr as *mut f32).add(r * n + c) = v };
                    while r + 4 <= r1 {
                        let v = B::dot4(w, wd, [xq.row(r), xq.row(r + 1), xq.row(r + 2), xq.row(r + 3)]);
                        for (i, v) in v.into_iter().enumerate() {
                            put(r + i, v);
                        }
                        r += 4;
                    }
                    while r < r1 {
                        put(r, B::dot1(w, wd, xq.row(r)));
                        r += 1;
                    }
                }
            }
        });
        out
    }
}

/// A k-quant (or Q8_0) weight matrix multiplied with candle's own SIMD dot products on the
/// compact blocks. candle 0.11's x86 path repacks Q4_K into expanded tiles on first use, which
/// doubles the resident weights and slows single-row decoding (more bytes per weight);
/// llama.cpp multiplies the compact blocks, and so do we: activations are quantized to the
/// type's dot-product format once per call, and (row tile × 4-column) work items are spread
/// over candle's thread pool.
///
/// The blocks are not copied: they are read in place from the tensor's CPU storage (which is a
/// vector of the same block type), so candle's repacked copy for prompt rows and this compact
/// view for single rows share one set of weights.
pub struct KMatrix<T: GgmlType> {
    qt: std::sync::Arc<QTensor>,
    n: usize,
    k: usize,
    /// Q4_K / Q6_K weights repacked for prompt-sized products (made on first use).
    tiled: std::sync::OnceLock<Option<crate::ktile::TiledK>>,
    _t: std::marker::PhantomData<T>,
}

impl<T: GgmlType> KMatrix<T> {
    fn new(qt: std::sync::Arc<QTensor>, n: usize, k: usize) -> Result<Option<Self>> {
        let nb = n * k / T::BLCK_SIZE;
        let ok = match qt.data()? {
            std::borrow::Cow::Borrowed(b) => {
                b.len() == nb * std::mem::size_of::<T>()
                    && (b.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>())
            }
            std::borrow::Cow::Owned(_) => false,
        };
        Ok(ok.then_some(Self { qt, n, k, tiled: std::sync::OnceLock::new(), _t: std::marker::PhantomData }))
    }

    fn blocks(&self) -> &[T] {
        match self.qt.data() {
            // SAFETY: checked in `new`: the storage is borrowed, aligned for `T` and holds exactly
            // n·k/BLCK_SIZE blocks of this `repr(C)` type; it lives as long as `self.qt`.
            Ok(std::borrow::Cow::Borrowed(b)) => unsafe {
                std::slice::from_raw_parts(b.as_ptr() as *const T, b.len() / std::mem::size_of::<T>())
            },
            _ => unreachable!("CPU quantized storage is borrowed (checked at construction)"),
        }
    }

    fn row_of<'a>(&self, blocks: &'a [T], i: usize) -> &'a [T] {
        let kb = self.k / T::BLCK_SIZE;
        &blocks[i * kb..(i + 1) * kb]
    }

    fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.n * self.k];
        T::to_float(self.blocks(), &mut out);
        out
    }

    /// Whether prompt-sized products go through [`crate::ktile`] (Q4_K / Q6_K on AVX2).
    fn tiles_prompts(&self) -> bool {
        matches!(T::DTYPE, GgmlDType::Q4K | GgmlDType::Q6K) && crate::ktile::TiledK::available()
    }

    fn tiled(&self) -> Option<&crate::ktile::TiledK> {
        self.tiled
            .get_or_init(|| {
                let raw = match self.qt.data() {
                    Ok(std::borrow::Cow::Borrowed(b)) => b,
                    _ => return None,
                };
                match T::DTYPE {
                    GgmlDType::Q4K => crate::ktile::TiledK::from_q4k(raw, self.n, self.k),
                    GgmlDType::Q6K => crate::ktile::TiledK::from_q6k(raw, self.n, self.k),
                    _ => None,
                }
            })
            .as_ref()
    }

    /// Weight rows `c0 … c1` against one quantized activation row `y`, into
    /// `out[0 … c1 − c0]`: four rows at a time, then one (the row-at-a-time path of
    /// [`KMatrix::matmul`] and of [`matvec_many`]).
    fn dot_cols(&self, y: &[T::VecDotType], c0: usize, c1: usize, out: &mut [f32]) {
        let blocks = self.blocks();
        let mut c = c0;
        while c + 4 <= c1 {
            let (a, b, cc, d) = T::vec_dot_4(
                self.k,
                self.row_of(blocks, c),
                self.row_of(blocks, c + 1),
                self.row_of(blocks, c + 2),
                self.row_of(blocks, c + 3),
                y,
            );
            out[c - c0..c - c0 + 4].copy_from_slice(&[a, b, cc, d]);
            c += 4;
        }
        while c < c1 {
            out[c - c0] = T::vec_dot(self.k, self.row_of(blocks, c), y);
            c += 1;
        }
    }

    fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        assert_eq!(x.len(), m * k, "{:?} matmul: input is not {m}×{k}", T::DTYPE);
        if m >= TILED_MIN_ROWS && self.tiles_prompts() {
            if let Some(t) = self.tiled() {
                return t.matmul(x, m);
            }
        }
        let kb = k / T::BLCK_SIZE;
        let mut xq: Vec<T::VecDotType> = (0..m * kb).map(|_| T::VecDotType::zeros()).collect();
        for r in 0..m {
            T::VecDotType::from_float(&x[r * k..(r + 1) * k], &mut xq[r * kb..(r + 1) * kb]);
        }
        let mut out = vec![0f32; m * n];
        let out_ptr = out.as_mut_ptr() as usize;
        let xq = &xq;
        let row_tiles = m.div_ceil(ROW_TILE);
        let col_groups = n.div_ceil(COL_GROUP);
        candle_core::utils::barrier_pool().execute_chunked(row_tiles * col_groups, |range| {
            for item in range {
                let (tile, group) = (item / col_groups, item % col_groups);
                let r0 = tile * ROW_TILE;
                let c0 = group * COL_GROUP;
                let c1 = n.min(c0 + COL_GROUP);
                for r in r0..m.min(r0 + ROW_TILE) {
                    // SAFETY: r < m and c0 < c1 ≤ n, so the c1 − c0 values from r·n + c0 are
                    // inside `out` (m·n values), which outlives the pool call; item (tile, group)
                    // alone writes columns c0 … c1 of its rows.
                    let row = unsafe { std::slice::from_raw_parts_mut((out_ptr as *mut f32).add(r * n + c0), c1 - c0) };
                    self.dot_cols(&xq[r * kb..(r + 1) * kb], c0, c1, row);
                }
            }
        });
        out
    }
}

/// One activation row (a decoded token's) times several weight matrices that read it, such as
/// a layer's query, key and value projections: the row is quantized once per dot-product
/// format (Q8_K for Q4_K / Q6_K, Q8_0 for Q5_0 / Q8_0) and every matrix's column groups are
/// work items of **one** pool call, so the threads meet at one barrier instead of one per
/// matrix. Each output equals that matrix's own `matmul(x, 1)` bit for bit.
pub fn matvec_many(ws: &[&QWeights], x: &[f32]) -> Vec<Vec<f32>> {
    let k = x.len();
    for w in ws {
        assert_eq!(w.shape().1, k, "matvec_many: a {:?} matrix does not take {k} inputs", w.shape());
    }
    // Work item → (matrix, column group): `starts[i]` is matrix i's first item.
    let mut starts = Vec::with_capacity(ws.len() + 1);
    starts.push(0usize);
    for w in ws {
        starts.push(starts.last().copied().unwrap_or(0) + w.shape().0.div_ceil(COL_GROUP));
    }
    let total = starts.last().copied().unwrap_or(0);
    let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![0f32; w.shape().0]).collect();
    let ptrs: Vec<usize> = outs.iter_mut().map(|o| o.as_mut_ptr() as usize).collect();
    let (x, starts, ptrs) = (&TokenActs::new(ws, x), &starts, &ptrs);
    candle_core::utils::barrier_pool().execute_chunked(total, |range| {
        for item in range {
            let i = starts.partition_point(|&s| s <= item) - 1;
            let n = ws[i].shape().0;
            let c0 = (item - starts[i]) * COL_GROUP;
            let c1 = n.min(c0 + COL_GROUP);
            // SAFETY: c0 < c1 ≤ n, the length of output i, which outlives the pool call; item
            // (i, group) alone writes its columns c0 … c1.
            let out = unsafe { std::slice::from_raw_parts_mut((ptrs[i] as *mut f32).add(c0), c1 - c0) };
            x.dot_cols(ws[i], c0, c1, out);
        }
    });
    outs
}

/// A decoded token's feed-forward input `x` through the gate and up projections and SwiGLU in
/// one pool call: each work item takes the same 8 columns of both products and writes
/// `silu(g) · u` with candle's silu, `g / (1 + e^(−g))`, so the activation runs on every thread
/// rather than after the barrier. Equals `silu(gate·x) ⊙ (up·x)` from [`QWeights::matmul`] bit
/// for bit.
pub fn swiglu_matvec(gate: &QWeights, up: &QWeights, x: &[f32]) -> Vec<f32> {
    let n = gate.shape().0;
    assert_eq!(gate.shape(), up.shape(), "swiglu_matvec: gate and up differ in shape");
    assert_eq!(gate.shape().1, x.len(), "swiglu_matvec: input is not {} long", gate.shape().1);
    let acts = TokenActs::new(&[gate, up], x);
    let mut out = vec![0f32; n];
    let ptr = out.as_mut_ptr() as usize;
    let acts = &acts;
    candle_core::utils::barrier_pool().execute_chunked(n.div_ceil(COL_GROUP), |range| {
        let (mut g, mut u) = ([0f32; COL_GROUP], [0f32; COL_GROUP]);
        for item in range {
            let c0 = item * COL_GROUP;
            let c1 = n.min(c0 + COL_GROUP);
            let w = c1 - c0;
            acts.dot_cols(gate, c0, c1, &mut g[..w]);
            acts.dot_cols(up, c0, c1, &mut u[..w]);
            // SAFETY: c0 < c1 ≤ n = out.len(), and `out` outlives the call; this item alone
            // writes columns c0 … c1.
            let out = unsafe { std::slice::from_raw_parts_mut((ptr as *mut f32).add(c0), w) };
            for ((o, &g), &u) in out.iter_mut().zip(&g[..w]).zip(&u[..w]) {
                *o = g / (1.0 + (-g).exp()) * u;
            }
        }
    });
    out
}

/// Several activation rows (one decoded token of each of `m` sequences, `x` is `m × k`) times
/// several weight matrices that read them: [`matvec_many`] for a batch. Every row is quantized
/// as [`matvec_many`] quantizes its one row, and each work item (matrix, 8 weight rows) runs
/// those weight rows against all `m` activation rows while they sit in L1, so the weights are
/// streamed from memory once per step rather than once per sequence. Row `r` of each output
/// equals `matvec_many(ws, x[r])` bit for bit (the lane kernels' four-row products do each
/// row's arithmetic in the one-row order). Returns, per matrix, `m` rows of its outputs.
pub fn matvec_many_rows(ws: &[&QWeights], x: &[f32], m: usize) -> Vec<Vec<f32>> {
    let k = x.len().checked_div(m).unwrap_or(0);
    assert_eq!(k * m, x.len(), "matvec_many_rows: input is not {m} rows");
    for w in ws {
        assert_eq!(w.shape().1, k, "matvec_many_rows: a {:?} matrix does not take {k} inputs", w.shape());
    }
    let mut starts = Vec::with_capacity(ws.len() + 1);
    starts.push(0usize);
    for w in ws {
        starts.push(starts.last().copied().unwrap_or(0) + w.shape().0.div_ceil(COL_GROUP));
    }
    let total = starts.last().copied().unwrap_or(0);
    let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![0f32; m * w.shape().0]).collect();
    let ptrs: Vec<usize> = outs.iter_mut().map(|o| o.as_mut_ptr() as usize).collect();
    let acts = BatchActs::new(ws, x, m);
    let (acts, starts, ptrs) = (&acts, &starts, &ptrs);
    candle_core::utils::barrier_pool().execute_chunked(total, |range| {
        let mut tmp = vec![0f32; m * COL_GROUP];
        for item in range {
            let i = starts.partition_point(|&s| s <= item) - 1;
            let n = ws[i].shape().0;
            let c0 = (item - starts[i]) * COL_GROUP;
            let c1 = n.min(c0 + COL_GROUP);
            let w = c1 - c0;
            acts.dot_cols(ws[i], c0, c1, &mut tmp);
            for r in 0..m {
                // SAFETY: r < m and c0 < c1 ≤ n, so the w values from r·n + c0 are inside output
                // i (m·n values), which outlives the pool call; item (i, group) alone writes
                // columns c0 … c1 of its rows.
                let out = unsafe { std::slice::from_raw_parts_mut((ptrs[i] as *mut f32).add(r * n + c0), w) };
                out.copy_from_slice(&tmp[r * w..(r + 1) * w]);
            }
        }
    });
    outs
}

/// [`swiglu_matvec`] for `m` activation rows (`x` is `m × k`): row `r` of the result equals
/// `swiglu_matvec(gate, up, x[r])` bit for bit; the gate and up weights of each work item are
/// read once for all rows.
pub fn swiglu_matvec_rows(gate: &QWeights, up: &QWeights, x: &[f32], m: usize) -> Vec<f32> {
    let n = gate.shape().0;
    let k = gate.shape().1;
    assert_eq!(gate.shape(), up.shape(), "swiglu_matvec_rows: gate and up differ in shape");
    assert_eq!(x.len(), m * k, "swiglu_matvec_rows: input is not {m}×{k}");
    let acts = BatchActs::new(&[gate, up], x, m);
    let mut out = vec![0f32; m * n];
    let ptr = out.as_mut_ptr() as usize;
    let acts = &acts;
    candle_core::utils::barrier_pool().execute_chunked(n.div_ceil(COL_GROUP), |range| {
        let (mut g, mut u) = (vec![0f32; m * COL_GROUP], vec![0f32; m * COL_GROUP]);
        for item in range {
            let c0 = item * COL_GROUP;
            let c1 = n.min(c0 + COL_GROUP);
            let w = c1 - c0;
            acts.dot_cols(gate, c0, c1, &mut g);
            acts.dot_cols(up, c0, c1, &mut u);
            for r in 0..m {
                // SAFETY: r < m and c0 < c1 ≤ n, so the w values from r·n + c0 are inside `out`
                // (m·n values), which outlives the call; this item alone writes columns c0 … c1
                // of its rows.
                let out = unsafe { std::slice::from_raw_parts_mut((ptr as *mut f32).add(r * n + c0), w) };
                for ((o, &g), &u) in out.iter_mut().zip(&g[r * w..(r + 1) * w]).zip(&u[r * w..(r + 1) * w]) {
                    *o = g / (1.0 + (-g).exp()) * u;
                }
            }
        }
    });
    out
}

/// `m` activation rows, each quantized as [`TokenActs`] quantizes one.
struct BatchActs {
    m: usize,
    /// Q8_K blocks of every row, row after row (for Q4_K / Q6_K weights); empty when none needs them.
    q8k: Vec<candle_core::quantized::k_quants::BlockQ8K>,
    /// Q8_0 rows (for Q5_0 / Q8_0 weights).
    q8: Option<Q8Rows>,
}

impl BatchActs {
    fn new(ws: &[&QWeights], x: &[f32], m: usize) -> Self {
        use candle_core::quantized::k_quants::{BlockQ8K, QK_K};
        let k = x.len().checked_div(m).unwrap_or(0);
        let q8k = if ws.iter().any(|w| matches!(w, QWeights::Q4K(_) | QWeights::Q6K(_))) {
            let kb = k / QK_K;
            let mut q = (0..m * kb).map(|_| BlockQ8K::zeros()).collect::<Vec<_>>();
            for r in 0..m {
                BlockQ8K::from_float(&x[r * k..(r + 1) * k], &mut q[r * kb..(r + 1) * kb]);
            }
            q
        } else {
            Vec::new()
        };
        let q8 = ws.iter().any(|w| matches!(w, QWeights::Q5_0(_) | QWeights::Q8_0(_))).then(|| Q8Rows::new(x, m, k));
        Self { m, q8k, q8 }
    }

    /// Rows `c0 … c1` of `w` times every activation row: row `r`'s `c1 − c0` values go to
    /// `out[r · (c1 − c0) …]`. Each row's values equal [`TokenActs::dot_cols`] of that row.
    fn dot_cols(&self, w: &QWeights, c0: usize, c1: usize, out: &mut [f32]) {
        let width = c1 - c0;
        fn lanes<B: LaneBlock>(w: &LaneMatrix<B>, ys: &Q8Rows, m: usize, c0: usize, c1: usize, out: &mut [f32]) {
            let width = c1 - c0;
            for c in c0..c1 {
                let (row, sc) = (w.row(c), w.row_scales(c));
                let mut r = 0;
                while r + 8 <= m {
                    let v = B::dot8(row, sc, std::array::from_fn(|i| ys.row(r + i)));
                    for (i, v) in v.into_iter().enumerate() {
                        out[(r + i) * width + c - c0] = v;
                    }
                    r += 8;
                }
                while r + 4 <= m {
                    let v = B::dot4(row, sc, [ys.row(r), ys.row(r + 1), ys.row(r + 2), ys.row(r + 3)]);
                    for (i, v) in v.into_iter().enumerate() {
                        out[(r + i) * width + c - c0] = v;
                    }
                    r += 4;
                }
                while r < m {
                    out[r * width + c - c0] = B::dot1(row, sc, ys.row(r));
                    r += 1;
                }
            }
        }
        let kb = self.q8k.len().checked_div(self.m).unwrap_or(0);
        match (w, &self.q8) {
            (QWeights::Q5_0(w), Some(y)) => lanes(w, y, self.m, c0, c1, out),
            (QWeights::Q8_0(w), Some(y)) => lanes(w, y, self.m, c0, c1, out),
            (QWeights::Q4K(w), _) if crate::kdot::available() => {
                k_rows(w, &self.q8k, self.m, c0, c1, out, crate::kdot::dot_q4k_rows::<4>)
            }
            (QWeights::Q6K(w), _) if crate::kdot::available() => {
                k_rows(w, &self.q8k, self.m, c0, c1, out, crate::kdot::dot_q6k_rows::<4>)
            }
            (QWeights::Q4K(w), _) => {
                for r in 0..self.m {
                    w.dot_cols(&self.q8k[r * kb..(r + 1) * kb], c0, c1, &mut out[r * width..(r + 1) * width]);
                }
            }
            (QWeights::Q6K(w), _) => {
                for r in 0..self.m {
                    w.dot_cols(&self.q8k[r * kb..(r + 1) * kb], c0, c1, &mut out[r * width..(r + 1) * width]);
                }
            }
            _ => unreachable!("the Q8_0 activations are made whenever a lane matrix is present"),
        }
    }
}

/// A k-quant weight row against four Q8_K activation rows ([`crate::kdot`]).
type KDot4<T> = fn(&[T], [&[candle_core::quantized::k_quants::BlockQ8K]; 4]) -> Option<[f32; 4]>;

/// Weight rows `c0 … c1` of a k-quant matrix against `m` Q8_K activation rows (`q8k`, row after
/// row), into `out[r · (c1 − c0) …]`: four activation rows at a time through `dot4` (the weight
/// blocks unpacked once for the four, [`crate::kdot`]), the rest through candle's `vec_dot`;
/// every value equals candle's `vec_dot` of its row.
fn k_rows<T: GgmlType<VecDotType = candle_core::quantized::k_quants::BlockQ8K>>(
    w: &KMatrix<T>,
    q8k: &[candle_core::quantized::k_quants::BlockQ8K],
    m: usize,
    c0: usize,
    c1: usize,
    out: &mut [f32],
    dot4: KDot4<T>,
) {
    let kb = w.k / T::BLCK_SIZE;
    let width = c1 - c0;
    let blocks = w.blocks();
    for c in c0..c1 {
        let row = w.row_of(blocks, c);
        let mut r = 0;
        while r + 4 <= m {
            let Some(v) = dot4(row, std::array::from_fn(|i| &q8k[(r + i) * kb..(r + i + 1) * kb])) else { break };
            for (i, v) in v.into_iter().enumerate() {
                out[(r + i) * width + c - c0] = v;
            }
            r += 4;
        }
        while r < m {
            out[r * width + c - c0] = T::vec_dot(w.k, row, &q8k[r * kb..(r + 1) * kb]);
            r += 1;
        }
    }
}

/// One activation row quantized for every dot-product format the given matrices need.
struct TokenActs {
    /// Q8_K blocks (for Q4_K / Q6_K weights); empty when none needs them.
    q8k: Vec<candle_core::quantized::k_quants::BlockQ8K>,
    /// Q8_0 rows (for Q5_0 / Q8_0 weights).
    q8: Option<Q8Rows>,
}

impl TokenActs {
    fn new(ws: &[&QWeights], x: &[f32]) -> Self {
        use candle_core::quantized::k_quants::{BlockQ8K, QK_K};
        let k = x.len();
        let q8k = if ws.iter().any(|w| matches!(w, QWeights::Q4K(_) | QWeights::Q6K(_))) {
            let mut q = (0..k / QK_K).map(|_| BlockQ8K::zeros()).collect::<Vec<_>>();
            BlockQ8K::from_float(x, &mut q);
            q
        } else {
            Vec::new()
        };
        let q8 = ws.iter().any(|w| matches!(w, QWeights::Q5_0(_) | QWeights::Q8_0(_))).then(|| Q8Rows::new(x, 1, k));
        Self { q8k, q8 }
    }

    /// Rows `c0 … c1` of `w` times this activation row, into `out[0 … c1 − c0]`.
    fn dot_cols(&self, w: &QWeights, c0: usize, c1: usize, out: &mut [f32]) {
        match (w, &self.q8) {
            (QWeights::Q4K(w), _) => w.dot_cols(&self.q8k, c0, c1, out),
            (QWeights::Q6K(w), _) => w.dot_cols(&self.q8k, c0, c1, out),
            (QWeights::Q5_0(w), Some(y)) => w.dot_cols(y.row(0), c0, c1, out),
            (QWeights::Q8_0(w), Some(y)) => w.dot_cols(y.row(0), c0, c1, out),
            _ => unreachable!("the Q8_0 activations are made whenever a lane matrix is present"),
        }
    }
}

/// Weights we multiply ourselves on the CPU.
pub enum QWeights {
    /// Q5_0 blocks.
    Q5_0(Q5Matrix),
    /// Q4_K super-blocks.
    Q4K(KMatrix<BlockQ4K>),
    /// Q6_K super-blocks.
    Q6K(KMatrix<BlockQ6K>),
    /// Q8_0 blocks.
    Q8_0(Q8Matrix),
}

impl QWeights {
    /// A 2-D CPU tensor of a supported type (Q5_0 copied, Q4_K / Q6_K / Q8_0 viewed in place);
    /// `None` otherwise.
    pub fn from_qtensor(qt: &std::sync::Arc<QTensor>) -> Result<Option<Self>> {
        if !qt.device().is_cpu() || qt.shape().rank() != 2 {
            return Ok(None);
        }
        let (n, k) = qt.shape().dims2()?;
        let dtype = qt.dtype();
        if !k.is_multiple_of(dtype.block_size()) {
            return Ok(None);
        }
        Ok(match dtype {
            GgmlDType::Q5_0 => Q5Matrix::from_qtensor(qt)?.map(QWeights::Q5_0),
            GgmlDType::Q4K => KMatrix::new(qt.clone(), n, k)?.map(QWeights::Q4K),
            GgmlDType::Q6K => KMatrix::new(qt.clone(), n, k)?.map(QWeights::Q6K),
            GgmlDType::Q8_0 => Q8Matrix::from_qtensor(qt)?.map(QWeights::Q8_0),
            _ => None,
        })
    }

    /// (outputs, inputs).
    pub fn shape(&self) -> (usize, usize) {
        match self {
            QWeights::Q5_0(m) => (m.n, m.k),
            QWeights::Q4K(m) => (m.n, m.k),
            QWeights::Q6K(m) => (m.n, m.k),
            QWeights::Q8_0(m) => (m.n, m.k),
        }
    }

    /// `m` rows of inputs → `m` rows of outputs.
    pub fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        match self {
            QWeights::Q5_0(w) => w.matmul(x, m),
            QWeights::Q4K(w) => w.matmul(x, m),
            QWeights::Q6K(w) => w.matmul(x, m),
            QWeights::Q8_0(w) => w.matmul(x, m),
        }
    }

    /// Row `i` as f32 (an embedding lookup).
    pub fn row_f32(&self, i: usize) -> Vec<f32> {
        fn one<T: GgmlType>(w: &KMatrix<T>, i: usize) -> Vec<f32> {
            let mut out = vec![0f32; w.k];
            T::to_float(w.row_of(w.blocks(), i), &mut out);
            out
        }
        match self {
            QWeights::Q5_0(w) => w.row_f32(i),
            QWeights::Q4K(w) => one(w, i),
            QWeights::Q6K(w) => one(w, i),
            QWeights::Q8_0(w) => w.row_f32(i),
        }
    }

    /// Row-major f32 copy of the weights.
    pub fn dequantize(&self) -> Vec<f32> {
        match self {
            QWeights::Q5_0(w) => w.dequantize(),
            QWeights::Q4K(w) => w.dequantize(),
            QWeights::Q6K(w) => w.dequantize(),
            QWeights::Q8_0(w) => w.dequantize(),
        }
    }

    /// Whether the weights are a private copy (Q5_0) rather than a view of the tensor.
    pub fn owns_copy(&self) -> bool {
        matches!(self, QWeights::Q5_0(_) | QWeights::Q8_0(_))
    }

    /// Builds the repacked tiles that prompt-sized products use (no-op where there are none, or
    /// when they exist already). Returns their bytes.
    pub fn prepare_tiles(&self) -> usize {
        match self {
            QWeights::Q5_0(w) => w.tiled().map_or(0, |t| t.bytes()),
            QWeights::Q4K(w) if w.tiles_prompts() => w.tiled().map_or(0, |t| t.bytes()),
            QWeights::Q6K(w) if w.tiles_prompts() => w.tiled().map_or(0, |t| t.bytes()),
            _ => 0,
        }
    }

    /// Whether prompt-sized products are ours too (Q5_0 always; Q4_K / Q6_K on AVX2).
    pub fn handles_prompts(&self) -> bool {
        match self {
            QWeights::Q5_0(_) => true,
            QWeights::Q4K(w) => w.tiles_prompts(),
            QWeights::Q6K(w) => w.tiles_prompts(),
            QWeights::Q8_0(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    }

    fn q5_tensor(n: usize, k: usize, seed: u64) -> (QTensor, Vec<f32>) {
        let mut s = seed;
        let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
        let t = Tensor::from_vec(w.clone(), (n, k), &Device::Cpu).unwrap();
        (QTensor::quantize(&t, GgmlDType::Q5_0).unwrap(), w)
    }

    #[test]
    fn avx2_quantization_equals_the_scalar_one() {
        let mut s = 23u64;
        // Varied magnitudes, exact halves (ties) and an all-zero block.
        let mut x: Vec<f32> = (0..32 * 9).map(|i| lcg(&mut s) * (1 + i % 7) as f32).collect();
        x[40] = 0.5 * x.iter().skip(32).take(32).fold(0f32, |m, v| m.max(v.abs())) / 127.0 * 3.0;
        x[256..288].iter_mut().for_each(|v| *v = 0.0);
        let (mut a, mut b) = (vec![BlockQ8::ZERO; 9], vec![BlockQ8::ZERO; 9]);
        quantize_q8_0(&x, &mut a);
        quantize_q8_0_scalar(&x, &mut b);
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            assert_eq!((p.d, p.qs), (q.d, q.qs), "block {i}");
        }
    }

    #[test]
    fn avx2_dot_equals_integer_reference() {
        let (qt, _) = q5_tensor(3, 896, 7);
        // The GGUF blocks as stored (the reference reads them unpacked bit by bit).
        let bytes = qt.data().unwrap();
        let gguf: Vec<BlockQ5> = bytes
            .chunks_exact(22)
            .map(|c| BlockQ5 {
                d: u16::from_le_bytes([c[0], c[1]]),
                qh: [c[2], c[3], c[4], c[5]],
                qs: c[6..22].try_into().unwrap(),
            })
            .collect();
        let m = Q5Matrix::from_qtensor(&qt).unwrap().unwrap();
        let mut s = 11u64;
        let x: Vec<f32> = (0..896).map(|_| lcg(&mut s) * 3.0).collect();
        let mut xq = vec![BlockQ8::ZERO; 896 / QK];
        quantize_q8_0(&x, &mut xq);
        let kb = 896 / QK;
        for r in 0..3 {
            let row = &gguf[r * kb..(r + 1) * kb];
            // The repacked blocks hold the same values as the GGUF ones.
            for (p, g) in m.row(r).iter().zip(row) {
                assert_eq!(p.values(), unpack_q5(g));
            }
            let fast = dot_q5_0_q8_0(row, &xq);
            let slow = dot_q5_0_q8_0_scalar(row, &xq);
            assert!((fast - slow).abs() <= 1e-4 * slow.abs().max(1.0), "row {r}: {fast} vs {slow}");
        }
    }

    #[test]
    fn matmul_matches_candle_and_dequantized_product() {
        // 37 rows exercise full tiles, the 4-row kernel and the single-row tail.
        let (n, k, m) = (45, 256, 37);
        let (qt, _) = q5_tensor(n, k, 3);
        let q = Q5Matrix::from_qtensor(&qt).unwrap().unwrap();
        let mut s = 5u64;
        let x: Vec<f32> = (0..m * k).map(|_| lcg(&mut s)).collect();
        let ours = q.matmul(&x, m);
        // candle's own Q5_0 path (scalar reference kernel, same Q8_0 activations).
        let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu).unwrap();
        // and an f32 product with the dequantized weights (differs only by activation rounding).
        let wd: Vec<f32> = qt.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let qmm = candle_core::quantized::QMatMul::from_qtensor(qt).unwrap();
        let theirs: Vec<f32> =
            candle_core::Module::forward(&qmm, &xt).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        for r in 0..m {
            for c in 0..n {
                let a = ours[r * n + c];
                let b = theirs[r * n + c];
                assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "({r},{c}): {a} vs candle {b}");
                let e: f32 = (0..k).map(|i| x[r * k + i] * wd[c * k + i]).sum();
                assert!((a - e).abs() <= 0.02 * e.abs().max(1.0), "({r},{c}): {a} vs f32 {e}");
            }
        }
    }

    /// Our tiled product over candle's dot kernels equals candle's own product (which repacks
    /// Q4_K and Q6_K into its x86 tiles) and a plain f32 product with the dequantized weights.
    #[test]
    fn k_quant_products_match_candle() {
        for dtype in [GgmlDType::Q4K, GgmlDType::Q6K, GgmlDType::Q8_0, GgmlDType::Q5_0] {
            for m in [1usize, 5, 21] {
                let (n, k) = (38, 512);
                let mut s = 17u64;
                let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
                let qt = std::sync::Arc::new(
                    QTensor::quantize(&Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap(), dtype).unwrap(),
                );
                let ours = QWeights::from_qtensor(&qt).unwrap().expect("supported type");
                assert_eq!(ours.shape(), (n, k));
                let wd = ours.dequantize();
                let x: Vec<f32> = (0..m * k).map(|_| lcg(&mut s)).collect();
                let got = ours.matmul(&x, m);
                let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu).unwrap();
                let qmm = candle_core::quantized::QMatMul::from_arc(qt.clone()).unwrap();
                let theirs: Vec<f32> =
                    candle_core::Module::forward(&qmm, &xt).unwrap().flatten_all().unwrap().to_vec1().unwrap();
                for r in 0..m {
                    for c in 0..n {
                        let (a, b) = (got[r * n + c], theirs[r * n + c]);
                        assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0), "{dtype:?} m={m} ({r},{c}): {a} vs {b}");
                        let e: f32 = (0..k).map(|i| x[r * k + i] * wd[c * k + i]).sum();
                        assert!((a - e).abs() <= 0.03 * e.abs().max(1.0), "{dtype:?} ({r},{c}): {a} vs f32 {e}");
                    }
                }
            }
        }
    }

    /// One token times several matrices of mixed types in one pool call gives each matrix's
    /// own single-row product exactly, and the dequantized f32 product closely. Row counts that
    /// are not multiples of the 8-row work items or the 4-row kernels check the ragged ends.
    #[test]
    fn several_matrices_in_one_call_match_each_alone() {
        let k = 512;
        let mut s = 5u64;
        let mats: Vec<QWeights> =
            [(GgmlDType::Q4K, 38), (GgmlDType::Q6K, 5), (GgmlDType::Q5_0, 17), (GgmlDType::Q8_0, 9)]
                .into_iter()
                .map(|(dtype, n)| {
                    let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
                    let t = Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap();
                    let qt = std::sync::Arc::new(QTensor::quantize(&t, dtype).unwrap());
                    QWeights::from_qtensor(&qt).unwrap().expect("supported type")
                })
                .collect();
        let x: Vec<f32> = (0..k).map(|_| lcg(&mut s)).collect();
        for picked in [vec![0usize, 1, 2, 3], vec![1], vec![2, 0], vec![3, 3]] {
            let ws: Vec<&QWeights> = picked.iter().map(|&i| &mats[i]).collect();
            let got = matvec_many(&ws, &x);
            assert_eq!(got.len(), ws.len());
            for (w, y) in ws.iter().zip(&got) {
                assert_eq!(y, &w.matmul(&x, 1), "{:?}", w.shape());
                let wd = w.dequantize();
                for (c, &a) in y.iter().enumerate() {
                    let e: f32 = (0..k).map(|i| x[i] * wd[c * k + i]).sum();
                    assert!((a - e).abs() <= 0.03 * e.abs().max(1.0), "row {c}: {a} vs f32 {e}");
                }
            }
        }
    }

    /// The fused gate/up/SwiGLU product of one token equals silu(gate·x) ⊙ (up·x) from the
    /// separate products exactly, for matching and mixed weight types, with a ragged last group.
    #[test]
    fn fused_swiglu_equals_the_separate_products() {
        let (n, k) = (37, 512);
        let mut s = 9u64;
        let mut make = |dtype| {
            let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
            let t = Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap();
            QWeights::from_qtensor(&std::sync::Arc::new(QTensor::quantize(&t, dtype).unwrap())).unwrap().unwrap()
        };
        let (g4, u4, u6, g5) =
            (make(GgmlDType::Q4K), make(GgmlDType::Q4K), make(GgmlDType::Q6K), make(GgmlDType::Q5_0));
        let x: Vec<f32> = (0..k).map(|_| 3.0 * lcg(&mut s)).collect();
        for (gate, up) in [(&g4, &u4), (&g4, &u6), (&g5, &u6)] {
            let got = swiglu_matvec(gate, up, &x);
            let (g, u) = (gate.matmul(&x, 1), up.matmul(&x, 1));
            let want: Vec<f32> = g.iter().zip(&u).map(|(&g, &u)| g / (1.0 + (-g).exp()) * u).collect();
            assert_eq!(got, want);
            assert!(got.iter().any(|v| v.abs() > 0.1), "products are not all zero");
        }
    }

    /// Several tokens (a decoding batch) through the batched products give, row for row, the
    /// single-token products bit for bit: every weight type, batch sizes around the 4-row
    /// and 8-row kernels (1, 3, 4, 5, 8, 13), ragged column groups, and the fused SwiGLU.
    #[test]
    fn batched_rows_equal_single_token_products_bit_for_bit() {
        let k = 512;
        let mut s = 17u64;
        let mats: Vec<QWeights> =
            [(GgmlDType::Q4K, 38), (GgmlDType::Q6K, 38), (GgmlDType::Q5_0, 17), (GgmlDType::Q8_0, 9)]
                .into_iter()
                .map(|(dtype, n)| {
                    let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
                    let t = Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap();
                    let qt = std::sync::Arc::new(QTensor::quantize(&t, dtype).unwrap());
                    QWeights::from_qtensor(&qt).unwrap().expect("supported type")
                })
                .collect();
        for m in [1usize, 3, 4, 5, 8, 13] {
            let x: Vec<f32> = (0..m * k).map(|_| 2.0 * lcg(&mut s)).collect();
            let ws: Vec<&QWeights> = mats.iter().collect();
            let got = matvec_many_rows(&ws, &x, m);
            for r in 0..m {
                let one = matvec_many(&ws, &x[r * k..(r + 1) * k]);
                for (i, (y, want)) in got.iter().zip(&one).enumerate() {
                    let n = want.len();
                    assert_eq!(&y[r * n..(r + 1) * n], &want[..], "matrix {i}, m={m}, row {r}");
                }
            }
            for (gate, up) in [(&mats[0], &mats[1]), (&mats[2], &mats[2])] {
                let got = swiglu_matvec_rows(gate, up, &x, m);
                let n = gate.shape().0;
                for r in 0..m {
                    assert_eq!(&got[r * n..(r + 1) * n], &swiglu_matvec(gate, up, &x[r * k..(r + 1) * k])[..], "m={m}");
                }
            }
        }
    }

    /// The lane kernels' safe entry points refuse a weight row, scales and activation rows of
    /// different block counts (the AVX2 kernels read them without bounds checks); on matching
    /// rows the 4- and 8-row products equal the one-row product bit for bit, and that the scalar
    /// sums.
    #[test]
    fn lane_kernels_refuse_mismatched_rows() {
        fn check<B: LaneBlock>(w: &LaneMatrix<B>) {
            let mut s = 3u64;
            let x3: Vec<f32> = (0..8 * 96).map(|_| lcg(&mut s)).collect();
            let x2: Vec<f32> = (0..8 * 64).map(|_| lcg(&mut s)).collect();
            let (a3, a2) = (Q8Rows::new(&x3, 8, 96), Q8Rows::new(&x2, 8, 64));
            let (row, sc) = (w.row(0), w.row_scales(0));
            let panics = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
            assert!(panics(&|| {
                B::dot1(row, sc, a2.row(0));
            }));
            assert!(panics(&|| {
                B::dot1(row, &sc[..2], a3.row(0));
            }));
            assert!(panics(&|| {
                B::dot1(&row[..2], sc, a2.row(0));
            }));
            assert!(panics(&|| {
                B::dot4(row, sc, [a3.row(0), a3.row(1), a2.row(2), a3.row(3)]);
            }));
            assert!(panics(&|| {
                B::dot8(row, sc, std::array::from_fn(|i| if i == 7 { a2.row(7) } else { a3.row(i) }));
            }));
            let one: Vec<f32> = (0..8).map(|r| B::dot1(row, sc, a3.row(r))).collect();
            let four = B::dot4(row, sc, [a3.row(0), a3.row(1), a3.row(2), a3.row(3)]);
            let eight = B::dot8(row, sc, std::array::from_fn(|i| a3.row(i)));
            for r in 0..8 {
                assert_eq!(eight[r].to_bits(), one[r].to_bits(), "row {r}");
                if r < 4 {
                    assert_eq!(four[r].to_bits(), one[r].to_bits(), "row {r}");
                }
                let scalar = dot_lanes_scalar(row, sc, a3.row(r));
                assert!((one[r] - scalar).abs() <= 1e-4 * scalar.abs().max(1.0), "{} vs {scalar}", one[r]);
            }
            // Empty rows: nothing read, zero.
            let a0 = Q8Rows::new(&[], 1, 0);
            assert_eq!(B::dot1(&row[..0], &sc[..0], a0.row(0)), 0.0);
        }
        let (qt, _) = q5_tensor(2, 96, 1);
        check(&Q5Matrix::from_qtensor(&qt).unwrap().unwrap());
        let t =
            Tensor::from_vec((0..2 * 96).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(), (2, 96), &Device::Cpu);
        let q8 = QTensor::quantize(&t.unwrap(), GgmlDType::Q8_0).unwrap();
        check(&Q8Matrix::from_qtensor(&q8).unwrap().unwrap());
    }

    #[test]
    fn other_types_are_not_taken() {
        let t = Tensor::zeros((4, 256), candle_core::DType::F32, &Device::Cpu).unwrap();
        let q = QTensor::quantize(&t, GgmlDType::Q4K).unwrap();
        assert!(Q5Matrix::from_qtensor(&q).unwrap().is_none());
        let q = std::sync::Arc::new(QTensor::quantize(&t, GgmlDType::Q4_1).unwrap());
        assert!(QWeights::from_qtensor(&q).unwrap().is_none());
    }
}
