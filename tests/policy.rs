//! Policy guests through `blueprint check` (the one place findings are computed,
//! which `plan` and `run` share): the Rust example policy (alarms need an OK
//! action) and the Python one (log groups need a retention), silences on policy
//! rules, the organisation's policy file, and policies that misbehave in their
//! answers. The sandbox checks of the policy world are in tests/sandbox.rs.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::world::text;

/// A copy of the seed blueprint in a temporary folder (its Lambda handler beside
/// it) with the guest's absolute path and `extra` TOML appended.
fn seed_with(dir: &Path, name: &str, extra: &str) -> PathBuf {
    support::copy_handler(dir, "lambda-error-pagerduty-handler");
    let seed = std::fs::read_to_string(support::root().join(support::world::SEED)).unwrap();
    let local = "\"../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm\"";
    let guest = format!(
        "{:?}",
        support::guest("lambda-error-pagerduty")
            .display()
            .to_string()
    );
    let file = dir.join(format!("{name}.toml"));
    let text = seed.replace(local, &guest).replace(
        "name = \"lambda-error-pagerduty\"",
        &format!("name = \"{name}\""),
    );
    std::fs::write(&file, format!("{text}\n{extra}")).unwrap();
    file
}

fn policy_line(crate_name: &str) -> String {
    format!(
        "[[policy]]\npath = {:?}\n",
        support::guest(crate_name).display().to_string()
    )
}

fn blueprint(args: &[&str], org: Option<&Path>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(args)
        .current_dir(support::root())
        .env(
            "BLUEPRINT_CACHE_DIR",
            support::root().join("target/test-wasm-cache"),
        )
        .env(
            "BLUEPRINT_POLICY_CONFIG",
            org.map(|p| p.as_os_str().to_owned()).unwrap_or_default(),
        )
        .stdin(Stdio::null())
        .output()
        .expect("blueprint runs")
}

/// `check --json`: its exit status and report.
fn check(file: &Path, sets: &[&str], org: Option<&Path>) -> (bool, Value) {
    let mut args = vec!["check", file.to_str().unwrap(), "--json"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = blueprint(&args, org);
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.success(), report)
}

fn findings_of<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn the_rust_policy_fails_the_seed_until_its_alarm_has_an_ok_action() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_with(dir.path(), "seed", &policy_line("require-ok-action-policy"));
    let (passed, report) = check(&file, &[], None);
    assert!(!passed, "{report:#}");
    let found = findings_of(&report, "alarm-requires-ok-action");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["severity"], "error");
    assert_eq!(found[0]["node"], "lambda-error-error-alarm");
    assert_eq!(found[0]["policy"], "require-ok-action@0.1.0");
    assert!(
        found[0]["why"]
            .as_str()
            .unwrap()
            .contains("PagerDuty resolves")
    );
    // The built-in rules still ran, before it.
    assert_eq!(findings_of(&report, "alarm-no-ok-action").len(), 1);

    let (passed, report) = check(&file, &["services.0.alarm_ok_action=true"], None);
    assert!(passed, "{report:#}");
    assert!(findings_of(&report, "alarm-requires-ok-action").is_empty());
}

#[test]
fn the_python_policy_requires_log_retention() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_with(dir.path(), "seed", &policy_line("require-log-retention-py"));
    let (passed, report) = check(&file, &[], None);
    assert!(!passed, "{report:#}");
    let found = findings_of(&report, "log-retention-required");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["node"], "lambda-error-log-group");
    assert_eq!(found[0]["policy"], "require-log-retention@0.1.0");

    let (passed, report) = check(&file, &["services.0.log_retention_days=30"], None);
    assert!(passed, "{report:#}");
    assert!(findings_of(&report, "log-retention-required").is_empty());

    let (passed, report) = check(&file, &["services.0.log_retention_days=400"], None);
    assert!(passed, "a warning does not fail check: {report:#}");
    let found = findings_of(&report, "log-retention-over-a-year");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["severity"], "warning");
}

#[test]
fn policy_rules_can_be_silenced_and_unknown_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let silence = "[[check.silence]]\nrule = \"alarm-requires-ok-action\"\nnode = \"lambda-error-error-alarm\"\nreason = \"reproduces the article\"\n";
    let file = seed_with(
        dir.path(),
        "seed",
        &format!("{}{silence}", policy_line("require-ok-action-policy")),
    );
    let (passed, report) = check(&file, &[], None);
    assert!(passed, "{report:#}");
    assert_eq!(
        findings_of(&report, "alarm-requires-ok-action")[0]["silenced"],
        "reproduces the article"
    );

    // Without the policy, nothing declares that rule: the silence is a typo.
    let file = seed_with(dir.path(), "nopolicy", silence);
    let out = blueprint(&["check", file.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("names no rule \"alarm-requires-ok-action\""),
        "{}",
        text(&out)
    );
}

#[test]
fn the_organisation_policy_file_applies_to_every_blueprint() {
    let dir = tempfile::tempdir().unwrap();
    let org_dir = dir.path().join("org");
    std::fs::create_dir_all(&org_dir).unwrap();
    let policy = support::guest("require-ok-action-policy");
    std::fs::copy(&policy, org_dir.join("ok.wasm")).unwrap();
    let org = org_dir.join("policies.toml");
    std::fs::write(
        &org,
        "[[policy]]\npath = \"ok.wasm\"   # relative to this file\n",
    )
    .unwrap();
    let file = seed_with(dir.path(), "seed", "");

    let (passed, report) = check(&file, &[], Some(&org));
    assert!(!passed, "{report:#}");
    assert_eq!(findings_of(&report, "alarm-requires-ok-action").len(), 1);
    let (passed, _) = check(&file, &[], None);
    assert!(passed, "without the org file the seed has warnings only");
}

#[test]
fn a_policy_that_answers_wrongly_fails_the_check_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for (mode, expected) in [
        (
            "undeclared-rule",
            "reported rule \"not-in-rules\", which its rules() does not declare",
        ),
        (
            "unknown-node",
            "on node \"no-such-node\", which the graph does not have",
        ),
        ("error", "returned an error: the policy refused on purpose"),
    ] {
        let file = seed_with(dir.path(), mode, &policy_line("hostile-policy"));
        let out = blueprint(&["check", file.to_str().unwrap()], None);
        assert!(!out.status.success(), "{mode}: {}", text(&out));
        let said = text(&out);
        assert!(
            said.contains("policy guest 'hostile_policy'"),
            "{mode}: {said}"
        );
        assert!(said.contains(expected), "{mode}: {said}");
    }
}

#[test]
fn a_missing_or_wrong_policy_component_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_with(dir.path(), "seed", "[[policy]]\npath = \"nowhere.wasm\"\n");
    let out = blueprint(&["check", file.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("cannot be read"), "{}", text(&out));

    let file = seed_with(dir.path(), "guest", &policy_line("lambda-error-pagerduty"));
    let out = blueprint(&["check", file.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("is not a policy"), "{}", text(&out));

    let file = seed_with(
        dir.path(),
        "both",
        "[[policy]]\npath = \"a.wasm\"\noci = \"r.example/a/b:1\"\n",
    );
    let out = blueprint(&["check", file.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("exactly one of `path` or `oci`"),
        "{}",
        text(&out)
    );
}
