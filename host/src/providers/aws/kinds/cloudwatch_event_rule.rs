//! `aws.cloudwatch_event_rule`: an EventBridge rule on the default event bus —
//! ECS task stops, GuardDuty findings, AWS Health events matched by a pattern and
//! sent to its targets (`aws.cloudwatch_event_target`).

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, OWN, grant};
use aws_sdk_eventbridge::types::{RuleState, Tag};
use serde_json::{Value, json};

use super::super::object::{TaggedObject, Tags};
use super::super::{AwsProvider, opt, optional, props, tags};
use crate::providers::{Desired, ProviderResult, Resource};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, mirror, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TAGS, TerraformMap, same};

pub const NAME: &str = "aws.cloudwatch_event_rule";
pub type Props = wit::CloudwatchEventRuleProps;
pub type Ref = wit::CloudwatchEventRuleRef;

/// EventBridge's own name rule for rules and targets (PutRule `Name`, Target
/// `Id`: "[\.\-_A-Za-z0-9]+", 1-64 characters).
pub fn name_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_')
}

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::EventRule),
    outputs: &[out("arn"), mirror("name", "name")],
    required: &["name"],
    refs: &[],
    check: |c| {
        c.pattern("name", 1, 64, name_char);
        c.one_of("state", &["ENABLED", "DISABLED"]);
        if let Some(pattern) = c.literal("event_pattern") {
            match serde_json::from_str::<Value>(pattern) {
                Ok(Value::Object(_)) => {}
                Ok(_) => c.bad("event_pattern", "is not a JSON object"),
                Err(e) => c.bad("event_pattern", format!("is not a JSON document: {e}")),
            }
        }
        if let Some(schedule) = c.literal("schedule_expression")
            && !((schedule.starts_with("rate(") || schedule.starts_with("cron("))
                && schedule.ends_with(')'))
        {
            c.bad(
                "schedule_expression",
                format!("{schedule:?} is neither rate(...) nor cron(...)"),
            );
        }
        // PutRule: "you must specify either an event pattern or a schedule
        // expression" (EventBridge API Reference, PutRule, Errors: ValidationException).
        if !c.present("event_pattern") && !c.present("schedule_expression") {
            c.bad(
                "event_pattern",
                "is needed when there is no schedule_expression: a rule matches a pattern, a schedule, or both",
            );
        }
    },
    replace_on_change: &["name"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_cloudwatch_event_rule",
        block: Block::Resource,
        props: &[
            same("name"),
            same("description"),
            same("event_pattern"),
            same("schedule_expression"),
            same("state"),
            TAGS,
        ],
        outputs: &[
            ("arn", OutputMap::Attr("arn")),
            ("name", OutputMap::Attr("name")),
        ],
        attributes: &["arn", "id", "name", "event_pattern", "state"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        // On the default bus the id is the rule's name (`<bus>/<name>` elsewhere).
        format: "{name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_event_rule#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[(
        "arn",
        "arn:{partition}:events:{region}:{account}:rule/{name}",
    )],
    grants: &[
        grant(
            Read,
            &["events:DescribeRule", "events:ListTagsForResource"],
            &[OWN],
        ),
        grant(
            Write,
            &[
                "events:PutRule",
                "events:TagResource",
                "events:UntagResource",
            ],
            &[OWN],
        ),
        grant(Delete, &["events:DeleteRule"], &[OWN]),
        // The drill reads the rule, tests its pattern against the event it
        // builds, and puts that event on the default bus.
        grant(
            Drill,
            &["events:DescribeRule", "events:ListTargetsByRule"],
            &[OWN],
        ),
        grant(Drill, &["events:TestEventPattern"], &[ANY]),
        grant(Drill, &["events:PutEvents"], &[DEFAULT_BUS]),
    ],
};

/// The bus the rules live on (and the drill puts its event on).
const DEFAULT_BUS: &str = "arn:{partition}:events:{region}:{account}:event-bus/default";

pub struct Kind;

fn rule_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

fn rule_resource(name: &str, arn: &str, read: &RuleRead) -> Resource {
    Resource {
        id: name.to_owned(),
        props: props(vec![
            ("name", json!(name)),
            ("description", opt(read.description.as_deref())),
            ("event_pattern", opt(read.event_pattern.as_deref())),
            (
                "schedule_expression",
                opt(read.schedule_expression.as_deref()),
            ),
            ("state", json!(read.state)),
        ]),
        outputs: [
            ("arn".to_owned(), arn.to_owned()),
            ("name".to_owned(), name.to_owned()),
        ]
        .into(),
    }
}

