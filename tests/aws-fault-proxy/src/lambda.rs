//! Lambda where moto is kinder than AWS.
//!
//! - **IAM propagation.** A role created a moment ago cannot be assumed by
//!   Lambda yet; `CreateFunction` answers 400 `InvalidParameterValueException`
//!   "The role defined for the function cannot be assumed by Lambda." until it
//!   can. terraform-provider-aws retries exactly this message for its
//!   propagation timeout (`retryFunctionOp` in
//!   internal/service/lambda/function.go). Moto accepts the role at once.
//! - **Updates in progress.** An update sets `LastUpdateStatus` to `InProgress`
//!   until it completes, then `Successful`; another update meanwhile is refused
//!   with 409 `ResourceConflictException` "The operation cannot be performed at
//!   this time. An update is in progress for resource: <function ARN>" (the
//!   Lambda developer guide's "Lambda function states" page and the AWS Compute
//!   Blog's "Tracking the state of Lambda functions" describe `LastUpdateStatus`
//!   InProgress → Successful; terraform-provider-aws retries
//!   `ResourceConflictException` in `retryFunctionOp` and waits for
//!   `LastUpdateStatus: Successful` in `waitFunctionUpdated`). Moto completes
//!   every update at once.

use std::time::Instant;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::call::{Call, lambda_function};
use crate::errors::rest_json_error;
use crate::{Incoming, Shared, Upstream, fault, forward};

pub async fn handle(
    shared: &Shared,
    call: &Call,
    incoming: &Incoming,
) -> Result<Response, Response> {
    let function = lambda_function(incoming.path());
    match call.action.as_str() {
        "CreateFunction" => {
            {
                let mut state = shared.state();
                if state.refusals_left > 0 {
                    state.refusals_left -= 1;
                    state.injected(fault::ROLE_NOT_ASSUMABLE);
                    return Err(rest_json_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterValueException",
                        "The role defined for the function cannot be assumed by Lambda.",
                    ));
                }
            }
            Ok(forward(shared, incoming).await?.into_response())
        }
        "UpdateFunctionCode" | "UpdateFunctionConfiguration" => {
            let name = function.unwrap_or_default();
            {
                let mut state = shared.state();
                let busy = state
                    .updating
                    .get(&name)
                    .filter(|(until, _)| *until > Instant::now())
                    .map(|(_, arn)| arn.clone());
                if let Some(arn) = busy {
                    state.injected(fault::UPDATE_IN_PROGRESS);
                    return Err(rest_json_error(
                        StatusCode::CONFLICT,
                        "ResourceConflictException",
                        &format!(
                            "The operation cannot be performed at this time. An update is in progress for resource: {arn}"
                        ),
                    ));
                }
            }
            let mut answer = forward(shared, incoming).await?;
            let window = shared.state().faults.lambda_update_window;
            if answer.ok() && !window.is_zero() {
                let arn = serde_json::from_slice::<Value>(&answer.body)
                    .ok()
                    .and_then(|v| v["FunctionArn"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| name.clone());
                shared
                    .state()
                    .updating
                    .insert(name, (Instant::now() + window, arn));
                in_progress(&mut answer, |v| v);
            }
            Ok(answer.into_response())
        }
        "GetFunction" | "GetFunctionConfiguration" => {
            let mut answer = forward(shared, incoming).await?;
            let busy = function.is_some_and(|name| {
                shared
                    .state()
                    .updating
                    .get(&name)
                    .is_some_and(|(until, _)| *until > Instant::now())
            });
            if answer.ok() && busy {
                if call.action == "GetFunction" {
                    in_progress(&mut answer, |v| &mut v["Configuration"]);
                } else {
                    in_progress(&mut answer, |v| v);
                }
            }
            Ok(answer.into_response())
        }
        _ => Ok(forward(shared, incoming).await?.into_response()),
    }
}

/// Set `LastUpdateStatus: InProgress` in the configuration `at` picks out.
fn in_progress(answer: &mut Upstream, at: impl Fn(&mut Value) -> &mut Value) {
    let Ok(mut body) = serde_json::from_slice::<Value>(&answer.body) else {
        return;
    };
    let configuration = at(&mut body);
    if configuration.is_object() {
        configuration["LastUpdateStatus"] = Value::String("InProgress".into());
        answer.body = body.to_string().into();
    }
}
