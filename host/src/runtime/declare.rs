//! What a guest's calls do on the host, whatever WIT version it speaks: record a
//! node (typed constructors and the `declare` escape hatch), log, pack an asset.
//! The versioned bindings (`wit/`) and the providers' kind lists call these.

use std::collections::HashSet;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::wit::LogLevel;
use super::{GuestState, Limits};
use blueprint_model::graph::{Problem, ProblemClass, token};
use blueprint_model::kind::KindInfo;
use blueprint_model::text;

/// A guest may declare at most this many nodes: past it the guest is stopped, so
/// a runaway loop cannot make the host itself allocate without bound.
pub const MAX_NODES: usize = 100_000;

/// Longest log line kept from a guest (bytes; longer lines are cut and marked
/// with `…(N bytes)`), and how many lines a guest may log.
pub const MAX_LOG_LINE: usize = 4096;
pub const MAX_LOG_LINES: usize = 10_000;

/// Problems a guest's declarations may raise (bad names, unknown kinds, props
/// that do not parse, duplicates) before it is stopped: each is held by the
/// host, so a guest looping over bad declarations must not grow them forever.
pub const MAX_PROBLEMS: usize = 1_000;

/// Longest logical node name, in characters.
pub const MAX_NAME: usize = 128;

/// Whether `name` is a valid logical node name: 1 to [`MAX_NAME`] ASCII letters,
/// digits, `-`, `_`, `.`, `@` and `+` (the last two because names are built from
/// e-mail addresses, as the seed's `user-<email>` is). Like Terraform's resource
/// names, no spaces, no controls, no Unicode: a name is printed in plans and
/// keys the state, so it must read the same everywhere.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'+'))
}

/// What a guest has made the host hold so far, against the budgets of
/// [`Limits`]. Each declaration is measured once, in time linear in its props,
/// before it is recorded; the first budget exceeded stops recording (the guest's
/// run then fails naming it), so the host never holds more than the budgets.
#[derive(Debug, Clone)]
pub struct Meter {
    limits: Limits,
    pub prop_bytes: usize,
    pub references: usize,
    pub edges: usize,
    /// The first budget exceeded: its message.
    pub exceeded: Option<String>,
}

impl Meter {
    pub fn new(limits: Limits) -> Self {
        Meter {
            limits,
            prop_bytes: 0,
            references: 0,
            edges: 0,
            exceeded: None,
        }
    }

    /// Measure one node's props; `Err` names the budget it would exceed.
    fn admit(&mut self, name: &str, props: &Map<String, Value>) -> Result<(), String> {
        let mut bytes = 0usize;
        let mut references = 0usize;
        let mut longest = 0usize;
        let mut targets: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&Value> = Vec::new();
        for (key, value) in props {
            bytes += key.len();
            stack.push(value);
        }
        while let Some(value) = stack.pop() {
            match value {
                Value::String(s) => {
                    bytes += s.len();
                    longest = longest.max(s.len());
                    if token::has_token_chars(s) {
                        for target in token::referenced_nodes(s) {
                            references += 1;
                            targets.insert(target);
                        }
                    }
                }
                Value::Array(items) => {
                    bytes += 8;
                    stack.extend(items);
                }
                Value::Object(map) => {
                    bytes += 8;
                    for (key, value) in map {
                        bytes += key.len();
                        stack.push(value);
                    }
                }
                _ => bytes += 8,
            }
        }
        let l = &self.limits;
        let over = |what: &str, used: usize, limit: usize, flag: &str| {
            format!(
                "exceeded the host budget for {what} at node '{}' ({used} > {limit}; raise it with --{flag})",
                text::escape_cut(name, 64)
            )
        };
        if longest > l.max_string_bytes {
            return Err(over(
                "the longest string (bytes)",
                longest,
                l.max_string_bytes,
                "guest-max-string",
            ));
        }
        if self.prop_bytes + bytes > l.max_prop_bytes {
            return Err(over(
                "prop bytes",
                self.prop_bytes + bytes,
                l.max_prop_bytes,
                "guest-max-prop-bytes",
            ));
        }
        if self.references + references > l.max_references {
            return Err(over(
                "references",
                self.references + references,
                l.max_references,
                "guest-max-references",
            ));
        }
        if self.edges + targets.len() > l.max_edges {
            return Err(over(
                "edges",
                self.edges + targets.len(),
                l.max_edges,
                "guest-max-edges",
            ));
        }
        self.prop_bytes += bytes;
        self.references += references;
        self.edges += targets.len();
        Ok(())
    }
}

