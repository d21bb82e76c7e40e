//! SigV4 for the one request the signed path sends: `POST /2015-03-31/functions/{FN}/invocations`
//! signing `content-type`, `host`, `x-amz-client-context` (when sent), `x-amz-date`,
//! `x-amz-invocation-type` and, with session credentials, `x-amz-security-token`, exactly as
//! aws-sigv4 signs it with its default settings (the tests below compare the two).
//!
//! It is written out because the general signer costs more per request than the rest of the
//! signed path together: it derives the signing key (four HMACs) on every call and builds the
//! canonical request through header maps and strings. Here the key is derived once a day per
//! credentials, and the canonical request is hashed as it is written, without allocating.

use crate::core::sigv4;
use aws_credential_types::Credentials;
use http::header::{HeaderValue, InvalidHeaderValue};
use sha2::{Digest, Sha256};
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

const SERVICE: &str = "lambda";

/// What is signed of one Invoke request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InvokeToSign<'a> {
    /// The path as sent: the function (name, ARN, with its qualifier) percent-encoded as one
    /// segment, so that it holds only unreserved characters, `/` and `%XX` escapes.
    pub path: &'a str,
    /// The `host` header.
    pub host: &'a str,
    /// The `x-amz-invocation-type` header.
    pub invocation_type: &'a str,
    /// The `x-amz-client-context` header, when sent.
    pub client_context: Option<&'a str>,
    /// The `x-amz-durable-execution-name` header, when sent (a durable target).
    pub durable_execution_name: Option<&'a str>,
    /// The `x-amz-tenant-id` header, when sent.
    pub tenant_id: Option<&'a str>,
    pub payload: &'a [u8],
}

/// The headers the signature adds to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `x-amz-date`: `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// `authorization`.
    pub authorization: String,
}

/// Credentials ready to sign in one region, with the signing key of the day kept.
pub(crate) struct SigningCredentials {
    credentials: Credentials,
    /// The session token as the `x-amz-security-token` header.
    session_token: Option<HeaderValue>,
    region: String,
    /// The day (`YYYYMMDD`) and the key derived for it.
    key: RwLock<Option<([u8; 8], [u8; 32])>>,
}

impl std::fmt::Debug for SigningCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningCredentials")
            .field("access_key_id", &self.credentials.access_key_id())
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Feeds a SHA-256 with `text` as SigV4 canonicalizes a header value.
fn update_trimmed(hash: &mut Sha256, text: &str) {
    sigv4::write_trimmed(text, |s| hash.update(s));
}

impl SigningCredentials {
    /// Fails when the session token cannot be sent as a header.
    pub fn new(credentials: Credentials, region: &str) -> Result<SigningCredentials, InvalidHeaderValue> {
        let session_token = credentials.session_token().map(HeaderValue::from_str).transpose()?;
        Ok(SigningCredentials {
            credentials,
            session_token,
            region: region.to_string(),
            key: RwLock::new(None),
        })
    }

    /// The `x-amz-security-token` header to send, with session credentials.
    pub fn session_token(&self) -> Option<&HeaderValue> {
        self.session_token.as_ref()
    }

    /// The signing key of `day` (`YYYYMMDD`).
    fn signing_key(&self, day: &[u8; 8]) -> [u8; 32] {
        if let Some((d, key)) = *self.key.read().unwrap_or_else(|e| e.into_inner()) {
            if &d == day {
                return key;
            }
        }
        let key = sigv4::signing_key(self.credentials.secret_access_key(), day, &self.region, SERVICE);
        *self.key.write().unwrap_or_else(|e| e.into_inner()) = Some((*day, key));
        key
    }

