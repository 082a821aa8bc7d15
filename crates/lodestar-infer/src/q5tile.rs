//! Prompt-sized products of Q5_0 weights on AVX2 (every 896-wide tensor of Qwen2.5-0.5B's
//! Q4_K_M file: q, k, v, o, gate, up).
//!
//! The row-at-a-time kernel of [`crate::qmm`] unpacks each 5-bit block and widens every product
//! to i32 and then to f32 — about 11 vector operations per 32 products. Here the weights are
//! repacked once (on the first prompt) into tiles of 8 output rows × one 32-value block, the
//! values stored as unsigned bytes (`w + 16`, 0 … 31) interleaved so that one 32-byte load holds
//! 4 consecutive values of all 8 rows. Against one activation row a tile block costs 8
//! `maddubs` (u8 × i8 → i16 pairs), i16 additions over 4 groups (≤ 4 · 2 · 31 · 127 = 31,496 <
//! 32,767), two `madd` to i32 — exact integer sums, one lane per output row — then the `+16`
//! offset comes off as `16 · Σa` and floats appear once per block (`d_w · d_a`). The weight
//! loads are shared by 4 activation rows.
//!
//! The tiles take 36 bytes per 32 weights (the compact blocks kept for decoding take 24):
//! about 285 MB more for the 0.5B model, made on its first prompt.

use crate::ktile::{tiled_product, Blocking};
use crate::qmm::LaneBlock;

/// Activation rows per kernel call.
const MT: usize = 4;
const QK: usize = 32;
/// Output rows per tile.
pub const TILE_N: usize = 8;

/// One 32-value block of 8 rows.
#[repr(C, align(32))]
#[derive(Clone, Copy)]
struct TileQ5 {
    /// Block scale per row.
    d: [f32; TILE_N],
    /// [group of 4 values (8)][row (8)][4 bytes]: `w + 16` as u8.
    qs: [u8; QK * TILE_N],
}

// The kernel loads `d` and 32-byte groups of `qs` with aligned loads.
const _: () =
    assert!(std::mem::offset_of!(TileQ5, d).is_multiple_of(32) && std::mem::offset_of!(TileQ5, qs).is_multiple_of(32));

/// One activation block quantized like llama.cpp's `block_q8_0` (nearest, ties to even), with
/// `16 · Σq` for the offset of the unsigned weights.
#[repr(C, align(32))]
#[derive(Clone, Copy)]
struct ActQ8 {
    qs: [i8; QK],
    d: f32,
    c16: i32,
}

impl ActQ8 {
    const ZERO: ActQ8 = ActQ8 { qs: [0; QK], d: 0.0, c16: 0 };

    fn quantize(x: &[f32], out: &mut [ActQ8]) {
        let mut tmp = [crate::qmm::BlockQ8::ZERO];
        for (chunk, a) in x.chunks_exact(QK).zip(out.iter_mut()) {
            crate::qmm::quantize_q8_0(chunk, &mut tmp);
            let (qs, d) = tmp[0].parts();
            a.qs = qs;
            a.d = d;
            a.c16 = 16 * qs.iter().map(|&q| q as i32).sum::<i32>();
        }
    }
}

/// Q5_0 weights repacked into 8-row tiles.
pub struct TiledQ5 {
    n: usize,
    k: usize,
    /// [row tile][block].
    tiles: Vec<TileQ5>,
}

impl TiledQ5 {
    /// Repacks `n` rows of `k / 32` blocks (`blocks`, scales `scales`, row-major).
    pub fn from_blocks<B: LaneBlock>(blocks: &[B], scales: &[f32], n: usize, k: usize) -> Option<Self> {
        let values: Vec<[i8; QK]> = blocks.iter().map(|b| b.values()).collect();
        Self::from_values(&values, scales, n, k)
    }

