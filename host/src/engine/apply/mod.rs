//! Applying a plan: a DAG scheduler on tokio. [`tasks`] turns the plan into a
//! task graph; a task starts as soon as every task it waits for is done, the
//! one with the longest chain after it first, at most `parallelism` working at
//! once (a task waiting on a lock, a rate budget or a pause lends its slot:
//! [`crate::slots`]; [`job`] runs one); references are resolved from
//! outputs as they arrive. A failure skips only what depends on it. A create's
//! intent is saved before the create starts, so a killed process never leaves
//! an untracked resource, and every outcome is saved with the next save
//! ([`record`]; one save in flight at a time, each holding everything that
//! changed while the one before was written).

mod job;
mod record;
pub mod tasks;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Map;
use tokio::task::JoinSet;

use super::plan::{Action, Change, Plan};
use super::progress::Progress;
use super::resolve::Known;
use crate::providers::{ProviderError, ProviderSet, Resource};
use crate::state::{State, StateError, StateStore};
use blueprint_model::assets::Asset;
use blueprint_model::graph::Graph;
use tasks::{Task, TaskGraph};

/// How long the plan's look for existing resources stays good for the creates
/// it found nothing for.
const LOOKED_RECENTLY: Duration = Duration::from_secs(30);

/// What one task weighs in the scheduler's priorities: about one API call.
const ONE_CALL: f64 = 0.1;

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
    /// How the user names the blueprint (for "blueprint import FILE ...").
    pub file: &'a str,
    /// `--allow-duplicates` (see [`super::Planner`]).
    pub allow_duplicates: bool,
    pub graph: &'a Graph,
    pub providers: &'a ProviderSet,
    pub store: &'a dyn StateStore,
    pub parallelism: usize,
    pub progress: &'a dyn Progress,
    /// The plan's options (`ignore_changes` holds at apply too).
    pub options: &'a super::plan::Options,
}

/// What a create or update applied: resolved props, the sensitive ones, and the
/// nodes referenced.
#[derive(Default)]
struct Applied {
    props: Map<String, serde_json::Value>,
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

/// Where each task of one apply stands, and the report so far.
#[derive(Default)]
struct Ledger {
    report: Report,
    /// Tasks not started, with the tasks each waits for.
    pending: BTreeMap<Task, BTreeSet<Task>>,
    done: BTreeSet<Task>,
    /// Failed or skipped, with why.
    failed: BTreeMap<Task, String>,
    /// `--timings`: when each task's dependencies were all done.
    ready_since: BTreeMap<Task, Instant>,
}

impl Ledger {
    /// The ready task (every dependency done) with the longest chain after
    /// it, taken out of `pending`.
    fn next_ready(&mut self, chain: &HashMap<Task, f64>) -> Option<Task> {
        let timing = crate::timings::enabled();
        let now = Instant::now();
        let mut best: Option<(&Task, f64)> = None;
        for (task, deps) in &self.pending {
            if !deps.iter().all(|d| self.done.contains(d)) {
                continue;
            }
            if timing {
                // When it became ready shows how long it then waited for a slot.
                self.ready_since.entry(task.clone()).or_insert(now);
            }
            let length = chain.get(task).copied().unwrap_or(ONE_CALL);
            if best.is_none_or(|(_, l)| length > l) {
                best = Some((task, length));
            }
        }
        let task = best.map(|(t, _)| t.clone())?;
        self.pending.remove(&task);
        Some(task)
    }

    fn has_ready(&self) -> bool {
        self.pending
            .values()
            .any(|deps| deps.iter().all(|d| self.done.contains(d)))
    }

    /// `--timings`: how long `task` waited for its dependencies (since the
    /// apply began) and then for a slot.
    fn trace_waits(&self, task: &Task, began: Instant) {
        let Some(ready) = self.ready_since.get(task).copied() else {
            return;
        };
        let node = task.node();
        let now = Instant::now();
        let args = serde_json::Value::Null;
        crate::timings::span(
            node,
            "waiting for dependencies",
            "wait",
            began,
            ready,
            args.clone(),
        );
        crate::timings::span(
            node,
            "waiting for a parallelism slot",
            "wait",
            ready,
            now,
            args,
        );
    }
}

/// What the scheduler waits for next.
enum Next {
    Saved(Result<(), ApplyError>),
    Joined(Option<Result<Finished, tokio::task::JoinError>>),
    Slot(crate::slots::Slot),
}

/// What every job of one apply reads.
struct Shared<'a> {
    known: Known,
    assets: Arc<BTreeMap<String, Asset>>,
    tasks: &'a TaskGraph,
}

