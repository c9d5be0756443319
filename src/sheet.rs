//! Spreadsheets given where a list or an export is expected: a CLM's "Export to Excel", a
//! network team's host list kept in Excel (`.xlsx`, `.xls`, `.xlsb`, OpenDocument `.ods`).
//! Read with calamine, cells as the text a CSV export would have held, rows numbered as the
//! spreadsheet shows them.

use calamine::{Data, Reader};
use std::io::{self, Read};

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
/// cannot be read fails the first read with the reason.
pub fn text_or_sheet(
    mut r: Box<dyn Read + Send>,
    is_header: impl Fn(&[String]) -> bool,
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
    match as_csv(&all, is_header) {
        Ok(text) => Box::new(io::Cursor::new(text.into_bytes())),
        Err(why) => Box::new(Failing(Some(io::Error::other(why)))),
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
