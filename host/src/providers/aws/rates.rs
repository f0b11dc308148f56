//! The published request rates of the AWS APIs blueprint calls, kept to under
//! `--parallelism auto`: a call waits for its API's turn (with its
//! parallelism slot lent to other work) instead of being throttled and
//! retried. Rates are per account and Region, so one budget per provider
//! connection, shared by every blueprint of a run that uses it.
//!
//! Sources, as published (they are quotas AWS may raise for an account):
//! - CloudWatch User Guide, "CloudWatch service quotas": `PutMetricAlarm` 3
//!   TPS per Region; `DescribeAlarms` and `DescribeAlarmsForMetric` 9 TPS;
//!   `DeleteAlarms`, `DescribeAlarmHistory`, `DisableAlarmActions`,
//!   `EnableAlarmActions` and `SetAlarmState` 3 TPS each.
//! - Lambda Developer Guide, "Lambda quotas": `GetFunction` 100 requests per
//!   second, `GetPolicy` 15, and "the remainder of the control plane API
//!   requests (excludes invocation, GetFunction, and GetPolicy requests)" 15
//!   per second together: one budget for all of them.
//!
//! IAM, S3, SNS, SQS, EventBridge and CloudWatch Logs' control plane publish
//! no per-API rate: their calls are not paced, and a throttled answer is
//! retried with backoff by the one retry loop (`providers/retry.rs`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which budget an operation (as [`super::operation_of`] names it:
/// `CLOUDWATCH put_metric_alarm`) draws on, and its rate per second.
fn documented(operation: &str) -> Option<(&'static str, f64)> {
    let (service, call) = operation.split_once(' ')?;
    match (service, call) {
        ("CLOUDWATCH", "put_metric_alarm") => Some(("cloudwatch:PutMetricAlarm", 3.0)),
        ("CLOUDWATCH", "describe_alarms") => Some(("cloudwatch:DescribeAlarms", 9.0)),
        ("CLOUDWATCH", "describe_alarms_for_metric") => {
            Some(("cloudwatch:DescribeAlarmsForMetric", 9.0))
        }
        ("CLOUDWATCH", "delete_alarms") => Some(("cloudwatch:DeleteAlarms", 3.0)),
        ("CLOUDWATCH", "describe_alarm_history") => Some(("cloudwatch:DescribeAlarmHistory", 3.0)),
        ("CLOUDWATCH", "disable_alarm_actions") => Some(("cloudwatch:DisableAlarmActions", 3.0)),
        ("CLOUDWATCH", "enable_alarm_actions") => Some(("cloudwatch:EnableAlarmActions", 3.0)),
        ("CLOUDWATCH", "set_alarm_state") => Some(("cloudwatch:SetAlarmState", 3.0)),
        ("LAMBDA", "get_function") => Some(("lambda:GetFunction", 100.0)),
        ("LAMBDA", "get_policy") => Some(("lambda:GetPolicy", 15.0)),
        ("LAMBDA", call) if !call.starts_with("invoke") => Some(("lambda:control plane", 15.0)),
        _ => None,
    }
}

/// How long `calls` hold their scarcest budget: the most time any one budget
/// needs for its share of them.
pub fn scarcest(calls: &[&str]) -> Duration {
    let mut per_budget: std::collections::HashMap<&str, f64> = Default::default();
    for call in calls {
        if let Some((budget, per_second)) = documented(call) {
            *per_budget.entry(budget).or_default() += 1.0 / per_second;
        }
    }
    Duration::from_secs_f64(per_budget.into_values().fold(0.0, f64::max))
}

/// When each budget's next call may go out (calls spaced 1/rate apart, so no
/// second ever holds more than the rate).
#[derive(Default)]
pub struct Rates {
    next: Mutex<std::collections::HashMap<&'static str, Instant>>,
}

impl Rates {
    /// Wait for `operation`'s turn, if its API has a published rate. The wait
    /// is traced as `AWS rate budget` and lends the parallelism slot.
    pub async fn wait_turn(&self, operation: &str) {
        let Some((budget, per_second)) = documented(operation) else {
            return;
        };
        let now = Instant::now();
        let turn = {
            let mut next = self.next.lock().expect("rates lock");
            let turn = next.get(budget).copied().unwrap_or(now).max(now);
            next.insert(budget, turn + Duration::from_secs_f64(1.0 / per_second));
            turn
        };
        let wait = turn.saturating_duration_since(now);
        if wait.is_zero() {
            return;
        }
        crate::timings::timed(
            "wait",
            || "AWS rate budget".to_owned(),
            crate::slots::pause(wait),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_paced_operation_has_its_published_rate() {
        assert_eq!(
            documented("CLOUDWATCH put_metric_alarm"),
            Some(("cloudwatch:PutMetricAlarm", 3.0))
        );
        assert_eq!(
            documented("LAMBDA create_function"),
            documented("LAMBDA delete_function"),
            "Lambda's control plane is one budget"
        );
        assert_eq!(documented("LAMBDA invoke"), None);
        assert_eq!(documented("SNS subscribe"), None);
        assert_eq!(documented("IAM create_role"), None);
    }

    #[test]
    fn a_create_is_as_slow_as_its_scarcest_budget() {
        let alarm = [
            "CLOUDWATCH describe_alarms",
            "CLOUDWATCH put_metric_alarm",
            "CLOUDWATCH describe_alarms",
        ];
        let pace = scarcest(&alarm).as_secs_f64();
        assert!((pace - 1.0 / 3.0).abs() < 1e-9, "{pace}");
        assert_eq!(scarcest(&["SNS subscribe"]), Duration::ZERO);
    }

    #[tokio::test]
    async fn calls_of_one_api_are_spaced_by_its_rate() {
        let rates = Rates::default();
        let started = Instant::now();
        for _ in 0..11 {
            rates.wait_turn("LAMBDA get_function").await;
        }
        // Eleven calls at 100 per second: the last goes out 100 ms after the first.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(99), "{took:?}");
        assert!(took < Duration::from_secs(1), "{took:?}");
        // Another API is not held by that one.
        let other = Instant::now();
        rates.wait_turn("LAMBDA get_policy").await;
        rates.wait_turn("SNS subscribe").await;
        assert!(other.elapsed() < Duration::from_millis(50));
    }
}
