// Handlers return `Result<Response, Response>` (axum's idiom: the error *is* the
// response), so a large `Err` is by design.
#![allow(clippy::result_large_err)]

//! Service event orchestration (`/event_orchestrations/services/{id}`), as
//! PagerDuty documents it (rest-openapiv3.json, `OrchestrationPath`, and the
//! "Event Orchestration" guide):
//! - every service has one orchestration path; GET answers it (an empty `start`
//!   set at first), PUT replaces its `sets` and `catch_all`, and PagerDuty gives
//!   each rule an id (`rules[].id`, read-only);
//! - `…/active` says whether the service evaluates it (instead of the legacy
//!   event rules);
//! - an event is evaluated from the set `start`: the first rule of a set whose
//!   conditions match applies its actions; a rule with `route_to` continues in
//!   that set; a set where no rule matches applies the `catch_all` actions;
//!   a rule without conditions always matches; disabled rules are skipped;
//! - conditions are PCL (PagerDuty Condition Language, "PCL" in the Event
//!   Orchestration guide): `<field> matches '<text>'` (equal),
//!   `matches part '<text>'` (contains), `matches regex '<re>'`, `exists`,
//!   `not`, `and`, `or` and parentheses, over `event.summary`, `event.source`,
//!   `event.severity`, `event.component`, `event.group`, `event.class` and
//!   `event.custom_details.<path>`; an expression PagerDuty cannot parse is
//!   refused with 400;
//! - `suppress` opens no incident (the alert is kept, suppressed),
//!   `severity` replaces the event's (and with it a `severity_based`
//!   urgency), `event_action: resolve` resolves instead of triggering.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::App;
use crate::db::Db;
use crate::rest::{self, Reply};

/// An event as orchestration rules see it (`event.*`).
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub fields: Value,
}

/// What the rules decided for one event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub suppress: bool,
    pub severity: Option<String>,
    pub resolve: bool,
    /// The labels of the rules that applied, in order.
    pub matched: Vec<String>,
}

fn empty_path(db: &Db, service: &str) -> Value {
    json!({
        "type": "service",
        "parent": {"id": service, "type": "service_reference", "self": format!("{}/services/{service}", db.base_url)},
        "sets": [{"id": "start", "rules": []}],
        "catch_all": {"actions": {}},
        "version": null,
    })
}

fn service_exists(db: &Db, service: &str) -> Result<(), axum::response::Response> {
    db.get("services", service)
        .map(drop)
        .ok_or_else(rest::not_found_error)
}

pub async fn get_path(State(app): State<Arc<App>>, Path(service): Path<String>) -> Reply {
    let db = rest::lock(&app);
    service_exists(&db, &service)?;
    let path = db
        .orchestrations
        .get(&service)
        .cloned()
        .unwrap_or_else(|| empty_path(&db, &service));
    rest::ok(json!({ "orchestration_path": path }))
}

pub async fn put_path(
    State(app): State<Arc<App>>,
    Path(service): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let input = rest::body_of(&body, "orchestration_path")?;
    let mut db = rest::lock(&app);
    service_exists(&db, &service)?;
    let mut errors = Vec::new();
    let mut sets = Vec::new();
    let set_ids: Vec<String> = input["sets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    if !set_ids.iter().any(|s| s == "start") {
        errors.push("The orchestration must have a set with id 'start'".to_owned());
    }
    for set in input["sets"].as_array().into_iter().flatten() {
        let mut rules = Vec::new();
        for rule in set["rules"].as_array().into_iter().flatten() {
            for condition in rule["conditions"].as_array().into_iter().flatten() {
                let expression = condition["expression"].as_str().unwrap_or_default();
                if let Err(e) = Condition::parse(expression) {
                    errors.push(format!("Invalid condition {expression:?}: {e}"));
                }
            }
            check_actions(&rule["actions"], &set_ids, &mut errors);
            let mut stored = rule.clone();
            stored["id"] = json!(db.id().to_lowercase());
            rules.push(stored);
        }
        sets.push(json!({"id": set["id"], "rules": rules}));
    }
    check_actions(&input["catch_all"]["actions"], &[], &mut errors);
    if !errors.is_empty() {
        return Err(rest::invalid(errors));
    }
    let mut path = empty_path(&db, &service);
    path["sets"] = json!(sets);
    path["catch_all"] =
        json!({"actions": input["catch_all"]["actions"].as_object().cloned().unwrap_or_default()});
    path["updated_at"] = json!(db.now_text());
    db.orchestrations.insert(service, path.clone());
    rest::ok(json!({ "orchestration_path": path }))
}

