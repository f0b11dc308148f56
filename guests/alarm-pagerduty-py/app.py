"""alarm-pagerduty: any CloudWatch metric or composite alarm pages the
engineer on call, with the incident's urgency by time of day.

Each entry of `alarms` is a CloudWatch alarm on any metric (an ALB's 5xx count,
an RDS instance's CPU, a queue's age...) that notifies an SNS topic subscribed
to a PagerDuty CloudWatch integration. The PagerDuty service opens incidents at
high urgency during its support hours and low outside them (and raises what is
still open when support hours start), so a 3 a.m. alarm of a non-critical
system waits for the morning. The team's rotation is declared here, or read from
a platform blueprint's outputs (`platform`).

An alarm watches one metric, or the `expression` of metric math over `metrics`
(an error rate: `100 * errors / requests`). With `composite`, the alarms page
only through one composite alarm whose rule reads their states (`ALARM(api-5xx)
AND NOT ALARM(deploying)`): one page for what several alarms see, none during a
deploy. `orchestration` rules set an alert's severity or suppress it by its
content in PagerDuty; `tags` label the team and its escalation policy;
`alert_grouping` joins repeated alerts into the open incident; `webhooks` POST
the service's incident events to other systems.

Outputs of constructors are reference tokens: plain strings the host resolves.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.blueprint import GuestInfo
from wit_world.imports import aws, blueprints, pagerduty as pd

DEFAULT_ALARM: dict[str, Any] = {
    "name": "api-5xx",
    "description": "The API's targets answered 5xx at least 5 times in a minute",
    "namespace": "AWS/ApplicationELB",
    "metric_name": "HTTPCode_Target_5XX_Count",
    "statistic": "Sum",
    "period": 60,
    "evaluation_periods": 1,
    "threshold": 5.0,
    "comparison_operator": "GreaterThanOrEqualToThreshold",
    "treat_missing_data": "notBreaching",
    "dimensions": [{"name": "LoadBalancer", "value": "app/api/0123456789abcdef"}],
    "ok_action": True,
}

DEFAULTS: dict[str, Any] = {
    "service_name": "api",
    "topic_name": "api-alarms",
    "alarms": [DEFAULT_ALARM],
    "support_hours": {
        "time_zone": "Etc/UTC",
        "days_of_week": [1, 2, 3, 4, 5],
        "start_time": "09:00:00",
        "end_time": "17:00:00",
    },
    "urgency_outside_support_hours": "low",
    "raise_urgency_at_support_hours_start": True,
    "on_call": {
        "team_name": "API",
        "users": ["user1@example.com", "user2@example.com"],
        "schedule_name": "API hourly rotation",
        "time_zone": "Etc/UTC",
        "start": "2025-01-06T00:00:00Z",
        "turn_length_hours": 1,
        "escalation_policy_name": "API escalation",
        "escalation_delay_minutes": 15,
    },
    "platform": None,
    "dead_letter_queue": True,
    "composite": None,
    "orchestration": [],
    "tags": [],
    "alert_grouping": None,
    "webhooks": [],
}

COMPARISONS = [
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]


def schema() -> dict[str, Any]:
    d = DEFAULTS
    alarm = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "threshold"],
        "properties": {
            "name": {"type": "string", "description": "The alarm's name (unique in the account and region)."},
            "description": {"type": ["string", "null"], "default": None},
            "namespace": {"type": "string", "description": "e.g. AWS/ApplicationELB, AWS/RDS, a custom one (not with `expression`)."},
            "metric_name": {"type": "string"},
            "expression": {"type": ["string", "null"], "default": None,
                           "description": "Metric math over `metrics` by id, e.g. `100 * errors / requests`."},
            "metrics": {
                "type": "object",
                "default": {},
                "description": "The metrics `expression` reads, by id (a lower-case start).",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["namespace", "metric_name"],
                    "properties": {
                        "namespace": {"type": "string"},
                        "metric_name": {"type": "string"},
                        "statistic": {"type": "string", "default": "Sum"},
                        "dimensions": {"type": "array", "default": [], "items": {"type": "object"}},
                    },
                },
            },
            "statistic": {"type": "string", "enum": ["SampleCount", "Average", "Sum", "Minimum", "Maximum"], "default": "Average"},
            "period": {"type": "integer", "minimum": 10, "default": 60},
            "evaluation_periods": {"type": "integer", "minimum": 1, "default": 1},
            "threshold": {"type": "number"},
            "comparison_operator": {"type": "string", "enum": COMPARISONS, "default": "GreaterThanOrEqualToThreshold"},
            "treat_missing_data": {"type": "string", "enum": ["breaching", "notBreaching", "ignore", "missing"], "default": "notBreaching"},
            "dimensions": {
                "type": "array",
                "default": [],
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "value"],
                    "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                },
            },
            "ok_action": {"type": "boolean", "default": True, "description": "Resolve the incident when the alarm returns to OK."},
        },
    }
    urgency = {"type": "string", "enum": ["high", "low", "severity_based"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "service_name": {"type": "string", "description": "The PagerDuty service paged.", "default": d["service_name"]},
            "topic_name": {"type": "string", "description": "The SNS topic the alarms notify.", "default": d["topic_name"]},
            "alarms": {"type": "array", "minItems": 1, "items": alarm, "default": d["alarms"]},
            "support_hours": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "description": "High urgency inside these hours, `urgency_outside_support_hours` outside; null: always high.",
                "default": d["support_hours"],
                "required": ["time_zone", "days_of_week", "start_time", "end_time"],
                "properties": {
                    "time_zone": {"type": "string"},
                    "days_of_week": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}},
                    "start_time": {"type": "string", "description": "HH:MM:SS"},
                    "end_time": {"type": "string", "description": "HH:MM:SS"},
                },
            },
            "urgency_outside_support_hours": {**urgency, "default": d["urgency_outside_support_hours"]},
            "raise_urgency_at_support_hours_start": {"type": "boolean", "default": d["raise_urgency_at_support_hours_start"]},
            "on_call": {
                "type": "object",
                "additionalProperties": False,
                "description": "The team and rotation paged (unused with `platform`).",
                "default": d["on_call"],
                "properties": {
                    key: ({"type": "array", "items": {"type": "string"}, "minItems": 1, "default": value}
                          if isinstance(value, list)
                          else {"type": "integer" if isinstance(value, int) else "string", "default": value})
                    for key, value in d["on_call"].items()
                },
            },
            "platform": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "description": "A platform blueprint publishing `escalation_policy_id`: the service pages through its policy.",
                "default": None,
                "required": ["blueprint"],
                "properties": {"blueprint": {"type": "string"}, "state": {"type": ["string", "null"], "default": None}},
            },
            "dead_letter_queue": {"type": "boolean", "default": d["dead_letter_queue"],
                                  "description": "Keep the pages SNS fails to deliver in an SQS dead-letter queue (14 days)."},
            "composite": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "default": None,
                "description": "Page only through one composite alarm over `alarms` (which then notify nobody).",
                "required": ["name", "rule"],
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": ["string", "null"], "default": None},
                    "rule": {"type": "string", "description": "ALARM(name), OK(name), AND, OR, NOT over the names of `alarms`."},
                },
            },
            "orchestration": {
                "type": "array",
                "default": [],
                "description": "PagerDuty event orchestration rules, first match wins: set the severity or suppress.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["label", "condition"],
                    "properties": {
                        "label": {"type": "string"},
                        "condition": {"type": "string", "description": "PCL, e.g. event.summary matches part 'staging'"},
                        "severity": {"type": ["string", "null"], "enum": ["critical", "error", "warning", "info", None], "default": None},
                        "suppress": {"type": "boolean", "default": False},
                    },
                },
            },
            "tags": {"type": "array", "items": {"type": "string"}, "default": [],
                     "description": "PagerDuty tags on the team and its escalation policy (declared here)."},
            "alert_grouping": {
                "type": ["object", "null"],
                "default": None,
                "additionalProperties": False,
                "required": ["type"],
                "description": "Alerts that join the service's open incident instead of paging again.",
                "properties": {
                    "type": {"type": "string", "enum": ["time", "content_based", "intelligent"]},
                    "timeout_minutes": {"type": ["integer", "null"], "default": None,
                                        "description": "time: group for this long after the first alert (0: while open)."},
                    "fields": {"type": ["array", "null"], "items": {"type": "string"}, "default": None,
                               "description": "content_based: alert fields that must match, e.g. custom_details.AlarmName."},
                    "aggregate": {"type": ["string", "null"], "enum": ["all", "any", None], "default": None},
                    "time_window_minutes": {"type": ["integer", "null"], "default": None,
                                            "description": "content_based / intelligent: 5 to 60 minutes (1440 for content_based); 0 for PagerDuty's recommended window."},
                },
            },
            "webhooks": {
                "type": "array",
                "default": [],
                "description": "Endpoints PagerDuty POSTs the service's incident events to (a chat bot, a ticket system).",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "url"],
                    "properties": {
                        "name": {"type": "string", "description": "Names the node: webhook-<name>."},
                        "url": {"type": "string"},
                        "events": {"type": "array", "items": {"type": "string"},
                                   "default": ["incident.triggered", "incident.acknowledged", "incident.resolved"]},
                        "description": {"type": ["string", "null"], "default": None},
                    },
                },
            },
        },
    }


def with_defaults(value: Any, default: Any) -> Any:
    """The host fills top-level defaults; nested objects get theirs here."""
    if isinstance(value, dict) and isinstance(default, dict):
        return {**default, **{k: with_defaults(v, default.get(k)) for k, v in value.items()}}
    return default if value is None and not isinstance(default, dict) else value


def escalation_policy(p: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The policy's id, and what a tag may go on (the team and policy declared here)."""
    platform = p.get("platform")
    if platform:
        return (blueprints.outputs(
            "platform-escalation-policy-id",
            blueprints.OutputsLookup(
                blueprint=platform["blueprint"],
                state=platform.get("state"),
                output="escalation_policy_id",
                sensitive=None,
            ),
        ).value, [])
    c = with_defaults(p["on_call"], DEFAULTS["on_call"])
    team = pd.team("team", pd.TeamProps(name=c["team_name"], description=None, parent=None))
    users = []
    for email in c["users"]:
        user = pd.user(f"user-{email}", pd.UserLookup(email=email))
        pd.team_membership(f"membership-{email}", pd.TeamMembershipProps(team=team.id, user=user.id, role="responder"))
        users.append(user.id)
    schedule = pd.schedule(
        "schedule",
        pd.ScheduleProps(
            name=c["schedule_name"],
            time_zone=c["time_zone"],
            description=None,
            layers=[
                pd.ScheduleLayer(
                    name=f"{c['schedule_name']} layer",
                    start=c["start"],
                    end=None,
                    rotation_virtual_start=c["start"],
                    rotation_turn_length_seconds=c["turn_length_hours"] * 3600,
                    users=users,
                    restrictions=None,
                )
            ],
            teams=[team.id],
        ),
    )
    policy = pd.escalation_policy(
        "escalation-policy",
        pd.EscalationPolicyProps(
            name=c["escalation_policy_name"],
            description=None,
            num_loops=2,
            rules=[
                pd.EscalationRule(
                    escalation_delay_in_minutes=c["escalation_delay_minutes"],
                    targets=[pd.EscalationTarget(target_type="schedule_reference", id=schedule.id)],
                )
            ],
            teams=[team.id],
        ),
    ).id
    return policy, [("teams", team.id), ("escalation_policies", policy)]


