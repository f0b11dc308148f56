//! `blueprint.output`: a value this blueprint publishes for other blueprints
//! (and for `blueprint output FILE`). Nothing lives in a cloud: the state's
//! record is the object, so a create or an update records the value and a
//! delete forgets it. A sensitive output is shown as `(sensitive)` everywhere
//! but the state file (private to its owner); one whose value carries a secret
//! must say `sensitive = true` (graph validation stops the plan otherwise).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use super::super::BlueprintsProvider;
use crate::providers::{Desired, Found, ProviderResult, Resource, ResourceKind};
use crate::runtime::wit::blueprints as wit;
use blueprint_model::kind::{KindInfo, mirror_secret_when, parse_as};
use blueprint_model::record::{State, Status};
use blueprint_model::terraform::{Block, TerraformMap, same};

pub const NAME: &str = "blueprint.output";
pub type Props = wit::OutputProps;
pub type Ref = wit::OutputRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[mirror_secret_when("value", "value", "sensitive")],
    required: &[],
    refs: &[],
    check: |_| {},
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "output",
        block: Block::Output,
        props: &[same("value"), same("sensitive"), same("description")],
        outputs: &[],
        attributes: &["value", "sensitive", "description"],
        finish: None,
    },
    import: None,
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// One published output, as another blueprint reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Published {
    pub value: String,
    pub sensitive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Every output a state records as applied, by name.
pub fn published(state: &State) -> BTreeMap<String, Published> {
    state
        .resources
        .iter()
        .filter(|(_, e)| e.kind == NAME && e.status == Status::Ready)
        .filter_map(|(name, e)| {
            let r = e.resource.as_ref()?;
            Some((
                name.clone(),
                Published {
                    value: r.outputs.get("value").cloned().unwrap_or_default(),
                    sensitive: e.sensitive_props.iter().any(|p| p == "value"),
                    description: r
                        .props
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                },
            ))
        })
        .collect()
}

/// The record of the output: its props as resolved, and its value.
fn record(d: &Desired<'_>) -> Resource {
    Resource {
        id: d.node.to_owned(),
        props: d.props.clone(),
        outputs: BTreeMap::from([(
            "value".to_owned(),
            d.str("value").unwrap_or_default().to_owned(),
        )]),
    }
}

pub struct Kind;

#[async_trait]
impl ResourceKind<BlueprintsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    async fn create(&self, _: &BlueprintsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        Ok(record(d))
    }

    /// The record is the object: what the state holds is what exists.
    async fn read(
        &self,
        _: &BlueprintsProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        Ok(Some(prior.clone()))
    }

    async fn update(
        &self,
        _: &BlueprintsProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        Ok(record(d))
    }

    async fn delete(&self, _: &BlueprintsProvider, _prior: &Resource) -> ProviderResult<()> {
        Ok(())
    }

    /// Nothing outside the state can hold an output: an unrecorded one is new.
    async fn find(
        &self,
        _: &BlueprintsProvider,
        _d: &Desired<'_>,
    ) -> ProviderResult<Option<Found>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_model::record::Entry;
    use serde_json::json;

    #[test]
    fn published_outputs_are_the_ready_records_with_their_secrecy() {
        let mut state = State::new("platform");
        let output = |value: &str, description: Option<&str>| Resource {
            id: "x".into(),
            props: json!({"value": value, "description": description})
                .as_object()
                .unwrap()
                .clone(),
            outputs: BTreeMap::from([("value".to_owned(), value.to_owned())]),
        };
        state.resources.insert(
            "policy_id".into(),
            Entry::ready(
                NAME,
                Some(output("P123", Some("the policy"))),
                Default::default(),
                vec![],
                vec![],
            ),
        );
        state.resources.insert(
            "key".into(),
            Entry::ready(
                NAME,
                Some(output("k3y", None)),
                Default::default(),
                vec!["value".into()],
                vec![],
            ),
        );
        let mut pending = Entry::ready(
            NAME,
            Some(output("half", None)),
            Default::default(),
            vec![],
            vec![],
        );
        pending.status = Status::Creating;
        state.resources.insert("pending".into(), pending);
        state.resources.insert(
            "team".into(),
            Entry::ready(
                "pagerduty.team",
                Some(output("T1", None)),
                Default::default(),
                vec![],
                vec![],
            ),
        );
        let found = published(&state);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["key", "policy_id"]);
        assert_eq!(found["policy_id"].value, "P123");
        assert_eq!(
            found["policy_id"].description.as_deref(),
            Some("the policy")
        );
        assert!(!found["policy_id"].sensitive);
        assert!(found["key"].sensitive);
    }
}
