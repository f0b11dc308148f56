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
            other => return Err(format!("unknown mode {other:?}")),
        }
        Ok(())
    }
}

blueprint_sdk::blueprint!(Hostile);
