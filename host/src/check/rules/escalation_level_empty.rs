use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::oncall;

use super::schedule_gap::{AHEAD, length, when};

pub(super) static RULE: Rule = Rule {
    id: "escalation-level-empty",
    severity: Severity::Warning,
    why: "an escalation level with nobody on call notifies nobody: the first level's page is lost or late, a later level is no backup",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    let Ok(coverages) = oncall::coverage(c.graph, c.catalog, c.now, c.now + AHEAD) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for policy in coverages {
        let tz = policy.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC);
        for level in &policy.levels {
            // The coverage has the level's gaps already.
            let gaps: Vec<_> = level.gaps.iter().map(|g| (g.start, g.end)).collect();
            let Some(first) = gaps.first() else { continue };
            let message = if level.targets.is_empty() {
                format!(
                    "level {} targets no schedule or user of this blueprint",
                    level.level
                )
            } else {
                format!(
                    "level {} ({}) has nobody on call for {} in the next four weeks ({} gap(s); the first {})",
                    level.level,
                    level.targets.join(", "),
                    length(&gaps),
                    gaps.len(),
                    when(first, tz)
                )
            };
            found.push(Hit {
                node: policy.policy.clone(),
                message,
                fix: "add a target that covers the gaps to this level (a second schedule, or a user who is always on call)".into(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_when_a_level_can_be_empty() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("sched", |p| {
            p["layers"][0]["end"] = json!("2025-01-01T00:00:00Z");
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].message
                .starts_with("level 1 (schedule \"s\") has nobody on call for 672 h"),
            "{}",
            h[0].message
        );
    }
}
