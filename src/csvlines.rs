//! The lines of a CSV file's records, as a text editor numbers them.
//!
//! The csv crate's own line count cannot name them: it misses the newlines inside long
//! quoted cells (every row after a PEM cell named lines too early), counts a CRLF file's
//! rows a line early (a record is placed at the LF of the one before it) and places a row
//! after blank or comment lines on the first of them. [`tracked`] notes, as the bytes pass
//! through to the csv reader, where each line's first byte is; [`Lines::of`] turns a
//! record's byte position into the line that byte starts. [`delimiter`] tells a comma file
//! from a spreadsheet's semicolon or tab export.
//!
//! The csv crate also takes a quote that is never closed as running to the end of the file:
//! every row after it becomes part of one cell, without an error. [`Tracked`] follows the
//! quoting as the csv reader does, so that [`Lines::swallowed`] can say where.

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

/// A text whose lines may end with a lone CR (classic Mac OS, and Excel for Mac's "CSV
/// (Macintosh)" export) read as one whose lines end with LF: each CR that no LF follows
/// becomes an LF, byte for byte, so byte positions stay those of the file. Every reader of
/// lines here (and a text editor) then sees the lines the file has: without it a plain list
/// was one line of all its targets, a CSV list's rows were never read after its header,
/// and an export's rows were all named line 1. CRLF and LF pass unchanged.
pub struct LoneCr<R> {
    inner: R,
    /// A CR taken from `inner` and not yet given: what follows it decides what it is.
    cr_taken: bool,
}

impl<R: io::BufRead> LoneCr<R> {
    /// Reads `inner` with its lone CRs as LFs.
    pub fn new(inner: R) -> Self {
        LoneCr {
            inner,
            cr_taken: false,
        }
    }
}

impl<R: io::BufRead> Read for LoneCr<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.cr_taken {
            // An error leaves the CR taken, for the next call: nothing read is lost.
            let next = self.inner.fill_buf()?.first().copied();
            self.cr_taken = false;
            buf[0] = if next == Some(b'\n') { b'\r' } else { b'\n' };
            return Ok(1);
        }
        let avail = self.inner.fill_buf()?;
        let mut n = avail.len().min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        buf[..n].copy_from_slice(&avail[..n]);
        if buf[n - 1] == b'\r' {
            if n == 1 {
                self.inner.consume(1);
                self.cr_taken = true;
                return self.read(buf);
            }
            // Left for the next read, which sees what follows it.
            n -= 1;
        }
        self.inner.consume(n);
        let mut from = 0;
        while let Some(k) = memchr::memchr(b'\r', &buf[from..n]) {
            let at = from + k;
            // The byte after is in `buf`: the chunk's last CR was left unread above.
            if buf[at + 1] != b'\n' {
                buf[at] = b'\n';
            }
            from = at + 1;
        }
        Ok(n)
    }
}

/// A list read whole, as its line readers take it: a workbook as the CSV text of its first
/// sheet with a header row `is_header` accepts ([`crate::sheet::as_csv`]), Excel's
/// "Unicode Text" (UTF-16) as UTF-8, lone CRs as LFs. Otherwise the bytes as they are. An
/// error, with its line (0: the file), when the workbook or the UTF-16 cannot be read.
pub fn list_bytes(
    bytes: &[u8],
    is_header: impl Fn(&[String]) -> bool,
) -> Result<std::borrow::Cow<'_, [u8]>, (u64, String)> {
    let decoded = if crate::sheet::is_workbook(bytes) {
        Some(
            crate::sheet::as_csv(bytes, is_header)
                .map_err(|why| (0, why))?
                .into_bytes(),
        )
    } else {
        match crate::utf16::to_utf8(bytes) {
            Some(text) => Some(text.map_err(|at| (at.line, at.to_string()))?),
            None => None,
        }
    };
    let text = decoded.as_deref().unwrap_or(bytes);
    Ok(match (lone_cr_as_lf(text), decoded) {
        (Some(lf), _) => lf.into(),
        (None, Some(decoded)) => decoded.into(),
        (None, None) => bytes.into(),
    })
}

/// `bytes` with its lone CRs as LFs ([`LoneCr`]), if it has any.
pub fn lone_cr_as_lf(bytes: &[u8]) -> Option<Vec<u8>> {
    let lone = memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n'));
    if !lone {
        return None;
    }
    let mut text = Vec::with_capacity(bytes.len());
    LoneCr::new(bytes).read_to_end(&mut text).ok()?;
    Some(text)
}

