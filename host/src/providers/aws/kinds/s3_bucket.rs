//! `aws.s3_bucket`: a bucket, tagged; emptied first on destroy when asked.

use super::super::access::Phase::{Delete, Read, Write};
use super::super::access::{Iam, OWN, grant};
use async_trait::async_trait;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};
use serde_json::{Value, json};

use super::super::{AwsProvider, by_tags, gone_ok, optional, props, tags};
use crate::providers::{
    Desired, ErrorClass, Found, Proof, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, mirror, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TAGS, TerraformMap, same};

pub const NAME: &str = "aws.s3_bucket";
pub type Props = wit::S3BucketProps;
pub type Ref = wit::S3BucketRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[mirror("bucket", "bucket"), out("arn")],
    required: &["bucket"],
    refs: &[],
    check: |c| {
        c.pattern("bucket", 3, 63, |ch| {
            ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.'
        })
    },
    replace_on_change: &["bucket"],
    create_before_destroy: false,
    terraform: TerraformMap {
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
    import: Some(blueprint_model::import_id::ImportId {
        format: "{bucket}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/s3_bucket#import",
        identity: &["bucket"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[
        ("arn", "arn:{partition}:s3:::{bucket}"),
        ("bucket", "{bucket}"),
    ],
    grants: &[
        // HeadBucket is authorized as s3:ListBucket (API_HeadBucket.html).
        grant(Read, &["s3:GetBucketTagging", "s3:ListBucket"], &[OWN]),
        grant(Write, &["s3:CreateBucket", "s3:PutBucketTagging"], &[OWN]),
        grant(Delete, &["s3:DeleteBucket", "s3:ListBucket"], &[OWN]),
        // force_destroy empties the bucket first.
        grant(Delete, &["s3:DeleteObject"], &["{@arn}/*"]),
    ],
};

pub struct Kind;

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

fn tagging(d: &Desired<'_>, p: &Props) -> ProviderResult<Tagging> {
    let set: Vec<Tag> = tags(d, p.tags.as_deref())
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| ProviderError::new(ErrorClass::Invalid, format!("{}: {e}", d.address())))
}

async fn put_tags(aws: &AwsProvider, d: &Desired<'_>, p: &Props) -> ProviderResult<()> {
    let tagging = tagging(d, p)?;
    aws.call(&d.address(), || {
        aws.s3
            .put_bucket_tagging()
            .bucket(&p.bucket)
            .tagging(tagging.clone())
            .send()
    })
    .await
    .map(|_| ())
}

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        // us-east-1 is the one region that takes no location constraint.
        let configuration = (aws.region() != "us-east-1").then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(aws.region()))
                .build()
        });
        aws.call(&d.address(), || {
            aws.s3
                .create_bucket()
                .bucket(&p.bucket)
                .set_create_bucket_configuration(configuration.clone())
                .send()
        })
        .await?;
        put_tags(aws, d, &p).await?;
        Ok(bucket_resource(&p.bucket, p.force_destroy))
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
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

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        put_tags(aws, d, &p).await?;
        Ok(bucket_resource(&prior.id, p.force_destroy))
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
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

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        let address = d.address();
        let head = aws
            .call(&address, || aws.s3.head_bucket().bucket(&p.bucket).send())
            .await;
        match optional(head) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            // Bucket names are global: a 403 (which map_error words as a
            // missing s3:ListBucket, HEAD having no body to say which) may also
            // be a bucket of another account.
            Err(e) if e.class == ErrorClass::Auth => {
                return Err(ProviderError::new(
                    ErrorClass::Conflict,
                    format!(
                        "{}; or the bucket name {} is taken by another AWS account: give the bucket another name",
                        e.message, p.bucket
                    ),
                ));
            }
            Err(e) => return Err(e),
        }
        match aws
            .call(&address, || {
                aws.s3.get_bucket_tagging().bucket(&p.bucket).send()
            })
            .await
        {
            Ok(out) => {
                let pairs: Vec<(String, String)> = out
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                Ok(Some(by_tags(
                    bucket_resource(&p.bucket, p.force_destroy),
                    &pairs,
                    d,
                )))
            }
            // In our account with no tags at all: what a run that died between
            // CreateBucket and PutBucketTagging leaves, or a bucket made by hand.
            // Adopted only after this blueprint's own create (the update then
            // tags it); never tagged from here, since find must not write.
            Err(e) if e.class == ErrorClass::NotFound || e.message.contains("NoSuchTagSet") => {
                Ok(Some(Found::new(
                    bucket_resource(&p.bucket, p.force_destroy),
                    Proof::Named { unique: true },
                )))
            }
            Err(e) => Err(e),
        }
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "tags" && super::super::same_set(desired, observed)
    }
}
