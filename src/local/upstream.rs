//! The `upstream` behaviour: forward an invoke's payload by HTTP POST to a real process (for
//! example the `target` binary's local endpoint) and map its answer back onto Lambda's.

use crate::local::errors::{lambda_error_index, ApiError};
use axum::http::{HeaderValue, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::OnceLock;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> &'static HttpClient {
    static CLIENT: OnceLock<HttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| Client::builder(TokioExecutor::new()).build_http())
}

fn function_error(error_type: &str, message: String) -> (StatusCode, Bytes, Option<HeaderValue>) {
    let payload = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    (
        StatusCode::OK,
        Bytes::from(serde_json::to_vec(&payload).unwrap_or_default()),
        Some(HeaderValue::from_static("Unhandled")),
    )
}

/// POST `payload` to `url`, with the caller's trace and client context as an Invoke carries
/// them (`X-Amzn-Trace-Id`, `X-Amz-Client-Context`). A 2xx answer is the function's result (its
/// `X-Amz-Function-Error` kept); an answer naming a Lambda error in `x-amzn-ErrorType` is
/// that error; anything else, or no answer, is an `Unhandled` function error, as when a
/// function's runtime crashes.
pub async fn forward(
    url: &str,
    payload: Bytes,
    trace_id: Option<&str>,
    client_context: Option<&str>,
) -> Result<(StatusCode, Bytes, Option<HeaderValue>), ApiError> {
    let mut req = Request::post(url).header("content-type", "application/json");
    if let Some(t) = trace_id {
        req = req.header("x-amzn-trace-id", t);
    }
    if let Some(c) = client_context {
        req = req.header("x-amz-client-context", c);
    }
    let req = req.body(Full::new(payload));
    let req = match req {
        Ok(r) => r,
        Err(e) => return Ok(function_error("Upstream.InvalidUrl", e.to_string())),
    };
    let resp = match client().request(req).await {
        Ok(r) => r,
        Err(e) => return Ok(function_error("Upstream.Unreachable", format!("{url}: {e}"))),
    };
    let status = resp.status();
    let fe = resp.headers().get("x-amz-function-error").cloned();
    let error_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(':').next().unwrap_or_default().to_string());
    let body = match resp.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(function_error("Upstream.Unreachable", format!("{url}: {e}"))),
    };
    if status.is_success() {
        return Ok((StatusCode::OK, body, fe));
    }
    if let Some(name) = error_type.filter(|n| lambda_error_index(n).is_some()) {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                ["message", "Message", "errorMessage"]
                    .iter()
                    .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
            })
            .unwrap_or_default();
        return Err(ApiError::new(&name, message));
    }
    // A runtime emulator (cargo lambda watch) answers a handler's failure with a 5xx and the
    // error object, without X-Amz-Function-Error: that is a function error, passed on as is.
    let is_error_object = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .is_some_and(|v| v.get("errorType").is_some_and(serde_json::Value::is_string));
    if is_error_object {
        return Ok((StatusCode::OK, body, Some(HeaderValue::from_static("Unhandled"))));
    }
    Ok(function_error(
        "Upstream.HttpError",
        format!("{url} answered {status}: {}", String::from_utf8_lossy(&body)),
    ))
}
