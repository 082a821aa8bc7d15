//! The safe entry points of the SIMD kernels (`qmm`, `kdot`, `ktile`, `q5tile`) with mismatched,
//! ragged and empty lengths: each must panic (or refuse with `None`), never read past a slice;
//! with matching lengths each must agree with its scalar reference. Run under Valgrind once
//! (`valgrind --error-exitcode=1 <it binary> kernel_bounds`) so a read out of bounds that does
//! not panic still shows. `PROPTEST_CASES` sets the number of cases (64 otherwise).

use candle_core::quantized::k_quants::{BlockQ4K, BlockQ6K, BlockQ8K as CandleQ8K, GgmlType};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use half::f16;
use lodestar_infer::kdot;
use lodestar_infer::ktile::{self, TiledK};
use lodestar_infer::q5tile::TiledQ5;
use lodestar_infer::qmm::{self, BlockQ5, BlockQ8, Q5Matrix, Q8Matrix, QWeights};
use proptest::collection::vec;
use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

fn panics<R>(f: impl FnOnce() -> R) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_err()
}

/// Uniform values in −0.5 … 0.5 from a seed (the lengths are what the properties vary).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// `x.len()` shifted by `delta` (not below 0).
fn shifted(len: usize, delta: i64) -> usize {
    (len as i64 + delta).max(0) as usize
}

/// A product of `m` rows.
type Product = Box<dyn Fn(&[f32], usize) -> Vec<f32>>;

/// A Q5_0 block as raw GGUF fields: (f16 scale, 32 high bits, low nibbles).
type RawQ5 = (f16, [u8; 4], [u8; 16]);

fn raw_q5() -> impl Strategy<Value = RawQ5> {
    (-1.0f32..1.0, any::<[u8; 4]>(), any::<[u8; 16]>()).prop_map(|(d, qh, qs)| (f16::from_f32(d), qh, qs))
}

fn raw_q8() -> impl Strategy<Value = (f16, [i8; 32])> {
    (-1.0f32..1.0, any::<[i8; 32]>()).prop_map(|(d, qs)| (f16::from_f32(d), qs))
}

/// GGUF's Q5_0 values of a block, decoded independently of the crate.
fn q5_values((_, qh, qs): &RawQ5) -> [i32; 32] {
    let h = u32::from_le_bytes(*qh);
    std::array::from_fn(|j| {
        let nib = if j < 16 { qs[j] & 0x0F } else { qs[j - 16] >> 4 };
        (nib as i32 | (((h >> j) & 1) as i32) << 4) - 16
    })
}

/// Σ over blocks of `d_x · d_y · Σ x·y`, exactly (f64), and Σ of the terms' magnitudes.
fn exact_dot(x: &[([i32; 32], f32)], y: &[([i8; 32], f32)]) -> (f64, f64) {
    x.iter().zip(y).fold((0.0, 0.0), |(s, a), ((xv, dx), (yv, dy))| {
        let i: i64 = xv.iter().zip(yv).map(|(&a, &b)| a as i64 * b as i64).sum();
        let t = i as f64 * *dx as f64 * *dy as f64;
        (s + t, a + t.abs())
    })
}

