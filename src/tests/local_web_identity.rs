//! AssumeRoleWithWebIdentity against the local endpoint, as an EKS pod makes it (IRSA): a token
//! minted by the endpoint's OIDC issuer (`POST /_local/oidc/token`), sent unsigned by the real
//! aws-sdk-sts and by aws-config's web identity provider reading a token file, then role
//! chaining into account 2 and invoking `target:live`. Every refusal arrives with the code,
//! status and typed variant the STS model gives it (InvalidIdentityToken 400,
//! ExpiredTokenException 400, AccessDenied 403 for a trust mismatch).

use crate::tests::common::*;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role_with_web_identity::{
    AssumeRoleWithWebIdentityError, AssumeRoleWithWebIdentityOutput,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::retry::RetryConfig;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use xinvoke::local::builtin;
use xinvoke::local::iam::OneOrMany;
use xinvoke::local::oidc::TokenRequest;
use xinvoke::local::LocalServer;

type WebIdentityResult = Result<
    AssumeRoleWithWebIdentityOutput,
    SdkError<AssumeRoleWithWebIdentityError, aws_smithy_runtime_api::http::Response>,
>;

/// An STS client with no credentials at all: AssumeRoleWithWebIdentity needs none.
fn anonymous_sts(server: &LocalServer) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::new()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(builtin::REGION))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .endpoint_url(server.url())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

fn sts_with(server: &LocalServer, creds: Credentials) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::new()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(builtin::REGION))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .credentials_provider(creds)
        .endpoint_url(server.url())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// A token of the built-in cluster's issuer for `sub`, and whatever else `change` sets.
async fn token(server: &LocalServer, sub: &str, change: impl FnOnce(&mut TokenRequest)) -> String {
    let mut request = TokenRequest::subject(sub);
    change(&mut request);
    control_client(server)
        .oidc_token(&request)
        .await
        .expect("the endpoint mints the token")
        .0
}

async fn pod_token(server: &LocalServer) -> String {
    token(server, builtin::WEB_IDENTITY_SUBJECT, |_| {}).await
}

async fn assume_web_identity(server: &LocalServer, token: &str) -> WebIdentityResult {
    anonymous_sts(server)
        .assume_role_with_web_identity()
        .role_arn(builtin::WEB_IDENTITY_ROLE_ARN)
        .role_session_name("gateway-pod")
        .web_identity_token(token)
        .send()
        .await
}

fn credentials_of(c: Option<&aws_sdk_sts::types::Credentials>) -> Credentials {
    let c = c.expect("credentials");
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "web-identity",
    )
}

