//! The HTTP server: [`LocalServer`] binds, serves in the background and stops; every request
//! goes to one function that dispatches by path to STS, the Lambda API or the control API,
//! reading each body once with a hard cap; a scheduler runs what the endpoint does by itself.

use crate::local::errors::ApiError;
use crate::local::ids::request_id;
use crate::local::lambda_api;
use crate::local::scenario::{Scenario, ScenarioError};
use crate::local::shared::Shared;
use crate::local::sigv4::ReceivedRequest;
use crate::local::stats::Stats;
use crate::local::{control, json_protocol, sts};
use crate::serve::ServeLimits;
use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;

/// Why the server could not start: each message says what to change.
///
/// ```
/// use std::path::Path;
/// use xinvoke::local::{LocalError, LocalServer, Scenario};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let first = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// // The port is taken.
/// let err = LocalServer::start(Scenario::builtin(), first.addr()).await.unwrap_err();
/// assert!(matches!(err, LocalError::Bind { addr, .. } if addr == first.addr()));
/// assert!(err.to_string().ends_with("pick another --listen address or port 0"), "{err}");
/// // A scenario that cannot be read, met by `?` in a function answering LocalError.
/// let err = LocalError::from(Scenario::from_path(Path::new("no-such-scenario.toml")).unwrap_err());
/// assert!(err.to_string().contains("check the path given to --scenario"), "{err}");
/// first.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}; pick another --listen address or port 0")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it cannot be used.
        source: std::io::Error,
    },
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Serving failed.
    #[error("local server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The stop signals could not be hooked.
    #[error("cannot listen for Ctrl-C/SIGTERM: {0}")]
    Signal(#[source] std::io::Error),
}

/// A running local endpoint: [the module's example](crate::local) starts one and invokes it.
#[derive(Debug)]
pub struct LocalServer {
    running: crate::serve::Running,
    shared: Arc<Shared>,
}

impl LocalServer {
    /// Bind `addr` (port 0 = a free port) and serve `scenario` in the background on the
    /// current tokio runtime.
    pub async fn start(scenario: Scenario, addr: SocketAddr) -> Result<LocalServer, LocalError> {
        LocalServer::start_with(scenario, addr, ServeLimits::default()).await
    }

    /// As [`LocalServer::start`], serving connections within `limits`.
    pub async fn start_with(
        scenario: Scenario,
        addr: SocketAddr,
        limits: ServeLimits,
    ) -> Result<LocalServer, LocalError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| LocalError::Bind { addr, source })?;
        let shared = Arc::new(Shared::with_limits(scenario, limits));
        let handler = Arc::new(LocalHandler(Arc::clone(&shared)));
        let running = crate::serve::Running::spawn(listener, handler, limits)
            .map_err(|source| LocalError::Bind { addr, source })?;
        tokio::spawn(scheduler(Arc::downgrade(&shared)));
        Ok(LocalServer { running, shared })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// `http://HOST:PORT`, the `endpoint_url` for SDK clients.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The scenario served.
    pub fn scenario(&self) -> Scenario {
        self.shared.world().scenario.clone()
    }

    /// The counters (same data as `GET /_local/stats`).
    pub fn stats(&self) -> Stats {
        self.shared.world().stats()
    }

    /// Stop accepting, let in-flight requests finish (at most 10 s), then return.
    pub async fn shutdown(self) {
        self.running.shutdown().await
    }

    /// Wait until the server stops by itself (it only does on an error).
    pub async fn wait(&mut self) -> Result<(), LocalError> {
        self.running.wait().await.map_err(LocalError::Serve)
    }
}

/// What the endpoint does by itself, on its clock: the scenario's scheduled updates, and the
/// queued events that are due. Ends with the server.
async fn scheduler(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let world = shared.world();
        for (function, answer) in world.due_updates() {
            match answer {
                Ok(()) => tracing::info!(function, "scheduled update started"),
                Err(e) => tracing::info!(function, refused = %e.message, "scheduled update refused"),
            }
        }
        for ev in world.events.due(world.clock.now_ms()) {
            tokio::spawn(lambda_api::run_event(Arc::clone(&world), ev));
        }
    }
}

/// The server's answer to every request of every connection.
struct LocalHandler(Arc<Shared>);

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
