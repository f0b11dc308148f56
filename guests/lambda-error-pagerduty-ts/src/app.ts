// The seed blueprint in TypeScript: when a Lambda logs ERROR, page the engineer
// on call. The same graph as the Rust guest (guests/lambda-error-pagerduty), node
// for node; every default is the seed's own value.
//
// Constructor outputs (ids, ARNs, the integration's URL) are reference tokens:
// plain strings, passed around or put in template literals; the host resolves them.

import * as aws from "blueprint:cloud/aws@0.7.0";
import * as host from "blueprint:cloud/host@0.7.0";
import * as pd from "blueprint:cloud/pagerduty@0.7.0";

const LAMBDA_TRUST_POLICY =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}';
const LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

interface Service {
  name: string;
  function_name: string;
  runtime: string;
  handler: string;
  code_path: string;
  code_via: "s3" | "direct";
  log_pattern: string;
  metric_namespace: string;
  alarm_period_seconds: number;
  alarm_evaluation_periods: number;
  alarm_threshold: number;
  alarm_ok_action: boolean;
  alarm_treat_missing_data: string | null;
  log_retention_days: number | null;
  /** Keep pages SNS fails to deliver in an SQS dead-letter queue, alarmed on. */
  dead_letter_queue: boolean;
  /** SNS's retries of a failed delivery; null: its default (3, 20 s apart). */
  delivery_retries: DeliveryRetries | null;
}

interface DeliveryRetries {
  num_retries: number;
  min_delay_seconds: number;
  max_delay_seconds: number;
}

const DELIVERY_RETRIES_SCHEMA = {
  type: ["object", "null"],
  additionalProperties: false,
  required: ["num_retries", "min_delay_seconds", "max_delay_seconds"],
  properties: {
    num_retries: { type: "integer", minimum: 0 },
    min_delay_seconds: { type: "integer", minimum: 0 },
    max_delay_seconds: { type: "integer", minimum: 0 },
  },
};

interface Restriction {
  type: string;
  start_time_of_day: string;
  duration_seconds: number;
  start_day_of_week?: number | null;
}

const RESTRICTION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["type", "start_time_of_day", "duration_seconds"],
  properties: {
    type: { type: "string", enum: ["daily_restriction", "weekly_restriction"] },
    start_time_of_day: { type: "string", description: "HH:MM:SS, local to the schedule's time zone." },
    duration_seconds: { type: "integer", minimum: 1 },
    start_day_of_week: { type: ["integer", "null"], minimum: 1, maximum: 7 },
  },
};

interface Params {
  team_name: string;
  users: string[];
  team_role: string;
  business_service_name: string;
  schedule: {
    name: string;
    time_zone: string;
    start: string;
    rotation_turn_length_seconds: number;
    /** PagerDuty's layer restrictions (its field names); null: always on call. */
    restrictions: Restriction[] | null;
  };
  escalation: { name: string; num_loops: number; delay_minutes: number };
  services: Service[];
  /** Absent: `lambda-error-pagerduty-<account id>-<region>` (S3 names are global). */
  bucket_name: string | null;
}

const SERVICE_DEFAULTS: Service = {
  name: "lambda-error",
  function_name: "error-function",
  runtime: "nodejs22.x",
  handler: "index.handler",
  code_path: "lambda-error-pagerduty-handler",
  code_via: "s3",
  log_pattern: "ERROR",
  metric_namespace: "LambdaErrors",
  alarm_period_seconds: 30,
  alarm_evaluation_periods: 1,
  alarm_threshold: 1.0,
  alarm_ok_action: false,
  alarm_treat_missing_data: null,
  log_retention_days: null,
  dead_letter_queue: false,
  delivery_retries: null,
};

const DEFAULTS: Params = {
  team_name: "teamOnCall",
  users: ["user1@example.com", "user2@example.com"],
  team_role: "responder",
  business_service_name: "Business Service",
  schedule: {
    name: "Hourly Rotation",
    time_zone: "Asia/Tokyo",
    start: "2023-09-16T00:00:00+09:00",
    rotation_turn_length_seconds: 3600,
    restrictions: null,
  },
  escalation: { name: "Escalation Policy", num_loops: 2, delay_minutes: 30 },
  services: [SERVICE_DEFAULTS],
  bucket_name: null,
};

// The JSON types the defaults cannot tell: nullable fields and non-integers.
const TYPES: Record<string, unknown> = {
  alarm_treat_missing_data: ["string", "null"],
  log_retention_days: ["integer", "null"],
  bucket_name: ["string", "null"],
  alarm_threshold: "number",
};

