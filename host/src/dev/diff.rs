//! What changed between two evaluations of a blueprint, as `blueprint dev`
//! prints it: nodes added, removed, and props changed.

use std::collections::BTreeMap;

use serde_json::Value;

fn nodes_by_id(graph: &Value) -> BTreeMap<String, &serde_json::Map<String, Value>> {
    graph["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_object())
        .filter_map(|n| Some((n.get("id")?.as_str()?.to_owned(), n)))
        .collect()
}

fn kind(node: &serde_json::Map<String, Value>) -> &str {
    node.get("kind").and_then(Value::as_str).unwrap_or("?")
}

/// Every node, one line each.
pub fn describe(graph: &Value) -> Vec<String> {
    nodes_by_id(graph)
        .iter()
        .map(|(id, node)| format!("{id} ({})", kind(node)))
        .collect()
}

/// What changed between two renderings of a graph: `+` added, `-` removed, `~`
/// changed with one line per changed prop.
pub fn diff(before: &Value, after: &Value) -> Vec<String> {
    let old = nodes_by_id(before);
    let new = nodes_by_id(after);
    let mut lines = Vec::new();
    for (id, node) in &new {
        match old.get(id) {
            None => lines.push(format!("+ {id} ({})", kind(node))),
            Some(was) if was != node => {
                lines.push(format!("~ {id} ({})", kind(node)));
                let keys: std::collections::BTreeSet<&String> =
                    was.keys().chain(node.keys()).collect();
                for key in keys {
                    changes(key, was.get(key), node.get(key), &mut lines);
                }
            }
            Some(_) => {}
        }
    }
    for (id, node) in &old {
        if !new.contains_key(id) {
            lines.push(format!("- {id} ({})", kind(node)));
        }
    }
    lines
}

/// One line per changed leaf below `path` (`metric_transformation.metric_namespace: ...`).
fn changes(path: &str, a: Option<&Value>, b: Option<&Value>, lines: &mut Vec<String>) {
    match (a, b) {
        _ if a == b => {}
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                changes(&format!("{path}.{key}"), x.get(key), y.get(key), lines);
            }
        }
        _ => lines.push(format!("    {path}: {} -> {}", short(a), short(b))),
    }
}

fn short(value: Option<&Value>) -> String {
    let text = match value {
        None => "(unset)".to_owned(),
        Some(v) => v.to_string(),
    };
    if text.chars().count() > 100 {
        let cut: String = text.chars().take(97).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_added_removed_and_changed_props() {
        let before = json!({"nodes": [
            {"id": "a", "kind": "aws.sns_topic", "name": "t", "m": {"x": 1, "y": 2}},
            {"id": "b", "kind": "aws.s3_bucket", "bucket": "x"},
        ]});
        let after = json!({"nodes": [
            {"id": "a", "kind": "aws.sns_topic", "name": "t2", "m": {"x": 1, "y": 3}},
            {"id": "c", "kind": "pagerduty.team", "name": "ops"},
        ]});
        assert_eq!(
            diff(&before, &after),
            [
                "~ a (aws.sns_topic)",
                "    m.y: 2 -> 3",
                "    name: \"t\" -> \"t2\"",
                "+ c (pagerduty.team)",
                "- b (aws.s3_bucket)",
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }
}
