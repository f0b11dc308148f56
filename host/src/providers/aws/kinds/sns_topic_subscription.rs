//! `aws.sns_topic_subscription`: a topic delivering to an endpoint. An HTTP(S)
//! subscription is waited on (bounded) until the endpoint confirms it, as
//! PagerDuty's does automatically.

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{Iam, grant};
use async_trait::async_trait;
use serde_json::{Value, json};

use super::super::{AwsProvider, gone_ok, optional, props};
use crate::providers::retry::{self, Verdict};
use crate::providers::{
    Desired, ErrorClass, Found, Identity, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same, to};

/// SNS's answer to `Unsubscribe` of a pending subscription.
const PENDING_REFUSAL: &str = "Cannot unsubscribe a subscription that is pending confirmation";

pub const NAME: &str = "aws.sns_topic_subscription";
pub type Props = wit::SnsTopicSubscriptionProps;
pub type Ref = wit::SnsTopicSubscriptionRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Subscription),
    outputs: &[out("arn")],
    required: &["topic", "protocol", "endpoint"],
    refs: &[
        refs("topic", &[super::sns_topic::NAME]),
        refs("redrive_policy", &[super::sqs_queue::NAME]),
    ],
    check: |c| {
        c.one_of(
            "protocol",
            &[
                "http",
                "https",
                "email",
                "email-json",
                "sms",
                "sqs",
                "application",
                "lambda",
                "firehose",
            ],
        );
        if let (Some(protocol), Some(endpoint)) = (c.literal("protocol"), c.literal("endpoint"))
            && (protocol == "http" || protocol == "https")
            && !endpoint.starts_with(&format!("{protocol}://"))
        {
            c.bad(
                "endpoint",
                format!("{endpoint:?} does not start with {protocol}:// as the `{protocol}` protocol needs"),
            );
        }
        for prop in ["redrive_policy", "delivery_policy"] {
            if let Some(policy) = c.literal(prop)
                && let Err(e) = serde_json::from_str::<Value>(policy)
            {
                c.bad(prop, format!("is not a JSON document: {e}"));
            }
        }
        if c.present("delivery_policy")
            && let Some(protocol) = c.literal("protocol")
            && !matches!(protocol, "http" | "https")
        {
            // "With the exception of HTTP/S, you can't change Amazon
            // SNS-defined delivery policies" (Amazon SNS message delivery retries).
            c.bad(
                "delivery_policy",
                format!("SNS takes a delivery policy for http and https subscriptions only, not {protocol}"),
            );
        }
    },
    replace_on_change: &["topic", "protocol", "endpoint"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_sns_topic_subscription",
        block: Block::Resource,
        props: &[
            to("topic", "topic_arn"),
            same("protocol"),
            same("endpoint"),
            same("raw_message_delivery"),
            same("redrive_policy"),
            same("delivery_policy"),
        ],
        outputs: &[("arn", OutputMap::Attr("arn"))],
        attributes: &["arn", "id", "topic_arn", "protocol", "endpoint"],
        finish: Some(auto_confirm),
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{arn}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/sns_topic_subscription#import",
        identity: &["topic", "endpoint"],
        prior: blueprint_model::import_id::arn_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// Subscription calls are authorized on the topic.
pub static IAM: Iam = Iam {
    outputs: &[],
    grants: &[
        grant(
            Read,
            &[
                "sns:GetSubscriptionAttributes",
                "sns:ListSubscriptionsByTopic",
            ],
            &[TOPIC],
        ),
        grant(
            Write,
            &["sns:SetSubscriptionAttributes", "sns:Subscribe"],
            &[TOPIC],
        ),
        grant(Delete, &["sns:Unsubscribe"], &[TOPIC]),
        grant(
            Drill,
            &[
                "sns:GetSubscriptionAttributes",
                "sns:ListSubscriptionsByTopic",
            ],
            &[TOPIC],
        ),
    ],
};
const TOPIC: &str = "{topic>arn|{topic}}";

/// The host waits until an HTTP(S) endpoint confirms the subscription (PagerDuty
/// does so by itself); `endpoint_auto_confirms` makes Terraform do the same.
fn auto_confirm(body: &mut serde_json::Map<String, Value>) {
    if matches!(
        body.get("protocol").and_then(Value::as_str),
        Some("http" | "https")
    ) {
        body.insert("endpoint_auto_confirms".into(), Value::Bool(true));
    }
}

pub struct Kind;

/// The attributes `Subscribe` sets from the props.
fn subscription_attributes(p: &Props) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(raw) = p.raw_message_delivery {
        out.push(("RawMessageDelivery", raw.to_string()));
    }
    if let Some(policy) = &p.redrive_policy {
        out.push(("RedrivePolicy", policy.clone()));
    }
    if let Some(policy) = &p.delivery_policy {
        out.push(("DeliveryPolicy", policy.clone()));
    }
    out
}

