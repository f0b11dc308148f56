//! Outputs shared between blueprints: the two-blueprint example of
//! `blueprints/platform-and-service/` (a platform blueprint publishing its
//! team's escalation policy, a service blueprint paging through it) applied with
//! `run DIR` against moto and the PagerDuty emulator, read with
//! `blueprint output`, planned empty afterwards, and drilled green.

use crate::support;

use std::path::{Path, PathBuf};

use pagerduty_emulator::Config;
use serde_json::Value;
use support::world::{World, text};

/// The example's two files in `dir/example/`, the handler beside them as in the
/// repository, their guest path made absolute.
fn example(dir: &Path) -> PathBuf {
    let root = support::root();
    let example = dir.join("example");
    std::fs::create_dir_all(&example).unwrap();
    support::copy_handler(&example, "checkout-handler");
    for name in ["platform.toml", "checkout.toml"] {
        let text = std::fs::read_to_string(root.join("blueprints/platform-and-service").join(name))
            .unwrap()
            .replace(
                "path = \"../../target/",
                &format!("path = \"{}/target/", root.display()),
            );
        std::fs::write(example.join(name), text).unwrap();
    }
    example
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_blueprint_pages_through_the_platform_blueprints_policy() {
    // Inside the hourly rotation, so the engineer on call is known (User Two).
    let w = World::with(Config {
        now: Some("2023-09-16T01:30:00+09:00".parse().unwrap()),
        ..Config::default()
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = example(tmp.path());
    let platform = dir.join("platform.toml");
    let checkout = dir.join("checkout.toml");

    // Before the platform is applied, the service cannot be planned: it says
    // what is missing, and nothing is written.
    let out = w.blueprint_without_state(&["plan", arg(&checkout)]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "blueprint 'platform' records nothing at .blueprint/platform.json: apply it first"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(w.count("services"), 0);

    // The graph shows the dependency: lookups of the platform's outputs.
    let out = w
        .blueprint_without_state(&["graph", arg(&checkout), "--format", "json"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let graph: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lookups: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "blueprint.outputs")
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        lookups,
        [
            "platform-business-service-id",
            "platform-escalation-policy-id"
        ]
    );

    // `run DIR`: the platform first (the service reads its outputs), then the service.
    let out = w
        .blueprint_without_state(&["run", arg(&dir), "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("in 2 waves"), "{said}");
    let platform_plan = said.find("== platform").expect("the platform's plan");
    let checkout_plan = said.find("== checkout").expect("the service's plan");
    assert!(platform_plan < checkout_plan, "{said}");
    assert!(
        said.contains("Summary: 2 blueprints, 2 ok, 0 failed"),
        "{said}"
    );

    // One policy, and the service pages through it.
    let pd = w.pd();
    let policies = pd["objects"]["escalation_policies"].as_object().unwrap();
    assert_eq!(policies.len(), 1, "{policies:?}");
    let policy_id = policies.keys().next().unwrap().clone();
    let services: Vec<&Value> = pd["objects"]["services"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["name"], "checkout");
    assert_eq!(services[0]["escalation_policy"]["id"], policy_id.as_str());

    // `blueprint output`: all, one (as is, for scripts), and as JSON.
    let out = w.blueprint_without_state(&["output", arg(&platform)]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("escalation_policy_id = \"{policy_id}\"")),
        "{}",
        text(&out)
    );
    let out = w
        .blueprint_without_state(&["output", arg(&platform), "escalation_policy_id"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{policy_id}\n")
    );
    let out = w
        .blueprint_without_state(&["output", arg(&platform), "--json"])
        .await;
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outputs["escalation_policy_id"]["value"], policy_id.as_str());
    assert_eq!(outputs["escalation_policy_id"]["sensitive"], false);
    assert!(outputs["business_service_id"]["description"].is_string());
    let out = w
        .blueprint_without_state(&["output", arg(&platform), "nope"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no output 'nope'")
            && text(&out).contains("business_service_id, escalation_policy_id"),
        "{}",
        text(&out)
    );
    // The service publishes nothing.
    let out = w
        .blueprint_without_state(&["output", arg(&checkout), "--json"])
        .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "{}");

    // Both plan empty: the lookups were read again and nothing moved; the
    // service's plan says what it read, and from whom.
    for file in [&platform, &checkout] {
        let out = w
            .blueprint_without_state(&["plan", arg(file), "--detailed-exitcode"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let out = w.blueprint_without_state(&["plan", arg(&checkout)]).await;
    assert!(
        text(&out).contains(&format!(
            "<= platform-escalation-policy-id (blueprint.outputs)  platform/escalation_policy_id = \"{policy_id}\""
        )),
        "{}",
        text(&out)
    );
    let out = w
        .blueprint_without_state(&["plan", arg(&checkout), "--json"])
        .await;
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["reads"].as_array().unwrap().len(), 2, "{plan}");

    // The drill follows the service to the platform's policy and its rotation.
    let out = w
        .blueprint_without_state(&["drill", arg(&checkout), "--from", "topic", "--json"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let paged = &report["chains"][0]["paged"];
    assert_eq!(paged["assignee_email"], "user2@example.com", "{report}");
    assert_eq!(
        paged["on_call_now"],
        serde_json::json!(["User Two"]),
        "{report}"
    );

    // A saved plan of the service records what it read, and shows it.
    let saved = dir.join("checkout.plan");
    let out = w
        .blueprint_without_state(&["plan", arg(&checkout), "--out", arg(&saved)])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = w.blueprint_without_state(&["show", arg(&saved)]).await;
    assert!(
        text(&out).contains("<= platform-business-service-id (blueprint.outputs)"),
        "{}",
        text(&out)
    );

    // The platform's policy is protected: destroying the platform is refused
    // while the service still pages through it, and nothing is deleted.
    let out = w
        .blueprint_without_state(&["destroy", arg(&platform), "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("escalation-policy"), "{}", text(&out));
    assert_eq!(w.count("escalation_policies"), 1);

    // The service goes first; then the platform, once unprotected.
    let out = w
        .blueprint_without_state(&["destroy", arg(&checkout), "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.count("services"), 0);
    assert_eq!(w.count("escalation_policies"), 1);
}

/// The platform's state in S3 (moto), named by the service's lookup: read
/// from there through the AWS chain, without the platform's lock.
#[tokio::test(flavor = "multi_thread")]
async fn outputs_are_read_from_a_state_in_s3() {
    const BUCKET: &str = "platform-state";
    let w = World::new().await;
    let config = w.moto.sdk_config().await;
    support::moto::create_bucket(&config, BUCKET).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = example(tmp.path());
    let url = format!("s3://{BUCKET}/teams/");
    let platform = dir.join("platform.toml");
    let text_of = |p: &Path| std::fs::read_to_string(p).unwrap();
    std::fs::write(
        &platform,
        format!("{}\n[state]\nurl = \"{url}\"\n", text_of(&platform)),
    )
    .unwrap();
    let checkout = dir.join("checkout.toml");
    let service = text_of(&checkout).replace(
        "blueprint = \"platform\"\n",
        &format!("blueprint = \"platform\"\nstate = \"{url}\"\n"),
    );
    assert_ne!(service, text_of(&checkout));
    std::fs::write(&checkout, service).unwrap();

    let out = w
        .blueprint_without_state(&["run", arg(&dir), "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("in 2 waves"), "{}", text(&out));
    // The platform's state is the S3 object, not a local file.
    assert!(!dir.join(".blueprint/platform.json").exists());
    let object = blueprint::providers::aws::s3_client(&config)
        .get_object()
        .bucket(BUCKET)
        .key("teams/platform.json")
        .send()
        .await
        .unwrap();
    let state: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    let published = state["resources"]["escalation_policy_id"]["resource"]["outputs"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let pd = w.pd();
    let services: Vec<&Value> = pd["objects"]["services"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(services[0]["escalation_policy"]["id"], published.as_str());
    let out = w
        .blueprint_without_state(&["output", arg(&platform), "escalation_policy_id"])
        .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), published);

    // The service's least-privilege policy may read the platform's state.
    let out = w
        .blueprint_without_state(&["iam-policy", arg(&checkout), "--for", "plan"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let policy: Value = serde_json::from_slice(&out.stdout).unwrap();
    let granted = |action: &str, resource: &str| {
        policy["Statement"].as_array().unwrap().iter().any(|s| {
            let has = |field: &str, want: &str| match &s[field] {
                Value::String(one) => one == want,
                Value::Array(all) => all.iter().any(|v| v == want),
                _ => false,
            };
            has("Action", action) && has("Resource", resource)
        })
    };
    assert!(
        granted(
            "s3:GetObject",
            &format!("arn:aws:s3:::{BUCKET}/teams/platform.json")
        ),
        "{policy:#}"
    );
    assert!(
        granted("s3:ListBucket", &format!("arn:aws:s3:::{BUCKET}")),
        "{policy:#}"
    );
}
