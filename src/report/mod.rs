//! Outputs: CSV, JSON lines, JUnit XML, Prometheus metrics, progress and the summary. Each reads plain data and nothing
//! here decides a verdict.

pub mod compliance;
pub mod csv;
pub mod dcv;
pub mod jsonl;
pub mod junit;
pub mod metrics;
pub mod progress;
pub mod summary;

use std::pin::Pin;
use std::time::Duration;

/// A CSV report being written, with its path for errors.
pub(crate) type CsvFile = Option<(std::path::PathBuf, csv::CsvOut<crate::files::Output>)>;
/// A JSON lines file being written, with its path for errors.
pub(crate) type JsonlFile = Option<(std::path::PathBuf, jsonl::JsonlOut<crate::files::Output>)>;

/// Runs `op` on the file when it is still written; when `op` fails, the file is given up
/// (closed, nothing more written to it: what it holds is what was written before) and the
/// error goes to `lost`. A report that cannot be written (a disk full, a share gone) must not
/// cost the sweep its other outputs, its summary, or the endpoints still to come.
pub(crate) fn or_give_up<P: AsRef<std::path::Path>, W>(
    file: &mut Option<(P, W)>,
    lost: &mut Vec<crate::Error>,
    op: impl FnOnce(&mut W) -> std::io::Result<()>,
) {
    if let Some((p, w)) = file {
        if let Err(e) = op(w) {
            lost.push(crate::files::write_err(p.as_ref(), e));
            *file = None;
        }
    }
}

/// Ends the file with `op` (its last writes, a closing element) when it is still written;
/// when `op` fails, its error goes to `lost`, as [`or_give_up`]'s do.
pub(crate) fn finish_or_give_up<P: AsRef<std::path::Path>, W>(
    file: Option<(P, W)>,
    lost: &mut Vec<crate::Error>,
    op: impl FnOnce(W) -> std::io::Result<()>,
) {
    if let Some((p, w)) = file {
        if let Err(e) = op(w) {
            lost.push(crate::files::write_err(p.as_ref(), e));
        }
    }
}

/// Tells each report file given up since the last call (drained from `lost`) and keeps it
/// in `kept`, the summary's list for the end: the run goes on without it.
pub(crate) fn tell_given_up(
    lost: &mut Vec<crate::Error>,
    progress: &progress::Progress,
    kept: &mut Vec<String>,
) {
    for e in lost.drain(..) {
        progress.println(&format!(
            "certsweep: {e}: that file is given up (it holds the rows written before); the run goes on"
        ));
        kept.push(e.to_string());
    }
}

/// One result in `scan`'s or `dcv`'s CSV report (`row`, made only when the file is written)
/// and JSON lines (`value`); a file that fails is given up ([`or_give_up`]).
pub(crate) fn write_files<R: serde::Serialize, V: serde::Serialize>(
    (csv, row): (&mut CsvFile, impl FnOnce() -> R),
    (jsonl, value): (&mut JsonlFile, &V),
    lost: &mut Vec<crate::Error>,
) {
    or_give_up(csv, lost, |w| w.write(&row()));
    or_give_up(jsonl, lost, |w| w.write(value));
}

/// What `scan` and `dcv` wrote so far to their CSV report and JSON lines, on disk; a file
/// that fails is given up ([`or_give_up`]).
pub(crate) fn flush_files(csv: &mut CsvFile, jsonl: &mut JsonlFile, lost: &mut Vec<crate::Error>) {
    or_give_up(csv, lost, csv::CsvOut::flush);
    or_give_up(jsonl, lost, jsonl::JsonlOut::flush);
}

/// The CSV report and JSON lines finished; the errors of those that fail go to `lost`.
pub(crate) fn finish_files(csv: CsvFile, jsonl: JsonlFile, lost: &mut Vec<crate::Error>) {
    finish_or_give_up(csv, lost, csv::CsvOut::finish);
    let mut jsonl = jsonl;
    or_give_up(&mut jsonl, lost, jsonl::JsonlOut::flush);
}

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

/// The first [`Firsts::SHOWN`] of a stream of items by a key, whatever order they come in
/// (a sweep finishes endpoints in no fixed order), and how many came: what a log names of
/// many, the same ones from one run to the next.
#[derive(Debug, Clone)]
pub struct Firsts<K, V> {
    kept: Vec<(K, V)>,
    /// How many were offered.
    pub total: usize,
}

impl<K, V> Default for Firsts<K, V> {
    fn default() -> Self {
        Firsts {
            kept: Vec::new(),
            total: 0,
        }
    }
}

