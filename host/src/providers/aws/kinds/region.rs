//! `aws.region` (lookup): the region the AWS provider works in — the blueprint
//! file's `providers.aws.region`, else the AWS chain's. No API call: the
//! provider's configuration is the answer (as for Terraform's `aws_region`).
//! With `account_id`, it makes global names unique per account and region.

use super::super::access::Iam;
use async_trait::async_trait;
use serde_json::json;

use super::super::{AwsProvider, props};
use crate::providers::{
    Desired, ErrorClass, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "aws.region";
pub type Props = wit::RegionLookup;
pub type Ref = wit::RegionRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: true,
    role: None,
    outputs: &[out("name")],
    required: &[],
    refs: &[],
    check: |c| {
        c.pattern("name", 1, 32, |ch| {
            ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'
        })
    },
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_region",
        block: Block::Data,
        props: &[same("name")],
        outputs: &[("name", OutputMap::Attr("name"))],
        attributes: &["name", "id", "description", "endpoint"],
        finish: None,
    },
    import: None,
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// The region is the SDK's configuration: no call.
pub static IAM: Iam = Iam {
    outputs: &[("name", "{region}")],
    grants: &[],
};

pub struct Kind;

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// The provider's region; refused when the blueprint expects another.
    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let region = aws.region();
        if let Some(expected) = p.name.as_deref()
            && expected != region
        {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "{}: the AWS provider works in {region}, not {expected}: set providers.aws.region in the blueprint file or AWS_REGION",
                    d.address()
                ),
            ));
        }
        Ok(Resource {
            id: region.to_owned(),
            props: props(vec![("name", json!(region))]),
            outputs: [("name".to_owned(), region.to_owned())].into(),
        })
    }
}
