//! Scheduler and diff semantics on an in-memory provider (the end-to-end tests run
//! the real providers against moto and the PagerDuty emulator). The provider
//! counts mutating calls, records peak concurrency, and fails on demand.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::progress::Silent;
use super::*;
use crate::cli::render;
use crate::providers::{
    Desired, ErrorClass, Found, Proof, Provider, ProviderError, ProviderResult, ProviderSet,
    Resource,
};
use crate::state::{LocalStore, State, StateStore, Status};
use blueprint_model::graph::{Graph, token, validate};
use blueprint_model::kind as kinds;

#[derive(Default)]
struct Memory {
    /// The provider it stands for (`pagerduty` when empty).
    name: &'static str,
    resources: Mutex<HashMap<String, Resource>>,
    mutations: AtomicUsize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    fail_on: Mutex<HashSet<String>>,
    /// Nodes whose resource exists but which `find` misses until a create has
    /// been refused: a killed run's request that lands late.
    late: Mutex<HashSet<String>>,
    next_id: AtomicUsize,
    /// What `find` reads, by kind (default: every prop).
    identity: HashMap<&'static str, crate::providers::Identity>,
    /// Every node `find` was asked about, in order.
    finds: Mutex<Vec<String>>,
}

impl Memory {
    fn outputs(kind: &str, id: &str, props: &Map<String, Value>) -> BTreeMap<String, String> {
        crate::providers::catalog()
            .lookup(kind)
            .unwrap()
            .outputs
            .iter()
            .map(|o| {
                let value = match o.mirrors {
                    Some(prop) => kinds::get_path(props, prop)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    None => format!("{}-{id}", o.name),
                };
                (o.name.to_owned(), value)
            })
            .collect()
    }

