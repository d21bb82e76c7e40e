//! SigV4 edge cases over the wire: the five-minute window AWS enforces (and its message), a
//! body changed after signing, and advancing the server clock without breaking signatures made
//! with real time.

use crate::tests::common::*;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full};
use serde_json::json;
use std::time::{Duration, SystemTime};
use xinvoke::local::builtin;

async fn signed_invoke(server: &xinvoke::local::LocalServer, at: SystemTime) -> (u16, String, String) {
    send_signed(server, at, b"{}", b"{}", false).await
}

/// Sign an Invoke of `target:live` whose body is `signed_body` (or, with `unsigned_payload`,
/// whose payload hash is `UNSIGNED-PAYLOAD`, as S3 allows), then send `sent_body`.
async fn send_signed(
    server: &xinvoke::local::LocalServer,
    at: SystemTime,
    signed_body: &'static [u8],
    sent_body: &'static [u8],
    unsigned_payload: bool,
) -> (u16, String, String) {
    let uri = format!("{}/2015-03-31/functions/target%3Alive/invocations", server.url());
    let host = server.addr().to_string();
    let identity = Credentials::new(builtin::ADMIN_ACCESS_KEY, builtin::ADMIN_SECRET_KEY, None, None, "t").into();
    let mut settings = SigningSettings::default();
    if unsigned_payload {
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(builtin::REGION)
        .name("lambda")
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers = [("host", host.as_str())];
    let body = if unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(signed_body)
    };
    let signable = SignableRequest::new("POST", &uri, headers.iter().copied(), body).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut builder = axum::http::Request::post(&uri);
    for (k, v) in instructions.headers() {
        builder = builder.header(k, v);
    }
    let req = builder.body(Full::new(bytes::Bytes::from_static(sent_body))).unwrap();
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, kind, body)
}

#[tokio::test]
async fn aws_sigv4_signed_request_with_an_encoded_qualifier_is_accepted() {
    let server = start().await;
    let (status, kind, body) = signed_invoke(&server, SystemTime::now()).await;
    assert_eq!((status, kind.as_str(), body.as_str()), (200, "", "{}"));
}

#[tokio::test]
async fn request_signed_twenty_minutes_ago_is_signature_expired() {
    let server = start().await;
    let (status, kind, body) = signed_invoke(&server, SystemTime::now() - Duration::from_secs(20 * 60)).await;
    assert_eq!(status, 403);
    assert_eq!(kind, "InvalidSignatureException");
    assert!(body.contains("Signature expired"), "{body}");
}

#[tokio::test]
async fn advancing_the_server_clock_keeps_real_time_signatures_valid() {
    let server = start().await;
    control(&server, "POST", "/_local/clock", json!({"advance_s": 7200})).await;
    let out = admin_lambda(&server)
        .invoke()
        .function_name("target:live")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
}

#[tokio::test]
async fn the_window_is_five_minutes_with_aws_message() {
    // SigV4: a request must reach AWS within five minutes of its X-Amz-Date; Lambda answers
    // InvalidSignatureException "Signature expired: X is now earlier than Y (Z - 5 min.)".
    let server = start().await;
    let (status, kind, body) = signed_invoke(&server, SystemTime::now() - Duration::from_secs(6 * 60)).await;
    assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
    assert!(
        body.contains("Signature expired") && body.contains(" - 5 min.)"),
        "{body}"
    );
    let (status, kind, body) = signed_invoke(&server, SystemTime::now() + Duration::from_secs(6 * 60)).await;
    assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
    assert!(
        body.contains("Signature not yet current") && body.contains(" + 5 min.)"),
        "{body}"
    );
    let (status, _, _) = signed_invoke(&server, SystemTime::now() - Duration::from_secs(4 * 60)).await;
    assert_eq!(status, 200, "four minutes old is within the window");
}

#[tokio::test]
async fn a_body_changed_after_signing_is_refused_whatever_the_payload_hash_header_says() {
    // Lambda signs payloads: UNSIGNED-PAYLOAD is S3's. The service hashes the body it got.
    let server = start().await;
    let (status, kind, _) = send_signed(&server, SystemTime::now(), b"{}", br#"{"swapped":true}"#, false).await;
    assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
    let (status, kind, _) = send_signed(&server, SystemTime::now(), b"", br#"{"swapped":true}"#, true).await;
    assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
    let (status, _, body) = send_signed(&server, SystemTime::now(), br#"{"a":1}"#, br#"{"a":1}"#, false).await;
    assert_eq!((status, body.as_str()), (200, r#"{"a":1}"#));
}
