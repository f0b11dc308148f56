//! SNS's side of the page: while the drill waits for an incident, it also asks
//! whether the topic gave up delivering the notification — from the
//! subscription's dead-letter queue (a message more than before the inject is a
//! page SNS could not hand to PagerDuty: exact, the queue is this subscription's)
//! and from SNS's own count, `NumberOfNotificationsFailed`, which for HTTP(S)
//! counts "every failed delivery attempt, including retries" per topic (Amazon
//! SNS Developer Guide, CloudWatch metrics). A count proves the page lost only
//! when it covers every attempt the delivery policy allows and the PagerDuty
//! subscription is the topic's only one (else the failures may be another
//! subscriber's); short of that the drill keeps waiting. Either proof ends the
//! wait at once with what happened, instead of a silent timeout — except that
//! with a dead-letter queue a complete count first waits [`REDRIVE_GRACE`] for
//! the message to land there: SNS moves it after the last attempt fails, and
//! the count may be read before the move.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::Probes;
use super::live::{Live, topic_name};
use super::report::{Failure, fail};
use crate::providers::ProviderResult;

/// What the drill knew before it fired the chain.
pub(super) struct Watch {
    since: SystemTime,
    /// The dead-letter queue's depth before the inject, if there is one and it
    /// could be read.
    dead_letters_before: Option<u64>,
    /// SNS's failure count over the same window before the inject: CloudWatch
    /// sums by the minute, so the minute the drill starts in may hold earlier
    /// failures. None: it could not be read (the count is not used).
    failed_before: Option<u64>,
    /// Subscriptions of the topic besides PagerDuty's: their failures count too.
    others: usize,
    /// What could not be read before the inject, and why.
    blind: Vec<String>,
    /// When the failure count first covered every attempt (with a
    /// dead-letter queue: the grace for the move starts then).
    all_failed_at: Mutex<Option<Instant>>,
}

/// How long a complete failure count waits for the message to reach the
/// dead-letter queue before the drill says the queue did not get it.
const REDRIVE_GRACE: Duration = Duration::from_secs(10);

/// Attempts SNS makes to deliver one notification over HTTP(S): the first and
/// the delivery policy's `healthyRetryPolicy.numRetries` (default 3, Amazon SNS
/// message delivery retries).
pub(super) fn attempts(delivery_policy: Option<&str>) -> u64 {
    let retries = delivery_policy
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .and_then(|p| p["healthyRetryPolicy"]["numRetries"].as_u64())
        .unwrap_or(3);
    1 + retries
}

pub(super) async fn watch(probes: &Probes, live: &Live) -> Watch {
    let alarms = probes.alarms();
    let mut blind = Vec::new();
    // A read that fails is said (`blind`), not taken as nothing to see.
    let mut seen = |what: &str, read: ProviderResult<_>| match read {
        Ok(value) => Some(value),
        Err(e) => {
            blind.push(format!("{what} ({e})"));
            None
        }
    };
    let dead_letters_before = match &live.dead_letter_queue {
        Some(url) => seen(
            "the dead-letter queue's depth",
            alarms.queue_depth(url).await,
        ),
        None => None,
    };
    let since = SystemTime::now();
    let failed_before = seen(
        "SNS's NumberOfNotificationsFailed",
        alarms.failed_deliveries(&live.topic_arn, since).await,
    );
    let others = match alarms.subscriptions(&live.topic_arn).await {
        Ok(s) => s.len().saturating_sub(1),
        Err(e) => {
            blind.push(format!("the topic's subscriptions ({e})"));
            usize::MAX
        }
    };
    Watch {
        since,
        dead_letters_before,
        failed_before,
        others,
        blind,
        all_failed_at: Mutex::new(None),
    }
}

impl Watch {
    /// What the drill could not read to tell a lost page from a slow one: said
    /// beside the incident link, so a pass does not claim the delivery was watched.
    pub(super) fn blind_note(&self) -> Option<String> {
        (!self.blind.is_empty()).then(|| {
            format!(
                "SNS's delivery was not watched: could not read {}",
                self.blind.join("; ")
            )
        })
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
    let failed_before = watch.failed_before?;
    if watch.others > 0 {
        return None;
    }
    match alarms.failed_deliveries(&live.topic_arn, watch.since).await {
        Ok(count) if count >= failed_before + live.delivery_attempts => {
            if live.dead_letter_queue.is_some() && !watch.redrive_grace_over() {
                return None;
            }
            Some(fail(
                format!(
                    "SNS failed all {} attempts to deliver the notification to PagerDuty ({}: {} failed attempt(s) since the drill fired, AWS/SNS NumberOfNotificationsFailed){}",
                    live.delivery_attempts,
                    topic_name(&live.topic_arn),
                    count - failed_before,
                    if live.dead_letter_queue.is_some() {
                        ", and the dead-letter queue has not received them within 10 s: if it stays empty, its policy does not let sns.amazonaws.com send to it (AWS/SNS NumberOfNotificationsFailedToRedriveToDlq)"
                    } else {
                        ": the subscription has no dead-letter queue, so the page is lost"
                    }
                ),
                "PagerDuty's events endpoint refused or did not answer every retry (429/5xx or a timeout); give the subscription a dead-letter queue (redrive_policy) so a lost page is kept and alarmed on",
            ))
        }
        _ => None,
    }
}

impl Watch {
    /// Whether [`REDRIVE_GRACE`] has passed since the count was first complete.
    fn redrive_grace_over(&self) -> bool {
        let mut at = self.all_failed_at.lock().unwrap_or_else(|e| e.into_inner());
        at.get_or_insert_with(Instant::now).elapsed() >= REDRIVE_GRACE
    }
}

fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}