    async fn busy(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    fn check_failure(&self, node: &str) -> ProviderResult<()> {
        if self.fail_on.lock().unwrap().contains(node) {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!("{node}: injected failure"),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Provider for Memory {
    fn name(&self) -> &'static str {
        if self.name.is_empty() {
            "pagerduty"
        } else {
            self.name
        }
    }
    fn equivalent(&self, _kind: &str, _prop: &str, desired: &Value, observed: &Value) -> bool {
        desired == observed
    }
    async fn create(&self, d: &Desired<'_>) -> ProviderResult<Resource> {
        if crate::providers::catalog().lookup(d.kind).unwrap().lookup {
            return Ok(Resource {
                id: format!("U-{}", d.node),
                props: d.props.clone(),
                outputs: Memory::outputs(d.kind, d.node, d.props),
            });
        }
        self.check_failure(d.node)?;
        if self.late.lock().unwrap().remove(d.node) {
            return Err(ProviderError::new(
                ErrorClass::Conflict,
                format!("{}: already exists", d.node),
            ));
        }
        assert!(
            !serde_json::to_string(d.props).unwrap().contains('\u{E000}'),
            "a token reached the provider: {:?}",
            d.props
        );
        self.mutations.fetch_add(1, Ordering::SeqCst);
        self.busy().await;
        let id = format!("{}#{}", d.node, self.next_id.fetch_add(1, Ordering::SeqCst));
        let resource = Resource {
            id: id.clone(),
            props: d.props.clone(),
            outputs: Memory::outputs(d.kind, &id, d.props),
        };
        self.resources.lock().unwrap().insert(id, resource.clone());
        Ok(resource)
    }
    async fn read(&self, _kind: &str, prior: &Resource) -> ProviderResult<Option<Resource>> {
        Ok(self.resources.lock().unwrap().get(&prior.id).cloned())
    }
    async fn update(
        &self,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        self.check_failure(d.node)?;
        self.mutations.fetch_add(1, Ordering::SeqCst);
        self.busy().await;
        let mut resources = self.resources.lock().unwrap();
        let r = resources.get_mut(&prior.id).expect("exists");
        r.props = d.props.clone();
        Ok(r.clone())
    }
    async fn delete(&self, _kind: &str, prior: &Resource) -> ProviderResult<()> {
        self.mutations.fetch_add(1, Ordering::SeqCst);
        self.busy().await;
        self.resources.lock().unwrap().remove(&prior.id);
        Ok(())
    }
    fn identity(&self, kind: &str) -> crate::providers::Identity {
        self.identity
            .get(kind)
            .copied()
            .unwrap_or(crate::providers::Identity::AllProps)
    }
    async fn find(&self, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        self.finds.lock().unwrap().push(d.node.to_owned());
        if self.late.lock().unwrap().contains(d.node) {
            return Ok(None);
        }
        // The id names the node, as tags do on AWS.
        Ok(self
            .resources
            .lock()
            .unwrap()
            .values()
            .find(|r| r.id.starts_with(&format!("{}#", d.node)))
            .cloned()
            .map(|r| Found::new(r, Proof::Tagged)))
    }
}

fn t(node: &str, output: &str) -> String {
    token::make(node, output)
}

fn props(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// user -> team, membership(team,user), schedule(user) -> policy(schedule, team),
/// plus `extra` independent teams.
fn graph(rotation: u64, tz: &str, extra: usize) -> Graph {
    let mut g = Graph::default();
    g.declare(
        "pagerduty.user",
        "alice",
        props(json!({"email": "a@x.com"})),
    );
    g.declare("pagerduty.team", "team", props(json!({"name": "sre"})));
    g.declare(
        "pagerduty.team_membership",
        "member",
        props(json!({"team": t("team", "id"), "user": t("alice", "id"), "role": "responder"})),
    );
    g.declare(
        "pagerduty.schedule",
        "schedule",
        props(json!({
            "name": "rota", "time_zone": tz,
            "layers": [{"name": "l", "start": "2023-09-16T00:00:00+09:00",
                        "rotation_virtual_start": "2023-09-16T00:00:00+09:00",
                        "rotation_turn_length_seconds": rotation, "users": [t("alice", "id")]}],
        })),
    );
    g.declare(
        "pagerduty.escalation_policy",
        "policy",
        props(json!({
            "name": "p", "num_loops": 2, "teams": [t("team", "id")],
            "rules": [{"escalation_delay_in_minutes": 30,
                       "targets": [{"target_type": "schedule_reference", "id": t("schedule", "id")}]}],
        })),
    );
    for i in 0..extra {
        g.declare(
            "pagerduty.team",
            &format!("extra{i}"),
            props(json!({"name": format!("x{i}")})),
        );
    }
    validate::validate(&g, crate::providers::catalog()).expect("valid test graph");
    g
}

struct Fixture {
    provider: std::sync::Arc<Memory>,
    providers: ProviderSet,
    store: LocalStore,
    options: crate::engine::plan::Options,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let provider = std::sync::Arc::new(Memory::default());
    let dir = tempfile::tempdir().unwrap();
    Fixture {
        providers: ProviderSet::new().with(provider.clone()),
        provider,
        store: LocalStore::new(dir.path().join("state.json")),
        options: Default::default(),
        _dir: dir,
    }
}

impl Fixture {
    async fn plan(&self, g: &Graph) -> Plan {
        let state = self.store.load("test").await.unwrap();
        Planner {
            blueprint: "test",
            graph: g,
            providers: &self.providers,
            parallelism: crate::slots::Parallelism::Fixed(4),
            file: "test.toml",
            allow_duplicates: false,
            options: &self.options,
        }
        .plan(state)
        .await
        .unwrap()
    }

    async fn apply(&self, g: &Graph, parallelism: usize) -> Report {
        let plan = self.plan(g).await;
        Applier {
            blueprint: "test",
            graph: g,
            providers: &self.providers,
            store: &self.store,
            parallelism,
            progress: &Silent,
            file: "test.toml",
            allow_duplicates: false,
            options: &self.options,
        }
        .apply(plan)
        .await
        .unwrap()
    }

    fn mutations(&self) -> usize {
        self.provider.mutations.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn create_then_nothing_to_do() {
    let f = fixture();
    let g = graph(3600, "Asia/Tokyo", 0);
    let report = f.apply(&g, 10).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.done.len(), 4);
    assert_eq!(f.mutations(), 4);

    let plan = f.plan(&g).await;
    assert!(!plan.has_changes(), "{}", render::plan_text(&plan));
    assert!(render::plan_text(&plan).contains("No changes"));
    let report = f.apply(&g, 10).await;
    assert!(report.done.is_empty());
    assert_eq!(f.mutations(), 4, "a second run must make no mutating call");

    // References were resolved from outputs as they arrived.
    let state = f.store.load("test").await.unwrap();
    let policy = &state.resources["policy"].applied_props;
    let schedule_id = &state.resources["schedule"]
        .resource
        .as_ref()
        .unwrap()
        .outputs["id"];
    assert_eq!(&policy["rules"][0]["targets"][0]["id"], schedule_id);
}

/// A node found by name is looked for by the plan while its other props are
/// still unknown, and a part of a node this apply creates is not looked for
/// at all: the apply then looks for neither. One found by name with props
/// still unknown is looked for again by the apply, which adopts it.
#[tokio::test]
async fn the_plan_looks_as_soon_as_an_identity_is_known_and_the_apply_not_again() {
    use crate::providers::Identity;
    let provider = std::sync::Arc::new(Memory {
        identity: HashMap::from([
            ("pagerduty.escalation_policy", Identity::Props(&["name"])),
            ("pagerduty.team_membership", Identity::Parents),
        ]),
        ..Memory::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture {
        providers: ProviderSet::new().with(provider.clone()),
        provider,
        store: LocalStore::new(dir.path().join("state.json")),
        options: Default::default(),
        _dir: dir,
    };
    let looked =
        |f: &Fixture| -> BTreeSet<String> { f.provider.finds.lock().unwrap().drain(..).collect() };
    let g = graph(3600, "Asia/Tokyo", 0);
    let plan = f.plan(&g).await;
    // The team and the schedule (every prop known) and the policy (its name
    // known, its team and schedule not) are looked for; the membership of a
    // new team is not: nothing of it can exist.
    let all = BTreeSet::from(["team".to_owned(), "schedule".into(), "policy".into()]);
    assert_eq!(looked(&f), all, "plan");
    let checked: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| c.checked)
        .map(|c| c.node.as_str())
        .collect();
    assert_eq!(
        checked,
        BTreeSet::from(["team", "schedule", "policy", "member"])
    );
    // `apply` plans again (the same looks) and looks for nothing itself.
    let report = f.apply(&g, 10).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(f.provider.finds.lock().unwrap().len(), 3, "plan and apply");
    looked(&f);

    // Lost state: the policy is found by name while its team and schedule are
    // unknown, so the apply looks again once they are, and adopts it.
    std::fs::remove_file(f.store.path()).unwrap();
    let before = f.mutations();
    let report = f.apply(&g, 10).await;
    assert!(report.ok(), "{report:?}");
    let finds = f.provider.finds.lock().unwrap().clone();
    assert_eq!(
        finds.iter().filter(|n| *n == "policy").count(),
        2,
        "{finds:?}"
    );
    let state = f.store.load("test").await.unwrap();
    let policy = state.resources["policy"].resource.as_ref().unwrap();
    assert!(policy.id.starts_with("policy#"), "{policy:?}");
    assert_eq!(
        f.provider.resources.lock().unwrap().len(),
        4,
        "adopted, nothing made twice ({} mutations since)",
        f.mutations() - before
    );
}

#[tokio::test]
async fn one_changed_param_is_one_update() {
    let f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 0), 10).await;
    let g = graph(7200, "Asia/Tokyo", 0);
    let plan = f.plan(&g).await;
    let changed: Vec<(&str, Action)> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.node.as_str(), c.action))
        .collect();
    assert_eq!(changed, [("schedule", Action::Update)]);
    let text = render::plan_text(&plan);
    assert!(text.contains("~ schedule (pagerduty.schedule)"), "{text}");
    // Nested props show only the leaf that changed.
    assert!(
        text.contains("~ layers[0].rotation_turn_length_seconds: 3600 -> 7200"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{text}"
    );
    let before = f.mutations();
    f.apply(&g, 10).await;
    assert_eq!(f.mutations(), before + 1);
}

/// The seed's paging link: vendor lookup → service → integration, whose
/// CloudWatch endpoint an SNS subscription delivers to.
fn paging_graph(vendor: &str) -> Graph {
    let mut g = graph(3600, "Asia/Tokyo", 0);
    for v in ["cloudwatch", "other"] {
        g.declare("pagerduty.vendor", v, props(json!({"vendor_name": v})));
    }
    g.declare(
        "pagerduty.service",
        "service",
        props(json!({"name": "api", "escalation_policy": t("policy", "id")})),
    );
    g.declare(
        "pagerduty.service_integration",
        "integration",
        props(json!({"service": t("service", "id"), "vendor": t(vendor, "id")})),
    );
    g.declare("aws.sns_topic", "topic", props(json!({"name": "alarms"})));
    g.declare(
        "aws.sns_topic_subscription",
        "subscription",
        props(json!({
            "topic": t("topic", "arn"),
            "protocol": "https",
            "endpoint": t("integration", "cloudwatch_endpoint"),
        })),
    );
    validate::validate(&g, crate::providers::catalog()).expect("valid test graph");
    g
}

#[tokio::test]
async fn a_forcing_prop_replaces_and_dependents_follow() {
    let mut f = fixture();
    let aws = std::sync::Arc::new(Memory {
        name: "aws",
        ..Memory::default()
    });
    f.providers.insert(aws.clone());
    f.apply(&paging_graph("cloudwatch"), 10).await;
    let g = paging_graph("other");
    let plan = f.plan(&g).await;
    let action = |node: &str| plan.changes.iter().find(|c| c.node == node).unwrap().action;
    assert_eq!(action("integration"), Action::Replace);
    // The subscription's endpoint embeds the new key, unknown until it exists,
    // and the endpoint forces replacement too.
    assert_eq!(action("subscription"), Action::Replace);
    let text = render::plan_text(&plan);
    assert!(
        text.contains(
            "-/+ integration (pagerduty.service_integration)  must be replaced (vendor forces replacement)"
        ),
        "{text}"
    );
    assert!(text.contains("(known after apply)"), "{text}");
    let report = f.apply(&g, 10).await;
    assert!(report.ok(), "{report:?}");
    assert!(!f.plan(&g).await.has_changes());
    let integrations = f
        .provider
        .resources
        .lock()
        .unwrap()
        .keys()
        .filter(|id| id.starts_with("integration#"))
        .count();
    assert_eq!(integrations, 1, "the old integration is gone");
    assert_eq!(
        aws.resources.lock().unwrap().len(),
        2,
        "one topic, one subscription"
    );
}

#[tokio::test]
async fn a_failure_skips_only_its_dependents() {
    let f = fixture();
    f.provider.fail_on.lock().unwrap().insert("schedule".into());
    let report = f.apply(&graph(3600, "Asia/Tokyo", 3), 10).await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].node, "schedule");
    assert!(
        report.failed[0]
            .error
            .as_deref()
            .unwrap()
            .contains("injected failure")
    );
    let skipped: Vec<&str> = report.skipped.iter().map(|o| o.node.as_str()).collect();
    assert_eq!(skipped, ["policy"]);
    assert_eq!(
        report.done.len(),
        2 + 3,
        "team, membership and the independent teams"
    );
    let text = render::report_text(&report);
    assert!(
        text.contains("Apply INCOMPLETE") && text.contains("skipped: policy"),
        "{text}"
    );
    // Nothing done is forgotten.
    let state = f.store.load("test").await.unwrap();
    for node in ["team", "member", "extra0", "extra1", "extra2"] {
        assert_eq!(state.resources[node].status, Status::Ready, "{node}");
    }
    // The failed create left its intent: the next run looks before it creates.
    assert_eq!(state.resources["schedule"].status, Status::Creating);
    f.provider.fail_on.lock().unwrap().clear();
    let report = f.apply(&graph(3600, "Asia/Tokyo", 3), 10).await;
    assert!(report.ok());
    assert!(!f.plan(&graph(3600, "Asia/Tokyo", 3)).await.has_changes());
}

#[tokio::test]
async fn an_interrupted_create_is_adopted_not_duplicated() {
    let f = fixture();
    let g = graph(3600, "Asia/Tokyo", 0);
    f.apply(&g, 10).await;
    // Simulate a crash right after the schedule was created: state holds only
    // intent. (Its dependent, the policy, refers to it by a prop that does not
    // force replacement.)
    let mut state = f.store.load("test").await.unwrap();
    state.resources.get_mut("schedule").unwrap().status = Status::Creating;
    state.resources.get_mut("schedule").unwrap().resource = None;
    f.store.save(&state).await.unwrap();

    let plan = f.plan(&g).await;
    let schedule = plan.changes.iter().find(|c| c.node == "schedule").unwrap();
    assert!(schedule.action == Action::Create && schedule.adopt);
    let before = f.mutations();
    f.apply(&g, 10).await;
    assert_eq!(f.mutations(), before, "adopted, not created again");
    let teams = f
        .provider
        .resources
        .lock()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("schedule#"))
        .count();
    assert_eq!(teams, 1);
}

