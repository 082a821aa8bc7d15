//! Small vector routines shared by the plain-slice forward passes (LLM decoding, e5 encoding):
//! a dot product in eight lanes, `exp` and the erf form of GELU with AVX2 (scalar elsewhere),
//! and work over disjoint row chunks on candle's thread pool.

/// Dot product in eight independent lanes (vectorized by the compiler).
pub(crate) fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Runs `f(first row, rows)` over chunks of `rows_per_item` rows (`width` values each) of `xs`
/// on candle's thread pool; each chunk goes to exactly one call.
pub(crate) fn par_rows(xs: &mut [f32], width: usize, rows_per_item: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let rows = xs.len().checked_div(width).unwrap_or(0);
    let per = rows_per_item.max(1);
    let ptr = xs.as_mut_ptr() as usize;
    candle_core::utils::barrier_pool().execute_chunked(rows.div_ceil(per), |items| {
        for item in items {
            let (r0, r1) = (item * per, rows.min((item + 1) * per));
            // SAFETY: r0 ≤ r1 ≤ rows = xs.len() / width, so values r0·width … r1·width are inside
            // `xs`, which outlives the pool call; items cover disjoint row ranges.
            let part = unsafe { std::slice::from_raw_parts_mut((ptr as *mut f32).add(r0 * width), (r1 - r0) * width) };
            f(r0, part);
        }
    });
}

/// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7, below f32 rounding of the
/// activations). candle's `gelu_erf` calls the pure-Rust `libm` erf, which took 16 % of e5
/// embedding time on 2 cores.
pub(crate) fn erf(x: f32) -> f32 {
    let ax = x.abs();
    let t = 1.0 / (1.0 + ERF_P * ax);
    let poly = ((((ERF_A[4] * t + ERF_A[3]) * t + ERF_A[2]) * t + ERF_A[1]) * t + ERF_A[0]) * t;
    let y = 1.0 - poly * (-ax * ax).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
}

const ERF_P: f32 = 0.327_591_1;
const ERF_A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152_1, 1.061_405_4];

/// GELU, erf form: `x · (1 + erf(x / √2)) / 2`.
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Query rows per attention block.
pub(crate) const RB: usize = 4;
/// Keys (or value dimensions) per register.
pub(crate) const LW: usize = 8;

/// Whether `rows` rows of `stride` values, each read up to (not including) column `end`, fit in
/// `len` values: `(rows − 1) · stride + end ≤ len` without overflow (true when `rows` is 0).
fn rows_fit(rows: usize, stride: usize, end: usize, len: usize) -> bool {
    rows == 0 || (rows - 1).checked_mul(stride).and_then(|o| o.checked_add(end)).is_some_and(|e| e <= len)
}

/// Attention scores of RB query rows: `p[r · pstride + j] = scale · q[r] · k_j` for keys
/// `j0 ≤ j < j1` (both multiples of 8), the keys given transposed: `kt[d · stride + j]`.
///
/// # Panics
/// Unless the query rows have one length `hd`, `j0 ≤ j1` are multiples of 8 with
/// `j1 ≤ stride, pstride`, and (for `j0 < j1`) `kt` holds `hd` rows of `stride` reaching column
/// `j1` and `p` RB rows of `pstride` reaching column `j1` — what the vector kernel reads and
/// writes unchecked.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attn_scores(
    q: &[&[f32]; RB],
    kt: &[f32],
    stride: usize,
    (j0, j1): (usize, usize),
    scale: f32,
    p: &mut [f32],
    pstride: usize,
) {
    let hd = q[0].len();
    assert!(q.iter().all(|r| r.len() == hd), "attn_scores: query rows of different lengths");
    assert!(
        j0 <= j1 && j0.is_multiple_of(LW) && j1.is_multiple_of(LW) && j1 <= stride && j1 <= pstride,
        "attn_scores: keys {j0} … {j1} are not whole blocks of {LW} inside rows of {stride} and {pstride}"
    );
    assert!(
        j0 == j1 || (rows_fit(hd, stride, j1, kt.len()) && rows_fit(RB, pstride, j1, p.len())),
        "attn_scores: {hd} key rows of {stride} ({} values) or {RB} score rows of {pstride} ({} values) \
         do not reach column {j1}",
        kt.len(),
        p.len()
    );
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA detected at run time; the query rows hold `hd` values, `kt` hd
        // rows of `stride` and `p` RB rows of `pstride` reaching column j1, and j0 … j1 are
        // whole blocks of 8 (all checked above).
        unsafe { avx2::scores(q, kt, stride, (j0, j1), scale, p, pstride) };
        return;
    }
    attn_scores_scalar(q, kt, stride, (j0, j1), scale, p, pstride)
}

