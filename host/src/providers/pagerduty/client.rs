//! PagerDuty's REST API v2 over reqwest: authentication headers, error bodies,
//! offset/limit pagination, and retries (429 honouring `ratelimit-reset`, 5xx and
//! network errors with jittered backoff). The token is only ever in a header.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::budget::Budget;
use crate::providers::deadline;
use crate::providers::retry::{self, Policy, Verdict};
use crate::providers::{ErrorClass, ProviderError};

/// One failed request, before it is tied to a resource.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: Option<StatusCode>,
    /// PagerDuty's own message (and field errors), or the transport error.
    pub message: String,
    /// From `ratelimit-reset` / `retry-after` on a 429.
    pub retry_after: Option<Duration>,
    /// A POST answered 5xx or cut off after it was sent: it may have been carried
    /// out, so it is never re-sent blind (see [`ErrorClass::Ambiguous`]).
    pub ambiguous: bool,
    /// No answer came: how (decides whether it is tried again; `deadline.rs`).
    pub transport: Option<Transport>,
    /// Refused by the client before any request (a list past what offset
    /// pagination reaches): nothing to retry.
    pub local: bool,
}

/// How a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Sent, and no answer within `BLUEPRINT_CALL_TIMEOUT`: not tried again.
    Timeout,
    /// PagerDuty was not reached (no DNS answer, connection refused, TLS
    /// failure, the connect timeout): tried again for a few seconds at most.
    Unreachable,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.status, self.transport) {
            (Some(status), _) => write!(f, "PagerDuty {}: {}", status.as_u16(), self.message),
            (None, Some(Transport::Timeout)) => {
                write!(f, "PagerDuty did not answer: {}", self.message)
            }
            (None, _) if self.local => write!(f, "PagerDuty: {}", self.message),
            (None, _) => write!(f, "PagerDuty unreachable: {}", self.message),
        }?;
        if self.ambiguous {
            f.write_str(" (the request may have been carried out)")?;
        }
        Ok(())
    }
}

impl ApiError {
    pub fn is_not_found(&self) -> bool {
        self.status == Some(StatusCode::NOT_FOUND)
    }

    pub fn class(&self) -> ErrorClass {
        if self.ambiguous {
            return ErrorClass::Ambiguous;
        }
        match self.status.map(|s| s.as_u16()) {
            Some(404) => ErrorClass::NotFound,
            Some(401 | 403) => ErrorClass::Auth,
            Some(409) => ErrorClass::Conflict,
            // PagerDuty's unique names (services, escalation policies, teams,
            // business services) answer 400 "Name has already been taken"
            // (terraform-provider-pagerduty issue #556; openshift/pagerduty-operator
            // PR #43 adopts the existing service on this message).
            Some(400) if self.message.contains("Name has already been taken") => {
                ErrorClass::Conflict
            }
            None if self.local => ErrorClass::Invalid,
            Some(429) | Some(500..=599) | None => ErrorClass::Transient,
            Some(_) => ErrorClass::Invalid,
        }
    }

    /// PagerDuty refused a delete because something still uses the object; it
    /// can succeed once that is gone (or once PagerDuty has caught up with its
    /// deletion):
    /// - "Schedule can't be deleted if it's being used by escalation policies"
    ///   (terraform-provider-pagerduty PR #561; resource_pagerduty_schedule.go
    ///   matches it), and the same refusal for a policy services use
    ///   (resource_pagerduty_escalation_policy.go retries a 400 on delete);
    /// - "User cannot be removed as they belong to an escalation policy on this
    ///   team" (PR #558; resource_pagerduty_team_membership.go retries it,
    ///   issue #1119);
    /// - "Team has existing associations" (code 6006, issue #358).
    pub fn in_use(&self) -> bool {
        const IN_USE: &[&str] = &[
            "being used by",
            "belong to an escalation policy",
            "Team has existing associations",
        ];
        // Open incidents do not go away by waiting (`open_incidents`).
        self.status == Some(StatusCode::BAD_REQUEST)
            && IN_USE.iter().any(|m| self.message.contains(m))
            && !super::open_incidents::blocks(self)
    }

