//! TLS trust as a user meets it: the transport every client sends on (`adapters::transport`)
//! trusts the compiled-in public roots only, so an https endpoint with a private CA is refused,
//! until `SSL_CERT_FILE` names that CA. The trust store is built once per process, so each case
//! runs in a child process of this test binary with its own environment.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xinvoke::adapters::transport;

/// Set in a child: the URL to call; the child prints `accepted` or `refused: <error>`.
const CHILD_URL: &str = "XINVOKE_TLS_TEST_URL";

/// A private CA and a server certificate for `localhost` it signed.
fn private_ca() -> (String, rustls::ServerConfig) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "xinvoke test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let chain = vec![leaf.der().clone(), ca_cert.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    (ca_cert.pem(), config)
}

/// An https server on 127.0.0.1 answering every request `200 ok`; its port.
async fn serve(config: rustls::ServerConfig) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                if tls.read(&mut buf).await.unwrap_or(0) > 0 {
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                        .await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    port
}

/// Run the child case with `env`; what it printed.
fn child(url: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "tests::tls_roots::child_process_of_the_tls_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, url)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test]
async fn a_private_ca_is_refused_until_ssl_cert_file_names_it() {
    let (ca_pem, config) = private_ca();
    let port = serve(config).await;
    let url = format!("https://localhost:{port}/");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();

    let bundled_only = tokio::task::spawn_blocking({
        let url = url.clone();
        move || child(&url, &[])
    })
    .await
    .unwrap();
    assert!(bundled_only.contains("refused:"), "{bundled_only}");
    assert!(
        bundled_only.to_lowercase().contains("certificate"),
        "names the certificate problem: {bundled_only}"
    );

    let with_ca = tokio::task::spawn_blocking(move || child(&url, &[("SSL_CERT_FILE", ca_file.to_str().unwrap())]))
        .await
        .unwrap();
    assert!(with_ca.contains("accepted"), "{with_ca}");
}

/// The child side: one GET through the transport; does nothing outside a child.
#[tokio::test]
async fn child_process_of_the_tls_test() {
    let Ok(url) = std::env::var(CHILD_URL) else { return };
    let client = transport::client::<Full<Bytes>>(Some(Duration::from_secs(5)));
    let request = http::Request::get(url).body(Full::new(Bytes::new())).unwrap();
    match client.request(request).await {
        Ok(response) => {
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
            println!("accepted");
        }
        Err(e) => {
            let mut chain = format!("{e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(&format!(": {s}"));
                source = s.source();
            }
            println!("refused: {chain}");
        }
    }
}