    /// Sign `req` as sent at `at`.
    pub fn sign(&self, req: &InvokeToSign<'_>, at: SystemTime) -> Signature {
        let amz_date = amz_date(at);
        let day: [u8; 8] = amz_date[..8].try_into().expect("an amz date starts with its day");
        let amz_date = std::str::from_utf8(&amz_date).expect("an amz date is ASCII");
        let token = self.credentials.session_token();

        let mut payload_hash = [0u8; 64];
        hex::encode_to_slice(Sha256::digest(req.payload), &mut payload_hash).expect("64 hex digits");
        // In SigV4's order (sorted by name).
        let mut signed_headers = String::with_capacity(144);
        signed_headers.push_str("content-type;host");
        if req.client_context.is_some() {
            signed_headers.push_str(";x-amz-client-context");
        }
        signed_headers.push_str(";x-amz-date");
        if req.durable_execution_name.is_some() {
            signed_headers.push_str(";x-amz-durable-execution-name");
        }
        signed_headers.push_str(";x-amz-invocation-type");
        if token.is_some() {
            signed_headers.push_str(";x-amz-security-token");
        }
        if req.tenant_id.is_some() {
            signed_headers.push_str(";x-amz-tenant-id");
        }

        // The canonical request. Its path is the one sent, encoded once more as SigV4 does for
        // every service but S3: as it only holds unreserved characters, `/` and escapes, that
        // turns each `%` into `%25`. There is no query.
        let mut creq = Sha256::new();
        creq.update(b"POST\n");
        let mut pieces = req.path.split('%');
        creq.update(pieces.next().unwrap_or_default());
        for piece in pieces {
            creq.update(b"%25");
            creq.update(piece);
        }
        creq.update(b"\n\ncontent-type:application/octet-stream\nhost:");
        update_trimmed(&mut creq, req.host);
        if let Some(cc) = req.client_context {
            creq.update(b"\nx-amz-client-context:");
            update_trimmed(&mut creq, cc);
        }
        creq.update(b"\nx-amz-date:");
        creq.update(amz_date);
        if let Some(name) = req.durable_execution_name {
            creq.update(b"\nx-amz-durable-execution-name:");
            update_trimmed(&mut creq, name);
        }
        creq.update(b"\nx-amz-invocation-type:");
        update_trimmed(&mut creq, req.invocation_type);
        if let Some(token) = token {
            creq.update(b"\nx-amz-security-token:");
            update_trimmed(&mut creq, token);
        }
        if let Some(tenant) = req.tenant_id {
            creq.update(b"\nx-amz-tenant-id:");
            update_trimmed(&mut creq, tenant);
        }
        creq.update(b"\n\n");
        creq.update(&signed_headers);
        creq.update(b"\n");
        creq.update(payload_hash);
        let creq_hash = sigv4::hex64(&creq.finalize());
        let day_str = &amz_date[..8];
        let signature = sigv4::signature(
            &self.signing_key(&day),
            amz_date,
            [day_str, &self.region, SERVICE],
            &creq_hash,
        );

        let access_key = self.credentials.access_key_id();
        let mut authorization = String::with_capacity(160 + access_key.len() + signed_headers.len());
        authorization.push_str("AWS4-HMAC-SHA256 Credential=");
        authorization.push_str(access_key);
        authorization.push('/');
        authorization.push_str(day_str);
        for part in ["/", &self.region, "/", SERVICE, "/aws4_request"] {
            authorization.push_str(part);
        }
        authorization.push_str(", SignedHeaders=");
        authorization.push_str(&signed_headers);
        authorization.push_str(", Signature=");
        authorization.push_str(std::str::from_utf8(&signature).expect("hex is ASCII"));
        Signature {
            amz_date: amz_date.to_string(),
            authorization,
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` of `at` (UTC).
fn amz_date(at: SystemTime) -> [u8; 16] {
    let secs = at.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (year, month, day, hour, minute, second) = crate::core::utc::split(secs);
    let mut out = *b"00000000T000000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u64);
    put(4, 2, month.into());
    put(6, 2, day.into());
    put(9, 2, hour as u64);
    put(11, 2, minute as u64);
    put(13, 2, second as u64);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use proptest::prelude::*;
    use std::time::Duration;

    /// The headers aws-sigv4 adds to the same request: (x-amz-date, authorization, token).
    fn reference(creds: &Credentials, region: &str, req: &InvokeToSign<'_>, at: SystemTime) -> Signature {
        let identity = creds.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("lambda")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let mut headers = vec![
            ("content-type", "application/octet-stream"),
            ("host", req.host),
            ("x-amz-invocation-type", req.invocation_type),
        ];
        if let Some(cc) = req.client_context {
            headers.push(("x-amz-client-context", cc));
        }
        if let Some(name) = req.durable_execution_name {
            headers.push(("x-amz-durable-execution-name", name));
        }
        if let Some(tenant) = req.tenant_id {
            headers.push(("x-amz-tenant-id", tenant));
        }
        let uri = format!("https://{}{}", req.host, req.path);
        let signable =
            SignableRequest::new("POST", &uri, headers.into_iter(), SignableBody::Bytes(req.payload)).unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let get = |name: &str| {
            instructions
                .headers()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            instructions
                .headers()
                .find(|(k, _)| *k == "x-amz-security-token")
                .map(|(_, v)| v),
            creds.session_token(),
            "aws-sigv4 sends the session token, if any"
        );
        Signature {
            amz_date: get("x-amz-date"),
            authorization: get("authorization"),
        }
    }

    fn path(function: &str) -> String {
        let segment = percent_encoding::utf8_percent_encode(function, crate::core::sigv4::UNRESERVED);
        format!("/2015-03-31/functions/{segment}/invocations")
    }

    fn check(creds: Credentials, function: &str, ty: &str, cc: Option<&str>, payload: &[u8], at: SystemTime) {
        check_tenant(creds, function, ty, cc, None, payload, at)
    }

    fn check_tenant(
        creds: Credentials,
        function: &str,
        ty: &str,
        cc: Option<&str>,
        tenant_id: Option<&str>,
        payload: &[u8],
        at: SystemTime,
    ) {
        let path = path(function);
        for durable_execution_name in [None, Some("059f36b4-87a3-44ab-83d2-661975830a7d")] {
            let req = InvokeToSign {
                path: &path,
                host: "lambda.us-east-1.amazonaws.com",
                invocation_type: ty,
                client_context: cc,
                durable_execution_name,
                tenant_id,
                payload,
            };
            check_one(&creds, &req, at);
        }
    }

    fn check_one(creds: &Credentials, req: &InvokeToSign<'_>, at: SystemTime) {
        let (function, ty, cc) = (req.path, req.invocation_type, req.client_context);
        let ours = SigningCredentials::new(creds.clone(), "us-east-1").unwrap();
        let expected = reference(creds, "us-east-1", req, at);
        // Twice: the key is derived, then taken from the cache.
        assert_eq!(ours.sign(req, at), expected, "{function} {ty} {cc:?}");
        assert_eq!(ours.sign(req, at), expected, "{function} {ty} {cc:?} (cached key)");
    }

    #[test]
    fn signs_as_aws_sigv4_does() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let static_key = Credentials::new("AKIAEXAMPLE", "secret/key+1", None, None, "t");
        let session = Credentials::new("ASIAEXAMPLE", "s3cr3t", Some("IQoJb3JpZ2lu/token+==".into()), None, "t");
        let functions = [
            "arn:aws:lambda:us-east-1:222222222222:function:target:live",
            "arn:aws:lambda:us-east-1:222222222222:function:target",
            "arn:aws:lambda:us-east-1:222222222222:function:target:$LATEST",
            "arn:aws:lambda:eu-west-1:222222222222:function:my-fn_2:7",
        ];
        for creds in [static_key, session] {
            for function in functions {
                for ty in ["RequestResponse", "Event", "DryRun"] {
                    for cc in [None, Some("eyJjdXN0b20iOnsiYSI6MX19")] {
                        for payload in [&b""[..], b"{}", br#"{"sleep_ms": 5, "x": "\u00e9"}"#] {
                            check(creds.clone(), function, ty, cc, payload, at);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_new_day_gets_a_new_key() {
        let creds = Credentials::new("AKIAEXAMPLE", "secret", None, None, "t");
        let ours = SigningCredentials::new(creds.clone(), "us-east-1").unwrap();
        let path = path("arn:aws:lambda:us-east-1:222222222222:function:target:live");
        let req = InvokeToSign {
            path: &path,
            host: "127.0.0.1:4590",
            invocation_type: "RequestResponse",
            client_context: None,
            durable_execution_name: None,
            tenant_id: None,
            payload: b"{}",
        };
        let midnight = SystemTime::UNIX_EPOCH + Duration::from_secs(20_000 * 86_400);
        for at in [
            midnight - Duration::from_secs(1),
            midnight,
            midnight + Duration::from_secs(1),
        ] {
            assert_eq!(ours.sign(&req, at), reference(&creds, "us-east-1", &req, at));
        }
    }

    #[test]
    fn amz_dates_are_utc_calendar_times() {
        let at =
            |s: u64| String::from_utf8(amz_date(SystemTime::UNIX_EPOCH + Duration::from_secs(s)).to_vec()).unwrap();
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_795_000_059), "20261118T110739Z");
        assert_eq!(at(4_102_444_799), "20991231T235959Z");
        assert_eq!(at(4_107_542_399), "21000228T235959Z");
    }

    proptest! {
        #[test]
        fn any_invoke_signs_as_aws_sigv4_does(
            name in "[a-zA-Z0-9_-]{1,64}",
            qualifier in proptest::option::of("\\$LATEST|[a-zA-Z0-9_-]{1,32}"),
            ty in prop::sample::select(vec!["RequestResponse", "Event", "DryRun"]),
            cc in proptest::option::of("[A-Za-z0-9+/]{0,40}={0,2}"),
            tenant in proptest::option::of("[a-zA-Z0-9._:/=+@ -]{1,40}"),
            token in proptest::option::of("[A-Za-z0-9+/=]{1,80}"),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            secs in 0u64..4_000_000_000,
        ) {
            let function = match &qualifier {
                Some(q) => format!("arn:aws:lambda:us-east-1:222222222222:function:{name}:{q}"),
                None => format!("arn:aws:lambda:us-east-1:222222222222:function:{name}"),
            };
            let creds = Credentials::new("AKIAPROPTEST", "prop/secret+key", token, None, "t");
            check_tenant(creds, &function, ty, cc.as_deref(), tenant.as_deref(), &payload, SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        }
    }
}
