//! One module per rule; adding a rule is a new file here and its name in the list.

use super::Rule;

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        $(mod $module;)*
        /// Every rule `check` runs.
        pub static ALL: &[&Rule] = &[$(&$module::RULE),*];
    };
}

rules![
    alarm_not_paging,
    subscription_endpoint,
    subscription_protocol,
    alarm_sub_minute_period,
    alarm_no_ok_action,
    alarm_missing_data,
    filter_without_alarm,
    escalation_single_responder,
    escalation_policy_unused,
    lambda_runtime_deprecated,
    log_group_no_retention,
];

/// A number prop, when literal.
fn number(node: &blueprint_model::graph::Node, prop: &str) -> Option<f64> {
    node.props.get(prop)?.as_f64()
}
