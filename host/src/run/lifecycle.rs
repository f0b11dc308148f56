//! The user's guards and refactors, from the blueprint file and the command
//! line: `[[moved]]` re-keys the state before planning; `ignore_changes`,
//! `--target` and `--replace` are checked against the graph and the state and
//! handed to the planner; `prevent_destroy` is checked against the plan. Each
//! entry must name something: a typo must not silently guard nothing.

use anyhow::bail;

use super::{Opened, Target, catalog};
use crate::blueprint_file::Blueprint;
use crate::engine::plan::{Action, Options, Plan};
use crate::state::State;
use blueprint_model::graph::Graph;

/// Apply `[[moved]]` to `state` (in memory: saved by the apply that follows)
/// and gather the plan's options, each checked to name a node.
pub fn options(
    blueprint: &Blueprint,
    target: &Target,
    graph: &Graph,
    state: &mut State,
) -> anyhow::Result<Options> {
    let file = blueprint.file.display();
    let mut options = Options::default();
    for m in &blueprint.moved {
        match (
            state.resources.contains_key(&m.from),
            state.resources.contains_key(&m.to),
        ) {
            (true, true) => bail!(
                "{file}: [[moved]] from {:?} to {:?}: the state records both; `blueprint state rm` the one that should not be kept",
                m.from,
                m.to
            ),
            (true, false) => {
                if !crate::runtime::declare::valid_name(&m.to) {
                    bail!("{file}: [[moved]] to {:?} is not a valid node name", m.to);
                }
                let kind = &state.resources[&m.from].kind;
                if let Some(node) = graph.node(&m.to)
                    && node.kind != *kind
                {
                    bail!(
                        "{file}: [[moved]] from {:?} ({kind}) to {:?} ({}): a move keeps the resource, so the kinds must match",
                        m.from,
                        m.to,
                        node.kind
                    );
                }
                state.rename(&m.from, &m.to)?;
                options.moved.insert(m.to.clone(), m.from.clone());
            }
            // Already moved (the entry stays in the file), or never recorded.
            (false, _) => {}
        }
    }
    let names = |node: &str| graph.node(node).is_some() || state.resources.contains_key(node);
    // `destroy` runs no guest: its empty graph names nothing to check against.
    let evaluated = !graph.nodes().is_empty();
    for (node, props) in blueprint.ignore_changes.iter().filter(|_| evaluated) {
        if !names(node) {
            bail!(
                "{file}: [lifecycle] ignore_changes names {node:?}, which is not a node of this blueprint (`blueprint graph` lists them)"
            );
        }
        for prop in props {
            let declared = graph.node(node).is_some_and(|n| n.props.contains_key(prop));
            let recorded = state
                .resources
                .get(node)
                .is_some_and(|e| e.applied_props.contains_key(prop));
            if !declared && !recorded {
                bail!(
                    "{file}: [lifecycle] ignore_changes lists prop {prop:?} of {node:?}, which the node neither declares nor records"
                );
            }
        }
    }
    options.ignore_changes = blueprint.ignore_changes.clone();
    for (flag, nodes) in [
        ("--target", &target.targets),
        ("--replace", &target.replace),
    ] {
        if let Some(unknown) = nodes.iter().find(|n| !names(n)) {
            bail!(
                "{flag} {unknown:?}: not a node of {} (`blueprint graph {file}` lists them)",
                blueprint.name
            );
        }
    }
    if let Some(absent) = target
        .replace
        .iter()
        .find(|n| !state.resources.contains_key(n.as_str()))
    {
        bail!(
            "--replace {absent:?}: nothing is recorded for it yet, so there is nothing to replace"
        );
    }
    options.targets = target.targets.iter().cloned().collect();
    options.replace = target.replace.iter().cloned().collect();
    Ok(options)
}

/// `[lifecycle] prevent_destroy`: a plan that would delete or replace a protected
/// node fails here, before any write, naming the node and the entry that
/// protects it. An entry that names nothing (no node of the graph or the state,
/// no kind) is an error too: a typo must not leave a service unprotected.
pub fn guard_prevent_destroy(opened: &Opened, plan: &Plan) -> anyhow::Result<()> {
    let guards = &opened.blueprint.prevent_destroy;
    if guards.is_empty() {
        return Ok(());
    }
    let file = opened.blueprint.file.display();
    for guard in guards {
        let names_something = catalog().lookup(guard).is_some()
            || opened.graph.node(guard).is_some()
            || opened.state.resources.contains_key(guard);
        if !names_something {
            anyhow::bail!(
                "{file}: [lifecycle] prevent_destroy names {guard:?}, which is neither a node of this blueprint nor a kind (`blueprint graph` lists the nodes, `blueprint kinds` the kinds)"
            );
        }
    }
    let protected: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(c.action, Action::Delete | Action::Replace)
                || (c.action != Action::NoOp && !c.deposed.is_empty())
        })
        .filter_map(|c| {
            let rule = guards.iter().find(|g| **g == c.node || **g == c.kind)?;
            let what = if c.action == Action::Replace {
                "replace (a new one, with a new id)"
            } else {
                "delete"
            };
            Some(format!(
                "{} ({}): the plan would {what} it; [lifecycle] prevent_destroy lists {rule:?}",
                c.node, c.kind
            ))
        })
        .collect();
    if protected.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{file}: nothing was changed: the plan would destroy what the blueprint file protects:\n  {}\nIf that is intended, take it off [lifecycle] prevent_destroy first; if a rename in the guest caused it, keep the old node name",
        protected.join("\n  ")
    )
}
