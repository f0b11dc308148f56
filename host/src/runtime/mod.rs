//! Runs blueprint guests: loads a component (compiled code cached on disk), checks
//! that it speaks our WIT version, and calls it in a sandboxed store with memory
//! and time limits. Every failure becomes a [`GuestError`] that names the guest
//! and the reason in one line.

pub mod compile;
pub mod declare;
pub mod dev;
pub mod sandbox;
pub mod wit;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use blueprint_sandbox::Sandbox;
use serde_json::Value;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use blueprint_model::graph::Graph;
use blueprint_model::kind::Catalog;
pub use sandbox::Limits;
pub use wit::{GuestInfo, VERSIONS, WIT_PACKAGE, WIT_VERSION};

/// How often the epoch advances; the time limit is enforced at this granularity.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Why a guest could not be loaded or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestErrorKind {
    /// The file could not be read.
    Unreadable,
    /// Not a WebAssembly component (a core module, or not wasm at all).
    NotAComponent,
    /// Built against a WIT version this host does not implement.
    IncompatibleVersion { wanted: String },
    /// A component, but not a blueprint guest (another world).
    NotABlueprint,
    /// It trapped: a panic, `unreachable`, a stack overflow, a bad memory access.
    Trap,
    /// It ran past the time limit (an endless loop, or far too much work).
    Timeout,
    /// It tried to grow its memory past the limit.
    OutOfMemory,
    /// It declared more nodes than any blueprint needs.
    TooManyNodes,
    /// It made the host hold more than a budget of [`Limits`] allows (prop bytes,
    /// longest string, references, edges); the message names the budget.
    OverBudget,
    /// Its `run` returned an error.
    Failed,
    /// It returned something the contract does not allow (e.g. a schema that is
    /// not JSON).
    BadOutput,
}

#[derive(Debug, Clone)]
pub struct GuestError {
    pub guest: String,
    pub kind: GuestErrorKind,
    pub message: String,
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest '{}' {}", self.guest, self.message)
    }
}

impl std::error::Error for GuestError {}

/// Which of wasmtime's compilers turns guests into machine code.
///
/// Winch, the baseline compiler, compiles in one pass: the seed's first `graph`
/// takes ~45 ms instead of ~180 ms with Cranelift, a 12–18 MB TypeScript or
/// Python guest ~1.5 s instead of ~6 s, and the graphs it runs are as fast
/// (guest code is a small part of a graph's time; docs/authoring-speed.md). It
/// is a Tier 1 compiler on x86_64 only (wasmtime's stability tiers), so other
/// architectures keep Cranelift. The sandbox is the same with both: epoch
/// interruption and memory limits are enforced by either (tests/sandbox.rs runs
/// the hostile guests under each).
/// Why the runtime could not be set up (before any guest is loaded).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("BLUEPRINT_COMPILER={0:?}: set it to \"winch\" or \"cranelift\" (or unset it)")]
    Compiler(String),
    #[error("wasmtime: {0}")]
    Engine(wasmtime::Error),
    /// Host functions could not be added to a linker (`what`: which ones).
    #[error("linking {what}: {cause}")]
    Link {
        what: &'static str,
        cause: wasmtime::Error,
    },
}

impl SetupError {
    pub fn link(what: &'static str) -> impl FnOnce(wasmtime::Error) -> SetupError {
        move |cause| SetupError::Link { what, cause }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    Winch,
    Cranelift,
}

impl Compiler {
    /// `BLUEPRINT_COMPILER` (`winch` or `cranelift`), else Winch on x86_64 and
    /// Cranelift elsewhere.
    pub fn from_env() -> Result<Compiler, SetupError> {
        match std::env::var("BLUEPRINT_COMPILER").ok().as_deref() {
            None | Some("") => Ok(Self::default_for_this_machine()),
            Some("winch") => Ok(Compiler::Winch),
            Some("cranelift") => Ok(Compiler::Cranelift),
            Some(other) => Err(SetupError::Compiler(other.to_owned())),
        }
    }

    fn default_for_this_machine() -> Compiler {
        if cfg!(target_arch = "x86_64") {
            Compiler::Winch
        } else {
            Compiler::Cranelift
        }
    }

