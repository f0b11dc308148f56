//! `aws.iam_role`: an IAM role with its trust policy.

use super::super::access::Phase::{Delete, Read, Write};
use super::super::access::{Iam, OWN, grant};
use aws_sdk_iam::types::Tag;
use serde_json::{Value, json};

use super::super::object::{TaggedObject, Tags};
use super::super::{AwsProvider, optional, props, tags, user_tags};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};
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

fn tag_list(pairs: &Tags) -> Vec<Tag> {
    pairs
        .iter()
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

impl TaggedObject for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    const NOUN: &'static str = "IAM role";

    async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let tags = tag_list(&tags(d, p.tags.as_deref()));
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

    async fn update(
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
        read_by_name(aws, name, &address).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::NotFound,
                format!("{address}: the role disappeared during the update"),
            )
        })
    }

    async fn read(
        aws: &AwsProvider,
        name: &str,
        address: &str,
    ) -> ProviderResult<Option<Resource>> {
        read_by_name(aws, name, address).await
    }

    /// GetRole answers the role and its tags at once.
    async fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> ProviderResult<Option<(Resource, Option<Tags>)>> {
        let p: Props = d.typed()?;
        let out = optional(
            aws.call(address, || aws.iam.get_role().role_name(&p.name).send())
                .await,
        )?;
        Ok(out.and_then(|o| {
            let role = o.role()?;
            let pairs: Tags = role
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            Some((role_resource(role), Some(pairs)))
        }))
    }

    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags> {
        let p: Props = d.typed()?;
        Ok(tags(d, p.tags.as_deref()))
    }

    /// IAM's tag calls name a role by its name, the role's id.
    fn tag_target(role: &Resource) -> Option<String> {
        Some(role.id.clone())
    }

    async fn list_tags(aws: &AwsProvider, name: &str, address: &str) -> ProviderResult<Tags> {
        let out = aws
            .call(address, || aws.iam.list_role_tags().role_name(name).send())
            .await?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn tag(aws: &AwsProvider, name: &str, tags: &Tags, address: &str) -> ProviderResult<()> {
        let tag_values = tag_list(tags);
        aws.call(address, || {
            aws.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(tag_values.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn untag(
        aws: &AwsProvider,
        name: &str,
        keys: Vec<String>,
        address: &str,
    ) -> ProviderResult<()> {
        aws.call(address, || {
            aws.iam
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(keys.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    /// IAM answers DeleteConflict ("Cannot delete entity, must detach all
    /// policies first") for a while after the last DetachRolePolicy: retried
    /// within the same bound as every "still in use" delete.
    async fn remove(aws: &AwsProvider, name: &str, address: &str) -> ProviderResult<()> {
        aws.call_with(
            address,
            crate::providers::retry::Policy::IN_USE,
            &["DeleteConflict"],
            || aws.iam.delete_role().role_name(name).send(),
        )
        .await
        .map(drop)
    }

    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        // IAM normalises policy documents; compare them as JSON.
        prop == "assume_role_policy" && super::super::same_json_text(desired, observed)
    }
}
