//! The seed blueprint: when a Lambda logs `ERROR`, page the engineer on call.
//!
//! PagerDuty: two existing users join a team; an hourly rotation schedule feeds an
//! escalation policy; each technical service (one per entry of `services`) uses
//! that policy, supports the business service, and has an Amazon CloudWatch
//! integration. AWS, per service: a Lambda (role, log group, code via S3 or direct
//! upload), a metric filter counting `ERROR` lines, an alarm on that count, and an
//! SNS topic subscribed to the integration's CloudWatch endpoint — optionally
//! with a dead-letter queue for the pages SNS could not deliver, and an alarm on
//! its depth (`dead_letter_queue`).
//!
//! Every default is the seed's own value, faults included (`blueprint check`
//! names them); override them in the blueprint file.

use blueprint_sdk::prelude::*;
use blueprint_sdk::{aws as a, pagerduty as pd};

/// Params of the seed blueprint.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// The team that owns the rotation.
    pub team_name: String,
    /// Existing PagerDuty users (by email) who join the team and the rotation,
    /// in rotation order.
    pub users: Vec<String>,
    /// Role of the users in the team: observer, responder or manager.
    pub team_role: String,
    /// The business service the technical services support.
    pub business_service_name: String,
    pub schedule: ScheduleParams,
    pub escalation: EscalationParams,
    /// One alerting pipeline per entry: stamp the pattern out for many services.
    pub services: Vec<ServiceParams>,
    /// Bucket the Lambda code is uploaded to (when `code_via` is `s3`). S3 bucket
    /// names are global across all AWS accounts; absent, the name is
    /// `lambda-error-pagerduty-<account id>-<region>`, unique per account and
    /// region (the account read with STS at plan time).
    pub bucket_name: Option<String>,
    /// Take the on-call (escalation policy, business service) from a platform
    /// blueprint's outputs instead of declaring it here: `team_name`, `users`,
    /// `team_role`, `schedule`, `escalation` and `business_service_name` are then
    /// unused. Needs a host of blueprint:cloud@0.4.0.
    pub platform: Option<PlatformParams>,
    /// Publish this blueprint's on-call as outputs (`escalation_policy_id`,
    /// `business_service_id`) for service blueprints to read; with it,
    /// `services` may be empty (a platform blueprint). Needs a host of
    /// blueprint:cloud@0.4.0.
    pub publish_on_call: bool,
}

/// Where a platform blueprint's outputs are read from.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformParams {
    /// The platform blueprint's name (its file's `name`).
    pub blueprint: String,
    /// Its state (a path relative to this blueprint file, or `s3://`); absent:
    /// `.blueprint/<blueprint>.json`, the default of a blueprint file beside this one.
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleParams {
    pub name: String,
    /// IANA time zone of the rotation.
    pub time_zone: String,
    /// When the rotation starts (ISO 8601 with offset); the first user's turn
    /// begins here.
    pub start: String,
    /// Length of one turn, in seconds.
    pub rotation_turn_length_seconds: u32,
    /// Times of the day or week the rotation is on call (PagerDuty's layer
    /// restrictions, in `time_zone`); absent: always. Outside them nobody is on
    /// call: `blueprint oncall` shows the gaps.
    pub restrictions: Option<Vec<RestrictionParams>>,
}

