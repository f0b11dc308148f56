//! The events side: what Amazon SNS posts to a CloudWatch integration
//! (`/integration/{key}/enqueue`), and Events API v2 (`/v2/enqueue`). Both open,
//! deduplicate and resolve incidents on the integration's service, assigned to
//! whoever is on call now.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::App;
use crate::db::Db;

fn rejected(status: StatusCode, message: &str, errors: Vec<String>) -> Response {
    (
        status,
        Json(json!({"status": "invalid event", "message": message, "errors": errors})),
    )
        .into_response()
}

/// A new incident's urgency by the service's `incident_urgency_rule`: constant
/// (PagerDuty's default: high), or by whether `now` falls within its
/// `support_hours` — on one of `days_of_week` (1 Monday .. 7 Sunday), from
/// `start_time` to `end_time`, in `time_zone` (the OpenAPI document's
/// IncidentUrgencyRule and SupportHours). `severity_based` takes the alert's
/// severity: critical and error are high, warning and info low (PagerDuty's
/// "Dynamic Notifications": "severity-based urgency").
pub fn urgency_now(service: &Value, now: chrono::DateTime<chrono::Utc>, severity: &str) -> String {
    use chrono::{Datelike, NaiveTime};
    let rule = &service["incident_urgency_rule"];
    let constant = |r: &Value| match r["urgency"].as_str() {
        Some("low") => "low".to_owned(),
        Some("severity_based") if matches!(severity, "warning" | "info") => "low".to_owned(),
        _ => "high".to_owned(),
    };
    if rule["type"] != "use_support_hours" {
        return constant(rule);
    }
    let hours = &service["support_hours"];
    let tz: chrono_tz::Tz = hours["time_zone"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&tz);
    let time = |key: &str| {
        hours[key]
            .as_str()
            .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M:%S").ok())
    };
    let day = u64::from(local.weekday().number_from_monday());
    let on_day = hours["days_of_week"]
        .as_array()
        .is_some_and(|days| days.iter().any(|d| d.as_u64() == Some(day)));
    let within = match (time("start_time"), time("end_time")) {
        (Some(start), Some(end)) => start <= local.time() && local.time() < end,
        _ => false,
    };
    if on_day && within {
        constant(&rule["during_support_hours"])
    } else {
        constant(&rule["outside_support_hours"])
    }
}

