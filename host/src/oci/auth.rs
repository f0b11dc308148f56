//! Registry credentials by the Docker convention, which registry tools share
//! (docker, podman, oras, wkg): `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`. For a registry, in order: its `credHelpers` entry,
//! else the `credsStore` — both run `docker-credential-<helper> get` with the
//! registry on stdin and read `{"Username", "Secret"}` from stdout (the
//! docker-credential-helpers protocol) — else its `auths` entry (base64
//! `user:password` in `auth`, or `username` + `password`). Anonymous when none
//! applies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde_json::Value;

use super::OciError;

/// Docker Hub's key in `auths` (docker's own spelling).
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The Docker config folder: `DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(".docker"))
}

/// Credentials for `registry` (`host[:port]`).
pub fn credentials(registry: &str) -> Result<RegistryAuth, OciError> {
    match config_dir() {
        Some(dir) => credentials_in(&dir, registry),
        None => Ok(RegistryAuth::Anonymous),
    }
}

pub fn credentials_in(dir: &Path, registry: &str) -> Result<RegistryAuth, OciError> {
    credentials_with(dir, registry, None).map_err(OciError::Credentials)
}

/// `search_path`: where helpers are looked up instead of `PATH` (tests).
fn credentials_with(
    dir: &Path,
    registry: &str,
    search_path: Option<&Path>,
) -> Result<RegistryAuth, String> {
    let file = dir.join("config.json");
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RegistryAuth::Anonymous),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    let config: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", file.display()))?;
    let helper = config["credHelpers"]
        .as_object()
        .and_then(|helpers| find(helpers, registry))
        .or(config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|h| !h.is_empty());
    if let Some(helper) = helper
        && let Some(auth) = from_helper(helper, registry, search_path)?
    {
        return Ok(auth);
    }
    let Some(entry) = config["auths"]
        .as_object()
        .and_then(|auths| find(auths, registry))
    else {
        return Ok(RegistryAuth::Anonymous);
    };
    if let Some(encoded) = entry["auth"].as_str().filter(|s| !s.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                format!(
                    "{}: auths.{registry}.auth is not base64: {e}",
                    file.display()
                )
            })?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| format!("{}: auths.{registry}.auth is not UTF-8", file.display()))?;
        let Some((user, password)) = decoded.split_once(':') else {
            return Err(format!(
                "{}: auths.{registry}.auth must encode user:password",
                file.display()
            ));
        };
        return Ok(RegistryAuth::Basic(user.to_owned(), password.to_owned()));
    }
    match (entry["username"].as_str(), entry["password"].as_str()) {
        (Some(user), Some(password)) => {
            Ok(RegistryAuth::Basic(user.to_owned(), password.to_owned()))
        }
        _ => Ok(RegistryAuth::Anonymous),
    }
}

/// An entry keyed by the registry, spelled as docker writes keys (bare
/// `host:port`, or a URL such as `https://host/v1/`).
fn find<'a>(map: &'a serde_json::Map<String, Value>, registry: &str) -> Option<&'a Value> {
    let hub = matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    );
    map.iter().find_map(|(key, value)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or("");
        (host == registry || (hub && (key == DOCKER_HUB_KEY || host == "index.docker.io")))
            .then_some(value)
    })
}

/// `docker-credential-<helper> get`: `None` when the helper has no credentials
/// for the registry (it says so and exits non-zero).
fn from_helper(
    helper: &str,
    registry: &str,
    search_path: Option<&Path>,
) -> Result<Option<RegistryAuth>, String> {
    let program = format!("docker-credential-{helper}");
    let mut command = Command::new(match search_path {
        Some(dir) => dir.join(&program),
        None => PathBuf::from(&program),
    });
    let mut child = command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("the Docker config names credential helper {program}, which cannot be run: {e}")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(registry.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program} get: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if said.to_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!(
            "{program} get failed for {registry}: {}",
            said.trim()
        ));
    }
    let answer: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{program} get answered something that is not JSON: {e}"))?;
    match (answer["Username"].as_str(), answer["Secret"].as_str()) {
        (Some(user), Some(secret)) => Ok(Some(RegistryAuth::Basic(
            user.to_owned(),
            secret.to_owned(),
        ))),
        _ => Err(format!(
            "{program} get answered without Username and Secret"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(auth: RegistryAuth) -> (String, String) {
        match auth {
            RegistryAuth::Basic(u, p) => (u, p),
            other => panic!("expected basic, got {other:?}"),
        }
    }

    #[test]
    fn auths_entries_by_host_in_any_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::json!({"auths": {
                "https://registry.example:5000/v1/": {"auth": encoded},
                "other.example": {"username": "u", "password": "p"},
                "https://index.docker.io/v1/": {"auth": base64::engine::general_purpose::STANDARD.encode("hub:pw")},
            }})
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            basic(credentials_in(dir.path(), "registry.example:5000").unwrap()),
            ("ci".into(), "s3cret".into())
        );
        assert_eq!(
            basic(credentials_in(dir.path(), "other.example").unwrap()),
            ("u".into(), "p".into())
        );
        assert_eq!(
            basic(credentials_in(dir.path(), "docker.io").unwrap()).0,
            "hub"
        );
        assert!(matches!(
            credentials_in(dir.path(), "ghcr.io").unwrap(),
            RegistryAuth::Anonymous
        ));
    }

    #[test]
    fn no_config_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            credentials_in(dir.path(), "ghcr.io").unwrap(),
            RegistryAuth::Anonymous
        ));
    }

    /// A real helper process speaking the protocol: registry on stdin, JSON out;
    /// "credentials not found" falls back to `auths`.
    #[test]
    fn credential_helpers_run_by_the_protocol() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-fake");
        std::fs::write(
            &helper,
            "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r host\nif [ \"$host\" = ghcr.io ]; then printf '{\"ServerURL\":\"%s\",\"Username\":\"bot\",\"Secret\":\"tok\"}' \"$host\"; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode("a:b");
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::json!({"credsStore": "fake", "auths": {"quay.io": {"auth": encoded}}})
                .to_string(),
        )
        .unwrap();
        let got = |r| credentials_with(dir.path(), r, Some(dir.path())).unwrap();
        assert_eq!(basic(got("ghcr.io")), ("bot".into(), "tok".into()));
        assert_eq!(basic(got("quay.io")), ("a".into(), "b".into()));
        assert!(matches!(got("example.org"), RegistryAuth::Anonymous));
    }

    #[test]
    fn a_missing_helper_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"credHelpers": {"ghcr.io": "blueprint-test-no-such-helper"}}"#,
        )
        .unwrap();
        let e = credentials_in(dir.path(), "ghcr.io")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("docker-credential-blueprint-test-no-such-helper"),
            "{e}"
        );
    }
}
