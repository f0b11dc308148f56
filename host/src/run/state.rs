//! `state list|show|unlock`: a blueprint's recorded state, read (secrets
//! redacted) or its stale lock broken.

use std::path::Path;

use anyhow::Context as _;

use crate::blueprint_file::Blueprint;
use crate::state::{LockInfo, State};

/// The recorded state of the blueprint `file`, fit to print: sensitive outputs
/// and props redacted. `state`: `--state`, instead of the blueprint's own.
pub async fn read(file: &Path, state: Option<&Path>) -> anyhow::Result<State> {
    let blueprint = Blueprint::load(file)?;
    let store = crate::state::open(&blueprint, state).await?;
    let recorded = store
        .load(&blueprint.name)
        .await
        .with_context(|| format!("reading the state of {}", blueprint.name))?;
    Ok(recorded.redacted(crate::providers::catalog()))
}

/// What breaking a lock did.
pub struct Unlocked {
    /// Where the state is (for messages).
    pub store: String,
    /// Who held the lock; `None`: there was none to break.
    pub holder: Option<LockInfo>,
}

/// Break a lock whose holder is gone.
pub async fn unlock(file: &Path, state: Option<&Path>) -> anyhow::Result<Unlocked> {
    let blueprint = Blueprint::load(file)?;
    let store = crate::state::open(&blueprint, state).await?;
    let holder = store.break_lock().await?;
    Ok(Unlocked {
        store: store.describe(),
        holder,
    })
}
