//! `blueprint:cloud@0.1.0`, frozen (`wit/since_v0.1.0/`). Each call converts its
//! arguments into the latest contract's types, runs the latest implementation,
//! and converts the answer back. Every 0.1.0 type still has the latest's shape,
//! so the conversion goes through their serde forms; a type that changes shape
//! in a later version gets a hand-written conversion here instead.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasmtime::component::bindgen;

use super::latest;
use crate::runtime::GuestState;

pub const VERSION: &str = "0.1.0";

bindgen!({
    world: "guest",
    path: "../wit/since_v0.1.0",
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

use self::blueprint::cloud as v0_1;

/// A value of one version as the same-shaped type of another. The shapes are
/// held equal by `every_constructor_converts` below.
pub fn upgrade<A: Serialize, B: DeserializeOwned>(value: A) -> B {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .expect("a 0.1.0 type has the latest's shape (see since_v0_1_0 tests)")
}

/// `interface => latest trait { constructor: Props -> Ref, ... }`: each 0.1.0
/// constructor runs the latest one.
macro_rules! delegate {
    ($( $iface:ident => { $( $func:ident : $props:ident -> $out:ident ),* $(,)? } )*) => {
        $(
            impl v0_1::$iface::Host for GuestState {
                $(
                    fn $func(&mut self, name: String, props: v0_1::$iface::$props) -> v0_1::$iface::$out {
                        upgrade(<GuestState as latest::$iface::Host>::$func(self, name, upgrade(props)))
                    }
                )*
            }
        )*

        #[cfg(test)]
        mod shapes {
            use super::*;

            /// Every 0.1.0 constructor's props and outputs convert to and from the
            /// latest's: a default-ish value of each survives the round trip.
            #[test]
            fn every_constructor_converts() {
                $($(
                    let latest_props: latest::$iface::$props =
                        serde_json::from_value(super::tests::sample::<latest::$iface::$props>())
                            .expect(concat!(stringify!($props), " sample"));
                    let old: v0_1::$iface::$props = upgrade(latest_props);
                    let _: latest::$iface::$props = upgrade(old);
                    let refs = super::tests::tokens::<latest::$iface::$out>();
                    let _: v0_1::$iface::$out = upgrade(refs);
                )*)*
            }
        }
    };
}

delegate! {
    pagerduty => {
        user: UserLookup -> UserRef,
        vendor: VendorLookup -> VendorRef,
        team: TeamProps -> TeamRef,
        team_membership: TeamMembershipProps -> TeamMembershipRef,
        business_service: BusinessServiceProps -> BusinessServiceRef,
        schedule: ScheduleProps -> ScheduleRef,
        escalation_policy: EscalationPolicyProps -> EscalationPolicyRef,
        service: ServiceProps -> ServiceRef,
        service_dependency: ServiceDependencyProps -> ServiceDependencyRef,
        service_integration: ServiceIntegrationProps -> ServiceIntegrationRef,
    }
    aws => {
        iam_role: IamRoleProps -> IamRoleRef,
        iam_role_policy_attachment: IamRolePolicyAttachmentProps -> IamRolePolicyAttachmentRef,
        s3_bucket: S3BucketProps -> S3BucketRef,
        s3_object: S3ObjectProps -> S3ObjectRef,
        cloudwatch_log_group: CloudwatchLogGroupProps -> CloudwatchLogGroupRef,
        cloudwatch_log_metric_filter: CloudwatchLogMetricFilterProps -> CloudwatchLogMetricFilterRef,
        lambda_function: LambdaFunctionProps -> LambdaFunctionRef,
        sns_topic: SnsTopicProps -> SnsTopicRef,
        sns_topic_subscription: SnsTopicSubscriptionProps -> SnsTopicSubscriptionRef,
        cloudwatch_metric_alarm: CloudwatchMetricAlarmProps -> CloudwatchMetricAlarmRef,
    }
}

impl v0_1::host::Host for GuestState {
    fn log(&mut self, level: v0_1::host::LogLevel, message: String) {
        latest::host::Host::log(self, upgrade(level), message);
    }

    fn asset(&mut self, path: String) -> Result<v0_1::host::PackedAsset, String> {
        latest::host::Host::asset(self, path).map(upgrade)
    }

    fn declare(&mut self, kind: String, name: String, props_json: String) {
        latest::host::Host::declare(self, kind, name, props_json);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    /// A JSON value every record of the contract accepts for `T`: found by
    /// filling what serde asks for, field by field, with typed defaults.
    pub fn sample<T: serde::de::DeserializeOwned>() -> Value {
        let mut value = json!({});
        // Ask serde which field is missing, fill it, repeat.
        for _ in 0..64 {
            match serde_json::from_value::<T>(value.clone()) {
                Ok(_) => return value,
                Err(e) => {
                    let text = e.to_string();
                    let Some(field) = text
                        .strip_prefix("missing field `")
                        .and_then(|r| r.split('`').next())
                    else {
                        panic!("cannot build a sample: {text}");
                    };
                    value[field] = guess(field);
                }
            }
        }
        panic!("cannot build a sample of {}", std::any::type_name::<T>());
    }

    fn guess(field: &str) -> Value {
        // Lists, records and numbers by what the contract's fields hold.
        match field {
            "layers" | "rules" | "users" | "targets" | "alarm_actions" => json!([]),
            "metric_transformation" => {
                json!({"metric_name": "m", "metric_namespace": "n", "metric_value": "1"})
            }
            "code" => json!({}),
            "period"
            | "evaluation_periods"
            | "threshold"
            | "escalation_delay_in_minutes"
            | "rotation_turn_length_seconds"
            | "duration_seconds" => json!(1),
            _ => json!("x"),
        }
    }

    /// A `Ref` record with every field set to a token-like string.
    pub fn tokens<T: serde::de::DeserializeOwned>() -> T {
        let mut value = json!({});
        for _ in 0..16 {
            match serde_json::from_value::<T>(value.clone()) {
                Ok(t) => return t,
                Err(e) => {
                    let text = e.to_string();
                    let field = text
                        .strip_prefix("missing field `")
                        .and_then(|r| r.split('`').next())
                        .unwrap_or_else(|| panic!("cannot build a ref: {text}"))
                        .to_owned();
                    value[field] = json!("token");
                }
            }
        }
        panic!("cannot build a ref of {}", std::any::type_name::<T>());
    }
}
