//! One chain, link by link: filter → alarm → topic → subscription → inject →
//! incident → notified, then clean-up. Each link asks the live service through a probe.

use serde_json::{Value, json};

use super::live::{Live, topic_name};
use super::pattern::TermPattern;
use super::report::{ChainReport, Failure, Links, fail};
use super::{Drill, Inject, Probes};
use crate::providers::probe::{AlarmState, LiveAlarm, PatternTest};
use blueprint_model::graph::alerting::{self, AlertChain, PagePath};
use blueprint_model::kind::Role;

impl Drill<'_> {
    pub(super) async fn chain(&self, chain: &AlertChain<'_>) -> ChainReport {
        let mut links = Links::default();
        let mut report = ChainReport {
            alarm: chain.alarm.id.clone(),
            alarm_name: chain.alarm_name(),
            source: chain.alarm.kind.clone(),
            path: describe(chain),
            inject: self.options.inject,
            links: Vec::new(),
            paged: None,
        };
        let Some(page) = chain.pages.first() else {
            links.record(
                "wiring",
                Err(fail(
                    "the alarm's actions reach no PagerDuty integration in this blueprint",
                    "notify an SNS topic subscribed to a PagerDuty integration's CloudWatch endpoint (`blueprint check` shows the rule)",
                )),
            );
            report.links = links.links;
            return report;
        };
        let prepared = self
            .probes(chain)
            .and_then(|probes| Ok((probes, self.live(chain, page)?)));
        let (probes, live) = match prepared {
            Ok(ready) => ready,
            Err(failure) => {
                links.record("state", Err(failure));
                report.links = links.links;
                return report;
            }
        };
        report.alarm_name = live.alarm_name.clone();

        let alarm = self.alarm(&probes, &live).await;
        // A composite alarm has children where a metric alarm has a filter.
        match alarm.as_ref().ok().and_then(|a| a.rule.clone()) {
            Some(rule) => links.record("children", self.children(&probes, &rule).await),
            None => links.record(
                "filter",
                self.filter(&probes, &live, alarm.as_ref().ok()).await,
            ),
        }
        links.record("alarm → topic", alarm_to_topic(&live, &alarm));
        links.record(
            "subscription",
            self.subscription(&probes, &live, page).await,
        );

        let fire = self.inject(&probes, &live, alarm.as_ref().ok());
        report.paged = self
            .fire_and_follow(&probes, &live, &mut links, Ok(fire), Some(&live.alarm_name))
            .await;
        report.links = links.links;
        report
    }

    /// Identifiers from the state: the drill needs an applied blueprint.
    fn live(&self, chain: &AlertChain<'_>, page: &PagePath<'_>) -> Result<Live, Failure> {
        let output = |id: &str, name: &str| self.output(id, name);
        Ok(Live {
            alarm_name: output(&chain.alarm.id, "alarm_name")?,
            log_group: chain.log_group.map(|g| output(&g.id, "name")).transpose()?,
            filter_name: chain.filter.map(|f| output(&f.id, "name")).transpose()?,
            ..self.page_live(page)?
        })
    }

    /// A node as applied.
    fn applied(&self, id: &str) -> Result<&crate::providers::Resource, Failure> {
        self.state
            .resources
            .get(id)
            .and_then(|e| e.resource.as_ref())
            .ok_or_else(|| {
                fail(
                    format!("{id} is not in the state"),
                    "apply the blueprint first: `blueprint run FILE`",
                )
            })
    }

    /// A node's output as applied.
    pub(super) fn output(&self, id: &str, name: &str) -> Result<String, Failure> {
        self.applied(id)?.outputs.get(name).cloned().ok_or_else(|| {
            fail(
                format!("{id} has no {name} in the state"),
                "apply the blueprint again: `blueprint run FILE`",
            )
        })
    }

    /// What the state says of a topic's way to PagerDuty (no alarm, log group
    /// or filter: the caller adds its own source's).
    pub(super) fn page_live(&self, page: &PagePath<'_>) -> Result<Live, Failure> {
        let resource = |id: &str| self.applied(id);
        let output = |id: &str, name: &str| self.output(id, name);
        let service = page.service.ok_or_else(|| {
            fail(
                format!(
                    "integration {} belongs to no service of this blueprint",
                    page.integration.id
                ),
                "declare the service in the blueprint",
            )
        })?;
        let service_resource = resource(&service.id)?;
        Ok(Live {
            alarm_name: String::new(),
            topic_arn: output(&page.topic.id, "arn")?,
            service_id: service_resource.id.clone(),
            service_name: service_resource
                .props
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&service.id)
                .to_owned(),
            // Declared here, or read from elsewhere (another blueprint's
            // output): the service as applied names it either way.
            policy_id: page
                .escalation_policy
                .and_then(|p| resource(&p.id).ok())
                .map(|r| r.id.clone())
                .or_else(|| {
                    service_resource
                        .props
                        .get("escalation_policy")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }),
            levels: page
                .escalation_policy
                .and_then(|p| p.props.get("rules"))
                .and_then(Value::as_array)
                .map_or(1, |rules| rules.len().max(1) as u32),
            log_group: None,
            filter_name: None,
            dead_letter_queue: alerting::referenced(
                self.graph,
                page.subscription.props.get("redrive_policy"),
            )
            .find(|n| n.role(crate::providers::catalog()) == Some(Role::Queue))
            .map(|q| output(&q.id, "url"))
            .transpose()?,
            delivery_attempts: super::delivery::attempts(
                resource(&page.subscription.id)?
                    .props
                    .get("delivery_policy")
                    .and_then(Value::as_str),
            ),
        })
    }

    async fn alarm(&self, probes: &Probes, live: &Live) -> Result<LiveAlarm, Failure> {
        probes
            .alarms()
            .alarm(&live.alarm_name)
            .await?
            .ok_or_else(|| {
                fail(
                    format!("alarm {:?} does not exist", live.alarm_name),
                    "it was deleted outside blueprint: `blueprint run` recreates it",
                )
            })
    }

    /// 1. (A composite alarm.) Every alarm its rule names exists; the line
    ///    says what the rule is now, by the children's states.
    async fn children(&self, probes: &Probes, rule: &str) -> Result<String, Failure> {
        use crate::providers::aws::kinds::cloudwatch_composite_alarm::{
            Rule, State, alarm_name_of,
        };
        let parsed = Rule::parse(rule).map_err(|e| {
            fail(
                format!("CloudWatch holds a rule this drill cannot read ({e}): {rule}"),
                "fix alarm_rule",
            )
        })?;
        let mut states = Vec::new();
        for child in parsed.alarms() {
            let name = alarm_name_of(&child).to_owned();
            let live = probes.alarms().alarm(&name).await?.ok_or_else(|| {
                fail(
                    format!("the rule names alarm {name:?}, which does not exist"),
                    "it was deleted outside blueprint: `blueprint run` recreates it, or change alarm_rule",
                )
            })?;
            states.push((child, live.state));
        }
        let now = parsed.eval(&|name| {
            states
                .iter()
                .find(|(child, _)| child == name)
                .and_then(|(_, s)| State::of(s))
        });
        let listed: Vec<String> = states
            .iter()
            .map(|(child, state)| format!("{} ({state})", alarm_name_of(child)))
            .collect();
        let verdict = match now {
            Some(true) => "the rule is TRUE now",
            Some(false) => "the rule is FALSE now (a suppressor in ALARM, or no child in ALARM)",
            None => "the rule cannot be evaluated now",
        };
        Ok(format!("{} exist; {verdict}", listed.join(", ")))
    }

    /// 1. The filter exists, feeds the alarm's metric, and matches a line carrying
    ///    its pattern.
    async fn filter(
        &self,
        probes: &Probes,
        live: &Live,
        alarm: Option<&LiveAlarm>,
    ) -> Result<String, Failure> {
        let filter = self.live_filter(probes, live).await?;
        let name = live.filter_name.as_deref().unwrap_or_default();
        if let Some(alarm) = alarm {
            let feeds = filter.metrics.iter().any(|(metric, namespace)| {
                Some(metric.as_str()) == alarm.metric_name.as_deref()
                    && Some(namespace.as_str()) == alarm.namespace.as_deref()
            });
            if !feeds {
                return Err(fail(
                    format!(
                        "the alarm watches {}/{}, which filter {name:?} does not emit",
                        alarm.namespace.as_deref().unwrap_or("?"),
                        alarm.metric_name.as_deref().unwrap_or("?")
                    ),
                    "make the alarm's metric_name and namespace the filter's metric_transformation",
                ));
            }
        }
        let pattern = filter.pattern;
        let term = TermPattern::parse(&pattern);
        let Some(line) = term.as_ref().and_then(|t| t.sample("blueprint drill")) else {
            return Err(Failure::Skipped(format!(
                "cannot write a line for pattern {pattern:?} (JSON, space-delimited, regex or self-excluding patterns need a sample)"
            )));
        };
        let no_match = || {
            fail(
                format!("pattern {pattern:?} does not match {line:?}"),
                "check the pattern's syntax: CloudWatch terms are case-sensitive",
            )
        };
        match probes.alarms().test_pattern(&pattern, &line).await? {
            PatternTest::Matches => Ok(format!(
                "pattern {pattern:?} matches {line:?} (TestMetricFilter)"
            )),
            PatternTest::NoMatch => Err(no_match()),
            PatternTest::Invalid(message) => Err(fail(
                crate::providers::pagerduty::redact(&message),
                "fix the filter pattern",
            )),
            // moto has no TestMetricFilter; term patterns are simple enough to
            // evaluate here with CloudWatch's semantics, and the line says so.
            PatternTest::Unsupported => {
                if term.expect("sampled").matches(&line) {
                    Ok(format!(
                        "pattern {pattern:?} matches {line:?} (checked locally: this endpoint has no TestMetricFilter)"
                    ))
                } else {
                    Err(no_match())
                }
            }
        }
    }

    /// 3. A confirmed subscription delivers the topic to the integration's
    ///    CloudWatch URL (as the paging service reports it now).
    pub(super) async fn subscription(
        &self,
        probes: &Probes,
        live: &Live,
        page: &PagePath<'_>,
    ) -> Result<String, Failure> {
        let paging = probes.paging();
        let prior = self
            .state
            .resources
            .get(&page.integration.id)
            .and_then(|e| e.resource.clone())
            .ok_or_else(|| fail("integration missing from the state", "`blueprint run`"))?;
        let expected = paging.integration_endpoint(&prior).await?.ok_or_else(|| {
            fail(
                format!("PagerDuty integration {} no longer exists", prior.id),
                "it was deleted in PagerDuty: `blueprint run` recreates it (with a new key)",
            )
        })?;
        let subscriptions = probes.alarms().subscriptions(&live.topic_arn).await?;
        let Some(found) = subscriptions.iter().find(|s| s.endpoint == expected) else {
            let seen: Vec<String> = subscriptions
                .iter()
                .map(|s| format!("{} {}", s.protocol, paging.redact(&s.endpoint)))
                .collect();
            return Err(fail(
                format!(
                    "no subscription of {} delivers to the integration's CloudWatch URL {}; it has [{}]",
                    topic_name(&live.topic_arn),
                    paging.redact(&expected),
                    seen.join(", ")
                ),
                "the subscription was changed outside blueprint or points at another integration: `blueprint run` repairs it",
            ));
        };
        if !found.confirmed {
            return Err(fail(
                format!(
                    "the subscription of {} to {} is still pending confirmation",
                    topic_name(&live.topic_arn),
                    paging.redact(&expected)
                ),
                "PagerDuty confirms within seconds when the integration key is valid: check the integration is of the Amazon CloudWatch vendor",
            ));
        }
        Ok(format!(
            "confirmed: {} → {} over {}",
            topic_name(&live.topic_arn),
            paging.redact(&expected),
            found.protocol
        ))
    }

    /// 4. Fire.
    async fn inject(
        &self,
        probes: &Probes,
        live: &Live,
        alarm: Option<&LiveAlarm>,
    ) -> Result<String, Failure> {
        let alarms = probes.alarms();
        match self.options.inject {
            Inject::Topic => {
                let message = alarm_notification(live, alarm, alarms.region());
                let subject = format!("ALARM: \"{}\" in {}", live.alarm_name, alarms.region());
                alarms
                    .publish(&live.topic_arn, &subject, &message.to_string())
                    .await?;
                Ok(format!(
                    "published an ALARM notification for {:?} to {}",
                    live.alarm_name,
                    topic_name(&live.topic_arn)
                ))
            }
            // `--from event` belongs to EventBridge chains: an alarm starts at
            // its state.
            Inject::Alarm | Inject::Event => {
                // CloudWatch acts on a change of state only: an alarm already in
                // ALARM must go to OK first, or setting ALARM notifies no one.
                let mut detail = String::new();
                if alarm.is_some_and(|a| a.state == "ALARM") {
                    alarms
                        .set_alarm_state(
                            &live.alarm_name,
                            AlarmState::Ok,
                            "blueprint drill: reset before the drill",
                        )
                        .await?;
                    detail.push_str(" (it was in ALARM: set to OK first)");
                }
                alarms
                    .set_alarm_state(
                        &live.alarm_name,
                        AlarmState::Alarm,
                        "blueprint drill: checking the alert chain",
                    )
                    .await?;
                Ok(format!("set alarm {:?} to ALARM{detail}", live.alarm_name))
            }
            Inject::Log => {
                let group = live.log_group.as_ref().ok_or_else(|| {
                    fail(
                        "no log group feeds this alarm",
                        "use --from alarm or --from topic",
                    )
                })?;
                let filter = self.live_filter(probes, live).await.map_err(|e| match e {
                    Failure::Skipped(why) => fail(why, "use --from alarm or --from topic"),
                    failed => failed,
                })?;
                let line = TermPattern::parse(&filter.pattern)
                    .and_then(|t| t.sample("blueprint drill"))
                    .ok_or_else(|| {
                        fail(
                            format!("cannot write a line for pattern {:?}", filter.pattern),
                            "use --from alarm",
                        )
                    })?;
                let stream = alarms.write_log_line(group, &line).await?;
                Ok(format!("wrote {line:?} to {group} (stream {stream})"))
            }
        }
    }

    /// The chain's metric filter as the service has it now.
    async fn live_filter(
        &self,
        probes: &Probes,
        live: &Live,
    ) -> Result<crate::providers::probe::LiveFilter, Failure> {
        let (Some(group), Some(name)) = (&live.log_group, &live.filter_name) else {
            return Err(Failure::Skipped(
                "no metric filter of this blueprint feeds the alarm".into(),
            ));
        };
        probes
            .alarms()
            .metric_filter(group, name)
            .await?
            .ok_or_else(|| {
                fail(
                    format!("metric filter {name:?} is not on log group {group}"),
                    "it was deleted outside blueprint: `blueprint run` recreates it",
                )
            })
    }
}

