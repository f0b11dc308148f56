//! Test fixture: a policy (`blueprint:policy`) that misbehaves in the way the
//! blueprint's name asks, so the sandbox can be tested against the policy world
//! as it is against blueprint guests (tests/sandbox.rs).

wit_bindgen::generate!({
    world: "policy-guest",
    path: "../../../wit/policy",
});

use exports::blueprint::policy::policy::{Finding, Graph, Guest, PolicyInfo, Rule, Severity};

struct Hostile;

impl Guest for Hostile {
    fn info() -> PolicyInfo {
        PolicyInfo {
            name: "hostile-policy".into(),
            version: "0.0.0".into(),
            description: "Misbehaves on purpose (test fixture).".into(),
        }
    }

    fn rules() -> Vec<Rule> {
        vec![Rule {
            id: "hostile-rule".into(),
            severity: Severity::Warning,
            why: "a test fixture".into(),
        }]
    }

    fn check(graph: Graph) -> Result<Vec<Finding>, String> {
        let first = graph
            .nodes
            .first()
            .map(|n| n.id.clone())
            .unwrap_or_default();
        match graph.blueprint.as_str() {
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
            "panic" => panic!("the policy gave up on purpose"),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(Vec::new())
            }
            "error" => Err("the policy refused on purpose".into()),
            "undeclared-rule" => Ok(vec![Finding {
                rule: "not-in-rules".into(),
                severity: Severity::Error,
                node: first,
                message: "x".into(),
                fix: "x".into(),
            }]),
            "unknown-node" => Ok(vec![Finding {
                rule: "hostile-rule".into(),
                severity: Severity::Warning,
                node: "no-such-node".into(),
                message: "x".into(),
                fix: "x".into(),
            }]),
            "env" => {
                // Nothing ambient: no environment, no files, a frozen clock.
                let env = std::env::vars().count();
                let files = std::fs::read_dir("/").map(|d| d.count()).unwrap_or(0);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Ok(vec![Finding {
                    rule: "hostile-rule".into(),
                    severity: Severity::Warning,
                    node: first,
                    message: format!("env={env} files={files} now={now}"),
                    fix: "none".into(),
                }])
            }
            _ => Ok(Vec::new()),
        }
    }
}

export!(Hostile);
