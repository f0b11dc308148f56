"""The seed blueprint, in Python: when a Lambda logs ERROR, page the engineer on call.

The same graph as the Rust guest (guests/lambda-error-pagerduty), node for node:
PagerDuty's on-call side (team, members, hourly rotation, escalation policy,
business service) and, per entry of `services`, a Lambda whose ERROR lines feed a
metric filter and an alarm that notifies an SNS topic subscribed to a PagerDuty
CloudWatch integration. Every default is the seed's own value.

Outputs of constructors (ids, ARNs, the integration's URL) are reference tokens:
plain strings to pass around or put inside f-strings; the host resolves them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.blueprint import GuestInfo
from wit_world.imports import aws, host, pagerduty as pd

LAMBDA_TRUST_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


# ---- params: dataclasses are the schema's single source -------------------

@dataclass
class Restriction:
    """One layer restriction, with PagerDuty's field names (`type` is a keyword
    neither in JSON nor here, but it is in the WIT record: `restriction_type`)."""
    type: str = "daily_restriction"
    start_time_of_day: str = "09:00:00"
    duration_seconds: int = 32400
    start_day_of_week: Optional[int] = None


RESTRICTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "start_time_of_day", "duration_seconds"],
    "properties": {
        "type": {"type": "string", "enum": ["daily_restriction", "weekly_restriction"]},
        "start_time_of_day": {"type": "string", "description": "HH:MM:SS, local to the schedule's time zone."},
        "duration_seconds": {"type": "integer", "minimum": 1},
        "start_day_of_week": {"type": ["integer", "null"], "minimum": 1, "maximum": 7},
    },
}


@dataclass
class DeliveryRetries:
    """SNS's HTTP(S) `healthyRetryPolicy`, linear between the two delays."""
    num_retries: int = 3
    min_delay_seconds: int = 20
    max_delay_seconds: int = 20


DELIVERY_RETRIES_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "required": ["num_retries", "min_delay_seconds", "max_delay_seconds"],
    "properties": {
        "num_retries": {"type": "integer", "minimum": 0},
        "min_delay_seconds": {"type": "integer", "minimum": 0},
        "max_delay_seconds": {"type": "integer", "minimum": 0},
    },
}


@dataclass
class Schedule:
    name: str = "Hourly Rotation"
    time_zone: str = field(default="Asia/Tokyo", metadata={"doc": "IANA time zone of the rotation."})
    start: str = field(default="2023-09-16T00:00:00+09:00", metadata={"doc": "When the rotation starts (ISO 8601 with offset)."})
    rotation_turn_length_seconds: int = field(default=3600, metadata={"doc": "Length of one turn, in seconds."})
    restrictions: Optional[list[Restriction]] = field(default=None, metadata={"doc": "Times of the day or week the rotation is on call (PagerDuty's layer restrictions); absent: always."})


@dataclass
class Escalation:
    name: str = "Escalation Policy"
    num_loops: int = field(default=2, metadata={"doc": "Times the policy repeats when nobody acknowledges."})
    delay_minutes: int = field(default=30, metadata={"doc": "Minutes before escalating."})


@dataclass
class Service:
    name: str = field(default="lambda-error", metadata={"doc": "The technical service's name; prefixes this pipeline's names."})
    function_name: str = "error-function"
    runtime: str = "nodejs22.x"
    handler: str = "index.handler"
    code_path: str = field(default="lambda-error-pagerduty-handler", metadata={"doc": "Code folder, relative to the blueprint file."})
    code_via: str = field(default="s3", metadata={"doc": "`s3` or `direct`."})
    log_pattern: str = "ERROR"
    metric_namespace: str = "LambdaErrors"
    alarm_period_seconds: int = 30
    alarm_evaluation_periods: int = 1
    alarm_threshold: float = 1.0
    alarm_ok_action: bool = False
    alarm_treat_missing_data: Optional[str] = None
    log_retention_days: Optional[int] = None
    dead_letter_queue: bool = field(default=False, metadata={"doc": "Keep pages SNS fails to deliver in an SQS dead-letter queue, alarmed on."})
    delivery_retries: Optional[DeliveryRetries] = field(default=None, metadata={"doc": "SNS's retries of a failed delivery; absent: its default (3, 20 s apart)."})


@dataclass
class Params:
    team_name: str = "teamOnCall"
    users: list[str] = field(default_factory=lambda: ["user1@example.com", "user2@example.com"])
    team_role: str = "responder"
    business_service_name: str = "Business Service"
    schedule: Schedule = field(default_factory=Schedule)
    escalation: Escalation = field(default_factory=Escalation)
    services: list[Service] = field(default_factory=lambda: [Service()])
    # Absent: lambda-error-pagerduty-<account id>-<region> (S3 names are global).
    bucket_name: Optional[str] = None