fn subscription_resource(
    arn: &str,
    attributes: &std::collections::HashMap<String, String>,
) -> Resource {
    let get = |k: &str| attributes.get(k).map_or(Value::Null, |v| json!(v));
    // SNS answers an unset policy as absent or empty.
    let policy = |k: &str| {
        attributes
            .get(k)
            .filter(|v| !v.is_empty())
            .map_or(Value::Null, |v| json!(v))
    };
    let http = matches!(
        attributes.get("Protocol").map(String::as_str),
        Some("http" | "https")
    );
    let unconfirmed = attributes.get("PendingConfirmation").map(String::as_str) == Some("true");
    let endpoint = match (http && unconfirmed, attributes.get("Endpoint")) {
        (true, Some(endpoint)) => json!(format!("{endpoint}{UNCONFIRMED}")),
        _ => get("Endpoint"),
    };
    Resource {
        id: arn.to_owned(),
        props: props(vec![
            ("topic", get("TopicArn")),
            ("protocol", get("Protocol")),
            ("endpoint", endpoint),
            (
                "raw_message_delivery",
                attributes
                    .get("RawMessageDelivery")
                    .map_or(Value::Null, |v| json!(v == "true")),
            ),
            ("redrive_policy", policy("RedrivePolicy")),
            ("delivery_policy", policy("DeliveryPolicy")),
        ]),
        outputs: [("arn".to_owned(), arn.to_owned())].into(),
    }
}

fn is_pending(arn: &str) -> bool {
    !arn.starts_with("arn:")
}

