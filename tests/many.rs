//! `blueprint run DIR` over 20 blueprint files (one team each) against moto and
//! the PagerDuty emulator with its rate limit on: all succeed, none draws a 429
//! (the shared budget paces them), and the request rate achieved against the
//! limit is printed (`--nocapture`; scripts/bench-many.py records it). A failing
//! blueprint does not stop the others.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use pagerduty_emulator::Config;
use support::world::{World, text};

/// Blueprint files for `teams` teams in `dir` (sharing the handler folder).
fn write_blueprints(dir: &Path, teams: usize) {
    support::copy_handler(dir, "handler");
    let guest = support::guest("lambda-error-pagerduty");
    for i in 0..teams {
        let text = format!(
            r#"name = "team-{i:02}"
[guest]
path = {guest:?}
[params]
team_name = "Team {i:02}"
business_service_name = "Business {i:02}"
bucket_name = "team-{i:02}-assets"
[params.schedule]
name = "Team {i:02} rotation"
[params.escalation]
name = "Team {i:02} policy"
[[params.services]]
name = "svc-{i:02}"
function_name = "fn-{i:02}"
code_path = "handler"
[providers.aws]
region = "ap-northeast-1"
"#
        );
        std::fs::write(dir.join(format!("team-{i:02}.toml")), text).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_blueprints_share_one_pagerduty_budget() {
    // Tight enough that the run spans several windows.
    const LIMIT: u32 = 40;
    const WINDOW: Duration = Duration::from_secs(4);
    let w = World::with(Config {
        rate_limit_per_minute: Some(LIMIT),
        rate_window: WINDOW,
        ..Config::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    write_blueprints(dir.path(), 20);
    let started = Instant::now();
    let out = w
        .blueprint_without_state(&["run", dir.path().to_str().unwrap(), "--yes"])
        .await;
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Summary: 20 blueprints, 20 ok, 0 failed"),
        "{}",
        text(&out)
    );
    assert_eq!(w.count("teams"), 20);
    assert_eq!(w.count("services"), 20);
    let (requests, limited) = w.emulator.rest_counts();
    assert_eq!(limited, 0, "the budget kept every request under the limit");
    // The limit alone forces this much time on that many requests (each full
    // window of LIMIT requests costs WINDOW); how close the run came to it is the
    // share of the allowed rate the shared budget achieved.
    let bound = WINDOW.as_secs_f64() * ((requests - 1) / u64::from(LIMIT)) as f64;
    eprintln!(
        "many: 20 blueprints, {requests} PagerDuty requests in {:.1} s under a limit of {LIMIT} per {} s; the limit alone needs {bound:.1} s: {:.0}% of the allowed rate; {limited} answered 429",
        elapsed.as_secs_f64(),
        WINDOW.as_secs(),
        100.0 * bound / elapsed.as_secs_f64()
    );

    // A second run: no changes anywhere.
    let out = w
        .blueprint_without_state(&["run", dir.path().to_str().unwrap(), "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.count("teams"), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_blueprint_does_not_stop_the_others() {
    let w = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    write_blueprints(dir.path(), 3);
    // team-01 names a PagerDuty user that does not exist.
    let broken = dir.path().join("team-01.toml");
    let text_1 = std::fs::read_to_string(&broken)
        .unwrap()
        .replace("[params]\n", "[params]\nusers = [\"nobody@example.com\"]\n");
    std::fs::write(&broken, text_1).unwrap();
    let out = w
        .blueprint_without_state(&["run", dir.path().to_str().unwrap(), "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("Summary: 3 blueprints, 2 ok, 1 failed"),
        "{shown}"
    );
    assert!(shown.contains("FAILED  team-01"), "{shown}");
    assert!(shown.contains("no PagerDuty user"), "{shown}");
    assert!(shown.contains("nobody@example.com"), "{shown}");
    assert_eq!(w.count("teams"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blueprint_that_dropped_a_provider_still_deletes_its_resources() {
    let w = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    write_blueprints(dir.path(), 2);
    let out = w
        .blueprint_without_state(&["run", dir.path().to_str().unwrap(), "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    // team-01 now declares one PagerDuty team and nothing of AWS: its state
    // still records the AWS resources, which must be refreshed and deleted. Its
    // provider settings differ from team-00's (one more key), so it gets clients
    // of its own: the AWS one only because its state needs it.
    let guest = support::guest("hostile-guest");
    std::fs::write(
        dir.path().join("team-01.toml"),
        format!(
            "name = \"team-01\"\n[guest]\npath = {:?}\n[params]\nmode = \"ok\"\n\
             [providers.aws]\nregion = \"ap-northeast-1\"\n[providers.pagerduty]\nregion = \"us\"\n",
            guest.display().to_string()
        ),
    )
    .unwrap();
    let out = w
        .blueprint_without_state(&["run", dir.path().to_str().unwrap(), "--yes"])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Summary: 2 blueprints, 2 ok, 0 failed"),
        "{}",
        text(&out)
    );
    let aws = blueprint::providers::aws::AwsProvider::with_config(&w.moto.sdk_config().await);
    let functions = aws.lambda.list_functions().send().await.unwrap();
    let names: Vec<&str> = functions
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(
        names,
        ["fn-00"],
        "team-01's function is gone, team-00's stays"
    );
    // team-00's team and team-01's new one; team-01's old team was deleted.
    assert_eq!(w.count("teams"), 2);
}
