//! `aws.cloudwatch_metric_alarm`: a metric threshold whose actions notify
//! topics (PutMetricAlarm creates and updates alike).

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, OWN, grant};
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, StandardUnit, Statistic,
    Tag,
};
use serde_json::{Value, json};

use super::super::object::{TaggedObject, Tags};
use super::super::{AwsProvider, props, tags};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{Checker, KindInfo, Role, mirror, out, parse_as};
use blueprint_model::terraform::{
    Block, OutputMap, PropMap, TAGS, Target, TerraformMap, prop, same,
};

pub const NAME: &str = "aws.cloudwatch_metric_alarm";
pub type Props = wit::CloudwatchMetricAlarmProps;
pub type Ref = wit::CloudwatchMetricAlarmRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Alarm),
    outputs: &[mirror("alarm_name", "alarm_name"), out("arn")],
    // A single metric (`metric_name`, `namespace`, `statistic`, `period`) or
    // `metric_queries`: `check_alarm` holds the choice.
    required: &["alarm_name", "evaluation_periods", "comparison_operator"],
    refs: &[],
    check: check_alarm,
    replace_on_change: &["alarm_name"],
    create_before_destroy: false,
    terraform: TerraformMap {
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
            prop(
                "metric_queries",
                Target::Blocks {
                    block: "metric_query",
                    fields: METRIC_QUERY,
                },
            ),
            same("threshold_metric_id"),
        ],
        outputs: &[
            ("alarm_name", OutputMap::Attr("alarm_name")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &["alarm_name", "arn", "id"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{alarm_name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_metric_alarm#import",
        identity: &["alarm_name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[
        (
            "arn",
            "arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarm_name}",
        ),
        ("alarm_name", "{alarm_name}"),
    ],
    grants: &[
        grant(Read, &["cloudwatch:DescribeAlarms"], &[ANY]),
        grant(Read, &["cloudwatch:ListTagsForResource"], &[OWN]),
        grant(
            Write,
            &[
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            &[OWN],
        ),
        grant(Delete, &["cloudwatch:DeleteAlarms"], &[OWN]),
        // The drill sets the alarm's state, then reads it back.
        grant(Drill, &["cloudwatch:DescribeAlarms"], &[ANY]),
        grant(Drill, &["cloudwatch:SetAlarmState"], &[OWN]),
    ],
};

const DIMENSIONS: PropMap = prop(
    "dimensions",
    Target::Map {
        attr: "dimensions",
        key: "name",
        value: "value",
    },
);

const METRIC_QUERY: &[PropMap] = &[
    same("id"),
    same("expression"),
    same("label"),
    same("return_data"),
    same("period"),
    prop(
        "metric",
        Target::Blocks {
            block: "metric",
            fields: METRIC,
        },
    ),
];

const METRIC: &[PropMap] = &[
    same("metric_name"),
    same("namespace"),
    same("period"),
    same("stat"),
    same("unit"),
    DIMENSIONS,
];

fn check_alarm(c: &mut Checker<'_>) {
    check_metric_choice(c);
    c.one_of(
        "statistic",
        &["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
    );
    c.one_of(
        "comparison_operator",
        &[
            "GreaterThanOrEqualToThreshold",
            "GreaterThanThreshold",
            "LessThanThreshold",
            "LessThanOrEqualToThreshold",
            "LessThanLowerOrGreaterThanUpperThreshold",
            "LessThanLowerThreshold",
            "GreaterThanUpperThreshold",
        ],
    );
    c.one_of(
        "treat_missing_data",
        &["breaching", "notBreaching", "ignore", "missing"],
    );
    if let Some(period) = c.number("period") {
        let ok = [10.0, 20.0, 30.0].contains(&period) || (period >= 60.0 && period % 60.0 == 0.0);
        if !ok {
            c.bad(
                "period",
                format!("{period} s is not 10, 20, 30 or a multiple of 60"),
            );
        }
    }
    for (i, query) in c.array("metric_queries").iter().enumerate() {
        if let Some(period) = query["metric"]["period"].as_f64()
            && !([10.0, 20.0, 30.0].contains(&period) || (period >= 60.0 && period % 60.0 == 0.0))
        {
            c.bad(
                &format!("metric_queries[{i}].metric.period"),
                format!("{period} s is not 10, 20, 30 or a multiple of 60"),
            );
        }
    }
    let evaluation = c.number("evaluation_periods");
    if evaluation == Some(0.0) {
        c.bad("evaluation_periods", "must be at least 1");
    }
    if let (Some(points), Some(evaluation)) = (c.number("datapoints_to_alarm"), evaluation)
        && (points < 1.0 || points > evaluation)
    {
        c.bad(
            "datapoints_to_alarm",
            format!("must be between 1 and evaluation_periods ({evaluation})"),
        );
    }
}

/// An alarm watches one metric or a set of queries (CloudWatch API Reference,
/// PutMetricAlarm: "If you are creating an alarm based on a math expression,
/// you cannot specify [MetricName, Namespace, Statistic, Period] ... and
/// instead you use the Metrics parameter"); its queries have unique ids, each
/// one metric or one expression, and exactly one of them is what the alarm
/// evaluates — or, for an anomaly alarm, the band `threshold_metric_id` names.
fn check_metric_choice(c: &mut Checker<'_>) {
    let single = ["metric_name", "namespace", "statistic", "period"];
    let queries = c.array("metric_queries");
    let band = c.literal("threshold_metric_id").map(str::to_owned);
    if queries.is_empty() {
        for prop in single {
            if !c.present(prop) {
                c.bad(prop, "is required (or metric_queries)");
            }
        }
        if band.is_some() {
            c.bad("threshold_metric_id", "names a query of metric_queries");
        }
    } else {
        for prop in single {
            if c.present(prop) {
                c.bad(prop, "not with metric_queries: put the metric in a query");
            }
        }
    }
    match (&band, c.present("threshold")) {
        (None, false) => c.bad("threshold", "is required (or threshold_metric_id)"),
        (Some(_), true) => c.bad(
            "threshold",
            "not with threshold_metric_id: the band is the threshold",
        ),
        _ => {}
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut returning = 0;
    for (i, q) in queries.iter().enumerate() {
        let at = format!("metric_queries[{i}]");
        let id = q["id"].as_str().unwrap_or_default();
        let mut chars = id.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            c.bad(
                &format!("{at}.id"),
                format!(
                    "{id:?} must start with a lower-case letter and hold only letters, digits and _"
                ),
            );
        } else if !ids.insert(id.to_owned()) {
            c.bad(
                &format!("{at}.id"),
                format!("{id:?} is the id of another query"),
            );
        }
        match (q["expression"].is_string(), q["metric"].is_object()) {
            (true, true) => c.bad(&at, "has an expression and a metric: one or the other"),
            (false, false) => c.bad(&at, "needs an expression or a metric"),
            _ => {}
        }
        let returns = q["return_data"].as_bool().unwrap_or(true);
        if returns && band.as_deref() != Some(id) {
            returning += 1;
        }
        if band.as_deref() == Some(id)
            && !q["expression"]
                .as_str()
                .is_some_and(|e| e.contains("ANOMALY_DETECTION_BAND"))
        {
            c.bad(
                "threshold_metric_id",
                format!("query {id:?} is not an ANOMALY_DETECTION_BAND expression"),
            );
        }
    }
    if !queries.is_empty() && returning != 1 {
        c.bad(
            "metric_queries",
            format!(
                "{returning} queries return data: exactly one must (set return_data = false on the others)"
            ),
        );
    }
    if let Some(band) = &band
        && !queries.is_empty()
        && !ids.contains(band)
    {
        c.bad(
            "threshold_metric_id",
            format!("{band:?} is not the id of a query"),
        );
    }
}

fn metric_queries(p: &Props) -> Option<Vec<MetricDataQuery>> {
    let dimensions = |ds: &Vec<wit::Dimension>| {
        ds.iter()
            .map(|x| Dimension::builder().name(&x.name).value(&x.value).build())
            .collect()
    };
    let stat = |m: &wit::MetricStat| {
        MetricStat::builder()
            .metric(
                Metric::builder()
                    .metric_name(&m.metric_name)
                    .namespace(&m.namespace)
                    .set_dimensions(m.dimensions.as_ref().map(dimensions))
                    .build(),
            )
            .period(m.period as i32)
            .stat(&m.stat)
            .set_unit(m.unit.as_deref().map(StandardUnit::from))
            .build()
    };
    let queries = p.metric_queries.as_ref()?;
    Some(
        queries
            .iter()
            .map(|q| {
                MetricDataQuery::builder()
                    .id(&q.id)
                    .set_expression(q.expression.clone())
                    .set_metric_stat(q.metric.as_ref().map(stat))
                    .set_label(q.label.clone())
                    .set_return_data(q.return_data)
                    .set_period(q.period.map(|v| v as i32))
                    .build()
            })
            .collect(),
    )
}

/// The queries as DescribeAlarms answers them, in the props' shape.
fn queries_of(queries: &[MetricDataQuery]) -> Value {
    if queries.is_empty() {
        return Value::Null;
    }
    let opt = super::super::opt::<&str>;
    Value::Array(
        queries
            .iter()
            .map(|q| {
                let metric = q.metric_stat().map_or(Value::Null, |s| {
                    let m = s.metric();
                    let dimensions: Vec<Value> = m
                        .map(|m| m.dimensions())
                        .unwrap_or_default()
                        .iter()
                        .map(|x| json!({"name": x.name(), "value": x.value()}))
                        .collect();
                    json!({
                        "metric_name": opt(m.and_then(|m| m.metric_name())),
                        "namespace": opt(m.and_then(|m| m.namespace())),
                        "dimensions": if dimensions.is_empty() { Value::Null } else { Value::Array(dimensions) },
                        "period": s.period(),
                        "stat": s.stat(),
                        "unit": opt(s.unit().map(|u| u.as_str())),
                    })
                });
                json!({
                    "id": q.id(),
                    "expression": opt(q.expression()),
                    "metric": metric,
                    "label": opt(q.label()),
                    "return_data": q.return_data(),
                    "period": q.period(),
                })
            })
            .collect(),
    )
}

/// Queries compare without their absent fields, `return_data` absent being
/// CloudWatch's default, true.
fn normal_queries(queries: &Value) -> Value {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    let mut out = strip(queries);
    if let Value::Array(items) = &mut out {
        for q in items {
            if let Value::Object(m) = q {
                m.entry("return_data").or_insert(Value::Bool(true));
            }
        }
    }
    out
}

pub struct Kind;

async fn put(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let p: Props = d.typed()?;
    let address = d.address();
    let dimensions: Option<Vec<Dimension>> = p.dimensions.as_ref().map(|ds| {
        ds.iter()
            .map(|x| Dimension::builder().name(&x.name).value(&x.value).build())
            .collect()
    });
    let tag_list: Vec<Tag> = tags(d, p.tags.as_deref())
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let int = |v: u32| Some(v as i32);
    let queries = metric_queries(&p);
    aws.call(&address, || {
        aws.cloudwatch
            .put_metric_alarm()
            .alarm_name(&p.alarm_name)
            .set_alarm_description(p.alarm_description.clone())
            .set_metric_name(p.metric_name.clone())
            .set_namespace(p.namespace.clone())
            .set_statistic(p.statistic.as_deref().map(Statistic::from))
            .set_period(p.period.and_then(int))
            .set_evaluation_periods(int(p.evaluation_periods))
            .set_datapoints_to_alarm(p.datapoints_to_alarm.and_then(int))
            .set_threshold(p.threshold)
            .set_metrics(queries.clone())
            .set_threshold_metric_id(p.threshold_metric_id.clone())
            .comparison_operator(ComparisonOperator::from(p.comparison_operator.as_str()))
            .set_treat_missing_data(p.treat_missing_data.clone())
            .set_dimensions(dimensions.clone())
            .set_alarm_actions(Some(p.alarm_actions.clone()))
            .set_ok_actions(p.ok_actions.clone())
            .set_insufficient_data_actions(p.insufficient_data_actions.clone())
            .set_tags(Some(tag_list.clone()))
            .send()
    })
    .await?;
    describe(aws, &p.alarm_name, &address)
        .await?
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Transient,
                format!("{address}: written but not listed yet"),
            )
        })
}

async fn describe(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let read = aws.alarm_named(name, address).await?;
    let Some(a) = read.metric_alarm(name) else {
        return Ok(None);
    };
    let list = |items: &[String]| json!(items);
    let dimensions: Vec<Value> = a
        .dimensions()
        .iter()
        .map(|x| json!({"name": x.name(), "value": x.value()}))
        .collect();
    let opt = super::super::opt::<&str>;
    Ok(Some(Resource {
        id: name.to_owned(),
        props: props(vec![
            ("alarm_name", json!(name)),
            ("alarm_description", opt(a.alarm_description())),
            ("metric_name", opt(a.metric_name())),
            ("namespace", opt(a.namespace())),
            ("statistic", opt(a.statistic().map(|s| s.as_str()))),
            ("period", a.period().map_or(Value::Null, |p| json!(p))),
            (
                "evaluation_periods",
                a.evaluation_periods().map_or(Value::Null, |p| json!(p)),
            ),
            (
                "datapoints_to_alarm",
                a.datapoints_to_alarm().map_or(Value::Null, |p| json!(p)),
            ),
            ("threshold", a.threshold().map_or(Value::Null, |t| json!(t))),
            (
                "comparison_operator",
                opt(a.comparison_operator().map(|c| c.as_str())),
            ),
            ("treat_missing_data", opt(a.treat_missing_data())),
            (
                "dimensions",
                if dimensions.is_empty() {
                    Value::Null
                } else {
                    Value::Array(dimensions)
                },
            ),
            ("alarm_actions", list(a.alarm_actions())),
            ("ok_actions", list(a.ok_actions())),
            (
                "insufficient_data_actions",
                list(a.insufficient_data_actions()),
            ),
            ("metric_queries", queries_of(a.metrics())),
            ("threshold_metric_id", opt(a.threshold_metric_id())),
        ]),
        outputs: [
            ("alarm_name".to_owned(), name.to_owned()),
            (
                "arn".to_owned(),
                a.alarm_arn().unwrap_or_default().to_owned(),
            ),
        ]
        .into(),
    }))
}

/// The two alarm kinds (metric, composite) differ in how an alarm is written
/// (PutMetricAlarm, PutCompositeAlarm) and read (DescribeAlarms of its type);
/// the rest — tags, delete, find — is any alarm's, implemented once here.
pub(super) trait AlarmKind: Send + Sync + 'static {
    fn info() -> &'static KindInfo;
    /// A create's calls to rate-limited APIs ([`TaggedObject::PACED_CALLS`]).
    const PACED_CALLS: &'static [&'static str];
    /// Writes the alarm (create and update alike) and reads it back.
    fn put(
        aws: &AwsProvider,
        d: &Desired<'_>,
    ) -> impl Future<Output = ProviderResult<Resource>> + Send;
    fn describe(
        aws: &AwsProvider,
        name: &str,
        address: &str,
    ) -> impl Future<Output = ProviderResult<Option<Resource>>> + Send;
    /// The desired alarm's name and its tags (the user's and the host's).
    fn name_and_tags(d: &Desired<'_>) -> ProviderResult<(String, Tags)>;
    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool;
}

impl<A: AlarmKind> TaggedObject for A {
    fn info() -> &'static KindInfo {
        A::info()
    }

    const NOUN: &'static str = "alarm";
    const PACED_CALLS: &'static [&'static str] = A::PACED_CALLS;

    async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        A::put(aws, d).await
    }

    /// "If you are using this operation to update an existing alarm, any tags
    /// you specify in this parameter are ignored. To change the tags of an
    /// existing alarm, use TagResource or UntagResource." (CloudWatch API
    /// Reference, PutMetricAlarm; PutCompositeAlarm says the same.)
    async fn update(
        aws: &AwsProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        A::put(aws, d).await
    }

    async fn read(
        aws: &AwsProvider,
        name: &str,
        address: &str,
    ) -> ProviderResult<Option<Resource>> {
        A::describe(aws, name, address).await
    }

    async fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> ProviderResult<Option<(Resource, Option<Tags>)>> {
        let (name, _) = A::name_and_tags(d)?;
        Ok(A::describe(aws, &name, address).await?.map(|a| (a, None)))
    }

    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags> {
        Ok(A::name_and_tags(d)?.1)
    }

    fn tag_target(alarm: &Resource) -> Option<String> {
        alarm.outputs.get("arn").cloned()
    }

    async fn list_tags(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Tags> {
        let out = aws
            .call(address, || {
                aws.cloudwatch
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
            })
            .await?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }

    async fn tag(aws: &AwsProvider, arn: &str, tags: &Tags, address: &str) -> ProviderResult<()> {
        let tag_list: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        aws.call(address, || {
            aws.cloudwatch
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tag_list.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn untag(
        aws: &AwsProvider,
        arn: &str,
        keys: Vec<String>,
        address: &str,
    ) -> ProviderResult<()> {
        aws.call(address, || {
            aws.cloudwatch
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn remove(aws: &AwsProvider, name: &str, address: &str) -> ProviderResult<()> {
        aws.call(address, || {
            aws.cloudwatch.delete_alarms().alarm_names(name).send()
        })
        .await
        .map(drop)
    }

    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        A::equivalent(prop, desired, observed)
    }
}

impl AlarmKind for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    // PutMetricAlarm (3 per second), then DescribeAlarms to read it back.
    const PACED_CALLS: &'static [&'static str] =
        &["CLOUDWATCH put_metric_alarm", "CLOUDWATCH describe_alarms"];

    async fn put(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        put(aws, d).await
    }

    async fn describe(
        aws: &AwsProvider,
        name: &str,
        address: &str,
    ) -> ProviderResult<Option<Resource>> {
        describe(aws, name, address).await
    }

    fn name_and_tags(d: &Desired<'_>) -> ProviderResult<(String, Tags)> {
        let p: Props = d.typed()?;
        Ok((p.alarm_name, tags(d, p.tags.as_deref())))
    }

    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "metric_queries" && normal_queries(desired) == normal_queries(observed)
    }
}
