// Handlers return `Result<Response, Response>` (axum's idiom: the error *is* the
// response), so a large `Err` is by design.
#![allow(clippy::result_large_err)]

//! REST API v2 handlers. Plain objects share one list/get/create/update/delete
//! path; each type's checks live in `validate`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use serde_json::{Value, json};

use crate::App;
use crate::db::{self, Db, Integration};
use crate::strict;

pub(crate) type Reply = Result<Response, Response>;

/// PagerDuty's error body.
pub fn error(status: StatusCode, message: &str, code: u32, errors: Vec<String>) -> Response {
    let mut body = json!({"error": {"message": message, "code": code}});
    if !errors.is_empty() {
        body["error"]["errors"] = json!(errors);
    }
    (status, Json(body)).into_response()
}

pub(crate) fn invalid(errors: Vec<String>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Invalid Input Provided",
        2001,
        errors,
    )
}

pub(crate) fn not_found_error() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", 2100, vec![])
}

pub async fn not_found() -> Response {
    not_found_error()
}

pub(crate) fn ok(value: Value) -> Reply {
    Ok((StatusCode::OK, Json(value)).into_response())
}

pub(crate) fn created(value: Value) -> Reply {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

pub(crate) fn no_content() -> Reply {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Query pairs, keeping repeated keys (`statuses[]=a&statuses[]=b`).
pub(crate) fn pairs(query: &Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn all(query: &[(String, String)], key: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(k, _)| k == key || k == key.trim_end_matches("[]"))
        .map(|(_, v)| v.clone())
        .collect()
}

pub(crate) fn one(query: &[(String, String)], key: &str) -> Option<String> {
    all(query, key).into_iter().next()
}

/// offset/limit/more/total pagination, as PagerDuty's classic lists do.
pub const MAX_OFFSET_RESULTS: usize = 10_000;

pub(crate) fn paginate(key: &str, items: Vec<Value>, query: &[(String, String)]) -> Reply {
    let limit = match one(query, "limit").map(|l| l.parse::<usize>()) {
        None => 25,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(_) => return Err(invalid(vec!["limit must be between 1 and 100".into()])),
    };
    let offset = match one(query, "offset").map(|o| o.parse::<usize>()) {
        None => 0,
        Some(Ok(o)) => o,
        Some(Err(_)) => return Err(invalid(vec!["offset must be a number".into()])),
    };
    // Offset pagination reaches the first 10,000 results only; past that
    // PagerDuty answers 400 and points at cursor pagination
    // (developer.pagerduty.com/docs/rest-api-v2/pagination, linked from the
    // document's `offset_total`).
    if offset + limit > MAX_OFFSET_RESULTS {
        return Err(invalid(vec![format!(
            "Offset + limit must be less than or equal to {MAX_OFFSET_RESULTS}"
        )]));
    }
    let total_wanted = one(query, "total").is_some_and(|t| t == "true");
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let more = offset + page.len() < total;
    ok(json!({
        key: page,
        "limit": limit,
        "offset": offset,
        "more": more,
        "total": if total_wanted { json!(total) } else { Value::Null },
    }))
}

pub(crate) fn lock(app: &App) -> std::sync::MutexGuard<'_, Db> {
    app.db.lock().expect("db lock")
}

fn reference(db: &Db, collection: &str, id: &str, kind: &str) -> Value {
    let summary = db
        .get(collection, id)
        .and_then(|o| o["summary"].as_str().or(o["name"].as_str()))
        .unwrap_or(id)
        .to_owned();
    json!({
        "id": id, "type": kind, "summary": summary,
        "self": format!("{}/{collection}/{id}", db.base_url),
        "html_url": format!("{}/{collection}/{id}", db.base_url),
    })
}

pub(crate) fn body_of<'a>(body: &'a Value, key: &str) -> Result<&'a Value, Response> {
    match body.get(key) {
        Some(v) if v.is_object() => Ok(v),
        _ => Err(invalid(vec![format!("{key} is required")])),
    }
}

// ---------------------------------------------------------------- plain objects

pub async fn list_objects(
    State(app): State<Arc<App>>,
    Path(collection): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let Some(_) = db::singular(&collection) else {
        return Err(not_found_error());
    };
    let query = pairs(&query);
    let needle = one(&query, "query").map(|q| q.to_lowercase());
    let team_ids = all(&query, "team_ids[]");
    let db = lock(&app);
    let items: Vec<Value> = db
        .list(&collection)
        .into_iter()
        .filter(|o| !o["id"].as_str().is_some_and(|id| strict::hidden(&db, id)))
        .filter(|o| {
            needle.as_ref().is_none_or(|n| {
                ["name", "email"]
                    .iter()
                    .any(|f| o[*f].as_str().is_some_and(|v| v.to_lowercase().contains(n)))
            })
        })
        .filter(|o| {
            team_ids.is_empty()
                || o["teams"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| team_ids.iter().any(|id| t["id"] == **id)))
        })
        .collect();
    paginate(&collection, items, &query)
}

