//! The seed against services as strict as the real ones (issue 15, done-when):
//! the PagerDuty emulator in strict mode with a consistency delay and ambiguous
//! failures (requests carried out but answered 500 or cut off), and the AWS
//! fault proxy in front of moto (CreateFunction role refusals, Lambda update
//! conflicts, DeleteRole conflicts after a detach, subscriptions that never
//! confirm). Every check asks the emulators, not our state.

use crate::support;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::{Duration, Instant};

use pagerduty_emulator::Config;
use serde_json::{Map, Value, json};

use blueprint::providers::aws::AwsProvider;
use blueprint::providers::pagerduty::PagerDutyProvider;
use blueprint::providers::{Desired, Provider};
use support::fault_proxy::{self, FaultProxy, Faults};
use support::world::{SEED, World, text};

/// What the issue asks for: 2 s of eventual consistency, 10 % of mutating
/// requests ambiguous.
fn strict_config(seed: u64) -> Config {
    Config {
        consistency_delay: Duration::from_millis(2000),
        ambiguous_rate: 0.1,
        ambiguous_seed: seed,
        ..Config::strict()
    }
}

/// The AWS faults of a real account at their usual size.
fn aws_faults() -> Faults {
    Faults {
        create_function_refusals: 2,
        lambda_update_window: Duration::from_millis(1500),
        delete_role_window: Duration::from_millis(1500),
        // The log group and the metric filter are changed while CloudWatch Logs
        // is still busy with them.
        log_change_aborts: 2,
        ..Faults::default()
    }
}

struct Strict {
    world: World,
    proxy: FaultProxy,
}

impl Strict {
    async fn new(config: Config, faults: Faults) -> Strict {
        let world = World::with(config).await;
        let proxy = fault_proxy::start(&world.moto, faults).await;
        Strict { world, proxy }
    }

    /// `blueprint ARGS` with AWS through the fault proxy.
    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.world.command(args);
        command.env("AWS_ENDPOINT_URL", self.proxy.url());
        for (k, v) in env {
            command.env(k, v);
        }
        tokio::task::spawn_blocking(move || command.output().expect("blueprint runs"))
            .await
            .unwrap()
    }

    /// PagerDuty objects per collection (memberships per team).
    fn pd_counts(&self) -> BTreeMap<String, usize> {
        let pd = self.world.pd();
        let mut counts: BTreeMap<String, usize> = pd["objects"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(c, _)| c.as_str() != "users" && c.as_str() != "vendors")
            .map(|(c, o)| (c.clone(), o.as_object().map_or(0, |o| o.len())))
            .collect();
        let members: usize = pd["members"].as_object().map_or(0, |t| {
            t.values()
                .map(|m| m.as_object().map_or(0, |m| m.len()))
                .sum()
        });
        counts.insert("members".into(), members);
        counts.insert(
            "integrations".into(),
            pd["integrations"].as_array().map_or(0, Vec::len),
        );
        counts.insert(
            "dependencies".into(),
            pd["dependencies"].as_array().map_or(0, Vec::len),
        );
        counts.retain(|_, n| *n > 0);
        counts
    }

    /// What is left in moto (asked directly, not through the proxy).
    async fn aws_left(&self) -> Vec<String> {
        let aws = AwsProvider::with_config(&self.world.moto.sdk_config().await);
        let mut left = Vec::new();
        for t in aws.sns.list_topics().send().await.unwrap().topics() {
            left.push(format!("topic {}", t.topic_arn().unwrap_or_default()));
        }
        for f in aws
            .lambda
            .list_functions()
            .send()
            .await
            .unwrap()
            .functions()
        {
            left.push(format!(
                "function {}",
                f.function_name().unwrap_or_default()
            ));
        }
        for a in aws
            .cloudwatch
            .describe_alarms()
            .send()
            .await
            .unwrap()
            .metric_alarms()
        {
            left.push(format!("alarm {}", a.alarm_name().unwrap_or_default()));
        }
        for r in aws.iam.list_roles().send().await.unwrap().roles() {
            left.push(format!("role {}", r.role_name()));
        }
        for g in aws
            .logs
            .describe_log_groups()
            .send()
            .await
            .unwrap()
            .log_groups()
        {
            left.push(format!(
                "log group {}",
                g.log_group_name().unwrap_or_default()
            ));
        }
        for b in aws.s3.list_buckets().send().await.unwrap().buckets() {
            left.push(format!("bucket {}", b.name().unwrap_or_default()));
        }
        left
    }
}

