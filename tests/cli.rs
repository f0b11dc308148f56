//! The `blueprint` binary as a user runs it: outputs, exit codes, one-line errors.

use crate::support;
use support::blueprint;

use std::process::{Command, Output};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SEED: &str = "blueprints/lambda-error-pagerduty.toml";

/// Both compilers run the seed to the same graph, byte for byte; an unknown
/// `BLUEPRINT_COMPILER` is a clear error.
#[test]
fn both_compilers_declare_the_same_graph() {
    let graph = |compiler: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
            .args(["graph", SEED, "--no-cache"])
            .current_dir(support::root())
            .env("BLUEPRINT_COMPILER", compiler)
            .output()
            .unwrap();
        assert!(out.status.success(), "{compiler}: {}", stderr(&out));
        out.stdout
    };
    assert_eq!(graph("winch"), graph("cranelift"));
    let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(["graph", SEED])
        .current_dir(support::root())
        .env("BLUEPRINT_COMPILER", "llvm")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("BLUEPRINT_COMPILER=\"llvm\": set it to \"winch\" or \"cranelift\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn graph_json_dot_and_mermaid() {
    let json = blueprint(&["graph", SEED]);
    assert!(json.status.success(), "{}", stderr(&json));
    let g: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    // 19 resources, 5 lookups (2 users, the vendor, the account, the region).
    assert_eq!(g["nodes"].as_array().unwrap().len(), 24);
    assert!(
        !stdout(&json).contains('\u{E000}'),
        "raw tokens must not leak into output"
    );

    let dot = blueprint(&["graph", SEED, "--format", "dot"]);
    assert!(dot.status.success());
    let dot = stdout(&dot);
    assert!(dot.starts_with("digraph blueprint {"), "{dot}");
    assert!(
        dot.contains("\"lambda-error-error-alarm\" -> \"lambda-error-topic\";"),
        "{dot}"
    );

    let mermaid = blueprint(&["graph", SEED, "--format", "mermaid"]);
    assert!(mermaid.status.success());
    let mermaid = stdout(&mermaid);
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert_eq!(
        mermaid.matches(" --> ").count(),
        g["edges"].as_array().unwrap().len()
    );
}

