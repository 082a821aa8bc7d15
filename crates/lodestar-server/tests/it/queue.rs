use crate::support::*;
use axum::http::{header, StatusCode};
use lodestar_server::ServerOptions;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const Q: &str = "全钢胎质保期是多久？";
/// 200 pieces 20 ms apart: 4 s unless stopped.
fn slow_model() -> std::sync::Arc<FakeModel> {
    FakeModel::new(&"全钢胎质保期为 36 个月 [1]。".repeat(12), 20)
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn stop_button_frees_the_slot_for_the_next_in_line() {
    let model = slow_model();
    let h = harness(Some(model.clone()), ServerOptions { slots: 1, queue: 4, ..ServerOptions::default() });
    let a = h.login("li", "li-pass").await;
    let b = h.login("wang", "wang-pass").await;
    let mut sa = h.open_stream(&a, Q).await;
    let meta_a = sa.until("meta").await;
    sa.until("token").await;
    // b waits behind a and is told its place
    let mut sb = h.open_stream(&b, Q).await;
    sb.until("meta").await;
    let (name, data) = sb.next().await.unwrap();
    assert_eq!((name.as_str(), data["position"].as_u64()), ("queued", Some(1)));
    // a metric-style question (no model) does not wait behind the queue
    let t = Instant::now();
    let ev = h.ask_events(&b, serde_json::json!({"question": "俄罗斯 9 月全钢达成率多少？"})).await;
    assert_eq!(ev.last().unwrap().0, "done", "{ev:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "rule-engine answer waited {:?}", t.elapsed());

    // another user cannot stop a's answer; a can
    let id = meta_a["message_id"].as_i64().unwrap();
    let r = h.send(h.post(&b, &format!("/api/ask/{id}/cancel"), serde_json::json!({}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let t = Instant::now();
    let r = h.send(h.post(&a, &format!("/api/ask/{id}/cancel"), serde_json::json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let done_a = sa.until("done").await;
    assert_eq!(done_a["cancelled"], true);
    assert!(t.elapsed() < Duration::from_secs(1), "cancel took {:?}", t.elapsed());
    assert_eq!(model.cancelled.load(Ordering::SeqCst), 1);
    // b now runs to the end
    sb.until("token").await;
    let done_b = sb.until("done").await;
    assert!(done_b.get("cancelled").is_none(), "{done_b}");
    assert_eq!(model.calls.load(Ordering::SeqCst), 2);
    assert_eq!(h.state.queue.status().running, 0);

    // stored and audited as cancelled
    let r = h.send(h.get(&a, &format!("/api/conversations/{}", meta_a["conversation_id"]))).await;
    assert_eq!(r.json()["messages"][1]["status"], "cancelled");
    assert!(h.audit_actions().iter().any(|(u, act, d)| u == "li" && act == "cancel" && d["message_id"] == id));
}

#[tokio::test]
async fn a_dropped_stream_cancels_generation() {
    let model = slow_model();
    let h = harness(Some(model.clone()), ServerOptions::default());
    let a = h.login("li", "li-pass").await;
    let mut s = h.open_stream(&a, Q).await;
    s.until("token").await;
    drop(s);
    let m = model.clone();
    wait_until("the model to stop", move || m.cancelled.load(Ordering::SeqCst) == 1).await;
    let q = h.state.queue.clone();
    wait_until("the slot to be freed", move || q.status().running == 0).await;
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let model = slow_model();
    let h = harness(Some(model.clone()), ServerOptions { slots: 1, queue: 1, ..ServerOptions::default() });
    let a = h.login("li", "li-pass").await;
    let mut sa = h.open_stream(&a, Q).await;
    sa.until("token").await;
    let mut sb = h.open_stream(&a, Q).await;
    assert_eq!(sb.until("queued").await["position"], 1);
    let r = h.send(h.ask_stream_req(&a, serde_json::json!({"question": Q}))).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    assert_eq!(r.json()["error"]["code"], "queue_full");
    drop(sa);
    drop(sb);
}
