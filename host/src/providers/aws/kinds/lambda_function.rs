//! `aws.lambda_function`: code from an asset (direct upload) or an S3 object;
//! created once the execution role can be assumed, then waited on until Active.

use super::super::access::Phase::{Delete, Read, Write};
use super::super::access::{Iam, OWN, grant};
use std::collections::HashMap;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, LoggingConfig, State};
use serde_json::{Value, json};

use super::super::object::{TaggedObject, Tags};
use super::super::{AwsProvider, optional, props, tags};
use crate::providers::retry::{self, Verdict};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{Checker, Controls, KindInfo, Role, mirror, out, parse_as, refs};
use blueprint_model::terraform::{
    AssetHash, Block, OutputMap, TAGS, Target, TerraformMap, prop, same, to,
};

pub const NAME: &str = "aws.lambda_function";
pub type Props = wit::LambdaFunctionProps;
pub type Ref = wit::LambdaFunctionRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Function),
    outputs: &[mirror("function_name", "function_name"), out("arn")],
    required: &["function_name", "role", "handler", "runtime", "code"],
    refs: &[
        refs("role", &[super::iam_role::NAME]),
        refs(
            "code.s3_bucket",
            &[super::s3_bucket::NAME, super::s3_object::NAME],
        ),
        refs("code.s3_key", &[super::s3_object::NAME]),
        refs("log_group", &[super::cloudwatch_log_group::NAME]),
    ],
    check: check_lambda,
    replace_on_change: &["function_name"],
    create_before_destroy: false,
    terraform: TerraformMap {
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
    import: Some(blueprint_model::import_id::ImportId {
        format: "{function_name}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/lambda_function#import",
        identity: &["function_name"],
        prior: blueprint_model::import_id::id_only,
    }),
    // Environment values are free text (Lambda API Reference, Environment:
    // "Variables ... String to string map", no pattern).
    text_controls: &[("environment", Controls::These(&['\t', '\n', '\r']))],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[
        (
            "arn",
            "arn:{partition}:lambda:{region}:{account}:function:{function_name}",
        ),
        ("function_name", "{function_name}"),
    ],
    grants: &[
        grant(Read, &["lambda:GetFunction", "lambda:ListTags"], &[OWN]),
        grant(
            Write,
            &[
                "lambda:CreateFunction",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            &[OWN],
        ),
        // Creating a function passes it its role (lambda-intro-execution-role.html).
        grant(Write, &["iam:PassRole"], &["{role>arn|{role}}"]),
        // Code from S3 is read with the caller's permissions.
        grant(
            Write,
            &["s3:GetObject"],
            &["arn:{partition}:s3:::{code.s3_bucket}/{code.s3_key}"],
        ),
        grant(Delete, &["lambda:DeleteFunction"], &[OWN]),
    ],
};

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

pub struct Kind;

/// What AWS says while a fresh role is not yet assumable by Lambda: "The role
/// defined for the function cannot be assumed by Lambda" and "The provided
/// execution role does not have permissions to call …": IAM is eventually
/// consistent ("Changes that I make are not always immediately visible", IAM
/// User Guide, troubleshoot_general; NASA Cumulus' deployment guide quotes the
/// second message as the symptom and a re-run as the fix).
const ROLE_NOT_READY: &[&str] = &[
    "cannot be assumed",
    "role defined for the function",
    "does not have permissions",
];

/// What updates also wait out: `ResourceConflictException` ("An update is in
/// progress for resource") while a previous update's `LastUpdateStatus` is
/// `InProgress` (Lambda Developer Guide, "Lambda function states": "While the
/// update is in progress … other operations fail"), plus the role messages.
const UPDATE_BUSY: &[&str] = &[
    "ResourceConflictException",
    "cannot be assumed",
    "role defined for the function",
    "does not have permissions",
];

/// Props that live in the function's configuration (the rest is code).
const CONFIGURATION: &[&str] = &[
    "role",
    "handler",
    "runtime",
    "description",
    "timeout",
    "memory_size",
    "environment",
    "log_group",
];

fn code(d: &Desired<'_>, p: &Props) -> ProviderResult<FunctionCode> {
    let builder = FunctionCode::builder();
    let built = if let Some(id) = &p.code.asset {
        let asset = d.assets.get(id).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("{}: asset {id} is not part of this blueprint", d.address()),
            )
        })?;
        builder.zip_file(Blob::new(asset.zip.to_vec())).build()
    } else {
        builder
            .set_s3_bucket(p.code.s3_bucket.clone())
            .set_s3_key(p.code.s3_key.clone())
            .set_s3_object_version(p.code.s3_object_version.clone())
            .build()
    };
    Ok(built)
}

