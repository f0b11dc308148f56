//! One module per rule; adding a rule is a new file here, its module and its
//! name in the list (the modules are declared outside the macro so that rustfmt
//! formats them).

use super::Rule;

mod alarm_missing_data;
mod alarm_no_ok_action;
mod alarm_not_paging;
mod alarm_sub_minute_period;
mod escalation_level_empty;
mod escalation_policy_unused;
mod escalation_single_responder;
mod event_target_topic_policy;
mod filter_without_alarm;
mod lambda_runtime_deprecated;
mod log_group_no_retention;
mod schedule_gap;
mod subscription_dead_letter;
mod subscription_endpoint;
mod subscription_protocol;

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        /// Every rule `check` runs.
        pub static ALL: &[&Rule] = &[$(&$module::RULE),*];
    };
}

rules![
    alarm_not_paging,
    subscription_endpoint,
    subscription_protocol,
    subscription_dead_letter,
    event_target_topic_policy,
    alarm_sub_minute_period,
    alarm_no_ok_action,
    alarm_missing_data,
    filter_without_alarm,
    escalation_single_responder,
    escalation_policy_unused,
    schedule_gap,
    escalation_level_empty,
    lambda_runtime_deprecated,
    log_group_no_retention,
];

/// A number prop, when literal.
fn number(node: &blueprint_model::graph::Node, prop: &str) -> Option<f64> {
    node.props.get(prop)?.as_f64()
}
