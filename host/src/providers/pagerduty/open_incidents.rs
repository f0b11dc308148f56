//! A schedule that open incidents were opened through cannot be deleted:
//! PagerDuty answers 400 "Schedule can't be deleted if it's being used by an
//! escalation policy snapshot with open incidents" (terraform-provider-pagerduty
//! `resource_pagerduty_schedule.go` matches that text and lists the incidents
//! to resolve). Waiting does not help, so the delete stops at once and names
//! them; `blueprint destroy --resolve-incidents` resolves them first.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::{ApiError, PagerDutyProvider};
use crate::providers::probe::PagingProbe;
use crate::providers::{ErrorClass, ProviderError, ProviderResult, Resource};

/// PagerDuty's refusal, as the Terraform provider matches it.
pub const REFUSAL: &str = "being used by an escalation policy snapshot with open incidents";

pub fn blocks(e: &ApiError) -> bool {
    e.message.contains(REFUSAL)
}

/// The open incidents that keep the schedule `prior` from being deleted: those
/// assigned to its users whose escalation policy targets it now or is gone (the
/// incident keeps a snapshot of a deleted policy), as the Terraform provider
/// finds them.
async fn blocking(pd: &PagerDutyProvider, prior: &Resource) -> Result<Vec<Value>, ApiError> {
    let schedule = pd
        .client
        .get(&format!("/schedules/{}", prior.id), &[])
        .await?;
    let schedule = &schedule["schedule"];
    let users: BTreeSet<String> = schedule["schedule_layers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["users"].as_array().into_iter().flatten())
        .filter_map(|u| u["user"]["id"].as_str().map(str::to_owned))
        .collect();
    let using: BTreeSet<String> = schedule["escalation_policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    let mut query = vec![
        ("date_range", "all".to_owned()),
        ("statuses[]", "triggered".to_owned()),
        ("statuses[]", "acknowledged".to_owned()),
    ];
    query.extend(users.iter().map(|u| ("user_ids[]", u.clone())));
    let open = pd.client.list("/incidents", "incidents", &query).await?;
    let mut found = Vec::new();
    for incident in open {
        let policy = incident["escalation_policy"]["id"]
            .as_str()
            .unwrap_or_default();
        let relevant = using.contains(policy)
            || matches!(
                pd.client.get(&format!("/escalation_policies/{policy}"), &[]).await,
                Err(e) if e.is_not_found()
            );
        if relevant {
            found.push(incident);
        }
    }
    Ok(found)
}

async fn assignee_email(pd: &PagerDutyProvider, incident: &Value) -> Option<String> {
    let user = incident["assignments"][0]["assignee"]["id"].as_str()?;
    pd.user_email(user).await.ok().flatten()
}

fn named(incidents: &[Value]) -> String {
    incidents
        .iter()
        .map(|i| {
            format!(
                "#{} {}",
                i["incident_number"].as_u64().unwrap_or_default(),
                i["html_url"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// After the refusal: the error naming the incidents, or — with
/// `--resolve-incidents` — resolve them and say so (the caller deletes again).
pub async fn unblock(
    pd: &PagerDutyProvider,
    address: &str,
    prior: &Resource,
) -> ProviderResult<()> {
    let incidents = blocking(pd, prior).await.map_err(|e| e.at(address))?;
    if incidents.is_empty() {
        return Err(ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{address}: PagerDuty keeps it while incidents opened through it are open, and none could be found from the schedule's users; resolve them in PagerDuty"
            ),
        ));
    }
    if !pd.resolve_incidents {
        return Err(ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{address} cannot be deleted while incidents opened through it are open: {}; resolve them in PagerDuty, or run `blueprint destroy FILE --resolve-incidents`",
                named(&incidents)
            ),
        ));
    }
    for incident in &incidents {
        let id = incident["id"].as_str().unwrap_or_default();
        // PagerDuty records who resolved it (`From`): PAGERDUTY_FROM_EMAIL, else
        // the user it is assigned to (as the drill resolves its own).
        let from = match &pd.from_email {
            Some(email) => Some(email.clone()),
            None => assignee_email(pd, incident).await,
        };
        resolve_incident(pd, id, from.as_deref())
            .await
            .map_err(|e| e.at(&format!("{address}: resolving incident {id}")))?;
    }
    tracing::warn!(
        "{address}: resolved {} open incident(s) that kept it from being deleted (--resolve-incidents): {}",
        incidents.len(),
        named(&incidents)
    );
    Ok(())
}

/// Resolve an incident, as the user with this email (PagerDuty's `From`).
pub(super) async fn resolve_incident(
    pd: &PagerDutyProvider,
    incident_id: &str,
    from: Option<&str>,
) -> Result<(), ApiError> {
    let body = json!({"incident": {"type": "incident_reference", "status": "resolved"}});
    pd.client
        .call_from(
            Method::PUT,
            &format!("/incidents/{incident_id}"),
            &[],
            Some(&body),
            from,
        )
        .await
        .map(|_| ())
}
