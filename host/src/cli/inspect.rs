//! `blueprint inspect GUEST.wasm|FILE`: what a guest is, the WIT version it was
//! built for, and its params with their defaults.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::{CliResult, GlobalArgs, InspectArgs};
use crate::blueprint_file::Blueprint;

pub async fn run(global: &GlobalArgs, args: &InspectArgs) -> CliResult {
    if let Some(reference) = args.target.to_str().and_then(|t| t.strip_prefix("oci://")) {
        return inspect_oci(reference, args.json).await;
    }
    let runtime = global.runtime()?;
    let is_blueprint = args.target.extension().is_some_and(|e| e == "toml");
    let (guest_path, dir, file_params) = if is_blueprint {
        let blueprint = Blueprint::load(&args.target)?;
        let path = crate::guest_source::local_path(&blueprint).await?;
        (path, blueprint.dir, Some(blueprint.params))
    } else {
        (args.target.clone(), Path::new(".").to_owned(), None)
    };
    let guest = runtime.load(&guest_path)?;
    let mut instance = runtime.instantiate(&guest, &dir).await?;
    let info = instance.info().await?;
    let schema = instance.params_schema().await?;
    let params = param_rows(&schema);

    if args.json {
        let out = json!({
            "guest": {"name": info.name, "version": info.version, "description": info.description},
            "component": {"path": guest_path, "bytes": guest.size},
            "wit": format!("{}@{}", crate::runtime::WIT_PACKAGE, guest.wit_version),
            "params_schema": schema,
            "defaults": params.iter().filter_map(|p| p.default.clone().map(|d| (p.name.clone(), d))).collect::<serde_json::Map<_, _>>(),
            "blueprint_params": file_params,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }

    // What a guest says about itself is shown escaped.
    let esc = |s: &str| blueprint_model::text::escape_cut(s, 1024).into_owned();
    println!("{} {}", esc(&info.name), esc(&info.version));
    println!("  {}", esc(&info.description));
    println!();
    println!(
        "component  {} ({} KiB)",
        guest_path.display(),
        guest.size / 1024
    );
    println!(
        "wit        {}@{}",
        crate::runtime::WIT_PACKAGE,
        guest.wit_version
    );
    print_params(&params, file_params.as_ref());
    Ok(ExitCode::SUCCESS)
}

/// `inspect oci://...`: what the manifest's annotations say; nothing is
/// downloaded but the manifest, nothing runs.
async fn inspect_oci(text: &str, json: bool) -> CliResult {
    use crate::oci;
    let reference = oci::parse(text)?;
    let d = oci::describe(&reference).await?;
    let get = |key| d.annotation(key).unwrap_or_default().to_owned();
    let kind = get(oci::ANNOTATION_KIND);
    if kind.is_empty() {
        anyhow::bail!(
            "oci://{text} is a Wasm component but was not published by `blueprint publish` (no {} annotation): pull it with [guest] oci = \"{text}\" and inspect the blueprint file",
            oci::ANNOTATION_KIND
        );
    }
    let schema: Option<Value> = d
        .annotation(oci::ANNOTATION_PARAMS_SCHEMA)
        .map(serde_json::from_str)
        .transpose()?;
    let rules: Option<Value> = d
        .annotation(oci::ANNOTATION_RULES)
        .map(serde_json::from_str)
        .transpose()?;
    if json {
        let out = json!({
            "kind": kind,
            "guest": {"name": get(oci::ANNOTATION_TITLE), "version": get(oci::ANNOTATION_VERSION), "description": get(oci::ANNOTATION_DESCRIPTION)},
            "component": {"reference": text, "digest": d.digest, "layer": d.layer.digest, "bytes": d.layer.size},
            "wit": get(oci::ANNOTATION_WIT),
            "created": get(oci::ANNOTATION_CREATED),
            "params_schema": schema,
            "rules": rules,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} {}",
        get(oci::ANNOTATION_TITLE),
        get(oci::ANNOTATION_VERSION)
    );
    println!("  {}", get(oci::ANNOTATION_DESCRIPTION));
    println!();
    println!("{kind:10} oci://{text} ({} KiB)", d.layer.size / 1024);
    println!("digest     {}", d.digest);
    println!("wit        {}", get(oci::ANNOTATION_WIT));
    println!("created    {}", get(oci::ANNOTATION_CREATED));
    if let Some(schema) = &schema {
        print_params(&param_rows(schema), None);
    }
    if let Some(rules) = rules.as_ref().and_then(Value::as_array) {
        println!();
        println!("rules:");
        for r in rules {
            println!(
                "  {}  {}",
                r["id"].as_str().unwrap_or_default(),
                r["severity"].as_str().unwrap_or_default()
            );
            println!("      {}", r["why"].as_str().unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_params(params: &[ParamRow], file_params: Option<&serde_json::Map<String, Value>>) {
    println!();
    println!("params:");
    let width = params.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in params {
        let default = match &p.default {
            Some(d) => format!("default {}", short(d)),
            None if p.required => "(required)".to_owned(),
            None => "(optional)".to_owned(),
        };
        println!("  {:width$}  {:8}  {default}", p.name, p.ty);
        if let Some(description) = &p.description {
            println!("  {:width$}  {}", "", description.replace('\n', " "));
        }
        let given = file_params.and_then(|f| {
            let pointer = format!("/{}", p.name.replace('.', "/"));
            Value::Object(f.clone()).pointer(&pointer).cloned()
        });
        if let Some(given) = given {
            println!(
                "  {:width$}  set in the blueprint file: {}",
                "",
                short(&given)
            );
        }
    }
}

struct ParamRow {
    name: String,
    ty: String,
    default: Option<Value>,
    required: bool,
    description: Option<String>,
}

/// The params of a schema as rows, nested objects flattened to dotted names
/// (`schedule.time_zone`) — the names `--set` takes.
fn param_rows(schema: &Value) -> Vec<ParamRow> {
    let mut rows = Vec::new();
    collect_rows(schema, schema, "", None, &mut rows);
    rows
}

fn collect_rows(
    root: &Value,
    schema: &Value,
    prefix: &str,
    parent_default: Option<&Value>,
    rows: &mut Vec<ParamRow>,
) {
    let schema = blueprint_model::params::resolve(schema, root);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (name, prop) in properties {
        let full = format!("{prefix}{name}");
        let default = prop
            .get("default")
            .or_else(|| parent_default.and_then(|d| d.get(name)));
        let target = blueprint_model::params::resolve(prop, root);
        if target["properties"].is_object() && prefix.len() < 256 {
            collect_rows(root, target, &format!("{full}."), default, rows);
            continue;
        }
        let ty = match &target["type"] {
            Value::String(t) => t.clone(),
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("|"),
            _ => "any".into(),
        };
        let items = blueprint_model::params::resolve(&target["items"], root);
        rows.push(ParamRow {
            name: full.clone(),
            ty,
            default: default.cloned(),
            required: required.contains(&name.as_str()),
            description: prop["description"]
                .as_str()
                .or(target["description"].as_str())
                .map(str::to_owned),
        });
        // A list of records (a template's `services`): document each field.
        if items["properties"].is_object() && prefix.len() < 256 {
            let item_default = items.get("default").or_else(|| default?.get(0));
            collect_rows(root, items, &format!("{full}[]."), item_default, rows);
        }
    }
}

/// A value on one line, cut to a readable length.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 100 {
        format!("{}…", text.chars().take(100).collect::<String>())
    } else {
        text
    }
}
