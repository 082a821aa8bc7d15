//! The remote backends against an in-process fake OpenAI-compatible server (axum on a loopback
//! port): streaming, stop and length, cancellation (the server sees the client leave), timeouts,
//! error mapping, the API key from the environment, embeddings and their dimension.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use lodestar_core::{CancelToken, ChatMessage, EmbedKind, Embedder, FinishReason, GenParams, Generator, ModelError};
use lodestar_remote::{RemoteChat, RemoteEmbedder, RemoteSpec};
use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Seen {
    /// The last request body.
    body: Mutex<serde_json::Value>,
    auth: Mutex<Option<String>>,
    /// The server noticed the client went away mid-stream.
    client_left: AtomicBool,
}

struct LeaveGuard(Arc<Seen>, bool);
impl Drop for LeaveGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.client_left.store(true, Ordering::SeqCst);
        }
    }
}

async fn chat(State(seen): State<Arc<Seen>>, headers: HeaderMap, Json(body): Json<serde_json::Value>) -> Response {
    *seen.body.lock().unwrap() = body.clone();
    *seen.auth.lock().unwrap() = headers.get("authorization").and_then(|v| v.to_str().ok()).map(String::from);
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string();
    match last.as_str() {
        "too long" => {
            return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error": {"message": "maximum context length is 4096 tokens", "code": "context_length_exceeded"}}))).into_response()
        }
        "boom" => return (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({"error": {"message": "CUDA out of memory"}}))).into_response(),
        "slow" => tokio::time::sleep(Duration::from_secs(3)).await,
        _ => {}
    }
    let (pieces, delay): (Vec<String>, u64) = if last == "many" {
        ((0..200).map(|i| format!("p{i} ")).collect(), 20)
    } else {
        (["你好", "，", "世界"].iter().map(|s| s.to_string()).collect(), 5)
    };
    let max = body["max_tokens"].as_u64().unwrap_or(100) as usize;
    let finish = if max < pieces.len() { "length" } else { "stop" };
    let pieces: Vec<String> = pieces.into_iter().take(max).collect();
    let n = pieces.len();
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        serde_json::json!({"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
    };
    let mut events = vec![chunk(serde_json::json!({"role": "assistant", "content": ""}), None)];
    events.extend(pieces.iter().map(|p| chunk(serde_json::json!({"content": p}), None)));
    events.push(chunk(serde_json::json!({}), Some(finish)));
    events.push(serde_json::json!({"id": "x", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": n, "total_tokens": 7 + n}}).to_string());
    events.push("[DONE]".into());
    let total = events.len();
    let stream = futures_stream(events, delay, LeaveGuard(seen.clone(), false), total);
    Sse::new(stream).into_response()
}

fn futures_stream(
    events: Vec<String>,
    delay: u64,
    guard: LeaveGuard,
    total: usize,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold((events.into_iter(), guard, 0usize), move |(mut it, mut guard, i)| async move {
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let e = it.next()?;
        if i + 1 == total {
            guard.1 = true; // sent everything: not a disconnect
        }
        Some((Ok::<_, Infallible>(Event::default().data(e)), (it, guard, i + 1)))
    })
}

async fn embeddings(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    let inputs: Vec<String> =
        body["input"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    let data: Vec<serde_json::Value> = inputs
        .iter()
        .enumerate()
        .rev() // out of order on purpose: the client sorts by index
        .map(|(i, t)| serde_json::json!({"object": "embedding", "index": i, "embedding": [t.len() as f32, if t.starts_with("query: ") { 1.0 } else { 0.0 }, 0.5]}))
        .collect();
    Json(serde_json::json!({"object": "list", "data": data, "model": body["model"]}))
}

async fn start() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen)
}

fn gen(
    g: Arc<RemoteChat>,
    text: &'static str,
    params: GenParams,
) -> tokio::task::JoinHandle<(Result<lodestar_core::Generation, ModelError>, Vec<String>)> {
    tokio::task::spawn_blocking(move || {
        let mut pieces = Vec::new();
        let r = g.generate(&[ChatMessage::system("s"), ChatMessage::user(text)], &params, &mut |p| {
            pieces.push(p.to_string());
            ControlFlow::Continue(())
        });
        (r, pieces)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_stops_cancels_and_maps_errors() {
    let (url, seen) = start().await;
    let mut spec = RemoteSpec::chat("gpu", &url, "qwen-7b");
    spec.api_key_env = Some("LODESTAR_TEST_REMOTE_KEY".into());
    std::env::set_var("LODESTAR_TEST_REMOTE_KEY", "sk-test-123");
    let g = Arc::new(RemoteChat::new(spec.clone()).unwrap());
    assert_eq!(g.name(), "gpu");

    // streaming, with the request's parameters passed on
    let params = GenParams {
        max_tokens: 50,
        temperature: 0.7,
        seed: 9,
        stop: vec!["<|im_end|>".into()],
        ..GenParams::default()
    };
    let (r, pieces) = gen(g.clone(), "hi", params).await.unwrap();
    let out = r.unwrap();
    assert_eq!(pieces, ["你好", "，", "世界"]);
    assert_eq!(out.text, "你好，世界");
    assert_eq!(out.stats.finish, FinishReason::Stop);
    assert_eq!((out.stats.prompt_tokens, out.stats.generated_tokens), (7, 3));
    let body = seen.body.lock().unwrap().clone();
    assert_eq!(
        (body["model"].as_str(), body["max_tokens"].as_u64(), body["seed"].as_u64()),
        (Some("qwen-7b"), Some(50), Some(9))
    );
    assert_eq!(body["stop"], serde_json::json!(["<|im_end|>"]));
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(seen.auth.lock().unwrap().as_deref(), Some("Bearer sk-test-123"));

    // max tokens → length
    let (r, _) = gen(g.clone(), "hi", GenParams { max_tokens: 2, ..GenParams::default() }).await.unwrap();
    assert_eq!(r.unwrap().stats.finish, FinishReason::Length);

    // cancellation: the client stops reading and the server sees it leave
    let cancel = CancelToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.cancel();
    });
    let (r, pieces) =
        gen(g.clone(), "many", GenParams { max_tokens: 500, cancel: Some(cancel), ..GenParams::default() })
            .await
            .unwrap();
    let out = r.unwrap();
    assert_eq!(out.stats.finish, FinishReason::Cancelled);
    assert!(pieces.len() < 100, "{} pieces after cancel", pieces.len());
    let t = std::time::Instant::now();
    while !seen.client_left.load(Ordering::SeqCst) {
        assert!(t.elapsed() < Duration::from_secs(5), "the server never saw the client leave");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // errors: context length, a 5xx naming the server, a timeout, nobody listening, no key
    let (r, _) = gen(g.clone(), "too long", GenParams::default()).await.unwrap();
    assert!(matches!(r, Err(ModelError::ContextLength { .. })), "{r:?}");
    let (r, _) = gen(g.clone(), "boom", GenParams::default()).await.unwrap();
    let e = r.unwrap_err().to_string();
    assert!(e.contains("gpu") && e.contains(&url) && e.contains("500") && e.contains("CUDA out of memory"), "{e}");
    let mut quick = spec.clone();
    quick.timeout_secs = Some(1);
    let (r, _) = gen(Arc::new(RemoteChat::new(quick).unwrap()), "slow", GenParams::default()).await.unwrap();
    assert!(r.unwrap_err().to_string().contains("timed out"));
    let dead = RemoteSpec::chat("dead", "http://127.0.0.1:9", "m");
    let (r, _) = gen(Arc::new(RemoteChat::new(dead).unwrap()), "hi", GenParams::default()).await.unwrap();
    let e = r.unwrap_err().to_string();
    assert!(e.contains("dead") && e.contains("cannot connect"), "{e}");
    let mut nokey = spec.clone();
    nokey.api_key_env = Some("LODESTAR_TEST_REMOTE_KEY_UNSET".into());
    let (r, _) = gen(Arc::new(RemoteChat::new(nokey).unwrap()), "hi", GenParams::default()).await.unwrap();
    let e = r.unwrap_err().to_string();
    assert!(e.contains("LODESTAR_TEST_REMOTE_KEY_UNSET") && !e.contains("sk-test-123"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_in_order_with_their_dimension() {
    let (url, _) = start().await;
    let spec = lodestar_remote::RemoteSpec {
        role: lodestar_remote::RemoteRole::Embed,
        ..RemoteSpec::chat("emb", &url, "multilingual-e5-large")
    };
    let e = tokio::task::spawn_blocking(move || {
        let e = RemoteEmbedder::new(spec).unwrap();
        let v = e.embed(&["ab", "abcd"], EmbedKind::Passage).unwrap();
        let q = e.embed(&["ab"], EmbedKind::Query).unwrap();
        (e.dim(), v, q)
    })
    .await
    .unwrap();
    assert_eq!(e.0, 3);
    // "passage: ab" is 11 bytes, "passage: abcd" 13: in input order although the server answered reversed
    assert_eq!(e.1, vec![vec![11.0, 0.0, 0.5], vec![13.0, 0.0, 0.5]]);
    assert_eq!(e.2, vec![vec![9.0, 1.0, 0.5]]);
}

#[test]
fn registry_round_trip_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = lodestar_remote::Registry::load(dir.path()).unwrap();
    assert!(r.models.is_empty());
    let mut spec = RemoteSpec::chat("gpu", "http://10.1.2.3:8000/v1/", "qwen");
    spec.api_key_env = Some("GPU_KEY".into());
    r.add(spec).unwrap();
    assert!(r.add(RemoteSpec::chat("x", "ftp://h", "m")).is_err());
    let mut bad = RemoteSpec::chat("y", "http://h/v1", "m");
    bad.api_key_env = Some("sk-123 secret".into());
    assert!(r.add(bad).is_err(), "a key pasted instead of a variable name is refused");
    r.save(dir.path()).unwrap();
    let text = std::fs::read_to_string(lodestar_remote::Registry::path(dir.path())).unwrap();
    assert!(text.contains("GPU_KEY") && text.contains("http://10.1.2.3:8000/v1\""), "{text}");
    let mut back = lodestar_remote::Registry::load(dir.path()).unwrap();
    assert_eq!(back.get("gpu").unwrap().model, "qwen");
    assert!(back.remove("gpu") && !back.remove("gpu"));
}
