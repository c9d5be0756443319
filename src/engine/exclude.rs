//! A do-not-scan list (`scan --exclude FILE`): addresses and names a sweep must never
//! connect to, whatever the targets or the records name. Network teams keep such lists for
//! devices that fall over when probed (old appliances, industrial controllers) and for
//! address space that is not theirs to scan.
//!
//! Lines: an address (`10.0.0.5`, `2001:db8::5`), a CIDR block (`10.1.0.0/16`), a range
//! (`10.0.0.10-10.0.0.20`), a host name (`legacy.example.com`, that name only) or
//! `*.example.com` (every name under it, not the name itself), `# comments` and blank lines;
//! or a CSV with a header line, whose columns named as entries' are all read.
//! A name is excluded before it is resolved; an address wherever it comes from (a resolved
//! name, a pinned `host@IP`, a CIDR target). Unlike a bad target line, a bad line here stops
//! the run: skipping it could scan exactly what it was written to protect.

use super::targets::normalize_host;
use crate::model::LineError;
use std::collections::HashSet;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

/// The excluded addresses and names.
#[derive(Debug, Default, Clone)]
pub struct Exclusions {
    /// Sorted, merged, as IPv6 numbers (an IPv4 address as its IPv4-mapped form, so that
    /// one binary search serves both families and `::ffff:10.0.0.5` is `10.0.0.5`).
    ranges: Vec<(u128, u128)>,
    names: HashSet<String>,
    /// `example.com` for `*.example.com`.
    under: HashSet<String>,
    warnings: Vec<String>,
}

/// One line's reading.
enum Entry {
    Addresses(u128, u128),
    Name(String),
    Under(String),
}

/// An address as a number of the IPv6 space.
fn number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped().into(),
        IpAddr::V6(a) => a.into(),
    }
}

fn entry(line: &str) -> Result<Entry, String> {
    if let Some((a, b)) = line.split_once('-') {
        if let (Ok(a), Ok(b)) = (a.trim().parse::<IpAddr>(), b.trim().parse::<IpAddr>()) {
            return match a.is_ipv4() == b.is_ipv4() && a <= b {
                true => Ok(Entry::Addresses(number(a), number(b))),
                false => Err(format!(
                    "range \"{line}\" must run from a lower to a higher address of one family"
                )),
            };
        }
    }
    if line.contains('/') {
        let net: ipnet::IpNet = line
            .parse()
            .map_err(|_| format!("bad CIDR block \"{line}\""))?;
        return Ok(Entry::Addresses(
            number(net.network()),
            number(net.broadcast()),
        ));
    }
    if let Ok(ip) = line.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(Entry::Addresses(number(ip), number(ip)));
    }
    if line
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ':')
    {
        return Err(format!("bad address \"{line}\""));
    }
    match line.strip_prefix("*.") {
        Some(parent) => Ok(Entry::Under(normalize_host(parent)?)),
        None => Ok(Entry::Name(normalize_host(line)?)),
    }
}

/// A do-not-scan list kept as a spreadsheet: its header's delimiter and the columns of its
/// entries, every one named as such (`IP Address`, `Host`, `Name`, `Range`, `Subnet`, ...):
/// a row's address and its name are both excluded, since reading one column and not the
/// other could scan what the row protects. The other columns (a reason, an owner) are not
/// read.
fn csv_header(line: &str, sep: Option<u8>) -> Option<(u8, Vec<usize>)> {
    let delimiter = sep.unwrap_or_else(|| crate::csvlines::delimiter(line.as_bytes()));
    let cells = csv_cells(line, delimiter);
    if cells.len() < 2 {
        return None;
    }
    let columns = entry_columns(&cells);
    (!columns.is_empty()).then_some((delimiter, columns))
}

/// The columns of a header row that are named as entries'.
fn entry_columns(cells: &[String]) -> Vec<usize> {
    (0..cells.len())
        .filter(|&i| {
            matches!(
                crate::csvlines::key(&cells[i]).as_str(),
                "ip" | "ipaddress"
                    | "address"
                    | "addresses"
                    | "host"
                    | "hostname"
                    | "fqdn"
                    | "name"
                    | "range"
                    | "iprange"
                    | "cidr"
                    | "network"
                    | "subnet"
                    | "block"
                    | "target"
                    | "entry"
            )
        })
        .collect()
}

/// The cells of one CSV line, trimmed.
fn csv_cells(line: &str, delimiter: u8) -> Vec<String> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(line.as_bytes())
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(|c| c.trim().to_string()).collect())
        .unwrap_or_default()
}

