//! GGUF chat model behind the core [`Generator`] trait (对话生成): template, tokenizer,
//! streaming, stop strings, cancellation, and a small pool of KV caches so that a prompt sharing
//! its prefix (the system prompt) with an earlier one is not processed again.

use crate::error::{InferError, Result};
use crate::llm::{KvCache, LlmModel};
use crate::sampler::{sample, Rng};
use crate::template::ChatTemplate;
use crate::tokenizer::BpeTokenizer;
use candle_core::quantized::gguf_file;
use candle_core::Device;
use lodestar_core::model::{ChatMessage, FinishReason, GenParams, GenStats, Generation, Generator, ModelError};
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// How many prompt prefixes keep their own KV cache.
const CACHE_SLOTS: usize = 4;
/// Prompt tokens are processed in chunks of this many (bounds attention memory).
const PREFILL_CHUNK: usize = 512;

/// Options for loading a chat model.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions {
    /// Cap on the context length (memory bound); `None` = the model's own.
    pub max_context: Option<usize>,
    /// Device; `None` = [`crate::default_device`].
    pub device: Option<Device>,
    /// Prompt-processing kernels; `None` = the run-time option (`lodestar_core::runtime`).
    pub prefill: Option<crate::llm::PrefillMode>,
}

struct CacheSlot {
    cache: KvCache,
    last_used: u64,
}

struct State {
    slots: Vec<CacheSlot>,
    clock: u64,
}

/// A chat model loaded from a GGUF file.
pub struct GgufChat {
    name: String,
    model: LlmModel,
    tokenizer: BpeTokenizer,
    template: ChatTemplate,
    stop_ids: HashSet<u32>,
    state: Mutex<State>,
    steps: std::sync::atomic::AtomicUsize,
    max_rows: std::sync::atomic::AtomicUsize,
}

impl GgufChat {
    /// Loads `path` as model `name`.
    pub fn load(path: &Path, name: &str, opts: &ChatOptions) -> Result<Self> {
        let mut f = std::fs::File::open(path).map_err(|e| InferError::io(path, e))?;
        let content = gguf_file::Content::read(&mut f)
            .map_err(|e| InferError::Format(format!("{}: not a readable GGUF file: {e}", path.display())))?;
        let device = match &opts.device {
            Some(d) => d.clone(),
            None => crate::default_device(),
        };
        let tokenizer = BpeTokenizer::from_gguf_metadata(&content.metadata)?;
        let mut reader = std::io::BufReader::new(f);
        let mut model = LlmModel::load(&content, &mut reader, &device, opts.max_context)?;
        if let Some(p) = opts.prefill {
            model.prefill = p;
        }
        let tmpl_text = content.metadata.get("tokenizer.chat_template").and_then(|v| v.to_string().ok());
        let template = ChatTemplate::detect(tmpl_text.map(|s| s.as_str()), model.cfg.arch.as_str());
        let mut stop_ids: HashSet<u32> = HashSet::new();
        if let Some(e) = tokenizer.eos {
            stop_ids.insert(e);
        }
        if let Some(e) = content.metadata.get("tokenizer.ggml.eot_token_id").and_then(|v| v.to_u32().ok()) {
            stop_ids.insert(e);
        }
        for m in template.end_of_turn_markers() {
            if let Some(id) = tokenizer.token_id(m) {
                stop_ids.insert(id);
            }
        }
        Ok(Self {
            name: name.to_string(),
            model,
            tokenizer,
            template,
            stop_ids,
            state: Mutex::new(State { slots: Vec::new(), clock: 0 }),
            steps: Default::default(),
            max_rows: Default::default(),
        })
    }

    /// The model's byte-level BPE tokenizer.
    pub fn tokenizer(&self) -> &BpeTokenizer {
        &self.tokenizer
    }

    /// The model's chat template.
    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// The loaded transformer.
    pub fn model(&self) -> &LlmModel {
        &self.model
    }

