//! The PagerDuty provider against the PagerDuty emulator: every kind's
//! create -> read -> update -> delete, read-back equal to what was declared (so a
//! second run is a no-op), drift, lookups, 429/5xx recovery, and no secret in any
//! error. Then the engine drives the seed's PagerDuty half end to end.

use crate::support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use blueprint::assets::Asset;
use blueprint::engine::resolve::same;
use blueprint::providers::pagerduty::{PagerDutyConfig, PagerDutyProvider};
use blueprint::providers::{Desired, ErrorClass, Provider, Resource};
use pagerduty_emulator::Config;
use serde_json::{Map, Value, json};
use support::pagerduty::{TOKEN, emulator, provider_for, provider_with_token};

fn props(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn desired<'a>(
    kind: &'a str,
    node: &'a str,
    props: &'a Map<String, Value>,
    assets: &'a BTreeMap<String, Asset>,
) -> Desired<'a> {
    Desired {
        blueprint: "test",
        node,
        kind,
        props,
        assets,
    }
}

/// Every declared (non-null) prop reads back equal, as the engine's diff sees it.
fn assert_reads_back(
    provider: &dyn Provider,
    kind: &str,
    declared: &Map<String, Value>,
    observed: &Resource,
) {
    for (name, value) in declared {
        if value.is_null() {
            continue;
        }
        let got = observed.props.get(name).unwrap_or(&Value::Null);
        assert!(
            same(value, got) || provider.equivalent(kind, name, value, got),
            "{kind}.{name}: declared {value} but read back {got}"
        );
    }
}

async fn lookup(provider: &dyn Provider, kind: &str, p: Value) -> Resource {
    let p = props(p);
    let assets = BTreeMap::new();
    provider
        .create(&desired(kind, "lookup", &p, &assets))
        .await
        .unwrap()
}

/// Create, read back, update, read back, delete, read gone.
async fn lifecycle(provider: &dyn Provider, kind: &str, first: Value, second: Value) -> Resource {
    let assets = BTreeMap::new();
    let first = props(first);
    let created = provider
        .create(&desired(kind, "n", &first, &assets))
        .await
        .unwrap();
    let read = provider
        .read(kind, &created)
        .await
        .unwrap()
        .expect("exists after create");
    assert_reads_back(provider, kind, &first, &read);
    assert_eq!(read.outputs, created.outputs, "{kind}: outputs are stable");

    let second = props(second);
    let changed: Vec<String> = second.keys().cloned().collect();
    let updated = provider
        .update(&desired(kind, "n", &second, &assets), &read, &changed)
        .await
        .unwrap();
    let read = provider
        .read(kind, &updated)
        .await
        .unwrap()
        .expect("exists after update");
    assert_reads_back(provider, kind, &second, &read);
    read
}

