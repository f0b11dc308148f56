//! `export --format terraform-json`: a validated graph as a Terraform JSON
//! configuration (<https://developer.hashicorp.com/terraform/language/syntax/json>)
//! for the official `hashicorp/aws` and `PagerDuty/pagerduty` providers.
//!
//! The mapping is data: one [`TerraformMap`] per kind, in the kind's descriptor
//! (`KindInfo::terraform`, in `providers/<provider>/kinds/<kind>.rs`), names the
//! Terraform type, where each prop goes and which expression stands for each
//! output. This module only interprets the tables: every node becomes one
//! `resource` or `data` block, every reference token a Terraform expression, and
//! anything the tables do not cover is an [`ExportError`] — a prop is never
//! dropped silently. Secrets are never written: integration keys are read from
//! Terraform's own state through references, the PagerDuty token from the
//! provider's `PAGERDUTY_TOKEN`. Assets are written as paths under
//! [`ASSET_DIR`] beside the configuration; [`write_assets`] puts the exact zips
//! there. See docs/export.md.

use blueprint_model::terraform as table;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use table::{AssetHash, Block, OutputMap, PropMap, Target, TerraformMap};

use crate::blueprint_file::Blueprint;
use crate::providers::{TAG_BLUEPRINT, TAG_NODE};
use blueprint_model::assets::Asset;
use blueprint_model::graph::token::{self, Part, Reference};
use blueprint_model::graph::{Graph, Node};
use blueprint_model::kind::{Catalog, KindInfo};

/// The `hashicorp/aws` versions the mapping is written for (Lambda's
/// `logging_config` needs 5.30 or later; v6 keeps every attribute used here).
pub const AWS_PROVIDER_VERSION: &str = ">= 5.30, < 7.0";
/// The `PagerDuty/pagerduty` versions the mapping is written for.
pub const PAGERDUTY_PROVIDER_VERSION: &str = "~> 3.0";
/// The folder, beside the configuration, that asset zips are expected in.
pub const ASSET_DIR: &str = "assets";

/// Why a graph cannot be exported; each names the node, its kind and the prop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("{node} ({kind}): the kind {kind} has no Terraform mapping")]
    UnknownKind { node: String, kind: String },
    #[error(
        "{node} ({kind}) prop `{prop}`: no Terraform attribute is mapped for this prop, so it cannot be exported"
    )]
    UnmappedProp {
        node: String,
        kind: String,
        prop: String,
    },
    #[error("{node} ({kind}) prop `{prop}`: {message}")]
    BadProp {
        node: String,
        kind: String,
        prop: String,
        message: String,
    },
}

/// Every kind with its mapping, in registration order.
pub fn mappings(
    catalog: &Catalog,
) -> impl Iterator<Item = (&'static KindInfo, &'static TerraformMap)> + '_ {
    catalog.all().map(|k| (k, &k.terraform))
}

/// The mapping of one of our kinds.
pub fn mapping(catalog: &Catalog, kind: &str) -> Option<&'static TerraformMap> {
    catalog.lookup(kind).map(|k| &k.terraform)
}

/// The kind (and its mapping) that produces a Terraform type (`aws_sns_topic`).
pub fn mapping_for_type(
    catalog: &Catalog,
    tf_type: &str,
) -> Option<(&'static KindInfo, &'static TerraformMap)> {
    mappings(catalog).find(|(_, m)| m.tf_type == tf_type)
}

/// Where an asset's zip is expected, relative to the configuration.
pub fn asset_path(asset: &Asset) -> String {
    format!("{ASSET_DIR}/{}", asset.file_name)
}

/// Write every asset's zip under `dir`/[`ASSET_DIR`], where the exported
/// configuration points; returns the files written.
pub fn write_assets(graph: &Graph, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let folder = dir.join(ASSET_DIR);
    if !graph.assets.is_empty() {
        std::fs::create_dir_all(&folder)?;
    }
    let mut written = Vec::new();
    for asset in graph.assets.values() {
        let path = folder.join(&asset.file_name);
        std::fs::write(&path, asset.zip.as_slice())?;
        written.push(path);
    }
    Ok(written)
}

