// Handlers return `Result<Response, Response>` (axum's idiom: the error *is* the
// response), so a large `Err` is by design.
#![allow(clippy::result_large_err)]

//! Webhook subscriptions (`/webhook_subscriptions`) and their deliveries, as
//! PagerDuty documents them:
//! - rest-openapiv3.json, `WebhookSubscription` and its operations: `events`
//!   has at least one item, each once; `filter.type` is `account_reference`,
//!   `service_reference` or `team_reference`, and `filter.id` "is required for
//!   all filter types except account_reference"; the list filters by
//!   `filter_type`/`filter_id`; `delivery_method.secret` is "only provided on
//!   the initial create response"; PUT "does not support updating the
//!   `delivery_method`"; `/{id}/ping` "will deliver the `pagey.ping` webhook
//!   event"; an inactive subscription sends nothing ("If false, a webhook will
//!   not be sent").
//! - developer.pagerduty.com/docs/webhooks/v3-overview: the payload is
//!   `{"event": {id, event_type, resource_type, occurred_at, agent, client,
//!   data}}`, POSTed with `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the
//!   body, keyed by the secret>`, `X-Webhook-Id` and `X-Webhook-Subscription`.
//!
//! Deliveries leave from an outbox that a task of the emulator drains when
//! woken (a delivery never holds the state's lock); each attempt is recorded
//! (`/_emulator/state`'s `webhook_deliveries`). Not modelled: retries of a
//! failed delivery, `temporarily_disabled`, OAuth clients, custom headers'
//! redaction (the provider does not send them), `service.*` events.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::App;
use crate::db::Db;
use crate::rest::{self, Reply};

const COLLECTION: &str = "webhook_subscriptions";
const FILTERS: &[&str] = &["account_reference", "service_reference", "team_reference"];

