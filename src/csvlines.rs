//! The lines of a CSV file's records, as a text editor numbers them.
//!
//! The csv crate's own line count cannot name them: it misses the newlines inside long
//! quoted cells (every row after a PEM cell named lines too early), counts a CRLF file's
//! rows a line early (a record is placed at the LF of the one before it) and places a row
//! after blank or comment lines on the first of them. [`tracked`] notes, as the bytes pass
//! through to the csv reader, where each line's first byte is; [`Lines::of`] turns a
//! record's byte position into the line that byte starts. [`delimiter`] tells a comma file
//! from a spreadsheet's semicolon or tab export.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

/// How a header, a status word or a method name is compared: its ASCII letters and digits,
/// in lower case, so that `Serial Number`, `serial_number` and `SERIAL-NUMBER` are one key.
pub fn key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Where lines start, read ahead of the records asked for: (byte, line) pairs.
type Starts = Arc<Mutex<VecDeque<(u64, u64)>>>;

/// A reader that notes where its lines start; give it to the csv reader.
pub struct Tracked<R> {
    inner: R,
    read: u64,
    line: u64,
    fresh: bool,
    comment: Option<u8>,
    starts: Starts,
}

/// Lines of the records of a [`Tracked`] reader, asked for in file order.
pub struct Lines {
    starts: Starts,
    last: u64,
}

/// Tracks `inner`, whose first byte is on line `first_line`; lines that begin with
/// `comment` (which csv skips) are never a record's line.
pub fn tracked<R: Read>(inner: R, first_line: u64, comment: Option<u8>) -> (Tracked<R>, Lines) {
    let starts: Starts = Arc::default();
    let lines = Lines {
        starts: Arc::clone(&starts),
        last: first_line,
    };
    let reader = Tracked {
        inner,
        read: 0,
        line: first_line,
        fresh: true,
        comment,
        starts,
    };
    (reader, lines)
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut starts = self.starts.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.fresh = true;
            } else if b != b'\r' && self.fresh {
                if Some(b) != self.comment {
                    starts.push_back((self.read + i as u64, self.line));
                }
                self.fresh = false;
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

impl Lines {
    /// The line of a record (or of a bad row) at csv position `pos`: the line of the first
    /// line start at or after its byte. Positions must come in file order.
    pub fn of(&mut self, pos: Option<&csv::Position>) -> u64 {
        let Some(byte) = pos.map(csv::Position::byte) else {
            return self.last;
        };
        let mut starts = self.starts.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(&(at, line)) = starts.front() {
            if at >= byte {
                return line;
            }
            self.last = line;
            starts.pop_front();
        }
        self.last
    }
}

/// The delimiter of a CSV text, from its header line: a comma, or the semicolon of an Excel
/// export in a locale whose decimal mark is the comma, or the tab of a "text" export,
/// whichever separates most of the header's cells (outside quotes).
pub fn delimiter(head: &[u8]) -> u8 {
    let (mut comma, mut semicolon, mut tab) = (0, 0, 0);
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => comma += 1,
            b';' if !quoted => semicolon += 1,
            b'\t' if !quoted => tab += 1,
            _ => {}
        }
    }
    if tab > comma && tab > semicolon {
        b'\t'
    } else if semicolon > comma {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str, comment: Option<u8>) -> (Vec<(String, u64)>, Vec<u64>) {
        let (input, mut lines) = tracked(text.as_bytes(), 1, comment);
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .comment(comment)
            .from_reader(input);
        let (mut rows, mut bad) = (Vec::new(), Vec::new());
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => rows.push((rec[0].to_string(), lines.of(rec.position()))),
                Err(e) => {
                    bad.push(lines.of(e.position()));
                    if bad.len() > 3 {
                        break;
                    }
                }
            }
        }
        (rows, bad)
    }

    #[test]
    fn records_get_the_lines_an_editor_shows() {
        let cell = format!(
            "\"{}\"",
            vec!["MIIBeDCCAR+gAwIBAgIUMxvRe419yzVRsV96"; 20].join("\n")
        );
        for nl in ["\n", "\r\n"] {
            let text = [
                "h,x",
                &format!("a,{cell}"),
                "b,1",
                "",
                "# a comment",
                "",
                "c,2",
            ]
            .join(nl);
            let (rows, _) = lines_of(&text, Some(b'#'));
            let want = [("a", 2), ("b", 22), ("c", 26)];
            let want: Vec<(String, u64)> = want.iter().map(|(s, l)| (s.to_string(), *l)).collect();
            assert_eq!(rows, want, "{nl:?}");
        }
    }

    #[test]
    fn a_bad_row_is_named_by_its_own_line() {
        // csv (flexible) rejects invalid UTF-8 in a StringRecord at the row's position.
        let text = b"h,x\r\na,1\r\n\r\nb,\xff\r\nc,3\r\n";
        let (input, mut lines) = tracked(&text[..], 1, None);
        let mut rdr = csv::ReaderBuilder::new().from_reader(input);
        let mut rec = csv::StringRecord::new();
        let mut seen = Vec::new();
        for _ in 0..4 {
            match rdr.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => seen.push(("ok", lines.of(rec.position()))),
                Err(e) => seen.push(("bad", lines.of(e.position()))),
            }
        }
        assert_eq!(seen, [("ok", 2), ("bad", 4), ("ok", 5)]);
    }
}
