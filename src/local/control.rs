//! The control API under `/_local/` (unsigned, loopback peers only): fault injection,
//! lifecycle states, the clock, counters, web identity tokens and reset. Tests and load runs drive the simulated
//! account 2 through it. Every answer is JSON; a refused request is 400 `{"error": "..."}`.
//!
//! | call | body | effect |
//! |---|---|---|
//! | `POST /_local/faults` | `{"function":"target","error":"EC2ThrottledException","times":3}` | the next 3 invokes of `target` answer that error |
//! | | `{"function":"target","error":"ServiceException","probability":0.1,"seed":7}` | 10 % of invokes, reproducibly |
//! | | `"qualifier":"live"`, `"latency_ms":500`, `"message":"..."` | narrow to one qualifier, delay first, custom message |
//! | | `"reason":"CallerRateLimitExceeded","retry_after_s":2` | TooManyRequestsException's `Reason` and `Retry-After` (defaults: CallerRateLimitExceeded, 1) |
//! | | `"ec2_error_code":"Client.RequestLimitExceeded"` | EC2UnexpectedException's `EC2ErrorCode` (that is the default) |
//! | | no `times` nor `probability` | every matching invoke until `DELETE` |
//! | | `{"action":"sts:AssumeRole","error":"Throttling","times":1}` | the next AssumeRole answers STS's throttle (any STS error of the table; also `sts:AssumeRoleWithWebIdentity`, `sts:GetCallerIdentity`) |
//! | `DELETE /_local/faults` | | remove every fault |
//! | `POST /_local/state` | `{"function":"target","state":"Pending","for_ms":5000}` | 409 ResourceConflictException for 5 s |
//! | | `{"function":"target","state":"Inactive"}` | next invoke 502 ResourceNotReadyException, then Pending (`pending_ms`), then Active |
//! | | `{"function":"target","state":"Failed","reason_code":"EniLimitExceeded"}` | 502 by reason code until set Active (or `for_ms`) |
//! | `POST /_local/update` | `{"functions":["a","b"],"security_group_ids":["sg-2"]}` | UpdateFunctionConfiguration on each at once: LastUpdateStatus InProgress, a new subnet/security-group combination makes its Hyperplane ENI (or the update Fails with EniLimitExceeded / EC2RequestLimitExceeded); answers each function's result |
//! | `POST /_local/alias` | `{"function":"target","alias":"live","version":"2"}` or `"delete":true` | UpdateAlias or DeleteAlias: the alias's RevisionId changes; a deleted alias answers 404, its policy gone, and its version can then be deleted |
//! | `POST /_local/delete_version` | `{"function":"target","version":"1"}` | DeleteFunction of that version: refused while an alias points to it; the ENIs the version held (`version_networks`) are released `eni_release_s` later |
//! | `GET /_local/invocations` | | the last 1000 invokes that reached their function (authenticated, valid, found and authorized), whatever happened next: request id, ARN, type, the `X-Amzn-Trace-Id` received, time; invokes refused before are not listed (`/_local/stats` counts them by error) |
//! | `GET /_local/destinations` | | what failed async events delivered, by destination or dead-letter queue ARN |
//! | `GET /_local/executions` | | per function and message (idempotency key): `invokes` received and `executions` run ([`crate::local::executions`]) |
//! | `POST /_local/clock` | `{"advance_s":3600}` | server time moves: sessions expire, idle functions go Inactive, queued events come due |
//! | `POST /_local/oidc/token` | `{"sub":"system:serviceaccount:xinvoke:gateway"}` | `{"token":"eyJ..."}`: a JWT (ES256) of the scenario's first OIDC issuer, as an EKS pod's projected token; `"issuer"`, `"aud"` (a string or a list; default the issuer's first audience) and `"ttl_s"` (default 3600, at most 86400) change it; `iat`, `nbf`, `exp` are on the endpoint's clock |
//! | `GET /_local/stats` | | [`crate::local::Stats`] as JSON |
//! | `POST /_local/reset` | | fresh world: scenario, sessions, faults, clock, counters |

