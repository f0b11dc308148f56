//! Renderings of a graph for `blueprint graph`: JSON for machines, DOT and Mermaid
//! for people. All are deterministic: nodes sorted by id, props by key, and
//! references shown as `${node.output}`.

use serde_json::{Map, Value, json};

use super::{Graph, token};

/// Props with references in their human form and absent optionals dropped.
pub fn display_props(props: &Map<String, Value>) -> Map<String, Value> {
    fn convert(value: &Value) -> Option<Value> {
        match value {
            Value::Null => None,
            Value::String(s) => Some(Value::String(token::display_str(s))),
            Value::Array(items) => Some(Value::Array(items.iter().filter_map(convert).collect())),
            Value::Object(map) => Some(Value::Object(
                map.iter()
                    .filter_map(|(k, v)| convert(v).map(|v| (k.clone(), v)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }
    props
        .iter()
        .filter_map(|(k, v)| convert(v).map(|v| (k.clone(), v)))
        .collect()
}

/// `{"nodes":[{"id","kind",...props}], "edges":[{"from","to"}]}`; an edge goes
/// from a node to a node it references.
pub fn to_json(graph: &Graph) -> Value {
    let nodes: Vec<Value> = graph
        .sorted_nodes()
        .into_iter()
        .map(|node| {
            let mut object = Map::new();
            object.insert("id".into(), json!(node.id));
            object.insert("kind".into(), json!(node.kind));
            object.extend(display_props(&node.props));
            Value::Object(object)
        })
        .collect();
    let edges: Vec<Value> = graph
        .edges()
        .into_iter()
        .map(|(from, to)| json!({"from": from, "to": to}))
        .collect();
    json!({"nodes": nodes, "edges": edges})
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz DOT, one cluster per provider.
pub fn to_dot(graph: &Graph) -> String {
    let mut out = String::from(
        "digraph blueprint {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
    );
    let nodes = graph.sorted_nodes();
    let mut providers: Vec<&str> = nodes
        .iter()
        .map(|n| n.kind.split('.').next().unwrap_or(""))
        .collect();
    providers.dedup();
    providers.sort_unstable();
    providers.dedup();
    for provider in providers {
        out.push_str(&format!(
            "  subgraph {} {{\n    label={};\n",
            quote(&format!("cluster_{provider}")),
            quote(provider)
        ));
        for node in nodes
            .iter()
            .filter(|n| n.kind.split('.').next() == Some(provider))
        {
            let label = format!("{}\n{}", node.id, node.kind);
            out.push_str(&format!(
                "    {} [label={}];\n",
                quote(&node.id),
                quote(&label).replace("\n", "\\n")
            ));
        }
        out.push_str("  }\n");
    }
    for (from, to) in graph.edges() {
        out.push_str(&format!("  {} -> {};\n", quote(&from), quote(&to)));
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart (renders on GitHub and in most wikis).
pub fn to_mermaid(graph: &Graph) -> String {
    let nodes = graph.sorted_nodes();
    // Mermaid ids must be simple; labels carry the real names.
    let id_of = |name: &str| {
        nodes
            .iter()
            .position(|n| n.id == name)
            .map_or_else(|| "missing".to_owned(), |i| format!("n{i}"))
    };
    let mut out = String::from("flowchart LR\n");
    for (i, node) in nodes.iter().enumerate() {
        let label = format!("{}<br/><small>{}</small>", node.id, node.kind).replace('"', "#quot;");
        out.push_str(&format!("  n{i}[\"{label}\"]\n"));
    }
    for (from, to) in graph.edges() {
        out.push_str(&format!("  {} --> {}\n", id_of(&from), id_of(&to)));
    }
    out
}
