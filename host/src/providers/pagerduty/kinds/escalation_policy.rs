//! `pagerduty.escalation_policy`: who is paged, in which order, how often.

use serde_json::{Map, Value, json};

use super::super::object::{PlainObject, ids_of, object, references};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::graph::ProblemClass;
use blueprint_model::kind::{Checker, KindInfo, Role, lit, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, PropMap, Target, TerraformMap, prop, same, to};

pub const NAME: &str = "pagerduty.escalation_policy";
pub type Props = wit::EscalationPolicyProps;
pub type Ref = wit::EscalationPolicyRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::EscalationPolicy),
    outputs: &[out("id")],
    required: &["name", "rules"],
    refs: &[
        refs(
            "rules[].targets[].id",
            &[super::schedule::NAME, super::user::NAME],
        ),
        refs("teams[]", &[super::team::NAME]),
    ],
    check: check_escalation_policy,
    replace_on_change: &[],
    // Services keep using the old policy while its replacement is made.
    create_before_destroy: true,
    terraform: TerraformMap {
        tf_type: "pagerduty_escalation_policy",
        block: Block::Resource,
        props: &[
            same("name"),
            same("description"),
            same("num_loops"),
            same("teams"),
            prop(
                "rules",
                Target::Blocks {
                    block: "rule",
                    fields: RULE,
                },
            ),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/escalation_policy#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

const RULE: &[PropMap] = &[
    same("escalation_delay_in_minutes"),
    prop(
        "targets",
        Target::Blocks {
            block: "target",
            fields: TARGET,
        },
    ),
];

const TARGET: &[PropMap] = &[to("target_type", "type"), same("id")];

fn check_escalation_policy(c: &mut Checker<'_>) {
    if let Some(loops) = c.number("num_loops")
        && loops > 9.0
    {
        c.bad(
            "num_loops",
            format!("{loops} is more than PagerDuty's 9 loops"),
        );
    }
    for (i, rule) in c.array("rules").iter().enumerate() {
        if rule["escalation_delay_in_minutes"].as_u64() == Some(0) {
            c.bad(
                &format!("rules[{i}].escalation_delay_in_minutes"),
                "must be at least 1 minute",
            );
        }
        let targets = rule["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            c.bad(
                &format!("rules[{i}].targets"),
                "a rule needs at least one target",
            );
        }
        for (j, target) in targets.iter().enumerate() {
            let path = format!("rules[{i}].targets[{j}]");
            let wanted = match lit(&target["target_type"]) {
                Some("schedule_reference") => super::schedule::NAME,
                Some("user_reference") => super::user::NAME,
                other => {
                    c.bad(
                        &format!("{path}.target_type"),
                        format!(
                            "{other:?} is not a target type (schedule_reference or user_reference)"
                        ),
                    );
                    continue;
                }
            };
            // A token must point at the kind the target type names.
            if let Some(kind) = c.referenced_kind(&target["id"])
                && kind != wanted
            {
                c.problem(
                    ProblemClass::WrongReferenceKind,
                    &format!("{path}.id"),
                    format!("target_type says {wanted} but the id refers to a {kind}"),
                );
            }
        }
    }
}

pub struct Kind;

impl PlainObject for Kind {
    type Props = Props;
    const COLLECTION: &'static str = "/escalation_policies";
    const KEY: &'static str = "escalation_policy";

    fn info() -> &'static KindInfo {
        &INFO
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn to_api(p: &Props) -> Value {
        let rules: Vec<Value> = p
            .rules
            .iter()
            .map(|r| {
                let targets: Vec<Value> = r
                    .targets
                    .iter()
                    .map(|t| json!({"id": t.id, "type": t.target_type}))
                    .collect();
                json!({
                    "escalation_delay_in_minutes": r.escalation_delay_in_minutes,
                    "targets": targets,
                })
            })
            .collect();
        json!({
            "type": "escalation_policy",
            "name": p.name,
            "description": p.description,
            "num_loops": p.num_loops,
            "escalation_rules": rules,
            "teams": references(p.teams.as_ref(), "team_reference"),
        })
    }

    fn from_api(v: &Value) -> Map<String, Value> {
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
    }
}
