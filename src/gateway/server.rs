//! The gateway server: each request routed, invoked through its upstream's service and
//! answered ([`crate::gateway::answer`]) on the public listener, which serves routes and
//! nothing else; operations on an admin listener of their own (loopback by default, as
//! Envoy's admin listener): `/metrics`, `/healthz` (liveness) and `/readyz` (every upstream's
//! credentials resolve and every discovery has succeeded once; the body says what is not
//! ready, ARNs included, which the public side never shows). The file is reloaded on SIGHUP or
//! when it changes, after the same checks as a start (credentials, and a first listing for
//! discovering upstreams): a reload that fails them keeps the routes in service and says why.
//! Discovery is refreshed in the background; a failed refresh keeps the last routes found.

use crate::adapters::chain::ChainError;
use crate::gateway::answer::Request;
use crate::gateway::config::GatewayConfig;
use crate::gateway::front::{Gateway, Routed};
use crate::gateway::metrics::Metrics;
use crate::gateway::upstreams::{Found, UpstreamError};
use crate::serve::{self, Handler, ServeLimits};
use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Why the gateway cannot start, or a reload was refused: the message names the file, the
/// field or the address, and what to do.
///
/// ```
/// use xinvoke::gateway::{GatewayError, GatewayServer, Options, TlsFiles};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("gateway.yaml");
/// // A Gloo field xinvoke cannot honour: refused, never served without it.
/// std::fs::write(&file, "upstreams:\n  - name: a\n    region: us-east-1\n    awsAccountId: \"222222222222\"\n    disableRoleChaining: true\n    lambdaFunctions: [{lambdaFunctionName: f}]\nroutes: []\n")?;
/// let options = || Options { check_credentials: false, ..Options::default() };
/// let err = GatewayServer::start_with(file.clone(), "127.0.0.1:0".parse()?, options()).await.err().unwrap();
/// assert!(matches!(err, GatewayError::Config(_)));
/// assert!(err.to_string().contains("disableRoleChaining"), "{err}");
///
/// // A good file, but the certificate is not where the options say.
/// let good = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.yaml");
/// let tls = TlsFiles { cert: dir.path().join("missing.pem"), key: dir.path().join("missing.key") };
/// let with_tls = Options { tls: Some(tls), ..options() };
/// let err = GatewayServer::start_with(good.into(), "127.0.0.1:0".parse()?, with_tls).await.err().unwrap();
/// assert!(matches!(&err, GatewayError::TlsFile { path, .. } if path.ends_with("missing.pem")), "{err}");
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway's file is wrong (the message names the field and the fix).
    #[error(transparent)]
    Config(#[from] crate::gateway::config::ConfigError),
    /// An upstream cannot be set up.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The upstreams' credentials were checked before listening and do not work: one line each.
    #[error("the credentials do not work:\n  {}", .0.join("\n  "))]
    Credentials(Vec<String>),
    /// Discovery was checked before listening and does not work: one line each.
    #[error("discovery does not work:\n  {}", .0.join("\n  "))]
    Discovery(Vec<String>),
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it cannot be used.
        source: std::io::Error,
    },
    /// A reload was asked of a gateway started without a file.
    #[error("no file to reload")]
    NoFile,
    /// The listener's certificate or key cannot be read.
    #[error("cannot read {path}: {source}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The certificate and key do not make a TLS configuration.
    #[error(transparent)]
    Tls(#[from] serve::TlsError),
}

