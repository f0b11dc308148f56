//! The two Terraform state files (format 4) that the seed's cdktf app leaves
//! behind — a PagerDuty stack and an AWS stack reading the integration key from
//! it through `terraform_remote_state` — written from objects that exist in the
//! emulators. Attribute names, nesting and id formats follow the providers'
//! documentation; tests/fixtures/cdktf-seed/README.md cites each.
//!
//! cdktf names resources `<construct path>_<8 hex digits>`; the names here have
//! that shape and are unrelated to the blueprint's node ids on purpose: import
//! must match by identity, never by address.

use serde_json::{Map, Value, json};

/// One resource of a stack: `(mode, type, cdktf name, attributes)`.
type Block = (&'static str, &'static str, String, Value);

/// What the generator reads of one existing object: its id and outputs, and the
/// props it was created with (a blueprint state entry's shape).
pub struct Existing<'a> {
    pub state: &'a Value,
}

impl Existing<'_> {
    fn entry(&self, node: &str) -> &Value {
        let e = &self.state["resources"][node];
        assert!(
            e.is_object(),
            "no object for {node} in the pre-populated world"
        );
        e
    }
    pub fn id(&self, node: &str) -> String {
        self.entry(node)["resource"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    pub fn out(&self, node: &str, output: &str) -> String {
        self.entry(node)["resource"]["outputs"][output]
            .as_str()
            .unwrap_or_else(|| panic!("{node}.{output}"))
            .to_owned()
    }
    pub fn prop(&self, node: &str, prop: &str) -> Value {
        self.entry(node)["applied_props"][prop].clone()
    }
    fn text(&self, node: &str, prop: &str) -> String {
        self.prop(node, prop).as_str().unwrap().to_owned()
    }
}

fn provider(name: &str) -> String {
    match name {
        "aws" => "provider[\"registry.terraform.io/hashicorp/aws\"]".into(),
        _ => "provider[\"registry.terraform.io/pagerduty/pagerduty\"]".into(),
    }
}

/// A state file of blocks, with `outputs` (cdktf's `TerraformOutput`s).
pub fn state_file(lineage: &str, blocks: Vec<Block>, outputs: Value) -> Value {
    let resources: Vec<Value> = blocks
        .into_iter()
        .map(|(mode, tf_type, name, attributes)| {
            let provider = if tf_type.starts_with("aws_") {
                provider("aws")
            } else if tf_type == "terraform_remote_state" {
                "provider[\"terraform.io/builtin/terraform\"]".into()
            } else {
                provider("pagerduty")
            };
            json!({
                "mode": mode,
                "type": tf_type,
                "name": name,
                "provider": provider,
                "instances": [{
                    "schema_version": 0,
                    "attributes": attributes,
                    "sensitive_attributes": [],
                }],
            })
        })
        .collect();
    json!({
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 7,
        "lineage": lineage,
        "outputs": outputs,
        "resources": resources,
        "check_results": null,
    })
}

/// The PagerDuty stack (`pagerduty-stack`): users and vendor as data sources,
/// team, memberships, schedule, policy, services, dependency, integration; the
/// integration key as an output for the AWS stack.
pub fn pagerduty_stack(e: &Existing) -> Value {
    let team = e.id("team");
    let users = ["user1@example.com", "user2@example.com"];
    let mut blocks: Vec<Block> = Vec::new();
    for (i, email) in users.iter().enumerate() {
        let node = format!("user-{email}");
        blocks.push((
            "data",
            "pagerduty_user",
            format!("user{}_5C0FFEE{}", i + 1, i),
            json!({"id": e.id(&node), "email": email, "name": format!("User {}", ["One", "Two"][i]), "team_ids": null}),
        ));
        // pagerduty_team_membership: id `USER_ID:TEAM_ID` (its "Import" section).
        let membership = format!("membership-{email}");
        blocks.push((
            "managed",
            "pagerduty_team_membership",
            format!("membership{}_0A1B2C3{}", i + 1, i),
            json!({
                "id": format!("{}:{team}", e.id(&node)),
                "user_id": e.id(&node),
                "team_id": team,
                "role": e.text(&membership, "role"),
            }),
        ));
    }
    blocks.push((
        "data",
        "pagerduty_vendor",
        "cloudwatch_7E1D0B2A".into(),
        json!({"id": e.id("cloudwatch-vendor"), "name": "Amazon CloudWatch", "type": "generic_events_api_inbound_integration"}),
    ));
    blocks.push((
        "managed",
        "pagerduty_team",
        "teamOnCall_9F8E7D6C".into(),
        json!({"id": team, "name": e.text("team", "name"), "description": "Managed by Terraform", "parent": null, "html_url": format!("https://example.pagerduty.com/teams/{team}")}),
    ));
    let layer = &e.prop("schedule", "layers")[0];
    blocks.push((
        "managed",
        "pagerduty_schedule",
        "HourlyRotation_1F2E3D4C".into(),
        json!({
            "id": e.id("schedule"),
            "name": e.text("schedule", "name"),
            "time_zone": e.text("schedule", "time_zone"),
            "description": "Managed by Terraform",
            "overflow": null,
            "teams": [team],
            "final_schedule": [{"name": "Final Schedule", "rendered_coverage_percentage": ""}],
            "layer": [{
                "id": "PLAYER1",
                "name": layer["name"],
                "start": layer["start"],
                "end": "",
                "rotation_virtual_start": layer["rotation_virtual_start"],
                "rotation_turn_length_seconds": layer["rotation_turn_length_seconds"],
                "users": layer["users"],
                "restriction": [],
                "rendered_coverage_percentage": "",
            }],
        }),
    ));
    let rules = e.prop("escalation-policy", "rules");
    blocks.push((
        "managed",
        "pagerduty_escalation_policy",
        "EscalationPolicy_2A3B4C5D".into(),
        json!({
            "id": e.id("escalation-policy"),
            "name": e.text("escalation-policy", "name"),
            "description": "Managed by Terraform",
            "num_loops": e.prop("escalation-policy", "num_loops"),
            "teams": [team],
            "rule": [{
                "id": "PRULE01",
                "escalation_delay_in_minutes": rules[0]["escalation_delay_in_minutes"],
                "escalation_rule_assignment_strategy": [{"type": "assign_to_everyone"}],
                "target": [{"type": "schedule_reference", "id": e.id("schedule")}],
            }],
        }),
    ));
    let service = e.id("lambda-error-service");
    blocks.push((
        "managed",
        "pagerduty_service",
        "lambdaerror_3C4D5E6F".into(),
        json!({
            "id": service,
            "name": e.text("lambda-error-service", "name"),
            "description": "Managed by Terraform",
            "escalation_policy": e.id("escalation-policy"),
            "alert_creation": "create_alerts_and_incidents",
            "acknowledgement_timeout": "null",
            "auto_resolve_timeout": "null",
            "status": "active",
            "html_url": format!("https://example.pagerduty.com/service-directory/{service}"),
        }),
    ));
    let business = e.id("business-service");
    blocks.push((
        "managed",
        "pagerduty_business_service",
        "BusinessService_4D5E6F70".into(),
        json!({"id": business, "name": e.text("business-service", "name"), "description": "Managed by Terraform", "point_of_contact": null, "team": team, "type": "business_service"}),
    ));
    // pagerduty_service_dependency: `dependency` is a single nested block with
    // one `dependent_service` and one `supporting_service` block (its docs).
    blocks.push((
        "managed",
        "pagerduty_service_dependency",
        "dependency_5E6F7081".into(),
        json!({
            "id": e.id("lambda-error-dependency"),
            "dependency": [{
                "type": "service_dependency",
                "dependent_service": [{"id": business, "type": "business_service"}],
                "supporting_service": [{"id": service, "type": "service"}],
            }],
        }),
    ));
    let key = e.out("lambda-error-integration", "integration_key");
    blocks.push((
        "managed",
        "pagerduty_service_integration",
        "cloudwatchintegration_6F708192".into(),
        json!({
            "id": e.id("lambda-error-integration"),
            "name": "Amazon CloudWatch",
            "service": service,
            "vendor": e.id("cloudwatch-vendor"),
            "type": "generic_events_api_inbound_integration",
            "integration_key": key,
            "integration_email": "",
            "html_url": "",
        }),
    ));
    state_file(
        "6d1c1f7e-2f6a-4a53-9c59-pagerduty",
        blocks,
        json!({"integration_key": {"value": key, "type": "string", "sensitive": true}}),
    )
}

/// The AWS stack (`lambda-error-stack`): IAM, the code bucket and object, log
/// group, function, metric filter, topic, subscription, alarm; the integration
/// key read from the PagerDuty stack's state (`terraform_remote_state`).
pub fn aws_stack(e: &Existing, pagerduty_state_path: &str) -> Value {
    let key = e.out("lambda-error-integration", "integration_key");
    let role = e.text("lambda-error-role", "name");
    let role_arn = e.out("lambda-error-role", "arn");
    let account = role_arn.split(':').nth(4).unwrap().to_owned();
    let region = "ap-northeast-1";
    let bucket = e.text("code-bucket", "bucket");
    let code = e.prop("lambda-error-function", "code");
    let log_group = e.text("lambda-error-log-group", "name");
    let function = e.text("lambda-error-function", "function_name");
    let filter = e.prop("lambda-error-error-filter", "metric_transformation");
    let topic_arn = e.out("lambda-error-topic", "arn");
    let alarm = |p: &str| e.prop("lambda-error-error-alarm", p);
    let blocks: Vec<Block> = vec![
        (
            "data",
            "terraform_remote_state",
            "pagerduty".into(),
            json!({
                "backend": "local",
                "config": {"value": {"path": pagerduty_state_path}, "type": ["object", {"path": "string"}]},
                "defaults": null,
                "outputs": {"value": {"integration_key": key}, "type": ["object", {"integration_key": "string"}]},
                "workspace": null,
            }),
        ),
        (
            "managed",
            "aws_iam_role",
            "LambdaRole_0B1C2D3E".into(),
            json!({
                "id": role, "name": role, "arn": role_arn, "path": "/",
                "assume_role_policy": e.text("lambda-error-role", "assume_role_policy"),
                "description": "", "max_session_duration": 3600, "tags": {}, "tags_all": {},
            }),
        ),
        (
            // aws_iam_role_policy_attachment: Terraform's own id is
            // `<role>-<timestamp+counter>`; import takes ROLE/POLICY_ARN.
            "managed",
            "aws_iam_role_policy_attachment",
            "LambdaRoleBasicExecution_1C2D3E4F".into(),
            json!({
                "id": format!("{role}-20260101000000000000000001"),
                "role": role,
                "policy_arn": e.text("lambda-error-role-basic-execution", "policy_arn"),
            }),
        ),
        (
            "managed",
            "aws_s3_bucket",
            "CodeBucket_2D3E4F50".into(),
            json!({"id": bucket, "bucket": bucket, "arn": format!("arn:aws:s3:::{bucket}"), "force_destroy": true, "region": region, "tags": {}}),
        ),
        (
            // aws_s3_object: its id is the key (v5 and v6).
            "managed",
            "aws_s3_object",
            "LambdaCode_3E4F5061".into(),
            json!({
                "id": code["s3_key"], "bucket": bucket, "key": code["s3_key"],
                "content_type": "application/zip", "source": "assets/lambda.zip",
                "etag": e.out("lambda-error-code", "etag"), "version_id": "",
            }),
        ),
        (
            "managed",
            "aws_cloudwatch_log_group",
            "LogGroup_4F506172".into(),
            json!({"id": log_group, "name": log_group, "arn": format!("arn:aws:logs:{region}:{account}:log-group:{log_group}"), "retention_in_days": 0, "tags": {}}),
        ),
        (
            "managed",
            "aws_lambda_function",
            "ErrorFunction_50617283".into(),
            json!({
                "id": function, "function_name": function,
                "arn": e.out("lambda-error-function", "arn"),
                "role": role_arn,
                "handler": e.text("lambda-error-function", "handler"),
                "runtime": e.text("lambda-error-function", "runtime"),
                "s3_bucket": bucket, "s3_key": code["s3_key"],
                "source_code_hash": e.text("lambda-error-function", "source_code_hash"),
                "logging_config": [{"log_format": "Text", "log_group": log_group, "application_log_level": "", "system_log_level": ""}],
                "tags": {},
            }),
        ),
        (
            // aws_cloudwatch_log_metric_filter: its id is the filter's name;
            // import takes LOG_GROUP:NAME.
            "managed",
            "aws_cloudwatch_log_metric_filter",
            "ErrorFilter_61728394".into(),
            json!({
                "id": e.text("lambda-error-error-filter", "name"),
                "name": e.text("lambda-error-error-filter", "name"),
                "log_group_name": log_group,
                "pattern": e.text("lambda-error-error-filter", "pattern"),
                "metric_transformation": [{
                    "name": filter["metric_name"], "namespace": filter["metric_namespace"],
                    "value": filter["metric_value"], "default_value": "0", "dimensions": {}, "unit": "None",
                }],
            }),
        ),
        (
            "managed",
            "aws_sns_topic",
            "AlarmTopic_728394A5".into(),
            json!({"id": topic_arn, "arn": topic_arn, "name": e.text("lambda-error-topic", "name"), "display_name": "", "tags": {}}),
        ),
        (
            "managed",
            "aws_sns_topic_subscription",
            "PagerDutySubscription_8394A5B6".into(),
            json!({
                "id": e.id("lambda-error-pagerduty-subscription"),
                "arn": e.id("lambda-error-pagerduty-subscription"),
                "topic_arn": topic_arn,
                "protocol": e.text("lambda-error-pagerduty-subscription", "protocol"),
                "endpoint": e.text("lambda-error-pagerduty-subscription", "endpoint"),
                "endpoint_auto_confirms": true,
                "confirmation_timeout_in_minutes": 1,
                "pending_confirmation": false,
                "raw_message_delivery": false,
                "owner_id": account,
            }),
        ),
        (
            "managed",
            "aws_cloudwatch_metric_alarm",
            "ErrorAlarm_94A5B6C7".into(),
            json!({
                "id": alarm("alarm_name"), "alarm_name": alarm("alarm_name"),
                "arn": format!("arn:aws:cloudwatch:{region}:{account}:alarm:{}", alarm("alarm_name").as_str().unwrap()),
                "alarm_description": alarm("alarm_description"),
                "comparison_operator": alarm("comparison_operator"),
                "evaluation_periods": alarm("evaluation_periods"),
                "metric_name": alarm("metric_name"), "namespace": alarm("namespace"),
                "period": alarm("period"), "statistic": alarm("statistic"), "threshold": alarm("threshold"),
                "alarm_actions": alarm("alarm_actions"), "ok_actions": [], "insufficient_data_actions": [],
                "treat_missing_data": "missing", "actions_enabled": true, "tags": {},
            }),
        ),
    ];
    state_file("0b9e0c55-8d57-4c1e-a7a4-aws", blocks, json!({}))
}

/// Add a managed instance to a state file (an object the blueprint does not
/// declare, or a second copy of one it does).
pub fn add_instance(state: &mut Value, tf_type: &'static str, name: &str, attributes: Value) {
    let block = state_file(
        "x",
        vec![("managed", tf_type, name.to_owned(), attributes)],
        json!({}),
    );
    let resource = block["resources"][0].clone();
    state["resources"].as_array_mut().unwrap().push(resource);
}

/// The attributes of the first instance of `tf_type` in a state file.
pub fn attributes_of(state: &Value, tf_type: &str) -> Map<String, Value> {
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == tf_type)
        .unwrap()["instances"][0]["attributes"]
        .as_object()
        .unwrap()
        .clone()
}
