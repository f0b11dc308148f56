//! AWS objects a blueprint names and proves its own by their tags: log groups,
//! roles, functions, topics, queues, rules, alarms. Each kind's file says how
//! its object is written and read and which calls its service tags it with
//! ([`TaggedObject`]); reading by id, deleting, finding and an update's tag
//! sync are implemented once here, as PagerDuty's plain objects are
//! (`providers/pagerduty/object.rs`).

use std::future::Future;

use async_trait::async_trait;
use serde_json::Value;

use super::{AwsProvider, by_tags, gone_ok, optional, same_set};
use crate::providers::{Desired, Found, ProviderResult, Resource, ResourceKind};
use blueprint_model::kind::KindInfo;

/// Tag pairs, as the services list them.
pub(super) type Tags = Vec<(String, String)>;

/// A kind that is one tagged AWS object, found by the name its props give.
pub(super) trait TaggedObject: Send + Sync + 'static {
    fn info() -> &'static KindInfo;

    /// How messages name one object, before its id: `SNS topic`.
    const NOUN: &'static str;

    /// A create's calls to rate-limited APIs ([`ResourceKind::paced_calls`]).
    const PACED_CALLS: &'static [&'static str] = &[];

    /// Creates the object, tagged, and reads it back.
    fn create(
        aws: &AwsProvider,
        d: &Desired<'_>,
    ) -> impl Future<Output = ProviderResult<Resource>> + Send;

    /// Changes the props named in `changed` but the tags (synced before this
    /// runs) and reads the object back.
    fn update(
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> impl Future<Output = ProviderResult<Resource>> + Send;

    /// The object whose [`Resource::id`] is `id`; `None` when there is none.
    fn read(
        aws: &AwsProvider,
        id: &str,
        address: &str,
    ) -> impl Future<Output = ProviderResult<Option<Resource>>> + Send;

    /// The object `d` names, for `find`; with its tags where the same call
    /// answers them (IAM's GetRole, Lambda's GetFunction), else they are listed.
    fn named(
        aws: &AwsProvider,
        d: &Desired<'_>,
        address: &str,
    ) -> impl Future<Output = ProviderResult<Option<(Resource, Option<Tags>)>>> + Send;

    /// The tags `d` wants: the user's and the host's ([`super::tags`]).
    fn wanted_tags(d: &Desired<'_>) -> ProviderResult<Tags>;

    /// What the service's tag calls name the object by (its ARN, name or URL),
    /// from what was read or recorded of it.
    fn tag_target(object: &Resource) -> Option<String>;

    /// The tags the object has now.
    fn list_tags(
        aws: &AwsProvider,
        target: &str,
        address: &str,
    ) -> impl Future<Output = ProviderResult<Tags>> + Send;

    /// Adds `tags`, overwriting the values of keys it has.
    fn tag(
        aws: &AwsProvider,
        target: &str,
        tags: &Tags,
        address: &str,
    ) -> impl Future<Output = ProviderResult<()>> + Send;

    /// Removes the tags with these keys.
    fn untag(
        aws: &AwsProvider,
        target: &str,
        keys: Vec<String>,
        address: &str,
    ) -> impl Future<Output = ProviderResult<()>> + Send;

    /// The delete call; an answer that the object is not there is taken as
    /// deleted by the caller.
    fn remove(
        aws: &AwsProvider,
        id: &str,
        address: &str,
    ) -> impl Future<Output = ProviderResult<()>> + Send;

    /// Whether an observed value satisfies the desired one beyond equality;
    /// tags are compared as a set for every kind.
    fn equivalent(_prop: &str, _desired: &Value, _observed: &Value) -> bool {
        false
    }
}

fn address_of<O: TaggedObject>(id: &str) -> String {
    format!("{} {id}", O::NOUN)
}

/// Brings the object's tags to `want`, the way every AWS service here allows:
/// tagging adds and overwrites (e.g. IAM TagRole: "If a tag with the same key
/// name already exists, then that tag is overwritten"), so the keys the
/// blueprint dropped are found by listing and removed.
async fn sync_tags<O: TaggedObject>(
    aws: &AwsProvider,
    target: &str,
    want: &Tags,
    address: &str,
) -> ProviderResult<()> {
    O::tag(aws, target, want, address).await?;
    let stale: Vec<String> = O::list_tags(aws, target, address)
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| !want.iter().any(|(wanted, _)| wanted == key))
        .collect();
    if !stale.is_empty() {
        O::untag(aws, target, stale, address).await?;
    }
    Ok(())
}

#[async_trait]
impl<O: TaggedObject> ResourceKind<AwsProvider> for O {
    fn info(&self) -> &'static KindInfo {
        O::info()
    }

    fn paced_calls(&self) -> &'static [&'static str] {
        O::PACED_CALLS
    }

    async fn create(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Resource> {
        O::create(aws, d).await
    }

    async fn read(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<Option<Resource>> {
        O::read(aws, &prior.id, &address_of::<O>(&prior.id)).await
    }

    /// Tags first — a create's tags only apply to a new object in every one of
    /// these services (TagResource and its kin change them later) — then the
    /// kind's own changes, whose read-back then shows the new tags too.
    async fn update(
        &self,
        aws: &AwsProvider,
        d: &Desired<'_>,
        prior: &Resource,
        changed: &[String],
    ) -> ProviderResult<Resource> {
        if changed.iter().any(|c| c == "tags")
            && let Some(target) = O::tag_target(prior)
        {
            sync_tags::<O>(aws, &target, &O::wanted_tags(d)?, &d.address()).await?;
        }
        O::update(aws, d, prior, changed).await
    }

    async fn delete(&self, aws: &AwsProvider, prior: &Resource) -> ProviderResult<()> {
        gone_ok(O::remove(aws, &prior.id, &address_of::<O>(&prior.id)).await)
    }

    /// The object the props name, this node's if its tags say so. Tags that
    /// cannot be listed (gone between the two calls) prove nothing.
    async fn find(&self, aws: &AwsProvider, d: &Desired<'_>) -> ProviderResult<Option<Found>> {
        let address = d.address();
        let Some((object, tags)) = O::named(aws, d, &address).await? else {
            return Ok(None);
        };
        let tags = match (tags, O::tag_target(&object)) {
            (Some(tags), _) => tags,
            (None, Some(target)) => {
                optional(O::list_tags(aws, &target, &address).await)?.unwrap_or_default()
            }
            (None, None) => Tags::new(),
        };
        Ok(Some(by_tags(object, &tags, d)))
    }

    fn equivalent(&self, prop: &str, desired: &Value, observed: &Value) -> bool {
        prop == "tags" && same_set(desired, observed) || O::equivalent(prop, desired, observed)
    }
}
