//! The template library (`blueprints/`), each in its own language, end to end
//! against moto and the PagerDuty emulator: it runs, plans empty afterwards,
//! pages the engineer on call when its source fires, and destroys to nothing.

use crate::support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pagerduty_emulator::Config;
use serde_json::{Value, json};
use support::world::{World, text};

/// A template's blueprint file in `dir`, its guest path made absolute.
fn template(dir: &Path, name: &str) -> PathBuf {
    let root = support::root();
    let text = std::fs::read_to_string(root.join("blueprints").join(name))
        .unwrap()
        .replace(
            "path = \"../target/",
            &format!("path = \"{}/target/", root.display()),
        );
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// Incidents the emulator holds, by title.
fn incidents(w: &World) -> Vec<Value> {
    w.emulator
        .with_db(|db| db.incidents.values().cloned().collect())
}

/// An ECS "task stopped" event as ECS sends it (the fields the template's
/// pattern reads), put on the default bus.
async fn put_task_stopped(w: &World, exit_code: i64) {
    let aws = aws_sdk_eventbridge::Client::new(&w.moto.sdk_config().await);
    let detail = json!({
        "clusterArn": "arn:aws:ecs:ap-northeast-1:123456789012:cluster/default",
        "lastStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "containers": [{"name": "web", "exitCode": exit_code}],
    });
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("aws.ecs")
        .detail_type("ECS Task State Change")
        .detail(detail.to_string())
        .build();
    let out = aws.put_events().entries(entry).send().await.unwrap();
    assert_eq!(out.failed_entry_count(), 0, "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_pagerduty_pages_for_a_failed_ecs_task_in_typescript() {
    // Inside the hourly rotation: 01:30 in Tokyo is User Two's hour.
    let w = World::with(Config {
        now: Some("2023-09-16T01:30:00+09:00".parse().unwrap()),
        ..Config::default()
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let file = template(tmp.path(), "eventbridge-pagerduty.toml");
    let f = file.to_str().unwrap();

    let inspect = w.blueprint_without_state(&["inspect", f, "--json"]).await;
    assert!(inspect.status.success(), "{}", text(&inspect));
    let described: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        described["guest"]["name"], "eventbridge-pagerduty",
        "{described}"
    );
    assert!(described["params_schema"]["properties"]["rules"].is_object());

    // The template passes its own checks (the topic policy EventBridge needs,
    // a dead-letter queue for pages SNS cannot deliver).
    let check = w.blueprint_without_state(&["check", f, "--strict"]).await;
    assert!(check.status.success(), "{}", text(&check));

    let run = w.blueprint(&["run", f, "--yes"]).await;
    assert!(run.status.success(), "{}", text(&run));
    assert!(
        text(&run).contains("Apply complete: 14 created"),
        "{}",
        text(&run)
    );
    let again = w.blueprint(&["plan", f, "--detailed-exitcode"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // The drill: the rule's pattern matches the event it builds
    // (TestEventPattern), the rule targets the topic, whose policy lets
    // EventBridge publish; the event put on the bus pages User Two, who is
    // notified; the incident is resolved.
    for from in ["event", "topic"] {
        let drill = w
            .blueprint(&["drill", f, "--from", from, "--timeout", "20", "--json"])
            .await;
        assert!(drill.status.success(), "--from {from}: {}", text(&drill));
        let report: Value = serde_json::from_slice(&drill.stdout).unwrap();
        let chain = &report["chains"][0];
        assert_eq!(chain["source"], "aws.cloudwatch_event_rule", "{report:#}");
        assert_eq!(chain["alarm_name"], "ecs-task-failed", "{report:#}");
        assert_eq!(chain["inject"], from, "{report:#}");
        let links: Vec<(&str, &str)> = chain["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["link"].as_str().unwrap(), l["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(
            links,
            [
                ("rule", "passed"),
                ("rule → topic", "passed"),
                ("topic policy", "passed"),
                ("subscription", "passed"),
                ("inject", "passed"),
                ("incident", "passed"),
                ("notified", "passed"),
                ("clean-up", "passed"),
            ],
            "{report:#}"
        );
        assert_eq!(chain["paged"]["assignee"], "User Two", "{report:#}");
        assert!(
            chain["links"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("TestEventPattern"),
            "{report:#}"
        );
    }
    let shown = w.blueprint(&["drill", f, "--timeout", "20"]).await;
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(
        text(&shown).contains("Drill passed: 1 chain(s)"),
        "{}",
        text(&shown)
    );

    // The topic's policy reset outside blueprint (SNS's default lets only the
    // account publish): the drill fails at that link and fires nothing; a run
    // puts the policy back.
    let sns = aws_sdk_sns::Client::new(&w.moto.sdk_config().await);
    let topic = sns.list_topics().send().await.unwrap().topics()[0]
        .topic_arn()
        .unwrap()
        .to_owned();
    let account = topic.split(':').nth(4).unwrap();
    let default = json!({"Version": "2008-10-17", "Statement": [{"Sid": "__default_statement_ID",
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["SNS:Publish"], "Resource": topic,
        "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]});
    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("Policy")
        .attribute_value(default.to_string())
        .send()
        .await
        .unwrap();
    let broken = w.blueprint(&["drill", f, "--json"]).await;
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let report: Value = serde_json::from_slice(&broken.stdout).unwrap();
    let links = &report["chains"][0]["links"];
    assert_eq!(links[2]["link"], "topic policy", "{report:#}");
    assert_eq!(links[2]["outcome"], "failed", "{report:#}");
    assert_eq!(links[4]["outcome"], "skipped", "{report:#}");
    let plan = w.blueprint(&["plan", f]).await;
    assert!(
        text(&plan).contains("topic-policy (aws.sns_topic_policy)"),
        "{}",
        text(&plan)
    );
    let repaired = w.blueprint(&["run", f, "--yes"]).await;
    assert!(repaired.status.success(), "{}", text(&repaired));
    let again = w.blueprint(&["plan", f, "--detailed-exitcode"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    let drilled = incidents(&w);
    assert_eq!(drilled.len(), 3, "{drilled:#?}");
    assert!(
        drilled.iter().all(|i| i["status"] == "resolved"),
        "{drilled:#?}"
    );

    // A task whose container exited 0 pages nobody; one that exited 1 pages
    // the engineer on call, through the rule, the topic's policy, SNS and the
    // CloudWatch integration.
    put_task_stopped(&w, 0).await;
    put_task_stopped(&w, 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while incidents(&w).len() == drilled.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let opened: Vec<Value> = incidents(&w)
        .into_iter()
        .filter(|i| i["status"] != "resolved")
        .collect();
    assert_eq!(opened.len(), 1, "{opened:#?}");
    assert_eq!(
        opened[0]["title"], "ECS Task State Change: aws.ecs",
        "{opened:#?}"
    );
    let assignee = &opened[0]["assignments"][0]["assignee"]["summary"];
    assert_eq!(assignee, "User Two", "{opened:#?}");

    let destroy = w.blueprint(&["destroy", f, "--yes"]).await;
    assert!(destroy.status.success(), "{}", text(&destroy));
    for collection in ["services", "escalation_policies", "schedules", "teams"] {
        assert_eq!(w.count(collection), 0, "{collection} left after destroy");
    }
    let events = aws_sdk_eventbridge::Client::new(&w.moto.sdk_config().await);
    let rules = events.list_rules().send().await.unwrap();
    assert!(rules.rules().is_empty(), "{rules:?}");
    let sns = aws_sdk_sns::Client::new(&w.moto.sdk_config().await);
    let topics = sns.list_topics().send().await.unwrap();
    assert!(topics.topics().is_empty(), "{topics:?}");
}

/// The EventBridge kinds by their Terraform import ids: a second state adopts
/// the applied rule, target, topic and topic policy, and plans none of them;
/// the export names each official type and refers to the others by attribute.
#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_kinds_are_adopted_by_import_id_and_exported() {
    let w = World::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let file = template(tmp.path(), "eventbridge-pagerduty.toml");
    let f = file.to_str().unwrap();
    let run = w.blueprint(&["run", f, "--yes"]).await;
    assert!(run.status.success(), "{}", text(&run));
    let applied: Value = serde_json::from_slice(&std::fs::read(&w.state).unwrap()).unwrap();
    let topic = applied["resources"]["topic"]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let second = tmp.path().join("second.json");
    let second = second.to_str().unwrap();
    let adopt = |args: Vec<String>| {
        let mut c = w.command_without_state(&["import", f, "--state", second, "--yes"]);
        c.args(args);
        c.output().unwrap()
    };
    let out = adopt(vec![
        format!("topic={topic}"),
        "rule-ecs-task-failed=ecs-task-failed".into(),
        "target-ecs-task-failed=ecs-task-failed/pagerduty".into(),
        format!("topic-policy={topic}"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let state: Value = serde_json::from_slice(&std::fs::read(second).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["target-ecs-task-failed"]["adopted_from"],
        json!({"source": "id", "id": "ecs-task-failed/pagerduty"})
    );
    assert_eq!(
        state["resources"]["rule-ecs-task-failed"]["resource"]["outputs"]["arn"],
        applied["resources"]["rule-ecs-task-failed"]["resource"]["outputs"]["arn"]
    );
    // A target id without its rule names the format.
    let out = adopt(vec!["target-ecs-task-failed=pagerduty".into()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("RULE/TARGET_ID"), "{}", text(&out));

    // The PagerDuty objects this state does not record stop the plan (nothing
    // proves whose they are); the imported nodes are not among them.
    let mut plan = w.command_without_state(&["plan", f, "--state", second]);
    let plan = plan.output().unwrap();
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    assert!(
        text(&plan).contains("service (pagerduty.service) already exists"),
        "{}",
        text(&plan)
    );
    for node in [
        "topic (aws.sns_topic)",
        "rule-ecs-task-failed (aws.cloudwatch_event_rule)",
        "target-ecs-task-failed (aws.cloudwatch_event_target)",
        "topic-policy (aws.sns_topic_policy)",
    ] {
        assert!(
            !text(&plan).contains(node),
            "{node} is planned again after its import:\n{}",
            text(&plan)
        );
    }

    let export = w.blueprint_without_state(&["export", f]).await;
    assert!(export.status.success(), "{}", text(&export));
    let tf: Value = serde_json::from_slice(&export.stdout).unwrap();
    let r = &tf["resource"];
    let target = &r["aws_cloudwatch_event_target"]["target-ecs-task-failed"];
    assert_eq!(
        target["rule"],
        "${aws_cloudwatch_event_rule.rule-ecs-task-failed.name}"
    );
    assert_eq!(target["arn"], "${aws_sns_topic.topic.arn}");
    assert_eq!(target["target_id"], "pagerduty");
    assert_eq!(
        r["aws_sns_topic_policy"]["topic-policy"]["arn"],
        "${aws_sns_topic.topic.arn}"
    );
    assert!(
        r["aws_sns_topic_policy"]["topic-policy"]["policy"]
            .as_str()
            .unwrap()
            .contains("${aws_cloudwatch_event_rule.rule-ecs-task-failed.arn}")
    );
    let rule = &r["aws_cloudwatch_event_rule"]["rule-ecs-task-failed"];
    assert_eq!(rule["name"], "ecs-task-failed");
    assert!(
        rule["event_pattern"]
            .as_str()
            .unwrap()
            .contains("EssentialContainerExited")
    );
}

/// The template composed with a platform blueprint
/// (`blueprints/platform-and-service/`): `run DIR` applies the platform, then
/// the ECS service, which pages through the platform's escalation policy and
/// declares none of its own; its drill pages the platform's engineer on call.
#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_pagerduty_pages_through_a_platform_blueprint() {
    let w = World::with(Config {
        now: Some("2023-09-16T01:30:00+09:00".parse().unwrap()),
        ..Config::default()
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let root = support::root();
    for name in ["platform.toml", "ecs-tasks.toml"] {
        let text = std::fs::read_to_string(root.join("blueprints/platform-and-service").join(name))
            .unwrap()
            .replace(
                "path = \"../../target/",
                &format!("path = \"{}/target/", root.display()),
            );
        std::fs::write(tmp.path().join(name), text).unwrap();
    }
    let dir = tmp.path().to_str().unwrap();
    let ecs = tmp.path().join("ecs-tasks.toml");
    let ecs = ecs.to_str().unwrap();

    let out = w.blueprint_without_state(&["run", dir, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("in 2 waves"), "{}", text(&out));
    assert!(
        text(&out).contains("Summary: 2 blueprints, 2 ok, 0 failed"),
        "{}",
        text(&out)
    );
    let pd = w.pd();
    let policies = pd["objects"]["escalation_policies"].as_object().unwrap();
    assert_eq!(policies.len(), 1, "{policies:?}");
    let services: Vec<&Value> = pd["objects"]["services"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(services[0]["name"], "ecs-tasks");
    assert_eq!(
        services[0]["escalation_policy"]["id"],
        policies.keys().next().unwrap().as_str()
    );
    assert_eq!(w.count("schedules"), 1, "the platform's only");

    let plan = w
        .blueprint_without_state(&["plan", ecs, "--detailed-exitcode"])
        .await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let drill = w.blueprint_without_state(&["drill", ecs, "--json"]).await;
    assert!(drill.status.success(), "{}", text(&drill));
    let report: Value = serde_json::from_slice(&drill.stdout).unwrap();
    assert_eq!(
        report["chains"][0]["paged"]["assignee"], "User Two",
        "{report:#}"
    );
    assert_eq!(
        report["chains"][0]["paged"]["levels"][0]["on_call"],
        json!(["User Two"]),
        "{report:#}"
    );
}

/// A drill of the alarm template at `now` (Tokyo time), with the emulator's
/// users as `setup` leaves them: the report's one chain.
async fn drill_alarm_template_at(now: &str, setup: &[(&str, Value)]) -> (World, Value) {
    let mut user_setup = std::collections::BTreeMap::new();
    for (email, s) in setup {
        user_setup.insert(
            (*email).to_owned(),
            pagerduty_emulator::notify::UserSetup::from_json(s)
                .unwrap()
                .unwrap(),
        );
    }
    let w = World::with(Config {
        now: Some(now.parse().unwrap()),
        user_setup,
        ..Config::default()
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let file = template(tmp.path(), "alarm-pagerduty.toml");
    let f = file.to_str().unwrap();
    let run = w.blueprint(&["run", f, "--yes"]).await;
    assert!(run.status.success(), "{}", text(&run));
    let drill = w
        .blueprint(&["drill", f, "--from", "topic", "--timeout", "20", "--json"])
        .await;
    let report: Value = serde_json::from_slice(&drill.stdout).unwrap();
    assert_eq!(
        drill.status.success(),
        report["passed"] == true,
        "{}",
        text(&drill)
    );
    let chain = report["chains"][0].clone();
    (w, chain)
}

fn link<'a>(chain: &'a Value, name: &str) -> &'a Value {
    chain["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["link"] == name)
        .unwrap_or_else(|| panic!("no link {name}: {chain:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_pagerduty_pages_by_the_hour_in_python() {
    let tmp = tempfile::tempdir().unwrap();
    let file = template(tmp.path(), "alarm-pagerduty.toml");
    let f = file.to_str().unwrap();
    let w = World::new().await;
    let check = w.blueprint_without_state(&["check", f, "--strict"]).await;
    assert!(check.status.success(), "{}", text(&check));
    // Terraform's blocks for the urgency rule, the support hours and the
    // scheduled action.
    let export = w.blueprint_without_state(&["export", f]).await;
    assert!(export.status.success(), "{}", text(&export));
    let tf: Value = serde_json::from_slice(&export.stdout).unwrap();
    let service = &tf["resource"]["pagerduty_service"]["service"];
    assert_eq!(
        service["incident_urgency_rule"],
        json!([{"type": "use_support_hours",
                "during_support_hours": [{"type": "constant", "urgency": "high"}],
                "outside_support_hours": [{"type": "constant", "urgency": "low"}]}]),
        "{service:#}"
    );
    assert_eq!(
        service["support_hours"],
        json!([{"type": "fixed_time_per_day", "time_zone": "Asia/Tokyo",
                "days_of_week": [1, 2, 3, 4, 5], "start_time": "09:00:00", "end_time": "18:00:00"}]),
        "{service:#}"
    );
    assert_eq!(
        service["scheduled_actions"][0]["at"][0]["name"], "support_hours_start",
        "{service:#}"
    );

    // Monday 10:30 in Tokyo, inside support hours: high urgency, User One
    // (the 58th hour of the rotation) is notified.
    let (w, chain) = drill_alarm_template_at("2023-09-18T10:30:00+09:00", &[]).await;
    assert_eq!(link(&chain, "inject")["outcome"], "passed", "{chain:#}");
    assert_eq!(link(&chain, "notified")["outcome"], "passed", "{chain:#}");
    assert_eq!(chain["paged"]["urgency"], "high", "{chain:#}");
    assert_eq!(chain["paged"]["assignee"], "User One", "{chain:#}");
    let service = w.pd()["objects"]["services"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        service["support_hours"]["time_zone"], "Asia/Tokyo",
        "{service:#}"
    );
    assert_eq!(
        service["scheduled_actions"][0]["at"]["name"], "support_hours_start",
        "{service:#}"
    );

    // Monday 03:30: low urgency, and the users only have high-urgency rules:
    // assigned, never notified — the drill fails at `notified`, naming it.
    let (_, chain) = drill_alarm_template_at("2023-09-18T03:30:00+09:00", &[]).await;
    assert_eq!(chain["paged"]["urgency"], "low", "{chain:#}");
    let notified = link(&chain, "notified");
    assert_eq!(notified["outcome"], "failed", "{chain:#}");
    assert!(
        notified["detail"]
            .as_str()
            .unwrap()
            .contains("never notified"),
        "{chain:#}"
    );
    assert_eq!(link(&chain, "clean-up")["outcome"], "passed", "{chain:#}");

    // With a low-urgency rule for User Two (on call at 03:30), the low page
    // reaches them.
    let low = json!({
        "contact_methods": [{"type": "email_contact_method", "address": "user2@example.com"}],
        "notification_rules": [
            {"urgency": "high", "start_delay_in_minutes": 0, "contact_method": 0},
            {"urgency": "low", "start_delay_in_minutes": 0, "contact_method": 0}
        ]
    });
    let (w, chain) =
        drill_alarm_template_at("2023-09-18T03:30:00+09:00", &[("user2@example.com", low)]).await;
    assert_eq!(chain["paged"]["urgency"], "low", "{chain:#}");
    assert_eq!(chain["paged"]["assignee"], "User Two", "{chain:#}");
    assert_eq!(link(&chain, "notified")["outcome"], "passed", "{chain:#}");

    // Plans empty, then destroys to nothing.
    let tmp2 = tempfile::tempdir().unwrap();
    let file = template(tmp2.path(), "alarm-pagerduty.toml");
    let f = file.to_str().unwrap();
    let again = w.blueprint(&["plan", f, "--detailed-exitcode"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let destroy = w.blueprint(&["destroy", f, "--yes"]).await;
    assert!(destroy.status.success(), "{}", text(&destroy));
    for collection in ["services", "escalation_policies", "schedules", "teams"] {
        assert_eq!(w.count(collection), 0, "{collection} left after destroy");
    }
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&w.moto.sdk_config().await);
    let alarms = cloudwatch.describe_alarms().send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty(), "{alarms:?}");
}

/// The alarm-pagerduty template through a composite alarm (in Python): a
/// metric-math error rate and a deploy alarm page once through the composite,
/// never while the deploy runs; PagerDuty's orchestration suppresses load-test
/// alarms; the team and policy carry a tag. It runs, plans empty, drills
/// green (the children page through the composite, which the drill reads),
/// is adopted by import ids, exports Terraform's blocks, and destroys to
/// nothing.
#[tokio::test(flavor = "multi_thread")]
async fn alarm_pagerduty_pages_once_through_a_composite_alarm() {
    use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
    let tmp = tempfile::tempdir().unwrap();
    let file = template(tmp.path(), "alarm-pagerduty-composite.toml");
    // The team's chat is a local endpoint that records PagerDuty's webhooks.
    let (chat, posts) = support::pagerduty::webhook_receiver().await;
    let text_of_file = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text_of_file.replace("https://chat.example.com/hooks/pagerduty", &chat),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    // Monday 10:30 in Tokyo: support hours, User One on call.
    let w = World::with(Config {
        now: Some("2023-09-18T10:30:00+09:00".parse().unwrap()),
        ..Config::default()
    })
    .await;
    let check = w.blueprint_without_state(&["check", f, "--strict"]).await;
    assert!(check.status.success(), "{}", text(&check));

    // Terraform's blocks and attribute names (hashicorp/aws,
    // PagerDuty/pagerduty), referring to each other.
    let export = w.blueprint_without_state(&["export", f]).await;
    assert!(export.status.success(), "{}", text(&export));
    let tf: Value = serde_json::from_slice(&export.stdout).unwrap();
    let r = &tf["resource"];
    let composite = &r["aws_cloudwatch_composite_alarm"]["composite-alarm"];
    assert_eq!(
        composite["alarm_rule"],
        "ALARM(\"${aws_cloudwatch_metric_alarm.alarm-api-error-rate.alarm_name}\") AND NOT ALARM(\"${aws_cloudwatch_metric_alarm.alarm-api-deploying.alarm_name}\")"
    );
    assert_eq!(
        composite["alarm_actions"],
        json!(["${aws_sns_topic.topic.arn}"])
    );
    let rate = &r["aws_cloudwatch_metric_alarm"]["alarm-api-error-rate"];
    assert_eq!(
        rate["metric_query"][2]["expression"],
        "100 * errors / requests"
    );
    assert_eq!(rate["metric_query"][0]["metric"][0]["stat"], "Sum");
    assert_eq!(
        rate["metric_query"][0]["metric"][0]["dimensions"],
        json!({"LoadBalancer": "app/api/0123456789abcdef"})
    );
    assert!(rate.get("metric_name").is_none(), "{rate:#}");
    let orchestration = &r["pagerduty_event_orchestration_service"]["orchestration"];
    assert_eq!(orchestration["service"], "${pagerduty_service.service.id}");
    assert_eq!(orchestration["set"][0]["id"], "start");
    assert_eq!(
        orchestration["set"][0]["rule"][0]["condition"][0]["expression"],
        "event.summary matches part 'staging'"
    );
    assert_eq!(
        orchestration["set"][0]["rule"][1]["actions"][0]["suppress"],
        true
    );
    assert_eq!(r["pagerduty_tag"]["tag-tier-1"]["label"], "tier-1");
    assert_eq!(
        r["pagerduty_tag_assignment"]["tag-tier-1-teams"],
        json!({"tag_id": "${pagerduty_tag.tag-tier-1.id}", "entity_type": "teams",
               "entity_id": "${pagerduty_team.team.id}"})
    );

    assert_eq!(
        r["pagerduty_service"]["service"]["alert_grouping_parameters"],
        json!([{"type": "content_based", "config": [{"fields": ["custom_details.AlarmName"],
                                                     "time_window": 3600}]}])
    );
    assert_eq!(
        r["pagerduty_webhook_subscription"]["webhook-chat"],
        json!({"type": "webhook_subscription",
               "delivery_method": {"type": "http_delivery_method", "url": chat},
               "events": ["incident.triggered", "incident.acknowledged", "incident.resolved"],
               "filter": {"type": "service_reference", "id": "${pagerduty_service.service.id}"},
               "description": "The API team's channel"})
    );

    let run = w.blueprint(&["run", f, "--yes"]).await;
    assert!(run.status.success(), "{}", text(&run));
    let again = w.blueprint(&["plan", f, "--detailed-exitcode"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let applied: Value = serde_json::from_slice(&std::fs::read(&w.state).unwrap()).unwrap();
    let subscription = applied["resources"]["webhook-chat"]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = w
        .emulator
        .with_db(|db| db.webhook_secrets[&subscription].clone());

    // The drill: one chain, the composite's; its children exist.
    let drill = w
        .blueprint(&["drill", f, "--from", "alarm", "--timeout", "20", "--json"])
        .await;
    let report: Value = serde_json::from_slice(&drill.stdout).unwrap();
    assert!(drill.status.success(), "{}", text(&drill));
    assert_eq!(report["chains"].as_array().unwrap().len(), 1, "{report:#}");
    let chain = &report["chains"][0];
    assert_eq!(chain["alarm_name"], "api-page");
    assert_eq!(chain["source"], "aws.cloudwatch_composite_alarm");
    let children = link(chain, "children");
    assert_eq!(children["outcome"], "passed", "{chain:#}");
    let detail = children["detail"].as_str().unwrap();
    assert!(
        detail.contains("api-error-rate (OK)") && detail.contains("api-deploying (OK)"),
        "{detail}"
    );
    assert!(detail.contains("the rule is FALSE now"), "{detail}");
    assert_eq!(link(chain, "notified")["outcome"], "passed", "{chain:#}");
    assert_eq!(chain["paged"]["assignee"], "User One", "{chain:#}");

    // The children drive the composite: errors during a deploy page nobody;
    // once the deploy ends, the composite pages once.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&w.moto.sdk_config().await);
    let set = |name: &'static str, state: StateValue| {
        let cw = cloudwatch.clone();
        async move {
            cw.set_alarm_state()
                .alarm_name(name)
                .state_value(state)
                .state_reason("test")
                .send()
                .await
                .unwrap();
        }
    };
    let open = || {
        incidents(&w)
            .into_iter()
            .filter(|i| i["status"] != "resolved")
            .count()
    };
    assert_eq!(open(), 0, "{:#?}", incidents(&w));
    set("api-deploying", StateValue::Alarm).await;
    set("api-error-rate", StateValue::Alarm).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(open(), 0, "a deploy's errors paged: {:#?}", incidents(&w));
    set("api-deploying", StateValue::Ok).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while open() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let paged: Vec<Value> = incidents(&w)
        .into_iter()
        .filter(|i| i["status"] != "resolved")
        .collect();
    assert_eq!(paged.len(), 1, "{paged:#?}");
    assert!(
        paged[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("ALARM: api-page"),
        "{paged:#?}"
    );
    // The errors stop: the composite returns to OK and resolves the incident.
    set("api-error-rate", StateValue::Ok).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while open() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(open(), 0, "{:#?}", incidents(&w));
    // The team's chat heard of both, signed with the subscription's secret.
    for event_type in ["incident.triggered", "incident.resolved"] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let post = loop {
            let post = posts
                .lock()
                .unwrap()
                .iter()
                .find(|p| {
                    let e = &p.event()["event"];
                    e["event_type"] == event_type && e["data"]["id"] == paged[0]["id"]
                })
                .cloned();
            if post.is_some() || Instant::now() > deadline {
                break post;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let post = post.unwrap_or_else(|| panic!("no {event_type} webhook"));
        assert!(post.signed_with(&secret), "{post:?}");
        assert_eq!(post.subscription, subscription);
    }

    // PagerDuty's orchestration: a load test's alarm is an alert, not an
    // incident.
    let before = incidents(&w).len();
    let sns = aws_sdk_sns::Client::new(&w.moto.sdk_config().await);
    let topic_arn = applied["resources"]["topic"]["resource"]["outputs"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let message = json!({"AlarmName": "api-page", "AlarmDescription": "load test of the API",
        "NewStateValue": "ALARM", "OldStateValue": "OK", "NewStateReason": "test",
        "Region": "Asia Pacific (Tokyo)"});
    sns.publish()
        .topic_arn(&topic_arn)
        .subject("ALARM: \"api-page\"")
        .message(message.to_string())
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while w.emulator.with_db(|db| db.suppressed_alerts.len()) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let suppressed = w.emulator.with_db(|db| db.suppressed_alerts.clone());
    assert_eq!(suppressed.len(), 1, "{suppressed:#?}");
    assert_eq!(suppressed[0]["rules"], json!(["load tests page nobody"]));
    assert_eq!(incidents(&w).len(), before);
    // The tag is on the team and on the policy.
    assert_eq!(w.emulator.with_db(|db| db.tag_links.len()), 2);

    // Adopted by import ids into a second state.
    let tag_id = applied["resources"]["tag-tier-1"]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let team_id = applied["resources"]["team"]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let service_id = applied["resources"]["service"]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = tmp.path().join("second.json");
    let second = second.to_str().unwrap();
    let adopt = |args: Vec<String>| {
        let mut c = w.command_without_state(&["import", f, "--state", second, "--yes"]);
        c.args(args);
        c.output().unwrap()
    };
    let out = adopt(vec![
        "composite-alarm=api-page".into(),
        "alarm-api-error-rate=api-error-rate".into(),
        format!("tag-tier-1={tag_id}"),
        format!("tag-tier-1-teams=teams.{team_id}.{tag_id}"),
        format!("orchestration={service_id}"),
        format!("webhook-chat={subscription}"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let state: Value = serde_json::from_slice(&std::fs::read(second).unwrap()).unwrap();
    for node in [
        "composite-alarm",
        "tag-tier-1",
        "tag-tier-1-teams",
        "orchestration",
        "webhook-chat",
    ] {
        assert!(
            state["resources"][node]["adopted_from"].is_object(),
            "{node}: {:#}",
            state["resources"]
        );
    }
    assert_eq!(
        state["resources"]["composite-alarm"]["resource"]["props"]["alarm_rule"],
        applied["resources"]["composite-alarm"]["resource"]["props"]["alarm_rule"]
    );
    let out = adopt(vec![format!("tag-tier-1-teams={team_id}.{tag_id}")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("ENTITY_TYPE.ENTITY_ID.TAG_ID"),
        "{}",
        text(&out)
    );

    // Destroys to nothing.
    let destroy = w.blueprint(&["destroy", f, "--yes"]).await;
    assert!(destroy.status.success(), "{}", text(&destroy));
    assert!(
        w.emulator
            .with_db(|db| db.list("webhook_subscriptions").is_empty()),
        "the subscription outlived its blueprint"
    );
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_types(AlarmType::CompositeAlarm)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
        .unwrap();
    assert!(
        alarms.metric_alarms().is_empty() && alarms.composite_alarms().is_empty(),
        "{alarms:?}"
    );
    for collection in [
        "services",
        "escalation_policies",
        "schedules",
        "teams",
        "tags",
    ] {
        assert_eq!(w.count(collection), 0, "{collection} left after destroy");
    }
    assert_eq!(w.emulator.with_db(|db| db.tag_links.len()), 0);
    assert!(w.emulator.with_db(|db| db.orchestrations.is_empty()));
}
