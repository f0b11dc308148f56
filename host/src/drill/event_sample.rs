//! An event an EventBridge pattern matches, for the drill to send. Each field of
//! the pattern gets a value its first satisfiable filter accepts (EventBridge
//! User Guide, "Event patterns" and "Content filtering"); the service then says
//! whether the pattern matches it (TestEventPattern), so a wrong guess here is a
//! failed link, never a false pass.

use serde_json::{Map, Value, json};

/// The sample: `source`, `detail-type` and `detail` as PutEvents takes them,
/// and the whole event as TestEventPattern takes it. `None` when some field's
/// filters cannot be satisfied by this builder (e.g. only `exists: false` on a
/// field PutEvents requires).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub source: String,
    pub detail_type: String,
    pub detail: Value,
}

impl Sample {
    /// The event as EventBridge delivers it (and TestEventPattern reads it).
    pub fn event(&self, id: &str, account: &str, region: &str, time: &str) -> Value {
        json!({
            "version": "0",
            "id": id,
            "detail-type": self.detail_type,
            "source": self.source,
            "account": account,
            "time": time,
            "region": region,
            "resources": [],
            "detail": self.detail,
        })
    }
}

pub fn sample(pattern: &str) -> Option<Sample> {
    let Value::Object(pattern) = serde_json::from_str::<Value>(pattern).ok()? else {
        return None;
    };
    let fields = object(&pattern)?;
    let text = |key: &str, default: &str| match fields.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        None => Some(default.to_owned()),
        Some(_) => None,
    };
    Some(Sample {
        source: text("source", "blueprint.drill")?,
        detail_type: text("detail-type", "Blueprint drill")?,
        detail: match fields.get("detail") {
            Some(detail @ Value::Object(_)) => detail.clone(),
            None => json!({}),
            Some(_) => return None,
        },
    })
}

/// An object whose fields satisfy each key of `pattern`.
fn object(pattern: &Map<String, Value>) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for (key, filter) in pattern {
        if key == "$or" {
            // The first alternative that can be met.
            let first = filter
                .as_array()?
                .iter()
                .find_map(|alt| alt.as_object().and_then(object))?;
            out.extend(first);
            continue;
        }
        match filter {
            Value::Object(nested) => {
                out.insert(key.clone(), Value::Object(object(nested)?));
            }
            Value::Array(filters) => {
                if let Some(value) = filters.iter().find_map(satisfy) {
                    if let Some(value) = value {
                        out.insert(key.clone(), value);
                    }
                } else {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// A value one filter accepts: `Some(None)` means "leave the field out"
/// (`exists: false`), `None` that this filter cannot be met here.
fn satisfy(filter: &Value) -> Option<Option<Value>> {
    match filter {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
            Some(Some(filter.clone()))
        }
        Value::Object(named) if named.len() == 1 => {
            let (name, arg) = named.iter().next()?;
            match (name.as_str(), arg) {
                ("prefix", Value::String(p)) => Some(Some(json!(format!("{p}drill")))),
                ("suffix", Value::String(s)) => Some(Some(json!(format!("drill{s}")))),
                ("equals-ignore-case", Value::String(s)) => Some(Some(json!(s))),
                ("wildcard", Value::String(w)) => Some(Some(json!(w.replace('*', "drill")))),
                ("exists", Value::Bool(true)) => Some(Some(json!("blueprint-drill"))),
                ("exists", Value::Bool(false)) => Some(None),
                ("anything-but", excluded) => anything_but(excluded).map(Some),
                ("numeric", Value::Array(bounds)) => numeric(bounds).map(|n| Some(json!(n))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A value outside `excluded` (a value, a list of values, or `{"prefix": ...}`),
/// of the same type as what it excludes.
fn anything_but(excluded: &Value) -> Option<Value> {
    let list: Vec<&Value> = match excluded {
        Value::Array(values) => values.iter().collect(),
        Value::Object(o) if o.contains_key("prefix") => return Some(json!("blueprint-drill")),
        one => vec![one],
    };
    if list.iter().all(|v| v.is_number()) {
        let mut n = 1.0_f64;
        while list.iter().any(|v| v.as_f64() == Some(n)) {
            n += 1.0;
        }
        return Some(json!(n as i64));
    }
    let mut candidate = "blueprint-drill".to_owned();
    while list.iter().any(|v| v.as_str() == Some(candidate.as_str())) {
        candidate.push('-');
    }
    Some(json!(candidate))
}

/// A number inside `[op, n, op, n]` bounds, e.g. `[">", 0, "<=", 5]`.
fn numeric(bounds: &[Value]) -> Option<f64> {
    let (mut low, mut high) = (f64::NEG_INFINITY, f64::INFINITY);
    let (mut low_open, mut high_open) = (false, false);
    let mut exact = None;
    for pair in bounds.chunks(2) {
        let [op, n] = pair else { return None };
        let n = n.as_f64()?;
        match op.as_str()? {
            ">" => (low, low_open) = (n, true),
            ">=" => (low, low_open) = (n, false),
            "<" => (high, high_open) = (n, true),
            "<=" => (high, high_open) = (n, false),
            "=" => exact = Some(n),
            _ => return None,
        }
    }
    if let Some(n) = exact {
        return Some(n);
    }
    let value = match (low.is_finite(), high.is_finite()) {
        (true, true) => (low + high) / 2.0,
        (true, false) => low + 1.0,
        (false, true) => high - 1.0,
        (false, false) => 0.0,
    };
    let inside = (value > low || (!low_open && value == low))
        && (value < high || (!high_open && value == high));
    inside.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ecs_task_failure_pattern_gets_a_failing_task() {
        let s = sample(
            r#"{"source":["aws.ecs"],"detail-type":["ECS Task State Change"],
                "detail":{"lastStatus":["STOPPED"],"containers":{"exitCode":[{"anything-but":0}]}}}"#,
        )
        .unwrap();
        assert_eq!(s.source, "aws.ecs");
        assert_eq!(s.detail_type, "ECS Task State Change");
        assert_eq!(
            s.detail,
            json!({"lastStatus": "STOPPED", "containers": {"exitCode": 1}})
        );
        let event = s.event("e1", "123456789012", "us-east-1", "2026-12-01T00:00:00Z");
        assert_eq!(event["detail"]["containers"]["exitCode"], 1);
        assert_eq!(event["account"], "123456789012");
    }

    #[test]
    fn content_filters_are_met_or_refused() {
        let s = sample(
            r#"{"detail":{"a":[{"prefix":"prod-"}],"b":[{"numeric":[">",0,"<=",5]}],
                "c":[{"exists":false}],"d":[{"anything-but":["x","blueprint-drill"]}],
                "$or":[{"e":[{"suffix":".png"}]},{"f":["y"]}]}}"#,
        )
        .unwrap();
        assert_eq!(s.source, "blueprint.drill", "a pattern without source");
        assert_eq!(
            s.detail,
            json!({"a": "prod-drill", "b": 2.5, "d": "blueprint-drill-", "e": "drill.png"})
        );
        assert!(sample(r#"{"detail":{"n":[{"numeric":[">",5,"<",5]}]}}"#).is_none());
        assert!(sample(r#"{"source":[{"cidr":"10.0.0.0/24"}]}"#).is_none());
        assert!(sample("[1]").is_none());
    }
}