#[tokio::test]
async fn a_pod_token_gets_a_session_that_chains_into_account_2_and_invokes_target_live() {
    let server = start().await;
    let out = assume_web_identity(&server, &pod_token(&server).await).await.unwrap();
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::111111111111:assumed-role/xinvoke-web-identity/gateway-pod"
    );
    assert!(user.assumed_role_id().starts_with("AROA") && user.assumed_role_id().ends_with(":gateway-pod"));
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some(builtin::WEB_IDENTITY_SUBJECT)
    );
    assert_eq!(out.provider(), Some(builtin::OIDC_PROVIDER_ARN));
    assert_eq!(out.audience(), Some(builtin::OIDC_AUDIENCE));
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((c.expiration().secs() - now - 3600).abs() < 5, "an hour by default");

    // The session signs like any other: GetCallerIdentity names it.
    let pod = credentials_of(out.credentials());
    let me = sts_with(&server, pod.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.arn(), Some(user.arn()));
    assert_eq!(me.account(), Some(builtin::SOURCE_ACCOUNT));

    // Role chaining, as the pod does it: assume account 2's invoke role, invoke the target.
    let chained = sts_with(&server, pod)
        .assume_role()
        .role_arn(builtin::INVOKE_ROLE_ARN)
        .role_session_name("gateway-pod")
        .external_id(builtin::EXTERNAL_ID)
        .send()
        .await
        .unwrap();
    let invoked = lambda_with(&server, credentials_of(chained.credentials()))
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .payload(aws_smithy_types::Blob::new(r#"{"hello":"irsa"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(invoked.status_code(), 200);
    assert_eq!(invoked.executed_version(), Some("1"));
    let stats = server.stats();
    assert_eq!((stats.sts_assume_role_with_web_identity, stats.sts_assume_role), (1, 1));
}

#[tokio::test]
async fn each_bad_token_gets_the_error_sts_answers() {
    let server = start().await;
    let good = pod_token(&server).await;
    // One character of the signature changed (not its last, which carries padding bits).
    let at = good.rfind('.').unwrap() + 1;
    let mut tampered = good.clone();
    tampered.replace_range(at..=at, if &good[at..=at] == "A" { "B" } else { "A" });
    // The claims of another service account under the pod's signature.
    let (header, rest) = good.split_once('.').unwrap();
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(rest.split_once('.').unwrap().0).unwrap()).unwrap();
    let forged = format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(claims.replace("xinvoke:gateway", "xinvoke:admin")),
        rest.split_once('.').unwrap().1
    );
    const UNKNOWN: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/UNREGISTERED0000000000000000000";
    let wrong_audience = token(&server, builtin::WEB_IDENTITY_SUBJECT, |r| {
        r.aud = Some(OneOrMany::One("sigstore".into()))
    })
    .await;
    let wrong_subject = token(&server, "system:serviceaccount:default:gateway", |_| {}).await;
    let unknown_issuer = token(&server, builtin::WEB_IDENTITY_SUBJECT, |r| {
        r.issuer = Some(UNKNOWN.into())
    })
    .await;
    let cases: [(&str, &str, &str, u16, Option<String>); 6] = [
        (
            "wrong audience",
            &wrong_audience,
            "InvalidIdentityToken",
            400,
            Some("Incorrect token audience".into()),
        ),
        (
            "wrong subject",
            &wrong_subject,
            "AccessDenied",
            403,
            Some("Not authorized to perform sts:AssumeRoleWithWebIdentity".into()),
        ),
        (
            "unknown issuer",
            &unknown_issuer,
            "InvalidIdentityToken",
            400,
            Some(format!("No OpenIDConnect provider found in your account for {UNKNOWN}")),
        ),
        ("tampered signature", &tampered, "InvalidIdentityToken", 400, None),
        ("forged claims", &forged, "InvalidIdentityToken", 400, None),
        ("not a JWT", "not-a-jwt", "InvalidIdentityToken", 400, None),
    ];
    for (what, token, code, status, message) in cases {
        let err = assume_web_identity(&server, token).await.unwrap_err();
        assert_eq!(err.code(), Some(code), "{what}");
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(status), "{what}");
        if let Some(m) = message {
            assert_eq!(err.message(), Some(m.as_str()), "{what}");
        }
        assert!(
            !err.message().unwrap_or_default().contains(token),
            "{what}: the token is never echoed"
        );
        let typed = err.as_service_error().expect("a service error");
        match code {
            "InvalidIdentityToken" => assert!(typed.is_invalid_identity_token_exception(), "{what}: {typed:?}"),
            _ => assert!(typed.meta().code() == Some("AccessDenied"), "{what}: {typed:?}"),
        }
    }
    let stats = server.stats();
    assert_eq!(stats.sts_assume_role_with_web_identity, 0);
    assert_eq!(stats.sts_by_error.get("InvalidIdentityToken"), Some(&5));
    assert_eq!(stats.sts_by_error.get("AccessDenied"), Some(&1));
}

#[tokio::test]
async fn an_expired_token_is_expired_token_exception_on_the_servers_clock() {
    let server = start().await;
    let token = token(&server, builtin::WEB_IDENTITY_SUBJECT, |r| r.ttl_s = Some(900)).await;
    assume_web_identity(&server, &token).await.expect("valid for 900 s");
    control_client(&server).advance_clock(900).await.unwrap();
    let err = assume_web_identity(&server, &token).await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_expired_token_exception(), "{err:?}");
    assert_eq!(err.code(), Some("ExpiredTokenException"));
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    let message = err.message().unwrap();
    assert!(
        message.starts_with("Token expired: current date/time ")
            && message.contains(" must be before the expiration date/time "),
        "{message}"
    );
}

