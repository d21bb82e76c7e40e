//! The `xinvoke` command line.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc rather than the system allocator: a load run and the local endpoint allocate and
/// free small buffers for every request on several threads, where glibc's allocator spends
/// more time per request than any other single thing in user space.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = xinvoke::cli::Cli::parse();
    // The command runs as a task on the worker threads rather than on the main thread, which
    // `block_on` would otherwise share with them: the tasks a load run spawns and the records
    // they send back then stay on the workers instead of crossing to and waking the main thread
    // for every request.
    match tokio::spawn(xinvoke::cli::run(cli)).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
