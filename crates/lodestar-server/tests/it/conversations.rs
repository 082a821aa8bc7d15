use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use lodestar_server::ServerOptions;

#[tokio::test]
async fn conversations_follow_ups_and_feedback_round_trip() {
    let model = FakeModel::new("全钢胎质保期为 36 个月 [1]。", 0);
    let h = harness(Some(model), ServerOptions::default());
    let li = h.login("li", "li-pass").await;
    let wang = h.login("wang", "wang-pass").await;

    let ev = h.ask_events(&li, serde_json::json!({"question": "全钢胎质保期是多久？"})).await;
    let done = ev.last().unwrap().1.clone();
    let conv = done["conversation_id"].as_i64().unwrap();
    let msg = done["message_id"].as_i64().unwrap();
    // a follow-up in the same conversation
    let ev2 = h.ask_events(&li, serde_json::json!({"question": "长途干线呢？", "conversation_id": conv})).await;
    assert_eq!(ev2.last().unwrap().1["conversation_id"], conv);

    let list = h.send(h.get(&li, "/api/conversations")).await.json();
    let convs = list["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0]["title"], "全钢胎质保期是多久？");
    assert!(h.send(h.get(&wang, "/api/conversations")).await.json()["conversations"].as_array().unwrap().is_empty());
    assert_eq!(h.send(h.get(&wang, &format!("/api/conversations/{conv}"))).await.status, StatusCode::NOT_FOUND);

    let c = h.send(h.get(&li, &format!("/api/conversations/{conv}"))).await.json();
    let msgs = c["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4);
    assert_eq!((msgs[0]["role"].as_str(), msgs[1]["role"].as_str()), (Some("user"), Some("assistant")));
    assert_eq!(msgs[1]["citations"], done["citations"]);
    assert_eq!(msgs[1]["content"], done["answer"]);
    assert!(msgs[1]["answer_html"].as_str().unwrap().contains("36 个月"));
    assert_eq!(msgs[1]["rating"], serde_json::Value::Null);

    // feedback: someone else's answer is not theirs to rate; a bad rating is refused
    let r = h.send(h.post(&wang, "/api/feedback", serde_json::json!({"message_id": msg, "rating": "up"}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h.send(h.post(&li, "/api/feedback", serde_json::json!({"message_id": msg, "rating": "meh"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.send(h.post(&li, "/api/feedback", serde_json::json!({"message_id": msg, "rating": "down"}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = h
        .send(h.post(&li, "/api/feedback", serde_json::json!({"message_id": msg, "rating": "up", "comment": "准确"})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let c = h.send(h.get(&li, &format!("/api/conversations/{conv}"))).await.json();
    assert_eq!(c["messages"][1]["rating"], "up");
    let store = lodestar_store::Store::open(&h.db).unwrap();
    let stats = lodestar_server::db::feedback_stats(&store, None).unwrap();
    assert_eq!((stats.rated, stats.up), (1, 1));
    let f = lodestar_server::db::feedback(&store, None).unwrap();
    assert_eq!(f[0].comment.as_deref(), Some("准确"));
    assert_eq!(f[0].question, "全钢胎质保期是多久？");
    assert!(h.audit_actions().iter().any(|(u, a, d)| u == "li" && a == "feedback" && d["rating"] == "up"));

    // delete: gone for its owner, not deletable by anyone else
    let del = |c: &Client| {
        Request::delete(format!("/api/conversations/{conv}"))
            .header(header::COOKIE, &c.cookie)
            .header("x-csrf-token", &c.csrf)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(h.send(del(&wang)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.send(del(&li)).await.status, StatusCode::OK);
    assert_eq!(h.send(h.get(&li, &format!("/api/conversations/{conv}"))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(lodestar_server::db::feedback(&store, None).unwrap().len(), 1, "feedback is kept");
}
