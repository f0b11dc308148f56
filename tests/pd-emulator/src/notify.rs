//! How PagerDuty reaches a person: a user's contact methods, the notification
//! rules that point at them, and the incident log that records each
//! notification sent.
//!
//! Sources: REST OpenAPI `ContactMethod` (email, phone, push, sms, whatsapp),
//! `NotificationRule` (`assignment_notification_rule`, `start_delay_in_minutes`,
//! `urgency` high or low, a `contact_method` reference), `NotifyLogEntry` and
//! `Notification` (`sms_notification`, `email_notification`,
//! `phone_notification`, `push_notification`); support.pagerduty.com
//! "Notification Rules" (an assigned user is notified through their rules for
//! the incident's urgency, after each rule's delay; without a contact method
//! there is nothing to notify).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::db::Db;

/// What a seeded user can be reached by, as `--users` gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserSetup {
    /// `{"type": "email_contact_method", "address": "..."}` …
    pub contact_methods: Vec<Value>,
    /// `{"urgency": "high", "start_delay_in_minutes": 0, "contact_method": INDEX}` …
    pub notification_rules: Vec<Value>,
}

impl UserSetup {
    /// The default for a user given without both lists: one email contact
    /// method at their address and one immediate high-urgency rule.
    pub fn default_for(email: &str) -> UserSetup {
        UserSetup {
            contact_methods: vec![json!({"type": "email_contact_method", "address": email})],
            notification_rules: vec![
                json!({"urgency": "high", "start_delay_in_minutes": 0, "contact_method": 0}),
            ],
        }
    }

    /// From one `--users` entry; `None` when it gives neither list.
    pub fn from_json(user: &Value) -> Result<Option<UserSetup>, String> {
        let (methods, rules) = (&user["contact_methods"], &user["notification_rules"]);
        if methods.is_null() && rules.is_null() {
            return Ok(None);
        }
        let methods = methods.as_array().cloned().unwrap_or_default();
        let rules = rules.as_array().cloned().unwrap_or_default();
        for m in &methods {
            let kind = m["type"].as_str().unwrap_or_default();
            if !CONTACT_TYPES.contains(&kind) {
                return Err(format!(
                    "contact method type {kind:?} is not one of {CONTACT_TYPES:?}"
                ));
            }
            if m["address"].as_str().is_none() {
                return Err("a contact method needs an address".into());
            }
        }
        for r in &rules {
            if !matches!(r["urgency"].as_str(), Some("high" | "low")) {
                return Err("a notification rule's urgency is high or low".into());
            }
            let index = r["contact_method"].as_u64().unwrap_or(u64::MAX) as usize;
            if index >= methods.len() {
                return Err(format!(
                    "notification rule names contact method {index}, which is not given"
                ));
            }
        }
        Ok(Some(UserSetup {
            contact_methods: methods,
            notification_rules: rules,
        }))
    }
}

pub const CONTACT_TYPES: &[&str] = &[
    "email_contact_method",
    "phone_contact_method",
    "push_notification_contact_method",
    "sms_contact_method",
];

/// A user's contact methods and rules as PagerDuty objects, with ids.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub contact_methods: Vec<Value>,
    pub notification_rules: Vec<Value>,
}

