//! `lodestar-remote`: generation (and embeddings) on another machine through the OpenAI API —
//! the company's GPU server running vLLM, llama.cpp's server or Ollama — behind the same
//! `Generator` / `Embedder` traits as the local candle models, so nothing above them changes.
//!
//! A home registers remote models in `remote_models.toml` (`lodestar models add-remote`); the key
//! is read from the named environment variable at run time and never stored, logged or printed.
//! Only the configured URL is contacted, and only when that model is used.
//!
//! ```no_run
//! use lodestar_core::{ChatMessage, GenParams, Generator};
//! let spec = lodestar_remote::RemoteSpec::chat("gpu", "http://10.0.0.5:8000/v1", "qwen2.5-7b-instruct");
//! let g = lodestar_remote::RemoteChat::new(spec).unwrap();
//! let out = g.generate(&[ChatMessage::user("你好")], &GenParams::default(), &mut |_| std::ops::ControlFlow::Continue(()));
//! ```

use lodestar_core::{
    ChatMessage, ChatRole, EmbedKind, Embedder, FinishReason, GenParams, GenStats, Generation, Generator, ModelError,
};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a remote model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteRole {
    /// A chat model (`/v1/chat/completions`).
    Chat,
    /// An embedding model (`/v1/embeddings`).
    Embed,
}

/// A registered remote model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteSpec {
    /// The name used locally (`ask --model NAME`).
    pub name: String,
    /// Base URL of the API, ending in `/v1`.
    pub url: String,
    /// The model id on the server.
    pub model: String,
    /// Environment variable holding the API key (read at run time; never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Chat or embeddings.
    pub role: RemoteRole,
    /// Context length to assume (the API does not say); default 32,768.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<usize>,
    /// Seconds a whole request may take (connect, prompt, all generated text); default 900.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
}

impl RemoteSpec {
    /// A chat model `model` at `url` known locally as `name` (no key, default context and timeout).
    pub fn chat(name: &str, url: &str, model: &str) -> Self {
        Self {
            name: name.into(),
            url: url.trim_end_matches('/').into(),
            model: model.into(),
            api_key_env: None,
            role: RemoteRole::Chat,
            context_length: None,
            timeout_secs: None,
        }
    }
}

/// Errors of the registry of remote models.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The registry file could not be read or written.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        message: String,
    },
    /// The registry file is not valid TOML of the expected shape.
    #[error("invalid {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A registration that cannot be accepted (a duplicate name, a bad URL …).
    #[error("{0}")]
    Invalid(String),
}

/// The home's remote models (`remote_models.toml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    /// The models, one `[[model]]` table each.
    #[serde(default, rename = "model")]
    pub models: Vec<RemoteSpec>,
}

impl Registry {
    /// The registry file of the home `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join("remote_models.toml")
    }

    /// Reads the registry of a home; none yet is an empty registry.
    pub fn load(home: &Path) -> Result<Self, RemoteError> {
        let path = Self::path(home);
        match std::fs::read_to_string(&path) {
            Ok(s) => toml::from_str(&s)
                .map_err(|e| RemoteError::Parse { path: path.display().to_string(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(RemoteError::Io { path: path.display().to_string(), message: e.to_string() }),
        }
    }

    /// Writes the registry to the home.
    pub fn save(&self, home: &Path) -> Result<(), RemoteError> {
        let path = Self::path(home);
        let text = toml::to_string_pretty(self).map_err(|e| RemoteError::Invalid(e.to_string()))?;
        let tmp = path.with_extension("toml.part");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| RemoteError::Io { path: path.display().to_string(), message: e.to_string() })
    }

    /// The model registered as `name`.
    pub fn get(&self, name: &str) -> Option<&RemoteSpec> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Adds (or replaces) a model, after checking its fields.
    pub fn add(&mut self, spec: RemoteSpec) -> Result<(), RemoteError> {
        if spec.name.trim().is_empty() || spec.model.trim().is_empty() {
            return Err(RemoteError::Invalid("a remote model needs a name and a model id".into()));
        }
        if !(spec.url.starts_with("http://") || spec.url.starts_with("https://")) {
            return Err(RemoteError::Invalid(format!("--url `{}`: expected http(s)://HOST:PORT/v1", spec.url)));
        }
        if let Some(v) = &spec.api_key_env {
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(RemoteError::Invalid(format!("--api-key-env `{v}`: the name of an environment variable")));
            }
        }
        self.models.retain(|m| m.name != spec.name);
        self.models.push(spec);
        Ok(())
    }

    /// Removes the model `name`; whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let n = self.models.len();
        self.models.retain(|m| m.name != name);
        n != self.models.len()
    }
}

