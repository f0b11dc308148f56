//! The one retry loop every provider uses: jittered exponential backoff (backon's
//! schedule), a server's own "retry after" honoured, a bound on total time, and
//! errors that retrying cannot fix returned at once.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

/// What to do with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Final: return it.
    Stop,
    /// Try again after the next backoff delay.
    Retry,
    /// Try again, but not before this (a 429's `ratelimit-reset`, `Retry-After`).
    RetryAfter(Duration),
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Give up once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Policy {
    /// Throttling, 5xx and network errors.
    pub const TRANSIENT: Policy = Policy {
        min_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(20),
        max_elapsed: Duration::from_secs(120),
    };
    /// Eventual consistency right after a create (404 on read, IAM propagation).
    pub const PROPAGATION: Policy = Policy {
        min_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(5),
        max_elapsed: Duration::from_secs(60),
    };

    /// Deletes refused because something still uses the resource, for as long
    /// as the user's deletes take to land: a PagerDuty schedule or escalation
    /// policy right after what used it went, a team member while a policy of
    /// the team reaches them, IAM `DeleteConflict` just after a detach. Long
    /// enough for a destroy to finish in one run, bounded so a real conflict
    /// (something outside the blueprint using it) still ends in an error.
    pub const IN_USE: Policy = Policy {
        min_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(8),
        max_elapsed: Duration::from_secs(120),
    };

    /// For tests: the same shape, fast.
    pub fn quick(max_elapsed: Duration) -> Policy {
        Policy {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_elapsed,
        }
    }
}

/// Run `op` until it succeeds, `classify` says stop, or the policy's time is up
/// (then the last error is returned). `what` names the operation in the log.
pub async fn retry<T, E, F, Fut>(
    what: &str,
    policy: Policy,
    mut op: F,
    classify: impl Fn(&E) -> Verdict,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let mut delays = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .without_max_times()
        .build();
    let mut attempt = 1u32;
    loop {
        let error = match op().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let backoff = delays.next().unwrap_or(policy.max_delay);
        let delay = match classify(&error) {
            Verdict::Stop => return Err(error),
            Verdict::Retry => backoff,
            Verdict::RetryAfter(at_least) => at_least.max(policy.min_delay),
        };
        if started.elapsed() + delay > policy.max_elapsed {
            tracing::debug!(what, attempt, "giving up: {error}");
            return Err(error);
        }
        tracing::info!(what, attempt, ?delay, "retrying: {error}");
        crate::slots::pause(delay).await;
        attempt += 1;
    }
}

/// A delete retried within [`Policy::IN_USE`] while the service answers that
/// the resource is still in use (`in_use`); any other error is returned at
/// once. The one place every provider's "still in use" retries go through.
pub async fn while_in_use<T, E, F, Fut>(
    what: &str,
    op: F,
    in_use: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    retry(what, Policy::IN_USE, op, |e| {
        if in_use(e) {
            Verdict::Retry
        } else {
            Verdict::Stop
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, String> = retry(
            "test",
            Policy::quick(Duration::from_secs(5)),
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 3 { Err("busy".into()) } else { Ok(n) }
            },
            |_| Verdict::Retry,
        )
        .await;
        assert_eq!(result, Ok(3));
    }

    #[tokio::test]
    async fn stop_returns_at_once() {
        let calls = AtomicU32::new(0);
        let result: Result<(), String> = retry(
            "test",
            Policy::quick(Duration::from_secs(5)),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("invalid".into())
            },
            |_| Verdict::Stop,
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_the_time_bound() {
        let started = Instant::now();
        let result: Result<(), String> = retry(
            "test",
            Policy::quick(Duration::from_millis(200)),
            || async { Err("down".into()) },
            |_| Verdict::Retry,
        )
        .await;
        assert!(result.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn retry_after_is_honoured() {
        let started = Instant::now();
        let calls = AtomicU32::new(0);
        let _: Result<(), String> = retry(
            "test",
            Policy::quick(Duration::from_secs(5)),
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err("429".into())
                } else {
                    Ok(())
                }
            },
            |_| Verdict::RetryAfter(Duration::from_millis(300)),
        )
        .await;
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
