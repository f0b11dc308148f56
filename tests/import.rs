//! `blueprint import` of the seed's cdktf deployment, against moto (behind the
//! AWS fault proxy, which counts every AWS call) and the PagerDuty emulator
//! (which records every request).
//!
//! The world is pre-populated with the seed's objects through the emulators'
//! APIs (a `blueprint run` into a scratch state that is then thrown away, so
//! nothing remembers them but the clouds), and the two Terraform state files
//! the seed's cdktf stacks would leave are written from what exists
//! (`support/cdktf.rs`, sources in tests/fixtures/cdktf-seed/README.md).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_fault_proxy::{FaultProxy, Faults};
use pagerduty_emulator::Config;
use serde_json::{Value, json};
use support::cdktf::{self, Existing};
use support::world::{SEED, World, text};

struct Setup {
    w: World,
    proxy: FaultProxy,
    record: PathBuf,
    dir: tempfile::TempDir,
    /// The scratch state the objects were created with (read, then deleted).
    existing: Value,
    pd_state: PathBuf,
    aws_state: PathBuf,
}

impl Setup {
    /// A world holding the seed deployed with `sets`, and its two tfstate files.
    async fn new(sets: &[&str]) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("pagerduty-requests.jsonl");
        let w = World::with(Config {
            now: Some("2023-09-16T01:30:00+09:00".parse().unwrap()),
            record: Some(record.clone()),
            ..Config::default()
        })
        .await;
        let proxy = support::fault_proxy::start(&w.moto, Faults::default()).await;
        let mut s = Setup {
            w,
            proxy,
            record,
            existing: Value::Null,
            pd_state: dir.path().join("pagerduty-stack/terraform.tfstate"),
            aws_state: dir.path().join("lambda-error-stack/terraform.tfstate"),
            dir,
        };
        let scratch = s.dir.path().join("scratch-state.json");
        let mut args = vec!["run", SEED, "--yes", "--state", scratch.to_str().unwrap()];
        for set in sets {
            args.extend(["--set", set]);
        }
        let out = s.run(&args).await;
        assert!(out.status.success(), "{}", text(&out));
        // The counters see the clouds: the scratch run's creates are counted.
        let (aws, pd) = s.mutations();
        assert!(
            aws.iter().any(|c| c.starts_with("logs:CreateLogGroup")),
            "{aws:?}"
        );
        assert!(pd.iter().any(|c| c.contains("/schedules")), "{pd:?}");
        s.existing = serde_json::from_str(&std::fs::read_to_string(&scratch).unwrap()).unwrap();
        std::fs::remove_file(&scratch).unwrap();
        let e = Existing { state: &s.existing };
        std::fs::create_dir_all(s.pd_state.parent().unwrap()).unwrap();
        std::fs::create_dir_all(s.aws_state.parent().unwrap()).unwrap();
        write(&s.pd_state, &cdktf::pagerduty_stack(&e));
        write(
            &s.aws_state,
            &cdktf::aws_stack(&e, "../pagerduty-stack/terraform.tfstate"),
        );
        s
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.w.command_without_state(args);
        command.env("AWS_ENDPOINT_URL", self.proxy.url());
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().expect("blueprint runs"))
            .await
            .unwrap()
    }

    /// With this world's (blueprint) state file.
    async fn blueprint(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--state", self.w.state.to_str().unwrap()]);
        self.run(&all).await
    }

    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.w.state).unwrap()).unwrap()
    }

    fn tf(&self) -> [&str; 2] {
        [
            self.pd_state.to_str().unwrap(),
            self.aws_state.to_str().unwrap(),
        ]
    }

    /// Mutating calls so far: (AWS `service:Action`s that are not reads,
    /// PagerDuty POST/PUT/PATCH/DELETE requests).
    fn mutations(&self) -> (Vec<String>, Vec<String>) {
        let aws: Vec<String> = self
            .proxy
            .counters()
            .calls
            .iter()
            .filter(|(call, _)| {
                let action = call.split_once(':').map_or(call.as_str(), |(_, a)| a);
                !["Get", "List", "Describe", "Head"]
                    .iter()
                    .any(|p| action.starts_with(p))
            })
            .map(|(call, n)| format!("{call} x{n}"))
            .collect();
        let pd: Vec<String> = std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["method"] != "GET")
            .map(|r| format!("{} {}", r["method"], r["path"]))
            .collect();
        (aws, pd)
    }
}