/// The text of a cell or a line: UTF-8 as it is, other bytes read as Windows-1252, and
/// whether they were. Excel's plain "CSV" on Windows writes the system's ANSI code page,
/// Windows-1252 in Western locales (the German semicolon export among them): an umlaut in
/// an owner's name or a description made its whole row unreadable. Any byte string reads
/// as Windows-1252, so a file in another encoding gets wrong letters, not an error: the
/// readers say how many cells or lines they read so ([`not_utf8_note`]).
pub fn text_of(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.into(), false),
        Err(_) => (
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0,
            true,
        ),
    }
}

/// What a reader says of `file` when [`text_of`] read `n` of its lines or cells (`unit`)
/// as Windows-1252.
pub fn not_utf8_note(file: &str, n: u64, unit: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{file}: {n} {unit}{s} not in UTF-8, read as Windows-1252 (Excel's plain \"CSV\" on Windows); if the file is in another encoding, save it as UTF-8 (\"CSV UTF-8\")")
}

/// Whether a cell that holds an address or a serial says there is none, in the words CMDB
/// and CLM exports use (`N/A`, Excel's `#N/A`, `-`, `null`, `TBD`, ...): no address or
/// serial is spelt so, and read as one the row was refused (a host with `N/A` for its
/// address went unscanned; an order not yet issued was a bad serial).
pub fn says_none(cell: &str) -> bool {
    // `EMPTY`: a Windows CA's `certutil -view csv` for a field with no value.
    const WORDS: [&str; 12] = [
        "n/a", "na", "#n/a", "-", "--", "null", "nil", "none", "tbd", "unknown", "?", "empty",
    ];
    let c = cell.trim();
    // Most cells are longer than any of the words: one comparison for them.
    c.len() <= 7 && WORDS.iter().any(|w| c.eq_ignore_ascii_case(w))
}

/// A cell of a one-column list as a spreadsheet saves it: within quotes or not (it quotes
/// what it likes).
pub fn unquoted(cell: &str) -> &str {
    match cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner.trim(),
        _ => cell,
    }
}

/// What the tracking reader learnt, shared with [`Lines`].
#[derive(Default)]
struct Seen {
    /// Where lines start, read ahead of the records asked for: (byte, line) pairs.
    starts: VecDeque<(u64, u64)>,
    /// At the end of the input, a quote still open.
    unclosed: Option<Unclosed>,
}

/// A quote the csv reader never saw closed: it took everything after it, to the end of the
/// input, as one cell of the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unclosed {
    /// The byte that ended the record before the one holding it, if any: that record's
    /// csv position is after it, every earlier record's at or before it.
    after: Option<u64>,
    /// The line of the quote.
    pub opened: u64,
    /// The last line of the input.
    pub end: u64,
}

impl Unclosed {
    /// The error of `file` to report in place of the record, at the quote's line.
    pub fn error(&self, file: &str) -> crate::model::LineError {
        crate::model::LineError::new(file, self.opened, self.reason())
    }

    /// The error to report at line [`Unclosed::opened`], in place of the record.
    fn reason(&self) -> String {
        let rest = if self.end == self.opened + 1 {
            format!(
                "line {} was read as part of one cell, so its row was not read",
                self.end
            )
        } else if self.end > self.opened {
            format!(
                "lines {}-{} were read as part of one cell, so their rows were not read",
                self.opened + 1,
                self.end
            )
        } else {
            "the rest of the line was read as one cell".to_string()
        };
        format!(
            "a quote (\") opened on this line is never closed: {rest}; close it (a quote inside a quoted cell is written twice, \"\")"
        )
    }
}

type Starts = Arc<Mutex<Seen>>;

/// Where the csv reader is in its quoting, as csv-core's default dialect (`"` quotes a
/// cell that starts with it, `""` inside is one quote, CR, LF and CRLF end a record, empty
/// lines are skipped) has it.
#[derive(Clone, Copy, PartialEq)]
enum Quoting {
    /// Before a record's first byte (empty lines are skipped here).
    StartRecord,
    /// In a record, outside quotes: a quote opens a cell only right after a delimiter.
    Out,
    InQuotes,
    /// A quote inside quotes: the end of the cell, or the first of a doubled one.
    QuoteInQuotes,
    Comment,
}

/// A reader that notes where its lines start; give it to the csv reader.
pub struct Tracked<R> {
    inner: R,
    read: u64,
    line: u64,
    fresh: bool,
    comment: Option<u8>,
    delimiter: u8,
    quoting: Quoting,
    /// The input's last byte so far: whether a quote at the start of the next read opens a
    /// cell.
    last: u8,
    /// The byte that ended the last record.
    boundary: Option<u64>,
    /// The line of the quote that opened the cell being read, while in quotes.
    opened: u64,
    starts: Starts,
}

