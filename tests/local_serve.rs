//! A manual harness until `xinvoke local` is wired into `main`: runs `cli::local::run` for
//! `XINVOKE_LOCAL_SERVE_S` seconds on `XINVOKE_LOCAL_LISTEN` (default 127.0.0.1:4590).
//! `XINVOKE_LOCAL_SERVE_S=600 cargo test --test local_serve -- --ignored --nocapture`

use std::time::Duration;
use xinvoke::cli::local::{run, LocalArgs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn serve_for_manual_checks() {
    let seconds: u64 = std::env::var("XINVOKE_LOCAL_SERVE_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let listen = std::env::var("XINVOKE_LOCAL_LISTEN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| "127.0.0.1:4590".parse().unwrap());
    let scenario = std::env::var_os("XINVOKE_LOCAL_SCENARIO").map(Into::into);
    let args = LocalArgs { listen, scenario };
    let _ = tokio::time::timeout(Duration::from_secs(seconds), run(args)).await;
}
