//! `blueprint update FILE`: re-resolve the OCI tags the blueprint file names — its
//! guest and its policies (and the organisation's) — pull and verify what they
//! point to now, and move their digests in the folder's `blueprint.lock`.

use std::process::ExitCode;

use super::{CliResult, UpdateArgs};
use crate::blueprint_file::{Blueprint, GuestLocation};
use crate::oci::{self, lock::Lock};

pub async fn run(args: &UpdateArgs) -> CliResult {
    let blueprint = Blueprint::load(&args.file)?;
    let mut references: Vec<String> = Vec::new();
    let policies = crate::check::policies::named(&blueprint).map_err(anyhow::Error::msg)?;
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
        println!(
            "{} names no OCI artifact: nothing to update.",
            args.file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut lock = Lock::load(&blueprint.dir).map_err(anyhow::Error::msg)?;
    let mut moved = 0;
    for text in &references {
        let reference = oci::parse(text).map_err(anyhow::Error::msg)?;
        if reference.digest().is_some() {
            println!("  {text}: pinned by digest in the file");
            continue;
        }
        let digest = oci::resolve(&reference).await.map_err(anyhow::Error::msg)?;
        oci::pull(&reference, &digest)
            .await
            .map_err(anyhow::Error::msg)?;
        match lock.set(text, &digest) {
            Some(old) if old == digest => println!("  {text}: unchanged ({digest})"),
            Some(old) => {
                moved += 1;
                println!("  {text}: {old} -> {digest}");
            }
            None => {
                moved += 1;
                println!("  {text}: locked at {digest}");
            }
        }
    }
    lock.save().map_err(anyhow::Error::msg)?;
    println!(
        "{} updated: {moved} digest(s) moved.",
        lock.path().display()
    );
    Ok(ExitCode::SUCCESS)
}
