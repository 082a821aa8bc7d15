//! `POST /api/ask`: one question through the same `Assistant::ask` the CLI uses, as the logged-in
//! user, streamed as Server-Sent Events (or answered as one JSON), stored in a conversation and
//! audited. `POST /api/ask/{message_id}/cancel` is the stop button.

use crate::auth::Auth;
use crate::error::ApiError;
use crate::queue::QueueFull;
use crate::{db, render, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use lodestar_core::{CancelToken, Principal};
use lodestar_rag::{AskOptions, RouteKind, Router};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 2000;
/// Keep-alive comment interval of a stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Body of `POST /api/ask`.
#[derive(Debug, Deserialize)]
pub struct AskBody {
    /// The question.
    pub question: String,
    /// As-of date of the answer, `YYYY-MM-DD` (absent: figures as of the latest month with data).
    #[serde(default)]
    pub as_of: Option<String>,
    /// Continue this conversation (its scope carries over); absent = start a new one.
    #[serde(default)]
    pub conversation_id: Option<i64>,
    /// `lodestar` or the loaded chat model's name; another name is refused.
    #[serde(default)]
    pub model: Option<String>,
}

/// One event of an answer's stream.
#[derive(Debug)]
pub enum Event {
    /// `meta`: the conversation and the answer's message id (for stop and rating).
    Meta {
        /// The conversation the answer belongs to.
        conversation_id: i64,
        /// The answer's message id.
        message_id: i64,
    },
    /// `queued`: place in line for the model.
    Queued(usize),
    /// `token`: a piece of text as it is written.
    Token(String),
    /// `citations`: the citation list as in `ask --json`.
    Citations(serde_json::Value),
    /// `rendered`: the final answer as sanitized HTML.
    Rendered(String),
    /// `done`: the JSON of `lodestar ask --json` plus `conversation_id` and `message_id`.
    Done(serde_json::Value),
    /// `error`.
    Error(ApiError),
}

impl Event {
    fn into_sse(self) -> SseEvent {
        let (name, data) = match self {
            Event::Meta { conversation_id, message_id } => {
                ("meta", serde_json::json!({"conversation_id": conversation_id, "message_id": message_id}))
            }
            Event::Queued(p) => ("queued", serde_json::json!({"position": p})),
            Event::Token(t) => ("token", serde_json::json!({"text": t})),
            Event::Citations(c) => ("citations", c),
            Event::Rendered(h) => ("rendered", serde_json::json!({"html": h})),
            Event::Done(v) => ("done", v),
            Event::Error(e) => ("error", e.body()),
        };
        SseEvent::default().event(name).data(data.to_string())
    }
}

/// A running answer: who asked, and how to stop it.
#[derive(Debug, Clone)]
pub struct Running {
    /// The account that asked.
    pub user: String,
    /// Fires to stop the answer.
    pub cancel: CancelToken,
}

fn parse_as_of(s: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    s.filter(|s| !s.trim().is_empty())
        .map(|s| {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::bad_request("invalid_as_of", format!("as_of `{s}`: expected YYYY-MM-DD")))
        })
        .transpose()
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/event-stream"))
}

/// The scope a follow-up question inherits from the conversation's previous question.
#[derive(Debug, Clone, PartialEq)]
pub struct Inherited {
    /// The question as answered (the scope's names put before it).
    pub question: String,
    /// What was taken over, for the reader (`俄罗斯 · 全钢 · 2026年9月`).
    pub scope: String,
}

