//! What the tool says about itself: `version` (what was built, from what, what
//! it serves), shell `completions`, the `man` page, and the command `reference`
//! (docs/reference.md is its output; a test keeps the file current). All are
//! generated from the same clap definitions as the parser.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use serde_json::json;

use super::{Cli, CliResult};

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for; write the script where your shell loads them
    /// (e.g. `blueprint completions bash > /etc/bash_completion.d/blueprint`).
    pub shell: clap_complete::Shell,
}

pub fn version(args: &VersionArgs) -> CliResult {
    let compiler = match crate::runtime::Compiler::from_env()? {
        crate::runtime::Compiler::Winch => "winch",
        crate::runtime::Compiler::Cranelift => "cranelift",
    };
    let wit: Vec<String> = crate::runtime::wit::VERSIONS
        .iter()
        .map(|v| format!("{}@{v}", crate::runtime::wit::WIT_PACKAGE))
        .collect();
    let info = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": env!("BLUEPRINT_COMMIT"),
        "wit": wit,
        "wit_latest": format!("{}@{}", crate::runtime::wit::WIT_PACKAGE, crate::runtime::wit::WIT_VERSION),
        "compiler": compiler,
        "target": env!("BLUEPRINT_TARGET"),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!(
            "blueprint {} ({})\nWIT contracts served: {}\nguest compiler: {compiler} (BLUEPRINT_COMPILER)\ntarget: {}",
            env!("CARGO_PKG_VERSION"),
            env!("BLUEPRINT_COMMIT"),
            wit.join(", "),
            env!("BLUEPRINT_TARGET"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn completions(args: &CompletionsArgs) -> CliResult {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "blueprint",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn man() -> CliResult {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Every command and flag as Markdown, from the clap definitions.
pub fn reference() -> String {
    let mut command = Cli::command();
    command.build();
    let mut out = String::from(
        "# Command reference\n\n\
         Generated from the command-line definitions by `blueprint reference`\n\
         (`tests/cli.rs` fails when this file is out of date: regenerate it with\n\
         `target/release/blueprint reference > docs/reference.md`). Environment\n\
         variables and exit codes follow the commands.\n",
    );
    let globals: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .collect();
    out.push_str("\n## Global flags (every command)\n\n");
    for arg in &globals {
        out.push_str(&arg_line(arg));
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        section(&mut out, sub, "blueprint");
    }
    out.push_str(ENVIRONMENT);
    out.push_str(EXIT_CODES);
    out
}

fn section(out: &mut String, command: &clap::Command, parent: &str) {
    let path = format!("{parent} {}", command.get_name());
    out.push_str(&format!("\n## `{path}`\n\n"));
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        out.push_str(&format!("{}\n\n", about.to_string().trim()));
    }
    let usage = command
        .clone()
        .bin_name(&path)
        .render_usage()
        .to_string()
        .replace("Usage: ", "");
    out.push_str(&format!("```\n{}\n```\n\n", usage.trim()));
    for arg in command
        .get_arguments()
        .filter(|a| !a.is_global_set() && !a.is_hide_set() && a.get_id() != "help")
    {
        out.push_str(&arg_line(arg));
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        section(out, sub, &path);
    }
}

fn arg_line(arg: &clap::Arg) -> String {
    let name = match (arg.get_long(), arg.get_short()) {
        (Some(long), Some(short)) => format!("`-{short}`, `--{long}`"),
        (Some(long), None) => format!("`--{long}`"),
        (None, Some(short)) => format!("`-{short}`"),
        (None, None) => format!(
            "`{}`",
            arg.get_value_names().and_then(|v| v.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                |v| v.to_string()
            )
        ),
    };
    let help = arg
        .get_help()
        .map(|h| h.to_string().replace('\n', " "))
        .unwrap_or_default();
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    let values = if values.is_empty() {
        String::new()
    } else {
        format!(" One of: {}.", values.join(", "))
    };
    let default: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let default = if default.is_empty() || !arg.get_action().takes_values() {
        String::new()
    } else {
        format!(" Default: `{}`.", default.join(","))
    };
    let env = arg
        .get_env()
        .map(|e| format!(" Env: `{}`.", e.to_string_lossy()))
        .unwrap_or_default();
    let mut text = help.trim().trim_end_matches('.').to_owned();
    if !text.is_empty() {
        text.push('.');
    }
    let text = format!("{text}{values}{default}{env}");
    format!("- {name}: {}\n", text.trim())
}

const ENVIRONMENT: &str = "
## Environment variables

| variable | what it sets |
|---|---|
| `AWS_PROFILE`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, ... | the AWS SDK's standard credential and region chain (the blueprint file's `[providers.aws]` region and profile win) |
| `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>` | where AWS calls go (a local emulator, a VPC endpoint) |
| `PAGERDUTY_TOKEN` | the PagerDuty REST API token (never printed) |
| `PAGERDUTY_SERVICE_REGION` | `us` (default) or `eu`, when the blueprint file does not say |
| `PAGERDUTY_API_URL`, `PAGERDUTY_EVENTS_URL` | where PagerDuty REST and events calls go (the emulator in tests) |
| `PAGERDUTY_FROM_EMAIL` | the user `drill` and `destroy --resolve-incidents` act as, and maintenance windows are created by |
| `BLUEPRINT_CALL_TIMEOUT` | seconds one API attempt may take before the command ends naming the endpoint (default 20) |
| `BLUEPRINT_SNS_CONFIRM_SECONDS` | how long `run` waits for an HTTP(S) endpoint to confirm an SNS subscription (default 60) |
| `BLUEPRINT_COMPILER` | `winch` or `cranelift`: wasmtime's compiler for guests (default: Winch on x86_64) |
| `BLUEPRINT_CACHE_DIR` | where compiled guests, development runtimes and downloads are cached |
| `NO_COLOR` | set and not empty: no colour anywhere (as `--no-color`) |
| `RUST_LOG` | log filter, overriding `-v` |
";

const EXIT_CODES: &str = "
## Exit codes

| code | meaning |
|---|---|
| 0 | success (`plan --detailed-exitcode`: no changes) |
| 1 | an error, a usage error included (an unknown command or flag, a bad value); a failed drill; `check` findings at the failing severity |
| 2 | only with `plan --detailed-exitcode`: the plan has changes |
";
