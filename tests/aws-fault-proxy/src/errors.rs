//! AWS error answers in each protocol's own shape, as the SDKs parse them
//! (aws-smithy's `parse_error_metadata` for JSON protocols reads the
//! `x-amzn-ErrorType` header or the body's `__type`/`code`; the Query and
//! REST-XML parsers read `<Error><Code>` and `<Message>`):
//!
//! - Query (IAM, SNS, CloudWatch): `<ErrorResponse><Error><Type>Sender</Type>
//!   <Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId>
//!   </ErrorResponse>` — the IAM and SNS API references' "Common Errors" shape.
//! - JSON 1.1 (CloudWatch Logs): `{"__type": "…", "message": "…"}`.
//! - REST-JSON (Lambda): the `x-amzn-ErrorType` header and `{"Type": "User",
//!   "message": "…"}` (Lambda's error shapes carry `Type` and `message`).
//! - REST-XML (S3): `<Error><Code>…</Code><Message>…</Message></Error>`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::call::{Call, Protocol};

pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The XML namespace of a Query service's answers.
pub fn namespace(service: &str) -> &'static str {
    match service {
        "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
        "sns" => "http://sns.amazonaws.com/doc/2010-03-31/",
        "monitoring" => "http://monitoring.amazonaws.com/doc/2010-08-01/",
        _ => "",
    }
}

pub fn query_error(status: StatusCode, service: &str, code: &str, message: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"{}\"><Error><Type>Sender</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>",
        namespace(service),
        xml_escape(code),
        xml_escape(message)
    );
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

pub fn rest_json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"Type": "User", "message": message}).to_string();
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(code) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    (
        status,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
        body,
    )
        .into_response()
}

pub fn rest_xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<Error><Code>{}</Code><Message>{}</Message><RequestId>fault-proxy</RequestId></Error>",
        xml_escape(code),
        xml_escape(message)
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// "Rate exceeded" in the protocol the call spoke, with each service's code:
/// `Throttling` (Query), `ThrottlingException` (JSON), 429
/// `TooManyRequestsException` (Lambda), 503 `SlowDown` (S3).
pub fn throttled(call: &Call) -> Response {
    match call.protocol {
        Protocol::Query => query_error(
            StatusCode::BAD_REQUEST,
            &call.service,
            "Throttling",
            "Rate exceeded",
        ),
        Protocol::Json => json_error(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded",
        ),
        Protocol::RestJson => rest_json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate exceeded",
        ),
        Protocol::RestXml => rest_xml_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        ),
    }
}
