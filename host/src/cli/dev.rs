//! `blueprint dev FILE`: the authoring loop. Evaluates the blueprint, then watches
//! the guest's sources and, on every change, re-evaluates and prints what changed
//! in the graph (nodes added, removed, props changed), or the errors — no API
//! calls. A TypeScript/JavaScript/Python guest runs from its source in the
//! prebuilt language runtime (`crate::dev`), so an edit rebuilds nothing; other
//! guests are rebuilt with the `[dev] build` command first. `--once` evaluates once
//! and prints the graph as JSON, like `blueprint graph` (scripts and tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Args;
use notify::{EventKind, RecursiveMode, Watcher};
use serde_json::Value;

use super::{CliResult, GlobalArgs};
use crate::blueprint_file::{Blueprint, GuestLocation};
use crate::dev::{self, DevSettings};
use crate::evaluate::{EvalError, Evaluated, evaluate};
use crate::runtime::Runtime;
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

/// How this blueprint's guest is run in the loop.
#[derive(Debug, Clone)]
enum Mode {
    /// From source, in the language runtime.
    Source(PathBuf),
    /// `build`, then the component at guest.path.
    Build(String),
    /// The component as it is (re-evaluated when it changes).
    Component,
}

fn mode(blueprint: &Blueprint, settings: &DevSettings, force_build: bool) -> Mode {
    match (&settings.source, &settings.build) {
        (Some(source), None) if !force_build => Mode::Source(blueprint.dir.join(source)),
        (Some(source), Some(_)) if !force_build => Mode::Source(blueprint.dir.join(source)),
        (_, Some(build)) => Mode::Build(build.clone()),
        (Some(source), None) => Mode::Source(blueprint.dir.join(source)),
        (None, None) => Mode::Component,
    }
}

