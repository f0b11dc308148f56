//! A proxy before moto that answers some AWS calls the way real AWS does where
//! moto is kinder, in each protocol's own error shape, and forwards the rest:
//!
//! - throttling (the next N calls answered "Rate exceeded");
//! - IAM propagation: the first N `CreateFunction` calls refused with
//!   `InvalidParameterValueException` "The role defined for the function cannot
//!   be assumed by Lambda." ([`lambda`]);
//! - a Lambda update "in progress" for T ms after each update:
//!   `ResourceConflictException` on the next update, `LastUpdateStatus:
//!   InProgress` on reads ([`lambda`]);
//! - IAM `DeleteConflict` on `DeleteRole` for T ms after a `DetachRolePolicy`
//!   of that role ([`iam`]);
//! - SNS http/https subscriptions to endpoints that never confirm, left in
//!   `PendingConfirmation` ([`sns`]);
//! - S3 conditional writes made atomic, as S3's are: the writes of one object
//!   reach moto one at a time ([`s3`]);
//! - a fixed latency per call, and counters of calls per action and of faults
//!   injected (`GET /_fault_proxy/counters` too).
//!
//! Start it in-process with [`FaultProxy::start`] or as the `aws-fault-proxy`
//! binary (README.md).

mod call;
mod errors;
mod iam;
mod lambda;
mod s3;
mod sns;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

pub use call::{Call, Protocol};

/// Which faults the proxy injects.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Added to every AWS call before it is answered.
    pub latency: Duration,
    /// Answer the next N calls (any service) as throttled.
    pub throttle: u32,
    /// Refuse the next N `CreateFunction` calls as AWS does while a new
    /// execution role has not propagated.
    pub create_function_refusals: u32,
    /// After each Lambda `UpdateFunctionCode`/`UpdateFunctionConfiguration`,
    /// the update is "in progress" this long.
    pub lambda_update_window: Duration,
    /// After a `DetachRolePolicy`, `DeleteRole` of that role conflicts this long.
    pub delete_role_window: Duration,
    /// http/https endpoints (URL prefixes) that never confirm an SNS subscription.
    pub non_confirming_endpoints: Vec<String>,
    /// Answer the next N CloudWatch Logs changes (`Put*`, `Delete*`, `Create*`,
    /// `TagResource`, `UntagResource`) `OperationAbortedException`, as CloudWatch
    /// Logs does when another request is changing the same resource.
    pub log_change_aborts: u32,
}

/// Calls per `service:Action`, the milliseconds they took here (the
/// injected latency plus moto's own time: what a caller could not have
/// avoided), and faults injected per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub calls: BTreeMap<String, u64>,
    pub milliseconds: BTreeMap<String, f64>,
    pub faults: BTreeMap<String, u64>,
}

impl Counters {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"calls": self.calls, "milliseconds": self.milliseconds, "faults": self.faults})
    }
}

/// Fault kinds, as counted.
pub mod fault {
    pub const THROTTLED: &str = "throttled";
    pub const ROLE_NOT_ASSUMABLE: &str = "create_function_role_not_assumable";
    pub const UPDATE_IN_PROGRESS: &str = "lambda_update_in_progress";
    pub const DELETE_CONFLICT: &str = "delete_role_conflict";
    pub const PENDING_SUBSCRIPTION: &str = "pending_subscription";
    pub const LOG_CHANGE_ABORTED: &str = "log_change_aborted";
}

/// The proxy's state: what it was told to inject, what it remembers, what it counted.
#[derive(Debug, Default)]
struct Memory {
    faults: Faults,
    throttle_left: u32,
    throttled_since_armed: u32,
    refusals_left: u32,
    log_aborts_left: u32,
    /// Function name -> (update in progress until, function ARN).
    updating: BTreeMap<String, (Instant, String)>,
    /// Role name -> DeleteRole conflicts until.
    detached: BTreeMap<String, Instant>,
    pending: Vec<sns::Pending>,
    counters: Counters,
    next_id: u64,
}

impl Memory {
    fn arm(&mut self, faults: Faults) {
        self.throttle_left = faults.throttle;
        self.throttled_since_armed = 0;
        self.refusals_left = faults.create_function_refusals;
        self.log_aborts_left = faults.log_change_aborts;
        self.faults = faults;
    }

    fn injected(&mut self, kind: &str) {
        *self.counters.faults.entry(kind.to_owned()).or_default() += 1;
    }
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    state: Mutex<Memory>,
    object_writes: s3::ObjectWrites,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.state.lock().expect("proxy state")
    }
}

