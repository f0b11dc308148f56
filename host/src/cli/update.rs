//! `blueprint update FILE`: re-resolve the OCI tags the blueprint file names — its
//! guest and its policies (and the organisation's) — pull and verify what they
//! point to now, and move their digests in the folder's `blueprint.lock`.

use std::process::ExitCode;

use super::{CliResult, UpdateArgs};
use crate::blueprint_file::{Blueprint, GuestLocation};
use crate::oci::{self, lock::Lock};

pub async fn run(args: &UpdateArgs) -> CliResult {
    let blueprint = Blueprint::load(&args.file)?;
    let mut report: Vec<serde_json::Value> = Vec::new();
    let say = |line: String| {
        if !args.json {
            println!("{line}");
        }
    };
    let mut references: Vec<String> = Vec::new();
    let policies = crate::check::policies::named(&blueprint)?;
    for location in
        std::iter::once(&blueprint.guest.location).chain(policies.iter().map(|p| &p.location))
    {
        if let GuestLocation::Oci(reference) = location
            && !references.contains(reference)
        {
            references.push(reference.clone());
        }
    }
    if references.is_empty() {
        if args.json {
            println!(
                "{}",
                serde_json::json!({"lock": null, "artifacts": [], "moved": 0})
            );
        } else {
            println!(
                "{} names no OCI artifact: nothing to update.",
                args.file.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut lock = Lock::load(&blueprint.dir)?;
    let mut moved = 0;
    for text in &references {
        let reference = oci::parse(text)?;
        if reference.digest().is_some() {
            say(format!("  {text}: pinned by digest in the file"));
            report.push(serde_json::json!({"reference": text, "status": "pinned_in_file"}));
            continue;
        }
        let digest = oci::resolve(&reference).await?;
        oci::pull(&reference, &digest).await?;
        let (status, from) = match lock.set(text, &digest) {
            Some(old) if old == digest => {
                say(format!("  {text}: unchanged ({digest})"));
                ("unchanged", Some(old))
            }
            Some(old) => {
                moved += 1;
                say(format!("  {text}: {old} -> {digest}"));
                ("moved", Some(old))
            }
            None => {
                moved += 1;
                say(format!("  {text}: locked at {digest}"));
                ("locked", None)
            }
        };
        report.push(serde_json::json!({"reference": text, "status": status, "from": from, "digest": digest}));
    }
    lock.save()?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "lock": lock.path().display().to_string(),
                "artifacts": report,
                "moved": moved,
            }))?
        );
    } else {
        println!(
            "{} updated: {moved} digest(s) moved.",
            lock.path().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
