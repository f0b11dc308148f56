"""moto's standalone server, with Amazon SNS's HTTP(S) delivery modelled.

moto 5.2.5 posts an HTTP(S) notification once, inside the Publish call, and
ignores the answer (moto/sns/models.py, Subscription.publish). Real SNS delivers
asynchronously, retries by the subscription's delivery policy, then moves the
message to the subscription's dead-letter queue or drops it, and counts each
outcome in CloudWatch. This server runs moto with that delivery in its place;
everything else is moto's. Each behaviour and its source:

- Delivery is asynchronous: Publish answers before the endpoint does
  (docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html).
- A 2xx answer is a delivery. 429, 5xx, a refused connection and no answer
  within 15 s are server-side errors, retried by the delivery policy; any other
  4xx is a client-side error, never retried ("Amazon SNS dead-letter queues",
  docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html: "When Amazon
  SNS receives a client-side error, or continues to receive a server-side error
  for a message beyond the number of retries ... Amazon SNS discards the message
  — unless a dead-letter queue is attached").
- The retries: the subscription's `DeliveryPolicy` `healthyRetryPolicy`, else
  the default, "up to three retries with a delay between failed attempts set at
  20 seconds" (SendMessageToHttp.retry.html): `numNoDelayRetries` at once,
  `numMinDelayRetries` `minDelayTarget` apart, the backoff phase from
  `minDelayTarget` to `maxDelayTarget` (linear here whatever `backoffFunction`
  says; SNS also adds jitter, which this model leaves out), then
  `numMaxDelayRetries` `maxDelayTarget` apart.
- A message whose deliveries failed goes to the queue named by the
  subscription's `RedrivePolicy` `deadLetterTargetArn` — only if the queue
  exists and its policy lets `sns.amazonaws.com` `sqs:SendMessage` (for this
  topic, where the statement's `aws:SourceArn` condition names one); the body is
  the notification SNS would have posted (sns-dead-letter-queues.html,
  "Configuring an Amazon SNS dead-letter queue").
- CloudWatch `AWS/SNS` metrics per `TopicName`: `NumberOfNotificationsDelivered`,
  `NumberOfNotificationsFailed` — for HTTP(S) "every failed delivery attempt,
  including retries that follow the initial attempt" —,
  `NumberOfNotificationsRedrivenToDlq`, `NumberOfNotificationsFailedToRedriveToDlq`
  (docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html).

Amazon EventBridge, where moto 5.2.5 has no SNS target and looser rules:

- A rule whose target is an SNS topic publishes each matching event to it — the
  event as JSON, or the target's `Input`, or the part its `InputPath` selects
  ("Amazon EventBridge targets"; API Reference, Target) — asynchronously, after
  PutEvents has answered. It does so only if the topic's policy lets
  `events.amazonaws.com` `sns:Publish` ("Using resource-based policies for
  Amazon EventBridge", section "Amazon SNS permissions": "To allow EventBridge to
  publish to an Amazon SNS topic, use ... set-topic-attributes"); otherwise the
  invocation fails.
- CloudWatch `AWS/Events` metrics per `RuleName`: `TriggeredRules`,
  `Invocations` and `FailedInvocations` ("Monitoring Amazon EventBridge",
  docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html).
- A `DISABLED` rule matches nothing ("DisableRule: A disabled rule won't match
  any events"), and a rule with only a schedule matches no event (moto matches
  every event to a rule without a pattern).
- A pattern's field matches inside arrays of objects: `{"containers":
  {"exitCode": [...]}}` reads the `exitCode` of every element of the event's
  `containers` list, and matches if one does ("Arrays in Amazon EventBridge
  event patterns"; aws/event-ruler, "Arrays"). moto stops at the array.
- TestEventPattern answers whether an event matches a pattern (API Reference,
  TestEventPattern; moto leaves it unimplemented), by moto's own matcher.

Amazon CloudWatch alarms, where moto 5.2.5 runs no action and knows no
composite alarm:

- An alarm that changes state runs the actions of its new state (`AlarmActions`
  on ALARM, `OKActions` on OK, `InsufficientDataActions`), when its actions are
  enabled; an SNS action publishes the alarm's notification, JSON with
  `AlarmName`, `NewStateValue`, `OldStateValue`, `Trigger`..., under the subject
  `ALARM: "<name>" in <region>` ("Using Amazon CloudWatch alarms", section
  "Alarm actions": "alarms invoke actions only when the alarm changes state";
  "Amazon SNS notification" payload as in the user guide's example). Setting a
  state with SetAlarmState is a change like any other (API Reference,
  SetAlarmState).
- PutCompositeAlarm stores an alarm over other alarms' states. It refuses a rule
  that names alarms which do not exist: "Could not save the composite alarm as
  alarms [...] in the alarm rule do not exist" (the error CloudFormation users
  meet, awsdocs/aws-cloudformation-user-guide#911), and a rule it cannot read:
  "Error in AlarmRule [Unsupported token ...]" (aws/aws-cdk#34662).
- A composite alarm is evaluated when one of its children changes state, and
  changes state (running its actions) when its rule's value changes ("Creating
  a composite alarm"). SetAlarmState on a composite holds until a child changes
  (API Reference, SetAlarmState).
- DescribeAlarms answers composite alarms only when `AlarmTypes` asks for them
  ("If you omit this parameter, only metric alarms are returned").

Amazon CloudWatch Logs, where moto 5.2.5 ignores a filter:

- DescribeLogGroups with `logGroupIdentifiers` answers only the groups it
  names, 1 to 50 of them, and refuses it beside `logGroupNamePrefix` or
  `logGroupNamePattern` (API Reference, DescribeLogGroups: "If you specify this
  parameter, the only other filter that you can choose to specify is
  includeLinkedAccounts"; "Array Members: Minimum number of 1 item. Maximum
  number of 50 items"). In an account that is not a monitoring account it takes
  log group names ("you can specify only log group names in the same account").

IAM policies are enforced as AWS evaluates them once auth is on
(`authorization.py`: each call against its documented resource ARN).

Run as moto_server is: `python tests/moto/server.py -H 127.0.0.1 -p PORT`.
"""

