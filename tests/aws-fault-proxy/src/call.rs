//! What an AWS request is: which service (from the SigV4 credential scope, as
//! every SDK call is signed for its service), which action (each protocol names
//! it its own way), and its parameters where the proxy needs them.

use axum::http::{HeaderMap, Method, header};

/// The wire protocol a request speaks, which decides the shape of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `Action=...` form bodies, XML answers: IAM, SNS, CloudWatch (Query).
    Query,
    /// `X-Amz-Target` + JSON 1.1 bodies: CloudWatch Logs.
    Json,
    /// REST with JSON bodies: Lambda.
    RestJson,
    /// REST with XML bodies: S3.
    RestXml,
}

#[derive(Debug, Clone)]
pub struct Call {
    /// The SigV4 signing name: `iam`, `sns`, `lambda`, `logs`, `s3`, `monitoring`.
    pub service: String,
    /// The API action, e.g. `CreateFunction`, `DeleteRole`.
    pub action: String,
    pub protocol: Protocol,
    /// Query-protocol parameters (form body), in order.
    pub params: Vec<(String, String)>,
}

impl Call {
    /// `service:Action`, the key of the counters.
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.action)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The service a request was signed for: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
fn signing_service(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    let scope: Vec<&str> = credential.split([',', ' ']).next()?.split('/').collect();
    scope.get(3).map(|s| (*s).to_owned())
}

pub fn classify(method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Call {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut service = signing_service(headers).unwrap_or_else(|| "unknown".into());
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let params: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        return Call {
            service,
            action,
            protocol: Protocol::Query,
            params,
        };
    }
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        // `Logs_20140328.CreateLogGroup`
        let action = target.rsplit('.').next().unwrap_or(target).to_owned();
        return Call {
            service,
            action,
            protocol: Protocol::Json,
            params: vec![],
        };
    }
    if path.starts_with("/2015-03-31/") || path.starts_with("/2017-03-31/") {
        if service == "unknown" {
            service = "lambda".into();
        }
        return Call {
            service,
            action: lambda_action(method, path),
            protocol: Protocol::RestJson,
            params: vec![],
        };
    }
    Call {
        action: s3_action(method, path),
        service,
        protocol: Protocol::RestXml,
        params: vec![],
    }
}

/// Lambda's REST routes (the API reference's request syntax) for the actions
/// the proxy meets; others are named by method and path.
fn lambda_action(method: &Method, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let action = match (method.as_str(), segments.as_slice()) {
        ("POST", [_, "functions"]) => "CreateFunction",
        ("GET", [_, "functions"]) => "ListFunctions",
        ("GET", [_, "functions", _]) => "GetFunction",
        ("DELETE", [_, "functions", _]) => "DeleteFunction",
        ("PUT", [_, "functions", _, "code"]) => "UpdateFunctionCode",
        ("PUT", [_, "functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("GET", [_, "functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("POST", [_, "functions", _, "invocations"]) => "Invoke",
        ("POST", [_, "tags", _]) => "TagResource",
        ("DELETE", [_, "tags", _]) => "UntagResource",
        ("GET", [_, "tags", _]) => "ListTags",
        _ => return format!("{method} {path}"),
    };
    action.to_owned()
}

/// S3 (path-style against an endpoint URL): the action from the method and
/// whether the path names a bucket or an object.
fn s3_action(method: &Method, path: &str) -> String {
    let object = path.trim_matches('/').contains('/');
    let action = match (method.as_str(), object) {
        ("PUT", false) => "CreateBucket",
        ("PUT", true) => "PutObject",
        ("GET", false) => "ListObjects",
        ("GET", true) => "GetObject",
        ("HEAD", false) => "HeadBucket",
        ("HEAD", true) => "HeadObject",
        ("DELETE", false) => "DeleteBucket",
        ("DELETE", true) => "DeleteObject",
        ("POST", _) => "Post",
        _ => "Other",
    };
    action.to_owned()
}

/// The function a Lambda path names (`/2015-03-31/functions/{FunctionName}/...`):
/// a name, or an ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`),
/// percent-encoded by the SDK.
pub fn lambda_function(path: &str) -> Option<String> {
    let mut segments = path.trim_matches('/').split('/');
    segments.next()?;
    if segments.next()? != "functions" {
        return None;
    }
    let raw = segments.next()?;
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?
        .into_owned();
    match decoded.split(":function:").nth(1) {
        Some(rest) => rest.split(':').next().map(str::to_owned),
        None => Some(decoded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(service: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-northeast-1/{service}/aws4_request, SignedHeaders=host, Signature=0").parse().unwrap(),
        );
        h
    }

    #[test]
    fn each_protocol_names_its_action() {
        let mut h = signed("iam");
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let c = classify(
            &Method::POST,
            "/",
            &h,
            b"Action=DeleteRole&RoleName=r&Version=2010-05-08",
        );
        assert_eq!(
            (c.key().as_str(), c.protocol),
            ("iam:DeleteRole", Protocol::Query)
        );
        assert_eq!(c.param("RoleName"), Some("r"));

        let mut h = signed("logs");
        h.insert(
            "x-amz-target",
            "Logs_20140328.CreateLogGroup".parse().unwrap(),
        );
        let c = classify(&Method::POST, "/", &h, b"{}");
        assert_eq!(
            (c.key().as_str(), c.protocol),
            ("logs:CreateLogGroup", Protocol::Json)
        );

        let h = signed("lambda");
        let c = classify(&Method::PUT, "/2015-03-31/functions/f/code", &h, b"{}");
        assert_eq!(c.key(), "lambda:UpdateFunctionCode");
        let c = classify(&Method::GET, "/2015-03-31/functions/f", &h, b"");
        assert_eq!(
            (c.key().as_str(), c.protocol),
            ("lambda:GetFunction", Protocol::RestJson)
        );

        let c = classify(&Method::PUT, "/bucket/key.zip", &signed("s3"), b"");
        assert_eq!(
            (c.key().as_str(), c.protocol),
            ("s3:PutObject", Protocol::RestXml)
        );
    }

    #[test]
    fn a_function_is_named_by_name_or_arn() {
        assert_eq!(
            lambda_function("/2015-03-31/functions/f/code").as_deref(),
            Some("f")
        );
        assert_eq!(
            lambda_function(
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aap-northeast-1%3A123456789012%3Afunction%3Af%3A%24LATEST"
            )
            .as_deref(),
            Some("f")
        );
        assert_eq!(lambda_function("/2015-03-31/functions"), None);
    }
}
