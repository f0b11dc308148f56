//! The seed guest in each language builds to a component that declares the very
//! same graph: `blueprint graph --format json` is byte-identical for the Rust,
//! Python and TypeScript guests, for the seed's params and for a `services` list of
//! several different entries; their errors read the same.

use crate::support;

use std::path::Path;
use std::process::Command;

/// The seed blueprint, with its guest swapped, in `dir` (with the handler).
fn seed_with_guest(dir: &Path, guest: &Path) -> std::path::PathBuf {
    let root = support::root();
    support::copy_handler(dir, "lambda-error-pagerduty-handler");
    let seed =
        std::fs::read_to_string(root.join("blueprints/lambda-error-pagerduty.toml")).unwrap();
    let text = seed.replace(
        "path = \"../target/wasm32-wasip2/guest/lambda_error_pagerduty.wasm\"",
        &format!("path = {:?}", guest.display().to_string()),
    );
    assert_ne!(text, seed);
    let file = dir.join("seed.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn graph(file: &Path, sets: &[&str]) -> Vec<u8> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blueprint"));
    command
        .args(["graph", file.to_str().unwrap(), "--format", "json"])
        .env(
            "BLUEPRINT_CACHE_DIR",
            support::root().join("target/test-wasm-cache"),
        );
    for set in sets {
        command.args(["--set", set]);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const SERVICES: &str = r#"services=[
  {"name": "checkout", "function_name": "checkout-fn", "code_via": "direct", "alarm_threshold": 2.5,
   "alarm_ok_action": true, "alarm_treat_missing_data": "notBreaching", "log_retention_days": 14},
  {"name": "billing", "function_name": "billing-fn", "log_pattern": "?ERROR ?\"Task timed out\"",
   "alarm_period_seconds": 60},
  {"name": "search", "function_name": "search-fn", "runtime": "python3.13", "handler": "app.handler",
   "alarm_evaluation_periods": 3}
]"#;

#[test]
fn every_language_declares_the_same_graph() {
    let dir = tempfile::tempdir().unwrap();
    let languages = [
        ("rust", "lambda-error-pagerduty"),
        ("python", "lambda-error-pagerduty-py"),
        ("typescript", "lambda-error-pagerduty-ts"),
    ];
    let files: Vec<_> = languages
        .iter()
        .map(|(language, guest)| {
            let folder = dir.path().join(language);
            std::fs::create_dir_all(&folder).unwrap();
            (*language, seed_with_guest(&folder, &support::guest(guest)))
        })
        .collect();
    for sets in [
        &[][..],
        &[SERVICES][..],
        &["users=[\"a@example.com\"]", "team_role=observer"][..],
    ] {
        let (_, reference_file) = &files[0];
        let reference = graph(reference_file, sets);
        assert!(reference.len() > 1000, "a real graph");
        for (language, file) in &files[1..] {
            let other = graph(file, sets);
            assert!(
                other == reference,
                "{language} differs from rust for {sets:?}:\n{}\n---\n{}",
                String::from_utf8_lossy(&other),
                String::from_utf8_lossy(&reference)
            );
        }
    }
}

/// `blueprint dev FILE --once`: the graph with the guest run from its source by
/// the language runtime (development mode).
fn dev_graph(file: &Path, sets: &[&str]) -> Vec<u8> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_blueprint"));
    command.args(["dev", file.to_str().unwrap(), "--once"]).env(
        "BLUEPRINT_CACHE_DIR",
        support::root().join("target/test-wasm-cache"),
    );
    for set in sets {
        command.args(["--set", set]);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn development_mode_declares_the_same_graph() {
    let dir = tempfile::tempdir().unwrap();
    let root = support::root();
    let rust_folder = dir.path().join("rust");
    std::fs::create_dir_all(&rust_folder).unwrap();
    let rust = seed_with_guest(&rust_folder, &support::guest("lambda-error-pagerduty"));
    // The TypeScript and Python seeds run from source: `[dev] source`.
    let sources = [
        ("typescript", "guests/lambda-error-pagerduty-ts/src/app.ts"),
        ("python", "guests/lambda-error-pagerduty-py/app.py"),
    ];
    let files: Vec<_> = sources
        .iter()
        .map(|(language, source)| {
            let folder = dir.path().join(language);
            std::fs::create_dir_all(&folder).unwrap();
            let file = seed_with_guest(&folder, Path::new("never-built.wasm"));
            let mut text = std::fs::read_to_string(&file).unwrap();
            text.push_str(&format!(
                "\n[dev]\nsource = {:?}\n",
                root.join(source).display().to_string()
            ));
            std::fs::write(&file, text).unwrap();
            (*language, file)
        })
        .collect();
    for sets in [&[][..], &[SERVICES][..]] {
        let reference = graph(&rust, sets);
        for (language, file) in &files {
            let other = dev_graph(file, sets);
            assert!(
                other == reference,
                "{language} (development mode) differs from rust for {sets:?}:\n{}\n---\n{}",
                String::from_utf8_lossy(&other),
                String::from_utf8_lossy(&reference)
            );
        }
    }
    // The guest's own errors come through the runtime unchanged.
    for (_, file) in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
            .args(["dev", file.to_str().unwrap(), "--once"])
            .args(["--set", "services.0.code_via=ftp"])
            .env("BLUEPRINT_CACHE_DIR", root.join("target/test-wasm-cache"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("code_via must be s3 or direct, not \"ftp\""),
            "{err}"
        );
    }
}

#[test]
fn guest_errors_read_the_same_in_every_language() {
    for guest in ["lambda-error-pagerduty-py", "lambda-error-pagerduty-ts"] {
        errors_of(guest);
    }
}

fn errors_of(guest: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = seed_with_guest(dir.path(), &support::guest(guest));
    let err = failing_graph(&file, "services.0.code_via=ftp");
    assert!(
        err.contains("code_via must be s3 or direct, not \"ftp\""),
        "{err}"
    );
    // Params are checked against the guest's own schema.
    let err = failing_graph(&file, "schedule.rotation_turn_length_seconds=\"hourly\"");
    assert!(err.contains("rotation_turn_length_seconds"), "{err}");
}

/// `blueprint graph FILE --set SET`, which must exit 1; its stderr.
fn failing_graph(file: &Path, set: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(["graph", file.to_str().unwrap(), "--set", set])
        .env(
            "BLUEPRINT_CACHE_DIR",
            support::root().join("target/test-wasm-cache"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}
