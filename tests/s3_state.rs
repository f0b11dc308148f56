//! Shared state on S3 (moto): the lock is exclusive and names its holder, a write
//! based on a stale read is refused, every write is kept in the history, two
//! processes hammering the same state lose no update, and two `blueprint run`s on
//! one S3 state: one wins, the other fails at once; a stale lock is broken with
//! `blueprint state unlock`.

use crate::support;

use std::time::Duration;

use blueprint::state::{LockInfo, S3Store, State, StateError, StateStore};
use serde_json::json;
use support::moto::Moto;
use support::world::{SEED, World, text};

const BUCKET: &str = "team-state";

async fn store(config: &aws_config::SdkConfig, key: &str) -> S3Store {
    S3Store::new(blueprint::providers::aws::s3_client(config), BUCKET, key)
}

async fn bucket(config: &aws_config::SdkConfig) {
    support::moto::create_bucket(config, BUCKET).await;
}

fn bump(state: &mut State, by: &str) {
    let counter = state
        .resources
        .entry("counter".into())
        .or_insert_with(|| serde_json::from_value(json!({"kind": "pagerduty.team", "status": "ready", "updated_at": "x", "applied_props": {"n": 0}})).unwrap());
    let n = counter.applied_props["n"].as_u64().unwrap();
    counter.applied_props.insert("n".into(), json!(n + 1));
    counter
        .applied_props
        .insert(format!("by-{by}-{n}"), json!(true));
    state.serial += 1;
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_conditional_writes_and_history() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    bucket(&config).await;
    let a = store(&config, "teams/checkout.json").await;
    let b = store(&config, "teams/checkout.json").await;

    let held = a
        .lock(&LockInfo::current("blueprint run a.toml"))
        .await
        .unwrap();
    match b.lock(&LockInfo::current("blueprint run b.toml")).await {
        Err(e @ StateError::Locked { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("blueprint run a.toml")
                    && text.contains("since")
                    && text.contains("blueprint state unlock"),
                "{text}"
            );
        }
        other => panic!("expected Locked, got {:?}", other.map(|_| ())),
    }
    drop(held);
    let held = b
        .lock(&LockInfo::current("b"))
        .await
        .expect("released on drop");

    // A write based on a stale read is refused; nothing is lost.
    let mut first = a.load("checkout").await.unwrap();
    let mut second = b.load("checkout").await.unwrap();
    bump(&mut first, "a");
    a.save(&first).await.unwrap();
    bump(&mut second, "b");
    let refused = b.save(&second).await.unwrap_err();
    assert!(matches!(refused, StateError::Conflict { .. }), "{refused}");
    let stored = b.load("checkout").await.unwrap();
    assert_eq!(stored, first);
    bump(&mut second, "b");
    let mut again = stored;
    bump(&mut again, "b");
    b.save(&again).await.unwrap();
    drop(held);

    // Every write is kept.
    let listed = blueprint::providers::aws::s3_client(&config)
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("teams/checkout.json.history/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            "teams/checkout.json.history/000000000001.json",
            "teams/checkout.json.history/000000000002.json"
        ]
    );
    // Another blueprint's state under the same key is refused, untouched.
    assert!(matches!(
        a.load("billing").await,
        Err(StateError::Corrupt { .. })
    ));
}

