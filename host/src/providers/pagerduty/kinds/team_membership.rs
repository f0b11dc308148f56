//! `pagerduty.team_membership`: a user in a team with a role
//! (`PUT/DELETE /teams/{team}/users/{user}`).

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::super::{PagerDutyProvider, prior_prop, string_props};
use crate::providers::{Desired, Found, Identity, ProviderResult, Resource, ResourceKind};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same, to};

pub const NAME: &str = "pagerduty.team_membership";
pub type Props = wit::TeamMembershipProps;
pub type Ref = wit::TeamMembershipRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["team", "user"],
    refs: &[
        refs("team", &[super::team::NAME]),
        refs("user", &[super::user::NAME]),
    ],
    check: |c| c.one_of("role", &["observer", "responder", "manager"]),
    replace_on_change: &["team", "user"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_team_membership",
        block: Block::Resource,
        props: &[
            to("team", "team_id"),
            to("user", "user_id"),
            // The provider defaults to `manager`, the host to `responder`.
            same("role").absent("responder"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "team_id", "user_id", "role"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{user_id}:{team_id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/team_membership#import",
        identity: &["team", "user"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// `terraform import pagerduty_team_membership.x USER_ID:TEAM_ID` (the
/// provider's "Import" section; note the user first): the prior resource `read`
/// takes, under this kind's own id `TEAM:USER`.
fn import_prior(
    id: &str,
    _props: &serde_json::Map<String, serde_json::Value>,
) -> Result<Resource, String> {
    let (user, team) = blueprint_model::import_id::split2(id, ':', "USER_ID:TEAM_ID")?;
    let id = format!("{team}:{user}");
    Ok(Resource {
        props: string_props(&[("team", team), ("user", user)]),
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    })
}

pub struct Kind;

/// The resource a membership is, from its desired props (no API call).
fn membership_resource(p: &Props) -> Resource {
    let role = p.role.as_deref().unwrap_or("responder");
    let id = format!("{}:{}", p.team, p.user);
    Resource {
        props: string_props(&[("team", &p.team), ("user", &p.user), ("role", role)]),
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    }
}

async fn put(pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let p: Props = d.typed()?;
    let resource = membership_resource(&p);
    let path = format!("/teams/{}/users/{}", p.team, p.user);
    let body = json!({ "role": resource.props["role"] });
    super::super::while_propagating(pd, &format!("add {}", d.address()), &[404], || {
        pd.client.call(Method::PUT, &path, &[], Some(&body))
    })
    .await
    .map_err(|e| e.at(&d.address()))?;
    Ok(resource)
}

/// The membership, if the team lists it.
async fn read_membership(
    pd: &PagerDutyProvider,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    let team = prior_prop(prior, "team")?;
    let user = prior_prop(prior, "user")?;
    let members = match pd
        .client
        .list(&format!("/teams/{team}/members"), "members", &[])
        .await
    {
        Ok(members) => members,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.at(&format!("membership {}", prior.id))),
    };
    Ok(members
        .iter()
        .find(|m| m["user"]["id"].as_str() == Some(user))
        .map(|m| Resource {
            id: prior.id.clone(),
            props: string_props(&[
                ("team", team),
                ("user", user),
                ("role", m["role"].as_str().unwrap_or_default()),
            ]),
            outputs: prior.outputs.clone(),
        }))
}

#[async_trait]
impl ResourceKind<PagerDutyProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Found by what it belongs to.
    fn identity(&self) -> Identity {
        Identity::Parents
    }

    async fn create(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        put(pd, d).await
    }

    async fn read(
        &self,
        pd: &PagerDutyProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        super::super::settled_read(|| read_membership(pd, prior)).await
    }

    async fn update(
        &self,
        pd: &PagerDutyProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        put(pd, d).await
    }

    async fn delete(&self, pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
        let path = format!(
            "/teams/{}/users/{}",
            prior_prop(prior, "team")?,
            prior_prop(prior, "user")?
        );
        // Refused while an escalation policy of the team (being deleted in the
        // same destroy) still reaches the user: retried until it is gone.
        let what = format!("remove membership {}", prior.id);
        let removed = crate::providers::retry::while_in_use(
            &what,
            || pd.client.call(Method::DELETE, &path, &[], None),
            super::super::ApiError::in_use,
        )
        .await;
        match removed {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.at(&format!("membership {}", prior.id))),
        }
    }

    async fn find(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        // One look: a create that follows must not wait out the settling
        // window `read` gives fresh objects.
        read_membership(pd, &membership_resource(&p))
            .await
            .map(Found::part)
    }
}
