//! `pagerduty.service`: a technical service incidents are opened on.

use serde_json::{Map, Value, json};

use super::super::object::{PlainObject, id_of, object, reference_opt};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, Role, out, parse_as, refs, same_value};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same, text};

pub const NAME: &str = "pagerduty.service";
pub type Props = wit::ServiceProps;
pub type Ref = wit::ServiceRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::PagedService),
    outputs: &[out("id")],
    required: &["name", "escalation_policy"],
    refs: &[refs("escalation_policy", &[super::escalation_policy::NAME])],
    check: |c| {
        c.one_of(
            "alert_creation",
            &["create_incidents", "create_alerts_and_incidents"],
        );
        check_urgency(c);
        check_grouping(c);
        for timeout in ["acknowledgement_timeout", "auto_resolve_timeout"] {
            if c.number(timeout) == Some(0.0) {
                c.bad(
                    timeout,
                    "must be at least 1 second; leave it out to disable",
                );
            }
        }
    },
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_service",
        block: Block::Resource,
        props: &[
            same("name"),
            same("description"),
            same("escalation_policy"),
            // Strings in the provider; an absent timeout is disabled on the host
            // (PagerDuty's API default) but defaults to a value in the provider,
            // whose way to disable is the string "null".
            text("acknowledgement_timeout", "acknowledgement_timeout").absent("null"),
            text("auto_resolve_timeout", "auto_resolve_timeout").absent("null"),
            same("alert_creation"),
            same("urgency"),
            same("support_hours"),
            same("urgency_during_support_hours"),
            same("urgency_outside_support_hours"),
            same("raise_urgency_at_support_hours_start"),
            same("alert_grouping"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "html_url", "status"],
        finish: Some(terraform_blocks),
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/service#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

const URGENCIES: &[&str] = &["high", "low", "severity_based"];

/// The urgency props make sense together (the OpenAPI document's
/// IncidentUrgencyRule, SupportHours and ScheduledAction).
fn check_urgency(c: &mut blueprint_model::kind::Checker<'_>) {
    for prop in [
        "urgency",
        "urgency_during_support_hours",
        "urgency_outside_support_hours",
    ] {
        c.one_of(prop, URGENCIES);
    }
    let hours = c.present("support_hours");
    if hours && c.present("urgency") {
        c.bad(
            "urgency",
            "is the constant urgency: with support_hours, set urgency_during_support_hours and urgency_outside_support_hours",
        );
    }
    for prop in [
        "urgency_during_support_hours",
        "urgency_outside_support_hours",
        "raise_urgency_at_support_hours_start",
    ] {
        if !hours && c.present(prop) {
            c.bad(prop, "needs support_hours");
        }
    }
    // ScheduledAction: "to_urgency ... Must be set to high": it raises a low
    // urgency when support hours start.
    if c.value("raise_urgency_at_support_hours_start") == &json!(true)
        && c.literal("urgency_outside_support_hours").unwrap_or("low") != "low"
    {
        c.bad(
            "raise_urgency_at_support_hours_start",
            "raises low-urgency incidents: urgency_outside_support_hours must be low",
        );
    }
    if hours {
        for day in c.array("support_hours.days_of_week") {
            if !day.as_u64().is_some_and(|d| (1..=7).contains(&d)) {
                c.bad(
                    "support_hours.days_of_week",
                    format!("{day} is not a day of the week (1 Monday to 7 Sunday)"),
                );
            }
        }
        let time = |c: &blueprint_model::kind::Checker<'_>, path: &str| {
            c.literal(path)
                .and_then(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").ok())
        };
        for path in ["support_hours.start_time", "support_hours.end_time"] {
            if c.literal(path).is_some() && time(c, path).is_none() {
                c.bad(path, "is not a time of day HH:MM:SS");
            }
        }
        if let (Some(start), Some(end)) = (
            time(c, "support_hours.start_time"),
            time(c, "support_hours.end_time"),
        ) && start >= end
        {
            c.bad(
                "support_hours.end_time",
                "must be after start_time (support hours are one window within a day)",
            );
        }
    }
}

/// Alert grouping as the OpenAPI document's `alert_grouping_parameters`
/// allows it (AlertGroupingParameters and its Time, ContentBased and
/// FlexibleTimeWindowIntelligent configurations): a type; `fields` and
/// `aggregate` (all or any) for content-based grouping; `timeout` (minutes, 0
/// to 1440) for time grouping; `time_window` (seconds: 0 for PagerDuty's
/// recommended window, 300 to 3600, or 86400 for content-based) for the other
/// two; and alerts to group (a service that opens incidents without alerts has
/// none).
fn check_grouping(c: &mut blueprint_model::kind::Checker<'_>) {
    if !c.present("alert_grouping") {
        return;
    }
    c.one_of(
        "alert_grouping.grouping_type",
        &["time", "content_based", "intelligent"],
    );
    c.one_of("alert_grouping.aggregate", &["all", "any"]);
    let kind = c.literal("alert_grouping.grouping_type").map(str::to_owned);
    let content = kind.as_deref() == Some("content_based");
    let time = kind.as_deref() == Some("time");
    if content && c.array("alert_grouping.fields").is_empty() {
        c.bad(
            "alert_grouping.fields",
            "content-based grouping needs the alert fields that must match",
        );
    }
    if !content {
        for prop in ["alert_grouping.fields", "alert_grouping.aggregate"] {
            if c.present(prop) {
                c.bad(prop, "is for content_based grouping");
            }
        }
    }
    if let Some(timeout) = c.number("alert_grouping.timeout") {
        if !time {
            c.bad("alert_grouping.timeout", "is for time grouping");
        } else if !(0.0..=1440.0).contains(&timeout) {
            c.bad(
                "alert_grouping.timeout",
                "must be 0 (until the incident resolves) to 1440 minutes",
            );
        }
    }
    if let Some(window) = c.number("alert_grouping.time_window") {
        let day = content && window == 86400.0;
        if time {
            c.bad(
                "alert_grouping.time_window",
                "is for content_based and intelligent grouping (time grouping has timeout)",
            );
        } else if !(window == 0.0 || (300.0..=3600.0).contains(&window) || day) {
            c.bad(
                "alert_grouping.time_window",
                "must be 0 (PagerDuty's recommended window), 300 to 3600 seconds, or 86400 for content_based",
            );
        }
    }
    if c.literal("alert_creation") == Some("create_incidents") {
        c.bad(
            "alert_grouping",
            "groups alerts: alert_creation must be create_alerts_and_incidents",
        );
    }
}

fn grouping_to_api(g: Option<&wit::AlertGrouping>) -> Value {
    match g {
        Some(g) => json!({
            "type": g.grouping_type,
            "config": {
                "timeout": g.timeout,
                "aggregate": g.aggregate,
                "fields": g.fields,
                "time_window": g.time_window,
            },
        }),
        None => Value::Null,
    }
}

fn grouping_from_api(v: &Value) -> Value {
    match v["type"].as_str() {
        Some(kind) => {
            let c = &v["config"];
            json!({
                "grouping_type": kind,
                "timeout": c.get("timeout"),
                "aggregate": c.get("aggregate"),
                "fields": c.get("fields"),
                "time_window": c.get("time_window"),
            })
        }
        None => Value::Null,
    }
}

/// Terraform's blocks (`incident_urgency_rule`, `support_hours`,
/// `scheduled_actions`, `alert_grouping_parameters`) from the flat props.
fn terraform_blocks(body: &mut Map<String, Value>) {
    if let Some(Value::Object(mut g)) = body.remove("alert_grouping") {
        let kind = g.remove("grouping_type").unwrap_or(Value::Null);
        g.retain(|_, v| !v.is_null());
        let mut block = json!({"type": kind});
        if !g.is_empty() {
            block["config"] = json!([g]);
        }
        body.insert("alert_grouping_parameters".into(), json!([block]));
    }
    let hours = body.remove("support_hours");
    let constant = body.remove("urgency");
    let during = body.remove("urgency_during_support_hours");
    let outside = body.remove("urgency_outside_support_hours");
    let raise = body.remove("raise_urgency_at_support_hours_start");
    let rule = urgency_rule(hours.as_ref(), constant, during, outside);
    if let Value::Object(mut rule) = rule {
        for key in ["during_support_hours", "outside_support_hours"] {
            if let Some(inner) = rule.remove(key) {
                rule.insert(key.into(), json!([inner]));
            }
        }
        body.insert("incident_urgency_rule".into(), json!([rule]));
    }
    if let Some(Value::Object(mut hours)) = hours {
        hours.insert("type".into(), json!("fixed_time_per_day"));
        body.insert("support_hours".into(), json!([hours]));
    }
    if raise == Some(json!(true)) {
        body.insert(
            "scheduled_actions".into(),
            json!([{"type": "urgency_change", "to_urgency": "high",
                    "at": [{"type": "named_time", "name": "support_hours_start"}]}]),
        );
    }
}

/// PagerDuty's `incident_urgency_rule`: by support hours when there are some,
/// else constant (its default, high).
fn urgency_rule(
    hours: Option<&Value>,
    constant: Option<Value>,
    during: Option<Value>,
    outside: Option<Value>,
) -> Value {
    let pick = |v: Option<Value>, default: &str| match v {
        Some(Value::String(s)) => s,
        _ => default.to_owned(),
    };
    if hours.is_some_and(|h| !h.is_null()) {
        json!({
            "type": "use_support_hours",
            "during_support_hours": {"type": "constant", "urgency": pick(during, "high")},
            "outside_support_hours": {"type": "constant", "urgency": pick(outside, "low")},
        })
    } else {
        json!({"type": "constant", "urgency": pick(constant, "high")})
    }
}

pub struct Kind;

impl PlainObject for Kind {
    type Props = Props;
    const COLLECTION: &'static str = "/services";
    const KEY: &'static str = "service";

    fn info() -> &'static KindInfo {
        &INFO
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn to_api(p: &Props) -> Value {
        json!({
            "type": "service",
            "name": p.name,
            "description": p.description,
            "escalation_policy": reference_opt(Some(&p.escalation_policy), "escalation_policy_reference"),
            "acknowledgement_timeout": p.acknowledgement_timeout,
            "auto_resolve_timeout": p.auto_resolve_timeout,
            "alert_creation": p.alert_creation,
            "incident_urgency_rule": urgency_rule(
                p.support_hours.as_ref().map(|_| &Value::Bool(true)),
                p.urgency.clone().map(Value::String),
                p.urgency_during_support_hours.clone().map(Value::String),
                p.urgency_outside_support_hours.clone().map(Value::String),
            ),
            "support_hours": p.support_hours.as_ref().map(|h| json!({
                "type": "fixed_time_per_day",
                "time_zone": h.time_zone,
                "days_of_week": h.days_of_week,
                "start_time": h.start_time,
                "end_time": h.end_time,
            })),
            "alert_grouping_parameters": grouping_to_api(p.alert_grouping.as_ref()),
            "scheduled_actions": if p.raise_urgency_at_support_hours_start == Some(true) {
                json!([{"type": "urgency_change", "to_urgency": "high",
                        "at": {"type": "named_time", "name": "support_hours_start"}}])
            } else {
                json!([])
            },
        })
    }

    /// A timeout removed from the blueprint is switched off: "Setting this field
    /// to `0`, `null` (or unset in POST request) will disable the feature" (the
    /// OpenAPI document, Service.auto_resolve_timeout and
    /// acknowledgement_timeout). `0` rather than `null`: the schema does not
    /// declare them nullable. PagerDuty then reads them back as null.
    /// Grouping removed from the blueprint is switched off: "To turn grouping
    /// off set the type to null" (the document's AlertGroupingParameters).
    fn clear_removed(body: &mut Value) {
        for key in ["auto_resolve_timeout", "acknowledgement_timeout"] {
            if body.get(key).is_none_or(Value::is_null) {
                body[key] = json!(0);
            }
        }
        if body
            .get("alert_grouping_parameters")
            .is_none_or(Value::is_null)
        {
            body["alert_grouping_parameters"] = json!({"type": null});
        }
    }

    /// PagerDuty migrates `create_incidents` (deprecated) to
    /// `create_alerts_and_incidents` and reads the service back so (the
    /// document's Service.alert_creation): that is the declared value, not a
    /// change to make on every plan.
    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        (prop == "alert_creation"
            && desired == "create_incidents"
            && observed == "create_alerts_and_incidents")
            || same_value(desired, observed)
    }

    fn from_api(v: &Value) -> Map<String, Value> {
        let rule = &v["incident_urgency_rule"];
        let (constant, during, outside) = match rule["type"].as_str() {
            Some("use_support_hours") => (
                Value::Null,
                rule["during_support_hours"]["urgency"].clone(),
                rule["outside_support_hours"]["urgency"].clone(),
            ),
            _ => (rule["urgency"].clone(), Value::Null, Value::Null),
        };
        let hours = match &v["support_hours"] {
            Value::Object(h) => json!({
                "time_zone": h.get("time_zone"),
                "days_of_week": h.get("days_of_week"),
                "start_time": h.get("start_time"),
                "end_time": h.get("end_time"),
            }),
            _ => Value::Null,
        };
        let raise = if hours.is_null() {
            Value::Null
        } else {
            json!(v["scheduled_actions"].as_array().is_some_and(|actions| {
                actions
                    .iter()
                    .any(|a| a["at"]["name"] == "support_hours_start" && a["to_urgency"] == "high")
            }))
        };
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
            ("urgency", constant),
            ("support_hours", hours),
            ("urgency_during_support_hours", during),
            ("urgency_outside_support_hours", outside),
            ("raise_urgency_at_support_hours_start", raise),
            (
                "alert_grouping",
                grouping_from_api(&v["alert_grouping_parameters"]),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::object::PlainObject;

    #[test]
    fn urgency_by_support_hours_reads_back_as_declared() {
        use super::Props;
        use serde_json::Value;
        let declared = json!({
            "name": "api", "escalation_policy": "P1",
            "support_hours": {"time_zone": "Asia/Tokyo", "days_of_week": [1, 2, 3, 4, 5],
                              "start_time": "09:00:00", "end_time": "18:00:00"},
            "urgency_outside_support_hours": "low",
            "raise_urgency_at_support_hours_start": true,
        });
        let p: Props = serde_json::from_value(declared.clone()).unwrap();
        let api = <super::Kind as PlainObject>::to_api(&p);
        assert_eq!(api["incident_urgency_rule"]["type"], "use_support_hours");
        assert_eq!(api["support_hours"]["type"], "fixed_time_per_day");
        assert_eq!(api["scheduled_actions"][0]["to_urgency"], "high");
        let read = <super::Kind as PlainObject>::from_api(&api);
        for (prop, value) in declared.as_object().unwrap() {
            if prop != "escalation_policy" {
                assert_eq!(&read[prop], value, "{prop}");
            }
        }
        assert_eq!(read["urgency_during_support_hours"], "high");
        // Without support hours: a constant urgency, no scheduled action.
        let p: Props = serde_json::from_value(json!({"name": "a", "escalation_policy": "P1",
                                                     "urgency": "low"}))
        .unwrap();
        let api = <super::Kind as PlainObject>::to_api(&p);
        assert_eq!(
            api["incident_urgency_rule"],
            json!({"type": "constant", "urgency": "low"})
        );
        assert_eq!(api["scheduled_actions"], json!([]));
        let read = <super::Kind as PlainObject>::from_api(&api);
        assert_eq!(read["urgency"], "low");
        assert!(read.get("support_hours").is_none_or(Value::is_null));
    }

    #[test]
    fn a_migrated_alert_creation_is_no_change() {
        let eq = <super::Kind as PlainObject>::equivalent;
        let (old, new) = (
            json!("create_incidents"),
            json!("create_alerts_and_incidents"),
        );
        assert!(eq("alert_creation", &old, &new));
        assert!(!eq("alert_creation", &new, &old));
        assert!(!eq("name", &old, &new));
    }

    /// Grouping's rules: content-based needs fields, fields are for content-based
    /// only, timeouts for time grouping and windows for the others, each in
    /// PagerDuty's bounds, and alerts to group.
    #[test]
    fn alert_grouping_is_checked_and_reads_back() {
        use blueprint_model::graph::Graph;
        use serde_json::Value;
        let problems = |grouping: Value, alert_creation: Value| -> Vec<String> {
            let mut g = Graph::default();
            let props = json!({"name": "api", "escalation_policy": "P1",
                               "alert_creation": alert_creation, "alert_grouping": grouping});
            g.declare(super::NAME, "service", props.as_object().unwrap().clone());
            match blueprint_model::graph::validate::validate(&g, crate::providers::catalog()) {
                Ok(()) => vec![],
                Err(e) => e.problems.into_iter().map(|p| p.message).collect(),
            }
        };
        let content =
            json!({"grouping_type": "content_based", "fields": ["summary"], "time_window": 3600});
        assert_eq!(problems(content.clone(), Value::Null), Vec::<String>::new());
        let refused = |grouping: Value, alert_creation: Value, wanted: &str| {
            let found = problems(grouping, alert_creation);
            assert!(
                found.len() == 1 && found[0].contains(wanted),
                "{wanted}: {found:?}"
            );
        };
        refused(
            json!({"grouping_type": "content_based"}),
            Value::Null,
            "needs the alert fields",
        );
        refused(
            json!({"grouping_type": "time", "fields": ["summary"]}),
            Value::Null,
            "is for content_based",
        );
        refused(
            json!({"grouping_type": "intelligent", "time_window": 120}),
            Value::Null,
            "300 to 3600 seconds",
        );
        refused(
            content.clone(),
            json!("create_incidents"),
            "create_alerts_and_incidents",
        );
        refused(
            json!({"grouping_type": "smart"}),
            Value::Null,
            "is not one of",
        );
        refused(
            json!({"grouping_type": "content_based", "fields": ["summary"], "time_window": 1800, "timeout": 5}),
            Value::Null,
            "is for time grouping",
        );
        refused(
            json!({"grouping_type": "time", "time_window": 600}),
            Value::Null,
            "time grouping has timeout",
        );
        refused(
            json!({"grouping_type": "time", "timeout": 2000}),
            Value::Null,
            "to 1440 minutes",
        );
        refused(
            json!({"grouping_type": "intelligent", "time_window": 86400}),
            Value::Null,
            "86400 for content_based",
        );
        assert_eq!(
            problems(
                json!({"grouping_type": "content_based", "fields": ["summary"], "time_window": 86400}),
                Value::Null
            ),
            Vec::<String>::new()
        );

        let p: super::Props =
            serde_json::from_value(json!({"name": "api", "escalation_policy": "P1",
                                                           "alert_grouping": content}))
            .unwrap();
        let api = <super::Kind as PlainObject>::to_api(&p);
        assert_eq!(api["alert_grouping_parameters"]["type"], "content_based");
        assert_eq!(
            api["alert_grouping_parameters"]["config"]["fields"],
            json!(["summary"])
        );
        let read = <super::Kind as PlainObject>::from_api(&api);
        assert_eq!(read["alert_grouping"]["fields"], json!(["summary"]));
        assert_eq!(read["alert_grouping"]["time_window"], 3600);
    }
}
