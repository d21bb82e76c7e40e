//! Serving HTTP the way both of xinvoke's servers do (the local endpoint and the gateway):
//! hyper's connection builder directly (keep-alive, no router layers), limits on how long and
//! how much a client may send, graceful shutdown, and accept errors that concern one
//! connection skipped. Each server gives a function from (peer, request) to response.
//!
//! Plain TCP is HTTP/1.1 (no h2c). With [`Tls`] (the gateway's `--tls-cert` / `--tls-key`),
//! connections are TLS 1.2/1.3 by rustls, offering `h2` and `http/1.1` by ALPN: a client that
//! picks `h2` is served HTTP/2, any other HTTP/1.1. The handshake has the header-read limit to
//! finish in; the certificate can be replaced while serving (new connections take it).

use axum::body::Body;
use axum::http::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;

/// Why a certificate and key cannot serve TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what}: no PEM {kind} in it")]
    Missing { what: String, kind: &'static str },
    #[error("{what}: not PEM ({problem})")]
    NotPem { what: String, problem: String },
    #[error("the certificate and the key do not make a TLS server: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A listener's TLS: the certificate chain and key in service, replaced whole on reload.
pub struct Tls {
    config: RwLock<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(..)")
    }
}

impl Tls {
    /// From a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1); `names`
    /// says where each came from, for errors.
    pub fn from_pem(cert: &[u8], key: &[u8], names: (&str, &str)) -> Result<Tls, TlsError> {
        Ok(Tls {
            config: RwLock::new(server_config(cert, key, names)?),
        })
    }

    /// Serve new connections with another certificate and key.
    pub fn replace(&self, cert: &[u8], key: &[u8], names: (&str, &str)) -> Result<(), TlsError> {
        let config = server_config(cert, key, names)?;
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
        Ok(())
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config.read().unwrap_or_else(|p| p.into_inner())))
    }
}