def schema_of(cls: type) -> dict[str, Any]:
    """JSON Schema of a params dataclass, with its defaults (no extra keys allowed)."""
    defaults = cls()
    props: dict[str, Any] = {}
    for f in fields(cls):
        value = getattr(defaults, f.name)
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        if kind in ("Schedule", "Escalation"):
            prop = schema_of(type(value))
        elif kind == "list[Service]":
            prop = {"type": "array", "items": schema_of(Service)}
        elif kind == "Optional[list[Restriction]]":
            prop = {"type": ["array", "null"], "items": RESTRICTION_SCHEMA}
        elif kind == "Optional[DeliveryRetries]":
            prop = dict(DELIVERY_RETRIES_SCHEMA)
        elif kind == "list[str]":
            prop = {"type": "array", "items": {"type": "string"}}
        else:
            base = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
            optional = kind.startswith("Optional[")
            inner = base[kind[9:-1] if optional else kind]
            prop = {"type": [inner, "null"] if optional else inner}
            if inner == "integer":
                prop["minimum"] = 0
        prop["default"] = to_json(value)
        if "doc" in f.metadata:
            prop["description"] = f.metadata["doc"]
        props[f.name] = prop
    return {"type": "object", "additionalProperties": False, "properties": props}


def to_json(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def parse(params_json: str) -> Params:
    """The host has validated the params and filled in every default."""
    raw = json.loads(params_json)
    return Params(
        team_name=raw["team_name"],
        users=raw["users"],
        team_role=raw["team_role"],
        business_service_name=raw["business_service_name"],
        schedule=schedule_of(raw["schedule"]),
        escalation=Escalation(**raw["escalation"]),
        services=[service_of(s) for s in raw["services"]],
        bucket_name=raw["bucket_name"],
    )


def service_of(raw: dict[str, Any]) -> Service:
    retries = raw.get("delivery_retries")
    return Service(**{**raw, "delivery_retries": None if retries is None else DeliveryRetries(**retries)})


def schedule_of(raw: dict[str, Any]) -> Schedule:
    restrictions = raw.get("restrictions")
    return Schedule(
        **{**raw, "restrictions": None if restrictions is None else [Restriction(**r) for r in restrictions]}
    )


def default_bucket_name() -> str:
    """lambda-error-pagerduty-<account id>-<region>: no other account can hold it,
    and one account can deploy the seed in several regions."""
    account = aws.caller_identity("aws-account", aws.CallerIdentityLookup(allowed_account_ids=None))
    region = aws.region("aws-region", aws.RegionLookup(name=None))
    return f"lambda-error-pagerduty-{account.account_id}-{region.name}"


def rust_number(x: float) -> str:
    """Numbers in descriptions as the Rust guest writes them (`1`, not `1.0`)."""
    return str(int(x)) if float(x).is_integer() else repr(x)


# ---- the graph ------------------------------------------------------------

@dataclass
class OnCall:
    escalation_policy: str
    business_service: str
    vendor: str


def declare_on_call(p: Params) -> OnCall:
    team = pd.team("team", pd.TeamProps(name=p.team_name, description=None, parent=None))
    user_ids = []
    for email in p.users:
        user = pd.user(f"user-{email}", pd.UserLookup(email=email))
        pd.team_membership(
            f"membership-{email}",
            pd.TeamMembershipProps(team=team.id, user=user.id, role=p.team_role),
        )
        user_ids.append(user.id)

    business = pd.business_service(
        "business-service",
        pd.BusinessServiceProps(
            name=p.business_service_name, description=None, point_of_contact=None, team=team.id
        ),
    )
    rotation = p.schedule
    schedule = pd.schedule(
        "schedule",
        pd.ScheduleProps(
            name=rotation.name,
            time_zone=rotation.time_zone,
            description=None,
            layers=[
                pd.ScheduleLayer(
                    name=f"{rotation.name} layer",
                    start=rotation.start,
                    end=None,
                    rotation_virtual_start=rotation.start,
                    rotation_turn_length_seconds=rotation.rotation_turn_length_seconds,
                    users=user_ids,
                    restrictions=None
                    if rotation.restrictions is None
                    else [
                        pd.Restriction(
                            restriction_type=r.type,
                            start_time_of_day=r.start_time_of_day,
                            duration_seconds=r.duration_seconds,
                            start_day_of_week=r.start_day_of_week,
                        )
                        for r in rotation.restrictions
                    ],
                )
            ],
            teams=[team.id],
        ),
    )
    policy = pd.escalation_policy(
        "escalation-policy",
        pd.EscalationPolicyProps(
            name=p.escalation.name,
            description=None,
            num_loops=p.escalation.num_loops,
            rules=[
                pd.EscalationRule(
                    escalation_delay_in_minutes=p.escalation.delay_minutes,
                    targets=[pd.EscalationTarget(target_type="schedule_reference", id=schedule.id)],
                )
            ],
            teams=[team.id],
        ),
    )
    vendor = pd.vendor("cloudwatch-vendor", pd.VendorLookup(vendor_name="Amazon CloudWatch"))
    return OnCall(escalation_policy=policy.id, business_service=business.id, vendor=vendor.id)


def declare_pipeline(s: Service, on_call: OnCall, bucket: Optional[aws.S3BucketRef]) -> None:
    """Lambda logs -> metric filter -> alarm -> SNS -> PagerDuty, for one service."""

    def n(suffix: str) -> str:
        return f"{s.name}-{suffix}"

    service = pd.service(
        n("service"),
        pd.ServiceProps(
            name=s.name,
            description=None,
            escalation_policy=on_call.escalation_policy,
            acknowledgement_timeout=None,
            auto_resolve_timeout=None,
            alert_creation=None,
            urgency=None,
            support_hours=None,
            urgency_during_support_hours=None,
            urgency_outside_support_hours=None,
            raise_urgency_at_support_hours_start=None,
            alert_grouping=None,
        ),
    )
    pd.service_dependency(
        n("dependency"),
        pd.ServiceDependencyProps(
            business_service=on_call.business_service, supporting_service=service.id
        ),
    )
    integration = pd.service_integration(
        n("integration"),
        pd.ServiceIntegrationProps(service=service.id, vendor=on_call.vendor, integration_name=None),
    )

    role = aws.iam_role(
        n("role"),
        aws.IamRoleProps(
            name=f"{s.function_name}-role",
            assume_role_policy=LAMBDA_TRUST_POLICY,
            description=None,
            path=None,
            tags=None,
        ),
    )
    log_permission = aws.iam_role_policy_attachment(
        n("role-basic-execution"),
        aws.IamRolePolicyAttachmentProps(role=role.name, policy_arn=LAMBDA_BASIC_EXECUTION),
    )
    log_group = aws.cloudwatch_log_group(
        n("log-group"),
        aws.CloudwatchLogGroupProps(
            name=f"/aws/lambda/{s.function_name}",
            retention_in_days=s.log_retention_days,
            tags=None,
        ),
    )

    code = host.asset(s.code_path)  # raises Err(reason) when the path is bad
    if s.code_via == "s3" and bucket is not None:
        obj = aws.s3_object(
            n("code"),
            aws.S3ObjectProps(
                bucket=bucket.bucket,
                key=f"{s.function_name}/{code.file_name}",
                source=code.id,
                content=None,
                content_type="application/zip",
            ),
        )
        lambda_code = aws.LambdaCode(asset=None, s3_bucket=obj.bucket, s3_key=obj.key, s3_object_version=None)
    elif s.code_via == "direct":
        lambda_code = aws.LambdaCode(asset=code.id, s3_bucket=None, s3_key=None, s3_object_version=None)
    else:
        raise Err(f"services[{s.name}].code_via must be s3 or direct, not {json.dumps(s.code_via)}")

    aws.lambda_function(
        n("function"),
        aws.LambdaFunctionProps(
            function_name=s.function_name,
            role=role.arn,
            handler=s.handler,
            runtime=s.runtime,
            code=lambda_code,
            source_code_hash=code.sha256_base64,
            description=None,
            timeout=None,
            memory_size=None,
            environment=None,
            log_group=log_group.name,
            tags=None,
        ),
    )
    # The function logs from its first run: created only once its role may write
    # logs (no prop names the attachment, so the order is declared).
    host.depends_on(n("function"), [log_permission.id])

    topic = aws.sns_topic(
        n("topic"), aws.SnsTopicProps(name=f"{s.function_name}-alarm", display_name=None, tags=None)
    )
    redrive = dead_letters(s, n, topic.arn)
    retries = s.delivery_retries
    aws.sns_topic_subscription(
        n("pagerduty-subscription"),
        aws.SnsTopicSubscriptionProps(
            topic=topic.arn,
            protocol=integration.cloudwatch_protocol,
            endpoint=integration.cloudwatch_endpoint,
            raw_message_delivery=None,
            redrive_policy=redrive[0] if redrive else None,
            delivery_policy=(
                f'{{"healthyRetryPolicy":{{"numRetries":{retries.num_retries},"minDelayTarget":{retries.min_delay_seconds},'
                f'"maxDelayTarget":{retries.max_delay_seconds},"numNoDelayRetries":0,"numMinDelayRetries":0,'
                f'"numMaxDelayRetries":0,"backoffFunction":"linear"}}}}'
            ) if retries else None,
        ),
    )

    metric = f"{s.function_name}-errors"
    errors = aws.cloudwatch_log_metric_filter(
        n("error-filter"),
        aws.CloudwatchLogMetricFilterProps(
            name=metric,
            log_group=log_group.name,
            pattern=s.log_pattern,
            metric_transformation=aws.MetricTransformation(
                metric_name=metric,
                metric_namespace=s.metric_namespace,
                metric_value="1",
                default_value=0.0,
            ),
        ),
    )
    pattern = json.dumps(s.log_pattern, ensure_ascii=False)
    aws.cloudwatch_metric_alarm(
        n("error-alarm"),
        aws.CloudwatchMetricAlarmProps(
            alarm_name=metric,
            alarm_description=(
                f"{s.function_name} logged {pattern} at least {rust_number(s.alarm_threshold)}"
                f" time(s) in {s.alarm_period_seconds} s"
            ),
            metric_name=errors.metric_name,
            namespace=errors.metric_namespace,
            statistic="Sum",
            period=s.alarm_period_seconds,
            evaluation_periods=s.alarm_evaluation_periods,
            datapoints_to_alarm=None,
            threshold=float(s.alarm_threshold),
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data=s.alarm_treat_missing_data,
            dimensions=None,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn] if s.alarm_ok_action else None,
            insufficient_data_actions=None,
            tags=None,
            metric_queries=None,
            threshold_metric_id=None,
        ),
    )
    if redrive:
        # A page in the queue is a page nobody got: alarm on it, through the
        # same topic, so once PagerDuty answers again the on-call engineer knows.
        aws.cloudwatch_metric_alarm(
            n("dead-letter-alarm"),
            aws.CloudwatchMetricAlarmProps(
                alarm_name=f"{s.function_name}-undelivered-pages",
                alarm_description=f"SNS could not deliver a page of {s.function_name} to PagerDuty: it waits in the dead-letter queue",
                metric_name="ApproximateNumberOfMessagesVisible",
                namespace="AWS/SQS",
                statistic="Maximum",
                period=60,
                evaluation_periods=1,
                datapoints_to_alarm=None,
                threshold=1.0,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                dimensions=[aws.Dimension(name="QueueName", value=redrive[1])],
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn] if s.alarm_ok_action else None,
                insufficient_data_actions=None,
                tags=None,
                metric_queries=None,
                threshold_metric_id=None,
            ),
        )


