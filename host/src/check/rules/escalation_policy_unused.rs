use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::referenced;
use blueprint_model::kind::Role;

pub(super) static RULE: Rule = Rule {
    id: "escalation-policy-unused",
    severity: Severity::Info,
    why: "an escalation policy no service uses pages nobody; it is either leftover or a service is pointing at the wrong policy",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.nodes_with(Role::EscalationPolicy)
        .filter(|policy| {
            !c.nodes_with(Role::PagedService).any(|s| {
                referenced(c.graph, s.props.get("escalation_policy")).any(|p| p.id == policy.id)
            })
        })
        .map(|policy| Hit {
            node: policy.id.clone(),
            message: "no service of this blueprint uses it".into(),
            fix: "point a service's escalation_policy at it, or remove it".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::check::testing::*;

    #[test]
    fn trips_on_a_policy_without_service() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let nodes: Vec<_> = healthy()
            .into_iter()
            .filter(|n| !["svc", "int", "sub"].contains(&n.1))
            .collect();
        let h = hits(&super::RULE, &graph(&nodes));
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].node, "policy");
    }
}
