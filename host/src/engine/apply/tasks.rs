//! The task graph of an apply, built from a plan without side effects: which
//! operations run and which each waits for. Pure, so its ordering rules are
//! unit-tested here apart from the scheduler.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::engine::plan::{Action, Change};
use crate::state::State;
use blueprint_model::graph::Graph;

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    /// Create (or adopt) the node's resource.
    Create(String),
    /// Change it in place.
    Update(String),
    /// Delete the node's current resource (removed from the blueprint, or the
    /// first half of a delete-then-create replacement).
    Delete(String),
    /// Delete the node's replaced resources.
    DeleteDeposed(String),
}

impl Task {
    pub fn node(&self) -> &str {
        match self {
            Task::Create(n) | Task::Update(n) | Task::Delete(n) | Task::DeleteDeposed(n) => n,
        }
    }

    pub fn verb(&self) -> &'static str {
        match self {
            Task::Create(_) => "create",
            Task::Update(_) => "update",
            Task::Delete(_) | Task::DeleteDeposed(_) => "delete",
        }
    }
}

/// Every task with the tasks it waits for, and what each node's tasks need to
/// know.
#[derive(Debug, Default)]
pub struct TaskGraph {
    pub waits_for: BTreeMap<Task, BTreeSet<Task>>,
    /// For updates: the props the plan found changed.
    pub update_props: HashMap<String, Vec<String>>,
    /// Nodes whose earlier create was interrupted: look before creating.
    pub adopt: BTreeSet<String>,
    /// Creates the plan did not look for live (their identity was unknown
    /// then): look just before creating.
    pub look_first: BTreeSet<String>,
    /// Nodes the plan found live and provably theirs: their `Update` task
    /// records them (and changes what differs).
    pub adopting: BTreeSet<String>,
    /// Nodes replaced create-before-destroy (the old resource is deposed).
    pub create_before_destroy: BTreeSet<String>,
}

impl TaskGraph {
    /// What a task is called in progress lines and the report.
    pub fn verb(&self, task: &Task) -> &'static str {
        match task {
            Task::Update(node) if self.adopting.contains(node) => "adopt",
            other => other.verb(),
        }
    }

    /// Each task's priority: the heaviest chain of tasks that wait on it,
    /// itself included, each weighing `weight`. The scheduler starts the ready
    /// task with the heaviest chain first, so the chain that decides when the
    /// apply ends never waits behind a leaf.
    pub fn priorities(&self, weight: impl Fn(&Task) -> f64) -> HashMap<Task, f64> {
        crate::engine::chains::heaviest_chains(&self.waits_for, weight)
    }
}

