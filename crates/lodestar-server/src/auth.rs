//! Login, logout, sessions and CSRF (登录与会话).
//!
//! The session cookie (`lodestar_session`, `HttpOnly`, `SameSite=Strict`, `Secure` over TLS) holds
//! a random token whose SHA-256 is a row in SQLite, so a restart keeps people logged in and
//! `lodestar user disable` ends their sessions. Every state-changing request must carry
//! `X-CSRF-Token` equal to the login's `csrf_token`.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lodestar_store::users::User;
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const COOKIE: &str = "lodestar_session";
/// Failed logins from one address allowed per [`FAIL_WINDOW`] before 429.
pub const MAX_FAILURES: usize = 5;
/// The window [`MAX_FAILURES`] counts failed logins over.
pub const FAIL_WINDOW: Duration = Duration::from_secs(60);

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The account.
    pub user: User,
    /// CSRF token of the session (empty for API-key requests).
    pub csrf_token: String,
    /// The client's address (`local` in in-process tests).
    pub remote: String,
}

impl Auth {
    /// The principal the request runs as.
    pub fn principal(&self) -> lodestar_core::Principal {
        self.user.principal()
    }
}

/// The client's address as the socket saw it (`local` in in-process tests).
pub fn remote_of(parts_ext: &axum::http::Extensions) -> String {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "local".into())
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE && !v.is_empty()).then(|| v.to_string())
    })
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        // a program's API key acts as its user everywhere (no CSRF: no cookie is involved)
        if let Some(key) = crate::openai::bearer(&parts.headers) {
            let user = state.store()?.user_of_api_key(&key)?.ok_or_else(|| {
                ApiError::unauthorized("invalid_api_key", "API key not valid (revoked, or its user disabled)")
            })?;
            return Ok(Auth { user, csrf_token: String::new(), remote: remote_of(&parts.extensions) });
        }
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(ApiError::unauthorized("no_session", "请先登录 (not logged in)"));
        };
        let session = state.store()?.session(&token)?;
        let Some(session) = session else {
            return Err(ApiError::unauthorized("no_session", "会话已过期，请重新登录 (session expired or ended)"));
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same_token(sent, &session.csrf_token) {
                return Err(ApiError::forbidden("csrf", "缺少或错误的 X-CSRF-Token (missing or wrong CSRF token)"));
            }
        }
        Ok(Auth { user: session.user, csrf_token: session.csrf_token, remote: remote_of(&parts.extensions) })
    }
}

/// Failed login attempts per remote address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: std::sync::Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// Seconds to wait when `remote` has used up its attempts, else `None`.
    pub fn blocked(&self, remote: &str) -> Option<u64> {
        let mut g = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let q = g.get_mut(remote)?;
        let now = Instant::now();
        while q.front().is_some_and(|t| now.duration_since(*t) >= FAIL_WINDOW) {
            q.pop_front();
        }
        if q.len() < MAX_FAILURES {
            return None;
        }
        let oldest = *q.front()?;
        Some((FAIL_WINDOW.saturating_sub(now.duration_since(oldest))).as_secs().max(1))
    }
    /// Records a failed login from `remote`.
    pub fn fail(&self, remote: &str) {
        let mut g = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if g.len() > 10_000 {
            g.clear(); // bounded memory under a flood of addresses
        }
        g.entry(remote.to_string()).or_default().push_back(Instant::now());
    }
    /// Forgets the failures of `remote` after a successful login.
    pub fn succeed(&self, remote: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(remote);
    }
}

/// Body of `POST /api/login`.
#[derive(Deserialize)]
pub struct LoginBody {
    /// Account name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// The JSON of `/api/login` and `/api/me`.
pub fn me_json(user: &User, csrf: &str) -> serde_json::Value {
    serde_json::json!({
        "user": user.name,
        "role": user.role,
        "clearance": user.clearance,
        "kbs": if user.kbs.is_empty() { lodestar_core::KbId::ALL.to_vec() } else { user.kbs.clone() },
        "csrf_token": csrf,
    })
}

fn is_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.opts.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let s = format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).ok()
}

/// `POST /api/login`.
pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let remote = remote_of(&ext);
    if let Some(wait) = state.limiter.blocked(&remote) {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "too_many_attempts",
            format!("登录失败次数过多，请 {wait} 秒后再试 (too many failed logins)"),
        )
        .with_retry_after(wait));
    }
    let Json(body) = body?;
    // argon2 takes tens of milliseconds: keep it off the async workers
    let st = state.clone();
    let (name, pw) = (body.username.clone(), body.password.clone());
    let user = tokio::task::spawn_blocking(move || -> Result<_, ApiError> { Ok(st.store()?.check_login(&name, &pw)?) })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    let store = state.store()?;
    let Some(user) = user else {
        state.limiter.fail(&remote);
        store.audit(&body.username, "login_failed", &serde_json::json!({"user": body.username, "remote": remote}))?;
        return Err(ApiError::unauthorized("invalid_credentials", "用户名或密码错误 (wrong user name or password)"));
    };
    state.limiter.succeed(&remote);
    let s = store.create_session(&user.name, state.opts.session_ttl_secs, Some(&remote))?;
    store.audit(&user.name, "login", &serde_json::json!({"user": user.name, "remote": remote}))?;
    let mut r = Json(me_json(&user, &s.csrf_token)).into_response();
    if let Some(c) = set_cookie(&s.token, state.opts.session_ttl_secs, is_tls(&state, &headers)) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// `POST /api/logout`.
pub async fn logout(State(state): State<Arc<AppState>>, auth: Auth, headers: HeaderMap) -> Result<Response, ApiError> {
    let store = state.store()?;
    if let Some(t) = cookie_token(&headers) {
        store.end_session(&t)?;
    }
    store.audit(&auth.user.name, "logout", &serde_json::json!({"remote": auth.remote}))?;
    let mut r = Json(serde_json::json!({"ok": true})).into_response();
    if let Some(c) = set_cookie("", 0, is_tls(&state, &headers)) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// `GET /api/me`: who is logged in (and the CSRF token, for a reloaded page).
pub async fn me(auth: Auth) -> Json<serde_json::Value> {
    Json(me_json(&auth.user, &auth.csrf_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_five_failures_and_forgets_on_success() {
        let l = LoginLimiter::default();
        for _ in 0..MAX_FAILURES - 1 {
            l.fail("10.0.0.1");
        }
        assert_eq!(l.blocked("10.0.0.1"), None);
        l.fail("10.0.0.1");
        let wait = l.blocked("10.0.0.1").unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(l.blocked("10.0.0.2"), None, "per address");
        l.succeed("10.0.0.1");
        assert_eq!(l.blocked("10.0.0.1"), None);
    }

    #[test]
    fn cookie_and_token_parsing() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; lodestar_session=abc; b=2"));
        assert_eq!(cookie_token(&h).as_deref(), Some("abc"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
