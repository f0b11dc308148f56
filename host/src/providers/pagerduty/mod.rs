//! The PagerDuty provider: REST API v2 through reqwest, one file per kind in
//! `kinds/`. Plain objects (team, business service, schedule, escalation
//! policy, service) share one create/read/update/delete path ([`object`]);
//! memberships, dependencies, integrations and lookups have their own endpoints.
//! `probe.rs` is what `blueprint drill` uses; [`redact`] hides integration keys
//! wherever text may carry one.

pub mod budget;
mod client;
pub mod kinds;
mod object;
mod open_incidents;
mod probe;

use std::time::Duration;

pub use client::{ApiError, Client};

use serde_json::Map;

use super::retry::Policy;
use super::{
    ErrorClass, KindProvider, ProviderError, ProviderResult, Resource, ResourceKind, SetupError,
};
use crate::blueprint_file::PagerDutySettings;

/// Where the provider talks to, and with what.
#[derive(Clone)]
pub struct PagerDutyConfig {
    pub token: String,
    /// `https://api.pagerduty.com` (US) or `https://api.eu.pagerduty.com` (EU).
    pub api_url: String,
    /// `https://events.pagerduty.com` or `https://events.eu.pagerduty.com`.
    pub events_url: String,
    /// The user PagerDuty records as acting, for the calls that require a
    /// `From` header (maintenance windows, resolving incidents):
    /// `PAGERDUTY_FROM_EMAIL`.
    pub from_email: Option<String>,
}

pub use crate::blueprint_file::pagerduty::{events_host, hosts, service_region};

impl PagerDutyConfig {
    /// From the environment: `PAGERDUTY_TOKEN`; the region from
    /// `PAGERDUTY_SERVICE_REGION`, else the blueprint file, else `us`;
    /// `PAGERDUTY_API_URL` / `PAGERDUTY_EVENTS_URL` override the hosts.
    pub fn from_env(settings: &PagerDutySettings) -> Result<PagerDutyConfig, SetupError> {
        let token = std::env::var("PAGERDUTY_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or(SetupError::NoPagerDutyToken)?;
        let region = service_region(settings);
        let Some((api, events)) = hosts(&region) else {
            return Err(SetupError::PagerDutyRegion(region));
        };
        Ok(PagerDutyConfig {
            token,
            api_url: std::env::var("PAGERDUTY_API_URL")
                .unwrap_or_else(|_| format!("https://{api}")),
            events_url: std::env::var("PAGERDUTY_EVENTS_URL")
                .unwrap_or_else(|_| format!("https://{events}")),
            from_email: std::env::var("PAGERDUTY_FROM_EMAIL")
                .ok()
                .filter(|e| !e.trim().is_empty()),
        })
    }
}

pub struct PagerDutyProvider {
    client: Client,
    events_url: String,
    from_email: Option<String>,
    /// Bound on waiting out eventual consistency right after a create.
    propagation: Policy,
    /// One `service_dependencies/associate`/`disassociate` at a time per
    /// account: overlapping calls answer 500 on real PagerDuty.
    pub(crate) associations: tokio::sync::Mutex<()>,
    /// `destroy --resolve-incidents`: resolve the open incidents that keep a
    /// schedule from being deleted (`open_incidents`).
    pub(crate) resolve_incidents: bool,
}

impl PagerDutyProvider {
    pub fn new(settings: &PagerDutySettings) -> Result<PagerDutyProvider, SetupError> {
        Ok(Self::with_config(&PagerDutyConfig::from_env(settings)?)?
            .with_resolve_incidents(settings.resolve_incidents))
    }

    /// Resolve the open incidents that keep a schedule from being deleted
    /// (`destroy --resolve-incidents`).
    pub fn with_resolve_incidents(mut self, resolve: bool) -> Self {
        self.resolve_incidents = resolve;
        self
    }

    pub fn with_config(config: &PagerDutyConfig) -> Result<PagerDutyProvider, SetupError> {
        Ok(PagerDutyProvider {
            client: Client::new(&config.api_url, &config.token)?,
            events_url: config.events_url.trim_end_matches('/').to_owned(),
            from_email: config.from_email.clone(),
            propagation: Policy::PROPAGATION,
            associations: tokio::sync::Mutex::new(()),
            resolve_incidents: false,
        })
    }

