"""{{name}}: a blueprint guest.

`run` declares resources through the typed constructors of the WIT imports; their
outputs are reference tokens (plain strings) to pass on or put in f-strings.
"""

import json

from wit_world import exports
from wit_world.exports.blueprint import GuestInfo
from wit_world.imports import pagerduty as pd

DEFAULTS = {
    "team_name": "{{name}} team",
    "users": ["user1@example.com"],
    "service_name": "{{name}}",
}


class Blueprint(exports.Blueprint):
    def info(self) -> GuestInfo:
        return GuestInfo(name="{{name}}", version="0.1.0", description="A weekly rotation paging for one service.")

    def params_schema(self) -> str:
        return json.dumps({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "team_name": {"type": "string", "default": DEFAULTS["team_name"]},
                "users": {"type": "array", "items": {"type": "string"}, "default": DEFAULTS["users"]},
                "service_name": {"type": "string", "default": DEFAULTS["service_name"]},
            },
        })

    def run(self, params_json: str) -> None:
        # The host validated the params and filled in the defaults.
        p = json.loads(params_json)
        team = pd.team("team", pd.TeamProps(name=p["team_name"], description=None, parent=None))
        users = [pd.user(f"user-{email}", pd.UserLookup(email=email)).id for email in p["users"]]
        schedule = pd.schedule("schedule", pd.ScheduleProps(
            name=f"{p['service_name']} rotation",
            time_zone="Etc/UTC",
            description=None,
            layers=[pd.ScheduleLayer(
                name="weekly",
                start="2025-01-06T09:00:00Z",
                end=None,
                rotation_virtual_start="2025-01-06T09:00:00Z",
                rotation_turn_length_seconds=7 * 24 * 3600,
                users=users,
                restrictions=None,
            )],
            teams=[team.id],
        ))
        policy = pd.escalation_policy("policy", pd.EscalationPolicyProps(
            name=f"{p['service_name']} escalation",
            description=None,
            num_loops=2,
            rules=[pd.EscalationRule(
                escalation_delay_in_minutes=15,
                targets=[pd.EscalationTarget(target_type="schedule_reference", id=schedule.id)],
            )],
            teams=[team.id],
        ))
        pd.service("service", pd.ServiceProps(
            name=p["service_name"],
            description=None,
            escalation_policy=policy.id,
            acknowledgement_timeout=None,
            auto_resolve_timeout=None,
            alert_creation=None,
            urgency=None,
            support_hours=None,
            urgency_during_support_hours=None,
            urgency_outside_support_hours=None,
            raise_urgency_at_support_hours_start=None,
            alert_grouping=None,
        ))
