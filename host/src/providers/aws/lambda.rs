//! Lambda functions: code from an asset (direct upload) or an S3 object; created
//! once the execution role can be assumed, then waited on until Active.

use std::collections::HashMap;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, LoggingConfig, State};
use serde_json::{Value, json};

use super::{AwsProvider, gone_ok, optional, props, required, tagged_for, tags};
use crate::providers::retry::{self, Verdict};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};

/// What AWS says while a fresh role is not yet assumable by Lambda.
const ROLE_NOT_READY: &[&str] = &["cannot be assumed", "role defined for the function"];

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

fn code(d: &Desired<'_>) -> ProviderResult<FunctionCode> {
    let code = &d.props["code"];
    let builder = FunctionCode::builder();
    let built = if let Some(id) = code["asset"].as_str() {
        let asset = d.assets.get(id).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("{}: asset {id} is not part of this blueprint", d.address()),
            )
        })?;
        builder.zip_file(Blob::new(asset.zip.to_vec())).build()
    } else {
        builder
            .set_s3_bucket(code["s3_bucket"].as_str().map(str::to_owned))
            .set_s3_key(code["s3_key"].as_str().map(str::to_owned))
            .set_s3_object_version(code["s3_object_version"].as_str().map(str::to_owned))
            .build()
    };
    Ok(built)
}

fn environment(d: &Desired<'_>) -> Option<Environment> {
    let vars: HashMap<String, String> = d
        .props
        .get("environment")?
        .as_array()?
        .iter()
        .filter_map(|t| {
            Some((
                t["key"].as_str()?.to_owned(),
                t["value"].as_str()?.to_owned(),
            ))
        })
        .collect();
    Some(Environment::builder().set_variables(Some(vars)).build())
}

fn logging(d: &Desired<'_>) -> Option<LoggingConfig> {
    d.str("log_group")
        .map(|g| LoggingConfig::builder().log_group(g).build())
}

fn int(d: &Desired<'_>, prop: &str) -> Option<i32> {
    d.props.get(prop).and_then(Value::as_i64).map(|v| v as i32)
}

pub async fn create(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let name = required(d, "function_name")?;
    let role = required(d, "role")?;
    let runtime = required(d, "runtime")?;
    let code = code(d)?;
    let tag_map: HashMap<String, String> = tags(d).into_iter().collect();
    aws.call_retrying(&address, aws.transient, ROLE_NOT_READY, || {
        aws.lambda
            .create_function()
            .function_name(name)
            .role(role)
            .handler(d.str("handler").unwrap_or("index.handler"))
            .runtime(runtime.into())
            .code(code.clone())
            .set_description(d.str("description").map(str::to_owned))
            .set_timeout(int(d, "timeout"))
            .set_memory_size(int(d, "memory_size"))
            .set_environment(environment(d))
            .set_logging_config(logging(d))
            .set_tags(Some(tag_map.clone()))
            .send()
    })
    .await?;
    wait_until_ready(aws, name, &address).await
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
                Some((resource, true)) => Ok(resource),
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

/// The function, and whether it is ready for use.
async fn read_by_name(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<(Resource, bool)>> {
    let out = optional(
        aws.call(address, || {
            aws.lambda.get_function().function_name(name).send()
        })
        .await,
    )?;
    let Some(out) = out else { return Ok(None) };
    let Some(c) = out.configuration() else {
        return Ok(None);
    };
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
    let ready = !matches!(c.state(), Some(State::Pending))
        && !matches!(
            c.last_update_status(),
            Some(aws_sdk_lambda::types::LastUpdateStatus::InProgress)
        );
    let arn = c.function_arn().unwrap_or_default().to_owned();
    let resource = Resource {
        id: name.to_owned(),
        props: props(vec![
            ("function_name", json!(name)),
            ("role", super::opt(c.role())),
            ("handler", super::opt(c.handler())),
            (
                "runtime",
                super::opt(c.runtime().map(|r| r.as_str().to_owned())),
            ),
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
                super::opt(c.logging_config().and_then(|l| l.log_group())),
            ),
            ("source_code_hash", super::opt(c.code_sha256())),
        ]),
        outputs: [
            ("function_name".to_owned(), name.to_owned()),
            ("arn".to_owned(), arn),
        ]
        .into(),
    };
    Ok(Some((resource, ready)))
}

pub async fn read(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
    Ok(
        read_by_name(aws, &prior.id, &format!("Lambda function {}", prior.id))
            .await?
            .map(|(r, _)| r),
    )
}

pub async fn find(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Resource>> {
    let name = required(d, "function_name")?;
    let out = optional(
        aws.call(&d.address(), || {
            aws.lambda.get_function().function_name(name).send()
        })
        .await,
    )?;
    let pairs: Vec<(String, String)> = out
        .as_ref()
        .and_then(|o| o.tags())
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if out.is_none() || !tagged_for(&pairs, d) {
        return Ok(None);
    }
    Ok(read_by_name(aws, name, &d.address()).await?.map(|(r, _)| r))
}

pub async fn update(
    aws: &AwsProvider,
    d: &Desired<'_>,
    prior: &Resource,
    changed: &[String],
) -> ProviderResult<Resource> {
    let address = d.address();
    let name = prior.id.as_str();
    if changed.iter().any(|c| CONFIGURATION.contains(&c.as_str())) {
        let runtime = required(d, "runtime")?;
        aws.call_retrying(&address, aws.transient, ROLE_NOT_READY, || {
            aws.lambda
                .update_function_configuration()
                .function_name(name)
                .set_role(d.str("role").map(str::to_owned))
                .set_handler(d.str("handler").map(str::to_owned))
                .runtime(runtime.into())
                .description(d.str("description").unwrap_or_default())
                .set_timeout(int(d, "timeout"))
                .set_memory_size(int(d, "memory_size"))
                .environment(environment(d).unwrap_or_else(|| Environment::builder().build()))
                .set_logging_config(logging(d))
                .send()
        })
        .await?;
        wait_until_ready(aws, name, &address).await?;
    }
    if changed
        .iter()
        .any(|c| c == "code" || c == "source_code_hash")
    {
        let code = &d.props["code"];
        let mut zip = None;
        if let Some(id) = code["asset"].as_str() {
            zip = d.assets.get(id).map(|a| Blob::new(a.zip.to_vec()));
        }
        aws.call(&address, || {
            aws.lambda
                .update_function_code()
                .function_name(name)
                .set_zip_file(zip.clone())
                .set_s3_bucket(code["s3_bucket"].as_str().map(str::to_owned))
                .set_s3_key(code["s3_key"].as_str().map(str::to_owned))
                .set_s3_object_version(code["s3_object_version"].as_str().map(str::to_owned))
                .send()
        })
        .await?;
    }
    wait_until_ready(aws, name, &address).await
}

pub async fn delete(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    gone_ok(
        aws.call(&format!("Lambda function {}", prior.id), || {
            aws.lambda.delete_function().function_name(&prior.id).send()
        })
        .await
        .map(|_| ()),
    )
}
