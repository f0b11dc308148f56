//! The language runtimes of development mode: components of the world
//! `blueprint:dev/runtime` (`wit/dev/`) whose code is a small loader
//! (`runtimes/loader.js`, `runtimes/loader.py`) that runs the source the host
//! hands over. Each is built once per machine and toolchain with the guest
//! project's own tool — componentize-js from its `node_modules`, componentize-py
//! from a `.venv` above it or the `PATH` — and kept in
//! `<cache>/dev-runtimes/<lang>-<key>.wasm`, where the key hashes the loader, the
//! WIT and the tool's identity: a new host contract, loader or tool version builds
//! a new runtime, nothing else does. Building takes 10-40 s and up to ~800 MB
//! (componentize-js's wizer); every later edit reuses it, and its compiled code is
//! cached like any guest's.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Lang;
use super::source::find_up;
use crate::runtime::compile::sha256_hex;

const LOADER_JS: &str = include_str!("runtimes/loader.js");
const LOADER_PY: &str = include_str!("runtimes/loader.py");

/// The contract (the `blueprint:cloud` package, as a dependency) and the
/// development world, laid out as the component tools read WIT.
const WIT: &[(&str, &str)] = &[
    (
        "runtime.wit",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../wit/dev/runtime.wit"
        )),
    ),
    (
        "deps/cloud/world.wit",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/world.wit")),
    ),
    (
        "deps/cloud/aws.wit",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/aws.wit")),
    ),
    (
        "deps/cloud/pagerduty.wit",
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/pagerduty.wit")),
    ),
    (
        "deps/cloud/blueprints.wit",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../wit/blueprints.wit"
        )),
    ),
];

/// A built runtime: the component and the SHA-256 of its bytes (recorded when it
/// was built, in `<name>.sha256`), the key its compiled code is cached under — the
/// same key loading the file as an ordinary component would use, without hashing
/// 12-18 MB on every run.
#[derive(Debug, Clone)]
pub struct BuiltRuntime {
    pub path: PathBuf,
    pub key: String,
}

fn recorded(path: &Path) -> Option<BuiltRuntime> {
    let digest = std::fs::read_to_string(path.with_extension("sha256")).ok()?;
    let digest = digest.trim();
    (path.exists() && digest.len() == 64).then(|| BuiltRuntime {
        path: path.to_owned(),
        key: digest.to_owned(),
    })
}

/// The tool that builds a runtime for `lang`, found from the guest's source.
#[derive(Debug, Clone)]
struct Tool {
    /// The command to run.
    program: PathBuf,
    /// What identifies its version cheaply (a file whose bytes change with it).
    identity: String,
}

fn tool(lang: Lang, source: &Path) -> Result<Tool, String> {
    let dir = source.parent().unwrap_or(Path::new("."));
    match lang {
        Lang::JavaScript => {
            let manifest =
                find_up(dir, "node_modules/@bytecodealliance/componentize-js/package.json")
                    .ok_or_else(|| {
                        format!(
                            "development mode builds the JavaScript runtime with componentize-js, which is not installed for {}: `npm install` in the guest's folder",
                            source.display()
                        )
                    })?;
            let modules = manifest
                .ancestors()
                .nth(3)
                .expect("node_modules/@bytecodealliance/componentize-js/package.json");
            let identity = std::fs::read_to_string(&manifest)
                .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
            Ok(Tool {
                program: modules.join(".bin/componentize-js"),
                identity,
            })
        }
        Lang::Python => {
            let program = [".venv/bin/componentize-py", "venv/bin/componentize-py"]
                .iter()
                .find_map(|rel| find_up(dir, rel))
                .or_else(|| on_path("componentize-py"))
                .ok_or_else(|| {
                    format!(
                        "development mode builds the Python runtime with componentize-py, which is neither in a .venv above {} nor on the PATH: `pip install componentize-py`",
                        source.display()
                    )
                })?;
            // The installed version (`componentize_py-X.Y.Z.dist-info` beside the
            // venv's script), plus the file's size and mtime, which change with
            // every install.
            let real = std::fs::canonicalize(&program).unwrap_or_else(|_| program.clone());
            let version = installed_versions(&program);
            let meta = std::fs::metadata(&real)
                .map_err(|e| format!("cannot read {}: {e}", real.display()))?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            // The version names the tool wherever it is installed (every venv with
            // componentize-py 0.25.1 shares one runtime); without one, the file.
            let identity = if version.is_empty() {
                format!("{} {} {mtime}", real.display(), meta.len())
            } else {
                version
            };
            Ok(Tool { identity, program })
        }
    }
}

