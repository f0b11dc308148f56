//! Provider clients shared by every blueprint of a process: one set per
//! distinct provider settings, each provider connected the first time a
//! blueprint needs it (a run with no PagerDuty kind never asks for a token).

use std::collections::{BTreeSet, HashMap};

use tokio::sync::Mutex;

use crate::blueprint_file::Providers;
use crate::providers::{self, ProviderSet};

#[derive(Default)]
pub struct ProviderPool {
    sets: Mutex<HashMap<Providers, ProviderSet>>,
}

impl ProviderPool {
    /// The providers serving `kinds` under these settings, connecting what is
    /// missing.
    pub async fn connect(
        &self,
        settings: &Providers,
        kinds: impl IntoIterator<Item = String>,
    ) -> Result<ProviderSet, providers::SetupError> {
        let needed: BTreeSet<String> = kinds
            .into_iter()
            .map(|k| blueprint_model::kind::provider_of(&k).to_owned())
            .collect();
        let mut sets = self.sets.lock().await;
        let set = sets.entry(settings.clone()).or_default();
        let mut serving = ProviderSet::new();
        for name in needed {
            if !set.contains(&name) {
                set.insert(providers::connect_one(settings, &name).await?);
            }
            serving.insert(set.get(&name).expect("connected above"));
        }
        Ok(serving)
    }
}
