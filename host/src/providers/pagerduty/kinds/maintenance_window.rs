//! `pagerduty.maintenance_window`: services whose incidents page nobody for a
//! while (a planned deploy, a migration). PagerDuty moves a `start_time` in the
//! past to the time of the request, deletes a future window, ends an on-going
//! one early, and refuses to delete one that has ended (405) — which `delete`
//! takes as done; `read` takes an ended window as gone. Creating one needs a user to act as (`PAGERDUTY_FROM_EMAIL`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::super::PagerDutyProvider;
use super::super::object::{ids_of, object, reference};
use crate::providers::{
    Desired, ErrorClass, Found, Identity, ProviderError, ProviderResult, Resource, ResourceKind,
};
use crate::runtime::wit::pagerduty as wit;
use blueprint_model::kind::{Checker, KindInfo, out, parse_as, refs, same_value};
use blueprint_model::terraform::{Block, OutputMap, TerraformMap, same};

pub const NAME: &str = "pagerduty.maintenance_window";
pub type Props = wit::MaintenanceWindowProps;
pub type Ref = wit::MaintenanceWindowRef;

pub static INFO: KindInfo = KindInfo {
    name: NAME,
    lookup: false,
    role: None,
    outputs: &[out("id")],
    required: &["start_time", "end_time", "services"],
    refs: &[refs("services[]", &[super::service::NAME])],
    check: |c: &mut Checker<'_>| {
        let start = c.date_time("start_time");
        if let (Some(start), Some(end)) = (start, c.date_time("end_time"))
            && end <= start
        {
            c.bad("end_time", "must be after start_time");
        }
    },
    replace_on_change: &[],
    create_before_destroy: false,
    terraform: TerraformMap {
        tf_type: "pagerduty_maintenance_window",
        block: Block::Resource,
        props: &[
            same("start_time"),
            same("end_time"),
            same("description"),
            same("services"),
        ],
        outputs: &[("id", OutputMap::Attr("id"))],
        attributes: &["id", "start_time", "end_time", "description", "services"],
        finish: None,
    },
    // A window has no name: its services, its end and its description are
    // what tell it apart (its start moves to "now" when it is in the past).
    import: Some(blueprint_model::import_id::ImportId {
        format: "{id}",
        docs: "https://registry.terraform.io/providers/PagerDuty/pagerduty/latest/docs/resources/maintenance_window#import",
        identity: &["services", "end_time", "description"],
        prior: blueprint_model::import_id::id_only,
    }),
    text_controls: &[],
    parse: parse_as::<Props>,
};

pub struct Kind;

const PATH: &str = "/maintenance_windows";

fn body(p: &Props) -> Value {
    let services: Vec<Value> = p
        .services
        .iter()
        .map(|id| reference(id, "service_reference"))
        .collect();
    let mut window = json!({
        "type": "maintenance_window",
        "start_time": p.start_time,
        "end_time": p.end_time,
        "services": services,
    });
    if let Some(description) = &p.description {
        window["description"] = json!(description);
    }
    json!({ "maintenance_window": window })
}

fn resource(window: &Value) -> Resource {
    let id = window["id"].as_str().unwrap_or_default().to_owned();
    let props: Map<String, Value> = object(vec![
        ("start_time", window["start_time"].clone()),
        ("end_time", window["end_time"].clone()),
        ("description", window["description"].clone()),
        ("services", ids_of(&window["services"])),
    ]);
    Resource {
        props,
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    }
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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
        let from = pd.from_email().ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Invalid,
                format!(
                    "{}: PagerDuty creates maintenance windows on behalf of a user: set PAGERDUTY_FROM_EMAIL to the email of a user of the account",
                    d.address()
                ),
            )
        })?;
        let created = pd
            .client
            .call_from(Method::POST, PATH, &[], Some(&body(&p)), Some(from))
            .await
            .map_err(|e| e.at(&d.address()))?;
        Ok(resource(&created["maintenance_window"]))
    }

    async fn read(
        &self,
        pd: &PagerDutyProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        match pd.client.get(&format!("{PATH}/{}", prior.id), &[]).await {
            // An ended window is history: it silences nothing any more.
            Ok(found)
                if instant(&found["maintenance_window"]["end_time"])
                    .is_some_and(|end| end <= Utc::now()) =>
            {
                Ok(None)
            }
            Ok(found) => Ok(Some(resource(&found["maintenance_window"]))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.at(&format!("maintenance window {}", prior.id))),
        }
    }

    async fn update(
        &self,
        pd: &PagerDutyProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let p: Props = d.typed()?;
        let updated = pd
            .client
            .call(
                Method::PUT,
                &format!("{PATH}/{}", prior.id),
                &[],
                Some(&body(&p)),
            )
            .await
            .map_err(|e| e.at(&d.address()))?;
        Ok(resource(&updated["maintenance_window"]))
    }

    /// A future window is deleted, an on-going one ended; one that has ended
    /// already (405) silences nothing any more: done.
    async fn delete(&self, pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
        match pd
            .client
            .call(Method::DELETE, &format!("{PATH}/{}", prior.id), &[], None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || e.status.is_some_and(|s| s.as_u16() == 405) => Ok(()),
            Err(e) => Err(e.at(&format!("maintenance window {}", prior.id))),
        }
    }

    /// Windows have no name: the open window of the same services, end time
    /// and description is this one (a part of those services).
    async fn find(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let p: Props = d.typed()?;
        let query: Vec<(&str, String)> = p
            .services
            .iter()
            .map(|s| ("service_ids[]", s.clone()))
            .chain([("filter", "open".to_owned())])
            .collect();
        let windows = pd
            .client
            .list(PATH, "maintenance_windows", &query)
            .await
            .map_err(|e| e.at(&d.address()))?;
        let wanted = json!(p.services);
        Ok(windows
            .iter()
            .map(resource)
            .find(|r| {
                same_value(&r.props["services"], &wanted)
                    && instant(&r.props["end_time"]) == instant(&json!(p.end_time))
                    && r.props["description"].as_str() == p.description.as_deref()
            })
            .map(|r| Found::new(r, crate::providers::Proof::Part)))
    }

    /// Instants compare as instants; a start in the past is moved to the time
    /// of the request by PagerDuty, so two past starts are the same.
    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        match (prop, instant(desired), instant(observed)) {
            ("start_time", Some(d), Some(o)) => d == o || (d <= Utc::now() && o <= Utc::now()),
            ("end_time", Some(d), Some(o)) => d == o,
            _ => false,
        }
    }
}
