//! The emulator's state: PagerDuty objects as PagerDuty's JSON, ids like
//! PagerDuty's, incidents, and the on-call computation from schedules.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// Collections of plain objects, by path segment.
pub const COLLECTIONS: &[(&str, &str)] = &[
    ("teams", "team"),
    ("business_services", "business_service"),
    ("schedules", "schedule"),
    ("escalation_policies", "escalation_policy"),
    ("services", "service"),
    ("users", "user"),
    ("vendors", "vendor"),
];

pub fn singular(collection: &str) -> Option<&'static str> {
    COLLECTIONS
        .iter()
        .find(|(c, _)| *c == collection)
        .map(|(_, s)| *s)
}

#[derive(Debug, Clone)]
pub struct Integration {
    pub id: String,
    pub service: String,
    pub vendor: Option<String>,
    pub name: String,
    pub key: String,
    pub created_at: String,
}

/// Which of PagerDuty's stricter behaviours are on (from `Config`).
#[derive(Debug, Default, Clone)]
pub struct Rules {
    pub strict: bool,
    pub consistency_delay: std::time::Duration,
}

/// An object as it was before it was deleted or changed: for the consistency
/// delay it still counts as using what it used (`strict::in_use`).
#[derive(Debug, Clone)]
pub struct Ghost {
    pub collection: &'static str,
    pub object: Value,
    pub until: std::time::Instant,
}

#[derive(Debug, Default)]
pub struct Db {
    pub objects: BTreeMap<&'static str, BTreeMap<String, Value>>,
    /// team id -> user id -> role
    pub members: BTreeMap<String, BTreeMap<String, String>>,
    pub integrations: BTreeMap<String, Integration>,
    /// relationship id -> (business service, supporting service)
    pub dependencies: BTreeMap<String, (String, String)>,
    pub incidents: BTreeMap<String, Value>,
    /// (integration key, dedup key) -> incident id, for open incidents
    pub dedup: BTreeMap<(String, String), String>,
    next_id: u64,
    next_incident: u64,
    /// The emulator's clock: real time plus this offset.
    pub clock_offset: Duration,
    /// Base URL for `self`/`html_url` fields.
    pub base_url: String,
    pub rules: Rules,
    /// When each object (by id) or link (`team/user`, relationship id) was
    /// created, for the consistency delay.
    pub born: BTreeMap<String, std::time::Instant>,
    /// Objects recently deleted or changed, still "in use" for the delay.
    pub ghosts: Vec<Ghost>,
    /// incident id -> the schedules its escalation policy targeted when it was
    /// opened (the "escalation policy snapshot" an open incident keeps).
    pub snapshots: BTreeMap<String, Vec<String>>,
    /// Events that opened no incident because nobody was on call.
    pub unassignable_events: u64,
    /// user id -> contact methods and notification rules (`notify`).
    pub reach: BTreeMap<String, crate::notify::Reach>,
    /// (entity type, entity id, tag id) for each tag on an entity.
    pub tag_links: std::collections::BTreeSet<(String, String, String)>,
    /// service id -> its orchestration path, once written.
    pub orchestrations: BTreeMap<String, Value>,
    /// service id -> whether its orchestration runs (absent: true).
    pub orchestration_active: BTreeMap<String, bool>,
    /// Alerts that orchestration suppressed: no incident, kept as alerts.
    pub suppressed_alerts: Vec<Value>,
    /// incident id -> its alerts (dedup key, the alert's `event.*` fields,
    /// resolved), the first one the alert that opened it.
    pub alerts: BTreeMap<String, Vec<Alert>>,
    /// webhook subscription id -> its signing secret.
    pub webhook_secrets: BTreeMap<String, String>,
    /// Webhook POSTs waiting to leave (`webhooks::deliver`).
    pub webhook_outbox: Vec<crate::webhooks::Delivery>,
    /// Each delivery attempt and what the endpoint answered.
    pub webhook_deliveries: Vec<Value>,
    /// Webhook events made, for their ids.
    pub webhook_events: u64,
    /// Wakes the delivery task (`App::webhooks_waiting`).
    pub webhooks_waiting: std::sync::Arc<tokio::sync::Notify>,
}

/// One alert of an incident.
#[derive(Debug, Clone)]
pub struct Alert {
    pub dedup: String,
    pub fields: Value,
    pub at: DateTime<Utc>,
    pub resolved: bool,
}

/// PagerDuty-looking ids: `P` + 6 of [A-Z0-9], deterministic per process.
fn pd_id(n: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    let mut x = n.wrapping_mul(2_654_435_761).wrapping_add(0x9E37_79B9) % 34u64.pow(6);
    let mut s = String::from("P");
    for _ in 0..6 {
        s.push(ALPHABET[(x % 34) as usize] as char);
        x /= 34;
    }
    s
}

impl Db {
    pub fn new(
        base_url: &str,
        users: &[(String, String)],
        setups: &BTreeMap<String, crate::notify::UserSetup>,
    ) -> Db {
        let mut db = Db {
            base_url: base_url.to_owned(),
            ..Db::default()
        };
        for (name, email) in users {
            let id = db.id();
            let user = json!({
                "id": id, "type": "user", "name": name, "email": email,
                "summary": name, "role": "user", "time_zone": "Etc/UTC",
            });
            db.insert("users", user);
            let setup = setups
                .get(email)
                .cloned()
                .unwrap_or_else(|| crate::notify::UserSetup::default_for(email));
            crate::notify::install(&mut db, &id, &setup);
        }
        for name in VENDORS {
            let id = db.id();
            db.insert(
                "vendors",
                json!({"id": id, "type": "vendor", "name": name, "summary": name}),
            );
        }
        db
    }

