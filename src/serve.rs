//! Serving HTTP/1.1 the way both of xinvoke's servers do (the local endpoint and the gateway):
//! hyper's connection builder directly (keep-alive, no router layers), limits on how long and
//! how much a client may send, graceful shutdown, and accept errors that concern one
//! connection skipped. Each server gives a function from (peer, request) to response.

use axum::body::Body;
use axum::http::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// What one connection may take of a server: how long a client may take to send a
/// request's headers (also the longest a kept-alive connection may sit idle), how long its
/// body, and how large the body may be. A slow or stalled client is closed within these,
/// while every other client is served.
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
/// for a moment) skips it; any other ends the server.
pub async fn accept_loop<H: Handler>(
    listener: tokio::net::TcpListener,
    handler: Arc<H>,
    limits: ServeLimits,
    mut stopped: oneshot::Receiver<()>,
) -> Result<(), std::io::Error> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The header-read timeout also bounds how long a kept-alive connection waits idle for its
    // next request (hyper starts it whenever it waits for a request head).
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read);
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
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business.
            let _ = conn.await;
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
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, handler, limits, stopped));
        Ok(Running {
            addr,
            stop: Some(stop),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
