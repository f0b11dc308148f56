//! One home for a run, whatever the command: evaluate the blueprint → check it
//! → open its state → lock it → connect the providers its graph *and* its state
//! need → plan → apply or destroy. `plan`, `run`, `destroy`, `drill` and
//! `run DIR|FILE...` are thin callers; the CLI only parses and renders.

mod lifecycle;
pub mod many;
mod outputs;
mod pool;
pub mod saved;
pub mod state;

use std::path::{Path, PathBuf};

pub use lifecycle::LifecycleError;
pub use pool::ProviderPool;

use crate::blueprint_file::{Blueprint, FileError};
use crate::check::{self, Report as Findings};
use crate::engine::plan::Options as PlanOptions;
use crate::engine::progress::Progress;
use crate::engine::{Applier, Plan, PlanError, Planner, Report};
use crate::evaluate::{EvalError, Evaluated, evaluate};
use crate::providers::{KindProvider, ProviderSet, SetupError};
use crate::runtime::{GuestInfo, Runtime};
use crate::state::{LockInfo, OpenError, State, StateError, StateLock, StateStore};
use blueprint_model::graph::Graph;
use blueprint_model::record::RecordError;

/// Why a run stopped before it applied anything: what it read, evaluated,
/// checked, locked, connected or planned, or a refusal. Each wrapped error
/// keeps its own words and stays a cause ([`std::error::Error::source`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{0}")]
    Eval(#[from] EvalError),
    #[error("{0}")]
    Policy(#[from] check::policies::PolicyError),
    #[error("{0}")]
    Silence(#[from] check::UnknownRule),
    /// `run` applies nothing while `check` reports an error; one line a finding.
    #[error(
        "refusing to apply: `check` reports {} error(s):\n{}\nfix them, or silence one with a [[check.silence]] entry and a reason",
        .0.len(),
        .0.join("\n")
    )]
    CheckErrors(Vec<String>),
    #[error("{0}")]
    OpenState(#[from] OpenError),
    /// Taking the state's lock.
    #[error("{0}")]
    Lock(#[from] StateError),
    #[error("gave up after waiting {waited} s for the state lock (--lock-timeout)")]
    LockTimeout {
        waited: u64,
        #[source]
        cause: StateError,
    },
    #[error("reading the state of {blueprint}")]
    ReadState {
        blueprint: String,
        #[source]
        cause: StateError,
    },
    #[error("writing the state of {blueprint}")]
    WriteState {
        blueprint: String,
        #[source]
        cause: StateError,
    },
    /// `state mv` to a name no guest could give a node.
    #[error(
        "{0:?} cannot be a node name: use 1-{max} ASCII letters, digits, '-', '_', '.', '@' or '+', as a guest's names",
        max = crate::runtime::declare::MAX_NAME
    )]
    BadNodeName(String),
    /// `state mv` or `state rm` refused by the record (under the lock).
    #[error("{store}: nothing was changed: {cause}")]
    Surgery { store: String, cause: RecordError },
    #[error("{0}")]
    Lifecycle(#[from] LifecycleError),
    #[error("{0}")]
    Connect(#[from] SetupError),
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("{} holds no blueprint file (*.toml)", .0.display())]
    NoBlueprintFiles(PathBuf),
    #[error("reading {}: {cause}", path.display())]
    ReadDir {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// What a run is for; names the lock's holder and decides what is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Plan only: no mutating call.
    Plan,
    /// Plan, then apply; check errors stop it before any write.
    Run,
    /// Plan against an empty graph: everything recorded goes (the guest is not
    /// run, so a broken guest never blocks a destroy).
    Destroy,
    /// Read the applied blueprint and fire its alarms (no plan).
    Drill,
    /// Adopt existing objects into the state (`blueprint import`): reads only.
    Import,
}

impl Verb {
    fn command(self) -> &'static str {
        match self {
            Verb::Plan => "plan",
            Verb::Run => "run",
            Verb::Destroy => "destroy",
            Verb::Drill => "drill",
            Verb::Import => "import",
        }
    }
}

/// One blueprint file to run, as the user named it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub file: PathBuf,
    /// `--set KEY=VALUE` overrides.
    pub sets: Vec<String>,
    /// `--state`: a state file or `s3://` URL instead of the blueprint's own.
    pub state: Option<PathBuf>,
    /// `--target NODE`: plan only these nodes and what they depend on.
    pub targets: Vec<String>,
    /// `--replace NODE`: replace these nodes though nothing forces it.
    pub replace: Vec<String>,
}

