//! `blueprint drill`: fire each alert chain of an applied blueprint and prove, link
//! by link, that a page reaches the person on call — then clean up, whatever
//! happened, so a drill never leaves a page open.
//!
//! Chains come from the graph (`graph::alerting`), live identifiers from the state,
//! and every check asks the real services: CloudWatch Logs, CloudWatch, SNS and
//! PagerDuty. Integration keys (inside the CloudWatch endpoint URL) are never shown.

pub mod pattern;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::graph::Graph;
use crate::graph::alerting::{self, AlertChain, PagePath};
use crate::graph::token;
use crate::providers::Provider;
use crate::providers::aws::{AwsProvider, map_error};
use crate::providers::pagerduty::PagerDutyProvider;
use crate::state::State;
use pattern::TermPattern;

/// Where the drill injects the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Inject {
    /// A log event in the log group: the whole chain (minutes on AWS).
    Log,
    /// SetAlarmState ALARM: the alarm's actions fire (AWS; moto does not fire them).
    Alarm,
    /// A CloudWatch-alarm notification published to the topic.
    Topic,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub inject: Inject,
    /// How long to wait for PagerDuty's incident.
    pub timeout: Duration,
    /// Between two looks at PagerDuty.
    pub poll: Duration,
    /// Who resolves the drill's incident (`From`); default: the user it paged.
    pub resolver_email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// One link of one chain.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub link: &'static str,
    pub outcome: Outcome,
    pub seconds: f64,
    pub detail: String,
    /// What to look at, for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The incident a drill opened.
#[derive(Debug, Clone, Serialize)]
pub struct Paged {
    pub incident_id: String,
    pub incident_number: Option<i64>,
    pub title: String,
    pub assignee_id: String,
    pub assignee: String,
    pub assignee_email: String,
    pub on_call_now: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// The alarm's node id.
    pub alarm: String,
    pub alarm_name: String,
    /// The declared path, e.g. `/aws/lambda/fn → filter → alarm → topic → service`.
    pub path: String,
    pub inject: Inject,
    pub links: Vec<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paged: Option<Paged>,
}

impl ChainReport {
    pub fn passed(&self) -> bool {
        self.links.iter().all(|l| l.outcome != Outcome::Failed)
    }
}

pub struct Drill<'a> {
    pub graph: &'a Graph,
    pub state: &'a State,
    pub aws: &'a AwsProvider,
    pub pagerduty: &'a PagerDutyProvider,
    pub options: Options,
}

/// The chains `drill` would fire; an error when the graph has none.
pub fn chains(graph: &Graph) -> anyhow::Result<Vec<AlertChain<'_>>> {
    let chains = alerting::chains(graph);
    if chains.is_empty() {
        anyhow::bail!(
            "this blueprint declares no alert chain to drill (a CloudWatch alarm, ideally fed by a log metric filter and notifying an SNS topic subscribed to a PagerDuty integration)"
        );
    }
    Ok(chains)
}

/// Collects a chain's links as they are checked.
struct Links {
    links: Vec<Link>,
    started: Instant,
}

impl Links {
    fn new() -> Links {
        Links {
            links: Vec::new(),
            started: Instant::now(),
        }
    }

    fn failed(&self) -> bool {
        self.links.iter().any(|l| l.outcome == Outcome::Failed)
    }

    fn record(&mut self, link: &'static str, result: Result<String, Failure>) {
        let seconds = self.started.elapsed().as_secs_f64();
        self.started = Instant::now();
        self.links.push(match result {
            Ok(detail) => Link {
                link,
                outcome: Outcome::Passed,
                seconds,
                detail,
                hint: None,
            },
            Err(Failure::Failed { detail, hint }) => Link {
                link,
                outcome: Outcome::Failed,
                seconds,
                detail,
                hint,
            },
            Err(Failure::Skipped(detail)) => Link {
                link,
                outcome: Outcome::Skipped,
                seconds,
                detail,
                hint: None,
            },
        });
    }