/// One of the two racing processes (run by `racing_processes_lose_no_update`).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a worker process of racing_processes_lose_no_update"]
async fn race_worker() {
    let Ok(endpoint) = std::env::var("RACE_ENDPOINT") else {
        return;
    };
    let me = std::env::var("RACE_NAME").unwrap();
    let rounds: u32 = std::env::var("RACE_ROUNDS").unwrap().parse().unwrap();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(support::moto::REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let store = store(&config, "race.json").await;
    let mut done = 0;
    while done < rounds {
        let lock = match store.lock(&LockInfo::current(&me)).await {
            Ok(lock) => lock,
            Err(StateError::Locked { .. }) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let mut state = store.load("race").await.unwrap();
        bump(&mut state, &me);
        // Holding the lock, the write must land: a `Conflict` here means two
        // workers held the lock at once.
        store.save(&state).await.unwrap();
        done += 1;
        drop(lock);
    }
}

/// The workers go through the AWS fault proxy, which makes S3's conditional writes
/// atomic as S3 does (moto's are not: `aws-fault-proxy/src/s3.rs`).
#[tokio::test(flavor = "multi_thread")]
async fn racing_processes_lose_no_update() {
    let moto = Moto::start();
    let proxy = support::fault_proxy::start(&moto, support::fault_proxy::Faults::default()).await;
    let config = moto.sdk_config().await;
    bucket(&config).await;
    const ROUNDS: u32 = 40;
    let workers: Vec<_> = ["one", "two"]
        .iter()
        .map(|name| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "s3_state::race_worker", "--ignored", "--quiet"])
                .env("RACE_ENDPOINT", proxy.url())
                .env("RACE_NAME", name)
                .env("RACE_ROUNDS", ROUNDS.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let state = store(&config, "race.json")
        .await
        .load("race")
        .await
        .unwrap();
    let counter = &state.resources["counter"].applied_props;
    assert_eq!(counter["n"], json!(2 * ROUNDS), "an update was lost");
    assert_eq!(state.serial, u64::from(2 * ROUNDS));
    for name in ["one", "two"] {
        let mine = counter
            .keys()
            .filter(|k| k.starts_with(&format!("by-{name}-")))
            .count();
        assert_eq!(mine, ROUNDS as usize, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_on_one_s3_state_one_wins_and_a_stale_lock_is_broken() {
    let w = World::new().await;
    let config = w.moto.sdk_config().await;
    bucket(&config).await;
    let url = format!("s3://{BUCKET}/seed/");
    let args = |cmd: &'static str| {
        let mut c = w.command_without_state(&[cmd, SEED]);
        c.arg("--state").arg(&url);
        c
    };
    // Slow PagerDuty so the first run holds the lock a while.
    w.emulator.set_faults(0.0, Duration::from_millis(100));
    let mut first = args("run");
    first.arg("--yes");
    let mut first = first
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let s3 = blueprint::providers::aws::s3_client(&config);
    // The second run starts only once the first holds the lock.
    support::wait_for_child(&mut first, "taking the lock", || async {
        s3.head_object()
            .bucket(BUCKET)
            .key("seed/lambda-error-pagerduty.json.lock")
            .send()
            .await
            .is_ok()
    })
    .await;
    let mut second = args("run");
    second.arg("--yes");
    let started = std::time::Instant::now();
    let second = tokio::task::spawn_blocking(move || second.output().unwrap())
        .await
        .unwrap();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        text(&second).contains("is locked by `blueprint run"),
        "{}",
        text(&second)
    );
    assert!(started.elapsed() < Duration::from_secs(10), "fails at once");
    let first = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(w.count("teams"), 1);

    // A lock left by a process that is gone: named, then broken explicitly.
    s3.put_object()
        .bucket(BUCKET)
        .key("seed/lambda-error-pagerduty.json.lock")
        .body(
            serde_json::to_vec(&LockInfo {
                pid: 4242,
                user: "ci".into(),
                host: "build-7".into(),
                command: "blueprint run seed.toml".into(),
                since: "2026-11-24T03:00:00Z".into(),
            })
            .unwrap()
            .into(),
        )
        .send()
        .await
        .unwrap();
    w.emulator.set_faults(0.0, Duration::ZERO);
    let out = {
        let mut c = args("plan");
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("ci@build-7") && text(&out).contains("2026-11-24T03:00:00Z"),
        "{}",
        text(&out)
    );
    let out = {
        let mut c = w.command_without_state(&["state", "unlock", SEED]);
        c.arg("--state").arg(&url);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    };
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("held by `blueprint run seed.toml` (pid 4242, ci@build-7)"),
        "{}",
        text(&out)
    );
    let out = {
        let mut c = args("plan");
        c.arg("--detailed-exitcode");
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "no changes after the first run: {}",
        text(&out)
    );
}

/// A shared guest pinned by digest: downloaded once into the cache, refused when
/// the bytes do not match, and a URL without a pin is an error.
#[tokio::test(flavor = "multi_thread")]
async fn a_shared_guest_is_pinned_by_sha256() {
    use sha2::{Digest, Sha256};
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    bucket(&config).await;
    let wasm = std::fs::read(support::guest("lambda-error-pagerduty")).unwrap();
    let digest: String = Sha256::digest(&wasm)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    blueprint::providers::aws::s3_client(&config)
        .put_object()
        .bucket(BUCKET)
        .key("guests/lambda-error-pagerduty-1.0.wasm")
        .body(wasm.into())
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let seed = std::fs::read_to_string(support::root().join(SEED)).unwrap();
    let file = support::root().join(format!("blueprints/.pinned-{}.toml", std::process::id()));
    let write = |guest: &str| {
        let text = seed.replace(
            "path = \"../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm\"",
            guest,
        );
        assert_ne!(text, seed);
        std::fs::write(&file, text).unwrap();
    };
    let graph = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_blueprint"));
        c.args(["graph", file.to_str().unwrap()])
            .env("BLUEPRINT_CACHE_DIR", &cache)
            .envs(moto.env());
        c.output().unwrap()
    };

    write(&format!(
        "url = \"s3://{BUCKET}/guests/lambda-error-pagerduty-1.0.wasm\"\nsha256 = \"{digest}\""
    ));
    let out = graph();
    assert!(out.status.success(), "{}", text(&out));
    let local = std::process::Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(["graph", SEED])
        .current_dir(support::root())
        .env("BLUEPRINT_CACHE_DIR", &cache)
        .output()
        .unwrap();
    assert_eq!(out.stdout, local.stdout, "the same guest, the same graph");
    assert!(
        cache.join(format!("guests/{digest}.wasm")).exists(),
        "cached by digest"
    );

    let wrong = "0".repeat(64);
    write(&format!(
        "url = \"s3://{BUCKET}/guests/lambda-error-pagerduty-1.0.wasm\"\nsha256 = \"{wrong}\""
    ));
    let out = graph();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("refusing to run guest") && text(&out).contains(&digest),
        "{}",
        text(&out)
    );
    // A local guest can be pinned too.
    write(&format!(
        "path = \"../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm\"\nsha256 = \"{wrong}\""
    ));
    let out = graph();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("refusing to run guest"),
        "{}",
        text(&out)
    );
    write(&format!("url = \"s3://{BUCKET}/guests/x.wasm\""));
    let out = graph();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("must be pinned with guest.sha256"),
        "{}",
        text(&out)
    );
    std::fs::remove_file(&file).unwrap();
}

