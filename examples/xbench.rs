//! Baselines for `scripts/bench.sh`, each printing one JSON line:
//!
//! - `sdk ENDPOINT CONCURRENCY REQUESTS`: a bare aws-sdk-lambda loop (no classification, no
//!   retries, no records) against a local endpoint, as a user writes it: `aws_config::defaults`
//!   and the SDK's own HTTP client, so it needs `--features sdk-defaults`;
//! - `raw ENDPOINT CONCURRENCY REQUESTS`: unsigned POSTs over a pooled hyper client (the local
//!   account 2 refuses them with 403 at once): raw HTTP, the floor of any client;
//! - `core ITERATIONS`: the core's work per invoke on top of the call itself: classification,
//!   the retry decision, the attempt log, the load record and the statistics;
//! - `local ITERATIONS`: the local endpoint's own work per Invoke, in process, without the
//!   network: the handler (SigV4 verification, policy, the invoke) and SigV4 alone;
//! - `null`: an endpoint that does nothing: it answers every request with the same Invoke 200
//!   (the headers and body a successful invoke has) and is served the way the local endpoint
//!   is (tokio's worker threads, hyper's HTTP/1.1 connections, `TCP_NODELAY`). It prints
//!   `listening on http://HOST:PORT` and serves until killed. Its CPU per request is what HTTP
//!   over loopback costs any server on this machine, the floor under the local endpoint's;
//! - `init BINARY RUNS`: spawn a Lambda bootstrap against a minimal Runtime API stub and time it
//!   from spawn to its first `GET /2018-06-01/runtime/invocation/next`, with its RSS then. The
//!   bootstrap gets Lambda's variables, `PATH` and the arguments' `KEY=VALUE`s, nothing of this
//!   shell's environment (a `SSL_CERT_FILE` set here would make it read certificate files that
//!   Lambda does not point it at);
//! - `warm BINARY EVENTS [KEY=VALUE...]`: the same stub serving a bootstrap one direct event
//!   (`{"payload":{}}`) at a time, as Lambda does a warm sandbox: after 10% of the events (at
//!   least 200) to warm up, the bootstrap's own CPU (user + system, all its threads, from
//!   `/proc/<pid>/stat`) per event, its wall time per event and its RSS at the end. Its stdout
//!   and stderr are read through pipes, as Lambda reads a function's logs. For the invoker
//!   pointed at the local endpoint this is its CPU per warm invoke; the target runs in the
//!   endpoint's process, so its time is not counted.
//!
//! CPU is this process's user + system time from `/proc/self/stat`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xinvoke::core::classify::{RawOutcome, ServiceError};
use xinvoke::core::invocation::{Attempter, InvokeRequest};
use xinvoke::core::retry::{RetryBudget, RetryPolicy};
use xinvoke::core::InvocationType;
use xinvoke::invoke::runner::Runner;
use xinvoke::load::record::{LoadRecord, PhaseInfo};
use xinvoke::load::stats::Metrics;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:222222222222:function:target:live";

fn usage() -> ! {
    eprintln!(
        "usage: xbench sdk|raw ENDPOINT CONCURRENCY REQUESTS | core ITERATIONS | local ITERATIONS | null | init BINARY RUNS [K=V...] | warm BINARY EVENTS [K=V...]"
    );
    std::process::exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

/// This process's CPU time (user + system) so far.
fn cpu() -> Duration {
    cpu_of("self")
}

/// A process's context switches so far (voluntary and not, all its threads): each time one of
/// its threads blocked or was preempted.
fn switches_of(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
                .collect::<Vec<_>>()
        })
        .sum()
}

/// A process's CPU time (user + system, all its threads) so far; `pid` is a number or `self`.
fn cpu_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
    // After the command name: state (field 3), ... utime (14), stime (15); some fields can be -1.
    let field = |n: usize| {
        after
            .split_whitespace()
            .nth(n - 3)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((field(14) + field(15)) * 1000 / clock_ticks())
}

