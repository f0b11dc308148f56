//! `aws.sns_topic_policy`: the access policy of a topic — for a topic an
//! EventBridge rule targets, the statement that lets `events.amazonaws.com`
//! publish (without it EventBridge's deliveries fail, counted in the rule's
//! `FailedInvocations`, and nobody is paged).

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{Iam, grant};
use async_trait::async_trait;
use serde_json::{Value, json};

use super::super::{
    AwsProvider, POLICY_CONTROLS, check_policy_document, gone_ok, optional, props, same_json_text,
};
use crate::providers::{
    Desired, ErrorClass, Found, Identity, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, mirror, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "aws.sns_topic_policy";
pub type Props = wit::SnsTopicPolicyProps;
pub type Ref = wit::SnsTopicPolicyRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::TopicPolicy),
    outputs: &[mirror("id", "arn")],
    required: &["arn", "policy"],
    refs: &[refs("arn", &[super::sns_topic::NAME])],
    check: check_policy_document,
    // A topic has one policy: another topic is another policy.
    replace_on_change: &["arn"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_sns_topic_policy",
        block: Block::Resource,
        props: &[same("arn"), same("policy")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "arn", "policy", "owner"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{arn}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/sns_topic_policy#import",
        identity: &["arn"],
        prior: blueprint_model::import_id::arn_only,
    }),
    text_controls: POLICY_CONTROLS,
    parse: parse_as::<Props>,
};

/// On the topic (`arn` references the topic node).
pub static IAM: Iam = Iam {
    outputs: &[],
    grants: &[
        grant(Read, &["sns:GetTopicAttributes"], &[TOPIC]),
        grant(Write, &["sns:SetTopicAttributes"], &[TOPIC]),
        // Deleting the policy writes the default one back.
        grant(
            Delete,
            &["sns:GetTopicAttributes", "sns:SetTopicAttributes"],
            &[TOPIC],
        ),
        // The drill reads whether EventBridge may publish.
        grant(Drill, &["sns:GetTopicAttributes"], &[TOPIC]),
    ],
};
const TOPIC: &str = "{arn>arn|{arn}}";

/// The statement id SNS gives the policy of a new topic ("__default_statement_ID"
/// in the policy GetTopicAttributes returns before anyone sets one).
const DEFAULT_STATEMENT: &str = "__default_statement_ID";

pub struct Kind;

fn policy_resource(arn: &str, policy: &str) -> Resource {
    Resource {
        id: arn.to_owned(),
        props: props(vec![("arn", json!(arn)), ("policy", json!(policy))]),
        outputs: [("id".to_owned(), arn.to_owned())].into(),
    }
}

/// Whether `policy` is the one SNS gives every topic: its statements are all
/// the default statement (the topic's owner may do everything).
fn is_default(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => return false,
    };
    !statements.is_empty()
        && statements
            .iter()
            .all(|s| s["Sid"].as_str() == Some(DEFAULT_STATEMENT))
}

/// The default policy of `arn`, as SNS writes it for a new topic (and as
/// terraform-provider-aws writes back when `aws_sns_topic_policy` is deleted):
/// the topic's account may do everything with it.
fn default_policy(arn: &str) -> String {
    let account = arn.split(':').nth(4).unwrap_or_default();
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": DEFAULT_STATEMENT,
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

/// The topic's own policy; `None` when the topic is gone or has only SNS's
/// default one (nothing this node wrote).
async fn read_arn(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || {
            aws.sns.get_topic_attributes().topic_arn(arn).send()
        })
        .await,
    )?;
    Ok(out.and_then(|o| {
        o.attributes()
            .and_then(|a| a.get("Policy"))
            .filter(|p| !p.is_empty() && !is_default(p))
            .map(|p| policy_resource(arn, p))
    }))
}

async fn set_policy(
    aws: &AwsProvider,
    arn: &str,
    policy: &str,
    address: &str,
) -> ProviderResult<()> {
    aws.call(address, || {
        aws.sns
            .set_topic_attributes()
            .topic_arn(arn)
            .attribute_name("Policy")
            .attribute_value(policy)
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
        set_policy(aws, &p.arn, &p.policy, &d.address()).await?;
        Ok(policy_resource(&p.arn, &p.policy))
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        read_arn(aws, &prior.id, &format!("SNS topic policy {}", prior.id)).await
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
        read_arn(aws, &prior.id, &address)
            .await?
            .ok_or_else(|| ProviderError::new(ErrorClass::NotFound, format!("{address}: gone")))
    }

    /// A topic always has a policy: deleting this one writes SNS's default back
    /// (as terraform-provider-aws deletes `aws_sns_topic_policy`); a deleted
    /// topic has none to restore.
    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        let address = format!("SNS topic policy {}", prior.id);
        gone_ok(set_policy(aws, &prior.id, &default_policy(&prior.id), &address).await)
    }

    /// The policy of this node's topic, identified by its parent (the topic is
    /// this blueprint's, found by its own tags); SNS's default is no policy.
    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        read_arn(aws, &p.arn, &d.address()).await.map(Found::part)
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        // SNS hands the document back reformatted: compare it as JSON.
        prop == "policy" && same_json_text(desired, observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_recognised_and_others_are_not() {
        let arn = "arn:aws:sns:us-east-1:123456789012:pages";
        assert!(is_default(&default_policy(arn)));
        assert!(default_policy(arn).contains(r#""AWS:SourceOwner":"123456789012""#));
        let events = r#"{"Version":"2012-10-17","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":"SNS:Publish","Resource":"x"},{"Sid":"events","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"x"}]}"#;
        assert!(!is_default(events), "a statement added to the default");
        assert!(!is_default("not json"));
        assert!(!is_default(r#"{"Statement":[]}"#));
    }
}
