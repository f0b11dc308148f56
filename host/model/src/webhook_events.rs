//! The event types a PagerDuty webhook subscription (v3) may ask for, as
//! PagerDuty's "V3 Webhooks overview" lists them
//! (developer.pagerduty.com/docs/webhooks/v3-overview, "Event Types"). The
//! REST API refuses a subscription to any other; the check refuses it first,
//! and the emulator holds the same list.

/// Sorted, for binary search.
pub const EVENT_TYPES: &[&str] = &[
    "incident.acknowledged",
    "incident.annotated",
    "incident.conference_bridge.updated",
    "incident.custom_field_values.updated",
    "incident.delegated",
    "incident.escalated",
    "incident.incident_type.changed",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.role.assigned",
    "incident.service_updated",
    "incident.status_update_published",
    "incident.triggered",
    "incident.unacknowledged",
    "incident.workflow.completed",
    "incident.workflow.started",
    "pagey.ping",
    "service.created",
    "service.deleted",
    "service.updated",
];

/// Whether PagerDuty knows `event` as a webhook event type.
pub fn known(event: &str) -> bool {
    EVENT_TYPES.binary_search(&event).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_sorted_for_binary_search() {
        assert!(super::EVENT_TYPES.is_sorted());
        assert!(super::known("incident.triggered"));
        assert!(!super::known("incident.exploded"));
    }
}
