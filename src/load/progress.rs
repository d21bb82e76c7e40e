//! The live line a load run draws on stderr while it runs (indicatif, drawn only when stderr is a
//! terminal). The command line's alone (feature `cli`): the Lambda bootstraps never draw it.

use crate::domain::class::Class;
use crate::load::record::LoadRecord;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The live line: phase, elapsed/remaining, rate, outcomes by class.
pub(crate) struct Progress {
    pub(crate) bar: ProgressBar,
    phase: String,
    started: Instant,
    planned: Option<Duration>,
    sent: u64,
    classes: BTreeMap<Class, u64>,
    cancelled: u64,
    last_draw: Instant,
}

impl Progress {
    pub(crate) fn new() -> Progress {
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

    pub(crate) fn phase_started(&mut self, name: &str, planned: Option<Duration>) {
        self.phase = name.to_string();
        self.started = Instant::now();
        self.planned = planned;
        self.sent = 0;
        self.classes.clear();
        self.cancelled = 0;
    }

    pub(crate) fn take(&mut self, r: &LoadRecord) {
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
