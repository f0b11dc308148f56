//! How a blueprint reads another's state for `blueprint.outputs`: the same
//! rules as a blueprint file's own `[state] url` (relative to the reading
//! file's folder, `s3://` through its AWS settings), read without the lock.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::blueprint_file::{AwsSettings, Blueprint};
use crate::providers::blueprints::{BlueprintsProvider, ReadError, StateReader};
use crate::state::State;

struct StateFiles {
    dir: PathBuf,
    aws: AwsSettings,
}

#[async_trait]
impl StateReader for StateFiles {
    async fn read(
        &self,
        name: &str,
        url: Option<&str>,
    ) -> Result<Option<(String, State)>, ReadError> {
        let store = crate::state::open_at(url, &self.dir, &self.dir, name, &self.aws)
            .await?
            .into_store();
        let state = store.load(name).await?;
        Ok((state.serial > 0 || !state.resources.is_empty()).then(|| (store.describe(), state)))
    }
}

/// The `blueprint` provider for blueprints read from `blueprint`'s file.
pub fn provider(blueprint: &Blueprint) -> Arc<BlueprintsProvider> {
    Arc::new(BlueprintsProvider {
        reader: Arc::new(StateFiles {
            dir: blueprint.dir.clone(),
            aws: blueprint.providers.aws.clone(),
        }),
    })
}
