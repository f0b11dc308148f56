//! Development mode: the authoring loop of `blueprint dev`. A TypeScript,
//! JavaScript or Python guest runs from its source in a prebuilt language runtime
//! (`runtimes.rs`), so an edit costs a type strip (TypeScript, esbuild) and a
//! `graph` — no component build, no compile. Other guests (Rust, or any guest
//! without a `source`) are rebuilt with their `build` command.
//!
//! The blueprint file's `[dev]` table says how (paths relative to the file):
//!
//! ```toml
//! [dev]
//! source = "src/app.ts"     # run this source in the language runtime (.ts .mts .js .mjs .py)
//! build = "npm run build"   # the command that rebuilds guest.path (`blueprint dev --build`)
//! watch = ["src"]           # what to watch; default: the source's folder, else the file's
//! ```
//!
//! Without a `[dev]` table, a project made by `blueprint new` is recognised by its
//! files ([`DevSettings::detect`]).

pub mod runtimes;
pub mod source;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::blueprint_file::Blueprint;
use crate::evaluate::{EvalError, Evaluated, evaluate_loaded};
use crate::runtime::Runtime;

/// `[dev]` of a blueprint file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevSettings {
    /// The guest's source, run by the language runtime without a component build.
    pub source: Option<PathBuf>,
    /// The shell command (run in the blueprint file's folder) that rebuilds the
    /// component at `guest.path`.
    pub build: Option<String>,
    /// Files or folders whose changes re-evaluate the blueprint.
    #[serde(default)]
    pub watch: Vec<PathBuf>,
}

/// The languages a runtime exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// TypeScript or JavaScript, on StarlingMonkey (componentize-js).
    JavaScript,
    /// Python, on componentize-py's CPython.
    Python,
}

impl Lang {
    pub fn of(source: &Path) -> Option<Lang> {
        match source.extension()?.to_str()? {
            "ts" | "mts" | "js" | "mjs" => Some(Lang::JavaScript),
            "py" => Some(Lang::Python),
            _ => None,
        }
    }
}

impl DevSettings {
    /// The settings of a project laid out as `blueprint new` makes it, from the
    /// files in the blueprint file's folder.
    pub fn detect(dir: &Path) -> DevSettings {
        let has = |f: &str| dir.join(f).is_file();
        if has("package.json") && has("src/app.ts") {
            DevSettings {
                source: Some("src/app.ts".into()),
                build: Some("npm run build".into()),
                watch: vec!["src".into()],
            }
        } else if has("app.py") {
            DevSettings {
                source: Some("app.py".into()),
                build: None,
                watch: vec![],
            }
        } else if has("Cargo.toml") && has("src/lib.rs") {
            DevSettings {
                source: None,
                build: Some("cargo build --release --target wasm32-wasip2".into()),
                watch: vec!["src".into(), "Cargo.toml".into()],
            }
        } else {
            DevSettings::default()
        }
    }

    /// The blueprint's `[dev]`, else what its folder shows.
    pub fn of(blueprint: &Blueprint) -> DevSettings {
        match &blueprint.dev {
            Some(settings) => settings.clone(),
            None => DevSettings::detect(&blueprint.dir),
        }
    }

    /// The watched paths, absolute (relative ones are from the blueprint's folder).
    pub fn watched(&self, blueprint: &Blueprint) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.watch.iter().map(|p| blueprint.dir.join(p)).collect();
        if paths.is_empty() {
            paths.push(match &self.source {
                Some(source) => blueprint
                    .dir
                    .join(source)
                    .parent()
                    .map(Path::to_owned)
                    .unwrap_or_else(|| blueprint.dir.clone()),
                None => blueprint.dir.clone(),
            });
        }
        paths.push(blueprint.file.clone());
        paths
    }
}

/// Where the time of one development evaluation went.
#[derive(Debug, Clone, Copy, Default)]
pub struct DevTimings {
    /// Type strip / bundle (TypeScript, JavaScript) or reading the modules (Python).
    pub source: Duration,
    /// Building the language runtime: only the first time for a toolchain.
    pub runtime_build: Duration,
}

/// Evaluate `blueprint` with its guest's source run by the language runtime.
/// `cache_root` holds the runtimes (`dev-runtimes/`).
pub async fn evaluate_source(
    runtime: &Runtime,
    blueprint: Blueprint,
    source: &Path,
    sets: &[String],
    cache_root: &Path,
) -> Result<(Evaluated, DevTimings), EvalError> {
    let mut timings = DevTimings::default();
    let lang = Lang::of(source).ok_or_else(|| {
        EvalError::File(format!(
            "{}: development mode runs TypeScript, JavaScript (.ts .mts .js .mjs) or Python (.py) sources",
            source.display()
        ))
    })?;
    let started = Instant::now();
    let built = runtimes::ensure(lang, source, cache_root).map_err(EvalError::File)?;
    timings.runtime_build = started.elapsed();

    let started = Instant::now();
    let modules = source::modules(lang, source).map_err(EvalError::File)?;
    timings.source = started.elapsed();

    let started = Instant::now();
    let guest = runtime.load_dev(
        &built.path,
        &built.key,
        &source::guest_name(source),
        std::sync::Arc::new(modules),
    )?;
    let evaluated = evaluate_loaded(runtime, blueprint, &guest, sets, started.elapsed()).await?;
    Ok((evaluated, timings))
}
