//! Every API call is bounded in time, the same way for every provider. An
//! endpoint that accepts the connection and never answers (a black-holed proxy,
//! a broken VPC endpoint) must end the command, and a host that cannot be
//! reached at all must say why, quickly:
//!
//! - one attempt of a call gets [`call_timeout`] (`BLUEPRINT_CALL_TIMEOUT`
//!   seconds, default 20). One that runs out is not tried again: the command
//!   ends naming the service and its endpoint. It may have been carried out,
//!   and another try would only wait as long again.
//! - connecting gets [`CONNECT_TIMEOUT`]. A host that cannot be reached (no
//!   DNS answer, connection refused, TLS failure, connect timeout) is tried
//!   again for at most [`UNREACHABLE_FOR`], then the command ends with the
//!   cause.
//! - an attempt still waiting after [`NOTICE_AFTER`] says so on stderr.
//!
//! One retry layer: the host's (`retry.rs`). The AWS SDK's own retries are off
//! for the providers' clients.

use std::future::Future;
use std::time::{Duration, Instant};

use super::retry::Verdict;

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an unreachable host is tried again before the command gives up.
pub const UNREACHABLE_FOR: Duration = Duration::from_secs(10);

/// How often an unreachable host is tried again within [`UNREACHABLE_FOR`]
/// (a steady second, not the growing backoff, so the window is kept).
pub const UNREACHABLE_EVERY: Duration = Duration::from_secs(1);

/// What to do after a try found the host unreachable, the call's first try
/// having started at `started`: again in a second, until [`UNREACHABLE_FOR`].
pub fn when_unreachable(started: Instant) -> Verdict {
    if started.elapsed() + UNREACHABLE_EVERY > UNREACHABLE_FOR {
        Verdict::Stop
    } else {
        Verdict::RetryAfter(UNREACHABLE_EVERY)
    }
}

/// When a call that has not answered is reported as waiting.
pub const NOTICE_AFTER: Duration = Duration::from_secs(5);

/// Default of [`call_timeout`].
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The limit on one attempt of one API call: `BLUEPRINT_CALL_TIMEOUT` (seconds,
/// 1 to 600), else 20 s. A value that is not a number in that range is
/// ignored (with a warning), not taken as "no limit". Read once per process:
/// every client and every message uses the same limit.
pub fn call_timeout() -> Duration {
    static LIMIT: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let Ok(text) = std::env::var("BLUEPRINT_CALL_TIMEOUT") else {
            return DEFAULT_CALL_TIMEOUT;
        };
        match text.trim().parse::<f64>() {
            Ok(secs) if (1.0..=600.0).contains(&secs) => Duration::from_secs_f64(secs),
            _ => {
                tracing::warn!(
                    "BLUEPRINT_CALL_TIMEOUT={text:?} is not a number of seconds from 1 to 600; using {} s",
                    DEFAULT_CALL_TIMEOUT.as_secs()
                );
                DEFAULT_CALL_TIMEOUT
            }
        }
    })
}

/// Await `call`; once it has waited [`NOTICE_AFTER`], say on stderr what it
/// waits for (`what`, built only then), and keep waiting.
pub async fn noticed<F: Future>(what: impl FnOnce() -> String, call: F) -> F::Output {
    noticed_after(NOTICE_AFTER, what, call).await
}

async fn noticed_after<F: Future>(
    after: Duration,
    what: impl FnOnce() -> String,
    call: F,
) -> F::Output {
    let mut call = std::pin::pin!(call);
    tokio::select! {
        out = &mut call => return out,
        _ = tokio::time::sleep(after) => {}
    }
    let what = what();
    tracing::warn!(
        "still waiting after {} s for {what} (each call may take up to {} s: BLUEPRINT_CALL_TIMEOUT)",
        after.as_secs(),
        call_timeout().as_secs()
    );
    call.await
}

/// The error, then each of its causes: the cause (the name did not resolve,
/// the connection was refused, the certificate was not trusted) is usually
/// several sources down.
pub use blueprint_model::text::with_causes as error_chain;

#[cfg(test)]
mod tests {
    use super::*;

    const AFTER: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn a_slow_call_is_still_awaited_after_the_notice() {
        let slow = async {
            tokio::time::sleep(AFTER * 3).await;
            7
        };
        let mut built = false;
        let out = noticed_after(
            AFTER,
            || {
                built = true;
                "x".into()
            },
            slow,
        )
        .await;
        assert_eq!(out, 7);
        assert!(built, "the notice is made once the call has waited");
    }

    #[tokio::test]
    async fn a_quick_call_says_nothing() {
        let mut built = false;
        let out = noticed_after(
            AFTER,
            || {
                built = true;
                "x".into()
            },
            async { 3 },
        )
        .await;
        assert_eq!(out, 3);
        assert!(!built);
    }
}
