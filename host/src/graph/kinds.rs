//! The kinds of node the host knows: their outputs, required props, which props
//! must reference which kinds, and the value checks that catch mistakes before any
//! API call. One table entry per kind; the engine and providers look kinds up here.

use chrono::DateTime;
use serde_json::{Map, Value};

use super::token::{self, Part};
use super::{Graph, Node, Problem, ProblemClass};

/// One output a constructor returns.
#[derive(Debug)]
pub struct Output {
    pub name: &'static str,
    /// Stored in state, never printed (`(sensitive)`).
    pub sensitive: bool,
    /// The output always equals this prop (a dotted path), so it is known at plan
    /// time when the prop is.
    pub mirrors: Option<&'static str>,
}

const fn out(name: &'static str) -> Output {
    Output {
        name,
        sensitive: false,
        mirrors: None,
    }
}
const fn secret(name: &'static str) -> Output {
    Output {
        name,
        sensitive: true,
        mirrors: None,
    }
}
const fn mirror(name: &'static str, prop: &'static str) -> Output {
    Output {
        name,
        sensitive: false,
        mirrors: Some(prop),
    }
}

/// A prop (path with `[]` for "each element") whose references must point at
/// nodes of these kinds.
#[derive(Debug)]
pub struct RefRule {
    pub path: &'static str,
    pub kinds: &'static [&'static str],
}

const fn refs(path: &'static str, kinds: &'static [&'static str]) -> RefRule {
    RefRule { path, kinds }
}

#[derive(Debug)]
pub struct KindInfo {
    pub name: &'static str,
    /// A lookup (data source): read, never created or deleted.
    pub lookup: bool,
    pub outputs: &'static [Output],
    /// Top-level props that must be present and, for strings and lists, non-empty.
    pub required: &'static [&'static str],
    pub refs: &'static [RefRule],
    /// Value checks on literal props (references are checked after apply).
    pub check: fn(&mut Checker<'_>),
}

impl KindInfo {
    pub fn provider(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(p, _)| p)
    }

    pub fn output(&self, name: &str) -> Option<&'static Output> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

pub fn lookup(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == kind)
}

pub fn all() -> &'static [KindInfo] {
    KINDS
}

const PD_USER: &[&str] = &["pagerduty.user"];
const PD_TEAM: &[&str] = &["pagerduty.team"];

