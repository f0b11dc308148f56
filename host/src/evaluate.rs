//! From a blueprint file to a validated graph: load the guest, settle its params
//! (file, `--set`, schema defaults, schema validation), run it, validate what it
//! declared. Nothing here calls a cloud API.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::blueprint_file::Blueprint;
use crate::runtime::{GuestError, GuestInfo, LoadedGuest, Runtime};
use blueprint_model::graph::{Graph, InvalidGraph, validate};
use blueprint_model::params;

/// A blueprint evaluated into a graph that passed validation.
pub struct Evaluated {
    pub blueprint: Blueprint,
    pub guest: GuestInfo,
    /// The params the guest ran with, defaults filled in.
    pub params: Value,
    /// The component file the guest was loaded from (`None` in development
    /// mode, which runs a language runtime): what a saved plan pins.
    pub guest_path: Option<std::path::PathBuf>,
    pub graph: Graph,
    pub timings: Timings,
}

/// Where the time went, for `-v` and the benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub load: Duration,
    pub instantiate: Duration,
    pub run: Duration,
    pub validate: Duration,
}

#[derive(Debug)]
pub enum EvalError {
    File(String),
    /// The guest could not be put on disk (read, downloaded, pulled, verified).
    Source(crate::guest_source::SourceError),
    Guest(GuestError),
    Params {
        guest: String,
        problems: Vec<String>,
    },
    Graph(InvalidGraph),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::File(message) => write!(f, "{message}"),
            EvalError::Source(e) => write!(f, "{e}"),
            EvalError::Guest(e) => write!(f, "{e}"),
            EvalError::Params { guest, problems } => {
                write!(f, "the params do not fit guest '{guest}':")?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            EvalError::Graph(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EvalError {}

impl From<GuestError> for EvalError {
    fn from(e: GuestError) -> Self {
        EvalError::Guest(e)
    }
}

/// How long past the guest's time limit the host may still spend on the work a
/// guest's run caused (validating what it declared).
pub const HOST_MARGIN: Duration = Duration::from_secs(1);

/// Validate on a blocking thread, within what is left of the run's time limit
/// plus [`HOST_MARGIN`]: the host's work for a guest counts against the guest's
/// time. (With the declaration budgets it is near-linear and far below this;
/// the bound makes it hold whatever a future check costs.)
async fn validate_in_time(
    runtime: &Runtime,
    guest: &str,
    graph: Graph,
    run_started: Instant,
) -> Result<Graph, EvalError> {
    let limit = runtime.limits().timeout;
    let left = (limit + HOST_MARGIN).saturating_sub(run_started.elapsed());
    let catalog = runtime.catalog();
    let task = tokio::task::spawn_blocking(move || {
        let outcome = validate::validate(&graph, catalog);
        (graph, outcome)
    });
    match tokio::time::timeout(left, task).await {
        Ok(Ok((graph, Ok(())))) => Ok(graph),
        Ok(Ok((_, Err(invalid)))) => Err(EvalError::Graph(invalid)),
        Ok(Err(join)) => Err(EvalError::File(format!(
            "validating the graph failed: {join}"
        ))),
        Err(_) => Err(EvalError::Guest(GuestError {
            guest: guest.to_owned(),
            kind: crate::runtime::GuestErrorKind::Timeout,
            message: format!(
                "failed: ran out of time (limit {:.1} s): validating what it declared took the host past the limit",
                limit.as_secs_f64()
            ),
        })),
    }
}

/// Evaluate a blueprint file with `--set` overrides.
pub async fn evaluate(
    runtime: &Runtime,
    blueprint: Blueprint,
    sets: &[String],
) -> Result<Evaluated, EvalError> {
    let started = Instant::now();
    let path = crate::guest_source::local_path(&blueprint)
        .await
        .map_err(EvalError::Source)?;
    let guest = runtime.load(&path)?;
    let load = started.elapsed();
    let mut evaluated = evaluate_loaded(runtime, blueprint, &guest, sets, load).await?;
    evaluated.guest_path = Some(path);
    Ok(evaluated)
}

/// Evaluate a blueprint with a guest already loaded (development mode loads a
/// language runtime instead of the blueprint's component) in `load`.
pub async fn evaluate_loaded(
    runtime: &Runtime,
    blueprint: Blueprint,
    guest: &LoadedGuest,
    sets: &[String],
    load: Duration,
) -> Result<Evaluated, EvalError> {
    let mut timings = Timings {
        load,
        ..Timings::default()
    };
    let started = Instant::now();
    let mut instance = runtime.instantiate(guest, &blueprint.dir).await?;
    let info = instance.info().await?;
    let schema = instance.params_schema().await?;
    timings.instantiate = started.elapsed();

    let mut given = blueprint.params.clone();
    params::apply_sets(&mut given, sets).map_err(EvalError::File)?;
    let mut params = Value::Object(given);
    params::fill_defaults(&schema, &mut params);
    params::validate(&schema, &params).map_err(|problems| EvalError::Params {
        guest: guest.name.clone(),
        problems,
    })?;

    let run_started = Instant::now();
    let graph = instance.run(&params).await?;
    timings.run = run_started.elapsed();

    let started = Instant::now();
    let graph = validate_in_time(runtime, &guest.name, graph, run_started).await?;
    timings.validate = started.elapsed();
    tracing::debug!(?timings, nodes = graph.nodes().len(), "blueprint evaluated");
    Ok(Evaluated {
        blueprint,
        guest: info,
        params,
        guest_path: None,
        graph,
        timings,
    })
}
