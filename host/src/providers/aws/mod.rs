//! The AWS provider: the official Rust SDK, the standard credential and region
//! chain, `AWS_ENDPOINT_URL[_<SERVICE>]` honoured (how tests reach moto).
//!
//! One file per kind in `kinds/`; this file holds what they share: the clients,
//! the one way every SDK call is made (retried while transient, errors mapped to
//! `ProviderError` naming the resource, the AWS code and message), and tags.
//! `object.rs` is the toolkit of the kinds that are one tagged object (read,
//! delete, find and the tag sync written once).
//! `probe.rs` is what `blueprint drill` uses.

pub mod access;
mod batch;
pub mod kinds;
mod object;
mod probe;
mod rates;
mod reads;

pub use reads::Alarms;

use std::fmt::Display;

use aws_config::BehaviorVersion;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::{Value, json};

use super::deadline;
use super::retry::{self, Policy, Verdict};
use super::{
    Desired, ErrorClass, Found, KindProvider, Proof, ProviderError, ProviderResult, Resource,
    ResourceKind, SetupError, TAG_BLUEPRINT, TAG_NODE,
};
use crate::blueprint_file::AwsSettings;
use crate::runtime::wit::aws::Tag;

pub struct AwsProvider {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sts: aws_sdk_sts::Client,
    region: String,
    /// Where calls go, for messages: `AWS_ENDPOINT_URL`, or the region's own.
    endpoint: String,
    transient: Policy,
    propagation: Policy,
    /// `--parallelism auto`: each API within its published rate.
    rates: Option<std::sync::Arc<rates::Rates>>,
    /// The credentials' partition and account, asked of STS once.
    principal: tokio::sync::OnceCell<(String, String)>,
    /// Alarms read by name, many in one DescribeAlarms ([`reads`]).
    alarms: batch::Batcher<String, Alarms>,
    /// Log groups read by name, many in one DescribeLogGroups.
    log_groups: batch::Batcher<String, Vec<aws_sdk_cloudwatchlogs::types::LogGroup>>,
}

impl AwsProvider {
    /// The standard chain (env, profile, SSO, IMDS), with the blueprint file's
    /// region and profile taking precedence.
    pub async fn new(settings: &AwsSettings) -> Result<AwsProvider, SetupError> {
        let provider = Self::with_config(&sdk_config(settings).await?);
        Ok(if settings.paced {
            provider.paced()
        } else {
            provider
        })
    }

    /// Keep each API within its published rate ([`rates`]).
    pub fn paced(mut self) -> Self {
        self.rates = Some(Default::default());
        self
    }

    pub fn with_config(config: &aws_config::SdkConfig) -> AwsProvider {
        // One retry layer: the host's (`call_with`), which knows propagation,
        // in-use deletes and unreachable hosts; the SDK's would retry inside it.
        let config = &config
            .to_builder()
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        let region = config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let endpoint = match config.endpoint_url() {
            Some(url) => url.to_owned(),
            None => format!("the AWS endpoints of {region}"),
        };
        AwsProvider {
            iam: aws_sdk_iam::Client::new(config),
            s3: s3_client(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            events: aws_sdk_eventbridge::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            region,
            endpoint,
            transient: Policy::TRANSIENT,
            propagation: Policy::PROPAGATION,
            rates: None,
            principal: Default::default(),
            alarms: batch::Batcher::new(
                reads::DESCRIBE_ALARMS_NAMES,
                reads::BATCHED_CALLS_IN_FLIGHT,
            ),
            log_groups: batch::Batcher::new(
                reads::DESCRIBE_LOG_GROUPS_IDENTIFIERS,
                reads::BATCHED_CALLS_IN_FLIGHT,
            ),
        }
    }

    /// Shorter retry bounds (tests).
    pub fn with_policies(mut self, transient: Policy, propagation: Policy) -> Self {
        self.transient = transient;
        self.propagation = propagation;
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Run one SDK call, retried while the failure is transient.
    async fn call<T, E, F, Fut>(&self, address: &str, op: F) -> ProviderResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call_with(address, self.transient, &[], op).await
    }

    /// Like `call`, and also retry errors whose code or message contains one of
    /// `also` (eventual consistency, e.g. a fresh IAM role), within the longer
    /// propagation bound.
    async fn call_retrying<T, E, F, Fut>(
        &self,
        address: &str,
        also: &[&str],
        op: F,
    ) -> ProviderResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.call_with(address, self.propagation, also, op).await
    }

