//! `state list|show|unlock|mv|rm`: a blueprint's recorded state, read (secrets
//! redacted), its stale lock broken, or a record re-keyed or forgotten.

use std::path::Path;

use super::RunError;
use crate::blueprint_file::Blueprint;
use crate::state::{LockInfo, State};
use blueprint_model::record::RecordError;

/// The recorded state of the blueprint `file`, fit to print: sensitive outputs
/// and props redacted. `state`: `--state`, instead of the blueprint's own.
pub async fn read(file: &Path, state: Option<&Path>) -> Result<State, RunError> {
    let (_, recorded) = load(file, state).await?;
    Ok(recorded.redacted(crate::providers::catalog()))
}

/// The outputs the blueprint `file`'s state records as published, in clear
/// (the caller redacts), and where the state is.
pub async fn outputs(
    file: &Path,
    state: Option<&Path>,
) -> Result<
    (
        String,
        std::collections::BTreeMap<String, crate::providers::blueprints::kinds::output::Published>,
    ),
    RunError,
> {
    let (store, recorded) = load(file, state).await?;
    Ok((
        store,
        crate::providers::blueprints::kinds::output::published(&recorded),
    ))
}

/// The state of the blueprint `file` as stored (read without the lock), and
/// where it is.
async fn load(file: &Path, state: Option<&Path>) -> Result<(String, State), RunError> {
    let blueprint = Blueprint::load(file)?;
    let store = crate::state::open(&blueprint, state).await?;
    let recorded = store
        .load(&blueprint.name)
        .await
        .map_err(|cause| RunError::ReadState {
            blueprint: blueprint.name.clone(),
            cause,
        })?;
    Ok((store.describe(), recorded))
}

/// What breaking a lock did.
pub struct Unlocked {
    /// Where the state is (for messages).
    pub store: String,
    /// Who held the lock; `None`: there was none to break.
    pub holder: Option<LockInfo>,
}

/// Break a lock whose holder is gone.
pub async fn unlock(file: &Path, state: Option<&Path>) -> Result<Unlocked, RunError> {
    let blueprint = Blueprint::load(file)?;
    let store = crate::state::open(&blueprint, state).await?;
    let holder = store.break_lock().await?;
    Ok(Unlocked {
        store: store.describe(),
        holder,
    })
}

/// Which record surgery was done.
pub enum Change {
    Moved { from: String, to: String },
    Forgot { node: String },
}

impl Change {
    /// The command line that makes it (`state mv FROM TO`), for the lock's holder.
    pub fn command(&self) -> String {
        match self {
            Change::Moved { from, to } => format!("state mv {from} {to}"),
            Change::Forgot { node } => format!("state rm {node}"),
        }
    }
}

/// What a `state mv` or `state rm` changed.
pub struct Surgery {
    pub change: Change,
    pub store: String,
    pub kind: String,
    /// The physical id of the resource the record names, if it has one.
    pub id: Option<String>,
    /// The serial the change was written as.
    pub serial: u64,
}

/// `state mv FILE FROM TO`: the record of node `from` becomes node `to`'s,
/// under the state's lock, written as a new serial (the previous version
/// kept: `<state>.backup` locally, `<key>.history/` in S3).
pub async fn rename(
    file: &Path,
    state: Option<&Path>,
    from: &str,
    to: &str,
) -> Result<Surgery, RunError> {
    if !crate::runtime::declare::valid_name(to) {
        return Err(RunError::BadNodeName(to.to_owned()));
    }
    let change = Change::Moved {
        from: from.to_owned(),
        to: to.to_owned(),
    };
    operate(file, state, change, |s| {
        s.rename(from, to)?;
        Ok(s.resources[to].clone())
    })
    .await
}

/// `state rm FILE NODE`: forget a record without deleting what it names.
pub async fn forget(file: &Path, state: Option<&Path>, node: &str) -> Result<Surgery, RunError> {
    let change = Change::Forgot {
        node: node.to_owned(),
    };
    operate(file, state, change, |s| s.forget(node)).await
}

async fn operate(
    file: &Path,
    state: Option<&Path>,
    change: Change,
    apply: impl FnOnce(&mut State) -> Result<crate::state::Entry, RecordError>,
) -> Result<Surgery, RunError> {
    let blueprint = Blueprint::load(file)?;
    let store = crate::state::open(&blueprint, state).await?;
    let _lock = store
        .lock(&LockInfo::current(&format!(
            "blueprint {} {}",
            change.command(),
            file.display()
        )))
        .await?;
    let mut recorded = store
        .load(&blueprint.name)
        .await
        .map_err(|cause| RunError::ReadState {
            blueprint: blueprint.name.clone(),
            cause,
        })?;
    let entry = apply(&mut recorded).map_err(|cause| RunError::Surgery {
        store: store.describe(),
        cause,
    })?;
    store
        .commit(&mut recorded)
        .await
        .map_err(|cause| RunError::WriteState {
            blueprint: blueprint.name.clone(),
            cause,
        })?;
    Ok(Surgery {
        change,
        store: store.describe(),
        kind: entry.kind,
        id: entry.resource.map(|r| r.id),
        serial: recorded.serial,
    })
}