pub async fn get_object(
    State(app): State<Arc<App>>,
    Path((collection, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Reply {
    let Some(singular) = db::singular(&collection) else {
        return Err(not_found_error());
    };
    let db = lock(&app);
    if strict::hidden(&db, &id) {
        return Err(not_found_error());
    }
    let mut object = db
        .get(&collection, &id)
        .cloned()
        .ok_or_else(not_found_error)?;
    if collection == "services" {
        let include = all(&pairs(&query), "include[]").contains(&"integrations".to_owned());
        object["integrations"] = integrations_of(&db, &id, include);
    }
    if collection == "schedules" {
        // The policies that use it (Schedule.escalation_policies).
        let using: Vec<Value> = db
            .list("escalation_policies")
            .iter()
            .filter(|p| {
                p["escalation_rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|r| r["targets"].as_array().into_iter().flatten())
                    .any(|t| t["id"] == *id)
            })
            .map(|p| {
                reference(
                    &db,
                    "escalation_policies",
                    p["id"].as_str().unwrap_or_default(),
                    "escalation_policy_reference",
                )
            })
            .collect();
        object["escalation_policies"] = json!(using);
        // "Defaults to 2 weeks before until if an until is given" (schedule_since);
        // until defaults to 2 weeks after since.
        let query = pairs(&query);
        let time = |key: &str| {
            one(&query, key)
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let two_weeks = chrono::Duration::weeks(2);
        let range = match (time("since"), time("until")) {
            (Some(s), Some(u)) => Some((s, u)),
            (Some(s), None) => Some((s, s + two_weeks)),
            (None, Some(u)) => Some((u - two_weeks, u)),
            (None, None) => None,
        };
        if let Some((since, until)) = range {
            if until <= since {
                return Err(invalid(vec!["until must be after since".into()]));
            }
            render_schedule(&db, &mut object, since, until);
        }
    }
    ok(json!({ singular: object }))
}

fn integrations_of(db: &Db, service: &str, full: bool) -> Value {
    Value::Array(
        db.integrations
            .values()
            .filter(|i| i.service == service)
            .map(|i| {
                if full {
                    integration_json(db, i)
                } else {
                    json!({"id": i.id, "type": format!("{}_reference", integration_type(db, i)), "summary": i.name,
                           "self": format!("{}/services/{}/integrations/{}", db.base_url, i.service, i.id)})
                }
            })
            .collect(),
    )
}

pub async fn create_object(
    State(app): State<Arc<App>>,
    Path(collection): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let Some(singular) = db::singular(&collection) else {
        return Err(not_found_error());
    };
    if matches!(collection.as_str(), "users" | "vendors") {
        return Err(error(StatusCode::FORBIDDEN, "Access Denied", 2010, vec![]));
    }
    let input = body_of(&body, singular)?;
    let mut db = lock(&app);
    let id = db.id();
    let object = build(&mut db, &collection, &id, input, None)?;
    let collection = db::COLLECTIONS
        .iter()
        .find(|(c, _)| *c == collection)
        .map(|(c, _)| *c)
        .unwrap_or("teams");
    db.insert(collection, object);
    strict::born(&mut db, id.clone());
    let stored = db.get(collection, &id).cloned().unwrap_or_default();
    // PagerDuty answers 201, except for business services (200), as documented.
    if collection == "business_services" {
        ok(json!({ singular: stored }))
    } else {
        created(json!({ singular: stored }))
    }
}

pub async fn update_object(
    State(app): State<Arc<App>>,
    Path((collection, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Reply {
    let Some(singular) = db::singular(&collection) else {
        return Err(not_found_error());
    };
    let input = body_of(&body, singular)?;
    let mut db = lock(&app);
    let existing = db
        .get(&collection, &id)
        .cloned()
        .ok_or_else(not_found_error)?;
    // PUT is a partial update: absent fields keep their values.
    let mut merged = existing.clone();
    if let (Some(target), Some(changes)) = (merged.as_object_mut(), input.as_object()) {
        for (k, v) in changes {
            target.insert(k.clone(), v.clone());
        }
    }
    let mut object = build(&mut db, &collection, &id, &merged, Some(&existing))?;
    if db.rules.strict && collection == "schedules" && input.get("schedule_layers").is_none() {
        // Layers not sent are left as they are (and in PagerDuty's order).
        object["schedule_layers"] = existing["schedule_layers"].clone();
    }
    let key = db::COLLECTIONS
        .iter()
        .find(|(c, _)| *c == collection)
        .map(|(c, _)| *c)
        .unwrap_or("teams");
    strict::remember(&mut db, key, existing);
    db.insert(key, object);
    let stored = db.get(key, &id).cloned().unwrap_or_default();
    ok(json!({ singular: stored }))
}

pub async fn delete_object(
    State(app): State<Arc<App>>,
    Path((collection, id)): Path<(String, String)>,
) -> Reply {
    if db::singular(&collection).is_none() || matches!(collection.as_str(), "users" | "vendors") {
        return Err(not_found_error());
    }
    let mut db = lock(&app);
    let Some(existing) = db.get(&collection, &id).cloned() else {
        return Err(not_found_error());
    };
    // PagerDuty refuses to delete what is in use.
    let in_use = match collection.as_str() {
        "escalation_policies" => strict::policy_in_use(&db, &id),
        "schedules" => strict::schedule_in_use(&db, &id),
        "teams" => strict::team_in_use(&db, &id),
        _ => None,
    };
    if let Some(refusal) = in_use {
        return Err(refusal);
    }
    if let Some((key, c)) = db.objects.iter_mut().find(|(_, c)| c.contains_key(&id)) {
        c.remove(&id);
        let key = *key;
        strict::remember(&mut db, key, existing);
    }
    match collection.as_str() {
        "services" => {
            db.integrations.retain(|_, i| i.service != id);
            db.dependencies.retain(|_, (_, s)| *s != id);
            // Its orchestration goes with it.
            db.orchestrations.remove(&id);
            db.orchestration_active.remove(&id);
        }
        "business_services" => db.dependencies.retain(|_, (b, _)| *b != id),
        "teams" => {
            db.members.remove(&id);
        }
        _ => {}
    }
    db.tag_links.retain(|(_, entity, _)| *entity != id);
    no_content()
}

/// Check and normalise an object as PagerDuty stores it.
fn build(
    db: &mut Db,
    collection: &str,
    id: &str,
    input: &Value,
    existing: Option<&Value>,
) -> Result<Value, Response> {
    let mut errors = Vec::new();
    let name = input["name"].as_str().unwrap_or_default();
    if name.trim().is_empty() {
        errors.push("Name cannot be empty.".to_owned());
    }
    if let Some(taken) = strict::name_taken(db, collection, id, name) {
        return Err(taken);
    }
    let mut object = input.clone();
    object["id"] = json!(id);
    object["type"] = json!(db::singular(collection).unwrap_or_default());
    object["summary"] = json!(name);
    if existing.is_none() {
        object["created_at"] = json!(db.now_text());
    }
    let team_refs = |db: &Db, object: &mut Value, errors: &mut Vec<String>| {
        if let Some(teams) = object["teams"].as_array().cloned() {
            let refs: Vec<Value> = teams
                .iter()
                .filter_map(|t| {
                    let tid = t["id"].as_str()?;
                    if db.get("teams", tid).is_none() {
                        errors.push(format!("Team {tid} not found"));
                    }
                    Some(reference(db, "teams", tid, "team_reference"))
                })
                .collect();
            object["teams"] = json!(refs);
        }
    };
    match collection {
        "teams" => {
            if let Some(parent) = object["parent"]["id"].as_str() {
                if db.get("teams", parent).is_none() {
                    errors.push(format!("Parent team {parent} not found"));
                } else {
                    object["parent"] = reference(db, "teams", parent, "team_reference");
                }
            }
            object["default_role"] = json!("manager");
        }
        "business_services" => {
            if let Some(team) = object["team"]["id"].as_str() {
                if db.get("teams", team).is_none() {
                    errors.push(format!("Team {team} not found"));
                } else {
                    object["team"] = reference(db, "teams", team, "team_reference");
                }
            }
        }
        "schedules" => {
            let tz = object["time_zone"].as_str().unwrap_or_default();
            // Strict: PagerDuty's own list, not every IANA name (its "Types"
            // reference, #time-zone); the wording of the refusal is ours.
            let known = if db.rules.strict {
                blueprint_model::oncall::time_zones::accepted(tz)
            } else {
                tz.parse::<chrono_tz::Tz>().is_ok()
            };
            if !known {
                errors.push(format!("Time zone {tz:?} is not a valid time zone"));
            }
            let layers = object["schedule_layers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if layers.is_empty() {
                errors.push("Schedule must have at least one layer".into());
            }
            let old_ids: Vec<String> = existing
                .and_then(|e| e["schedule_layers"].as_array())
                .map(|ls| {
                    ls.iter()
                        .filter_map(|l| l["id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let mut normalised = Vec::new();
            for (i, layer) in layers.iter().enumerate() {
                let mut layer = layer.clone();
                for field in ["start", "rotation_virtual_start"] {
                    if layer[field]
                        .as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .is_none()
                    {
                        errors.push(format!(
                            "Schedule layer {i}: {field} must be an ISO 8601 date-time"
                        ));
                    }
                }
                if layer["rotation_turn_length_seconds"].as_i64().unwrap_or(0) <= 0 {
                    errors.push(format!(
                        "Schedule layer {i}: rotation_turn_length_seconds must be positive"
                    ));
                }
                let users = layer["users"].as_array().cloned().unwrap_or_default();
                if users.is_empty() {
                    errors.push(format!("Schedule layer {i}: users cannot be empty"));
                }
                let users: Vec<Value> = users
                    .iter()
                    .map(|u| {
                        let uid = u["user"]["id"].as_str().unwrap_or_default();
                        if db.get("users", uid).is_none() {
                            errors.push(format!("User {uid} not found"));
                        }
                        json!({"user": reference(db, "users", uid, "user_reference")})
                    })
                    .collect();
                layer["users"] = json!(users);
                let keep = layer["id"]
                    .as_str()
                    .filter(|lid| old_ids.iter().any(|o| o == lid))
                    .map(str::to_owned);
                layer["id"] = json!(keep.unwrap_or_else(|| db.id()));
                if layer.get("restrictions").is_none_or(Value::is_null) {
                    layer["restrictions"] = json!([]);
                }
                errors.extend(crate::oncall::restriction_errors(i, &layer["restrictions"]));
                // An open-ended layer has no `end` (a string in the documents).
                if layer.get("end").is_some_and(Value::is_null) {
                    layer.as_object_mut().map(|o| o.remove("end"));
                }
                normalised.push(layer);
            }
            if let (true, Ok(tz)) = (db.rules.strict, tz.parse::<chrono_tz::Tz>()) {
                let stored = existing
                    .and_then(|e| e["schedule_layers"].as_array().cloned())
                    .unwrap_or_default();
                normalised = strict::schedule_layers(db, tz, normalised, &stored);
            }
            object["schedule_layers"] = json!(normalised);
            team_refs(db, &mut object, &mut errors);
        }
        "escalation_policies" => {
            let rules = object["escalation_rules"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if rules.is_empty() {
                errors.push("Escalation policy must have at least one rule".into());
            }
            let mut normalised = Vec::new();
            for (i, rule) in rules.iter().enumerate() {
                let mut rule = rule.clone();
                if rule["escalation_delay_in_minutes"].as_i64().unwrap_or(0) < 1 {
                    errors.push(format!(
                        "Escalation rule {i}: escalation_delay_in_minutes must be at least 1"
                    ));
                }
                let targets = rule["targets"].as_array().cloned().unwrap_or_default();
                if targets.is_empty() {
                    errors.push(format!("Escalation rule {i}: targets cannot be empty"));
                }
                let targets: Vec<Value> = targets
                    .iter()
                    .map(|t| {
                        let tid = t["id"].as_str().unwrap_or_default();
                        let (collection, kind) = match t["type"].as_str() {
                            Some("schedule_reference" | "schedule") => {
                                ("schedules", "schedule_reference")
                            }
                            Some("user_reference" | "user") => ("users", "user_reference"),
                            other => {
                                errors.push(format!(
                                    "Escalation rule {i}: target type {other:?} is not valid"
                                ));
                                ("users", "user_reference")
                            }
                        };
                        if db.get(collection, tid).is_none() {
                            errors.push(format!("Escalation rule {i}: target {tid} not found"));
                        }
                        reference(db, collection, tid, kind)
                    })
                    .collect();
                rule["targets"] = json!(targets);
                if rule.get("id").is_none() {
                    rule["id"] = json!(db.id());
                }
                normalised.push(rule);
            }
            object["escalation_rules"] = json!(normalised);
            let loops = object["num_loops"].as_i64().unwrap_or(0);
            if !(0..=9).contains(&loops) {
                errors.push("num_loops must be between 0 and 9".into());
            }
            object["num_loops"] = json!(loops);
            team_refs(db, &mut object, &mut errors);
        }
        "services" => {
            match object["escalation_policy"]["id"].as_str() {
                Some(ep) if db.get("escalation_policies", ep).is_some() => {
                    object["escalation_policy"] =
                        reference(db, "escalation_policies", ep, "escalation_policy_reference");
                }
                Some(ep) => errors.push(format!("Escalation Policy {ep} not found")),
                None => errors.push("Escalation Policy must be specified".into()),
            }
            if object["status"].is_null() {
                object["status"] = json!("active");
            }
            if object["alert_creation"].is_null() {
                object["alert_creation"] = json!("create_alerts_and_incidents");
            }
            if !matches!(
                object["alert_creation"].as_str(),
                Some("create_incidents" | "create_alerts_and_incidents")
            ) {
                errors.push("alert_creation is not valid".into());
            }
            // `create_incidents` is deprecated and PagerDuty migrates services to
            // `create_alerts_and_incidents`, answering that whatever was sent
            // (the document's Service.alert_creation; terraform-provider-pagerduty
            // suppresses the diff for the same reason).
            if db.rules.strict && object["alert_creation"] == "create_incidents" {
                object["alert_creation"] = json!("create_alerts_and_incidents");
            }
            // Disabled timeouts are absent (the documents type them as integers).
            // "Setting this field to `0`, `null` (or unset in POST request) will
            // disable the feature" (OpenAPI, Service.auto_resolve_timeout and
            // acknowledgement_timeout): 0 disables too.
            for field in ["acknowledgement_timeout", "auto_resolve_timeout"] {
                if object
                    .get(field)
                    .is_some_and(|v| v.is_null() || v.as_u64() == Some(0))
                {
                    object.as_object_mut().map(|o| o.remove(field));
                }
            }
            grouping_problems(&object["alert_grouping_parameters"], &mut errors);
            // Urgency by support hours needs support hours, and a scheduled
            // action raises a low urgency to high (the document's
            // IncidentUrgencyRule, SupportHours, ScheduledAction).
            let by_hours = object["incident_urgency_rule"]["type"] == "use_support_hours";
            let hours = &object["support_hours"];
            if by_hours && !hours.is_object() {
                errors.push(
                    "Support hours must be specified when the urgency rule uses support hours"
                        .into(),
                );
            }
            if hours.is_object() {
                if hours["type"] != "fixed_time_per_day" {
                    errors.push("Support hours type must be fixed_time_per_day".into());
                }
                if hours["time_zone"]
                    .as_str()
                    .is_none_or(|tz| tz.parse::<chrono_tz::Tz>().is_err())
                {
                    errors.push("Support hours time zone is not valid".into());
                }
                let times_ok = ["start_time", "end_time"].iter().all(|k| {
                    hours[*k]
                        .as_str()
                        .is_some_and(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").is_ok())
                });
                if !times_ok {
                    errors.push("Support hours start_time and end_time must be HH:MM:SS".into());
                }
            }
            let actions = object["scheduled_actions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let low_outside =
                object["incident_urgency_rule"]["outside_support_hours"]["urgency"] == "low";
            let raises_low = by_hours && low_outside;
            if !actions.is_empty() && !raises_low {
                errors.push(
                    "Scheduled actions need an urgency rule by support hours with low urgency outside them"
                        .into(),
                );
            }
            if object["incident_urgency_rule"].is_null() {
                object["incident_urgency_rule"] = json!({"type": "constant", "urgency": "high"});
            }
            object.as_object_mut().map(|o| o.remove("integrations"));
        }
        _ => {}
    }
    if errors.is_empty() {
        Ok(object)
    } else {
        Err(invalid(errors))
    }
}

// ---------------------------------------------------------------- team members

/// `alert_grouping_parameters` as the OpenAPI document bounds it
/// (AlertGroupingParameters and its three configurations): a type of `time`,
/// `intelligent`, `content_based` or null; `timeout` 0 to 1440 minutes;
/// `time_window` 0 (recommended) or 300 to 3600 seconds, or 86400 for
/// content-based grouping; `aggregate` all or any.
fn grouping_problems(grouping: &Value, errors: &mut Vec<String>) {
    if grouping.is_null() {
        return;
    }
    let kind = &grouping["type"];
    if !(kind.is_null()
        || matches!(
            kind.as_str(),
            Some("time" | "intelligent" | "content_based")
        ))
    {
        errors.push(format!("Alert grouping type {kind} is not valid"));
    }
    let config = &grouping["config"];
    if let Some(timeout) = config.get("timeout").and_then(Value::as_i64)
        && !(0..=1440).contains(&timeout)
    {
        errors.push("Alert grouping timeout must be between 0 and 1440".into());
    }
    if let Some(window) = config.get("time_window").and_then(Value::as_i64) {
        let day = window == 86400 && kind == "content_based";
        if !(window == 0 || (300..=3600).contains(&window) || day) {
            errors.push(
                "Alert grouping time_window must be 0, between 300 and 3600, or 86400".into(),
            );
        }
    }
    if let Some(aggregate) = config.get("aggregate").filter(|a| !a.is_null())
        && !matches!(aggregate.as_str(), Some("all" | "any"))
    {
        errors.push(format!("Alert grouping aggregate {aggregate} is not valid"));
    }
}

pub async fn list_members(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let db = lock(&app);
    if db.get("teams", &id).is_none() {
        return Err(not_found_error());
    }
    let members: Vec<Value> = db
        .members
        .get(&id)
        .into_iter()
        .flatten()
        .filter(|(user, _)| !strict::hidden(&db, &format!("{id}/{user}")))
        .map(|(user, role)| {
            json!({"user": reference(&db, "users", user, "user_reference"), "role": role})
        })
        .collect();
    paginate("members", members, &pairs(&query))
}

pub async fn put_member(
    State(app): State<Arc<App>>,
    Path((id, user)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Reply {
    let mut db = lock(&app);
    if db.get("teams", &id).is_none() || db.get("users", &user).is_none() {
        return Err(not_found_error());
    }
    let role = body
        .as_ref()
        .and_then(|b| b["role"].as_str())
        .unwrap_or("manager")
        .to_owned();
    if !matches!(role.as_str(), "observer" | "responder" | "manager") {
        return Err(invalid(vec![format!("Role {role:?} is not valid")]));
    }
    let key = format!("{id}/{user}");
    if db
        .members
        .entry(id)
        .or_default()
        .insert(user, role)
        .is_none()
    {
        strict::born(&mut db, key);
    }
    no_content()
}

pub async fn delete_member(
    State(app): State<Arc<App>>,
    Path((id, user)): Path<(String, String)>,
) -> Reply {
    let mut db = lock(&app);
    if db.get("teams", &id).is_none() {
        return Err(not_found_error());
    }
    if db.members.get(&id).is_some_and(|m| m.contains_key(&user))
        && let Some(refusal) = strict::member_in_use(&db, &id, &user)
    {
        return Err(refusal);
    }
    match db.members.get_mut(&id).and_then(|m| m.remove(&user)) {
        Some(_) => no_content(),
        None => Err(not_found_error()),
    }
}

// ---------------------------------------------------------------- integrations

fn integration_type(db: &Db, i: &Integration) -> &'static str {
    let vendor = i
        .vendor
        .as_deref()
        .and_then(|v| db.get("vendors", v))
        .and_then(|v| v["name"].as_str());
    match vendor {
        Some("Amazon CloudWatch") => "aws_cloudwatch_inbound_integration",
        Some("Events API V2") => "events_api_v2_inbound_integration",
        _ => "generic_events_api_inbound_integration",
    }
}

fn integration_json(db: &Db, i: &Integration) -> Value {
    let mut v = json!({
        "id": i.id,
        "type": integration_type(db, i),
        "name": i.name,
        "summary": i.name,
        "service": reference(db, "services", &i.service, "service_reference"),
        "integration_key": i.key,
        "created_at": i.created_at,
        "self": format!("{}/services/{}/integrations/{}", db.base_url, i.service, i.id),
        "html_url": format!("{}/services/{}/integrations/{}", db.base_url, i.service, i.id),
    });
    if let Some(vendor) = &i.vendor {
        v["vendor"] = reference(db, "vendors", vendor, "vendor_reference");
    }
    v
}

fn integration_input(db: &Db, body: &Value) -> Result<(Option<String>, Option<String>), Response> {
    let input = body_of(body, "integration")?;
    let vendor = input["vendor"]["id"].as_str().map(str::to_owned);
    if let Some(v) = &vendor
        && db.get("vendors", v).is_none()
    {
        return Err(invalid(vec![format!("Vendor {v} not found")]));
    }
    if vendor.is_none() && input["type"].as_str().is_none() {
        return Err(invalid(vec![
            "Integration type or vendor is required".into(),
        ]));
    }
    Ok((vendor, input["name"].as_str().map(str::to_owned)))
}

pub async fn create_integration(
    State(app): State<Arc<App>>,
    Path(service): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let mut db = lock(&app);
    if db.get("services", &service).is_none() {
        return Err(not_found_error());
    }
    let (vendor, name) = integration_input(&db, &body)?;
    let id = db.id();
    let vendor_name = vendor
        .as_deref()
        .and_then(|v| db.get("vendors", v))
        .and_then(|v| v["name"].as_str())
        .unwrap_or("Events API")
        .to_owned();
    // 32 hex characters, like PagerDuty's keys.
    let key = format!("{:032x}", {
        let mut h: u128 = 0xcbf2_9ce4_8422_2325;
        for b in id.bytes().chain(service.bytes()) {
            h = (h ^ u128::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h
    });
    let integration = Integration {
        id: id.clone(),
        service,
        vendor,
        name: name.unwrap_or(vendor_name),
        key,
        created_at: db.now_text(),
    };
    let out = integration_json(&db, &integration);
    strict::born(&mut db, id.clone());
    db.integrations.insert(id, integration);
    created(json!({ "integration": out }))
}

pub async fn get_integration(
    State(app): State<Arc<App>>,
    Path((service, id)): Path<(String, String)>,
) -> Reply {
    let db = lock(&app);
    if strict::hidden(&db, &id) {
        return Err(not_found_error());
    }
    match db.integrations.get(&id).filter(|i| i.service == service) {
        Some(i) => ok(json!({"integration": integration_json(&db, i)})),
        None => Err(not_found_error()),
    }
}

pub async fn update_integration(
    State(app): State<Arc<App>>,
    Path((service, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Reply {
    let mut db = lock(&app);
    if db
        .integrations
        .get(&id)
        .is_none_or(|i| i.service != service)
    {
        return Err(not_found_error());
    }
    let (vendor, name) = integration_input(&db, &body)?;
    let integration = db.integrations.get_mut(&id).expect("checked");
    if vendor.is_some() {
        integration.vendor = vendor;
    }
    if let Some(name) = name {
        integration.name = name;
    }
    let integration = integration.clone();
    ok(json!({"integration": integration_json(&db, &integration)}))
}

pub async fn delete_integration(
    State(app): State<Arc<App>>,
    Path((service, id)): Path<(String, String)>,
) -> Reply {
    let mut db = lock(&app);
    match db.integrations.get(&id) {
        Some(i) if i.service == service => {
            db.integrations.remove(&id);
            no_content()
        }
        _ => Err(not_found_error()),
    }
}

// ---------------------------------------------------------------- dependencies

fn relationship_json(db: &Db, id: &str, business: &str, supporting: &str) -> Value {
    let _ = db;
    json!({
        "id": id,
        "type": "service_dependency",
        "supporting_service": {"id": supporting, "type": "service"},
        "dependent_service": {"id": business, "type": "business_service"},
    })
}

fn relationships(body: &Value) -> Result<Vec<(String, String)>, Response> {
    let list = body["relationships"]
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| invalid(vec!["relationships is required".into()]))?;
    list.iter()
        .map(|r| {
            let supporting = r["supporting_service"]["id"].as_str();
            let dependent = r["dependent_service"]["id"].as_str();
            match (dependent, supporting) {
                (Some(d), Some(s)) => Ok((d.to_owned(), s.to_owned())),
                _ => Err(invalid(vec![
                    "supporting_service.id and dependent_service.id are required".into(),
                ])),
            }
        })
        .collect()
}

pub async fn associate(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Reply {
    let wanted = relationships(&body)?;
    let mut db = lock(&app);
    let mut out = Vec::new();
    for (business, supporting) in wanted {
        let exists_b = db.get("business_services", &business).is_some()
            || db.get("services", &business).is_some();
        if !exists_b || db.get("services", &supporting).is_none() {
            return Err(not_found_error());
        }
        let existing = db
            .dependencies
            .iter()
            .find(|(_, (b, s))| *b == business && *s == supporting)
            .map(|(id, _)| id.clone());
        let id = match existing {
            Some(id) => id,
            None => {
                let id = db.id();
                db.dependencies
                    .insert(id.clone(), (business.clone(), supporting.clone()));
                strict::born(&mut db, id.clone());
                id
            }
        };
        out.push(relationship_json(&db, &id, &business, &supporting));
    }
    ok(json!({ "relationships": out }))
}

pub async fn disassociate(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Reply {
    let wanted = relationships(&body)?;
    let mut db = lock(&app);
    let mut out = Vec::new();
    for (business, supporting) in wanted {
        let found = db
            .dependencies
            .iter()
            .find(|(_, (b, s))| *b == business && *s == supporting)
            .map(|(id, _)| id.clone());
        let Some(id) = found else {
            return Err(not_found_error());
        };
        db.dependencies.remove(&id);
        out.push(relationship_json(&db, &id, &business, &supporting));
    }
    ok(json!({ "relationships": out }))
}

pub async fn business_dependencies(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let db = lock(&app);
    if db.get("business_services", &id).is_none() {
        return Err(not_found_error());
    }
    let list: Vec<Value> = db
        .dependencies
        .iter()
        .filter(|(rid, (b, _))| *b == id && !strict::hidden(&db, rid))
        .map(|(rid, (b, s))| relationship_json(&db, rid, b, s))
        .collect();
    ok(json!({ "relationships": list }))
}

pub async fn technical_dependencies(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let db = lock(&app);
    if db.get("services", &id).is_none() {
        return Err(not_found_error());
    }
    let list: Vec<Value> = db
        .dependencies
        .iter()
        .filter(|(rid, (_, s))| *s == id && !strict::hidden(&db, rid))
        .map(|(rid, (b, s))| relationship_json(&db, rid, b, s))
        .collect();
    ok(json!({ "relationships": list }))
}

// ---------------------------------------------------------------- incidents

pub async fn list_incidents(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Reply {
    let query = pairs(&query);
    let statuses = all(&query, "statuses[]");
    let services = all(&query, "service_ids[]");
    let users = all(&query, "user_ids[]");
    let since = one(&query, "since").and_then(|s| DateTime::parse_from_rfc3339(&s).ok());
    let until = one(&query, "until").and_then(|s| DateTime::parse_from_rfc3339(&s).ok());
    let all_time = one(&query, "date_range").is_some_and(|d| d == "all");
    let db = lock(&app);
    // Without a range PagerDuty lists the last 30 days.
    let default_since = db.now() - chrono::Duration::days(30);
    let items: Vec<Value> = db
        .incidents
        .values()
        .filter(|i| statuses.is_empty() || statuses.iter().any(|s| i["status"] == **s))
        .filter(|i| services.is_empty() || services.iter().any(|s| i["service"]["id"] == **s))
        // "Returns only the incidents currently assigned to the passed user(s)".
        .filter(|i| {
            users.is_empty()
                || i["assignments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| users.iter().any(|u| a["assignee"]["id"] == **u))
        })
        .filter(|i| {
            let created = i["created_at"]
                .as_str()
                .and_then(|c| DateTime::parse_from_rfc3339(c).ok());
            let Some(created) = created else { return true };
            if all_time {
                return true;
            }
            let after = since.map_or(created >= default_since, |s| created >= s);
            let before = until.is_none_or(|u| created < u);
            after && before
        })
        .cloned()
        .collect();
    paginate("incidents", items, &query)
}

pub async fn get_incident(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let db = lock(&app);
    let incident = db
        .incidents
        .values()
        .find(|i| {
            i["id"] == *id
                || i["incident_number"]
                    .as_u64()
                    .is_some_and(|n| n.to_string() == id)
        })
        .cloned()
        .ok_or_else(not_found_error)?;
    ok(json!({ "incident": incident }))
}

/// The id of the user the `From` header names (PagerDuty requires one on
/// incident updates and maintenance-window creates: `from_header`,
/// `required: true` in rest-openapiv3.json), else the 400 PagerDuty answers.
pub(crate) fn from_user(db: &Db, headers: &HeaderMap) -> Result<String, Response> {
    let from = headers
        .get("from")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    db.list("users")
        .iter()
        .find(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(from))
        })
        .and_then(|u| u["id"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            invalid(vec![
                "The From header must be the email of a valid user".into(),
            ])
        })
}

pub async fn update_incident(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Reply {
    let mut db = lock(&app);
    from_user(&db, &headers)?;
    let input = body_of(&body, "incident")?;
    let status = input["status"].as_str().unwrap_or_default().to_owned();
    if !status.is_empty() && !matches!(status.as_str(), "acknowledged" | "resolved") {
        return Err(invalid(vec![format!("Status {status:?} is not valid")]));
    }
    let now = db.now_text();
    let incident = db.incidents.get_mut(&id).ok_or_else(not_found_error)?;
    let changed = !status.is_empty() && incident["status"] != status.as_str();
    if !status.is_empty() {
        incident["status"] = json!(status);
        incident["last_status_change_at"] = json!(now);
    }
    let incident = incident.clone();
    if status == "resolved" {
        db.dedup.retain(|_, v| *v != id);
    }
    if changed {
        crate::webhooks::incident_event(&mut db, &format!("incident.{status}"), &id);
    }
    ok(json!({ "incident": incident }))
}

// ---------------------------------------------------------------- on-calls

/// `GET /oncalls`: who is on call at each level of each policy. With `since`
/// and `until`, every on-call entry that overlaps the range ("If an on-call
/// period overlaps with the range, it will be included", `since_oncalls`);
/// without, the entries at the current time. A user target is on call without
/// bounds (`start`/`end` null).
pub async fn list_oncalls(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Reply {
    let query = pairs(&query);
    let schedules = all(&query, "schedule_ids[]");
    let policies = all(&query, "escalation_policy_ids[]");
    let users = all(&query, "user_ids[]");
    let time = |key: &str| -> Result<Option<DateTime<chrono::Utc>>, Response> {
        match one(&query, key) {
            None => Ok(None),
            Some(text) => DateTime::parse_from_rfc3339(&text)
                .map(|t| Some(t.with_timezone(&chrono::Utc)))
                .map_err(|_| invalid(vec![format!("{key} must be an ISO 8601 date-time")])),
        }
    };
    let (since, until) = (time("since")?, time("until")?);
    let db = lock(&app);
    let now = db.now();
    let since = since.unwrap_or(now);
    let until = until.unwrap_or(since);
    if until < since {
        return Err(invalid(vec!["until cannot be before since".into()]));
    }
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut entries = Vec::new();
    for policy in db.list("escalation_policies") {
        let pid = policy["id"].as_str().unwrap_or_default();
        if !policies.is_empty() && !policies.iter().any(|p| p == pid) {
            continue;
        }
        for (level, rule) in policy["escalation_rules"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            for target in rule["targets"].as_array().into_iter().flatten() {
                let tid = target["id"].as_str().unwrap_or_default();
                let found: Vec<(Value, String, Value, Value)> = match target["type"].as_str() {
                    Some("schedule_reference") => {
                        if !schedules.is_empty() && !schedules.iter().any(|s| s == tid) {
                            continue;
                        }
                        db.on_calls_for_schedule(tid, since, until)
                            .into_iter()
                            .map(|on_call| {
                                (
                                    reference(&db, "schedules", tid, "schedule_reference"),
                                    on_call.user,
                                    json!(fmt(on_call.start)),
                                    json!(fmt(on_call.end)),
                                )
                            })
                            .collect()
                    }
                    _ => {
                        if !schedules.is_empty() {
                            continue;
                        }
                        vec![(Value::Null, tid.to_owned(), Value::Null, Value::Null)]
                    }
                };
                for (schedule, user, start, end) in found {
                    if !users.is_empty() && !users.contains(&user) {
                        continue;
                    }
                    entries.push(json!({
                        "escalation_policy": reference(&db, "escalation_policies", pid, "escalation_policy_reference"),
                        "escalation_level": level + 1,
                        "schedule": schedule,
                        "user": reference(&db, "users", &user, "user_reference"),
                        "start": start,
                        "end": end,
                    }));
                }
            }
        }
    }
    paginate("oncalls", entries, &query)
}

/// A schedule's rendered entries over `[since, until)`: `final_schedule` and
/// each layer's (`SubSchedule`, `ScheduleLayerEntry`), with the share of the
/// range covered.
fn render_schedule(
    db: &Db,
    object: &mut Value,
    since: DateTime<chrono::Utc>,
    until: DateTime<chrono::Utc>,
) {
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let rendered = |schedule: &Value, highest_first: bool| -> (Vec<Value>, f64) {
        let entries = crate::oncall::render(schedule, since, until, highest_first);
        let covered: i64 = entries
            .iter()
            .map(|e| (e.end - e.start).num_seconds())
            .sum();
        let total = (until - since).num_seconds().max(1);
        let list = entries
            .into_iter()
            .map(|e| {
                json!({
                    "user": reference(db, "users", &e.user, "user_reference"),
                    "start": fmt(e.start),
                    "end": fmt(e.end),
                })
            })
            .collect();
        (
            list,
            (covered as f64 * 1000.0 / total as f64).round() / 10.0,
        )
    };
    let (entries, share) = rendered(object, db.rules.strict);
    let layers = object["schedule_layers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut shown = Vec::new();
    for layer in layers {
        let alone = json!({"time_zone": object["time_zone"], "schedule_layers": [layer.clone()]});
        let (entries, share) = rendered(&alone, true);
        let mut layer = layer;
        layer["rendered_schedule_entries"] = json!(entries);
        layer["rendered_coverage_percentage"] = json!(share);
        shown.push(layer);
    }
    object["schedule_layers"] = json!(shown);
    object["final_schedule"] = json!({
        "name": "Final Schedule",
        "rendered_schedule_entries": entries,
        "rendered_coverage_percentage": share,
    });
}

// ---------------------------------------------------------------- notification

pub async fn contact_methods(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let db = lock(&app);
    db.get("users", &id).ok_or_else(not_found_error)?;
    let methods = db
        .reach
        .get(&id)
        .map(|r| r.contact_methods.clone())
        .unwrap_or_default();
    ok(json!({ "contact_methods": methods }))
}

/// `?urgency=high|low|all`, "If not specified, defaults to `high`" (`urgency`).
pub async fn notification_rules(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let urgency = one(&pairs(&query), "urgency").unwrap_or_else(|| "high".into());
    if !matches!(urgency.as_str(), "high" | "low" | "all") {
        return Err(invalid(vec!["urgency must be high, low or all".into()]));
    }
    let db = lock(&app);
    db.get("users", &id).ok_or_else(not_found_error)?;
    let rules: Vec<Value> = db
        .reach
        .get(&id)
        .map(|r| r.notification_rules.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| urgency == "all" || r["urgency"] == *urgency)
        .collect();
    ok(json!({ "notification_rules": rules }))
}

pub async fn delete_notification_rule(
    State(app): State<Arc<App>>,
    Path((id, rule)): Path<(String, String)>,
) -> Reply {
    let mut db = lock(&app);
    let reach = db.reach.get_mut(&id).ok_or_else(not_found_error)?;
    let before = reach.notification_rules.len();
    reach.notification_rules.retain(|r| r["id"] != *rule);
    if reach.notification_rules.len() == before {
        return Err(not_found_error());
    }
    if let Some(user) = db.objects.get_mut("users").and_then(|u| u.get_mut(&id))
        && let Some(list) = user["notification_rules"].as_array_mut()
    {
        list.retain(|r| r["id"] != *rule);
    }
    no_content()
}

pub async fn incident_log_entries(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let db = lock(&app);
    let incident = db.incidents.get(&id).ok_or_else(not_found_error)?;
    let entries = crate::notify::log_entries(&db, incident, db.now());
    paginate("log_entries", entries, &pairs(&query))
}

pub async fn abilities() -> Reply {
    ok(json!({"abilities": ["teams", "read_only_users", "service_support_hours", "urgencies"]}))
}

// ---------------------------------------------------------------- admin

pub async fn admin_reset(State(app): State<Arc<App>>) -> Reply {
    let mut db = lock(&app);
    let base = db.base_url.clone();
    *db = App::fresh_db(&app.config, &base, &app.webhooks_waiting);
    no_content()
}

pub async fn admin_clock(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Reply {
    let now = body["now"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| invalid(vec!["now must be an RFC 3339 date-time".into()]))?;
    let mut db = lock(&app);
    db.clock_offset = now.with_timezone(&chrono::Utc) - chrono::Utc::now();
    ok(json!({"now": db.now_text()}))
}

pub async fn admin_state(State(app): State<Arc<App>>) -> Reply {
    let db = lock(&app);
    let members: Value = db
        .members
        .iter()
        .map(|(team, m)| (team.clone(), json!(m)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    ok(json!({
        "now": db.now_text(),
        "objects": db.objects,
        "members": members,
        "integrations": db.integrations.values().map(|i| integration_json(&db, i)).collect::<Vec<_>>(),
        "dependencies": db.dependencies.iter().map(|(id, (b, s))| relationship_json(&db, id, b, s)).collect::<Vec<_>>(),
        "incidents": db.incidents.values().cloned().collect::<Vec<_>>(),
        "suppressed_alerts": db.suppressed_alerts,
        "webhook_deliveries": db.webhook_deliveries,
        "tag_links": db.tag_links.iter().map(|(k, e, t)| json!({"entity_type": k, "entity": e, "tag": t})).collect::<Vec<_>>(),
        // How a client kept to the rate limit (benchmarks read it).
        "requests": {
            "rest": app.rest_requests.load(std::sync::atomic::Ordering::Relaxed),
            "answered_429": app.rate_limited.load(std::sync::atomic::Ordering::Relaxed),
        },
    }))
}
