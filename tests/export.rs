//! `export --format terraform-json`: every kind maps to an official provider type,
//! the seed graph exports to a self-consistent configuration, and the attribute
//! names the seed relies on are the providers' own.

use crate::support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use blueprint::assets::Asset;
use blueprint::blueprint_file::Blueprint;
use blueprint::evaluate::{Evaluated, evaluate};
use blueprint::export::{self, Block, ExportError};
use blueprint::graph::{Graph, token};
use serde_json::{Map, Value, json};

/// Every kind and the official Terraform type it must become. Adding a kind
/// without a mapping (or changing a mapping) fails `every_kind_has_its_official_type`.
const EXPECTED_TYPES: &[(&str, &str, Block)] = &[
    ("blueprint.output", "output", Block::Output),
    ("blueprint.outputs", "terraform_remote_state", Block::Data),
    ("pagerduty.user", "pagerduty_user", Block::Data),
    ("pagerduty.vendor", "pagerduty_vendor", Block::Data),
    ("pagerduty.team", "pagerduty_team", Block::Resource),
    (
        "pagerduty.team_membership",
        "pagerduty_team_membership",
        Block::Resource,
    ),
    (
        "pagerduty.business_service",
        "pagerduty_business_service",
        Block::Resource,
    ),
    ("pagerduty.schedule", "pagerduty_schedule", Block::Resource),
    (
        "pagerduty.escalation_policy",
        "pagerduty_escalation_policy",
        Block::Resource,
    ),
    ("pagerduty.service", "pagerduty_service", Block::Resource),
    (
        "pagerduty.service_dependency",
        "pagerduty_service_dependency",
        Block::Resource,
    ),
    (
        "pagerduty.service_integration",
        "pagerduty_service_integration",
        Block::Resource,
    ),
    (
        "pagerduty.maintenance_window",
        "pagerduty_maintenance_window",
        Block::Resource,
    ),
    ("aws.caller_identity", "aws_caller_identity", Block::Data),
    ("aws.region", "aws_region", Block::Data),
    ("aws.iam_role", "aws_iam_role", Block::Resource),
    (
        "aws.iam_role_policy_attachment",
        "aws_iam_role_policy_attachment",
        Block::Resource,
    ),
    ("aws.s3_bucket", "aws_s3_bucket", Block::Resource),
    ("aws.s3_object", "aws_s3_object", Block::Resource),
    (
        "aws.cloudwatch_log_group",
        "aws_cloudwatch_log_group",
        Block::Resource,
    ),
    (
        "aws.cloudwatch_log_metric_filter",
        "aws_cloudwatch_log_metric_filter",
        Block::Resource,
    ),
    (
        "aws.lambda_function",
        "aws_lambda_function",
        Block::Resource,
    ),
    ("aws.sns_topic", "aws_sns_topic", Block::Resource),
    ("aws.sqs_queue", "aws_sqs_queue", Block::Resource),
    (
        "aws.sqs_queue_policy",
        "aws_sqs_queue_policy",
        Block::Resource,
    ),
    (
        "aws.sns_topic_subscription",
        "aws_sns_topic_subscription",
        Block::Resource,
    ),
    (
        "aws.cloudwatch_metric_alarm",
        "aws_cloudwatch_metric_alarm",
        Block::Resource,
    ),
    (
        "aws.sns_topic_policy",
        "aws_sns_topic_policy",
        Block::Resource,
    ),
    (
        "aws.cloudwatch_event_rule",
        "aws_cloudwatch_event_rule",
        Block::Resource,
    ),
    (
        "aws.cloudwatch_event_target",
        "aws_cloudwatch_event_target",
        Block::Resource,
    ),
    (
        "aws.cloudwatch_composite_alarm",
        "aws_cloudwatch_composite_alarm",
        Block::Resource,
    ),
    (
        "pagerduty.event_orchestration_service",
        "pagerduty_event_orchestration_service",
        Block::Resource,
    ),
    ("pagerduty.tag", "pagerduty_tag", Block::Resource),
    (
        "pagerduty.tag_assignment",
        "pagerduty_tag_assignment",
        Block::Resource,
    ),
    (
        "pagerduty.webhook_subscription",
        "pagerduty_webhook_subscription",
        Block::Resource,
    ),
];

