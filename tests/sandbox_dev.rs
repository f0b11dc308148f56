//! Development mode keeps the sandbox exactly as strict: hostile JavaScript and
//! Python source, run by the prebuilt language runtimes (`blueprint dev`), ends in
//! the same error classes as a hostile component — an endless loop times out, a
//! memory bomb hits the limit, the filesystem and environment are not there — and
//! only a runtime loaded as one gets the source import.

use crate::support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use blueprint::dev::{Lang, runtimes};
use blueprint::runtime::{GuestError, GuestErrorKind, Runtime};
use serde_json::json;

const HOSTILE_JS: &str = r#"
const host = require("blueprint:cloud/host@0.2.0");
exports.blueprint = {
  info() { return { name: "hostile-js", version: "0.1.0", description: "misbehaves on request" }; },
  paramsSchema() { return "{}"; },
  run(params) {
    const mode = JSON.parse(params).mode;
    if (mode === "loop") { for (;;) {} }
    if (mode === "memory") { const keep = []; for (;;) { keep.push(new Uint8Array(1 << 24).fill(1)); } }
    if (mode === "error") { throw "the guest refused on purpose"; }
    if (mode === "import") { require("wasi:filesystem/preopens@0.2.6"); }
    if (mode === "probe") {
      const seen = [typeof process, typeof require("blueprint:cloud/aws@0.2.0").snsTopic];
      throw `probe: ${seen.join(" ")}`;
    }
  },
};
"#;

const HOSTILE_PY: &str = r#"
import json
import os

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.blueprint import GuestInfo


class Blueprint(exports.Blueprint):
    def info(self):
        return GuestInfo(name="hostile-py", version="0.1.0", description="misbehaves on request")

    def params_schema(self):
        return "{}"

    def run(self, params_json):
        mode = json.loads(params_json)["mode"]
        if mode == "loop":
            while True:
                pass
        if mode == "memory":
            keep = []
            while True:
                keep.append(bytearray(1 << 20))
        if mode == "error":
            raise Err("the guest refused on purpose")
        if mode == "probe":
            try:
                opened = "read " + open("/etc/passwd").read(10)
            except OSError as e:
                opened = "denied " + type(e).__name__
            try:
                listed = "listed " + str(os.listdir("/"))
            except OSError as e:
                listed = "denied " + type(e).__name__
            raise Err(f"probe: env={len(os.environ)} file={opened} dir={listed}")
"#;

/// The runtime for `lang`, built (once per toolchain) with the tools the seed
/// guests use: the TypeScript guest's componentize-js, the venv's componentize-py.
fn runtime_component(lang: Lang) -> runtimes::BuiltRuntime {
    let root = support::root();
    let near: PathBuf = match lang {
        Lang::JavaScript => root.join("guests/lambda-error-pagerduty-ts/src/app.ts"),
        Lang::Python => root.join("guests/lambda-error-pagerduty-py/app.py"),
    };
    runtimes::ensure(lang, &near, &root.join("target/test-wasm-cache")).unwrap()
}

async fn hostile(runtime: &Runtime, lang: Lang, mode: &str) -> Result<(), GuestError> {
    let built = runtime_component(lang);
    let source = match lang {
        Lang::JavaScript => ("hostile.js", HOSTILE_JS),
        Lang::Python => ("hostile", HOSTILE_PY),
    };
    let modules = Arc::new(vec![(source.0.to_owned(), source.1.to_owned())]);
    let guest = runtime.load_dev(&built.path, &built.key, "hostile", modules)?;
    let mut instance = runtime.instantiate(&guest, Path::new(".")).await?;
    instance.info().await?;
    instance.run(&json!({ "mode": mode })).await.map(|_| ())
}

/// A runtime with a short time limit; memory enough for an interpreter.
fn sandbox() -> Runtime {
    sandbox_with(Duration::from_secs(1))
}

fn sandbox_with(timeout: Duration) -> Runtime {
    support::runtime_with(blueprint::runtime::Limits {
        memory_bytes: 128 * 1024 * 1024,
        timeout,
        ..Default::default()
    })
}

