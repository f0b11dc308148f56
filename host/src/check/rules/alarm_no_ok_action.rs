use crate::check::{Context, Hit, Rule, Severity};

pub(super) static RULE: Rule = Rule {
    id: "alarm-no-ok-action",
    severity: Severity::Warning,
    why: "PagerDuty's CloudWatch integration resolves the incident when the alarm notifies OK; with ALARM actions only, incidents stay open after the errors stop",
    check,
};

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.chains
        .iter()
        .filter(|chain| !chain.pages.is_empty())
        .filter(|chain| {
            !chain
                .pages
                .iter()
                .any(|p| chain.ok_topics.iter().any(|t| t.id == p.topic.id))
        })
        .map(|chain| Hit {
            node: chain.alarm.id.clone(),
            message: "notifies PagerDuty on ALARM but not on OK".into(),
            fix: "ok_actions = the same topic as alarm_actions (the seed guest: alarm_ok_action = true)".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::check::testing::*;

    #[test]
    fn trips_without_ok_actions() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("alarm", |p| {
            p.remove("ok_actions");
        }));
        assert_eq!(hits(&super::RULE, &g).len(), 1);
    }
}