    /// Repacks `n` rows of `k / 32` blocks given as signed values in −16 … 15 (a Q4_0 block's
    /// −8 … 7 fits) with their scales, row-major. `None` when the sizes do not match or a value
    /// is out of range.
    pub fn from_values(blocks: &[[i8; QK]], scales: &[f32], n: usize, k: usize) -> Option<Self> {
        let kb = k / QK;
        if !k.is_multiple_of(QK)
            || blocks.len() != n * kb
            || scales.len() != n * kb
            || blocks.iter().flatten().any(|v| !(-16..=15).contains(v))
        {
            return None;
        }
        let n_tiles = n.div_ceil(TILE_N);
        let mut tiles = Vec::with_capacity(n_tiles * kb);
        for t in 0..n_tiles {
            for b in 0..kb {
                let mut tile = TileQ5 { d: [0.0; TILE_N], qs: [16; QK * TILE_N] };
                for r in 0..TILE_N.min(n - t * TILE_N) {
                    let row = t * TILE_N + r;
                    tile.d[r] = scales[row * kb + b];
                    let v = blocks[row * kb + b];
                    for g in 0..QK / 4 {
                        for j in 0..4 {
                            tile.qs[(g * TILE_N + r) * 4 + j] = (v[g * 4 + j] as i16 + 16) as u8;
                        }
                    }
                }
                tiles.push(tile);
            }
        }
        Some(Self { n, k, tiles })
    }

    /// Bytes held by the tiles.
    pub fn bytes(&self) -> usize {
        self.tiles.len() * std::mem::size_of::<TileQ5>()
    }

    /// Whether this CPU can run the kernel (AVX2 + FMA).
    pub fn available() -> bool {
        crate::ktile::TiledK::available()
    }

    /// `m` rows of `x` (m × k, row-major) times the weights → m × n. Needs [`Self::available`].
    pub fn matmul(&self, x: &[f32], m: usize) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        assert_eq!(x.len(), m * k, "tiled Q5_0 matmul: input is not {m}×{k}");
        assert!(Self::available(), "tiled Q5_0 kernel needs AVX2 and FMA");
        let kb = k / QK;
        // Activation chunks of ~64 KiB, groups of at most 64 tiles.
        let blocking = Blocking { row_budget: 64 << 10, tile_bytes: kb * std::mem::size_of::<TileQ5>(), max_group: 64 };
        tiled_product::<ActQ8, TILE_N, MT>(
            x,
            m,
            n,
            kb,
            || ActQ8::ZERO,
            ActQ8::quantize,
            blocking,
            |t, acts, rows, acc| {
                let tiles = &self.tiles[t * kb..(t + 1) * kb];
                // What the kernel reads without bounds checks (once per call, outside its loops).
                assert!(acts.iter().all(|a| a.len() == kb), "tiled Q5_0 kernel: activation rows are not {kb} blocks");
                // SAFETY: AVX2 and FMA detected at run time (asserted above); `tiles` and every
                // activation row hold `kb` blocks (checked just above).
                unsafe {
                    if rows == 1 {
                        let one: &mut [[f32; TILE_N]; 1] = (&mut acc[..1]).try_into().expect("one row");
                        avx2::q5::<1>(tiles, &[acts[0]], one);
                    } else {
                        avx2::q5::<MT>(tiles, acts, acc);
                    }
                }
            },
        )
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;
    use core::arch::x86_64::*;

    /// Quants `4g … 4g + 3` broadcast to the eight 32-bit lanes.
    ///
    /// # Safety
    /// The CPU must have AVX, and `g < 8` (read without a bounds check).
    #[inline(always)]
    unsafe fn bcast4(qs: &[i8; QK], g: usize) -> __m256i {
        // SAFETY: g < 8, so bytes 4g … 4g + 3 are inside `qs` (32), and AVX is present (this
        // function's contract); the read is unaligned.
        unsafe { _mm256_set1_epi32(std::ptr::read_unaligned(qs.as_ptr().add(4 * g) as *const i32)) }
    }

