//! One EventBridge chain, link by link: rule (its pattern matches the drill's
//! event) → rule's target is the topic → the topic's policy lets EventBridge
//! publish → subscription → inject → incident → notified, then clean-up.

use serde_json::Value;

use super::event_sample::{Sample, sample};
use super::live::topic_name;
use super::report::{ChainReport, Failure, Inject, Links, fail};
use super::{Drill, Probes};
use crate::providers::probe::{LiveRule, PatternTest};
use blueprint_model::graph::alerting::EventChain;

impl Drill<'_> {
    pub(super) async fn event_chain(&self, chain: &EventChain<'_>) -> ChainReport {
        // Anything but `--from topic` starts at the bus: the closest to the source.
        let inject = match self.options.inject {
            Inject::Topic => Inject::Topic,
            _ => Inject::Event,
        };
        let mut links = Links::default();
        let mut report = ChainReport {
            alarm: chain.rule.id.clone(),
            alarm_name: chain.rule_name(),
            source: chain.rule.kind.clone(),
            path: describe(chain),
            inject,
            links: Vec::new(),
            paged: None,
        };
        let Some(page) = chain.pages.first() else {
            links.record(
                "wiring",
                Err(fail(
                    "the rule's topic reaches no PagerDuty integration in this blueprint",
                    "subscribe the topic to a PagerDuty integration's CloudWatch endpoint",
                )),
            );
            report.links = links.links;
            return report;
        };
        let prepared = self.probes_for(&chain.rule.kind, page).and_then(|probes| {
            let live = self.page_live(page)?;
            let rule_name = self.output(&chain.rule.id, "name")?;
            Ok((probes, live, rule_name))
        });
        let (probes, live, rule_name) = match prepared {
            Ok(ready) => ready,
            Err(failure) => {
                links.record("state", Err(failure));
                report.links = links.links;
                return report;
            }
        };
        report.alarm_name = rule_name.clone();

        let live_rule = self.live_rule(&probes, &rule_name).await;
        let checked = match &live_rule {
            Ok(r) => self.rule(&probes, &rule_name, r).await,
            Err(e) => Err(e.clone()),
        };
        links.record(
            "rule",
            checked
                .as_ref()
                .map(|(d, _)| d.clone())
                .map_err(Clone::clone),
        );
        // Without an event the pattern was proven to match, only the topic can
        // be fired (with a plain event: PagerDuty reads no pattern).
        let event = match (checked, inject) {
            (Ok((_, sample)), _) => Ok(sample),
            (Err(_), Inject::Topic) => Ok(Sample {
                source: "blueprint.drill".into(),
                detail_type: "Blueprint drill".into(),
                detail: serde_json::json!({}),
            }),
            (Err(_), _) => Err(fail(
                "no event the rule is proven to match: nothing to put on the bus",
                "--from topic checks the rest of the chain",
            )),
        };
        match &live_rule {
            Ok(r) => {
                links.record(
                    "rule → topic",
                    rule_to_topic(&rule_name, r, &live.topic_arn),
                );
                links.record(
                    "topic policy",
                    self.topic_policy(&probes, &live.topic_arn, &r.arn).await,
                );
            }
            Err(_) => links.skip_rest(&["rule → topic", "topic policy"]),
        }
        links.record(
            "subscription",
            self.subscription(&probes, &live, page).await,
        );

        let fire = event
            .as_ref()
            .map(|event| send(&probes, inject, event, &live.topic_arn))
            .map_err(Clone::clone);
        report.paged = self
            .fire_and_follow(&probes, &live, &mut links, fire, None)
            .await;
        report.links = links.links;
        report
    }

    async fn live_rule(&self, probes: &Probes, name: &str) -> Result<LiveRule, Failure> {
        probes.alarms().event_rule(name).await?.ok_or_else(|| {
            fail(
                format!("EventBridge rule {name:?} does not exist"),
                "it was deleted outside blueprint: `blueprint run` recreates it",
            )
        })
    }

    /// 1. The rule is enabled and its pattern matches the event the drill sends
    ///    (the service decides: TestEventPattern).
    async fn rule(
        &self,
        probes: &Probes,
        name: &str,
        rule: &LiveRule,
    ) -> Result<(String, Sample), Failure> {
        if rule.state != "ENABLED" {
            return Err(fail(
                format!(
                    "EventBridge rule {name:?} is {}: it matches nothing",
                    rule.state
                ),
                "enable it: `blueprint run` restores the declared state",
            ));
        }
        let Some(pattern) = rule.event_pattern.clone() else {
            return Err(Failure::Skipped(format!(
                "rule {name:?} runs on a schedule, with no event pattern: nothing to send it"
            )));
        };
        let Some(sample) = sample(&pattern) else {
            return Err(Failure::Skipped(format!(
                "cannot build an event for pattern {pattern} (a filter this drill does not write: cidr, nested $or, ...)"
            )));
        };
        let alarms = probes.alarms();
        let event = event_of(&sample, &rule.arn, alarms.region());
        match alarms
            .test_event_pattern(&pattern, &event.to_string())
            .await?
        {
            PatternTest::Matches => Ok((
                format!(
                    "rule {name:?} is ENABLED; its pattern matches a {:?} event from {} (TestEventPattern)",
                    sample.detail_type, sample.source
                ),
                sample,
            )),
            PatternTest::NoMatch => Err(fail(
                format!("rule {name:?}'s pattern does not match the drill's event {event}"),
                "the drill's event is built from the pattern; a pattern it cannot meet needs --from topic",
            )),
            PatternTest::Invalid(message) => Err(fail(
                crate::providers::pagerduty::redact(&message),
                "fix the rule's event_pattern",
            )),
            PatternTest::Unsupported => Err(Failure::Skipped(
                "this endpoint has no TestEventPattern".into(),
            )),
        }
    }

    /// 3. The topic's policy lets `events.amazonaws.com` publish for this rule.
    async fn topic_policy(
        &self,
        probes: &Probes,
        topic: &str,
        rule_arn: &str,
    ) -> Result<String, Failure> {
        let policy = probes.alarms().topic_policy(topic).await?;
        let name = topic_name(topic);
        match policy
            .as_deref()
            .map(|p| allows_eventbridge(p, topic, rule_arn))
        {
            Some(Ok(detail)) => Ok(format!("{name}: {detail}")),
            Some(Err(why)) => Err(fail(
                format!("{name}'s policy does not let EventBridge publish: {why}"),
                "declare an aws.sns_topic_policy allowing events.amazonaws.com sns:Publish on the topic (for the rule's ARN)",
            )),
            None => Err(fail(
                format!("{name} has no policy: EventBridge may not publish to it"),
                "declare an aws.sns_topic_policy allowing events.amazonaws.com sns:Publish on the topic",
            )),
        }
    }
}

