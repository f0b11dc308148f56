//! IAM: the calls each AWS kind makes, as IAM actions on the ARNs they act on,
//! and the least-privilege policy document a blueprint needs
//! (`blueprint iam-policy`).
//!
//! Each kind declares its [`Iam`] in its own file, beside the calls: the ARN of
//! each output (as a template over its props) and, per [`Phase`], the actions
//! it calls and what on. The ARNs come from the graph before anything exists:
//! a prop that references another node's output is that node's template for
//! the output, so the subscription's grant names the topic the graph declares.
//!
//! Templates: `{partition}`, `{region}`, `{account}`; `{prop}` (a prop's value,
//! dotted for a nested one: `{code.s3_bucket}`; a grant whose prop is absent is
//! left out); `{prop|default}`; `{@output}` (this node's own template for an
//! output); `{prop>output}` (the template of `output` of the node `prop`
//! references, else the prop's literal value when it is an ARN, else the
//! default, else `*`). What cannot be known before apply is `*`.
//!
//! The ARNs and the actions' resource types follow the Service Authorization
//! Reference (docs.aws.amazon.com/service-authorization/latest/reference/);
//! where it lists no resource type for an action (list and describe calls, metric
//! reads), the grant is on `*`, which is all AWS accepts for them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use blueprint_model::graph::token::{self, Part};
use blueprint_model::graph::{Graph, Node};

/// When a call is made: the commands are unions of phases ([`Command::phases`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Refresh and look-before-create: every `plan`, `run`, `destroy`, `drill`.
    Read,
    /// Create and update (`run`).
    Write,
    /// Delete (`run` of a graph that dropped a node, and `destroy`).
    Delete,
    /// The drill's probes: inject an alarm or a log line, read the delivery.
    Drill,
}

/// The commands `iam-policy --for` writes a policy for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Command {
    Plan,
    Run,
    Destroy,
    Drill,
}

impl Command {
    pub fn phases(self) -> &'static [Phase] {
        match self {
            Command::Plan => &[Phase::Read],
            Command::Run => &[Phase::Read, Phase::Write, Phase::Delete],
            Command::Destroy => &[Phase::Read, Phase::Delete],
            Command::Drill => &[Phase::Read, Phase::Drill],
        }
    }
}

/// One need of a kind: these actions, in this phase, on these resources.
#[derive(Debug)]
pub struct Grant {
    pub phase: Phase,
    pub actions: &'static [&'static str],
    /// ARN templates (module docs); [`ANY`] for actions without a resource type.
    pub on: &'static [&'static str],
}

pub const fn grant(
    phase: Phase,
    actions: &'static [&'static str],
    on: &'static [&'static str],
) -> Grant {
    Grant { phase, actions, on }
}

/// For actions the Service Authorization Reference lists no resource type for.
pub const ANY: &str = "*";
/// The node's own ARN (its `arn` output's template).
pub const OWN: &str = "{@arn}";

/// A kind's IAM needs.
#[derive(Debug)]
pub struct Iam {
    /// Each output's value as a template over the node's props.
    pub outputs: &'static [(&'static str, &'static str)],
    pub grants: &'static [Grant],
}

impl Iam {
    /// For lookups that need no permission (STS GetCallerIdentity; the region
    /// is the SDK's configuration).
    pub const NONE: Iam = Iam {
        outputs: &[],
        grants: &[],
    };

    fn output(&self, name: &str) -> Option<&'static str> {
        self.outputs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }
}

/// Where the blueprint runs: unknown parts are `*`.
#[derive(Debug, Clone)]
pub struct Account {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Account {
    pub fn new(region: Option<&str>, account: Option<&str>) -> Account {
        let region = region.unwrap_or("*").to_owned();
        Account {
            partition: partition_of(&region).to_owned(),
            region,
            account: account.unwrap_or("*").to_owned(),
        }
    }
}

/// The partition a region is in (`aws` where the region is unknown).
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Actions on resources, gathered from the graph and whatever else a command
/// touches (the state bucket, a shared guest), then written as one document.
#[derive(Debug, Default)]
pub struct Needs {
    by_action: BTreeMap<String, BTreeSet<String>>,
}

impl Needs {
    pub fn add(&mut self, action: &str, resource: impl Into<String>) {
        self.by_action
            .entry(action.to_owned())
            .or_default()
            .insert(resource.into());
    }

