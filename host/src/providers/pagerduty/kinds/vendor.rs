//! `pagerduty.vendor` (lookup): an integration vendor, found by exact name.

use async_trait::async_trait;
use serde_json::json;

use super::super::PagerDutyProvider;
use crate::providers::{
    Desired, ErrorClass, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, out, parse_as};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, to};

pub const NAME: &str = "pagerduty.vendor";
pub type Props = wit::VendorLookup;
pub type Ref = wit::VendorRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: true,
    role: None,
    outputs: &[out("id")],
    required: &["vendor_name"],
    refs: &[],
    check: |_| {},
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_vendor",
        block: Block::Data,
        props: &[to("vendor_name", "name")],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "name", "type"],
        finish: None,
    },
    import: None,
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub struct Kind;

#[async_trait]
impl ResourceKind<PagerDutyProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// The vendor with exactly this name; when there is none, name the closest.
    async fn create(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let name = p.vendor_name.as_str();
        let vendors = pd
            .client
            .list("/vendors", "vendors", &[])
            .await
            .map_err(|e| e.at(&d.address()))?;
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
                d.address(),
                if near.is_empty() {
                    "none".into()
                } else {
                    near.join(", ")
                }
            ),
        ))
    }
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
