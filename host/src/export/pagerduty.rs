//! `pagerduty.*` kinds -> `PagerDuty/pagerduty` (v3) resource types and data
//! sources.

use super::table::{Block, KindMap, OutputMap, PropMap, Target, prop, same, text, to};

pub static KINDS: &[KindMap] = &[
    KindMap {
        kind: "pagerduty.user",
        tf_type: "pagerduty_user",
        block: Block::Data,
        props: &[same("email")],
        outputs: &[
            ("id", OutputMap::Attr("id")),
            ("name", OutputMap::Attr("name")),
        ],
        attributes: &["id", "name", "email", "role", "job_title", "time_zone"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.vendor",
        tf_type: "pagerduty_vendor",
        block: Block::Data,
        props: &[to("vendor_name", "name")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "type"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.team",
        tf_type: "pagerduty_team",
        block: Block::Resource,
        props: &[same("name"), same("description"), same("parent")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "html_url"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.team_membership",
        tf_type: "pagerduty_team_membership",
        block: Block::Resource,
        props: &[
            to("team", "team_id"),
            to("user", "user_id"),
            // The provider defaults to `manager`, the host to `responder`.
            same("role").absent("responder"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "team_id", "user_id", "role"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.business_service",
        tf_type: "pagerduty_business_service",
        block: Block::Resource,
        props: &[
            same("name"),
            same("description"),
            same("point_of_contact"),
            same("team"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "html_url", "self", "summary"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.schedule",
        tf_type: "pagerduty_schedule",
        block: Block::Resource,
        props: &[
            same("name"),
            same("time_zone"),
            same("description"),
            same("teams"),
            prop(
                "layers",
                Target::Blocks {
                    block: "layer",
                    fields: LAYER,
                },
            ),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.escalation_policy",
        tf_type: "pagerduty_escalation_policy",
        block: Block::Resource,
        props: &[
            same("name"),
            same("description"),
            same("num_loops"),
            same("teams"),
            prop(
                "rules",
                Target::Blocks {
                    block: "rule",
                    fields: RULE,
                },
            ),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.service",
        tf_type: "pagerduty_service",
        block: Block::Resource,
        props: &[
            same("name"),
            same("description"),
            same("escalation_policy"),
            // Strings in the provider; an absent timeout is disabled on the host
            // (PagerDuty's API default) but defaults to a value in the provider,
            // whose way to disable is the string "null".
            text("acknowledgement_timeout", "acknowledgement_timeout").absent("null"),
            text("auto_resolve_timeout", "auto_resolve_timeout").absent("null"),
            same("alert_creation"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "html_url", "status"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.service_dependency",
        tf_type: "pagerduty_service_dependency",
        block: Block::Resource,
        props: &[
            to("business_service", "dependency.dependent_service.id")
                .with(&[("dependency.dependent_service.type", "business_service")]),
            to("supporting_service", "dependency.supporting_service.id")
                .with(&[("dependency.supporting_service.type", "service")]),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id"],
        finish: None,
    },
    KindMap {
        kind: "pagerduty.service_integration",
        tf_type: "pagerduty_service_integration",
        block: Block::Resource,
        props: &[
            same("service"),
            same("vendor"),
            to("integration_name", "name"),
        ],
        outputs: &[
            ("id", OutputMap::Attr("id")),
            ("integration_key", OutputMap::Attr("integration_key")),
            (
                "cloudwatch_endpoint",
                OutputMap::PagerDutyEnqueue("integration_key"),
            ),
            ("cloudwatch_protocol", OutputMap::Literal("https")),
        ],
        attributes: &[
            "id",
            "integration_key",
            "integration_email",
            "html_url",
            "name",
            "service",
            "vendor",
        ],
        finish: None,
    },
];

const LAYER: &[PropMap] = &[
    same("name"),
    same("start"),
    same("end"),
    same("rotation_virtual_start"),
    same("rotation_turn_length_seconds"),
    same("users"),
    prop(
        "restrictions",
        Target::Blocks {
            block: "restriction",
            fields: RESTRICTION,
        },
    ),
];

const RESTRICTION: &[PropMap] = &[
    to("restriction_type", "type"),
    same("start_time_of_day"),
    same("duration_seconds"),
    same("start_day_of_week"),
];

const RULE: &[PropMap] = &[
    same("escalation_delay_in_minutes"),
    prop(
        "targets",
        Target::Blocks {
            block: "target",
            fields: TARGET,
        },
    ),
];

const TARGET: &[PropMap] = &[to("target_type", "type"), same("id")];
