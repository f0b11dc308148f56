//! Guests and policies through a real OCI registry (the CNCF distribution
//! registry on 127.0.0.1): `blueprint publish`, pulls by tag and by digest on a
//! clean cache, a tampered blob refused, the lock file pinning a tag until
//! `blueprint update`, `inspect oci://` from the manifest alone, and the seed run
//! from the registry — and blocked by a policy from the registry until its alarm
//! has an OK action — against moto and the PagerDuty emulator.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::registry::Registry;
use support::world::{World, text};

/// An isolated environment for the binary: its own cache (clean unless reused),
/// no Docker credentials, no org policy file.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        Env { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh, empty cache folder.
    fn clean_cache(&self, name: &str) -> PathBuf {
        let cache = self.path().join(name);
        let _ = std::fs::remove_dir_all(&cache);
        cache
    }

    fn command(&self, cache: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_blueprint"));
        command
            .args(args)
            .current_dir(support::root())
            .env("BLUEPRINT_CACHE_DIR", cache)
            .env("DOCKER_CONFIG", self.path().join("docker"))
            .env("BLUEPRINT_POLICY_CONFIG", "")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, cache: &Path, args: &[&str]) -> Output {
        self.command(cache, args).output().expect("blueprint runs")
    }

    /// `blueprint publish COMPONENT REFERENCE`; the digest it printed.
    fn publish(&self, component: &Path, reference: &str) -> String {
        let cache = self.path().join("publish-cache");
        let out = self.run(
            &cache,
            &["publish", component.to_str().unwrap(), reference, "--json"],
        );
        assert!(out.status.success(), "{}", text(&out));
        let published: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("publish --json: {e}: {}", text(&out)));
        assert_eq!(published["reference"], reference);
        let digest = published["digest"].as_str().unwrap().to_owned();
        assert!(
            digest.starts_with("sha256:") && digest.len() == 71,
            "{digest}"
        );
        digest
    }

    /// A blueprint file in `dir` naming `guest_line` under [guest], with the seed's
    /// params (its Lambda handler copied beside it) and `extra` appended.
    fn seed_file(&self, dir: &str, guest_line: &str, extra: &str) -> PathBuf {
        let dir = self.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        support::copy_handler(&dir, "lambda-error-pagerduty-handler");
        let seed = std::fs::read_to_string(support::root().join(support::world::SEED)).unwrap();
        let local = "path = \"../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm\"";
        assert!(seed.contains(local), "the seed's guest line moved");
        let file = dir.join("seed.toml");
        std::fs::write(
            &file,
            format!("{}\n{extra}", seed.replace(local, guest_line)),
        )
        .unwrap();
        file
    }
}

fn lock_digest(dir: &Path, reference: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("blueprint.lock")).ok()?;
    let lock: toml::Value = toml::from_str(&text).unwrap();
    lock["artifact"]
        .as_array()?
        .iter()
        .find(|a| a["reference"].as_str() == Some(reference))
        .map(|a| a["digest"].as_str().unwrap().to_owned())
}

