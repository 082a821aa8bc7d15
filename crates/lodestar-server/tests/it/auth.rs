use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use lodestar_server::ServerOptions;

#[tokio::test]
async fn login_sessions_csrf_and_no_session() {
    let h = harness(None, ServerOptions::default());

    // no session: 401 with the error shape, on data routes
    for path in ["/api/me", "/api/conversations"] {
        let r = h.send(Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        let e = &r.json()["error"];
        assert!(e["message"].is_string() && e["type"] == "authentication_error" && e["code"] == "no_session", "{e}");
    }
    let r = h
        .send(
            Request::post("/api/ask")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"question":"全钢胎质保期是多久？"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // wrong password and unknown user: the same 401 message
    let a = h.login_reply("li", "nope").await;
    let b = h.login_reply("ghost", "nope").await;
    assert_eq!((a.status, b.status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(a.json()["error"]["message"], b.json()["error"]["message"]);
    assert!(a.headers.get(header::SET_COOKIE).is_none());

    // login ok: the JSON contract and a strict cookie
    let r = h.login_reply("li", "li-pass").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["user"], "li");
    assert_eq!(v["role"], "ops");
    assert_eq!(v["clearance"], "敏感");
    assert_eq!(v["kbs"].as_array().unwrap().len(), 5);
    assert!(v["csrf_token"].as_str().unwrap().len() >= 32);
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag ({cookie})");
    let c = Client { cookie: cookie.split(';').next().unwrap().into(), csrf: v["csrf_token"].as_str().unwrap().into() };
    let me = h.send(h.get(&c, "/api/me")).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["csrf_token"], v["csrf_token"]);

    // behind a TLS proxy the cookie is Secure
    let req = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-proto", "https")
        .body(Body::from(r#"{"username":"li","password":"li-pass"}"#))
        .unwrap();
    let r = h.send(req).await;
    assert!(r.headers[header::SET_COOKIE].to_str().unwrap().contains("; Secure"));

    // a state-changing request without (or with a wrong) X-CSRF-Token: 403
    for token in [None, Some("0000")] {
        let mut b = Request::post("/api/feedback")
            .header(header::COOKIE, &c.cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header("x-csrf-token", t);
        }
        let r = h.send(b.body(Body::from(r#"{"message_id":1,"rating":"up"}"#)).unwrap()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{token:?}");
        assert_eq!(r.json()["error"]["code"], "csrf");
    }

    // the page and its assets are served with a strict CSP
    let page = h.send(Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(page.body.contains("/assets/app.js"));

    // logout ends the session
    let r = h.send(h.post(&c, "/api/logout", serde_json::json!({}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.send(h.get(&c, "/api/me")).await.status, StatusCode::UNAUTHORIZED);

    // disabling an account ends its sessions
    let c2 = h.login("wang", "wang-pass").await;
    assert_eq!(h.send(h.get(&c2, "/api/me")).await.status, StatusCode::OK);
    lodestar_store::Store::open(&h.db).unwrap().disable_user("wang").unwrap();
    assert_eq!(h.send(h.get(&c2, "/api/me")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.login_reply("wang", "wang-pass").await.status, StatusCode::UNAUTHORIZED);

    // audited: failures with the remote address, success, logout
    let audit = h.audit_actions();
    let failed: Vec<_> = audit.iter().filter(|(_, a, _)| a == "login_failed").collect();
    assert_eq!(failed.len(), 3, "{audit:?}");
    assert_eq!(failed[0].2["remote"], "local");
    assert!(audit.iter().any(|(u, a, _)| u == "li" && a == "login"));
    assert!(audit.iter().any(|(u, a, _)| u == "li" && a == "logout"));
}

#[tokio::test]
async fn repeated_failures_are_slowed_down() {
    let h = harness(None, ServerOptions::default());
    for i in 0..5 {
        assert_eq!(h.login_reply("li", "bad").await.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = h.login_reply("li", "li-pass").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let wait: u64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
}

#[tokio::test]
async fn while_loading_health_says_503() {
    let app = lodestar_server::loading_router();
    use tower::ServiceExt;
    let r = app.clone().oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = app.oneshot(Request::post("/api/login").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get(header::RETRY_AFTER).is_some());
}