fn check_actions(actions: &Value, set_ids: &[String], errors: &mut Vec<String>) {
    if let Some(severity) = actions["severity"].as_str()
        && !["critical", "error", "warning", "info"].contains(&severity)
    {
        errors.push(format!(
            "Severity {severity:?} is not one of info, error, warning, critical"
        ));
    }
    if let Some(action) = actions["event_action"].as_str()
        && !["trigger", "resolve"].contains(&action)
    {
        errors.push(format!("Event action {action:?} is not trigger or resolve"));
    }
    if let Some(route) = actions["route_to"].as_str()
        && !set_ids.iter().any(|s| s == route && s != "start")
    {
        errors.push(format!(
            "route_to {route:?} is not a set of this orchestration"
        ));
    }
}

pub async fn get_active(State(app): State<Arc<App>>, Path(service): Path<String>) -> Reply {
    let db = rest::lock(&app);
    service_exists(&db, &service)?;
    let active = db
        .orchestration_active
        .get(&service)
        .copied()
        .unwrap_or(true);
    rest::ok(json!({ "active": active }))
}

pub async fn put_active(
    State(app): State<Arc<App>>,
    Path(service): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let Some(active) = body["active"].as_bool() else {
        return Err(rest::invalid(vec!["active must be a boolean".into()]));
    };
    let mut db = rest::lock(&app);
    service_exists(&db, &service)?;
    db.orchestration_active.insert(service, active);
    rest::ok(json!({ "active": active }))
}

/// Run a service's orchestration over an event.
pub fn route(db: &Db, service: &str, event: &Event) -> Outcome {
    let mut outcome = Outcome::default();
    if !db
        .orchestration_active
        .get(service)
        .copied()
        .unwrap_or(true)
    {
        return outcome;
    }
    let Some(path) = db.orchestrations.get(service) else {
        return outcome;
    };
    let sets = path["sets"].as_array().cloned().unwrap_or_default();
    let mut set_id = "start".to_owned();
    // Each set is visited once: routes form a tree from `start`.
    for _ in 0..=sets.len() {
        let Some(set) = sets.iter().find(|s| s["id"] == set_id.as_str()) else {
            break;
        };
        let rule = set["rules"].as_array().into_iter().flatten().find(|r| {
            !r["disabled"].as_bool().unwrap_or(false) && {
                let conditions = r["conditions"].as_array().cloned().unwrap_or_default();
                conditions.is_empty()
                    || conditions.iter().any(|c| {
                        Condition::parse(c["expression"].as_str().unwrap_or_default())
                            .is_ok_and(|c| c.eval(&event.fields))
                    })
            }
        });
        let actions = match rule {
            Some(rule) => {
                outcome.matched.push(
                    rule["label"]
                        .as_str()
                        .unwrap_or(rule["id"].as_str().unwrap_or_default())
                        .to_owned(),
                );
                &rule["actions"]
            }
            None => &path["catch_all"]["actions"],
        };
        apply(actions, &mut outcome);
        match actions["route_to"].as_str() {
            Some(next) if rule.is_some() => set_id = next.to_owned(),
            _ => break,
        }
    }
    outcome
}

fn apply(actions: &Value, outcome: &mut Outcome) {
    if actions["suppress"].as_bool() == Some(true) {
        outcome.suppress = true;
    }
    if let Some(severity) = actions["severity"].as_str() {
        outcome.severity = Some(severity.to_owned());
    }
    if actions["event_action"].as_str() == Some("resolve") {
        outcome.resolve = true;
    }
}