/// A running proxy; dropping it (or `shutdown`) stops it.
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    stop: Option<watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FaultProxy {
    /// Listen on `listen` (port 0 for a free one) and forward to `upstream`
    /// (moto's URL), injecting `faults`.
    pub async fn start(
        upstream: &str,
        listen: SocketAddr,
        faults: Faults,
    ) -> anyhow::Result<FaultProxy> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let mut state = Memory::default();
        state.arm(faults);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
            state: Mutex::new(state),
            object_writes: s3::ObjectWrites::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        Ok(FaultProxy {
            url,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the endpoint URL to give the SDK.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Inject these faults from now on (the counted ones — throttles,
    /// `CreateFunction` refusals — start again from their numbers).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.state().arm(faults);
    }

    /// Throttle the next `n` calls.
    pub fn throttle_next(&self, n: u32) {
        let mut state = self.shared.state();
        state.throttle_left = n;
        state.throttled_since_armed = 0;
    }

    /// Calls throttled since the last `throttle_next` (or `set_faults`).
    pub fn throttled(&self) -> u32 {
        self.shared.state().throttled_since_armed
    }

    pub fn counters(&self) -> Counters {
        self.shared.state().counters.clone()
    }

    /// Calls of one `service:Action` so far (e.g. `lambda:CreateFunction`).
    pub fn calls(&self, key: &str) -> u64 {
        self.counters().calls.get(key).copied().unwrap_or(0)
    }

    /// Faults of one kind ([`fault`]) injected so far.
    pub fn injected(&self, kind: &str) -> u64 {
        self.counters().faults.get(kind).copied().unwrap_or(0)
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A request as the proxy saw it.
pub(crate) struct Incoming {
    method: Method,
    /// Path and query.
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Incoming {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }
}

/// An answer from moto.
pub(crate) struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Upstream {
    fn ok(&self) -> bool {
        self.status.is_success()
    }

    fn into_response(self) -> Response {
        let mut response = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            // The body may have been rewritten; hyper sets the framing again.
            if name != header::TRANSFER_ENCODING
                && name != header::CONNECTION
                && name != header::CONTENT_LENGTH
            {
                response = response.header(name, value);
            }
        }
        response
            .body(Body::from(self.body))
            .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
    }
}

/// Send the request on to moto as it came.
async fn forward(shared: &Shared, incoming: &Incoming) -> Result<Upstream, Response> {
    let mut headers = incoming.headers.clone();
    headers.remove(header::HOST);
    // The body may not be the one that came (a check made up by the proxy).
    headers.remove(header::CONTENT_LENGTH);
    let answer = shared
        .http
        .request(
            incoming.method.clone(),
            format!("{}{}", shared.upstream, incoming.target),
        )
        .headers(headers)
        .body(incoming.body.clone())
        .send()
        .await
        .map_err(|e| bad_gateway(&e))?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.map_err(|e| bad_gateway(&e))?;
    Ok(Upstream {
        status,
        headers,
        body,
    })
}

fn bad_gateway(e: &reqwest::Error) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        format!("aws-fault-proxy: upstream unreachable: {e}"),
    )
        .into_response()
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let incoming = Incoming {
        method: parts.method,
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into()),
        headers: parts.headers,
        body,
    };
    if incoming.method == Method::GET && incoming.path() == "/_fault_proxy/counters" {
        let counters = shared.state().counters.to_json();
        return (
            [(header::CONTENT_TYPE, "application/json")],
            counters.to_string(),
        )
            .into_response();
    }
    let call = call::classify(
        &incoming.method,
        incoming.path(),
        &incoming.headers,
        &incoming.body,
    );
    let received = std::time::Instant::now();
    let latency = {
        let mut state = shared.state();
        *state.counters.calls.entry(call.key()).or_default() += 1;
        state.faults.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    {
        let mut state = shared.state();
        if state.throttle_left > 0 {
            state.throttle_left -= 1;
            state.throttled_since_armed += 1;
            state.injected(fault::THROTTLED);
            return errors::throttled(&call);
        }
        // CloudWatch Logs API Reference, common errors of PutRetentionPolicy,
        // PutMetricFilter, CreateLogGroup, ...: "OperationAbortedException:
        // Multiple concurrent requests to update the same resource were in
        // conflict" (HTTP 400).
        let log_change = call.service == "logs"
            && ["Put", "Delete", "Create", "TagResource", "UntagResource"]
                .iter()
                .any(|p| call.action.starts_with(p));
        if log_change && state.log_aborts_left > 0 {
            state.log_aborts_left -= 1;
            state.injected(fault::LOG_CHANGE_ABORTED);
            return errors::json_error(
                StatusCode::BAD_REQUEST,
                "OperationAbortedException",
                "Multiple concurrent requests to update the same resource were in conflict.",
            );
        }
    }
    let answer = match (call.service.as_str(), call.action.as_str()) {
        ("lambda", _) => lambda::handle(&shared, &call, &incoming).await,
        ("iam", "DetachRolePolicy" | "DeleteRole") => iam::handle(&shared, &call, &incoming).await,
        ("sns", _) => sns::handle(&shared, &call, &incoming).await,
        ("s3", _) => s3::handle(&shared, &call, &incoming).await,
        _ => forward(&shared, &incoming)
            .await
            .map(Upstream::into_response),
    };
    let took = received.elapsed().as_secs_f64() * 1000.0;
    *shared
        .state()
        .counters
        .milliseconds
        .entry(call.key())
        .or_default() += took;
    answer.unwrap_or_else(|refusal| refusal)
}
