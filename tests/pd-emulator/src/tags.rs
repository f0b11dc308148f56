// Handlers return `Result<Response, Response>` (axum's idiom: the error *is* the
// response), so a large `Err` is by design.
#![allow(clippy::result_large_err)]

//! Tags (`/tags`) and their assignments (`/{entity_type}/{id}/change_tags`,
//! `/{entity_type}/{id}/tags`), as PagerDuty's REST API documents them
//! (rest-openapiv3.json, `Tag`, `createTags`, `createEntityTypeByIdChangeTags`,
//! `getEntityTypeByIdTags`): a tag has a `label` and no update; `change_tags`
//! adds tags by reference (or by label, making the tag) and removes them by
//! reference, for users, teams and escalation policies; deleting a tag removes
//! it from everything it was on.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use serde_json::{Value, json};

use crate::App;
use crate::rest::{self, Reply};

const COLLECTION: &str = "tags";
const ENTITY_TYPES: &[&str] = &["users", "teams", "escalation_policies"];

pub async fn list(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Reply {
    let query = rest::pairs(&query);
    let needle = rest::one(&query, "query").map(|q| q.to_lowercase());
    let db = rest::lock(&app);
    let items: Vec<Value> = db
        .list(COLLECTION)
        .into_iter()
        .filter(|t| {
            needle.as_ref().is_none_or(|n| {
                t["label"]
                    .as_str()
                    .is_some_and(|l| l.to_lowercase().contains(n))
            })
        })
        .collect();
    rest::paginate(COLLECTION, items, &query)
}

pub async fn create(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Reply {
    let input = rest::body_of(&body, "tag")?;
    let label = input["label"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut db = rest::lock(&app);
    if label.is_empty() || label.chars().count() > 191 {
        return Err(rest::invalid(vec!["Label must be 1-191 characters".into()]));
    }
    if db
        .list(COLLECTION)
        .iter()
        .any(|t| t["label"] == label.as_str())
    {
        return Err(rest::invalid(vec!["Label has already been taken".into()]));
    }
    let tag = new_tag(&mut db, &label);
    rest::created(json!({ "tag": tag }))
}

fn new_tag(db: &mut crate::db::Db, label: &str) -> Value {
    let id = db.id();
    db.insert(
        COLLECTION,
        json!({"id": id, "type": "tag", "label": label, "summary": label}),
    );
    db.get(COLLECTION, &id).cloned().unwrap_or_default()
}

pub async fn get(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let db = rest::lock(&app);
    match db.get(COLLECTION, &id) {
        Some(tag) => rest::ok(json!({ "tag": tag })),
        None => Err(rest::not_found_error()),
    }
}

pub async fn delete(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply {
    let mut db = rest::lock(&app);
    let removed = db.objects.get_mut(COLLECTION).and_then(|c| c.remove(&id));
    if removed.is_none() {
        return Err(rest::not_found_error());
    }
    db.tag_links.retain(|(_, _, tag)| *tag != id);
    rest::no_content()
}

/// `/{entity_type}/{id}/…`: the entity type from the path, if PagerDuty tags it.
fn entity_type(uri: &Uri) -> Option<&'static str> {
    let first = uri.path().trim_start_matches('/').split('/').next()?;
    ENTITY_TYPES.iter().copied().find(|t| *t == first)
}

pub async fn change(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    uri: Uri,
    Json(body): Json<Value>,
) -> Reply {
    let Some(kind) = entity_type(&uri) else {
        return Err(rest::not_found_error());
    };
    let mut db = rest::lock(&app);
    if db.get(kind, &id).is_none() {
        return Err(rest::not_found_error());
    }
    let mut errors = Vec::new();
    let mut add = Vec::new();
    for tag in body["add"].as_array().into_iter().flatten() {
        match (
            tag["type"].as_str(),
            tag["id"].as_str(),
            tag["label"].as_str(),
        ) {
            (Some("tag_reference"), Some(tid), _) if db.get(COLLECTION, tid).is_some() => {
                add.push(tid.to_owned());
            }
            (Some("tag_reference"), Some(tid), _) => errors.push(format!("Tag {tid} not found")),
            (Some("tag"), _, Some(label)) => {
                let existing = db
                    .list(COLLECTION)
                    .into_iter()
                    .find(|t| t["label"] == label);
                let tag = existing.unwrap_or_else(|| new_tag(&mut db, label));
                add.push(tag["id"].as_str().unwrap_or_default().to_owned());
            }
            _ => errors
                .push("Each tag to add is a tag_reference with an id or a tag with a label".into()),
        }
    }
    let mut remove = Vec::new();
    for tag in body["remove"].as_array().into_iter().flatten() {
        match tag["id"].as_str() {
            Some(tid) if tag["type"] == "tag_reference" => remove.push(tid.to_owned()),
            _ => errors.push("Each tag to remove is a tag_reference with an id".into()),
        }
    }
    if add.is_empty() && remove.is_empty() && errors.is_empty() {
        errors.push("Nothing to add or remove".into());
    }
    if !errors.is_empty() {
        return Err(rest::invalid(errors));
    }
    for tid in add {
        db.tag_links.insert((kind.to_owned(), id.clone(), tid));
    }
    for tid in remove {
        db.tag_links.remove(&(kind.to_owned(), id.clone(), tid));
    }
    rest::ok(json!({}))
}

pub async fn of_entity(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Reply {
    let Some(kind) = entity_type(&uri) else {
        return Err(rest::not_found_error());
    };
    let db = rest::lock(&app);
    if db.get(kind, &id).is_none() {
        return Err(rest::not_found_error());
    }
    let tags: Vec<Value> = db
        .tag_links
        .iter()
        .filter(|(k, e, _)| k == kind && *e == id)
        .filter_map(|(_, _, t)| db.get(COLLECTION, t).cloned())
        .collect();
    rest::paginate(COLLECTION, tags, &rest::pairs(&query))
}
