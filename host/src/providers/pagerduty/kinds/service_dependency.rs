//! `pagerduty.service_dependency`: a business service depends on a technical
//! one (`POST /service_dependencies/{associate,disassociate}`).

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

use super::super::{PagerDutyProvider, prior_prop, string_props};
use crate::providers::{Desired, Found, Identity, ProviderResult, Resource, ResourceKind};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, out, parse_as, refs};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, to};

pub const NAME: &str = "pagerduty.service_dependency";
pub type Props = wit::ServiceDependencyProps;
pub type Ref = wit::ServiceDependencyRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["business_service", "supporting_service"],
    refs: &[
        refs("business_service", &[super::business_service::NAME]),
        refs("supporting_service", &[super::service::NAME]),
    ],
    check: |_| {},
    replace_on_change: &["business_service", "supporting_service"],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_service_dependency",
        block: Block::Resource,
        props: &[
            to("business_service", "dependency.dependent_service.id")
                .with(&[("dependency.dependent_service.type", "business_service")]),
            to("supporting_service", "dependency.supporting_service.id")
                .with(&[("dependency.supporting_service.type", "service")]),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id"],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{dependency.supporting_service.id}.{dependency.supporting_service.type}.{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/service_dependency#import",
        identity: &["business_service", "supporting_service"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// `terraform import pagerduty_service_dependency.x
/// SUPPORTING_SERVICE_ID.SUPPORTING_SERVICE_TYPE.DEPENDENCY_ID` (the provider's
/// "Import" section). The id does not name the business service, which `read`
/// lists the dependencies of: it comes from the node's `business_service`.
fn import_prior(id: &str, props: &serde_json::Map<String, Value>) -> Result<Resource, String> {
    let format = "SUPPORTING_SERVICE_ID.SUPPORTING_SERVICE_TYPE.DEPENDENCY_ID";
    let mut parts = id.split('.');
    let (Some(supporting), Some(kind), Some(dependency), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("{id:?} is not of the form {format}"));
    };
    if supporting.is_empty() || dependency.is_empty() || kind != "service" {
        return Err(format!(
            "{id:?} is not of the form {format} with a technical service (type `service`)"
        ));
    }
    if let Some(declared) = props.get("supporting_service").and_then(Value::as_str)
        && declared != supporting
    {
        return Err(format!(
            "the dependency's supporting service is {supporting}, but the node's is {declared}"
        ));
    }
    let business = props
        .get("business_service")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
        .ok_or("the node's business service is not known yet: import it first")?;
    Ok(dependency_resource(dependency, business, supporting))
}

pub struct Kind;

fn relationship(business: &str, supporting: &str) -> Value {
    json!({
        "relationships": [{
            "supporting_service": {"id": supporting, "type": "service"},
            "dependent_service": {"id": business, "type": "business_service"},
        }]
    })
}

fn dependency_resource(id: &str, business: &str, supporting: &str) -> Resource {
    Resource {
        id: id.to_owned(),
        props: string_props(&[
            ("business_service", business),
            ("supporting_service", supporting),
        ]),
        outputs: [("id".to_owned(), id.to_owned())].into(),
    }
}

/// The relationship between these two services, if PagerDuty has it.
async fn lookup(
    pd: &PagerDutyProvider,
    business: &str,
    supporting: &str,
    address: &str,
) -> ProviderResult<Option<Resource>> {
    let path = format!("/service_dependencies/business_services/{business}");
    let answer = match pd.client.get(&path, &[]).await {
        Ok(answer) => answer,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.at(address)),
    };
    Ok(answer["relationships"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["supporting_service"]["id"].as_str() == Some(supporting)
                && r["dependent_service"]["id"].as_str() == Some(business)
        })
        .map(|r| dependency_resource(r["id"].as_str().unwrap_or_default(), business, supporting)))
}

#[async_trait]
impl ResourceKind<PagerDutyProvider> for Kind {
    fn info(&self) -> &'static KindInfo {
        &INFO
    }

    /// Found by what it belongs to.
    fn identity(&self) -> Identity {
        Identity::Parents
    }

    async fn create(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let body = relationship(&p.business_service, &p.supporting_service);
        // Serialised per account: overlapping associations answer 500 on
        // PagerDuty; terraform-provider-pagerduty serialises them behind a
        // mutex for this reason (PR #724, `resourceServiceDependencyMu` in
        // resource_pagerduty_service_dependency.go).
        let _one_at_a_time = crate::slots::idle(pd.associations.lock()).await;
        let answer = super::super::while_propagating(
            pd,
            &format!("associate {}", d.address()),
            &[404],
            || {
                pd.client.call(
                    Method::POST,
                    "/service_dependencies/associate",
                    &[],
                    Some(&body),
                )
            },
        )
        .await
        .map_err(|e| e.at(&d.address()))?;
        let id = answer["relationships"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(dependency_resource(
            &id,
            &p.business_service,
            &p.supporting_service,
        ))
    }

    async fn read(
        &self,
        pd: &PagerDutyProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        let business = prior_prop(prior, "business_service")?;
        let supporting = prior_prop(prior, "supporting_service")?;
        let address = format!("dependency {}", prior.id);
        super::super::settled_read(|| lookup(pd, business, supporting, &address)).await
    }

    async fn delete(&self, pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
        let body = relationship(
            prior_prop(prior, "business_service")?,
            prior_prop(prior, "supporting_service")?,
        );
        let _one_at_a_time = crate::slots::idle(pd.associations.lock()).await;
        // Disassociating twice leaves the same result: retried like a PUT.
        match pd
            .client
            .call_repeatable(
                Method::POST,
                "/service_dependencies/disassociate",
                Some(&body),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.at(&format!("dependency {}", prior.id))),
        }
    }

    async fn find(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        lookup(pd, &p.business_service, &p.supporting_service, &d.address())
            .await
            .map(Found::part)
    }
}