/// The listener's certificate chain and private key (PEM files), read at start and again with
/// every reload.
///
/// ```
/// use xinvoke::gateway::{GatewayServer, Options, TlsFiles};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A certificate for localhost (yours comes from your CA).
/// let dir = tempfile::tempdir()?;
/// let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
/// let tls = TlsFiles { cert: dir.path().join("cert.pem"), key: dir.path().join("key.pem") };
/// std::fs::write(&tls.cert, made.cert.pem())?;
/// std::fs::write(&tls.key, made.signing_key.serialize_pem())?;
///
/// let routes = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.yaml");
/// let options = Options { tls: Some(tls), check_credentials: false, ..Options::default() };
/// let gateway = GatewayServer::start_with(routes.into(), "127.0.0.1:0".parse()?, options).await?;
/// assert!(gateway.url().starts_with("https://127.0.0.1:"));
///
/// // A client that trusts the certificate completes the handshake for localhost.
/// let mut roots = rustls::RootCertStore::empty();
/// roots.add(made.cert.der().clone())?;
/// let client = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
/// let tcp = tokio::net::TcpStream::connect(gateway.addr()).await?;
/// let name = rustls::pki_types::ServerName::try_from("localhost")?;
/// tokio_rustls::TlsConnector::from(std::sync::Arc::new(client)).connect(name, tcp).await?;
/// gateway.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

impl TlsFiles {
    fn read(&self) -> Result<(Vec<u8>, Vec<u8>), GatewayError> {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|source| GatewayError::TlsFile {
                path: path.clone(),
                source,
            })
        };
        Ok((read(&self.cert)?, read(&self.key)?))
    }

    fn names(&self) -> (String, String) {
        (self.cert.display().to_string(), self.key.display().to_string())
    }
}

/// The routes in service, and since when.
struct Live {
    gateway: Gateway,
    loaded_at: SystemTime,
}

/// Where settings are read: a variable's value by name.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How a gateway runs beside its file; [`GatewayServer`]'s example gives its own AWS config
/// and no environment, [`TlsFiles`]' serves TLS.
#[derive(Clone)]
pub struct Options {
    /// What one client may take: header and body read times, body size.
    pub limits: ServeLimits,
    /// Fetch every upstream's credentials before listening (and before a reload swaps), and
    /// refuse to start (or to reload) without them.
    pub check_credentials: bool,
    /// Every upstream's AWS configuration (credentials, endpoint) in place of the standard
    /// chain and the upstreams' profiles: for tests and embedders.
    pub base: Option<aws_config::SdkConfig>,
    /// Where settings are read (`XINVOKE_RETRY`, `XINVOKE_EXTERNAL_ID`, ...).
    pub env: Env,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (a free loopback port by default).
    pub admin: SocketAddr,
    /// Serve the routes over TLS (HTTP/1.1, and HTTP/2 to clients that ask by ALPN).
    pub tls: Option<TlsFiles>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: ServeLimits::default(),
            check_credentials: true,
            base: None,
            env: Arc::new(crate::adapters::config::process_env),
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
        }
    }
}

/// What `/readyz` reads: each upstream's last credential check and discoveries.
#[derive(Default)]
struct Readiness {
    /// Each upstream's credentials, as last checked (`None`: not checked, by the options).
    credentials: Option<BTreeMap<String, Result<(), ChainError>>>,
    /// Each discovering upstream's last listing: what it found, or why not.
    discovery: BTreeMap<String, Result<Found, UpstreamError>>,
    /// The discovering upstreams whose listing has succeeded at least once.
    discovered_once: BTreeSet<String>,
    last_reload_error: Option<String>,
}

