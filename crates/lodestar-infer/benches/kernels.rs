//! Throughput of the prompt-sized quantized kernels (`cargo bench -p lodestar-infer --bench kernels`).
//!
//! Random weights of the 1.5B's shapes (q: 1536×1536, gate: 8960×1536, down: 1536×8960) are
//! quantized to Q4_K / Q6_K, repacked into tiles, and multiplied with `m` activation rows. Reports
//! the median of 7 runs as GOPS (2·m·n·k / time), and the ratio to this CPU's `maddubs` bound is
//! left to the reader (2 per cycle per core: 128 ops/cycle/core).

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use lodestar_infer::ktile::TiledK;
use std::time::Instant;

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
}

fn main() {
    if !TiledK::available() {
        println!("SKIP: no AVX2/FMA on this CPU");
        return;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut seed = 7u64;
    println!("{:<6} {:>6} {:>6} {:>5} {:>10} {:>8}", "type", "n", "k", "m", "median ms", "GOPS");
    for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
        for (n, k) in [(1536usize, 1536usize), (8960, 1536), (1536, 8960)] {
            let name = format!("{dtype:?}");
            if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
                continue;
            }
            let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut seed)).collect();
            let qt = QTensor::quantize(&Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap(), dtype).unwrap();
            let raw = qt.data().unwrap().to_vec();
            let tiled = match dtype {
                GgmlDType::Q4K => TiledK::from_q4k(&raw, n, k),
                _ => TiledK::from_q6k(&raw, n, k),
            }
            .expect("tiles");
            for m in [64usize, 512] {
                let x: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed)).collect();
                let _ = tiled.matmul(&x, m);
                let mut times: Vec<f64> = (0..7)
                    .map(|_| {
                        let t = Instant::now();
                        std::hint::black_box(tiled.matmul(&x, m));
                        t.elapsed().as_secs_f64()
                    })
                    .collect();
                times.sort_by(f64::total_cmp);
                let med = times[times.len() / 2];
                let gops = 2.0 * (m * n * k) as f64 / med / 1e9;
                println!("{name:<6} {n:>6} {k:>6} {m:>5} {:>10.2} {gops:>8.1}", med * 1e3);
            }
        }
    }
}