static KINDS: &[KindInfo] = &[
    // ---------------- PagerDuty ----------------
    KindInfo {
        name: "pagerduty.user",
        lookup: true,
        outputs: &[out("id"), out("name")],
        required: &["email"],
        refs: &[],
        check: |c| {
            if let Some(email) = c.literal("email")
                && !email.contains('@')
            {
                c.bad("email", format!("{email:?} is not an email address"));
            }
        },
    },
    KindInfo {
        name: "pagerduty.vendor",
        lookup: true,
        outputs: &[out("id")],
        required: &["vendor_name"],
        refs: &[],
        check: |_| {},
    },
    KindInfo {
        name: "pagerduty.team",
        lookup: false,
        outputs: &[out("id")],
        required: &["name"],
        refs: &[refs("parent", PD_TEAM)],
        check: |_| {},
    },
    KindInfo {
        name: "pagerduty.team_membership",
        lookup: false,
        outputs: &[out("id")],
        required: &["team", "user"],
        refs: &[refs("team", PD_TEAM), refs("user", PD_USER)],
        check: |c| c.one_of("role", &["observer", "responder", "manager"]),
    },
    KindInfo {
        name: "pagerduty.business_service",
        lookup: false,
        outputs: &[out("id")],
        required: &["name"],
        refs: &[refs("team", PD_TEAM)],
        check: |_| {},
    },
    KindInfo {
        name: "pagerduty.schedule",
        lookup: false,
        outputs: &[out("id")],
        required: &["name", "time_zone", "layers"],
        refs: &[refs("layers[].users[]", PD_USER), refs("teams[]", PD_TEAM)],
        check: check_schedule,
    },
    KindInfo {
        name: "pagerduty.escalation_policy",
        lookup: false,
        outputs: &[out("id")],
        required: &["name", "rules"],
        refs: &[
            refs(
                "rules[].targets[].id",
                &["pagerduty.schedule", "pagerduty.user"],
            ),
            refs("teams[]", PD_TEAM),
        ],
        check: check_escalation_policy,
    },
    KindInfo {
        name: "pagerduty.service",
        lookup: false,
        outputs: &[out("id")],
        required: &["name", "escalation_policy"],
        refs: &[refs("escalation_policy", &["pagerduty.escalation_policy"])],
        check: |c| {
            c.one_of(
                "alert_creation",
                &["create_incidents", "create_alerts_and_incidents"],
            );
            for timeout in ["acknowledgement_timeout", "auto_resolve_timeout"] {
                if c.number(timeout) == Some(0.0) {
                    c.bad(
                        timeout,
                        "must be at least 1 second; leave it out to disable",
                    );
                }
            }
        },
    },
    KindInfo {
        name: "pagerduty.service_dependency",
        lookup: false,
        outputs: &[out("id")],
        required: &["business_service", "supporting_service"],
        refs: &[
            refs("business_service", &["pagerduty.business_service"]),
            refs("supporting_service", &["pagerduty.service"]),
        ],
        check: |_| {},
    },
    KindInfo {
        name: "pagerduty.service_integration",
        lookup: false,
        outputs: &[
            out("id"),
            secret("integration_key"),
            // The endpoint embeds the key.
            secret("cloudwatch_endpoint"),
            out("cloudwatch_protocol"),
        ],
        required: &["service", "vendor"],
        refs: &[
            refs("service", &["pagerduty.service"]),
            refs("vendor", &["pagerduty.vendor"]),
        ],
        check: |_| {},
    },
    // ---------------- AWS ----------------
    KindInfo {
        name: "aws.iam_role",
        lookup: false,
        outputs: &[out("arn"), mirror("name", "name")],
        required: &["name", "assume_role_policy"],
        refs: &[],
        check: |c| {
            c.pattern("name", 1, 64, |ch| {
                ch.is_ascii_alphanumeric() || "+=,.@_-".contains(ch)
            });
            if let Some(policy) = c.literal("assume_role_policy")
                && let Err(e) = serde_json::from_str::<Value>(policy)
            {
                c.bad("assume_role_policy", format!("is not a JSON document: {e}"));
            }
        },
    },
    KindInfo {
        name: "aws.iam_role_policy_attachment",
        lookup: false,
        outputs: &[out("id")],
        required: &["role", "policy_arn"],
        refs: &[refs("role", &["aws.iam_role"])],
        check: |c| {
            if let Some(arn) = c.literal("policy_arn")
                && !arn.starts_with("arn:")
            {
                c.bad("policy_arn", format!("{arn:?} is not an ARN"));
            }
        },
    },
    KindInfo {
        name: "aws.s3_bucket",
        lookup: false,
        outputs: &[mirror("bucket", "bucket"), out("arn")],
        required: &["bucket"],
        refs: &[],
        check: |c| {
            c.pattern("bucket", 3, 63, |ch| {
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.'
            })
        },
    },
    KindInfo {
        name: "aws.s3_object",
        lookup: false,
        outputs: &[
            mirror("bucket", "bucket"),
            mirror("key", "key"),
            out("etag"),
            out("version_id"),
        ],
        required: &["bucket", "key"],
        refs: &[refs("bucket", &["aws.s3_bucket"])],
        check: |c| {
            let source = c.present("source");
            if source == c.present("content") {
                c.bad(
                    "source",
                    "set exactly one of `source` (an asset) and `content`",
                );
            }
            c.asset("source");
        },
    },
    KindInfo {
        name: "aws.cloudwatch_log_group",
        lookup: false,
        outputs: &[mirror("name", "name"), out("arn")],
        required: &["name"],
        refs: &[],
        check: |c| {
            c.pattern("name", 1, 512, |ch| {
                ch.is_ascii_alphanumeric() || "._-/#".contains(ch)
            });
            const RETENTION: &[f64] = &[
                1.0, 3.0, 5.0, 7.0, 14.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 365.0, 400.0,
                545.0, 731.0, 1096.0, 1827.0, 2192.0, 2557.0, 2922.0, 3288.0, 3653.0,
            ];
            if let Some(days) = c.number("retention_in_days")
                && !RETENTION.contains(&days)
            {
                c.bad(
                    "retention_in_days",
                    format!("{days} is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)"),
                );
            }
        },
    },
    KindInfo {
        name: "aws.cloudwatch_log_metric_filter",
        lookup: false,
        outputs: &[
            mirror("name", "name"),
            mirror("metric_name", "metric_transformation.metric_name"),
            mirror("metric_namespace", "metric_transformation.metric_namespace"),
        ],
        required: &["name", "log_group", "metric_transformation"],
        refs: &[refs("log_group", &["aws.cloudwatch_log_group"])],
        check: |c| {
            c.pattern("name", 1, 512, |ch| ch != ':' && ch != '*');
            for field in ["metric_name", "metric_namespace", "metric_value"] {
                let path = format!("metric_transformation.{field}");
                if c.literal(&path) == Some("") {
                    c.bad(&path, "must not be empty");
                }
            }
        },
    },
    KindInfo {
        name: "aws.lambda_function",
        lookup: false,
        outputs: &[mirror("function_name", "function_name"), out("arn")],
        required: &["function_name", "role", "handler", "runtime", "code"],
        refs: &[
            refs("role", &["aws.iam_role"]),
            refs("code.s3_bucket", &["aws.s3_bucket", "aws.s3_object"]),
            refs("code.s3_key", &["aws.s3_object"]),
            refs("log_group", &["aws.cloudwatch_log_group"]),
        ],
        check: check_lambda,
    },
    KindInfo {
        name: "aws.sns_topic",
        lookup: false,
        outputs: &[out("arn")],
        required: &["name"],
        refs: &[],
        check: |c| {
            c.pattern("name", 1, 256, |ch| {
                ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'
            })
        },
    },
    KindInfo {
        name: "aws.sns_topic_subscription",
        lookup: false,
        outputs: &[out("arn")],
        required: &["topic", "protocol", "endpoint"],
        refs: &[refs("topic", &["aws.sns_topic"])],
        check: |c| {
            c.one_of(
                "protocol",
                &[
                    "http",
                    "https",
                    "email",
                    "email-json",
                    "sms",
                    "sqs",
                    "application",
                    "lambda",
                    "firehose",
                ],
            );
            if let (Some(protocol), Some(endpoint)) = (c.literal("protocol"), c.literal("endpoint"))
                && (protocol == "http" || protocol == "https")
                && !endpoint.starts_with(&format!("{protocol}://"))
            {
                c.bad(
                    "endpoint",
                    format!("{endpoint:?} does not start with {protocol}:// as the `{protocol}` protocol needs"),
                );
            }
        },
    },
    KindInfo {
        name: "aws.cloudwatch_metric_alarm",
        lookup: false,
        outputs: &[mirror("alarm_name", "alarm_name"), out("arn")],
        required: &[
            "alarm_name",
            "metric_name",
            "namespace",
            "statistic",
            "period",
            "evaluation_periods",
            "threshold",
            "comparison_operator",
        ],
        refs: &[],
        check: check_alarm,
    },
];