/// One restriction, with PagerDuty's field names.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionParams {
    /// `daily_restriction` or `weekly_restriction`.
    #[serde(rename = "type")]
    pub restriction_type: String,
    /// `HH:MM:SS`, local to the schedule's time zone.
    pub start_time_of_day: String,
    pub duration_seconds: u32,
    /// 1 (Monday) to 7, for a weekly restriction.
    #[serde(default)]
    pub start_day_of_week: Option<u8>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationParams {
    pub name: String,
    /// Times the policy repeats when nobody acknowledges.
    pub num_loops: u32,
    /// Minutes before escalating to the next rule (or looping).
    pub delay_minutes: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceParams {
    /// The technical service's name; also prefixes this pipeline's AWS names.
    pub name: String,
    pub function_name: String,
    /// A Lambda runtime AWS accepts for new functions.
    pub runtime: String,
    pub handler: String,
    /// Folder (or file) with the function's code, relative to the blueprint file.
    pub code_path: String,
    /// `s3` (upload the zip to `bucket_name`, as the seed does) or `direct`.
    pub code_via: String,
    /// CloudWatch Logs filter pattern that counts as an error.
    pub log_pattern: String,
    pub metric_namespace: String,
    /// Alarm period in seconds.
    pub alarm_period_seconds: u32,
    pub alarm_evaluation_periods: u32,
    /// Errors per period that raise the alarm.
    pub alarm_threshold: f64,
    /// Also notify PagerDuty when the alarm returns to OK, which resolves the
    /// incident (the seed does not).
    pub alarm_ok_action: bool,
    /// `breaching`, `notBreaching`, `ignore` or `missing`; absent leaves
    /// CloudWatch's default (`missing`), as the seed does.
    pub alarm_treat_missing_data: Option<String>,
    /// Days to keep the function's logs; absent keeps them forever.
    pub log_retention_days: Option<u32>,
    /// Keep the pages SNS fails to deliver to PagerDuty (after its retries) in
    /// an SQS dead-letter queue, and alarm when one arrives; without it a
    /// failed page is dropped. Needs a host of blueprint:cloud@0.3.0.
    pub dead_letter_queue: bool,
    /// How SNS retries a failed delivery to PagerDuty; absent: SNS's default
    /// (3 retries, 20 s apart).
    pub delivery_retries: Option<DeliveryRetries>,
}

/// SNS's HTTP(S) `healthyRetryPolicy`, linear between the two delays.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRetries {
    /// Retries after the first attempt (SNS: at most 3,600 s of retrying in all).
    pub num_retries: u32,
    /// Seconds before the first retry (at least 1).
    pub min_delay_seconds: u32,
    /// Seconds before the last retry.
    pub max_delay_seconds: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            team_name: "teamOnCall".into(),
            users: vec!["user1@example.com".into(), "user2@example.com".into()],
            team_role: "responder".into(),
            business_service_name: "Business Service".into(),
            schedule: ScheduleParams::default(),
            escalation: EscalationParams::default(),
            services: vec![ServiceParams::default()],
            bucket_name: None,
            platform: None,
            publish_on_call: false,
        }
    }
}

impl Default for ScheduleParams {
    fn default() -> Self {
        ScheduleParams {
            name: "Hourly Rotation".into(),
            time_zone: "Asia/Tokyo".into(),
            start: "2023-09-16T00:00:00+09:00".into(),
            rotation_turn_length_seconds: 3600,
            restrictions: None,
        }
    }
}

impl Default for EscalationParams {
    fn default() -> Self {
        EscalationParams {
            name: "Escalation Policy".into(),
            num_loops: 2,
            delay_minutes: 30,
        }
    }
}

impl Default for ServiceParams {
    fn default() -> Self {
        ServiceParams {
            name: "lambda-error".into(),
            function_name: "error-function".into(),
            runtime: "nodejs22.x".into(),
            handler: "index.handler".into(),
            code_path: "lambda-error-pagerduty-handler".into(),
            code_via: "s3".into(),
            log_pattern: "ERROR".into(),
            metric_namespace: "LambdaErrors".into(),
            alarm_period_seconds: 30,
            alarm_evaluation_periods: 1,
            alarm_threshold: 1.0,
            alarm_ok_action: false,
            alarm_treat_missing_data: None,
            log_retention_days: None,
            dead_letter_queue: false,
            delivery_retries: None,
        }
    }
}

const LAMBDA_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const LAMBDA_BASIC_EXECUTION: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// The PagerDuty side every service shares: who is on call and how it escalates.
struct OnCall {
    escalation_policy: String,
    business_service: String,
    vendor: String,
}