fn attn_scores_scalar(
    q: &[&[f32]; RB],
    kt: &[f32],
    stride: usize,
    (j0, j1): (usize, usize),
    scale: f32,
    p: &mut [f32],
    pstride: usize,
) {
    let hd = q[0].len();
    for j0 in (j0..j1).step_by(LW) {
        let mut acc = [[0f32; LW]; RB];
        for d in 0..hd {
            for r in 0..RB {
                for l in 0..LW {
                    acc[r][l] += q[r][d] * kt[d * stride + j0 + l];
                }
            }
        }
        for r in 0..RB {
            for l in 0..LW {
                p[r * pstride + j0 + l] = acc[r][l] * scale;
            }
        }
    }
}

/// Value dimensions per attention-output block.
pub(crate) const CW: usize = 16;

/// Attention output of RB rows for value dimensions `d0 … d0 + w` (w ≤ 16; the rest 0):
/// `Σ_{j < len} p[r · pstride + j] · v[j · vstride + d0 + l]`, terms added in key order.
///
/// # Panics
/// Unless `w ≤ 16` and (for `len > 0`) `p` holds RB rows of `pstride` reaching column `len`
/// and `vs` `len` rows of `vstride` reaching column `d0 + w` — what the vector kernel reads
/// unchecked.
pub(crate) fn attn_context(
    p: &[f32],
    pstride: usize,
    vs: &[f32],
    vstride: usize,
    len: usize,
    d0: usize,
    w: usize,
) -> [[f32; CW]; RB] {
    assert!(w <= CW, "attn_context: {w} value dimensions, at most {CW}");
    assert!(
        len == 0
            || (rows_fit(RB, pstride, len, p.len())
                && d0.checked_add(w).is_some_and(|end| rows_fit(len, vstride, end, vs.len()))),
        "attn_context: {RB} rows of {pstride} ({} values) do not reach key {len}, or {len} value rows of \
         {vstride} ({} values) column {d0} + {w}",
        p.len(),
        vs.len()
    );
    #[cfg(target_arch = "x86_64")]
    if (w == 8 || w == 16) && has_avx2() {
        // SAFETY: AVX2 and FMA detected at run time; `vs` holds `len` rows of `vstride`
        // reaching column d0 + w and `p` RB rows of `pstride` reaching column `len` (checked
        // above), and the kernel's W is w.
        return unsafe {
            if w == 16 {
                avx2::context::<16>(p, pstride, vs, vstride, len, d0)
            } else {
                avx2::context::<8>(p, pstride, vs, vstride, len, d0)
            }
        };
    }
    attn_context_scalar(p, pstride, vs, vstride, len, d0, w)
}

fn attn_context_scalar(
    p: &[f32],
    pstride: usize,
    vs: &[f32],
    vstride: usize,
    len: usize,
    d0: usize,
    w: usize,
) -> [[f32; CW]; RB] {
    let mut acc = [[0f32; CW]; RB];
    for j in 0..len {
        for r in 0..RB {
            let pj = p[r * pstride + j];
            for l in 0..w {
                acc[r][l] += pj * vs[j * vstride + d0 + l];
            }
        }
    }
    acc
}

/// Whether this CPU has AVX2 and FMA (checked once): what every AVX2 kernel of this crate needs.
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`has_avx2`] and F16C (half-precision conversions), checked once.
pub(crate) fn has_avx2_f16c() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| has_avx2() && std::arch::is_x86_feature_detected!("f16c"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `x ← exp(x)` for every value (inputs below −87 give about 1.6e-38 instead of less).
pub(crate) fn exp_in_place(xs: &mut [f32]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA detected at run time (`has_avx2`); the kernel stays inside `xs`.
        done = unsafe { avx2::exp_slice(xs) };
    }
    for x in &mut xs[done..] {
        *x = x.exp();
    }
}

