//! Spreadsheets given where a list or an export is expected: a CLM's "Export to Excel", a
//! network team's host list kept in Excel (`.xlsx`, `.xls`, `.xlsb`, OpenDocument `.ods`).
//! Read with calamine, cells as the text a CSV export would have held, rows numbered as the
//! spreadsheet shows them. Every reader takes a sheet's rows one at a time from
//! [`each_sheet`], which reads an `.xlsx` sheet's XML as the rows are asked for; target
//! lists and domain lists become CSV text ([`as_csv`], [`text_or_sheet`]), inventories
//! records (`inventory::load`).

use calamine::{Data, Reader};
use std::io::{self, Read};
use std::sync::mpsc;

/// Rows looked at for a header: an export may put a title and a blank row above it.
pub const HEADER_WITHIN: usize = 10;

/// Whether `bytes` open a workbook: a ZIP archive (`.xlsx`, `.xlsb`, `.ods`) or an OLE2
/// compound file (`.xls`). No text list begins so.
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// A cell as the text an export would have written: dates as ISO 8601 (date only when the
/// cell holds no time, so that it compares with a day's tolerance), whole numbers without a
/// fraction.
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // A double holds integers exactly up to 2^53; a serial typed as a number is longer
        // and already rounded in the workbook, which must not read as some other serial.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => {
            format!("{f:.0}")
        }
        Data::Float(f) if f.fract() == 0.0 => format!(
            "{f:e} (a number the workbook holds rounded to 15 digits: format the column as text)"
        ),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, mo, da, h, mi, s, _) = d.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{da:02}")
            } else {
                format!("{y:04}-{mo:02}-{da:02}T{h:02}:{mi:02}:{s:02}Z")
            }
        }
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// A row holding text: its number as the spreadsheet shows it (from 1) and its cells'
/// text, trimmed, up to the last cell holding any (the columns before a cell hold empty
/// strings). Rows without text are passed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row's number (from 1).
    pub number: u64,
    /// Its cells' text.
    pub cells: Vec<String>,
}

/// A sheet's rows, in order, as they are asked for.
pub trait Rows {
    /// The next row holding text; `None` at the sheet's end.
    fn next_row(&mut self) -> io::Result<Option<Row>>;
}

/// What a reader does after a sheet: goes on to the next one, or is done.
pub type AfterSheet = std::ops::ControlFlow<()>;

