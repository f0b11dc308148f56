//! Objects that link others, each with its own endpoints: team memberships,
//! service dependencies, service integrations.

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{PagerDutyProvider, reference, required};
use crate::providers::{Desired, ErrorClass, ProviderError, ProviderResult, Resource};

fn props(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect()
}

fn outputs(pairs: &[(&str, String)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn prior_prop<'a>(prior: &'a Resource, key: &str) -> ProviderResult<&'a str> {
    prior.props.get(key).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::new(
            ErrorClass::Invalid,
            format!("recorded resource {} lacks `{key}`", prior.id),
        )
    })
}

// ----- team membership: PUT/DELETE /teams/{team}/users/{user} -----

/// The resource a membership is, from its desired props (no API call).
pub fn membership_resource(desired: &Desired<'_>) -> ProviderResult<Resource> {
    let team = required(desired, "team")?;
    let user = required(desired, "user")?;
    let role = desired.str("role").unwrap_or("responder");
    let id = format!("{team}:{user}");
    Ok(Resource {
        props: props(&[("team", team), ("user", user), ("role", role)]),
        outputs: outputs(&[("id", id.clone())]),
        id,
    })
}

pub async fn put_membership(
    pd: &PagerDutyProvider,
    desired: &Desired<'_>,
) -> ProviderResult<Resource> {
    let resource = membership_resource(desired)?;
    let path = format!(
        "/teams/{}/users/{}",
        resource.props["team"].as_str().unwrap_or_default(),
        resource.props["user"].as_str().unwrap_or_default()
    );
    let body = json!({ "role": resource.props["role"] });
    super::while_propagating(pd, &format!("add {}", desired.address()), &[404], || {
        pd.client.call(Method::PUT, &path, &[], Some(&body))
    })
    .await
    .map_err(|e| e.at(&desired.address()))?;
    Ok(resource)
}

pub async fn read_membership(
    pd: &PagerDutyProvider,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    let team = prior_prop(prior, "team")?;
    let user = prior_prop(prior, "user")?;
    let members = match pd
        .client
        .list(&format!("/teams/{team}/members"), "members", &[])
        .await
    {
        Ok(members) => members,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.at(&format!("membership {}", prior.id))),
    };
    Ok(members
        .iter()
        .find(|m| m["user"]["id"].as_str() == Some(user))
        .map(|m| Resource {
            id: prior.id.clone(),
            props: props(&[
                ("team", team),
                ("user", user),
                ("role", m["role"].as_str().unwrap_or_default()),
            ]),
            outputs: prior.outputs.clone(),
        }))
}

pub async fn delete_membership(pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
    let path = format!(
        "/teams/{}/users/{}",
        prior_prop(prior, "team")?,
        prior_prop(prior, "user")?
    );
    match pd.client.call(Method::DELETE, &path, &[], None).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.at(&format!("membership {}", prior.id))),
    }
}

// ----- service dependency: POST /service_dependencies/{associate,disassociate} -----

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
        props: props(&[
            ("business_service", business),
            ("supporting_service", supporting),
        ]),
        outputs: outputs(&[("id", id.to_owned())]),
    }
}

pub async fn associate(pd: &PagerDutyProvider, desired: &Desired<'_>) -> ProviderResult<Resource> {
    let business = required(desired, "business_service")?;
    let supporting = required(desired, "supporting_service")?;
    let body = relationship(business, supporting);
    let answer = super::while_propagating(
        pd,
        &format!("associate {}", desired.address()),
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
    .map_err(|e| e.at(&desired.address()))?;
    let id = answer["relationships"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok(dependency_resource(&id, business, supporting))
}

/// The relationship between these two services, if PagerDuty has it.
async fn lookup_dependency(
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

pub async fn read_dependency(
    pd: &PagerDutyProvider,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    let business = prior_prop(prior, "business_service")?;
    let supporting = prior_prop(prior, "supporting_service")?;
    lookup_dependency(
        pd,
        business,
        supporting,
        &format!("dependency {}", prior.id),
    )
    .await
}

pub async fn find_dependency(
    pd: &PagerDutyProvider,
    desired: &Desired<'_>,
) -> ProviderResult<Option<Resource>> {
    let business = required(desired, "business_service")?;
    let supporting = required(desired, "supporting_service")?;
    lookup_dependency(pd, business, supporting, &desired.address()).await
}

pub async fn disassociate(pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
    let body = relationship(
        prior_prop(prior, "business_service")?,
        prior_prop(prior, "supporting_service")?,
    );
    match pd
        .client
        .call(
            Method::POST,
            "/service_dependencies/disassociate",
            &[],
            Some(&body),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.at(&format!("dependency {}", prior.id))),
    }
}

// ----- service integration: /services/{service}/integrations -----

impl PagerDutyProvider {
    /// Where CloudWatch (through SNS) posts for this key, and the SNS protocol
    /// that matches the URL's scheme.
    fn cloudwatch(&self, key: &str) -> (String, String) {
        let endpoint = format!("{}/integration/{key}/enqueue", self.events_url);
        let protocol = if self.events_url.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        (endpoint, protocol.to_owned())
    }

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
            outputs: outputs(&[
                ("id", id.clone()),
                ("integration_key", key),
                ("cloudwatch_endpoint", endpoint),
                ("cloudwatch_protocol", protocol),
            ]),
            id,
        }
    }
}

