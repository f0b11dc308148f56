//! PagerDuty's stricter behaviours, each with where it is documented or where a
//! client had to work around it (README, "Strict mode"). `rest.rs` calls in here
//! at one point per behaviour; with `Config::default()` (not strict, no
//! consistency delay) nothing here changes an answer.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::db::{Db, Ghost};
use crate::rest::error;

/// PagerDuty's 400 for a rule the request breaks: "Invalid Input Provided",
/// code 2001, the reason in `errors` — the shape terraform-provider-pagerduty's
/// users quote (e.g. PR #558: `Code: 2001, Errors: [User cannot be removed as
/// they belong to an escalation policy on this team], Message: Invalid Input
/// Provided`).
fn refused(reason: String) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Invalid Input Provided",
        2001,
        vec![reason],
    )
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// ---------------------------------------------------------------- schedules

/// The layers a schedule create or update stores, as PagerDuty stores them.
///
/// - A layer `start` in the past becomes the time of the request: PagerDuty
///   resets it, which is why terraform-provider-pagerduty suppresses the diff
///   when both the configured and the read start are in the past (PR #343 for
///   issue #200, `util.SuppressScheduleLayerStartDiff`). Written in the
///   schedule's time zone, as PagerDuty answers times.
/// - A layer left out of an update is not removed but ended (`end` = the request
///   time) and stays in the schedule: "A schedule layer can never be removed but
///   it can be ended" (resource_pagerduty_schedule.go, update), and the
///   provider's reader skips ended layers because GET keeps returning them
///   (`flattenScheduleLayers`).
/// - Layers come back in the reverse of the order they were sent in (highest
///   precedence first): PagerDuty's own support script reverses a GET's layers
///   before PUTting them back "because a GET request and a POST or PUT request
///   for a schedule will have schedule layers in opposite order"
///   (PagerDuty/public-support-scripts PR #60), and the Terraform provider
///   reverses what it reads (`flattenScheduleLayers`, "Reverse the final
///   result"; the fix announced in its PR #610 has not landed). The order of the
///   latest request sets precedence; layers it left out (ended) rank lowest.
///
/// `requested`: the request's layers, normalised, in request order (lowest
/// precedence first); `existing`: the stored layers (PagerDuty's order).
pub fn schedule_layers(db: &Db, tz: Tz, requested: Vec<Value>, existing: &[Value]) -> Vec<Value> {
    let now = db.now();
    let now_text = now
        .with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let ended_by = |layer: &Value, t: DateTime<Utc>| time(&layer["end"]).is_some_and(|e| e <= t);
    let mut rendering: Vec<Value> = Vec::new();
    // Left out of the request: ended now, kept, lowest precedence first.
    for old in existing.iter().rev() {
        let kept = requested.iter().any(|r| r["id"] == old["id"]);
        if kept {
            continue;
        }
        let mut old = old.clone();
        if !ended_by(&old, now) {
            old["end"] = Value::String(now_text.clone());
        }
        rendering.push(old);
    }
    for mut layer in requested {
        let past_start = time(&layer["start"]).is_some_and(|s| s < now);
        if past_start && !ended_by(&layer, now) {
            layer["start"] = Value::String(now_text.clone());
        }
        rendering.push(layer);
    }
    rendering.reverse();
    rendering
}

// ---------------------------------------------------------------- names

/// Services, escalation policies, teams and business services have unique names
/// in an account; schedules do not. A duplicate is refused with 400
/// "Name has already been taken": terraform-provider-pagerduty issue #556 (a
/// `POST /services` refused this way), openshift/pagerduty-operator PR #43
/// ("service names have to be unique", adopting the existing service on that
/// message). The shape is PagerDuty's 400 (code 2001, the reason in `errors`).
pub fn name_taken(db: &Db, collection: &str, id: &str, name: &str) -> Option<Response> {
    if !db.rules.strict
        || !matches!(
            collection,
            "services" | "escalation_policies" | "teams" | "business_services"
        )
    {
        return None;
    }
    let taken = db
        .list(collection)
        .iter()
        .any(|o| o["id"] != *id && o["name"].as_str() == Some(name));
    taken.then(|| refused("Name has already been taken".to_owned()))
}

