//! `blueprint oncall`: the declared rotation before apply, and whether it says
//! what PagerDuty would. The seed's day, a restricted day's gaps, the SVG; then
//! a two-layer schedule with daily and weekly restrictions in New York, across
//! both DST changes, computed by the host from the graph and by the emulator
//! from the objects the provider created, compared entry by entry (the final
//! schedule) and instant by instant (`/oncalls`).

use crate::support;
use support::blueprint;

use std::collections::BTreeMap;
use std::process::Output;

use blueprint::providers::{Desired, Provider};
use blueprint_model::graph::{Graph, token};
use blueprint_model::oncall;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use support::pagerduty::{TOKEN, emulator, provider_for};

const SEED: &str = "blueprints/lambda-error-pagerduty.toml";

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

const DAY: [&str; 6] = [
    "oncall",
    SEED,
    "--from",
    "2026-12-05T00:00:00+09:00",
    "--to",
    "24h",
];

#[test]
fn the_seed_for_one_day_is_24_turns_alternating_with_no_gap() {
    let v = json_of(&blueprint(&[&DAY[..], &["--json"]].concat()));
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 24, "{v:#}");
    for (i, e) in entries.iter().enumerate() {
        let user = if i % 2 == 0 {
            "user1@example.com"
        } else {
            "user2@example.com"
        };
        assert_eq!(e["user"], user, "turn {i}");
        assert_eq!(e["level"], 1);
        let start: DateTime<Utc> = e["start"].as_str().unwrap().parse().unwrap();
        let end: DateTime<Utc> = e["end"].as_str().unwrap().parse().unwrap();
        assert_eq!(end - start, Duration::hours(1));
    }
    // Tokyo midnight is 15:00 UTC the day before.
    assert_eq!(entries[0]["start"], "2026-12-04T15:00:00Z");
    assert_eq!(v["gaps"], json!([]));
}

#[test]
fn a_daily_restriction_shows_its_gaps() {
    let set = r#"schedule.restrictions=[{"type":"daily_restriction","start_time_of_day":"09:00:00","duration_seconds":32400}]"#;
    let v = json_of(&blueprint(&[&DAY[..], &["--json", "--set", set]].concat()));
    assert_eq!(v["entries"].as_array().unwrap().len(), 9, "{v:#}");
    assert_eq!(
        v["gaps"],
        json!([
            {"level": 1, "start": "2026-12-04T15:00:00Z", "end": "2026-12-05T00:00:00Z", "policy": "escalation-policy"},
            {"level": 1, "start": "2026-12-05T09:00:00Z", "end": "2026-12-05T15:00:00Z", "policy": "escalation-policy"},
        ])
    );
    let text = blueprint(&[&DAY[..], &["--set", set]].concat());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Sat 2026-12-05 18:00 – Sun 2026-12-06 00:00  NOBODY ON CALL (6 h)"),
        "{text}"
    );
}

