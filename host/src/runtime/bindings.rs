//! The host side of the WIT contract: generated bindings and the import
//! implementations. Every typed constructor lands in the same place —
//! [`GuestState::declare_typed`] — so a new kind is one line in the tables below
//! plus its entry in `graph::kinds`.

use serde_json::{Map, Value};
use wasmtime::component::bindgen;

use super::GuestState;
use crate::graph::{Problem, ProblemClass, token};

bindgen!({
    world: "guest",
    path: "../wit",
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

pub use self::blueprint::cloud::host::LogLevel;
pub use self::exports::blueprint::cloud::blueprint::GuestInfo;

use self::blueprint::cloud::aws as aws_wit;
use self::blueprint::cloud::host as host_wit;
use self::blueprint::cloud::pagerduty as pd_wit;

/// The WIT package version this host implements.
pub const WIT_PACKAGE: &str = "blueprint:cloud";
pub const WIT_VERSION: &str = "0.1.0";

/// A guest may declare at most this many nodes: past it the guest is stopped, so
/// a runaway loop cannot make the host itself allocate without bound.
pub const MAX_NODES: usize = 100_000;

impl GuestState {
    /// Record a node declared through a typed constructor.
    fn declare_typed(&mut self, kind: &str, name: &str, props: &impl serde::Serialize) {
        match serde_json::to_value(props) {
            Ok(Value::Object(map)) => self.declare_node(kind, name, map),
            Ok(_) | Err(_) => self.graph.declaration_problems.push(Problem::node(
                ProblemClass::InvalidProps,
                name,
                kind,
                "props could not be represented as JSON (a NaN or infinite number?)",
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
}

/// For each interface: `constructor: PropsType -> RefType { outputs }`. Generates
/// the typed host functions, the escape hatch's parser for the kind, and the list
/// of (kind, outputs) that a test holds against `graph::kinds`.
macro_rules! constructors {
    ($( $iface:ident, $provider:literal => { $( $func:ident : $props:ident -> $out:ident { $($field:ident),+ } ),* $(,)? } )*) => {
        $(
            impl $iface::Host for GuestState {
                $(
                    fn $func(&mut self, name: String, props: $iface::$props) -> $iface::$out {
                        self.declare_typed(concat!($provider, ".", stringify!($func)), &name, &props);
                        $iface::$out { $( $field: token::make(&name, stringify!($field)) ),+ }
                    }
                )*
            }
        )*

        /// Parse escape-hatch props for a known kind through the same typed record
        /// the constructor takes; `None` for an unknown kind.
        fn parse_raw_props(kind: &str, json: &str) -> Option<Result<Value, String>> {
            $($(
                if kind == concat!($provider, ".", stringify!($func)) {
                    return Some(
                        serde_json::from_str::<$iface::$props>(json)
                            .and_then(serde_json::to_value)
                            .map_err(|e| e.to_string()),
                    );
                }
            )*)*
            None
        }

        /// Every typed constructor's kind and outputs.
        pub const TYPED_KINDS: &[(&str, &[&str])] = &[
            $($( (concat!($provider, ".", stringify!($func)), &[$(stringify!($field)),+]), )*)*
        ];
    };
}

constructors! {
    pd_wit, "pagerduty" => {
        user: UserLookup -> UserRef { id, name },
        vendor: VendorLookup -> VendorRef { id },
        team: TeamProps -> TeamRef { id },
        team_membership: TeamMembershipProps -> TeamMembershipRef { id },
        business_service: BusinessServiceProps -> BusinessServiceRef { id },
        schedule: ScheduleProps -> ScheduleRef { id },
        escalation_policy: EscalationPolicyProps -> EscalationPolicyRef { id },
        service: ServiceProps -> ServiceRef { id },
        service_dependency: ServiceDependencyProps -> ServiceDependencyRef { id },
        service_integration: ServiceIntegrationProps -> ServiceIntegrationRef {
            id, integration_key, cloudwatch_endpoint, cloudwatch_protocol
        },
    }
    aws_wit, "aws" => {
        iam_role: IamRoleProps -> IamRoleRef { arn, name },
        iam_role_policy_attachment: IamRolePolicyAttachmentProps -> IamRolePolicyAttachmentRef { id },
        s3_bucket: S3BucketProps -> S3BucketRef { bucket, arn },
        s3_object: S3ObjectProps -> S3ObjectRef { bucket, key, etag, version_id },
        cloudwatch_log_group: CloudwatchLogGroupProps -> CloudwatchLogGroupRef { name, arn },
        cloudwatch_log_metric_filter: CloudwatchLogMetricFilterProps -> CloudwatchLogMetricFilterRef {
            name, metric_name, metric_namespace
        },
        lambda_function: LambdaFunctionProps -> LambdaFunctionRef { function_name, arn },
        sns_topic: SnsTopicProps -> SnsTopicRef { arn },
        sns_topic_subscription: SnsTopicSubscriptionProps -> SnsTopicSubscriptionRef { arn },
        cloudwatch_metric_alarm: CloudwatchMetricAlarmProps -> CloudwatchMetricAlarmRef { alarm_name, arn },
    }
}

/// Longest log line kept from a guest, and how many lines a guest may log.
const MAX_LOG_LINE: usize = 4096;
const MAX_LOG_LINES: usize = 10_000;

impl host_wit::Host for GuestState {
    fn log(&mut self, level: LogLevel, message: String) {
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

    fn asset(&mut self, path: String) -> Result<host_wit::PackedAsset, String> {
        // A template stamped out per service asks for the same folder many times.
        let asset = match self.assets_by_path.get(&path) {
            Some(asset) => asset.clone(),
            None => {
                let asset = crate::assets::pack(&self.asset_root, &path)?;
                self.assets_by_path.insert(path.clone(), asset.clone());
                asset
            }
        };
        let wit = host_wit::PackedAsset {
            id: asset.id.clone(),
            sha256: asset.sha256.clone(),
            sha256_base64: asset.sha256_base64.clone(),
            size: asset.size,
            file_name: asset.file_name.clone(),
        };
        self.graph.assets.insert(asset.id.clone(), asset);
        Ok(wit)
    }

    fn declare(&mut self, kind: String, name: String, props_json: String) {
        match parse_raw_props(&kind, &props_json) {
            Some(Ok(Value::Object(map))) => self.declare_node(&kind, &name, map),
            Some(Ok(_)) => unreachable!("records serialize to objects"),
            Some(Err(why)) => self.graph.declaration_problems.push(Problem::node(
                ProblemClass::InvalidProps,
                &name,
                &kind,
                format!("props are not valid for {kind}: {why}"),
            )),
            None => self.graph.declaration_problems.push(Problem::node(
                ProblemClass::UnknownKind,
                &name,
                &kind,
                format!(
                    "unknown kind '{kind}' (known kinds: {})",
                    crate::graph::kinds::all()
                        .iter()
                        .map(|k| k.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::kinds;

    /// The WIT constructors and the kind table must agree, or a guest could get a
    /// token for an output the engine does not know.
    #[test]
    fn typed_constructors_match_the_kind_table() {
        for (kind, outputs) in TYPED_KINDS {
            let info = kinds::lookup(kind).unwrap_or_else(|| panic!("{kind} missing from kinds"));
            let table: Vec<&str> = info.outputs.iter().map(|o| o.name).collect();
            assert_eq!(&table, outputs, "outputs of {kind}");
        }
        assert_eq!(TYPED_KINDS.len(), kinds::all().len());
    }
}