// ---------------------------------------------------------------- consistency

/// Remember when an object or link was created, for the consistency delay.
pub fn born(db: &mut Db, key: String) {
    if !db.rules.consistency_delay.is_zero() {
        db.born.insert(key, Instant::now());
    }
}

/// Reads do not see an object or link for `consistency_delay` after its create:
/// a GET answers 404 and lists leave it out. terraform-provider-pagerduty retries
/// 404s after every create for this reason (e.g. team memberships,
/// `fetchPagerDutyTeamMembershipWithRetries`; service dependencies, "retrying for
/// eventual consistency" in resource_pagerduty_service_dependency.go), and the
/// project saw 404s on reads right after creates (TOOLCHAIN.md).
pub fn hidden(db: &Db, key: &str) -> bool {
    db.born
        .get(key)
        .is_some_and(|t| t.elapsed() < db.rules.consistency_delay)
}

/// Keep the previous version of a changed or deleted object for the delay: what
/// it used still counts as in use. terraform-provider-pagerduty retries a team
/// membership delete refused because of a policy being deleted in parallel
/// (issue #1119: "the transient error resolves when the escalation policy
/// deletion completes"), and retries a policy delete refused with 400 "to give
/// other resources (such as services) [time] to delete"
/// (resource_pagerduty_escalation_policy.go).
pub fn remember(db: &mut Db, collection: &'static str, object: Value) {
    let delay = db.rules.consistency_delay;
    if delay.is_zero() {
        return;
    }
    let now = Instant::now();
    db.ghosts.retain(|g| g.until > now);
    db.ghosts.push(Ghost {
        collection,
        object,
        until: now + delay,
    });
}

/// The objects of a collection as delete checks see them: the live ones and
/// those that changed or went away within the delay.
fn users_of<'a>(db: &'a Db, collection: &str) -> Vec<&'a Value> {
    let now = Instant::now();
    let mut all: Vec<&Value> = db
        .objects
        .get(collection)
        .map(|c| c.values().collect())
        .unwrap_or_default();
    all.extend(
        db.ghosts
            .iter()
            .filter(|g| g.collection == collection && g.until > now)
            .map(|g| &g.object),
    );
    all
}

fn targets(policy: &Value) -> impl Iterator<Item = &Value> {
    policy["escalation_rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["targets"].as_array().into_iter().flatten())
}

fn on_team(object: &Value, team: &str) -> bool {
    object["teams"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["id"] == *team))
}

// ---------------------------------------------------------------- in use

/// A policy a service uses (or used within the delay) cannot be deleted. The
/// status and code are PagerDuty's 400 (terraform-provider-pagerduty retries a
/// policy delete on 400 until the services are gone); the wording follows the
/// schedule's documented refusal, none for policies being published.
pub fn policy_in_use(db: &Db, id: &str) -> Option<Response> {
    let used = users_of(db, "services")
        .iter()
        .any(|s| s["escalation_policy"]["id"] == *id);
    used.then(|| {
        if db.rules.strict {
            refused("Escalation Policy can't be deleted if it's being used by services".into())
        } else {
            lenient_in_use("escalation_policies", id)
        }
    })
}

/// A schedule a policy targets (or targeted within the delay) cannot be
/// deleted: 400, "Schedule can't be deleted if it's being used by escalation
/// policies" (terraform-provider-pagerduty PR #561 quotes it;
/// resource_pagerduty_schedule.go matches it exactly).
pub fn schedule_in_use(db: &Db, id: &str) -> Option<Response> {
    // An open incident keeps a snapshot of the policy it was opened through:
    // terraform-provider-pagerduty `resource_pagerduty_schedule.go` matches
    // "Schedule can't be deleted if it's being used by an escalation policy
    // snapshot with open incidents" and lists the incidents to resolve.
    if db.rules.strict && open_through(db, id) {
        return Some(refused(
            "Schedule can't be deleted if it's being used by an escalation policy snapshot with open incidents".into(),
        ));
    }
    let used = users_of(db, "escalation_policies")
        .iter()
        .any(|p| targets(p).any(|t| t["id"] == *id));
    used.then(|| {
        if db.rules.strict {
            refused("Schedule can't be deleted if it's being used by escalation policies".into())
        } else {
            lenient_in_use("schedules", id)
        }
    })
}