/// The Terraform block name of every node, by node id: the id itself when it is
/// already a valid name (`[A-Za-z0-9_-]`, starting with a letter or `_`), else the
/// id with every other character replaced by `_` (and a leading `_` when it
/// starts with a digit or `-`), made unique with `_2`, `_3`, ... in id order.
pub fn terraform_names(graph: &Graph) -> BTreeMap<String, String> {
    let nodes = graph.sorted_nodes();
    let mut names = BTreeMap::new();
    let mut used = HashSet::new();
    // Ids that are already names keep them, whatever else is in the graph.
    for node in &nodes {
        if !node.id.is_empty() && sanitize(&node.id) == node.id {
            used.insert(node.id.clone());
            names.insert(node.id.clone(), node.id.clone());
        }
    }
    for node in &nodes {
        if names.contains_key(&node.id) {
            continue;
        }
        let base = sanitize(&node.id);
        let mut candidate = base.clone();
        let mut n = 2;
        while used.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        used.insert(candidate.clone());
        names.insert(node.id.clone(), candidate);
    }
    names
}

fn sanitize(id: &str) -> String {
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    name
}

/// The graph as a Terraform JSON configuration: `terraform.required_providers`,
/// the two `provider` blocks (from the blueprint's provider settings), and one
/// `resource` or `data` block per node. Keys are sorted, so the same graph always
/// gives the same bytes.
/// `catalog`: the kinds the graph was validated against.
pub fn terraform_json(
    graph: &Graph,
    catalog: &Catalog,
    blueprint: &Blueprint,
) -> Result<Value, ExportError> {
    let settings = &blueprint.providers.pagerduty;
    let eu = crate::blueprint_file::pagerduty::service_region(settings) == "eu";
    let exporter = Exporter {
        graph,
        catalog,
        names: terraform_names(graph),
        events_host: crate::blueprint_file::pagerduty::events_host(settings),
        blueprint_name: &blueprint.name,
    };

    let mut resources: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut data: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut outputs: Map<String, Value> = Map::new();
    for node in graph.sorted_nodes() {
        let map = mapping(catalog, &node.kind).ok_or_else(|| ExportError::UnknownKind {
            node: node.id.clone(),
            kind: node.kind.clone(),
        })?;
        let body = exporter.block(node, map)?;
        let blocks = match map.block {
            Block::Resource => &mut resources,
            Block::Data => &mut data,
            Block::Output => {
                outputs.insert(exporter.names[&node.id].clone(), Value::Object(body));
                continue;
            }
        };
        blocks
            .entry(map.tf_type)
            .or_default()
            .insert(exporter.names[&node.id].clone(), Value::Object(body));
    }

    let mut root = Map::new();
    root.insert(
        "terraform".into(),
        serde_json::json!({
            "required_providers": {
                "aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION},
                "pagerduty": {"source": "PagerDuty/pagerduty", "version": PAGERDUTY_PROVIDER_VERSION},
            }
        }),
    );
    let mut aws = Map::new();
    let settings = &blueprint.providers.aws;
    if let Some(region) = &settings.region {
        aws.insert("region".into(), Value::String(escape(region)));
    }
    if let Some(profile) = &settings.profile {
        aws.insert("profile".into(), Value::String(escape(profile)));
    }
    // The token is the provider's own PAGERDUTY_TOKEN; it is never written.
    let mut pd = Map::new();
    if eu {
        pd.insert("service_region".into(), Value::String("eu".into()));
    }
    root.insert(
        "provider".into(),
        serde_json::json!({"aws": aws, "pagerduty": pd}),
    );
    let section = |blocks: BTreeMap<&str, Map<String, Value>>| {
        Value::Object(
            blocks
                .into_iter()
                .map(|(tf_type, named)| (tf_type.to_owned(), Value::Object(named)))
                .collect(),
        )
    };
    if !resources.is_empty() {
        root.insert("resource".into(), section(resources));
    }
    if !data.is_empty() {
        root.insert("data".into(), section(data));
    }
    if !outputs.is_empty() {
        root.insert("output".into(), Value::Object(outputs));
    }
    Ok(sorted(Value::Object(root)))
}

/// Keys sorted at every level, whatever map order serde_json was built with.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Literal text inside a Terraform JSON string: `${` and `%{` would start an
/// interpolation or directive, so they are escaped as `$${` and `%%{`.
pub fn escape(text: &str) -> String {
    text.replace("${", "$${").replace("%{", "%%{")
}

