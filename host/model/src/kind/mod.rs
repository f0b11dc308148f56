//! What the host knows about each kind of node, as data: a [`KindInfo`]
//! descriptor. Every kind has one home, `providers/<provider>/kinds/<kind>.rs`,
//! which holds its descriptor (name, outputs, required props, references, value
//! checks, replacement rules, Terraform mapping, role) beside its API calls; the
//! provider registers it in its kind list. Graph validation, the engine, export,
//! `inspect`, `check` and `drill` read descriptors (and [`Role`]s), never kind
//! names.

mod checker;

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use checker::{Checker, check_text, get_path, lit, select, select_indexed};

use crate::terraform::TerraformMap;

/// One output a constructor returns.
#[derive(Debug)]
pub struct Output {
    pub name: &'static str,
    /// Stored in state, never printed (`(sensitive)`).
    pub sensitive: bool,
    /// The output always equals this prop (a dotted path), so it is known at plan
    /// time when the prop is.
    pub mirrors: Option<&'static str>,
    /// Sensitive on the nodes whose boolean prop of this name is `true` (an
    /// output the author marks secret), besides always when `sensitive`.
    pub sensitive_when: Option<&'static str>,
}

impl Output {
    /// Whether this output of a node with these props is a secret.
    pub fn is_sensitive(&self, props: &serde_json::Map<String, Value>) -> bool {
        self.sensitive
            || self
                .sensitive_when
                .is_some_and(|flag| props.get(flag).and_then(Value::as_bool) == Some(true))
    }
}

pub const fn out(name: &'static str) -> Output {
    Output {
        name,
        sensitive: false,
        mirrors: None,
        sensitive_when: None,
    }
}

pub const fn secret(name: &'static str) -> Output {
    Output {
        name,
        sensitive: true,
        mirrors: None,
        sensitive_when: None,
    }
}

pub const fn mirror(name: &'static str, prop: &'static str) -> Output {
    Output {
        name,
        sensitive: false,
        mirrors: Some(prop),
        sensitive_when: None,
    }
}

/// An output that is secret on the nodes that set the boolean prop `flag`.
pub const fn secret_when(name: &'static str, flag: &'static str) -> Output {
    Output {
        name,
        sensitive: false,
        mirrors: None,
        sensitive_when: Some(flag),
    }
}

/// An output equal to `prop`, secret on the nodes that set the boolean prop
/// `flag` (`blueprint.output`'s `value` and `sensitive`).
pub const fn mirror_secret_when(
    name: &'static str,
    prop: &'static str,
    flag: &'static str,
) -> Output {
    Output {
        name,
        sensitive: false,
        mirrors: Some(prop),
        sensitive_when: Some(flag),
    }
}

/// A prop (path with `[]` for "each element") whose references must point at
/// nodes of these kinds.
#[derive(Debug)]
pub struct RefRule {
    pub path: &'static str,
    pub kinds: &'static [&'static str],
}

pub const fn refs(path: &'static str, kinds: &'static [&'static str]) -> RefRule {
    RefRule { path, kinds }
}

/// What a kind *is* in the alerting pattern, for the code that reasons about a
/// graph's meaning (`graph::alerting`, `check`, `drill`) without naming kinds.
/// Props of a node with a role are read through that kind's WIT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A person (a lookup): `id`, `name`.
    User,
    /// A group of people.
    Team,
    /// An on-call rotation: `layers[].users[]`.
    Schedule,
    /// Who is paged, in which order: `rules[].targets[]`.
    EscalationPolicy,
    /// What incidents are opened on: `escalation_policy`.
    PagedService,
    /// Where an alerting system posts to open incidents on a service:
    /// `service`; outputs `cloudwatch_endpoint`, `cloudwatch_protocol`.
    Integration,
    /// A stream of log events.
    LogGroup,
    /// Log events → a metric: `log_group`, `pattern`, `metric_transformation`.
    MetricFilter,
    /// Code that writes logs: `runtime`.
    Function,
    /// A fan-out point for notifications.
    Topic,
    /// A topic → endpoint delivery: `topic`, `protocol`, `endpoint`.
    Subscription,
    /// A metric threshold with actions: `alarm_actions`, `ok_actions`, ...
    Alarm,
    /// A message queue (a subscription's dead-letter queue): outputs `arn`, `url`.
    Queue,
    /// Who may use a queue (for a dead-letter queue: SNS): `queue_url`.
    QueuePolicy,
    /// Who may publish to a topic (EventBridge, other accounts): `arn`, `policy`.
    TopicPolicy,
    /// Events matching a pattern, sent to targets: `event_pattern`, `state`.
    EventRule,
    /// A rule → target delivery: `rule`, `arn`.
    EventTarget,
    /// A value another blueprint published (`blueprint.outputs`): what it
    /// stands for is known only when read, so a reference through it meets
    /// any prop's kind rule (the service checks the value).
    Relay,
}

