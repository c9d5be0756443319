//! Spreadsheet inventories: a CLM's "Export to Excel" (`.xlsx`, `.xls`, `.xlsb`) or an
//! OpenDocument sheet, read with calamine. The first sheet whose header row names a serial,
//! fingerprint or certificate column is read; rows are named by the row number the
//! spreadsheet shows.

use super::*;
use calamine::{Data, Reader};

/// Rows looked at for the header: an export may put a title and a blank row above it.
const HEADER_WITHIN: usize = 10;

/// Whether `bytes` open a workbook: a ZIP archive (`.xlsx`, `.xlsb`, `.ods`) or an OLE2
/// compound file (`.xls`). No text export begins so.
pub(super) fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// A cell as the text an export would have written: dates as ISO 8601 (date only when the
/// cell holds no time, so that it compares with a day's tolerance), whole numbers without a
/// fraction.
fn cell_text(cell: &Data) -> String {
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

/// Reads a workbook's records (see the module's text).
pub(super) fn load_workbook(file: &str, bytes: &[u8], opts: &ReadOptions, out: &mut Loaded) {
    let err = |line: u64, reason: String| InventoryError {
        file: file.into(),
        line,
        field: None,
        reason,
    };
    let mut book = match calamine::open_workbook_auto_from_rs(io::Cursor::new(bytes)) {
        Ok(b) => b,
        Err(e) => {
            return out.errors.push(err(
                0,
                format!("a ZIP or Office file that is no readable workbook ({e})"),
            ))
        }
    };
    let mut refusals = Vec::new();
    for (sheet, range) in book.worksheets() {
        // Row numbers as the spreadsheet shows them: the used range may start lower.
        let first_row = u64::from(range.start().map_or(0, |(r, _)| r)) + 1;
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| cell_text(c).trim().to_string()).collect())
            .collect();
        let header = rows
            .iter()
            .take(HEADER_WITHIN)
            .enumerate()
            .find_map(|(i, r)| {
                let names: Vec<String> = r.clone();
                header_fields(&names, opts).ok().map(|f| (i, names, f))
            });
        let Some((at, names, fields)) = header else {
            let first = rows.iter().find(|r| r.iter().any(|c| !c.is_empty()));
            refusals.push(match first.and_then(|r| header_fields(r, opts).err()) {
                Some(why) => format!("sheet \"{sheet}\": {why}"),
                None => format!("sheet \"{sheet}\" is empty"),
            });
            continue;
        };
        let shared: Arc<str> = file.into();
        let header_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let profile = detect(&header_refs);
        let errors_from = out.errors.len();
        let mut slash = SlashDates::default();
        let mut any = false;
        for (i, row) in rows.iter().enumerate().skip(at + 1) {
            if row.iter().all(String::is_empty) {
                continue;
            }
            any = true;
            let line = first_row + i as u64;
            let cells: Vec<(Option<Field>, &str, &str)> = row
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    (
                        fields.get(c).copied().flatten(),
                        header_refs.get(c).copied().unwrap_or(""),
                        v.as_str(),
                    )
                })
                .collect();
            push_built(
                build(&shared, line, &cells, profile, opts, &mut slash),
                &mut slash,
                out,
            );
        }
        slash.finish(file, out, errors_from);
        if !any {
            out.errors.push(err(
                first_row + at as u64,
                format!("sheet \"{sheet}\": header only, no records"),
            ));
        }
        // One sheet is the inventory; others (a summary, a pivot) are not read.
        return;
    }
    out.errors.push(err(
        0,
        if refusals.is_empty() {
            "the workbook has no sheet".into()
        } else {
            refusals.join("; ")
        },
    ));
}
