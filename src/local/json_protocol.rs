//! The JSON 1.x services the local endpoint answers beside Lambda and STS, all on `POST /` told
//! apart by `X-Amz-Target`: Organizations' DescribeOrganization ([`organizations`]) and Systems
//! Manager's GetParameter ([`ssm`]). Here: the dispatch, the caller's authentication (signed for
//! the service's signing name) and the answers' framing (`__type` and `Message`, as the AWS JSON
//! protocols write errors).

use crate::local::sigv4::{AuthFailure, ReceivedRequest};
use crate::local::world::{request_id, World};
use crate::local::{organizations, ssm};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A JSON 1.1 answer.
pub(crate) fn answer(status: StatusCode, body: Value, rid: &str) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(rid) {
        h.insert(crate::local::errors::headers::REQUEST_ID, v);
    }
    resp
}

/// An error answer: 400 with the error's shape name and message.
pub(crate) fn error(code: &str, message: &str, rid: &str) -> Response {
    let body = if message.is_empty() {
        json!({ "__type": code })
    } else {
        json!({ "__type": code, "Message": message })
    };
    answer(StatusCode::BAD_REQUEST, body, rid)
}

/// The services, by `X-Amz-Target` prefix, with their signing names.
const SERVICES: &[(&str, &str)] = &[
    (organizations::TARGET_PREFIX, "organizations"),
    (ssm::TARGET_PREFIX, "ssm"),
];

/// Whether `target` is an operation of a service answered here.
pub fn serves(target: &str) -> bool {
    SERVICES.iter().any(|(prefix, _)| target.starts_with(prefix))
}

/// Answer one request whose `X-Amz-Target` is `target`.
pub fn handle(world: &World, req: &ReceivedRequest<'_>, target: &str) -> Response {
    let rid = request_id();
    let Some((prefix, signing_name)) = SERVICES.iter().find(|(p, _)| target.starts_with(p)) else {
        return error("UnknownOperationException", &format!("Unknown target {target}"), &rid);
    };
    let caller = match world.authenticate(req, signing_name) {
        Ok(c) => c,
        Err(f) => {
            let code = match f {
                AuthFailure::UnknownKey => "UnrecognizedClientException",
                AuthFailure::ExpiredToken => "ExpiredTokenException",
                _ => "InvalidSignatureException",
            };
            return error(code, &f.to_string(), &rid);
        }
    };
    let operation = &target[prefix.len()..];
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    match *prefix {
        organizations::TARGET_PREFIX => organizations::handle(world, &caller, operation, &rid),
        _ => ssm::handle(world, &caller, operation, &body, &rid),
    }
}
