//! `blueprint.outputs` (lookup): one output another blueprint published, read
//! from that blueprint's state at every plan (read only, without its lock).
//! The reading blueprint depends on the publishing one: `run DIR` applies the
//! publisher first. In Terraform the same wiring is a `terraform_remote_state`
//! data source reading the exported publisher's state (`backend = "local"`;
//! point `config` at wherever that configuration keeps its state).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::super::BlueprintsProvider;
use super::output::published;
use crate::providers::{
    Desired, ErrorClass, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::blueprints as wit;
use blueprint_model::kind::{KindInfo, Role, parse_as, secret_when};
use blueprint_model::terraform::{Block, OutputMap, Target, TerraformMap, prop, to};

pub const NAME: &str = "blueprint.outputs";
pub type Props = wit::OutputsLookup;
pub type Ref = wit::OutputsRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: true,
    role: Some(Role::Relay),
    outputs: &[secret_when("value", "sensitive")],
    required: &["blueprint", "output"],
    refs: &[],
    check: |_| {},
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "terraform_remote_state",
        block: Block::Data,
        props: &[
            prop("blueprint", Target::Omit),
            to("state", "config.path"),
            prop("output", Target::Omit),
            prop("sensitive", Target::Omit),
        ],
        outputs: &[(
            "value",
            OutputMap::Keyed {
                attr: "outputs",
                key: "output",
            },
        )],
        attributes: &["backend", "config", "outputs", "defaults", "workspace"],
        finish: Some(|body| {
            body.insert("backend".into(), "local".into());
        }),
    },
    import: None,
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// One lookup of a graph, as the workflows that order runs and grant access
/// need it: which blueprint it reads, and from where (literal props only).
pub struct Source<'g> {
    pub node: &'g str,
    pub blueprint: &'g str,
    pub state: Option<&'g str>,
}

/// Every `blueprint.outputs` lookup of `graph` whose `blueprint` is literal.
pub fn sources(graph: &blueprint_model::graph::Graph) -> impl Iterator<Item = Source<'_>> {
    graph
        .nodes()
        .iter()
        .filter(|n| n.kind == NAME)
        .filter_map(|n| {
            Some(Source {
                node: &n.id,
                blueprint: n.props.get("blueprint")?.as_str()?,
                state: n.props.get("state").and_then(|v| v.as_str()),
            })
        })
}

pub struct Kind;

fn refused(d: &Desired<'_>, class: ErrorClass, why: String) -> ProviderError {
    ProviderError::new(class, format!("{}: {why}", d.address()))
}