fn check_schedule(c: &mut Checker<'_>) {
    if let Some(tz) = c.literal("time_zone")
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        c.bad(
            "time_zone",
            format!("{tz:?} is not an IANA time zone (e.g. Asia/Tokyo, Europe/Berlin)"),
        );
    }
    for (i, layer) in c.array("layers").iter().enumerate() {
        let at = |field: &str| format!("layers[{i}].{field}");
        if lit(&layer["name"]) == Some("") {
            c.bad(&at("name"), "must not be empty");
        }
        let start = c.date_time(&at("start"));
        c.date_time(&at("rotation_virtual_start"));
        if let (Some(start), Some(end)) = (start, c.date_time(&at("end")))
            && end <= start
        {
            c.bad(&at("end"), "must be after the layer's start");
        }
        if layer["rotation_turn_length_seconds"].as_u64() == Some(0) {
            c.bad(
                &at("rotation_turn_length_seconds"),
                "must be at least 1 second (a rotation of 0 s never hands over)",
            );
        }
        if layer["users"].as_array().is_some_and(Vec::is_empty) {
            c.bad(&at("users"), "a layer needs at least one user");
        }
        let restrictions = layer["restrictions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (j, r) in restrictions.iter().enumerate() {
            let at = |field: &str| format!("layers[{i}].restrictions[{j}].{field}");
            let kind = lit(&r["restriction_type"]);
            if !matches!(
                kind,
                None | Some("daily_restriction" | "weekly_restriction")
            ) {
                c.bad(
                    &at("restriction_type"),
                    "must be daily_restriction or weekly_restriction",
                );
            }
            if let Some(time) = lit(&r["start_time_of_day"])
                && chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").is_err()
            {
                c.bad(
                    &at("start_time_of_day"),
                    format!("{time:?} is not HH:MM:SS"),
                );
            }
            if r["duration_seconds"].as_u64() == Some(0) {
                c.bad(&at("duration_seconds"), "must be at least 1 second");
            }
            let day = r["start_day_of_week"].as_u64();
            if kind == Some("weekly_restriction") && !matches!(day, Some(1..=7)) {
                c.bad(
                    &at("start_day_of_week"),
                    "a weekly restriction needs a day from 1 (Monday) to 7",
                );
            }
        }
    }
}

