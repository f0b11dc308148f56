//! The `blueprint` binary as a user runs it: outputs, exit codes, one-line errors.

mod support;

use std::process::{Command, Output};

fn blueprint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(args)
        .env(
            "BLUEPRINT_CACHE_DIR",
            support::root().join("target/test-wasm-cache"),
        )
        .current_dir(support::root())
        .output()
        .expect("the blueprint binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const SEED: &str = "blueprints/lambda-error-pagerduty.toml";

#[test]
fn graph_json_dot_and_mermaid() {
    let json = blueprint(&["graph", SEED]);
    assert!(json.status.success(), "{}", stderr(&json));
    let g: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(g["nodes"].as_array().unwrap().len(), 22);
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
    assert!(out.contains("wit        blueprint:cloud@0.1.0"), "{out}");
    assert!(out.contains("Asia/Tokyo"), "{out}");

    let o = blueprint(&[
        "inspect",
        "target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["wit"], "blueprint:cloud@0.1.0");
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
    assert_eq!(err.lines().count(), 1, "{err}");
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
