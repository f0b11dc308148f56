//! A run whose state does not know what exists (a lost state file, a fresh CI
//! checkout, `--state` pointed at the wrong file) never builds a second alert
//! path: it adopts what is provably the blueprint's and stops, before any write,
//! on everything else — checked by counting writes in both emulators (the AWS
//! fault proxy's per-action counters before moto; the PagerDuty emulator's
//! whole database before and after).

use crate::support;

use std::process::Output;

use serde_json::Value;

use support::fault_proxy::{self, Faults};
use support::world::{SEED, World, text};

/// `blueprint ARGS --state STATE` with AWS calls going through `proxy`.
async fn through(w: &World, proxy: &fault_proxy::FaultProxy, args: &[&str]) -> Output {
    let mut command = w.command(args);
    command.env("AWS_ENDPOINT_URL", proxy.url());
    tokio::task::spawn_blocking(move || command.output().expect("blueprint runs"))
        .await
        .unwrap()
}

/// The AWS actions the proxy saw that are not reads.
fn aws_writes(proxy: &fault_proxy::FaultProxy) -> Vec<String> {
    let read = ["Get", "List", "Describe", "Head"];
    proxy
        .counters()
        .calls
        .into_keys()
        .filter(|key| {
            let action = key.split_once(':').map_or(key.as_str(), |(_, a)| a);
            !read.iter().any(|r| action.starts_with(r))
        })
        .collect()
}

