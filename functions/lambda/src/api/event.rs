//! Events lambda_http cannot turn into a request.
//!
//! lambda_http (1.3) builds a request's URI from the event's `Host` header
//! (or domain name), `x-forwarded-proto`, stage, path and query string with
//! `unwrap` and `expect`, and decodes a base64 body with `expect`. A scheme
//! or host that makes no URL, a query string with characters a URI cannot
//! hold, or a body marked base64 that is not, panics inside the conversion
//! (found by fuzzing): the runtime survives it, but API Gateway answers 502
//! and the log holds a panic. [`check`] reads an event the way the
//! conversion will, without panicking, and the function answers an event it
//! refuses with [`refusal`]: 400 `INVALID_EVENT`.

use base64::Engine;
use http::header::HOST;
use http::{HeaderMap, StatusCode, Uri};
use keyplane_api::problem::Problem;
use keyplane_http::PROBLEM_JSON;
use lambda_http::request::{LambdaRequest, RequestOrigin};
use serde::Serialize;
use serde_json::{json, Value};
use url::Url;

/// Why lambda_http cannot convert an event. Messages never quote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnusableEvent {
    /// Host, scheme, stage, path and query string make no URI.
    #[error("the event's host, scheme, stage, path and query string do not make a URI")]
    Uri,
    /// `isBase64Encoded` is set but the body is not base64.
    #[error("the event's body is marked as base64 but is not")]
    Body,
}

/// Can lambda_http convert `event` without panicking? Mirrors each of the
/// conversion's fallible steps, in lambda_http's order.
pub fn check(event: &LambdaRequest) -> Result<(), UnusableEvent> {
    match event {
        LambdaRequest::ApiGatewayV1(ag) => {
            let host = host(&ag.headers, ag.request_context.domain_name.as_deref());
            let path = with_stage(ag.request_context.stage.as_deref(), path(&ag.path));
            uri(&path, &ag.headers, host, None)?;
            body(ag.body.as_deref(), ag.is_base64_encoded)
        }
        LambdaRequest::ApiGatewayV2(ag) => {
            let host = host(&ag.headers, ag.request_context.domain_name.as_deref());
            let path = with_stage(ag.request_context.stage.as_deref(), path(&ag.raw_path));
            uri(&path, &ag.headers, host, ag.raw_query_string.as_deref())?;
            body(ag.body.as_deref(), ag.is_base64_encoded)
        }
        LambdaRequest::WebSocket(ag) => {
            let host = host(&ag.headers, ag.request_context.domain_name.as_deref());
            let path = with_stage(ag.request_context.stage.as_deref(), path(&ag.path));
            uri(&path, &ag.headers, host, None)?;
            body(ag.body.as_deref(), ag.is_base64_encoded)
        }
        LambdaRequest::Alb(alb) => {
            uri(
                path(&alb.path),
                &alb.headers,
                host(&alb.headers, None),
                None,
            )?;
            body(alb.body.as_deref(), alb.is_base64_encoded)
        }
        LambdaRequest::VpcLatticeV2(vpc) => {
            uri(
                path(&vpc.path),
                &vpc.headers,
                host(&vpc.headers, None),
                None,
            )?;
            body(vpc.body.as_deref(), vpc.is_base64_encoded)
        }
        // Variants of features this crate does not enable.
        _ => Ok(()),
    }
}

/// The 400 problem+json answer to an event [`check`] refused, as the JSON
/// its origin expects (lambda_http's own response type is private).
pub fn refusal(origin: &RequestOrigin, unusable: UnusableEvent) -> Value {
    let status = StatusCode::BAD_REQUEST;
    let title = status.canonical_reason().unwrap_or("Bad Request");
    let problem = Problem {
        problem_type: "https://keyplane.dev/problems/invalid-event".to_owned(),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: unusable.to_string(),
        code: "INVALID_EVENT".to_owned(),
        request_id: None,
    };
    let mut answer = json!({
        "statusCode": status.as_u16(),
        "headers": {"content-type": PROBLEM_JSON},
        "body": serde_json::to_string(&problem).unwrap_or_default(),
        "isBase64Encoded": false,
    });
    if matches!(origin, RequestOrigin::Alb) {
        answer["statusDescription"] = json!(format!("{} {title}", status.as_u16()));
    }
    answer
}

/// What the function answers: lambda_http's response to a converted event,
/// or a [`refusal`].
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer<R> {
    /// The Router's answer, as lambda_http renders it.
    Served(R),
    /// The answer to an event [`check`] refused.
    Refused(Value),
}

fn path(path: &Option<String>) -> &str {
    path.as_deref().unwrap_or_default()
}

/// The `Host` header if it is text, else the request context's domain.
fn host<'a>(headers: &'a HeaderMap, domain_name: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .or(domain_name)
}

