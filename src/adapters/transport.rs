//! The one HTTP transport of every client: a pooled hyper client, HTTP/1.1, over rustls with
//! the `ring` provider. The signed path sends on it and the SDK clients are given it as their HTTP
//! client, so both paths connect, time out and fail alike, and a binary carries one TLS stack
//! and no HTTP/2 (nothing xinvoke calls needs it).
//!
//! Trust roots: Mozilla's, compiled in (`webpki-roots`), so a cold start reads no certificate
//! files; when `SSL_CERT_FILE` or `SSL_CERT_DIR` is set (a TLS-inspecting proxy, a private CA)
//! the certificates they name are trusted too.

use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::{capture_connection, HttpConnector as TcpConnector, HttpInfo};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The connector under every client: TCP (no Nagle, a connect timeout), then TLS for https.
pub(crate) type Connector = HttpsConnector<TcpConnector>;

/// Idle pooled connections are closed after this long: servers and NATs drop idle connections
/// sooner or later, and one we close first is never one a request is sent on as it is torn down.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// TCP keepalive: the first probe after this long idle, then every [`KEEPALIVE_INTERVAL`]. A NAT
/// gateway (and an NLB) drops a flow idle for 350 s, and a synchronous invoke waits silently
/// on its connection for as long as the target runs (up to 15 minutes): without probes a
/// longer invoke would be lost as `timeout` while the target succeeds.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// The interval between keepalive probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);

/// The TLS configuration, built once per process.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
                let found = rustls_native_certs::load_native_certs();
                for e in &found.errors {
                    tracing::warn!(problem = %e, "a certificate named by SSL_CERT_FILE / SSL_CERT_DIR was not loaded");
                }
                let (added, ignored) = roots.add_parsable_certificates(found.certs);
                tracing::debug!(added, ignored, "trust roots from SSL_CERT_FILE / SSL_CERT_DIR");
            }
            let config = rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
                .with_safe_default_protocol_versions()
                .expect("ring supports rustls' default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// A connector for http and https URLs, HTTP/1.1 only, with TCP keepalive below 350 s.
fn connector(connect_timeout: Option<Duration>) -> Connector {
    let mut tcp = TcpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    tcp.set_keepalive(Some(KEEPALIVE_IDLE));
    tcp.set_keepalive_interval(Some(KEEPALIVE_INTERVAL));
    tcp.set_keepalive_retries(Some(3));
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*tls_config()).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp)
}

/// A pooled client on [`connector`] for bodies of type `B`.
pub fn client<B>(connect_timeout: Option<Duration>) -> Client<Connector, B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(connector(connect_timeout))
}

/// [`client`] opening at most `max_connections` connections at once, if given.
pub(crate) fn limited_client<B>(connect_timeout: Option<Duration>, max_connections: Option<usize>) -> Client<Limited, B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(Limited {
            inner: connector(connect_timeout),
            permits: max_connections.map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1)))),
        })
}

/// [`Connector`], holding at most as many connections open as it has permits (each connection
/// keeps one until it closes). hyper's pool races a new connection against one coming back for
/// every request that finds none idle, and keeps both: a closed loop of 512 requests held ~840
/// connections, each with its buffers. With a permit per request in flight, the race's new
/// connection waits until one closes, and the request takes the one that came back.
#[derive(Clone, Debug)]
pub(crate) struct Limited {
    inner: Connector,
    permits: Option<Arc<tokio::sync::Semaphore>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Stream = <Connector as tower_service::Service<http::Uri>>::Response;

impl tower_service::Service<http::Uri> for Limited {
    type Response = LimitedIo;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<LimitedIo, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let permits = self.permits.clone();
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let permit = match permits {
                Some(p) => Some(p.acquire_owned().await.map_err(|e| Box::new(e) as BoxError)?),
                None => None,
            };
            std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            let io = inner.call(uri).await?;
            Ok(LimitedIo { io, _permit: permit })
        })
    }
}

