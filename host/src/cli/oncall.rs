//! `blueprint oncall FILE`: the declared rotation, level by level, before any
//! apply. Computed from the graph alone (`blueprint_model::oncall`), so it can
//! run in a pull request's CI without credentials.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::{CliResult, GlobalArgs, OncallArgs, OncallFormat};
use blueprint_model::oncall::{self, Coverage};
use blueprint_model::text::escape_lines;

pub async fn run(global: &GlobalArgs, args: &OncallArgs) -> CliResult {
    let (from, to) = window(&args.from, &args.to, Utc::now())?;
    let runtime = global.runtime()?;
    let evaluated = args.eval.evaluate(&runtime).await?;
    let coverages = oncall::coverage(&evaluated.graph, crate::run::catalog(), from, to)
        .context("cannot compute on-call before apply")?;
    if coverages.is_empty() {
        bail!("this blueprint declares no escalation policy");
    }
    let format = if args.json {
        OncallFormat::Json
    } else {
        args.format
    };
    match format {
        OncallFormat::Json => println!("{}", serde_json::to_string_pretty(&to_json(&coverages))?),
        OncallFormat::Svg => print!("{}", oncall::svg::render(&coverages)),
        OncallFormat::Text => print!("{}", escape_lines(&to_text(&coverages))),
    }
    Ok(ExitCode::SUCCESS)
}

/// `--from` and `--to` against the clock.
pub fn window(
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let from = if from == "now" { now } else { instant(from)? };
    let to = match length(to) {
        Some(length) => from + length,
        None => instant(to)?,
    };
    if to <= from {
        bail!("--to must be after --from");
    }
    if to - from > Duration::days(366) {
        bail!("the window is at most 366 days");
    }
    Ok((from, to))
}

fn instant(text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| {
            format!("{text:?} is not an RFC 3339 time (e.g. 2026-12-05T09:00:00+09:00) or `now`")
        })
}

/// `36h`, `7d`, `2w`.
fn length(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: i64 = number.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "h" => Some(Duration::hours(n)),
        "d" => Some(Duration::days(n)),
        "w" => Some(Duration::weeks(n)),
        _ => None,
    }
}

/// The shape: every entry and gap, each naming its policy too.
fn to_json(coverages: &[Coverage]) -> serde_json::Value {
    let mut entries = Vec::new();
    let mut gaps = Vec::new();
    for c in coverages {
        for l in &c.levels {
            for e in &l.entries {
                let mut v = json!(e);
                v["policy"] = json!(c.policy);
                entries.push(v);
            }
            for g in &l.gaps {
                let mut v = json!(g);
                v["policy"] = json!(c.policy);
                gaps.push(v);
            }
        }
    }
    let from = coverages.first().map(|c| c.from);
    let to = coverages.first().map(|c| c.to);
    let stamp =
        |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    json!({"from": stamp(from), "to": stamp(to), "entries": entries, "gaps": gaps})
}

fn to_text(coverages: &[Coverage]) -> String {
    let mut out = String::new();
    for c in coverages {
        let tz: Tz = c.time_zone.parse().unwrap_or(Tz::UTC);
        let local = |t: DateTime<Utc>| oncall::local_time(t, tz);
        out.push_str(&format!(
            "Escalation policy {:?} ({}), {} to {} ({})\n",
            c.policy_name,
            c.policy,
            local(c.from),
            local(c.to),
            c.time_zone
        ));
        for l in &c.levels {
            out.push_str(&format!(
                "\n  Level {}: {}\n",
                l.level,
                l.targets.join(", ")
            ));
            // Turns and gaps in time order.
            let mut lines: Vec<(DateTime<Utc>, String)> = l
                .entries
                .iter()
                .map(|e| {
                    (
                        e.start,
                        format!("    {} – {}  {}\n", local(e.start), local(e.end), e.user),
                    )
                })
                .collect();
            lines.extend(l.gaps.iter().map(|g| {
                (
                    g.start,
                    format!(
                        "    {} – {}  NOBODY ON CALL ({})\n",
                        local(g.start),
                        local(g.end),
                        hours(g.end - g.start)
                    ),
                )
            }));
            lines.sort();
            for (_, line) in lines {
                out.push_str(&line);
            }
            if l.gaps.is_empty() {
                out.push_str("    no gaps: someone is on call at every moment\n");
            } else {
                let empty: Duration = l.gaps.iter().map(|g| g.end - g.start).sum();
                out.push_str(&format!(
                    "    {} gap(s), {} with nobody on call\n",
                    l.gaps.len(),
                    hours(empty)
                ));
            }
        }
        out.push('\n');
    }
    out
}

fn hours(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes % 60 == 0 {
        format!("{} h", minutes / 60)
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_from_now_or_from_a_time() {
        let now = instant("2026-12-02T00:00:00Z").unwrap();
        let (a, b) = window("now", "7d", now).unwrap();
        assert_eq!((a, b - a), (now, Duration::days(7)));
        let (a, b) = window(
            "2026-12-05T00:00:00+09:00",
            "2026-12-06T00:00:00+09:00",
            now,
        )
        .unwrap();
        assert_eq!(b - a, Duration::days(1));
        assert!(window("now", "0d", now).is_err());
        assert!(window("yesterday", "7d", now).is_err());
        assert!(window("now", "400d", now).is_err());
    }
}
