//! What the state records when a task finishes.

use super::Applied;
use super::tasks::Task;
use crate::providers::Resource;
use crate::state::{Entry, State, Status};

/// Record a task that succeeded: the resource it made or changed (keeping any
/// deposed resources of the node), or its removal.
pub(super) fn success(
    state: &mut State,
    task: &Task,
    kind: &str,
    resource: Option<Resource>,
    applied: Option<Applied>,
) {
    let node = task.node();
    match task {
        Task::Create(_) | Task::Update(_) => {
            let Applied {
                props,
                sensitive,
                dependencies,
            } = applied.unwrap_or_default();
            let deposed = state
                .resources
                .get(node)
                .map(|e| e.deposed.clone())
                .unwrap_or_default();
            let mut e = Entry::ready(kind, resource, props, sensitive, dependencies);
            e.deposed = deposed;
            // An update changes the adopted object in place: it stays adopted.
            if let Task::Update(_) = task {
                e.adopted_from = state
                    .resources
                    .get(node)
                    .and_then(|e| e.adopted_from.clone());
            }
            state.resources.insert(node.to_owned(), e);
        }
        Task::Delete(_) => {
            let keep_deposed = state
                .resources
                .get(node)
                .map(|e| e.deposed.clone())
                .filter(|d| !d.is_empty());
            match keep_deposed {
                Some(deposed) => {
                    let e = state.resources.get_mut(node).expect("present");
                    e.resource = None;
                    e.deposed = deposed;
                }
                None => {
                    state.resources.remove(node);
                }
            }
        }
        Task::DeleteDeposed(_) => {
            if let Some(e) = state.resources.get_mut(node) {
                e.deposed.clear();
                if e.resource.is_none() && e.status == Status::Ready {
                    state.resources.remove(node);
                }
            }
        }
    }
}

/// The intent recorded before a create starts: if the process dies mid-create,
/// the next run looks for the resource instead of making a second one. A
/// create-before-destroy replacement deposes the old resource here.
pub(super) fn intent(
    state: &mut State,
    node: &str,
    kind: &str,
    applied: &Applied,
    create_before_destroy: bool,
) {
    let prior = state.resources.remove(node);
    let mut intent = Entry::ready(
        kind,
        None,
        applied.props.clone(),
        applied.sensitive.clone(),
        applied.dependencies.clone(),
    );
    intent.status = Status::Creating;
    if let Some(prior) = prior {
        intent.deposed = prior.deposed;
        if create_before_destroy && let Some(old) = prior.resource {
            intent.deposed.push(old);
        }
    }
    state.resources.insert(node.to_owned(), intent);
}
