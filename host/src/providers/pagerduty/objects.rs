//! Plain PagerDuty objects: one create/read/update/delete path; each kind only
//! says where it lives and how its props map to and from PagerDuty's JSON.

use chrono::DateTime;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{PagerDutyProvider, reference};
use crate::engine::resolve::same;
use crate::providers::{Desired, ProviderResult, Resource};

pub struct Spec {
    /// `/teams`
    pub collection: &'static str,
    /// The singular body key: `team`.
    pub key: &'static str,
    /// Props -> PagerDuty body (inside the key).
    pub to_api: fn(&Map<String, Value>) -> Value,
    /// PagerDuty object -> props, in the shape the blueprint declares them.
    pub from_api: fn(&Value) -> Map<String, Value>,
}

pub fn spec(kind: &str) -> Option<&'static Spec> {
    Some(match kind {
        "pagerduty.team" => &TEAM,
        "pagerduty.business_service" => &BUSINESS_SERVICE,
        "pagerduty.schedule" => &SCHEDULE,
        "pagerduty.escalation_policy" => &ESCALATION_POLICY,
        "pagerduty.service" => &SERVICE,
        _ => return None,
    })
}

fn s(props: &Map<String, Value>, key: &str) -> Value {
    props.get(key).cloned().unwrap_or(Value::Null)
}

/// `{"id": x, "type": kind}` for a non-null id prop, else null.
fn reference_of(props: &Map<String, Value>, key: &str, kind: &str) -> Value {
    props
        .get(key)
        .and_then(Value::as_str)
        .map_or(Value::Null, |id| reference(id, kind))
}

fn references(props: &Map<String, Value>, key: &str, kind: &str) -> Value {
    match props.get(key).and_then(Value::as_array) {
        Some(ids) => Value::Array(
            ids.iter()
                .filter_map(Value::as_str)
                .map(|id| reference(id, kind))
                .collect(),
        ),
        None => Value::Null,
    }
}

fn id_of(value: &Value) -> Value {
    value.get("id").cloned().unwrap_or(Value::Null)
}

fn ids_of(value: &Value) -> Value {
    match value.as_array() {
        Some(items) => Value::Array(items.iter().map(id_of).collect()),
        None => Value::Null,
    }
}

/// Drop nulls: PagerDuty rejects `null` where its schema is not nullable.
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, compact(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(compact).collect()),
        other => other,
    }
}

fn object(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

static TEAM: Spec = Spec {
    collection: "/teams",
    key: "team",
    to_api: |p| {
        json!({
            "type": "team",
            "name": s(p, "name"),
            "description": s(p, "description"),
            "parent": reference_of(p, "parent", "team_reference"),
        })
    },
    from_api: |v| {
        object(vec![
            ("name", v["name"].clone()),
            ("description", v["description"].clone()),
            ("parent", id_of(&v["parent"])),
        ])
    },
};

static BUSINESS_SERVICE: Spec = Spec {
    collection: "/business_services",
    key: "business_service",
    to_api: |p| {
        json!({
            "name": s(p, "name"),
            "description": s(p, "description"),
            "point_of_contact": s(p, "point_of_contact"),
            "team": reference_of(p, "team", "team_reference"),
        })
    },
    from_api: |v| {
        object(vec![
            ("name", v["name"].clone()),
            ("description", v["description"].clone()),
            ("point_of_contact", v["point_of_contact"].clone()),
            ("team", id_of(&v["team"])),
        ])
    },
};

static SCHEDULE: Spec = Spec {
    collection: "/schedules",
    key: "schedule",
    to_api: |p| {
        let layers: Vec<Value> = p
            .get("layers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|l| {
                let users: Vec<Value> = l["users"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|id| json!({"user": reference(id, "user_reference")}))
                    .collect();
                let restrictions: Vec<Value> = l["restrictions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        json!({
                            "type": r["restriction_type"],
                            "start_time_of_day": r["start_time_of_day"],
                            "duration_seconds": r["duration_seconds"],
                            "start_day_of_week": r["start_day_of_week"],
                        })
                    })
                    .collect();
                json!({
                    "name": l["name"],
                    "start": l["start"],
                    "end": l["end"],
                    "rotation_virtual_start": l["rotation_virtual_start"],
                    "rotation_turn_length_seconds": l["rotation_turn_length_seconds"],
                    "users": users,
                    "restrictions": restrictions,
                })
            })
            .collect();
        json!({
            "type": "schedule",
            "name": s(p, "name"),
            "time_zone": s(p, "time_zone"),
            "description": s(p, "description"),
            "schedule_layers": layers,
            "teams": references(p, "teams", "team_reference"),
        })
    },
    from_api: |v| {
        let layers: Vec<Value> = v["schedule_layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                let users: Vec<Value> = l["users"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|u| id_of(&u["user"]))
                    .collect();
                let restrictions: Vec<Value> = l["restrictions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        json!({
                            "restriction_type": r["type"],
                            "start_time_of_day": r["start_time_of_day"],
                            "duration_seconds": r["duration_seconds"],
                            "start_day_of_week": r["start_day_of_week"],
                        })
                    })
                    .collect();
                json!({
                    "name": l["name"],
                    "start": l["start"],
                    "end": l["end"],
                    "rotation_virtual_start": l["rotation_virtual_start"],
                    "rotation_turn_length_seconds": l["rotation_turn_length_seconds"],
                    "users": users,
                    "restrictions": restrictions,
                })
            })
            .collect();
        object(vec![
            ("name", v["name"].clone()),
            ("time_zone", v["time_zone"].clone()),
            ("description", v["description"].clone()),
            ("layers", Value::Array(layers)),
            ("teams", ids_of(&v["teams"])),
        ])
    },
};

