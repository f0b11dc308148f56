//! Guests and policies in OCI registries, in the Wasm OCI artifact layout that
//! `wkg` (wasm-pkg-tools), Spin and wasmCloud use (CNCF TAG Runtime, "Wasm OCI
//! Artifact" — https://tag-runtime.cncf.io/wgs/wasm/deliverables/wasm-oci-artifact/):
//! an OCI image manifest whose config has media type
//! `application/vnd.wasm.config.v0+json` and whose single layer is the component,
//! `application/wasm`. Our own metadata (the guest's info, params schema, WIT
//! package) rides in the manifest's annotations, so `inspect` reads it without
//! downloading or running the component.
//!
//! Pulls are by digest only: a tag is resolved once and pinned in `blueprint.lock`
//! ([`lock`]). Manifests and components are cached by digest beside the S3 guests
//! (`<cache>/guests/`), and every byte is checked against its digest — on download
//! and again when read from the cache. The format is described in docs/oci.md.

pub mod auth;
mod error;
pub mod lock;

pub use error::{OciError, Step};

pub use crate::blueprint_file::oci_ref::{check_syntax, is_sha256_digest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use futures::TryStreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The OCI image manifest (the Wasm artifact uses the plain image manifest).
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The Wasm artifact's config blob.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The component itself.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";

/// Standard OCI annotations (image-spec `annotations.md`).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Ours: `blueprint` or `policy`.
pub const ANNOTATION_KIND: &str = "dev.blueprint.kind";
/// Ours: the WIT package and version the component was built against,
/// e.g. `blueprint:cloud@0.1.0`.
pub const ANNOTATION_WIT: &str = "dev.blueprint.wit";
/// Ours (blueprint guests): the params JSON Schema, compact JSON.
pub const ANNOTATION_PARAMS_SCHEMA: &str = "dev.blueprint.params-schema";
/// Ours (policies): the rules it reports, compact JSON `[{id, severity, why}]`.
pub const ANNOTATION_RULES: &str = "dev.blueprint.policy-rules";

/// A component larger than this is refused before it is downloaded.
const MAX_COMPONENT_BYTES: i64 = 512 * 1024 * 1024;

static INSECURE: OnceLock<Vec<String>> = OnceLock::new();

/// `--insecure-registry HOST[:PORT]`: registries spoken to over plain HTTP besides
/// loopback ones. Set once, by the CLI.
pub fn set_insecure_registries(hosts: &[String]) {
    let _ = INSECURE.set(hosts.to_vec());
}

/// Plain HTTP for `localhost` and loopback addresses, and for registries named
/// with `--insecure-registry`; HTTPS for everything else.
pub fn plain_http(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.split(':').next().unwrap_or(registry),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback
        || INSECURE
            .get()
            .is_some_and(|list| list.iter().any(|h| h == registry || h == host))
}

/// A reference as written: `REGISTRY/NAMESPACE/NAME:TAG` or `...@sha256:HEX`.
/// The registry must be explicit (no implied Docker Hub).
pub fn parse(text: &str) -> Result<Reference, OciError> {
    check_syntax(text).map_err(OciError::Reference)?;
    let text = text.strip_prefix("oci://").unwrap_or(text);
    let reference: Reference = text
        .parse()
        .map_err(|e| OciError::Reference(format!("{text:?} is not an OCI reference: {e}")))?;
    if reference.tag().is_none() && reference.digest().is_none() {
        return Err(OciError::Reference(format!(
            "OCI reference {text:?} needs a tag (:1.0.0) or a digest (@sha256:...)"
        )));
    }
    Ok(reference)
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    let mut out = String::from("sha256:");
    for b in Sha256::digest(bytes) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A client for the reference's registry with its credentials.
async fn connect(reference: &Reference, operation: RegistryOperation) -> Result<Client, OciError> {
    let registry = reference.resolve_registry().to_owned();
    let protocol = if plain_http(&registry) {
        ClientProtocol::HttpsExcept(vec![registry.clone()])
    } else {
        ClientProtocol::Https
    };
    // Bounded like every API call (providers/deadline.rs): a registry that
    // accepts the connection and never answers ends the command. A read
    // timeout, not a total one, so a large pull that keeps moving finishes.
    let client = Client::new(ClientConfig {
        protocol,
        connect_timeout: Some(crate::providers::deadline::CONNECT_TIMEOUT),
        read_timeout: Some(crate::providers::deadline::call_timeout()),
        ..Default::default()
    });
    let credentials = auth::credentials(&registry)?;
    client
        .auth(reference, &credentials, operation)
        .await
        .map_err(|e| OciError::registry(Step::Authenticate, &reference.whole(), e))?;
    Ok(client)
}

/// The manifest digest a tag points to now.
pub async fn resolve(reference: &Reference) -> Result<String, OciError> {
    let client = connect(reference, RegistryOperation::Pull).await?;
    let (_, digest) = fetch_manifest(&client, reference).await?;
    Ok(digest)
}

/// The raw manifest and its digest, checked: the digest is the SHA-256 of the
/// bytes (and the reference's digest, when it has one).
async fn fetch_manifest(
    client: &Client,
    reference: &Reference,
) -> Result<(Vec<u8>, String), OciError> {
    let (bytes, digest) = client
        .pull_manifest_raw(reference, &RegistryAuth::Anonymous, &[MANIFEST_MEDIA_TYPE])
        .await
        .map_err(|e| OciError::registry(Step::FetchManifest, &reference.whole(), e))?;
    let actual = sha256_digest(&bytes);
    if let Some(pinned) = reference.digest()
        && pinned != actual
    {
        return Err(OciError::Refused(format!(
            "refusing {}: the registry served a manifest whose digest is {actual} (tampered with, or a broken registry)",
            reference.whole()
        )));
    }
    if digest != actual {
        return Err(OciError::Refused(format!(
            "refusing {}: the registry says the manifest is {digest}, its bytes hash to {actual}",
            reference.whole()
        )));
    }
    Ok((bytes.to_vec(), actual))
}

/// A Wasm artifact's manifest, checked for the layout: the Wasm config and one
/// `application/wasm` layer.
pub fn wasm_layer(manifest: &OciImageManifest, what: &str) -> Result<OciDescriptor, OciError> {
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(OciError::Layout(format!(
            "{what} is not a Wasm component artifact: its config is {:?}, not {CONFIG_MEDIA_TYPE}",
            manifest.config.media_type
        )));
    }
    let wasm: Vec<&OciDescriptor> = manifest
        .layers
        .iter()
        .filter(|l| l.media_type == LAYER_MEDIA_TYPE)
        .collect();
    match wasm.as_slice() {
        [layer] if is_sha256_digest(&layer.digest) => Ok((*layer).clone()),
        [_] => Err(OciError::Layout(format!(
            "{what}: the component layer's digest is not sha256"
        ))),
        _ => Err(OciError::Layout(format!(
            "{what} must have exactly one {LAYER_MEDIA_TYPE} layer, it has {}",
            wasm.len()
        ))),
    }
}

/// What a registry says about an artifact, without downloading the component.
pub struct Described {
    pub digest: String,
    pub manifest: OciImageManifest,
    pub layer: OciDescriptor,
}

impl Described {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.manifest
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }
}

