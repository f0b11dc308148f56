//! Starting one task: resolve its props from the outputs known so far, record a
//! create's intent, and spawn the provider call.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::tasks::Task;
use super::{Applied, Applier, ApplyError, Finished, Shared, record};
use crate::engine::resolve;
use crate::providers::{Desired, ErrorClass, Provider, ProviderError, Resource};
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
                        settled(running, task, Ok(prior), Some(applied), true);
                        return Ok(());
                    }
                }
                self.progress.started(&node_id, &kind, task.verb());
                let task = task.clone();
                let assets = shared.assets.clone();
                let adopt = shared.tasks.adopt.contains(&node_id);
                let blueprint = self.blueprint.to_owned();
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
                        _ => create_or_adopt(provider.as_ref(), &desired, adopt)
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
                self.progress.started(&node_id, &kind, task.verb());
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

/// After an interrupted create, adopt what was made; otherwise create. A
/// create whose outcome is unknown ([`ErrorClass::Ambiguous`]: a 5xx or a cut
/// connection after the request went out) is never re-sent blind: what may have
/// landed is looked for first ([`find_landed`]) and adopted — then brought to
/// the desired props if it differs — and only when nothing is found is the
/// create tried again, a bounded number of times. A `Conflict` after an
/// ambiguous attempt is that attempt's own object ("Name has already been
/// taken"), adopted the same way.
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
    let mut uncertain = adopt;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match provider.create(desired).await {
            Ok(created) => return Ok(created),
            Err(e) => e,
        };
        let retry = match error.class {
            ErrorClass::Ambiguous => true,
            // The interrupted run's (or an ambiguous attempt's) request landed.
            ErrorClass::Conflict if uncertain => false,
            _ => return Err(error),
        };
        uncertain = true;
        if let Some(found) = find_landed(provider, desired).await? {
            tracing::info!(
                node = desired.node,
                "adopted what a create with an unknown outcome made: {error}"
            );
            return bring_to_desired(provider, desired, found).await;
        }
        if !retry || attempts >= AMBIGUOUS_CREATE_ATTEMPTS {
            return Err(error);
        }
        tracing::info!(
            node = desired.node,
            "nothing landed; creating again: {error}"
        );
    }
}

/// Creates tried at most this often when each outcome is unknown and nothing
/// is found afterwards.
const AMBIGUOUS_CREATE_ATTEMPTS: u32 = 3;

/// How long a create that may have landed is looked for: services answer reads
/// and lists with a delay after a create (PagerDuty: 404 right after a create,
/// TOOLCHAIN.md; terraform-provider-pagerduty retries reads after every create
/// for it), so one empty `find` does not prove the create failed.
const LANDED_WINDOW: Duration = Duration::from_secs(12);

/// `find`, repeated with a growing pause until something is found or
/// [`LANDED_WINDOW`] has passed.
async fn find_landed(
    provider: &dyn Provider,
    desired: &Desired<'_>,
) -> Result<Option<Resource>, ProviderError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        if let Some(found) = provider.find(desired).await? {
            return Ok(Some(found));
        }
        if started.elapsed() + pause > LANDED_WINDOW {
            return Ok(None);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(3));
    }
}

/// An adopted resource updated where its observed props differ from the
/// desired ones (only props the provider observes are compared).
async fn bring_to_desired(
    provider: &dyn Provider,
    desired: &Desired<'_>,
    found: Resource,
) -> Result<Resource, ProviderError> {
    let changed: Vec<String> = desired
        .props
        .iter()
        .filter(|(name, want)| {
            found
                .props
                .get(*name)
                .is_some_and(|have| !provider.equivalent(desired.kind, name, want, have))
        })
        .map(|(name, _)| name.clone())
        .collect();
    if changed.is_empty() {
        return Ok(found);
    }
    provider.update(desired, &found, &changed).await
}
