//! A rough throughput check of the server with real SDK clients (ignored by default: run with
//! `cargo test --test local_throughput -- --ignored --nocapture`).

mod local_support;

use aws_sdk_lambda::primitives::Blob;
use local_support::*;
use std::time::Instant;
use xinvoke::local::builtin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn server_answers_thousands_of_invokes_per_second() {
    let server = start().await;
    let client = source_lambda(&server);
    let (workers, per_worker) = (32, 250);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_worker {
                client
                    .invoke()
                    .function_name(builtin::TARGET_ALIAS_ARN)
                    .payload(Blob::new(r#"{"x":1}"#))
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = workers * per_worker;
    let rate = n as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "{n} invokes in {:?}: {rate:.0}/s (client and server share 2 cores)",
        t.elapsed()
    );
    assert_eq!(server.stats().invokes, n as u64);
}
