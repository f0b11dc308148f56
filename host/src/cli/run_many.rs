//! `blueprint run FILE|DIR...`: one blueprint runs as `run_command` does; several
//! are evaluated, planned and applied concurrently — each with its own state and
//! lock, sharing provider clients (one per distinct provider settings) and, through
//! the PagerDuty client, one rate budget per token. A blueprint that fails (bad
//! file, held lock, API error) does not stop the others; one summary at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use futures::future::join_all;
use serde::Serialize;

use super::apply::{lock, plan, run_command, show_findings};
use super::{ApplyArgs, CliResult, EvalArgs, GlobalArgs, RunArgs};
use crate::engine::{Applier, Plan, progress, render};
use crate::evaluate::Evaluated;
use crate::providers::{self, ProviderSet};
use crate::state::{StateLock, StateStore};

pub async fn run(global: &GlobalArgs, args: &RunArgs) -> CliResult {
    let files = expand(&args.files)?;
    if let [file] = files.as_slice() {
        let single = ApplyArgs {
            eval: EvalArgs {
                file: file.clone(),
                sets: args.sets.clone(),
            },
            state: args.state.clone(),
            options: args.options.clone(),
        };
        return run_command(global, &single).await;
    }
    if args.state.is_some() {
        anyhow::bail!("--state names one state: it cannot be used with several blueprints");
    }
    let started = Instant::now();
    let runtime = global.runtime()?;

    // 1. Evaluate every file.
    let evaluated = join_all(files.iter().map(|file| async {
        let eval = EvalArgs {
            file: file.clone(),
            sets: args.sets.clone(),
        };
        eval.evaluate(&runtime).await.map_err(|e| e.to_string())
    }))
    .await;

    // 2. One provider set per distinct provider settings.
    let mut sets: BTreeMap<String, Result<ProviderSet, String>> = BTreeMap::new();
    for e in evaluated.iter().flatten() {
        let key = format!("{:?}", e.blueprint.providers);
        if sets.contains_key(&key) {
            continue;
        }
        let kinds = evaluated
            .iter()
            .flatten()
            .filter(|o| format!("{:?}", o.blueprint.providers) == key)
            .flat_map(|o| o.graph.nodes().iter().map(|n| n.kind.clone()))
            .collect::<Vec<_>>();
        let connected = providers::connect(&e.blueprint.providers, kinds)
            .await
            .map_err(|e| e.to_string());
        sets.insert(key, connected);
    }

    // 3. Lock and plan each, concurrently.
    let prepared: Vec<Result<Prepared<'_>, String>> =
        join_all(files.iter().zip(&evaluated).map(|(file, evaluated)| {
            let sets = &sets;
            let runtime = &runtime;
            async move {
                let evaluated = evaluated.as_ref().map_err(Clone::clone)?;
                show_findings(runtime, evaluated, true)
                    .await
                    .map_err(|e| e.to_string())?;
                let providers = sets[&format!("{:?}", evaluated.blueprint.providers)]
                    .as_ref()
                    .map_err(Clone::clone)?;
                let store = crate::state::open(&evaluated.blueprint, None)
                    .await
                    .map_err(|e| e.to_string())?;
                let lock = lock(store.as_ref(), &format!("blueprint run {}", file.display()))
                    .await
                    .map_err(|e| e.to_string())?;
                let plan = plan(
                    &evaluated.blueprint,
                    &evaluated.graph,
                    store.as_ref(),
                    providers,
                    args.options.parallelism,
                )
                .await
                .map_err(|e| format!("{e:#}"))?;
                Ok(Prepared {
                    evaluated,
                    providers,
                    store,
                    _lock: lock,
                    plan,
                })
            }
        }))
        .await;

    // 4. Show the plans; confirm once.
    let mut changes = false;
    for (file, p) in files.iter().zip(&prepared) {
        match p {
            Ok(p) => {
                changes |= p.plan.has_changes();
                if !args.options.json {
                    println!("== {} ({}) ==", p.evaluated.blueprint.name, file.display());
                    print!("{}", render::plan_text(&p.plan));
                    println!();
                }
            }
            Err(e) => eprintln!("== {} == cannot be planned: {e}", file.display()),
        }
    }
    if changes && !args.options.yes {
        super::apply::confirm()?;
    }

    // 5. Apply concurrently.
    let names: Vec<Option<String>> = evaluated
        .iter()
        .map(|e| e.as_ref().ok().map(|e| e.blueprint.name.clone()))
        .collect();
    let results = join_all(files.iter().zip(prepared).zip(names).map(
        |((file, p), name)| async move {
            let p = match p {
                Ok(p) => p,
                Err(error) => {
                    return Summary {
                        file: file.display().to_string(),
                        blueprint: name,
                        ok: false,
                        created: 0,
                        updated: 0,
                        deleted: 0,
                        failed: 0,
                        seconds: 0.0,
                        error: Some(error),
                    };
                }
            };
            let name = p.evaluated.blueprint.name.clone();
            let mut summary = Summary {
                file: file.display().to_string(),
                blueprint: Some(name.clone()),
                ok: true,
                created: 0,
                updated: 0,
                deleted: 0,
                failed: 0,
                seconds: 0.0,
                error: None,
            };
            if !p.plan.has_changes() {
                return summary;
            }
            let progress: Box<dyn progress::Progress> = if args.options.json {
                Box::new(progress::Silent)
            } else {
                Box::new(progress::Prefixed {
                    prefix: name.clone(),
                    inner: progress::Lines::new(),
                })
            };
            let applier = Applier {
                blueprint: &name,
                graph: &p.evaluated.graph,
                providers: p.providers,
                store: p.store.as_ref(),
                parallelism: args.options.parallelism,
                progress: progress.as_ref(),
            };
            match applier.apply(p.plan).await {
                Ok(report) => {
                    let count = |op: &str| report.done.iter().filter(|o| o.operation == op).count();
                    summary.created = count("create");
                    summary.updated = count("update");
                    summary.deleted = count("delete");
                    summary.failed = report.failed.len() + report.skipped.len();
                    summary.seconds = report.seconds;
                    summary.ok = report.ok();
                    if !report.ok() {
                        summary.error = Some(render::report_text(&report));
                    }
                }
                Err(e) => {
                    summary.ok = false;
                    summary.error = Some(e.to_string());
                }
            }
            summary
        },
    ))
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

struct Prepared<'a> {
    evaluated: &'a Evaluated,
    providers: &'a ProviderSet,
    store: Box<dyn StateStore>,
    _lock: Box<dyn StateLock>,
    plan: Plan,
}

#[derive(Debug, Serialize)]
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

/// Files as given; folders become their `*.toml` files, sorted.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                anyhow::bail!("{} holds no blueprint file (*.toml)", path.display());
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}