/// What one applied seed makes in PagerDuty, each exactly once.
fn seed_counts() -> BTreeMap<String, usize> {
    [
        ("teams", 1),
        ("schedules", 1),
        ("escalation_policies", 1),
        ("services", 1),
        ("business_services", 1),
        ("members", 2),
        ("integrations", 1),
        ("dependencies", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_survives_strict_services() {
    let started = Instant::now();
    // Every PagerDuty exchange is recorded and held to PagerDuty's OpenAPI
    // documents at the end: the provider's requests (and the strict emulator's
    // answers, faults included) of run, plan, drill and destroy.
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("strict-world.jsonl");
    let s = Strict::new(
        Config {
            record: Some(record.clone()),
            ..strict_config(0x5EED)
        },
        aws_faults(),
    )
    .await;

    // The seed applies.
    let out = s.run(&["run", SEED, "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.pd_counts(), seed_counts(), "{}", text(&out));
    assert_eq!(
        s.proxy.injected(fault_proxy::fault::LOG_CHANGE_ABORTED),
        2,
        "the run met CloudWatch Logs' concurrent-change aborts and went on"
    );

    // A second plan has nothing to do although the layer start is in the past
    // (PagerDuty reset it to the time of the request).
    let schedule = one_schedule(&s);
    let layer = &schedule["schedule_layers"][0];
    assert_ne!(
        layer["start"], "2023-09-16T00:00:00+09:00",
        "the strict emulator reset the past start"
    );
    let out = s.run(&["plan", SEED, "--detailed-exitcode"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A rotation change is exactly one update, in place (the layer keeps its id).
    let rotation = "schedule.rotation_turn_length_seconds=7200";
    let out = s
        .run(
            &["plan", SEED, "--set", rotation, "--detailed-exitcode"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{}",
        text(&out)
    );
    let out = s.run(&["run", SEED, "--set", rotation, "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    let after = one_schedule(&s);
    let layers = after["schedule_layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{after}");
    assert_eq!(
        layers[0]["id"], layer["id"],
        "the layer was updated in place"
    );
    assert_eq!(layers[0]["rotation_turn_length_seconds"], 7200);
    let out = s
        .run(
            &["plan", SEED, "--set", rotation, "--detailed-exitcode"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The drill pages the engineer on call through the strict services.
    let out = s
        .run(&["drill", SEED, "--from", "topic", "--set", rotation], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));

    // destroy completes in one run and leaves nothing in either emulator.
    let out = s.run(&["destroy", SEED, "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.pd_counts(), BTreeMap::new(), "{}", text(&out));
    assert_eq!(s.aws_left().await, Vec::<String>::new());

    // Every request the provider sent, and every answer, keeps to the document.
    let recorded = std::fs::read_to_string(&record).unwrap();
    for path in [
        "\"/oncalls\"",
        "/log_entries",
        "/incidents",
        "\"/schedules\"",
    ] {
        assert!(recorded.contains(path), "{path} was not recorded");
    }
    let (ok, report) = crate::contract::validate(&record);
    assert!(ok, "{report}");
    let (answered_500, cut_off) = s.world.emulator.ambiguous_counts();
    eprintln!(
        "strict seed: {:.1} s, {answered_500} ambiguous 500s, {cut_off} cut connections, AWS faults {:?}",
        started.elapsed().as_secs_f64(),
        s.proxy.counters().faults
    );
}

fn one_schedule(s: &Strict) -> Value {
    let pd = s.world.pd();
    let schedules = pd["objects"]["schedules"].as_object().unwrap();
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    schedules.values().next().unwrap().clone()
}

/// Cycles of run + destroy with ambiguous failures: no duplicate is ever made
/// and no command fails. `STRICT_CYCLES` sets how many in all (default 10, as
/// the issue asks), shared by `STRICT_WORLDS` independent worlds (default 2, each
/// with its own fault seed) that cycle side by side: a cycle is ~16 s, nearly
/// all of it waiting on the services' delays (10 cycles in one world: 162 s
/// elapsed, 8 s of CPU), so two worlds halve the wait and keep the count.
#[tokio::test(flavor = "multi_thread")]
async fn run_destroy_cycles_make_no_duplicates() {
    let setting = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let cycles = setting("STRICT_CYCLES", 10);
    let worlds = setting("STRICT_WORLDS", 2).clamp(1, cycles.max(1));
    let started = Instant::now();
    let results = futures::future::join_all((0..worlds).map(|w| {
        // Cycles dealt out so the worlds' counts add up to `cycles`.
        let mine = cycles / worlds + usize::from(w < cycles % worlds);
        cycle_one_world(0xC1C1E + w as u64, mine)
    }))
    .await;
    let (mut answered_500, mut cut_off) = (0, 0);
    let mut failed = Vec::new();
    for (w, (errors, (a, c))) in results.into_iter().enumerate() {
        failed.extend(errors.into_iter().map(|e| format!("world {w}, {e}")));
        answered_500 += a;
        cut_off += c;
    }
    assert!(failed.is_empty(), "{}", failed.join("\n---\n"));
    assert!(
        answered_500 + cut_off > 0,
        "the cycles met ambiguous failures"
    );
    eprintln!(
        "{cycles} cycles in {worlds} worlds: {:.1} s, {answered_500} ambiguous 500s, {cut_off} cut connections, 0 duplicates, 0 failed commands",
        started.elapsed().as_secs_f64()
    );
}

/// `cycles` rounds of run + destroy in a world of its own: the commands that
/// failed, and the emulator's ambiguous answers (500s, cut connections).
/// Duplicates and leftovers fail at once, naming the cycle.
async fn cycle_one_world(seed: u64, cycles: usize) -> (Vec<String>, (u64, u64)) {
    let s = Strict::new(strict_config(seed), aws_faults()).await;
    let mut failed = Vec::new();
    for cycle in 0..cycles {
        let out = s.run(&["run", SEED, "--yes"], &[]).await;
        if !out.status.success() {
            failed.push(format!("run {cycle}: {}", text(&out)));
        }
        assert_eq!(
            s.pd_counts(),
            seed_counts(),
            "cycle {cycle}: {}",
            text(&out)
        );
        let out = s.run(&["destroy", SEED, "--yes"], &[]).await;
        if !out.status.success() {
            failed.push(format!("destroy {cycle}: {}", text(&out)));
        }
        assert_eq!(
            s.pd_counts(),
            BTreeMap::new(),
            "cycle {cycle}: {}",
            text(&out)
        );
        assert_eq!(s.aws_left().await, Vec::<String>::new(), "cycle {cycle}");
    }
    (failed, s.world.emulator.ambiguous_counts())
}

/// An HTTPS subscription whose endpoint never confirms fails `run` naming the
/// subscription and the endpoint; it is recorded (it exists), and `plan` shows
/// it as needing replacement.
#[tokio::test(flavor = "multi_thread")]
async fn a_never_confirmed_subscription_fails_the_run_and_is_planned_for_repair() {
    let world_config = Config::strict();
    let world = World::with(world_config).await;
    let endpoint_prefix = format!("{}/integration/", world.emulator.base_url());
    let proxy = fault_proxy::start(
        &world.moto,
        Faults {
            non_confirming_endpoints: vec![endpoint_prefix.clone()],
            ..Faults::default()
        },
    )
    .await;
    let s = Strict { world, proxy };
    let wait = [("BLUEPRINT_SNS_CONFIRM_SECONDS", "2")];
    let out = s.run(&["run", SEED, "--yes"], &wait).await;
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("was not confirmed by its endpoint"), "{said}");
    assert!(
        said.contains("arn:aws:sns:"),
        "names the subscription: {said}"
    );
    assert!(
        said.contains(&endpoint_prefix),
        "names the endpoint: {said}"
    );
    let key = s.world.pd()["integrations"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !said.contains(&key),
        "the integration key was printed: {said}"
    );
    assert!(
        s.proxy.injected(fault_proxy::fault::PENDING_SUBSCRIPTION) > 0,
        "the proxy kept it pending"
    );

    // Recorded, and planned for replacement.
    let out = s.run(&["plan", SEED, "--detailed-exitcode"], &wait).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("(aws.sns_topic_subscription)") && text(&out).contains("replace"),
        "{}",
        text(&out)
    );
    // The repair, while the endpoint still never confirms: the old subscription
    // cannot be unsubscribed (SNS refuses pending ones) and is recorded gone with
    // a warning; the new one fails the way the first did.
    let out = s.run(&["run", SEED, "--yes"], &wait).await;
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("was not confirmed by its endpoint"), "{said}");
    assert!(
        said.contains("does not unsubscribe a pending subscription"),
        "{said}"
    );
    assert!(
        !said.contains(&key),
        "the integration key was printed: {said}"
    );
    let out = s.run(&["destroy", SEED, "--yes"], &wait).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("deletes it by itself within about three days"),
        "{}",
        text(&out)
    );
}

/// An incident left open keeps the schedule: PagerDuty refuses to delete a
/// schedule an open incident was opened through. `destroy` stops at once and
/// names the incident; `destroy --resolve-incidents` resolves it and finishes.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_stops_on_open_incidents_and_resolves_them_when_asked() {
    let s = Strict::new(Config::strict(), Faults::default()).await;
    let out = s.run(&["run", SEED, "--yes"], &[]).await;
    assert!(out.status.success(), "{}", text(&out));
    // An alarm as CloudWatch would send it, never resolved (the seed has no OK action).
    let key = s
        .world
        .emulator
        .with_db(|db| db.integrations.values().next().unwrap().key.clone());
    let sent = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", s.world.emulator.base_url()))
        .json(&serde_json::json!({"routing_key": key, "event_action": "trigger", "dedup_key": "left-open",
            "payload": {"summary": "ERROR in error-function", "source": "test", "severity": "error"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 202);
    let number = s.world.emulator.with_db(|db| {
        db.incidents.values().next().unwrap()["incident_number"]
            .as_u64()
            .unwrap()
    });

    let started = Instant::now();
    let out = s.run(&["destroy", SEED, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let said = text(&out);
    assert!(
        said.contains(&format!("#{number} ")),
        "names the incident: {said}"
    );
    assert!(said.contains("--resolve-incidents"), "{said}");
    assert!(
        !said.contains(&key),
        "the integration key was printed: {said}"
    );

    let out = s
        .run(&["destroy", SEED, "--yes", "--resolve-incidents"], &[])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("resolved 1 open incident(s)"),
        "{}",
        text(&out)
    );
    assert_eq!(s.pd_counts(), BTreeMap::new(), "{}", text(&out));
    assert_eq!(
        s.world
            .emulator
            .with_db(|db| db.incidents.values().next().unwrap()["status"].clone()),
        "resolved"
    );
}

fn props(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// A second layer added then removed: PagerDuty keeps it, ended, and it pages
/// nobody; the schedule reads back as the blueprint has it.
#[tokio::test(flavor = "multi_thread")]
async fn a_removed_layer_is_ended_and_pages_nobody() {
    let emulator = support::pagerduty::emulator(Config {
        consistency_delay: Duration::from_millis(2000),
        ..Config::strict()
    })
    .await;
    let pd: PagerDutyProvider = support::pagerduty::provider_for(&emulator);
    let users: Vec<String> = emulator.with_db(|db| {
        db.list("users")
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    });
    let layer = |name: &str, user: &str| {
        json!({
            "name": name,
            "start": "2023-09-16T00:00:00+09:00",
            "rotation_virtual_start": "2023-09-16T00:00:00+09:00",
            "rotation_turn_length_seconds": 3600,
            "users": [user],
        })
    };
    let schedule = |layers: Vec<Value>| {
        props(json!({"name": "Layered", "time_zone": "Asia/Tokyo", "layers": layers}))
    };
    let assets = BTreeMap::new();
    let desired = |p: &'static Map<String, Value>| Desired {
        blueprint: "strict",
        node: "schedule",
        kind: "pagerduty.schedule",
        props: p,
        assets: &assets,
    };
    let one: &'static Map<String, Value> =
        Box::leak(Box::new(schedule(vec![layer("base", &users[0])])));
    let two: &'static Map<String, Value> = Box::leak(Box::new(schedule(vec![
        layer("base", &users[0]),
        layer("override", &users[1]),
    ])));

    let made = pd.create(&desired(one)).await.unwrap();
    // Wait out the consistency delay before reading it back.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let on_call = |id: &str| {
        let id = id.to_owned();
        emulator.with_db(move |db| db.on_call_for_schedule(&id, db.now()).map(|o| o.user))
    };
    assert_eq!(on_call(&made.id).as_deref(), Some(users[0].as_str()));

    // Added: the new layer, of higher precedence, is on call.
    let changed = vec!["layers".to_owned()];
    let with_two = pd.update(&desired(two), &made, &changed).await.unwrap();
    assert_eq!(on_call(&made.id).as_deref(), Some(users[1].as_str()));
    let read = pd
        .read("pagerduty.schedule", &with_two)
        .await
        .unwrap()
        .unwrap();
    assert!(
        pd.equivalent(
            "pagerduty.schedule",
            "layers",
            &two["layers"],
            &read.props["layers"]
        ),
        "{:?}",
        read.props["layers"]
    );

    // Removed: ended, kept by PagerDuty, and paging nobody.
    let back = pd.update(&desired(one), &with_two, &changed).await.unwrap();
    let stored = emulator.with_db(|db| db.get("schedules", &made.id).unwrap().clone());
    let layers = stored["schedule_layers"].as_array().unwrap();
    assert_eq!(
        layers.len(),
        2,
        "PagerDuty keeps the removed layer: {stored}"
    );
    let ended: Vec<&Value> = layers.iter().filter(|l| !l["end"].is_null()).collect();
    assert_eq!(ended.len(), 1, "{stored}");
    assert_eq!(ended[0]["name"], "override");
    assert_eq!(on_call(&made.id).as_deref(), Some(users[0].as_str()));
    // The ended layer is not drift: the schedule reads back as the blueprint has it.
    let read = pd.read("pagerduty.schedule", &back).await.unwrap().unwrap();
    assert!(
        pd.equivalent(
            "pagerduty.schedule",
            "layers",
            &one["layers"],
            &read.props["layers"]
        ),
        "{:?}",
        read.props["layers"]
    );
    assert_eq!(read.props["layers"].as_array().unwrap().len(), 1);
}