/// Give the user's setup ids and PagerDuty's shapes.
pub fn install(db: &mut Db, user_id: &str, setup: &UserSetup) {
    let mut methods = Vec::new();
    for m in &setup.contact_methods {
        let id = db.id();
        let kind = m["type"].as_str().unwrap_or_default();
        methods.push(json!({
            "id": id,
            "type": kind,
            "summary": m["label"].as_str().unwrap_or("Default"),
            "label": m["label"].as_str().unwrap_or("Default"),
            "address": m["address"],
            "self": format!("{}/users/{user_id}/contact_methods/{id}", db.base_url),
        }));
    }
    let mut rules = Vec::new();
    for r in &setup.notification_rules {
        let id = db.id();
        let method = &methods[r["contact_method"].as_u64().unwrap_or(0) as usize];
        rules.push(json!({
            "id": id,
            "type": "assignment_notification_rule",
            "summary": format!("{} after {} minutes", method["type"].as_str().unwrap_or_default(), r["start_delay_in_minutes"].as_u64().unwrap_or(0)),
            "start_delay_in_minutes": r["start_delay_in_minutes"].as_u64().unwrap_or(0),
            "urgency": r["urgency"],
            "contact_method": {
                "id": method["id"],
                "type": format!("{}_reference", method["type"].as_str().unwrap_or_default()),
                "summary": method["summary"],
            },
            "self": format!("{}/users/{user_id}/notification_rules/{id}", db.base_url),
        }));
    }
    if let Some(user) = db.objects.get_mut("users").and_then(|u| u.get_mut(user_id)) {
        let reference = |v: &Value, kind: &str| json!({"id": v["id"], "type": kind});
        user["contact_methods"] = json!(
            methods
                .iter()
                .map(|m| reference(
                    m,
                    &format!("{}_reference", m["type"].as_str().unwrap_or_default())
                ))
                .collect::<Vec<_>>()
        );
        user["notification_rules"] = json!(
            rules
                .iter()
                .map(|r| reference(r, "assignment_notification_rule_reference"))
                .collect::<Vec<_>>()
        );
    }
    db.reach.insert(
        user_id.to_owned(),
        Reach {
            contact_methods: methods,
            notification_rules: rules,
        },
    );
}

/// The incident's log, oldest first, as of `now`: its trigger, each
/// assignment, and a notification per matching rule of each assignee once the
/// rule's delay has passed.
pub fn log_entries(db: &Db, incident: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let reference =
        json!({"id": incident["id"], "type": "incident_reference", "summary": incident["summary"]});
    let created = incident["created_at"].clone();
    let mut entries = vec![json!({
        "type": "trigger_log_entry",
        "summary": "Triggered through the API",
        "created_at": created,
        "channel": {"type": "api"},
        "agent": incident["service"],
        "service": incident["service"],
        "incident": reference,
    })];
    let urgency = incident["urgency"].as_str().unwrap_or("high");
    let mut notifications: BTreeMap<DateTime<Utc>, Vec<Value>> = BTreeMap::new();
    for assignment in incident["assignments"].as_array().into_iter().flatten() {
        let user = &assignment["assignee"];
        entries.push(json!({
            "type": "assign_log_entry",
            "summary": format!("Assigned to {}", user["summary"].as_str().unwrap_or_default()),
            "created_at": assignment["at"],
            "assignees": [user],
            "incident": reference,
        }));
        let Some(at) = assignment["at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        else {
            continue;
        };
        let user_id = user["id"].as_str().unwrap_or_default();
        let Some(reach) = db.reach.get(user_id) else {
            continue;
        };
        for rule in &reach.notification_rules {
            if rule["urgency"].as_str() != Some(urgency) {
                continue;
            }
            let when = at.with_timezone(&Utc)
                + Duration::minutes(rule["start_delay_in_minutes"].as_i64().unwrap_or(0));
            if when > now {
                continue;
            }
            let Some(method) = reach
                .contact_methods
                .iter()
                .find(|m| m["id"] == rule["contact_method"]["id"])
            else {
                continue;
            };
            let channel = method["type"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches("_contact_method")
                .to_owned();
            let stamp = when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            notifications.entry(when).or_default().push(json!({
                "type": "notify_log_entry",
                "summary": format!("Notified {} by {channel}", user["summary"].as_str().unwrap_or_default()),
                "created_at": stamp,
                "user": user,
                "channel": {
                    "type": channel,
                    "notification": {
                        "type": if channel == "push_notification" { channel.clone() } else { format!("{channel}_notification") },
                        "started_at": stamp,
                        "address": if channel == "push_notification" { Value::Null } else { method["address"].clone() },
                        "status": "success",
                    },
                },
                "incident": reference,
            }));
        }
    }
    entries.extend(notifications.into_values().flatten());
    entries
}