    /// Renders `messages` with the model's chat template.
    pub fn render(&self, messages: &[ChatMessage]) -> String {
        self.template.render(messages)
    }

    /// Tokens of a rendered prompt (special markers parsed, BOS added when the model wants it
    /// and the text does not start with it).
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<u32>> {
        let mut ids = self.tokenizer.encode(prompt, true)?;
        if self.tokenizer.add_bos {
            if let Some(b) = self.tokenizer.bos {
                if ids.first() != Some(&b) {
                    ids.insert(0, b);
                }
            }
        }
        Ok(ids)
    }

    /// Drops every cached prompt prefix.
    pub fn clear_cache(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.slots.clear();
        }
    }

    /// Logits of the next token after `tokens`, computed from scratch (no cache reuse); for tests
    /// and for checking the cached path.
    pub fn logits_full(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let mut cache = self.model.new_cache();
        let mut last = Vec::new();
        for chunk in tokens.chunks(PREFILL_CHUNK) {
            last = self.model.forward(chunk, &mut cache)?;
        }
        Ok(last)
    }

    /// Logits of the next token after `tokens`, reusing the best matching cached prefix.
    /// Returns (logits, reused tokens).
    pub fn logits_cached(&self, tokens: &[u32]) -> Result<(Vec<f32>, usize)> {
        let mut st = self.state.lock().map_err(|_| InferError::Format("model state poisoned".into()))?;
        let slot = Self::pick_slot(&mut st, tokens, &self.model);
        let reused = st.slots[slot].cache.len();
        let mut last = Vec::new();
        for chunk in tokens[reused..].chunks(PREFILL_CHUNK) {
            last = self.model.forward(chunk, &mut st.slots[slot].cache)?;
        }
        Ok((last, reused))
    }

    /// Chooses the cache slot sharing the longest prefix with `tokens`, truncates it to that
    /// prefix (keeping at least one token to process) and returns its index.
    fn pick_slot(st: &mut State, tokens: &[u32], model: &LlmModel) -> usize {
        st.clock += 1;
        let clock = st.clock;
        let lcp = |c: &KvCache| common_prefix(c, tokens);
        let best = st
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (lcp(&s.cache), i))
            .max_by_key(|&(n, i)| (n, std::cmp::Reverse(i)));
        let idx = match best {
            Some((n, i)) if n > 0 => i,
            _ if st.slots.len() < CACHE_SLOTS => {
                st.slots.push(CacheSlot { cache: model.new_cache(), last_used: clock });
                st.slots.len() - 1
            }
            _ => st.slots.iter().enumerate().min_by_key(|(_, s)| s.last_used).map(|(i, _)| i).unwrap_or(0),
        };
        let slot = &mut st.slots[idx];
        slot.last_used = clock;
        let keep = lcp(&slot.cache).min(tokens.len().saturating_sub(1));
        slot.cache.truncate(keep);
        idx
    }

    /// Generates from an already rendered prompt (the chat template is not applied).
    pub fn generate_raw(
        &self,
        prompt: &str,
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation> {
        let tokens = self.encode_prompt(prompt)?;
        self.generate_tokens(&tokens, params, on_token).map(|(g, _)| g)
    }

    /// Generates from prompt token ids; also returns the generated ids.
    pub fn generate_tokens(
        &self,
        tokens: &[u32],
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<(Generation, Vec<u32>)> {
        self.check_prompt(tokens)?;
        let mut st = self.state.lock().map_err(|_| InferError::Format("model state poisoned".into()))?;
        let slot = Self::pick_slot(&mut st, tokens, &self.model);
        let cache = &mut st.slots[slot].cache;
        let cached = cache.len();
        let mut seq = SeqState::new(tokens, params.clone(), cached);
        let mut logits = self.prefill(&mut seq, &tokens[cached..], cache)?;
        let mut next = seq.step(&mut logits, cache.len(), self, on_token);
        while let Some(t) = next {
            logits = self.model.forward(&[t], cache)?;
            next = seq.step(&mut logits, cache.len(), self, on_token);
        }
        Ok(seq.finish(on_token))
    }

    /// Processes `tokens` (the part of `seq`'s prompt not in `cache`) in chunks, stopping early
    /// when the request is cancelled; records the prompt time and returns the last logits.
    fn prefill(&self, seq: &mut SeqState, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let t0 = Instant::now();
        let mut logits = Vec::new();
        for chunk in tokens.chunks(PREFILL_CHUNK) {
            if seq.cancelled() {
                seq.finish = Some(FinishReason::Cancelled);
                break;
            }
            logits = self.model.forward(chunk, cache)?;
        }
        seq.prefill_ms = t0.elapsed().as_secs_f64() * 1e3;
        seq.t_decode = Instant::now();
        Ok(logits)
    }

    /// Checks the prompt of one request (not empty, shorter than the context).
    pub(crate) fn check_prompt(&self, tokens: &[u32]) -> Result<()> {
        let limit = self.model.cfg.context_length;
        if tokens.is_empty() {
            return Err(InferError::Format("empty prompt".into()));
        }
        if tokens.len() >= limit {
            return Err(InferError::ContextLength { needed: tokens.len() + 1, limit });
        }
        Ok(())
    }

    /// Generates for several requests at once with continuous batching: up to `max_batch`
    /// sequences decode together, one token each per step through [`LlmModel::forward_batch`]
    /// (each with its own KV cache, length, sampler and stop conditions), and when one finishes
    /// its slot takes the next waiting request (whose prompt is processed before the next
    /// step). Every request's tokens are the ones [`Self::generate_tokens`] gives for it alone
    /// on a fresh cache (its prompt is processed the same way, and each row of a batched step
    /// equals the one-token step bit for bit on the CPU's plain-vector path); the requests'
    /// prompts are not served from or added to the prefix cache.
    ///
    /// `on_event` sees each request start, its text pieces and its end; returning
    /// `ControlFlow::Break` for a request's event cancels that request (as `on_token` does in
    /// [`Self::generate_tokens`]). Returns the results in the order the requests finished, each
    /// naming its request by its position in `requests`. A prompt that is empty or does not
    /// fit the context fails the call before anything runs.
    pub fn generate_batch(
        &self,
        requests: &[BatchRequest],
        max_batch: usize,
        on_event: &mut dyn FnMut(BatchEvent<'_>) -> ControlFlow<()>,
    ) -> Result<Vec<BatchResult>> {
        for r in requests {
            self.check_prompt(&r.tokens)?;
        }
        let mut waiting = requests.iter().cloned().enumerate();
        let mut results: Vec<BatchResult> = Vec::with_capacity(requests.len());
        self.run_batches(max_batch, false, &mut |_| waiting.next(), &mut |ev| {
            if let BatchEvent::Done { result } = &ev {
                results.push((*result).clone());
            }
            on_event(ev)
        })?;
        Ok(results)
    }

    /// The continuous-batching loop behind [`Self::generate_batch`] and [`crate::SlotChat`]:
    /// `next(block)` hands over the next request with its index (`block` is true when nothing
    /// is running, so the source may wait for one; `None` then ends the loop, while `None`
    /// with `block` false only means "nothing waiting now"). Prompts must have been checked
    /// ([`Self::check_prompt`]). An error of the model ends the loop; the requests that were
    /// running then have no `Done` event. With `prefix_cache`, a request's prompt starts from a
    /// copy of the longest matching prefix among the cached sequences (as [`Self::generate_tokens`]
    /// does), and a finished sequence's cache joins them.
    pub(crate) fn run_batches(
        &self,
        max_batch: usize,
        prefix_cache: bool,
        next: &mut dyn FnMut(bool) -> Option<(usize, BatchRequest)>,
        on_event: &mut dyn FnMut(BatchEvent<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        let max_batch = max_batch.max(1);
        struct Running {
            index: usize,
            cache: KvCache,
            seq: SeqState,
            next: u32,
        }
        let done = |index: usize, seq: SeqState, on_event: &mut dyn FnMut(BatchEvent<'_>) -> ControlFlow<()>| {
            let (generation, tokens) = seq.finish(&mut |piece| on_event(BatchEvent::Token { index, piece }));
            let r = BatchResult { index, generation, tokens };
            let _ = on_event(BatchEvent::Done { result: &r });
        };
        let mut running: Vec<Running> = Vec::with_capacity(max_batch);
        let mut exhausted = false;
        loop {
            while running.len() < max_batch && !exhausted {
                let block = running.is_empty();
                let Some((index, req)) = next(block) else {
                    exhausted = block;
                    break;
                };
                let mut cache = if prefix_cache { self.cached_prefix(&req.tokens)? } else { self.model.new_cache() };
                let cached = cache.len();
                let mut seq = SeqState::new(&req.tokens, req.params, cached);
                if on_event(BatchEvent::Started { index }).is_break() {
                    seq.finish = Some(FinishReason::Cancelled);
                }
                let mut logits = if seq.finish.is_none() {
                    self.prefill(&mut seq, &req.tokens[cached..], &mut cache)?
                } else {
                    Vec::new()
                };
                let next =
                    seq.step(&mut logits, cache.len(), self, &mut |piece| on_event(BatchEvent::Token { index, piece }));
                match next {
                    Some(next) => running.push(Running { index, cache, seq, next }),
                    None => {
                        done(index, seq, on_event);
                        if prefix_cache {
                            self.keep_cache(cache);
                        }
                    }
                }
            }
            if running.is_empty() {
                if exhausted {
                    return Ok(());
                }
                continue;
            }
            let tokens: Vec<u32> = running.iter().map(|r| r.next).collect();
            let logits = {
                let mut caches: Vec<&mut KvCache> = running.iter_mut().map(|r| &mut r.cache).collect();
                self.model.forward_batch(&tokens, &mut caches)?
            };
            self.steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.max_rows.fetch_max(tokens.len(), std::sync::atomic::Ordering::Relaxed);
            let mut still = Vec::with_capacity(running.len());
            for (mut r, mut l) in running.drain(..).zip(logits) {
                let index = r.index;
                let next =
                    r.seq.step(&mut l, r.cache.len(), self, &mut |piece| on_event(BatchEvent::Token { index, piece }));
                match next {
                    Some(next) => {
                        r.next = next;
                        still.push(r);
                    }
                    None => {
                        done(index, r.seq, on_event);
                        if prefix_cache {
                            self.keep_cache(r.cache);
                        }
                    }
                }
            }
            running = still;
        }
    }

    /// A cache holding a copy of the longest cached prefix of `tokens` (at least one token is
    /// left to process), or an empty one.
    fn cached_prefix(&self, tokens: &[u32]) -> Result<KvCache> {
        let mut st = self.state.lock().map_err(|_| InferError::Format("model state poisoned".into()))?;
        st.clock += 1;
        let clock = st.clock;
        let lcp = |c: &KvCache| common_prefix(c, tokens);
        let best = st.slots.iter_mut().map(|s| (lcp(&s.cache), s)).max_by_key(|(n, _)| *n);
        match best {
            Some((n, slot)) if n > 0 => {
                slot.last_used = clock;
                slot.cache.copy_prefix(n.min(tokens.len().saturating_sub(1)))
            }
            _ => Ok(self.model.new_cache()),
        }
    }

    /// Keeps a finished sequence's cache for later prompts that share its prefix (in place of
    /// the least recently used one when all cache slots are taken).
    fn keep_cache(&self, cache: KvCache) {
        let Ok(mut st) = self.state.lock() else { return };
        st.clock += 1;
        let slot = CacheSlot { cache, last_used: st.clock };
        if st.slots.len() < CACHE_SLOTS {
            st.slots.push(slot);
        } else if let Some(i) = st.slots.iter().enumerate().min_by_key(|(_, s)| s.last_used).map(|(i, _)| i) {
            st.slots[i] = slot;
        }
    }

    /// Batched decoding steps run so far and the most sequences one step held (for tests and
    /// `batch run`'s summary).
    pub fn batch_stats(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.steps.load(Relaxed), self.max_rows.load(Relaxed))
    }
}

/// How many of `tokens` the cache already holds, from the start.
fn common_prefix(c: &KvCache, tokens: &[u32]) -> usize {
    c.tokens.iter().zip(tokens).take_while(|(a, b)| a == b).count()
}

/// One request of [`GgufChat::generate_batch`].
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// Prompt token ids (e.g. from [`GgufChat::encode_prompt`]).
    pub tokens: Vec<u32>,
    /// Sampling and stopping parameters of this request.
    pub params: GenParams,
}

/// What [`GgufChat::generate_batch`] reports while it runs; `index` is the request's position.
#[derive(Debug)]
pub enum BatchEvent<'a> {
    /// The request took a slot; its prompt is processed next.
    Started {
        /// Position of the request in the input.
        index: usize,
    },
    /// A piece of the request's text (the pieces `on_token` would see alone).
    Token {
        /// Position of the request in the input.
        index: usize,
        /// The new text.
        piece: &'a str,
    },
    /// The request finished (its result is also returned).
    Done {
        /// The request's result.
        result: &'a BatchResult,
    },
}

