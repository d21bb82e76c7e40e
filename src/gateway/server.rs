//! The gateway server: each request routed, invoked through its upstream's service and
//! answered ([`crate::gateway::answer`]); `/metrics` and `/healthz` beside the routes; the
//! file reloaded on SIGHUP or when it changes (a bad new file keeps the routes in service and
//! says why); discovery refreshed in the background.

use crate::gateway::answer::Request;
use crate::gateway::config::GatewayConfig;
use crate::gateway::front::{Gateway, Routed};
use crate::gateway::metrics::Metrics;
use crate::gateway::upstreams::UpstreamError;
use crate::serve::{self, Handler, ServeLimits};
use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Config(#[from] crate::gateway::config::ConfigError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the credentials do not work:\n  {}", .0.join("\n  "))]
    Credentials(Vec<String>),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// The routes in service, and since when.
struct Live {
    gateway: Gateway,
    loaded_at: SystemTime,
}

/// Where settings are read: a variable's value by name.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How a gateway runs beside its file.
#[derive(Clone)]
pub struct Options {
    pub limits: ServeLimits,
    /// Fetch every upstream's credentials before listening, and refuse to start without them.
    pub check_credentials: bool,
    /// Every upstream's AWS configuration (credentials, endpoint) in place of the standard
    /// chain and the upstreams' profiles: for tests and embedders.
    pub base: Option<aws_config::SdkConfig>,
    /// Where settings are read (`XINVOKE_RETRY`, `XINVOKE_EXTERNAL_ID`, ...).
    pub env: Env,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: ServeLimits::default(),
            check_credentials: true,
            base: None,
            env: Arc::new(crate::adapters::config::process_env),
        }
    }
}

/// What every request shares.
struct State {
    live: RwLock<Arc<Live>>,
    metrics: Metrics,
    source: Option<PathBuf>,
    options: Options,
    last_reload_error: RwLock<Option<String>>,
    discovery_status: RwLock<std::collections::BTreeMap<String, Result<usize, String>>>,
    /// The discovery loops of the configuration in service.
    discovery: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// A running gateway.
pub struct GatewayServer {
    running: serve::Running,
    state: Arc<State>,
}

impl GatewayServer {
    /// Load `config` (a file), check every upstream's credentials, listen on `addr` and serve in
    /// the background.
    pub async fn start(config: PathBuf, addr: SocketAddr) -> Result<GatewayServer, GatewayError> {
        GatewayServer::start_with(config, addr, Options::default()).await
    }