#[tokio::test]
async fn a_late_landing_interrupted_create_is_adopted_on_conflict() {
    let f = fixture();
    let g = graph(3600, "Asia/Tokyo", 0);
    f.apply(&g, 10).await;
    let mut state = f.store.load("test").await.unwrap();
    state.resources.get_mut("schedule").unwrap().status = Status::Creating;
    state.resources.get_mut("schedule").unwrap().resource = None;
    f.store.save(&state).await.unwrap();
    // The killed run's create lands after this run's first look.
    f.provider.late.lock().unwrap().insert("schedule".into());
    let before = f.mutations();
    let report = f.apply(&g, 10).await;
    assert!(report.ok(), "{}", render::report_text(&report));
    assert_eq!(f.mutations(), before, "adopted, not created again");
    // A conflict without an interrupted intent is an error, not an adoption.
    let f = fixture();
    f.provider.late.lock().unwrap().insert("schedule".into());
    let report = f.apply(&g, 10).await;
    assert!(!report.ok());
}

#[tokio::test]
async fn parallelism_is_bounded_and_used() {
    let f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 20), 4).await;
    assert_eq!(f.provider.peak.load(Ordering::SeqCst), 4);
    let f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 20), 1).await;
    assert_eq!(f.provider.peak.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn drift_is_planned_and_repaired() {
    let f = fixture();
    let g = graph(3600, "Asia/Tokyo", 0);
    f.apply(&g, 10).await;
    // Out of band: the team is deleted, the schedule's rotation changed.
    {
        let mut resources = f.provider.resources.lock().unwrap();
        resources.retain(|id, _| !id.starts_with("team#"));
        let schedule = resources
            .values_mut()
            .find(|r| r.id.starts_with("schedule#"))
            .unwrap();
        schedule.props["layers"][0]["rotation_turn_length_seconds"] = json!(60);
    }
    let plan = f.plan(&g).await;
    assert_eq!(plan.vanished, ["team"]);
    let actions: BTreeMap<&str, Action> = plan
        .changes
        .iter()
        .map(|c| (c.node.as_str(), c.action))
        .collect();
    assert_eq!(actions["team"], Action::Create);
    assert_eq!(actions["schedule"], Action::Update);
    f.apply(&g, 10).await;
    assert!(!f.plan(&g).await.has_changes());
}

#[tokio::test]
async fn removed_nodes_are_deleted_after_their_dependents() {
    let f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 0), 10).await;
    let empty = Graph::default();
    let plan = f.plan(&empty).await;
    assert_eq!(plan.counts().get(&Action::Delete), Some(&4));
    let report = f.apply(&empty, 10).await;
    assert!(report.ok(), "{report:?}");
    let order: Vec<&str> = report.done.iter().map(|o| o.node.as_str()).collect();
    let at = |n: &str| order.iter().position(|x| *x == n).unwrap();
    assert!(
        at("policy") < at("schedule") && at("policy") < at("team"),
        "{order:?}"
    );
    assert!(at("member") < at("team"), "{order:?}");
    assert!(f.provider.resources.lock().unwrap().is_empty());
    assert!(
        f.store
            .load("test")
            .await
            .unwrap()
            .resources
            .values()
            .all(|e| crate::providers::catalog().lookup(&e.kind).unwrap().lookup)
    );
}

