//! `blueprint output FILE [NAME]`: what a blueprint publishes, from its state.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::{CliResult, OutputArgs};
use crate::state::REDACTED;

pub async fn run(args: &OutputArgs) -> CliResult {
    let (store, outputs) = crate::run::state::outputs(&args.file, args.state.as_deref()).await?;
    let shown = |value: &str, sensitive: bool| {
        if sensitive && !args.show_sensitive {
            REDACTED.to_owned()
        } else {
            value.to_owned()
        }
    };
    if let Some(name) = &args.name {
        let Some(output) = outputs.get(name) else {
            let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
            anyhow::bail!(
                "no output '{name}' in {store}; the blueprint publishes {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            );
        };
        // A script asking for one value must not mistake the placeholder for it.
        if output.sensitive && !args.show_sensitive {
            anyhow::bail!("output '{name}' is sensitive: --show-sensitive prints it");
        }
        if args.json {
            println!("{}", Value::String(output.value.clone()));
        } else {
            println!("{}", output.value);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        let all: serde_json::Map<String, Value> = outputs
            .iter()
            .map(|(name, o)| {
                let mut entry = json!({
                    "value": shown(&o.value, o.sensitive),
                    "sensitive": o.sensitive,
                });
                if let Some(d) = &o.description {
                    entry["description"] = json!(d);
                }
                (name.clone(), entry)
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&Value::Object(all))?);
        return Ok(ExitCode::SUCCESS);
    }
    if outputs.is_empty() {
        eprintln!("No outputs: {store} records no blueprint.output node.");
    }
    for (name, o) in &outputs {
        let value = if o.sensitive && !args.show_sensitive {
            REDACTED.to_owned()
        } else {
            Value::String(o.value.clone()).to_string()
        };
        println!("{name} = {value}");
    }
    Ok(ExitCode::SUCCESS)
}