    fn strategy(self) -> wasmtime::Strategy {
        match self {
            Compiler::Winch => wasmtime::Strategy::Winch,
            Compiler::Cranelift => wasmtime::Strategy::Cranelift,
        }
    }
}

/// The wasmtime engine, shared by every guest this process runs.
pub struct Runtime {
    /// The kinds guests may declare (built by the providers, passed in).
    catalog: &'static Catalog,
    engine: Engine,
    limits: Limits,
    linker: Linker<Sandbox>,
    /// The guest world plus `blueprint:dev/source`, for development runtimes.
    dev_linker: OnceLock<Linker<Sandbox>>,
    /// Compiled code on disk (`compile.rs`); `None` compiles every time.
    code: Option<compile::CodeCache>,
    _ticker: Arc<()>,
}

/// Where compiled code is cached: `compiled/` under `cache_root()`
/// (`~/.cache/blueprint/compiled` on Linux).
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_root().map(|root| root.join("compiled"))
}

/// `BLUEPRINT_CACHE_DIR`, else the user's cache folder: compiled code in
/// `compiled/` (`compile.rs`), downloaded guests in `guests/`, development
/// runtimes in `dev-runtimes/`.
pub fn cache_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BLUEPRINT_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "blueprint", "blueprint")
        .map(|d| d.cache_dir().to_owned())
}

impl Runtime {
    /// `catalog`: the kinds guests may declare. `cache_dir: None` compiles
    /// every time (for measuring cold starts). The compiler is
    /// [`Compiler::from_env`]'s.
    pub fn new(
        catalog: &'static Catalog,
        limits: Limits,
        cache_dir: Option<&Path>,
    ) -> Result<Self, SetupError> {
        Self::with_compiler(catalog, limits, cache_dir, Compiler::from_env()?)
    }