#[tokio::test]
async fn secrets_never_reach_plan_output() {
    // An integration's key flows into a subscription endpoint: shown redacted.
    let mut g = Graph::default();
    g.declare(
        "pagerduty.vendor",
        "v",
        props(json!({"vendor_name": "Amazon CloudWatch"})),
    );
    g.declare(
        "pagerduty.service_integration",
        "i",
        props(json!({"service": "PEXIST1", "vendor": t("v", "id")})),
    );
    g.declare(
        "pagerduty.team",
        "team",
        props(json!({"name": "sre", "description": t("i", "cloudwatch_endpoint")})),
    );
    validate::validate(&g, crate::providers::catalog()).unwrap();
    let f = fixture();
    f.apply(&g, 10).await;
    let state = f.store.load("test").await.unwrap();
    assert_eq!(state.resources["team"].sensitive_props, ["description"]);
    let shown = serde_json::to_string(&state.redacted(crate::providers::catalog())).unwrap();
    assert!(!shown.contains("cloudwatch_endpoint-"), "{shown}");
    assert!(!shown.contains("integration_key-"), "{shown}");
    // Drift on the secret shows as (sensitive), in text and JSON.
    for r in f.provider.resources.lock().unwrap().values_mut() {
        if r.id.starts_with("team#") {
            r.props.insert("description".into(), json!("old"));
        }
    }
    let plan = f.plan(&g).await;
    let text = render::plan_text(&plan);
    let json = render::plan_json(&plan).to_string();
    assert!(text.contains("(sensitive)"), "{text}");
    assert!(
        !text.contains("cloudwatch_endpoint-") && !json.contains("cloudwatch_endpoint-"),
        "{text}\n{json}"
    );
}