def dead_letter_queue(topic_name: str, topic_arn: str) -> str:
    """The queue SNS moves an undeliverable page to, and the policy letting it."""
    queue = aws.sqs_queue(
        "dead-letter-queue",
        aws.SqsQueueProps(
            name=f"{topic_name}-undelivered",
            message_retention_seconds=1209600,
            visibility_timeout_seconds=None,
            sqs_managed_sse_enabled=None,
            tags=None,
        ),
    )
    aws.sqs_queue_policy(
        "dead-letter-queue-policy",
        aws.SqsQueuePolicyProps(
            queue_url=queue.url,
            policy=(
                '{"Version":"2012-10-17","Statement":[{"Sid":"SnsDeadLetters","Effect":"Allow",'
                '"Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage",'
                f'"Resource":"{queue.arn}","Condition":{{"ArnEquals":{{"aws:SourceArn":"{topic_arn}"}}}}}}]}}'
            ),
        ),
    )
    return f'{{"deadLetterTargetArn":"{queue.arn}"}}'


class Blueprint(exports.Blueprint):
    def info(self) -> GuestInfo:
        return GuestInfo(
            name="alarm-pagerduty",
            version="0.1.0",
            description=(
                "Any CloudWatch metric alarm notifies an SNS topic subscribed to a PagerDuty CloudWatch "
                "integration; incidents are high urgency in support hours and low outside them."
            ),
        )

    def params_schema(self) -> str:
        return json.dumps(schema())

    def run(self, params_json: str) -> None:
        p = json.loads(params_json)
        names = [a["name"] for a in p["alarms"]]
        if len(set(names)) != len(names):
            raise Err("`alarms` names an alarm twice: each alarm needs its own name")
        hours: Optional[dict[str, Any]] = p.get("support_hours")
        policy, taggable = escalation_policy(p)
        for label in p.get("tags") or []:
            tag = pd.tag(f"tag-{label}", pd.TagProps(label=label))
            for entity_type, entity in taggable:
                pd.tag_assignment(
                    f"tag-{label}-{entity_type}",
                    pd.TagAssignmentProps(tag=tag.id, entity_type=entity_type, entity=entity),
                )
        service = pd.service(
            "service",
            pd.ServiceProps(
                name=p["service_name"],
                description=None,
                escalation_policy=policy,
                acknowledgement_timeout=None,
                auto_resolve_timeout=None,
                alert_creation=None,
                urgency=None,
                support_hours=None if hours is None else pd.SupportHours(
                    time_zone=hours["time_zone"],
                    days_of_week=hours["days_of_week"],
                    start_time=hours["start_time"],
                    end_time=hours["end_time"],
                ),
                urgency_during_support_hours=None,
                urgency_outside_support_hours=None if hours is None else p["urgency_outside_support_hours"],
                raise_urgency_at_support_hours_start=None if hours is None else p["raise_urgency_at_support_hours_start"],
                alert_grouping=alert_grouping(p.get("alert_grouping")),
            ),
        )
        for hook in p.get("webhooks") or []:
            pd.webhook_subscription(
                f"webhook-{hook['name']}",
                pd.WebhookSubscriptionProps(
                    url=hook["url"],
                    events=hook.get("events") or ["incident.triggered", "incident.acknowledged", "incident.resolved"],
                    filter_type="service_reference",
                    filter_id=service.id,
                    description=hook.get("description"),
                    active=None,
                ),
            )
        vendor = pd.vendor("cloudwatch-vendor", pd.VendorLookup(vendor_name="Amazon CloudWatch"))
        integration = pd.service_integration(
            "integration", pd.ServiceIntegrationProps(service=service.id, vendor=vendor.id, integration_name=None)
        )
        topic = aws.sns_topic("topic", aws.SnsTopicProps(name=p["topic_name"], display_name=None, tags=None))
        aws.sns_topic_subscription(
            "pagerduty-subscription",
            aws.SnsTopicSubscriptionProps(
                topic=topic.arn,
                protocol=integration.cloudwatch_protocol,
                endpoint=integration.cloudwatch_endpoint,
                raw_message_delivery=None,
                redrive_policy=dead_letter_queue(p["topic_name"], topic.arn) if p["dead_letter_queue"] else None,
                delivery_policy=None,
            ),
        )
        orchestration(service.id, p.get("orchestration") or [])
        composite = p.get("composite")
        # With a composite alarm, the alarms page through it only.
        actions = [] if composite else [topic.arn]
        declared: dict[str, str] = {}
        for raw in p["alarms"]:
            declared[raw["name"]] = metric_alarm(raw, actions, None if composite else topic.arn)
        if composite:
            aws.cloudwatch_composite_alarm(
                "composite-alarm",
                aws.CloudwatchCompositeAlarmProps(
                    alarm_name=composite["name"],
                    alarm_description=composite.get("description"),
                    alarm_rule=rule_with_references(composite["rule"], declared),
                    actions_enabled=None,
                    alarm_actions=[topic.arn],
                    ok_actions=[topic.arn],
                    insufficient_data_actions=None,
                    tags=None,
                ),
            )


