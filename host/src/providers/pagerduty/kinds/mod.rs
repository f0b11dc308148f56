//! Every PagerDuty kind, one file each: its descriptor and its API calls
//! (plain objects through `super::object`, the rest by hand).

crate::kind::kind_list! {
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
    ]
}
