//! Logs as a test sees them: the one process-wide JSON subscriber of the crate's test binary,
//! writing into memory while a test holds a [`Captured`] (one at a time) and nowhere otherwise.
//! It sees every line of every thread, so while it is held the crate's other tests, running
//! alongside, add their lines too: a check that no line holds a secret reads those as well.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Whether a test holds the capture: lines are kept only then.
static ACTIVE: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if ACTIVE.load(Ordering::SeqCst) {
            self.0.lock().unwrap().extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the process logs while it is held.
pub(crate) struct Captured {
    sink: Sink,
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

impl Captured {
    /// Everything logged since [`capture`].
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.sink.0.lock().unwrap().clone()).unwrap()
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

/// Capture the process's logs at INFO, as JSON lines, until the result is dropped.
pub(crate) async fn capture() -> Captured {
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
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of the crate's tests");
            sink
        })
        .clone();
    let guard = ONE_AT_A_TIME.lock().await;
    sink.0.lock().unwrap().clear();
    ACTIVE.store(true, Ordering::SeqCst);
    Captured {
        sink,
        _one_at_a_time: guard,
    }
}
