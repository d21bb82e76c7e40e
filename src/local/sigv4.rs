//! SigV4 verification. The aws-sigv4 crate only signs, so this module rebuilds the canonical
//! request from what arrived on the wire (the signed headers as sent, the path encoded once
//! more as SigV4 does for every service but S3, the sorted query, the body's SHA-256) and
//! compares signatures. Its tests sign with the aws-sigv4 crate; `tests/local_*.rs` with the
//! real SDK clients.

use crate::domain::sigv4::{self, hex64, UNRESERVED, UNRESERVED_AND_SLASH};
use crate::local::clock;
use axum::http::{HeaderMap, HeaderName};
use bytes::Bytes;
use percent_encoding::utf8_percent_encode;
use sha2::{Digest, Sha256};
use std::sync::RwLock;

const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");

/// Largest accepted difference between `X-Amz-Date` and the service's clock, in seconds: SigV4
/// requests must reach AWS within five minutes of their time stamp (AWS General Reference,
/// "Signature Version 4 signing": "...the request is rejected" after five minutes; Lambda and
/// STS answer "Signature expired: ... (... - 5 min.)").
const MAX_SKEW_S: i64 = 5 * 60;

/// Why a request failed authentication. Each protocol maps these onto its own error names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header.
    #[error("Missing Authentication Token")]
    Missing,
    /// The header is not a SigV4 header, or misses a part.
    #[error("{0}")]
    Malformed(String),
    /// The access key id (or the session token that must go with it) is unknown.
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    /// The signature does not match.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    BadSignature,
    /// `X-Amz-Date` too far from the server's real time.
    #[error("{0}")]
    SignatureExpired(String),
    /// The session behind a temporary key has expired.
    #[error("The security token included in the request is expired")]
    ExpiredToken,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthHeader<'a> {
    /// Access key id.
    pub access_key: &'a str,
    /// `YYYYMMDD` of the credential scope.
    pub date: &'a str,
    /// Region of the credential scope.
    pub region: &'a str,
    /// Service of the credential scope.
    pub service: &'a str,
    /// Lowercase signed header names, `;`-separated as sent.
    pub signed_headers: &'a str,
    /// Hex signature.
    pub signature: &'a str,
}