/// How long `create` waits for an HTTP(S) endpoint to confirm:
/// `BLUEPRINT_SNS_CONFIRM_SECONDS`, else 60 s.
fn confirmation_timeout() -> std::time::Duration {
    let secs = std::env::var("BLUEPRINT_SNS_CONFIRM_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(60);
    std::time::Duration::from_secs(secs)
}

/// What an unconfirmed HTTP(S) subscription's endpoint reads as: not the
/// endpoint the blueprint wants (the subscription delivers nothing), so the
/// plan shows it as needing replacement — `endpoint` forces one.
const UNCONFIRMED: &str = " (never confirmed: PendingConfirmation)";

fn pending(resource: &Resource) -> bool {
    resource.props["endpoint"]
        .as_str()
        .is_some_and(|e| e.ends_with(UNCONFIRMED))
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
        let address = d.address();
        let out = aws
            .call(&address, || {
                let mut request = aws
                    .sns
                    .subscribe()
                    .topic_arn(&p.topic)
                    .protocol(&p.protocol)
                    .endpoint(&p.endpoint)
                    .return_subscription_arn(true);
                for (name, value) in subscription_attributes(&p) {
                    request = request.attributes(name, value);
                }
                request.send()
            })
            .await?;
        let mut arn = out.subscription_arn().unwrap_or_default().to_owned();
        let http = matches!(p.protocol.as_str(), "http" | "https");
        if is_pending(&arn) && http {
            // Without an ARN (an SDK that does not ask for it): the confirmed
            // subscription appears in the topic's list once the endpoint
            // confirms.
            arn = retry::retry(
                &address,
                aws.propagation,
                || async {
                    confirmed(aws, &p.topic, &p.protocol, &p.endpoint, &address)
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
        let read = || async {
            read_arn(aws, &arn, &address).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Transient,
                    format!("{address}: subscribed but not readable yet"),
                )
            })
        };
        let mut made = read().await?;
        if !http {
            return Ok(made);
        }
        // With `ReturnSubscriptionArn` SNS answers the ARN "in all cases, even if
        // the subscription is not yet confirmed" (Subscribe, Amazon SNS API
        // Reference): whether the endpoint confirmed is read from
        // `GetSubscriptionAttributes` `PendingConfirmation`, waited for within
        // a bound, as terraform-provider-aws' subscription waiter does
        // (`waitSubscriptionConfirmed`, `confirmation_timeout_in_minutes`).
        let bound = confirmation_timeout();
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(200);
        while pending(&made) {
            if started.elapsed() >= bound {
                let message = format!(
                    "{address}: SNS subscription {arn} to {endpoint} was not confirmed by its endpoint within {secs} s (PendingConfirmation); nothing will be delivered to it. The subscription exists and is recorded; the next plan replaces it. Check that {endpoint} answers SNS's SubscriptionConfirmation (BLUEPRINT_SNS_CONFIRM_SECONDS sets the wait)",
                    // A PagerDuty endpoint carries the integration key: hidden.
                    endpoint = crate::providers::pagerduty::redact(&p.endpoint),
                    secs = bound.as_secs(),
                );
                return Err(ProviderError::new(ErrorClass::Invalid, message).leaving(made));
            }
            crate::slots::pause(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(3));
            made = read().await?;
        }
        Ok(made)
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        read_arn(aws, &prior.id, &format!("SNS subscription {}", prior.id)).await
    }

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        // One attribute a call (SetSubscriptionAttributes); a removed policy is
        // cleared with an empty value.
        let updates = [
            (
                "raw_message_delivery",
                "RawMessageDelivery",
                p.raw_message_delivery.unwrap_or(false).to_string(),
            ),
            (
                "redrive_policy",
                "RedrivePolicy",
                p.redrive_policy.clone().unwrap_or_default(),
            ),
            (
                "delivery_policy",
                "DeliveryPolicy",
                p.delivery_policy.clone().unwrap_or_default(),
            ),
        ];
        for (prop, attribute, value) in updates {
            if !changed.iter().any(|c| c == prop) {
                continue;
            }
            aws.call(&address, || {
                aws.sns
                    .set_subscription_attributes()
                    .subscription_arn(&prior.id)
                    .attribute_name(attribute)
                    .attribute_value(&value)
                    .send()
            })
            .await?;
        }
        read_arn(aws, &prior.id, &address)
            .await?
            .ok_or_else(|| ProviderError::new(ErrorClass::NotFound, format!("{address}: gone")))
    }

    /// A subscription its endpoint never confirmed cannot be unsubscribed: SNS
    /// answers "Cannot unsubscribe a subscription that is pending confirmation"
    /// and deletes it by itself after about three days
    /// (terraform-provider-aws `topic_subscription.go` takes that answer as
    /// deleted). It is recorded gone, with a warning; it delivers nothing.
    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        let result = aws
            .call(&format!("SNS subscription {}", prior.id), || {
                aws.sns.unsubscribe().subscription_arn(&prior.id).send()
            })
            .await
            .map(|_| ());
        match result {
            Err(e) if e.message.contains(PENDING_REFUSAL) => {
                let endpoint = prior
                    .props
                    .get("endpoint")
                    .and_then(Value::as_str)
                    .map(crate::providers::pagerduty::redact)
                    .unwrap_or_default();
                let said = format!(
                    "SNS subscription {} to {endpoint} was never confirmed, and SNS does not unsubscribe a pending subscription: it deletes it by itself within about three days (recorded as deleted; it delivers nothing meanwhile)",
                    prior.id
                );
                tracing::warn!("{said}");
                Ok(())
            }
            other => gone_ok(other),
        }
    }

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        let address = d.address();
        match optional(confirmed(aws, &p.topic, &p.protocol, &p.endpoint, &address).await)? {
            Some(Some(arn)) => read_arn(aws, &arn, &address).await.map(Found::part),
            _ => Ok(None),
        }
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        // SNS may hand policies back reformatted: compare them as JSON.
        matches!(prop, "redrive_policy" | "delivery_policy")
            && super::super::same_json_text(desired, observed)
    }
}
