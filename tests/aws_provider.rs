//! The AWS provider against moto's standalone server: every kind's create ->
//! read (equal to what was declared) -> update -> delete, drift, the IAM
//! propagation retry, clear errors for bad input, adopting after a crash, and SNS
//! delivering an alarm over HTTPS through the created subscription to the PagerDuty
//! emulator, and throttling retried with backoff (a throttling proxy before moto).

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use blueprint::assets::{self, Asset};
use blueprint::engine::resolve::same;
use blueprint::providers::aws::AwsProvider;
use blueprint::providers::pagerduty::{PagerDutyConfig, PagerDutyProvider};
use blueprint::providers::retry::Policy;
use blueprint::providers::{Desired, ErrorClass, Looking, Proof, Provider, Resource};
use serde_json::{Map, Value, json};
use support::moto::Moto;

fn props(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

async fn provider(moto: &Moto) -> AwsProvider {
    AwsProvider::with_config(&moto.sdk_config().await).with_policies(
        Policy::quick(Duration::from_secs(10)),
        Policy::quick(Duration::from_secs(10)),
    )
}

struct Node {
    kind: &'static str,
    name: &'static str,
    props: Map<String, Value>,
}

fn node(kind: &'static str, name: &'static str, p: Value) -> Node {
    Node {
        kind,
        name,
        props: props(p),
    }
}

impl Node {
    fn desired<'a>(&'a self, assets: &'a BTreeMap<String, Asset>) -> Desired<'a> {
        Desired {
            blueprint: "test-bp",
            node: self.name,
            kind: self.kind,
            props: &self.props,
            assets,
        }
    }
}

fn assert_reads_back(provider: &dyn Provider, n: &Node, observed: &Resource) {
    for (name, value) in &n.props {
        if value.is_null() || name == "code" || name == "tags" || name == "force_destroy" {
            continue;
        }
        let Some(got) = observed.props.get(name) else {
            continue; // not observable: the engine compares what was applied
        };
        assert!(
            same(value, got) || provider.equivalent(n.kind, name, value, got),
            "{}.{name}: declared {value} but read back {got}",
            n.kind
        );
    }
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn code_folder(body: &str) -> (tempfile::TempDir, Asset) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("code")).unwrap();
    std::fs::write(dir.path().join("code/index.js"), body).unwrap();
    let asset = assets::pack(dir.path(), "code").unwrap();
    (dir, asset)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_round_trips() {
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let (_dir, asset) = code_folder("exports.handler = async () => { console.error('ERROR'); };\n");
    let mut assets = BTreeMap::new();
    assets.insert(asset.id.clone(), asset.clone());

    let mut created: Vec<(&Node, Resource)> = Vec::new();
    let role = node(
        "aws.iam_role",
        "role",
        json!({"name": "fn-role", "assume_role_policy": TRUST}),
    );
    let r = aws.create(&role.desired(&assets)).await.unwrap();
    let role_arn = r.outputs["arn"].clone();
    let nodes = vec![
        node(
            "aws.iam_role_policy_attachment",
            "attach",
            json!({
            "role": "fn-role",
            "policy_arn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}),
        ),
        node(
            "aws.s3_bucket",
            "bucket",
            json!({"bucket": "code-bucket", "force_destroy": true}),
        ),
        node(
            "aws.s3_object",
            "object",
            json!({
            "bucket": "code-bucket", "key": format!("fn/{}", asset.file_name),
            "source": asset.id, "content_type": "application/zip"}),
        ),
        node(
            "aws.cloudwatch_log_group",
            "group",
            json!({"name": "/aws/lambda/fn", "retention_in_days": 14}),
        ),
        node(
            "aws.cloudwatch_log_metric_filter",
            "filter",
            json!({
            "name": "fn-errors", "log_group": "/aws/lambda/fn", "pattern": "ERROR",
            "metric_transformation": {"metric_name": "fn-errors", "metric_namespace": "LambdaErrors",
                                      "metric_value": "1", "default_value": 0.0}}),
        ),
        node(
            "aws.lambda_function",
            "fn",
            json!({
            "function_name": "fn", "role": role_arn, "handler": "index.handler", "runtime": "nodejs22.x",
            "code": {"s3_bucket": "code-bucket", "s3_key": format!("fn/{}", asset.file_name)},
            "source_code_hash": asset.sha256_base64, "log_group": "/aws/lambda/fn"}),
        ),
        node("aws.sns_topic", "topic", json!({"name": "fn-alarm"})),
        node(
            "aws.cloudwatch_metric_alarm",
            "alarm",
            json!({
            "alarm_name": "fn-errors", "metric_name": "fn-errors", "namespace": "LambdaErrors",
            "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 1.0,
            "comparison_operator": "GreaterThanOrEqualToThreshold", "treat_missing_data": "notBreaching",
            "alarm_actions": []}),
        ),
    ];
    assert_reads_back(
        &aws,
        &role,
        &aws.read(role.kind, &r).await.unwrap().unwrap(),
    );
    for n in &nodes {
        let resource = aws
            .create(&n.desired(&assets))
            .await
            .unwrap_or_else(|e| panic!("create {}: {e}", n.kind));
        let read = aws
            .read(n.kind, &resource)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} readable", n.kind));
        assert_reads_back(&aws, n, &read);
        let kind = blueprint::providers::catalog().lookup(n.kind).unwrap();
        for output in kind.outputs {
            assert!(
                read.outputs.contains_key(output.name),
                "{} lacks output {}",
                n.kind,
                output.name
            );
        }
        created.push((n, read));
    }

    // Updates in place.
    let group = node(
        "aws.cloudwatch_log_group",
        "group",
        json!({"name": "/aws/lambda/fn", "retention_in_days": 30}),
    );
    let prior = &created.iter().find(|(n, _)| n.name == "group").unwrap().1;
    let updated = aws
        .update(
            &group.desired(&assets),
            prior,
            &["retention_in_days".into()],
        )
        .await
        .unwrap();
    assert_eq!(updated.props["retention_in_days"], 30);

    let alarm_prior = created
        .iter()
        .find(|(n, _)| n.name == "alarm")
        .unwrap()
        .1
        .clone();
    let mut alarm = node("aws.cloudwatch_metric_alarm", "alarm", json!({}));
    alarm.props = created
        .iter()
        .find(|(n, _)| n.name == "alarm")
        .unwrap()
        .0
        .props
        .clone();
    alarm.props.insert("threshold".into(), json!(5.0));
    let updated = aws
        .update(&alarm.desired(&assets), &alarm_prior, &["threshold".into()])
        .await
        .unwrap();
    assert_eq!(updated.props["threshold"], 5.0);

    // New code is an update of the function's code, not a replacement.
    let (_dir2, asset2) = code_folder("exports.handler = async () => 'v2';\n");
    assets.insert(asset2.id.clone(), asset2.clone());
    let fn_prior = created
        .iter()
        .find(|(n, _)| n.name == "fn")
        .unwrap()
        .1
        .clone();
    let mut function = node("aws.lambda_function", "fn", json!({}));
    function.props = created
        .iter()
        .find(|(n, _)| n.name == "fn")
        .unwrap()
        .0
        .props
        .clone();
    function
        .props
        .insert("code".into(), json!({"asset": asset2.id}));
    function
        .props
        .insert("source_code_hash".into(), json!(asset2.sha256_base64));
    let updated = aws
        .update(
            &function.desired(&assets),
            &fn_prior,
            &["code".into(), "source_code_hash".into()],
        )
        .await
        .unwrap();
    assert_eq!(
        updated.props["source_code_hash"],
        json!(asset2.sha256_base64)
    );
    assert_eq!(
        updated.outputs["arn"], fn_prior.outputs["arn"],
        "same function"
    );
    // A configuration change on a function that declares no environment
    // variables (the seed's): the update clears them the way the API takes it.
    function.props.insert("timeout".into(), json!(10));
    let updated = aws
        .update(&function.desired(&assets), &updated, &["timeout".into()])
        .await
        .unwrap();
    assert_eq!(updated.props["timeout"], json!(10));
    assert!(
        updated.props.get("environment").is_none_or(Value::is_null),
        "{:?}",
        updated.props
    );

    // Delete in reverse order; each is gone after, and deleting again is fine.
    for (n, resource) in created.iter().rev() {
        aws.delete(n.kind, resource)
            .await
            .unwrap_or_else(|e| panic!("delete {}: {e}", n.kind));
        assert!(
            aws.read(n.kind, resource).await.unwrap().is_none(),
            "{} gone",
            n.kind
        );
        aws.delete(n.kind, resource).await.unwrap();
    }
    aws.delete(role.kind, &r).await.unwrap();
    assert!(aws.read(role.kind, &r).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_and_adoption() {
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let assets = BTreeMap::new();
    let group = node(
        "aws.cloudwatch_log_group",
        "group",
        json!({"name": "/drift/group"}),
    );
    let created = aws.create(&group.desired(&assets)).await.unwrap();
    // A crash after create: find() adopts it by name + tags.
    let found = aws
        .find(&group.desired(&assets))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.resource.id, created.id);
    assert_eq!(found.proof, Proof::Tagged);
    // Another blueprint's resource of the same name is found, and not ours.
    let other = Desired {
        blueprint: "someone-else",
        ..group.desired(&assets)
    };
    let theirs = aws.find(&other).await.unwrap().expect("found by name");
    assert_eq!(theirs.proof, Proof::Untagged);
    assert!(!theirs.proof.adoptable(Looking::AfterIntent));
    // Retention changed by hand shows up; deleting by hand reads as gone.
    aws.logs
        .put_retention_policy()
        .log_group_name("/drift/group")
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws.read(group.kind, &created).await.unwrap().unwrap().props["retention_in_days"],
        7
    );
    aws.logs
        .delete_log_group()
        .log_group_name("/drift/group")
        .send()
        .await
        .unwrap();
    assert!(aws.read(group.kind, &created).await.unwrap().is_none());
}

/// Finds asked at the same moment (a plan's looks) share one call where the
/// API takes a list of names: one DescribeLogGroups for five groups, one
/// DescribeAlarms for three alarms. Each still gets its own answer, and one
/// that does not exist reads as absent.
#[tokio::test(flavor = "multi_thread")]
async fn finds_asked_at_once_share_one_call() {
    use support::fault_proxy::{self, Faults};
    let moto = Moto::start();
    let proxy = fault_proxy::start(&moto, Faults::default()).await;
    let aws = AwsProvider::with_config(&fault_proxy::sdk_config(&proxy).await).with_policies(
        Policy::quick(Duration::from_secs(10)),
        Policy::quick(Duration::from_secs(10)),
    );
    let assets = BTreeMap::new();
    let groups: Vec<Node> = ["a", "b", "c", "d"]
        .into_iter()
        .map(|n| {
            node(
                "aws.cloudwatch_log_group",
                n,
                json!({"name": format!("/batched/{n}")}),
            )
        })
        .collect();
    let alarms: Vec<Node> = ["x", "y", "z"]
        .into_iter()
        .map(|n| {
            node(
                "aws.cloudwatch_metric_alarm",
                n,
                json!({
                "alarm_name": format!("batched-{n}"), "metric_name": "m", "namespace": "Batched",
                "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 1.0,
                "comparison_operator": "GreaterThanOrEqualToThreshold", "alarm_actions": []}),
            )
        })
        .collect();
    let mut created = Vec::new();
    for n in groups.iter().chain(&alarms) {
        created.push(aws.create(&n.desired(&assets)).await.unwrap().id);
    }
    let absent = node(
        "aws.cloudwatch_log_group",
        "e",
        json!({"name": "/batched/never-created"}),
    );
    let before = proxy.counters().calls;
    let looks = groups.iter().chain(&alarms).chain([&absent]);
    let found =
        futures::future::join_all(looks.map(|n| async { aws.find(&n.desired(&assets)).await }))
            .await;
    let after = proxy.counters().calls;
    let made = |action: &str| after.get(action).unwrap_or(&0) - before.get(action).unwrap_or(&0);
    assert_eq!(made("logs:DescribeLogGroups"), 1, "{after:?}");
    assert_eq!(made("monitoring:DescribeAlarms"), 1, "{after:?}");
    let (absent_found, present) = found.split_last().unwrap();
    for ((n, id), f) in groups.iter().chain(&alarms).zip(&created).zip(present) {
        let f = f.as_ref().unwrap().as_ref().expect("found");
        assert_eq!(f.proof, Proof::Tagged, "{}", n.name);
        assert_eq!(&f.resource.id, id, "{}", n.name);
    }
    assert!(absent_found.as_ref().unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_waits_for_a_fresh_role() {
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let (_dir, asset) = code_folder("exports.handler = async () => 1;\n");
    let mut assets = BTreeMap::new();
    assets.insert(asset.id.clone(), asset.clone());
    let role_arn = "arn:aws:iam::123456789012:role/late-role";
    let function = node(
        "aws.lambda_function",
        "fn",
        json!({
        "function_name": "late", "role": role_arn, "handler": "index.handler", "runtime": "nodejs22.x",
        "code": {"asset": asset.id}}),
    );
    // The role appears a moment after the create starts, as a fresh role
    // propagates through IAM.
    let iam = aws.iam.clone();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        iam.create_role()
            .role_name("late-role")
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .unwrap();
    });
    let created = aws
        .create(&function.desired(&assets))
        .await
        .expect("created once the role exists");
    late.await.unwrap();
    assert_eq!(created.outputs["function_name"], "late");
    assert_eq!(
        created.props["source_code_hash"],
        json!(asset.sha256_base64)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_the_aws_error_named() {
    // moto accepts any comparison operator, so the operator is held to AWS's list
    // by graph validation, before any API call:
    let mut graph = blueprint::graph::Graph::default();
    graph.declare("aws.cloudwatch_metric_alarm", "bad-alarm", props(json!({
        "alarm_name": "x", "metric_name": "m", "namespace": "n", "statistic": "Sum", "period": 60,
        "evaluation_periods": 1, "threshold": 1.0, "comparison_operator": "Bogus", "alarm_actions": []})));
    graph.declare(
        "aws.cloudwatch_log_group",
        "bad-group",
        props(json!({"name": "no spaces allowed!"})),
    );
    let invalid = blueprint::graph::validate::validate(&graph, blueprint::providers::catalog())
        .unwrap_err()
        .to_string();
    assert!(
        invalid.contains("bad-group (aws.cloudwatch_log_group) prop `name`"),
        "{invalid}"
    );
    assert!(invalid.contains("bad-alarm (aws.cloudwatch_metric_alarm) prop `comparison_operator`: \"Bogus\" is not one of"), "{invalid}");

    // What AWS itself rejects comes back with the node and AWS's code.
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let assets = BTreeMap::new();
    let group = node(
        "aws.cloudwatch_log_group",
        "twice",
        json!({"name": "/twice"}),
    );
    aws.create(&group.desired(&assets)).await.unwrap();
    let e = aws.create(&group.desired(&assets)).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert!(
        e.message
            .starts_with("twice (aws.cloudwatch_log_group): AWS ResourceAlreadyExistsException: "),
        "{e}"
    );
    // A role that never appears: the propagation wait is bounded, then the error says why.
    let aws = AwsProvider::with_config(&moto.sdk_config().await).with_policies(
        Policy::quick(Duration::from_secs(1)),
        Policy::quick(Duration::from_secs(1)),
    );
    let (_dir, asset) = code_folder("exports.handler = 1;\n");
    let mut assets = BTreeMap::new();
    assets.insert(asset.id.clone(), asset.clone());
    let function = node(
        "aws.lambda_function",
        "orphan-fn",
        json!({
        "function_name": "orphan", "role": "arn:aws:iam::123456789012:role/never", "handler": "index.handler",
        "runtime": "nodejs22.x", "code": {"asset": asset.id}}),
    );
    let e = aws.create(&function.desired(&assets)).await.unwrap_err();
    assert!(
        e.message
            .starts_with("orphan-fn (aws.lambda_function): AWS InvalidParameterValueException: "),
        "{e}"
    );
}

/// SNS delivers over HTTPS to the integration's CloudWatch endpoint and checks the
/// endpoint's certificate, as AWS does with PagerDuty's: the emulator serves TLS
/// with a fresh test CA that only the first moto trusts (`REQUESTS_CA_BUNDLE`).
#[tokio::test(flavor = "multi_thread")]
async fn sns_delivers_an_alarm_to_pagerduty_over_https() {
    let emu = support::pagerduty::emulator(pagerduty_emulator::Config {
        tls: true,
        ..Default::default()
    })
    .await;
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), emu.ca_pem().unwrap()).unwrap();
    let moto = Moto::start_with(&[("REQUESTS_CA_BUNDLE", ca.path().to_str().unwrap())]);
    let aws = provider(&moto).await;
    let https = emu.https_url().unwrap();
    let pd = PagerDutyProvider::with_config(&PagerDutyConfig {
        token: support::pagerduty::TOKEN.into(),
        api_url: emu.base_url(),
        events_url: https.clone(),
        from_email: None,
    })
    .unwrap();
    let assets = BTreeMap::new();
    // A service with an on-call user and a CloudWatch integration.
    let user = pd
        .create(
            &node("pagerduty.user", "u", json!({"email": "user1@example.com"})).desired(&assets),
        )
        .await
        .unwrap();
    let vendor = pd
        .create(
            &node(
                "pagerduty.vendor",
                "v",
                json!({"vendor_name": "Amazon CloudWatch"}),
            )
            .desired(&assets),
        )
        .await
        .unwrap();
    let policy = pd.create(&node("pagerduty.escalation_policy", "p", json!({"name": "p", "rules": [{"escalation_delay_in_minutes": 5, "targets": [{"target_type": "user_reference", "id": user.outputs["id"]}]}]})).desired(&assets)).await.unwrap();
    let service = pd
        .create(
            &node(
                "pagerduty.service",
                "s",
                json!({"name": "s", "escalation_policy": policy.outputs["id"]}),
            )
            .desired(&assets),
        )
        .await
        .unwrap();
    let integration = pd
        .create(
            &node(
                "pagerduty.service_integration",
                "i",
                json!({"service": service.outputs["id"], "vendor": vendor.outputs["id"]}),
            )
            .desired(&assets),
        )
        .await
        .unwrap();
    let endpoint = &integration.outputs["cloudwatch_endpoint"];
    assert!(
        endpoint.starts_with(&format!("{https}/integration/")),
        "{endpoint}"
    );
    assert_eq!(integration.outputs["cloudwatch_protocol"], "https");

    let topic = aws
        .create(&node("aws.sns_topic", "t", json!({"name": "alarms"})).desired(&assets))
        .await
        .unwrap();
    let subscription = node(
        "aws.sns_topic_subscription",
        "sub",
        json!({
        "topic": topic.outputs["arn"], "protocol": integration.outputs["cloudwatch_protocol"],
        "endpoint": endpoint}),
    );
    let sub = aws.create(&subscription.desired(&assets)).await.unwrap();
    assert!(sub.id.starts_with("arn:aws:sns:"), "confirmed: {}", sub.id);

    let alarm = json!({"AlarmName": "fn-errors", "NewStateValue": "ALARM", "NewStateReason": "Threshold crossed", "AlarmDescription": "fn logged ERROR"});
    aws.sns
        .publish()
        .topic_arn(&topic.outputs["arn"])
        .message(alarm.to_string())
        .send()
        .await
        .unwrap();
    // SNS delivers after Publish answers (tests/moto/server.py, as SNS does).
    let waiting = std::time::Instant::now();
    while emu.with_db(|db| db.incidents.is_empty()) && waiting.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let incidents = emu.with_db(|db| db.incidents.values().cloned().collect::<Vec<_>>());
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["status"], "triggered");
    assert_eq!(
        incidents[0]["assignments"][0]["assignee"]["id"],
        json!(user.outputs["id"])
    );

    // The certificate is really checked: an AWS that does not trust the test CA
    // delivers nothing. Publish succeeds (SNS delivers afterwards); the failed
    // TLS handshakes are retried by the delivery policy, then counted as a failed
    // notification.
    let untrusting = Moto::start();
    let aws = provider(&untrusting).await;
    let topic = aws
        .create(&node("aws.sns_topic", "t", json!({"name": "alarms"})).desired(&assets))
        .await
        .unwrap();
    let subscription = node(
        "aws.sns_topic_subscription",
        "sub",
        json!({"topic": topic.outputs["arn"], "protocol": "https", "endpoint": endpoint,
               "delivery_policy": r#"{"healthyRetryPolicy":{"numRetries":1,"minDelayTarget":1,"maxDelayTarget":1}}"#}),
    );
    aws.create(&subscription.desired(&assets)).await.unwrap();
    let since = std::time::SystemTime::now() - Duration::from_secs(60);
    aws.sns
        .publish()
        .topic_arn(&topic.outputs["arn"])
        .message(alarm.to_string())
        .send()
        .await
        .unwrap();
    use blueprint::providers::probe::AlarmProbe;
    let waiting = std::time::Instant::now();
    let mut failed = 0;
    while failed == 0 && waiting.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        failed = aws
            .failed_deliveries(&topic.outputs["arn"], since)
            .await
            .unwrap();
    }
    // SNS counts every failed HTTP(S) attempt: the first and its one retry.
    let waiting = std::time::Instant::now();
    while failed < 2 && waiting.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        failed = aws
            .failed_deliveries(&topic.outputs["arn"], since)
            .await
            .unwrap();
    }
    assert_eq!(failed, 2, "both untrusted attempts are counted as failed");
    let count = emu.with_db(|db| db.incidents.len());
    assert_eq!(count, 1, "a notification crossed an untrusted certificate");
}

/// Throttling answered in each protocol's shape (Query for SNS, JSON for Logs,
/// REST-JSON for Lambda) is retried with backoff until it passes; throttling that
/// never ends gives up within the policy's bound with an error naming the resource.
#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_with_backoff() {
    use support::fault_proxy::{self, Faults};
    let moto = Moto::start();
    let proxy = fault_proxy::start(&moto, Faults::default()).await;
    let aws = AwsProvider::with_config(&fault_proxy::sdk_config(&proxy).await).with_policies(
        Policy::quick(Duration::from_secs(10)),
        Policy::quick(Duration::from_secs(10)),
    );
    let direct = provider(&moto).await;
    let assets = BTreeMap::new();

    // More throttles in a row than the SDK's own 3 attempts absorb.
    let topic = node("aws.sns_topic", "t", json!({"name": "throttled-topic"}));
    proxy.throttle_next(7);
    let created = aws.create(&topic.desired(&assets)).await.unwrap();
    assert_eq!(proxy.throttled(), 7);
    let read = direct.read(topic.kind, &created).await.unwrap();
    assert!(read.is_some(), "the topic exists in moto after the retries");

    let group = node(
        "aws.cloudwatch_log_group",
        "g",
        json!({"name": "/aws/lambda/throttled", "retention_in_days": 7}),
    );
    proxy.throttle_next(7);
    let created = aws.create(&group.desired(&assets)).await.unwrap();
    assert_eq!(proxy.throttled(), 7);
    assert_reads_back(&direct, &group, &created);

    // Concurrent changes to a log group are aborted by CloudWatch Logs; the
    // change is tried again and lands.
    proxy.set_faults(Faults {
        log_change_aborts: 3,
        ..Faults::default()
    });
    let group = node(
        "aws.cloudwatch_log_group",
        "g2",
        json!({"name": "/aws/lambda/aborted", "retention_in_days": 14}),
    );
    let created = aws.create(&group.desired(&assets)).await.unwrap();
    assert_eq!(proxy.injected(fault_proxy::fault::LOG_CHANGE_ABORTED), 3);
    assert_reads_back(&direct, &group, &created);
    proxy.set_faults(Faults::default());

    proxy.throttle_next(5);
    let missing = Resource {
        id: "nope".into(),
        props: Map::new(),
        outputs: BTreeMap::new(),
    };
    let found = aws.read("aws.lambda_function", &missing).await.unwrap();
    assert!(found.is_none(), "a throttled 404 is still a 404");
    assert_eq!(proxy.throttled(), 5);

    // Throttled for good: bounded, classified, named.
    let aws = AwsProvider::with_config(&fault_proxy::sdk_config(&proxy).await).with_policies(
        Policy::quick(Duration::from_secs(1)),
        Policy::quick(Duration::from_secs(1)),
    );
    proxy.throttle_next(u32::MAX);
    let started = std::time::Instant::now();
    let other = node("aws.sns_topic", "t2", json!({"name": "never"}));
    let error = aws.create(&other.desired(&assets)).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Transient);
    assert!(
        error.message.contains("t2") && error.message.contains("AWS Throttling: Rate exceeded"),
        "{}",
        error.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(proxy.throttled() > 3, "retried: {}", proxy.throttled());
}