fn server_config(
    cert: &[u8],
    key: &[u8],
    (cert_name, key_name): (&str, &str),
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::NotPem {
            what: cert_name.to_string(),
            problem: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Missing {
            what: cert_name.to_string(),
            kind: "CERTIFICATE",
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Missing {
            what: key_name.to_string(),
            kind: "PRIVATE KEY",
        },
        e => TlsError::NotPem {
            what: key_name.to_string(),
            problem: e.to_string(),
        },
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What one connection may take of a server: how long a client may take to send a
/// request's headers (also the longest a kept-alive connection may sit idle), how long its
/// body, and how large the body may be. A slow or stalled client is closed within these,
/// while every other client is served. The local endpoint
/// ([`LocalServer::start_with`](crate::local::LocalServer::start_with)) and the gateway
/// ([`gateway::Options`](crate::gateway::Options)) take one.
///
/// ```
/// use std::time::Duration;
/// use aws_sdk_lambda::{error::ProvideErrorMetadata, primitives::Blob};
/// use xinvoke::local::{builtin, LocalServer, Scenario};
/// use xinvoke::ServeLimits;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let defaults = ServeLimits::default();
/// assert_eq!((defaults.header_read, defaults.body_read), (Duration::from_secs(60), Duration::from_secs(60)));
/// assert_eq!(defaults.max_body, 8 * 1024 * 1024); // above Lambda's 6 MB request limit
///
/// // A local endpoint taking bodies of 1 KiB at most.
/// let limits = ServeLimits { max_body: 1024, ..defaults };
/// let aws = LocalServer::start_with(Scenario::builtin(), "127.0.0.1:0".parse()?, limits).await?;
/// let credentials = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let base = xinvoke::endpoint_config(xinvoke::Timeouts::default(), aws.url(), credentials, builtin::REGION).await;
/// let lambda = aws_sdk_lambda::Client::new(&base);
/// let invoke = |size: usize| {
///     let payload = format!(r#"{{"pad":"{}"}}"#, "x".repeat(size));
///     lambda.invoke().function_name(builtin::TARGET_ALIAS_ARN).payload(Blob::new(payload)).send()
/// };
/// assert_eq!(invoke(100).await?.status_code(), 200);
/// let refused = invoke(2048).await.unwrap_err().into_service_error();
/// assert_eq!(refused.code(), Some("RequestEntityTooLargeException"));
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// How long a client may take to send a request's headers.
    pub header_read: Duration,
    /// How long a client may take to send a request's body.
    pub body_read: Duration,
    /// The largest request body taken, in bytes.
    pub max_body: usize,
}

impl Default for ServeLimits {
    /// Headers within 60 s (longer than xinvoke's clients keep a connection idle, 30 s), a
    /// body within 60 s, bodies up to 8 MB (Lambda's largest request is 6 MB).
    fn default() -> Self {
        ServeLimits {
            header_read: Duration::from_secs(60),
            body_read: Duration::from_secs(60),
            max_body: 8 * 1024 * 1024,
        }
    }
}

/// A server's answer to one request.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        peer: SocketAddr,
        req: Request<hyper::body::Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send;
}

/// Accept connections until `stopped`, then wait for the requests in flight. An accept error
/// that is about one connection (the peer reset it, the process is out of file descriptors
/// for a moment) skips it; any other ends the server. With TLS (and HTTP/2 by ALPN) when `tls`
/// is given.
pub async fn accept_loop_tls<H: Handler>(
    listener: tokio::net::TcpListener,
    handler: Arc<H>,
    limits: ServeLimits,
    tls: Option<Arc<Tls>>,
    mut stopped: oneshot::Receiver<()>,
) -> Result<(), std::io::Error> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The header-read timeout also bounds how long a kept-alive connection waits idle for its
    // next request (hyper starts it whenever it waits for a request head).
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    // HTTP/2 has no request-head timeout: a connection that stops answering pings is closed
    // within the header-read limit instead.
    h2.timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(limits.header_read / 2)
        .keep_alive_timeout(limits.header_read / 2);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) if e.raw_os_error() == Some(24) || e.raw_os_error() == Some(23) => {
                    // EMFILE / ENFILE: connections close all the time under load; try again soon.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
            _ = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        let service = hyper::service::service_fn(move |req| {
            let handler = Arc::clone(&handler);
            async move { Ok::<_, Infallible>(handler.handle(peer, req).await) }
        });
        let Some(tls) = &tls else {
            let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                // A client that goes away mid-request is its own business.
                let _ = conn.await;
            });
            continue;
        };
        let (acceptor, watcher, http, h2) = (tls.acceptor(), graceful.watcher(), http.clone(), h2.clone());
        tokio::spawn(async move {
            // A handshake that does not finish in time, or fails, closes the connection.
            let Ok(Ok(stream)) = tokio::time::timeout(limits.header_read, acceptor.accept(stream)).await else {
                return;
            };
            let _ = match stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                true => watcher.watch(h2.serve_connection(TokioIo::new(stream), service)).await,
                false => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
            };
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A server serving in the background.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl Running {
    /// Serve `listener` with `handler` within `limits` on the current runtime.
    pub fn spawn<H: Handler>(
        listener: tokio::net::TcpListener,
        handler: Arc<H>,
        limits: ServeLimits,
    ) -> std::io::Result<Running> {
        Running::spawn_tls(listener, handler, limits, None)
    }

    /// [`Running::spawn`], with TLS (and HTTP/2 by ALPN) when `tls` is given.
    pub fn spawn_tls<H: Handler>(
        listener: tokio::net::TcpListener,
        handler: Arc<H>,
        limits: ServeLimits,
        tls: Option<Arc<Tls>>,
    ) -> std::io::Result<Running> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let secure = tls.is_some();
        let task = tokio::spawn(accept_loop_tls(listener, handler, limits, tls, stopped));
        Ok(Running {
            addr,
            tls: secure,
            stop: Some(stop),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, or `https://` with TLS.
    pub fn url(&self) -> String {
        match self.tls {
            true => format!("https://{}", self.addr),
            false => format!("http://{}", self.addr),
        }
    }

    /// Stop accepting, let requests in flight finish (at most 10 s), then return.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }

    /// Wait until the server stops by itself (it only does on an error).
    pub async fn wait(&mut self) -> Result<(), std::io::Error> {
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Read a body within the limits: `Err(true)` when it is too large, `Err(false)` when it did
/// not arrive in time.
pub async fn read_body(body: Body, limits: ServeLimits) -> Result<bytes::Bytes, bool> {
    use futures_util::FutureExt;
    let mut read = std::pin::pin!(axum::body::to_bytes(body, limits.max_body));
    // A small body has usually arrived with the head: no timer to set and cancel for it.
    if let Some(done) = read.as_mut().now_or_never() {
        return done.map_err(|_| true);
    }
    match tokio::time::timeout(limits.body_read, read).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(_)) => Err(true),
        Err(_) => Err(false),
    }
}

/// Accept errors that concern one connection only.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}
