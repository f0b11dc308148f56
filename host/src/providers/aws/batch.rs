//! Reads that many operations ask for at once, made as one call where the API
//! takes a list (DescribeAlarms takes up to 100 alarm names): the first caller
//! opens a batch and leads it; callers that come while it is still open (in
//! the same moment, while the leader waits for one of the batcher's calls in
//! flight to end, or for its API's rate turn) add their key and wait for its
//! answer. A batch closes when its call is built, so every read still starts
//! after its caller asked: nothing is answered from an older read. Few calls
//! in flight at once is what lets a batch fill: reads that arrive one by one
//! (a plan's looks, each launched when its node's identity is known) gather
//! behind the call in flight instead of each making its own.
//!
//! A leader that is dropped before it answers (its plan stopped) closes the
//! batch; whoever waited on it asks again, in a new batch.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::providers::ProviderResult;

type Answer<V> = Option<ProviderResult<Arc<V>>>;

/// One kind of batched read: keys of type `K`, one call's answer `V`.
pub struct Batcher<K, V> {
    /// How many keys one call takes.
    max: usize,
    /// Batches whose call is not built yet (a full one waits for its leader).
    open: Mutex<Vec<Open<K, V>>>,
    opened: AtomicU64,
    /// The batcher's calls in flight at once.
    calls: tokio::sync::Semaphore,
}

struct Open<K, V> {
    id: u64,
    keys: Vec<K>,
    answer: Arc<watch::Sender<Answer<V>>>,
}

enum Role<V> {
    Lead(u64, Arc<watch::Sender<Answer<V>>>),
    Follow(watch::Receiver<Answer<V>>),
}

/// What the leader's call reads: the batch's keys, taken (and the batch
/// closed) the first time it asks, the same keys on a retried attempt.
pub struct Gathered<'a, K, V> {
    batcher: &'a Batcher<K, V>,
    id: u64,
    taken: Mutex<Option<Vec<K>>>,
}

impl<K: Clone, V> Gathered<'_, K, V> {
    pub fn keys(&self) -> Vec<K> {
        let mut taken = self.taken.lock().expect("batch lock");
        taken
            .get_or_insert_with(|| self.batcher.close(self.id).unwrap_or_default())
            .clone()
    }
}

/// Closes the leader's batch however the leader ends (answered, failed or
/// dropped), so no one joins a batch no call will answer.
struct Closing<'a, K, V> {
    batcher: &'a Batcher<K, V>,
    id: u64,
}

impl<K, V> Drop for Closing<'_, K, V> {
    fn drop(&mut self) {
        self.batcher.close(self.id);
    }
}

impl<K, V> Batcher<K, V> {
    /// Calls take up to `max` keys; `in_flight` calls run at once.
    pub fn new(max: usize, in_flight: usize) -> Self {
        Batcher {
            max: max.max(1),
            open: Mutex::new(Vec::new()),
            opened: AtomicU64::new(0),
            calls: tokio::sync::Semaphore::new(in_flight.max(1)),
        }
    }

    /// Close batch `id` if it is still open; its keys.
    fn close(&self, id: u64) -> Option<Vec<K>> {
        let mut open = self.open.lock().expect("batch lock");
        let at = open.iter().position(|b| b.id == id)?;
        Some(open.swap_remove(at).keys)
    }

    /// Add `key` to an open batch with room, or open one and lead it.
    fn join(&self, key: K) -> Role<V> {
        let mut open = self.open.lock().expect("batch lock");
        if let Some(batch) = open.iter_mut().find(|b| b.keys.len() < self.max) {
            batch.keys.push(key);
            return Role::Follow(batch.answer.subscribe());
        }
        let id = self.opened.fetch_add(1, Ordering::Relaxed);
        let answer = Arc::new(watch::channel(None).0);
        open.push(Open {
            id,
            keys: vec![key],
            answer: answer.clone(),
        });
        Role::Lead(id, answer)
    }
}

