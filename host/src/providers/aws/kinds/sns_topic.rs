//! `aws.sns_topic`: a topic alarms notify.

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, OWN, grant};
use async_trait::async_trait;
use serde_json::{Value, json};

use super::super::{AwsProvider, by_tags, gone_ok, optional, props, sync_tags, tags};
use crate::providers::{Desired, Found, ProviderResult, Resource, ResourceKind};
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

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
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

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        let out = optional(
            aws.call(&format!("SNS topic {}", prior.id), || {
                aws.sns.get_topic_attributes().topic_arn(&prior.id).send()
            })
            .await,
        )?;
        Ok(out.map(|o| {
            let display = o
                .attributes()
                .and_then(|a| a.get("DisplayName"))
                .map(String::as_str);
            topic_resource(&prior.id, display)
        }))
    }

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        // Tags are changed with TagResource/UntagResource (Amazon SNS API
        // Reference); CreateTopic's tags only apply to a new topic.
        if changed.iter().any(|c| c == "tags") {
            let address = d.address();
            let want = tags(d, p.tags.as_deref());
            let tag_list = sns_tags(&want);
            let (sns, arn) = (&aws.sns, &prior.id);
            sync_tags(
                &want,
                async || {
                    aws.call(&address, || {
                        sns.tag_resource()
                            .resource_arn(arn)
                            .set_tags(Some(tag_list.clone()))
                            .send()
                    })
                    .await
                    .map(drop)
                },
                async || {
                    let current = aws
                        .call(&address, || {
                            sns.list_tags_for_resource().resource_arn(arn).send()
                        })
                        .await?;
                    Ok(current.tags().iter().map(|t| t.key().to_owned()).collect())
                },
                async |stale| {
                    aws.call(&address, || {
                        sns.untag_resource()
                            .resource_arn(arn)
                            .set_tag_keys(Some(stale.clone()))
                            .send()
                    })
                    .await
                    .map(drop)
                },
            )
            .await?;
        }
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

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        gone_ok(
            aws.call(&format!("SNS topic {}", prior.id), || {
                aws.sns.delete_topic().topic_arn(&prior.id).send()
            })
            .await
            .map(|_| ()),
        )
    }

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        let address = d.address();
        // CreateTopic is idempotent per name but would adopt a stranger's topic:
        // look for it, then check it is ours by its tags. A topic's ARN is its
        // account, region and name, so one GetTopicAttributes looks (where
        // ListTopics would read the account's topics 100 a page).
        let arn = aws.arn_in_account(&address, "sns", &p.name).await?;
        let probe = Resource {
            id: arn.clone(),
            ..Resource::default()
        };
        let Some(read) = self.read(aws, &probe).await? else {
            return Ok(None);
        };
        let tags = aws
            .call(&address, || {
                aws.sns.list_tags_for_resource().resource_arn(&arn).send()
            })
            .await?;
        let pairs: Vec<(String, String)> = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        Ok(Some(by_tags(read, &pairs, d)))
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "tags" && super::super::same_set(desired, observed)
    }
}
