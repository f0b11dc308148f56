//! Planning: refresh what the state records, run lookups, and diff every node of
//! the graph against what exists. No mutating call is made here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::FutureExt;
use futures::stream::{self, StreamExt};
use petgraph::algo::toposort;
use petgraph::graphmap::DiGraphMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::resolve::{self, Known, same};
use crate::providers::{
    Desired, Found, Identity, Looking, Provider, ProviderError, ProviderSet, Resource,
};
use crate::slots::{Parallelism, Slot, Slots, holding};
use crate::state::{Entry, State, Status};
use blueprint_model::graph::{Graph, Node, token};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// Found live and provably this node's (its tags, or a part of what is):
    /// recorded, then updated where its props differ (the change's `props`).
    Adopt,
    Update,
    Replace,
    Delete,
    NoOp,
}

/// A prop's value after apply, as far as the plan knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "value", rename_all = "snake_case")]
pub enum After {
    Known(Value),
    /// Depends on an output that does not exist yet.
    Unknown,
    /// The prop was removed from the blueprint.
    Removed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropChange {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    pub after: After,
    pub sensitive: bool,
    /// Changing this prop replaces the resource.
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub node: String,
    pub kind: String,
    pub action: Action,
    /// For creates: every prop; for updates and replacements: the changed ones.
    pub props: Vec<PropChange>,
    /// An earlier create was interrupted: look for the resource before creating.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,
    /// A create the plan already looked for live (and found nothing).
    #[serde(skip)]
    pub checked: bool,
    /// Replaced resources of this node still waiting to be deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<Resource>,
    /// Renamed from this node (`[[moved]]`): the same resource, its record
    /// re-keyed, so it is updated in place rather than deleted and created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// Replaced because `--replace` asked, though no prop forces it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace_requested: bool,
}

impl Change {
    /// Whether applying this change does anything (a move re-keys the state).
    pub fn is_work(&self) -> bool {
        self.action != Action::NoOp || !self.deposed.is_empty() || self.moved_from.is_some()
    }
}

/// What the user asked of a plan beyond the graph: `[lifecycle] ignore_changes`
/// and `[[moved]]` from the blueprint file, `--replace` and `--target` from the
/// command line. The run layer checks that each names something.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Node → props whose differences are never planned (Terraform's
    /// `ignore_changes`): an update sends what exists for them.
    pub ignore_changes: BTreeMap<String, Vec<String>>,
    /// Nodes whose records were re-keyed before planning: new name → old.
    pub moved: BTreeMap<String, String>,
    /// `--replace`: nodes replaced even though nothing forces it.
    pub replace: BTreeSet<String>,
    /// `--target`: plan only these nodes and what they depend on (empty: all).
    pub targets: BTreeSet<String>,
}

impl Options {
    /// `props` with each ignored prop of `node` set to what exists (or left
    /// out where nothing is set), so neither the diff nor an update touches it.
    pub fn keep_ignored(&self, node: &str, props: &mut Map<String, Value>, entry: &Entry) {
        for name in self.ignore_changes.get(node).into_iter().flatten() {
            match current_value(entry, name) {
                Some(value) => props.insert(name.clone(), value),
                None => props.remove(name),
            };
        }
    }
}

/// What exists for a prop: what the provider observed, else what was last
/// applied.
fn current_value(entry: &Entry, name: &str) -> Option<Value> {
    entry
        .resource
        .as_ref()
        .and_then(|r| r.props.get(name))
        .or_else(|| entry.applied_props.get(name))
        .filter(|v| !v.is_null())
        .cloned()
}

/// What `run` would do, and the refreshed view it was computed from.
pub struct Plan {
    pub blueprint: String,
    /// In apply order for graph nodes; deletions of removed nodes at the end.
    pub changes: Vec<Change>,
    /// The state as refreshed (resources gone out of band dropped).
    pub state: State,
    /// Lookup results by node.
    pub lookups: BTreeMap<String, Resource>,
    /// Resources that had disappeared out of band.
    pub vanished: Vec<String>,
    /// When the plan looked at what exists.
    pub planned_at: std::time::Instant,
    /// `--target`: the nodes left out of this plan (their changes, if any,
    /// are not planned).
    pub untargeted: Vec<String>,
    /// What was read from other blueprints (their outputs), for the reader.
    pub reads: Vec<Read>,
}