fn environment(p: &Props) -> Option<Environment> {
    let vars: HashMap<String, String> = p
        .environment
        .as_ref()?
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    Some(Environment::builder().set_variables(Some(vars)).build())
}

fn logging(p: &Props) -> Option<LoggingConfig> {
    p.log_group
        .as_ref()
        .map(|g| LoggingConfig::builder().log_group(g).build())
}

fn int(value: Option<u32>) -> Option<i32> {
    value.map(|v| v as i32)
}

/// Poll until the function is Active and not mid-update (bounded).
async fn wait_until_ready(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Resource> {
    retry::retry(
        address,
        aws.propagation,
        || async {
            let found = read_by_name(aws, name, address).await?;
            match found {
                Some((resource, Readiness::Ready)) => Ok(resource),
                // Failed is final: the reason is Lambda's own.
                Some((_, Readiness::Failed(reason))) => Err(ProviderError::new(
                    ErrorClass::Invalid,
                    format!("{address}: Lambda reports the function Failed: {reason}"),
                )),
                _ => Err(ProviderError::new(
                    ErrorClass::Transient,
                    format!("{address}: the function is not Active yet"),
                )),
            }
        },
        |e: &ProviderError| {
            if e.class == ErrorClass::Transient {
                Verdict::Retry
            } else {
                Verdict::Stop
            }
        },
    )
    .await
}

/// Whether a function can be used: its `State` and `LastUpdateStatus`.
#[derive(Debug, PartialEq)]
enum Readiness {
    Ready,
    /// `Pending`, or an update `InProgress`.
    Busy,
    /// `State` `Failed` or `LastUpdateStatus` `Failed`, with Lambda's reason.
    Failed(String),
}

/// The function, and whether it is ready for use.
async fn read_by_name(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<(Resource, Readiness)>> {
    let out = optional(
        aws.call(address, || {
            aws.lambda.get_function().function_name(name).send()
        })
        .await,
    )?;
    Ok(out.and_then(|out| function_of(name, &out)))
}

/// The function GetFunction described, and whether it is ready for use.
fn function_of(
    name: &str,
    out: &aws_sdk_lambda::operation::get_function::GetFunctionOutput,
) -> Option<(Resource, Readiness)> {
    let c = out.configuration()?;
    let mut env: Vec<Value> = c
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| {
            vars.iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect()
        })
        .unwrap_or_default();
    env.sort_by_key(|v| v.to_string());
    use aws_sdk_lambda::types::LastUpdateStatus;
    let ready = match (c.state(), c.last_update_status()) {
        (Some(State::Failed), _) => Readiness::Failed(format!(
            "{} ({})",
            c.state_reason().unwrap_or("no reason given"),
            c.state_reason_code().map_or("", |r| r.as_str())
        )),
        (_, Some(LastUpdateStatus::Failed)) => Readiness::Failed(format!(
            "the last update failed: {} ({})",
            c.last_update_status_reason().unwrap_or("no reason given"),
            c.last_update_status_reason_code()
                .map_or("", |r| r.as_str())
        )),
        (Some(State::Pending), _) | (_, Some(LastUpdateStatus::InProgress)) => Readiness::Busy,
        _ => Readiness::Ready,
    };
    let arn = c.function_arn().unwrap_or_default().to_owned();
    let opt = super::super::opt::<&str>;
    let resource = Resource {
        id: name.to_owned(),
        props: props(vec![
            ("function_name", json!(name)),
            ("role", opt(c.role())),
            ("handler", opt(c.handler())),
            ("runtime", opt(c.runtime().map(|r| r.as_str()))),
            (
                "description",
                c.description()
                    .filter(|d| !d.is_empty())
                    .map_or(Value::Null, |d| json!(d)),
            ),
            ("timeout", c.timeout().map_or(Value::Null, |t| json!(t))),
            (
                "memory_size",
                c.memory_size().map_or(Value::Null, |m| json!(m)),
            ),
            (
                "environment",
                if env.is_empty() {
                    Value::Null
                } else {
                    Value::Array(env)
                },
            ),
            (
                "log_group",
                opt(c.logging_config().and_then(|l| l.log_group())),
            ),
            ("source_code_hash", opt(c.code_sha256())),
        ]),
        outputs: [
            ("function_name".to_owned(), name.to_owned()),
            ("arn".to_owned(), arn),
        ]
        .into(),
    };
    Some((resource, ready))
}

impl TaggedObject for Kind {
    fn info() -> &'static KindInfo {
        &INFO
    }

    const NOUN: &'static str = "Lambda function";

    // CreateFunction, then GetFunction until it is Active.
    const PACED_CALLS: &'static [&'static str] = &["LAMBDA create_function", "LAMBDA get_function"];

    async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let code = code(d, &p)?;
        let tag_map: HashMap<String, String> = tags(d, p.tags.as_deref()).into_iter().collect();
        aws.call_retrying(&address, ROLE_NOT_READY, || {
            aws.lambda
                .create_function()
                .function_name(&p.function_name)
                .role(&p.role)
                .handler(&p.handler)
                .runtime(p.runtime.as_str().into())
                .code(code.clone())
                .set_description(p.description.clone())
                .set_timeout(int(p.timeout))
                .set_memory_size(int(p.memory_size))
                .set_environment(environment(&p))
                .set_logging_config(logging(&p))
                .set_tags(Some(tag_map.clone()))
                .send()
        })
        .await?;
        wait_until_ready(aws, &p.function_name, &address).await
    }

    async fn update(
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let name = prior.id.as_str();
        if changed.iter().any(|c| CONFIGURATION.contains(&c.as_str())) {
            aws.call_retrying(&address, UPDATE_BUSY, || {
                aws.lambda
                    .update_function_configuration()
                    .function_name(name)
                    .role(&p.role)
                    .handler(&p.handler)
                    .runtime(p.runtime.as_str().into())
                    .description(p.description.clone().unwrap_or_default())
                    .set_timeout(int(p.timeout))
                    .set_memory_size(int(p.memory_size))
                    // No variables declared clears them: an empty map, as the
                    // Lambda API takes it (moto 5.2 fails with a 500 on an
                    // `Environment` without `Variables`).
                    .environment(environment(&p).unwrap_or_else(|| {
                        Environment::builder()
                            .set_variables(Some(HashMap::new()))
                            .build()
                    }))
                    .set_logging_config(logging(&p))
                    .send()
            })
            .await?;
            wait_until_ready(aws, name, &address).await?;
        }
        if changed
            .iter()
            .any(|c| c == "code" || c == "source_code_hash")
        {
            let zip = p
                .code
                .asset
                .as_ref()
                .and_then(|id| d.assets.get(id))
                .map(|a| Blob::new(a.zip.to_vec()));
            aws.call_retrying(&address, UPDATE_BUSY, || {
                aws.lambda
                    .update_function_code()
                    .function_name(name)
                    .set_zip_file(zip.clone())
                    .set_s3_bucket(p.code.s3_bucket.clone())
                    .set_s3_key(p.code.s3_key.clone())
                    .set_s3_object_version(p.code.s3_object_version.clone())
                    .send()
            })
            .await?;
        }
        wait_until_ready(aws, name, &address).await
    }

    async fn read(
        aws: &AwsProvider,
        name: &str,
        address: &str,
    ) -> ProviderResult<Option<Resource>> {
        Ok(read_by_name(aws, name, address).await?.map(|(r, _)| r))
    }

    /// One GetFunction answers both the function and its tags.
    async fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> ProviderResult<Option<(Resource, Option<Tags>)>> {
        let p: Props = d.typed()?;
        let out = optional(
            aws.call(address, || {
                aws.lambda
                    .get_function()
                    .function_name(&p.function_name)
                    .send()
            })
            .await,
        )?;
        let Some(out) = out else { return Ok(None) };
        let pairs: Tags = out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(function_of(&p.function_name, &out).map(|(r, _)| (r, Some(pairs))))
    }

    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags> {
        let p: Props = d.typed()?;
        Ok(tags(d, p.tags.as_deref()))
    }

    /// Tags are changed with TagResource/UntagResource on the function's ARN
    /// (Lambda API Reference); CreateFunction's tags only apply to a new
    /// function.
    fn tag_target(function: &Resource) -> Option<String> {
        function.outputs.get("arn").cloned()
    }

    async fn list_tags(aws: &AwsProvider, arn: &str, address: &str) -> ProviderResult<Tags> {
        let out = aws
            .call(address, || aws.lambda.list_tags().resource(arn).send())
            .await?;
        Ok(out
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// Refused while an update of the function is in progress, like any change.
    async fn tag(aws: &AwsProvider, arn: &str, tags: &Tags, address: &str) -> ProviderResult<()> {
        let map: HashMap<String, String> = tags.iter().cloned().collect();
        aws.call_retrying(address, UPDATE_BUSY, || {
            aws.lambda
                .tag_resource()
                .resource(arn)
                .set_tags(Some(map.clone()))
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
        aws.call_retrying(address, UPDATE_BUSY, || {
            aws.lambda
                .untag_resource()
                .resource(arn)
                .set_tag_keys(Some(keys.clone()))
                .send()
        })
        .await
        .map(drop)
    }

    async fn remove(aws: &AwsProvider, name: &str, address: &str) -> ProviderResult<()> {
        aws.call(address, || {
            aws.lambda.delete_function().function_name(name).send()
        })
        .await
        .map(drop)
    }

    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "environment" && super::super::same_set(desired, observed)
    }
}