fn graph_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Components in a cache folder (`guests/<hex>.wasm`).
fn cached_components(cache: &Path) -> usize {
    std::fs::read_dir(cache.join("guests"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "wasm"))
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn publish_then_pull_by_tag_and_by_digest_on_a_clean_cache() {
    let registry = Registry::start();
    let env = Env::new();
    let seed = support::guest("lambda-error-pagerduty");
    let reference = format!("{}/platform/lambda-error-pagerduty:1.0.0", registry.host);
    let digest = env.publish(&seed, &reference);

    // inspect oci:// reads the manifest only: nothing downloaded, nothing run.
    let cache = env.clean_cache("inspect");
    let out = env.run(&cache, &["inspect", &format!("oci://{reference}")]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("lambda-error-pagerduty 0.1.0"), "{shown}");
    assert!(
        shown.contains(&format!(
            "wit        blueprint:cloud@{}",
            blueprint::runtime::WIT_VERSION
        )),
        "{shown}"
    );
    assert!(shown.contains(&format!("digest     {digest}")), "{shown}");
    assert!(shown.contains("schedule.time_zone"), "{shown}");
    assert!(shown.contains("default \"Asia/Tokyo\""), "{shown}");
    assert_eq!(
        cached_components(&cache),
        0,
        "inspect downloaded the component"
    );

    // By tag, on a clean cache: the same graph as from the local file; the tag's
    // digest is locked beside the file.
    let local = graph_json(&env.run(&env.clean_cache("local"), &["graph", support::world::SEED]));
    let by_tag = env.seed_file("tag", &format!("oci = \"{reference}\""), "");
    let cache = env.clean_cache("tag-cache");
    assert_eq!(
        graph_json(&env.run(&cache, &["graph", by_tag.to_str().unwrap()])),
        local
    );
    assert_eq!(
        lock_digest(by_tag.parent().unwrap(), &reference),
        Some(digest.clone())
    );
    assert_eq!(cached_components(&cache), 1);
    let component = cache.join("guests").join(format!(
        "{}.wasm",
        blueprint::oci::sha256_digest(&std::fs::read(&seed).unwrap()).trim_start_matches("sha256:")
    ));
    assert_eq!(
        std::fs::read(component).unwrap(),
        std::fs::read(&seed).unwrap()
    );

    // By digest: no lock file needed or written.
    let pinned = format!("{}/platform/lambda-error-pagerduty@{digest}", registry.host);
    let by_digest = env.seed_file("digest", &format!("oci = \"{pinned}\""), "");
    let out = env.run(
        &env.clean_cache("digest-cache"),
        &["graph", by_digest.to_str().unwrap()],
    );
    assert_eq!(graph_json(&out), local);
    assert!(!by_digest.parent().unwrap().join("blueprint.lock").exists());

    // A digest the registry does not have: a clear error, nothing runs.
    let missing = format!(
        "{}/platform/lambda-error-pagerduty@sha256:{}",
        registry.host,
        "0".repeat(64)
    );
    let file = env.seed_file("missing", &format!("oci = \"{missing}\""), "");
    let out = env.run(
        &env.clean_cache("missing-cache"),
        &["graph", file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot fetch the manifest"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_tampered_blob_is_refused() {
    let registry = Registry::start();
    let env = Env::new();
    let seed = support::guest("lambda-error-pagerduty");
    let reference = format!("{}/platform/tampered:1.0.0", registry.host);
    env.publish(&seed, &reference);

    // Flip bytes inside the component in the registry's own store.
    let layer = blueprint::oci::sha256_digest(&std::fs::read(&seed).unwrap());
    let blob = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&blob, &bytes).unwrap();

    let file = env.seed_file("tampered", &format!("oci = \"{reference}\""), "");
    let cache = env.clean_cache("cache");
    let out = env.run(&cache, &["graph", file.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("refusing"), "{said}");
    assert!(said.contains(&layer), "{said}");
    assert_eq!(
        cached_components(&cache),
        0,
        "a tampered component was cached"
    );
}

#[test]
fn the_lock_file_pins_a_tag_until_update() {
    let registry = Registry::start();
    let env = Env::new();
    let reference = format!("{}/platform/moving:1.0.0", registry.host);
    let first = env.publish(&support::guest("lambda-error-pagerduty"), &reference);
    let file = env.seed_file("lock", &format!("oci = \"{reference}\""), "");
    let path = file.to_str().unwrap();
    let dir = file.parent().unwrap();
    let name = |out: &Output| {
        graph_json(out)["guest"]["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // --locked (CI): a tag the lock file does not pin is an error, not a write.
    let out = env
        .command(
            &env.clean_cache("c0"),
            &["inspect", path, "--json", "--locked"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("is not pinned in") && text(&out).contains("--locked"),
        "{}",
        text(&out)
    );
    assert!(!dir.join("blueprint.lock").exists(), "nothing written");

    let out = env.run(&env.clean_cache("c1"), &["inspect", path, "--json"]);
    assert_eq!(name(&out), "lambda-error-pagerduty");
    assert_eq!(lock_digest(dir, &reference), Some(first.clone()));
    // Pinned: --locked runs.
    let out = env.run(
        &env.clean_cache("c1b"),
        &["inspect", path, "--json", "--locked"],
    );
    assert_eq!(name(&out), "lambda-error-pagerduty");

    // Re-tag to other bytes: what runs does not change, even on a clean cache.
    let second = env.publish(&support::guest("hostile-guest"), &reference);
    assert_ne!(first, second);
    let out = env.run(&env.clean_cache("c2"), &["inspect", path, "--json"]);
    assert_eq!(name(&out), "lambda-error-pagerduty");
    assert_eq!(lock_digest(dir, &reference), Some(first.clone()));

    // `blueprint update` moves it (not with --locked).
    let out = env
        .command(&env.clean_cache("c3"), &["update", path, "--locked"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(lock_digest(dir, &reference), Some(first.clone()));
    let out = env.run(&env.clean_cache("c3"), &["update", path, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let updated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(updated["moved"], 1, "{updated}");
    assert_eq!(updated["artifacts"][0]["status"], "moved");
    assert_eq!(updated["artifacts"][0]["from"], first.as_str());
    assert_eq!(updated["artifacts"][0]["digest"], second.as_str());
    assert_eq!(lock_digest(dir, &reference), Some(second));
    let out = env.run(&env.clean_cache("c4"), &["inspect", path, "--json"]);
    assert_eq!(name(&out), "hostile");
}

#[test]
fn publish_refuses_what_is_not_a_guest_or_policy() {
    let registry = Registry::start();
    let env = Env::new();
    let out = env.run(
        &env.clean_cache("c"),
        &[
            "publish",
            support::root()
                .join("target/wasm32-wasip2/guest/not-a-blueprint.wasm")
                .to_str()
                .unwrap(),
            &format!("{}/platform/nope:1.0.0", registry.host),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("is not a blueprint guest"),
        "{}",
        text(&out)
    );
}

/// The issue's "done when": publish the seed, name it by tag in a blueprint file,
/// run it on a clean cache against moto + the emulator — blocked first by a policy
/// (from the registry too) that forbids alarms without an OK action, then passing
/// once `alarm_ok_action = true`.
#[tokio::test(flavor = "multi_thread")]
async fn the_seed_from_the_registry_blocked_by_a_policy_then_run() {
    let registry = Registry::start();
    let env = Env::new();
    let guest = format!("{}/platform/lambda-error-pagerduty:1.0.0", registry.host);
    env.publish(&support::guest("lambda-error-pagerduty"), &guest);
    let policy = format!(
        "{}/platform/policies/require-ok-action:0.1.0",
        registry.host
    );
    env.publish(&support::guest("require-ok-action-policy"), &policy);

    // The policy's manifest documents its rules.
    let out = env.run(
        &env.clean_cache("i"),
        &["inspect", &format!("oci://{policy}")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("alarm-requires-ok-action  error"),
        "{}",
        text(&out)
    );

    let w = World::new().await;
    let file = env.seed_file(
        "run",
        &format!("oci = \"{guest}\""),
        &format!("[[policy]]\noci = \"{policy}\"\n"),
    );
    let path = file.to_str().unwrap().to_owned();
    let cache = env.clean_cache("run-cache");
    let blueprint = |args: Vec<String>| {
        let mut command = w.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        command
            .env("BLUEPRINT_CACHE_DIR", &cache)
            .env("DOCKER_CONFIG", env.path().join("docker"))
            .env("BLUEPRINT_POLICY_CONFIG", "");
        command.output().expect("blueprint runs")
    };

    // Blocked before any write, naming the policy and its version.
    let out = blueprint(vec!["run".into(), path.clone(), "--yes".into()]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("refusing to apply: `check` reports 1 error(s)"),
        "{said}"
    );
    assert!(
        said.contains(
            "lambda-error-error-alarm [alarm-requires-ok-action, policy require-ok-action@0.1.0]"
        ),
        "{said}"
    );
    assert!(said.contains("alarm_ok_action = true"), "{said}");
    assert_eq!(w.count("teams"), 0, "a blocked run wrote to PagerDuty");
    assert!(!w.state.exists(), "a blocked run wrote state");

    // `plan` shows the error but plans; `check` fails on it.
    let out = blueprint(vec!["plan".into(), path.clone()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("error: lambda-error-error-alarm [alarm-requires-ok-action, policy require-ok-action@0.1.0]"), "{}", text(&out));

    // The fix the finding names: the run goes through, from the registry's guest.
    let set = "services.0.alarm_ok_action=true".to_owned();
    let out = blueprint(vec![
        "run".into(),
        path.clone(),
        "--yes".into(),
        "--set".into(),
        set.clone(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Apply complete: 19 created"),
        "{}",
        text(&out)
    );
    let out = blueprint(vec!["plan".into(), path.clone(), "--set".into(), set]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("No changes."), "{}", text(&out));
    assert_eq!(w.count("teams"), 1);
    // Both tags are locked beside the file.
    assert!(lock_digest(file.parent().unwrap(), &guest).is_some());
    assert!(lock_digest(file.parent().unwrap(), &policy).is_some());
}

/// `ci:s3cret`, bcrypt (cost 4) — distribution's htpasswd file takes bcrypt only.
const HTPASSWD: &str = "ci:$2b$04$kGB4O.ADmERXilNOAvANOuoKVTD1kRvkOSFoQyiqu/GcqqNIlKsVe\n";

#[test]
fn credentials_come_from_the_docker_config() {
    use base64::Engine as _;
    use std::os::unix::fs::PermissionsExt;
    let registry = Registry::start_with_users(Some(HTPASSWD));
    let env = Env::new();
    let seed = support::guest("lambda-error-pagerduty");
    let reference = format!("{}/platform/private:1.0.0", registry.host);
    let publish = |env: &Env| {
        env.run(
            &env.clean_cache("p"),
            &["publish", seed.to_str().unwrap(), &reference],
        )
    };

    // Anonymous: refused by the registry, and the error says where credentials go.
    let out = publish(&env);
    assert!(!out.status.success());
    assert!(text(&out).contains("401"), "{}", text(&out));
    assert!(text(&out).contains("docker login"), "{}", text(&out));

    // `auths` with base64 user:password.
    let config = env.path().join("docker/config.json");
    let encoded = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
    std::fs::write(
        &config,
        serde_json::json!({"auths": {registry.host.clone(): {"auth": encoded}}}).to_string(),
    )
    .unwrap();
    let out = publish(&env);
    assert!(out.status.success(), "{}", text(&out));

    // A credential helper (`credsStore`), run by the protocol: pull on a clean cache.
    let helper = env.path().join("docker-credential-blueprinttest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r host\n[ \"$host\" = {} ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"ci\",\"Secret\":\"s3cret\"}}' \"$host\"\n",
            registry.host
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&config, r#"{"credsStore": "blueprinttest"}"#).unwrap();
    let file = env.seed_file("private", &format!("oci = \"{reference}\""), "");
    let path = format!(
        "{}:{}",
        env.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = env
        .command(&env.clean_cache("c"), &["graph", file.to_str().unwrap()])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
