//! `aws.cloudwatch_composite_alarm`: an alarm over other alarms' states
//! (PutCompositeAlarm creates and updates alike). CloudWatch refuses a rule
//! that names an alarm which does not exist yet ("Could not save the composite
//! alarm as alarms [...] in the alarm rule do not exist"), so the rule's
//! references to other alarms order them first; DescribeAlarms lists
//! composite alarms only when asked for them (`AlarmTypes`).

use super::super::access::Phase::{Delete, Drill, Read, Write};
use super::super::access::{ANY, Iam, OWN, grant};
use aws_sdk_cloudwatch::types::Tag;
use serde_json::{Value, json};

use super::super::{AwsProvider, props, tags};
use super::cloudwatch_metric_alarm::AlarmKind;
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{Checker, KindInfo, Role, mirror, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TAGS, TerraformMap, same};

pub const NAME: &str = "aws.cloudwatch_composite_alarm";
pub type Props = wit::CloudwatchCompositeAlarmProps;
pub type Ref = wit::CloudwatchCompositeAlarmRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    // An alarm like any other to what follows its actions (check, drill).
    role: Some(Role::Alarm),
    outputs: &[mirror("alarm_name", "alarm_name"), out("arn")],
    required: &["alarm_name", "alarm_rule"],
    refs: &[],
    check: check_composite,
    replace_on_change: &["alarm_name"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_cloudwatch_composite_alarm",
        block: Block::Resource,
        props: &[
            same("alarm_name"),
            same("alarm_description"),
            same("alarm_rule"),
            same("actions_enabled"),
            same("alarm_actions"),
            same("ok_actions"),
            same("insufficient_data_actions"),
            TAGS,
        ],
        outputs: &[
            ("alarm_name", OutputMap::Attr("alarm_name")),
            ("arn", OutputMap::Attr("arn")),
        ],
        attributes: &["alarm_name", "arn", "id", "alarm_rule"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{alarm_name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cloudwatch_composite_alarm#import",
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
                "cloudwatch:PutCompositeAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            &[OWN],
        ),
        grant(Delete, &["cloudwatch:DeleteAlarms"], &[OWN]),
        grant(Drill, &["cloudwatch:DescribeAlarms"], &[ANY]),
        grant(Drill, &["cloudwatch:SetAlarmState"], &[OWN]),
    ],
};

/// The states a rule can ask of an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Alarm,
    Ok,
    InsufficientData,
}

impl State {
    pub fn of(value: &str) -> Option<State> {
        match value {
            "ALARM" => Some(State::Alarm),
            "OK" => Some(State::Ok),
            "INSUFFICIENT_DATA" => Some(State::InsufficientData),
            _ => None,
        }
    }
}

