//! `blueprint new NAME --lang rust|typescript|python [--template T]`: a guest
//! project that builds and passes `blueprint graph` as created — the WIT contract
//! copied in, bindings wired, a tiny example graph (or one of the repository's
//! templates), a blueprint file and build instructions.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Typescript,
    Python,
}

/// What the project's guest starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// A team, a weekly rotation, an escalation policy and one service.
    Starter,
    /// The seed: a Lambda's ERROR logs page through a metric filter, an alarm
    /// and SNS (TypeScript).
    LambdaErrorPagerduty,
    /// EventBridge rules (by default: ECS tasks that stop with a non-zero exit
    /// code) page through SNS (TypeScript).
    EventbridgePagerduty,
    /// Any CloudWatch metric alarm pages, with the urgency by support hours
    /// (Python).
    AlarmPagerduty,
}

/// Why `blueprint new` made no project.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "{0:?}: a guest name is lowercase letters, digits and '-', starting with a letter (it names the crate/package and the blueprint)"
    )]
    Name(String),
    #[error("{} already exists: pick another name or folder", .0.display())]
    Exists(PathBuf),
    #[error(
        "the {template} template is written in {languages}: use --lang {choice} ({lang:?} has the starter)"
    )]
    Language {
        template: &'static str,
        languages: &'static str,
        choice: String,
        lang: Lang,
    },
    #[error("writing {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

impl Template {
    /// The guest source replacing the starter's, and files beside it.
    fn sources(self, lang: Lang) -> Result<Vec<(&'static str, String)>, ScaffoldError> {
        Ok(match (self, lang) {
            (Template::Starter, _) => Vec::new(),
            (Template::LambdaErrorPagerduty, Lang::Typescript) => vec![
                (
                    "src/app.ts",
                    include_str!("../../../guests/lambda-error-pagerduty-ts/src/app.ts").into(),
                ),
                (
                    "handler/index.js",
                    include_str!("../../../blueprints/lambda-error-pagerduty-handler/index.js")
                        .into(),
                ),
            ],
            (Template::LambdaErrorPagerduty, Lang::Python) => vec![
                (
                    "app.py",
                    include_str!("../../../guests/lambda-error-pagerduty-py/app.py").into(),
                ),
                (
                    "handler/index.js",
                    include_str!("../../../blueprints/lambda-error-pagerduty-handler/index.js")
                        .into(),
                ),
            ],
            (Template::EventbridgePagerduty, Lang::Typescript) => vec![(
                "src/app.ts",
                include_str!("../../../guests/eventbridge-pagerduty-ts/src/app.ts").into(),
            )],
            (Template::AlarmPagerduty, Lang::Python) => vec![(
                "app.py",
                include_str!("../../../guests/alarm-pagerduty-py/app.py").into(),
            )],
            (template, lang) => {
                return Err(ScaffoldError::Language {
                    template: template.name(),
                    languages: template.languages(),
                    choice: template.languages().replace(" or ", " or --lang "),
                    lang,
                });
            }
        })
    }