fn expect(result: Result<(), GuestError>, kind: GuestErrorKind) -> GuestError {
    let error = result
        .err()
        .unwrap_or_else(|| panic!("expected {kind:?}, the guest succeeded"));
    assert_eq!(error.kind, kind, "{error}");
    let text = error.to_string();
    assert!(text.starts_with("guest 'hostile' "), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    error
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_in_source_times_out() {
    let runtime = sandbox();
    for lang in [Lang::JavaScript, Lang::Python] {
        // Built and compiled before the clock starts.
        runtime_component(lang);
        let _ = hostile(&runtime, lang, "error").await;
        let started = Instant::now();
        let e = expect(
            hostile(&runtime, lang, "loop").await,
            GuestErrorKind::Timeout,
        );
        assert!(e.message.contains("ran out of time"), "{lang:?}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{lang:?} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_in_source_hits_the_limit() {
    // Time enough for the interpreters' collectors to give up first.
    let runtime = sandbox_with(Duration::from_secs(10));
    for lang in [Lang::JavaScript, Lang::Python] {
        let e = expect(
            hostile(&runtime, lang, "memory").await,
            GuestErrorKind::OutOfMemory,
        );
        assert!(
            e.message.contains("ran out of memory (limit 128 MiB)"),
            "{lang:?}: {e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_in_source_are_passed_on() {
    let runtime = sandbox();
    for lang in [Lang::JavaScript, Lang::Python] {
        let e = expect(
            hostile(&runtime, lang, "error").await,
            GuestErrorKind::Failed,
        );
        assert!(
            e.message.contains("the guest refused on purpose"),
            "{lang:?}: {e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn source_gets_no_ambient_authority() {
    let runtime = sandbox();
    let e = expect(
        hostile(&runtime, Lang::Python, "probe").await,
        GuestErrorKind::Failed,
    );
    assert!(
        e.message.contains("probe: env=0 file=denied") && e.message.contains("dir=denied"),
        "{e}"
    );
    // JavaScript: no process, the contract's own imports; and the runtime is
    // built without wasi:http, so `fetch` has nothing to reach.
    let e = expect(
        hostile(&runtime, Lang::JavaScript, "probe").await,
        GuestErrorKind::Failed,
    );
    assert!(e.message.contains("probe: undefined function"), "{e}");
    let built = runtime_component(Lang::JavaScript);
    let guest = runtime
        .load_dev(&built.path, &built.key, "hostile", Arc::new(vec![]))
        .unwrap();
    let engine = guest.component.engine();
    for (name, _) in guest.component.component_type().imports(engine) {
        assert!(
            name.starts_with("wasi:cli")
                || name.starts_with("wasi:io")
                || name.starts_with("wasi:clocks")
                || name.starts_with("wasi:random")
                || name.starts_with("wasi:filesystem")
                || name.starts_with("blueprint:"),
            "the JavaScript runtime imports {name}"
        );
    }
    // Only the contract's interfaces can be required.
    let e = expect(
        hostile(&runtime, Lang::JavaScript, "import").await,
        GuestErrorKind::Failed,
    );
    assert!(e.message.contains("wasi:filesystem/preopens"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn source_that_does_not_load_is_named() {
    let runtime = sandbox();
    let built = runtime_component(Lang::Python);
    let modules = Arc::new(vec![("broken".to_owned(), "def (:\n".to_owned())]);
    let guest = runtime
        .load_dev(&built.path, &built.key, "hostile", modules)
        .unwrap();
    let mut instance = runtime.instantiate(&guest, Path::new(".")).await.unwrap();
    let e = instance.info().await.expect_err("refused");
    assert_eq!(e.kind, GuestErrorKind::Failed, "{e}");
    assert!(
        e.message.contains("could not load its source") && e.message.contains("SyntaxError"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runtime_loaded_as_an_ordinary_guest_is_refused() {
    // The source import exists only for runtimes loaded as such: the same
    // component loaded as a guest is refused before anything runs.
    let runtime = sandbox();
    let built = runtime_component(Lang::JavaScript);
    let e = runtime.load(&built.path).err().expect("refused");
    assert_eq!(e.kind, GuestErrorKind::NotABlueprint, "{e}");
    assert!(e.message.contains("blueprint:dev/source"), "{e}");
}
