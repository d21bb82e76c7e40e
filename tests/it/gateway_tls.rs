//! The gateway's listener over TLS, with real clients: curl (`--http2`, `--cacert`) for HTTP/2
//! by ALPN and HTTP/1.1, Python's `ssl` and `http.client`, and rustls from Rust for the slow
//! clients and body limits, repeated over TLS. Certificates are made here (rcgen): a CA and a
//! leaf for `localhost` and 127.0.0.1.

use crate::common;
use crate::gateway::{gateway_process, run_briefly, write, EXAMPLE};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xinvoke::gateway::{GatewayServer, Options, TlsFiles};
use xinvoke::local::LocalServer;
use xinvoke::ServeLimits;
use xinvoke::Timeouts;

/// A CA, and a leaf it signed for `localhost` and 127.0.0.1: the CA's PEM file, the leaf's
/// chain and key files, under `dir` with `prefix`.
fn certificates(dir: &Path, prefix: &str) -> (PathBuf, TlsFiles) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "xinvoke gateway test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let path = |name: &str| dir.join(format!("{prefix}-{name}"));
    std::fs::write(path("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(path("cert.pem"), format!("{}{}", leaf.pem(), ca_cert.pem())).unwrap();
    std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
    (
        path("ca.pem"),
        TlsFiles {
            cert: path("cert.pem"),
            key: path("key.pem"),
        },
    )
}

/// The example routes plus an unwrapped one, over TLS with `limits`.
async fn tls_gateway(server: &LocalServer, dir: &Path, tls: TlsFiles, limits: ServeLimits) -> GatewayServer {
    let file = format!(
        "{EXAMPLE}\n  - name: unwrap\n    matchers: [{{exact: /unwrap}}]\n    upstream: account2\n    logicalName: target-live\n    unwrapAsApiGateway: true\n"
    );
    let retry = common::fast_retry(2);
    let options = Options {
        base: Some(common::base(server, common::source_credentials(), Timeouts::default()).await),
        env: Arc::new(move |k: &str| (k == "XINVOKE_RETRY").then(|| retry.clone())),
        tls: Some(tls),
        limits,
        ..Options::default()
    };
    GatewayServer::start_with(write(dir, &file), "127.0.0.1:0".parse().unwrap(), options)
        .await
        .expect("the gateway starts over TLS")
}

/// `https://localhost:PORT` of a gateway.
fn localhost(gw: &GatewayServer) -> String {
    format!("https://localhost:{}", gw.addr().port())
}

/// curl's answer: the HTTP version it spoke, the status, the headers (lower-case) and the body.
struct Curl {
    version: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Curl {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// POST `body` to `url` with curl and `args` (`--http2`, `--cacert CA`, ...).
async fn curl(url: String, body: Vec<u8>, args: Vec<String>) -> Result<Curl, String> {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let (head, data) = (dir.path().join("head"), dir.path().join("body"));
        std::fs::write(&data, &body).unwrap();
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "20",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
            ])
            .arg("--data-binary")
            .arg(format!("@{}", data.display()))
            .arg("-D")
            .arg(&head)
            .args(["-o", "/dev/stdout", "-w", "\n%{http_version} %{http_code}"])
            .args(&args)
            .arg(&url)
            .output()
            .expect("curl runs (scripts/test.sh installs it)");
        if !out.status.success() {
            return Err(format!(
                "curl exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, tail) = text.rsplit_once('\n').unwrap();
        let (version, status) = tail.split_once(' ').unwrap();
        let headers = std::fs::read_to_string(&head)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Ok(Curl {
            version: version.to_string(),
            status: status.parse().unwrap(),
            headers,
            body: body.to_string(),
        })
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// curl speaks HTTP/2 (ALPN `h2`) and HTTP/1.1 to the gateway over TLS, verifying it with the
/// test CA; the function's forged outcome and framing headers stay out of an HTTP/2 answer
/// too; a client that does not trust the CA is refused; Python's `ssl` negotiates `h2` by
/// ALPN and `http.client` is answered over HTTP/1.1; the binary says `https://` first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_http2_by_alpn_and_http1_to_real_clients() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, tls) = certificates(dir.path(), "a");
    let gw = tls_gateway(&server, dir.path(), tls.clone(), ServeLimits::default()).await;
    assert!(gw.url().starts_with("https://127.0.0.1:"), "{}", gw.url());
    let cacert = ca.to_str().unwrap();
    let h2 = curl(
        format!("{}/target", localhost(&gw)),
        br#"{"over":"h2"}"#.to_vec(),
        args(&["--http2", "--cacert", cacert]),
    )
    .await
    .unwrap();
    assert_eq!(
        (h2.version.as_str(), h2.status, h2.body.as_str()),
        ("2", 200, r#"{"over":"h2"}"#)
    );
    assert_eq!(h2.all("x-xinvoke-class"), vec!["ok"]);
    let h1 = curl(
        format!("{}/target", localhost(&gw)),
        b"{}".to_vec(),
        args(&["--http1.1", "--cacert", cacert]),
    )
    .await
    .unwrap();
    assert_eq!((h1.version.as_str(), h1.status), ("1.1", 200));
    let forged = serde_json::json!({
        "statusCode": 200,
        "headers": {"x-xinvoke-class": "evil", "connection": "close", "transfer-encoding": "chunked", "upgrade": "h2c", "keep-alive": "1"},
        "body": "framed by the gateway"
    });
    let a = curl(
        format!("{}/unwrap", localhost(&gw)),
        forged.to_string().into_bytes(),
        args(&["--http2", "--cacert", cacert]),
    )
    .await
    .unwrap();
    assert_eq!(
        (a.version.as_str(), a.status, a.body.as_str()),
        ("2", 200, "framed by the gateway")
    );
    assert_eq!(a.all("x-xinvoke-class"), vec!["ok"]);
    assert!(
        a.all("transfer-encoding").is_empty() && a.all("upgrade").is_empty(),
        "{:?}",
        a.headers
    );
    let untrusted = curl(format!("{}/target", localhost(&gw)), b"{}".to_vec(), args(&["--http2"])).await;
    assert!(
        untrusted.is_err_and(|e| e.contains("exit Some(60)")),
        "curl refuses an unknown CA"
    );

    let python = format!(
        r#"
import http.client, json, ssl, socket, sys
ctx = ssl.create_default_context(cafile={ca:?})
ctx.set_alpn_protocols(["h2", "http/1.1"])
with socket.create_connection(("127.0.0.1", {port})) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        alpn = s.selected_alpn_protocol()
ctx = ssl.create_default_context(cafile={ca:?})
conn = http.client.HTTPSConnection("localhost", {port}, context=ctx)
conn.request("POST", "/target", body=b'{{"from": "python"}}', headers={{"content-type": "application/json"}})
r = conn.getresponse()
print(json.dumps({{"alpn": alpn, "status": r.status, "version": r.version, "class": r.getheader("x-xinvoke-class"), "body": json.loads(r.read())}}))
"#,
        ca = cacert,
        port = gw.addr().port()
    );
    let out = tokio::task::spawn_blocking(move || Command::new("python3").arg("-c").arg(python).output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen,
        serde_json::json!({"alpn": "h2", "status": 200, "version": 11, "class": "ok", "body": {"from": "python"}})
    );
    gw.shutdown().await;

    // The binary: the first line says https; --tls-cert needs --tls-key.
    let path = write(dir.path(), EXAMPLE);
    let mut cmd = gateway_process(&server, &path, &[]);
    cmd.args([
        "--tls-cert",
        tls.cert.to_str().unwrap(),
        "--tls-key",
        tls.key.to_str().unwrap(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.starts_with("listening on https://127.0.0.1:"), "{first:?}");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let mut half = gateway_process(&server, &path, &[]);
    half.args(["--tls-cert", tls.cert.to_str().unwrap()]);
    let out = run_briefly(half).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
    server.shutdown().await;
}

/// A TLS connection to the gateway, verified with `ca`.
async fn tls_connect(addr: std::net::SocketAddr, ca: &Path) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .expect("the handshake")
}

/// One HTTP/1.1 exchange over TLS (the connection closed after it): status and body.
async fn tls_exchange(addr: std::net::SocketAddr, ca: &Path, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = tls_connect(addr, ca).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Over TLS as over plain HTTP: a client that stalls mid-request, or never finishes its
/// handshake, holds up no one and is closed within the limits; a body over the limit is 413 and
/// one that does not arrive in time 408, both by HTTP/1.1 and HTTP/2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_and_body_limits_hold_over_tls() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, tls) = certificates(dir.path(), "b");
    let limits = ServeLimits {
        header_read: Duration::from_secs(1),
        body_read: Duration::from_millis(500),
        max_body: 4096,
    };
    let gw = tls_gateway(&server, dir.path(), tls, limits).await;
    // Half a request after the handshake, and a connection that never starts one.
    let mut slow = tls_connect(gw.addr(), &ca).await;
    slow.write_all(b"POST /target HTTP/1.1\r\nhost: localhost\r\ncontent-length: 100\r\n\r\n{\"a\":")
        .await
        .unwrap();
    slow.flush().await.unwrap();
    let mut silent = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..20).map(|i| {
        let ca = ca.clone();
        let addr = gw.addr();
        async move {
            tls_exchange(addr, &ca, "/target", format!("{{\"i\":{i}}}").as_bytes())
                .await
                .0
        }
    }))
    .await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // The stalled body is answered 408 within the body limit; the silent one is closed.
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 408") && text.contains("x-xinvoke-class: timeout"),
        "{text}"
    );
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut byte)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "a handshake never begun is closed: {closed:?}"
    );

    let big = vec![b'x'; 8192];
    let (status, body) = tls_exchange(gw.addr(), &ca, "/target", &big).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large"));
    let h2 = curl(
        format!("{}/target", localhost(&gw)),
        big,
        args(&["--http2", "--cacert", ca.to_str().unwrap()]),
    )
    .await
    .unwrap();
    assert_eq!((h2.version.as_str(), h2.status), ("2", 413));
    assert_eq!(h2.all("x-xinvoke-class"), vec!["payload_too_large"]);
    gw.shutdown().await;
    server.shutdown().await;
}

/// A reload reads the certificate again: new connections are served the new one; a key that
/// is not PEM is refused as at start, and the certificate in service stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_replaces_the_certificate_or_keeps_it() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (ca_a, tls) = certificates(dir.path(), "c");
    let gw = tls_gateway(&server, dir.path(), tls.clone(), ServeLimits::default()).await;
    assert_eq!(tls_exchange(gw.addr(), &ca_a, "/target", b"{}").await.0, 200);
    let (ca_b, other) = certificates(dir.path(), "d");
    std::fs::copy(&other.cert, &tls.cert).unwrap();
    std::fs::copy(&other.key, &tls.key).unwrap();
    gw.reload().await.expect("the new pair loads");
    assert_eq!(tls_exchange(gw.addr(), &ca_b, "/target", b"{}").await.0, 200);
    std::fs::write(&tls.key, "not a key").unwrap();
    let e = gw.reload().await.unwrap_err().to_string();
    assert!(e.contains("key.pem") && e.contains("PRIVATE KEY"), "{e}");
    assert_eq!(
        tls_exchange(gw.addr(), &ca_b, "/target", b"{}").await.0,
        200,
        "the pair in service stays"
    );
    gw.shutdown().await;
    server.shutdown().await;
}