#[test]
fn the_calendar_is_an_svg_with_a_row_per_level_and_gaps_marked() {
    let set = r#"schedule.restrictions=[{"type":"daily_restriction","start_time_of_day":"09:00:00","duration_seconds":32400}]"#;
    let o = blueprint(&[&DAY[..], &["--format", "svg", "--set", set]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = String::from_utf8(o.stdout).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<title>nobody on call").count(), 2);
    assert_eq!(svg.matches("<title>user").count(), 9);
    assert!(svg.contains(">Level 1<"));
}

#[test]
fn bad_windows_are_one_line_errors() {
    let o = blueprint(&["oncall", SEED, "--from", "tomorrow"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"tomorrow\" is not an RFC 3339 time"),
        "{err}"
    );
}

// ------------------------------------------------ agreement with the emulator

fn ref_to(node: &str) -> Value {
    json!(token::make(node, "id"))
}

/// A day rotation restricted to 09:00-18:00 under a weekend night layer that
/// takes precedence, both in New York.
fn layers(user: impl Fn(&str) -> Value) -> Value {
    json!([
        {
            "name": "days",
            "start": "2026-10-01T00:00:00-04:00",
            "end": null,
            "rotation_virtual_start": "2026-10-01T09:00:00-04:00",
            "rotation_turn_length_seconds": 86400,
            "users": [user("a"), user("b")],
            "restrictions": [
                {"restriction_type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 32400, "start_day_of_week": null}
            ],
        },
        {
            "name": "weekend nights",
            "start": "2026-10-01T00:00:00-04:00",
            "end": null,
            "rotation_virtual_start": "2026-10-01T00:00:00-04:00",
            "rotation_turn_length_seconds": 14400,
            "users": [user("b"), user("a")],
            "restrictions": [
                {"restriction_type": "weekly_restriction", "start_time_of_day": "20:00:00", "duration_seconds": 14400, "start_day_of_week": 6},
                {"restriction_type": "weekly_restriction", "start_time_of_day": "01:30:00", "duration_seconds": 7200, "start_day_of_week": 7}
            ],
        }
    ])
}

fn schedule_props(users: Value) -> Map<String, Value> {
    json!({
        "name": "NY", "time_zone": "America/New_York", "description": null,
        "layers": users, "teams": null,
    })
    .as_object()
    .unwrap()
    .clone()
}

fn graph() -> Graph {
    let mut g = Graph::default();
    for (node, email) in [("a", "user1@example.com"), ("b", "user2@example.com")] {
        g.declare(
            "pagerduty.user",
            node,
            json!({"email": email}).as_object().unwrap().clone(),
        );
    }
    g.declare("pagerduty.schedule", "ny", schedule_props(layers(ref_to)));
    g.declare(
        "pagerduty.escalation_policy",
        "policy",
        json!({"name": "P", "description": null, "num_loops": 0, "teams": null,
               "rules": [{"escalation_delay_in_minutes": 30,
                          "targets": [{"target_type": "schedule_reference", "id": ref_to("ny")}]}]})
        .as_object()
        .unwrap()
        .clone(),
    );
    g
}

async fn create(pd: &dyn Provider, kind: &str, props: Value) -> String {
    let props = props.as_object().unwrap().clone();
    let assets = BTreeMap::new();
    pd.create(&Desired {
        blueprint: "oncall",
        node: "n",
        kind,
        props: &props,
        assets: &assets,
    })
    .await
    .unwrap()
    .id
}

async fn get(emu: &pagerduty_emulator::Emulator, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", emu.base_url()))
        .header("Authorization", format!("Token token={TOKEN}"))
        .header("Accept", "application/vnd.pagerduty+json;version=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test(flavor = "multi_thread")]
async fn oncall_agrees_with_pagerduty_across_both_dst_changes() {
    let emu = emulator(pagerduty_emulator::Config::default()).await;
    let pd = provider_for(&emu);
    let mut ids = BTreeMap::new();
    for (node, email) in [("a", "user1@example.com"), ("b", "user2@example.com")] {
        ids.insert(
            node,
            create(&pd, "pagerduty.user", json!({"email": email})).await,
        );
    }
    let email_of: BTreeMap<String, String> = get(&emu, "/users").await["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["email"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let schedule = create(
        &pd,
        "pagerduty.schedule",
        json!(schedule_props(layers(|n| json!(ids[n])))),
    )
    .await;
    let policy = create(
        &pd,
        "pagerduty.escalation_policy",
        json!({"name": "P", "description": null, "num_loops": 0, "teams": null,
               "rules": [{"escalation_delay_in_minutes": 30,
                          "targets": [{"target_type": "schedule_reference", "id": schedule}]}]}),
    )
    .await;

    let g = graph();
    let catalog = blueprint::providers::catalog();
    let mut samples = 0;
    // US clocks go back on 2026-11-01 and forward on 2027-03-14.
    for (from, to) in [
        ("2026-10-29T00:00:00Z", "2026-11-05T00:00:00Z"),
        ("2027-03-10T00:00:00Z", "2027-03-17T00:00:00Z"),
    ] {
        let (from, to) = (at(from), at(to));
        let coverage = oncall::coverage(&g, catalog, from, to).unwrap();
        let level = &coverage[0].levels[0];
        assert!(
            !level.gaps.is_empty() && level.entries.len() >= 9,
            "a shape worth comparing: {level:#?}"
        );

        // The final schedule, entry by entry.
        let rendered = get(
            &emu,
            &format!(
                "/schedules/{schedule}?since={}&until={}",
                stamp(from),
                stamp(to)
            ),
        )
        .await;
        let theirs: Vec<(String, String, String)> =
            rendered["schedule"]["final_schedule"]["rendered_schedule_entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["start"].as_str().unwrap().to_owned(),
                        e["end"].as_str().unwrap().to_owned(),
                        email_of[e["user"]["id"].as_str().unwrap()].clone(),
                    )
                })
                .collect();
        let ours: Vec<(String, String, String)> = level
            .entries
            .iter()
            .map(|e| (stamp(e.start), stamp(e.end), e.user.clone()))
            .collect();
        assert_eq!(ours, theirs, "final schedule {from} – {to}");

        // `/oncalls` at sampled instants: every 2 h 17 min, and each edge of ours.
        let mut instants: Vec<DateTime<Utc>> = Vec::new();
        let mut t = from;
        while t < to {
            instants.push(t);
            t += Duration::minutes(137);
        }
        instants.extend(
            level
                .entries
                .iter()
                .flat_map(|e| [e.start, e.end - Duration::seconds(1)]),
        );
        for t in instants {
            let answer = get(
                &emu,
                &format!(
                    "/oncalls?escalation_policy_ids[]={policy}&since={0}&until={0}",
                    stamp(t)
                ),
            )
            .await;
            let theirs: Vec<String> = answer["oncalls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| email_of[e["user"]["id"].as_str().unwrap()].clone())
                .collect();
            let ours: Vec<String> = level
                .entries
                .iter()
                .filter(|e| e.start <= t && t < e.end)
                .map(|e| e.user.clone())
                .collect();
            assert_eq!(ours, theirs, "on call at {t}");
            samples += 1;
        }
    }
    assert!(samples >= 50, "{samples} instants");
}
