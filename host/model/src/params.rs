//! Params: the blueprint file's `[params]`, `--set KEY=VALUE` overrides, the
//! guest's schema defaults, and validation against that schema — all before the
//! guest runs, so a typo is reported as such rather than as a guest failure.

use serde_json::{Map, Value};

/// Apply `KEY=VALUE` overrides. KEY is a dotted path (`services.0.name`); VALUE
/// is parsed as JSON when it can be (`3600`, `true`, `["a"]`), else taken as a
/// string.
pub fn apply_sets(params: &mut Map<String, Value>, sets: &[String]) -> Result<(), String> {
    for set in sets {
        let (key, raw) = set
            .split_once('=')
            .ok_or_else(|| format!("--set {set:?}: expected KEY=VALUE"))?;
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!(
                "--set {set:?}: the key must be a dotted path like a.b.0.c"
            ));
        }
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        let mut segments = key.split('.');
        let mut current = params
            .entry(segments.next().unwrap_or_default().to_owned())
            .or_insert(Value::Null);
        for segment in segments {
            current = step(current, segment).map_err(|why| format!("--set {key}: {why}"))?;
        }
        *current = value;
    }
    Ok(())
}

/// One step down a dotted path, making objects as needed.
fn step<'a>(value: &'a mut Value, segment: &str) -> Result<&'a mut Value, String> {
    if value.is_null() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => Ok(map.entry(segment.to_owned()).or_insert(Value::Null)),
        Value::Array(items) => {
            let index: usize = segment
                .parse()
                .map_err(|_| format!("{segment:?} is not an index into a list"))?;
            let len = items.len();
            if index == len {
                items.push(Value::Null);
            }
            items
                .get_mut(index)
                .ok_or_else(|| format!("index {index} is past the list's end ({len} items)"))
        }
        _ => Err(format!(
            "cannot set {segment:?} inside a {}",
            type_name(value)
        )),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "table",
    }
}

/// Fill in the schema's `default`s for absent properties, recursively through
/// objects, list items, `$ref`s and nullable `anyOf`s.
pub fn fill_defaults(schema: &Value, value: &mut Value) {
    fill(schema, value, schema, 0);
}

fn fill(schema: &Value, value: &mut Value, root: &Value, depth: usize) {
    if depth > 64 {
        return; // a recursive schema; defaults this deep are not worth a stack overflow
    }
    let schema = resolve(schema, root);
    if let (Some(properties), Value::Object(object)) = (
        schema.get("properties").and_then(Value::as_object),
        &mut *value,
    ) {
        for (key, sub) in properties {
            let sub = resolve(sub, root);
            if !object.contains_key(key)
                && let Some(default) = sub.get("default")
            {
                object.insert(key.clone(), default.clone());
            }
            if let Some(child) = object.get_mut(key) {
                fill(sub, child, root, depth + 1);
            }
        }
    }
    if let (Some(items), Value::Array(list)) = (schema.get("items"), &mut *value) {
        for item in list {
            fill(items, item, root, depth + 1);
        }
    }
    // Option<T> in schemars: `anyOf: [T, null]`; descend into the object branch.
    for combinator in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = schema.get(combinator).and_then(Value::as_array)
            && value.is_object()
        {
            for branch in branches {
                let branch = resolve(branch, root);
                if branch.get("properties").is_some() {
                    fill(branch, value, root, depth + 1);
                    break;
                }
            }
        }
    }
}

/// Follow a local `$ref` (`#/$defs/Name`), up to 16 deep: what `schema`
/// stands for inside the document `root`.
pub fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..16 {
        let Some(pointer) = current.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match pointer.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

/// Validate params against the guest's schema; every violation is listed with
/// the param's path.
pub fn validate(schema: &Value, params: &Value) -> Result<(), Vec<String>> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        vec![format!(
            "the guest's params schema is not a valid JSON Schema: {e}"
        )]
    })?;
    let errors: Vec<String> = validator
        .iter_errors(params)
        .map(|e| {
            let path = e.instance_path().to_string();
            let at = if path.is_empty() {
                "params".to_owned()
            } else {
                format!("params{}", path.replace('/', "."))
            };
            format!("{at}: {e}")
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_parse_json_or_fall_back_to_strings() {
        let mut p = Map::new();
        apply_sets(
            &mut p,
            &[
                "turn=7200".into(),
                "name=team on call".into(),
                "a.b=true".into(),
                "list=[1,2]".into(),
                "list.2=3".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            Value::Object(p),
            json!({"turn": 7200, "name": "team on call", "a": {"b": true}, "list": [1, 2, 3]})
        );
    }

    #[test]
    fn bad_sets_are_explained() {
        let mut p = Map::new();
        assert!(
            apply_sets(&mut p, &["novalue".into()])
                .unwrap_err()
                .contains("KEY=VALUE")
        );
        p.insert("n".into(), json!(1));
        assert!(
            apply_sets(&mut p, &["n.x=1".into()])
                .unwrap_err()
                .contains("number")
        );
    }

    #[test]
    fn defaults_fill_through_refs_and_lists() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "default": 1},
                "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "default": []}
            },
            "$defs": {"Item": {"type": "object", "properties": {"x": {"default": "d"}}}}
        });
        let mut v = json!({"items": [{}, {"x": "set"}]});
        fill_defaults(&schema, &mut v);
        assert_eq!(v, json!({"a": 1, "items": [{"x": "d"}, {"x": "set"}]}));
    }

    #[test]
    fn violations_name_the_param() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "additionalProperties": false});
        let errors = validate(&schema, &json!({"n": 0, "typo": 1})).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors.iter().any(|e| e.starts_with("params.n:")),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.contains("typo")), "{errors:?}");
    }
}
