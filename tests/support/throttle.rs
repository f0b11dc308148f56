//! A proxy before moto that answers the first N requests the way a throttling AWS
//! does, in each protocol's own shape, then forwards the rest: moto never
//! throttles, and the provider's retries must be proven on the real SDK path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::moto::{Moto, REGION};

struct Shared {
    upstream: String,
    /// Requests still to be throttled.
    budget: AtomicU32,
    throttled: AtomicU32,
    http: reqwest::Client,
}

pub struct ThrottlingProxy {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl ThrottlingProxy {
    pub async fn start(moto: &Moto) -> ThrottlingProxy {
        let shared = Arc::new(Shared {
            upstream: moto.url.clone(),
            budget: AtomicU32::new(0),
            throttled: AtomicU32::new(0),
            http: reqwest::Client::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ThrottlingProxy { url, shared, task }
    }

    /// Throttle the next `n` requests.
    pub fn throttle_next(&self, n: u32) {
        self.shared.budget.store(n, Ordering::SeqCst);
        self.shared.throttled.store(0, Ordering::SeqCst);
    }

    /// Requests throttled since the last `throttle_next`.
    pub fn throttled(&self) -> u32 {
        self.shared.throttled.load(Ordering::SeqCst)
    }

    /// An SDK config pointed at the proxy. The SDK's own retries are kept (as users
    /// have them) but with short delays, so the test is quick.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new(REGION))
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_initial_backoff(Duration::from_millis(5))
                    .with_max_backoff(Duration::from_millis(20)),
            )
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }
}

impl Drop for ThrottlingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let throttle = shared
        .budget
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if throttle {
        shared.throttled.fetch_add(1, Ordering::SeqCst);
        return throttled(request.headers(), request.uri().path());
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let url = format!(
        "{}{}",
        shared.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    let upstream = shared
        .http
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if name != header::TRANSFER_ENCODING && name != header::CONNECTION {
            response = response.header(name, value);
        }
    }
    let bytes: Bytes = upstream.bytes().await.unwrap();
    response.body(Body::from(bytes)).unwrap()
}

/// "Rate exceeded" in the protocol the request spoke.
fn throttled(headers: &HeaderMap, path: &str) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        // Query protocol (IAM, SNS, CloudWatch).
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                    <Message>Rate exceeded</Message></Error><RequestId>throttle</RequestId></ErrorResponse>";
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/xml")],
            body,
        )
            .into_response()
    } else if content_type.starts_with("application/x-amz-json") {
        // JSON protocol (CloudWatch Logs).
        let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, content_type)],
            body,
        )
            .into_response()
    } else if path.starts_with("/2015-03-31/") {
        // REST-JSON (Lambda).
        let body = r#"{"message":"Rate exceeded","Type":"User"}"#;
        (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::HeaderName::from_static("x-amzn-errortype"),
                    "TooManyRequestsException",
                ),
            ],
            body,
        )
            .into_response()
    } else {
        // REST-XML (S3).
        let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/xml")],
            body,
        )
            .into_response()
    }
}