    /// Shorter retry bounds (tests).
    pub fn with_policies(mut self, transient: Policy, propagation: Policy) -> Self {
        self.client.transient = transient;
        self.propagation = propagation;
        self
    }

    /// The REST client (tests read the API through it).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn events_url(&self) -> &str {
        &self.events_url
    }

    /// The user to act as where PagerDuty requires a `From` header.
    pub fn from_email(&self) -> Option<&str> {
        self.from_email.as_deref()
    }

    /// Where CloudWatch (through SNS) posts for this key, and the SNS protocol
    /// that matches the URL's scheme.
    fn cloudwatch(&self, key: &str) -> (String, String) {
        let endpoint = format!("{}/integration/{key}/enqueue", self.events_url);
        let protocol = if self.events_url.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        (endpoint, protocol.to_owned())
    }
}

impl KindProvider for PagerDutyProvider {
    const NAME: &'static str = "pagerduty";

    fn kinds() -> &'static [&'static dyn ResourceKind<Self>] {
        kinds::KINDS
    }

    fn paging_probe(&self) -> Option<&dyn super::probe::PagingProbe> {
        Some(self)
    }
}

/// A string prop the state recorded for this resource.
fn prior_prop<'a>(prior: &'a Resource, key: &str) -> ProviderResult<&'a str> {
    prior
        .props
        .get(key)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("recorded resource {} lacks `{key}`", prior.id),
            )
        })
}

/// Observed props that are all strings.
fn string_props(pairs: &[(&str, &str)]) -> Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
        .collect()
}

/// Retry `op` on the errors PagerDuty shows while a fresh object propagates
/// (404 / 400 right after the create of what it refers to).
async fn while_propagating<T, F, Fut>(
    provider: &PagerDutyProvider,
    what: &str,
    retry_on: &[u16],
    op: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    super::retry::retry(what, provider.propagation, op, |e: &ApiError| {
        match e.status.map(|s| s.as_u16()) {
            Some(code) if retry_on.contains(&code) => super::retry::Verdict::Retry,
            _ => super::retry::Verdict::Stop,
        }
    })
    .await
}

/// How long a read that finds nothing is repeated before the object counts as
/// gone: PagerDuty answers 404 (and leaves the object out of lists) for a
/// moment after a create (TOOLCHAIN.md; terraform-provider-pagerduty retries
/// reads of fresh teams, memberships and dependencies), so a plan right after a
/// run would otherwise see fresh objects as deleted.
const SETTLE: Duration = Duration::from_secs(5);

/// `read`, repeated while it finds nothing, for up to [`SETTLE`].
async fn settled_read<F, Fut>(read: F) -> ProviderResult<Option<Resource>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ProviderResult<Option<Resource>>>,
{
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        if let Some(found) = read().await? {
            return Ok(Some(found));
        }
        if started.elapsed() + pause > SETTLE {
            return Ok(None);
        }
        crate::slots::pause(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// How long `drill` waits between two looks at PagerDuty's incidents.
pub const POLL: Duration = Duration::from_millis(250);

/// Hide integration keys: `…/integration/<key>/enqueue` → `…/integration/****/enqueue`.
/// Used wherever text that may hold a key reaches a person (drill, check).
pub fn redact(text: &str) -> String {
    let marker = "/integration/";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let end = tail.find(['/', '?', ' ', '"', '\'']).unwrap_or(tail.len());
        if end > 0 {
            out.push_str("****");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    // A token-shaped leftover never reaches a terminal.
    blueprint_model::graph::token::display_str(&out)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn integration_keys_are_hidden() {
        assert_eq!(
            redact("https://events.pagerduty.com/integration/abc123/enqueue"),
            "https://events.pagerduty.com/integration/****/enqueue"
        );
        assert_eq!(
            redact("a http://x/integration/k1/enqueue, b http://y/integration/k2"),
            "a http://x/integration/****/enqueue, b http://y/integration/****"
        );
        assert_eq!(redact("nothing here"), "nothing here");
    }
}
