//! Blueprint files: a TOML document naming a guest, its params and the provider
//! settings. The format is documented in docs/blueprint-file.md.

pub mod dev;
pub mod oci_ref;
pub mod pagerduty;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueprintFile {
    /// The blueprint's name: keys its state and tags its resources. Defaults to
    /// the file's stem.
    pub name: Option<String>,
    pub guest: GuestRef,
    #[serde(default)]
    pub params: Map<String, Value>,
    #[serde(default)]
    pub providers: Providers,
    #[serde(default)]
    pub check: CheckSettings,
    #[serde(default)]
    pub state: StateSettings,
    /// `[lifecycle]`: what a plan may never delete.
    #[serde(default)]
    pub lifecycle: LifecycleSettings,
    /// `[dev]`: how `blueprint dev` runs the guest from its source.
    pub dev: Option<dev::DevSettings>,
    /// `[[policy]]`: policy guests this blueprint's graph must pass.
    #[serde(default)]
    pub policy: Vec<PolicyRef>,
    /// `[[moved]]`: nodes renamed in the guest, kept as the same resources.
    #[serde(default)]
    pub moved: Vec<Moved>,
}

/// `[[moved]]`: node `from` is now called `to` (Terraform's `moved` block).
/// The state's record is re-keyed on the next run, so the resource is updated
/// in place, not deleted and created. Kept in the file after the move: once
/// the state records `to`, it is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moved {
    pub from: String,
    pub to: String,
}

/// `[[policy]]`: one policy component, from a file or an OCI registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    /// A component file, relative to the file naming it.
    pub path: Option<PathBuf>,
    /// `REGISTRY/NAMESPACE/NAME:TAG` or `...@sha256:HEX`.
    pub oci: Option<String>,
}

impl PolicyRef {
    /// Where the policy comes from; `file` names the file for messages.
    pub fn locate(&self, dir: &Path, file: &Path) -> Result<GuestLocation, String> {
        match (&self.path, &self.oci) {
            (Some(path), None) => Ok(GuestLocation::Path(dir.join(path))),
            (None, Some(oci)) => {
                oci_ref::check_syntax(oci)
                    .map_err(|e| format!("{}: [[policy]] {e}", file.display()))?;
                Ok(GuestLocation::Oci(oci.clone()))
            }
            _ => Err(format!(
                "{}: each [[policy]] needs exactly one of `path` or `oci`",
                file.display()
            )),
        }
    }
}

/// `[state]`: where the blueprint's state lives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSettings {
    /// `s3://bucket/key` (or `s3://bucket/prefix/`), or a path relative to this
    /// file. Default: `.blueprint/<name>.json` beside it.
    pub url: Option<String>,
    /// S3 state only: encrypt the state, its history and its lock with this KMS
    /// key (SSE-KMS: a key id, ARN or alias); the state holds integration keys.
    /// Absent: the bucket's default encryption.
    pub kms_key_id: Option<String>,
}

/// `[lifecycle]`: the user's guards, kept in the blueprint file (not the guest):
/// what the team must never lose, whatever a guest change plans.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSettings {
    /// Node names (`lambda-error-service`) or kinds (`pagerduty.service`) no plan
    /// may delete or replace — `destroy` included — until they are taken off this
    /// list (Terraform's `prevent_destroy`, Pulumi's `protect`). A PagerDuty
    /// service carries its incident history and its integration keys.
    #[serde(default)]
    pub prevent_destroy: Vec<String>,
    /// Node → props whose differences from what exists are never planned
    /// (Terraform's `ignore_changes`, Pulumi's `ignoreChanges`): a value
    /// changed by hand in PagerDuty's UI stays. A create still sends them.
    #[serde(default)]
    pub ignore_changes: std::collections::BTreeMap<String, Vec<String>>,
}

/// `[check]`: how `blueprint check` treats this blueprint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// `[[check.silence]]`: findings accepted on purpose.
    #[serde(default)]
    pub silence: Vec<Silence>,
}

/// One rule silenced on one node, with the reason `check` prints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    pub rule: String,
    pub node: String,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestRef {
    /// A component file, relative to the blueprint file.
    pub path: Option<PathBuf>,
    /// A shared component: `s3://bucket/key` (needs `sha256`).
    pub url: Option<String>,
    /// Lowercase hex SHA-256 of the component: it must match or nothing runs.
    pub sha256: Option<String>,
    /// A component in an OCI registry: `REGISTRY/NAMESPACE/NAME:TAG` (pinned in
    /// `blueprint.lock`) or `...@sha256:HEX`.
    pub oci: Option<String>,
}