/// The outcome of one request of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult {
    /// The request's position in the input.
    pub index: usize,
    /// The text, token counts and timings, as [`Generator::generate`] returns them.
    pub generation: Generation,
    /// The generated token ids.
    pub tokens: Vec<u32>,
}

/// The decoding state of one sequence: sampler, history, stop conditions, streamed text. The
/// same steps run alone ([`GgufChat::generate_tokens`]) and in a batch.
struct SeqState {
    params: GenParams,
    rng: Rng,
    history: Vec<u32>,
    generated: Vec<u32>,
    out: StreamText,
    finish: Option<FinishReason>,
    prompt_tokens: usize,
    cached_tokens: usize,
    prefill_ms: f64,
    t_decode: Instant,
}

impl SeqState {
    fn new(tokens: &[u32], params: GenParams, cached_tokens: usize) -> Self {
        Self {
            out: StreamText::new(&params.stop),
            rng: Rng::new(params.seed),
            params,
            history: tokens.to_vec(),
            generated: Vec::new(),
            finish: None,
            prompt_tokens: tokens.len(),
            cached_tokens,
            prefill_ms: 0.0,
            t_decode: Instant::now(),
        }
    }

    fn cancelled(&self) -> bool {
        self.params.cancel.as_ref().is_some_and(|c| c.is_cancelled())
    }

