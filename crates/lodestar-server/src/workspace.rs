//! The workspace's data routes: `GET /api/metrics` and `GET /api/alerts`, the same JSON as
//! `lodestar metrics --json` and `lodestar alerts --json`, as the logged-in user (field
//! sensitivities apply: a user below them gets the rows without the figures, with the reason).

use crate::auth::Auth;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use lodestar_core::{Month, Period};
use lodestar_metrics::{Compare, Dim, Measure, MetricQuery, MetricsEngine, MetricsError, SortKey};
use std::sync::Arc;

fn metrics_error(e: MetricsError) -> ApiError {
    match e {
        MetricsError::Forbidden { .. } => ApiError::forbidden("forbidden", e.to_string()),
        MetricsError::Store(_) | MetricsError::Sql(_) => ApiError::internal(e.to_string()),
        other => ApiError::bad_request("invalid_query", other.to_string()),
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", msg)
}

/// `GET /api/metrics?month=2026-09&by=country,category&measure=amount&filter=country=RU&sort=actual&compare=yoy`
/// (`period=` is the same as `month=`; `filter` repeats).
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let get =
        |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
    let store = state.store()?;
    let period: Period = match get("month").or_else(|| get("period")) {
        Some(p) => p.parse().map_err(|e| bad(format!("month `{p}`: {e}")))?,
        None => {
            let latest =
                store.latest_sales_month()?.ok_or_else(|| bad("no sales data has been imported yet (没有销售数据)"))?;
            Period::Month(latest.parse::<Month>().map_err(|e| ApiError::internal(e.to_string()))?)
        }
    };
    let by = get("by")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Dim>().map_err(|e| bad(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut filters = Vec::new();
    for (k, v) in params.iter().filter(|(k, _)| k == "filter") {
        let (d, val) = v
            .split_once('=')
            .or_else(|| v.split_once(':'))
            .ok_or_else(|| bad(format!("filter `{v}` is not DIM=VALUE")))?;
        filters.push((d.parse::<Dim>().map_err(|e| bad(e.to_string()))?, val.trim().to_string()));
        let _ = k;
    }
    let q = MetricQuery {
        period,
        by,
        measure: get("measure")
            .unwrap_or_else(|| "amount".into())
            .parse::<Measure>()
            .map_err(|e| bad(e.to_string()))?,
        filters,
        sort: get("sort").unwrap_or_else(|| "actual".into()).parse::<SortKey>().map_err(|e| bad(e.to_string()))?,
        compare: get("compare").unwrap_or_else(|| "yoy".into()).parse::<Compare>().map_err(|e| bad(e.to_string()))?,
        principal: auth.principal(),
    };
    let dicts = state.assistant.dicts.clone();
    let fields = state.opts.config.fields.clone();
    let table = tokio::task::spawn_blocking(move || -> Result<_, MetricsError> {
        let engine = MetricsEngine::load_for_period(&store, &dicts, &q.period)?.with_field_sensitivity(fields);
        engine.query(&q)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(metrics_error)?;
    Ok(Json(serde_json::to_value(&table).map_err(|e| ApiError::internal(e.to_string()))?))
}

/// `GET /api/alerts?as_of=YYYY-MM-DD` (default: today).
pub async fn alerts(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let as_of = match params.iter().find(|(k, _)| k == "as_of").map(|(_, v)| v.trim()) {
        Some(s) if !s.is_empty() => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_as_of",
                format!("as_of `{s}`: expected YYYY-MM-DD"),
            )
        })?,
        _ => chrono::Local::now().date_naive(),
    };
    let store = state.store()?;
    let dicts = state.assistant.dicts.clone();
    let config = state.opts.config.clone();
    let principal = auth.principal();
    let a = tokio::task::spawn_blocking(move || lodestar_metrics::alerts(&store, &dicts, as_of, &config, &principal))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(metrics_error)?;
    Ok(Json(serde_json::to_value(&a).map_err(|e| ApiError::internal(e.to_string()))?))
}
