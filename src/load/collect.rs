//! Where records go during a run: the statistics, the `--record` NDJSON file, and the live
//! progress line (`progress.rs`, the command line's alone: the Lambda bootstraps draw none).

#[cfg(feature = "cli")]
use crate::load::progress::Progress;
use crate::load::record::LoadRecord;
use crate::load::stats::Metrics;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    #[cfg(feature = "cli")]
    progress: Option<Progress>,
}

impl Collector {
    /// A collector; `record` opens the NDJSON file, `progress` draws the live line (in the
    /// command line's build; without feature `cli` there is no line to draw).
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
        #[cfg(not(feature = "cli"))]
        let _ = progress;
        Ok(Collector {
            metrics: Metrics::new(),
            recorder,
            record_error: None,
            #[cfg(feature = "cli")]
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
        #[cfg(feature = "cli")]
        if let Some(p) = &mut self.progress {
            p.take(r);
        }
    }

    /// Set what the progress line says the phase is and how long it should run.
    pub(crate) fn phase_started(&mut self, name: &str, planned: Option<Duration>) {
        #[cfg(not(feature = "cli"))]
        let _ = (name, planned);
        #[cfg(feature = "cli")]
        if let Some(p) = &mut self.progress {
            p.phase_started(name, planned);
        }
    }

    /// Flush the recording and clear the progress line.
    pub fn finish(mut self) -> Result<Metrics, RecordingError> {
        #[cfg(feature = "cli")]
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
