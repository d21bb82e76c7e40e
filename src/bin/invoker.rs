//! The `invoker` Lambda: read configuration (the HTTP routes, metrics and failure queue too),
//! build clients once, serve events.

/// One thread: Lambda hands a sandbox one event at a time and, below 1,769 MB, less than one
/// vCPU. On tokio's multi-threaded runtime every event crossed threads (the runtime's loop on
/// the main thread, the connections' I/O on the workers) at several context switches each,
/// which cost more CPU than the invoke itself (3x the CPU per warm event, measured with
/// `xbench warm`). An SQS batch's records and a load event's requests still run concurrently,
/// as tasks on this thread.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    xinvoke::lambdas::run_invoker().await
}
