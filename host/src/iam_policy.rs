//! `blueprint iam-policy`: the least-privilege IAM policy a blueprint's commands
//! need — its AWS kinds' declared calls on the ARNs the graph names, the state
//! bucket's objects, a shared guest's object — for a CI role or user.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::blueprint_file::{Blueprint, GuestLocation};
use crate::evaluate::Evaluated;
use crate::providers::aws::access::{self, Account, Command, Needs, Phase};

/// The policy and what it rests on.
#[derive(Debug)]
pub struct IamPolicy {
    pub document: Value,
    pub account: Account,
    /// Where the account id came from (`--account`, STS, or unknown).
    pub account_source: &'static str,
    /// Things the reader must know: unknown parts, the size limit.
    pub notes: Vec<String>,
}

/// How long the account lookup may take (the credential chain, then STS).
const ACCOUNT_LOOKUP: Duration = Duration::from_secs(15);

pub async fn iam_policy(
    evaluated: &Evaluated,
    commands: &[Command],
    account: Option<&str>,
    state_flag: Option<&Path>,
) -> Result<IamPolicy, crate::providers::SetupError> {
    let blueprint = &evaluated.blueprint;
    let config = crate::providers::aws::sdk_config(&blueprint.providers.aws).await?;
    let region = config.region().map(|r| r.to_string());
    let mut notes = Vec::new();
    let (account, account_source) = match account {
        Some(id) => (Some(id.to_owned()), "--account"),
        None => match caller_account(&config).await {
            Ok(id) => (Some(id), "sts:GetCallerIdentity"),
            Err(why) => {
                notes.push(format!(
                    "the account is `*` in every ARN: {why} (pass --account ID)"
                ));
                (None, "unknown")
            }
        },
    };
    if region.is_none() {
        notes.push("the region is `*` in every ARN: no region is configured ([aws] region, AWS_REGION or the profile)".into());
    }
    let account = Account::new(region.as_deref(), account.as_deref());
    let mut phases: Vec<Phase> = commands.iter().flat_map(|c| c.phases()).copied().collect();
    phases.sort();
    phases.dedup();
    let mut needs = Needs::of_graph(
        &evaluated.graph,
        &phases,
        &account,
        crate::providers::aws::kinds::iam,
    );
    // Every command but destroy runs the guest; a shared one is read from S3.
    if commands.iter().any(|c| *c != Command::Destroy) {
        let locations = std::iter::once(&blueprint.guest.location).chain(&blueprint.policies);
        for location in locations {
            if let GuestLocation::S3 { bucket, key } = location {
                needs.add("s3:GetObject", object_arn(&account, bucket, key));
            }
        }
    }
    if commands.iter().any(|c| *c != Command::Destroy) {
        read_outputs_needs(evaluated, &account, &mut needs, &mut notes);
    }
    state_needs(blueprint, state_flag, &account, &mut needs, &mut notes);
    let document = needs.document();
    let size = access::policy_size(&document);
    if size > access::MANAGED_POLICY_LIMIT {
        notes.push(format!(
            "the document is {size} characters, over the {} a managed policy may hold: split it by --for, or attach it inline to a role (10,240)",
            access::MANAGED_POLICY_LIMIT
        ));
    }
    Ok(IamPolicy {
        document,
        account,
        account_source,
        notes,
    })
}

/// S3 state: the state object, its lock and its history are read and written
/// by every command (each takes the lock). `s3:ListBucket` lets a missing
/// state read as missing: without it S3 answers 403, not 404 (GetObject,
/// "Permissions", docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
fn state_needs(
    blueprint: &Blueprint,
    flag: Option<&Path>,
    account: &Account,
    needs: &mut Needs,
    notes: &mut Vec<String>,
) {
    let Some((bucket, key)) = crate::state::s3_state(blueprint, flag) else {
        return;
    };
    for object in [
        key.clone(),
        format!("{key}.lock"),
        format!("{key}.history/*"),
    ] {
        for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
            needs.add(action, object_arn(account, &bucket, &object));
        }
    }
    needs.add(
        "s3:ListBucket",
        format!("arn:{}:s3:::{bucket}", account.partition),
    );
    if let Some(key_id) = &blueprint.state_kms_key_id {
        // SSE-KMS: writing needs a data key, reading decrypts it (S3 User Guide,
        // "Using server-side encryption with AWS KMS keys", permissions).
        let arn = if key_id.starts_with("arn:") {
            key_id.clone()
        } else if key_id.starts_with("alias/") {
            notes.push(format!(
                "[state] kms_key_id is an alias ({key_id}): KMS authorizes the key it names, so the KMS statement is on `*`; give the key's ARN for a narrower one"
            ));
            "*".to_owned()
        } else {
            format!(
                "arn:{}:kms:{}:{}:key/{key_id}",
                account.partition, account.region, account.account
            )
        };
        for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
            needs.add(action, arn.clone());
        }
    }
}

/// Other blueprints' states in S3 that `blueprint.outputs` lookups read at
/// every plan: the object, and `s3:ListBucket` so a publisher never applied
/// reads as missing rather than as a 403.
fn read_outputs_needs(
    evaluated: &Evaluated,
    account: &Account,
    needs: &mut Needs,
    notes: &mut Vec<String>,
) {
    for source in crate::providers::blueprints::kinds::outputs::sources(&evaluated.graph) {
        let Some((bucket, key)) = source
            .state
            .and_then(|url| url.strip_prefix("s3://"))
            .and_then(|rest| crate::state::s3_location(rest, source.blueprint))
        else {
            continue;
        };
        needs.add("s3:GetObject", object_arn(account, &bucket, &key));
        needs.add(
            "s3:ListBucket",
            format!("arn:{}:s3:::{bucket}", account.partition),
        );
        let note = format!(
            "{} reads s3://{bucket}/{key}: if that state is encrypted with a KMS key ([state] kms_key_id of blueprint '{}'), add kms:Decrypt on it",
            source.node, source.blueprint
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
}

fn object_arn(account: &Account, bucket: &str, key: &str) -> String {
    format!("arn:{}:s3:::{bucket}/{key}", account.partition)
}

/// The account of the credentials the SDK finds (STS GetCallerIdentity needs
/// no permission), within [`ACCOUNT_LOOKUP`].
async fn caller_account(config: &aws_config::SdkConfig) -> Result<String, String> {
    let sts = aws_sdk_sts::Client::new(config);
    match tokio::time::timeout(ACCOUNT_LOOKUP, sts.get_caller_identity().send()).await {
        Err(_) => Err(format!(
            "STS did not answer within {} s",
            ACCOUNT_LOOKUP.as_secs()
        )),
        Ok(Err(e)) => Err(format!(
            "STS GetCallerIdentity failed: {}",
            aws_smithy_types::error::display::DisplayErrorContext(&e)
        )),
        Ok(Ok(out)) => out
            .account()
            .map(str::to_owned)
            .ok_or_else(|| "STS named no account".to_owned()),
    }
}
