//! Turning a node's props (strings with reference tokens) into concrete values,
//! from the outputs known so far.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use blueprint_model::graph::{Graph, Node, Part, token};
use blueprint_model::kind::{get_path, lit};

/// Outputs known so far, by node.
#[derive(Debug, Clone, Default)]
pub struct Known {
    outputs: HashMap<String, BTreeMap<String, String>>,
}

impl Known {
    pub fn insert(&mut self, node: &str, outputs: BTreeMap<String, String>) {
        self.outputs.insert(node.to_owned(), outputs);
    }

    pub fn get(&self, node: &str, output: &str) -> Option<&str> {
        self.outputs.get(node)?.get(output).map(String::as_str)
    }

    pub fn has_node(&self, node: &str) -> bool {
        self.outputs.contains_key(node)
    }

    /// The outputs of a node about to be created that equal one of its own
    /// literal props (`KindInfo::mirrors`): known before it exists.
    pub fn insert_mirrors(&mut self, node: &Node, resolved: &Map<String, Value>) {
        let Some(kind) = crate::providers::catalog().lookup(&node.kind) else {
            return;
        };
        let outputs: BTreeMap<String, String> = kind
            .outputs
            .iter()
            .filter_map(|o| {
                let value = lit(get_path(resolved, o.mirrors?)?)?;
                Some((o.name.to_owned(), value.to_owned()))
            })
            .collect();
        self.outputs.insert(node.id.clone(), outputs);
    }
}

/// Props with every resolvable token replaced, and the top-level props that
/// still hold an unknown value ("known after apply"; left as tokens).
pub struct Resolved {
    pub props: Map<String, Value>,
    pub unknown: BTreeSet<String>,
}

pub fn resolve(node: &Node, known: &Known) -> Resolved {
    let mut unknown = BTreeSet::new();
    let props = node
        .props
        .iter()
        // An ordering only: never sent, never a change.
        .filter(|(key, _)| key.as_str() != blueprint_model::graph::DEPENDS_ON)
        .map(|(key, value)| {
            let mut missing = false;
            let resolved = resolve_value(value, known, &mut missing);
            if missing {
                unknown.insert(key.clone());
            }
            (key.clone(), resolved)
        })
        .collect();
    Resolved { props, unknown }
}

fn resolve_value(value: &Value, known: &Known, missing: &mut bool) -> Value {
    match value {
        Value::String(s) if token::has_token_chars(s) => {
            let Ok(parts) = token::parse(s) else {
                *missing = true;
                return value.clone();
            };
            let mut out = String::new();
            for part in &parts {
                match part {
                    Part::Text(t) => out.push_str(t),
                    Part::Ref(r) => match known.get(&r.node, &r.output) {
                        Some(v) => out.push_str(v),
                        None => {
                            *missing = true;
                            return value.clone();
                        }
                    },
                }
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_value(v, known, missing))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_value(v, known, missing)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Top-level props that carry a sensitive output (an integration key, or a URL
/// built from one), and the props a node's own secret outputs mirror (an
/// output marked `sensitive`): never printed.
pub fn sensitive_props(node: &Node, graph: &Graph) -> Vec<String> {
    let catalog = crate::providers::catalog();
    let own = catalog.lookup(&node.kind).into_iter().flat_map(|k| {
        k.outputs
            .iter()
            .filter(|o| o.is_sensitive(&node.props))
            .filter_map(|o| o.mirrors)
    });
    let own: Vec<&str> = own.collect();
    node.props
        .iter()
        .filter(|(key, value)| {
            own.contains(&key.as_str())
                || blueprint_model::graph::string_leaves_of(value)
                    .iter()
                    .any(|s| carries_secret(s, graph))
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// Whether a string prop holds a reference to a sensitive output.
pub fn carries_secret(text: &str, graph: &Graph) -> bool {
    let catalog = crate::providers::catalog();
    token::parse(text).is_ok_and(|parts| {
        parts.iter().any(|p| match p {
            Part::Ref(r) => graph.node(&r.node).is_some_and(|target| {
                catalog
                    .lookup(&target.kind)
                    .and_then(|k| k.output(&r.output))
                    .is_some_and(|o| o.is_sensitive(&target.props))
            }),
            Part::Text(_) => false,
        })
    })
}

/// Structural equality where numbers compare by value (`1` == `1.0`) and a
/// missing key equals `null`.
pub use blueprint_model::kind::same_value as same;
