//! Every AWS kind, one file each: its descriptor and its API calls.

crate::kind::kind_list! {
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
        sns_topic_subscription,
        cloudwatch_metric_alarm,
    ]
}
