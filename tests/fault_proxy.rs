//! The AWS fault proxy (tests/aws-fault-proxy) before moto, seen through the real
//! AWS SDK for Rust: each injected fault reaches the SDK as AWS's own error code
//! and class, each with a control showing moto alone answers otherwise. Sources
//! are cited in the proxy's modules (lambda.rs, iam.rs, sns.rs, errors.rs).

use crate::support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, LastUpdateStatus, Runtime};
use support::fault_proxy::{self, FaultProxy, Faults, fault};
use support::moto::Moto;

const ASSUME: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const BASIC_EXECUTION: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

async fn clients(
    proxy: &FaultProxy,
) -> (
    aws_sdk_iam::Client,
    aws_sdk_lambda::Client,
    aws_sdk_sns::Client,
) {
    let config = fault_proxy::sdk_config(proxy).await;
    (
        aws_sdk_iam::Client::new(&config),
        aws_sdk_lambda::Client::new(&config),
        aws_sdk_sns::Client::new(&config),
    )
}

fn handler_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("index.js", options).unwrap();
    zip.write_all(b"exports.handler = async () => 'ok';\n")
        .unwrap();
    zip.finish().unwrap().into_inner()
}

async fn role(iam: &aws_sdk_iam::Client, name: &str) -> String {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(ASSUME)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned()
}

async fn create_function(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    role: &str,
) -> Result<
    aws_sdk_lambda::operation::create_function::CreateFunctionOutput,
    aws_sdk_lambda::error::SdkError<
        aws_sdk_lambda::operation::create_function::CreateFunctionError,
    >,
