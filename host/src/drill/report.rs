//! What a drill reports: each link of each chain, and the incident it opened.

use std::time::Instant;

use serde::Serialize;

/// Where the drill injects the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Inject {
    /// A log event in the log group: the whole chain (minutes on AWS).
    Log,
    /// SetAlarmState ALARM: the alarm's actions fire.
    Alarm,
    /// A CloudWatch-alarm notification (EventBridge chains: the event a rule
    /// would send) published to the topic.
    Topic,
    /// An event the rule's pattern matches, put on the default bus
    /// (EventBridge chains; an alarm chain starts at the alarm's state).
    Event,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// One link of one chain.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub link: &'static str,
    pub outcome: Outcome,
    pub seconds: f64,
    pub detail: String,
    /// What to look at, for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The incident a drill opened.
#[derive(Debug, Clone, Serialize)]
pub struct Paged {
    pub incident_id: String,
    pub incident_number: Option<i64>,
    pub title: String,
    pub assignee_id: String,
    pub assignee: String,
    pub assignee_email: String,
    pub on_call_now: Vec<String>,
    /// The incident's urgency: which notification rules apply.
    pub urgency: String,
    /// The channels PagerDuty notified the assignee by (`email`, `sms`, …).
    pub notified_by: Vec<String>,
    /// Who each level of the escalation policy would notify now.
    pub levels: Vec<LevelNow>,
}

/// One escalation level, as PagerDuty's on-call list has it at the drill.
#[derive(Debug, Clone, Serialize)]
pub struct LevelNow {
    pub level: u32,
    /// Display names; empty: nobody on call at this level.
    pub on_call: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// The node id of the chain's source: an alarm, or an EventBridge rule.
    pub alarm: String,
    /// The source's name (the alarm's, or the rule's).
    pub alarm_name: String,
    /// The source's kind (`aws.cloudwatch_metric_alarm`, `aws.cloudwatch_event_rule`).
    pub source: String,
    /// The declared path, e.g. `/aws/lambda/fn → filter → alarm → topic → service`.
    pub path: String,
    pub inject: Inject,
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paged: Option<Paged>,
}

impl ChainReport {
    pub fn passed(&self) -> bool {
        self.links.iter().all(|l| l.outcome != Outcome::Failed)
    }
}

/// Why a link did not pass.
#[derive(Debug, Clone)]
pub enum Failure {
    Failed {
        detail: String,
        hint: Option<String>,
    },
    Skipped(String),
}

pub fn fail(detail: impl Into<String>, hint: impl Into<String>) -> Failure {
    Failure::Failed {
        detail: detail.into(),
        hint: Some(hint.into()),
    }
}

impl From<crate::providers::ProviderError> for Failure {
    fn from(e: crate::providers::ProviderError) -> Failure {
        Failure::Failed {
            detail: crate::providers::pagerduty::redact(&e.message),
            hint: None,
        }
    }
}

/// Collects a chain's links as they are checked, timing each.
pub struct Links {
    pub links: Vec<Link>,
    started: Instant,
}

impl Default for Links {
    fn default() -> Links {
        Links {
            links: Vec::new(),
            started: Instant::now(),
        }
    }
}

impl Links {
    pub fn failed(&self) -> bool {
        self.links.iter().any(|l| l.outcome == Outcome::Failed)
    }

    pub fn record(&mut self, link: &'static str, result: Result<String, Failure>) {
        let seconds = self.started.elapsed().as_secs_f64();
        self.started = Instant::now();
        self.links.push(match result {
            Ok(detail) => Link {
                link,
                outcome: Outcome::Passed,
                seconds,
                detail,
                hint: None,
            },
            Err(Failure::Failed { detail, hint }) => Link {
                link,
                outcome: Outcome::Failed,
                seconds,
                detail,
                hint,
            },
            Err(Failure::Skipped(detail)) => Link {
                link,
                outcome: Outcome::Skipped,
                seconds,
                detail,
                hint: None,
            },
        });
    }

    pub fn skip_rest(&mut self, names: &[&'static str]) {
        for name in names {
            self.record(name, Err(Failure::Skipped("an earlier link failed".into())));
        }
    }
}
