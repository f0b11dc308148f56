//! S3 buckets and objects (an object's body is an asset's zip or literal content).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AwsProvider, gone_ok, optional, prior_str, props, required, tagged_for, tags};
use crate::assets::hex;
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};

/// Object metadata key holding the SHA-256 of the body we wrote.
const SHA_META: &str = "blueprint-sha256";

fn bucket_resource(bucket: &str, force_destroy: Option<bool>) -> Resource {
    let mut p = props(vec![("bucket", json!(bucket))]);
    // Not an S3 property: remembered so delete knows whether to empty the bucket.
    if let Some(force) = force_destroy {
        p.insert("force_destroy".into(), json!(force));
    }
    Resource {
        id: bucket.to_owned(),
        props: p,
        outputs: [
            ("bucket".to_owned(), bucket.to_owned()),
            ("arn".to_owned(), format!("arn:aws:s3:::{bucket}")),
        ]
        .into(),
    }
}

fn tagging(d: &Desired<'_>) -> ProviderResult<Tagging> {
    let set: Vec<Tag> = tags(d)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, format!("{}: {e}", d.address())))
}

pub async fn create_bucket(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let bucket = required(d, "bucket")?;
    // us-east-1 is the one region that takes no location constraint.
    let configuration = (aws.region() != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(aws.region()))
            .build()
    });
    aws.call(&address, || {
        aws.s3
            .create_bucket()
            .bucket(bucket)
            .set_create_bucket_configuration(configuration.clone())
            .send()
    })
    .await?;
    let tagging = tagging(d)?;
    aws.call(&address, || {
        aws.s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging.clone())
            .send()
    })
    .await?;
    Ok(bucket_resource(
        bucket,
        d.props.get("force_destroy").and_then(Value::as_bool),
    ))
}

pub async fn read_bucket(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
    let address = format!("S3 bucket {}", prior.id);
    let found = optional(
        aws.call(&address, || aws.s3.head_bucket().bucket(&prior.id).send())
            .await,
    )?;
    Ok(found.map(|_| {
        bucket_resource(
            &prior.id,
            prior.props.get("force_destroy").and_then(Value::as_bool),
        )
    }))
}