/// A tag change is applied in place on every kind that has tags: changed and
/// added keys set, removed keys gone (PutMetricAlarm ignores tags on an existing
/// alarm; CreateTopic/CreateLogGroup tags only apply to new resources; TagRole
/// never removes). Asked of moto directly.
#[tokio::test(flavor = "multi_thread")]
async fn tag_changes_are_applied_in_place() {
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let assets = BTreeMap::new();
    let before = json!([{"key": "team", "value": "sre"}, {"key": "cost", "value": "1"}]);
    let after = json!([{"key": "team", "value": "platform"}]);
    let with = |base: Value, tags: &Value| {
        let mut p = props(base);
        p.insert("tags".into(), tags.clone());
        p
    };
    let alarm = json!({
        "alarm_name": "tagged", "metric_name": "m", "namespace": "n", "statistic": "Sum",
        "period": 60, "evaluation_periods": 1, "threshold": 1.0,
        "comparison_operator": "GreaterThanOrEqualToThreshold", "alarm_actions": []});
    let role = json!({"name": "tagged-role", "assume_role_policy": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#});
    let kinds: [(&str, Value); 4] = [
        ("aws.sns_topic", json!({"name": "tagged"})),
        ("aws.cloudwatch_log_group", json!({"name": "/tagged"})),
        ("aws.cloudwatch_metric_alarm", alarm),
        ("aws.iam_role", role),
    ];
    for (kind, base) in kinds {
        let first = Node {
            kind: Box::leak(kind.to_owned().into_boxed_str()),
            name: "tagged",
            props: with(base.clone(), &before),
        };
        let made = aws.create(&first.desired(&assets)).await.unwrap();
        let second = Node {
            props: with(base, &after),
            ..first
        };
        aws.update(&second.desired(&assets), &made, &["tags".to_owned()])
            .await
            .unwrap();
        let mut tags: Vec<(String, String)> = match kind {
            "aws.sns_topic" => aws
                .sns
                .list_tags_for_resource()
                .resource_arn(&made.id)
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            "aws.cloudwatch_log_group" => aws
                .logs
                .list_tags_for_resource()
                .resource_arn(made.outputs["arn"].trim_end_matches(":*"))
                .send()
                .await
                .unwrap()
                .tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            "aws.cloudwatch_metric_alarm" => aws
                .cloudwatch
                .list_tags_for_resource()
                .resource_arn(&made.outputs["arn"])
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            _ => aws
                .iam
                .list_role_tags()
                .role_name("tagged-role")
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        };
        tags.retain(|(k, _)| !k.starts_with("blueprint:"));
        tags.sort();
        assert_eq!(
            tags,
            vec![("team".to_owned(), "platform".to_owned())],
            "{kind}"
        );
    }
}

/// The two lookups a blueprint uses to make global names unique: the account
/// of the credentials (STS GetCallerIdentity, through moto) and the provider's
/// region, each with its guard.
#[tokio::test(flavor = "multi_thread")]
async fn lookups_name_the_account_and_region() {
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let assets = BTreeMap::new();

    let me = node("aws.caller_identity", "account", json!({}));
    let found = aws.create(&me.desired(&assets)).await.unwrap();
    let account = found.outputs["account_id"].clone();
    assert_eq!(account.len(), 12, "{found:?}");
    assert!(account.bytes().all(|b| b.is_ascii_digit()), "{account}");
    assert!(found.outputs["arn"].starts_with("arn:aws:"), "{found:?}");
    assert!(!found.outputs["user_id"].is_empty(), "{found:?}");

    let allowed = node(
        "aws.caller_identity",
        "account",
        json!({"allowed_account_ids": [account.clone()]}),
    );
    assert!(aws.create(&allowed.desired(&assets)).await.is_ok());
    let elsewhere = node(
        "aws.caller_identity",
        "account",
        json!({"allowed_account_ids": ["111111111111"]}),
    );
    let refused = aws.create(&elsewhere.desired(&assets)).await.unwrap_err();
    assert!(
        refused.message.contains(&format!("account {account}"))
            && refused.message.contains("111111111111"),
        "{refused}"
    );

    let region = node("aws.region", "region", json!({}));
    let found = aws.create(&region.desired(&assets)).await.unwrap();
    assert_eq!(found.outputs["name"], support::moto::REGION);
    let other = node("aws.region", "region", json!({"name": "eu-west-1"}));
    let refused = aws.create(&other.desired(&assets)).await.unwrap_err();
    assert!(
        refused
            .message
            .contains("works in ap-northeast-1, not eu-west-1"),
        "{refused}"
    );
}

/// `aws.sqs_queue` and `aws.sqs_queue_policy` round-trip on moto, and a
/// subscription's redrive policy is set at subscribe, read back, and cleared.
#[tokio::test(flavor = "multi_thread")]
async fn dead_letter_queue_kinds_round_trip() {
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let assets = BTreeMap::new();

    let queue = node(
        "aws.sqs_queue",
        "dlq",
        json!({"name": "pages-dlq", "message_retention_seconds": 1_209_600,
               "tags": [{"key": "team", "value": "sre"}]}),
    );
    let made = aws.create(&queue.desired(&assets)).await.unwrap();
    let url = made.outputs["url"].clone();
    let arn = made.outputs["arn"].clone();
    assert!(url.ends_with("/pages-dlq"), "{url}");
    assert!(
        arn.starts_with("arn:aws:sqs:") && arn.ends_with(":pages-dlq"),
        "{arn}"
    );
    assert_eq!(made.outputs["name"], "pages-dlq");
    let read = aws.read(queue.kind, &made).await.unwrap().unwrap();
    assert_reads_back(&aws, &queue, &read);
    // A crash after create: found by name, ours by its tags; not someone else's.
    let found = aws.find(&queue.desired(&assets)).await.unwrap().unwrap();
    assert_eq!(
        (found.resource.id.as_str(), found.proof),
        (url.as_str(), Proof::Tagged)
    );
    let other = Desired {
        blueprint: "someone-else",
        ..queue.desired(&assets)
    };
    assert_eq!(
        aws.find(&other).await.unwrap().unwrap().proof,
        Proof::Untagged
    );
    // Attributes and tags change in place.
    let changed = node(
        "aws.sqs_queue",
        "dlq",
        json!({"name": "pages-dlq", "message_retention_seconds": 86_400,
               "visibility_timeout_seconds": 60, "tags": []}),
    );
    let updated = aws
        .update(
            &changed.desired(&assets),
            &made,
            &[
                "message_retention_seconds".into(),
                "visibility_timeout_seconds".into(),
                "tags".into(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated.props["message_retention_seconds"], 86_400);
    assert_eq!(updated.props["visibility_timeout_seconds"], 60);
    let tags = aws
        .sqs
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(
        !tags.tags().is_some_and(|t| t.contains_key("team")),
        "the dropped tag is removed: {tags:?}"
    );

    // The policy SNS needs, read back as the same document.
    let policy_text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"sns.amazonaws.com"}},"Action":"sqs:SendMessage","Resource":"{arn}"}}]}}"#
    );
    let policy = node(
        "aws.sqs_queue_policy",
        "dlq-policy",
        json!({"queue_url": url, "policy": policy_text}),
    );
    let p = aws.create(&policy.desired(&assets)).await.unwrap();
    assert_eq!(p.outputs["id"], url);
    let read = aws.read(policy.kind, &p).await.unwrap().unwrap();
    assert_reads_back(&aws, &policy, &read);
    assert_eq!(
        aws.find(&policy.desired(&assets))
            .await
            .unwrap()
            .unwrap()
            .proof,
        Proof::Part
    );

    // A subscription with a redrive policy naming the queue.
    let topic = aws
        .create(&node("aws.sns_topic", "topic", json!({"name": "pages"})).desired(&assets))
        .await
        .unwrap();
    let target = aws
        .create(&node("aws.sqs_queue", "target", json!({"name": "pages-target"})).desired(&assets))
        .await
        .unwrap();
    let redrive = format!(r#"{{"deadLetterTargetArn":"{arn}"}}"#);
    let subscription = node(
        "aws.sns_topic_subscription",
        "sub",
        json!({"topic": topic.outputs["arn"], "protocol": "sqs",
               "endpoint": target.outputs["arn"], "redrive_policy": redrive}),
    );
    let sub = aws.create(&subscription.desired(&assets)).await.unwrap();
    let read = aws.read(subscription.kind, &sub).await.unwrap().unwrap();
    assert_reads_back(&aws, &subscription, &read);
    assert!(
        read.props.contains_key("redrive_policy"),
        "{:?}",
        read.props
    );
    let without = node(
        "aws.sns_topic_subscription",
        "sub",
        json!({"topic": topic.outputs["arn"], "protocol": "sqs",
               "endpoint": target.outputs["arn"]}),
    );
    let cleared = aws
        .update(&without.desired(&assets), &sub, &["redrive_policy".into()])
        .await
        .unwrap();
    assert!(
        cleared
            .props
            .get("redrive_policy")
            .is_none_or(Value::is_null),
        "{:?}",
        cleared.props
    );

    // Deleting the policy leaves the queue without one; the queue goes; both
    // deletes succeed again once gone.
    aws.delete(policy.kind, &p).await.unwrap();
    assert!(aws.read(policy.kind, &p).await.unwrap().is_none());
    aws.delete(subscription.kind, &sub).await.unwrap();
    for q in [&updated, &target] {
        aws.delete("aws.sqs_queue", q).await.unwrap();
        assert!(aws.read("aws.sqs_queue", q).await.unwrap().is_none());
        aws.delete("aws.sqs_queue", q).await.unwrap();
    }
    aws.delete(policy.kind, &p).await.unwrap();
}

