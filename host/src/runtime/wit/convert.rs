//! What every frozen version's module shares: a value of one version as the
//! same-shaped type of another, and `delegate!`, which implements a frozen
//! version's constructors by running the latest ones.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value of one version as the same-shaped type of another. The shapes are
/// held equal by each version's `every_constructor_converts` test.
pub fn upgrade<A: Serialize, B: DeserializeOwned>(value: A) -> B {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .expect("a frozen version's type has the latest's shape (see its module's tests)")
}

/// `old-module-alias; interface => { constructor: Props -> Ref, ... }`: each
/// constructor of the frozen version (bound under `$old`) runs the latest one.
macro_rules! delegate {
    ($old:ident; $( $iface:ident => { $( $func:ident : $props:ident -> $out:ident ),* $(,)? } )*) => {
        $(
            impl $old::$iface::Host for GuestState {
                $(
                    fn $func(&mut self, name: String, props: $old::$iface::$props) -> $old::$iface::$out {
                        upgrade(<GuestState as latest::$iface::Host>::$func(self, name, upgrade(props)))
                    }
                )*
            }
        )*

        #[cfg(test)]
        mod shapes {
            use super::*;
            use crate::runtime::wit::convert::samples;

            /// Every constructor's props convert to the latest's (the way a
            /// call goes; a later version may only add to or loosen a record),
            /// and the latest's outputs back: a default-ish value of each
            /// survives the round trip.
            #[test]
            fn every_constructor_converts() {
                $($(
                    let old_props: $old::$iface::$props =
                        serde_json::from_value(samples::sample::<$old::$iface::$props>())
                            .expect(concat!(stringify!($props), " sample"));
                    let latest_props: latest::$iface::$props = upgrade(old_props);
                    let _: $old::$iface::$props = upgrade(latest_props);
                    let refs = samples::tokens::<latest::$iface::$out>();
                    let _: $old::$iface::$out = upgrade(refs);
                )*)*
            }
        }
    };
}
pub(crate) use delegate;

/// `host` of a frozen version: the latest's, converted (`depends_on`: the
/// version has `host.depends-on`, since 0.3.0).
macro_rules! delegate_host {
    ($old:ident, depends_on) => {
        delegate_host!(@impl $old {
            fn depends_on(&mut self, name: String, on: Vec<String>) {
                latest::host::Host::depends_on(self, name, on);
            }
        });
    };
    ($old:ident) => {
        delegate_host!(@impl $old {});
    };
    (@impl $old:ident { $($extra:item)* }) => {
        impl $old::host::Host for GuestState {
            fn log(&mut self, level: $old::host::LogLevel, message: String) {
                latest::host::Host::log(self, upgrade(level), message);
            }

            fn asset(&mut self, path: String) -> Result<$old::host::PackedAsset, String> {
                latest::host::Host::asset(self, path).map(upgrade)
            }

            fn declare(&mut self, kind: String, name: String, props_json: String) {
                latest::host::Host::declare(self, kind, name, props_json);
            }

            $($extra)*
        }
    };
}
pub(crate) use delegate_host;

#[cfg(test)]
pub mod samples {
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
            "layers" | "rules" | "users" | "targets" | "alarm_actions" | "services" | "sets"
            | "events" => json!([]),
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
