//! Next-token selection (采样): repetition penalty, then greedy at temperature 0, else
//! temperature → top-k → top-p → a draw from a seeded generator (same seed, same text).

use lodestar_core::model::GenParams;

/// SplitMix64: small, seedable, reproducible across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// The next pseudo-random 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Applies the repetition penalty (llama.cpp / CTRL style) to the logits of `recent` tokens.
pub fn apply_repeat_penalty(logits: &mut [f32], penalty: f32, recent: &[u32]) {
    if penalty == 1.0 || penalty <= 0.0 {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for &t in recent {
        if !seen.insert(t) {
            continue;
        }
        if let Some(l) = logits.get_mut(t as usize) {
            *l = if *l >= 0.0 { *l / penalty } else { *l * penalty };
        }
    }
}

/// Picks the next token.
pub fn sample(logits: &mut [f32], params: &GenParams, history: &[u32], rng: &mut Rng) -> u32 {
    let n = history.len();
    let recent = &history[n.saturating_sub(params.repeat_last_n)..];
    apply_repeat_penalty(logits, params.repeat_penalty, recent);
    if params.temperature <= 0.0 {
        return crate::llm::argmax(logits);
    }
    let t = params.temperature as f32;
    let mut idx: Vec<usize> = (0..logits.len()).filter(|&i| logits[i].is_finite()).collect();
    if idx.is_empty() {
        return crate::llm::argmax(logits);
    }
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    if let Some(k) = params.top_k {
        if k > 0 {
            idx.truncate(k);
        }
    }
    let max = logits[idx[0]];
    let mut probs: Vec<f64> = idx.iter().map(|&i| (((logits[i] - max) / t) as f64).exp()).collect();
    let sum: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= sum);
    if let Some(top_p) = params.top_p {
        if top_p > 0.0 && top_p < 1.0 {
            let mut acc = 0.0;
            let mut keep = probs.len();
            for (i, p) in probs.iter().enumerate() {
                acc += p;
                if acc >= top_p {
                    keep = i + 1;
                    break;
                }
            }
            probs.truncate(keep);
            idx.truncate(keep);
            let s: f64 = probs.iter().sum();
            probs.iter_mut().for_each(|p| *p /= s);
        }
    }
    let r = rng.next_f64();
    let mut acc = 0.0;
    for (p, &i) in probs.iter().zip(&idx) {
        acc += p;
        if r < acc {
            return i as u32;
        }
    }
    idx[idx.len() - 1] as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_penalty() {
        let p = GenParams::default();
        let mut rng = Rng::new(1);
        assert_eq!(sample(&mut [0.1, 2.0, 1.0], &p, &[], &mut rng), 1);
        // Penalty 4 on token 1: 2.0 / 4 = 0.5 < 1.0 → token 2 wins.
        let p = GenParams { repeat_penalty: 4.0, ..GenParams::default() };
        assert_eq!(sample(&mut [0.1, 2.0, 1.0], &p, &[1], &mut rng), 2);
        // Negative logits are multiplied: -1 * 2 = -2.
        let mut l = [-1.0f32, 0.5];
        apply_repeat_penalty(&mut l, 2.0, &[0]);
        assert_eq!(l, [-2.0, 0.5]);
    }

    #[test]
    fn top_k_one_is_greedy_and_seed_reproducible() {
        let p = GenParams { temperature: 1.0, top_k: Some(1), ..GenParams::default() };
        let mut rng = Rng::new(7);
        for _ in 0..10 {
            assert_eq!(sample(&mut [0.0, 3.0, 2.9], &p, &[], &mut rng), 1);
        }
        let p = GenParams { temperature: 1.5, ..GenParams::default() };
        let draw = |seed| {
            let mut r = Rng::new(seed);
            (0..20).map(|_| sample(&mut [0.0, 0.1, 0.2, 0.3], &p, &[], &mut r)).collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        // With flat logits and 20 draws, at least two different tokens appear.
        let d = draw(3);
        assert!(d.iter().any(|&x| x != d[0]));
    }

    #[test]
    fn top_p_keeps_the_nucleus() {
        // softmax([10, 0, 0]) ≈ [0.99991, 0.00005, 0.00005]: top_p 0.9 keeps only token 0.
        let p = GenParams { temperature: 1.0, top_p: Some(0.9), ..GenParams::default() };
        let mut rng = Rng::new(11);
        for _ in 0..20 {
            assert_eq!(sample(&mut [10.0, 0.0, 0.0], &p, &[], &mut rng), 0);
        }
    }
}
