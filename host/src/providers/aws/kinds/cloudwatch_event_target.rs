//! `aws.cloudwatch_event_target`: where an EventBridge rule sends what it
//! matched — for an alert path, the topic PagerDuty is subscribed to.

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{Iam, grant};
use async_trait::async_trait;
use aws_sdk_eventbridge::types::Target;
use serde_json::{Value, json};

use super::super::{AwsProvider, classify, gone_ok, opt, optional, props};
use super::cloudwatch_event_rule::name_char;
use crate::providers::{
    Desired, ErrorClass, Found, Identity, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, Role, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "aws.cloudwatch_event_target";
pub type Props = wit::CloudwatchEventTargetProps;
pub type Ref = wit::CloudwatchEventTargetRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::EventTarget),
    outputs: &[out("id")],
    required: &["rule", "target_id", "arn"],
    refs: &[refs("rule", &[super::cloudwatch_event_rule::NAME])],
    check: |c| {
        c.pattern("target_id", 1, 64, name_char);
        if let Some(input) = c.literal("input")
            && let Err(e) = serde_json::from_str::<Value>(input)
        {
            c.bad("input", format!("is not a JSON document: {e}"));
        }
        // "You must use JSON dot notation, not bracket notation" and only one of
        // Input, InputPath, InputTransformer (EventBridge API Reference, Target).
        if c.present("input") && c.present("input_path") {
            c.bad(
                "input_path",
                "cannot be set with input: a target sends the event, a part of it, or a constant",
            );
        }
        if let Some(path) = c.literal("input_path")
            && !path.starts_with('$')
        {
            c.bad("input_path", format!("{path:?} is not a JSONPath ($...)"));
        }
    },
    replace_on_change: &["rule", "target_id"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_cloudwatch_event_target",
        block: Block::Resource,
        props: &[
            same("rule"),
            same("target_id"),
            same("arn"),
            same("input"),
            same("input_path"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "rule", "target_id", "arn", "input", "input_path"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        // On the default bus (`<bus>/<rule>/<target_id>` elsewhere).
        format: "{rule}/{target_id}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_event_target#import",
        identity: &["rule", "target_id"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// Target calls are authorized on the rule.
pub static IAM: Iam = Iam {
    outputs: &[],
    grants: &[
        grant(Read, &["events:ListTargetsByRule"], &[RULE]),
        grant(Write, &["events:PutTargets"], &[RULE]),
        grant(Delete, &["events:RemoveTargets"], &[RULE]),
        grant(Drill, &["events:ListTargetsByRule"], &[RULE]),
    ],
};
const RULE: &str = "{rule>arn|arn:{partition}:events:{region}:{account}:rule/{rule}}";

pub struct Kind;

/// `<rule>/<target_id>`, the id `terraform import` takes on the default bus.
fn target_address(rule: &str, id: &str) -> String {
    format!("{rule}/{id}")
}

fn split_id(id: &str) -> ProviderResult<(&str, &str)> {
    blueprint_model::import_id::split2(id, '/', ID_FORMAT)
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, e))
}

const ID_FORMAT: &str = "RULE/TARGET_ID";

/// `terraform import aws_cloudwatch_event_target.x RULE/TARGET_ID` (the
/// provider's "Import" section, default bus): the prior resource `read` takes.
/// Neither part holds a `/` (EventBridge's name rule).
fn import_prior(id: &str, _props: &serde_json::Map<String, Value>) -> Result<Resource, String> {
    let (rule, target) = blueprint_model::import_id::split2(id, '/', ID_FORMAT)?;
    if target.contains('/') {
        return Err(format!(
            "{id:?} is not of the form {ID_FORMAT} (a rule on another bus, BUS/RULE/TARGET_ID, is not supported)"
        ));
    }
    Ok(Resource {
        id: target_address(rule, target),
        ..Resource::default()
    })
}

fn target_resource(rule: &str, t: &Target) -> Resource {
    let id = target_address(rule, t.id());
    Resource {
        id: id.clone(),
        props: props(vec![
            ("rule", json!(rule)),
            ("target_id", json!(t.id())),
            ("arn", json!(t.arn())),
            ("input", opt(t.input())),
            ("input_path", opt(t.input_path())),
        ]),
        outputs: [("id".to_owned(), id)].into(),
    }
}

/// The rule's target `target_id`; `None` when the rule is gone or has no such
/// target. ListTargetsByRule answers in pages (`NextToken`): every page is read.
async fn read_target(
    aws: &AwsProvider,
    rule: &str,
    target_id: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let mut token: Option<String> = None;
    loop {
        let Some(page) = optional(
            aws.call(address, || {
                aws.events
                    .list_targets_by_rule()
                    .rule(rule)
                    .set_next_token(token.clone())
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        if let Some(t) = page.targets().iter().find(|t| t.id() == target_id) {
            return Ok(Some(target_resource(rule, t)));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    }
}

/// PutTargets and RemoveTargets answer 200 with the entries they failed
/// (`FailedEntryCount`, `FailedEntries`): a failed entry is this node's error.
fn entry_failure(address: &str, code: Option<&str>, message: Option<&str>) -> ProviderError {
    let code = code.unwrap_or("Unknown");
    ProviderError::new(
        classify(code, 200),
        format!(
            "{address}: EventBridge refused the target: {code}: {}",
            message.unwrap_or("no message")
        ),
    )
}

async fn put_target(aws: &AwsProvider, p: &Props, address: &str) -> ProviderResult<Resource> {
    let target = Target::builder()
        .id(&p.target_id)
        .arn(&p.arn)
        .set_input(p.input.clone())
        .set_input_path(p.input_path.clone())
        .build()
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, format!("{address}: {e}")))?;
    let out = aws
        .call(address, || {
            aws.events
                .put_targets()
                .rule(&p.rule)
                .targets(target.clone())
                .send()
        })
        .await?;
    if let Some(failed) = out.failed_entries().first() {
        return Err(entry_failure(
            address,
            failed.error_code(),
            failed.error_message(),
        ));
    }
    Ok(target_resource(&p.rule, &target))
}

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Found by what it belongs to: its rule and its id there.
    fn identity(&self) -> Identity {
        Identity::Parents
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        put_target(aws, &p, &d.address()).await
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        let (rule, id) = split_id(&prior.id)?;
        read_target(aws, rule, id, &format!("EventBridge target {}", prior.id)).await
    }

    /// PutTargets replaces a target with the same id.
    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        put_target(aws, &p, &d.address()).await
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        let (rule, id) = split_id(&prior.id)?;
        let address = format!("EventBridge target {}", prior.id);
        let out = optional(
            aws.call(&address, || {
                aws.events.remove_targets().rule(rule).ids(id).send()
            })
            .await,
        )?;
        match out.as_ref().and_then(|o| o.failed_entries().first()) {
            Some(failed) => gone_ok(Err(entry_failure(
                &address,
                failed.error_code(),
                failed.error_message(),
            ))),
            None => Ok(()),
        }
    }

    /// The target `target_id` of this node's rule (the rule is this
    /// blueprint's, found by its own tags).
    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        read_target(aws, &p.rule, &p.target_id, &d.address())
            .await
            .map(Found::part)
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "input" && super::super::same_json_text(desired, observed)
    }
}
