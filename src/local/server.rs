//! The HTTP server: every request goes to one function that dispatches by path to STS, the
//! Lambda API or the control API, reading each body once with a hard cap.

use crate::local::errors::ApiError;
use crate::local::ids::request_id;
use crate::local::lambda_api;
use crate::local::shared::Shared;
use crate::local::sigv4::ReceivedRequest;
use crate::local::{control, json_protocol, sts};
use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;

/// The server's answer to every request of every connection.
pub(crate) struct LocalHandler(pub(crate) Arc<Shared>);

impl crate::serve::Handler for LocalHandler {
    async fn handle(&self, peer: SocketAddr, req: Request<hyper::body::Incoming>) -> Response {
        dispatch(&self.0, peer, req.map(Body::new)).await
    }
}

async fn dispatch(shared: &Shared, peer: SocketAddr, req: Request<Body>) -> Response {
    if req.uri().path().starts_with("/_local/") {
        return control::handle(shared, peer, req).await;
    }
    let world = shared.world();
    let (parts, body) = req.into_parts();
    let is_invoke = parts.method == axum::http::Method::POST
        && parts.uri.path().starts_with("/2015-03-31/functions/")
        && parts.uri.path().ends_with("/invocations");
    let limits = shared.limits;
    let body = match crate::serve::read_body(body, limits).await {
        Ok(body) => body,
        Err(true) => {
            return ApiError::new("RequestEntityTooLargeException", lambda_api::sync_too_large())
                .into_response_with(&request_id())
        }
        Err(false) => {
            // The body did not arrive in time: answer and close the connection.
            let mut resp = axum::http::Response::new(Body::from("Request Timeout"));
            *resp.status_mut() = axum::http::StatusCode::REQUEST_TIMEOUT;
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return resp;
        }
    };
    if is_invoke {
        // A caller that gives up (disconnects, or its client times out) does not stop the
        // function, as on AWS: the invoke runs to its end in a task of its own, holding its
        // concurrency until the execution finishes or meets the function's timeout, counted,
        // its side effects done. Only the answer has no one to go to.
        let task = tokio::spawn(async move {
            let req = ReceivedRequest {
                method: parts.method.as_str(),
                raw_path: parts.uri.path(),
                raw_query: parts.uri.query().unwrap_or_default(),
                headers: &parts.headers,
                body,
            };
            lambda_api::handle(world, req).await
        });
        return task
            .await
            .unwrap_or_else(|_| ApiError::named("ServiceException").into_response_with(&request_id()));
    }
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default();
    let req = ReceivedRequest {
        method: parts.method.as_str(),
        raw_path: path,
        raw_query: query,
        headers: &parts.headers,
        body,
    };
    // ListFunctions is `GET /2015-03-31/functions` in today's model (older botocore models
    // wrote it with a trailing slash); every other Lambda operation is below it.
    if path.starts_with("/2015-03-31/functions/") || path == "/2015-03-31/functions" {
        return lambda_api::handle(world, req).await;
    }
    if path == "/" {
        let target = req.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
        if let Some(t) = target.filter(|t| json_protocol::serves(t)) {
            return json_protocol::handle(&world, &req, t);
        }
        return sts::handle(&world, &req).await;
    }
    ApiError::new(
        "UnknownOperationException",
        format!("Unknown operation {} {path}", parts.method),
    )
    .into_response_with(&request_id())
}