/// A metric follow-up (`同比呢？`, `那 8 月呢`) that names no country, customer or other scope, or
/// no period, is asked within the previous question's scope (and period). Knowledge questions stay
/// as they are.
pub fn inherit_scope(
    router: &Router<'_>,
    reference: lodestar_core::Month,
    previous: &str,
    question: &str,
) -> Option<Inherited> {
    let now = router.route(question, reference);
    let prev = router.route(previous, reference);
    if !matches!(now.kind, RouteKind::Metric | RouteKind::Mixed) {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    if now.filters.is_empty() {
        names.extend(prev.filters.iter().map(|f| f.name.clone()));
    }
    let now_explicit = now.period.is_some_and(|p| p.explicit);
    if !now_explicit {
        if let Some(p) = prev.period.filter(|p| p.explicit) {
            names.push(p.label());
        }
    }
    if names.is_empty() {
        return None;
    }
    Some(Inherited { question: format!("{} {}", names.join(" "), question.trim()), scope: names.join(" · ") })
}

/// The question the previous answer of a conversation was given for (its inherited form if any).
fn previous_question(store: &lodestar_store::Store, conversation_id: i64) -> Result<Option<String>, ApiError> {
    let msgs = db::messages(store, conversation_id)?;
    let mut last_user: Option<String> = None;
    let mut used: Option<String> = None;
    for m in msgs {
        match m.role.as_str() {
            "user" => {
                last_user = Some(m.content.clone());
                used = None;
            }
            _ => {
                used =
                    m.answer.as_ref().and_then(|a| a["scope_from_previous"]["question"].as_str().map(str::to_string));
            }
        }
    }
    Ok(used.or(last_user))
}

/// `POST /api/ask`.
pub async fn ask(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Json<AskBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let question = body.question.trim().to_string();
    if question.is_empty() {
        return Err(ApiError::bad_request("empty_question", "问题为空 (question is empty)"));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(ApiError::bad_request(
            "question_too_long",
            format!("问题过长（最多 {MAX_QUESTION_CHARS} 字）(question too long)"),
        ));
    }
    let as_of = parse_as_of(body.as_of.as_deref())?;
    if let Some(m) = body.model.as_deref().filter(|m| !m.is_empty() && *m != "lodestar") {
        let loaded = state.assistant.generator.as_ref().map(|g| g.name().to_string());
        if loaded.as_deref() != Some(m) {
            return Err(ApiError::bad_request(
                "model_not_found",
                format!("model `{m}` is not loaded by this server (loaded: {})", loaded.as_deref().unwrap_or("none")),
            ));
        }
    }
    let user = auth.user.name.clone();
    let principal = auth.principal();

    let reference = state.assistant.reference_month(as_of).map_err(|e| ApiError::internal(e.to_string()))?;
    let router = Router::new(&state.assistant.dicts);
    let (conversation_id, inherited, message_id, route) = {
        let store = state.store()?;
        let conversation_id = match body.conversation_id {
            Some(id) => {
                db::conversation(&store, &user, id)?
                    .ok_or_else(|| ApiError::not_found(format!("conversation {id}")))?;
                id
            }
            None => db::create_conversation(&store, &user, &title_of(&question))?,
        };
        let inherited = match body.conversation_id {
            Some(id) => previous_question(&store, id)?.and_then(|p| inherit_scope(&router, reference, &p, &question)),
            None => None,
        };
        let asked = inherited.as_ref().map(|i| i.question.as_str()).unwrap_or(&question);
        let route = router.route(asked, reference);
        db::add_message(&store, conversation_id, "user", &question, "done")?;
        let message_id = db::add_message(&store, conversation_id, "assistant", "", "pending")?;
        (conversation_id, inherited, message_id, route)
    };

    // Only answers that run the model wait in line; rule-engine answers never do.
    let waiter = if route.needs_knowledge() && state.assistant.generator.is_some() {
        match state.queue.enter() {
            Ok(w) => Some(w),
            Err(QueueFull) => {
                let store = state.store()?;
                let e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_busy",
                    "queue_full",
                    "排队人数已满，请稍后再试 (the model queue is full; retry later)",
                )
                .with_retry_after(10);
                db::finish_message(&store, message_id, "", &e.body(), "error")?;
                return Err(e);
            }
        }
    } else {
        None
    };

    let cancel = CancelToken::new();
    state.running_insert(message_id, Running { user: user.clone(), cancel: cancel.clone() });
    let (tx, rx) = mpsc::channel::<Event>(1024);
    let job = Job {
        state: state.clone(),
        principal,
        remote: auth.remote.clone(),
        question,
        inherited,
        as_of,
        conversation_id,
        message_id,
        cancel,
    };
    tokio::spawn(job.run(waiter, tx));

    if wants_stream(&headers) {
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|e| Ok::<_, Infallible>(e.into_sse()));
        let mut r = Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        r.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
        return Ok(r);
    }
    let mut rx = rx;
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Done(v) => return Ok(Json(v).into_response()),
            Event::Error(e) => return Err(e),
            _ => {}
        }
    }
    Err(ApiError::internal("the answer ended without a result"))
}

