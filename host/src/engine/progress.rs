//! Progress of an apply: what the engine reports as each operation starts and
//! ends. The views that show it (a live terminal view, plain lines) are the
//! CLI's (`cli/progress.rs`).

use std::time::Duration;

pub trait Progress: Send + Sync {
    fn started(&self, node: &str, kind: &str, operation: &str);
    fn finished(&self, node: &str, kind: &str, operation: &str, elapsed: Duration);
    fn failed(&self, node: &str, kind: &str, operation: &str, error: &str);
    fn skipped(&self, node: &str, kind: &str, because: &str);
}

pub struct Silent;

impl Progress for Silent {
    fn started(&self, _: &str, _: &str, _: &str) {}
    fn finished(&self, _: &str, _: &str, _: &str, _: Duration) {}
    fn failed(&self, _: &str, _: &str, _: &str, _: &str) {}
    fn skipped(&self, _: &str, _: &str, _: &str) {}
}