    /// The languages the template is written in, for messages.
    fn languages(self) -> &'static str {
        match self {
            Template::Starter => "rust, typescript or python",
            Template::LambdaErrorPagerduty => "typescript or python",
            Template::EventbridgePagerduty => "typescript",
            Template::AlarmPagerduty => "python",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Template::Starter => "starter",
            Template::LambdaErrorPagerduty => "lambda-error-pagerduty",
            Template::EventbridgePagerduty => "eventbridge-pagerduty",
            Template::AlarmPagerduty => "alarm-pagerduty",
        }
    }

    /// The blueprint file's params and provider tables.
    fn params(self, name: &str) -> String {
        match self {
            Template::Starter => format!(
                "[params]
team_name = \"{name} team\"
users = [\"user1@example.com\"]

                 [providers.pagerduty]
region = \"us\"
"
            ),
            Template::LambdaErrorPagerduty => format!(
                "[params]
team_name = \"{name} team\"
users = [\"user1@example.com\"]

                 [[params.services]]
name = \"{name}\"
function_name = \"{name}-function\"
                 code_path = \"handler\"

                 [providers.aws]
region = \"us-east-1\"

[providers.pagerduty]
region = \"us\"
"
            ),
            Template::AlarmPagerduty => format!(
                "[params]\nservice_name = \"{name}\"\ntopic_name = \"{name}-alarms\"\n\n\
                 [params.on_call]\nteam_name = \"{name} team\"\nusers = [\"user1@example.com\"]\n\n\
                 [providers.aws]\nregion = \"us-east-1\"\n\n[providers.pagerduty]\nregion = \"us\"\n"
            ),
            Template::EventbridgePagerduty => format!(
                "[params]
service_name = \"{name}\"
topic_name = \"{name}-events\"

                 [params.on_call]
team_name = \"{name} team\"
users = [\"user1@example.com\"]

                 [providers.aws]
region = \"us-east-1\"

[providers.pagerduty]
region = \"us\"
"
            ),
        }
    }
}

/// The contract, as this host speaks it.
const WIT: &[(&str, &str)] = &[
    ("world.wit", include_str!("../../../wit/world.wit")),
    ("aws.wit", include_str!("../../../wit/aws.wit")),
    ("pagerduty.wit", include_str!("../../../wit/pagerduty.wit")),
    (
        "blueprints.wit",
        include_str!("../../../wit/blueprints.wit"),
    ),
];

/// File path in the project → template (`{{name}}` and `{{wit_version}}` are
/// replaced).
fn templates(lang: Lang) -> Vec<(&'static str, String)> {
    match lang {
        Lang::Rust => vec![
            (
                "Cargo.toml",
                include_str!("templates/rust/Cargo.toml").into(),
            ),
            ("src/lib.rs", include_str!("templates/rust/lib.rs").into()),
            // The Rust SDK travels with the project (it is not on crates.io yet).
            ("sdk/Cargo.toml", SDK_MANIFEST.into()),
            (
                "sdk/src/lib.rs",
                include_str!("../../../guests/sdk/src/lib.rs")
                    .replace("path: \"../../wit\"", "path: \"../wit\""),
            ),
        ],
        Lang::Typescript => vec![
            (
                "package.json",
                include_str!("templates/typescript/package.json").into(),
            ),
            (
                "package-lock.json",
                include_str!("templates/typescript/package-lock.json").into(),
            ),
            (
                "tsconfig.json",
                include_str!("templates/typescript/tsconfig.json").into(),
            ),
            (
                "build.sh",
                include_str!("templates/typescript/build.sh").into(),
            ),
            (
                "src/app.ts",
                include_str!("templates/typescript/app.ts").into(),
            ),
            (
                ".gitignore",
                "node_modules/\nbuild/\ntypes/\ndist/\n".into(),
            ),
        ],
        Lang::Python => vec![
            ("app.py", include_str!("templates/python/app.py").into()),
            (
                "requirements.txt",
                include_str!("templates/python/requirements.txt").into(),
            ),
            (".gitignore", "*.wasm\n.venv/\n".into()),
        ],
    }
}

const SDK_MANIFEST: &str = r#"[package]
name = "blueprint-sdk"
version = "0.1.0"
edition = "2024"

[dependencies]
wit-bindgen = "0.61"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
schemars = "1"
"#;

/// Where the built component lands, relative to the project.
pub fn component_path(lang: Lang, name: &str) -> String {
    match lang {
        Lang::Rust => format!(
            "target/wasm32-wasip2/release/{}.wasm",
            name.replace('-', "_")
        ),
        Lang::Typescript => format!("dist/{name}.wasm"),
        Lang::Python => format!("{name}.wasm"),
    }
}

/// The commands that build it, from the project folder.
pub fn build_commands(lang: Lang, name: &str) -> Vec<String> {
    match lang {
        Lang::Rust => vec![
            "rustup target add wasm32-wasip2".into(),
            "cargo build --release --target wasm32-wasip2".into(),
        ],
        Lang::Typescript => vec!["npm ci".into(), "npm run build".into()],
        Lang::Python => vec![
            "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt".into(),
            format!(".venv/bin/componentize-py -d wit -w guest componentize app -o {name}.wasm"),
        ],
    }
}

/// The blueprint file's `[dev]` table: how `blueprint dev` runs the guest.
fn dev_section(lang: Lang, name: &str) -> String {
    let intro = "# `blueprint dev` re-evaluates on every change of the sources and prints what\n\
                 # changed in the graph.";
    match lang {
        Lang::Rust => format!(
            "{intro}\n[dev]\nbuild = \"cargo build --release --target wasm32-wasip2\"\n\
             watch = [\"src\", \"sdk/src\", \"Cargo.toml\", \"wit\"]\n"
        ),
        Lang::Typescript => format!(
            "{intro} The source runs in the JavaScript runtime\n\
             # (types stripped by esbuild, not checked): no component build per edit.\n\
             # `blueprint dev --build` runs the real build instead.\n\
             [dev]\nsource = \"src/app.ts\"\nbuild = \"npm run build\"\nwatch = [\"src\"]\n"
        ),
        Lang::Python => format!(
            "{intro} The source runs in the Python runtime: no\n\
             # component build per edit. `blueprint dev --build` runs the real build instead.\n\
             [dev]\nsource = \"app.py\"\n\
             build = \".venv/bin/componentize-py -d wit -w guest componentize app -o {name}.wasm\"\n"
        ),
    }
}

/// Create `parent/name/`; refuses to touch an existing folder.
pub fn create(
    name: &str,
    lang: Lang,
    template: Template,
    parent: &Path,
) -> Result<PathBuf, ScaffoldError> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ScaffoldError::Name(name.to_owned()));
    }
    let root = parent.join(name);
    if root.exists() {
        return Err(ScaffoldError::Exists(root));
    }
    let sources = template.sources(lang)?;
    let mut files = templates(lang);
    for (path, text) in sources {
        files.retain(|(f, _)| *f != path);
        files.push((path, text));
    }
    let wit_files: Vec<(String, String)> = WIT
        .iter()
        .map(|(f, t)| (format!("wit/{f}"), (*t).to_owned()))
        .collect();
    let build = build_commands(lang, name);
    let component = component_path(lang, name);
    let blueprint_file = format!(
        "# A blueprint instantiating the {name} guest. `blueprint graph {name}.toml` shows\n\
         # what it declares; `blueprint run {name}.toml` applies it.\n\
         name = \"{name}\"\n\n[guest]\npath = \"{component}\"\n\n{}\n{}",
        template.params(name),
        dev_section(lang, name)
    );
    let readme = format!(
        "# {name}\n\nA `blueprint` guest ({lang:?}). Build the component:\n\n```sh\n{}\n```\n\n\
         Then, from this folder: `blueprint graph {name}.toml` (no API calls), `blueprint check {name}.toml`,\n\
         `blueprint plan {name}.toml`, `blueprint run {name}.toml`.\n\n\
         While editing: `blueprint dev {name}.toml` re-evaluates on every save and prints what changed\n\
         in the graph (the `[dev]` table of {name}.toml says how).\n\n\
         `wit/` is the contract (blueprint:cloud@{wit}) the host implements; the guest gets no\n\
         filesystem, network, environment or clock — only the `host`, `pagerduty` and `aws`\n\
         imports. Constructor outputs are reference tokens: pass them on as strings.\n",
        build.join("\n"),
        wit = crate::runtime::WIT_VERSION,
    );
    let mut all: Vec<(String, String)> = files
        .into_iter()
        .map(|(f, t)| {
            let text = t
                .replace("{{name}}", name)
                .replace("{{wit_version}}", crate::runtime::WIT_VERSION);
            (f.to_owned(), text)
        })
        .collect();
    all.extend(wit_files);
    all.push((format!("{name}.toml"), blueprint_file));
    all.push(("README.md".into(), readme));
    for (file, text) in all {
        let path = root.join(&file);
        write_file(&path, &text, file.ends_with(".sh"))
            .map_err(|cause| ScaffoldError::Write { path, cause })?;
    }
    Ok(root)
}

/// One file of the new project, its folders made first; scripts executable.
fn write_file(path: &Path, text: &str, executable: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)?;
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}
