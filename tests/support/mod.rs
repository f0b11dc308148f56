//! Shared helpers for the host's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod cdktf;
pub mod fault_proxy;
pub mod moto;
pub mod pagerduty;
pub mod registry;
pub mod world;

use blueprint::runtime::{Limits, Runtime};

/// The workspace root (tests live in host/, which is one level down).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_owned()
}

/// `blueprint ARGS` from the workspace root, with the tests' compiled-code cache.
pub fn blueprint(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(args)
        .env("BLUEPRINT_CACHE_DIR", root().join("target/test-wasm-cache"))
        .current_dir(root())
        .output()
        .expect("the blueprint binary runs")
}

/// A guest component built by `scripts/build-guests` (which the test command runs).
pub fn guest(crate_name: &str) -> PathBuf {
    let file = crate_name.replace('-', "_");
    let path = root().join(format!("target/wasm32-wasip2/guest/{file}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the guests first with scripts/build-guests (scripts/test does)",
        path.display()
    );
    path
}

/// A runtime with a short time limit so timeout tests stay quick, and a cache
/// folder private to the test process.
pub fn runtime() -> Runtime {
    runtime_with(Limits {
        memory_bytes: 64 * 1024 * 1024,
        timeout: Duration::from_secs(1),
        ..Limits::default()
    })
}

pub fn runtime_with(limits: Limits) -> Runtime {
    let cache = root().join("target/test-wasm-cache");
    Runtime::new(blueprint::providers::catalog(), limits, Some(&cache)).expect("runtime starts")
}

/// Write a blueprint file for `guest` with these params (TOML text) into `dir`.
pub fn blueprint_file(dir: &Path, guest: &Path, params: &str) -> PathBuf {
    let file = dir.join("test.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"test\"\n[guest]\npath = {:?}\n[params]\n{params}\n",
            guest.display().to_string()
        ),
    )
    .unwrap();
    file
}

pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Copy the seed's Lambda handler folder to `dir/name` (blueprint files in a
/// temporary folder need their assets beside them).
pub fn copy_handler(dir: &Path, name: &str) {
    let target = dir.join(name);
    std::fs::create_dir_all(&target).unwrap();
    for entry in
        std::fs::read_dir(root().join("blueprints/lambda-error-pagerduty-handler")).unwrap()
    {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
}

/// Wait until `reached` holds while `child` still runs, polling every 20 ms: on a
/// loaded machine a child process may take seconds to get there, so no short fixed
/// wait. Fails naming `what` if the child exits first or 60 s pass.
pub async fn wait_for_child<F, Fut>(child: &mut std::process::Child, what: &str, mut reached: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !reached().await {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child process ended before {what}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the child process did not get to {what} in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
