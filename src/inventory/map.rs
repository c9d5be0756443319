//! `--inventory-map FILE`: how to read a CLM export that no built-in profile knows, in TOML.
//!
//! ```toml
//! serial_base = "hex"            # hex, dec or auto (default: auto)
//! date_order = "day-first"       # how to read slash dates: day-first or month-first
//! date_format = "[day].[month].[year] [hour]:[minute]"   # extra writing (time crate syntax)
//! date_offset = "+05:30"         # times written without a zone are this far from UTC
//!
//! [columns]                      # column header = field; "ignore" drops a column
//! "Cert Serial" = "serial"
//! "Expires On" = "not_after"
//! "Hostnames" = "sans"
//!
//! [status]                       # platform word = issued, pending, revoked, expired,
//! "Live" = "issued"              # cancelled or superseded
//! "Retired" = "superseded"
//! ```

use super::date::{SlashOrder, When};
use super::load::Field;
use super::record::RecordStatus;
use super::serial::SerialBase;
use crate::csvlines::key as norm;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use time::format_description::OwnedFormatItem;
use time::{Date, PrimitiveDateTime};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    #[serde(default)]
    columns: BTreeMap<String, String>,
    serial_base: Option<String>,
    date_order: Option<String>,
    date_format: Option<String>,
    date_offset: Option<String>,
    #[serde(default)]
    status: BTreeMap<String, String>,
}

/// A parsed map: column names, serial base, date writing and status words.
#[derive(Debug, Default)]
pub struct InventoryMap {
    columns: HashMap<String, Option<Field>>,
    /// How serials are written, when the map says.
    pub serial_base: Option<SerialBase>,
    /// How slash dates are read, when the map says.
    pub slash: Option<SlashOrder>,
    date_format: Option<OwnedFormatItem>,
    /// The offset from UTC, in seconds east, of the machine that wrote the export's times
    /// without a zone (`date_offset`), when the map says.
    pub date_offset: Option<i64>,
    status: HashMap<String, RecordStatus>,
}

impl InventoryMap {
    /// The field a column feeds (`Some(None)`: ignored), or `None` when the map does not
    /// name the column.
    pub(crate) fn column(&self, header: &str) -> Option<Option<Field>> {
        self.columns.get(&norm(header)).copied()
    }

    /// The status a platform word maps to, when the map names it.
    pub fn status(&self, raw: &str) -> Option<RecordStatus> {
        self.status.get(&norm(raw)).copied()
    }

    /// A date in the map's own `date_format`, when it has one and the value is written so
    /// (the built-in writings are the caller's to try next).
    pub fn own_format(&self, raw: &str) -> Option<When> {
        let t = raw.trim();
        let fmt = self.date_format.as_ref().filter(|_| !t.is_empty())?;
        if let Ok(dt) = PrimitiveDateTime::parse(t, fmt) {
            return Some(When {
                unix: dt.assume_utc().unix_timestamp(),
                date_only: false,
            });
        }
        Date::parse(t, fmt).ok().map(|d| When {
            unix: d.midnight().assume_utc().unix_timestamp(),
            date_only: true,
        })
    }
}

/// Seconds east of UTC of `+05:30`, `+0530`, `-04:00`, `-4`, `UTC` or `Z`; at most 18
/// hours either way. Read by hand: the time crate reads `-00:30` as `+00:30`
/// (time-rs/time#522).
fn offset_seconds(o: &str) -> Option<i64> {
    let t = o.trim();
    if ["utc", "gmt", "z"].contains(&t.to_ascii_lowercase().as_str()) {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 18 && m < 60 && h * 60 + m <= 18 * 60).then_some(sign * (h * 3600 + m * 60))
}

fn line_of(text: &str, offset: usize) -> usize {
    1 + text[..offset.min(text.len())].matches('\n').count()
}

/// Reads a map file; errors name the file, line and key.
pub fn load(path: &std::path::Path) -> Result<InventoryMap, String> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
    parse(&file, &text)
}

