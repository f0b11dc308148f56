//! Saved plans (`plan --out`, `run PLAN`, `show PLAN`): the plan a team reviewed
//! is the plan applied. Applied later, a saved plan changes exactly what it
//! showed; one made stale — by another run, by a change made by hand to a live
//! object it would touch, by an edited blueprint file — is refused with nothing
//! written; the file holds no secret and is private to its owner.

use crate::support;

use serde_json::Value;
use support::world::{SEED, World, text};

const ROTATION: &str = "schedule.rotation_turn_length_seconds=7200";

fn plan_file(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_what_it_showed_and_a_stale_one_is_refused() {
    let w = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let key = w.pd()["integrations"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // Two plans of one change, made from the same state.
    let (first, second) = (
        plan_file(&dir, "first.plan"),
        plan_file(&dir, "second.plan"),
    );
    for file in [&first, &second] {
        let out = w
            .blueprint(&["plan", SEED, "--set", ROTATION, "--out", file])
            .await;
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("Saved this plan to"), "{}", text(&out));
    }
    let saved = std::fs::read_to_string(&first).unwrap();
    assert!(!saved.contains(&key), "an integration key in the plan file");
    assert!(!saved.contains(support::pagerduty::TOKEN));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&first).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // `show` renders it as `plan` did, with no API call.
    let requests = w.emulator.request_count();
    let out = w.blueprint_without_state(&["show", &first]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("~ layers[0].rotation_turn_length_seconds: 3600 -> 7200")
            && text(&out).contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{}",
        text(&out)
    );
    let out = w.blueprint_without_state(&["show", &first, "--json"]).await;
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["format_version"], "1.0");
    assert_eq!(shown["summary"]["update"], 1);
    assert_eq!(shown["changes"][0]["node"], "schedule");
    assert!(
        shown["saved"]["made_from"]["state_serial"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        w.emulator.request_count(),
        requests,
        "show called PagerDuty"
    );

    // Applied: exactly the change it showed, without a prompt.
    let out = w.blueprint_without_state(&["run", &first]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Apply complete: 0 created, 1 updated, 0 deleted"),
        "{}",
        text(&out)
    );
    assert_eq!(
        schedule(&w)["schedule_layers"][0]["rotation_turn_length_seconds"],
        7200
    );

    // The second plan was made before that apply: refused, nothing written.
    let state = std::fs::read_to_string(&w.state).unwrap();
    let objects = w.pd()["objects"].clone();
    let out = w.blueprint_without_state(&["run", &second]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("nothing was changed: the saved plan")
            && text(&out).contains("is stale")
            && text(&out).contains("the state is at serial"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(&w.state).unwrap(), state);
    assert_eq!(w.pd()["objects"], objects, "a stale plan changed PagerDuty");
    // And the first one cannot be applied twice.
    let out = w.blueprint_without_state(&["run", &first]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // A live object changed by hand after the plan read it: refused.
    let back = plan_file(&dir, "back.plan");
    let out = w.blueprint(&["plan", SEED, "--out", &back]).await;
    assert!(out.status.success(), "{}", text(&out));
    let mut changed = schedule(&w);
    changed["time_zone"] = "Europe/Paris".into();
    put_schedule(&w, &changed).await;
    let out = w.blueprint_without_state(&["run", &back]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("schedule: the live object changed since the plan read it"),
        "{}",
        text(&out)
    );
    assert_eq!(schedule(&w)["time_zone"], "Europe/Paris");

    // An edited blueprint file: refused, naming it.
    let edited_dir = tempfile::tempdir().unwrap();
    let file = support::world::seed_copy(edited_dir.path(), "edited.toml", "");
    let edited = plan_file(&dir, "edited.plan");
    let out = w.blueprint(&["plan", &file, "--out", &edited]).await;
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(
        &file,
        std::fs::read_to_string(&file).unwrap()
            + "\n[lifecycle]\nprevent_destroy = [\"schedule\"]\n",
    )
    .unwrap();
    let out = w.blueprint_without_state(&["run", &edited]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the blueprint file was edited"),
        "{}",
        text(&out)
    );

    // A saved plan carries its own options.
    let out = w.blueprint(&["run", &back]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("is a saved plan"), "{}", text(&out));
}

fn schedule(w: &World) -> Value {
    w.pd()["objects"]["schedules"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone()
}

/// A change made by hand, through PagerDuty's REST API.
async fn put_schedule(w: &World, schedule: &Value) {
    let id = schedule["id"].as_str().unwrap();
    let response = reqwest::Client::new()
        .put(format!("{}/schedules/{id}", w.emulator.base_url()))
        .header(
            "Authorization",
            format!("Token token={}", support::pagerduty::TOKEN),
        )
        .header("Accept", "application/vnd.pagerduty+json;version=2")
        .json(&serde_json::json!({ "schedule": schedule }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}