    fn skip_rest(&mut self, names: &[&'static str]) {
        for name in names {
            self.record(name, Err(Failure::Skipped("an earlier link failed".into())));
        }
    }
}

#[derive(Clone)]
enum Failure {
    Failed {
        detail: String,
        hint: Option<String>,
    },
    Skipped(String),
}

fn fail(detail: impl Into<String>, hint: impl Into<String>) -> Failure {
    Failure::Failed {
        detail: detail.into(),
        hint: Some(hint.into()),
    }
}

impl From<crate::providers::ProviderError> for Failure {
    fn from(e: crate::providers::ProviderError) -> Failure {
        Failure::Failed {
            detail: redact(&e.message),
            hint: None,
        }
    }
}

/// What the state says about the chain's resources.
struct Live {
    alarm_name: String,
    topic_arn: String,
    endpoint: String,
    service_id: String,
    service_name: String,
    policy_id: Option<String>,
    log_group: Option<String>,
    filter_name: Option<String>,
}

impl Drill<'_> {
    pub async fn run(&self) -> anyhow::Result<Vec<ChainReport>> {
        let mut reports = Vec::new();
        for chain in chains(self.graph)? {
            reports.push(self.chain(&chain).await);
        }
        Ok(reports)
    }

    async fn chain(&self, chain: &AlertChain<'_>) -> ChainReport {
        let mut links = Links::new();
        let mut report = ChainReport {
            alarm: chain.alarm.id.clone(),
            alarm_name: chain.alarm_name(),
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
        let live = match self.live(chain, page) {
            Ok(live) => live,
            Err(failure) => {
                links.record("state", Err(failure));
                report.links = links.links;
                return report;
            }
        };
        report.alarm_name = live.alarm_name.clone();

        let alarm = self.alarm(&live).await;
        links.record("filter", self.filter(&live, alarm.as_ref().ok()).await);
        links.record("alarm → topic", self.alarm_to_topic(&live, &alarm));
        links.record("subscription", self.subscription(&live, page).await);

        let mut opened = Vec::new();
        if links.failed() {
            links.skip_rest(&["inject", "incident"]);
        } else {
            let before = self.open_incidents(&live).await.unwrap_or_default();
            let injected = self.inject(&live, alarm.as_ref().ok()).await;
            let ok = injected.is_ok();
            links.record("inject", injected);
            if ok {
                let paged = self.incident(&live, &before, &mut opened).await;
                match paged {
                    Ok((detail, paged)) => {
                        report.paged = Some(paged);
                        links.record("incident", Ok(detail));
                    }
                    Err(f) => links.record("incident", Err(f)),
                }
            } else {
                links.skip_rest(&["incident"]);
            }
            // Anything that arrived after we stopped looking is ours too.
            if let Ok(now) = self.open_incidents(&live).await {
                for id in now.difference(&before) {
                    if !opened.contains(id) {
                        opened.push(id.clone());
                    }
                }
            }
        }
        let resolver = self
            .options
            .resolver_email
            .clone()
            .or_else(|| report.paged.as_ref().map(|p| p.assignee_email.clone()));
        links.record(
            "clean-up",
            self.clean_up(&live, &opened, resolver.as_deref()).await,
        );
        report.links = links.links;
        report
    }

    /// Identifiers from the state: the drill needs an applied blueprint.
    fn live(&self, chain: &AlertChain<'_>, page: &PagePath<'_>) -> Result<Live, Failure> {
        let resource = |id: &str| {
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
        };
        let output = |id: &str, name: &str| -> Result<String, Failure> {
            resource(id)?.outputs.get(name).cloned().ok_or_else(|| {
                fail(
                    format!("{id} has no {name} in the state"),
                    "apply the blueprint again: `blueprint run FILE`",
                )
            })
        };
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
            alarm_name: output(&chain.alarm.id, "alarm_name")?,
            topic_arn: output(&page.topic.id, "arn")?,
            endpoint: output(&page.integration.id, "cloudwatch_endpoint")?,
            service_id: service_resource.id.clone(),
            service_name: service_resource
                .props
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&service.id)
                .to_owned(),
            policy_id: page
                .escalation_policy
                .and_then(|p| resource(&p.id).ok())
                .map(|r| r.id.clone()),
            log_group: chain.log_group.map(|g| output(&g.id, "name")).transpose()?,
            filter_name: chain.filter.map(|f| output(&f.id, "name")).transpose()?,
        })
    }

    async fn alarm(&self, live: &Live) -> Result<aws_sdk_cloudwatch::types::MetricAlarm, Failure> {
        let out = self
            .aws
            .cloudwatch
            .describe_alarms()
            .alarm_names(&live.alarm_name)
            .send()
            .await
            .map_err(|e| map_error(&live.alarm_name, &e))?;
        out.metric_alarms
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| {
                fail(
                    format!("alarm {:?} does not exist", live.alarm_name),
                    "it was deleted outside blueprint: `blueprint run` recreates it",
                )
            })
    }

    /// 1. The filter exists, feeds the alarm's metric, and matches a line carrying
    ///    its pattern.
    async fn filter(
        &self,
        live: &Live,
        alarm: Option<&aws_sdk_cloudwatch::types::MetricAlarm>,
    ) -> Result<String, Failure> {
        let filter = self.live_filter(live).await?;
        let name = live.filter_name.as_deref().unwrap_or_default();
        if let Some(alarm) = alarm {
            let feeds = filter.metric_transformations().iter().any(|t| {
                Some(t.metric_name()) == alarm.metric_name()
                    && Some(t.metric_namespace()) == alarm.namespace()
            });
            if !feeds {
                return Err(fail(
                    format!(
                        "the alarm watches {}/{}, which filter {name:?} does not emit",
                        alarm.namespace().unwrap_or("?"),
                        alarm.metric_name().unwrap_or("?")
                    ),
                    "make the alarm's metric_name and namespace the filter's metric_transformation",
                ));
            }
        }
        let pattern = filter.filter_pattern().unwrap_or_default().to_owned();
        let term = TermPattern::parse(&pattern);
        let Some(line) = term.as_ref().and_then(|t| t.sample("blueprint drill")) else {
            return Err(Failure::Skipped(format!(
                "cannot write a line for pattern {pattern:?} (JSON, space-delimited, regex or self-excluding patterns need a sample)"
            )));
        };
        let tested = self
            .aws
            .logs
            .test_metric_filter()
            .filter_pattern(&pattern)
            .log_event_messages(&line)
            .send()
            .await;
        match tested {
            Ok(out) if !out.matches().is_empty() => Ok(format!(
                "pattern {pattern:?} matches {line:?} (TestMetricFilter)"
            )),
            Ok(_) => Err(fail(
                format!("pattern {pattern:?} does not match {line:?}"),
                "check the pattern's syntax: CloudWatch terms are case-sensitive",
            )),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata::code(s)
                        == Some("InvalidParameterException")
                }) =>
            {
                Err(fail(
                    redact(&map_error(name, &e).message),
                    "fix the filter pattern",
                ))
            }
            Err(_) => {
                // moto has no TestMetricFilter; term patterns are simple enough to
                // evaluate here with CloudWatch's semantics.
                let term = term.expect("sampled");
                if term.matches(&line) {
                    Ok(format!(
                        "pattern {pattern:?} matches {line:?} (checked locally: this endpoint has no TestMetricFilter)"
                    ))
                } else {
                    Err(fail(
                        format!("pattern {pattern:?} does not match {line:?}"),
                        "check the pattern",
                    ))
                }
            }
        }
    }

    /// 2. The alarm notifies the topic that is subscribed to PagerDuty.
    fn alarm_to_topic(
        &self,
        live: &Live,
        alarm: &Result<aws_sdk_cloudwatch::types::MetricAlarm, Failure>,
    ) -> Result<String, Failure> {
        let alarm = alarm.as_ref().map_err(Clone::clone)?;
        if alarm.actions_enabled() == Some(false) {
            return Err(fail(
                format!("alarm {:?} has its actions disabled", live.alarm_name),
                "enable them: `aws cloudwatch enable-alarm-actions`, or `blueprint run`",
            ));
        }
        let actions = alarm.alarm_actions();
        if !actions.iter().any(|a| a == &live.topic_arn) {
            return Err(fail(
                format!(
                    "alarm {:?} notifies [{}] on ALARM, not the topic subscribed to PagerDuty ({})",
                    live.alarm_name,
                    actions.join(", "),
                    live.topic_arn
                ),
                "the alarm's actions were changed outside blueprint: `blueprint plan` shows it, `blueprint run` restores them",
            ));
        }
        let mut detail = format!("ALARM notifies {}", topic_name(&live.topic_arn));
        if !alarm.ok_actions().iter().any(|a| a == &live.topic_arn) {
            detail.push_str(" (no OK action: the incident will not resolve by itself)");
        }
        Ok(detail)
    }

    /// 3. A confirmed subscription delivers the topic to the integration's
    ///    CloudWatch URL (as PagerDuty reports it now).
    async fn subscription(&self, live: &Live, page: &PagePath<'_>) -> Result<String, Failure> {
        let prior = self
            .state
            .resources
            .get(&page.integration.id)
            .and_then(|e| e.resource.clone())
            .ok_or_else(|| fail("integration missing from the state", "`blueprint run`"))?;
        let integration = self
            .pagerduty
            .read("pagerduty.service_integration", &prior)
            .await?
            .ok_or_else(|| {
                fail(
                    format!("PagerDuty integration {} no longer exists", prior.id),
                    "it was deleted in PagerDuty: `blueprint run` recreates it (with a new key)",
                )
            })?;
        let expected = integration
            .outputs
            .get("cloudwatch_endpoint")
            .cloned()
            .unwrap_or_else(|| live.endpoint.clone());
        let mut subscriptions = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .aws
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(&live.topic_arn)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| map_error(&page.topic.id, &e))?;
            subscriptions.extend(out.subscriptions().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        let Some(found) = subscriptions
            .iter()
            .find(|s| s.endpoint() == Some(expected.as_str()))
        else {
            let seen: Vec<String> = subscriptions
                .iter()
                .map(|s| {
                    format!(
                        "{} {}",
                        s.protocol().unwrap_or("?"),
                        redact(s.endpoint().unwrap_or("?"))
                    )
                })
                .collect();
            return Err(fail(
                format!(
                    "no subscription of {} delivers to the integration's CloudWatch URL {}; it has [{}]",
                    topic_name(&live.topic_arn),
                    redact(&expected),
                    seen.join(", ")
                ),
                "the subscription was changed outside blueprint or points at another integration: `blueprint run` repairs it",
            ));
        };
        if found.subscription_arn() == Some("PendingConfirmation") {
            return Err(fail(
                "the subscription to PagerDuty is still pending confirmation",
                "PagerDuty confirms within seconds when the integration key is valid: check the integration is of the Amazon CloudWatch vendor",
            ));
        }
        Ok(format!(
            "confirmed: {} → {} over {}",
            topic_name(&live.topic_arn),
            redact(&expected),
            found.protocol().unwrap_or("?")
        ))
    }

    /// 4. Fire.
    async fn inject(
        &self,
        live: &Live,
        alarm: Option<&aws_sdk_cloudwatch::types::MetricAlarm>,
    ) -> Result<String, Failure> {
        match self.options.inject {
            Inject::Topic => {
                let message = alarm_notification(live, alarm, self.aws.region());
                self.aws
                    .sns
                    .publish()
                    .topic_arn(&live.topic_arn)
                    .subject(format!(
                        "ALARM: \"{}\" in {}",
                        live.alarm_name,
                        self.aws.region()
                    ))
                    .message(message.to_string())
                    .send()
                    .await
                    .map_err(|e| map_error(&live.topic_arn, &e))?;
                Ok(format!(
                    "published an ALARM notification for {:?} to {}",
                    live.alarm_name,
                    topic_name(&live.topic_arn)
                ))
            }
            Inject::Alarm => {
                self.aws
                    .cloudwatch
                    .set_alarm_state()
                    .alarm_name(&live.alarm_name)
                    .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
                    .state_reason("blueprint drill: checking the alert chain")
                    .send()
                    .await
                    .map_err(|e| map_error(&live.alarm_name, &e))?;
                Ok(format!("set alarm {:?} to ALARM", live.alarm_name))
            }
            Inject::Log => {
                let group = live.log_group.as_ref().ok_or_else(|| {
                    fail(
                        "no log group feeds this alarm",
                        "use --from alarm or --from topic",
                    )
                })?;
                let filter = self.filter_pattern(live).await?;
                let line = TermPattern::parse(&filter)
                    .and_then(|t| t.sample("blueprint drill"))
                    .ok_or_else(|| {
                        fail(
                            format!("cannot write a line for pattern {filter:?}"),
                            "use --from alarm",
                        )
                    })?;
                let stream = format!(
                    "blueprint-drill-{}",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ")
                );
                self.aws
                    .logs
                    .create_log_stream()
                    .log_group_name(group)
                    .log_stream_name(&stream)
                    .send()
                    .await
                    .map_err(|e| map_error(group, &e))?;
                let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(chrono::Utc::now().timestamp_millis())
                    .message(&line)
                    .build()
                    .map_err(|e| fail(e.to_string(), "report this as a bug"))?;
                self.aws
                    .logs
                    .put_log_events()
                    .log_group_name(group)
                    .log_stream_name(&stream)
                    .log_events(event)
                    .send()
                    .await
                    .map_err(|e| map_error(group, &e))?;
                Ok(format!("wrote {line:?} to {group} (stream {stream})"))
            }
        }
    }

    async fn filter_pattern(&self, live: &Live) -> Result<String, Failure> {
        let filter = self.live_filter(live).await.map_err(|e| match e {
            Failure::Skipped(why) => fail(why, "use --from alarm or --from topic"),
            failed => failed,
        })?;
        Ok(filter.filter_pattern().unwrap_or_default().to_owned())
    }

    /// The chain's metric filter as CloudWatch Logs has it now.
    async fn live_filter(
        &self,
        live: &Live,
    ) -> Result<aws_sdk_cloudwatchlogs::types::MetricFilter, Failure> {
        let (Some(group), Some(name)) = (&live.log_group, &live.filter_name) else {
            return Err(Failure::Skipped(
                "no metric filter of this blueprint feeds the alarm".into(),
            ));
        };
        let filters = self
            .aws
            .logs
            .describe_metric_filters()
            .log_group_name(group)
            .filter_name_prefix(name)
            .send()
            .await
            .map_err(|e| map_error(name, &e))?;
        filters
            .metric_filters()
            .iter()
            .find(|f| f.filter_name() == Some(name.as_str()))
            .cloned()
            .ok_or_else(|| {
                fail(
                    format!("metric filter {name:?} is not on log group {group}"),
                    "it was deleted outside blueprint: `blueprint run` recreates it",
                )
            })
    }

    /// Open incidents of the service now.
    async fn open_incidents(&self, live: &Live) -> Result<BTreeSet<String>, Failure> {
        let incidents = self
            .pagerduty
            .client()
            .list(
                "/incidents",
                "incidents",
                &[
                    ("service_ids[]", live.service_id.clone()),
                    ("statuses[]", "triggered".into()),
                    ("statuses[]", "acknowledged".into()),
                ],
            )
            .await
            .map_err(|e| {
                fail(
                    redact(&e.to_string()),
                    "check PAGERDUTY_TOKEN and the region",
                )
            })?;
        Ok(incidents
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect())
    }

    /// 5. PagerDuty opens an incident on the service, assigned to who is on call.
    async fn incident(
        &self,
        live: &Live,
        before: &BTreeSet<String>,
        opened: &mut Vec<String>,
    ) -> Result<(String, Paged), Failure> {
        let started = Instant::now();
        let incident = loop {
            let now = self.open_incidents(live).await?;
            if let Some(id) = now.difference(before).next() {
                opened.push(id.clone());
                break id.clone();
            }
            if started.elapsed() >= self.options.timeout {
                return Err(fail(
                    format!(
                        "no incident opened on service {:?} within {} s",
                        live.service_name,
                        self.options.timeout.as_secs()
                    ),
                    match self.options.inject {
                        Inject::Topic => {
                            "SNS delivered nothing PagerDuty accepted: check the integration is the Amazon CloudWatch vendor and the service is not in maintenance"
                        }
                        Inject::Alarm => {
                            "the alarm's actions did not reach PagerDuty: look at the alarm's history in CloudWatch"
                        }
                        Inject::Log => {
                            "the alarm did not fire yet: metric filters and alarms take a few minutes on AWS; raise --timeout"
                        }
                    },
                ));
            }
            tokio::select! {
                _ = tokio::time::sleep(self.options.poll) => {}
                _ = tokio::signal::ctrl_c() => {
                    return Err(fail("interrupted while waiting for the incident", "clean-up still ran"));
                }
            }
        };
        let client = self.pagerduty.client();
        let body = client
            .get(&format!("/incidents/{incident}"), &[])
            .await
            .map_err(|e| fail(redact(&e.to_string()), "check PagerDuty"))?;
        let incident = &body["incident"];
        let assignee = incident["assignments"][0]["assignee"].clone();
        let assignee_id = assignee["id"].as_str().unwrap_or_default().to_owned();
        let title = incident["title"].as_str().unwrap_or_default().to_owned();
        let number = incident["incident_number"].as_i64();
        let email = if assignee_id.is_empty() {
            String::new()
        } else {
            client
                .get(&format!("/users/{assignee_id}"), &[])
                .await
                .ok()
                .and_then(|u| u["user"]["email"].as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let name = assignee["summary"].as_str().unwrap_or("?").to_owned();
        let (on_call, schedules) = self.on_call(live).await?;
        let paged = Paged {
            incident_id: incident["id"].as_str().unwrap_or_default().to_owned(),
            incident_number: number,
            title: title.clone(),
            assignee_id: assignee_id.clone(),
            assignee: name.clone(),
            assignee_email: email.clone(),
            on_call_now: on_call.iter().map(|(_, n)| n.clone()).collect(),
        };
        let number = number.map(|n| format!("#{n} ")).unwrap_or_default();
        if assignee_id.is_empty() {
            return Err(fail(
                format!("incident {number}{title:?} is assigned to nobody"),
                "the escalation policy's first rule has no one on call: check the schedule's layers",
            ));
        }
        if !on_call.is_empty() && !on_call.iter().any(|(id, _)| *id == assignee_id) {
            let expected: Vec<&str> = on_call.iter().map(|(_, n)| n.as_str()).collect();
            return Err(fail(
                format!(
                    "incident {number}{title:?} went to {name}, but on call now is {}",
                    expected.join(", ")
                ),
                "the service's escalation policy does not page the schedule's on-call user first",
            ));
        }
        let source = if schedules.is_empty() {
            String::new()
        } else {
            format!(", on call now in {}", schedules.join(", "))
        };
        Ok((
            format!(
                "incident {number}{title:?} on {:?} assigned to {name} <{email}>{source} (after {:.1} s)",
                live.service_name,
                started.elapsed().as_secs_f64()
            ),
            paged,
        ))
    }

    /// Users on call now at the policy's first level, and the schedules that put
    /// them there.
    async fn on_call(&self, live: &Live) -> Result<(Vec<(String, String)>, Vec<String>), Failure> {
        let Some(policy) = &live.policy_id else {
            return Ok((Vec::new(), Vec::new()));
        };
        let entries = self
            .pagerduty
            .client()
            .list(
                "/oncalls",
                "oncalls",
                &[("escalation_policy_ids[]", policy.clone())],
            )
            .await
            .map_err(|e| fail(redact(&e.to_string()), "check PagerDuty"))?;
        let mut users = Vec::new();
        let mut schedules = Vec::new();
        for entry in entries.iter().filter(|e| e["escalation_level"] == json!(1)) {
            let id = entry["user"]["id"].as_str().unwrap_or_default().to_owned();
            let name = entry["user"]["summary"].as_str().unwrap_or("?").to_owned();
            if !users.iter().any(|(u, _)| *u == id) {
                users.push((id, name));
            }
            if let Some(s) = entry["schedule"]["summary"].as_str()
                && !schedules.iter().any(|x: &String| x == s)
            {
                schedules.push(s.to_owned());
            }
        }
        Ok((users, schedules))
    }

    /// 6. Resolve what the drill opened and put the alarm back to OK.
    async fn clean_up(
        &self,
        live: &Live,
        opened: &[String],
        resolver: Option<&str>,
    ) -> Result<String, Failure> {
        let mut done = Vec::new();
        let mut problems = Vec::new();
        for id in opened {
            let body = json!({"incident": {"type": "incident_reference", "status": "resolved"}});
            match self
                .pagerduty
                .client()
                .call_from(
                    reqwest::Method::PUT,
                    &format!("/incidents/{id}"),
                    &[],
                    Some(&body),
                    resolver,
                )
                .await
            {
                Ok(_) => done.push(format!("incident {id} resolved")),
                Err(e) => problems.push(format!(
                    "incident {id} is still open ({}): resolve it in PagerDuty",
                    redact(&e.to_string())
                )),
            }
        }
        match self
            .aws
            .cloudwatch
            .set_alarm_state()
            .alarm_name(&live.alarm_name)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
            .state_reason("blueprint drill: clean-up")
            .send()
            .await
        {
            Ok(_) => done.push("alarm set to OK".into()),
            Err(e) => problems.push(redact(&map_error(&live.alarm_name, &e).message)),
        }
        if problems.is_empty() {
            Ok(done.join("; "))
        } else {
            Err(fail(
                problems.join("; "),
                "set PAGERDUTY_FROM_EMAIL to a PagerDuty user's email if resolving needs one",
            ))
        }
    }
}

/// The notification CloudWatch publishes when an alarm enters ALARM.
fn alarm_notification(
    live: &Live,
    alarm: Option<&aws_sdk_cloudwatch::types::MetricAlarm>,
    region: &str,
) -> Value {
    let account = live.topic_arn.split(':').nth(4).unwrap_or_default();
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string();
    let mut message = json!({
        "AlarmName": live.alarm_name,
        "AlarmDescription": alarm.and_then(|a| a.alarm_description()).unwrap_or("blueprint drill"),
        "AWSAccountId": account,
        "NewStateValue": "ALARM",
        "NewStateReason": "blueprint drill: a synthetic ALARM to check the alert chain",
        "StateChangeTime": now,
        "Region": region,
        "OldStateValue": "OK",
    });
    if let Some(alarm) = alarm {
        message["AlarmArn"] = json!(alarm.alarm_arn());
        message["Trigger"] = json!({
            "MetricName": alarm.metric_name(),
            "Namespace": alarm.namespace(),
            "StatisticType": "Statistic",
            "Statistic": alarm.statistic().map(|s| s.as_str().to_uppercase()),
            "Period": alarm.period(),
            "EvaluationPeriods": alarm.evaluation_periods(),
            "ComparisonOperator": alarm.comparison_operator().map(|c| c.as_str()),
            "Threshold": alarm.threshold(),
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

fn topic_name(arn: &str) -> String {
    format!("topic {}", arn.rsplit(':').next().unwrap_or(arn))
}

/// Hide integration keys: `…/integration/<key>/enqueue` → `…/integration/****/enqueue`.
pub fn redact(text: &str) -> String {
    let marker = "/integration/";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let end = tail.find(['/', '?', ' ', '"', '\'']).unwrap_or(tail.len());
        if end > 0 {
            out.push_str("****");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    // A token-shaped leftover never reaches a terminal.
    token::display_str(&out)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn integration_keys_are_hidden() {
        assert_eq!(
            redact("https://events.pagerduty.com/integration/abc123/enqueue"),
            "https://events.pagerduty.com/integration/****/enqueue"
        );
        assert_eq!(
            redact("a http://x/integration/k1/enqueue, b http://y/integration/k2"),
            "a http://x/integration/****/enqueue, b http://y/integration/****"
        );
        assert_eq!(redact("nothing here"), "nothing here");
    }
}
