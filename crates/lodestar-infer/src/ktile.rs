//! Prompt-sized products of Q4_K / Q6_K weights (the bulk of a Q4_K_M GGUF) on AVX2.
//!
//! The weights are repacked once (on the first prompt) into tiles of 16 output rows × one
//! 256-value super-block: quants interleaved so one 32-byte load holds 4 consecutive quants of 8
//! rows, sub-block scales and minimums as i16 laid out for `madd`. Activations are quantized per
//! row to Q8_K (as llama.cpp and the decode path do). The kernel multiplies a tile against 4
//! activation rows:
//!
//! * `maddubs` (u8 quants × i8 activations → i16 pairs) results are **summed in i16** over a
//!   sub-block (Q4_K: 8 products ≤ 8 · 2 · 15 · 127 = 30,480; Q6_K: 2 products ≤ 2 · 2 · 63 · 127
//!   = 32,004, both below 32,767), then scaled by the integer sub-block scale with one `madd`
//!   into an i32 kept over the whole super-block — llama.cpp's integer arithmetic, where candle's
//!   repacked kernel widens after every product and scales each sub-block in f32;
//! * the Q4_K minimums (and the Q6_K +32 storage offset) come off through the activations' block
//!   sums, also as integers; floats appear once per super-block (`d_w · d_a`);
//! * work is blocked so a group of weight tiles stays in L2 while a chunk of activation rows
//!   passes over it, and spread over candle's barrier thread pool.
//!
//! `lodestar bench llm`, 1.5B Q4_K_M, 2 threads: prefill 59–64 → 84–89 tok/s (512 / 1024 tokens).

use half::f16;

const QK_K: usize = 256;
/// Output rows per tile.
pub const TILE_N: usize = 16;
/// Bytes of one GGUF block.
const Q4K_BYTES: usize = 144;
const Q6K_BYTES: usize = 210;

/// One Q4_K super-block for 16 rows.
#[repr(C, align(32))]
struct TileQ4K {
    /// Super-block scale and minimum scale per row.
    d: [f32; TILE_N],
    dmin: [f32; TILE_N],
    /// 6-bit sub-block scales per sub-block (8 of 32 values), each row's twice (the two i16
    /// halves of its 32-bit lane, for `madd`).
    sc: [[i16; 2 * TILE_N]; 8],
    /// 6-bit sub-block minimums in pairs: [pair j][row][mn(2j), mn(2j + 1)].
    mn: [[i16; 2 * TILE_N]; 4],
    /// [group of 8 values (32)][row (16)][4 bytes]: byte j = q[8g + j] | q[8g + j + 4] << 4.
    qs: [u8; QK_K / 8 * TILE_N * 4],
}

/// One Q6_K super-block for 16 rows.
#[repr(C, align(32))]
struct TileQ6K {
    d: [f32; TILE_N],
    /// 8-bit signed sub-block scales (16 of 16 values), each row's twice.
    sc: [[i16; 2 * TILE_N]; 16],
    /// The same scales in pairs: [pair j][row][sc(2j), sc(2j + 1)] (for the +32 offset term).
    scp: [[i16; 2 * TILE_N]; 8],
    /// [group of 4 values (64)][row (16)][4 bytes]: the unsigned 6-bit quants (value + 32).
    qs: [u8; QK_K / 4 * TILE_N * 4],
}

// The kernels load these rows with aligned 32-byte loads: each starts at a multiple of 32 of its
// `align(32)` tile.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(TileQ4K, d).is_multiple_of(32) && offset_of!(TileQ4K, dmin).is_multiple_of(32));
    assert!(offset_of!(TileQ4K, sc).is_multiple_of(32) && offset_of!(TileQ4K, mn).is_multiple_of(32));
    assert!(offset_of!(TileQ4K, qs).is_multiple_of(32) && (2 * TILE_N * 2).is_multiple_of(32));
    assert!(offset_of!(TileQ6K, d).is_multiple_of(32) && offset_of!(TileQ6K, sc).is_multiple_of(32));
    assert!(offset_of!(TileQ6K, scp).is_multiple_of(32) && offset_of!(TileQ6K, qs).is_multiple_of(32));
};

/// One row block of activations quantized like ggml's `block_q8_K` (and candle's `BlockQ8K`):
/// `q = round(-127 / max · x)` where `max` is the value of largest magnitude, `d = 1 / iscale`, and
/// the sums of each 16 quants.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct BlockQ8K {
    d: f32,
    qs: [i8; QK_K],
    bsums: [i16; QK_K / 16],
    /// Sums of each 32 quants (|sum| ≤ 32 · 128).
    bsum32: [i16; QK_K / 32],
}

