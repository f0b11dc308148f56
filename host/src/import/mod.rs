//! `blueprint import`: adopt objects that already exist — deployed by Terraform
//! or cdktf, or named by id — into a blueprint's state, without creating,
//! changing or deleting anything in the cloud. Only reads are made.
//!
//! From Terraform state files ([`match_instances`]): every graph node whose kind
//! can be imported (`KindInfo::import`) is matched, in dependency order, to the
//! managed instance of its Terraform type whose identity attributes equal the
//! node's identity props (`ImportId::identity`), resolved with the live outputs
//! of the nodes matched before it. References therefore match by id: the
//! integration whose `service` is the id of the service matched to our service
//! node. Terraform addresses are never compared (cdktf generates them); they are
//! only recorded, as where a node was adopted from. Each match is read live
//! through its kind's `read` (from the id Terraform's import takes for the
//! type), and its live id and outputs are recorded. Data sources are matched to
//! lookup nodes by the id the lookup finds. See docs/import.md.

pub mod adopt;
use blueprint_model::import_id as id;
pub mod tfstate;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

pub use id::ImportId;
pub use tfstate::{Instance, TfStateError};

/// Why nothing was imported. Every refusal comes before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Run(#[from] crate::run::RunError),
    #[error("{0}")]
    TerraformState(#[from] TfStateError),
    /// No provider serves a node's kind.
    #[error("{0}")]
    Provider(#[from] ProviderError),
    /// A read about one node or instance (`about` names it) failed.
    #[error("{about}: {cause}")]
    Read {
        about: String,
        #[source]
        cause: ProviderError,
    },
    /// An id (`NODE=ID`, or built from a Terraform instance) the kind cannot read.
    #[error("{about}: {reason}")]
    BadId { about: String, reason: String },
    #[error("{node}: no {kind} with id {id:?} exists")]
    Absent {
        node: String,
        kind: String,
        id: String,
    },
    #[error("the blueprint has no node {0:?}")]
    NoNode(String),
    #[error("{node} is a lookup ({kind}): lookups are found, never adopted")]
    IsLookup { node: String, kind: String },
    #[error("{node}: {kind} cannot be imported")]
    NotImportable { node: String, kind: String },
    #[error("{0:?} is not NODE=ID")]
    NotNodeId(String),
    #[error("{0} is named twice")]
    NamedTwice(String),
    #[error(
        "refusing to import: {0} node(s) match more than one object, or one object matches several nodes (listed above); remove the duplicate from the state file or import those nodes by id (NODE=ID)"
    )]
    Ambiguous(usize),
    #[error("nothing to import: no object matched a node of the blueprint")]
    NothingMatched,
    /// The state already records a node or object; one line each.
    #[error("refusing to import:\n{}", .0.join("\n"))]
    Recorded(Vec<String>),
    #[error("{0}")]
    WriteState(#[from] crate::state::StateError),
}

use crate::engine::plan::apply_order;
use crate::engine::resolve::{self, Known};
use crate::providers::{Desired, ProviderError, ProviderSet, Resource};
use crate::state::{Entry, State, Status, now_rfc3339};
use blueprint_model::graph::{Graph, Node};
use blueprint_model::kind::KindInfo;

pub use blueprint_model::record::AdoptedFrom;

/// One node to record as adopted.
#[derive(Debug, Clone, Serialize)]
pub struct Adoption {
    pub node: String,
    pub kind: String,
    /// The id Terraform's import takes for this object.
    pub import_id: String,
    pub from: AdoptedFrom,
    /// What the provider read, live.
    #[serde(skip)]
    pub resource: Resource,
    /// The node's props, resolved against what was adopted.
    #[serde(skip)]
    pub props: Map<String, Value>,
}

/// A data source instance that stands for one of our lookups.
#[derive(Debug, Clone, Serialize)]
pub struct LookupMatch {
    pub node: String,
    pub kind: String,
    pub file: String,
    pub address: String,
    pub id: String,
}

/// A node that more than one instance matches, or an instance that matches
/// more than one node: nothing is recorded while any is left.
#[derive(Debug, Clone, Serialize)]
pub struct Ambiguity {
    pub node: String,
    pub kind: String,
    /// `file: address` of each candidate.
    pub candidates: Vec<String>,
}