/// Clock ticks a second (`getconf CLK_TCK`, asked once), 100 on Linux.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args.get(1).map(String::as_str) {
        Some("sdk") => rt.block_on(closed_loop("sdk", &args, sdk_call)),
        Some("raw") => rt.block_on(closed_loop("raw", &args, raw_call)),
        Some("core") => core(arg(&args, 2)),
        Some("local") => rt.block_on(local(arg(&args, 2))),
        Some("null") => rt.block_on(null()),
        Some("init") => rt.block_on(init(&args[2..])),
        Some("warm") => rt.block_on(warm(&args[2..])),
        _ => usage(),
    }
}

#[allow(clippy::large_enum_variant)] // one, leaked for the run
enum Caller {
    Sdk(aws_sdk_lambda::Client),
    Raw(
        hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            http_body_util::Full<bytes::Bytes>,
        >,
        String,
    ),
}

async fn sdk_call(c: &Caller) -> bool {
    let Caller::Sdk(client) = c else { return false };
    client
        .invoke()
        .function_name(FUNCTION)
        .payload(aws_sdk_lambda::primitives::Blob::new(&b"{}"[..]))
        .send()
        .await
        .is_ok()
}

async fn raw_call(c: &Caller) -> bool {
    use http_body_util::BodyExt;
    let Caller::Raw(client, uri) = c else { return false };
    let req = http::Request::post(uri.as_str())
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
        .expect("request");
    match client.request(req).await {
        Ok(resp) => resp.into_body().collect().await.is_ok(),
        Err(_) => false,
    }
}

async fn closed_loop<F, Fut>(kind: &str, args: &[String], call: F)
where
    F: Fn(&'static Caller) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let endpoint: String = arg(args, 2);
    let concurrency: u64 = arg(args, 3);
    let requests: u64 = arg(args, 4);
    let caller: &'static Caller = Box::leak(Box::new(match kind {
        "sdk" => {
            let creds = aws_credential_types::Credentials::new(
                xinvoke::local::builtin::SOURCE_ACCESS_KEY,
                xinvoke::local::builtin::SOURCE_SECRET_KEY,
                Some(xinvoke::local::builtin::SOURCE_SESSION_TOKEN.to_string()),
                None,
                "xbench",
            );
            if !cfg!(feature = "sdk-defaults") {
                eprintln!("xbench sdk measures the SDK as users build it: build with --features sdk-defaults");
                std::process::exit(2);
            }
            let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .credentials_provider(creds)
                .endpoint_url(&endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .load()
                .await;
            Caller::Sdk(aws_sdk_lambda::Client::new(&conf))
        }
        _ => {
            let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(hyper_util::client::legacy::connect::HttpConnector::new());
            let uri = format!(
                "{endpoint}/2015-03-31/functions/{}/invocations",
                FUNCTION.replace(':', "%3A")
            );
            Caller::Raw(client, uri)
        }
    }));
    // Warm up: connections, credentials, lazy state.
    for _ in 0..concurrency.min(64) {
        call(caller).await;
    }
    let next = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu();
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (next, ok) = (Arc::clone(&next), Arc::clone(&ok));
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                if call(caller).await {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let wall = t0.elapsed();
    let cpu_used = cpu() - cpu0;
    println!(
        "{{\"kind\":\"{kind}\",\"concurrency\":{concurrency},\"requests\":{requests},\"ok\":{},\"seconds\":{:.3},\"rate\":{:.1},\"cpu_us_per_invoke\":{:.1}}}",
        ok.load(Ordering::Relaxed),
        wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64(),
        cpu_used.as_secs_f64() * 1e6 / requests as f64
    );
}