#[test]
fn set_overrides_a_param() {
    let o = blueprint(&[
        "graph",
        SEED,
        "--set",
        "schedule.rotation_turn_length_seconds=7200",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let g: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let schedule = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "schedule")
        .unwrap();
    assert_eq!(schedule["layers"][0]["rotation_turn_length_seconds"], 7200);
}

#[test]
fn bad_params_fail_with_exit_1_and_name_the_param() {
    let o = blueprint(&["graph", SEED, "--set", "escalation.num_loops=-1"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("params.escalation.num_loops"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn inspect_shows_version_and_defaults() {
    let o = blueprint(&["inspect", SEED]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("lambda-error-pagerduty 0.1.0"), "{out}");
    assert!(
        out.contains(&format!(
            "wit        blueprint:cloud@{}",
            blueprint::runtime::WIT_VERSION
        )),
        "{out}"
    );
    assert!(out.contains("Asia/Tokyo"), "{out}");

    let o = blueprint(&[
        "inspect",
        "target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["wit"],
        format!("blueprint:cloud@{}", blueprint::runtime::WIT_VERSION)
    );
    assert_eq!(v["defaults"]["team_name"], "teamOnCall");
    assert_eq!(v["params_schema"]["type"], "object");
}

#[test]
fn a_broken_blueprint_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "[guest]\npath = \"x.wasm\"\n[params\n").unwrap();
    let o = blueprint(&["graph", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: ") && err.contains("not a valid blueprint file"),
        "{err}"
    );

    std::fs::write(&file, "[guest]\npath = \"missing.wasm\"\n").unwrap();
    let o = blueprint(&["graph", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot be read"), "{}", stderr(&o));
}

#[test]
fn a_hostile_guest_ends_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = support::blueprint_file(
        dir.path(),
        &support::guest("hostile-guest"),
        "mode = \"loop\"",
    );
    let o = blueprint(&["--guest-timeout", "0.5", "graph", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(
        err.lines().filter(|l| !l.starts_with("hint: ")).count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("guest 'hostile_guest' failed: ran out of time"),
        "{err}"
    );

    let file = support::blueprint_file(
        dir.path(),
        &support::guest("hostile-guest"),
        "mode = \"cycle\"",
    );
    let o = blueprint(&["graph", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("dependency cycle"), "{}", stderr(&o));
}

/// The seed as a file in a temporary folder (with its handler), plus `extra` TOML.
fn seed_copy(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let root = support::root();
    support::copy_handler(dir, "lambda-error-pagerduty-handler");
    let text = std::fs::read_to_string(root.join(SEED)).unwrap().replace(
        "path = \"../target/",
        &format!("path = \"{}/target/", root.display()),
    );
    let file = dir.join("seed.toml");
    std::fs::write(&file, format!("{text}\n{extra}")).unwrap();
    file
}

fn rules_found(o: &Output) -> Vec<(String, String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["node"].as_str().unwrap().to_owned(),
                f["silenced"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn check_names_exactly_the_seeds_faults_and_their_fixes() {
    let o = blueprint(&["check", SEED, "--json"]);
    assert_eq!(o.status.code(), Some(0), "warnings only: {}", stderr(&o));
    let alarm = "lambda-error-error-alarm".to_owned();
    assert_eq!(
        rules_found(&o),
        vec![
            ("alarm-missing-data".into(), alarm.clone(), None),
            ("alarm-no-ok-action".into(), alarm.clone(), None),
            ("alarm-sub-minute-period".into(), alarm, None),
            (
                "log-group-no-retention".into(),
                "lambda-error-log-group".into(),
                None
            ),
            (
                "subscription-without-dead-letter-queue".into(),
                "lambda-error-pagerduty-subscription".into(),
                None
            ),
        ]
    );
    // --strict fails on warnings; the text groups by severity.
    let o = blueprint(&["check", SEED, "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("Warnings (5):"), "{}", stdout(&o));
    assert!(stdout(&o).contains("fix: period = 60"), "{}", stdout(&o));

    // The one-line fixes the README shows clear everything.
    let o = blueprint(&[
        "check",
        SEED,
        "--strict",
        "--set",
        "services.0.alarm_period_seconds=60",
        "--set",
        "services.0.alarm_ok_action=true",
        "--set",
        "services.0.alarm_treat_missing_data=notBreaching",
        "--set",
        "services.0.log_retention_days=30",
        "--set",
        "services.0.dead_letter_queue=true",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("0 error(s), 0 warning(s)"),
        "{}",
        stdout(&o)
    );

    // More faults: a deprecated runtime and a one-person rotation.
    let o = blueprint(&[
        "check",
        SEED,
        "--json",
        "--set",
        "services.0.runtime=nodejs18.x",
        "--set",
        "users=[\"user1@example.com\"]",
    ]);
    let found: Vec<String> = rules_found(&o).into_iter().map(|f| f.0).collect();
    assert!(
        found.contains(&"lambda-runtime-deprecated".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"escalation-single-responder".to_owned()),
        "{found:?}"
    );
}

#[test]
fn check_silences_per_node_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_copy(
        dir.path(),
        "[[check.silence]]\nrule = \"alarm-sub-minute-period\"\nnode = \"lambda-error-error-alarm\"\nreason = \"reproduces the article's 30 s period\"\n",
    );
    let file = file.to_str().unwrap();
    let o = blueprint(&["check", file, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(rules_found(&o).contains(&(
        "alarm-sub-minute-period".into(),
        "lambda-error-error-alarm".into(),
        Some("reproduces the article's 30 s period".into())
    )));
    let o = blueprint(&["check", file]);
    assert!(
        stdout(&o).contains("Silenced in the blueprint file (1):")
            && stdout(&o).contains("reproduces the article's 30 s period")
            && stdout(&o).contains("Warnings (4):"),
        "{}",
        stdout(&o)
    );

    // A typo in a rule id is an error, not a silence that does nothing.
    let file = seed_copy(
        dir.path(),
        "[[check.silence]]\nrule = \"alarm-sub-minute\"\nnode = \"x\"\nreason = \"r\"\n",
    );
    let o = blueprint(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("names no rule \"alarm-sub-minute\""),
        "{}",
        stderr(&o)
    );
    // And a silence needs its reason.
    let file = seed_copy(
        dir.path(),
        "[[check.silence]]\nrule = \"alarm-no-ok-action\"\nnode = \"x\"\nreason = \"\"\n",
    );
    let o = blueprint(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs a reason"), "{}", stderr(&o));
}

#[test]
fn check_reports_an_invalid_graph_as_errors() {
    // A rotation with nobody in it is caught by validation before any rule.
    let o = blueprint(&["check", SEED, "--set", "users=[]"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("a layer needs at least one user"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn export_writes_a_terraform_configuration_and_its_assets() {
    let dir = tempfile::tempdir().unwrap();
    let o = blueprint(&["export", SEED, "--out", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("main.tf.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["terraform"]["required_providers"]["pagerduty"]["source"],
        "PagerDuty/pagerduty"
    );
    assert_eq!(
        config["resource"]["aws_lambda_function"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
    let zips: Vec<_> = std::fs::read_dir(dir.path().join("assets"))
        .unwrap()
        .collect();
    assert_eq!(zips.len(), 1);
    // Printed, it is the same document.
    let o = blueprint(&["export", SEED]);
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(printed, config);
}

// ----- Issue 14: nothing raw from a guest reaches the terminal; bad text and
// bad regions are refused by `graph` in one line each, before any API call -----

/// No control character (but newlines) and no bidi override in `text`.
fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c != '\n' && blueprint::text::is_unsafe(c))
}

#[test]
fn plan_never_prints_a_raw_escape_sequence_from_a_guest() {
    let dir = tempfile::tempdir().unwrap();
    let file = support::blueprint_file(
        dir.path(),
        &support::guest("hostile-guest"),
        "mode = \"bad-names\"",
    );
    let state = dir.path().join("state.json");
    let o = blueprint(&[
        "plan",
        file.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(printable(&out) && printable(&err), "{out:?} {err:?}");
    assert!(err.contains("evil\\u{1b}[2K"), "{err}");
    assert!(err.len() < 10_000, "{} bytes", err.len());
}

#[test]
fn nul_bytes_and_bad_regions_are_refused_by_graph() {
    let dir = tempfile::tempdir().unwrap();
    let file = support::blueprint_file(
        dir.path(),
        &support::guest("hostile-guest"),
        "mode = \"nul-text\"",
    );
    let o = blueprint(&["graph", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(printable(&err), "{err:?}");
    for line in [
        "team (pagerduty.team) prop `name`",
        "filter (aws.cloudwatch_log_metric_filter) prop `pattern`",
    ] {
        assert_eq!(
            err.lines().filter(|l| l.contains(line)).count(),
            1,
            "{line}: {err}"
        );
    }

    let long = "a".repeat(1 << 20);
    for (section, region) in [
        ("aws", ""),
        ("aws", "us-east-1\\u0000"),
        ("aws", "üs-east-1"),
        ("aws", long.as_str()),
        ("pagerduty", "mars"),
        ("pagerduty", "\\u001b[2J"),
    ] {
        let text = format!(
            "name = \"test\"\n[guest]\npath = {:?}\n[providers.{section}]\nregion = \"{region}\"\n",
            support::guest("hostile-guest").display().to_string()
        );
        std::fs::write(&file, text).unwrap();
        let o = blueprint(&["graph", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{region}");
        let err = stderr(&o);
        assert_eq!(
            err.lines().filter(|l| !l.starts_with("hint: ")).count(),
            1,
            "{err}"
        );
        assert!(printable(&err) && err.len() < 1_000, "{err:?}");
        assert!(
            err.contains(&format!("providers.{section}.region must be")),
            "{err}"
        );
        assert!(
            err.contains(if section == "aws" {
                "us-east-1"
            } else {
                "\"us\" or \"eu\""
            }),
            "the valid forms are listed: {err}"
        );
    }
}

/// A 100 MB log line reaches stderr cut to the documented length.
#[test]
fn a_huge_log_line_is_cut_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = support::blueprint_file(
        dir.path(),
        &support::guest("hostile-guest"),
        "mode = \"long-log\"\nsize = 104857600",
    );
    let o = blueprint(&["-v", "graph", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.contains("yyyy"))
        .unwrap_or_else(|| panic!("{}", &err[..err.len().min(2000)]));
    assert!(line.len() < 4096 + 200, "{} bytes", line.len());
    assert!(
        line.contains("…(104857600 bytes)"),
        "{}",
        &line[line.len() - 100..]
    );
}

/// A FIFO beside the blueprint: `graph` ends at once with one line naming it
/// relative to the blueprint folder.
#[cfg(unix)]
#[test]
fn a_fifo_asset_ends_graph_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("mkfifo")
        .arg(dir.path().join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let file = support::blueprint_file(
        dir.path(),
        &support::guest("hostile-guest"),
        "mode = \"asset\"\npath = \"pipe\"",
    );
    let started = std::time::Instant::now();
    let o = blueprint(&["graph", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(
        err.lines().filter(|l| !l.starts_with("hint: ")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("pipe is a named pipe"), "{err}");
    assert!(!err.contains(dir.path().to_str().unwrap()), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// Shell completions parse, the man page renders, `version --json` names what
/// the build serves.
#[test]
fn completions_man_page_and_version() {
    let o = blueprint(&["completions", "bash"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &o.stdout).unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(script.path())
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", stderr(&syntax));
    assert!(stdout(&o).contains("drill"), "completes the subcommands");
    for shell in ["zsh", "fish", "powershell"] {
        let o = blueprint(&["completions", shell]);
        assert!(o.status.success() && !o.stdout.is_empty(), "{shell}");
    }
    let o = blueprint(&["man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(".TH blueprint"), "{}", stdout(&o));

    let o = blueprint(&["version", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        v["wit"],
        serde_json::json!([
            "blueprint:cloud@0.1.0",
            "blueprint:cloud@0.2.0",
            "blueprint:cloud@0.3.0",
            "blueprint:cloud@0.4.0",
            "blueprint:cloud@0.5.0",
            "blueprint:cloud@0.6.0",
            "blueprint:cloud@0.7.0"
        ])
    );
    assert!(
        matches!(v["compiler"].as_str(), Some("winch" | "cranelift")),
        "{v}"
    );
    assert!(!v["commit"].as_str().unwrap().is_empty(), "{v}");
    assert!(!v["target"].as_str().unwrap().is_empty(), "{v}");
}

/// A usage error exits 1 (2 is `plan --detailed-exitcode`'s "there are
/// changes"); help exits 0; with `--json` errors are JSON on stderr.
#[test]
fn usage_errors_exit_1_and_json_errors_are_json() {
    let o = blueprint(&["plna", SEED]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unrecognized subcommand"),
        "{}",
        stderr(&o)
    );
    let o = blueprint(&["plan", SEED, "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(1));
    let o = blueprint(&["--help"]);
    assert_eq!(o.status.code(), Some(0));

    let o = blueprint(&["check", "no/such/blueprint.toml", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let line = stderr(&o);
    let error: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {line}");
    });
    assert_eq!(error["error"]["kind"], "blueprint_file", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no/such/blueprint.toml"),
        "{error}"
    );
    assert_eq!(
        error["error"]["hint"],
        "docs/blueprint-file.md describes the file"
    );
    // A param of the wrong type: the hint says where the params are described.
    let o = blueprint(&["check", SEED, "--set", "team_name=7", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let error: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(error["error"]["kind"], "params", "{error}");
    assert!(
        error["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("blueprint inspect"),
        "{error}"
    );
    let o = blueprint(&["plna", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(error["error"]["kind"], "usage");
}

/// No ANSI escape ever reaches a pipe: not in the plan, not in the logs, with or
/// without NO_COLOR.
#[test]
fn no_escape_codes_in_a_pipe() {
    for no_color in [None, Some("1")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_blueprint"));
        command
            .args(["-vv", "graph", SEED])
            .current_dir(support::root());
        if let Some(v) = no_color {
            command.env("NO_COLOR", v);
        }
        let o = command.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!o.stderr.is_empty(), "-vv logs something");
        assert!(
            !o.stdout.contains(&0x1b) && !o.stderr.contains(&0x1b),
            "an ESC byte in a pipe (NO_COLOR={no_color:?}): {}",
            stderr(&o)
        );
    }
}

/// docs/reference.md is what `blueprint reference` prints from the clap
/// definitions: every command, flag, environment variable and exit code.
#[test]
fn the_reference_page_is_current() {
    let o = blueprint(&["reference"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let generated = stdout(&o);
    let path = support::root().join("docs/reference.md");
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated == written,
        "docs/reference.md is out of date: run `target/release/blueprint reference > docs/reference.md`"
    );
    for needle in [
        "## `blueprint drill`",
        "`--detailed-exitcode`",
        "`NO_COLOR`",
        "## Exit codes",
    ] {
        assert!(generated.contains(needle), "{needle}");
    }
}
