//! Spreadsheets given where a list or an export is expected: a CLM's "Export to Excel", a
//! network team's host list kept in Excel (`.xlsx`, `.xls`, `.xlsb`, OpenDocument `.ods`).
//! Read with calamine, cells as the text a CSV export would have held, rows numbered as the
//! spreadsheet shows them.

use calamine::{Data, Reader};
use std::io::{self, Read};
use std::sync::{mpsc, Arc};

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

/// One sheet's used cells as text, trimmed.
#[derive(Debug)]
pub struct Sheet {
    /// Its name in the workbook.
    pub name: String,
    /// The row number (from 1) the spreadsheet shows for `rows[0]`.
    pub first_row: u64,
    /// Its rows, each as wide as the used range.
    pub rows: Vec<Vec<String>>,
}

/// The sheets of the workbook in `bytes`, in the workbook's order.
pub fn sheets(bytes: &[u8]) -> Result<Vec<Sheet>, String> {
    let mut book = calamine::open_workbook_auto_from_rs(io::Cursor::new(bytes))
        .map_err(|e| format!("a ZIP or Office file that is no readable workbook ({e})"))?;
    Ok(book
        .worksheets()
        .into_iter()
        .map(|(name, range)| Sheet {
            name,
            first_row: u64::from(range.start().map_or(0, |(r, _)| r)) + 1,
            rows: range
                .rows()
                .map(|r| r.iter().map(|c| cell_text(c).trim().to_string()).collect())
                .collect(),
        })
        .collect())
}

/// CSV text of the first sheet with a header row (one `is_header` accepts) within its first
/// [`HEADER_WITHIN`] rows: line N of the text is the sheet's row N (the rows above the
/// header are left blank, a line break inside a cell becomes `;`, as a list's cells
/// separate their items), so that a list's reader names rows as the spreadsheet does.
pub fn as_csv(bytes: &[u8], is_header: impl Fn(&[String]) -> bool) -> Result<String, String> {
    let sheets = sheets(bytes)?;
    let (sheet, at) = sheets
        .iter()
        .find_map(|s| {
            let at = s
                .rows
                .iter()
                .take(HEADER_WITHIN)
                .position(|r| is_header(r))?;
            Some((s, at))
        })
        .ok_or_else(|| {
            let names: Vec<&str> = sheets.iter().map(|s| s.name.as_str()).collect();
            format!(
                "no sheet has a header row in its first {HEADER_WITHIN} rows (sheets: {})",
                names.join(", ")
            )
        })?;
    let blank = (sheet.first_row - 1) as usize + at;
    let mut text = "\n".repeat(blank);
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for row in &sheet.rows[at..] {
        let cells = row
            .iter()
            .map(|c| c.replace("\r\n", ";").replace('\n', ";"));
        // A sheet of one column still reads as CSV with its header, not as a plain list
        // whose first line is the column's name.
        let pad = (row.len() < 2).then(String::new);
        w.write_record(cells.chain(pad))
            .map_err(|e| e.to_string())?;
    }
    let body = w.into_inner().map_err(|e| e.to_string())?;
    text.push_str(&String::from_utf8_lossy(&body));
    Ok(text)
}

/// `r`, or when it holds a workbook, the CSV text [`as_csv`] makes of it; a workbook that
/// cannot be read fails the first read with the reason. An `.xlsx` workbook's text is made
/// as it is read ([`Streamed`]): a list of a million rows is not held as cells, rows and
/// text at once (240 MB), only as the file and its table of strings.
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
    let all: Arc<[u8]> = all.into();
    match calamine::Xlsx::new(io::Cursor::new(Arc::clone(&all))) {
        Ok(book) => Box::new(Streamed::start(book, is_header)),
        // Another kind of workbook (.xls, .xlsb, .ods: none holds more than a few hundred
        // thousand rows in practice), or none.
        Err(_) => match as_csv(&all, is_header) {
            Ok(text) => Box::new(io::Cursor::new(text.into_bytes())),
            Err(why) => Box::new(Failing(Some(io::Error::other(why)))),
        },
    }
}

type Book = calamine::Xlsx<io::Cursor<Arc<[u8]>>>;

/// The CSV text of an `.xlsx` workbook's first sheet with a header row, as [`as_csv`] makes
/// it, written by a thread of its own as its cells are read and handed over in pieces of
/// about 64 KiB (a few in waiting at most). Dropping the reader stops the thread.
struct Streamed {
    pieces: mpsc::Receiver<io::Result<Vec<u8>>>,
    piece: io::Cursor<Vec<u8>>,
}