impl BlockQ8K {
    /// A block of zeros (scale 0).
    pub fn zeros() -> Self {
        Self { d: 0.0, qs: [0; QK_K], bsums: [0; QK_K / 16], bsum32: [0; QK_K / 32] }
    }

    /// Quantizes `x` (a multiple of 256 values) into `out`.
    ///
    /// # Panics
    /// Unless `x` holds exactly 256 values per block of `out`.
    pub fn quantize(x: &[f32], out: &mut [BlockQ8K]) {
        check_q8k_lengths(x, out);
        #[cfg(target_arch = "x86_64")]
        if TiledK::available() {
            for (xs, y) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
                // SAFETY: AVX2 and FMA detected at run time (`available`); `xs` is a whole chunk
                // of 256 values.
                unsafe { avx2::quantize_q8k(xs, y) };
            }
            return;
        }
        Self::quantize_scalar(x, out)
    }

    /// [`Self::quantize`] without SIMD (the definition the vector version is checked against).
    ///
    /// # Panics
    /// Unless `x` holds exactly 256 values per block of `out`.
    pub fn quantize_scalar(x: &[f32], out: &mut [BlockQ8K]) {
        check_q8k_lengths(x, out);
        for (xs, y) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
            let (mut max, mut amax) = (0f32, 0f32);
            for &v in xs {
                if v.abs() > amax {
                    amax = v.abs();
                    max = v;
                }
            }
            if amax == 0.0 {
                *y = Self::zeros();
                continue;
            }
            let iscale = -127.0 / max;
            for (q, &v) in y.qs.iter_mut().zip(xs) {
                *q = (iscale * v).round().clamp(-128.0, 127.0) as i8;
            }
            for (j, b) in y.bsums.iter_mut().enumerate() {
                *b = y.qs[j * 16..(j + 1) * 16].iter().map(|&q| q as i16).sum();
            }
            for j in 0..QK_K / 32 {
                y.bsum32[j] = y.bsums[2 * j] + y.bsums[2 * j + 1];
            }
            y.d = 1.0 / iscale;
        }
    }

    /// The values the quants stand for.
    pub fn dequantize(blocks: &[BlockQ8K]) -> Vec<f32> {
        blocks.iter().flat_map(|b| b.qs.iter().map(move |&q| q as f32 * b.d)).collect()
    }
}

fn check_q8k_lengths(x: &[f32], out: &[BlockQ8K]) {
    assert!(
        out.len().checked_mul(QK_K) == Some(x.len()),
        "Q8_K quantization: {} values for {} blocks of {QK_K}",
        x.len(),
        out.len()
    );
}

enum Tiles {
    Q4K(Vec<TileQ4K>),
    Q6K(Vec<TileQ6K>),
}

/// Q4_K or Q6_K weights (n outputs × k inputs) repacked into tiles.
pub struct TiledK {
    n: usize,
    k: usize,
    tiles: Tiles,
}

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// ggml's 6-bit scale / min of sub-block `j` of a Q4_K super-block.
fn scale_min_k4(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }
}

/// The tiles of raw GGUF blocks (`n · k / 256` blocks of `block_bytes`, row-major): one per
/// 16 rows × super-block, each row's block written into it by `fill(tile, row in tile, block)`;
/// rows past `n` stay as `empty` made them. `None` when the sizes do not match.
fn pack<T>(
    raw: &[u8],
    n: usize,
    k: usize,
    block_bytes: usize,
    empty: impl Fn() -> T,
    fill: impl Fn(&mut T, usize, &[u8]),
) -> Option<Vec<T>> {
    let kb = k / QK_K;
    if !k.is_multiple_of(QK_K) || raw.len() != n * kb * block_bytes {
        return None;
    }
    let n_tiles = n.div_ceil(TILE_N);
    let mut tiles = Vec::with_capacity(n_tiles * kb);
    for t in 0..n_tiles {
        for b in 0..kb {
            let mut tile = empty();
            for r in 0..TILE_N.min(n - t * TILE_N) {
                fill(&mut tile, r, &raw[((t * TILE_N + r) * kb + b) * block_bytes..][..block_bytes]);
            }
            tiles.push(tile);
        }
    }
    Some(tiles)
}

