//! `aws.sns_topic`: a topic alarms notify.

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, OWN, grant};
use serde_json::{Value, json};

use super::super::object::{TaggedObject, Tags};
use super::super::{AwsProvider, optional, props, tags};
use crate::providers::{Desired, ProviderResult, Resource};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TAGS, TerraformMap, same};

pub const NAME: &str = "aws.sns_topic";
pub type Props = wit::SnsTopicProps;
pub type Ref = wit::SnsTopicRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Topic),
    outputs: &[out("arn")],
    required: &["name"],
    refs: &[],
    check: |c| {
        c.pattern("name", 1, 256, |ch| {
            ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'
        })
    },
    replace_on_change: &["name"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_sns_topic",
        block: Block::Resource,
        props: &[same("name"), same("display_name"), TAGS],
        outputs: &[("arn", OutputMap::Attr("arn"))],
        attributes: &["arn", "id", "name"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{arn}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/sns_topic#import",
        identity: &["name"],
        prior: blueprint_model::import_id::arn_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[("arn", "arn:{partition}:sns:{region}:{account}:{name}")],
    grants: &[
        grant(
            Read,
            &["sns:GetTopicAttributes", "sns:ListTagsForResource"],
            &[OWN],
        ),
        grant(
            Write,
            &[
                "sns:CreateTopic",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            &[OWN],
        ),
        grant(Delete, &["sns:DeleteTopic"], &[OWN]),
        // The drill publishes to the topic and reads SNS's delivery metrics.
        grant(Drill, &["sns:Publish"], &[OWN]),
        grant(Drill, &["cloudwatch:GetMetricStatistics"], &[ANY]),
    ],
};

pub struct Kind;

/// Tag pairs as SNS's `Tag` records (create and update send the same set).
fn sns_tags(pairs: &[(String, String)]) -> Vec<aws_sdk_sns::types::Tag> {
    pairs
        .iter()
        .filter_map(|(k, v)| {
            aws_sdk_sns::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

fn topic_resource(arn: &str, display_name: Option<&str>) -> Resource {
    let name = arn.rsplit(':').next().unwrap_or_default();
    Resource {
        id: arn.to_owned(),
        props: props(vec![
            ("name", json!(name)),
            (
                "display_name",
                display_name
                    .filter(|d| !d.is_empty())
                    .map_or(Value::Null, |d| json!(d)),
            ),
        ]),
        outputs: [("arn".to_owned(), arn.to_owned())].into(),
    }
}

impl TaggedObject for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    const NOUN: &'static str = "SNS topic";

    async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let tag_list = sns_tags(&tags(d, p.tags.as_deref()));
        let out = aws
            .call(&d.address(), || {
                let mut request = aws
                    .sns
                    .create_topic()
                    .name(&p.name)
                    .set_tags(Some(tag_list.clone()));
                if let Some(display) = &p.display_name {
                    request = request.attributes("DisplayName", display);
                }
                request.send()
            })
            .await?;
        let arn = out.topic_arn().unwrap_or_default();
        Ok(topic_resource(arn, p.display_name.as_deref()))
    }

    async fn update(
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        aws.call(&d.address(), || {
            aws.sns
                .set_topic_attributes()
                .topic_arn(&prior.id)
                .attribute_name("DisplayName")
                .attribute_value(p.display_name.clone().unwrap_or_default())
                .send()
        })
        .await?;
        Ok(topic_resource(&prior.id, p.display_name.as_deref()))
    }

    async fn read(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Option<Resource>> {
        let out = optional(
            aws.call(address, || {
                aws.sns.get_topic_attributes().topic_arn(arn).send()
            })
            .await,
        )?;
        Ok(out.map(|o| {
            let display = o
                .attributes()
                .and_then(|a| a.get("DisplayName"))
                .map(String::as_str);
            topic_resource(arn, display)
        }))
    }

    /// CreateTopic is idempotent per name but would adopt a stranger's topic:
    /// look for it, then check it is ours by its tags. A topic's ARN is its
    /// account, region and name, so one GetTopicAttributes looks (where
    /// ListTopics would read the account's topics 100 a page).
    async fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> ProviderResult<Option<(Resource, Option<Tags>)>> {
        let p: Props = d.typed()?;
        let arn = aws.arn_in_account(address, "sns", &p.name).await?;
        Ok(Self::read(aws, &arn, address).await?.map(|t| (t, None)))
    }

    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags> {
        let p: Props = d.typed()?;
        Ok(tags(d, p.tags.as_deref()))
    }

    /// Tags are changed with TagResource/UntagResource (Amazon SNS API
    /// Reference) on the topic's ARN, its id; CreateTopic's tags only apply
    /// to a new topic.
    fn tag_target(topic: &Resource) -> Option<String> {
        Some(topic.id.clone())
    }

    async fn list_tags(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Tags> {
        let out = aws
            .call(address, || {
                aws.sns.list_tags_for_resource().resource_arn(arn).send()
            })
            .await?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn tag(aws: &AwsProvider, arn: &str, tags: &Tags, address: &str) -> ProviderResult<()> {
        let tag_list = sns_tags(tags);
        aws.call(address, || {
            aws.sns
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tag_list.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn untag(
        aws: &AwsProvider,
        arn: &str,
        keys: Vec<String>,
        address: &str,
    ) -> ProviderResult<()> {
        aws.call(address, || {
            aws.sns
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn remove(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<()> {
        aws.call(address, || aws.sns.delete_topic().topic_arn(arn).send())
            .await
            .map(drop)
    }
}
