//! `blueprint import FILE --from-terraform-state PATH...` and `blueprint import
//! FILE NODE=ID...`: adopt existing objects into the blueprint's state (reads
//! only; see `crate::import` and docs/import.md).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::{CliResult, GlobalArgs};
use crate::import::{AdoptedFrom, Matching, adopt};
use crate::run::Target;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The blueprint file (TOML).
    pub file: PathBuf,
    /// Nodes to adopt by id, `NODE=ID`, the id as Terraform's import takes it
    /// for the node's type (docs/import.md lists them).
    #[arg(value_name = "NODE=ID")]
    pub ids: Vec<String>,
    /// Terraform state files (format 4), local paths or `s3://BUCKET/KEY`: every
    /// managed instance is matched to a node by identity.
    #[arg(long = "from-terraform-state", value_name = "PATH", num_args = 1..)]
    pub from_terraform_state: Vec<String>,
    /// Override a param: KEY is a dotted path, VALUE is JSON or else a string.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// State file or `s3://` URL; default from the blueprint file.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Print what would be recorded; record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Record without asking (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Record a node the state already holds, replacing its record (the object
    /// recorded before is forgotten, not deleted).
    #[arg(long)]
    pub replace_record: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &GlobalArgs, args: &ImportArgs) -> CliResult {
    if args.ids.is_empty() == args.from_terraform_state.is_empty() {
        anyhow::bail!(
            "name what to import: --from-terraform-state PATH... or NODE=ID arguments (not both)"
        );
    }
    let context = global.context(crate::slots::Parallelism::Auto)?;
    let target = Target {
        file: args.file.clone(),
        sets: args.sets.clone(),
        state: args.state.clone(),
        ..Target::default()
    };
    let source = if args.from_terraform_state.is_empty() {
        adopt::Source::Ids(&args.ids)
    } else {
        adopt::Source::TerraformStates(&args.from_terraform_state)
    };
    let found = adopt::find(&context, &target, source).await?;

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&matching_json(&found.matching))?
        );
    } else {
        print!("{}", render(&found.matching));
    }
    let ready = found.check(args.replace_record)?;
    if args.dry_run {
        if !args.json {
            println!("Dry run: nothing was recorded.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        confirm(ready.count, &ready.store())?;
    }
    let (count, store) = (ready.count, ready.store());
    ready.record().await?;
    if !args.json {
        println!(
            "Import complete: {count} resource(s) recorded in {store}; nothing was created, changed or deleted. Run `blueprint plan` to see what differs."
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(count: usize, store: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to record without confirmation: stdin is not a terminal; pass --yes to record (or --dry-run to look)"
        );
    }
    print!("\nRecord these {count} resource(s) in {store}? Only 'yes' is accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        anyhow::bail!("import cancelled");
    }
    Ok(())
}

fn from_text(from: &AdoptedFrom) -> String {
    match from {
        AdoptedFrom::TerraformState { file, address } => format!("{address} ({file})"),
        AdoptedFrom::Id { id } => format!("id {id}"),
    }
}

fn render(m: &Matching) -> String {
    let mut out = String::new();
    let mut section = |title: String, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push_str(&title);
            out.push('\n');
            for l in lines {
                out.push_str("  ");
                out.push_str(&l);
                out.push('\n');
            }
            out.push('\n');
        }
    };
    section(
        format!("Adopt ({}):", m.adopted.len()),
        m.adopted
            .iter()
            .map(|a| {
                format!(
                    "{} ({}) <- {}, live id {}",
                    a.node,
                    a.kind,
                    from_text(&a.from),
                    a.resource.id
                )
            })
            .collect(),
    );
    section(
        format!("Lookups found in the state ({}):", m.lookups.len()),
        m.lookups
            .iter()
            .map(|l| {
                format!(
                    "{} ({}) = {} ({}), id {}",
                    l.node, l.kind, l.address, l.file, l.id
                )
            })
            .collect(),
    );
    section(
        format!(
            "Ambiguous — nothing will be recorded ({}):",
            m.ambiguous.len()
        ),
        m.ambiguous
            .iter()
            .map(|a| {
                format!(
                    "{} ({}) matches {}",
                    a.node,
                    a.kind,
                    a.candidates.join(" and ")
                )
            })
            .collect(),
    );
    section(
        format!(
            "Nodes with no match — `run` would create them ({}):",
            m.nodes_without_match.len()
        ),
        m.nodes_without_match
            .iter()
            .map(|u| format!("{} ({}): {}", u.node, u.kind, u.reason))
            .collect(),
    );
    section(
        format!(
            "Unmatched resources in the state — left alone ({}):",
            m.unmatched.len()
        ),
        m.unmatched
            .iter()
            .map(|l| format!("{} ({}): {}", l.address, l.file, l.reason))
            .collect(),
    );
    section(
        format!("Not imported ({}):", m.ignored.len()),
        m.ignored
            .iter()
            .map(|l| format!("{} ({}): {}", l.address, l.file, l.reason))
            .collect(),
    );
    out
}

fn matching_json(m: &Matching) -> serde_json::Value {
    json!({
        "adopted": m.adopted.iter().map(|a| json!({
            "node": a.node,
            "kind": a.kind,
            "id": a.resource.id,
            "import_id": a.import_id,
            "from": a.from,
        })).collect::<Vec<_>>(),
        "lookups": m.lookups,
        "ambiguous": m.ambiguous,
        "nodes_without_match": m.nodes_without_match,
        "unmatched": m.unmatched,
        "ignored": m.ignored,
    })
}