/// Lines of the records of a [`Tracked`] reader, asked for in file order.
pub struct Lines {
    starts: Starts,
    last: u64,
}

/// Tracks `inner`, whose first byte is on line `first_line` and whose cells are separated
/// by `delimiter`; lines that begin with `comment` (which csv skips) are never a record's
/// line.
pub fn tracked<R: Read>(
    inner: R,
    first_line: u64,
    comment: Option<u8>,
    delimiter: u8,
) -> (Tracked<R>, Lines) {
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
        delimiter,
        quoting: Quoting::StartRecord,
        last: b'\n',
        boundary: None,
        opened: first_line,
        starts,
    };
    (reader, lines)
}

impl<R> Tracked<R> {
    /// Notes where the lines of `bytes` (the input's next, from byte `self.read`) start.
    /// Only line breaks and the byte after them are looked at (memchr finds the breaks: an
    /// export is tens of MB).
    fn note_lines(&mut self, bytes: &[u8], starts: &mut VecDeque<(u64, u64)>) {
        let mut from = 0;
        loop {
            if self.fresh {
                // A line begins at its first byte that is no CR; an empty line at none.
                while bytes.get(from) == Some(&b'\r') {
                    from += 1;
                }
                match bytes.get(from) {
                    None => return,
                    Some(b'\n') => {}
                    Some(b) => {
                        if Some(*b) != self.comment {
                            starts.push_back((self.read + from as u64, self.line));
                        }
                        self.fresh = false;
                    }
                }
            }
            match memchr::memchr(b'\n', &bytes[from..]) {
                Some(k) => {
                    from += k + 1;
                    self.line += 1;
                    self.fresh = true;
                }
                None => return,
            }
        }
    }

