//! `aws.*` kinds -> `hashicorp/aws` resource types (attribute names as in the
//! provider's v5/v6 documentation).

use serde_json::{Map, Value};

use super::table::{
    AssetHash, Block, KindMap, OutputMap, PropMap, TAGS, Target, prop, same, text, to,
};

pub static KINDS: &[KindMap] = &[
    KindMap {
        kind: "aws.iam_role",
        tf_type: "aws_iam_role",
        block: Block::Resource,
        props: &[
            same("name"),
            same("assume_role_policy"),
            same("description"),
            same("path"),
            TAGS,
        ],
        outputs: &[
            ("arn", OutputMap::Attr("arn")),
            ("name", OutputMap::Attr("name")),
        ],
        attributes: &["arn", "id", "name", "unique_id", "create_date"],
        finish: None,
    },
    KindMap {
        kind: "aws.iam_role_policy_attachment",
        tf_type: "aws_iam_role_policy_attachment",
        block: Block::Resource,
        props: &[same("role"), same("policy_arn")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "role", "policy_arn"],
        finish: None,
    },
    KindMap {
        kind: "aws.s3_bucket",
        tf_type: "aws_s3_bucket",
        block: Block::Resource,
        props: &[same("bucket"), same("force_destroy"), TAGS],
        outputs: &[
            ("bucket", OutputMap::Attr("bucket")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &[
            "arn",
            "bucket",
            "id",
            "bucket_domain_name",
            "bucket_regional_domain_name",
        ],
        finish: None,
    },
    KindMap {
        kind: "aws.s3_object",
        tf_type: "aws_s3_object",
        block: Block::Resource,
        props: &[
            same("bucket"),
            same("key"),
            prop(
                "source",
                Target::Asset {
                    attr: "source",
                    hash_attr: "source_hash",
                    hash: AssetHash::Sha256Hex,
                },
            ),
            same("content"),
            same("content_type"),
        ],
        outputs: &[
            ("bucket", OutputMap::Attr("bucket")),
            ("key", OutputMap::Attr("key")),
            ("etag", OutputMap::Attr("etag")),
            ("version_id", OutputMap::Attr("version_id")),
        ],
        attributes: &["bucket", "key", "etag", "version_id", "id"],
        finish: None,
    },
    KindMap {
        kind: "aws.cloudwatch_log_group",
        tf_type: "aws_cloudwatch_log_group",
        block: Block::Resource,
        props: &[same("name"), same("retention_in_days"), TAGS],
        outputs: &[
            ("name", OutputMap::Attr("name")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &["arn", "id", "name"],
        finish: None,
    },
    KindMap {
        kind: "aws.cloudwatch_log_metric_filter",
        tf_type: "aws_cloudwatch_log_metric_filter",
        block: Block::Resource,
        props: &[
            same("name"),
            to("log_group", "log_group_name"),
            same("pattern"),
            to(
                "metric_transformation.metric_name",
                "metric_transformation.name",
            ),
            to(
                "metric_transformation.metric_namespace",
                "metric_transformation.namespace",
            ),
            to(
                "metric_transformation.metric_value",
                "metric_transformation.value",
            ),
            // A string in the provider's schema.
            text(
                "metric_transformation.default_value",
                "metric_transformation.default_value",
            ),
        ],
        // The metric's name and namespace mirror props; reading them from the
        // block keeps the alarm ordered after the filter, as in the graph.
        outputs: &[
            ("name", OutputMap::Attr("name")),
            (
                "metric_name",
                OutputMap::Attr("metric_transformation[0].name"),
            ),
            (
                "metric_namespace",
                OutputMap::Attr("metric_transformation[0].namespace"),
            ),
        ],
        attributes: &[
            "id",
            "name",
            "log_group_name",
            "pattern",
            "metric_transformation[0].name",
            "metric_transformation[0].namespace",
            "metric_transformation[0].value",
        ],
        finish: None,
    },
    KindMap {
        kind: "aws.lambda_function",
        tf_type: "aws_lambda_function",
        block: Block::Resource,
        props: &[
            same("function_name"),
            same("role"),
            same("handler"),
            same("runtime"),
            prop(
                "code.asset",
                Target::Asset {
                    attr: "filename",
                    hash_attr: "source_code_hash",
                    hash: AssetHash::Sha256Base64,
                },
            ),
            to("code.s3_bucket", "s3_bucket"),
            to("code.s3_key", "s3_key"),
            to("code.s3_object_version", "s3_object_version"),
            same("source_code_hash"),
            same("description"),
            same("timeout"),
            same("memory_size"),
            prop(
                "environment",
                Target::Map {
                    attr: "environment.variables",
                    key: "key",
                    value: "value",
                },
            ),
            // `log_format` is required in the block; Lambda's default is Text.
            to("log_group", "logging_config.log_group")
                .with(&[("logging_config.log_format", "Text")]),
            TAGS,
        ],
        outputs: &[
            ("function_name", OutputMap::Attr("function_name")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &[
            "arn",
            "function_name",
            "id",
            "invoke_arn",
            "qualified_arn",
            "version",
        ],
        finish: None,
    },
    KindMap {
        kind: "aws.sns_topic",
        tf_type: "aws_sns_topic",
        block: Block::Resource,
        props: &[same("name"), same("display_name"), TAGS],
        outputs: &[("arn", OutputMap::Attr("arn"))],
        attributes: &["arn", "id", "name"],
        finish: None,
    },
    KindMap {
        kind: "aws.sns_topic_subscription",
        tf_type: "aws_sns_topic_subscription",
        block: Block::Resource,
        props: &[
            to("topic", "topic_arn"),
            same("protocol"),
            same("endpoint"),
            same("raw_message_delivery"),
        ],
        outputs: &[("arn", OutputMap::Attr("arn"))],
        attributes: &["arn", "id", "topic_arn", "protocol", "endpoint"],
        finish: Some(auto_confirm),
    },
    KindMap {
        kind: "aws.cloudwatch_metric_alarm",
        tf_type: "aws_cloudwatch_metric_alarm",
        block: Block::Resource,
        props: &[
            same("alarm_name"),
            same("alarm_description"),
            same("metric_name"),
            same("namespace"),
            same("statistic"),
            same("period"),
            same("evaluation_periods"),
            same("datapoints_to_alarm"),
            same("threshold"),
            same("comparison_operator"),
            same("treat_missing_data"),
            DIMENSIONS,
            same("alarm_actions"),
            same("ok_actions"),
            same("insufficient_data_actions"),
            TAGS,
        ],
        outputs: &[
            ("alarm_name", OutputMap::Attr("alarm_name")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &["alarm_name", "arn", "id"],
        finish: None,
    },
];

const DIMENSIONS: PropMap = prop(
    "dimensions",
    Target::Map {
        attr: "dimensions",
        key: "name",
        value: "value",
    },
);

/// The host waits until an HTTP(S) endpoint confirms the subscription (PagerDuty
/// does so by itself); `endpoint_auto_confirms` makes Terraform do the same.
fn auto_confirm(body: &mut Map<String, Value>) {
    if matches!(
        body.get("protocol").and_then(Value::as_str),
        Some("http" | "https")
    ) {
        body.insert("endpoint_auto_confirms".into(), Value::Bool(true));
    }
}