use crate::local::faults::{FaultError, FaultSpec};
use crate::local::function::ChangeError;
use crate::local::iam::OneOrMany;
use crate::local::oidc::{self, TokenRequest};
use crate::local::scenario::FunctionStateName;
use crate::local::shared::Shared;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    let mut resp = (status, serde_json::to_vec(&value).unwrap_or_default()).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A refused control request: 400 with `{"error": "<why>"}`.
fn bad(e: ControlError) -> Response {
    json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": e.to_string() }))
}

/// Why a control request is refused.
#[derive(Debug, thiserror::Error)]
enum ControlError {
    #[error("invalid JSON body: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unknown function {0:?}")]
    UnknownFunction(String),
    #[error("give either \"version\" (UpdateAlias) or \"delete\": true (DeleteAlias)")]
    AliasChange,
    #[error(transparent)]
    Fault(#[from] FaultError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Mint(#[from] oidc::MintError),
}

fn ok() -> Response {
    json(StatusCode::OK, serde_json::json!({ "ok": true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateRequest {
    function: String,
    state: FunctionStateName,
    #[serde(default)]
    reason_code: Option<String>,
    #[serde(default)]
    for_ms: Option<u64>,
}

/// `POST /_local/alias`: UpdateAlias (`version`) or DeleteAlias (`delete: true`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasChange {
    function: String,
    alias: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    delete: bool,
}

/// `POST /_local/delete_version`: DeleteFunction with a version qualifier.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteVersion {
    function: String,
    version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    advance_s: i64,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    Ok(serde_json::from_slice(body)?)
}

/// Answer one control request.
pub async fn handle(shared: &Shared, peer: SocketAddr, req: Request<Body>) -> Response {
    if !peer.ip().is_loopback() {
        return json(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "error": "the control API answers loopback peers only" }),
        );
    }
    let (parts, body) = req.into_parts();
    // The same limits as the AWS paths: a body within the read timeout and the cap, or the
    // connection closed (a stalled control client must not hold one open).
    let body = match crate::serve::read_body(body, shared.limits).await {
        Ok(b) => b,
        Err(true) => {
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({ "error": format!("the body is over the endpoint's {}-byte limit: send less", shared.limits.max_body) }),
            )
        }
        Err(false) => {
            let mut resp = json(
                StatusCode::REQUEST_TIMEOUT,
                serde_json::json!({ "error": "the body did not arrive within the endpoint's read timeout" }),
            );
            resp.headers_mut()
                .insert(axum::http::header::CONNECTION, HeaderValue::from_static("close"));
            return resp;
        }
    };
    let world = shared.world();
    let path = parts.uri.path();
    let known = |name: &str| world.functions.values().any(|f| f.def.name == name);
    match (&parts.method, path) {
        (&Method::GET, "/_local/stats") => {
            json(StatusCode::OK, serde_json::to_value(world.stats()).unwrap_or_default())
        }
        (&Method::POST, "/_local/faults") => {
            let spec: FaultSpec = match parse(&body) {
                Ok(s) => s,
                Err(e) => return bad(e),
            };
            if let Some(name) = spec.function.as_deref().filter(|n| !known(n)) {
                return bad(ControlError::UnknownFunction(name.to_string()));
            }
            match world.faults.add(spec) {
                Ok(()) => ok(),
                Err(e) => bad(e.into()),
            }
        }
        (&Method::DELETE, "/_local/faults") => {
            world.faults.clear();
            ok()
        }
        (&Method::POST, "/_local/state") => {
            let st: StateRequest = match parse(&body) {
                Ok(s) => s,
                Err(e) => return bad(e),
            };
            if !known(&st.function) {
                return bad(ControlError::UnknownFunction(st.function));
            }
            let now = world.clock.now_ms();
            for f in world.functions.values().filter(|f| f.def.name == st.function) {
                f.set_state(st.state, st.reason_code.clone(), st.for_ms, now);
            }
            ok()
        }
        (&Method::POST, "/_local/update") => {
            let u: crate::local::scenario::ScheduledUpdate = match parse(&body) {
                Ok(s) => s,
                Err(e) => return bad(e),
            };
            if let Some(name) = u.functions.iter().find(|n| !known(n)) {
                return bad(ControlError::UnknownFunction(name.clone()));
            }
            let answers: serde_json::Map<String, serde_json::Value> = world
                .update(&u)
                .into_iter()
                .map(|(name, r)| {
                    let v = match r {
                        Ok(()) => serde_json::json!({ "LastUpdateStatus": "InProgress" }),
                        Err(e) => serde_json::json!({ "error": e.name(), "message": e.message }),
                    };
                    (name, v)
                })
                .collect();
            json(StatusCode::OK, serde_json::Value::Object(answers))
        }
        (&Method::POST, "/_local/delete_version") => {
            let d: DeleteVersion = match parse(&body) {
                Ok(d) => d,
                Err(e) => return bad(e),
            };
            let Some(f) = world.functions.values().find(|f| f.def.name == d.function) else {
                return bad(ControlError::UnknownFunction(d.function));
            };
            match f.delete_version(&d.version, world.clock.now_ms()) {
                Ok(()) => ok(),
                Err(e) => bad(e.into()),
            }
        }
        (&Method::POST, "/_local/alias") => {
            let a: AliasChange = match parse(&body) {
                Ok(a) => a,
                Err(e) => return bad(e),
            };
            let Some(f) = world.functions.values().find(|f| f.def.name == a.function) else {
                return bad(ControlError::UnknownFunction(a.function));
            };
            let version = match (a.version.as_deref(), a.delete) {
                (Some(v), false) => Some(v),
                (None, true) => None,
                _ => return bad(ControlError::AliasChange),
            };
            match f.change_alias(&a.alias, version) {
                Ok(()) => ok(),
                Err(e) => bad(e.into()),
            }
        }
        (&Method::GET, "/_local/invocations") => json(
            StatusCode::OK,
            serde_json::to_value(world.invocations.list()).unwrap_or_default(),
        ),
        (&Method::GET, "/_local/executions") => json(
            StatusCode::OK,
            serde_json::to_value(world.executions.rows()).unwrap_or_default(),
        ),
        (&Method::GET, "/_local/destinations") => json(
            StatusCode::OK,
            serde_json::to_value(world.events.delivered()).unwrap_or_default(),
        ),
        (&Method::POST, "/_local/clock") => {
            let c: ClockRequest = match parse(&body) {
                Ok(s) => s,
                Err(e) => return bad(e),
            };
            world.clock.advance_s(c.advance_s);
            json(
                StatusCode::OK,
                serde_json::json!({ "ok": true, "offset_s": world.clock.offset_s() }),
            )
        }
        (&Method::POST, "/_local/oidc/token") => {
            let t: TokenRequest = match parse(&body) {
                Ok(t) => t,
                Err(e) => return bad(e),
            };
            let registered = || world.accounts.values().flat_map(|a| &a.oidc_providers);
            // The scenario's first provider, in file order (accounts are a map at run time).
            let first = world
                .scenario
                .accounts
                .iter()
                .flat_map(|a| &a.oidc_providers)
                .map(|p| p.issuer.clone())
                .next();
            let Some(issuer) = t.issuer.or(first) else {
                return bad(oidc::MintError::NoIssuer.into());
            };
            let aud = match t.aud {
                Some(OneOrMany::One(a)) => vec![a],
                Some(OneOrMany::Many(a)) => a,
                None => vec![registered()
                    .find(|p| p.issuer == issuer)
                    .and_then(|p| p.audiences.first().cloned())
                    .unwrap_or_else(|| oidc::DEFAULT_AUDIENCE.to_string())],
            };
            let ttl_s = t.ttl_s.unwrap_or(oidc::DEFAULT_TTL_S);
            let now_s = world.clock.now_ms().div_euclid(1000);
            match world.issuers.mint(&issuer, &t.sub, &aud, ttl_s, now_s) {
                Ok(token) => json(StatusCode::OK, serde_json::json!({ "token": token.0 })),
                Err(e) => bad(e.into()),
            }
        }
        (&Method::POST, "/_local/reset") => {
            shared.reset();
            ok()
        }
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": format!("no control endpoint {} {path}; see GET /_local/stats, /_local/invocations, /_local/destinations, /_local/executions, POST/DELETE /_local/faults, POST /_local/state, /_local/update, /_local/clock, /_local/oidc/token, /_local/reset", parts.method) }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::scenario::Scenario;

    #[tokio::test]
    async fn non_loopback_peers_are_refused() {
        let shared = Shared::new(Scenario::builtin());
        let req = Request::get("/_local/stats").body(Body::empty()).unwrap();
        let resp = handle(&shared, "10.1.2.3:5555".parse().unwrap(), req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let req = Request::get("/_local/stats").body(Body::empty()).unwrap();
        let resp = handle(&shared, "[::1]:5555".parse().unwrap(), req).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn bad_bodies_and_unknown_paths_say_what_to_do() {
        let shared = Shared::new(Scenario::builtin());
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let cases = [
            (
                "POST",
                "/_local/state",
                r#"{"function":"target","state":"Sleeping"}"#,
                StatusCode::BAD_REQUEST,
            ),
            ("POST", "/_local/clock", r#"{"advance":1}"#, StatusCode::BAD_REQUEST),
            (
                "POST",
                "/_local/faults",
                r#"{"function":"target","error":"ServiceException","times":1,"probability":0.5}"#,
                StatusCode::BAD_REQUEST,
            ),
            ("GET", "/_local/nothing", "", StatusCode::NOT_FOUND),
        ];
        for (method, path, body, status) in cases {
            let req = Request::builder()
                .method(method)
                .uri(path)
                .body(Body::from(body))
                .unwrap();
            assert_eq!(handle(&shared, peer, req).await.status(), status, "{path} {body}");
        }
    }

    /// The refusals' texts are the API (tests and people read them): each names what failed.
    #[tokio::test]
    async fn refusals_name_what_failed() {
        let shared = Shared::new(Scenario::builtin());
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let cases = [
            (
                "/_local/state",
                r#"{"function":"nope","state":"Active"}"#,
                r#"unknown function "nope""#,
            ),
            (
                "/_local/alias",
                r#"{"function":"target","alias":"live"}"#,
                r#"give either "version" (UpdateAlias) or "delete": true (DeleteAlias)"#,
            ),
            (
                "/_local/alias",
                r#"{"function":"target","alias":"nope","version":"1"}"#,
                r#"target has no alias "nope""#,
            ),
            (
                "/_local/alias",
                r#"{"function":"target","alias":"live","version":"9"}"#,
                r#"target has no version "9" to point live to"#,
            ),
            (
                "/_local/delete_version",
                r#"{"function":"target","version":"1"}"#,
                r#"alias "live" points to version 1: a version an alias uses cannot be deleted"#,
            ),
            (
                "/_local/delete_version",
                r#"{"function":"target","version":"9"}"#,
                r#"target has no version "9""#,
            ),
        ];
        for (path, body, error) in cases {
            let req = Request::post(path).body(Body::from(body)).unwrap();
            let resp = handle(&shared, peer, req).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path} {body}");
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(answer, serde_json::json!({ "error": error }), "{path} {body}");
        }
        let req = Request::post("/_local/clock").body(Body::from("{")).unwrap();
        let bytes = axum::body::to_bytes(handle(&shared, peer, req).await.into_body(), usize::MAX)
            .await
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            answer["error"].as_str().unwrap().starts_with("invalid JSON body: EOF"),
            "{answer}"
        );
    }
}
