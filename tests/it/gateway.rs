//! `xinvoke gateway` through real HTTP: a hyper client sends to the gateway, which invokes the
//! local endpoint's functions through the real signed path and SDK clients, both auth modes;
//! answers, reloads, slow clients and metrics as a client and an operator see them.

use crate::common::{self, fault};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use xinvoke::gateway::{GatewayServer, Options};
use xinvoke::local::{builtin, LocalServer};
use xinvoke::{Timeouts, ATTEMPTS_HEADER, CLASS_HEADER};

struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

async fn send(gw: &GatewayServer, method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Answer {
    send_to(&gw.url(), method, path, body, headers).await
}

/// A GET on the gateway's admin listener.
async fn admin(gw: &GatewayServer, path: &str) -> Answer {
    send_to(&gw.admin_url(), "GET", path, b"", &[]).await
}

async fn send_to(base: &str, method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Answer {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(bytes::Bytes::copy_from_slice(body))).unwrap())
        .await
        .expect("the gateway answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer { status, headers, body }
}

/// The example file, with the retry policy of the tests (`retries` 2, 10 ms waits).
pub(crate) const EXAMPLE: &str = include_str!("../../examples/gateway.yaml");

pub(crate) fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("gateway.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn gateway(server: &LocalServer, file: PathBuf) -> GatewayServer {
    let retry = common::fast_retry(2);
    let env = move |k: &str| (k == "XINVOKE_RETRY").then(|| retry.clone());
    let options = Options {
        base: Some(common::base(server, common::source_credentials(), Timeouts::default()).await),
        env: Arc::new(env),
        ..Options::default()
    };
    GatewayServer::start_with(file, "127.0.0.1:0".parse().unwrap(), options)
        .await
        .expect("the gateway starts")
}

#[tokio::test]
async fn both_auth_modes_answer_with_the_function_and_their_class() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), EXAMPLE)).await;
    let a = send(&gw, "POST", "/target", br#"{"hello":"world"}"#, &[]).await;
    assert_eq!((a.status, a.body.as_slice()), (200, br#"{"hello":"world"}"#.as_slice()));
    assert_eq!(
        (a.header(CLASS_HEADER), a.header(ATTEMPTS_HEADER)),
        (Some("ok"), Some("1"))
    );
    assert!(a.header("x-request-id").is_some_and(|r| r.len() == 36));
    let before = server.stats().sts_assume_role;
    let a = send(
        &gw,
        "POST",
        "/target-role",
        br#"{"via":"role"}"#,
        &[("x-request-id", "my-id-1")],
    )
    .await;
    assert_eq!((a.status, a.json()["via"].as_str()), (200, Some("role")));
    assert_eq!(
        a.header("x-request-id"),
        Some("my-id-1"),
        "a client's request id is kept"
    );
    let again = send(&gw, "POST", "/target-role", b"{}", &[]).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        server.stats().sts_assume_role - before,
        1,
        "one session serves the role route"
    );
    let none = send(&gw, "POST", "/nowhere", b"{}", &[]).await;
    assert_eq!((none.status, none.header(CLASS_HEADER)), (404, Some("no_route")));
    let wrong_method = send(&gw, "GET", "/target", b"", &[]).await;
    assert_eq!(wrong_method.status, 404);
    gw.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn failures_map_to_statuses_a_client_can_act_on_without_leaking_the_account() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), EXAMPLE)).await;
    let cases: &[(&str, u16, &str)] = &[
        ("TooManyRequestsException", 429, "throttled"),
        ("ENILimitReachedException", 503, "eni_limit"),
        ("EC2ThrottledException", 503, "ec2_throttled"),
        ("SubnetIPAddressLimitReachedException", 503, "subnet_ip_limit"),
        ("ServiceException", 503, "service"),
        ("ResourceNotReadyException", 503, "not_ready"),
        ("InvalidSubnetIDException", 502, "vpc_config"),
        ("ResourceNotFoundException", 502, "not_found"),
        ("KMSAccessDeniedException", 502, "kms"),
    ];
    for (error, status, class) in cases {
        common::control_client(&server).clear_faults().await.unwrap();
        fault(
            &server,
            serde_json::json!({"function": "target", "error": error, "times": 100}),
        )
        .await;
        let a = send(&gw, "POST", "/target", b"{}", &[]).await;
        assert_eq!((a.status, a.header(CLASS_HEADER)), (*status, Some(*class)), "{error}");
        let body = String::from_utf8_lossy(&a.body);
        assert!(
            !body.contains("arn:") && !body.contains("222222222222"),
            "{error}: {body}"
        );
        assert_eq!(a.json()["class"], *class);
        if *status == 429 {
            assert!(
                a.header("retry-after").is_some(),
                "{error}: a throttle says when to retry"
            );
        }
    }
    common::control_client(&server).clear_faults().await.unwrap();
    let failed = send(&gw, "POST", "/target", br#"{"fail":"boom"}"#, &[]).await;
    assert_eq!(
        (failed.status, failed.header(CLASS_HEADER)),
        (502, Some("function_error")),
        "never 200"
    );
    let big = vec![b'x'; 6 * 1024 * 1024 + 10];
    let mut payload = b"\"".to_vec();
    payload.extend(&big);
    payload.push(b'"');
    let a = send(&gw, "POST", "/target", &payload, &[]).await;
    assert_eq!(
        (a.status, a.header(CLASS_HEADER), a.header(ATTEMPTS_HEADER)),
        (413, Some("payload_too_large"), Some("0"))
    );
    let bad = send(&gw, "POST", "/target", b"{not json", &[]).await;
    assert_eq!((bad.status, bad.header(CLASS_HEADER)), (400, Some("invalid_request")));
    gw.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn async_routes_queue_and_wrapped_routes_speak_api_gateway() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), EXAMPLE)).await;
    let queued = server.stats().events_queued;
    let a = send(&gw, "POST", "/target-async", br#"{"order":1}"#, &[]).await;
    assert_eq!((a.status, a.header(CLASS_HEADER)), (202, Some("ok")));
    assert_eq!(server.stats().events_queued, queued + 1);
    common::settle_events(&server).await;
    // The target echoes its event: the API Gateway v2 event the route wrapped the request in,
    // which, having no statusCode, is the body as an HTTP API infers it.
    let a = send(
        &gw,
        "POST",
        "/apigw/orders?id=7",
        b"{\"k\":1}",
        &[("x-tenant", "t1"), ("cookie", "a=1")],
    )
    .await;
    assert_eq!(a.status, 200);
    let event = a.json();
    assert_eq!(
        (event["version"].as_str(), event["rawPath"].as_str()),
        (Some("2.0"), Some("/apigw/orders"))
    );
    assert_eq!(event["queryStringParameters"]["id"], "7");
    assert_eq!(event["headers"]["x-tenant"], "t1");
    assert_eq!(event["cookies"][0], "a=1");
    assert_eq!(event["body"], "{\"k\":1}");
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    gw.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_function_answering_in_proxy_format_is_unwrapped() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = format!(
        "{EXAMPLE}\n  - name: unwrap\n    matchers: [{{exact: /unwrap}}]\n    upstream: account2\n    logicalName: target-live\n    unwrapAsApiGateway: true\n"
    );
    let gw = gateway(&server, write(dir.path(), &file)).await;
    // The target echoes: send what a function in proxy format answers.
    let a = send(
        &gw,
        "POST",
        "/unwrap",
        br#"{"statusCode":201,"headers":{"X-Made":"yes"},"cookies":["s=1"],"body":"created","isBase64Encoded":false}"#,
        &[],
    )
    .await;
    assert_eq!(
        (a.status, a.body.as_slice(), a.header("x-made")),
        (201, b"created".as_slice(), Some("yes"))
    );
    assert_eq!(a.header("set-cookie"), Some("s=1"));
    gw.shutdown().await;
    server.shutdown().await;
}

