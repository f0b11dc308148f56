//! Terraform state files, format version 4 (Terraform 0.12 and later, OpenTofu,
//! and what cdktf's `cdktf deploy` leaves per stack): the resource instances
//! they hold, with their attributes. Only what import needs is read: `version`,
//! `resources[]` (`mode`, `type`, `name`, `module`, `instances[]` with
//! `index_key` and `attributes`); everything else is ignored.
//!
//! Format: <https://developer.hashicorp.com/terraform/internals/json-format>
//! (the `terraform show -json` view) and the state file itself, whose v4 layout
//! is what `terraform state pull` prints.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use blueprint_model::import_id::{attribute, attribute_text};

/// One resource instance of one state file.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The state file it came from, as the user named it.
    pub file: String,
    /// Its Terraform address: `[module.M.][data.]TYPE.NAME[KEY]`.
    pub address: String,
    /// A data source (`data.`), not a managed resource.
    pub data: bool,
    pub tf_type: String,
    pub attributes: Map<String, Value>,
}

#[derive(Deserialize)]
struct RawState {
    version: u64,
    #[serde(default)]
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
struct RawResource {
    #[serde(default)]
    module: Option<String>,
    mode: String,
    #[serde(rename = "type")]
    tf_type: String,
    name: String,
    #[serde(default)]
    instances: Vec<RawInstance>,
}

#[derive(Deserialize)]
struct RawInstance {
    #[serde(default)]
    index_key: Option<Value>,
    #[serde(default)]
    attributes: Option<Map<String, Value>>,
}

/// Why a Terraform state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TfStateError {
    #[error("{file} is not a Terraform state")]
    NotAState {
        file: String,
        #[source]
        cause: serde_json::Error,
    },
    #[error(
        "{file} is a Terraform state of format version {version}; only version 4 (Terraform 0.12 and later) is read"
    )]
    Version { file: String, version: u64 },
    #[error("{file}: resource {resource} has mode {mode:?}")]
    Mode {
        file: String,
        resource: String,
        mode: String,
    },
    #[error("{0:?} is not s3://BUCKET/KEY")]
    NotS3Url(String),
    #[error("reading {file}: {cause}")]
    ReadS3 {
        file: String,
        cause: crate::providers::aws::ReadObjectError,
    },
    #[error("{file} is not UTF-8")]
    NotUtf8 {
        file: String,
        #[source]
        cause: std::string::FromUtf8Error,
    },
    #[error("reading {file}")]
    Read {
        file: String,
        #[source]
        cause: std::io::Error,
    },
}

/// Parse one state file's text; `file` names it in messages and addresses.
pub fn parse(text: &str, file: &str) -> Result<Vec<Instance>, TfStateError> {
    let raw: RawState = serde_json::from_str(text).map_err(|cause| TfStateError::NotAState {
        file: file.to_owned(),
        cause,
    })?;
    if raw.version != 4 {
        return Err(TfStateError::Version {
            file: file.to_owned(),
            version: raw.version,
        });
    }
    let mut out = Vec::new();
    for r in raw.resources {
        let data = match r.mode.as_str() {
            "managed" => false,
            "data" => true,
            other => {
                return Err(TfStateError::Mode {
                    file: file.to_owned(),
                    resource: format!("{}.{}", r.tf_type, r.name),
                    mode: other.to_owned(),
                });
            }
        };
        let mut base = String::new();
        if let Some(module) = &r.module {
            base.push_str(module);
            base.push('.');
        }
        if data {
            base.push_str("data.");
        }
        base.push_str(&format!("{}.{}", r.tf_type, r.name));
        for i in r.instances {
            let address = match &i.index_key {
                Some(Value::String(k)) => format!("{base}[{k:?}]"),
                Some(k) => format!("{base}[{k}]"),
                None => base.clone(),
            };
            out.push(Instance {
                file: file.to_owned(),
                address,
                data,
                tf_type: r.tf_type.clone(),
                attributes: i.attributes.unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// Read a state file from a local path or `s3://BUCKET/KEY` (the S3 backend's
/// object, through the blueprint's AWS settings).
pub async fn load(
    source: &str,
    aws: &crate::blueprint_file::AwsSettings,
) -> Result<Vec<Instance>, TfStateError> {
    let file = || source.to_owned();
    let text = if let Some(rest) = source.strip_prefix("s3://") {
        let (bucket, key) = rest
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
            .ok_or_else(|| TfStateError::NotS3Url(file()))?;
        let bytes = crate::providers::aws::read_object(aws, bucket, key)
            .await
            .map_err(|cause| TfStateError::ReadS3 {
                file: file(),
                cause,
            })?;
        String::from_utf8(bytes).map_err(|cause| TfStateError::NotUtf8 {
            file: file(),
            cause,
        })?
    } else {
        std::fs::read_to_string(Path::new(source)).map_err(|cause| TfStateError::Read {
            file: file(),
            cause,
        })?
    };
    parse(&text, source)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn addresses_modules_data_and_index_keys() {
        let text = json!({
            "version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "x",
            "outputs": {},
            "resources": [
                {"mode": "managed", "type": "aws_sns_topic", "name": "topic_1A2B3C4D",
                 "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                 "instances": [{"schema_version": 0, "attributes": {"arn": "arn:aws:sns:x"}}]},
                {"module": "module.alerts", "mode": "data", "type": "pagerduty_user", "name": "u",
                 "provider": "provider[\"registry.terraform.io/pagerduty/pagerduty\"]",
                 "instances": [{"index_key": "a@b.c", "attributes": {"id": "P1"}},
                               {"index_key": 1, "attributes": {"id": "P2"}}]},
            ]
        })
        .to_string();
        let found = parse(&text, "s.tfstate").unwrap();
        let addresses: Vec<&str> = found.iter().map(|i| i.address.as_str()).collect();
        assert_eq!(
            addresses,
            [
                "aws_sns_topic.topic_1A2B3C4D",
                "module.alerts.data.pagerduty_user.u[\"a@b.c\"]",
                "module.alerts.data.pagerduty_user.u[1]",
            ]
        );
        assert!(!found[0].data && found[1].data);
        let err = parse(r#"{"version": 3, "resources": []}"#, "old.tfstate").unwrap_err();
        assert!(err.to_string().contains("version 3"), "{err}");
    }

    #[test]
    fn attribute_paths_step_through_single_blocks() {
        let a = json!({
            "name": "n",
            "period": 30,
            "dependency": [{"supporting_service": [{"id": "PS", "type": "service"}]}],
            "tags": {"k": "v"},
        });
        let a = a.as_object().unwrap();
        assert_eq!(attribute_text(a, "name").as_deref(), Some("n"));
        assert_eq!(attribute_text(a, "period").as_deref(), Some("30"));
        assert_eq!(
            attribute_text(a, "dependency.supporting_service.id").as_deref(),
            Some("PS")
        );
        assert_eq!(attribute_text(a, "tags.k").as_deref(), Some("v"));
        assert_eq!(attribute_text(a, "missing"), None);
    }
}
