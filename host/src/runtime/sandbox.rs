//! What a guest may use: nothing ambient. WASI is linked because Rust std (and
//! other languages' runtimes) import it, but with an empty context: no preopened
//! directories, no environment, no arguments, no sockets, stdin closed, a clock
//! frozen at the Unix epoch and a fixed random seed — so a guest cannot read the
//! machine, and the same params always declare the same graph.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx};

/// Limits applied to every guest call, and the budgets of what the host does
/// for a guest (metered as it declares, see `declare.rs`; documented with their
/// flags in docs/sandbox.md).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory a guest may grow to (all memories together).
    pub memory_bytes: usize,
    /// Wall time a guest call may run before it is interrupted; host work done
    /// for the guest (its host calls, validating what it declared) counts too.
    pub timeout: Duration,
    /// Total bytes of the props of every declared node (strings, keys, and 8
    /// bytes per number, boolean or null).
    pub max_prop_bytes: usize,
    /// Longest string in any prop.
    pub max_string_bytes: usize,
    /// Reference tokens in all props together.
    pub max_references: usize,
    /// Distinct (node, node it references) pairs.
    pub max_edges: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(5),
            max_prop_bytes: 16 * 1024 * 1024,
            max_string_bytes: 256 * 1024,
            max_references: 100_000,
            max_edges: 50_000,
        }
    }
}

/// How much of a guest's stderr is kept (for panic messages).
pub const STDERR_CAPACITY: usize = 64 * 1024;

pub fn wasi_context(stderr: MemoryOutputPipe) -> WasiCtx {
    WasiCtx::builder()
        .stderr(stderr)
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock)
        .secure_random(StdRng::seed_from_u64(0))
        .insecure_random(StdRng::seed_from_u64(0))
        .insecure_random_seed(0)
        .build()
}

/// A clock that never moves: time is not granted to guests.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Memory and table limits that remember when they were hit, so the error can
/// say "out of memory" instead of a generic trap.
pub struct GuestLimiter {
    memory_bytes: usize,
    memory_used: usize,
    pub memory_hit: bool,
}

impl GuestLimiter {
    pub fn new(memory_bytes: usize) -> Self {
        GuestLimiter {
            memory_bytes,
            memory_used: 0,
            memory_hit: false,
        }
    }

    pub fn limit_bytes(&self) -> usize {
        self.memory_bytes
    }
}

/// Generous for any real guest (componentize-py needs dozens), small enough
/// that instances cannot be multiplied to escape the memory limit.
const MAX_INSTANCES: usize = 1000;
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory_used - current.min(self.memory_used) + desired;
        if total > self.memory_bytes {
            self.memory_hit = true;
            return Err(wasmtime::format_err!(
                "guest memory would grow to {total} bytes, over the {} byte limit",
                self.memory_bytes
            ));
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
    fn tables(&self) -> usize {
        MAX_INSTANCES
    }
    fn memories(&self) -> usize {
        MAX_INSTANCES
    }
}
