//! What a guest's calls do on the host, whatever WIT version it speaks: record a
//! node (typed constructors and the `declare` escape hatch), log, pack an asset.
//! The versioned bindings (`wit/`) and the providers' kind lists call these.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::GuestState;
use super::wit::LogLevel;
use crate::graph::{Problem, ProblemClass, token};
use crate::kind::{self, KindInfo};

/// A guest may declare at most this many nodes: past it the guest is stopped, so
/// a runaway loop cannot make the host itself allocate without bound.
pub const MAX_NODES: usize = 100_000;

/// Longest log line kept from a guest, and how many lines a guest may log.
const MAX_LOG_LINE: usize = 4096;
const MAX_LOG_LINES: usize = 10_000;

impl GuestState {
    /// A typed constructor's call: record the node and hand back its outputs as
    /// reference tokens, in the kind's `Ref` record.
    pub fn declare_typed<P: Serialize, R: DeserializeOwned>(
        &mut self,
        info: &'static KindInfo,
        name: String,
        props: P,
    ) -> R {
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
        let Some(info) = kind::lookup(kind_name) else {
            let known: Vec<&str> = kind::all().map(|k| k.name).collect();
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

    fn declare_node(&mut self, kind: &str, name: &str, props: Map<String, Value>) {
        if self.graph.nodes().len() >= MAX_NODES {
            self.node_limit_hit = true;
            return;
        }
        if name.is_empty() || token::has_token_chars(name) {
            self.graph.declaration_problems.push(Problem::node(
                ProblemClass::InvalidProps,
                name,
                kind,
                "a logical name must be non-empty plain text (not a reference)",
            ));
            return;
        }
        self.graph.declare(kind, name, props);
    }

    pub fn guest_log(&mut self, level: LogLevel, message: String) {
        if self.log_lines >= MAX_LOG_LINES {
            return;
        }
        self.log_lines += 1;
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let guest = self.guest_name.as_str();
        match level {
            LogLevel::Debug => tracing::debug!(guest, "{message}"),
            LogLevel::Info => tracing::info!(guest, "{message}"),
            LogLevel::Warn => tracing::warn!(guest, "{message}"),
            LogLevel::Error => tracing::error!(guest, "{message}"),
        }
    }

    /// Pack (or reuse) an asset and record it in the graph.
    pub fn pack_asset(&mut self, path: &str) -> Result<crate::assets::Asset, String> {
        // A template stamped out per service asks for the same folder many times.
        let asset = match self.assets_by_path.get(path) {
            Some(asset) => asset.clone(),
            None => {
                let asset = crate::assets::pack(&self.asset_root, path)?;
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
