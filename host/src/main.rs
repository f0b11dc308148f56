use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use blueprint::cli::{self, Cli, style};

fn main() -> ExitCode {
    // Usage errors exit 1 (clap's own code is 2, which `plan --detailed-exitcode`
    // keeps for "there are changes"); help and --version exit 0.
    let json = std::env::args().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if json => {
            report_json(
                "usage",
                &e.render().to_string(),
                None,
                Some("`blueprint --help` lists the commands; `blueprint COMMAND --help` the flags"),
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::FAILURE;
        }
    };
    style::init(cli.global.no_color);
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // Errors may quote what a guest chose (names, messages): escaped.
            let message = blueprint::text::escape_lines(&cli::error_message(&e)).into_owned();
            let hint = cli::error_hint(&e);
            if json {
                report_json(cli::error_kind(&e), &message, cli::error_node(&e), hint);
            } else {
                eprintln!("error: {message}");
                if let Some(hint) = hint {
                    eprintln!("hint: {hint}");
                }
            }
            ExitCode::FAILURE
        }
    }
}

/// `{"error": {"kind", "message", "node"?, "hint"?}}` on stderr, for `--json` callers.
fn report_json(kind: &str, message: &str, node: Option<String>, hint: Option<&str>) {
    let mut error = serde_json::json!({"kind": kind, "message": message.trim_end()});
    if let Some(node) = node {
        error["node"] = serde_json::Value::String(node);
    }
    if let Some(hint) = hint {
        error["hint"] = serde_json::Value::String(hint.to_owned());
    }
    eprintln!("{}", serde_json::json!({ "error": error }));
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // No escape codes in a pipe or a file: only a terminal gets colour.
        .with_ansi(style::stderr())
        .with_target(false)
        .init();
}
