//! Starting one task: resolve its props from the outputs known so far, record a
//! create's intent, and spawn the provider call.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::tasks::Task;
use futures::future::BoxFuture;

use super::{Applied, Applier, Finished, Shared, record};
use crate::engine::resolve;
use crate::providers::{Desired, ErrorClass, Found, Looking, Provider, ProviderError, Resource};
use crate::slots::{Slot, holding};
use crate::state::State;

/// The tasks one round of the scheduler starts: spawned together, after the
/// intents of the creates among them are saved (one save for the round).
#[derive(Default)]
pub(super) struct Launches {
    work: Vec<BoxFuture<'static, Finished>>,
    /// A create's intent was recorded: the state must be saved first.
    pub intents: bool,
}

impl Launches {
    fn spawn(&mut self, work: impl Future<Output = Finished> + Send + 'static) {
        self.work.push(Box::pin(work));
    }

    pub fn extend(&mut self, other: Launches) {
        self.work.extend(other.work);
        self.intents |= other.intents;
    }

    pub fn launch(self, running: &mut JoinSet<Finished>) {
        for work in self.work {
            running.spawn(work);
        }
    }
}

/// A task whose outcome is known without calling a provider.
fn settled(
    running: &mut Launches,
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
    /// Start one task (spawned with its round: see [`Launches`]).
    pub(super) fn start(
        &self,
        task: &Task,
        slot: Slot,
        state: &mut State,
        shared: &Shared<'_>,
        running: &mut Launches,
    ) {
        let node_id = task.node().to_owned();
        let kind = self.kind_of(state, &node_id);
        let provider = match self.providers.for_kind(&kind) {
            Ok(p) => p,
            Err(e) => {
                settled(running, task, Err(e), None, false);
                return;
            }
        };
        match task {
            Task::Create(_) | Task::Update(_) => {
                self.start_write(task, slot, &kind, provider, state, shared, running);
            }
            Task::Delete(_) | Task::DeleteDeposed(_) => {
                self.start_delete(task, slot, kind, provider, state, shared, running);
            }
        }
    }

    /// A create or an update: resolve the props, record a create's intent (saved
    /// before the call: [`Launches::intents`]), and spawn the call.
    #[allow(clippy::too_many_arguments)]
    fn start_write(
        &self,
        task: &Task,
        slot: Slot,
        kind: &str,
        provider: Arc<dyn Provider>,
        state: &mut State,
        shared: &Shared<'_>,
        running: &mut Launches,
    ) {
        let node_id = task.node().to_owned();
        let started = Instant::now();
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
            return;
        }
        let mut props = resolved.props;
        if let (Task::Update(_), Some(entry)) = (task, state.resources.get(&node_id)) {
            // `ignore_changes`: send what exists, not the guest's value.
            self.options.keep_ignored(&node_id, &mut props, entry);
        }
        let applied = Applied {
            sensitive: resolve::sensitive_props(&node, self.graph),
            dependencies: node.dependencies().into_iter().collect(),
            props,
        };
        if let Task::Create(_) = task {
            let cbd = shared.tasks.create_before_destroy.contains(&node_id);
            record::intent(state, &node_id, kind, &applied, cbd);
            running.intents = true;
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
            changed =
                crate::engine::plan::changed_names(provider.as_ref(), &node, &applied.props, entry);
            if changed.is_empty() {
                // An adoption is work even when nothing differs.
                let noop = !shared.tasks.adopting.contains(&node_id);
                if !noop {
                    self.progress.started(&node_id, kind, "adopt");
                }
                settled(running, task, Ok(prior), Some(applied), noop);
                return;
            }
        }
        self.progress
            .started(&node_id, kind, shared.tasks.verb(task));
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
        let track = node_id.clone();
        let work = async move {
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
        };
        running.spawn(crate::timings::in_track(&track, holding(slot, work)));
    }

    /// A delete: of the current resource, or of every replaced one.
    #[allow(clippy::too_many_arguments)]
    fn start_delete(
        &self,
        task: &Task,
        slot: Slot,
        kind: String,
        provider: Arc<dyn Provider>,
        state: &State,
        shared: &Shared<'_>,
        running: &mut Launches,
    ) {
        let node_id = task.node();
        let started = Instant::now();
        self.progress
            .started(node_id, &kind, shared.tasks.verb(task));
        let entry = state.resources.get(node_id);
        // The current resource, or every replaced one.
        let targets: Vec<Resource> = match task {
            Task::Delete(_) => entry.and_then(|e| e.resource.clone()).into_iter().collect(),
            _ => entry.map(|e| e.deposed.clone()).unwrap_or_default(),
        };
        let task = task.clone();
        let track = node_id.to_owned();
        let work = async move {
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
        };
        running.spawn(crate::timings::in_track(&track, holding(slot, work)));
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

/// Create, never making a second copy of what exists:
/// - when the plan could not look (or its look is stale), or an earlier create
///   of this node was interrupted, look first and adopt what is provably the
///   node's (or stop, with the ways out);
/// - a create whose outcome is unknown ([`ErrorClass::Ambiguous`]: a 5xx or a
///   cut connection after the request went out) is never re-sent blind: what
///   may have landed is looked for ([`find_landed`]) and adopted — then brought
///   to the desired props — and only when nothing is found is the create tried
///   again, a bounded number of times;
/// - a create refused because the name is taken looks too: that is our own
///   earlier attempt's object after an unknown outcome or an interruption,
///   adopted; anything else is adopted only if provably ours.
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
                return bring_to_desired(provider, desired, found).await;
            }
            Verdict::Refuse(e) => return Err(e),
            Verdict::Create => {}
        }
    }
    // Whether an earlier attempt of ours may have landed.
    let mut uncertain = look == Some(Looking::AfterIntent);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match provider.create(desired).await {
            Ok(created) => return Ok(created),
            Err(e) => e,
        };
        let retry = match error.class {
            ErrorClass::Ambiguous => true,
            ErrorClass::Conflict => false,
            _ => return Err(error),
        };
        uncertain |= retry;
        let (found, looking) = if uncertain {
            (find_landed(provider, desired).await?, Looking::AfterIntent)
        } else {
            (provider.find(desired).await?, Looking::Unrecorded)
        };
        match judge(found, looking, desired, rules) {
            Verdict::Adopt(found) => {
                tracing::info!(
                    node = desired.node,
                    "adopted what a create with an unknown outcome or a taken name found: {error}"
                );
                return bring_to_desired(provider, desired, found).await;
            }
            Verdict::Refuse(refusal) => return Err(refusal),
            Verdict::Create if retry && attempts < AMBIGUOUS_CREATE_ATTEMPTS => {
                tracing::info!(
                    node = desired.node,
                    "nothing landed; creating again: {error}"
                );
            }
            Verdict::Create => return Err(error),
        }
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
) -> Result<Option<Found>, ProviderError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        if let Some(found) = provider.find(desired).await? {
            return Ok(Some(found));
        }
        if started.elapsed() + pause > LANDED_WINDOW {
            return Ok(None);
        }
        crate::slots::pause(pause).await;
        pause = (pause * 2).min(Duration::from_secs(3));
    }
}

/// An adopted resource updated where its observed props differ from the
/// desired ones. Only props the provider observes are compared, and — the
/// plan's rule — a prop the blueprint leaves unset (null) asks for nothing: the
/// value the service chose (a Lambda's default timeout) stands.
async fn bring_to_desired(
    provider: &dyn Provider,
    desired: &Desired<'_>,
    found: Resource,
) -> Result<Resource, ProviderError> {
    let changed: Vec<String> = desired
        .props
        .iter()
        .filter(|(name, want)| {
            !want.is_null()
                && found.props.get(*name).is_some_and(|have| {
                    !resolve::same(want, have)
                        && !provider.equivalent(desired.kind, name, want, have)
                })
        })
        .map(|(name, _)| name.clone())
        .collect();
    if changed.is_empty() {
        return Ok(found);
    }
    tracing::info!(
        node = desired.node,
        ?changed,
        "updating what was adopted to the blueprint's props"
    );
    provider.update(desired, &found, &changed).await
}