/// A PCL condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Matches(String, String),
    Contains(String, String),
    Regex(String, String),
    Exists(String),
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, at: 0 };
        let c = p.or()?;
        if p.at < p.tokens.len() {
            return Err(format!("unexpected {:?}", p.tokens[p.at]));
        }
        Ok(c)
    }

    pub fn eval(&self, event: &Value) -> bool {
        let text = |path: &str| {
            field(event, path).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        match self {
            Condition::Matches(path, want) => text(path).is_some_and(|v| v == *want),
            Condition::Contains(path, want) => {
                text(path).is_some_and(|v| v.contains(want.as_str()))
            }
            Condition::Regex(path, re) => {
                text(path).is_some_and(|v| regex::Regex::new(re).is_ok_and(|re| re.is_match(&v)))
            }
            Condition::Exists(path) => field(event, path).is_some(),
            Condition::Not(c) => !c.eval(event),
            Condition::And(a, b) => a.eval(event) && b.eval(event),
            Condition::Or(a, b) => a.eval(event) || b.eval(event),
        }
    }
}

/// `event.custom_details.a.b` in the event.
fn field<'e>(event: &'e Value, path: &str) -> Option<&'e Value> {
    let mut value = event;
    for part in path.strip_prefix("event.")?.split('.') {
        value = value.get(part)?;
    }
    (!value.is_null()).then_some(value)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '\'' | '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => s.extend(chars.next()),
                        Some(q) if q == c => break,
                        Some(other) => s.push(other),
                        None => return Err("unclosed quote".into()),
                    }
                }
                tokens.push(Token::Text(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '\'' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    if tokens.is_empty() {
        return Err("empty condition".into());
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn word(&mut self, w: &str) -> bool {
        if self.tokens.get(self.at) == Some(&Token::Word(w.to_owned())) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.word("or") {
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.not()?;
        while self.word("and") {
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, String> {
        if self.word("not") {
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.term()
    }

    fn term(&mut self) -> Result<Condition, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("expected ')'".into());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(path)) if path.starts_with("event.") && path.len() > 6 => {
                self.at += 1;
                if self.word("exists") {
                    return Ok(Condition::Exists(path));
                }
                if !self.word("matches") {
                    return Err(format!("expected matches or exists after {path}"));
                }
                let kind = if self.word("part") {
                    "part"
                } else if self.word("regex") {
                    "regex"
                } else {
                    "equal"
                };
                let Some(Token::Text(value)) = self.tokens.get(self.at).cloned() else {
                    return Err(format!("expected a quoted value after {path} matches"));
                };
                self.at += 1;
                Ok(match kind {
                    "part" => Condition::Contains(path, value),
                    "regex" => {
                        regex::Regex::new(&value).map_err(|e| format!("bad regex: {e}"))?;
                        Condition::Regex(path, value)
                    }
                    _ => Condition::Matches(path, value),
                })
            }
            other => Err(format!("expected a condition, found {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Condition;
    use serde_json::json;

    #[test]
    fn pcl_conditions() {
        let event = json!({"summary": "ERROR in checkout", "severity": "critical",
            "custom_details": {"AlarmName": "checkout-errors", "n": 3}});
        let yes = [
            "event.summary matches part 'ERROR'",
            "event.severity matches 'critical' and not event.summary matches part 'deploy'",
            "event.custom_details.AlarmName matches regex '^checkout-'",
            "event.custom_details.n matches '3'",
            "(event.source exists) or event.custom_details.AlarmName exists",
        ];
        for c in yes {
            assert!(Condition::parse(c).unwrap().eval(&event), "{c}");
        }
        for c in ["event.summary matches 'ERROR'", "event.source exists"] {
            assert!(!Condition::parse(c).unwrap().eval(&event), "{c}");
        }
        for bad in [
            "",
            "summary matches 'x'",
            "event.summary matches",
            "event.summary is 'x'",
            "event.x matches regex '('",
            "(event.x exists",
        ] {
            assert!(Condition::parse(bad).is_err(), "{bad:?}");
        }
    }
}
