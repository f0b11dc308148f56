//! What the state says about one chain's resources, as the links and the
//! delivery watch read it.

/// What the state says about the chain's resources.
pub(super) struct Live {
    pub alarm_name: String,
    pub topic_arn: String,
    pub service_id: String,
    pub service_name: String,
    pub policy_id: Option<String>,
    /// The escalation policy's rules, as declared.
    pub levels: u32,
    pub log_group: Option<String>,
    pub filter_name: Option<String>,
    /// The URL of the subscription's dead-letter queue, when it is one of this
    /// blueprint's queues.
    pub dead_letter_queue: Option<String>,
    /// Attempts SNS makes per notification, by the subscription's delivery policy.
    pub delivery_attempts: u64,
}

/// How a report names a topic: by the last part of its ARN.
pub(super) fn topic_name(arn: &str) -> String {
    format!("topic {}", arn.rsplit(':').next().unwrap_or(arn))
}