    /// Tie the error to the resource it happened on.
    pub fn at(&self, address: &str) -> ProviderError {
        ProviderError::new(self.class(), format!("{address}: {self}"))
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    pub transient: Policy,
    /// Shared by every client of this token in the process.
    budget: Arc<Budget>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

/// Most PagerDuty lists allow 100 per page.
const PAGE: usize = 100;
/// The most results offset pagination reaches
/// (developer.pagerduty.com/docs/rest-api-v2/pagination).
const MAX_OFFSET_RESULTS: usize = 10_000;

impl Client {
    pub fn new(base: &str, token: &str) -> Result<Client, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(deadline::CONNECT_TIMEOUT)
            .timeout(deadline::call_timeout())
            .user_agent(concat!("blueprint/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            transient: Policy::TRANSIENT,
            budget: Budget::for_token(base.trim_end_matches('/'), token),
        })
    }

    /// One request, retried while the failure is transient. A POST (not
    /// idempotent: a retried create can duplicate) is retried only when it surely
    /// did not land — a 429, a refused connection — and otherwise ends in an
    /// [`ErrorClass::Ambiguous`] error for the caller to resolve (find, adopt, or
    /// create again).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        self.call_from(method, path, query, body, None).await
    }

    /// Like `call`, on behalf of the user with this email (the `From` header that
    /// incident changes need with an account-level API key).
    pub async fn call_from(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        from: Option<&str>,
    ) -> Result<Value, ApiError> {
        let repeatable = method != Method::POST;
        self.call_inner(method, path, query, body, from, repeatable)
            .await
    }

    /// A POST that does the same when sent twice (e.g. `disassociate`): retried
    /// like a PUT.
    pub async fn call_repeatable(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        self.call_inner(method, path, &[], body, None, true).await
    }

    async fn call_inner(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        from: Option<&str>,
        repeatable: bool,
    ) -> Result<Value, ApiError> {
        let what = format!("{method} {path}");
        let started = std::time::Instant::now();
        let attempt = || {
            crate::timings::timed(
                "api",
                || format!("PagerDuty {method} {}", crate::timings::path_shape(path)),
                deadline::noticed(
                    || format!("PagerDuty {what} at {}", self.base),
                    self.once(method.clone(), path, query, body, from, repeatable),
                ),
            )
        };
        retry::retry(&what, self.transient, attempt, |e: &ApiError| {
            match (e.transport, e.class(), e.retry_after) {
                // It may have been carried out: never re-sent blind.
                (_, ErrorClass::Ambiguous, _) => Verdict::Stop,
                (Some(Transport::Timeout), _, _) => Verdict::Stop,
                (Some(Transport::Unreachable), _, _) => deadline::when_unreachable(started),
                (_, ErrorClass::Transient, Some(after)) => Verdict::RetryAfter(after),
                (_, ErrorClass::Transient, None) => Verdict::Retry,
                _ => Verdict::Stop,
            }
        })
        .await
        .map_err(|mut e| {
            match e.transport {
                Some(Transport::Timeout) => {
                    e.message = format!(
                        "{what} at {} got no answer within {} s (BLUEPRINT_CALL_TIMEOUT sets the limit)",
                        self.base,
                        deadline::call_timeout().as_secs()
                    )
                }
                Some(Transport::Unreachable) => {
                    e.message = format!(
                        "{} cannot be reached (tried for {} s): {}",
                        self.base,
                        deadline::UNREACHABLE_FOR.as_secs(),
                        e.message
                    )
                }
                None => {}
            }
            e
        })
    }

