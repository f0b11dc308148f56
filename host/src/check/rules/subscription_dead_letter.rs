use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::{literal, referenced};
use blueprint_model::kind::Role;

pub(super) static RULE: Rule = Rule {
    id: "subscription-without-dead-letter-queue",
    severity: Severity::Warning,
    why: "SNS retries a failed HTTP(S) delivery three times, 20 s apart, then drops it unless the subscription has a dead-letter queue (Amazon SNS message delivery retries); a short PagerDuty outage then loses the page for good, and nothing says so",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for sub in c.nodes_with(Role::Subscription) {
        let endpoint = sub.props.get("endpoint");
        let to_pagerduty = referenced(c.graph, endpoint)
            .any(|n| n.role(c.catalog) == Some(Role::Integration))
            || literal(endpoint).is_some_and(|url| url.contains("pagerduty.com"));
        if !to_pagerduty {
            continue;
        }
        let redrive = sub.props.get("redrive_policy").filter(|v| !v.is_null());
        let Some(redrive) = redrive else {
            hits.push(Hit {
                node: sub.id.clone(),
                message: "a subscription to PagerDuty has no dead-letter queue: a page SNS fails to deliver is dropped".into(),
                fix: "declare an aws.sqs_queue (with an aws.sqs_queue_policy letting sns.amazonaws.com send to it) and set redrive_policy to {\"deadLetterTargetArn\": <its arn>}; alarm on its depth (the seed guests: services[].dead_letter_queue = true)".into(),
            });
            continue;
        };
        // A queue of this blueprint without a policy: SNS may not send to it.
        for queue in
            referenced(c.graph, Some(redrive)).filter(|n| n.role(c.catalog) == Some(Role::Queue))
        {
            let has_policy = c
                .nodes_with(Role::QueuePolicy)
                .any(|n| referenced(c.graph, n.props.get("queue_url")).any(|q| q.id == queue.id));
            if !has_policy {
                hits.push(Hit {
                    node: sub.id.clone(),
                    message: format!(
                        "the dead-letter queue {} has no aws.sqs_queue_policy: SNS may not send to it, so a failed page is still dropped",
                        queue.id
                    ),
                    fix: "add an aws.sqs_queue_policy on the queue allowing sns.amazonaws.com sqs:SendMessage with aws:SourceArn = the topic".into(),
                });
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_without_a_dead_letter_queue_or_its_policy() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("sub", |p| {
            p.remove("redrive_policy");
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].message.contains("no dead-letter queue"),
            "{}",
            h[0].message
        );
        let without_policy: Vec<_> = healthy()
            .into_iter()
            .filter(|(kind, _, _)| *kind != "aws.sqs_queue_policy")
            .collect();
        let h = hits(&super::RULE, &graph(&without_policy));
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].message.contains("has no aws.sqs_queue_policy"),
            "{}",
            h[0].message
        );
        // Not a PagerDuty subscription: not this rule's business.
        let g = graph(&with("sub", |p| {
            p.remove("redrive_policy");
            p["protocol"] = json!("email");
            p["endpoint"] = json!("ops@example.com");
        }));
        assert!(hits(&super::RULE, &g).is_empty());
    }
}