    async fn call_with<T, E, F, Fut>(
        &self,
        address: &str,
        policy: Policy,
        also: &[&str],
        op: F,
    ) -> ProviderResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let started = std::time::Instant::now();
        // Built after the rate wait: a batched read takes its keys then.
        let op = std::sync::Mutex::new(op);
        let waiting = || {
            format!(
                "AWS {} ({address}) at {}",
                operation_of::<E>(),
                self.endpoint
            )
        };
        let attempt = || async {
            if let Some(rates) = &self.rates {
                rates.wait_turn(&operation_of::<E>()).await;
            }
            let call = (op.lock().expect("call lock"))();
            crate::timings::timed(
                "api",
                || format!("AWS {}", operation_of::<E>()),
                deadline::noticed(waiting, call),
            )
            .await
        };
        retry::retry(address, policy, attempt, |e: &SdkError<E, HttpResponse>| {
            match transport_failure(e) {
                // It may have been carried out; another try would wait as long.
                Some(Transport::Timeout) => return Verdict::Stop,
                Some(Transport::Unreachable) => return deadline::when_unreachable(started),
                None => {}
            }
            let error = map_error(address, e);
            let text = error.message.as_str();
            if error.class == ErrorClass::Transient || also.iter().any(|a| text.contains(a)) {
                Verdict::Retry
            } else {
                Verdict::Stop
            }
        })
        .await
        .map_err(|e| self.failure(address, &e))
    }

    /// A call's final error: [`map_error`]'s, or for a call that never got an
    /// answer, which service and operation, at which endpoint, and why.
    fn failure<E>(&self, address: &str, error: &SdkError<E, HttpResponse>) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let call = operation_of::<E>();
        match transport_failure(error) {
            Some(Transport::Timeout) => ProviderError::new(
                ErrorClass::Transient,
                format!(
                    "{address}: AWS {call} at {} did not answer within {} s (BLUEPRINT_CALL_TIMEOUT sets the limit)",
                    self.endpoint,
                    deadline::call_timeout().as_secs()
                ),
            ),
            Some(Transport::Unreachable) => ProviderError::new(
                ErrorClass::Transient,
                format!(
                    "{address}: AWS {call} at {} cannot be reached (tried for {} s): {}",
                    self.endpoint,
                    deadline::UNREACHABLE_FOR.as_secs(),
                    deadline::error_chain(error)
                ),
            ),
            None => map_error(address, error),
        }
    }
}

/// The standard chain (env, profile, SSO, IMDS), with the blueprint file's region
/// and profile taking precedence.
pub async fn sdk_config(settings: &AwsSettings) -> Result<aws_config::SdkConfig, SetupError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        aws_smithy_types::timeout::TimeoutConfig::builder()
            .connect_timeout(deadline::CONNECT_TIMEOUT)
            .operation_attempt_timeout(deadline::call_timeout())
            // Clients that keep the SDK's retries (the S3 state store, guest
            // downloads) are bounded too: three attempts at most.
            .operation_timeout(deadline::call_timeout() * 3)
            .build(),
    );
    if let Some(region) = &settings.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(SetupError::NoAwsRegion);
    }
    Ok(config)
}

/// An S3 client; path-style addressing against an endpoint URL (moto, LocalStack,
/// MinIO), whose buckets are not DNS names.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint =
        config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(custom_endpoint)
            .build(),
    )
}

/// Why [`read_object`] read nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReadObjectError {
    #[error("{0}")]
    Setup(#[from] SetupError),
    /// The service's answer (`S3: AWS <Code>: <message>`).
    #[error("{0}")]
    S3(ProviderError),
    /// The body broke off while it was read.
    #[error("{0}")]
    Body(String),
}

/// One S3 object, whole: the one read that guests (`guest.s3`) and Terraform
/// state files (`import --from-terraform-state s3://…`) share, through the
/// standard credential chain and these settings. The error is the service's
/// (`S3: AWS <Code>: <message>`), for the caller to say what it was reading.
pub async fn read_object(
    settings: &AwsSettings,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, ReadObjectError> {
    let config = sdk_config(settings).await?;
    let out = s3_client(&config)
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| ReadObjectError::S3(map_error("S3", &e)))?;
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| ReadObjectError::Body(e.to_string()))?;
    Ok(body.into_bytes().to_vec())
}