/// Build the task graph of `changes`:
/// - creates and updates wait for the creates/updates of what they reference;
/// - a replacement is create → delete the deposed one when the kind allows
///   create-before-destroy, else delete → create;
/// - deletes wait for everything that depended on the resource (per the state)
///   to be deleted or moved off it; deleting a deposed resource also waits for
///   the graph's dependents of its node to move to the replacement.
pub fn build(changes: &[Change], state: &State, graph: &Graph) -> TaskGraph {
    let mut g = TaskGraph::default();
    let tasks = &mut g.waits_for;
    for change in changes {
        let node = change.node.clone();
        match change.action {
            Action::NoOp => {}
            Action::Create => {
                tasks.insert(Task::Create(node.clone()), BTreeSet::new());
                if change.adopt {
                    g.adopt.insert(node.clone());
                } else if !change.checked {
                    g.look_first.insert(node.clone());
                }
            }
            Action::Update | Action::Adopt => {
                if change.action == Action::Adopt {
                    g.adopting.insert(node.clone());
                }
                tasks.insert(Task::Update(node.clone()), BTreeSet::new());
                g.update_props.insert(
                    node.clone(),
                    change.props.iter().map(|p| p.name.clone()).collect(),
                );
            }
            Action::Replace => {
                if crate::providers::catalog()
                    .lookup(&change.kind)
                    .is_some_and(|k| k.create_before_destroy)
                {
                    g.create_before_destroy.insert(node.clone());
                    tasks.insert(Task::Create(node.clone()), BTreeSet::new());
                    tasks.insert(
                        Task::DeleteDeposed(node.clone()),
                        BTreeSet::from([Task::Create(node.clone())]),
                    );
                } else {
                    tasks.insert(Task::Delete(node.clone()), BTreeSet::new());
                    tasks.insert(
                        Task::Create(node.clone()),
                        BTreeSet::from([Task::Delete(node.clone())]),
                    );
                }
            }
            Action::Delete => {
                tasks.insert(Task::Delete(node.clone()), BTreeSet::new());
            }
        }
        if change.action != Action::Delete && !change.deposed.is_empty() {
            tasks.entry(Task::DeleteDeposed(node)).or_default();
        }
    }

    let node_task = |tasks: &BTreeMap<Task, BTreeSet<Task>>, node: &str| {
        [Task::Create(node.to_owned()), Task::Update(node.to_owned())]
            .into_iter()
            .find(|t| tasks.contains_key(t))
    };
    let keys: Vec<Task> = tasks.keys().cloned().collect();
    let add = |tasks: &mut BTreeMap<Task, BTreeSet<Task>>, task: &Task, dep: Task| {
        tasks.get_mut(task).expect("present").insert(dep);
    };
    for task in &keys {
        match task {
            // Creates and updates wait for what they reference.
            Task::Create(n) | Task::Update(n) => {
                let deps = graph.node(n).map(|x| x.dependencies()).unwrap_or_default();
                for dep in deps {
                    if let Some(t) = node_task(tasks, &dep) {
                        add(tasks, task, t);
                    }
                }
            }
            // Deletes wait for everything that depended on the resource.
            Task::Delete(n) | Task::DeleteDeposed(n) => {
                for (other, entry) in &state.resources {
                    if other == n || !entry.dependencies.contains(n) {
                        continue;
                    }
                    for t in [
                        Task::Delete(other.clone()),
                        Task::Create(other.clone()),
                        Task::Update(other.clone()),
                    ] {
                        // A delete-first replacement of a dependency must not wait
                        // for the dependent's create (which waits for it).
                        let creates_after = matches!(task, Task::Delete(_))
                            && matches!(t, Task::Create(_) | Task::Update(_))
                            && graph.node(n).is_some();
                        if tasks.contains_key(&t) && !creates_after {
                            add(tasks, task, t);
                        }
                    }
                }
                if let Task::DeleteDeposed(n) = task {
                    for node in graph.nodes() {
                        if node.dependencies().contains(n)
                            && let Some(t) = node_task(tasks, &node.id)
                        {
                            add(tasks, task, t);
                        }
                    }
                }
            }
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::plan::Change;
    use crate::providers::Resource;
    use crate::state::{Entry, Status};
    use blueprint_model::graph::token;

    fn change(node: &str, kind: &str, action: Action) -> Change {
        Change {
            node: node.into(),
            kind: kind.into(),
            action,
            props: Vec::new(),
            adopt: false,
            checked: true,
            deposed: Vec::new(),
            moved_from: None,
            replace_requested: false,
        }
    }

    fn entry(kind: &str, deps: &[&str]) -> Entry {
        Entry {
            kind: kind.into(),
            status: Status::Ready,
            resource: Some(Resource::default()),
            applied_props: Default::default(),
            sensitive_props: Vec::new(),
            dependencies: deps.iter().map(|d| (*d).to_owned()).collect(),
            deposed: Vec::new(),
            updated_at: String::new(),
            adopted_from: None,
        }
    }

    /// team ← policy (teams), the graph's only edge.
    fn graph() -> Graph {
        let mut g = Graph::default();
        g.declare(
            "pagerduty.team",
            "team",
            json!({"name": "t"}).as_object().unwrap().clone(),
        );
        g.declare(
            "pagerduty.escalation_policy",
            "policy",
            json!({"name": "p", "teams": [token::make("team", "id")], "rules": []})
                .as_object()
                .unwrap()
                .clone(),
        );
        g
    }

    fn waits(g: &TaskGraph, task: Task) -> Vec<Task> {
        g.waits_for[&task].iter().cloned().collect()
    }

    #[test]
    fn creates_wait_for_what_they_reference() {
        let changes = [
            change("team", "pagerduty.team", Action::Create),
            change("policy", "pagerduty.escalation_policy", Action::Create),
        ];
        let g = build(&changes, &State::new("t"), &graph());
        assert_eq!(
            waits(&g, Task::Create("policy".into())),
            [Task::Create("team".into())]
        );
        assert!(waits(&g, Task::Create("team".into())).is_empty());
    }

    #[test]
    fn deletes_wait_for_their_dependents() {
        let mut state = State::new("t");
        state
            .resources
            .insert("team".into(), entry("pagerduty.team", &[]));
        state.resources.insert(
            "policy".into(),
            entry("pagerduty.escalation_policy", &["team"]),
        );
        let changes = [
            change("team", "pagerduty.team", Action::Delete),
            change("policy", "pagerduty.escalation_policy", Action::Delete),
        ];
        let g = build(&changes, &state, &Graph::default());
        assert_eq!(
            waits(&g, Task::Delete("team".into())),
            [Task::Delete("policy".into())]
        );
    }

    #[test]
    fn replacements_follow_the_kind() {
        // A schedule may exist twice for a while: create, then delete the old.
        let g = build(
            &[change("s", "pagerduty.schedule", Action::Replace)],
            &State::new("t"),
            &Graph::default(),
        );
        assert_eq!(
            waits(&g, Task::DeleteDeposed("s".into())),
            [Task::Create("s".into())]
        );
        assert!(g.create_before_destroy.contains("s"));
        // A team name is unique: delete, then create.
        let g = build(
            &[change("t", "pagerduty.team", Action::Replace)],
            &State::new("t"),
            &Graph::default(),
        );
        assert_eq!(
            waits(&g, Task::Create("t".into())),
            [Task::Delete("t".into())]
        );
        assert!(!g.create_before_destroy.contains("t"));
    }

    #[test]
    fn a_deposed_resource_goes_after_its_dependents_moved() {
        // The team is replaced create-first (pretend), the policy updates to the
        // new id; the old team goes only after that update.
        let mut team = change("team", "pagerduty.schedule", Action::Replace);
        team.deposed = vec![Resource::default()];
        let changes = [
            team,
            change("policy", "pagerduty.escalation_policy", Action::Update),
        ];
        let g = build(&changes, &State::new("t"), &graph());
        let after = waits(&g, Task::DeleteDeposed("team".into()));
        assert!(after.contains(&Task::Update("policy".into())), "{after:?}");
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn the_heaviest_chain_after_a_task_is_its_priority() {
        // a <- b <- c <- d, and e alone: a carries the chain of four.
        let create = |n: &str| Task::Create(n.into());
        let mut g = TaskGraph::default();
        g.waits_for.insert(create("a"), BTreeSet::new());
        g.waits_for
            .insert(create("b"), BTreeSet::from([create("a")]));
        g.waits_for
            .insert(create("c"), BTreeSet::from([create("b")]));
        g.waits_for
            .insert(create("d"), BTreeSet::from([create("c"), create("a")]));
        g.waits_for.insert(create("e"), BTreeSet::new());
        let lengths = g.priorities(|_| 1.0);
        assert_eq!(lengths[&create("a")], 4.0);
        assert_eq!(lengths[&create("b")], 3.0);
        assert_eq!(lengths[&create("d")], 1.0);
        assert_eq!(lengths[&create("e")], 1.0);
        // A heavy leaf pulls its own chain ahead.
        let weighted = g.priorities(|t| if *t == create("e") { 10.0 } else { 1.0 });
        assert!(weighted[&create("e")] > weighted[&create("a")]);
    }
}
