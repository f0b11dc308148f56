//! `blueprint iam-policy FILE [--for plan,run,destroy,drill] [--account ID]`:
//! the policy document on stdout (for `aws iam put-role-policy --policy-document
//! file://...`), notes on stderr.

use std::process::ExitCode;

use serde_json::json;

use super::{CliResult, GlobalArgs, IamPolicyArgs};
use crate::providers::aws::access::Command;

pub async fn run(global: &GlobalArgs, args: &IamPolicyArgs) -> CliResult {
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    let mut commands = if args.commands.is_empty() {
        vec![
            Command::Plan,
            Command::Run,
            Command::Destroy,
            Command::Drill,
        ]
    } else {
        args.commands.clone()
    };
    commands.sort();
    commands.dedup();
    let policy = crate::iam_policy::iam_policy(
        &evaluated,
        &commands,
        args.account.as_deref(),
        args.state.as_deref(),
    )
    .await?;
    // The names `--for` takes (clap's, from the enum).
    let names: Vec<String> = commands
        .iter()
        .filter_map(|c| clap::ValueEnum::to_possible_value(c).map(|v| v.get_name().to_owned()))
        .collect();
    if args.json {
        let out = json!({
            "blueprint": evaluated.blueprint.name,
            "for": names,
            "account": policy.account.account,
            "account_source": policy.account_source,
            "region": policy.account.region,
            "partition": policy.account.partition,
            "notes": policy.notes,
            "policy": policy.document,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&policy.document)?);
        eprintln!(
            "# for: {} · account {} ({}) · region {}",
            names.join(", "),
            policy.account.account,
            policy.account_source,
            policy.account.region
        );
        for note in &policy.notes {
            eprintln!("note: {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