/// `[state] kms_key_id`: the state, its history and its lock are written SSE-KMS
/// with that key (the state holds integration keys); a local state refuses it.
#[tokio::test(flavor = "multi_thread")]
async fn state_on_s3_is_encrypted_with_the_kms_key_named() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    bucket(&config).await;
    let key_id = "arn:aws:kms:ap-northeast-1:123456789012:key/blueprint-state";
    let store = store(&config, "teams/encrypted.json")
        .await
        .with_kms_key(Some(key_id.to_owned()));
    let lock = store.lock(&LockInfo::current("kms test")).await.unwrap();
    let mut state = store.load("encrypted").await.unwrap();
    bump(&mut state, "kms");
    store.save(&state).await.unwrap();
    let s3 = blueprint::providers::aws::s3_client(&config);
    let listed = s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert!(keys.len() >= 3, "state, history and lock: {keys:?}");
    for key in &keys {
        let head = s3
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms),
            "{key}"
        );
        assert_eq!(head.ssekms_key_id(), Some(key_id), "{key}");
    }
    drop(lock);

    // A local state has no KMS key to use: refused, naming the fix.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("local.toml");
    let seed = std::fs::read_to_string(support::root().join(SEED)).unwrap();
    let contents = seed.replace(
        "../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm",
        &support::guest("lambda_error_pagerduty")
            .display()
            .to_string(),
    ) + "\n[state]\nkms_key_id = \"alias/blueprint\"\n";
    std::fs::write(&file, contents).unwrap();
    support::copy_handler(dir.path(), "lambda-error-pagerduty-handler");
    let w = World::new().await;
    let out = w
        .command_without_state(&["plan", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("kms_key_id applies to S3 state only"),
        "{}",
        text(&out)
    );
}
