//! The PagerDuty provider: REST API v2 through reqwest.
//!
//! Plain objects (team, business service, schedule, escalation policy, service)
//! share one create/read/update/delete path and differ only in their JSON
//! mapping ([`objects`]); memberships, dependencies, integrations and lookups have
//! their own endpoints ([`links`], [`lookups`]).

pub mod budget;
mod client;
mod links;
mod lookups;
mod objects;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use client::{ApiError, Client};

use super::retry::Policy;
use super::{Desired, ErrorClass, Provider, ProviderError, ProviderResult, Resource};
use crate::blueprint_file::PagerDutySettings;

/// Where the provider talks to, and with what.
#[derive(Clone)]
pub struct PagerDutyConfig {
    pub token: String,
    /// `https://api.pagerduty.com` (US) or `https://api.eu.pagerduty.com` (EU).
    pub api_url: String,
    /// `https://events.pagerduty.com` or `https://events.eu.pagerduty.com`.
    pub events_url: String,
}

/// The account's service region: `PAGERDUTY_SERVICE_REGION`, else the blueprint
/// file's `[providers.pagerduty] region`, else `us`.
pub fn service_region(settings: &PagerDutySettings) -> String {
    std::env::var("PAGERDUTY_SERVICE_REGION")
        .ok()
        .or_else(|| settings.region.clone())
        .unwrap_or_else(|| "us".into())
}

impl PagerDutyConfig {
    /// From the environment: `PAGERDUTY_TOKEN`; the region from
    /// `PAGERDUTY_SERVICE_REGION`, else the blueprint file, else `us`;
    /// `PAGERDUTY_API_URL` / `PAGERDUTY_EVENTS_URL` override the hosts.
    pub fn from_env(settings: &PagerDutySettings) -> anyhow::Result<PagerDutyConfig> {
        let token = std::env::var("PAGERDUTY_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "PAGERDUTY_TOKEN is not set: create a REST API key in PagerDuty (Integrations > API Access Keys) and export it"
                )
            })?;
        let region = service_region(settings);
        let (api, events) = match region.as_str() {
            "us" => ("https://api.pagerduty.com", "https://events.pagerduty.com"),
            "eu" => (
                "https://api.eu.pagerduty.com",
                "https://events.eu.pagerduty.com",
            ),
            other => anyhow::bail!("PagerDuty region must be us or eu, not {other:?}"),
        };
        Ok(PagerDutyConfig {
            token,
            api_url: std::env::var("PAGERDUTY_API_URL").unwrap_or_else(|_| api.into()),
            events_url: std::env::var("PAGERDUTY_EVENTS_URL").unwrap_or_else(|_| events.into()),
        })
    }
}

pub struct PagerDutyProvider {
    client: Client,
    events_url: String,
    /// Bound on waiting out eventual consistency right after a create.
    propagation: Policy,
}

impl PagerDutyProvider {
    pub fn new(settings: &PagerDutySettings) -> anyhow::Result<PagerDutyProvider> {
        Self::with_config(&PagerDutyConfig::from_env(settings)?)
    }

    pub fn with_config(config: &PagerDutyConfig) -> anyhow::Result<PagerDutyProvider> {
        Ok(PagerDutyProvider {
            client: Client::new(&config.api_url, &config.token)?,
            events_url: config.events_url.trim_end_matches('/').to_owned(),
            propagation: Policy::PROPAGATION,
        })
    }

    /// Shorter retry bounds (tests).
    pub fn with_policies(mut self, transient: Policy, propagation: Policy) -> Self {
        self.client.transient = transient;
        self.propagation = propagation;
        self
    }

    /// The REST client, for commands such as `drill` that read incidents.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn events_url(&self) -> &str {
        &self.events_url
    }
}

/// A required string prop (validation guarantees it; this guards the contract).
fn required<'a>(desired: &'a Desired<'_>, prop: &str) -> ProviderResult<&'a str> {
    desired.str(prop).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("{}: prop `{prop}` is required", desired.address()),
        )
    })
}

fn not_a_kind(kind: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Invalid,
        format!("the PagerDuty provider has no kind {kind}"),
    )
}

