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

/// Why a record could not be re-keyed or forgotten (`state mv`, `state rm`,
/// `[[moved]]`).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{0:?} is already the node's name")]
    SameName(String),
    #[error("the state already records a node {0:?}: `state rm` it first, or choose another name")]
    Taken(String),
    #[error(
        "the state of {blueprint} records no node {node:?} (it records: {})",
        if known.is_empty() { "nothing".to_owned() } else { known.join(", ") }
    )]
    Unknown {
        blueprint: String,
        node: String,
        known: Vec<String>,
    },
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

    /// Re-key the record of node `from` as `to` (`state mv`, `[[moved]]`): the
    /// same resource, so the next plan updates it in place instead of deleting
    /// and creating it. Entries that depended on `from` now depend on `to`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), RecordError> {
        if from == to {
            return Err(RecordError::SameName(from.to_owned()));
        }
        if self.resources.contains_key(to) {
            return Err(RecordError::Taken(to.to_owned()));
        }
        let entry = self
            .resources
            .remove(from)
            .ok_or_else(|| self.unknown(from))?;
        self.resources.insert(to.to_owned(), entry);
        for entry in self.resources.values_mut() {
            for dependency in &mut entry.dependencies {
                if dependency == from {
                    *dependency = to.to_owned();
                }
            }
        }
        Ok(())
    }

    /// Forget node `node` without deleting what it records (`state rm`).
    pub fn forget(&mut self, node: &str) -> Result<Entry, RecordError> {
        let entry = self
            .resources
            .remove(node)
            .ok_or_else(|| self.unknown(node))?;
        for other in self.resources.values_mut() {
            other.dependencies.retain(|d| d != node);
        }
        Ok(entry)
    }

    fn unknown(&self, node: &str) -> RecordError {
        RecordError::Unknown {
            blueprint: self.blueprint.clone(),
            node: node.to_owned(),
            known: self.resources.keys().cloned().collect(),
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
                    .filter(|o| o.is_sensitive(&self.applied_props))
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

#[cfg(test)]
mod surgery_tests {
    use super::*;

    fn state() -> State {
        let mut s = State::new("b");
        s.resources.insert(
            "service".into(),
            Entry::ready("pagerduty.service", None, Map::new(), vec![], vec![]),
        );
        s.resources.insert(
            "integration".into(),
            Entry::ready(
                "pagerduty.service_integration",
                None,
                Map::new(),
                vec![],
                vec!["service".into()],
            ),
        );
        s
    }

    #[test]
    fn rename_moves_the_record_and_its_dependents_follow() {
        let mut s = state();
        s.rename("service", "checkout").unwrap();
        assert!(s.resources.contains_key("checkout") && !s.resources.contains_key("service"));
        assert_eq!(s.resources["integration"].dependencies, ["checkout"]);
        assert!(
            s.rename("checkout", "integration")
                .unwrap_err()
                .to_string()
                .contains("already records")
        );
        assert!(
            s.rename("nope", "x")
                .unwrap_err()
                .to_string()
                .contains("records no node \"nope\"")
        );
    }

    #[test]
    fn forget_drops_the_record_only() {
        let mut s = state();
        let entry = s.forget("service").unwrap();
        assert_eq!(entry.kind, "pagerduty.service");
        assert!(s.resources["integration"].dependencies.is_empty());
        assert!(s.forget("service").is_err());
    }
}