/// How a call failed before AWS answered, where that decides what is done next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// The attempt was sent and ran out of time (`BLUEPRINT_CALL_TIMEOUT`).
    Timeout,
    /// AWS was not reached: no DNS answer, connection refused, the connect
    /// timeout.
    Unreachable,
}

fn transport_failure<E: std::error::Error + 'static>(
    error: &SdkError<E, HttpResponse>,
) -> Option<Transport> {
    match error {
        SdkError::TimeoutError(_) => Some(Transport::Timeout),
        // Only a failure to connect (or to resolve the name) proves AWS was not
        // reached; a connection that broke after the request was sent stays a
        // transient error, retried as before.
        SdkError::DispatchFailure(failure) => {
            let chain = deadline::error_chain(error);
            let connect = failure.as_connector_error().is_some_and(|c| c.is_timeout())
                || chain.contains("(Connect)")
                || chain.contains("dns error");
            connect.then_some(Transport::Unreachable)
        }
        _ => None,
    }
}

/// `SNS CreateTopic`-like words for an operation's error type
/// (`aws_sdk_sns::operation::create_topic::CreateTopicError`).
fn operation_of<E>() -> String {
    let path = std::any::type_name::<E>();
    let mut parts = path.split("::");
    let service = parts
        .next()
        .and_then(|c| c.strip_prefix("aws_sdk_"))
        .unwrap_or("service")
        .to_uppercase();
    match (parts.next(), parts.next()) {
        (Some("operation"), Some(operation)) => format!("{service} {operation}"),
        _ => service,
    }
}

/// A 403 with no body: S3 answers HEAD requests so, whatever the reason. Name
/// the permission the call needs (API_HeadObject.html, API_HeadBucket.html),
/// the likely reason within one account.
fn forbidden_head<E>(address: &str) -> String {
    let operation = operation_of::<E>();
    let permission = match operation.as_str() {
        "S3 head_object" => " s3:GetObject",
        "S3 head_bucket" => " s3:ListBucket",
        _ => "",
    };
    format!(
        "{address}: AWS answered 403 Forbidden with no body ({operation}; HEAD answers carry none): \
         these credentials are likely not authorized to perform:{permission} on it \
         (`blueprint iam-policy` lists what a command needs)"
    )
}

/// An SDK error as a `ProviderError`: `address: AWS <Code>: <message>`.
pub(crate) fn map_error<E>(address: &str, error: &SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            if status == 403 && e.code().is_none() && e.message().is_none() {
                return ProviderError::new(ErrorClass::Auth, forbidden_head::<E>(address));
            }
            let code = e.code().unwrap_or("Unknown");
            let message = e.message().unwrap_or("no message");
            ProviderError::new(
                classify(code, status),
                format!("{address}: AWS {code}: {message}"),
            )
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::new(
                ErrorClass::Transient,
                format!(
                    "{address}: AWS unreachable: {}",
                    deadline::error_chain(error)
                ),
            )
        }
        other => ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{address}: AWS request failed: {}",
                deadline::error_chain(other)
            ),
        ),
    }
}

fn classify(code: &str, status: u16) -> ErrorClass {
    const NOT_FOUND: &[&str] = &[
        "NoSuchEntity",
        "ResourceNotFoundException",
        "NoSuchBucket",
        "NoSuchKey",
        "NotFound",
        "NotFoundException",
        "ResourceNotFound",
        // SQS (JSON protocol, and the query code it keeps compatible).
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    ];
    const CONFLICT: &[&str] = &[
        "EntityAlreadyExists",
        "ResourceAlreadyExistsException",
        "BucketAlreadyExists",
        "BucketAlreadyOwnedByYou",
        "ResourceConflictException",
        "DeleteConflict",
    ];
    const THROTTLED: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "ServiceUnavailable",
        "InternalFailure",
        // CloudWatch Logs, 400: "Multiple concurrent requests to update the same
        // resource were in conflict" (CloudWatch Logs API Reference, Common
        // Errors of PutRetentionPolicy, PutMetricFilter, ...): it passes.
        "OperationAbortedException",
    ];
    const AUTH: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "SignatureDoesNotMatch",
        "AuthorizationError",
    ];
    if NOT_FOUND.contains(&code) || status == 404 {
        ErrorClass::NotFound
    } else if THROTTLED.contains(&code) || status == 429 || status >= 500 {
        ErrorClass::Transient
    } else if AUTH.contains(&code) || status == 403 {
        ErrorClass::Auth
    } else if CONFLICT.contains(&code) || status == 409 {
        ErrorClass::Conflict
    } else {
        ErrorClass::Invalid
    }
}