/// A graph node no instance was adopted for (it will be created by `run`).
#[derive(Debug, Clone, Serialize)]
pub struct Unadopted {
    pub node: String,
    pub kind: String,
    pub reason: String,
}

/// An instance that no node adopted.
#[derive(Debug, Clone, Serialize)]
pub struct Leftover {
    pub file: String,
    pub address: String,
    pub tf_type: String,
    pub reason: String,
}

/// The outcome of matching state files to a graph.
#[derive(Debug, Default, Serialize)]
pub struct Matching {
    pub adopted: Vec<Adoption>,
    pub lookups: Vec<LookupMatch>,
    pub ambiguous: Vec<Ambiguity>,
    /// Graph nodes without a match.
    pub nodes_without_match: Vec<Unadopted>,
    /// Managed instances of a type we map that no node matched.
    pub unmatched: Vec<Leftover>,
    /// Instances of types no kind maps to (and data sources no lookup found).
    pub ignored: Vec<Leftover>,
}

/// Identity props of a kind that its Terraform mapping does not cover (a bug in
/// a descriptor; checked by a test over every kind).
pub fn identity_attribute(info: &KindInfo, prop: &str) -> Option<&'static str> {
    info.terraform
        .props
        .iter()
        .find(|p| p.prop == prop)
        .map(|p| p.to.attr())
}

/// A value as the text it is compared by (strings as they are).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The lookups of a graph, performed as `plan` performs them (read-only).
pub async fn lookups(
    blueprint: &str,
    graph: &Graph,
    providers: &ProviderSet,
) -> Result<BTreeMap<String, Resource>, ImportError> {
    let empty = Known::default();
    let mut found = BTreeMap::new();
    for node in graph.nodes() {
        if !crate::providers::catalog().is_lookup(&node.kind) {
            continue;
        }
        let resolved = resolve::resolve(node, &empty);
        let desired = Desired {
            blueprint,
            node: &node.id,
            kind: &node.kind,
            props: &resolved.props,
            assets: &graph.assets,
        };
        let resource = providers
            .for_kind(&node.kind)?
            .create(&desired)
            .await
            .map_err(|cause| ImportError::Read {
                about: node.id.clone(),
                cause,
            })?;
        found.insert(node.id.clone(), resource);
    }
    Ok(found)
}

/// Match Terraform state instances to the graph's nodes (see the module doc).
/// Reads only.
pub async fn match_instances(
    blueprint: &str,
    graph: &Graph,
    providers: &ProviderSet,
    instances: &[Instance],
) -> Result<Matching, ImportError> {
    let lookups = lookups(blueprint, graph, providers).await?;
    let mut known = Known::default();
    for (node, resource) in &lookups {
        known.insert(node, resource.outputs.clone());
    }
    let mut matcher = Matcher {
        providers,
        instances,
        lookups,
        known,
        claimed: BTreeMap::new(),
        missing: BTreeSet::new(),
        matching: Matching::default(),
    };
    for node in apply_order(graph) {
        let info = crate::providers::catalog()
            .lookup(&node.kind)
            .expect("validated kinds");
        if info.lookup {
            matcher.match_lookup(node, info);
        } else {
            matcher.match_node(node, info).await?;
        }
    }
    matcher.sort_leftovers();
    Ok(matcher.matching)
}

/// One matching of instances to nodes, in dependency order: what is known,
/// which instance each node claimed, and which nodes found no match.
struct Matcher<'a> {
    providers: &'a ProviderSet,
    instances: &'a [Instance],
    lookups: BTreeMap<String, Resource>,
    known: Known,
    /// Which node claimed each instance (by index).
    claimed: BTreeMap<usize, String>,
    /// Nodes that were not adopted: their dependents cannot be matched.
    missing: BTreeSet<String>,
    matching: Matching,
}