/// 2. The rule sends to the topic subscribed to PagerDuty.
fn rule_to_topic(name: &str, rule: &LiveRule, topic: &str) -> Result<String, Failure> {
    if rule.targets.iter().any(|t| t == topic) {
        Ok(format!("rule {name:?} targets {}", topic_name(topic)))
    } else {
        Err(fail(
            format!(
                "rule {name:?} targets [{}], not the topic subscribed to PagerDuty ({topic})",
                rule.targets.join(", ")
            ),
            "the rule's targets were changed outside blueprint: `blueprint run` restores them",
        ))
    }
}

/// The event as EventBridge would hand it to the topic.
fn event_of(sample: &Sample, rule_arn: &str, region: &str) -> Value {
    let account = rule_arn.split(':').nth(4).unwrap_or_default();
    let now = chrono::Utc::now();
    let id = format!("blueprint-drill-{}", now.timestamp_millis());
    let time = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    sample.event(&id, account, region, &time)
}

/// 4. Fire: the event on the bus, or what the rule would publish to the topic.
async fn send(
    probes: &Probes,
    inject: Inject,
    sample: &Sample,
    topic: &str,
) -> Result<String, Failure> {
    let alarms = probes.alarms();
    if inject == Inject::Topic {
        // The rule's account and region are the topic's.
        let event = event_of(sample, topic, alarms.region());
        alarms.publish(topic, "", &event.to_string()).await?;
        return Ok(format!(
            "published a {:?} event from {} to {}",
            sample.detail_type,
            sample.source,
            topic_name(topic)
        ));
    }
    let id = alarms
        .put_event(&sample.source, &sample.detail_type, &sample.detail.to_string())
        .await
        .map_err(|e| {
            fail(
                crate::providers::pagerduty::redact(&e.message),
                "EventBridge accepts no event from an account with a source AWS reserves (aws.*) on some buses: --from topic sends the same event to the topic",
            )
        })?;
    Ok(format!(
        "put a {:?} event from {} on the default bus (id {id})",
        sample.detail_type, sample.source
    ))
}

