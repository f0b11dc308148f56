"""A policy guest in Python (blueprint:policy, wit/policy/): log groups must say
how long they keep logs.

CloudWatch Logs keeps a log group's events forever unless `retentionInDays` is
set, and bills their storage every month (AWS, "Change log data retention in
CloudWatch Logs":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention).
The built-in `log-group-no-retention` rule warns; an organisation that wants
it enforced ships this policy: no retention is an error (it stops
`blueprint run`), more than a year a warning.

Built with componentize-py by scripts/build-guests.
"""

from __future__ import annotations

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.policy import Finding, Graph, PolicyInfo, Rule, Severity

REQUIRED = "log-retention-required"
OVER_A_YEAR = "log-retention-over-a-year"
MAX_DAYS = 365


def judge(node_id: str, props: dict) -> list[Finding]:
    """The findings for one log group's props."""
    days = props.get("retention_in_days")
    name = props.get("name", node_id)
    if days is None:
        return [Finding(
            rule=REQUIRED,
            severity=Severity.ERROR,
            node=node_id,
            message=f"log group {name} keeps its logs forever (retention_in_days is not set)",
            fix="retention_in_days = 30 (the seed guest: log_retention_days = 30)",
        )]
    if isinstance(days, int) and days > MAX_DAYS:
        return [Finding(
            rule=OVER_A_YEAR,
            severity=Severity.WARNING,
            node=node_id,
            message=f"log group {name} keeps its logs {days} days",
            fix=f"retention_in_days <= {MAX_DAYS}, unless an audit requires more",
        )]
    return []


class Policy(exports.Policy):
    def info(self) -> PolicyInfo:
        return PolicyInfo(
            name="require-log-retention",
            version="0.1.0",
            description="Log groups must set a retention of at most a year",
        )

    def rules(self) -> list[Rule]:
        return [
            Rule(id=REQUIRED, severity=Severity.ERROR,
                 why="without retention CloudWatch Logs keeps every line forever and bills its storage every month"),
            Rule(id=OVER_A_YEAR, severity=Severity.WARNING,
                 why="logs kept past a year are rarely read and still billed"),
        ]

    def check(self, graph: Graph) -> list[Finding]:
        findings: list[Finding] = []
        for node in graph.nodes:
            if node.kind != "aws.cloudwatch_log_group":
                continue
            try:
                props = json.loads(node.props)
            except ValueError as e:
                raise Err(f"props of {node.id} are not JSON: {e}")
            findings.extend(judge(node.id, props))
        return findings
