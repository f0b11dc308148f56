//! How a kind is adopted: [`ImportId`], one per kind in its descriptor
//! (`KindInfo::import`). The id is the one Terraform's `import` takes for the
//! kind's Terraform type, as the provider documents it, so an id copied from a
//! Terraform workflow works here unchanged.

use serde_json::{Map, Value};

use crate::resource::Resource;

/// How `blueprint import` finds and reads an existing object of one kind.
#[derive(Debug)]
pub struct ImportId {
    /// The id `terraform import` takes for the kind's type, with Terraform
    /// attribute paths in braces (`{role}/{policy_arn}`): filled from a tfstate
    /// instance's attributes, and the format a `NODE=ID` argument is read in.
    pub format: &'static str,
    /// Where the official provider documents that id (its "Import" section).
    pub docs: &'static str,
    /// The props that identify the object in its account (a unique name, or the
    /// objects it links): what `import --from-terraform-state` matches a tfstate
    /// instance to a node on. References are compared by the ids they resolve to.
    pub identity: &'static [&'static str],
    /// The prior resource the kind's `read` takes, from an id in `format` and
    /// what is known of the object's props (a tfstate instance's attributes as
    /// props, or the node's resolved props for `NODE=ID`). No API call.
    pub prior: fn(id: &str, props: &Map<String, Value>) -> Result<Resource, String>,
}

impl ImportId {
    /// The import id of a tfstate instance: `format` with each `{path}` replaced
    /// by that attribute (nested blocks are one-element lists in the state).
    pub fn fill(&self, attributes: &Map<String, Value>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = self.format;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| format!("bad import id format {:?}", self.format))?;
            let path = &rest[open + 1..close];
            match attribute(attributes, path) {
                Some(Value::String(s)) if !s.is_empty() => out.push_str(s),
                Some(Value::Number(n)) => out.push_str(&n.to_string()),
                _ => return Err(format!("its state has no `{path}`")),
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The id is all `read` needs (a name, an ARN, a PagerDuty id).
pub fn id_only(id: &str, _props: &Map<String, Value>) -> Result<Resource, String> {
    if id.trim().is_empty() {
        return Err("the id is empty".into());
    }
    Ok(Resource {
        id: id.to_owned(),
        ..Resource::default()
    })
}

/// The id is an ARN (`arn:...`).
pub fn arn_only(id: &str, props: &Map<String, Value>) -> Result<Resource, String> {
    if !id.starts_with("arn:") {
        return Err(format!("{id:?} is not an ARN (arn:...)"));
    }
    id_only(id, props)
}

/// `id` split at the first `sep` into two non-empty parts, else an error naming
/// the expected `format`.
pub fn split2<'a>(id: &'a str, sep: char, format: &str) -> Result<(&'a str, &'a str), String> {
    match id.split_once(sep) {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a, b)),
        _ => Err(format!("{id:?} is not of the form {format}")),
    }
}

/// An attribute by dotted path; nested blocks are lists in the state (a single
/// block is a one-element list), so a path steps through a one-element list.
pub fn attribute<'a>(attributes: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut current = attributes.get(parts.next()?)?;
    for part in parts {
        current = match current {
            Value::Array(items) if items.len() == 1 => items[0].get(part)?,
            Value::Object(map) => map.get(part)?,
            _ => return None,
        };
    }
    match current {
        Value::Array(items) if items.len() == 1 && !items[0].is_array() => {
            if items[0].is_object() {
                Some(current)
            } else {
                Some(&items[0])
            }
        }
        other => Some(other),
    }
}

/// An attribute as text (strings as they are, numbers and booleans printed).
pub fn attribute_text(attributes: &Map<String, Value>, path: &str) -> Option<String> {
    match attribute(attributes, path)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fill_reads_nested_blocks_and_refuses_missing_attributes() {
        let id = ImportId {
            format: "{dependency.supporting_service.id}.{dependency.supporting_service.type}.{id}",
            docs: "",
            identity: &[],
            prior: id_only,
        };
        let attributes = json!({
            "id": "D1",
            "dependency": [{"supporting_service": [{"id": "PS", "type": "service"}]}],
        });
        assert_eq!(
            id.fill(attributes.as_object().unwrap()).unwrap(),
            "PS.service.D1"
        );
        let err = id
            .fill(json!({"id": "D1"}).as_object().unwrap())
            .unwrap_err();
        assert!(err.contains("dependency.supporting_service.id"), "{err}");
    }

    #[test]
    fn ids_are_checked() {
        assert!(arn_only("error-function-alarm", &Map::new()).is_err());
        assert!(id_only(" ", &Map::new()).is_err());
        assert_eq!(split2("a/b/c", '/', "A/B").unwrap(), ("a", "b/c"));
        assert!(split2("/b", '/', "A/B").is_err());
    }
}
