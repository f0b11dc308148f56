//! The strict mode (`Config::strict()`), the consistency delay and ambiguous
//! failures, over HTTP as a client sees them. Each test also shows the lenient
//! default answering otherwise, so none of them can pass by accident. The
//! sources of each behaviour are cited in src/strict.rs, src/layer.rs and the
//! README's "Strict mode".

use std::time::Duration;

use chrono::{DateTime, Utc};
use pagerduty_emulator::{Config, Emulator};
use serde_json::{Value, json};

const TOKEN: &str = "t0k3n";

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn start(config: Config) -> (Emulator, Client) {
        let emulator = Emulator::start(
            Config {
                token: TOKEN.into(),
                users: vec![
                    ("User One".into(), "user1@example.com".into()),
                    ("User Two".into(), "user2@example.com".into()),
                    ("User Three".into(), "user3@example.com".into()),
                ],
                ..config
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let client = Client {
            // No pooling: a cut connection must not be reused.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            base: emulator.base_url(),
        };
        (emulator, client)
    }

    /// Status and body, or `None` when the connection was cut with no answer.
    async fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<(u16, Value)> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Token token={TOKEN}"))
            .header("Accept", "application/vnd.pagerduty+json;version=2");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        let text = response.text().await.ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.try_send(method, path, body).await.expect("an answer")
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// POST that must succeed; the new object's id.
    async fn create(&self, path: &str, body: Value) -> String {
        let (status, body) = self.post(path, body).await;
        assert!(
            status == 201 || status == 200,
            "POST {path}: {status} {body}"
        );
        let object = body.as_object().unwrap().values().next().unwrap();
        object["id"].as_str().unwrap().to_owned()
    }

    async fn users(&self) -> Vec<String> {
        self.get("/users").await.1["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn layer(name: &str, start: &str, users: &[&String]) -> Value {
    json!({
        "name": name, "start": start, "rotation_virtual_start": start,
        "rotation_turn_length_seconds": 3600,
        "users": users.iter().map(|u| json!({"user": {"id": u, "type": "user_reference"}})).collect::<Vec<_>>(),
    })
}

fn parse(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn error_reason(body: &Value) -> &str {
    body["error"]["errors"][0].as_str().unwrap_or_default()
}

const NOW: &str = "2026-03-02T03:04:05Z";

#[tokio::test]
async fn a_past_layer_start_becomes_the_request_time() {
    let now = parse(&json!(NOW));
    for strict in [true, false] {
        let (_e, c) = Client::start(Config {
            strict,
            now: Some(now),
            ..Config::default()
        })
        .await;
        let users = c.users().await;
        let future = "2030-01-01T00:00:00+09:00";
        let id = c
            .create(
                "/schedules",
                json!({"schedule": {"name": "s", "time_zone": "Asia/Tokyo", "schedule_layers": [
                    layer("past", "2023-09-16T00:00:00+09:00", &[&users[0]]),
                    layer("future", future, &[&users[1]]),
                ]}}),
            )
            .await;
        let (_, body) = c.get(&format!("/schedules/{id}")).await;
        let layers = body["schedule"]["schedule_layers"].as_array().unwrap();
        let past = layers.iter().find(|l| l["name"] == "past").unwrap();
        let future_layer = layers.iter().find(|l| l["name"] == "future").unwrap();
        assert_eq!(future_layer["start"], future, "a future start is kept");
        if strict {
            let start = parse(&past["start"]);
            assert!(
                (start - now).num_seconds().abs() <= 5,
                "the request time, not {start}"
            );
            assert!(
                past["start"].as_str().unwrap().ends_with("+09:00"),
                "in the schedule's zone: {}",
                past["start"]
            );
            assert_eq!(
                past["rotation_virtual_start"], "2023-09-16T00:00:00+09:00",
                "the rotation's anchor is kept"
            );
        } else {
            assert_eq!(past["start"], "2023-09-16T00:00:00+09:00");
        }
    }
}

async fn read(c: &Client, id: &str) -> Value {
    c.get(&format!("/schedules/{id}")).await.1["schedule"]["schedule_layers"].clone()
}

async fn on_call(c: &Client, id: &str) -> Value {
    c.get(&format!("/oncalls?schedule_ids[]={id}")).await.1["oncalls"][0]["user"]["id"].clone()
}

#[tokio::test]
async fn layers_come_back_reversed_and_a_left_out_layer_is_ended_not_removed() {
    let (_e, c) = Client::start(Config::strict()).await;
    let users = c.users().await;
    let start = "2024-01-01T00:00:00Z";
    let id = c
        .create(
            "/schedules",
            json!({"schedule": {"name": "s", "time_zone": "Etc/UTC", "schedule_layers": [
                layer("A", start, &[&users[0]]),
                layer("B", start, &[&users[1]]),
            ]}}),
        )
        .await;
    // On-call entries are listed through the policies that target a schedule.
    c.create(
        "/escalation_policies",
        json!({"escalation_policy": {"name": "ep", "escalation_rules": [
            {"escalation_delay_in_minutes": 30, "targets": [{"id": id, "type": "schedule_reference"}]}]}}),
    )
    .await;
    let layers = read(&c, &id).await;
    let names: Vec<&str> = layers
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["B", "A"], "highest precedence (sent last) first");
    assert_eq!(
        on_call(&c, &id).await,
        json!(users[1]),
        "B, sent last, wins"
    );

    // PUT back what GET returned: the order flips, and so does precedence.
    let (status, _) = c
        .put(
            &format!("/schedules/{id}"),
            json!({"schedule": {"name": "s", "time_zone": "Etc/UTC", "schedule_layers": layers}}),
        )
        .await;
    assert_eq!(status, 200);
    let layers = read(&c, &id).await;
    assert_eq!(layers[0]["name"], "A");
    assert_eq!(on_call(&c, &id).await, json!(users[0]));

    // Leave B out: it is ended at the request time and kept.
    let a = layers
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "A")
        .unwrap()
        .clone();
    let (status, _) = c
        .put(
            &format!("/schedules/{id}"),
            json!({"schedule": {"name": "s", "time_zone": "Etc/UTC", "schedule_layers": [a]}}),
        )
        .await;
    assert_eq!(status, 200);
    let layers = read(&c, &id).await;
    let layers = layers.as_array().unwrap();
    assert_eq!(layers.len(), 2, "never removed: {layers:?}");
    let b = layers.iter().find(|l| l["name"] == "B").unwrap();
    let ended = parse(&b["end"]);
    assert!((Utc::now() - ended).num_seconds().abs() <= 5, "{ended}");
    assert!(layers.iter().find(|l| l["name"] == "A").unwrap()["end"].is_null());

    // Ended, B pages nobody even when it would rank first: send B then A, so B
    // ranks lowest... and A then B, so it ranks highest.
    let b = b.clone();
    let a = layers.iter().find(|l| l["name"] == "A").unwrap().clone();
    c.put(
        &format!("/schedules/{id}"),
        json!({"schedule": {"name": "s", "time_zone": "Etc/UTC", "schedule_layers": [a, b]}}),
    )
    .await;
    assert_eq!(read(&c, &id).await[0]["name"], "B", "B ranks highest");
    assert_eq!(
        on_call(&c, &id).await,
        json!(users[0]),
        "an ended layer is ignored after its end"
    );
}

#[tokio::test]
async fn a_lenient_put_removes_left_out_layers() {
    let (_e, c) = Client::start(Config::default()).await;
    let users = c.users().await;
    let start = "2024-01-01T00:00:00Z";
    let id = c
        .create(
            "/schedules",
            json!({"schedule": {"name": "s", "time_zone": "Etc/UTC", "schedule_layers": [
                layer("A", start, &[&users[0]]), layer("B", start, &[&users[1]]),
            ]}}),
        )
        .await;
    let (_, body) = c.get(&format!("/schedules/{id}")).await;
    let layers = &body["schedule"]["schedule_layers"];
    assert_eq!(layers[0]["name"], "A", "request order");
    let a = layers[0].clone();
    c.put(
        &format!("/schedules/{id}"),
        json!({"schedule": {"name": "s", "time_zone": "Etc/UTC", "schedule_layers": [a]}}),
    )
    .await;
    let (_, body) = c.get(&format!("/schedules/{id}")).await;
    assert_eq!(
        body["schedule"]["schedule_layers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn names_are_unique_except_for_schedules() {
    let (_e, c) = Client::start(Config::strict()).await;
    let users = c.users().await;
    let schedule = |name: &str| {
        json!({"schedule": {"name": name, "time_zone": "Etc/UTC", "schedule_layers": [
            layer("l", "2030-01-01T00:00:00Z", &[&users[0]])]}})
    };
    c.create("/schedules", schedule("same")).await;
    c.create("/schedules", schedule("same")).await;
    let policy = |name: &str| {
        json!({"escalation_policy": {"name": name, "escalation_rules": [
            {"escalation_delay_in_minutes": 30, "targets": [{"id": users[0], "type": "user_reference"}]}]}})
    };
    let ep = c.create("/escalation_policies", policy("ep")).await;
    let service = |name: &str| json!({"service": {"name": name, "escalation_policy": {"id": ep, "type": "escalation_policy_reference"}}});
    let cases = [
        (
            "teams",
            json!({"team": {"name": "t"}}),
            json!({"team": {"name": "t2"}}),
        ),
        (
            "business_services",
            json!({"business_service": {"name": "b"}}),
            json!({"business_service": {"name": "b2"}}),
        ),
        ("escalation_policies", policy("ep"), policy("ep2")),
        ("services", service("svc"), service("svc2")),
    ];
    for (collection, first, other) in cases {
        if collection != "escalation_policies" {
            c.create(&format!("/{collection}"), first.clone()).await;
        }
        let (status, body) = c.post(&format!("/{collection}"), first.clone()).await;
        assert_eq!(status, 400, "{collection}: {body}");
        assert_eq!(body["error"]["code"], 2001);
        assert_eq!(error_reason(&body), "Name has already been taken");
        // A rename onto a taken name is refused too.
        let second = c.create(&format!("/{collection}"), other).await;
        let (status, body) = c.put(&format!("/{collection}/{second}"), first).await;
        assert_eq!(status, 400, "rename {collection}: {body}");
        assert_eq!(error_reason(&body), "Name has already been taken");
    }

    let (_e, lenient) = Client::start(Config::default()).await;
    lenient
        .create("/teams", json!({"team": {"name": "t"}}))
        .await;
    lenient
        .create("/teams", json!({"team": {"name": "t"}}))
        .await;
}

/// A team, three members, a schedule naming user 2, and a policy on the team
/// targeting user 1 directly and the schedule. Returns (team, policy, users).
async fn team_with_policy(c: &Client) -> (String, String, Vec<String>) {
    let users = c.users().await;
    let team = c.create("/teams", json!({"team": {"name": "t"}})).await;
    for user in &users {
        let (status, _) = c
            .put(
                &format!("/teams/{team}/users/{user}"),
                json!({"role": "responder"}),
            )
            .await;
        assert_eq!(status, 204);
    }
    let schedule = c
        .create(
            "/schedules",
            json!({"schedule": {"name": "s", "time_zone": "Etc/UTC", "schedule_layers": [
                layer("l", "2030-01-01T00:00:00Z", &[&users[1]])]}}),
        )
        .await;
    let policy = c
        .create(
            "/escalation_policies",
            json!({"escalation_policy": {"name": "ep", "teams": [{"id": team, "type": "team_reference"}],
                "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": [
                    {"id": users[0], "type": "user_reference"},
                    {"id": schedule, "type": "schedule_reference"}]}]}}),
        )
        .await;
    (team, policy, users)
}

/// `create_incidents` is deprecated: PagerDuty migrates the service and reads it
/// back as `create_alerts_and_incidents` (Service.alert_creation).
#[tokio::test]
async fn alert_creation_is_migrated() {
    let (_e, c) = Client::start(Config::strict()).await;
    let (_, policy, _) = team_with_policy(&c).await;
    let service = c
        .create(
            "/services",
            json!({"service": {"name": "svc", "alert_creation": "create_incidents",
                "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}}),
        )
        .await;
    assert_eq!(
        read_service(&c, &service).await["alert_creation"],
        "create_alerts_and_incidents"
    );
}

async fn read_service(c: &Client, id: &str) -> Value {
    c.get(&format!("/services/{id}")).await.1["service"].clone()
}

#[tokio::test]
async fn a_member_on_a_policy_of_the_team_cannot_be_removed() {
    let (_e, c) = Client::start(Config::strict()).await;
    let (team, policy, users) = team_with_policy(&c).await;
    for user in &users[..2] {
        let (status, body) = c.delete(&format!("/teams/{team}/users/{user}")).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], 2001);
        assert_eq!(body["error"]["message"], "Invalid Input Provided");
        assert_eq!(
            error_reason(&body),
            "User cannot be removed as they belong to an escalation policy on this team"
        );
    }
    let (status, _) = c.delete(&format!("/teams/{team}/users/{}", users[2])).await;
    assert_eq!(status, 204, "user 3 is on no policy of the team");
    assert_eq!(
        c.delete(&format!("/escalation_policies/{policy}")).await.0,
        204
    );
    for user in &users[..2] {
        let (status, body) = c.delete(&format!("/teams/{team}/users/{user}")).await;
        assert_eq!(status, 204, "{body}");
    }

    let (_e, lenient) = Client::start(Config::default()).await;
    let (team, _, users) = team_with_policy(&lenient).await;
    let (status, _) = lenient
        .delete(&format!("/teams/{team}/users/{}", users[0]))
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn a_team_with_associations_cannot_be_deleted() {
    let (_e, c) = Client::start(Config::strict()).await;
    let (team, policy, _) = team_with_policy(&c).await;
    let users = c.users().await;
    let schedule = c
        .create(
            "/schedules",
            json!({"schedule": {"name": "owned", "time_zone": "Etc/UTC", "teams": [{"id": team, "type": "team_reference"}],
                "schedule_layers": [layer("l", "2030-01-01T00:00:00Z", &[&users[0]])]}}),
        )
        .await;
    let sub = c
        .create(
            "/teams",
            json!({"team": {"name": "sub", "parent": {"id": team, "type": "team_reference"}}}),
        )
        .await;
    let (status, body) = c
        .delete(&format!("/teams/{team}?reassignment_team={sub}"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], 6006);
    assert_eq!(body["error"]["message"], "Team has existing associations");
    let reasons: Vec<&str> = body["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "Cannot delete team with existing Escalation Policies association(s)",
            "Cannot delete team with existing Schedules association(s)",
            "Cannot delete team with existing Subteams association(s)",
        ]
    );
    for path in [
        format!("/escalation_policies/{policy}"),
        format!("/schedules/{schedule}"),
        format!("/teams/{sub}"),
    ] {
        assert_eq!(c.delete(&path).await.0, 204, "{path}");
    }
    assert_eq!(c.delete(&format!("/teams/{team}")).await.0, 204);

    let (_e, lenient) = Client::start(Config::default()).await;
    let (team, _, _) = team_with_policy(&lenient).await;
    assert_eq!(lenient.delete(&format!("/teams/{team}")).await.0, 204);
}

#[tokio::test]
async fn a_policy_or_schedule_in_use_cannot_be_deleted() {
    let (_e, c) = Client::start(Config::strict()).await;
    let (_, policy, _) = team_with_policy(&c).await;
    let (_, body) = c.get(&format!("/escalation_policies/{policy}")).await;
    let schedule = body["escalation_policy"]["escalation_rules"][0]["targets"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = c.delete(&format!("/schedules/{schedule}")).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_reason(&body),
        "Schedule can't be deleted if it's being used by escalation policies"
    );
    let service = c
        .create(
            "/services",
            json!({"service": {"name": "svc", "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}}),
        )
        .await;
    let (status, body) = c.delete(&format!("/escalation_policies/{policy}")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], 2001);
    for path in [
        format!("/services/{service}"),
        format!("/escalation_policies/{policy}"),
        format!("/schedules/{schedule}"),
    ] {
        assert_eq!(c.delete(&path).await.0, 204, "{path}");
    }
}

#[tokio::test]
async fn new_objects_are_invisible_and_old_uses_linger_for_the_delay() {
    let delay = Duration::from_millis(400);
    let (_e, c) = Client::start(Config {
        consistency_delay: delay,
        ..Config::strict()
    })
    .await;
    let users = c.users().await;
    let team = c.create("/teams", json!({"team": {"name": "t"}})).await;
    assert_eq!(
        c.get(&format!("/teams/{team}")).await.0,
        404,
        "just created"
    );
    assert_eq!(c.get("/teams").await.1["teams"], json!([]));
    c.put(
        &format!("/teams/{team}/users/{}", users[0]),
        json!({"role": "manager"}),
    )
    .await;
    tokio::time::sleep(delay + Duration::from_millis(100)).await;
    assert_eq!(c.get(&format!("/teams/{team}")).await.0, 200);
    assert_eq!(c.get("/teams").await.1["teams"][0]["id"], json!(team));
    assert_eq!(
        c.get(&format!("/teams/{team}/members")).await.1["members"][0]["user"]["id"],
        json!(users[0])
    );

    // A policy whose last service went away (deleted, or moved to another
    // policy) is still in use for the delay.
    let policy = |name: &str| {
        json!({"escalation_policy": {"name": name, "escalation_rules": [
            {"escalation_delay_in_minutes": 30, "targets": [{"id": users[0], "type": "user_reference"}]}]}})
    };
    let ep1 = c.create("/escalation_policies", policy("ep1")).await;
    let ep2 = c.create("/escalation_policies", policy("ep2")).await;
    let reference = |ep: &str| json!({"id": ep, "type": "escalation_policy_reference"});
    let service = c
        .create(
            "/services",
            json!({"service": {"name": "svc", "escalation_policy": reference(&ep1)}}),
        )
        .await;
    let (status, _) = c
        .put(
            &format!("/services/{service}"),
            json!({"service": {"escalation_policy": reference(&ep2)}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        c.delete(&format!("/escalation_policies/{ep1}")).await.0,
        400,
        "moved away a moment ago"
    );
    assert_eq!(c.delete(&format!("/services/{service}")).await.0, 204);
    assert_eq!(
        c.delete(&format!("/escalation_policies/{ep2}")).await.0,
        400,
        "deleted a moment ago"
    );
    tokio::time::sleep(delay + Duration::from_millis(100)).await;
    for ep in [ep1, ep2] {
        assert_eq!(c.delete(&format!("/escalation_policies/{ep}")).await.0, 204);
    }

    // Without the delay, both are visible at once.
    let (_e, prompt) = Client::start(Config::strict()).await;
    let team = prompt
        .create("/teams", json!({"team": {"name": "t"}}))
        .await;
    assert_eq!(prompt.get(&format!("/teams/{team}")).await.0, 200);
}

/// Outcomes of `n` team creates: 201, 500, or None (cut off).
async fn outcomes(config: Config, n: usize) -> (Vec<Option<u16>>, usize, (u64, u64)) {
    let (e, c) = Client::start(config).await;
    let mut seen = Vec::new();
    for i in 0..n {
        let answer = c
            .try_send(
                reqwest::Method::POST,
                "/teams",
                Some(json!({"team": {"name": format!("team-{i}")}})),
            )
            .await;
        seen.push(answer.map(|(status, _)| status));
        // Reads are never made ambiguous.
        assert_eq!(c.get("/abilities").await.0, 200);
    }
    let teams = e.with_db(|db| db.list("teams").len());
    (seen, teams, e.ambiguous_counts())
}

#[tokio::test]
async fn ambiguous_failures_are_carried_out_and_repeatable() {
    // Every mutating request: carried out, then answered 500 or cut off.
    let (seen, teams, (answered, cut)) = outcomes(
        Config {
            ambiguous_rate: 1.0,
            ..Config::default()
        },
        12,
    )
    .await;
    assert_eq!(teams, 12, "every create landed: {seen:?}");
    assert!(
        seen.iter().all(|s| *s == Some(500) || s.is_none()),
        "{seen:?}"
    );
    assert!(answered > 0 && cut > 0, "both forms: {answered} / {cut}");
    assert_eq!(
        seen.iter().filter(|s| s.is_none()).count() as u64,
        cut,
        "a cut-off is no answer at all"
    );

    // A fraction, in a sequence fixed by the seed.
    let config = |seed| Config {
        ambiguous_rate: 0.3,
        ambiguous_seed: seed,
        ..Config::default()
    };
    let (first, _, _) = outcomes(config(7), 30).await;
    let (again, _, _) = outcomes(config(7), 30).await;
    let (other, _, _) = outcomes(config(8), 30).await;
    assert_eq!(first, again, "the same seed, the same failures");
    assert_ne!(first, other, "another seed, other failures");
    let failed = first.iter().filter(|s| **s != Some(201)).count();
    assert!((3..=18).contains(&failed), "about 30%: {failed} of 30");
}

async fn associate(c: &Client, business: &str, service: &str) -> u16 {
    c.post(
        "/service_dependencies/associate",
        json!({"relationships": [{
            "supporting_service": {"id": service, "type": "service"},
            "dependent_service": {"id": business, "type": "business_service"}}]}),
    )
    .await
    .0
}

#[tokio::test]
async fn overlapping_associations_answer_500() {
    for strict in [true, false] {
        let (_e, c) = Client::start(Config {
            strict,
            latency: Duration::from_millis(300),
            ..Config::default()
        })
        .await;
        let users = c.users().await;
        let ep = c
            .create(
                "/escalation_policies",
                json!({"escalation_policy": {"name": "ep", "escalation_rules": [
                    {"escalation_delay_in_minutes": 30, "targets": [{"id": users[0], "type": "user_reference"}]}]}}),
            )
            .await;
        let business = c
            .create(
                "/business_services",
                json!({"business_service": {"name": "b"}}),
            )
            .await;
        let mut services = Vec::new();
        for name in ["s1", "s2"] {
            services.push(
                c.create(
                    "/services",
                    json!({"service": {"name": name, "escalation_policy": {"id": ep, "type": "escalation_policy_reference"}}}),
                )
                .await,
            );
        }
        let (a, b) = tokio::join!(
            associate(&c, &business, &services[0]),
            associate(&c, &business, &services[1])
        );
        let mut statuses = [a, b];
        statuses.sort();
        if strict {
            assert_eq!(statuses, [200, 500], "one in flight, the other refused");
            // One at a time, both pass.
            assert_eq!(associate(&c, &business, &services[0]).await, 200);
            assert_eq!(associate(&c, &business, &services[1]).await, 200);
        } else {
            assert_eq!(statuses, [200, 200]);
        }
        let (_, body) = c
            .get(&format!(
                "/service_dependencies/business_services/{business}"
            ))
            .await;
        assert_eq!(body["relationships"].as_array().unwrap().len(), 2);
    }
}

/// PagerDuty takes its own list of time zones, not every IANA name: `UTC` and
/// `Europe/Kyiv` are refused by the strict emulator (`Etc/UTC` and `Europe/Kiev`
/// are on the list); the lenient one takes any IANA name.
#[tokio::test]
async fn time_zones_outside_pagerdutys_list_are_refused() {
    for strict in [true, false] {
        let (_e, c) = Client::start(Config {
            strict,
            ..Config::default()
        })
        .await;
        let users = c.users().await;
        for (zone, listed) in [
            ("UTC", false),
            ("Europe/Kyiv", false),
            ("Etc/UTC", true),
            ("Europe/Kiev", true),
        ] {
            let (status, body) = c
                .post(
                    "/schedules",
                    json!({"schedule": {"name": zone, "time_zone": zone, "schedule_layers": [
                        layer("l", "2030-01-01T00:00:00Z", &[&users[0]]),
                    ]}}),
                )
                .await;
            if strict && !listed {
                assert_eq!(status, 400, "{zone}: {body}");
                assert_eq!(
                    error_reason(&body),
                    format!("Time zone {zone:?} is not a valid time zone")
                );
            } else {
                assert_eq!(status, 201, "{zone} (strict: {strict}): {body}");
            }
        }
    }
}