def dead_letters(s: Service, n, topic_arn: str) -> Optional[tuple[str, str]]:
    """The service's dead-letter queue and the policy that lets SNS send to it:
    (the subscription's redrive policy, the queue's name)."""
    if not s.dead_letter_queue:
        return None
    queue = aws.sqs_queue(
        n("dead-letter-queue"),
        aws.SqsQueueProps(
            name=f"{s.function_name}-undelivered-pages",
            # Fourteen days, SQS's longest: time to read what was lost.
            message_retention_seconds=1209600,
            visibility_timeout_seconds=None,
            sqs_managed_sse_enabled=None,
            tags=None,
        ),
    )
    aws.sqs_queue_policy(
        n("dead-letter-queue-policy"),
        aws.SqsQueuePolicyProps(
            queue_url=queue.url,
            policy=(
                '{"Version":"2012-10-17","Statement":[{"Sid":"SnsDeadLetters","Effect":"Allow",'
                '"Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage",'
                f'"Resource":"{queue.arn}","Condition":{{"ArnEquals":{{"aws:SourceArn":"{topic_arn}"}}}}}}]}}'
            ),
        ),
    )
    return (f'{{"deadLetterTargetArn":"{queue.arn}"}}', queue.name)


class Blueprint(exports.Blueprint):
    def info(self) -> GuestInfo:
        return GuestInfo(
            name="lambda-error-pagerduty",
            version="0.1.0",
            description=(
                "When a Lambda logs ERROR, a metric filter and alarm notify an SNS topic subscribed "
                "to a PagerDuty CloudWatch integration, paging the on-call engineer of the team's "
                "rotation. (Python edition.)"
            ),
        )

    def params_schema(self) -> str:
        schema = schema_of(Params)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return json.dumps(schema)

    def run(self, params_json: str) -> None:
        p = parse(params_json)
        if not p.services:
            raise Err("`services` is empty: declare at least one service")
        on_call = declare_on_call(p)
        bucket = None
        if any(s.code_via == "s3" for s in p.services):
            bucket = aws.s3_bucket(
                "code-bucket",
                aws.S3BucketProps(bucket=p.bucket_name or default_bucket_name(), force_destroy=True, tags=None),
            )
        for service in p.services:
            declare_pipeline(service, on_call, bucket)