/// Parses map text (named `file` in errors).
pub fn parse(file: &str, text: &str) -> Result<InventoryMap, String> {
    let raw: RawMap = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        format!("{file}:{line}: {}", e.message())
    })?;
    // Lines of keys, for errors about values that parsed as TOML but mean nothing.
    let key_line = |key: &str| {
        text.find(key)
            .map(|o| line_of(text, o).to_string())
            .unwrap_or_else(|| "?".into())
    };
    let mut map = InventoryMap::default();
    for (column, field) in &raw.columns {
        let f = if field.eq_ignore_ascii_case("ignore") {
            None
        } else {
            let wanted = field.trim().to_ascii_lowercase().replace([' ', '-'], "_");
            match Field::NAMES.iter().find(|(n, _)| *n == wanted) {
                Some((_, f)) => Some(*f),
                None => {
                    let names: Vec<&str> = Field::NAMES.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "{file}:{}: field columns.\"{column}\": unknown field \"{field}\" (one of: {}, ignore)",
                        key_line(column),
                        names.join(", ")
                    ));
                }
            }
        };
        map.columns.insert(norm(column), f);
    }
    if let Some(b) = &raw.serial_base {
        map.serial_base = Some(match b.to_ascii_lowercase().as_str() {
            "hex" | "16" => SerialBase::Hex,
            "dec" | "decimal" | "10" => SerialBase::Dec,
            "auto" => SerialBase::Auto,
            other => {
                return Err(format!(
                    "{file}:{}: field serial_base: \"{other}\" is not hex, dec or auto",
                    key_line("serial_base")
                ))
            }
        });
    }
    if let Some(o) = &raw.date_order {
        map.slash = Some(match norm(o).as_str() {
            "dayfirst" | "dmy" | "ddmmyyyy" => SlashOrder::DayFirst,
            "monthfirst" | "mdy" | "mmddyyyy" => SlashOrder::MonthFirst,
            _ => {
                return Err(format!(
                    "{file}:{}: field date_order: \"{o}\" is not day-first or month-first",
                    key_line("date_order")
                ))
            }
        });
    }
    if let Some(f) = &raw.date_format {
        map.date_format = Some(time::format_description::parse_owned::<2>(f).map_err(|e| {
            format!(
                "{file}:{}: field date_format: {e} (write it like \"[day].[month].[year] [hour]:[minute]\")",
                key_line("date_format")
            )
        })?);
    }
    if let Some(o) = &raw.date_offset {
        map.date_offset = Some(offset_seconds(o).ok_or_else(|| {
            format!(
                "{file}:{}: field date_offset: \"{o}\" is not an offset from UTC (write it like \"+05:30\", \"-04:00\" or \"UTC\")",
                key_line("date_offset")
            )
        })?);
    }
    for (word, status) in &raw.status {
        let s = match status.to_ascii_lowercase().as_str() {
            "issued" => RecordStatus::Issued,
            "pending" => RecordStatus::Pending,
            "revoked" => RecordStatus::Revoked,
            "expired" => RecordStatus::Expired,
            "cancelled" | "canceled" => RecordStatus::Cancelled,
            "superseded" => RecordStatus::Superseded,
            other => {
                return Err(format!(
                    "{file}:{}: field status.\"{word}\": \"{other}\" is not issued, pending, revoked, expired, cancelled or superseded",
                    key_line(word)
                ))
            }
        };
        map.status.insert(norm(word), s);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::load::{load_bytes, Loaded, ReadOptions};
    use std::sync::Arc;

    const MAP: &str = r#"
serial_base = "hex"
date_order = "day-first"
date_format = "[day].[month].[year] [hour]:[minute]"

[columns]
"Cert Serial" = "serial"
"Ends" = "not_after"
"Begins" = "not_before"
"Hostnames" = "sans"
"Lifecycle" = "status"
"Notes" = "ignore"
"Serial Number" = "ignore"

[status]
"Live" = "issued"
"Retired" = "superseded"
"#;

    #[test]
    fn a_map_reads_an_unknown_export() {
        let map = parse("map.toml", MAP).unwrap();
        let opts = ReadOptions {
            map: Some(Arc::new(map)),
            ..ReadOptions::default()
        };
        let csv = "Cert Serial,Ends,Begins,Hostnames,Lifecycle,Notes,Serial Number\n\
                   1234,01/02/2027,05.01.2026 10:30,a.example.com;b.example.com,Live,x,junk\n\
                   00ff,31/12/2026,01.01.2026 00:00,c.example.com,Retired,y,junk\n";
        let mut out = Loaded::default();
        load_bytes("odd.csv", csv.as_bytes(), &opts, &mut out);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let r = &out.records[0];
        // "1234" is hex by the map, not ambiguous.
        assert_eq!(
            r.serial.as_ref().map(|s| s.canonical.as_str()),
            Some("1234")
        );
        assert_eq!(r.serial.as_ref().and_then(|s| s.alternative.clone()), None);
        // 01/02/2027 is the 1st of February (day first).
        assert_eq!(r.not_after.map(|w| w.unix), Some(1_801_440_000));
        assert_eq!(r.not_before.map(|w| w.unix), Some(1_767_609_000));
        assert_eq!(r.sans, ["a.example.com", "b.example.com"]);
        assert_eq!(r.status, RecordStatus::Issued);
        assert_eq!(out.records[1].status, RecordStatus::Superseded);
    }

    #[test]
    fn map_errors_name_file_line_and_key() {
        let e = parse("m.toml", "[columns]\n\"Serial\" = \"serail\"\n").unwrap_err();
        assert!(
            e.starts_with("m.toml:2: field columns.\"Serial\": unknown field \"serail\""),
            "{e}"
        );
        let e = parse("m.toml", "serial_base = \"octal\"\n").unwrap_err();
        assert!(e.starts_with("m.toml:1: field serial_base"), "{e}");
        let e = parse("m.toml", "colums = 3\n").unwrap_err();
        assert!(e.starts_with("m.toml:1: unknown field `colums`"), "{e}");
        let e = parse("m.toml", "\ndate_offset = \"IST\"\n").unwrap_err();
        assert!(e.starts_with("m.toml:2: field date_offset: \"IST\""), "{e}");
    }

    #[test]
    fn offsets_read_every_way_they_are_written() {
        for (o, secs) in [
            ("+05:30", 19_800),
            ("+0530", 19_800),
            ("-04:00", -14_400),
            ("-4", -14_400),
            ("-00:30", -1_800),
            ("+12:45", 45_900),
            ("UTC", 0),
            ("z", 0),
        ] {
            assert_eq!(offset_seconds(o), Some(secs), "{o}");
        }
        for bad in ["IST", "5:30", "+19:00", "+05:60", "+", "+5:3x", ""] {
            assert_eq!(offset_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_export_of_local_times_is_read_at_the_maps_offset() {
        // certutil on a CA in India writes its local time; one date reads both ways until a
        // later row settles the order (month-first), and is corrected then, at the offset too.
        let map = parse("map.toml", "date_offset = \"+05:30\"\n").unwrap();
        let opts = ReadOptions {
            map: Some(Arc::new(map)),
            ..ReadOptions::default()
        };
        let csv = "Serial Number,Certificate Expiration Date,Common Name\n\
                   0A,03/04/2027 15:30,a.example.com\n\
                   0B,12/25/2027 5:30 AM,b.example.com\n\
                   0C,2027-12-25T05:30:00Z,c.example.com\n";
        let mut out = Loaded::default();
        load_bytes("certutil.csv", csv.as_bytes(), &opts, &mut out);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let at = |i: usize| out.records[i].not_after.map(|w| w.unix);
        // 4 March 2027 10:00 UTC; 25 December 2027 00:00 UTC; a zoned value as written.
        assert_eq!(at(0), Some(1_804_154_400));
        assert_eq!(at(1), Some(1_829_692_800));
        assert_eq!(at(2), Some(1_829_712_600));
    }
}
