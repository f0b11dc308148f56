//! `pagerduty.event_orchestration_service`: a service's event orchestration —
//! rules over each event's content that set its severity, suppress it, or route
//! it to further rule sets (`GET/PUT /event_orchestrations/services/{id}`, and
//! `…/active` for whether these rules run instead of the legacy event rules).
//! Every service has one, so there is nothing to create or delete: a create
//! writes the rules, a delete writes an empty orchestration back, as
//! terraform-provider-pagerduty does, and an empty one reads as absent.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::super::PagerDutyProvider;
use super::super::object::{compact, object};
use crate::providers::{Desired, Found, Identity, ProviderResult, Resource, ResourceKind};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{Checker, KindInfo, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, PropMap, Target, TerraformMap, prop, same};

pub const NAME: &str = "pagerduty.event_orchestration_service";
pub type Props = wit::EventOrchestrationServiceProps;
pub type Ref = wit::EventOrchestrationServiceRef;

const SEVERITIES: &[&str] = &["critical", "error", "warning", "info"];

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["service", "sets"],
    refs: &[refs("service", &[super::service::NAME])],
    check: check_orchestration,
    replace_on_change: &["service"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_event_orchestration_service",
        block: Block::Resource,
        props: &[
            same("service"),
            same("enable_event_orchestration_for_service"),
            prop(
                "sets",
                Target::Blocks {
                    block: "set",
                    fields: SET,
                },
            ),
            // Terraform's `catch_all` block holds an `actions` block.
            prop(
                "catch_all",
                Target::Blocks {
                    block: "catch_all.actions",
                    fields: ACTIONS,
                },
            ),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "service", "set", "catch_all"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{service}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/event_orchestration_service#import",
        identity: &["service"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

const SET: &[PropMap] = &[
    same("id"),
    prop(
        "rules",
        Target::Blocks {
            block: "rule",
            fields: RULE,
        },
    ),
];

const RULE: &[PropMap] = &[
    same("label"),
    prop(
        "conditions",
        Target::Each {
            block: "condition",
            attr: "expression",
        },
    ),
    prop(
        "actions",
        Target::Blocks {
            block: "actions",
            fields: ACTIONS,
        },
    ),
    same("disabled"),
];

const ACTIONS: &[PropMap] = &[
    same("route_to"),
    same("suppress"),
    same("suspend"),
    same("severity"),
    same("event_action"),
    same("priority"),
    same("annotate"),
];

/// A service id is the orchestration's id (the provider's "Import" section:
/// `terraform import pagerduty_event_orchestration_service.x SERVICE_ID`).
fn import_prior(id: &str, props: &Map<String, Value>) -> Result<Resource, String> {
    let mut prior = blueprint_model::import_id::id_only(id, props)?;
    prior.props.insert("service".into(), json!(id));
    Ok(prior)
}

/// The sets form a tree from `start`: ids unique, every `route_to` names a set
/// of this orchestration other than `start`, and values PagerDuty's schema
/// allows.
fn check_orchestration(c: &mut Checker<'_>) {
    let sets = c.array("sets");
    let ids: Vec<&str> = sets.iter().filter_map(|s| s["id"].as_str()).collect();
    if !ids.contains(&"start") {
        c.bad("sets", "needs the set `start`, where evaluation begins");
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            c.bad(
                &format!("sets[{i}].id"),
                format!("{id:?} is the id of another set"),
            );
        }
    }
    let mut actions: Vec<(String, Value)> = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        for (j, rule) in set["rules"].as_array().into_iter().flatten().enumerate() {
            let at = format!("sets[{i}].rules[{j}]");
            for (k, condition) in rule["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if condition.as_str().is_none_or(|e| e.trim().is_empty()) {
                    c.bad(&format!("{at}.conditions[{k}]"), "is empty");
                }
            }
            actions.push((format!("{at}.actions"), rule["actions"].clone()));
        }
    }
    if c.present("catch_all") {
        actions.push(("catch_all".into(), c.value("catch_all").clone()));
    }
    for (at, a) in actions {
        if let Some(route) = a["route_to"].as_str() {
            if route == "start" || !ids.contains(&route) {
                c.bad(
                    &format!("{at}.route_to"),
                    format!("{route:?} is not a set of this orchestration (other than start)"),
                );
            }
            if at == "catch_all" {
                c.bad("catch_all.route_to", "a catch-all cannot route");
            }
        }
        if let Some(severity) = a["severity"].as_str()
            && !SEVERITIES.contains(&severity)
        {
            c.bad(
                &format!("{at}.severity"),
                format!("{severity:?} is not one of {}", SEVERITIES.join(", ")),
            );
        }
        if let Some(action) = a["event_action"].as_str()
            && !["trigger", "resolve"].contains(&action)
        {
            c.bad(
                &format!("{at}.event_action"),
                format!("{action:?} is not trigger or resolve"),
            );
        }
    }
}

pub struct Kind;

fn path(service: &str) -> String {
    format!("/event_orchestrations/services/{service}")
}

fn actions_to_api(a: &wit::OrchestrationActions) -> Value {
    compact(json!({
        "route_to": a.route_to,
        "suppress": a.suppress,
        "suspend": a.suspend,
        "severity": a.severity,
        "event_action": a.event_action,
        "priority": a.priority,
        "annotate": a.annotate,
    }))
}

