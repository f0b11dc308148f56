//! `aws.caller_identity` (lookup): the account and identity of the credentials
//! the host runs with, from STS `GetCallerIdentity` (allowed for every caller,
//! no IAM permission needed). Its `account_id` is how a blueprint makes names
//! that AWS requires to be globally unique (S3 buckets) unique per account.

use super::super::access::Iam;
use async_trait::async_trait;
use serde_json::json;

use super::super::{AwsProvider, props};
use crate::providers::{
    Desired, ErrorClass, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::aws as wit;
use blueprint_model::kind::{KindInfo, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap};

pub const NAME: &str = "aws.caller_identity";
pub type Props = wit::CallerIdentityLookup;
pub type Ref = wit::CallerIdentityRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: true,
    role: None,
    outputs: &[out("account_id"), out("arn"), out("user_id")],
    required: &[],
    refs: &[],
    check: |c| {
        for (i, id) in c.array("allowed_account_ids").iter().enumerate() {
            if let Some(id) = id.as_str()
                && !(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
            {
                let message = format!("{id:?} is not an AWS account id (12 digits)");
                c.bad(&format!("allowed_account_ids[{i}]"), message);
            }
        }
    },
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "aws_caller_identity",
        block: Block::Data,
        // Terraform has the guard on the provider (`allowed_account_ids`), not
        // on the data source: an export of a blueprint that sets it says so.
        props: &[],
        outputs: &[
            ("account_id", OutputMap::Attr("account_id")),
            ("arn", OutputMap::Attr("arn")),
            ("user_id", OutputMap::Attr("user_id")),
        ],
        attributes: &["account_id", "arn", "id", "user_id"],
        finish: None,
    },
    import: None,
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// STS GetCallerIdentity needs no permission (API_GetCallerIdentity.html).
pub static IAM: Iam = Iam {
    outputs: &[("account_id", "{account}")],
    grants: &[],
};

pub struct Kind;

#[async_trait]
impl ResourceKind<AwsProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Who the credentials are; refused when the account is not an allowed one.
    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let address = d.address();
        let who = aws
            .call(&address, || aws.sts.get_caller_identity().send())
            .await?;
        let account = who.account().unwrap_or_default().to_owned();
        if account.is_empty() {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!("{address}: STS GetCallerIdentity named no account"),
            ));
        }
        if let Some(allowed) = &p.allowed_account_ids
            && !allowed.contains(&account)
        {
            return Err(ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "{address}: the AWS credentials are for account {account}, which is not in allowed_account_ids ({}): check AWS_PROFILE and the credential chain",
                    allowed.join(", ")
                ),
            ));
        }
        let arn = who.arn().unwrap_or_default().to_owned();
        let user_id = who.user_id().unwrap_or_default().to_owned();
        Ok(Resource {
            id: account.clone(),
            props: props(vec![("allowed_account_ids", json!(p.allowed_account_ids))]),
            outputs: [
                ("account_id".to_owned(), account),
                ("arn".to_owned(), arn),
                ("user_id".to_owned(), user_id),
            ]
            .into(),
        })
    }
}
