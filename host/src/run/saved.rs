//! Saved plans: `plan --out PLAN` writes what a plan was made from and every
//! change it shows; `run PLAN` plans again under the lock and applies only if
//! the new plan is the saved one (Terraform's `plan -out` / `apply PLANFILE`,
//! made safe by re-reading the live objects); `show PLAN` renders it.
//!
//! No secret is in the file: sensitive values are replaced by `(sensitive)`
//! and re-derived at apply from the guest, whose digest — with the graph's,
//! the params' and the state's — must be unchanged. What is compared instead
//! of the values is a digest of each change and of each live object it
//! touches, so a change made by someone else since is caught, not applied.
//! The format is documented in docs/plan-format.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Context, Prepared, RunError, Target, Verb};
use crate::engine::plan::{After, Change, Plan};
use crate::guest_source::hex;
use crate::state::{REDACTED, State};
use blueprint_model::resource::Resource;

/// The `kind` field that marks a file as a saved plan.
pub const KIND: &str = "blueprint-plan";

/// The format's version: the major number changes when a field is removed or
/// changes meaning (a reader refuses another major).
pub const FORMAT_VERSION: &str = "1.0";

/// A plan as saved by `plan --out`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    pub kind: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub blueprint: String,
    /// How `plan` was asked: the same blueprint, with the same options, is
    /// planned again at apply.
    pub request: Request,
    /// Digests of everything the plan was computed from.
    pub made_from: MadeFrom,
    /// Nodes deleted outside blueprint, created again by this plan.
    #[serde(default)]
    pub vanished: Vec<String>,
    /// `--target`: nodes whose changes this plan leaves out.
    #[serde(default)]
    pub untargeted: Vec<String>,
    /// Outputs of other blueprints the plan read, secrets redacted.
    #[serde(default)]
    pub reads: Vec<crate::engine::plan::Read>,
    /// Every change the plan shows, sensitive values redacted.
    pub changes: Vec<SavedChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The blueprint file, as an absolute path.
    pub file: PathBuf,
    /// The blueprint file as it was named (relative to the folder `plan` ran
    /// in): used where `file` does not exist, as when CI applies in another
    /// checkout. Its digest must match either way.
    #[serde(default)]
    pub file_as_named: Option<PathBuf>,
    #[serde(default)]
    pub sets: Vec<String>,
    /// `--state`, absolute where it was a local path.
    #[serde(default)]
    pub state: Option<PathBuf>,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub replace: Vec<String>,
    #[serde(default)]
    pub allow_duplicates: bool,
}

/// SHA-256 digests (lowercase hex) of a plan's inputs; the state also by serial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeFrom {
    /// The blueprint file's bytes (its lifecycle rules, moves, settings).
    pub blueprint_file: String,
    /// The guest component's bytes (`None` for a destroy plan).
    pub guest: Option<String>,
    /// The params the guest ran with, `--set` applied, defaults filled in.
    pub params: Option<String>,
    /// The graph the guest declared, assets included.
    pub graph: String,
    /// The state as loaded (moves applied), before the refresh.
    pub state: String,
    pub state_serial: u64,
}

/// One change of a saved plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedChange {
    #[serde(flatten)]
    pub change: Change,
    /// Digest of the change with its values in clear.
    pub digest: String,
    /// Digest of the live object the change touches, as the plan read it
    /// (absent for creates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<String>,
}

/// Why a plan could not be saved, read, or applied as saved.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// A file the plan pins or is kept in; `doing` says which.
    #[error("{doing}")]
    Io {
        doing: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("encoding the plan")]
    Encode(#[from] serde_json::Error),
    #[error("{} is not a saved plan (not JSON)", path.display())]
    NotJson {
        path: PathBuf,
        #[source]
        cause: serde_json::Error,
    },
    #[error("{} is not a saved plan (no \"kind\": \"{KIND}\")", .0.display())]
    NotAPlan(PathBuf),
    #[error(
        "{}: plan format_version {version:?} is not one this build reads ({FORMAT_VERSION}); make the plan again with this build",
        path.display()
    )]
    Version { path: PathBuf, version: String },
    #[error("{} is not a valid saved plan", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        cause: serde_json::Error,
    },
    /// Planned again, the blueprint's plan is not the saved one.
    #[error(
        "nothing was changed: the saved plan {} is stale; since it was made:\n  - {}\nPlan again (`blueprint plan {} --out {}`), review it, and apply that",
        path.display(),
        differences.join("\n  - "),
        file.display(),
        path.display()
    )]
    Stale {
        path: PathBuf,
        differences: Vec<String>,
        file: PathBuf,
    },
    #[error("{0}")]
    Run(#[from] RunError),
}

