//! `pagerduty.webhook_subscription`: PagerDuty's v3 webhooks, incident and
//! service events POSTed to an endpoint (`/webhook_subscriptions`). Its
//! delivery method cannot change in place ("This operation does not support
//! updating the `delivery_method`", the REST API's PUT): a new URL is a new
//! subscription. The signing secret is in the create response only; the host
//! does not keep it (read it in PagerDuty's web app, or verify with the
//! secret PagerDuty shows there). Custom headers are not offered: PagerDuty
//! redacts their values on every read, so the plan could never say they are
//! as declared, and they would be secrets the plan prints.

use serde_json::{Map, Value, json};

use super::super::object::{PlainObject, object};
use crate::providers::{Identity, Proof};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{Checker, KindInfo, out, parse_as, refs, same_value};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same, to};
use blueprint_model::webhook_events;

pub const NAME: &str = "pagerduty.webhook_subscription";
pub type Props = wit::WebhookSubscriptionProps;
pub type Ref = wit::WebhookSubscriptionRef;

const FILTERS: &[&str] = &["service_reference", "team_reference", "account_reference"];

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["url", "events", "filter_type"],
    refs: &[refs(
        "filter_id",
        &[super::service::NAME, super::team::NAME],
    )],
    check,
    replace_on_change: &["url"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_webhook_subscription",
        block: Block::Resource,
        props: &[
            to("url", "delivery_method.url").with(&[
                ("delivery_method.type", "http_delivery_method"),
                ("type", "webhook_subscription"),
            ]),
            same("events"),
            to("filter_type", "filter.type"),
            to("filter_id", "filter.id"),
            same("description"),
            same("active"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &[
            "id",
            "type",
            "active",
            "delivery_method",
            "description",
            "events",
            "filter",
        ],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/webhook_subscription#import",
        identity: &["url", "filter_type", "filter_id"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// The REST API's rules (`events` minItems 1 and uniqueItems; `filter.id`
/// "required for all filter types except account_reference"), the event types
/// PagerDuty knows, and a URL PagerDuty can POST to.
fn check(c: &mut Checker<'_>) {
    if let Some(url) = c.literal("url") {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || reqwest::Url::parse(url).is_err() {
            c.bad("url", "must be an absolute http(s) URL");
        }
    }
    let events = c.array("events");
    if events.is_empty() {
        c.bad("events", "needs at least one event type");
    }
    let mut seen = std::collections::BTreeSet::new();
    for event in events.iter().filter_map(Value::as_str) {
        if !seen.insert(event) {
            c.bad("events", format!("lists {event} twice"));
        } else if !webhook_events::known(event) {
            c.bad(
                "events",
                format!(
                    "{event} is not a PagerDuty webhook event type (developer.pagerduty.com/docs/webhooks/v3-overview)"
                ),
            );
        }
    }
    c.one_of("filter_type", FILTERS);
    let filter = c.literal("filter_type").map(str::to_owned);
    let target = c.value("filter_id").clone();
    match filter.as_deref() {
        Some("account_reference") if c.present("filter_id") => {
            c.bad("filter_id", "is not used by an account_reference filter")
        }
        Some(kind @ ("service_reference" | "team_reference")) => {
            if !c.present("filter_id") {
                c.bad(
                    "filter_id",
                    format!("a {kind} filter needs the id it names"),
                );
            }
            let wanted = if kind == "service_reference" {
                super::service::NAME
            } else {
                super::team::NAME
            };
            if let Some(referenced) = c.referenced_kind(&target)
                && referenced != wanted
            {
                c.bad(
                    "filter_id",
                    format!("a {kind} filter names a {wanted}, not a {referenced}"),
                );
            }
        }
        _ => {}
    }
}

pub struct Kind;

impl PlainObject for Kind {
    type Props = Props;
    const COLLECTION: &'static str = "/webhook_subscriptions";
    const KEY: &'static str = "webhook_subscription";
    const NOT_UPDATED: &'static [&'static str] = &["delivery_method", "type"];

    fn info() -> &'static KindInfo {
        &INFO
    }

    /// Unused: a subscription has no name ([`Kind::identifies`] instead).
    fn name(p: &Props) -> &str {
        &p.url
    }

    fn to_api(p: &Props) -> Value {
        json!({
            "type": "webhook_subscription",
            "delivery_method": {"type": "http_delivery_method", "url": p.url},
            "events": p.events,
            "filter": {"type": p.filter_type, "id": p.filter_id},
            "description": p.description,
            "active": p.active,
        })
    }

    fn from_api(v: &Value) -> Map<String, Value> {
        let description = match &v["description"] {
            Value::String(s) if s.is_empty() => Value::Null,
            other => other.clone(),
        };
        object(vec![
            ("url", v["delivery_method"]["url"].clone()),
            ("events", v["events"].clone()),
            ("filter_type", v["filter"]["type"].clone()),
            ("filter_id", v["filter"]["id"].clone()),
            ("description", description),
            ("active", v["active"].clone()),
        ])
    }

    /// PagerDuty keeps what an update leaves out: a removed description is
    /// written empty, and a removed `active` is PagerDuty's default (true).
    fn clear_removed(body: &mut Value) {
        if body.get("description").is_none_or(Value::is_null) {
            body["description"] = json!("");
        }
        if body.get("active").is_none_or(Value::is_null) {
            body["active"] = json!(true);
        }
    }

    /// Events are a set; `active` absent is true.
    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        match prop {
            "events" => {
                let set = |v: &Value| -> std::collections::BTreeSet<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect()
                };
                set(desired) == set(observed)
            }
            "active" => desired.as_bool().unwrap_or(true) == observed.as_bool().unwrap_or(true),
            _ => same_value(desired, observed),
        }
    }

    /// A subscription is what it delivers to and whose events: found among
    /// the subscriptions of the same filter (the list filters by it).
    fn identity() -> Identity {
        Identity::Parents
    }

    fn find_query(p: &Props) -> Vec<(&'static str, String)> {
        let mut query = vec![("filter_type", p.filter_type.clone())];
        if let Some(id) = &p.filter_id {
            query.push(("filter_id", id.clone()));
        }
        query
    }

    fn identifies(p: &Props, item: &Value) -> Option<Proof> {
        let same = item["delivery_method"]["url"].as_str() == Some(p.url.as_str())
            && item["filter"]["type"].as_str() == Some(p.filter_type.as_str())
            && item["filter"]["id"].as_str() == p.filter_id.as_deref();
        same.then_some(Proof::Part)
    }
}

