//! Every partition, every endpoint setting: what xinvoke calls is what the AWS SDKs would call.
//! For us-east-1, cn-north-1 and us-gov-west-1, with and without FIPS and dual-stack (set as
//! the variables AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT, read by aws-config), the
//! Lambda and STS endpoints xinvoke resolves (and the signed path sends to, and doctor prints)
//! equal the URL aws-sdk-lambda's and aws-sdk-sts's own clients put on their request, captured
//! by an interceptor just before it would be sent. Nothing here is compared with a URL typed in
//! by hand. The signed path's credential scope is compared with the SDK's the same way, both
//! sending to a capture server on loopback.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::os_shim_internal::Env;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xinvoke::adapters::config::Settings;
use xinvoke::adapters::endpoints;
use xinvoke::adapters::signed::InvokePath;
use xinvoke::core::arn::{partition_dns_suffixes, partition_of_region};
use xinvoke::invoke::service::{Call, Service};

/// The request an SDK client was about to send: its URI and Authorization header.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Option<(String, String)>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "capture"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let auth = req.headers().get("authorization").unwrap_or_default().to_string();
        *self.0.lock().unwrap() = Some((req.uri().to_string(), auth));
        Err("captured before sending".into())
    }
}

impl Capture {
    fn taken(&self) -> (String, String) {
        self.0.lock().unwrap().clone().expect("the SDK built its request")
    }
}

/// The shared configuration as aws-config loads it from these variables alone.
async fn base(vars: &[(&str, &str)]) -> aws_config::SdkConfig {
    let mut all = vec![
        ("AWS_ACCESS_KEY_ID", "AKIAENDPOINTTEST0001"),
        ("AWS_SECRET_ACCESS_KEY", "endpoint-test-secret"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    all.extend_from_slice(vars);
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .env(Env::from_slice(&all))
        .http_client(xinvoke::adapters::transport::sdk_http_client())
        .load()
        .await
}

/// Scheme and host of a URL.
fn origin(url: &str) -> String {
    let u: http::Uri = url.parse().unwrap();
    format!("{}://{}", u.scheme_str().unwrap(), u.authority().unwrap())
}

async fn sdk_lambda_url(base: &aws_config::SdkConfig, region: &str) -> String {
    let capture = Capture::default();
    let conf = aws_sdk_lambda::config::Builder::from(base)
        .region(aws_config::Region::new(region.to_string()))
        .interceptor(capture.clone())
        .build();
    let arn = format!(
        "arn:{}:lambda:{region}:222222222222:function:t:live",
        partition_of_region(region).unwrap()
    );
    let _ = aws_sdk_lambda::Client::from_conf(conf)
        .invoke()
        .function_name(arn)
        .send()
        .await;
    origin(&capture.taken().0)
}

async fn sdk_sts_url(base: &aws_config::SdkConfig, region: &str) -> String {
    let capture = Capture::default();
    let conf = aws_sdk_sts::config::Builder::from(base)
        .region(aws_config::Region::new(region.to_string()))
        .interceptor(capture.clone())
        .build();
    let _ = aws_sdk_sts::Client::from_conf(conf).get_caller_identity().send().await;
    origin(&capture.taken().0)
}

#[tokio::test]
async fn lambda_and_sts_endpoints_are_the_sdks_in_every_partition_and_setting() {
    let mut seen = std::collections::BTreeSet::new();
    for region in ["us-east-1", "cn-north-1", "us-gov-west-1"] {
        for fips in ["false", "true"] {
            for dual in ["false", "true"] {
                let base = base(&[
                    ("AWS_REGION", region),
                    ("AWS_USE_FIPS_ENDPOINT", fips),
                    ("AWS_USE_DUALSTACK_ENDPOINT", dual),
                ])
                .await;
                let case = format!("{region} fips={fips} dualstack={dual}");
                let ours = endpoints::lambda(&base, region).unwrap_or_else(|e| panic!("{case}: {e}"));
                assert_eq!(origin(&ours), sdk_lambda_url(&base, region).await, "lambda, {case}");
                let ours_sts = endpoints::sts(&base, region).unwrap_or_else(|e| panic!("{case}: {e}"));
                assert_eq!(origin(&ours_sts), sdk_sts_url(&base, region).await, "sts, {case}");
                seen.insert(ours);
            }
        }
    }
    // Twelve settings, twelve different hosts: every setting changed where the call goes.
    assert_eq!(seen.len(), 12, "{seen:#?}");
}

/// The profile's settings (`use_fips_endpoint`, `use_dualstack_endpoint`, a `services` section's
/// `endpoint_url`) count as the variables do.
#[tokio::test]
async fn a_profiles_endpoint_settings_count_as_the_sdks() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile gov]\nregion = us-gov-west-1\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n\n[profile local]\nregion = cn-north-1\nservices = local-services\n\n[services local-services]\nlambda =\n  endpoint_url = http://127.0.0.1:9/from-profile\n",
    )
    .unwrap();
    for (profile, region) in [("gov", "us-gov-west-1"), ("local", "cn-north-1")] {
        let base = base(&[("AWS_PROFILE", profile), ("AWS_CONFIG_FILE", config.to_str().unwrap())]).await;
        let ours = endpoints::lambda(&base, region).unwrap();
        let capture = Capture::default();
        let conf = aws_sdk_lambda::config::Builder::from(&base)
            .interceptor(capture.clone())
            .build();
        let arn = format!(
            "arn:{}:lambda:{region}:222222222222:function:t",
            partition_of_region(region).unwrap()
        );
        let _ = aws_sdk_lambda::Client::from_conf(conf)
            .invoke()
            .function_name(arn)
            .send()
            .await;
        let sdk = capture.taken().0;
        assert!(sdk.starts_with(&ours), "{profile}: ours {ours}, the SDK's {sdk}");
        assert!(
            ours.contains("fips") || ours.contains("from-profile"),
            "{profile}: {ours}"
        );
    }
}