/// Send one request on its own connection and read the raw answer to the end: what a client's
/// framing sees, header by header (names lower-cased), and the body bytes as they came.
async fn raw_exchange(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: gw\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

/// A function in account 2 answers with the gateway's own headers, framing headers that lie and
/// statuses outside 200-599: the client sees one class, the record's attempts, a body framed by
/// the gateway, and `/metrics` holds no label or count the function chose.
#[tokio::test]
async fn a_function_cannot_forge_the_gateways_answer_framing_or_metrics() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = format!(
        "{EXAMPLE}\n  - name: unwrap\n    matchers: [{{exact: /unwrap}}]\n    upstream: account2\n    logicalName: target-live\n    unwrapAsApiGateway: true\n"
    );
    let gw = gateway(&server, write(dir.path(), &file)).await;
    // The target echoes: the request body is what the function answers.
    let forged = serde_json::json!({
        "statusCode": 200,
        "headers": {
            "X-Xinvoke-Class": "evil-1",
            "x-xinvoke-attempts": "1000001",
            "x-xinvoke-stop": "forged",
            "x-request-id": "forged-id",
            "Content-Length": "5",
            "Transfer-Encoding": "chunked",
            "Connection": "close, x-hidden",
            "x-hidden": "1",
            "Upgrade": "h2c",
            "Keep-Alive": "timeout=1",
            "x-made-by-function": "yes"
        },
        "body": "hello, a body longer than five bytes"
    })
    .to_string();
    for _ in 0..3 {
        let (status, headers, body) = raw_exchange(gw.addr(), "/unwrap", forged.as_bytes()).await;
        let all = |name: &str| -> Vec<&str> {
            headers
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(status, 200);
        assert_eq!(all(CLASS_HEADER), vec!["ok"], "{headers:?}");
        assert_eq!(all(ATTEMPTS_HEADER), vec!["1"], "{headers:?}");
        assert_eq!(all("x-xinvoke-stop"), vec!["succeeded"], "{headers:?}");
        assert_eq!(all("x-request-id").len(), 1, "{headers:?}");
        assert_ne!(all("x-request-id"), vec!["forged-id"]);
        assert!(
            all("transfer-encoding").is_empty()
                && all("upgrade").is_empty()
                && all("keep-alive").is_empty()
                && all("x-hidden").is_empty(),
            "{headers:?}"
        );
        assert_eq!(
            all("content-length"),
            vec![body.len().to_string().as_str()],
            "the gateway frames the body"
        );
        assert_eq!(body, b"hello, a body longer than five bytes");
        assert_eq!(all("x-amzn-remapped-content-length"), vec!["5"]);
        assert_eq!(all("x-made-by-function"), vec!["yes"]);
    }
    for status in [101, 99, 600] {
        let answer =
            serde_json::json!({"statusCode": status, "headers": {"x-xinvoke-class": "ok"}, "body": "x"}).to_string();
        let (got, headers, body) = raw_exchange(gw.addr(), "/unwrap", answer.as_bytes()).await;
        let classes: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k == CLASS_HEADER)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!((got, classes), (502, vec!["bad_proxy_answer"]), "statusCode {status}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["class"], "bad_proxy_answer");
    }
    let undecodable = br#"{"statusCode":200,"body":"%%%","isBase64Encoded":true}"#;
    assert_eq!(raw_exchange(gw.addr(), "/unwrap", undecodable).await.0, 502);
    let text = metrics(&gw).await;
    assert!(!text.contains("evil") && !text.contains("forged"), "{text}");
    assert!(
        text.lines()
            .any(|l| l == "xinvoke_gateway_requests_total{route=\"unwrap\",class=\"ok\"} 3"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "xinvoke_gateway_requests_total{route=\"unwrap\",class=\"bad_proxy_answer\"} 4"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "xinvoke_gateway_retries_total{route=\"unwrap\"} 0"),
        "no retry the function claimed: {text}"
    );
    gw.shutdown().await;
    server.shutdown().await;
}

/// The gateway's `/metrics` text.
async fn metrics(gw: &GatewayServer) -> String {
    String::from_utf8(admin(gw, "/metrics").await.body).unwrap()
}

#[tokio::test]
async fn a_reload_serves_the_new_routes_and_a_bad_file_keeps_the_old_ones() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), EXAMPLE);
    let gw = gateway(&server, path.clone()).await;
    assert_eq!(send(&gw, "POST", "/renamed", b"{}", &[]).await.status, 404);
    std::fs::write(&path, EXAMPLE.replace("exact: /target\n", "exact: /renamed\n")).unwrap();
    gw.reload().await.expect("a good file reloads");
    assert_eq!(send(&gw, "POST", "/renamed", b"{}", &[]).await.status, 200);
    std::fs::write(&path, EXAMPLE.replace("upstream: account2\n", "upstream: account3\n")).unwrap();
    let e = gw.reload().await.unwrap_err().to_string();
    assert!(e.contains("routes[0].upstream") && e.contains("account3"), "{e}");
    assert_eq!(
        send(&gw, "POST", "/renamed", b"{}", &[]).await.status,
        200,
        "the previous routes stay"
    );
    let ready = admin(&gw, "/readyz").await;
    assert_eq!(ready.status, 200, "the previous routes serve");
    let ready = ready.json();
    assert!(
        ready["last_reload_error"]
            .as_str()
            .is_some_and(|e| e.contains("account3")),
        "{ready}"
    );
    let metrics = metrics(&gw).await;
    assert!(
        metrics.contains("xinvoke_gateway_config_reloads_total{result=\"failed\"} 1"),
        "{metrics}"
    );
    gw.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_slow_client_does_not_hold_up_the_others() {
    use tokio::io::AsyncWriteExt;
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), EXAMPLE)).await;
    // Half a request, then silence.
    let mut slow = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
    slow.write_all(b"POST /target HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"a\":")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..20).map(|i| {
        let gw = &gw;
        async move {
            send(gw, "POST", "/target", format!("{{\"i\":{i}}}").as_bytes(), &[])
                .await
                .status
        }
    }))
    .await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    drop(slow);
    gw.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_count_exactly_the_requests_sent() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), EXAMPLE)).await;
    for _ in 0..7 {
        send(&gw, "POST", "/target", b"{}", &[]).await;
    }
    for _ in 0..3 {
        send(&gw, "POST", "/target", br#"{"fail":"x"}"#, &[]).await;
    }
    for _ in 0..2 {
        send(&gw, "POST", "/missing", b"{}", &[]).await;
    }
    fault(
        &server,
        serde_json::json!({"function": "target", "error": "TooManyRequestsException", "times": 3}),
    )
    .await;
    send(&gw, "POST", "/target", b"{}", &[]).await;
    let text = metrics(&gw).await;
    let value = |line: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(line))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    assert_eq!(
        value("xinvoke_gateway_requests_total{route=\"target\",class=\"ok\"}"),
        Some(7)
    );
    assert_eq!(
        value("xinvoke_gateway_requests_total{route=\"target\",class=\"function_error\"}"),
        Some(3)
    );
    assert_eq!(
        value("xinvoke_gateway_requests_total{route=\"target\",class=\"throttled\"}"),
        Some(1)
    );
    assert_eq!(
        value("xinvoke_gateway_requests_total{route=\"no_route\",class=\"no_route\"}"),
        Some(2)
    );
    let total: u64 = text
        .lines()
        .filter(|l| l.starts_with("xinvoke_gateway_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(total, 13, "every request counted once, /metrics not among them");
    assert_eq!(
        value("xinvoke_gateway_request_duration_seconds_count{route=\"target\"}"),
        Some(11)
    );
    assert_eq!(
        value("xinvoke_gateway_retries_total{route=\"target\"}"),
        Some(2),
        "3 attempts, 2 retries"
    );
    gw.shutdown().await;
    server.shutdown().await;
}

/// `xinvoke gateway` as a user runs it: the built-in source credentials and AWS_ENDPOINT_URL
/// pointing at a running local endpoint.
pub(crate) fn gateway_process(
    server: &LocalServer,
    config: &Path,
    extra_env: &[(&str, &str)],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.args([
        "gateway",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--config",
    ])
    .arg(config);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("XINVOKE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ENDPOINT_URL", server.url())
        .env("AWS_REGION", builtin::REGION)
        .env("AWS_ACCESS_KEY_ID", builtin::SOURCE_ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", builtin::SOURCE_SECRET_KEY)
        .env("AWS_SESSION_TOKEN", builtin::SOURCE_SESSION_TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_serves_the_example_names_its_address_and_reloads_on_sighup() {
    use std::io::{BufRead, BufReader};
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), EXAMPLE);
    let mut child = gateway_process(&server, &path, &[("XINVOKE_RETRY", &common::fast_retry(1))])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "{url}");
    let post = |path: &'static str| {
        let url = url.clone();
        async move {
            let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let req = axum::http::Request::post(format!("{url}{path}"))
                .body(Full::new(bytes::Bytes::from_static(b"{}")))
                .unwrap();
            let resp = client.request(req).await.unwrap();
            let class = resp
                .headers()
                .get(CLASS_HEADER)
                .map(|v| v.to_str().unwrap().to_string());
            (resp.status().as_u16(), class)
        }
    };
    assert_eq!(post("/target").await, (200, Some("ok".into())));
    assert_eq!(post("/target-role").await, (200, Some("ok".into())));
    fault(
        &server,
        serde_json::json!({"function": "target", "error": "ENILimitReachedException", "times": 2}),
    )
    .await;
    assert_eq!(post("/target").await, (503, Some("eni_limit".into())));
    // A new file, then SIGHUP: the new route serves.
    std::fs::write(&path, EXAMPLE.replace("exact: /target-role\n", "exact: /role\n")).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut served = false;
    for _ in 0..50 {
        if post("/role").await.0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the reloaded route serves");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    let access: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["target"] == "xinvoke::gateway::access")
        .collect();
    assert!(access.len() >= 4, "{log}");
    let line = &access[0]["fields"];
    for field in [
        "route",
        "function",
        "class",
        "attempts",
        "latency_ms",
        "status",
        "request_id",
    ] {
        assert!(!line[field].is_null(), "{field} missing in {line}");
    }
    assert!(
        !log.contains(builtin::SOURCE_SECRET_KEY) && !log.contains(builtin::EXTERNAL_ID),
        "no secret in the log"
    );
    server.shutdown().await;
}

/// Run a command that should end by itself; one still running after 60 s is killed (and the
/// test fails on its exit status rather than hanging).
pub(crate) async fn run_briefly(mut cmd: std::process::Command) -> std::process::Output {
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let id = child.id();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let _ = std::process::Command::new("kill").arg(id.to_string()).status();
    });
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    killer.abort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_are_named_at_start_not_on_the_first_request() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), EXAMPLE);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
            "no credentials: set AWS_ACCESS_KEY_ID",
        ),
        (
            vec![
                ("AWS_ACCESS_KEY_ID", ""),
                ("AWS_SECRET_ACCESS_KEY", ""),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"),
            ],
            "AWS_ROLE_ARN is not",
        ),
        (vec![("AWS_SECRET_ACCESS_KEY", "not-the-secret")], "account2"),
    ];
    for (env, words) in cases {
        let mut cmd = gateway_process(&server, &path, &[]);
        for (k, v) in &env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let out = run_briefly(cmd).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
        assert!(err.contains(words), "{env:?}: {err}");
        assert!(out.stdout.is_empty(), "it never says it listens");
    }
    let e = {
        let gloo = "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: aws-upstream}\nspec:\n  aws:\n    region: us-east-1\n    secretRef: {name: aws-creds, namespace: gloo-system}\n    awsAccountId: \"222222222222\"\n    lambdaFunctions: [{lambdaFunctionName: target, logicalName: target, qualifier: live}]\n";
        let p = dir.path().join("gloo.yaml");
        std::fs::write(&p, gloo).unwrap();
        let cmd = gateway_process(&server, &p, &[]);
        let out = run_briefly(cmd).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "the environment's keys do not stand in for the profile"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(
        e.contains("profile \"aws-creds\""),
        "a Gloo secretRef is an AWS profile: {e}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gloo_secret_ref_signs_with_the_profile_of_its_name() {
    use std::io::{BufRead, BufReader};
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gloo = "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: aws-upstream}\nspec:\n  aws:\n    region: us-east-1\n    secretRef: {name: aws-creds, namespace: gloo-system}\n    awsAccountId: \"222222222222\"\n    lambdaFunctions: [{lambdaFunctionName: target, logicalName: target, qualifier: live}]\n---\napiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  virtualHost:\n    routes:\n    - matchers: [{exact: /}]\n      routeAction: {single: {upstream: {name: aws-upstream}, destinationSpec: {aws: {logicalName: target}}}}\n";
    let config = dir.path().join("gloo.yaml");
    std::fs::write(&config, gloo).unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[aws-creds]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            builtin::SOURCE_ACCESS_KEY,
            builtin::SOURCE_SECRET_KEY,
            builtin::SOURCE_SESSION_TOKEN
        ),
    )
    .unwrap();
    // The environment's keys are wrong: only the profile's can sign.
    let mut child = gateway_process(
        &server,
        &config,
        &[
            ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("it starts")
        .to_string();
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = axum::http::Request::post(format!("{url}/"))
        .body(Full::new(bytes::Bytes::from_static(b"{\"p\":1}")))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    server.shutdown().await;
}

const DISCOVERING: &str = "upstreams:
- name: account2
  region: us-east-1
  roleArn: arn:aws:iam::222222222222:role/xinvoke-invoke
  externalId: xinvoke-local-external-id
  discovery: {refresh: 10s, routePrefix: /fn}
";

/// Wait until `/readyz` shows a discovery result for `upstream`.
async fn discovery_result(gw: &GatewayServer, upstream: &str) -> serde_json::Value {
    for _ in 0..100 {
        let ready = admin(gw, "/readyz").await.json();
        let found = &ready["upstreams"][upstream]["discovery"];
        if !found.is_null() && found["pending"].is_null() {
            return found.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no discovery result for {upstream}");
}

#[tokio::test]
async fn discovery_lists_the_other_account_through_its_role_and_exposes_routes_by_name() {
    // The built-in scenario, with the invoke role allowed to list account 2's functions and the
    // target's aliases.
    let text = include_str!("../../src/local/builtin.toml").replace(
        "  { Effect = \"Allow\", Action = \"lambda:InvokeFunction\", Resource = [",
        "  { Effect = \"Allow\", Action = \"lambda:ListFunctions\", Resource = \"*\" },\n  { Effect = \"Allow\", Action = \"lambda:ListAliases\", Resource = \"arn:aws:lambda:us-east-1:222222222222:function:*\" },\n  { Effect = \"Allow\", Action = \"lambda:InvokeFunction\", Resource = [",
    );
    let scenario = xinvoke::local::Scenario::from_toml_str(&text, Path::new("listing.toml")).unwrap();
    let server = common::start_with(scenario).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), DISCOVERING)).await;
    let found = discovery_result(&gw, "account2").await;
    assert!(
        found["found"].as_u64().is_some_and(|n| n >= 2),
        "target and target:live at least: {found}"
    );
    let a = send(&gw, "POST", "/fn/target/live", br#"{"found":true}"#, &[]).await;
    assert_eq!((a.status, a.json()["found"].as_bool()), (200, Some(true)));
    assert_eq!(send(&gw, "POST", "/fn/no-such-function", b"{}", &[]).await.status, 404);
    gw.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn denied_discovery_names_the_permission_and_the_role() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), DISCOVERING)).await;
    let found = discovery_result(&gw, "account2").await;
    let error = found["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("lambda:ListFunctions") && error.contains("arn:aws:iam::222222222222:role/xinvoke-invoke"),
        "{found}"
    );
    assert_eq!(
        send(&gw, "POST", "/fn/target", b"{}", &[]).await.status,
        404,
        "nothing discovered, nothing routed"
    );
    gw.shutdown().await;
    server.shutdown().await;
}

