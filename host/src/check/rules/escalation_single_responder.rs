use blueprint_model::kind::Role;
use std::collections::BTreeSet;

use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::referenced;

pub(super) static RULE: Rule = Rule {
    id: "escalation-single-responder",
    severity: Severity::Warning,
    why: "when everyone the policy can reach is one person, an unanswered page escalates back to the same person: a dead end while they sleep, travel or are ill",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.nodes_with(Role::EscalationPolicy)
        .filter_map(|policy| {
            let mut people = BTreeSet::new();
            let mut via = Vec::new();
            let targets = policy.props.get("rules");
            for target in referenced(c.graph, targets) {
                match target.role(c.catalog) {
                    Some(Role::User) => {
                        people.insert(target.id.clone());
                    }
                    Some(Role::Schedule) => {
                        via.push(target.id.clone());
                        people.extend(
                            referenced(c.graph, target.props.get("layers")).map(|u| u.id.clone()),
                        );
                    }
                    _ => {}
                }
            }
            (people.len() == 1).then(|| Hit {
                node: policy.id.clone(),
                message: format!(
                    "every rule reaches the same one person ({}){}",
                    people.first().map(String::as_str).unwrap_or_default(),
                    if via.is_empty() {
                        String::new()
                    } else {
                        format!(" through {}", via.join(", "))
                    }
                ),
                fix: "add a second user to the rotation, or an escalation rule targeting someone else (a manager or a secondary schedule)".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_on_a_one_person_rotation() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("sched", |p| {
            p["layers"][0]["users"] = json!([r("u1", "id")]);
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1);
        assert!(
            h[0].message.contains("u1") && h[0].message.contains("sched"),
            "{}",
            h[0].message
        );
    }
}