fn write(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_cdktf_deployment_is_adopted_without_a_change() {
    let s = Setup::new(&[]).await;
    let [pd, aws] = s.tf();
    // An object the blueprint does not declare, in the AWS stack.
    let mut aws_json: Value = serde_json::from_str(&std::fs::read_to_string(aws).unwrap()).unwrap();
    cdktf::add_instance(
        &mut aws_json,
        "aws_cloudwatch_log_group",
        "OtherLogGroup_A5B6C7D8",
        json!({"id": "/aws/lambda/other-function", "name": "/aws/lambda/other-function", "retention_in_days": 14}),
    );
    write(&s.aws_state, &aws_json);
    let before = s.mutations();
    let pd_objects = s.w.pd()["objects"].clone();
    let key = s.existing["resources"]["lambda-error-integration"]["resource"]["outputs"]
        ["integration_key"]
        .clone();

    // --dry-run --json: the matching, nothing recorded.
    let out = s
        .blueprint(&[
            "import",
            SEED,
            "--from-terraform-state",
            pd,
            aws,
            "--dry-run",
            "--json",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let m = json_out(&out);
    let adopted: Vec<&str> = m["adopted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["node"].as_str().unwrap())
        .collect();
    assert_eq!(adopted.len(), 19, "{m:#}");
    assert_eq!(m["lookups"].as_array().unwrap().len(), 3, "{m:#}");
    assert_eq!(m["nodes_without_match"], json!([]), "{m:#}");
    assert_eq!(m["ambiguous"], json!([]), "{m:#}");
    let unmatched = m["unmatched"].as_array().unwrap();
    assert_eq!(unmatched.len(), 1, "{m:#}");
    assert_eq!(
        unmatched[0]["address"],
        "aws_cloudwatch_log_group.OtherLogGroup_A5B6C7D8"
    );
    assert!(
        m["ignored"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["address"] == "data.terraform_remote_state.pagerduty"
                && i["reason"].as_str().unwrap().contains("cross-stack")),
        "{m:#}"
    );
    // Matched by identity: the integration to the service matched before it.
    let integration = m["adopted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["node"] == "lambda-error-integration")
        .unwrap();
    assert_eq!(
        integration["from"]["address"],
        "pagerduty_service_integration.cloudwatchintegration_6F708192"
    );
    let service = s.existing["resources"]["lambda-error-service"]["resource"]["id"]
        .as_str()
        .unwrap();
    assert!(
        integration["import_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{service}.")),
        "{integration}"
    );
    assert!(!s.w.state.exists(), "a dry run records nothing");

    // Without --yes and without a terminal: refused, nothing written.
    let out = s
        .blueprint(&["import", SEED, "--from-terraform-state", pd, aws])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("pass --yes"), "{}", text(&out));
    assert!(!s.w.state.exists());

    let calls_before = (
        s.proxy.counters().calls.values().sum::<u64>(),
        s.w.emulator.request_count(),
    );
    let started = std::time::Instant::now();
    let out = s
        .blueprint(&["import", SEED, "--from-terraform-state", pd, aws, "--yes"])
        .await;
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    // Printed with --nocapture: what an import of the seed costs.
    eprintln!(
        "{shown}import of the seed: {:.2} s, {} AWS calls, {} PagerDuty requests (all reads)",
        elapsed.as_secs_f64(),
        s.proxy.counters().calls.values().sum::<u64>() - calls_before.0,
        s.w.emulator.request_count() - calls_before.1,
    );
    assert!(shown.contains("Import complete: 19 resource(s)"), "{shown}");
    assert!(
        shown.contains("Unmatched resources in the state — left alone (1):")
            && shown.contains("aws_cloudwatch_log_group.OtherLogGroup_A5B6C7D8"),
        "{shown}"
    );

    // The state names where each node came from; ids are the existing ones.
    let state = s.state();
    for (node, entry) in state["resources"].as_object().unwrap() {
        let from = &entry["adopted_from"];
        assert_eq!(from["source"], "terraform-state", "{node}: {entry}");
        assert_eq!(
            entry["resource"]["id"], s.existing["resources"][node]["resource"]["id"],
            "{node}"
        );
    }
    let out = s.blueprint(&["state", "show", SEED]).await;
    assert!(
        text(&out).contains("schedule (pagerduty.schedule)  Ready"),
        "{}",
        text(&out)
    );
    let out = s.blueprint(&["state", "show", SEED, "--json"]).await;
    assert!(
        text(&out).contains("\"address\": \"pagerduty_schedule.HourlyRotation_1F2E3D4C\""),
        "{}",
        text(&out)
    );

    // plan: nothing to do.
    let out = s.blueprint(&["plan", SEED, "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("No changes"), "{}", text(&out));

    // run: nothing changes; every id and the integration key are kept.
    let out = s.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let after = s.state();
    for (node, entry) in s.existing["resources"].as_object().unwrap() {
        if entry["resource"].is_object() && !after["resources"][node].is_null() {
            assert_eq!(
                after["resources"][node]["resource"]["id"], entry["resource"]["id"],
                "{node}"
            );
        }
    }
    assert_eq!(
        after["resources"]["lambda-error-integration"]["resource"]["outputs"]["integration_key"],
        key
    );
    assert_eq!(s.w.pd()["objects"], pd_objects, "PagerDuty objects changed");

    // Not one mutating call reached either cloud during import, plan and run.
    assert_eq!(
        s.mutations(),
        before,
        "mutating calls during import/plan/run"
    );

    // The adopted chain pages the engineer on call.
    let out = s.blueprint(&["drill", SEED, "--from", "topic"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Drill passed"), "{}", text(&out));

    // Importing again is refused: the nodes are recorded already.
    let out = s
        .blueprint(&["import", SEED, "--from-terraform-state", pd, aws, "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--replace-record"), "{}", text(&out));
    let out = s
        .blueprint(&[
            "import",
            SEED,
            "--from-terraform-state",
            pd,
            aws,
            "--yes",
            "--replace-record",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn terraform_side_changes_duplicates_and_ids() {
    // Deployed by Terraform with a two-hour rotation; the blueprint says one.
    let s = Setup::new(&["schedule.rotation_turn_length_seconds=7200"]).await;
    let [pd, aws] = s.tf();

    // A duplicate: the team twice (e.g. also declared in a second stack).
    let pd_json: Value = serde_json::from_str(&std::fs::read_to_string(pd).unwrap()).unwrap();
    let mut doubled = pd_json.clone();
    cdktf::add_instance(
        &mut doubled,
        "pagerduty_team",
        "teamOnCallCopy_00000000",
        Value::Object(cdktf::attributes_of(&pd_json, "pagerduty_team")),
    );
    let doubled_path = s.dir.path().join("doubled.tfstate");
    write(&doubled_path, &doubled);
    let out = s
        .blueprint(&[
            "import",
            SEED,
            "--from-terraform-state",
            doubled_path.to_str().unwrap(),
            aws,
            "--yes",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("team (pagerduty.team) matches")
            && shown.contains("pagerduty_team.teamOnCall_9F8E7D6C")
            && shown.contains("pagerduty_team.teamOnCallCopy_00000000")
            && shown.contains("refusing to import"),
        "{shown}"
    );
    assert!(!s.w.state.exists(), "nothing recorded on a refusal");

    // The AWS stack's state on S3 (the S3 backend's object), the other local.
    let config = s.w.moto.sdk_config().await;
    let s3 = blueprint::providers::aws::s3_client(&config);
    support::moto::create_bucket(&config, "terraform-states").await;
    s3.put_object()
        .bucket("terraform-states")
        .key("lambda-error-stack/terraform.tfstate")
        .body(std::fs::read(aws).unwrap().into())
        .send()
        .await
        .unwrap();

    // The real files: adopted; the rotation differs as one in-place update.
    let before = s.mutations();
    let out = s
        .blueprint(&[
            "import",
            SEED,
            "--from-terraform-state",
            pd,
            "s3://terraform-states/lambda-error-stack/terraform.tfstate",
            "--yes",
        ])
        .await;
    assert!(
        text(&out).contains(
            "aws_sns_topic_subscription.PagerDutySubscription_8394A5B6 (s3://terraform-states/"
        ),
        "{}",
        text(&out)
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = s
        .blueprint(&["plan", SEED, "--json", "--detailed-exitcode"])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let plan = json_out(&out);
    let changed: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no_op")
        .map(|c| {
            (
                c["node"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [("schedule".to_owned(), "update".to_owned())],
        "{plan:#}"
    );
    assert_eq!(
        s.mutations(),
        before,
        "import and plan made a mutating call"
    );

    // run applies that one update in place; the schedule stays the adopted one.
    let out = s.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 created, 1 updated, 0 deleted"),
        "{}",
        text(&out)
    );
    let state = s.state();
    assert_eq!(
        state["resources"]["schedule"]["adopted_from"]["address"],
        "pagerduty_schedule.HourlyRotation_1F2E3D4C"
    );
    assert_eq!(
        state["resources"]["schedule"]["resource"]["id"],
        s.existing["resources"]["schedule"]["resource"]["id"]
    );
    let out = s.blueprint(&["plan", SEED, "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_are_adopted_by_their_terraform_import_ids() {
    let s = Setup::new(&[]).await;
    let id = |node: &str| {
        s.existing["resources"][node]["resource"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let team = id("team");
    let user1 = id("user-user1@example.com");
    let user2 = id("user-user2@example.com");
    let before = s.mutations();

    // pagerduty_team_membership's import id is USER_ID:TEAM_ID.
    let out = s
        .blueprint(&[
            "import",
            SEED,
            &format!("team={team}"),
            &format!("membership-user1@example.com={user1}:{team}"),
            "lambda-error-log-group=/aws/lambda/error-function",
            "lambda-error-role-basic-execution=error-function-role/arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "--yes",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let state = s.state();
    assert_eq!(
        state["resources"]["membership-user1@example.com"]["adopted_from"],
        json!({"source": "id", "id": format!("{user1}:{team}")})
    );
    assert_eq!(state["resources"]["team"]["resource"]["id"], team.as_str());

    // The same membership for the other node: refused, it is recorded already.
    let out = s
        .blueprint(&[
            "import",
            SEED,
            &format!("membership-user2@example.com={user1}:{team}"),
            "--yes",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("already recorded for node membership-user1@example.com"),
        "{}",
        text(&out)
    );
    // The right one is accepted; a wrong id format names the expected one.
    let out = s
        .blueprint(&[
            "import",
            SEED,
            &format!("membership-user2@example.com={user2}:{team}"),
            "--yes",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = s
        .blueprint(&[
            "import",
            SEED,
            "lambda-error-error-filter=error-function-errors",
            "--yes",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("LOG_GROUP_NAME:FILTER_NAME"),
        "{}",
        text(&out)
    );
    // An object that does not exist.
    let out = s
        .blueprint(&[
            "import",
            SEED,
            "lambda-error-topic=arn:aws:sns:ap-northeast-1:123456789012:nope",
            "--yes",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no aws.sns_topic with id"),
        "{}",
        text(&out)
    );
    assert_eq!(s.mutations(), before, "import made a mutating call");
}