/** JSON Schema (with defaults) derived from the defaults themselves. */
function schemaOf(value: unknown, key = ""): Record<string, unknown> {
  if (key === "restrictions") return { type: ["array", "null"], items: RESTRICTION_SCHEMA, default: value };
  if (key === "delivery_retries") return { ...DELIVERY_RETRIES_SCHEMA, default: value };
  if (Array.isArray(value)) {
    const items = key === "services" ? schemaOf(SERVICE_DEFAULTS) : { type: "string" };
    return { type: "array", items, default: value };
  }
  if (value !== null && typeof value === "object") {
    const properties = Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, schemaOf(v, k)]),
    );
    return { type: "object", additionalProperties: false, properties, default: value };
  }
  const type =
    TYPES[key] ??
    (typeof value === "number" ? (Number.isInteger(value) ? "integer" : "number") : typeof value);
  const schema: Record<string, unknown> = { type, default: value };
  if (type === "integer" || (Array.isArray(type) && type[0] === "integer")) schema.minimum = 0;
  return schema;
}

/** `lambda-error-pagerduty-<account id>-<region>`: no other account can hold
 * it, and one account can deploy the seed in several regions. */
function defaultBucketName(): string {
  const account = aws.callerIdentity("aws-account", {});
  const region = aws.region("aws-region", {});
  return `lambda-error-pagerduty-${account.accountId}-${region.name}`;
}

interface OnCall {
  escalationPolicy: string;
  businessService: string;
  vendor: string;
}

function declareOnCall(p: Params): OnCall {
  const team = pd.team("team", { name: p.team_name });
  const users = p.users.map((email) => {
    const user = pd.user(`user-${email}`, { email });
    pd.teamMembership(`membership-${email}`, { team: team.id, user: user.id, role: p.team_role });
    return user.id;
  });
  const business = pd.businessService("business-service", {
    name: p.business_service_name,
    team: team.id,
  });
  const { schedule: rotation, escalation } = p;
  const schedule = pd.schedule("schedule", {
    name: rotation.name,
    timeZone: rotation.time_zone,
    layers: [
      {
        name: `${rotation.name} layer`,
        start: rotation.start,
        rotationVirtualStart: rotation.start,
        rotationTurnLengthSeconds: rotation.rotation_turn_length_seconds,
        users,
        restrictions: rotation.restrictions?.map((r) => ({
          restrictionType: r.type,
          startTimeOfDay: r.start_time_of_day,
          durationSeconds: r.duration_seconds,
          startDayOfWeek: r.start_day_of_week ?? undefined,
        })),
      },
    ],
    teams: [team.id],
  });
  const policy = pd.escalationPolicy("escalation-policy", {
    name: escalation.name,
    numLoops: escalation.num_loops,
    rules: [
      {
        escalationDelayInMinutes: escalation.delay_minutes,
        targets: [{ targetType: "schedule_reference", id: schedule.id }],
      },
    ],
    teams: [team.id],
  });
  const vendor = pd.vendor("cloudwatch-vendor", { vendorName: "Amazon CloudWatch" });
  return { escalationPolicy: policy.id, businessService: business.id, vendor: vendor.id };
}