/// One value read from another blueprint (a lookup of the relay role).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Read {
    pub node: String,
    pub kind: String,
    /// `<blueprint>/<output>`.
    pub id: String,
    /// The value, or `(sensitive)`.
    pub value: String,
}

impl Plan {
    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut counts = BTreeMap::new();
        for change in &self.changes {
            *counts.entry(change.action).or_insert(0) += 1;
            if change.action != Action::Delete && !change.deposed.is_empty() {
                *counts.entry(Action::Delete).or_insert(0) += change.deposed.len();
            }
        }
        counts
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(Change::is_work)
    }
}

impl PartialOrd for Action {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Action {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

/// A failure while planning, naming the node.
#[derive(Debug)]
pub struct PlanError {
    pub problems: Vec<(String, ProviderError)>,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "planning failed:")?;
        for (node, error) in &self.problems {
            write!(f, "\n  - {node}: {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanError {}

/// Nodes in dependency order (dependencies first). The graph has validated, so
/// there is no cycle.
pub fn apply_order(graph: &Graph) -> Vec<&Node> {
    let mut g: DiGraphMap<&str, ()> = DiGraphMap::new();
    for node in graph.nodes() {
        g.add_node(&node.id);
    }
    for (from, to) in graph.edges() {
        if let (Some(a), Some(b)) = (graph.node(&to), graph.node(&from)) {
            g.add_edge(&a.id, &b.id, ());
        }
    }
    let order = toposort(&g, None)
        .unwrap_or_else(|_| graph.nodes().iter().map(|n| n.id.as_str()).collect());
    order.into_iter().filter_map(|id| graph.node(id)).collect()
}

/// Each node's weight for the plan's looks: how many nodes the longest chain
/// of nodes that depend on it holds, itself included. A dependent's look
/// waits for its parent's (its identity may name the parent's id), so the
/// looks that unblock the longest chains go first.
pub(crate) fn look_priorities(graph: &Graph) -> HashMap<&str, usize> {
    let waits_for: BTreeMap<&str, BTreeSet<&str>> = graph
        .nodes()
        .iter()
        .map(|node| {
            let parents = node.dependencies().into_iter();
            let parents = parents.filter_map(|d| graph.node(&d).map(|p| p.id.as_str()));
            (node.id.as_str(), parents.collect())
        })
        .collect();
    super::chains::heaviest_chains(&waits_for, |_| 1.0)
        .into_iter()
        .map(|(id, nodes)| (id, nodes as usize))
        .collect()
}

/// The plan's reads in flight hold parallelism slots, as the apply's
/// operations do: a read that waits for another's batched call or for a rate
/// budget lends its slot ([`crate::slots::idle`]). `--parallelism N` is N
/// slots in all; under `auto` each provider has [`crate::slots::AUTO_SLOTS`],
/// so one provider's slow answers do not hold back another's reads.
struct ReadSlots {
    parallelism: Parallelism,
    pools: HashMap<String, Slots>,
    /// A slot taken while waiting, for the next read of its provider.
    taken: HashMap<String, Slot>,
}

impl ReadSlots {
    fn new(parallelism: Parallelism) -> ReadSlots {
        ReadSlots {
            parallelism,
            pools: HashMap::new(),
            taken: HashMap::new(),
        }
    }

    fn key<'k>(&self, kind: &'k str) -> &'k str {
        match self.parallelism {
            Parallelism::Auto => blueprint_model::kind::provider_of(kind),
            Parallelism::Fixed(_) => "",
        }
    }

    fn pool(&mut self, kind: &str) -> Slots {
        let slots = self.parallelism.slots();
        self.pools
            .entry(self.key(kind).to_owned())
            .or_insert_with(|| Slots::new(slots))
            .clone()
    }

    /// A slot for a read of `kind`, if one is free now.
    fn try_take(&mut self, kind: &str) -> Option<Slot> {
        match self.taken.remove(self.key(kind)) {
            Some(slot) => Some(slot),
            None => self.pool(kind).try_take(),
        }
    }

    /// Wait until a slot is free for a read of one of `kinds`, and keep it
    /// for that read.
    async fn wait_for_any(&mut self, kinds: &[&str]) {
        let wanted: BTreeSet<String> = kinds.iter().map(|k| self.key(k).to_owned()).collect();
        let pools: Vec<(String, Slots)> = wanted
            .into_iter()
            .map(|key| {
                let pool = self.pool(&key);
                (key, pool)
            })
            .collect();
        let waits = pools
            .iter()
            .map(|(key, pool)| Box::pin(async move { (key.clone(), pool.take().await) }));
        let ((key, slot), _, _) = futures::future::select_all(waits).await;
        self.taken.insert(key, slot);
    }

    /// Give back slots taken for reads that did not start.
    fn release_unused(&mut self) {
        self.taken.clear();
    }
}

pub struct Planner<'a> {
    pub blueprint: &'a str,
    pub graph: &'a Graph,
    pub providers: &'a ProviderSet,
    pub parallelism: Parallelism,
    /// How the user names the blueprint (for "blueprint import FILE ...").
    pub file: &'a str,
    /// `--allow-duplicates`: create beside a same-named object where the
    /// service allows two (PagerDuty schedules) instead of stopping.
    pub allow_duplicates: bool,
    pub options: &'a Options,
}

/// After a read of the plan failed, how long the reads in flight may take to
/// end with it.
const FAILED_WITH: std::time::Duration = std::time::Duration::from_millis(250);

/// What one read of the plan's discovery found.
struct Look<'n> {
    node: &'n Node,
    outcome: Looked,
    /// For a found resource that is not provably the node's: why not.
    refusal: Option<ProviderError>,
    /// Looked for with some props still unknown (found by name).
    partial: bool,
}