/// Sorts ranges and merges the overlapping and adjacent ones, so a lookup is one binary
/// search.
fn merged(mut v: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    v.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn within(ranges: &[(u128, u128)], x: u128) -> bool {
    // The last range starting at or before x is the only one that can hold it.
    let i = ranges.partition_point(|r| r.0 <= x);
    i > 0 && ranges[i - 1].1 >= x
}

/// The lists read so far: entries, errors and notes.
#[derive(Default)]
struct Reading {
    ranges: Vec<(u128, u128)>,
    out: Exclusions,
    errors: Vec<LineError>,
    warnings: Vec<String>,
}

impl Reading {
    /// The exclusions read, or every error.
    fn finish(self) -> Result<Exclusions, Vec<LineError>> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let mut out = self.out;
        out.ranges = merged(self.ranges);
        out.warnings = self.warnings;
        Ok(out)
    }

    /// Reads one list's `bytes`, named `file` in errors.
    fn list(&mut self, file: &str, bytes: &[u8]) {
        let err = |line: u64, reason: String| LineError::new(file, line, reason);
        // A workbook, Excel's "Unicode Text", lines ended by a lone CR (Excel for Mac's
        // "CSV (Macintosh)"): read as any list.
        let is_header = |row: &[String]| !entry_columns(row).is_empty();
        let bytes = match crate::csvlines::list_bytes(bytes, is_header) {
            Ok(b) => b,
            Err((line, why)) => return self.errors.push(err(line, why)),
        };
        let bytes = &bytes[..];
        // Excel's `sep=;` first line names the header's delimiter; it is no entry (after a
        // byte order mark, which UTF-8 text from Excel and Notepad starts with).
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (sep, start) = match crate::csvlines::sep_directive(bytes) {
            Some((d, brk)) => (Some(d), brk),
            None => (None, 0),
        };
        let body = &bytes[start..];
        let mut first = true;
        let mut not_utf8 = 0;
        let (mut at, mut n) = (0, 0);
        while at <= body.len() {
            let end = memchr::memchr(b'\n', &body[at..]).map_or(body.len(), |e| at + e);
            let raw = &body[at..end];
            at = end + 1;
            n += 1;
            let (line, decoded) = crate::csvlines::text_of(raw);
            not_utf8 += u64::from(decoded);
            let text = line.split(" #").next().unwrap_or_default().trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            // A spreadsheet quotes what it likes, a one-column list's cells too.
            let plain = crate::csvlines::unquoted(text);
            if std::mem::take(&mut first) {
                if let Some((delimiter, columns)) = csv_header(text, sep) {
                    let rows = body.get(at..).unwrap_or_default();
                    not_utf8 += self.csv_rows(file, rows, n, delimiter, &columns);
                    break;
                }
                // A one-column list's header word (`IP Address`).
                if !entry_columns(&[plain.to_string()]).is_empty() {
                    continue;
                }
            }
            if text.contains([',', ';', '\t']) {
                self.errors.push(err(
                    n,
                    format!(
                        "\"{}\" is not one address, block, range or name: a CSV list needs a header line naming its column (IP Address, Host, Range, ...)",
                        crate::model::visible(text)
                    ),
                ));
                continue;
            }
            self.entry(file, n, plain);
        }
        if not_utf8 > 0 {
            self.warnings
                .push(crate::csvlines::not_utf8_note(file, not_utf8, "line"));
        }
    }

    /// Reads the rows after a spreadsheet's header (on line `header_line`) with a CSV
    /// reader, so that a quoted cell may span lines; every column in `columns` holds
    /// entries. Returns how many rows were read as Windows-1252.
    fn csv_rows(
        &mut self,
        file: &str,
        rows: &[u8],
        header_line: u64,
        delimiter: u8,
        columns: &[usize],
    ) -> u64 {
        let (rows, mut lines) =
            crate::csvlines::tracked(rows, header_line + 1, Some(b'#'), delimiter);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .delimiter(delimiter)
            .from_reader(rows);
        let mut rec = csv::ByteRecord::new();
        let mut not_utf8 = 0;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = lines.of(e.position());
                    self.errors
                        .push(LineError::new(file, line, format!("bad CSV: {e}")));
                    break;
                }
            }
            let n = lines.of(rec.position());
            let mut decoded = false;
            let cells: Vec<String> = rec
                .iter()
                .map(|raw| {
                    let (text, d) = crate::csvlines::text_of(raw);
                    decoded |= d;
                    text.trim().to_string()
                })
                .collect();
            not_utf8 += u64::from(decoded);
            if cells.iter().all(String::is_empty) {
                continue;
            }
            // The rows an unclosed quote ran over are in none of its cells: each of them
            // could be an address the list protects.
            if let Some(u) = lines.swallowed(rec.position()) {
                self.errors.push(u.error(file));
                continue;
            }
            // A cell may list several (a workbook cell of several lines reads as `a;b`).
            let named: Vec<&str> = columns
                .iter()
                .filter_map(|&i| cells.get(i))
                .flat_map(|c| c.split([';', '\n', '\r']))
                .map(|e| e.split(" #").next().unwrap_or_default().trim())
                .filter(|e| !e.is_empty())
                .collect();
            if named.is_empty() {
                self.errors
                    .push(LineError::new(file, n, "no address or name in the row"));
            }
            for text in named {
                self.entry(file, n, text);
            }
        }
        not_utf8
    }

    /// Takes one entry of line `n`.
    fn entry(&mut self, file: &str, n: u64, text: &str) {
        match entry(text) {
            Ok(Entry::Addresses(a, b)) => self.ranges.push((a, b)),
            Ok(Entry::Name(name)) => {
                self.out.names.insert(name);
            }
            Ok(Entry::Under(parent)) => {
                self.out.under.insert(parent);
            }
            Err(reason) => self.errors.push(LineError::new(file, n, reason)),
        }
    }
}

