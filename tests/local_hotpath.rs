//! Server-side cost of one Invoke without the network or an SDK in the way (ignored by
//! default: `cargo test --test local_hotpath -- --ignored --nocapture`; use a release build
//! for real numbers).

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use xinvoke::local::lambda_api::{handle, LambdaRequest};
use xinvoke::local::world::World;
use xinvoke::local::{builtin, Scenario};

#[tokio::test]
#[ignore]
async fn one_invoke_costs_microseconds() {
    let world = Arc::new(World::new(Scenario::builtin()));
    let uri =
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A222222222222%3Afunction%3Atarget%3Alive/invocations";
    let body = br#"{"hello":"world"}"#;
    let identity = Credentials::new(builtin::SOURCE_ACCESS_KEY, builtin::SOURCE_SECRET_KEY, None, None, "t").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(builtin::REGION)
        .name("lambda")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", "127.0.0.1:4590")];
    let signable = SignableRequest::new("POST", uri, headers.iter().copied(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut signed = HeaderMap::new();
    for (k, v) in headers.iter().copied().chain(instructions.headers()) {
        signed.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        let req = LambdaRequest {
            method: "POST",
            raw_path: uri,
            raw_query: "",
            headers: &signed,
            body: bytes::Bytes::from_static(body),
        };
        let resp = handle(Arc::clone(&world), req).await;
        assert_eq!(resp.status(), 200);
    }
    let per = t.elapsed() / n;
    let t2 = Instant::now();
    for _ in 0..n {
        let req = xinvoke::local::sigv4::SignedRequest {
            method: "POST",
            raw_path: uri,
            raw_query: "",
            headers: &signed,
            body,
        };
        world.authenticate(&req, "lambda").unwrap();
    }
    eprintln!("of which SigV4 verification: {:?}", t2.elapsed() / n);
    eprintln!(
        "{n} invokes: {per:?} each ({:.0}/s on one core)",
        1.0 / per.as_secs_f64()
    );
}
