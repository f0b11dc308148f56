//! The resource graph a guest declares: nodes with JSON props whose strings may hold
//! reference tokens, and the assets they name. Everything here is pure data: no
//! API is touched until the graph has validated.

pub mod alerting;
pub mod render;
pub mod token;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde_json::{Map, Value};

pub use token::{Part, Reference};

use crate::assets::Asset;

/// The prop that holds a node's explicit dependencies (`host.depends-on`): an
/// ordering, never sent to a service, never a change by itself (the engine's
/// `resolve` leaves it out), exported as Terraform's `depends_on`.
pub const DEPENDS_ON: &str = "depends_on";

/// One declared resource (or lookup).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The logical name, unique within a blueprint.
    pub id: String,
    /// `<provider>.<kind>`, e.g. `pagerduty.schedule`.
    pub kind: String,
    /// snake_case props; `null` for an absent optional prop.
    pub props: Map<String, Value>,
}

impl Node {
    /// Every reference in the node's props, in a stable order. Malformed tokens
    /// are skipped here; validation reports them.
    pub fn references(&self) -> BTreeSet<Reference> {
        let mut refs = BTreeSet::new();
        for (_, s) in string_leaves(&self.props) {
            if let Ok(parts) = token::parse(s) {
                refs.extend(parts.into_iter().filter_map(|p| match p {
                    Part::Ref(r) => Some(r),
                    Part::Text(_) => None,
                }));
            }
        }
        refs
    }

    /// What the node's kind is in the alerting pattern, if anything.
    pub fn role(&self, catalog: &crate::kind::Catalog) -> Option<crate::kind::Role> {
        catalog.role_of(&self.kind)
    }

    /// The nodes this node references (itself too, if it does), in one pass
    /// over its strings without parsing them into parts: O(prop bytes + d log d)
    /// for d distinct dependencies (it used to build every `Reference` first).
    pub fn dependencies(&self) -> BTreeSet<String> {
        let mut nodes: BTreeSet<&str> = BTreeSet::new();
        for s in string_leaves_of_map(&self.props) {
            if token::has_token_chars(s) && token::parse(s).is_ok() {
                nodes.extend(token::referenced_nodes(s));
            }
        }
        nodes.into_iter().map(str::to_owned).collect()
    }
}

