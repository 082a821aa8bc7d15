//! Byte-level BPE (字节级 BPE) built from GGUF tokenizer metadata (`tokenizer.ggml.model = "gpt2"`),
//! as used by Qwen2/Qwen3 and Llama 3. Follows llama.cpp's tokenizer: special tokens are split
//! out first (control tokens only when `parse_special`), then the pre-tokenizer regex splits words,
//! then each word's bytes are merged by merge rank.

use crate::error::{InferError, Result};
use candle_core::quantized::gguf_file;
use std::collections::HashMap;

/// GGUF token types (llama.cpp `llama_token_type`).
pub const TOKEN_NORMAL: i32 = 1;
/// Unknown-token placeholder.
pub const TOKEN_UNKNOWN: i32 = 2;
/// Control token (chat-template markers such as `<|im_start|>`); split out only with `parse_special`.
pub const TOKEN_CONTROL: i32 = 3;
/// User-defined token: always split out as a whole, its text kept on decoding.
pub const TOKEN_USER_DEFINED: i32 = 4;
/// Unused slot of the vocabulary.
pub const TOKEN_UNUSED: i32 = 5;
/// Byte-fallback token (`<0x0A>`).
pub const TOKEN_BYTE: i32 = 6;

/// Qwen2 pre-tokenizer split regex (`tokenizer.ggml.pre = "qwen2"`).
pub const QWEN2_PATTERN: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3 pre-tokenizer (`llama-bpe`): digits in groups of up to three.
pub const LLAMA3_PATTERN: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// GPT-2 default pre-tokenizer.
pub const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// GPT-2's reversible byte → printable character table.
fn byte_to_char_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable = (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
        let c = if printable {
            b
        } else {
            let c = 256 + n;
            n += 1;
            c
        };
        table[b as usize] = char::from_u32(c).unwrap_or('\u{fffd}');
    }
    table
}

/// A byte-level BPE tokenizer.
pub struct BpeTokenizer {
    tokens: Vec<String>,
    types: Vec<i32>,
    vocab: HashMap<String, u32>,
    /// (left id, right id) → (rank, merged id)
    merges: HashMap<(u32, u32), (u32, u32)>,
    byte_ids: [u32; 256],
    char_to_byte: HashMap<char, u8>,
    /// Special tokens sorted by length (longest first): (text, id, is_control).
    specials: Vec<(String, u32, bool)>,
    pre: fancy_regex::Regex,
    /// Beginning-of-sequence token id (`tokenizer.ggml.bos_token_id`), if any.
    pub bos: Option<u32>,
    /// End-of-sequence token id (`tokenizer.ggml.eos_token_id`), if any.
    pub eos: Option<u32>,
    /// Whether encoding prepends the BOS token (`tokenizer.ggml.add_bos_token`).
    pub add_bos: bool,
}

fn meta_str<'a>(md: &'a HashMap<String, gguf_file::Value>, key: &str) -> Option<&'a str> {
    md.get(key).and_then(|v| v.to_string().ok()).map(|s| s.as_str())
}

fn meta_u32(md: &HashMap<String, gguf_file::Value>, key: &str) -> Option<u32> {
    md.get(key).and_then(|v| v.to_u32().ok().or_else(|| v.to_i32().ok().map(|x| x as u32)))
}