fn io(doing: String) -> impl FnOnce(std::io::Error) -> SavedPlanError {
    move |cause| SavedPlanError::Io { doing, cause }
}

impl SavedPlan {
    /// What a prepared plan was made from and what it changes.
    pub fn of(prepared: &Prepared, request: Request) -> Result<SavedPlan, SavedPlanError> {
        let opened = &prepared.opened;
        let plan = &prepared.plan;
        let file_bytes = std::fs::read(&opened.blueprint.file)
            .map_err(io(format!("reading {}", opened.blueprint.file.display())))?;
        let (guest, params) = match &opened.inputs {
            Some((path, params)) => {
                let guest = match path {
                    Some(path) => Some(hex(&std::fs::read(path)
                        .map_err(io(format!("reading the guest {}", path.display())))?)),
                    None => None,
                };
                (guest, Some(digest(params)))
            }
            None => (None, None),
        };
        let assets: BTreeMap<&String, String> = opened
            .graph
            .assets
            .iter()
            .map(|(id, asset)| (id, asset.sha256.clone()))
            .collect();
        let graph = json!({
            "graph": blueprint_model::graph::render::to_json(&opened.graph),
            "assets": assets,
        });
        let made_from = MadeFrom {
            blueprint_file: hex(&file_bytes),
            guest,
            params,
            graph: digest(&graph),
            state: digest(&serde_json::to_value(&opened.state)?),
            state_serial: opened.state.serial,
        };
        let changes = plan
            .changes
            .iter()
            .filter(|c| c.is_work())
            .map(|c| SavedChange {
                digest: digest(&change_value(c)),
                live: live_digest(&plan.state, c),
                change: redacted(c),
            })
            .collect();
        Ok(SavedPlan {
            format_version: FORMAT_VERSION.to_owned(),
            kind: KIND.to_owned(),
            created_at: crate::state::now_rfc3339(),
            blueprint: plan.blueprint.clone(),
            request,
            made_from,
            vanished: plan.vanished.clone(),
            untargeted: plan.untargeted.clone(),
            reads: plan.reads.clone(),
            changes,
        })
    }