/// A piece of text is handed over once it is this long.
const PIECE: usize = 64 * 1024;

impl Streamed {
    fn start(book: Book, is_header: impl Fn(&[String]) -> bool + Send + 'static) -> Streamed {
        let (tx, rx) = mpsc::sync_channel(4);
        let spawned = std::thread::Builder::new().name("workbook".into()).spawn({
            let tx = tx.clone();
            move || {
                if let Err(e) = write_first_sheet_with_header(book, &is_header, &tx) {
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

/// The sheet is given up as soon as the reader is gone.
fn hand_over(tx: &mpsc::SyncSender<io::Result<Vec<u8>>>, piece: Vec<u8>) -> io::Result<()> {
    tx.send(Ok(piece))
        .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reader stopped"))
}

fn write_first_sheet_with_header(
    mut book: Book,
    is_header: &dyn Fn(&[String]) -> bool,
    tx: &mpsc::SyncSender<io::Result<Vec<u8>>>,
) -> io::Result<()> {
    let names = book.sheet_names();
    for name in &names {
        // A sheet that is no worksheet (a chart) is passed by, as calamine's whole read does.
        let Ok(mut cells) = book.worksheet_cells_reader(name) else {
            continue;
        };
        // The next cell holding text: (row, column, text), from 0.
        let mut next = || -> io::Result<Option<(u32, u32, String)>> {
            loop {
                let cell = cells
                    .next_cell()
                    .map_err(|e| io::Error::other(format!("sheet {name}: {e}")))?;
                let Some(cell) = cell else { return Ok(None) };
                let text = cell_text(&Data::from(cell.get_value().clone()));
                let text = text.trim();
                if !text.is_empty() {
                    let (row, col) = cell.get_position();
                    return Ok(Some((row, col, text.to_string())));
                }
            }
        };
        // The rows of the first HEADER_WITHIN from the first row holding anything, and the
        // first cell past them.
        let mut rows: Vec<(u32, Vec<String>)> = Vec::new();
        let mut past = None;
        while let Some((row, col, text)) = next()? {
            let first = rows.first().map_or(row, |r| r.0);
            if row >= first.saturating_add(HEADER_WITHIN as u32) {
                past = Some((row, col, text));
                break;
            }
            if rows.last().is_none_or(|r| r.0 != row) {
                rows.push((row, Vec::new()));
            }
            if let Some((_, cells)) = rows.last_mut() {
                place(cells, col, text);
            }
        }
        let Some(at) = rows.iter().position(|(_, r)| is_header(r)) else {
            continue;
        };
        let width = rows[at].1.len().max(2);
        let mut out = Lines::new(width);
        for (row, cells) in &rows[at..] {
            out.row(*row, cells)?;
        }
        let mut current: Option<(u32, Vec<String>)> = None;
        let mut cell = past;
        while let Some((row, col, text)) = cell {
            if current.as_ref().is_some_and(|c| c.0 != row) {
                if let Some((r, cells)) = current.take() {
                    out.row(r, &cells)?;
                }
            }
            if out.text.len() >= PIECE {
                hand_over(tx, std::mem::take(&mut out.text))?;
            }
            let (_, cells) = current.get_or_insert_with(|| (row, Vec::new()));
            place(cells, col, text);
            cell = next()?;
        }
        if let Some((r, cells)) = current {
            out.row(r, &cells)?;
        }
        return hand_over(tx, out.text);
    }
    Err(io::Error::other(format!(
        "no sheet has a header row in its first {HEADER_WITHIN} rows (sheets: {})",
        names.join(", ")
    )))
}

/// Puts a cell's text at its column, the columns before it left empty.
fn place(cells: &mut Vec<String>, col: u32, text: String) {
    let col = col as usize;
    if cells.len() <= col {
        cells.resize(col + 1, String::new());
    }
    cells[col] = text;
}

/// CSV lines numbered as the sheet's rows: line N holds row N (from 1), the rows between
/// those written left blank.
struct Lines {
    text: Vec<u8>,
    /// Rows written so far (the next line is row `written + 1`).
    written: u32,
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

    /// Writes 0-based row `row`.
    fn row(&mut self, row: u32, cells: &[String]) -> io::Result<()> {
        for _ in self.written..row {
            self.text.push(b'\n');
        }
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(&mut self.text);
        let pad = self.width.saturating_sub(cells.len());
        let fields = cells
            .iter()
            .map(|c| c.replace("\r\n", ";").replace('\n', ";"))
            .chain(std::iter::repeat_n(String::new(), pad));
        w.write_record(fields).map_err(io::Error::other)?;
        w.flush()?;
        self.written = row + 1;
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