def alert_grouping(raw: Optional[dict[str, Any]]) -> Optional[pd.AlertGrouping]:
    if raw is None:
        return None
    return pd.AlertGrouping(
        grouping_type=raw["type"],
        timeout=raw.get("timeout_minutes"),
        aggregate=raw.get("aggregate"),
        fields=raw.get("fields"),
        # PagerDuty's `time_window` is in seconds.
        time_window=None if raw.get("time_window_minutes") is None else raw["time_window_minutes"] * 60,
    )


def rule_with_references(rule: str, declared: dict[str, str]) -> str:
    """The rule with each alarm declared here named by its token: the composite
    is then made after them (CloudWatch refuses a rule naming a missing alarm)."""
    def swap(m: re.Match[str]) -> str:
        name = m.group(2).strip().strip('"')
        return f'{m.group(1)}("{declared.get(name, name)}")'
    return re.sub(r"\b(ALARM|OK|INSUFFICIENT_DATA)\s*\(([^)]*)\)", swap, rule)


def orchestration(service: str, rules: list[dict[str, Any]]) -> None:
    if not rules:
        return
    pd.event_orchestration_service(
        "orchestration",
        pd.EventOrchestrationServiceProps(
            service=service,
            enable_event_orchestration_for_service=None,
            sets=[pd.OrchestrationSet(id="start", rules=[
                pd.OrchestrationRule(
                    label=r["label"],
                    conditions=[r["condition"]],
                    actions=pd.OrchestrationActions(
                        route_to=None, suppress=True if r.get("suppress") else None, suspend=None,
                        severity=r.get("severity"), event_action=None, priority=None, annotate=None,
                    ),
                    disabled=None,
                )
                for r in rules
            ])],
            catch_all=None,
        ),
    )


