//! Every AWS kind, one file each: its descriptor and its API calls.

pub mod caller_identity;
pub mod cloudwatch_composite_alarm;
pub mod cloudwatch_event_rule;
pub mod cloudwatch_event_target;
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
pub mod sns_topic_policy;
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
        sns_topic_policy,
        sqs_queue,
        sqs_queue_policy,
        sns_topic_subscription,
        cloudwatch_metric_alarm,
        cloudwatch_composite_alarm,
        cloudwatch_event_rule,
        cloudwatch_event_target,
    ]
}

/// Each kind's IAM needs (`blueprint iam-policy`), by kind name.
pub fn iam(kind: &str) -> Option<&'static super::access::Iam> {
    IAM.iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, iam)| *iam)
}

/// Beside the list above: `every_kind_declares_its_iam_needs` holds the two together.
static IAM: &[(&str, &super::access::Iam)] = &[
    (caller_identity::NAME, &caller_identity::IAM),
    (region::NAME, &region::IAM),
    (iam_role::NAME, &iam_role::IAM),
    (
        iam_role_policy_attachment::NAME,
        &iam_role_policy_attachment::IAM,
    ),
    (s3_bucket::NAME, &s3_bucket::IAM),
    (s3_object::NAME, &s3_object::IAM),
    (cloudwatch_log_group::NAME, &cloudwatch_log_group::IAM),
    (
        cloudwatch_log_metric_filter::NAME,
        &cloudwatch_log_metric_filter::IAM,
    ),
    (lambda_function::NAME, &lambda_function::IAM),
    (sns_topic::NAME, &sns_topic::IAM),
    (sns_topic_policy::NAME, &sns_topic_policy::IAM),
    (sqs_queue::NAME, &sqs_queue::IAM),
    (sqs_queue_policy::NAME, &sqs_queue_policy::IAM),
    (sns_topic_subscription::NAME, &sns_topic_subscription::IAM),
    (cloudwatch_metric_alarm::NAME, &cloudwatch_metric_alarm::IAM),
    (
        cloudwatch_composite_alarm::NAME,
        &cloudwatch_composite_alarm::IAM,
    ),
    (cloudwatch_event_rule::NAME, &cloudwatch_event_rule::IAM),
    (cloudwatch_event_target::NAME, &cloudwatch_event_target::IAM),
];

#[cfg(test)]
mod iam_tests {
    use std::collections::BTreeSet;

    /// Every kind has a declaration, and every SDK call in a kind's file is an
    /// action it declares (the moto test proves the calls a run makes; this
    /// holds the ones it cannot reach, such as updates, to the code).
    #[test]
    fn every_kind_declares_its_iam_needs() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/providers/aws/kinds");
        for kind in KINDS {
            let name = kind.info().name;
            let iam = super::iam(name).unwrap_or_else(|| panic!("{name}: no IAM declaration"));
            let declared: BTreeSet<&str> = iam
                .grants
                .iter()
                .flat_map(|g| g.actions.iter().copied())
                .collect();
            let file = dir.join(format!("{}.rs", name.trim_start_matches("aws.")));
            let source = std::fs::read_to_string(&file).unwrap();
            for action in sdk_actions(&source) {
                assert!(
                    declared.contains(action.as_str()),
                    "{name}: {} calls {action}, which its IAM declaration does not grant",
                    file.display()
                );
            }
        }
    }

    /// The drill's probes call only what some kind grants for the drill.
    #[test]
    fn every_probe_call_is_a_drill_grant() {
        use crate::providers::aws::access::Phase;
        let drill: BTreeSet<&str> = KINDS
            .iter()
            .filter_map(|k| super::iam(k.info().name))
            .flat_map(|i| i.grants.iter())
            .filter(|g| g.phase == Phase::Drill)
            .flat_map(|g| g.actions.iter().copied())
            .collect();
        let probe =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/providers/aws/probe.rs");
        let actions = sdk_actions(&std::fs::read_to_string(probe).unwrap());
        assert!(actions.len() >= 8, "{actions:?}");
        for action in actions {
            assert!(
                drill.contains(action.as_str()),
                "probe.rs calls {action}: no kind grants it for the drill"
            );
        }
    }

    use super::KINDS;

    /// `aws.<client>.<operation>()` (or a client bound to a local) as IAM
    /// actions: the operation in PascalCase, with S3's documented exceptions.
    fn sdk_actions(source: &str) -> BTreeSet<String> {
        let clients = [
            ("sns", "sns"),
            ("logs", "logs"),
            ("cloudwatch", "cloudwatch"),
            ("lambda", "lambda"),
            ("iam", "iam"),
            ("s3", "s3"),
            ("sqs", "sqs"),
            ("events", "events"),
        ];
        let compact: String = source.split_whitespace().collect();
        let mut found = BTreeSet::new();
        for (client, service) in clients {
            let needle = format!("{client}.");
            let mut rest = compact.as_str();
            while let Some(i) = rest.find(&needle) {
                let before = rest[..i].chars().last();
                rest = &rest[i + needle.len()..];
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let op: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if op.is_empty() || !rest[op.len()..].starts_with("()") {
                    continue;
                }
                let pascal: String = op
                    .split('_')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next().map_or(String::new(), |f| {
                            f.to_ascii_uppercase().to_string() + c.as_str()
                        })
                    })
                    .collect();
                let action = match (service, pascal.as_str()) {
                    ("s3", "HeadBucket" | "ListObjectsV2") => "ListBucket".to_owned(),
                    ("s3", "HeadObject") => "GetObject".to_owned(),
                    _ => pascal,
                };
                found.insert(format!("{service}:{action}"));
            }
        }
        found
    }
}