/// `componentize_py-*.dist-info` names in the environment `program` belongs to.
fn installed_versions(program: &Path) -> String {
    let Some(env) = program.parent().and_then(Path::parent) else {
        return String::new();
    };
    let mut found = Vec::new();
    for lib in std::fs::read_dir(env.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let site = lib.path().join("site-packages");
        for entry in std::fs::read_dir(site).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("componentize_py-") {
                found.push(name);
            }
        }
    }
    found.sort();
    found.join(" ")
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The runtime for `lang`, built now if this toolchain has none yet.
pub fn ensure(lang: Lang, source: &Path, cache_root: &Path) -> Result<BuiltRuntime, String> {
    let tool = tool(lang, source)?;
    let (tag, loader) = match lang {
        Lang::JavaScript => ("js", LOADER_JS),
        Lang::Python => ("py", LOADER_PY),
    };
    let mut identity = format!("{tag}\n{loader}\n{}\n", tool.identity);
    for (file, text) in WIT {
        identity.push_str(file);
        identity.push('\n');
        identity.push_str(text);
    }
    let identity = sha256_hex(identity.as_bytes());
    let dir = cache_root.join("dev-runtimes");
    let path = dir.join(format!("{tag}-{identity}.wasm"));
    if let Some(built) = recorded(&path) {
        return Ok(built);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    // One process builds it; the others wait, then use it.
    let lock = File::create(path.with_extension("lock"))
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|e| format!("locking {}: {e}", dir.display()))?;
    if recorded(&path).is_none() {
        eprintln!(
            "Building the {} development runtime with {} (once per toolchain)...",
            match lang {
                Lang::JavaScript => "JavaScript",
                Lang::Python => "Python",
            },
            tool.program.display()
        );
        build(lang, &tool, loader, &path)?;
    }
    drop(lock);
    recorded(&path).ok_or_else(|| format!("{} was not recorded", path.display()))
}

fn build(lang: Lang, tool: &Tool, loader: &str, out: &Path) -> Result<(), String> {
    let work = tempdir()?;
    let result = (|| {
        for (file, text) in WIT {
            let path = work.join("wit").join(file);
            std::fs::create_dir_all(path.parent().expect("has a folder"))
                .and_then(|()| std::fs::write(&path, text))
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        let mut command = Command::new(&tool.program);
        command.current_dir(&work);
        match lang {
            Lang::JavaScript => {
                std::fs::write(work.join("loader.js"), loader).map_err(|e| e.to_string())?;
                // No wasi:http (`-d http -d fetch-event`): a runtime gets no network,
                // like every guest.
                command
                    .args(["loader.js", "--wit", "wit", "-n", "runtime", "-o"])
                    .arg(&tmp)
                    .args(["-d", "http", "-d", "fetch-event"]);
            }
            Lang::Python => {
                std::fs::write(work.join("loader.py"), loader).map_err(|e| e.to_string())?;
                command
                    .args(["-d", "wit", "-w", "runtime", "componentize", "loader", "-o"])
                    .arg(&tmp);
            }
        }
        let output = command
            .output()
            .map_err(|e| format!("running {}: {e}", tool.program.display()))?;
        if !output.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!(
                "building the development runtime with {} failed:\n{}{}",
                tool.program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let bytes = std::fs::read(&tmp).map_err(|e| format!("reading {}: {e}", tmp.display()))?;
        std::fs::write(out.with_extension("sha256"), sha256_hex(&bytes))
            .and_then(|()| std::fs::rename(&tmp, out))
            .map_err(|e| format!("storing {}: {e}", out.display()))
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "blueprint-dev-runtime-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}