impl<K: Ord, V> Firsts<K, V> {
    /// Items a log names; the reports hold every one.
    pub const SHOWN: usize = 20;

    /// Counts an item; keeps it (made by `value`) while it is among the first by `key`.
    pub fn offer(&mut self, key: K, value: impl FnOnce() -> V) {
        self.total += 1;
        if self.kept.len() < Self::SHOWN {
            self.kept.push((key, value()));
            return;
        }
        let last = (0..self.kept.len()).max_by(|&a, &b| self.kept[a].0.cmp(&self.kept[b].0));
        if let Some(i) = last.filter(|&i| key < self.kept[i].0) {
            self.kept[i] = (key, value());
        }
    }

    /// The items kept, by key.
    pub fn sorted(&self) -> Vec<&V> {
        let mut kept: Vec<&(K, V)> = self.kept.iter().collect();
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        kept.into_iter().map(|(_, v)| v).collect()
    }

    /// How many were offered and not kept.
    pub fn more(&self) -> usize {
        self.total - self.kept.len()
    }
}

/// The summary line for a resolver (`servers`, as listed) that was asked and answered no
/// question: `scan`'s and `dcv`'s alike.
pub fn resolver_unheard_line(servers: &str) -> String {
    format!("  dns: the resolver ({servers}) answered no question: check that it answers from this host (--resolver, or the system's configuration)")
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

    /// The header a report's rows write (from their field names).
    fn header_of<T: serde::Serialize>(row: &T) -> String {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.serialize(row).expect("a row serializes");
        let text = String::from_utf8(w.into_inner().expect("flushed")).expect("UTF-8");
        text.lines().next().unwrap_or_default().to_string()
    }

    /// A report with no rows writes its header from the column list; one with rows from the
    /// rows' fields: the two must be one header, or an empty sweep's file and a full one
    /// disagree and a consumer reading by position breaks.
    #[test]
    fn the_column_lists_are_the_rows_headers() {
        use crate::verdict::{identity_rows, judge_one, Identities, Policy, Serving};
        let o = crate::fleet::presenting("a.x.com", [10, 0, 0, 1].into(), "1", 0, 1);
        let scan = super::csv::ScanRow::from_observation(&o, 0);
        assert_eq!(header_of(&scan), super::csv::SCAN_COLUMNS.join(","));
        let mut loaded = crate::inventory::load::Loaded::default();
        crate::inventory::load::load_bytes(
            "inv.csv",
            b"Serial,Valid To,SANs\n01,2027-01-01,a.x.com\n",
            &Default::default(),
            &mut loaded,
        );
        let ids = Identities::build(loaded.records);
        let p = Policy {
            now: 0,
            grace_secs: 0,
            renewal_window: crate::verdict::RenewalWindow::fixed(0),
        };
        let (v, _) = judge_one(o, &ids, &p);
        let row = super::compliance::ComplianceRow::from_verdict(&v, 0);
        assert_eq!(
            header_of(&row),
            super::compliance::COMPLIANCE_COLUMNS.join(",")
        );
        let mut serving = Serving::default();
        serving.note(&v, &ids);
        let rows = identity_rows(&ids, &serving, &p);
        assert_eq!(
            header_of(&rows[0]),
            super::compliance::RECORDS_COLUMNS.join(",")
        );
    }

    #[test]
    fn reports_end_their_lines_as_rfc_4180_does_and_keep_a_cells_own_line_breaks() {
        let mut buf = Vec::new();
        {
            let mut out = super::csv::CsvOut::new(&mut buf, &["a", "b"]);
            #[derive(serde::Serialize)]
            struct Row {
                a: &'static str,
                b: &'static str,
            }
            out.write(&Row {
                a: "x",
                b: "two\nlines",
            })
            .unwrap();
            out.finish().unwrap();
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "a,b\r\nx,\"two\nlines\"\r\n"
        );
        // With no row, the header alone.
        let mut buf = Vec::new();
        super::csv::CsvOut::new(&mut buf, &["a", "b"])
            .finish()
            .unwrap();
        assert_eq!(buf, b"a,b\r\n");
    }

    #[test]
    fn a_bom_asked_for_comes_first_and_only_then() {
        use super::csv::CsvOut;
        let mut with = Vec::new();
        CsvOut::with_bom(&mut with, &["a", "b"], true)
            .and_then(CsvOut::finish)
            .expect("written");
        assert_eq!(with, b"\xEF\xBB\xBFa,b\r\n");
        let mut without = Vec::new();
        CsvOut::with_bom(&mut without, &["a", "b"], false)
            .and_then(CsvOut::finish)
            .expect("written");
        assert_eq!(without, b"a,b\r\n");
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
