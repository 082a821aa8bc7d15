//! Tokenizers written in Rust (分词器): byte-level BPE for GGUF chat models and the XLM-R unigram
//! tokenizer for e5. Neither needs a `tokenizer.json` from a model hub.

pub mod bpe;
pub mod unigram;

pub use bpe::BpeTokenizer;
pub use unigram::UnigramTokenizer;
