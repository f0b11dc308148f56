//! Test fixture: a guest that misbehaves in the way its `mode` param asks, so the
//! host's sandbox and validation can be tested against the real thing.

use blueprint_sdk::host;
use blueprint_sdk::pagerduty as pd;
use blueprint_sdk::prelude::*;

#[derive(Deserialize, Serialize, JsonSchema, Default)]
#[serde(default)]
struct Params {
    /// What to do wrong.
    mode: String,
    /// How many nodes the sized modes declare.
    count: u32,
    /// How many references (or bytes) each node of the sized modes carries.
    size: u32,
    /// The asset path of the `asset` mode.
    path: String,
}

/// A small xorshift generator: the `fuzz` mode's declarations follow from its
/// seed, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    /// Text from pieces a hostile guest would use: controls, bidi overrides,
    /// token delimiters, forged tokens, quotes, long runs.
    fn text(&mut self, names: &[String]) -> String {
        let mut out = String::new();
        for _ in 0..self.below(6) {
            match self.below(10) {
                0 => out.push_str(self.pick(&["\0", "\u{1b}[2J", "\r", "\n", "\u{7f}", "\u{9b}"])),
                1 => out.push_str(self.pick(&["\u{202e}", "\u{2066}", "\u{200b}", "\u{feff}"])),
                2 => out.push_str(self.pick(&["\u{E000}", "\u{E001}", "\u{E002}"])),
                3 if !names.is_empty() => {
                    let node = &names[self.below(names.len())];
                    let output = self.pick(&["id", "arn", "nope", ""]);
                    out.push_str(&forged(node, output));
                }
                4 => out.push_str(&"x".repeat(self.below(5000))),
                5 => out.push_str("\"}{[,:"),
                _ => out.push_str(self.pick(&["a", "team-1", "user@example.com", "é", "${x}"])),
            }
        }
        out
    }
}

/// A token made by hand, as only a buggy or hostile guest would.
fn forged(node: &str, output: &str) -> String {
    format!("\u{E000}{node}\u{E001}{output}\u{E002}")
}

fn team(name: &str, parent: Option<String>) {
    pd::team(
        name,
        &pd::TeamProps {
            name: name.into(),
            description: None,
            parent,
        },
    );
}

struct Hostile;

impl Blueprint for Hostile {
    type Params = Params;

    fn info() -> Info {
        Info::new("hostile", "0.0.0", "Misbehaves on purpose (test fixture).")
    }

