//! The local endpoint as a security boundary. Authentication: a correctly signed Invoke is
//! accepted, and every single-component mutation of its SigV4 signature (key id, scope date,
//! region, service, signed headers, signature, X-Amz-Date, body hash, a replay with another
//! body or path, an expired date) is refused before anything runs. Authorization: a table of
//! principals and policies, built as a scenario in the test, where every case AWS would deny
//! is denied (explicit Deny over Allow, wildcards, wrong account, wrong alias, missing or wrong
//! external id, wrong organization) and every case it would allow is allowed.

use crate::common::*;
use aws_credential_types::Credentials;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full};
use std::time::{Duration, SystemTime};
use xinvoke::local::{builtin, LocalServer, Scenario};

type Headers = Vec<(String, String)>;

/// A signed Invoke of `target:live` by the admin key: its headers, with the body hash header.
fn signed(server: &LocalServer, body: &[u8], at: SystemTime) -> (String, Headers) {
    let uri = format!("{}/2015-03-31/functions/target%3Alive/invocations", server.url());
    let host = server.addr().to_string();
    let identity = Credentials::new(builtin::ADMIN_ACCESS_KEY, builtin::ADMIN_SECRET_KEY, None, None, "t").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
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
    let signable = SignableRequest::new("POST", &uri, headers.iter().copied(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let out = instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (uri, out)
}

async fn send(uri: &str, headers: &Headers, body: &'static [u8]) -> (u16, String, String) {
    let mut builder = axum::http::Request::post(uri);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let req = builder.body(Full::new(bytes::Bytes::from_static(body))).unwrap();
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("x-amzn-ErrorType")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).to_string();
    (status, kind, body)
}

fn edit(headers: &Headers, name: &str, f: impl Fn(&str) -> String) -> Headers {
    headers
        .iter()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case(name) {
                (k.clone(), f(v))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

fn flip_last_hex(s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    let last = c.len() - 1;
    c[last] = if c[last] == '0' { '1' } else { '0' };
    c.into_iter().collect()
}

#[tokio::test]
async fn no_mutation_of_a_sigv4_signature_gets_past_authentication() {
    let server = start().await;
    const BODY: &[u8] = br#"{"transfer": 1}"#;
    let now = SystemTime::now();
    let (uri, good) = signed(&server, BODY, now);
    let (status, _, body) = send(&uri, &good, BODY).await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"transfer": 1}"#),
        "the unmutated request passes"
    );
    let auth = |f: &dyn Fn(&str) -> String| edit(&good, "authorization", f);
    let day = {
        let date = good.iter().find(|(k, _)| k == "x-amz-date").unwrap().1[..8].to_string();
        let other = if date.ends_with('1') { "2" } else { "1" };
        (date.clone(), format!("{}{other}", &date[..7]))
    };
    let (_, old) = signed(&server, BODY, now - Duration::from_secs(16 * 60));
    let (_, other_body) = signed(&server, br#"{"transfer": 2}"#, now);
    let cases: Vec<(&str, Headers, &'static [u8], String)> = vec![
        (
            "key id (unknown)",
            auth(&|v| v.replace(builtin::ADMIN_ACCESS_KEY, "AKIAXINVOKEADMIN0002")),
            BODY,
            uri.clone(),
        ),
        (
            "key id (another valid key)",
            auth(&|v| v.replace(builtin::ADMIN_ACCESS_KEY, builtin::SOURCE_ACCESS_KEY)),
            BODY,
            uri.clone(),
        ),
        (
            "scope date",
            auth(&|v| v.replace(&format!("/{}/", day.0), &format!("/{}/", day.1))),
            BODY,
            uri.clone(),
        ),
        (
            "scope region",
            auth(&|v| v.replace("/us-east-1/", "/us-west-2/")),
            BODY,
            uri.clone(),
        ),
        (
            "scope service",
            auth(&|v| v.replace("/lambda/", "/sts/")),
            BODY,
            uri.clone(),
        ),
        (
            "scope terminator",
            auth(&|v| v.replace("/aws4_request", "/aws4_reqest")),
            BODY,
            uri.clone(),
        ),
        (
            "signed headers (one dropped)",
            auth(&|v| v.replace("host;", "")),
            BODY,
            uri.clone(),
        ),
        (
            "signed headers (one added)",
            auth(&|v| v.replace("SignedHeaders=", "SignedHeaders=content-length;")),
            BODY,
            uri.clone(),
        ),
        ("signature (one hex digit)", auth(&flip_last_hex), BODY, uri.clone()),
        (
            "signature (truncated)",
            auth(&|v| v[..v.len() - 2].to_string()),
            BODY,
            uri.clone(),
        ),
        (
            "algorithm",
            auth(&|v| v.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")),
            BODY,
            uri.clone(),
        ),
        (
            "X-Amz-Date (one second)",
            edit(&good, "x-amz-date", flip_last_hex),
            BODY,
            uri.clone(),
        ),
        (
            "body hash header",
            edit(&good, "x-amz-content-sha256", flip_last_hex),
            BODY,
            uri.clone(),
        ),
        (
            "replay with a different body",
            good.clone(),
            br#"{"transfer": 9}"#,
            uri.clone(),
        ),
        (
            "replay with the other body's headers",
            other_body.clone(),
            BODY,
            uri.clone(),
        ),
        (
            "replay on another path",
            good.clone(),
            BODY,
            uri.replace("target%3Alive", "target"),
        ),
        ("expired X-Amz-Date (16 min)", old, BODY, uri.clone()),
        (
            "no authorization",
            good.iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
                .cloned()
                .collect(),
            BODY,
            uri.clone(),
        ),
        (
            "no X-Amz-Date",
            good.iter().filter(|(k, _)| k != "x-amz-date").cloned().collect(),
            BODY,
            uri.clone(),
        ),
    ];
    let before = server.stats();
    for (name, headers, body, uri) in &cases {
        let (status, kind, text) = send(uri, headers, body).await;
        assert!(
            status == 403 || status == 400,
            "{name}: got past authentication ({status} {kind} {text})"
        );
        assert!(!text.contains("transfer"), "{name}: the function ran: {text}");
        assert!(
            [
                "InvalidSignatureException",
                "UnrecognizedClientException",
                "IncompleteSignatureException",
                "MissingAuthenticationTokenException",
                "AccessDeniedException",
            ]
            .contains(&kind.as_str()),
            "{name}: {status} {kind} {text}"
        );
    }
    let after = server.stats();
    assert_eq!(
        after.invokes_by_status.get("200"),
        before.invokes_by_status.get("200"),
        "no mutated request was answered 200"
    );
    server.shutdown().await;
}

const SCENARIO: &str = r#"
region = "us-east-1"

[[accounts]]
id = "111111111111"
org_id = "o-aaaaaaaaaa"

[[accounts.roles]]
name = "caller"
credentials = { access_key_id = "ASIATESTCALLER000001", secret_access_key = "caller-secret", session_token = "caller-secret-token" }
policy = { Statement = [
  { Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "arn:aws:lambda:us-east-1:222222222222:function:*" },
  { Effect = "Allow", Action = "sts:AssumeRole", Resource = "arn:aws:iam::222222222222:role/*" },
] }

[[accounts.roles]]
name = "denied"
credentials = { access_key_id = "ASIATESTDENIED000001", secret_access_key = "denied-secret", session_token = "denied-secret-token" }
policy = { Statement = [
  { Effect = "Allow", Action = "lambda:*", Resource = "*" },
  { Effect = "Deny", Action = "lambda:InvokeFunction", Resource = "arn:aws:lambda:us-east-1:222222222222:function:target:*" },
] }

[[accounts.roles]]
name = "wild"
credentials = { access_key_id = "ASIATESTWILD00000001", secret_access_key = "wild-secret", session_token = "wild-secret-token" }
policy = { Statement = [{ Effect = "Allow", Action = "lambda:Invoke*", Resource = "arn:aws:lambda:us-east-1:222222222222:function:tar*" }] }

[[accounts.roles]]
name = "getonly"
credentials = { access_key_id = "ASIATESTGETONLY00001", secret_access_key = "getonly-secret", session_token = "getonly-secret-token" }
policy = { Statement = [{ Effect = "Allow", Action = "lambda:Get*", Resource = "*" }] }

[[accounts.roles]]
name = "narrow"
credentials = { access_key_id = "ASIATESTNARROW000001", secret_access_key = "narrow-secret", session_token = "narrow-secret-token" }
policy = { Statement = [{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "arn:aws:lambda:us-east-1:222222222222:function:other*" }] }

[[accounts.roles]]
name = "blocked"
credentials = { access_key_id = "ASIATESTBLOCKED00001", secret_access_key = "blocked-secret", session_token = "blocked-secret-token" }
policy = { Statement = [{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" }] }

[[accounts]]
id = "333333333333"
org_id = "o-bbbbbbbbbb"

[[accounts.roles]]
name = "caller"
credentials = { access_key_id = "ASIATESTOUTSIDER0001", secret_access_key = "outsider-secret", session_token = "outsider-secret-token" }
policy = { Statement = [
  { Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" },
  { Effect = "Allow", Action = "sts:AssumeRole", Resource = "*" },
] }

[[accounts]]
id = "222222222222"
org_id = "o-aaaaaaaaaa"

[[accounts.roles]]
name = "invoke"
trust = { Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::111111111111:role/caller" }, Action = "sts:AssumeRole", Condition = { StringEquals = { "sts:ExternalId" = "the-external-id" } } }] }
policy = { Statement = [{ Effect = "Allow", Action = "lambda:InvokeFunction", Resource = "*" }] }

[[accounts.functions]]
name = "target"
versions = ["1", "2"]
behaviour = "builtin"

[[accounts.functions.aliases]]
name = "live"
version = "1"
resource_policy = { Statement = [
  { Effect = "Allow", Principal = { AWS = "arn:aws:iam::111111111111:root" }, Action = "lambda:InvokeFunction", Resource = "arn:aws:lambda:us-east-1:222222222222:function:target:live" },
  { Effect = "Deny", Principal = { AWS = "arn:aws:iam::111111111111:role/blocked" }, Action = "lambda:InvokeFunction", Resource = "*" },
] }

[[accounts.functions.aliases]]
name = "beta"
version = "2"

[[accounts.functions]]
name = "orgwide"
behaviour = "builtin"
resource_policy = { Statement = [{ Effect = "Allow", Principal = "*", Action = "lambda:InvokeFunction", Resource = "arn:aws:lambda:us-east-1:222222222222:function:orgwide", Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-aaaaaaaaaa" } } }] }
"#;

#[tokio::test]
async fn the_policy_evaluator_denies_what_aws_would_deny_and_allows_the_rest() {
    let scenario =
        Scenario::from_toml_str(SCENARIO, std::path::Path::new("boundary.toml")).unwrap_or_else(|e| panic!("{e}"));
    let server = start_with(scenario).await;
    let key = |akid: &str, secret: &str| lambda(&server, akid, secret);
    let caller = key("ASIATESTCALLER000001", "caller-secret");
    let denied = key("ASIATESTDENIED000001", "denied-secret");
    let wild = key("ASIATESTWILD00000001", "wild-secret");
    let getonly = key("ASIATESTGETONLY00001", "getonly-secret");
    let narrow = key("ASIATESTNARROW000001", "narrow-secret");
    let blocked = key("ASIATESTBLOCKED00001", "blocked-secret");
    let outsider = key("ASIATESTOUTSIDER0001", "outsider-secret");
    const T: &str = "arn:aws:lambda:us-east-1:222222222222:function:target";
    let live = format!("{T}:live");
    let beta = format!("{T}:beta");
    let version = format!("{T}:1");
    let org = "arn:aws:lambda:us-east-1:222222222222:function:orgwide".to_string();
    // (case, client, function, allowed)
    let cases: Vec<(&str, &aws_sdk_lambda::Client, &str, bool)> = vec![
        ("identity Allow + resource Allow on the alias", &caller, &live, true),
        ("resource policy names the alias only: unqualified", &caller, T, false),
        ("wrong alias (beta has no resource policy)", &caller, &beta, false),
        ("version instead of the alias", &caller, &version, false),
        (
            "identity Deny overrides identity and resource Allow",
            &denied,
            &live,
            false,
        ),
        (
            "resource Deny overrides identity and resource Allow",
            &blocked,
            &live,
            false,
        ),
        ("wildcards lambda:Invoke* on function:tar*", &wild, &live, true),
        ("wildcard function:tar* does not cover orgwide", &wild, &org, false),
        ("lambda:Get* does not allow invoking", &getonly, &live, false),
        ("resource function:other* does not cover target", &narrow, &live, false),
        ("wrong account (333333333333) on the alias", &outsider, &live, false),
        ("PrincipalOrgID: same organization", &caller, &org, true),
        ("PrincipalOrgID: another organization", &outsider, &org, false),
    ];
    let mut failures = Vec::new();
    for (case, client, function, allowed) in &cases {
        let result = client
            .invoke()
            .function_name(*function)
            .payload(Blob::new("{}"))
            .send()
            .await;
        match (result, allowed) {
            (Ok(out), true) if out.status_code() == 200 => {}
            (Err(e), false) if e.code() == Some("AccessDeniedException") => {}
            (other, _) => failures.push(format!(
                "{case}: expected {}, got {:?}",
                if *allowed { "allowed" } else { "AccessDenied" },
                other.map(|o| o.status_code()).map_err(|e| e.code().map(str::to_string))
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // AssumeRole: the trust policy requires the external id; only the named principal.
    let assume = |akid: &'static str, secret: &'static str, external_id: Option<&'static str>| {
        let sts = sts(&server, akid, secret);
        async move {
            let mut req = sts
                .assume_role()
                .role_arn("arn:aws:iam::222222222222:role/invoke")
                .role_session_name("boundary-test");
            if let Some(x) = external_id {
                req = req.external_id(x);
            }
            req.send().await.map(|_| ()).map_err(|e| {
                use aws_sdk_sts::error::ProvideErrorMetadata;
                e.code().map(str::to_string)
            })
        }
    };
    let caller_key = ("ASIATESTCALLER000001", "caller-secret");
    assert_eq!(
        assume(caller_key.0, caller_key.1, Some("the-external-id")).await,
        Ok(())
    );
    let denied_code = Err(Some("AccessDenied".to_string()));
    assert_eq!(
        assume(caller_key.0, caller_key.1, None).await,
        denied_code,
        "missing external id"
    );
    assert_eq!(
        assume(caller_key.0, caller_key.1, Some("the-external-iD")).await,
        denied_code,
        "external id compared exactly"
    );
    assert_eq!(
        assume("ASIATESTOUTSIDER0001", "outsider-secret", Some("the-external-id")).await,
        denied_code,
        "a principal the trust policy does not name, whatever its own policy says"
    );
    assert_eq!(
        assume("ASIATESTWILD00000001", "wild-secret", Some("the-external-id")).await,
        denied_code,
        "a named account's other role without sts:AssumeRole"
    );
    server.shutdown().await;
}
