//! SNS topics and subscriptions. An HTTP(S) subscription is waited on (bounded)
//! until the endpoint confirms it, as PagerDuty's does automatically.

use serde_json::{Value, json};

use super::{AwsProvider, gone_ok, optional, props, required, tagged_for, tags};
use crate::providers::retry::{self, Verdict};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};

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

pub async fn create_topic(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let name = required(d, "name")?;
    let tag_list: Vec<aws_sdk_sns::types::Tag> = tags(d)
        .into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_sns::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect();
    let out = aws
        .call(&address, || {
            let mut request = aws
                .sns
                .create_topic()
                .name(name)
                .set_tags(Some(tag_list.clone()));
            if let Some(display) = d.str("display_name") {
                request = request.attributes("DisplayName", display);
            }
            request.send()
        })
        .await?;
    let arn = out.topic_arn().unwrap_or_default();
    Ok(topic_resource(arn, d.str("display_name")))
}

pub async fn read_topic(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
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

pub async fn find_topic(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Resource>> {
    let name = required(d, "name")?;
    let address = d.address();
    // CreateTopic is idempotent per name but would adopt a stranger's topic:
    // look for it, then check it is ours by its tags.
    let topics = aws.call(&address, || aws.sns.list_topics().send()).await?;
    let Some(arn) = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|arn| arn.rsplit(':').next() == Some(name))
        .map(str::to_owned)
    else {
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
    if !tagged_for(&pairs, d) {
        return Ok(None);
    }
    read_topic(
        aws,
        &Resource {
            id: arn,
            ..Resource::default()
        },
    )
    .await
}

pub async fn update_topic(
    aws: &AwsProvider,
    d: &Desired<'_>,
    prior: &Resource,
) -> ProviderResult<Resource> {
    aws.call(&d.address(), || {
        aws.sns
            .set_topic_attributes()
            .topic_arn(&prior.id)
            .attribute_name("DisplayName")
            .attribute_value(d.str("display_name").unwrap_or_default())
            .send()
    })
    .await?;
    Ok(topic_resource(&prior.id, d.str("display_name")))
}

pub async fn delete_topic(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    gone_ok(
        aws.call(&format!("SNS topic {}", prior.id), || {
            aws.sns.delete_topic().topic_arn(&prior.id).send()
        })
        .await
        .map(|_| ()),
    )
}

fn subscription_resource(
    arn: &str,
    attributes: &std::collections::HashMap<String, String>,
) -> Resource {
    let get = |k: &str| attributes.get(k).map_or(Value::Null, |v| json!(v));
    Resource {
        id: arn.to_owned(),
        props: props(vec![
            ("topic", get("TopicArn")),
            ("protocol", get("Protocol")),
            ("endpoint", get("Endpoint")),
            (
                "raw_message_delivery",
                attributes
                    .get("RawMessageDelivery")
                    .map_or(Value::Null, |v| json!(v == "true")),
            ),
        ]),
        outputs: [("arn".to_owned(), arn.to_owned())].into(),
    }
}

fn is_pending(arn: &str) -> bool {
    !arn.starts_with("arn:")
}

/// The confirmed subscription of `topic` to `endpoint`, if any.
async fn confirmed(
    aws: &AwsProvider,
    topic: &str,
    protocol: &str,
    endpoint: &str,
    address: &str,
) -> ProviderResult<Option<String>> {
    let mut token = None;
    loop {
        let page = aws
            .call(address, || {
                aws.sns
                    .list_subscriptions_by_topic()
                    .topic_arn(topic)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        if let Some(arn) = page
            .subscriptions()
            .iter()
            .filter(|s| s.protocol() == Some(protocol) && s.endpoint() == Some(endpoint))
            .filter_map(|s| s.subscription_arn())
            .find(|arn| !is_pending(arn))
        {
            return Ok(Some(arn.to_owned()));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    }
}

pub async fn subscribe(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let topic = required(d, "topic")?;
    let protocol = required(d, "protocol")?;
    let endpoint = required(d, "endpoint")?;
    let raw = d.props.get("raw_message_delivery").and_then(Value::as_bool);
    let out = aws
        .call(&address, || {
            let mut request = aws
                .sns
                .subscribe()
                .topic_arn(topic)
                .protocol(protocol)
                .endpoint(endpoint)
                .return_subscription_arn(true);
            if let Some(raw) = raw {
                request = request.attributes("RawMessageDelivery", raw.to_string());
            }
            request.send()
        })
        .await?;
    let mut arn = out.subscription_arn().unwrap_or_default().to_owned();
    if is_pending(&arn) && matches!(protocol, "http" | "https") {
        // The endpoint confirms by visiting the SubscribeURL; wait for it.
        arn = retry::retry(
            &address,
            aws.propagation,
            || async {
                confirmed(aws, topic, protocol, endpoint, &address)
                    .await?
                    .ok_or_else(|| {
                        ProviderError::new(
                            ErrorClass::Transient,
                            format!("{address}: the subscription is still pending confirmation by its endpoint"),
                        )
                    })
            },
            |e: &ProviderError| {
                if e.class == ErrorClass::Transient { Verdict::Retry } else { Verdict::Stop }
            },
        )
        .await?;
    }
    read_arn(aws, &arn, &address).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Transient,
            format!("{address}: subscribed but not readable yet"),
        )
    })
}

async fn read_arn(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || {
            aws.sns
                .get_subscription_attributes()
                .subscription_arn(arn)
                .send()
        })
        .await,
    )?;
    Ok(out.and_then(|o| o.attributes().map(|a| subscription_resource(arn, a))))
}

pub async fn read_subscription(
    aws: &AwsProvider,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    read_arn(aws, &prior.id, &format!("SNS subscription {}", prior.id)).await
}

pub async fn find_subscription(
    aws: &AwsProvider,
    d: &Desired<'_>,
) -> ProviderResult<Option<Resource>> {
    let topic = required(d, "topic")?;
    let protocol = required(d, "protocol")?;
    let endpoint = required(d, "endpoint")?;
    let address = d.address();
    match optional(confirmed(aws, topic, protocol, endpoint, &address).await)? {
        Some(Some(arn)) => read_arn(aws, &arn, &address).await,
        _ => Ok(None),
    }
}

pub async fn update_subscription(
    aws: &AwsProvider,
    d: &Desired<'_>,
    prior: &Resource,
) -> ProviderResult<Resource> {
    let address = d.address();
    let raw = d
        .props
        .get("raw_message_delivery")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    aws.call(&address, || {
        aws.sns
            .set_subscription_attributes()
            .subscription_arn(&prior.id)
            .attribute_name("RawMessageDelivery")
            .attribute_value(raw.to_string())
            .send()
    })
    .await?;
    read_arn(aws, &prior.id, &address)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorClass::NotFound, format!("{address}: gone")))
}

pub async fn unsubscribe(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    gone_ok(
        aws.call(&format!("SNS subscription {}", prior.id), || {
            aws.sns.unsubscribe().subscription_arn(&prior.id).send()
        })
        .await
        .map(|_| ()),
    )
}
