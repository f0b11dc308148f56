// eventbridge-pagerduty: when an EventBridge rule matches (by default an ECS task
// whose container stopped with a non-zero exit code), the event goes to an SNS
// topic subscribed to a PagerDuty CloudWatch integration, and the engineer on
// call is paged. The team's rotation is declared here, or read from a platform
// blueprint's outputs (`platform`).
//
// Constructor outputs are reference tokens: plain strings the host resolves.

import * as aws from "blueprint:cloud/aws@0.7.0";
import * as blueprints from "blueprint:cloud/blueprints@0.7.0";
import * as pd from "blueprint:cloud/pagerduty@0.7.0";

/** An ECS task stopped because an essential container exited non-zero. */
const ECS_TASK_FAILED = {
  source: ["aws.ecs"],
  "detail-type": ["ECS Task State Change"],
  detail: {
    lastStatus: ["STOPPED"],
    stopCode: ["EssentialContainerExited"],
    containers: { exitCode: [{ "anything-but": 0 }] },
  },
};

interface Rule {
  name: string;
  description: string;
  /** An EventBridge event pattern. */
  event_pattern: object;
}

interface OnCall {
  team_name: string;
  users: string[];
  schedule_name: string;
  time_zone: string;
  start: string;
  turn_length_hours: number;
  escalation_policy_name: string;
  escalation_delay_minutes: number;
}

interface Platform {
  blueprint: string;
  state: string | null;
}

interface Params {
  service_name: string;
  topic_name: string;
  rules: Rule[];
  on_call: OnCall;
  /** Page through a platform blueprint's escalation policy instead of declaring one. */
  platform: Platform | null;
  /** Keep the pages SNS fails to deliver in an SQS dead-letter queue. */
  dead_letter_queue: boolean;
}

const DEFAULTS: Params = {
  service_name: "ecs-tasks",
  topic_name: "ecs-task-failures",
  rules: [
    {
      name: "ecs-task-failed",
      description: "An ECS task stopped: an essential container exited with a non-zero code",
      event_pattern: ECS_TASK_FAILED,
    },
  ],
  on_call: {
    team_name: "Containers",
    users: ["user1@example.com", "user2@example.com"],
    schedule_name: "Containers hourly rotation",
    time_zone: "Etc/UTC",
    start: "2025-01-06T00:00:00Z",
    turn_length_hours: 1,
    escalation_policy_name: "Containers escalation",
    escalation_delay_minutes: 15,
  },
  platform: null,
  dead_letter_queue: true,
};

const NAME = { type: "string", pattern: "^[.\\-_A-Za-z0-9]{1,64}$" };

function schema(): object {
  const d = DEFAULTS;
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    additionalProperties: false,
    properties: {
      service_name: { type: "string", description: "The PagerDuty service paged.", default: d.service_name },
      topic_name: { type: "string", description: "The SNS topic the rules send to.", default: d.topic_name },
      rules: {
        type: "array",
        minItems: 1,
        description: "EventBridge rules on the default bus; each matching event pages.",
        default: d.rules,
        items: {
          type: "object",
          additionalProperties: false,
          required: ["name", "event_pattern"],
          properties: {
            name: { ...NAME, description: "The rule's name (1-64 letters, digits, . - _)." },
            description: { type: "string", default: "" },
            event_pattern: { type: "object", description: "An EventBridge event pattern." },
          },
        },
      },
      on_call: {
        type: "object",
        additionalProperties: false,
        description: "The team and rotation paged (unused with `platform`).",
        default: d.on_call,
        properties: {
          team_name: { type: "string", default: d.on_call.team_name },
          users: { type: "array", items: { type: "string" }, minItems: 1, default: d.on_call.users },
          schedule_name: { type: "string", default: d.on_call.schedule_name },
          time_zone: { type: "string", default: d.on_call.time_zone },
          start: { type: "string", description: "ISO 8601: when the rotation starts.", default: d.on_call.start },
          turn_length_hours: { type: "integer", minimum: 1, default: d.on_call.turn_length_hours },
          escalation_policy_name: { type: "string", default: d.on_call.escalation_policy_name },
          escalation_delay_minutes: { type: "integer", minimum: 1, default: d.on_call.escalation_delay_minutes },
        },
      },
      dead_letter_queue: {
        type: "boolean",
        description: "Keep the pages SNS fails to deliver in an SQS dead-letter queue (14 days).",
        default: d.dead_letter_queue,
      },
      platform: {
        type: ["object", "null"],
        additionalProperties: false,
        description:
          "A platform blueprint publishing `escalation_policy_id`: the service pages through its policy.",
        default: null,
        required: ["blueprint"],
        properties: {
          blueprint: { type: "string" },
          state: { type: ["string", "null"], default: null },
        },
      },
    },
  };
}