impl GuestState {
    /// A typed constructor's call: record the node and hand back its outputs as
    /// reference tokens, in the kind's `Ref` record.
    pub fn declare_typed<P: Serialize, R: DeserializeOwned>(
        &mut self,
        info: &'static KindInfo,
        name: String,
        props: P,
    ) -> R {
        if !self.recording() {
            return outputs_as(info, &name);
        }
        match serde_json::to_value(&props) {
            Ok(Value::Object(map)) => self.declare_node(info.name, &name, map),
            Ok(_) | Err(_) => self.graph.declaration_problems.push(Problem::node(
                ProblemClass::InvalidProps,
                &name,
                info.name,
                "props could not be represented as JSON (a NaN or infinite number?)",
            )),
        }
        outputs_as(info, &name)
    }

    /// The escape hatch: props as JSON for a kind named at run time, parsed
    /// through that kind's record.
    pub fn declare_raw(&mut self, kind_name: &str, name: &str, props_json: &str) {
        if !self.recording() {
            return;
        }
        let Some(info) = self.catalog.lookup(kind_name) else {
            let known: Vec<&str> = self.catalog.all().map(|k| k.name).collect();
            self.graph.declaration_problems.push(Problem::node(
                ProblemClass::UnknownKind,
                name,
                kind_name,
                format!(
                    "unknown kind '{kind_name}' (known kinds: {})",
                    known.join(", ")
                ),
            ));
            return;
        };
        match (info.parse)(props_json) {
            Ok(Value::Object(map)) => self.declare_node(info.name, name, map),
            Ok(_) => unreachable!("records serialize to objects"),
            Err(why) => self.graph.declaration_problems.push(Problem::node(
                ProblemClass::InvalidProps,
                name,
                kind_name,
                format!("props are not valid for {kind_name}: {why}"),
            )),
        }
    }

    /// Whether the guest may still make the host record anything: not after a
    /// budget was exceeded or the node limit hit (so a guest past its budget costs
    /// the host O(1) per further call).
    fn recording(&mut self) -> bool {
        if self.graph.declaration_problems.len() >= MAX_PROBLEMS && self.meter.exceeded.is_none() {
            self.meter.exceeded = Some(format!(
                "exceeded the host budget for invalid declarations ({MAX_PROBLEMS} problems: bad names, unknown kinds, bad props or duplicates); fix the first ones"
            ));
        }
        self.meter.exceeded.is_none() && !self.node_limit_hit
    }

    fn declare_node(&mut self, kind: &str, name: &str, props: Map<String, Value>) {
        if !self.recording() {
            return;
        }
        if self.graph.nodes().len() >= MAX_NODES {
            self.node_limit_hit = true;
            return;
        }
        if !valid_name(name) {
            // The name is kept short in the problem: a 1 MB name must not be
            // copied into every message. It is escaped when printed.
            let shown = text::cut_bytes(name, MAX_NAME);
            let reason = if name.is_empty() {
                "a logical name must not be empty".to_owned()
            } else if token::has_token_chars(name) {
                "a logical name must be plain text, not a reference".to_owned()
            } else {
                format!(
                    "the logical name {:?}{} is not an identifier: use 1-{MAX_NAME} ASCII letters, digits, '-', '_', '.', '@' or '+'",
                    text::escape_cut(name, 64),
                    if name.len() > MAX_NAME {
                        format!(" ({} bytes)", name.len())
                    } else {
                        String::new()
                    }
                )
            };
            self.graph.declaration_problems.push(Problem::node(
                ProblemClass::InvalidName,
                shown,
                kind,
                reason,
            ));
            return;
        }
        if let Err(why) = self.meter.admit(name, &props) {
            self.meter.exceeded = Some(why);
            return;
        }
        self.graph.declare(kind, name, props);
    }

