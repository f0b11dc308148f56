//! What every chain does once its links hold, whatever fired it: inject, wait for
//! the incident, prove who it went to and that they were notified, then clean up.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Instant;

use super::delivery::{self, Watch};
use super::live::Live;
use super::report::{Failure, Inject, LevelNow, Links, Paged, fail};
use super::{Drill, Probes};
use crate::providers::probe::LiveIncident;

impl Drill<'_> {
    /// Links 4–7 of a chain: `inject` fires it (`Err`: there is nothing to fire,
    /// and why), unless an earlier link failed. Incidents the drill opened are
    /// resolved and `reset_alarm` returned to OK whatever happened.
    pub(super) async fn fire_and_follow<F>(
        &self,
        probes: &Probes,
        live: &Live,
        links: &mut Links,
        inject: Result<F, Failure>,
        reset_alarm: Option<&str>,
    ) -> Option<Paged>
    where
        F: Future<Output = Result<String, Failure>>,
    {
        let mut opened = Vec::new();
        let mut paged = None;
        match inject {
            _ if links.failed() => links.skip_rest(&["inject", "incident", "notified"]),
            Err(nothing) => {
                links.record("inject", Err(nothing));
                links.skip_rest(&["incident", "notified"]);
            }
            Ok(fire) => {
                let paging = probes.paging();
                let before = paging
                    .open_incidents(&live.service_id)
                    .await
                    .unwrap_or_default();
                let watch = delivery::watch(probes, live).await;
                let injected = fire.await;
                let ok = injected.is_ok();
                links.record("inject", injected);
                if ok {
                    match self
                        .incident(probes, live, &before, &watch, &mut opened)
                        .await
                    {
                        Ok((detail, mut page)) => {
                            // A pass does not claim the delivery was watched.
                            let detail = match watch.blind_note() {
                                Some(note) => format!("{detail} ({note})"),
                                None => detail,
                            };
                            links.record("incident", Ok(detail));
                            let notified = self.notified(probes, &mut page).await;
                            links.record("notified", notified);
                            paged = Some(page);
                        }
                        Err(f) => {
                            links.record("incident", Err(f));
                            links.skip_rest(&["notified"]);
                        }
                    }
                } else {
                    links.skip_rest(&["incident", "notified"]);
                }
                // Anything that arrived after we stopped looking is ours too.
                if let Ok(now) = paging.open_incidents(&live.service_id).await {
                    for id in now.difference(&before) {
                        if !opened.contains(id) {
                            opened.push(id.clone());
                        }
                    }
                }
            }
        }
        let resolver = self
            .options
            .resolver_email
            .clone()
            .or_else(|| paged.as_ref().map(|p| p.assignee_email.clone()));
        links.record(
            "clean-up",
            self.clean_up(probes, &opened, resolver.as_deref(), reset_alarm)
                .await,
        );
        paged
    }

    /// 5. The paging service opens an incident on the service, assigned to who
    ///    is on call.
    async fn incident(
        &self,
        probes: &Probes,
        live: &Live,
        before: &BTreeSet<String>,
        watch: &Watch,
        opened: &mut Vec<String>,
    ) -> Result<(String, Paged), Failure> {
        let started = Instant::now();
        let levels = self.levels_now(probes, live).await?;
        if let Some(first) = levels.first()
            && first.on_call.is_empty()
            && live.policy_id.is_some()
        {
            return Err(fail(
                format!(
                    "nobody on call at level 1 of the escalation policy now: PagerDuty opens no incident for service {:?}, or skips the first level",
                    live.service_name
                ),
                "a schedule's restrictions or layer end leave a gap now: `blueprint oncall FILE` shows who is on call when, and the gaps",
            ));
        }
        let id = self
            .new_incident(probes, live, before, watch, started)
            .await?;
        opened.push(id.clone());
        let incident = probes.paging().incident(&id).await?;
        self.assigned(probes, live, incident, levels, started).await
    }

    /// The first incident on the service that was not open before the inject;
    /// a lost delivery or the time limit ends the wait.
    async fn new_incident(
        &self,
        probes: &Probes,
        live: &Live,
        before: &BTreeSet<String>,
        watch: &Watch,
        started: Instant,
    ) -> Result<String, Failure> {
        loop {
            let now = probes.paging().open_incidents(&live.service_id).await?;
            if let Some(id) = now.difference(before).next() {
                return Ok(id.clone());
            }
            if let Some(lost) = delivery::failed(probes, live, watch).await {
                return Err(lost);
            }
            if started.elapsed() >= self.options.timeout {
                return Err(fail(
                    format!(
                        "no incident opened on service {:?} within {} s{}",
                        live.service_name,
                        self.options.timeout.as_secs(),
                        watch
                            .blind_note()
                            .map_or(String::new(), |note| format!(" ({note})"))
                    ),
                    match self.options.inject {
                        Inject::Topic => {
                            "SNS delivered nothing PagerDuty accepted: check the integration is the Amazon CloudWatch vendor and the service is not in maintenance"
                        }
                        Inject::Alarm => {
                            "the alarm's actions did not reach PagerDuty: look at the alarm's history in CloudWatch"
                        }
                        Inject::Event => {
                            "EventBridge delivered nothing PagerDuty accepted: look at the rule's FailedInvocations metric in CloudWatch"
                        }
                        Inject::Log => {
                            "the alarm did not fire yet: metric filters and alarms take a few minutes on AWS; raise --timeout"
                        }
                    },
                ));
            }
            self.pause("the incident").await?;
        }
    }

    /// The incident went to someone, and to the one on call at level 1 now.
    async fn assigned(
        &self,
        probes: &Probes,
        live: &Live,
        incident: LiveIncident,
        levels: Vec<LevelNow>,
        started: Instant,
    ) -> Result<(String, Paged), Failure> {
        let paging = probes.paging();
        let (assignee_id, name) = incident.assignee.clone().unwrap_or_default();
        let email = if assignee_id.is_empty() {
            String::new()
        } else {
            paging
                .user_email(&assignee_id)
                .await
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        let on_call = match &live.policy_id {
            Some(policy) => paging.on_call(policy, 1).await?,
            None => Vec::new(),
        };
        let mut schedules: Vec<String> = Vec::new();
        for s in on_call.iter().filter_map(|e| e.schedule.clone()) {
            if !schedules.contains(&s) {
                schedules.push(s);
            }
        }
        let mut on_call_names: Vec<String> = Vec::new();
        for e in &on_call {
            if !on_call_names.contains(&e.user_name) {
                on_call_names.push(e.user_name.clone());
            }
        }
        let title = incident.title.clone();
        let paged = Paged {
            incident_id: incident.id.clone(),
            incident_number: incident.number,
            title: title.clone(),
            assignee_id: assignee_id.clone(),
            assignee: name.clone(),
            assignee_email: email.clone(),
            on_call_now: on_call_names.clone(),
            urgency: incident.urgency.clone(),
            notified_by: Vec::new(),
            levels,
        };
        let number = incident
            .number
            .map(|n| format!("#{n} "))
            .unwrap_or_default();
        if assignee_id.is_empty() {
            return Err(fail(
                format!("incident {number}{title:?} is assigned to nobody"),
                "the escalation policy's first rule has no one on call: check the schedule's layers",
            ));
        }
        if !on_call.is_empty() && !on_call.iter().any(|e| e.user_id == assignee_id) {
            return Err(fail(
                format!(
                    "incident {number}{title:?} went to {name}, but on call now is {}",
                    on_call_names.join(", ")
                ),
                "the service's escalation policy does not page the schedule's on-call user first",
            ));
        }
        let source = if schedules.is_empty() {
            String::new()
        } else {
            format!(", on call now in {}", schedules.join(", "))
        };
        Ok((
            format!(
                "incident {number}{title:?} on {:?} assigned to {name} <{email}>{source} (after {:.1} s)",
                live.service_name,
                started.elapsed().as_secs_f64()
            ),
            paged,
        ))
    }

    /// Who each level of the chain's escalation policy would notify now.
    async fn levels_now(&self, probes: &Probes, live: &Live) -> Result<Vec<LevelNow>, Failure> {
        let Some(policy) = &live.policy_id else {
            return Ok(Vec::new());
        };
        let mut levels = Vec::new();
        for level in 1..=live.levels {
            let mut on_call: Vec<String> = Vec::new();
            for e in probes.paging().on_call(policy, level).await? {
                if !on_call.contains(&e.user_name) {
                    on_call.push(e.user_name);
                }
            }
            levels.push(LevelNow { level, on_call });
        }
        Ok(levels)
    }
}