#[tokio::test]
async fn plan_json_is_machine_readable() {
    let f = fixture();
    let plan = f.plan(&graph(3600, "Asia/Tokyo", 0)).await;
    let v = render::plan_json(&plan);
    assert_eq!(v["summary"]["create"], 4);
    assert_eq!(v["has_changes"], true);
    let policy = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["node"] == "policy")
        .unwrap();
    assert_eq!(policy["action"], "create");
    let rules = policy["props"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "rules")
        .unwrap();
    assert_eq!(rules["after"]["unknown"], true);
    let _ = State::new("x");
}

fn changed(plan: &Plan) -> Vec<(&str, Action)> {
    plan.changes
        .iter()
        .filter(|c| c.is_work())
        .map(|c| (c.node.as_str(), c.action))
        .collect()
}

#[tokio::test]
async fn ignored_props_are_neither_planned_nor_sent() {
    let mut f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 0), 10).await;
    f.options
        .ignore_changes
        .insert("schedule".into(), vec!["layers".into()]);
    assert!(!f.plan(&graph(7200, "Asia/Tokyo", 0)).await.has_changes());
    // Another prop still updates, and the update sends the layers that exist.
    let g = graph(7200, "Europe/Paris", 0);
    let plan = f.plan(&g).await;
    assert_eq!(changed(&plan), [("schedule", Action::Update)]);
    let schedule = plan.changes.iter().find(|c| c.node == "schedule").unwrap();
    let names: Vec<&str> = schedule.props.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["time_zone"]);
    assert!(f.apply(&g, 10).await.ok());
    let schedule = f
        .provider
        .resources
        .lock()
        .unwrap()
        .values()
        .find(|r| r.props.get("time_zone") == Some(&json!("Europe/Paris")))
        .cloned()
        .expect("the schedule was updated");
    assert_eq!(
        schedule.props["layers"][0]["rotation_turn_length_seconds"],
        json!(3600)
    );
}

