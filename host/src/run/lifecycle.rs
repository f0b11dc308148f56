//! The user's guards and refactors, from the blueprint file and the command
//! line: `[[moved]]` re-keys the state before planning; `ignore_changes`,
//! `--target` and `--replace` are checked against the graph and the state and
//! handed to the planner; `prevent_destroy` is checked against the plan. Each
//! entry must name something: a typo must not silently guard nothing.

use std::path::PathBuf;

use super::{Opened, Target, catalog};
use crate::blueprint_file::Blueprint;
use crate::engine::plan::{Action, Options, Plan};
use crate::state::State;
use blueprint_model::graph::Graph;
use blueprint_model::record::RecordError;

/// An entry of the blueprint file or a flag that names nothing it could, or a
/// plan that would destroy what the file protects: refused before any write.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(
        "{}: [[moved]] from {from:?} to {to:?}: the state records both; `blueprint state rm` the one that should not be kept",
        file.display()
    )]
    MovedOntoRecorded {
        file: PathBuf,
        from: String,
        to: String,
    },
    #[error("{}: [[moved]] to {to:?} is not a valid node name", file.display())]
    MovedToBadName { file: PathBuf, to: String },
    #[error(
        "{}: [[moved]] from {from:?} ({kind}) to {to:?} ({declared}): a move keeps the resource, so the kinds must match",
        file.display()
    )]
    MovedAcrossKinds {
        file: PathBuf,
        from: String,
        kind: String,
        to: String,
        declared: String,
    },
    #[error("{0}")]
    Move(#[from] RecordError),
    #[error(
        "{}: [lifecycle] ignore_changes names {node:?}, which is not a node of this blueprint (`blueprint graph` lists them)",
        file.display()
    )]
    IgnoresUnknownNode { file: PathBuf, node: String },
    #[error(
        "{}: [lifecycle] ignore_changes lists prop {prop:?} of {node:?}, which the node neither declares nor records",
        file.display()
    )]
    IgnoresUnknownProp {
        file: PathBuf,
        node: String,
        prop: String,
    },
    #[error(
        "{flag} {node:?}: not a node of {blueprint} (`blueprint graph {}` lists them)",
        file.display()
    )]
    UnknownNode {
        flag: &'static str,
        node: String,
        blueprint: String,
        file: PathBuf,
    },
    #[error("--replace {0:?}: nothing is recorded for it yet, so there is nothing to replace")]
    NothingToReplace(String),
    #[error(
        "{}: [lifecycle] prevent_destroy names {guard:?}, which is neither a node of this blueprint nor a kind (`blueprint graph` lists the nodes, `blueprint kinds` the kinds)",
        file.display()
    )]
    GuardsNothing { file: PathBuf, guard: String },
    /// Each line names a node, what the plan would do to it and the entry.
    #[error(
        "{}: nothing was changed: the plan would destroy what the blueprint file protects:\n  {}\nIf that is intended, take it off [lifecycle] prevent_destroy first; if a rename in the guest caused it, keep the old node name",
        file.display(),
        protected.join("\n  ")
    )]
    WouldDestroy {
        file: PathBuf,
        protected: Vec<String>,
    },
}

/// Apply `[[moved]]` to `state` (in memory: saved by the apply that follows)
/// and gather the plan's options, each checked to name a node.
pub fn options(
    blueprint: &Blueprint,
    target: &Target,
    graph: &Graph,
    state: &mut State,
) -> Result<Options, LifecycleError> {
    let file = || blueprint.file.clone();
    let mut options = Options::default();
    for m in &blueprint.moved {
        match (
            state.resources.contains_key(&m.from),
            state.resources.contains_key(&m.to),
        ) {
            (true, true) => {
                return Err(LifecycleError::MovedOntoRecorded {
                    file: file(),
                    from: m.from.clone(),
                    to: m.to.clone(),
                });
            }
            (true, false) => {
                if !crate::runtime::declare::valid_name(&m.to) {
                    return Err(LifecycleError::MovedToBadName {
                        file: file(),
                        to: m.to.clone(),
                    });
                }
                let kind = &state.resources[&m.from].kind;
                if let Some(node) = graph.node(&m.to)
                    && node.kind != *kind
                {
                    return Err(LifecycleError::MovedAcrossKinds {
                        file: file(),
                        from: m.from.clone(),
                        kind: kind.clone(),
                        to: m.to.clone(),
                        declared: node.kind.clone(),
                    });
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
            return Err(LifecycleError::IgnoresUnknownNode {
                file: file(),
                node: node.clone(),
            });
        }
        for prop in props {
            let declared = graph.node(node).is_some_and(|n| n.props.contains_key(prop));
            let recorded = state
                .resources
                .get(node)
                .is_some_and(|e| e.applied_props.contains_key(prop));
            if !declared && !recorded {
                return Err(LifecycleError::IgnoresUnknownProp {
                    file: file(),
                    node: node.clone(),
                    prop: prop.clone(),
                });
            }
        }
    }
    options.ignore_changes = blueprint.ignore_changes.clone();
    for (flag, nodes) in [
        ("--target", &target.targets),
        ("--replace", &target.replace),
    ] {
        if let Some(unknown) = nodes.iter().find(|n| !names(n)) {
            return Err(LifecycleError::UnknownNode {
                flag,
                node: unknown.clone(),
                blueprint: blueprint.name.clone(),
                file: file(),
            });
        }
    }
    if let Some(absent) = target
        .replace
        .iter()
        .find(|n| !state.resources.contains_key(n.as_str()))
    {
        return Err(LifecycleError::NothingToReplace(absent.clone()));
    }
    options.targets = target.targets.iter().cloned().collect();
    options.replace = target.replace.iter().cloned().collect();
    Ok(options)
}

/// `[lifecycle] prevent_destroy`: a plan that would delete or replace a protected
/// node fails here, before any write, naming the node and the entry that
/// protects it. An entry that names nothing (no node of the graph or the state,
/// no kind) is an error too: a typo must not leave a service unprotected.
pub fn guard_prevent_destroy(opened: &Opened, plan: &Plan) -> Result<(), LifecycleError> {
    let guards = &opened.blueprint.prevent_destroy;
    if guards.is_empty() {
        return Ok(());
    }
    let file = || opened.blueprint.file.clone();
    for guard in guards {
        let names_something = catalog().lookup(guard).is_some()
            || opened.graph.node(guard).is_some()
            || opened.state.resources.contains_key(guard);
        if !names_something {
            return Err(LifecycleError::GuardsNothing {
                file: file(),
                guard: guard.clone(),
            });
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
    Err(LifecycleError::WouldDestroy {
        file: file(),
        protected,
    })
}