    /// Picks the next token from `logits` and streams its text; returns it when the model must
    /// run it (the sequence goes on), or `None` once the sequence has finished (`self.finish`).
    fn step(
        &mut self,
        logits: &mut [f32],
        cache_len: usize,
        chat: &GgufChat,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Option<u32> {
        let max = self.params.max_tokens;
        if self.finish.is_some() {
            return None;
        }
        if self.cancelled() {
            self.finish = Some(FinishReason::Cancelled);
            return None;
        }
        if self.generated.len() >= max {
            self.finish = Some(FinishReason::Length);
            return None;
        }
        let next = sample(logits, &self.params, &self.history, &mut self.rng);
        if chat.stop_ids.contains(&next) {
            self.finish = Some(FinishReason::Stop);
            return None;
        }
        self.generated.push(next);
        self.history.push(next);
        let (piece, hit_stop) = self.out.push(&chat.tokenizer.token_bytes(next, false));
        if !piece.is_empty() && on_token(&piece).is_break() {
            self.finish = Some(FinishReason::Cancelled);
            return None;
        }
        if hit_stop {
            self.finish = Some(FinishReason::Stop);
            return None;
        }
        if self.generated.len() >= max || cache_len + 1 >= chat.model.cfg.context_length {
            self.finish = Some(FinishReason::Length);
            return None;
        }
        Some(next)
    }

    /// Releases the held-back text and returns the generation and its token ids.
    fn finish(mut self, on_token: &mut dyn FnMut(&str) -> ControlFlow<()>) -> (Generation, Vec<u32>) {
        let finish = self.finish.unwrap_or(FinishReason::Stop);
        if finish != FinishReason::Stop || !self.out.stopped {
            let tail = self.out.flush();
            if !tail.is_empty() && finish != FinishReason::Cancelled {
                let _ = on_token(&tail);
            }
        }
        let stats = GenStats {
            prompt_tokens: self.prompt_tokens,
            cached_tokens: self.cached_tokens,
            generated_tokens: self.generated.len(),
            prefill_ms: self.prefill_ms,
            decode_ms: self.t_decode.elapsed().as_secs_f64() * 1e3,
            finish,
        };
        (Generation { text: self.out.text, stats }, self.generated)
    }
}

/// Incremental UTF-8 decoding with stop strings: text is released only when it can no longer
/// be the start of a stop string, and never splits a character.
struct StreamText {
    stop: Vec<String>,
    bytes: Vec<u8>,
    /// Decoded text, possibly including a held-back tail.
    text: String,
    emitted: usize,
    stopped: bool,
}

impl StreamText {
    fn new(stop: &[String]) -> Self {
        Self {
            stop: stop.iter().filter(|s| !s.is_empty()).cloned().collect(),
            bytes: Vec::new(),
            text: String::new(),
            emitted: 0,
            stopped: false,
        }
    }

