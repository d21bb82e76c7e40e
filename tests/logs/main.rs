//! The tests that read what the process logs: each installs the process-wide subscriber, so
//! they live in a binary of their own and run one at a time.

#[path = "../common/mod.rs"]
mod common;

mod invoker_logs;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// A writer into the shared buffer.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the process logged (JSON lines at INFO, the invoker's default level) while a test held
/// it. Tests take it one at a time, so a test reads only its own lines.
pub struct Captured {
    sink: Sink,
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

impl Captured {
    /// Everything logged since [`capture`].
    pub fn text(&self) -> String {
        String::from_utf8(self.sink.0.lock().unwrap().clone()).unwrap()
    }
}

/// Install the process-wide subscriber (once) and take the log for this test.
pub async fn capture() -> Captured {
    static SINK: OnceLock<Sink> = OnceLock::new();
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let sink = SINK
        .get_or_init(|| {
            let sink = Sink::default();
            let writer = sink.clone();
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::INFO)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
            sink
        })
        .clone();
    let guard = ONE_AT_A_TIME.lock().await;
    sink.0.lock().unwrap().clear();
    Captured {
        sink,
        _one_at_a_time: guard,
    }
}