/// PagerDuty references: `{"id", "type"}`.
fn reference(id: &str, kind: &str) -> Value {
    serde_json::json!({ "id": id, "type": kind })
}

#[async_trait]
impl Provider for PagerDutyProvider {
    fn name(&self) -> &'static str {
        "pagerduty"
    }

    fn replace_on_change(&self, kind: &str) -> &'static [&'static str] {
        match kind {
            "pagerduty.team_membership" => &["team", "user"],
            "pagerduty.service_dependency" => &["business_service", "supporting_service"],
            "pagerduty.service_integration" => &["service", "vendor"],
            _ => &[],
        }
    }

    fn create_before_destroy(&self, kind: &str) -> bool {
        // Policies and schedules are in use by services while being replaced.
        matches!(
            kind,
            "pagerduty.escalation_policy" | "pagerduty.schedule" | "pagerduty.service_integration"
        )
    }

    fn equivalent(&self, kind: &str, prop: &str, desired: &Value, observed: &Value) -> bool {
        objects::equivalent(kind, prop, desired, observed)
    }

    async fn create(&self, desired: &Desired<'_>) -> ProviderResult<Resource> {
        match desired.kind {
            "pagerduty.user" => lookups::user(self, desired).await,
            "pagerduty.vendor" => lookups::vendor(self, desired).await,
            "pagerduty.team_membership" => links::put_membership(self, desired).await,
            "pagerduty.service_dependency" => links::associate(self, desired).await,
            "pagerduty.service_integration" => links::create_integration(self, desired).await,
            kind => match objects::spec(kind) {
                Some(spec) => objects::create(self, spec, desired).await,
                None => Err(not_a_kind(kind)),
            },
        }
    }

    async fn read(&self, kind: &str, prior: &Resource) -> ProviderResult<Option<Resource>> {
        match kind {
            "pagerduty.team_membership" => links::read_membership(self, prior).await,
            "pagerduty.service_dependency" => links::read_dependency(self, prior).await,
            "pagerduty.service_integration" => links::read_integration(self, prior).await,
            "pagerduty.user" | "pagerduty.vendor" => Ok(Some(prior.clone())),
            kind => match objects::spec(kind) {
                Some(spec) => objects::read(self, spec, prior).await,
                None => Err(not_a_kind(kind)),
            },
        }
    }

    async fn update(
        &self,
        desired: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        match desired.kind {
            "pagerduty.team_membership" => links::put_membership(self, desired).await,
            "pagerduty.service_integration" => {
                links::update_integration(self, desired, prior).await
            }
            kind => match objects::spec(kind) {
                Some(spec) => objects::update(self, spec, desired, prior).await,
                None => Err(not_a_kind(kind)),
            },
        }
    }

    async fn delete(&self, kind: &str, prior: &Resource) -> ProviderResult<()> {
        match kind {
            "pagerduty.team_membership" => links::delete_membership(self, prior).await,
            "pagerduty.service_dependency" => links::disassociate(self, prior).await,
            "pagerduty.service_integration" => links::delete_integration(self, prior).await,
            "pagerduty.user" | "pagerduty.vendor" => Ok(()),
            kind => match objects::spec(kind) {
                Some(spec) => objects::delete(self, spec, prior).await,
                None => Err(not_a_kind(kind)),
            },
        }
    }

    async fn find(&self, desired: &Desired<'_>) -> ProviderResult<Option<Resource>> {
        match desired.kind {
            "pagerduty.team_membership" => {
                let probe = links::membership_resource(desired)?;
                links::read_membership(self, &probe).await
            }
            "pagerduty.service_dependency" => links::find_dependency(self, desired).await,
            "pagerduty.service_integration" => links::find_integration(self, desired).await,
            "pagerduty.user" | "pagerduty.vendor" => self.create(desired).await.map(Some),
            kind => match objects::spec(kind) {
                Some(spec) => objects::find(self, spec, desired).await,
                None => Err(not_a_kind(kind)),
            },
        }
    }
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

/// For tests and the drill: how long to wait between polls.
pub const POLL: Duration = Duration::from_millis(250);