fn declare_on_call(p: &Params) -> OnCall {
    let team = pd::team(
        "team",
        &pd::TeamProps {
            name: p.team_name.clone(),
            description: None,
            parent: None,
        },
    );
    let users: Vec<String> = p
        .users
        .iter()
        .map(|email| {
            let user = pd::user(
                &format!("user-{email}"),
                &pd::UserLookup {
                    email: email.clone(),
                },
            );
            pd::team_membership(
                &format!("membership-{email}"),
                &pd::TeamMembershipProps {
                    team: team.id.clone(),
                    user: user.id.clone(),
                    role: Some(p.team_role.clone()),
                },
            );
            user.id
        })
        .collect();

    let business = pd::business_service(
        "business-service",
        &pd::BusinessServiceProps {
            name: p.business_service_name.clone(),
            description: None,
            point_of_contact: None,
            team: Some(team.id.clone()),
        },
    );

    let schedule = pd::schedule(
        "schedule",
        &pd::ScheduleProps {
            name: p.schedule.name.clone(),
            time_zone: p.schedule.time_zone.clone(),
            description: None,
            layers: vec![pd::ScheduleLayer {
                name: format!("{} layer", p.schedule.name),
                start: p.schedule.start.clone(),
                end: None,
                rotation_virtual_start: p.schedule.start.clone(),
                rotation_turn_length_seconds: p.schedule.rotation_turn_length_seconds,
                users,
                restrictions: p.schedule.restrictions.as_ref().map(|list| {
                    list.iter()
                        .map(|r| pd::Restriction {
                            restriction_type: r.restriction_type.clone(),
                            start_time_of_day: r.start_time_of_day.clone(),
                            duration_seconds: r.duration_seconds,
                            start_day_of_week: r.start_day_of_week,
                        })
                        .collect()
                }),
            }],
            teams: Some(vec![team.id.clone()]),
        },
    );

    let policy = pd::escalation_policy(
        "escalation-policy",
        &pd::EscalationPolicyProps {
            name: p.escalation.name.clone(),
            description: None,
            num_loops: Some(p.escalation.num_loops),
            rules: vec![pd::EscalationRule {
                escalation_delay_in_minutes: p.escalation.delay_minutes,
                targets: vec![pd::EscalationTarget {
                    target_type: "schedule_reference".into(),
                    id: schedule.id,
                }],
            }],
            teams: Some(vec![team.id]),
        },
    );

    OnCall {
        escalation_policy: policy.id,
        business_service: business.id,
        vendor: cloudwatch_vendor(),
    }
}

/// The vendor that makes an integration a CloudWatch one.
fn cloudwatch_vendor() -> String {
    pd::vendor(
        "cloudwatch-vendor",
        &pd::VendorLookup {
            vendor_name: "Amazon CloudWatch".into(),
        },
    )
    .id
}

