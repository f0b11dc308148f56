//! `blueprint iam-policy` proven under IAM enforcement: moto's, with each call
//! authorized against the ARN AWS documents for it (tests/moto/authorization.py).
//!
//! For each command (plan, run, drill, destroy) an IAM user holding only the
//! policy `iam-policy --for COMMAND` wrote runs that command on the seed and
//! succeeds; then, for every action that command was authorized for (moto's
//! log of the calls), a user holding the same policy without that one action
//! runs the same command in the same situation and fails, the error naming the
//! action. Actions the seed's commands never call on moto (updates, the other
//! drill injections) are held to the code by the unit test
//! `every_kind_declares_its_iam_needs`, not here.

use crate::support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures::StreamExt;
use serde_json::{Value, json};

use support::moto::Moto;
use support::world::{SEED, World, text};

struct Enforcing {
    world: World,
    log: PathBuf,
    admin: Keys,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
struct Keys {
    id: String,
    secret: String,
}

impl Enforcing {
    /// A world whose moto logs every authorized call, with an admin user
    /// (`*` on `*`) made before enforcement starts; then enforcement is on.
    async fn new() -> Enforcing {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("authorized.jsonl");
        let moto = Moto::start_with(&[("MOTO_AUTHORIZED_LOG", log.to_str().unwrap())]);
        let world = World::with_moto(moto, Default::default()).await;
        let iam = aws_sdk_iam::Client::new(&world.moto.sdk_config().await);
        let admin = user(
            &iam,
            "admin",
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        )
        .await;
        let enforce = reqwest::Client::new()
            .post(format!("{}/moto-api/reset-auth", world.moto.url))
            .body("0")
            .send()
            .await
            .unwrap();
        assert!(enforce.status().is_success());
        Enforcing {
            world,
            log,
            admin,
            _dir: dir,
        }
    }

    /// An IAM user holding only `policy`, made with the admin's keys.
    async fn user(&self, name: &str, policy: &Value) -> Keys {
        let config = self.world.moto.sdk_config().await.into_builder();
        let config = config
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new(
                        &self.admin.id,
                        &self.admin.secret,
                        None,
                        None,
                        "admin",
                    ),
                ),
            )
            .build();
        user(&aws_sdk_iam::Client::new(&config), name, policy).await
    }

    /// `blueprint ARGS` as the user holding `keys`.
    async fn blueprint_as(&self, keys: &Keys, args: &[&str]) -> std::process::Output {
        let mut command = self.world.command(args);
        command
            .env("AWS_ACCESS_KEY_ID", &keys.id)
            .env("AWS_SECRET_ACCESS_KEY", &keys.secret);
        tokio::task::spawn_blocking(move || command.output().expect("blueprint runs"))
            .await
            .unwrap()
    }

    /// The actions moto authorized for these keys.
    fn actions_of(&self, keys: &Keys) -> BTreeSet<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["key"] == keys.id.as_str())
            .filter_map(|v| v["action"].as_str().map(str::to_owned))
            .collect()
    }
}

async fn user(iam: &aws_sdk_iam::Client, name: &str, policy: &Value) -> Keys {
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name("blueprint")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    Keys {
        id: key.access_key_id().to_owned(),
        secret: key.secret_access_key().to_owned(),
    }
}

/// `iam-policy --for COMMAND` on the seed, as the admin (STS names the account).
async fn generated(w: &Enforcing, command: &str) -> Value {
    let out = w
        .blueprint_as(&w.admin, &["iam-policy", SEED, "--for", command])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let policy: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    policy
}

/// The policy with one action taken out of every statement (a statement left
/// with no action goes).
fn without(policy: &Value, action: &str) -> Value {
    let mut policy = policy.clone();
    let statements = policy["Statement"].as_array_mut().unwrap();
    for statement in statements.iter_mut() {
        let actions: Vec<String> = strings(&statement["Action"])
            .into_iter()
            .filter(|a| a != action)
            .collect();
        statement["Action"] = json!(actions);
    }
    statements.retain(|s| !s["Action"].as_array().unwrap().is_empty());
    policy
}

