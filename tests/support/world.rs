//! A moto server, a PagerDuty emulator and a private state file: the world a
//! `blueprint` process runs in for the end-to-end tests.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use pagerduty_emulator::{Config, Emulator};
use serde_json::Value;

use super::moto::Moto;

pub const SEED: &str = "blueprints/lambda-error-pagerduty.toml";

pub struct World {
    pub moto: Moto,
    pub emulator: Emulator,
    pub state: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn new() -> World {
        Self::with(Config::default()).await
    }

    /// With this emulator configuration (e.g. its clock set).
    pub async fn with(config: Config) -> World {
        Self::with_moto(Moto::start(), config).await
    }

    /// With this moto server (e.g. started with an environment of its own).
    pub async fn with_moto(moto: Moto, config: Config) -> World {
        let dir = tempfile::tempdir().unwrap();
        World {
            moto,
            emulator: super::pagerduty::emulator(config).await,
            state: dir.path().join("state.json"),
            _dir: dir,
        }
    }

    /// `blueprint ARGS --state <this world's state file>`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.command_without_state(args);
        command.arg("--state").arg(&self.state);
        command
    }

    /// `blueprint ARGS`, in this world's environment.
    pub fn command_without_state(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_blueprint"));
        command
            .args(args)
            .current_dir(super::root())
            .env(
                "BLUEPRINT_CACHE_DIR",
                super::root().join("target/test-wasm-cache"),
            )
            .env("PAGERDUTY_TOKEN", super::pagerduty::TOKEN)
            .env("PAGERDUTY_API_URL", self.emulator.base_url())
            .env("PAGERDUTY_EVENTS_URL", self.emulator.base_url())
            .stdin(Stdio::null());
        for (k, v) in self.moto.env() {
            command.env(k, v);
        }
        command
    }

    /// Run `blueprint ARGS` without `--state` (each blueprint's own).
    pub async fn blueprint_without_state(&self, args: &[&str]) -> Output {
        let mut command = self.command_without_state(args);
        tokio::task::spawn_blocking(move || command.output().expect("blueprint runs"))
            .await
            .unwrap()
    }

    pub async fn blueprint(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().expect("blueprint runs"))
            .await
            .unwrap()
    }

    pub fn pd(&self) -> Value {
        self.emulator.with_db(|db| {
            serde_json::json!({
                "objects": db.objects,
                "members": db.members,
                "integrations": db.integrations.values().map(|i| serde_json::json!({"service": i.service, "key": i.key})).collect::<Vec<_>>(),
                "dependencies": db.dependencies.values().map(|(b, s)| serde_json::json!([b, s])).collect::<Vec<_>>(),
            })
        })
    }

    pub fn count(&self, collection: &str) -> usize {
        self.pd()["objects"][collection]
            .as_object()
            .map_or(0, |o| o.len())
    }
}

/// The seed blueprint copied to `dir/name` (its guest path made absolute, its
/// handler beside it), with `extra` appended: a blueprint file a test may edit.
pub fn seed_copy(dir: &std::path::Path, name: &str, extra: &str) -> String {
    let root = super::root();
    super::copy_handler(dir, "lambda-error-pagerduty-handler");
    let seed = std::fs::read_to_string(root.join(SEED)).unwrap().replace(
        "path = \"../target/",
        &format!("path = \"{}/target/", root.display()),
    );
    let file = dir.join(name);
    std::fs::write(&file, format!("{seed}\n{extra}")).unwrap();
    file.to_str().unwrap().to_owned()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