impl TiledK {
    /// Repacks raw GGUF Q4_K blocks (`n · k / 256` blocks of 144 bytes, row-major).
    pub fn from_q4k(raw: &[u8], n: usize, k: usize) -> Option<Self> {
        let empty = || TileQ4K {
            d: [0.0; TILE_N],
            dmin: [0.0; TILE_N],
            sc: [[0; 2 * TILE_N]; 8],
            mn: [[0; 2 * TILE_N]; 4],
            qs: [0; QK_K / 8 * TILE_N * 4],
        };
        let tiles = pack(raw, n, k, Q4K_BYTES, empty, |tile, r, blk| {
            tile.d[r] = f16_at(blk, 0);
            tile.dmin[r] = f16_at(blk, 2);
            let scales = &blk[4..16];
            let qs = &blk[16..144];
            for sub in 0..8 {
                let (sc, mn) = scale_min_k4(sub, scales);
                tile.sc[sub][2 * r] = sc as i16;
                tile.sc[sub][2 * r + 1] = sc as i16;
                tile.mn[sub / 2][2 * r + sub % 2] = mn as i16;
            }
            // value p: chunk p/64, low nibble for the first 32 of the chunk, high after
            let val = |p: usize| -> u8 {
                let (c, i) = (p / 64, p % 64);
                if i < 32 {
                    qs[c * 32 + i] & 0x0F
                } else {
                    qs[c * 32 + i - 32] >> 4
                }
            };
            for g in 0..QK_K / 8 {
                for j in 0..4 {
                    tile.qs[(g * TILE_N + r) * 4 + j] = val(g * 8 + j) | (val(g * 8 + j + 4) << 4);
                }
            }
        })?;
        Some(Self { n, k, tiles: Tiles::Q4K(tiles) })
    }

    /// Repacks raw GGUF Q6_K blocks (`n · k / 256` blocks of 210 bytes, row-major).
    pub fn from_q6k(raw: &[u8], n: usize, k: usize) -> Option<Self> {
        let empty = || TileQ6K {
            d: [0.0; TILE_N],
            sc: [[0; 2 * TILE_N]; 16],
            scp: [[0; 2 * TILE_N]; 8],
            qs: [0; QK_K / 4 * TILE_N * 4],
        };
        let tiles = pack(raw, n, k, Q6K_BYTES, empty, |tile, r, blk| {
            let (ql, qh, sc) = (&blk[0..128], &blk[128..192], &blk[192..208]);
            tile.d[r] = f16_at(blk, 208);
            for (s, &v) in sc.iter().enumerate() {
                let v = (v as i8) as i16;
                tile.sc[s][2 * r] = v;
                tile.sc[s][2 * r + 1] = v;
                tile.scp[s / 2][2 * r + s % 2] = v;
            }
            // ggml's layout: halves of 128 values, quarters of 32; value p's scale is p/16
            let val = |p: usize| -> u8 {
                let (half, q, l) = (p / 128, (p % 128) / 32, p % 32);
                let (ql, qh) = (&ql[half * 64..], &qh[half * 32..]);
                let low = match q {
                    0 => ql[l] & 0x0F,
                    1 => ql[l + 32] & 0x0F,
                    2 => ql[l] >> 4,
                    _ => ql[l + 32] >> 4,
                };
                low | (((qh[l] >> (2 * q)) & 3) << 4)
            };
            for g in 0..QK_K / 4 {
                for j in 0..4 {
                    tile.qs[(g * TILE_N + r) * 4 + j] = val(g * 4 + j);
                }
            }
        })?;
        Some(Self { n, k, tiles: Tiles::Q6K(tiles) })
    }

    /// Bytes held by the tiles.
    pub fn bytes(&self) -> usize {
        match &self.tiles {
            Tiles::Q4K(t) => t.len() * std::mem::size_of::<TileQ4K>(),
            Tiles::Q6K(t) => t.len() * std::mem::size_of::<TileQ6K>(),
        }
    }

    /// Whether this CPU can run the kernels (AVX2 + FMA).
    pub fn available() -> bool {
        crate::vmath::has_avx2()
    }

