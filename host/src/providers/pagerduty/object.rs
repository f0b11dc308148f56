//! Plain PagerDuty objects (team, business service, schedule, escalation
//! policy, service) share one create/read/update/delete/find path; each kind's
//! file says where it lives and how its props map to and from PagerDuty's JSON
//! ([`PlainObject`]), and gets [`ResourceKind`] from here.

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::PagerDutyProvider;
use crate::providers::{Desired, Found, Identity, Proof, ProviderResult, Resource, ResourceKind};
use blueprint_model::kind::{KindInfo, same_value};

/// A kind that is one PagerDuty object at `COLLECTION/{id}`.
#[async_trait]
pub trait PlainObject: Send + Sync + 'static {
    /// The kind's WIT record.
    type Props: DeserializeOwned + Send + Sync;

    fn info() -> &'static KindInfo;

    /// `/teams`
    const COLLECTION: &'static str;
    /// The singular body key: `team`.
    const KEY: &'static str;
    /// Whether `GET COLLECTION?query=` filters by name (business services have
    /// no `query`).
    const QUERY_BY_NAME: bool = true;
    /// PagerDuty refuses a second object with the same name ("Name has already
    /// been taken": teams, services, escalation policies, business services);
    /// schedules may share names.
    const UNIQUE_NAMES: bool = true;
    /// The field that holds the name (`label` for tags).
    const NAME_FIELD: &'static str = "name";

    /// Props -> PagerDuty body (inside the key).
    fn to_api(props: &Self::Props) -> Value;

    /// PagerDuty object -> props, in the shape the blueprint declares them.
    fn from_api(object: &Value) -> Map<String, Value>;

    /// The object's unique name, for `find`.
    fn name(props: &Self::Props) -> &str;

    /// Change an update's body with what PagerDuty has now (`current`), e.g. to
    /// keep a schedule's layer ids.
    fn adjust_update(_body: &mut Value, _current: &Value) {}

    /// Fill in, on an update, what clears an optional field the blueprint no
    /// longer sets: [`compact`] drops absent (null) fields, and PagerDuty keeps
    /// a field an update leaves out, so a removed prop would never be cleared.
    fn clear_removed(_body: &mut Value) {}

    /// Whether the update needs the current object (one more GET).
    const READS_BEFORE_UPDATE: bool = false;

    /// Whether an observed value satisfies the desired one.
    fn equivalent(_prop: &str, desired: &Value, observed: &Value) -> bool {
        same_value(desired, observed)
    }

    /// Fields of the body an update must leave out (PagerDuty refuses to
    /// change them in place; the kind replaces on their change instead).
    const NOT_UPDATED: &'static [&'static str] = &[];

    /// What `find` reads: the name alone, unless the kind has none.
    fn identity() -> Identity {
        Identity::Props(match Self::NAME_FIELD {
            "label" => &["label"],
            _ => &["name"],
        })
    }

    /// `find`'s list query.
    fn find_query(props: &Self::Props) -> Vec<(&'static str, String)> {
        if Self::QUERY_BY_NAME {
            vec![("query", Self::name(props).to_owned())]
        } else {
            vec![]
        }
    }

    /// Whether a listed object is the desired one, and what says so: by
    /// default the same name.
    fn identifies(props: &Self::Props, item: &Value) -> Option<Proof> {
        (item[Self::NAME_FIELD].as_str() == Some(Self::name(props))).then_some(Proof::Named {
            unique: Self::UNIQUE_NAMES,
        })
    }
}

fn resource<O: PlainObject>(object: &Value) -> Resource {
    let id = object["id"].as_str().unwrap_or_default().to_owned();
    Resource {
        props: O::from_api(object),
        outputs: [("id".to_owned(), id.clone())].into(),
        id,
    }
}

/// Drop nulls: PagerDuty rejects `null` where its schema is not nullable.
pub fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, compact(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(compact).collect()),
        other => other,
    }
}

