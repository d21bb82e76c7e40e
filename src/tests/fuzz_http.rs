//! Bounded fuzzing (proptest) of the local endpoint's request parsing over real HTTP: random
//! methods, paths, query strings, headers, bodies and Authorization headers with mutated SigV4
//! fields. The endpoint answers every request (no panic, no dropped connection), never lets
//! one through (nothing is validly signed), never fails internally (no 5xx), and every refusal
//! carries AWS's error type and a message. Kept requests in `tests/corpus/http.txt` replay first.

use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestRunner};
use std::sync::atomic::{AtomicU64, Ordering};
use xinvoke::local::{builtin, LocalServer, Scenario};

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn function_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("target".to_string()),
        Just("target%3Alive".to_string()),
        Just("arn%3Aaws%3Alambda%3Aus-east-1%3A222222222222%3Afunction%3Atarget".to_string()),
        Just("222222222222%3Afunction%3Atarget%3A%24LATEST".to_string()),
        Just("..".to_string()),
        Just("%00".to_string()),
        Just("%".to_string()),
        "[ -~]{0,70}".prop_map(|s| encode(&s)),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        function_name().prop_map(|f| format!("/2015-03-31/functions/{f}/invocations")),
        function_name().prop_map(|f| format!("/2015-03-31/functions/{f}/configuration")),
        function_name().prop_map(|f| format!("/2015-03-31/functions/{f}/policy")),
        (function_name(), function_name()).prop_map(|(f, a)| format!("/2015-03-31/functions/{f}/aliases/{a}")),
        function_name().prop_map(|f| format!("/2015-03-31/functions/{f}")),
        Just("/".to_string()),
        "[ -~]{0,40}".prop_map(|s| format!("/{}", encode(&s))),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,20}".prop_map(|q| format!("Qualifier={}", encode(&q))),
        Just("Action=AssumeRole&Version=2011-06-15".to_string()),
        Just("Action=GetCallerIdentity".to_string()),
        ("[a-zA-Z]{1,8}", "[ -~]{0,12}").prop_map(|(k, v)| format!("{k}={}&{k}", encode(&v))),
    ]
}

/// An Authorization header with each SigV4 field valid, mutated or missing.
fn authorization() -> impl Strategy<Value = String> {
    let akid = prop_oneof![
        Just(builtin::SOURCE_ACCESS_KEY.to_string()),
        Just(builtin::ADMIN_ACCESS_KEY.to_string()),
        Just("ASIAXINVOKE000000000".to_string()),
        "[A-Z0-9]{0,24}",
    ];
    let date = prop_oneof![Just("20261123".to_string()), "[0-9]{0,9}"];
    let region = prop_oneof![Just("us-east-1".to_string()), "[a-z0-9-]{0,12}"];
    let service = prop_oneof![Just("lambda".to_string()), Just("sts".to_string()), "[a-z]{0,8}"];
    let signed = prop_oneof![
        Just("host;x-amz-date".to_string()),
        Just(String::new()),
        "[a-z;-]{0,30}"
    ];
    let sig = prop_oneof!["[0-9a-f]{64}", "[ -~]{0,70}"];
    prop_oneof![
        (akid, date, region, service, signed, sig).prop_map(|(a, d, r, s, h, g)| format!(
            "AWS4-HMAC-SHA256 Credential={a}/{d}/{r}/{s}/aws4_request, SignedHeaders={h}, Signature={g}"
        )),
        "[ -~]{0,120}",
        Just("AWS4-HMAC-SHA256".to_string()),
        Just("AWS4-HMAC-SHA256 Credential=/, SignedHeaders=, Signature=".to_string()),
        Just("AWS4-HMAC-SHA256 Credential=AKIAXINVOKESOURCE001/20261123/us-east-1/lambda/aws4_request".to_string()),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let one = prop_oneof![
        authorization().prop_map(|v| ("authorization".to_string(), v)),
        prop_oneof![Just("20261123T120000Z".to_string()), "[ -~]{0,20}"].prop_map(|v| ("x-amz-date".to_string(), v)),
        "[ -~]{0,30}".prop_map(|v| ("x-amz-invocation-type".to_string(), v)),
        "[ -~]{0,30}".prop_map(|v| ("x-amz-client-context".to_string(), v)),
        "[ -~]{0,30}".prop_map(|v| ("x-amz-log-type".to_string(), v)),
        "[ -~]{0,64}".prop_map(|v| ("x-amz-content-sha256".to_string(), v)),
        "IQoJ[ -~]{0,40}".prop_map(|v| ("x-amz-security-token".to_string(), v)),
        "[ -~]{0,30}".prop_map(|v| ("content-type".to_string(), v)),
        ("x-[a-z]{1,10}", "[ -~]{0,30}"),
    ];
    prop::collection::vec(one, 0..6)
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop_oneof![
            Just("GET"),
            Just("POST"),
            Just("PUT"),
            Just("DELETE"),
            Just("PATCH"),
            Just("OPTIONS")
        ],
        path(),
        query(),
        headers(),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            Just(b"{}".to_vec()),
            Just(b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fxinvoke-invoke&RoleSessionName=s".to_vec()),
        ],
    )
        .prop_map(|(m, path, query, headers, body)| Req {
            method: m.to_string(),
            path,
            query,
            headers,
            body,
        })
        .prop_filter("the control API is unsigned on purpose", |r| !r.path.starts_with("/_local"))
}