> {
    lambda
        .create_function()
        .function_name(name)
        .role(role)
        .runtime(Runtime::Nodejs22x)
        .handler("index.handler")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(handler_zip()))
                .build(),
        )
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn create_function_is_refused_until_the_role_has_propagated() {
    let moto = Moto::start();
    let proxy = fault_proxy::start(
        &moto,
        Faults {
            create_function_refusals: 2,
            ..Faults::default()
        },
    )
    .await;
    let (iam, lambda, _) = clients(&proxy).await;
    let role = role(&iam, "fresh-role").await;
    for _ in 0..2 {
        let error = create_function(&lambda, "fn", &role).await.unwrap_err();
        let service = error.as_service_error().expect("a service error");
        assert!(
            service.is_invalid_parameter_value_exception(),
            "{service:?}"
        );
        assert_eq!(
            service.message(),
            Some("The role defined for the function cannot be assumed by Lambda.")
        );
        assert_eq!(error.raw_response().unwrap().status().as_u16(), 400);
    }
    let created = create_function(&lambda, "fn", &role).await.unwrap();
    assert_eq!(created.function_name(), Some("fn"));
    assert_eq!(proxy.injected(fault::ROLE_NOT_ASSUMABLE), 2);
    assert_eq!(proxy.calls("lambda:CreateFunction"), 3);
    assert_eq!(proxy.calls("iam:CreateRole"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lambda_update_in_progress_refuses_the_next_one() {
    let moto = Moto::start();
    let window = Duration::from_millis(600);
    let proxy = fault_proxy::start(
        &moto,
        Faults {
            lambda_update_window: window,
            ..Faults::default()
        },
    )
    .await;
    let (iam, lambda, _) = clients(&proxy).await;
    let role = role(&iam, "fn-role").await;
    create_function(&lambda, "fn", &role).await.unwrap();
    let status = |lambda: aws_sdk_lambda::Client| async move {
        lambda
            .get_function()
            .function_name("fn")
            .send()
            .await
            .unwrap()
            .configuration()
            .unwrap()
            .last_update_status()
            .cloned()
    };
    assert_eq!(
        status(lambda.clone()).await,
        Some(LastUpdateStatus::Successful),
        "moto: done at once"
    );

    let updated = lambda
        .update_function_configuration()
        .function_name("fn")
        .timeout(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.last_update_status(),
        Some(&LastUpdateStatus::InProgress)
    );
    assert_eq!(
        status(lambda.clone()).await,
        Some(LastUpdateStatus::InProgress)
    );
    let conflict = lambda
        .update_function_code()
        .function_name("fn")
        .zip_file(Blob::new(handler_zip()))
        .send()
        .await
        .unwrap_err();
    let service = conflict.as_service_error().expect("a service error");
    assert!(service.is_resource_conflict_exception(), "{service:?}");
    assert!(
        service.message().is_some_and(|m| m.starts_with(
            "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:"
        )),
        "{:?}",
        service.message()
    );
    assert_eq!(conflict.raw_response().unwrap().status().as_u16(), 409);
    let by_arn = lambda
        .update_function_configuration()
        .function_name(updated.function_arn().unwrap())
        .timeout(11)
        .send()
        .await
        .unwrap_err();
    assert!(
        by_arn
            .as_service_error()
            .is_some_and(|e| e.is_resource_conflict_exception()),
        "the same function named by its ARN"
    );

    tokio::time::sleep(window + Duration::from_millis(200)).await;
    assert_eq!(
        status(lambda.clone()).await,
        Some(LastUpdateStatus::Successful)
    );
    lambda
        .update_function_code()
        .function_name("fn")
        .zip_file(Blob::new(handler_zip()))
        .send()
        .await
        .unwrap();
    assert_eq!(proxy.injected(fault::UPDATE_IN_PROGRESS), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_role_conflicts_for_a_while_after_a_detach() {
    let moto = Moto::start();
    let window = Duration::from_millis(600);
    let proxy = fault_proxy::start(
        &moto,
        Faults {
            delete_role_window: window,
            ..Faults::default()
        },
    )
    .await;
    let (iam, _, _) = clients(&proxy).await;
    role(&iam, "exec").await;
    iam.attach_role_policy()
        .role_name("exec")
        .policy_arn(BASIC_EXECUTION)
        .send()
        .await
        .unwrap();
    let delete = || iam.delete_role().role_name("exec").send();

    // While attached, moto itself refuses (as IAM does).
    let error = delete().await.unwrap_err();
    let service = error.as_service_error().unwrap();
    assert!(service.is_delete_conflict_exception(), "{service:?}");
    assert_eq!(
        proxy.injected(fault::DELETE_CONFLICT),
        0,
        "moto's own answer"
    );

    iam.detach_role_policy()
        .role_name("exec")
        .policy_arn(BASIC_EXECUTION)
        .send()
        .await
        .unwrap();
    let error = delete().await.unwrap_err();
    let service = error.as_service_error().unwrap();
    assert!(service.is_delete_conflict_exception(), "{service:?}");
    assert_eq!(service.code(), Some("DeleteConflict"));
    assert_eq!(
        service.message(),
        Some("Cannot delete entity, must detach all policies first.")
    );
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 409);
    assert_eq!(proxy.injected(fault::DELETE_CONFLICT), 1);

    tokio::time::sleep(window + Duration::from_millis(200)).await;
    delete().await.unwrap();
}

/// A local HTTP endpoint that records what it is sent.
async fn endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(body);
            "ok"
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_to_an_endpoint_that_never_confirms_stays_pending() {
    let moto = Moto::start();
    let (never, never_seen) = endpoint().await;
    let (confirms, confirms_seen) = endpoint().await;
    let proxy = fault_proxy::start(
        &moto,
        Faults {
            non_confirming_endpoints: vec![never.clone()],
            ..Faults::default()
        },
    )
    .await;
    let (_, _, sns) = clients(&proxy).await;
    let topic = sns
        .create_topic()
        .name("alarms")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let subscribe = |endpoint: String, return_arn: bool| {
        let (sns, topic) = (sns.clone(), topic.clone());
        async move {
            sns.subscribe()
                .topic_arn(topic)
                .protocol("http")
                .endpoint(endpoint)
                .return_subscription_arn(return_arn)
                .send()
                .await
                .unwrap()
                .subscription_arn()
                .unwrap()
                .to_owned()
        }
    };
    let pending = subscribe(never.clone(), true).await;
    assert!(
        pending.starts_with(&format!("{topic}:")),
        "an ARN although pending: {pending}"
    );
    assert_eq!(
        subscribe(never.clone(), false).await,
        "pending confirmation",
        "without ReturnSubscriptionArn"
    );
    let confirmed = subscribe(confirms.clone(), true).await;

    let attribute = |arn: String| {
        let sns = sns.clone();
        async move {
            sns.get_subscription_attributes()
                .subscription_arn(arn)
                .send()
                .await
                .unwrap()
                .attributes()
                .unwrap()
                .get("PendingConfirmation")
                .cloned()
        }
    };
    assert_eq!(attribute(pending.clone()).await.as_deref(), Some("true"));
    assert_eq!(
        attribute(confirmed.clone()).await.as_deref(),
        Some("false"),
        "moto confirms at once"
    );
    let listed = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let arn_of = |endpoint: &str| {
        listed
            .subscriptions()
            .iter()
            .find(|s| s.endpoint() == Some(endpoint))
            .and_then(|s| s.subscription_arn())
            .map(str::to_owned)
    };
    assert_eq!(arn_of(&never).as_deref(), Some("PendingConfirmation"));
    assert_eq!(arn_of(&confirms), Some(confirmed.clone()));
    let everywhere = sns.list_subscriptions().send().await.unwrap();
    assert_eq!(everywhere.subscriptions().len(), 2);

    sns.publish()
        .topic_arn(&topic)
        .message("ALARM")
        .send()
        .await
        .unwrap();
    // SNS delivers after Publish answers (tests/moto/server.py, as SNS does).
    let waiting = std::time::Instant::now();
    while confirms_seen.lock().unwrap().is_empty()
        && waiting.elapsed() < std::time::Duration::from_secs(10)
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(confirms_seen.lock().unwrap().len(), 1, "delivered");
    assert!(
        never_seen.lock().unwrap().is_empty(),
        "nothing reaches a pending subscription"
    );

    // SNS refuses to unsubscribe a pending subscription; it stays listed until
    // it expires (or its topic is deleted).
    let refused = sns
        .unsubscribe()
        .subscription_arn(&pending)
        .send()
        .await
        .unwrap_err();
    let refused = format!("{:?}", aws_sdk_sns::error::DisplayErrorContext(&refused));
    assert!(
        refused.contains("InvalidParameter")
            && refused.contains("Cannot unsubscribe a subscription that is pending confirmation"),
        "{refused}"
    );
    let listed = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.subscriptions().len(), 2);
    assert_eq!(proxy.injected(fault::PENDING_SUBSCRIPTION), 2);
    sns.delete_topic().topic_arn(&topic).send().await.unwrap();
    let everywhere = sns.list_subscriptions().send().await.unwrap();
    assert!(
        everywhere
            .subscriptions()
            .iter()
            .all(|s| s.topic_arn() != Some(topic.as_str())),
        "deleting the topic removed its subscriptions"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_is_added_to_every_call_and_calls_are_counted() {
    let moto = Moto::start();
    let proxy = fault_proxy::start(&moto, Faults::default()).await;
    let (_, _, sns) = clients(&proxy).await;
    // moto's first calls of a service are slow (it loads the backend): warm up.
    for _ in 0..2 {
        sns.list_topics().send().await.unwrap();
    }
    let timed = || async {
        let started = Instant::now();
        sns.list_topics().send().await.unwrap();
        started.elapsed()
    };
    let plain = timed().await;
    let latency = Duration::from_millis(300);
    proxy.set_faults(Faults {
        latency,
        ..Faults::default()
    });
    let slow = timed().await;
    assert!(slow >= latency, "{slow:?}");
    assert!(
        slow < latency + plain + Duration::from_millis(200),
        "{slow:?} vs {plain:?}"
    );
    proxy.set_faults(Faults::default());
    let fast = timed().await;
    assert!(fast < latency, "{fast:?}");

    assert_eq!(proxy.calls("sns:ListTopics"), 5);
    let counters: serde_json::Value =
        reqwest::get(format!("{}/_fault_proxy/counters", proxy.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(counters["calls"]["sns:ListTopics"], 5, "{counters}");
}