/// A pod's path (EKS IRSA): the gateway gets account 1's role from its projected token
/// (AssumeRoleWithWebIdentity), then chains into account 2's invoke role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_reaches_the_target_by_web_identity_then_role_chaining() {
    use std::io::{BufRead, BufReader};
    use xinvoke::local::TokenRequest;
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let only_role = "upstreams:\n- name: account2-role\n  region: us-east-1\n  roleArn: arn:aws:iam::222222222222:role/xinvoke-invoke\n  externalId: xinvoke-local-external-id\n  lambdaFunctions: [{lambdaFunctionName: target, qualifier: live}]\nroutes:\n- {name: target, upstream: account2-role, logicalName: \"target:live\", matchers: [{exact: /target}]}\n";
    let config = write(dir.path(), only_role);
    let control = common::control_client(&server);
    let pod = |sub: &str| TokenRequest::subject(sub);
    let token_file = dir.path().join("token");
    let irsa = |file: &Path| {
        vec![
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE".to_string(),
                file.to_str().unwrap().to_string(),
            ),
            ("AWS_ROLE_ARN".to_string(), builtin::WEB_IDENTITY_ROLE_ARN.to_string()),
            ("AWS_ROLE_SESSION_NAME".to_string(), "gateway-pod".to_string()),
        ]
    };
    let without_keys = |mut cmd: std::process::Command, env: Vec<(String, String)>| {
        cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
        cmd.envs(env);
        cmd
    };
    // Another service account's token: the start names the trust policy and the claims.
    std::fs::write(
        &token_file,
        control
            .oidc_token(&pod("system:serviceaccount:other:sa"))
            .await
            .unwrap()
            .0,
    )
    .unwrap();
    let out = run_briefly(without_keys(gateway_process(&server, &config, &[]), irsa(&token_file))).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("AssumeRoleWithWebIdentity")
            && err.contains("system:serviceaccount:other:sa")
            && err.contains(":sub"),
        "{err}"
    );
    // The pod's own token: served.
    std::fs::write(
        &token_file,
        control.oidc_token(&pod(builtin::WEB_IDENTITY_SUBJECT)).await.unwrap().0,
    )
    .unwrap();
    let before = server.stats();
    let mut child = without_keys(gateway_process(&server, &config, &[]), irsa(&token_file))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("it starts")
        .to_string();
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = axum::http::Request::post(format!("{url}/target"))
        .body(Full::new(bytes::Bytes::from_static(b"{\"pod\":1}")))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let after = server.stats();
    assert!(
        after.sts_assume_role_with_web_identity > before.sts_assume_role_with_web_identity,
        "the token was exchanged"
    );
    assert!(
        after.sts_assume_role > before.sts_assume_role,
        "then the invoke role was assumed"
    );
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    server.shutdown().await;
}