async fn delete_and_check(provider: &dyn Provider, kind: &str, resource: &Resource) {
    provider.delete(kind, resource).await.unwrap();
    assert!(
        provider.read(kind, resource).await.unwrap().is_none(),
        "{kind} gone"
    );
    // Deleting what is gone is not an error.
    provider.delete(kind, resource).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_round_trips() {
    let emu = emulator(Config::default()).await;
    let pd = provider_for(&emu);
    let user = lookup(&pd, "pagerduty.user", json!({"email": "USER1@example.com"})).await;
    let user2 = lookup(&pd, "pagerduty.user", json!({"email": "user2@example.com"})).await;
    assert_eq!(user.outputs["name"], "User One");
    let vendor = lookup(
        &pd,
        "pagerduty.vendor",
        json!({"vendor_name": "Amazon CloudWatch"}),
    )
    .await;

    let team = lifecycle(
        &pd,
        "pagerduty.team",
        json!({"name": "sre", "description": null, "parent": null}),
        json!({"name": "sre-renamed", "description": "on call"}),
    )
    .await;
    let team_id = team.outputs["id"].clone();

    let membership = lifecycle(
        &pd,
        "pagerduty.team_membership",
        json!({"team": team_id, "user": user.outputs["id"], "role": "responder"}),
        json!({"team": team_id, "user": user.outputs["id"], "role": "manager"}),
    )
    .await;

    let business = lifecycle(
        &pd,
        "pagerduty.business_service",
        json!({"name": "Business Service", "team": team_id}),
        json!({"name": "Business Service", "team": team_id, "description": "checkout"}),
    )
    .await;

    let layer = |turn: u64| {
        json!({
            "name": "layer", "start": "2023-09-16T00:00:00+09:00", "end": null,
            "rotation_virtual_start": "2023-09-16T00:00:00+09:00",
            "rotation_turn_length_seconds": turn,
            "users": [user.outputs["id"], user2.outputs["id"]], "restrictions": null,
        })
    };
    let schedule = lifecycle(
        &pd,
        "pagerduty.schedule",
        json!({"name": "Hourly", "time_zone": "Asia/Tokyo", "layers": [layer(3600)], "teams": [team_id]}),
        json!({"name": "Hourly", "time_zone": "Asia/Tokyo", "layers": [layer(7200)], "teams": [team_id]}),
    )
    .await;

    let rule = |delay: u64| {
        json!([{"escalation_delay_in_minutes": delay,
                "targets": [{"target_type": "schedule_reference", "id": schedule.outputs["id"]}]}])
    };
    let policy = lifecycle(
        &pd,
        "pagerduty.escalation_policy",
        json!({"name": "EP", "num_loops": 2, "rules": rule(30), "teams": [team_id]}),
        json!({"name": "EP", "num_loops": 1, "rules": rule(15), "teams": [team_id]}),
    )
    .await;

    let service = lifecycle(
        &pd,
        "pagerduty.service",
        json!({"name": "lambda-error", "escalation_policy": policy.outputs["id"]}),
        json!({"name": "lambda-error", "escalation_policy": policy.outputs["id"], "auto_resolve_timeout": 14400}),
    )
    .await;

    let assets = BTreeMap::new();
    let dep_props = props(
        json!({"business_service": business.outputs["id"], "supporting_service": service.outputs["id"]}),
    );
    let dependency = pd
        .create(&desired(
            "pagerduty.service_dependency",
            "d",
            &dep_props,
            &assets,
        ))
        .await
        .unwrap();
    let read = pd
        .read("pagerduty.service_dependency", &dependency)
        .await
        .unwrap()
        .expect("dependency exists");
    assert_reads_back(&pd, "pagerduty.service_dependency", &dep_props, &read);

    let integration = lifecycle(
        &pd,
        "pagerduty.service_integration",
        json!({"service": service.outputs["id"], "vendor": vendor.outputs["id"]}),
        json!({"service": service.outputs["id"], "vendor": vendor.outputs["id"], "integration_name": "CloudWatch"}),
    )
    .await;
    let key = &integration.outputs["integration_key"];
    assert_eq!(key.len(), 32);
    assert_eq!(
        integration.outputs["cloudwatch_endpoint"],
        format!("{}/integration/{key}/enqueue", emu.base_url())
    );
    assert_eq!(integration.outputs["cloudwatch_protocol"], "http");

    // A maintenance window on the service: a start in the past is "now" to
    // PagerDuty (and equal to any past start for the diff); while it is open,
    // an event opens no incident; deleting an on-going window ends it.
    let window = |description: &str| {
        json!({"start_time": "2023-09-16T00:00:00+09:00", "end_time": "2099-01-01T00:00:00Z",
               "description": description, "services": [service.outputs["id"]]})
    };
    let maintenance = lifecycle(
        &pd,
        "pagerduty.maintenance_window",
        window("deploy"),
        window("deploy, longer"),
    )
    .await;
    let trigger = || async {
        let event = json!({"routing_key": key, "event_action": "trigger",
                           "payload": {"summary": "ERROR", "source": "test", "severity": "error"}});
        let sent = reqwest::Client::new()
            .post(format!("{}/v2/enqueue", emu.base_url()))
            .json(&event)
            .send()
            .await
            .unwrap();
        assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
        emu.with_db(|db| db.incidents.len())
    };
    assert_eq!(
        trigger().await,
        0,
        "a service in maintenance opened an incident"
    );
    delete_and_check(&pd, "pagerduty.maintenance_window", &maintenance).await;
    assert_eq!(trigger().await, 1, "the window did not end");
    let no_from = PagerDutyProvider::with_config(&PagerDutyConfig {
        token: TOKEN.into(),
        api_url: emu.base_url(),
        events_url: emu.base_url(),
        from_email: None,
    })
    .unwrap();
    let p = props(window("no user"));
    let refused = no_from
        .create(&desired("pagerduty.maintenance_window", "w", &p, &assets))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("PAGERDUTY_FROM_EMAIL"),
        "{}",
        refused.message
    );

    // Event orchestration: a rule by the alert's content sets its severity
    // (a severity-based service's urgency follows), another suppresses it, a
    // third routes to a second set; disabled rules are skipped; bad PCL is
    // refused by PagerDuty with 400.
    let service_id = service.outputs["id"].clone();
    let set = |id: &str, rules: Value| json!({"id": id, "rules": rules});
    let rule = |label: &str, condition: &str, actions: Value| json!({"label": label, "conditions": [condition], "actions": actions, "disabled": null});
    let none = json!({"route_to": null, "suppress": null, "suspend": null, "severity": null,
                      "event_action": null, "priority": null, "annotate": null});
    let with = |fields: Value| {
        let mut a = none.clone();
        for (k, v) in fields.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };
    let first = json!({"service": service_id, "enable_event_orchestration_for_service": null,
        "sets": [set("start", json!([
            rule("deploys are noise", "event.summary matches part 'deploy'", with(json!({"suppress": true}))),
            rule("payments", "event.custom_details.team matches 'payments'", with(json!({"route_to": "payments"}))),
        ])), set("payments", json!([
            rule("warnings wait", "event.severity matches regex '^(warning|info)$'", with(json!({"severity": "info"}))),
        ]))],
        "catch_all": null});
    let mut second = first.clone();
    second["catch_all"] = with(json!({"severity": "warning"}));
    let orchestration =
        lifecycle(&pd, "pagerduty.event_orchestration_service", first, second).await;
    assert_eq!(orchestration.id, service_id);
    let send = |summary: &'static str, severity: &'static str, team: &'static str| {
        let base = emu.base_url();
        let key = key.clone();
        async move {
            let event = json!({"routing_key": key, "event_action": "trigger",
                "payload": {"summary": summary, "source": "test", "severity": severity,
                            "custom_details": {"team": team}}});
            let sent = reqwest::Client::new()
                .post(format!("{base}/v2/enqueue"))
                .json(&event)
                .send()
                .await
                .unwrap();
            assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
        }
    };
    let before = emu.with_db(|db| db.incidents.len());
    send("deploy started", "critical", "payments").await;
    assert_eq!(
        emu.with_db(|db| db.incidents.len()),
        before,
        "a suppressed alert opened an incident"
    );
    assert_eq!(emu.with_db(|db| db.suppressed_alerts.len()), 1);
    send("card declined", "warning", "payments").await;
    send("disk full", "critical", "storage").await;
    let urgencies = emu.with_db(|db| {
        db.incidents
            .values()
            .filter(|i| i["title"] == "card declined" || i["title"] == "disk full")
            .map(|i| {
                (
                    i["title"].as_str().unwrap().to_owned(),
                    i["urgency"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<BTreeMap<_, _>>()
    });
    // The service's urgency is severity-based only if declared so; the
    // incidents exist either way, one per unsuppressed alert.
    assert_eq!(urgencies.len(), 2, "{urgencies:?}");
    let bad = props(json!({"service": service_id, "sets": [set("start", json!([
        rule("bad", "event.summary is 'x'", none.clone())]))]}));
    let refused = pd
        .create(&desired(
            "pagerduty.event_orchestration_service",
            "o",
            &bad,
            &assets,
        ))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("400") || refused.message.contains("Invalid condition"),
        "{}",
        refused.message
    );
    delete_and_check(&pd, "pagerduty.event_orchestration_service", &orchestration).await;
    let before = emu.with_db(|db| db.incidents.len());
    send("deploy again", "critical", "payments").await;
    assert_eq!(
        emu.with_db(|db| db.incidents.len()),
        before + 1,
        "the emptied orchestration still suppressed"
    );

    // Alert grouping: alerts with the same `custom_details.team` join the open
    // incident (teams no open incident has: the incidents above would take
    // them); it resolves with its last alert; removed, it groups nothing.
    let grouped = |grouping: Value| {
        json!({"name": "lambda-error", "escalation_policy": policy.outputs["id"],
               "auto_resolve_timeout": 14400, "alert_grouping": grouping})
    };
    let with_grouping = props(grouped(json!({"grouping_type": "content_based",
        "fields": ["custom_details.team"], "aggregate": "all", "timeout": null, "time_window": 3600})));
    let read = pd
        .read("pagerduty.service", &service)
        .await
        .unwrap()
        .unwrap();
    let updated = pd
        .update(
            &desired("pagerduty.service", "n", &with_grouping, &assets),
            &read,
            &["alert_grouping".into()],
        )
        .await
        .unwrap();
    let read = pd
        .read("pagerduty.service", &updated)
        .await
        .unwrap()
        .unwrap();
    assert_reads_back(&pd, "pagerduty.service", &with_grouping, &read);
    // PagerDuty's window is in seconds, 300 to 3600 (or 86400): 60 is refused.
    let too_short = props(grouped(json!({"grouping_type": "content_based",
        "fields": ["custom_details.team"], "time_window": 60})));
    let refused = pd
        .update(
            &desired("pagerduty.service", "n", &too_short, &assets),
            &read,
            &["alert_grouping".into()],
        )
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("time_window"),
        "{}",
        refused.message
    );
    let event = |action: &'static str, dedup: &'static str, team: &'static str| {
        let base = emu.base_url();
        let key = key.clone();
        async move {
            let event = json!({"routing_key": key, "event_action": action, "dedup_key": dedup,
                "payload": {"summary": format!("{dedup} failing"), "source": "test",
                            "severity": "error", "custom_details": {"team": team}}});
            let sent = reqwest::Client::new()
                .post(format!("{base}/v2/enqueue"))
                .json(&event)
                .send()
                .await
                .unwrap();
            assert!(sent.status().is_success(), "{}", sent.text().await.unwrap());
        }
    };
    let open = || {
        emu.with_db(|db| {
            db.incidents
                .values()
                .filter(|i| i["status"] != "resolved")
                .count()
        })
    };
    let before = open();
    event("trigger", "checkout", "grouped-payments").await;
    event("trigger", "refunds", "grouped-payments").await;
    event("trigger", "disk", "grouped-storage").await;
    assert_eq!(
        open(),
        before + 2,
        "the two payments alerts are one incident"
    );
    event("resolve", "checkout", "grouped-payments").await;
    assert_eq!(
        open(),
        before + 2,
        "an incident with an open alert stays open"
    );
    event("resolve", "refunds", "grouped-payments").await;
    assert_eq!(open(), before + 1);
    let without = props(grouped(Value::Null));
    let updated = pd
        .update(
            &desired("pagerduty.service", "n", &without, &assets),
            &read,
            &["alert_grouping".into()],
        )
        .await
        .unwrap();
    let read = pd
        .read("pagerduty.service", &updated)
        .await
        .unwrap()
        .unwrap();
    assert!(
        read.props.get("alert_grouping").is_none_or(Value::is_null),
        "{:?}",
        read.props
    );
    event("trigger", "checkout-2", "grouped-storage").await;
    assert_eq!(open(), before + 2, "grouping removed, yet the alert joined");

    // A webhook subscription: the service's incident events, signed with the
    // secret shown once; an update keeps the URL; found by URL and filter.
    let (hook_url, posts) = support::pagerduty::webhook_receiver().await;
    let hook = |events: Value, description: Value| {
        json!({"url": hook_url, "events": events, "filter_type": "service_reference",
               "filter_id": service.outputs["id"], "description": description, "active": null})
    };
    let second = hook(
        json!(["incident.resolved", "incident.triggered"]),
        Value::Null,
    );
    let subscription = lifecycle(
        &pd,
        "pagerduty.webhook_subscription",
        hook(json!(["incident.triggered"]), json!("chat")),
        second.clone(),
    )
    .await;
    assert!(
        subscription.props["description"].is_null(),
        "{:?}",
        subscription.props
    );
    assert_eq!(
        subscription.props["url"],
        hook_url.as_str(),
        "the URL is kept"
    );
    let found = pd
        .find(&desired(
            "pagerduty.webhook_subscription",
            "w",
            &props(second),
            &assets,
        ))
        .await
        .unwrap()
        .expect("found by url and filter");
    assert_eq!(found.resource.id, subscription.id);
    let secret = emu.with_db(|db| db.webhook_secrets[&subscription.id].clone());
    event("trigger", "webhook", "payments").await;
    let triggered = support::pagerduty::webhook_of(&posts, "incident.triggered")
        .await
        .expect("incident.triggered delivered");
    assert!(triggered.signed_with(&secret), "{triggered:?}");
    assert!(!triggered.signed_with("another secret"));
    assert_eq!(triggered.subscription, subscription.id);
    let incident = &triggered.event()["event"]["data"];
    assert_eq!(incident["service"]["id"], service.outputs["id"]);
    assert_eq!(incident["status"], "triggered");
    event("resolve", "webhook", "payments").await;
    let resolved = support::pagerduty::webhook_of(&posts, "incident.resolved")
        .await
        .expect("incident.resolved delivered");
    assert_eq!(resolved.event()["event"]["data"]["id"], incident["id"]);
    // Deliveries leave in order: everything sent before `resolved` is here.
    let sent: Vec<Value> = posts.lock().unwrap().iter().map(|p| p.event()).collect();
    assert_eq!(sent.len(), 2, "only the events it asked for: {sent:#?}");
    delete_and_check(&pd, "pagerduty.webhook_subscription", &subscription).await;

    // Tags: a label, on a team; a label change replaces the tag (no update).
    let tag = lookup(&pd, "pagerduty.tag", json!({"label": "tier-1"})).await;
    let read = pd
        .read("pagerduty.tag", &tag)
        .await
        .unwrap()
        .expect("tag exists");
    assert_eq!(read.props["label"], "tier-1");
    let taken = props(json!({"label": "tier-1"}));
    let found = pd
        .find(&desired("pagerduty.tag", "t", &taken, &assets))
        .await
        .unwrap()
        .expect("found by label");
    assert_eq!(found.resource.id, tag.id);
    let assignment_props =
        json!({"tag": tag.outputs["id"], "entity_type": "teams", "entity": team_id});
    let assignment = lookup(&pd, "pagerduty.tag_assignment", assignment_props.clone()).await;
    assert_eq!(
        assignment.id,
        format!("teams.{team_id}.{}", tag.outputs["id"])
    );
    let read = pd
        .read("pagerduty.tag_assignment", &assignment)
        .await
        .unwrap()
        .expect("assigned");
    assert_reads_back(
        &pd,
        "pagerduty.tag_assignment",
        &props(assignment_props),
        &read,
    );
    delete_and_check(&pd, "pagerduty.tag_assignment", &assignment).await;
    delete_and_check(&pd, "pagerduty.tag", &tag).await;

    // Delete in dependency order; each read after is None.
    delete_and_check(&pd, "pagerduty.service_integration", &integration).await;
    delete_and_check(&pd, "pagerduty.service_dependency", &dependency).await;
    delete_and_check(&pd, "pagerduty.service", &service).await;
    delete_and_check(&pd, "pagerduty.escalation_policy", &policy).await;
    delete_and_check(&pd, "pagerduty.schedule", &schedule).await;
    delete_and_check(&pd, "pagerduty.business_service", &business).await;
    delete_and_check(&pd, "pagerduty.team_membership", &membership).await;
    delete_and_check(&pd, "pagerduty.team", &team).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_seen_by_read() {
    let emu = emulator(Config::default()).await;
    let pd = provider_for(&emu);
    let assets = BTreeMap::new();
    let p = props(json!({"name": "sre"}));
    let team = pd
        .create(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap();
    emu.with_db(|db| {
        let t = db
            .objects
            .get_mut("teams")
            .unwrap()
            .get_mut(&team.id)
            .unwrap();
        t["name"] = json!("changed by hand");
    });
    let read = pd.read("pagerduty.team", &team).await.unwrap().unwrap();
    assert_eq!(read.props["name"], "changed by hand");
    emu.with_db(|db| db.objects.get_mut("teams").unwrap().remove(&team.id));
    assert!(pd.read("pagerduty.team", &team).await.unwrap().is_none());
}

/// A listing past what offset pagination reaches (10,000) is an error that says
/// so, never a list silently cut short (a lookup would then miss what exists).
#[tokio::test(flavor = "multi_thread")]
async fn a_list_past_ten_thousand_is_refused_not_cut() {
    let emu = emulator(Config::default()).await;
    emu.with_db(|db| {
        for i in 0..10_050 {
            let id = db.id();
            db.insert(
                "vendors",
                json!({"id": id, "type": "vendor", "name": format!("Vendor {i:05}")}),
            );
        }
    });
    let pd = provider_for(&emu);
    let p = props(json!({"vendor_name": "Nowhere"}));
    let assets = BTreeMap::new();
    let err = pd
        .create(&desired("pagerduty.vendor", "v", &p, &assets))
        .await
        .unwrap_err();
    assert!(
        err.message.contains("has more than 10000 results") && err.class == ErrorClass::Invalid,
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_explain_none_and_near_misses() {
    let emu = emulator(Config {
        users: vec![
            ("A".into(), "dup@example.com".into()),
            ("B".into(), "DUP@example.com".into()),
            ("C".into(), "one@example.com".into()),
        ],
        ..Config::default()
    })
    .await;
    let pd = provider_for(&emu);
    let assets = BTreeMap::new();
    let try_lookup = |kind: &'static str, p: Value| {
        let pd = &pd;
        let assets = &assets;
        async move {
            let p = props(p);
            pd.create(&desired(kind, "who", &p, assets)).await
        }
    };
    let one = try_lookup("pagerduty.user", json!({"email": "One@Example.com"}))
        .await
        .unwrap();
    assert_eq!(one.outputs["name"], "C");
    let none = try_lookup("pagerduty.user", json!({"email": "nobody@example.com"}))
        .await
        .unwrap_err();
    assert_eq!(none.class, ErrorClass::NotFound);
    assert!(
        none.message.contains("who (pagerduty.user)")
            && none.message.contains("nobody@example.com"),
        "{none}"
    );
    let several = try_lookup("pagerduty.user", json!({"email": "dup@example.com"}))
        .await
        .unwrap_err();
    assert!(several.message.contains("2 PagerDuty users"), "{several}");
    let vendor = try_lookup(
        "pagerduty.vendor",
        json!({"vendor_name": "Amazon Cloudwatch"}),
    )
    .await
    .unwrap_err();
    assert!(
        vendor.message.contains("closest: \"Amazon CloudWatch\""),
        "{vendor}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_server_errors_are_ridden_out() {
    let emu = emulator(Config {
        rate_limit_per_minute: Some(3),
        rate_window: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let pd = provider_for(&emu);
    let assets = BTreeMap::new();
    let started = Instant::now();
    for i in 0..6 {
        let p = props(json!({"name": format!("team-{i}")}));
        pd.create(&desired("pagerduty.team", "t", &p, &assets))
            .await
            .unwrap();
    }
    // The shared budget learned the limit from the first answer and waited for
    // each reset instead of drawing 429s.
    assert_eq!(emu.rest_counts(), (6, 0));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the reset was honoured"
    );

    // Another process spent the window: the 429 is ridden out after its reset.
    let emu = emulator(Config {
        rate_limit_per_minute: Some(2),
        rate_window: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    let http = reqwest::Client::new();
    for _ in 0..2 {
        http.get(format!("{}/teams", emu.base_url()))
            .header("Authorization", format!("Token token={TOKEN}"))
            .send()
            .await
            .unwrap();
    }
    let pd = provider_for(&emu);
    let p = props(json!({"name": "after-someone-else"}));
    pd.create(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap();
    assert!(emu.rest_counts().1 >= 1, "a 429 was drawn and retried");

    let emu = emulator(Config {
        fail_rate: 0.5,
        ..Config::default()
    })
    .await;
    let pd = provider_for(&emu);
    // Reads (GET) are retried through 500s.
    for _ in 0..5 {
        lookup(&pd, "pagerduty.user", json!({"email": "user1@example.com"})).await;
    }
    assert!(emu.request_count() > 5, "some 500s were retried");

    // A 4xx that will not change is not retried.
    let emu = emulator(Config::default()).await;
    let pd = provider_for(&emu);
    let p = props(json!({"name": ""}));
    let e = pd
        .create(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Invalid);
    assert_eq!(emu.request_count(), 1);
    assert!(
        e.message
            .contains("t (pagerduty.team): PagerDuty 400: Invalid Input Provided"),
        "{e}"
    );
    assert!(e.message.contains("Name cannot be empty."), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_appear_in_errors() {
    let emu = emulator(Config::default()).await;
    let wrong = "wrong-token-d41d8cd9";
    let pd = provider_with_token(&emu, wrong);
    let assets = BTreeMap::new();
    let p = props(json!({"name": "sre"}));
    let e = pd
        .create(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Auth);
    assert!(e.message.contains("401"), "{e}");
    assert!(
        !e.message.contains(wrong) && !e.message.contains(TOKEN),
        "{e}"
    );
    assert!(!format!("{e:?}").contains(wrong));
}

/// A create (POST) answered 500 or cut off after it was carried out is never
/// re-sent blind: the provider answers `Ambiguous` after one request, and the
/// object did land.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_that_may_have_landed_is_never_resent() {
    let emu = emulator(Config {
        ambiguous_rate: 1.0,
        ..Config::strict()
    })
    .await;
    let pd = provider_for(&emu);
    let assets = BTreeMap::new();
    let p = props(json!({"name": "maybe"}));
    let e = pd
        .create(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Ambiguous, "{e}");
    assert!(e.message.contains("may have been carried out"), "{e}");
    assert_eq!(emu.request_count(), 1, "the POST was sent once");
    let teams = emu.with_db(|db| db.list("teams").len());
    assert_eq!(teams, 1, "the create landed");
    // The engine's next step, `find`, sees it.
    let found = pd
        .find(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap();
    assert!(found.is_some());
}

/// PagerDuty's unique names answer 400 "Name has already been taken": a
/// `Conflict`, so the engine adopts instead of failing.
#[tokio::test(flavor = "multi_thread")]
async fn a_taken_name_is_a_conflict() {
    let emu = emulator(Config::strict()).await;
    let pd = provider_for(&emu);
    let assets = BTreeMap::new();
    let p = props(json!({"name": "unique"}));
    pd.create(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap();
    let e = pd
        .create(&desired("pagerduty.team", "t", &p, &assets))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert!(e.message.contains("Name has already been taken"), "{e}");
}
