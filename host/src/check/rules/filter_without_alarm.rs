use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::kind::Role;

pub(super) static RULE: Rule = Rule {
    id: "filter-without-alarm",
    severity: Severity::Warning,
    why: "a metric filter only counts; without an alarm on its metric the errors it counts page nobody",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.nodes_with(Role::MetricFilter)
        .filter(|f| !c.chains.iter().any(|chain| chain.filter.is_some_and(|x| x.id == f.id)))
        .map(|f| Hit {
            node: f.id.clone(),
            message: "no alarm of this blueprint watches its metric".into(),
            fix: "add a cloudwatch_metric_alarm whose metric_name and namespace are this filter's outputs".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::check::testing::*;

    #[test]
    fn trips_on_a_lonely_filter() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let nodes: Vec<_> = healthy().into_iter().filter(|n| n.1 != "alarm").collect();
        let h = hits(&super::RULE, &graph(&nodes));
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].node, "filter");
    }
}
