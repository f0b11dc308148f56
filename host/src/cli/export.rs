//! `blueprint export FILE --format terraform-json [--out DIR]`: the planned graph
//! as a Terraform/OpenTofu configuration of the official providers (no API calls).

use std::path::PathBuf;
use std::process::ExitCode;

use super::{CliResult, ExportArgs, GlobalArgs};

pub async fn run(global: &GlobalArgs, args: &ExportArgs) -> CliResult {
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    let config =
        crate::export::terraform_json(&evaluated.graph, runtime.catalog(), &evaluated.blueprint)?;
    let text = serde_json::to_string_pretty(&config)?;
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let file: PathBuf = dir.join("main.tf.json");
            std::fs::write(&file, format!("{text}\n"))?;
            let assets = crate::export::write_assets(&evaluated.graph, dir)?;
            eprintln!(
                "Wrote {} and {} asset zip(s); then `terraform init && terraform plan` in {} (PAGERDUTY_TOKEN from the environment).",
                file.display(),
                assets.len(),
                dir.display()
            );
        }
        None => {
            println!("{text}");
            if !evaluated.graph.assets.is_empty() {
                eprintln!(
                    "note: the configuration names {} asset zip(s) under ./{}/: use --out DIR to write them too",
                    evaluated.graph.assets.len(),
                    crate::export::ASSET_DIR
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
