//! Every PagerDuty kind, one file each: its descriptor and its API calls
//! (plain objects through `super::object`, the rest by hand).

pub mod business_service;
pub mod escalation_policy;
pub mod event_orchestration_service;
pub mod maintenance_window;
pub mod schedule;
pub mod service;
pub mod service_dependency;
pub mod service_integration;
pub mod tag;
pub mod tag_assignment;
pub mod team;
pub mod team_membership;
pub mod user;
pub mod vendor;
pub mod webhook_subscription;

crate::providers::kind_list::kind_list! {
    provider: crate::providers::pagerduty::PagerDutyProvider,
    constructors: crate::runtime::wit::pagerduty::Host,
    kinds: [
        user,
        vendor,
        team,
        team_membership,
        business_service,
        schedule,
        escalation_policy,
        service,
        service_dependency,
        service_integration,
        maintenance_window,
        event_orchestration_service,
        tag,
        tag_assignment,
        webhook_subscription,
    ]
}