/// A conversation's title: the first question, shortened.
fn title_of(q: &str) -> String {
    let one_line: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 40 {
        one_line
    } else {
        format!("{}…", one_line.chars().take(40).collect::<String>())
    }
}

struct Job {
    state: Arc<AppState>,
    principal: Principal,
    remote: String,
    question: String,
    inherited: Option<Inherited>,
    as_of: Option<chrono::NaiveDate>,
    conversation_id: i64,
    message_id: i64,
    cancel: CancelToken,
}

impl Job {
    async fn run(self, waiter: Option<crate::queue::Waiter>, tx: mpsc::Sender<Event>) {
        // A dropped stream (the reader closed the page or pressed stop) cancels the work.
        let watcher = {
            let (tx, cancel) = (tx.clone(), self.cancel.clone());
            tokio::spawn(async move {
                tx.closed().await;
                cancel.cancel();
            })
        };
        let _ = tx.send(Event::Meta { conversation_id: self.conversation_id, message_id: self.message_id }).await;
        let slot = match waiter {
            Some(w) => {
                let txq = tx.clone();
                match w.wait(&self.cancel, |p| drop(txq.try_send(Event::Queued(p)))).await {
                    Some(s) => Some(s),
                    None => {
                        self.finish_cancelled_in_queue(&tx).await;
                        watcher.abort();
                        return;
                    }
                }
            }
            None => None,
        };
        let result = self.answer(&tx).await;
        drop(slot);
        match result {
            Ok(events) => {
                for e in events {
                    let _ = tx.send(e).await;
                }
            }
            Err(e) => {
                if let Ok(store) = self.state.store() {
                    let _ = db::finish_message(&store, self.message_id, "", &e.body(), "error");
                }
                let _ = tx.send(Event::Error(e)).await;
            }
        }
        self.state.running_remove(self.message_id);
        watcher.abort();
    }

    async fn finish_cancelled_in_queue(&self, tx: &mpsc::Sender<Event>) {
        self.state.running_remove(self.message_id);
        if let Ok(store) = self.state.store() {
            let v = serde_json::json!({"cancelled": true, "conversation_id": self.conversation_id, "message_id": self.message_id});
            let _ = db::finish_message(&store, self.message_id, "", &v, "cancelled");
            let _ = store.audit(
                &self.principal.name,
                "cancel",
                &serde_json::json!({"message_id": self.message_id, "while": "queued", "remote": self.remote}),
            );
            let _ = tx.send(Event::Done(v)).await;
        }
    }