/// A connection of [`Limited`] and its permit.
pub(crate) struct LimitedIo {
    io: Stream,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl hyper::rt::Read for LimitedIo {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for LimitedIo {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

impl hyper_util::client::legacy::connect::Connection for LimitedIo {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        self.io.connected()
    }
}

/// The SDK clients' HTTP client: `client`, one per connect timeout the SDK asks for. Give it
/// to an SDK client of your own so it connects, times out and trusts certificates as xinvoke's
/// do (one TLS stack in the binary).
///
/// ```
/// use aws_sdk_sts::config::{BehaviorVersion, Region};
/// use xinvoke::local::{builtin, LocalServer, Scenario};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse()?).await?;
/// let credentials = aws_credential_types::Credentials::from_keys(
///     builtin::SOURCE_ACCESS_KEY,
///     builtin::SOURCE_SECRET_KEY,
///     Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
/// );
/// let conf = aws_sdk_sts::Config::builder()
///     .behavior_version(BehaviorVersion::latest())
///     .http_client(xinvoke::http_client())
///     .endpoint_url(aws.url())
///     .region(Region::new(builtin::REGION))
///     .credentials_provider(credentials)
///     .build();
/// let me = aws_sdk_sts::Client::from_conf(conf).get_caller_identity().send().await?;
/// assert_eq!(me.account(), Some(builtin::SOURCE_ACCOUNT));
/// aws.shutdown().await;
/// # Ok(()) }
/// ```
pub fn sdk_http_client() -> SharedHttpClient {
    SharedHttpClient::new(SdkHttp::default())
}

#[derive(Debug, Default)]
struct SdkHttp {
    by_timeout: Mutex<HashMap<Option<Duration>, SharedHttpConnector>>,
}

impl HttpClient for SdkHttp {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let timeout = settings.connect_timeout();
        let mut cache = self.by_timeout.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(timeout)
            .or_insert_with(|| {
                SharedHttpConnector::new(SdkConnector {
                    client: client(timeout),
                })
            })
            .clone()
    }
}

/// Sends the SDK's requests on a pooled client. Read timeouts are not applied here: xinvoke
/// bounds every attempt with the SDK's attempt timeout instead.
#[derive(Debug)]
struct SdkConnector {
    client: Client<Connector, SdkBody>,
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        expose_connection(&mut request);
        let sent = self.client.request(request);
        HttpConnectorFuture::new(async move {
            match sent.await {
                Ok(response) => Response::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(connector_error(e)),
            }
        })
    }
}

/// Let the SDK reach the connection a request is sent on, as its own hyper client does: its
/// connection-poisoning interceptor closes the connection after a transient error (a 5xx, a
/// timeout), and without this it logs an ERROR line for every such answer ("unable to mark the
/// connection for closure"), which would trip error alarms on every EC2 throttle.
fn expose_connection(request: &mut http::Request<SdkBody>) {
    let Some(smithy) = request.extensions().get::<CaptureSmithyConnection>().cloned() else {
        return;
    };
    let captured = capture_connection(request);
    smithy.set_connection_retriever(move || {
        let guard = captured.connection_metadata();
        let connected = guard.as_ref()?;
        let mut extra = http::Extensions::new();
        connected.get_extras(&mut extra);
        let mut meta = ConnectionMetadata::builder().proxied(connected.is_proxied());
        if let Some(info) = extra.get::<HttpInfo>() {
            meta = meta.remote_addr(info.remote_addr()).local_addr(info.local_addr());
        }
        let to_poison = captured.clone();
        Some(
            meta.poison_fn(move || {
                if let Some(c) = to_poison.connection_metadata().as_ref() {
                    c.poison();
                }
            })
            .build(),
        )
    });
}

/// The SDK's kind of a transport failure, as its own client would say it: a timeout, a
/// connection that failed or broke (I/O), else other. xinvoke classifies from the error chain
/// itself ([`crate::adapters::lambda::transport_failure`]); the kind is for the SDK.
fn connector_error(e: hyper_util::client::legacy::Error) -> ConnectorError {
    let timed_out = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| e.source())
        .any(|e| e.downcast_ref::<std::io::Error>().map(|io| io.kind()) == Some(std::io::ErrorKind::TimedOut));
    if timed_out {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || std::error::Error::source(&e).is_some() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Full;

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_for_the_sdk() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let request = http::Request::get(format!("http://127.0.0.1:{port}/"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let e = client::<Full<Bytes>>(Some(Duration::from_secs(2)))
            .request(request)
            .await
            .unwrap_err();
        assert!(e.is_connect());
        let e = connector_error(e);
        assert!(e.is_io() && !e.is_timeout(), "{e:?}");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn connections_probe_an_idle_flow_well_before_a_nat_gateway_drops_it_at_350_s() {
        use std::os::fd::AsRawFd;
        use tower_service::Service;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: http::Uri = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
        let stream = connector(None).call(uri).await.unwrap();
        let hyper_rustls::MaybeHttpsStream::Http(io) = stream else {
            panic!("an http URL connects without TLS")
        };
        let fd = io.inner().as_raw_fd();
        let option = |level: libc::c_int, name: libc::c_int| {
            let mut value: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: a live socket's fd, an int-sized option and its length.
            let rc = unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut libc::c_int).cast(), &mut len) };
            assert_eq!(rc, 0, "getsockopt");
            value
        };
        assert_eq!(option(libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1, "keepalive is on");
        let idle = option(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE);
        let interval = option(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL);
        assert!(
            idle > 0 && idle + interval < 350,
            "first probe after {idle} s, then every {interval} s"
        );
    }

    #[test]
    fn the_tls_configuration_is_built_once_per_process() {
        assert!(Arc::ptr_eq(&tls_config(), &tls_config()));
    }
}