    pub fn with_compiler(
        catalog: &'static Catalog,
        limits: Limits,
        cache_dir: Option<&Path>,
        compiler: Compiler,
    ) -> Result<Self, SetupError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.strategy(compiler.strategy());
        let engine = Engine::new(&config).map_err(SetupError::Engine)?;
        let code = cache_dir.map(|dir| compile::CodeCache::new(&engine, dir));
        let ticker = start_epoch_ticker(&engine);
        let mut runtime = Runtime {
            catalog,
            linker: Linker::new(&engine),
            engine,
            limits,
            dev_linker: OnceLock::new(),
            code,
            _ticker: ticker,
        };
        runtime.linker = runtime.guest_linker()?;
        Ok(runtime)
    }

    /// WASI (with the empty context of `sandbox.rs`) and the blueprint interfaces.
    fn guest_linker(&self) -> Result<Linker<Sandbox>, SetupError> {
        let mut linker = Linker::new(&self.engine);
        blueprint_sandbox::add_wasi_to_linker(&mut linker).map_err(SetupError::link("WASI"))?;
        wit::add_to_linker(&mut linker).map_err(SetupError::link("the blueprint interfaces"))?;
        Ok(linker)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The kinds guests may declare.
    pub fn catalog(&self) -> &'static Catalog {
        self.catalog
    }

    /// The engine (epoch ticker, compiled-code cache), shared with policy guests.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Read and compile a guest, refusing components for another WIT version
    /// or world before anything runs.
    pub fn load(&self, path: &Path) -> Result<LoadedGuest, GuestError> {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let fail = |kind, message: String| GuestError {
            guest: name.clone(),
            kind,
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| {
            fail(
                GuestErrorKind::Unreadable,
                format!("cannot be read from {}: {e}", path.display()),
            )
        })?;
        if !bytes.starts_with(b"\0asm") {
            return Err(fail(
                GuestErrorKind::NotAComponent,
                format!("is not WebAssembly ({})", path.display()),
            ));
        }
        // Byte 4..8: version + layer; layer 1 is a component, 0 a core module.
        if bytes.get(6..8) != Some(&[1, 0]) {
            return Err(fail(
                GuestErrorKind::NotAComponent,
                "is a core WebAssembly module, not a component: build it for wasm32-wasip2 (or with a component toolchain such as componentize-py / jco)".into(),
            ));
        }
        let started = Instant::now();
        let compiled = match &self.code {
            Some(cache) => cache.component(&self.engine, &bytes),
            None => Component::new(&self.engine, &bytes),
        };
        let component = compiled.map_err(|e| {
            fail(
                GuestErrorKind::NotAComponent,
                format!("is not a valid component: {e}"),
            )
        })?;
        tracing::debug!(guest = %name, elapsed = ?started.elapsed(), "component loaded");
        let mut guest = LoadedGuest {
            name,
            component,
            size: bytes.len(),
            wit_version: String::new(),
            dev: None,
            bindings: wit::Version::Latest,
        };
        guest.wit_version = self.check_world(&guest)?;
        guest.bindings = wit::Version::of(&guest.wit_version).expect("checked by check_world");
        Ok(guest)
    }

    /// The guest must export our `blueprint` interface and import nothing but
    /// our interfaces and WASI, all at one version this host implements.
    /// Returns the version of our package the guest was built against.
    fn check_world(&self, guest: &LoadedGuest) -> Result<String, GuestError> {
        let ty = guest.component.component_type();
        let fail = |kind, message: String| GuestError {
            guest: guest.name.clone(),
            kind,
            message,
        };
        let prefix = format!("{WIT_PACKAGE}/");
        let supported = VERSIONS
            .iter()
            .map(|v| format!("{WIT_PACKAGE}@{v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut exports_blueprint = None;
        let mut seen_version: Option<String> = None;
        let names: Vec<(bool, String)> = ty
            .imports(&self.engine)
            .map(|(n, _)| (true, n.to_owned()))
            .chain(ty.exports(&self.engine).map(|(n, _)| (false, n.to_owned())))
            .collect();
        for (is_import, name) in &names {
            if let Some(rest) = name.strip_prefix(&prefix) {
                let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
                if wit::Version::of(version).is_none() {
                    return Err(fail(
                        GuestErrorKind::IncompatibleVersion {
                            wanted: version.to_owned(),
                        },
                        format!(
                            "was built for {WIT_PACKAGE}@{} but this host implements {supported}; rebuild the guest against this host's wit/ (or use a host that supports {})",
                            if version.is_empty() {
                                "(unversioned)"
                            } else {
                                version
                            },
                            if version.is_empty() { "it" } else { version },
                        ),
                    ));
                }
                match &seen_version {
                    Some(v) if wit::Version::of(v) != wit::Version::of(version) => {
                        return Err(fail(
                            GuestErrorKind::IncompatibleVersion {
                                wanted: version.to_owned(),
                            },
                            format!(
                                "mixes {WIT_PACKAGE}@{v} and @{version}: a guest is built against one version"
                            ),
                        ));
                    }
                    _ => seen_version = Some(version.to_owned()),
                }
                if !is_import && interface == "blueprint" {
                    exports_blueprint = Some(version.to_owned());
                }
            } else if *is_import
                && !name.starts_with("wasi:")
                && !(guest.dev.is_some() && name.starts_with(&format!("{}/", dev::DEV_PACKAGE)))
            {
                return Err(fail(
                    GuestErrorKind::NotABlueprint,
                    format!("imports {name}, which a blueprint host does not provide"),
                ));
            }
        }
        let Some(version) = exports_blueprint else {
            let exports: Vec<&str> = names
                .iter()
                .filter(|(i, _)| !i)
                .map(|(_, n)| n.as_str())
                .collect();
            return Err(fail(
                GuestErrorKind::NotABlueprint,
                format!(
                    "is not a blueprint guest: it exports [{}], not {WIT_PACKAGE}/blueprint@{WIT_VERSION}",
                    exports.join(", ")
                ),
            ));
        };
        Ok(version)
    }

    /// Instantiate a guest in a fresh sandbox. `asset_root` is the folder its
    /// asset paths are relative to (the blueprint file's folder).
    pub async fn instantiate(
        &self,
        guest: &LoadedGuest,
        asset_root: &Path,
    ) -> Result<GuestInstance, GuestError> {
        let stderr = MemoryOutputPipe::new(sandbox::STDERR_CAPACITY);
        let state = GuestState {
            catalog: self.catalog,
            limiter: sandbox::GuestLimiter::new(self.limits.memory_bytes),
            graph: Graph::default(),
            asset_root: asset_root.to_owned(),
            guest_name: guest.name.clone(),
            log_lines: 0,
            node_limit_hit: false,
            assets_by_path: Default::default(),
            dev: guest.dev.as_ref().map(|modules| dev::DevState {
                modules: modules.clone(),
                failure: None,
            }),
            meter: declare::Meter::new(self.limits),
            deadline: Instant::now() + self.limits.timeout,
            host_call_timed_out: false,
        };
        let wasi = sandbox::wasi_context(stderr.clone());
        let mut store = Store::new(&self.engine, Sandbox::new(wasi, state));
        store.limiter(|s| &mut s.state_mut::<GuestState>().limiter);
        let mut instance = GuestInstance {
            guest: guest.name.clone(),
            store,
            bindings: None,
            stderr,
            timeout: self.limits.timeout,
        };
        instance.arm_deadline();
        let linker = match guest.dev {
            None => &self.linker,
            Some(_) => self.dev_linker().map_err(|e| GuestError {
                guest: guest.name.clone(),
                kind: GuestErrorKind::Trap,
                message: format!("failed to start: {e}"),
            })?,
        };
        let linked = tokio::time::timeout(
            instance.wall_limit(),
            wit::GuestApi::instantiate(
                guest.bindings,
                &mut instance.store,
                &guest.component,
                linker,
            ),
        )
        .await;
        instance.bindings = Some(instance.settle(linked, "failed to start")?);
        Ok(instance)
    }
}

/// A guest of version `guest` runs on bindings of version `host` (for 0.x the
/// minor version is the breaking one, as in Cargo's semver). The policy world
/// checks its guests with it.
pub(crate) fn compatible(guest: &str, host: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split(['.', '-', '+']);
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parse(guest), parse(host)) {
        (Some((gmaj, gmin)), Some((hmaj, hmin))) => {
            if gmaj == 0 && hmaj == 0 {
                gmin == hmin
            } else {
                gmaj == hmaj && gmin <= hmin
            }
        }
        _ => false,
    }
}