/// One service's pipeline: Lambda logs -> metric filter -> alarm -> SNS -> PagerDuty.
fn declare_pipeline(
    s: &ServiceParams,
    on_call: &OnCall,
    bucket: Option<&a::S3BucketRef>,
) -> Result<(), String> {
    let n = |suffix: &str| format!("{}-{suffix}", s.name);

    let service = pd::service(
        &n("service"),
        &service_props(s.name.clone(), on_call.escalation_policy.clone()),
    );
    pd::service_dependency(
        &n("dependency"),
        &pd::ServiceDependencyProps {
            business_service: on_call.business_service.clone(),
            supporting_service: service.id.clone(),
        },
    );
    let integration = pd::service_integration(
        &n("integration"),
        &pd::ServiceIntegrationProps {
            service: service.id,
            vendor: on_call.vendor.clone(),
            integration_name: None,
        },
    );

    let role = a::iam_role(
        &n("role"),
        &a::IamRoleProps {
            name: format!("{}-role", s.function_name),
            assume_role_policy: LAMBDA_TRUST_POLICY.into(),
            description: None,
            path: None,
            tags: None,
        },
    );
    let log_permission = a::iam_role_policy_attachment(
        &n("role-basic-execution"),
        &a::IamRolePolicyAttachmentProps {
            role: role.name.clone(),
            policy_arn: LAMBDA_BASIC_EXECUTION.into(),
        },
    );
    let log_group = a::cloudwatch_log_group(
        &n("log-group"),
        &a::CloudwatchLogGroupProps {
            name: format!("/aws/lambda/{}", s.function_name),
            retention_in_days: s.log_retention_days,
            tags: None,
        },
    );

    let code = asset(&s.code_path)?;
    let lambda_code = match (s.code_via.as_str(), bucket) {
        ("s3", Some(bucket)) => {
            let object = a::s3_object(
                &n("code"),
                &a::S3ObjectProps {
                    bucket: bucket.bucket.clone(),
                    key: format!("{}/{}", s.function_name, code.file_name),
                    source: Some(code.id.clone()),
                    content: None,
                    content_type: Some("application/zip".into()),
                },
            );
            a::LambdaCode {
                asset: None,
                s3_bucket: Some(object.bucket),
                s3_key: Some(object.key),
                s3_object_version: None,
            }
        }
        ("direct", _) => a::LambdaCode {
            asset: Some(code.id.clone()),
            s3_bucket: None,
            s3_key: None,
            s3_object_version: None,
        },
        (other, _) => {
            return Err(format!(
                "services[{}].code_via must be s3 or direct, not {other:?}",
                s.name
            ));
        }
    };
    a::lambda_function(
        &n("function"),
        &a::LambdaFunctionProps {
            function_name: s.function_name.clone(),
            role: role.arn,
            handler: s.handler.clone(),
            runtime: s.runtime.clone(),
            code: lambda_code,
            source_code_hash: Some(code.sha256_base64),
            description: None,
            timeout: None,
            memory_size: None,
            environment: None,
            log_group: Some(log_group.name.clone()),
            tags: None,
        },
    );
    after_its_log_permission(&n("function"), log_permission.id);

    let topic = a::sns_topic(
        &n("topic"),
        &a::SnsTopicProps {
            name: format!("{}-alarm", s.function_name),
            display_name: None,
            tags: None,
        },
    );
    let redrive = dead_letters(s, &n, &topic.arn)?;
    a::sns_topic_subscription(
        &n("pagerduty-subscription"),
        &subscription(
            &topic.arn,
            integration.cloudwatch_protocol,
            integration.cloudwatch_endpoint,
            redrive.as_ref().map(|r| r.policy.clone()),
            s.delivery_retries.as_ref(),
        )?,
    );

    let filter = a::cloudwatch_log_metric_filter(
        &n("error-filter"),
        &a::CloudwatchLogMetricFilterProps {
            name: format!("{}-errors", s.function_name),
            log_group: log_group.name,
            pattern: s.log_pattern.clone(),
            metric_transformation: a::MetricTransformation {
                metric_name: format!("{}-errors", s.function_name),
                metric_namespace: s.metric_namespace.clone(),
                metric_value: "1".into(),
                default_value: Some(0.0),
            },
        },
    );
    a::cloudwatch_metric_alarm(
        &n("error-alarm"),
        &a::CloudwatchMetricAlarmProps {
            alarm_name: format!("{}-errors", s.function_name),
            alarm_description: Some(format!(
                "{} logged {:?} at least {} time(s) in {} s",
                s.function_name, s.log_pattern, s.alarm_threshold, s.alarm_period_seconds
            )),
            metric_name: since_0_6(filter.metric_name),
            namespace: since_0_6(filter.metric_namespace),
            statistic: since_0_6("Sum".into()),
            period: since_0_6(s.alarm_period_seconds),
            evaluation_periods: s.alarm_evaluation_periods,
            datapoints_to_alarm: None,
            threshold: since_0_6(s.alarm_threshold),
            comparison_operator: "GreaterThanOrEqualToThreshold".into(),
            treat_missing_data: s.alarm_treat_missing_data.clone(),
            dimensions: None,
            ok_actions: s.alarm_ok_action.then(|| vec![topic.arn.clone()]),
            alarm_actions: vec![topic.arn.clone()],
            insufficient_data_actions: None,
            tags: None,
            ..alarm_base()
        },
    );
    if let Some(redrive) = redrive {
        // A page in the queue is a page nobody got: alarm on it. The alarm
        // notifies the same topic, so once PagerDuty answers again the on-call
        // engineer learns that a page was lost.
        a::cloudwatch_metric_alarm(
            &n("dead-letter-alarm"),
            &a::CloudwatchMetricAlarmProps {
                alarm_name: format!("{}-undelivered-pages", s.function_name),
                alarm_description: Some(format!(
                    "SNS could not deliver a page of {} to PagerDuty: it waits in the dead-letter queue",
                    s.function_name
                )),
                metric_name: since_0_6("ApproximateNumberOfMessagesVisible".into()),
                namespace: since_0_6("AWS/SQS".into()),
                statistic: since_0_6("Maximum".into()),
                period: since_0_6(60),
                evaluation_periods: 1,
                datapoints_to_alarm: None,
                threshold: since_0_6(1.0),
                comparison_operator: "GreaterThanOrEqualToThreshold".into(),
                treat_missing_data: Some("notBreaching".into()),
                dimensions: Some(vec![a::Dimension {
                    name: "QueueName".into(),
                    value: redrive.queue_name,
                }]),
                // Resolved, like the error alarm, when the queue is read empty.
                ok_actions: s.alarm_ok_action.then(|| vec![topic.arn.clone()]),
                alarm_actions: vec![topic.arn],
                insufficient_data_actions: None,
                tags: None,
                ..alarm_base()
            },
        );
    }
    Ok(())
}