/// Serve a fixed Invoke 200 on a free loopback port until killed.
async fn null() {
    use hyper::server::conn::http1;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("address"));
    let answer = |_req: http::Request<hyper::body::Incoming>| async {
        let mut resp = http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")));
        let h = resp.headers_mut();
        h.insert("content-type", http::HeaderValue::from_static("application/json"));
        h.insert("x-amz-executed-version", http::HeaderValue::from_static("1"));
        h.insert(
            "x-amzn-requestid",
            http::HeaderValue::from_static("00000000-0000-4000-8000-000000000000"),
        );
        Ok::<_, std::convert::Infallible>(resp)
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = http1::Builder::new()
                .serve_connection(io, hyper::service::service_fn(answer))
                .await;
        });
    }
}

/// Answers at once from a fixed outcome: what is left is the core's own work.
struct Canned(RawOutcome);

impl Attempter for Canned {
    async fn attempt(&self, _req: &InvokeRequest) -> RawOutcome {
        self.0.clone()
    }
}

/// The local endpoint's handler and its SigV4 check on one signed Invoke, `iterations` times.
async fn local(iterations: u32) {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use http::{HeaderMap, HeaderName, HeaderValue};
    use xinvoke::local::lambda_api::handle;
    use xinvoke::local::sigv4::ReceivedRequest;
    use xinvoke::local::{builtin, world::World, Scenario};
    let world = Arc::new(World::new(Scenario::builtin()));
    let uri =
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A222222222222%3Afunction%3Atarget%3Alive/invocations";
    let body = br#"{"hello":"world"}"#;
    let identity = aws_credential_types::Credentials::new(
        builtin::SOURCE_ACCESS_KEY,
        builtin::SOURCE_SECRET_KEY,
        Some(builtin::SOURCE_SESSION_TOKEN.to_string()),
        None,
        "xbench",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(builtin::REGION)
        .name("lambda")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let headers = [("host", "127.0.0.1:4590")];
    let signable =
        SignableRequest::new("POST", uri, headers.iter().copied(), SignableBody::Bytes(body)).expect("signable");
    let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
    let mut signed = HeaderMap::new();
    for (k, v) in headers.iter().copied().chain(instructions.headers()) {
        signed.append(
            HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    let (cpu0, t0) = (cpu(), Instant::now());
    for _ in 0..iterations {
        let req = ReceivedRequest {
            method: "POST",
            raw_path: uri,
            raw_query: "",
            headers: &signed,
            body: bytes::Bytes::from_static(body),
        };
        let status = handle(Arc::clone(&world), req).await.status();
        assert_eq!(status, 200, "the local endpoint refused a correctly signed invoke");
    }
    let (handler_cpu, handler_wall) = (cpu() - cpu0, t0.elapsed());
    let cpu1 = cpu();
    for _ in 0..iterations {
        let req = ReceivedRequest {
            method: "POST",
            raw_path: uri,
            raw_query: "",
            headers: &signed,
            body: bytes::Bytes::from_static(body),
        };
        world.authenticate(&req, "lambda").expect("the signature verifies");
    }
    let sigv4_cpu = cpu() - cpu1;
    let ns = |d: Duration| d.as_nanos() as f64 / f64::from(iterations);
    println!(
        "{{\"kind\":\"local\",\"iterations\":{iterations},\"handler_ns\":{:.0},\"handler_wall_ns\":{:.0},\"sigv4_ns\":{:.0}}}",
        ns(handler_cpu),
        ns(handler_wall),
        ns(sigv4_cpu)
    );
}

fn core(iterations: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let req = InvokeRequest {
        target: "target".into(),
        function: FUNCTION.parse().expect("arn"),
        invocation_type: InvocationType::RequestResponse,
        payload: b"{}".to_vec(),
        client_context: None,
        trace_id: None,
        durable_execution_name: None,
        tenant_id: None,
    };
    let cases = [
        (
            "ok",
            RawOutcome::Answered {
                status: 200,
                function_error: None,
                executed_version: Some("1".into()),
                durable_execution_arn: None,
                payload: b"{}".to_vec(),
            },
        ),
        (
            "not_found",
            RawOutcome::Failed(ServiceError {
                status: 404,
                code: "ResourceNotFoundException".into(),
                message: Some("Function not found".into()),
                ..ServiceError::default()
            }),
        ),
    ];
    let mut out = Vec::new();
    for (name, raw) in cases {
        let runner = Runner::new(RetryPolicy::default(), Arc::new(RetryBudget::new(500)));
        let canned = Canned(raw);
        let mut metrics = Metrics::new();
        metrics.add(&LoadRecord::phase_start(0, PhaseInfo::default()));
        let run = |n: u64, metrics: &mut Metrics| {
            rt.block_on(async {
                for seq in 0..n {
                    let record = runner.run(&canned, &req, None).await;
                    let at = Duration::from_micros(seq);
                    for r in LoadRecord::from_invoke(0, seq, at, at, at + Duration::from_micros(500), &record) {
                        metrics.add(&r);
                    }
                }
            })
        };
        run(iterations / 10, &mut metrics);
        let t0 = Instant::now();
        run(iterations, &mut metrics);
        let ns = t0.elapsed().as_nanos() as f64 / iterations as f64;
        out.push(format!("\"{name}_ns\":{ns:.0}"));
    }
    println!("{{\"kind\":\"core\",\"iterations\":{iterations},{}}}", out.join(","));
}

/// A Runtime API stub: answers nothing, notes when `/next` is first asked for.
async fn init(args: &[String]) {
    use tokio::io::AsyncReadExt;
    let binary = args.first().unwrap_or_else(|| usage()).clone();
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let extra_env: Vec<(String, String)> = args[2..]
        .iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let t0 = Instant::now();
        let mut child = std::process::Command::new(&binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the bootstrap");
        let pid = child.id();
        let asked = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let (mut sock, _) = listener.accept().await.ok()?;
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.ok()?;
                if String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next") {
                    return Some(sock);
                }
            }
        })
        .await
        .ok()
        .flatten();
        let elapsed = t0.elapsed();
        if asked.is_none() {
            eprintln!("{binary} never asked for /next");
            let _ = child.kill();
            let _ = child.wait();
            continue;
        }
        // Let it settle while it waits for the event.
        tokio::time::sleep(Duration::from_millis(50)).await;
        rss.push(rss_kb(pid));
        times.push(elapsed);
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort();
    rss.sort();
    let median = |v: &[Duration]| v.get(v.len() / 2).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN);
    println!(
        "{{\"kind\":\"init\",\"binary\":\"{binary}\",\"runs\":{},\"init_ms_median\":{:.2},\"init_ms_min\":{:.2},\"rss_kb_median\":{}}}",
        times.len(),
        median(&times),
        times.first().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN),
        rss.get(rss.len() / 2).copied().unwrap_or(0)
    );
}

