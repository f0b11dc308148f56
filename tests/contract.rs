//! The contract: every request the provider sends while the seed is applied,
//! changed and destroyed — and every response the emulator gives — validates
//! against PagerDuty's published OpenAPI document (../shared/pagerduty-api).
//! A shape the real API would reject fails this test.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pagerduty_emulator::Config;
use support::moto::Moto;

fn validate(record: &Path) -> (bool, String) {
    let python = support::root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    let spec = support::root().join("../shared/pagerduty-api");
    assert!(
        spec.join("rest-openapiv3.json").exists(),
        "PagerDuty's OpenAPI documents are missing from {}",
        spec.display()
    );
    let out = Command::new(python)
        .arg(support::root().join("tests/contract/validate.py"))
        .arg(record)
        .arg(spec)
        .output()
        .expect("the validator runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_and_emulator_keep_to_the_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let record: PathBuf = dir.path().join("exchanges.jsonl");
    let moto = Moto::start();
    let emulator = support::pagerduty::emulator(Config {
        record: Some(record.clone()),
        ..Config::default()
    })
    .await;
    let state = dir.path().join("state.json");
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_blueprint"));
        command
            .args(args)
            .arg("--state")
            .arg(&state)
            .current_dir(support::root())
            .env(
                "BLUEPRINT_CACHE_DIR",
                support::root().join("target/test-wasm-cache"),
            )
            .env("PAGERDUTY_TOKEN", support::pagerduty::TOKEN)
            .env("PAGERDUTY_API_URL", emulator.base_url())
            .env("PAGERDUTY_EVENTS_URL", emulator.base_url())
            .stdin(Stdio::null());
        for (k, v) in moto.env() {
            command.env(k, v);
        }
        command
    };
    let seed = "blueprints/lambda-error-pagerduty.toml";
    let apply = |args: Vec<&'static str>| {
        let mut command = run(&args);
        async move {
            let out = tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    apply(vec!["run", seed, "--yes"]).await;
    apply(vec![
        "run",
        seed,
        "--yes",
        "--set",
        "schedule.rotation_turn_length_seconds=7200",
        "--set",
        "escalation.delay_minutes=15",
    ])
    .await;

    // Events API v2 on the integration the blueprint made: a trigger, a resolve,
    // and an event PagerDuty would refuse (its 400 body must still be PagerDuty's).
    let key = emulator.with_db(|db| db.integrations.values().next().unwrap().key.clone());
    let http = reqwest::Client::new();
    for (event, status) in [
        (
            serde_json::json!({"routing_key": key, "event_action": "trigger", "dedup_key": "c1",
                "payload": {"summary": "ERROR in error-function", "source": "contract", "severity": "error"}}),
            202,
        ),
        (
            serde_json::json!({"routing_key": key, "event_action": "resolve", "dedup_key": "c1"}),
            202,
        ),
        (
            serde_json::json!({"routing_key": key, "event_action": "trigger", "payload": {"summary": "x"}}),
            400,
        ),
    ] {
        let response = http
            .post(format!("{}/v2/enqueue", emulator.base_url()))
            .header("content-type", "application/json")
            .body(event.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{event}");
    }

    apply(vec!["destroy", seed, "--yes"]).await;
    let recorded = std::fs::read_to_string(&record).unwrap();
    assert_eq!(
        recorded.matches("\"/v2/enqueue\"").count(),
        3,
        "the events were recorded"
    );
    let lines = recorded.lines().count();
    assert!(lines > 30, "only {lines} exchanges recorded");
    let (ok, report) = validate(&record);
    assert!(ok, "contract violations:\n{report}");

    // The check itself can fail: a body the real API rejects is reported.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        r#"{"method":"POST","path":"/teams","query":"","request_headers":{"content-type":"application/json"},"request_body":{"team":{"nam":"x"}},"status":201,"response_body":{"team":{"id":"PABC123","name":"x"}}}"#,
    )
    .unwrap();
    let (ok, report) = validate(&bad);
    assert!(
        !ok,
        "a body missing the team's name must be rejected:\n{report}"
    );
    assert!(report.contains("request POST /teams"), "{report}");
}
