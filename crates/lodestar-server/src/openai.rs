//! The OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`, `/v1/embeddings`) for tools
//! that speak it (Open WebUI, Dify, scripts with the `openai` package). `Authorization: Bearer
//! KEY` (`lodestar user key create`) acts as that user. Model id `lodestar` is the grounded
//! assistant — the same `Assistant::ask` as the chat, permission-filtered, with its citations in
//! an extra top-level field `lodestar`; a plain model id is ordinary chat with that model (admins
//! and ops only: it bypasses grounding).

use crate::auth::{remote_of, Auth};
use crate::error::ApiError;
use crate::queue::QueueFull;
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use lodestar_core::{CancelToken, ChatMessage, ChatRole, EmbedKind, FinishReason, GenParams, ModelError, Role};
use lodestar_rag::{AskOptions, Router};
use serde::Deserialize;
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The grounded assistant's model id.
pub const LODESTAR_MODEL: &str = "lodestar";

/// A request authenticated by an API key (OpenAI error shapes when it is not).
pub struct KeyAuth(pub Auth);

fn invalid_key(msg: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_request_error", "invalid_api_key", msg)
}

/// The key of `Authorization: Bearer KEY`.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty()).then(|| key.trim().to_string())
}

impl FromRequestParts<Arc<AppState>> for KeyAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let Some(key) = bearer(&parts.headers) else {
            return Err(invalid_key("You didn't provide an API key (Authorization: Bearer KEY; create one with `lodestar user key create NAME`)."));
        };
        let user = state.store()?.user_of_api_key(&key)?.ok_or_else(|| invalid_key("Incorrect API key provided."))?;
        Ok(KeyAuth(Auth { user, csrf_token: String::new(), remote: remote_of(&parts.extensions) }))
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `GET /v1/models`.
pub async fn models(State(state): State<Arc<AppState>>, _k: KeyAuth) -> Json<serde_json::Value> {
    let created = state.started_unix;
    let mut ids = vec![LODESTAR_MODEL.to_string()];
    if let Some(g) = &state.assistant.generator {
        ids.push(g.name().to_string());
    }
    if let Some(e) = &state.embedder {
        ids.push(e.name().to_string());
    }
    let data: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"id": id, "object": "model", "created": created, "owned_by": "lodestar"}))
        .collect();
    Json(serde_json::json!({"object": "list", "data": data}))
}

/// One chat message of a `/v1/chat/completions` request.
#[derive(Debug, Deserialize)]
pub struct Msg {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// A string, or an array of content parts (their text parts are used).
    #[serde(default)]
    pub content: serde_json::Value,
}

