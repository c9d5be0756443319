//! Outputs: CSV, JSON lines, progress and the summary. Each reads plain data and nothing
//! here decides a verdict.

pub mod compliance;
pub mod csv;
pub mod dcv;
pub mod jsonl;
pub mod progress;
pub mod summary;

use std::pin::Pin;
use std::time::Duration;

/// When buffered report rows go to disk: at most [`FlushClock::AFTER`] after the first row
/// written since the last flush. One write per batch instead of one per row (a busy sweep
/// finishes an endpoint every few hundred microseconds), and every row on disk well within
/// the second the reports promise, also when no further row comes.
#[derive(Debug)]
pub struct FlushClock {
    timer: Pin<Box<tokio::time::Sleep>>,
    dirty: bool,
}

impl Default for FlushClock {
    fn default() -> Self {
        FlushClock {
            timer: Box::pin(tokio::time::sleep(Self::AFTER)),
            dirty: false,
        }
    }
}

impl FlushClock {
    /// The longest a written row waits for its flush.
    pub const AFTER: Duration = Duration::from_millis(200);

    /// Notes that a row was written; the first since a flush starts the clock.
    pub fn wrote(&mut self) {
        if !self.dirty {
            self.dirty = true;
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::now() + Self::AFTER);
        }
    }

    /// Completes when a flush is due (never while nothing waits). Used as a `select!`
    /// branch: `select!` polls ready branches in random order, so it also fires while
    /// rows keep arriving. Call [`FlushClock::flushed`] after flushing.
    pub async fn due(&mut self) {
        if self.dirty {
            self.timer.as_mut().await;
        } else {
            std::future::pending::<()>().await;
        }
    }

    /// Notes that everything written is flushed.
    pub fn flushed(&mut self) {
        self.dirty = false;
    }
}

/// Makes a cell safe to open in a spreadsheet: text from certificates and records that
/// starts with `=`, `+`, `-`, `@`, tab or carriage return would otherwise run as a formula.
pub fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// [`cell`] for an optional value; absent becomes empty.
pub fn opt_cell(s: Option<&str>) -> String {
    s.map(cell).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::FlushClock;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_flush_is_due_only_after_a_write_and_within_the_bound() {
        let mut clock = FlushClock::default();
        // Nothing written: never due (the paused clock jumps the full minute at once).
        let idle = tokio::time::timeout(Duration::from_secs(60), clock.due()).await;
        assert!(idle.is_err());
        let t0 = tokio::time::Instant::now();
        clock.wrote();
        clock.wrote();
        clock.due().await;
        assert_eq!(t0.elapsed(), FlushClock::AFTER);
        clock.flushed();
        let after = tokio::time::timeout(Duration::from_secs(60), clock.due()).await;
        assert!(after.is_err());
    }

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::cell("+1"), "'+1");
        assert_eq!(super::cell("-cmd"), "'-cmd");
        assert_eq!(super::cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::cell("www.example.com"), "www.example.com");
    }
}
