//! `pagerduty.schedule`: an on-call rotation in layers.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::super::object::{PlainObject, id_of, ids_of, object, reference, references};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{Checker, KindInfo, Role, lit, out, parse_as, refs, same_value};
use blueprint_model::oncall::time_zones;
use blueprint_model::terraform::{Block, OutputMap, PropMap, Target, TerraformMap, prop, same, to};

pub const NAME: &str = "pagerduty.schedule";
pub type Props = wit::ScheduleProps;
pub type Ref = wit::ScheduleRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Schedule),
    outputs: &[out("id")],
    required: &["name", "time_zone", "layers"],
    refs: &[
        refs("layers[].users[]", &[super::user::NAME]),
        refs("teams[]", &[super::team::NAME]),
    ],
    check: check_schedule,
    replace_on_change: &[],
    // Policies keep using the old schedule while its replacement is made.
    create_before_destroy: true,
    terraform: TerraformMap {
        tf_type: "pagerduty_schedule",
        block: Block::Resource,
        props: &[
            same("name"),
            same("time_zone"),
            same("description"),
            same("teams"),
            prop(
                "layers",
                Target::Blocks {
                    block: "layer",
                    fields: LAYER,
                },
            ),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/schedule#import",
        identity: &["name"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

const LAYER: &[PropMap] = &[
    same("name"),
    same("start"),
    same("end"),
    same("rotation_virtual_start"),
    same("rotation_turn_length_seconds"),
    same("users"),
    prop(
        "restrictions",
        Target::Blocks {
            block: "restriction",
            fields: RESTRICTION,
        },
    ),
];

const RESTRICTION: &[PropMap] = &[
    to("restriction_type", "type"),
    same("start_time_of_day"),
    same("duration_seconds"),
    same("start_day_of_week"),
];

fn check_schedule(c: &mut Checker<'_>) {
    if let Some(tz) = c.literal("time_zone")
        && !time_zones::accepted(tz)
    {
        let what = if tz.parse::<chrono_tz::Tz>().is_ok() {
            "an IANA time zone PagerDuty does not accept"
        } else {
            "not a time zone"
        };
        c.bad(
            "time_zone",
            format!(
                "{tz:?} is {what}: did you mean {:?}? (PagerDuty's list: developer.pagerduty.com/docs/1afe25e9c94cb-types#time-zone)",
                time_zones::nearest(tz)
            ),
        );
    }
    for (i, layer) in c.array("layers").iter().enumerate() {
        let at = |field: &str| format!("layers[{i}].{field}");
        if lit(&layer["name"]) == Some("") {
            c.bad(&at("name"), "must not be empty");
        }
        let start = c.date_time(&at("start"));
        c.date_time(&at("rotation_virtual_start"));
        if let (Some(start), Some(end)) = (start, c.date_time(&at("end")))
            && end <= start
        {
            c.bad(&at("end"), "must be after the layer's start");
        }
        if layer["rotation_turn_length_seconds"].as_u64() == Some(0) {
            c.bad(
                &at("rotation_turn_length_seconds"),
                "must be at least 1 second (a rotation of 0 s never hands over)",
            );
        }
        if layer["users"].as_array().is_some_and(Vec::is_empty) {
            c.bad(&at("users"), "a layer needs at least one user");
        }
        let restrictions = layer["restrictions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (j, r) in restrictions.iter().enumerate() {
            let at = |field: &str| format!("layers[{i}].restrictions[{j}].{field}");
            let kind = lit(&r["restriction_type"]);
            if !matches!(
                kind,
                None | Some("daily_restriction" | "weekly_restriction")
            ) {
                c.bad(
                    &at("restriction_type"),
                    "must be daily_restriction or weekly_restriction",
                );
            }
            if let Some(time) = lit(&r["start_time_of_day"])
                && chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").is_err()
            {
                c.bad(
                    &at("start_time_of_day"),
                    format!("{time:?} is not HH:MM:SS"),
                );
            }
            if r["duration_seconds"].as_u64() == Some(0) {
                c.bad(&at("duration_seconds"), "must be at least 1 second");
            }
            let day = r["start_day_of_week"].as_u64();
            if kind == Some("weekly_restriction") && !matches!(day, Some(1..=7)) {
                c.bad(
                    &at("start_day_of_week"),
                    "a weekly restriction needs a day from 1 (Monday) to 7",
                );
            }
        }
    }
}

pub struct Kind;

impl PlainObject for Kind {
    type Props = Props;
    const COLLECTION: &'static str = "/schedules";
    const KEY: &'static str = "schedule";
    const READS_BEFORE_UPDATE: bool = true;
    // Two schedules may have one name (the strict emulator's uniqueness list).
    const UNIQUE_NAMES: bool = false;

    fn info() -> &'static KindInfo {
        &INFO
    }

    fn name(p: &Props) -> &str {
        &p.name
    }

    fn to_api(p: &Props) -> Value {
        let layers: Vec<Value> = p
            .layers
            .iter()
            .map(|l| {
                let users: Vec<Value> = l
                    .users
                    .iter()
                    .map(|id| json!({"user": reference(id, "user_reference")}))
                    .collect();
                let restrictions: Vec<Value> = l
                    .restrictions
                    .iter()
                    .flatten()
                    .map(|r| {
                        json!({
                            "type": r.restriction_type,
                            "start_time_of_day": r.start_time_of_day,
                            "duration_seconds": r.duration_seconds,
                            "start_day_of_week": r.start_day_of_week,
                        })
                    })
                    .collect();
                json!({
                    "name": l.name,
                    "start": utc(&l.start),
                    "end": l.end.as_deref().map(utc),
                    "rotation_virtual_start": utc(&l.rotation_virtual_start),
                    "rotation_turn_length_seconds": l.rotation_turn_length_seconds,
                    "users": users,
                    "restrictions": restrictions,
                })
            })
            .collect();
        json!({
            "type": "schedule",
            "name": p.name,
            "time_zone": p.time_zone,
            "description": p.description,
            "schedule_layers": layers,
            "teams": references(p.teams.as_ref(), "team_reference"),
        })
    }

    /// Ended layers are left out: PagerDuty keeps them in the schedule forever
    /// (a layer is never deleted, only ended), so the Terraform provider's reader
    /// skips them (`flattenScheduleLayers`). PagerDuty answers the layers highest
    /// precedence first, the reverse of the order they are sent in (its own
    /// support script reverses a GET before a PUT, PagerDuty/public-support-scripts
    /// PR #60; the Terraform provider reverses what it reads), so they are
    /// reversed back into the blueprint's order.
    fn from_api(v: &Value) -> Map<String, Value> {
        let now = Utc::now();
        let layers: Vec<Value> = v["schedule_layers"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .filter(|l| !ended(&l["end"], now))
            .map(|l| {
                let users: Vec<Value> = l["users"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|u| id_of(&u["user"]))
                    .collect();
                let restrictions: Vec<Value> = l["restrictions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        json!({
                            "restriction_type": r["type"],
                            "start_time_of_day": r["start_time_of_day"],
                            "duration_seconds": r["duration_seconds"],
                            "start_day_of_week": r["start_day_of_week"],
                        })
                    })
                    .collect();
                json!({
                    "name": l["name"],
                    "start": l["start"],
                    "end": l["end"],
                    "rotation_virtual_start": l["rotation_virtual_start"],
                    "rotation_turn_length_seconds": l["rotation_turn_length_seconds"],
                    "users": users,
                    "restrictions": restrictions,
                })
            })
            .collect();
        object(vec![
            ("name", v["name"].clone()),
            ("time_zone", v["time_zone"].clone()),
            ("description", v["description"].clone()),
            ("layers", Value::Array(layers)),
            ("teams", ids_of(&v["teams"])),
        ])
    }

    /// A schedule update keeps its layers (and their history) when it names
    /// their ids. Desired layers are matched to the live ones by name, never by
    /// position (PagerDuty reorders them); a live layer the blueprint no longer
    /// has is sent with `end` set to now: "A schedule layer can never be removed
    /// but it can be ended" (terraform-provider-pagerduty,
    /// resource_pagerduty_schedule.go, update) — dropped from the request it
    /// would keep paging people on services that do not end it themselves.
    fn adjust_update(body: &mut Value, current: &Value) {
        let now = Utc::now();
        let live: Vec<&Value> = current["schedule_layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| !ended(&l["end"], now))
            .collect();
        let Some(layers) = body["schedule_layers"].as_array_mut() else {
            return;
        };
        let mut kept: Vec<Value> = Vec::new();
        for layer in layers.iter_mut() {
            let same = live
                .iter()
                .find(|l| l["name"] == layer["name"] && !kept.contains(&l["id"]));
            if let Some(same) = same
                && !same["id"].is_null()
            {
                layer["id"] = same["id"].clone();
                kept.push(same["id"].clone());
            }
        }
        let now_text = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let dropped: Vec<Value> = live
            .iter()
            .filter(|l| !l["id"].is_null() && !kept.contains(&l["id"]))
            .map(|l| {
                let mut ended = (*l).clone();
                ended["end"] = json!(now_text);
                ended
            })
            .collect();
        // Lowest precedence first, as requests order layers.
        let mut all = dropped;
        all.append(layers);
        *layers = all;
    }

    /// Date-times compare as instants (PagerDuty may answer in another offset);
    /// an absent list equals an empty one; layers compare by name.
    fn equivalent(prop: &str, desired: &Value, observed: &Value) -> bool {
        if prop == "layers" {
            return same_value(&normalize_layers(desired), &normalize_layers(observed));
        }
        same_value(desired, observed)
    }
}

/// A date-time as UTC (`…Z`): PagerDuty misreads some offsets in layer times,
/// and terraform-provider-pagerduty converts them to UTC before sending
/// (`timeToUTC` in pagerduty/util.go, used by the schedule's layer expansion).
/// Text that is not a date-time is sent unchanged (the checker reported it).
fn utc(text: &str) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        Err(_) => text.to_owned(),
    }
}

