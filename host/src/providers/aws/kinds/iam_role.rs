//! `aws.iam_role`: an IAM role with its trust policy.

use super::super::access::Phase::{Delete, Read, Write};
use super::super::access::{Iam, OWN, grant};
use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use serde_json::{Value, json};

use super::super::{AwsProvider, by_tags, gone_ok, optional, props, sync_tags, tags, user_tags};
use crate::providers::{
    Desired, ErrorClass, Found, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{Controls, KindInfo, mirror, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TAGS, TerraformMap, same};

pub const NAME: &str = "aws.iam_role";
pub type Props = wit::IamRoleProps;
pub type Ref = wit::IamRoleRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("arn"), mirror("name", "name")],
    required: &["name", "assume_role_policy"],
    refs: &[],
    check: |c| {
        c.pattern("name", 1, 64, |ch| {
            ch.is_ascii_alphanumeric() || "+=,.@_-".contains(ch)
        });
        if let Some(policy) = c.literal("assume_role_policy")
            && let Err(e) = serde_json::from_str::<Value>(policy)
        {
            c.bad("assume_role_policy", format!("is not a JSON document: {e}"));
        }
    },
    replace_on_change: &["name", "path"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_iam_role",
        block: Block::Resource,
        props: &[
            same("name"),
            same("assume_role_policy"),
            same("description"),
            same("path"),
            TAGS,
        ],
        outputs: &[
            ("arn", OutputMap::Attr("arn")),
            ("name", OutputMap::Attr("name")),
        ],
        attributes: &["arn", "id", "name", "unique_id", "create_date"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    // "[\u0009\u000A\u000D\u0020-\u00FF]+" for policy documents and
    // "[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*" for a role's
    // description (IAM API Reference, CreateRole).
    text_controls: &[
        ("assume_role_policy", Controls::These(&['\t', '\n', '\r'])),
        ("description", Controls::These(&['\t', '\n', '\r'])),
    ],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[
        ("arn", "arn:{partition}:iam::{account}:role{path|/}{name}"),
        ("name", "{name}"),
    ],
    grants: &[
        grant(Read, &["iam:GetRole", "iam:ListRoleTags"], &[OWN]),
        grant(
            Write,
            &[
                "iam:CreateRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
            ],
            &[OWN],
        ),
        grant(Delete, &["iam:DeleteRole"], &[OWN]),
    ],
};

pub struct Kind;

fn role_resource(role: &aws_sdk_iam::types::Role) -> Resource {
    // IAM returns the trust policy URL-encoded.
    let policy = role.assume_role_policy_document().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let pairs: Vec<(String, String)> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    Resource {
        id: role.role_name().to_owned(),
        props: props(vec![
            ("name", json!(role.role_name())),
            (
                "assume_role_policy",
                policy.map_or(Value::Null, |p| json!(p)),
            ),
            ("description", super::super::opt(role.description())),
            ("path", json!(role.path())),
            ("tags", user_tags(pairs)),
        ]),
        outputs: [
            ("arn".to_owned(), role.arn().to_owned()),
            ("name".to_owned(), role.role_name().to_owned()),
        ]
        .into(),
    }
}

fn tag_list(d: &Desired<'_>, p: &Props) -> Vec<Tag> {
    tags(d, p.tags.as_deref())
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

async fn read_by_name(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || aws.iam.get_role().role_name(name).send())
            .await,
    )?;
    Ok(out.and_then(|o| o.role().map(role_resource)))
}

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let tags = tag_list(d, &p);
        let out = aws
            .call(&address, || {
                aws.iam
                    .create_role()
                    .role_name(&p.name)
                    .assume_role_policy_document(&p.assume_role_policy)
                    .set_description(p.description.clone())
                    .set_path(p.path.clone())
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        match out.role() {
            Some(role) => Ok(role_resource(role)),
            None => read_by_name(aws, &p.name, &address).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Transient,
                    format!("{address}: created but not readable yet"),
                )
            }),
        }
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        read_by_name(aws, &prior.id, &format!("IAM role {}", prior.id)).await
    }

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let name = p.name.as_str();
        if changed.iter().any(|c| c == "assume_role_policy") {
            aws.call(&address, || {
                aws.iam
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(&p.assume_role_policy)
                    .send()
            })
            .await?;
        }
        if changed.iter().any(|c| c == "description") {
            aws.call(&address, || {
                aws.iam
                    .update_role()
                    .role_name(name)
                    .description(p.description.clone().unwrap_or_default())
                    .send()
            })
            .await?;
        }
        if changed.iter().any(|c| c == "tags") {
            let want = tags(d, p.tags.as_deref());
            let tag_values = tag_list(d, &p);
            let iam = &aws.iam;
            sync_tags(
                &want,
                async || {
                    aws.call(&address, || {
                        iam.tag_role()
                            .role_name(name)
                            .set_tags(Some(tag_values.clone()))
                            .send()
                    })
                    .await
                    .map(drop)
                },
                async || {
                    let current = aws
                        .call(&address, || iam.list_role_tags().role_name(name).send())
                        .await?;
                    Ok(current.tags().iter().map(|t| t.key().to_owned()).collect())
                },
                async |stale| {
                    aws.call(&address, || {
                        iam.untag_role()
                            .role_name(name)
                            .set_tag_keys(Some(stale.clone()))
                            .send()
                    })
                    .await
                    .map(drop)
                },
            )
            .await?;
        }
        read_by_name(aws, name, &address).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("{address}: the role disappeared during the update"),
            )
        })
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        let address = format!("IAM role {}", prior.id);
        // IAM answers DeleteConflict ("Cannot delete entity, must detach all
        // policies first") for a while after the last DetachRolePolicy: retried
        // within the same bound as every "still in use" delete.
        gone_ok(
            aws.call_with(
                &address,
                crate::providers::retry::Policy::IN_USE,
                &["DeleteConflict"],
                || aws.iam.delete_role().role_name(&prior.id).send(),
            )
            .await
            .map(|_| ()),
        )
    }

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        let out = optional(
            aws.call(&d.address(), || {
                aws.iam.get_role().role_name(&p.name).send()
            })
            .await,
        )?;
        Ok(out.and_then(|o| {
            let role = o.role()?;
            let pairs: Vec<(String, String)> = role
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            Some(by_tags(role_resource(role), &pairs, d))
        }))
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        match prop {
            // IAM normalises policy documents; compare them as JSON.
            "assume_role_policy" => super::super::same_json_text(desired, observed),
            "tags" => super::super::same_set(desired, observed),
            _ => false,
        }
    }
}
