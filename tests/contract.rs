//! The contract: every request the provider sends while the seed is applied,
//! changed and destroyed — and every response the emulator gives — validates
//! against PagerDuty's published OpenAPI document (../shared/pagerduty-api).
//! A shape the real API would reject fails this test.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use pagerduty_emulator::Config;
use support::moto::Moto;

/// Run validate.py over a record of exchanges: (every exchange valid, report).
pub(crate) fn validate(record: &Path) -> (bool, String) {
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

    // The drill: incidents, on-calls, the incident's log, the assignee's contact
    // methods and notification rules.
    apply(vec!["drill", seed, "--from", "topic"]).await;
    // What `blueprint oncall` is held to: a rendered schedule and ranged on-calls.
    let schedule =
        emulator.with_db(|db| db.list("schedules")[0]["id"].as_str().unwrap().to_owned());
    for path in [
        format!("/schedules/{schedule}?since=2026-12-05T00:00:00Z&until=2026-12-06T00:00:00Z"),
        "/oncalls?since=2026-12-05T00:00:00Z&until=2026-12-05T06:00:00Z".to_owned(),
    ] {
        let response = http
            .get(format!("{}{path}", emulator.base_url()))
            .header(
                "Authorization",
                format!("Token token={}", support::pagerduty::TOKEN),
            )
            .header("Accept", "application/vnd.pagerduty+json;version=2")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }

    apply(vec!["destroy", seed, "--yes"]).await;
    let recorded = std::fs::read_to_string(&record).unwrap();
    for path in [
        "/log_entries",
        "/contact_methods",
        "/notification_rules",
        "final_schedule",
    ] {
        assert!(recorded.contains(path), "{path} was not recorded");
    }
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

/// Strict mode's answers — its refusals (duplicate names, a member still on a
/// policy, a team with associations, a schedule or policy in use), the 500 for
/// an overlapping association, ended and reordered schedule layers — and the
/// 500 of an ambiguous failure keep to the document too; statuses it omits for
/// an operation are held to its generic error shape (validate.py,
/// UNDOCUMENTED_STATUS).
#[tokio::test(flavor = "multi_thread")]
async fn strict_answers_keep_to_the_openapi_document() {
    use serde_json::{Value, json};
    let dir = tempfile::tempdir().unwrap();
    let record: PathBuf = dir.path().join("strict.jsonl");
    let strict = support::pagerduty::emulator(Config {
        record: Some(record.clone()),
        // Makes the association in flight long enough to overlap.
        latency: std::time::Duration::from_millis(150),
        ..Config::strict()
    })
    .await;
    let http = reqwest::Client::new();
    let send = |base: String, method: reqwest::Method, path: String, body: Option<Value>| {
        let http = http.clone();
        async move {
            let mut request = http
                .request(method, format!("{base}{path}"))
                .header(
                    "Authorization",
                    format!("Token token={}", support::pagerduty::TOKEN),
                )
                .header("Accept", "application/vnd.pagerduty+json;version=2")
                .header("Content-Type", "application/json");
            if let Some(body) = body {
                request = request.body(body.to_string());
            }
            let response = request.send().await.ok()?;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            Some((status, body))
        }
    };
    let base = strict.base_url();
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        send(base.clone(), method, path, body)
    };
    let post = |path: &str, body: Value| call(reqwest::Method::POST, path.to_owned(), Some(body));
    let id = |answer: Option<(u16, Value)>| {
        let (status, body) = answer.unwrap();
        assert!(status < 300, "{status} {body}");
        body.as_object().unwrap().values().next().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, users) = call(reqwest::Method::GET, "/users".into(), None)
        .await
        .unwrap();
    let user = users["users"][0]["id"].as_str().unwrap().to_owned();
    let other = users["users"][1]["id"].as_str().unwrap().to_owned();

    let team_body = json!({"team": {"type": "team", "name": "contract-team"}});
    let team = id(post("/teams", team_body.clone()).await);
    let (status, _) = call(
        reqwest::Method::PUT,
        format!("/teams/{team}/users/{user}"),
        Some(json!({"role": "responder"})),
    )
    .await
    .unwrap();
    assert_eq!(status, 204);
    let layer = |name: &str, who: &str| {
        json!({"name": name, "start": "2024-01-01T00:00:00Z", "rotation_virtual_start": "2024-01-01T00:00:00Z",
               "rotation_turn_length_seconds": 3600, "users": [{"user": {"id": who, "type": "user_reference"}}]})
    };
    let schedule = id(post(
        "/schedules",
        json!({"schedule": {"type": "schedule", "name": "contract", "time_zone": "Asia/Tokyo",
            "schedule_layers": [layer("first", &user), layer("second", &other)]}}),
    )
    .await);
    let policy_body = json!({"escalation_policy": {"type": "escalation_policy", "name": "contract-policy",
        "teams": [{"id": team, "type": "team_reference"}],
        "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": [
            {"id": user, "type": "user_reference"}, {"id": schedule, "type": "schedule_reference"}]}]}});
    let policy = id(post("/escalation_policies", policy_body.clone()).await);
    let service_body = json!({"service": {"type": "service", "name": "contract-service",
        "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}});
    let service = id(post("/services", service_body.clone()).await);
    let other_service = id(post(
        "/services",
        json!({"service": {"type": "service", "name": "contract-service-2",
            "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}}),
    )
    .await);
    let business_body = json!({"business_service": {"name": "contract-business"}});
    let business = id(post("/business_services", business_body.clone()).await);

    // Duplicate names.
    for (path, body) in [
        ("/teams", team_body),
        ("/escalation_policies", policy_body),
        ("/services", service_body),
        ("/business_services", business_body),
    ] {
        let (status, body) = post(path, body).await.unwrap();
        assert_eq!(status, 400, "{path}: {body}");
    }
    // Still in use.
    for path in [
        format!("/teams/{team}/users/{user}"),
        format!("/teams/{team}"),
        format!("/schedules/{schedule}"),
        format!("/escalation_policies/{policy}"),
    ] {
        let (status, body) = call(reqwest::Method::DELETE, path.clone(), None)
            .await
            .unwrap();
        assert_eq!(status, 400, "{path}: {body}");
    }
    // Overlapping associations.
    let associate = |supporting: String| {
        post(
            "/service_dependencies/associate",
            json!({"relationships": [{
                "supporting_service": {"id": supporting, "type": "service"},
                "dependent_service": {"id": business, "type": "business_service"}}]}),
        )
    };
    let (a, b) = tokio::join!(associate(service.clone()), associate(other_service));
    let mut statuses = [a.unwrap().0, b.unwrap().0];
    statuses.sort();
    assert_eq!(statuses, [200, 500]);
    // Layers: reversed, a past start moved to now, a left-out layer ended.
    let (_, read) = call(reqwest::Method::GET, format!("/schedules/{schedule}"), None)
        .await
        .unwrap();
    let kept = read["schedule"]["schedule_layers"][1].clone();
    assert_eq!(kept["name"], "first");
    let (status, updated) = call(
        reqwest::Method::PUT,
        format!("/schedules/{schedule}"),
        Some(
            json!({"schedule": {"type": "schedule", "name": "contract", "time_zone": "Asia/Tokyo",
            "schedule_layers": [kept]}}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{updated}");
    assert!(updated["schedule"]["schedule_layers"][1]["end"].is_string());

    // Ambiguous failures: carried out, answered 500 (or cut off, unrecorded).
    let ambiguous = support::pagerduty::emulator(Config {
        record: Some(record.clone()),
        ambiguous_rate: 1.0,
        ..Config::default()
    })
    .await;
    let mut answered_500 = 0;
    for i in 0..8 {
        if let Some((status, _)) = send(
            ambiguous.base_url(),
            reqwest::Method::POST,
            "/teams".into(),
            Some(json!({"team": {"type": "team", "name": format!("ambiguous-{i}")}})),
        )
        .await
        {
            assert_eq!(status, 500);
            answered_500 += 1;
        }
    }
    assert!(answered_500 > 0);
    assert_eq!(ambiguous.with_db(|db| db.list("teams").len()), 8);

    let recorded = std::fs::read_to_string(&record).unwrap();
    assert!(
        recorded.contains("\"code\":6006"),
        "the team refusal was recorded"
    );
    let (ok, report) = validate(&record);
    assert!(ok, "contract violations:\n{report}");
    assert!(
        report.contains("with a status the document omits"),
        "{report}"
    );
}