#[tokio::test]
async fn session_length_is_the_roles_not_role_chainings() {
    let server = start().await;
    let token = pod_token(&server).await;
    let send = |seconds: i32| {
        anonymous_sts(&server)
            .assume_role_with_web_identity()
            .role_arn(builtin::WEB_IDENTITY_ROLE_ARN)
            .role_session_name("gateway-pod")
            .web_identity_token(&token)
            .duration_seconds(seconds)
            .send()
    };
    assert!(send(900).await.is_ok());
    let err = send(7200).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(
        err.message(),
        Some("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    );
    assert_eq!(send(899).await.unwrap_err().code(), Some("ValidationError"));
}

#[tokio::test]
async fn only_web_identity_is_unsigned_and_its_faults_apply() {
    let server = start().await;
    let token = pod_token(&server).await;
    let post = |body: String| control_post_form(&server, body);
    let form = |action: &str, extra: &[(&str, &str)]| {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("Action", action).append_pair("Version", "2011-06-15");
        for (k, v) in extra {
            f.append_pair(k, v);
        }
        f.finish()
    };
    let (status, body) = post(form(
        "AssumeRoleWithWebIdentity",
        &[
            ("RoleArn", builtin::WEB_IDENTITY_ROLE_ARN),
            ("RoleSessionName", "raw"),
            ("WebIdentityToken", &token),
        ],
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body
        .contains("<SubjectFromWebIdentityToken>system:serviceaccount:xinvoke:gateway</SubjectFromWebIdentityToken>"));
    let (status, body) = post(form("GetCallerIdentity", &[])).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");

    fault(
        &server,
        serde_json::json!({"action": "sts:AssumeRoleWithWebIdentity", "error": "IDPCommunicationError", "times": 1}),
    )
    .await;
    let err = assume_web_identity(&server, &token).await.unwrap_err();
    assert!(
        err.as_service_error().unwrap().is_idp_communication_error_exception(),
        "{err:?}"
    );
    assert!(
        assume_web_identity(&server, &token).await.is_ok(),
        "the fault fired once"
    );
}

/// POST a form to `/` without any signature; the status and the body.
async fn control_post_form(server: &LocalServer, body: String) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let req = axum::http::Request::post(format!("{}/", server.url()))
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.expect("the endpoint answers");
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// aws-config's default chain, as a pod's SDK runs it: AWS_WEB_IDENTITY_TOKEN_FILE and
/// AWS_ROLE_ARN in its environment (given to the loader, not set in this process, whose other
/// tests run in parallel), the token in a real file, STS at AWS_ENDPOINT_URL.
#[tokio::test]
async fn aws_configs_web_identity_provider_reads_the_token_file_and_gets_a_session() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, pod_token(&server).await).unwrap();
    let no_profile = dir.path().join("no-such-profile");
    let url = server.url();
    let env = aws_types::os_shim_internal::Env::from_slice(&[
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AWS_ROLE_ARN", builtin::WEB_IDENTITY_ROLE_ARN),
        ("AWS_ROLE_SESSION_NAME", "gateway-pod"),
        ("AWS_REGION", builtin::REGION),
        ("AWS_ENDPOINT_URL", &url),
        ("AWS_CONFIG_FILE", no_profile.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", no_profile.to_str().unwrap()),
    ]);
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .env(env)
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .load()
        .await;
    let creds = config
        .credentials_provider()
        .expect("the default chain")
        .provide_credentials()
        .await
        .expect("the web identity provider gets credentials");
    assert!(creds.access_key_id().starts_with("ASIA"), "{creds:?}");
    assert!(creds.session_token().is_some());
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111111111111:assumed-role/xinvoke-web-identity/gateway-pod")
    );

    // And on into account 2 with aws-config's AssumeRoleProvider over the web identity.
    let invoke_role = aws_config::sts::AssumeRoleProvider::builder(builtin::INVOKE_ROLE_ARN)
        .session_name("gateway-pod")
        .external_id(builtin::EXTERNAL_ID)
        .configure(&config)
        .build()
        .await;
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .credentials_provider(invoke_role)
            .build(),
    );
    let out = lambda
        .invoke()
        .function_name(builtin::TARGET_ALIAS_ARN)
        .payload(aws_smithy_types::Blob::new("{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    // Each client's identity cache resolves the chain once, so AssumeRoleWithWebIdentity ran
    // for each; the one AssumeRole was signed by a web identity session (nothing else here has
    // credentials).
    let stats = server.stats();
    assert!(stats.sts_assume_role_with_web_identity >= 1);
    assert_eq!(stats.sts_assume_role, 1);
}

/// A cluster whose tokens are signed elsewhere with RS256: the provider's JWKS in the scenario
/// verifies them, and a token signed by another RSA key is refused.
#[tokio::test]
async fn rs256_tokens_of_an_outside_issuer_verify_against_the_providers_jwks() {
    let server = start_with(scenario_file("web-identity-rs256.toml")).await;
    let pem = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/web-identity-rs256.key.pem"),
    )
    .unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>())
        .unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |kid: &str, sub: &str| {
        let header = serde_json::json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
        let claims = serde_json::json!({
            "iss": "https://kubernetes.example/cluster-1", "sub": sub, "aud": ["sts.amazonaws.com"],
            "iat": now - 10, "nbf": now - 10, "exp": now + 600,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    };
    let assume = |token: String| {
        anonymous_sts(&server)
            .assume_role_with_web_identity()
            .role_arn("arn:aws:iam::333333333333:role/apps")
            .role_session_name("worker")
            .web_identity_token(token)
            .send()
    };
    let out = assume(sign("cluster-1-key", "system:serviceaccount:apps:worker"))
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user().map(|u| u.arn()),
        Some("arn:aws:sts::333333333333:assumed-role/apps/worker")
    );
    assert_eq!(
        out.provider(),
        Some("arn:aws:iam::333333333333:oidc-provider/kubernetes.example/cluster-1")
    );
    let err = assume(sign("another-key", "system:serviceaccount:apps:worker"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidIdentityToken"), "a kid the JWKS does not list");
    let err = assume(sign("cluster-1-key", "system:serviceaccount:kube-system:worker"))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("AccessDenied"),
        "StringLike on sub refuses another namespace"
    );
}
