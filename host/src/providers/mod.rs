//! Providers: the code that talks to the cloud APIs, one folder per provider and
//! one file per kind (`<provider>/kinds/<kind>.rs`). The engine knows nothing
//! provider-specific; it drives every kind through the one [`Provider`] trait,
//! which each provider gets by listing its kinds ([`KindProvider`]).
//!
//! Contract, for implementers of a [`ResourceKind`]:
//! - `props` handed to a kind are *resolved*: every reference token has been
//!   replaced by its value. Read them typed, as the kind's WIT record
//!   ([`Desired::typed`]); an absent optional prop is `None`.
//! - A [`Resource`] is what the provider observed: its physical `id`, the
//!   `props` it could read back *in the same shape as the desired props* (only
//!   those it can observe — the engine diffs exactly those), and every output the
//!   kind's descriptor declares (as strings).
//! - Lookups (`KindInfo::lookup`) are read-only: `create` performs the lookup,
//!   `read` repeats it, `delete` is never called.
//! - Errors name the resource, the service's status/code and its own message, and
//!   never a secret. Retries (throttling, 5xx, eventual consistency) happen inside
//!   the provider, through [`retry`].

pub mod aws;
pub mod blueprints;
pub mod deadline;
pub(crate) mod kind_list;
pub mod pagerduty;
pub mod probe;
pub mod retry;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value};

use blueprint_model::assets::Asset;
use blueprint_model::kind::{Catalog, KindInfo};

/// Tag keys every taggable resource gets, so orphans can be found and adopted.
pub const TAG_BLUEPRINT: &str = "blueprint:name";
pub const TAG_NODE: &str = "blueprint:node";

pub use blueprint_model::resource::Resource;

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

    /// The props as the kind's WIT record (`P`): validated graphs always fit, so
    /// a mismatch is a bug reported as an invalid request, never a panic.
    pub fn typed<P: serde::de::DeserializeOwned>(&self) -> ProviderResult<P> {
        serde_json::from_value(Value::Object(self.props.clone())).map_err(|e| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "{}: props do not fit the kind's record: {e}",
                    self.address()
                ),
            )
        })
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
    /// A create (a non-idempotent request) failed after it was sent — a 5xx or a
    /// cut connection — so it may have been carried out. Never re-sent blind:
    /// the engine looks for what may have landed first (`find`).
    Ambiguous,
}

#[derive(Debug, Clone)]
pub struct ProviderError {
    pub class: ErrorClass,
    /// A complete sentence naming the resource, status/code and the service's own
    /// message; never a token or key.
    pub message: String,
    /// A create that made the resource but could not make it work (e.g. an SNS
    /// subscription its endpoint never confirmed): the resource exists, so the
    /// engine records it, and the next plan repairs it.
    pub created: Option<Box<Resource>>,
}

impl ProviderError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            message: message.into(),
            created: None,
        }
    }

    /// This error, for a create that left `resource` behind.
    pub fn leaving(mut self, resource: Resource) -> Self {
        self.created = Some(Box::new(resource));
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// What `find` found: a live resource with this node's identity, and what (if
/// anything) proves this blueprint made it. The engine decides from the proof
/// whether it may adopt the resource ([`Proof::adoptable`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub resource: Resource,
    pub proof: Proof,
}

/// How `find` recognised a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// Its tags name this blueprint and node: it is ours.
    Tagged,
    /// It can carry tags and they do not name this node: someone else's.
    Untagged,
    /// Matched by the kind's identity (a name) in a service without tags
    /// (PagerDuty): nothing says who made it. `unique`: the service refuses a
    /// second object with that name, so creating one anyway cannot work.
    Named { unique: bool },
    /// Identified entirely by what it belongs to (a filter of a log group, a
    /// role's policy attachment, a subscription of a topic to an endpoint, an
    /// integration of a service, a team's member): ours when its parents are,
    /// and they were found or recorded before it.
    Part,
}

/// What `find` needs to identify a kind's object, so the plan can look for
/// one as soon as that much is known (a look made by the plan is not repeated
/// before the create, the plan being made under the lock just before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Every prop resolved (the default).
    AllProps,
    /// These props alone (a name): the rest may still be unknown.
    Props(&'static [&'static str]),
    /// What it belongs to ([`Proof::Part`]): when one of the nodes it
    /// references is created by this apply, nothing of it can exist yet.
    Parents,
}

