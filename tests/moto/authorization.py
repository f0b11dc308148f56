"""IAM authorization as AWS evaluates it, where moto 5.2.5 is looser.

moto enforces identity-based policies once `INITIAL_NO_AUTH_ACTION_COUNT`
requests have been served (`POST /moto-api/reset-auth` sets the count), but:

- every service but S3, SQS and IAM authorizes against the resource `*`
  (moto/core/responses.py, `call_action`), and SQS and IAM do too for a
  resource that does not exist yet — so a policy scoped to an ARN denies every
  SNS, CloudWatch, CloudWatch Logs and Lambda call, and every create;
- CloudWatch's actions are named after its signing name, `monitoring:*`, where
  IAM names them `cloudwatch:*`;
- `lambda:CreateFunction` never asks for `iam:PassRole` on the function's role.

This module replaces moto's check with one that authorizes each call against
the ARN AWS documents for it (the Service Authorization Reference,
docs.aws.amazon.com/service-authorization/latest/reference/, "Actions defined
by ..." for each service: Amazon SNS, Amazon CloudWatch, Amazon CloudWatch Logs,
AWS Lambda, Amazon SQS, Amazon EventBridge, AWS IAM, Amazon S3), with the action's IAM name, and
asks for `iam:PassRole` where Lambda does ("Lambda execution role": "To create
a function, you need ... iam:PassRole", docs.aws.amazon.com/lambda/latest/dg/
lambda-intro-execution-role.html). Where the reference lists no resource type
for an action (list and describe calls that take no resource, metric reads),
the call is authorized against `*`, as AWS does. Each denial is also a line on the server's stderr. A denial names the action and
the resource, in the words AWS uses ("User: ARN is not authorized to perform:
ACTION on resource: ARN because no identity-based policy allows the ACTION
action").

Policy evaluation itself (Allow and Deny, wildcards in actions and resources)
is moto's (`IAMPolicy.is_action_permitted`). Condition keys are not modelled:
moto evaluates no request context, so a statement with a `Condition` denies.

With `MOTO_AUTHORIZED_LOG=PATH` set, every call authorized is appended to
PATH as a JSON line `{"key": ACCESS_KEY_ID, "action": ..., "resource": ...}`:
the tests read which actions a command needed.
"""

import json
import os
import sys
import threading
from xml.sax.saxutils import escape

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult
from moto.s3.exceptions import S3ClientError
from moto.utilities.utils import get_partition

# Signing names that differ from the IAM service prefix.
IAM_PREFIX = {"monitoring": "cloudwatch"}

# S3 API calls whose IAM action has another name (moto names the action after
# the API call): HeadBucket is authorized as s3:ListBucket (API_HeadBucket.html).
S3_ACTIONS = {"HeadBucket": "ListBucket"}

# Calls AWS accepts without a signature: SNS's SubscribeURL is visited by the
# endpoint (here: the PagerDuty emulator), which holds no AWS credentials
# (docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html).
UNSIGNED = {"sns:ConfirmSubscription"}

# Calls that need no permission at all (STS GetCallerIdentity: "No permissions
# are required to perform this operation", API_GetCallerIdentity.html).
NO_PERMISSION = {"sts:GetCallerIdentity"}

_lock = threading.Lock()
_log = os.environ.get("MOTO_AUTHORIZED_LOG")


def _record(key, action, resource):
    if not _log:
        return
    line = json.dumps({"key": key, "action": action, "resource": resource})
    with _lock, open(_log, "a") as f:
        f.write(line + "\n")


def access_denied(response, service, user_arn, action, resource):
    """AccessDenied in the request's protocol: JSON for the JSON and REST-JSON
    services (CloudWatch Logs, SQS, Lambda), XML for the query ones."""
    message = denial(user_arn, action, resource)
    content_type = response.headers.get("Content-Type", "") or ""
    if "json" in content_type or service == "lambda":
        error = JsonRESTError("AccessDeniedException", message)
    else:
        # The query protocol's error document (ErrorResponse/Error, as IAM, SNS
        # and CloudWatch answer; moto's own nests it in Errors, which the
        # SDKs' query parsers do not read).
        error = _RESTError("AccessDenied", message)
        error.description = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        )
    error.code = 403
    return error


def denial(user_arn, action, resource):
    return (
        f"User: {user_arn} is not authorized to perform: {action} on resource: "
        f"{resource} because no identity-based policy allows the {action} action"
    )


def param(response, name):
    try:
        value = response._get_param(name)
    except Exception:
        value = None
    if value is None and response.body:
        try:
            value = json.loads(response.body).get(name)
        except (ValueError, AttributeError, TypeError):
            value = None
    return value


def params_list(response, name):
    value = param(response, name)
    if isinstance(value, list):
        return [str(v) for v in value]
    if value:
        return [str(value)]
    try:
        return [str(v) for v in response._get_multi_param(f"{name}.member")]
    except Exception:
        return []


