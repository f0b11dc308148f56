//! One build runs guests of every contract version it supports: the seed built
//! against the frozen `blueprint:cloud@0.1.0` (`wit/since_v0.1.0`),
//! `blueprint:cloud@0.2.0` to `blueprint:cloud@0.6.0` and against the latest (`wit/`),
//! all made by `scripts/build-guests`, declare the same graph (given the same
//! bucket name: a 0.1.0 seed cannot derive its default from the account) and plan
//! and apply alike against moto and the PagerDuty emulator.

use crate::support;

use std::path::{Path, PathBuf};

use support::world::{SEED, World, text};

const OLD: &str = "lambda_error_pagerduty_wit_0_1_0";
const PREVIOUS: &str = "lambda_error_pagerduty_wit_0_2_0";
const LAST: &str = "lambda_error_pagerduty_wit_0_3_0";
const V0_4: &str = "lambda_error_pagerduty_wit_0_4_0";
const V0_5: &str = "lambda_error_pagerduty_wit_0_5_0";
const V0_6: &str = "lambda_error_pagerduty_wit_0_6_0";
const NEW: &str = "lambda_error_pagerduty";

/// The seed's blueprint file with its guest swapped, beside a copy of the
/// Lambda handler it packs.
fn seed_with(dir: &Path, guest: &str) -> PathBuf {
    let seed = std::fs::read_to_string(support::root().join(SEED)).unwrap();
    let text = seed.replace(
        "../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm",
        &support::guest(guest).display().to_string(),
    );
    assert_ne!(text, seed, "the seed names its guest by that path");
    // Both name the bucket: a 0.1.0 guest cannot look up the account that the
    // latest seed's default name is made from, and the graphs must be equal.
    let text = text.replace(
        "[params]\n",
        "[params]\nbucket_name = \"lambda-error-pagerduty-assets\"\n",
    );
    support::copy_handler(dir, "lambda-error-pagerduty-handler");
    let file = dir.join(format!("{guest}.toml"));
    std::fs::write(&file, text).unwrap();
    file
}

/// `graph` JSON with the `depends_on` props and the edges only they made
/// removed, printed as `graph` prints it.
fn without_explicit_dependencies(stdout: &[u8]) -> String {
    let mut graph: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    let mut only_declared = Vec::new();
    for node in graph["nodes"].as_array_mut().unwrap() {
        let Some(on) = node.as_object_mut().unwrap().remove("depends_on") else {
            continue;
        };
        let from = node["id"].as_str().unwrap().to_owned();
        for target in on.as_array().unwrap() {
            let to = target.as_str().unwrap();
            let to = to.trim_start_matches("${").split('.').next().unwrap();
            let elsewhere = node.to_string().contains(&format!("${{{to}."));
            if !elsewhere {
                only_declared.push((from.clone(), to.to_owned()));
            }
        }
    }
    graph["edges"].as_array_mut().unwrap().retain(|e| {
        !only_declared
            .iter()
            .any(|(f, t)| e["from"] == *f && e["to"] == *t)
    });
    let mut text = serde_json::to_string_pretty(&graph).unwrap();
    text.push('\n');
    text
}

