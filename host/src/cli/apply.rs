//! `plan`, `run` (one or many blueprints), `destroy` and `state`: each opens its
//! blueprints through `crate::run`, then renders, confirms and reports.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use futures::future::join_all;
use serde::Serialize;

use super::{CliResult, DestroyArgs, GlobalArgs, PlanArgs, RunArgs, StateArgs, StateCommand};
use crate::blueprint_file::Blueprint;
use crate::engine::{Plan, Report, progress, render};
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
        print!("{}", render::plan_text(plan));
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
    };
    let prepared = context.prepare(&target, Verb::Plan).await?;
    show_findings(&prepared);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::plan_json(&prepared.plan))?
        );
    } else {
        print!("{}", render::plan_text(&prepared.plan));
    }
    Ok(if args.detailed_exitcode && prepared.plan.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn destroy_command(global: &GlobalArgs, args: &DestroyArgs) -> CliResult {
    let context = global.context(args.options.parallelism)?;
    let target = Target {
        file: args.file.clone(),
        sets: Vec::new(),
        state: args.state.clone(),
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
    if let [file] = files.as_slice() {
        let target = Target {
            file: file.clone(),
            sets: args.sets.clone(),
            state: args.state.clone(),
        };
        let prepared = context.prepare(&target, Verb::Run).await?;
        show_findings(&prepared);
        return apply_one(&context, prepared, &args.options).await;
    }
    if args.state.is_some() {
        anyhow::bail!("--state names one state: it cannot be used with several blueprints");
    }
    run_many(&context, &files, args).await
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

async fn run_many(context: &Context, files: &[std::path::PathBuf], args: &RunArgs) -> CliResult {
    let started = Instant::now();
    let prepared: Vec<Result<Prepared, String>> = join_all(files.iter().map(|file| {
        let target = Target {
            file: file.clone(),
            sets: args.sets.clone(),
            state: None,
        };
        async move {
            context
                .prepare(&target, Verb::Run)
                .await
                .map_err(|e| format!("{e:#}"))
        }
    }))
    .await;

    // Show the plans; confirm once.
    let mut changes = false;
    for (file, p) in files.iter().zip(&prepared) {
        match p {
            Ok(p) => {
                show_findings(p);
                changes |= p.plan.has_changes();
                if !args.options.json {
                    println!("== {} ({}) ==", p.opened.blueprint.name, file.display());
                    print!("{}", render::plan_text(&p.plan));
                    println!();
                }
            }
            Err(e) => eprintln!(
                "== {} == cannot be planned: {}",
                file.display(),
                crate::text::escape_lines(&e.to_string())
            ),
        }
    }
    if changes && !args.options.yes {
        confirm()?;
    }

    let results = join_all(files.iter().zip(prepared).map(|(file, p)| async move {
        let mut summary = Summary {
            file: file.display().to_string(),
            ..Summary::default()
        };
        let p = match p {
            Ok(p) => p,
            Err(error) => {
                // Named as the file names it, when the file can be read at all.
                summary.blueprint = Blueprint::load(file).ok().map(|b| b.name);
                summary.error = Some(error);
                return summary;
            }
        };
        let name = p.opened.blueprint.name.clone();
        summary.blueprint = Some(name.clone());
        summary.ok = true;
        if !p.plan.has_changes() {
            return summary;
        }
        let progress: Box<dyn progress::Progress> = if args.options.json {
            Box::new(progress::Silent)
        } else {
            Box::new(progress::Prefixed {
                prefix: name,
                inner: progress::Lines::new(),
            })
        };
        match context.apply(p, progress.as_ref()).await {
            Ok(report) => summary.record(&report),
            Err(e) => {
                summary.ok = false;
                summary.error = Some(e.to_string());
            }
        }
        summary
    }))
    .await;

    let ok = results.iter().all(|r| r.ok);
    if args.options.json {
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

#[derive(Debug, Default, Serialize)]
struct Summary {
    file: String,
    blueprint: Option<String>,
    ok: bool,
    created: usize,
    updated: usize,
    deleted: usize,
    /// Failed or skipped operations.
    failed: usize,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Summary {
    fn record(&mut self, report: &Report) {
        let count = |op: &str| report.done.iter().filter(|o| o.operation == op).count();
        self.created = count("create");
        self.updated = count("update");
        self.deleted = count("delete");
        self.failed = report.failed.len() + report.skipped.len();
        self.seconds = report.seconds;
        self.ok = report.ok();
        if !report.ok() {
            self.error = Some(render::report_text(report));
        }
    }
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
    };
    let blueprint = Blueprint::load(file).map_err(anyhow::Error::msg)?;
    let store = crate::state::open(&blueprint, state_path.as_deref()).await?;
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
    let store = crate::state::open(&blueprint, state).await?;
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
