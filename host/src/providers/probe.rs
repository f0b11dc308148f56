//! Capabilities `blueprint drill` needs beyond create/read/update/delete: fire an
//! alarm's chain and watch what the services do with it. A provider offers them
//! through [`super::Provider::alarm_probe`] / [`super::Provider::paging_probe`];
//! the drill asks the provider that serves the chain's nodes, never a cloud SDK.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::{ProviderResult, Resource};

/// An alarm as its service reports it now.
#[derive(Debug, Clone, Default)]
pub struct LiveAlarm {
    pub name: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    pub metric_name: Option<String>,
    pub namespace: Option<String>,
    pub statistic: Option<String>,
    pub period: Option<i32>,
    pub evaluation_periods: Option<i32>,
    pub comparison_operator: Option<String>,
    pub threshold: Option<f64>,
    pub actions_enabled: bool,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// A composite alarm's rule over other alarms.
    pub rule: Option<String>,
}

/// A log metric filter as its service reports it now.
#[derive(Debug, Clone, Default)]
pub struct LiveFilter {
    pub pattern: String,
    /// (metric name, namespace) of each transformation.
    pub metrics: Vec<(String, String)>,
}

/// What the service says of a pattern against a sample line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternTest {
    Matches,
    NoMatch,
    /// The service rejected the pattern; its message.
    Invalid(String),
    /// This endpoint does not implement the test (an emulator): the caller may
    /// evaluate simple patterns itself, and must say so.
    Unsupported,
}

/// A subscription of a topic as its service reports it now.
#[derive(Debug, Clone, Default)]
pub struct LiveSubscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    /// The endpoint confirmed it (SNS: not `PendingConfirmation`).
    pub confirmed: bool,
}

/// An EventBridge rule as its service reports it now.
#[derive(Debug, Clone, Default)]
pub struct LiveRule {
    pub arn: String,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    pub event_pattern: Option<String>,
    /// The ARNs of its targets.
    pub targets: Vec<String>,
}

/// The state an alarm can be put in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
}

/// Fire and inspect alarms (AWS: CloudWatch, CloudWatch Logs, SNS).
#[async_trait]
pub trait AlarmProbe: Send + Sync {
    /// The region the alarms live in (for notifications and messages).
    fn region(&self) -> &str;

    async fn alarm(&self, name: &str) -> ProviderResult<Option<LiveAlarm>>;

    async fn metric_filter(
        &self,
        log_group: &str,
        name: &str,
    ) -> ProviderResult<Option<LiveFilter>>;

    async fn test_pattern(&self, pattern: &str, line: &str) -> ProviderResult<PatternTest>;

    /// Every subscription of the topic (all pages).
    async fn subscriptions(&self, topic: &str) -> ProviderResult<Vec<LiveSubscription>>;

    async fn publish(&self, topic: &str, subject: &str, message: &str) -> ProviderResult<()>;

    async fn set_alarm_state(
        &self,
        name: &str,
        state: AlarmState,
        reason: &str,
    ) -> ProviderResult<()>;

    /// Write one line to the log group (in a fresh stream); returns the stream.
    async fn write_log_line(&self, log_group: &str, line: &str) -> ProviderResult<String>;

    /// Notifications the topic's service gave up delivering since `since`
    /// (SNS: CloudWatch `AWS/SNS` `NumberOfNotificationsFailed`, summed), as far
    /// as the service has reported them by now.
    async fn failed_deliveries(
        &self,
        topic: &str,
        since: std::time::SystemTime,
    ) -> ProviderResult<u64>;

    /// Messages in a queue now, visible or in flight (a dead-letter queue's
    /// lost pages).
    async fn queue_depth(&self, queue_url: &str) -> ProviderResult<u64>;

    /// An EventBridge rule of the default bus and its targets.
    async fn event_rule(&self, name: &str) -> ProviderResult<Option<LiveRule>>;

    /// Whether `event` (a whole event, JSON) matches `pattern`, as the service
    /// decides.
    async fn test_event_pattern(&self, pattern: &str, event: &str) -> ProviderResult<PatternTest>;

    /// Put one event on the default bus; returns its id.
    async fn put_event(
        &self,
        source: &str,
        detail_type: &str,
        detail: &str,
    ) -> ProviderResult<String>;

    /// A topic's access policy (a JSON document).
    async fn topic_policy(&self, topic: &str) -> ProviderResult<Option<String>>;
}

/// An incident as the paging service reports it.
#[derive(Debug, Clone, Default)]
pub struct LiveIncident {
    pub id: String,
    pub number: Option<i64>,
    pub title: String,
    /// The first assignee, if any: (id, display name).
    pub assignee: Option<(String, String)>,
    /// `high` or `low`: which of a user's notification rules apply.
    pub urgency: String,
}

/// A notification the paging service sent about an incident (its log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentNotification {
    pub user_id: String,
    /// `email`, `sms`, `phone`, `push_notification`.
    pub channel: String,
    /// When, as the service recorded it (RFC 3339).
    pub at: String,
}

/// One notification rule of a user, as the paging service reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub urgency: String,
    pub delay_minutes: u64,
    /// The contact method's type (`email_contact_method` …).
    pub contact_method: String,
}

/// How the paging service can reach a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Contact methods' types.
    pub contact_methods: Vec<String>,
    pub rules: Vec<Rule>,
}

/// Someone on call at an escalation level.
#[derive(Debug, Clone, Default)]
pub struct OnCallEntry {
    pub user_id: String,
    pub user_name: String,
    /// The schedule that puts them there, if any.
    pub schedule: Option<String>,
}

/// Follow what a page does (PagerDuty).
#[async_trait]
pub trait PagingProbe: Send + Sync {
    /// Where the integration recorded as `prior` takes alarm notifications now
    /// (it may have been recreated with another key); `None` if it is gone.
    async fn integration_endpoint(&self, prior: &Resource) -> ProviderResult<Option<String>>;

    /// Ids of the service's triggered or acknowledged incidents.
    async fn open_incidents(&self, service_id: &str) -> ProviderResult<BTreeSet<String>>;

    async fn incident(&self, id: &str) -> ProviderResult<LiveIncident>;

    async fn user_email(&self, user_id: &str) -> ProviderResult<Option<String>>;

    /// Notifications sent about the incident so far (oldest first).
    async fn notifications(&self, incident_id: &str) -> ProviderResult<Vec<SentNotification>>;

    /// The user's contact methods and notification rules (every urgency).
    async fn reach(&self, user_id: &str) -> ProviderResult<Reach>;

    /// Who is on call now at `level` of the escalation policy.
    async fn on_call(&self, policy_id: &str, level: u32) -> ProviderResult<Vec<OnCallEntry>>;

    /// Resolve an incident, as the user with this email when one is given.
    async fn resolve(&self, incident_id: &str, from: Option<&str>) -> ProviderResult<()>;

    /// The text with every secret this service hands out (integration keys in
    /// URLs) masked.
    fn redact(&self, text: &str) -> String;
}
