use crate::check::{Context, Hit, Rule, Severity};

pub(super) static RULE: Rule = Rule {
    id: "alarm-not-paging",
    severity: Severity::Error,
    why: "an alarm whose actions reach no PagerDuty integration changes state silently: nobody is paged",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.chains
        .iter()
        .filter(|chain| chain.pages.is_empty())
        .map(|chain| {
            let message = if chain.topics.is_empty() {
                "its alarm_actions name no SNS topic of this blueprint".to_owned()
            } else {
                let topics: Vec<&str> = chain.topics.iter().map(|t| t.id.as_str()).collect();
                format!(
                    "it notifies {}, which no subscription connects to a PagerDuty integration",
                    topics.join(", ")
                )
            };
            Hit {
                node: chain.alarm.id.clone(),
                message,
                fix: "subscribe the alarm's topic to a PagerDuty integration's `cloudwatch_endpoint` (protocol: its `cloudwatch_protocol`)".into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::check::testing::*;

    #[test]
    fn trips_without_a_subscription_only() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let nodes: Vec<_> = healthy().into_iter().filter(|n| n.1 != "sub").collect();
        let h = hits(&super::RULE, &graph(&nodes));
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].node, "alarm");
        assert!(h[0].message.contains("topic"), "{}", h[0].message);
    }
}
