//! `blueprint drill` on the applied seed, against moto and the PagerDuty emulator.
//!
//! moto evaluates no metric, so the drills inject at the topic (`--from topic`)
//! or at the alarm's state (`--from alarm`: the test server runs the actions of
//! an alarm that changes state, as CloudWatch does, `tests/moto/server.py`).
//! The emulator's clock is set inside the seed's hourly rotation so the engineer on
//! call is known: 2023-09-16 01:30 in Tokyo is User Two's turn.

use crate::support;

use pagerduty_emulator::Config;
use serde_json::Value;
use support::world::{SEED, World, text};

fn links(report: &Value) -> Vec<(String, String)> {
    report["chains"][0]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["link"].as_str().unwrap().to_owned(),
                l["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn outcome(report: &Value, link: &str) -> String {
    links(report)
        .into_iter()
        .find(|(l, _)| l == link)
        .unwrap_or_else(|| panic!("no link {link}: {report}"))
        .1
}

fn detail(report: &Value, link: &str) -> String {
    report["chains"][0]["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["link"] == link)
        .map(|l| format!("{} {}", l["detail"], l["hint"]))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn drill_pages_the_engineer_on_call_and_cleans_up() {
    let w = World::with(Config {
        now: Some("2023-09-16T01:30:00+09:00".parse().unwrap()),
        ..Config::default()
    })
    .await;
    let aws = blueprint::providers::aws::AwsProvider::with_config(&w.moto.sdk_config().await);

    // Before apply: a clear refusal, no API touched.
    let out = w.blueprint(&["drill", SEED, "--from", "topic"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("has not been applied"),
        "{}",
        text(&out)
    );

    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let key = w.pd()["integrations"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();

    // The whole chain, as JSON.
    let out = w
        .blueprint(&["drill", SEED, "--from", "topic", "--json"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains(&key),
        "the integration key was printed"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(
        links(&report),
        [
            "filter",
            "alarm → topic",
            "subscription",
            "inject",
            "incident",
            "notified",
            "clean-up"
        ]
        .map(|l| (l.to_owned(), "passed".to_owned()))
    );
    let paged = &report["chains"][0]["paged"];
    assert_eq!(paged["assignee_email"], "user2@example.com", "{report}");
    assert_eq!(paged["on_call_now"], serde_json::json!(["User Two"]));
    // Notified, not just assigned: the incident's log says by what.
    assert_eq!(
        paged["notified_by"],
        serde_json::json!(["email"]),
        "{report}"
    );
    assert!(
        detail(&report, "notified").contains("User Two <user2@example.com> notified by email"),
        "{report}"
    );
    assert_eq!(
        paged["levels"],
        serde_json::json!([{"level": 1, "on_call": ["User Two"]}])
    );
    // Asked of PagerDuty itself: the incident went to User Two and is resolved.
    let incidents = w
        .emulator
        .with_db(|db| db.incidents.values().cloned().collect::<Vec<_>>());
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["status"], "resolved");
    assert_eq!(
        incidents[0]["assignments"][0]["assignee"]["id"],
        paged["assignee_id"]
    );
    let alarm = aws.cloudwatch.describe_alarms().send().await.unwrap();
    assert_eq!(
        alarm.metric_alarms()[0].state_value().map(|s| s.as_str()),
        Some("OK")
    );

    // For people: one line per link, a verdict, and the person paged.
    let out = w.blueprint(&["drill", SEED, "--from", "topic"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    for line in [
        "✓ filter",
        "✓ subscription",
        "✓ incident",
        "✓ notified",
        "level 1: User Two on call now",
        "✓ clean-up",
        "User Two <user2@example.com>",
        "Drill passed",
    ] {
        assert!(shown.contains(line), "{line:?} missing:\n{shown}");
    }
    assert!(!shown.contains(&key));

    // --from alarm: the alarm goes to ALARM, its action publishes to the topic,
    // and PagerDuty opens the incident; the clean-up puts the alarm back to OK.
    let out = w
        .blueprint(&[
            "drill",
            SEED,
            "--from",
            "alarm",
            "--timeout",
            "20",
            "--json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&report, "inject"), "passed");
    assert_eq!(outcome(&report, "incident"), "passed");
    assert_eq!(outcome(&report, "notified"), "passed");
    assert_eq!(outcome(&report, "clean-up"), "passed");
    let alarm = aws.cloudwatch.describe_alarms().send().await.unwrap();
    assert_eq!(
        alarm.metric_alarms()[0].state_value().map(|s| s.as_str()),
        Some("OK")
    );

    // With the alarm's actions disabled outside blueprint, the drill stops at
    // `alarm → topic` and fires nothing.
    aws.cloudwatch
        .disable_alarm_actions()
        .alarm_names(alarm.metric_alarms()[0].alarm_name().unwrap())
        .send()
        .await
        .unwrap();
    let out = w
        .blueprint(&["drill", SEED, "--from", "alarm", "--timeout", "2", "--json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&report, "alarm → topic"), "failed");
    assert_eq!(outcome(&report, "inject"), "skipped");
}

/// Assigned is not paged: a user PagerDuty cannot notify fails the drill at
/// `notified`, by name; a schedule restricted away from the drill's hour fails
/// it at `incident`, before any wait.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_nobody_receives_fails_where_it_stops() {
    use pagerduty_emulator::notify::UserSetup;
    let mut user_setup = std::collections::BTreeMap::new();
    // User Two (on call at 01:30 Tokyo) can be emailed but has no rule.
    user_setup.insert(
        "user2@example.com".to_owned(),
        UserSetup {
            contact_methods: vec![
                serde_json::json!({"type": "email_contact_method", "address": "user2@example.com"}),
            ],
            notification_rules: vec![],
        },
    );
    let w = World::with(Config {
        now: Some("2023-09-16T01:30:00+09:00".parse().unwrap()),
        user_setup,
        ..Config::default()
    })
    .await;
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = w
        .blueprint(&["drill", SEED, "--from", "topic", "--json", "--timeout", "5"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&report, "incident"), "passed", "{report}");
    assert_eq!(outcome(&report, "notified"), "failed");
    let why = detail(&report, "notified");
    assert!(
        why.contains(
            "User Two <user2@example.com>, who is never notified: they have no notification rule"
        ),
        "{why}"
    );
    assert_eq!(outcome(&report, "clean-up"), "passed");

    // Restricted to 09:00-18:00 Tokyo: at 01:30 nobody is on call.
    let restricted = r#"schedule.restrictions=[{"type":"daily_restriction","start_time_of_day":"09:00:00","duration_seconds":32400}]"#;
    let out = w
        .blueprint(&["run", SEED, "--yes", "--set", restricted])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let started = std::time::Instant::now();
    let out = w
        .blueprint(&[
            "drill", SEED, "--from", "topic", "--json", "--set", restricted,
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&report, "incident"), "failed", "{report}");
    assert!(
        detail(&report, "incident").contains("nobody on call at level 1"),
        "{report}"
    );
    assert_eq!(outcome(&report, "notified"), "skipped");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "failed without waiting out the 120 s timeout"
    );
    // The event did arrive (SNS may still be delivering it): no incident for it.
    let waiting = std::time::Instant::now();
    while w.emulator.with_db(|db| db.unassignable_events) == 0
        && waiting.elapsed() < std::time::Duration::from_secs(10)
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(w.emulator.with_db(|db| db.unassignable_events), 1);
    assert_eq!(
        w.emulator.with_db(|db| db.incidents.len()),
        1,
        "only the first drill's incident: none opened with nobody on call"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_chain_fails_on_the_right_link() {
    let w = World::new().await;
    let aws = blueprint::providers::aws::AwsProvider::with_config(&w.moto.sdk_config().await);
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let key = w.pd()["integrations"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let topic = aws.sns.list_topics().send().await.unwrap().topics()[0]
        .topic_arn()
        .unwrap()
        .to_owned();

    // 1. The subscription points at the wrong URL (another integration key).
    let subscriptions = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let real = subscriptions.subscriptions()[0].subscription_arn().unwrap();
    aws.sns
        .unsubscribe()
        .subscription_arn(real)
        .send()
        .await
        .unwrap();
    let wrong = format!("{}/integration/WRONGKEY0000/enqueue", w.emulator.base_url());
    aws.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("http")
        .endpoint(&wrong)
        .send()
        .await
        .unwrap();
    let out = w
        .blueprint(&["drill", SEED, "--from", "topic", "--json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        !text(&out).contains(&key),
        "the integration key was printed"
    );
    assert!(
        !text(&out).contains("WRONGKEY"),
        "keys are hidden, even wrong ones"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(outcome(&report, "alarm → topic"), "passed");
    assert_eq!(outcome(&report, "subscription"), "failed");
    assert!(
        detail(&report, "subscription").contains("/integration/****/enqueue"),
        "{report}"
    );
    assert_eq!(outcome(&report, "inject"), "skipped");
    assert_eq!(outcome(&report, "incident"), "skipped");
    assert_eq!(outcome(&report, "notified"), "skipped");
    assert_eq!(outcome(&report, "clean-up"), "passed");
    assert_eq!(
        w.emulator.with_db(|db| db.incidents.len()),
        0,
        "nothing paged"
    );

    // `blueprint run` repairs the subscription (the stray one is not ours to
    // delete); the drill passes again.
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = w
        .blueprint(&["drill", SEED, "--from", "topic", "--json"])
        .await;
    assert!(out.status.success(), "{}", text(&out));

    // 2. The alarm acts on another topic.
    let other = aws
        .sns
        .create_topic()
        .name("somewhere-else")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let alarms = aws.cloudwatch.describe_alarms().send().await.unwrap();
    let a = &alarms.metric_alarms()[0];
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name(a.alarm_name().unwrap())
        .metric_name(a.metric_name().unwrap())
        .namespace(a.namespace().unwrap())
        .statistic(a.statistic().unwrap().clone())
        .period(a.period().unwrap())
        .evaluation_periods(a.evaluation_periods().unwrap())
        .threshold(a.threshold().unwrap())
        .comparison_operator(a.comparison_operator().unwrap().clone())
        .alarm_actions(&other)
        .send()
        .await
        .unwrap();
    let out = w
        .blueprint(&["drill", SEED, "--from", "topic", "--json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&report, "alarm → topic"), "failed");
    let why = detail(&report, "alarm → topic");
    assert!(
        why.contains(&other) && why.contains("not the topic subscribed to PagerDuty"),
        "{why}"
    );
    assert_eq!(outcome(&report, "incident"), "skipped");
}

/// PagerDuty's events endpoint refusing every event (429 and 503): SNS retries by
/// the subscription's delivery policy, then drops the page — the drill names the
/// lost delivery instead of waiting out its timeout — or, with the seed's
/// dead-letter queue declared, moves it there, where the drill finds it and the
/// message is the page. Once PagerDuty answers again, the same drill passes.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delivery_is_named_and_kept_in_the_dead_letter_queue() {
    let world = World::with(Config {
        now: Some("2023-09-16T01:30:00+09:00".parse().unwrap()),
        events_fail_rate: 1.0,
        ..Config::default()
    })
    .await;
    let w = &world;
    let service = |dead_letter_queue: bool| {
        format!(
            r#"services=[{{"name":"lambda-error","function_name":"error-function","code_path":"lambda-error-pagerduty-handler","dead_letter_queue":{dead_letter_queue},"delivery_retries":{{"num_retries":2,"min_delay_seconds":1,"max_delay_seconds":1}}}}]"#
        )
    };
    let drill = |set: String| async move {
        let started = std::time::Instant::now();
        let out = w
            .blueprint(&["drill", SEED, "--from", "topic", "--json", "--set", &set])
            .await;
        (out, started.elapsed())
    };

    // No dead-letter queue: the page is lost, and the drill says so.
    let lost = service(false);
    let out = w.blueprint(&["run", SEED, "--yes", "--set", &lost]).await;
    assert!(out.status.success(), "{}", text(&out));
    let (out, took) = drill(lost.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&report, "incident"), "failed", "{report}");
    let why = detail(&report, "incident");
    assert!(
        why.contains("SNS failed all 3 attempts to deliver the notification to PagerDuty (topic error-function-alarm: 3 failed attempt(s)")
            && why.contains("no dead-letter queue, so the page is lost"),
        "{why}"
    );
    assert!(
        took < std::time::Duration::from_secs(30),
        "named after SNS's retries ({took:?}), not after the 120 s timeout"
    );
    // Three attempts (one and two retries), each answered 429 or 503.
    assert!(
        w.emulator.events_failed() >= 3,
        "{}",
        w.emulator.events_failed()
    );
    assert_eq!(w.emulator.with_db(|db| db.incidents.len()), 0);

    // With the dead-letter queue: the page waits there.
    let kept = service(true);
    let out = w.blueprint(&["run", SEED, "--yes", "--set", &kept]).await;
    assert!(out.status.success(), "{}", text(&out));
    let (out, _) = drill(kept.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let why = detail(&report, "incident");
    assert!(
        why.contains(
            "SNS could not deliver the notification to PagerDuty and moved it to the dead-letter queue error-function-undelivered-pages"
        ),
        "{why}"
    );
    let aws = blueprint::providers::aws::AwsProvider::with_config(&w.moto.sdk_config().await);
    let url = aws
        .sqs
        .get_queue_url()
        .queue_name("error-function-undelivered-pages")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let received = aws
        .sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<Value> = received
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    assert!(
        bodies.iter().any(|b| b["Type"] == "Notification"
            && b["TopicArn"]
                .as_str()
                .unwrap()
                .ends_with(":error-function-alarm")
            && b["Message"]
                .as_str()
                .unwrap()
                .contains("\"NewStateValue\":\"ALARM\"")),
        "the page itself is in the queue: {bodies:?}"
    );

    // PagerDuty answers again: the same chain pages the engineer on call.
    w.emulator.set_events_fail_rate(0.0);
    let (out, _) = drill(kept).await;
    assert!(out.status.success(), "{}", text(&out));
}