fn integration_body(desired: &Desired<'_>, service: &str, vendor: &str) -> Value {
    // With a vendor, PagerDuty derives the integration type from it.
    let mut integration = json!({
        "vendor": reference(vendor, "vendor_reference"),
        "service": reference(service, "service_reference"),
    });
    if let Some(name) = desired.str("integration_name") {
        integration["name"] = json!(name);
    }
    json!({ "integration": integration })
}

pub async fn create_integration(
    pd: &PagerDutyProvider,
    desired: &Desired<'_>,
) -> ProviderResult<Resource> {
    let service = required(desired, "service")?;
    let vendor = required(desired, "vendor")?;
    let body = integration_body(desired, service, vendor);
    let path = format!("/services/{service}/integrations");
    // PagerDuty answers 400/404 for a moment after the service is created.
    let created = super::while_propagating(
        pd,
        &format!("create {}", desired.address()),
        &[400, 404],
        || pd.client.call(Method::POST, &path, &[], Some(&body)),
    )
    .await
    .map_err(|e| e.at(&desired.address()))?;
    Ok(pd.integration_resource(service, &created["integration"]))
}

pub async fn read_integration(
    pd: &PagerDutyProvider,
    prior: &Resource,
) -> ProviderResult<Option<Resource>> {
    let service = prior_prop(prior, "service")?;
    let path = format!("/services/{service}/integrations/{}", prior.id);
    match pd.client.get(&path, &[]).await {
        Ok(found) => Ok(Some(
            pd.integration_resource(service, &found["integration"]),
        )),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.at(&format!("integration {}", prior.id))),
    }
}

pub async fn update_integration(
    pd: &PagerDutyProvider,
    desired: &Desired<'_>,
    prior: &Resource,
) -> ProviderResult<Resource> {
    let service = required(desired, "service")?;
    let vendor = required(desired, "vendor")?;
    let body = integration_body(desired, service, vendor);
    let path = format!("/services/{service}/integrations/{}", prior.id);
    let updated = pd
        .client
        .call(Method::PUT, &path, &[], Some(&body))
        .await
        .map_err(|e| e.at(&desired.address()))?;
    Ok(pd.integration_resource(service, &updated["integration"]))
}

pub async fn delete_integration(pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
    let service = prior_prop(prior, "service")?;
    let path = format!("/services/{service}/integrations/{}", prior.id);
    match pd.client.call(Method::DELETE, &path, &[], None).await {
        Ok(_) => Ok(()),
        // Gone, or its service is gone (which takes its integrations with it).
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.at(&format!("integration {}", prior.id))),
    }
}

/// After an interrupted create: the service's integration with this vendor.
pub async fn find_integration(
    pd: &PagerDutyProvider,
    desired: &Desired<'_>,
) -> ProviderResult<Option<Resource>> {
    let service = required(desired, "service")?;
    let vendor = required(desired, "vendor")?;
    let path = format!("/services/{service}");
    let found = match pd
        .client
        .get(&path, &[("include[]", "integrations".to_owned())])
        .await
    {
        Ok(found) => found,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.at(&desired.address())),
    };
    let Some(summary) = found["service"]["integrations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["vendor"]["id"].as_str() == Some(vendor))
    else {
        return Ok(None);
    };
    let probe = Resource {
        id: summary["id"].as_str().unwrap_or_default().to_owned(),
        props: props(&[("service", service)]),
        outputs: Default::default(),
    };
    read_integration(pd, &probe).await
}