import io
import json
import logging
import os
import selectors
import sys
import threading
import time
import types

import requests
from werkzeug import serving as werkzeug_serving

import authorization
import re

from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch import responses as cloudwatch_responses
from moto.cloudwatch.exceptions import ValidationError as CloudWatchValidationError
from moto.cloudwatch.models import cloudwatch_backends
import moto.server as moto_server_module
from moto import backends as moto_backends
from moto.moto_server import werkzeug_app as moto_werkzeug_app
from moto.server import main
from moto.sns import models as sns_models
from moto.sqs.models import sqs_backends
from moto.events import models as events_models
from moto.events import responses as events_responses
from moto.logs import responses as logs_responses
from moto.logs.exceptions import InvalidParameterException as LogsInvalidParameter

# SNS waits 15 s for an HTTP(S) endpoint's answer (Amazon SNS quotas:
# "HTTP/S ... timeout 15 seconds").
ATTEMPT_TIMEOUT_SECONDS = 15

DEFAULT_RETRY_POLICY = {
    "numRetries": 3,
    "numNoDelayRetries": 0,
    "numMinDelayRetries": 0,
    "numMaxDelayRetries": 0,
    "minDelayTarget": 20,
    "maxDelayTarget": 20,
}

_moto_publish = sns_models.Subscription.publish


def retry_delays(policy):
    """The pause before each retry, in seconds, by the healthy retry policy."""
    p = dict(DEFAULT_RETRY_POLICY)
    p.update({k: v for k, v in (policy or {}).items() if isinstance(v, int)})
    total = max(0, p["numRetries"])
    no_delay = min(total, max(0, p["numNoDelayRetries"]))
    at_min = min(total - no_delay, max(0, p["numMinDelayRetries"]))
    at_max = min(total - no_delay - at_min, max(0, p["numMaxDelayRetries"]))
    backoff = total - no_delay - at_min - at_max
    low, high = p["minDelayTarget"], max(p["minDelayTarget"], p["maxDelayTarget"])
    delays = [0] * no_delay + [low] * at_min
    for i in range(backoff):
        delays.append(low + (high - low) * (i + 1) / backoff)
    return delays + [high] * at_max


