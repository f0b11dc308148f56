//! The embedded default store: a JSON file beside the blueprint
//! (`.blueprint/<name>.json`), private to its owner, replaced atomically on every
//! save, guarded by an OS advisory lock on `<file>.lock` that dies with its process.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{LockInfo, State, StateError, StateLock, StateStore};
use async_trait::async_trait;

pub struct LocalStore {
    path: PathBuf,
}

impl LocalStore {
    pub fn new(path: impl Into<PathBuf>) -> LocalStore {
        LocalStore { path: path.into() }
    }

    /// `<blueprint dir>/.blueprint/<name>.json`.
    pub fn default_path(blueprint_dir: &Path, name: &str) -> PathBuf {
        blueprint_dir
            .join(".blueprint")
            .join(format!("{name}.json"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn io(&self, error: std::io::Error) -> StateError {
        StateError::Io {
            path: self.describe(),
            error,
        }
    }

    fn ensure_dir(&self) -> Result<(), StateError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
            set_mode(dir, 0o700).map_err(|e| self.io(e))?;
        }
        Ok(())
    }
}

struct LocalLock {
    // Held open: the advisory lock lives as long as this handle.
    _file: File,
}

impl StateLock for LocalLock {}

#[async_trait]
impl StateStore for LocalStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    async fn lock(&self, info: &LockInfo) -> Result<Box<dyn StateLock>, StateError> {
        self.ensure_dir()?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.lock_path())
            .map_err(|e| self.io(e))?;
        set_mode(&self.lock_path(), 0o600).map_err(|e| self.io(e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(StateError::Locked {
                    path: self.describe(),
                    holder: serde_json::from_str(&text).ok().map(Box::new),
                    breakable: false,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(self.io(e)),
        }
        // Record the holder for whoever finds the lock taken.
        let text = serde_json::to_string(info).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))?;
        Ok(Box::new(LocalLock { _file: file }))
    }

    async fn load(&self, blueprint: &str) -> Result<State, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State::new(blueprint));
            }
            Err(e) => return Err(self.io(e)),
        };
        super::parse(&text, &self.describe(), blueprint)
    }

    async fn save(&self, state: &State) -> Result<(), StateError> {
        self.ensure_dir()?;
        let text = serde_json::to_vec_pretty(state).expect("state serializes");
        // The copy, the write and the fsyncs off the async threads: an apply
        // goes on scheduling while its state is written (see engine/apply).
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || {
            // Keep the previous version: the way back from a bad apply.
            if path.exists() {
                let backup = with_suffix(&path, ".backup");
                std::fs::copy(&path, &backup)?;
                set_mode(&backup, 0o600)?;
            }
            write_atomically(&path, &text)
        })
        .await
        .unwrap_or_else(|e| panic!("writing the state panicked: {e}"));
        written.map_err(|e| self.io(e))
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Temp file (0600) in the same folder, fsync, rename over the target, fsync the
/// folder: after a crash the file holds the old state or the new, never a mix.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = with_suffix(path, &format!(".tmp{}", std::process::id()));
    {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    set_mode(&tmp, 0o600)?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Entry, Status};

    fn entry() -> Entry {
        Entry {
            kind: "pagerduty.team".into(),
            status: Status::Ready,
            resource: None,
            applied_props: Default::default(),
            sensitive_props: vec![],
            dependencies: vec![],
            deposed: vec![],
            updated_at: "2026-01-01T00:00:00Z".into(),
            adopted_from: None,
        }
    }

    #[tokio::test]
    async fn save_load_round_trip_private_and_backed_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join(".blueprint/x.json"));
        assert_eq!(store.load("x").await.unwrap(), State::new("x"));
        let mut state = State::new("x");
        state.resources.insert("team".into(), entry());
        store.save(&state).await.unwrap();
        state.serial = 2;
        store.save(&state).await.unwrap();
        assert_eq!(store.load("x").await.unwrap(), state);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.path()), 0o600);
            assert_eq!(mode(&with_suffix(store.path(), ".backup")), 0o600);
            assert_eq!(mode(store.path().parent().unwrap()), 0o700);
        }
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(store.path().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[tokio::test]
    async fn second_lock_fails_at_once_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("x.json"));
        let held = store
            .lock(&LockInfo::current("blueprint run a.toml"))
            .await
            .unwrap();
        let err = store
            .lock(&LockInfo::current("blueprint run b.toml"))
            .await
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("locked by `blueprint run a.toml`"), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(held);
        store.lock(&LockInfo::current("again")).await.unwrap();
    }

    #[tokio::test]
    async fn corrupt_or_foreign_state_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, "{ not json").unwrap();
        let store = LocalStore::new(&path);
        let err = store.load("x").await.unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");

        store.save(&State::new("other")).await.unwrap();
        let err = store.load("x").await.unwrap_err();
        assert!(
            err.to_string().contains("belongs to blueprint 'other'"),
            "{err}"
        );

        std::fs::write(&path, r#"{"format": 99, "blueprint": "x", "serial": 1}"#).unwrap();
        let err = store.load("x").await.unwrap_err();
        assert!(
            matches!(err, StateError::NewerFormat { format: 99, .. }),
            "{err}"
        );
    }
}
