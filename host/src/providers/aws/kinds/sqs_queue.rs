//! `aws.sqs_queue`: a standard SQS queue — the dead-letter queue where SNS puts
//! a page it could not deliver.

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{Iam, OWN, grant};
use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName as Attr;
use serde_json::{Value, json};

use super::super::object::{TaggedObject, Tags};
use super::super::{AwsProvider, optional, props, tags};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, mirror, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TAGS, TerraformMap, same};

pub const NAME: &str = "aws.sqs_queue";
pub type Props = wit::SqsQueueProps;
pub type Ref = wit::SqsQueueRef;

/// SQS's answer to CreateQueue within 60 s of deleting a queue of that name
/// (CreateQueue, Amazon SQS API Reference: "After you delete a queue, you must
/// wait at least 60 seconds before creating a queue with the same name").
const DELETED_RECENTLY: &str = "QueueDeletedRecently";

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Queue),
    outputs: &[out("arn"), out("url"), mirror("name", "name")],
    required: &["name"],
    refs: &[],
    check: |c| {
        // CreateQueue: "up to 80 characters ... alphanumeric characters,
        // hyphens (-), and underscores (_)"; `.fifo` names a FIFO queue.
        c.pattern("name", 1, 80, |ch| {
            ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'
        });
        c.range("message_retention_seconds", 60.0, 1_209_600.0);
        c.range("visibility_timeout_seconds", 0.0, 43_200.0);
    },
    replace_on_change: &["name"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_sqs_queue",
        block: Block::Resource,
        props: &[
            same("name"),
            same("message_retention_seconds"),
            same("visibility_timeout_seconds"),
            same("sqs_managed_sse_enabled"),
            TAGS,
        ],
        outputs: &[
            ("arn", OutputMap::Attr("arn")),
            ("url", OutputMap::Attr("url")),
            ("name", OutputMap::Attr("name")),
        ],
        attributes: &["arn", "id", "name", "url"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{url}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/sqs_queue#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[
        ("arn", "arn:{partition}:sqs:{region}:{account}:{name}"),
        ("name", "{name}"),
    ],
    grants: &[
        grant(
            Read,
            &[
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListQueueTags",
            ],
            &[OWN],
        ),
        grant(
            Write,
            &[
                "sqs:CreateQueue",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            &[OWN],
        ),
        grant(Delete, &["sqs:DeleteQueue"], &[OWN]),
        // The drill counts what the dead-letter queue holds.
        grant(Drill, &["sqs:GetQueueAttributes"], &[OWN]),
    ],
};

pub struct Kind;

/// The attributes this kind owns, as SQS names and writes them.
fn attributes(p: &Props) -> Vec<(Attr, String)> {
    let mut out = Vec::new();
    if let Some(s) = p.message_retention_seconds {
        out.push((Attr::MessageRetentionPeriod, s.to_string()));
    }
    if let Some(s) = p.visibility_timeout_seconds {
        out.push((Attr::VisibilityTimeout, s.to_string()));
    }
    if let Some(on) = p.sqs_managed_sse_enabled {
        out.push((Attr::SqsManagedSseEnabled, on.to_string()));
    }
    out
}

fn queue_resource(url: &str, attributes: &HashMap<Attr, String>) -> Resource {
    let number = |a: Attr| {
        attributes
            .get(&a)
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Value::Null, |n| json!(n))
    };
    let arn = attributes.get(&Attr::QueueArn).cloned().unwrap_or_default();
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    Resource {
        id: url.to_owned(),
        props: props(vec![
            ("name", json!(name)),
            (
                "message_retention_seconds",
                number(Attr::MessageRetentionPeriod),
            ),
            (
                "visibility_timeout_seconds",
                number(Attr::VisibilityTimeout),
            ),
            (
                "sqs_managed_sse_enabled",
                attributes
                    .get(&Attr::SqsManagedSseEnabled)
                    .map_or(Value::Null, |v| json!(v == "true")),
            ),
        ]),
        outputs: [
            ("arn".to_owned(), arn),
            ("url".to_owned(), url.to_owned()),
            ("name".to_owned(), name),
        ]
        .into(),
    }
}

async fn read_url(aws: &AwsProvider, url: &str, address: &str) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || {
            aws.sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(Attr::All)
                .send()
        })
        .await,
    )?;
    Ok(out.map(|o| queue_resource(url, o.attributes().unwrap_or(&HashMap::new()))))
}

impl TaggedObject for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    const NOUN: &'static str = "SQS queue";

    async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let pairs = tags(d, p.tags.as_deref());
        let out = aws
            .call_retrying(&address, &[DELETED_RECENTLY], || {
                let mut request = aws.sqs.create_queue().queue_name(&p.name);
                for (name, value) in attributes(&p) {
                    request = request.attributes(name, value);
                }
                for (k, v) in &pairs {
                    request = request.tags(k, v);
                }
                request.send()
            })
            .await?;
        let url = out.queue_url().unwrap_or_default().to_owned();
        read_url(aws, &url, &address).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Transient,
                format!("{address}: created {url} but it is not readable yet"),
            )
        })
    }

    async fn update(
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let url = &prior.id;
        let set = attributes(&p);
        if !set.is_empty() {
            aws.call(&address, || {
                let mut request = aws.sqs.set_queue_attributes().queue_url(url);
                for (name, value) in &set {
                    request = request.attributes(name.clone(), value);
                }
                request.send()
            })
            .await?;
        }
        read_url(aws, url, &address)
            .await?
            .ok_or_else(|| ProviderError::new(ErrorClass::NotFound, format!("{address}: gone")))
    }

    async fn read(aws: &AwsProvider, url: &str, address: &str) -> ProviderResult<Option<Resource>> {
        read_url(aws, url, address).await
    }

    /// CreateQueue of an existing name answers that queue's URL when the
    /// attributes match: look first, and prove it is ours by its tags.
    async fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> ProviderResult<Option<(Resource, Option<Tags>)>> {
        let p: Props = d.typed()?;
        let Some(out) = optional(
            aws.call(address, || {
                aws.sqs.get_queue_url().queue_name(&p.name).send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let url = out.queue_url().unwrap_or_default();
        Ok(read_url(aws, url, address).await?.map(|q| (q, None)))
    }

    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags> {
        let p: Props = d.typed()?;
        Ok(tags(d, p.tags.as_deref()))
    }

    /// SQS's tag calls name a queue by its URL, the queue's id.
    fn tag_target(queue: &Resource) -> Option<String> {
        Some(queue.id.clone())
    }

    async fn list_tags(aws: &AwsProvider, url: &str, address: &str) -> ProviderResult<Tags> {
        let out = aws
            .call(address, || aws.sqs.list_queue_tags().queue_url(url).send())
            .await?;
        Ok(out
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    async fn tag(aws: &AwsProvider, url: &str, tags: &Tags, address: &str) -> ProviderResult<()> {
        aws.call(address, || {
            let mut request = aws.sqs.tag_queue().queue_url(url);
            for (k, v) in tags {
                request = request.tags(k, v);
            }
            request.send()
        })
        .await
        .map(drop)
    }

    async fn untag(
        aws: &AwsProvider,
        url: &str,
        keys: Vec<String>,
        address: &str,
    ) -> ProviderResult<()> {
        aws.call(address, || {
            aws.sqs
                .untag_queue()
                .queue_url(url)
                .set_tag_keys(Some(keys.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn remove(aws: &AwsProvider, url: &str, address: &str) -> ProviderResult<()> {
        aws.call(address, || aws.sqs.delete_queue().queue_url(url).send())
            .await
            .map(drop)
    }
}
