//! Plans and apply reports for people (Terraform-like) and machines (`--json`).
//! Sensitive values are replaced before anything is formatted.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::engine::Report;
use crate::engine::plan::{Action, After, Change, Plan, PropChange};
use blueprint_model::record::REDACTED;

const UNKNOWN: &str = "(known after apply)";

fn show(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

fn before_text(p: &PropChange) -> String {
    match (&p.before, p.sensitive) {
        (None, _) => "(none)".into(),
        (Some(_), true) => REDACTED.into(),
        (Some(v), false) => show(v),
    }
}

fn after_text(p: &PropChange) -> String {
    match (&p.after, p.sensitive) {
        (After::Unknown, _) => UNKNOWN.into(),
        (After::Removed, _) => "(removed)".into(),
        (After::Known(_), true) => REDACTED.into(),
        (After::Known(v), false) => show(v),
    }
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Adopt => "<=",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::NoOp => " ",
    }
}

/// The human plan, ending with the summary line.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    for node in &plan.vanished {
        let _ = writeln!(
            out,
            "Note: {node} was deleted outside blueprint; the plan creates it again."
        );
    }
    if !plan.vanished.is_empty() {
        out.push('\n');
    }
    if !plan.untargeted.is_empty() {
        let _ = writeln!(
            out,
            "Warning: --target left out {} node(s) with changes: {}. Their changes are not planned; the state may not match the blueprint until a full run.\n",
            plan.untargeted.len(),
            plan.untargeted.join(", ")
        );
    }
    if !plan.reads.is_empty() {
        let _ = writeln!(
            out,
            "Reads outputs of other blueprints (again at every plan):"
        );
        for read in &plan.reads {
            let shown = if read.value == REDACTED {
                REDACTED.to_owned()
            } else {
                Value::String(read.value.clone()).to_string()
            };
            let _ = writeln!(
                out,
                "  <= {} ({})  {} = {shown}",
                read.node, read.kind, read.id
            );
        }
        out.push('\n');
    }
    if !plan.has_changes() {
        out.push_str("No changes. The resources match the blueprint.\n");
        return blueprint_model::text::escape_lines(&out).into_owned();
    }
    let _ = writeln!(out, "Blueprint {} will:\n", plan.blueprint);
    for change in plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp || c.moved_from.is_some())
    {
        change_text(&mut out, change);
    }
    for change in plan.changes.iter().filter(|c| c.action != Action::Delete) {
        for old in &change.deposed {
            let _ = writeln!(
                out,
                "  - {} ({}) [replaced, id {}]",
                change.node, change.kind, old.id
            );
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(plan));
    // Names, kinds and values come from a guest: nothing raw reaches the terminal.
    blueprint_model::text::escape_lines(&out).into_owned()
}

fn change_text(out: &mut String, change: &Change) {
    let note = match change.action {
        Action::Replace => {
            let why: Vec<&str> = change
                .props
                .iter()
                .filter(|p| p.forces_replacement)
                .map(|p| p.name.as_str())
                .collect();
            if change.replace_requested {
                "  must be replaced (--replace)".to_owned()
            } else {
                format!("  must be replaced ({} forces replacement)", why.join(", "))
            }
        }
        Action::Create if change.adopt => {
            "  (an earlier create was interrupted: adopt it if it exists)".into()
        }
        Action::Adopt => match change.props.len() {
            0 => "  adopt: exists and is provably this node's".into(),
            _ => "  adopt: exists and is provably this node's; then update".into(),
        },
        _ => String::new(),
    };
    let note = match &change.moved_from {
        Some(from) => format!("  (moved from {from}: the same resource){note}"),
        None => note,
    };
    let symbol = match change.action {
        Action::NoOp => "->",
        action => symbol(action),
    };
    let _ = writeln!(out, "  {symbol} {} ({}){note}", change.node, change.kind);
    for p in &change.props {
        match change.action {
            Action::Create => {
                let _ = writeln!(out, "      {} = {}", p.name, after_text(p));
            }
            _ => {
                let forces = if p.forces_replacement {
                    "   # forces replacement"
                } else {
                    ""
                };
                // Nested values: show only the leaves that differ.
                if let (Some(before), After::Known(after), false) =
                    (&p.before, &p.after, p.sensitive)
                    && (before.is_object() || before.is_array())
                    && (after.is_object() || after.is_array())
                {
                    for (path, old, new) in leaf_changes(before, after) {
                        let _ = writeln!(
                            out,
                            "      ~ {}{path}: {} -> {}{forces}",
                            p.name,
                            old.as_ref().map_or("(none)".into(), show),
                            new.as_ref().map_or("(none)".into(), show),
                        );
                    }
                    continue;
                }
                let _ = writeln!(
                    out,
                    "      ~ {}: {} -> {}{forces}",
                    p.name,
                    before_text(p),
                    after_text(p)
                );
            }
        }
    }
}

/// `(path, before, after)` for every leaf that differs (`[0].rotation_turn_length_seconds`).
fn leaf_changes(before: &Value, after: &Value) -> Vec<(String, Option<Value>, Option<Value>)> {
    fn flatten(value: &Value, path: String, out: &mut std::collections::BTreeMap<String, Value>) {
        match value {
            Value::Object(map) => map
                .iter()
                .for_each(|(k, v)| flatten(v, format!("{path}.{k}"), out)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| flatten(v, format!("{path}[{i}]"), out)),
            Value::Null => {}
            leaf => {
                out.insert(path, leaf.clone());
            }
        }
    }
    let (mut old, mut new) = (Default::default(), Default::default());
    flatten(before, String::new(), &mut old);
    flatten(after, String::new(), &mut new);
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    paths
        .into_iter()
        .filter_map(|path| {
            let (a, b) = (old.get(path), new.get(path));
            let same = match (a, b) {
                (Some(a), Some(b)) => blueprint_model::kind::same_value(a, b),
                (None, None) => true,
                _ => false,
            };
            (!same).then(|| (path.clone(), a.cloned(), b.cloned()))
        })
        .collect()
}