proptest! {
    #![proptest_config(config())]

    /// `dot_q5_0_q8_0` (the AVX2 kernel when the CPU has it) read `y` at every block of `x`
    /// without a bounds check: a shorter `y` was read past its end. Both it and the scalar
    /// reference now panic on any mismatch; on equal lengths both equal the exact sum.
    #[test]
    fn q5_0_dot_needs_equal_lengths(x in vec(raw_q5(), 0..9), y in vec(raw_q8(), 0..9)) {
        let xb: Vec<BlockQ5> = x.iter().map(|(d, qh, qs)| BlockQ5::new(d.to_bits(), *qh, *qs)).collect();
        let yb: Vec<BlockQ8> = y.iter().map(|(d, qs)| BlockQ8::new(d.to_bits(), *qs)).collect();
        if x.len() != y.len() {
            prop_assert!(panics(|| qmm::dot_q5_0_q8_0(&xb, &yb)));
            prop_assert!(panics(|| qmm::dot_q5_0_q8_0_scalar(&xb, &yb)));
        } else {
            let xv: Vec<_> = x.iter().map(|b| (q5_values(b), b.0.to_f32())).collect();
            let yv: Vec<_> = y.iter().map(|(d, qs)| (*qs, d.to_f32())).collect();
            let (want, mag) = exact_dot(&xv, &yv);
            let tol = 1e-5 * mag + 1e-9;
            let fast = qmm::dot_q5_0_q8_0(&xb, &yb) as f64;
            let slow = qmm::dot_q5_0_q8_0_scalar(&xb, &yb) as f64;
            prop_assert!((fast - want).abs() <= tol, "kernel {fast} vs exact {want}");
            prop_assert!((slow - want).abs() <= tol, "scalar {slow} vs exact {want}");
        }
    }

    /// Q8_0 quantization takes exactly 32 values per block; on those the vector and scalar
    /// versions give the same blocks.
    #[test]
    fn q8_0_quantization_needs_32_values_per_block(n in 0usize..200, blocks in 0usize..7, seed in any::<u64>()) {
        let xs = values(n, seed);
        let (mut a, mut b) = (vec![BlockQ8::ZERO; blocks], vec![BlockQ8::ZERO; blocks]);
        if n != 32 * blocks {
            prop_assert!(panics(|| qmm::quantize_q8_0(&xs, &mut a)));
            prop_assert!(panics(|| qmm::quantize_q8_0_scalar(&xs, &mut b)));
        } else {
            qmm::quantize_q8_0(&xs, &mut a);
            qmm::quantize_q8_0_scalar(&xs, &mut b);
            for (p, q) in a.iter().zip(&b) {
                let ((pq, pd), (qq, qd)) = (p.parts(), q.parts());
                prop_assert_eq!(pq, qq);
                prop_assert_eq!(pd.to_bits(), qd.to_bits());
            }
        }
    }

    /// Q8_K quantization (the prompt tiles') takes exactly 256 values per block; on those the
    /// vector and scalar versions agree.
    #[test]
    fn q8_k_quantization_needs_256_values_per_block(n in 0usize..800, blocks in 0usize..4, seed in any::<u64>()) {
        let xs = values(n, seed);
        let (mut a, mut b) = (vec![ktile::BlockQ8K::zeros(); blocks], vec![ktile::BlockQ8K::zeros(); blocks]);
        if n != 256 * blocks {
            prop_assert!(panics(|| ktile::BlockQ8K::quantize(&xs, &mut a)));
            prop_assert!(panics(|| ktile::BlockQ8K::quantize_scalar(&xs, &mut b)));
        } else {
            ktile::BlockQ8K::quantize(&xs, &mut a);
            ktile::BlockQ8K::quantize_scalar(&xs, &mut b);
            let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
            prop_assert_eq!(bits(ktile::BlockQ8K::dequantize(&a)), bits(ktile::BlockQ8K::dequantize(&b)));
        }
    }

    /// Every product of `QWeights` (Q5_0 and Q8_0 lane matrices, Q4_K and Q6_K k-quant ones)
    /// refuses an input that is not `m` rows of `k`; a right-sized one gives the dequantized
    /// product up to the activations' 8-bit rounding. Rows past the matrix panic too.
    #[test]
    fn matrix_products_need_m_rows_of_k(
        dtype in prop::sample::select(vec![GgmlDType::Q5_0, GgmlDType::Q8_0, GgmlDType::Q4K, GgmlDType::Q6K]),
        n in 1usize..12,
        kb in 1usize..3,
        m in 0usize..6,
        delta in -40i64..40,
        seed in any::<u64>(),
    ) {
        // Three 32-value blocks or one 256-value super-block per `kb`.
        let k = kb * if matches!(dtype, GgmlDType::Q5_0 | GgmlDType::Q8_0) { 96 } else { 256 };
        let w = values(n * k, seed);
        let qt = QTensor::quantize(&Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap(), dtype).unwrap();
        let wd: Vec<f32> = qt.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let qt = Arc::new(qt);
        let q = QWeights::from_qtensor(&qt).unwrap().expect("a supported type");
        let len = shifted(m * k, delta);
        let x = values(len, seed ^ 0x5eed);
        prop_assert!(panics(|| q.row_f32(n)));
        // The lane matrices' own products too (tiled and row-at-a-time).
        let lanes: Vec<Product> = match dtype {
            GgmlDType::Q5_0 => {
                let l = Arc::new(Q5Matrix::from_qtensor(&qt).unwrap().unwrap());
                prop_assert!(panics(|| l.row_scales(n)));
                let l2 = l.clone();
                let a: Product = Box::new(move |x: &[f32], m: usize| l.matmul(x, m));
                let b: Product = Box::new(move |x: &[f32], m: usize| l2.matmul_rowwise(x, m));
                vec![a, b]
            }
            GgmlDType::Q8_0 => {
                let l = Arc::new(Q8Matrix::from_qtensor(&qt).unwrap().unwrap());
                let l2 = l.clone();
                let a: Product = Box::new(move |x: &[f32], m: usize| l.matmul(x, m));
                let b: Product = Box::new(move |x: &[f32], m: usize| l2.matmul_rowwise(x, m));
                vec![a, b]
            }
            _ => Vec::new(),
        };
        if len != m * k {
            prop_assert!(panics(|| q.matmul(&x, m)));
            for f in &lanes {
                prop_assert!(panics(|| f(&x, m)));
            }
        } else {
            let mut outs = vec![q.matmul(&x, m)];
            outs.extend(lanes.iter().map(|f| f(&x, m)));
            for got in outs {
                prop_assert_eq!(got.len(), m * n);
                for r in 0..m {
                    for c in 0..n {
                        let terms = (0..k).map(|i| x[r * k + i] as f64 * wd[c * k + i] as f64);
                        let (want, mag) = terms.fold((0.0, 0.0), |(s, a), t| (s + t, a + t.abs()));
                        let g = got[r * n + c] as f64;
                        prop_assert!((g - want).abs() <= 0.03 * mag + 1e-3, "{dtype:?} ({r},{c}): {g} vs {want}");
                    }
                }
            }
        }
    }
}