impl Exclusions {
    /// Reads the lists, every bad line an error naming its file and line.
    pub fn read(paths: &[impl AsRef<Path>]) -> Result<Self, Vec<LineError>> {
        let mut reading = Reading::default();
        for path in paths {
            let path = path.as_ref();
            let file = path.display().to_string();
            match std::fs::read(path) {
                Ok(bytes) => reading.list(&file, &bytes),
                Err(_) if path.is_dir() => {
                    reading
                        .errors
                        .push(LineError::new(&file, 0, "is a directory, not a list"))
                }
                Err(e) => reading.errors.push(LineError::new(&file, 0, e.to_string())),
            }
        }
        reading.finish()
    }

    /// Reads lists from `(name, reader)` pairs, as [`Exclusions::read`] reads files. Each
    /// list is read whole (a do-not-scan list is short), as a spreadsheet or an editor leaves
    /// it: a workbook, Excel's "Unicode Text" (UTF-16), lone CRs as line ends, Windows-1252
    /// (told in [`Exclusions::warnings`]), an Excel `sep=` first line.
    pub fn from_readers(
        lists: impl IntoIterator<Item = (String, impl Read)>,
    ) -> Result<Self, Vec<LineError>> {
        let mut reading = Reading::default();
        for (file, mut reader) in lists {
            let mut bytes = Vec::new();
            match reader.read_to_end(&mut bytes) {
                Ok(_) => reading.list(&file, &bytes),
                Err(e) => reading.errors.push(LineError::new(&file, 0, e.to_string())),
            }
        }
        reading.finish()
    }

    /// What the lists' reading has to say that is no error (lines read as Windows-1252).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether the list excludes this address (an IPv4-mapped IPv6 address as its IPv4).
    pub fn address(&self, ip: IpAddr) -> bool {
        within(&self.ranges, number(ip))
    }

    /// Whether the list excludes this name (an A-label, as targets hold it).
    pub fn name(&self, name: &str) -> bool {
        // A name from a URL (a redirect's Location, a CRL's or OCSP responder's address)
        // may end in the root's dot, which names the same host.
        let name = name.strip_suffix('.').unwrap_or(name);
        if self.names.contains(name) {
            return true;
        }
        let mut rest = name;
        while let Some((_, parent)) = rest.split_once('.') {
            if self.under.contains(parent) {
                return true;
            }
            rest = parent;
        }
        false
    }

