//! CloudWatch Logs: log groups and metric filters.

use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use serde_json::{Value, json};

use super::{AwsProvider, gone_ok, optional, prior_str, props, required, tagged_for, tags};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};

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

async fn describe_group(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || {
            aws.logs
                .describe_log_groups()
                .log_group_name_prefix(name)
                .send()
        })
        .await,
    )?;
    Ok(out.and_then(|o| {
        o.log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .map(group_resource)
    }))
}

pub async fn create_group(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let name = required(d, "name")?;
    let tag_map: std::collections::HashMap<String, String> = tags(d).into_iter().collect();
    aws.call(&address, || {
        aws.logs
            .create_log_group()
            .log_group_name(name)
            .set_tags(Some(tag_map.clone()))
            .send()
    })
    .await?;
    set_retention(aws, d, name).await?;
    describe_group(aws, name, &address).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Transient,
            format!("{address}: created but not listed yet"),
        )
    })
}

async fn set_retention(aws: &AwsProvider, d: &Desired<'_>, name: &str) -> ProviderResult<()> {
    let address = d.address();
    match d.props.get("retention_in_days").and_then(Value::as_i64) {
        Some(days) => aws
            .call(&address, || {
                aws.logs
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(days as i32)
                    .send()
            })
            .await
            .map(|_| ()),
        None => gone_ok(
            aws.call(&address, || {
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

pub async fn read_group(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
    describe_group(aws, &prior.id, &format!("log group {}", prior.id)).await
}

pub async fn find_group(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Resource>> {
    let name = required(d, "name")?;
    let Some(found) = describe_group(aws, name, &d.address()).await? else {
        return Ok(None);
    };
    let arn = found.outputs["arn"].clone();
    let out = optional(
        aws.call(&d.address(), || {
            aws.logs.list_tags_for_resource().resource_arn(&arn).send()
        })
        .await,
    )?;
    let pairs: Vec<(String, String)> = out
        .and_then(|o| o.tags().cloned())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default();
    Ok(tagged_for(&pairs, d).then_some(found))
}

pub async fn update_group(
    aws: &AwsProvider,
    d: &Desired<'_>,
    prior: &Resource,
) -> ProviderResult<Resource> {
    set_retention(aws, d, &prior.id).await?;
    describe_group(aws, &prior.id, &d.address())
        .await?
        .ok_or_else(|| ProviderError::new(ErrorClass::NotFound, format!("{}: gone", d.address())))
}

pub async fn delete_group(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    gone_ok(
        aws.call(&format!("log group {}", prior.id), || {
            aws.logs.delete_log_group().log_group_name(&prior.id).send()
        })
        .await
        .map(|_| ()),
    )
}

/// A filter is identified by its log group and name.
pub fn filter_resource(d: &Desired<'_>) -> ProviderResult<Resource> {
    let name = required(d, "name")?;
    let group = required(d, "log_group")?;
    Ok(Resource {
        id: format!("{group}:{name}"),
        props: props(vec![("name", json!(name)), ("log_group", json!(group))]),
        outputs: Default::default(),
    })
}

pub async fn put_filter(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let name = required(d, "name")?;
    let group = required(d, "log_group")?;
    let pattern = d.str("pattern").unwrap_or_default();
    let t = &d.props["metric_transformation"];
    let transformation = MetricTransformation::builder()
        .metric_name(t["metric_name"].as_str().unwrap_or_default())
        .metric_namespace(t["metric_namespace"].as_str().unwrap_or_default())
        .metric_value(t["metric_value"].as_str().unwrap_or_default())
        .set_default_value(t["default_value"].as_f64())
        .build()
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, format!("{address}: {e}")))?;
    aws.call(&address, || {
        aws.logs
            .put_metric_filter()
            .log_group_name(group)
            .filter_name(name)
            .filter_pattern(pattern)
            .metric_transformations(transformation.clone())
            .send()
    })
    .await?;
    read_filter(aws, &filter_resource(d)?)
        .await?
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Transient,
                format!("{address}: written but not listed yet"),
            )
        })
}

pub async fn read_filter(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
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

pub async fn delete_filter(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
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
