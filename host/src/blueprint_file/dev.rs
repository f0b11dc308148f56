//! `[dev]` of a blueprint file: how `blueprint dev` runs and rebuilds the guest
//! (the loop itself is the `dev` workflow's).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Blueprint;

/// `[dev]` of a blueprint file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevSettings {
    /// The guest's source, run by the language runtime without a component build.
    pub source: Option<PathBuf>,
    /// The shell command (run in the blueprint file's folder) that rebuilds the
    /// component at `guest.path`.
    pub build: Option<String>,
    /// Files or folders whose changes re-evaluate the blueprint.
    #[serde(default)]
    pub watch: Vec<PathBuf>,
}

/// The languages a runtime exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// TypeScript or JavaScript, on StarlingMonkey (componentize-js).
    JavaScript,
    /// Python, on componentize-py's CPython.
    Python,
}

impl Lang {
    pub fn of(source: &Path) -> Option<Lang> {
        match source.extension()?.to_str()? {
            "ts" | "mts" | "js" | "mjs" => Some(Lang::JavaScript),
            "py" => Some(Lang::Python),
            _ => None,
        }
    }
}

impl DevSettings {
    /// The settings of a project laid out as `blueprint new` makes it, from the
    /// files in the blueprint file's folder.
    pub fn detect(dir: &Path) -> DevSettings {
        let has = |f: &str| dir.join(f).is_file();
        if has("package.json") && has("src/app.ts") {
            DevSettings {
                source: Some("src/app.ts".into()),
                build: Some("npm run build".into()),
                watch: vec!["src".into()],
            }
        } else if has("app.py") {
            DevSettings {
                source: Some("app.py".into()),
                build: None,
                watch: vec![],
            }
        } else if has("Cargo.toml") && has("src/lib.rs") {
            DevSettings {
                source: None,
                build: Some("cargo build --release --target wasm32-wasip2".into()),
                watch: vec!["src".into(), "Cargo.toml".into()],
            }
        } else {
            DevSettings::default()
        }
    }

    /// The blueprint's `[dev]`, else what its folder shows.
    pub fn of(blueprint: &Blueprint) -> DevSettings {
        match &blueprint.dev {
            Some(settings) => settings.clone(),
            None => DevSettings::detect(&blueprint.dir),
        }
    }

    /// The watched paths, absolute (relative ones are from the blueprint's folder).
    pub fn watched(&self, blueprint: &Blueprint) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.watch.iter().map(|p| blueprint.dir.join(p)).collect();
        if paths.is_empty() {
            paths.push(match &self.source {
                Some(source) => blueprint
                    .dir
                    .join(source)
                    .parent()
                    .map(Path::to_owned)
                    .unwrap_or_else(|| blueprint.dir.clone()),
                None => blueprint.dir.clone(),
            });
        }
        paths.push(blueprint.file.clone());
        paths
    }
}
