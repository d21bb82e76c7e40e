//! `xinvoke` in every partition, as a user runs it: doctor prints the endpoints the AWS SDKs
//! would call, and an ARN whose partition is not its region's is refused before any call (the
//! resolution itself is tested in-process in the crate's `src/tests/endpoints.rs`).

use crate::common::sdk_capture::{base, sdk_lambda_url, sdk_sts_url};

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
            sdk_lambda_url(&base, "cn-north-1", "aws-cn").await,
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
