//! What the CLI prints for people and for scripts: shell completions and manual pages generated
//! from the clap definitions, and `--output json|text` on every command that prints results
//! (JSON: one document on stdout and nothing else; text: as before, the default except for
//! `invoke`, whose default stays its JSON record).

use crate::common::schema::schema_errors;
use crate::common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use xinvoke::local::{builtin, LocalServer};

/// Every command a user can run, as `xinvoke --help` lists them.
const COMMANDS: &[&str] = &[
    "completions",
    "demo",
    "doctor",
    "gateway",
    "invoke",
    "load",
    "local",
    "man",
    "policy",
    "report",
];

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_xinvoke")
}

/// `xinvoke ARGS` with no AWS set-up of this process's, AWS pointed at `server` as account 1's
/// source role.
async fn xinvoke(server: Option<&LocalServer>, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_clear()
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    if let Some(s) = server {
        cmd.env("AWS_ENDPOINT_URL", s.url())
            .env("AWS_REGION", builtin::REGION)
            .env("AWS_ACCESS_KEY_ID", builtin::SOURCE_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", builtin::SOURCE_SECRET_KEY)
            .env("AWS_SESSION_TOKEN", builtin::SOURCE_SESSION_TOKEN);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("xinvoke runs"))
        .await
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stdout as one JSON document (and nothing else on it).
fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr: {}",
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
async fn bash_completions_know_every_command_and_the_values_of_the_flags() {
    let out = xinvoke(None, &["completions", "bash"]).await;
    assert_eq!(out.status.code(), Some(0));
    let script = stdout(&out);
    assert!(
        script.contains("complete -F _xinvoke") && script.contains("xinvoke"),
        "a bash script"
    );
    for c in COMMANDS {
        // The case bash takes after `xinvoke C`, and C among the words offered after `xinvoke`.
        assert!(script.contains(&format!("xinvoke,{c})")), "{c} missing");
    }
    let top = script
        .lines()
        .find(|l| l.trim_start().starts_with("opts=\"") && l.contains("completions"))
        .unwrap_or_default();
    assert!(
        COMMANDS
            .iter()
            .all(|c| top.split_whitespace().any(|w| w.trim_matches('"') == *c)),
        "{top}"
    );
    // Value completion: load --via, --path and the --output values.
    for v in [
        "direct invoker handler lambda-workers gateway",
        "signed sdk",
        "text json",
    ] {
        assert!(script.contains(v), "{v:?} missing");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = xinvoke(None, &["completions", shell]).await;
        let script = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(
            script.contains("lambda-workers") && script.contains("invoke"),
            "{shell}: {script}"
        );
    }
    let out = xinvoke(None, &["completions", "tcsh"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("bash") && err.contains("zsh") && out.stdout.is_empty(),
        "{err}"
    );
}

#[tokio::test]
async fn the_manual_names_every_command_and_each_command_has_its_page() {
    let out = xinvoke(None, &["man"]).await;
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie") && page.contains(".TH xinvoke 1"),
        "roff: {page}"
    );
    for c in COMMANDS {
        assert!(
            page.contains(&format!("xinvoke\\-{}(1)", c)),
            "{c} missing from xinvoke(1)"
        );
    }
    let out = xinvoke(None, &["man", "invoke"]).await;
    let page = stdout(&out);
    assert!(
        page.contains(".TH xinvoke-invoke 1") && page.contains("\\-\\-output"),
        "{page}"
    );
    let out = xinvoke(None, &["man", "local", "nope"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("\"nope\"") && err.contains("token"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let out = xinvoke(None, &["man", "--dir", dir.path().to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0));
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = COMMANDS.iter().map(|c| format!("xinvoke-{c}.1")).collect();
    expected.push("xinvoke-local-token.1".into());
    expected.push("xinvoke.1".into());
    expected.sort();
    assert_eq!(pages, expected);
    let out = xinvoke(None, &["man", "--dir", "/nonexistent/man1"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("--dir /nonexistent/man1"), "{err}");
}

#[tokio::test]
async fn invoke_doctor_and_policy_print_json_or_text_as_asked() {
    let server = start().await;
    let target = ["--target", builtin::TARGET_ALIAS_ARN];

    let out = xinvoke(
        Some(&server),
        &["invoke", target[0], target[1], "--payload", r#"{"a":1}"#],
    )
    .await;
    assert_eq!(json(&out)["class"], "ok", "the default stays the JSON record");
    let out = xinvoke(
        Some(&server),
        &[
            "invoke",
            target[0],
            target[1],
            "--payload",
            r#"{"a":1}"#,
            "--output",
            "text",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with("class     ok\n") && text.contains("payload   {\"a\":1}") && text.contains("attempts  1 in"),
        "{text}"
    );
    let out = xinvoke(Some(&server), &["invoke", target[0], target[1], "--output", "yaml"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output"));

    let text = stdout(&xinvoke(Some(&server), &["doctor", target[0], target[1]]).await);
    // The endpoints called come first (lambda, then sts), then the checklist.
    assert!(
        text.starts_with(&format!(
            "lambda endpoint: {}\nsts endpoint: {}\nxinvoke doctor:",
            server.url(),
            server.url()
        )),
        "text by default: {text}"
    );
    for flags in [&["--output", "json"][..], &["--json"]] {
        let args: Vec<&str> = ["doctor", target[0], target[1]].iter().chain(flags).copied().collect();
        let out = xinvoke(Some(&server), &args).await;
        let r = json(&out);
        assert_eq!(
            (out.status.code(), &r["ok"], &r["target"]),
            (Some(0), &Value::Bool(true), &Value::from(builtin::TARGET_ALIAS_ARN)),
            "{flags:?}"
        );
        assert!(r["checks"].as_array().is_some_and(|c| !c.is_empty()));
    }
    let out = xinvoke(
        Some(&server),
        &["doctor", target[0], target[1], "--json", "--output", "text"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "--json and --output conflict");

    let policy = [
        "policy",
        "--mode",
        "resource",
        "--source-role",
        builtin::SOURCE_ROLE_ARN,
        "--target",
        builtin::TARGET_ALIAS_ARN,
    ];
    let text = stdout(&xinvoke(None, &policy).await);
    assert!(text.contains("aws lambda add-permission"), "{text}");
    let args: Vec<&str> = policy.iter().chain(&["--output", "json"]).copied().collect();
    let r = json(&xinvoke(None, &args).await);
    assert_eq!(r["mode"], "resource");
    assert!(r["add_permission_commands"][0]
        .as_str()
        .unwrap()
        .contains("aws lambda add-permission"));
    server.shutdown().await;
}

#[tokio::test]
async fn load_and_report_print_the_json_report_alone() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("run.ndjson");
    let out = xinvoke(
        None,
        &[
            "load",
            "--local",
            "--rate",
            "50",
            "--requests",
            "10",
            "--no-retry",
            "--quiet",
            "--record",
            record.to_str().unwrap(),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = json(&out);
    assert_eq!(r["schema"], "xinvoke.load.v1");
    let schema: Value = serde_json::from_str(include_str!("../../schemas/load-report.schema.json")).unwrap();
    assert_eq!(schema_errors(&schema, &r), Vec::<String>::new());
    assert_eq!(r["phases"][0]["sent"], 10);

    let out = xinvoke(None, &["report", record.to_str().unwrap(), "--output", "json"]).await;
    let again = json(&out);
    assert_eq!(again["schema"], "xinvoke.load.v1");
    assert_eq!(again["phases"][0]["sent"], r["phases"][0]["sent"], "the same run");
    let text = stdout(&xinvoke(None, &["report", record.to_str().unwrap()]).await);
    assert!(
        serde_json::from_str::<Value>(&text).is_err() && text.contains("without retries"),
        "{text}"
    );
}

/// Start a server command (AWS at `endpoint`), read its first stdout line, stop it with SIGINT;
/// (line, exit code).
async fn first_line(args: Vec<String>, endpoint: String) -> (String, Option<i32>) {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(bin())
            .args(&args)
            .env_clear()
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", builtin::REGION)
            .env("AWS_ACCESS_KEY_ID", builtin::SOURCE_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", builtin::SOURCE_SECRET_KEY)
            .env("AWS_SESSION_TOKEN", builtin::SOURCE_SESSION_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("it starts");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let code = child.wait().ok().and_then(|s| s.code());
        (line, code)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn local_and_gateway_announce_their_address_as_json_and_gateway_check_lists_its_routes() {
    let (line, code) = first_line(
        ["local", "--listen", "127.0.0.1:0", "--output", "json"]
            .map(String::from)
            .to_vec(),
        "http://127.0.0.1:9".into(),
    )
    .await;
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert!(
        v["listening"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{v}"
    );
    assert_eq!(code, Some(0));

    let server = start().await;
    let out = xinvoke(
        None,
        &[
            "local",
            "token",
            "--url",
            &server.url(),
            "--sub",
            builtin::WEB_IDENTITY_SUBJECT,
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(
        json(&out)["token"].as_str().map(|t| t.split('.').count()),
        Some(3),
        "a JWT"
    );

    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.yaml");
    let out = xinvoke(None, &["gateway", "--config", config, "--check"]).await;
    assert!(
        stdout(&out).starts_with("upstream account2: account 222222222222"),
        "{}",
        stdout(&out)
    );
    let out = xinvoke(None, &["gateway", "--config", config, "--check", "--output", "json"]).await;
    let c = json(&out);
    assert_eq!(c["upstreams"][0]["name"], "account2");
    assert_eq!(c["upstreams"][1]["auth"], "role");
    assert_eq!(c["routes"][0]["name"], "target");
    assert_eq!(c["routes"][0]["matchers"][0], "POST /target");

    let (line, code) = first_line(
        vec![
            "gateway".into(),
            "--config".into(),
            config.into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--admin-listen".into(),
            "127.0.0.1:0".into(),
            "--output".into(),
            "json".into(),
        ],
        server.url(),
    )
    .await;
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert!(
        v["listening"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{v}"
    );
    assert!(
        v["admin"].as_str().is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{v}"
    );
    assert_eq!(code, Some(0));
    server.shutdown().await;
}

#[tokio::test]
async fn demo_prints_the_tour_as_one_json_document() {
    let out = xinvoke(None, &["demo", "--output", "json"]).await;
    let d = json(&out);
    assert_eq!(out.status.code(), Some(0));
    let steps = d["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 14);
    assert!(steps.iter().all(|s| s["as_expected"] == true), "{d}");
    assert_eq!(steps[0]["record"]["class"], "ok");
    assert_eq!(d["unexpected"], 0);
}

#[tokio::test]
async fn demo_delivery_measures_every_cell_of_the_delivery_table() {
    let out = xinvoke(None, &["demo", "--delivery", "--output", "json"]).await;
    let d = json(&out);
    assert_eq!(out.status.code(), Some(0), "{d}");
    let cells = d["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 30, "5 triggers x 6 classes");
    assert!(cells.iter().all(|c| c["as_documented"] == true), "{d}");
    assert!(
        cells.iter().all(|c| c["target_runs"].as_u64().unwrap() <= 1),
        "nothing ran twice: {d}"
    );
    let cell = |trigger: &str, class: &str| {
        cells
            .iter()
            .find(|c| c["trigger"] == trigger && c["class"] == class)
            .unwrap()
            .clone()
    };
    let throttled = cell("SQS", "throttled");
    assert_eq!(
        (throttled["attempts"].as_u64(), throttled["receives"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(cell("SQS", "not_ready")["ends"], "dead-letter queue");
    assert_eq!(cell("SQS", "function_error")["ends"], "failure queue");
    assert_eq!(cell("HTTP route", "timeout")["ends"], "caller (504)");
}
