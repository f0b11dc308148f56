//! The emulator over HTTP, as a client sees it: auth, errors, pagination, on-call
//! computed from an hourly rotation at controlled clock times, CloudWatch alarms
//! via SNS opening/deduplicating/resolving incidents, Events v2, rate limits.

use std::time::Duration;

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
                ..config
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let client = Client {
            http: reqwest::Client::new(),
            base: emulator.base_url(),
        };
        (emulator, client)
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Token token={TOKEN}"))
            .header("Accept", "application/vnd.pagerduty+json;version=2")
            .header("From", "user1@example.com");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.send(reqwest::Method::POST, path, Some(body)).await;
        assert!(
            status == 201 || status == 200,
            "POST {path}: {status} {body}"
        );
        body
    }

    async fn sns(&self, key: &str, alarm: &str, state: &str) -> u16 {
        let message = json!({"AlarmName": alarm, "NewStateValue": state, "NewStateReason": "test"});
        self.http
            .post(format!("{}/integration/{key}/enqueue", self.base))
            .header("x-amz-sns-message-type", "Notification")
            .body(json!({"Type": "Notification", "Message": message.to_string()}).to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Team-less seed: two users on an hourly Asia/Tokyo rotation, a policy on it,
/// a service with a CloudWatch integration. Returns (schedule id, service id, key).
async fn seed(c: &Client) -> (String, String, String, Vec<String>) {
    let users: Vec<String> = c.get("/users").await["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    let schedule = c
        .post("/schedules", json!({"schedule": {"name": "Hourly", "time_zone": "Asia/Tokyo", "schedule_layers": [{
            "name": "l", "start": "2023-09-16T00:00:00+09:00", "rotation_virtual_start": "2023-09-16T00:00:00+09:00",
            "rotation_turn_length_seconds": 3600,
            "users": [{"user": {"id": users[0], "type": "user_reference"}}, {"user": {"id": users[1], "type": "user_reference"}}]}]}}))
        .await["schedule"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = c
        .post("/escalation_policies", json!({"escalation_policy": {"name": "EP", "num_loops": 2, "escalation_rules": [{
            "escalation_delay_in_minutes": 30, "targets": [{"id": schedule, "type": "schedule_reference"}]}]}}))
        .await["escalation_policy"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let service = c
        .post("/services", json!({"service": {"name": "svc", "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}}}))
        .await["service"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vendors = c.get("/vendors?limit=100").await;
    let cloudwatch = vendors["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "Amazon CloudWatch")
        .unwrap()["id"]
        .clone();
    let key = c
        .post(
            &format!("/services/{service}/integrations"),
            json!({"integration": {"vendor": {"id": cloudwatch, "type": "vendor_reference"}}}),
        )
        .await["integration"]["integration_key"]
        .as_str()
        .unwrap()
        .to_owned();
    (schedule, service, key, users)
}

async fn at(c: &Client, now: &str) {
    c.post("/_emulator/clock", json!({"now": now})).await;
}

#[tokio::test]
async fn unauthorised_requests_get_pagerduty_errors() {
    let (_e, c) = Client::start(Config::default()).await;
    let response = c
        .http
        .get(format!("{}/teams", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 2006);
    let (status, body) = c
        .send(
            reqwest::Method::POST,
            "/teams",
            Some(json!({"team": {"nam": "x"}})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["errors"][0], "Name cannot be empty.");
    let (status, _) = c.send(reqwest::Method::GET, "/teams/PNOPE00", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn lists_paginate() {
    let (_e, c) = Client::start(Config::default()).await;
    for i in 0..30 {
        c.post("/teams", json!({"team": {"name": format!("team-{i:02}")}}))
            .await;
    }
    let first = c.get("/teams?limit=25&total=true").await;
    assert_eq!(first["teams"].as_array().unwrap().len(), 25);
    assert_eq!(first["more"], true);
    assert_eq!(first["total"], 30);
    let second = c.get("/teams?limit=25&offset=25").await;
    assert_eq!(second["teams"].as_array().unwrap().len(), 5);
    assert_eq!(second["more"], false);
    let (status, _) = c
        .send(reqwest::Method::GET, "/teams?limit=1000", None)
        .await;
    assert_eq!(status, 400);
    // Offset pagination ends at 10,000 results.
    let (status, _) = c
        .send(reqwest::Method::GET, "/teams?limit=100&offset=9900", None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = c
        .send(reqwest::Method::GET, "/teams?limit=100&offset=9901", None)
        .await;
    assert_eq!(status, 400);
    assert!(
        body.to_string().contains("less than or equal to 10000"),
        "{body}"
    );
}

#[tokio::test]
async fn on_call_follows_the_hourly_rotation() {
    let (_e, c) = Client::start(Config::default()).await;
    let (schedule, _, _, users) = seed(&c).await;
    for (now, expected) in [
        ("2023-09-16T00:10:00+09:00", 0),
        ("2023-09-16T01:30:00+09:00", 1),
        ("2023-09-16T02:10:00+09:00", 0),
        ("2023-09-17T05:59:59+09:00", 1),
    ] {
        at(&c, now).await;
        let oncalls = c.get(&format!("/oncalls?schedule_ids[]={schedule}")).await;
        assert_eq!(
            oncalls["oncalls"][0]["user"]["id"],
            json!(users[expected]),
            "at {now}"
        );
    }
}

#[tokio::test]
async fn alarms_page_the_on_call_user_once_and_ok_resolves() {
    let (_e, c) = Client::start(Config::default()).await;
    let (_, service, key, users) = seed(&c).await;
    at(&c, "2023-09-16T01:30:00+09:00").await;
    assert_eq!(c.sns(&key, "fn-errors", "ALARM").await, 200);
    assert_eq!(c.sns(&key, "fn-errors", "ALARM").await, 200, "a repeat");
    let open = c
        .get(&format!(
            "/incidents?service_ids[]={service}&statuses[]=triggered&date_range=all"
        ))
        .await;
    let incidents = open["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "deduplicated per alarm: {incidents:?}");
    assert_eq!(
        incidents[0]["assignments"][0]["assignee"]["id"],
        json!(users[1])
    );
    assert_eq!(c.sns(&key, "fn-errors", "OK").await, 200);
    let resolved = c
        .get(&format!(
            "/incidents?service_ids[]={service}&statuses[]=resolved&date_range=all"
        ))
        .await;
    assert_eq!(resolved["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(
        c.sns("0123456789abcdef0123456789abcdef", "x", "ALARM")
            .await,
        404
    );
}

#[tokio::test]
async fn events_v2_trigger_and_resolve() {
    let (_e, c) = Client::start(Config::default()).await;
    let (_, service, key, _) = seed(&c).await;
    let send = |body: Value| {
        let c = &c;
        async move {
            let r = c
                .http
                .post(format!("{}/v2/enqueue", c.base))
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send(
        json!({"routing_key": key, "event_action": "trigger", "dedup_key": "d1",
        "payload": {"summary": "disk full", "source": "host1", "severity": "critical"}}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["dedup_key"], "d1");
    let (status, body) =
        send(json!({"routing_key": key, "event_action": "trigger", "payload": {"summary": "x"}}))
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("severity"))
    );
    send(json!({"routing_key": key, "event_action": "resolve", "dedup_key": "d1"})).await;
    let incidents = c
        .get(&format!(
            "/incidents?service_ids[]={service}&date_range=all"
        ))
        .await;
    assert_eq!(incidents["incidents"][0]["status"], "resolved");
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers() {
    let (_e, c) = Client::start(Config {
        rate_limit_per_minute: Some(2),
        rate_window: Duration::from_secs(60),
        ..Config::default()
    })
    .await;
    for _ in 0..2 {
        c.get("/abilities").await;
    }
    let response = c
        .http
        .get(format!("{}/abilities", c.base))
        .header("Authorization", format!("Token token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["ratelimit-limit"], "2");
    assert_eq!(response.headers()["ratelimit-remaining"], "0");
    assert!(
        response.headers()["ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn injected_faults_answer_500() {
    let (_e, c) = Client::start(Config {
        fail_rate: 1.0,
        ..Config::default()
    })
    .await;
    let (status, body) = c.send(reqwest::Method::GET, "/abilities", None).await;
    assert_eq!(status, 500);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("injected")
    );
}