/** The escalation policy's id: read from the platform, or declared here. */
function escalationPolicy(p: Params): string {
  if (p.platform) {
    return blueprints.outputs("platform-escalation-policy-id", {
      blueprint: p.platform.blueprint,
      state: p.platform.state ?? undefined,
      output: "escalation_policy_id",
    }).value;
  }
  const c = p.on_call;
  const team = pd.team("team", { name: c.team_name });
  const users = c.users.map((email) => {
    const user = pd.user(`user-${email}`, { email });
    pd.teamMembership(`membership-${email}`, { team: team.id, user: user.id, role: "responder" });
    return user.id;
  });
  const schedule = pd.schedule("schedule", {
    name: c.schedule_name,
    timeZone: c.time_zone,
    layers: [
      {
        name: `${c.schedule_name} layer`,
        start: c.start,
        rotationVirtualStart: c.start,
        rotationTurnLengthSeconds: c.turn_length_hours * 3600,
        users,
      },
    ],
    teams: [team.id],
  });
  return pd.escalationPolicy("escalation-policy", {
    name: c.escalation_policy_name,
    numLoops: 2,
    rules: [
      {
        escalationDelayInMinutes: c.escalation_delay_minutes,
        targets: [{ targetType: "schedule_reference", id: schedule.id }],
      },
    ],
    teams: [team.id],
  }).id;
}

/** The queue SNS moves an undeliverable page to, and the policy letting it. */
function deadLetterQueue(topicName: string, topicArn: string): string {
  const queue = aws.sqsQueue("dead-letter-queue", {
    name: `${topicName}-undelivered`,
    messageRetentionSeconds: 1209600,
  });
  aws.sqsQueuePolicy("dead-letter-queue-policy", {
    queueUrl: queue.url,
    policy:
      `{"Version":"2012-10-17","Statement":[{"Sid":"SnsDeadLetters","Effect":"Allow",` +
      `"Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"${queue.arn}",` +
      `"Condition":{"ArnEquals":{"aws:SourceArn":"${topicArn}"}}}]}`,
  });
  return `{"deadLetterTargetArn":"${queue.arn}"}`;
}

export const blueprint = {
  info() {
    return {
      name: "eventbridge-pagerduty",
      version: "0.1.0",
      description:
        "When an EventBridge rule matches (by default: an ECS task stopped with a non-zero exit code), " +
        "the event goes to an SNS topic subscribed to a PagerDuty CloudWatch integration, paging the " +
        "engineer on call.",
    };
  },

  paramsSchema(): string {
    return JSON.stringify(schema());
  },

  run(paramsJson: string): void {
    // The host validated the params and filled in every default.
    const p = JSON.parse(paramsJson) as Params;
    const names = new Set(p.rules.map((r) => r.name));
    if (names.size !== p.rules.length) {
      throw "`rules` names a rule twice: each rule needs its own name";
    }
    const service = pd.service("service", { name: p.service_name, escalationPolicy: escalationPolicy(p) });
    const vendor = pd.vendor("cloudwatch-vendor", { vendorName: "Amazon CloudWatch" });
    const integration = pd.serviceIntegration("integration", { service: service.id, vendor: vendor.id });

    const topic = aws.snsTopic("topic", { name: p.topic_name });
    aws.snsTopicSubscription("pagerduty-subscription", {
      topic: topic.arn,
      protocol: integration.cloudwatchProtocol,
      endpoint: integration.cloudwatchEndpoint,
      redrivePolicy: p.dead_letter_queue ? deadLetterQueue(p.topic_name, topic.arn) : undefined,
    });
    const rules = p.rules.map((r) => {
      const rule = aws.cloudwatchEventRule(`rule-${r.name}`, {
        name: r.name,
        description: r.description || undefined,
        eventPattern: JSON.stringify(r.event_pattern),
      });
      aws.cloudwatchEventTarget(`target-${r.name}`, {
        rule: rule.name,
        targetId: "pagerduty",
        arn: topic.arn,
      });
      return rule.arn;
    });
    // EventBridge may publish to the topic for these rules only (the condition
    // keeps another account's rule from borrowing the topic).
    const sources = rules.map((arn) => JSON.stringify(arn)).join(",");
    aws.snsTopicPolicy("topic-policy", {
      arn: topic.arn,
      policy:
        `{"Version":"2012-10-17","Statement":[{"Sid":"EventBridgePublishes","Effect":"Allow",` +
        `"Principal":{"Service":"events.amazonaws.com"},"Action":"sns:Publish","Resource":"${topic.arn}",` +
        `"Condition":{"ArnEquals":{"aws:SourceArn":[${sources}]}}}]}`,
    });
  },
};
