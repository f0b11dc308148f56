#!/usr/bin/env python3
"""Validate recorded PagerDuty exchanges (the emulator's --record JSON lines)
against PagerDuty's published OpenAPI documents — REST v2 and Events API v2: every
request the provider sent and every response the emulator gave.

Usage: validate.py RECORD.jsonl [SPEC_DIR]   (SPEC_DIR default: ../shared/pagerduty-api
beside the repository). Exits 1 listing each violation.
"""
import json
import os
import sys
from urllib.parse import parse_qsl

from jsonschema import Draft4Validator
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Operations PagerDuty serves that its published document omits, each with why we
# rely on it. Everything else must be in the document.
UNDOCUMENTED = {
    ("DELETE", "/services/{id}/integrations/{integration_id}"):
        "removing one integration from a service (terraform-provider-pagerduty does the same)",
}


# Answers PagerDuty gives with a status the document does not list for that
# operation, each with where it is seen. Their bodies must still have the
# document's generic error shape (components/responses/Conflict's schema, which
# its InternalServerError and NotFound responses share).
UNDOCUMENTED_STATUS = {
    ("DELETE", "/teams/{id}", 400):
        "deleteTeam 'succeeds only if the team has no associated Escalation Policies, Services, "
        "Schedules and Subteams'; the refusal is 400 code 6006 (terraform-provider-pagerduty #358)",
    ("DELETE", "/escalation_policies/{id}", 400):
        "a policy still used by a service (terraform-provider-pagerduty retries this 400 in "
        "resource_pagerduty_escalation_policy.go)",
    ("*", "*", 500):
        "PagerDuty can answer 500 on any operation (terraform-provider-pagerduty PR #724 quotes one "
        "on POST /service_dependencies/associate); the document defines InternalServerError",
}


def matches(pattern, path):
    p, parts = pattern.strip("/").split("/"), path.strip("/").split("/")
    return len(p) == len(parts) and all(a == b or a.startswith("{") for a, b in zip(p, parts))


def documented_status(doc, method, path, status):
    """Whether the document lists this status (or a default) for the operation."""
    for pattern, item in doc["paths"].items():
        if matches(pattern, path) and method.lower() in item:
            responses = item[method.lower()].get("responses", {})
            return str(status) in responses or "default" in responses
    return True  # an unknown operation is reported by openapi-core itself


def allowed_undocumented(method, path, status):
    for (m, pattern, s), _ in UNDOCUMENTED_STATUS.items():
        if s == status and (m == "*" or m == method) and (pattern == "*" or matches(pattern, path)):
            return True
    return False


def undocumented(method, path):
    parts = path.strip("/").split("/")
    for (m, pattern), _ in UNDOCUMENTED.items():
        p = pattern.strip("/").split("/")
        if m == method and len(p) == len(parts) and all(a == b or a.startswith("{") for a, b in zip(p, parts)):
            return True
    return False


class Req:
    def __init__(self, ex, host):
        self.host_url = host
        self.path = ex["path"]
        self.method = ex["method"].lower()
        headers = dict(ex.get("request_headers") or {})
        headers.setdefault("accept", "application/vnd.pagerduty+json;version=2")
        headers["Authorization"] = "Token token=recorded"
        self.parameters = RequestParameters(
            query=ImmutableMulti(parse_qsl(ex.get("query") or "")), header=Headers(headers), cookie={}, path={})
        body = ex.get("request_body")
        self.content_type = "application/json"
        self.body = None if body is None else json.dumps(body).encode()

    @property
    def full_url_pattern(self):
        return self.host_url + self.path


class Resp:
    def __init__(self, ex):
        self.status_code = ex["status"]
        self.content_type = "application/json"
        body = ex.get("response_body")
        self.data = b"" if body is None else json.dumps(body).encode()
        self.headers = {"content-type": "application/json"}


class ImmutableMulti(dict):
    """What openapi-core expects of a query: a mapping with getall/getlist."""

    def __init__(self, pairs):
        super().__init__()
        self._pairs = pairs
        for k, v in pairs:
            self.setdefault(k, v)

    def getall(self, key):
        return [v for k, v in self._pairs if k == key]

    getlist = getall


