//! The guest's source as a language runtime receives it.
//!
//! - TypeScript / JavaScript: one CommonJS bundle made by the project's own
//!   esbuild (`node_modules/.bin/esbuild`, a devDependency): types stripped, not
//!   checked (that stays `tsc`'s job in the real build), local imports bundled, the
//!   `blueprint:cloud/*` imports left as `require` calls for the runtime to answer.
//!   esbuild takes ~20-50 ms where `tsc` takes ~3 s.
//! - Python: every `.py` module under the source's folder, by dotted name, the
//!   entry point first; the runtime imports them from memory.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Lang;

/// Folders never sent: tools' and environments' own.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "__pycache__",
    "target",
    "build",
    "dist",
    "types",
];

/// More than any guest needs; a folder holding more is the wrong folder.
const MAX_MODULES: usize = 500;

/// (module name, text), the entry point first.
pub fn modules(lang: Lang, source: &Path) -> Result<Vec<(String, String)>, String> {
    match lang {
        Lang::JavaScript => bundle(source).map(|code| vec![(file_name(source), code)]),
        Lang::Python => python_modules(source),
    }
}

/// The name a guest run from `source` goes by in messages: its project folder
/// when the file has a generic name (`src/app.ts` of `pager/` is `pager`).
pub fn guest_name(source: &Path) -> String {
    let stem = source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !matches!(stem.as_str(), "app" | "index" | "main") {
        return stem;
    }
    let absolute = std::path::absolute(source).unwrap_or_else(|_| source.to_owned());
    absolute
        .ancestors()
        .skip(1)
        .filter_map(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .find(|n| n != "src")
        .unwrap_or(stem)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The nearest `rel` in `start` or a folder above it.
pub fn find_up(start: &Path, rel: &str) -> Option<PathBuf> {
    let start = std::path::absolute(start).ok()?;
    start
        .ancestors()
        .map(|d| d.join(rel))
        .find(|candidate| candidate.exists())
}

fn bundle(source: &Path) -> Result<String, String> {
    let dir = source.parent().unwrap_or(Path::new("."));
    let esbuild = find_up(dir, "node_modules/.bin/esbuild").ok_or_else(|| {
        format!(
            "development mode strips TypeScript with esbuild, which is not installed for {}: `npm install --save-dev esbuild` in the guest's folder",
            source.display()
        )
    })?;
    let out = Command::new(&esbuild)
        .arg(source)
        .args([
            "--bundle",
            "--format=cjs",
            "--platform=neutral",
            "--target=es2022",
            "--external:blueprint:*",
            "--log-level=error",
            "--color=false",
        ])
        .output()
        .map_err(|e| format!("running {}: {e}", esbuild.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} does not compile:\n{}",
            source.display(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "esbuild wrote something that is not UTF-8".into())
}

fn python_modules(entry: &Path) -> Result<Vec<(String, String)>, String> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let entry_name = entry
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{} is not a Python file", entry.display()))?;
    let mut modules = vec![(entry_name, read(entry)?)];
    let root = entry.parent().unwrap_or(Path::new("."));
    let mut found = Vec::new();
    collect_py(root, &mut found)?;
    found.sort();
    for path in found {
        if path == entry {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path).with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "__init__") {
            parts.pop();
        }
        if parts.is_empty() {
            continue;
        }
        modules.push((parts.join("."), read(&path)?));
        if modules.len() > MAX_MODULES {
            return Err(format!(
                "{} holds more than {MAX_MODULES} Python modules: point [dev] source at the guest's own folder",
                root.display()
            ));
        }
    }
    Ok(modules)
}

fn collect_py(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            // Hidden folders (.venv, .git), tool folders, and virtual environments.
            if name.starts_with('.')
                || SKIP_DIRS.contains(&name.as_str())
                || path.join("pyvenv.cfg").exists()
            {
                continue;
            }
            collect_py(&path, found)?;
            if found.len() > MAX_MODULES {
                return Ok(());
            }
        } else if name.ends_with(".py") {
            found.push(path);
        }
    }
    Ok(())
}
