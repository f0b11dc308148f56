use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::{literal, referenced};
use blueprint_model::graph::token::{self, Part};
use blueprint_model::kind::Role;

pub(super) static RULE: Rule = Rule {
    id: "subscription-endpoint",
    severity: Severity::Error,
    why: "SNS must post to the integration's CloudWatch URL on the account's own events host (events.pagerduty.com or events.eu.pagerduty.com); any other URL drops every alarm",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    let host = crate::blueprint_file::pagerduty::hosts(&c.pagerduty_region)
        .map_or("events.pagerduty.com", |(_, events)| events);
    let fix_ref = "set endpoint to the integration's `cloudwatch_endpoint` output (and protocol to its `cloudwatch_protocol`)";
    let mut hits = Vec::new();
    for sub in c.nodes_with(Role::Subscription) {
        let endpoint = sub.props.get("endpoint");
        // A reference to an integration: it must be the CloudWatch URL output.
        let parts = endpoint
            .and_then(|e| e.as_str())
            .and_then(|s| token::parse(s).ok())
            .unwrap_or_default();
        let integration_refs: Vec<_> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Ref(r) => Some(r),
                Part::Text(_) => None,
            })
            .filter(|r| {
                c.graph
                    .node(&r.node)
                    .is_some_and(|n| n.role(c.catalog) == Some(Role::Integration))
            })
            .collect();
        if let Some(r) = integration_refs.first() {
            if r.output != "cloudwatch_endpoint" || parts.len() != 1 {
                hits.push(Hit {
                    node: sub.id.clone(),
                    message: format!(
                        "endpoint is built from {}.{} rather than being {}.cloudwatch_endpoint",
                        r.node, r.output, r.node
                    ),
                    fix: fix_ref.into(),
                });
            }
            continue;
        }
        if referenced(c.graph, endpoint).next().is_some() {
            continue; // another kind's output: not a PagerDuty endpoint
        }
        let Some(url) = literal(endpoint) else {
            continue;
        };
        if !url.contains("pagerduty.com") {
            continue;
        }
        let shape_ok = url.contains("/integration/") && url.ends_with("/enqueue");
        let host_ok = url
            .split("://")
            .nth(1)
            .is_some_and(|rest| rest.starts_with(&format!("{host}/")));
        if !(shape_ok && host_ok) {
            hits.push(Hit {
                node: sub.id.clone(),
                message: format!(
                    "endpoint {} is not https://{host}/integration/<key>/enqueue (the account is in the {} region)",
                    redact(&url),
                    c.pagerduty_region.to_uppercase()
                ),
                fix: fix_ref.into(),
            });
        }
    }
    hits
}

/// Never print a key someone pasted into a blueprint.
fn redact(url: &str) -> String {
    crate::providers::pagerduty::redact(url)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_on_the_wrong_output_and_the_wrong_region() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        // The article's first pitfall: the key instead of the URL.
        let g = graph(&with("sub", |p| {
            p.insert("endpoint".into(), r("int", "integration_key"));
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1);
        assert!(
            h[0].message.contains("int.integration_key"),
            "{}",
            h[0].message
        );
        // A pasted EU URL on a US account.
        let g = graph(&with("sub", |p| {
            p.insert(
                "endpoint".into(),
                json!("https://events.eu.pagerduty.com/integration/abc123/enqueue"),
            );
            p.insert("protocol".into(), json!("https"));
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1);
        assert!(!h[0].message.contains("abc123"), "the key is hidden");
        // The right host for the account passes.
        let g = graph(&with("sub", |p| {
            p.insert(
                "endpoint".into(),
                json!("https://events.pagerduty.com/integration/abc123/enqueue"),
            );
        }));
        assert!(hits(&super::RULE, &g).is_empty());
    }
}
