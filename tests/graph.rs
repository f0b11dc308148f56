//! Graph validation on graphs real guests declare, and the seed blueprint's graph.

use crate::support;

use blueprint::blueprint_file::Blueprint;
use blueprint::evaluate::{EvalError, evaluate};
use blueprint::graph::{ProblemClass, render};
use serde_json::{Value, json};

/// Evaluate the hostile guest in `mode` through the whole pipeline.
async fn problems(mode: &str) -> Vec<blueprint::graph::Problem> {
    let runtime = support::runtime();
    let dir = tempfile::tempdir().unwrap();
    let file = support::blueprint_file(
        dir.path(),
        &support::guest("hostile-guest"),
        &format!("mode = {mode:?}"),
    );
    let blueprint = Blueprint::load(&file).unwrap();
    match evaluate(&runtime, blueprint, &[]).await {
        Err(EvalError::Graph(invalid)) => invalid.problems,
        Err(other) => panic!("{mode}: expected an invalid graph, got {other}"),
        Ok(_) => panic!("{mode}: expected an invalid graph, it validated"),
    }
}

fn classes(problems: &[blueprint::graph::Problem]) -> Vec<ProblemClass> {
    problems.iter().map(|p| p.class).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cycles_name_every_member_in_order() {
    let p = problems("cycle").await;
    assert_eq!(classes(&p), [ProblemClass::Cycle], "{p:?}");
    assert!(
        p[0].message.contains("a -> c -> b -> a") || p[0].message.contains("a -> b -> c -> a"),
        "{}",
        p[0]
    );
    let p = problems("self-reference").await;
    assert_eq!(classes(&p), [ProblemClass::Cycle], "{p:?}");
    assert!(p[0].message.contains("a -> a"), "{}", p[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dangling_references_name_node_prop_and_target() {
    let p = problems("dangling").await;
    assert_eq!(classes(&p), [ProblemClass::DanglingReference], "{p:?}");
    assert_eq!(p[0].node.as_deref(), Some("a"));
    assert_eq!(p[0].prop.as_deref(), Some("parent"));
    assert!(p[0].message.contains("'ghost'"), "{}", p[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_outputs_and_malformed_tokens() {
    let p = problems("unknown-output").await;
    assert_eq!(classes(&p), [ProblemClass::UnknownOutput], "{p:?}");
    assert!(p[0].message.contains("no output 'arn'"), "{}", p[0]);
    let p = problems("malformed").await;
    assert_eq!(classes(&p), [ProblemClass::MalformedReference], "{p:?}");
    assert_eq!(p[0].prop.as_deref(), Some("parent"));
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_unknown_kinds_and_bad_raw_props() {
    let p = problems("duplicate").await;
    assert_eq!(classes(&p), [ProblemClass::DuplicateName], "{p:?}");
    let p = problems("unknown-kind").await;
    assert_eq!(classes(&p), [ProblemClass::UnknownKind], "{p:?}");
    assert!(p[0].message.contains("pagerduty.pager"), "{}", p[0]);
    let p = problems("bad-raw-props").await;
    assert_eq!(classes(&p), [ProblemClass::InvalidProps], "{p:?}");
    assert!(p[0].message.contains("name"), "{}", p[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn references_must_point_at_the_right_kind() {
    let p = problems("wrong-kind").await;
    assert_eq!(
        classes(&p),
        [
            ProblemClass::WrongReferenceKind,
            ProblemClass::WrongReferenceKind,
            ProblemClass::WrongReferenceKind
        ],
        "{p:?}"
    );
    let text: Vec<String> = p.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("svc (pagerduty.service) prop `escalation_policy`")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.contains("rules[0].targets[0].id")),
        "{text:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_are_all_reported_at_once() {
    let p = problems("bad-values").await;
    let text: Vec<String> = p.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("time_zone") && t.contains("\"Mars/Olympus\" is not a time zone")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("layers[0].start") && t.contains("yesterday")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("layers[0].rotation_turn_length_seconds") && t.contains("0 s")),
        "{text:?}"
    );
    assert!(
        p.iter()
            .any(|x| x.class == ProblemClass::MissingProp && x.node.as_deref() == Some("empty")),
        "{text:?}"
    );
    assert_eq!(p.len(), 4, "{text:?}");
}

async fn seed(sets: &[&str]) -> blueprint::evaluate::Evaluated {
    let runtime = support::runtime();
    let file = support::root().join("blueprints/lambda-error-pagerduty.toml");
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    evaluate(&runtime, Blueprint::load(&file).unwrap(), &sets)
        .await
        .unwrap_or_else(|e| panic!("the seed blueprint must evaluate: {e}"))
}

fn node<'a>(graph: &'a Value, id: &str) -> &'a Value {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("no node {id} in {graph:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_graph_is_the_seed() {
    let evaluated = seed(&[]).await;
    let g = render::to_json(&evaluated.graph);
    let kinds: Vec<&str> = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "pagerduty.user",
        "pagerduty.vendor",
        "pagerduty.team",
        "pagerduty.team_membership",
        "pagerduty.business_service",
        "pagerduty.schedule",
        "pagerduty.escalation_policy",
        "pagerduty.service",
        "pagerduty.service_dependency",
        "pagerduty.service_integration",
        "aws.caller_identity",
        "aws.region",
        "aws.iam_role",
        "aws.iam_role_policy_attachment",
        "aws.s3_bucket",
        "aws.s3_object",
        "aws.cloudwatch_log_group",
        "aws.lambda_function",
        "aws.sns_topic",
        "aws.sns_topic_subscription",
        "aws.cloudwatch_log_metric_filter",
        "aws.cloudwatch_metric_alarm",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing");
    }
    assert_eq!(kinds.len(), 24, "{g:#}");
    // S3 names are global: the default is unique per account and region.
    assert_eq!(
        node(&g, "code-bucket")["bucket"],
        "lambda-error-pagerduty-${aws-account.account_id}-${aws-region.name}"
    );

    assert_eq!(node(&g, "team")["name"], "teamOnCall");
    let schedule = node(&g, "schedule");
    assert_eq!(schedule["time_zone"], "Asia/Tokyo");
    assert_eq!(schedule["layers"][0]["rotation_turn_length_seconds"], 3600);
    assert_eq!(
        schedule["layers"][0]["rotation_virtual_start"],
        "2023-09-16T00:00:00+09:00"
    );
    assert_eq!(
        schedule["layers"][0]["users"],
        json!([
            "${user-user1@example.com.id}",
            "${user-user2@example.com.id}"
        ])
    );
    let policy = node(&g, "escalation-policy");
    assert_eq!(policy["num_loops"], 2);
    assert_eq!(policy["rules"][0]["escalation_delay_in_minutes"], 30);
    assert_eq!(
        policy["rules"][0]["targets"][0],
        json!({"target_type": "schedule_reference", "id": "${schedule.id}"})
    );
    assert_eq!(policy["teams"], json!(["${team.id}"]));
    assert_eq!(
        node(&g, "lambda-error-service")["escalation_policy"],
        "${escalation-policy.id}"
    );
    let dependency = node(&g, "lambda-error-dependency");
    assert_eq!(dependency["business_service"], "${business-service.id}");
    assert_eq!(
        dependency["supporting_service"],
        "${lambda-error-service.id}"
    );
    assert_eq!(
        node(&g, "cloudwatch-vendor")["vendor_name"],
        "Amazon CloudWatch"
    );

    let subscription = node(&g, "lambda-error-pagerduty-subscription");
    assert_eq!(
        subscription["endpoint"],
        "${lambda-error-integration.cloudwatch_endpoint}"
    );
    assert_eq!(
        subscription["protocol"],
        "${lambda-error-integration.cloudwatch_protocol}"
    );
    assert_eq!(subscription["topic"], "${lambda-error-topic.arn}");
    let filter = node(&g, "lambda-error-error-filter");
    assert_eq!(filter["pattern"], "ERROR");
    assert_eq!(filter["log_group"], "${lambda-error-log-group.name}");
    assert_eq!(filter["metric_transformation"]["metric_value"], "1");
    assert_eq!(filter["metric_transformation"]["default_value"], 0.0);
    let alarm = node(&g, "lambda-error-error-alarm");
    assert_eq!(alarm["statistic"], "Sum");
    assert_eq!(alarm["period"], 30);
    assert_eq!(alarm["threshold"], 1.0);
    assert_eq!(
        alarm["comparison_operator"],
        "GreaterThanOrEqualToThreshold"
    );
    assert_eq!(alarm["alarm_actions"], json!(["${lambda-error-topic.arn}"]));
    assert_eq!(
        node(&g, "lambda-error-log-group")["name"],
        "/aws/lambda/error-function"
    );
    let lambda = node(&g, "lambda-error-function");
    assert_eq!(lambda["role"], "${lambda-error-role.arn}");
    assert_eq!(lambda["code"]["s3_key"], "${lambda-error-code.key}");
    assert_ne!(
        lambda["runtime"], "nodejs18.x",
        "the seed's runtime is deprecated"
    );
    let attachment = node(&g, "lambda-error-role-basic-execution");
    assert_eq!(
        attachment["policy_arn"],
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    );

    // The code object is a real asset of the graph.
    let source = node(&g, "lambda-error-code")["source"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(evaluated.graph.assets.contains_key(&source), "{source}");

    let edges = g["edges"].as_array().unwrap();
    assert!(
        edges.contains(&json!({"from": "lambda-error-error-alarm", "to": "lambda-error-topic"}))
    );
    assert!(edges.contains(
        &json!({"from": "lambda-error-pagerduty-subscription", "to": "lambda-error-integration"})
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_params_give_the_same_bytes() {
    let a = serde_json::to_string(&render::to_json(&seed(&[]).await.graph)).unwrap();
    let b = serde_json::to_string(&render::to_json(&seed(&[]).await.graph)).unwrap();
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread")]
async fn services_stamp_the_pipeline_out() {
    let services = json!([
        {"name": "checkout", "function_name": "checkout-fn"},
        {"name": "billing", "function_name": "billing-fn", "code_via": "direct"},
        {"name": "search", "function_name": "search-fn"},
    ]);
    let evaluated = seed(&[&format!("services={services}")]).await;
    let g = render::to_json(&evaluated.graph);
    // 12 shared nodes (2 users, 2 memberships, team, business service, schedule,
    // policy, vendor, bucket, and the account and region lookups that name the
    // bucket); 12 per S3 service, 11 for the direct upload.
    assert_eq!(g["nodes"].as_array().unwrap().len(), 12 + 12 + 11 + 12);
    assert!(
        node(&g, "billing-function")["code"]["asset"]
            .as_str()
            .unwrap()
            .starts_with("asset:")
    );
    // Defaults are filled per entry.
    assert_eq!(node(&g, "search-error-alarm")["period"], 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn params_are_checked_against_the_schema_first() {
    let runtime = support::runtime();
    let file = support::root().join("blueprints/lambda-error-pagerduty.toml");
    let sets = vec![
        "schedule.rotation_turn_length_seconds=\"hourly\"".to_owned(),
        "tem_name=x".to_owned(),
    ];
    match evaluate(&runtime, Blueprint::load(&file).unwrap(), &sets).await {
        Err(EvalError::Params { problems, .. }) => {
            assert!(
                problems
                    .iter()
                    .any(|p| p.contains("params.schedule.rotation_turn_length_seconds")),
                "{problems:?}"
            );
            assert!(
                problems.iter().any(|p| p.contains("tem_name")),
                "{problems:?}"
            );
        }
        Err(other) => panic!("expected a params error, got {other}"),
        Ok(_) => panic!("expected a params error"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_of_zero_is_caught_by_validation() {
    let runtime = support::runtime();
    let file = support::root().join("blueprints/lambda-error-pagerduty.toml");
    let sets = vec![
        "schedule.rotation_turn_length_seconds=0".to_owned(),
        "schedule.time_zone=Asia/Tokio".to_owned(),
    ];
    match evaluate(&runtime, Blueprint::load(&file).unwrap(), &sets).await {
        Err(EvalError::Graph(invalid)) => {
            let text = invalid.to_string();
            assert!(
                text.contains(
                    "schedule (pagerduty.schedule) prop `layers[0].rotation_turn_length_seconds`"
                ),
                "{text}"
            );
            assert!(
                text.contains("\"Asia/Tokio\" is not a time zone: did you mean \"Asia/Tokyo\"?"),
                "{text}"
            );
        }
        Err(other) => panic!("expected an invalid graph, got {other}"),
        Ok(_) => panic!("expected an invalid graph"),
    }
}

// ----- Safe names and text (issue 14) -----

fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c != '\n' && blueprint::text::is_unsafe(c))
}

#[tokio::test(flavor = "multi_thread")]
async fn names_outside_the_identifier_set_are_refused_escaped() {
    let p = problems("bad-names").await;
    assert_eq!(classes(&p), [ProblemClass::InvalidName; 5], "{p:?}");
    let text: Vec<String> = p.iter().map(ToString::to_string).collect();
    for line in &text {
        assert!(printable(line) && !line.contains('\n'), "{line:?}");
        assert!(
            line.len() < 2_000,
            "a 1 MB name is cut: {} bytes",
            line.len()
        );
    }
    assert!(text[0].contains("evil\\u{1b}[2K"), "{}", text[0]);
    assert!(text[1].contains("rtl\\u{202e}txt.exe"), "{}", text[1]);
    assert!(text[2].contains("nul\\0byte"), "{}", text[2]);
    assert!(text[4].contains("(1048576 bytes)"), "{}", text[4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_text_props_are_refused() {
    let p = problems("nul-text").await;
    let text: Vec<String> = p.iter().map(ToString::to_string).collect();
    for (node, prop) in [
        ("team", "name"),
        ("business", "name"),
        ("filter", "pattern"),
    ] {
        assert!(
            text.iter().any(|t| t.starts_with(&format!("{node} ("))
                && t.contains(&format!("prop `{prop}`"))
                && t.contains("control character \\0")),
            "{node}.{prop}: {text:#?}"
        );
    }
    assert!(text.iter().all(|t| printable(t)), "{text:?}");
}

/// Random blueprint files (valid shapes with hostile values, and garbage):
/// parsing never panics and every refusal is one printable line (a few seconds).
#[test]
fn fuzzed_blueprint_files_never_panic() {
    // xorshift: reproducible from its seed.
    let mut state: u64 = 14;
    let mut below = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let pieces = [
        "us-east-1",
        "",
        "\\u0000",
        "\\u001b[2J",
        "\\u202e",
        "ü",
        "eu",
        "us",
        "-",
        "1",
        "gov",
        "iso",
        "a\\nb",
        "\"",
        "\\\\",
        "[",
        "]",
        "=",
        "x",
    ];
    let started = std::time::Instant::now();
    let mut files = 0;
    while started.elapsed() < std::time::Duration::from_secs(2) {
        let mut value = String::new();
        for _ in 0..below(8) {
            value.push_str(pieces[below(pieces.len())]);
        }
        let text = match below(4) {
            0 => format!("[guest]\npath = \"g.wasm\"\n[providers.aws]\nregion = \"{value}\"\n"),
            1 => {
                format!("[guest]\npath = \"g.wasm\"\n[providers.pagerduty]\nregion = \"{value}\"\n")
            }
            2 => format!("name = \"{value}\"\n[guest]\npath = \"{value}\"\n"),
            _ => value.clone(),
        };
        if let Err(e) = Blueprint::parse(std::path::Path::new("x.toml"), &text)
            && text.starts_with("[guest]")
        {
            assert!(printable(&e.to_string()), "{text:?} -> {e:?}");
        }
        files += 1;
    }
    assert!(files > 100, "{files}");
}

/// PagerDuty accepts its own list of time zones: an IANA name off it is refused
/// at validation, before any API call, naming the nearest accepted one.
#[tokio::test(flavor = "multi_thread")]
async fn a_time_zone_pagerduty_does_not_take_names_the_nearest_it_does() {
    let runtime = support::runtime();
    let file = support::root().join("blueprints/lambda-error-pagerduty.toml");
    for (zone, nearest) in [("Europe/Kyiv", "Europe/Kiev"), ("UTC", "Etc/UTC")] {
        let sets = vec![format!("schedule.time_zone={zone}")];
        match evaluate(&runtime, Blueprint::load(&file).unwrap(), &sets).await {
            Err(EvalError::Graph(invalid)) => {
                let text = invalid.to_string();
                assert!(
                    text.contains(&format!(
                        "{zone:?} is an IANA time zone PagerDuty does not accept: did you mean {nearest:?}?"
                    )),
                    "{text}"
                );
            }
            Err(other) => panic!("expected an invalid graph, got {other}"),
            Ok(_) => panic!("{zone} passed validation"),
        }
    }
}
