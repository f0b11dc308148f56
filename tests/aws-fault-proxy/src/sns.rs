//! SNS where moto is kinder than AWS: moto confirms every http/https
//! subscription at once, while SNS keeps one pending until the endpoint visits
//! the SubscribeURL it was sent. For endpoints configured as never confirming
//! (`Faults::non_confirming_endpoints`), the proxy keeps the subscription
//! itself, pending, as SNS does (Amazon SNS API Reference):
//!
//! - `Subscribe` answers the subscription's ARN when `ReturnSubscriptionArn` is
//!   true ("the response includes the ARN in all cases, even if the subscription
//!   is not yet confirmed"), else "pending confirmation";
//! - `GetSubscriptionAttributes` reports `PendingConfirmation` `true` ("true if
//!   the subscription hasn't been confirmed") and `ConfirmationWasAuthenticated`
//!   `false`;
//! - `ListSubscriptionsByTopic` / `ListSubscriptions` list it with
//!   `SubscriptionArn` `PendingConfirmation` (what SNS lists for unconfirmed
//!   subscriptions; terraform-provider-aws' topic subscription waiter looks for
//!   that value);
//! - `Publish` delivers nothing to it: moto, which does the delivering, never
//!   heard of it;
//! - `Unsubscribe` is refused, 400 `InvalidParameter` "Cannot unsubscribe a
//!   subscription that is pending confirmation" (the answer
//!   terraform-provider-aws' `internal/service/sns/topic_subscription.go` takes
//!   as deleted: SNS removes an unconfirmed subscription by itself after about
//!   three days); `DeleteTopic` removes it with its topic;
//!   `SetSubscriptionAttributes` changes its attributes.
//!
//! The endpoint is not contacted (a non-confirming endpoint ignores the
//! SubscriptionConfirmation anyway).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::call::Call;
use crate::errors::{namespace, query_error, xml_escape};
use crate::{Incoming, Shared, Upstream, fault, forward};

#[derive(Debug, Clone)]
pub struct Pending {
    arn: String,
    topic: String,
    protocol: String,
    endpoint: String,
    /// Attributes set at subscribe time or later (e.g. RawMessageDelivery).
    attributes: Vec<(String, String)>,
}

pub async fn handle(
    shared: &Shared,
    call: &Call,
    incoming: &Incoming,
) -> Result<Response, Response> {
    match call.action.as_str() {
        "Subscribe" => subscribe(shared, call, incoming).await,
        "GetSubscriptionAttributes" | "SetSubscriptionAttributes" | "Unsubscribe" => {
            let arn = call.param("SubscriptionArn").unwrap_or_default();
            let known = shared.state().pending.iter().any(|p| p.arn == arn);
            if !known {
                return Ok(forward(shared, incoming).await?.into_response());
            }
            Ok(answer_pending(shared, call, arn))
        }
        "ListSubscriptionsByTopic" | "ListSubscriptions" => {
            let mut answer = forward(shared, incoming).await?;
            // Pending subscriptions come on the first page.
            if answer.ok() && call.param("NextToken").is_none() {
                let topic = call.param("TopicArn");
                let members: String = shared
                    .state()
                    .pending
                    .iter()
                    .filter(|p| topic.is_none_or(|t| t == p.topic))
                    .map(member)
                    .collect();
                splice(&mut answer, &members);
            }
            Ok(answer.into_response())
        }
        "DeleteTopic" => {
            let answer = forward(shared, incoming).await?;
            if answer.ok() {
                let topic = call.param("TopicArn").unwrap_or_default();
                shared.state().pending.retain(|p| p.topic != topic);
            }
            Ok(answer.into_response())
        }
        _ => Ok(forward(shared, incoming).await?.into_response()),
    }
}