/// Official resource types of hashicorp/aws and PagerDuty/pagerduty v3 an export
/// may use.
const OFFICIAL_RESOURCES: &[&str] = &[
    "aws_iam_role",
    "aws_iam_role_policy_attachment",
    "aws_s3_bucket",
    "aws_s3_object",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_log_metric_filter",
    "aws_lambda_function",
    "aws_sns_topic",
    "aws_sns_topic_subscription",
    "aws_sqs_queue",
    "aws_sqs_queue_policy",
    "aws_cloudwatch_metric_alarm",
    "aws_sns_topic_policy",
    "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_target",
    "aws_cloudwatch_composite_alarm",
    "pagerduty_team",
    "pagerduty_team_membership",
    "pagerduty_business_service",
    "pagerduty_schedule",
    "pagerduty_escalation_policy",
    "pagerduty_service",
    "pagerduty_service_dependency",
    "pagerduty_service_integration",
    "pagerduty_maintenance_window",
    "pagerduty_event_orchestration_service",
    "pagerduty_tag",
    "pagerduty_tag_assignment",
    "pagerduty_webhook_subscription",
];

/// Official data sources an export may use (`terraform_remote_state`: Terraform's
/// built-in `terraform` provider).
const OFFICIAL_DATA: &[&str] = &[
    "terraform_remote_state",
    "pagerduty_user",
    "pagerduty_vendor",
    "aws_caller_identity",
    "aws_region",
];

#[test]
fn every_kind_has_its_official_type() {
    let all: Vec<&str> = blueprint::providers::catalog()
        .all()
        .map(|k| k.name)
        .collect();
    for kind in &all {
        let expected = EXPECTED_TYPES
            .iter()
            .find(|(k, _, _)| k == kind)
            .unwrap_or_else(|| panic!("{kind} is a kind but EXPECTED_TYPES has no row for it"));
        let map = export::mapping(blueprint::providers::catalog(), kind)
            .unwrap_or_else(|| panic!("{kind} has no mapping"));
        assert_eq!(map.tf_type, expected.1, "{kind}");
        assert_eq!(map.block, expected.2, "{kind}");
        match map.block {
            Block::Resource => assert!(OFFICIAL_RESOURCES.contains(&map.tf_type), "{kind}"),
            Block::Data => assert!(OFFICIAL_DATA.contains(&map.tf_type), "{kind}"),
            // Terraform's own block, not a provider's type.
            Block::Output => assert_eq!(map.tf_type, "output", "{kind}"),
        }
    }
    for (kind, _, _) in EXPECTED_TYPES {
        assert!(
            all.contains(kind),
            "{kind} is in EXPECTED_TYPES but not a kind"
        );
    }
    assert_eq!(all.len(), EXPECTED_TYPES.len());
    assert_eq!(
        export::mappings(blueprint::providers::catalog()).count(),
        all.len()
    );
}

async fn seed() -> Evaluated {
    let runtime = support::runtime();
    let file = support::root().join("blueprints/lambda-error-pagerduty.toml");
    evaluate(&runtime, Blueprint::load(&file).unwrap(), &[])
        .await
        .unwrap_or_else(|e| panic!("the seed blueprint must evaluate: {e}"))
}

/// Every string in a JSON tree.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// The bodies of the `${...}` interpolations of a template (`$${` is an escape).
fn interpolations(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            rest = &rest[i + 2..];
            continue;
        }
        let body = &rest[i + 2..];
        let end = body
            .find('}')
            .unwrap_or_else(|| panic!("unterminated interpolation in {s:?}"));
        out.push(body[..end].to_owned());
        rest = &body[end + 1..];
    }
    out
}

fn block<'a>(tf: &'a Value, section: &str, tf_type: &str, name: &str) -> &'a Value {
    let found = &tf[section][tf_type][name];
    assert!(found.is_object(), "no {section}.{tf_type}.{name} in {tf:#}");
    found
}