/// Where a blueprint's guest comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestLocation {
    Path(PathBuf),
    S3 {
        bucket: String,
        key: String,
    },
    /// An OCI reference as written (a tag or a digest).
    Oci(String),
}

/// The guest as the blueprint pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSource {
    pub location: GuestLocation,
    pub sha256: Option<String>,
}

impl GuestSource {
    fn from_file(guest: &GuestRef, dir: &Path, file: &Path) -> Result<GuestSource, String> {
        let at = file.display();
        if let Some(digest) = &guest.sha256
            && !(digest.len() == 64 && digest.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')))
        {
            return Err(format!(
                "{at}: guest.sha256 must be 64 lowercase hex digits (`sha256sum guest.wasm`)"
            ));
        }
        let location = match (&guest.path, &guest.url) {
            (None, None) if guest.oci.is_some() => {
                let oci = guest.oci.clone().unwrap_or_default();
                oci_ref::check_syntax(&oci).map_err(|e| format!("{at}: guest.oci: {e}"))?;
                if guest.sha256.is_some() {
                    return Err(format!(
                        "{at}: guest.sha256 does not apply to an OCI guest: pin it with @sha256:... in the reference (or let blueprint.lock pin the tag)"
                    ));
                }
                GuestLocation::Oci(oci)
            }
            _ if guest.oci.is_some() => {
                return Err(format!(
                    "{at}: [guest] needs exactly one of `path`, `url` or `oci`"
                ));
            }
            (Some(path), None) => GuestLocation::Path(dir.join(path)),
            (None, Some(url)) => {
                let Some((bucket, key)) = url
                    .strip_prefix("s3://")
                    .and_then(|rest| rest.split_once('/'))
                    .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                else {
                    return Err(format!(
                        "{at}: guest.url must be s3://BUCKET/KEY, not {url:?}"
                    ));
                };
                if guest.sha256.is_none() {
                    return Err(format!(
                        "{at}: a shared guest ({url}) must be pinned with guest.sha256"
                    ));
                }
                GuestLocation::S3 {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }
            }
            _ => {
                return Err(format!(
                    "{at}: [guest] needs exactly one of `path` or `url`"
                ));
            }
        };
        Ok(GuestSource {
            location,
            sha256: guest.sha256.clone(),
        })
    }

    /// For messages.
    pub fn describe(&self) -> String {
        match &self.location {
            GuestLocation::Path(path) => path.display().to_string(),
            GuestLocation::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
            GuestLocation::Oci(reference) => format!("oci://{reference}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Providers {
    #[serde(default)]
    pub aws: AwsSettings,
    #[serde(default)]
    pub pagerduty: PagerDutySettings,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// Overrides `AWS_REGION` and the profile's region.
    pub region: Option<String>,
    /// A named profile from ~/.aws/config.
    pub profile: Option<String>,
    /// Not from the file: `--parallelism auto` keeps each API within its
    /// documented rate (`providers/aws/rates.rs`).
    #[serde(skip)]
    pub paced: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutySettings {
    /// `us` or `eu`; `PAGERDUTY_SERVICE_REGION` overrides it.
    pub region: Option<String>,
    /// Not from the file: `destroy --resolve-incidents`.
    #[serde(skip)]
    pub resolve_incidents: bool,
}

/// A blueprint file as loaded: parsed, with paths resolved.
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub name: String,
    pub file: PathBuf,
    /// The folder the file sits in: guest and asset paths are relative to it.
    pub dir: PathBuf,
    pub guest: GuestSource,
    pub params: Map<String, Value>,
    pub providers: Providers,
    pub silences: Vec<Silence>,
    /// `[state] url`, as written.
    pub state_url: Option<String>,
    /// `[state] kms_key_id`, as written.
    pub state_kms_key_id: Option<String>,
    /// `[lifecycle] prevent_destroy`, as written.
    pub prevent_destroy: Vec<String>,
    /// `[lifecycle] ignore_changes`, as written.
    pub ignore_changes: std::collections::BTreeMap<String, Vec<String>>,
    /// `[[moved]]`, as written (checked against each other at load).
    pub moved: Vec<Moved>,
    /// `[dev]`, as written (paths relative to `dir`).
    pub dev: Option<dev::DevSettings>,
    /// `[[policy]]` entries, paths resolved against this file's folder.
    pub policies: Vec<GuestLocation>,
}

/// Why a blueprint file cannot be used; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read blueprint file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not TOML, or not the blueprint file's shape.
    #[error("{} is not a valid blueprint file: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// Well formed, but a value is not allowed.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    /// A guest or policy it names cannot be located (the message names both).
    #[error("{0}")]
    Guest(String),
}

impl Blueprint {
    pub fn load(path: &Path) -> Result<Blueprint, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Blueprint, FileError> {
        let invalid = |message: String| FileError::Invalid {
            path: path.to_owned(),
            message,
        };
        let file: BlueprintFile = toml::from_str(text).map_err(|e| FileError::Syntax {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        let name = match file.name {
            Some(name) => name,
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(invalid(format!(
                "name {name:?} must be 1-64 letters, digits, '-' or '_' (it names state files and tags)"
            )));
        }
        if let Some(region) = &file.providers.pagerduty.region
            && region != "us"
            && region != "eu"
        {
            return Err(invalid(format!(
                "providers.pagerduty.region must be \"us\" or \"eu\", not {}",
                shown(region)
            )));
        }
        if let Some(region) = &file.providers.aws.region
            && !valid_aws_region(region)
        {
            return Err(invalid(format!(
                "providers.aws.region must be an AWS region name such as us-east-1, eu-west-2, us-gov-west-1 or us-isob-east-1 (LL-[gov-|iso-|isoX-]AREA-N: two lowercase letters, a lowercase word, 1-2 digits; at most {MAX_REGION} characters), not {}",
                shown(region)
            )));
        }
        if let Some(s) = file
            .check
            .silence
            .iter()
            .find(|s| s.reason.trim().is_empty())
        {
            return Err(invalid(format!(
                "the silence of rule {:?} on {:?} needs a reason",
                s.rule, s.node
            )));
        }
        check_moves(&file.moved).map_err(invalid)?;
        let policies = file
            .policy
            .iter()
            .map(|p| p.locate(&dir, path))
            .collect::<Result<Vec<_>, _>>()
            .map_err(FileError::Guest)?;
        Ok(Blueprint {
            policies,
            silences: file.check.silence,
            state_url: file.state.url,
            state_kms_key_id: file.state.kms_key_id,
            prevent_destroy: file.lifecycle.prevent_destroy,
            ignore_changes: file.lifecycle.ignore_changes,
            moved: file.moved,
            dev: file.dev,
            name,
            guest: GuestSource::from_file(&file.guest, &dir, path).map_err(FileError::Guest)?,
            file: path.to_owned(),
            dir,
            params: file.params,
            providers: file.providers,
        })
    }
}

/// `[[moved]]` entries must make one rename each: no node moved twice, none
/// moved onto a name another move leaves or takes.
fn check_moves(moves: &[Moved]) -> Result<(), String> {
    let mut from = std::collections::BTreeSet::new();
    let mut to = std::collections::BTreeSet::new();
    for m in moves {
        if m.from == m.to {
            return Err(format!(
                "[[moved]] from {:?} to the same name: remove the entry",
                m.from
            ));
        }
        if !from.insert(m.from.as_str()) {
            return Err(format!("[[moved]] moves {:?} twice", m.from));
        }
        if !to.insert(m.to.as_str()) {
            return Err(format!("[[moved]] moves two nodes to {:?}", m.to));
        }
    }
    if let Some(chained) = moves.iter().find(|m| from.contains(m.to.as_str())) {
        return Err(format!(
            "[[moved]] moves a node to {:?}, which another entry moves away: write one entry from the first name to the last",
            chained.to
        ));
    }
    Ok(())
}

/// Longest AWS region name accepted (the longest today, `ap-southeast-7` and
/// `us-isob-east-1`, have 14 characters).
pub const MAX_REGION: usize = 32;

/// Whether `region` has the form of an AWS region name: AWS documents region
/// names as `<partition area>-<direction/area>-<number>` (`us-east-1`), with the
/// GovCloud (`us-gov-west-1`) and ISO partitions (`us-iso-east-1`,
/// `us-isob-east-1`, `eu-isoe-west-1`, `us-isof-south-1`); see "Regions and
/// Zones" in the EC2 User Guide and botocore's endpoints.json `regionRegex`
/// (`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$` and the partitions' variants).
/// Checked here so a bad region is refused before any client is built.
pub fn valid_aws_region(region: &str) -> bool {
    if region.is_empty() || region.len() > MAX_REGION || !region.is_ascii() {
        return false;
    }
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let (area, middle, number) = match parts.as_slice() {
        [area, word, number] => (*area, vec![*word], *number),
        [area, partition, word, number] => (*area, vec![*partition, *word], *number),
        _ => return false,
    };
    if area.len() != 2 || !lower(area) {
        return false;
    }
    if let [partition, _] = middle.as_slice() {
        let iso = partition
            .strip_prefix("iso")
            .is_some_and(|rest| rest.len() <= 1 && rest.bytes().all(|b| b.is_ascii_lowercase()));
        if *partition != "gov" && !iso {
            return false;
        }
    }
    let word = middle[middle.len() - 1];
    lower(word) && (1..=2).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit())
}

/// A value from the file quoted for an error: escaped, and cut when long.
fn shown(value: &str) -> String {
    format!("\"{}\"", blueprint_model::text::escape_cut(value, 64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_regions() {
        for good in [
            "us-east-1",
            "eu-west-2",
            "ap-southeast-7",
            "us-gov-west-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "il-central-1",
        ] {
            assert!(valid_aws_region(good), "{good}");
        }
        let long = "a".repeat(1 << 20);
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us-east-1\0",
            "us\u{1b}-east-1",
            "üs-east-1",
            "us-east-123",
            "use-east-1",
            "us-xyz-east-1",
            "us--1",
            long.as_str(),
        ] {
            assert!(!valid_aws_region(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_region_is_one_escaped_line() {
        let err = Blueprint::parse(
            Path::new("x.toml"),
            "[guest]\npath = \"g.wasm\"\n[providers.aws]\nregion = \"us-east-1\\u0000\"\n",
        )
        .unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("providers.aws.region must be") && err.contains("us-east-1\\0"),
            "{err}"
        );
        assert!(!err.contains('\0') && !err.contains('\n'), "{err:?}");
        let err = Blueprint::parse(
            Path::new("x.toml"),
            "[guest]\npath = \"g.wasm\"\n[providers.pagerduty]\nregion = \"\\u001b[2J\"\n",
        )
        .unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("\"us\" or \"eu\"") && !err.contains('\u{1b}'),
            "{err:?}"
        );
    }

    #[test]
    fn minimal_file() {
        let b = Blueprint::parse(
            Path::new("blueprints/x.toml"),
            "[guest]\npath = \"g.wasm\"\n",
        )
        .unwrap();
        assert_eq!(b.name, "x");
        assert_eq!(
            b.guest.location,
            GuestLocation::Path("blueprints/g.wasm".into())
        );
    }

    #[test]
    fn typos_are_named() {
        let err = Blueprint::parse(
            Path::new("x.toml"),
            "[guest]\npath = \"g.wasm\"\n[parms]\na = 1\n",
        )
        .unwrap_err();
        let err = err.to_string();
        assert!(err.contains("parms"), "{err}");
    }

    #[test]
    fn moves_and_ignored_changes_parse_and_conflicting_moves_are_refused() {
        let b = Blueprint::parse(
            Path::new("x.toml"),
            "[guest]\npath = \"g.wasm\"\n[lifecycle]\nignore_changes = { schedule = [\"layers\"] }\n[[moved]]\nfrom = \"a\"\nto = \"b\"\n",
        )
        .unwrap();
        assert_eq!(b.ignore_changes["schedule"], ["layers"]);
        assert_eq!(
            b.moved,
            [Moved {
                from: "a".into(),
                to: "b".into()
            }]
        );
        for (moves, says) in [
            ("from = \"a\"\nto = \"a\"", "same name"),
            (
                "from = \"a\"\nto = \"b\"\n[[moved]]\nfrom = \"a\"\nto = \"c\"",
                "twice",
            ),
            (
                "from = \"a\"\nto = \"c\"\n[[moved]]\nfrom = \"b\"\nto = \"c\"",
                "two nodes",
            ),
            (
                "from = \"a\"\nto = \"b\"\n[[moved]]\nfrom = \"b\"\nto = \"c\"",
                "one entry from the first name",
            ),
        ] {
            let text = format!("[guest]\npath = \"g.wasm\"\n[[moved]]\n{moves}\n");
            let err = Blueprint::parse(Path::new("x.toml"), &text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{moves}: {err}");
        }
    }

    #[test]
    fn syntax_errors_point_at_the_line() {
        let err = Blueprint::parse(Path::new("x.toml"), "[guest]\npath = \n").unwrap_err();
        let err = err.to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