impl Matcher<'_> {
    /// A lookup claims the data source instances that found the same object.
    fn match_lookup(&mut self, node: &Node, info: &KindInfo) {
        let Some(found) = self.lookups.get(&node.id) else {
            return;
        };
        for (i, inst) in self.instances.iter().enumerate() {
            if inst.data
                && inst.tf_type == info.terraform.tf_type
                && tfstate::attribute_text(&inst.attributes, "id").as_deref()
                    == Some(found.id.as_str())
            {
                self.claimed.insert(i, node.id.clone());
                self.matching.lookups.push(LookupMatch {
                    node: node.id.clone(),
                    kind: node.kind.clone(),
                    file: inst.file.clone(),
                    address: inst.address.clone(),
                    id: found.id.clone(),
                });
            }
        }
    }

    /// A node not adopted, and why.
    fn unmatched(&mut self, node: &Node, reason: String) {
        self.matching.nodes_without_match.push(Unadopted {
            node: node.id.clone(),
            kind: node.kind.clone(),
            reason,
        });
        self.missing.insert(node.id.clone());
    }

    /// A resource node: the one managed instance with its identity, read live.
    async fn match_node(&mut self, node: &Node, info: &KindInfo) -> Result<(), ImportError> {
        let Some(import) = &info.import else {
            self.unmatched(node, format!("{} cannot be imported", node.kind));
            return Ok(());
        };
        let blocked: Vec<String> = node
            .dependencies()
            .into_iter()
            .filter(|d| self.missing.contains(d))
            .collect();
        let resolved = resolve::resolve(node, &self.known);
        let wanted = match identity(info, import, node, &resolved) {
            Ok(wanted) => wanted,
            Err(reason) => {
                let reason = if blocked.is_empty() {
                    reason
                } else {
                    format!("it refers to {}, which has no match", blocked.join(", "))
                };
                self.unmatched(node, reason);
                return Ok(());
            }
        };
        let instances = self.instances;
        let candidates: Vec<usize> = instances
            .iter()
            .enumerate()
            .filter(|(_, inst)| !inst.data && inst.tf_type == info.terraform.tf_type)
            .filter(|(_, inst)| {
                wanted.iter().all(|(attr, value)| {
                    tfstate::attribute_text(&inst.attributes, attr).as_deref()
                        == Some(value.as_str())
                })
            })
            .map(|(i, _)| i)
            .collect();
        let describe = |i: &usize| format!("{}: {}", instances[*i].file, instances[*i].address);
        match candidates.as_slice() {
            [] => {
                let what: Vec<String> =
                    wanted.iter().map(|(a, v)| format!("{a} = {v:?}")).collect();
                let reason = format!(
                    "no {} instance has {}",
                    info.terraform.tf_type,
                    what.join(", ")
                );
                self.unmatched(node, reason);
            }
            [one] => {
                if let Some(other) = self.claimed.get(one) {
                    let candidate = format!("{} (also matched by node {other})", describe(one));
                    self.ambiguous(node, vec![candidate]);
                    return Ok(());
                }
                self.claimed.insert(*one, node.id.clone());
                self.adopt(node, import, &resolved.props, &instances[*one])
                    .await?;
            }
            many => self.ambiguous(node, many.iter().map(describe).collect()),
        }
        Ok(())
    }

    fn ambiguous(&mut self, node: &Node, candidates: Vec<String>) {
        self.matching.ambiguous.push(Ambiguity {
            node: node.id.clone(),
            kind: node.kind.clone(),
            candidates,
        });
        self.missing.insert(node.id.clone());
    }

    /// Read the one matching instance's object through the provider and adopt it.
    async fn adopt(
        &mut self,
        node: &Node,
        import: &ImportId,
        props: &Map<String, Value>,
        inst: &Instance,
    ) -> Result<(), ImportError> {
        let import_id = import
            .fill(&inst.attributes)
            .map_err(|reason| ImportError::BadId {
                about: format!("{}: {}", inst.file, inst.address),
                reason,
            })?;
        let prior = (import.prior)(&import_id, props).map_err(|reason| ImportError::BadId {
            about: format!("{}: {}: import id {import_id:?}", inst.file, inst.address),
            reason,
        })?;
        let read = self
            .providers
            .for_kind(&node.kind)?
            .read(&node.kind, &prior)
            .await
            .map_err(|cause| ImportError::Read {
                about: format!("{} ({})", node.id, inst.address),
                cause,
            })?;
        let Some(resource) = read else {
            let reason = format!(
                "{} ({}) matches, but {import_id} no longer exists",
                inst.address, inst.file
            );
            self.unmatched(node, reason);
            return Ok(());
        };
        self.known.insert(&node.id, resource.outputs.clone());
        let props = known_props(node, &self.known);
        self.matching.adopted.push(Adoption {
            node: node.id.clone(),
            kind: node.kind.clone(),
            import_id,
            from: AdoptedFrom::TerraformState {
                file: inst.file.clone(),
                address: inst.address.clone(),
            },
            resource,
            props,
        });
        Ok(())
    }

    /// Every instance no node claimed: unmatched (a resource no node has the
    /// identity of) or ignored (data sources, plumbing, types we do not map).
    fn sort_leftovers(&mut self) {
        for (i, inst) in self.instances.iter().enumerate() {
            if self.claimed.contains_key(&i) {
                continue;
            }
            let leftover = |reason: &str| Leftover {
                file: inst.file.clone(),
                address: inst.address.clone(),
                tf_type: inst.tf_type.clone(),
                reason: reason.to_owned(),
            };
            let matching = &mut self.matching;
            match crate::export::mapping_for_type(crate::providers::catalog(), &inst.tf_type) {
                // Maps to `blueprint.outputs`, but read from a Terraform state.
                _ if inst.tf_type == "terraform_remote_state" => matching.ignored.push(leftover(
                    "cross-stack plumbing: in the blueprint, the values it carried are references",
                )),
                Some((info, _)) if !inst.data && !info.lookup => matching
                    .unmatched
                    .push(leftover("no node of the blueprint has its identity")),
                Some(_) => matching
                    .ignored
                    .push(leftover("a data source no lookup of the blueprint finds")),
                None => matching
                    .ignored
                    .push(leftover("no kind of the blueprint maps to this type")),
            }
        }
    }
}

