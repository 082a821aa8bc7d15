//! `lodestar bench serve`'s load: simulated users who log in and ask a mix of metric and
//! knowledge questions over HTTP, timing each answer's stream (time to first token, to done, time
//! spent queued). The CLI starts the server on a loopback port in a seeded temporary home and
//! points this at it.

use serde::Serialize;
use std::time::{Duration, Instant};

/// One question of the mix, with its class (`metric` / `knowledge`).
#[derive(Debug, Clone)]
pub struct LoadQuestion {
    /// `metric` or `knowledge`.
    pub class: String,
    /// The question text.
    pub question: String,
}

/// How the load runs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Server address, e.g. `http://127.0.0.1:8123`.
    pub base_url: String,
    /// (user, password) per simulated user.
    pub users: Vec<(String, String)>,
    /// The question mix; each user cycles through it, starting at a different question.
    pub questions: Vec<LoadQuestion>,
    /// No question starts after this; those in flight finish.
    pub duration: Duration,
    /// Pause between one user's questions.
    pub think: Duration,
}

/// One answered (or failed) question.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Index of the simulated user who asked.
    pub user: usize,
    /// The question's class.
    pub class: String,
    /// The question text.
    pub question: String,
    /// The stream ended with `done` and no error.
    pub ok: bool,
    /// What went wrong, when it did.
    pub error: Option<String>,
    /// Time to the first token (or to `done` when no token came), in milliseconds.
    pub ttft_ms: Option<f64>,
    /// Time to `done`, in milliseconds.
    pub total_ms: f64,
    /// Time from the first `queued` event to the first token, in milliseconds (0 when never queued).
    pub queue_ms: f64,
    /// Highest queue position reported while waiting (0 when never queued).
    pub max_queue_position: usize,
}

/// Latency figures of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    /// `metric` or `knowledge`.
    pub class: String,
    /// Questions asked.
    pub requests: usize,
    /// Questions that failed.
    pub errors: usize,
    /// Median time to first token of the answered ones.
    pub ttft_p50_ms: Option<f64>,
    /// 95th percentile of the same.
    pub ttft_p95_ms: Option<f64>,
    /// Median time to `done`.
    pub total_p50_ms: Option<f64>,
    /// 95th percentile of the same.
    pub total_p95_ms: Option<f64>,
    /// Median time spent queued.
    pub queue_p50_ms: Option<f64>,
    /// 95th percentile of the same.
    pub queue_p95_ms: Option<f64>,
    /// Answered requests that waited in the queue.
    pub queued_requests: usize,
    /// Highest queue position seen.
    pub max_queue_position: usize,
}

/// The whole load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Simulated users.
    pub users: usize,
    /// Planned duration (no question starts after it), in seconds.
    pub duration_s: f64,
    /// Actual wall time, in seconds (questions in flight finish after the duration).
    pub wall_s: f64,
    /// Questions asked.
    pub requests: usize,
    /// Questions that failed.
    pub errors: usize,
    /// Figures per class.
    pub classes: Vec<ClassReport>,
    /// Every question asked.
    pub samples: Vec<Sample>,
}

/// The `q`-quantile (nearest rank) of `xs`.
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

fn class_report(class: &str, samples: &[&Sample]) -> ClassReport {
    let ok: Vec<&&Sample> = samples.iter().filter(|s| s.ok).collect();
    let ttft: Vec<f64> = ok.iter().filter_map(|s| s.ttft_ms).collect();
    let total: Vec<f64> = ok.iter().map(|s| s.total_ms).collect();
    let queue: Vec<f64> = ok.iter().map(|s| s.queue_ms).collect();
    ClassReport {
        class: class.to_string(),
        requests: samples.len(),
        errors: samples.len() - ok.len(),
        ttft_p50_ms: quantile(&ttft, 0.5),
        ttft_p95_ms: quantile(&ttft, 0.95),
        total_p50_ms: quantile(&total, 0.5),
        total_p95_ms: quantile(&total, 0.95),
        queue_p50_ms: quantile(&queue, 0.5),
        queue_p95_ms: quantile(&queue, 0.95),
        queued_requests: ok.iter().filter(|s| s.max_queue_position > 0).count(),
        max_queue_position: samples.iter().map(|s| s.max_queue_position).max().unwrap_or(0),
    }
}