fn to_api(p: &Props) -> Value {
    let sets: Vec<Value> = p
        .sets
        .iter()
        .map(|set| {
            let rules: Vec<Value> = set
                .rules
                .iter()
                .map(|r| {
                    compact(json!({
                        "label": r.label,
                        "conditions": r.conditions.iter().map(|e| json!({"expression": e})).collect::<Vec<_>>(),
                        "actions": actions_to_api(&r.actions),
                        "disabled": r.disabled,
                    }))
                })
                .collect();
            json!({"id": set.id, "rules": rules})
        })
        .collect();
    let catch_all = p.catch_all.as_ref().map_or(json!({}), actions_to_api);
    json!({"orchestration_path": {
        "type": "service",
        "parent": {"id": p.service, "type": "service_reference"},
        "sets": sets,
        "catch_all": {"actions": catch_all},
    }})
}

fn actions_from_api(a: &Value) -> Value {
    let field = |k: &str| a.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "route_to": field("route_to"),
        "suppress": field("suppress"),
        "suspend": field("suspend"),
        "severity": field("severity"),
        "event_action": field("event_action"),
        "priority": field("priority"),
        "annotate": field("annotate"),
    })
}

fn resource(service: &str, path: &Value, active: &Value) -> Resource {
    let sets: Vec<Value> = path["sets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|set| {
            let rules: Vec<Value> = set["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let conditions: Vec<Value> = r["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| c["expression"].clone())
                        .collect();
                    json!({
                        "label": r.get("label").cloned().unwrap_or(Value::Null),
                        "conditions": conditions,
                        "actions": actions_from_api(&r["actions"]),
                        "disabled": r.get("disabled").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            json!({"id": set["id"], "rules": rules})
        })
        .collect();
    let catch_all = &path["catch_all"]["actions"];
    let catch_all = if catch_all.as_object().is_none_or(Map::is_empty) {
        Value::Null
    } else {
        actions_from_api(catch_all)
    };
    Resource {
        id: service.to_owned(),
        props: object(vec![
            ("service", json!(service)),
            (
                "enable_event_orchestration_for_service",
                active["active"].clone(),
            ),
            ("sets", Value::Array(sets)),
            ("catch_all", catch_all),
        ]),
        outputs: [("id".to_owned(), service.to_owned())].into(),
    }
}

async fn write(pd: &PagerDutyProvider, p: &Props, address: &str) -> ProviderResult<Resource> {
    let (at, body) = (path(&p.service), to_api(p));
    let written = super::super::while_propagating(pd, &format!("write {address}"), &[404], || {
        pd.client.call(Method::PUT, &at, &[], Some(&body))
    })
    .await
    .map_err(|e| e.at(address))?;
    let active = json!({"active": p.enable_event_orchestration_for_service.unwrap_or(true)});
    let answered = pd
        .client
        .call(
            Method::PUT,
            &format!("{}/active", path(&p.service)),
            &[],
            Some(&active),
        )
        .await
        .map_err(|e| e.at(address))?;
    Ok(resource(
        &p.service,
        &written["orchestration_path"],
        &answered,
    ))
}

async fn read_path(pd: &PagerDutyProvider, service: &str) -> ProviderResult<Option<Resource>> {
    let address = format!("event orchestration of service {service}");
    let found = match pd.client.get(&path(service), &[]).await {
        Ok(found) => found,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.at(&address)),
    };
    let active = match pd
        .client
        .get(&format!("{}/active", path(service)), &[])
        .await
    {
        Ok(active) => active,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.at(&address)),
    };
    let path = &found["orchestration_path"];
    // An empty orchestration (what a service starts with, and what `delete`
    // leaves) is no node's: as if absent.
    let empty = path["sets"].as_array().is_none_or(|sets| {
        sets.iter()
            .all(|s| s["rules"].as_array().is_none_or(Vec::is_empty))
    }) && path["catch_all"]["actions"]
        .as_object()
        .is_none_or(Map::is_empty);
    if empty {
        return Ok(None);
    }
    Ok(Some(resource(service, path, &active)))
}

/// What compares: no absent fields, and `false` flags as absent (PagerDuty's
/// defaults).
fn normal(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null() && **v != Value::Bool(false))
                .map(|(k, v)| (k.clone(), normal(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normal).collect()),
        other => other.clone(),
    }
}

#[async_trait]
impl ResourceKind<PagerDutyProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Found by its service: a service has exactly one.
    fn identity(&self) -> Identity {
        Identity::Parents
    }

    async fn create(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        write(pd, &p, &d.address()).await
    }

    async fn read(
        &self,
        pd: &PagerDutyProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        read_path(pd, &prior.id).await
    }

    async fn update(
        &self,
        pd: &PagerDutyProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        write(pd, &p, &d.address()).await
    }

    /// Empties the orchestration (its service keeps one); a deleted service
    /// took it along.
    async fn delete(&self, pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
        let empty = json!({"orchestration_path": {
            "type": "service",
            "parent": {"id": prior.id, "type": "service_reference"},
            "sets": [{"id": "start", "rules": []}],
            "catch_all": {"actions": {}},
        }});
        match pd
            .client
            .call(Method::PUT, &path(&prior.id), &[], Some(&empty))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.at(&format!("event orchestration of service {}", prior.id))),
        }
    }

    async fn find(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        read_path(pd, &p.service).await.map(Found::part)
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        match prop {
            "enable_event_orchestration_for_service" => {
                desired.as_bool().unwrap_or(true) == observed.as_bool().unwrap_or(true)
            }
            "sets" | "catch_all" => normal(desired) == normal(observed),
            _ => false,
        }
    }
}
