//! Spreadsheet inventories: a CLM's "Export to Excel" or an OpenDocument sheet (see
//! [`crate::sheet`]). The first sheet whose header row names a serial, fingerprint or
//! certificate column is read; rows go through the CSV rows' record builder, named by the
//! row number the spreadsheet shows, their cells untouched (a PEM keeps its lines).

use super::*;
use crate::sheet::HEADER_WITHIN;

/// Reads a workbook's records (see the module's text).
pub(super) fn load_workbook(file: &str, bytes: &[u8], opts: &ReadOptions, out: &mut Loaded) {
    let err = |line: u64, reason: String| InventoryError::new(file, line, reason);
    let sheets = match crate::sheet::sheets(bytes) {
        Ok(s) => s,
        Err(why) => return out.errors.push(err(0, why)),
    };
    let mut refusals = Vec::new();
    for sheet in &sheets {
        let header = sheet
            .rows
            .iter()
            .take(HEADER_WITHIN)
            .enumerate()
            .find_map(|(i, r)| header_fields(r, opts).ok().map(|f| (i, f)));
        let Some((at, fields)) = header else {
            let first = sheet.rows.iter().find(|r| r.iter().any(|c| !c.is_empty()));
            refusals.push(match first.and_then(|r| header_fields(r, opts).err()) {
                Some(why) => format!("sheet \"{}\": {why}", sheet.name),
                None => format!("sheet \"{}\" is empty", sheet.name),
            });
            continue;
        };
        let shared: Arc<str> = file.into();
        let header_refs: Vec<&str> = sheet.rows[at].iter().map(String::as_str).collect();
        let profile = detect(&header_refs);
        let errors_from = out.errors.len();
        let mut slash = SlashDates::default();
        let mut any = false;
        for (i, row) in sheet.rows.iter().enumerate().skip(at + 1) {
            if row.iter().all(String::is_empty) {
                continue;
            }
            any = true;
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
                build(
                    &shared,
                    sheet.first_row + i as u64,
                    &cells,
                    profile,
                    opts,
                    &mut slash,
                ),
                &mut slash,
                out,
            );
        }
        slash.finish(file, out, errors_from);
        if !any {
            out.errors.push(err(
                sheet.first_row + at as u64,
                format!("sheet \"{}\": header only, no records", sheet.name),
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
