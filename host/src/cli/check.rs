//! `blueprint check FILE`: alert-hygiene findings for a blueprint's graph, grouped
//! by severity; exit 1 on errors (with `--strict`, on warnings too).

use std::process::ExitCode;

use super::{CheckArgs, CliResult, GlobalArgs};
use crate::blueprint_file::Blueprint;
use crate::check::{self, Report};
use crate::graph::Graph;

pub async fn run(global: &GlobalArgs, args: &CheckArgs) -> CliResult {
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    let report = report(&runtime, &evaluated.blueprint, &evaluated.graph).await?;
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

/// The findings for an evaluated blueprint (also shown by `plan` and `run`): the
/// built-in rules, then the blueprint's and the organisation's policy guests.
pub async fn report(
    runtime: &crate::runtime::Runtime,
    blueprint: &Blueprint,
    graph: &Graph,
) -> anyhow::Result<Report> {
    let region = crate::providers::pagerduty::service_region(&blueprint.providers.pagerduty);
    let policies = check::policies::run(runtime, blueprint, graph)
        .await
        .map_err(anyhow::Error::msg)?;
    check::check_with(
        graph,
        &region,
        &blueprint.silences,
        &policies.rules,
        policies.findings,
    )
    .map_err(anyhow::Error::msg)
}