/// Advance the engine's epoch every tick until the returned token is dropped
/// (with the [`Runtime`] that holds it).
fn start_epoch_ticker(engine: &Engine) -> Arc<()> {
    let token = Arc::new(());
    let alive: Weak<()> = Arc::downgrade(&token);
    let engine = engine.clone();
    std::thread::Builder::new()
        .name("blueprint-epoch".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch ticker thread");
    token
}

/// A compiled guest, ready to instantiate any number of times.
pub struct LoadedGuest {
    pub name: String,
    pub component: Component,
    /// Size of the component file in bytes.
    pub size: usize,
    /// The `blueprint:cloud` version it was built against.
    pub wit_version: String,
    /// Development mode: this is a language runtime, to run these source modules.
    pub dev: Option<dev::Modules>,
    /// The bindings that version runs on.
    bindings: wit::Version,
}

/// What the host keeps for a guest in its store ([`Sandbox::state`], beside the
/// empty WASI context): limits, and the graph its constructor calls build.
pub struct GuestState {
    /// The kinds `host.declare` may name.
    catalog: &'static Catalog,
    limiter: sandbox::GuestLimiter,
    pub(crate) graph: Graph,
    asset_root: PathBuf,
    guest_name: String,
    log_lines: usize,
    node_limit_hit: bool,
    assets_by_path: std::collections::HashMap<String, blueprint_model::assets::Asset>,
    /// Development mode: the source a runtime reads (`dev.rs`).
    dev: Option<dev::DevState>,
    /// What the guest made the host hold, against the budgets.
    meter: declare::Meter,
    /// When the current guest call's time is up; host calls check it.
    deadline: Instant,
    /// A host call was still running at the deadline.
    host_call_timed_out: bool,
}

/// A running guest. Each call gets the full time limit.
pub struct GuestInstance {
    guest: String,
    store: Store<Sandbox>,
    bindings: Option<wit::GuestApi>,
    stderr: MemoryOutputPipe,
    timeout: Duration,
}

impl GuestInstance {
    fn state(&self) -> &GuestState {
        self.store.data().state()
    }

    fn state_mut(&mut self) -> &mut GuestState {
        self.store.data_mut().state_mut()
    }

    fn arm_deadline(&mut self) {
        let ticks = (self.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        self.store.set_epoch_deadline(ticks);
        self.state_mut().deadline = Instant::now() + self.timeout;
    }

    /// The epoch deadline only fires while guest code runs; a guest blocked in a
    /// host call (a WASI sleep, say) is stopped by this wall-clock bound instead.
    fn wall_limit(&self) -> Duration {
        self.timeout + Duration::from_millis(500)
    }

    /// One guest call's outcome, with both limits turned into errors.
    fn settle<T>(
        &self,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
        context: &str,
    ) -> Result<T, GuestError> {
        if self.state().host_call_timed_out {
            return Err(GuestError {
                guest: self.guest.clone(),
                kind: GuestErrorKind::Timeout,
                message: format!(
                    "{context}: ran out of time (limit {:.1} s) in a host call",
                    self.timeout.as_secs_f64()
                ),
            });
        }
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.classify(e, context)),
            Err(_) => Err(GuestError {
                guest: self.guest.clone(),
                kind: GuestErrorKind::Timeout,
                message: format!(
                    "{context}: ran out of time (limit {:.1} s) while blocked in a host call",
                    self.timeout.as_secs_f64()
                ),
            }),
        }
    }

    pub async fn info(&mut self) -> Result<GuestInfo, GuestError> {
        self.arm_deadline();
        let wall = self.wall_limit();
        let api = self.bindings.as_ref().expect("instantiated");
        let outcome = tokio::time::timeout(wall, api.info(&mut self.store)).await;
        self.settle(outcome, "failed in info()")
    }

    /// The guest's params schema, parsed.
    pub async fn params_schema(&mut self) -> Result<Value, GuestError> {
        self.arm_deadline();
        let wall = self.wall_limit();
        let api = self.bindings.as_ref().expect("instantiated");
        let outcome = tokio::time::timeout(wall, api.params_schema(&mut self.store)).await;
        let text = self.settle(outcome, "failed in params-schema()")?;
        serde_json::from_str(&text).map_err(|e| GuestError {
            guest: self.guest.clone(),
            kind: GuestErrorKind::BadOutput,
            message: format!("returned a params schema that is not JSON: {e}"),
        })
    }

    /// Run the guest with these params and take the graph it declared.
    pub async fn run(mut self, params: &Value) -> Result<Graph, GuestError> {
        self.arm_deadline();
        let wall = self.wall_limit();
        let api = self.bindings.as_ref().expect("instantiated");
        let params = params.to_string();
        let outcome = tokio::time::timeout(wall, api.run(&mut self.store, &params)).await;
        match self.settle(outcome, "failed")? {
            Err(message) => Err(GuestError {
                guest: self.guest.clone(),
                kind: GuestErrorKind::Failed,
                // The guest's own words: escaped, one line, bounded.
                message: format!(
                    "returned an error: {}",
                    blueprint_model::text::escape_cut(&message, 1024)
                ),
            }),
            Ok(()) if self.state().meter.exceeded.is_some() => Err(GuestError {
                guest: self.guest.clone(),
                kind: GuestErrorKind::OverBudget,
                message: self.state().meter.exceeded.clone().unwrap_or_default(),
            }),
            Ok(()) if self.state().node_limit_hit => Err(GuestError {
                guest: self.guest.clone(),
                kind: GuestErrorKind::TooManyNodes,
                message: format!(
                    "declared more than {} nodes; is it stuck in a loop?",
                    declare::MAX_NODES
                ),
            }),
            Ok(()) => Ok(std::mem::take(&mut self.state_mut().graph)),
        }
    }

    /// Turn a wasmtime error into a one-line reason.
    fn classify(&self, error: wasmtime::Error, context: &str) -> GuestError {
        let dev_failure = self.state().dev.as_ref().and_then(|d| d.failure.clone());
        let (kind, message) = if self.state().limiter.memory_hit {
            (
                GuestErrorKind::OutOfMemory,
                format!(
                    "{context}: ran out of memory (limit {} MiB)",
                    self.state().limiter_limit_mib()
                ),
            )
        } else if let Some(reason) = dev_failure {
            (
                GuestErrorKind::Failed,
                format!(
                    "{context}: could not load its source: {}",
                    first_line(&reason)
                ),
            )
        } else {
            match error.downcast_ref::<Trap>() {
                Some(Trap::Interrupt) => (
                    GuestErrorKind::Timeout,
                    format!(
                        "{context}: ran out of time (limit {:.1} s): an endless loop, or far too much work",
                        self.timeout.as_secs_f64()
                    ),
                ),
                Some(trap) => {
                    let reason = match panic_message(&self.stderr) {
                        Some(panic) => format!("panicked: {panic}"),
                        None => format!("trapped: {trap}"),
                    };
                    (GuestErrorKind::Trap, format!("{context}: {reason}"))
                }
                None => (
                    GuestErrorKind::Trap,
                    format!("{context}: {}", first_line(&format!("{error:#}"))),
                ),
            }
        };
        GuestError {
            guest: self.guest.clone(),
            kind,
            message,
        }
    }
}

impl GuestState {
    fn limiter_limit_mib(&self) -> usize {
        self.limiter.limit_bytes() / (1024 * 1024)
    }
}

/// The message of a Rust-style panic written to stderr, if any.
pub(crate) fn panic_message(stderr: &MemoryOutputPipe) -> Option<String> {
    let text = String::from_utf8_lossy(&stderr.contents()).into_owned();
    let at = text.rfind("panicked at")?;
    let rest = &text[at..];
    // "panicked at src/lib.rs:3:5:\nmessage\nnote: ..."
    let mut lines = rest.lines();
    let location = lines
        .next()?
        .trim_start_matches("panicked at ")
        .trim_end_matches(':');
    let message: Vec<&str> = lines.take_while(|l| !l.starts_with("note:")).collect();
    Some(format!("{} (at {location})", message.join(" ").trim()))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_owned()
}