fn check_escalation_policy(c: &mut Checker<'_>) {
    if let Some(loops) = c.number("num_loops")
        && loops > 9.0
    {
        c.bad(
            "num_loops",
            format!("{loops} is more than PagerDuty's 9 loops"),
        );
    }
    for (i, rule) in c.array("rules").iter().enumerate() {
        if rule["escalation_delay_in_minutes"].as_u64() == Some(0) {
            c.bad(
                &format!("rules[{i}].escalation_delay_in_minutes"),
                "must be at least 1 minute",
            );
        }
        let targets = rule["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            c.bad(
                &format!("rules[{i}].targets"),
                "a rule needs at least one target",
            );
        }
        for (j, target) in targets.iter().enumerate() {
            let path = format!("rules[{i}].targets[{j}]");
            let wanted = match lit(&target["target_type"]) {
                Some("schedule_reference") => "pagerduty.schedule",
                Some("user_reference") => "pagerduty.user",
                other => {
                    c.bad(
                        &format!("{path}.target_type"),
                        format!(
                            "{other:?} is not a target type (schedule_reference or user_reference)"
                        ),
                    );
                    continue;
                }
            };
            // A token must point at the kind the target type names.
            if let Some(kind) = c.referenced_kind(&target["id"])
                && kind != wanted
            {
                c.problem(
                    ProblemClass::WrongReferenceKind,
                    &format!("{path}.id"),
                    format!("target_type says {wanted} but the id refers to a {kind}"),
                );
            }
        }
    }
}

fn check_lambda(c: &mut Checker<'_>) {
    let code = c.node.props.get("code").cloned().unwrap_or(Value::Null);
    let asset = !code["asset"].is_null();
    let s3 = !code["s3_bucket"].is_null() || !code["s3_key"].is_null();
    if asset == s3 {
        c.bad(
            "code",
            "set either `asset` (direct upload) or `s3_bucket` + `s3_key`",
        );
    } else if s3 && (code["s3_bucket"].is_null() || code["s3_key"].is_null()) {
        c.bad("code", "`s3_bucket` and `s3_key` go together");
    }
    c.asset("code.asset");
    if let Some(t) = c.number("timeout")
        && !(1.0..=900.0).contains(&t)
    {
        c.bad("timeout", format!("{t} s is outside Lambda's 1-900 s"));
    }
    if let Some(m) = c.number("memory_size")
        && !(128.0..=10240.0).contains(&m)
    {
        c.bad(
            "memory_size",
            format!("{m} MB is outside Lambda's 128-10240 MB"),
        );
    }
}

fn check_alarm(c: &mut Checker<'_>) {
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

/// The literal string value, if the value is a string with no references.
pub fn lit(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !token::has_token_chars(s))
}

/// Look up a dotted path (`code.s3_key`, `layers[0].start` is not supported:
/// index arrays yourself) in props.
pub fn get_path<'a>(props: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut value = props.get(segments.next()?)?;
    for segment in segments {
        value = value.get(segment)?;
    }
    Some(value)
}

