use crate::support::*;
use axum::http::StatusCode;
use lodestar_rag::AskOptions;
use lodestar_server::ServerOptions;

/// The answer JSON without what differs run to run (timings) or is the server's (ids).
fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    let o = v.as_object_mut().unwrap();
    o.remove("timings_ms");
    o.remove("conversation_id");
    o.remove("message_id");
    v
}

#[tokio::test]
async fn streamed_answer_events_in_order_and_done_equals_the_library_answer() {
    let model = FakeModel::new("全钢胎质保期为 36 个月 [1]。", 1);
    let h = harness(Some(model.clone()), ServerOptions::default());
    let c = h.login("li", "li-pass").await;
    let q = "全钢胎质保期是多久？";
    let ev = h.ask_events(&c, serde_json::json!({"question": q})).await;
    assert_eq!(names(&ev), ["meta", "token", "citations", "rendered", "done"], "{ev:?}");
    let meta = &ev[0].1;
    let done = &ev.last().unwrap().1;
    assert_eq!(done["conversation_id"], meta["conversation_id"]);
    assert_eq!(done["message_id"], meta["message_id"]);
    // the streamed pieces are the model's text as written
    let streamed: String = ev.iter().filter(|(n, _)| n == "token").map(|(_, d)| d["text"].as_str().unwrap()).collect();
    assert!(streamed.starts_with("全钢胎质保期为 36 个月"), "{streamed}");
    let cites = &ev.iter().find(|(n, _)| n == "citations").unwrap().1;
    assert_eq!(cites, &done["citations"]);
    assert_eq!(cites[0]["doc"], "policy/warranty.md");
    assert_eq!(cites[0]["sensitivity"], "内部");
    assert_eq!(cites[0]["kb_name"], "销售政策与服务知识库");
    assert_eq!(cites[0]["section"].as_str().map(|s| s.contains("全钢胎")), Some(true), "{cites}");
    assert_eq!(done["needs_review"], true);

    // the same question through the library the CLI calls, as the same principal
    let lib = assistant(Some(FakeModel::new("全钢胎质保期为 36 个月 [1]。", 0)));
    let principal = lodestar_store::Store::open(&h.db).unwrap().principal(Some("li")).unwrap();
    let ans = lib.ask(q, &AskOptions { principal, ..AskOptions::default() }).unwrap();
    assert_eq!(comparable(done.clone()), comparable(serde_json::to_value(&ans).unwrap()));
    let html = ev.iter().find(|(n, _)| n == "rendered").unwrap().1["html"].as_str().unwrap().to_string();
    assert!(html.contains("36 个月") && html.starts_with('<'), "{html}");

    // without Accept: text/event-stream, the same final JSON in one response
    let r = h.send(h.post(&c, "/api/ask", serde_json::json!({"question": q}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(comparable(r.json()), comparable(done.clone()));

    // audited with route, searched knowledge bases, cited chunks and the answer's hash
    let audit = h.audit_actions();
    let (_, _, a) = audit.iter().find(|(u, a, _)| u == "li" && a == "answer").unwrap();
    assert_eq!(a["question"], q);
    assert_eq!(a["route"], "knowledge");
    assert_eq!(a["kbs"].as_array().unwrap().len(), 5);
    assert_eq!(a["chunk_ids"][0], done["citations"][0]["chunk_id"]);
    assert_eq!(a["answer_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(a["message_id"], done["message_id"]);
    assert!(audit.iter().any(|(u, a, _)| u == "li" && a == "question"));
}

#[tokio::test]
async fn a_viewer_gets_no_trace_of_a_sensitive_document() {
    let model = FakeModel::new("资料中没有相关信息 [1]。", 0);
    let h = harness(Some(model), ServerOptions::default());
    let q = "西伯利亚物流信用额度批复是多少？";
    // cleared: the sensitive document is found (so the question does reach it)
    let li = h.login("li", "li-pass").await;
    let ev = h.ask_events(&li, serde_json::json!({"question": q})).await;
    let all: String = ev.iter().map(|(n, d)| format!("{n} {d}\n")).collect();
    assert!(all.contains("sibir-credit.md"), "{all}");
    // not cleared: nothing of it in any event
    let intern = h.login("intern", "intern-pass").await;
    let ev = h.ask_events(&intern, serde_json::json!({"question": q})).await;
    assert_eq!(ev.last().unwrap().0, "done");
    let all: String = ev.iter().map(|(n, d)| format!("{n} {d}\n")).collect();
    for secret in ["sibir-credit", "信用评级内参", "ZX-4471", "880 万"] {
        assert!(!all.contains(secret), "`{secret}` leaked to a 内部 user:\n{all}");
    }
    // nor in the stored conversation
    let id = ev[0].1["conversation_id"].as_i64().unwrap();
    let r = h.send(h.get(&intern, &format!("/api/conversations/{id}"))).await;
    assert!(!r.body.contains("ZX-4471") && !r.body.contains("sibir-credit"));
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let h = harness(None, ServerOptions::default());
    let c = h.login("li", "li-pass").await;
    for (body, code) in [
        (serde_json::json!({"question": "  "}), "empty_question"),
        (serde_json::json!({"question": "x".repeat(2001)}), "question_too_long"),
        (serde_json::json!({"question": "全钢胎质保期？", "as_of": "9/30"}), "invalid_as_of"),
        (serde_json::json!({"question": "全钢胎质保期？", "model": "gpt-9"}), "model_not_found"),
        (serde_json::json!({"q": "全钢胎质保期？"}), "invalid_json"),
    ] {
        let r = h.send(h.post(&c, "/api/ask", body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.json()["error"]["code"], code);
    }
    let r =
        h.send(h.post(&c, "/api/ask", serde_json::json!({"question": "全钢胎质保期？", "conversation_id": 999}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