/// What every request shares.
struct State {
    live: RwLock<Arc<Live>>,
    metrics: Metrics,
    source: Option<PathBuf>,
    options: Options,
    readiness: RwLock<Readiness>,
    /// The listener's TLS, when it has one: its certificate is replaced by a reload.
    tls: Option<Arc<serve::Tls>>,
    /// The discovery loops of the configuration in service.
    discovery: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// A running gateway.
///
/// This one serves `examples/gateway.yaml` in front of the local endpoint (its upstreams are
/// the built-in scenario's account 2), and answers one routed invoke:
///
/// ```
/// use http_body_util::{BodyExt, Full};
/// use std::sync::Arc;
/// use xinvoke::gateway::{GatewayServer, Options};
/// use xinvoke::local::{builtin, LocalServer, Scenario};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// // The gateway's own credentials: account 1's role, granted the `live` alias by its policy.
/// let keys = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let base = xinvoke::endpoint_config(xinvoke::Timeouts::default(), aws.url(), keys, builtin::REGION).await;
/// let options = Options {
///     base: Some(base),           // in place of the standard credential chain
///     env: Arc::new(|_| None),    // no XINVOKE_* variables
///     ..Options::default()        // credentials checked before listening, admin on a free port
/// };
/// let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.yaml");
/// let gateway = GatewayServer::start_with(file.into(), "127.0.0.1:0".parse()?, options).await?;
/// assert_eq!(gateway.url(), format!("http://{}", gateway.addr()));
///
/// let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
///     .build_http::<Full<bytes::Bytes>>();
/// let request = http::Request::post(format!("{}/target", gateway.url())).body(Full::from(r#"{"order":42}"#))?;
/// let answer = client.request(request).await?;
/// assert_eq!(answer.status(), 200);
/// let _body = answer.into_body().collect().await?.to_bytes(); // the function's answer
/// assert_eq!(aws.stats().invokes_by_status.get("200"), Some(&1)); // one invoke reached Lambda
///
/// let health = client.get(format!("{}/healthz", gateway.admin_url()).parse()?).await?;
/// assert_eq!(health.status(), 200);
/// gateway.reload().await?; // the file again, checked as at start (also on SIGHUP)
/// gateway.shutdown().await;
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
pub struct GatewayServer {
    running: serve::Running,
    admin: serve::Running,
    state: Arc<State>,
}

/// A configuration built and checked, ready to serve.
struct Prepared {
    live: Live,
    credentials: Option<BTreeMap<String, Result<(), ChainError>>>,
    /// What a reload's first listing found, by upstream.
    discovered: BTreeMap<String, Found>,
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
        let prepared = prepare(&source, &options, true).await?;
        let tls = match &options.tls {
            Some(files) => {
                let (cert, key) = files.read()?;
                let (c, k) = files.names();
                Some(Arc::new(serve::Tls::from_pem(&cert, &key, (&c, &k))?))
            }
            None => None,
        };
        let bind = |addr: SocketAddr| async move {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Bind { addr, source })?;
            Ok::<_, GatewayError>(listener)
        };
        let listener = bind(addr).await?;
        let admin_listener = bind(options.admin).await?;
        let state = Arc::new(State {
            live: RwLock::new(Arc::new(prepared.live)),
            metrics: Metrics::default(),
            source: Some(source),
            options: options.clone(),
            readiness: RwLock::new(Readiness {
                credentials: prepared.credentials,
                ..Readiness::default()
            }),
            tls: tls.clone(),
            discovery: Default::default(),
        });
        state.metrics.reload(true);
        start_discovery(&state);
        let running = serve::Running::spawn_tls(listener, Arc::new(Front(Arc::clone(&state))), options.limits, tls)
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let admin = serve::Running::spawn(admin_listener, Arc::new(Admin(Arc::clone(&state))), options.limits)
            .map_err(|source| GatewayError::Bind {
                addr: options.admin,
                source,
            })?;
        tokio::spawn(watch(Arc::downgrade(&state)));
        Ok(GatewayServer { running, admin, state })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// `http://HOST:PORT`, or `https://HOST:PORT` with TLS.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The admin listener's `http://HOST:PORT` (`/metrics`, `/healthz`, `/readyz`).
    pub fn admin_url(&self) -> String {
        self.admin.url()
    }

    /// Load the file again, after the checks a start runs: the new routes serve from now on,
    /// or the error says why the previous ones still do.
    pub async fn reload(&self) -> Result<(), GatewayError> {
        reload(&self.state).await
    }

    /// Stop accepting, let requests in flight finish (10 s at most), stop.
    pub async fn shutdown(self) {
        self.admin.shutdown().await;
        self.running.shutdown().await
    }

    /// Wait until the server stops by itself (only on an error).
    pub async fn wait(&mut self) -> Result<(), std::io::Error> {
        self.running.wait().await
    }
}