fn backend(spec: &RemoteSpec, what: impl std::fmt::Display) -> ModelError {
    ModelError::Backend(format!("remote model `{}` at {}: {what}", spec.name, spec.url))
}

fn client(spec: &RemoteSpec) -> Result<reqwest::blocking::Client, ModelError> {
    reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(spec.timeout_secs.unwrap_or(900)))
        .build()
        .map_err(|e| backend(spec, e))
}

fn request(
    spec: &RemoteSpec,
    client: &reqwest::blocking::Client,
    path: &str,
    body: &serde_json::Value,
) -> Result<reqwest::blocking::Response, ModelError> {
    let mut req = client.post(format!("{}{path}", spec.url)).json(body);
    if let Some(var) = &spec.api_key_env {
        let key = std::env::var(var)
            .map_err(|_| backend(spec, format!("the environment variable {var} (its API key) is not set")))?;
        req = req.bearer_auth(key);
    }
    let r = req.send().map_err(|e| {
        if e.is_timeout() {
            backend(spec, "timed out")
        } else if e.is_connect() {
            backend(spec, "cannot connect")
        } else {
            backend(spec, e)
        }
    })?;
    if r.status().is_success() {
        return Ok(r);
    }
    let status = r.status();
    let text = r.text().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    let message = v["error"]["message"].as_str().map(String::from).unwrap_or_else(|| text.chars().take(300).collect());
    if v["error"]["code"] == "context_length_exceeded"
        || message.contains("context length")
        || message.contains("context_length")
    {
        return Err(ModelError::ContextLength { needed: 0, limit: spec.context_length.unwrap_or(32768) });
    }
    Err(backend(spec, format!("HTTP {status}: {message}")))
}

/// A chat model on an OpenAI-compatible server. Each request builds its own blocking HTTP
/// client on the calling thread, so the value may be created, shared and dropped anywhere (a
/// blocking client kept in a struct would panic when dropped inside an async runtime).
pub struct RemoteChat {
    spec: RemoteSpec,
}

impl RemoteChat {
    /// The chat model `spec` names (nothing is contacted until the first request).
    pub fn new(spec: RemoteSpec) -> Result<Self, ModelError> {
        Ok(Self { spec })
    }
    /// Its registration.
    pub fn spec(&self) -> &RemoteSpec {
        &self.spec
    }
}

fn role(r: ChatRole) -> &'static str {
    match r {
        ChatRole::System => "system",
        ChatRole::User => "user",
        ChatRole::Assistant => "assistant",
    }
}

