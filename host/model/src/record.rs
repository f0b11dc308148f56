//! The records every layer shares: what a provider observed of one object
//! ([`Resource`]) and what the state file keeps of each node ([`State`],
//! [`Entry`]). The format is documented in docs/state.md; the stores that read
//! and write it live in the host's `state` module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::kind::Catalog;
pub use crate::resource::Resource;

/// The version of the state format this build reads and writes.
pub const FORMAT: u32 = 1;

/// What replaces every secret in anything printed.
pub const REDACTED: &str = "(sensitive)";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub blueprint: String,
    /// Incremented on every save; lets a reader tell two versions apart.
    pub serial: u64,
    /// By node id.
    #[serde(default)]
    pub resources: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exists and matches `applied_props` as of the last apply.
    Ready,
    /// A create was started and its outcome is unknown (the process may have
    /// died): the next apply looks for the resource and adopts it, or creates it.
    Creating,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: String,
    pub status: Status,
    /// What the provider returned (absent while `Creating`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// The resolved props as last applied.
    #[serde(default)]
    pub applied_props: Map<String, Value>,
    /// Top-level props whose values came from a sensitive output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_props: Vec<String>,
    /// Nodes this one referenced when applied (deletes go in reverse order).
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Replaced resources still to delete (create-before-destroy, or a delete
    /// that failed after its replacement was made).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<Resource>,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// Set by `blueprint import`: the object existed before this blueprint and
    /// was adopted from a Terraform state file or by id (docs/import.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_from: Option<AdoptedFrom>,
}

impl State {
    pub fn new(blueprint: &str) -> State {
        State {
            format: FORMAT,
            blueprint: blueprint.to_owned(),
            serial: 0,
            resources: BTreeMap::new(),
        }
    }

    /// A copy fit to print: sensitive outputs and props replaced by `(sensitive)`.
    pub fn redacted(&self, catalog: &Catalog) -> State {
        let mut copy = self.clone();
        for entry in copy.resources.values_mut() {
            entry.redact(catalog);
        }
        copy
    }
}

impl Entry {
    /// A resource as applied, stamped now.
    pub fn ready(
        kind: &str,
        resource: Option<Resource>,
        applied_props: Map<String, Value>,
        sensitive_props: Vec<String>,
        dependencies: Vec<String>,
    ) -> Entry {
        Entry {
            kind: kind.to_owned(),
            status: Status::Ready,
            resource,
            applied_props,
            sensitive_props,
            dependencies,
            deposed: Vec::new(),
            updated_at: now_rfc3339(),
            adopted_from: None,
        }
    }

    /// A resource adopted as found: nothing applied yet, so the first apply
    /// compares every desired prop with what was observed.
    pub fn adopted(kind: &str, resource: Resource) -> Entry {
        Entry::ready(kind, Some(resource), Map::new(), vec![], vec![])
    }

    /// Replace the kind's sensitive outputs and the props that came from one.
    pub fn redact(&mut self, catalog: &Catalog) {
        let sensitive_outputs: Vec<&str> = catalog
            .lookup(&self.kind)
            .map(|k| {
                k.outputs
                    .iter()
                    .filter(|o| o.sensitive)
                    .map(|o| o.name)
                    .collect()
            })
            .unwrap_or_default();
        let redact_resource = |r: &mut Resource, props: &[String]| {
            for name in &sensitive_outputs {
                if let Some(v) = r.outputs.get_mut(*name) {
                    *v = REDACTED.into();
                }
            }
            for prop in props {
                if let Some(v) = r.props.get_mut(prop) {
                    *v = Value::String(REDACTED.into());
                }
            }
        };
        if let Some(r) = self.resource.as_mut() {
            redact_resource(r, &self.sensitive_props);
        }
        for r in &mut self.deposed {
            redact_resource(r, &self.sensitive_props);
        }
        for prop in &self.sensitive_props {
            if let Some(v) = self.applied_props.get_mut(prop) {
                *v = Value::String(REDACTED.into());
            }
        }
    }
}

/// Where an adopted resource came from (`state::Entry::adopted_from`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum AdoptedFrom {
    /// A managed resource instance of a Terraform state file.
    TerraformState { file: String, address: String },
    /// `blueprint import FILE NODE=ID`.
    Id { id: String },
}

/// Now, as the state file writes times: RFC 3339, UTC, whole seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