    /// `m` rows of `x` (m × k, row-major) times the weights → m × n. Needs [`TiledK::available`].
    pub fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        assert_eq!(x.len(), m * k, "tiled matmul: input is not {m}×{k}");
        assert!(Self::available(), "tiled k-quant kernels need AVX2 and FMA");
        let kb = k / QK_K;
        let tile_bytes = kb
            * match &self.tiles {
                Tiles::Q4K(_) => std::mem::size_of::<TileQ4K>(),
                Tiles::Q6K(_) => std::mem::size_of::<TileQ6K>(),
            };
        // Activation chunks of ~128 KiB of Q8_K, groups of at most 16 tiles.
        let blocking = Blocking { row_budget: 128 << 10, tile_bytes, max_group: 16 };
        // Activation rows per kernel call, measured with `benches/kernels.rs` (2 threads, m = 512,
        // the 1.5B's shapes): Q4_K 4 → 6 rows +1–4 % (8: −9 %, register spills); Q6_K 4 → 8 rows
        // +8–13 %.
        macro_rules! product {
            ($tiles:expr, $kernel:ident, $m:literal) => {{
                let v = $tiles;
                tiled_product::<BlockQ8K, TILE_N, $m>(
                    x,
                    m,
                    n,
                    kb,
                    BlockQ8K::zeros,
                    BlockQ8K::quantize,
                    blocking,
                    |t, acts, rows, acc| {
                        let tiles = &v[t * kb..(t + 1) * kb];
                        // SAFETY: AVX2 and FMA detected at run time (asserted above), all the
                        // kernels need: they index the activation rows with bounds checks, and
                        // `acc` / `one` are arrays of the kernel's row count.
                        unsafe {
                            if rows == 1 {
                                let one: &mut [[f32; TILE_N]; 1] = (&mut acc[..1]).try_into().expect("one row");
                                avx2::$kernel::<1>(tiles, &[acts[0]], one)
                            } else {
                                avx2::$kernel::<$m>(tiles, acts, acc)
                            }
                        }
                    },
                )
            }};
        }
        match &self.tiles {
            Tiles::Q4K(v) => product!(v, q4k, 6),
            Tiles::Q6K(v) => product!(v, q6k, 8),
        }
    }
}

/// How [`tiled_product`] blocks its work.
pub(crate) struct Blocking {
    /// Bytes of quantized activation rows per chunk (meant to stay in L2).
    pub row_budget: usize,
    /// Bytes of one tile column block (all its blocks along `k`).
    pub tile_bytes: usize,
    /// Most tiles per group (a group is ~96 KiB).
    pub max_group: usize,
}

