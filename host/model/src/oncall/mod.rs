//! Who is on call, computed from the declared graph before anything is applied:
//! for every escalation policy, each level's people over a window and the times
//! nobody is there. `blueprint oncall` prints it, `blueprint check` warns on its
//! gaps, and the tests hold it to the emulator's `/oncalls` and rendered
//! schedules. The rotation rules are in [`rotation`].

pub mod rotation;
pub mod svg;
pub mod time_zones;

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

use crate::graph::alerting::{literal, referenced};
use crate::graph::{Graph, Node};
use crate::kind::{Catalog, Role};
pub use rotation::{Layer, Restriction, Schedule, Span};

/// One escalation policy's coverage over a window.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// The policy's node id and name.
    pub policy: String,
    pub policy_name: String,
    /// The time zone of the policy's first schedule (UTC without one): how to
    /// show the times to the people who live by them.
    pub time_zone: String,
    #[serde(with = "rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub to: DateTime<Utc>,
    pub levels: Vec<LevelCoverage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelCoverage {
    /// 1-based, as PagerDuty numbers escalation levels.
    pub level: usize,
    /// What the level pages: `schedule "Name"` or `user EMAIL`.
    pub targets: Vec<String>,
    pub entries: Vec<Entry>,
    pub gaps: Vec<Gap>,
}

/// A person on call at a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub level: usize,
    #[serde(with = "rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub end: DateTime<Utc>,
    /// The user's email (the node id when the email is not a literal).
    pub user: String,
    /// The schedule node that puts them there; `None` for a user target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// A time nobody is on call at a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub level: usize,
    #[serde(with = "rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub end: DateTime<Utc>,
}

mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

/// Why a node's on-call cannot be computed without applying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknowable {
    pub node: String,
    pub reason: String,
}

impl std::fmt::Display for Unknowable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.node, self.reason)
    }
}

impl std::error::Error for Unknowable {}

/// Every escalation policy of the graph, over `[from, to)`, in declaration order.
pub fn coverage(
    graph: &Graph,
    catalog: &Catalog,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Coverage>, Unknowable> {
    graph
        .nodes()
        .iter()
        .filter(|n| n.role(catalog) == Some(Role::EscalationPolicy))
        .map(|policy| policy_coverage(graph, catalog, policy, from, to))
        .collect()
}

fn policy_coverage(
    graph: &Graph,
    catalog: &Catalog,
    policy: &Node,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Coverage, Unknowable> {
    let mut time_zone = None;
    let mut levels = Vec::new();
    let rules = policy.props.get("rules").and_then(Value::as_array);
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let level = i + 1;
        let mut entries = Vec::new();
        let mut targets = Vec::new();
        let declared = rule.get("targets").and_then(Value::as_array);
        for target in declared
            .into_iter()
            .flatten()
            .filter_map(|t| node_at(graph, t))
        {
            match target.role(catalog) {
                Some(Role::Schedule) => {
                    let schedule = schedule_of(graph, catalog, target)?;
                    time_zone.get_or_insert(schedule.time_zone);
                    targets.push(format!("schedule {:?}", name_of(target)));
                    entries.extend(schedule.final_spans(from, to).into_iter().map(|s| Entry {
                        level,
                        start: s.start,
                        end: s.end,
                        user: s.user,
                        schedule: Some(target.id.clone()),
                    }));
                }
                Some(Role::User) => {
                    let user = email_of(target);
                    targets.push(format!("user {user}"));
                    entries.push(Entry {
                        level,
                        start: from,
                        end: to,
                        user,
                        schedule: None,
                    });
                }
                _ => {}
            }
        }
        entries.sort_by(|a, b| (a.start, &a.user).cmp(&(b.start, &b.user)));
        let gaps = uncovered(entries.iter().map(|e| (e.start, e.end)), from, to)
            .into_iter()
            .map(|(start, end)| Gap { level, start, end })
            .collect();
        levels.push(LevelCoverage {
            level,
            targets,
            entries,
            gaps,
        });
    }
    Ok(Coverage {
        policy: policy.id.clone(),
        policy_name: name_of(policy),
        time_zone: time_zone.unwrap_or(Tz::UTC).name().to_owned(),
        from,
        to,
        levels,
    })
}

/// `[from, to)` minus the union of intervals sorted by start: the times nobody
/// is on call.
pub fn uncovered(
    intervals: impl IntoIterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut holes = Vec::new();
    let mut covered_until = from;
    for (start, end) in intervals {
        if start > covered_until {
            holes.push((covered_until, start));
        }
        covered_until = covered_until.max(end);
    }
    if covered_until < to {
        holes.push((covered_until, to));
    }
    holes
}

/// A time as the people on call read it: `Sat 2026-12-05 18:00` in `tz`.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %Y-%m-%d %H:%M").to_string()
}

