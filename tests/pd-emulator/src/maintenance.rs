// Handlers return `Result<Response, Response>` (axum's idiom: the error *is* the
// response), so a large `Err` is by design.
#![allow(clippy::result_large_err)]

//! Maintenance windows (`/maintenance_windows`), as PagerDuty's REST API
//! documents them (rest-openapiv3.json, `MaintenanceWindow` and the four
//! operations on it):
//! - creating one requires a `From` header naming a user of the account
//!   (`from_header`, `required: true`);
//! - a `start_time` in the past "will be updated to be the current time"; the
//!   `end_time` "must be in the future and after the start_time";
//! - DELETE "deletes an existing maintenance window if it's in the future, or
//!   ends it if it's currently on-going. If the maintenance window has already
//!   ended it cannot be deleted" (405);
//! - "No new incidents will be created for a service that is in maintenance"
//!   ([`in_maintenance`], used by the events side).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::App;
use crate::db::Db;
use crate::rest::{self, Reply};

const COLLECTION: &str = "maintenance_windows";

fn time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether a window of `service` is on-going now.
pub fn in_maintenance(db: &Db, service: &str) -> bool {
    let now = db.now();
    db.list(COLLECTION).iter().any(|w| {
        let covers = w["services"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["id"] == service);
        let open = time(&w["start_time"]).is_some_and(|s| s <= now)
            && time(&w["end_time"]).is_some_and(|e| now < e);
        covers && open
    })
}

/// The window as PagerDuty would store it, or the errors PagerDuty answers.
fn build(db: &Db, id: &str, input: &Value, existing: Option<&Value>) -> Result<Value, Response> {
    let mut errors = Vec::new();
    let now = db.now();
    let field = |key: &str| {
        if input.get(key).is_some() {
            input[key].clone()
        } else {
            existing.map(|e| e[key].clone()).unwrap_or(Value::Null)
        }
    };
    let (start, end) = (field("start_time"), field("end_time"));
    let (Some(mut start_at), Some(end_at)) = (time(&start), time(&end)) else {
        return Err(rest::invalid(vec![
            "start_time and end_time must be ISO 8601 date-times".into(),
        ]));
    };
    if existing.is_none() && start_at < now {
        // "If this date is in the past, it will be updated to be the current time."
        start_at = now;
    }
    if end_at <= now {
        errors.push("End time must be in the future".to_owned());
    }
    if end_at <= start_at {
        errors.push("End time must be after start time".to_owned());
    }
    let services: Vec<Value> = field("services").as_array().cloned().unwrap_or_default();
    if services.is_empty() {
        errors.push("Services cannot be empty".to_owned());
    }
    let mut references = Vec::new();
    for s in &services {
        let sid = s["id"].as_str().unwrap_or_default();
        match db.get("services", sid) {
            Some(service) => references.push(json!({
                "id": sid, "type": "service_reference", "summary": service["name"],
                "self": format!("{}/services/{sid}", db.base_url),
            })),
            None => errors.push(format!("Service {sid} not found")),
        }
    }
    if !errors.is_empty() {
        return Err(rest::invalid(errors));
    }
    let description = field("description");
    Ok(json!({
        "id": id,
        "type": "maintenance_window",
        "summary": description.as_str().unwrap_or("Maintenance window"),
        "self": format!("{}/{COLLECTION}/{id}", db.base_url),
        "html_url": format!("{}/maintenance_windows#/show/{id}", db.base_url),
        "start_time": start_at.to_rfc3339(),
        "end_time": end_at.to_rfc3339(),
        "description": description,
        "services": references,
        "teams": existing.map(|e| e["teams"].clone()).unwrap_or(json!([])),
        "created_by": existing.map(|e| e["created_by"].clone()).unwrap_or(Value::Null),
    }))
}

pub async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    let input = rest::body_of(&body, "maintenance_window")?;
    let mut db = rest::lock(&app);
    let user = rest::from_user(&db, &headers)?;
    let id = db.id();
    let mut window = build(&db, &id, input, None)?;
    window["created_by"] = json!({"id": user, "type": "user_reference"});
    db.insert(COLLECTION, window.clone());
    rest::created(json!({ "maintenance_window": window }))
}

pub async fn get(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let db = rest::lock(&app);
    let window = db
        .get(COLLECTION, &id)
        .cloned()
        .ok_or_else(rest::not_found_error)?;
    rest::ok(json!({ "maintenance_window": window }))
}

pub async fn list(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Reply {
    let query = rest::pairs(&query);
    let db = rest::lock(&app);
    let now = db.now();
    let services = rest::all(&query, "service_ids[]");
    let filter = rest::one(&query, "filter").unwrap_or_else(|| "open".into());
    let windows: Vec<Value> = db
        .list(COLLECTION)
        .into_iter()
        .filter(|w| {
            services.is_empty()
                || w["services"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| services.iter().any(|id| s["id"] == *id))
        })
        .filter(|w| {
            let (start, end) = (time(&w["start_time"]), time(&w["end_time"]));
            let past = end.is_some_and(|e| e <= now);
            let future = start.is_some_and(|s| now < s);
            match filter.as_str() {
                "past" => past,
                "future" => future,
                "ongoing" => !past && !future,
                "open" => !past,
                _ => true,
            }
        })
        .collect();
    rest::paginate("maintenance_windows", windows, &query)
}

pub async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let input = rest::body_of(&body, "maintenance_window")?;
    let mut db = rest::lock(&app);
    let existing = db
        .get(COLLECTION, &id)
        .cloned()
        .ok_or_else(rest::not_found_error)?;
    let window = build(&db, &id, input, Some(&existing))?;
    db.insert(COLLECTION, window.clone());
    rest::ok(json!({ "maintenance_window": window }))
}

pub async fn delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let mut db = rest::lock(&app);
    let window = db
        .get(COLLECTION, &id)
        .cloned()
        .ok_or_else(rest::not_found_error)?;
    let now = db.now();
    let (start, end) = (time(&window["start_time"]), time(&window["end_time"]));
    if end.is_some_and(|e| e <= now) {
        return Err(rest::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "The maintenance window can't be deleted because it has already ended.",
            2001,
            vec![],
        ));
    }
    if start.is_some_and(|s| s <= now) {
        // On-going: ended now, kept.
        let mut ended = window;
        ended["end_time"] = json!(now.to_rfc3339());
        db.insert(COLLECTION, ended);
    } else if let Some(c) = db.objects.get_mut(COLLECTION) {
        c.remove(&id);
    }
    rest::no_content()
}