/// `xinvoke load --via gateway URL`: the load as HTTP requests through a gateway, every
/// request accounted for by the class the gateway names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_through_the_gateway_reports_answers_by_class() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), EXAMPLE)).await;
    let json = dir.path().join("r.json");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.args([
        "load",
        "--via",
        "gateway",
        &format!("{}/target", gw.url()),
        "--concurrency",
        "4",
        "--requests",
        "30",
        "--quiet",
    ])
    .args(["--payload", r#"{"fail":"every time"}"#, "--json"])
    .arg(&json);
    let out = run_briefly(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let phase = &report["phases"][0];
    assert_eq!(
        (phase["sent"].as_u64(), phase["completed"].as_u64()),
        (Some(30), Some(30))
    );
    let classes: Vec<(String, u64)> = phase["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["class"].as_str().unwrap().to_string(), c["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(classes, vec![("function_error".to_string(), 30)]);
    assert_eq!(report["run"]["via"], "gateway");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/load-report.schema.json")).unwrap();
    let errors = crate::common::schema::schema_errors(&schema, &report);
    assert!(errors.is_empty(), "{errors:?}");
    gw.shutdown().await;
    server.shutdown().await;
}

/// A Gloo VirtualService whose virtual host has `extauth`: `--check` exits non-zero naming the
/// field and the resource, and the gateway does not start, so no route is served without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gloo_route_with_extauth_is_refused_at_check_and_at_start() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gloo = "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: aws-upstream, namespace: gloo-system}\nspec:\n  aws: {region: us-east-1, awsAccountId: \"222222222222\", lambdaFunctions: [{lambdaFunctionName: target, logicalName: target, qualifier: live}]}\n---\napiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: guarded, namespace: gloo-system}\nspec:\n  virtualHost:\n    domains: ['*']\n    options:\n      extauth: {configRef: {name: basic-auth, namespace: gloo-system}}\n    routes:\n    - matchers: [{exact: /}]\n      routeAction: {single: {upstream: {name: aws-upstream}, destinationSpec: {aws: {logicalName: target}}}}\n";
    let path = dir.path().join("gloo.yaml");
    std::fs::write(&path, gloo).unwrap();
    let mut check = gateway_process(&server, &path, &[]);
    check.arg("--check");
    for cmd in [check, gateway_process(&server, &path, &[])] {
        let out = run_briefly(cmd).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("spec.virtualHost.options.extauth")
                && err.contains("extauth is not supported: this route would be served without it")
                && err.contains("VirtualService \"guarded\""),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    }
    server.shutdown().await;
}

const GLOO_UPSTREAM: &str = "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: acct2, namespace: gloo-system}\nspec:\n  aws: {region: us-east-1, awsAccountId: \"222222222222\", lambdaFunctions: [{lambdaFunctionName: target, logicalName: target, qualifier: live}]}\n";

/// Gloo's routing, honoured over real HTTP: the virtual host picked by `Host`, query
/// parameter matchers, the path the wrapped event says after `prefixRewrite`, request and
/// answer header edits, a CORS preflight answered without an invoke and CORS headers on the
/// answer, and `retryOn` narrowing which failures are retried.
#[tokio::test]
async fn gloo_routes_honour_hosts_queries_rewrites_headers_cors_and_retries() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let vs = "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: api, namespace: gloo-system}\nspec:\n  virtualHost:\n    domains: [api.example.com]\n    options:\n      cors: {allowOrigin: ['https://app.example.com'], allowMethods: [POST], allowHeaders: [x-tenant], exposeHeaders: [x-added], maxAge: '600'}\n    routes:\n    - name: orders\n      matchers: [{prefix: /api/, queryParameters: [{name: v, value: '[0-9]+', regex: true}]}]\n      routeAction: {single: {upstream: {name: acct2}, destinationSpec: {aws: {logicalName: target, wrapAsApiGateway: true}}}}\n      options:\n        prefixRewrite: /v1/\n        headerManipulation:\n          requestHeadersToAdd: [{header: {key: x-tenant, value: from-gateway}, append: false}]\n          requestHeadersToRemove: [x-internal]\n          responseHeadersToAdd: [{header: {key: x-added, value: 'yes'}}]\n    - name: throttles-retried\n      matchers: [{exact: /retry-429}]\n      routeAction: {single: {upstream: {name: acct2}, destinationSpec: {aws: {logicalName: target}}}}\n      options: {retries: {retryOn: retriable-status-codes, retriableStatusCodes: [429], numRetries: 2}}\n    - name: throttles-not-retried\n      matchers: [{exact: /retry-connect}]\n      routeAction: {single: {upstream: {name: acct2}, destinationSpec: {aws: {logicalName: target}}}}\n      options: {retries: {retryOn: connect-failure, numRetries: 2}}\n---\napiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: other, namespace: gloo-system}\nspec:\n  virtualHost:\n    domains: ['*']\n    routes:\n    - name: elsewhere\n      matchers: [{prefix: /}]\n      routeAction: {single: {upstream: {name: acct2}, destinationSpec: {aws: {logicalName: target}}}}\n";
    let gw = gateway(&server, write(dir.path(), &format!("{GLOO_UPSTREAM}---\n{vs}"))).await;
    let host = ("host", "api.example.com");
    let a = send(
        &gw,
        "POST",
        "/api/orders?v=7",
        b"{\"k\":1}",
        &[host, ("x-tenant", "client"), ("x-internal", "secret")],
    )
    .await;
    assert_eq!((a.status, a.header("x-added")), (200, Some("yes")), "{:?}", a.headers);
    let event = a.json();
    assert_eq!(
        event["rawPath"], "/v1/orders",
        "the function is told the rewritten path"
    );
    assert_eq!(event["requestContext"]["http"]["path"], "/v1/orders");
    assert_eq!(event["headers"]["x-tenant"], "from-gateway", "replaced, not appended");
    assert!(event["headers"]["x-internal"].is_null(), "{event}");
    let other = send(
        &gw,
        "POST",
        "/api/orders?v=7",
        b"{\"k\":1}",
        &[("host", "elsewhere.example")],
    )
    .await;
    assert_eq!(
        (other.status, other.json()["k"].as_i64()),
        (200, Some(1)),
        "the * host's route, unwrapped"
    );
    assert!(other.header("x-added").is_none());
    for query in ["", "?v=x7", "?w=7"] {
        let a = send(&gw, "POST", &format!("/api/orders{query}"), b"{}", &[host]).await;
        assert_eq!((a.status, a.header(CLASS_HEADER)), (404, Some("no_route")), "{query}");
    }

    let invokes = server.stats().invokes;
    let origin = ("origin", "https://app.example.com");
    let pre = send(
        &gw,
        "OPTIONS",
        "/api/x?v=1",
        b"",
        &[host, origin, ("access-control-request-method", "POST")],
    )
    .await;
    assert_eq!((pre.status, pre.header(CLASS_HEADER)), (200, Some("cors_preflight")));
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(pre.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(pre.header("access-control-max-age"), Some("600"));
    let stranger = send(
        &gw,
        "OPTIONS",
        "/api/x?v=1",
        b"",
        &[
            host,
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
    )
    .await;
    assert_eq!(
        (stranger.status, stranger.header("access-control-allow-origin")),
        (200, None)
    );
    assert_eq!(server.stats().invokes, invokes, "a preflight invokes nothing");
    let a = send(&gw, "POST", "/api/x?v=1", b"{}", &[host, origin]).await;
    assert_eq!(a.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert_eq!(a.header("access-control-expose-headers"), Some("x-added"));

    // The test policy retries throttles; retryOn narrows it.
    let throttle = serde_json::json!({"function": "target", "error": "TooManyRequestsException", "times": 1});
    fault(&server, throttle.clone()).await;
    let a = send(&gw, "POST", "/retry-429", b"{}", &[host]).await;
    assert_eq!((a.status, a.header(ATTEMPTS_HEADER)), (200, Some("2")));
    fault(&server, throttle).await;
    let a = send(&gw, "POST", "/retry-connect", b"{}", &[host]).await;
    assert_eq!(
        (a.status, a.header(ATTEMPTS_HEADER)),
        (429, Some("1")),
        "a throttle is not a connect failure"
    );
    gw.shutdown().await;
    server.shutdown().await;
}

/// Gloo's guide's role Upstream has no external id: it loads, `--check` notes the trust
/// policy's choice, and the gateway invokes through the role when its trust asks for none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gloo_role_upstream_without_an_external_id_loads_and_serves() {
    let text = include_str!("../../src/local/builtin.toml").replace(
        ", Condition = { StringEquals = { \"sts:ExternalId\" = \"xinvoke-local-external-id\" } }",
        "",
    );
    assert_ne!(
        text,
        include_str!("../../src/local/builtin.toml"),
        "the trust's condition is gone"
    );
    let scenario = xinvoke::local::Scenario::from_toml_str(&text, Path::new("no-external-id.toml")).unwrap();
    let server = common::start_with(scenario).await;
    let dir = tempfile::tempdir().unwrap();
    let gloo = "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: aws-upstream, namespace: gloo-system}\nspec:\n  aws:\n    region: us-east-1\n    roleArn: arn:aws:iam::222222222222:role/xinvoke-invoke\n    lambdaFunctions: [{lambdaFunctionName: target, logicalName: target}]\n---\napiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  virtualHost:\n    routes:\n    - matchers: [{exact: /}]\n      routeAction: {single: {upstream: {name: aws-upstream}, destinationSpec: {aws: {logicalName: target}}}}\n";
    let path = write(dir.path(), gloo);
    let mut check = gateway_process(&server, &path, &[]);
    check.arg("--check");
    let out = run_briefly(check).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("without an external id") && text.contains("confused-deputy"),
        "{text}"
    );
    let before = server.stats().sts_assume_role;
    let gw = gateway(&server, path.clone()).await;
    let a = send(&gw, "POST", "/", br#"{"role":"no id"}"#, &[]).await;
    assert_eq!((a.status, a.json()["role"].as_str()), (200, Some("no id")));
    assert!(server.stats().sts_assume_role > before, "through the role");
    gw.shutdown().await;
    // The binary says it once, at start, as a WARN.
    let mut child = gateway_process(&server, &path, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.starts_with("listening on "), "{first:?}");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| {
            l["level"] == "WARN"
                && l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("without an external id"))
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert_eq!(warnings[0]["fields"]["upstream"], "aws-upstream");
    server.shutdown().await;
}

/// The public listener serves routes and nothing else: `/metrics`, `/healthz` and `/readyz`
/// are on the admin listener, where `/readyz` names the upstreams' roles; the public side
/// answers those paths as any path no route takes, with no account or ARN in sight.
#[tokio::test]
async fn operations_are_on_the_admin_listener_only() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), EXAMPLE)).await;
    assert_ne!(gw.url(), gw.admin_url());
    assert!(gw.admin_url().starts_with("http://127.0.0.1:"));
    for path in ["/metrics", "/healthz", "/readyz"] {
        let a = send(&gw, "GET", path, b"", &[]).await;
        let body = String::from_utf8_lossy(&a.body);
        assert_eq!((a.status, a.header(CLASS_HEADER)), (404, Some("no_route")), "{path}");
        assert!(
            !body.contains("222222222222") && !body.contains("arn:"),
            "{path}: {body}"
        );
    }
    assert_eq!(send(&gw, "POST", "/target", b"{}", &[]).await.status, 200);
    let health = admin(&gw, "/healthz").await;
    assert_eq!((health.status, health.json()["status"].as_str()), (200, Some("ok")));
    let ready = admin(&gw, "/readyz").await;
    let body = ready.json();
    assert_eq!((ready.status, body["ready"].as_bool()), (200, Some(true)), "{body}");
    assert_eq!(
        body["upstreams"]["account2-role"]["auth"],
        "role arn:aws:iam::222222222222:role/xinvoke-invoke"
    );
    assert_eq!(body["upstreams"]["account2"]["credentials"], "ok");
    let text = metrics(&gw).await;
    assert!(
        text.contains("xinvoke_gateway_requests_total{route=\"target\",class=\"ok\"} 1"),
        "the routes' request, not the public probes of /metrics: {text}"
    );
    assert_eq!(admin(&gw, "/target").await.status, 404, "no route on the admin side");
    gw.shutdown().await;
    server.shutdown().await;
}