/// Why the engine is looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looking {
    /// The state records nothing for the node: is something already there?
    Unrecorded,
    /// This blueprint began creating the node (an interrupted run, or a create
    /// whose answer was lost): did it land?
    AfterIntent,
}

impl Proof {
    /// Whether the engine may take the resource as the node's. A name match
    /// proves nothing unless this blueprint recorded that it was creating it.
    pub fn adoptable(self, looking: Looking) -> bool {
        match self {
            Proof::Tagged | Proof::Part => true,
            Proof::Named { .. } => looking == Looking::AfterIntent,
            Proof::Untagged => false,
        }
    }

    /// A duplicate may be created beside it (`--allow-duplicates`): only where
    /// the service allows two objects with one name.
    pub fn allows_duplicate(self) -> bool {
        matches!(self, Proof::Named { unique: false })
    }
}

impl Found {
    pub fn new(resource: Resource, proof: Proof) -> Found {
        Found { resource, proof }
    }

    /// A part found by its full identity (see [`Proof::Part`]).
    pub fn part(resource: Option<Resource>) -> Option<Found> {
        resource.map(|r| Found::new(r, Proof::Part))
    }

    /// The error for a resource that exists and cannot be adopted: what exists,
    /// its id, and the two ways out.
    pub fn not_ours(&self, desired: &Desired<'_>, file_hint: &str) -> ProviderError {
        let why = match self.proof {
            Proof::Untagged => "its tags do not name this blueprint and node",
            Proof::Named { .. } => "nothing on it says which blueprint made it",
            Proof::Tagged | Proof::Part => "it is not recorded in this blueprint's state",
        };
        ProviderError::new(
            ErrorClass::Conflict,
            format!(
                "{} already exists as {} and this blueprint's state does not record it ({why}); \
                 adopt it with `blueprint import {file_hint} {}={}`, or give the node another name",
                desired.address(),
                self.resource.id,
                desired.node,
                self.resource.id
            ),
        )
    }
}

/// The one interface the engine drives every provider through. Implemented for
/// every [`KindProvider`] by dispatching to the kind's [`ResourceKind`]; nothing
/// here names a kind.
#[async_trait]
pub trait Provider: Send + Sync {
    /// `aws` or `pagerduty`: the prefix of the kinds it serves.
    fn name(&self) -> &'static str;

    /// Whether an observed prop value already satisfies the desired one (for
    /// props the service normalises, such as JSON policies or tag order).
    fn equivalent(&self, kind: &str, prop: &str, desired: &Value, observed: &Value) -> bool;

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

    /// The live resource with `desired`'s identity (tags, name, or its parents
    /// and its own key), and what proves whose it is: asked before every create
    /// the state does not account for, so nothing is made twice. `Ok(None)` when
    /// there is none.
    async fn find(&self, desired: &Desired<'_>) -> ProviderResult<Option<Found>>;

    /// What `find` needs to identify an object of `kind`.
    fn identity(&self, _kind: &str) -> Identity {
        Identity::AllProps
    }

    /// The least time one create of `kind` holds its scarcest rate budget,
    /// when this provider keeps to published rates (`--parallelism auto`);
    /// zero otherwise. The scheduler starts what leads to such kinds first.
    fn pace(&self, _kind: &str) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// What `drill` uses to fire and watch alarms, if this provider runs them.
    fn alarm_probe(&self) -> Option<&dyn probe::AlarmProbe> {
        None
    }

    /// What `drill` uses to follow incidents, if this provider pages people.
    fn paging_probe(&self) -> Option<&dyn probe::PagingProbe> {
        None
    }
}

/// One kind's API calls, for the provider `P` that serves it. Lives in the
/// kind's own file beside its descriptor ([`ResourceKind::info`]).
#[async_trait]
pub trait ResourceKind<P: Sync + ?Sized>: Send + Sync {
    fn info(&self) -> &'static KindInfo;

