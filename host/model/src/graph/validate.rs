//! Validation: everything that can be known wrong about a graph before any API
//! call. It reports every problem at once, each naming its node and prop.

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;
use serde_json::Value;

use super::token::{self, Part};
use super::{Graph, InvalidGraph, Problem, ProblemClass, string_leaves};
use crate::kind::{self as kinds, Catalog, Checker};

/// Check a graph; `Ok` means it is safe to plan.
/// `catalog`: the kinds this process serves.
pub fn validate(graph: &Graph, catalog: &Catalog) -> Result<(), InvalidGraph> {
    let mut problems = graph.declaration_problems.clone();
    for node in graph.nodes() {
        let Some(kind) = catalog.lookup(&node.kind) else {
            problems.push(Problem::node(
                ProblemClass::UnknownKind,
                &node.id,
                &node.kind,
                format!("unknown kind '{}'", node.kind),
            ));
            continue;
        };
        for &prop in kind.required {
            let missing = match node.props.get(prop) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                _ => false,
            };
            if missing {
                problems.push(Problem::prop(
                    ProblemClass::MissingProp,
                    node,
                    prop,
                    "is required",
                ));
            }
        }
        check_references(graph, catalog, node, &mut problems);
        kinds::check_text(node, kind, &mut problems);
        for rule in kind.refs {
            for (path, value) in kinds::select(&node.props, rule.path) {
                let checker = Checker {
                    node,
                    graph,
                    problems: &mut Vec::new(),
                };
                if let Some(target) = checker.referenced_kind(value)
                    && !rule.kinds.contains(&target.as_str())
                    && catalog.lookup(&target).and_then(|k| k.role) != Some(kinds::Role::Relay)
                {
                    problems.push(Problem::prop(
                        ProblemClass::WrongReferenceKind,
                        node,
                        path,
                        format!(
                            "refers to a {target}, but this prop takes {}",
                            rule.kinds.join(" or ")
                        ),
                    ));
                }
            }
        }
        (kind.check)(&mut Checker {
            node,
            graph,
            problems: &mut problems,
        });
    }
    problems.extend(cycles(graph));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidGraph { problems })
    }
}

/// Every token must be well formed and name a declared node and one of its outputs.
fn check_references(
    graph: &Graph,
    catalog: &Catalog,
    node: &super::Node,
    problems: &mut Vec<Problem>,
) {
    for (path, s) in string_leaves(&node.props) {
        let parts = match token::parse(s) {
            Ok(parts) => parts,
            Err(why) => {
                problems.push(Problem::prop(
                    ProblemClass::MalformedReference,
                    node,
                    path,
                    format!("holds {why}; pass outputs exactly as constructors return them"),
                ));
                continue;
            }
        };
        for part in parts {
            let Part::Ref(r) = part else { continue };
            let Some(target) = graph.node(&r.node) else {
                problems.push(Problem::prop(
                    ProblemClass::DanglingReference,
                    node,
                    &path,
                    format!(
                        "references '{}', which is not declared",
                        crate::text::escape_cut(&r.node, crate::text::MAX_SHOWN)
                    ),
                ));
                continue;
            };
            let output = catalog
                .lookup(&target.kind)
                .and_then(|k| k.output(&r.output));
            if output.is_some_and(|o| o.is_sensitive(&target.props))
                && let Some(flag) = shown_unless_marked(catalog, node, &path)
            {
                problems.push(Problem::prop(
                    ProblemClass::UnmarkedSecret,
                    node,
                    &path,
                    format!("carries '{r}', a secret: set {flag} = true so it is never shown"),
                ));
            }
            let known = catalog
                .lookup(&target.kind)
                .is_none_or(|_| output.is_some());
            if !known {
                problems.push(Problem::prop(
                    ProblemClass::UnknownOutput,
                    node,
                    &path,
                    format!(
                        "references '{r}', but a {} has no output '{}'",
                        target.kind,
                        crate::text::escape_cut(&r.output, crate::text::MAX_SHOWN)
                    ),
                ));
            }
        }
    }
}

/// The flag a node must set before the prop at `path` may carry a secret: the
/// prop is mirrored by an output that is secret only when flagged, and the
/// node does not flag it.
fn shown_unless_marked(catalog: &Catalog, node: &super::Node, path: &str) -> Option<&'static str> {
    let top = path.split(['.', '[']).next().unwrap_or(path);
    catalog
        .lookup(&node.kind)?
        .outputs
        .iter()
        .filter(|o| o.mirrors == Some(top) && !o.is_sensitive(&node.props))
        .find_map(|o| o.sensitive_when)
}

/// Each strongly connected component with more than one node (or a node that
/// references itself) is a cycle; name its members in order.
fn cycles(graph: &Graph) -> Vec<Problem> {
    let mut g: DiGraphMap<&str, ()> = DiGraphMap::new();
    for node in graph.nodes() {
        g.add_node(&node.id);
    }
    let deps: Vec<(String, String)> = graph
        .edges()
        .into_iter()
        .filter(|(_, to)| graph.node(to).is_some())
        .collect();
    for (from, to) in &deps {
        g.add_edge(from.as_str(), to.as_str(), ());
    }
    let mut problems = Vec::new();
    for mut scc in tarjan_scc(&g) {
        let is_cycle = scc.len() > 1 || g.contains_edge(scc[0], scc[0]);
        if !is_cycle {
            continue;
        }
        scc.sort_unstable();
        let path = cycle_path(&g, &scc);
        problems.push(Problem {
            class: ProblemClass::Cycle,
            node: Some(scc[0].to_owned()),
            kind: graph.node(scc[0]).map(|n| n.kind.clone()),
            prop: None,
            message: format!(
                "dependency cycle: {} (a resource cannot wait for itself; break one reference)",
                path.join(" -> ")
            ),
        });
    }
    problems
}

/// The shortest walk around the cycle from its smallest member, for the message.
fn cycle_path<'a>(g: &DiGraphMap<&'a str, ()>, members: &[&'a str]) -> Vec<&'a str> {
    // Breadth-first from the start: O(V + E log E) over the component (the
    // membership test was a scan of the members, O(V) per edge, before).
    let start = members[0];
    let in_scc: std::collections::HashSet<&str> = members.iter().copied().collect();
    let mut parent: std::collections::HashMap<&str, &str> = Default::default();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(current) = queue.pop_front() {
        if g.contains_edge(current, start) {
            let mut back = vec![current];
            let mut at = current;
            while let Some(&p) = parent.get(at) {
                back.push(p);
                at = p;
            }
            back.reverse();
            // `back` is start, ..., current; close the loop.
            let mut path = vec![start];
            path.extend(back);
            path.dedup();
            path.push(start);
            return path;
        }
        let mut next: Vec<&str> = g
            .neighbors(current)
            .filter(|n| in_scc.contains(n) && *n != start && !parent.contains_key(n))
            .collect();
        next.sort_unstable();
        for n in next {
            parent.insert(n, current);
            queue.push_back(n);
        }
    }
    members.to_vec()
}
