use super::number;
use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::literal;

pub(super) static RULE: Rule = Rule {
    id: "alarm-sub-minute-period",
    severity: Severity::Warning,
    why: "10/20/30 s periods are for metrics stored at 1-second resolution; a metric filter's metric (like AWS/ metrics) has 1-minute resolution, so the alarm misses data points, lapses into INSUFFICIENT_DATA, and is billed as a high-resolution alarm",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.chains
        .iter()
        .filter_map(|chain| {
            let period = number(chain.alarm, "period")?;
            let standard = chain.filter.is_some()
                || literal(chain.alarm.props.get("namespace"))
                    .is_some_and(|n| n.starts_with("AWS/"));
            (period < 60.0 && standard).then(|| Hit {
                node: chain.alarm.id.clone(),
                message: format!(
                    "period is {period} s on a standard-resolution metric{}",
                    chain
                        .filter
                        .map(|f| format!(" (from metric filter {})", f.id))
                        .unwrap_or_default()
                ),
                fix: "period = 60 (the seed guest: alarm_period_seconds = 60)".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_on_30_seconds_over_a_filter_metric() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("alarm", |p| {
            p.insert("period".into(), json!(30));
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1);
        assert!(h[0].message.contains("30 s"), "{}", h[0].message);
    }
}
