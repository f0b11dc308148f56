//! `plan`, `run` (one or many blueprints), `destroy` and `state`: each opens its
//! blueprints through `crate::run`, then renders, confirms and reports.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use super::{CliResult, DestroyArgs, GlobalArgs, PlanArgs, RunArgs, ShowArgs};
use super::{SelectArgs, StateArgs, StateCommand};
use super::{progress, render, style};
use crate::engine::Plan;
use crate::run::many::Summary;
use crate::run::saved::{self, SavedPlan};
use crate::run::{Context, Prepared, Target, Verb};

/// Exit code of `plan --detailed-exitcode` when there are changes.
const EXIT_CHANGES: u8 = 2;

/// `check`'s warnings and errors, on stderr so `--json` output stays clean.
fn show_findings(prepared: &Prepared) {
    if let Some(findings) = &prepared.opened.findings {
        eprint!("{}", crate::check::render_summary(findings));
    }
}

fn show_plan(plan: &Plan, json: bool) -> anyhow::Result<()> {
    if json {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&render::plan_json(plan))?
        );
    } else {
        print!("{}", style::plan(&render::plan_text(plan)));
    }
    Ok(())
}

pub async fn plan_command(global: &GlobalArgs, args: &PlanArgs) -> CliResult {
    let mut context = global.context(args.parallelism)?;
    context.allow_duplicates = args.allow_duplicates;
    let target = Target {
        file: args.eval.file.clone(),
        sets: args.eval.sets.clone(),
        state: args.state.clone(),
        targets: args.select.targets.clone(),
        replace: args.select.replace.clone(),
    };
    let prepared = context.prepare(&target, Verb::Plan).await?;
    show_findings(&prepared);
    if let Some(out) = &args.out {
        let request = saved::request(&target, args.allow_duplicates)?;
        SavedPlan::of(&prepared, request)?.write(out)?;
        eprintln!(
            "Saved this plan to {}: `blueprint run {}` applies exactly it, or refuses if anything it was made from changed.",
            out.display(),
            out.display()
        );
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::plan_json(&prepared.plan))?
        );
    } else {
        print!("{}", style::plan(&render::plan_text(&prepared.plan)));
    }
    Ok(if args.detailed_exitcode && prepared.plan.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn destroy_command(global: &GlobalArgs, args: &DestroyArgs) -> CliResult {
    let mut context = global.context(args.options.parallelism)?;
    context.resolve_incidents = args.resolve_incidents;
    let target = Target {
        file: args.file.clone(),
        state: args.state.clone(),
        ..Target::default()
    };
    let prepared = context.prepare(&target, Verb::Destroy).await?;
    apply_one(&context, prepared, &args.options).await
}

/// `run FILE|DIR...`: one blueprint is planned, confirmed and applied; several
/// are prepared concurrently (each with its own state and lock, sharing the
/// provider clients and, through them, one PagerDuty rate budget), confirmed
/// once, applied concurrently, and summed up. One that fails does not stop the
/// others.
pub async fn run_command(global: &GlobalArgs, args: &RunArgs) -> CliResult {
    let files = crate::run::expand(&args.files)?;
    let mut context = global.context(args.options.parallelism)?;
    context.allow_duplicates = args.options.allow_duplicates;
    if let [file] = files.as_slice()
        && saved::is_saved_plan(file)
    {
        return run_saved(&mut context, file, args).await;
    }
    if let [file] = files.as_slice() {
        let target = Target {
            file: file.clone(),
            sets: args.sets.clone(),
            state: args.state.clone(),
            targets: args.select.targets.clone(),
            replace: args.select.replace.clone(),
        };
        let prepared = context.prepare(&target, Verb::Run).await?;
        show_findings(&prepared);
        return apply_one(&context, prepared, &args.options).await;
    }
    if args.state.is_some() {
        anyhow::bail!("--state names one state: it cannot be used with several blueprints");
    }
    if args.select.targets.len() + args.select.replace.len() > 0 {
        anyhow::bail!(
            "--target and --replace name one blueprint's nodes: run that blueprint alone"
        );
    }
    run_many(&context, files, args).await
}

/// `run PLAN`: plan again under the lock and apply only if the new plan is
/// the saved one; no prompt (the saved plan was the review).
async fn run_saved(context: &mut Context, file: &std::path::Path, args: &RunArgs) -> CliResult {
    let SelectArgs { targets, replace } = &args.select;
    if !args.sets.is_empty() || args.state.is_some() || !targets.is_empty() || !replace.is_empty() {
        anyhow::bail!(
            "{} is a saved plan: it carries its own --set, --state, --target and --replace; plan again to change them",
            file.display()
        );
    }
    let saved = SavedPlan::read(file)?;
    context.allow_duplicates = saved.request.allow_duplicates;
    let prepared = context.prepare_saved(&saved, file).await?;
    show_findings(&prepared);
    let options = super::ApplyOptions {
        yes: true,
        ..args.options.clone()
    };
    apply_one(context, prepared, &options).await
}

/// `show PLAN`: a saved plan, as `plan` showed it.
pub fn show_command(args: &ShowArgs) -> CliResult {
    let saved = SavedPlan::read(&args.plan)?;
    let plan = saved.plan();
    if args.json {
        let mut json = render::plan_json(&plan);
        json["saved"] = serde_json::json!({
            "created_at": saved.created_at,
            "request": saved.request,
            "made_from": saved.made_from,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!(
            "Saved plan of {} ({}), made {} against state serial {}:\n",
            saved.blueprint,
            saved.request.file.display(),
            saved.created_at,
            saved.made_from.state_serial
        );
        print!("{}", style::plan(&render::plan_text(&plan)));
    }
    Ok(ExitCode::SUCCESS)
}

/// Show the plan, confirm, apply, report.
async fn apply_one(context: &Context, prepared: Prepared, args: &super::ApplyOptions) -> CliResult {
    show_plan(&prepared.plan, args.json)?;
    if !prepared.plan.has_changes() {
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
    let report = context.apply(prepared, progress.as_ref()).await?;
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

async fn run_many(context: &Context, files: Vec<std::path::PathBuf>, args: &RunArgs) -> CliResult {
    let started = Instant::now();
    let order = context.waves(&files, &args.sets).await?;
    let json = args.options.json;
    if order.waves.len() > 1 && !json {
        let names: Vec<String> = order
            .waves
            .iter()
            .map(|wave| {
                wave.iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        println!(
            "Outputs read between blueprints order this run in {} waves, each planned once the one before is applied: {}\n",
            order.waves.len(),
            names.join("  ->  ")
        );
    }
    let mut results: Vec<Summary> = Vec::new();
    for wave in &order.waves {
        // A blueprint whose publisher failed would read stale or missing outputs.
        let (blocked, runnable): (Vec<_>, Vec<_>) = wave.iter().cloned().partition(|file| {
            order.publishers_of(file).iter().any(|p| {
                results
                    .iter()
                    .any(|r| !r.ok && std::path::Path::new(&r.file) == p.as_path())
            })
        });
        for file in blocked {
            results.push(Summary {
                file: file.display().to_string(),
                blueprint: crate::blueprint_file::Blueprint::load(&file)
                    .ok()
                    .map(|b| b.name),
                error: Some(
                    "skipped: a blueprint whose outputs it reads failed in this run".into(),
                ),
                ..Summary::default()
            });
        }
        results.extend(run_wave(context, runnable, args).await?);
    }

    let ok = results.iter().all(|r| r.ok);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": ok,
                "seconds": started.elapsed().as_secs_f64(),
                "blueprints": results,
            }))?
        );
    } else {
        print!(
            "{}",
            summary_text(&results, started.elapsed().as_secs_f64())
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Plan the files of one wave at once, show the plans, confirm once, apply.
async fn run_wave(
    context: &Context,
    files: Vec<std::path::PathBuf>,
    args: &RunArgs,
) -> anyhow::Result<Vec<Summary>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let many = context.prepare_many(files, &args.sets).await;
    for (file, p) in many.files.iter().zip(&many.prepared) {
        match p {
            Ok(p) => {
                show_findings(p);
                if !args.options.json {
                    println!("== {} ({}) ==", p.opened.blueprint.name, file.display());
                    print!("{}", style::plan(&render::plan_text(&p.plan)));
                    println!();
                }
            }
            Err(e) => eprintln!(
                "== {} == cannot be planned: {}",
                file.display(),
                blueprint_model::text::escape_lines(&e.to_string())
            ),
        }
    }
    if many.has_changes() && !args.options.yes {
        confirm()?;
    }

    let json = args.options.json;
    let progress = move |name: &str| -> Box<dyn progress::Progress> {
        if json {
            Box::new(progress::Silent)
        } else {
            Box::new(progress::Prefixed {
                prefix: name.to_owned(),
                inner: progress::Lines::new(),
            })
        }
    };
    let mut results = context.apply_many(many, &progress).await;
    // An apply that was not clean is told by its report, in JSON too.
    for r in &mut results {
        if let Some(report) = r.report.take() {
            r.error = Some(render::report_text(&report));
        }
    }
    Ok(results)
}

fn summary_text(results: &[Summary], seconds: f64) -> String {
    let failed = results.iter().filter(|r| !r.ok).count();
    let mut out = format!(
        "\nSummary: {} blueprints, {} ok, {failed} failed in {seconds:.1}s.\n",
        results.len(),
        results.len() - failed
    );
    let width = results
        .iter()
        .map(|r| r.blueprint.as_deref().unwrap_or(&r.file).len())
        .max()
        .unwrap_or(0);
    for r in results {
        let name = r.blueprint.as_deref().unwrap_or(&r.file);
        if r.ok {
            out.push_str(&format!(
                "  ok      {name:width$}  {} created, {} updated, {} deleted ({:.1}s)\n",
                r.created, r.updated, r.deleted, r.seconds
            ));
        } else {
            out.push_str(&format!("  FAILED  {name:width$}  ({})\n", r.file));
            for line in r.error.as_deref().unwrap_or("failed").trim().lines() {
                out.push_str(&format!("          {line}\n"));
            }
        }
    }
    out
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
        StateCommand::Mv {
            file,
            from,
            to,
            state,
            json,
        } => {
            let done = crate::run::state::rename(file, state.as_deref(), from, to).await?;
            return surgery(&done, *json);
        }
        StateCommand::Rm {
            file,
            node,
            state,
            json,
        } => {
            let done = crate::run::state::forget(file, state.as_deref(), node).await?;
            return surgery(&done, *json);
        }
    };
    let state = crate::run::state::read(file, state_path.as_deref()).await?;
    match (&args.command, json) {
        (StateCommand::Unlock { .. } | StateCommand::Mv { .. } | StateCommand::Rm { .. }, _) => {
            unreachable!("handled above")
        }
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
        (StateCommand::Show { .. }, true) => {
            println!("{}", serde_json::to_string_pretty(&state)?);
        }
        (StateCommand::Show { .. }, false) => print!("{}", render::state_text(&state)),
    }
    Ok(ExitCode::SUCCESS)
}

/// What `state mv`/`state rm` did: the resource itself was not touched.
fn surgery(done: &crate::run::state::Surgery, json: bool) -> CliResult {
    use crate::run::state::Change;
    if json {
        let mut out = serde_json::json!({
            "kind": done.kind, "id": done.id, "state": done.store, "serial": done.serial,
        });
        match &done.change {
            Change::Moved { from, to } => {
                out["op"] = "mv".into();
                out["from"] = from.as_str().into();
                out["to"] = to.as_str().into();
            }
            Change::Forgot { .. } => out["op"] = "rm".into(),
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let what = match &done.change {
        Change::Moved { from, to } => format!("Moved {from} to {to}"),
        Change::Forgot { node } => format!("Forgot {node}"),
    };
    println!(
        "{what} ({}, id {}) in {} (serial {}; the previous version is kept). Nothing was changed in {}.",
        done.kind,
        done.id.as_deref().unwrap_or("-"),
        done.store,
        done.serial,
        crate::kind::provider_title(crate::kind::provider_of(&done.kind)),
    );
    if let Change::Forgot { .. } = done.change {
        println!(
            "The next plan looks for it before creating: tags that name this blueprint and node adopt it; anything else stops the run rather than make a second one."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Break a lock whose holder is gone, naming who held it and since when.
async fn unlock(file: &std::path::Path, state: Option<&std::path::Path>) -> CliResult {
    let unlocked = crate::run::state::unlock(file, state).await?;
    match unlocked.holder {
        Some(holder) => println!("Released the lock on {} held by {holder}.", unlocked.store),
        None => println!(
            "No lock to release on {} (a local lock is released when its process exits).",
            unlocked.store
        ),
    }
    Ok(ExitCode::SUCCESS)
}