/// Matrices of every supported type with 256 inputs (three of one shape, for gate / up pairs),
/// and two with other input widths.
fn mats() -> &'static [QWeights] {
    static MATS: OnceLock<Vec<QWeights>> = OnceLock::new();
    MATS.get_or_init(|| {
        [
            (GgmlDType::Q4K, 16, 256),
            (GgmlDType::Q6K, 16, 256),
            (GgmlDType::Q5_0, 16, 256),
            (GgmlDType::Q8_0, 9, 256),
            (GgmlDType::Q5_0, 5, 288),
            (GgmlDType::Q4K, 7, 512),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (dtype, n, k))| {
            let t = Tensor::from_vec(values(n * k, 100 + i as u64), (n, k), &Device::Cpu).unwrap();
            let qt = Arc::new(QTensor::quantize(&t, dtype).unwrap());
            QWeights::from_qtensor(&qt).unwrap().expect("a supported type")
        })
        .collect()
    })
}

fn silu_mul(g: &[f32], u: &[f32]) -> Vec<f32> {
    g.iter().zip(u).map(|(&g, &u)| g / (1.0 + (-g).exp()) * u).collect()
}

proptest! {
    #![proptest_config(config())]

    /// The decoding products (several matrices, a batch of rows, the fused SwiGLU) refuse an
    /// input whose length is not what every matrix takes; right-sized ones equal the plain
    /// products bit for bit.
    #[test]
    fn decoding_products_need_matching_widths(
        picked in vec(0usize..6, 0..4),
        pair in (0usize..6, 0usize..6),
        m in 0usize..4,
        len in prop_oneof![Just(256usize), Just(288), Just(512), Just(768), Just(0), 0usize..800],
        seed in any::<u64>(),
    ) {
        let all = mats();
        let ws: Vec<&QWeights> = picked.iter().map(|&i| &all[i]).collect();
        let x = values(len, seed);
        // matvec_many: one row of every matrix's width.
        if ws.iter().all(|w| w.shape().1 == len) {
            let got = qmm::matvec_many(&ws, &x);
            for (w, y) in ws.iter().zip(&got) {
                prop_assert_eq!(y, &w.matmul(&x, 1));
            }
        } else {
            prop_assert!(panics(|| qmm::matvec_many(&ws, &x)));
        }
        // matvec_many_rows: m rows of every matrix's width.
        let k = if m == 0 { Some(0) } else { (len % m == 0).then_some(len / m) };
        let rows_ok = k.is_some_and(|k| k * m == len && ws.iter().all(|w| w.shape().1 == k));
        if rows_ok {
            let got = qmm::matvec_many_rows(&ws, &x, m);
            let k = k.unwrap_or(0);
            for r in 0..m {
                let one = qmm::matvec_many(&ws, &x[r * k..(r + 1) * k]);
                for (y, want) in got.iter().zip(&one) {
                    let n = want.len();
                    prop_assert_eq!(&y[r * n..(r + 1) * n], &want[..]);
                }
            }
        } else {
            prop_assert!(panics(|| qmm::matvec_many_rows(&ws, &x, m)));
        }
        // The fused SwiGLU, one row and m rows.
        let (gate, up) = (&all[pair.0], &all[pair.1]);
        let (n, kw) = gate.shape();
        if gate.shape() == up.shape() && len == kw {
            let got = qmm::swiglu_matvec(gate, up, &x);
            prop_assert_eq!(got, silu_mul(&gate.matmul(&x, 1), &up.matmul(&x, 1)));
        } else {
            prop_assert!(panics(|| qmm::swiglu_matvec(gate, up, &x)));
        }
        if gate.shape() == up.shape() && len == m * kw {
            let got = qmm::swiglu_matvec_rows(gate, up, &x, m);
            prop_assert_eq!(got.len(), m * n);
            for r in 0..m {
                prop_assert_eq!(&got[r * n..(r + 1) * n], &qmm::swiglu_matvec(gate, up, &x[r * kw..(r + 1) * kw])[..]);
            }
        } else {
            prop_assert!(panics(|| qmm::swiglu_matvec_rows(gate, up, &x, m)));
        }
    }

    /// One Q4_K / Q6_K weight row against activation rows: any row of another length panics
    /// (whether or not the CPU runs the kernel); on equal lengths every value equals candle's
    /// `vec_dot` bit for bit.
    #[test]
    fn k_quant_rows_need_equal_lengths(nb in 0usize..4, lens in vec(0usize..4, 4), seed in any::<u64>()) {
        fn blocks<T: GgmlType>(n: usize, seed: u64) -> Vec<T> {
            let mut b: Vec<T> = (0..n).map(|_| T::zeros()).collect();
            T::from_float(&values(n * 256, seed), &mut b);
            b
        }
        let (w4, w6) = (blocks::<BlockQ4K>(nb, seed), blocks::<BlockQ6K>(nb, seed ^ 1));
        let ys: Vec<Vec<CandleQ8K>> = lens.iter().enumerate().map(|(i, &l)| blocks(l, seed ^ (2 + i as u64))).collect();
        let rows: [&[CandleQ8K]; 4] = std::array::from_fn(|i| ys[i].as_slice());
        if lens.iter().any(|&l| l != nb) {
            prop_assert!(panics(|| kdot::dot_q4k_rows(&w4, rows)));
            prop_assert!(panics(|| kdot::dot_q6k_rows(&w6, rows)));
        } else if kdot::available() {
            let (g4, g6) = (kdot::dot_q4k_rows(&w4, rows).unwrap(), kdot::dot_q6k_rows(&w6, rows).unwrap());
            for r in 0..4 {
                prop_assert_eq!(g4[r].to_bits(), BlockQ4K::vec_dot(nb * 256, &w4, &ys[r]).to_bits());
                prop_assert_eq!(g6[r].to_bits(), BlockQ6K::vec_dot(nb * 256, &w6, &ys[r]).to_bits());
            }
        } else {
            prop_assert!(kdot::dot_q4k_rows(&w4, rows).is_none());
        }
        // One row.
        if lens[0] != nb {
            prop_assert!(panics(|| kdot::dot_q4k_rows(&w4, [rows[0]])));
        }
    }

    /// The Q4_K / Q6_K prompt tiles: raw blocks of the wrong size or a width that is not whole
    /// super-blocks are refused; the product refuses an input that is not `m` rows of `k` and
    /// gives the dequantized product up to the activations' 8-bit rounding otherwise.
    #[test]
    fn k_quant_tiles_need_m_rows_of_k(
        q6 in any::<bool>(),
        n in 1usize..20,
        kb in 1usize..3,
        m in 0usize..7,
        delta in -300i64..300,
        cut in 0usize..3,
        seed in any::<u64>(),
    ) {
        let (dtype, block) = if q6 { (GgmlDType::Q6K, 210) } else { (GgmlDType::Q4K, 144) };
        let k = 256 * kb;
        let qt = QTensor::quantize(&Tensor::from_vec(values(n * k, seed), (n, k), &Device::Cpu).unwrap(), dtype).unwrap();
        let raw = qt.data().unwrap().to_vec();
        let tile = |raw: &[u8], n, k| if q6 { TiledK::from_q6k(raw, n, k) } else { TiledK::from_q4k(raw, n, k) };
        if cut > 0 {
            prop_assert!(tile(&raw[..raw.len() - cut], n, k).is_none());
            prop_assert!(tile(&raw[..raw.len().saturating_sub(cut * block)], n, k).is_none());
            prop_assert!(tile(&raw, n, k + cut * 32).is_none());
            prop_assert!(tile(&raw, n + cut, k).is_none());
        }
        if !TiledK::available() {
            return Ok(());
        }
        let t = tile(&raw, n, k).expect("tiles");
        let len = shifted(m * k, delta);
        let x = values(len, seed ^ 7);
        if len != m * k {
            prop_assert!(panics(|| t.matmul(&x, m)));
        } else {
            let got = t.matmul(&x, m);
            let wd: Vec<f32> = qt.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            prop_assert_eq!(got.len(), m * n);
            for r in 0..m {
                for c in 0..n {
                    let terms = (0..k).map(|i| x[r * k + i] as f64 * wd[c * k + i] as f64);
                    let (want, mag) = terms.fold((0.0, 0.0), |(s, a), t| (s + t, a + t.abs()));
                    let g = got[r * n + c] as f64;
                    prop_assert!((g - want).abs() <= 0.03 * mag + 1e-3, "({r},{c}): {g} vs {want}");
                }
            }
        }
    }

    /// The Q5_0 prompt tiles (e5's integer kernels): blocks or scales that are not `n` rows of
    /// `k / 32`, a width that is not whole blocks, or values outside −16 … 15 are refused; the
    /// product refuses an input that is not `m` rows of `k` and equals the blockwise integer
    /// sums with Q8_0 activations otherwise.
    #[test]
    fn q5_0_tiles_need_m_rows_of_k(
        n in 1usize..12,
        kb in 1usize..4,
        m in 0usize..7,
        delta in -40i64..40,
        extra_blocks in -1i64..2,
        extra_scales in -1i64..2,
        odd_k in 0usize..2,
        wild in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let k = 32 * kb;
        let raw = values(n * k, seed);
        let mut blocks: Vec<[i8; 32]> =
            raw.chunks_exact(32).map(|c| std::array::from_fn(|j| (c[j] * 30.0).round() as i8)).collect();
        let mut scales: Vec<f32> = values(n * kb, seed ^ 3).iter().map(|v| v * 0.1).collect();
        let bad = extra_blocks != 0 || extra_scales != 0 || odd_k != 0 || wild;
        if extra_blocks < 0 {
            blocks.pop();
        } else if extra_blocks > 0 {
            blocks.push([0; 32]);
        }
        if extra_scales < 0 {
            scales.pop();
        } else if extra_scales > 0 {
            scales.push(1.0);
        }
        if let Some(b) = blocks.first_mut().filter(|_| wild) {
            b[0] = 16;
        }
        let tiled = TiledQ5::from_values(&blocks, &scales, n, k + odd_k * 8);
        if bad {
            prop_assert!(tiled.is_none());
            return Ok(());
        }
        let Some(t) = tiled else {
            return Err(TestCaseError::fail("right-sized blocks refused"));
        };
        if !TiledQ5::available() {
            return Ok(());
        }
        let len = shifted(m * k, delta);
        let x = values(len, seed ^ 5);
        if len != m * k {
            prop_assert!(panics(|| t.matmul(&x, m)));
            return Ok(());
        }
        let got = t.matmul(&x, m);
        prop_assert_eq!(got.len(), m * n);
        for r in 0..m {
            let mut q = vec![BlockQ8::ZERO; kb];
            qmm::quantize_q8_0_scalar(&x[r * k..(r + 1) * k], &mut q);
            let ys: Vec<([i8; 32], f32)> = q.iter().map(|b| b.parts()).collect();
            for c in 0..n {
                let xs: Vec<([i32; 32], f32)> =
                    (0..kb).map(|b| (blocks[c * kb + b].map(|v| v as i32), scales[c * kb + b])).collect();
                let (want, mag) = exact_dot(&xs, &ys);
                let g = got[r * n + c] as f64;
                prop_assert!((g - want).abs() <= 1e-5 * mag + 1e-9, "({r},{c}): {g} vs {want}");
            }
        }
    }
}

/// The case of issue #25: a Q8_0 row shorter than the Q5_0 row (it was read past its end).
#[test]
fn a_short_activation_row_panics_instead_of_reading_past_it() {
    let x = vec![BlockQ5::new(f16::ONE.to_bits(), [0xFF; 4], [0x77; 16]); 64];
    let y = vec![BlockQ8::new(f16::ONE.to_bits(), [1; 32]); 1];
    assert!(panics(|| qmm::dot_q5_0_q8_0(&x, &y)));
    assert!(panics(|| qmm::dot_q5_0_q8_0(&x, &[])));
    assert!(panics(|| qmm::dot_q5_0_q8_0(&[], &y)));
    assert_eq!(qmm::dot_q5_0_q8_0(&[], &[]), 0.0);
}
