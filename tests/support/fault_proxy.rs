//! The AWS fault proxy (tests/aws-fault-proxy) in front of a moto server, and an
//! SDK config pointed at it.

use std::time::Duration;

// Re-exported for the tests that use them; every test crate compiles support/.
#[allow(unused_imports)]
pub use aws_fault_proxy::{FaultProxy, Faults, fault};

use super::moto::{Moto, REGION};

/// A proxy before `moto` injecting `faults`.
pub async fn start(moto: &Moto, faults: Faults) -> FaultProxy {
    FaultProxy::start(&moto.url, "127.0.0.1:0".parse().unwrap(), faults)
        .await
        .expect("the fault proxy starts")
}

/// An SDK config pointed at the proxy. The SDK's own retries are kept (as users
/// have them) but with short delays, so tests are quick.
pub async fn sdk_config(proxy: &FaultProxy) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(proxy.url())
        .region(aws_config::Region::new(REGION))
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}
