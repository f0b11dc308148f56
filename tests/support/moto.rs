//! moto's standalone server, started on 127.0.0.1 on a free port from the
//! project's venv (scripts/setup makes it), stopped on drop — through
//! `tests/moto/server.py`, which models SNS's HTTP(S) delivery (retries, the
//! dead-letter queue, the delivery metrics) where moto posts once.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
}

/// The region the tests use (the seed's).
pub const REGION: &str = "ap-northeast-1";

impl Moto {
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// `env`: extra environment for the server (e.g. `REQUESTS_CA_BUNDLE`).
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let python: PathBuf = super::root().join(".venv/bin/python");
        let server: PathBuf = super::root().join("tests/moto/server.py");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup (scripts/test does) to make the Python venv with moto",
            python.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new(python);
        command
            .arg(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(format!("/tmp/moto-{port}.log")).unwrap());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("moto_server starts");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        moto.wait_ready();
        moto
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if std::net::TcpStream::connect(self.url.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto did not start within 30 s");
    }

    /// Forget everything (`POST /moto-api/reset`).
    pub async fn reset(&self) {
        reqwest::Client::new()
            .post(format!("{}/moto-api/reset", self.url))
            .send()
            .await
            .expect("moto reset");
    }

    /// An SDK config pointing at this server with static test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }

    /// Environment for a `blueprint` process that should talk to this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.url.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Create `bucket` in moto, in [`REGION`].
pub async fn create_bucket(config: &aws_config::SdkConfig, bucket: &str) {
    blueprint::providers::aws::s3_client(config)
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(REGION.into())
                .build(),
        )
        .send()
        .await
        .unwrap();
}