/// What every run in one process shares: the guest runtime and provider clients.
pub struct Context {
    pub runtime: Runtime,
    pub providers: ProviderPool,
    /// How many API operations work at once (per blueprint), or `auto`.
    pub parallelism: crate::slots::Parallelism,
    /// `--allow-duplicates`: where the service allows two objects with one
    /// name, create beside an existing one instead of stopping.
    pub allow_duplicates: bool,
    /// `destroy --resolve-incidents`: resolve the open incidents that keep a
    /// schedule from being deleted.
    pub resolve_incidents: bool,
    /// `--lock-timeout`: how long to wait for a state lock another run holds.
    pub lock_timeout: std::time::Duration,
}

/// A blueprint opened for a run: evaluated, checked, its state locked and
/// loaded, its providers connected.
pub struct Opened {
    pub blueprint: Blueprint,
    /// The guest that declared the graph (`None` for `destroy`, which runs none).
    pub guest: Option<GuestInfo>,
    /// The guest's component file and the params it ran with (`None` for
    /// `destroy`): what a saved plan pins.
    pub inputs: Option<(Option<PathBuf>, serde_json::Value)>,
    /// The declared graph (empty for `destroy`).
    pub graph: Graph,
    /// `check`'s findings (`None` for `destroy`).
    pub findings: Option<Findings>,
    pub store: Box<dyn StateStore>,
    pub state: State,
    pub providers: ProviderSet,
    /// `[lifecycle]`, `[[moved]]`, `--target` and `--replace`, checked against
    /// the graph and the state (moves already made on `state`).
    pub options: PlanOptions,
    _lock: Box<dyn StateLock>,
}

/// An opened blueprint with its plan.
pub struct Prepared {
    pub opened: Opened,
    pub plan: Plan,
}

impl Context {
    /// Evaluate, check, lock, load and connect.
    pub async fn open(&self, target: &Target, verb: Verb) -> Result<Opened, RunError> {
        let blueprint = Blueprint::load(&target.file)?;
        let (guest, graph, findings, inputs) = if verb == Verb::Destroy {
            (None, Graph::default(), None, None)
        } else {
            let evaluated = crate::timings::phase(
                "evaluate the guest",
                evaluate(&self.runtime, blueprint.clone(), &target.sets),
            )
            .await?;
            let findings =
                crate::timings::phase("check", findings(&self.runtime, &evaluated)).await?;
            if verb == Verb::Run {
                refuse_on_errors(&findings)?;
            }
            let Evaluated {
                guest,
                graph,
                params,
                guest_path,
                ..
            } = evaluated;
            (
                Some(guest),
                graph,
                Some(findings),
                Some((guest_path, params)),
            )
        };
        let store = crate::state::open(&blueprint, target.state.as_deref()).await?;
        let info = LockInfo::current(&format!(
            "blueprint {} {}",
            verb.command(),
            target.file.display()
        ));
        let lock = self.lock(store.as_ref(), &info).await?;
        let mut state = store
            .load(&blueprint.name)
            .await
            .map_err(|cause| RunError::ReadState {
                blueprint: blueprint.name.clone(),
                cause,
            })?;
        let options = lifecycle::options(&blueprint, target, &graph, &mut state)?;
        // The kinds in the graph and those the state still records: a kind the
        // blueprint dropped must still be refreshed and deleted.
        let kinds = graph
            .nodes()
            .iter()
            .map(|n| n.kind.clone())
            .chain(state.resources.values().map(|e| e.kind.clone()));
        let mut settings = blueprint.providers.clone();
        settings.pagerduty.resolve_incidents = self.resolve_incidents;
        settings.aws.paced = self.parallelism.paced();
        let (local, remote): (Vec<String>, Vec<String>) = kinds.partition(|k| {
            blueprint_model::kind::provider_of(k)
                == crate::providers::blueprints::BlueprintsProvider::NAME
        });
        let mut providers = self.providers.connect(&settings, remote).await?;
        // States are read relative to this blueprint's file: its own provider.
        if !local.is_empty() {
            providers.insert(outputs::provider(&blueprint));
        }
        Ok(Opened {
            blueprint,
            guest,
            inputs,
            graph,
            findings,
            store,
            state,
            providers,
            options,
            _lock: lock,
        })
    }

