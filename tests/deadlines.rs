//! Every API call is bounded in time (`host/src/providers/deadline.rs`): the
//! seed's `plan` against an endpoint that accepts connections and never
//! answers, and against one that refuses them, for AWS and for PagerDuty. Each
//! must exit 1 in bounded time with one message that names the service, the
//! endpoint and the cause; a call still waiting after 5 s says so meanwhile.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support;

use support::world::{SEED, World, text};

/// A listener on 127.0.0.1 that accepts every connection and never reads or
/// writes: what a black-holed proxy looks like to a client. It stops when
/// dropped, and after two minutes whatever happens.
struct BlackHole {
    url: String,
    stop: Arc<AtomicBool>,
}

impl BlackHole {
    fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopping.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120)
            {
                if let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        BlackHole { url, stop }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A loopback port nothing listens on: connections are refused.
fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// `blueprint plan SEED` in the world, with these variables over its own;
/// the output and how long it took.
async fn plan(w: &World, env: &[(&str, &str)]) -> (std::process::Output, Duration) {
    let mut command = w.command(&["plan", SEED]);
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || command.output().expect("blueprint runs"))
        .await
        .unwrap();
    (out, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_endpoint_that_never_answers_ends_the_plan_naming_it() {
    let w = World::new().await;
    let hole = BlackHole::start();
    let (out, took) = plan(
        &w,
        &[
            ("AWS_ENDPOINT_URL", &hole.url),
            ("BLUEPRINT_CALL_TIMEOUT", "7"),
        ],
    )
    .await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(took < Duration::from_secs(45), "took {took:?}: {said}");
    assert!(
        said.contains("did not answer within 7 s") && said.contains(&hole.url),
        "names the limit and the endpoint: {said}"
    );
    assert!(said.contains("AWS STS"), "names the service: {said}");
    assert!(
        said.contains("still waiting after 5 s for AWS"),
        "says what it waits for meanwhile: {said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pagerduty_endpoint_that_never_answers_ends_the_plan_naming_it() {
    let w = World::new().await;
    let hole = BlackHole::start();
    let (out, took) = plan(
        &w,
        &[
            ("PAGERDUTY_API_URL", &hole.url),
            ("BLUEPRINT_CALL_TIMEOUT", "4"),
        ],
    )
    .await;
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    // One timeout, not two: the requests waiting on the first one (which learns
    // the rate limit) fail with its error instead of each waiting it out.
    assert!(took < Duration::from_secs(7), "took {took:?}: {said}");
    eprintln!("black-holed PagerDuty: plan ended in {took:?}");
    assert!(
        said.contains("PagerDuty did not answer")
            && said.contains("within 4 s")
            && said.contains(&hole.url),
        "names the service, the limit and the endpoint: {said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_hosts_fail_within_15_s_with_the_cause() {
    let w = World::new().await;
    let refused = refused_url();
    for (variable, service) in [
        ("AWS_ENDPOINT_URL", "AWS"),
        ("PAGERDUTY_API_URL", "PagerDuty"),
    ] {
        let (out, took) = plan(&w, &[(variable, &refused)]).await;
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{variable}: {said}");
        assert!(
            took < Duration::from_secs(15),
            "{variable}: took {took:?}: {said}"
        );
        assert!(
            said.contains(service) && said.contains("cannot be reached") && said.contains(&refused),
            "{variable}: names the service and the endpoint: {said}"
        );
        assert!(
            said.to_lowercase().contains("connection refused"),
            "{variable}: names the cause: {said}"
        );
    }
}
