//! Runs `tests/boto3_local.py` against a local server when `XINVOKE_BOTO3_PYTHON` names a
//! Python with boto3 (e.g. `/tmp/venv/bin/python`); skipped otherwise.

use xinvoke::local::{LocalServer, Scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_sees_what_it_would_see_from_aws() {
    let Ok(python) = std::env::var("XINVOKE_BOTO3_PYTHON") else {
        eprintln!("skipped: set XINVOKE_BOTO3_PYTHON to a python with boto3");
        return;
    };
    let server = LocalServer::start(Scenario::builtin(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_local.py");
    let url = server.url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .env("XINVOKE_LOCAL_URL", url)
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "boto3 checks failed");
    server.shutdown().await;
}
