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

type Params = Vec<(String, String)>;

fn param(params: &Params, k: &str) -> Option<String> {
    params.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The query of `/api/metrics` (and its trend and export) from the URL's parameters.
fn metric_query(store: &lodestar_store::Store, params: &Params, auth: &Auth) -> Result<MetricQuery, ApiError> {
    let get = |k: &str| param(params, k);
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
    for (_, v) in params.iter().filter(|(k, _)| k == "filter") {
        if v.trim().is_empty() {
            continue;
        }
        let (d, val) = v
            .split_once('=')
            .or_else(|| v.split_once(':'))
            .ok_or_else(|| bad(format!("filter `{v}` is not DIM=VALUE")))?;
        filters.push((d.trim().parse::<Dim>().map_err(|e| bad(e.to_string()))?, val.trim().to_string()));
    }
    Ok(MetricQuery {
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
    })
}

async fn run_table(
    state: &Arc<AppState>,
    auth: &Auth,
    params: Params,
) -> Result<(lodestar_metrics::MetricTable, MetricQuery), ApiError> {
    let store = state.store()?;
    let q = metric_query(&store, &params, auth)?;
    let dicts = state.assistant.dicts.clone();
    let fields = state.opts.config.fields.clone();
    tokio::task::spawn_blocking(move || -> Result<_, MetricsError> {
        let engine = MetricsEngine::load_for_period(&store, &dicts, &q.period)?.with_field_sensitivity(fields);
        let t = engine.query(&q)?;
        Ok((t, q))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(metrics_error)
}

/// `GET /api/metrics?month=2026-09&by=country,category&measure=amount&filter=country=RU&sort=actual&compare=yoy`
/// (`period=` is the same as `month=`; `filter` repeats): `lodestar metrics --json`.
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(params): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (table, _) = run_table(&state, &auth, params).await?;
    Ok(Json(serde_json::to_value(&table).map_err(|e| ApiError::internal(e.to_string()))?))
}

/// One month of the trend chart.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrendPoint {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Actual of the month.
    pub actual: Option<rust_decimal::Decimal>,
    /// Target of the month.
    pub target: Option<rust_decimal::Decimal>,
    /// The same month a year earlier.
    pub last_year: Option<rust_decimal::Decimal>,
}

/// `GET /api/metrics/trend?month=YYYY-MM&months=24&measure=…&filter=…`: the scope's total per
/// month, oldest first, with the target and last year's figure.
pub async fn trend(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(params): Query<Params>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store()?;
    let mut q = metric_query(&store, &params, &auth)?;
    let n: i64 = match param(&params, "months") {
        Some(v) => v.parse().ok().filter(|n| (1..=60).contains(n)).ok_or_else(|| bad("months: 1 to 60"))?,
        None => 24,
    };
    let last = q.period.last_month();
    let months: Vec<Month> = (0..n).rev().map(|i| last.add(-i)).collect();
    // every month a month's row needs (year to date, last year, previous month), last year's too
    let mut need = std::collections::BTreeSet::new();
    for m in &months {
        need.extend(lodestar_metrics::months_needed(&Period::Month(*m)));
        need.extend(lodestar_metrics::months_needed(&Period::Month(m.add(-12))));
    }
    let load: Vec<Month> = need.into_iter().collect();
    let dicts = state.assistant.dicts.clone();
    let fields = state.opts.config.fields.clone();
    q.by = Vec::new();
    let out = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, MetricsError> {
        let engine = MetricsEngine::load_months(&store, &dicts, Some(&load))?.with_field_sensitivity(fields);
        // a month outside the data (before the first import) is a gap in the chart, not an error
        let total = |m: Month| -> Result<Option<lodestar_metrics::MetricTable>, MetricsError> {
            let mut qq = q.clone();
            qq.period = Period::Month(m);
            match engine.query(&qq) {
                Ok(t) => Ok(Some(t)),
                Err(e @ MetricsError::Forbidden { .. }) => Err(e),
                Err(MetricsError::Store(e)) => Err(MetricsError::Store(e)),
                Err(_) => Ok(None),
            }
        };
        let mut points = Vec::new();
        let mut unit = None;
        for m in &months {
            let t = total(*m)?;
            if let Some(t) = &t {
                unit = unit.or(t.unit.clone());
            }
            let ly = total(m.add(-12))?;
            points.push(TrendPoint {
                month: m.to_string(),
                actual: t.as_ref().and_then(|t| t.total.actual),
                target: t.as_ref().and_then(|t| t.total.target),
                last_year: ly.and_then(|t| t.total.actual),
            });
        }
        Ok(serde_json::json!({"measure": q.measure, "unit": unit, "filters": q.filters.iter().map(|(d, v)| format!("{d}={v}")).collect::<Vec<_>>(), "months": points}))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(metrics_error)?;
    Ok(Json(out))
}

/// `GET /api/metrics/export?format=xlsx|csv&<the query of /api/metrics>`: the view as a file (xlsx:
/// the view's sheet followed by the month's summary workbook).
pub async fn export(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(params): Query<Params>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let format = param(&params, "format").unwrap_or_else(|| "xlsx".into()).to_lowercase();
    if !matches!(format.as_str(), "xlsx" | "csv") {
        return Err(bad(format!("format `{format}`: xlsx or csv")));
    }
    let store = state.store()?;
    let q = metric_query(&store, &params, &auth)?;
    let dicts = state.assistant.dicts.clone();
    let fields = state.opts.config.fields.clone();
    let principal = auth.principal();
    let fmt = format.clone();
    let (bytes, period) = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, String), ApiError> {
        let engine = MetricsEngine::load_for_period(&store, &dicts, &q.period)
            .map_err(metrics_error)?
            .with_field_sensitivity(fields);
        let t = engine.query(&q).map_err(metrics_error)?;
        let bytes = if fmt == "csv" {
            let mut b = vec![0xEF, 0xBB, 0xBF]; // BOM: Excel opens UTF-8 CSV correctly
            b.extend_from_slice(lodestar_metrics::render::csv(&t).as_bytes());
            b
        } else {
            let s = lodestar_metrics::render::summary(&engine, q.period, &principal).map_err(metrics_error)?;
            let dir = tempfile_dir()?;
            let path = dir.join("view.xlsx");
            lodestar_metrics::render::write_view_and_summary_xlsx(&t, &s, &path)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let b = std::fs::read(&path).map_err(|e| ApiError::internal(e.to_string()))?;
            let _ = std::fs::remove_dir_all(&dir);
            b
        };
        store.audit(
            &principal.name,
            "export",
            &serde_json::json!({"what": "metrics", "period": t.period, "format": fmt}),
        )?;
        Ok((bytes, t.period))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let (ctype, ext) = if format == "csv" {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
    };
    let disposition = format!("attachment; filename=\"lodestar-metrics-{period}.{ext}\"");
    Ok((
        [(axum::http::header::CONTENT_TYPE, ctype.to_string()), (axum::http::header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}

/// A private scratch folder for writers that need a path.
pub(crate) fn tempfile_dir() -> Result<std::path::PathBuf, ApiError> {
    let d = std::env::temp_dir().join(format!(
        "lodestar-export-{}-{}",
        std::process::id(),
        lodestar_store::accounts::random_token(6).chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>()
    ));
    std::fs::create_dir_all(&d).map_err(|e| ApiError::internal(format!("cannot create {}: {e}", d.display())))?;
    Ok(d)
}

/// `GET /api/alerts?as_of=YYYY-MM-DD` (default: today).
pub async fn alerts(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Query(params): Query<Params>,
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
