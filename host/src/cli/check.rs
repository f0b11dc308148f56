//! `blueprint check FILE`: alert-hygiene findings for a blueprint's graph, grouped
//! by severity; exit 1 on errors (with `--strict`, on warnings too).

use std::process::ExitCode;

use super::{CheckArgs, CliResult, GlobalArgs};
use crate::check;

pub async fn run(global: &GlobalArgs, args: &CheckArgs) -> CliResult {
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    let report = crate::run::findings(&runtime, &evaluated).await?;
    if args.json {
        let out = serde_json::json!({
            "passed": !report.fails(args.strict),
            "errors": report.count(check::Severity::Error),
            "warnings": report.count(check::Severity::Warning),
            "findings": report.findings,
            "unused_silences": report.unused_silences,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", check::render_text(&report));
    }
    Ok(if report.fails(args.strict) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