/// What DescribeRule says of a rule, in the props' shape.
struct RuleRead {
    description: Option<String>,
    event_pattern: Option<String>,
    schedule_expression: Option<String>,
    state: String,
}

impl RuleRead {
    fn of(p: &Props) -> RuleRead {
        RuleRead {
            description: p.description.clone().filter(|d| !d.is_empty()),
            event_pattern: p.event_pattern.clone(),
            schedule_expression: p.schedule_expression.clone(),
            state: p.state.clone().unwrap_or_else(|| "ENABLED".into()),
        }
    }
}

/// PutRule creates the rule or replaces every field of an existing one.
async fn put_rule(
    aws: &AwsProvider,
    p: &Props,
    tag_list: Option<Vec<Tag>>,
    address: &str,
) -> ProviderResult<String> {
    let out = aws
        .call(address, || {
            aws.events
                .put_rule()
                .name(&p.name)
                .set_description(p.description.clone())
                .set_event_pattern(p.event_pattern.clone())
                .set_schedule_expression(p.schedule_expression.clone())
                .state(RuleState::from(p.state.as_deref().unwrap_or("ENABLED")))
                .set_tags(tag_list.clone())
                .send()
        })
        .await?;
    Ok(out.rule_arn().unwrap_or_default().to_owned())
}

async fn describe(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || aws.events.describe_rule().name(name).send())
            .await,
    )?;
    Ok(out.map(|o| {
        let read = RuleRead {
            description: o.description().filter(|d| !d.is_empty()).map(str::to_owned),
            event_pattern: o.event_pattern().map(str::to_owned),
            schedule_expression: o
                .schedule_expression()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            state: o.state().map_or("ENABLED", |s| s.as_str()).to_owned(),
        };
        rule_resource(name, o.arn().unwrap_or_default(), &read)
    }))
}

impl TaggedObject for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    const NOUN: &'static str = "EventBridge rule";

    async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let tag_list = rule_tags(&tags(d, p.tags.as_deref()));
        let arn = put_rule(aws, &p, Some(tag_list), &d.address()).await?;
        Ok(rule_resource(&p.name, &arn, &RuleRead::of(&p)))
    }

    /// PutRule replaces every field, "If you omit arguments in PutRule, the
    /// old values for those arguments are not kept" — but not the tags: "If
    /// you are updating an existing rule, any tags you specify in the PutRule
    /// operation are ignored. To update the tags of an existing rule, use
    /// TagResource and UntagResource" (EventBridge API Reference, PutRule).
    async fn update(
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let arn = put_rule(aws, &p, None, &d.address()).await?;
        Ok(rule_resource(&prior.id, &arn, &RuleRead::of(&p)))
    }

    async fn read(
        aws: &AwsProvider,
        name: &str,
        address: &str,
    ) -> ProviderResult<Option<Resource>> {
        describe(aws, name, address).await
    }

    /// By name on the default bus.
    async fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> ProviderResult<Option<(Resource, Option<Tags>)>> {
        let p: Props = d.typed()?;
        Ok(describe(aws, &p.name, address).await?.map(|r| (r, None)))
    }

    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags> {
        let p: Props = d.typed()?;
        Ok(tags(d, p.tags.as_deref()))
    }

    fn tag_target(rule: &Resource) -> Option<String> {
        rule.outputs.get("arn").cloned()
    }

    async fn list_tags(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Tags> {
        let out = aws
            .call(address, || {
                aws.events.list_tags_for_resource().resource_arn(arn).send()
            })
            .await?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn tag(aws: &AwsProvider, arn: &str, tags: &Tags, address: &str) -> ProviderResult<()> {
        let tag_list = rule_tags(tags);
        aws.call(address, || {
            aws.events
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
            aws.events
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    /// DeleteRule refuses a rule that still has targets ("Before you can delete
    /// the rule, you must remove all targets"): the targets are nodes that
    /// depend on the rule, so the engine removes them first.
    async fn remove(aws: &AwsProvider, name: &str, address: &str) -> ProviderResult<()> {
        aws.call(address, || aws.events.delete_rule().name(name).send())
            .await
            .map(drop)
    }

    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        match prop {
            // EventBridge may hand the pattern back reformatted.
            "event_pattern" => super::super::same_json_text(desired, observed),
            // Absent is EventBridge's default.
            "state" => {
                desired.as_str().unwrap_or("ENABLED") == observed.as_str().unwrap_or("ENABLED")
            }
            _ => false,
        }
    }
}
