//! On-call coverage as a picture: one row per escalation level over the window,
//! a colour per person, gaps hatched red, local midnights marked. Plain SVG, so
//! a browser, a pull-request comment or a wiki shows it.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Coverage;
use crate::oncall;

const WIDTH: f64 = 1200.0;
const LABEL: f64 = 190.0;
const ROW: f64 = 34.0;
const ROW_GAP: f64 = 10.0;
const TOP: f64 = 64.0;
/// Legend entries side by side, this many to a line.
const LEGEND_PER_ROW: usize = 4;
/// Colour-blind-safe (Okabe-Ito), then a few more.
const PALETTE: &[&str] = &[
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
    "#332288", "#117733", "#882255", "#44AA99",
];

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Every policy's coverage, stacked.
pub fn render(coverages: &[Coverage]) -> String {
    let mut colours: BTreeMap<&str, &str> = BTreeMap::new();
    for c in coverages {
        for l in &c.levels {
            for e in &l.entries {
                let next = PALETTE[colours.len() % PALETTE.len()];
                colours.entry(e.user.as_str()).or_insert(next);
            }
        }
    }
    let rows: usize = coverages.iter().map(|c| c.levels.len().max(1)).sum();
    // Each policy: its rows, then room for the next one's title and day labels.
    let legend_top = TOP
        + rows as f64 * (ROW + ROW_GAP)
        + coverages.len().saturating_sub(1) as f64 * (TOP - 10.0)
        + 6.0;
    let legend_rows = (colours.len() + 1).div_ceil(LEGEND_PER_ROW);
    let height = legend_top + 24.0 * legend_rows as f64 + 12.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="system-ui, sans-serif" font-size="13">
<defs><pattern id="gap" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#fde8e8"/><line x1="0" y1="0" x2="0" y2="8" stroke="#d62728" stroke-width="3"/></pattern></defs>
<rect width="100%" height="100%" fill="white"/>"##
    );
    let mut y = TOP;
    for c in coverages {
        y = policy(&mut svg, c, &colours, y);
    }
    legend(&mut svg, &colours, legend_top);
    svg.push_str("</svg>\n");
    svg
}

fn policy(svg: &mut String, c: &Coverage, colours: &BTreeMap<&str, &str>, top: f64) -> f64 {
    let tz: Tz = c.time_zone.parse().unwrap_or(Tz::UTC);
    let span = (c.to - c.from).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| {
        LABEL + (t - c.from).num_seconds() as f64 / span * (WIDTH - LABEL - 20.0)
    };
    let local = |t: DateTime<Utc>| oncall::local_time(t, tz);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="{}" font-size="15" font-weight="bold">{} — {} to {} ({})</text>"#,
        top - 30.0,
        esc(&c.policy_name),
        esc(&local(c.from)),
        esc(&local(c.to)),
        esc(&c.time_zone)
    );
    let rows = c.levels.len().max(1) as f64;
    let bottom = top + rows * (ROW + ROW_GAP);
    // Local midnights, labelled with the day; the first day at the window's start.
    let mut day = c.from.with_timezone(&tz).date_naive();
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{}" fill="#555" font-size="11">{}</text>"##,
        LABEL + 3.0,
        top - 4.0,
        day.format("%a %m-%d")
    );
    let every = ((c.to - c.from).num_days() / 14 + 1).max(1);
    let mut n = 1;
    loop {
        day = day.succ_opt().expect("a date in range");
        let midnight = super::rotation::local_instant(tz, day, chrono::NaiveTime::MIN);
        if midnight >= c.to {
            break;
        }
        let mx = x(midnight);
        let _ = writeln!(
            svg,
            r##"<line x1="{mx:.1}" y1="{}" x2="{mx:.1}" y2="{bottom}" stroke="#bbb" stroke-dasharray="3,3"/>"##,
            top - 14.0
        );
        if n % every == 0 {
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{}" fill="#555" font-size="11">{}</text>"##,
                mx + 3.0,
                top - 4.0,
                day.format("%a %m-%d")
            );
        }
        n += 1;
    }
    for (i, level) in c.levels.iter().enumerate() {
        let ry = top + i as f64 * (ROW + ROW_GAP);
        let _ = writeln!(
            svg,
            r##"<text x="10" y="{:.1}">Level {}</text><text x="10" y="{:.1}" fill="#666" font-size="11">{}</text>"##,
            ry + 14.0,
            level.level,
            ry + 28.0,
            esc(&level.targets.join(", "))
        );
        for e in &level.entries {
            let (x0, x1) = (x(e.start), x(e.end));
            let _ = writeln!(
                svg,
                r##"<rect x="{x0:.2}" y="{ry:.1}" width="{:.2}" height="{ROW}" fill="{}" stroke="white" stroke-width="0.5"><title>{} {} – {}</title></rect>"##,
                (x1 - x0).max(0.5),
                colours.get(e.user.as_str()).copied().unwrap_or("#999"),
                esc(&e.user),
                esc(&local(e.start)),
                esc(&local(e.end)),
            );
        }
        for g in &level.gaps {
            let (x0, x1) = (x(g.start), x(g.end));
            let _ = writeln!(
                svg,
                r##"<rect x="{x0:.2}" y="{ry:.1}" width="{:.2}" height="{ROW}" fill="url(#gap)" stroke="#d62728"><title>nobody on call {} – {}</title></rect>"##,
                (x1 - x0).max(1.0),
                esc(&local(g.start)),
                esc(&local(g.end)),
            );
        }
    }
    bottom + TOP - 10.0
}

fn legend(svg: &mut String, colours: &BTreeMap<&str, &str>, top: f64) {
    let slot = (WIDTH - 20.0) / LEGEND_PER_ROW as f64;
    let mut items: Vec<(String, String)> = colours
        .iter()
        .map(|(user, colour)| (esc(user), (*colour).to_owned()))
        .collect();
    items.push(("nobody on call".into(), "url(#gap)".into()));
    for (i, (label, fill)) in items.iter().enumerate() {
        let x = 10.0 + (i % LEGEND_PER_ROW) as f64 * slot;
        let y = top + (i / LEGEND_PER_ROW) as f64 * 24.0;
        let stroke = if fill.starts_with("url") {
            r##" stroke="#d62728""##
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="16" height="16" fill="{fill}"{stroke}/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            x + 22.0,
            y + 13.0,
        );
    }
}