/// The function runs, and logs, from its first invocation: create it only once
/// its role may write those logs (no prop of the function names the policy
/// attachment, so the order is declared).
#[cfg(not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0")))]
fn after_its_log_permission(function: &str, attachment_id: String) {
    blueprint_sdk::host::depends_on(function, &[attachment_id]);
}

/// Older contracts have no `depends-on`: the order is left to the service.
#[cfg(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0"))]
fn after_its_log_permission(_function: &str, _attachment_id: String) {}

/// A dead-letter queue as the subscription names it.
struct Redrive {
    policy: String,
    queue_name: String,
}

/// The service's dead-letter queue and the policy that lets SNS send to it.
#[cfg(not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0")))]
fn dead_letters(
    s: &ServiceParams,
    n: &dyn Fn(&str) -> String,
    topic_arn: &str,
) -> Result<Option<Redrive>, String> {
    if !s.dead_letter_queue {
        return Ok(None);
    }
    let queue = a::sqs_queue(
        &n("dead-letter-queue"),
        &a::SqsQueueProps {
            name: format!("{}-undelivered-pages", s.function_name),
            // Fourteen days, SQS's longest: time to read what was lost.
            message_retention_seconds: Some(1_209_600),
            visibility_timeout_seconds: None,
            sqs_managed_sse_enabled: None,
            tags: None,
        },
    );
    a::sqs_queue_policy(
        &n("dead-letter-queue-policy"),
        &a::SqsQueuePolicyProps {
            queue_url: queue.url.clone(),
            policy: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"SnsDeadLetters","Effect":"Allow","Principal":{{"Service":"sns.amazonaws.com"}},"Action":"sqs:SendMessage","Resource":"{}","Condition":{{"ArnEquals":{{"aws:SourceArn":"{}"}}}}}}]}}"#,
                queue.arn, topic_arn
            ),
        },
    );
    Ok(Some(Redrive {
        policy: format!(r#"{{"deadLetterTargetArn":"{}"}}"#, queue.arn),
        queue_name: queue.name,
    }))
}

#[cfg(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0"))]
fn dead_letters(
    s: &ServiceParams,
    _n: &dyn Fn(&str) -> String,
    _topic_arn: &str,
) -> Result<Option<Redrive>, String> {
    if s.dead_letter_queue || s.delivery_retries.is_some() {
        return Err(format!(
            "services[{}]: dead_letter_queue and delivery_retries need this guest built for blueprint:cloud@0.3.0",
            s.name
        ));
    }
    Ok(None)
}

#[cfg(not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0")))]
fn subscription(
    topic_arn: &str,
    protocol: String,
    endpoint: String,
    redrive_policy: Option<String>,
    retries: Option<&DeliveryRetries>,
) -> Result<a::SnsTopicSubscriptionProps, String> {
    Ok(a::SnsTopicSubscriptionProps {
        topic: topic_arn.to_owned(),
        protocol,
        endpoint,
        raw_message_delivery: None,
        redrive_policy,
        delivery_policy: retries.map(|r| {
            format!(
                r#"{{"healthyRetryPolicy":{{"numRetries":{},"minDelayTarget":{},"maxDelayTarget":{},"numNoDelayRetries":0,"numMinDelayRetries":0,"numMaxDelayRetries":0,"backoffFunction":"linear"}}}}"#,
                r.num_retries, r.min_delay_seconds, r.max_delay_seconds
            )
        }),
    })
}

#[cfg(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0"))]
fn subscription(
    topic_arn: &str,
    protocol: String,
    endpoint: String,
    _redrive_policy: Option<String>,
    _retries: Option<&DeliveryRetries>,
) -> Result<a::SnsTopicSubscriptionProps, String> {
    Ok(a::SnsTopicSubscriptionProps {
        topic: topic_arn.to_owned(),
        protocol,
        endpoint,
        raw_message_delivery: None,
    })
}

struct LambdaErrorPagerDuty;