enum Looked {
    Lookup(Result<Resource, ProviderError>),
    Find(Result<Option<Found>, ProviderError>),
}

/// What the plan found live for nodes the state does not record.
#[derive(Default)]
struct Discovery {
    /// Provably this node's: adopted.
    adopted: BTreeMap<String, Resource>,
    /// Looked for and not there (or a duplicate is allowed): created. Other
    /// creates are looked for again just before they run.
    absent: BTreeSet<String>,
}

/// What the discovery has read so far.
#[derive(Default)]
struct Discovered {
    /// The lookups' resources, by node.
    lookups: BTreeMap<String, Resource>,
    discovery: Discovery,
    /// Found and not provably the node's: the plan stops, naming each.
    refused: Vec<(String, ProviderError)>,
    /// Reads that failed.
    problems: Vec<(String, ProviderError)>,
}

impl Discovered {
    /// Records one read; whether it made outputs known that other nodes'
    /// identities may name.
    fn record(&mut self, looked: Look<'_>, known: &mut Known, allow_duplicates: bool) -> bool {
        let node = looked.node;
        match looked.outcome {
            Looked::Lookup(Ok(resource)) => {
                known.insert(&node.id, resource.outputs.clone());
                self.lookups.insert(node.id.clone(), resource);
                true
            }
            Looked::Lookup(Err(e)) | Looked::Find(Err(e)) => {
                self.problems.push((node.id.clone(), e));
                false
            }
            Looked::Find(Ok(None)) => {
                self.discovery.absent.insert(node.id.clone());
                false
            }
            // Found by name with props still unknown: adopting needs them,
            // so the apply looks again once they are known.
            Looked::Find(Ok(Some(Found { proof, .. })))
                if looked.partial && proof.adoptable(Looking::Unrecorded) =>
            {
                false
            }
            Looked::Find(Ok(Some(Found { resource, proof }))) => {
                if allow_duplicates && proof.allows_duplicate() {
                    self.discovery.absent.insert(node.id.clone());
                    return false;
                }
                // Adopted or refused, its outputs are known now, so what
                // hangs off it is looked for (and named) too.
                known.insert(&node.id, resource.outputs.clone());
                if proof.adoptable(Looking::Unrecorded) {
                    self.discovery.adopted.insert(node.id.clone(), resource);
                } else {
                    let refusal = looked.refusal.expect("set when found");
                    self.refused.push((node.id.clone(), refusal));
                }
                true
            }
        }
    }
}

