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
use std::io::BufRead;
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
fn csv_header(line: &str) -> Option<(u8, Vec<usize>)> {
    let delimiter = crate::csvlines::delimiter(line.as_bytes());
    let cells = csv_cells(line, delimiter);
    if cells.len() < 2 {
        return None;
    }
    let columns: Vec<usize> = (0..cells.len())
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
        .collect();
    (!columns.is_empty()).then_some((delimiter, columns))
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

impl Exclusions {
    /// Reads the lists, every bad line an error naming its file and line.
    pub fn read(paths: &[impl AsRef<Path>]) -> Result<Self, Vec<LineError>> {
        let mut lists = Vec::new();
        let mut errors = Vec::new();
        for path in paths {
            let path = path.as_ref();
            match std::fs::File::open(path) {
                // A directory opens, and fails only at its first read (as line 1).
                Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => errors.push(LineError {
                    file: path.display().to_string(),
                    line: 0,
                    field: None,
                    reason: "is a directory, not a list".into(),
                }),
                Ok(f) => lists.push((path.display().to_string(), std::io::BufReader::new(f))),
                Err(e) => errors.push(LineError {
                    file: path.display().to_string(),
                    line: 0,
                    field: None,
                    reason: e.to_string(),
                }),
            }
        }
        let read = Self::from_readers(lists);
        match (read, errors.is_empty()) {
            (Ok(x), true) => Ok(x),
            (Ok(_), false) => Err(errors),
            (Err(mut more), _) => {
                errors.append(&mut more);
                Err(errors)
            }
        }
    }

    /// Reads lists from `(name, reader)` pairs, as [`Exclusions::read`] reads files.
    pub fn from_readers(
        lists: impl IntoIterator<Item = (String, impl BufRead)>,
    ) -> Result<Self, Vec<LineError>> {
        let mut ranges = Vec::new();
        let mut out = Exclusions::default();
        let mut errors = Vec::new();
        for (file, reader) in lists {
            let err = |line: u64, reason: String| LineError {
                file: file.clone(),
                line,
                field: None,
                reason,
            };
            // Lines ended by a lone CR (Excel for Mac's "CSV (Macintosh)") are lines too.
            let reader = std::io::BufReader::new(crate::csvlines::LoneCr::new(reader));
            // A list kept as a spreadsheet: its delimiter and the columns of its entries.
            let mut csv: Option<(u8, Vec<usize>)> = None;
            let mut first = true;
            for (n, line) in reader.lines().enumerate() {
                let n = n as u64 + 1;
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        errors.push(err(n, e.to_string()));
                        break;
                    }
                };
                let text = line.split(" #").next().unwrap_or_default().trim();
                let text = text.trim_start_matches('\u{feff}');
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                if std::mem::take(&mut first) {
                    csv = csv_header(text);
                    if csv.is_some() {
                        continue;
                    }
                }
                let entries: Vec<String> = match &csv {
                    Some((delimiter, columns)) => {
                        let cells = csv_cells(text, *delimiter);
                        if cells.iter().all(|c| c.is_empty()) {
                            continue;
                        }
                        let named: Vec<String> = columns
                            .iter()
                            .filter_map(|&i| cells.get(i).filter(|c| !c.is_empty()).cloned())
                            .collect();
                        if named.is_empty() {
                            errors.push(err(n, "no address or name in the row".into()));
                        }
                        named
                    }
                    None if text.contains([',', ';', '\t']) => {
                        errors.push(err(
                            n,
                            format!(
                                "\"{}\" is not one address, block, range or name: a CSV list needs a header line naming its column (IP Address, Host, Range, ...)",
                                crate::model::visible(text)
                            ),
                        ));
                        continue;
                    }
                    None => vec![text.to_string()],
                };
                for text in &entries {
                    match entry(text) {
                        Ok(Entry::Addresses(a, b)) => ranges.push((a, b)),
                        Ok(Entry::Name(name)) => {
                            out.names.insert(name);
                        }
                        Ok(Entry::Under(parent)) => {
                            out.under.insert(parent);
                        }
                        Err(reason) => errors.push(err(n, reason)),
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        out.ranges = merged(ranges);
        Ok(out)
    }

    /// Whether the list excludes this address (an IPv4-mapped IPv6 address as its IPv4).
    pub fn address(&self, ip: IpAddr) -> bool {
        within(&self.ranges, number(ip))
    }

    /// Whether the list excludes this name (an A-label, as targets hold it).
    pub fn name(&self, name: &str) -> bool {
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
        assert!(x.name("a.plc.example.com"));
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
}
