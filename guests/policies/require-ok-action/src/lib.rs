//! A policy guest (`blueprint:policy`, wit/policy/): every CloudWatch alarm that
//! notifies on ALARM must notify on OK too. PagerDuty's CloudWatch integration
//! resolves an incident when the alarm's OK notification arrives
//! (https://support.pagerduty.com/main/docs/amazon-cloudwatch-integration-guide:
//! "send a notification to this topic when the alarm state is OK" resolves it);
//! without one, every incident stays open until a person closes it.
//!
//! The built-in `alarm-no-ok-action` rule warns about the same fault; an
//! organisation that wants it enforced ships this policy, whose finding is an
//! error and so stops `blueprint run`.

wit_bindgen::generate!({
    world: "policy-guest",
    path: "../../../wit/policy",
});

use exports::blueprint::policy::policy::{Finding, Graph, Guest, PolicyInfo, Rule, Severity};
use serde_json::Value;

const RULE: &str = "alarm-requires-ok-action";

struct RequireOkAction;

impl Guest for RequireOkAction {
    fn info() -> PolicyInfo {
        PolicyInfo {
            name: "require-ok-action".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "Alarms that notify on ALARM must notify on OK, so PagerDuty incidents resolve"
                    .into(),
        }
    }

    fn rules() -> Vec<Rule> {
        vec![Rule {
            id: RULE.into(),
            severity: Severity::Error,
            why: "PagerDuty resolves a CloudWatch incident when the alarm notifies OK; an alarm with ALARM actions only leaves every incident open after the errors stop".into(),
        }]
    }

    fn check(graph: Graph) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        for node in graph
            .nodes
            .iter()
            .filter(|n| n.kind == "aws.cloudwatch_metric_alarm")
        {
            let props: Value = serde_json::from_str(&node.props)
                .map_err(|e| format!("props of {} are not JSON: {e}", node.id))?;
            if let Some(finding) = judge(&node.id, &props) {
                findings.push(finding);
            }
        }
        Ok(findings)
    }
}

/// The finding for one alarm's props, if it breaks the rule.
fn judge(id: &str, props: &Value) -> Option<Finding> {
    let list = |key: &str| props[key].as_array().map_or(0, Vec::len);
    if list("alarm_actions") == 0 || list("ok_actions") > 0 {
        return None;
    }
    let name = props["alarm_name"].as_str().unwrap_or(id);
    Some(Finding {
        rule: RULE.into(),
        severity: Severity::Error,
        node: id.into(),
        message: format!("alarm \"{name}\" notifies on ALARM but has no OK action"),
        fix:
            "ok_actions = the same topic as alarm_actions (the seed guest: alarm_ok_action = true)"
                .into(),
    })
}

export!(RequireOkAction);

// Tested through the host, as it runs: tests/policy.rs (the seed fails, then
// passes with `alarm_ok_action = true`) and tests/oci.rs (pulled from a registry,
// it blocks `run`).
