//! Every AWS kind, one file each: its descriptor and its API calls.

pub mod caller_identity;
pub mod cloudwatch_log_group;
pub mod cloudwatch_log_metric_filter;
pub mod cloudwatch_metric_alarm;
pub mod iam_role;
pub mod iam_role_policy_attachment;
pub mod lambda_function;
pub mod region;
pub mod s3_bucket;
pub mod s3_object;
pub mod sns_topic;
pub mod sns_topic_subscription;
pub mod sqs_queue;
pub mod sqs_queue_policy;

crate::providers::kind_list::kind_list! {
    provider: crate::providers::aws::AwsProvider,
    constructors: crate::runtime::wit::aws::Host,
    kinds: [
        caller_identity,
        region,
        iam_role,
        iam_role_policy_attachment,
        s3_bucket,
        s3_object,
        cloudwatch_log_group,
        cloudwatch_log_metric_filter,
        lambda_function,
        sns_topic,
        sqs_queue,
        sqs_queue_policy,
        sns_topic_subscription,
        cloudwatch_metric_alarm,
    ]
}