/// `cases` cases from a fixed seed, so CI runs are reproducible; `PROPTEST_CASES` and
/// `PROPTEST_RNG_SEED` override both to explore further.
fn config(cases: u32) -> Config {
    let default = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            default.cases
        } else {
            cases
        },
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            default.rng_seed
        } else {
            RngSeed::Fixed(20261123)
        },
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..default
    }
}

type Client =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<bytes::Bytes>>;

/// Send; the property: an answer, a refusal, no internal failure, an error type and message.
async fn check(client: &Client, server: &LocalServer, r: &Req) -> Result<(), String> {
    let uri = if r.query.is_empty() {
        format!("{}{}", server.url(), r.path)
    } else {
        format!("{}{}?{}", server.url(), r.path, r.query)
    };
    let mut builder = axum::http::Request::builder().method(r.method.as_str()).uri(&uri);
    for (k, v) in &r.headers {
        builder = builder.header(k, v);
    }
    let Ok(req) = builder.body(Full::new(bytes::Bytes::from(r.body.clone()))) else {
        return Ok(()); // not a valid HTTP request: nothing to send
    };
    let resp = client
        .request(req)
        .await
        .map_err(|e| format!("no answer (did the endpoint panic?): {e}"))?;
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("x-amzn-ErrorType")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    let text = String::from_utf8_lossy(&body);
    if (200..300).contains(&status) {
        return Err(format!("{status}: an unsigned request got through: {text}"));
    }
    if status >= 500 {
        return Err(format!("{status}: internal failure: {text}"));
    }
    let has_message = text.contains("essage") || text.contains("<Code>");
    if kind.is_none() && !text.contains("<Code>") || !has_message {
        return Err(format!(
            "{status}: a refusal without an error type or message: {kind:?} {text}"
        ));
    }
    Ok(())
}

fn corpus() -> Vec<Req> {
    let text = include_str!("../../tests/corpus/http.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.splitn(4, ' ');
            let method = parts.next().unwrap().to_string();
            let target = parts.next().unwrap();
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let headers = parts
                .next()
                .unwrap_or_default()
                .split('|')
                .filter_map(|h| h.split_once(':'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Req {
                method,
                path: path.to_string(),
                query: query.to_string(),
                headers,
                body: parts.next().unwrap_or_default().as_bytes().to_vec(),
            }
        })
        .collect()
}

#[test]
fn random_requests_are_answered_refused_and_explained() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse().unwrap()));
    let server = server.unwrap();
    let client: Client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    for r in corpus() {
        rt.block_on(check(&client, &server, &r))
            .unwrap_or_else(|e| panic!("corpus {r:?}: {e}"));
    }
    let cases = AtomicU64::new(0);
    let mut runner = TestRunner::new(config(3000));
    runner
        .run(&request(), |r| {
            cases.fetch_add(1, Ordering::Relaxed);
            rt.block_on(check(&client, &server, &r)).map_err(TestCaseError::fail)
        })
        .unwrap();
    // Still alive and still correct for a well-formed (unsigned) call afterwards.
    let stats = server.stats();
    assert_eq!(stats.invokes_by_status.get("200"), None, "nothing was invoked");
    eprintln!("fuzz_http: {} requests", cases.load(Ordering::Relaxed));
    rt.block_on(server.shutdown());
}
