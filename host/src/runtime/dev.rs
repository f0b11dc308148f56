//! Development mode on the host's side: the one import a language runtime has
//! beyond the `guest` world (`blueprint:dev/source`, in `wit/dev/`), which hands it
//! the guest author's source. A runtime is otherwise an ordinary guest: the same
//! empty WASI context, the same memory and time limits, the same checks of what it
//! imports — plus this interface, which only a runtime loaded through
//! [`Runtime::load_dev`] gets; an ordinary guest importing it is refused.

use std::path::Path;
use std::sync::Arc;

use blueprint_sandbox::Sandbox;
use wasmtime::component::{HasSelf, Linker};

use super::{GuestError, GuestErrorKind, GuestState, LoadedGuest, Runtime, SetupError};

mod wit {
    wasmtime::component::bindgen!({
        path: ["../wit", "../wit/dev"],
        world: "blueprint:dev/host-side",
    });
}

/// The prefix of the development package's imports.
pub const DEV_PACKAGE: &str = "blueprint:dev";

/// The guest's source as a runtime receives it: (module name, text), the entry
/// point first.
pub type Modules = Arc<Vec<(String, String)>>;

/// What a runtime's store carries in development mode.
#[derive(Default)]
pub struct DevState {
    pub modules: Modules,
    /// Why the runtime could not load the source, when it said so.
    pub failure: Option<String>,
}

impl wit::blueprint::dev::source::Host for GuestState {
    fn modules(&mut self) -> Vec<(String, String)> {
        self.dev
            .as_ref()
            .map(|dev| dev.modules.as_ref().clone())
            .unwrap_or_default()
    }

    fn failed(&mut self, message: String) {
        if let Some(dev) = &mut self.dev {
            // Bounded like the guest's log: a runtime cannot grow the host's memory.
            let mut message = message;
            if message.len() > 4096 {
                let mut end = 4096;
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                message.truncate(end);
            }
            dev.failure = Some(message);
        }
    }
}

/// The guest world's linker plus `blueprint:dev/source`.
pub(super) fn add_to_linker(linker: &mut Linker<Sandbox>) -> Result<(), SetupError> {
    wit::blueprint::dev::source::add_to_linker::<_, HasSelf<GuestState>>(linker, Sandbox::state_mut)
        .map_err(SetupError::link("blueprint:dev/source"))
}

impl Runtime {
    /// Load a language runtime (built by the `dev` workflow) that will run `modules`.
    /// `key` identifies the runtime's bytes (its build digest), so a cached load
    /// maps the compiled code without reading the 12-18 MB component. `name` names
    /// the guest in messages.
    pub fn load_dev(
        &self,
        runtime: &Path,
        key: &str,
        name: &str,
        modules: Modules,
    ) -> Result<LoadedGuest, GuestError> {
        let fail = |kind, message: String| GuestError {
            guest: name.to_owned(),
            kind,
            message,
        };
        let read = || std::fs::read(runtime);
        let size = std::fs::metadata(runtime)
            .map(|m| m.len() as usize)
            .map_err(|e| {
                fail(
                    GuestErrorKind::Unreadable,
                    format!(
                        "development runtime cannot be read from {}: {e}",
                        runtime.display()
                    ),
                )
            })?;
        let component = match &self.code {
            Some(cache) => cache.component_keyed(&self.engine, key, read),
            None => read()
                .map_err(wasmtime::Error::from)
                .and_then(|bytes| wasmtime::component::Component::new(&self.engine, bytes)),
        }
        .map_err(|e| {
            fail(
                GuestErrorKind::NotAComponent,
                format!(
                    "development runtime {} is not a valid component: {e}",
                    runtime.display()
                ),
            )
        })?;
        let mut guest = LoadedGuest {
            name: name.to_owned(),
            component,
            size,
            wit_version: String::new(),
            dev: Some(modules),
            bindings: super::wit::Version::Latest,
        };
        guest.wit_version = self.check_world(&guest)?;
        guest.bindings =
            super::wit::Version::of(&guest.wit_version).expect("checked by check_world");
        Ok(guest)
    }

    /// The linker for runtimes: built on first use.
    pub(super) fn dev_linker(&self) -> Result<&Linker<Sandbox>, SetupError> {
        if let Some(linker) = self.dev_linker.get() {
            return Ok(linker);
        }
        let mut linker = self.guest_linker()?;
        add_to_linker(&mut linker)?;
        Ok(self.dev_linker.get_or_init(|| linker))
    }
}