def metric_alarm(raw: dict[str, Any], actions: list[str], ok_topic: Optional[str]) -> str:
    """One alarm (a metric, or metric math); its `alarm_name` token."""
    a = with_defaults(raw, {
        "description": None, "statistic": "Average", "period": 60, "evaluation_periods": 1,
        "comparison_operator": "GreaterThanOrEqualToThreshold", "treat_missing_data": "notBreaching",
        "dimensions": [], "ok_action": True, "expression": None, "metrics": {},
    })
    single = a["expression"] is None
    if single and not (a.get("namespace") and a.get("metric_name")):
        raise Err(f"alarm {a['name']}: give namespace and metric_name, or an expression over metrics")
    queries = None
    if not single:
        if not a["metrics"]:
            raise Err(f"alarm {a['name']}: an expression needs the metrics it reads")
        queries = [
            aws.MetricQuery(
                id=mid,
                expression=None,
                metric=aws.MetricStat(
                    metric_name=m["metric_name"], namespace=m["namespace"],
                    dimensions=[aws.Dimension(name=d["name"], value=d["value"]) for d in m.get("dimensions", [])] or None,
                    period=a["period"], stat=m.get("statistic", "Sum"), unit=None,
                ),
                label=None, return_data=False, period=None,
            )
            for mid, m in a["metrics"].items()
        ] + [aws.MetricQuery(id="expression", expression=a["expression"], metric=None,
                             label=a["name"], return_data=True, period=None)]
    return aws.cloudwatch_metric_alarm(
        f"alarm-{a['name']}",
        aws.CloudwatchMetricAlarmProps(
            alarm_name=a["name"],
            alarm_description=a["description"],
            metric_name=a["metric_name"] if single else None,
            namespace=a["namespace"] if single else None,
            statistic=a["statistic"] if single else None,
            period=a["period"] if single else None,
            evaluation_periods=a["evaluation_periods"],
            datapoints_to_alarm=None,
            threshold=float(a["threshold"]),
            comparison_operator=a["comparison_operator"],
            treat_missing_data=a["treat_missing_data"],
            dimensions=([aws.Dimension(name=d["name"], value=d["value"]) for d in a["dimensions"]] or None) if single else None,
            alarm_actions=actions,
            ok_actions=[ok_topic] if a["ok_action"] and ok_topic else None,
            insufficient_data_actions=None,
            tags=None,
            metric_queries=queries,
            threshold_metric_id=None,
        ),
    ).alarm_name