#[tokio::test]
async fn replace_requested_replaces_what_nothing_forces() {
    let mut f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 0), 10).await;
    let before = f.store.load("test").await.unwrap().resources["team"].clone();
    f.options.replace.insert("team".into());
    let g = graph(3600, "Asia/Tokyo", 0);
    let plan = f.plan(&g).await;
    let team = plan.changes.iter().find(|c| c.node == "team").unwrap();
    assert_eq!(team.action, Action::Replace);
    assert!(team.replace_requested);
    assert!(
        render::plan_text(&plan).contains("team (pagerduty.team)  must be replaced (--replace)")
    );
    assert!(f.apply(&g, 10).await.ok());
    let after = f.store.load("test").await.unwrap().resources["team"].clone();
    assert_ne!(
        before.resource.unwrap().id,
        after.resource.unwrap().id,
        "a new team"
    );
}

#[tokio::test]
async fn a_target_plans_only_it_and_what_it_depends_on() {
    let mut f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 0), 10).await;
    f.options.targets.insert("schedule".into());
    // The schedule changes, and a new team appears: only the schedule is planned.
    let g = graph(7200, "Asia/Tokyo", 1);
    let plan = f.plan(&g).await;
    assert_eq!(changed(&plan), [("schedule", Action::Update)]);
    assert_eq!(plan.untargeted, ["extra0"]);
    assert!(render::plan_text(&plan).contains("--target left out 1 node(s) with changes: extra0"));
    let before = f.mutations();
    assert!(f.apply(&g, 10).await.ok());
    assert_eq!(f.mutations(), before + 1);
    f.options.targets.clear();
    assert_eq!(changed(&f.plan(&g).await), [("extra0", Action::Create)]);
}

