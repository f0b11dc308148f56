//! What `blueprint drill` asks of AWS: alarms, metric filters, subscriptions,
//! and the ways to fire a chain (a log line, an alarm state, a notification).

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;

use super::{AwsProvider, map_error};
use crate::providers::ProviderResult;
use crate::providers::probe::{
    AlarmProbe, AlarmState, LiveAlarm, LiveFilter, LiveRule, LiveSubscription, PatternTest,
};
use crate::providers::{ErrorClass, ProviderError};

#[async_trait]
impl AlarmProbe for AwsProvider {
    fn region(&self) -> &str {
        AwsProvider::region(self)
    }

    /// A metric or composite alarm (DescribeAlarms lists composite alarms
    /// only when `AlarmTypes` asks for them).
    async fn alarm(&self, name: &str) -> ProviderResult<Option<LiveAlarm>> {
        let out = self.alarm_named(name, name).await?;
        let state = |s: Option<&aws_sdk_cloudwatch::types::StateValue>| {
            s.map(|s| s.as_str().to_owned()).unwrap_or_default()
        };
        if let Some(a) = out.composite_alarm(name) {
            return Ok(Some(LiveAlarm {
                name: name.to_owned(),
                arn: a.alarm_arn().map(str::to_owned),
                description: a.alarm_description().map(str::to_owned),
                metric_name: None,
                namespace: None,
                statistic: None,
                period: None,
                evaluation_periods: None,
                comparison_operator: None,
                threshold: None,
                actions_enabled: a.actions_enabled() != Some(false),
                alarm_actions: a.alarm_actions().to_vec(),
                ok_actions: a.ok_actions().to_vec(),
                state: state(a.state_value()),
                rule: a.alarm_rule().map(str::to_owned),
            }));
        }
        Ok(out.metric_alarm(name).map(|a| LiveAlarm {
            name: name.to_owned(),
            arn: a.alarm_arn().map(str::to_owned),
            description: a.alarm_description().map(str::to_owned),
            metric_name: a.metric_name().map(str::to_owned),
            namespace: a.namespace().map(str::to_owned),
            statistic: a.statistic().map(|s| s.as_str().to_owned()),
            period: a.period(),
            evaluation_periods: a.evaluation_periods(),
            comparison_operator: a.comparison_operator().map(|c| c.as_str().to_owned()),
            threshold: a.threshold(),
            actions_enabled: a.actions_enabled() != Some(false),
            alarm_actions: a.alarm_actions().to_vec(),
            ok_actions: a.ok_actions().to_vec(),
            state: state(a.state_value()),
            rule: None,
        }))
    }

    async fn metric_filter(
        &self,
        log_group: &str,
        name: &str,
    ) -> ProviderResult<Option<LiveFilter>> {
        let out = self
            .call(name, || {
                self.logs
                    .describe_metric_filters()
                    .log_group_name(log_group)
                    .filter_name_prefix(name)
                    .send()
            })
            .await?;
        Ok(out
            .metric_filters()
            .iter()
            .find(|f| f.filter_name() == Some(name))
            .map(|f| LiveFilter {
                pattern: f.filter_pattern().unwrap_or_default().to_owned(),
                metrics: f
                    .metric_transformations()
                    .iter()
                    .map(|t| (t.metric_name().to_owned(), t.metric_namespace().to_owned()))
                    .collect(),
            }))
    }

    async fn test_pattern(&self, pattern: &str, line: &str) -> ProviderResult<PatternTest> {
        let tested = self
            .logs
            .test_metric_filter()
            .filter_pattern(pattern)
            .log_event_messages(line)
            .send()
            .await;
        match tested {
            Ok(out) if !out.matches().is_empty() => Ok(PatternTest::Matches),
            Ok(_) => Ok(PatternTest::NoMatch),
            Err(e) => {
                let code = e.as_service_error().and_then(|s| s.code());
                match code {
                    Some("InvalidParameterException") => {
                        Ok(PatternTest::Invalid(map_error(pattern, &e).message))
                    }
                    _ if unimplemented(&e) => Ok(PatternTest::Unsupported),
                    _ => Err(map_error(&format!("TestMetricFilter {pattern:?}"), &e)),
                }
            }
        }
    }