/// A piece of a Terraform string template.
enum Seg {
    Text(String),
    /// The body of a `${...}` interpolation.
    Interp(String),
}

/// A template from pieces: text escaped, adjacent text merged (so escaping sees
/// whole runs), and a literal `$` right before an interpolation written as
/// `${"$"}` (`$${` would be an escape).
fn render(segs: Vec<Seg>) -> String {
    let mut merged: Vec<Seg> = Vec::new();
    for seg in segs {
        match (merged.last_mut(), seg) {
            (Some(Seg::Text(prev)), Seg::Text(text)) => prev.push_str(&text),
            (_, seg) => merged.push(seg),
        }
    }
    let mut out = String::new();
    let mut iter = merged.into_iter().peekable();
    while let Some(seg) = iter.next() {
        match seg {
            Seg::Text(text) => {
                let before_interp = matches!(iter.peek(), Some(Seg::Interp(_)));
                match text.strip_suffix('$') {
                    Some(rest) if before_interp => {
                        out.push_str(&escape(rest));
                        out.push_str("${\"$\"}");
                    }
                    _ => out.push_str(&escape(&text)),
                }
            }
            Seg::Interp(body) => {
                out.push_str("${");
                out.push_str(&body);
                out.push('}');
            }
        }
    }
    out
}

/// Where in a node a value sits, for errors.
struct At<'a> {
    node: &'a Node,
    path: String,
}

impl<'a> At<'a> {
    fn child(&self, rel: &str) -> At<'a> {
        At {
            node: self.node,
            path: if self.path.is_empty() {
                rel.to_owned()
            } else if rel.starts_with('[') {
                format!("{}{rel}", self.path)
            } else {
                format!("{}.{rel}", self.path)
            },
        }
    }

    fn bad(&self, message: impl Into<String>) -> ExportError {
        ExportError::BadProp {
            node: self.node.id.clone(),
            kind: self.node.kind.clone(),
            prop: self.path.clone(),
            message: message.into(),
        }
    }

    fn unmapped(&self) -> ExportError {
        ExportError::UnmappedProp {
            node: self.node.id.clone(),
            kind: self.node.kind.clone(),
            prop: self.path.clone(),
        }
    }
}

struct Exporter<'a> {
    graph: &'a Graph,
    catalog: &'a Catalog,
    names: BTreeMap<String, String>,
    events_host: &'static str,
    blueprint_name: &'a str,
}