/// Softmax in place, `exp(x − max) / Σ`, the probabilities rounded to f16 when `f16` (as
/// llama.cpp rounds them before multiplying its f16 values).
pub(crate) fn softmax_in_place(row: &mut [f32], f16: bool) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    row.iter_mut().for_each(|v| *v -= max);
    exp_in_place(row);
    let inv = 1.0 / row.iter().sum::<f32>();
    row.iter_mut().for_each(|v| *v *= inv);
    if f16 {
        round_f16_in_place(row);
    }
}

/// candle's softmax exactly (libm exp, then division by the sum), the probabilities rounded to
/// f16 when `f16`: what the LLM paths use, so they stay bit-close to the tensor path (the vector
/// exp of [`softmax_in_place`] flipped a greedy reference).
pub(crate) fn softmax_exact_in_place(row: &mut [f32], f16: bool) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
    if f16 {
        round_f16_in_place(row);
    }
}

/// `x ← f32(f16(x))` (round to nearest even) for every value.
pub(crate) fn round_f16_in_place(xs: &mut [f32]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if has_avx2_f16c() {
        // SAFETY: AVX2 and F16C detected at run time (`has_avx2_f16c`); the kernel stays inside
        // `xs`.
        done = unsafe { avx2::round_f16(xs) };
    }
    for x in &mut xs[done..] {
        *x = half::f16::from_f32(*x).to_f32();
    }
}

