//! Shared state in S3 for teams: `s3://bucket/key`. No database beside it:
//!
//! - the lock is an object `<key>.lock` created with `If-None-Match: *`, so of two
//!   machines exactly one gets it; it holds who took it and when, and is deleted
//!   with `If-Match` on its own ETag (never someone else's lock);
//! - the state is written with `If-Match` on the ETag it was read with (or
//!   `If-None-Match: *` when new), so a write based on a stale read is refused
//!   instead of losing an update;
//! - every write also keeps its version at `<key>.history/<serial>.json`, so a bad
//!   apply can be inspected and rolled back by hand.
//!
//! Access control is the bucket's (IAM): the state holds integration keys.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;

use super::{LockInfo, State, StateError, StateLock, StateStore, parse};

pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    /// ETag of the state as last read or written: the precondition of the next write.
    etag: Mutex<Option<String>>,
    /// `[state] kms_key_id`: every object written is SSE-KMS with this key.
    kms_key_id: Option<String>,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, key: &str) -> S3Store {
        S3Store {
            client,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            etag: Mutex::new(None),
            kms_key_id: None,
        }
    }

    /// Write every object SSE-KMS with this key (`[state] kms_key_id`).
    pub fn with_kms_key(mut self, key: Option<String>) -> S3Store {
        self.kms_key_id = key;
        self
    }

    /// A PutObject of this store: SSE-KMS when a key is set (S3 User Guide,
    /// "Using server-side encryption with AWS KMS keys": `x-amz-server-side-encryption: aws:kms`
    /// and `x-amz-server-side-encryption-aws-kms-key-id`).
    fn put(&self) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let put = self.client.put_object();
        match &self.kms_key_id {
            Some(key) => put
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .ssekms_key_id(key),
            None => put,
        }
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    fn history_key(&self, serial: u64) -> String {
        format!("{}.history/{serial:012}.json", self.key)
    }

    fn io(&self, what: &str, error: impl std::fmt::Display) -> StateError {
        StateError::Io {
            path: self.describe(),
            error: std::io::Error::other(format!("{what}: {error}")),
        }
    }

    /// Who holds the lock now, if anyone (and the lock's ETag).
    async fn holder(&self) -> Result<Option<(Option<LockInfo>, Option<String>)>, StateError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.lock_key())
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().map(str::to_owned);
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.io("reading the lock", e))?
                    .into_bytes();
                Ok(Some((serde_json::from_slice(&bytes).ok(), etag)))
            }
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.io("reading the lock", error_text(&e))),
        }
    }
}

#[async_trait]
impl StateStore for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    async fn break_lock(&self) -> Result<Option<LockInfo>, StateError> {
        let Some((holder, etag)) = self.holder().await? else {
            return Ok(None);
        };
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.lock_key())
            .set_if_match(etag)
            .send()
            .await
            .map_err(|e| self.io("deleting the lock", error_text(&e)))?;
        Ok(Some(holder.unwrap_or_else(|| LockInfo {
            pid: 0,
            user: "unknown".into(),
            host: "unknown".into(),
            command: "unknown".into(),
            since: "unknown".into(),
        })))
    }

    async fn lock(&self, info: &LockInfo) -> Result<Box<dyn StateLock>, StateError> {
        let body = serde_json::to_vec(info).unwrap_or_default();
        let put = self
            .put()
            .bucket(&self.bucket)
            .key(self.lock_key())
            .if_none_match("*")
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(out) => Ok(Box::new(S3Lock {
                client: self.client.clone(),
                bucket: self.bucket.clone(),
                key: self.lock_key(),
                etag: out.e_tag().map(str::to_owned),
            })),
            // 412: it exists; 409: a concurrent conditional write won the race.
            Err(e) if matches!(status(&e), Some(412 | 409)) => Err(StateError::Locked {
                path: self.describe(),
                holder: self
                    .holder()
                    .await
                    .ok()
                    .flatten()
                    .and_then(|(h, _)| h)
                    .map(Box::new),
                breakable: true,
            }),
            Err(e) => Err(self.io("taking the lock", error_text(&e))),
        }
    }

    async fn load(&self, blueprint: &str) -> Result<State, StateError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if status(&e) == Some(404) => {
                *self.etag.lock().expect("etag lock") = None;
                return Ok(State::new(blueprint));
            }
            Err(e) => return Err(self.io("reading", error_text(&e))),
        };
        let etag = out.e_tag().map(str::to_owned);
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| self.io("reading", e))?
            .into_bytes();
        let text = String::from_utf8_lossy(&bytes);
        let state = parse(&text, &self.describe(), blueprint)?;
        *self.etag.lock().expect("etag lock") = etag;
        Ok(state)
    }

    async fn save(&self, state: &State) -> Result<(), StateError> {
        let text = serde_json::to_vec_pretty(state).expect("state serializes");
        let expected = self.etag.lock().expect("etag lock").clone();
        let mut put = self
            .put()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(text.clone()));
        put = match &expected {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        let history = self
            .put()
            .bucket(&self.bucket)
            .key(self.history_key(state.serial))
            .content_type("application/json")
            .body(ByteStream::from(text))
            .send();
        let (written, kept) = tokio::join!(put.send(), history);
        kept.map_err(|e| self.io("keeping history", error_text(&e)))?;
        match written {
            Ok(out) => {
                *self.etag.lock().expect("etag lock") = out.e_tag().map(str::to_owned);
                Ok(())
            }
            Err(e) if matches!(status(&e), Some(412 | 409)) => Err(StateError::Conflict {
                path: self.describe(),
            }),
            Err(e) => Err(self.io("writing", error_text(&e))),
        }
    }
}

/// The held lock; released (deleted, only if still ours) when dropped.
struct S3Lock {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    etag: Option<String>,
}

impl StateLock for S3Lock {}

impl Drop for S3Lock {
    fn drop(&mut self) {
        let request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .set_if_match(self.etag.clone());
        let release = async move {
            if let Err(e) = request.send().await {
                tracing::warn!("could not release the state lock: {}", error_text(&e));
            }
        };
        // Finish the release before the process can exit.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| handle.block_on(release));
            }
            Ok(handle) => {
                handle.spawn(release);
            }
            Err(_) => {}
        }
    }
}

fn status<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn error_text<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    crate::providers::aws::map_error("S3", e).message
}
