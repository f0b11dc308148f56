//! Which policy guests a blueprint must pass, and their findings.
//!
//! A blueprint's policies are its own `[[policy]]` entries followed by the
//! organisation's: the TOML file named by `BLUEPRINT_POLICY_CONFIG`, else
//! `~/.config/blueprint/policies.toml` (the platform's config folder, via the
//! `directories` crate) when it exists. That file holds `[[policy]]` entries of the
//! same form (`path` relative to that file, or `oci`). OCI tags are pinned in the
//! blueprint's own `blueprint.lock`, like its guest. An empty
//! `BLUEPRINT_POLICY_CONFIG` turns the org file off.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::policy::{LoadedPolicy, PolicyRuntime, WitSeverity};
use super::{Finding, Severity};
use crate::blueprint_file::{Blueprint, GuestLocation, PolicyRef};
use crate::oci::OciError;
use crate::runtime::{GuestError, Runtime, SetupError};
use blueprint_model::graph::Graph;

/// The org file's format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgConfig {
    #[serde(default)]
    policy: Vec<PolicyRef>,
}

/// The org policy file in effect, if any.
pub fn org_config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BLUEPRINT_POLICY_CONFIG") {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    let path = directories::ProjectDirs::from("dev", "blueprint", "blueprint")?
        .config_dir()
        .join("policies.toml");
    path.exists().then_some(path)
}

/// One policy to run, and where it was named (for messages).
#[derive(Debug, Clone)]
pub struct Named {
    pub location: GuestLocation,
    pub named_in: PathBuf,
}

/// Why the policies could not judge a graph: an unjudged graph must not pass.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The org's policy config cannot be read, parsed, or names a policy badly.
    #[error("{0}")]
    Config(String),
    /// A policy's component could not be found or pulled.
    #[error("policy {policy} (named in {}): {cause}", named_in.display())]
    Locate {
        policy: String,
        named_in: PathBuf,
        cause: OciError,
    },
    /// The policy runtime could not be set up.
    #[error(transparent)]
    Runtime(#[from] SetupError),
    /// A policy could not be loaded, trapped, ran out of time, answered `err`,
    /// or reported what it did not declare.
    #[error("policy {0}")]
    Failed(#[from] GuestError),
}

/// The blueprint's policies, then the org's.
pub fn named(blueprint: &Blueprint) -> Result<Vec<Named>, PolicyError> {
    let mut all: Vec<Named> = blueprint
        .policies
        .iter()
        .map(|location| Named {
            location: location.clone(),
            named_in: blueprint.file.clone(),
        })
        .collect();
    if let Some(path) = org_config_path() {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            PolicyError::Config(format!(
                "cannot read the policy config {}: {e}",
                path.display()
            ))
        })?;
        let config: OrgConfig = toml::from_str(&text).map_err(|e| {
            PolicyError::Config(format!(
                "{} is not a valid policy config: {e}",
                path.display()
            ))
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for entry in &config.policy {
            all.push(Named {
                location: entry.locate(dir, &path).map_err(PolicyError::Config)?,
                named_in: path.clone(),
            });
        }
    }
    Ok(all)
}

/// The component file of a policy: a path as is, an OCI reference pulled
/// (tags pinned in the lock file beside `lock_dir`'s blueprint).
pub async fn component(location: &GuestLocation, lock_dir: &Path) -> Result<PathBuf, OciError> {
    match location {
        GuestLocation::Path(path) => Ok(path.clone()),
        GuestLocation::Oci(reference) => crate::oci::locate(reference, lock_dir).await,
        GuestLocation::S3 { .. } => Err(OciError::Reference(
            "a policy comes from a path or an OCI registry".into(),
        )),
    }
}

/// What the policies said about one graph.
pub struct PolicyFindings {
    /// Every rule id the policies declared (what `[[check.silence]]` may name).
    pub rules: Vec<String>,
    pub findings: Vec<Finding>,
}

/// Run every policy of the blueprint over its graph, in order. A policy that
/// cannot be loaded or fails (a trap, a timeout, an `err`, a finding for a rule it
/// did not declare) is an error naming it: an unjudged graph must not pass.
pub async fn run(
    runtime: &Runtime,
    blueprint: &Blueprint,
    graph: &Graph,
) -> Result<PolicyFindings, PolicyError> {
    let named = named(blueprint)?;
    let mut out = PolicyFindings {
        rules: Vec::new(),
        findings: Vec::new(),
    };
    if named.is_empty() {
        return Ok(out);
    }
    let policies = PolicyRuntime::new(runtime)?;
    for policy in &named {
        let path = component(&policy.location, &blueprint.dir)
            .await
            .map_err(|cause| PolicyError::Locate {
                policy: describe(&policy.location),
                named_in: policy.named_in.clone(),
                cause,
            })?;
        let loaded = policies.load(&path)?;
        judge(&policies, &loaded, &blueprint.name, graph, &mut out).await?;
    }
    Ok(out)
}

fn describe(location: &GuestLocation) -> String {
    match location {
        GuestLocation::Path(path) => path.display().to_string(),
        GuestLocation::Oci(reference) => format!("oci://{reference}"),
        GuestLocation::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
    }
}

async fn judge(
    policies: &PolicyRuntime<'_>,
    loaded: &LoadedPolicy,
    blueprint: &str,
    graph: &Graph,
    out: &mut PolicyFindings,
) -> Result<(), GuestError> {
    let mut instance = policies.instantiate(loaded).await?;
    let info = instance.info().await?;
    let rules = instance.rules().await?;
    let findings = instance.check(blueprint, graph).await?;
    let label = format!("{}@{}", info.name, info.version);
    let bad = |message: String| crate::runtime::GuestError {
        guest: loaded.name.clone(),
        kind: crate::runtime::GuestErrorKind::BadOutput,
        message,
    };
    for finding in findings {
        let Some(rule) = rules.iter().find(|r| r.id == finding.rule) else {
            return Err(bad(format!(
                "({label}) reported rule {:?}, which its rules() does not declare",
                finding.rule
            )));
        };
        if graph.node(&finding.node).is_none() {
            return Err(bad(format!(
                "({label}) reported [{}] on node {:?}, which the graph does not have",
                finding.rule, finding.node
            )));
        }
        out.findings.push(Finding {
            rule: finding.rule,
            severity: severity(finding.severity),
            node: finding.node,
            message: finding.message,
            why: rule.why.clone(),
            fix: finding.fix,
            policy: Some(label.clone()),
            silenced: None,
        });
    }
    out.rules.extend(rules.into_iter().map(|r| r.id));
    Ok(())
}

pub fn severity(s: WitSeverity) -> Severity {
    match s {
        WitSeverity::Error => Severity::Error,
        WitSeverity::Warning => Severity::Warning,
        WitSeverity::Info => Severity::Info,
    }
}

/// `run` stops on any active error a policy reported: one line per finding,
/// naming the policy and its version.
pub fn blocking(report: &super::Report) -> Option<String> {
    let errors: Vec<String> = report
        .active()
        .filter(|f| f.severity == Severity::Error)
        .filter_map(|f| {
            f.policy.as_ref().map(|p| {
                format!(
                    "  policy {p} [{}] on {}: {} (fix: {})",
                    f.rule, f.node, f.message, f.fix
                )
            })
        })
        .collect();
    (!errors.is_empty()).then(|| {
        format!(
            "refusing to run: {} policy error(s); nothing was changed\n{}",
            errors.len(),
            errors.join("\n")
        )
    })
}
