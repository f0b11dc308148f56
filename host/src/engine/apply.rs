//! Applying a plan: a DAG scheduler on tokio. A task starts as soon as every task
//! it waits for is done, at most `parallelism` at once; references are resolved
//! from outputs as they arrive. A failure skips only what depends on it. The
//! state is saved after every operation, and a create's intent is saved before
//! the create starts, so a killed process never leaves an untracked resource.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::plan::{Action, Plan};
use super::progress::Progress;
use super::resolve::{self, Known};
use crate::assets::Asset;
use crate::graph::Graph;
use crate::providers::{Desired, Provider, ProviderError, ProviderSet, Resource};
use crate::state::{Entry, State, StateError, StateStore, Status, now_rfc3339};

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Task {
    /// Create (or adopt) the node's resource.
    Create(String),
    /// Change it in place.
    Update(String),
    /// Delete the node's current resource (removed from the blueprint, or the
    /// first half of a delete-then-create replacement).
    Delete(String),
    /// Delete the node's replaced resources.
    DeleteDeposed(String),
}

impl Task {
    fn node(&self) -> &str {
        match self {
            Task::Create(n) | Task::Update(n) | Task::Delete(n) | Task::DeleteDeposed(n) => n,
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            Task::Create(_) => "create",
            Task::Update(_) => "update",
            Task::Delete(_) | Task::DeleteDeposed(_) => "delete",
        }
    }
}

/// How one task ended.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub node: String,
    pub kind: String,
    pub operation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set when the task never ran because something it needed failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    pub seconds: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub done: Vec<Outcome>,
    pub failed: Vec<Outcome>,
    pub skipped: Vec<Outcome>,
    pub seconds: f64,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

#[derive(Debug)]
pub enum ApplyError {
    /// The state could not be saved: stop everything, say what is unrecorded.
    State(StateError),
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::State(e) => write!(f, "apply stopped: {e}"),
        }
    }
}

impl std::error::Error for ApplyError {}

pub struct Applier<'a> {
    pub blueprint: &'a str,
    pub graph: &'a Graph,
    pub providers: &'a ProviderSet,
    pub store: &'a dyn StateStore,
    pub parallelism: usize,
    pub progress: &'a dyn Progress,
}

/// What a create or update applied: resolved props, the sensitive ones, and the
/// nodes referenced.
#[derive(Default)]
struct Applied {
    props: Map<String, Value>,
    sensitive: Vec<String>,
    dependencies: Vec<String>,
}

/// What a finished task hands back to the scheduler.
struct Finished {
    task: Task,
    result: Result<Option<Resource>, ProviderError>,
    elapsed: Duration,
    /// For creates and updates: what was applied.
    applied: Option<Applied>,
    /// Nothing needed doing after all (not reported as work).
    noop: bool,
}