/// Values at a path where `name[]` means "each element of the array `name`",
/// with the concrete path of each (`rules[0].targets[1].id`).
pub fn select<'a>(props: &'a Map<String, Value>, path: &str) -> Vec<(String, &'a Value)> {
    let mut current: Vec<(String, &Value)> = vec![(String::new(), &Value::Null)];
    for (depth, segment) in path.split('.').enumerate() {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        let mut next = Vec::new();
        for (prefix, value) in current {
            let child = if depth == 0 {
                props.get(name)
            } else {
                value.get(name)
            };
            let Some(child) = child else { continue };
            let here = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            };
            if each {
                for (i, item) in child.as_array().into_iter().flatten().enumerate() {
                    next.push((format!("{here}[{i}]"), item));
                }
            } else {
                next.push((here, child));
            }
        }
        current = next;
    }
    current
}

/// Helpers the per-kind checks use; they only look at literal values.
pub struct Checker<'a> {
    pub node: &'a Node,
    pub graph: &'a Graph,
    pub problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    pub fn problem(&mut self, class: ProblemClass, prop: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::prop(class, self.node, prop, message));
    }

    pub fn bad(&mut self, prop: &str, message: impl Into<String>) {
        self.problem(ProblemClass::BadValue, prop, message);
    }

    pub fn value(&self, path: &str) -> &Value {
        get_path(&self.node.props, path).unwrap_or(&Value::Null)
    }

    pub fn literal(&self, path: &str) -> Option<&str> {
        lit(self.value(path))
    }

    pub fn number(&self, path: &str) -> Option<f64> {
        self.value(path).as_f64()
    }

    pub fn present(&self, path: &str) -> bool {
        !self.value(path).is_null()
    }

    pub fn array(&self, path: &str) -> Vec<Value> {
        self.value(path).as_array().cloned().unwrap_or_default()
    }

    pub fn one_of(&mut self, path: &str, allowed: &[&str]) {
        if let Some(v) = self.literal(path)
            && !allowed.contains(&v)
        {
            let message = format!("{v:?} is not one of: {}", allowed.join(", "));
            self.bad(path, message);
        }
    }

    /// Length bounds and allowed characters of a literal name.
    pub fn pattern(&mut self, path: &str, min: usize, max: usize, allowed: fn(char) -> bool) {
        let Some(v) = self.literal(path) else { return };
        let len = v.chars().count();
        if len < min || len > max {
            let message = format!("{v:?} must be {min} to {max} characters long");
            self.bad(path, message);
        } else if let Some(ch) = v.chars().find(|&ch| !allowed(ch)) {
            let message = format!("{v:?} contains {ch:?}, which is not allowed here");
            self.bad(path, message);
        }
    }

    /// An ISO 8601 / RFC 3339 date-time at a path with `[i]` indices resolved.
    pub fn date_time(&mut self, path: &str) -> Option<DateTime<chrono::FixedOffset>> {
        let value = select_indexed(&self.node.props, path)?;
        let s = lit(value)?;
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t),
            Err(_) => {
                let message = format!(
                    "{s:?} is not an ISO 8601 date-time with an offset (e.g. 2023-09-16T00:00:00+09:00)"
                );
                self.bad(path, message);
                None
            }
        }
    }

    /// A prop that names an asset must name one the guest made with `host.asset`.
    pub fn asset(&mut self, path: &str) {
        if let Some(id) = self.literal(path)
            && !self.graph.assets.contains_key(id)
        {
            let message =
                format!("{id:?} is not an asset of this blueprint (use the id host.asset returns)");
            self.problem(ProblemClass::UnknownAsset, path, message);
        }
    }

    /// The kind of the node a value references, when it is exactly one token.
    pub fn referenced_kind(&self, value: &Value) -> Option<String> {
        let parts = token::parse(value.as_str()?).ok()?;
        match parts.as_slice() {
            [Part::Ref(r)] => self.graph.node(&r.node).map(|n| n.kind.clone()),
            _ => None,
        }
    }
}

/// A value at a concrete path like `layers[0].start`.
pub fn select_indexed<'a>(props: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut value: Option<&Value> = None;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let child = match value {
            None => props.get(name)?,
            Some(v) => v.get(name)?,
        };
        value = Some(match index {
            Some(i) => child.get(i)?,
            None => child,
        });
    }
    value
}
