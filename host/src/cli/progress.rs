//! The views of an apply's progress: a live per-resource view on a terminal
//! (indicatif), plain timestamped lines otherwise. Never prints prop values, so
//! never a secret.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

pub use crate::engine::progress::{Progress, Silent};

/// Pick the view for stderr.
pub fn for_stderr(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Live::new())
    } else {
        Box::new(Lines::new())
    }
}

fn past(operation: &str) -> &'static str {
    match operation {
        "create" => "created",
        "update" => "updated",
        "delete" => "deleted",
        _ => "done",
    }
}

fn ing(operation: &str) -> &'static str {
    match operation {
        "create" => "creating",
        "update" => "updating",
        "delete" => "deleting",
        _ => "working",
    }
}

/// One line per event, with the time since the apply began.
pub struct Lines {
    started: Instant,
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            started: Instant::now(),
        }
    }

    fn line(&self, text: String) {
        eprintln!("[{:>6.1}s] {text}", self.started.elapsed().as_secs_f64());
    }
}

impl Default for Lines {
    fn default() -> Self {
        Lines::new()
    }
}

impl Progress for Lines {
    fn started(&self, node: &str, kind: &str, operation: &str) {
        self.line(format!("{node} ({kind}): {}...", ing(operation)));
    }
    fn finished(&self, node: &str, kind: &str, operation: &str, elapsed: Duration) {
        self.line(format!(
            "{node} ({kind}): {} in {:.1}s",
            past(operation),
            elapsed.as_secs_f64()
        ));
    }
    fn failed(&self, node: &str, kind: &str, operation: &str, error: &str) {
        self.line(format!("{node} ({kind}): {operation} FAILED: {error}"));
    }
    fn skipped(&self, node: &str, kind: &str, because: &str) {
        self.line(format!("{node} ({kind}): skipped, {because} failed"));
    }
}

/// A spinner per resource in flight; finished ones stay as a line.
pub struct Live {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Live {
    pub fn new() -> Live {
        Live {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, node: &str) -> Option<ProgressBar> {
        self.bars.lock().ok()?.remove(node)
    }
}

impl Default for Live {
    fn default() -> Self {
        Live::new()
    }
}

impl Progress for Live {
    fn started(&self, node: &str, kind: &str, operation: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{node} ({kind}): {}", ing(operation)));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(node.to_owned(), bar);
        }
    }
    fn finished(&self, node: &str, kind: &str, operation: &str, elapsed: Duration) {
        let text = format!(
            "✓ {node} ({kind}): {} in {:.1}s",
            past(operation),
            elapsed.as_secs_f64()
        );
        match self.take(node) {
            Some(bar) => bar.finish_with_message(text),
            None => {
                let _ = self.multi.println(text);
            }
        }
    }
    fn failed(&self, node: &str, kind: &str, operation: &str, error: &str) {
        let text = format!("✗ {node} ({kind}): {operation} failed: {error}");
        match self.take(node) {
            Some(bar) => bar.abandon_with_message(text),
            None => {
                let _ = self.multi.println(text);
            }
        }
    }
    fn skipped(&self, node: &str, kind: &str, because: &str) {
        let _ = self
            .multi
            .println(format!("- {node} ({kind}): skipped, {because} failed"));
    }
}

/// Another progress with every node named `<prefix>/<node>`: many blueprints on
/// one stream.
pub struct Prefixed<P> {
    pub prefix: String,
    pub inner: P,
}

impl<P: Progress> Progress for Prefixed<P> {
    fn started(&self, node: &str, kind: &str, operation: &str) {
        self.inner
            .started(&format!("{}/{node}", self.prefix), kind, operation);
    }
    fn finished(&self, node: &str, kind: &str, operation: &str, elapsed: Duration) {
        self.inner
            .finished(&format!("{}/{node}", self.prefix), kind, operation, elapsed);
    }
    fn failed(&self, node: &str, kind: &str, operation: &str, error: &str) {
        self.inner
            .failed(&format!("{}/{node}", self.prefix), kind, operation, error);
    }
    fn skipped(&self, node: &str, kind: &str, because: &str) {
        self.inner
            .skipped(&format!("{}/{node}", self.prefix), kind, because);
    }
}