# Flaws of the published document itself, corrected before validating, each with
# why: a real PagerDuty answer would fail without the correction too.
def correct(doc):
    # `Channel` is a oneOf of channel shapes whose `type` has no enum and whose
    # other fields are all optional, so every channel object (`{"type": "api"}`)
    # matches several branches and no log entry could ever be valid; as anyOf,
    # a channel must still match one of the shapes.
    channel = doc["components"]["schemas"]["Channel"]
    channel["anyOf"] = channel.pop("oneOf")
    return doc


class Headers(dict):
    """HTTP header names are case-insensitive (RFC 9110 5.1): the record has
    them lowercased, the document names them `From`, `Accept`."""

    def __init__(self, pairs):
        super().__init__((k.lower(), v) for k, v in pairs.items())

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(key.lower())

    def get(self, key, default=None):
        return super().get(key.lower(), default)


def main():
    record = sys.argv[1]
    spec_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(ROOT), "shared", "pagerduty-api")
    config = Config(spec_validator_cls=None)
    with open(os.path.join(spec_dir, "rest-openapiv3.json")) as f:
        rest_doc = correct(json.load(f))
    rest = OpenAPI.from_dict(rest_doc, config=config)
    events = OpenAPI.from_file_path(os.path.join(spec_dir, "events-v2-openapiv3.json"), config=config)
    generic_error = Draft4Validator(
        rest_doc["components"]["responses"]["Conflict"]["content"]["application/json"]["schema"])
    problems, checked, skipped, undocumented_statuses = [], 0, 0, 0
    for n, line in enumerate(open(record), 1):
        ex = json.loads(line)
        if ex["path"].startswith("/integration/") or ex["path"].startswith("/_emulator"):
            skipped += 1  # SNS's own payloads and the emulator's admin API are not PagerDuty REST
            continue
        if undocumented(ex["method"], ex["path"]):
            skipped += 1
            continue
        # Events API v2 lives on its own host, under its own document.
        if ex["path"].startswith("/v2/"):
            spec, request = events, Req(ex, "https://events.pagerduty.com")
        else:
            spec, request = rest, Req(ex, "https://api.pagerduty.com")
        checked += 1
        # A request the server refused (4xx) was meant to be wrong; its error
        # response must still have PagerDuty's shape.
        try:
            if ex["status"] < 400:
                spec.validate_request(request)
        except Exception as e:  # noqa: BLE001 - report every kind of violation
            # Some properties are both required and readOnly in the documents (a
            # team's `type`, references' `type`); the real API accepts them in
            # requests, so readOnly is lenient on requests, strict on responses.
            reasons = [r for r in reasons_of(e) if "read-only" not in r]
            if reasons:
                problems.append(f"line {n}: request {ex['method']} {ex['path']}: {'; '.join(reasons)[:500]}")
        if spec is rest and not documented_status(rest_doc, ex["method"], ex["path"], ex["status"]) \
                and allowed_undocumented(ex["method"], ex["path"], ex["status"]):
            errors = [e.message for e in generic_error.iter_errors(ex.get("response_body"))]
            if not isinstance((ex.get("response_body") or {}).get("error"), dict):
                errors.append("no error object")
            if errors:
                problems.append(f"line {n}: response {ex['status']} to {ex['method']} {ex['path']}: {'; '.join(errors)[:500]}")
            undocumented_statuses += 1
            continue
        try:
            spec.validate_response(request, Resp(ex))
        except Exception as e:  # noqa: BLE001
            problems.append(f"line {n}: response {ex['status']} to {ex['method']} {ex['path']}: {describe(e)}")
    for p in problems:
        print(p)
    print(f"{checked} exchanges checked ({undocumented_statuses} with a status the document omits, "
          f"held to its generic error shape), {skipped} skipped (SNS intake, admin, UNDOCUMENTED), "
          f"{len(problems)} violations")
    sys.exit(1 if problems else 0)


def reasons_of(e):
    detail = getattr(e, "__cause__", None)
    schema_errors = getattr(detail, "schema_errors", None) or getattr(e, "schema_errors", None)
    if schema_errors:
        return [str(s.message) for s in schema_errors]
    return [f"{type(e).__name__}: {e} {detail or ''}"]


def describe(e):
    detail = getattr(e, "__cause__", None)
    schema_errors = getattr(detail, "schema_errors", None) or getattr(e, "schema_errors", None)
    if schema_errors:
        return "; ".join(str(s.message) for s in schema_errors)[:500]
    return f"{type(e).__name__}: {e} {detail or ''}"[:500]


if __name__ == "__main__":
    main()
