//! `/metrics` (Prometheus text format): requests by route and status, queue depth, tokens
//! generated, and a time-to-first-token histogram. Reachable from loopback or with an admin key.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::Arc;

/// Bucket upper bounds of the time-to-first-token histogram, in seconds.
pub const TTFT_BUCKETS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0];

/// A cumulative histogram.
#[derive(Debug, Default, Clone)]
pub struct Histogram {
    /// Observations at or below each bound of [`TTFT_BUCKETS`] (cumulative).
    pub counts: [u64; 9],
    /// Observations in all.
    pub count: u64,
    /// Sum of the observed values, in seconds.
    pub sum: f64,
}

impl Histogram {
    /// Records one time to first token of `secs` seconds.
    pub fn observe(&mut self, secs: f64) {
        for (i, b) in TTFT_BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// Counts every request by its route pattern and status.
pub async fn count(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "other".into());
    let r = next.run(req).await;
    let mut g = state.request_counts.lock().unwrap_or_else(|e| e.into_inner());
    *g.entry((route, r.status().as_u16())).or_default() += 1;
    r
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let remote_local = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_none_or(|c| c.0.ip().is_loopback());
    if !remote_local {
        let key = crate::openai::bearer(req.headers()).ok_or_else(|| {
            ApiError::unauthorized("invalid_api_key", "/metrics needs an admin key from other machines")
        })?;
        let user = state
            .store()?
            .user_of_api_key(&key)?
            .ok_or_else(|| ApiError::unauthorized("invalid_api_key", "API key not valid"))?;
        if user.role != lodestar_core::Role::Admin {
            return Err(ApiError::forbidden("admin_only", "/metrics is for admins"));
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP lodestar_requests_total HTTP requests by route and status.\n# TYPE lodestar_requests_total counter"
    );
    for ((route, status), n) in state.request_counts.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "lodestar_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
    }
    let q = state.queue.status();
    let _ = writeln!(out, "# HELP lodestar_queue_waiting Requests waiting for the model.\n# TYPE lodestar_queue_waiting gauge\nlodestar_queue_waiting {}", q.waiting);
    let _ = writeln!(out, "# HELP lodestar_queue_running Generations running.\n# TYPE lodestar_queue_running gauge\nlodestar_queue_running {}", q.running);
    let _ = writeln!(
        out,
        "# HELP lodestar_tokens_generated_total Tokens generated.\n# TYPE lodestar_tokens_generated_total counter\nlodestar_tokens_generated_total {}",
        state.tokens_generated.load(std::sync::atomic::Ordering::Relaxed)
    );
    let h = state.ttft.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let _ = writeln!(
        out,
        "# HELP lodestar_ttft_seconds Time to the first generated token.\n# TYPE lodestar_ttft_seconds histogram"
    );
    for (b, c) in TTFT_BUCKETS.iter().zip(h.counts.iter()) {
        let _ = writeln!(out, "lodestar_ttft_seconds_bucket{{le=\"{b}\"}} {c}");
    }
    let _ = writeln!(
        out,
        "lodestar_ttft_seconds_bucket{{le=\"+Inf\"}} {}\nlodestar_ttft_seconds_sum {}\nlodestar_ttft_seconds_count {}",
        h.count, h.sum, h.count
    );
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.4);
        h.observe(2.5);
        assert_eq!(h.counts[0], 0);
        assert_eq!(h.counts[1], 1); // ≤ 0.5
        assert_eq!(h.counts[4], 2); // ≤ 3
        assert_eq!(h.count, 2);
        assert!((h.sum - 2.9).abs() < 1e-9);
    }
}