fn resource<'a>(tf: &'a Value, tf_type: &str, name: &str) -> &'a Value {
    block(tf, "resource", tf_type, name)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_exports_a_consistent_configuration() {
    let evaluated = seed().await;
    let tf = export::terraform_json(
        &evaluated.graph,
        blueprint::providers::catalog(),
        &evaluated.blueprint,
    )
    .unwrap();

    // The function's declared order (host.depends-on) is Terraform's depends_on.
    assert_eq!(
        resource(&tf, "aws_lambda_function", "lambda-error-function")["depends_on"],
        json!(["aws_iam_role_policy_attachment.lambda-error-role-basic-execution"])
    );

    // Every block type is official; one block per node.
    let mut blocks: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (section, allowed) in [("resource", OFFICIAL_RESOURCES), ("data", OFFICIAL_DATA)] {
        for (tf_type, named) in tf[section].as_object().unwrap() {
            assert!(
                allowed.contains(&tf_type.as_str()),
                "{section} type {tf_type} is not in the official allow-list"
            );
            for name in named.as_object().unwrap().keys() {
                assert!(
                    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                    "{name} is not a Terraform name"
                );
                blocks.insert((section.to_owned(), tf_type.clone(), name.clone()));
            }
        }
    }
    assert_eq!(blocks.len(), evaluated.graph.nodes().len());
    assert_eq!(blocks.len(), 24);
    // The bucket's name is built from the two AWS data sources, as a cdktf app
    // would write it.
    assert_eq!(
        resource(&tf, "aws_s3_bucket", "code-bucket")["bucket"],
        "lambda-error-pagerduty-${data.aws_caller_identity.aws-account.account_id}-${data.aws_region.aws-region.name}"
    );

    // Every expression refers to a block of the output, by an attribute its
    // mapping declares; no token survives.
    let mut all = Vec::new();
    strings(&tf, &mut all);
    let mut references = 0;
    for s in &all {
        assert!(!token::has_token_chars(s), "a token survived in {s:?}");
        for body in interpolations(s) {
            if body == "path.module" {
                continue;
            }
            let (section, rest) = match body.strip_prefix("data.") {
                Some(rest) => ("data", rest),
                None => ("resource", body.as_str()),
            };
            let mut parts = rest.splitn(3, '.');
            let (Some(tf_type), Some(name), Some(attr)) =
                (parts.next(), parts.next(), parts.next())
            else {
                panic!("{body:?} (in {s:?}) is not a reference");
            };
            assert!(
                blocks.contains(&(section.to_owned(), tf_type.to_owned(), name.to_owned())),
                "{body:?} refers to a block that is not in the output"
            );
            let (_, map) =
                export::mapping_for_type(blueprint::providers::catalog(), tf_type).unwrap();
            assert!(
                map.attributes.contains(&attr),
                "{body:?}: {attr} is not an attribute the mapping declares for {tf_type}"
            );
            references += 1;
        }
    }
    // 25 edges in the seed graph, some carrying several references.
    assert!(references >= 25, "only {references} references");

    // The same graph gives the same bytes.
    let again = export::terraform_json(
        &evaluated.graph,
        blueprint::providers::catalog(),
        &evaluated.blueprint,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&tf).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_uses_the_providers_attribute_names() {
    let evaluated = seed().await;
    let tf = export::terraform_json(
        &evaluated.graph,
        blueprint::providers::catalog(),
        &evaluated.blueprint,
    )
    .unwrap();

    assert_eq!(
        tf["terraform"]["required_providers"]["aws"]["source"],
        "hashicorp/aws"
    );
    assert_eq!(
        tf["terraform"]["required_providers"]["pagerduty"]["source"],
        "PagerDuty/pagerduty"
    );
    assert!(tf["terraform"]["required_providers"]["aws"]["version"].is_string());
    assert_eq!(tf["provider"]["aws"], json!({"region": "ap-northeast-1"}));
    // US: no service_region; the token never appears.
    assert_eq!(tf["provider"]["pagerduty"], json!({}));

    let subscription = resource(
        &tf,
        "aws_sns_topic_subscription",
        "lambda-error-pagerduty-subscription",
    );
    assert_eq!(
        subscription["topic_arn"],
        "${aws_sns_topic.lambda-error-topic.arn}"
    );
    assert_eq!(subscription["protocol"], "https");
    assert_eq!(
        subscription["endpoint"],
        "https://events.pagerduty.com/integration/${pagerduty_service_integration.lambda-error-integration.integration_key}/enqueue"
    );
    assert_eq!(subscription["endpoint_auto_confirms"], true);

    let alarm = resource(
        &tf,
        "aws_cloudwatch_metric_alarm",
        "lambda-error-error-alarm",
    );
    assert_eq!(
        alarm["alarm_actions"],
        json!(["${aws_sns_topic.lambda-error-topic.arn}"])
    );
    assert_eq!(alarm["alarm_name"], "error-function-errors");
    assert_eq!(
        alarm["comparison_operator"],
        "GreaterThanOrEqualToThreshold"
    );
    assert_eq!(alarm["evaluation_periods"], 1);
    assert_eq!(alarm["period"], 30);
    assert_eq!(alarm["statistic"], "Sum");
    assert_eq!(alarm["threshold"], 1.0);
    assert_eq!(
        alarm["metric_name"],
        "${aws_cloudwatch_log_metric_filter.lambda-error-error-filter.metric_transformation[0].name}"
    );
    assert_eq!(
        alarm["namespace"],
        "${aws_cloudwatch_log_metric_filter.lambda-error-error-filter.metric_transformation[0].namespace}"
    );
    assert_eq!(
        alarm["tags"],
        json!({"blueprint:name": "lambda-error-pagerduty", "blueprint:node": "lambda-error-error-alarm"})
    );

    let filter = resource(
        &tf,
        "aws_cloudwatch_log_metric_filter",
        "lambda-error-error-filter",
    );
    assert_eq!(
        filter["log_group_name"],
        "${aws_cloudwatch_log_group.lambda-error-log-group.name}"
    );
    assert_eq!(filter["pattern"], "ERROR");
    assert_eq!(
        filter["metric_transformation"],
        json!({
            "name": "error-function-errors",
            "namespace": "LambdaErrors",
            "value": "1",
            "default_value": "0",
        })
    );
    assert!(filter.get("tags").is_none(), "metric filters take no tags");

    let function = resource(&tf, "aws_lambda_function", "lambda-error-function");
    assert_eq!(function["function_name"], "error-function");
    assert_eq!(function["role"], "${aws_iam_role.lambda-error-role.arn}");
    assert_eq!(
        function["s3_bucket"],
        "${aws_s3_object.lambda-error-code.bucket}"
    );
    assert_eq!(function["s3_key"], "${aws_s3_object.lambda-error-code.key}");
    assert_eq!(function["runtime"], "nodejs22.x");
    assert_eq!(function["handler"], "index.handler");
    assert!(function["source_code_hash"].is_string());
    assert_eq!(
        function["logging_config"],
        json!({"log_group": "${aws_cloudwatch_log_group.lambda-error-log-group.name}", "log_format": "Text"})
    );
    assert!(function.get("filename").is_none());

    let object = resource(&tf, "aws_s3_object", "lambda-error-code");
    let asset_id = evaluated.graph.node("lambda-error-code").unwrap().props["source"]
        .as_str()
        .unwrap()
        .to_owned();
    let asset = &evaluated.graph.assets[&asset_id];
    assert_eq!(
        object["source"],
        format!("${{path.module}}/assets/{}", asset.file_name)
    );
    assert_eq!(object["source_hash"], asset.sha256.as_str());
    assert_eq!(object["bucket"], "${aws_s3_bucket.code-bucket.bucket}");
    assert_eq!(object["content_type"], "application/zip");

    assert_eq!(
        resource(
            &tf,
            "aws_iam_role_policy_attachment",
            "lambda-error-role-basic-execution"
        )["role"],
        "${aws_iam_role.lambda-error-role.name}"
    );
    let role = resource(&tf, "aws_iam_role", "lambda-error-role");
    assert!(
        role["assume_role_policy"]
            .as_str()
            .unwrap()
            .contains("sts:AssumeRole")
    );
    assert_eq!(role["tags"]["blueprint:node"], "lambda-error-role");
    assert_eq!(
        resource(&tf, "aws_s3_bucket", "code-bucket")["force_destroy"],
        true
    );

    let policy = resource(&tf, "pagerduty_escalation_policy", "escalation-policy");
    assert_eq!(policy["num_loops"], 2);
    assert_eq!(policy["teams"], json!(["${pagerduty_team.team.id}"]));
    assert_eq!(policy["rule"][0]["escalation_delay_in_minutes"], 30);
    assert_eq!(
        policy["rule"][0]["target"],
        json!([{"type": "schedule_reference", "id": "${pagerduty_schedule.schedule.id}"}])
    );

    let service = resource(&tf, "pagerduty_service", "lambda-error-service");
    assert_eq!(
        service["escalation_policy"],
        "${pagerduty_escalation_policy.escalation-policy.id}"
    );
    assert_eq!(service["name"], "lambda-error");
    // Absent timeouts are disabled on the host; the provider's way is "null".
    assert_eq!(service["acknowledgement_timeout"], "null");
    assert_eq!(service["auto_resolve_timeout"], "null");

    let schedule = resource(&tf, "pagerduty_schedule", "schedule");
    assert_eq!(schedule["time_zone"], "Asia/Tokyo");
    assert_eq!(schedule["teams"], json!(["${pagerduty_team.team.id}"]));
    assert_eq!(
        schedule["layer"],
        json!([{
            "name": "Hourly Rotation layer",
            "start": "2023-09-16T00:00:00+09:00",
            "rotation_virtual_start": "2023-09-16T00:00:00+09:00",
            "rotation_turn_length_seconds": 3600,
            "users": [
                "${data.pagerduty_user.user-user1_example_com.id}",
                "${data.pagerduty_user.user-user2_example_com.id}",
            ],
        }])
    );

    assert_eq!(
        block(&tf, "data", "pagerduty_user", "user-user1_example_com")["email"],
        "user1@example.com"
    );
    assert_eq!(
        block(&tf, "data", "pagerduty_vendor", "cloudwatch-vendor"),
        &json!({"name": "Amazon CloudWatch"})
    );
    assert_eq!(
        resource(
            &tf,
            "pagerduty_team_membership",
            "membership-user1_example_com"
        ),
        &json!({
            "team_id": "${pagerduty_team.team.id}",
            "user_id": "${data.pagerduty_user.user-user1_example_com.id}",
            "role": "responder",
        })
    );
    assert_eq!(
        resource(&tf, "pagerduty_business_service", "business-service")["team"],
        "${pagerduty_team.team.id}"
    );
    assert_eq!(
        resource(
            &tf,
            "pagerduty_service_dependency",
            "lambda-error-dependency"
        ),
        &json!({"dependency": {
            "dependent_service": {"id": "${pagerduty_business_service.business-service.id}", "type": "business_service"},
            "supporting_service": {"id": "${pagerduty_service.lambda-error-service.id}", "type": "service"},
        }})
    );
    assert_eq!(
        resource(
            &tf,
            "pagerduty_service_integration",
            "lambda-error-integration"
        ),
        &json!({
            "service": "${pagerduty_service.lambda-error-service.id}",
            "vendor": "${data.pagerduty_vendor.cloudwatch-vendor.id}",
        })
    );
}

fn props(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn blueprint(extra: &str) -> Blueprint {
    Blueprint::parse(
        Path::new("handmade.toml"),
        &format!("name = \"handmade\"\n[guest]\npath = \"g.wasm\"\n{extra}"),
    )
    .unwrap()
}

fn asset() -> Asset {
    Asset {
        id: format!("asset:{}", "ab".repeat(32)),
        sha256: "ab".repeat(32),
        sha256_base64: "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=".into(),
        size: 3,
        file_name: "handler-abababababab.zip".into(),
        path: "handler".into(),
        zip: Arc::new(vec![1, 2, 3]),
    }
}

#[test]
fn eu_endpoints_embedded_references_assets_and_escapes() {
    let mut graph = Graph::default();
    let code = asset();
    graph.assets.insert(code.id.clone(), code.clone());
    graph.declare(
        "pagerduty.service_integration",
        "pd.integration",
        props(
            json!({"service": "PSERVICE", "vendor": "PVENDOR", "integration_name": "CloudWatch"}),
        ),
    );
    graph.declare(
        "aws.sns_topic",
        "topic",
        props(json!({"name": "alarms", "display_name": null, "tags": [{"key": "team", "value": "sre"}]})),
    );
    graph.declare(
        "aws.sns_topic_subscription",
        "subscription",
        props(json!({
            "topic": token::make("topic", "arn"),
            "protocol": token::make("pd.integration", "cloudwatch_protocol"),
            "endpoint": token::make("pd.integration", "cloudwatch_endpoint"),
            "raw_message_delivery": false,
        })),
    );
    graph.declare(
        "aws.lambda_function",
        "function",
        props(json!({
            "function_name": "f",
            "role": "arn:aws:iam::123456789012:role/r",
            "handler": "index.handler",
            "runtime": "nodejs22.x",
            "code": {"asset": code.id, "s3_bucket": null, "s3_key": null, "s3_object_version": null},
            "source_code_hash": null,
            "environment": [
                {"key": "HOOK", "value": format!("{}?q=${{literal}}", token::make("pd.integration", "cloudwatch_endpoint"))},
                {"key": "PRICE", "value": format!("${}", token::make("topic", "arn"))},
            ],
            "log_group": null,
            "tags": null,
        })),
    );
    graph.declare(
        "aws.cloudwatch_metric_alarm",
        "alarm",
        props(json!({
            "alarm_name": "a", "metric_name": "Errors", "namespace": "AWS/Lambda",
            "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 1.0,
            "comparison_operator": "GreaterThanThreshold",
            "dimensions": [{"name": "FunctionName", "value": token::make("function", "function_name")}],
            "alarm_actions": [token::make("topic", "arn")],
            "ok_actions": [],
        })),
    );

    let tf = export::terraform_json(
        &graph,
        blueprint::providers::catalog(),
        &blueprint("[providers.pagerduty]\nregion = \"eu\"\n"),
    )
    .unwrap();
    assert_eq!(tf["provider"]["pagerduty"], json!({"service_region": "eu"}));
    assert_eq!(
        tf["provider"]["aws"],
        json!({}),
        "no region: the AWS chain decides"
    );

    let integration = &tf["resource"]["pagerduty_service_integration"]["pd_integration"];
    assert_eq!(
        integration,
        &json!({"service": "PSERVICE", "vendor": "PVENDOR", "name": "CloudWatch"})
    );
    let subscription = &tf["resource"]["aws_sns_topic_subscription"]["subscription"];
    assert_eq!(
        subscription["endpoint"],
        "https://events.eu.pagerduty.com/integration/${pagerduty_service_integration.pd_integration.integration_key}/enqueue"
    );
    assert_eq!(subscription["protocol"], "https");
    assert_eq!(subscription["endpoint_auto_confirms"], true);
    assert_eq!(subscription["raw_message_delivery"], false);

    let topic = &tf["resource"]["aws_sns_topic"]["topic"];
    assert_eq!(
        topic,
        &json!({"name": "alarms", "tags": {"team": "sre", "blueprint:name": "handmade", "blueprint:node": "topic"}})
    );

    let function = &tf["resource"]["aws_lambda_function"]["function"];
    assert_eq!(
        function["filename"],
        "${path.module}/assets/handler-abababababab.zip"
    );
    // Derived from the asset when the guest gives none, as the host does.
    assert_eq!(function["source_code_hash"], code.sha256_base64.as_str());
    assert_eq!(
        function["environment"],
        json!({"variables": {
            "HOOK": "https://events.eu.pagerduty.com/integration/${pagerduty_service_integration.pd_integration.integration_key}/enqueue?q=$${literal}",
            "PRICE": "${\"$\"}${aws_sns_topic.topic.arn}",
        }})
    );
    assert!(function.get("logging_config").is_none());
    assert_eq!(
        function["tags"],
        json!({"blueprint:name": "handmade", "blueprint:node": "function"})
    );

    let alarm = &tf["resource"]["aws_cloudwatch_metric_alarm"]["alarm"];
    assert_eq!(
        alarm["dimensions"],
        json!({"FunctionName": "${aws_lambda_function.function.function_name}"})
    );
    assert_eq!(alarm["ok_actions"], json!([]));

    // The zips land where the configuration points.
    let dir = tempfile::tempdir().unwrap();
    let written = export::write_assets(&graph, dir.path()).unwrap();
    assert_eq!(
        written,
        [dir.path().join("assets/handler-abababababab.zip")]
    );
    assert_eq!(std::fs::read(&written[0]).unwrap(), [1, 2, 3]);
}

#[test]
fn an_explicit_hash_wins_over_the_derived_one() {
    let mut graph = Graph::default();
    let code = asset();
    graph.assets.insert(code.id.clone(), code.clone());
    graph.declare(
        "aws.lambda_function",
        "function",
        props(json!({
            "function_name": "f", "role": "r", "handler": "h", "runtime": "python3.13",
            "code": {"asset": code.id}, "source_code_hash": "explicit",
        })),
    );
    let tf =
        export::terraform_json(&graph, blueprint::providers::catalog(), &blueprint("")).unwrap();
    assert_eq!(
        tf["resource"]["aws_lambda_function"]["function"]["source_code_hash"],
        "explicit"
    );
}

#[test]
fn what_cannot_be_mapped_is_an_error_naming_node_kind_and_prop() {
    let mut graph = Graph::default();
    graph.declare("pagerduty.pager", "beeper", Map::new());
    let err = export::terraform_json(&graph, blueprint::providers::catalog(), &blueprint(""))
        .unwrap_err();
    assert_eq!(
        err,
        ExportError::UnknownKind {
            node: "beeper".into(),
            kind: "pagerduty.pager".into()
        }
    );

    let mut graph = Graph::default();
    graph.declare(
        "pagerduty.team",
        "team",
        props(json!({"name": "t", "colour": "red", "description": null})),
    );
    let err = export::terraform_json(&graph, blueprint::providers::catalog(), &blueprint(""))
        .unwrap_err();
    assert_eq!(
        err,
        ExportError::UnmappedProp {
            node: "team".into(),
            kind: "pagerduty.team".into(),
            prop: "colour".into()
        }
    );
    assert!(
        err.to_string()
            .contains("team (pagerduty.team) prop `colour`"),
        "{err}"
    );

    let mut graph = Graph::default();
    graph.declare(
        "pagerduty.schedule",
        "schedule",
        props(json!({
            "name": "s", "time_zone": "Etc/UTC",
            "layers": [{"start": "2024-01-01T00:00:00Z", "rotation_virtual_start": "2024-01-01T00:00:00Z",
                        "rotation_turn_length_seconds": 60, "users": ["PU"], "handoff": "x"}],
        })),
    );
    let err = export::terraform_json(&graph, blueprint::providers::catalog(), &blueprint(""))
        .unwrap_err();
    assert!(
        matches!(&err, ExportError::UnmappedProp { prop, .. } if prop == "layers[0].handoff"),
        "{err}"
    );

    let mut graph = Graph::default();
    graph.declare(
        "aws.cloudwatch_log_metric_filter",
        "filter",
        props(json!({
            "name": "f", "log_group": "g", "pattern": "ERROR",
            "metric_transformation": {"metric_name": "m", "metric_namespace": "n", "metric_value": "1", "unit": "Count"},
        })),
    );
    let err = export::terraform_json(&graph, blueprint::providers::catalog(), &blueprint(""))
        .unwrap_err();
    assert!(
        matches!(&err, ExportError::UnmappedProp { prop, .. } if prop == "metric_transformation.unit"),
        "{err}"
    );

    let mut graph = Graph::default();
    graph.declare(
        "aws.sns_topic",
        "topic",
        props(json!({"name": token::make("ghost", "name")})),
    );
    let err = export::terraform_json(&graph, blueprint::providers::catalog(), &blueprint(""))
        .unwrap_err();
    assert!(
        matches!(&err, ExportError::BadProp { prop, message, .. } if prop == "name" && message.contains("ghost")),
        "{err}"
    );
}
