//! Write `blueprint` guests in Rust.
//!
//! A guest is a type implementing [`Blueprint`], exported with [`blueprint!`]:
//!
//! ```ignore
//! use blueprint_sdk::prelude::*;
//!
//! #[derive(Deserialize, Serialize, JsonSchema)]
//! #[serde(default)]
//! struct Params { team: String }
//! impl Default for Params { fn default() -> Self { Params { team: "sre".into() } } }
//!
//! struct Mine;
//! impl Blueprint for Mine {
//!     type Params = Params;
//!     fn info() -> Info { Info::new("mine", env!("CARGO_PKG_VERSION"), "A team") }
//!     fn run(params: Params) -> Result<(), String> {
//!         pagerduty::team("team", &pagerduty::TeamProps {
//!             name: params.team, description: None, parent: None,
//!         });
//!         Ok(())
//!     }
//! }
//! blueprint_sdk::blueprint!(Mine);
//! ```
//!
//! Constructors return their outputs as reference tokens: plain `String`s you pass
//! on or interpolate with `format!`. The params schema is derived from the
//! `Params` type (doc comments become descriptions, `Default` gives defaults).

// The latest contract; the features `wit-v0-1-0` to `wit-v0-6-0`
// build the same guest against a frozen contract instead (the host's
// compatibility tests do).
#[cfg(not(any(
    feature = "wit-v0-1-0",
    feature = "wit-v0-2-0",
    feature = "wit-v0-3-0",
    feature = "wit-v0-4-0",
    feature = "wit-v0-5-0",
    feature = "wit-v0-6-0"
)))]
wit_bindgen::generate!({
    world: "guest",
    path: "../../wit",
    pub_export_macro: true,
    export_macro_name: "export_guest",
    default_bindings_module: "blueprint_sdk",
});
#[cfg(feature = "wit-v0-1-0")]
wit_bindgen::generate!({
    world: "guest",
    path: "../../wit/since_v0.1.0",
    pub_export_macro: true,
    export_macro_name: "export_guest",
    default_bindings_module: "blueprint_sdk",
});
#[cfg(all(feature = "wit-v0-2-0", not(feature = "wit-v0-1-0")))]
wit_bindgen::generate!({
    world: "guest",
    path: "../../wit/since_v0.2.0",
    pub_export_macro: true,
    export_macro_name: "export_guest",
    default_bindings_module: "blueprint_sdk",
});
#[cfg(all(
    feature = "wit-v0-3-0",
    not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0"))
))]
wit_bindgen::generate!({
    world: "guest",
    path: "../../wit/since_v0.3.0",
    pub_export_macro: true,
    export_macro_name: "export_guest",
    default_bindings_module: "blueprint_sdk",
});
#[cfg(all(
    feature = "wit-v0-4-0",
    not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0", feature = "wit-v0-3-0"))
))]
wit_bindgen::generate!({
    world: "guest",
    path: "../../wit/since_v0.4.0",
    pub_export_macro: true,
    export_macro_name: "export_guest",
    default_bindings_module: "blueprint_sdk",
});
#[cfg(all(
    feature = "wit-v0-5-0",
    not(any(
        feature = "wit-v0-1-0",
        feature = "wit-v0-2-0",
        feature = "wit-v0-3-0",
        feature = "wit-v0-4-0"
    ))
))]
wit_bindgen::generate!({
    world: "guest",
    path: "../../wit/since_v0.5.0",
    pub_export_macro: true,
    export_macro_name: "export_guest",
    default_bindings_module: "blueprint_sdk",
});
#[cfg(all(
    feature = "wit-v0-6-0",
    not(any(
        feature = "wit-v0-1-0",
        feature = "wit-v0-2-0",
        feature = "wit-v0-3-0",
        feature = "wit-v0-4-0",
        feature = "wit-v0-5-0"
    ))
))]
wit_bindgen::generate!({
    world: "guest",
    path: "../../wit/since_v0.6.0",
    pub_export_macro: true,
    export_macro_name: "export_guest",
    default_bindings_module: "blueprint_sdk",
});

/// Since 0.4.0: outputs for other blueprints, and reading theirs.
#[cfg(not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0", feature = "wit-v0-3-0")))]
pub use blueprint::cloud::blueprints;
pub use blueprint::cloud::{aws, host, pagerduty};
pub use exports::blueprint::cloud::blueprint::GuestInfo as Info;

/// Re-exported so guests need no direct dependency to use the generated macro.
pub use schemars;
pub use serde;
pub use serde_json;

/// What a guest author implements.
pub trait Blueprint {
    /// The params, deserialized from the blueprint file (defaults filled in by
    /// the host from this type's schema).
    type Params: serde::de::DeserializeOwned + schemars::JsonSchema;

    fn info() -> Info;

    /// Declare the graph.
    fn run(params: Self::Params) -> Result<(), String>;
}

impl Info {
    pub fn new(name: &str, version: &str, description: &str) -> Info {
        Info {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
        }
    }
}

/// The JSON Schema of `P`, as the host expects it.
pub fn schema_of<P: schemars::JsonSchema>() -> String {
    let schema = schemars::schema_for!(P);
    serde_json::to_string(&schema).expect("a schema serializes")
}

/// Parse params and run `B`; errors name what was wrong with the params.
pub fn run_blueprint<B: Blueprint>(params_json: &str) -> Result<(), String> {
    let params: B::Params =
        serde_json::from_str(params_json).map_err(|e| format!("invalid params: {e}"))?;
    B::run(params)
}

/// Pack a file or folder next to the blueprint file into a deterministic zip.
pub fn asset(path: &str) -> Result<host::PackedAsset, String> {
    host::asset(path)
}

/// Log through the host (shown with `blueprint -v`).
pub fn log(level: host::LogLevel, message: impl AsRef<str>) {
    host::log(level, message.as_ref());
}

/// Export a [`Blueprint`] implementation as the guest's `blueprint` interface.
#[macro_export]
macro_rules! blueprint {
    ($ty:ty) => {
        struct __BlueprintExport;

        impl $crate::exports::blueprint::cloud::blueprint::Guest for __BlueprintExport {
            fn info() -> $crate::Info {
                <$ty as $crate::Blueprint>::info()
            }

            fn params_schema() -> ::std::string::String {
                $crate::schema_of::<<$ty as $crate::Blueprint>::Params>()
            }

            fn run(
                params_json: ::std::string::String,
            ) -> ::std::result::Result<(), ::std::string::String> {
                $crate::run_blueprint::<$ty>(&params_json)
            }
        }

        $crate::export_guest!(__BlueprintExport);
    };
}

/// Everything a guest usually needs.
pub mod prelude {
    pub use crate::{Blueprint, Info, asset, aws, host::LogLevel, log, pagerduty};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}