    pub fn id(&mut self) -> String {
        self.next_id += 1;
        let mut id = pd_id(self.next_id);
        while self.exists_anywhere(&id) {
            self.next_id += 1;
            id = pd_id(self.next_id);
        }
        id
    }

    fn exists_anywhere(&self, id: &str) -> bool {
        self.objects.values().any(|c| c.contains_key(id)) || self.integrations.contains_key(id)
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    pub fn now_text(&self) -> String {
        self.now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Add `self`, `html_url` and `summary` as PagerDuty does.
    pub fn decorate(&self, collection: &str, mut object: Value) -> Value {
        let id = object["id"].as_str().unwrap_or_default().to_owned();
        object["self"] = json!(format!("{}/{collection}/{id}", self.base_url));
        object["html_url"] = json!(format!("{}/{collection}/{id}", self.base_url));
        if object.get("summary").is_none_or(Value::is_null) {
            object["summary"] = object["name"].clone();
        }
        object
    }

    pub fn insert(&mut self, collection: &'static str, object: Value) {
        let id = object["id"].as_str().unwrap_or_default().to_owned();
        let object = self.decorate(collection, object);
        self.objects
            .entry(collection)
            .or_default()
            .insert(id, object);
    }

    pub fn get(&self, collection: &str, id: &str) -> Option<&Value> {
        self.objects.get(collection)?.get(id)
    }

    pub fn list(&self, collection: &str) -> Vec<Value> {
        self.objects
            .get(collection)
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn next_incident_number(&mut self) -> u64 {
        self.next_incident += 1;
        self.next_incident
    }

    /// Who is on call for a schedule at `at`, with the bounds of that
    /// on-call entry (`oncall::render` around it). Precedence: the last layer
    /// sent wins; strict mode stores layers as PagerDuty returns them, highest
    /// precedence first (`strict::order_layers`).
    pub fn on_call_for_schedule(&self, schedule_id: &str, at: DateTime<Utc>) -> Option<OnCall> {
        self.on_calls_for_schedule(schedule_id, at, at)
            .into_iter()
            .next()
    }

    /// Every on-call entry of a schedule that overlaps `[since, until]` (an
    /// instant when they are equal), as `/oncalls` lists them: whole entries.
    pub fn on_calls_for_schedule(
        &self,
        schedule_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<OnCall> {
        let Some(schedule) = self.get("schedules", schedule_id) else {
            return Vec::new();
        };
        let around = Duration::days(8);
        crate::oncall::render(schedule, since - around, until + around, self.rules.strict)
            .into_iter()
            .filter(|e| {
                if since == until {
                    e.start <= since && since < e.end
                } else {
                    e.start < until && since < e.end
                }
            })
            .map(|e| OnCall {
                user: e.user,
                start: e.start,
                end: e.end,
            })
            .collect()
    }

    /// The user an incident on this service is assigned to now: the first
    /// target with someone on call, level by level. `None` when nobody is on
    /// call at any level: then PagerDuty opens no incident
    /// (support.pagerduty.com/docs/schedules: "If this is the case, then no
    /// incident will be created"). Going on to the next level when one is empty
    /// is the emulator's reading; PagerDuty documents no other.
    /// The schedules the service's escalation policy targets now.
    pub fn schedules_of_service(&self, service_id: &str) -> Vec<String> {
        let policy = self
            .get("services", service_id)
            .and_then(|s| s["escalation_policy"]["id"].as_str())
            .and_then(|p| self.get("escalation_policies", p));
        policy
            .and_then(|p| p["escalation_rules"].as_array())
            .into_iter()
            .flatten()
            .flat_map(|r| r["targets"].as_array().into_iter().flatten())
            .filter(|t| matches!(t["type"].as_str(), Some("schedule_reference" | "schedule")))
            .filter_map(|t| t["id"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn assignee_for_service(&self, service_id: &str) -> Option<String> {
        let service = self.get("services", service_id)?;
        let policy = self.get(
            "escalation_policies",
            service["escalation_policy"]["id"].as_str()?,
        )?;
        for rule in policy["escalation_rules"].as_array()? {
            for target in rule["targets"].as_array().into_iter().flatten() {
                let Some(id) = target["id"].as_str() else {
                    continue;
                };
                match target["type"].as_str() {
                    Some("user_reference" | "user") => return Some(id.to_owned()),
                    Some("schedule_reference" | "schedule") => {
                        if let Some(on_call) = self.on_call_for_schedule(id, self.now()) {
                            return Some(on_call.user);
                        }
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

pub struct OnCall {
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A few of PagerDuty's integration vendors, including the one the seed uses.
const VENDORS: &[&str] = &[
    "Amazon CloudWatch",
    "Amazon EventBridge",
    "Datadog",
    "Prometheus",
    "Grafana",
    "New Relic",
    "Splunk",
    "Sentry",
    "Nagios",
    "Zabbix",
    "Email",
    "Events API V2",
];