/// An alert on the integration's service: its orchestration decides first
/// (`orchestration::route`) whether it is suppressed, resolves, or with which
/// severity it opens an incident. `event` holds the alert's `event.*` fields.
fn alert(db: &mut Db, key: &str, dedup: &str, title: &str, event: Value) -> Option<String> {
    let service = db
        .integrations
        .values()
        .find(|i| i.key == key)?
        .service
        .clone();
    let outcome = crate::orchestration::route(
        db,
        &service,
        &crate::orchestration::Event {
            fields: event.clone(),
        },
    );
    if outcome.resolve {
        return resolve(db, key, dedup);
    }
    if outcome.suppress {
        let now = db.now_text();
        db.suppressed_alerts.push(json!({
            "service": service, "dedup_key": dedup, "summary": title,
            "rules": outcome.matched, "created_at": now,
        }));
        return None;
    }
    let severity = outcome
        .severity
        .or_else(|| event["severity"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "critical".to_owned());
    // A trigger for an open alert's dedup key is that alert again.
    if let Some(open) = db.dedup.get(&(key.to_owned(), dedup.to_owned())) {
        return Some(open.clone());
    }
    let id = match grouped_into(db, &service, &event) {
        Some(open) => {
            db.dedup
                .insert((key.to_owned(), dedup.to_owned()), open.clone());
            open
        }
        None => trigger(db, key, dedup, title, &severity)?,
    };
    let at = db.now();
    db.alerts
        .entry(id.clone())
        .or_default()
        .push(crate::db::Alert {
            dedup: dedup.to_owned(),
            fields: event,
            at,
            resolved: false,
        });
    Some(id)
}

/// The open incident of `service` a new alert joins, by the service's
/// `alert_grouping_parameters` (the OpenAPI document's
/// TimeBasedAlertGroupingConfiguration and ContentBasedAlertGroupingConfiguration):
/// `time` — an open incident whose first alert came less than `timeout`
/// minutes ago (0 or absent: while it is open); `content_based` — an open
/// incident whose first alert has the same values at `fields` (`all` of them,
/// or `any`), its latest alert less than `time_window` seconds ago ("a rolling
/// time window ... counted from the most recently grouped alert"; 0, PagerDuty's
/// recommended window, is taken as the 24 hours a group may grow to).
/// `intelligent` is PagerDuty's model: here it groups nothing.
fn grouped_into(db: &Db, service: &str, event: &Value) -> Option<String> {
    let grouping = &db.get("services", service)?["alert_grouping_parameters"];
    let config = &grouping["config"];
    let now = db.now();
    let since = |at: chrono::DateTime<chrono::Utc>, limit: chrono::Duration| now - at < limit;
    let timeout = config["timeout"]
        .as_i64()
        .filter(|m| *m > 0)
        .map(chrono::Duration::minutes);
    let window = match config["time_window"].as_i64() {
        Some(seconds) if seconds > 0 => chrono::Duration::seconds(seconds),
        _ => chrono::Duration::hours(24),
    };
    let field = |fields: &Value, path: &str| {
        let mut v = fields;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        (!v.is_null()).then(|| v.clone())
    };
    let open = db
        .incidents
        .values()
        .filter(|i| i["service"]["id"] == service && i["status"] != "resolved");
    let mut candidates: Vec<(&Value, &[crate::db::Alert])> = open
        .filter_map(|i| {
            let alerts = db.alerts.get(i["id"].as_str()?)?;
            (!alerts.is_empty()).then_some((i, alerts.as_slice()))
        })
        .collect();
    candidates.sort_by_key(|(_, alerts)| std::cmp::Reverse(alerts[0].at));
    candidates.into_iter().find_map(|(incident, alerts)| {
        let (first, latest) = (&alerts[0], &alerts[alerts.len() - 1]);
        let joins = match grouping["type"].as_str() {
            Some("time") => timeout.is_none_or(|limit| since(first.at, limit)),
            Some("content_based") => {
                let fields: Vec<&str> = config["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let same = |path: &&str| {
                    let mine = field(event, path);
                    mine.is_some() && mine == field(&first.fields, path)
                };
                let matched = if config["aggregate"] == "any" {
                    fields.iter().any(same)
                } else {
                    !fields.is_empty() && fields.iter().all(same)
                };
                matched && since(latest.at, window)
            }
            _ => false,
        };
        joins.then(|| incident["id"].as_str().unwrap_or_default().to_owned())
    })
}

/// Open an incident for `dedup` unless one is open; returns its id.
fn trigger(db: &mut Db, key: &str, dedup: &str, title: &str, severity: &str) -> Option<String> {
    if let Some(open) = db.dedup.get(&(key.to_owned(), dedup.to_owned())) {
        return Some(open.clone());
    }
    let integration = db.integrations.values().find(|i| i.key == key)?.clone();
    let service = db.get("services", &integration.service)?.clone();
    // "No new incidents will be created for a service that is in
    // maintenance" (PagerDuty's MaintenanceWindow description).
    if crate::maintenance::in_maintenance(db, &integration.service) {
        return None;
    }
    let Some(assignee) = db.assignee_for_service(&integration.service) else {
        db.unassignable_events += 1;
        return None;
    };
    let assignee = Some(assignee);
    let number = db.next_incident_number();
    let id = db.id();
    let now = db.now_text();
    let urgency = urgency_now(&service, db.now(), severity);
    let assignments: Vec<Value> = assignee
        .iter()
        .map(|user| {
            let name = db
                .get("users", user)
                .map(|u| u["name"].clone())
                .unwrap_or_default();
            json!({"at": now, "assignee": {"id": user, "type": "user_reference", "summary": name}})
        })
        .collect();
    let incident = json!({
        "id": id,
        "type": "incident",
        "incident_number": number,
        "title": title,
        "summary": format!("[#{number}] {title}"),
        "status": "triggered",
        "urgency": urgency,
        "incident_key": dedup,
        "created_at": now,
        "last_status_change_at": now,
        "service": {"id": integration.service, "type": "service_reference", "summary": service["name"]},
        "escalation_policy": service["escalation_policy"],
        "assignments": assignments,
        "self": format!("{}/incidents/{id}", db.base_url),
        "html_url": format!("{}/incidents/{id}", db.base_url),
    });
    db.incidents.insert(id.clone(), incident);
    let snapshot = db.schedules_of_service(&integration.service);
    db.snapshots.insert(id.clone(), snapshot);
    db.dedup
        .insert((key.to_owned(), dedup.to_owned()), id.clone());
    crate::webhooks::incident_event(db, "incident.triggered", &id);
    Some(id)
}

/// Resolve the alert `dedup`; its incident resolves with its last open alert.
fn resolve(db: &mut Db, key: &str, dedup: &str) -> Option<String> {
    let id = db.dedup.remove(&(key.to_owned(), dedup.to_owned()))?;
    let now = db.now_text();
    if let Some(alerts) = db.alerts.get_mut(&id) {
        for alert in alerts.iter_mut().filter(|a| a.dedup == dedup) {
            alert.resolved = true;
        }
        if alerts.iter().any(|a| !a.resolved) {
            return Some(id);
        }
    }
    if let Some(incident) = db.incidents.get_mut(&id)
        && incident["status"] != "resolved"
    {
        incident["status"] = json!("resolved");
        incident["last_status_change_at"] = json!(now);
        crate::webhooks::incident_event(db, "incident.resolved", &id);
    }
    Some(id)
}

fn acknowledge(db: &mut Db, key: &str, dedup: &str) -> Option<String> {
    let id = db.dedup.get(&(key.to_owned(), dedup.to_owned()))?.clone();
    if let Some(incident) = db.incidents.get_mut(&id)
        && incident["status"] == "triggered"
    {
        incident["status"] = json!("acknowledged");
        crate::webhooks::incident_event(db, "incident.acknowledged", &id);
    }
    Some(id)
}

/// An SNS HTTP(S) delivery to a CloudWatch integration.
pub async fn sns(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !app
        .db
        .lock()
        .expect("db lock")
        .integrations
        .values()
        .any(|i| i.key == key)
    {
        return rejected(StatusCode::NOT_FOUND, "Integration key not found", vec![]);
    }
    let Ok(envelope) = serde_json::from_str::<Value>(&body) else {
        return rejected(
            StatusCode::BAD_REQUEST,
            "Body is not an SNS message",
            vec![],
        );
    };
    let kind = headers
        .get("x-amz-sns-message-type")
        .and_then(|v| v.to_str().ok())
        .or(envelope["Type"].as_str())
        .unwrap_or_default()
        .to_owned();
    match kind.as_str() {
        "SubscriptionConfirmation" => {
            // Confirm as PagerDuty does: visit the SubscribeURL.
            let Some(url) = envelope["SubscribeURL"].as_str() else {
                return rejected(StatusCode::BAD_REQUEST, "SubscribeURL missing", vec![]);
            };
            match app.http.get(url).send().await {
                Ok(r) if r.status().is_success() => StatusCode::OK.into_response(),
                Ok(r) => rejected(
                    StatusCode::BAD_GATEWAY,
                    &format!("confirming the subscription got {}", r.status()),
                    vec![],
                ),
                Err(e) => rejected(StatusCode::BAD_GATEWAY, &e.to_string(), vec![]),
            }
        }
        "Notification" => {
            let message = envelope["Message"].as_str().unwrap_or_default();
            let Ok(alarm) = serde_json::from_str::<Value>(message) else {
                return rejected(
                    StatusCode::BAD_REQUEST,
                    "Message is not a CloudWatch alarm",
                    vec![],
                );
            };
            // An EventBridge event a rule sent to the topic (PagerDuty's Amazon
            // CloudWatch integration guide, "Amazon EventBridge": a rule's SNS
            // target delivers to the same integration URL). Each event is its
            // own alert, deduplicated by the event's id; nothing resolves it.
            if let (Some(id), Some(detail_type), Some(source)) = (
                alarm["id"].as_str(),
                alarm["detail-type"].as_str(),
                alarm["source"].as_str(),
            ) {
                let title = format!("{detail_type}: {source}");
                let fields = json!({"summary": title, "source": source, "severity": "critical",
                    "class": detail_type, "custom_details": alarm});
                let mut db = app.db.lock().expect("db lock");
                let incident = alert(&mut db, &key, id, &title, fields);
                return (
                    StatusCode::OK,
                    Json(json!({"status": "success", "incident": incident})),
                )
                    .into_response();
            }
            let (Some(name), Some(state)) =
                (alarm["AlarmName"].as_str(), alarm["NewStateValue"].as_str())
            else {
                return rejected(
                    StatusCode::BAD_REQUEST,
                    "AlarmName and NewStateValue are required",
                    vec![],
                );
            };
            let title = alarm["AlarmDescription"]
                .as_str()
                .filter(|d| !d.is_empty())
                .or(alarm["NewStateReason"].as_str())
                .unwrap_or(name)
                .to_owned();
            let mut db = app.db.lock().expect("db lock");
            let incident = match state {
                "ALARM" => {
                    // The alert's fields: its title, the alarm (custom details,
                    // as PagerDuty shows a CloudWatch alarm's JSON), critical.
                    let summary = format!("ALARM: {name}: {title}");
                    let fields = json!({"summary": summary, "source": alarm["AlarmArn"],
                        "severity": "critical", "custom_details": alarm});
                    alert(&mut db, &key, name, &summary, fields)
                }
                "OK" => resolve(&mut db, &key, name),
                _ => None,
            };
            (
                StatusCode::OK,
                Json(json!({"status": "success", "incident": incident})),
            )
                .into_response()
        }
        "UnsubscribeConfirmation" => StatusCode::OK.into_response(),
        other => rejected(
            StatusCode::BAD_REQUEST,
            &format!("unknown SNS message type {other:?}"),
            vec![],
        ),
    }
}

/// Events API v2.
pub async fn v2(State(app): State<Arc<App>>, body: String) -> Response {
    let Ok(event) = serde_json::from_str::<Value>(&body) else {
        return rejected(
            StatusCode::BAD_REQUEST,
            "Event object is invalid",
            vec!["Body is not JSON".into()],
        );
    };
    let mut errors = Vec::new();
    let key = event["routing_key"].as_str().unwrap_or_default().to_owned();
    if key.len() != 32 {
        errors.push("'routing_key' must be a 32 character integration key".to_owned());
    }
    let action = event["event_action"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !matches!(action.as_str(), "trigger" | "acknowledge" | "resolve") {
        errors.push("'event_action' must be trigger, acknowledge or resolve".into());
    }
    let dedup = event["dedup_key"].as_str().map(str::to_owned);
    if action == "trigger" {
        let payload = &event["payload"];
        for field in ["summary", "source"] {
            if payload[field].as_str().is_none_or(str::is_empty) {
                errors.push(format!("'payload.{field}' is missing or blank"));
            }
        }
        if !matches!(
            payload["severity"].as_str(),
            Some("critical" | "error" | "warning" | "info")
        ) {
            errors.push("'payload.severity' must be critical, error, warning or info".into());
        }
    } else if dedup.is_none() {
        errors.push("'dedup_key' is required for acknowledge and resolve".into());
    }
    if !errors.is_empty() {
        return rejected(StatusCode::BAD_REQUEST, "Event object is invalid", errors);
    }
    let mut db = app.db.lock().expect("db lock");
    if !db.integrations.values().any(|i| i.key == key) {
        return rejected(
            StatusCode::BAD_REQUEST,
            "Event object is invalid",
            vec!["Invalid routing key".into()],
        );
    }
    let dedup = dedup.unwrap_or_else(|| {
        let n = db.next_incident_number();
        format!("dedup-{n}")
    });
    match action.as_str() {
        "trigger" => {
            let summary = event["payload"]["summary"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            alert(&mut db, &key, &dedup, &summary, event["payload"].clone());
        }
        "acknowledge" => {
            acknowledge(&mut db, &key, &dedup);
        }
        _ => {
            resolve(&mut db, &key, &dedup);
        }
    }
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Event processed", "dedup_key": dedup})),
    )
        .into_response()
}
