//! SNS's side of the page: while the drill waits for an incident, it also asks
//! whether the topic gave up delivering the notification — from the
//! subscription's dead-letter queue (a message more than before the inject is a
//! page SNS could not hand to PagerDuty) and from SNS's own count
//! (`NumberOfNotificationsFailed`). Either ends the wait at once with what
//! happened, instead of a silent timeout.

use std::time::SystemTime;

use super::Probes;
use super::chain::Live;
use super::report::{Failure, fail};

/// What the drill knew before it fired the chain.
pub(super) struct Watch {
    since: SystemTime,
    /// The dead-letter queue's depth before the inject, if there is one and it
    /// could be read.
    dead_letters_before: Option<u64>,
    /// SNS's failure count over the same window before the inject: CloudWatch
    /// sums by the minute, so the minute the drill starts in may hold earlier
    /// failures.
    failed_before: u64,
}

pub(super) async fn watch(probes: &Probes, live: &Live) -> Watch {
    let dead_letters_before = match &live.dead_letter_queue {
        Some(url) => probes.alarms().queue_depth(url).await.ok(),
        None => None,
    };
    let since = SystemTime::now();
    let failed_before = probes
        .alarms()
        .failed_deliveries(&live.topic_arn, since)
        .await
        .unwrap_or(0);
    Watch {
        since,
        dead_letters_before,
        failed_before,
    }
}

/// `Some` once the notification is known lost (or parked in the queue).
pub(super) async fn failed(probes: &Probes, live: &Live, watch: &Watch) -> Option<Failure> {
    let alarms = probes.alarms();
    if let (Some(url), Some(before)) = (&live.dead_letter_queue, watch.dead_letters_before)
        && let Ok(now) = alarms.queue_depth(url).await
        && now > before
    {
        return Some(fail(
            format!(
                "SNS could not deliver the notification to PagerDuty and moved it to the dead-letter queue {} ({} new message(s), {now} in all): nobody was paged",
                queue_name(url),
                now - before
            ),
            "PagerDuty's events endpoint refused or did not answer every retry (429/5xx or a timeout); the queue holds the page: read it (`aws sqs receive-message --queue-url …`), and post it again once PagerDuty answers",
        ));
    }
    match alarms.failed_deliveries(&live.topic_arn, watch.since).await {
        Ok(count) if count > watch.failed_before => Some(fail(
            format!(
                "SNS gave up delivering {} notification(s) of {} since the drill fired (AWS/SNS NumberOfNotificationsFailed){}",
                count - watch.failed_before,
                super::chain::topic_name(&live.topic_arn),
                if live.dead_letter_queue.is_some() {
                    ", and the dead-letter queue has not received them: if it stays empty, its policy does not let sns.amazonaws.com send to it (AWS/SNS NumberOfNotificationsFailedToRedriveToDlq)"
                } else {
                    ": the subscription has no dead-letter queue, so the page is lost"
                }
            ),
            "PagerDuty's events endpoint refused or did not answer every retry (429/5xx or a timeout); give the subscription a dead-letter queue (redrive_policy) so a lost page is kept and alarmed on",
        )),
        _ => None,
    }
}

fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}
