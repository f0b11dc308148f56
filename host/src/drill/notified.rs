//! 6. The person on call is notified: the incident's log shows PagerDuty
//!    reaching the assignee through their notification rules. An assignment
//!    alone pages nobody: a user without a contact method, or without a rule
//!    for the incident's urgency, is assigned and never told
//!    (support.pagerduty.com/docs/notification-rules).

use std::time::Instant;

use super::report::{Failure, Paged, fail};
use super::{Drill, Probes};
use crate::providers::probe::Reach;

const RULES_DOC: &str = "support.pagerduty.com/docs/notification-rules";

impl Drill<'_> {
    pub(super) async fn notified(
        &self,
        probes: &Probes,
        paged: &mut Paged,
    ) -> Result<String, Failure> {
        let paging = probes.paging();
        let who = format!("{} <{}>", paged.assignee, paged.assignee_email);
        let reach = paging.reach(&paged.assignee_id).await?;
        if let Some(missing) = unreachable(&reach, &paged.urgency) {
            return Err(fail(
                format!("incident assigned to {who}, who is never notified: {missing}"),
                format!(
                    "give {} a contact method and a {}-urgency notification rule ({RULES_DOC})",
                    paged.assignee, paged.urgency
                ),
            ));
        }
        let first_delay = reach
            .rules
            .iter()
            .filter(|r| r.urgency == paged.urgency)
            .map(|r| r.delay_minutes)
            .min()
            .unwrap_or(0);
        let waited = Instant::now();
        let timeout = self.options.timeout;
        loop {
            let sent = paging.notifications(&paged.incident_id).await?;
            let mut channels: Vec<String> = Vec::new();
            for n in sent.iter().filter(|n| n.user_id == paged.assignee_id) {
                if !channels.contains(&n.channel) {
                    channels.push(n.channel.clone());
                }
            }
            if !channels.is_empty() {
                paged.notified_by = channels.clone();
                let later: Vec<String> = reach
                    .rules
                    .iter()
                    .filter(|r| r.urgency == paged.urgency && r.delay_minutes > 0)
                    .map(|r| format!("{} after {} min", short(&r.contact_method), r.delay_minutes))
                    .collect();
                let later = if later.is_empty() {
                    String::new()
                } else {
                    format!("; then, unacknowledged: {}", later.join(", "))
                };
                return Ok(format!(
                    "{who} notified by {} (found {:.1} s after the incident){later}",
                    channels.join(", "),
                    waited.elapsed().as_secs_f64()
                ));
            }
            if waited.elapsed() >= timeout {
                let why = if first_delay * 60 > timeout.as_secs() {
                    format!(
                        "their first {}-urgency rule waits {first_delay} min, longer than the drill's {} s",
                        paged.urgency,
                        timeout.as_secs()
                    )
                } else {
                    "PagerDuty logged no notification".to_owned()
                };
                return Err(fail(
                    format!(
                        "incident assigned to {who}, but nobody was notified within {} s: {why}",
                        timeout.as_secs()
                    ),
                    format!(
                        "check {}'s notification rules in PagerDuty ({RULES_DOC}), or raise --timeout",
                        paged.assignee
                    ),
                ));
            }
            self.pause("the notification").await?;
        }
    }
}

/// Why a user with these contact methods and rules is never notified of an
/// incident of this urgency, if they are not.
pub fn unreachable(reach: &Reach, urgency: &str) -> Option<String> {
    if reach.contact_methods.is_empty() {
        return Some("they have no contact method".into());
    }
    if !reach.rules.iter().any(|r| r.urgency == urgency) {
        let have: Vec<&str> = reach.rules.iter().map(|r| r.urgency.as_str()).collect();
        return Some(if have.is_empty() {
            "they have no notification rule".into()
        } else {
            format!(
                "they have no notification rule for {urgency} urgency (only {})",
                have.join(", ")
            )
        });
    }
    None
}

/// `sms_contact_method` → `sms`.
fn short(contact_method: &str) -> &str {
    contact_method.trim_end_matches("_contact_method")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::probe::Rule;

    fn rule(urgency: &str) -> Rule {
        Rule {
            urgency: urgency.into(),
            delay_minutes: 0,
            contact_method: "email_contact_method".into(),
        }
    }

    #[test]
    fn what_keeps_a_user_from_being_notified() {
        let none = Reach::default();
        assert_eq!(
            unreachable(&none, "high").unwrap(),
            "they have no contact method"
        );
        let methods = vec!["email_contact_method".to_owned()];
        let no_rules = Reach {
            contact_methods: methods.clone(),
            rules: vec![],
        };
        assert_eq!(
            unreachable(&no_rules, "high").unwrap(),
            "they have no notification rule"
        );
        let low_only = Reach {
            contact_methods: methods.clone(),
            rules: vec![rule("low")],
        };
        assert_eq!(
            unreachable(&low_only, "high").unwrap(),
            "they have no notification rule for high urgency (only low)"
        );
        let fine = Reach {
            contact_methods: methods,
            rules: vec![rule("high")],
        };
        assert_eq!(unreachable(&fine, "high"), None);
    }
}
