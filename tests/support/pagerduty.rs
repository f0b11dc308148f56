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