/// Everything the host knows about a kind, except its API calls.
pub struct KindInfo {
    /// `<provider>.<kind>`, as guests and state files name it.
    pub name: &'static str,
    /// A lookup (data source): read, never created or deleted.
    pub lookup: bool,
    pub role: Option<Role>,
    pub outputs: &'static [Output],
    /// Top-level props that must be present and, for strings and lists, non-empty.
    pub required: &'static [&'static str],
    pub refs: &'static [RefRule],
    /// Value checks on literal props (references are checked after apply).
    pub check: fn(&mut Checker<'_>),
    /// Props whose change cannot be applied in place: the resource is replaced.
    pub replace_on_change: &'static [&'static str],
    /// A replacement creates the new resource before deleting the old one (only
    /// where names need not be unique and something uses the old one meanwhile).
    pub create_before_destroy: bool,
    /// How the kind is written for the official Terraform provider.
    pub terraform: TerraformMap,
    /// How `blueprint import` adopts an existing object of the kind: the id
    /// Terraform's import takes, what identifies it (`None` for lookups).
    pub import: Option<crate::import_id::ImportId>,
    /// Control characters a text prop (by top-level name) may hold, where the
    /// service documents them; every other string prop holds none
    /// ([`check_text`]).
    pub text_controls: &'static [(&'static str, Controls)],
    /// Parse escape-hatch props (`host.declare`) through the kind's WIT record:
    /// the same checks a typed constructor gets from the guest's compiler.
    pub parse: fn(&str) -> Result<Value, String>,
}

impl KindInfo {
    pub fn provider(&self) -> &'static str {
        provider_of(self.name)
    }

    pub fn output(&self, name: &str) -> Option<&'static Output> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

impl std::fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KindInfo({})", self.name)
    }
}

/// Control characters a text prop may hold.
#[derive(Debug)]
pub enum Controls {
    /// These, and no other.
    These(&'static [char]),
    /// Any: the prop is data, not text.
    Any,
}

/// A provider as people write it in prose: `aws` -> `AWS`, `pagerduty` -> `PagerDuty`.
pub fn provider_title(provider: &str) -> &str {
    match provider {
        "aws" => "AWS",
        "pagerduty" => "PagerDuty",
        other => other,
    }
}

/// The provider part of a kind name: `aws.sns_topic` -> `aws`.
pub fn provider_of(kind: &str) -> &str {
    kind.split_once('.').map_or(kind, |(p, _)| p)
}

/// `KindInfo::parse` for a kind whose props are the WIT record `P`.
pub fn parse_as<P: DeserializeOwned + Serialize>(json: &str) -> Result<Value, String> {
    serde_json::from_str::<P>(json)
        .and_then(serde_json::to_value)
        .map_err(|e| e.to_string())
}

/// Two prop values are the same: numbers by value (`1` and `1.0`), objects with
/// an absent key equal to the same object with that key `null`.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().all(|k| {
                same_value(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        _ => a == b,
    }
}

/// The kinds one process serves: built once from the providers' kind lists
/// and handed to every layer that reads descriptors (the runtime, validation,
/// the engine, export, import, check). The model never looks the list up
/// itself: it is a value, passed down.
#[derive(Debug, Default)]
pub struct Catalog {
    /// In registration order (the order `inspect` lists them).
    kinds: Vec<&'static KindInfo>,
    by_name: HashMap<&'static str, usize>,
}

impl Catalog {
    /// A catalog of these kinds. Two kinds of one name are a host bug.
    pub fn new(kinds: impl IntoIterator<Item = &'static KindInfo>) -> Catalog {
        let mut catalog = Catalog::default();
        for info in kinds {
            let at = catalog.kinds.len();
            let previous = catalog.by_name.insert(info.name, at);
            assert!(previous.is_none(), "kind {} registered twice", info.name);
            catalog.kinds.push(info);
        }
        catalog
    }

    /// The descriptor of `kind`, if a provider serves it.
    pub fn lookup(&self, kind: &str) -> Option<&'static KindInfo> {
        self.by_name.get(kind).map(|&at| self.kinds[at])
    }

    /// Every kind, in registration order.
    pub fn all(&self) -> impl Iterator<Item = &'static KindInfo> + '_ {
        self.kinds.iter().copied()
    }

    /// Whether `kind` is a lookup (unknown kinds are not).
    pub fn is_lookup(&self, kind: &str) -> bool {
        self.lookup(kind).is_some_and(|k| k.lookup)
    }

    /// The role of `kind`, if it has one.
    pub fn role_of(&self, kind: &str) -> Option<Role> {
        self.lookup(kind).and_then(|k| k.role)
    }

    /// The kinds that play `role` (for messages and reference rules).
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &'static KindInfo> + '_ {
        self.all().filter(move |k| k.role == Some(role))
    }
}