/// Calls `visit` with each sheet's name and rows, in the workbook's order, until it is done.
/// An `.xlsx` sheet is read as its rows are asked for (a list of a million rows is never
/// held as cells and rows); the other kinds (`.xls`, `.xlsb`, `.ods`) are read whole first.
/// Fails when `bytes` hold no readable workbook, or a sheet cannot be read to its end.
pub fn each_sheet(
    bytes: &[u8],
    visit: &mut dyn FnMut(&str, &mut dyn Rows) -> io::Result<AfterSheet>,
) -> io::Result<()> {
    if let Ok(mut book) = calamine::Xlsx::new(io::Cursor::new(bytes)) {
        for name in book.sheet_names() {
            // A sheet that is no worksheet (a chart) is passed by, as calamine's whole read
            // does.
            let Ok(cells) = book.worksheet_cells_reader(&name) else {
                continue;
            };
            let mut rows = XlsxRows {
                cells,
                name: &name,
                ahead: None,
                ended: false,
            };
            if visit(&name, &mut rows)?.is_break() {
                break;
            }
        }
        return Ok(());
    }
    let mut book = calamine::open_workbook_auto_from_rs(io::Cursor::new(bytes)).map_err(|e| {
        io::Error::other(format!(
            "a ZIP or Office file that is no readable workbook ({e})"
        ))
    })?;
    for (name, range) in book.worksheets() {
        let first = u64::from(range.start().map_or(0, |(r, _)| r)) + 1;
        let mut rows = WholeRows {
            rows: range.rows().enumerate(),
            first,
        };
        if visit(&name, &mut rows)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// An `.xlsx` sheet's rows, made of its cells as calamine reads them from the sheet's XML.
struct XlsxRows<'a, 'n, RS: Read + io::Seek> {
    cells: calamine::XlsxCellReader<'a, RS>,
    name: &'n str,
    /// The first cell of the next row, read to know where this one ends.
    ahead: Option<(u32, u32, String)>,
    /// The sheet's end was read (calamine's reader fails when asked past it).
    ended: bool,
}

impl<RS: Read + io::Seek> XlsxRows<'_, '_, RS> {
    /// The next cell holding text: (row, column, text), from 0.
    fn next_cell(&mut self) -> io::Result<Option<(u32, u32, String)>> {
        while !self.ended {
            let cell = self
                .cells
                .next_cell()
                .map_err(|e| io::Error::other(format!("sheet {}: {e}", self.name)))?;
            let Some(cell) = cell else {
                self.ended = true;
                break;
            };
            // Text cells (most of a list's) are trimmed where they lie: made into a `Data`
            // first, each would be copied twice.
            let owned;
            let text = match cell.get_value() {
                calamine::DataRef::SharedString(s) => s.trim(),
                calamine::DataRef::String(s) => s.trim(),
                other => {
                    owned = cell_text(&Data::from(other.clone()));
                    owned.trim()
                }
            };
            if !text.is_empty() {
                let (row, col) = cell.get_position();
                return Ok(Some((row, col, text.to_string())));
            }
        }
        Ok(None)
    }
}

impl<RS: Read + io::Seek> Rows for XlsxRows<'_, '_, RS> {
    fn next_row(&mut self) -> io::Result<Option<Row>> {
        let first = match self.ahead.take() {
            Some(c) => c,
            None => match self.next_cell()? {
                Some(c) => c,
                None => return Ok(None),
            },
        };
        let (row, col, text) = first;
        let mut cells = Vec::new();
        place(&mut cells, col, text);
        loop {
            match self.next_cell()? {
                Some((r, c, t)) if r == row => place(&mut cells, c, t),
                other => {
                    self.ahead = other;
                    break;
                }
            }
        }
        Ok(Some(Row {
            number: u64::from(row) + 1,
            cells,
        }))
    }
}

/// The rows of a sheet read whole, numbered from `first`.
struct WholeRows<I> {
    rows: I,
    first: u64,
}

impl<'r, I: Iterator<Item = (usize, &'r [Data])>> Rows for WholeRows<I> {
    fn next_row(&mut self) -> io::Result<Option<Row>> {
        for (i, row) in self.rows.by_ref() {
            let mut cells: Vec<String> = row
                .iter()
                .map(|c| cell_text(c).trim().to_string())
                .collect();
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            if !cells.is_empty() {
                return Ok(Some(Row {
                    number: self.first + i as u64,
                    cells,
                }));
            }
        }
        Ok(None)
    }
}

/// Puts a cell's text at its column, the columns before it left empty.
fn place(cells: &mut Vec<String>, col: u32, text: String) {
    let col = col as usize;
    if cells.len() <= col {
        cells.resize(col + 1, String::new());
    }
    cells[col] = text;
}

/// The rows within [`HEADER_WITHIN`] rows of the sheet's first row holding text, where a
/// header is looked for below a title, and the row after them, if any (read to know where
/// they end).
pub fn header_window(rows: &mut dyn Rows) -> io::Result<(Vec<Row>, Option<Row>)> {
    let mut window: Vec<Row> = Vec::new();
    while let Some(r) = rows.next_row()? {
        let first = window.first().map_or(r.number, |f| f.number);
        if r.number >= first + HEADER_WITHIN as u64 {
            return Ok((window, Some(r)));
        }
        window.push(r);
    }
    Ok((window, None))
}

/// CSV text of the first sheet with a header row (one `is_header` accepts, see
/// [`header_window`]): line N of the text is the sheet's row N (the rows above the header
/// and the rows without text are left blank, a line break inside a cell becomes `;`, as a
/// list's cells separate their items), so that a list's reader names rows as the
/// spreadsheet does.
pub fn as_csv(bytes: &[u8], is_header: impl Fn(&[String]) -> bool) -> Result<String, String> {
    let mut text = Vec::new();
    first_sheet_as_csv(bytes, &is_header, &mut |piece| {
        text.extend_from_slice(&piece);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// [`as_csv`]'s text handed to `put` in pieces of about [`PIECE`] bytes as the rows are read.
fn first_sheet_as_csv(
    bytes: &[u8],
    is_header: &dyn Fn(&[String]) -> bool,
    put: &mut dyn FnMut(Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    let mut names = Vec::new();
    let mut found = false;
    each_sheet(bytes, &mut |name, rows| {
        names.push(name.to_string());
        let (window, after) = header_window(rows)?;
        let Some(at) = window.iter().position(|r| is_header(&r.cells)) else {
            return Ok(AfterSheet::Continue(()));
        };
        found = true;
        // Every row as wide as the header, and two columns at least: a sheet of one column
        // still reads as CSV with its header, not as a plain list whose first line is the
        // column's name.
        let mut out = Lines::new(window[at].cells.len().max(2));
        for r in window[at..].iter().chain(after.as_ref()) {
            out.row(r)?;
        }
        while let Some(r) = rows.next_row()? {
            out.row(&r)?;
            if out.text.len() >= PIECE {
                put(std::mem::take(&mut out.text))?;
            }
        }
        put(std::mem::take(&mut out.text))?;
        Ok(AfterSheet::Break(()))
    })?;
    if found {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "no sheet has a header row in its first {HEADER_WITHIN} rows (sheets: {})",
            names.join(", ")
        )))
    }
}

/// `r`, or when it holds a workbook, the CSV text [`as_csv`] makes of it, made by a thread of
/// its own as the sheet is read and handed over through a bounded channel; a workbook that
/// cannot be read fails the first read with the reason.
pub fn text_or_sheet(
    mut r: Box<dyn Read + Send>,
    is_header: impl Fn(&[String]) -> bool + Send + 'static,
) -> Box<dyn Read + Send> {
    let mut head = Vec::with_capacity(4);
    if let Err(e) = (&mut r).take(4).read_to_end(&mut head) {
        return Box::new(Failing(Some(e)));
    }
    if !is_workbook(&head) {
        return Box::new(io::Cursor::new(head).chain(r));
    }
    let mut all = head;
    if let Err(e) = r.read_to_end(&mut all) {
        return Box::new(Failing(Some(e)));
    }
    Box::new(Streamed::start(all, is_header))
}

/// The CSV text of a workbook's first sheet with a header row, as [`as_csv`] makes it,
/// written by a thread of its own as the rows are read and handed over in pieces of about
/// [`PIECE`] bytes (a few in waiting at most): a million-row `.xlsx` list is held as its
/// file and its table of strings, not as cells, rows and text at once (95 MB against 240).
/// Dropping the reader stops the thread.
struct Streamed {
    pieces: mpsc::Receiver<io::Result<Vec<u8>>>,
    piece: io::Cursor<Vec<u8>>,
}

/// A piece of text is handed over once it is this long.
const PIECE: usize = 64 * 1024;

impl Streamed {
    fn start(bytes: Vec<u8>, is_header: impl Fn(&[String]) -> bool + Send + 'static) -> Streamed {
        let (tx, rx) = mpsc::sync_channel(4);
        let spawned = std::thread::Builder::new().name("workbook".into()).spawn({
            let tx = tx.clone();
            move || {
                let put = &mut |piece| {
                    tx.send(Ok(piece)).map_err(|_| {
                        io::Error::new(io::ErrorKind::BrokenPipe, "the reader stopped")
                    })
                };
                if let Err(e) = first_sheet_as_csv(&bytes, &is_header, put) {
                    // The reader may be gone (the run stopped): nothing to tell then.
                    let _ = tx.send(Err(e));
                }
            }
        });
        if let Err(e) = spawned {
            let _ = tx.send(Err(e));
        }
        Streamed {
            pieces: rx,
            piece: io::Cursor::new(Vec::new()),
        }
    }
}

impl Read for Streamed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.piece.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.pieces.recv() {
                Ok(piece) => self.piece = io::Cursor::new(piece?),
                // The thread finished: the text is whole.
                Err(mpsc::RecvError) => return Ok(0),
            }
        }
    }
}

