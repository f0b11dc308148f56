//! `blueprint check`: alert-hygiene rules over a valid graph — what makes a graph
//! that validates still never page anyone, or page forever. Each rule is one small
//! module in `rules/` (an id, a severity, why it matters, and a function from the
//! graph to findings); `rules::ALL` lists them. `plan` and `run` show the findings
//! too. A finding can be silenced per node in the blueprint file, with a reason.

pub mod policies;
pub mod policy;
pub mod rules;

use std::fmt::Write as _;

use serde::Serialize;

use crate::blueprint_file::Silence;
use blueprint_model::graph::Graph;
use blueprint_model::graph::alerting::{self, AlertChain};
use blueprint_model::kind::Catalog;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One rule: data, plus the function that applies it.
pub struct Rule {
    /// Stable, kebab-case: what users silence.
    pub id: &'static str,
    pub severity: Severity,
    /// Why it matters, in a sentence or two.
    pub why: &'static str,
    pub check: fn(&Context<'_>) -> Vec<Hit>,
}

/// What a rule reports about one node.
#[derive(Debug, Clone)]
pub struct Hit {
    pub node: String,
    /// What is wrong here, with the values involved.
    pub message: String,
    /// The change that fixes it.
    pub fix: String,
}

/// What rules see.
pub struct Context<'g> {
    pub graph: &'g Graph,
    /// The kinds the graph was validated against (roles come from here).
    pub catalog: &'g Catalog,
    pub chains: Vec<AlertChain<'g>>,
    /// `us` or `eu`: where the account's events endpoint is.
    pub pagerduty_region: String,
    /// Where the on-call rules start looking ahead from.
    pub now: chrono::DateTime<chrono::Utc>,
}

impl<'g> Context<'g> {
    pub fn new(graph: &'g Graph, catalog: &'g Catalog, pagerduty_region: &str) -> Context<'g> {
        Context {
            graph,
            catalog,
            chains: alerting::chains(graph, catalog),
            pagerduty_region: pagerduty_region.to_owned(),
            now: chrono::Utc::now(),
        }
    }

    /// Nodes whose kind plays `role`, in declaration order.
    pub fn nodes_with(
        &self,
        role: blueprint_model::kind::Role,
    ) -> impl Iterator<Item = &'g blueprint_model::graph::Node> {
        self.graph
            .nodes()
            .iter()
            .filter(move |n| n.role(self.catalog) == Some(role))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub node: String,
    pub message: String,
    pub why: String,
    pub fix: String,
    /// `name@version` of the policy guest that reported it; none for built-in rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The blueprint file's reason, when silenced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silenced: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Silences that matched nothing (a renamed node, a fixed fault).
    pub unused_silences: Vec<Silence>,
}

impl Report {
    /// Active (not silenced) findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.active().filter(|f| f.severity == severity).count()
    }

    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.silenced.is_none())
    }

    /// Whether `check` should fail: errors, or warnings too when strict.
    pub fn fails(&self, strict: bool) -> bool {
        self.count(Severity::Error) > 0 || (strict && self.count(Severity::Warning) > 0)
    }
}

/// A `[[check.silence]]` names a rule that does not exist: a typo must not
/// silently do nothing.
#[derive(Debug, thiserror::Error)]
#[error("[[check.silence]] names no rule {rule:?}; the rules are: {rules}")]
pub struct UnknownRule {
    pub rule: String,
    /// Every rule there is, comma-separated.
    pub rules: String,
}

/// Run every rule; sorted by severity, rule, node. A silence naming no rule is an
/// error: a typo must not silently do nothing.
pub fn check(
    graph: &Graph,
    catalog: &Catalog,
    pagerduty_region: &str,
    silences: &[Silence],
) -> Result<Report, UnknownRule> {
    check_with(graph, catalog, pagerduty_region, silences, &[], Vec::new())
}

