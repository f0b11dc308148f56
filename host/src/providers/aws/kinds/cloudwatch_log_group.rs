//! `aws.cloudwatch_log_group`: a log group and its retention.

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, OWN, grant};
use std::collections::HashMap;

use serde_json::{Value, json};

use super::super::object::{TaggedObject, Tags};
use super::super::{AwsProvider, gone_ok, props, tags};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, mirror, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TAGS, TerraformMap, same};

pub const NAME: &str = "aws.cloudwatch_log_group";
pub type Props = wit::CloudwatchLogGroupProps;
pub type Ref = wit::CloudwatchLogGroupRef;

/// The retentions CloudWatch Logs accepts (PutRetentionPolicy).
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::LogGroup),
    outputs: &[mirror("name", "name"), out("arn")],
    required: &["name"],
    refs: &[],
    check: |c| {
        c.pattern("name", 1, 512, |ch| {
            ch.is_ascii_alphanumeric() || "._-/#".contains(ch)
        });
        if let Some(days) = c.number("retention_in_days")
            && !RETENTION_DAYS.iter().any(|&d| f64::from(d) == days)
        {
            c.bad(
                "retention_in_days",
                format!("{days} is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)"),
            );
        }
    },
    replace_on_change: &["name"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_cloudwatch_log_group",
        block: Block::Resource,
        props: &[same("name"), same("retention_in_days"), TAGS],
        outputs: &[
            ("name", OutputMap::Attr("name")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &["arn", "id", "name"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_log_group#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// Log-group actions are authorized on `log-group:NAME`, stream actions on
/// `log-group:NAME:log-stream:STREAM`; `NAME:*` covers both forms AWS uses.
pub static IAM: Iam = Iam {
    outputs: &[
        (
            "arn",
            "arn:{partition}:logs:{region}:{account}:log-group:{name}",
        ),
        ("name", "{name}"),
    ],
    grants: &[
        grant(Read, &["logs:DescribeLogGroups"], &[ANY]),
        grant(Read, &["logs:ListTagsForResource"], &[OWN, GROUP_ANY]),
        grant(
            Write,
            &[
                "logs:CreateLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            &[OWN, GROUP_ANY],
        ),
        grant(Delete, &["logs:DeleteLogGroup"], &[OWN, GROUP_ANY]),
        // The drill writes an ERROR line into a stream of its own.
        grant(
            Drill,
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            &[GROUP_ANY],
        ),
    ],
};
const GROUP_ANY: &str = "{@arn}:*";

pub struct Kind;

fn group_resource(group: &aws_sdk_cloudwatchlogs::types::LogGroup) -> Resource {
    let name = group.log_group_name().unwrap_or_default().to_owned();
    // Describe answers `arn:...:log-group:NAME:*`; the group's own ARN has no `:*`.
    let arn = group
        .arn()
        .unwrap_or_default()
        .trim_end_matches(":*")
        .to_owned();
    Resource {
        id: name.clone(),
        props: props(vec![
            ("name", json!(name)),
            (
                "retention_in_days",
                group.retention_in_days().map_or(Value::Null, |d| json!(d)),
            ),
        ]),
        outputs: [("name".to_owned(), name), ("arn".to_owned(), arn)].into(),
    }
}

/// The group named `name`, read with the others a plan or refresh asks for at
/// the same moment ([`AwsProvider::log_group_named`]).
async fn describe(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    Ok(aws
        .log_group_named(name, address)
        .await?
        .as_ref()
        .map(group_resource))
}

async fn set_retention(
    aws: &AwsProvider,
    address: &str,
    name: &str,
    days: Option<u32>,
) -> ProviderResult<()> {
    match days {
        Some(days) => aws
            .call(address, || {
                aws.logs
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(days as i32)
                    .send()
            })
            .await
            .map(|_| ()),
        None => gone_ok(
            aws.call(address, || {
                aws.logs
                    .delete_retention_policy()
                    .log_group_name(name)
                    .send()
            })
            .await
            .map(|_| ()),
        ),
    }
}

impl TaggedObject for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    const NOUN: &'static str = "log group";

    async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let tag_map: HashMap<String, String> = tags(d, p.tags.as_deref()).into_iter().collect();
        aws.call(&address, || {
            aws.logs
                .create_log_group()
                .log_group_name(&p.name)
                .set_tags(Some(tag_map.clone()))
                .send()
        })
        .await?;
        // A new group keeps its events forever: there is no retention to delete.
        if p.retention_in_days.is_some() {
            set_retention(aws, &address, &p.name, p.retention_in_days).await?;
        }
        describe(aws, &p.name, &address).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Transient,
                format!("{address}: created but not listed yet"),
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
        set_retention(aws, &address, &prior.id, p.retention_in_days).await?;
        describe(aws, &prior.id, &address)
            .await?
            .ok_or_else(|| ProviderError::new(ErrorClass::NotFound, format!("{address}: gone")))
    }

    async fn read(aws: &AwsProvider, id: &str, address: &str) -> ProviderResult<Option<Resource>> {
        describe(aws, id, address).await
    }

    async fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> ProviderResult<Option<(Resource, Option<Tags>)>> {
        let p: Props = d.typed()?;
        Ok(describe(aws, &p.name, address).await?.map(|g| (g, None)))
    }

    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags> {
        let p: Props = d.typed()?;
        Ok(tags(d, p.tags.as_deref()))
    }

    /// Tags are only set by CreateLogGroup; later changes go through
    /// TagResource/UntagResource, whose ARN is the log group's without the
    /// trailing `:*` (CloudWatch Logs API Reference, TagResource).
    fn tag_target(group: &Resource) -> Option<String> {
        Some(group.outputs.get("arn")?.trim_end_matches(":*").to_owned())
    }

    async fn list_tags(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Tags> {
        let out = aws
            .call(address, || {
                aws.logs.list_tags_for_resource().resource_arn(arn).send()
            })
            .await?;
        Ok(out
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    async fn tag(aws: &AwsProvider, arn: &str, tags: &Tags, address: &str) -> ProviderResult<()> {
        let map: HashMap<String, String> = tags.iter().cloned().collect();
        aws.call(address, || {
            aws.logs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(map.clone()))
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
            aws.logs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn remove(aws: &AwsProvider, name: &str, address: &str) -> ProviderResult<()> {
        aws.call(address, || {
            aws.logs.delete_log_group().log_group_name(name).send()
        })
        .await
        .map(drop)
    }
}
