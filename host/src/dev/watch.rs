//! The loop of `blueprint dev`: evaluate the blueprint, watch the guest's
//! sources, and evaluate again on every relevant change, until the channel of
//! file events closes or Ctrl-C. What the loop sees goes to an [`Events`] sink
//! (the CLI prints it); no API is called.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::DevSettings;
use crate::blueprint_file::{Blueprint, FileError, GuestLocation};
use crate::evaluate::{EvalError, Evaluated, evaluate};
use crate::runtime::Runtime;

/// Why an evaluation of the loop failed, or the loop could not start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{0}")]
    Eval(#[from] EvalError),
    /// The OS's file watcher could not be set up.
    #[error("cannot watch the sources: {0}")]
    Watch(#[from] notify::Error),
}

/// What the loop tells its caller, as it happens.
pub trait Events {
    /// The paths now watched (after a start or a change of `[dev] watch`).
    fn watching(&mut self, paths: &[PathBuf]);
    /// A folder the OS refused to watch.
    fn cannot_watch(&mut self, path: &Path, error: &str);
    /// A `[dev] build` command is about to run.
    fn building(&mut self, command: &str);
    /// One evaluation ended, after `elapsed`.
    fn evaluated(&mut self, outcome: Result<Evaluated, DevError>, elapsed: Duration);
}

/// What `blueprint dev FILE` was asked.
pub struct Session<'a> {
    pub runtime: &'a Runtime,
    pub file: &'a Path,
    pub sets: &'a [String],
    /// `--build`: rebuild the component even where the source could run.
    pub force_build: bool,
    /// Holds the language runtimes (`dev-runtimes/`).
    pub cache_root: &'a Path,
}

impl Session<'_> {
    /// Evaluate once, the way the loop would.
    pub async fn once(&self, events: &mut dyn Events) -> Result<Evaluated, DevError> {
        let blueprint = Blueprint::load(self.file)?;
        let settings = DevSettings::of(&blueprint);
        let mode = mode(&blueprint, &settings, self.force_build);
        Ok(cycle(
            events,
            self.runtime,
            blueprint,
            &mode,
            self.sets,
            self.cache_root,
        )
        .await?)
    }

    /// Evaluate, then again on every relevant change, until Ctrl-C.
    pub async fn watch(&self, events: &mut dyn Events) -> Result<(), DevError> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Event>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    let _ = tx.send(event);
                }
            })?;
        // What the user asked to watch, and the folders the OS watches for it.
        let mut roots: Vec<PathBuf> = Vec::new();
        let mut watching: Vec<PathBuf> = Vec::new();
        loop {
            let started = Instant::now();
            // The blueprint file is read again every time: its [dev] may have changed.
            let loaded = Blueprint::load(self.file).map(|b| {
                let settings = DevSettings::of(&b);
                let mode = mode(&b, &settings, self.force_build);
                (b, settings, mode)
            });
            let wanted = self.wanted(&loaded);
            if wanted != roots {
                for dir in watching.drain(..) {
                    let _ = watcher.unwatch(&dir);
                }
                for path in &wanted {
                    watch_tree(events, &mut watcher, path, &mut watching);
                }
                events.watching(&wanted);
                roots = wanted;
            }
            let outcome = match loaded {
                Ok((b, _, mode)) => {
                    cycle(events, self.runtime, b, &mode, self.sets, self.cache_root)
                        .await
                        .map_err(DevError::from)
                }
                Err(e) => Err(DevError::from(e)),
            };
            events.evaluated(outcome, started.elapsed());

            // Wait for a relevant change, then let a burst of saves settle.
            let ignore: Vec<PathBuf> = ignored_outputs(self.file);
            loop {
                tokio::select! {
                    event = rx.recv() => {
                        let Some(event) = event else { return Ok(()) };
                        // A folder created inside a watched tree is watched too.
                        if let EventKind::Create(_) = event.kind {
                            for path in &event.paths {
                                if path.is_dir() && !noise(path) {
                                    watch_tree(events, &mut watcher, path, &mut watching);
                                }
                            }
                        }
                        if relevant(&event, &roots, &ignore) {
                            break;
                        }
                    }
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            while rx.try_recv().is_ok() {}
        }
    }

    /// What to watch: the `[dev]` paths, the component where it is evaluated
    /// as built, else the blueprint file alone (absolute, without repeats).
    fn wanted(&self, loaded: &Result<(Blueprint, DevSettings, Mode), FileError>) -> Vec<PathBuf> {
        let mut wanted = match loaded {
            Ok((b, settings, mode)) => {
                let mut paths = settings.watched(b);
                if let (Mode::Component, GuestLocation::Path(path)) = (mode, &b.guest.location) {
                    paths.push(path.clone());
                }
                paths
            }
            Err(_) => vec![self.file.to_owned()],
        };
        wanted = wanted
            .into_iter()
            .map(|p| std::path::absolute(&p).unwrap_or(p))
            .collect();
        wanted.dedup();
        wanted
    }
}

/// How this blueprint's guest is run in the loop.
#[derive(Debug, Clone)]
pub enum Mode {
    /// From source, in the language runtime.
    Source(PathBuf),
    /// `build`, then the component at guest.path.
    Build(String),
    /// The component as it is (re-evaluated when it changes).
    Component,
}

pub fn mode(blueprint: &Blueprint, settings: &DevSettings, force_build: bool) -> Mode {
    match (&settings.source, &settings.build) {
        (Some(source), None) if !force_build => Mode::Source(blueprint.dir.join(source)),
        (Some(source), Some(_)) if !force_build => Mode::Source(blueprint.dir.join(source)),
        (_, Some(build)) => Mode::Build(build.clone()),
        (Some(source), None) => Mode::Source(blueprint.dir.join(source)),
        (None, None) => Mode::Component,
    }
}

/// One evaluation in `mode`.
pub async fn cycle(
    events: &mut dyn Events,
    runtime: &Runtime,
    blueprint: Blueprint,
    mode: &Mode,
    sets: &[String],
    cache_root: &Path,
) -> Result<Evaluated, EvalError> {
    match mode {
        Mode::Source(source) => {
            let (evaluated, timings) =
                super::evaluate_source(runtime, blueprint, source, sets, cache_root).await?;
            tracing::debug!(?timings, "development evaluation");
            Ok(evaluated)
        }
        Mode::Build(command) => {
            events.building(command);
            build(command, &blueprint.dir)?;
            Ok(evaluate(runtime, blueprint, sets).await?)
        }
        Mode::Component => Ok(evaluate(runtime, blueprint, sets).await?),
    }
}

fn build(command: &str, dir: &Path) -> Result<(), EvalError> {
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
fn watch_tree(
    events: &mut dyn Events,
    watcher: &mut impl Watcher,
    path: &Path,
    watching: &mut Vec<PathBuf>,
) {
    let mut add = |dir: &Path| {
        if watching.iter().any(|w| w == dir) {
            return;
        }
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => watching.push(dir.to_owned()),
            Err(e) => events.cannot_watch(dir, &e.to_string()),
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