impl Applier<'_> {
    pub async fn apply(&self, plan: Plan) -> Result<Report, ApplyError> {
        let started = Instant::now();
        let Plan {
            changes,
            mut state,
            known: _,
            lookups,
            ..
        } = plan;

        // Outputs known now: lookups and every resource that stays as it is.
        let mut known = Known::default();
        for (node, resource) in &lookups {
            known.insert(node, resource.outputs.clone());
        }
        let changing: BTreeSet<&str> = changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| c.node.as_str())
            .collect();
        for (node, entry) in &state.resources {
            if let (Some(r), false) = (&entry.resource, changing.contains(node.as_str())) {
                known.insert(node, r.outputs.clone());
            }
        }
        // Lookups are recorded so `state show` lists them.
        for (node, resource) in &lookups {
            let kind = self
                .graph
                .node(node)
                .map(|n| n.kind.clone())
                .unwrap_or_default();
            state.resources.insert(
                node.clone(),
                entry(&kind, Some(resource.clone()), Map::new(), vec![], vec![]),
            );
        }

        // Build tasks and what each waits for.
        let mut tasks: BTreeMap<Task, BTreeSet<Task>> = BTreeMap::new();
        let mut update_props: HashMap<String, Vec<String>> = HashMap::new();
        let mut adopt: BTreeSet<String> = BTreeSet::new();
        let mut cbd: BTreeSet<String> = BTreeSet::new();
        for change in &changes {
            let provider = self.providers.for_kind(&change.kind).ok();
            let node = change.node.clone();
            match change.action {
                Action::NoOp => {}
                Action::Create => {
                    tasks.insert(Task::Create(node.clone()), BTreeSet::new());
                    if change.adopt {
                        adopt.insert(node.clone());
                    }
                }
                Action::Update => {
                    tasks.insert(Task::Update(node.clone()), BTreeSet::new());
                    update_props.insert(
                        node.clone(),
                        change.props.iter().map(|p| p.name.clone()).collect(),
                    );
                }
                Action::Replace => {
                    if provider.is_some_and(|p| p.create_before_destroy(&change.kind)) {
                        cbd.insert(node.clone());
                        tasks.insert(Task::Create(node.clone()), BTreeSet::new());
                        tasks.insert(
                            Task::DeleteDeposed(node.clone()),
                            BTreeSet::from([Task::Create(node.clone())]),
                        );
                    } else {
                        tasks.insert(Task::Delete(node.clone()), BTreeSet::new());
                        tasks.insert(
                            Task::Create(node.clone()),
                            BTreeSet::from([Task::Delete(node.clone())]),
                        );
                    }
                }
                Action::Delete => {
                    tasks.insert(Task::Delete(node.clone()), BTreeSet::new());
                }
            }
            if change.action != Action::Delete && !change.deposed.is_empty() {
                tasks.entry(Task::DeleteDeposed(node)).or_default();
            }
        }
        // Creates and updates wait for what they reference.
        let node_task = |tasks: &BTreeMap<Task, BTreeSet<Task>>, node: &str| {
            [Task::Create(node.to_owned()), Task::Update(node.to_owned())]
                .into_iter()
                .find(|t| tasks.contains_key(t))
        };
        let keys: Vec<Task> = tasks.keys().cloned().collect();
        for task in &keys {
            if let Task::Create(n) | Task::Update(n) = task {
                let deps = self
                    .graph
                    .node(n)
                    .map(|x| x.dependencies())
                    .unwrap_or_default();
                for dep in deps {
                    if let Some(t) = node_task(&tasks, &dep) {
                        tasks.get_mut(task).expect("present").insert(t);
                    }
                }
            }
        }
        // Deletes wait for everything that depended on the resource to move off it.
        for task in &keys {
            let (Task::Delete(n) | Task::DeleteDeposed(n)) = task else {
                continue;
            };
            for (other, entry) in &state.resources {
                if other == n || !entry.dependencies.contains(n) {
                    continue;
                }
                for t in [
                    Task::Delete(other.clone()),
                    Task::Create(other.clone()),
                    Task::Update(other.clone()),
                ] {
                    // A delete-first replacement of a dependency must not wait
                    // for the dependent's create (which waits for it): skip that.
                    let creates_after = matches!(task, Task::Delete(_))
                        && matches!(t, Task::Create(_) | Task::Update(_));
                    if tasks.contains_key(&t) && !(creates_after && self.graph.node(n).is_some()) {
                        tasks.get_mut(task).expect("present").insert(t);
                    }
                }
            }
            if let Task::DeleteDeposed(n) = task {
                for node in self.graph.nodes() {
                    if node.dependencies().contains(n)
                        && let Some(t) = node_task(&tasks, &node.id)
                    {
                        tasks.get_mut(task).expect("present").insert(t);
                    }
                }
            }
        }

        let assets = Arc::new(self.graph.assets.clone());
        let mut report = Report::default();
        let mut pending: BTreeMap<Task, BTreeSet<Task>> = tasks;
        let mut done: BTreeSet<Task> = BTreeSet::new();
        let mut failed: BTreeMap<Task, String> = BTreeMap::new();
        let mut running: JoinSet<Finished> = JoinSet::new();
        let parallelism = self.parallelism.max(1);

        loop {
            // Skip what can never run.
            let doomed: Vec<(Task, String)> = pending
                .iter()
                .filter_map(|(t, deps)| {
                    deps.iter()
                        .find(|d| failed.contains_key(*d))
                        .map(|d| (t.clone(), d.node().to_owned()))
                })
                .collect();
            for (task, because) in doomed {
                pending.remove(&task);
                failed.insert(task.clone(), format!("skipped: {because} failed"));
                let kind = self.kind_of(&state, task.node());
                self.progress.skipped(task.node(), &kind, &because);
                report.skipped.push(Outcome {
                    node: task.node().to_owned(),
                    kind,
                    operation: task.verb(),
                    error: None,
                    skipped_because: Some(because),
                    seconds: 0.0,
                });
            }

            // Start what is ready.
            let ready: Vec<Task> = pending
                .iter()
                .filter(|(_, deps)| deps.iter().all(|d| done.contains(d)))
                .map(|(t, _)| t.clone())
                .take(parallelism.saturating_sub(running.len()))
                .collect();
            for task in ready {
                pending.remove(&task);
                self.start(
                    &task,
                    &mut state,
                    &known,
                    &assets,
                    &update_props,
                    adopt.contains(task.node()),
                    cbd.contains(task.node()),
                    &mut running,
                )
                .await?;
            }

            let Some(joined) = running.join_next().await else {
                break;
            };
            let finished = match joined {
                Ok(f) => f,
                Err(e) => panic!("an apply task panicked: {e}"),
            };
            let node = finished.task.node().to_owned();
            let kind = self.kind_of(&state, &node);
            match finished.result {
                Ok(resource) => {
                    self.record_success(
                        &mut state,
                        &finished.task,
                        resource.clone(),
                        finished.applied,
                        cbd.contains(&node),
                    );
                    if let (Some(r), Task::Create(_) | Task::Update(_)) =
                        (&resource, &finished.task)
                    {
                        known.insert(&node, r.outputs.clone());
                    }
                    self.save(&mut state).await?;
                    if finished.noop {
                        done.insert(finished.task);
                        continue;
                    }
                    self.progress
                        .finished(&node, &kind, finished.task.verb(), finished.elapsed);
                    report.done.push(Outcome {
                        node,
                        kind,
                        operation: finished.task.verb(),
                        error: None,
                        skipped_because: None,
                        seconds: finished.elapsed.as_secs_f64(),
                    });
                    done.insert(finished.task);
                }
                Err(error) => {
                    self.progress
                        .failed(&node, &kind, finished.task.verb(), &error.message);
                    report.failed.push(Outcome {
                        node,
                        kind,
                        operation: finished.task.verb(),
                        error: Some(error.message.clone()),
                        skipped_because: None,
                        seconds: finished.elapsed.as_secs_f64(),
                    });
                    failed.insert(finished.task, error.message);
                }
            }
        }
        // Anything still pending waited on something that never ran.
        for task in pending.into_keys() {
            let kind = self.kind_of(&state, task.node());
            report.skipped.push(Outcome {
                node: task.node().to_owned(),
                kind,
                operation: task.verb(),
                error: None,
                skipped_because: Some("its dependencies did not complete".into()),
                seconds: 0.0,
            });
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    fn kind_of(&self, state: &State, node: &str) -> String {
        self.graph
            .node(node)
            .map(|n| n.kind.clone())
            .or_else(|| state.resources.get(node).map(|e| e.kind.clone()))
            .unwrap_or_default()
    }

    async fn save(&self, state: &mut State) -> Result<(), ApplyError> {
        state.serial += 1;
        self.store.save(state).await.map_err(ApplyError::State)
    }

    /// Spawn one task; a create's intent is saved before it starts.
    #[allow(clippy::too_many_arguments)]
    async fn start(
        &self,
        task: &Task,
        state: &mut State,
        known: &Known,
        assets: &Arc<BTreeMap<String, Asset>>,
        update_props: &HashMap<String, Vec<String>>,
        adopt: bool,
        create_before_destroy: bool,
        running: &mut JoinSet<Finished>,
    ) -> Result<(), ApplyError> {
        let node_id = task.node().to_owned();
        let kind = self.kind_of(state, &node_id);
        let provider = match self.providers.for_kind(&kind) {
            Ok(p) => p,
            Err(e) => {
                let task = task.clone();
                running.spawn(async move {
                    Finished {
                        task,
                        result: Err(e),
                        elapsed: Duration::ZERO,
                        applied: None,
                        noop: false,
                    }
                });
                return Ok(());
            }
        };
        let blueprint = self.blueprint.to_owned();
        let started = Instant::now();
        match task {
            Task::Create(_) | Task::Update(_) => {
                let node = self
                    .graph
                    .node(&node_id)
                    .expect("creates are graph nodes")
                    .clone();
                let resolved = resolve::resolve(&node, known);
                let sensitive = resolve::sensitive_props(&node, |id| {
                    self.graph.node(id).map(|n| n.kind.clone())
                });
                let dependencies: Vec<String> = node.dependencies().into_iter().collect();
                if !resolved.unknown.is_empty() {
                    // Cannot happen when the dependency order holds; never send a token to an API.
                    let task = task.clone();
                    let message = format!(
                        "{} ({}): props {:?} are still unknown",
                        node.id, node.kind, resolved.unknown
                    );
                    running.spawn(async move {
                        Finished {
                            task,
                            result: Err(ProviderError::new(
                                crate::providers::ErrorClass::Invalid,
                                message,
                            )),
                            elapsed: Duration::ZERO,
                            applied: None,
                            noop: false,
                        }
                    });
                    return Ok(());
                }
                let props = resolved.props;
                if let Task::Create(_) = task {
                    // Record the intent first: if we die mid-create, the next run
                    // looks for the resource instead of making a second one.
                    let prior = state.resources.remove(&node_id);
                    let mut intent = entry(
                        &kind,
                        None,
                        props.clone(),
                        sensitive.clone(),
                        dependencies.clone(),
                    );
                    intent.status = Status::Creating;
                    if let Some(prior) = prior {
                        intent.deposed = prior.deposed;
                        if create_before_destroy && let Some(old) = prior.resource {
                            intent.deposed.push(old);
                        }
                    }
                    state.resources.insert(node_id.clone(), intent);
                    self.save(state).await?;
                }
                let prior = state
                    .resources
                    .get(&node_id)
                    .and_then(|e| e.resource.clone());
                let mut changed = update_props.get(&node_id).cloned().unwrap_or_default();
                if let (Task::Update(_), Some(entry)) = (task, state.resources.get(&node_id)) {
                    // Values that were unknown at plan time may have resolved to
                    // exactly what exists (an adopted or unchanged dependency).
                    changed = super::plan::changed_names(provider.as_ref(), &node, &props, entry);
                    if changed.is_empty() {
                        let task = task.clone();
                        running.spawn(async move {
                            Finished {
                                task,
                                result: Ok(prior),
                                elapsed: Duration::ZERO,
                                applied: Some(Applied {
                                    props,
                                    sensitive,
                                    dependencies,
                                }),
                                noop: true,
                            }
                        });
                        return Ok(());
                    }
                }
                self.progress.started(&node_id, &kind, task.verb());
                let task = task.clone();
                let assets = Arc::clone(assets);
                running.spawn(async move {
                    let desired = Desired {
                        blueprint: &blueprint,
                        node: &node.id,
                        kind: &node.kind,
                        props: &props,
                        assets: &assets,
                    };
                    let result = match (&task, prior) {
                        (Task::Update(_), Some(prior)) => {
                            provider.update(&desired, &prior, &changed).await.map(Some)
                        }
                        _ => create_or_adopt(provider.as_ref(), &desired, adopt)
                            .await
                            .map(Some),
                    };
                    Finished {
                        task,
                        result,
                        elapsed: started.elapsed(),
                        applied: Some(Applied {
                            props: props.clone(),
                            sensitive,
                            dependencies,
                        }),
                        noop: false,
                    }
                });
            }
            Task::Delete(_) => {
                self.progress.started(&node_id, &kind, task.verb());
                let prior = state
                    .resources
                    .get(&node_id)
                    .and_then(|e| e.resource.clone());
                let task = task.clone();
                running.spawn(async move {
                    let result = match prior {
                        Some(prior) => provider.delete(&kind, &prior).await.map(|()| None),
                        None => Ok(None),
                    };
                    Finished {
                        task,
                        result,
                        elapsed: started.elapsed(),
                        applied: None,
                        noop: false,
                    }
                });
            }
            Task::DeleteDeposed(_) => {
                self.progress.started(&node_id, &kind, task.verb());
                let deposed = state
                    .resources
                    .get(&node_id)
                    .map(|e| e.deposed.clone())
                    .unwrap_or_default();
                let task = task.clone();
                running.spawn(async move {
                    let mut result = Ok(None);
                    for old in &deposed {
                        if let Err(e) = provider.delete(&kind, old).await {
                            result = Err(e);
                            break;
                        }
                    }
                    Finished {
                        task,
                        result,
                        elapsed: started.elapsed(),
                        applied: None,
                        noop: false,
                    }
                });
            }
        }
        Ok(())
    }

    fn record_success(
        &self,
        state: &mut State,
        task: &Task,
        resource: Option<Resource>,
        applied: Option<Applied>,
        _create_before_destroy: bool,
    ) {
        let node = task.node();
        let kind = self.kind_of(state, node);
        match task {
            Task::Create(_) | Task::Update(_) => {
                let Applied {
                    props,
                    sensitive,
                    dependencies,
                } = applied.unwrap_or_default();
                let deposed = state
                    .resources
                    .get(node)
                    .map(|e| e.deposed.clone())
                    .unwrap_or_default();
                let mut e = entry(&kind, resource, props, sensitive, dependencies);
                e.deposed = deposed;
                state.resources.insert(node.to_owned(), e);
            }
            Task::Delete(_) => {
                let keep_deposed = state
                    .resources
                    .get(node)
                    .map(|e| e.deposed.clone())
                    .filter(|d| !d.is_empty());
                match keep_deposed {
                    Some(deposed) => {
                        let e = state.resources.get_mut(node).expect("present");
                        e.resource = None;
                        e.deposed = deposed;
                    }
                    None => {
                        state.resources.remove(node);
                    }
                }
            }
            Task::DeleteDeposed(_) => {
                if let Some(e) = state.resources.get_mut(node) {
                    e.deposed.clear();
                    if e.resource.is_none() && e.status == Status::Ready {
                        state.resources.remove(node);
                    }
                }
            }
        }
    }
}

/// After an interrupted create, adopt what was made; otherwise create.
async fn create_or_adopt(
    provider: &dyn Provider,
    desired: &Desired<'_>,
    adopt: bool,
) -> Result<Resource, ProviderError> {
    if adopt && let Some(found) = provider.find(desired).await? {
        tracing::info!(
            node = desired.node,
            "adopted a resource an interrupted run created"
        );
        return Ok(found);
    }
    match provider.create(desired).await {
        // The interrupted run's request was still in flight when we looked and
        // has landed since: it is ours if `find` recognises it (tags or name).
        Err(e) if adopt && e.class == crate::providers::ErrorClass::Conflict => {
            match provider.find(desired).await? {
                Some(found) => {
                    tracing::info!(
                        node = desired.node,
                        "adopted a resource an interrupted run's late request created"
                    );
                    Ok(found)
                }
                None => Err(e),
            }
        }
        other => other,
    }
}

fn entry(
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
    }
}