def attempt(endpoint, body, content_type):
    """'ok', 'retry' (server-side error) or 'client' (a 4xx other than 429)."""
    try:
        answer = requests.post(
            endpoint,
            data=body,
            headers={"Content-Type": content_type},
            timeout=ATTEMPT_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        return "retry"
    if 200 <= answer.status_code < 300:
        return "ok"
    if answer.status_code == 429 or answer.status_code >= 500:
        return "retry"
    return "client"


def count(subscription, metric):
    topic = subscription.topic
    backend = cloudwatch_backends[subscription.account_id][topic.sns_backend.region_name]
    backend.put_metric_data(
        "AWS/SNS",
        [
            {
                "MetricName": metric,
                "Value": 1.0,
                "Unit": "Count",
                "Dimensions": [{"Name": "TopicName", "Value": topic.name}],
            }
        ],
    )


def queue_allows_sns(queue, topic_arn):
    """Whether the queue's policy lets SNS send this topic's messages to it."""
    try:
        policy = json.loads(queue.policy or "{}")
    except (TypeError, ValueError):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for s in statements:
        if s.get("Effect") != "Allow":
            continue
        principal = s.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if principal != "*" and "sns.amazonaws.com" not in services:
            continue
        actions = s.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sqs:SendMessage", "sqs:*", "*") for a in actions):
            continue
        source = None
        for op in ("ArnEquals", "ArnLike", "StringEquals", "StringLike"):
            source = source or s.get("Condition", {}).get(op, {}).get("aws:SourceArn")
        if source is None or topic_arn in ([source] if isinstance(source, str) else source):
            return True
    return False


def redrive(subscription, body):
    try:
        target = json.loads(subscription.attributes.get("RedrivePolicy") or "{}")
    except ValueError:
        target = {}
    arn = target.get("deadLetterTargetArn")
    if not arn:
        return
    parts = arn.split(":")
    try:
        backend = sqs_backends[parts[4]][parts[3]]
        queue = backend.get_queue(parts[5])
    except Exception:  # the queue is gone: SNS cannot redrive
        count(subscription, "NumberOfNotificationsFailedToRedriveToDlq")
        return
    if not queue_allows_sns(queue, subscription.topic.arn):
        count(subscription, "NumberOfNotificationsFailedToRedriveToDlq")
        return
    backend.send_message(parts[5], body)
    count(subscription, "NumberOfNotificationsRedrivenToDlq")


def deliver(subscription, body, content_type):
    try:
        policy = json.loads(subscription.attributes.get("DeliveryPolicy") or "{}")
    except ValueError:
        policy = {}
    delays = retry_delays(policy.get("healthyRetryPolicy"))
    outcome = attempt(subscription.endpoint, body, content_type)
    for pause in delays:
        if outcome != "retry":
            break
        count(subscription, "NumberOfNotificationsFailed")
        time.sleep(pause)
        outcome = attempt(subscription.endpoint, body, content_type)
    if outcome == "ok":
        count(subscription, "NumberOfNotificationsDelivered")
        return
    # The message is in the queue by the time the last failure is counted
    # (SNS's metrics arrive a minute or more later).
    redrive(subscription, body)
    count(subscription, "NumberOfNotificationsFailed")


def publish(self, message, message_id, subject=None, message_attributes=None,
            group_id=None, deduplication_id=None, message_structure=None):
    if self.protocol not in ("http", "https"):
        return _moto_publish(self, message, message_id, subject=subject,
                             message_attributes=message_attributes, group_id=group_id,
                             deduplication_id=deduplication_id,
                             message_structure=message_structure)
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
        message_attributes, message
    ):
        return None
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    body = json.dumps(self.get_post_data(message, message_id, subject))
    try:
        request_policy = json.loads(self.attributes.get("DeliveryPolicy") or "{}").get(
            "requestPolicy", {}
        )
    except ValueError:
        request_policy = {}
    content_type = request_policy.get("headerContentType", "text/plain; charset=UTF-8")
    threading.Thread(target=deliver, args=(self, body, content_type), daemon=True).start()
    return None


sns_models.Subscription.publish = publish

# ----- EventBridge -----

_moto_send_to_targets = events_models.Rule.send_to_targets


def count_rule(rule, metric):
    backend = cloudwatch_backends[rule.account_id][rule.region_name]
    backend.put_metric_data(
        "AWS/Events",
        [
            {
                "MetricName": metric,
                "Value": 1.0,
                "Unit": "Count",
                "Dimensions": [{"Name": "RuleName", "Value": rule.name}],
            }
        ],
    )


