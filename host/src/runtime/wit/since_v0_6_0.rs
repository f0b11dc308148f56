//! `blueprint:cloud@0.6.0`, frozen (`wit/since_v0.6.0/`). Each call converts its
//! arguments into the latest contract's types, runs the latest implementation,
//! and converts the answer back (0.7.0 added a kind and an optional prop, so every 0.6.0
//! type converts through its serde form, `convert::upgrade`).

use wasmtime::component::bindgen;

use super::convert::{delegate, delegate_host, upgrade};
use super::latest;
use crate::runtime::GuestState;

pub const VERSION: &str = "0.6.0";

bindgen!({
    world: "guest",
    path: "../wit/since_v0.6.0",
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

use self::blueprint::cloud as v0_6;

delegate! {
    v0_6;
    pagerduty => {
        user: UserLookup -> UserRef,
        vendor: VendorLookup -> VendorRef,
        team: TeamProps -> TeamRef,
        team_membership: TeamMembershipProps -> TeamMembershipRef,
        business_service: BusinessServiceProps -> BusinessServiceRef,
        schedule: ScheduleProps -> ScheduleRef,
        escalation_policy: EscalationPolicyProps -> EscalationPolicyRef,
        service: ServiceProps -> ServiceRef,
        service_dependency: ServiceDependencyProps -> ServiceDependencyRef,
        service_integration: ServiceIntegrationProps -> ServiceIntegrationRef,
        maintenance_window: MaintenanceWindowProps -> MaintenanceWindowRef,
        event_orchestration_service: EventOrchestrationServiceProps -> EventOrchestrationServiceRef,
        tag: TagProps -> TagRef,
        tag_assignment: TagAssignmentProps -> TagAssignmentRef,
    }
    aws => {
        caller_identity: CallerIdentityLookup -> CallerIdentityRef,
        region: RegionLookup -> RegionRef,
        iam_role: IamRoleProps -> IamRoleRef,
        iam_role_policy_attachment: IamRolePolicyAttachmentProps -> IamRolePolicyAttachmentRef,
        s3_bucket: S3BucketProps -> S3BucketRef,
        s3_object: S3ObjectProps -> S3ObjectRef,
        cloudwatch_log_group: CloudwatchLogGroupProps -> CloudwatchLogGroupRef,
        cloudwatch_log_metric_filter: CloudwatchLogMetricFilterProps -> CloudwatchLogMetricFilterRef,
        lambda_function: LambdaFunctionProps -> LambdaFunctionRef,
        sns_topic: SnsTopicProps -> SnsTopicRef,
        sns_topic_policy: SnsTopicPolicyProps -> SnsTopicPolicyRef,
        sqs_queue: SqsQueueProps -> SqsQueueRef,
        sqs_queue_policy: SqsQueuePolicyProps -> SqsQueuePolicyRef,
        sns_topic_subscription: SnsTopicSubscriptionProps -> SnsTopicSubscriptionRef,
        cloudwatch_metric_alarm: CloudwatchMetricAlarmProps -> CloudwatchMetricAlarmRef,
        cloudwatch_event_rule: CloudwatchEventRuleProps -> CloudwatchEventRuleRef,
        cloudwatch_event_target: CloudwatchEventTargetProps -> CloudwatchEventTargetRef,
        cloudwatch_composite_alarm: CloudwatchCompositeAlarmProps -> CloudwatchCompositeAlarmRef,
    }
    blueprints => {
        output: OutputProps -> OutputRef,
        outputs: OutputsLookup -> OutputsRef,
    }
}

delegate_host!(v0_6, depends_on);
