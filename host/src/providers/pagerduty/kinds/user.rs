//! `pagerduty.user` (lookup): an existing user, found by email.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::super::PagerDutyProvider;
use crate::providers::{
    Desired, ErrorClass, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, Role, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "pagerduty.user";
pub type Props = wit::UserLookup;
pub type Ref = wit::UserRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: true,
    role: Some(Role::User),
    outputs: &[out("id"), out("name")],
    required: &["email"],
    refs: &[],
    check: |c| {
        if let Some(email) = c.literal("email")
            && !email.contains('@')
        {
            c.bad("email", format!("{email:?} is not an email address"));
        }
    },
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_user",
        block: Block::Data,
        props: &[same("email")],
        outputs: &[
            ("id", OutputMap::Attr("id")),
            ("name", OutputMap::Attr("name")),
        ],
        attributes: &["id", "name", "email", "role", "job_title", "time_zone"],
        finish: None,
    },
    import: None,
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub struct Kind;

#[async_trait]
impl ResourceKind<PagerDutyProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// The user with exactly this email, compared case-insensitively.
    async fn create(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let email = p.email.as_str();
        let users = pd
            .client
            .list("/users", "users", &[("query", email.to_owned())])
            .await
            .map_err(|e| e.at(&d.address()))?;
        let matches: Vec<&Value> = users
            .iter()
            .filter(|u| {
                u["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .collect();
        match matches.as_slice() {
            [one] => {
                let id = one["id"].as_str().unwrap_or_default().to_owned();
                Ok(Resource {
                    id: id.clone(),
                    props: [("email".to_owned(), json!(email))].into_iter().collect(),
                    outputs: [
                        ("id".to_owned(), id),
                        (
                            "name".to_owned(),
                            one["name"].as_str().unwrap_or_default().to_owned(),
                        ),
                    ]
                    .into(),
                })
            }
            [] => Err(ProviderError::new(
                ErrorClass::NotFound,
                format!(
                    "{}: no PagerDuty user has the email {email:?} (users are created in PagerDuty itself; check the address)",
                    d.address()
                ),
            )),
            several => Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "{}: {} PagerDuty users have the email {email:?} ({}); PagerDuty should not allow this — fix the accounts",
                    d.address(),
                    several.len(),
                    several
                        .iter()
                        .filter_map(|u| u["id"].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}
