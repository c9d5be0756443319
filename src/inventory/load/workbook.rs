//! Spreadsheet inventories: a CLM's "Export to Excel" or an OpenDocument sheet (see
//! [`crate::sheet`]). The first sheet whose header row names a serial, fingerprint or
//! certificate column is read, as its rows come (an `.xlsx` export is never held as cells
//! and rows besides its records); rows go through the CSV rows' record builder, named by the
//! row number the spreadsheet shows, their cells untouched (a PEM keeps its lines).

use super::*;
use crate::sheet::{header_window, AfterSheet, Row, Rows};

/// Reads a workbook's records (see the module's text).
pub(super) fn load_workbook(file: &str, bytes: &[u8], opts: &ReadOptions, out: &mut Loaded) {
    let err = |line: u64, reason: String| InventoryError::new(file, line, reason);
    let mut refusals = Vec::new();
    let mut read = false;
    let shared: Arc<str> = file.into();
    let each = crate::sheet::each_sheet(bytes, &mut |name, rows| {
        let (window, after) = header_window(rows)?;
        let header = window
            .iter()
            .enumerate()
            .find_map(|(i, r)| header_fields(&r.cells, opts).ok().map(|f| (i, f)));
        let Some((at, fields)) = header else {
            refusals.push(
                match window
                    .first()
                    .and_then(|r| header_fields(&r.cells, opts).err())
                {
                    Some(why) => format!("sheet \"{name}\": {why}"),
                    None => format!("sheet \"{name}\" is empty"),
                },
            );
            return Ok(AfterSheet::Continue(()));
        };
        read = true;
        let header_refs: Vec<&str> = window[at].cells.iter().map(String::as_str).collect();
        let profile = detect(&header_refs);
        let errors_from = out.errors.len();
        let mut slash = SlashDates::default();
        let mut any = false;
        let mut record = |row: &Row| {
            any = true;
            let cells: Vec<(Option<Field>, &str, &str)> = row
                .cells
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
                build(&shared, row.number, &cells, profile, opts, &mut slash),
                &mut slash,
                out,
            );
        };
        for row in window[at + 1..].iter().chain(after.as_ref()) {
            record(row);
        }
        let rest = read_rows(rows, &mut record);
        slash.finish(file, out, errors_from);
        if !any {
            out.errors.push(err(
                window[at].number,
                format!("sheet \"{name}\": header only, no records"),
            ));
        }
        rest?;
        // One sheet is the inventory; others (a summary, a pivot) are not read.
        Ok(AfterSheet::Break(()))
    });
    if let Err(e) = each {
        // The workbook could not be opened, or its sheet not read to its end: then the
        // records read before stay, and the file is one not read whole (its unread records
        // are unknown, as a CSV cut short).
        out.errors.push(err(0, e.to_string()));
        if read {
            out.unread.push(format!("{file}: {e}"));
        }
        return;
    }
    if !read {
        out.errors.push(err(
            0,
            if refusals.is_empty() {
                "the workbook has no sheet".into()
            } else {
                refusals.join("; ")
            },
        ));
    }
}

/// Hands the rest of the sheet's rows to `record`, one at a time.
fn read_rows(rows: &mut dyn Rows, record: &mut dyn FnMut(&Row)) -> std::io::Result<()> {
    while let Some(row) = rows.next_row()? {
        record(&row);
    }
    Ok(())
}
