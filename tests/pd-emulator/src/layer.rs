//! What every request goes through, in PagerDuty's order: latency, the rate
//! limit (429 + `ratelimit-*` headers), injected faults, token authentication;
//! and, when asked, a record of the exchange for the contract check.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::App;
use crate::rest::error;

/// A fixed one-minute window per token.
#[derive(Debug)]
pub struct Window {
    started: Instant,
    used: u32,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            started: Instant::now(),
            used: 0,
        }
    }
}

/// Fault injection with a deterministic sequence, so a run can be repeated.
#[derive(Debug)]
pub struct Faults {
    pub fail_rate: f64,
    pub latency: Duration,
    pub seen: u64,
    rng: u64,
}

impl Faults {
    pub fn new(fail_rate: f64, latency: Duration) -> Faults {
        Faults {
            fail_rate,
            latency,
            seen: 0,
            rng: 0x2545_F491_4F6C_DD1D,
        }
    }

    /// xorshift: the next number in [0, 1).
    fn next(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

const BODY_LIMIT: usize = 16 * 1024 * 1024;

fn is_events(path: &str) -> bool {
    path.starts_with("/integration/") || path == "/v2/enqueue"
}

pub async fn behave(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let (latency, fail) = {
        let mut faults = app.faults.lock().expect("faults lock");
        faults.seen += 1;
        let fail = !is_events(&path) && faults.fail_rate > 0.0 && faults.next() < faults.fail_rate;
        (faults.latency, fail)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    // The rate limit counts REST requests of the token.
    let mut limit_headers = None;
    if !is_events(&path) {
        app.rest_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if let (Some(limit), false) = (app.config.rate_limit_per_minute, is_events(&path)) {
        let mut window = app.limiter.lock().expect("limiter lock");
        let span = app.config.rate_window;
        if window.started.elapsed() >= span {
            *window = Window::default();
        }
        // Whole seconds, rounded up as PagerDuty does: waiting this long is enough.
        let left = span.saturating_sub(window.started.elapsed());
        let reset = left.as_millis().div_ceil(1000).max(1) as u64;
        if window.used >= limit {
            app.rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate Limit Exceeded",
                2020,
                vec![],
            );
            set_limit_headers(&mut response, limit, 0, reset);
            return response;
        }
        window.used += 1;
        limit_headers = Some((limit, limit - window.used, reset));
    }

    if fail {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error (injected)",
            2000,
            vec![],
        );
    }

    let authorized = is_events(&path)
        || request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Token token={}", app.config.token));
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", 2006, vec![]);
    }

    let mut response = match &app.config.record {
        Some(_) => record(&app, request, next).await,
        None => next.run(request).await,
    };
    if let Some((limit, remaining, reset)) = limit_headers {
        set_limit_headers(&mut response, limit, remaining, reset);
    }
    response
}

fn set_limit_headers(response: &mut Response, limit: u32, remaining: u32, reset: u64) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("ratelimit-limit", limit.to_string()),
        ("ratelimit-remaining", remaining.to_string()),
        ("ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// Run the request and append `{method, path, query, request_headers,
/// request_body, status, response_body}` to the record file.
async fn record(app: &App, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let request_body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .filter(|(name, _)| *name != "authorization")
        .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap_or_default())))
        .collect();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let response_body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let line = json!({
        "method": method,
        "path": path,
        "query": query,
        "request_headers": headers,
        "request_body": request_body,
        "status": parts.status.as_u16(),
        "response_content_type": parts.headers.get("content-type").and_then(|v| v.to_str().ok()),
        "response_body": response_body,
    });
    if let Some(file) = &app.config.record {
        // One writer at a time, one write per line: concurrent requests must not
        // interleave their records.
        let _guard = app.record_lock.lock().expect("record lock");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
        {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
    Response::from_parts(parts, Body::from(bytes)).into_response()
}
