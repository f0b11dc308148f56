//! The `aws-fault-proxy` binary as `scripts/bench-apply.py` runs it: it prints
//! its address, injects the faults its flags name, forwards the rest to the
//! upstream, and reports counters.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// A stand-in upstream that answers every request with what it was sent.
async fn echo_upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app =
        axum::Router::new().fallback(|body: String| async move { format!("upstream saw {body}") });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_throttles_forwards_and_counts() {
    let upstream = echo_upstream().await;
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_aws-fault-proxy"))
            .args([
                "--upstream",
                &upstream,
                "--listen",
                "127.0.0.1:0",
                "--throttle",
                "1",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();

    let http = reqwest::Client::new();
    let send = || {
        http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-northeast-1/sns/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body("Action=ListTopics&Version=2010-03-31")
            .send()
    };
    let throttled = send().await.unwrap();
    assert_eq!(throttled.status(), 400);
    let body = throttled.text().await.unwrap();
    assert!(body.contains("<Code>Throttling</Code>"), "{body}");

    let forwarded = send().await.unwrap();
    assert_eq!(forwarded.status(), 200);
    assert_eq!(
        forwarded.text().await.unwrap(),
        "upstream saw Action=ListTopics&Version=2010-03-31"
    );

    let counters: serde_json::Value = http
        .get(format!("{url}/_fault_proxy/counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["calls"]["sns:ListTopics"], 2, "{counters}");
    assert_eq!(counters["faults"]["throttled"], 1, "{counters}");
}
