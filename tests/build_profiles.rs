//! The workspace's `Cargo.toml` lowers the opt-level of crates that are not on a
//! hot path in `release` (what the tests and `scripts/demo` build) and `dist` (the
//! shipped binary) must set each of them back to 3: a custom profile inherits
//! package overrides, and they win over its own `opt-level`. A crate lowered in
//! one list and missing from the other would ship unoptimised; this keeps the two
//! lists the same.

use crate::support;

fn package_overrides<'a>(manifest: &'a toml::Table, profile: &str) -> &'a toml::Table {
    manifest["profile"][profile]["package"]
        .as_table()
        .unwrap_or_else(|| panic!("[profile.{profile}.package.*] tables"))
}

#[test]
fn dist_builds_every_crate_release_lowers_at_opt_level_3() {
    let text = std::fs::read_to_string(support::root().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    let release = package_overrides(&manifest, "release");
    let dist = package_overrides(&manifest, "dist");
    let lowered: Vec<&String> = release
        .iter()
        .filter(|(_, settings)| settings.get("opt-level").is_some())
        .map(|(name, _)| name)
        .collect();
    assert!(
        lowered.len() > 10,
        "release lowers the SDK crates: {lowered:?}"
    );
    for name in &lowered {
        let opt = dist
            .get(name.as_str())
            .and_then(|settings| settings.get("opt-level"))
            .and_then(toml::Value::as_integer);
        assert_eq!(
            opt,
            Some(3),
            "[profile.release.package.{name}] lowers opt-level; [profile.dist.package.{name}] must set it back to 3"
        );
    }
    let extra: Vec<&String> = dist
        .iter()
        .filter(|(name, _)| !lowered.contains(name))
        .map(|(name, _)| name)
        .collect();
    assert!(
        extra.is_empty(),
        "dist overrides crates release does not lower: {extra:?}"
    );
}