pub fn summary_line(plan: &Plan) -> String {
    let counts = plan.counts();
    let n = |a| counts.get(&a).copied().unwrap_or(0);
    let adopt = match n(Action::Adopt) {
        0 => String::new(),
        adopt => format!("{adopt} to adopt, "),
    };
    let adopt = match moves(plan) {
        0 => adopt,
        moved => format!("{moved} to move, {adopt}"),
    };
    format!(
        "Plan: {adopt}{} to create, {} to update, {} to replace, {} to delete.",
        n(Action::Create),
        n(Action::Update),
        n(Action::Replace),
        n(Action::Delete)
    )
}

fn moves(plan: &Plan) -> usize {
    plan.changes
        .iter()
        .filter(|c| c.moved_from.is_some())
        .count()
}

/// The version of the JSON form of a plan (docs/plan-format.md): the major
/// number changes when a field is removed or changes meaning.
pub const PLAN_FORMAT_VERSION: &str = "1.0";

/// `--json`: the same plan, values redacted where sensitive.
pub fn plan_json(plan: &Plan) -> Value {
    let counts = plan.counts();
    let n = |a| counts.get(&a).copied().unwrap_or(0);
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .filter(|c| c.is_work())
        .map(|c| {
            let props: Vec<Value> = c
                .props
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "before": p.before.as_ref().map(|v| if p.sensitive { json!(REDACTED) } else { v.clone() }),
                        "after": match &p.after {
                            After::Unknown => json!({"unknown": true}),
                            After::Removed => json!({"removed": true}),
                            After::Known(_) if p.sensitive => json!({"value": REDACTED, "sensitive": true}),
                            After::Known(v) => json!({"value": v}),
                        },
                        "forces_replacement": p.forces_replacement,
                    })
                })
                .collect();
            json!({
                "node": c.node,
                "kind": c.kind,
                "action": c.action,
                "adopt": c.adopt,
                "deposed": c.deposed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                "moved_from": c.moved_from,
                "replace_requested": c.replace_requested,
                "props": props,
            })
        })
        .collect();
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "blueprint": plan.blueprint,
        "has_changes": plan.has_changes(),
        "summary": {
            "move": moves(plan),
            "adopt": n(Action::Adopt),
            "create": n(Action::Create),
            "update": n(Action::Update),
            "replace": n(Action::Replace),
            "delete": n(Action::Delete),
        },
        "vanished": plan.vanished,
        "untargeted": plan.untargeted,
        "reads": plan.reads,
        "changes": changes,
    })
}

/// The end of an apply: what was done, what failed and why, what was skipped.
pub fn report_text(report: &Report) -> String {
    let mut out = String::new();
    let count = |op: &str| report.done.iter().filter(|o| o.operation == op).count();
    let adopted = match count("adopt") {
        0 => String::new(),
        n => format!("{n} adopted, "),
    };
    let adopted = match count("move") {
        0 => adopted,
        n => format!("{n} moved, {adopted}"),
    };
    let _ = writeln!(
        out,
        "\nApply {}: {adopted}{} created, {} updated, {} deleted, {} failed, {} skipped in {:.1}s.",
        if report.ok() {
            "complete"
        } else {
            "INCOMPLETE"
        },
        count("create"),
        count("update"),
        count("delete"),
        report.failed.len(),
        report.skipped.len(),
        report.seconds
    );
    for o in &report.failed {
        let _ = writeln!(
            out,
            "  failed:  {} ({}) {}: {}",
            o.node,
            o.kind,
            o.operation,
            o.error.as_deref().unwrap_or("")
        );
    }
    for o in &report.skipped {
        let _ = writeln!(
            out,
            "  skipped: {} ({}) {}: {}",
            o.node,
            o.kind,
            o.operation,
            o.skipped_because.as_deref().unwrap_or("")
        );
    }
    // Names, kinds and values come from a guest: nothing raw reaches the terminal.
    blueprint_model::text::escape_lines(&out).into_owned()
}

/// `state show` for a person: each resource with its id, status, the props as
/// last applied and its outputs (the state is already redacted).
pub fn state_text(state: &crate::state::State) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "State of blueprint {} (serial {}, {} resource(s))",
        state.blueprint,
        state.serial,
        state.resources.len()
    );
    for (node, entry) in &state.resources {
        let id = entry.resource.as_ref().map_or("-", |r| r.id.as_str());
        let _ = writeln!(out, "\n{node} ({})  {:?}", entry.kind, entry.status);
        let _ = writeln!(out, "    id = {id}");
        for (name, value) in &entry.applied_props {
            if value.is_null() {
                continue;
            }
            let shown = if entry.sensitive_props.contains(name) {
                "(sensitive)".to_owned()
            } else {
                show(value)
            };
            let _ = writeln!(out, "    {name} = {shown}");
        }
        if let Some(resource) = &entry.resource {
            for (name, value) in &resource.outputs {
                let _ = writeln!(out, "    output {name} = {value}");
            }
        }
    }
    blueprint_model::text::escape_lines(&out).into_owned()
}