/// Every PagerDuty object, without the emulator's clock-driven fields.
fn pd_objects(w: &World) -> Value {
    let pd = w.pd();
    serde_json::json!({"objects": pd["objects"], "members": pd["members"]})
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_state_adopts_or_stops_before_any_write() {
    let w = World::new().await;
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let applied = std::fs::read_to_string(&w.state).unwrap();

    // The state is lost.
    std::fs::remove_file(&w.state).unwrap();
    let proxy = fault_proxy::start(&w.moto, Faults::default()).await;
    let pd_before = pd_objects(&w);

    // plan names every existing PagerDuty object and the ways out, exit 1.
    // (The integration is a part of the service: it is found through it, and
    // adopted with it once the service is.)
    let out = through(&w, &proxy, &["plan", SEED]).await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    for node in [
        "team",
        "schedule",
        "escalation-policy",
        "lambda-error-service",
        "business-service",
    ] {
        assert!(
            said.lines()
                .any(|l| l.contains(&format!("- {node}:")) && l.contains("blueprint import")),
            "{node} is not named with the way out:\n{said}"
        );
    }
    assert!(said.contains("or give the node another name"), "{said}");

    // run stops the same way: no second team, service, integration or
    // subscription, and no AWS write.
    let out = through(&w, &proxy, &["run", SEED, "--yes"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("blueprint import"), "{}", text(&out));
    assert_eq!(aws_writes(&proxy), Vec::<String>::new());
    assert_eq!(pd_objects(&w), pd_before, "PagerDuty was written to");

    // With PagerDuty's part of the state kept and AWS's lost, the AWS
    // resources carry this blueprint's tags (or are parts of what does): all
    // are adopted, none created, and the next plan has no changes.
    let mut state: Value = serde_json::from_str(&applied).unwrap();
    let resources = state["resources"].as_object_mut().unwrap();
    let aws_nodes: Vec<String> = resources
        .iter()
        .filter(|(_, e)| {
            let kind = e["kind"].as_str().unwrap();
            // Lookups (the account, the region) are read, never adopted.
            kind.starts_with("aws.") && !blueprint::providers::catalog().is_lookup(kind)
        })
        .map(|(id, _)| id.clone())
        .collect();
    assert!(aws_nodes.len() >= 10, "{aws_nodes:?}");
    for id in &aws_nodes {
        resources.remove(id);
    }
    std::fs::write(&w.state, serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    let out = through(&w, &proxy, &["plan", SEED]).await;
    assert!(out.status.success(), "{}", text(&out));
    let plan = text(&out);
    for id in &aws_nodes {
        assert!(
            plan.contains(&format!("<= {id} (")),
            "{id} not adopted:\n{plan}"
        );
    }
    assert!(
        plan.contains(&format!("Plan: {} to adopt, 0 to create", aws_nodes.len())),
        "{plan}"
    );

    let out = through(&w, &proxy, &["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{} adopted, 0 created", aws_nodes.len())),
        "{}",
        text(&out)
    );
    let writes = aws_writes(&proxy);
    assert!(
        writes.iter().all(|w| !w.contains(":Create")),
        "an AWS resource was created again: {writes:?}"
    );
    assert_eq!(pd_objects(&w), pd_before, "PagerDuty was written to");

    let out = through(&w, &proxy, &["plan", SEED, "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// The way out the refusal names works: the `blueprint import` commands it
/// prints adopt what exists; the run after them adopts the rest (AWS by its
/// tags, the parts of what was imported) and creates nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_import_commands_a_refusal_names_lead_to_a_run_that_creates_nothing() {
    let w = World::new().await;
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let count = |w: &World| -> Vec<(String, usize)> {
        [
            "teams",
            "schedules",
            "escalation_policies",
            "services",
            "business_services",
        ]
        .iter()
        .map(|c| (c.to_string(), w.count(c)))
        .collect()
    };
    let before = count(&w);
    std::fs::remove_file(&w.state).unwrap();

    let out = w.blueprint(&["plan", SEED]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    let pairs: Vec<String> = said
        .split("`blueprint import ")
        .skip(1)
        .map(|rest| {
            let command = &rest[..rest.find('`').expect("closing backtick")];
            let (file, pair) = command.split_once(' ').expect("FILE NODE=ID");
            assert_eq!(file, SEED);
            pair.to_owned()
        })
        .collect();
    assert_eq!(pairs.len(), 5, "{said}");

    let mut args = vec!["import", SEED];
    args.extend(pairs.iter().map(String::as_str));
    args.push("--yes");
    let out = w.blueprint(&args).await;
    assert!(out.status.success(), "{}", text(&out));

    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(" adopted, 0 created"), "{}", text(&out));
    assert_eq!(count(&w), before, "a PagerDuty object was made twice");
    let out = w.blueprint(&["plan", SEED, "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A run killed after its creates landed but before they were recorded: the
/// state holds each as an interrupted create. The next run adopts every one as
/// it is — no create, no update, in either service (an unset prop, like the
/// Lambda's timeout, is not a difference from the service's default) — and
/// the plan after it is clean.
#[tokio::test(flavor = "multi_thread")]
async fn creates_that_landed_before_a_kill_are_adopted_without_a_write() {
    let w = World::new().await;
    let out = w.blueprint(&["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));

    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&w.state).unwrap()).unwrap();
    let resources = state["resources"].as_object_mut().unwrap();
    for entry in resources.values_mut() {
        entry["status"] = "creating".into();
        entry.as_object_mut().unwrap().remove("resource");
    }
    let interrupted = resources.len();
    std::fs::write(&w.state, serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    let proxy = fault_proxy::start(&w.moto, Faults::default()).await;
    let pd_before = pd_objects(&w);
    let out = through(&w, &proxy, &["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&w.state).unwrap()).unwrap();
    let ready = after["resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["status"] == "ready" && e["resource"].is_object())
        .count();
    assert_eq!(
        ready, interrupted,
        "every interrupted create is recorded:\n{said}"
    );
    assert!(said.contains(" created, 0 updated"), "{said}");
    assert_eq!(aws_writes(&proxy), Vec::<String>::new(), "{}", text(&out));
    assert_eq!(pd_objects(&w), pd_before, "PagerDuty was written to");

    let out = through(&w, &proxy, &["plan", SEED, "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
