//! AWS profiles of the kinds that fetch credentials elsewhere, as a user has them: an IAM
//! Identity Center (SSO) profile in the test's own AWS config file, with a home directory of
//! its own for the token cache `aws sso login` writes. Without a cached token `xinvoke invoke`
//! and `doctor` say so, naming the file looked at and the login command; with one, the SDK
//! trades it at an SSO portal on loopback (AWS_ENDPOINT_URL_SSO; GetRoleCredentials as AWS
//! serves it) for credentials the local endpoint accepts, and the invoke succeeds.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use xinvoke::local::{builtin, LocalServer};

/// The access token the fake cache holds; it must never be printed.
const ACCESS_TOKEN: &str = "sso-access-token-never-printed";
/// The role the profile names and the portal grants.
const ROLE: &str = "xinvoke-source";

/// A user's AWS set-up in a temporary directory: `config` with an `sso-session` and a profile
/// using it, and `home/` whose `.aws/sso/cache` holds what `aws sso login` would write.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(role: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(
            dir.path().join("config"),
            format!(
                "[profile dev]\n\
                 sso_session = corp\n\
                 sso_account_id = {account}\n\
                 sso_role_name = {role}\n\
                 region = {region}\n\
                 \n\
                 [profile chained]\n\
                 role_arn = arn:aws:iam::{account}:role/other\n\
                 source_profile = dev\n\
                 \n\
                 [sso-session corp]\n\
                 sso_start_url = https://corp.awsapps.com/start\n\
                 sso_region = {region}\n\
                 sso_registration_scopes = sso:account:access\n",
                account = builtin::SOURCE_ACCOUNT,
                region = builtin::REGION,
            ),
        )
        .unwrap();
        Setup { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Where `aws sso login --profile dev` caches the session `corp`'s token:
    /// ~/.aws/sso/cache/<sha1("corp")>.json.
    fn token_file(&self) -> PathBuf {
        self.home()
            .join(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json")
    }

    /// Cache a token as `aws sso login` does, expiring at `expires_at`.
    fn login(&self, expires_at: &str) {
        let path = self.token_file();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let token = serde_json::json!({
            "startUrl": "https://corp.awsapps.com/start",
            "region": builtin::REGION,
            "accessToken": ACCESS_TOKEN,
            "expiresAt": expires_at,
        });
        std::fs::write(path, token.to_string()).unwrap();
    }

    /// `xinvoke ARGS` as the user runs it with AWS_PROFILE=`profile`: nothing from this
    /// process's environment, Lambda and STS at the local endpoint, SSO at `portal`.
    async fn xinvoke(&self, args: &[&str], profile: &str, local: &LocalServer, portal: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xinvoke"));
        cmd.args(args)
            .env_clear()
            .env("HOME", self.home())
            .env("AWS_CONFIG_FILE", self.dir.path().join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.path().join("credentials"))
            .env("AWS_PROFILE", profile)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", local.url())
            .env("XINVOKE_TARGET_ARN", builtin::TARGET_ALIAS_ARN);
        if let Some(p) = portal {
            cmd.env("AWS_ENDPOINT_URL_SSO", p);
        }
        tokio::task::spawn_blocking(move || cmd.output().expect("xinvoke runs"))
            .await
            .unwrap()
    }
}

/// A call the portal received: the role, the account and the bearer token.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// IAM Identity Center's portal API on loopback, as the SDK calls it: `GET
/// /federation/credentials?role_name=R&account_id=A` with `x-amz-sso_bearer_token`. It grants
/// the built-in source role's keys (which the local endpoint accepts) for the cached token and
/// the profile's role, and refuses anything else as the portal does.
async fn portal() -> (String, Seen, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::IntoResponse;
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/federation/credentials",
        axum::routing::get(move |uri: Uri, headers: HeaderMap| {
            let log = log.clone();
            async move {
                let query: std::collections::HashMap<String, String> =
                    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect();
                let get = |k: &str| query.get(k).cloned().unwrap_or_default();
                let token = headers
                    .get("x-amz-sso_bearer_token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                log.lock()
                    .unwrap()
                    .push((get("role_name"), get("account_id"), token.clone()));
                let error = |status: StatusCode, kind: &'static str, message: &'static str| {
                    (
                        status,
                        [("x-amzn-errortype", kind), ("content-type", "application/json")],
                        serde_json::json!({ "message": message }).to_string(),
                    )
                        .into_response()
                };
                if token != ACCESS_TOKEN {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        "UnauthorizedException",
                        "Session token not found or invalid",
                    );
                }
                if get("role_name") != ROLE || get("account_id") != builtin::SOURCE_ACCOUNT {
                    return error(StatusCode::FORBIDDEN, "ForbiddenException", "No access");
                }
                let expiration = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
                    + 3_600_000;
                let body = serde_json::json!({"roleCredentials": {
                    "accessKeyId": builtin::SOURCE_ACCESS_KEY,
                    "secretAccessKey": builtin::SOURCE_SECRET_KEY,
                    "sessionToken": builtin::SOURCE_SESSION_TOKEN,
                    "expiration": expiration,
                }});
                ([("content-type", "application/json")], body.to_string()).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen, task)
}

fn record(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a record ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Nothing the user sees carries the token.
fn no_token(out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(ACCESS_TOKEN),
            "the token leaked"
        );
    }
}

fn hint(out: &Output) -> String {
    record(out)["hint"].as_str().unwrap_or_default().to_string()
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test]
async fn without_a_cached_token_invoke_and_doctor_name_the_file_and_the_login_command() {
    let local = start().await;
    let setup = Setup::new(ROLE);
    let out = setup.xinvoke(&["invoke"], "dev", &local, None).await;
    no_token(&out);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(record(&out)["class"], "credentials");
    let h = hint(&out);
    assert!(
        h.contains("IAM Identity Center") && h.contains("sso_session \"corp\""),
        "{h}"
    );
    assert!(h.contains("no SSO token is cached"), "{h}");
    assert!(h.contains(&shown(&setup.token_file())), "names the file looked at: {h}");
    assert!(h.contains("aws sso login --profile dev"), "{h}");
    assert_eq!(local.stats().invokes, 0, "nothing was sent");

    // A role profile whose source_profile is the SSO one: the same missing link, said so.
    let out = setup.xinvoke(&["invoke"], "chained", &local, None).await;
    let h = hint(&out);
    assert!(
        h.contains("profile \"chained\" (through its source_profile \"dev\")")
            && h.contains("aws sso login --profile chained"),
        "{h}"
    );

    let out = setup.xinvoke(&["doctor"], "dev", &local, None).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("aws sso login --profile dev") && text.contains(&shown(&setup.token_file())),
        "{text}"
    );
    no_token(&out);
    local.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_named_with_its_expiry() {
    let local = start().await;
    let setup = Setup::new(ROLE);
    setup.login("2020-01-01T00:00:00Z");
    let (url, seen, portal) = portal().await;
    let out = setup.xinvoke(&["invoke"], "dev", &local, Some(&url)).await;
    no_token(&out);
    let h = hint(&out);
    assert!(
        h.contains("expired at 2020-01-01T00:00:00Z") && h.contains("aws sso login --profile dev"),
        "{h}"
    );
    assert!(seen.lock().unwrap().is_empty(), "an expired token is not sent");
    portal.abort();
    local.shutdown().await;
}

#[tokio::test]
async fn a_cached_token_becomes_credentials_at_the_portal_and_the_invoke_succeeds() {
    let local = start().await;
    let setup = Setup::new(ROLE);
    setup.login("2099-01-01T00:00:00Z");
    let (url, seen, portal) = portal().await;
    let out = setup
        .xinvoke(&["invoke", "--payload", r#"{"via":"sso"}"#], "dev", &local, Some(&url))
        .await;
    no_token(&out);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let r = record(&out);
    assert_eq!(r["class"], "ok");
    assert_eq!(r["payload"], serde_json::json!({"via": "sso"}));
    assert_eq!(
        seen.lock().unwrap().first().cloned(),
        Some((
            ROLE.to_string(),
            builtin::SOURCE_ACCOUNT.to_string(),
            ACCESS_TOKEN.to_string()
        )),
        "the SDK traded the cached token for the profile's role"
    );
    assert_eq!(local.stats().invokes, 1);
    portal.abort();
    local.shutdown().await;
}

#[tokio::test]
async fn a_role_the_portal_refuses_is_named_with_its_account() {
    let local = start().await;
    let setup = Setup::new("not-assigned");
    setup.login("2099-01-01T00:00:00Z");
    let (url, _seen, portal) = portal().await;
    let out = setup.xinvoke(&["invoke"], "dev", &local, Some(&url)).await;
    no_token(&out);
    assert_eq!(out.status.code(), Some(1));
    let h = hint(&out);
    assert!(
        h.contains(&format!("role not-assigned in account {}", builtin::SOURCE_ACCOUNT))
            && h.contains(&url)
            && h.contains("aws sso list-account-roles --profile dev"),
        "{h}"
    );
    portal.abort();
    local.shutdown().await;
}

#[tokio::test]
async fn load_names_the_missing_token_before_the_run_and_runs_with_one() {
    let local = start().await;
    let setup = Setup::new(ROLE);
    let args = ["load", "--rate", "20", "--requests", "3", "--quiet"];
    let out = setup.xinvoke(&args, "dev", &local, None).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no AWS credentials") && err.contains("aws sso login --profile dev"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no report: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(local.stats().invokes, 0);

    setup.login("2099-01-01T00:00:00Z");
    let (url, _seen, portal) = portal().await;
    let out = setup.xinvoke(&args, "dev", &local, Some(&url)).await;
    no_token(&out);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(local.stats().invokes, 3, "{report}");
    portal.abort();
    local.shutdown().await;
}

/// A gateway file whose one upstream signs with the profile `dev` (Gloo: `secretRef: dev`).
fn gateway_file(setup: &Setup) -> PathBuf {
    let path = setup.dir.path().join("gateway.yaml");
    std::fs::write(
        &path,
        format!(
            "upstreams:\n\
             - name: account2\n  region: {}\n  awsAccountId: \"{}\"\n  profile: dev\n  \
               lambdaFunctions: [{{lambdaFunctionName: target, logicalName: target, qualifier: live}}]\n\
             routes:\n\
             - name: target\n  matchers: [{{exact: /target}}]\n  upstream: account2\n  logicalName: target\n",
            builtin::REGION,
            builtin::TARGET_ACCOUNT
        ),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn the_gateway_names_the_missing_token_at_start_and_signs_with_the_profile_once_logged_in() {
    use std::io::{BufRead, BufReader};
    let local = start().await;
    let setup = Setup::new(ROLE);
    let config = gateway_file(&setup);
    let config = config.to_str().unwrap();
    let args = [
        "gateway",
        "--config",
        config,
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    ];
    // AWS_PROFILE names another profile: the upstream's own is the one that counts.
    let out = setup.xinvoke(&args, "nobody", &local, None).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("account2") && err.contains("aws sso login --profile dev"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "it never says it listens");

    setup.login("2099-01-01T00:00:00Z");
    let (url, seen, portal) = portal().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.args(args)
        .env_clear()
        .env("HOME", setup.home())
        .env("AWS_CONFIG_FILE", setup.dir.path().join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", setup.dir.path().join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", local.url())
        .env("AWS_ENDPOINT_URL_SSO", &url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let gateway = first.trim().strip_prefix("listening on ").map(str::to_string);
    let status = match &gateway {
        Some(g) => {
            use http_body_util::Full;
            use hyper_util::client::legacy::Client;
            use hyper_util::rt::TokioExecutor;
            let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let req = axum::http::Request::post(format!("{g}/target"))
                .body(Full::new(bytes::Bytes::from_static(b"{\"p\":1}")))
                .unwrap();
            client.request(req).await.map(|r| r.status().as_u16()).ok()
        }
        None => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        gateway.is_some(),
        "the gateway starts with the profile's SSO credentials: {first:?}"
    );
    assert_eq!(status, Some(200), "the route's invoke is signed with them");
    assert!(!seen.lock().unwrap().is_empty(), "through the portal");
    portal.abort();
    local.shutdown().await;
}
