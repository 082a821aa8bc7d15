//! One Q4_K / Q6_K weight row against several Q8_K activation rows (a decoding batch), on AVX2.
//!
//! candle's `vec_dot_q4k_q8k` / `vec_dot_q6k_q8k` take one weight row and one activation row;
//! decoding several sequences calls them once per sequence for every weight row, unpacking the
//! same weight blocks (scales, nibbles, high bits) each time. Here the unpacking is done once
//! per block and shared by up to four activation rows, while each row goes through exactly
//! candle's operations in candle's order (integer sums, then one `fma` per block into eight
//! float lanes, the same horizontal sums), so every result equals candle's `vec_dot` of that
//! row bit for bit. The blocks are read as candle lays them out (`repr(C)`): Q4_K `d, dmin`
//! (f16), 12 scale bytes, 128 nibble bytes; Q6_K 128 low-bit bytes, 64 high-bit bytes, 16 i8
//! scales, `d` (f16); Q8_K `d` (f32), 256 i8 values, 16 i16 block sums.

use candle_core::quantized::k_quants::{BlockQ4K, BlockQ6K, BlockQ8K, QK_K};

const Q4K_BYTES: usize = 144;
const Q6K_BYTES: usize = 210;
const Q8K_BYTES: usize = 292;
const _: () = assert!(std::mem::size_of::<BlockQ4K>() == Q4K_BYTES);
const _: () = assert!(std::mem::size_of::<BlockQ6K>() == Q6K_BYTES);
const _: () = assert!(std::mem::size_of::<BlockQ8K>() == Q8K_BYTES);

/// Whether the kernels here run (the CPU has AVX2 and FMA, as candle's own AVX2 path needs).
pub fn available() -> bool {
    crate::vmath::has_avx2_f16c()
}