/// Whether a topic policy lets EventBridge publish for `rule_arn`: an Allow
/// statement for the service principal `events.amazonaws.com`, with
/// `sns:Publish` on the topic, whose `aws:SourceArn` condition (if any) names
/// the rule. Deny statements and other condition keys are not evaluated.
fn allows_eventbridge(policy: &str, topic: &str, rule_arn: &str) -> Result<String, String> {
    let doc: Value =
        serde_json::from_str(policy).map_err(|e| format!("the policy is not JSON: {e}"))?;
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(list) => list
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    for s in &statements {
        let allows = s["Effect"] == "Allow"
            && strings(&s["Principal"]["Service"])
                .iter()
                .any(|p| p == "events.amazonaws.com")
            && strings(&s["Action"])
                .iter()
                .any(|a| a.eq_ignore_ascii_case("sns:publish") || a == "sns:*" || a == "*")
            && strings(&s["Resource"])
                .iter()
                .any(|r| r == topic || r == "*");
        if !allows {
            continue;
        }
        let sources: Vec<String> = ["ArnEquals", "ArnLike", "StringEquals", "StringLike"]
            .iter()
            .flat_map(|op| strings(&s["Condition"][op]["aws:SourceArn"]))
            .collect();
        if sources.is_empty() {
            return Ok("events.amazonaws.com may publish (any rule)".into());
        }
        if sources.iter().any(|a| a == rule_arn) {
            return Ok("events.amazonaws.com may publish for this rule".into());
        }
        return Err(format!(
            "its statement for events.amazonaws.com names other rules ({})",
            sources.join(", ")
        ));
    }
    Err("no statement allows events.amazonaws.com sns:Publish on the topic".into())
}

/// `rule → target → topic → integration → service`, by declared names.
fn describe(chain: &EventChain<'_>) -> String {
    let mut parts = vec![
        format!("rule {}", chain.rule.id),
        format!("target {}", chain.target.id),
        format!("topic {}", chain.topic.id),
    ];
    if let Some(page) = chain.pages.first() {
        parts.push(format!("integration {}", page.integration.id));
        if let Some(s) = page.service {
            parts.push(format!("service {}", s.id));
        }
    }
    parts.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::allows_eventbridge;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:pages";
    const RULE: &str = "arn:aws:events:us-east-1:123456789012:rule/r";

    #[test]
    fn a_policy_for_eventbridge_is_recognised_with_its_source() {
        let any = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Service":"events.amazonaws.com"}},"Action":"sns:Publish","Resource":"{TOPIC}"}}]}}"#
        );
        assert!(allows_eventbridge(&any, TOPIC, RULE).is_ok());
        let this = any.replace(
            r#""Resource""#,
            &format!(r#""Condition":{{"ArnEquals":{{"aws:SourceArn":["{RULE}"]}}}},"Resource""#),
        );
        assert!(
            allows_eventbridge(&this, TOPIC, RULE)
                .unwrap()
                .contains("this rule")
        );
        let other = this.replace("rule/r", "rule/other");
        assert!(
            allows_eventbridge(&other, TOPIC, RULE)
                .unwrap_err()
                .contains("other rules")
        );
        let default = r#"{"Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":"SNS:Publish","Resource":"x"}]}"#;
        assert!(allows_eventbridge(default, TOPIC, RULE).is_err());
    }
}
