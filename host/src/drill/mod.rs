//! `blueprint drill`: fire each alert chain of an applied blueprint and prove, link
//! by link, that a page reaches the person on call — then clean up, whatever
//! happened, so a drill never leaves a page open.
//!
//! Chains come from the graph (`graph::alerting`), live identifiers from the state,
//! and every check goes through the providers that serve the chain's nodes
//! (their probes, `providers::probe`): [`chain`] checks the links, [`cleanup`]
//! undoes what the drill did, [`report`] is what it says. Integration keys are
//! never shown.

mod chain;
mod cleanup;
mod delivery;
pub mod event_sample;
mod events;
mod follow;
mod live;
mod notified;
pub mod pattern;
pub mod report;

use std::sync::Arc;
use std::time::Duration;

use crate::providers::probe::{AlarmProbe, PagingProbe};
use crate::providers::{Provider, ProviderSet};
use crate::state::State;
use blueprint_model::graph::Graph;
use blueprint_model::graph::alerting::{self, AlertChain, EventChain, PagePath};
pub use report::{ChainReport, Inject, LevelNow, Link, Outcome, Paged};

#[derive(Debug, Clone)]
pub struct Options {
    pub inject: Inject,
    /// How long to wait for the incident.
    pub timeout: Duration,
    /// Between two looks at the paging service.
    pub poll: Duration,
    /// Who resolves the drill's incident (`From`); default: the user it paged.
    pub resolver_email: Option<String>,
}

pub struct Drill<'a> {
    pub graph: &'a Graph,
    pub state: &'a State,
    pub providers: &'a ProviderSet,
    pub options: Options,
}

/// A graph with no chain to fire: the drill refuses before any call.
#[derive(Debug, thiserror::Error)]
#[error(
    "this blueprint declares no alert chain to drill (a CloudWatch alarm, ideally fed by a log metric filter, or an EventBridge rule, notifying an SNS topic subscribed to a PagerDuty integration)"
)]
pub struct NothingToDrill;

/// The chains `drill` would fire: alarms, then EventBridge rules sending to a
/// topic; an error when the graph has neither.
pub fn chains(graph: &Graph) -> Result<(Vec<AlertChain<'_>>, Vec<EventChain<'_>>), NothingToDrill> {
    let catalog = crate::providers::catalog();
    let alarms = alerting::chains(graph, catalog);
    let events = alerting::event_chains(graph, catalog);
    if alarms.is_empty() && events.is_empty() {
        return Err(NothingToDrill);
    }
    Ok((alarms, events))
}

/// The providers a chain's links go through.
struct Probes {
    alarms: Arc<dyn Provider>,
    paging: Arc<dyn Provider>,
}

impl Probes {
    fn alarms(&self) -> &dyn AlarmProbe {
        self.alarms
            .alarm_probe()
            .expect("checked in Probes::for_chain")
    }

    fn paging(&self) -> &dyn PagingProbe {
        self.paging
            .paging_probe()
            .expect("checked in Probes::for_chain")
    }
}

impl Drill<'_> {
    /// One poll interval; Ctrl-C ends the wait as a failed link (the clean-up
    /// still runs).
    async fn pause(&self, waiting_for: &str) -> Result<(), report::Failure> {
        tokio::select! {
            _ = tokio::time::sleep(self.options.poll) => Ok(()),
            _ = tokio::signal::ctrl_c() => Err(report::fail(
                format!("interrupted while waiting for {waiting_for}"),
                "clean-up still ran",
            )),
        }
    }

    /// Every chain, one after another; each link's outcome is in its report.
    pub async fn run(&self) -> Result<Vec<ChainReport>, NothingToDrill> {
        let mut reports = Vec::new();
        let (alarms, events) = chains(self.graph)?;
        for chain in alarms {
            reports.push(self.chain(&chain).await);
        }
        for chain in events {
            reports.push(self.event_chain(&chain).await);
        }
        Ok(reports)
    }

    /// The providers serving the chain's alarm and integration, if they can be
    /// probed.
    fn probes(&self, chain: &AlertChain<'_>) -> Result<Probes, report::Failure> {
        let Some(page) = chain.pages.first() else {
            return Err(report::fail(
                "the alarm reaches no PagerDuty integration",
                "subscribe its topic to a PagerDuty integration",
            ));
        };
        self.probes_for(&chain.alarm.kind, page)
    }

    /// The providers serving a chain's source (`kind`) and its way to PagerDuty.
    fn probes_for(&self, kind: &str, page: &PagePath<'_>) -> Result<Probes, report::Failure> {
        let provider = |kind: &str| {
            self.providers
                .for_kind(kind)
                .map_err(|e| report::fail(e.message, "configure the provider"))
        };
        let alarms = provider(kind)?;
        if alarms.alarm_probe().is_none() {
            return Err(report::fail(
                format!(
                    "the {} provider cannot fire alarms or events",
                    alarms.name()
                ),
                "drill supports CloudWatch alarms and EventBridge rules",
            ));
        }
        let paging = provider(&page.integration.kind)?;
        if paging.paging_probe().is_none() {
            return Err(report::fail(
                format!("the {} provider cannot follow incidents", paging.name()),
                "drill supports PagerDuty integrations",
            ));
        }
        Ok(Probes { alarms, paging })
    }
}