impl Exporter<'_> {
    /// One node's block body.
    fn block(&self, node: &Node, map: &TerraformMap) -> Result<Map<String, Value>, ExportError> {
        let mut body = Map::new();
        let at = At {
            node,
            path: String::new(),
        };
        let mut props = node.props.clone();
        let depends_on = props.remove(blueprint_model::graph::DEPENDS_ON);
        self.fields(map.props, &props, &at, &mut body)?;
        if let Some(finish) = map.finish {
            finish(&mut body);
        }
        if let Some(on) = depends_on {
            body.insert("depends_on".into(), self.depends_on(&on, &at)?);
        }
        Ok(body)
    }

    /// Terraform's `depends_on` meta-argument: the addresses of the blocks the
    /// node's explicit dependencies name.
    fn depends_on(&self, on: &Value, at: &At<'_>) -> Result<Value, ExportError> {
        let mut addresses = Vec::new();
        for token in on
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            for target in blueprint_model::graph::token::referenced_nodes(token) {
                let node = self.graph.node(target).ok_or_else(|| {
                    at.bad(format!("depends on '{target}', which is not in the graph"))
                })?;
                let map = mapping(self.catalog, &node.kind).ok_or_else(|| {
                    at.bad(format!(
                        "depends on {} ({}), a kind with no Terraform mapping",
                        node.id, node.kind
                    ))
                })?;
                let address =
                    Value::String(format!("{}.{}", map.address_prefix(), self.names[&node.id]));
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
        }
        Ok(Value::Array(addresses))
    }

    /// Map an object's fields into `out`; `at` is where the object sits.
    fn fields(
        &self,
        fields: &'static [PropMap],
        object: &Map<String, Value>,
        at: &At<'_>,
        out: &mut Map<String, Value>,
    ) -> Result<(), ExportError> {
        let mut found = Vec::new();
        leaves(fields, object, "", &mut found);
        for (path, value) in found {
            if value.is_null() {
                continue;
            }
            let here = at.child(&path);
            let field = fields
                .iter()
                .find(|f| f.prop == path)
                .ok_or_else(|| here.unmapped())?;
            self.apply(field, value, &here, out)?;
            for (attr, constant) in field.with {
                insert_path(out, attr, Value::String((*constant).to_owned()));
            }
        }
        for field in fields {
            if present(object, field.prop) {
                continue;
            }
            match (&field.to, field.absent) {
                (Target::Tags, _) => {
                    let tags = self.tags(&[], at)?;
                    out.insert("tags".into(), tags);
                }
                (target, Some(default)) => {
                    insert_path(out, target.attr(), Value::String(default.to_owned()));
                }
                (_, None) => {}
            }
        }
        Ok(())
    }

    fn apply(
        &self,
        field: &PropMap,
        value: &Value,
        at: &At<'_>,
        out: &mut Map<String, Value>,
    ) -> Result<(), ExportError> {
        match &field.to {
            Target::Omit => {}
            Target::Attr(attr) => insert_path(out, attr, self.value(value, at)?),
            Target::Text(attr) => {
                let converted = match value {
                    Value::Number(n) => Value::String(number_text(n)),
                    other => self.value(other, at)?,
                };
                insert_path(out, attr, converted);
            }
            Target::Map {
                attr,
                key,
                value: v,
            } => {
                let mut map = Map::new();
                for (i, item) in list(value, at)?.iter().enumerate() {
                    let here = at.child(&format!("[{i}]"));
                    let entry = item
                        .as_object()
                        .ok_or_else(|| here.bad(format!("expected a {{{key}, {v}}} object")))?;
                    if let Some(extra) = entry
                        .iter()
                        .find(|(k, val)| k != key && k != v && !val.is_null())
                    {
                        return Err(here.child(extra.0).unmapped());
                    }
                    let k = entry
                        .get(*key)
                        .and_then(Value::as_str)
                        .ok_or_else(|| here.child(key).bad("expected a string"))?;
                    let val = entry.get(*v).unwrap_or(&Value::Null);
                    map.insert(
                        self.string(k, &here.child(key))?,
                        self.value(val, &here.child(v))?,
                    );
                }
                if !map.is_empty() {
                    insert_path(out, attr, Value::Object(map));
                }
            }
            Target::Blocks { block, fields } => {
                let mut blocks = Vec::new();
                // A record is one block; a list of records, one block each.
                let items = match value {
                    Value::Object(_) => std::slice::from_ref(value),
                    _ => list(value, at)?,
                };
                for (i, item) in items.iter().enumerate() {
                    let here = at.child(&format!("[{i}]"));
                    let object = item
                        .as_object()
                        .ok_or_else(|| here.bad("expected an object"))?;
                    let mut body = Map::new();
                    self.fields(fields, object, &here, &mut body)?;
                    blocks.push(Value::Object(body));
                }
                if !blocks.is_empty() {
                    insert_path(out, block, Value::Array(blocks));
                }
            }
            Target::Each { block, attr } => {
                let mut blocks = Vec::new();
                for (i, item) in list(value, at)?.iter().enumerate() {
                    let here = at.child(&format!("[{i}]"));
                    let mut body = Map::new();
                    body.insert((*attr).to_owned(), self.value(item, &here)?);
                    blocks.push(Value::Object(body));
                }
                if !blocks.is_empty() {
                    insert_path(out, block, Value::Array(blocks));
                }
            }
            Target::Tags => {
                let tags = self.tags(list(value, at)?, at)?;
                out.insert("tags".into(), tags);
            }
            Target::Asset {
                attr,
                hash_attr,
                hash,
            } => {
                let id = value
                    .as_str()
                    .filter(|s| !token::has_token_chars(s))
                    .ok_or_else(|| at.bad("expected an asset id (asset:<sha256>)"))?;
                let asset =
                    self.graph.assets.get(id).ok_or_else(|| {
                        at.bad(format!("{id:?} is not an asset of this blueprint"))
                    })?;
                let path = render(vec![
                    Seg::Interp("path.module".into()),
                    Seg::Text(format!("/{}", asset_path(asset))),
                ]);
                insert_path(out, attr, Value::String(path));
                // A prop that sets the hash itself wins (it is inserted, this is not).
                let digest = match hash {
                    AssetHash::Sha256Hex => &asset.sha256,
                    AssetHash::Sha256Base64 => &asset.sha256_base64,
                };
                out.entry(*hash_attr)
                    .or_insert_with(|| Value::String(digest.clone()));
            }
        }
        Ok(())
    }

    /// The user's tags and the host's `blueprint:name` / `blueprint:node`.
    fn tags(&self, user: &[Value], at: &At<'_>) -> Result<Value, ExportError> {
        let mut tags = Map::new();
        for (i, tag) in user.iter().enumerate() {
            let here = at.child(&format!("[{i}]"));
            let entry = tag
                .as_object()
                .ok_or_else(|| here.bad("expected a {key, value} object"))?;
            if let Some(extra) = entry
                .iter()
                .find(|(k, v)| *k != "key" && *k != "value" && !v.is_null())
            {
                return Err(here.child(extra.0).unmapped());
            }
            let key = entry
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| here.child("key").bad("expected a string"))?;
            let value = entry.get("value").unwrap_or(&Value::Null);
            tags.insert(
                self.string(key, &here.child("key"))?,
                self.value(value, &here.child("value"))?,
            );
        }
        tags.insert(
            TAG_BLUEPRINT.into(),
            Value::String(escape(self.blueprint_name)),
        );
        tags.insert(TAG_NODE.into(), Value::String(escape(&at.node.id)));
        Ok(Value::Object(tags))
    }

    /// A prop value with every string as a Terraform template.
    fn value(&self, value: &Value, at: &At<'_>) -> Result<Value, ExportError> {
        Ok(match value {
            Value::String(s) => Value::String(self.string(s, at)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.value(v, &at.child(&format!("[{i}]"))))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let here = at.child(k);
                    out.insert(self.string(k, &here)?, self.value(v, &here)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// A string prop as a template: text escaped, references as expressions.
    fn string(&self, s: &str, at: &At<'_>) -> Result<String, ExportError> {
        let parts = token::parse(s).map_err(|e| at.bad(e))?;
        let mut segs = Vec::new();
        for part in parts {
            match part {
                Part::Text(text) => segs.push(Seg::Text(text)),
                Part::Ref(reference) => segs.extend(self.reference(&reference, at)?),
            }
        }
        Ok(render(segs))
    }

    /// What stands for `node.output` in Terraform.
    fn reference(&self, r: &Reference, at: &At<'_>) -> Result<Vec<Seg>, ExportError> {
        let target = self.graph.node(&r.node).ok_or_else(|| {
            at.bad(format!(
                "refers to node '{}', which is not in the graph",
                r.node
            ))
        })?;
        let map = mapping(self.catalog, &target.kind).ok_or_else(|| {
            at.bad(format!(
                "refers to {} ({}), a kind with no Terraform mapping",
                target.id, target.kind
            ))
        })?;
        let output = map.output(&r.output).ok_or_else(|| {
            at.bad(format!(
                "refers to output '{}' of {} ({}), which has no Terraform counterpart",
                r.output, target.id, target.kind
            ))
        })?;
        let address = format!("{}.{}", map.address_prefix(), self.names[&target.id]);
        Ok(match output {
            OutputMap::Attr(attr) => vec![Seg::Interp(format!("{address}.{attr}"))],
            OutputMap::Literal(value) => vec![Seg::Text((*value).to_owned())],
            OutputMap::PagerDutyEnqueue(attr) => vec![
                Seg::Text(format!("https://{}/integration/", self.events_host)),
                Seg::Interp(format!("{address}.{attr}")),
                Seg::Text("/enqueue".into()),
            ],
            OutputMap::Keyed { attr, key } => {
                let entry = target
                    .props
                    .get(*key)
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        at.bad(format!(
                            "refers to {} ({}), whose '{key}' is not a literal text",
                            target.id, target.kind
                        ))
                    })?;
                vec![Seg::Interp(format!("{address}.{attr}.{entry}"))]
            }
        })
    }
}

/// Leaves of an object: object values are descended into (dotted paths) unless a
/// field maps the object itself; arrays and scalars are leaves.
fn leaves<'v>(
    fields: &[PropMap],
    object: &'v Map<String, Value>,
    prefix: &str,
    out: &mut Vec<(String, &'v Value)>,
) {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !fields.iter().any(|f| f.prop == path) => {
                leaves(fields, inner, &path, out);
            }
            _ => out.push((path, value)),
        }
    }
}