/// Whether an open incident was opened through a policy that targeted this
/// schedule at the time.
fn open_through(db: &Db, schedule: &str) -> bool {
    db.incidents.values().any(|i| {
        matches!(i["status"].as_str(), Some("triggered" | "acknowledged"))
            && db
                .snapshots
                .get(i["id"].as_str().unwrap_or_default())
                .is_some_and(|schedules| schedules.iter().any(|s| s == schedule))
    })
}

fn lenient_in_use(collection: &str, id: &str) -> Response {
    refused(format!("{collection} {id} is in use and cannot be deleted"))
}

/// `DELETE /teams/{id}` "Succeeds only if the team has no associated Escalation
/// Policies, Services, Schedules and Subteams" (the OpenAPI document's
/// description of deleteTeam; it documents no status for the refusal). PagerDuty
/// answers 400, code 6006, "Team has existing associations", one reason per kind:
/// terraform-provider-pagerduty issue #358 (`Code: 6006, Errors: [Cannot delete
/// team with existing Schedules association(s)], Message: Team has existing
/// associations`). `reassignment_team` only moves incidents; it does not lift
/// the refusal.
pub fn team_in_use(db: &Db, id: &str) -> Option<Response> {
    if !db.rules.strict {
        return None;
    }
    let kinds = [
        ("Escalation Policies", "escalation_policies"),
        ("Services", "services"),
        ("Schedules", "schedules"),
    ];
    let mut reasons: Vec<String> = kinds
        .iter()
        .filter(|(_, c)| users_of(db, c).iter().any(|o| on_team(o, id)))
        .map(|(kind, _)| format!("Cannot delete team with existing {kind} association(s)"))
        .collect();
    if users_of(db, "teams")
        .iter()
        .any(|t| t["parent"]["id"] == *id)
    {
        reasons.push("Cannot delete team with existing Subteams association(s)".into());
    }
    (!reasons.is_empty()).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "Team has existing associations",
            6006,
            reasons,
        )
    })
}

/// Removing a member who is reachable through an escalation policy of that team
/// — a user target, or a schedule target with a layer (not ended) naming them —
/// is refused: 400, code 2001, "User cannot be removed as they belong to an
/// escalation policy on this team" (terraform-provider-pagerduty PR #558 quotes
/// the answer; resource_pagerduty_team_membership.go retries on that message).
pub fn member_in_use(db: &Db, team: &str, user: &str) -> Option<Response> {
    if !db.rules.strict {
        return None;
    }
    let now = db.now();
    let schedules = users_of(db, "schedules");
    let names_user = |schedule_id: &str| {
        schedules
            .iter()
            .filter(|s| s["id"] == *schedule_id)
            .flat_map(|s| s["schedule_layers"].as_array().into_iter().flatten())
            .filter(|l| time(&l["end"]).is_none_or(|end| end > now))
            .flat_map(|l| l["users"].as_array().into_iter().flatten())
            .any(|u| u["user"]["id"] == *user)
    };
    let reachable = users_of(db, "escalation_policies")
        .iter()
        .filter(|p| on_team(p, team))
        .any(|p| {
            targets(p).any(|t| match t["type"].as_str() {
                Some("user_reference" | "user") => t["id"] == *user,
                Some("schedule_reference" | "schedule") => t["id"].as_str().is_some_and(names_user),
                _ => false,
            })
        });
    reachable.then(|| {
        refused("User cannot be removed as they belong to an escalation policy on this team".into())
    })
}