/// `x` (one Q4_K weight row) against `N` activation rows; `None` without AVX2.
///
/// # Panics
/// Unless every row of `ys` holds `x.len()` blocks (the kernel reads each at every block of
/// `x`).
pub fn dot_q4k_rows<const N: usize>(x: &[BlockQ4K], ys: [&[BlockQ8K]; N]) -> Option<[f32; N]> {
    for y in &ys {
        assert_eq!(y.len(), x.len(), "dot_q4k_rows: {} weight blocks, {} activation blocks", x.len(), y.len());
    }
    if !available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: AVX2 and FMA detected at run time (`available`); `x` is x.len() blocks of
        // 144 bytes and every row of `ys` x.len() blocks of 292 bytes (lengths checked above,
        // sizes by the const asserts), which is what `avx2::q4k` reads.
        Some(unsafe { avx2::q4k(x.as_ptr() as *const u8, x.len(), ys.map(|y| y.as_ptr() as *const u8)) })
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// `x` (one Q6_K weight row) against `N` activation rows; `None` without AVX2.
///
/// # Panics
/// Unless every row of `ys` holds `x.len()` blocks.
pub fn dot_q6k_rows<const N: usize>(x: &[BlockQ6K], ys: [&[BlockQ8K]; N]) -> Option<[f32; N]> {
    for y in &ys {
        assert_eq!(y.len(), x.len(), "dot_q6k_rows: {} weight blocks, {} activation blocks", x.len(), y.len());
    }
    if !available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: AVX2 and FMA detected at run time (`available`); `x` is x.len() blocks of
        // 210 bytes and every row of `ys` x.len() blocks of 292 bytes (lengths checked above,
        // sizes by the const asserts), which is what `avx2::q6k` reads.
        Some(unsafe { avx2::q6k(x.as_ptr() as *const u8, x.len(), ys.map(|y| y.as_ptr() as *const u8)) })
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Q4K_BYTES, Q6K_BYTES, Q8K_BYTES, QK_K};
    use half::f16;
    use std::arch::x86_64::*;

    /// candle's `hsum_float_8`.
    ///
    /// # Safety
    /// The CPU must have AVX.
    #[inline(always)]
    unsafe fn hsum_float_8(x: __m256) -> f32 {
        // SAFETY: register operations only; AVX is present (this function's contract).
        unsafe {
            let res = _mm256_extractf128_ps(x, 1);
            let res = _mm_add_ps(res, _mm256_castps256_ps128(x));
            let res = _mm_add_ps(res, _mm_movehl_ps(res, res));
            let res = _mm_add_ss(res, _mm_movehdup_ps(res));
            _mm_cvtss_f32(res)
        }
    }

    /// The little-endian f16 at `p`.
    ///
    /// # Safety
    /// `p` must point to 2 readable bytes.
    #[inline(always)]
    unsafe fn f16_at(p: *const u8) -> f32 {
        // SAFETY: bytes 0 and 1 from `p` are readable (this function's contract).
        unsafe { f16::from_bits(u16::from_le_bytes([*p, *p.add(1)])).to_f32() }
    }

    /// The little-endian f32 at `p`.
    ///
    /// # Safety
    /// `p` must point to 4 readable bytes.
    #[inline(always)]
    unsafe fn f32_at(p: *const u8) -> f32 {
        // SAFETY: bytes 0 … 3 from `p` are readable (this function's contract).
        unsafe { f32::from_le_bytes([*p, *p.add(1), *p.add(2), *p.add(3)]) }
    }

    /// candle's `get_scale_shuffle_k4(i)`: bytes (2i, 2i + 1) repeated.
    ///
    /// # Safety
    /// The CPU must have AVX.
    #[inline(always)]
    unsafe fn shuffle_k4(i: usize) -> __m256i {
        let (a, b) = ((2 * i) as i16, (2 * i + 1) as i16);
        // SAFETY: a register operation; AVX is present (this function's contract).
        unsafe { _mm256_set1_epi16(a | (b << 8)) }
    }

    /// candle's `get_scale_shuffle(i)`: byte i repeated 8 times, then byte i + 1... as a 128-bit
    /// shuffle of 16 bytes: the first 8 lanes take scale `2i`, the last 8 scale `2i + 1`.
    #[inline(always)]
    fn shuffle_q6(i: usize) -> __m128i {
        let (a, b) = ((2 * i) as i8, (2 * i + 1) as i8);
        // SAFETY: a register operation of SSE2, which every x86_64 CPU has.
        unsafe { _mm_set_epi8(b, b, b, b, b, b, b, b, a, a, a, a, a, a, a, a) }
    }

    /// Q4_K: candle's `vec_dot_q4k_q8k` for each of `N` activation rows, the weight unpacking
    /// shared.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `x` must point to `nb` readable Q4_K blocks (`nb` · 144
    /// bytes laid out as candle's `BlockQ4K`) and every `ys[r]` to `nb` readable Q8_K blocks
    /// (`nb` · 292 bytes, candle's `BlockQ8K`). No alignment is needed (byte reads and
    /// unaligned loads only).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn q4k<const N: usize>(x: *const u8, nb: usize, ys: [*const u8; N]) -> [f32; N] {
        const KMASK1: u32 = 0x3f3f3f3f;
        const KMASK2: u32 = 0x0f0f0f0f;
        const KMASK3: u32 = 0x03030303;
        let m4 = _mm256_set1_epi8(0xF);
        let mut acc = [_mm256_setzero_ps(); N];
        let mut acc_m = [_mm_setzero_ps(); N];
        for b in 0..nb {
            // SAFETY: b < nb, so block b of `x` (bytes 144·b … 144·b + 143) and of every `ys[r]`
            // (bytes 292·b … 292·b + 291) are readable (this function's contract). Inside a Q4_K
            // block the reads are d and dmin at 0 … 3, the scales at 4 … 15 and the quants at
            // 16 … 143 (32-byte loads at 16 + 32j, j < 4); inside a Q8_K block d at 0 … 3, the
            // quants at 4 … 259 (32-byte loads at 4 + 64j and 36 + 64j, j < 4) and the block
            // sums at 260 … 291 (one 32-byte load). AVX2 is enabled here, as the helpers need.
            unsafe {
                let xb = x.add(b * Q4K_BYTES);
                let (xd, xdmin) = (f16_at(xb), f16_at(xb.add(2)));
                let sc = xb.add(4);
                let rd = |i: usize| {
                    u32::from_le_bytes([*sc.add(4 * i), *sc.add(4 * i + 1), *sc.add(4 * i + 2), *sc.add(4 * i + 3)])
                };
                let mut utmp = [rd(0), rd(1), rd(2), 0];
                utmp[3] = ((utmp[2] >> 4) & KMASK2) | (((utmp[1] >> 6) & KMASK3) << 4);
                let uaux = utmp[1] & KMASK1;
                utmp[1] = (utmp[2] & KMASK2) | (((utmp[0] >> 6) & KMASK3) << 4);
                utmp[2] = uaux;
                utmp[0] &= KMASK1;
                let mins_and_scales =
                    _mm256_cvtepu8_epi16(_mm_set_epi32(utmp[3] as i32, utmp[2] as i32, utmp[1] as i32, utmp[0] as i32));
                let mins = _mm256_extracti128_si256(mins_and_scales, 1);
                let sc128 = _mm256_extracti128_si256(mins_and_scales, 0);
                let scales = _mm256_insertf128_si256(_mm256_castsi128_si256(sc128), sc128, 1);
                let mut sumi = [_mm256_setzero_si256(); N];
                for r in 0..N {
                    let yb = ys[r].add(b * Q8K_BYTES);
                    let yd = f32_at(yb);
                    let dmin = -yd * xdmin;
                    let q8sums = _mm256_loadu_si256(yb.add(4 + QK_K) as *const __m256i);
                    let q8s = _mm_hadd_epi16(_mm256_extracti128_si256(q8sums, 0), _mm256_extracti128_si256(q8sums, 1));
                    let prod = _mm_madd_epi16(mins, q8s);
                    acc_m[r] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m[r]);
                }
                let q4 = xb.add(16);
                for j in 0..QK_K / 64 {
                    let scale_l = _mm256_shuffle_epi8(scales, shuffle_k4(2 * j));
                    let scale_h = _mm256_shuffle_epi8(scales, shuffle_k4(2 * j + 1));
                    let q4bits = _mm256_loadu_si256(q4.add(32 * j) as *const __m256i);
                    let q4l = _mm256_and_si256(q4bits, m4);
                    let q4h = _mm256_and_si256(_mm256_srli_epi16(q4bits, 4), m4);
                    for r in 0..N {
                        let q8 = ys[r].add(b * Q8K_BYTES + 4 + 64 * j);
                        let q8l = _mm256_loadu_si256(q8 as *const __m256i);
                        let p16l = _mm256_madd_epi16(scale_l, _mm256_maddubs_epi16(q4l, q8l));
                        sumi[r] = _mm256_add_epi32(sumi[r], p16l);
                        let q8h = _mm256_loadu_si256(q8.add(32) as *const __m256i);
                        let p16h = _mm256_madd_epi16(scale_h, _mm256_maddubs_epi16(q4h, q8h));
                        sumi[r] = _mm256_add_epi32(sumi[r], p16h);
                    }
                }
                for r in 0..N {
                    let d = f32_at(ys[r].add(b * Q8K_BYTES)) * xd;
                    acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
                }
            }
        }
        std::array::from_fn(|r| {
            let m = acc_m[r];
            let m = _mm_add_ps(m, _mm_movehl_ps(m, m));
            let m = _mm_add_ss(m, _mm_movehdup_ps(m));
            // SAFETY: AVX is enabled here.
            unsafe { hsum_float_8(acc[r]) + _mm_cvtss_f32(m) }
        })
    }

    /// Q6_K: candle's `vec_dot_q6k_q8k` for each of `N` activation rows, the weight unpacking
    /// shared.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `x` must point to `nb` readable Q6_K blocks (`nb` · 210
    /// bytes laid out as candle's `BlockQ6K`) and every `ys[r]` to `nb` readable Q8_K blocks
    /// (`nb` · 292 bytes, candle's `BlockQ8K`). No alignment is needed (byte reads and
    /// unaligned loads only).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn q6k<const N: usize>(x: *const u8, nb: usize, ys: [*const u8; N]) -> [f32; N] {
        let m4 = _mm256_set1_epi8(0xF);
        let m2 = _mm256_set1_epi8(3);
        let m32s = _mm256_set1_epi8(32);
        let mut acc = [_mm256_setzero_ps(); N];
        for b in 0..nb {
            // SAFETY: b < nb, so block b of `x` (bytes 210·b … 210·b + 209) and of every `ys[r]`
            // (bytes 292·b … 292·b + 291) are readable (this function's contract). Inside a Q6_K
            // block the reads are the low bits at 0 … 127 (32-byte loads at 64j and 64j + 32,
            // j < 2), the high bits at 128 … 191 (32-byte loads at 128 + 32j), the scales at
            // 192 … 207 (one 16-byte load) and d at 208 … 209; inside a Q8_K block d at 0 … 3
            // and the quants at 4 … 259 (32-byte loads at 4 + 128j + 32i, j < 2, i < 4). AVX2 is
            // enabled here, as the helpers need.
            unsafe {
                let xb = x.add(b * Q6K_BYTES);
                let (ql, qh, scp) = (xb, xb.add(QK_K / 2), xb.add(QK_K / 2 + QK_K / 4));
                let xd = f16_at(xb.add(QK_K / 2 + QK_K / 4 + QK_K / 16));
                let scales = _mm_loadu_si128(scp as *const __m128i);
                let mut sumi = [_mm256_setzero_si256(); N];
                for j in 0..QK_K / 128 {
                    let is = j * 4;
                    let sc: [__m256i; 4] =
                        std::array::from_fn(|i| _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, shuffle_q6(is + i))));
                    let q4bits1 = _mm256_loadu_si256(ql.add(64 * j) as *const __m256i);
                    let q4bits2 = _mm256_loadu_si256(ql.add(64 * j + 32) as *const __m256i);
                    let q4bits_h = _mm256_loadu_si256(qh.add(32 * j) as *const __m256i);
                    let q4h_0 = _mm256_slli_epi16(_mm256_and_si256(q4bits_h, m2), 4);
                    let q4h_1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(q4bits_h, 2), m2), 4);
                    let q4h_2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(q4bits_h, 4), m2), 4);
                    let q4h_3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(q4bits_h, 6), m2), 4);
                    let q4 = [
                        _mm256_or_si256(_mm256_and_si256(q4bits1, m4), q4h_0),
                        _mm256_or_si256(_mm256_and_si256(q4bits2, m4), q4h_1),
                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4bits1, 4), m4), q4h_2),
                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4bits2, 4), m4), q4h_3),
                    ];
                    for r in 0..N {
                        let q8 = ys[r].add(b * Q8K_BYTES + 4 + 128 * j);
                        let mut p = [_mm256_setzero_si256(); 4];
                        for i in 0..4 {
                            let q8i = _mm256_loadu_si256(q8.add(32 * i) as *const __m256i);
                            let q8s = _mm256_maddubs_epi16(m32s, q8i);
                            let p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q4[i], q8i), q8s);
                            p[i] = _mm256_madd_epi16(sc[i], p16);
                        }
                        sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(p[0], p[1]));
                        sumi[r] = _mm256_add_epi32(sumi[r], _mm256_add_epi32(p[2], p[3]));
                    }
                }
                for r in 0..N {
                    let d = f32_at(ys[r].add(b * Q8K_BYTES)) * xd;
                    acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
                }
            }
        }
        // SAFETY: AVX is enabled here.
        std::array::from_fn(|r| unsafe { hsum_float_8(acc[r]) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::k_quants::GgmlType;

    fn blocks<T: GgmlType>(n: usize, seed: u64) -> Vec<T> {
        let mut s = seed;
        let x: Vec<f32> = (0..n * QK_K)
            .map(|i| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5) * (1.0 + (i % 7) as f32)
            })
            .collect();
        let mut b: Vec<T> = (0..n).map(|_| T::zeros()).collect();
        T::from_float(&x, &mut b);
        b
    }

    /// Four activation rows against one weight row give candle's `vec_dot` of each, bit for bit.
    #[test]
    fn shared_unpacking_equals_candle_row_by_row() {
        if !available() {
            println!("skipped: needs AVX2");
            return;
        }
        let nb = 6;
        let (w4, w6) = (blocks::<BlockQ4K>(nb, 1), blocks::<BlockQ6K>(nb, 2));
        let ys: Vec<Vec<BlockQ8K>> = (0..4).map(|i| blocks::<BlockQ8K>(nb, 10 + i)).collect();
        let rows: [&[BlockQ8K]; 4] = std::array::from_fn(|i| ys[i].as_slice());
        let got4 = dot_q4k_rows(&w4, rows).unwrap();
        let got6 = dot_q6k_rows(&w6, rows).unwrap();
        for r in 0..4 {
            assert_eq!(got4[r].to_bits(), BlockQ4K::vec_dot(nb * QK_K, &w4, &ys[r]).to_bits(), "Q4_K row {r}");
            assert_eq!(got6[r].to_bits(), BlockQ6K::vec_dot(nb * QK_K, &w6, &ys[r]).to_bits(), "Q6_K row {r}");
            assert!(got4[r].abs() > 1e-3 && got6[r].abs() > 1e-3);
        }
        let one = dot_q4k_rows(&w4, [rows[2]]).unwrap();
        assert_eq!(one[0].to_bits(), got4[2].to_bits());
    }
}
