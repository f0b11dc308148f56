//! CloudWatch metric alarms (PutMetricAlarm creates and updates alike).

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use serde_json::{Value, json};

use super::{AwsProvider, gone_ok, optional, props, required, tagged_for, tags};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};

fn strings(d: &Desired<'_>, prop: &str) -> Option<Vec<String>> {
    d.props.get(prop)?.as_array().map(|items| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

pub async fn put(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let name = required(d, "alarm_name")?;
    let int = |p: &str| d.props.get(p).and_then(Value::as_i64).map(|v| v as i32);
    let dimensions: Option<Vec<Dimension>> = d
        .props
        .get("dimensions")
        .and_then(Value::as_array)
        .map(|ds| {
            ds.iter()
                .filter_map(|x| {
                    Dimension::builder()
                        .name(x["name"].as_str()?)
                        .value(x["value"].as_str()?)
                        .build()
                        .into()
                })
                .collect()
        });
    let tag_list: Vec<Tag> = tags(d)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    aws.call(&address, || {
        aws.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .set_alarm_description(d.str("alarm_description").map(str::to_owned))
            .set_metric_name(d.str("metric_name").map(str::to_owned))
            .set_namespace(d.str("namespace").map(str::to_owned))
            .set_statistic(d.str("statistic").map(Statistic::from))
            .set_period(int("period"))
            .set_evaluation_periods(int("evaluation_periods"))
            .set_datapoints_to_alarm(int("datapoints_to_alarm"))
            .set_threshold(d.props.get("threshold").and_then(Value::as_f64))
            .set_comparison_operator(d.str("comparison_operator").map(ComparisonOperator::from))
            .set_treat_missing_data(d.str("treat_missing_data").map(str::to_owned))
            .set_dimensions(dimensions.clone())
            .set_alarm_actions(strings(d, "alarm_actions"))
            .set_ok_actions(strings(d, "ok_actions"))
            .set_insufficient_data_actions(strings(d, "insufficient_data_actions"))
            .set_tags(Some(tag_list.clone()))
            .send()
    })
    .await?;
    describe(aws, name, &address).await?.ok_or_else(|| {
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
        Some(Resource {
            id: name.to_owned(),
            props: props(vec![
                ("alarm_name", json!(name)),
                ("alarm_description", super::opt(a.alarm_description())),
                ("metric_name", super::opt(a.metric_name())),
                ("namespace", super::opt(a.namespace())),
                (
                    "statistic",
                    super::opt(a.statistic().map(|s| s.as_str().to_owned())),
                ),
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
                    super::opt(a.comparison_operator().map(|c| c.as_str().to_owned())),
                ),
                ("treat_missing_data", super::opt(a.treat_missing_data())),
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

pub async fn read(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
    describe(aws, &prior.id, &format!("alarm {}", prior.id)).await
}

pub async fn find(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Resource>> {
    let name = required(d, "alarm_name")?;
    let address = d.address();
    let Some(found) = describe(aws, name, &address).await? else {
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
    Ok(tagged_for(&pairs, d).then_some(found))
}

pub async fn delete(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    gone_ok(
        aws.call(&format!("alarm {}", prior.id), || {
            aws.cloudwatch.delete_alarms().alarm_names(&prior.id).send()
        })
        .await
        .map(|_| ()),
    )
}