/// `/readyz` is 503 until every discovering upstream has listed its account once, and says
/// which is not ready and why (the permission to grant, the role).
#[tokio::test]
async fn readiness_waits_for_discovery_and_names_what_is_missing() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&server, write(dir.path(), DISCOVERING)).await;
    discovery_result(&gw, "account2").await;
    let ready = admin(&gw, "/readyz").await;
    let body = ready.json();
    assert_eq!(ready.status, 503, "{body}");
    let why = body["not_ready"][0].as_str().unwrap_or_default();
    assert!(
        why.contains("account2") && why.contains("lambda:ListFunctions") && why.contains("role/xinvoke-invoke"),
        "{body}"
    );
    assert_eq!(admin(&gw, "/healthz").await.status, 200, "alive all the same");
    gw.shutdown().await;
    server.shutdown().await;
}

/// A file naming a role that cannot be assumed is refused by a reload as by a start: the
/// routes in service stay, the reload is counted failed and `/readyz` names the reason; a
/// file whose discovery is denied is refused the same way.
#[tokio::test]
async fn a_reload_runs_the_checks_of_a_start_before_it_swaps() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), EXAMPLE);
    let gw = gateway(&server, path.clone()).await;
    let bad_role = EXAMPLE
        .replace("role/xinvoke-invoke", "role/no-such-role")
        .replace("exact: /target\n", "exact: /moved\n");
    std::fs::write(&path, &bad_role).unwrap();
    // What a start says of that file.
    let start = GatewayServer::start_with(
        path.clone(),
        "127.0.0.1:0".parse().unwrap(),
        Options {
            base: Some(common::base(&server, common::source_credentials(), Timeouts::default()).await),
            ..Options::default()
        },
    )
    .await;
    let started = match start {
        Ok(_) => panic!("a start takes a role that cannot be assumed"),
        Err(e) => e.to_string(),
    };
    let e = gw.reload().await.unwrap_err().to_string();
    assert!(e.contains("no-such-role") && e.contains("AssumeRole"), "{e}");
    assert_eq!(e, started, "the reload says what the start says");
    assert_eq!(
        send(&gw, "POST", "/target", b"{}", &[]).await.status,
        200,
        "the routes stay"
    );
    assert_eq!(send(&gw, "POST", "/moved", b"{}", &[]).await.status, 404);
    let ready = admin(&gw, "/readyz").await.json();
    assert!(
        ready["last_reload_error"]
            .as_str()
            .is_some_and(|r| r.contains("no-such-role")),
        "{ready}"
    );
    assert!(metrics(&gw)
        .await
        .contains("xinvoke_gateway_config_reloads_total{result=\"failed\"} 1"));

    let listing = "upstreams:\n  - name: listing\n    region: us-east-1\n    roleArn: arn:aws:iam::222222222222:role/xinvoke-invoke\n    externalId: xinvoke-local-external-id\n    discovery: {refresh: 10s, routePrefix: /fn}\n";
    std::fs::write(&path, EXAMPLE.replacen("upstreams:\n", listing, 1)).unwrap();
    let e = gw.reload().await.unwrap_err().to_string();
    assert!(e.contains("discovery") && e.contains("lambda:ListFunctions"), "{e}");
    assert!(metrics(&gw)
        .await
        .contains("xinvoke_gateway_config_reloads_total{result=\"failed\"} 2"));
    std::fs::write(&path, EXAMPLE.replace("exact: /target\n", "exact: /moved\n")).unwrap();
    gw.reload().await.expect("a good file reloads");
    assert_eq!(send(&gw, "POST", "/moved", b"{}", &[]).await.status, 200);
    assert!(admin(&gw, "/readyz").await.json()["last_reload_error"].is_null());
    gw.shutdown().await;
    server.shutdown().await;
}

