//! Test doubles: a deterministic [`FakeEmbedder`] so that tests (here and in other crates) run the
//! real vector path without a model.

use lodestar_core::{EmbedKind, Embedder, ModelError};

/// Hashed character unigrams + bigrams of the normalized text, L2-normalized. Texts that share
/// characters get similar vectors — enough to exercise hybrid retrieval deterministically.
#[derive(Debug, Clone)]
pub struct FakeEmbedder {
    /// Length of the vectors.
    pub dim: usize,
    /// Name reported by [`Embedder::name`].
    pub name: String,
}

impl Default for FakeEmbedder {
    fn default() -> Self {
        Self { dim: 256, name: "fake-bigram-256".into() }
    }
}

fn fnv(s: &[char]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for c in s {
        h ^= *c as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl FakeEmbedder {
    /// The vector of one text (the `kind` prefix is ignored).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let chars: Vec<char> = crate::analyzer::normalize(text).chars().filter(|c| c.is_alphanumeric()).collect();
        let mut v = vec![0f32; self.dim];
        for w in chars.windows(1).chain(chars.windows(2)) {
            let h = fnv(w);
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % self.dim as u64) as usize] += sign * if w.len() == 2 { 1.0 } else { 0.3 };
        }
        crate::vector::normalize(&mut v);
        v
    }
}

impl Embedder for FakeEmbedder {
    fn name(&self) -> &str {
        &self.name
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, texts: &[&str], _kind: EmbedKind) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}