/// A node's props resolved with what is known, without those still unknown (a
/// reference to a node that was not adopted): only values are recorded.
fn known_props(node: &Node, known: &Known) -> Map<String, Value> {
    let resolved = resolve::resolve(node, known);
    resolved
        .props
        .into_iter()
        .filter(|(k, _)| !resolved.unknown.contains(k))
        .collect()
}

/// The identity attributes a node's match must have: `(attribute path, text)`.
fn identity(
    info: &KindInfo,
    import: &ImportId,
    node: &Node,
    resolved: &resolve::Resolved,
) -> Result<Vec<(&'static str, String)>, String> {
    import
        .identity
        .iter()
        .map(|prop| {
            let attr = identity_attribute(info, prop).ok_or_else(|| {
                format!(
                    "{}: identity prop `{prop}` has no Terraform attribute",
                    node.kind
                )
            })?;
            if resolved.unknown.contains(*prop) {
                return Err(format!("`{prop}` refers to a node that has no match"));
            }
            let value = resolved
                .props
                .get(*prop)
                .and_then(text)
                .ok_or_else(|| format!("`{prop}` is not set"))?;
            Ok((attr, value))
        })
        .collect()
}

/// Adopt nodes by id (`NODE=ID`), reading each live: with the outputs the state
/// already records and the graph's lookups, in dependency order.
pub async fn adopt_by_id(
    blueprint: &str,
    graph: &Graph,
    providers: &ProviderSet,
    state: &State,
    ids: &[(String, String)],
) -> Result<Vec<Adoption>, ImportError> {
    let by_node: BTreeMap<&str, &str> = ids.iter().map(|(n, i)| (n.as_str(), i.as_str())).collect();
    for node in by_node.keys() {
        let Some(n) = graph.node(node) else {
            return Err(ImportError::NoNode((*node).to_owned()));
        };
        let info = crate::providers::catalog()
            .lookup(&n.kind)
            .expect("validated kinds");
        let (node, kind) = ((*node).to_owned(), n.kind.clone());
        if info.lookup {
            return Err(ImportError::IsLookup { node, kind });
        }
        if info.import.is_none() {
            return Err(ImportError::NotImportable { node, kind });
        }
    }
    let mut known = Known::default();
    for (node, entry) in &state.resources {
        if let (Some(r), Status::Ready) = (&entry.resource, entry.status) {
            known.insert(node, r.outputs.clone());
        }
    }
    for (node, resource) in lookups(blueprint, graph, providers).await? {
        known.insert(&node, resource.outputs);
    }
    let mut adopted = Vec::new();
    for node in apply_order(graph) {
        let Some(id) = by_node.get(node.id.as_str()) else {
            continue;
        };
        let info = crate::providers::catalog()
            .lookup(&node.kind)
            .expect("validated kinds");
        let import = info.import.as_ref().expect("checked above");
        let resolved = resolve::resolve(node, &known);
        let prior = (import.prior)(id, &resolved.props).map_err(|e| ImportError::BadId {
            about: node.id.clone(),
            reason: format!(
                "{e} (the id of {} is {}, as Terraform's import takes it)",
                node.kind, import.format
            ),
        })?;
        let resource = providers
            .for_kind(&node.kind)?
            .read(&node.kind, &prior)
            .await
            .map_err(|cause| ImportError::Read {
                about: node.id.clone(),
                cause,
            })?
            .ok_or_else(|| ImportError::Absent {
                node: node.id.clone(),
                kind: node.kind.clone(),
                id: (*id).to_owned(),
            })?;
        known.insert(&node.id, resource.outputs.clone());
        let props = known_props(node, &known);
        adopted.push(Adoption {
            node: node.id.clone(),
            kind: node.kind.clone(),
            import_id: (*id).to_owned(),
            from: AdoptedFrom::Id {
                id: (*id).to_owned(),
            },
            resource,
            props,
        });
    }
    Ok(adopted)
}

