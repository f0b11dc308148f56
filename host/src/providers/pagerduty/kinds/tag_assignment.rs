//! `pagerduty.tag_assignment`: a tag on a user, team or escalation policy
//! (`POST /{entity_type}/{id}/change_tags` adds or removes; `GET
//! /{entity_type}/{id}/tags` lists). Nothing to update: every prop replaces.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::super::{PagerDutyProvider, prior_prop, string_props};
use crate::providers::{Desired, Found, Identity, ProviderResult, Resource, ResourceKind};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, to};

pub const NAME: &str = "pagerduty.tag_assignment";
pub type Props = wit::TagAssignmentProps;
pub type Ref = wit::TagAssignmentRef;

/// What PagerDuty tags (the `entity_type` path segment).
const ENTITY_TYPES: &[&str] = &["users", "teams", "escalation_policies"];

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["tag", "entity_type", "entity"],
    refs: &[
        refs("tag", &[super::tag::NAME]),
        refs(
            "entity",
            &[
                super::user::NAME,
                super::team::NAME,
                super::escalation_policy::NAME,
            ],
        ),
    ],
    check: |c| c.one_of("entity_type", ENTITY_TYPES),
    replace_on_change: &["tag", "entity_type", "entity"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_tag_assignment",
        block: Block::Resource,
        props: &[
            to("tag", "tag_id"),
            blueprint_model::terraform::same("entity_type"),
            to("entity", "entity_id"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "tag_id", "entity_type", "entity_id"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{entity_type}.{entity_id}.{tag_id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/tag_assignment#import",
        identity: &["tag", "entity_type", "entity"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// `terraform import pagerduty_tag_assignment.x ENTITY_TYPE.ENTITY_ID.TAG_ID`
/// (the provider's "Import" section), which is also this kind's own id.
fn import_prior(
    id: &str,
    _props: &serde_json::Map<String, serde_json::Value>,
) -> Result<Resource, String> {
    let format = "ENTITY_TYPE.ENTITY_ID.TAG_ID";
    let parts: Vec<&str> = id.split('.').collect();
    let [entity_type, entity, tag] = parts[..] else {
        return Err(format!("{id:?} is not {format}"));
    };
    if !ENTITY_TYPES.contains(&entity_type) || entity.is_empty() || tag.is_empty() {
        return Err(format!(
            "{id:?} is not {format} (ENTITY_TYPE: {})",
            ENTITY_TYPES.join(", ")
        ));
    }
    Ok(assignment(tag, entity_type, entity))
}

fn assignment(tag: &str, entity_type: &str, entity: &str) -> Resource {
    let id = format!("{entity_type}.{entity}.{tag}");
    Resource {
        props: string_props(&[
            ("tag", tag),
            ("entity_type", entity_type),
            ("entity", entity),
        ]),
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    }
}

pub struct Kind;

/// Adds (`add`) or removes (`remove`) the tag. A fresh tag or entity may
/// answer 404 for a moment: an add retries it; a remove takes it as done.
async fn change(pd: &PagerDutyProvider, r: &Resource, how: &str) -> ProviderResult<()> {
    let address = format!("tag assignment {}", r.id);
    let path = format!(
        "/{}/{}/change_tags",
        prior_prop(r, "entity_type")?,
        prior_prop(r, "entity")?
    );
    let body = json!({ how: [{"type": "tag_reference", "id": prior_prop(r, "tag")?}] });
    let call = || pd.client.call(Method::POST, &path, &[], Some(&body));
    let result = if how == "add" {
        super::super::while_propagating(pd, &format!("{how} {address}"), &[404], call).await
    } else {
        call().await
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) if how == "remove" && e.is_not_found() => Ok(()),
        Err(e) => Err(e.at(&address)),
    }
}

/// The assignment, if the entity lists the tag.
async fn read_assignment(
    pd: &PagerDutyProvider,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    let entity_type = prior_prop(prior, "entity_type")?;
    let entity = prior_prop(prior, "entity")?;
    let tag = prior_prop(prior, "tag")?;
    match pd
        .client
        .list(&format!("/{entity_type}/{entity}/tags"), "tags", &[])
        .await
    {
        Ok(tags) => Ok(tags
            .iter()
            .any(|t| t["id"].as_str() == Some(tag))
            .then(|| assignment(tag, entity_type, entity))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.at(&format!("tag assignment {}", prior.id))),
    }
}

#[async_trait]
impl ResourceKind<PagerDutyProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Found by what it joins.
    fn identity(&self) -> Identity {
        Identity::Parents
    }

    async fn create(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let r = assignment(&p.tag, &p.entity_type, &p.entity);
        change(pd, &r, "add").await?;
        Ok(r)
    }

    async fn read(
        &self,
        pd: &PagerDutyProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        super::super::settled_read(|| read_assignment(pd, prior)).await
    }

    async fn update(
        &self,
        pd: &PagerDutyProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        self.create(pd, d).await
    }

    async fn delete(&self, pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
        change(pd, prior, "remove").await
    }

    async fn find(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        read_assignment(pd, &assignment(&p.tag, &p.entity_type, &p.entity))
            .await
            .map(Found::part)
    }
}
