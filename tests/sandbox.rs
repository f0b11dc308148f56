//! The sandbox against real hostile guests: each misbehaviour ends in its own
//! error class with a one-line message naming the guest — never a hang, never a
//! host crash — and the guest sees no filesystem, network, environment or clock.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use blueprint::runtime::{GuestError, GuestErrorKind, Runtime};
use serde_json::{Value, json};

/// Run the hostile guest in `mode`; the graph or the error.
async fn hostile(runtime: &Runtime, mode: &str) -> Result<blueprint::graph::Graph, GuestError> {
    let guest = runtime.load(&support::guest("hostile-guest"))?;
    let instance = runtime.instantiate(&guest, &support::root()).await?;
    instance.run(&json!({ "mode": mode })).await
}

fn expect_error(
    result: Result<blueprint::graph::Graph, GuestError>,
    kind: GuestErrorKind,
) -> GuestError {
    let error = result
        .err()
        .unwrap_or_else(|| panic!("expected {kind:?}, the guest succeeded"));
    assert_eq!(error.kind, kind, "{error}");
    let text = error.to_string();
    assert!(text.starts_with("guest 'hostile_guest' "), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    error
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_loop_times_out() {
    let runtime = support::runtime();
    let started = Instant::now();
    let e = expect_error(hostile(&runtime, "loop").await, GuestErrorKind::Timeout);
    assert!(e.message.contains("ran out of time"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// The sandbox does not depend on the compiler: under Winch (the default on
/// x86_64) and Cranelift (other architectures, `BLUEPRINT_COMPILER=cranelift`)
/// alike, a loop runs out of time, a memory bomb hits the limit, a stack
/// overflow and a panic are traps.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_guests_are_held_under_both_compilers() {
    use blueprint::runtime::{Compiler, Runtime};
    for compiler in [Compiler::Winch, Compiler::Cranelift] {
        let limits = blueprint::runtime::Limits {
            memory_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(1),
            ..Default::default()
        };
        let cache = support::root().join("target/test-wasm-cache");
        let runtime = Runtime::with_compiler(
            blueprint::providers::catalog(),
            limits,
            Some(&cache),
            compiler,
        )
        .unwrap();
        let started = Instant::now();
        let e = expect_error(hostile(&runtime, "loop").await, GuestErrorKind::Timeout);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{compiler:?}: {e}"
        );
        let e = expect_error(
            hostile(&runtime, "memory").await,
            GuestErrorKind::OutOfMemory,
        );
        assert!(e.message.contains("limit 64 MiB"), "{compiler:?}: {e}");
        let e = expect_error(hostile(&runtime, "stack").await, GuestErrorKind::Trap);
        assert!(
            e.message.to_lowercase().contains("stack"),
            "{compiler:?}: {e}"
        );
        expect_error(hostile(&runtime, "panic").await, GuestErrorKind::Trap);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn blocking_sleep_times_out() {
    let runtime = support::runtime();
    let started = Instant::now();
    expect_error(hostile(&runtime, "sleep").await, GuestErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_bomb_hits_the_limit() {
    let runtime = support::runtime();
    let e = expect_error(
        hostile(&runtime, "memory").await,
        GuestErrorKind::OutOfMemory,
    );
    assert!(
        e.message.contains("ran out of memory (limit 64 MiB)"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn panic_reports_the_message() {
    let runtime = support::runtime();
    let e = expect_error(hostile(&runtime, "panic").await, GuestErrorKind::Trap);
    assert!(
        e.message.contains("panicked: the guest gave up on purpose"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_overflow_is_a_trap() {
    let runtime = support::runtime();
    let e = expect_error(hostile(&runtime, "stack").await, GuestErrorKind::Trap);
    assert!(e.message.to_lowercase().contains("stack"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_error_is_passed_on() {
    let runtime = support::runtime();
    let e = expect_error(hostile(&runtime, "error").await, GuestErrorKind::Failed);
    assert!(e.message.contains("the guest refused on purpose"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn runaway_declarations_are_stopped() {
    let runtime = support::runtime_with(blueprint::runtime::Limits {
        memory_bytes: 256 * 1024 * 1024,
        timeout: Duration::from_secs(20),
        ..Default::default()
    });
    expect_error(
        hostile(&runtime, "many-nodes").await,
        GuestErrorKind::TooManyNodes,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_flood_is_bounded_and_harmless() {
    let runtime = support::runtime();
    let graph = hostile(&runtime, "log-flood").await.unwrap();
    assert_eq!(graph.nodes().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn host_keeps_working_after_guests_fail() {
    let runtime = support::runtime();
    for mode in ["loop", "memory", "panic", "stack"] {
        assert!(hostile(&runtime, mode).await.is_err());
    }
    let graph = hostile(&runtime, "ok").await.unwrap();
    assert_eq!(graph.nodes().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_gets_no_ambient_authority() {
    let runtime = support::runtime();
    let graph = hostile(&runtime, "probe").await.unwrap();
    let node = graph.node("probe").unwrap();
    let report: Value = serde_json::from_str(node.props["description"].as_str().unwrap()).unwrap();
    assert_eq!(report["env"], 0, "{report}");
    assert_eq!(report["args"], 0, "{report}");
    assert!(
        report["fs"].as_str().unwrap().starts_with("denied"),
        "{report}"
    );
    assert!(
        report["dir"].as_str().unwrap().starts_with("Err"),
        "{report}"
    );
    assert_eq!(
        report["now"], 0,
        "the clock must be frozen at the epoch: {report}"
    );
    assert!(
        report["net"].as_str().unwrap().starts_with("Err"),
        "{report}"
    );
    let escape = report["asset_escape"].as_str().unwrap();
    assert!(
        escape.starts_with("Err") && escape.contains("stay inside"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_wit_version_is_refused_by_name() {
    let runtime = support::runtime();
    let e = runtime
        .load(&support::guest("future-wit-guest"))
        .err()
        .expect("refused");
    assert_eq!(
        e.kind,
        GuestErrorKind::IncompatibleVersion {
            wanted: "0.9.0".into()
        },
        "{e}"
    );
    // Names the guest's version and every version this host runs.
    let text = e.to_string();
    assert!(
        text.contains("blueprint:cloud@0.9.0")
            && text.contains("blueprint:cloud@0.1.0")
            && text.contains("blueprint:cloud@0.2.0"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_world_is_refused() {
    let runtime = support::runtime();
    let path = support::root().join("target/wasm32-wasip2/guest/not-a-blueprint.wasm");
    assert!(
        path.exists(),
        "{} missing: run scripts/build-guests",
        path.display()
    );
    let e = runtime.load(&path).err().expect("refused");
    assert_eq!(e.kind, GuestErrorKind::NotABlueprint, "{e}");
    assert!(
        e.to_string().contains(&format!(
            "blueprint:cloud/blueprint@{}",
            blueprint::runtime::WIT_VERSION
        )),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn files_that_are_not_components_are_refused() {
    let runtime = support::runtime();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], GuestErrorKind); 3] = [
        (
            "core.wasm",
            b"\0asm\x01\0\0\0",
            GuestErrorKind::NotAComponent,
        ),
        ("text.wasm", b"hello", GuestErrorKind::NotAComponent),
        (
            "cut.wasm",
            b"\0asm\x0d\0\x01\0\x01",
            GuestErrorKind::NotAComponent,
        ),
    ];
    for (name, bytes, kind) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = runtime.load(&path).err().expect("refused");
        assert_eq!(e.kind, kind, "{name}: {e}");
    }
    let e = runtime
        .load(Path::new("/nonexistent/guest.wasm"))
        .err()
        .expect("refused");
    assert_eq!(e.kind, GuestErrorKind::Unreadable, "{e}");
}

// ---- The same checks against the policy world (wit/policy/) -----------------

/// Run the hostile policy over a one-node graph; the blueprint's name is its mode.
async fn hostile_policy(
    runtime: &Runtime,
    mode: &str,
) -> Result<Vec<blueprint::check::policy::WitFinding>, GuestError> {
    use blueprint::check::policy::PolicyRuntime;
    let policies = PolicyRuntime::new(runtime).unwrap();
    let policy = policies.load(&support::guest("hostile-policy"))?;
    let mut instance = policies.instantiate(&policy).await?;
    let mut graph = blueprint::graph::Graph::default();
    graph.declare(
        "pagerduty.team",
        "a",
        json!({"name": "a"}).as_object().unwrap().clone(),
    );
    instance.check(mode, &graph).await
}

fn expect_policy_error(
    result: Result<Vec<blueprint::check::policy::WitFinding>, GuestError>,
    kind: GuestErrorKind,
) -> GuestError {
    let error = result
        .err()
        .unwrap_or_else(|| panic!("expected {kind:?}, the policy succeeded"));
    assert_eq!(error.kind, kind, "{error}");
    let text = error.to_string();
    assert!(text.starts_with("guest 'hostile_policy' "), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    error
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_endless_loop_times_out() {
    let runtime = support::runtime();
    let started = Instant::now();
    let e = expect_policy_error(
        hostile_policy(&runtime, "loop").await,
        GuestErrorKind::Timeout,
    );
    assert!(e.message.contains("ran out of time (limit 1.0 s)"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_blocking_sleep_times_out() {
    let runtime = support::runtime();
    let started = Instant::now();
    expect_policy_error(
        hostile_policy(&runtime, "sleep").await,
        GuestErrorKind::Timeout,
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_memory_bomb_hits_the_limit() {
    let runtime = support::runtime();
    let e = expect_policy_error(
        hostile_policy(&runtime, "memory").await,
        GuestErrorKind::OutOfMemory,
    );
    assert!(
        e.message.contains("ran out of memory (limit 64 MiB)"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_panic_is_a_trap_with_its_message() {
    let runtime = support::runtime();
    let e = expect_policy_error(
        hostile_policy(&runtime, "panic").await,
        GuestErrorKind::Trap,
    );
    assert!(
        e.message
            .contains("panicked: the policy gave up on purpose"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_error_is_passed_on_and_the_host_keeps_working() {
    let runtime = support::runtime();
    let e = expect_policy_error(
        hostile_policy(&runtime, "error").await,
        GuestErrorKind::Failed,
    );
    assert!(e.message.contains("the policy refused on purpose"), "{e}");
    for mode in ["loop", "memory", "panic"] {
        assert!(hostile_policy(&runtime, mode).await.is_err());
    }
    assert!(hostile_policy(&runtime, "fine").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_gets_no_ambient_authority() {
    let runtime = support::runtime();
    let findings = hostile_policy(&runtime, "env").await.unwrap();
    assert_eq!(findings[0].message, "env=0 files=0 now=0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blueprint_guest_is_not_a_policy_and_back() {
    use blueprint::check::policy::PolicyRuntime;
    let runtime = support::runtime();
    let policies = PolicyRuntime::new(&runtime).unwrap();
    let e = policies
        .load(&support::guest("lambda-error-pagerduty"))
        .err()
        .expect("refused");
    assert_eq!(e.kind, GuestErrorKind::NotABlueprint, "{e}");
    assert!(e.to_string().contains("is not a policy"), "{e}");
    let e = runtime
        .load(&support::guest("hostile-policy"))
        .err()
        .expect("refused");
    assert_eq!(e.kind, GuestErrorKind::NotABlueprint, "{e}");
}

// ----- Host budgets (issue 14): what the host does for a guest is bounded -----

/// The hostile guest in `mode` with `count`/`size`/`path` params.
async fn hostile_with(
    runtime: &Runtime,
    params: Value,
    root: &Path,
) -> Result<blueprint::graph::Graph, GuestError> {
    let guest = runtime.load(&support::guest("hostile-guest"))?;
    let instance = runtime.instantiate(&guest, root).await?;
    instance.run(&params).await
}

fn budgets(f: impl FnOnce(&mut blueprint::runtime::Limits)) -> Runtime {
    let mut limits = blueprint::runtime::Limits {
        memory_bytes: 64 * 1024 * 1024,
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    f(&mut limits);
    support::runtime_with(limits)
}

async fn over_budget(runtime: &Runtime, params: Value, budget: &str, flag: &str) {
    let e = expect_error(
        hostile_with(runtime, params, &support::root()).await,
        GuestErrorKind::OverBudget,
    );
    assert!(
        e.message.contains(&format!("host budget for {budget}")) && e.message.contains(flag),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_longest_string_budget_stops_a_guest() {
    let runtime = budgets(|_| {});
    // One byte over the default 256 KiB.
    let size = blueprint::runtime::Limits::default().max_string_bytes + 1;
    over_budget(
        &runtime,
        json!({"mode": "long-string", "size": size}),
        "the longest string",
        "--guest-max-string",
    )
    .await;
    // At the budget it is fine.
    let graph = hostile_with(
        &runtime,
        json!({"mode": "long-string", "size": size - 1}),
        &support::root(),
    )
    .await
    .unwrap();
    assert_eq!(graph.nodes().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prop_bytes_budget_stops_a_guest() {
    let runtime = budgets(|l| l.max_prop_bytes = 1024 * 1024);
    over_budget(
        &runtime,
        json!({"mode": "prop-bytes", "count": 100, "size": 20_000}),
        "prop bytes",
        "--guest-max-prop-bytes",
    )
    .await;
    let graph = hostile_with(
        &runtime,
        json!({"mode": "prop-bytes", "count": 40, "size": 20_000}),
        &support::root(),
    )
    .await
    .unwrap();
    assert_eq!(graph.nodes().len(), 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_and_edge_budgets_stop_a_guest() {
    // 200 teams naming up to 200 before them: ~20,000 references.
    let runtime = budgets(|l| l.max_references = 5_000);
    over_budget(
        &runtime,
        json!({"mode": "ref-web", "count": 200, "size": 200}),
        "references",
        "--guest-max-references",
    )
    .await;
    // 100 teams naming every team before them: ~5,000 distinct edges.
    let runtime = budgets(|l| l.max_edges = 1_000);
    over_budget(
        &runtime,
        json!({"mode": "ref-web", "count": 100, "size": 100}),
        "edges",
        "--guest-max-edges",
    )
    .await;
}

/// The worst web of references the default budgets let through is declared and
/// validated well inside the default time limit (it used to be quadratic).
#[tokio::test(flavor = "multi_thread")]
async fn the_largest_allowed_reference_web_validates_quickly() {
    let runtime = budgets(|_| {});
    let started = Instant::now();
    // 1,000 teams each naming the 45 before it: ~45,000 edges and references,
    // just under the default budgets.
    let graph = hostile_with(
        &runtime,
        json!({"mode": "ref-web", "count": 1000, "size": 45}),
        &support::root(),
    )
    .await
    .unwrap();
    assert_eq!(graph.nodes().len(), 1000);
    let edges = graph.edges().len();
    assert!(edges > 40_000, "{edges}");
    blueprint::graph::validate::validate(&graph, blueprint::providers::catalog()).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

/// A named pipe beside the blueprint: refused by type, never opened (a read
/// would block forever), and the guest is shown the path relative to the
/// blueprint folder only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_asset_is_refused_without_blocking() {
    let runtime = support::runtime();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("code")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("code/pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let started = Instant::now();
    for path in ["code/pipe", "code"] {
        let e = expect_error(
            hostile_with(&runtime, json!({"mode": "asset", "path": path}), dir.path()).await,
            GuestErrorKind::Failed,
        );
        assert!(e.message.contains("is a named pipe"), "{e}");
        let root = dir.path().canonicalize().unwrap();
        assert!(
            !e.message.contains(root.to_str().unwrap()) && !e.message.contains("/tmp"),
            "an absolute path was shown to the guest: {e}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A 100 MB log line is cut, never written whole (the guest gets the memory
/// to build it).
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_log_line_is_harmless() {
    let runtime = support::runtime_with(blueprint::runtime::Limits {
        memory_bytes: 256 * 1024 * 1024,
        timeout: Duration::from_secs(20),
        ..Default::default()
    });
    let graph = hostile_with(
        &runtime,
        json!({"mode": "long-log", "size": 100 * 1024 * 1024}),
        &support::root(),
    )
    .await
    .unwrap();
    assert!(graph.nodes().is_empty());
}

/// Random declarations through the escape hatch (names with controls, bidi
/// characters and token delimiters, forged tokens, wrong types, unknown kinds):
/// for a few seconds, each ends in a graph or a one-line error, validation
/// never panics, and no problem prints a raw control character.
#[tokio::test(flavor = "multi_thread")]
async fn fuzzed_declarations_never_panic_and_print_safely() {
    let runtime = budgets(|l| l.timeout = Duration::from_secs(2));
    let started = Instant::now();
    let mut seeds = 0;
    while started.elapsed() < Duration::from_secs(4) || seeds < 3 {
        let call = Instant::now();
        let outcome = hostile_with(
            &runtime,
            json!({"mode": "fuzz", "count": seeds, "size": 300}),
            &support::root(),
        )
        .await;
        assert!(
            call.elapsed() < Duration::from_secs(4),
            "seed {seeds} took {:?}",
            call.elapsed()
        );
        match outcome {
            Ok(graph) => {
                if let Err(invalid) =
                    blueprint::graph::validate::validate(&graph, blueprint::providers::catalog())
                {
                    let text = invalid.to_string();
                    assert!(
                        !text
                            .chars()
                            .any(|c| c != '\n' && blueprint::text::is_unsafe(c)),
                        "seed {seeds}: {text:?}"
                    );
                }
            }
            Err(e) => {
                let text = e.to_string();
                assert!(!text.contains('\n'), "seed {seeds}: {text}");
            }
        }
        seeds += 1;
    }
    eprintln!("{seeds} fuzzed guests");
}

/// A guest looping over invalid declarations is stopped at MAX_PROBLEMS: the
/// problems the host holds for it are bounded too.
#[tokio::test(flavor = "multi_thread")]
async fn endless_invalid_declarations_are_stopped() {
    let runtime = budgets(|_| {});
    let e = expect_error(
        hostile_with(&runtime, json!({"mode": "bad-name-loop"}), &support::root()).await,
        GuestErrorKind::OverBudget,
    );
    assert!(
        e.message.contains("invalid declarations (1000 problems"),
        "{e}"
    );
}
