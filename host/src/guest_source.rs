//! Getting a blueprint's guest onto disk, checked: a local path as is, or a shared
//! guest from S3 downloaded once into the cache under its digest. When the blueprint
//! pins a `sha256`, bytes that do not match are refused before anything compiles;
//! the compiled code is then cached by wasmtime under the bytes' hash.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::blueprint_file::{Blueprint, GuestLocation};
use crate::oci::OciError;

/// Why a blueprint's guest could not be put on disk.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("guest {} cannot be read: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("a shared guest must be pinned with guest.sha256")]
    Unpinned,
    #[error("guest {what} cannot be downloaded: {cause}")]
    Download {
        what: String,
        cause: crate::providers::aws::ReadObjectError,
    },
    /// The bytes are not the ones the blueprint pins.
    #[error(
        "refusing to run guest {what}: its sha256 is {actual}, but the blueprint pins {pinned} (a different build, or tampered with; update guest.sha256 only if you trust the new one)"
    )]
    Mismatch {
        what: String,
        actual: String,
        pinned: String,
    },
    #[error("caching guest {what} at {}: {cause}", path.display())]
    Cache {
        what: String,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Oci(#[from] OciError),
}

/// A local file holding the blueprint's guest, its digest verified when pinned.
pub async fn local_path(blueprint: &Blueprint) -> Result<PathBuf, SourceError> {
    let source = &blueprint.guest;
    match &source.location {
        GuestLocation::Path(path) => {
            if let Some(pinned) = &source.sha256 {
                let bytes = std::fs::read(path).map_err(|cause| SourceError::Read {
                    path: path.clone(),
                    cause,
                })?;
                verify(&bytes, pinned, &source.describe())?;
            }
            Ok(path.clone())
        }
        GuestLocation::S3 { bucket, key } => {
            let pinned = source.sha256.as_deref().ok_or(SourceError::Unpinned)?;
            let cached = cache_dir().join(format!("{pinned}.wasm"));
            if let Ok(bytes) = std::fs::read(&cached)
                && hex(&bytes) == pinned
            {
                return Ok(cached);
            }
            let what = source.describe();
            let bytes = crate::providers::aws::read_object(&blueprint.providers.aws, bucket, key)
                .await
                .map_err(|cause| SourceError::Download {
                    what: what.clone(),
                    cause,
                })?;
            verify(&bytes, pinned, &what)?;
            store(&cached, &bytes).map_err(|cause| SourceError::Cache {
                what,
                path: cached.clone(),
                cause,
            })?;
            Ok(cached)
        }
        GuestLocation::Oci(reference) => Ok(crate::oci::locate(reference, &blueprint.dir).await?),
    }
}

fn verify(bytes: &[u8], pinned: &str, what: &str) -> Result<(), SourceError> {
    let actual = hex(bytes);
    if actual != pinned {
        return Err(SourceError::Mismatch {
            what: what.to_owned(),
            actual,
            pinned: pinned.to_owned(),
        });
    }
    Ok(())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloaded guests, by digest: beside the compiled-code cache.
fn cache_dir() -> PathBuf {
    crate::runtime::cache_root()
        .map(|d| d.join("guests"))
        .unwrap_or_else(|| std::env::temp_dir().join("blueprint-guests"))
}

/// Temp file + rename: a concurrent run never sees half a component.
fn store(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