    /// Adds token bytes; returns the newly releasable text and whether a stop string was hit.
    fn push(&mut self, b: &[u8]) -> (String, bool) {
        self.bytes.extend_from_slice(b);
        loop {
            match std::str::from_utf8(&self.bytes) {
                Ok(s) => {
                    self.text.push_str(s);
                    self.bytes.clear();
                    break;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // Safe: the prefix up to `valid` is valid UTF-8.
                    self.text.push_str(&String::from_utf8_lossy(&self.bytes[..valid]));
                    match e.error_len() {
                        Some(bad) => {
                            self.text.push('\u{fffd}');
                            self.bytes.drain(..valid + bad);
                        }
                        None => {
                            self.bytes.drain(..valid);
                            break;
                        }
                    }
                }
            }
        }
        // Stop string search in the not-yet-released part (plus overlap).
        let max_stop = self.stop.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut from = self.emitted.saturating_sub(max_stop);
        while !self.text.is_char_boundary(from) {
            from -= 1;
        }
        let hit = self.stop.iter().filter_map(|s| self.text[from..].find(s.as_str()).map(|p| p + from)).min();
        if let Some(p) = hit {
            let p = p.max(self.emitted);
            self.text.truncate(p);
            let piece = self.text[self.emitted..].to_string();
            self.emitted = self.text.len();
            self.stopped = true;
            self.bytes.clear();
            return (piece, true);
        }
        // Hold back the longest suffix that is a proper prefix of a stop string.
        let mut hold = 0;
        for s in &self.stop {
            for (i, _) in s.char_indices().skip(1) {
                if self.text.ends_with(&s[..i]) {
                    hold = hold.max(i);
                }
            }
        }
        let mut release = self.text.len() - hold;
        if release < self.emitted {
            release = self.emitted;
        }
        while !self.text.is_char_boundary(release) {
            release -= 1;
        }
        let piece = self.text[self.emitted..release].to_string();
        self.emitted = release;
        (piece, false)
    }