    /// Runs the assistant on a blocking thread, streaming its text; returns the closing events.
    async fn answer(&self, tx: &mpsc::Sender<Event>) -> Result<Vec<Event>, ApiError> {
        let assistant = self.state.assistant.clone();
        let asked = self.inherited.as_ref().map(|i| i.question.clone()).unwrap_or_else(|| self.question.clone());
        let opts = AskOptions {
            principal: self.principal.clone(),
            as_of: self.as_of,
            prompt_budget: self.state.opts.prompt_budget,
            cancel: Some(self.cancel.clone()),
            ..AskOptions::default()
        };
        let scope_note = self.inherited.as_ref().map(|i| format!("（沿用上一问的范围：{}）\n\n", i.scope));
        if let Some(n) = &scope_note {
            let _ = tx.send(Event::Token(n.clone())).await;
        }
        let (txb, cancel) = (tx.clone(), self.cancel.clone());
        let ans = tokio::task::spawn_blocking(move || {
            assistant.ask_streaming(&asked, &opts, &mut |piece| {
                if !piece.is_empty() && txb.blocking_send(Event::Token(piece.to_string())).is_err() {
                    cancel.cancel();
                }
            })
        })
        .await
        .map_err(|e| ApiError::internal(format!("answer task failed: {e}")))?
        .map_err(|e| ApiError::internal(e.to_string()))?;

        self.state.observe_ttft(ans.ttft_ms);
        if let Some(g) = &ans.gen_stats {
            self.state.tokens_generated.fetch_add(g.generated_tokens as u64, std::sync::atomic::Ordering::Relaxed);
        }
        let cancelled = self.cancel.is_cancelled();
        let mut v = serde_json::to_value(&ans).map_err(|e| ApiError::internal(e.to_string()))?;
        let mut text = ans.answer.clone();
        if let Some(n) = &scope_note {
            text = format!("{n}{text}");
            v["answer"] = serde_json::Value::String(text.clone());
        }
        if let Some(o) = v.as_object_mut() {
            for w in &self.state.opts.notes {
                if let Some(serde_json::Value::Array(ws)) = o.get_mut("warnings") {
                    ws.push(serde_json::Value::String(w.clone()));
                }
            }
            o.insert("conversation_id".into(), self.conversation_id.into());
            o.insert("message_id".into(), self.message_id.into());
            if cancelled {
                o.insert("cancelled".into(), true.into());
            }
            if let Some(i) = &self.inherited {
                o.insert("scope_from_previous".into(), serde_json::json!({"scope": i.scope, "question": i.question}));
            }
        }
        let store = self.state.store()?;
        db::finish_message(&store, self.message_id, &text, &v, if cancelled { "cancelled" } else { "done" })?;
        let mut extra = serde_json::Map::new();
        extra.insert("remote".into(), self.remote.clone().into());
        extra.insert("conversation_id".into(), self.conversation_id.into());
        extra.insert("message_id".into(), self.message_id.into());
        extra.insert("cancelled".into(), cancelled.into());
        lodestar_rag::audit_with(&store, &self.principal, &self.question, &ans, extra)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        if cancelled {
            store.audit(
                &self.principal.name,
                "cancel",
                &serde_json::json!({"message_id": self.message_id, "while": "generating", "remote": self.remote}),
            )?;
        }
        let citations = v["citations"].clone();
        Ok(vec![Event::Citations(citations), Event::Rendered(render::markdown_to_html(&text)), Event::Done(v)])
    }
}

/// `POST /api/ask/{message_id}/cancel`: stops an answer of the caller's.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(message_id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match state.running_get(message_id) {
        Some(r) if r.user == auth.user.name => {
            r.cancel.cancel();
            Ok(Json(serde_json::json!({"message_id": message_id, "cancelled": true})))
        }
        _ => Err(ApiError::not_found(format!("no running answer {message_id}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_inherit_the_previous_scope() {
        let dicts = lodestar_dict::Dictionaries::builtin().unwrap();
        let router = Router::new(&dicts);
        let m = lodestar_core::Month::new(2026, 10).unwrap();
        let prev = "俄罗斯 2026年9月全钢达成率多少？";
        let i = inherit_scope(&router, m, prev, "同比呢？").expect("a bare follow-up inherits");
        let r = router.route(&i.question, m);
        assert!(r.filter(lodestar_rag::source::Dim::Country).is_some_and(|f| f.code == "RU"), "{i:?}");
        assert!(r.period.is_some_and(|p| p.explicit && p.period.to_string() == "2026-09"), "{i:?}");
        assert!(i.scope.contains("俄罗斯") && i.scope.contains("2026年9月"), "{i:?}");
        // a question with its own scope or period keeps it
        assert!(inherit_scope(&router, m, prev, "哈萨克斯坦 2026年9月全钢达成率多少？").is_none());
        let i = inherit_scope(&router, m, prev, "8月同比呢？").expect("period named, scope inherited");
        assert!(!i.scope.contains("2026年9月"), "{i:?}");
        // a standalone knowledge question is not narrowed by an earlier metric scope
        assert!(inherit_scope(&router, m, prev, "全钢胎质保期是多久？").is_none());
        assert!(inherit_scope(&router, m, prev, "质保政策有哪些规定？").is_none());
    }
}