/// SIGHUP on the real binary with a file naming a role that cannot be assumed: the reload is
/// refused, the routes stay, `/readyz` and `/metrics` on the admin listener say so. The file's
/// modification time is put back, so only the signal can have reloaded it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_bad_file_keeps_the_routes_and_says_why() {
    use std::io::{BufRead, BufReader};
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), EXAMPLE);
    let reference = dir.path().join("reference");
    std::fs::copy(&path, &reference).unwrap();
    assert!(std::process::Command::new("touch")
        .arg("-r")
        .arg(&path)
        .arg(&reference)
        .status()
        .unwrap()
        .success());
    let mut child = gateway_process(&server, &path, &[("XINVOKE_RETRY", &common::fast_retry(1))])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut first, mut second) = (String::new(), String::new());
    out.read_line(&mut first).unwrap();
    out.read_line(&mut second).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("the first line")
        .to_string();
    let admin_url = second
        .trim()
        .strip_prefix("admin on ")
        .expect("the second line")
        .to_string();
    assert_eq!(send_to(&url, "POST", "/target", b"{}", &[]).await.status, 200);
    std::fs::write(&path, EXAMPLE.replace("role/xinvoke-invoke", "role/no-such-role")).unwrap();
    assert!(std::process::Command::new("touch")
        .arg("-r")
        .arg(&reference)
        .arg(&path)
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        send_to(&admin_url, "GET", "/readyz", b"", &[]).await.json()["last_reload_error"].is_null(),
        "the file watch saw no change"
    );
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let mut ready = serde_json::Value::Null;
    for _ in 0..100 {
        ready = send_to(&admin_url, "GET", "/readyz", b"", &[]).await.json();
        if !ready["last_reload_error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reason = ready["last_reload_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("no-such-role") && reason.contains("AssumeRole"),
        "{ready}"
    );
    let text = String::from_utf8(send_to(&admin_url, "GET", "/metrics", b"", &[]).await.body).unwrap();
    assert!(
        text.contains("xinvoke_gateway_config_reloads_total{result=\"failed\"} 1"),
        "{text}"
    );
    assert_eq!(
        send_to(&url, "POST", "/target-role", b"{}", &[]).await.status,
        200,
        "the old role still serves"
    );
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    server.shutdown().await;
}