    /// Serve the file `source` (reloaded on SIGHUP and when it changes) with `options`.
    pub async fn start_with(
        source: PathBuf,
        addr: SocketAddr,
        options: Options,
    ) -> Result<GatewayServer, GatewayError> {
        let env = Arc::clone(&options.env);
        let config = GatewayConfig::load(&source, |k| env(k))?;
        crate::gateway::front::warn_without_external_id(&config);
        let gateway = Gateway::build(config, &|k| env(k), options.base.as_ref()).await?;
        if options.check_credentials {
            let problems = gateway.upstreams().check_credentials().await;
            if !problems.is_empty() {
                return Err(GatewayError::Credentials(problems));
            }
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let state = Arc::new(State {
            live: RwLock::new(Arc::new(Live {
                gateway,
                loaded_at: SystemTime::now(),
            })),
            metrics: Metrics::default(),
            source: Some(source),
            options: options.clone(),
            last_reload_error: RwLock::new(None),
            discovery_status: RwLock::new(Default::default()),
            discovery: Default::default(),
        });
        state.metrics.reload(true);
        start_discovery(&state);
        let handler = Arc::new(Front(Arc::clone(&state)));
        let running = serve::Running::spawn(listener, handler, options.limits)
            .map_err(|source| GatewayError::Bind { addr, source })?;
        tokio::spawn(watch(Arc::downgrade(&state)));
        Ok(GatewayServer { running, state })
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Load the file again: the new routes serve from now on, or the error says why the
    /// previous ones still do.
    pub async fn reload(&self) -> Result<(), String> {
        reload(&self.state).await
    }

    /// Stop accepting, let requests in flight finish (10 s at most), stop.
    pub async fn shutdown(self) {
        self.running.shutdown().await
    }

    /// Wait until the server stops by itself (only on an error).
    pub async fn wait(&mut self) -> Result<(), std::io::Error> {
        self.running.wait().await
    }
}

/// Reload from the source file: parse, build, swap; on failure keep the routes in service.
async fn reload(state: &Arc<State>) -> Result<(), String> {
    let Some(path) = &state.source else {
        return Err("no file to reload".into());
    };
    let env = Arc::clone(&state.options.env);
    let result = async {
        let config = GatewayConfig::load(path, |k| env(k)).map_err(|e| e.to_string())?;
        let gateway = Gateway::build(config, &|k| env(k), state.options.base.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(Live {
            gateway,
            loaded_at: SystemTime::now(),
        })
    }
    .await;
    match result {
        Ok(live) => {
            let routes = live.gateway.config().routes.len();
            *state.live.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(live);
            *state.last_reload_error.write().unwrap_or_else(|p| p.into_inner()) = None;
            state.metrics.reload(true);
            start_discovery(state);
            tracing::info!(target: "xinvoke::gateway", file = %path.display(), routes, "configuration reloaded");
            Ok(())
        }
        Err(problem) => {
            state.metrics.reload(false);
            tracing::error!(target: "xinvoke::gateway", file = %path.display(), %problem, "configuration reload failed: the previous routes stay in service");
            *state.last_reload_error.write().unwrap_or_else(|p| p.into_inner()) = Some(problem.clone());
            Err(problem)
        }
    }
}

/// Reload on SIGHUP, and when the file's modification time changes (checked every 2 s).
async fn watch(state: std::sync::Weak<State>) {
    let mtime = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last = state.upgrade().and_then(|s| s.source.as_ref().and_then(mtime));
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<()>();
        let by_signal = tokio::select! {
            _ = hangup => true,
            _ = tick.tick() => false,
        };
        let Some(state) = state.upgrade() else { return };
        let now = state.source.as_ref().and_then(mtime);
        if by_signal || now != last {
            last = now;
            let _ = reload(&state).await;
        }
    }
}

/// Start a discovery loop for each discovering upstream of the configuration in service,
/// stopping those of the one it replaced.
fn start_discovery(state: &Arc<State>) {
    let live = Arc::clone(&state.live.read().unwrap_or_else(|p| p.into_inner()));
    let mut tasks = state.discovery.lock().unwrap_or_else(|p| p.into_inner());
    for t in tasks.drain(..) {
        t.abort();
    }
    for (name, every) in live.gateway.upstreams().discovering() {
        let live = Arc::clone(&live);
        let weak_state = Arc::downgrade(state);
        tasks.push(tokio::spawn(async move {
            loop {
                let result = live
                    .gateway
                    .upstreams()
                    .discover(&name, &live.gateway.config().routes)
                    .await;
                match &result {
                    Ok(n) => tracing::info!(target: "xinvoke::gateway", upstream = %name, found = n, "discovery"),
                    Err(e) => {
                        tracing::error!(target: "xinvoke::gateway", upstream = %name, problem = %e, "discovery failed")
                    }
                }
                let Some(state) = weak_state.upgrade() else { return };
                state
                    .discovery_status
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(name.clone(), result.map_err(|e| e.to_string()));
                drop(state);
                tokio::time::sleep(every).await;
            }
        }));
    }
}

/// The server's side of a request: `/metrics`, `/healthz`, the body read within limits, then
/// the gateway's route, invoke and answer; counted and logged.
struct Front(Arc<State>);

impl Handler for Front {
    async fn handle(&self, peer: SocketAddr, req: axum::http::Request<hyper::body::Incoming>) -> Response<Body> {
        let started = Instant::now();
        let state = &self.0;
        let path = req.uri().path().to_string();
        let method = req.method().as_str().to_string();
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string)
            .unwrap_or_else(request_id);
        if method == "GET" && path == "/metrics" {
            return text(
                200,
                "text/plain; version=0.0.4",
                state.metrics.render(crate::adapters::credentials::sessions_opened()),
            );
        }
        if method == "GET" && path == "/healthz" {
            return health(state);
        }
        let live = Arc::clone(&state.live.read().unwrap_or_else(|p| p.into_inner()));
        let (parts, body) = req.into_parts();
        let body = match serve::read_body(Body::new(body), state.options.limits).await {
            Ok(b) => b,
            Err(too_large) => {
                let routed = Routed {
                    answer: crate::gateway::answer::unread_body(too_large, &request_id),
                    route: "none".into(),
                    upstream: String::new(),
                    function: String::new(),
                    style: None,
                };
                return finish(state, started, &method, &path, routed);
            }
        };
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let request = Request {
            method: &method,
            path: &path,
            query: parts.uri.query().unwrap_or_default(),
            headers: &headers,
            body: &body,
            source_ip: &peer.ip().to_string(),
            request_id: &request_id,
            time_ms: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        };
        let routed = live.gateway.handle(&request, None).await;
        finish(state, started, &method, &path, routed)
    }
}

/// Count, log and send an answer.
fn finish(state: &State, started: Instant, method: &str, path: &str, routed: Routed) -> Response<Body> {
    let Routed {
        answer: a,
        route,
        upstream,
        function,
        ..
    } = routed;
    let (route, upstream, function) = (route.as_str(), upstream.as_str(), function.as_str());
    let (class, attempts) = (a.class.name(), a.attempts);
    let took = started.elapsed();
    state.metrics.request(route, class, attempts.saturating_sub(1), took);
    tracing::info!(
        target: "xinvoke::gateway::access",
        method,
        path,
        route,
        upstream,
        function,
        class,
        attempts,
        status = a.status,
        latency_ms = took.as_secs_f64() * 1000.0,
        request_id = a.header("x-request-id").unwrap_or_default(),
        "request"
    );
    let mut r = Response::new(Body::from(a.body));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (k, v) in a.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(&v),
        ) {
            r.headers_mut().append(k, v);
        }
    }
    r
}

fn health(state: &State) -> Response<Body> {
    let live = Arc::clone(&state.live.read().unwrap_or_else(|p| p.into_inner()));
    let discovery: serde_json::Map<String, serde_json::Value> = state
        .discovery_status
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    Ok(n) => json!({"found": n}),
                    Err(e) => json!({"error": e}),
                },
            )
        })
        .collect();
    let body = json!({
        "status": "ok",
        "routes": live.gateway.config().routes.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "upstreams": live.gateway.config().upstreams.iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
        "loaded_at": crate::core::utc::iso8601(
            live.loaded_at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
        ),
        "last_reload_error": *state.last_reload_error.read().unwrap_or_else(|p| p.into_inner()),
        "discovery": discovery,
    });
    text(200, "application/json", body.to_string())
}

fn text(status: u16, content_type: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(content_type),
    );
    r
}

/// A request id in UUID form.
fn request_id() -> String {
    let hex = format!("{:032x}", fastrand::u128(..));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
