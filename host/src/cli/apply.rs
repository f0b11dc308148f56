//! `plan`, `run`, `destroy` and `state`: the commands that touch state and APIs.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use super::{
    ApplyArgs, ApplyOptions, CliResult, DestroyArgs, GlobalArgs, PlanArgs, StateArgs, StateCommand,
};
use crate::blueprint_file::Blueprint;
use crate::engine::{Applier, Plan, Planner, progress, render};
use crate::graph::Graph;
use crate::providers::{self, ProviderSet};
use crate::state::{LockInfo, StateLock, StateStore};

/// Exit code of `plan --detailed-exitcode` when there are changes.
const EXIT_CHANGES: u8 = 2;

async fn store_for(
    blueprint: &Blueprint,
    state: Option<&std::path::Path>,
) -> anyhow::Result<Box<dyn StateStore>> {
    crate::state::open(blueprint, state).await
}

/// Lock, load, and plan `graph` against the blueprint's state.
pub(super) async fn plan(
    blueprint: &Blueprint,
    graph: &Graph,
    store: &dyn StateStore,
    providers: &ProviderSet,
    parallelism: usize,
) -> anyhow::Result<Plan> {
    let state = store.load(&blueprint.name).await?;
    let planner = Planner {
        blueprint: &blueprint.name,
        graph,
        providers,
        parallelism,
    };
    Ok(planner.plan(state).await?)
}

pub(super) async fn lock(
    store: &dyn StateStore,
    command: &str,
) -> anyhow::Result<Box<dyn StateLock>> {
    Ok(store.lock(&LockInfo::current(command)).await?)
}

/// The kinds a run touches: the graph's and the state's.
async fn connect(
    blueprint: &Blueprint,
    graph: &Graph,
    store: &dyn StateStore,
) -> anyhow::Result<ProviderSet> {
    let state = store.load(&blueprint.name).await?;
    let kinds = graph
        .nodes()
        .iter()
        .map(|n| n.kind.clone())
        .chain(state.resources.values().map(|e| e.kind.clone()));
    providers::connect(&blueprint.providers, kinds).await
}

/// `check`'s warnings and errors, on stderr so `--json` output stays clean. With
/// `stop_on_policy_errors` (`run`), a policy's error stops here, before any write.
pub(super) async fn show_findings(
    runtime: &crate::runtime::Runtime,
    evaluated: &crate::evaluate::Evaluated,
    stop_on_policy_errors: bool,
) -> anyhow::Result<()> {
    let report = super::check::report(runtime, &evaluated.blueprint, &evaluated.graph).await?;
    eprint!("{}", crate::check::render_summary(&report));
    if stop_on_policy_errors && let Some(refusal) = crate::check::policies::blocking(&report) {
        anyhow::bail!(refusal);
    }
    Ok(())
}

