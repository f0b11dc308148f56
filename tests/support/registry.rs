//! The CNCF distribution registry (Debian's `docker-registry`, which
//! `scripts/setup` installs), started on 127.0.0.1 on a free port with a
//! filesystem store in a temporary folder, stopped on drop. Tests reach into that
//! store to tamper with blobs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`: what references start with.
    pub host: String,
    store: tempfile::TempDir,
}

/// Where Debian installs it; else whatever `PATH` finds.
fn binary() -> PathBuf {
    let debian = Path::new("/usr/bin/docker-registry");
    if debian.exists() {
        return debian.to_owned();
    }
    PathBuf::from("docker-registry")
}

impl Registry {
    pub fn start() -> Registry {
        Self::start_with_users(None)
    }

    /// With `htpasswd` (`user:bcrypt-hash` lines), every request needs basic
    /// credentials (distribution's htpasswd access controller).
    pub fn start_with_users(htpasswd: Option<&str>) -> Registry {
        let store = tempfile::tempdir().unwrap();
        let auth = match htpasswd {
            Some(lines) => {
                let file = store.path().join("htpasswd");
                std::fs::write(&file, lines).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: blueprint-test\n    path: {}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = store.path().join("config.yml");
        // distribution's configuration reference:
        // https://distribution.github.io/distribution/about/configuration/
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{auth}http:\n  addr: 127.0.0.1:{port}\n",
                store.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(binary())
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("docker-registry cannot start ({e}): run scripts/setup (scripts/test does), which installs Debian's docker-registry")
            });
        let registry = Registry {
            child,
            host: format!("127.0.0.1:{port}"),
            store,
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if std::net::TcpStream::connect(&self.host).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not start within 30 s");
    }

    /// The file holding a blob (the filesystem driver's layout:
    /// `docker/registry/v2/blobs/sha256/<first two hex>/<hex>/data`).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.store
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
