//! The store every sandboxed component runs in — blueprint guests, development
//! runtimes and policies alike — and WASI linked once for it.
//!
//! Why a crate of its own: linking WASI makes one host-function trampoline per
//! WASI function (about 150) for the store type it is linked for. In the host
//! crate they were a fifth of its machine code, built twice (a guest's store
//! type and a policy's) at opt-level 3, and all again for the host's unit tests.
//! Here they are built once, for this one type, and the `release` profile leaves
//! this crate unoptimised: components get an empty WASI context, so no WASI call
//! is on a hot path (docs/authoring-speed.md). What the host keeps for the
//! component — a guest's graph, its limits — rides along as [`Sandbox::state`].

use std::any::Any;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// A component's store data: its WASI context and resource table, and the host's
/// state for it.
pub struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    state: Box<dyn Any + Send>,
}

impl Sandbox {
    pub fn new<S: Any + Send>(wasi: WasiCtx, state: S) -> Self {
        Sandbox {
            wasi,
            table: ResourceTable::new(),
            state: Box::new(state),
        }
    }

    /// The host's state for this component. A store is made for one kind of
    /// component and holds its state type for good, so another type is a bug.
    pub fn state<S: Any>(&self) -> &S {
        self.state
            .downcast_ref()
            .expect("a sandbox holds the state type it was made with")
    }

    pub fn state_mut<S: Any>(&mut self) -> &mut S {
        self.state
            .downcast_mut()
            .expect("a sandbox holds the state type it was made with")
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// WASI 0.2 (async host functions) into a linker. Not inlined, so its
/// trampolines are built here and nowhere else.
#[inline(never)]
pub fn add_wasi_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)
}
