//! `blueprint.lock`: beside the blueprint files of a folder (like `Cargo.lock`
//! beside `Cargo.toml`), the manifest digest every OCI tag they name resolved to.
//! Written on a tag's first use; later runs pull exactly that digest until
//! `blueprint update` moves it. Commit it with the blueprint files. Format:
//!
//! ```toml
//! version = 1
//!
//! [[artifact]]
//! reference = "ghcr.io/acme/alerting:1.4.0"
//! digest = "sha256:..."
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::OciError;

pub const FILE_NAME: &str = "blueprint.lock";

/// `--locked`: the lock file must not change (cargo's flag of that name): a tag
/// it does not pin, or `update`, is an error instead of a write — for CI, where
/// a run must use what was reviewed.
static LOCKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_locked(locked: bool) {
    LOCKED.store(locked, std::sync::atomic::Ordering::Relaxed);
}

pub fn is_locked() -> bool {
    LOCKED.load(std::sync::atomic::Ordering::Relaxed)
}
const FORMAT_VERSION: u32 = 1;
const HEADER: &str = "# The digest each OCI tag named by the blueprint files in this folder resolved to.\n# Written by blueprint on a tag's first use; moved only by `blueprint update FILE`. Commit it.\n";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    version: u32,
    #[serde(default, rename = "artifact")]
    artifacts: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    reference: String,
    digest: String,
}

/// A folder's lock file, read.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    digests: BTreeMap<String, String>,
}

impl Lock {
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// The folder's lock; empty when there is none yet.
    pub fn load(dir: &Path) -> Result<Lock, OciError> {
        Self::read(dir).map_err(OciError::Lock)
    }

    fn read(dir: &Path) -> Result<Lock, String> {
        let path = Self::path_in(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Lock {
                    path,
                    digests: BTreeMap::new(),
                });
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let file: LockFile = toml::from_str(&text)
            .map_err(|e| format!("{} is not a valid lock file: {e}", path.display()))?;
        if file.version != FORMAT_VERSION {
            return Err(format!(
                "{} has format version {}; this blueprint reads version {FORMAT_VERSION}",
                path.display(),
                file.version
            ));
        }
        let mut digests = BTreeMap::new();
        for entry in file.artifacts {
            if !super::is_sha256_digest(&entry.digest) {
                return Err(format!(
                    "{}: the digest of {} must be sha256:<64 lowercase hex digits>",
                    path.display(),
                    entry.reference
                ));
            }
            digests.insert(entry.reference, entry.digest);
        }
        Ok(Lock { path, digests })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, reference: &str) -> Option<&str> {
        self.digests.get(reference).map(String::as_str)
    }

    /// Pin `reference` to `digest`; the previous digest, if any.
    pub fn set(&mut self, reference: &str, digest: &str) -> Option<String> {
        self.digests.insert(reference.to_owned(), digest.to_owned())
    }

    /// Write atomically (temp file + rename), entries sorted by reference.
    pub fn save(&self) -> Result<(), OciError> {
        self.write().map_err(OciError::Lock)
    }

    fn write(&self) -> Result<(), String> {
        if is_locked() {
            return Err(format!(
                "{} would change, but --locked was given: run without --locked (or `blueprint update FILE`) where the lock file may be written, and commit it",
                self.path.display()
            ));
        }
        let file = LockFile {
            version: FORMAT_VERSION,
            artifacts: self
                .digests
                .iter()
                .map(|(reference, digest)| Entry {
                    reference: reference.clone(),
                    digest: digest.clone(),
                })
                .collect(),
        };
        let body = toml::to_string(&file).map_err(|e| e.to_string())?;
        let tmp = self
            .path
            .with_extension(format!("lock.tmp{}", std::process::id()));
        std::fs::write(&tmp, format!("{HEADER}{body}"))
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// Record one pin, re-reading the file first so pins written meanwhile (another
/// blueprint of the folder in the same `run`) are kept.
pub fn record(dir: &Path, reference: &str, digest: &str) -> Result<(), OciError> {
    let mut lock = Lock::load(dir)?;
    if lock.get(reference) == Some(digest) {
        return Ok(());
    }
    lock.set(reference, digest);
    lock.save()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorted_and_validated() {
        let dir = tempfile::tempdir().unwrap();
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        record(dir.path(), "r.example/z/x:1", &a).unwrap();
        record(dir.path(), "r.example/a/x:1", &b).unwrap();
        let lock = Lock::load(dir.path()).unwrap();
        assert_eq!(lock.get("r.example/z/x:1"), Some(a.as_str()));
        assert_eq!(lock.get("r.example/a/x:1"), Some(b.as_str()));
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(
            text.find("r.example/a/x:1") < text.find("r.example/z/x:1"),
            "{text}"
        );
        assert!(text.starts_with("# The digest"), "{text}");

        std::fs::write(
            dir.path().join(FILE_NAME),
            "version = 1\n[[artifact]]\nreference = \"x\"\ndigest = \"md5:00\"\n",
        )
        .unwrap();
        assert!(
            Lock::load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("sha256")
        );
    }
}
