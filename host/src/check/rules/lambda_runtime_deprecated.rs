use crate::check::{Context, Hit, Rule, Severity};
use blueprint_model::graph::alerting::literal;
use blueprint_model::kind::Role;

pub(super) static RULE: Rule = Rule {
    id: "lambda-runtime-deprecated",
    severity: Severity::Warning,
    why: "AWS stops security patches for a deprecated Lambda runtime, then blocks creating and later updating functions on it: the next deploy of the alerting pipeline fails",
    check,
};

/// Runtime, deprecation date, the supported runtime to move to. From AWS's
/// "Lambda runtimes" page; extend as AWS announces more.
const DEPRECATED: &[(&str, &str, &str)] = &[
    ("nodejs12.x", "2023-03-31", "nodejs22.x"),
    ("nodejs14.x", "2023-12-04", "nodejs22.x"),
    ("nodejs16.x", "2024-06-12", "nodejs22.x"),
    ("nodejs18.x", "2025-09-01", "nodejs22.x"),
    ("nodejs20.x", "2026-04-30", "nodejs22.x"),
    ("python3.7", "2023-12-04", "python3.13"),
    ("python3.8", "2024-10-14", "python3.13"),
    ("python3.9", "2025-12-15", "python3.13"),
    ("java8", "2024-01-08", "java21"),
    ("go1.x", "2024-01-08", "provided.al2023"),
    ("provided", "2024-01-08", "provided.al2023"),
    ("ruby2.7", "2023-12-07", "ruby3.3"),
    ("ruby3.2", "2026-03-31", "ruby3.3"),
    ("dotnet6", "2024-12-20", "dotnet8"),
    ("dotnet7", "2024-05-14", "dotnet8"),
];

fn check(c: &Context<'_>) -> Vec<Hit> {
    c.nodes_with(Role::Function)
        .filter_map(|f| {
            let runtime = literal(f.props.get("runtime"))?;
            let (_, since, instead) = DEPRECATED.iter().find(|(r, _, _)| *r == runtime)?;
            Some(Hit {
                node: f.id.clone(),
                message: format!("runtime {runtime} is deprecated since {since}"),
                fix: format!("runtime = \"{instead}\" (test the function on it first)"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::check::testing::*;

    #[test]
    fn trips_on_nodejs18() {
        assert!(hits(&super::RULE, &graph(&healthy())).is_empty());
        let g = graph(&with("fn", |p| {
            p.insert("runtime".into(), json!("nodejs18.x"));
        }));
        let h = hits(&super::RULE, &g);
        assert_eq!(h.len(), 1);
        assert!(h[0].fix.contains("nodejs22.x"));
    }
}
