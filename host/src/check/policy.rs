//! Policy guests: components of the `blueprint:policy` world (`wit/policy/`) that
//! judge a validated graph and answer with findings. They run in the same sandbox
//! as blueprint guests — the same engine (compiled-code cache, epoch ticker), an
//! empty WASI context, the same memory and time limits per call — and every failure
//! is a [`GuestError`] of the same classes (timeout, out of memory, trap, ...).

use std::path::Path;
use std::time::Duration;

use blueprint_sandbox::Sandbox;
use serde_json::Value;
use wasmtime::component::{Component, Linker};
use wasmtime::{Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::runtime::{EPOCH_TICK, GuestError, GuestErrorKind, Runtime, SetupError, sandbox};
use blueprint_model::graph::{Graph, render};

mod bindings {
    wasmtime::component::bindgen!({
        world: "policy-guest",
        path: "../wit/policy",
        exports: { default: async },
    });
}

pub use bindings::exports::blueprint::policy::policy::{
    Finding as WitFinding, PolicyInfo, Rule as WitRule, Severity as WitSeverity,
};
use bindings::exports::blueprint::policy::policy::{Graph as WitGraph, Node as WitNode};

/// The policy package this host implements.
pub const POLICY_PACKAGE: &str = "blueprint:policy";
pub const POLICY_VERSION: &str = "0.1.0";

/// The policy world's linker: WASI (empty context) and nothing else.
pub struct PolicyRuntime<'r> {
    runtime: &'r Runtime,
    linker: Linker<Sandbox>,
}

/// A compiled policy component whose world was checked.
pub struct LoadedPolicy {
    pub name: String,
    pub component: Component,
    pub size: usize,
    /// The `blueprint:policy` version it was built against.
    pub wit_version: String,
}

/// What the host keeps for a policy in its store ([`Sandbox::state`]).
pub struct PolicyState {
    limiter: sandbox::GuestLimiter,
}

impl<'r> PolicyRuntime<'r> {
    pub fn new(runtime: &'r Runtime) -> Result<Self, SetupError> {
        let mut linker = Linker::new(runtime.engine());
        blueprint_sandbox::add_wasi_to_linker(&mut linker)
            .map_err(SetupError::link("WASI for policies"))?;
        Ok(PolicyRuntime { runtime, linker })
    }

    /// Read and compile a policy, refusing anything that is not a component of
    /// a compatible `blueprint:policy` world before it runs.
    pub fn load(&self, path: &Path) -> Result<LoadedPolicy, GuestError> {
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
        if !bytes.starts_with(b"\0asm") || bytes.get(6..8) != Some(&[1, 0]) {
            return Err(fail(
                GuestErrorKind::NotAComponent,
                format!(
                    "is not a WebAssembly component ({}): build the policy for wasm32-wasip2 or with a component toolchain",
                    path.display()
                ),
            ));
        }
        let component = Component::new(self.runtime.engine(), &bytes).map_err(|e| {
            fail(
                GuestErrorKind::NotAComponent,
                format!("is not a valid component: {e}"),
            )
        })?;
        let wit_version =
            policy_world(self.runtime.engine(), &component).map_err(|(k, m)| fail(k, m))?;
        Ok(LoadedPolicy {
            name,
            component,
            size: bytes.len(),
            wit_version,
        })
    }

    /// A fresh sandbox for one policy.
    pub async fn instantiate(&self, policy: &LoadedPolicy) -> Result<PolicyInstance, GuestError> {
        let limits = self.runtime.limits();
        let stderr = MemoryOutputPipe::new(sandbox::STDERR_CAPACITY);
        let state = PolicyState {
            limiter: sandbox::GuestLimiter::new(limits.memory_bytes),
        };
        let wasi = sandbox::wasi_context(stderr.clone());
        let mut store = Store::new(self.runtime.engine(), Sandbox::new(wasi, state));
        store.limiter(|s| &mut s.state_mut::<PolicyState>().limiter);
        let mut instance = PolicyInstance {
            name: policy.name.clone(),
            store,
            bindings: None,
            stderr,
            timeout: limits.timeout,
        };
        instance.arm_deadline();
        let linked = tokio::time::timeout(
            instance.wall_limit(),
            bindings::PolicyGuest::instantiate_async(
                &mut instance.store,
                &policy.component,
                &self.linker,
            ),
        )
        .await;
        instance.bindings = Some(instance.settle(linked, "failed to start")?);
        Ok(instance)
    }
}

/// The component must export `blueprint:policy/policy` at a version this host
/// implements and import nothing but WASI. Returns that version.
fn policy_world(
    engine: &wasmtime::Engine,
    component: &Component,
) -> Result<String, (GuestErrorKind, String)> {
    let ty = component.component_type();
    let prefix = format!("{POLICY_PACKAGE}/");
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let Some(version) = exports.iter().find_map(|name| {
        let rest = name.strip_prefix(&prefix)?;
        let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
        (interface == "policy").then_some(version)
    }) else {
        return Err((
            GuestErrorKind::NotABlueprint,
            format!(
                "is not a policy: it exports [{}], not {POLICY_PACKAGE}/policy@{POLICY_VERSION}",
                exports.join(", ")
            ),
        ));
    };
    if !crate::runtime::compatible(version, POLICY_VERSION) {
        return Err((
            GuestErrorKind::IncompatibleVersion {
                wanted: version.to_owned(),
            },
            format!(
                "was built for {POLICY_PACKAGE}@{} but this host implements {POLICY_PACKAGE}@{POLICY_VERSION}; rebuild the policy against this host's wit/policy/",
                if version.is_empty() {
                    "(unversioned)"
                } else {
                    version
                }
            ),
        ));
    }
    for (name, _) in ty.imports(engine) {
        if !name.starts_with("wasi:") {
            return Err((
                GuestErrorKind::NotABlueprint,
                format!(
                    "imports {name}, which a policy host does not provide (a policy imports nothing but WASI)"
                ),
            ));
        }
    }
    Ok(version.to_owned())
}

