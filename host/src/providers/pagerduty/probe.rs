//! What `blueprint drill` asks of PagerDuty: the integration's endpoint now,
//! incidents on a service, who is on call, and resolving what the drill opened.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::json;

use super::{PagerDutyProvider, kinds::service_integration, prior_prop, redact};
use crate::providers::probe::{
    LiveIncident, OnCallEntry, PagingProbe, Reach, Rule, SentNotification,
};
use crate::providers::{ProviderError, ProviderResult, Resource};

fn failed(what: &str, e: super::ApiError) -> ProviderError {
    let mut error = e.at(what);
    error.message = redact(&error.message);
    error
}

#[async_trait]
impl PagingProbe for PagerDutyProvider {
    async fn integration_endpoint(&self, prior: &Resource) -> ProviderResult<Option<String>> {
        let service = prior_prop(prior, "service")?;
        Ok(
            service_integration::read_integration(self, service, &prior.id)
                .await?
                .and_then(|r| r.outputs.get("cloudwatch_endpoint").cloned()),
        )
    }

    async fn open_incidents(&self, service_id: &str) -> ProviderResult<BTreeSet<String>> {
        let incidents = self
            .client
            .list(
                "/incidents",
                "incidents",
                &[
                    ("service_ids[]", service_id.to_owned()),
                    ("statuses[]", "triggered".into()),
                    ("statuses[]", "acknowledged".into()),
                ],
            )
            .await
            .map_err(|e| failed("incidents", e))?;
        Ok(incidents
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect())
    }

    async fn incident(&self, id: &str) -> ProviderResult<LiveIncident> {
        let body = self
            .client
            .get(&format!("/incidents/{id}"), &[])
            .await
            .map_err(|e| failed(&format!("incident {id}"), e))?;
        let incident = &body["incident"];
        let assignee = &incident["assignments"][0]["assignee"];
        Ok(LiveIncident {
            id: incident["id"].as_str().unwrap_or(id).to_owned(),
            number: incident["incident_number"].as_i64(),
            title: incident["title"].as_str().unwrap_or_default().to_owned(),
            assignee: assignee["id"].as_str().map(|a| {
                (
                    a.to_owned(),
                    assignee["summary"].as_str().unwrap_or("?").to_owned(),
                )
            }),
            urgency: incident["urgency"].as_str().unwrap_or("high").to_owned(),
        })
    }

    /// `notify_log_entry` entries of the incident's log: who, by which channel
    /// (the notification's type, else the channel's), when.
    async fn notifications(&self, incident_id: &str) -> ProviderResult<Vec<SentNotification>> {
        let entries = self
            .client
            .list(
                &format!("/incidents/{incident_id}/log_entries"),
                "log_entries",
                &[],
            )
            .await
            .map_err(|e| failed(&format!("incident {incident_id} log"), e))?;
        Ok(entries
            .iter()
            .filter(|e| e["type"] == "notify_log_entry")
            .map(|e| {
                let notification = e["channel"]["notification"]["type"].as_str();
                let channel = notification
                    .map(|t| t.trim_end_matches("_notification"))
                    .filter(|t| !t.is_empty())
                    .or(e["channel"]["type"].as_str())
                    .unwrap_or("unknown");
                SentNotification {
                    user_id: e["user"]["id"].as_str().unwrap_or_default().to_owned(),
                    channel: if channel == "push" {
                        "push_notification".into()
                    } else {
                        channel.to_owned()
                    },
                    at: e["created_at"].as_str().unwrap_or_default().to_owned(),
                }
            })
            .collect())
    }

    async fn reach(&self, user_id: &str) -> ProviderResult<Reach> {
        let methods = self
            .client
            .get(&format!("/users/{user_id}/contact_methods"), &[])
            .await
            .map_err(|e| failed(&format!("user {user_id} contact methods"), e))?;
        let rules = self
            .client
            .get(
                &format!("/users/{user_id}/notification_rules"),
                &[("urgency", "all".to_owned())],
            )
            .await
            .map_err(|e| failed(&format!("user {user_id} notification rules"), e))?;
        let methods: Vec<&serde_json::Value> = methods["contact_methods"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let type_of = |id: &serde_json::Value, reference: &serde_json::Value| {
            methods
                .iter()
                .find(|m| m["id"] == *id)
                .and_then(|m| m["type"].as_str())
                .or_else(|| reference.as_str().map(|t| t.trim_end_matches("_reference")))
                .unwrap_or("unknown")
                .to_owned()
        };
        Ok(Reach {
            contact_methods: methods
                .iter()
                .filter_map(|m| m["type"].as_str().map(str::to_owned))
                .collect(),
            rules: rules["notification_rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| Rule {
                    urgency: r["urgency"].as_str().unwrap_or_default().to_owned(),
                    delay_minutes: r["start_delay_in_minutes"].as_u64().unwrap_or(0),
                    contact_method: type_of(
                        &r["contact_method"]["id"],
                        &r["contact_method"]["type"],
                    ),
                })
                .collect(),
        })
    }

    async fn user_email(&self, user_id: &str) -> ProviderResult<Option<String>> {
        let body = self
            .client
            .get(&format!("/users/{user_id}"), &[])
            .await
            .map_err(|e| failed(&format!("user {user_id}"), e))?;
        Ok(body["user"]["email"].as_str().map(str::to_owned))
    }

    async fn on_call(&self, policy_id: &str, level: u32) -> ProviderResult<Vec<OnCallEntry>> {
        let entries = self
            .client
            .list(
                "/oncalls",
                "oncalls",
                &[("escalation_policy_ids[]", policy_id.to_owned())],
            )
            .await
            .map_err(|e| failed("on-calls", e))?;
        Ok(entries
            .iter()
            .filter(|e| e["escalation_level"] == json!(level))
            .map(|e| OnCallEntry {
                user_id: e["user"]["id"].as_str().unwrap_or_default().to_owned(),
                user_name: e["user"]["summary"].as_str().unwrap_or("?").to_owned(),
                schedule: e["schedule"]["summary"].as_str().map(str::to_owned),
            })
            .collect())
    }

    async fn resolve(&self, incident_id: &str, from: Option<&str>) -> ProviderResult<()> {
        super::open_incidents::resolve_incident(self, incident_id, from)
            .await
            .map_err(|e| failed(&format!("incident {incident_id}"), e))
    }

    fn redact(&self, text: &str) -> String {
        redact(text)
    }
}
