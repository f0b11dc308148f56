//! The PagerDuty emulator, in-process, and a provider pointed at it.

use std::time::Duration;

use blueprint::providers::pagerduty::{PagerDutyConfig, PagerDutyProvider};
use blueprint::providers::retry::Policy;
use pagerduty_emulator::{Config, Emulator};

pub const TOKEN: &str = "emulator-token-3f9a";

pub async fn emulator(config: Config) -> Emulator {
    let config = Config {
        token: TOKEN.into(),
        ..config
    };
    Emulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("the emulator starts")
}

pub fn provider_for(emulator: &Emulator) -> PagerDutyProvider {
    provider_with_token(emulator, TOKEN)
}

pub fn provider_with_token(emulator: &Emulator, token: &str) -> PagerDutyProvider {
    PagerDutyProvider::with_config(&PagerDutyConfig {
        token: token.into(),
        api_url: emulator.base_url(),
        events_url: emulator.base_url(),
        // A user the emulator's account has, for the calls needing `From`.
        from_email: Some("user1@example.com".into()),
    })
    .unwrap()
    .with_policies(
        Policy::quick(Duration::from_secs(10)),
        Policy::quick(Duration::from_secs(2)),
    )
}

/// One webhook POST a [`webhook_receiver`] got: its signature header and body.
#[derive(Debug, Clone)]
pub struct WebhookPost {
    pub signature: String,
    pub subscription: String,
    pub body: String,
}

impl WebhookPost {
    pub fn event(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a webhook body is JSON")
    }

    /// Whether `X-PagerDuty-Signature` is `v1=<hex HMAC-SHA256(secret, body)>`,
    /// computed here from SHA-256 alone (RFC 2104), not with the emulator's code.
    pub fn signed_with(&self, secret: &str) -> bool {
        use sha2::{Digest, Sha256};
        let mut key = secret.as_bytes().to_vec();
        if key.len() > 64 {
            key = Sha256::digest(&key).to_vec();
        }
        key.resize(64, 0);
        let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(self.body.as_bytes())
            .finalize();
        let outer = Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize();
        let hex: String = outer.iter().map(|b| format!("{b:02x}")).collect();
        self.signature == format!("v1={hex}")
    }
}

pub type WebhookPosts = std::sync::Arc<std::sync::Mutex<Vec<WebhookPost>>>;

/// A local endpoint that records the webhooks it is sent (answers 202).
pub async fn webhook_receiver() -> (String, WebhookPosts) {
    let seen = WebhookPosts::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/pagerduty", listener.local_addr().unwrap());
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
        let record = record.clone();
        async move {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            record.lock().unwrap().push(WebhookPost {
                signature: header("x-pagerduty-signature"),
                subscription: header("x-webhook-subscription"),
                body,
            });
            axum::http::StatusCode::ACCEPTED
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

/// Wait up to 10 s for a webhook of `event_type`.
pub async fn webhook_of(posts: &WebhookPosts, event_type: &str) -> Option<WebhookPost> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = posts
            .lock()
            .unwrap()
            .iter()
            .find(|p| p.event()["event"]["event_type"] == event_type)
            .cloned();
        if found.is_some() || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