static ESCALATION_POLICY: Spec = Spec {
    collection: "/escalation_policies",
    key: "escalation_policy",
    to_api: |p| {
        let rules: Vec<Value> = p
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| {
                let targets: Vec<Value> = r["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| json!({"id": t["id"], "type": t["target_type"]}))
                    .collect();
                json!({
                    "escalation_delay_in_minutes": r["escalation_delay_in_minutes"],
                    "targets": targets,
                })
            })
            .collect();
        json!({
            "type": "escalation_policy",
            "name": s(p, "name"),
            "description": s(p, "description"),
            "num_loops": s(p, "num_loops"),
            "escalation_rules": rules,
            "teams": references(p, "teams", "team_reference"),
        })
    },
    from_api: |v| {
        let rules: Vec<Value> = v["escalation_rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let targets: Vec<Value> = r["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| json!({"target_type": t["type"], "id": t["id"]}))
                    .collect();
                json!({
                    "escalation_delay_in_minutes": r["escalation_delay_in_minutes"],
                    "targets": targets,
                })
            })
            .collect();
        object(vec![
            ("name", v["name"].clone()),
            ("description", v["description"].clone()),
            ("num_loops", v["num_loops"].clone()),
            ("rules", Value::Array(rules)),
            ("teams", ids_of(&v["teams"])),
        ])
    },
};

static SERVICE: Spec = Spec {
    collection: "/services",
    key: "service",
    to_api: |p| {
        json!({
            "type": "service",
            "name": s(p, "name"),
            "description": s(p, "description"),
            "escalation_policy": reference_of(p, "escalation_policy", "escalation_policy_reference"),
            "acknowledgement_timeout": s(p, "acknowledgement_timeout"),
            "auto_resolve_timeout": s(p, "auto_resolve_timeout"),
            "alert_creation": s(p, "alert_creation"),
        })
    },
    from_api: |v| {
        object(vec![
            ("name", v["name"].clone()),
            ("description", v["description"].clone()),
            ("escalation_policy", id_of(&v["escalation_policy"])),
            (
                "acknowledgement_timeout",
                v["acknowledgement_timeout"].clone(),
            ),
            ("auto_resolve_timeout", v["auto_resolve_timeout"].clone()),
            ("alert_creation", v["alert_creation"].clone()),
        ])
    },
};

fn resource(spec: &Spec, object: &Value) -> Resource {
    let id = object["id"].as_str().unwrap_or_default().to_owned();
    Resource {
        props: (spec.from_api)(object),
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    }
}

