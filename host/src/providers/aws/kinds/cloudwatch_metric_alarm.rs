//! `aws.cloudwatch_metric_alarm`: a metric threshold whose actions notify
//! topics (PutMetricAlarm creates and updates alike).

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, OWN, grant};
use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use serde_json::{Value, json};

use super::super::{AwsProvider, by_tags, gone_ok, optional, props, sync_tags, tags};
use crate::providers::{
    Desired, ErrorClass, Found, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{Checker, KindInfo, Role, mirror, out, parse_as};
use blueprint_model::terraform::{
    Block, OutputMap, PropMap, TAGS, Target, TerraformMap, prop, same,
};

pub const NAME: &str = "aws.cloudwatch_metric_alarm";
pub type Props = wit::CloudwatchMetricAlarmProps;
pub type Ref = wit::CloudwatchMetricAlarmRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Alarm),
    outputs: &[mirror("alarm_name", "alarm_name"), out("arn")],
    required: &[
        "alarm_name",
        "metric_name",
        "namespace",
        "statistic",
        "period",
        "evaluation_periods",
        "threshold",
        "comparison_operator",
    ],
    refs: &[],
    check: check_alarm,
    replace_on_change: &["alarm_name"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_cloudwatch_metric_alarm",
        block: Block::Resource,
        props: &[
            same("alarm_name"),
            same("alarm_description"),
            same("metric_name"),
            same("namespace"),
            same("statistic"),
            same("period"),
            same("evaluation_periods"),
            same("datapoints_to_alarm"),
            same("threshold"),
            same("comparison_operator"),
            same("treat_missing_data"),
            DIMENSIONS,
            same("alarm_actions"),
            same("ok_actions"),
            same("insufficient_data_actions"),
            TAGS,
        ],
        outputs: &[
            ("alarm_name", OutputMap::Attr("alarm_name")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &["alarm_name", "arn", "id"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{alarm_name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_metric_alarm#import",
        identity: &["alarm_name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[
        (
            "arn",
            "arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarm_name}",
        ),
        ("alarm_name", "{alarm_name}"),
    ],
    grants: &[
        grant(Read, &["cloudwatch:DescribeAlarms"], &[ANY]),
        grant(Read, &["cloudwatch:ListTagsForResource"], &[OWN]),
        grant(
            Write,
            &[
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            &[OWN],
        ),
        grant(Delete, &["cloudwatch:DeleteAlarms"], &[OWN]),
        // The drill sets the alarm's state, then reads it back.
        grant(Drill, &["cloudwatch:DescribeAlarms"], &[ANY]),
        grant(Drill, &["cloudwatch:SetAlarmState"], &[OWN]),
    ],
};

const DIMENSIONS: PropMap = prop(
    "dimensions",
    Target::Map {
        attr: "dimensions",
        key: "name",
        value: "value",
    },
);

fn check_alarm(c: &mut Checker<'_>) {
    c.one_of(
        "statistic",
        &["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
    );
    c.one_of(
        "comparison_operator",
        &[
            "GreaterThanOrEqualToThreshold",
            "GreaterThanThreshold",
            "LessThanThreshold",
            "LessThanOrEqualToThreshold",
            "LessThanLowerOrGreaterThanUpperThreshold",
            "LessThanLowerThreshold",
            "GreaterThanUpperThreshold",
        ],
    );
    c.one_of(
        "treat_missing_data",
        &["breaching", "notBreaching", "ignore", "missing"],
    );
    if let Some(period) = c.number("period") {
        let ok = [10.0, 20.0, 30.0].contains(&period) || (period >= 60.0 && period % 60.0 == 0.0);
        if !ok {
            c.bad(
                "period",
                format!("{period} s is not 10, 20, 30 or a multiple of 60"),
            );
        }
    }
    let evaluation = c.number("evaluation_periods");
    if evaluation == Some(0.0) {
        c.bad("evaluation_periods", "must be at least 1");
    }
    if let (Some(points), Some(evaluation)) = (c.number("datapoints_to_alarm"), evaluation)
        && (points < 1.0 || points > evaluation)
    {
        c.bad(
            "datapoints_to_alarm",
            format!("must be between 1 and evaluation_periods ({evaluation})"),
        );
    }
}

pub struct Kind;

async fn put(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let p: Props = d.typed()?;
    let address = d.address();
    let dimensions: Option<Vec<Dimension>> = p.dimensions.as_ref().map(|ds| {
        ds.iter()
            .map(|x| Dimension::builder().name(&x.name).value(&x.value).build())
            .collect()
    });
    let tag_list: Vec<Tag> = tags(d, p.tags.as_deref())
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let int = |v: u32| Some(v as i32);
    aws.call(&address, || {
        aws.cloudwatch
            .put_metric_alarm()
            .alarm_name(&p.alarm_name)
            .set_alarm_description(p.alarm_description.clone())
            .metric_name(&p.metric_name)
            .namespace(&p.namespace)
            .statistic(Statistic::from(p.statistic.as_str()))
            .set_period(int(p.period))
            .set_evaluation_periods(int(p.evaluation_periods))
            .set_datapoints_to_alarm(p.datapoints_to_alarm.and_then(int))
            .threshold(p.threshold)
            .comparison_operator(ComparisonOperator::from(p.comparison_operator.as_str()))
            .set_treat_missing_data(p.treat_missing_data.clone())
            .set_dimensions(dimensions.clone())
            .set_alarm_actions(Some(p.alarm_actions.clone()))
            .set_ok_actions(p.ok_actions.clone())
            .set_insufficient_data_actions(p.insufficient_data_actions.clone())
            .set_tags(Some(tag_list.clone()))
            .send()
    })
    .await?;
    describe(aws, &p.alarm_name, &address)
        .await?
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Transient,
                format!("{address}: written but not listed yet"),
            )
        })
}

async fn describe(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || {
            aws.cloudwatch.describe_alarms().alarm_names(name).send()
        })
        .await,
    )?;
    Ok(out.and_then(|o| {
        let a = o
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))?;
        let list = |items: &[String]| json!(items);
        let dimensions: Vec<Value> = a
            .dimensions()
            .iter()
            .map(|x| json!({"name": x.name(), "value": x.value()}))
            .collect();
        let opt = super::super::opt::<&str>;
        Some(Resource {
            id: name.to_owned(),
            props: props(vec![
                ("alarm_name", json!(name)),
                ("alarm_description", opt(a.alarm_description())),
                ("metric_name", opt(a.metric_name())),
                ("namespace", opt(a.namespace())),
                ("statistic", opt(a.statistic().map(|s| s.as_str()))),
                ("period", a.period().map_or(Value::Null, |p| json!(p))),
                (
                    "evaluation_periods",
                    a.evaluation_periods().map_or(Value::Null, |p| json!(p)),
                ),
                (
                    "datapoints_to_alarm",
                    a.datapoints_to_alarm().map_or(Value::Null, |p| json!(p)),
                ),
                ("threshold", a.threshold().map_or(Value::Null, |t| json!(t))),
                (
                    "comparison_operator",
                    opt(a.comparison_operator().map(|c| c.as_str())),
                ),
                ("treat_missing_data", opt(a.treat_missing_data())),
                (
                    "dimensions",
                    if dimensions.is_empty() {
                        Value::Null
                    } else {
                        Value::Array(dimensions)
                    },
                ),
                ("alarm_actions", list(a.alarm_actions())),
                ("ok_actions", list(a.ok_actions())),
                (
                    "insufficient_data_actions",
                    list(a.insufficient_data_actions()),
                ),
            ]),
            outputs: [
                ("alarm_name".to_owned(), name.to_owned()),
                (
                    "arn".to_owned(),
                    a.alarm_arn().unwrap_or_default().to_owned(),
                ),
            ]
            .into(),
        })
    }))
}

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        put(aws, d).await
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        describe(aws, &prior.id, &format!("alarm {}", prior.id)).await
    }

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        let updated = put(aws, d).await?;
        // "If you are using this operation to update an existing alarm, any tags
        // you specify in this parameter are ignored. To change the tags of an
        // existing alarm, use TagResource or UntagResource." (CloudWatch API
        // Reference, PutMetricAlarm).
        if changed.iter().any(|c| c == "tags")
            && let Some(arn) = prior.outputs.get("arn")
        {
            let p: Props = d.typed()?;
            let address = d.address();
            let want = tags(d, p.tags.as_deref());
            let tag_list: Vec<Tag> = want
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            let cloudwatch = &aws.cloudwatch;
            sync_tags(
                &want,
                async || {
                    aws.call(&address, || {
                        cloudwatch
                            .tag_resource()
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
                            cloudwatch.list_tags_for_resource().resource_arn(arn).send()
                        })
                        .await?;
                    Ok(current
                        .tags()
                        .iter()
                        .filter_map(|t| t.key().map(str::to_owned))
                        .collect())
                },
                async |stale| {
                    aws.call(&address, || {
                        cloudwatch
                            .untag_resource()
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
        Ok(updated)
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        gone_ok(
            aws.call(&format!("alarm {}", prior.id), || {
                aws.cloudwatch.delete_alarms().alarm_names(&prior.id).send()
            })
            .await
            .map(|_| ()),
        )
    }

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        let address = d.address();
        let Some(found) = describe(aws, &p.alarm_name, &address).await? else {
            return Ok(None);
        };
        let arn = found.outputs["arn"].clone();
        let out = optional(
            aws.call(&address, || {
                aws.cloudwatch
                    .list_tags_for_resource()
                    .resource_arn(&arn)
                    .send()
            })
            .await,
        )?;
        let pairs: Vec<(String, String)> = out
            .map(|o| {
                o.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(by_tags(found, &pairs, d)))
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "tags" && super::super::same_set(desired, observed)
    }
}