#[async_trait]
impl ResourceKind<BlueprintsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// The output as the publisher's state records it; refused, naming what is
    /// missing, when that blueprint was never applied or publishes no such
    /// output, or when a secret would be read without `sensitive = true`.
    async fn create(&self, p: &BlueprintsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let props: Props = d.typed()?;
        let from = &props.blueprint;
        let read = p
            .reader
            .read(from, props.state.as_deref())
            .await
            .map_err(|e| refused(d, ErrorClass::Invalid, e.to_string()))?;
        let Some((location, state)) = read.filter(|(_, s)| !s.resources.is_empty()) else {
            return Err(refused(
                d,
                ErrorClass::NotFound,
                format!(
                    "blueprint '{from}' records nothing at {}: apply it first (`blueprint run DIR` with both files applies it first)",
                    props
                        .state
                        .as_deref()
                        .map_or_else(|| format!(".blueprint/{from}.json"), str::to_owned)
                ),
            ));
        };
        let outputs = published(&state);
        let Some(found) = outputs.get(&props.output) else {
            let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
            return Err(refused(
                d,
                ErrorClass::NotFound,
                format!(
                    "blueprint '{from}' (state {location}, serial {}) publishes no output '{}'; it publishes {}",
                    state.serial,
                    props.output,
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        };
        if found.sensitive && props.sensitive != Some(true) {
            return Err(refused(
                d,
                ErrorClass::Invalid,
                format!(
                    "output '{}' of blueprint '{from}' is sensitive: set sensitive = true on this lookup so its value is never shown",
                    props.output
                ),
            ));
        }
        Ok(Resource {
            id: format!("{from}/{}", props.output),
            props: d.props.clone(),
            outputs: BTreeMap::from([("value".to_owned(), found.value.clone())]),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Map, Value, json};

    use super::*;
    use crate::providers::Provider;
    use crate::providers::blueprints::StateReader;
    use blueprint_model::graph::{Graph, ProblemClass, token};
    use blueprint_model::record::{Entry, State};

    /// A platform state with one plain and one sensitive output.
    struct Platform;

    #[async_trait]
    impl StateReader for Platform {
        async fn read(
            &self,
            name: &str,
            url: Option<&str>,
        ) -> Result<Option<(String, State)>, crate::providers::blueprints::ReadError> {
            if name != "platform" || url.is_some() {
                return Ok(None);
            }
            let mut state = State::new("platform");
            state.serial = 3;
            for (output, value, sensitive) in [("policy_id", "P1", false), ("key", "k3y", true)] {
                let resource = Resource {
                    id: output.into(),
                    props: Map::new(),
                    outputs: BTreeMap::from([("value".to_owned(), value.to_owned())]),
                };
                let secret = if sensitive {
                    vec!["value".to_owned()]
                } else {
                    vec![]
                };
                state.resources.insert(
                    output.into(),
                    Entry::ready(
                        super::super::output::NAME,
                        Some(resource),
                        Map::new(),
                        secret,
                        vec![],
                    ),
                );
            }
            Ok(Some(("platform.json".into(), state)))
        }
    }

    async fn read(props: Value) -> ProviderResult<Resource> {
        let provider = BlueprintsProvider {
            reader: Arc::new(Platform),
        };
        let props = props.as_object().unwrap().clone();
        let assets = BTreeMap::new();
        provider
            .create(&Desired {
                blueprint: "checkout",
                node: "read",
                kind: NAME,
                props: &props,
                assets: &assets,
            })
            .await
    }

    #[tokio::test]
    async fn a_published_output_is_read_and_what_is_missing_is_named() {
        let r = read(json!({"blueprint": "platform", "output": "policy_id"}))
            .await
            .unwrap();
        assert_eq!(r.outputs["value"], "P1");
        assert_eq!(r.id, "platform/policy_id");

        let e = read(json!({"blueprint": "platform", "output": "team_id"}))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::NotFound);
        assert!(
            e.message
                .contains("publishes no output 'team_id'; it publishes key, policy_id"),
            "{e}"
        );
        assert!(e.message.contains("serial 3"), "{e}");

        let e = read(json!({"blueprint": "search", "output": "x"}))
            .await
            .unwrap_err();
        assert!(
            e.message.contains(
                "blueprint 'search' records nothing at .blueprint/search.json: apply it first"
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_secret_is_read_only_by_a_lookup_marked_sensitive() {
        let e = read(json!({"blueprint": "platform", "output": "key"}))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("is sensitive: set sensitive = true"),
            "{e}"
        );
        let r = read(json!({"blueprint": "platform", "output": "key", "sensitive": true}))
            .await
            .unwrap();
        assert_eq!(r.outputs["value"], "k3y");
    }

    fn props(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    /// An output carrying an integration key must say it is sensitive; then
    /// its value (and what reads it) is redacted like the key itself.
    #[test]
    fn an_output_carrying_a_secret_must_be_marked_and_is_then_redacted() {
        let catalog = crate::providers::catalog();
        let graph = |sensitive: Option<bool>| {
            let mut g = Graph::default();
            g.declare(
                "pagerduty.service_integration",
                "integration",
                props(json!({"service": "PEXIST1", "vendor": "PVENDOR"})),
            );
            let mut output = json!({"value": token::make("integration", "integration_key")});
            if let Some(s) = sensitive {
                output["sensitive"] = json!(s);
            }
            g.declare(super::super::output::NAME, "key", props(output));
            g.declare(
                NAME,
                "theirs",
                props(json!({"blueprint": "platform", "output": "key", "sensitive": true})),
            );
            g.declare(
                "pagerduty.team",
                "team",
                props(json!({"name": token::make("theirs", "value")})),
            );
            g
        };
        for unmarked in [None, Some(false)] {
            let g = graph(unmarked);
            let problems = blueprint_model::graph::validate::validate(&g, catalog)
                .unwrap_err()
                .problems;
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].class, ProblemClass::UnmarkedSecret);
            assert_eq!(problems[0].node.as_deref(), Some("key"));
            assert!(
                problems[0].message.contains("set sensitive = true"),
                "{problems:?}"
            );
        }
        let g = graph(Some(true));
        blueprint_model::graph::validate::validate(&g, catalog).unwrap();
        let sensitive =
            |node: &str| crate::engine::resolve::sensitive_props(g.node(node).unwrap(), &g);
        assert_eq!(sensitive("key"), ["value"]);
        // What reads a sensitive output is sensitive where it lands.
        assert_eq!(sensitive("team"), ["name"]);
    }
}