    fn run(p: Params) -> Result<(), String> {
        match p.mode.as_str() {
            "ok" => team("a", None),
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panic" => panic!("the guest gave up on purpose"),
            "stack" => {
                #[allow(unconditional_recursion)]
                fn deeper(n: u64) -> u64 {
                    std::hint::black_box(deeper(n + 1)) + 1
                }
                std::hint::black_box(deeper(0));
            }
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(3600)),
            "error" => return Err("the guest refused on purpose".into()),
            "cycle" => {
                team("a", Some(forged("b", "id")));
                team("b", Some(forged("c", "id")));
                team("c", Some(forged("a", "id")));
            }
            "self-reference" => team("a", Some(forged("a", "id"))),
            "dangling" => team("a", Some(forged("ghost", "id"))),
            "unknown-output" => {
                team("a", None);
                team("b", Some(forged("a", "arn")));
            }
            "malformed" => {
                let token = forged("a", "id");
                team("a", None);
                team("b", Some(token.chars().take(2).collect()));
            }
            "duplicate" => {
                team("a", None);
                team("a", None);
            }
            "unknown-kind" => host::declare("pagerduty.pager", "p", "{}"),
            "bad-raw-props" => host::declare("pagerduty.team", "t", r#"{"nam": "x"}"#),
            "wrong-kind" => {
                team("a", None);
                let ep = pd::escalation_policy(
                    "ep",
                    &pd::EscalationPolicyProps {
                        name: "ep".into(),
                        description: None,
                        num_loops: None,
                        rules: vec![pd::EscalationRule {
                            escalation_delay_in_minutes: 5,
                            targets: vec![pd::EscalationTarget {
                                target_type: "schedule_reference".into(),
                                id: forged("a", "id"),
                            }],
                        }],
                        teams: None,
                    },
                );
                pd::service(
                    "svc",
                    &pd::ServiceProps {
                        name: "svc".into(),
                        description: None,
                        escalation_policy: forged("a", "id"),
                        acknowledgement_timeout: None,
                        auto_resolve_timeout: None,
                        alert_creation: None,
                        urgency: None,
                        support_hours: None,
                        urgency_during_support_hours: None,
                        urgency_outside_support_hours: None,
                        raise_urgency_at_support_hours_start: None,
                        alert_grouping: None,
                    },
                );
                let _ = ep;
            }
            "bad-values" => {
                let user = pd::user(
                    "u",
                    &pd::UserLookup {
                        email: "u@example.com".into(),
                    },
                );
                pd::schedule(
                    "s",
                    &pd::ScheduleProps {
                        name: "s".into(),
                        time_zone: "Mars/Olympus".into(),
                        description: None,
                        layers: vec![pd::ScheduleLayer {
                            name: "l".into(),
                            start: "yesterday".into(),
                            end: None,
                            rotation_virtual_start: "2023-09-16T00:00:00+09:00".into(),
                            rotation_turn_length_seconds: 0,
                            users: vec![user.id],
                            restrictions: None,
                        }],
                        teams: None,
                    },
                );
                pd::team(
                    "empty",
                    &pd::TeamProps {
                        name: String::new(),
                        description: None,
                        parent: None,
                    },
                );
            }
            "probe" => {
                // Everything ambient the guest might try to reach; the host must
                // give it nothing.
                let env = std::env::vars().count();
                let args = std::env::args().count();
                let fs = match std::fs::read_to_string("/etc/passwd") {
                    Ok(_) => "read".to_owned(),
                    Err(e) => format!("denied: {e}"),
                };
                let dir = std::fs::read_dir(".")
                    .map(|d| d.count())
                    .map_err(|e| e.to_string());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(u64::MAX);
                let net = std::net::TcpStream::connect("127.0.0.1:9")
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let asset_escape = blueprint_sdk::asset("../../../../etc/passwd").map(|a| a.id);
                let report = serde_json::json!({
                    "env": env, "args": args, "fs": fs, "dir": format!("{dir:?}"),
                    "now": now, "net": format!("{net:?}"), "asset_escape": format!("{asset_escape:?}"),
                });
                pd::team(
                    "probe",
                    &pd::TeamProps {
                        name: "probe".into(),
                        description: Some(report.to_string()),
                        parent: None,
                    },
                );
            }
            "many-nodes" => {
                for i in 0..200_000 {
                    team(&format!("t{i}"), None);
                }
            }
            "log-flood" => {
                for i in 0..100_000 {
                    blueprint_sdk::log(LogLevel::Info, format!("line {i}"));
                }
                team("a", None);
            }
            // `count` teams, each description naming the `size` teams before it
            // (a web of references), each parent the team before: the work the
            // host does for references grows with their number.
            "ref-web" => {
                let mut ids: Vec<String> = Vec::new();
                for i in 0..p.count as usize {
                    let from = i.saturating_sub(p.size as usize);
                    let description: String = ids[from..i].concat();
                    let t = pd::team(
                        &format!("t{i}"),
                        &pd::TeamProps {
                            name: format!("t{i}"),
                            description: Some(description),
                            parent: ids.last().cloned(),
                        },
                    );
                    ids.push(t.id);
                }
            }
            // One team whose description is `size` bytes long.
            "long-string" => {
                pd::team(
                    "a",
                    &pd::TeamProps {
                        name: "a".into(),
                        description: Some("x".repeat(p.size as usize)),
                        parent: None,
                    },
                );
            }
            // `count` teams, each with a description of `size` bytes.
            "prop-bytes" => {
                for i in 0..p.count {
                    pd::team(
                        &format!("t{i}"),
                        &pd::TeamProps {
                            name: format!("t{i}"),
                            description: Some("x".repeat(p.size as usize)),
                            parent: None,
                        },
                    );
                }
            }
            // Names no terminal should see raw, and one of 1 MB.
            "bad-names" => {
                let long = "n".repeat(1 << 20);
                for name in [
                    "evil\u{1b}[2K\u{1b}[1Agone",
                    "rtl\u{202e}txt.exe",
                    "nul\0byte",
                    "has space",
                    long.as_str(),
                ] {
                    team(name, None);
                }
            }
            // NUL and escape bytes in the text props of each PagerDuty kind
            // and in a log pattern.
            "nul-text" => {
                let bad = |s: &str| format!("{s}\0\u{1b}[31m");
                let t = pd::team(
                    "team",
                    &pd::TeamProps {
                        name: bad("team"),
                        description: None,
                        parent: None,
                    },
                );
                pd::business_service(
                    "business",
                    &pd::BusinessServiceProps {
                        name: bad("business"),
                        description: None,
                        point_of_contact: None,
                        team: Some(t.id.clone()),
                    },
                );
                let _ = t;
                let group = blueprint_sdk::aws::cloudwatch_log_group(
                    "logs",
                    &blueprint_sdk::aws::CloudwatchLogGroupProps {
                        name: "/aws/lambda/x".into(),
                        retention_in_days: Some(7),
                        tags: None,
                    },
                );
                blueprint_sdk::aws::cloudwatch_log_metric_filter(
                    "filter",
                    &blueprint_sdk::aws::CloudwatchLogMetricFilterProps {
                        name: "filter".into(),
                        log_group: group.name,
                        pattern: bad("ERROR"),
                        metric_transformation: blueprint_sdk::aws::MetricTransformation {
                            metric_name: "errors".into(),
                            metric_namespace: "x".into(),
                            metric_value: "1".into(),
                            default_value: None,
                        },
                    },
                );
            }
            // An asset at `path` (a FIFO, in the tests).
            "asset" => {
                blueprint_sdk::asset(&p.path)?;
            }
            // Invalid declarations in a loop: each is a problem the host holds.
            "bad-name-loop" => {
                for i in 0..1_000_000 {
                    team(&format!("bad name {i}"), None);
                }
            }
            // One log line of `size` bytes.
            "long-log" => blueprint_sdk::log(LogLevel::Info, "y".repeat(p.size as usize)),
            // `size` random declarations through the escape hatch, from seed
            // `count`: names, kinds and props a fuzzer would try.
            "fuzz" => {
                let mut rng = Rng(u64::from(p.count) * 2_654_435_761 + 1);
                let mut names: Vec<String> = Vec::new();
                for _ in 0..p.size {
                    let name = if rng.below(3) == 0 {
                        rng.text(&names)
                    } else {
                        format!("n{}", rng.below(50))
                    };
                    let kind = rng.pick(&[
                        "pagerduty.team",
                        "pagerduty.business_service",
                        "aws.sns_topic",
                        "aws.cloudwatch_log_group",
                        "pagerduty.nope",
                    ]);
                    let mut props = serde_json::Map::new();
                    for key in [
                        "name",
                        "description",
                        "parent",
                        "team",
                        "retention_in_days",
                        "x",
                    ] {
                        if rng.below(2) == 0 {
                            let value = match rng.below(4) {
                                0 => serde_json::Value::from(rng.text(&names)),
                                1 => serde_json::Value::from(rng.next() as i64),
                                2 => serde_json::Value::Null,
                                _ => serde_json::json!([rng.text(&names), {"k": rng.text(&names)}]),
                            };
                            props.insert(key.into(), value);
                        }
                    }
                    host::declare(kind, &name, &serde_json::Value::Object(props).to_string());
                    names.push(name);
                    if rng.below(10) == 0 {
                        blueprint_sdk::log(LogLevel::Warn, rng.text(&names));
                    }
                }
            }
            other => return Err(format!("unknown mode {other:?}")),
        }
        Ok(())
    }
}

blueprint_sdk::blueprint!(Hostile);