/// The node an element of a list refers to (its first reference).
fn node_at<'g>(graph: &'g Graph, element: &Value) -> Option<&'g Node> {
    referenced(graph, Some(element)).next()
}

fn name_of(node: &Node) -> String {
    literal(node.props.get("name")).unwrap_or_else(|| node.id.clone())
}

fn email_of(user: &Node) -> String {
    literal(user.props.get("email")).unwrap_or_else(|| user.id.clone())
}

/// The schedule a node declares, its users named by email.
pub fn schedule_of(graph: &Graph, catalog: &Catalog, node: &Node) -> Result<Schedule, Unknowable> {
    let bad = |reason: String| Unknowable {
        node: node.id.clone(),
        reason,
    };
    let tz_name = literal(node.props.get("time_zone"))
        .ok_or_else(|| bad("time_zone is not known before apply".into()))?;
    let time_zone: Tz = tz_name
        .parse()
        .map_err(|_| bad(format!("{tz_name:?} is not an IANA time zone")))?;
    let mut layers = Vec::new();
    let declared = node.props.get("layers").and_then(Value::as_array);
    for (i, layer) in declared.into_iter().flatten().enumerate() {
        let at = |field: &str| format!("layers[{i}].{field}");
        let time = |field: &str| -> Result<DateTime<Utc>, Unknowable> {
            let text = literal(layer.get(field))
                .ok_or_else(|| bad(format!("{} is not known before apply", at(field))))?;
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| bad(format!("{} {text:?}: {e}", at(field))))
        };
        let end = match layer.get("end") {
            None | Some(Value::Null) => None,
            Some(_) => Some(time("end")?),
        };
        // Element by element: a user may take more than one turn of the cycle.
        let users = layer
            .get("users")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|u| node_at(graph, u))
            .filter(|u| u.role(catalog) == Some(Role::User))
            .map(email_of)
            .collect();
        let restrictions = layer
            .get("restrictions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(j, r)| {
                restriction(r).map_err(|e| bad(format!("{}[{j}]: {e}", at("restrictions"))))
            })
            .collect::<Result<_, _>>()?;
        layers.push(Layer {
            name: literal(layer.get("name")).unwrap_or_default(),
            start: time("start")?,
            end,
            virtual_start: time("rotation_virtual_start")?,
            turn_seconds: layer
                .get("rotation_turn_length_seconds")
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    bad(format!(
                        "{} is not a number",
                        at("rotation_turn_length_seconds")
                    ))
                })?,
            users,
            restrictions,
        });
    }
    Ok(Schedule { time_zone, layers })
}

/// A restriction as the schedule kind declares it (PagerDuty's fields, with
/// `type` as `restriction_type`).
pub fn restriction(r: &Value) -> Result<Restriction, String> {
    let start_text = r
        .get("start_time_of_day")
        .and_then(Value::as_str)
        .ok_or("start_time_of_day is missing")?;
    let start = NaiveTime::parse_from_str(start_text, "%H:%M:%S")
        .map_err(|_| format!("start_time_of_day {start_text:?} is not HH:MM:SS"))?;
    let seconds = r
        .get("duration_seconds")
        .and_then(Value::as_i64)
        .ok_or("duration_seconds is missing")?;
    let kind = r
        .get("restriction_type")
        .or_else(|| r.get("type"))
        .and_then(Value::as_str);
    match kind {
        Some("daily_restriction") => Ok(Restriction::Daily { start, seconds }),
        Some("weekly_restriction") => {
            let day = r
                .get("start_day_of_week")
                .and_then(Value::as_u64)
                .filter(|d| (1..=7).contains(d))
                .ok_or("a weekly restriction needs start_day_of_week 1 (Monday) to 7")?;
            Ok(Restriction::Weekly {
                day: day as u32,
                start,
                seconds,
            })
        }
        other => Err(format!(
            "type {other:?} is not daily_restriction or weekly_restriction"
        )),
    }
}
