//! `[lifecycle] prevent_destroy` in the blueprint file: a plan that would delete
//! or replace a protected node — a rename in the guest, `destroy` — fails before
//! any write, naming the node and the entry; an entry that names nothing is an
//! error; taken off the list, the same destroy goes through. `state mv` and
//! `state rm`: the surgery a rename or a hand-made resource needs.

use crate::support;

use support::world::{World, text};

fn seed_with(dir: &std::path::Path, lifecycle: &str) -> String {
    support::world::seed_copy(dir, "protected.toml", lifecycle)
}

#[tokio::test(flavor = "multi_thread")]
async fn protected_nodes_survive_a_rename_and_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let protected = seed_with(
        dir.path(),
        "[lifecycle]\nprevent_destroy = [\"pagerduty.service\", \"lambda-error-topic\"]\n",
    );
    let w = World::new().await;
    let out = w.blueprint(&["run", &protected, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let service_before = w.pd()["objects"]["services"].clone();
    let state_before = std::fs::read_to_string(&w.state).unwrap();

    // Renaming the service in the guest plans its deletion: refused, nothing written.
    let rename = r#"services=[{"name":"checkout","function_name":"checkout-fn","code_path":"lambda-error-pagerduty-handler"}]"#;
    for verb in [
        vec!["plan", &protected, "--set", rename],
        vec!["run", &protected, "--yes", "--set", rename],
    ] {
        let out = w.blueprint(&verb).await;
        assert_eq!(out.status.code(), Some(1), "{verb:?}: {}", text(&out));
        assert!(
            text(&out).contains(
                "lambda-error-service (pagerduty.service): the plan would delete it; [lifecycle] prevent_destroy lists \"pagerduty.service\""
            ) && text(&out).contains("nothing was changed"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(w.pd()["objects"]["services"], service_before);
    assert_eq!(std::fs::read_to_string(&w.state).unwrap(), state_before);

    // destroy too, naming every protected node.
    let out = w.blueprint(&["destroy", &protected, "--yes"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("lambda-error-service (pagerduty.service)")
            && text(&out).contains("lambda-error-topic (aws.sns_topic)"),
        "{}",
        text(&out)
    );
    assert_eq!(w.count("services"), 1);
    assert_eq!(std::fs::read_to_string(&w.state).unwrap(), state_before);

    // A typo protects nothing: it is an error, not a silent no-op.
    let typo = seed_with(
        dir.path(),
        "[lifecycle]\nprevent_destroy = [\"lambda-eror-service\"]\n",
    );
    let out = w.blueprint(&["plan", &typo]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out)
            .contains("prevent_destroy names \"lambda-eror-service\", which is neither a node"),
        "{}",
        text(&out)
    );

    // Off the list, the same destroy goes through.
    let unprotected = seed_with(dir.path(), "");
    let out = w.blueprint(&["destroy", &unprotected, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.count("services"), 0);
}

/// `--lock-timeout`: a run waits for the lock another holds, saying so, and goes
/// on when it is released; past the timeout it fails naming the holder.
#[tokio::test(flavor = "multi_thread")]
async fn a_held_lock_is_waited_for_then_named() {
    use blueprint::state::{LocalStore, LockInfo, StateStore};
    let w = World::new().await;
    let out = w.blueprint(&["run", support::world::SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let store = LocalStore::new(w.state.clone());
    let held = store
        .lock(&LockInfo::current("a teammate's run"))
        .await
        .unwrap();

    // Without --lock-timeout: at once.
    let started = std::time::Instant::now();
    let out = w.blueprint(&["plan", support::world::SEED]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("a teammate's run"), "{}", text(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // With one: waited out, then named.
    let started = std::time::Instant::now();
    let out = w
        .blueprint(&["plan", support::world::SEED, "--lock-timeout", "2s"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    assert!(
        text(&out).contains("Waiting for the state lock")
            && text(&out).contains("gave up after waiting 2 s for the state lock (--lock-timeout)")
            && text(&out).contains("a teammate's run"),
        "{}",
        text(&out)
    );

    // Released while waiting: the plan goes on.
    let mut command = w.command(&["plan", support::world::SEED, "--lock-timeout", "30s"]);
    let waiting = tokio::task::spawn_blocking(move || command.output().unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    drop(held);
    let out = waiting.await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Waiting for the state lock"),
        "{}",
        text(&out)
    );
}

/// `state mv` for a rename in the guest: every record re-keyed to the new node
/// names, the renamed blueprint applies with nothing created or deleted — the
/// PagerDuty service keeps its id and its integration its key. `state rm`
/// forgets a record without deleting it: the next run looks before creating and
/// never makes a second service.
#[tokio::test(flavor = "multi_thread")]
async fn state_mv_keeps_a_renamed_service_and_state_rm_forgets_without_deleting() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_with(dir.path(), "");
    let w = World::new().await;
    let out = w.blueprint(&["run", &file, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let service_id = only_key(&w.pd()["objects"]["services"]);
    let key = w.pd()["integrations"][0]["key"].clone();

    let out = w.blueprint(&["state", "list", &file, "--json"]).await;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let renamed: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["node"].as_str())
        .filter(|n| n.starts_with("lambda-error-"))
        .map(str::to_owned)
        .collect();
    assert!(renamed.len() >= 10, "{renamed:?}");
    for node in &renamed {
        let to = node.replacen("lambda-error-", "checkout-", 1);
        let out = w
            .blueprint(&["state", "mv", &file, node, &to, "--json"])
            .await;
        assert!(out.status.success(), "{}", text(&out));
        let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(done["to"], to.as_str());
    }
    // The previous version is kept beside the state.
    assert!(w.state.with_extension("json.backup").exists());
    // A name taken, a node unknown: refused, nothing written.
    let before = std::fs::read_to_string(&w.state).unwrap();
    for (from, to) in [("checkout-service", "checkout-topic"), ("nope", "x")] {
        let out = w.blueprint(&["state", "mv", &file, from, to]).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("nothing was changed"), "{}", text(&out));
    }
    assert_eq!(std::fs::read_to_string(&w.state).unwrap(), before);

    let rename = r#"services=[{"name":"checkout","function_name":"error-function","code_path":"lambda-error-pagerduty-handler","alarm_period_seconds":30}]"#;
    let out = w.blueprint(&["run", &file, "--yes", "--set", rename]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(" 0 created") && text(&out).contains(" 0 deleted"),
        "{}",
        text(&out)
    );
    assert_eq!(only_key(&w.pd()["objects"]["services"]), service_id);
    assert_eq!(w.pd()["integrations"][0]["key"], key);

    // state rm: the record goes, the service stays; the next run never duplicates it.
    let out = w
        .blueprint(&["state", "rm", &file, "checkout-service"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Nothing was changed in PagerDuty"),
        "{}",
        text(&out)
    );
    assert_eq!(w.count("services"), 1);
    let out = w.blueprint(&["run", &file, "--yes", "--set", rename]).await;
    assert_eq!(w.count("services"), 1, "{}", text(&out));
}

fn only_key(objects: &serde_json::Value) -> String {
    let map = objects.as_object().unwrap();
    assert_eq!(map.len(), 1, "{map:?}");
    map.keys().next().unwrap().clone()
}

/// `[[moved]]` in the blueprint file, for a rename in the guest: the plan says
/// what moves and changes nothing else; the run keeps the PagerDuty service's id,
/// its integration key and the SNS subscription; the entries, left in the file,
/// plan nothing afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn moved_entries_keep_a_renamed_service_its_id_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_with(dir.path(), "");
    let w = World::new().await;
    let out = w.blueprint(&["run", &file, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let service_id = only_key(&w.pd()["objects"]["services"]);
    let key = w.pd()["integrations"][0]["key"].clone();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&w.state).unwrap()).unwrap();
    let resources = state["resources"].as_object().unwrap();
    let subscription = resources["lambda-error-pagerduty-subscription"]["resource"]["id"].clone();
    let moves: String = resources
        .keys()
        .filter(|n| n.starts_with("lambda-error-"))
        .map(|n| {
            format!(
                "[[moved]]\nfrom = \"{n}\"\nto = \"{}\"\n",
                n.replacen("lambda-error-", "checkout-", 1)
            )
        })
        .collect();
    let file = seed_with(dir.path(), &moves);
    let rename = r#"services=[{"name":"checkout","function_name":"error-function","code_path":"lambda-error-pagerduty-handler","alarm_period_seconds":30}]"#;

    let out = w.blueprint(&["plan", &file, "--set", rename]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(
            "~ checkout-service (pagerduty.service)  (moved from lambda-error-service: the same resource)"
        ) && text(&out).contains("-> checkout-pagerduty-subscription (aws.sns_topic_subscription)  (moved from")
            && text(&out).contains("to move, 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{}",
        text(&out)
    );
    let out = w.blueprint(&["run", &file, "--yes", "--set", rename]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(" moved, ")
            && text(&out).contains(" 0 created")
            && text(&out).contains(" 0 deleted"),
        "{}",
        text(&out)
    );
    assert_eq!(only_key(&w.pd()["objects"]["services"]), service_id);
    assert_eq!(w.pd()["integrations"][0]["key"], key);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&w.state).unwrap()).unwrap();
    assert_eq!(
        state["resources"]["checkout-pagerduty-subscription"]["resource"]["id"], subscription,
        "the SNS subscription was replaced"
    );
    let out = w
        .blueprint(&["plan", &file, "--set", rename, "--detailed-exitcode"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// `--replace`: a new PagerDuty integration (a leaked key rotated) and what
/// delivers to it follows; `--target`/`--replace` naming no node are errors.
#[tokio::test(flavor = "multi_thread")]
async fn replace_rotates_an_integration_key_and_unknown_nodes_are_named() {
    let w = World::new().await;
    let out = w.blueprint(&["run", support::world::SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let key = w.pd()["integrations"][0]["key"].clone();
    let node = "lambda-error-integration";
    let out = w
        .blueprint(&["run", support::world::SEED, "--yes", "--replace", node])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "-/+ {node} (pagerduty.service_integration)  must be replaced (--replace)"
        )),
        "{}",
        text(&out)
    );
    let keys: Vec<serde_json::Value> = w.pd()["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].clone())
        .collect();
    assert_eq!(keys.len(), 1, "the old integration is deleted: {keys:?}");
    assert_ne!(keys[0], key, "a new key");
    let out = w
        .blueprint(&["plan", support::world::SEED, "--detailed-exitcode"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for flag in ["--target", "--replace"] {
        let out = w
            .blueprint(&["plan", support::world::SEED, flag, "lambda-eror-service"])
            .await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("{flag} \"lambda-eror-service\": not a node")),
            "{}",
            text(&out)
        );
    }
}
