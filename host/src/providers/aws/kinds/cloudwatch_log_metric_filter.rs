//! `aws.cloudwatch_log_metric_filter`: log events matching a pattern → a metric.

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, grant};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use serde_json::json;

use super::super::{AwsProvider, gone_ok, optional, prior_str, props};
use crate::providers::{
    Desired, ErrorClass, Found, Identity, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, mirror, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same, text, to};

pub const NAME: &str = "aws.cloudwatch_log_metric_filter";
pub type Props = wit::CloudwatchLogMetricFilterProps;
pub type Ref = wit::CloudwatchLogMetricFilterRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::MetricFilter),
    outputs: &[
        mirror("name", "name"),
        mirror("metric_name", "metric_transformation.metric_name"),
        mirror("metric_namespace", "metric_transformation.metric_namespace"),
    ],
    required: &["name", "log_group", "metric_transformation"],
    refs: &[refs("log_group", &[super::cloudwatch_log_group::NAME])],
    check: |c| {
        c.pattern("name", 1, 512, |ch| ch != ':' && ch != '*');
        for field in ["metric_name", "metric_namespace", "metric_value"] {
            let path = format!("metric_transformation.{field}");
            if c.literal(&path) == Some("") {
                c.bad(&path, "must not be empty");
            }
        }
    },
    replace_on_change: &["name", "log_group"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_cloudwatch_log_metric_filter",
        block: Block::Resource,
        props: &[
            same("name"),
            to("log_group", "log_group_name"),
            same("pattern"),
            to(
                "metric_transformation.metric_name",
                "metric_transformation.name",
            ),
            to(
                "metric_transformation.metric_namespace",
                "metric_transformation.namespace",
            ),
            to(
                "metric_transformation.metric_value",
                "metric_transformation.value",
            ),
            // A string in the provider's schema.
            text(
                "metric_transformation.default_value",
                "metric_transformation.default_value",
            ),
        ],
        // The metric's name and namespace mirror props; reading them from the
        // block keeps the alarm ordered after the filter, as in the graph.
        outputs: &[
            ("name", OutputMap::Attr("name")),
            (
                "metric_name",
                OutputMap::Attr("metric_transformation[0].name"),
            ),
            (
                "metric_namespace",
                OutputMap::Attr("metric_transformation[0].namespace"),
            ),
        ],
        attributes: &[
            "id",
            "name",
            "log_group_name",
            "pattern",
            "metric_transformation[0].name",
            "metric_transformation[0].namespace",
            "metric_transformation[0].value",
        ],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{log_group_name}:{name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_log_metric_filter#import",
        identity: &["log_group", "name"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// On the log group the filter reads.
pub static IAM: Iam = Iam {
    outputs: &[("name", "{name}")],
    grants: &[
        grant(Read, &["logs:DescribeMetricFilters"], &[ANY]),
        grant(Write, &["logs:PutMetricFilter"], &[GROUP, GROUP_ANY]),
        grant(Delete, &["logs:DeleteMetricFilter"], &[GROUP, GROUP_ANY]),
        // The drill tests the pattern against the line it writes.
        grant(
            Drill,
            &["logs:DescribeMetricFilters", "logs:TestMetricFilter"],
            &[ANY],
        ),
    ],
};
const GROUP: &str = "arn:{partition}:logs:{region}:{account}:log-group:{log_group}";
const GROUP_ANY: &str = "arn:{partition}:logs:{region}:{account}:log-group:{log_group}:*";

/// `terraform import aws_cloudwatch_log_metric_filter.x LOG_GROUP:NAME` (the
/// provider's "Import" section; log group names hold no `:`): the prior
/// resource `read` takes.
fn import_prior(
    id: &str,
    _props: &serde_json::Map<String, serde_json::Value>,
) -> Result<Resource, String> {
    let (group, name) = blueprint_model::import_id::split2(id, ':', "LOG_GROUP_NAME:FILTER_NAME")?;
    Ok(Resource {
        id: format!("{group}:{name}"),
        props: props(vec![("log_group", json!(group)), ("name", json!(name))]),
        ..Resource::default()
    })
}

pub struct Kind;

/// A filter is identified by its log group and name.
fn filter_resource(group: &str, name: &str) -> Resource {
    Resource {
        id: format!("{group}:{name}"),
        props: props(vec![("name", json!(name)), ("log_group", json!(group))]),
        outputs: Default::default(),
    }
}

async fn put(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let p: Props = d.typed()?;
    let address = d.address();
    let t = &p.metric_transformation;
    let transformation = MetricTransformation::builder()
        .metric_name(&t.metric_name)
        .metric_namespace(&t.metric_namespace)
        .metric_value(&t.metric_value)
        .set_default_value(t.default_value)
        .build()
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, format!("{address}: {e}")))?;
    aws.call(&address, || {
        aws.logs
            .put_metric_filter()
            .log_group_name(&p.log_group)
            .filter_name(&p.name)
            .filter_pattern(&p.pattern)
            .metric_transformations(transformation.clone())
            .send()
    })
    .await?;
    Kind.read(aws, &filter_resource(&p.log_group, &p.name))
        .await?
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Transient,
                format!("{address}: written but not listed yet"),
            )
        })
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
        put(aws, d).await
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        let name = prior_str(prior, "name")?;
        let group = prior_str(prior, "log_group")?;
        let out = optional(
            aws.call(&format!("metric filter {}", prior.id), || {
                aws.logs
                    .describe_metric_filters()
                    .log_group_name(group)
                    .filter_name_prefix(name)
                    .send()
            })
            .await,
        )?;
        Ok(out.and_then(|o| {
            let f = o
                .metric_filters()
                .iter()
                .find(|f| f.filter_name() == Some(name))?;
            let t = f.metric_transformations().first()?;
            Some(Resource {
                id: format!("{group}:{name}"),
                props: props(vec![
                    ("name", json!(name)),
                    ("log_group", json!(group)),
                    ("pattern", json!(f.filter_pattern().unwrap_or_default())),
                    (
                        "metric_transformation",
                        json!({
                            "metric_name": t.metric_name(),
                            "metric_namespace": t.metric_namespace(),
                            "metric_value": t.metric_value(),
                            "default_value": t.default_value(),
                        }),
                    ),
                ]),
                outputs: [
                    ("name".to_owned(), name.to_owned()),
                    ("metric_name".to_owned(), t.metric_name().to_owned()),
                    (
                        "metric_namespace".to_owned(),
                        t.metric_namespace().to_owned(),
                    ),
                ]
                .into(),
            })
        }))
    }

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        put(aws, d).await
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        let name = prior_str(prior, "name")?;
        let group = prior_str(prior, "log_group")?;
        gone_ok(
            aws.call(&format!("metric filter {}", prior.id), || {
                aws.logs
                    .delete_metric_filter()
                    .log_group_name(group)
                    .filter_name(name)
                    .send()
            })
            .await
            .map(|_| ()),
        )
    }

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        self.read(aws, &filter_resource(&p.log_group, &p.name))
            .await
            .map(Found::part)
    }
}