pub async fn find_bucket(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Resource>> {
    let address = d.address();
    let bucket = required(d, "bucket")?;
    if optional(
        aws.call(&address, || aws.s3.head_bucket().bucket(bucket).send())
            .await,
    )?
    .is_none()
    {
        return Ok(None);
    }
    let resource = || {
        bucket_resource(
            bucket,
            d.props.get("force_destroy").and_then(Value::as_bool),
        )
    };
    match aws
        .call(&address, || {
            aws.s3.get_bucket_tagging().bucket(bucket).send()
        })
        .await
    {
        Ok(out) => {
            let pairs: Vec<(String, String)> = out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            Ok(tagged_for(&pairs, d).then(resource))
        }
        // Ours and in our account, but the run died between CreateBucket and
        // PutBucketTagging: finish the job and adopt it.
        Err(e) if e.class == ErrorClass::NotFound || e.message.contains("NoSuchTagSet") => {
            let tagging = tagging(d)?;
            aws.call(&address, || {
                aws.s3
                    .put_bucket_tagging()
                    .bucket(bucket)
                    .tagging(tagging.clone())
                    .send()
            })
            .await?;
            Ok(Some(resource()))
        }
        Err(e) => Err(e),
    }
}

pub async fn update_bucket(
    aws: &AwsProvider,
    d: &Desired<'_>,
    prior: &Resource,
) -> ProviderResult<Resource> {
    let tagging = tagging(d)?;
    aws.call(&d.address(), || {
        aws.s3
            .put_bucket_tagging()
            .bucket(&prior.id)
            .tagging(tagging.clone())
            .send()
    })
    .await?;
    Ok(bucket_resource(
        &prior.id,
        d.props.get("force_destroy").and_then(Value::as_bool),
    ))
}

pub async fn delete_bucket(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    let address = format!("S3 bucket {}", prior.id);
    if prior.props.get("force_destroy").and_then(Value::as_bool) == Some(true) {
        // Empty it first, page by page.
        loop {
            let page = optional(
                aws.call(&address, || {
                    aws.s3.list_objects_v2().bucket(&prior.id).send()
                })
                .await,
            )?;
            let keys: Vec<String> = page
                .map(|p| {
                    p.contents()
                        .iter()
                        .filter_map(|o| o.key().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if keys.is_empty() {
                break;
            }
            for key in keys {
                gone_ok(
                    aws.call(&address, || {
                        aws.s3.delete_object().bucket(&prior.id).key(&key).send()
                    })
                    .await
                    .map(|_| ()),
                )?;
            }
        }
    }
    gone_ok(
        aws.call(&address, || aws.s3.delete_bucket().bucket(&prior.id).send())
            .await
            .map(|_| ()),
    )
}

/// The body to upload and its digest.
fn body(d: &Desired<'_>) -> ProviderResult<(Vec<u8>, String)> {
    if let Some(id) = d.str("source") {
        let asset = d.assets.get(id).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("{}: asset {id} is not part of this blueprint", d.address()),
            )
        })?;
        return Ok((asset.zip.to_vec(), asset.sha256.clone()));
    }
    let content = d.str("content").unwrap_or_default().as_bytes().to_vec();
    let sha = hex(&Sha256::digest(&content));
    Ok((content, sha))
}

fn object_id(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// An object is identified by its bucket and key.
pub fn object_resource(d: &Desired<'_>) -> ProviderResult<Resource> {
    let bucket = required(d, "bucket")?;
    let key = required(d, "key")?;
    Ok(Resource {
        id: object_id(bucket, key),
        props: props(vec![("bucket", json!(bucket)), ("key", json!(key))]),
        outputs: Default::default(),
    })
}

pub async fn put_object(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let address = d.address();
    let bucket = required(d, "bucket")?;
    let key = required(d, "key")?;
    let (bytes, sha) = body(d)?;
    aws.call(&address, || {
        aws.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(bytes.clone()))
            .set_content_type(d.str("content_type").map(str::to_owned))
            .metadata(SHA_META, &sha)
            .send()
    })
    .await?;
    read_object(aws, &object_resource(d)?)
        .await?
        .ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Transient,
                format!("{address}: written but not readable yet"),
            )
        })
}

pub async fn read_object(aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
    let bucket = prior_str(prior, "bucket")?;
    let key = prior_str(prior, "key")?;
    let address = format!("S3 object {}", prior.id);
    let Some(head) = optional(
        aws.call(&address, || {
            aws.s3.head_object().bucket(bucket).key(key).send()
        })
        .await,
    )?
    else {
        return Ok(None);
    };
    let sha = head
        .metadata()
        .and_then(|m| m.get(SHA_META))
        .cloned()
        .unwrap_or_default();
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    Ok(Some(Resource {
        id: object_id(bucket, key),
        props: props(vec![
            ("bucket", json!(bucket)),
            ("key", json!(key)),
            ("content_type", super::opt(head.content_type())),
            // The body is known by digest: an asset's id, or the content's hash
            // (compared by `equivalent` against the desired content).
            (
                "source",
                if sha.is_empty() {
                    Value::Null
                } else {
                    json!(format!("asset:{sha}"))
                },
            ),
        ]),
        outputs: [
            ("bucket".to_owned(), bucket.to_owned()),
            ("key".to_owned(), key.to_owned()),
            ("etag".to_owned(), etag),
            (
                "version_id".to_owned(),
                head.version_id().unwrap_or_default().to_owned(),
            ),
        ]
        .into(),
    }))
}

pub async fn delete_object(aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
    let bucket = prior_str(prior, "bucket")?;
    let key = prior_str(prior, "key")?;
    gone_ok(
        aws.call(&format!("S3 object {}", prior.id), || {
            aws.s3.delete_object().bucket(bucket).key(key).send()
        })
        .await
        .map(|_| ()),
    )
}