    /// Follows the csv reader's quoting over `bytes` (the input's next, from byte
    /// `self.read`, the first of them on line `line`). Only quotes and line ends change it
    /// outside quotes, only quotes inside: memchr skips the rest.
    fn note_quoting(&mut self, bytes: &[u8], mut line: u64) {
        use Quoting::*;
        // Lines counted up to here, so that an opening quote's line costs no rescan.
        let mut counted = 0;
        let mut line_at = |to: usize| {
            line += memchr::memchr_iter(b'\n', &bytes[counted..to]).count() as u64;
            counted = to;
            line
        };
        let mut i = 0;
        while i < bytes.len() {
            match self.quoting {
                Comment => match memchr::memchr(b'\n', &bytes[i..]) {
                    Some(k) => {
                        i += k + 1;
                        self.quoting = StartRecord;
                    }
                    None => i = bytes.len(),
                },
                StartRecord => {
                    let b = bytes[i];
                    if b == b'\n' || b == b'\r' {
                        i += 1;
                    } else if Some(b) == self.comment {
                        self.quoting = Comment;
                        i += 1;
                    } else if b == b'"' {
                        self.opened = line_at(i);
                        self.quoting = InQuotes;
                        i += 1;
                    } else {
                        self.quoting = Out;
                    }
                }
                InQuotes => match memchr::memchr(b'"', &bytes[i..]) {
                    Some(k) => {
                        i += k + 1;
                        self.quoting = QuoteInQuotes;
                    }
                    None => i = bytes.len(),
                },
                QuoteInQuotes => {
                    if bytes[i] == b'"' {
                        self.quoting = InQuotes;
                        i += 1;
                    } else {
                        // The cell ended; this byte is read as outside quotes.
                        self.quoting = Out;
                    }
                }
                Out => match memchr::memchr3(b'"', b'\n', b'\r', &bytes[i..]) {
                    Some(k) => {
                        let at = i + k;
                        if bytes[at] == b'"' {
                            let before = at.checked_sub(1).map_or(self.last, |p| bytes[p]);
                            if before == self.delimiter {
                                self.opened = line_at(at);
                                self.quoting = InQuotes;
                            }
                        } else {
                            self.boundary = Some(self.read + at as u64);
                            self.quoting = StartRecord;
                        }
                        i = at + 1;
                    }
                    None => i = bytes.len(),
                },
            }
        }
        if let Some(&b) = bytes.last() {
            self.last = b;
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let shared = Arc::clone(&self.starts);
        let mut seen = shared.lock().unwrap_or_else(PoisonError::into_inner);
        if n == 0 && !buf.is_empty() && self.quoting == Quoting::InQuotes {
            seen.unclosed = Some(Unclosed {
                after: self.boundary,
                opened: self.opened,
                // After a final line break, the line it ends.
                end: if self.fresh && self.line > self.opened {
                    self.line - 1
                } else {
                    self.line
                },
            });
        }
        let bytes = &buf[..n];
        self.note_quoting(bytes, self.line);
        self.note_lines(bytes, &mut seen.starts);
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
        let mut seen = self.starts.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(&(at, line)) = seen.starts.front() {
            if at >= byte {
                return line;
            }
            self.last = line;
            seen.starts.pop_front();
        }
        self.last
    }

    /// Whether the record at csv position `pos` (the header: none) is the one an unclosed
    /// quote ran to the end of the input: it is none of the rows written, and the error
    /// says where the quote is. Known when the csv reader returns that record (it read to
    /// the end to finish it).
    pub fn swallowed(&self, pos: Option<&csv::Position>) -> Option<Unclosed> {
        let byte = pos.map_or(0, csv::Position::byte);
        self.starts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unclosed
            .filter(|u| u.after.is_none_or(|after| byte > after))
    }
}

/// Excel's delimiter directive, a first line `sep=;` (exports made for Excel write it so
/// that any locale splits the columns): the delimiter it names, and where its line break
/// begins. The text read from that break on has an empty first line where the directive
/// was, so the header and every row keep their line numbers.
pub fn sep_directive(text: &[u8]) -> Option<(u8, usize)> {
    let rest = text.strip_prefix(b"sep=")?;
    let (&delimiter, after) = rest.split_first()?;
    let brk = 5 + after.iter().take_while(|b| **b == b' ').count();
    matches!(text.get(brk), Some(b'\r' | b'\n') | None)
        .then_some((delimiter, brk))
        .filter(|_| !matches!(delimiter, b'\r' | b'\n' | b'"'))
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
            b'\n' | b'\r' if !quoted => break,
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
        let (input, mut lines) = tracked(LoneCr::new(text.as_bytes()), 1, comment, b',');
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
        for nl in ["\n", "\r\n", "\r"] {
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
        let (input, mut lines) = tracked(&text[..], 1, None, b',');
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

    /// Reads `text` as the csv reader does: the lines of the records it returns, and for
    /// each whether an unclosed quote swallowed the rest into it.
    fn unclosed(text: &str, delimiter: u8, comment: Option<u8>) -> Vec<(u64, Option<(u64, u64)>)> {
        unclosed_in_chunks(text, delimiter, comment, usize::MAX)
    }

    /// A reader giving at most `chunk` bytes a read, so that quoting and lines cross reads.
    struct Chunked<'a>(&'a [u8], usize);

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// [`unclosed`], the text arriving `chunk` bytes a read.
    fn unclosed_in_chunks(
        text: &str,
        delimiter: u8,
        comment: Option<u8>,
        chunk: usize,
    ) -> Vec<(u64, Option<(u64, u64)>)> {
        // As the readers of files have it: lone CRs read as LFs, through a buffer.
        let input = Chunked(text.as_bytes(), chunk);
        let input = LoneCr::new(io::BufReader::with_capacity(chunk.min(8192), input));
        let (input, mut lines) = tracked(input, 1, comment, delimiter);

        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(comment)
            .delimiter(delimiter)
            .from_reader(input);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap_or(false) {
            let line = lines.of(rec.position());
            out.push((
                line,
                lines.swallowed(rec.position()).map(|u| (u.opened, u.end)),
            ));
        }
        out
    }

    #[test]
    fn lone_crs_read_as_lfs_however_the_text_arrives() {
        let mut rng = crate::testrng::XorShift::new(0x2545_F491_4F6C_DD1D);
        let alphabet = [b'a', b'\r', b'\r', b'\n', b','];
        for round in 0..3_000 {
            let len = rng.below(20) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            // What an editor reads: a CR with no LF after it ends a line as an LF does.
            let want: Vec<u8> = (0..text.len())
                .map(|i| match (text[i], text.get(i + 1)) {
                    (b'\r', Some(b'\n')) => b'\r',
                    (b'\r', _) => b'\n',
                    (b, _) => b,
                })
                .collect();
            let chunk = 1 + rng.below(4) as usize;
            let take = 1 + rng.below(4) as usize;
            let mut r = LoneCr::new(io::BufReader::with_capacity(chunk, Chunked(&text, chunk)));
            let mut got = Vec::new();
            let mut buf = vec![0u8; take];
            loop {
                let n = r.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, want, "round {round}: {text:?} {chunk} {take}");
            let whole = lone_cr_as_lf(&text);
            assert_eq!(whole.as_deref().unwrap_or(&text), &want[..], "{text:?}");
            assert_eq!(whole.is_some(), want != text, "{text:?}");
        }
    }

    #[test]
    fn excel_sep_directive() {
        assert_eq!(sep_directive(b"sep=;\nSerial;Expiry\n"), Some((b';', 5)));
        assert_eq!(sep_directive(b"sep=,  \r\nhost,port\r\n"), Some((b',', 7)));
        assert_eq!(sep_directive(b"sep=\t"), Some((b'\t', 5)));
        for text in [
            &b"sep=;;\n"[..],
            b"sep=\n",
            b"Sep=;\n",
            b"serial;sep=;\n",
            b"host\n",
        ] {
            assert_eq!(sep_directive(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_quote_never_closed_is_found_where_it_opened() {
        assert_eq!(
            unclosed("h,x\na,\"b\nc,d\ne,f\n", b',', None),
            [(1, None), (2, Some((2, 4)))]
        );
        assert_eq!(
            unclosed("h;x\r\n\r\na;\"b;c\r\n", b';', None),
            [(1, None), (3, Some((3, 3)))]
        );
        // A record whose first cell spans lines, closed, then a quote left open.
        assert_eq!(
            unclosed("h,x\n\"a\nb\",\"c\nd\n", b',', None),
            [(1, None), (2, Some((3, 4)))]
        );
        let u = Unclosed {
            after: None,
            opened: 2,
            end: 4,
        };
        assert_eq!(
            u.reason(),
            "a quote (\") opened on this line is never closed: lines 3-4 were read as part of one cell, so their rows were not read; close it (a quote inside a quoted cell is written twice, \"\")"
        );
        // Closed, doubled inside, spanning lines, in a comment, not at a cell's start, or a
        // quote mark in another dialect's delimiter: nothing open.
        for (text, delimiter) in [
            ("h,x\na,\"b\"\nc,d\n", b','),
            ("h,x\na,\"say \"\"hi\"\"\"\nc,d\n", b','),
            ("h,x\na,\"two\nlines\"\nc,d", b','),
            ("h,x\n# it\"s\na,b\n", b','),
            ("h,x\na,5\" rack\nc,d\n", b','),
            ("h,x\na, \"b\nc,d\n", b','),
            ("h\tx\na\t\"b\"\"\"\t\nc\td\n", b'\t'),
        ] {
            let read = unclosed(text, delimiter, Some(b'#'));
            assert!(read.iter().all(|(_, u)| u.is_none()), "{text:?}: {read:?}");
            assert!(read.len() >= 2, "{text:?}: {read:?}");
        }
    }

    #[test]
    fn generated_texts_agree_with_the_csv_reader_on_an_unclosed_quote() {
        // The csv reader's own word: with a line "SENTINEL" appended, the last record is
        // that line alone unless a quote was still open (then it is inside the cell).
        let mut rng = crate::testrng::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let alphabet = [b'a', b',', b';', b'"', b'"', b'\n', b'\r', b'#', b' '];
        for round in 0..5_000 {
            let len = rng.below(24) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            let text = String::from_utf8(text).unwrap_or_default();
            let comment = (rng.below(2) == 0).then_some(b'#');
            let delimiter = [b',', b';'][rng.below(2) as usize];
            let mut with = text.clone();
            with.push_str("\nSENTINEL\n");
            // The csv reader reads the text with its lone CRs as LFs, as the files' readers
            // give it (csv ends a comment only at an LF).
            let with = lone_cr_as_lf(with.as_bytes()).unwrap_or_else(|| with.clone().into());
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .comment(comment)
                .delimiter(delimiter)
                .from_reader(&with[..]);
            let mut last = Vec::new();
            for rec in rdr.byte_records().flatten() {
                last = rec.iter().map(<[u8]>::to_vec).collect();
            }
            let open = last != [b"SENTINEL".to_vec()];
            // Read whole, or a few bytes at a time: a state must carry across reads.
            let chunk = [usize::MAX, 1, 2, 3][rng.below(4) as usize];
            let read = unclosed_in_chunks(&text, delimiter, comment, chunk);
            let flagged: Vec<usize> = read
                .iter()
                .enumerate()
                .filter(|(_, (_, u))| u.is_some())
                .map(|(i, _)| i)
                .collect();
            let want: Vec<usize> = if open {
                vec![read.len().saturating_sub(1)]
            } else {
                vec![]
            };
            assert_eq!(
                flagged, want,
                "round {round}: {text:?} {comment:?} {chunk} {read:?}"
            );
            // What is found, and on which lines, is the same however the text arrives.
            if chunk != usize::MAX {
                let whole = unclosed(&text, delimiter, comment);
                assert_eq!(read, whole, "round {round}: {text:?} {comment:?} {chunk}");
            }
        }
    }
}
