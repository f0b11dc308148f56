//! 6. Whatever happened: resolve what the drill opened, put the alarm back to OK.

use super::report::fail;
use super::{Drill, Probes};
use crate::providers::probe::AlarmState;

impl Drill<'_> {
    pub(super) async fn clean_up(
        &self,
        probes: &Probes,
        opened: &[String],
        resolver: Option<&str>,
        alarm: Option<&str>,
    ) -> Result<String, super::report::Failure> {
        let paging = probes.paging();
        let mut done = Vec::new();
        let mut problems = Vec::new();
        for id in opened {
            match paging.resolve(id, resolver).await {
                Ok(()) => done.push(format!("incident {id} resolved")),
                Err(e) => problems.push(format!(
                    "incident {id} is still open ({}): resolve it in PagerDuty",
                    paging.redact(&e.message)
                )),
            }
        }
        if let Some(alarm) = alarm {
            match probes
                .alarms()
                .set_alarm_state(alarm, AlarmState::Ok, "blueprint drill: clean-up")
                .await
            {
                Ok(()) => done.push("alarm set to OK".into()),
                Err(e) => problems.push(paging.redact(&e.message)),
            }
        }
        if done.is_empty() && problems.is_empty() {
            done.push("nothing to undo".into());
        }
        if problems.is_empty() {
            Ok(done.join("; "))
        } else {
            Err(fail(
                problems.join("; "),
                "set PAGERDUTY_FROM_EMAIL to a PagerDuty user's email if resolving needs one",
            ))
        }
    }
}
