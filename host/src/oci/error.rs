//! What can go wrong between a blueprint and a registry, by cause, so a caller
//! tells a reference that cannot work from a registry that refused, and both from
//! bytes that do not match their digest.

use std::fmt;
use std::path::PathBuf;

/// Said whenever a registry refuses the credentials: where they come from.
const CREDENTIALS_HINT: &str = " (registry credentials come from $DOCKER_CONFIG/config.json or ~/.docker/config.json: `docker login REGISTRY`)";

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference as written cannot be pulled (syntax, no tag or digest).
    #[error("{0}")]
    Reference(String),
    /// A request to the registry failed; `refused` when it refused the
    /// credentials.
    #[error("{}: {detail}{}", step.context(what), if *refused { CREDENTIALS_HINT } else { "" })]
    Registry {
        step: Step,
        what: String,
        detail: String,
        refused: bool,
    },
    /// What the registry served is not what its digest promises, or is too big.
    #[error("{0}")]
    Refused(String),
    /// The artifact is not a Wasm component in the layout `blueprint` reads.
    #[error("{0}")]
    Layout(String),
    /// A tag's pin in the lock file names a manifest the registry no longer serves.
    #[error("{cause} (the digest {} pins for this tag; `blueprint update FILE` re-resolves it)", lock.display())]
    PinGone { cause: Box<OciError>, lock: PathBuf },
    /// The lock file cannot be read or written, or `--locked` forbids the write.
    #[error("{0}")]
    Lock(String),
    /// Registry credentials cannot be read (the Docker config, a credential helper).
    #[error("{0}")]
    Credentials(String),
    /// A pulled artifact cannot be written to the cache.
    #[error("caching {what} at {}: {cause}", path.display())]
    Cache {
        what: String,
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// Which request to the registry failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Authenticate,
    FetchManifest,
    Download,
    PushBlob,
    PushManifest,
}

impl Step {
    fn context(self, what: &str) -> String {
        match self {
            Step::Authenticate => format!("{what}: authentication failed"),
            Step::FetchManifest => format!("{what}: cannot fetch the manifest"),
            Step::Download => format!("{what}: cannot download the component"),
            Step::PushBlob => format!("pushing to {what}"),
            Step::PushManifest => format!("pushing the manifest of {what}"),
        }
    }
}

impl OciError {
    /// A failed registry request, marked refused when the registry's answer
    /// says the credentials were the reason.
    pub(super) fn registry(step: Step, what: &str, error: impl fmt::Display) -> OciError {
        let detail = error.to_string();
        let refused = ["401", "403", "Not authorized", "UNAUTHORIZED", "DENIED"]
            .iter()
            .any(|s| detail.contains(s));
        OciError::Registry {
            step,
            what: what.to_owned(),
            detail,
            refused,
        }
    }
}
