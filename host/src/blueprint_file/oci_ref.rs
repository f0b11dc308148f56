//! The syntax of an OCI reference in a blueprint file (`guest.oci`): checked
//! when the file loads, without the registry client (`oci/`).

/// The checks `parse` starts with, without building an `oci_client::Reference` (whose
/// grammar is a large regex, ~40 ms to compile): what a blueprint file and a
/// run that finds everything in its lock and cache need. The digest, if the
/// reference names one.
pub fn check_syntax(text: &str) -> Result<Option<&str>, String> {
    let text = text.strip_prefix("oci://").unwrap_or(text);
    let first = text.split('/').next().unwrap_or("");
    let explicit_registry =
        text.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !explicit_registry {
        return Err(format!(
            "OCI reference {text:?} must name its registry: REGISTRY/NAMESPACE/NAME:TAG (e.g. ghcr.io/acme/alerting:1.4.0)"
        ));
    }
    let (name, digest) = match text.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (text, None),
    };
    if let Some(digest) = digest
        && !is_sha256_digest(digest)
    {
        return Err(format!(
            "OCI reference {text:?}: the digest must be sha256:<64 lowercase hex digits>"
        ));
    }
    let tagged = name
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'));
    if digest.is_none() && !tagged {
        return Err(format!(
            "OCI reference {text:?} needs a tag (:1.0.0) or a digest (@sha256:...)"
        ));
    }
    Ok(digest)
}

pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    })
}