    /// One row tile (all its blocks) against `M` activation rows.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA, and every row of `acts` must hold at least `tiles.len()`
    /// blocks (read without bounds checks).
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn q5<const M: usize>(tiles: &[TileQ5], acts: &[&[ActQ8]; M], acc: &mut [[f32; TILE_N]; M]) {
        let ones = _mm256_set1_epi16(1);
        let mut sum = [_mm256_setzero_ps(); M];
        for (b, tile) in tiles.iter().enumerate() {
            // SAFETY: b < tiles.len() ≤ the length of every row of `acts` (this function's
            // contract).
            let a: [&ActQ8; M] = std::array::from_fn(|i| unsafe { acts[i].get_unchecked(b) });
            let mut isum = [_mm256_setzero_si256(); M];
            for half in 0..2 {
                let mut s16 = [_mm256_setzero_si256(); M];
                for g in half * 4..half * 4 + 4 {
                    // SAFETY: g < 8: the aligned load reads bytes 32g … 32g + 31 of `qs` (256),
                    // which start at a multiple of 32 of the `align(32)` tile (const assert
                    // above); `bcast4` gets g < 8 and AVX2 is enabled here.
                    unsafe {
                        let w = _mm256_load_si256(tile.qs.as_ptr().add(g * TILE_N * 4) as *const __m256i);
                        for i in 0..M {
                            s16[i] = _mm256_add_epi16(s16[i], _mm256_maddubs_epi16(w, bcast4(&a[i].qs, g)));
                        }
                    }
                }
                for i in 0..M {
                    isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(s16[i], ones));
                }
            }
            // SAFETY: `d` is 8 f32 at offset 0 of the `align(32)` tile: one aligned load.
            let d = unsafe { _mm256_load_ps(tile.d.as_ptr()) };
            for i in 0..M {
                let v = _mm256_sub_epi32(isum[i], _mm256_set1_epi32(a[i].c16));
                sum[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(d, _mm256_set1_ps(a[i].d)), sum[i]);
            }
        }
        for i in 0..M {
            // SAFETY: acc[i] holds the 8 f32 the unaligned store writes.
            unsafe { _mm256_storeu_ps(acc[i].as_mut_ptr(), sum[i]) };
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    use super::*;
    /// Never called: [`TiledQ5::available`] is false off x86_64.
    ///
    /// # Safety
    /// None needed (it panics).
    pub(super) unsafe fn q5<const M: usize>(_: &[TileQ5], _: &[&[ActQ8]; M], _: &mut [[f32; TILE_N]; M]) {
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
        ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    }

    /// The tiled product equals, row by row, the integer sums of each Q5_0 weight block with the
    /// Q8_0-quantized activations, scaled per block: computed here one value at a time from the
    /// dequantized weights and activations (19 rows: two full tiles and a partial one; 7
    /// activation rows: one 4-row call and three single rows).
    #[test]
    fn tiled_product_equals_blockwise_integer_sums() {
        if !TiledQ5::available() {
            println!("skipped: no AVX2/FMA on this CPU");
            return;
        }
        let (n, k, m) = (19, 96, 7);
        let mut s = 3u64;
        let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
        let qt = QTensor::quantize(&Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap(), GgmlDType::Q5_0).unwrap();
        let lanes = crate::qmm::Q5Matrix::from_qtensor(&qt).unwrap().unwrap();
        let tiled = lanes.tiled().expect("tiles");
        let wd = lanes.dequantize();
        let x: Vec<f32> = (0..m * k).map(|_| lcg(&mut s) * 2.0).collect();
        let got = tiled.matmul(&x, m);
        let kb = k / QK;
        for r in 0..m {
            let mut act = vec![ActQ8::ZERO; kb];
            ActQ8::quantize(&x[r * k..(r + 1) * k], &mut act);
            for c in 0..n {
                // Σ_blocks d_w · d_a · Σ w·q, with w = dequantized / d_w recovered exactly as integers.
                let mut want = 0f64;
                for (b, a) in act.iter().enumerate() {
                    let dw = lanes.row_scales(c)[b];
                    let mut isum = 0i64;
                    for j in 0..QK {
                        let wv = if dw == 0.0 { 0 } else { (wd[c * k + b * QK + j] / dw).round() as i64 };
                        isum += wv * a.qs[j] as i64;
                    }
                    want += dw as f64 * a.d as f64 * isum as f64;
                }
                let g = got[r * n + c] as f64;
                assert!((g - want).abs() <= 1e-4 * want.abs().max(1.0), "({r},{c}): {g} vs {want}");
            }
        }
        // And it agrees with the row-at-a-time kernel used for decoding.
        let rowwise = lanes.matmul_rowwise(&x, m);
        for (a, b) in got.iter().zip(&rowwise) {
            assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
}