def topic_allows_events(topic):
    """Whether the topic's policy lets EventBridge publish to it."""
    try:
        policy = json.loads(topic.policy or "{}")
    except (TypeError, ValueError):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for s in statements:
        if s.get("Effect") != "Allow":
            continue
        principal = s.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if "events.amazonaws.com" not in services:
            continue
        actions = s.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if any(a.lower() in ("sns:publish", "sns:*") or a == "*" for a in actions):
            resources = s.get("Resource", "*")
            resources = [resources] if isinstance(resources, str) else resources
            if "*" in resources or topic.arn in resources:
                return True
    return False


def target_input(target, event):
    """What the target is sent: Input, the InputPath's part, or the event."""
    if target.get("Input"):
        return target["Input"]
    path = target.get("InputPath")
    if path:
        value = event
        for key in [k for k in path.lstrip("$").split(".") if k]:
            value = value.get(key) if isinstance(value, dict) else None
        return json.dumps(value)
    return json.dumps(event)


def invoke_topic(rule, target, event):
    parts = target["Arn"].split(":")
    try:
        backend = sns_models.sns_backends[parts[4]][parts[3]]
        topic = backend.get_topic(target["Arn"])
    except Exception:  # the topic is gone
        count_rule(rule, "FailedInvocations")
        return
    if not topic_allows_events(topic):
        print(f"EventBridge rule {rule.name}: {target['Arn']} does not let "
              "events.amazonaws.com sns:Publish", file=sys.stderr)
        count_rule(rule, "FailedInvocations")
        return
    backend.publish(target_input(target, event), arn=target["Arn"])
    count_rule(rule, "Invocations")


class _OtherTargets:
    """The rule as moto's delivery sees it: without the SNS targets it lacks."""

    def __init__(self, rule, targets):
        self._rule = rule
        self.targets = targets

    def __getattr__(self, name):
        return getattr(self._rule, name)


def send_to_targets(self, original_event, transform_input=True):
    if self.state != "ENABLED" or self.event_pattern.dump() is None:
        return
    if not self.event_pattern.matches_event(original_event):
        return
    count_rule(self, "TriggeredRules")
    topics = [t for t in self.targets if t["Arn"].split(":")[2] == "sns"]
    others = [t for t in self.targets if t["Arn"].split(":")[2] != "sns"]
    for target in topics:
        threading.Thread(
            target=invoke_topic, args=(self, dict(target), dict(original_event)), daemon=True
        ).start()
    if others:
        _moto_send_to_targets(_OtherTargets(self, others), original_event, transform_input)


def test_event_pattern(self):
    pattern = events_models.EventPattern.load(self._get_param("EventPattern"))
    event = json.loads(self._get_param("Event"))
    return json.dumps({"Result": pattern.matches_event(event)}), self.response_headers


def flatten(node, prefix="", result=None):
    """An event's fields by dotted path; a list of objects contributes each
    element's fields, gathered into a list per path."""
    if result is None:
        result = {}
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict) and v:
                flatten(v, key, result)
            elif isinstance(v, list) and any(isinstance(e, dict) for e in v):
                for element in v:
                    for path, value in flatten(element, key).items():
                        values = result.setdefault(path, [])
                        values.extend(value if isinstance(value, list) else [value])
            else:
                result[key] = v
    return result


# ----- CloudWatch alarms -----

RULE_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<word>AND|OR|NOT|TRUE|FALSE)(?![A-Za-z0-9_])"
    r"|(?P<state>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:\"(?P<quoted>[^\"]*)\"|(?P<bare>[^\s)]+))\s*\))"
)


def parse_rule(rule):
    """The rule as (kind, value) tokens, or a ValidationError as CloudWatch words it."""
    tokens, at = [], 0
    text = rule.rstrip()
    while at < len(text):
        m = RULE_TOKEN.match(text, at)
        if not m:
            bad = text[at:].lstrip()[:1]
            raise CloudWatchValidationError(
                f"Error in AlarmRule [Unsupported token '{bad}' at char {at}]")
        at = m.end()
        if m.group("state"):
            tokens.append(("state", (m.group("state"), m.group("quoted") or m.group("bare"))))
        else:
            tokens.append(("op", m.group("open") or m.group("close") or m.group("word")))
    return tokens


def child_name(reference):
    return reference.split(":alarm:", 1)[1] if reference.startswith("arn:") and ":alarm:" in reference else reference


