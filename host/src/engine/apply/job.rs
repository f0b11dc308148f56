//! Starting one task: resolve its props from the outputs known so far, record a
//! create's intent, and spawn the provider call.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::tasks::Task;
use super::{Applied, Applier, ApplyError, Finished, Shared, record};
use crate::engine::resolve;
use crate::providers::{Desired, ErrorClass, Found, Looking, Provider, ProviderError, Resource};
use crate::state::State;

/// A task whose outcome is known without calling a provider.
fn settled(
    running: &mut JoinSet<Finished>,
    task: &Task,
    result: Result<Option<Resource>, ProviderError>,
    applied: Option<Applied>,
    noop: bool,
) {
    let task = task.clone();
    running.spawn(async move {
        Finished {
            task,
            result,
            elapsed: Duration::ZERO,
            applied,
            noop,
        }
    });
}

impl Applier<'_> {
    /// Spawn one task; a create's intent is saved before it starts.
    pub(super) async fn start(
        &self,
        task: &Task,
        state: &mut State,
        shared: &Shared<'_>,
        running: &mut JoinSet<Finished>,
    ) -> Result<(), ApplyError> {
        let node_id = task.node().to_owned();
        let kind = self.kind_of(state, &node_id);
        let provider = match self.providers.for_kind(&kind) {
            Ok(p) => p,
            Err(e) => {
                settled(running, task, Err(e), None, false);
                return Ok(());
            }
        };
        let started = Instant::now();
        match task {
            Task::Create(_) | Task::Update(_) => {
                let node = self
                    .graph
                    .node(&node_id)
                    .expect("creates are graph nodes")
                    .clone();
                let resolved = resolve::resolve(&node, &shared.known);
                if !resolved.unknown.is_empty() {
                    // Cannot happen when the dependency order holds; never send a
                    // token to an API.
                    let message = format!(
                        "{} ({}): props {:?} are still unknown",
                        node.id, node.kind, resolved.unknown
                    );
                    let error = ProviderError::new(ErrorClass::Invalid, message);
                    settled(running, task, Err(error), None, false);
                    return Ok(());
                }
                let applied = Applied {
                    sensitive: resolve::sensitive_props(&node, |id| {
                        self.graph.node(id).map(|n| n.kind.clone())
                    }),
                    dependencies: node.dependencies().into_iter().collect(),
                    props: resolved.props,
                };
                if let Task::Create(_) = task {
                    let cbd = shared.tasks.create_before_destroy.contains(&node_id);
                    record::intent(state, &node_id, &kind, &applied, cbd);
                    self.save(state).await?;
                }
                let prior = state
                    .resources
                    .get(&node_id)
                    .and_then(|e| e.resource.clone());
                let mut changed = shared
                    .tasks
                    .update_props
                    .get(&node_id)
                    .cloned()
                    .unwrap_or_default();
                if let (Task::Update(_), Some(entry)) = (task, state.resources.get(&node_id)) {
                    // Values that were unknown at plan time may have resolved to
                    // exactly what exists (an adopted or unchanged dependency).
                    changed = crate::engine::plan::changed_names(
                        provider.as_ref(),
                        &node,
                        &applied.props,
                        entry,
                    );
                    if changed.is_empty() {
                        // An adoption is work even when nothing differs.
                        let noop = !shared.tasks.adopting.contains(&node_id);
                        if !noop {
                            self.progress.started(&node_id, &kind, "adopt");
                        }
                        settled(running, task, Ok(prior), Some(applied), noop);
                        return Ok(());
                    }
                }
                self.progress
                    .started(&node_id, &kind, shared.tasks.verb(task));
                let task = task.clone();
                let assets = shared.assets.clone();
                let look = if shared.tasks.adopt.contains(&node_id) {
                    Some(Looking::AfterIntent)
                } else if shared.tasks.look_first.contains(&node_id) {
                    Some(Looking::Unrecorded)
                } else {
                    None
                };
                let blueprint = self.blueprint.to_owned();
                let rules = Rules {
                    file: self.file.to_owned(),
                    allow_duplicates: self.allow_duplicates,
                };
                running.spawn(async move {
                    let desired = Desired {
                        blueprint: &blueprint,
                        node: &node.id,
                        kind: &node.kind,
                        props: &applied.props,
                        assets: &assets,
                    };
                    let result = match (&task, prior) {
                        (Task::Update(_), Some(prior)) => {
                            provider.update(&desired, &prior, &changed).await.map(Some)
                        }
                        _ => create_or_adopt(provider.as_ref(), &desired, look, &rules)
                            .await
                            .map(Some),
                    };
                    Finished {
                        task,
                        result,
                        elapsed: started.elapsed(),
                        applied: Some(applied),
                        noop: false,
                    }
                });
            }
            Task::Delete(_) | Task::DeleteDeposed(_) => {
                self.progress
                    .started(&node_id, &kind, shared.tasks.verb(task));
                let entry = state.resources.get(&node_id);
                // The current resource, or every replaced one.
                let targets: Vec<Resource> = match task {
                    Task::Delete(_) => entry.and_then(|e| e.resource.clone()).into_iter().collect(),
                    _ => entry.map(|e| e.deposed.clone()).unwrap_or_default(),
                };
                let task = task.clone();
                running.spawn(async move {
                    let mut result = Ok(None);
                    for old in &targets {
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
}

/// What decides whether a found resource may be taken (see `Planner`).
struct Rules {
    file: String,
    allow_duplicates: bool,
}

/// What to do with what `find` returned before or after a create.
enum Verdict {
    Adopt(Resource),
    Create,
    Refuse(ProviderError),
}

fn judge(found: Option<Found>, looking: Looking, desired: &Desired<'_>, rules: &Rules) -> Verdict {
    match found {
        None => Verdict::Create,
        Some(found) if found.proof.adoptable(looking) => Verdict::Adopt(found.resource),
        Some(found) if rules.allow_duplicates && found.proof.allows_duplicate() => Verdict::Create,
        Some(found) => Verdict::Refuse(found.not_ours(desired, &rules.file)),
    }
}

/// Create, never making a second copy of what exists: when the plan could not
/// look (or its look is stale) or an earlier create of this node was
/// interrupted, look first and adopt what is provably the node's; a create
/// refused because the name is taken looks, and adopts or stops with the ways
/// out — never a blind retry.
async fn create_or_adopt(
    provider: &dyn Provider,
    desired: &Desired<'_>,
    look: Option<Looking>,
    rules: &Rules,
) -> Result<Resource, ProviderError> {
    if let Some(looking) = look {
        match judge(provider.find(desired).await?, looking, desired, rules) {
            Verdict::Adopt(found) => {
                tracing::info!(
                    node = desired.node,
                    ?looking,
                    "adopted an existing resource"
                );
                return Ok(found);
            }
            Verdict::Refuse(e) => return Err(e),
            Verdict::Create => {}
        }
    }
    match provider.create(desired).await {
        Err(e) if e.class == ErrorClass::Conflict => {
            // A late request of an interrupted run, or something made since
            // the look: ours if `find` can prove it.
            let looking = look.unwrap_or(Looking::Unrecorded);
            match judge(provider.find(desired).await?, looking, desired, rules) {
                Verdict::Adopt(found) => {
                    tracing::info!(
                        node = desired.node,
                        "adopted a resource whose name the create found taken"
                    );
                    Ok(found)
                }
                Verdict::Refuse(refusal) => Err(refusal),
                Verdict::Create => Err(e),
            }
        }
        other => other,
    }
}