    async fn once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        from: Option<&str>,
        repeatable: bool,
    ) -> Result<Value, ApiError> {
        let not_idempotent = !repeatable;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Token token={}", self.token))
            .header("Accept", "application/vnd.pagerduty+json;version=2")
            .query(query);
        if let Some(from) = from {
            request = request.header("From", from);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let asked = std::time::Instant::now();
        let ticket = self.budget.acquire().await?;
        if crate::timings::enabled() && asked.elapsed() >= std::time::Duration::from_millis(1) {
            let track = crate::timings::current_track();
            let now = std::time::Instant::now();
            crate::timings::span(
                &track,
                "PagerDuty rate budget",
                "wait",
                asked,
                now,
                Value::Null,
            );
        }
        let response = request.send().await;
        if let Ok(answer) = &response {
            self.budget.observe(ticket, rate_limit(answer.headers()));
        }
        let response = response.map_err(|e| {
            // Not connected: PagerDuty never saw it. Timed out once sent: it may
            // have. Anything else (a connection closed before the answer) stays
            // a transient or ambiguous error, as its class says.
            let transport = if e.is_connect() {
                Some(Transport::Unreachable)
            } else if e.is_timeout() {
                Some(Transport::Timeout)
            } else {
                None
            };
            ApiError {
                status: None,
                // A refused connection never reached PagerDuty; anything later (a
                // timeout, a connection closed before the answer) may have.
                ambiguous: not_idempotent && !e.is_connect(),
                // The cause (the name did not resolve, the connection was
                // refused, the certificate was not trusted) is in the sources;
                // reqwest's own message names the URL, never headers.
                message: deadline::error_chain(&e.without_url()),
                retry_after: None,
                transport,
                local: false,
            }
        });
        let response = match response {
            Ok(answer) => answer,
            Err(error) => {
                self.budget.no_answer(ticket, &error);
                return Err(error);
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers(), status);
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|e| ApiError {
                status: Some(status),
                message: format!("unreadable response: {e}"),
                retry_after: None,
                ambiguous: false,
                transport: None,
                local: false,
            });
        }
        Err(ApiError {
            status: Some(status),
            message: error_message(&text),
            retry_after,
            ambiguous: not_idempotent && status.is_server_error(),
            transport: None,
            local: false,
        })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        self.call(Method::GET, path, query, None).await
    }

    /// Every item of a paginated list (`offset`/`limit`/`more`), under `key`.
    pub async fn list(
        &self,
        path: &str,
        key: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut offset = 0usize;
        loop {
            let mut q = query.to_vec();
            q.push(("limit", PAGE.to_string()));
            q.push(("offset", offset.to_string()));
            let page = self.get(path, &q).await?;
            let batch = page[key].as_array().cloned().unwrap_or_default();
            let n = batch.len();
            items.extend(batch);
            // Stop on `more: false`, and on an empty page whatever `more` says.
            if !page["more"].as_bool().unwrap_or(false) || n == 0 {
                return Ok(items);
            }
            offset += n;
            // Offset pagination ends at 10,000 results (PagerDuty answers 400
            // past it): a list cut there would be read as complete — a lookup
            // would miss what exists — so it is an error that says so.
            if offset + PAGE > MAX_OFFSET_RESULTS {
                return Err(ApiError {
                    status: None,
                    message: format!(
                        "GET {path} has more than {MAX_OFFSET_RESULTS} results, the most PagerDuty lists by offset; the list was not read to its end"
                    ),
                    retry_after: None,
                    ambiguous: false,
                    transport: None,
                    local: true,
                });
            }
        }
    }
}

/// `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset`, when all present.
fn rate_limit(headers: &reqwest::header::HeaderMap) -> Option<(u32, u32, Duration)> {
    let number =
        |name: &str| -> Option<f64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
    Some((
        number("ratelimit-limit")? as u32,
        number("ratelimit-remaining")? as u32,
        Duration::from_secs_f64(number("ratelimit-reset")?.clamp(0.0, 3600.0)),
    ))
}

/// How long to wait before trying again: `retry-after` (seconds) on any answer;
/// `ratelimit-reset` only on a 429. That header comes on every answer, and
/// waiting out the rate window after a 500 would cost up to a minute for
/// nothing.
fn retry_after(headers: &reqwest::header::HeaderMap, status: StatusCode) -> Option<Duration> {
    let names: &[&str] = if status == StatusCode::TOO_MANY_REQUESTS {
        &["ratelimit-reset", "retry-after"]
    } else {
        &["retry-after"]
    };
    names.iter().find_map(|name| {
        let secs: f64 = headers.get(*name)?.to_str().ok()?.trim().parse().ok()?;
        Some(Duration::from_secs_f64(secs.clamp(0.0, 120.0)))
    })
}

/// PagerDuty's error body `{"error": {"message", "code", "errors": [...]}}` as
/// one line; anything else cut to a readable length.
fn error_message(body: &str) -> String {
    let parsed: Value = serde_json::from_str(body).unwrap_or_else(|_| json!({}));
    let error = &parsed["error"];
    if let Some(message) = error["message"].as_str() {
        let details: Vec<&str> = error["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let code = error["code"]
            .as_i64()
            .map(|c| format!(" (code {c})"))
            .unwrap_or_default();
        if details.is_empty() {
            format!("{message}{code}")
        } else {
            format!("{message}{code}: {}", details.join("; "))
        }
    } else {
        let text: String = body.chars().take(200).collect();
        if text.trim().is_empty() {
            "no error message".into()
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerduty_error_bodies_become_one_line() {
        let body = r#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Name cannot be empty."]}}"#;
        assert_eq!(
            error_message(body),
            "Invalid Input Provided (code 2001): Name cannot be empty."
        );
        assert_eq!(error_message(""), "no error message");
    }

    #[test]
    fn the_token_never_shows() {
        let client = Client::new("https://api.pagerduty.com", "s3cr3t-token").unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t"));
    }
}
