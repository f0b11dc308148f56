//! `aws.s3_object`: an object whose body is an asset's zip or literal content.

use super::super::access::Phase::{Delete, Read, Write};
use super::super::access::{Iam, grant};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::{AwsProvider, gone_ok, optional, prior_str, props};
use crate::providers::{
    Desired, ErrorClass, Found, Identity, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::assets::hex;
use blueprint_model::kind::{Controls, KindInfo, mirror, out, parse_as, refs};
use blueprint_model::terraform::{AssetHash, Block, OutputMap, Target, TerraformMap, prop, same};

pub const NAME: &str = "aws.s3_object";
pub type Props = wit::S3ObjectProps;
pub type Ref = wit::S3ObjectRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[
        mirror("bucket", "bucket"),
        mirror("key", "key"),
        out("etag"),
        out("version_id"),
    ],
    required: &["bucket", "key"],
    refs: &[refs("bucket", &[super::s3_bucket::NAME])],
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
    replace_on_change: &["bucket", "key"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_s3_object",
        block: Block::Resource,
        props: &[
            same("bucket"),
            same("key"),
            prop(
                "source",
                Target::Asset {
                    attr: "source",
                    hash_attr: "source_hash",
                    hash: AssetHash::Sha256Hex,
                },
            ),
            same("content"),
            same("content_type"),
        ],
        outputs: &[
            ("bucket", OutputMap::Attr("bucket")),
            ("key", OutputMap::Attr("key")),
            ("etag", OutputMap::Attr("etag")),
            ("version_id", OutputMap::Attr("version_id")),
        ],
        attributes: &["bucket", "key", "etag", "version_id", "id"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{bucket}/{key}",
        docs: "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/s3_object#import",
        identity: &["bucket", "key"],
        prior: import_prior,
    }),
    // An object's content is data, not text.
    text_controls: &[("content", Controls::Any)],
    parse: parse_as::<Props>,
};

pub static IAM: Iam = Iam {
    outputs: &[("bucket", "{bucket}"), ("key", "{key}")],
    grants: &[
        // HeadObject is authorized as s3:GetObject (API_HeadObject.html).
        grant(Read, &["s3:GetObject"], &[OBJECT]),
        grant(Write, &["s3:PutObject"], &[OBJECT]),
        grant(Delete, &["s3:DeleteObject"], &[OBJECT]),
    ],
};
const OBJECT: &str = "arn:{partition}:s3:::{bucket}/{key}";

/// `terraform import aws_s3_object.x BUCKET/KEY` (also `s3://BUCKET/KEY`, the
/// provider's "Import" section): the prior resource `read` takes.
fn import_prior(
    id: &str,
    _props: &serde_json::Map<String, serde_json::Value>,
) -> Result<Resource, String> {
    let plain = id.strip_prefix("s3://").unwrap_or(id);
    let (bucket, key) = blueprint_model::import_id::split2(plain, '/', "BUCKET/KEY")?;
    Ok(Resource {
        id: object_id(bucket, key),
        props: props(vec![("bucket", json!(bucket)), ("key", json!(key))]),
        ..Resource::default()
    })
}

pub struct Kind;

/// Object metadata key holding the SHA-256 of the body we wrote.
const SHA_META: &str = "blueprint-sha256";

/// The body to upload and its digest.
fn body(d: &Desired<'_>, p: &Props) -> ProviderResult<(Vec<u8>, String)> {
    if let Some(id) = &p.source {
        let asset = d.assets.get(id).ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!("{}: asset {id} is not part of this blueprint", d.address()),
            )
        })?;
        return Ok((asset.zip.to_vec(), asset.sha256.clone()));
    }
    let content = p.content.clone().unwrap_or_default().into_bytes();
    let sha = hex(&Sha256::digest(&content));
    Ok((content, sha))
}

fn object_id(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// An object is identified by its bucket and key.
fn object_resource(p: &Props) -> Resource {
    Resource {
        id: object_id(&p.bucket, &p.key),
        props: props(vec![("bucket", json!(p.bucket)), ("key", json!(p.key))]),
        outputs: Default::default(),
    }
}

async fn put(aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
    let p: Props = d.typed()?;
    let address = d.address();
    let (bytes, sha) = body(d, &p)?;
    aws.call(&address, || {
        aws.s3
            .put_object()
            .bucket(&p.bucket)
            .key(&p.key)
            .body(ByteStream::from(bytes.clone()))
            .set_content_type(p.content_type.clone())
            .metadata(SHA_META, &sha)
            .send()
    })
    .await?;
    Kind.read(aws, &object_resource(&p)).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Transient,
            format!("{address}: written but not readable yet"),
        )
    })
}

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Found by what it belongs to.
    fn identity(&self) -> Identity {
        Identity::Parents
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        put(aws, d).await
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
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
                ("content_type", super::super::opt(head.content_type())),
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

    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        _prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        put(aws, d).await
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
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

    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        self.read(aws, &object_resource(&p)).await.map(Found::part)
    }
}