impl Applier<'_> {
    pub async fn apply(&self, plan: Plan) -> Result<Report, ApplyError> {
        let started = Instant::now();
        let Plan {
            changes,
            mut state,
            lookups,
            planned_at,
            ..
        } = plan;
        let known = self.known_before(&changes, &mut state, &lookups);
        let moves = self.save_moves(&changes, &mut state).await?;
        let graph = self.task_graph(&changes, &state, planned_at);
        let mut shared = Shared {
            known,
            assets: Arc::new(self.graph.assets.clone()),
            tasks: &graph,
        };
        let mut ledger = Ledger {
            pending: graph.waits_for.clone(),
            ..Ledger::default()
        };
        ledger.report.done = moves;
        let mut running: JoinSet<Finished> = JoinSet::new();
        let slots = crate::slots::Slots::new(self.parallelism);
        let chain = self.priorities(&graph, &state);
        let mut lent: Option<crate::slots::Slot> = None;
        // Group commit: one save in flight at a time, and what changes
        // meanwhile goes in the next. A create starts only once a save holding
        // its intent is done (`covered` waits for `saving`, `held` for the
        // next save); other tasks start at once, and their results are saved
        // with the next save: the resources they touched are recorded already.
        let mut saving: Option<futures::future::BoxFuture<'_, Result<(), ApplyError>>> = None;
        let mut covered = job::Launches::default();
        let mut held = job::Launches::default();
        let mut dirty = false;

        loop {
            self.skip_doomed(&state, &graph, &mut ledger);
            // One round: every ready task a slot is free for.
            let mut round = job::Launches::default();
            loop {
                let slot = match lent.take() {
                    Some(slot) => slot,
                    None if slots.free() > 0 => slots.take().await,
                    None => break,
                };
                let Some(task) = ledger.next_ready(&chain) else {
                    break;
                };
                ledger.trace_waits(&task, started);
                self.start(&task, slot, &mut state, &shared, &mut round);
            }
            if round.intents {
                held.extend(round);
                dirty = true;
            } else {
                round.launch(&mut running);
            }
            if saving.is_none() && dirty {
                state.serial += 1;
                saving = Some(Box::pin(self.save_snapshot(state.clone())));
                covered = std::mem::take(&mut held);
                dirty = false;
            }
            if running.is_empty() && saving.is_none() {
                break;
            }
            // A save ends, a task ends, or one waiting elsewhere lends its slot.
            let next = tokio::select! {
                biased;
                saved = async { saving.as_mut().expect("guarded").await }, if saving.is_some() => {
                    Next::Saved(saved)
                }
                joined = running.join_next(), if !running.is_empty() => Next::Joined(joined),
                slot = slots.take(), if ledger.has_ready() => Next::Slot(slot),
            };
            match next {
                Next::Saved(saved) => {
                    saving = None;
                    saved?;
                    std::mem::take(&mut covered).launch(&mut running);
                }
                Next::Joined(None) => {}
                Next::Joined(Some(joined)) => {
                    // Everything that has ended by now.
                    let mut joined = Some(joined);
                    while let Some(one) = joined.take().or_else(|| running.try_join_next()) {
                        let finished =
                            one.unwrap_or_else(|e| panic!("an apply task panicked: {e}"));
                        dirty |= self.finish(finished, &mut state, &mut shared, &mut ledger);
                    }
                }
                Next::Slot(slot) => lent = Some(slot),
            }
        }
        if dirty {
            self.save(&mut state).await?;
        }
        self.skip_never_ran(&state, &graph, &mut ledger);
        ledger.report.seconds = started.elapsed().as_secs_f64();
        Ok(ledger.report)
    }

    /// `[[moved]]` re-keyed records before planning: saved first, so the
    /// renames hold even if every other change fails. Reported as moves.
    async fn save_moves(
        &self,
        changes: &[Change],
        state: &mut State,
    ) -> Result<Vec<Outcome>, ApplyError> {
        let moved: Vec<&Change> = changes.iter().filter(|c| c.moved_from.is_some()).collect();
        if !moved.is_empty() {
            self.save(state).await?;
        }
        Ok(moved
            .into_iter()
            .map(|c| Outcome {
                node: c.node.clone(),
                kind: c.kind.clone(),
                operation: "move",
                error: None,
                skipped_because: None,
                seconds: 0.0,
            })
            .collect())
    }

    /// Anything still pending when the apply ends waited on something that
    /// never ran.
    fn skip_never_ran(&self, state: &State, graph: &TaskGraph, ledger: &mut Ledger) {
        for task in std::mem::take(&mut ledger.pending).into_keys() {
            let kind = self.kind_of(state, task.node());
            ledger.report.skipped.push(Outcome {
                node: task.node().to_owned(),
                kind,
                operation: graph.verb(&task),
                error: None,
                skipped_because: Some("its dependencies did not complete".into()),
                seconds: 0.0,
            });
        }
    }

    /// Outputs known before anything runs: lookups and every resource that
    /// stays as it is. Lookups are recorded in the state so `state show` lists
    /// them.
    fn known_before(
        &self,
        changes: &[Change],
        state: &mut State,
        lookups: &BTreeMap<String, Resource>,
    ) -> Known {
        let mut known = Known::default();
        for (node, resource) in lookups {
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
        for (node, resource) in lookups {
            let kind = self.kind_of(state, node);
            state.resources.insert(
                node.clone(),
                crate::state::Entry::adopted(&kind, resource.clone()),
            );
        }
        known
    }

    /// The tasks of the plan and what each waits for. A plan whose look for
    /// existing resources is stale (someone sat at the prompt) looks again
    /// before every create.
    fn task_graph(&self, changes: &[Change], state: &State, planned_at: Instant) -> TaskGraph {
        let mut graph = tasks::build(changes, state, self.graph);
        if planned_at.elapsed() > LOOKED_RECENTLY {
            let creates = graph.waits_for.keys().filter_map(|t| match t {
                Task::Create(node) if !graph.adopt.contains(node) => Some(node.clone()),
                _ => None,
            });
            graph.look_first = creates.collect();
        }
        graph
    }

    /// The scheduler's priority of each task ([`TaskGraph::priorities`]): a
    /// task weighs one call; a create of a kind whose provider keeps a rate
    /// budget (`--parallelism auto`) weighs what that budget still has to do
    /// from it on (its pace × the creates of its kind from this one on), so
    /// what leads to the scarcest API starts first, one chain after another,
    /// and that API does not sit idle waiting for its parents.
    fn priorities(&self, graph: &TaskGraph, state: &State) -> HashMap<Task, f64> {
        let mut paced: BTreeMap<String, Vec<&Task>> = BTreeMap::new();
        let mut pace_of: HashMap<String, f64> = HashMap::new();
        for task in graph.waits_for.keys() {
            if let Task::Create(node) = task {
                let kind = self.kind_of(state, node);
                let pace = *pace_of.entry(kind.clone()).or_insert_with(|| {
                    self.providers
                        .for_kind(&kind)
                        .map_or(0.0, |p| p.pace(&kind).as_secs_f64())
                });
                if pace > 0.0 {
                    paced.entry(kind).or_default().push(task);
                }
            }
        }
        let mut weights: HashMap<&Task, f64> = HashMap::new();
        for (kind, tasks) in &paced {
            let count = tasks.len();
            for (i, task) in tasks.iter().enumerate() {
                weights.insert(task, pace_of[kind] * (count - i) as f64);
            }
        }
        graph.priorities(|task| weights.get(task).copied().unwrap_or(ONE_CALL))
    }

    /// Skip what can never run: tasks waiting on one that failed.
    fn skip_doomed(&self, state: &State, graph: &TaskGraph, ledger: &mut Ledger) {
        let doomed: Vec<(Task, String)> = ledger
            .pending
            .iter()
            .filter_map(|(t, deps)| {
                deps.iter()
                    .find(|d| ledger.failed.contains_key(*d))
                    .map(|d| (t.clone(), d.node().to_owned()))
            })
            .collect();
        for (task, because) in doomed {
            ledger.pending.remove(&task);
            ledger
                .failed
                .insert(task.clone(), format!("skipped: {because} failed"));
            let kind = self.kind_of(state, task.node());
            self.progress.skipped(task.node(), &kind, &because);
            ledger.report.skipped.push(Outcome {
                node: task.node().to_owned(),
                kind,
                operation: graph.verb(&task),
                error: None,
                skipped_because: Some(because),
                seconds: 0.0,
            });
        }
    }

    /// Record a task that ended, in the state and the report; whether the
    /// state changed (the caller saves it before anything else starts).
    fn finish(
        &self,
        finished: Finished,
        state: &mut State,
        shared: &mut Shared<'_>,
        ledger: &mut Ledger,
    ) -> bool {
        let node = finished.task.node().to_owned();
        let kind = self.kind_of(state, &node);
        let verb = shared.tasks.verb(&finished.task);
        let seconds = finished.elapsed.as_secs_f64();
        if crate::timings::enabled() && !finished.noop {
            let now = Instant::now();
            let outcome = if finished.result.is_ok() {
                "done"
            } else {
                "failed"
            };
            crate::timings::span(
                &node,
                verb,
                "operation",
                now - finished.elapsed,
                now,
                serde_json::json!({"kind": kind, "outcome": outcome}),
            );
        }
        match finished.result {
            Ok(resource) => {
                record::success(
                    state,
                    &finished.task,
                    &kind,
                    resource.clone(),
                    finished.applied,
                );
                if let (Some(r), Task::Create(_) | Task::Update(_)) = (&resource, &finished.task) {
                    shared.known.insert(&node, r.outputs.clone());
                }
                if !finished.noop {
                    self.progress.finished(&node, &kind, verb, finished.elapsed);
                    ledger.report.done.push(Outcome {
                        node,
                        kind,
                        operation: verb,
                        error: None,
                        skipped_because: None,
                        seconds,
                    });
                }
                ledger.done.insert(finished.task);
                true
            }
            Err(error) => {
                // A create that made something it could not make work: it
                // exists, so it is recorded (the next plan repairs it).
                let made = matches!(finished.task, Task::Create(_)) && error.created.is_some();
                if let (Some(made), Task::Create(_)) = (&error.created, &finished.task) {
                    record::success(
                        state,
                        &finished.task,
                        &kind,
                        Some((**made).clone()),
                        finished.applied,
                    );
                }
                self.progress.failed(&node, &kind, verb, &error.message);
                ledger.report.failed.push(Outcome {
                    node,
                    kind,
                    operation: verb,
                    error: Some(error.message.clone()),
                    skipped_because: None,
                    seconds,
                });
                ledger.failed.insert(finished.task, error.message);
                made
            }
        }
    }

    fn kind_of(&self, state: &State, node: &str) -> String {
        self.graph
            .node(node)
            .map(|n| n.kind.clone())
            .or_else(|| state.resources.get(node).map(|e| e.kind.clone()))
            .unwrap_or_default()
    }

    /// Save a copy of the state (its serial already counted) while the apply
    /// goes on.
    async fn save_snapshot(&self, snapshot: State) -> Result<(), ApplyError> {
        self.write(&snapshot).await
    }

    async fn save(&self, state: &mut State) -> Result<(), ApplyError> {
        state.serial += 1;
        self.write(state).await
    }

    /// One write of the state, drawn in the trace.
    async fn write(&self, state: &State) -> Result<(), ApplyError> {
        let from = Instant::now();
        let saved = self.store.save(state).await.map_err(ApplyError::State);
        if crate::timings::enabled() {
            let track = crate::timings::RUN_TRACK;
            let args = serde_json::Value::Null;
            crate::timings::span(track, "save the state", "state", from, Instant::now(), args);
        }
        saved
    }
}
