//! The control API under `/_local/` (unsigned, loopback peers only): fault injection,
//! lifecycle states, the clock, counters and reset. Tests and load runs drive the simulated
//! account 2 through it.

use crate::local::faults::FaultSpec;
use crate::local::scenario::FunctionStateName;
use crate::local::server::Shared;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    let mut resp = (status, serde_json::to_vec(&value).unwrap_or_default()).into_response();
    resp.headers_mut()
        .insert("Content-Type", HeaderValue::from_static("application/json"));
    resp
}

fn bad(message: impl Into<String>) -> Response {
    json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": message.into() }))
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    advance_s: i64,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
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
    let body = match axum::body::to_bytes(body, 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return bad("body too large"),
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
            if !known(&spec.function) {
                return bad(format!("unknown function {:?}", spec.function));
            }
            match world.faults.add(spec) {
                Ok(()) => ok(),
                Err(e) => bad(e.to_string()),
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
                return bad(format!("unknown function {:?}", st.function));
            }
            let now = world.clock.now_ms();
            for f in world.functions.values().filter(|f| f.def.name == st.function) {
                f.set_state(st.state, st.reason_code.clone(), st.for_ms, now);
            }
            ok()
        }
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
        (&Method::POST, "/_local/reset") => {
            shared.reset();
            ok()
        }
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "error": format!("no control endpoint {} {path}; see GET /_local/stats, POST/DELETE /_local/faults, POST /_local/state, /_local/clock, /_local/reset", parts.method) }),
        ),
    }
}
