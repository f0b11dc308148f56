//! `aws.sqs_queue_policy`: the access policy of a queue — for a dead-letter
//! queue, the statement that lets SNS send to it (without it SNS cannot redrive
//! a failed page and counts `NumberOfNotificationsFailedToRedriveToDlq`).

use super::super::access::Phase::{Delete, Read, Write};
use super::super::access::{Iam, grant};
use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use serde_json::{Value, json};

use super::super::{
    AwsProvider, POLICY_CONTROLS, check_policy_document, gone_ok, optional, props, same_json_text,
};
use crate::providers::{
    Desired, ErrorClass, Found, Identity, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, mirror, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same, to};

pub const NAME: &str = "aws.sqs_queue_policy";
pub type Props = wit::SqsQueuePolicyProps;
pub type Ref = wit::SqsQueuePolicyRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::QueuePolicy),
    outputs: &[mirror("id", "queue_url")],
    required: &["queue_url", "policy"],
    refs: &[refs("queue_url", &[super::sqs_queue::NAME])],
    check: check_policy_document,
    // A queue has one policy: another queue is another policy.
    replace_on_change: &["queue_url"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_sqs_queue_policy",
        block: Block::Resource,
        props: &[to("queue_url", "queue_url"), same("policy")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "queue_url", "policy"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{queue_url}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/sqs_queue_policy#import",
        identity: &["queue_url"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: POLICY_CONTROLS,
    parse: parse_as::<Props>,
};

/// On the queue (`queue_url` references the queue node).
pub static IAM: Iam = Iam {
    outputs: &[],
    grants: &[
        grant(Read, &["sqs:GetQueueAttributes"], &[QUEUE]),
        grant(Write, &["sqs:SetQueueAttributes"], &[QUEUE]),
        // Deleting the policy sets it empty.
        grant(Delete, &["sqs:SetQueueAttributes"], &[QUEUE]),
    ],
};
const QUEUE: &str = "{queue_url>arn}";

pub struct Kind;

fn policy_resource(url: &str, policy: &str) -> Resource {
    Resource {
        id: url.to_owned(),
        props: props(vec![("queue_url", json!(url)), ("policy", json!(policy))]),
        outputs: [("id".to_owned(), url.to_owned())].into(),
    }
}

/// The queue's policy; `None` when the queue is gone or has none.
async fn read_url(aws: &AwsProvider, url: &str, address: &str) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || {
            aws.sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(Attr::Policy)
                .send()
        })
        .await,
    )?;
    Ok(out.and_then(|o| {
        o.attributes()
            .and_then(|a| a.get(&Attr::Policy))
            .filter(|p| !p.is_empty())
            .map(|p| policy_resource(url, p))
    }))
}

async fn set_policy(
    aws: &AwsProvider,
    url: &str,
    policy: &str,
    address: &str,
) -> ProviderResult<()> {
    aws.call(address, || {
        aws.sqs
            .set_queue_attributes()
            .queue_url(url)
            .attributes(Attr::Policy, policy)
            .send()
    })
    .await
    .map(drop)
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
        let address = d.address();
        set_policy(aws, &p.queue_url, &p.policy, &address).await?;
        Ok(policy_resource(&p.queue_url, &p.policy))
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        read_url(aws, &prior.id, &format!("SQS queue policy {}", prior.id)).await
    }

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        set_policy(aws, &prior.id, &p.policy, &address).await?;
        read_url(aws, &prior.id, &address)
            .await?
            .ok_or_else(|| ProviderError::new(ErrorClass::NotFound, format!("{address}: gone")))
    }

    /// An empty `Policy` removes it (SetQueueAttributes; terraform-provider-aws
    /// deletes `aws_sqs_queue_policy` the same way); a deleted queue has none.
    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        gone_ok(
            set_policy(
                aws,
                &prior.id,
                "",
                &format!("SQS queue policy {}", prior.id),
            )
            .await,
        )
    }

    /// The policy of this node's queue, identified by its parent (the queue is
    /// this blueprint's, found by its own tags).
    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        read_url(aws, &p.queue_url, &d.address())
            .await
            .map(Found::part)
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        // SQS may hand the document back reformatted: compare it as JSON.
        prop == "policy" && same_json_text(desired, observed)
    }
}
