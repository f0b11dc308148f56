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
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "html_url", "status"],
        finish: None,
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
        })
    }

    /// A timeout removed from the blueprint is switched off: "Setting this field
    /// to `0`, `null` (or unset in POST request) will disable the feature" (the
    /// OpenAPI document, Service.auto_resolve_timeout and
    /// acknowledgement_timeout). `0` rather than `null`: the schema does not
    /// declare them nullable. PagerDuty then reads them back as null.
    fn clear_removed(body: &mut Value) {
        for key in ["auto_resolve_timeout", "acknowledgement_timeout"] {
            if body.get(key).is_none_or(Value::is_null) {
                body[key] = json!(0);
            }
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
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::object::PlainObject;

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
}
