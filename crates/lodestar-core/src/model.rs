//! The model traits (`Generator`, `Embedder`) that retrieval, answering and drafting program against.
//!
//! Nothing here depends on candle: `lodestar-infer` implements these traits, and the other crates
//! (and their tests, which use fakes) only see the traits. A future OpenAI-compatible HTTP backend
//! (vLLM, llama.cpp server) would be another implementation, not a rewrite.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Who speaks in a chat turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    /// The system prompt (instructions).
    System,
    /// The user's question or request.
    User,
    /// The model's reply.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatMessage {
    /// Who speaks.
    pub role: ChatRole,
    /// What is said (plain text, before the chat template is applied).
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: ChatRole::System, content: content.into() }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: ChatRole::User, content: content.into() }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self { role: ChatRole::Assistant, content: content.into() }
    }
}

/// A cancellation flag shared between the caller and a running generation.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that has not fired.
    pub fn new() -> Self {
        Self::default()
    }
    /// Fires the token: the generation sharing it stops at its next token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether [`CancelToken::cancel`] has been called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sampling and stopping parameters. `temperature <= 0` means greedy (deterministic).
#[derive(Debug, Clone)]
pub struct GenParams {
    /// Most tokens to generate (the prompt not counted).
    pub max_tokens: usize,
    /// Sampling temperature; `<= 0` is greedy.
    pub temperature: f64,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches this (None = off).
    pub top_p: Option<f64>,
    /// Keep only the this-many most likely tokens when sampling (None = off).
    pub top_k: Option<usize>,
    /// 1.0 = off.
    pub repeat_penalty: f32,
    /// How many of the last tokens the repeat penalty looks at.
    pub repeat_last_n: usize,
    /// Seed of the sampler (same seed, same prompt, same output).
    pub seed: u64,
    /// Generation stops before any of these strings; the stop string is not part of the output.
    pub stop: Vec<String>,
    /// A token that cancels the generation when fired.
    pub cancel: Option<CancelToken>,
}

impl Default for GenParams {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            temperature: 0.0,
            top_p: None,
            top_k: None,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 42,
            stop: Vec::new(),
            cancel: None,
        }
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// End-of-turn token or a stop string.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The cancel token fired or the token callback asked to stop.
    Cancelled,
}

/// Counters and timings of one generation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GenStats {
    /// Tokens in the rendered prompt (including the cached prefix).
    pub prompt_tokens: usize,
    /// Prompt tokens served from the prefix KV cache (not re-processed).
    pub cached_tokens: usize,
    /// Tokens generated for the reply.
    pub generated_tokens: usize,
    /// Wall time of prompt processing, in milliseconds.
    pub prefill_ms: f64,
    /// Wall time of token generation, in milliseconds.
    pub decode_ms: f64,
    /// Why the generation ended.
    pub finish: FinishReason,
}

/// The result of one generation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Generation {
    /// The generated reply (stop string excluded).
    pub text: String,
    /// Token counts and timings.
    pub stats: GenStats,
}

/// Errors a model backend reports through the traits.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The prompt does not fit the model's context window.
    #[error("prompt needs {needed} tokens but the model's context is {limit} tokens")]
    ContextLength {
        /// Tokens the prompt would take.
        needed: usize,
        /// The model's context length in tokens.
        limit: usize,
    },
    /// The model's weights are not in the models directory (holds the model's name).
    #[error("model not installed: {0} (run `lodestar models fetch`)")]
    NotInstalled(String),
    /// Any other failure of the backend (holds its message).
    #[error("model backend error: {0}")]
    Backend(String),
}

/// A chat model (生成模型). Implementations keep their own state behind interior mutability
/// (e.g. a mutex around the KV cache), so one instance can be shared by threads.
pub trait Generator: Send + Sync {
    /// Model name as in `models/models.toml`.
    fn name(&self) -> &str;
    /// Maximum number of tokens (prompt + generated) the model accepts.
    fn context_length(&self) -> usize;
    /// Number of tokens `text` encodes to (no chat template applied).
    fn count_tokens(&self, text: &str) -> Result<usize, ModelError>;
    /// Renders `messages` with the model's chat template and generates the assistant reply.
    /// `on_token` receives each new piece of text as it is decoded; returning
    /// `ControlFlow::Break(())` cancels. A prefix of the rendered prompt that matches the previous
    /// call's (e.g. the same system prompt) is served from the KV cache.
    fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, ModelError>;

    /// How likely the assistant's reply to `messages` starts with each of `options` (short
    /// answers such as `是` / `否`), as probabilities over the options (summing to 1).
    ///
    /// A local model reads them off the logits of the reply's first token; this default, for
    /// backends without logits (remote APIs), generates a few tokens greedily and gives the
    /// option the reply starts with probability 1 (and each option `1/n` when it starts with
    /// none of them).
    fn choose(&self, messages: &[ChatMessage], options: &[&str]) -> Result<Vec<f32>, ModelError> {
        let params = GenParams { max_tokens: 4, temperature: 0.0, ..GenParams::default() };
        let g = self.generate(messages, &params, &mut |_| ControlFlow::Continue(()))?;
        Ok(option_shares(g.text.trim_start(), options))
    }
}

/// Probabilities for [`Generator::choose`] from a reply's text: 1 for the first option the text
/// starts with, else equal shares.
pub fn option_shares(text: &str, options: &[&str]) -> Vec<f32> {
    match options.iter().position(|o| !o.is_empty() && text.starts_with(o)) {
        Some(i) => (0..options.len()).map(|j| if j == i { 1.0 } else { 0.0 }).collect(),
        None => vec![1.0 / options.len().max(1) as f32; options.len()],
    }
}

/// Whether a text is a search query or a stored passage (e5 uses `query: ` / `passage: ` prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedKind {
    /// A search query (`query: ` prefix).
    Query,
    /// A stored passage of a document (`passage: ` prefix).
    Passage,
}

/// A text embedding model (向量模型); vectors are L2-normalized.
pub trait Embedder: Send + Sync {
    /// Model name as in `models/models.toml`.
    fn name(&self) -> &str;
    /// Length of the vectors the model returns.
    fn dim(&self) -> usize;
    /// Embeds each text as a query or a passage; one L2-normalized vector per text, in order.
    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>, ModelError>;
}
