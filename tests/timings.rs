//! `--timings FILE`: a run writes a Chrome trace-event file in which every node
//! of the seed has its track, its operation, and the API calls it made; the
//! file is private and holds no secret.

use crate::support;

use serde_json::Value;
use support::world::{SEED, World, text};

#[tokio::test(flavor = "multi_thread")]
async fn a_run_writes_a_trace_of_every_node_and_its_calls() {
    let w = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let trace_arg = trace.to_str().unwrap();
    let out = w
        .blueprint(&["run", SEED, "--yes", "--timings", trace_arg])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Timings: ") && text(&out).contains("trace written to"),
        "{}",
        text(&out)
    );
    let bytes = std::fs::read_to_string(&trace).unwrap();
    let key = w.pd()["integrations"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!bytes.contains(&key), "an integration key in the trace");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&trace).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let trace: Value = serde_json::from_str(&bytes).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let track = |name: &str| {
        events
            .iter()
            .find(|e| e["name"] == "thread_name" && e["args"]["name"] == name)
            .map(|e| e["tid"].clone())
    };
    let on = |tid: &Value, category: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == "X" && &e["tid"] == tid && e["cat"] == category)
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    for phase in ["evaluate the guest", "plan", "apply"] {
        assert!(
            on(&track("(run)").unwrap(), "phase").contains(&phase.to_owned()),
            "{phase}"
        );
    }
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&w.state).unwrap()).unwrap();
    let managed: Vec<(String, String)> = state["resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, e)| {
            !blueprint::run::catalog()
                .lookup(e["kind"].as_str().unwrap())
                .unwrap()
                .lookup
        })
        .map(|(n, e)| (n.clone(), e["kind"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(managed.len(), 19);
    for (node, kind) in &managed {
        let tid = track(node).unwrap_or_else(|| panic!("no track for {node}"));
        assert_eq!(on(&tid, "operation"), ["create"], "{node}");
        let calls = on(&tid, "api");
        let cloud = if kind.starts_with("aws.") {
            "AWS "
        } else {
            "PagerDuty "
        };
        assert!(
            !calls.is_empty() && calls.iter().all(|c| c.starts_with(cloud)),
            "{node}: {calls:?}"
        );
        assert!(
            on(&tid, "wait").contains(&"waiting for dependencies".to_owned()),
            "{node}"
        );
    }
    // Ids are shapes: PagerDuty paths never carry an id or a key.
    let service = track("lambda-error-integration").unwrap();
    assert!(
        on(&service, "api")
            .iter()
            .any(|c| c == "PagerDuty POST /services/{id}/integrations"),
        "{:?}",
        on(&service, "api")
    );
}