    /// Whether every name under `parent` is excluded (`*.parent` or `*.` of an ancestor is
    /// listed): what a wildcard certificate for `*.parent` could be served on.
    pub fn everything_under(&self, parent: &str) -> bool {
        let mut rest = parent;
        loop {
            if self.under.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, up)) => rest = up,
                None => return false,
            }
        }
    }

    /// Whether the lists exclude nothing (only comments).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.names.is_empty() && self.under.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Exclusions, Vec<LineError>> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("exclude.txt");
        std::fs::write(&path, text).expect("written");
        Exclusions::read(&[path])
    }

    #[test]
    fn addresses_blocks_ranges_and_names_are_excluded_and_nothing_else() {
        let x = read(
            "# do not scan\n\
             10.0.0.5\n\
             10.1.0.0/16  # the plant network\n\
             10.2.0.10-10.2.0.20\n\
             10.2.0.21\n\
             2001:db8::/64\n\
             [2001:db9::1]\n\
             Legacy.Example.COM.\n\
             *.plc.example.com\n\
             *.bücher.example\n\
             \n",
        )
        .expect("a good list");
        let ip = |s: &str| s.parse::<IpAddr>().expect("an address");
        for yes in [
            "10.0.0.5",
            "10.1.0.0",
            "10.1.255.255",
            "10.2.0.10",
            "10.2.0.15",
            "10.2.0.21",
            "2001:db8::1",
            "2001:db9::1",
            "::ffff:10.0.0.5",
        ] {
            assert!(x.address(ip(yes)), "{yes}");
        }
        for no in [
            "10.0.0.4",
            "10.0.0.6",
            "10.2.0.9",
            "10.2.0.22",
            "10.3.0.0",
            "2001:db8:0:1::1",
            "2001:db9::2",
            "0.0.0.0",
            "255.255.255.255",
        ] {
            assert!(!x.address(ip(no)), "{no}");
        }
        assert!(x.name("legacy.example.com"));
        assert!(x.name("legacy.example.com."));
        assert!(x.name("a.plc.example.com"));
        assert!(x.name("a.plc.example.com."));
        assert!(x.name("b.a.plc.example.com"));
        assert!(x.name("www.xn--bcher-kva.example"));
        assert!(
            !x.name("plc.example.com"),
            "the parent itself is not under it"
        );
        assert!(!x.name("www.legacy.example.com"));
        assert!(!x.name("example.com"));
        assert!(!x.name("xplc.example.com"));
        assert!(x.everything_under("plc.example.com"));
        assert!(x.everything_under("a.plc.example.com"));
        assert!(!x.everything_under("example.com"));
    }

    #[test]
    fn a_list_kept_as_a_spreadsheet_excludes_every_named_column() {
        // A network team's "do not scan" sheet saved as CSV: both the device's name and its
        // address are excluded (reading one column could scan what the row protects).
        let x = read(
            "\u{feff}Name;IP Address;Reason\r\nplc-7.plant.example;10.0.0.5;\"reboots; when probed\"\r\n;10.0.0.6;\r\nhmi.plant.example;;\r\n;;\r\n",
        )
        .expect("a good list");
        for ip in ["10.0.0.5", "10.0.0.6"] {
            assert!(x.address(ip.parse().unwrap()), "{ip}");
        }
        assert!(!x.address("10.0.0.7".parse().unwrap()));
        assert!(x.name("plc-7.plant.example") && x.name("hmi.plant.example"));
        assert!(!x.name("reboots"));
        // A row naming nothing, a bad cell, and a list of several columns without a header
        // line: errors that stop the run.
        let errors = read("Host,Reason\n,old\nbad name.example,x\n").expect_err("bad rows");
        let shown: Vec<String> = errors.iter().map(|e| e.reason.clone()).collect();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 3],
            "{shown:?}"
        );
        assert_eq!(shown[0], "no address or name in the row");
        let errors = read("10.0.0.5,prod db\n").expect_err("no header");
        assert!(
            errors[0]
                .reason
                .contains("a CSV list needs a header line naming its column"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_list_reads_the_same_however_a_spreadsheet_or_an_editor_saved_it() {
        let from = |bytes: &[u8]| Exclusions::from_readers([("list".to_string(), bytes)]);
        let protects = |x: &Exclusions| {
            ["10.0.0.5", "10.0.0.6"]
                .iter()
                .all(|ip| x.address(ip.parse().expect("an address")))
                && x.name("plc-7.plant.example")
                && !x.address("10.0.0.7".parse().expect("an address"))
        };
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "IP Address\tReason\r\n10.0.0.5\tx\r\n10.0.0.6\t\r\nplc-7.plant.example\t\r\n"
            .encode_utf16()
        {
            utf16.extend(u.to_le_bytes());
        }
        let book = crate::sheet::test_workbook(
            0,
            &[
                &["Do not scan", "", ""],
                &["Name", "IP Address", "Reason"],
                &["plc-7.plant.example", "10.0.0.5\n10.0.0.6", "reboots"],
            ],
        );
        for (how, bytes) in [
            // Excel's CSV in a locale with the decimal comma: `sep=;`, Windows-1252, a reason
            // over two lines.
            (
                "Excel CSV",
                &b"sep=;\r\nName;IP Address;Grund\r\nplc-7.plant.example;10.0.0.5;\"f\xfcr Kunden,\r\nnie scannen\"\r\n;10.0.0.6;\r\n"[..],
            ),
            ("Unicode Text", &utf16[..]),
            (
                "CSV UTF-8 with a sep= line",
                &b"\xEF\xBB\xBFsep=,\nName,IP Address\nplc-7.plant.example,10.0.0.5\n,10.0.0.6\n"[..],
            ),
            (
                "CSV (Macintosh), one column",
                &b"Hostname\r10.0.0.5\r10.0.0.6\rplc-7.plant.example\r"[..],
            ),
            (
                "one column, quoted",
                &b"\"IP Address\"\n\"10.0.0.5\"\n\"10.0.0.6\"\n\"plc-7.plant.example\"\n"[..],
            ),
            ("workbook", &book[..]),
        ] {
            let x = from(bytes).unwrap_or_else(|e| panic!("{how}: {e:?}"));
            assert!(protects(&x), "{how}: {x:?}");
            let told = x.warnings().join("\n");
            assert_eq!(
                told.contains("1 line not in UTF-8"),
                how == "Excel CSV",
                "{how}: {told}"
            );
        }
        // A quote never closed: the rows after it are in no cell, so none of them would be
        // excluded.
        let errors =
            from(b"IP Address,Reason\n10.0.0.5,\"oops\n10.0.0.6,x\n").expect_err("unclosed");
        assert_eq!(errors[0].line, 2, "{errors:?}");
        assert!(errors[0].reason.contains("quote"), "{errors:?}");
    }

    #[test]
    fn a_bad_line_is_an_error_naming_file_and_line() {
        let text =
            "10.0.0.1\n10.0.0.300\n10.0.0.9-10.0.0.1\n10.0.0.0/33\nok.example\nbad name.example\n";
        // Lines end with LF, CRLF or (Excel for Mac's "CSV (Macintosh)") a lone CR.
        for nl in ["\r\n", "\r"] {
            let errors = read(&text.replace('\n', nl)).expect_err("bad lines");
            let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
            assert_eq!(lines, [2, 3, 4, 6], "{nl:?}: {errors:?}");
        }
        let errors = read(text).expect_err("bad lines");
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 6], "{errors:?}");
        assert!(
            errors[0].to_string().contains("exclude.txt:2"),
            "{}",
            errors[0]
        );
        assert!(errors[1].reason.contains("lower to a higher"), "{errors:?}");
        let missing = Exclusions::read(&["/nonexistent/exclude.txt"]).expect_err("no file");
        assert_eq!(missing.len(), 1);
    }

    #[test]
    fn the_sample_list_reads() {
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/targets/exclude.txt");
        let x = Exclusions::read(&[sample]).expect("the sample is a good list");
        assert!(x.address("10.20.3.4".parse().expect("an address")));
        assert!(x.address("192.168.7.19".parse().expect("an address")));
        assert!(!x.address("192.168.7.20".parse().expect("an address")));
        assert!(x.name("plc1.ot.example.com"));
        assert!(x.name("legacy-hsm.example.com"));
        // The same kind of list kept as a spreadsheet (semicolons, a note over two lines).
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/targets/exclude.csv");
        let x = Exclusions::read(&[sample]).expect("the sample is a good list");
        for ip in ["10.20.0.7", "10.20.0.8", "192.168.7.15"] {
            assert!(x.address(ip.parse().expect("an address")), "{ip}");
        }
        assert!(x.name("plc-7.plant.example") && x.name("legacy-hsm.example.com"));
        assert!(!x.address("192.168.7.20".parse().expect("an address")));
    }

    #[test]
    fn a_directory_or_a_missing_file_is_one_error_naming_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.txt");
        let errors = Exclusions::read(&[dir.path(), gone.as_path()]).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                format!("{}: is a directory, not a list", dir.path().display()),
                format!("{}: No such file or directory (os error 2)", gone.display()),
            ]
        );
    }

    #[test]
    fn overlapping_and_adjacent_ranges_merge() {
        assert_eq!(
            merged(vec![
                (5, 9),
                (1, 3),
                (4, 4),
                (20, 30),
                (25, 26),
                (u128::MAX, u128::MAX)
            ]),
            [(1, 9), (20, 30), (u128::MAX, u128::MAX)]
        );
    }

    #[test]
    fn generated_lists_exclude_exactly_the_addresses_their_lines_name() {
        // Lists of addresses, CIDR blocks and ranges of both families, overlapping and
        // adjacent, in a small space so that probes fall on their edges: an address is
        // excluded exactly when some line's own span (worked out here with masks) holds it.
        use std::net::{Ipv4Addr, Ipv6Addr};
        let mut rng = crate::testrng::XorShift::new(0xdead_beef_0e8c_1d3e);
        // IPv4 in 10.0.0.0/22 and IPv6 in 2001:db8::/118, as numbers of 10 bits.
        let v4 = |n: u64| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n as u32));
        let v6 = |n: u64| IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(n)));
        for round in 0..2_000 {
            let mut text = String::new();
            // (family is v6, first, last) of every line, by this test's own reckoning.
            let mut spans: Vec<(bool, u64, u64)> = Vec::new();
            for _ in 0..1 + rng.below(6) {
                let six = rng.below(2) == 0;
                let at = |n: u64| if six { v6(n) } else { v4(n) };
                let a = rng.below(1024);
                match rng.below(3) {
                    0 => {
                        text.push_str(&format!("{}\n", at(a)));
                        spans.push((six, a, a));
                    }
                    1 => {
                        let bits = rng.below(11);
                        let len = if six { 128 - bits } else { 32 - bits };
                        let size = 1u64 << bits;
                        let first = a & !(size - 1);
                        // A block may be written from any address in it (host bits set).
                        text.push_str(&format!("{}/{len}\n", at(a)));
                        spans.push((six, first, first + size - 1));
                    }
                    _ => {
                        let b = (a + rng.below(40)).min(1023);
                        text.push_str(&format!("{} - {}\n", at(a), at(b)));
                        spans.push((six, a, b));
                    }
                }
            }
            let x = read(&text).unwrap_or_else(|e| panic!("round {round}: {e:?}\n{text}"));
            for _ in 0..64 {
                let six = rng.below(2) == 0;
                let n = rng.below(1024);
                let ip = if six { v6(n) } else { v4(n) };
                let want = spans
                    .iter()
                    .any(|&(s, first, last)| s == six && first <= n && n <= last);
                assert_eq!(x.address(ip), want, "round {round}: {ip}\n{text}");
                // The IPv4-mapped form of an IPv4 address is that address.
                if let IpAddr::V4(a) = ip {
                    assert_eq!(x.address(IpAddr::V6(a.to_ipv6_mapped())), want);
                }
            }
        }
    }

    #[test]
    fn generated_lists_exclude_exactly_the_names_their_lines_name() {
        // Names of one to four labels from a small set, listed as they are or as `*.` of a
        // parent, in any case and with the root's dot or without: a name is excluded
        // exactly when a line names it, or names `*.` of one of its proper parents.
        const LABELS: [&str; 4] = ["a", "b", "plc", "x"];
        let mut rng = crate::testrng::XorShift::new(0x0e8c_1d3e_5eed_0002);
        let name = |rng: &mut crate::testrng::XorShift| {
            let n = 1 + rng.below(4) as usize;
            let labels: Vec<&str> = (0..n)
                .map(|_| LABELS[rng.below(LABELS.len() as u64) as usize])
                .collect();
            labels.join(".") + ".example"
        };
        for round in 0..2_000 {
            let (mut text, mut exact, mut under) = (String::new(), Vec::new(), Vec::new());
            for _ in 0..1 + rng.below(5) {
                let n = name(&mut rng);
                let written = match rng.below(3) {
                    0 => n.to_uppercase(),
                    1 => format!("{n}."),
                    _ => n.clone(),
                };
                if rng.below(3) == 0 {
                    text.push_str(&format!("*.{written}\n"));
                    under.push(n);
                } else {
                    text.push_str(&format!("{written}\n"));
                    exact.push(n);
                }
            }
            let x = read(&text).unwrap_or_else(|e| panic!("round {round}: {e:?}\n{text}"));
            for _ in 0..32 {
                let probe = name(&mut rng);
                let want = exact.contains(&probe)
                    || under.iter().any(|p| {
                        probe
                            .strip_suffix(p.as_str())
                            .is_some_and(|h| h.ends_with('.'))
                    });
                assert_eq!(x.name(&probe), want, "round {round}: {probe}\n{text}");
                assert_eq!(
                    x.name(&format!("{probe}.")),
                    want,
                    "round {round}: {probe}."
                );
            }
        }
    }
}