#[async_trait]
impl<O: PlainObject> ResourceKind<PagerDutyProvider> for O {
    fn info(&self) -> &'static KindInfo {
        O::info()
    }

    async fn create(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        let props: O::Props = d.typed()?;
        let body = json!({ O::KEY: compact(O::to_api(&props)) });
        // A fresh team or policy may not be visible yet to the create that uses it.
        let created =
            super::while_propagating(pd, &format!("create {}", d.address()), &[404], || {
                pd.client
                    .call(Method::POST, O::COLLECTION, &[], Some(&body))
            })
            .await
            .map_err(|e| e.at(&d.address()))?;
        Ok(resource::<O>(&created[O::KEY]))
    }

    async fn read(
        &self,
        pd: &PagerDutyProvider,
        prior: &Resource,
    ) -> ProviderResult<Option<Resource>> {
        let path = format!("{}/{}", O::COLLECTION, prior.id);
        super::settled_read(|| async {
            match pd.client.get(&path, &[]).await {
                Ok(found) => Ok(Some(resource::<O>(&found[O::KEY]))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e.at(&format!("{} {}", O::KEY, prior.id))),
            }
        })
        .await
    }

    async fn update(
        &self,
        pd: &PagerDutyProvider,
        d: &Desired<'_>,
        prior: &Resource,
        _changed: &[String],
    ) -> ProviderResult<Resource> {
        let props: O::Props = d.typed()?;
        let path = format!("{}/{}", O::COLLECTION, prior.id);
        let mut api = compact(O::to_api(&props));
        O::clear_removed(&mut api);
        if let Value::Object(fields) = &mut api {
            fields.retain(|key, _| !O::NOT_UPDATED.contains(&key.as_str()));
        }
        if O::READS_BEFORE_UPDATE {
            let current = pd
                .client
                .get(&path, &[])
                .await
                .map_err(|e| e.at(&d.address()))?;
            O::adjust_update(&mut api, &current[O::KEY]);
        }
        let body = json!({ O::KEY: api });
        let updated = pd
            .client
            .call(Method::PUT, &path, &[], Some(&body))
            .await
            .map_err(|e| e.at(&d.address()))?;
        Ok(resource::<O>(&updated[O::KEY]))
    }

    /// Retried while PagerDuty answers that the object is still in use (what
    /// used it may have been deleted a moment ago: [`super::ApiError::in_use`]).
    async fn delete(&self, pd: &PagerDutyProvider, prior: &Resource) -> ProviderResult<()> {
        let path = format!("{}/{}", O::COLLECTION, prior.id);
        let what = format!("delete {} {}", O::KEY, prior.id);
        let address = format!("{} {}", O::KEY, prior.id);
        let delete = || {
            crate::providers::retry::while_in_use(
                &what,
                || pd.client.call(Method::DELETE, &path, &[], None),
                super::ApiError::in_use,
            )
        };
        let mut deleted = delete().await;
        if let Err(e) = &deleted
            && super::open_incidents::blocks(e)
        {
            super::open_incidents::unblock(pd, &address, prior).await?;
            deleted = delete().await;
        }
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.at(&address)),
        }
    }

    /// An object of this kind that [`PlainObject::identifies`] as the desired
    /// one (PagerDuty has no tags on these objects).
    async fn find(&self, pd: &PagerDutyProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let props: O::Props = d.typed()?;
        let list_key = O::COLLECTION.trim_start_matches('/');
        let items = pd
            .client
            .list(O::COLLECTION, list_key, &O::find_query(&props))
            .await
            .map_err(|e| e.at(&d.address()))?;
        Ok(items.iter().find_map(|item| {
            O::identifies(&props, item).map(|proof| Found::new(resource::<O>(item), proof))
        }))
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        O::equivalent(prop, desired, observed)
    }

    fn identity(&self) -> Identity {
        O::identity()
    }
}

// Mapping helpers the kinds share.

/// PagerDuty references: `{"id", "type"}`.
pub fn reference(id: &str, kind: &str) -> Value {
    json!({ "id": id, "type": kind })
}

/// `{"id": x, "type": kind}` for an id, else null.
pub fn reference_opt(id: Option<&String>, kind: &str) -> Value {
    id.map_or(Value::Null, |id| reference(id, kind))
}

/// A list of references, or null.
pub fn references(ids: Option<&Vec<String>>, kind: &str) -> Value {
    ids.map_or(Value::Null, |ids| {
        Value::Array(ids.iter().map(|id| reference(id, kind)).collect())
    })
}

pub fn id_of(value: &Value) -> Value {
    value.get("id").cloned().unwrap_or(Value::Null)
}

pub fn ids_of(value: &Value) -> Value {
    match value.as_array() {
        Some(items) => Value::Array(items.iter().map(id_of).collect()),
        None => Value::Null,
    }
}

pub fn object(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
