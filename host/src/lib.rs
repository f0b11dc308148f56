//! `blueprint`: provision cloud alerting from sandboxed WebAssembly blueprints.
//!
//! The data flow of one command, module by module:
//! [`blueprint_file`] (TOML) -> [`runtime`] (run the guest in a sandbox; its
//! versioned WIT in `runtime::wit`) -> [`graph`] (the nodes it declared,
//! validated against the [`kind`] descriptors) -> [`run`] (check, state, lock,
//! providers, [`engine`] plan/apply) -> [`cli`] (parse and render).
//! Each resource kind lives in one file under `providers/<provider>/kinds/`.

// The bottom layer, a crate of its own (host/model): re-exported under the
// names the rest of the code and the tests have always used.
pub use blueprint_model::{assets, graph, kind, params, text};

pub mod blueprint_file;
pub mod check;
pub mod cli;
pub mod dev;
pub mod drill;
pub mod engine;
pub mod evaluate;
pub mod export;
pub mod guest_source;
pub mod iam_policy;
pub mod import;
pub mod oci;
pub mod providers;
pub mod run;
pub mod runtime;
pub mod scaffold;
pub mod slots;
pub mod state;
pub mod timings;