pub async fn run(global: &GlobalArgs, args: &DevArgs) -> CliResult {
    let runtime = global.runtime()?;
    let cache_root = crate::runtime::cache_root()
        .unwrap_or_else(|| std::env::temp_dir().join("blueprint-cache"));
    if args.once {
        let blueprint = Blueprint::load(&args.file).map_err(anyhow::Error::msg)?;
        let settings = DevSettings::of(&blueprint);
        let mode = mode(&blueprint, &settings, args.build);
        let evaluated = cycle(&runtime, blueprint, &mode, &args.sets, &cache_root).await?;
        let mut text = serde_json::to_string_pretty(&render::to_json(&evaluated.graph))?;
        text.push('\n');
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Event>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let _ = tx.send(event);
        }
    })?;
    // What the user asked to watch, and the folders the OS watches for it.
    let mut roots: Vec<PathBuf> = Vec::new();
    let mut watching: Vec<PathBuf> = Vec::new();
    let mut previous: Option<Value> = None;
    let mut findings = String::new();
    loop {
        let started = Instant::now();
        // The blueprint file is read again every time: its [dev] may have changed.
        let loaded = Blueprint::load(&args.file).map(|b| {
            let settings = DevSettings::of(&b);
            let mode = mode(&b, &settings, args.build);
            (b, settings, mode)
        });
        let mut wanted = match &loaded {
            Ok((b, settings, mode)) => {
                let mut paths = settings.watched(b);
                if let (Mode::Component, GuestLocation::Path(path)) = (mode, &b.guest.location) {
                    paths.push(path.clone());
                }
                paths
            }
            Err(_) => vec![args.file.clone()],
        };
        wanted = wanted
            .into_iter()
            .map(|p| std::path::absolute(&p).unwrap_or(p))
            .collect();
        wanted.dedup();
        if wanted != roots {
            for dir in watching.drain(..) {
                let _ = watcher.unwatch(&dir);
            }
            for path in &wanted {
                watch_tree(&mut watcher, path, &mut watching);
            }
            let list: Vec<String> = wanted.iter().map(|p| p.display().to_string()).collect();
            eprintln!("Watching {} (Ctrl-C to stop)", list.join(", "));
            roots = wanted;
        }
        let outcome = match loaded {
            Ok((b, _, mode)) => cycle(&runtime, b, &mode, &args.sets, &cache_root)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        report(&outcome, &mut previous, &mut findings, started.elapsed());

        // Wait for a relevant change, then let a burst of saves settle.
        let ignore: Vec<PathBuf> = ignored_outputs(&args.file);
        loop {
            tokio::select! {
                event = rx.recv() => {
                    let Some(event) = event else { return Ok(ExitCode::SUCCESS) };
                    // A folder created inside a watched tree is watched too.
                    if let EventKind::Create(_) = event.kind {
                        for path in &event.paths {
                            if path.is_dir() && !noise(path) {
                                watch_tree(&mut watcher, path, &mut watching);
                            }
                        }
                    }
                    if relevant(&event, &roots, &ignore) {
                        break;
                    }
                }
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        while rx.try_recv().is_ok() {}
    }
}

/// One evaluation in `mode`.
async fn cycle(
    runtime: &Runtime,
    blueprint: Blueprint,
    mode: &Mode,
    sets: &[String],
    cache_root: &Path,
) -> Result<Evaluated, anyhow::Error> {
    match mode {
        Mode::Source(source) => {
            let (evaluated, timings) =
                dev::evaluate_source(runtime, blueprint, source, sets, cache_root).await?;
            tracing::debug!(?timings, "development evaluation");
            Ok(evaluated)
        }
        Mode::Build(command) => {
            build(command, &blueprint.dir)?;
            Ok(evaluate(runtime, blueprint, sets).await?)
        }
        Mode::Component => Ok(evaluate(runtime, blueprint, sets).await?),
    }
}

fn build(command: &str, dir: &Path) -> Result<(), EvalError> {
    eprintln!("$ {command}");
    let out = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .output()
        .map_err(|e| EvalError::File(format!("cannot run `{command}`: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    Err(EvalError::File(format!(
        "`{command}` failed ({}):\n{tail}",
        out.status
    )))
}

/// Print the outcome of one evaluation: the graph the first time, then what
/// changed; or the errors.
fn report(
    outcome: &Result<Evaluated, impl std::fmt::Display>,
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
                None => describe(&graph),
                Some(before) => diff(before, &graph),
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
            let blueprint = &evaluated.blueprint;
            let region =
                crate::blueprint_file::pagerduty::service_region(&blueprint.providers.pagerduty);
            if let Ok(report) = crate::check::check_with(
                &evaluated.graph,
                crate::providers::catalog(),
                &region,
                &blueprint.silences,
                &[],
                vec![],
            ) {
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

fn nodes_by_id(graph: &Value) -> BTreeMap<String, &serde_json::Map<String, Value>> {
    graph["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_object())
        .filter_map(|n| Some((n.get("id")?.as_str()?.to_owned(), n)))
        .collect()
}

fn kind(node: &serde_json::Map<String, Value>) -> &str {
    node.get("kind").and_then(Value::as_str).unwrap_or("?")
}

/// Every node, one line each.
fn describe(graph: &Value) -> Vec<String> {
    nodes_by_id(graph)
        .iter()
        .map(|(id, node)| format!("{id} ({})", kind(node)))
        .collect()
}

/// What changed between two renderings of a graph: `+` added, `-` removed, `~`
/// changed with one line per changed prop.
pub fn diff(before: &Value, after: &Value) -> Vec<String> {
    let old = nodes_by_id(before);
    let new = nodes_by_id(after);
    let mut lines = Vec::new();
    for (id, node) in &new {
        match old.get(id) {
            None => lines.push(format!("+ {id} ({})", kind(node))),
            Some(was) if was != node => {
                lines.push(format!("~ {id} ({})", kind(node)));
                let keys: std::collections::BTreeSet<&String> =
                    was.keys().chain(node.keys()).collect();
                for key in keys {
                    changes(key, was.get(key), node.get(key), &mut lines);
                }
            }
            Some(_) => {}
        }
    }
    for (id, node) in &old {
        if !new.contains_key(id) {
            lines.push(format!("- {id} ({})", kind(node)));
        }
    }
    lines
}

/// One line per changed leaf below `path` (`metric_transformation.metric_namespace: ...`).
fn changes(path: &str, a: Option<&Value>, b: Option<&Value>, lines: &mut Vec<String>) {
    match (a, b) {
        _ if a == b => {}
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                changes(&format!("{path}.{key}"), x.get(key), y.get(key), lines);
            }
        }
        _ => lines.push(format!("    {path}: {} -> {}", short(a), short(b))),
    }
}

fn short(value: Option<&Value>) -> String {
    let text = match value {
        None => "(unset)".to_owned(),
        Some(v) => v.to_string(),
    };
    if text.chars().count() > 100 {
        let cut: String = text.chars().take(97).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Build outputs the loop must not react to (a build writing its component into
/// a watched folder would otherwise start the next build).
fn ignored_outputs(file: &Path) -> Vec<PathBuf> {
    match Blueprint::load(file) {
        Ok(b) => match &b.guest.location {
            GuestLocation::Path(path) => vec![std::path::absolute(path).unwrap_or(path.clone())],
            GuestLocation::S3 { .. } | GuestLocation::Oci(_) => vec![],
        },
        Err(_) => vec![],
    }
}

/// Folders whose changes never matter: tools' output, caches, environments.
const NOISE: &[&str] = &[
    "node_modules",
    "target",
    "build",
    "dist",
    "types",
    "__pycache__",
    ".git",
    ".venv",
    ".blueprint",
];

fn noise(path: &Path) -> bool {
    path.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        NOISE.contains(&c.as_ref())
    })
}

/// Watch `path`: a folder and every folder below it except tools' output and
/// environments (`node_modules`, `.venv`, ... hold thousands of folders nobody
/// edits), each without recursion; a file through its folder, so an editor that
/// saves by renaming a new file over the old one is still seen.
fn watch_tree(watcher: &mut impl Watcher, path: &Path, watching: &mut Vec<PathBuf>) {
    let mut add = |dir: &Path| {
        if watching.iter().any(|w| w == dir) {
            return;
        }
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => watching.push(dir.to_owned()),
            Err(e) => eprintln!("warning: cannot watch {}: {e}", dir.display()),
        }
    };
    if !path.is_dir() {
        if let Some(dir) = path.parent() {
            add(dir);
        }
        return;
    }
    let walk = walkdir::WalkDir::new(path).into_iter().filter_entry(|e| {
        e.depth() == 0
            || (e.file_type().is_dir()
                && !e.file_name().to_string_lossy().starts_with('.')
                && !NOISE.contains(&e.file_name().to_string_lossy().as_ref()))
    });
    for entry in walk.flatten() {
        if entry.file_type().is_dir() {
            add(entry.path());
        }
    }
}

/// A change of a watched file, or of a file inside a watched folder, that is
/// not noise.
fn relevant(event: &notify::Event, roots: &[PathBuf], ignore: &[PathBuf]) -> bool {
    if !matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    ) {
        return false;
    }
    event.paths.iter().any(|path| {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let editor_noise = name.ends_with('~')
            || name.ends_with(".swp")
            || name.ends_with(".swx")
            || name.starts_with(".#")
            || name == "4913";
        roots.iter().any(|root| path.starts_with(root))
            && !editor_noise
            && !noise(path)
            && !ignore.iter().any(|i| i == path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_added_removed_and_changed_props() {
        let before = json!({"nodes": [
            {"id": "a", "kind": "aws.sns_topic", "name": "t", "m": {"x": 1, "y": 2}},
            {"id": "b", "kind": "aws.s3_bucket", "bucket": "x"},
        ]});
        let after = json!({"nodes": [
            {"id": "a", "kind": "aws.sns_topic", "name": "t2", "m": {"x": 1, "y": 3}},
            {"id": "c", "kind": "pagerduty.team", "name": "ops"},
        ]});
        assert_eq!(
            diff(&before, &after),
            [
                "~ a (aws.sns_topic)",
                "    m.y: 2 -> 3",
                "    name: \"t\" -> \"t2\"",
                "+ c (pagerduty.team)",
                "- b (aws.s3_bucket)",
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn build_outputs_and_editor_files_are_not_changes() {
        let event = |path: &str| notify::Event {
            kind: EventKind::Modify(notify::event::ModifyKind::Any),
            paths: vec![PathBuf::from(path)],
            attrs: Default::default(),
        };
        let roots = vec![PathBuf::from("/p"), PathBuf::from("/q/x.toml")];
        let ignore = vec![PathBuf::from("/p/pager.wasm")];
        assert!(relevant(&event("/p/src/app.ts"), &roots, &ignore));
        assert!(relevant(&event("/q/x.toml"), &roots, &ignore));
        assert!(!relevant(&event("/q/y.toml"), &roots, &ignore));
        assert!(!relevant(&event("/p/pager.wasm"), &roots, &ignore));
        assert!(!relevant(&event("/p/node_modules/x/y.js"), &roots, &ignore));
        assert!(!relevant(&event("/p/src/.app.ts.swp"), &roots, &ignore));
        assert!(!relevant(&event("/p/__pycache__/app.pyc"), &roots, &ignore));
    }

    #[test]
    fn a_source_runs_in_the_runtime_unless_a_build_is_asked_for() {
        let b = Blueprint::parse(Path::new("/p/x.toml"), "[guest]\npath = \"x.wasm\"\n").unwrap();
        let both = DevSettings {
            source: Some("src/app.ts".into()),
            build: Some("npm run build".into()),
            watch: vec![],
        };
        assert!(
            matches!(mode(&b, &both, false), Mode::Source(p) if p == Path::new("/p/src/app.ts"))
        );
        assert!(matches!(mode(&b, &both, true), Mode::Build(c) if c == "npm run build"));
        assert!(matches!(
            mode(&b, &DevSettings::default(), false),
            Mode::Component
        ));
    }
}
