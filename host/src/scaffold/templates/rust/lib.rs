//! {{name}}: a blueprint guest. `run` declares resources through the typed
//! constructors of `blueprint_sdk::{pagerduty, aws}`; their outputs are reference
//! tokens (plain `String`s) to pass on or interpolate with `format!`.

use blueprint_sdk::pagerduty as pd;
use blueprint_sdk::prelude::*;

/// The params (doc comments become the schema's descriptions, `Default` its defaults).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// The PagerDuty team that owns the service.
    pub team_name: String,
    /// Existing PagerDuty users (by email), in rotation order.
    pub users: Vec<String>,
    /// The technical service to page for.
    pub service_name: String,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            team_name: "{{name}} team".into(),
            users: vec!["user1@example.com".into()],
            service_name: "{{name}}".into(),
        }
    }
}

struct Guest;

impl Blueprint for Guest {
    type Params = Params;

    fn info() -> Info {
        Info::new(
            "{{name}}",
            env!("CARGO_PKG_VERSION"),
            "A weekly rotation paging for one service.",
        )
    }

    fn run(p: Params) -> Result<(), String> {
        let team = pd::team(
            "team",
            &pd::TeamProps {
                name: p.team_name,
                description: None,
                parent: None,
            },
        );
        let users = p
            .users
            .iter()
            .map(|email| {
                pd::user(
                    &format!("user-{email}"),
                    &pd::UserLookup {
                        email: email.clone(),
                    },
                )
                .id
            })
            .collect();
        let schedule = pd::schedule(
            "schedule",
            &pd::ScheduleProps {
                name: format!("{} rotation", p.service_name),
                time_zone: "Etc/UTC".into(),
                description: None,
                layers: vec![pd::ScheduleLayer {
                    name: "weekly".into(),
                    start: "2025-01-06T09:00:00Z".into(),
                    end: None,
                    rotation_virtual_start: "2025-01-06T09:00:00Z".into(),
                    rotation_turn_length_seconds: 7 * 24 * 3600,
                    users,
                    restrictions: None,
                }],
                teams: Some(vec![team.id.clone()]),
            },
        );
        let policy = pd::escalation_policy(
            "policy",
            &pd::EscalationPolicyProps {
                name: format!("{} escalation", p.service_name),
                description: None,
                num_loops: Some(2),
                rules: vec![pd::EscalationRule {
                    escalation_delay_in_minutes: 15,
                    targets: vec![pd::EscalationTarget {
                        target_type: "schedule_reference".into(),
                        id: schedule.id,
                    }],
                }],
                teams: Some(vec![team.id]),
            },
        );
        pd::service(
            "service",
            &pd::ServiceProps {
                name: p.service_name,
                description: None,
                escalation_policy: policy.id,
                acknowledgement_timeout: None,
                auto_resolve_timeout: None,
                alert_creation: None,
                urgency: None,
                support_hours: None,
                urgency_during_support_hours: None,
                urgency_outside_support_hours: None,
                raise_urgency_at_support_hours_start: None,
                alert_grouping: None,
            },
        );
        Ok(())
    }
}

blueprint_sdk::blueprint!(Guest);