/// Whether a component is a policy (for `publish` and `inspect`).
pub fn is_policy(engine: &wasmtime::Engine, component: &Component) -> bool {
    policy_world(engine, component).is_ok()
}

/// A running policy. Each call gets the full time limit.
pub struct PolicyInstance {
    name: String,
    store: Store<Sandbox>,
    bindings: Option<bindings::PolicyGuest>,
    stderr: MemoryOutputPipe,
    timeout: Duration,
}

impl PolicyInstance {
    fn arm_deadline(&mut self) {
        let ticks = (self.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        self.store.set_epoch_deadline(ticks);
    }

    /// Guest code is stopped by the epoch deadline; a guest blocked in a host
    /// call (a WASI sleep) by this wall-clock bound.
    fn wall_limit(&self) -> Duration {
        self.timeout + Duration::from_millis(500)
    }

    fn api(&self) -> bindings::exports::blueprint::policy::policy::Guest {
        self.bindings
            .as_ref()
            .expect("instantiated")
            .blueprint_policy_policy()
            .clone()
    }

    fn settle<T>(
        &self,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
        context: &str,
    ) -> Result<T, GuestError> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.classify(e, context)),
            Err(_) => Err(self.error(
                GuestErrorKind::Timeout,
                format!(
                    "{context}: ran out of time (limit {:.1} s) while blocked in a host call",
                    self.timeout.as_secs_f64()
                ),
            )),
        }
    }

    fn error(&self, kind: GuestErrorKind, message: String) -> GuestError {
        GuestError {
            guest: self.name.clone(),
            kind,
            message,
        }
    }

    /// The same classes and wording as a blueprint guest's failures.
    fn classify(&self, error: wasmtime::Error, context: &str) -> GuestError {
        let limiter = &self.store.data().state::<PolicyState>().limiter;
        if limiter.memory_hit {
            return self.error(
                GuestErrorKind::OutOfMemory,
                format!(
                    "{context}: ran out of memory (limit {} MiB)",
                    limiter.limit_bytes() / (1024 * 1024)
                ),
            );
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => self.error(
                GuestErrorKind::Timeout,
                format!(
                    "{context}: ran out of time (limit {:.1} s): an endless loop, or far too much work",
                    self.timeout.as_secs_f64()
                ),
            ),
            Some(trap) => {
                let reason = match crate::runtime::panic_message(&self.stderr) {
                    Some(panic) => format!("panicked: {panic}"),
                    None => format!("trapped: {trap}"),
                };
                self.error(GuestErrorKind::Trap, format!("{context}: {reason}"))
            }
            None => self.error(
                GuestErrorKind::Trap,
                format!(
                    "{context}: {}",
                    format!("{error:#}").lines().next().unwrap_or("")
                ),
            ),
        }
    }

    pub async fn info(&mut self) -> Result<PolicyInfo, GuestError> {
        self.arm_deadline();
        let api = self.api();
        let outcome = tokio::time::timeout(self.wall_limit(), api.call_info(&mut self.store)).await;
        self.settle(outcome, "failed in info()")
    }

    pub async fn rules(&mut self) -> Result<Vec<WitRule>, GuestError> {
        self.arm_deadline();
        let api = self.api();
        let outcome =
            tokio::time::timeout(self.wall_limit(), api.call_rules(&mut self.store)).await;
        self.settle(outcome, "failed in rules()")
    }

    /// Judge one graph.
    pub async fn check(
        &mut self,
        blueprint: &str,
        graph: &Graph,
    ) -> Result<Vec<WitFinding>, GuestError> {
        let input = policy_graph(blueprint, graph);
        self.arm_deadline();
        let api = self.api();
        let outcome =
            tokio::time::timeout(self.wall_limit(), api.call_check(&mut self.store, &input)).await;
        match self.settle(outcome, "failed in check()")? {
            Ok(findings) => Ok(findings),
            Err(message) => Err(self.error(
                GuestErrorKind::Failed,
                format!("returned an error: {message}"),
            )),
        }
    }
}

/// The graph as a policy sees it: nodes sorted by id, props as JSON with
/// references shown as `${node.output}` (as `blueprint graph` prints them).
fn policy_graph(blueprint: &str, graph: &Graph) -> WitGraph {
    WitGraph {
        blueprint: blueprint.to_owned(),
        nodes: graph
            .sorted_nodes()
            .into_iter()
            .map(|node| WitNode {
                id: node.id.clone(),
                kind: node.kind.clone(),
                props: Value::Object(render::display_props(&node.props)).to_string(),
                depends_on: node.dependencies().into_iter().collect(),
            })
            .collect(),
    }
}