/// Logs in; returns the cookie header value and the CSRF token.
async fn login(client: &reqwest::Client, base: &str, user: &str, pw: &str) -> Result<(String, String), String> {
    let r = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({"username": user, "password": pw}))
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    let cookie = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|c| c.starts_with(crate::auth::COOKIE)).map(str::to_string))
        .ok_or_else(|| format!("login of {user}: HTTP {} without a session cookie", r.status()))?;
    let v: serde_json::Value = r.json().await.map_err(|e| format!("login: {e}"))?;
    let csrf = v["csrf_token"].as_str().ok_or("login: no csrf_token")?.to_string();
    Ok((cookie, csrf))
}

/// Parses complete SSE events out of `buf`, leaving a partial one in it.
pub fn take_events(buf: &mut String) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        let norm = buf.replace("\r\n", "\n");
        let Some(end) = norm.find("\n\n") else {
            *buf = norm;
            return out;
        };
        let block = norm[..end].to_string();
        *buf = norm[end + 2..].to_string();
        let mut name = String::from("message");
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
            }
        }
        if !data.is_empty() {
            out.push((name, data.join("\n")));
        }
    }
}

async fn ask_once(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    csrf: &str,
    user: usize,
    q: &LoadQuestion,
) -> Sample {
    let t0 = Instant::now();
    let mut s = Sample {
        user,
        class: q.class.clone(),
        question: q.question.clone(),
        ok: false,
        error: None,
        ttft_ms: None,
        total_ms: 0.0,
        queue_ms: 0.0,
        max_queue_position: 0,
    };
    let res = client
        .post(format!("{base}/api/ask"))
        .header(reqwest::header::COOKIE, cookie)
        .header("x-csrf-token", csrf)
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .json(&serde_json::json!({"question": q.question}))
        .send()
        .await;
    let mut r = match res {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            s.error = Some(format!("HTTP {}: {}", r.status(), r.text().await.unwrap_or_default()));
            s.total_ms = t0.elapsed().as_secs_f64() * 1000.0;
            return s;
        }
        Err(e) => {
            s.error = Some(e.to_string());
            s.total_ms = t0.elapsed().as_secs_f64() * 1000.0;
            return s;
        }
    };
    let mut buf = String::new();
    let mut queued_at: Option<Instant> = None;
    loop {
        match r.chunk().await {
            Ok(Some(bytes)) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(None) => break,
            Err(e) => {
                s.error = Some(e.to_string());
                break;
            }
        }
        for (name, data) in take_events(&mut buf) {
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            match name.as_str() {
                "queued" => {
                    queued_at.get_or_insert_with(Instant::now);
                    let p = serde_json::from_str::<serde_json::Value>(&data)
                        .ok()
                        .and_then(|v| v["position"].as_u64())
                        .unwrap_or(0) as usize;
                    s.max_queue_position = s.max_queue_position.max(p);
                }
                "token" if s.ttft_ms.is_none() => {
                    s.ttft_ms = Some(ms);
                    if let Some(t) = queued_at.take() {
                        s.queue_ms = t.elapsed().as_secs_f64() * 1000.0;
                    }
                }
                "done" => {
                    s.ok = s.error.is_none();
                    s.total_ms = ms;
                    if s.ttft_ms.is_none() {
                        s.ttft_ms = Some(ms);
                    }
                }
                "error" => s.error = Some(data),
                _ => {}
            }
        }
    }
    if !s.ok && s.error.is_none() {
        s.error = Some("stream ended without a done event".into());
    }
    if s.total_ms == 0.0 {
        s.total_ms = t0.elapsed().as_secs_f64() * 1000.0;
    }
    s
}