/// Record adoptions in `state`. Refused, with nothing recorded, when a node is
/// recorded already (unless `replace_record`) or when an adopted object is
/// already recorded for another node.
pub fn record(
    state: &mut State,
    graph: &Graph,
    adopted: &[Adoption],
    replace_record: bool,
) -> Result<(), ImportError> {
    let mut problems = Vec::new();
    let nodes: BTreeSet<&str> = adopted.iter().map(|a| a.node.as_str()).collect();
    for a in adopted {
        if let Some(entry) = state.resources.get(&a.node)
            && !replace_record
        {
            let id = entry
                .resource
                .as_ref()
                .map_or("(being created)", |r| r.id.as_str());
            problems.push(format!(
                "{} is already recorded in the state (id {id}); pass --replace-record to record {} instead",
                a.node, a.resource.id
            ));
        }
        for (other, entry) in &state.resources {
            if nodes.contains(other.as_str()) || entry.kind != a.kind {
                continue;
            }
            let same = |r: &Resource| r.id == a.resource.id;
            if entry.resource.as_ref().is_some_and(same) || entry.deposed.iter().any(same) {
                problems.push(format!(
                    "{} ({}) is already recorded for node {other}: one object cannot stand for two nodes",
                    a.resource.id, a.kind
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Recorded(problems));
    }
    for a in adopted {
        let node = graph.node(&a.node).expect("adopted nodes are graph nodes");
        let sensitive = resolve::sensitive_props(node, graph);
        let props: Map<String, Value> = a
            .props
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        state.resources.insert(
            a.node.clone(),
            Entry {
                kind: a.kind.clone(),
                status: Status::Ready,
                resource: Some(a.resource.clone()),
                applied_props: props,
                sensitive_props: sensitive,
                dependencies: node.dependencies().into_iter().collect(),
                deposed: Vec::new(),
                updated_at: now_rfc3339(),
                adopted_from: Some(a.from.clone()),
            },
        );
    }
    Ok(())
}

/// `NODE=ID` arguments.
pub fn parse_ids(args: &[String]) -> Result<Vec<(String, String)>, ImportError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for arg in args {
        let Some((node, id)) = arg
            .split_once('=')
            .filter(|(n, i)| !n.is_empty() && !i.is_empty())
        else {
            return Err(ImportError::NotNodeId(arg.clone()));
        };
        if out.iter().any(|(n, _)| n == node) {
            return Err(ImportError::NamedTwice(node.to_owned()));
        }
        out.push((node.to_owned(), id.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every importable kind's identity props and id format name attributes of
    /// its Terraform mapping.
    #[test]
    fn identities_are_mapped() {
        for info in crate::providers::catalog().all() {
            // An output lives only in the state: there is nothing to import.
            let in_state_only = info.terraform.block == blueprint_model::terraform::Block::Output;
            assert_eq!(
                info.import.is_none(),
                info.lookup || in_state_only,
                "{}: every created kind can be imported, no lookup",
                info.name
            );
            let Some(import) = &info.import else { continue };
            assert!(!import.identity.is_empty(), "{}", info.name);
            for prop in import.identity {
                assert!(
                    identity_attribute(info, prop).is_some(),
                    "{}: identity `{prop}` unmapped",
                    info.name
                );
            }
            assert!(import.docs.starts_with("https://"), "{}", info.name);
        }
    }

    /// The kinds whose import id is not their own id turn it into the prior
    /// resource their `read` takes, and refuse other shapes.
    #[test]
    fn composite_import_ids_become_priors() {
        let prior = |kind: &str, id: &str, props: serde_json::Value| {
            let import = crate::providers::catalog()
                .lookup(kind)
                .unwrap()
                .import
                .as_ref()
                .unwrap();
            (import.prior)(id, props.as_object().unwrap())
        };
        let m = prior(
            "pagerduty.team_membership",
            "PUSER1:PTEAM1",
            serde_json::json!({}),
        )
        .unwrap();
        assert_eq!(
            (m.id.as_str(), &m.props["team"], &m.props["user"]),
            ("PTEAM1:PUSER1", &"PTEAM1".into(), &"PUSER1".into())
        );
        let i = prior(
            "pagerduty.service_integration",
            "PSVC1.PINT1",
            serde_json::json!({}),
        )
        .unwrap();
        assert_eq!(
            (i.id.as_str(), &i.props["service"]),
            ("PINT1", &"PSVC1".into())
        );
        let d = prior(
            "pagerduty.service_dependency",
            "PSVC1.service.D1",
            serde_json::json!({"business_service": "PBIZ1", "supporting_service": "PSVC1"}),
        )
        .unwrap();
        assert_eq!(
            (d.id.as_str(), &d.props["business_service"]),
            ("D1", &"PBIZ1".into())
        );
        let err = prior(
            "pagerduty.service_dependency",
            "POTHER.service.D1",
            serde_json::json!({"business_service": "PBIZ1", "supporting_service": "PSVC1"}),
        )
        .unwrap_err();
        assert!(err.contains("POTHER"), "{err}");
        assert!(
            prior(
                "pagerduty.service_dependency",
                "PSVC1.service.D1",
                serde_json::json!({})
            )
            .is_err()
        );
        let o = prior(
            "aws.s3_object",
            "s3://bucket/a/b.zip",
            serde_json::json!({}),
        )
        .unwrap();
        assert_eq!(
            (o.id.as_str(), &o.props["key"]),
            ("bucket/a/b.zip", &"a/b.zip".into())
        );
        let f = prior(
            "aws.cloudwatch_log_metric_filter",
            "/aws/lambda/f:errors",
            serde_json::json!({}),
        )
        .unwrap();
        assert_eq!(&f.props["log_group"], "/aws/lambda/f");
        assert!(
            prior(
                "aws.iam_role_policy_attachment",
                "role/not-an-arn",
                serde_json::json!({})
            )
            .is_err()
        );
        assert!(
            prior(
                "aws.sns_topic",
                "error-function-alarm",
                serde_json::json!({})
            )
            .is_err()
        );
    }

    #[test]
    fn ids_parse() {
        let ids = parse_ids(&["team=PABC123".into(), "x=a=b".into()]).unwrap();
        assert_eq!(ids[1], ("x".into(), "a=b".into()));
        assert!(parse_ids(&["team".into()]).is_err());
        assert!(parse_ids(&["t=1".into(), "t=2".into()]).is_err());
    }
}