impl Blueprint for LambdaErrorPagerDuty {
    type Params = Params;

    fn info() -> Info {
        Info::new(
            "lambda-error-pagerduty",
            env!("CARGO_PKG_VERSION"),
            "When a Lambda logs ERROR, a metric filter and alarm notify an SNS topic subscribed to a PagerDuty CloudWatch integration, paging the on-call engineer of the team's rotation.",
        )
    }

    fn run(p: Params) -> Result<(), String> {
        if p.services.is_empty() && !p.publish_on_call {
            return Err("`services` is empty: declare at least one service (or publish_on_call = true for a platform blueprint)".into());
        }
        let on_call = match &p.platform {
            Some(platform) => on_call_of_platform(platform)?,
            None => declare_on_call(&p),
        };
        if p.publish_on_call {
            publish(&on_call)?;
        }
        let needs_bucket = p.services.iter().any(|s| s.code_via == "s3");
        let bucket = needs_bucket.then(|| {
            a::s3_bucket(
                "code-bucket",
                &a::S3BucketProps {
                    bucket: p.bucket_name.clone().unwrap_or_else(default_bucket_name),
                    force_destroy: Some(true),
                    tags: None,
                },
            )
        });
        for service in &p.services {
            declare_pipeline(service, &on_call, bucket.as_ref())?;
        }
        Ok(())
    }
}

/// The on-call a platform blueprint publishes (see `publish`).
#[cfg(not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0", feature = "wit-v0-3-0")))]
fn on_call_of_platform(platform: &PlatformParams) -> Result<OnCall, String> {
    use blueprint_sdk::blueprints as bp;
    let read = |output: &str| {
        bp::outputs(
            &format!("platform-{}", output.replace('_', "-")),
            &bp::OutputsLookup {
                blueprint: platform.blueprint.clone(),
                state: platform.state.clone(),
                output: output.into(),
                sensitive: None,
            },
        )
        .value
    };
    Ok(OnCall {
        escalation_policy: read("escalation_policy_id"),
        business_service: read("business_service_id"),
        vendor: cloudwatch_vendor(),
    })
}

/// This blueprint's on-call, for service blueprints (`platform`).
#[cfg(not(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0", feature = "wit-v0-3-0")))]
fn publish(on_call: &OnCall) -> Result<(), String> {
    use blueprint_sdk::blueprints as bp;
    for (name, value, description) in [
        (
            "escalation_policy_id",
            &on_call.escalation_policy,
            "The team's escalation policy: services page through it",
        ),
        (
            "business_service_id",
            &on_call.business_service,
            "The business service the team's technical services support",
        ),
    ] {
        bp::output(
            name,
            &bp::OutputProps {
                value: value.clone(),
                sensitive: None,
                description: Some(description.into()),
            },
        );
    }
    Ok(())
}

#[cfg(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0", feature = "wit-v0-3-0"))]
fn on_call_of_platform(_: &PlatformParams) -> Result<OnCall, String> {
    Err("platform needs this guest built for blueprint:cloud@0.4.0".into())
}

#[cfg(any(feature = "wit-v0-1-0", feature = "wit-v0-2-0", feature = "wit-v0-3-0"))]
fn publish(_: &OnCall) -> Result<(), String> {
    Err("publish_on_call needs this guest built for blueprint:cloud@0.4.0".into())
}

/// `lambda-error-pagerduty-<account id>-<region>`: no other account can hold
/// it, and the same account can deploy the seed in several regions.
#[cfg(not(feature = "wit-v0-1-0"))]
fn default_bucket_name() -> String {
    let account = a::caller_identity(
        "aws-account",
        &a::CallerIdentityLookup {
            allowed_account_ids: None,
        },
    );
    let region = a::region("aws-region", &a::RegionLookup { name: None });
    format!(
        "lambda-error-pagerduty-{}-{}",
        account.account_id, region.name
    )
}

/// The 0.1.0 contract has no account lookup: the name that seed always used.
#[cfg(feature = "wit-v0-1-0")]
fn default_bucket_name() -> String {
    "lambda-error-pagerduty-assets".into()
}

blueprint_sdk::blueprint!(LambdaErrorPagerDuty);