    /// Create it (for a lookup: find it, or fail naming what is missing).
    async fn create(&self, provider: &P, desired: &Desired<'_>) -> ProviderResult<Resource>;

    /// Read it back; `Ok(None)` when it no longer exists. Every kind but a
    /// lookup implements it (a lookup is read again by `create` on every plan;
    /// [`Provider`]'s dispatch never calls this for one).
    async fn read(&self, _provider: &P, _prior: &Resource) -> ProviderResult<Option<Resource>> {
        Err(not_implemented(self.info(), "read"))
    }

    /// Change the props named in `changed` in place. Kinds whose every prop
    /// forces replacement keep the default.
    async fn update(
        &self,
        _provider: &P,
        desired: &Desired<'_>,
        _prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        Err(ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{}: {} cannot be changed in place ({})",
                desired.address(),
                desired.kind,
                changed.join(", ")
            ),
        ))
    }

    /// Delete it; gone already is not an error. Every kind but a lookup
    /// implements it.
    async fn delete(&self, _provider: &P, _prior: &Resource) -> ProviderResult<()> {
        Err(not_implemented(self.info(), "delete"))
    }

    /// The existing resource `desired` stands for, if it can be identified, with
    /// how it was recognised ([`Proof`]). Every kind but a lookup implements it.
    async fn find(&self, _provider: &P, _desired: &Desired<'_>) -> ProviderResult<Option<Found>> {
        Err(not_implemented(self.info(), "find"))
    }

    /// Whether an observed value satisfies the desired one beyond equality.
    fn equivalent(&self, _prop: &str, _desired: &Value, _observed: &Value) -> bool {
        false
    }

    /// What `find` reads of the desired props ([`Identity`]); a kind whose
    /// `find` reads less than all of them says so, and the plan looks sooner.
    fn identity(&self) -> Identity {
        Identity::AllProps
    }

    /// The calls one create makes to APIs with a published rate limit, named
    /// as the provider's rate budgets name them (`CLOUDWATCH put_metric_alarm`);
    /// see [`Provider::pace`].
    fn paced_calls(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A provider made of kinds: it names itself and lists its kinds; [`Provider`]
/// follows.
pub trait KindProvider: Send + Sync + 'static {
    const NAME: &'static str;

    /// Every kind it serves (its `kinds/mod.rs` list).
    fn kinds() -> &'static [&'static dyn ResourceKind<Self>];

    /// How long `calls` (a kind's [`ResourceKind::paced_calls`]) hold their
    /// scarcest rate budget; zero for a provider that keeps no such budgets.
    fn pace_of(&self, _calls: &[&str]) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    fn alarm_probe(&self) -> Option<&dyn probe::AlarmProbe> {
        None
    }

    fn paging_probe(&self) -> Option<&dyn probe::PagingProbe> {
        None
    }
}

/// A resource kind that left out one of the calls every resource needs.
fn not_implemented(info: &KindInfo, call: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Invalid,
        format!(
            "{} implements no `{call}` (only lookups may leave it out)",
            info.name
        ),
    )
}

fn kind_of<P: KindProvider>(kind: &str) -> ProviderResult<&'static dyn ResourceKind<P>> {
    P::kinds()
        .iter()
        .copied()
        .find(|k| k.info().name == kind)
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("the {} provider has no kind {kind}", P::NAME),
            )
        })
}

#[async_trait]
impl<P: KindProvider> Provider for P {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn equivalent(&self, kind: &str, prop: &str, desired: &Value, observed: &Value) -> bool {
        desired == observed
            || kind_of::<P>(kind).is_ok_and(|k| k.equivalent(prop, desired, observed))
    }

    async fn create(&self, desired: &Desired<'_>) -> ProviderResult<Resource> {
        kind_of::<P>(desired.kind)?.create(self, desired).await
    }

    // A lookup (data source) exists outside the blueprint: it is read again by
    // `create` on every plan, never deleted, and what `find` finds is a part of
    // nothing the blueprint owns — one rule for every lookup kind.
    async fn read(&self, kind: &str, prior: &Resource) -> ProviderResult<Option<Resource>> {
        let kind = kind_of::<P>(kind)?;
        if kind.info().lookup {
            return Ok(Some(prior.clone()));
        }
        kind.read(self, prior).await
    }

    async fn update(
        &self,
        desired: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        kind_of::<P>(desired.kind)?
            .update(self, desired, prior, changed)
            .await
    }

    async fn delete(&self, kind: &str, prior: &Resource) -> ProviderResult<()> {
        let kind = kind_of::<P>(kind)?;
        if kind.info().lookup {
            return Ok(());
        }
        kind.delete(self, prior).await
    }

