//! `blueprint`: provision cloud alerting from sandboxed WebAssembly blueprints.
//!
//! The data flow of one command, module by module:
//! [`blueprint_file`] (TOML) -> [`runtime`] (run the guest in a sandbox) ->
//! [`graph`] (the nodes it declared, validated) -> [`cli`] (render / act).

pub mod assets;
pub mod blueprint_file;
pub mod check;
pub mod cli;
pub mod drill;
pub mod engine;
pub mod evaluate;
pub mod export;
pub mod graph;
pub mod guest_source;
pub mod oci;
pub mod params;
pub mod providers;
pub mod runtime;
pub mod scaffold;
pub mod state;
