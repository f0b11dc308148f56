//! `aws.iam_role_policy_attachment`: a managed policy attached to a role.

use super::super::access::Phase::{Delete, Read, Write};
use super::super::access::{Iam, grant};
use async_trait::async_trait;
use serde_json::json;

use super::super::{AwsProvider, gone_ok, optional, prior_str, props};
use crate::providers::{Desired, Found, Identity, ProviderResult, Resource, ResourceKind};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "aws.iam_role_policy_attachment";
pub type Props = wit::IamRolePolicyAttachmentProps;
pub type Ref = wit::IamRolePolicyAttachmentRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["role", "policy_arn"],
    refs: &[refs("role", &[super::iam_role::NAME])],
    check: |c| {
        if let Some(arn) = c.literal("policy_arn")
            && !arn.starts_with("arn:")
        {
            c.bad("policy_arn", format!("{arn:?} is not an ARN"));
        }
    },
    // Every prop identifies the attachment.
    replace_on_change: &["role", "policy_arn"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_iam_role_policy_attachment",
        block: Block::Resource,
        props: &[same("role"), same("policy_arn")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "role", "policy_arn"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{role}/{policy_arn}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role_policy_attachment#import",
        identity: &["role", "policy_arn"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// On the role (`role` is its name, or references the role node).
pub static IAM: Iam = Iam {
    outputs: &[],
    grants: &[
        grant(Read, &["iam:ListAttachedRolePolicies"], &[ROLE]),
        grant(Write, &["iam:AttachRolePolicy"], &[ROLE]),
        grant(Delete, &["iam:DetachRolePolicy"], &[ROLE]),
    ],
};
const ROLE: &str = "{role>arn|arn:{partition}:iam::{account}:role/{role}}";

/// `terraform import aws_iam_role_policy_attachment.x ROLE/POLICY_ARN` (the
/// provider's "Import" section): the prior resource `read` takes.
fn import_prior(
    id: &str,
    _props: &serde_json::Map<String, serde_json::Value>,
) -> Result<Resource, String> {
    let (role, policy_arn) = blueprint_model::import_id::split2(id, '/', "ROLE_NAME/POLICY_ARN")?;
    if !policy_arn.starts_with("arn:") {
        return Err(format!("{policy_arn:?} is not a policy ARN"));
    }
    Ok(attachment_resource(&Props {
        role: role.to_owned(),
        policy_arn: policy_arn.to_owned(),
    }))
}

pub struct Kind;

/// An attachment is identified by its role and policy.
fn attachment_resource(p: &Props) -> Resource {
    let id = format!("{}/{}", p.role, p.policy_arn);
    Resource {
        props: props(vec![
            ("role", json!(p.role)),
            ("policy_arn", json!(p.policy_arn)),
        ]),
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    }
}

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Found by what it belongs to.
    fn identity(&self) -> Identity {
        Identity::Parents
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        aws.call(&d.address(), || {
            aws.iam
                .attach_role_policy()
                .role_name(&p.role)
                .policy_arn(&p.policy_arn)
                .send()
        })
        .await?;
        Ok(attachment_resource(&p))
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        let role = prior_str(prior, "role")?;
        let arn = prior_str(prior, "policy_arn")?;
        let address = format!("policy attachment {}", prior.id);
        let out = optional(
            aws.call(&address, || {
                aws.iam
                    .list_attached_role_policies()
                    .role_name(role)
                    .max_items(1000)
                    .send()
            })
            .await,
        )?;
        let attached = out.is_some_and(|o| {
            o.attached_policies()
                .iter()
                .any(|p| p.policy_arn() == Some(arn))
        });
        Ok(attached.then(|| prior.clone()))
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        let role = prior_str(prior, "role")?;
        let arn = prior_str(prior, "policy_arn")?;
        let address = format!("policy attachment {}", prior.id);
        gone_ok(
            aws.call(&address, || {
                aws.iam
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
            })
            .await
            .map(|_| ()),
        )
    }

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        self.read(aws, &attachment_resource(&p))
            .await
            .map(Found::part)
    }
}
