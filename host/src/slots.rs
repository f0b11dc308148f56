//! Parallelism slots: at most N operations of an apply *working* at once.
//!
//! The scheduler takes a slot before it starts a task, and the task holds it
//! while it calls APIs. A wait that is not work — a lock that keeps one API to
//! one call at a time, a rate budget, a backoff or settle pause, a poll for
//! confirmation — lends the slot back for its length ([`idle`], [`pause`]), so
//! another ready task runs meanwhile instead of the slot sleeping. The plan's
//! reads hold slots the same way. Outside both (a drill) there is no slot and
//! both are plain waits.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// `--parallelism`: a number, or `auto` (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    /// At most N operations working at once, whatever they call (Terraform's
    /// `-parallelism`).
    Fixed(usize),
    /// The providers' budgets decide: each AWS API within its documented rate
    /// (`providers/aws/rates.rs`), PagerDuty within its token's rate limit
    /// (as always), and at most [`AUTO_SLOTS`] operations working at once.
    Auto,
}

/// Under `--parallelism auto`, the operations working at once: enough that
/// the rate budgets, not the slots, decide; few enough for one HTTP
/// connection pool per service.
pub const AUTO_SLOTS: usize = 32;

impl Parallelism {
    /// Operations working at once.
    pub fn slots(self) -> usize {
        match self {
            Parallelism::Fixed(n) => n.max(1),
            Parallelism::Auto => AUTO_SLOTS,
        }
    }

    /// Whether calls keep to each API's documented rate.
    pub fn paced(self) -> bool {
        self == Parallelism::Auto
    }
}

impl std::str::FromStr for Parallelism {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Parallelism::Auto),
            n => match n.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Parallelism::Fixed(n)),
                _ => Err(format!(
                    "'{n}' is neither `auto` nor a whole number of at least 1"
                )),
            },
        }
    }
}

impl std::fmt::Display for Parallelism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Parallelism::Fixed(n) => write!(f, "{n}"),
            Parallelism::Auto => f.write_str("auto"),
        }
    }
}

/// The slots of one apply.
#[derive(Clone)]
pub struct Slots(Arc<Semaphore>);

/// One task's slot (given back while it is [`idle`]).
pub struct Slot {
    slots: Slots,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl Slots {
    pub fn new(count: usize) -> Slots {
        Slots(Arc::new(Semaphore::new(count.max(1))))
    }

    /// Wait for a free slot (first come, first served: tasks coming back from
    /// a wait queue with the scheduler).
    pub async fn take(&self) -> Slot {
        let permit = self.0.clone().acquire_owned().await;
        Slot {
            slots: self.clone(),
            permit: Mutex::new(Some(permit.expect("slots are never closed"))),
        }
    }

    /// A free slot now, if there is one.
    pub fn try_take(&self) -> Option<Slot> {
        let permit = self.0.clone().try_acquire_owned().ok()?;
        Some(Slot {
            slots: self.clone(),
            permit: Mutex::new(Some(permit)),
        })
    }

    /// Slots no task holds now.
    pub fn free(&self) -> usize {
        self.0.available_permits()
    }
}

tokio::task_local! {
    static HELD: Arc<Slot>;
}

/// Run `work` holding `slot`; the slot is freed when `work` ends.
pub fn holding<F: Future>(slot: Slot, work: F) -> impl Future<Output = F::Output> {
    HELD.scope(Arc::new(slot), work)
}

/// Await `wait` with the current task's slot lent back, and take a slot again
/// before going on (the time that takes is traced as a wait for a slot).
pub async fn idle<F: Future>(wait: F) -> F::Output {
    let Ok(held) = HELD.try_with(Arc::clone) else {
        return wait.await;
    };
    let lent = held.permit.lock().expect("slot lock").take();
    let Some(lent) = lent else {
        // Already lent by an enclosing wait.
        return wait.await;
    };
    drop(lent);
    let out = wait.await;
    let from = Instant::now();
    let again = held.slots.0.clone().acquire_owned().await;
    *held.permit.lock().expect("slot lock") = Some(again.expect("slots are never closed"));
    let waited = from.elapsed();
    if crate::timings::enabled() && waited > Duration::from_millis(1) {
        crate::timings::span(
            &crate::timings::current_track(),
            "waiting for a parallelism slot",
            "wait",
            from,
            Instant::now(),
            serde_json::Value::Null,
        );
    }
    out
}

/// Sleep with the slot lent back.
pub async fn pause(length: Duration) {
    idle(tokio::time::sleep(length)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_task_lends_its_slot_and_takes_one_back() {
        let slots = Slots::new(1);
        let first = slots.take().await;
        assert_eq!(slots.free(), 0);
        let (lent_tx, lent_rx) = tokio::sync::oneshot::channel::<()>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let waiting = tokio::spawn(holding(first, async move {
            idle(async move {
                lent_tx.send(()).unwrap();
                go_rx.await.unwrap();
            })
            .await;
            // Working again: it holds the slot.
        }));
        lent_rx.await.unwrap();
        // While the first task waits, a second takes the only slot.
        let second = tokio::time::timeout(Duration::from_secs(5), slots.take())
            .await
            .expect("the waiting task lent its slot");
        go_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "it waits for a slot to work again");
        drop(second);
        waiting.await.unwrap();
        assert_eq!(slots.free(), 1, "a finished task frees its slot");
    }

    #[test]
    fn parallelism_is_a_number_or_auto() {
        assert_eq!("auto".parse(), Ok(Parallelism::Auto));
        assert_eq!("7".parse(), Ok(Parallelism::Fixed(7)));
        assert!("0".parse::<Parallelism>().is_err());
        assert!("many".parse::<Parallelism>().is_err());
        assert_eq!(Parallelism::Auto.slots(), AUTO_SLOTS);
        assert!(!Parallelism::Fixed(10).paced());
    }

    #[tokio::test]
    async fn outside_a_task_idle_is_a_plain_wait() {
        assert_eq!(idle(async { 7 }).await, 7);
    }
}