/// A service paging through `escalation_policy`, with PagerDuty's defaults.
#[cfg(not(any(
    feature = "wit-v0-1-0",
    feature = "wit-v0-2-0",
    feature = "wit-v0-3-0",
    feature = "wit-v0-4-0",
    feature = "wit-v0-5-0",
    feature = "wit-v0-6-0"
)))]
fn service_props(name: String, escalation_policy: String) -> pd::ServiceProps {
    pd::ServiceProps {
        name,
        description: None,
        escalation_policy,
        acknowledgement_timeout: None,
        auto_resolve_timeout: None,
        alert_creation: None,
        urgency: None,
        support_hours: None,
        urgency_during_support_hours: None,
        urgency_outside_support_hours: None,
        raise_urgency_at_support_hours_start: None,
        alert_grouping: None,
    }
}

/// 0.5.0 and 0.6.0: urgency props, no alert grouping.
#[cfg(all(
    any(feature = "wit-v0-5-0", feature = "wit-v0-6-0"),
    not(any(
        feature = "wit-v0-1-0",
        feature = "wit-v0-2-0",
        feature = "wit-v0-3-0",
        feature = "wit-v0-4-0"
    ))
))]
fn service_props(name: String, escalation_policy: String) -> pd::ServiceProps {
    pd::ServiceProps {
        name,
        description: None,
        escalation_policy,
        acknowledgement_timeout: None,
        auto_resolve_timeout: None,
        alert_creation: None,
        urgency: None,
        support_hours: None,
        urgency_during_support_hours: None,
        urgency_outside_support_hours: None,
        raise_urgency_at_support_hours_start: None,
    }
}

/// Before 0.5.0 a service had no urgency props.
#[cfg(any(
    feature = "wit-v0-1-0",
    feature = "wit-v0-2-0",
    feature = "wit-v0-3-0",
    feature = "wit-v0-4-0"
))]
fn service_props(name: String, escalation_policy: String) -> pd::ServiceProps {
    pd::ServiceProps {
        name,
        description: None,
        escalation_policy,
        acknowledgement_timeout: None,
        auto_resolve_timeout: None,
        alert_creation: None,
    }
}

/// Since 0.6.0 an alarm's single metric is optional (an alarm has one metric
/// or `metric_queries`).
#[cfg(not(any(
    feature = "wit-v0-1-0",
    feature = "wit-v0-2-0",
    feature = "wit-v0-3-0",
    feature = "wit-v0-4-0",
    feature = "wit-v0-5-0"
)))]
fn since_0_6<T>(value: T) -> Option<T> {
    Some(value)
}

#[cfg(any(
    feature = "wit-v0-1-0",
    feature = "wit-v0-2-0",
    feature = "wit-v0-3-0",
    feature = "wit-v0-4-0",
    feature = "wit-v0-5-0"
))]
fn since_0_6<T>(value: T) -> T {
    value
}

/// What the seed's alarms leave unset.
#[cfg(not(any(
    feature = "wit-v0-1-0",
    feature = "wit-v0-2-0",
    feature = "wit-v0-3-0",
    feature = "wit-v0-4-0",
    feature = "wit-v0-5-0"
)))]
fn alarm_base() -> a::CloudwatchMetricAlarmProps {
    a::CloudwatchMetricAlarmProps {
        alarm_name: String::new(),
        alarm_description: None,
        metric_name: None,
        namespace: None,
        statistic: None,
        period: None,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        threshold: None,
        comparison_operator: String::new(),
        treat_missing_data: None,
        dimensions: None,
        alarm_actions: Vec::new(),
        ok_actions: None,
        insufficient_data_actions: None,
        tags: None,
        metric_queries: None,
        threshold_metric_id: None,
    }
}

#[cfg(any(
    feature = "wit-v0-1-0",
    feature = "wit-v0-2-0",
    feature = "wit-v0-3-0",
    feature = "wit-v0-4-0",
    feature = "wit-v0-5-0"
))]
fn alarm_base() -> a::CloudwatchMetricAlarmProps {
    a::CloudwatchMetricAlarmProps {
        alarm_name: String::new(),
        alarm_description: None,
        metric_name: String::new(),
        namespace: String::new(),
        statistic: String::new(),
        period: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        threshold: 0.0,
        comparison_operator: String::new(),
        treat_missing_data: None,
        dimensions: None,
        alarm_actions: Vec::new(),
        ok_actions: None,
        insufficient_data_actions: None,
        tags: None,
    }
}
