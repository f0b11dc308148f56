//! The emulator's state: PagerDuty objects as PagerDuty's JSON, ids like
//! PagerDuty's, incidents, and the on-call computation from schedules.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
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
    pub fn new(base_url: &str, users: &[(String, String)]) -> Db {
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

    /// Who is on call now for a schedule: the layer of highest precedence that
    /// covers now, at its rotation's current turn. Precedence grows with the
    /// order layers were sent in; strict mode stores them as PagerDuty returns
    /// them, highest precedence first (`strict::order_layers`).
    pub fn on_call_for_schedule(&self, schedule_id: &str, at: DateTime<Utc>) -> Option<OnCall> {
        let schedule = self.get("schedules", schedule_id)?;
        let tz: Tz = schedule["time_zone"].as_str()?.parse().ok()?;
        let layers = schedule["schedule_layers"].as_array()?;
        let mut covering = layers.iter().filter_map(|l| layer_on_call(l, at, tz));
        if self.rules.strict {
            covering.next()
        } else {
            covering.next_back()
        }
    }

    /// The user an incident on this service is assigned to now: the escalation
    /// policy's first rule, first target.
    pub fn assignee_for_service(&self, service_id: &str) -> Option<String> {
        let service = self.get("services", service_id)?;
        let policy = self.get(
            "escalation_policies",
            service["escalation_policy"]["id"].as_str()?,
        )?;
        let rule = policy["escalation_rules"].as_array()?.first()?;
        for target in rule["targets"].as_array()? {
            let id = target["id"].as_str()?;
            match target["type"].as_str()? {
                "user_reference" | "user" => return Some(id.to_owned()),
                "schedule_reference" | "schedule" => {
                    if let Some(on_call) = self.on_call_for_schedule(id, self.now()) {
                        return Some(on_call.user);
                    }
                }
                _ => {}
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

fn parse_time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The user on call on one layer at `at`, with the turn's bounds.
fn layer_on_call(layer: &Value, at: DateTime<Utc>, _tz: Tz) -> Option<OnCall> {
    let start = parse_time(&layer["start"])?;
    if at < start {
        return None;
    }
    if let Some(end) = parse_time(&layer["end"])
        && at >= end
    {
        return None;
    }
    let anchor = parse_time(&layer["rotation_virtual_start"])?;
    let turn = layer["rotation_turn_length_seconds"].as_i64()?.max(1);
    let users: Vec<&str> = layer["users"]
        .as_array()?
        .iter()
        .filter_map(|u| u["user"]["id"].as_str())
        .collect();
    if users.is_empty() {
        return None;
    }
    let elapsed = (at - anchor).num_seconds();
    let turns = elapsed.div_euclid(turn);
    let index = turns.rem_euclid(users.len() as i64) as usize;
    let turn_start = anchor + Duration::seconds(turns * turn);
    Some(OnCall {
        user: users[index].to_owned(),
        start: turn_start,
        end: turn_start + Duration::seconds(turn),
    })
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
