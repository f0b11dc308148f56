//! Lookups (read-only): users by email, vendors by name.

use serde_json::{Value, json};

use super::{PagerDutyProvider, required};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};

/// The user with exactly this email, compared case-insensitively.
pub async fn user(pd: &PagerDutyProvider, desired: &Desired<'_>) -> ProviderResult<Resource> {
    let email = required(desired, "email")?;
    let users = pd
        .client
        .list("/users", "users", &[("query", email.to_owned())])
        .await
        .map_err(|e| e.at(&desired.address()))?;
    let matches: Vec<&Value> = users
        .iter()
        .filter(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(Resource {
            id: one["id"].as_str().unwrap_or_default().to_owned(),
            props: [("email".to_owned(), json!(email))].into_iter().collect(),
            outputs: [
                (
                    "id".to_owned(),
                    one["id"].as_str().unwrap_or_default().to_owned(),
                ),
                (
                    "name".to_owned(),
                    one["name"].as_str().unwrap_or_default().to_owned(),
                ),
            ]
            .into(),
        }),
        [] => Err(ProviderError::new(
            ErrorClass::NotFound,
            format!(
                "{}: no PagerDuty user has the email {email:?} (users are created in PagerDuty itself; check the address)",
                desired.address()
            ),
        )),
        several => Err(ProviderError::new(
            ErrorClass::Invalid,
            format!(
                "{}: {} PagerDuty users have the email {email:?} ({}); PagerDuty should not allow this — fix the accounts",
                desired.address(),
                several.len(),
                several
                    .iter()
                    .filter_map(|u| u["id"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The vendor with exactly this name; when there is none, name the closest ones.
pub async fn vendor(pd: &PagerDutyProvider, desired: &Desired<'_>) -> ProviderResult<Resource> {
    let name = required(desired, "vendor_name")?;
    let vendors = pd
        .client
        .list("/vendors", "vendors", &[])
        .await
        .map_err(|e| e.at(&desired.address()))?;
    if let Some(found) = vendors.iter().find(|v| v["name"].as_str() == Some(name)) {
        let id = found["id"].as_str().unwrap_or_default().to_owned();
        return Ok(Resource {
            id: id.clone(),
            props: [("vendor_name".to_owned(), json!(name))]
                .into_iter()
                .collect(),
            outputs: [("id".to_owned(), id)].into(),
        });
    }
    let mut near: Vec<(usize, &str)> = vendors
        .iter()
        .filter_map(|v| v["name"].as_str())
        .map(|candidate| {
            (
                distance(&candidate.to_lowercase(), &name.to_lowercase()),
                candidate,
            )
        })
        .collect();
    near.sort();
    let near: Vec<String> = near.iter().take(3).map(|(_, n)| format!("{n:?}")).collect();
    Err(ProviderError::new(
        ErrorClass::NotFound,
        format!(
            "{}: PagerDuty has no vendor named {name:?}; closest: {}",
            desired.address(),
            if near.is_empty() {
                "none".into()
            } else {
                near.join(", ")
            }
        ),
    ))
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn distance_counts_edits() {
        assert_eq!(super::distance("amazon cloudwatch", "amazon cloudwatch"), 0);
        assert_eq!(super::distance("amazon cloudwach", "amazon cloudwatch"), 1);
        assert_eq!(super::distance("", "abc"), 3);
    }
}