pub async fn create(
    pd: &PagerDutyProvider,
    spec: &Spec,
    desired: &Desired<'_>,
) -> ProviderResult<Resource> {
    let body = json!({ spec.key: compact((spec.to_api)(desired.props)) });
    // A fresh team or policy may not be visible yet to the create that uses it.
    let created =
        super::while_propagating(pd, &format!("create {}", desired.address()), &[404], || {
            pd.client
                .call(Method::POST, spec.collection, &[], Some(&body))
        })
        .await
        .map_err(|e| e.at(&desired.address()))?;
    Ok(resource(spec, &created[spec.key]))
}

pub async fn read(
    pd: &PagerDutyProvider,
    spec: &Spec,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    let path = format!("{}/{}", spec.collection, prior.id);
    match pd.client.get(&path, &[]).await {
        Ok(found) => Ok(Some(resource(spec, &found[spec.key]))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.at(&format!("{} {}", spec.key, prior.id))),
    }
}

pub async fn update(
    pd: &PagerDutyProvider,
    spec: &Spec,
    desired: &Desired<'_>,
    prior: &Resource,
) -> ProviderResult<Resource> {
    let path = format!("{}/{}", spec.collection, prior.id);
    let mut api = compact((spec.to_api)(desired.props));
    if spec.key == "schedule" {
        keep_layer_ids(pd, &path, &mut api).await;
    }
    let body = json!({ spec.key: api });
    let updated = pd
        .client
        .call(Method::PUT, &path, &[], Some(&body))
        .await
        .map_err(|e| e.at(&desired.address()))?;
    Ok(resource(spec, &updated[spec.key]))
}

/// A schedule update keeps its layers (and their history) when it names their
/// ids; match the desired layers to the existing ones by position.
async fn keep_layer_ids(pd: &PagerDutyProvider, path: &str, api: &mut Value) {
    let Ok(current) = pd.client.get(path, &[]).await else {
        return;
    };
    let ids: Vec<Value> = current["schedule"]["schedule_layers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(id_of)
        .collect();
    if let Some(layers) = api["schedule_layers"].as_array_mut() {
        for (layer, id) in layers.iter_mut().zip(ids) {
            if !id.is_null() {
                layer["id"] = id;
            }
        }
    }
}

pub async fn delete(pd: &PagerDutyProvider, spec: &Spec, prior: &Resource) -> ProviderResult<()> {
    let path = format!("{}/{}", spec.collection, prior.id);
    match pd.client.call(Method::DELETE, &path, &[], None).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.at(&format!("{} {}", spec.key, prior.id))),
    }
}

/// After an interrupted create: an object of this kind with exactly the desired
/// name (PagerDuty has no tags on these objects).
pub async fn find(
    pd: &PagerDutyProvider,
    spec: &Spec,
    desired: &Desired<'_>,
) -> ProviderResult<Option<Resource>> {
    let Some(name) = desired.str("name") else {
        return Ok(None);
    };
    let list_key = spec.collection.trim_start_matches('/');
    let query = if spec.key == "business_service" {
        vec![]
    } else {
        vec![("query", name.to_owned())]
    };
    let items = pd
        .client
        .list(spec.collection, list_key, &query)
        .await
        .map_err(|e| e.at(&desired.address()))?;
    Ok(items
        .iter()
        .find(|item| item["name"].as_str() == Some(name))
        .map(|item| resource(spec, item)))
}

/// Date-times compare as instants (PagerDuty may answer in another offset), and an
/// absent list equals an empty one.
pub fn equivalent(kind: &str, prop: &str, desired: &Value, observed: &Value) -> bool {
    if kind == "pagerduty.schedule" && prop == "layers" {
        return same(&normalize_layers(desired), &normalize_layers(observed));
    }
    same(desired, observed)
}

fn normalize_layers(layers: &Value) -> Value {
    let instant = |v: &Value| match v.as_str().map(DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => json!(t.timestamp()),
        _ => v.clone(),
    };
    match layers.as_array() {
        Some(items) => Value::Array(
            items
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    for key in ["start", "end", "rotation_virtual_start"] {
                        l[key] = instant(&l[key]);
                    }
                    if l["restrictions"].is_null() {
                        l["restrictions"] = json!([]);
                    }
                    l
                })
                .collect(),
        ),
        None => layers.clone(),
    }
}
