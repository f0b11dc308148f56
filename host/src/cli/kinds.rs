//! `blueprint kinds [--json]`: every kind the host serves, read from the kinds'
//! descriptors — the reference a guest author (and `docs/`) points at instead of
//! a hand-kept list.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::{CliResult, KindsArgs};
use blueprint_model::kind::KindInfo;
use blueprint_model::terraform::Block;

fn describe(info: &KindInfo) -> Value {
    let tf = &info.terraform;
    let terraform = match tf.block {
        Block::Resource => tf.tf_type.to_owned(),
        Block::Data => format!("data.{}", tf.tf_type),
        Block::Output => "output".to_owned(),
    };
    json!({
        "kind": info.name,
        "lookup": info.lookup,
        "role": info.role,
        "outputs": info.outputs.iter().map(|o| json!({"name": o.name, "sensitive": o.sensitive, "sensitive_when": o.sensitive_when})).collect::<Vec<_>>(),
        "required": info.required,
        "replace_on_change": info.replace_on_change,
        "create_before_destroy": info.create_before_destroy,
        "terraform": terraform,
    })
}

pub fn run(args: &KindsArgs) -> CliResult {
    let kinds: Vec<Value> = crate::run::catalog().all().map(describe).collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&kinds)?);
        return Ok(ExitCode::SUCCESS);
    }
    for k in &kinds {
        let list = |key: &str| -> String {
            k[key]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let outputs: Vec<String> = k["outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                let name = o["name"].as_str().unwrap_or_default();
                match (o["sensitive"].as_bool(), o["sensitive_when"].as_str()) {
                    (Some(true), _) => format!("{name} (sensitive)"),
                    (_, Some(flag)) => format!("{name} (sensitive when {flag} = true)"),
                    _ => name.to_owned(),
                }
            })
            .collect();
        let what = if k["lookup"] == true {
            "lookup"
        } else {
            "resource"
        };
        println!(
            "{} ({what}) -> {}",
            k["kind"].as_str().unwrap_or_default(),
            k["terraform"].as_str().unwrap_or_default()
        );
        println!("    outputs:  {}", outputs.join(", "));
        println!("    required: {}", list("required"));
        let replace = list("replace_on_change");
        if !replace.is_empty() {
            println!("    replaced when changed: {replace}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
