//! `xinvoke doctor` as a user runs it (the checks themselves, in-process against the local
//! endpoint, are the crate's tests: `src/tests/doctor.rs`).

use xinvoke::local::builtin;

/// With no credentials at all, doctor names the missing link of the chain (here IRSA's role
/// variable) instead of a network or "no credentials" message.
#[test]
fn without_credentials_doctor_names_the_missing_link() {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.args(["doctor", "--target", builtin::TARGET_ALIAS_ARN]);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("XINVOKE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env(
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✗ caller_identity") && text.contains("AWS_ROLE_ARN is not"),
        "{text}"
    );
}