/// The manifest of a tag or digest (for `inspect oci://...`).
pub async fn describe(reference: &Reference) -> Result<Described, OciError> {
    let client = connect(reference, RegistryOperation::Pull).await?;
    let (bytes, digest) = fetch_manifest(&client, reference).await?;
    let manifest = parse_manifest(&bytes, &reference.whole())?;
    let layer = wasm_layer(&manifest, &reference.whole())?;
    Ok(Described {
        digest,
        manifest,
        layer,
    })
}

fn parse_manifest(bytes: &[u8], what: &str) -> Result<OciImageManifest, OciError> {
    serde_json::from_slice(bytes)
        .map_err(|e| OciError::Layout(format!("{what}: not an OCI image manifest: {e}")))
}

/// Where pulled artifacts live: components as `<cache>/guests/<hex>.wasm` (the
/// same content-addressed names as S3 guests), manifests as
/// `<cache>/guests/oci/<hex>.json`.
fn cache_dir() -> PathBuf {
    crate::runtime::cache_root()
        .map(|d| d.join("guests"))
        .unwrap_or_else(|| std::env::temp_dir().join("blueprint-guests"))
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// The component file of the artifact `reference` pins at `digest`: from the cache
/// when both the manifest and the component there still hash to their digests,
/// else downloaded, verified and cached.
pub async fn pull(reference: &Reference, digest: &str) -> Result<PathBuf, OciError> {
    let what = reference.whole();
    let dir = cache_dir();
    let manifest_file = dir.join("oci").join(format!("{}.json", hex_of(digest)));
    if let Some(path) = cached(&manifest_file, digest, &dir, &what) {
        return Ok(path);
    }
    let pinned = reference.clone_with_digest(digest.to_owned());
    let client = connect(&pinned, RegistryOperation::Pull).await?;
    let (bytes, _) = fetch_manifest(&client, &pinned).await?;
    let manifest = parse_manifest(&bytes, &what)?;
    let layer = wasm_layer(&manifest, &what)?;
    if layer.size > MAX_COMPONENT_BYTES || layer.size < 0 {
        return Err(OciError::Refused(format!(
            "{what}: the component is {} bytes, over the {MAX_COMPONENT_BYTES} byte limit",
            layer.size
        )));
    }
    let mut stream = client
        .pull_blob_stream(&pinned, &layer)
        .await
        .map_err(|e| OciError::registry(Step::Download, &what, e))?;
    let mut component = Vec::with_capacity(layer.size as usize);
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| refusal(&what, &layer.digest, &e.to_string()))?
    {
        if component.len() + chunk.len() > layer.size as usize {
            return Err(refusal(
                &what,
                &layer.digest,
                "the registry sent more bytes than the manifest declares",
            ));
        }
        component.extend_from_slice(&chunk);
    }
    let actual = sha256_digest(&component);
    if actual != layer.digest {
        return Err(refusal(
            &what,
            &layer.digest,
            &format!("the bytes hash to {actual}"),
        ));
    }
    let path = dir.join(format!("{}.wasm", hex_of(&layer.digest)));
    let cache = |path: &Path| {
        let what = what.clone();
        let path = path.to_owned();
        move |cause| OciError::Cache { what, path, cause }
    };
    store(&path, &component).map_err(cache(&path))?;
    // The manifest last: its presence says the component beside it is complete.
    store(&manifest_file, &bytes).map_err(cache(&manifest_file))?;
    Ok(path)
}

