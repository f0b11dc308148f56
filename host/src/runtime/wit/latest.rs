//! The latest contract (`wit/*.wit`) and the host's implementation of it. The
//! provider interfaces (`pagerduty`, `aws`, `blueprints`) are implemented by the providers'
//! kind lists (`providers/<provider>/kinds/mod.rs`), which generate one
//! constructor per kind; this file implements the `host` interface.

use wasmtime::component::bindgen;

use crate::runtime::GuestState;

bindgen!({
    world: "guest",
    path: "../wit",
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

pub use self::blueprint::cloud::{aws, blueprints, host, pagerduty};
pub use self::exports::blueprint::cloud::blueprint::GuestInfo;
pub use self::host::LogLevel;

impl host::Host for GuestState {
    fn log(&mut self, level: LogLevel, message: String) {
        self.guest_log(level, message);
    }

    fn asset(&mut self, path: String) -> Result<host::PackedAsset, String> {
        let asset = self.pack_asset(&path)?;
        Ok(host::PackedAsset {
            id: asset.id.clone(),
            sha256: asset.sha256.clone(),
            sha256_base64: asset.sha256_base64.clone(),
            size: asset.size,
            file_name: asset.file_name.clone(),
        })
    }

    fn declare(&mut self, kind: String, name: String, props_json: String) {
        self.declare_raw(&kind, &name, &props_json);
    }

    fn depends_on(&mut self, name: String, on: Vec<String>) {
        self.declare_dependency(&name, on);
    }
}
