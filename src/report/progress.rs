//! Progress on stderr, only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A progress line: done/total (total unknown while streaming), rate, errors, ETA.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A visible bar when stderr is a terminal and not `quiet`, else a hidden one.
    pub fn new(quiet: bool, total: Option<u64>) -> Self {
        let visible = !quiet && std::io::stderr().is_terminal();
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        if !visible {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        let style = if total.is_some() {
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} targets · {per_sec:0} · ETA {eta} · {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {pos} targets · {per_sec:0} · {msg}"
        };
        if let Ok(s) = ProgressStyle::with_template(style) {
            bar.set_style(s);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }

    /// Sets the number of finished targets and the message (endpoints, errors).
    pub fn update(&self, targets_done: u64, msg: String) {
        // The total is the file's line count: a CSV row listing a pool's addresses is
        // several targets, and the count must not run past it.
        if self.bar.length().is_some_and(|len| targets_done > len) {
            self.bar.set_length(targets_done);
        }
        self.bar.set_position(targets_done);
        self.bar.set_message(msg);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress {
    /// Prints a line on stderr without tearing the bar.
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| crate::say!("{line}"));
    }
}
