//! What every request goes through, in PagerDuty's order: latency, the rate
//! limit (429 + `ratelimit-*` headers), injected faults, token authentication;
//! then, for the requests they apply to, the strict mode's in-flight
//! association slot and the ambiguous failures; and, when asked, a record of
//! the exchange for the contract check.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::Ordering;

use axum::body::{Body, to_bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::App;
use crate::conn::Cutter;
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
    /// Fraction of events (the enqueue paths) answered 429 or 5xx and dropped.
    pub events_fail_rate: f64,
    pub latency: Duration,
    pub seen: u64,
    /// Events refused so far by `events_fail_rate`.
    pub events_failed: u64,
    rng: u64,
}

impl Faults {
    pub fn new(fail_rate: f64, latency: Duration) -> Faults {
        Faults {
            fail_rate,
            events_fail_rate: 0.0,
            latency,
            seen: 0,
            events_failed: 0,
            rng: 0x2545_F491_4F6C_DD1D,
        }
    }

    pub fn with_events_fail_rate(mut self, rate: f64) -> Faults {
        self.events_fail_rate = rate;
        self
    }

    /// xorshift: the next number in [0, 1).
    fn next(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Ambiguous failures (`Config::ambiguous_rate`): a mutating REST request that
/// is carried out, then answered 500 or not answered at all. This is what makes
/// a blind retry of a create duplicate it — terraform-provider-pagerduty retries
/// creates on any 5xx, and a timeout leaves a client just as unsure. Which
/// requests fail, and how, follows a seeded sequence over the mutating requests
/// in arrival order: the same seed and the same requests, the same failures.
#[derive(Debug)]
pub struct Ambiguous {
    rate: f64,
    rng: u64,
    pub answered_500: u64,
    pub cut_off: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Answer500,
    CutOff,
}

impl Ambiguous {
    pub fn new(rate: f64, seed: u64) -> Ambiguous {
        Ambiguous {
            rate,
            // xorshift must not start at zero.
            rng: seed.max(1),
            answered_500: 0,
            cut_off: 0,
        }
    }

    fn next(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Draw for one mutating request: fail it (and how) or not.
    fn draw(&mut self) -> Option<Outcome> {
        if self.rate <= 0.0 || self.next() >= self.rate {
            return None;
        }
        if self.next() < 0.5 {
            self.answered_500 += 1;
            Some(Outcome::Answer500)
        } else {
            self.cut_off += 1;
            Some(Outcome::CutOff)
        }
    }
}

/// Holds the account's association slot while a `POST
/// /service_dependencies/associate` is processed; frees it when dropped.
struct Associating<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Associating<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// An event the events endpoint did not take: the Events API v2 answers 429
/// ("TooManyRequests": its limits "adjust dynamically") or 5xx with the
/// `Error` body (events-v2-openapiv3.json, `/enqueue` responses); nothing is
/// opened. Alternates 429 and 503 so a sender's handling of both is exercised.
fn events_refused(n: u64) -> Response {
    let (status, name) = if n % 2 == 1 {
        (StatusCode::TOO_MANY_REQUESTS, "throttle event")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "service unavailable")
    };
    (
        status,
        axum::Json(serde_json::json!({
            "status": name,
            "message": "the event was not accepted (injected: --events-fail-rate)",
            "errors": [],
        })),
    )
        .into_response()
}

fn is_events(path: &str) -> bool {
    path.starts_with("/integration/") || path == "/v2/enqueue"
}

pub async fn behave(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    // Strict mode: associations are processed one at a time per account, for as
    // long as a request takes (the latency below); one arriving meanwhile fails
    // with 500. PagerDuty's backend races on parallel calls to this endpoint
    // ("failed: 500 Internal Server Error"), which is why
    // terraform-provider-pagerduty serialises them behind a mutex (PR #724,
    // `resourceServiceDependencyMu` in resource_pagerduty_service_dependency.go).
    let associating = app.config.strict
        && request.method() == Method::POST
        && path == "/service_dependencies/associate";
    let slot = if associating {
        match app
            .associating
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Some(Associating(&app.associating)),
            Err(_) => None,
        }
    } else {
        None
    };
    let (latency, fail, events_refusal) = {
        let mut faults = app.faults.lock().expect("faults lock");
        faults.seen += 1;
        let fail = !is_events(&path) && faults.fail_rate > 0.0 && faults.next() < faults.fail_rate;
        let refuse = is_events(&path)
            && faults.events_fail_rate > 0.0
            && faults.next() < faults.events_fail_rate;
        let refusal = refuse.then(|| {
            faults.events_failed += 1;
            faults.events_failed
        });
        (faults.latency, fail, refusal)
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

    if let Some(n) = events_refusal {
        return events_refused(n);
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

    let (request, captured) = capture(&app, request).await;
    let mut cut = false;
    let mut response = if associating && slot.is_none() {
        overlapping_association()
    } else {
        let mutating = !is_events(&path)
            && !path.starts_with("/_emulator/")
            && matches!(
                *request.method(),
                Method::POST | Method::PUT | Method::DELETE
            );
        let outcome = if mutating {
            app.ambiguous.lock().expect("ambiguous lock").draw()
        } else {
            None
        };
        let cutter = request.extensions().get::<ConnectInfo<Cutter>>().cloned();
        // Carried out in every case: an ambiguous failure happens after the fact.
        let response = next.run(request).await;
        drop(slot);
        match (outcome, cutter) {
            (None, _) => response,
            (Some(Outcome::CutOff), Some(ConnectInfo(cutter))) => {
                cutter.cut();
                cut = true;
                response
            }
            // Over TLS (no cut switch) a cut-off is answered 500 instead.
            (Some(_), _) => ambiguous_500(),
        }
    };
    if let (Some(captured), false) = (captured, cut) {
        response = record(&app, captured, response).await;
    }
    if let Some((limit, remaining, reset)) = limit_headers {
        set_limit_headers(&mut response, limit, remaining, reset);
    }
    response
}

/// 500 for an association that overlaps one in flight.
fn overlapping_association() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        2000,
        vec![],
    )
}

/// 500 for a request that was carried out (an ambiguous failure).
fn ambiguous_500() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        2000,
        vec![],
    )
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

/// A request as recorded: everything but the token.
pub struct Captured {
    method: String,
    path: String,
    query: String,
    headers: serde_json::Map<String, Value>,
    body: Value,
}

/// When recording, read the request's body (and give back an equal request).
async fn capture(app: &App, request: Request) -> (Request, Option<Captured>) {
    if app.config.record.is_none() {
        return (request, None);
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let captured = Captured {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| *name != "authorization")
            .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap_or_default())))
            .collect(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    (
        Request::from_parts(parts, Body::from(bytes)),
        Some(captured),
    )
}

/// Append `{method, path, query, request_headers, request_body, status,
/// response_body}` for the answer the client got to the record file.
async fn record(app: &App, request: Captured, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
    let response_body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let line = json!({
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "request_headers": request.headers,
        "request_body": request.body,
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
