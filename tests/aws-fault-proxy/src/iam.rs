//! IAM where moto is kinder than AWS: a role whose managed policy was just
//! detached still conflicts on `DeleteRole` for a while — IAM is eventually
//! consistent ("Changes that I make are not always immediately visible", IAM
//! User Guide, troubleshooting), and terraform-provider-aws retries `DeleteRole`
//! on `DeleteConflict` for its propagation timeout right after detaching
//! (`DeleteRole` in internal/service/iam/role.go). The answer is IAM's 409
//! `DeleteConflict` "Cannot delete entity, must detach all policies first."
//! (what IAM — and moto, while a policy is still attached — answers).

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;

use crate::call::Call;
use crate::errors::query_error;
use crate::{Incoming, Shared, fault, forward};

pub async fn handle(
    shared: &Shared,
    call: &Call,
    incoming: &Incoming,
) -> Result<Response, Response> {
    let role = call.param("RoleName").unwrap_or_default().to_owned();
    if call.action == "DeleteRole" {
        let mut state = shared.state();
        let conflicting = state
            .detached
            .get(&role)
            .is_some_and(|until| *until > Instant::now());
        if conflicting {
            state.injected(fault::DELETE_CONFLICT);
            return Err(query_error(
                StatusCode::CONFLICT,
                "iam",
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
            ));
        }
    }
    let answer = forward(shared, incoming).await?;
    if call.action == "DetachRolePolicy" && answer.ok() {
        let mut state = shared.state();
        let window = state.faults.delete_role_window;
        if !window.is_zero() {
            state.detached.insert(role, Instant::now() + window);
        }
    }
    Ok(answer.into_response())
}
