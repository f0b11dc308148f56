//! One PagerDuty rate budget per API token per process, shared by every client
//! (and so every blueprint of a `run` over many files): requests wait for budget
//! instead of drawing 429s. The budget follows what PagerDuty reports on each
//! response (`ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset`). The first
//! request goes alone, to learn the limit; if PagerDuty sends no such headers, the
//! budget assumes its documented 960 requests per minute. When the first request
//! gets no answer, the requests waiting on it fail with its error instead of
//! each being sent to wait out the same timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::ApiError;

/// PagerDuty's REST limit for an account API key.
const DEFAULT_LIMIT: u32 = 960;
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// Arrive just after the server's window has turned, not just before.
const MARGIN: Duration = Duration::from_millis(50);
/// How often a waiting request looks again.
const RECHECK: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Budget {
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    limit: u32,
    /// Requests this process may still send before `resets_at`.
    remaining: u32,
    resets_at: Instant,
    /// Bumped at every local reset: reports about an older window are stale.
    epoch: u64,
    /// Requests that waited for budget.
    waits: u64,
    /// Whether a response has told us the limit yet (or that there is none).
    known: bool,
    /// The first request is in flight.
    probing: bool,
    /// Which first request: a waiter fails only with the one it waited on.
    probe: u64,
    /// A first request that got no answer, and its error.
    failed_probe: Option<(u64, ApiError)>,
}

/// A permission to send one request, tagged with the window it was drawn from.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    /// This request is the first one (learning the limit).
    probe: Option<u64>,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            state: Mutex::new(Window {
                limit: DEFAULT_LIMIT,
                remaining: DEFAULT_LIMIT,
                resets_at: Instant::now() + DEFAULT_WINDOW,
                epoch: 0,
                waits: 0,
                known: false,
                probing: false,
                probe: 0,
                failed_probe: None,
            }),
        }
    }

    /// The budget of this token (its digest: the token itself is not kept here).
    pub fn for_token(base: &str, token: &str) -> Arc<Budget> {
        static BUDGETS: OnceLock<Mutex<HashMap<Vec<u8>, Arc<Budget>>>> = OnceLock::new();
        let key = Sha256::digest(format!("{base}\n{token}")).to_vec();
        BUDGETS
            .get_or_init(Default::default)
            .lock()
            .expect("budgets lock")
            .entry(key)
            .or_insert_with(|| Arc::new(Budget::new()))
            .clone()
    }

    /// Wait until a request may be sent; the first request's error when it got
    /// no answer while this one waited for it (this one is then not sent).
    pub async fn acquire(&self) -> Result<Ticket, ApiError> {
        let mut waited_on = None;
        loop {
            let wait = {
                let mut w = self.state.lock().expect("budget lock");
                if let (Some(probe), Some((failed, error))) = (waited_on, &w.failed_probe)
                    && probe == *failed
                {
                    let mut error = error.clone();
                    error.ambiguous = false;
                    error
                        .message
                        .push_str(" (the first request got no answer; this one was not sent)");
                    return Err(error);
                }
                let now = Instant::now();
                if !w.known {
                    if !w.probing {
                        w.probing = true;
                        w.remaining = w.remaining.saturating_sub(1);
                        return Ok(Ticket {
                            epoch: w.epoch,
                            probe: Some(w.probe),
                        });
                    }
                    waited_on = Some(w.probe);
                    Duration::from_millis(10)
                } else if now >= w.resets_at {
                    w.remaining = w.limit;
                    w.resets_at = now + DEFAULT_WINDOW;
                    w.epoch += 1;
                    w.remaining -= 1;
                    return Ok(Ticket {
                        epoch: w.epoch,
                        probe: None,
                    });
                } else if w.remaining > 0 {
                    w.remaining -= 1;
                    return Ok(Ticket {
                        epoch: w.epoch,
                        probe: None,
                    });
                } else {
                    w.waits += 1;
                    w.resets_at - now
                }
            };
            // In slices: a response may move the reset while we wait.
            crate::slots::pause(wait.min(RECHECK)).await;
        }
    }

    /// The request got no answer. If it was the first, the requests waiting on
    /// it fail with its error, and the next request to come is the first again.
    pub fn no_answer(&self, ticket: Ticket, error: &ApiError) {
        let Some(probe) = ticket.probe else { return };
        let mut w = self.state.lock().expect("budget lock");
        w.failed_probe = Some((probe, error.clone()));
        w.probe += 1;
        w.probing = false;
    }

    /// What the server said (its `ratelimit-*` headers, if any) about the window
    /// the ticket's request counted in. Called after every request.
    pub fn observe(&self, ticket: Ticket, reported: Option<(u32, u32, Duration)>) {
        let mut w = self.state.lock().expect("budget lock");
        w.known = true;
        w.probing = false;
        let Some((limit, remaining, reset)) = reported else {
            return;
        };
        if ticket.epoch != w.epoch {
            return;
        }
        w.limit = limit.max(1);
        // The server has not yet counted requests still in flight: never raise.
        w.remaining = w.remaining.min(remaining);
        w.resets_at = Instant::now() + reset + MARGIN;
    }

    /// Requests that had to wait for budget so far.
    pub fn waits(&self) -> u64 {
        self.state.lock().expect("budget lock").waits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_window_the_server_reports() {
        let budget = Budget::new();
        let t = budget.acquire().await.unwrap();
        // The server allows 3 per window, 2 left, turning in 200 ms.
        budget.observe(t, Some((3, 2, Duration::from_millis(200))));
        budget.acquire().await.unwrap();
        budget.acquire().await.unwrap();
        let started = Instant::now();
        let t = budget.acquire().await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "waited for the reset"
        );
        assert!(budget.waits() >= 1);
        // A late report about the old window does not drain the new one.
        budget.observe(
            Ticket {
                epoch: 0,
                probe: None,
            },
            Some((3, 0, Duration::from_secs(10))),
        );
        let started = Instant::now();
        budget.acquire().await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(100));
        let _ = t;
    }

    #[tokio::test]
    async fn the_first_request_goes_alone() {
        let budget = std::sync::Arc::new(Budget::new());
        let first = budget.acquire().await.unwrap();
        let second = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "waits for the first answer");
        budget.observe(first, None);
        tokio::time::timeout(Duration::from_secs(1), second)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_first_request_with_no_answer_fails_its_waiters_unsent() {
        let budget = std::sync::Arc::new(Budget::new());
        let first = budget.acquire().await.unwrap();
        let second = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let error = ApiError {
            status: None,
            message: "GET /users within 2 s".into(),
            retry_after: None,
            ambiguous: true,
            transport: Some(super::super::client::Transport::Timeout),
            local: false,
        };
        budget.no_answer(first, &error);
        let failed = tokio::time::timeout(Duration::from_secs(1), second)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert!(
            failed.message.contains("this one was not sent"),
            "{}",
            failed.message
        );
        assert!(!failed.ambiguous, "it was never sent");
        // The next request is a first request again.
        let next = budget.acquire().await.unwrap();
        assert!(next.probe.is_some());
    }

    #[test]
    fn one_budget_per_token() {
        let a = Budget::for_token("https://api.pagerduty.com", "t1");
        let b = Budget::for_token("https://api.pagerduty.com", "t1");
        let c = Budget::for_token("https://api.pagerduty.com", "t2");
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
    }
}
