//! S3 conditional writes are atomic; moto's are not. S3: "If multiple conditional
//! writes occur for the same object name, the first write operation to finish
//! succeeds" (S3 User Guide, "Prevent object overwrites with conditional
//! writes"), and the others are answered 412 Precondition Failed. moto 5.2.5's
//! `put_object` checks `If-None-Match`/`If-Match` and writes later, without a lock
//! (`moto/s3/responses.py`), so two racing writers can both be told they won —
//! which, for the state's lock object, is two holders of one lock. The proxy
//! sends the writes of one object (`PutObject`, `DeleteObject`) to moto one at a
//! time, so moto's check and write are never interleaved with another's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::Response;

use crate::call::Call;
use crate::{Incoming, Shared, Upstream, forward};

/// One queue per object path (`/bucket/key`) with a write in flight.
#[derive(Debug, Default)]
pub(crate) struct ObjectWrites(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl ObjectWrites {
    fn queue(&self, path: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.0
            .lock()
            .expect("object writes")
            .entry(path.to_owned())
            .or_default()
            .clone()
    }

    /// Forget the queue when nobody else holds or waits on it.
    fn done(&self, path: &str, queue: Arc<tokio::sync::Mutex<()>>) {
        let mut queues = self.0.lock().expect("object writes");
        // The map's reference and ours: nobody else has it.
        if Arc::strong_count(&queue) == 2 {
            queues.remove(path);
        }
    }
}

pub(crate) async fn handle(
    shared: &Shared,
    call: &Call,
    incoming: &Incoming,
) -> Result<Response, Response> {
    if !matches!(call.action.as_str(), "PutObject" | "DeleteObject") {
        return forward(shared, incoming).await.map(Upstream::into_response);
    }
    let path = incoming.path();
    let queue = shared.object_writes.queue(path);
    let answer = {
        let _turn = queue.lock().await;
        forward(shared, incoming).await
    };
    shared.object_writes.done(path, queue);
    answer.map(Upstream::into_response)
}