/// CSV lines numbered as the sheet's rows: line N holds row N, the rows between those
/// written left blank.
struct Lines {
    text: Vec<u8>,
    /// Rows written so far (the next line is row `written + 1`).
    written: u64,
    /// The header's width: every row is written at least as wide.
    width: usize,
}

impl Lines {
    fn new(width: usize) -> Lines {
        Lines {
            text: Vec::with_capacity(PIECE + 4096),
            written: 0,
            width,
        }
    }

    fn row(&mut self, row: &Row) -> io::Result<()> {
        for _ in self.written + 1..row.number {
            self.text.push(b'\n');
        }
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut self.text);
        let pad = self.width.saturating_sub(row.cells.len());
        let fields = row
            .cells
            .iter()
            .map(|c| c.replace("\r\n", ";").replace('\n', ";"))
            .chain(std::iter::repeat_n(String::new(), pad));
        w.write_record(fields).map_err(io::Error::other)?;
        w.flush()?;
        self.written = row.number;
        Ok(())
    }
}

/// A reader whose first read fails with its error (then it is empty).
struct Failing(Option<io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// A workbook of one sheet holding `rows` (strings) from row `top` (0-based) on.
#[cfg(test)]
pub(crate) fn test_workbook(top: u32, rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(top + r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheets_csv_text_keeps_the_spreadsheets_row_numbers() {
        // A title on row 2, the header on row 4, a cell of two lines on row 5.
        let bytes = test_workbook(
            1,
            &[
                &["Hosts of the DMZ", ""],
                &["", ""],
                &["Host", "IP"],
                &["a.example", "192.0.2.1\n192.0.2.2"],
                &["b, the second", ""],
            ],
        );
        let text = as_csv(&bytes, |r| r.first().is_some_and(|h| h == "Host")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "",
                "",
                "",
                "Host,IP",
                "a.example,192.0.2.1;192.0.2.2",
                "\"b, the second\","
            ]
        );
        // One column: still a header and a cell a line.
        let one = test_workbook(0, &[&["Domain"], &["x.example"]]);
        assert_eq!(
            as_csv(&one, |r| r[0] == "Domain").unwrap(),
            "Domain,\nx.example,\n"
        );
        let e = as_csv(&one, |_| false).unwrap_err();
        assert!(
            e.starts_with("no sheet has a header row in its first 10 rows (sheets: Sheet1)"),
            "{e}"
        );
        let e = as_csv(b"PK\x03\x04 cut", |_| true).unwrap_err();
        assert!(e.contains("no readable workbook"), "{e}");
    }

    fn streamed(bytes: Vec<u8>, header: &'static str) -> io::Result<String> {
        let mut text = String::new();
        text_or_sheet(Box::new(io::Cursor::new(bytes)), move |r| {
            r.first().is_some_and(|h| h == header)
        })
        .read_to_string(&mut text)?;
        Ok(text)
    }

    #[test]
    fn generated_sheets_read_back_cell_for_cell_on_their_rows() {
        // Titles, gaps, a header anywhere in its window, cells with the characters CSV
        // quotes and the line breaks a list's cells hold: the text read back as CSV gives
        // each row's cells (trimmed, breaks as `;`) on the line of its number.
        const PIECES: [&str; 9] = ["a", "b.example", ",", "\"", " ", "\n", "é", "1", ";"];
        let mut rng = crate::testrng::XorShift::new(0x5851_F42D_4C95_7F2D);
        for round in 0..40 {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let top = rng.below(9) as u32;
            if top > 0 && rng.below(2) == 0 {
                sheet.write_string(0, 0, "Exported list").unwrap();
            }
            let width = 1 + rng.below(4) as u16;
            for c in 0..width {
                sheet.write_string(top, c, format!("Col{c}")).unwrap();
            }
            let mut want: Vec<(u32, Vec<String>)> = Vec::new();
            let mut row = top;
            for _ in 0..rng.below(300) {
                row += 1 + rng.below(3) as u32;
                let mut cells = Vec::new();
                for c in 0..width + rng.below(2) as u16 {
                    let n = rng.below(4) as usize;
                    let text: String = (0..n).map(|_| PIECES[rng.below(9) as usize]).collect();
                    if !text.is_empty() {
                        sheet.write_string(row, c, &text).unwrap();
                    }
                    cells.push(text.trim().replace("\r\n", ";").replace('\n', ";"));
                }
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                if !cells.is_empty() {
                    want.push((row, cells));
                }
            }
            let bytes = book.save_to_buffer().unwrap();
            let text = as_csv(&bytes, |r| r.first().is_some_and(|h| h == "Col0")).unwrap();
            // Line by line, as the list readers number them (a cell's breaks became `;`).
            let mut got: Vec<(u32, Vec<String>)> = Vec::new();
            for (i, line) in text.split('\n').enumerate() {
                let Some(rec) = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(line.as_bytes())
                    .records()
                    .next()
                else {
                    continue;
                };
                let mut cells: Vec<String> = rec.unwrap().iter().map(String::from).collect();
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                if i as u32 != top && !cells.is_empty() {
                    got.push((i as u32, cells));
                }
            }
            assert_eq!(got, want, "round {round}: {text}");
        }
    }

    #[test]
    fn an_xlsx_sheet_streams_as_the_text_of_the_whole_read() {
        // The first sheet has no header; the second has a title, a gap, cells of two lines,
        // empty cells between full ones and a long run of rows (many pieces of text).
        let mut book = rust_xlsxwriter::Workbook::new();
        let notes = book.add_worksheet();
        notes.write_string(0, 0, "Read me").unwrap();
        let hosts = book.add_worksheet();
        hosts.write_string(1, 0, "Hosts of the DMZ").unwrap();
        for (c, h) in ["Host", "Port", "Note"].iter().enumerate() {
            hosts.write_string(3, c as u16, *h).unwrap();
        }
        hosts.write_string(4, 0, "a.example").unwrap();
        hosts.write_string(4, 2, "two\nlines").unwrap();
        hosts.write_number(6, 1, 8443).unwrap();
        let many = 20_000u32;
        for i in 0..many {
            hosts
                .write_string(8 + i, 0, format!("h{i}.example"))
                .unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        let text = streamed(bytes.clone(), "Host").unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(
            lines[..9],
            [
                "",
                "",
                "",
                "Host,Port,Note",
                "a.example,,two;lines",
                "",
                ",8443,",
                "",
                "h0.example,,"
            ]
        );
        assert!(text.len() > 4 * PIECE, "{}", text.len());
        // Line N is row N, to the last.
        assert_eq!(
            lines[8 + many as usize - 1],
            format!("h{}.example,,", many - 1)
        );
        assert_eq!(lines.len(), 8 + many as usize + 1, "and a final line break");
        // The same rows as the whole read makes (which writes empty rows as commas).
        let whole = as_csv(&bytes, |r| r.first().is_some_and(|h| h == "Host")).unwrap();
        let whole: Vec<&str> = whole.split('\n').collect();
        assert_eq!(whole.len(), lines.len());
        for (n, (a, b)) in lines.iter().zip(&whole).enumerate() {
            assert!(
                a == b || (a.is_empty() && b.chars().all(|c| c == ',')),
                "line {}: {a:?} {b:?}",
                n + 1
            );
        }
        let e = streamed(bytes, "Domain").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no sheet has a header row in its first 10 rows (sheets: Sheet1, Sheet2)"
        );
    }

    #[test]
    fn a_reader_gives_a_workbooks_text_or_its_own_bytes() {
        let mut plain = String::new();
        text_or_sheet(Box::new(io::Cursor::new(b"a.example\n".to_vec())), |_| true)
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "a.example\n");
        let bytes = test_workbook(0, &[&["Host"], &["a.example"]]);
        let mut text = String::new();
        text_or_sheet(Box::new(io::Cursor::new(bytes)), |r| r[0] == "Host")
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "Host,\na.example,\n");
        let mut failing =
            text_or_sheet(Box::new(io::Cursor::new(b"PK\x03\x04".to_vec())), |_| true);
        let e = failing.read(&mut [0u8; 8]).unwrap_err();
        assert!(e.to_string().contains("no readable workbook"), "{e}");
    }
}
