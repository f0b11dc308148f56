//! The alerting patterns, found in any graph: log group → metric filter → alarm →
//! SNS topic → subscription → PagerDuty integration → service → escalation policy,
//! and EventBridge rule → target → the same topic onwards.
//! Found by following references (and, where a guest wrote literal values, by
//! matching them), never by node names, so it works for any guest's shape.
//! `blueprint drill` fires these chains; `blueprint check` lints them.

use crate::kind::{Catalog, Role};
use serde_json::Value;

use super::token::{self, Part};
use super::{Graph, Node, string_leaves_of};

/// One alarm and everything it is wired to, as declared.
#[derive(Debug, Clone)]
pub struct AlertChain<'g> {
    pub alarm: &'g Node,
    /// The metric filter that produces the alarm's metric, if declared here.
    pub filter: Option<&'g Node>,
    /// The log group the filter reads.
    pub log_group: Option<&'g Node>,
    /// Topics named in `alarm_actions`.
    pub topics: Vec<&'g Node>,
    /// Topics named in `ok_actions`.
    pub ok_topics: Vec<&'g Node>,
    /// Each way from an alarm topic to a PagerDuty integration.
    pub pages: Vec<PagePath<'g>>,
}

/// Topic → subscription → integration → service → escalation policy.
#[derive(Debug, Clone)]
pub struct PagePath<'g> {
    pub topic: &'g Node,
    pub subscription: &'g Node,
    pub integration: &'g Node,
    pub service: Option<&'g Node>,
    pub escalation_policy: Option<&'g Node>,
}

impl AlertChain<'_> {
    /// `alarm_name` as declared (a literal in every guest we know).
    pub fn alarm_name(&self) -> String {
        literal(self.alarm.props.get("alarm_name")).unwrap_or_else(|| self.alarm.id.clone())
    }
}

/// Every alarm of the graph with what it is wired to, in node order — but an
/// alarm without actions that another alarm's rule reads (a composite alarm's
/// child): it pages through that one, which has its own chain.
pub fn chains<'g>(graph: &'g Graph, catalog: &Catalog) -> Vec<AlertChain<'g>> {
    graph
        .nodes()
        .iter()
        .filter(|n| n.role(catalog) == Some(Role::Alarm))
        .filter(|n| !is_silent_child(graph, catalog, n))
        .map(|alarm| {
            let filter = filter_of(graph, catalog, alarm);
            let log_group = filter.and_then(|f| referenced(graph, f.props.get("log_group")).next());
            let topics = with_role(
                graph,
                catalog,
                alarm.props.get("alarm_actions"),
                Role::Topic,
            );
            let ok_topics = with_role(graph, catalog, alarm.props.get("ok_actions"), Role::Topic);
            let pages = topics
                .iter()
                .flat_map(|topic| pages_from(graph, catalog, topic))
                .collect();
            AlertChain {
                alarm,
                filter,
                log_group: log_group.filter(|g| g.role(catalog) == Some(Role::LogGroup)),
                topics,
                ok_topics,
                pages,
            }
        })
        .collect()
}

/// An alarm with no `alarm_actions` whose name another alarm's `alarm_rule`
/// refers to.
fn is_silent_child(graph: &Graph, catalog: &Catalog, alarm: &Node) -> bool {
    let silent = alarm
        .props
        .get("alarm_actions")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    silent
        && graph.nodes().iter().any(|parent| {
            parent.role(catalog) == Some(Role::Alarm)
                && referenced(graph, parent.props.get("alarm_rule")).any(|c| c.id == alarm.id)
        })
}

/// An EventBridge rule and the topic its target sends to, as declared: rule →
/// target → topic (with its policy) → the topic's ways to PagerDuty.
#[derive(Debug, Clone)]
pub struct EventChain<'g> {
    pub rule: &'g Node,
    pub target: &'g Node,
    pub topic: &'g Node,
    /// The topic's access policy node, if this blueprint declares one.
    pub topic_policy: Option<&'g Node>,
    pub pages: Vec<PagePath<'g>>,
}

impl EventChain<'_> {
    /// The rule's `name` as declared.
    pub fn rule_name(&self) -> String {
        literal(self.rule.props.get("name")).unwrap_or_else(|| self.rule.id.clone())
    }
}