    /// Write to `path` atomically, readable by its owner only.
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        crate::state::write_atomically(path, &bytes)
            .map_err(io(format!("writing the plan to {}", path.display())))
    }

    /// Read a saved plan, refusing another format's major version.
    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let text = std::fs::read_to_string(path)
            .map_err(io(format!("cannot read plan file {}", path.display())))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|cause| SavedPlanError::NotJson {
                path: path.to_owned(),
                cause,
            })?;
        if value.get("kind").and_then(Value::as_str) != Some(KIND) {
            return Err(SavedPlanError::NotAPlan(path.to_owned()));
        }
        let version = value
            .get("format_version")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if version.split('.').next() != FORMAT_VERSION.split('.').next() {
            return Err(SavedPlanError::Version {
                path: path.to_owned(),
                version: version.to_owned(),
            });
        }
        serde_json::from_value(value).map_err(|cause| SavedPlanError::Invalid {
            path: path.to_owned(),
            cause,
        })
    }

    /// The run that re-makes this plan.
    pub fn target(&self) -> Target {
        let file = match &self.request.file_as_named {
            Some(named) if !self.request.file.exists() => named.clone(),
            _ => self.request.file.clone(),
        };
        Target {
            file,
            sets: self.request.sets.clone(),
            state: self.request.state.clone(),
            targets: self.request.targets.clone(),
            replace: self.request.replace.clone(),
        }
    }

    /// The plan for rendering (`show`): values as saved, redacted.
    pub fn plan(&self) -> Plan {
        Plan {
            blueprint: self.blueprint.clone(),
            changes: self.changes.iter().map(|c| c.change.clone()).collect(),
            state: State::new(&self.blueprint),
            lookups: BTreeMap::new(),
            vanished: self.vanished.clone(),
            planned_at: std::time::Instant::now(),
            untargeted: self.untargeted.clone(),
            reads: self.reads.clone(),
        }
    }

    /// What differs between this saved plan and `fresh` (the same request,
    /// planned again): empty when `fresh` is this plan.
    pub fn differences(&self, fresh: &SavedPlan) -> Vec<String> {
        let mut out = Vec::new();
        let (was, now) = (&self.made_from, &fresh.made_from);
        if was.blueprint_file != now.blueprint_file {
            out.push("the blueprint file was edited".to_owned());
        }
        if was.guest != now.guest {
            out.push(format!(
                "the guest is another build (sha256 {} then, {} now)",
                short(&was.guest),
                short(&now.guest)
            ));
        }
        if was.params != now.params {
            out.push("the params differ".to_owned());
        }
        if was.graph != now.graph {
            out.push("the guest declares another graph".to_owned());
        }
        if was.state_serial != now.state_serial {
            out.push(format!(
                "the state is at serial {} now, {} when planned (another run or `state` command wrote it since)",
                now.state_serial, was.state_serial
            ));
        } else if was.state != now.state {
            out.push(format!(
                "the state differs at the same serial {} (restored from a backup?)",
                now.state_serial
            ));
        }
        for read in &fresh.reads {
            if let Some(was) = self.reads.iter().find(|r| r.node == read.node)
                && was.value != read.value
            {
                out.push(format!(
                    "{}: {} publishes another value now",
                    read.node, read.id
                ));
            }
        }
        let then: BTreeMap<&str, &SavedChange> = self
            .changes
            .iter()
            .map(|c| (c.change.node.as_str(), c))
            .collect();
        let now: BTreeMap<&str, &SavedChange> = fresh
            .changes
            .iter()
            .map(|c| (c.change.node.as_str(), c))
            .collect();
        for (node, was) in &then {
            match now.get(node) {
                None => out.push(format!(
                    "{node}: planned to {}, now nothing to do",
                    verb(&was.change)
                )),
                Some(is) if is.change.action != was.change.action => out.push(format!(
                    "{node}: planned to {}, now to {}",
                    verb(&was.change),
                    verb(&is.change)
                )),
                Some(is) if is.live != was.live => out.push(format!(
                    "{node}: the live object changed since the plan read it"
                )),
                Some(is) if is.digest != was.digest => out.push(format!(
                    "{node}: the values of its {} differ",
                    verb(&was.change)
                )),
                Some(_) => {}
            }
        }
        for (node, is) in &now {
            if !then.contains_key(node) {
                out.push(format!(
                    "{node}: now to {}, which the saved plan does not show",
                    verb(&is.change)
                ));
            }
        }
        out
    }
}

impl Context {
    /// `run PLAN`: open and plan the saved plan's blueprint again, under the
    /// lock, and hand it back only if it is the saved plan — else fail naming
    /// every difference, before any write.
    pub async fn prepare_saved(
        &self,
        saved: &SavedPlan,
        path: &Path,
    ) -> Result<Prepared, SavedPlanError> {
        let target = saved.target();
        let prepared = self.prepare(&target, Verb::Run).await?;
        let fresh = SavedPlan::of(&prepared, saved.request.clone())?;
        let differences = saved.differences(&fresh);
        if !differences.is_empty() {
            return Err(SavedPlanError::Stale {
                path: path.to_owned(),
                differences,
                file: saved.request.file.clone(),
            });
        }
        Ok(prepared)
    }
}

/// Whether `path` holds a saved plan (a JSON object) rather than a blueprint
/// file (TOML, which never starts with `{`).
pub fn is_saved_plan(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 256];
    let n = file.read(&mut head).unwrap_or(0);
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// The request of a plan for `target`, with paths made absolute so the plan
/// can be applied from another folder.
pub fn request(target: &Target, allow_duplicates: bool) -> Result<Request, SavedPlanError> {
    let absolute =
        |p: &Path| std::path::absolute(p).map_err(io(format!("resolving {}", p.display())));
    let state = match &target.state {
        Some(s) if s.to_string_lossy().starts_with("s3://") => Some(s.clone()),
        Some(s) => Some(absolute(s)?),
        None => None,
    };
    Ok(Request {
        file: absolute(&target.file)?,
        file_as_named: Some(target.file.clone()),
        sets: target.sets.clone(),
        state,
        targets: target.targets.clone(),
        replace: target.replace.clone(),
        allow_duplicates,
    })
}