#[tokio::test]
async fn a_moved_record_is_kept_and_saved_without_any_call() {
    let mut f = fixture();
    f.apply(&graph(3600, "Asia/Tokyo", 1), 10).await;
    let mut state = f.store.load("test").await.unwrap();
    let id = state.resources["extra0"].resource.clone().unwrap().id;
    // What the run layer does for `[[moved]] from = "extra0" to = "crew"`,
    // except that it saves only through the apply.
    state.rename("extra0", "crew").unwrap();
    f.store.commit(&mut state).await.unwrap();
    f.options.moved.insert("crew".into(), "extra0".into());
    let mut g = graph(3600, "Asia/Tokyo", 0);
    g.declare("pagerduty.team", "crew", props(json!({"name": "x0"})));
    validate::validate(&g, crate::providers::catalog()).unwrap();
    let plan = f.plan(&g).await;
    assert_eq!(changed(&plan), [("crew", Action::NoOp)]);
    let text = render::plan_text(&plan);
    assert!(
        text.contains("-> crew (pagerduty.team)  (moved from extra0: the same resource)"),
        "{text}"
    );
    assert!(text.contains("Plan: 1 to move, 0 to create"), "{text}");
    let before = f.mutations();
    let report = f.apply(&g, 10).await;
    assert_eq!(f.mutations(), before, "a move calls no API");
    assert_eq!(report.done[0].operation, "move");
    assert!(render::report_text(&report).contains("1 moved"));
    let saved = f.store.load("test").await.unwrap();
    assert_eq!(saved.resources["crew"].resource.as_ref().unwrap().id, id);
    f.options.moved.clear();
    assert!(!f.plan(&g).await.has_changes());
}

/// The plan looks first for what the longest chains wait on: the user (then
/// its schedule, then the policy) before a team nothing depends on.
#[test]
fn looks_go_first_where_the_longest_chain_waits() {
    let g = graph(3600, "Etc/UTC", 1);
    let priority = crate::engine::plan::look_priorities(&g);
    assert_eq!(priority["alice"], 3, "{priority:?}");
    assert_eq!(priority["schedule"], 2);
    assert_eq!(priority["team"], 2);
    assert_eq!(priority["policy"], 1);
    assert_eq!(priority["member"], 1);
    assert_eq!(priority["extra0"], 1);
}