fn refusal(what: &str, digest: &str, why: &str) -> OciError {
    OciError::Refused(format!(
        "refusing {what}: its component does not match the manifest's digest {digest} ({why}): tampered with in the registry, or corrupted in transit"
    ))
}

/// A cache hit only when every byte still matches its digest.
fn cached(manifest_file: &Path, digest: &str, dir: &Path, what: &str) -> Option<PathBuf> {
    let bytes = std::fs::read(manifest_file).ok()?;
    if sha256_digest(&bytes) != digest {
        return None;
    }
    let manifest = parse_manifest(&bytes, what).ok()?;
    let layer = wasm_layer(&manifest, what).ok()?;
    let path = dir.join(format!("{}.wasm", hex_of(&layer.digest)));
    let component = std::fs::read(&path).ok()?;
    (sha256_digest(&component) == layer.digest).then_some(path)
}

/// Temp file + rename: a concurrent run never sees half a file.
fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The component from a blueprint's `oci = "..."`: a digest reference as is; a
/// tag through the lock file beside the blueprint (resolved and recorded on first
/// use, then fixed until `blueprint update`).
pub async fn locate(text: &str, blueprint_dir: &Path) -> Result<PathBuf, OciError> {
    if let Some(digest) = check_syntax(text).map_err(OciError::Reference)? {
        return pull_text(text, digest).await;
    }
    let lock = lock::Lock::load(blueprint_dir)?;
    if let Some(digest) = lock.get(text) {
        return pull_text(text, digest).await.map_err(|e| match e {
            OciError::Registry {
                step: Step::FetchManifest,
                ..
            } => OciError::PinGone {
                cause: Box::new(e),
                lock: lock.path().to_owned(),
            },
            e => e,
        });
    }
    if lock::is_locked() {
        return Err(OciError::Lock(format!(
            "{text} is not pinned in {}, and --locked forbids writing it: resolve it where the lock file may be written (`blueprint update FILE`), and commit it",
            lock::Lock::path_in(blueprint_dir).display()
        )));
    }
    let reference = parse(text)?;
    let digest = resolve(&reference).await?;
    let path = pull(&reference, &digest).await?;
    lock::record(blueprint_dir, text, &digest)?;
    tracing::info!(reference = text, %digest, "tag resolved and locked");
    Ok(path)
}

/// [`pull`] from the reference as written: the cache first, and the reference
/// parsed only when the registry must be asked.
async fn pull_text(text: &str, digest: &str) -> Result<PathBuf, OciError> {
    let dir = cache_dir();
    let manifest_file = dir.join("oci").join(format!("{}.json", hex_of(digest)));
    if let Some(path) = cached(&manifest_file, digest, &dir, text) {
        return Ok(path);
    }
    pull(&parse(text)?, digest).await
}

