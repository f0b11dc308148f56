use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting;

pub(super) static RULE: Rule = Rule {
    id: "event-target-without-topic-policy",
    severity: Severity::Error,
    why: "EventBridge publishes to an SNS topic only if the topic's policy lets events.amazonaws.com sns:Publish (\"Amazon SNS permissions\" in the EventBridge User Guide); without it every matching event fails to deliver, counted only in the rule's FailedInvocations metric, and nobody is paged",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    alerting::event_chains(c.graph, c.catalog)
        .into_iter()
        .filter_map(|chain| {
            let Some(policy) = chain.topic_policy else {
                return Some(Hit {
                    node: chain.target.id.clone(),
                    message: format!(
                        "the rule's target is topic {}, which has no aws.sns_topic_policy: EventBridge may not publish to it",
                        chain.topic.id
                    ),
                    fix: "declare an aws.sns_topic_policy on the topic allowing events.amazonaws.com sns:Publish, with aws:SourceArn = the rule's arn (the eventbridge-pagerduty template does)".into(),
                });
            };
            // A literal policy can be read here; one built from tokens is
            // checked by `drill` against the live topic.
            let text = alerting::literal(policy.props.get("policy"))?;
            let grants = text.contains("events.amazonaws.com")
                && text.to_ascii_lowercase().contains("sns:publish");
            (!grants).then(|| Hit {
                node: policy.id.clone(),
                message: format!(
                    "the policy of topic {} has no statement for events.amazonaws.com sns:Publish, which rule {} needs",
                    chain.topic.id, chain.rule.id
                ),
                fix: "add a statement allowing the service principal events.amazonaws.com the action sns:Publish on the topic".into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    fn event_chain(policy: Option<&str>) -> Vec<(&'static str, &'static str, serde_json::Value)> {
        let mut nodes = healthy();
        nodes.push((
            "aws.cloudwatch_event_rule",
            "rule",
            json!({"name": "ecs", "event_pattern": "{\"source\":[\"aws.ecs\"]}"}),
        ));
        nodes.push((
            "aws.cloudwatch_event_target",
            "target",
            json!({"rule": r("rule", "name"), "target_id": "pd", "arn": r("topic", "arn")}),
        ));
        if let Some(policy) = policy {
            nodes.push((
                "aws.sns_topic_policy",
                "topic-policy",
                json!({"arn": r("topic", "arn"), "policy": policy}),
            ));
        }
        nodes
    }

    #[test]
    fn trips_without_a_policy_for_eventbridge() {
        let allows = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"*"}]}"#;
        assert!(hits(&super::RULE, &graph(&event_chain(Some(allows)))).is_empty());
        let h = hits(&super::RULE, &graph(&event_chain(None)));
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].node, "target");
        let other = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sns:Publish","Resource":"*"}]}"#;
        let h = hits(&super::RULE, &graph(&event_chain(Some(other))));
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0].node, "topic-policy");
        // No EventBridge rule: not this rule's business.
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
    }
}