/// One POST waiting to leave.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub subscription: String,
    pub url: String,
    pub secret: String,
    pub event_id: String,
    pub event_type: String,
    pub body: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `v1=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    format!("v1={}", hex(&mac.finalize().into_bytes()))
}

fn validate(db: &Db, input: &Value, creating: bool) -> Result<(), axum::response::Response> {
    let mut errors = Vec::new();
    if creating {
        if input["type"] != "webhook_subscription" {
            errors.push("Type must be webhook_subscription".to_owned());
        }
        let method = &input["delivery_method"];
        if method["type"] != "http_delivery_method" {
            errors.push("Delivery method type must be http_delivery_method".to_owned());
        }
        let url = method["url"].as_str().unwrap_or_default();
        if reqwest::Url::parse(url).is_err() {
            errors.push(format!("Delivery method url {url:?} is not a valid URL"));
        }
    } else if input.get("delivery_method").is_some() {
        errors.push("Updating the delivery_method is not supported".to_owned());
    }
    if creating || input.get("events").is_some() {
        let events: Vec<&str> = input["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if events.is_empty() {
            errors.push("Events must have at least one item".to_owned());
        }
        let mut seen = std::collections::BTreeSet::new();
        for event in &events {
            if !seen.insert(*event) {
                errors.push(format!("Events must be unique ({event})"));
            } else if !blueprint_model::webhook_events::known(event) {
                errors.push(format!("Event {event} is not a valid event type"));
            }
        }
    }
    if creating || input.get("filter").is_some() {
        let filter = &input["filter"];
        let kind = filter["type"].as_str().unwrap_or_default();
        let id = filter["id"].as_str();
        if !FILTERS.contains(&kind) {
            errors.push(format!("Filter type {kind:?} is not valid"));
        }
        let target = match kind {
            "service_reference" => Some("services"),
            "team_reference" => Some("teams"),
            _ => None,
        };
        if let Some(collection) = target {
            match id {
                None => errors.push(format!("Filter id is required for {kind}")),
                Some(id) if db.get(collection, id).is_none() => {
                    errors.push(format!("Filter {kind} {id} not found"))
                }
                Some(_) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(rest::invalid(errors))
    }
}

/// The stored subscription (`secret` null: it is shown once).
fn stored(db: &Db, id: &str, input: &Value, existing: Option<&Value>) -> Value {
    let field = |key: &str| match (input.get(key), existing) {
        (Some(v), _) => v.clone(),
        (None, Some(e)) => e[key].clone(),
        (None, None) => Value::Null,
    };
    let url = existing.map_or_else(
        || input["delivery_method"]["url"].clone(),
        |e| e["delivery_method"]["url"].clone(),
    );
    let filter = field("filter");
    json!({
        "id": id,
        "type": "webhook_subscription",
        "summary": field("description"),
        "active": field("active").as_bool().unwrap_or(true),
        "delivery_method": {
            "id": existing.map_or_else(|| json!(format!("D{id}")), |e| e["delivery_method"]["id"].clone()),
            "type": "http_delivery_method",
            "url": url,
            "secret": null,
            "temporarily_disabled": false,
            "custom_headers": [],
        },
        "description": field("description").as_str().unwrap_or_default(),
        "events": field("events"),
        "filter": {"type": filter["type"], "id": filter.get("id").cloned().unwrap_or(Value::Null)},
        "self": format!("{}/{COLLECTION}/{id}", db.base_url),
    })
}

pub async fn create(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Reply {
    let input = rest::body_of(&body, "webhook_subscription")?;
    let mut db = rest::lock(&app);
    validate(&db, input, true)?;
    let id = db.id();
    let subscription = stored(&db, &id, input, None);
    db.insert(COLLECTION, subscription.clone());
    let mut seed = Sha256::new();
    seed.update(format!(
        "{id}{:?}{}",
        std::time::SystemTime::now(),
        db.now_text()
    ));
    let secret = hex(&seed.finalize())[..32].to_owned();
    db.webhook_secrets.insert(id, secret.clone());
    let mut shown = subscription;
    shown["delivery_method"]["secret"] = json!(secret);
    rest::created(json!({ "webhook_subscription": shown }))
}

pub async fn get(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let db = rest::lock(&app);
    let subscription = db
        .get(COLLECTION, &id)
        .cloned()
        .ok_or_else(rest::not_found_error)?;
    rest::ok(json!({ "webhook_subscription": subscription }))
}

pub async fn list(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Reply {
    let query = rest::pairs(&query);
    let kind = rest::one(&query, "filter_type");
    let id = rest::one(&query, "filter_id");
    let db = rest::lock(&app);
    let items: Vec<Value> = db
        .list(COLLECTION)
        .into_iter()
        .filter(|s| kind.as_ref().is_none_or(|k| s["filter"]["type"] == *k))
        .filter(|s| id.as_ref().is_none_or(|i| s["filter"]["id"] == *i))
        .collect();
    rest::paginate(COLLECTION, items, &query)
}

pub async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let input = rest::body_of(&body, "webhook_subscription")?;
    let mut db = rest::lock(&app);
    let existing = db
        .get(COLLECTION, &id)
        .cloned()
        .ok_or_else(rest::not_found_error)?;
    validate(&db, input, false)?;
    let subscription = stored(&db, &id, input, Some(&existing));
    db.insert(COLLECTION, subscription.clone());
    rest::ok(json!({ "webhook_subscription": subscription }))
}

pub async fn delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let mut db = rest::lock(&app);
    let removed = db.objects.get_mut(COLLECTION).and_then(|c| c.remove(&id));
    if removed.is_none() {
        return Err(rest::not_found_error());
    }
    db.webhook_secrets.remove(&id);
    rest::no_content()
}

/// `pagey.ping` to this subscription alone.
pub async fn ping(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let mut db = rest::lock(&app);
    let subscription = db
        .get(COLLECTION, &id)
        .cloned()
        .ok_or_else(rest::not_found_error)?;
    let data = json!({"type": "ping", "message": "Hello from your friend Pagey!"});
    queue(&mut db, &subscription, "pagey.ping", "pagey", data);
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::ACCEPTED,
    ))
}

/// Whether `subscription` covers events of `service`.
fn covers(db: &Db, subscription: &Value, service: &str) -> bool {
    let filter = &subscription["filter"];
    match filter["type"].as_str() {
        Some("account_reference") => true,
        Some("service_reference") => filter["id"] == service,
        Some("team_reference") => {
            let policy = db
                .get("services", service)
                .and_then(|s| s["escalation_policy"]["id"].as_str())
                .and_then(|p| db.get("escalation_policies", p));
            policy.is_some_and(|p| {
                p["teams"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["id"] == filter["id"])
            })
        }
        _ => false,
    }
}

fn queue(db: &mut Db, subscription: &Value, event_type: &str, resource_type: &str, data: Value) {
    let id = subscription["id"].as_str().unwrap_or_default().to_owned();
    let Some(secret) = db.webhook_secrets.get(&id).cloned() else {
        return;
    };
    db.webhook_events += 1;
    let event_id = format!("01{:024X}", db.webhook_events);
    let body = json!({"event": {
        "id": event_id,
        "event_type": event_type,
        "resource_type": resource_type,
        "occurred_at": db.now_text(),
        "agent": null,
        "client": null,
        "data": data,
    }})
    .to_string();
    db.webhook_outbox.push(Delivery {
        subscription: id,
        url: subscription["delivery_method"]["url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        secret,
        event_id,
        event_type: event_type.to_owned(),
        body,
    });
    db.webhooks_waiting.notify_one();
}

/// An incident event (`incident.triggered`, `.acknowledged`, `.resolved`) to
/// every active subscription that asks for it and covers its service.
pub fn incident_event(db: &mut Db, event_type: &str, incident_id: &str) {
    let Some(incident) = db.incidents.get(incident_id).cloned() else {
        return;
    };
    let service = incident["service"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let assignees: Vec<Value> = incident["assignments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["assignee"].clone())
        .collect();
    let data = json!({
        "id": incident["id"],
        "type": "incident",
        "self": incident["self"],
        "html_url": incident["html_url"],
        "number": incident["incident_number"],
        "status": incident["status"],
        "incident_key": incident["incident_key"],
        "created_at": incident["created_at"],
        "title": incident["title"],
        "service": incident["service"],
        "assignees": assignees,
        "escalation_policy": incident["escalation_policy"],
        "urgency": incident["urgency"],
    });
    let subscriptions: Vec<Value> = db
        .list(COLLECTION)
        .into_iter()
        .filter(|s| s["active"] != false)
        .filter(|s| {
            s["events"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e == event_type))
        })
        .filter(|s| covers(db, s, &service))
        .collect();
    for subscription in subscriptions {
        queue(db, &subscription, event_type, "incident", data.clone());
    }
}

/// Send what is waiting, outside the lock; record each attempt.
pub async fn deliver(app: &App) {
    let waiting = std::mem::take(&mut rest::lock(app).webhook_outbox);
    for d in waiting {
        let sent = app
            .http
            .post(&d.url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "PagerDuty-Webhook/V3.0")
            .header("X-PagerDuty-Signature", signature(&d.secret, &d.body))
            .header("X-Webhook-Id", &d.event_id)
            .header("X-Webhook-Subscription", &d.subscription)
            .body(d.body.clone())
            .send()
            .await;
        let outcome = match sent {
            Ok(r) => json!({"status": r.status().as_u16()}),
            Err(e) => json!({"error": e.to_string()}),
        };
        let mut db = rest::lock(app);
        let at = db.now_text();
        db.webhook_deliveries.push(json!({
            "subscription": d.subscription, "event_type": d.event_type,
            "event_id": d.event_id, "at": at, "outcome": outcome,
        }));
    }
}