/// A composite alarm's rule, parsed: CloudWatch's grammar ("Creating a
/// composite alarm", CloudWatch User Guide): `ALARM(x)`, `OK(x)`,
/// `INSUFFICIENT_DATA(x)`, `TRUE`, `FALSE`, `NOT`, `AND`, `OR`, parentheses;
/// `NOT` binds tighter than `AND`, `AND` tighter than `OR`.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Is(State, String),
    Const(bool),
    Not(Box<Rule>),
    And(Box<Rule>, Box<Rule>),
    Or(Box<Rule>, Box<Rule>),
}

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, String> {
        let mut p = RuleParser { text, at: 0 };
        let rule = p.or()?;
        p.space();
        if p.at < text.len() {
            return Err(format!(
                "unsupported token {:?} at char {}",
                p.rest().chars().next().unwrap_or(' '),
                p.at
            ));
        }
        Ok(rule)
    }

    /// The alarms the rule names, in order, each once.
    pub fn alarms(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            Rule::Is(_, name) if !out.contains(name) => out.push(name.clone()),
            Rule::Is(..) | Rule::Const(_) => {}
            Rule::Not(r) => r.collect(out),
            Rule::And(a, b) | Rule::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// The rule's value given each named alarm's state (None: unknown).
    pub fn eval(&self, state_of: &dyn Fn(&str) -> Option<State>) -> Option<bool> {
        match self {
            Rule::Is(wanted, name) => state_of(name).map(|s| s == *wanted),
            Rule::Const(b) => Some(*b),
            Rule::Not(r) => r.eval(state_of).map(|b| !b),
            Rule::And(a, b) => match (a.eval(state_of), b.eval(state_of)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Rule::Or(a, b) => match (a.eval(state_of), b.eval(state_of)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        }
    }
}

/// An alarm named in a rule may be its name or its ARN.
pub fn alarm_name_of(reference: &str) -> &str {
    match reference.split_once(":alarm:") {
        Some((arn, name)) if arn.starts_with("arn:") => name,
        _ => reference,
    }
}

struct RuleParser<'t> {
    text: &'t str,
    at: usize,
}

impl RuleParser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    /// A keyword, not the start of a longer word.
    fn keyword(&mut self, word: &str) -> bool {
        self.space();
        let rest = self.rest();
        let boundary = rest[word.len().min(rest.len())..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        if rest.starts_with(word) && boundary {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Rule, String> {
        let mut left = self.and()?;
        while self.keyword("OR") {
            left = Rule::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Rule, String> {
        let mut left = self.not()?;
        while self.keyword("AND") {
            left = Rule::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Rule, String> {
        if self.keyword("NOT") {
            return Ok(Rule::Not(Box::new(self.not()?)));
        }
        self.term()
    }

    fn term(&mut self) -> Result<Rule, String> {
        self.space();
        if self.rest().starts_with('(') {
            self.at += 1;
            let inner = self.or()?;
            self.space();
            if !self.rest().starts_with(')') {
                return Err(format!("expected ')' at char {}", self.at));
            }
            self.at += 1;
            return Ok(inner);
        }
        if self.keyword("TRUE") {
            return Ok(Rule::Const(true));
        }
        if self.keyword("FALSE") {
            return Ok(Rule::Const(false));
        }
        for (word, state) in [
            ("INSUFFICIENT_DATA", State::InsufficientData),
            ("ALARM", State::Alarm),
            ("OK", State::Ok),
        ] {
            if self.keyword(word) {
                self.space();
                if !self.rest().starts_with('(') {
                    return Err(format!("expected '(' after {word} at char {}", self.at));
                }
                self.at += 1;
                self.space();
                let name = self.name()?;
                self.space();
                if !self.rest().starts_with(')') {
                    return Err(format!("expected ')' at char {}", self.at));
                }
                self.at += 1;
                return Ok(Rule::Is(state, name));
            }
        }
        match self.rest().chars().next() {
            Some(c) => Err(format!("unsupported token {c:?} at char {}", self.at)),
            None => Err("the rule ends where a condition is expected".into()),
        }
    }

    /// `"name"` (quotes let names hold spaces and parentheses) or a bare name.
    fn name(&mut self) -> Result<String, String> {
        let rest = self.rest();
        let (name, used) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("unclosed '\"' at char {}", self.at))?;
            (quoted[..end].to_owned(), end + 2)
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ')')
                .unwrap_or(rest.len());
            (rest[..end].to_owned(), end)
        };
        if name.is_empty() {
            return Err(format!("an alarm name is expected at char {}", self.at));
        }
        self.at += used;
        Ok(name)
    }
}

fn check_composite(c: &mut Checker<'_>) {
    if let Some(rule) = c.literal("alarm_rule").map(str::to_owned) {
        if rule.chars().count() > 10240 {
            c.bad("alarm_rule", "is longer than 10240 characters");
        } else if let Err(e) = Rule::parse(&rule) {
            c.bad(
                "alarm_rule",
                format!("is not a rule CloudWatch accepts: {e}"),
            );
        }
    }
    if let Some(name) = c.literal("alarm_name")
        && (name.is_empty() || name.chars().count() > 255)
    {
        c.bad("alarm_name", "must be 1-255 characters");
    }
}

pub struct Kind;

async fn put(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let p: Props = d.typed()?;
    let address = d.address();
    let tag_list: Vec<Tag> = tags(d, p.tags.as_deref())
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    aws.call(&address, || {
        aws.cloudwatch
            .put_composite_alarm()
            .alarm_name(&p.alarm_name)
            .set_alarm_description(p.alarm_description.clone())
            .alarm_rule(&p.alarm_rule)
            .set_actions_enabled(p.actions_enabled)
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
    let Some(a) = read.composite_alarm(name) else {
        return Ok(None);
    };
    let opt = super::super::opt::<&str>;
    Ok(Some(Resource {
        id: name.to_owned(),
        props: props(vec![
            ("alarm_name", json!(name)),
            ("alarm_description", opt(a.alarm_description())),
            ("alarm_rule", opt(a.alarm_rule())),
            (
                "actions_enabled",
                a.actions_enabled().map_or(Value::Null, Value::Bool),
            ),
            ("alarm_actions", json!(a.alarm_actions())),
            ("ok_actions", json!(a.ok_actions())),
            (
                "insufficient_data_actions",
                json!(a.insufficient_data_actions()),
            ),
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

impl AlarmKind for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    // PutCompositeAlarm (no published rate), then DescribeAlarms to read it back.
    const PACED_CALLS: &'static [&'static str] = &[
        "CLOUDWATCH put_composite_alarm",
        "CLOUDWATCH describe_alarms",
    ];

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

    fn name_and_tags(d: &Desired<'_>) -> ProviderResult<(String, Vec<(String, String)>)> {
        let p: Props = d.typed()?;
        Ok((p.alarm_name, tags(d, p.tags.as_deref())))
    }

    /// `actions_enabled` absent is CloudWatch's default, true.
    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "actions_enabled"
            && desired.as_bool().unwrap_or(true) == observed.as_bool().unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::{Rule, State};

    #[test]
    fn rules_parse_as_cloudwatch_reads_them() {
        let rule = Rule::parse(r#"ALARM("errors") AND NOT ALARM(deploying) OR OK("x y")"#).unwrap();
        assert_eq!(rule.alarms(), ["errors", "deploying", "x y"]);
        let states = |name: &str| match name {
            "errors" => Some(State::Alarm),
            "deploying" => Some(State::Ok),
            _ => Some(State::Alarm),
        };
        assert_eq!(rule.eval(&states), Some(true));
        let suppressed = |name: &str| match name {
            "deploying" | "errors" => Some(State::Alarm),
            _ => Some(State::Alarm),
        };
        assert_eq!(rule.eval(&suppressed), Some(false));
        assert_eq!(
            Rule::parse("(TRUE OR FALSE) AND INSUFFICIENT_DATA(a)")
                .unwrap()
                .eval(&|_| None),
            None
        );
        for bad in [
            "()",
            "ALARM(",
            "ALARM()",
            "ALARMS(a)",
            "ALARM(a) AND",
            "ALARM(a) XOR OK(b)",
            "ALARM(\"a)",
        ] {
            assert!(Rule::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            super::alarm_name_of("arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"),
            "errors"
        );
    }
}