    async fn find(&self, desired: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let kind = kind_of::<P>(desired.kind)?;
        if kind.info().lookup {
            return kind
                .create(self, desired)
                .await
                .map(|r| Found::part(Some(r)));
        }
        kind.find(self, desired).await
    }

    fn identity(&self, kind: &str) -> Identity {
        kind_of::<P>(kind).map_or(Identity::AllProps, |k| k.identity())
    }

    fn pace(&self, kind: &str) -> std::time::Duration {
        kind_of::<P>(kind).map_or(std::time::Duration::ZERO, |k| {
            KindProvider::pace_of(self, k.paced_calls())
        })
    }

    fn alarm_probe(&self) -> Option<&dyn probe::AlarmProbe> {
        KindProvider::alarm_probe(self)
    }

    fn paging_probe(&self) -> Option<&dyn probe::PagingProbe> {
        KindProvider::paging_probe(self)
    }
}

/// The kinds this build serves: every provider's kind list, one line per
/// provider, made into a [`Catalog`] once per process. The layers below the
/// providers (the runtime, validation) are handed it; nothing looks it up from
/// below.
pub fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        let aws = aws::AwsProvider::kinds().iter().map(|k| k.info());
        let pagerduty = pagerduty::PagerDutyProvider::kinds()
            .iter()
            .map(|k| k.info());
        let blueprints = blueprints::BlueprintsProvider::kinds()
            .iter()
            .map(|k| k.info());
        Catalog::new(aws.chain(pagerduty).chain(blueprints))
    })
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

    /// The provider named `name` (`aws`), if connected.
    pub fn get(&self, name: &str) -> Option<std::sync::Arc<dyn Provider>> {
        self.providers.get(name).cloned()
    }

    /// The provider serving `kind` (`aws.sns_topic` -> `aws`).
    pub fn for_kind(&self, kind: &str) -> ProviderResult<std::sync::Arc<dyn Provider>> {
        let name = blueprint_model::kind::provider_of(kind);
        self.providers.get(name).cloned().ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("no provider '{name}' is configured for {kind}"),
            )
        })
    }
}

/// Why a provider could not be connected, before any call to it.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "PAGERDUTY_TOKEN is not set: create a REST API key in PagerDuty (Integrations > API Access Keys) and export it"
    )]
    NoPagerDutyToken,
    #[error("PagerDuty region must be us or eu, not {0:?}")]
    PagerDutyRegion(String),
    /// The HTTP client could not be built (TLS roots, proxy settings).
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error(
        "no AWS region: set providers.aws.region in the blueprint file, AWS_REGION, or a profile's region"
    )]
    NoAwsRegion,
    #[error(
        "the blueprint provider reads states relative to a blueprint file: connect it with that file (run::Context::open)"
    )]
    NeedsFile,
    #[error("no provider named '{0}'")]
    Unknown(String),
}

/// Connect the providers that `kinds` need (a run on a graph with no PagerDuty
/// kinds never asks for a PagerDuty token).
pub async fn connect(
    settings: &crate::blueprint_file::Providers,
    kinds: impl IntoIterator<Item = String>,
) -> Result<ProviderSet, SetupError> {
    let needed: std::collections::BTreeSet<String> = kinds
        .into_iter()
        .map(|k| blueprint_model::kind::provider_of(&k).to_owned())
        .collect();
    let mut set = ProviderSet::new();
    for name in needed {
        set.insert(connect_one(settings, &name).await?);
    }
    Ok(set)
}

/// Connect one provider by name.
pub async fn connect_one(
    settings: &crate::blueprint_file::Providers,
    name: &str,
) -> Result<std::sync::Arc<dyn Provider>, SetupError> {
    Ok(match name {
        aws::AwsProvider::NAME => {
            let aws = std::sync::Arc::new(aws::AwsProvider::new(&settings.aws).await?);
            aws.ask_account_early();
            aws
        }
        pagerduty::PagerDutyProvider::NAME => {
            std::sync::Arc::new(pagerduty::PagerDutyProvider::new(&settings.pagerduty)?)
        }
        blueprints::BlueprintsProvider::NAME => return Err(SetupError::NeedsFile),
        other => return Err(SetupError::Unknown(other.to_owned())),
    })
}