fn wit_of(out: &std::process::Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["wit"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn guests_of_every_version_graph_plan_and_run_in_one_build() {
    let dir = tempfile::tempdir().unwrap();
    let old = seed_with(dir.path(), OLD);
    let previous = seed_with(dir.path(), PREVIOUS);
    let last = seed_with(dir.path(), LAST);
    let v0_4 = seed_with(dir.path(), V0_4);
    let v0_5 = seed_with(dir.path(), V0_5);
    let v0_6 = seed_with(dir.path(), V0_6);
    let new = seed_with(dir.path(), NEW);
    let w = World::new().await;

    // Each guest says which contract it speaks.
    let inspect = |file: &Path| {
        let mut c = w.command_without_state(&["inspect", file.to_str().unwrap(), "--json"]);
        c.output().unwrap()
    };
    assert_eq!(
        wit_of(&inspect(&support::guest(OLD))),
        "blueprint:cloud@0.1.0"
    );
    assert_eq!(
        wit_of(&inspect(&support::guest(PREVIOUS))),
        "blueprint:cloud@0.2.0"
    );
    assert_eq!(
        wit_of(&inspect(&support::guest(LAST))),
        "blueprint:cloud@0.3.0"
    );
    assert_eq!(
        wit_of(&inspect(&support::guest(V0_4))),
        "blueprint:cloud@0.4.0"
    );
    assert_eq!(
        wit_of(&inspect(&support::guest(V0_5))),
        "blueprint:cloud@0.5.0"
    );
    assert_eq!(
        wit_of(&inspect(&support::guest(V0_6))),
        "blueprint:cloud@0.6.0"
    );
    assert_eq!(
        wit_of(&inspect(&support::guest(NEW))),
        "blueprint:cloud@0.7.0"
    );

    // The same graph, byte for byte.
    let graph_old = w
        .blueprint_without_state(&["graph", old.to_str().unwrap()])
        .await;
    let graph_previous = w
        .blueprint_without_state(&["graph", previous.to_str().unwrap()])
        .await;
    let graph_last = w
        .blueprint_without_state(&["graph", last.to_str().unwrap()])
        .await;
    let graph_v0_4 = w
        .blueprint_without_state(&["graph", v0_4.to_str().unwrap()])
        .await;
    let graph_v0_5 = w
        .blueprint_without_state(&["graph", v0_5.to_str().unwrap()])
        .await;
    let graph_v0_6 = w
        .blueprint_without_state(&["graph", v0_6.to_str().unwrap()])
        .await;
    let graph_new = w
        .blueprint_without_state(&["graph", new.to_str().unwrap()])
        .await;
    assert!(graph_last.status.success(), "{}", text(&graph_last));
    // 0.4.0 only added outputs, which the seed declares only when asked.
    assert_eq!(graph_last.stdout, graph_new.stdout);
    // 0.5.0 only added kinds the seed does not declare.
    assert!(graph_v0_4.status.success(), "{}", text(&graph_v0_4));
    assert_eq!(graph_v0_4.stdout, graph_new.stdout);
    // 0.6.0 added kinds and optional props the seed does not set.
    assert!(graph_v0_5.status.success(), "{}", text(&graph_v0_5));
    assert_eq!(graph_v0_5.stdout, graph_new.stdout);
    // 0.7.0 added a kind and an optional prop the seed does not use.
    assert!(graph_v0_6.status.success(), "{}", text(&graph_v0_6));
    assert_eq!(graph_v0_6.stdout, graph_new.stdout);
    assert!(graph_old.status.success(), "{}", text(&graph_old));
    assert!(graph_previous.status.success(), "{}", text(&graph_previous));
    assert!(graph_new.status.success(), "{}", text(&graph_new));
    // The same graph, but for what only 0.3.0 can say: the function's order
    // after its log permission (`host.depends-on`).
    let new_graph = without_explicit_dependencies(&graph_new.stdout);
    assert_eq!(String::from_utf8_lossy(&graph_old.stdout), new_graph);
    assert_eq!(String::from_utf8_lossy(&graph_previous.stdout), new_graph);
    assert!(
        String::from_utf8_lossy(&graph_new.stdout).contains("depends_on"),
        "the latest seed declares the order"
    );
    // What only the latest contract declares is refused by name in the older
    // guests, before anything is planned.
    let out = w
        .blueprint_without_state(&[
            "graph",
            previous.to_str().unwrap(),
            "--set",
            r#"services=[{"dead_letter_queue":true}]"#,
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("need this guest built for blueprint:cloud@0.3.0"),
        "{}",
        text(&out)
    );

    let out = w
        .blueprint_without_state(&[
            "graph",
            last.to_str().unwrap(),
            "--set",
            "publish_on_call=true",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("publish_on_call needs this guest built for blueprint:cloud@0.4.0"),
        "{}",
        text(&out)
    );

    // Plan and run each, in its own world.
    for file in [&old, &previous, &last, &v0_4, &v0_5, &v0_6, &new] {
        let w = World::new().await;
        let f = file.to_str().unwrap();
        let plan = w.blueprint(&["plan", f]).await;
        assert!(plan.status.success(), "{}", text(&plan));
        assert!(
            text(&plan).contains("Plan: 19 to create, 0 to update, 0 to replace, 0 to delete."),
            "{}",
            text(&plan)
        );
        let run = w.blueprint(&["run", f, "--yes"]).await;
        assert!(run.status.success(), "{}", text(&run));
        assert!(
            text(&run).contains("Apply complete: 19 created"),
            "{}",
            text(&run)
        );
        let again = w.blueprint(&["plan", f, "--detailed-exitcode"]).await;
        assert_eq!(again.status.code(), Some(0), "{}", text(&again));
        assert_eq!(w.count("services"), 1);
    }
}