#[tokio::test]
async fn endpoint_urls_win_as_in_the_sdk_and_fips_with_one_is_refused_as_the_sdk_refuses_it() {
    let base1 = base(&[
        ("AWS_REGION", "cn-north-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9/general"),
        ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9/lambda"),
    ])
    .await;
    let ours = endpoints::lambda(&base1, "cn-north-1").unwrap();
    let capture = Capture::default();
    let conf = aws_sdk_lambda::config::Builder::from(&base1)
        .interceptor(capture.clone())
        .build();
    let _ = aws_sdk_lambda::Client::from_conf(conf)
        .invoke()
        .function_name("arn:aws-cn:lambda:cn-north-1:222222222222:function:t")
        .send()
        .await;
    assert!(capture.taken().0.starts_with(&ours), "{ours} vs {:?}", capture.taken());
    assert_eq!(
        origin(&endpoints::sts(&base1, "cn-north-1").unwrap()),
        origin(&sdk_sts_url(&base1, "cn-north-1").await)
    );
    // FIPS with an endpoint URL: the SDK's resolver refuses it, and so does xinvoke, in its words.
    let base2 = base(&[
        ("AWS_REGION", "us-gov-west-1"),
        ("AWS_USE_FIPS_ENDPOINT", "true"),
        ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9"),
    ])
    .await;
    let e = endpoints::lambda(&base2, "us-gov-west-1").unwrap_err().to_string();
    let sdk = aws_sdk_lambda::Client::new(&base2)
        .invoke()
        .function_name("arn:aws-us-gov:lambda:us-gov-west-1:222222222222:function:t")
        .send()
        .await
        .unwrap_err();
    let sdk_text = format!("{:?}", sdk);
    assert!(e.contains("FIPS and custom endpoint are not supported"), "{e}");
    assert!(
        sdk_text.contains("FIPS and custom endpoint are not supported"),
        "{sdk_text}"
    );
}

/// The region patterns xinvoke refuses mismatched ARNs by, and the DNS suffixes it builds the
/// SSM and Organizations endpoints on (no SDK crate of theirs is built), give for each region
/// the hosts aws-sdk-lambda's resolver gives, plain and dual-stack.
#[tokio::test]
async fn the_partition_of_a_region_and_its_suffixes_are_the_sdks() {
    for region in [
        "us-east-1",
        "eu-west-3",
        "ap-southeast-7",
        "mx-central-1",
        "cn-northwest-1",
        "us-gov-east-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "us-isof-south-1",
        "eusc-de-east-1",
    ] {
        let partition = partition_of_region(region).unwrap_or_else(|| panic!("{region}: no partition"));
        let (dns, dual) = partition_dns_suffixes(partition).unwrap();
        let plain = base(&[("AWS_REGION", region)]).await;
        assert_eq!(
            sdk_lambda_url(&plain, region).await,
            format!("https://lambda.{region}.{dns}"),
            "{region} ({partition})"
        );
        let dual_stack = base(&[("AWS_REGION", region), ("AWS_USE_DUALSTACK_ENDPOINT", "true")]).await;
        assert_eq!(
            sdk_lambda_url(&dual_stack, region).await,
            format!("https://lambda.{region}.{dual}"),
            "{region} ({partition}) dual-stack"
        );
    }
}

/// A server on loopback that answers every request 200 `{}` and keeps its Authorization headers.
async fn capture_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let keep = Arc::clone(&keep);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut len = 0;
                loop {
                    let Ok(n) = sock.read(&mut buf[len..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    len += n;
                    let text = String::from_utf8_lossy(&buf[..len]).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let head = &text[..head_end];
                        let body_len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if len < head_end + 4 + body_len {
                            continue;
                        }
                        if let Some(auth) = head.lines().find_map(|l| {
                            l.split_once(':')
                                .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                                .map(|(_, v)| v.trim().to_string())
                        }) {
                            keep.lock().unwrap().push(auth);
                        }
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nx-amz-executed-version: 1\r\n\r\n{}")
                            .await;
                        len = 0;
                    }
                }
            });
        }
    });
    (url, seen)
}