/** Lambda logs -> metric filter -> alarm -> SNS -> PagerDuty, for one service. */
function declarePipeline(s: Service, onCall: OnCall, bucket: aws.S3BucketRef | undefined): void {
  const n = (suffix: string) => `${s.name}-${suffix}`;

  const service = pd.service(n("service"), {
    name: s.name,
    escalationPolicy: onCall.escalationPolicy,
  });
  pd.serviceDependency(n("dependency"), {
    businessService: onCall.businessService,
    supportingService: service.id,
  });
  const integration = pd.serviceIntegration(n("integration"), {
    service: service.id,
    vendor: onCall.vendor,
  });

  const role = aws.iamRole(n("role"), {
    name: `${s.function_name}-role`,
    assumeRolePolicy: LAMBDA_TRUST_POLICY,
  });
  const logPermission = aws.iamRolePolicyAttachment(n("role-basic-execution"), {
    role: role.name,
    policyArn: LAMBDA_BASIC_EXECUTION,
  });
  const logGroup = aws.cloudwatchLogGroup(n("log-group"), {
    name: `/aws/lambda/${s.function_name}`,
    retentionInDays: s.log_retention_days ?? undefined,
  });

  const code = host.asset(s.code_path); // throws the host's reason when the path is bad
  let lambdaCode: aws.LambdaCode;
  if (s.code_via === "s3" && bucket) {
    const object = aws.s3Object(n("code"), {
      bucket: bucket.bucket,
      key: `${s.function_name}/${code.fileName}`,
      source: code.id,
      contentType: "application/zip",
    });
    lambdaCode = { s3Bucket: object.bucket, s3Key: object.key };
  } else if (s.code_via === "direct") {
    lambdaCode = { asset: code.id };
  } else {
    throw `services[${s.name}].code_via must be s3 or direct, not ${JSON.stringify(s.code_via)}`;
  }
  aws.lambdaFunction(n("function"), {
    functionName: s.function_name,
    role: role.arn,
    handler: s.handler,
    runtime: s.runtime,
    code: lambdaCode,
    sourceCodeHash: code.sha256Base64,
    logGroup: logGroup.name,
  });
  // The function logs from its first run: created only once its role may write
  // logs (no prop names the attachment, so the order is declared).
  host.dependsOn(n("function"), [logPermission.id]);

  const topic = aws.snsTopic(n("topic"), { name: `${s.function_name}-alarm` });
  const redrive = deadLetters(s, n, topic.arn);
  const retries = s.delivery_retries;
  aws.snsTopicSubscription(n("pagerduty-subscription"), {
    topic: topic.arn,
    protocol: integration.cloudwatchProtocol,
    endpoint: integration.cloudwatchEndpoint,
    redrivePolicy: redrive?.policy,
    deliveryPolicy: retries
      ? `{"healthyRetryPolicy":{"numRetries":${retries.num_retries},"minDelayTarget":${retries.min_delay_seconds},"maxDelayTarget":${retries.max_delay_seconds},"numNoDelayRetries":0,"numMinDelayRetries":0,"numMaxDelayRetries":0,"backoffFunction":"linear"}}`
      : undefined,
  });

  const metric = `${s.function_name}-errors`;
  const errors = aws.cloudwatchLogMetricFilter(n("error-filter"), {
    name: metric,
    logGroup: logGroup.name,
    pattern: s.log_pattern,
    metricTransformation: {
      metricName: metric,
      metricNamespace: s.metric_namespace,
      metricValue: "1",
      defaultValue: 0,
    },
  });
  aws.cloudwatchMetricAlarm(n("error-alarm"), {
    alarmName: metric,
    alarmDescription:
      `${s.function_name} logged ${JSON.stringify(s.log_pattern)} at least ` +
      `${s.alarm_threshold} time(s) in ${s.alarm_period_seconds} s`,
    metricName: errors.metricName,
    namespace: errors.metricNamespace,
    statistic: "Sum",
    period: s.alarm_period_seconds,
    evaluationPeriods: s.alarm_evaluation_periods,
    threshold: s.alarm_threshold,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: s.alarm_treat_missing_data ?? undefined,
    alarmActions: [topic.arn],
    okActions: s.alarm_ok_action ? [topic.arn] : undefined,
  });
  if (redrive) {
    // A page in the queue is a page nobody got: alarm on it, through the same
    // topic, so once PagerDuty answers again the on-call engineer learns of it.
    aws.cloudwatchMetricAlarm(n("dead-letter-alarm"), {
      alarmName: `${s.function_name}-undelivered-pages`,
      alarmDescription: `SNS could not deliver a page of ${s.function_name} to PagerDuty: it waits in the dead-letter queue`,
      metricName: "ApproximateNumberOfMessagesVisible",
      namespace: "AWS/SQS",
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 1.0,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      dimensions: [{ name: "QueueName", value: redrive.queueName }],
      alarmActions: [topic.arn],
      okActions: s.alarm_ok_action ? [topic.arn] : undefined,
    });
  }
}

/** The service's dead-letter queue and the policy that lets SNS send to it. */
function deadLetters(
  s: Service,
  n: (suffix: string) => string,
  topicArn: string,
): { policy: string; queueName: string } | undefined {
  if (!s.dead_letter_queue) return undefined;
  const queue = aws.sqsQueue(n("dead-letter-queue"), {
    name: `${s.function_name}-undelivered-pages`,
    // Fourteen days, SQS's longest: time to read what was lost.
    messageRetentionSeconds: 1209600,
  });
  aws.sqsQueuePolicy(n("dead-letter-queue-policy"), {
    queueUrl: queue.url,
    policy: `{"Version":"2012-10-17","Statement":[{"Sid":"SnsDeadLetters","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"${queue.arn}","Condition":{"ArnEquals":{"aws:SourceArn":"${topicArn}"}}}]}`,
  });
  return { policy: `{"deadLetterTargetArn":"${queue.arn}"}`, queueName: queue.name };
}

export const blueprint = {
  info() {
    return {
      name: "lambda-error-pagerduty",
      version: "0.1.0",
      description:
        "When a Lambda logs ERROR, a metric filter and alarm notify an SNS topic subscribed to a " +
        "PagerDuty CloudWatch integration, paging the on-call engineer of the team's rotation. " +
        "(TypeScript edition.)",
    };
  },

  paramsSchema(): string {
    return JSON.stringify({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      ...schemaOf(DEFAULTS),
    });
  },

  run(paramsJson: string): void {
    // The host has validated the params and filled in every default.
    const p = JSON.parse(paramsJson) as Params;
    if (p.services.length === 0) {
      throw "`services` is empty: declare at least one service";
    }
    const onCall = declareOnCall(p);
    const bucket = p.services.some((s) => s.code_via === "s3")
      ? aws.s3Bucket("code-bucket", { bucket: p.bucket_name ?? defaultBucketName(), forceDestroy: true })
      : undefined;
    for (const service of p.services) {
      declarePipeline(service, onCall, bucket);
    }
  },
};