impl Generator for RemoteChat {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn context_length(&self) -> usize {
        self.spec.context_length.unwrap_or(32768)
    }
    /// An estimate (the API has no tokenizer endpoint): about one token per Chinese character
    /// or per four other characters.
    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        let (cjk, other) =
            text.chars()
                .fold((0usize, 0usize), |(c, o), ch| if (ch as u32) >= 0x2E80 { (c + 1, o) } else { (c, o + 1) });
        Ok(cjk + other.div_ceil(4))
    }
    fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, ModelError> {
        let t0 = Instant::now();
        let msgs: Vec<serde_json::Value> =
            messages.iter().map(|m| serde_json::json!({"role": role(m.role), "content": m.content})).collect();
        let mut body = serde_json::json!({
            "model": self.spec.model,
            "messages": msgs,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature.max(0.0),
            "seed": params.seed,
        });
        if let Some(p) = params.top_p {
            body["top_p"] = p.into();
        }
        if !params.stop.is_empty() {
            body["stop"] = serde_json::json!(params.stop.iter().take(4).collect::<Vec<_>>());
        }
        let client = client(&self.spec)?;
        let r = request(&self.spec, &client, "/chat/completions", &body)?;
        let mut text = String::new();
        let mut finish = FinishReason::Stop;
        let mut first: Option<f64> = None;
        let (mut prompt_tokens, mut completion_tokens) = (0usize, 0usize);
        let mut pieces = 0usize;
        let cancelled = || params.cancel.as_ref().is_some_and(|c| c.is_cancelled());
        for line in BufReader::new(r).lines() {
            if cancelled() {
                // dropping the response closes the connection: the server stops generating
                finish = FinishReason::Cancelled;
                break;
            }
            let line = line.map_err(|e| backend(&self.spec, format!("reading the stream: {e}")))?;
            let Some(data) = line.strip_prefix("data:").map(str::trim) else { continue };
            if data == "[DONE]" {
                break;
            }
            let v: serde_json::Value = serde_json::from_str(data)
                .map_err(|e| backend(&self.spec, format!("bad stream chunk ({e}): {data}")))?;
            if v.get("error").is_some_and(|e| !e.is_null()) {
                return Err(backend(&self.spec, v["error"]["message"].as_str().unwrap_or("error in stream")));
            }
            if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                prompt_tokens = u["prompt_tokens"].as_u64().unwrap_or(0) as usize;
                completion_tokens = u["completion_tokens"].as_u64().unwrap_or(0) as usize;
            }
            let Some(choice) = v["choices"].get(0) else { continue };
            if let Some(piece) = choice["delta"]["content"].as_str().filter(|s| !s.is_empty()) {
                first.get_or_insert_with(|| t0.elapsed().as_secs_f64() * 1000.0);
                text.push_str(piece);
                pieces += 1;
                if on_token(piece).is_break() {
                    finish = FinishReason::Cancelled;
                    break;
                }
            }
            if choice["finish_reason"].as_str() == Some("length") {
                finish = FinishReason::Length;
            }
        }
        let total = t0.elapsed().as_secs_f64() * 1000.0;
        let prefill = first.unwrap_or(total);
        Ok(Generation {
            text,
            stats: GenStats {
                prompt_tokens,
                cached_tokens: 0,
                generated_tokens: if completion_tokens > 0 { completion_tokens } else { pieces },
                prefill_ms: prefill,
                decode_ms: total - prefill,
                finish,
            },
        })
    }
}

/// An embedding model on an OpenAI-compatible server (a client per request, as [`RemoteChat`]).
pub struct RemoteEmbedder {
    spec: RemoteSpec,
    dim: usize,
}

impl RemoteEmbedder {
    /// Connects and asks for one embedding to learn the dimension.
    pub fn new(spec: RemoteSpec) -> Result<Self, ModelError> {
        let mut e = Self { spec, dim: 0 };
        e.dim = e.embed(&["ping"], EmbedKind::Query)?.first().map(Vec::len).unwrap_or(0);
        if e.dim == 0 {
            return Err(backend(&e.spec, "returned an empty embedding"));
        }
        Ok(e)
    }
}

impl Embedder for RemoteEmbedder {
    fn name(&self) -> &str {
        &self.spec.name
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>, ModelError> {
        // e5 models expect their prefixes; other models get the text as it is
        let prefix = if self.spec.model.to_lowercase().contains("e5") {
            if kind == EmbedKind::Query {
                "query: "
            } else {
                "passage: "
            }
        } else {
            ""
        };
        let input: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        let body = serde_json::json!({"model": self.spec.model, "input": input});
        let client = client(&self.spec)?;
        let r = request(&self.spec, &client, "/embeddings", &body)?;
        let v: serde_json::Value = r.json().map_err(|e| backend(&self.spec, format!("bad embeddings answer: {e}")))?;
        let mut data: Vec<(usize, Vec<f32>)> = v["data"]
            .as_array()
            .ok_or_else(|| backend(&self.spec, "embeddings answer without data"))?
            .iter()
            .map(|d| {
                let idx = d["index"].as_u64().unwrap_or(0) as usize;
                let emb = d["embedding"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect())
                    .unwrap_or_default();
                (idx, emb)
            })
            .collect();
        data.sort_by_key(|d| d.0);
        if data.len() != texts.len() {
            return Err(backend(&self.spec, format!("{} embeddings for {} inputs", data.len(), texts.len())));
        }
        if self.dim > 0 {
            if let Some((_, bad)) = data.iter().find(|(_, e)| e.len() != self.dim) {
                return Err(backend(
                    &self.spec,
                    format!("embedding of dimension {} instead of {}", bad.len(), self.dim),
                ));
            }
        }
        Ok(data.into_iter().map(|(_, e)| e).collect())
    }
}