/// 2. The alarm notifies the topic that is subscribed to PagerDuty.
fn alarm_to_topic(live: &Live, alarm: &Result<LiveAlarm, Failure>) -> Result<String, Failure> {
    let alarm = alarm.as_ref().map_err(Clone::clone)?;
    if !alarm.actions_enabled {
        return Err(fail(
            format!("alarm {:?} has its actions disabled", live.alarm_name),
            "enable them: `aws cloudwatch enable-alarm-actions`, or `blueprint run`",
        ));
    }
    if !alarm.alarm_actions.iter().any(|a| a == &live.topic_arn) {
        return Err(fail(
            format!(
                "alarm {:?} notifies [{}] on ALARM, not the topic subscribed to PagerDuty ({})",
                live.alarm_name,
                alarm.alarm_actions.join(", "),
                live.topic_arn
            ),
            "the alarm's actions were changed outside blueprint: `blueprint plan` shows it, `blueprint run` restores them",
        ));
    }
    let mut detail = format!("ALARM notifies {}", topic_name(&live.topic_arn));
    if !alarm.ok_actions.iter().any(|a| a == &live.topic_arn) {
        detail.push_str(" (no OK action: the incident will not resolve by itself)");
    }
    Ok(detail)
}

/// The notification CloudWatch publishes when an alarm enters ALARM.
fn alarm_notification(live: &Live, alarm: Option<&LiveAlarm>, region: &str) -> Value {
    let account = live.topic_arn.split(':').nth(4).unwrap_or_default();
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string();
    let mut message = json!({
        "AlarmName": live.alarm_name,
        "AlarmDescription": alarm.and_then(|a| a.description.as_deref()).unwrap_or("blueprint drill"),
        "AWSAccountId": account,
        "NewStateValue": "ALARM",
        "NewStateReason": "blueprint drill: a synthetic ALARM to check the alert chain",
        "StateChangeTime": now,
        "Region": region,
        "OldStateValue": "OK",
    });
    if let Some(alarm) = alarm {
        message["AlarmArn"] = json!(alarm.arn);
        message["Trigger"] = json!({
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": alarm.statistic.as_ref().map(|s| s.to_uppercase()),
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "Dimensions": [],
        });
    }
    message
}

/// `log group → filter → alarm → topic → service (policy)`, by declared names.
fn describe(chain: &AlertChain<'_>) -> String {
    let mut parts = Vec::new();
    if let Some(g) = chain.log_group {
        parts.push(alerting::literal(g.props.get("name")).unwrap_or_else(|| g.id.clone()));
    }
    if let Some(f) = chain.filter {
        parts.push(format!("filter {}", f.id));
    }
    parts.push(format!("alarm {}", chain.alarm.id));
    if let Some(page) = chain.pages.first() {
        parts.push(format!("topic {}", page.topic.id));
        parts.push(format!("integration {}", page.integration.id));
        if let Some(s) = page.service {
            parts.push(format!("service {}", s.id));
        }
    }
    parts.join(" → ")
}