/// The Runtime API's side of [`warm`]: events handed out one per permit, answers counted.
struct Stub {
    permits: tokio::sync::Semaphore,
    answers: tokio::sync::mpsc::UnboundedSender<bool>,
    served: AtomicU64,
}

async fn stub_route(
    stub: Arc<Stub>,
    req: http::Request<hyper::body::Incoming>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    use http_body_util::BodyExt;
    let path = req.uri().path().to_string();
    let ok = path.ends_with("/response");
    let _ = req.into_body().collect().await;
    let full = |b: &'static [u8]| http_body_util::Full::new(bytes::Bytes::from_static(b));
    if path == "/2018-06-01/runtime/invocation/next" {
        match stub.permits.acquire().await {
            Ok(p) => p.forget(),
            Err(_) => return http::Response::new(full(b"")),
        }
        let n = stub.served.fetch_add(1, Ordering::Relaxed);
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64 + 60_000)
            .unwrap_or(0);
        let mut resp = http::Response::new(full(br#"{"payload":{}}"#));
        let h = resp.headers_mut();
        h.insert("content-type", http::HeaderValue::from_static("application/json"));
        h.insert(
            "lambda-runtime-aws-request-id",
            http::HeaderValue::from_str(&format!("{n:08x}-aaaa-4bbb-8ccc-dddddddddddd")).expect("id"),
        );
        h.insert("lambda-runtime-deadline-ms", http::HeaderValue::from(deadline));
        h.insert(
            "lambda-runtime-invoked-function-arn",
            http::HeaderValue::from_static("arn:aws:lambda:us-east-1:111111111111:function:xinvoke-invoker"),
        );
        h.insert(
            "lambda-runtime-trace-id",
            http::HeaderValue::from_static(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            ),
        );
        return resp;
    }
    if path.starts_with("/2018-06-01/runtime/invocation/") {
        let _ = stub.answers.send(ok);
    }
    let mut resp = http::Response::new(full(br#"{"status":"OK"}"#));
    *resp.status_mut() = http::StatusCode::ACCEPTED;
    resp
}

/// Let `n` more events out and wait for their answers; how many were `/response` (not `/error`),
/// or `None` if the bootstrap stopped answering.
async fn serve_events(stub: &Stub, answers: &mut tokio::sync::mpsc::UnboundedReceiver<bool>, n: u64) -> Option<u64> {
    stub.permits.add_permits(n as usize);
    let mut ok = 0;
    for _ in 0..n {
        match tokio::time::timeout(Duration::from_secs(30), answers.recv()).await {
            Ok(Some(good)) => ok += u64::from(good),
            _ => return None,
        }
    }
    Some(ok)
}

/// A bootstrap's CPU, wall time and RSS per warm event (see the module's doc).
async fn warm(args: &[String]) {
    use hyper::server::conn::http1;
    use std::io::Read;
    let binary = args.first().unwrap_or_else(|| usage()).clone();
    let events: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| usage());
    let extra_env: Vec<(String, String)> = args[2..]
        .iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let warmup = (events / 10).max(200);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let stub = Arc::new(Stub {
        permits: tokio::sync::Semaphore::new(0),
        answers: tx,
        served: AtomicU64::new(0),
    });
    let serving = Arc::clone(&stub);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let stub = Arc::clone(&serving);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let stub = Arc::clone(&stub);
                    async move { Ok::<_, std::convert::Infallible>(stub_route(stub, req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let mut child = std::process::Command::new(&binary)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the bootstrap");
    let pid = child.id().to_string();
    // Read its logs as Lambda does, counting the bytes.
    let log_bytes = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for mut pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let log_bytes = Arc::clone(&log_bytes);
        readers.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                log_bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
        }));
    }
    let warmed = serve_events(&stub, &mut answers, warmup).await;
    let (cpu0, t0, bytes0, switches0) = (
        cpu_of(&pid),
        Instant::now(),
        log_bytes.load(Ordering::Relaxed),
        switches_of(&pid),
    );
    let measured = match warmed {
        Some(_) => serve_events(&stub, &mut answers, events).await,
        None => None,
    };
    let (cpu1, wall, switches1) = (cpu_of(&pid), t0.elapsed(), switches_of(&pid));
    let rss = rss_kb(child.id());
    let bytes = log_bytes.load(Ordering::Relaxed) - bytes0;
    let _ = child.kill();
    let _ = child.wait();
    for r in readers {
        let _ = r.join();
    }
    let Some(ok) = measured else {
        eprintln!("{binary} stopped answering events");
        std::process::exit(1);
    };
    let per = |d: Duration| d.as_secs_f64() * 1e6 / events as f64;
    println!(
        "{{\"kind\":\"warm\",\"binary\":\"{binary}\",\"events\":{events},\"ok\":{},\"cpu_us_per_event\":{:.1},\"wall_us_per_event\":{:.1},\"rss_kb\":{rss},\"log_bytes_per_event\":{:.0},\"context_switches_per_event\":{:.2}}}",
        ok,
        per(cpu1 - cpu0),
        per(wall),
        bytes as f64 / events as f64,
        switches1.saturating_sub(switches0) as f64 / events as f64
    );
}
