//! Helpers for a kind's value checks (`KindInfo::check`) and for reading props
//! by path. They only look at literal values: references are checked after apply.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::graph::token::{self, Part};
use crate::graph::{Graph, Node, Problem, ProblemClass};

/// The literal string value, if the value is a string with no references.
pub fn lit(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !token::has_token_chars(s))
}

/// Look up a dotted path (`code.s3_key`, `layers[0].start` is not supported:
/// index arrays yourself) in props.
pub fn get_path<'a>(props: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut value = props.get(segments.next()?)?;
    for segment in segments {
        value = value.get(segment)?;
    }
    Some(value)
}

/// Values at a path where `name[]` means "each element of the array `name`",
/// with the concrete path of each (`rules[0].targets[1].id`).
pub fn select<'a>(props: &'a Map<String, Value>, path: &str) -> Vec<(String, &'a Value)> {
    let mut current: Vec<(String, &Value)> = vec![(String::new(), &Value::Null)];
    for (depth, segment) in path.split('.').enumerate() {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        let mut next = Vec::new();
        for (prefix, value) in current {
            let child = if depth == 0 {
                props.get(name)
            } else {
                value.get(name)
            };
            let Some(child) = child else { continue };
            let here = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            };
            if each {
                for (i, item) in child.as_array().into_iter().flatten().enumerate() {
                    next.push((format!("{here}[{i}]"), item));
                }
            } else {
                next.push((here, child));
            }
        }
        current = next;
    }
    current
}

/// Helpers the per-kind checks use; they only look at literal values.
pub struct Checker<'a> {
    pub node: &'a Node,
    pub graph: &'a Graph,
    pub problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    pub fn problem(&mut self, class: ProblemClass, prop: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::prop(class, self.node, prop, message));
    }

    pub fn bad(&mut self, prop: &str, message: impl Into<String>) {
        self.problem(ProblemClass::BadValue, prop, message);
    }

    pub fn value(&self, path: &str) -> &Value {
        get_path(&self.node.props, path).unwrap_or(&Value::Null)
    }

    pub fn literal(&self, path: &str) -> Option<&str> {
        lit(self.value(path))
    }

    pub fn number(&self, path: &str) -> Option<f64> {
        self.value(path).as_f64()
    }

    pub fn present(&self, path: &str) -> bool {
        !self.value(path).is_null()
    }

    pub fn array(&self, path: &str) -> Vec<Value> {
        self.value(path).as_array().cloned().unwrap_or_default()
    }

    pub fn one_of(&mut self, path: &str, allowed: &[&str]) {
        if let Some(v) = self.literal(path)
            && !allowed.contains(&v)
        {
            let message = format!("{v:?} is not one of: {}", allowed.join(", "));
            self.bad(path, message);
        }
    }

    /// A number within the service's bounds (inclusive), when one is given.
    pub fn range(&mut self, path: &str, min: f64, max: f64) {
        if let Some(n) = self.number(path)
            && !(min..=max).contains(&n)
        {
            self.bad(path, format!("{n} is outside {min} to {max}"));
        }
    }

    /// Length bounds and allowed characters of a literal name.
    pub fn pattern(&mut self, path: &str, min: usize, max: usize, allowed: fn(char) -> bool) {
        let Some(v) = self.literal(path) else { return };
        let len = v.chars().count();
        if len < min || len > max {
            let message = format!("{v:?} must be {min} to {max} characters long");
            self.bad(path, message);
        } else if let Some(ch) = v.chars().find(|&ch| !allowed(ch)) {
            let message = format!("{v:?} contains {ch:?}, which is not allowed here");
            self.bad(path, message);
        }
    }

    /// An ISO 8601 / RFC 3339 date-time at a path with `[i]` indices resolved.
    pub fn date_time(&mut self, path: &str) -> Option<DateTime<chrono::FixedOffset>> {
        let value = select_indexed(&self.node.props, path)?;
        let s = lit(value)?;
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t),
            Err(_) => {
                let message = format!(
                    "{s:?} is not an ISO 8601 date-time with an offset (e.g. 2023-09-16T00:00:00+09:00)"
                );
                self.bad(path, message);
                None
            }
        }
    }

    /// A prop that names an asset must name one the guest made with `host.asset`.
    pub fn asset(&mut self, path: &str) {
        if let Some(id) = self.literal(path)
            && !self.graph.assets.contains_key(id)
        {
            let message =
                format!("{id:?} is not an asset of this blueprint (use the id host.asset returns)");
            self.problem(ProblemClass::UnknownAsset, path, message);
        }
    }

    /// The kind of the node a value references, when it is exactly one token.
    pub fn referenced_kind(&self, value: &Value) -> Option<String> {
        let parts = token::parse(value.as_str()?).ok()?;
        match parts.as_slice() {
            [Part::Ref(r)] => self.graph.node(&r.node).map(|n| n.kind.clone()),
            _ => None,
        }
    }
}

/// A value at a concrete path like `layers[0].start`.
pub fn select_indexed<'a>(props: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut value: Option<&Value> = None;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let child = match value {
            None => props.get(name)?,
            Some(v) => v.get(name)?,
        };
        value = Some(match index {
            Some(i) => child.get(i)?,
            None => child,
        });
    }
    value
}

/// What a prop of `kind` may hold besides printable text, from the kind's
/// descriptor (`KindInfo::text_controls`); `None`: anything.
fn controls_allowed(kind: &super::KindInfo, prop: &str) -> Option<&'static [char]> {
    let declared = kind.text_controls.iter().find(|(p, _)| *p == prop);
    match declared {
        Some((_, super::Controls::Any)) => None,
        Some((_, super::Controls::These(allowed))) => Some(allowed),
        None => Some(&[]),
    }
}

/// Refuse control characters in every string prop of `node` (names,
/// descriptions, patterns, ...) except where the kind's descriptor documents
/// them: before any API call, one problem per prop, the character escaped.
pub fn check_text(node: &Node, kind: &super::KindInfo, problems: &mut Vec<Problem>) {
    for (path, s) in crate::graph::string_leaves(&node.props) {
        let top = path.split(['.', '[']).next().unwrap_or_default();
        let Some(allowed) = controls_allowed(kind, top) else {
            continue;
        };
        if let Some((at, c)) = s
            .char_indices()
            .find(|&(_, c)| c.is_control() && !allowed.contains(&c))
        {
            problems.push(Problem::prop(
                ProblemClass::BadValue,
                node,
                path,
                format!(
                    "holds the control character {} at byte {at}: names, descriptions and other text props must be printable text",
                    crate::text::escape(&c.to_string())
                ),
            ));
        }
    }
}