/// Parse an `Authorization` header value.
pub(crate) fn parse_authorization(value: &str) -> Result<AuthHeader<'_>, AuthFailure> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| AuthFailure::Malformed("Authorization header requires the AWS4-HMAC-SHA256 algorithm.".into()))?
        .trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |what: &str| {
        AuthFailure::Malformed(format!(
            "Authorization header requires '{what}' parameter. Authorization={value_kind}",
            value_kind = "AWS4-HMAC-SHA256"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let mut parts = credential.split('/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(AuthFailure::Malformed(
            "Credential should be scoped to a valid region, and a valid service.".into(),
        ));
    };
    Ok(AuthHeader {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// Where a canonical request is written: a string (to show it) or a hash (to check it, without
/// building the string).
trait CanonicalOut {
    fn put(&mut self, s: &str);
}

impl CanonicalOut for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl CanonicalOut for Sha256 {
    fn put(&mut self, s: &str) {
        self.update(s.as_bytes());
    }
}

/// The canonical URI of a raw (as sent) path: every byte outside the unreserved set is
/// encoded again, so `%3A` becomes `%253A` (SigV4's double encoding for non-S3 services).
#[cfg(test)]
fn canonical_uri(raw_path: &str) -> String {
    let mut out = String::with_capacity(raw_path.len() + 16);
    write_canonical_uri(&mut out, raw_path);
    out
}

fn write_canonical_uri(out: &mut impl CanonicalOut, raw_path: &str) {
    if raw_path.is_empty() {
        return out.put("/");
    }
    // Encoded into one buffer, then written at once: an encoded ARN comes in dozens of pieces.
    let mut encoded = String::with_capacity(raw_path.len() * 3 / 2);
    encoded.extend(utf8_percent_encode(raw_path, UNRESERVED_AND_SLASH));
    out.put(&encoded);
}

/// The canonical query string: decoded pairs, re-encoded, sorted.
fn canonical_query(raw_query: &str) -> String {
    if raw_query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, UNRESERVED).to_string(),
                utf8_percent_encode(&v, UNRESERVED).to_string(),
            )
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The canonical value of one header: all its values joined by `,`, each trimmed with runs of
/// spaces collapsed.
fn write_canonical_header_value(out: &mut impl CanonicalOut, headers: &HeaderMap, name: &str) {
    for (i, v) in headers.get_all(name).iter().enumerate() {
        if i > 0 {
            out.put(",");
        }
        match v.to_str() {
            Ok(text) => sigv4::write_trimmed(text.trim(), |s| out.put(s)),
            Err(_) => sigv4::write_trimmed(String::from_utf8_lossy(v.as_bytes()).trim(), |s| out.put(s)),
        }
    }
}

/// The canonical request of `req` (signing `signed_headers`), written to `out`.
fn write_canonical_request(
    out: &mut impl CanonicalOut,
    req: &ReceivedRequest<'_>,
    signed_headers: &str,
    payload_hash: &str,
) {
    out.put(req.method);
    out.put("\n");
    write_canonical_uri(out, req.raw_path);
    out.put("\n");
    out.put(&canonical_query(req.raw_query));
    out.put("\n");
    for name in signed_headers.split(';') {
        out.put(name);
        out.put(":");
        write_canonical_header_value(out, req.headers, name);
        out.put("\n");
    }
    out.put("\n");
    out.put(signed_headers);
    out.put("\n");
    out.put(payload_hash);
}

/// Hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn ascii(hex: &[u8; 64]) -> &str {
    std::str::from_utf8(hex).expect("hex digits are ASCII")
}

/// The SigV4 signing key of `secret` for the header's scope.
pub(crate) fn signing_key(secret: &str, header: &AuthHeader<'_>) -> [u8; 32] {
    sigv4::signing_key(secret, header.date.as_bytes(), header.region, header.service)
}

/// Signing keys by access key id and scope, so a busy key costs one HMAC per request instead
/// of five. Holds derived keys only; `Debug` shows the count.
#[derive(Default)]
pub(crate) struct SigningKeyCache {
    keys: RwLock<crate::local::NameMap<CachedKey>>,
}

/// A derived key and the scope (date, region, service) it was derived for.
type CachedKey = ([String; 3], [u8; 32]);

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.keys.read().map(|k| k.len()).unwrap_or(0);
        write!(f, "SigningKeyCache {{ entries: {n} }}")
    }
}

impl SigningKeyCache {
    /// Most keys remembered; beyond, the cache starts again (sessions come and go).
    const CAPACITY: usize = 10_000;

    /// The signing key of `secret` for the header's access key and scope.
    pub fn key(&self, secret: &str, header: &AuthHeader<'_>) -> [u8; 32] {
        {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            if let Some(([date, region, service], key)) = keys.get(header.access_key) {
                if date == header.date && region == header.region && service == header.service {
                    return *key;
                }
            }
        }
        let key = signing_key(secret, header);
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= Self::CAPACITY {
            keys.clear();
        }
        let scope = [
            header.date.to_string(),
            header.region.to_string(),
            header.service.to_string(),
        ];
        keys.insert(header.access_key.to_string(), (scope, key));
        key
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request as it arrived on the wire: what the verifier checks and the Lambda and STS
/// handlers answer.
#[derive(Debug)]
pub struct ReceivedRequest<'a> {
    pub method: &'a str,
    /// The path as sent (still percent-encoded).
    pub raw_path: &'a str,
    /// The query as sent, without `?`.
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
}

/// The secret (and session token, for temporary keys) behind an access key id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySecret<'a> {
    /// Secret access key.
    pub secret: &'a str,
    /// Required `X-Amz-Security-Token`, for temporary credentials.
    pub session_token: Option<&'a str>,
    /// Where to remember the derived signing key.
    pub cache: Option<&'a SigningKeyCache>,
}

