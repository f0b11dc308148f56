// {{name}}: a blueprint guest. `run` declares resources through the typed
// constructors of the WIT imports; their outputs are reference tokens (plain
// strings) to pass on or put in template literals.

import * as pd from "blueprint:cloud/pagerduty@{{wit_version}}";

interface Params {
  team_name: string;
  users: string[];
  service_name: string;
}

const DEFAULTS: Params = {
  team_name: "{{name}} team",
  users: ["user1@example.com"],
  service_name: "{{name}}",
};

export const blueprint = {
  info() {
    return { name: "{{name}}", version: "0.1.0", description: "A weekly rotation paging for one service." };
  },

  paramsSchema(): string {
    return JSON.stringify({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      additionalProperties: false,
      properties: {
        team_name: { type: "string", default: DEFAULTS.team_name },
        users: { type: "array", items: { type: "string" }, default: DEFAULTS.users },
        service_name: { type: "string", default: DEFAULTS.service_name },
      },
    });
  },

  run(paramsJson: string): void {
    // The host validated the params and filled in the defaults.
    const p = JSON.parse(paramsJson) as Params;
    const team = pd.team("team", { name: p.team_name });
    const users = p.users.map((email) => pd.user(`user-${email}`, { email }).id);
    const schedule = pd.schedule("schedule", {
      name: `${p.service_name} rotation`,
      timeZone: "Etc/UTC",
      layers: [
        {
          name: "weekly",
          start: "2025-01-06T09:00:00Z",
          rotationVirtualStart: "2025-01-06T09:00:00Z",
          rotationTurnLengthSeconds: 7 * 24 * 3600,
          users,
        },
      ],
      teams: [team.id],
    });
    const policy = pd.escalationPolicy("policy", {
      name: `${p.service_name} escalation`,
      numLoops: 2,
      rules: [{ escalationDelayInMinutes: 15, targets: [{ targetType: "schedule_reference", id: schedule.id }] }],
      teams: [team.id],
    });
    pd.service("service", { name: p.service_name, escalationPolicy: policy.id });
  },
};