/// Every string in a props tree with its path (`layers[0].users[1]`).
pub fn string_leaves(props: &Map<String, Value>) -> Vec<(String, &str)> {
    fn walk<'a>(path: String, value: &'a Value, out: &mut Vec<(String, &'a str)>) {
        match value {
            Value::String(s) => out.push((path, s)),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(format!("{path}[{i}]"), item, out);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(format!("{path}.{key}"), item, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (key, value) in props {
        walk(key.clone(), value, &mut out);
    }
    out
}

/// Every string in a props map, without building paths.
fn string_leaves_of_map(props: &Map<String, Value>) -> Vec<&str> {
    let mut out = Vec::new();
    props.values().for_each(|v| collect_strings(v, &mut out));
    out
}

/// Every string inside one value.
pub fn string_leaves_of(value: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    collect_strings(value, &mut out);
    out
}

fn collect_strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// What a guest declared, plus the problems noticed while it declared it.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// In declaration order.
    nodes: Vec<Node>,
    /// Position of each node in `nodes` by id.
    index: HashMap<String, usize>,
    /// Assets by id, with their zip bytes.
    pub assets: BTreeMap<String, Asset>,
    /// Problems found at declaration time (unknown kind, props that do not parse,
    /// duplicate names); validation adds the rest.
    pub declaration_problems: Vec<Problem>,
}

impl Graph {
    /// Record a node. A duplicate name is kept out of the graph and reported.
    pub fn declare(&mut self, kind: &str, id: &str, props: Map<String, Value>) {
        if let Some(existing) = self.node(id) {
            let problem = Problem::node(
                ProblemClass::DuplicateName,
                id,
                kind,
                format!(
                    "the name '{id}' is already used by a {} node; logical names must be unique within a blueprint",
                    existing.kind
                ),
            );
            self.declaration_problems.push(problem);
            return;
        }
        self.index.insert(id.to_owned(), self.nodes.len());
        self.nodes.push(Node {
            id: id.to_owned(),
            kind: kind.to_owned(),
            props,
        });
    }

    /// Order `id` after the nodes these references name (`host.depends-on`):
    /// kept as the node's [`DEPENDS_ON`] prop, a list of reference tokens, so
    /// the graph's edges, validation (dangling references, unknown outputs,
    /// cycles), the apply and destroy order and the renderings see it like any
    /// other reference. An undeclared `id` is a problem.
    pub fn depend(&mut self, id: &str, on: Vec<String>) {
        let Some(&i) = self.index.get(id) else {
            self.declaration_problems.push(Problem::node(
                ProblemClass::DanglingReference,
                id,
                "depends-on",
                format!(
                    "depends-on names '{}', which is not declared (declare the node first)",
                    crate::text::escape_cut(id, crate::text::MAX_SHOWN)
                ),
            ));
            return;
        };
        let list = self.nodes[i]
            .props
            .entry(DEPENDS_ON)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = list {
            for token in on {
                if !items.iter().any(|t| t.as_str() == Some(&token)) {
                    items.push(Value::String(token));
                }
            }
        }
    }

    /// Nodes in declaration order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    /// `(from, to)` for every node `from` that references node `to`, sorted.
    pub fn edges(&self) -> Vec<(String, String)> {
        let mut edges: Vec<(String, String)> = self
            .nodes
            .iter()
            .flat_map(|n| n.dependencies().into_iter().map(|d| (n.id.clone(), d)))
            .collect();
        edges.sort();
        edges.dedup();
        edges
    }

    /// Nodes sorted by id: the order every rendering uses, so the same graph
    /// always renders the same bytes whatever order a guest declared it in.
    pub fn sorted_nodes(&self) -> Vec<&Node> {
        let mut nodes: Vec<&Node> = self.nodes.iter().collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        nodes
    }
}

/// What kind of problem a graph has; tests and `--json` consumers match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemClass {
    UnknownKind,
    InvalidProps,
    MissingProp,
    BadValue,
    DuplicateName,
    /// A logical name outside the identifier set (`runtime::declare::valid_name`).
    InvalidName,
    DanglingReference,
    MalformedReference,
    UnknownOutput,
    /// A value that carries a secret where the node would show it unless
    /// marked sensitive (`blueprint.output`).
    UnmarkedSecret,
    WrongReferenceKind,
    UnknownAsset,
    Cycle,
}

/// One thing wrong with a graph, naming the node and prop where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub class: ProblemClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prop: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn node(class: ProblemClass, node: &str, kind: &str, message: impl Into<String>) -> Self {
        Problem {
            class,
            node: Some(node.to_owned()),
            kind: Some(kind.to_owned()),
            prop: None,
            message: message.into(),
        }
    }

    pub fn prop(
        class: ProblemClass,
        node: &Node,
        prop: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            class,
            node: Some(node.id.clone()),
            kind: Some(node.kind.clone()),
            prop: Some(prop.into()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    /// One line; everything in it may come from a guest, so it is escaped
    /// ([`crate::text`]) and names are cut.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::text::{MAX_SHOWN, escape, escape_cut};
        match (&self.node, &self.kind) {
            (Some(node), Some(kind)) => write!(
                f,
                "{} ({})",
                escape_cut(node, MAX_SHOWN),
                escape_cut(kind, MAX_SHOWN)
            )?,
            (Some(node), None) => write!(f, "{}", escape_cut(node, MAX_SHOWN))?,
            _ => write!(f, "graph")?,
        }
        if let Some(prop) = &self.prop {
            write!(f, " prop `{}`", escape_cut(prop, MAX_SHOWN))?;
        }
        write!(f, ": {}", escape(&self.message))
    }
}

/// The graph failed validation; every problem is listed.
#[derive(Debug, Clone)]
pub struct InvalidGraph {
    pub problems: Vec<Problem>,
}

impl fmt::Display for InvalidGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "the blueprint's graph is invalid ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidGraph {}

#[cfg(test)]
mod depends_on_tests {
    use super::*;

    #[test]
    fn a_declared_order_is_an_edge_and_an_undeclared_node_a_problem() {
        let mut g = Graph::default();
        g.declare("aws.iam_role_policy_attachment", "attach", Map::new());
        g.declare("aws.lambda_function", "fn", Map::new());
        let token = token::make("attach", "id");
        g.depend("fn", vec![token.clone(), token.clone()]);
        assert_eq!(g.edges(), vec![("fn".to_owned(), "attach".to_owned())]);
        assert_eq!(
            g.node("fn").unwrap().props[DEPENDS_ON],
            Value::Array(vec![Value::String(token)]),
            "listed once"
        );
        g.depend("nobody", vec![token::make("attach", "id")]);
        assert_eq!(g.declaration_problems.len(), 1);
        assert!(
            g.declaration_problems[0]
                .to_string()
                .contains("not declared"),
            "{}",
            g.declaration_problems[0]
        );
    }
}