/// Check the request's signature. `lookup` gives the secret of an access key id; the caller
/// checks the session's expiry afterwards. `real_now_s` is real (not advanced) time.
pub(crate) fn verify<'h>(
    req: &ReceivedRequest<'h>,
    header: &AuthHeader<'_>,
    key: KeySecret<'_>,
    real_now_s: i64,
) -> Result<(), AuthFailure> {
    if let Some(expected) = key.session_token {
        let sent = req
            .headers
            .get(&X_AMZ_SECURITY_TOKEN)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(sent, expected.as_bytes()) {
            return Err(AuthFailure::UnknownKey);
        }
    }
    let amz_date = req
        .headers
        .get(&X_AMZ_DATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(signed_at) = clock::parse_amz_date(amz_date) else {
        return Err(AuthFailure::Malformed(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
        ));
    };
    if (signed_at - real_now_s).abs() > MAX_SKEW_S {
        let msg = if signed_at < real_now_s {
            format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
                clock::amz_date(real_now_s - MAX_SKEW_S),
                clock::amz_date(real_now_s)
            )
        } else {
            format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
                clock::amz_date(real_now_s + MAX_SKEW_S),
                clock::amz_date(real_now_s)
            )
        };
        return Err(AuthFailure::SignatureExpired(msg));
    }
    if !amz_date.starts_with(header.date) || header.date.len() != 8 {
        return Err(AuthFailure::BadSignature);
    }
    if !header.signed_headers.split(';').any(|h| h == "host") {
        return Err(AuthFailure::BadSignature);
    }
    // The payload's hash is always the body's own: Lambda and STS sign payloads (only S3
    // accepts UNSIGNED-PAYLOAD), so a body changed after signing breaks the signature whatever
    // `x-amz-content-sha256` claims.
    let body_hash = hex64(&Sha256::digest(&req.body));
    let payload_hash = ascii(&body_hash);
    let mut creq = Sha256::new();
    write_canonical_request(&mut creq, req, header.signed_headers, payload_hash);
    let creq_hash = hex64(&creq.finalize());
    let signing = match key.cache {
        Some(cache) => cache.key(key.secret, header),
        None => signing_key(key.secret, header),
    };
    let expected = sigv4::signature(
        &signing,
        amz_date,
        [header.date, header.region, header.service],
        &creq_hash,
    );
    if constant_time_eq(&expected, header.signature.as_bytes()) {
        Ok(())
    } else {
        Err(AuthFailure::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    use axum::http::{HeaderName, HeaderValue};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// Sign with the aws-sigv4 crate and return the headers as a server would receive them.
    fn signed_headers(
        creds: Credentials,
        service: &str,
        method: &str,
        uri: &str,
        body: &[u8],
        at: SystemTime,
    ) -> HeaderMap {
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name(service)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let base = [("host", "127.0.0.1:4590"), ("content-type", "application/json")];
        let signable = SignableRequest::new(method, uri, base.iter().copied(), SignableBody::Bytes(body)).unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        for (k, v) in base.iter().copied().chain(instructions.headers()) {
            headers.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        headers
    }

    fn check(
        headers: &HeaderMap,
        method: &str,
        uri: &str,
        body: &[u8],
        secret: &str,
        token: Option<&str>,
        now: i64,
    ) -> Result<(), AuthFailure> {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let auth = headers.get("authorization").unwrap().to_str().unwrap();
        let header = parse_authorization(auth)?;
        let req = ReceivedRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers,
            body: Bytes::copy_from_slice(body),
        };
        let uncached = verify(
            &req,
            &header,
            KeySecret {
                secret,
                session_token: token,
                cache: None,
            },
            now,
        );
        // The cached path must agree, on a miss and on a hit.
        let cache = SigningKeyCache::default();
        for _ in 0..2 {
            let cached = verify(
                &req,
                &header,
                KeySecret {
                    secret,
                    session_token: token,
                    cache: Some(&cache),
                },
                now,
            );
            assert_eq!(cached, uncached);
        }
        uncached
    }

    fn now() -> (SystemTime, i64) {
        let t = SystemTime::now();
        (t, t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64)
    }

    const INVOKE_URI: &str = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A222222222222%3Afunction%3Atarget/invocations?Qualifier=live";

    #[test]
    fn accepts_what_aws_sigv4_signs() {
        let (t, n) = now();
        let cases: &[(&str, &str, &str, &[u8])] = &[
            ("lambda", "POST", INVOKE_URI, br#"{"a":1}"#),
            ("lambda", "GET", "/2015-03-31/functions/target/configuration", b""),
            ("sts", "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15"),
            (
                "lambda",
                "POST",
                "/2015-03-31/functions/a%20b/invocations?x=1&b=a%2Bc&b=+",
                b"x",
            ),
        ];
        for (service, method, uri, body) in cases {
            let h = signed_headers(Credentials::for_tests(), service, method, uri, body, t);
            assert_eq!(
                check(&h, method, uri, body, "notrealrnrELgWzOk3IfjzDKtFBhDby", None, n),
                Ok(()),
                "{uri}"
            );
        }
    }

    #[test]
    fn accepts_session_credentials_with_their_token() {
        let (t, n) = now();
        let creds = Credentials::new("ASIAX", "secret", Some("tok".into()), None, "t");
        let h = signed_headers(creds, "lambda", "POST", INVOKE_URI, b"{}", t);
        assert_eq!(check(&h, "POST", INVOKE_URI, b"{}", "secret", Some("tok"), n), Ok(()));
        assert_eq!(
            check(&h, "POST", INVOKE_URI, b"{}", "secret", Some("other"), n),
            Err(AuthFailure::UnknownKey)
        );
    }

    #[test]
    fn rejects_wrong_secret_body_path_or_query() {
        let (t, n) = now();
        let body = br#"{"a":1}"#;
        let h = signed_headers(Credentials::for_tests(), "lambda", "POST", INVOKE_URI, body, t);
        let other_uri = INVOKE_URI.replace("live", "1");
        let cases: [(&str, &[u8], &str); 3] = [
            (INVOKE_URI, body, "wrong"),
            (INVOKE_URI, b"{}", "notrealrnrELgWzOk3IfjzDKtFBhDby"),
            (&other_uri, body, "notrealrnrELgWzOk3IfjzDKtFBhDby"),
        ];
        for (uri, b, secret) in cases {
            assert_eq!(
                check(&h, "POST", uri, b, secret, None, n),
                Err(AuthFailure::BadSignature)
            );
        }
    }

    #[test]
    fn rejects_skewed_dates_against_real_time() {
        let (t, n) = now();
        let old = t - Duration::from_secs(16 * 60);
        let h = signed_headers(Credentials::for_tests(), "lambda", "POST", INVOKE_URI, b"", old);
        let err = check(&h, "POST", INVOKE_URI, b"", "notrealrnrELgWzOk3IfjzDKtFBhDby", None, n).unwrap_err();
        assert!(matches!(err, AuthFailure::SignatureExpired(m) if m.starts_with("Signature expired")));
    }

    #[test]
    fn parses_and_rejects_authorization_headers() {
        let ok = "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let h = parse_authorization(ok).unwrap();
        assert_eq!((h.access_key, h.region, h.service), ("AKID", "us-east-1", "lambda"));
        assert_eq!(
            (h.date, h.signed_headers, h.signature),
            ("20261123", "host;x-amz-date", "abc")
        );
        for bad in [
            "Basic xyz",
            "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/lambda, SignedHeaders=host, Signature=a",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=a",
        ] {
            assert!(
                matches!(parse_authorization(bad), Err(AuthFailure::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn canonical_uri_double_encodes() {
        assert_eq!(canonical_uri("/a/arn%3Ab/c"), "/a/arn%253Ab/c");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
    }
}