/// Whether a dotted path holds a non-null value.
fn present(object: &Map<String, Value>, path: &str) -> bool {
    let mut segments = path.split('.');
    let Some(mut value) = segments.next().and_then(|s| object.get(s)) else {
        return false;
    };
    for segment in segments {
        match value.get(segment) {
            Some(v) => value = v,
            None => return false,
        }
    }
    !value.is_null()
}

/// Insert at a dotted path, creating single nested blocks (objects) on the way.
fn insert_path(out: &mut Map<String, Value>, path: &str, value: Value) {
    let mut segments: Vec<&str> = path.split('.').collect();
    let last = segments.pop().unwrap_or(path);
    let mut current = out;
    for segment in segments {
        let entry = current
            .entry(segment)
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        current = entry.as_object_mut().expect("just made an object");
    }
    current.insert(last.to_owned(), value);
}

fn list<'v>(value: &'v Value, at: &At<'_>) -> Result<&'v [Value], ExportError> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| at.bad("expected a list"))
}

/// A number as Terraform would print it: `0`, not `0.0`.
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_mapped_with_every_output() {
        for kind in crate::providers::catalog().all() {
            let map = mapping(crate::providers::catalog(), kind.name)
                .unwrap_or_else(|| panic!("{} is not mapped", kind.name));
            assert_eq!(
                map.block == Block::Data,
                kind.lookup,
                "{}: lookups are data sources, the rest resources or outputs",
                kind.name
            );
            // Nothing in a configuration can read its own `output` blocks.
            if map.block == Block::Output {
                continue;
            }
            for output in kind.outputs {
                let out = map.output(output.name).unwrap_or_else(|| {
                    panic!("{}: output {} is not mapped", kind.name, output.name)
                });
                if let Some(attr) = out.attribute() {
                    assert!(
                        map.attributes.contains(&attr),
                        "{}: output {} reads {attr}, not a declared attribute of {}",
                        kind.name,
                        output.name,
                        map.tf_type
                    );
                }
            }
            for required in kind.required {
                assert!(
                    map.props.iter().any(|p| p.prop == *required
                        || p.prop.starts_with(&format!("{required}."))),
                    "{}: required prop {required} is not mapped",
                    kind.name
                );
            }
        }
        let mut types: Vec<&str> = mappings(crate::providers::catalog())
            .map(|(_, m)| m.tf_type)
            .collect();
        types.sort_unstable();
        let count = types.len();
        types.dedup();
        assert_eq!(types.len(), count, "two kinds map to one Terraform type");
    }

    #[test]
    fn names_are_safe_and_unique() {
        let mut graph = Graph::default();
        for id in ["a.b", "a@b", "a_b", "9lives", "-x", "ok-name_1"] {
            graph.declare("test.kind", id, Map::new());
        }
        let names = terraform_names(&graph);
        assert_eq!(names["a_b"], "a_b");
        assert_eq!(names["a.b"], "a_b_2");
        assert_eq!(names["a@b"], "a_b_3");
        assert_eq!(names["9lives"], "_9lives");
        assert_eq!(names["-x"], "_-x");
        assert_eq!(names["ok-name_1"], "ok-name_1");
    }

    #[test]
    fn templates_escape_text_but_not_interpolations() {
        let segs = vec![
            Seg::Text("cost: ${5} %{x} $".into()),
            Seg::Interp("a.b.c".into()),
            Seg::Text("$".into()),
        ];
        assert_eq!(render(segs), "cost: $${5} %%{x} ${\"$\"}${a.b.c}$");
    }

    #[test]
    fn numbers_as_text() {
        assert_eq!(
            number_text(&serde_json::Number::from_f64(0.0).unwrap()),
            "0"
        );
        assert_eq!(
            number_text(&serde_json::Number::from_f64(1.5).unwrap()),
            "1.5"
        );
        assert_eq!(number_text(&serde_json::Number::from(1800)), "1800");
    }
}
