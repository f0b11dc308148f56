//! Colour on a terminal, none anywhere else: a stream gets ANSI colour only when
//! it is a terminal, `NO_COLOR` is unset or empty (no-color.org), `TERM` is not
//! `dumb`, and `--no-color` was not given. Decided once at start, for stdout and
//! stderr apart (`blueprint plan | less` keeps colour off; logs to a file too).

use std::io::IsTerminal;
use std::sync::OnceLock;

static COLOUR: OnceLock<(bool, bool)> = OnceLock::new();

/// Decide for both streams; later calls change nothing.
pub fn init(no_color_flag: bool) {
    let allowed = !no_color_flag
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb");
    let _ = COLOUR.set((
        allowed && std::io::stdout().is_terminal(),
        allowed && std::io::stderr().is_terminal(),
    ));
}

pub fn stdout() -> bool {
    COLOUR.get().is_some_and(|c| c.0)
}

pub fn stderr() -> bool {
    COLOUR.get().is_some_and(|c| c.1)
}

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// A rendered plan (already escaped: no control character of a guest's is in
/// it) with Terraform's colours on each change's line — create green, update
/// yellow, delete and replace red, adopt cyan — and the summary in bold, when
/// stdout takes colour; unchanged otherwise.
pub fn plan(text: &str) -> String {
    if !stdout() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let colour = match line.trim_start().split(' ').next() {
            _ if !line.starts_with("  ") => {
                if line.starts_with("Plan:") {
                    Some(BOLD)
                } else {
                    None
                }
            }
            Some("+") => Some(GREEN),
            Some("~") => Some(YELLOW),
            Some("-" | "-/+") => Some(RED),
            Some("<=") => Some(CYAN),
            _ => None,
        };
        match colour {
            Some(c) => {
                let body = line.trim_end_matches('\n');
                out.push_str(c);
                out.push_str(body);
                out.push_str(RESET);
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_colour_unless_decided_for_a_terminal() {
        // Not initialised (as in a pipe): the text is left as it is.
        let text = "  + a (aws.sns_topic)\n\nPlan: 1 to create\n";
        assert_eq!(super::plan(text), text);
    }
}
