//! Providers: the only code that talks to a cloud API. The engine knows nothing
//! provider-specific; it drives every kind through the one [`Provider`] trait.
//!
//! Contract, for implementers:
//! - `props` handed to a provider are *resolved*: every reference token has been
//!   replaced by its value. Props use the snake_case names of the WIT records
//!   (see `graph::kinds` and wit/*.wit); an absent optional prop is `null` or missing.
//! - A [`Resource`] is what the provider observed: its physical `id`, the
//!   `props` it could read back *in the same shape as the desired props* (only
//!   those it can observe — the engine diffs exactly those), and every output the
//!   kind declares in `graph::kinds` (as strings).
//! - Lookups (`KindInfo::lookup`) are read-only: `create` performs the lookup,
//!   `read` repeats it, `delete` is never called.
//! - Errors name the resource, the service's status/code and its own message, and
//!   never a secret. Retries (throttling, 5xx, eventual consistency) happen inside
//!   the provider, through [`retry`].

pub mod aws;
pub mod pagerduty;
pub mod retry;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::assets::Asset;

/// Tag keys every taggable resource gets, so orphans can be found and adopted.
pub const TAG_BLUEPRINT: &str = "blueprint:name";
pub const TAG_NODE: &str = "blueprint:node";

/// What a provider observed of one resource; also what the state file records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Resource {
    /// The provider's identifier (a PagerDuty id, an ARN or a name): enough, with
    /// `outputs` and `props`, for `read`, `update` and `delete`.
    pub id: String,
    /// Observed props, shaped like the desired props.
    #[serde(default)]
    pub props: Map<String, Value>,
    /// Every output of the kind.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

/// One node as the engine wants it to be.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    /// The blueprint's name (for tags and for finding orphans).
    pub blueprint: &'a str,
    /// The node's logical name.
    pub node: &'a str,
    /// `<provider>.<kind>`.
    pub kind: &'a str,
    /// Resolved props: no tokens left.
    pub props: &'a Map<String, Value>,
    /// Assets by id, for props that name one.
    pub assets: &'a BTreeMap<String, Asset>,
}

impl Desired<'_> {
    /// The logical address used in every message: `node (kind)`.
    pub fn address(&self) -> String {
        format!("{} ({})", self.node, self.kind)
    }

    pub fn str(&self, prop: &str) -> Option<&str> {
        self.props.get(prop).and_then(Value::as_str)
    }
}

/// How an error should be treated by callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The resource does not exist.
    NotFound,
    /// Something with that name already exists.
    Conflict,
    /// The request is wrong and will stay wrong (a 4xx that retrying cannot fix).
    Invalid,
    /// Credentials missing, wrong or not allowed.
    Auth,
    /// Throttling, 5xx, network: retried inside the provider; seen here only once
    /// the retries are used up.
    Transient,
}

#[derive(Debug, Clone)]
pub struct ProviderError {
    pub class: ErrorClass,
    /// A complete sentence naming the resource, status/code and the service's own
    /// message; never a token or key.
    pub message: String,
}

impl ProviderError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            message: message.into(),
        }
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {}

pub type ProviderResult<T> = Result<T, ProviderError>;

#[async_trait]
pub trait Provider: Send + Sync {
    /// `aws` or `pagerduty`: the prefix of the kinds it serves.
    fn name(&self) -> &'static str;

    /// Props of `kind` whose change cannot be applied in place: the resource is
    /// replaced (created anew, then the old one deleted).
    fn replace_on_change(&self, kind: &str) -> &'static [&'static str];

    /// Whether a replacement may create the new resource before deleting the old
    /// one: only when the kind's names need not be unique. Default: delete first.
    fn create_before_destroy(&self, _kind: &str) -> bool {
        false
    }

    /// Whether an observed prop value already satisfies the desired one (for
    /// props the service normalises, such as JSON policies or tag order).
    fn equivalent(&self, _kind: &str, _prop: &str, desired: &Value, observed: &Value) -> bool {
        desired == observed
    }

    /// Create the resource (or, for a lookup, find it).
    async fn create(&self, desired: &Desired<'_>) -> ProviderResult<Resource>;

    /// Read it back; `Ok(None)` when it no longer exists.
    async fn read(&self, kind: &str, prior: &Resource) -> ProviderResult<Option<Resource>>;

    /// Apply changes to the props named in `changed` in place.
    async fn update(
        &self,
        desired: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource>;

    /// Delete it; a resource that is already gone is not an error.
    async fn delete(&self, kind: &str, prior: &Resource) -> ProviderResult<()>;

    /// After an interrupted apply: find the resource this blueprint may have
    /// created for `desired` (by its tags or its unique name), to adopt it rather
    /// than create a duplicate. `Ok(None)` when there is none.
    async fn find(&self, desired: &Desired<'_>) -> ProviderResult<Option<Resource>>;
}

/// The providers one run uses, by name. Built once per process and shared by
/// every blueprint it runs.
#[derive(Clone, Default)]
pub struct ProviderSet {
    providers: BTreeMap<String, std::sync::Arc<dyn Provider>>,
}

impl ProviderSet {
    pub fn new() -> ProviderSet {
        ProviderSet::default()
    }

    pub fn with(mut self, provider: std::sync::Arc<dyn Provider>) -> ProviderSet {
        self.providers.insert(provider.name().to_owned(), provider);
        self
    }

    pub fn insert(&mut self, provider: std::sync::Arc<dyn Provider>) {
        self.providers.insert(provider.name().to_owned(), provider);
    }

    pub fn contains(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    /// The provider serving `kind` (`aws.sns_topic` -> `aws`).
    pub fn for_kind(&self, kind: &str) -> ProviderResult<std::sync::Arc<dyn Provider>> {
        let name = kind.split_once('.').map_or(kind, |(p, _)| p);
        self.providers.get(name).cloned().ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("no provider '{name}' is configured for {kind}"),
            )
        })
    }
}

/// Connect the providers that `kinds` need (a run on a graph with no PagerDuty
/// kinds never asks for a PagerDuty token).
pub async fn connect(
    settings: &crate::blueprint_file::Providers,
    kinds: impl IntoIterator<Item = String>,
) -> anyhow::Result<ProviderSet> {
    let needed: std::collections::BTreeSet<String> = kinds
        .into_iter()
        .map(|k| k.split_once('.').map_or(k.clone(), |(p, _)| p.to_owned()))
        .collect();
    let mut set = ProviderSet::new();
    for name in needed {
        let provider: std::sync::Arc<dyn Provider> = match name.as_str() {
            "aws" => std::sync::Arc::new(aws::AwsProvider::new(&settings.aws).await?),
            "pagerduty" => {
                std::sync::Arc::new(pagerduty::PagerDutyProvider::new(&settings.pagerduty)?)
            }
            other => anyhow::bail!("no provider named '{other}'"),
        };
        set.insert(provider);
    }
    Ok(set)
}