    /// Releases everything held back (at the end of a generation).
    fn flush(&mut self) -> String {
        if !self.bytes.is_empty() {
            self.text.push_str(&String::from_utf8_lossy(&self.bytes));
            self.bytes.clear();
        }
        let piece = self.text[self.emitted..].to_string();
        self.emitted = self.text.len();
        piece
    }
}

impl Generator for GgufChat {
    fn name(&self) -> &str {
        &self.name
    }

    fn context_length(&self) -> usize {
        self.model.cfg.context_length
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        Ok(self.tokenizer.encode(text, false)?.len())
    }

    fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, ModelError> {
        let prompt = self.render(messages);
        Ok(self.generate_raw(&prompt, params, on_token)?)
    }

    /// The options' share of the probability of the reply's first token: one forward pass over
    /// the prompt (from the prefix cache, which then holds it for the next call), a softmax over
    /// the logits of each option's first token.
    fn choose(&self, messages: &[ChatMessage], options: &[&str]) -> Result<Vec<f32>, ModelError> {
        let tokens = self.encode_prompt(&self.render(messages))?;
        let limit = self.model.cfg.context_length;
        if tokens.len() >= limit {
            return Err(ModelError::ContextLength { needed: tokens.len() + 1, limit });
        }
        let (logits, _) = self.logits_cached(&tokens)?;
        let mut firsts = Vec::with_capacity(options.len());
        for o in options {
            let ids = self.tokenizer.encode(o, false)?;
            let id = *ids.first().ok_or_else(|| ModelError::Backend(format!("option `{o}` encodes to no token")))?;
            let l = *logits
                .get(id as usize)
                .ok_or_else(|| ModelError::Backend(format!("option `{o}`: token {id} outside the vocabulary")))?;
            firsts.push(l);
        }
        Ok(softmax_shares(&firsts))
    }
}

/// Softmax of `logits` (numerically stable; equal shares when they are not finite).
fn softmax_shares(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return vec![1.0 / logits.len().max(1) as f32; logits.len()];
    }
    let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.iter().map(|x| x / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::StreamText;

    fn run(stop: &[&str], pieces: &[&str]) -> (String, Vec<String>, bool) {
        let stop: Vec<String> = stop.iter().map(|s| s.to_string()).collect();
        let mut st = StreamText::new(&stop);
        let mut out = Vec::new();
        let mut hit = false;
        for p in pieces {
            let (piece, h) = st.push(p.as_bytes());
            if !piece.is_empty() {
                out.push(piece);
            }
            if h {
                hit = true;
                break;
            }
        }
        if !hit {
            let t = st.flush();
            if !t.is_empty() {
                out.push(t);
            }
        }
        (st.text, out, hit)
    }

    #[test]
    fn stop_string_across_tokens_is_cut_and_never_streamed() {
        let (text, out, hit) = run(&["END"], &["ab", "cE", "N", "Dzz"]);
        assert!(hit);
        assert_eq!(text, "abc");
        assert_eq!(out.concat(), "abc");
    }

    #[test]
    fn held_back_prefix_is_released_when_it_diverges() {
        let (text, out, hit) = run(&["END"], &["abE", "Nx"]);
        assert!(!hit);
        assert_eq!(text, "abENx");
        assert_eq!(out, vec!["ab".to_string(), "ENx".to_string()]);
    }

    #[test]
    fn softmax_shares_sum_to_one_and_keep_the_order() {
        let p = super::softmax_shares(&[2.0, 0.0]);
        assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
        // e^2 / (e^2 + 1) = 0.8808
        assert!((p[0] - 0.880_797).abs() < 1e-5, "{p:?}");
        assert_eq!(super::softmax_shares(&[f32::NEG_INFINITY, f32::NEG_INFINITY]), vec![0.5, 0.5]);
    }

    #[test]
    fn utf8_split_across_tokens() {
        // "钢" is E9 92 A2: fed in two parts, nothing is emitted until it is whole.
        let mut st = StreamText::new(&[]);
        assert_eq!(st.push(&[0xE9, 0x92]).0, "");
        assert_eq!(st.push(&[0xA2]).0, "钢");
    }
}
