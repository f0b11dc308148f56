//! `blueprint run` on the seed blueprint, end to end, against moto's server and
//! the PagerDuty emulator — checked by asking the emulators themselves, not our
//! state: the resources and their wiring, a second run that changes nothing, one
//! changed param giving one update, drift repaired, the lock, a SIGKILL mid-apply
//! recovered without duplicates, and destroy leaving nothing behind.

use crate::support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use blueprint::state::{LocalStore, LockInfo, StateStore};
use serde_json::Value;

use support::world::{SEED, World, text};

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_end_to_end() {
    let w = World::new().await;
    let aws = blueprint::providers::aws::AwsProvider::with_config(&w.moto.sdk_config().await);

    // 1. run: everything is created.
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Apply complete: 19 created"),
        "{}",
        text(&out)
    );
    // The code bucket's name is unique to the account and region (S3 names
    // are global), resolved at plan time from the two lookups.
    let bucket = "lambda-error-pagerduty-123456789012-ap-northeast-1";
    assert!(
        text(&out).contains(&format!("bucket = \"{bucket}\"")),
        "{}",
        text(&out)
    );
    let buckets = aws.s3.list_buckets().send().await.unwrap();
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, [bucket]);
    // `check`'s warnings are shown by run (and plan) too.
    assert!(
        text(&out).contains("warning: lambda-error-error-alarm [alarm-sub-minute-period]"),
        "{}",
        text(&out)
    );

    // 2. Ask the emulators what exists.
    let pd = w.pd();
    let one = |c: &str| -> Value {
        let objects = pd["objects"][c]
            .as_object()
            .unwrap_or_else(|| panic!("no {c}"));
        assert_eq!(objects.len(), 1, "{c}: {objects:?}");
        objects.values().next().unwrap().clone()
    };
    let team = one("teams");
    assert_eq!(team["name"], "teamOnCall");
    assert_eq!(
        pd["members"][team["id"].as_str().unwrap()]
            .as_object()
            .unwrap()
            .len(),
        2
    );
    let schedule = one("schedules");
    assert_eq!(schedule["time_zone"], "Asia/Tokyo");
    assert_eq!(
        schedule["schedule_layers"][0]["rotation_turn_length_seconds"],
        3600
    );
    let policy = one("escalation_policies");
    assert_eq!(policy["num_loops"], 2);
    assert_eq!(
        policy["escalation_rules"][0]["escalation_delay_in_minutes"],
        30
    );
    assert_eq!(
        policy["escalation_rules"][0]["targets"][0]["id"],
        schedule["id"]
    );
    let service = one("services");
    assert_eq!(service["escalation_policy"]["id"], policy["id"]);
    let business = one("business_services");
    assert_eq!(
        pd["dependencies"][0],
        serde_json::json!([business["id"], service["id"]])
    );
    let key = pd["integrations"][0]["key"].as_str().unwrap().to_owned();
    assert_eq!(pd["integrations"][0]["service"], service["id"]);

    let topics = aws.sns.list_topics().send().await.unwrap();
    assert_eq!(topics.topics().len(), 1);
    let topic_arn = topics.topics()[0].topic_arn().unwrap().to_owned();
    let subs = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subscriptions().len(), 1);
    assert_eq!(
        subs.subscriptions()[0].endpoint().unwrap(),
        format!("{}/integration/{key}/enqueue", w.emulator.base_url()),
        "the subscription posts to the integration's CloudWatch URL"
    );
    assert_eq!(subs.subscriptions()[0].protocol(), Some("http"));
    let alarms = aws.cloudwatch.describe_alarms().send().await.unwrap();
    assert_eq!(alarms.metric_alarms().len(), 1);
    assert_eq!(
        alarms.metric_alarms()[0].alarm_actions(),
        std::slice::from_ref(&topic_arn)
    );
    assert_eq!(alarms.metric_alarms()[0].period(), Some(30));
    let function = aws
        .lambda
        .get_function()
        .function_name("error-function")
        .send()
        .await
        .unwrap();
    assert_eq!(
        function
            .configuration()
            .unwrap()
            .runtime()
            .map(|r| r.as_str()),
        Some("nodejs22.x")
    );
    // Secrets never reach the output.
    assert!(
        !text(&out).contains(&key),
        "the integration key was printed"
    );

    // 3. Nothing changed: no changes, exit 0 with --detailed-exitcode.
    let out = w.blueprint(&["plan", SEED, "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("No changes"), "{}", text(&out));
    let requests = w.emulator.request_count();
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(
        out.status.success() && text(&out).contains("No changes"),
        "{}",
        text(&out)
    );
    let pd_after = w.pd();
    assert_eq!(
        pd_after["objects"], pd["objects"],
        "a no-op run changed PagerDuty"
    );
    assert!(w.emulator.request_count() > requests, "it did refresh");

    // 4. One param changed: exactly one update.
    let rotation = "schedule.rotation_turn_length_seconds=7200";
    let out = w
        .blueprint(&["plan", SEED, "--set", rotation, "--detailed-exitcode"])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("~ schedule (pagerduty.schedule)"),
        "{}",
        text(&out)
    );
    let out = w
        .blueprint(&["run", SEED, "--set", rotation, "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        w.pd()["objects"]["schedules"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["schedule_layers"][0]["rotation_turn_length_seconds"],
        7200
    );
    let out = w
        .blueprint(&["plan", SEED, "--set", rotation, "--detailed-exitcode"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // 5. Drift: the topic deleted by hand is planned and repaired.
    aws.sns
        .delete_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    let out = w.blueprint(&["plan", SEED, "--set", rotation]).await;
    assert!(
        text(&out).contains("lambda-error-topic was deleted outside blueprint"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("+ lambda-error-topic (aws.sns_topic)"),
        "{}",
        text(&out)
    );
    let out = w
        .blueprint(&["run", SEED, "--set", rotation, "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = w
        .blueprint(&["plan", SEED, "--set", rotation, "--detailed-exitcode"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // 6. A second run while one holds the lock fails at once, naming the holder.
    {
        let store = LocalStore::new(&w.state);
        let _held = store
            .lock(&LockInfo::current("blueprint run (the other one)"))
            .await
            .unwrap();
        let out = w.blueprint(&["run", SEED, "--yes"]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out).contains("is locked by `blueprint run (the other one)`"),
            "{}",
            text(&out)
        );
    }

    // 7. Applying without --yes and without a terminal is refused.
    let out = w
        .blueprint(&["run", SEED, "--set", "team_name=other"])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));

    // 8. destroy: nothing the blueprint made is left.
    let out = w.blueprint(&["destroy", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    for c in [
        "teams",
        "schedules",
        "escalation_policies",
        "services",
        "business_services",
    ] {
        assert_eq!(w.count(c), 0, "{c} left after destroy");
    }
    assert!(w.pd()["integrations"].as_array().unwrap().is_empty());
    assert!(
        aws.sns
            .list_topics()
            .send()
            .await
            .unwrap()
            .topics()
            .is_empty()
    );
    assert!(
        aws.cloudwatch
            .describe_alarms()
            .send()
            .await
            .unwrap()
            .metric_alarms()
            .is_empty()
    );
    assert!(
        aws.lambda
            .list_functions()
            .send()
            .await
            .unwrap()
            .functions()
            .is_empty()
    );
    assert!(
        aws.iam
            .get_role()
            .role_name("error-function-role")
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_apply_then_run_again_makes_no_duplicates() {
    let w = World::new().await;
    let aws = blueprint::providers::aws::AwsProvider::with_config(&w.moto.sdk_config().await);
    // Slow PagerDuty down so the kill lands mid-apply.
    w.emulator.set_faults(0.0, Duration::from_millis(150));
    let mut child = w
        .command(&["run", SEED, "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state: &Path = &w.state;
    // Wait until something is recorded, then SIGKILL.
    support::wait_for_child(&mut child, "recording a resource", || async {
        std::fs::read_to_string(state).is_ok_and(|s| s.contains("\"status\": \"ready\""))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let recorded = std::fs::read_to_string(state).unwrap();
    let recorded: Value =
        serde_json::from_str(&recorded).expect("the state survived the kill intact");
    let ready = recorded["resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["status"] == "ready")
        .count();
    // 24 nodes: 19 resources and 5 lookups (2 users, the vendor, the account,
    // the region).
    assert!(
        ready < 24,
        "the kill must land mid-apply (all {ready} were done)"
    );

    w.emulator.set_faults(0.0, Duration::ZERO);
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    for c in [
        "teams",
        "schedules",
        "escalation_policies",
        "services",
        "business_services",
    ] {
        assert_eq!(
            w.count(c),
            1,
            "{c}: a duplicate or a missing one after the kill"
        );
    }
    assert_eq!(w.pd()["integrations"].as_array().unwrap().len(), 1);
    assert_eq!(
        aws.sns.list_topics().send().await.unwrap().topics().len(),
        1
    );
    let out = w.blueprint(&["plan", SEED, "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
