use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::{literal, referenced};
use blueprint_model::kind::Role;

pub(super) static RULE: Rule = Rule {
    id: "subscription-protocol",
    severity: Severity::Error,
    why: "SNS refuses or never confirms a subscription whose protocol differs from the endpoint URL's scheme, and PagerDuty's CloudWatch URLs are https",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for sub in c.nodes_with(Role::Subscription) {
        let Some(protocol) = literal(sub.props.get("protocol")) else {
            continue; // a reference (e.g. the integration's cloudwatch_protocol)
        };
        if protocol != "http" && protocol != "https" {
            continue;
        }
        let endpoint = sub.props.get("endpoint");
        let scheme = match literal(endpoint) {
            Some(url) => url.split("://").next().map(str::to_owned),
            // The integration's CloudWatch URL: https on PagerDuty.
            None if referenced(c.graph, endpoint)
                .any(|n| n.role(c.catalog) == Some(Role::Integration)) =>
            {
                Some("https".to_owned())
            }
            None => None,
        };
        if let Some(scheme) = scheme
            && scheme != protocol
        {
            hits.push(Hit {
                node: sub.id.clone(),
                message: format!("protocol is {protocol:?} but the endpoint is an {scheme}:// URL"),
                fix: format!(
                    "protocol = \"{scheme}\", or the integration's `cloudwatch_protocol` output"
                ),
            });
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_when_protocol_and_scheme_differ() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("sub", |p| {
            p.insert("protocol".into(), json!("http"));
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].message.contains("https://"), "{}", h[0].message);
        let g = graph(&with("sub", |p| {
            p.insert("protocol".into(), json!("https"));
        }));
        assert!(hits(&super::RULE, &g).is_empty());
    }
}