/// Messages in a queue within `within` (SNS → SQS delivery is moto's own).
async fn received(aws: &AwsProvider, url: &str, within: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let out = aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let bodies: Vec<String> = out
            .messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned))
            .collect();
        if !bodies.is_empty() || std::time::Instant::now() > deadline {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn put_drill_event(aws: &AwsProvider, detail: &str) {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("blueprint.drill")
        .detail_type("Drill")
        .detail(detail)
        .build();
    let out = aws.events.put_events().entries(entry).send().await.unwrap();
    assert_eq!(out.failed_entry_count(), 0, "{out:?}");
}

/// `aws.sns_topic_policy`, `aws.cloudwatch_event_rule` and
/// `aws.cloudwatch_event_target` round-trip on moto, and an event a rule
/// matches reaches the topic only once the topic's policy lets EventBridge
/// publish (the failure counted in `FailedInvocations`), never while the rule
/// is disabled.
#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_kinds_round_trip_and_deliver_through_the_topic_policy() {
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let assets = BTreeMap::new();

    let topic = aws
        .create(&node("aws.sns_topic", "topic", json!({"name": "events-pages"})).desired(&assets))
        .await
        .unwrap();
    let topic_arn = topic.outputs["arn"].clone();
    // The topic delivers to a queue the test reads (SNS → SQS is moto's own).
    let queue = aws
        .create(&node("aws.sqs_queue", "q", json!({"name": "events-seen"})).desired(&assets))
        .await
        .unwrap();
    let url = queue.outputs["url"].clone();
    aws.create(
        &node(
            "aws.sns_topic_subscription",
            "sub",
            json!({"topic": topic_arn, "protocol": "sqs", "endpoint": queue.outputs["arn"],
                   "raw_message_delivery": true}),
        )
        .desired(&assets),
    )
    .await
    .unwrap();

    // The rule: created, read back as declared, found by its tags.
    let pattern = r#"{"source": ["blueprint.drill"], "detail-type": ["Drill"]}"#;
    let rule = node(
        "aws.cloudwatch_event_rule",
        "rule",
        json!({"name": "task-stopped", "description": "ECS task stopped",
               "event_pattern": pattern, "tags": [{"key": "team", "value": "sre"}]}),
    );
    let r = aws.create(&rule.desired(&assets)).await.unwrap();
    assert_eq!(r.id, "task-stopped");
    assert_eq!(r.outputs["name"], "task-stopped");
    assert!(
        r.outputs["arn"].ends_with(":rule/task-stopped"),
        "{:?}",
        r.outputs
    );
    let read = aws.read(rule.kind, &r).await.unwrap().unwrap();
    assert_reads_back(&aws, &rule, &read);
    assert_eq!(read.props["state"], "ENABLED");
    let found = aws.find(&rule.desired(&assets)).await.unwrap().unwrap();
    assert_eq!(found.proof, Proof::Tagged);
    let other = Desired {
        blueprint: "someone-else",
        ..rule.desired(&assets)
    };
    assert_eq!(
        aws.find(&other).await.unwrap().unwrap().proof,
        Proof::Untagged
    );

    // The target: the topic, the event's detail only.
    let target = node(
        "aws.cloudwatch_event_target",
        "target",
        json!({"rule": "task-stopped", "target_id": "pages", "arn": topic_arn,
               "input_path": "$.detail"}),
    );
    let t = aws.create(&target.desired(&assets)).await.unwrap();
    assert_eq!(t.id, "task-stopped/pages");
    let read = aws.read(target.kind, &t).await.unwrap().unwrap();
    assert_reads_back(&aws, &target, &read);
    assert_eq!(
        aws.find(&target.desired(&assets))
            .await
            .unwrap()
            .unwrap()
            .proof,
        Proof::Part
    );

    // Without a topic policy for EventBridge, a matching event is not delivered:
    // EventBridge counts a failed invocation.
    let policy = node(
        "aws.sns_topic_policy",
        "policy",
        json!({"arn": topic_arn, "policy": format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"events","Effect":"Allow","Principal":{{"Service":"events.amazonaws.com"}},"Action":"sns:Publish","Resource":"{topic_arn}"}}]}}"#
        )}),
    );
    assert!(
        aws.find(&policy.desired(&assets)).await.unwrap().is_none(),
        "SNS's default policy is no policy of this node's"
    );
    put_drill_event(&aws, r#"{"n": 1}"#).await;
    assert!(
        received(&aws, &url, Duration::from_secs(2))
            .await
            .is_empty(),
        "delivered without a policy letting EventBridge publish"
    );
    let failed = aws
        .cloudwatch
        .list_metrics()
        .namespace("AWS/Events")
        .metric_name("FailedInvocations")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.metrics().len(), 1, "{failed:?}");

    // With it, the event's detail arrives.
    let p = aws.create(&policy.desired(&assets)).await.unwrap();
    assert_eq!(p.outputs["id"], topic_arn);
    let read = aws.read(policy.kind, &p).await.unwrap().unwrap();
    assert_reads_back(&aws, &policy, &read);
    assert_eq!(
        aws.find(&policy.desired(&assets))
            .await
            .unwrap()
            .unwrap()
            .proof,
        Proof::Part
    );
    put_drill_event(&aws, r#"{"n": 2}"#).await;
    let got = received(&aws, &url, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&got[0]).unwrap(),
        json!({"n": 2})
    );

    // Disabled, the rule matches nothing; its tags and description change in place.
    let disabled = node(
        "aws.cloudwatch_event_rule",
        "rule",
        json!({"name": "task-stopped", "event_pattern": pattern, "state": "DISABLED",
               "tags": []}),
    );
    let updated = aws
        .update(
            &disabled.desired(&assets),
            &r,
            &["state".into(), "description".into(), "tags".into()],
        )
        .await
        .unwrap();
    let read = aws.read(rule.kind, &updated).await.unwrap().unwrap();
    assert_eq!(read.props["state"], "DISABLED");
    assert!(
        read.props.get("description").is_none_or(Value::is_null),
        "{:?}",
        read.props
    );
    let tags = aws
        .events
        .list_tags_for_resource()
        .resource_arn(&r.outputs["arn"])
        .send()
        .await
        .unwrap();
    assert!(
        !tags.tags().iter().any(|t| t.key() == "team"),
        "the dropped tag is removed: {tags:?}"
    );
    put_drill_event(&aws, r#"{"n": 3}"#).await;
    assert!(
        received(&aws, &url, Duration::from_secs(2))
            .await
            .is_empty(),
        "a disabled rule delivered"
    );

    // The target changes in place (a constant input instead of the detail).
    let constant = node(
        "aws.cloudwatch_event_target",
        "target",
        json!({"rule": "task-stopped", "target_id": "pages", "arn": topic_arn,
               "input": r#"{"page": true}"#}),
    );
    let changed = aws
        .update(
            &constant.desired(&assets),
            &t,
            &["input".into(), "input_path".into()],
        )
        .await
        .unwrap();
    let read = aws.read(target.kind, &changed).await.unwrap().unwrap();
    assert_reads_back(&aws, &constant, &read);
    assert!(
        read.props.get("input_path").is_none_or(Value::is_null),
        "{:?}",
        read.props
    );

    // EventBridge refuses to delete a rule with targets; the engine deletes the
    // target first. Deleting the policy restores SNS's default; each delete
    // succeeds again once gone.
    let refused = aws.delete(rule.kind, &r).await.unwrap_err();
    assert!(refused.message.contains("targets"), "{refused}");
    aws.delete(target.kind, &t).await.unwrap();
    assert!(aws.read(target.kind, &t).await.unwrap().is_none());
    aws.delete(target.kind, &t).await.unwrap();
    aws.delete(rule.kind, &r).await.unwrap();
    assert!(aws.read(rule.kind, &r).await.unwrap().is_none());
    aws.delete(rule.kind, &r).await.unwrap();
    aws.delete(policy.kind, &p).await.unwrap();
    assert!(aws.read(policy.kind, &p).await.unwrap().is_none());
    let attributes = aws
        .sns
        .get_topic_attributes()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    assert!(
        attributes.attributes().unwrap()["Policy"].contains("__default_statement_ID"),
        "{attributes:?}"
    );
}

/// Composite alarms over metric alarms, and a metric-math alarm: each round-trips
/// (read back as declared, found by its tags); CloudWatch refuses a rule naming
/// an alarm that does not exist, and lists composite alarms only when asked;
/// a child entering ALARM sets the composite to ALARM, whose action publishes
/// the alarm's notification to the topic — and a suppressor child in ALARM
/// keeps it quiet.
#[tokio::test(flavor = "multi_thread")]
async fn composite_and_metric_math_alarms_round_trip_and_fire() {
    use aws_sdk_cloudwatch::types::StateValue;
    let moto = Moto::start();
    let aws = provider(&moto).await;
    let assets = BTreeMap::new();
    let topic = aws
        .create(&node("aws.sns_topic", "topic", json!({"name": "alarm-pages"})).desired(&assets))
        .await
        .unwrap();
    let topic_arn = topic.outputs["arn"].clone();
    let queue = aws
        .create(&node("aws.sqs_queue", "q", json!({"name": "alarms-seen"})).desired(&assets))
        .await
        .unwrap();
    let url = queue.outputs["url"].clone();
    aws.create(
        &node(
            "aws.sns_topic_subscription",
            "sub",
            json!({"topic": topic_arn, "protocol": "sqs", "endpoint": queue.outputs["arn"],
                   "raw_message_delivery": true}),
        )
        .desired(&assets),
    )
    .await
    .unwrap();

    // A metric-math alarm: the error rate of a Lambda, in percent.
    let metric = |name: &str| {
        json!({"metric_name": name, "namespace": "AWS/Lambda", "period": 60, "stat": "Sum",
               "unit": null, "dimensions": [{"name": "FunctionName", "value": "checkout"}]})
    };
    let rate = node(
        "aws.cloudwatch_metric_alarm",
        "rate",
        json!({"alarm_name": "checkout-error-rate", "evaluation_periods": 2,
               "threshold": 5.0, "comparison_operator": "GreaterThanThreshold",
               "alarm_actions": [],
               "metric_queries": [
                   {"id": "errors", "metric": metric("Errors"), "return_data": false,
                    "expression": null, "label": null, "period": null},
                   {"id": "invocations", "metric": metric("Invocations"), "return_data": false,
                    "expression": null, "label": null, "period": null},
                   {"id": "rate", "expression": "100 * errors / invocations", "label": "Error %",
                    "metric": null, "return_data": null, "period": null}]}),
    );
    let r = aws.create(&rate.desired(&assets)).await.unwrap();
    let read = aws.read(rate.kind, &r).await.unwrap().unwrap();
    assert_reads_back(&aws, &rate, &read);
    assert!(
        read.props.get("metric_name").is_none_or(Value::is_null),
        "{:?}",
        read.props
    );

    let deploying = node(
        "aws.cloudwatch_metric_alarm",
        "deploying",
        json!({"alarm_name": "checkout-deploying", "metric_name": "Deploys", "namespace": "CI",
               "statistic": "Maximum", "period": 60, "evaluation_periods": 1, "threshold": 1.0,
               "comparison_operator": "GreaterThanOrEqualToThreshold", "alarm_actions": []}),
    );
    aws.create(&deploying.desired(&assets)).await.unwrap();

    // A rule naming an alarm that does not exist is refused, naming it.
    let missing = node(
        "aws.cloudwatch_composite_alarm",
        "missing",
        json!({"alarm_name": "never", "alarm_rule": "ALARM(\"no-such-alarm\")",
               "alarm_actions": [topic_arn]}),
    );
    let refused = aws.create(&missing.desired(&assets)).await.unwrap_err();
    assert!(
        refused.message.contains("no-such-alarm"),
        "{}",
        refused.message
    );

    let composite = node(
        "aws.cloudwatch_composite_alarm",
        "composite",
        json!({"alarm_name": "checkout-page",
               "alarm_description": "checkout fails, and it is not a deploy",
               "alarm_rule": "ALARM(\"checkout-error-rate\") AND NOT ALARM(\"checkout-deploying\")",
               "alarm_actions": [topic_arn], "ok_actions": [topic_arn],
               "tags": [{"key": "team", "value": "payments"}]}),
    );
    let c = aws.create(&composite.desired(&assets)).await.unwrap();
    assert!(
        c.outputs["arn"].ends_with(":alarm:checkout-page"),
        "{:?}",
        c.outputs
    );
    let read = aws.read(composite.kind, &c).await.unwrap().unwrap();
    assert_reads_back(&aws, &composite, &read);
    let found = aws
        .find(&composite.desired(&assets))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.proof, Proof::Tagged);
    // DescribeAlarms without AlarmTypes lists metric alarms only.
    let plain = aws.cloudwatch.describe_alarms().send().await.unwrap();
    assert_eq!(plain.composite_alarms().len(), 0);
    assert_eq!(plain.metric_alarms().len(), 2);

    let set = |name: &'static str, state: StateValue| {
        let cw = aws.cloudwatch.clone();
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
    // During a deploy, errors page nobody.
    set("checkout-deploying", StateValue::Alarm).await;
    set("checkout-error-rate", StateValue::Alarm).await;
    assert!(
        received(&aws, &url, Duration::from_secs(2))
            .await
            .is_empty()
    );
    // The deploy ends: the composite's rule is true, it enters ALARM and notifies.
    set("checkout-deploying", StateValue::Ok).await;
    let seen = received(&aws, &url, Duration::from_secs(5)).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let message: Value = serde_json::from_str(&seen[0]).unwrap();
    assert_eq!(message["AlarmName"], "checkout-page");
    assert_eq!(message["NewStateValue"], "ALARM");
    assert_eq!(message["OldStateValue"], "OK");

    // An update of the rule is read back; deleting leaves nothing.
    let mut changed = composite.props.clone();
    changed.insert("alarm_rule".into(), json!("ALARM(checkout-error-rate)"));
    let changed = Node {
        props: changed,
        ..composite
    };
    let updated = aws
        .update(&changed.desired(&assets), &c, &["alarm_rule".into()])
        .await
        .unwrap();
    assert_eq!(updated.props["alarm_rule"], "ALARM(checkout-error-rate)");
    aws.delete(changed.kind, &c).await.unwrap();
    assert!(aws.read(changed.kind, &c).await.unwrap().is_none());
    aws.delete(changed.kind, &c).await.unwrap();
}