def resources(response, service, action):
    """The ARNs AWS authorizes this call against (`*` where none is documented)."""
    partition = get_partition(response.region)
    region, account = response.region, response.current_account

    def arn(svc, rest, with_region=True):
        where = f"{region}:{account}" if with_region else f":{account}"
        return f"arn:{partition}:{svc}:{where}:{rest}"

    if service == "sns":
        if action == "CreateTopic":
            return [arn("sns", param(response, "Name"))]
        if action in ("Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes"):
            sub = param(response, "SubscriptionArn") or "*"
            return [sub.rsplit(":", 1)[0]]
        if action in ("TagResource", "UntagResource", "ListTagsForResource"):
            return [param(response, "ResourceArn") or "*"]
        topic = param(response, "TopicArn")
        return [topic] if topic else ["*"]
    if service == "cloudwatch":
        if action in ("PutMetricAlarm", "PutCompositeAlarm", "SetAlarmState"):
            return [arn("cloudwatch", f"alarm:{param(response, 'AlarmName')}")]
        if action == "DeleteAlarms":
            return [arn("cloudwatch", f"alarm:{n}") for n in params_list(response, "AlarmNames")]
        if action in ("TagResource", "UntagResource", "ListTagsForResource"):
            return [param(response, "ResourceARN") or "*"]
        return ["*"]  # DescribeAlarms, GetMetricStatistics
    if service == "logs":
        group = param(response, "logGroupName")
        if action in ("TagResource", "UntagResource", "ListTagsForResource"):
            resource = param(response, "resourceArn") or "*"
            return [resource[:-2] if resource.endswith(":*") else resource]
        if action in ("CreateLogStream", "PutLogEvents"):
            stream = param(response, "logStreamName")
            return [arn("logs", f"log-group:{group}:log-stream:{stream}")]
        if group and action not in ("DescribeLogGroups", "DescribeMetricFilters"):
            return [arn("logs", f"log-group:{group}")]
        return ["*"]  # DescribeLogGroups, DescribeMetricFilters, TestMetricFilter
    if service == "lambda":
        match = response.uri_match or {}
        target = match.get("resource_arn")
        if target:
            return [target]
        name = match.get("function_name") or param(response, "FunctionName")
        if not name:
            return ["*"]
        if name.startswith("arn:"):
            return [name]
        return [arn("lambda", f"function:{name}")]
    if service == "sqs":
        name = param(response, "QueueName")
        if not name:
            url = param(response, "QueueUrl") or ""
            name = url.rstrip("/").rsplit("/", 1)[-1] if url else None
        return [arn("sqs", name)] if name else ["*"]
    if service == "events":
        if action in ("TagResource", "UntagResource", "ListTagsForResource"):
            return [param(response, "ResourceARN") or "*"]
        if action == "PutEvents":
            buses = {e.get("EventBusName") or "default" for e in param(response, "Entries") or []}
            return [b if b.startswith("arn:") else arn("events", f"event-bus/{b}") for b in sorted(buses)]
        rule = param(response, "Name") or param(response, "Rule")
        return [arn("events", f"rule/{rule}")] if rule else ["*"]  # ListRules, TestEventPattern
    if service == "iam":
        role = param(response, "RoleName")
        if role:
            path = param(response, "Path") or "/"
            try:
                return [response.backend.get_role(role).arn]
            except Exception:
                return [f"arn:{partition}:iam::{account}:role{path}{role}"]
        return ["*"]
    return None  # moto's own resource (S3: the bucket or object)


def implied(response, service, action):
    """Further (action, resource) pairs a call needs: Lambda passes the role."""
    if service == "lambda" and action in ("CreateFunction", "UpdateFunctionConfiguration"):
        role = param(response, "Role")
        if role:
            return [("iam:PassRole", role)]
    return []


def permitted(iam_request, action, resource):
    result = False
    for policy in iam_request._access_key.collect_policies():
        outcome = IAMPolicy(policy).is_action_permitted(action, resource)
        if outcome == PermissionResult.DENIED:
            return False
        if outcome == PermissionResult.PERMITTED:
            result = True
    return result


def authorize(self, iam_request_cls, resource="*"):
    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return
    if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
        return
    name = self._get_action()
    name = name[0] if isinstance(name, list) else name
    if "Authorization" not in self.headers:
        service = getattr(self, "service_name", "")
        if f"{IAM_PREFIX.get(service, service)}:{name}" in UNSIGNED:
            return
    path = self.raw_path
    query = self.uri.split("?", 1)[1] if "?" in self.uri else ""
    if query:
        path += "?" + query
    iam_request = iam_request_cls(
        account_id=self.current_account,
        method=self.method,
        path=path,
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action=name,
    )
    # The signature is over the bytes sent: moto recomputes it from the parsed
    # params where the body is empty (a GET, or a form werkzeug consumed),
    # which re-encodes them (spaces, order) and never matches the SDK's.
    iam_request._body = getattr(self, "_signed_body", None) or b""
    iam_request._data = {}
    try:
        iam_request.check_signature()
    except Exception as e:
        print(f"authorization: signature refused for {name}: {type(e).__name__}", file=sys.stderr, flush=True)
        raise
    signing, _, action_name = iam_request._action.partition(":")
    service = IAM_PREFIX.get(signing, signing)
    if service == "s3":
        action_name = S3_ACTIONS.get(action_name, action_name)
    action = f"{service}:{action_name}"
    if action in NO_PERMISSION:
        return
    needs = [(action, r) for r in (resources(self, service, action_name) or [resource])]
    needs += implied(self, service, action_name)
    key = iam_request._access_key._access_key_id
    for needed, on in needs:
        if not permitted(iam_request, needed, on):
            print(f"authorization: denied {key} {needed} on {on}", file=sys.stderr, flush=True)
            if iam_request_cls is IAMRequest:
                raise access_denied(self, service, iam_request._access_key.arn, needed, on)
            raise S3ClientError(
                "AccessDenied", denial(iam_request._access_key.arn, needed, on)
            )
        _record(key, needed, on)


def install():
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize
    setup_class = BaseResponse.setup_class

    def keeping_the_body(self, request, *args, **kwargs):
        # Read the body before werkzeug parses a form out of it (its form
        # parser reads the cached bytes): the signature covers these bytes.
        if ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT:
            self._signed_body = request.get_data(cache=True)
        return setup_class(self, request, *args, **kwargs)

    BaseResponse.setup_class = keeping_the_body