impl<K: Clone, V> Batcher<K, V> {
    /// The answer of the call that read `key`: `fetch` makes that call,
    /// reading [`Gathered::keys`] when it builds its request.
    /// A waiting caller's error names its own `address` too.
    pub async fn read<'a, F, Fut>(
        &'a self,
        key: K,
        address: &str,
        fetch: F,
    ) -> ProviderResult<Arc<V>>
    where
        F: FnOnce(Gathered<'a, K, V>) -> Fut,
        Fut: Future<Output = ProviderResult<V>>,
    {
        loop {
            let (id, answer) = match self.join(key.clone()) {
                Role::Lead(id, answer) => (id, answer),
                Role::Follow(mut waiting) => {
                    let waited = crate::timings::timed(
                        "wait",
                        || "waiting for a batched read".to_owned(),
                        crate::slots::idle(async {
                            // The answer is cloned before the next await: the
                            // channel's read guard is not held across one.
                            waiting
                                .wait_for(Option::is_some)
                                .await
                                .map(|done| done.clone())
                        }),
                    )
                    .await;
                    match waited {
                        Ok(Some(Ok(done))) => return Ok(done),
                        Ok(Some(Err(e))) => {
                            let mut e = e;
                            if !e.message.starts_with(address) {
                                e.message =
                                    format!("{address}: read in the same call: {}", e.message);
                            }
                            return Err(e);
                        }
                        // Its leader stopped before it answered: ask again.
                        _ => continue,
                    }
                }
            };
            let _closing = Closing { batcher: self, id };
            // Callers of this same moment join before the call is built, and
            // while the calls in flight are at their limit, whoever comes.
            tokio::task::yield_now().await;
            let _turn = match self.calls.try_acquire() {
                Ok(turn) => turn,
                Err(_) => crate::timings::timed(
                    "wait",
                    || "waiting for a batched read's turn".to_owned(),
                    crate::slots::idle(self.calls.acquire()),
                )
                .await
                .expect("the semaphore is never closed"),
            };
            let gathered = Gathered {
                batcher: self,
                id,
                taken: Mutex::new(None),
            };
            let result = fetch(gathered).await.map(Arc::new);
            answer.send_replace(Some(result.clone()));
            return result;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{ErrorClass, ProviderError};
    use std::sync::atomic::AtomicUsize;

    /// A fetch that records each call's keys and answers them, sorted.
    async fn answer(
        calls: &Mutex<Vec<Vec<u32>>>,
        gathered: Gathered<'_, u32, Vec<u32>>,
    ) -> ProviderResult<Vec<u32>> {
        let mut keys = gathered.keys();
        keys.sort();
        calls.lock().unwrap().push(keys.clone());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        Ok(keys)
    }

    #[tokio::test]
    async fn reads_asked_at_once_are_one_call() {
        let batcher = Batcher::new(100, 2);
        let calls = Mutex::new(Vec::new());
        let reads = (0..5).map(|k| batcher.read(k, "x", |g| answer(&calls, g)));
        let answers = futures::future::join_all(reads).await;
        assert_eq!(*calls.lock().unwrap(), [vec![0, 1, 2, 3, 4]]);
        for a in answers {
            assert_eq!(*a.unwrap(), [0, 1, 2, 3, 4]);
        }
        // A read asked after that call was built is a call of its own.
        batcher.read(9, "x", |g| answer(&calls, g)).await.unwrap();
        assert_eq!(calls.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn reads_that_come_while_the_calls_are_out_gather_into_one() {
        let batcher = Batcher::new(100, 1);
        let calls = Mutex::new(Vec::new());
        // The first call stays out until the later reads have all joined the
        // next batch: ordered by signals, not by sleeps a busy machine stretches.
        let (first_out, first_is_out) = watch::channel(false);
        let gate = tokio::sync::Semaphore::new(0);
        let fetch = |g: Gathered<'_, u32, Vec<u32>>| {
            let keys = g.keys();
            calls.lock().unwrap().push(keys.clone());
            let first = keys == [0];
            let (first_out, gate) = (&first_out, &gate);
            async move {
                if first {
                    first_out.send_replace(true);
                    let _open = gate.acquire().await.unwrap();
                }
                Ok(keys)
            }
        };
        let read = |k: u32| {
            let (batcher, mut first_is_out) = (&batcher, first_is_out.clone());
            async move {
                if k > 0 {
                    // Then one by one, not in the same moment.
                    first_is_out.wait_for(|out| *out).await.unwrap();
                    for _ in 0..k * 3 {
                        tokio::task::yield_now().await;
                    }
                }
                batcher.read(k, "x", fetch).await.unwrap()
            }
        };
        let open_gate = async {
            let mut first_is_out = first_is_out.clone();
            first_is_out.wait_for(|out| *out).await.unwrap();
            let waiting = || batcher.open.lock().unwrap().first().map(|b| b.keys.len());
            // Bounded: a batcher that did not gather fails the asserts below.
            for _ in 0..10_000 {
                if waiting() == Some(4) {
                    break;
                }
                tokio::task::yield_now().await;
            }
            gate.add_permits(1);
        };
        let (answers, ()) = tokio::join!(futures::future::join_all((0..5).map(read)), open_gate);
        assert_eq!(*answers[0], [0]);
        for a in &answers[1..] {
            let mut keys = (**a).clone();
            keys.sort();
            assert_eq!(keys, [1, 2, 3, 4]);
        }
        assert_eq!(calls.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_call_takes_at_most_its_maximum() {
        let batcher = Batcher::new(2, 2);
        let calls = Mutex::new(Vec::new());
        let reads = (0..5).map(|k| batcher.read(k, "x", |g| answer(&calls, g)));
        futures::future::join_all(reads).await;
        let mut calls = calls.into_inner().unwrap();
        calls.sort();
        assert_eq!(calls, [vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[tokio::test]
    async fn a_failed_call_fails_every_read_in_it_naming_each() {
        let batcher: Batcher<u32, ()> = Batcher::new(10, 2);
        let fail = |_g: Gathered<'_, u32, ()>| async {
            Err(ProviderError::new(ErrorClass::Transient, "a: throttled"))
        };
        let (a, b) = tokio::join!(batcher.read(1, "a", fail), batcher.read(2, "b", fail));
        assert_eq!(a.unwrap_err().message, "a: throttled");
        assert_eq!(
            b.unwrap_err().message,
            "b: read in the same call: a: throttled"
        );
    }

    #[tokio::test]
    async fn when_the_leader_stops_the_others_ask_again() {
        let batcher = Arc::new(Batcher::<u32, Vec<u32>>::new(10, 2));
        let leads = Arc::new(AtomicUsize::new(0));
        let never = {
            let (batcher, leads) = (batcher.clone(), leads.clone());
            tokio::spawn(async move {
                batcher
                    .read(1, "a", |_g| async move {
                        leads.fetch_add(1, Ordering::SeqCst);
                        std::future::pending::<ProviderResult<Vec<u32>>>().await
                    })
                    .await
            })
        };
        // The follower joins the first batch while its leader is still open.
        while leads.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let calls = Mutex::new(Vec::new());
        let follower = batcher.read(2, "b", |g| answer(&calls, g));
        let stop = async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            never.abort();
        };
        let (answered, ()) = tokio::join!(follower, stop);
        assert_eq!(*answered.unwrap(), [2]);
    }
}
