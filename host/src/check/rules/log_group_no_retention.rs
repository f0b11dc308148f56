use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::kind::Role;

pub(super) static RULE: Rule = Rule {
    id: "log-group-no-retention",
    severity: Severity::Warning,
    why: "without retention CloudWatch Logs keeps every line forever and bills its storage every month",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.nodes_with(Role::LogGroup)
        .filter(|g| g.props.get("retention_in_days").is_none_or(|v| v.is_null()))
        .map(|g| Hit {
            node: g.id.clone(),
            message: "retention_in_days is not set: logs are kept forever".into(),
            fix: "retention_in_days = 30 (the seed guest: log_retention_days = 30)".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::check::testing::*;

    #[test]
    fn trips_without_retention() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("logs", |p| {
            p.remove("retention_in_days");
        }));
        assert_eq!(hits(&super::RULE, &g).len(), 1);
    }
}