impl Planner<'_> {
    pub async fn plan(&self, mut state: State) -> Result<Plan, PlanError> {
        let vanished = self.refresh(&mut state).await?;

        let mut known = Known::default();
        for (node, entry) in &state.resources {
            if let (Some(resource), Status::Ready) = (&entry.resource, entry.status) {
                known.insert(node, resource.outputs.clone());
            }
        }
        let (lookups, discovery) = self.discover(&state, &mut known).await?;
        self.record_adopted(&discovery, &known, &mut state);

        let mut changes = Vec::new();
        for node in apply_order(self.graph) {
            let info = crate::providers::catalog()
                .lookup(&node.kind)
                .expect("validated kinds");
            if info.lookup {
                continue;
            }
            let provider = self.provider(&node.id, &node.kind)?;
            let mut resolved = resolve::resolve(node, &known);
            let sensitive = self.sensitive(node);
            let entry = state.resources.get(&node.id);
            let moved_from = self.options.moved.get(&node.id).cloned();
            let change = match entry {
                Some(entry) if entry.status == Status::Ready && entry.resource.is_some() => {
                    self.options
                        .keep_ignored(&node.id, &mut resolved.props, entry);
                    let props = diff(provider.as_ref(), node, &resolved, entry, &sensitive);
                    let forces = props.iter().any(|p| p.forces_replacement);
                    let replace_requested = !forces && self.options.replace.contains(&node.id);
                    let action = if forces || replace_requested {
                        Action::Replace
                    } else if discovery.adopted.contains_key(&node.id) {
                        Action::Adopt
                    } else if props.is_empty() {
                        Action::NoOp
                    } else {
                        Action::Update
                    };
                    Change {
                        node: node.id.clone(),
                        kind: node.kind.clone(),
                        action,
                        props,
                        adopt: false,
                        checked: false,
                        deposed: entry.deposed.clone(),
                        moved_from,
                        replace_requested,
                    }
                }
                other => Change {
                    node: node.id.clone(),
                    kind: node.kind.clone(),
                    action: Action::Create,
                    props: creation_props(&resolved, &sensitive),
                    adopt: other.is_some_and(|e| e.status == Status::Creating),
                    checked: discovery.absent.contains(&node.id),
                    deposed: other.map(|e| e.deposed.clone()).unwrap_or_default(),
                    moved_from,
                    replace_requested: false,
                },
            };
            // Outputs of what is (re)created are unknown, except those mirroring
            // a known prop; updates keep their outputs.
            if matches!(change.action, Action::Create | Action::Replace) {
                known.insert_mirrors(node, &resolved.props);
            }
            changes.push(change);
        }

        changes.extend(self.removed(&state));
        let untargeted = self.keep_targeted(&mut changes);

        let reads = self.reads(&lookups);
        Ok(Plan {
            blueprint: self.blueprint.to_owned(),
            changes,
            state,
            lookups,
            vanished,
            planned_at: std::time::Instant::now(),
            untargeted,
            reads,
        })
    }

    /// The lookups that read other blueprints' outputs, secrets redacted.
    fn reads(&self, lookups: &BTreeMap<String, Resource>) -> Vec<Read> {
        let catalog = crate::providers::catalog();
        self.graph
            .nodes()
            .iter()
            .filter_map(|node| {
                let info = catalog.lookup(&node.kind)?;
                if info.role != Some(blueprint_model::kind::Role::Relay) {
                    return None;
                }
                let resource = lookups.get(&node.id)?;
                let output = info.outputs.first()?;
                let value = resource.outputs.get(output.name)?;
                Some(Read {
                    node: node.id.clone(),
                    kind: node.kind.clone(),
                    id: resource.id.clone(),
                    value: if output.is_sensitive(&node.props) {
                        crate::state::REDACTED.to_owned()
                    } else {
                        value.clone()
                    },
                })
            })
            .collect()
    }

    /// `--target`: keep the changes of the targets and of every node they
    /// depend on (transitively); a removed node only when it is a target
    /// itself. Returns the nodes left out.
    fn keep_targeted(&self, changes: &mut Vec<Change>) -> Vec<String> {
        if self.options.targets.is_empty() {
            return Vec::new();
        }
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = self.options.targets.iter().cloned().collect();
        while let Some(id) = todo.pop() {
            if !wanted.insert(id.clone()) {
                continue;
            }
            if let Some(node) = self.graph.node(&id) {
                todo.extend(node.dependencies());
            }
        }
        let (kept, left): (Vec<Change>, Vec<Change>) = std::mem::take(changes)
            .into_iter()
            .partition(|c| wanted.contains(&c.node));
        *changes = kept;
        left.into_iter()
            .filter(Change::is_work)
            .map(|c| c.node)
            .collect()
    }

    /// Record what discovery found and will adopt, as found.
    fn record_adopted(&self, discovery: &Discovery, known: &Known, state: &mut State) {
        for (id, resource) in &discovery.adopted {
            let node = self
                .graph
                .node(id)
                .expect("discovered nodes are graph nodes");
            let mut entry = crate::state::Entry::adopted(&node.kind, resource.clone());
            entry.dependencies = node.dependencies().into_iter().collect();
            // What the provider cannot observe (a function's code, its log
            // settings on some services) is taken as declared, as `import` and
            // the recovery of an interrupted create do: what it observes is
            // compared, and updated where it differs.
            let resolved = resolve::resolve(node, known);
            entry.applied_props = resolved
                .props
                .into_iter()
                .filter(|(name, _)| {
                    !resolved.unknown.contains(name) && !resource.props.contains_key(name)
                })
                .collect();
            state.resources.insert(id.clone(), entry);
        }
    }

    /// Deletes of what the state records but the blueprint no longer declares,
    /// by node id.
    fn removed(&self, state: &State) -> Vec<Change> {
        let declared: BTreeSet<&str> = self.graph.nodes().iter().map(|n| n.id.as_str()).collect();
        let mut removed: Vec<(&String, &crate::state::Entry)> = state
            .resources
            .iter()
            .filter(|(id, e)| {
                !declared.contains(id.as_str()) && !crate::providers::catalog().is_lookup(&e.kind)
            })
            .collect();
        removed.sort_by(|a, b| a.0.cmp(b.0));
        removed
            .into_iter()
            .map(|(id, entry)| Change {
                node: id.clone(),
                kind: entry.kind.clone(),
                action: Action::Delete,
                props: Vec::new(),
                adopt: false,
                checked: false,
                deposed: entry.deposed.clone(),
                moved_from: None,
                replace_requested: false,
            })
            .collect()
    }

    /// What `node` asks of its provider, with these resolved props.
    fn desired<'b>(&'b self, node: &'b Node, props: &'b Map<String, Value>) -> Desired<'b> {
        Desired {
            blueprint: self.blueprint,
            node: &node.id,
            kind: &node.kind,
            props,
            assets: &self.graph.assets,
        }
    }

    fn provider(&self, node: &str, kind: &str) -> Result<Arc<dyn Provider>, PlanError> {
        self.providers.for_kind(kind).map_err(|e| PlanError {
            problems: vec![(node.to_owned(), e)],
        })
    }

    fn sensitive(&self, node: &Node) -> Vec<String> {
        resolve::sensitive_props(node, self.graph)
    }

    /// Read back every recorded resource (in parallel); drop the ones that are
    /// gone, so the plan recreates them.
    async fn refresh(&self, state: &mut State) -> Result<Vec<String>, PlanError> {
        let targets: Vec<(String, String, Resource, bool)> = state
            .resources
            .iter()
            .filter(|(_, e)| e.status == Status::Ready)
            .filter(|(_, e)| {
                !crate::providers::catalog()
                    .lookup(&e.kind)
                    .is_some_and(|k| k.lookup)
            })
            .flat_map(|(id, e)| {
                let current = e
                    .resource
                    .iter()
                    .map(move |r| (id.clone(), e.kind.clone(), r.clone(), false));
                let deposed = e
                    .deposed
                    .iter()
                    .map(move |r| (id.clone(), e.kind.clone(), r.clone(), true));
                current.chain(deposed)
            })
            .collect();
        let results: Vec<_> = stream::iter(targets)
            .map(|(id, kind, resource, deposed)| {
                let track = id.clone();
                crate::timings::in_track(&track, async move {
                    let outcome = match self.providers.for_kind(&kind) {
                        Ok(p) => p.read(&kind, &resource).await,
                        Err(e) => Err(e),
                    };
                    (id, resource, deposed, outcome)
                })
            })
            .buffer_unordered(self.parallelism.slots())
            .collect()
            .await;

        let mut problems = Vec::new();
        let mut vanished = Vec::new();
        for (id, prior, deposed, outcome) in results {
            let Some(entry) = state.resources.get_mut(&id) else {
                continue;
            };
            match (outcome, deposed) {
                (Ok(Some(observed)), false) => entry.resource = Some(observed),
                (Ok(None), false) => {
                    entry.resource = None;
                    vanished.push(id);
                }
                (Ok(Some(_)), true) => {}
                (Ok(None), true) => entry.deposed.retain(|r| r.id != prior.id),
                (Err(e), _) => problems.push((id, e)),
            }
        }
        if !problems.is_empty() {
            return Err(PlanError { problems });
        }
        // A vanished resource with nothing deposed is simply gone.
        state.resources.retain(|_, e| {
            e.resource.is_some() || e.status == Status::Creating || !e.deposed.is_empty()
        });
        vanished.sort();
        Ok(vanished)
    }

    /// Run the lookups, and look before creating: ask each node's provider
    /// whether something with its identity already exists, for every node the
    /// state does not record whose identity is known (all its props, or the
    /// name its kind is found by) — and none for a part of a node this apply
    /// creates. One pool of `parallelism` reads: a node is looked for as soon
    /// as its identity is known, so the looks that need no lookup run beside
    /// the lookups, and a node whose identity names a parent's id (an
    /// integration's service) follows the parent's look. What is provably
    /// ours is adopted (its outputs let its parts be looked for); anything
    /// else stops the plan before any write, naming each existing resource and
    /// the ways out.
    async fn discover(
        &self,
        state: &State,
        known: &mut Known,
    ) -> Result<(BTreeMap<String, Resource>, Discovery), PlanError> {
        let catalog = crate::providers::catalog();
        let mut lookups_left: Vec<&Node> = self
            .graph
            .nodes()
            .iter()
            .filter(|n| catalog.lookup(&n.kind).is_some_and(|k| k.lookup))
            .collect();
        let mut pending: Vec<&Node> = apply_order(self.graph)
            .into_iter()
            .filter(|n| !catalog.is_lookup(&n.kind) && !state.resources.contains_key(&n.id))
            .collect();
        let mut found = Discovered::default();
        let mut running = futures::stream::FuturesUnordered::new();
        let mut slots = ReadSlots::new(self.parallelism);
        // Identified and waiting for room; the one with the longest chain of
        // dependents goes first, in apply order among equals.
        let priority = look_priorities(self.graph);
        let mut ready: Vec<(&Node, resolve::Resolved)> = Vec::new();
        let mut known_grew = true;
        let mut failed_at = None;
        loop {
            if known_grew && found.problems.is_empty() {
                self.identify(&mut pending, &mut ready, known);
                known_grew = false;
            }
            // Lookups first: what waits on their outputs waits longest.
            let mut blocked: BTreeSet<String> = BTreeSet::new();
            while found.problems.is_empty() {
                let Some(at) = lookups_left
                    .iter()
                    .rposition(|n| !blocked.contains(slots.key(&n.kind)))
                else {
                    break;
                };
                let Some(slot) = slots.try_take(&lookups_left[at].kind) else {
                    blocked.insert(slots.key(&lookups_left[at].kind).to_owned());
                    continue;
                };
                let node = lookups_left.remove(at);
                let resolved = resolve::resolve(node, &Known::default());
                running.push(holding(slot, self.look(node, resolved, true)).boxed());
            }
            while found.problems.is_empty() {
                // The first of the heaviest with a free slot: `max_by_key`
                // keeps the last maximum.
                let Some(at) = (0..ready.len())
                    .rev()
                    .filter(|&i| !blocked.contains(slots.key(&ready[i].0.kind)))
                    .max_by_key(|&i| priority.get(ready[i].0.id.as_str()).copied().unwrap_or(1))
                else {
                    break;
                };
                let Some(slot) = slots.try_take(&ready[at].0.kind) else {
                    blocked.insert(slots.key(&ready[at].0.kind).to_owned());
                    continue;
                };
                let (node, resolved) = ready.remove(at);
                running.push(holding(slot, self.look(node, resolved, false)).boxed());
            }
            slots.release_unused();
            // Once a read failed the plan fails: what else fails with it (the
            // requests that waited on the same unanswered one) is named, the
            // rest is not waited for (a read of another service may take its
            // own whole time limit).
            let waiting: Vec<&str> = if found.problems.is_empty() {
                lookups_left
                    .iter()
                    .map(|n| n.kind.as_str())
                    .chain(ready.iter().map(|(n, _)| n.kind.as_str()))
                    .collect()
            } else {
                Vec::new()
            };
            let next = tokio::select! {
                next = async {
                    match failed_at {
                        None => running.next().await,
                        Some(at) => tokio::time::timeout_at(at + FAILED_WITH, running.next())
                            .await
                            .unwrap_or(None),
                    }
                } => next,
                // A read that waits lent its slot: another may start.
                () = slots.wait_for_any(&waiting), if !waiting.is_empty() && !running.is_empty() => continue,
            };
            let Some(looked) = next else {
                break;
            };
            known_grew |= found.record(looked, known, self.allow_duplicates);
            if !found.problems.is_empty() {
                failed_at.get_or_insert_with(tokio::time::Instant::now);
            }
        }
        let Discovered {
            lookups,
            mut discovery,
            mut refused,
            mut problems,
        } = found;
        if !problems.is_empty() {
            problems.sort_by(|a, b| a.0.cmp(&b.0));
            return Err(PlanError { problems });
        }
        self.parts_of_new(&pending, &mut discovery);
        if refused.is_empty() {
            Ok((lookups, discovery))
        } else {
            refused.sort_by(|a, b| a.0.cmp(&b.0));
            Err(PlanError { problems: refused })
        }
    }

    /// Moves the nodes of `pending` whose identity is now known to `ready`.
    fn identify<'g>(
        &self,
        pending: &mut Vec<&'g Node>,
        ready: &mut Vec<(&'g Node, resolve::Resolved)>,
        known: &Known,
    ) {
        for node in std::mem::take(pending) {
            let resolved = resolve::resolve(node, known);
            if self.identified(node, &resolved) {
                ready.push((node, resolved));
            } else {
                pending.push(node);
            }
        }
    }

    /// One read of [`Self::discover`]: a lookup (run at plan time: its outputs
    /// are needed to show and resolve the rest), or a look for `node`.
    async fn look<'n>(
        &self,
        node: &'n Node,
        resolved: resolve::Resolved,
        lookup: bool,
    ) -> Look<'n> {
        let partial = !resolved.unknown.is_empty();
        crate::timings::in_track(&node.id, async move {
            let desired = self.desired(node, &resolved.props);
            let provider = self.providers.for_kind(&node.kind);
            if lookup {
                let outcome = match provider {
                    Ok(p) => p.create(&desired).await,
                    Err(e) => Err(e),
                };
                return Look {
                    node,
                    outcome: Looked::Lookup(outcome),
                    refusal: None,
                    partial,
                };
            }
            let outcome = match provider {
                Ok(p) => p.find(&desired).await,
                Err(e) => Err(e),
            };
            // The message needs `desired`, which lives only here.
            let refusal = match &outcome {
                Ok(Some(found)) if !found.proof.adoptable(Looking::Unrecorded) => {
                    Some(found.not_ours(&desired, self.file))
                }
                _ => None,
            };
            Look {
                node,
                outcome: Looked::Find(outcome),
                refusal,
                partial,
            }
        })
        .await
    }

    /// Whether the plan knows enough of `node` to look for it: every prop, or
    /// the props its kind's `find` reads ([`Identity::Props`]).
    fn identified(&self, node: &Node, resolved: &resolve::Resolved) -> bool {
        if resolved.unknown.is_empty() {
            return true;
        }
        match self
            .providers
            .for_kind(&node.kind)
            .map(|p| p.identity(&node.kind))
        {
            Ok(Identity::Props(props)) => props.iter().all(|p| !resolved.unknown.contains(*p)),
            _ => false,
        }
    }

    /// Parts ([`Identity::Parents`]) of a node this apply creates cannot exist
    /// yet: counted as looked for, and absent (in apply order, so a part of a
    /// part follows).
    fn parts_of_new(&self, pending: &[&Node], discovery: &mut Discovery) {
        for node in pending {
            let parts = self
                .providers
                .for_kind(&node.kind)
                .is_ok_and(|p| p.identity(&node.kind) == Identity::Parents);
            let of_new = node
                .props
                .iter()
                .filter(|(key, _)| key.as_str() != blueprint_model::graph::DEPENDS_ON)
                .flat_map(|(_, value)| blueprint_model::graph::string_leaves_of(value))
                .flat_map(token::referenced_nodes)
                .any(|parent| discovery.absent.contains(parent));
            if parts && of_new {
                discovery.absent.insert(node.id.clone());
            }
        }
    }
}

