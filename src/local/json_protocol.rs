//! The JSON 1.x services the local endpoint answers beside Lambda and STS, all on `POST /` told
//! apart by `X-Amz-Target`: Organizations' DescribeOrganization ([`organizations`]) and Systems
//! Manager's GetParameter ([`ssm`]). Here: the dispatch and the caller's authentication (signed
//! for the service's signing name); the answers' framing is [`crate::local::json_answer`]'s.

use crate::local::ids::request_id;
use crate::local::json_answer::error;
use crate::local::sigv4::{AuthFailure, ReceivedRequest};
use crate::local::world::World;
use crate::local::{organizations, ssm};
use axum::response::Response;
use serde_json::Value;

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
