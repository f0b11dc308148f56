use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::literal;

pub(super) static RULE: Rule = Rule {
    id: "alarm-missing-data",
    severity: Severity::Warning,
    why: "a metric filter publishes nothing while no line matches, so with missing data left at the default the alarm sits in INSUFFICIENT_DATA instead of OK; for error counts, no data means no errors",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.chains
        .iter()
        .filter(|chain| chain.filter.is_some())
        .filter_map(|chain| {
            let treat = chain.alarm.props.get("treat_missing_data");
            let value = literal(treat);
            let default = treat.is_none_or(|v| v.is_null()) || value.as_deref() == Some("missing");
            default.then(|| Hit {
                node: chain.alarm.id.clone(),
                message: format!(
                    "treat_missing_data is {} on a metric-filter count",
                    value.map_or("unset (missing)".to_owned(), |v| format!("{v:?}"))
                ),
                fix: "treat_missing_data = \"notBreaching\" (the seed guest: alarm_treat_missing_data = \"notBreaching\")".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_on_the_default() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("alarm", |p| {
            p.remove("treat_missing_data");
        }));
        assert_eq!(hits(&super::RULE, &g).len(), 1);
        let g = graph(&with("alarm", |p| {
            p.insert("treat_missing_data".into(), json!("missing"));
        }));
        assert_eq!(hits(&super::RULE, &g).len(), 1);
    }
}