/// A proxy in front of the local endpoint: the listing calls (ListFunctions, ListAliases) it
/// picks are answered with Lambda's throttle (429 `TooManyRequestsException`, botocore's
/// `x-amzn-ErrorType`), everything else passes unchanged, its `Host` too, so SigV4 verifies.
struct ThrottlingProxy {
    upstream: String,
    /// Listing calls seen and throttled.
    seen: std::sync::atomic::AtomicUsize,
    throttled: std::sync::atomic::AtomicUsize,
    throttle: fn(usize) -> bool,
    /// Answer ListAliases as Lambda answers a caller without `lambda:ListAliases`.
    deny_aliases: std::sync::atomic::AtomicBool,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>,
}

impl ThrottlingProxy {
    async fn handle(
        &self,
        _peer: std::net::SocketAddr,
        req: axum::http::Request<hyper::body::Incoming>,
    ) -> axum::http::Response<axum::body::Body> {
        use std::sync::atomic::Ordering;
        let listing = req.method() == "GET"
            && (req.uri().path() == "/2015-03-31/functions"
                || req.uri().path() == "/2015-03-31/functions/"
                || req.uri().path().ends_with("/aliases"));
        if req.uri().path().ends_with("/aliases") && self.deny_aliases.load(Ordering::SeqCst) {
            return axum::http::Response::builder()
                .status(403)
                .header("x-amzn-ErrorType", "AccessDeniedException")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    r#"{"Message":"not authorized to perform: lambda:ListAliases"}"#,
                ))
                .unwrap();
        }
        if listing && (self.throttle)(self.seen.fetch_add(1, Ordering::SeqCst)) {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            return axum::http::Response::builder()
                .status(429)
                .header("x-amzn-ErrorType", "TooManyRequestsException")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    r#"{"Reason":"CallerRateLimitExceeded","Type":"User","message":"Rate exceeded"}"#,
                ))
                .unwrap();
        }
        let (mut parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        parts.uri = format!(
            "{}{}",
            self.upstream,
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        )
        .parse()
        .unwrap();
        let resp = self
            .client
            .request(axum::http::Request::from_parts(parts, Full::new(body)))
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        axum::http::Response::from_parts(parts, axum::body::Body::from(body))
    }

    /// Serve on a loopback port (plain hyper, HTTP/1.1) until the test ends: the URL.
    async fn serve(self: Arc<Self>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let proxy = Arc::clone(&self);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let proxy = Arc::clone(&proxy);
                        async move { Ok::<_, std::convert::Infallible>(proxy.handle(peer, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        format!("http://{addr}")
    }
}

/// A large account listed in pages through its role: 120 more functions (three ListFunctions
/// pages of at most 50), their aliases listed while the proxy throttles pages, every function
/// routed with the discovery block's options; then `maxFunctions` caps the listing and says
/// so; then a role without `lambda:ListAliases` is named with the permission, and the routes
/// found before stay in service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_pages_a_large_account_through_throttles_and_keeps_its_routes_when_denied() {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering;
    let mut text = include_str!("../../src/local/builtin.toml").replace(
        "  { Effect = \"Allow\", Action = \"lambda:InvokeFunction\", Resource = [",
        "  { Effect = \"Allow\", Action = \"lambda:ListFunctions\", Resource = \"*\" },\n  { Effect = \"Allow\", Action = \"lambda:ListAliases\", Resource = \"arn:aws:lambda:us-east-1:222222222222:function:*\" },\n  { Effect = \"Allow\", Action = \"lambda:InvokeFunction\", Resource = [\"arn:aws:lambda:us-east-1:222222222222:function:fn-*\"] },\n  { Effect = \"Allow\", Action = \"lambda:InvokeFunction\", Resource = [",
    );
    for i in 0..120 {
        let _ = write!(
            text,
            "\n[[accounts.functions]]\nname = \"fn-{i:03}\"\nversions = [\"1\"]\nbehaviour = \"builtin\"\n"
        );
    }
    let scenario = xinvoke::local::Scenario::from_toml_str(&text, Path::new("large.toml")).unwrap();
    let server = common::start_with(scenario).await;
    let proxy = Arc::new(ThrottlingProxy {
        upstream: server.url(),
        seen: Default::default(),
        throttled: Default::default(),
        // The first two calls, then every seventh: pages of both calls, some twice in a row.
        throttle: |n| n < 2 || n % 7 == 0,
        deny_aliases: Default::default(),
        client: Client::builder(TokioExecutor::new()).build_http(),
    });
    let proxy_url = Arc::clone(&proxy).serve().await;
    let base = xinvoke::endpoint_config(
        Timeouts::default(),
        proxy_url,
        common::source_credentials(),
        builtin::REGION,
    )
    .await;
    let retry = common::fast_retry(2);
    let options = |base: &aws_config::SdkConfig| Options {
        base: Some(base.clone()),
        env: Arc::new({
            let retry = retry.clone();
            move |k: &str| (k == "XINVOKE_RETRY").then(|| retry.clone())
        }),
        ..Options::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = DISCOVERING.replace(
        "discovery: {refresh: 10s, routePrefix: /fn}",
        "discovery: {refresh: 10s, routePrefix: /fn, wrapAsApiGateway: true, timeout: 5s}",
    );
    let path = write(dir.path(), &config);
    let gw = GatewayServer::start_with(path.clone(), "127.0.0.1:0".parse().unwrap(), options(&base))
        .await
        .expect("the gateway starts");
    let found = discovery_result(&gw, "account2").await;
    assert_eq!(
        found["found"].as_u64(),
        Some(122),
        "target, target:live and 120 more: {found}"
    );
    assert!(proxy.throttled.load(Ordering::SeqCst) >= 10, "pages were throttled");
    assert!(
        proxy.seen.load(Ordering::SeqCst) >= 3 + 121,
        "every page, some more than once"
    );
    let a = send(&gw, "POST", "/fn/fn-119", br#"{"last":true}"#, &[]).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["version"], "2.0", "the discovery block's options: wrapped");
    assert_eq!(admin(&gw, "/readyz").await.status, 200);
    gw.shutdown().await;

    // A limit below the account's size: the listing stops there and says so.
    std::fs::write(&path, config.replace("timeout: 5s}", "timeout: 5s, maxFunctions: 30}")).unwrap();
    let gw = GatewayServer::start_with(path.clone(), "127.0.0.1:0".parse().unwrap(), options(&base))
        .await
        .unwrap();
    let found = discovery_result(&gw, "account2").await;
    assert_eq!(found["capped_at_max_functions"].as_u64(), Some(30), "{found}");
    assert!(
        found["found"].as_u64().is_some_and(|n| (30..=31).contains(&n)),
        "{found}"
    );
    gw.shutdown().await;

    // ListAliases denied from now on: the reload is refused naming it, the routes stay.
    std::fs::write(&path, &config).unwrap();
    let gw = GatewayServer::start_with(path.clone(), "127.0.0.1:0".parse().unwrap(), options(&base))
        .await
        .unwrap();
    discovery_result(&gw, "account2").await;
    proxy.deny_aliases.store(true, Ordering::SeqCst);
    let e = gw.reload().await.unwrap_err().to_string();
    assert!(
        e.contains("lambda:ListAliases") && e.contains("role/xinvoke-invoke"),
        "{e}"
    );
    assert_eq!(
        send(&gw, "POST", "/fn/target/live", b"{}", &[]).await.status,
        200,
        "the routes found before stay"
    );
    assert!(admin(&gw, "/readyz").await.json()["last_reload_error"]
        .as_str()
        .is_some_and(|e| e.contains("ListAliases")));
    gw.shutdown().await;

    // A role whose policy does not allow lambda:ListAliases: not ready, and why.
    let denied = text.replace(
        "  { Effect = \"Allow\", Action = \"lambda:ListAliases\", Resource = \"arn:aws:lambda:us-east-1:222222222222:function:*\" },\n",
        "",
    );
    assert_ne!(denied, text);
    let strict =
        common::start_with(xinvoke::local::Scenario::from_toml_str(&denied, Path::new("denied.toml")).unwrap()).await;
    let base = common::base(&strict, common::source_credentials(), Timeouts::default()).await;
    let gw = GatewayServer::start_with(path.clone(), "127.0.0.1:0".parse().unwrap(), options(&base))
        .await
        .unwrap();
    let found = discovery_result(&gw, "account2").await;
    assert!(
        found["error"]
            .as_str()
            .is_some_and(|e| e.contains("lambda:ListAliases on arn:aws:lambda:us-east-1:222222222222:function:")),
        "{found}"
    );
    let ready = admin(&gw, "/readyz").await;
    assert_eq!(ready.status, 503);
    gw.shutdown().await;
    strict.shutdown().await;
    server.shutdown().await;
}
