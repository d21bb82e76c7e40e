//! The `xinvoke` binary as a user runs it. `invoke`: the AWS variables pointing at a local
//! account 2, the record on stdout and the exit code following the class. `local`: its first
//! line, its stop on Ctrl-C, its errors.

use crate::common::*;
use serde_json::Value;
use std::process::{Command, Output};
use xinvoke::local::{builtin, LocalServer};

async fn xinvoke(server: &LocalServer, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xinvoke"));
    cmd.arg("invoke")
        .args(args)
        .env_clear()
        .env("AWS_ENDPOINT_URL", server.url())
        .env("AWS_REGION", builtin::REGION)
        .env("AWS_ACCESS_KEY_ID", builtin::SOURCE_ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", builtin::SOURCE_SECRET_KEY)
        .env("AWS_SESSION_TOKEN", builtin::SOURCE_SESSION_TOKEN)
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("xinvoke runs"))
        .await
        .unwrap()
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

#[tokio::test]
async fn a_successful_invoke_prints_the_record_and_exits_zero() {
    let server = start().await;
    let out = xinvoke(
        &server,
        &["--target", builtin::TARGET_ALIAS_ARN, "--payload", r#"{"hi":1}"#],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let r = record(&out);
    assert_eq!((r["class"].as_str(), r["attempts"].as_u64()), (Some("ok"), Some(1)));
    assert_eq!(r["payload"], serde_json::json!({"hi": 1}));
    assert!(
        out.stderr.is_empty(),
        "nothing on stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn role_chaining_from_the_environment_and_a_failure_exits_one() {
    let server = start().await;
    let env = [
        ("XINVOKE_TARGET_ARN", builtin::TARGET_FUNCTION_ARN),
        ("XINVOKE_ROLE_ARN", builtin::INVOKE_ROLE_ARN),
        ("XINVOKE_EXTERNAL_ID", builtin::EXTERNAL_ID),
    ];
    let ok = xinvoke(&server, &["--type", "Event"], &env).await;
    assert_eq!((ok.status.code(), record(&ok)["status"].as_u64()), (Some(0), Some(202)));
    settle_events(&server).await;
    fault(
        &server,
        serde_json::json!({"function": "target", "error": "ENILimitReachedException", "times": 1}),
    )
    .await;
    let failed = xinvoke(&server, &["--no-retry"], &env).await;
    assert_eq!(failed.status.code(), Some(1));
    let r = record(&failed);
    assert_eq!(
        (r["class"].as_str(), r["stop"].as_str()),
        (Some("eni_limit"), Some("retries_disabled"))
    );
    assert!(r["hint"].as_str().unwrap().contains("ENI"));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_exits_two_naming_the_flag_and_never_echoing_the_external_id() {
    let server = start().await;
    let cases: &[(&[&str], &str)] = &[
        (&["--target", "target"], "'--target <ARN>'"),
        (&["--target", builtin::TARGET_ALIAS_ARN, "--payload", "{"], "--payload"),
        (
            &["--target", builtin::TARGET_ALIAS_ARN, "--qualifier", "$LATEST"],
            "--qualifier",
        ),
        (
            &[
                "--target",
                builtin::TARGET_ALIAS_ARN,
                "--role-arn",
                builtin::INVOKE_ROLE_ARN,
            ],
            "--external-id / XINVOKE_EXTERNAL_ID",
        ),
        (
            &["--target", builtin::TARGET_ALIAS_ARN, "--external-id", "s3cr3t value"],
            "XINVOKE_EXTERNAL_ID",
        ),
        (
            &["--target", builtin::TARGET_ALIAS_ARN, "--deadline", "0"],
            "--deadline",
        ),
        (&[], "no target is configured"),
    ];
    for (args, named) in cases {
        let out = xinvoke(&server, args, &[]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(named), "{args:?}: {err}");
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(out.stdout.is_empty());
    }
    let big = "x".repeat(7 * 1024 * 1024);
    let path = std::env::temp_dir().join(format!("xinvoke-big-{}.json", std::process::id()));
    std::fs::write(&path, format!("\"{big}\"")).unwrap();
    let out = xinvoke(
        &server,
        &[
            "--target",
            builtin::TARGET_ALIAS_ARN,
            "--payload-file",
            path.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    std::fs::remove_file(&path).ok();
    let r = record(&out);
    assert_eq!(
        (out.status.code(), r["class"].as_str(), r["attempts"].as_u64()),
        (Some(1), Some("payload_too_large"), Some(0))
    );
    assert_eq!(server.stats().invokes, 0, "nothing was sent");
    server.shutdown().await;
}

/// Flags, and variables, of one `xinvoke invoke`.
type Flags<'a> = &'a [&'a str];
type Env<'a> = &'a [(&'a str, &'a str)];

/// One syntax for every duration: flags and `*_MS` variables take `30s`, `1500ms`, `2m`; a bare
/// number keeps its old unit (seconds for `--deadline`, milliseconds for the `*_MS` settings);
/// a bad one exits 2 naming the flag or variable and showing an example. (`xinvoke load`'s
/// duration flags: tests/it/load_cli.rs.)
#[tokio::test]
async fn every_duration_flag_and_variable_takes_the_one_syntax_and_bare_numbers_keep_their_unit() {
    let server = start().await;
    let target = ["--target", builtin::TARGET_ALIAS_ARN];
    let written: &[(Flags, Env)] = &[
        (
            &[
                "--deadline",
                "30s",
                "--attempt-timeout-ms",
                "1500ms",
                "--connect-timeout-ms",
                "2s",
            ],
            &[],
        ),
        (
            &[
                "--deadline",
                "2m",
                "--attempt-timeout-ms",
                "25000",
                "--connect-timeout-ms",
                "500",
            ],
            &[],
        ),
        (
            &["--deadline", "45"],
            &[
                ("XINVOKE_ATTEMPT_TIMEOUT_MS", "30s"),
                ("XINVOKE_CONNECT_TIMEOUT_MS", "1500ms"),
            ],
        ),
        (
            &[],
            &[
                ("XINVOKE_ATTEMPT_TIMEOUT_MS", "25000"),
                ("XINVOKE_DEADLINE_MARGIN_MS", "1s"),
            ],
        ),
    ];
    for (flags, env) in written {
        let args: Vec<&str> = target.iter().chain(flags.iter()).copied().collect();
        let out = xinvoke(&server, &args, env).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{flags:?} {env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(record(&out)["class"], "ok");
    }
    // Too short to answer: the attempt timeout was read as 1 ms, not 1 s.
    let out = xinvoke(
        &server,
        &[
            "--target",
            builtin::TARGET_ALIAS_ARN,
            "--no-retry",
            "--attempt-timeout-ms",
            "1",
        ],
        &[],
    )
    .await;
    assert_eq!(record(&out)["class"], "timeout", "a bare 1 is one millisecond");
    let refused: &[(Flags, Env, &str)] = &[
        (&["--deadline", "soon"], &[], "--deadline <DURATION>"),
        (&["--deadline", "5d"], &[], "--deadline <DURATION>"),
        (&["--attempt-timeout-ms", "20m"], &[], "--attempt-timeout-ms <DURATION>"),
        (&["--connect-timeout-ms", "1w"], &[], "--connect-timeout-ms <DURATION>"),
        (
            &[],
            &[("XINVOKE_ATTEMPT_TIMEOUT_MS", "soon")],
            "XINVOKE_ATTEMPT_TIMEOUT_MS",
        ),
        (
            &[],
            &[("XINVOKE_DEADLINE_MARGIN_MS", "2m")],
            "XINVOKE_DEADLINE_MARGIN_MS",
        ),
    ];
    for (flags, env, named) in refused {
        let args: Vec<&str> = target.iter().chain(flags.iter()).copied().collect();
        let out = xinvoke(&server, &args, env).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?} {env:?}: {err}");
        assert!(err.contains(named), "{flags:?} {env:?} names {named}: {err}");
        assert!(err.contains("e.g."), "{flags:?} {env:?} shows an example: {err}");
    }
    // The help says the unit of a bare number.
    let help = Command::new(env!("CARGO_BIN_EXE_xinvoke"))
        .args(["invoke", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--deadline <DURATION>") && help.contains("a bare number is seconds"),
        "{help}"
    );
    assert!(
        help.contains("--attempt-timeout-ms <DURATION>") && help.contains("a bare number is milliseconds"),
        "{help}"
    );
    server.shutdown().await;
}

#[test]
fn xinvoke_local_announces_its_address_first_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_xinvoke"))
        .args(["local", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xinvoke local starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    let addr: std::net::SocketAddr = url.strip_prefix("http://").unwrap().parse().expect("HOST:PORT");
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{url}");
    std::net::TcpStream::connect(addr).expect("it listens where it says");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "a clean stop on SIGINT");
}

#[test]
fn xinvoke_local_names_a_bad_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, "region = 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xinvoke"))
        .args(["local", "--listen", "127.0.0.1:0", "--scenario", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("broken.toml") && err.contains("region"), "{err}");
}

#[tokio::test]
async fn xinvoke_local_token_prints_a_token_sts_accepts_and_names_a_bad_url() {
    let server = start().await;
    let run = |args: Vec<String>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xinvoke"));
        cmd.args(["local", "token"]).args(args).env_clear();
        tokio::task::spawn_blocking(move || cmd.output().expect("xinvoke runs"))
    };
    let out = run(vec![
        "--url".into(),
        server.url(),
        "--sub".into(),
        builtin::WEB_IDENTITY_SUBJECT.into(),
    ])
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Not a terminal: the token alone, as a token file holds it.
    let token = String::from_utf8(out.stdout).unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    assert!(!token.contains(char::is_whitespace), "{token:?}");
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::new()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new(builtin::REGION))
            .http_client(xinvoke::http_client())
            .endpoint_url(server.url())
            .build(),
    );
    let session = sts
        .assume_role_with_web_identity()
        .role_arn(builtin::WEB_IDENTITY_ROLE_ARN)
        .role_session_name("cli")
        .web_identity_token(&token)
        .send()
        .await
        .expect("the printed token is accepted");
    assert_eq!(
        session.subject_from_web_identity_token(),
        Some(builtin::WEB_IDENTITY_SUBJECT)
    );

    let out = run(vec!["--url".into(), "localhost:1".into(), "--sub".into(), "s".into()])
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--url") && err.contains("http://IP:PORT"), "{err}");
    let out = run(vec![
        "--url".into(),
        server.url(),
        "--sub".into(),
        "s".into(),
        "--ttl-s".into(),
        "0".into(),
    ])
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ttl_s"), "{err}");
    server.shutdown().await;
}