/// `x ← gelu(x)` for every value.
pub(crate) fn gelu_in_place(xs: &mut [f32]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA detected at run time (`has_avx2`); the kernel stays inside `xs`.
        done = unsafe { avx2::gelu_slice(xs) };
    }
    for x in &mut xs[done..] {
        *x = gelu(*x);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{CW, ERF_A, ERF_P, LW, RB};
    use core::arch::x86_64::*;

    /// Two blocks of 8 keys at a time where they fit: 8 independent accumulators hide the FMA
    /// latency (4 rows × one block would wait on it).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; with `hd = q[0].len()`: every query row holds at least
    /// `hd` values, `j0 ≤ j1` are multiples of 8, and for `j0 < j1` `kt` holds at least
    /// `(hd − 1) · stride + j1` values (if `hd > 0`) and `p` at least `(RB − 1) · pstride + j1`
    /// (all read or written without bounds checks). [`super::attn_scores`] checks them.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn scores(
        q: &[&[f32]; RB],
        kt: &[f32],
        stride: usize,
        (j0, j1): (usize, usize),
        scale: f32,
        p: &mut [f32],
        pstride: usize,
    ) {
        let hd = q[0].len();
        let sc = _mm256_set1_ps(scale);
        let mut j = j0;
        while j + 2 * LW <= j1 {
            let mut a = [_mm256_setzero_ps(); RB];
            let mut b = [_mm256_setzero_ps(); RB];
            for d in 0..hd {
                // SAFETY: d < hd and j + 16 ≤ j1, so both 8-value loads end at or before
                // d·stride + j1 ≤ kt.len(); d < hd ≤ every q[r].len() (this function's contract).
                unsafe {
                    let k0 = _mm256_loadu_ps(kt.as_ptr().add(d * stride + j));
                    let k1 = _mm256_loadu_ps(kt.as_ptr().add(d * stride + j + LW));
                    for r in 0..RB {
                        let qd = _mm256_set1_ps(*q[r].get_unchecked(d));
                        a[r] = _mm256_fmadd_ps(qd, k0, a[r]);
                        b[r] = _mm256_fmadd_ps(qd, k1, b[r]);
                    }
                }
            }
            for r in 0..RB {
                // SAFETY: r < RB and j + 16 ≤ j1: both 8-value stores end at or before
                // r·pstride + j1 ≤ p.len() (this function's contract).
                unsafe {
                    _mm256_storeu_ps(p.as_mut_ptr().add(r * pstride + j), _mm256_mul_ps(a[r], sc));
                    _mm256_storeu_ps(p.as_mut_ptr().add(r * pstride + j + LW), _mm256_mul_ps(b[r], sc));
                }
            }
            j += 2 * LW;
        }
        while j < j1 {
            let mut acc = [_mm256_setzero_ps(); RB];
            for d in 0..hd {
                // SAFETY: d < hd and j + 8 ≤ j1 (j0 and j1 are multiples of 8), so the load ends
                // at or before d·stride + j1 ≤ kt.len(); d < hd ≤ every q[r].len() (this
                // function's contract).
                unsafe {
                    let k = _mm256_loadu_ps(kt.as_ptr().add(d * stride + j));
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(_mm256_set1_ps(*q[r].get_unchecked(d)), k, *a);
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                // SAFETY: r < RB and j + 8 ≤ j1: the store ends at or before r·pstride + j1 ≤
                // p.len() (this function's contract).
                unsafe { _mm256_storeu_ps(p.as_mut_ptr().add(r * pstride + j), _mm256_mul_ps(*a, sc)) };
            }
            j += LW;
        }
    }

    /// `W` = 8 or 16 dims (one or two registers per row). Keys in order, one accumulator per
    /// output, so each sum adds its terms in the same order as a plain loop (a different order
    /// can flip the 8-bit rounding of the next layer's activations).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `W` is 8 or 16, and for `len > 0` `vs` holds at least
    /// `(len − 1) · vstride + d0 + W` values and `p` at least `(RB − 1) · pstride + len` (read
    /// without bounds checks). [`super::attn_context`] checks them.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn context<const W: usize>(
        p: &[f32],
        pstride: usize,
        vs: &[f32],
        vstride: usize,
        len: usize,
        d0: usize,
    ) -> [[f32; CW]; RB] {
        let mut a = [_mm256_setzero_ps(); RB];
        let mut b = [_mm256_setzero_ps(); RB];
        for j in 0..len {
            // SAFETY: j < len, so the loads of values j·vstride + d0 … + W end at or before
            // (len − 1)·vstride + d0 + W ≤ vs.len(), and r·pstride + j < (RB − 1)·pstride + len
            // ≤ p.len() for r < RB (this function's contract).
            unsafe {
                let v0 = _mm256_loadu_ps(vs.as_ptr().add(j * vstride + d0));
                if W == 16 {
                    let v1 = _mm256_loadu_ps(vs.as_ptr().add(j * vstride + d0 + 8));
                    for r in 0..RB {
                        let pj = _mm256_set1_ps(*p.get_unchecked(r * pstride + j));
                        a[r] = _mm256_fmadd_ps(pj, v0, a[r]);
                        b[r] = _mm256_fmadd_ps(pj, v1, b[r]);
                    }
                } else {
                    for (r, a) in a.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(_mm256_set1_ps(*p.get_unchecked(r * pstride + j)), v0, *a);
                    }
                }
            }
        }
        let mut out = [[0f32; CW]; RB];
        for r in 0..RB {
            // SAFETY: out[r] holds 16 f32: the two unaligned stores write values 0 … 15.
            unsafe {
                _mm256_storeu_ps(out[r].as_mut_ptr(), a[r]);
                _mm256_storeu_ps(out[r].as_mut_ptr().add(8), b[r]);
            }
        }
        out
    }

    /// Rounds the whole multiples of 8 of `xs` to f16 and back; returns how many values were
    /// done.
    ///
    /// # Safety
    /// The CPU must have AVX2 and F16C. (Only whole 8-value blocks inside `xs` are touched.)
    #[target_feature(enable = "avx2,f16c")]
    pub(super) unsafe fn round_f16(xs: &mut [f32]) -> usize {
        let n = xs.len() / 8 * 8;
        let p = xs.as_mut_ptr();
        for i in (0..n).step_by(8) {
            // SAFETY: i + 8 ≤ n ≤ xs.len(): the unaligned load and store stay inside `xs`.
            unsafe {
                let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(p.add(i)));
                _mm256_storeu_ps(p.add(i), _mm256_cvtph_ps(h));
            }
        }
        n
    }

    /// exp by range reduction `x = n·ln 2 + r` (|r| ≤ ln 2 / 2, ln 2 split in two parts) and
    /// Cephes' degree-7 polynomial for e^r, then 2^n through the exponent bits.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[inline(always)]
    unsafe fn exp8(x: __m256) -> __m256 {
        // SAFETY: register operations only; AVX2 and FMA are present (this function's
        // contract).
        unsafe {
            let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0)), _mm256_set1_ps(88.0));
            let n = _mm256_round_ps(
                _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)),
                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC,
            );
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
            let mut p = _mm256_set1_ps(1.987_569_1e-4);
            for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
                p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
            }
            let e = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0));
            let pow2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
            _mm256_mul_ps(e, _mm256_castsi256_ps(pow2))
        }
    }

    /// The whole multiples of 8 of `xs`; returns how many values were done.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA. (Only whole 8-value blocks inside `xs` are touched.)
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn exp_slice(xs: &mut [f32]) -> usize {
        let n = xs.len() / 8 * 8;
        let p = xs.as_mut_ptr();
        for i in (0..n).step_by(8) {
            // SAFETY: i + 8 ≤ n ≤ xs.len(): the unaligned load and store stay inside `xs`;
            // AVX2 and FMA are enabled here, as `exp8` needs.
            unsafe { _mm256_storeu_ps(p.add(i), exp8(_mm256_loadu_ps(p.add(i)))) };
        }
        n
    }

    /// GELU (erf form) of the whole multiples of 8 of `xs`; returns how many values were done.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA. (Only whole 8-value blocks inside `xs` are touched.)
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gelu_slice(xs: &mut [f32]) -> usize {
        let n = xs.len() / 8 * 8;
        let p = xs.as_mut_ptr();
        let sign = _mm256_set1_ps(-0.0);
        let one = _mm256_set1_ps(1.0);
        for i in (0..n).step_by(8) {
            // SAFETY: i + 8 ≤ n ≤ xs.len(): the unaligned load stays inside `xs`.
            let x = unsafe { _mm256_loadu_ps(p.add(i)) };
            let z = _mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
            let az = _mm256_andnot_ps(sign, z);
            let t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(ERF_P), az, one));
            let mut poly = _mm256_set1_ps(ERF_A[4]);
            for c in [ERF_A[3], ERF_A[2], ERF_A[1], ERF_A[0]] {
                poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(c));
            }
            poly = _mm256_mul_ps(poly, t);
            // SAFETY: AVX2 and FMA are enabled here, as `exp8` needs.
            let e = unsafe { exp8(_mm256_xor_ps(_mm256_mul_ps(az, az), sign)) };
            let y = _mm256_fnmadd_ps(poly, e, one);
            let erf = _mm256_or_ps(y, _mm256_and_ps(z, sign));
            let g = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5), x), _mm256_add_ps(one, erf));
            // SAFETY: as the load above.
            unsafe { _mm256_storeu_ps(p.add(i), g) };
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf from its Maclaurin series in f64 (converges fast for |x| ≤ 3), an independent check.
    fn erf_series(x: f64) -> f64 {
        let mut sum = 0.0;
        let mut term = x;
        for n in 0..200 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn fast_erf_is_within_its_error_bound() {
        for i in -300..=300 {
            let x = i as f64 / 100.0;
            let got = erf(x as f32) as f64;
            assert!((got - erf_series(x)).abs() < 5e-7, "erf({x}) = {got}, series {}", erf_series(x));
        }
        assert!(erf(0.0).abs() < 2e-7, "A&S 7.1.26 is within 1.5e-7 of erf, not exact, at 0");
        assert!((erf(10.0) - 1.0).abs() < 1e-7);
    }

    /// exp against f64's over the range softmax and GELU use, relative error within a few f32
    /// rounding steps (2^-23 ≈ 1.19e-7 each).
    #[test]
    fn exp_matches_f64_exp() {
        let xs: Vec<f32> = (-8700..=8800).map(|i| i as f32 / 100.0).collect();
        let mut got = xs.clone();
        exp_in_place(&mut got);
        for (x, g) in xs.iter().zip(&got) {
            let want = (*x as f64).exp();
            let rel = ((*g as f64) - want).abs() / want;
            assert!(rel < 4e-7, "exp({x}) = {g}, want {want} (rel {rel:e})");
        }
        // below the clamp: tiny, never negative or NaN
        let mut low = [-100.0f32; 9];
        exp_in_place(&mut low);
        assert!(low.iter().all(|v| *v >= 0.0 && *v < 2e-38), "{low:?}");
    }

    /// The vector GELU equals the scalar one (same formula) to f32 rounding, including the
    /// scalar tail of a length that is not a multiple of 8; and both follow the erf definition
    /// computed independently in f64 (erf by its Maclaurin series).
    #[test]
    fn vector_gelu_matches_scalar_and_definition() {
        let xs: Vec<f32> = (-405..400).map(|i| i as f32 / 97.0).collect();
        let mut got = xs.clone();
        gelu_in_place(&mut got);
        for (x, g) in xs.iter().zip(&got) {
            let scalar = gelu(*x);
            assert!((g - scalar).abs() <= 1e-6 * x.abs().max(1.0), "gelu({x}): {g} vs scalar {scalar}");
            let xd = *x as f64;
            let want = 0.5 * xd * (1.0 + erf_series(xd / 2f64.sqrt()));
            assert!((*g as f64 - want).abs() < 1e-6, "gelu({x}): {g} vs {want}");
        }
    }

    /// The attention blocks (vector and scalar) against a plain triple loop: scores q·k·scale
    /// for 4 query rows over 13 keys (padded to 16 with zero keys, key rows of stride 20), and
    /// Σ p·v over 13 keys for full and partial (w < 8) value blocks.
    #[test]
    fn attention_blocks_match_plain_loops() {
        let (hd, len, lp, stride) = (32usize, 13usize, 16usize, 20usize);
        let val = |i: usize| ((i * 37 % 101) as f32 - 50.0) / 50.0;
        let qrows: Vec<Vec<f32>> = (0..RB).map(|r| (0..hd).map(|d| val(r * 1000 + d)).collect()).collect();
        let keys: Vec<Vec<f32>> = (0..len).map(|j| (0..hd).map(|d| val(7 + j * 131 + d * 3)).collect()).collect();
        let mut kt = vec![0f32; hd * stride];
        for (j, k) in keys.iter().enumerate() {
            for d in 0..hd {
                kt[d * stride + j] = k[d];
            }
        }
        let q: [&[f32]; RB] = std::array::from_fn(|r| qrows[r].as_slice());
        let (mut p1, mut p2) = (vec![0f32; RB * lp], vec![0f32; RB * lp]);
        attn_scores(&q, &kt, stride, (0, lp), 0.25, &mut p1, lp);
        attn_scores_scalar(&q, &kt, stride, (0, lp), 0.25, &mut p2, lp);
        for r in 0..RB {
            for j in 0..lp {
                let want = if j < len { 0.25 * (0..hd).map(|d| qrows[r][d] * keys[j][d]).sum::<f32>() } else { 0.0 };
                for got in [p1[r * lp + j], p2[r * lp + j]] {
                    assert!((got - want).abs() < 1e-4, "score ({r},{j}): {got} vs {want}");
                }
            }
        }
        let vs: Vec<f32> = (0..len * hd).map(|i| val(i * 17 + 5)).collect();
        for (d0, w) in [(0, 16), (16, 16), (0, 8), (8, 8), (24, 8), (24, 5), (16, 13)] {
            let a = attn_context(&p1, lp, &vs, hd, len, d0, w);
            let b = attn_context_scalar(&p1, lp, &vs, hd, len, d0, w);
            for r in 0..RB {
                for l in 0..CW {
                    let want: f32 =
                        if l < w { (0..len).map(|j| p1[r * lp + j] * vs[j * hd + d0 + l]).sum() } else { 0.0 };
                    assert!((a[r][l] - want).abs() < 1e-4 && (b[r][l] - want).abs() < 1e-4, "ctx ({r},{d0}+{l})");
                }
            }
        }
    }

    /// Softmax sums to 1 and follows exp ratios; f16 rounding (vector and scalar tail) equals
    /// the `half` crate's round-to-nearest-even conversion.
    #[test]
    fn softmax_and_f16_rounding() {
        let xs: Vec<f32> = (0..21).map(|i| (i as f32 * 0.37).sin() * 6.0).collect();
        let mut p = xs.clone();
        softmax_in_place(&mut p, false);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for i in 1..xs.len() {
            let want = ((xs[i] - xs[0]) as f64).exp();
            assert!(((p[i] / p[0]) as f64 - want).abs() < 1e-5 * want, "ratio {i}");
        }
        let vals: Vec<f32> = (0..37).map(|i| 1.0 / (i as f32 + 0.3) + i as f32 * 1.0e-3).collect();
        let mut r = vals.clone();
        round_f16_in_place(&mut r);
        for (v, g) in vals.iter().zip(&r) {
            assert_eq!(*g, half::f16::from_f32(*v).to_f32(), "{v}");
        }
    }

    #[test]
    fn par_rows_visits_each_row_once() {
        let mut v = vec![0f32; 7 * 3];
        par_rows(&mut v, 3, 2, |r0, part| {
            for (i, row) in part.chunks_exact_mut(3).enumerate() {
                row.iter_mut().for_each(|x| *x += (r0 + i) as f32);
            }
        });
        let want: Vec<f32> = (0..7).flat_map(|r| [r as f32; 3]).collect();
        assert_eq!(v, want);
    }

    /// Query rows, keys and score rows of every shape around the valid ones (ragged query rows,
    /// key ranges off the 8-blocks or past the rows, buffers a few values short): the scores
    /// panic unless the shape is valid, and then equal the scalar loop's.
    mod bounds {
        use super::super::*;
        use proptest::prelude::*;

        fn vals(n: usize, seed: u64) -> Vec<f32> {
            (0..n).map(|i| ((i as u64 * 2654435761 + seed) % 1000) as f32 / 1000.0 - 0.5).collect()
        }

        fn panics<R>(f: impl FnOnce() -> R) -> bool {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
        }

        fn close(a: &[f32], b: &[f32]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            #[test]
            fn scores_check_their_buffers(
                hd in 0usize..6,
                ragged in 0usize..3,
                (j0, j1) in (0usize..4, 0usize..4, 0usize..3, 0usize..3).prop_map(|(a, b, o0, o1)| {
                    (8 * a + if o0 == 1 { 3 } else { 0 }, 8 * (a + b) + if o1 == 1 { 5 } else { 0 })
                }),
                stride_extra in -9i64..9,
                pstride_extra in -9i64..9,
                kt_delta in -4i64..3,
                p_delta in -4i64..3,
                seed in 0u64..1000,
            ) {
                let stride = (j1 as i64 + stride_extra).max(0) as usize;
                let pstride = (j1 as i64 + pstride_extra).max(0) as usize;
                let kt_need = if hd == 0 { 0 } else { (hd - 1) * stride + j1 };
                let kt = vals((kt_need as i64 + kt_delta).max(0) as usize, seed);
                let p_len = ((RB - 1) * pstride + j1) as i64 + p_delta;
                let mut p = vals(p_len.max(0) as usize, seed + 1);
                let rows: Vec<Vec<f32>> = (0..RB)
                    .map(|r| vals(if r == 3 && ragged == 1 { hd + 1 } else if r == 2 && ragged == 2 && hd > 0 { hd - 1 } else { hd }, seed + 2 + r as u64))
                    .collect();
                let q: [&[f32]; RB] = std::array::from_fn(|r| rows[r].as_slice());
                let valid = rows.iter().all(|r| r.len() == hd)
                    && j0 <= j1
                    && j0 % LW == 0
                    && j1 % LW == 0
                    && j1 <= stride
                    && j1 <= pstride
                    && (j0 == j1 || (kt.len() >= kt_need && p.len() as i64 >= ((RB - 1) * pstride + j1) as i64));
                if !valid {
                    prop_assert!(panics(|| attn_scores(&q, &kt, stride, (j0, j1), 0.5, &mut p, pstride)));
                } else {
                    let mut want = p.clone();
                    attn_scores(&q, &kt, stride, (j0, j1), 0.5, &mut p, pstride);
                    attn_scores_scalar(&q, &kt, stride, (j0, j1), 0.5, &mut want, pstride);
                    prop_assert!(close(&p, &want));
                }
            }

            #[test]
            fn context_checks_its_buffers(
                len in 0usize..10,
                w in prop_oneof![Just(8usize), Just(16), Just(17), 0usize..20],
                d0 in 0usize..20,
                pstride_extra in -3i64..4,
                vstride in 0usize..40,
                p_delta in -3i64..3,
                vs_delta in -3i64..3,
                seed in 0u64..1000,
            ) {
                let pstride = (len as i64 + pstride_extra).max(0) as usize;
                let p_need = (RB - 1) * pstride + len;
                let vs_need = if len == 0 { 0 } else { (len - 1) * vstride + d0 + w };
                let p = vals((p_need as i64 + p_delta).max(0) as usize, seed);
                let vs = vals((vs_need as i64 + vs_delta).max(0) as usize, seed + 1);
                let valid = w <= CW && (len == 0 || (p.len() >= p_need && vs.len() >= vs_need));
                if !valid {
                    prop_assert!(panics(|| attn_context(&p, pstride, &vs, vstride, len, d0, w)));
                } else {
                    let got = attn_context(&p, pstride, &vs, vstride, len, d0, w);
                    let want = attn_context_scalar(&p, pstride, &vs, vstride, len, d0, w);
                    prop_assert!(close(got.as_flattened(), want.as_flattened()));
                }
            }
        }
    }
}
