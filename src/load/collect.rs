//! Where records go during a run: the statistics, the `--record` NDJSON file, and the live
//! progress line (indicatif on stderr, drawn only when stderr is a terminal).

use crate::core::classify::Class;
use crate::load::record::LoadRecord;
use crate::load::stats::Metrics;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A recording that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} line {line}: not a load record ({detail}); expected the NDJSON that `xinvoke load --record` writes"
    )]
    Parse { path: PathBuf, line: usize, detail: String },
    #[error("{path}: no records; expected the NDJSON that `xinvoke load --record` writes")]
    Empty { path: PathBuf },
}

/// Takes every record of a run.
pub struct Collector {
    pub metrics: Metrics,
    recorder: Option<(PathBuf, BufWriter<File>)>,
    record_error: Option<RecordingError>,
    progress: Option<Progress>,
}

impl Collector {
    /// A collector; `record` opens the NDJSON file, `progress` draws the live line.
    pub fn new(record: Option<&Path>, progress: bool) -> Result<Collector, RecordingError> {
        let recorder = match record {
            Some(p) => Some((
                p.to_path_buf(),
                BufWriter::new(File::create(p).map_err(|source| RecordingError::Io {
                    path: p.to_path_buf(),
                    source,
                })?),
            )),
            None => None,
        };
        Ok(Collector {
            metrics: Metrics::new(),
            recorder,
            record_error: None,
            progress: progress.then(Progress::new),
        })
    }

    /// Take one record.
    pub fn take(&mut self, r: &LoadRecord) {
        if let Some((path, w)) = &mut self.recorder {
            if self.record_error.is_none() {
                let res = serde_json::to_writer(&mut *w, r)
                    .map_err(std::io::Error::other)
                    .and_then(|_| w.write_all(b"\n"));
                if let Err(source) = res {
                    self.record_error = Some(RecordingError::Io {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
        self.metrics.add(r);
        if let Some(p) = &mut self.progress {
            p.take(r);
        }
    }

    /// Set what the progress line says the phase is and how long it should run.
    pub(crate) fn phase_started(&mut self, name: &str, planned: Option<Duration>) {
        if let Some(p) = &mut self.progress {
            p.phase_started(name, planned);
        }
    }

    /// Flush the recording and clear the progress line.
    pub fn finish(mut self) -> Result<Metrics, RecordingError> {
        if let Some(p) = self.progress.take() {
            p.bar.finish_and_clear();
        }
        if let Some(e) = self.record_error.take() {
            return Err(e);
        }
        if let Some((path, mut w)) = self.recorder.take() {
            w.flush().map_err(|source| RecordingError::Io { path, source })?;
        }
        Ok(self.metrics)
    }
}

/// Read a recording back into statistics.
pub fn read_recording(path: &Path) -> Result<Metrics, RecordingError> {
    let file = File::open(path).map_err(|source| RecordingError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut metrics = Metrics::new();
    let mut n = 0;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let r: LoadRecord = serde_json::from_str(&line).map_err(|e| RecordingError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            detail: e.to_string(),
        })?;
        metrics.add(&r);
        n += 1;
    }
    if n == 0 {
        return Err(RecordingError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(metrics)
}

/// The live line: phase, elapsed/remaining, rate, outcomes by class.
struct Progress {
    bar: ProgressBar,
    phase: String,
    started: Instant,
    planned: Option<Duration>,
    sent: u64,
    classes: BTreeMap<Class, u64>,
    cancelled: u64,
    last_draw: Instant,
}

impl Progress {
    fn new() -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Progress {
            bar,
            phase: String::new(),
            started: Instant::now(),
            planned: None,
            sent: 0,
            classes: BTreeMap::new(),
            cancelled: 0,
            last_draw: Instant::now(),
        }
    }

    fn phase_started(&mut self, name: &str, planned: Option<Duration>) {
        self.phase = name.to_string();
        self.started = Instant::now();
        self.planned = planned;
        self.sent = 0;
        self.classes.clear();
        self.cancelled = 0;
    }

    fn take(&mut self, r: &LoadRecord) {
        match r {
            LoadRecord::Invoke(i) => {
                self.sent += 1;
                *self.classes.entry(i.class).or_default() += 1;
            }
            LoadRecord::Cancelled { .. } => {
                self.sent += 1;
                self.cancelled += 1;
            }
            _ => {}
        }
        if self.last_draw.elapsed() >= Duration::from_millis(100) {
            self.last_draw = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 { self.sent as f64 / elapsed } else { 0.0 };
        let remaining = self
            .planned
            .map(|p| format!(" / {:.0}s left", (p.as_secs_f64() - elapsed).max(0.0)))
            .unwrap_or_default();
        let classes: Vec<String> = self.classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        self.bar.set_message(format!(
            "{} · {elapsed:.1}s{remaining} · {rate:.0}/s · {}{}",
            self.phase,
            classes.join(" · "),
            if self.cancelled > 0 {
                format!(" · cancelled {}", self.cancelled)
            } else {
                String::new()
            }
        ));
        self.bar.tick();
    }
}