def eval_rule(tokens, state_of):
    """NOT over AND over OR, as CloudWatch reads a rule."""
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else (None, None)

    def term():
        nonlocal pos
        kind, value = peek()
        pos += 1
        if kind == "state":
            return state_of(child_name(value[1])) == value[0]
        if value == "NOT":
            return not term()
        if value in ("TRUE", "FALSE"):
            return value == "TRUE"
        if value == "(":
            inner = disjunction()
            pos += 1  # ")"
            return inner
        raise CloudWatchValidationError(f"Error in AlarmRule [Unsupported token '{value}']")

    def conjunction():
        nonlocal pos
        value = term()
        while peek() == ("op", "AND"):
            pos += 1
            value = term() and value
        return value

    def disjunction():
        nonlocal pos
        value = conjunction()
        while peek() == ("op", "OR"):
            pos += 1
            value = conjunction() or value
        return value

    return disjunction()


def put_composite_alarm(self):
    rule = self._get_param("AlarmRule") or ""
    tokens = parse_rule(rule)
    eval_rule(tokens, lambda name: "OK")  # the grammar, before anything is saved
    alarms = self.cloudwatch_backend.alarms
    missing = [value[1] for kind, value in tokens
               if kind == "state" and child_name(value[1]) not in alarms]
    if missing:
        raise CloudWatchValidationError(
            f"Could not save the composite alarm as alarms [{', '.join(missing)}] "
            "in the alarm rule do not exist")
    result = self.put_metric_alarm()
    alarm = alarms.get(self._get_param("AlarmName"))
    if alarm is not None:
        evaluate_composite(self.cloudwatch_backend, alarm)
    return result


_moto_describe_alarms = cloudwatch_responses.CloudWatchResponse.describe_alarms


def describe_alarms(self):
    result = _moto_describe_alarms(self)
    types = self._get_param("AlarmTypes", []) or ["MetricAlarm"]
    body = getattr(result, "result", None)
    if isinstance(body, dict):
        if "CompositeAlarm" not in types:
            body["CompositeAlarms"] = []
        if "MetricAlarm" not in types:
            body["MetricAlarms"] = []
    return result


def alarm_backend(alarm):
    account = alarm.alarm_arn.split(":")[4]
    return cloudwatch_backends[account][alarm.region_name]


def notification(alarm, old_state):
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": alarm.alarm_arn.split(":")[4],
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_timestamp.strftime(
            "%Y-%m-%dT%H:%M:%S.000+0000"),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": alarm.state_updated_timestamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "Region": alarm.region_name,
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
    }
    if alarm.rule is not None:
        message["AlarmRule"] = alarm.rule
    else:
        message["Trigger"] = {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "Statistic",
            "Statistic": (alarm.statistic or "").upper() or None,
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "Dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
        }
    return message


def run_actions(alarm, old_state):
    if not alarm.actions_enabled:
        return
    actions = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }.get(alarm.state_value) or []
    subject = f'{alarm.state_value}: "{alarm.name}" in {alarm.region_name}'
    body = json.dumps(notification(alarm, old_state))
    for action in actions:
        parts = action.split(":")
        if len(parts) < 6 or parts[2] != "sns":
            continue
        try:
            sns_models.sns_backends[parts[4]][parts[3]].publish(body, arn=action, subject=subject)
        except Exception as e:  # the topic is gone: CloudWatch records a failed action
            print(f"alarm {alarm.name}: action {action} failed: {e}", file=sys.stderr)


def evaluate_composite(backend, composite):
    """Set a composite alarm to what its rule says of its children now."""
    try:
        tokens = parse_rule(composite.rule)
        firing = eval_rule(tokens, lambda name: getattr(backend.alarms.get(name), "state_value", None))
    except CloudWatchValidationError:
        return
    wanted = "ALARM" if firing else "OK"
    if composite.state_value != wanted:
        composite.update_state(f"the rule is {'TRUE' if firing else 'FALSE'}", "{}", wanted)


_moto_update_state = cloudwatch_models.Alarm.update_state


def update_state(self, reason, reason_data, state_value):
    old = self.state_value
    _moto_update_state(self, reason, reason_data, state_value)
    if old == state_value:
        return
    run_actions(self, old)
    backend = alarm_backend(self)
    for other in list(backend.alarms.values()):
        if other.rule is not None and other is not self and any(
            kind == "state" and child_name(value[1]) == self.name
            for kind, value in (parse_rule_quietly(other.rule))
        ):
            evaluate_composite(backend, other)


