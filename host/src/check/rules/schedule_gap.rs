use chrono::{DateTime, Duration, Utc};

use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::kind::Role;
use blueprint_model::oncall;

pub(super) static RULE: Rule = Rule {
    id: "schedule-gap",
    severity: Severity::Warning,
    why: "where a schedule's layers leave a gap nobody is on call for it: PagerDuty opens no incident, or skips to the next level, and nobody is told",
    check,
};

/// How far ahead the on-call rules look.
pub(super) const AHEAD: Duration = Duration::weeks(4);

fn check(c: &Context<'_>) -> Vec<Hit> {
    let (from, to) = (c.now, c.now + AHEAD);
    c.nodes_with(Role::Schedule)
        .filter_map(|node| {
            // Unknown before apply (a time zone or start from another node): no finding.
            let schedule = oncall::schedule_of(c.graph, c.catalog, node).ok()?;
            let spans = schedule.final_spans(from, to);
            let gaps = oncall::uncovered(spans.iter().map(|s| (s.start, s.end)), from, to);
            let first = gaps.first()?;
            Some(Hit {
                node: node.id.clone(),
                message: format!(
                    "nobody is on call for {} in the next four weeks ({} gap(s); the first {})",
                    length(&gaps),
                    gaps.len(),
                    when(first, schedule.time_zone)
                ),
                fix: "add a layer (or widen the restrictions) to cover the gaps, or accept them with a `[[check.silence]]`; `blueprint oncall FILE --to 4w` shows them".into(),
            })
        })
        .collect()
}

pub(super) fn length(gaps: &[(DateTime<Utc>, DateTime<Utc>)]) -> String {
    let total: Duration = gaps.iter().map(|(a, b)| *b - *a).sum();
    let hours = total.num_minutes() as f64 / 60.0;
    if hours >= 48.0 {
        format!("{:.0} h", hours)
    } else {
        format!("{hours:.1} h")
    }
}

pub(super) fn when(gap: &(DateTime<Utc>, DateTime<Utc>), tz: chrono_tz::Tz) -> String {
    format!(
        "{} – {} {}",
        oncall::local_time(gap.0, tz),
        oncall::local_time(gap.1, tz),
        tz.name()
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_on_a_restricted_rotation() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("sched", |p| {
            p["layers"][0]["restrictions"] = json!([
                {"restriction_type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 32400}
            ]);
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].node, "sched");
        assert!(
            h[0].message.contains("nobody is on call for"),
            "{}",
            h[0].message
        );
        assert!(h[0].message.contains("gap(s)"), "{}", h[0].message);
    }
}