/// `Credential=KEY/DATE/REGION/SERVICE/aws4_request` without the key and date.
fn scope(authorization: &str) -> String {
    let credential = authorization
        .split("Credential=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    credential.splitn(3, '/').nth(2).unwrap().to_string()
}

#[tokio::test]
async fn the_signed_path_signs_for_the_targets_region_as_the_sdk_does() {
    for region in ["us-east-1", "cn-north-1", "us-gov-west-1"] {
        let (url, seen) = capture_server().await;
        let base = base(&[("AWS_REGION", region), ("AWS_ENDPOINT_URL", &url)]).await;
        let arn = format!(
            "arn:{}:lambda:{region}:222222222222:function:t:live",
            partition_of_region(region).unwrap()
        );
        let vars = HashMap::from([("XINVOKE_TARGET_ARN".to_string(), arn.clone())]);
        let settings = Settings::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let service = Service::with_path(settings, &base, InvokePath::Signed).await;
        assert_eq!(
            service.path(),
            InvokePath::Signed,
            "{region}: the signed path was built"
        );
        let record = service
            .invoke(
                Call {
                    payload: b"{}".to_vec(),
                    ..Call::default()
                },
                None,
            )
            .await
            .unwrap();
        assert!(record.is_ok(), "{region}: {record:?}");
        let _ = aws_sdk_lambda::Client::new(&base)
            .invoke()
            .function_name(&arn)
            .send()
            .await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{region}: {seen:?}");
        assert_eq!(scope(&seen[0]), scope(&seen[1]), "{region}: signed path vs SDK");
        assert_eq!(scope(&seen[0]), format!("{region}/lambda/aws4_request"));
    }
}

fn xinvoke(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.args(args)
        .env_clear()
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIAENDPOINTTEST0001")
        .env("AWS_SECRET_ACCESS_KEY", "endpoint-test-secret");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("xinvoke runs")
}

/// The check: `AWS_REGION=cn-north-1 xinvoke doctor --target arn:aws-cn:...` names the
/// China endpoints (the SDK's, captured) as its first lines, before the checks that fail to
/// connect.
#[tokio::test]
async fn doctor_prints_the_sdks_endpoints_first() {
    let target = "arn:aws-cn:lambda:cn-north-1:222222222222:function:t:live";
    let (fips, dual) = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT");
    for settings in [vec![], vec![(fips, "true"), (dual, "true")]] {
        let mut env = vec![("AWS_REGION", "cn-north-1")];
        env.extend(settings.iter().copied());
        let base = base(&env).await;
        let (lambda, sts) = (
            sdk_lambda_url(&base, "cn-north-1").await,
            sdk_sts_url(&base, "cn-north-1").await,
        );
        let out = tokio::task::spawn_blocking(move || xinvoke(&["doctor", "--target", target], &env))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some(format!("lambda endpoint: {lambda}").as_str()),
            "{text}"
        );
        assert_eq!(
            lines.get(1).copied(),
            Some(format!("sts endpoint: {sts}").as_str()),
            "{text}"
        );
        assert!(
            lambda.ends_with(".amazonaws.com.cn") || lambda.ends_with(".amazonwebservices.com.cn"),
            "{lambda}"
        );
    }
}

#[test]
fn an_arn_whose_partition_is_not_its_regions_is_refused_before_any_call() {
    for (args, names) in [
        (
            vec![
                "invoke",
                "--target",
                "arn:aws:lambda:cn-north-1:222222222222:function:t:live",
            ],
            "--target / XINVOKE_TARGET_ARN",
        ),
        (
            vec![
                "doctor",
                "--target",
                "arn:aws-cn:lambda:us-gov-west-1:222222222222:function:t:live",
            ],
            "--target / XINVOKE_TARGET_ARN",
        ),
        (
            vec![
                "invoke",
                "--target",
                "arn:aws-cn:lambda:cn-north-1:222222222222:function:t:live",
                "--role-arn",
                "arn:aws:iam::222222222222:role/xinvoke-invoke",
                "--external-id",
                "abc-123",
            ],
            "arn:aws:iam::222222222222:role/xinvoke-invoke names partition aws",
        ),
        (
            vec![
                "policy",
                "--mode",
                "resource",
                "--org",
                "o-a1b2c3d4e5",
                "--target",
                "arn:aws:lambda:cn-north-1:222222222222:function:t:live",
            ],
            "--target: ",
        ),
    ] {
        // Nothing listens at this endpoint: a call would fail otherwise than with exit code 2.
        let out = xinvoke(
            &args,
            &[("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(names) && err.contains("is a region of"), "{args:?}: {err}");
    }
}
