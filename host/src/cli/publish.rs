//! `blueprint publish GUEST.wasm REGISTRY/NAMESPACE/NAME:TAG`: push a blueprint
//! guest or a policy in the Wasm OCI artifact layout. What `inspect` shows is
//! read from the component once here — in the sandbox, as `inspect` does — and
//! written into the manifest's annotations (docs/oci.md lists them).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use wasmtime::component::Component;

use super::{CliResult, GlobalArgs, PublishArgs};
use crate::check::policy::{POLICY_PACKAGE, PolicyRuntime, is_policy};
use crate::oci::{self, ComponentInfo, WasmConfig};

pub async fn run(global: &GlobalArgs, args: &PublishArgs) -> CliResult {
    let reference = oci::parse(&args.reference)?;
    if reference.tag().is_none() {
        anyhow::bail!(
            "publish to a tag (REGISTRY/NAMESPACE/NAME:TAG); the digest is printed after the push"
        );
    }
    let bytes = std::fs::read(&args.component)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.component.display()))?;
    let runtime = global.runtime()?;
    let component = Component::new(runtime.engine(), &bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a WebAssembly component: {e}",
            args.component.display()
        )
    })?;
    let engine = runtime.engine();
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();

    let mut annotations = BTreeMap::new();
    let (name, version, description, target) = if is_policy(engine, &component) {
        let policies = PolicyRuntime::new(&runtime)?;
        let loaded = policies.load(&args.component)?;
        let mut instance = policies.instantiate(&loaded).await?;
        let info = instance.info().await?;
        let rules = instance.rules().await?;
        let rules: Vec<serde_json::Value> = rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "severity": crate::check::policies::severity(r.severity).as_str(),
                    "why": r.why,
                })
            })
            .collect();
        annotations.insert(oci::ANNOTATION_KIND.into(), "policy".into());
        let wit = format!("{POLICY_PACKAGE}@{}", loaded.wit_version);
        annotations.insert(oci::ANNOTATION_WIT.into(), wit);
        annotations.insert(oci::ANNOTATION_RULES.into(), serde_json::to_string(&rules)?);
        let target = format!("{POLICY_PACKAGE}/policy-guest@{}", loaded.wit_version);
        (info.name, info.version, info.description, target)
    } else {
        let guest = runtime.load(&args.component)?;
        let mut instance = runtime.instantiate(&guest, Path::new(".")).await?;
        let info = instance.info().await?;
        let schema = instance.params_schema().await?;
        annotations.insert(oci::ANNOTATION_KIND.into(), "blueprint".into());
        let package = crate::runtime::WIT_PACKAGE;
        annotations.insert(
            oci::ANNOTATION_WIT.into(),
            format!("{package}@{}", guest.wit_version),
        );
        annotations.insert(
            oci::ANNOTATION_PARAMS_SCHEMA.into(),
            serde_json::to_string(&schema)?,
        );
        let target = format!("{package}/guest@{}", guest.wit_version);
        (info.name, info.version, info.description, target)
    };
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    annotations.insert(oci::ANNOTATION_TITLE.into(), name.clone());
    annotations.insert(oci::ANNOTATION_VERSION.into(), version.clone());
    annotations.insert(oci::ANNOTATION_DESCRIPTION.into(), description);
    annotations.insert(oci::ANNOTATION_CREATED.into(), created.clone());
    let config = WasmConfig {
        created,
        author: None,
        architecture: "wasm".into(),
        os: "wasip2".into(),
        layer_digests: vec![oci::sha256_digest(&bytes)],
        component: ComponentInfo {
            exports,
            imports,
            target: Some(target),
        },
    };
    let digest = oci::push(&reference, &bytes, &config, annotations).await?;
    let repository = format!(
        "{}/{}",
        reference.resolve_registry(),
        reference.repository()
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "reference": args.reference,
                "digest": digest,
                "pinned": format!("{repository}@{digest}"),
                "name": name,
                "version": version,
                "bytes": bytes.len(),
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Published {name} {version} ({} KiB) to {}",
        bytes.len() / 1024,
        args.reference
    );
    println!("digest {digest}");
    println!(
        "use it: [guest] oci = \"{}\"  (or pinned: \"{repository}@{digest}\")",
        args.reference
    );
    Ok(ExitCode::SUCCESS)
}
