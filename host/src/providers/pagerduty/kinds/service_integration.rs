//! `pagerduty.service_integration`: where an alerting system posts to open
//! incidents on a service (`/services/{service}/integrations`). Its key is a
//! secret, and so is the CloudWatch endpoint that embeds it.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};

use super::super::object::reference;
use super::super::{PagerDutyProvider, prior_prop};
use crate::providers::{Desired, Found, Identity, ProviderResult, Resource, ResourceKind};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{KindInfo, Role, out, parse_as, refs, secret};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same, to};

pub const NAME: &str = "pagerduty.service_integration";
pub type Props = wit::ServiceIntegrationProps;
pub type Ref = wit::ServiceIntegrationRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: Some(Role::Integration),
    outputs: &[
        out("id"),
        secret("integration_key"),
        // The endpoint embeds the key.
        secret("cloudwatch_endpoint"),
        out("cloudwatch_protocol"),
    ],
    required: &["service", "vendor"],
    refs: &[
        refs("service", &[super::service::NAME]),
        refs("vendor", &[super::vendor::NAME]),
    ],
    check: |_| {},
    replace_on_change: &["service", "vendor"],
    // The subscription keeps delivering to the old key until it moves.
    create_before_destroy: true,
    terraform: TerraformMap {
        tf_type: "pagerduty_service_integration",
        block: Block::Resource,
        props: &[
            same("service"),
            same("vendor"),
            to("integration_name", "name"),
        ],
        outputs: &[
            ("id", OutputMap::Attr("id")),
            ("integration_key", OutputMap::Attr("integration_key")),
            (
                "cloudwatch_endpoint",
                OutputMap::PagerDutyEnqueue("integration_key"),
            ),
            ("cloudwatch_protocol", OutputMap::Literal("https")),
        ],
        attributes: &[
            "id",
            "integration_key",
            "integration_email",
            "html_url",
            "name",
            "service",
            "vendor",
        ],
        finish: None,
    },
    import: Some(blueprint_model::import_id::ImportId {
        format: "{service}.{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/service_integration#import",
        identity: &["service", "vendor"],
        prior: import_prior,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

/// `terraform import pagerduty_service_integration.x SERVICE_ID.INTEGRATION_ID`
/// (the provider's "Import" section): the prior resource `read` takes.
fn import_prior(
    id: &str,
    _props: &serde_json::Map<String, serde_json::Value>,
) -> Result<Resource, String> {
    let (service, integration) =
        blueprint_model::import_id::split2(id, '.', "SERVICE_ID.INTEGRATION_ID")?;
    Ok(Resource {
        id: integration.to_owned(),
        props: [("service".to_owned(), json!(service))]
            .into_iter()
            .collect(),
        ..Resource::default()
    })
}

pub struct Kind;

fn integration_body(p: &Props) -> Value {
    // With a vendor, PagerDuty derives the integration type from it.
    let mut integration = json!({
        "vendor": reference(&p.vendor, "vendor_reference"),
        "service": reference(&p.service, "service_reference"),
    });
    if let Some(name) = &p.integration_name {
        integration["name"] = json!(name);
    }
    json!({ "integration": integration })
}

/// The integration `id` of `service`, as PagerDuty has it now.
pub(in crate::providers::pagerduty) async fn read_integration(
    pd: &PagerDutyProvider,
    service: &str,
    id: &str,
) -> ProviderResult<Option<Resource>> {
    let path = format!("/services/{service}/integrations/{id}");
    match pd.client.get(&path, &[]).await {
        Ok(found) => Ok(Some(
            pd.integration_resource(service, &found["integration"]),
        )),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.at(&format!("integration {id}"))),
    }
}

impl PagerDutyProvider {
    fn integration_resource(&self, service: &str, integration: &Value) -> Resource {
        let id = integration["id"].as_str().unwrap_or_default().to_owned();
        let key = integration["integration_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (endpoint, protocol) = self.cloudwatch(&key);
        Resource {
            props: [
                ("service".to_owned(), json!(service)),
                ("vendor".to_owned(), integration["vendor"]["id"].clone()),
                ("integration_name".to_owned(), integration["name"].clone()),
            ]
            .into_iter()
            .collect(),
            outputs: [
                ("id".to_owned(), id.clone()),
                ("integration_key".to_owned(), key),
                ("cloudwatch_endpoint".to_owned(), endpoint),
                ("cloudwatch_protocol".to_owned(), protocol),
            ]
            .into(),
            id,
        }
    }
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
        let body = integration_body(&p);
        let path = format!("/services/{}/integrations", p.service);
        // PagerDuty answers 400/404 for a moment after the service is created.
        let created = super::super::while_propagating(
            pd,
            &format!("create {}", d.address()),
            &[400, 404],
            || pd.client.call(Method::POST, &path, &[], Some(&body)),
        )
        .await
        .map_err(|e| e.at(&d.address()))?;
        Ok(pd.integration_resource(&p.service, &created["integration"]))
    }

    async fn read(
        &self,
        pd: &PagerDutyProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        let service = prior_prop(prior, "service")?;
        super::super::settled_read(|| read_integration(pd, service, &prior.id)).await
    }

    async fn update(
        &self,
        pd: &PagerDutyProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let body = integration_body(&p);
        let path = format!("/services/{}/integrations/{}", p.service, prior.id);
        let updated = pd
            .client
            .call(Method::PUT, &path, &[], Some(&body))
            .await
            .map_err(|e| e.at(&d.address()))?;
        Ok(pd.integration_resource(&p.service, &updated["integration"]))
    }

    async fn delete(&self, pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
        let service = prior_prop(prior, "service")?;
        let path = format!("/services/{service}/integrations/{}", prior.id);
        match pd.client.call(Method::DELETE, &path, &[], None).await {
            Ok(_) => Ok(()),
            // Gone, or its service is gone (which takes its integrations with it).
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.at(&format!("integration {}", prior.id))),
        }
    }

    /// The service's integration with this vendor.
    async fn find(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        let path = format!("/services/{}", p.service);
        let found = match pd
            .client
            .get(&path, &[("include[]", "integrations".to_owned())])
            .await
        {
            Ok(found) => found,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.at(&d.address())),
        };
        let Some(summary) = found["service"]["integrations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["vendor"]["id"].as_str() == Some(p.vendor.as_str()))
        else {
            return Ok(None);
        };
        let id = summary["id"].as_str().unwrap_or_default();
        read_integration(pd, &p.service, id).await.map(Found::part)
    }
}