/// Read `path` and build its routes, then the checks both a start and a reload run: every
/// upstream's credentials (when the options ask), and, before a reload swaps (`first` false),
/// one listing of each discovering upstream, so a role that lost `lambda:ListFunctions` is
/// refused as a start refuses a role that cannot be assumed. At a start discovery runs in the
/// background and `/readyz` waits for it.
async fn prepare(path: &std::path::Path, options: &Options, first: bool) -> Result<Prepared, GatewayError> {
    let env = Arc::clone(&options.env);
    let config = GatewayConfig::load(path, |k| env(k))?;
    if first {
        crate::gateway::front::warn_without_external_id(&config);
    }
    let gateway = Gateway::build(config, &|k| env(k), options.base.as_ref()).await?;
    let credentials = match options.check_credentials {
        true => Some(gateway.upstreams().check_credentials().await),
        false => None,
    };
    let problems: Vec<String> = credentials
        .iter()
        .flatten()
        .filter_map(|(name, r)| r.as_ref().err().map(|p| format!("upstream {name}: {p}")))
        .collect();
    if !problems.is_empty() {
        return Err(GatewayError::Credentials(problems));
    }
    let mut discovered = BTreeMap::new();
    if !first {
        let mut problems = Vec::new();
        for (name, _) in gateway.upstreams().discovering() {
            match gateway.upstreams().discover(&name, &gateway.config().routes).await {
                Ok(n) => {
                    discovered.insert(name, n);
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        if !problems.is_empty() {
            return Err(GatewayError::Discovery(problems));
        }
    }
    Ok(Prepared {
        live: Live {
            gateway,
            loaded_at: SystemTime::now(),
        },
        credentials,
        discovered,
    })
}

/// Reload from the source file: prepare and check, then swap; on failure keep the routes in
/// service, count it and say why on `/readyz`.
async fn reload(state: &Arc<State>) -> Result<(), GatewayError> {
    let Some(path) = &state.source else {
        return Err(GatewayError::NoFile);
    };
    let prepared = async {
        let prepared = prepare(path, &state.options, false).await?;
        // The certificate and key are read again with the routes; a bad pair is refused the same.
        if let (Some(tls), Some(files)) = (&state.tls, &state.options.tls) {
            let (cert, key) = files.read()?;
            let (c, k) = files.names();
            tls.replace(&cert, &key, (&c, &k))?;
        }
        Ok::<_, GatewayError>(prepared)
    };
    match prepared.await {
        Ok(prepared) => {
            let routes = prepared.live.gateway.config().routes.len();
            *state.live.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(prepared.live);
            {
                let mut r = state.readiness.write().unwrap_or_else(|p| p.into_inner());
                r.credentials = prepared.credentials;
                r.last_reload_error = None;
                r.discovered_once = prepared.discovered.keys().cloned().collect();
                r.discovery = prepared.discovered.into_iter().map(|(k, n)| (k, Ok(n))).collect();
            }
            state.metrics.reload(true);
            start_discovery(state);
            tracing::info!(target: "xinvoke::gateway", file = %path.display(), routes, "configuration reloaded");
            Ok(())
        }
        Err(e) => {
            state.metrics.reload(false);
            let problem = e.to_string();
            tracing::error!(target: "xinvoke::gateway", file = %path.display(), %problem, "configuration reload failed: the previous routes stay in service");
            state
                .readiness
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .last_reload_error = Some(problem);
            Err(e)
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
                    Ok(f) => tracing::info!(target: "xinvoke::gateway", upstream = %name, found = f.count, "discovery"),
                    Err(e) => {
                        tracing::error!(target: "xinvoke::gateway", upstream = %name, problem = %e, "discovery failed: the functions found before stay routed")
                    }
                }
                let Some(state) = weak_state.upgrade() else { return };
                {
                    let mut r = state.readiness.write().unwrap_or_else(|p| p.into_inner());
                    if result.is_ok() {
                        r.discovered_once.insert(name.clone());
                    }
                    r.discovery.insert(name.clone(), result);
                }
                drop(state);
                tokio::time::sleep(every).await;
            }
        }));
    }
}