/// The product shared by the repacked kernels ([`TiledK`], [`crate::q5tile::TiledQ5`]): the `m`
/// rows of `x` are quantized into `kb` blocks each by `quantize` (rows spread over candle's thread
/// pool); then chunks of activation rows are walked against groups of tiles, both meant to stay in
/// L2, work items spread over the pool. `kernel(tile, acts, rows, acc)` multiplies the tile
/// column block `tile` (`TN` outputs) with `M` activation rows of which the first `rows` are
/// real (the others repeat the last) into `acc`. Returns m × n.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tiled_product<A: Send + Sync, const TN: usize, const M: usize>(
    x: &[f32],
    m: usize,
    n: usize,
    kb: usize,
    zero: impl Fn() -> A,
    quantize: impl Fn(&[f32], &mut [A]) + Sync,
    blocking: Blocking,
    kernel: impl Fn(usize, &[&[A]; M], usize, &mut [[f32; TN]; M]) + Sync,
) -> Vec<f32> {
    let k = x.len() / m.max(1);
    let pool = candle_core::utils::barrier_pool();
    let mut xq: Vec<A> = (0..m * kb).map(|_| zero()).collect();
    let xq_ptr = xq.as_mut_ptr() as usize;
    pool.execute_chunked(m, |range| {
        for r in range {
            // SAFETY: r < m, so blocks r·kb … r·kb + kb − 1 are inside `xq` (m·kb blocks), which
            // outlives the pool call; each row's blocks are written by exactly one work item.
            let dst = unsafe { std::slice::from_raw_parts_mut((xq_ptr as *mut A).add(r * kb), kb) };
            quantize(&x[r * k..(r + 1) * k], dst);
        }
    });
    let mut out = vec![0f32; m * n];
    let n_tiles = n.div_ceil(TN);
    let row_bytes = kb * std::mem::size_of::<A>();
    let m_chunk = (blocking.row_budget / row_bytes.max(1)).clamp(M, 252) / M * M;
    let n_group = ((96 << 10) / blocking.tile_bytes.max(1)).clamp(1, blocking.max_group);
    let m_chunks = m.div_ceil(m_chunk);
    let n_groups = n_tiles.div_ceil(n_group);
    let out_ptr = out.as_mut_ptr() as usize;
    let xq = &xq;
    pool.execute_chunked(m_chunks * n_groups, |range| {
        for item in range {
            let (mc, ng) = (item / n_groups, item % n_groups);
            let (r0, r1) = (mc * m_chunk, m.min((mc + 1) * m_chunk));
            let (t0, t1) = (ng * n_group, n_tiles.min((ng + 1) * n_group));
            let mut r = r0;
            while r < r1 {
                let rows = M.min(r1 - r);
                let acts: [&[A]; M] =
                    std::array::from_fn(|i| &xq[(r + i.min(rows - 1)) * kb..(r + i.min(rows - 1) + 1) * kb]);
                for t in t0..t1 {
                    let mut acc = [[0f32; TN]; M];
                    kernel(t, &acts, rows, &mut acc);
                    let cols = TN.min(n - t * TN);
                    for (i, a) in acc.iter().enumerate().take(rows) {
                        // SAFETY: r + i < m and t·TN + cols ≤ n, so the `cols` values from
                        // (r + i)·n + t·TN are inside `out` (m·n values), which outlives the pool
                        // call; (row r + i, columns of tile t) belong to this work item only.
                        let dst = unsafe {
                            std::slice::from_raw_parts_mut((out_ptr as *mut f32).add((r + i) * n + t * TN), cols)
                        };
                        dst.copy_from_slice(&a[..cols]);
                    }
                }
                r += rows;
            }
        }
    });
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;
    use core::arch::x86_64::*;

    /// [`BlockQ8K::quantize_scalar`] for one block, 8 values at a time: the same scale (the
    /// first value of largest magnitude), rounding half away from zero like `f32::round`.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA, and `xs` must hold at least 256 values (read without
    /// bounds checks).
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn quantize_q8k(xs: &[f32], y: &mut BlockQ8K) {
        let p = xs.as_ptr();
        let sign = _mm256_set1_ps(-0.0);
        let mut vmax = _mm256_setzero_ps();
        for i in (0..QK_K).step_by(8) {
            // SAFETY: i + 8 ≤ 256 ≤ xs.len() (this function's contract); unaligned load.
            vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign, unsafe { _mm256_loadu_ps(p.add(i)) }));
        }
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` holds the 8 f32 the unaligned store writes.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), vmax) };
        let amax = lanes.iter().fold(0f32, |m, &v| m.max(v));
        if amax == 0.0 {
            *y = BlockQ8K::zeros();
            return;
        }
        let max = xs.iter().copied().find(|v| v.abs() == amax).unwrap_or(amax);
        let iscale = -127.0 / max;
        let vs = _mm256_set1_ps(iscale);
        let half = _mm256_set1_ps(0.499_999_97);
        let ones = _mm256_set1_epi16(1);
        // Callers pass i + 8 ≤ 256.
        let q32 = |i: usize| {
            // SAFETY: i + 8 ≤ 256 ≤ xs.len() (see the calls below and this function's
            // contract); unaligned load.
            let v = _mm256_mul_ps(vs, unsafe { _mm256_loadu_ps(p.add(i)) });
            // round half away from zero: trunc(v + copysign(0.5 − ulp, v))
            let r = _mm256_round_ps(
                _mm256_add_ps(v, _mm256_or_ps(half, _mm256_and_ps(v, sign))),
                _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC,
            );
            _mm256_cvtps_epi32(r)
        };
        for c in 0..QK_K / 32 {
            let b = c * 32;
            let a16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q32(b), q32(b + 8)), 0b11_01_10_00);
            let b16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q32(b + 16), q32(b + 24)), 0b11_01_10_00);
            let q8 = _mm256_permute4x64_epi64(_mm256_packs_epi16(a16, b16), 0b11_01_10_00);
            // SAFETY: b + 32 ≤ 256 = y.qs.len(): the unaligned store writes quants b … b + 31.
            unsafe { _mm256_storeu_si256(y.qs.as_mut_ptr().add(b) as *mut __m256i, q8) };
            // sums of each 16 quants: pairs summed by `madd`, then the 8 pair sums
            let mut s = [0i32; 8];
            for (half, v) in [a16, b16].into_iter().enumerate() {
                // SAFETY: `s` holds the 8 i32 the unaligned store writes.
                unsafe { _mm256_storeu_si256(s.as_mut_ptr() as *mut __m256i, _mm256_madd_epi16(v, ones)) };
                y.bsums[2 * c + half] = s.iter().sum::<i32>() as i16;
            }
            y.bsum32[c] = y.bsums[2 * c] + y.bsums[2 * c + 1];
        }
        y.d = 1.0 / iscale;
    }

    /// Quants `off … off + 3` broadcast to the eight 32-bit lanes.
    ///
    /// # Safety
    /// The CPU must have AVX, and `off + 4 ≤ qs.len()` (read without a bounds check).
    #[inline(always)]
    unsafe fn bcast4(qs: &[i8], off: usize) -> __m256i {
        // SAFETY: bytes off … off + 3 of `qs` exist and AVX is present (this function's
        // contract); the read is unaligned.
        unsafe { _mm256_set1_epi32(std::ptr::read_unaligned(qs.as_ptr().add(off) as *const i32)) }
    }

    /// Values `2j` and `2j + 1` broadcast to the eight 32-bit lanes.
    ///
    /// # Safety
    /// The CPU must have AVX, and `2j + 2 ≤ v.len()` (read without a bounds check).
    #[inline(always)]
    unsafe fn bcast_pair(v: &[i16], j: usize) -> __m256i {
        // SAFETY: values 2j and 2j + 1 of `v` exist and AVX is present (this function's
        // contract); the read is unaligned.
        unsafe { _mm256_set1_epi32(std::ptr::read_unaligned(v.as_ptr().add(2 * j) as *const i32)) }
    }

    /// Values `16h … 16h + 15` of `v` (the i16 pairs of tile rows `8h … 8h + 7`).
    ///
    /// # Safety
    /// The CPU must have AVX, `h ≤ 1`, and `v` must be 32-byte aligned (the load is aligned;
    /// the `sc` and `mn` / `scp` rows of the `align(32)` tiles are, at offsets that are
    /// multiples of 32).
    #[inline(always)]
    unsafe fn half(v: &[i16; 2 * TILE_N], h: usize) -> __m256i {
        // SAFETY: h ≤ 1, so values 16h … 16h + 15 are inside `v` (32 values), and `v` is
        // 32-byte aligned (this function's contract), so is 32·h bytes into it.
        unsafe { _mm256_load_si256(v.as_ptr().add(h * TILE_N) as *const __m256i) }
    }

    /// Tiles of one column block (all super-blocks) against `M` activation rows, one 8-row half
    /// of the tile at a time (sharing broadcasts across both halves measured slower: register
    /// spills). Integer sums are scaled by the integer sub-block scales and kept in i32 over a
    /// super-block (≤ 8 · 2 · 30,480 · 63 < 2^31); floats only once per super-block.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA. (The activation blocks are indexed with bounds checks,
    /// and every other read or write is inside a tile or `acc`, whose sizes are in the types.)
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn q4k<const M: usize>(tiles: &[TileQ4K], acts: &[&[BlockQ8K]; M], acc: &mut [[f32; TILE_N]; M]) {
        let mask = _mm256_set1_epi8(0x0F);
        for h in 0..2 {
            let mut sum = [_mm256_setzero_ps(); M];
            for (b, tile) in tiles.iter().enumerate() {
                let a: [&BlockQ8K; M] = std::array::from_fn(|i| &acts[i][b]);
                let mut isum = [_mm256_setzero_si256(); M];
                // SAFETY: AVX2 is enabled here, as the helpers need. `TileQ4K` is
                // `repr(C, align(32))` with `qs` at byte 896 (a multiple of 32): the aligned
                // loads of `qs` at 64g + 32h (g < 32, h < 2) read inside its 2,048 bytes, and
                // `sc[sub]` / `mn[j]` (at bytes 128 + 64·sub and 640 + 64j) are 32-byte aligned
                // rows of 32 i16, as `half` needs. `bcast4` reads quants 8g … 8g + 7 < 256 of an
                // activation block, `bcast_pair` sums 2j, 2j + 1 < 8 of its `bsum32`; `d` and
                // `dmin` (bytes 0 and 64) are loaded aligned at 8h of their 16 f32.
                unsafe {
                    for sub in 0..8 {
                        let mut s16 = [_mm256_setzero_si256(); M];
                        for g4 in 0..4 {
                            let g = sub * 4 + g4;
                            let w = _mm256_load_si256(tile.qs.as_ptr().add(g * TILE_N * 4 + h * 32) as *const __m256i);
                            let lo = _mm256_and_si256(w, mask);
                            let hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask);
                            for i in 0..M {
                                let al = bcast4(&a[i].qs, g * 8);
                                let ah = bcast4(&a[i].qs, g * 8 + 4);
                                s16[i] = _mm256_add_epi16(s16[i], _mm256_maddubs_epi16(lo, al));
                                s16[i] = _mm256_add_epi16(s16[i], _mm256_maddubs_epi16(hi, ah));
                            }
                        }
                        let sc = half(&tile.sc[sub], h);
                        for i in 0..M {
                            isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(s16[i], sc));
                        }
                    }
                    let d = _mm256_load_ps(tile.d.as_ptr().add(h * 8));
                    let dmin = _mm256_load_ps(tile.dmin.as_ptr().add(h * 8));
                    for i in 0..M {
                        // Σ_sub min · Σa over the sub-block, as integers
                        let mut imin = _mm256_setzero_si256();
                        for j in 0..4 {
                            imin = _mm256_add_epi32(
                                imin,
                                _mm256_madd_epi16(half(&tile.mn[j], h), bcast_pair(&a[i].bsum32, j)),
                            );
                        }
                        let da = _mm256_set1_ps(a[i].d);
                        sum[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), _mm256_mul_ps(d, da), sum[i]);
                        sum[i] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(imin), _mm256_mul_ps(dmin, da), sum[i]);
                    }
                }
            }
            for i in 0..M {
                // SAFETY: h < 2: the unaligned store writes values 8h … 8h + 7 of acc[i] (16).
                unsafe { _mm256_storeu_ps(acc[i].as_mut_ptr().add(h * 8), sum[i]) };
            }
        }
    }

    /// Q6_K: pairs of products summed in i16 (≤ 2 · 2 · 63 · 127), scaled by the signed sub-block
    /// scales into i32 over a super-block (≤ 16 · 2 · 2 · 32,004 · 128 < 2^31); the +32 storage
    /// offset comes off as 32 · Σ scale · Σa.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA. (The activation blocks are indexed with bounds checks,
    /// and every other read or write is inside a tile or `acc`, whose sizes are in the types.)
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn q6k<const M: usize>(tiles: &[TileQ6K], acts: &[&[BlockQ8K]; M], acc: &mut [[f32; TILE_N]; M]) {
        for h in 0..2 {
            let mut sum = [_mm256_setzero_ps(); M];
            for (b, tile) in tiles.iter().enumerate() {
                let a: [&BlockQ8K; M] = std::array::from_fn(|i| &acts[i][b]);
                let mut isum = [_mm256_setzero_si256(); M];
                // SAFETY: AVX2 is enabled here, as the helpers need. `TileQ6K` is
                // `repr(C, align(32))` with `qs` at byte 1,600 (a multiple of 32): the aligned
                // loads of `qs` at 64g + 32h (g < 64, h < 2) read inside its 4,096 bytes, and
                // `sc[sub]` / `scp[j]` (at bytes 64 + 64·sub and 1,088 + 64j) are 32-byte aligned
                // rows of 32 i16, as `half` needs. `bcast4` reads quants 4g … 4g + 3 < 256 of an
                // activation block, `bcast_pair` sums 2j, 2j + 1 < 16 of its `bsums`; `d` (byte 0)
                // is loaded aligned at 8h of its 16 f32.
                unsafe {
                    for sub in 0..16 {
                        let sc = half(&tile.sc[sub], h);
                        for pair in 0..2 {
                            let mut s16 = [_mm256_setzero_si256(); M];
                            for g4 in pair * 2..pair * 2 + 2 {
                                let g = sub * 4 + g4;
                                let w =
                                    _mm256_load_si256(tile.qs.as_ptr().add(g * TILE_N * 4 + h * 32) as *const __m256i);
                                for i in 0..M {
                                    let x = bcast4(&a[i].qs, g * 4);
                                    s16[i] = _mm256_add_epi16(s16[i], _mm256_maddubs_epi16(w, x));
                                }
                            }
                            for i in 0..M {
                                isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(s16[i], sc));
                            }
                        }
                    }
                    let d = _mm256_load_ps(tile.d.as_ptr().add(h * 8));
                    for i in 0..M {
                        let mut off = _mm256_setzero_si256();
                        for j in 0..8 {
                            off = _mm256_add_epi32(
                                off,
                                _mm256_madd_epi16(half(&tile.scp[j], h), bcast_pair(&a[i].bsums, j)),
                            );
                        }
                        let v = _mm256_sub_epi32(isum[i], _mm256_slli_epi32(off, 5));
                        sum[i] =
                            _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(d, _mm256_set1_ps(a[i].d)), sum[i]);
                    }
                }
            }
            for i in 0..M {
                // SAFETY: h < 2: the unaligned store writes values 8h … 8h + 7 of acc[i] (16).
                unsafe { _mm256_storeu_ps(acc[i].as_mut_ptr().add(h * 8), sum[i]) };
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    use super::*;
    /// Never called: [`TiledK::available`] is false off x86_64.
    ///
    /// # Safety
    /// None needed (it panics).
    pub(super) unsafe fn q4k<const M: usize>(_: &[TileQ4K], _: &[&[BlockQ8K]; M], _: &mut [[f32; TILE_N]; M]) {
        unreachable!("available() is false off x86_64")
    }
    /// Never called: [`TiledK::available`] is false off x86_64.
    ///
    /// # Safety
    /// None needed (it panics).
    pub(super) unsafe fn q6k<const M: usize>(_: &[TileQ6K], _: &[&[BlockQ8K]; M], _: &mut [[f32; TILE_N]; M]) {
        unreachable!("available() is false off x86_64")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    }

    /// The tiled product equals a direct integer computation of the same Q8_K-quantized rows
    /// (dequantized weights × dequantized activations, in f64) up to f32 rounding, for row and
    /// column counts that are not multiples of the tile sizes.
    #[test]
    fn tiled_products_equal_the_dequantized_q8k_product() {
        if !TiledK::available() {
            println!("SKIP: no AVX2/FMA on this CPU");
            return;
        }
        for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
            // m = 4 with constant weights and activations: every quant at its extreme, the worst
            // case for the i16 / i32 sums
            for (m, extreme) in [(1usize, false), (3, false), (4, false), (9, false), (4, true)] {
                let (n, k) = (37, 512);
                let mut s = 5u64;
                // rows of different magnitudes so the scales and minimums differ
                let w: Vec<f32> = (0..n * k)
                    .map(|i| {
                        if extreme {
                            if (i / 2) % 2 == 0 {
                                2.0
                            } else {
                                -2.0
                            }
                        } else {
                            lcg(&mut s) * (1.0 + (i / k) as f32 * 0.1)
                        }
                    })
                    .collect();
                let qt = QTensor::quantize(&Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap(), dtype).unwrap();
                let raw = qt.data().unwrap().to_vec();
                let tiled = match dtype {
                    GgmlDType::Q4K => TiledK::from_q4k(&raw, n, k),
                    _ => TiledK::from_q6k(&raw, n, k),
                }
                .expect("tiles");
                let wd: Vec<f32> = qt.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
                let x: Vec<f32> = (0..m * k).map(|_| if extreme { -3.0 } else { lcg(&mut s) }).collect();
                let got = tiled.matmul(&x, m);
                for r in 0..m {
                    // the activations as the kernel sees them: Q8_K-quantized, dequantized
                    let mut q = vec![BlockQ8K::zeros(); k / QK_K];
                    BlockQ8K::quantize(&x[r * k..(r + 1) * k], &mut q);
                    let xd = BlockQ8K::dequantize(&q);
                    for c in 0..n {
                        let want: f64 = (0..k).map(|i| xd[i] as f64 * wd[c * k + i] as f64).sum();
                        let g = got[r * n + c] as f64;
                        assert!(
                            (g - want).abs() <= 1e-4 * want.abs().max(1.0),
                            "{dtype:?} m={m} ({r},{c}): {g} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// The vector quantization equals the scalar one field by field: random blocks, a block
    /// whose largest magnitude is negative, an all-zero block, and exact halves (x · iscale =
    /// k + 0.5 with iscale = 1, which `f32::round` takes away from zero).
    #[test]
    fn vector_q8k_quantization_equals_the_scalar_one() {
        let mut s = 11u64;
        let mut x: Vec<f32> = (0..QK_K * 3).map(|_| lcg(&mut s) * 3.0).collect();
        x[QK_K + 17] = -9.0;
        x[2 * QK_K..].iter_mut().for_each(|v| *v = 0.0);
        let mut halves: Vec<f32> = (0..QK_K).map(|i| (i % 50) as f32 - 24.5).collect();
        halves[3] = -127.0; // max = −127 → iscale = 1
        x.extend(halves);
        let (mut a, mut b) = (vec![BlockQ8K::zeros(); 4], vec![BlockQ8K::zeros(); 4]);
        BlockQ8K::quantize(&x, &mut a);
        BlockQ8K::quantize_scalar(&x, &mut b);
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            assert_eq!(p.d.to_bits(), q.d.to_bits(), "block {i} scale");
            assert_eq!(p.qs, q.qs, "block {i} quants");
            assert_eq!(p.bsums, q.bsums, "block {i} sums of 16");
            assert_eq!(p.bsum32, q.bsum32, "block {i} sums of 32");
        }
        // iscale = −127 / −127 = 1: −24.5 → −25 and −22.5 → −23 (ties to even would give −24, −22)
        assert_eq!(b[3].qs[0], -25);
        assert_eq!(b[3].qs[2], -23);
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(TiledK::from_q4k(&[0u8; 100], 1, 256).is_none());
        assert!(TiledK::from_q6k(&[0u8; Q6K_BYTES], 1, 200).is_none());
    }
}