/// `Ok(None)` for not-found, the value otherwise.
fn optional<T>(result: ProviderResult<T>) -> ProviderResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deleting what is already gone succeeds.
fn gone_ok(result: ProviderResult<()>) -> ProviderResult<()> {
    optional(result).map(|_| ())
}

fn prior_str<'a>(prior: &'a Resource, prop: &str) -> ProviderResult<&'a str> {
    prior
        .props
        .get(prop)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("recorded resource {} lacks `{prop}`", prior.id),
            )
        })
}

/// The user's tags plus ours (`blueprint:name`, `blueprint:node`).
fn tags(desired: &Desired<'_>, user: Option<&[Tag]>) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = user
        .unwrap_or_default()
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    tags.push((TAG_BLUEPRINT.into(), desired.blueprint.into()));
    tags.push((TAG_NODE.into(), desired.node.into()));
    tags
}

/// Observed tags in prop shape: the user's only, sorted.
fn user_tags(pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    let mut tags: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| !k.starts_with("blueprint:"))
        .collect();
    tags.sort();
    Value::Array(
        tags.into_iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect(),
    )
}

/// Whether observed tags carry this blueprint's node.
fn tagged_for(pairs: &[(String, String)], desired: &Desired<'_>) -> bool {
    let has = |k: &str, v: &str| pairs.iter().any(|(a, b)| a == k && b == v);
    has(TAG_BLUEPRINT, desired.blueprint) && has(TAG_NODE, desired.node)
}

/// A resource found by name, proven ours or not by its tags.
fn by_tags(resource: Resource, pairs: &[(String, String)], desired: &Desired<'_>) -> Found {
    let proof = if tagged_for(pairs, desired) {
        Proof::Tagged
    } else {
        Proof::Untagged
    };
    Found::new(resource, proof)
}

/// Keep only props AWS reported (null for what it did not), so the engine falls
/// back to what was applied for anything AWS does not echo.
fn props(pairs: Vec<(&str, Value)>) -> serde_json::Map<String, Value> {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn opt<T: Display>(value: Option<T>) -> Value {
    value.map_or(Value::Null, |v| json!(v.to_string()))
}

impl KindProvider for AwsProvider {
    const NAME: &'static str = "aws";

    fn kinds() -> &'static [&'static dyn ResourceKind<Self>] {
        kinds::KINDS
    }

    fn pace_of(&self, calls: &[&str]) -> std::time::Duration {
        match &self.rates {
            Some(_) => rates::scarcest(calls),
            None => std::time::Duration::ZERO,
        }
    }

    fn alarm_probe(&self) -> Option<&dyn super::probe::AlarmProbe> {
        Some(self)
    }
}

/// Two strings holding the same JSON document (services normalise policies).
fn same_json_text(desired: &Value, observed: &Value) -> bool {
    let as_json = |v: &Value| {
        v.as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    };
    as_json(desired).is_some() && as_json(desired) == as_json(observed)
}

/// Two lists with the same items in any order (tags, environment variables).
fn same_set(desired: &Value, observed: &Value) -> bool {
    let sorted = |v: &Value| {
        let mut items: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect();
        items.sort();
        items
    };
    sorted(desired) == sorted(observed)
}

/// A resource policy's `policy` prop (a queue's, a topic's): IAM's grammar,
/// "[\u0009\u000A\u000D\u0020-\u00FF]+" (IAM API Reference, PolicyDocument),
/// which SQS's and SNS's `Policy` attributes follow.
const POLICY_CONTROLS: &[(&str, blueprint_model::kind::Controls)] = &[(
    "policy",
    blueprint_model::kind::Controls::These(&['\t', '\n', '\r']),
)];

/// A literal `policy` prop is a JSON document.
fn check_policy_document(c: &mut blueprint_model::kind::Checker<'_>) {
    if let Some(policy) = c.literal("policy")
        && let Err(e) = serde_json::from_str::<Value>(policy)
    {
        c.bad("policy", format!("is not a JSON document: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_log_changes_are_retried() {
        assert_eq!(
            classify("OperationAbortedException", 400),
            ErrorClass::Transient
        );
        assert_eq!(
            classify("InvalidParameterException", 400),
            ErrorClass::Invalid
        );
    }
}
