//! `--timings FILE`: where a run's time goes, as a Chrome trace-event file
//! (open it in ui.perfetto.dev or chrome://tracing). One track per node: the
//! time it waited for its dependencies, for a parallelism slot, for PagerDuty's
//! rate budget, its operation, and each API call inside with its latency; one
//! track for the run's phases (evaluate, plan, apply).
//!
//! Off unless asked: every hook is one atomic load when off. The recorder is
//! process-wide (as a tracing dispatcher is) because API calls are timed deep
//! in the providers; which node a call belongs to travels with the task
//! ([`in_track`]), not through every signature.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The track of the run's phases.
pub const RUN_TRACK: &str = "(run)";

static ON: AtomicBool = AtomicBool::new(false);
static TRACE: OnceLock<Trace> = OnceLock::new();

tokio::task_local! {
    static TRACK: String;
}

struct Trace {
    started: Instant,
    spans: Mutex<Vec<Span>>,
}

struct Span {
    track: String,
    name: String,
    category: &'static str,
    from: Instant,
    to: Instant,
    args: Value,
}

/// Start recording (`--timings`).
pub fn enable() {
    TRACE.get_or_init(|| Trace {
        started: Instant::now(),
        spans: Mutex::new(Vec::new()),
    });
    ON.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Record a span on `track` (a node's name, or [`RUN_TRACK`]).
pub fn span(
    track: &str,
    name: &str,
    category: &'static str,
    from: Instant,
    to: Instant,
    args: Value,
) {
    let Some(trace) = TRACE.get().filter(|_| enabled()) else {
        return;
    };
    if let Ok(mut spans) = trace.spans.lock() {
        spans.push(Span {
            track: track.to_owned(),
            name: name.to_owned(),
            category,
            from,
            to,
            args,
        });
    }
}

/// The track of the task running now: its node, else [`RUN_TRACK`].
pub fn current_track() -> String {
    TRACK
        .try_with(Clone::clone)
        .unwrap_or_else(|_| RUN_TRACK.to_owned())
}

/// Run `work` as node `node`'s: the calls it makes are drawn on its track.
pub fn in_track<F: Future>(node: &str, work: F) -> impl Future<Output = F::Output> + use<F> {
    let node = enabled().then(|| node.to_owned());
    async move {
        match node {
            Some(node) => TRACK.scope(node, work).await,
            None => work.await,
        }
    }
}

/// Time `work` as a span of the current track (an API call, a wait).
pub async fn timed<F: Future>(
    category: &'static str,
    name: impl FnOnce() -> String,
    work: F,
) -> F::Output {
    if !enabled() {
        return work.await;
    }
    let from = Instant::now();
    let out = work.await;
    span(
        &current_track(),
        &name(),
        category,
        from,
        Instant::now(),
        Value::Null,
    );
    out
}

/// Time a phase of the run (evaluate, plan, apply) on [`RUN_TRACK`].
pub async fn phase<F: Future>(name: &str, work: F) -> F::Output {
    if !enabled() {
        return work.await;
    }
    let from = Instant::now();
    let out = work.await;
    span(RUN_TRACK, name, "phase", from, Instant::now(), Value::Null);
    out
}

/// Sums by category, for the line `--timings` prints.
pub fn totals() -> BTreeMap<&'static str, (usize, Duration)> {
    let mut totals = BTreeMap::new();
    if let Some(trace) = TRACE.get()
        && let Ok(spans) = trace.spans.lock()
    {
        for s in spans.iter() {
            let entry = totals.entry(s.category).or_insert((0, Duration::ZERO));
            entry.0 += 1;
            entry.1 += s.to.saturating_duration_since(s.from);
        }
    }
    totals
}

/// The trace as Chrome trace-event JSON: complete events (`ph: X`, µs), one
/// thread per track named after it, the run's track first.
pub fn to_json() -> Value {
    let Some(trace) = TRACE.get() else {
        return json!({"traceEvents": []});
    };
    // A recorder that panicked mid-push still holds whole spans.
    let spans = trace.spans.lock().unwrap_or_else(|e| e.into_inner());
    let mut tracks: BTreeMap<&str, usize> = BTreeMap::new();
    tracks.insert(RUN_TRACK, 0);
    // Tracks in the order their first span starts: the apply reads top down.
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|s| s.from);
    for s in order {
        let next = tracks.len();
        tracks.entry(s.track.as_str()).or_insert(next);
    }
    let micros = |at: Instant| at.saturating_duration_since(trace.started).as_secs_f64() * 1e6;
    let mut events: Vec<Value> = tracks
        .iter()
        .flat_map(|(name, tid)| {
            [
                json!({"ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": name}}),
                json!({"ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index", "args": {"sort_index": tid}}),
            ]
        })
        .collect();
    events
        .push(json!({"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "blueprint"}}));
    for s in spans.iter() {
        let mut event = json!({
            "ph": "X",
            "pid": 1,
            "tid": tracks[s.track.as_str()],
            "name": s.name,
            "cat": s.category,
            "ts": micros(s.from),
            "dur": micros(s.to) - micros(s.from),
        });
        if !s.args.is_null() {
            event["args"] = s.args.clone();
        }
        events.push(event);
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

/// Write the trace to `path`, readable by its owner only (node names and API
/// paths are in it; ids are shown as `{id}`, never a key).
pub fn write(path: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut bytes = serde_json::to_vec(&to_json())?;
    bytes.push(b'\n');
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(&bytes)
}

/// A URL path as a shape: every segment holding a digit or a capital (a
/// PagerDuty id such as `PEHXWYU`, an integration key) becomes `{id}`; API
/// names (`services`, `escalation_policies`) are lowercase words. A trace
/// never carries a key.
pub fn path_shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    path.split('/')
        .map(|segment| {
            if segment
                .bytes()
                .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_shape_and_lose_their_ids() {
        assert_eq!(
            path_shape("/services/PX1Y2Z3/integrations/P0AB12C"),
            "/services/{id}/integrations/{id}"
        );
        assert_eq!(
            path_shape("/integration/0123456789abcdef0123456789abcdef/enqueue"),
            "/integration/{id}/enqueue"
        );
        assert_eq!(path_shape("/schedules?query=x1"), "/schedules");
        assert_eq!(
            path_shape("/service_dependencies/business_services/PEHXWYU"),
            "/service_dependencies/business_services/{id}"
        );
    }

    #[tokio::test]
    async fn spans_land_on_their_nodes_track_as_chrome_trace_events() {
        enable();
        in_track(
            "alice",
            timed("api", || "PagerDuty POST /users".into(), async {}),
        )
        .await;
        phase("plan", async {}).await;
        let trace = to_json();
        let events = trace["traceEvents"].as_array().unwrap();
        let tid_of = |name: &str| {
            events
                .iter()
                .find(|e| e["name"] == "thread_name" && e["args"]["name"] == name)
                .map(|e| e["tid"].clone())
                .unwrap()
        };
        let call = events
            .iter()
            .find(|e| e["name"] == "PagerDuty POST /users")
            .unwrap();
        assert_eq!(call["ph"], "X");
        assert_eq!(call["cat"], "api");
        assert_eq!(call["tid"], tid_of("alice"));
        let plan = events.iter().find(|e| e["name"] == "plan").unwrap();
        assert_eq!(plan["tid"], tid_of(RUN_TRACK));
        assert!(totals()["api"].0 >= 1);
    }
}