/// Runs the load; `on_sample` hears each finished question (progress).
pub async fn run_load(
    opts: LoadOptions,
    on_sample: impl Fn(&Sample) + Send + Sync + 'static,
) -> Result<LoadReport, String> {
    if opts.questions.is_empty() || opts.users.is_empty() {
        return Err("bench serve needs at least one user and one question".into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .build()
        .map_err(|e| format!("http client: {e}"))?;
    let t0 = Instant::now();
    let deadline = t0 + opts.duration;
    let on_sample = std::sync::Arc::new(on_sample);
    let mut tasks = Vec::new();
    for (i, (user, pw)) in opts.users.iter().enumerate() {
        let (client, base, questions) = (client.clone(), opts.base_url.clone(), opts.questions.clone());
        let (user, pw, think, on_sample) = (user.clone(), pw.clone(), opts.think, on_sample.clone());
        tasks.push(tokio::spawn(async move {
            let (cookie, csrf) = login(&client, &base, &user, &pw).await?;
            let mut out = Vec::new();
            let mut k = i; // users start at different questions, so the mix is mixed at every moment
            while Instant::now() < deadline {
                let q = &questions[k % questions.len()];
                k += 1;
                let s = ask_once(&client, &base, &cookie, &csrf, i, q).await;
                on_sample(&s);
                out.push(s);
                tokio::time::sleep(think).await;
            }
            Ok::<_, String>(out)
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.map_err(|e| e.to_string())??);
    }
    let mut classes: Vec<String> = opts.questions.iter().map(|q| q.class.clone()).collect();
    classes.sort();
    classes.dedup();
    let reports = classes
        .iter()
        .map(|c| class_report(c, &samples.iter().filter(|s| &s.class == c).collect::<Vec<_>>()))
        .collect();
    Ok(LoadReport {
        users: opts.users.len(),
        duration_s: opts.duration.as_secs_f64(),
        wall_s: t0.elapsed().as_secs_f64(),
        requests: samples.len(),
        errors: samples.iter().filter(|s| !s.ok).count(),
        classes: reports,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let xs = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(quantile(&xs, 0.5), Some(3.0));
        assert_eq!(quantile(&xs, 0.95), Some(5.0));
        assert_eq!(quantile(&xs, 0.2), Some(1.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn sse_events_split_across_chunks() {
        let mut buf = String::from("event: meta\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: token\r\ndata: x");
        let ev = take_events(&mut buf);
        assert_eq!(ev, vec![("meta".to_string(), "{\"a\":1}".to_string())]);
        buf.push_str("\ndata: y\n\n");
        assert_eq!(take_events(&mut buf), vec![("token".to_string(), "x\ny".to_string())]);
        assert!(buf.is_empty());
    }
}

/// Time to load the metrics page's data over HTTP.
#[derive(Debug, Clone, Serialize)]
pub struct PageLoadReport {
    /// What one page load requests.
    pub requests: Vec<String>,
    /// Page loads timed.
    pub runs: usize,
    /// Wall time of one page load (its requests one after the other), per run.
    pub times_ms: Vec<f64>,
    /// Median of `times_ms`.
    pub median_ms: f64,
    /// Median per request.
    pub per_request_median_ms: Vec<f64>,
}

/// Starts a server over the home database `db` on a loopback port (no model, no index), logs in as
/// a bench account it adds, and times `runs` loads of the metrics page's data for `month`: the
/// 国家×品类 table, the 24-month trend and the category mix.
pub fn metrics_page_load(
    db: &std::path::Path,
    dicts: std::sync::Arc<lodestar_dict::Dictionaries>,
    month: &str,
    runs: usize,
) -> Result<PageLoadReport, String> {
    let store = lodestar_store::Store::open(db).map_err(|e| e.to_string())?;
    let pw = "bench-page-load-pw";
    let hash = lodestar_store::accounts::hash_password(pw).map_err(|e| e.to_string())?;
    store
        .upsert_user("bench-page", lodestar_core::Role::Ops, lodestar_core::Sensitivity::Secret, &[], Some(&hash))
        .map_err(|e| e.to_string())?;
    drop(store);
    let assistant = lodestar_rag::Assistant::new(dicts, None, None, None);
    let state = crate::AppState::new(assistant, db.to_path_buf(), crate::ServerOptions::default())
        .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let paths = vec![
        format!("/api/metrics?month={month}&by=country,category&measure=amount"),
        format!("/api/metrics/trend?month={month}&months=24&measure=amount"),
        format!("/api/metrics?month={month}&by=category&measure=amount"),
    ];
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::serve(listener, state, async {
            let _ = stop_rx.await;
        }));
        let base = format!("http://{addr}");
        let client = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
        let login = client
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({"username": "bench-page", "password": pw}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let cookie = login
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .ok_or("login gave no cookie")?
            .to_string();
        let mut times = Vec::new();
        let mut per: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            for (i, p) in paths.iter().enumerate() {
                let t1 = Instant::now();
                let r = client
                    .get(format!("{base}{p}"))
                    .header(reqwest::header::COOKIE, &cookie)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = r.status();
                let body = r.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("{p}: {status}: {}", String::from_utf8_lossy(&body)));
                }
                per[i].push(t1.elapsed().as_secs_f64() * 1000.0);
            }
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let _ = stop_tx.send(());
        let _ = server.await;
        Ok(PageLoadReport {
            requests: paths.clone(),
            runs: times.len(),
            median_ms: quantile(&times, 0.5).unwrap_or(0.0),
            per_request_median_ms: per.iter().map(|v| quantile(v, 0.5).unwrap_or(0.0)).collect(),
            times_ms: times,
        })
    })
}
