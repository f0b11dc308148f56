//! The `import` workflow, for the CLI to call: find what to adopt (by id, or by
//! matching Terraform state instances), check the refusal rules on a copy of
//! the state before anything is asked or written, then record it.

use crate::run::{Context, Opened, Target, Verb};
use crate::state::State;

use super::{ImportError, Matching, parse_ids};

/// What to adopt: `NODE=ID` arguments, or Terraform state files.
pub enum Source<'a> {
    Ids(&'a [String]),
    TerraformStates(&'a [String]),
}

/// What was found, with the blueprint it was found for (its state locked).
pub struct Found {
    pub opened: Opened,
    pub matching: Matching,
}

/// Found objects that pass every refusal rule: the state to write, not yet written.
pub struct Ready {
    opened: Opened,
    state: State,
    /// How many resources it records.
    pub count: usize,
}

impl Ready {
    /// Where it would be recorded (for the question and the messages).
    pub fn store(&self) -> String {
        self.opened.store.describe()
    }

    /// Write the state: one commit, as every apply operation's.
    pub async fn record(self) -> Result<(), ImportError> {
        let Ready {
            opened, mut state, ..
        } = self;
        opened.store.commit(&mut state).await?;
        Ok(())
    }
}

/// Open the blueprint (evaluated, its state locked) and find what `source` names.
/// Reads only.
pub async fn find(
    context: &Context,
    target: &Target,
    source: Source<'_>,
) -> Result<Found, ImportError> {
    let opened = context.open(target, Verb::Import).await?;
    let name = opened.blueprint.name.clone();
    let matching = match source {
        Source::Ids(ids) => Matching {
            adopted: super::adopt_by_id(
                &name,
                &opened.graph,
                &opened.providers,
                &opened.state,
                &parse_ids(ids)?,
            )
            .await?,
            ..Matching::default()
        },
        Source::TerraformStates(files) => {
            let mut instances = Vec::new();
            for file in files {
                instances
                    .extend(super::tfstate::load(file, &opened.blueprint.providers.aws).await?);
            }
            super::match_instances(&name, &opened.graph, &opened.providers, &instances).await?
        }
    };
    Ok(Found { opened, matching })
}

impl Found {
    /// Refuse ambiguity, an empty match and (without `replace_record`) nodes the
    /// state already holds; the records are made on a copy of the state.
    pub fn check(self, replace_record: bool) -> Result<Ready, ImportError> {
        let Found { opened, matching } = self;
        if !matching.ambiguous.is_empty() {
            return Err(ImportError::Ambiguous(matching.ambiguous.len()));
        }
        if matching.adopted.is_empty() {
            return Err(ImportError::NothingMatched);
        }
        let mut state = opened.state.clone();
        super::record(&mut state, &opened.graph, &matching.adopted, replace_record)?;
        Ok(Ready {
            opened,
            state,
            count: matching.adopted.len(),
        })
    }
}