/// Whether a layer's `end` has passed.
fn ended(end: &Value, now: DateTime<Utc>) -> bool {
    end.as_str()
        .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
        .is_some_and(|e| e <= now)
}

/// Layers in a form where the differences PagerDuty introduces vanish:
/// - a `start` in the past equals any other past start: PagerDuty resets a past
///   start to the time of the request, and terraform-provider-pagerduty
///   suppresses that diff when both values are in the past
///   (`util.SuppressScheduleLayerStartDiff`, PR #343 for issue #200);
/// - other times compare as instants;
/// - ended layers are gone (see `from_api`), on both sides;
/// - layers are keyed by name: PagerDuty returns them in its own order.
fn normalize_layers(layers: &Value) -> Value {
    let instant = |v: &Value| match v.as_str().map(DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => json!(t.timestamp()),
        _ => v.clone(),
    };
    let now = Utc::now();
    match layers.as_array() {
        Some(items) => {
            let mut items: Vec<Value> = items
                .iter()
                .filter(|l| !ended(&l["end"], now))
                .map(|l| {
                    let mut l = l.clone();
                    let past = l["start"]
                        .as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .is_some_and(|s| s < now);
                    for key in ["start", "end", "rotation_virtual_start"] {
                        l[key] = instant(&l[key]);
                    }
                    if past {
                        l["start"] = json!("in the past");
                    }
                    if l["restrictions"].is_null() {
                        l["restrictions"] = json!([]);
                    }
                    l
                })
                .collect();
            items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            Value::Array(items)
        }
        None => layers.clone(),
    }
}