    async fn subscriptions(&self, topic: &str) -> ProviderResult<Vec<LiveSubscription>> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .call(topic, || {
                    self.sns
                        .list_subscriptions_by_topic()
                        .topic_arn(topic)
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            for s in out.subscriptions() {
                let arn = s.subscription_arn().unwrap_or_default().to_owned();
                let mut confirmed = arn.starts_with("arn:");
                if confirmed {
                    // A subscription made with ReturnSubscriptionArn has an ARN
                    // before it is confirmed: ask for its state.
                    let attributes = self
                        .call(&arn, || {
                            self.sns
                                .get_subscription_attributes()
                                .subscription_arn(&arn)
                                .send()
                        })
                        .await?;
                    confirmed = attributes
                        .attributes()
                        .and_then(|a| a.get("PendingConfirmation"))
                        .is_none_or(|v| v != "true");
                }
                found.push(LiveSubscription {
                    arn,
                    protocol: s.protocol().unwrap_or_default().to_owned(),
                    endpoint: s.endpoint().unwrap_or_default().to_owned(),
                    confirmed,
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    async fn publish(&self, topic: &str, subject: &str, message: &str) -> ProviderResult<()> {
        self.call(topic, || {
            self.sns
                .publish()
                .topic_arn(topic)
                .set_subject((!subject.is_empty()).then(|| subject.to_owned()))
                .message(message)
                .send()
        })
        .await
        .map(|_| ())
    }

    async fn set_alarm_state(
        &self,
        name: &str,
        state: AlarmState,
        reason: &str,
    ) -> ProviderResult<()> {
        let value = match state {
            AlarmState::Ok => aws_sdk_cloudwatch::types::StateValue::Ok,
            AlarmState::Alarm => aws_sdk_cloudwatch::types::StateValue::Alarm,
        };
        self.call(name, || {
            self.cloudwatch
                .set_alarm_state()
                .alarm_name(name)
                .state_value(value.clone())
                .state_reason(reason)
                .send()
        })
        .await
        .map(|_| ())
    }

    async fn write_log_line(&self, log_group: &str, line: &str) -> ProviderResult<String> {
        let stream = format!(
            "blueprint-drill-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ")
        );
        self.call(log_group, || {
            self.logs
                .create_log_stream()
                .log_group_name(log_group)
                .log_stream_name(&stream)
                .send()
        })
        .await?;
        let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(chrono::Utc::now().timestamp_millis())
            .message(line)
            .build()
            .map_err(|e| {
                crate::providers::ProviderError::new(
                    crate::providers::ErrorClass::Invalid,
                    format!("{log_group}: {e}"),
                )
            })?;
        self.call(log_group, || {
            self.logs
                .put_log_events()
                .log_group_name(log_group)
                .log_stream_name(&stream)
                .log_events(event.clone())
                .send()
        })
        .await?;
        Ok(stream)
    }

    async fn failed_deliveries(
        &self,
        topic: &str,
        since: std::time::SystemTime,
    ) -> ProviderResult<u64> {
        // The metric's dimension is the topic's name, the ARN's last part.
        let name = topic.rsplit(':').next().unwrap_or(topic).to_owned();
        let start = aws_smithy_types::DateTime::from(since);
        // One period a minute (SNS reports these metrics each minute), up to now
        // and a minute on, so a datapoint stamped this minute is counted.
        let end = aws_smithy_types::DateTime::from(
            std::time::SystemTime::now() + std::time::Duration::from_secs(60),
        );
        let out = self
            .call(topic, || {
                self.cloudwatch
                    .get_metric_statistics()
                    .namespace("AWS/SNS")
                    .metric_name("NumberOfNotificationsFailed")
                    .dimensions(
                        aws_sdk_cloudwatch::types::Dimension::builder()
                            .name("TopicName")
                            .value(&name)
                            .build(),
                    )
                    .start_time(start)
                    .end_time(end)
                    .period(60)
                    .statistics(aws_sdk_cloudwatch::types::Statistic::Sum)
                    .send()
            })
            .await?;
        Ok(out
            .datapoints()
            .iter()
            .filter_map(|d| d.sum())
            .sum::<f64>()
            .round() as u64)
    }

    async fn queue_depth(&self, queue_url: &str) -> ProviderResult<u64> {
        use aws_sdk_sqs::types::QueueAttributeName as Attr;
        let out = self
            .call(queue_url, || {
                self.sqs
                    .get_queue_attributes()
                    .queue_url(queue_url)
                    .attribute_names(Attr::ApproximateNumberOfMessages)
                    .attribute_names(Attr::ApproximateNumberOfMessagesNotVisible)
                    .send()
            })
            .await?;
        let attributes = out.attributes();
        let count = |a: Attr| {
            attributes
                .and_then(|m| m.get(&a))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(count(Attr::ApproximateNumberOfMessages)
            + count(Attr::ApproximateNumberOfMessagesNotVisible))
    }

    async fn event_rule(&self, name: &str) -> ProviderResult<Option<LiveRule>> {
        let address = format!("EventBridge rule {name}");
        let described = self
            .call(&address, || self.events.describe_rule().name(name).send())
            .await;
        let rule = match described {
            Ok(rule) => rule,
            Err(e) if e.class == ErrorClass::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut targets = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .call(&address, || {
                    self.events
                        .list_targets_by_rule()
                        .rule(name)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            targets.extend(page.targets().iter().map(|t| t.arn().to_owned()));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(Some(LiveRule {
            arn: rule.arn().unwrap_or_default().to_owned(),
            state: rule.state().map_or("ENABLED", |s| s.as_str()).to_owned(),
            event_pattern: rule.event_pattern().map(str::to_owned),
            targets,
        }))
    }

    async fn test_event_pattern(&self, pattern: &str, event: &str) -> ProviderResult<PatternTest> {
        let tested = self
            .events
            .test_event_pattern()
            .event_pattern(pattern)
            .event(event)
            .send()
            .await;
        match tested {
            Ok(out) if out.result() => Ok(PatternTest::Matches),
            Ok(_) => Ok(PatternTest::NoMatch),
            Err(e) => match e.as_service_error().and_then(|s| s.code()) {
                Some("InvalidEventPatternException") => {
                    Ok(PatternTest::Invalid(map_error(pattern, &e).message))
                }
                _ => Err(map_error("TestEventPattern", &e)),
            },
        }
    }

    async fn put_event(
        &self,
        source: &str,
        detail_type: &str,
        detail: &str,
    ) -> ProviderResult<String> {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(source)
            .detail_type(detail_type)
            .detail(detail)
            .build();
        let out = self
            .call("PutEvents", || {
                self.events.put_events().entries(entry.clone()).send()
            })
            .await?;
        // PutEvents answers 200 with the entries it refused.
        match out.entries().first() {
            Some(e) if e.error_code().is_none() => Ok(e.event_id().unwrap_or_default().to_owned()),
            Some(e) => Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "EventBridge refused the event (source {source:?}): {}: {}",
                    e.error_code().unwrap_or_default(),
                    e.error_message().unwrap_or_default()
                ),
            )),
            None => Err(ProviderError::new(
                ErrorClass::Invalid,
                "EventBridge answered PutEvents with no entry",
            )),
        }
    }

    async fn topic_policy(&self, topic: &str) -> ProviderResult<Option<String>> {
        let out = self
            .call(topic, || {
                self.sns.get_topic_attributes().topic_arn(topic).send()
            })
            .await?;
        Ok(out
            .attributes()
            .and_then(|a| a.get("Policy"))
            .filter(|p| !p.is_empty())
            .cloned())
    }
}

/// An endpoint that does not implement the operation: moto answers 500 with an
/// HTML page (no AWS error code in it); AWS itself always names its errors.
fn unimplemented(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_cloudwatchlogs::operation::test_metric_filter::TestMetricFilterError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool {
    use aws_smithy_runtime_api::client::result::SdkError;
    match error {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            matches!(status, 404 | 500 | 501) && matches!(s.err().code(), None | Some("Unknown"))
        }
        SdkError::ResponseError(_) => true,
        _ => false,
    }
}