/// Every rule target sending to a topic of the graph, in node order.
pub fn event_chains<'g>(graph: &'g Graph, catalog: &Catalog) -> Vec<EventChain<'g>> {
    graph
        .nodes()
        .iter()
        .filter(|n| n.role(catalog) == Some(Role::EventTarget))
        .filter_map(|target| {
            let rule = referenced(graph, target.props.get("rule"))
                .find(|n| n.role(catalog) == Some(Role::EventRule))?;
            let topic = referenced(graph, target.props.get("arn"))
                .find(|n| n.role(catalog) == Some(Role::Topic))?;
            let topic_policy = graph.nodes().iter().find(|p| {
                p.role(catalog) == Some(Role::TopicPolicy)
                    && referenced(graph, p.props.get("arn")).any(|t| t.id == topic.id)
            });
            Some(EventChain {
                rule,
                target,
                topic,
                topic_policy,
                pages: pages_from(graph, catalog, topic),
            })
        })
        .collect()
}

/// Subscriptions of `topic` whose endpoint is a PagerDuty integration's URL.
pub fn pages_from<'g>(graph: &'g Graph, catalog: &Catalog, topic: &'g Node) -> Vec<PagePath<'g>> {
    graph
        .nodes()
        .iter()
        .filter(|s| s.role(catalog) == Some(Role::Subscription))
        .filter(|s| referenced(graph, s.props.get("topic")).any(|t| t.id == topic.id))
        .filter_map(|subscription| {
            let integration = referenced(graph, subscription.props.get("endpoint"))
                .find(|n| n.role(catalog) == Some(Role::Integration))?;
            let service = referenced(graph, integration.props.get("service"))
                .find(|n| n.role(catalog) == Some(Role::PagedService));
            let escalation_policy = service.and_then(|s| {
                referenced(graph, s.props.get("escalation_policy"))
                    .find(|n| n.role(catalog) == Some(Role::EscalationPolicy))
            });
            Some(PagePath {
                topic,
                subscription,
                integration,
                service,
                escalation_policy,
            })
        })
        .collect()
}

/// The filter whose metric the alarm watches: referenced from `metric_name`, or
/// with the same literal metric name and namespace.
fn filter_of<'g>(graph: &'g Graph, catalog: &Catalog, alarm: &'g Node) -> Option<&'g Node> {
    if let Some(f) = referenced(graph, alarm.props.get("metric_name"))
        .find(|n| n.role(catalog) == Some(Role::MetricFilter))
    {
        return Some(f);
    }
    let name = literal(alarm.props.get("metric_name"))?;
    let namespace = literal(alarm.props.get("namespace"))?;
    graph.nodes().iter().find(|f| {
        f.role(catalog) == Some(Role::MetricFilter)
            && literal(
                f.props
                    .get("metric_transformation")
                    .and_then(|m| m.get("metric_name")),
            )
            .as_deref()
                == Some(name.as_str())
            && literal(
                f.props
                    .get("metric_transformation")
                    .and_then(|m| m.get("metric_namespace")),
            )
            .as_deref()
                == Some(namespace.as_str())
    })
}

/// Nodes referenced anywhere inside `value`.
pub fn referenced<'g>(graph: &'g Graph, value: Option<&Value>) -> impl Iterator<Item = &'g Node> {
    let mut ids = Vec::new();
    if let Some(value) = value {
        for s in string_leaves_of(value) {
            for part in token::parse(s).unwrap_or_default() {
                if let Part::Ref(r) = part
                    && !ids.contains(&r.node)
                {
                    ids.push(r.node);
                }
            }
        }
    }
    ids.into_iter().filter_map(|id| graph.node(&id))
}

fn with_role<'g>(
    graph: &'g Graph,
    catalog: &Catalog,
    value: Option<&Value>,
    role: Role,
) -> Vec<&'g Node> {
    referenced(graph, value)
        .filter(|n| n.role(catalog) == Some(role))
        .collect()
}

/// A string with no reference in it.
pub fn literal(value: Option<&Value>) -> Option<String> {
    let s = value?.as_str()?;
    (!token::has_token_chars(s)).then(|| s.to_owned())
}