    /// The state's lock, waited for up to `--lock-timeout` while another run
    /// holds it (a line on stderr every 5 s naming the holder), then the
    /// holder's error with how long it waited.
    async fn lock(
        &self,
        store: &dyn StateStore,
        info: &LockInfo,
    ) -> Result<Box<dyn StateLock>, RunError> {
        let started = std::time::Instant::now();
        let mut said: Option<std::time::Instant> = None;
        loop {
            match store.lock(info).await {
                Ok(lock) => return Ok(lock),
                Err(e @ crate::state::StateError::Locked { .. }) => {
                    let waited = started.elapsed();
                    if waited >= self.lock_timeout {
                        if self.lock_timeout.is_zero() {
                            return Err(e.into());
                        }
                        return Err(RunError::LockTimeout {
                            waited: waited.as_secs(),
                            cause: e,
                        });
                    }
                    if said.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(5)) {
                        eprintln!(
                            "Waiting for the state lock ({e}); {} s of --lock-timeout {} s left",
                            (self.lock_timeout - waited).as_secs(),
                            self.lock_timeout.as_secs()
                        );
                        said = Some(std::time::Instant::now());
                    }
                    let left = self.lock_timeout - waited;
                    tokio::time::sleep(left.min(std::time::Duration::from_millis(250))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Open and plan (refresh, lookups, diff): no mutating call.
    pub async fn prepare(&self, target: &Target, verb: Verb) -> Result<Prepared, RunError> {
        let opened = self.open(target, verb).await?;
        let state = opened.state.clone();
        let planner = Planner {
            blueprint: &opened.blueprint.name,
            graph: &opened.graph,
            providers: &opened.providers,
            parallelism: self.parallelism,
            file: &target.file.display().to_string(),
            allow_duplicates: self.allow_duplicates,
            options: &opened.options,
        };
        let plan = crate::timings::phase("plan", planner.plan(state)).await?;
        lifecycle::guard_prevent_destroy(&opened, &plan)?;
        Ok(Prepared { opened, plan })
    }

    /// Apply a prepared plan (the lock is held until it is done).
    pub async fn apply(
        &self,
        prepared: Prepared,
        progress: &dyn Progress,
    ) -> Result<Report, crate::engine::ApplyError> {
        let Prepared { opened, plan } = prepared;
        let applier = Applier {
            blueprint: &opened.blueprint.name,
            graph: &opened.graph,
            providers: &opened.providers,
            store: opened.store.as_ref(),
            parallelism: self.parallelism.slots(),
            progress,
            file: &opened.blueprint.file.display().to_string(),
            allow_duplicates: self.allow_duplicates,
            options: &opened.options,
        };
        crate::timings::phase("apply", applier.apply(plan)).await
    }
}

/// `check`'s findings for an evaluated blueprint (what `check`, `plan` and `run`
/// show): the built-in rules, then the blueprint's and the organisation's policy
/// guests.
pub async fn findings(runtime: &Runtime, evaluated: &Evaluated) -> Result<Findings, RunError> {
    let blueprint = &evaluated.blueprint;
    let graph = &evaluated.graph;
    let region = crate::blueprint_file::pagerduty::service_region(&blueprint.providers.pagerduty);
    let policies = check::policies::run(runtime, blueprint, graph).await?;
    Ok(check::check_with(
        graph,
        runtime.catalog(),
        &region,
        &blueprint.silences,
        &policies.rules,
        policies.findings,
    )?)
}

/// The kinds this build serves (what `kinds` lists and export maps).
pub fn catalog() -> &'static blueprint_model::kind::Catalog {
    crate::providers::catalog()
}

/// The guest runtime, serving this build's kinds.
pub fn runtime(
    limits: crate::runtime::Limits,
    cache_dir: Option<&Path>,
) -> Result<Runtime, crate::runtime::SetupError> {
    Runtime::new(catalog(), limits, cache_dir)
}

/// `check`'s built-in rules alone, without policy guests: what `dev` shows on
/// every edit (pulling policies would slow every edit).
pub fn built_in_findings(evaluated: &Evaluated) -> Result<Findings, check::UnknownRule> {
    let blueprint = &evaluated.blueprint;
    let region = crate::blueprint_file::pagerduty::service_region(&blueprint.providers.pagerduty);
    check::check(
        &evaluated.graph,
        crate::providers::catalog(),
        &region,
        &blueprint.silences,
    )
}

/// `run` applies nothing while `check` reports an error (a chain that can
/// never page, a subscription to a wrong URL): fix it or silence it.
fn refuse_on_errors(findings: &Findings) -> Result<(), RunError> {
    let errors: Vec<String> = findings
        .findings
        .iter()
        .filter(|f| f.severity == check::Severity::Error && f.silenced.is_none())
        .map(|f| {
            let head = match &f.policy {
                Some(policy) => {
                    format!("  - {} [{}, policy {policy}] {}", f.node, f.rule, f.message)
                }
                None => format!("  - {} [{}] {}", f.node, f.rule, f.message),
            };
            format!("{head}\n      fix: {}", f.fix)
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(RunError::CheckErrors(errors))
}

/// Evaluate a blueprint file (the commands that stop at the graph).
pub async fn evaluate_file(
    runtime: &Runtime,
    file: &Path,
    sets: &[String],
) -> Result<Evaluated, EvalError> {
    let blueprint = Blueprint::load(file).map_err(|e| EvalError::File(e.to_string()))?;
    evaluate(runtime, blueprint, sets).await
}

/// Files as given; folders become their `*.toml` files, sorted.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RunError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|cause| RunError::ReadDir {
                    path: path.clone(),
                    cause,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(RunError::NoBlueprintFiles(path.clone()));
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}