    /// Every need of the graph's AWS nodes in these phases; `iam` gives a kind's
    /// declaration (None: not an AWS kind).
    pub fn of_graph(
        graph: &Graph,
        phases: &[Phase],
        account: &Account,
        iam: impl Fn(&str) -> Option<&'static Iam> + Copy,
    ) -> Needs {
        let mut needs = Needs::default();
        let resolver = Resolver {
            graph,
            account,
            iam,
        };
        for node in graph.sorted_nodes() {
            let Some(declared) = iam(&node.kind) else {
                continue;
            };
            for g in declared.grants.iter().filter(|g| phases.contains(&g.phase)) {
                for template in g.on {
                    let Some(resource) = resolver.expand(template, node, 0) else {
                        continue;
                    };
                    for action in g.actions {
                        needs.add(action, resource.clone());
                    }
                }
            }
        }
        needs
    }

    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.by_action.keys().map(String::as_str)
    }

    /// The policy document: one statement per set of resources, its actions
    /// sorted; a set holding `*` is just `*`. Deterministic, so a CI job can diff it.
    pub fn document(&self) -> Value {
        let mut by_resources: BTreeMap<Vec<String>, Vec<&str>> = BTreeMap::new();
        for (action, resources) in &self.by_action {
            let key = if resources.contains(ANY) {
                vec![ANY.to_owned()]
            } else {
                resources.iter().cloned().collect()
            };
            by_resources.entry(key).or_default().push(action);
        }
        let mut statements: Vec<(String, Value)> = by_resources
            .into_iter()
            .map(|(resources, actions)| {
                let resource = match resources.as_slice() {
                    [one] => json!(one),
                    many => json!(many),
                };
                let action = match actions.as_slice() {
                    [one] => json!(one),
                    many => json!(many),
                };
                let service = actions[0].split(':').next().unwrap_or("aws").to_owned();
                (
                    service,
                    json!({"Effect": "Allow", "Action": action, "Resource": resource}),
                )
            })
            .collect();
        statements.sort_by(|a, b| a.0.cmp(&b.0));
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let statements: Vec<Value> = statements
            .into_iter()
            .map(|(service, mut statement)| {
                let n = counts.entry(service.clone()).or_default();
                *n += 1;
                statement["Sid"] = json!(format!("{}{}", capitalised(&service), n));
                statement
            })
            .collect();
        json!({"Version": "2012-10-17", "Statement": statements})
    }
}

fn capitalised(service: &str) -> String {
    let mut chars = service.chars().filter(char::is_ascii_alphanumeric);
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + &chars.collect::<String>(),
        None => "Aws".into(),
    }
}

/// A managed policy's limit: "6,144 characters" not counting white space
/// (IAM and AWS STS quotas, docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// The document's size as IAM counts it (white space outside strings left out).
pub fn policy_size(document: &Value) -> usize {
    serde_json::to_string(document).map_or(0, |s| s.len())
}

struct Resolver<'a, F> {
    graph: &'a Graph,
    account: &'a Account,
    iam: F,
}

/// Templates nest (`{a|{b}}`) no deeper than this; references chain no longer.
const MAX_DEPTH: u8 = 8;

impl<F: Fn(&str) -> Option<&'static Iam> + Copy> Resolver<'_, F> {
    /// The template on this node; `None` when it names a prop the node lacks.
    fn expand(&self, template: &str, node: &Node, depth: u8) -> Option<String> {
        if depth > MAX_DEPTH {
            return Some(ANY.into());
        }
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = matching_brace(&rest[open..])? + open;
            out.push_str(&self.placeholder(&rest[open + 1..close], node, depth)?);
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn placeholder(&self, body: &str, node: &Node, depth: u8) -> Option<String> {
        let (key, default) = split_default(body);
        let fallback = |s: &Self| match default {
            Some(d) => s.expand(d, node, depth + 1),
            None => None,
        };
        match key {
            "partition" => return Some(self.account.partition.clone()),
            "region" => return Some(self.account.region.clone()),
            "account" => return Some(self.account.account.clone()),
            _ => {}
        }
        if let Some(output) = key.strip_prefix('@') {
            let template = (self.iam)(&node.kind)?.output(output)?;
            return self.expand(template, node, depth + 1);
        }
        if let Some((prop, output)) = key.split_once('>') {
            let Some(value) = prop_str(node, prop) else {
                return fallback(self);
            };
            if let Ok(parts) = token::parse(&value)
                && let [Part::Ref(r)] = parts.as_slice()
                && let Some(target) = self.graph.node(&r.node)
                && let Some(template) = (self.iam)(&target.kind).and_then(|i| i.output(output))
            {
                return self.expand(template, target, depth + 1);
            }
            if value.starts_with("arn:") && !token::has_token_chars(&value) {
                return Some(value);
            }
            return fallback(self).or_else(|| Some(ANY.into()));
        }
        let Some(value) = prop_str(node, key) else {
            return fallback(self);
        };
        Some(self.resolve_value(&value, depth))
    }

    /// A prop's string with each reference replaced by the referenced output's
    /// template (`*` where the kind declares none: known only after apply).
    fn resolve_value(&self, value: &str, depth: u8) -> String {
        let Ok(parts) = token::parse(value) else {
            return ANY.into();
        };
        parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Ref(r) => self
                    .graph
                    .node(&r.node)
                    .and_then(|target| {
                        let template = (self.iam)(&target.kind)?.output(&r.output)?;
                        self.expand(template, target, depth + 1)
                    })
                    .unwrap_or_else(|| ANY.into()),
            })
            .collect()
    }
}

