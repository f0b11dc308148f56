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

pub mod diff;
pub mod runtimes;
pub mod source;
pub mod watch;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::blueprint_file::Blueprint;
use crate::evaluate::{EvalError, Evaluated, evaluate_loaded};
use crate::runtime::Runtime;

pub use crate::blueprint_file::dev::{DevSettings, Lang};

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