impl BpeTokenizer {
    /// Builds the tokenizer from GGUF metadata.
    pub fn from_gguf_metadata(md: &HashMap<String, gguf_file::Value>) -> Result<Self> {
        let model = meta_str(md, "tokenizer.ggml.model").unwrap_or("gpt2");
        if model != "gpt2" {
            return Err(InferError::Tokenizer(format!(
                "tokenizer model {model:?} is not supported (only byte-level BPE \"gpt2\")"
            )));
        }
        let tokens: Vec<String> = md
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.to_vec().ok())
            .ok_or_else(|| InferError::Tokenizer("missing tokenizer.ggml.tokens".into()))?
            .iter()
            .map(|v| v.to_string().cloned())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| InferError::Tokenizer(format!("tokenizer.ggml.tokens: {e}")))?;
        let types: Vec<i32> = match md.get("tokenizer.ggml.token_type").and_then(|v| v.to_vec().ok()) {
            Some(v) => v.iter().map(|x| x.to_i32().unwrap_or(TOKEN_NORMAL)).collect(),
            None => vec![TOKEN_NORMAL; tokens.len()],
        };
        let merges: Vec<String> = md
            .get("tokenizer.ggml.merges")
            .and_then(|v| v.to_vec().ok())
            .ok_or_else(|| InferError::Tokenizer("missing tokenizer.ggml.merges".into()))?
            .iter()
            .map(|v| v.to_string().cloned())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| InferError::Tokenizer(format!("tokenizer.ggml.merges: {e}")))?;
        let pattern = match meta_str(md, "tokenizer.ggml.pre").unwrap_or("default") {
            "qwen2" | "deepseek-r1-qwen" => QWEN2_PATTERN,
            "llama-bpe" | "llama3" | "smaug-bpe" => LLAMA3_PATTERN,
            _ => GPT2_PATTERN,
        };
        let mut t = Self::new(tokens, types, &merges, pattern)?;
        t.bos = meta_u32(md, "tokenizer.ggml.bos_token_id");
        t.eos = meta_u32(md, "tokenizer.ggml.eos_token_id");
        t.add_bos = md.get("tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()).unwrap_or(false);
        Ok(t)
    }

    /// Builds the tokenizer from its parts (`merges` as "left right" strings).
    pub fn new(tokens: Vec<String>, types: Vec<i32>, merges: &[String], pattern: &str) -> Result<Self> {
        if types.len() != tokens.len() {
            return Err(InferError::Tokenizer("token_type and tokens differ in length".into()));
        }
        let vocab: HashMap<String, u32> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let table = byte_to_char_table();
        let mut byte_ids = [0u32; 256];
        let mut char_to_byte = HashMap::with_capacity(256);
        for (b, c) in table.iter().enumerate() {
            let id = vocab
                .get(&c.to_string())
                .copied()
                .ok_or_else(|| InferError::Tokenizer(format!("byte {b:#04x} has no token")))?;
            byte_ids[b] = id;
            char_to_byte.insert(*c, b as u8);
        }
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let Some((l, r)) = m.split_once(' ') else { continue };
            let (Some(&li), Some(&ri)) = (vocab.get(l), vocab.get(r)) else { continue };
            let merged = format!("{l}{r}");
            let Some(&mi) = vocab.get(&merged) else { continue };
            merge_map.entry((li, ri)).or_insert((rank as u32, mi));
        }
        let mut specials: Vec<(String, u32, bool)> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (t, ty))| {
                (**ty == TOKEN_CONTROL || **ty == TOKEN_USER_DEFINED) && !t.is_empty() && !t.starts_with("[PAD")
            })
            .map(|(i, (t, ty))| (t.clone(), i as u32, *ty == TOKEN_CONTROL))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let pre = fancy_regex::Regex::new(pattern).map_err(|e| InferError::Tokenizer(e.to_string()))?;
        Ok(Self {
            tokens,
            types,
            vocab,
            merges: merge_map,
            byte_ids,
            char_to_byte,
            specials,
            pre,
            bos: None,
            eos: None,
            add_bos: false,
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// Id of a token given by its text (e.g. `<|im_end|>`).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// Token type as stored in the GGUF (`TOKEN_*`).
    pub fn token_type(&self, id: u32) -> i32 {
        self.types.get(id as usize).copied().unwrap_or(TOKEN_UNUSED)
    }

    /// Encodes `text` (no BOS). With `parse_special`, control-token markers such as
    /// `<|im_start|>` in the text become their special ids; user-defined tokens always do.
    pub fn encode(&self, text: &str, parse_special: bool) -> Result<Vec<u32>> {
        // Fragments: Ok(text) still to tokenize, Err(id) already a special token.
        let mut frags: Vec<std::result::Result<&str, u32>> = vec![Ok(text)];
        for (sp, id, is_control) in &self.specials {
            if *is_control && !parse_special {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len());
            for f in frags {
                match f {
                    Ok(s) if s.contains(sp.as_str()) => {
                        let mut rest = s;
                        while let Some(pos) = rest.find(sp.as_str()) {
                            if pos > 0 {
                                next.push(Ok(&rest[..pos]));
                            }
                            next.push(Err(*id));
                            rest = &rest[pos + sp.len()..];
                        }
                        if !rest.is_empty() {
                            next.push(Ok(rest));
                        }
                    }
                    other => next.push(other),
                }
            }
            frags = next;
        }
        let mut out = Vec::new();
        for f in frags {
            match f {
                Err(id) => out.push(id),
                Ok(s) => {
                    for m in self.pre.find_iter(s) {
                        let m = m.map_err(|e| InferError::Tokenizer(e.to_string()))?;
                        self.encode_word(m.as_str(), &mut out);
                    }
                }
            }
        }
        Ok(out)
    }

    fn encode_word(&self, word: &str, out: &mut Vec<u32>) {
        // Whole word in the vocabulary (after byte mapping)? Still run merges: llama.cpp's qwen2
        // path does not short-cut, and merging reaches the same token for vocab words anyway.
        let mut syms: Vec<u32> = word.bytes().map(|b| self.byte_ids[b as usize]).collect();
        while syms.len() > 1 {
            let mut best: Option<(u32, usize, u32)> = None; // (rank, position, merged id)
            for i in 0..syms.len() - 1 {
                if let Some(&(rank, mid)) = self.merges.get(&(syms[i], syms[i + 1])) {
                    if best.is_none_or(|(r, _, _)| rank < r) {
                        best = Some((rank, i, mid));
                    }
                }
            }
            let Some((rank, _, _)) = best else { break };
            // Merge every occurrence of the best pair, left to right.
            let mut merged = Vec::with_capacity(syms.len());
            let mut i = 0;
            while i < syms.len() {
                if i + 1 < syms.len() {
                    if let Some(&(r, mid)) = self.merges.get(&(syms[i], syms[i + 1])) {
                        if r == rank {
                            merged.push(mid);
                            i += 2;
                            continue;
                        }
                    }
                }
                merged.push(syms[i]);
                i += 1;
            }
            syms = merged;
        }
        out.extend_from_slice(&syms);
    }

    /// Raw bytes of one token. Control tokens give their text only when `special` is set.
    pub fn token_bytes(&self, id: u32, special: bool) -> Vec<u8> {
        let Some(tok) = self.tokens.get(id as usize) else { return Vec::new() };
        match self.token_type(id) {
            TOKEN_CONTROL | TOKEN_UNKNOWN | TOKEN_UNUSED => {
                if special {
                    tok.as_bytes().to_vec()
                } else {
                    Vec::new()
                }
            }
            TOKEN_USER_DEFINED => tok.as_bytes().to_vec(),
            _ => {
                let mut v = Vec::with_capacity(tok.len());
                for c in tok.chars() {
                    match self.char_to_byte.get(&c) {
                        Some(b) => v.push(*b),
                        None => {
                            let mut buf = [0u8; 4];
                            v.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                v
            }
        }
    }

    /// Decodes ids to text (invalid UTF-8 replaced).
    pub fn decode(&self, ids: &[u32], special: bool) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.token_bytes(id, special)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: the 256 byte symbols, then merged tokens, then two specials.
    fn toy() -> BpeTokenizer {
        let table = byte_to_char_table();
        let mut tokens: Vec<String> = table.iter().map(|c| c.to_string()).collect();
        let mut types = vec![TOKEN_NORMAL; 256];
        // 'Ġ' is the byte-level symbol of the space (0x20 → U+0120).
        for t in ["he", "ll", "hell", "hello", "Ġw", "Ġwo"] {
            tokens.push(t.to_string());
            types.push(TOKEN_NORMAL);
        }
        tokens.push("<|im_start|>".into());
        types.push(TOKEN_CONTROL);
        tokens.push("<tool>".into());
        types.push(TOKEN_USER_DEFINED);
        let merges: Vec<String> =
            ["h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o"].iter().map(|s| s.to_string()).collect();
        BpeTokenizer::new(tokens, types, &merges, QWEN2_PATTERN).unwrap()
    }

    #[test]
    fn merges_by_rank_and_roundtrips() {
        let t = toy();
        // Ids: bytes 0..=255, he 256, ll 257, hell 258, hello 259, Ġw 260, Ġwo 261,
        // <|im_start|> 262, <tool> 263.
        // "hello" → h e l l o → he ll o (ranks 0,1) → hell o (rank 2) → hello (rank 3) = 259.
        assert_eq!(t.encode("hello", true).unwrap(), vec![259]);
        // " wox": pre-tokenizer keeps " wox" as one word; Ġ w → Ġw → Ġwo (260, 261), then 'x' = 0x78.
        assert_eq!(t.encode(" wox", true).unwrap(), vec![261, 0x78]);
        assert_eq!(t.decode(&t.encode("hello wox", true).unwrap(), false), "hello wox");
    }

    #[test]
    fn control_tokens_only_with_parse_special_user_defined_always() {
        let t = toy();
        assert_eq!(t.encode("<|im_start|>", true).unwrap(), vec![262]);
        assert!(t.encode("<|im_start|>", false).unwrap().len() > 1);
        assert_eq!(t.encode("<tool>", false).unwrap(), vec![263]);
        // Control tokens are hidden when decoding without `special`.
        assert_eq!(t.decode(&[262], false), "");
        assert_eq!(t.decode(&[262], true), "<|im_start|>");
    }
}
