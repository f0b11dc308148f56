//! `blueprint new NAME --lang L` creates a project that builds with the commands
//! it prints and passes `blueprint graph` out of the box, in each language.

use crate::support;

use std::process::Command;

use blueprint::scaffold::{self, Lang, Template};

fn scaffold_builds_and_graphs(lang: Lang, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(["new", name, "--lang"])
        .arg(format!("{lang:?}").to_lowercase())
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = dir.path().join(name);
    for command in scaffold::build_commands(lang, name) {
        let out = Command::new("bash")
            .args(["-c", &command])
            .current_dir(&project)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(project.join(scaffold::component_path(lang, name)).exists());
    let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args([
            "graph",
            &format!("{name}.toml"),
            "--set",
            "service_name=payments",
        ])
        .current_dir(&project)
        .env(
            "BLUEPRINT_CACHE_DIR",
            support::root().join("target/test-wasm-cache"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "policy",
            "schedule",
            "service",
            "team",
            "user-user1@example.com"
        ]
    );
    let service = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "service")
        .unwrap();
    assert_eq!(service["name"], "payments");
    // `blueprint dev` works on the project as created ([dev] in its blueprint file):
    // the same graph, from the source (TypeScript, Python) or the rebuilt component.
    let dev = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args([
            "dev",
            &format!("{name}.toml"),
            "--once",
            "--set",
            "service_name=payments",
        ])
        .current_dir(&project)
        .env(
            "BLUEPRINT_CACHE_DIR",
            support::root().join("target/test-wasm-cache"),
        )
        .output()
        .unwrap();
    assert!(
        dev.status.success(),
        "{}",
        String::from_utf8_lossy(&dev.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&dev.stdout).unwrap(),
        graph,
        "blueprint dev --once differs from blueprint graph"
    );
    // A second `new` of the same name touches nothing.
    let again = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(["new", name, "--lang", "python", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn a_new_rust_guest_builds_and_graphs() {
    scaffold_builds_and_graphs(Lang::Rust, "pager-rs");
}

#[test]
fn a_new_typescript_guest_builds_and_graphs() {
    scaffold_builds_and_graphs(Lang::Typescript, "pager-ts");
}

#[test]
fn a_new_python_guest_builds_and_graphs() {
    scaffold_builds_and_graphs(Lang::Python, "pager-py");
}

#[test]
fn bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = scaffold::create("Bad_Name", Lang::Rust, Template::Starter, dir.path()).unwrap_err();
    assert!(err.to_string().contains("lowercase"), "{err}");
    let err = scaffold::create(
        "events-rs",
        Lang::Rust,
        Template::EventbridgePagerduty,
        dir.path(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(
            "the eventbridge-pagerduty template is written in typescript: use --lang typescript"
        ),
        "{err}"
    );
    assert!(!dir.path().join("events-rs").exists(), "nothing is created");
}

/// `--template`: the repository's templates as a project of one's own, built
/// with the commands `new` prints, graphing the template's chain.
fn template_builds_and_graphs(template: &str, lang: Lang, name: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let language = format!("{lang:?}").to_lowercase();
    let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args([
            "new",
            name,
            "--lang",
            &language,
            "--template",
            template,
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let project = dir.path().join(name);
    for command in scaffold::build_commands(lang, name) {
        let out = Command::new("bash")
            .args(["-c", &command])
            .current_dir(&project)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for args in [&["graph"][..], &["check"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
            .args(args)
            .arg(format!("{name}.toml"))
            .current_dir(&project)
            .env(
                "BLUEPRINT_CACHE_DIR",
                support::root().join("target/test-wasm-cache"),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "graph" {
            let graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let kinds: Vec<&str> = graph["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["kind"].as_str().unwrap())
                .collect();
            for kind in expect {
                assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
            }
        }
    }
}

#[test]
fn a_new_project_from_the_eventbridge_template_builds_and_graphs() {
    template_builds_and_graphs(
        "eventbridge-pagerduty",
        Lang::Typescript,
        "ecs-pager",
        &[
            "aws.cloudwatch_event_rule",
            "aws.cloudwatch_event_target",
            "aws.sns_topic_policy",
            "pagerduty.service_integration",
        ],
    );
}

#[test]
fn a_new_project_from_the_lambda_template_builds_and_graphs() {
    template_builds_and_graphs(
        "lambda-error-pagerduty",
        Lang::Typescript,
        "lambda-pager",
        &[
            "aws.lambda_function",
            "aws.cloudwatch_log_metric_filter",
            "aws.cloudwatch_metric_alarm",
            "pagerduty.service_integration",
        ],
    );
}

#[test]
fn a_new_project_from_the_alarm_template_builds_and_graphs() {
    template_builds_and_graphs(
        "alarm-pagerduty",
        Lang::Python,
        "api-pager",
        &[
            "aws.cloudwatch_metric_alarm",
            "aws.sns_topic_subscription",
            "pagerduty.service",
            "pagerduty.service_integration",
        ],
    );
}