/// The public listener: the body read within limits, then the gateway's route, invoke and
/// answer; counted and logged. Nothing else is served here.
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
        let mut headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        // HTTP/2 says the host in `:authority`, which hyper keeps in the URI.
        if let (false, Some(authority)) = (parts.headers.contains_key("host"), parts.uri.authority()) {
            headers.push(("host".into(), authority.as_str().to_string()));
        }
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

/// The admin listener: `/metrics`, `/healthz`, `/readyz`.
struct Admin(Arc<State>);

impl Handler for Admin {
    async fn handle(&self, _peer: SocketAddr, req: axum::http::Request<hyper::body::Incoming>) -> Response<Body> {
        let state = &self.0;
        match (req.method().as_str(), req.uri().path()) {
            ("GET", "/metrics") => text(
                200,
                "text/plain; version=0.0.4",
                state.metrics.render(crate::adapters::credentials::sessions_opened()),
            ),
            ("GET", "/healthz") => text(200, "application/json", json!({"status": "ok"}).to_string()),
            ("GET", "/readyz") => {
                let (ready, body) = readiness(state);
                text(if ready { 200 } else { 503 }, "application/json", body.to_string())
            }
            _ => text(
                404,
                "application/json",
                json!({"message": "the admin listener serves GET /metrics, /healthz and /readyz"}).to_string(),
            ),
        }
    }
}

/// Whether the gateway is ready, and the body saying what is not: ready when every upstream's
/// credentials resolved at the last check and every discovering upstream has listed its
/// account once. A failed reload or refresh is named, and leaves the gateway ready on the
/// routes it kept.
fn readiness(state: &State) -> (bool, serde_json::Value) {
    let live = Arc::clone(&state.live.read().unwrap_or_else(|p| p.into_inner()));
    let r = state.readiness.read().unwrap_or_else(|p| p.into_inner());
    let mut not_ready = Vec::new();
    let mut upstreams = serde_json::Map::new();
    for u in &live.gateway.config().upstreams {
        let credentials = match r.credentials.as_ref().map(|c| c.get(&u.name)) {
            None => json!("not checked"),
            Some(Some(Ok(()))) => json!("ok"),
            Some(Some(Err(e))) => {
                not_ready.push(format!("upstream {}: credentials: {e}", u.name));
                json!({"error": e.to_string()})
            }
            Some(None) => json!("not checked"),
        };
        let discovery = u.discovery.as_ref().map(|_| {
            let once = r.discovered_once.contains(&u.name);
            match r.discovery.get(&u.name) {
                None => {
                    not_ready.push(format!("upstream {}: discovery has not listed the account yet", u.name));
                    json!({"pending": true})
                }
                Some(Ok(f)) => json!({"found": f.count, "capped_at_max_functions": f.capped_at}),
                Some(Err(e)) => {
                    if !once {
                        not_ready.push(format!("upstream {}: discovery: {e}", u.name));
                    }
                    json!({"error": e.to_string(), "succeeded_before": once})
                }
            }
        });
        let auth = match &u.auth {
            crate::gateway::config::UpstreamAuth::Resource => "resource-based".to_string(),
            crate::gateway::config::UpstreamAuth::Role { role, .. } => format!("role {role}"),
        };
        upstreams.insert(
            u.name.clone(),
            json!({
                "account": u.account,
                "region": u.region,
                "auth": auth,
                "credentials": credentials,
                "discovery": discovery,
            }),
        );
    }
    let ready = not_ready.is_empty();
    let body = json!({
        "ready": ready,
        "not_ready": not_ready,
        "upstreams": upstreams,
        "routes": live.gateway.config().routes.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "loaded_at": crate::domain::utc::iso8601(
            live.loaded_at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
        ),
        "last_reload_error": r.last_reload_error,
    });
    (ready, body)
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
