//! On-call as PagerDuty computes it, asked one instant at a time: which layer
//! has someone now (restrictions evaluated in the schedule's time zone), which
//! of those takes precedence, and — for `/oncalls` and rendered schedules —
//! how long that stays true.
//!
//! Sources: REST OpenAPI `ScheduleLayer` (start, end, rotation_virtual_start,
//! rotation_turn_length_seconds, restrictions with start_time_of_day in the
//! schedule's zone, start_day_of_week 1 = Monday); support.pagerduty.com
//! "Setting up Restrictions for On-Call Shifts" (outside a restriction the
//! layer has nobody); support.pagerduty.com/docs/schedules (the lowest layer
//! takes precedence; when nobody is on call no incident is created).
//! Where no source speaks (DST), the host's documented choice is followed:
//! turns of elapsed seconds; a restriction starts at its local wall-clock time
//! (a skipped time when the clocks resume, an ambiguous one at its first
//! occurrence) and lasts its `duration_seconds`.
//!
//! This is written apart from the host's interval arithmetic on purpose: the
//! tests compare the two.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

fn time_of(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// When the wall clock in `tz` reads `time` on `date`.
fn wall_clock(tz: Tz, date: chrono::NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut local = date.and_time(time);
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                return t.with_timezone(&Utc);
            }
            chrono::LocalResult::None => local += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

/// Is a restriction open at `at`? Returns when the open window ends.
fn restriction_open(r: &Value, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let time = NaiveTime::parse_from_str(r["start_time_of_day"].as_str()?, "%H:%M:%S").ok()?;
    let seconds = r["duration_seconds"].as_i64()?;
    let weekly = r["type"].as_str() == Some("weekly_restriction");
    let today = at.with_timezone(&tz).date_naive();
    // A window opened today or up to a week ago may still be open.
    (0..=7)
        .filter_map(|back| today.checked_sub_signed(Duration::days(back)))
        .filter(|day| {
            !weekly
                || r["start_day_of_week"].as_u64()
                    == Some(u64::from(day.weekday().number_from_monday()))
        })
        .map(|day| {
            let opens = wall_clock(tz, day, time);
            (opens, opens + Duration::seconds(seconds))
        })
        .filter(|(opens, closes)| *opens <= at && at < *closes)
        .map(|(_, closes)| closes)
        .max()
}

/// The next instant after `at` a restriction opens (within two weeks).
fn next_opening(restrictions: &[Value], tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let today = at.with_timezone(&tz).date_naive();
    let mut best: Option<DateTime<Utc>> = None;
    for r in restrictions {
        let Some(time) = r["start_time_of_day"]
            .as_str()
            .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M:%S").ok())
        else {
            continue;
        };
        let weekly = r["type"].as_str() == Some("weekly_restriction");
        for ahead in 0..=14 {
            let day = today + Duration::days(ahead);
            if weekly
                && r["start_day_of_week"].as_u64()
                    != Some(u64::from(day.weekday().number_from_monday()))
            {
                continue;
            }
            let opens = wall_clock(tz, day, time);
            if opens > at {
                best = Some(best.map_or(opens, |b| b.min(opens)));
                break;
            }
        }
    }
    best
}

/// Who a layer puts on call at `at`, and until when that holds at the latest.
pub fn layer_at(layer: &Value, tz: Tz, at: DateTime<Utc>) -> Option<(String, DateTime<Utc>)> {
    let start = time_of(&layer["start"])?;
    let end = time_of(&layer["end"]);
    if at < start || end.is_some_and(|e| at >= e) {
        return None;
    }
    let anchor = time_of(&layer["rotation_virtual_start"])?;
    let turn = layer["rotation_turn_length_seconds"].as_i64()?.max(1);
    let users: Vec<&str> = layer["users"]
        .as_array()?
        .iter()
        .filter_map(|u| u["user"]["id"].as_str())
        .collect();
    if users.is_empty() {
        return None;
    }
    let mut until = end.unwrap_or(DateTime::<Utc>::MAX_UTC);
    let restrictions = layer["restrictions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !restrictions.is_empty() {
        let closes = restrictions
            .iter()
            .filter_map(|r| restriction_open(r, tz, at))
            .max()?;
        until = until.min(closes);
    }
    let k = (at - anchor).num_seconds().div_euclid(turn);
    until = until.min(anchor + Duration::seconds((k + 1) * turn));
    let user = users[k.rem_euclid(users.len() as i64) as usize].to_owned();
    Some((user, until))
}

/// The next instant after `at` this layer could start covering (its start, a
/// restriction opening), if any within two weeks.
fn layer_next_change(layer: &Value, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let start = time_of(&layer["start"])?;
    if at < start {
        return Some(start);
    }
    if time_of(&layer["end"]).is_some_and(|e| at >= e) {
        return None;
    }
    let restrictions = layer["restrictions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    next_opening(restrictions, tz, at)
}

/// Who the schedule puts on call at `at` and until when (the next instant
/// anything about it could change); `None`: nobody.
///
/// `highest_first`: layers are stored highest precedence first (strict mode
/// stores them as PagerDuty returns them); otherwise the last layer sent wins.
pub fn schedule_at(
    schedule: &Value,
    at: DateTime<Utc>,
    highest_first: bool,
) -> Option<(String, DateTime<Utc>)> {
    let tz: Tz = schedule["time_zone"].as_str()?.parse().ok()?;
    let mut layers: Vec<&Value> = schedule["schedule_layers"].as_array()?.iter().collect();
    if !highest_first {
        layers.reverse();
    }
    let mut until = DateTime::<Utc>::MAX_UTC;
    for layer in layers {
        if let Some((user, ends)) = layer_at(layer, tz, at) {
            return Some((user, until.min(ends)));
        }
        // A layer above that is off now may come on before this one's turn ends.
        if let Some(next) = layer_next_change(layer, tz, at) {
            until = until.min(next);
        }
    }
    None
}

/// The next instant after `at` someone comes on call (for gaps), within two weeks.
fn schedule_next_on(schedule: &Value, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz: Tz = schedule["time_zone"].as_str()?.parse().ok()?;
    schedule["schedule_layers"]
        .as_array()?
        .iter()
        .filter_map(|l| layer_next_change(l, tz, at))
        .min()
}

/// One entry of a rendered schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The final schedule over `[since, until)`: who is on call, entry by entry,
/// truncated at the bounds (PagerDuty's default, `overflow=false`), adjacent
/// entries of one user joined.
pub fn render(
    schedule: &Value,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    highest_first: bool,
) -> Vec<Rendered> {
    let mut out: Vec<Rendered> = Vec::new();
    let mut at = since;
    while at < until {
        match schedule_at(schedule, at, highest_first) {
            Some((user, ends)) => {
                let end = ends.min(until);
                match out.last_mut() {
                    Some(last) if last.end == at && last.user == user => last.end = end,
                    _ => out.push(Rendered {
                        user,
                        start: at,
                        end,
                    }),
                }
                at = end;
            }
            None => {
                at = schedule_next_on(schedule, at).map_or(until, |n| n.min(until));
            }
        }
    }
    out
}

/// PagerDuty's checks on a layer's restrictions (REST OpenAPI `Restriction`).
pub fn restriction_errors(layer: usize, restrictions: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for (j, r) in restrictions.as_array().into_iter().flatten().enumerate() {
        let at = format!("Schedule layer {layer}: restriction {j}");
        let kind = r["type"].as_str().unwrap_or_default();
        if !matches!(kind, "daily_restriction" | "weekly_restriction") {
            errors.push(format!(
                "{at}: type must be daily_restriction or weekly_restriction"
            ));
        }
        if r["start_time_of_day"]
            .as_str()
            .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M:%S").ok())
            .is_none()
        {
            errors.push(format!("{at}: start_time_of_day must be HH:MM:SS"));
        }
        let max = if kind == "weekly_restriction" {
            604_800
        } else {
            86_400
        };
        if !r["duration_seconds"]
            .as_i64()
            .is_some_and(|d| d > 0 && d <= max)
        {
            errors.push(format!(
                "{at}: duration_seconds must be between 1 and {max}"
            ));
        }
        if kind == "weekly_restriction"
            && !r["start_day_of_week"]
                .as_u64()
                .is_some_and(|d| (1..=7).contains(&d))
        {
            errors.push(format!("{at}: start_day_of_week must be 1 to 7"));
        }
    }
    errors
}