/// The path with the stage in front, as lambda_http puts it.
fn with_stage(stage: Option<&str>, path: &str) -> String {
    if std::env::var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_ok() {
        return path.to_owned();
    }
    match stage {
        None | Some("$default") => path.to_owned(),
        Some(stage) if path.starts_with(&format!("/{stage}/")) => path.to_owned(),
        Some(stage) => format!("/{stage}{path}"),
    }
}

/// lambda_http's URI: an absolute URL when there is a host, the URL's path
/// alone when there is none, then the raw query string of an HTTP API
/// event. (The other events' query strings are re-encoded from their
/// parameters, which always fit a URI.)
fn uri(
    path: &str,
    headers: &HeaderMap,
    host: Option<&str>,
    raw_query: Option<&str>,
) -> Result<(), UnusableEvent> {
    let mut uri = match host {
        None => Url::parse(&format!("http://localhost{path}"))
            .map_err(|_| UnusableEvent::Uri)?
            .path()
            .to_owned(),
        Some(host) => {
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("https");
            Url::parse(&format!("{scheme}://{host}{path}"))
                .map_err(|_| UnusableEvent::Uri)?
                .to_string()
        }
    };
    if let Some(query) = raw_query.filter(|query| !query.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    Uri::try_from(uri).map(drop).map_err(|_| UnusableEvent::Uri)
}

fn body(body: Option<&str>, is_base64_encoded: bool) -> Result<(), UnusableEvent> {
    match body {
        Some(body) if is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(body)
            .map(drop)
            .map_err(|_| UnusableEvent::Body),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Request;

    use super::*;

    fn event(value: Value) -> LambdaRequest {
        serde_json::from_value(value).expect("an event")
    }

    fn http_api(host: &str, proto: &str, query: &str) -> Value {
        json!({
            "version": "2.0",
            "routeKey": "POST /v1/keys/verify",
            "rawPath": "/v1/keys/verify",
            "rawQueryString": query,
            "headers": {"host": host, "x-forwarded-proto": proto},
            "requestContext": {
                "http": {"method": "POST", "path": "/v1/keys/verify", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.20", "userAgent": "t"},
                "stage": "$default",
                "domainName": host,
            },
            "body": "{}",
            "isBase64Encoded": false,
        })
    }

    fn panics_in_conversion(event: LambdaRequest) -> bool {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Request::from(event))).is_err()
    }

    /// Found by fuzzing: each of these panicked in lambda_http's
    /// conversion. They are refused, and everything `check` lets through
    /// converts.
    #[test]
    fn events_lambda_http_cannot_convert_are_refused() {
        let host = "abc.execute-api.eu-west-1.amazonaws.com";
        let unusable = [
            http_api(host, "ht(tps", ""),
            http_api("exa mple.com", "https", ""),
            http_api("example.com:99999", "https", ""),
            http_api(host, "https", "a=\"b\""),
            http_api(host, "https", "a b"),
        ];
        for value in unusable {
            assert_eq!(
                check(&event(value.clone())),
                Err(UnusableEvent::Uri),
                "{value}"
            );
            assert!(panics_in_conversion(event(value.clone())), "{value}");
        }
        let mut not_base64 = http_api(host, "https", "");
        not_base64["isBase64Encoded"] = json!(true);
        not_base64["body"] = json!("not base64!");
        assert_eq!(check(&event(not_base64.clone())), Err(UnusableEvent::Body));
        assert!(panics_in_conversion(event(not_base64)));

        let mut fine = http_api(host, "http", "a=b&c=%20");
        assert_eq!(check(&event(fine.clone())), Ok(()));
        fine["isBase64Encoded"] = json!(true);
        fine["body"] = json!("e30=");
        let fine = event(fine);
        assert_eq!(check(&fine), Ok(()));
        let request = Request::from(fine);
        assert_eq!(request.uri().query(), Some("a=b&c=%20"));
    }

    #[test]
    fn every_fixture_is_usable() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("a fixture").path();
            let text = std::fs::read_to_string(&path).expect("readable");
            if let Ok(event) = serde_json::from_str::<LambdaRequest>(&text) {
                assert_eq!(check(&event), Ok(()), "{}", path.display());
            }
        }
    }

    #[test]
    fn refusals_fit_their_origin() {
        let answer = |origin| refusal(&origin, UnusableEvent::Uri);
        let v2 = answer(RequestOrigin::ApiGatewayV2);
        assert_eq!(v2["statusCode"], 400);
        assert_eq!(v2["headers"]["content-type"], PROBLEM_JSON);
        let body: Value = serde_json::from_str(v2["body"].as_str().expect("a body")).expect("JSON");
        assert_eq!(body["code"], "INVALID_EVENT");
        assert_eq!(answer(RequestOrigin::ApiGatewayV1)["statusCode"], 400);
        assert_eq!(
            answer(RequestOrigin::Alb)["statusDescription"],
            "400 Bad Request"
        );
    }
}
