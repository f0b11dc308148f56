//! `blueprint dev FILE`: the authoring loop. Evaluates the blueprint, then watches
//! the guest's sources and, on every change, re-evaluates and prints what changed
//! in the graph (nodes added, removed, props changed), or the errors — no API
//! calls. A TypeScript/JavaScript/Python guest runs from its source in the
//! prebuilt language runtime (`crate::dev`), so an edit rebuilds nothing; other
//! guests are rebuilt with the `[dev] build` command first. `--once` evaluates once
//! and prints the graph as JSON, like `blueprint graph` (scripts and tests).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::{CliResult, GlobalArgs};
use crate::dev::{self, watch};
use crate::evaluate::Evaluated;
use blueprint_model::graph::render;

#[derive(Debug, Args)]
pub struct DevArgs {
    /// The blueprint file (TOML).
    pub file: PathBuf,
    /// Override a param: KEY is a dotted path, VALUE is JSON or else a string.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Evaluate once, print the graph as JSON and exit (1 on any error).
    #[arg(long)]
    pub once: bool,
    /// Rebuild the component with `[dev] build` and run it, even when the guest
    /// has a `[dev] source` the language runtime could run.
    #[arg(long)]
    pub build: bool,
}

pub async fn run(global: &GlobalArgs, args: &DevArgs) -> CliResult {
    let runtime = global.runtime()?;
    let cache_root = crate::runtime::cache_root()
        .unwrap_or_else(|| std::env::temp_dir().join("blueprint-cache"));
    let session = watch::Session {
        runtime: &runtime,
        file: &args.file,
        sets: &args.sets,
        force_build: args.build,
        cache_root: &cache_root,
    };
    let mut printer = Printer::default();
    if args.once {
        let evaluated = session.once(&mut printer).await?;
        let mut text = serde_json::to_string_pretty(&render::to_json(&evaluated.graph))?;
        text.push('\n');
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    session.watch(&mut printer).await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints what the loop reports: the graph the first time, then what changed.
#[derive(Default)]
struct Printer {
    /// The last graph shown, as JSON.
    previous: Option<Value>,
    /// The last `check` summary shown.
    findings: String,
}

impl watch::Events for Printer {
    fn watching(&mut self, paths: &[PathBuf]) {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!("Watching {} (Ctrl-C to stop)", list.join(", "));
    }

    fn cannot_watch(&mut self, path: &Path, error: &str) {
        eprintln!("warning: cannot watch {}: {error}", path.display());
    }

    fn building(&mut self, command: &str) {
        eprintln!("$ {command}");
    }

    fn evaluated(&mut self, outcome: Result<Evaluated, watch::DevError>, elapsed: Duration) {
        report(&outcome, &mut self.previous, &mut self.findings, elapsed);
    }
}

/// Print the outcome of one evaluation: the graph the first time, then what
/// changed; or the errors.
fn report(
    outcome: &Result<Evaluated, watch::DevError>,
    previous: &mut Option<Value>,
    findings: &mut String,
    elapsed: Duration,
) {
    let ms = elapsed.as_secs_f64() * 1000.0;
    match outcome {
        Err(e) => {
            println!("✗ {e}");
            println!("  ({ms:.0} ms; waiting for a change)");
        }
        Ok(evaluated) => {
            let graph = render::to_json(&evaluated.graph);
            let lines = match previous.as_ref() {
                None => dev::diff::describe(&graph),
                Some(before) => dev::diff::diff(before, &graph),
            };
            let nodes = evaluated.graph.nodes().len();
            if previous.is_some() && lines.is_empty() {
                println!("✓ {nodes} nodes, no change ({ms:.0} ms)");
            } else {
                println!("✓ {nodes} nodes ({ms:.0} ms)");
                for line in &lines {
                    println!("  {line}");
                }
            }
            // `blueprint check`'s built-in warnings (policy guests are for `check`
            // and `run`: pulling them would slow every edit), when they differ
            // from the last ones shown.
            if let Ok(report) = crate::run::built_in_findings(evaluated) {
                let summary = crate::check::render_summary(&report);
                if *findings != summary {
                    for line in summary.lines() {
                        println!("  {line}");
                    }
                    if summary.is_empty() && previous.is_some() {
                        println!("  check: no warnings now");
                    }
                    *findings = summary;
                }
            }
            *previous = Some(graph);
        }
    }
}
