//! What a provider observed of one object: the record the providers return,
//! import ids build, and the state file keeps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a provider observed of one resource; also what the state file records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Resource {
    /// The provider's identifier (a PagerDuty id, an ARN or a name): enough, with
    /// `outputs` and `props`, for `read`, `update` and `delete`.
    pub id: String,
    /// Observed props, shaped like the desired props.
    #[serde(default)]
    pub props: Map<String, Value>,
    /// Every output of the kind.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}