def parse_rule_quietly(rule):
    try:
        return parse_rule(rule)
    except CloudWatchValidationError:
        return []


_moto_describe_log_groups = logs_responses.LogsResponse.describe_log_groups


def describe_log_groups(self):
    identifiers = self._get_param("logGroupIdentifiers")
    if identifiers is None:
        return _moto_describe_log_groups(self)
    if not 1 <= len(identifiers) <= 50:
        raise LogsInvalidParameter(
            constraint="Member must have length between 1 and 50",
            parameter="logGroupIdentifiers",
            value=identifiers,
        )
    if self._get_param("logGroupNamePrefix") or self._get_param("logGroupNamePattern"):
        raise LogsInvalidParameter(
            "If you specify logGroupIdentifiers, the only other filter that you can "
            "choose to specify is includeLinkedAccounts"
        )
    wanted = set(identifiers)
    groups = [g for name, g in sorted(self.logs_backend.groups.items()) if name in wanted]
    return json.dumps({"logGroups": [g.to_describe_dict() for g in groups]})


cloudwatch_models.Alarm.update_state = update_state
cloudwatch_responses.CloudWatchResponse.put_composite_alarm = put_composite_alarm
cloudwatch_responses.CloudWatchResponse.describe_alarms = describe_alarms

logs_responses.LogsResponse.describe_log_groups = describe_log_groups
events_models.EventPattern._flatten_dict = staticmethod(flatten)
events_models.Rule.send_to_targets = send_to_targets
events_responses.EventsHandler.test_event_pattern = test_event_pattern
authorization.install()


# Serving speed, not behaviour: a lost-state plan of 100 services asks moto
# ~1,100 questions and moto's one process (one core, the GIL) answers them.
# Sampled with py-spy, a quarter of its time went to werkzeug's access log
# line per request (a handler lock every thread takes), a tenth to
# `list_of_moto_modules`, which lists moto's package folder on every request
# to route it, and more to a new connection (and thread) per request. The log
# is kept behind MOTO_ACCESS_LOG=1; the folder list is read once (the
# installed package does not change while the server runs); connections are
# kept, as AWS's endpoints keep them.
if not os.environ.get("MOTO_ACCESS_LOG"):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
_moto_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _moto_modules


class KeepAliveRequestHandler(moto_werkzeug_app.MotoRequestHandler):
    """Werkzeug's server closes every connection after one answer: http.server
    cannot drain a body the app left unread before it reads the next request
    line (werkzeug/serving.py, "Always close the connection"). This handler
    reads each request's body whole before the app runs, so the stream stands
    at the next request, and keeps the connection when the HTTP/1.1 client
    did not ask to close it (HTTP/1.1 connections persist unless either side
    sends "Connection: close": RFC 9112, section 9.3)."""

    def make_environ(self):
        environ = super().make_environ()
        if environ.get("wsgi.input_terminated"):  # chunked: read to its end
            body = environ["wsgi.input"].read()
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = self.rfile.read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return environ

    def send_header(self, keyword, value):
        # `close_connection` is False when parse_request read an HTTP/1.1
        # request without "Connection: close"; werkzeug's own error paths set
        # it True, and then the header goes out.
        closing = keyword.lower() == "connection" and value.lower() == "close"
        if closing and not self.close_connection:
            return
        super().send_header(keyword, value)


class _NothingLeftToDrain:
    """After each answer werkzeug drains what the client still sends, for up
    to 10 ms, reading until the socket ends (serving.py, run_wsgi's `finally`:
    "If we supported keep-alive connections, this naive approach would break
    by reading the next request line"). KeepAliveRequestHandler has read the
    body whole, so there is nothing to drain, and the next request is not
    swallowed."""

    def register(self, *_):
        pass

    def select(self, timeout=None):
        return []

    def close(self):
        pass


moto_server_module.MotoRequestHandler = KeepAliveRequestHandler
werkzeug_serving.selectors = types.SimpleNamespace(
    DefaultSelector=_NothingLeftToDrain, EVENT_READ=selectors.EVENT_READ
)


if __name__ == "__main__":
    sys.exit(main())