fn verb(change: &Change) -> String {
    let action = serde_json::to_value(change.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match (&change.moved_from, action.as_str()) {
        (Some(from), "no_op") => format!("move from {from}"),
        (_, "no_op") => "delete what it replaced".to_owned(),
        (_, action) => action.to_owned(),
    }
}

fn short(digest: &Option<String>) -> String {
    digest
        .as_deref()
        .map_or("none".to_owned(), |d| d.chars().take(12).collect())
}

/// The change with every value, for its digest (never written out).
fn change_value(change: &Change) -> Value {
    let mut value = serde_json::to_value(change).unwrap_or(Value::Null);
    // Replaced resources count by id: their outputs are the provider's.
    if let Some(deposed) = value.get_mut("deposed") {
        *deposed = json!(change.deposed.iter().map(|r| &r.id).collect::<Vec<_>>());
    }
    value
}

/// The live object `change` would act on, as the plan refreshed it.
fn live_digest(state: &State, change: &Change) -> Option<String> {
    let entry = state.resources.get(&change.node)?;
    let resource = entry.resource.as_ref()?;
    Some(digest(&json!({
        "id": resource.id,
        "props": resource.props,
        "deposed": entry.deposed.iter().map(|r| &r.id).collect::<Vec<_>>(),
    })))
}

/// The change fit to write: sensitive values replaced, replaced resources by
/// id only (their outputs can hold integration keys).
fn redacted(change: &Change) -> Change {
    let mut copy = change.clone();
    for prop in copy.props.iter_mut().filter(|p| p.sensitive) {
        if prop.before.is_some() {
            prop.before = Some(json!(REDACTED));
        }
        if let After::Known(_) = prop.after {
            prop.after = After::Known(json!(REDACTED));
        }
    }
    copy.deposed = change
        .deposed
        .iter()
        .map(|r| Resource {
            id: r.id.clone(),
            ..Resource::default()
        })
        .collect();
    copy
}

/// SHA-256 of a JSON value with every object's keys sorted: the same value
/// gives the same digest whatever order its maps were built in.
fn digest(value: &Value) -> String {
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let sorted: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, canonical(v))).collect();
                json!(sorted)
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    hex(canonical(value).to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::{Action, PropChange};

    fn change(secret: &str) -> Change {
        Change {
            node: "sub".into(),
            kind: "aws.sns_topic_subscription".into(),
            action: Action::Create,
            props: vec![PropChange {
                name: "endpoint".into(),
                before: None,
                after: After::Known(json!(secret)),
                sensitive: true,
                forces_replacement: false,
            }],
            adopt: false,
            checked: false,
            deposed: vec![Resource {
                id: "old".into(),
                outputs: [("key".to_owned(), secret.to_owned())].into(),
                ..Resource::default()
            }],
            moved_from: None,
            replace_requested: false,
        }
    }

    #[test]
    fn a_saved_change_holds_no_secret_but_its_digest_tells_secrets_apart() {
        let a = change("https://events.pagerduty.com/integration/KEY-ONE/enqueue");
        let b = change("https://events.pagerduty.com/integration/KEY-TWO/enqueue");
        let text = serde_json::to_string(&redacted(&a)).unwrap();
        assert!(!text.contains("KEY-ONE"), "{text}");
        assert!(text.contains(REDACTED), "{text}");
        assert_ne!(digest(&change_value(&a)), digest(&change_value(&b)));
        let back: Change = serde_json::from_str(&text).unwrap();
        assert_eq!(back.deposed[0].id, "old");
    }

    #[test]
    fn digests_ignore_key_order() {
        let one: Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":3}}"#).unwrap();
        let two: Value = serde_json::from_str(r#"{"b":{"d":3,"c":2},"a":1}"#).unwrap();
        assert_eq!(digest(&one), digest(&two));
        assert_ne!(digest(&one), digest(&json!({"a": 2})));
    }

    #[test]
    fn a_toml_file_is_not_a_saved_plan() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("b.toml");
        std::fs::write(&toml, "[guest]\npath = \"g.wasm\"\n").unwrap();
        let plan = dir.path().join("b.plan");
        std::fs::write(&plan, "\n  {\"kind\": \"blueprint-plan\"}").unwrap();
        assert!(!is_saved_plan(&toml));
        assert!(is_saved_plan(&plan));
        let err = SavedPlan::read(&toml).unwrap_err().to_string();
        assert!(err.contains("not a saved plan"), "{err}");
        std::fs::write(
            &plan,
            r#"{"kind": "blueprint-plan", "format_version": "2.0"}"#,
        )
        .unwrap();
        let err = SavedPlan::read(&plan).unwrap_err().to_string();
        assert!(err.contains("format_version \"2.0\""), "{err}");
    }
}