/// [`check`], plus rules and findings from elsewhere (policy guests): their rule
/// ids can be silenced, their findings are silenced and sorted with the rest.
pub fn check_with(
    graph: &Graph,
    catalog: &Catalog,
    pagerduty_region: &str,
    silences: &[Silence],
    extra_rules: &[String],
    extra_findings: Vec<Finding>,
) -> Result<Report, UnknownRule> {
    if let Some(s) = silences
        .iter()
        .find(|s| !rules::ALL.iter().any(|r| r.id == s.rule) && !extra_rules.contains(&s.rule))
    {
        let ids: Vec<&str> = rules::ALL
            .iter()
            .map(|r| r.id)
            .chain(extra_rules.iter().map(String::as_str))
            .collect();
        return Err(UnknownRule {
            rule: s.rule.clone(),
            rules: ids.join(", "),
        });
    }
    let context = Context::new(graph, catalog, pagerduty_region);
    let mut findings = Vec::new();
    for rule in rules::ALL {
        for hit in (rule.check)(&context) {
            findings.push(Finding {
                rule: rule.id.to_owned(),
                severity: rule.severity,
                node: hit.node,
                message: hit.message,
                why: rule.why.to_owned(),
                fix: hit.fix,
                policy: None,
                silenced: None,
            });
        }
    }
    findings.extend(extra_findings);
    let mut used = vec![false; silences.len()];
    for finding in &mut findings {
        if let Some(i) = silences
            .iter()
            .position(|s| s.rule == finding.rule && s.node == finding.node)
        {
            used[i] = true;
            finding.silenced = Some(silences[i].reason.clone());
        }
    }
    findings.sort_by(|a, b| (a.severity, &a.rule, &a.node).cmp(&(b.severity, &b.rule, &b.node)));
    Ok(Report {
        findings,
        unused_silences: silences
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(s, _)| s.clone())
            .collect(),
    })
}

/// Findings grouped by severity, then the silenced ones with their reasons.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        let findings: Vec<&Finding> = report.active().filter(|f| f.severity == severity).collect();
        if findings.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{} ({}):", heading(severity), findings.len());
        for f in findings {
            let _ = writeln!(out, "  {} [{}] {}", f.node, rule_label(f), f.message);
            let _ = writeln!(out, "      why: {}", f.why);
            let _ = writeln!(out, "      fix: {}", f.fix);
        }
        out.push('\n');
    }
    let silenced: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.silenced.is_some())
        .collect();
    if !silenced.is_empty() {
        let _ = writeln!(out, "Silenced in the blueprint file ({}):", silenced.len());
        for f in silenced {
            let _ = writeln!(
                out,
                "  {} [{}] {}: {}",
                f.node,
                f.rule,
                f.severity.as_str(),
                f.silenced.as_deref().unwrap_or_default()
            );
        }
        out.push('\n');
    }
    for s in &report.unused_silences {
        let _ = writeln!(
            out,
            "note: the silence of [{}] on {} matches no finding: remove it",
            s.rule, s.node
        );
    }
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} info, {} silenced.",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
        report.findings.len() - report.active().count()
    );
    blueprint_model::text::escape_lines(&out).into_owned()
}

/// One line per active warning or error, for `plan` and `run`.
pub fn render_summary(report: &Report) -> String {
    let mut out = String::new();
    for f in report.active().filter(|f| f.severity != Severity::Info) {
        let _ = writeln!(
            out,
            "{}: {} [{}] {} (fix: {})",
            f.severity.as_str(),
            f.node,
            rule_label(f),
            f.message,
            f.fix
        );
    }
    if !out.is_empty() {
        out.push_str("(`blueprint check` explains each; silence one in the blueprint file's [[check.silence]])\n");
    }
    blueprint_model::text::escape_lines(&out).into_owned()
}

/// `rule`, or `rule, policy name@version` for a policy guest's finding.
fn rule_label(f: &Finding) -> String {
    match &f.policy {
        Some(policy) => format!("{}, policy {policy}", f.rule),
        None => f.rule.clone(),
    }
}

fn heading(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "Errors",
        Severity::Warning => "Warnings",
        Severity::Info => "Info",
    }
}

/// Helpers shared by the rules' tests: build graphs by hand.
#[cfg(test)]
pub(crate) mod testing {
    use serde_json::{Map, Value, json};

    use super::{Context, Hit, Rule};
    use blueprint_model::graph::Graph;
    use blueprint_model::graph::token::make;

    pub fn r(node: &str, output: &str) -> Value {
        json!(make(node, output))
    }

    pub fn graph(nodes: &[(&str, &str, Value)]) -> Graph {
        let mut g = Graph::default();
        for (kind, id, props) in nodes {
            let props: Map<String, Value> = props.as_object().unwrap().clone();
            g.declare(kind, id, props);
        }
        g
    }