pub async fn plan_command(global: &GlobalArgs, args: &PlanArgs) -> CliResult {
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    show_findings(&runtime, &evaluated, false).await?;
    let store = store_for(&evaluated.blueprint, args.state.as_deref()).await?;
    let _lock = lock(
        store.as_ref(),
        &format!("blueprint plan {}", args.eval.file.display()),
    )
    .await?;
    let providers = connect(&evaluated.blueprint, &evaluated.graph, store.as_ref()).await?;
    let plan = plan(
        &evaluated.blueprint,
        &evaluated.graph,
        store.as_ref(),
        &providers,
        args.parallelism,
    )
    .await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::plan_json(&plan))?
        );
    } else {
        print!("{}", render::plan_text(&plan));
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn run_command(global: &GlobalArgs, args: &ApplyArgs) -> CliResult {
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    show_findings(&runtime, &evaluated, true).await?;
    let store = store_for(&evaluated.blueprint, args.state.as_deref()).await?;
    let _lock = lock(
        store.as_ref(),
        &format!("blueprint run {}", args.eval.file.display()),
    )
    .await?;
    let providers = connect(&evaluated.blueprint, &evaluated.graph, store.as_ref()).await?;
    let plan = plan(
        &evaluated.blueprint,
        &evaluated.graph,
        store.as_ref(),
        &providers,
        args.options.parallelism,
    )
    .await?;
    apply(
        &evaluated.blueprint,
        &evaluated.graph,
        plan,
        store.as_ref(),
        &providers,
        &args.options,
    )
    .await
}

pub async fn destroy_command(global: &GlobalArgs, args: &DestroyArgs) -> CliResult {
    let _ = global;
    let blueprint = Blueprint::load(&args.file).map_err(anyhow::Error::msg)?;
    let store = store_for(&blueprint, args.state.as_deref()).await?;
    let _lock = lock(
        store.as_ref(),
        &format!("blueprint destroy {}", args.file.display()),
    )
    .await?;
    // Destroying is planning against an empty graph: everything recorded goes,
    // dependents first.
    let empty = Graph::default();
    let providers = connect(&blueprint, &empty, store.as_ref()).await?;
    let plan = plan(
        &blueprint,
        &empty,
        store.as_ref(),
        &providers,
        args.options.parallelism,
    )
    .await?;
    apply(
        &blueprint,
        &empty,
        plan,
        store.as_ref(),
        &providers,
        &args.options,
    )
    .await
}

/// Show the plan, confirm, apply, report.
async fn apply(
    blueprint: &Blueprint,
    graph: &Graph,
    plan: Plan,
    store: &dyn StateStore,
    providers: &ProviderSet,
    args: &ApplyOptions,
) -> CliResult {
    if args.json {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&render::plan_json(&plan))?
        );
    } else {
        print!("{}", render::plan_text(&plan));
    }
    if !plan.has_changes() {
        if args.json {
            println!(
                "{}",
                serde_json::json!({"applied": false, "reason": "no changes"})
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        confirm()?;
    }
    let progress = progress::for_stderr(args.json);
    let applier = Applier {
        blueprint: &blueprint.name,
        graph,
        providers,
        store,
        parallelism: args.parallelism,
        progress: progress.as_ref(),
    };
    let report = applier.apply(plan).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render::report_text(&report));
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Ask on a terminal; refuse to apply silently anywhere else.
pub(super) fn confirm() -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to apply without confirmation: stdin is not a terminal; pass --yes to apply"
        );
    }
    print!("\nApply these changes? Only 'yes' is accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        anyhow::bail!("apply cancelled");
    }
    Ok(())
}

pub async fn state_command(args: &StateArgs) -> CliResult {
    let (file, state_path, json) = match &args.command {
        StateCommand::List { file, state, json } | StateCommand::Show { file, state, json } => {
            (file, state, *json)
        }
        StateCommand::Unlock { file, state } => return unlock(file, state.as_deref()).await,
    };
    let blueprint = Blueprint::load(file).map_err(anyhow::Error::msg)?;
    let store = store_for(&blueprint, state_path.as_deref()).await?;
    let state = store
        .load(&blueprint.name)
        .await
        .with_context(|| format!("reading the state of {}", blueprint.name))?
        .redacted();
    match (&args.command, json) {
        (StateCommand::Unlock { .. }, _) => unreachable!("handled above"),
        (StateCommand::List { .. }, false) => {
            for (node, entry) in &state.resources {
                let id = entry.resource.as_ref().map_or("-", |r| r.id.as_str());
                println!("{node}  {}  {id}  {:?}", entry.kind, entry.status);
            }
        }
        (StateCommand::List { .. }, true) => {
            let list: Vec<_> = state
                .resources
                .iter()
                .map(|(node, e)| {
                    serde_json::json!({
                        "node": node,
                        "kind": e.kind,
                        "id": e.resource.as_ref().map(|r| r.id.clone()),
                        "status": e.status,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        (StateCommand::Show { .. }, _) => {
            println!("{}", serde_json::to_string_pretty(&state)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Break a lock whose holder is gone, naming who held it and since when.
async fn unlock(file: &std::path::Path, state: Option<&std::path::Path>) -> CliResult {
    let blueprint = Blueprint::load(file).map_err(anyhow::Error::msg)?;
    let store = store_for(&blueprint, state).await?;
    match store.break_lock().await? {
        Some(holder) => println!(
            "Released the lock on {} held by {holder}.",
            store.describe()
        ),
        None => println!(
            "No lock to release on {} (a local lock is released when its process exits).",
            store.describe()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
