//! State: what a blueprint has made, recorded after every resource operation so
//! nothing that exists is ever forgotten. The format is documented in
//! docs/state.md; stores implement [`StateStore`]: a local file by default, or S3
//! for teams (`s3://bucket/key`).

mod local;
mod s3;

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use local::{LocalStore, write_atomically};
pub use s3::S3Store;

pub use blueprint_model::record::{Entry, FORMAT, REDACTED, State, Status, now_rfc3339};

/// Who holds a lock, written into the lock so a second run can name them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub user: String,
    pub host: String,
    pub command: String,
    /// RFC 3339, UTC.
    pub since: String,
}

impl LockInfo {
    pub fn current(command: &str) -> LockInfo {
        LockInfo {
            pid: std::process::id(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: hostname(),
            command: command.to_owned(),
            since: now_rfc3339(),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` (pid {}, {}@{}) since {}",
            self.command, self.pid, self.user, self.host, self.since
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

#[derive(Debug)]
pub enum StateError {
    /// Another process holds the lock.
    Locked {
        path: String,
        holder: Option<Box<LockInfo>>,
        /// Survives its holder (S3): `blueprint state unlock` breaks it.
        breakable: bool,
    },
    /// The stored state changed since this process read it: the write was refused
    /// so no update is lost.
    Conflict {
        path: String,
    },
    /// The stored state cannot be read; it is left untouched.
    Corrupt {
        path: String,
        reason: String,
    },
    /// Written by a newer `blueprint`.
    NewerFormat {
        path: String,
        format: u32,
    },
    Io {
        path: String,
        error: std::io::Error,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Locked {
                path,
                holder,
                breakable,
            } => {
                match holder {
                    Some(holder) => write!(f, "the state {path} is locked by {holder}")?,
                    None => write!(f, "the state {path} is locked by another blueprint process")?,
                }
                if *breakable {
                    write!(
                        f,
                        "; wait for it to finish, or if that process is gone, break the lock with `blueprint state unlock FILE`"
                    )
                } else {
                    write!(
                        f,
                        "; wait for it to finish (if that process is gone, the lock went with it)"
                    )
                }
            }
            StateError::Conflict { path } => write!(
                f,
                "the state {path} was changed by someone else since it was read; the write was refused so nothing is lost: run again"
            ),
            StateError::Corrupt { path, reason } => write!(
                f,
                "the state {path} cannot be read ({reason}); it was left as it is — restore it from {path}.backup or fix it by hand"
            ),
            StateError::NewerFormat { path, format } => write!(
                f,
                "the state {path} has format {format}, newer than this blueprint understands ({FORMAT}); upgrade blueprint"
            ),
            StateError::Io { path, error } => write!(f, "state {path}: {error}"),
        }
    }
}

impl std::error::Error for StateError {}

/// A held lock; dropping it releases the lock.
pub trait StateLock: Send + Sync {}

/// Where state lives. Every implementation: `lock` fails at once when another
/// process holds it; `save` is atomic (a reader sees the old or the new state,
/// never half of one).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Where, for messages (`./.blueprint/seed.json`).
    fn describe(&self) -> String;
    async fn lock(&self, info: &LockInfo) -> Result<Box<dyn StateLock>, StateError>;
    /// The stored state, or a new empty one for `blueprint` if there is none.
    async fn load(&self, blueprint: &str) -> Result<State, StateError>;
    async fn save(&self, state: &State) -> Result<(), StateError>;
    /// Record a change: the serial one higher, then [`save`](Self::save). What
    /// every writer of a new version (each apply operation, `import`) calls, so
    /// two versions never share a serial.
    async fn commit(&self, state: &mut State) -> Result<(), StateError> {
        state.serial += 1;
        self.save(state).await
    }
    /// Delete a lock whose holder is gone; who held it. Local locks die with
    /// their process, so there is nothing to break.
    async fn break_lock(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(None)
    }
}

/// Read a stored state: refuse (untouched) anything corrupt, newer, or another
/// blueprint's.
pub fn parse(text: &str, path: &str, blueprint: &str) -> Result<State, StateError> {
    let value: Value = serde_json::from_str(text).map_err(|e| StateError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let format = value["format"].as_u64().unwrap_or(0) as u32;
    if format > FORMAT {
        return Err(StateError::NewerFormat {
            path: path.to_owned(),
            format,
        });
    }
    let state: State = serde_json::from_value(value).map_err(|e| StateError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if state.blueprint != blueprint {
        return Err(StateError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "it belongs to blueprint '{}', not '{blueprint}'",
                state.blueprint
            ),
        });
    }
    Ok(state)
}

/// The bucket and key of S3 state from the URL after `s3://`: a key ending in
/// `/` (or none) is a prefix, the key `<prefix><name>.json`. None: no bucket.
pub fn s3_location(rest: &str, blueprint: &str) -> Option<(String, String)> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let key = if key.is_empty() || key.ends_with('/') {
        format!("{key}{blueprint}.json")
    } else {
        key.to_owned()
    };
    Some((bucket.to_owned(), key))
}

/// The S3 objects of a blueprint's state, when it is in S3: `--state`, else
/// `[state] url` (`None` for local state).
pub fn s3_state(
    blueprint: &crate::blueprint_file::Blueprint,
    flag: Option<&std::path::Path>,
) -> Option<(String, String)> {
    s3_location(
        chosen_url(blueprint, flag)?.strip_prefix("s3://")?,
        &blueprint.name,
    )
}

/// `--state`, else the blueprint file's `[state] url` (None: the default path).
fn chosen_url(
    blueprint: &crate::blueprint_file::Blueprint,
    flag: Option<&std::path::Path>,
) -> Option<String> {
    match flag {
        Some(path) => Some(path.to_string_lossy().into_owned()),
        None => blueprint.state_url.clone(),
    }
}

/// Why a blueprint's state store could not be opened (nothing was read yet).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "{}: [state] kms_key_id applies to S3 state only (set [state] url = \"s3://BUCKET/KEY\"); a local state file is private to its owner instead (mode 0600)",
        file.display()
    )]
    KmsOnLocal { file: std::path::PathBuf },
    #[error("state URL {0:?} names no bucket: use s3://BUCKET/KEY")]
    NoBucket(String),
    /// The AWS chain for an `s3://` state.
    #[error(transparent)]
    Aws(#[from] crate::providers::SetupError),
}

/// Where a blueprint's state lives: `--state` (a path or `s3://bucket/key`), else
/// the blueprint file's `[state] url`, else `.blueprint/<name>.json` beside it.
/// An S3 URL ending in `/` is a prefix: the key is `<prefix><name>.json`.
pub async fn open(
    blueprint: &crate::blueprint_file::Blueprint,
    flag: Option<&std::path::Path>,
) -> Result<Box<dyn StateStore>, OpenError> {
    let chosen = chosen_url(blueprint, flag);
    let s3 = chosen.as_deref().is_some_and(|u| u.starts_with("s3://"));
    if blueprint.state_kms_key_id.is_some() && !s3 {
        return Err(OpenError::KmsOnLocal {
            file: blueprint.file.clone(),
        });
    }
    // From the blueprint file, relative to it; from the flag, to the cwd.
    let relative_to = if flag.is_none() {
        blueprint.dir.as_path()
    } else {
        std::path::Path::new("")
    };
    let store = open_at(
        chosen.as_deref(),
        &blueprint.dir,
        relative_to,
        &blueprint.name,
        &blueprint.providers.aws,
    )
    .await?;
    Ok(match store {
        Opened::S3(s3) => Box::new(s3.with_kms_key(blueprint.state_kms_key_id.clone())),
        Opened::Local(local) => Box::new(local),
    })
}

/// A store opened by URL, before any option of its kind is set.
pub enum Opened {
    Local(LocalStore),
    S3(S3Store),
}

/// The store of blueprint `name`'s state at `url`: `None` is the default,
/// `.blueprint/<name>.json` in `dir`; a relative path is taken from
/// `relative_to`; `s3://` goes through the AWS chain of `aws`.
pub async fn open_at(
    url: Option<&str>,
    dir: &std::path::Path,
    relative_to: &std::path::Path,
    name: &str,
    aws: &crate::blueprint_file::AwsSettings,
) -> Result<Opened, OpenError> {
    let Some(url) = url else {
        return Ok(Opened::Local(LocalStore::new(LocalStore::default_path(
            dir, name,
        ))));
    };
    let Some(rest) = url.strip_prefix("s3://") else {
        let path = std::path::PathBuf::from(url);
        let path = if path.is_relative() {
            relative_to.join(path)
        } else {
            path
        };
        return Ok(Opened::Local(LocalStore::new(path)));
    };
    let (bucket, key) =
        s3_location(rest, name).ok_or_else(|| OpenError::NoBucket(url.to_owned()))?;
    let config = crate::providers::aws::sdk_config(aws).await?;
    Ok(Opened::S3(S3Store::new(
        crate::providers::aws::s3_client(&config),
        &bucket,
        &key,
    )))
}

impl Opened {
    pub fn into_store(self) -> Box<dyn StateStore> {
        match self {
            Opened::Local(local) => Box::new(local),
            Opened::S3(s3) => Box::new(s3),
        }
    }
}