    pub fn hits(rule: &Rule, g: &Graph) -> Vec<Hit> {
        (rule.check)(&Context::new(g, crate::providers::catalog(), "us"))
    }

    /// The seed's alerting pipeline, healthy: retention, 60 s period, OK action,
    /// notBreaching, a two-person rotation behind the policy.
    pub fn healthy() -> Vec<(&'static str, &'static str, Value)> {
        vec![
            ("pagerduty.user", "u1", json!({"email": "a@x"})),
            ("pagerduty.user", "u2", json!({"email": "b@x"})),
            (
                "pagerduty.vendor",
                "v",
                json!({"vendor_name": "Amazon CloudWatch"}),
            ),
            (
                "pagerduty.schedule",
                "sched",
                json!({"name": "s", "time_zone": "Etc/UTC", "layers": [{"start": "2024-01-01T00:00:00Z", "rotation_virtual_start": "2024-01-01T00:00:00Z", "rotation_turn_length_seconds": 3600, "users": [r("u1", "id"), r("u2", "id")]}]}),
            ),
            (
                "pagerduty.escalation_policy",
                "policy",
                json!({"name": "p", "rules": [{"escalation_delay_in_minutes": 30, "targets": [{"target_type": "schedule_reference", "id": r("sched", "id")}]}]}),
            ),
            (
                "pagerduty.service",
                "svc",
                json!({"name": "svc", "escalation_policy": r("policy", "id")}),
            ),
            (
                "pagerduty.service_integration",
                "int",
                json!({"service": r("svc", "id"), "vendor": r("v", "id")}),
            ),
            (
                "aws.cloudwatch_log_group",
                "logs",
                json!({"name": "/aws/lambda/f", "retention_in_days": 30}),
            ),
            (
                "aws.lambda_function",
                "fn",
                json!({"function_name": "f", "role": "arn:aws:iam::1:role/r", "handler": "index.handler", "runtime": "nodejs22.x", "code": {"asset": "a"}, "log_group": r("logs", "name")}),
            ),
            (
                "aws.cloudwatch_log_metric_filter",
                "filter",
                json!({"name": "errors", "log_group": r("logs", "name"), "pattern": "ERROR", "metric_transformation": {"metric_name": "errors", "metric_namespace": "App", "metric_value": "1"}}),
            ),
            ("aws.sns_topic", "topic", json!({"name": "alarms"})),
            (
                "aws.sns_topic_subscription",
                "sub",
                json!({"topic": r("topic", "arn"), "protocol": r("int", "cloudwatch_protocol"), "endpoint": r("int", "cloudwatch_endpoint"), "redrive_policy": format!("{{\"deadLetterTargetArn\":\"{}\"}}", r("dlq", "arn").as_str().unwrap())}),
            ),
            ("aws.sqs_queue", "dlq", json!({"name": "alarms-dlq"})),
            (
                "aws.sqs_queue_policy",
                "dlq-policy",
                json!({"queue_url": r("dlq", "url"), "policy": "{}"}),
            ),
            (
                "aws.cloudwatch_metric_alarm",
                "alarm",
                json!({"alarm_name": "errors", "metric_name": r("filter", "metric_name"), "namespace": r("filter", "metric_namespace"), "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 1.0, "comparison_operator": "GreaterThanOrEqualToThreshold", "treat_missing_data": "notBreaching", "alarm_actions": [r("topic", "arn")], "ok_actions": [r("topic", "arn")]}),
            ),
        ]
    }

    /// `healthy()` with one node's props changed.
    pub fn with(
        id: &str,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Vec<(&'static str, &'static str, Value)> {
        let mut nodes = healthy();
        let node = nodes.iter_mut().find(|(_, i, _)| *i == id).unwrap();
        change(node.2.as_object_mut().unwrap());
        nodes
    }

    /// Every rule is quiet on the healthy graph.
    #[test]
    fn the_healthy_graph_trips_nothing() {
        let g = graph(&healthy());
        for rule in super::rules::ALL {
            assert!(
                hits(rule, &g).is_empty(),
                "{} tripped: {:?}",
                rule.id,
                hits(rule, &g)
            );
        }
    }
}