fn creation_props(resolved: &resolve::Resolved, sensitive: &[String]) -> Vec<PropChange> {
    resolved
        .props
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, value)| PropChange {
            name: name.clone(),
            before: None,
            after: if resolved.unknown.contains(name) {
                After::Unknown
            } else {
                After::Known(value.clone())
            },
            sensitive: sensitive.contains(name),
            forces_replacement: false,
        })
        .collect()
}

/// The props whose desired value differs from what exists. The existing value of
/// a prop is what the provider observed, else what was last applied.
fn diff(
    provider: &dyn Provider,
    node: &Node,
    resolved: &resolve::Resolved,
    entry: &Entry,
    sensitive: &[String],
) -> Vec<PropChange> {
    let current = |name: &str| current_value(entry, name);
    let replace = crate::providers::catalog()
        .lookup(&node.kind)
        .map_or(&[][..], |k| k.replace_on_change);
    let mut changes = Vec::new();
    let names: BTreeSet<&String> = resolved
        .props
        .keys()
        .chain(entry.applied_props.keys())
        .collect();
    for name in names {
        let desired = resolved.props.get(name).filter(|v| !v.is_null());
        let before = current(name);
        let after = match desired {
            Some(_) if resolved.unknown.contains(name) => After::Unknown,
            Some(value) => match &before {
                Some(b) if same(value, b) || provider.equivalent(&node.kind, name, value, b) => {
                    continue;
                }
                _ => After::Known(value.clone()),
            },
            // Removed from the blueprint: a change only if something is set.
            None if before.is_some()
                && entry.applied_props.get(name).is_some_and(|v| !v.is_null()) =>
            {
                After::Removed
            }
            None => continue,
        };
        changes.push(PropChange {
            name: name.clone(),
            before,
            after,
            sensitive: sensitive.contains(name) || entry.sensitive_props.contains(name),
            forces_replacement: replace.contains(&name.as_str()),
        });
    }
    changes
}

/// The names of the props that still differ, with every value known (at apply
/// time): an update whose references resolved to what exists is no update.
pub fn changed_names(
    provider: &dyn Provider,
    node: &Node,
    props: &Map<String, Value>,
    entry: &crate::state::Entry,
) -> Vec<String> {
    let resolved = resolve::Resolved {
        props: props.clone(),
        unknown: BTreeSet::new(),
    };
    diff(provider, node, &resolved, entry, &[])
        .into_iter()
        .map(|p| p.name)
        .collect()
}