#[cfg(test)]
mod tests {
    use blueprint_model::graph::{Graph, token};
    use serde_json::{Value, json};

    /// The messages the check gives a subscription declared beside a team
    /// and a service.
    fn problems(subscription: Value) -> Vec<String> {
        let mut g = Graph::default();
        let props = |v: Value| v.as_object().unwrap().clone();
        g.declare(
            super::super::team::NAME,
            "team",
            props(json!({"name": "sre"})),
        );
        g.declare(super::NAME, "hook", props(subscription));
        match blueprint_model::graph::validate::validate(&g, crate::providers::catalog()) {
            Ok(()) => vec![],
            Err(e) => e.problems.into_iter().map(|p| p.message).collect(),
        }
    }

    #[test]
    fn the_api_rules_are_checked_before_any_call() {
        let good = json!({"url": "https://chat.example.com/pd", "events": ["incident.triggered"],
                          "filter_type": "team_reference", "filter_id": token::make("team", "id")});
        assert_eq!(problems(good.clone()), Vec::<String>::new());
        let with = |key: &str, value: Value| {
            let mut v = good.clone();
            v[key] = value;
            problems(v)
        };
        let one = |found: Vec<String>, wanted: &str| {
            assert!(
                found.len() == 1 && found[0].contains(wanted),
                "{wanted}: {found:?}"
            );
        };
        one(
            with("url", json!("chat.example.com/pd")),
            "absolute http(s) URL",
        );
        one(
            with("events", json!(["incident.exploded"])),
            "not a PagerDuty webhook event type",
        );
        one(
            with(
                "events",
                json!(["incident.triggered", "incident.triggered"]),
            ),
            "twice",
        );
        one(with("filter_type", json!("team")), "is not one of");
        one(
            with("filter_type", json!("service_reference")),
            "names a pagerduty.service, not a pagerduty.team",
        );
        one(
            with("filter_type", json!("account_reference")),
            "is not used by an account_reference filter",
        );
        one(with("filter_id", Value::Null), "needs the id it names");
    }
}
