//! IAM roles and managed-policy attachments.

use aws_sdk_iam::types::Tag;
use serde_json::json;

use super::{
    AwsProvider, gone_ok, optional, prior_str, props, required, tagged_for, tags, user_tags,
};
use crate::providers::{Desired, ProviderResult, Resource};

fn role_resource(role: &aws_sdk_iam::types::Role) -> Resource {
    // IAM returns the trust policy URL-encoded.
    let policy = role.assume_role_policy_document().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let pairs: Vec<(String, String)> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    Resource {
        id: role.role_name().to_owned(),
        props: props(vec![
            ("name", json!(role.role_name())),
            (
                "assume_role_policy",
                policy.map_or(serde_json::Value::Null, |p| json!(p)),
            ),
            ("description", super::opt(role.description())),
            ("path", json!(role.path())),
            ("tags", user_tags(pairs)),
        ]),
        outputs: [
            ("arn".to_owned(), role.arn().to_owned()),
            ("name".to_owned(), role.role_name().to_owned()),
        ]
        .into(),
    }
}

pub async fn create_role(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let name = required(d, "name")?;
    let policy = required(d, "assume_role_policy")?;
    let tag_list: Vec<Tag> = tags(d)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    let out = aws
        .call(&address, || {
            aws.iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(policy)
                .set_description(d.str("description").map(str::to_owned))
                .set_path(d.str("path").map(str::to_owned))
                .set_tags(Some(tag_list.clone()))
                .send()
        })
        .await?;
    match out.role() {
        Some(role) => Ok(role_resource(role)),
        None => read_by_name(aws, name, &address).await?.ok_or_else(|| {
            crate::providers::ProviderError::new(
                crate::providers::ErrorClass::Transient,
                format!("{address}: created but not readable yet"),
            )
        }),
    }
}

async fn read_by_name(
    aws: &AwsProvider,
    name: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let out = optional(
        aws.call(address, || aws.iam.get_role().role_name(name).send())
            .await,
    )?;
    Ok(out.and_then(|o| o.role().map(role_resource)))
}

pub async fn read_role(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
    read_by_name(aws, &prior.id, &format!("IAM role {}", prior.id)).await
}

pub async fn find_role(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Resource>> {
    let name = required(d, "name")?;
    let out = optional(
        aws.call(&d.address(), || aws.iam.get_role().role_name(name).send())
            .await,
    )?;
    Ok(out.and_then(|o| {
        let role = o.role()?;
        let pairs: Vec<(String, String)> = role
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        tagged_for(&pairs, d).then(|| role_resource(role))
    }))
}

pub async fn update_role(
    aws: &AwsProvider,
    d: &Desired<'_>,
    changed: &[String],
) -> ProviderResult<Resource> {
    let address = d.address();
    let name = required(d, "name")?;
    if changed.iter().any(|c| c == "assume_role_policy") {
        let policy = required(d, "assume_role_policy")?;
        aws.call(&address, || {
            aws.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(policy)
                .send()
        })
        .await?;
    }
    if changed.iter().any(|c| c == "description") {
        aws.call(&address, || {
            aws.iam
                .update_role()
                .role_name(name)
                .description(d.str("description").unwrap_or_default())
                .send()
        })
        .await?;
    }
    if changed.iter().any(|c| c == "tags") {
        let tag_list: Vec<Tag> = tags(d)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        aws.call(&address, || {
            aws.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(tag_list.clone()))
                .send()
        })
        .await?;
    }
    read_by_name(aws, name, &address).await?.ok_or_else(|| {
        crate::providers::ProviderError::new(
            crate::providers::ErrorClass::NotFound,
            format!("{address}: the role disappeared during the update"),
        )
    })
}

pub async fn delete_role(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    let address = format!("IAM role {}", prior.id);
    gone_ok(
        aws.call(&address, || {
            aws.iam.delete_role().role_name(&prior.id).send()
        })
        .await
        .map(|_| ()),
    )
}

/// An attachment is identified by its role and policy.
pub fn attachment_resource(d: &Desired<'_>) -> ProviderResult<Resource> {
    let role = required(d, "role")?;
    let arn = required(d, "policy_arn")?;
    let id = format!("{role}/{arn}");
    Ok(Resource {
        props: props(vec![("role", json!(role)), ("policy_arn", json!(arn))]),
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    })
}

pub async fn attach(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let resource = attachment_resource(d)?;
    let role = required(d, "role")?;
    let arn = required(d, "policy_arn")?;
    aws.call(&d.address(), || {
        aws.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
    })
    .await?;
    Ok(resource)
}

pub async fn read_attachment(
    aws: &AwsProvider,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    let role = prior_str(prior, "role")?;
    let arn = prior_str(prior, "policy_arn")?;
    let address = format!("policy attachment {}", prior.id);
    let out = optional(
        aws.call(&address, || {
            aws.iam
                .list_attached_role_policies()
                .role_name(role)
                .max_items(1000)
                .send()
        })
        .await,
    )?;
    let attached = out.is_some_and(|o| {
        o.attached_policies()
            .iter()
            .any(|p| p.policy_arn() == Some(arn))
    });
    Ok(attached.then(|| prior.clone()))
}

pub async fn detach(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    let role = prior_str(prior, "role")?;
    let arn = prior_str(prior, "policy_arn")?;
    let address = format!("policy attachment {}", prior.id);
    gone_ok(
        aws.call(&address, || {
            aws.iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
        })
        .await
        .map(|_| ()),
    )
}
