//! `blueprint graph FILE --format json|dot|mermaid`: the declared graph, no API calls.

use std::process::ExitCode;

use super::{CliResult, GlobalArgs, GraphArgs, GraphFormat};
use blueprint_model::graph::render;

pub async fn run(global: &GlobalArgs, args: &GraphArgs) -> CliResult {
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    let graph = &evaluated.graph;
    let text = match args.format {
        GraphFormat::Json => {
            let mut text = serde_json::to_string_pretty(&render::to_json(graph))?;
            text.push('\n');
            text
        }
        GraphFormat::Dot => render::to_dot(graph),
        GraphFormat::Mermaid => render::to_mermaid(graph),
    };
    print!("{}", blueprint_model::text::escape_lines(&text));
    Ok(ExitCode::SUCCESS)
}