fn xml(action: &str, result: &str) -> Response {
    let body = format!(
        "<{action}Response xmlns=\"{}\">{result}<ResponseMetadata><RequestId>fault-proxy</RequestId>\
         </ResponseMetadata></{action}Response>",
        namespace("sns")
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn owner(topic: &str) -> &str {
    topic.split(':').nth(4).unwrap_or_default()
}

fn member(p: &Pending) -> String {
    format!(
        "<member><SubscriptionArn>PendingConfirmation</SubscriptionArn><Owner>{}</Owner>\
         <Protocol>{}</Protocol><Endpoint>{}</Endpoint><TopicArn>{}</TopicArn></member>",
        xml_escape(owner(&p.topic)),
        xml_escape(&p.protocol),
        xml_escape(&p.endpoint),
        xml_escape(&p.topic)
    )
}

/// Put `members` into moto's `<Subscriptions>` list.
fn splice(answer: &mut Upstream, members: &str) {
    if members.is_empty() {
        return;
    }
    let Ok(text) = std::str::from_utf8(&answer.body) else {
        return;
    };
    let text = if text.contains("<Subscriptions/>") {
        text.replacen(
            "<Subscriptions/>",
            &format!("<Subscriptions>{members}</Subscriptions>"),
            1,
        )
    } else {
        text.replacen("</Subscriptions>", &format!("{members}</Subscriptions>"), 1)
    };
    answer.body = text.into();
}

/// `Attributes.entry.N.key` / `.value` pairs of a Query request.
fn attributes(call: &Call) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in 1.. {
        let key = call.param(&format!("Attributes.entry.{n}.key"));
        let value = call.param(&format!("Attributes.entry.{n}.value"));
        match (key, value) {
            (Some(k), Some(v)) => out.push((k.to_owned(), v.to_owned())),
            _ => break,
        }
    }
    out
}

async fn subscribe(
    shared: &Shared,
    call: &Call,
    incoming: &Incoming,
) -> Result<Response, Response> {
    let protocol = call.param("Protocol").unwrap_or_default().to_owned();
    let endpoint = call.param("Endpoint").unwrap_or_default().to_owned();
    let topic = call.param("TopicArn").unwrap_or_default().to_owned();
    let never_confirms = matches!(protocol.as_str(), "http" | "https")
        && shared
            .state()
            .faults
            .non_confirming_endpoints
            .iter()
            .any(|prefix| endpoint.starts_with(prefix.as_str()));
    if !never_confirms {
        return Ok(forward(shared, incoming).await?.into_response());
    }
    // The topic must exist: ask moto, as this account and region (moto reads
    // both from the request's credential scope).
    let check = Incoming {
        method: axum::http::Method::POST,
        target: "/".into(),
        headers: incoming.headers.clone(),
        body: form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", "GetTopicAttributes")
            .append_pair("TopicArn", &topic)
            .finish()
            .into(),
    };
    let exists = forward(shared, &check).await?;
    if !exists.ok() {
        return Ok(exists.into_response());
    }
    let arn = {
        let mut state = shared.state();
        let existing = state
            .pending
            .iter()
            .find(|p| p.topic == topic && p.protocol == protocol && p.endpoint == endpoint)
            .map(|p| p.arn.clone());
        match existing {
            Some(arn) => arn,
            None => {
                state.next_id += 1;
                let arn = format!("{topic}:{}", uuid_like(state.next_id));
                state.pending.push(Pending {
                    arn: arn.clone(),
                    topic,
                    protocol,
                    endpoint,
                    attributes: attributes(call),
                });
                arn
            }
        }
    };
    shared.state().injected(fault::PENDING_SUBSCRIPTION);
    let shown = if call.param("ReturnSubscriptionArn") == Some("true") {
        arn
    } else {
        "pending confirmation".to_owned()
    };
    Ok(xml(
        "Subscribe",
        &format!(
            "<SubscribeResult><SubscriptionArn>{}</SubscriptionArn></SubscribeResult>",
            xml_escape(&shown)
        ),
    ))
}

fn answer_pending(shared: &Shared, call: &Call, arn: &str) -> Response {
    let mut state = shared.state();
    match call.action.as_str() {
        "Unsubscribe" => query_error(
            StatusCode::BAD_REQUEST,
            "sns",
            "InvalidParameter",
            "Invalid parameter: Cannot unsubscribe a subscription that is pending confirmation",
        ),
        "SetSubscriptionAttributes" => {
            let (Some(name), Some(value)) =
                (call.param("AttributeName"), call.param("AttributeValue"))
            else {
                return query_error(
                    StatusCode::BAD_REQUEST,
                    "sns",
                    "InvalidParameter",
                    "Invalid parameter: AttributeName",
                );
            };
            if let Some(p) = state.pending.iter_mut().find(|p| p.arn == arn) {
                p.attributes.retain(|(k, _)| k != name);
                p.attributes.push((name.to_owned(), value.to_owned()));
            }
            xml("SetSubscriptionAttributes", "")
        }
        _ => {
            let Some(p) = state.pending.iter().find(|p| p.arn == arn) else {
                return query_error(
                    StatusCode::NOT_FOUND,
                    "sns",
                    "NotFound",
                    "Subscription does not exist",
                );
            };
            let mut entries: Vec<(String, String)> = vec![
                ("SubscriptionArn".into(), p.arn.clone()),
                ("TopicArn".into(), p.topic.clone()),
                ("Owner".into(), owner(&p.topic).to_owned()),
                ("Protocol".into(), p.protocol.clone()),
                ("Endpoint".into(), p.endpoint.clone()),
                ("PendingConfirmation".into(), "true".into()),
                ("ConfirmationWasAuthenticated".into(), "false".into()),
            ];
            if !p.attributes.iter().any(|(k, _)| k == "RawMessageDelivery") {
                entries.push(("RawMessageDelivery".into(), "false".into()));
            }
            entries.extend(p.attributes.iter().cloned());
            let entries: String = entries
                .iter()
                .map(|(k, v)| {
                    format!(
                        "<entry><key>{}</key><value>{}</value></entry>",
                        xml_escape(k),
                        xml_escape(v)
                    )
                })
                .collect();
            xml(
                "GetSubscriptionAttributes",
                &format!(
                    "<GetSubscriptionAttributesResult><Attributes>{entries}</Attributes>\
                     </GetSubscriptionAttributesResult>"
                ),
            )
        }
    }
}

/// A subscription id shaped like SNS's (a UUID), from a counter.
fn uuid_like(n: u64) -> String {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut hex = String::new();
    for _ in 0..2 {
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        hex.push_str(&format!("{x:016x}"));
    }
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
