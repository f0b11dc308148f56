//! The `blueprint` provider: what blueprints hand each other. A blueprint
//! publishes values (`blueprint.output`, kept in its own state: the record is
//! the object) and reads another's (`blueprint.outputs`, a lookup of that
//! blueprint's state). No API is called: the states are the data, read through
//! a [`StateReader`] the workflow layer provides (it knows where a blueprint
//! file's states live and how to reach S3), so this provider sits beside the
//! state stores rather than above them.

pub mod kinds;

use std::sync::Arc;

use async_trait::async_trait;

use super::{KindProvider, ResourceKind};
use blueprint_model::record::State;

/// Why another blueprint's state could not be read: the reader's own error
/// (its stores live in a layer above the providers).
pub type ReadError = Box<dyn std::error::Error + Send + Sync>;

/// Reads another blueprint's state, without its lock (a read sees one saved
/// version: every store writes atomically).
#[async_trait]
pub trait StateReader: Send + Sync {
    /// The state of blueprint `name` at `url` (a path relative to the reading
    /// blueprint's file, or `s3://`; `None`: `.blueprint/<name>.json` beside
    /// it), with where it was read for messages. `Ok(None)` when nothing is
    /// stored there.
    async fn read(
        &self,
        name: &str,
        url: Option<&str>,
    ) -> Result<Option<(String, State)>, ReadError>;
}

/// The provider of one reading blueprint (its reader knows that blueprint's
/// folder and AWS settings).
pub struct BlueprintsProvider {
    pub reader: Arc<dyn StateReader>,
}

impl KindProvider for BlueprintsProvider {
    const NAME: &'static str = "blueprint";

    fn kinds() -> &'static [&'static dyn ResourceKind<Self>] {
        kinds::KINDS
    }
}