    /// `host.depends-on`: order `name` after the nodes `on` references. Each
    /// entry must be a reference token (checked here: a literal would order
    /// nothing); what they name is validated with every other reference.
    pub fn declare_dependency(&mut self, name: &str, on: Vec<String>) {
        if !self.recording() {
            return;
        }
        if let Some(text) = on.iter().find(|t| !token::has_token_chars(t)) {
            self.graph.declaration_problems.push(Problem::node(
                ProblemClass::MalformedReference,
                text::cut_bytes(name, MAX_NAME),
                "depends-on",
                format!(
                    "depends-on takes references as constructors return them, not the text {:?}",
                    text::escape_cut(text, 64)
                ),
            ));
            return;
        }
        let mut props = Map::new();
        props.insert(
            blueprint_model::graph::DEPENDS_ON.to_owned(),
            Value::Array(on.iter().cloned().map(Value::String).collect()),
        );
        if let Err(why) = self.meter.admit(name, &props) {
            self.meter.exceeded = Some(why);
            return;
        }
        self.graph.depend(name, on);
    }

    pub fn guest_log(&mut self, level: LogLevel, message: String) {
        if self.log_lines >= MAX_LOG_LINES {
            return;
        }
        self.log_lines += 1;
        // Cut at MAX_LOG_LINE bytes, then escaped (an escape may lengthen it,
        // so it is cut again), marked with the original size when cut.
        let mut shown = text::escape(text::cut_bytes(&message, MAX_LOG_LINE)).into_owned();
        shown.truncate(text::cut_bytes(&shown, MAX_LOG_LINE).len());
        if message.len() > MAX_LOG_LINE {
            shown.push_str(&format!("…({} bytes)", message.len()));
        }
        let message = shown;
        let guest = self.guest_name.as_str();
        match level {
            LogLevel::Debug => tracing::debug!(guest, "{message}"),
            LogLevel::Info => tracing::info!(guest, "{message}"),
            LogLevel::Warn => tracing::warn!(guest, "{message}"),
            LogLevel::Error => tracing::error!(guest, "{message}"),
        }
    }

    /// Pack (or reuse) an asset and record it in the graph.
    pub fn pack_asset(&mut self, path: &str) -> Result<blueprint_model::assets::Asset, String> {
        if Instant::now() >= self.deadline {
            self.host_call_timed_out = true;
            return Err("the time limit has passed".into());
        }
        // A template stamped out per service asks for the same folder many times.
        let asset = match self.assets_by_path.get(path) {
            Some(asset) => asset.clone(),
            None => {
                let packed =
                    blueprint_model::assets::pack_until(&self.asset_root, path, self.deadline);
                // A host call still running at the deadline ends the evaluation
                // with the timeout error, whatever it returned.
                if Instant::now() >= self.deadline {
                    self.host_call_timed_out = true;
                }
                let asset = packed?;
                self.assets_by_path.insert(path.to_owned(), asset.clone());
                asset
            }
        };
        self.graph.assets.insert(asset.id.clone(), asset.clone());
        Ok(asset)
    }
}

/// The kind's outputs as tokens for node `name`, in its `Ref` record.
fn outputs_as<R: DeserializeOwned>(info: &KindInfo, name: &str) -> R {
    let tokens: Map<String, Value> = info
        .outputs
        .iter()
        .map(|o| (o.name.to_owned(), Value::String(token::make(name, o.name))))
        .collect();
    serde_json::from_value(Value::Object(tokens))
        .expect("a kind's outputs are its Ref record's fields (see kind list tests)")
}