/// `stream_options` of a chat request.
#[derive(Debug, Deserialize, Default)]
pub struct StreamOptions {
    /// Send a last chunk with the token usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// Body of `POST /v1/chat/completions` (the OpenAI fields lodestar honours).
#[derive(Debug, Deserialize)]
pub struct ChatBody {
    /// `lodestar` (grounded answers through the assistant) or the name of the loaded chat model.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Msg>,
    /// Answer as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Most tokens to generate (older name of `max_completion_tokens`).
    pub max_tokens: Option<usize>,
    /// Most tokens to generate (default 512).
    pub max_completion_tokens: Option<usize>,
    /// Sampling temperature (default 0: greedy).
    pub temperature: Option<f64>,
    /// Nucleus sampling threshold.
    pub top_p: Option<f64>,
    /// A stop string or an array of them.
    #[serde(default)]
    pub stop: Option<serde_json::Value>,
    /// Sampling seed (default 42).
    pub seed: Option<u64>,
}

/// A message's text: a string, or the text parts of a content array.
fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => {
            parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

/// What a completion produced, piece by piece.
enum Piece {
    Text(String),
    Done {
        text: String,
        finish: &'static str,
        prompt_tokens: usize,
        completion_tokens: usize,
        extra: Option<serde_json::Value>,
    },
    Error(ApiError),
}

fn model_error(e: &ModelError) -> ApiError {
    match e {
        ModelError::ContextLength { .. } => ApiError::bad_request("context_length_exceeded", e.to_string()),
        _ => ApiError::internal(e.to_string()),
    }
}

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    KeyAuth(auth): KeyAuth,
    body: Result<Json<ChatBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    if body.messages.is_empty() {
        return Err(ApiError::bad_request("invalid_messages", "messages must not be empty"));
    }
    let grounded = body.model == LODESTAR_MODEL;
    let loaded = state.assistant.generator.as_ref().map(|g| g.name().to_string());
    if !grounded {
        if loaded.as_deref() != Some(body.model.as_str()) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "model_not_found",
                format!(
                    "The model `{}` does not exist or is not loaded (available: lodestar{})",
                    body.model,
                    loaded.map(|l| format!(", {l}")).unwrap_or_default()
                ),
            ));
        }
        if !matches!(auth.user.role, Role::Admin | Role::Ops) {
            return Err(ApiError::forbidden(
                "model_not_permitted",
                "raw models bypass grounding and permissions: only admin and ops keys may use them (use model `lodestar`)",
            ));
        }
    }
    let principal = auth.principal();
    let messages: Vec<(String, String)> = body.messages.iter().map(|m| (m.role.clone(), text_of(&m.content))).collect();
    let Some(question) = messages.iter().rev().find(|(r, _)| r == "user").map(|(_, t)| t.trim().to_string()) else {
        return Err(ApiError::bad_request("invalid_messages", "no user message"));
    };
    if question.is_empty() {
        return Err(ApiError::bad_request("invalid_messages", "the last user message is empty"));
    }

    // Does it need the model (and so a place in line)?
    let needs_model = if grounded {
        let reference = state.assistant.reference_month(None).map_err(|e| ApiError::internal(e.to_string()))?;
        Router::new(&state.assistant.dicts).route(&question, reference).needs_knowledge()
            && state.assistant.generator.is_some()
    } else {
        true
    };
    let waiter = if needs_model {
        Some(state.queue.enter().map_err(|QueueFull| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "queue_full",
                "the model queue is full; retry later",
            )
            .with_retry_after(10)
        })?)
    } else {
        None
    };

    let id = format!("chatcmpl-{}", lodestar_store::accounts::random_token(12));
    let model = body.model.clone();
    let cancel = CancelToken::new();
    let (tx, mut rx) = mpsc::channel::<Piece>(1024);
    let st = state.clone();
    let remote = auth.remote.clone();
    let params = GenParams {
        max_tokens: body.max_completion_tokens.or(body.max_tokens).unwrap_or(512),
        temperature: body.temperature.unwrap_or(0.0),
        top_p: body.top_p,
        seed: body.seed.unwrap_or(42),
        stop: match &body.stop {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
            _ => Vec::new(),
        },
        cancel: Some(cancel.clone()),
        ..GenParams::default()
    };
    let c2 = cancel.clone();
    tokio::spawn(async move {
        // a client that goes away cancels, also while still queued
        let watcher = {
            let (tx, cancel) = (tx.clone(), c2.clone());
            tokio::spawn(async move {
                tx.closed().await;
                cancel.cancel();
            })
        };
        let slot = match waiter {
            Some(w) => match w.wait(&c2, |_| {}).await {
                Some(s) => Some(s),
                None => {
                    watcher.abort();
                    return;
                }
            },
            None => None,
        };
        let txb = tx.clone();
        let cb = c2.clone();
        let st2 = st.clone();
        let res = tokio::task::spawn_blocking(move || -> Piece {
            let send = |t: &str| {
                if !t.is_empty() && txb.blocking_send(Piece::Text(t.to_string())).is_err() {
                    cb.cancel();
                }
            };
            if grounded {
                // earlier turns give a follow-up its scope
                let previous = messages.iter().rev().filter(|(r, _)| r == "user").nth(1).map(|(_, t)| t.clone());
                let reference = st2.assistant.reference_month(None).ok();
                let inherited = match (previous, reference) {
                    (Some(p), Some(m)) => crate::ask::inherit_scope(&Router::new(&st2.assistant.dicts), m, &p, &question),
                    _ => None,
                };
                let asked = inherited.as_ref().map(|i| i.question.clone()).unwrap_or_else(|| question.clone());
                let opts = AskOptions { principal: principal.clone(), cancel: Some(cb.clone()), ..AskOptions::default() };
                match st2.assistant.ask_streaming(&asked, &opts, &mut |p| send(p)) {
                    Ok(ans) => {
                        st2.observe_ttft(ans.ttft_ms);
                        if let Ok(store) = st2.store() {
                            let mut extra = serde_json::Map::new();
                            extra.insert("remote".into(), remote.clone().into());
                            extra.insert("api".into(), "openai".into());
                            let _ = lodestar_rag::audit_with(&store, &principal, &question, &ans, extra);
                        }
                        let (pt, ct) = ans.gen_stats.as_ref().map(|s| (s.prompt_tokens, s.generated_tokens)).unwrap_or((0, 0));
                        let finish = match ans.gen_stats.as_ref().map(|s| s.finish) {
                            Some(FinishReason::Length) => "length",
                            _ => "stop",
                        };
                        let extra = serde_json::json!({
                            "citations": ans.citations, "route": ans.route, "warnings": ans.warnings, "needs_review": ans.needs_review,
                            "scope_from_previous": inherited.as_ref().map(|i| serde_json::json!({"scope": i.scope, "question": i.question})),
                        });
                        Piece::Done { text: ans.answer, finish, prompt_tokens: pt, completion_tokens: ct, extra: Some(extra) }
                    }
                    Err(e) => Piece::Error(ApiError::internal(e.to_string())),
                }
            } else {
                let Some(g) = st2.assistant.generator.clone() else { return Piece::Error(ApiError::internal("no model")) };
                let msgs: Vec<ChatMessage> = messages
                    .iter()
                    .map(|(r, t)| ChatMessage {
                        role: match r.as_str() {
                            "system" | "developer" => ChatRole::System,
                            "assistant" => ChatRole::Assistant,
                            _ => ChatRole::User,
                        },
                        content: t.clone(),
                    })
                    .collect();
                let t0 = std::time::Instant::now();
                let mut first: Option<f64> = None;
                let r = g.generate(&msgs, &params, &mut |p| {
                    if first.is_none() {
                        first = Some(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    send(p);
                    ControlFlow::Continue(())
                });
                st2.observe_ttft(first);
                if let Ok(store) = st2.store() {
                    let _ = store.audit(&principal.name, "completion", &serde_json::json!({"model": g.name(), "remote": remote, "ok": r.is_ok()}));
                }
                match r {
                    Ok(gen) => Piece::Done {
                        text: gen.text,
                        finish: if gen.stats.finish == FinishReason::Length { "length" } else { "stop" },
                        prompt_tokens: gen.stats.prompt_tokens,
                        completion_tokens: gen.stats.generated_tokens,
                        extra: None,
                    },
                    Err(e) => Piece::Error(model_error(&e)),
                }
            }
        })
        .await
        .unwrap_or_else(|e| Piece::Error(ApiError::internal(e.to_string())));
        drop(slot);
        if let Piece::Done { completion_tokens, .. } = &res {
            st.tokens_generated.fetch_add(*completion_tokens as u64, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = tx.send(res).await;
        watcher.abort();
    });

    let created = unix_now();
    if body.stream {
        let include_usage = body.stream_options.is_some_and(|o| o.include_usage);
        let chunk = {
            let (id, model) = (id.clone(), model.clone());
            move |delta: serde_json::Value, finish: Option<&str>| {
                serde_json::json!({
                    "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                })
            }
        };
        let stream = async_stream_of(rx, chunk, id.clone(), model.clone(), created, include_usage);
        let mut r = Sse::new(stream).keep_alive(KeepAlive::new().interval(crate::ask::KEEP_ALIVE)).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
        return Ok(r);
    }
    while let Some(p) = rx.recv().await {
        match p {
            Piece::Text(_) => {}
            Piece::Done { text, finish, prompt_tokens, completion_tokens, extra } => {
                let mut v = serde_json::json!({
                    "id": id, "object": "chat.completion", "created": created, "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
                });
                if let Some(x) = extra {
                    v["lodestar"] = x;
                }
                return Ok(Json(v).into_response());
            }
            Piece::Error(e) => return Err(e),
        }
    }
    Err(ApiError::internal("the completion ended without a result"))
}

/// The SSE stream of a completion: a first chunk with the role, content chunks, a last chunk
/// with `finish_reason` (and the `lodestar` field), optionally a usage chunk, then `[DONE]`.
fn async_stream_of(
    rx: mpsc::Receiver<Piece>,
    chunk: impl Fn(serde_json::Value, Option<&str>) -> serde_json::Value + Send + 'static,
    id: String,
    model: String,
    created: i64,
    include_usage: bool,
) -> impl futures_util::Stream<Item = Result<SseEvent, Infallible>> {
    let first = chunk(serde_json::json!({"role": "assistant", "content": ""}), None);
    let head = futures_util::stream::iter([Ok(SseEvent::default().data(first.to_string()))]);
    let body = tokio_stream::wrappers::ReceiverStream::new(rx).flat_map(move |p| {
        let mut out: Vec<Result<SseEvent, Infallible>> = Vec::new();
        match p {
            Piece::Text(t) => out.push(Ok(SseEvent::default().data(chunk(serde_json::json!({"content": t}), None).to_string()))),
            Piece::Done { finish, prompt_tokens, completion_tokens, extra, .. } => {
                let mut last = chunk(serde_json::json!({}), Some(finish));
                if let Some(x) = extra {
                    last["lodestar"] = x;
                }
                out.push(Ok(SseEvent::default().data(last.to_string())));
                if include_usage {
                    let u = serde_json::json!({
                        "id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
                        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
                    });
                    out.push(Ok(SseEvent::default().data(u.to_string())));
                }
                out.push(Ok(SseEvent::default().data("[DONE]")));
            }
            Piece::Error(e) => {
                out.push(Ok(SseEvent::default().data(e.body().to_string())));
                out.push(Ok(SseEvent::default().data("[DONE]")));
            }
        }
        futures_util::stream::iter(out)
    });
    head.chain(body)
}

/// Body of `POST /v1/embeddings`.
#[derive(Debug, Deserialize)]
pub struct EmbedBody {
    /// The embedding model's name (or `e5-small`); absent = the loaded one.
    #[serde(default)]
    pub model: Option<String>,
    /// A string or an array of up to 256 strings.
    pub input: serde_json::Value,
    /// Extension: `query` or `passage` (default `passage`); a text that starts with `query: ` or
    /// `passage: ` chooses for itself.
    #[serde(default)]
    pub input_type: Option<String>,
}

/// `POST /v1/embeddings`.
pub async fn embeddings(
    State(state): State<Arc<AppState>>,
    _k: KeyAuth,
    body: Result<Json<EmbedBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(b) = body?;
    let Some(e) = state.embedder.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            "no embedding model is loaded",
        ));
    };
    if let Some(m) = b.model.as_deref().filter(|m| *m != e.name() && *m != "e5-small") {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            format!("The model `{m}` does not exist (available: {})", e.name()),
        ));
    }
    let inputs: Vec<String> = match &b.input {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) if a.iter().all(|x| x.is_string()) && !a.is_empty() => {
            a.iter().filter_map(|x| x.as_str().map(String::from)).collect()
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_input",
                "input must be a string or a non-empty array of strings",
            ))
        }
    };
    if inputs.len() > 256 {
        return Err(ApiError::bad_request("too_many_inputs", "at most 256 inputs per request"));
    }
    let default_kind = if b.input_type.as_deref() == Some("query") { EmbedKind::Query } else { EmbedKind::Passage };
    let model_name = e.name().to_string();
    let vectors = tokio::task::spawn_blocking(move || -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = Vec::with_capacity(inputs.len());
        for text in &inputs {
            let (kind, t) = if let Some(rest) = text.strip_prefix("query: ") {
                (EmbedKind::Query, rest)
            } else if let Some(rest) = text.strip_prefix("passage: ") {
                (EmbedKind::Passage, rest)
            } else {
                (default_kind, text.as_str())
            };
            out.extend(e.embed(&[t], kind)?);
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| model_error(&e))?;
    let tokens: usize = 0;
    let data: Vec<serde_json::Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| serde_json::json!({"object": "embedding", "index": i, "embedding": v}))
        .collect();
    Ok(Json(
        serde_json::json!({"object": "list", "data": data, "model": model_name, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}),
    ))
}