/// The Wasm config blob (the artifact spec's `application/vnd.wasm.config.v0+json`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    pub created: String,
    pub author: Option<String>,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip2` for components.
    pub os: String,
    /// The layers' digests, in manifest order.
    pub layer_digests: Vec<String>,
    pub component: ComponentInfo,
}

/// The component's world as the spec records it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ComponentInfo {
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    /// The world it targets, e.g. `blueprint:cloud/guest@0.1.0`.
    pub target: Option<String>,
}

/// Push a component in the Wasm artifact layout; returns the manifest digest.
pub async fn push(
    reference: &Reference,
    component: &[u8],
    config: &WasmConfig,
    annotations: BTreeMap<String, String>,
) -> Result<String, OciError> {
    let what = reference.whole();
    let client = connect(reference, RegistryOperation::Push).await?;
    let layer_digest = sha256_digest(component);
    // Plain data: serializing cannot fail.
    let config_bytes = serde_json::to_vec(config).expect("the Wasm config serializes");
    let config_digest = sha256_digest(&config_bytes);
    for (bytes, digest) in [
        (component.to_vec(), &layer_digest),
        (config_bytes.clone(), &config_digest),
    ] {
        client
            .push_blob(reference, bytes, digest)
            .await
            .map_err(|e| OciError::registry(Step::PushBlob, &what, e))?;
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_bytes.len()},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": layer_digest, "size": component.len()}],
        "annotations": annotations,
    });
    let bytes = serde_json::to_vec(&manifest).expect("a JSON value serializes");
    let digest = sha256_digest(&bytes);
    client
        .push_manifest_raw(
            reference,
            bytes,
            reqwest::header::HeaderValue::from_static(MANIFEST_MEDIA_TYPE),
        )
        .await
        .map_err(|e| OciError::registry(Step::PushManifest, &what, e))?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_their_registry() {
        let r = parse("127.0.0.1:5000/platform/seed:1.0.0").unwrap();
        assert_eq!(r.resolve_registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "platform/seed");
        assert_eq!(r.tag(), Some("1.0.0"));
        let hex = "a".repeat(64);
        let r = parse(&format!("oci://ghcr.io/acme/seed@sha256:{hex}")).unwrap();
        assert_eq!(r.digest(), Some(format!("sha256:{hex}").as_str()));
        assert!(
            parse("acme/seed:1.0")
                .unwrap_err()
                .to_string()
                .contains("must name its registry")
        );
        assert!(
            parse("ghcr.io/acme/seed").is_err()
                || parse("ghcr.io/acme/seed").unwrap().tag().is_some()
        );
    }

    #[test]
    fn the_quick_check_agrees_with_the_full_parse() {
        let hex = "c".repeat(64);
        for ok in [
            "127.0.0.1:5000/platform/seed:1.0.0".to_owned(),
            "oci://ghcr.io/acme/team/seed:v2".to_owned(),
            format!("localhost/acme/seed@sha256:{hex}"),
            format!("ghcr.io/acme/seed:1.0@sha256:{hex}"),
        ] {
            assert!(check_syntax(&ok).is_ok(), "{ok}");
            assert!(parse(&ok).is_ok(), "{ok}");
        }
        assert_eq!(
            check_syntax(&format!("r.example/a/b@sha256:{hex}")).unwrap(),
            Some(format!("sha256:{hex}").as_str())
        );
        for bad in [
            "acme/seed:1.0",
            "seed",
            "r.example:5000/acme/seed",
            "r.example/acme/seed@sha256:abc",
            "r.example/acme/seed@md5:00",
        ] {
            assert!(check_syntax(bad).is_err(), "{bad}");
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_unless_named() {
        assert!(plain_http("127.0.0.1:5000"));
        assert!(plain_http("localhost:5000"));
        assert!(plain_http("[::1]:5000"));
        assert!(!plain_http("ghcr.io"));
        assert!(!plain_http("10.0.0.1:5000"));
    }

    #[test]
    fn a_manifest_must_be_the_wasm_layout() {
        let layer = |media: &str| OciDescriptor {
            media_type: media.into(),
            digest: format!("sha256:{}", "b".repeat(64)),
            size: 10,
            ..Default::default()
        };
        let manifest = |config: &str, layers: Vec<OciDescriptor>| OciImageManifest {
            config: OciDescriptor {
                media_type: config.into(),
                ..layer(config)
            },
            layers,
            ..Default::default()
        };
        assert!(
            wasm_layer(
                &manifest(CONFIG_MEDIA_TYPE, vec![layer(LAYER_MEDIA_TYPE)]),
                "x"
            )
            .is_ok()
        );
        let e = wasm_layer(
            &manifest(
                "application/vnd.oci.image.config.v1+json",
                vec![layer(LAYER_MEDIA_TYPE)],
            ),
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not a Wasm component artifact"), "{e}");
        let e = wasm_layer(&manifest(CONFIG_MEDIA_TYPE, vec![]), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one"), "{e}");
    }
}