/// An IAM element that is one string or a list of them, as a list.
fn strings(element: &Value) -> Vec<String> {
    match element {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

fn granted(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

fn denied(out: &std::process::Output, action: &str) -> bool {
    !out.status.success() && text(out).contains(&format!("not authorized to perform: {action} "))
}

/// The drill's delivery watch (SNS's failure count, the dead-letter queue): a
/// drill without it still proves the page, and says it could not watch.
fn degraded(out: &std::process::Output, action: &str) -> bool {
    let text = text(out);
    text.contains("SNS's delivery was not watched")
        && text.contains(&format!("not authorized to perform: {action} "))
}

/// Each action a command used, taken out one at a time: the command, run again
/// in the same situation (`before` restores it, as the admin), fails naming it
/// (or, where `degraded` allows, says what it could not do, naming it).
async fn each_action_is_needed<F, Fut>(
    w: &Enforcing,
    command: &[&str],
    policy: &Value,
    used: &BTreeSet<String>,
    before: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    static USERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    println!(
        "{}: {} actions used of {} granted; each removed in turn",
        command[0],
        used.len(),
        granted(policy).len()
    );
    for action in used {
        before().await;
        let n = USERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let keys = w
            .user(
                &format!("{}-without-{n}", command[0]),
                &without(policy, action),
            )
            .await;
        let out = w.blueprint_as(&keys, command).await;
        assert!(
            denied(&out, action) || degraded(&out, action),
            "{command:?} without {action} should fail naming it:\n{}",
            text(&out)
        );
    }
}

/// Plan in both situations it meets: nothing applied yet (it looks for each
/// node before a create), and the blueprint applied (it refreshes each one).
#[tokio::test(flavor = "multi_thread")]
async fn plan_needs_its_policy_and_nothing_less() {
    let w = Enforcing::new().await;
    let policy = generated(&w, "plan").await;
    let fresh = w.user("plan-fresh", &policy).await;
    let out = w.blueprint_as(&fresh, &["plan", SEED]).await;
    assert!(out.status.success(), "{}", text(&out));
    let looked = w.actions_of(&fresh);
    // A topic is looked for by its ARN (account, region, name), not by paging ListTopics.
    assert!(looked.contains("sns:GetTopicAttributes"), "{looked:?}");
    assert!(!looked.contains("sns:ListTopics"), "{looked:?}");
    assert!(looked.is_subset(&granted(&policy)), "{looked:?}");
    // Plan writes nothing, so the situation needs no restoring.
    each_action_is_needed(&w, &["plan", SEED], &policy, &looked, || async {}).await;

    let out = w.blueprint_as(&w.admin, &["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let applied = w.user("plan-applied", &policy).await;
    let out = w.blueprint_as(&applied, &["plan", SEED]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("No changes"), "{}", text(&out));
    let refreshed = w.actions_of(&applied);
    for action in [
        "sns:GetTopicAttributes",
        "lambda:GetFunction",
        "iam:GetRole",
    ] {
        assert!(refreshed.contains(action), "{action} not in {refreshed:?}");
    }
    assert!(refreshed.is_subset(&granted(&policy)), "{refreshed:?}");
    each_action_is_needed(&w, &["plan", SEED], &policy, &refreshed, || async {}).await;
}

/// A run creates from nothing; each trial is a world of its own (a failed run
/// leaves what it made), three at a time.
#[tokio::test(flavor = "multi_thread")]
async fn run_needs_its_policy_and_nothing_less() {
    let w = Enforcing::new().await;
    let policy = generated(&w, "run").await;
    let keys = w.user("run", &policy).await;
    let out = w.blueprint_as(&keys, &["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Apply complete: 19 created"),
        "{}",
        text(&out)
    );
    let used = w.actions_of(&keys);
    for action in [
        "iam:PassRole",
        "sns:Subscribe",
        "lambda:CreateFunction",
        "iam:CreateRole",
    ] {
        assert!(used.contains(action), "{action} not in {used:?}");
    }
    assert!(used.is_subset(&granted(&policy)), "{used:?}");
    println!(
        "run: {} actions used of {} granted; each removed in turn",
        used.len(),
        granted(&policy).len()
    );
    let trials = futures::stream::iter(used.iter().cloned().map(|action| {
        let policy = policy.clone();
        async move {
            let w = Enforcing::new().await;
            let keys = w.user("run-without", &without(&policy, &action)).await;
            let out = w.blueprint_as(&keys, &["run", SEED, "--yes"]).await;
            (action, out)
        }
    }))
    .buffer_unordered(3)
    .collect::<Vec<_>>()
    .await;
    for (action, out) in trials {
        assert!(
            denied(&out, &action),
            "run without {action} should fail naming it:\n{}",
            text(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn drill_needs_its_policy_and_nothing_less() {
    let w = Enforcing::new().await;
    let out = w.blueprint_as(&w.admin, &["run", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let policy = generated(&w, "drill").await;
    let keys = w.user("drill", &policy).await;
    let drill = ["drill", SEED, "--from", "topic", "--timeout", "30"];
    let out = w.blueprint_as(&keys, &drill).await;
    assert!(out.status.success(), "{}", text(&out));
    let used = w.actions_of(&keys);
    assert!(used.contains("sns:Publish"), "{used:?}");
    assert!(used.is_subset(&granted(&policy)), "{used:?}");
    // A drill stopped by a denied call leaves the world as it was.
    each_action_is_needed(&w, &drill, &policy, &used, || async {}).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_needs_its_policy_and_nothing_less() {
    let w = Enforcing::new().await;
    let deploy = || async {
        let out = w.blueprint_as(&w.admin, &["run", SEED, "--yes"]).await;
        assert!(out.status.success(), "{}", text(&out));
    };
    deploy().await;
    let policy = generated(&w, "destroy").await;
    let keys = w.user("destroy", &policy).await;
    let out = w.blueprint_as(&keys, &["destroy", SEED, "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let used = w.actions_of(&keys);
    for action in ["sns:DeleteTopic", "iam:DeleteRole", "lambda:DeleteFunction"] {
        assert!(used.contains(action), "{action} not in {used:?}");
    }
    assert!(used.is_subset(&granted(&policy)), "{used:?}");
    // A destroy stopped part-way is run again (as the admin) before the next.
    each_action_is_needed(&w, &["destroy", SEED, "--yes"], &policy, &used, deploy).await;
}

/// The document names the graph's own ARNs: PassRole on the function's role
/// only, Subscribe on the seed's topic only, the state bucket's objects.
#[tokio::test(flavor = "multi_thread")]
async fn the_policy_names_the_graphs_arns() {
    let w = World::new().await;
    let out = w
        .blueprint_without_state(&[
            "iam-policy",
            SEED,
            "--for",
            "run",
            "--account",
            "111122223333",
            "--json",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["account"], "111122223333");
    assert_eq!(report["account_source"], "--account");
    let statements = report["policy"]["Statement"].as_array().unwrap();
    let on = |action: &str| -> Vec<String> {
        statements
            .iter()
            .filter(|s| strings(&s["Action"]).iter().any(|a| a == action))
            .flat_map(|s| strings(&s["Resource"]))
            .collect()
    };
    let pass_role = on("iam:PassRole");
    assert_eq!(pass_role.len(), 1, "{pass_role:?}");
    assert!(
        pass_role[0].starts_with("arn:aws:iam::111122223333:role/"),
        "{pass_role:?}"
    );
    let subscribe = on("sns:Subscribe");
    assert_eq!(subscribe.len(), 1, "{subscribe:?}");
    assert!(
        subscribe[0].starts_with("arn:aws:sns:ap-northeast-1:111122223333:"),
        "{subscribe:?}"
    );
    // The topic is read by its ARN, so no call on it needs `*`.
    assert!(on("sns:ListTopics").is_empty());
    let read_topic = on("sns:GetTopicAttributes");
    assert_eq!(read_topic.len(), 1, "{read_topic:?}");
    assert!(
        read_topic[0].starts_with("arn:aws:sns:ap-northeast-1:111122223333:"),
        "{read_topic:?}"
    );
    // No PagerDuty kind, no drill action in a policy for run.
    assert!(on("sns:Publish").is_empty());
    let document = report["policy"].to_string();
    assert!(!document.contains("\"pagerduty:"), "{document}");

    // S3 state: its object, lock and history, and ListBucket (a missing state
    // reads as missing, not 403).
    let out = w
        .blueprint_without_state(&[
            "iam-policy",
            SEED,
            "--for",
            "plan",
            "--account",
            "111122223333",
            "--state",
            "s3://team-state/blueprints/",
        ])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let policy = String::from_utf8_lossy(&out.stdout);
    for arn in [
        "arn:aws:s3:::team-state/blueprints/lambda-error-pagerduty.json",
        "arn:aws:s3:::team-state/blueprints/lambda-error-pagerduty.json.lock",
        "arn:aws:s3:::team-state/blueprints/lambda-error-pagerduty.json.history/*",
    ] {
        assert!(policy.contains(&format!("\"{arn}\"")), "{arn}: {policy}");
    }
    assert!(policy.contains("\"s3:ListBucket\""), "{policy}");
}