/// A prop by dotted path, as text; absent, null and non-scalar values are None.
fn prop_str(node: &Node, path: &str) -> Option<String> {
    let mut parts = path.split('.');
    let mut value = node.props.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `key|default` at the top level of a placeholder's body.
fn split_default(body: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => return (&body[..i], Some(&body[i + 1..])),
            _ => {}
        }
    }
    (body, None)
}

/// The index of the `}` closing the `{` at the start of `s`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    static TOPIC: Iam = Iam {
        outputs: &[("arn", "arn:{partition}:sns:{region}:{account}:{name}")],
        grants: &[
            grant(Phase::Read, &["sns:GetTopicAttributes"], &[OWN]),
            grant(Phase::Read, &["sns:ListTopics"], &[ANY]),
            grant(Phase::Write, &["sns:CreateTopic"], &[OWN]),
        ],
    };
    static SUBSCRIPTION: Iam = Iam {
        outputs: &[],
        grants: &[
            grant(Phase::Write, &["sns:Subscribe"], &["{topic}"]),
            grant(
                Phase::Write,
                &["s3:GetObject"],
                &["arn:{partition}:s3:::{code.bucket}"],
            ),
            grant(Phase::Write, &["sqs:SendMessage"], &["{queue>arn|nope}"]),
        ],
    };

    fn iam(kind: &str) -> Option<&'static Iam> {
        match kind {
            "aws.sns_topic" => Some(&TOPIC),
            "aws.sns_topic_subscription" => Some(&SUBSCRIPTION),
            _ => None,
        }
    }

    fn graph() -> Graph {
        let mut g = Graph::default();
        let props = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        g.declare("aws.sns_topic", "topic", props(json!({"name": "alerts"})));
        g.declare(
            "aws.sns_topic_subscription",
            "sub",
            props(json!({"topic": token::make("topic", "arn"), "queue": "https://x"})),
        );
        g.declare("pagerduty.service", "svc", props(json!({"name": "x"})));
        g
    }

    #[test]
    fn references_become_the_referenced_nodes_arns() {
        let account = Account::new(Some("eu-west-1"), Some("111122223333"));
        let needs = Needs::of_graph(&graph(), &[Phase::Read, Phase::Write], &account, iam);
        let doc = needs.document();
        let statements = doc["Statement"].as_array().unwrap();
        let has = |action: Value, resource: Value| {
            statements.iter().any(|s| {
                s["Action"] == action && s["Resource"] == resource && s["Effect"] == "Allow"
            })
        };
        assert!(
            has(
                json!(["sns:CreateTopic", "sns:GetTopicAttributes", "sns:Subscribe"]),
                json!("arn:aws:sns:eu-west-1:111122223333:alerts")
            ),
            "{doc}"
        );
        assert!(has(json!("sns:ListTopics"), json!("*")), "{doc}");
        // An absent prop leaves its grant out; a literal that is no ARN takes the default.
        assert!(!doc.to_string().contains("s3:GetObject"), "{doc}");
        assert!(has(json!("sqs:SendMessage"), json!("nope")), "{doc}");
        let sids: Vec<&Value> = statements.iter().map(|s| &s["Sid"]).collect();
        assert_eq!(sids, [&json!("Sns1"), &json!("Sns2"), &json!("Sqs1")]);
        assert_eq!(doc["Version"], "2012-10-17");
        // Only the phases asked for.
        let read = Needs::of_graph(&graph(), &[Phase::Read], &account, iam);
        assert_eq!(
            read.actions().collect::<Vec<_>>(),
            ["sns:GetTopicAttributes", "sns:ListTopics"]
        );
    }

    #[test]
    fn unknown_account_and_region_are_wildcards() {
        let account = Account::new(None, None);
        let needs = Needs::of_graph(&graph(), &[Phase::Write], &account, iam);
        assert!(
            needs
                .document()
                .to_string()
                .contains("arn:aws:sns:*:*:alerts"),
            "{}",
            needs.document()
        );
        assert_eq!(Account::new(Some("cn-north-1"), None).partition, "aws-cn");
    }

    #[test]
    fn templates_nest_and_stop() {
        assert_eq!(split_default("a|{b|c}"), ("a", Some("{b|c}")));
        assert_eq!(matching_brace("{a{b}c}d"), Some(6));
        assert_eq!(matching_brace("{a"), None);
    }
}
