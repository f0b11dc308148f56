//! `blueprint drill FILE`: fire the alert chains of an applied blueprint and show,
//! link by link, whether a page reached the person on call.

use std::process::ExitCode;
use std::time::Duration;

use super::{CliResult, DrillArgs, GlobalArgs};
use crate::drill::{ChainReport, Drill, Options, Outcome};
use crate::run::{Target, Verb};

pub async fn run(global: &GlobalArgs, args: &DrillArgs) -> CliResult {
    let context = global.context(crate::slots::Parallelism::Fixed(1))?;
    let target = Target {
        file: args.eval.file.clone(),
        sets: args.eval.sets.clone(),
        state: args.state.clone(),
        ..Target::default()
    };
    // Holds the lock: a drill reads what an apply would be rewriting.
    let opened = context.open(&target, Verb::Drill).await?;
    // Fail before touching any API when there is nothing to drill.
    crate::drill::chains(&opened.graph)?;
    if opened.state.resources.is_empty() {
        anyhow::bail!(
            "{} has not been applied (its state is empty): run `blueprint run {}` first",
            opened.blueprint.name,
            args.eval.file.display()
        );
    }
    let drill = Drill {
        graph: &opened.graph,
        state: &opened.state,
        providers: &opened.providers,
        options: Options {
            inject: args.from,
            timeout: Duration::from_secs_f64(args.timeout.max(0.0)),
            poll: Duration::from_millis(500),
            resolver_email: std::env::var("PAGERDUTY_FROM_EMAIL")
                .ok()
                .filter(|e| !e.is_empty()),
        },
    };
    let reports = drill.run().await?;
    let passed = reports.iter().all(ChainReport::passed);
    if args.json {
        let out = serde_json::json!({"passed": passed, "chains": reports});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", blueprint_model::text::escape_lines(&text(&reports)?));
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn text(reports: &[ChainReport]) -> anyhow::Result<String> {
    let mut out = String::new();
    let width = reports
        .iter()
        .flat_map(|r| r.links.iter().map(|l| l.link.chars().count()))
        .max()
        .unwrap_or(0);
    for report in reports {
        out.push_str(&format!(
            "Drill {} ({:?}), --from {}\n  {}\n",
            report.alarm,
            report.alarm_name,
            serde_json::to_value(report.inject)?.as_str().unwrap_or("?"),
            report.path
        ));
        for link in &report.links {
            let mark = match link.outcome {
                Outcome::Passed => "✓",
                Outcome::Failed => "✗",
                Outcome::Skipped => "-",
            };
            let pad = width - link.link.chars().count();
            out.push_str(&format!(
                "  {mark} {}{}  {:>6.2}s  {}\n",
                link.link,
                " ".repeat(pad),
                link.seconds,
                link.detail
            ));
            if let Some(hint) = &link.hint {
                out.push_str(&format!("      → {hint}\n"));
            }
        }
        if let Some(paged) = &report.paged {
            for level in &paged.levels {
                let who = if level.on_call.is_empty() {
                    "nobody".to_owned()
                } else {
                    level.on_call.join(", ")
                };
                out.push_str(&format!("    level {}: {who} on call now\n", level.level));
            }
        }
        out.push('\n');
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.alarm.as_str())
        .collect();
    if failed.is_empty() {
        out.push_str(&format!(
            "Drill passed: {} chain(s), every link checked, the person on call was notified.\n",
            reports.len()
        ));
    } else {
        out.push_str(&format!("Drill failed: {}\n", failed.join(", ")));
    }
    Ok(out)
}
