//! What to check: a domain list (one a line, or CSV with `domain` and optionally `method`,
//! `token`, `expected`), or the names of CLM records with their DCV method.

use super::{Method, Request};
use crate::inventory::record::Record;
use crate::model::LineError;
use std::collections::HashSet;

/// Header names of the domain column (normalised): one list for telling a CSV from plain
/// lines and for finding the column.
const DOMAIN_COLUMNS: [&str; 7] = [
    "domain",
    "domainname",
    "name",
    "commonname",
    "host",
    "hostname",
    "fqdn",
];

/// Requests read so far and the lines that could not be used.
#[derive(Debug, Default)]
pub struct Requests {
    /// One per (domain, method, token, expected value), in input order.
    pub requests: Vec<Request>,
    /// Bad lines, each with file, line and field.
    pub errors: Vec<LineError>,
    /// Rows that repeated a request already read exactly (the first is kept).
    pub duplicates: u64,
    /// What was read in a way worth saying (a list not in UTF-8, an export's missing pages).
    pub warnings: Vec<String>,
    seen: HashSet<(String, super::Method, Option<String>, Option<String>)>,
    /// Lines read as the name of a target (`host:port`, a URL), and the first of them.
    as_names: (u64, Option<String>),
}

impl Requests {
    fn push(&mut self, r: Request) {
        // Two orders may be pending for one name at once, each with its own challenge: at
        // DNS-01 both TXT values must be there, so rows that expect different values are
        // different checks, not duplicates.
        let key = (
            r.domain.to_ascii_lowercase(),
            r.method,
            r.token.clone(),
            r.expected.clone(),
        );
        if self.seen.insert(key) {
            self.requests.push(r);
        } else {
            self.duplicates += 1;
        }
    }
}

/// The name a domain cell written as a scan target means: `www.example.com:8443`,
/// `www.example.com@192.0.2.1:443`, `https://www.example.com/login` (the lines of a
/// target list, fed to `dcv` as they are). A CA validates a name on the challenge's ports
/// (80 and 443), whatever port or address the service itself uses, so the name is the
/// check; an address stays one, for the identifier check to say why it is none.
fn target_name(cell: &str) -> Option<String> {
    if !cell.contains([':', '@', '/']) || cell.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    // A wildcard's target (`*.example.com:443`): no target list holds one, but an
    // inventory's name column with the port appended may.
    if let Some(base) = cell.strip_prefix("*.") {
        return target_name(base).map(|n| format!("*.{n}"));
    }
    // Any URL scheme: `http://` is no TLS target, but its host is the name all the same.
    let line = match cell.split_once("://") {
        Some((_, rest)) => format!("https://{rest}"),
        None => cell.to_string(),
    };
    match crate::engine::targets::parse_line(&line, 443).ok()? {
        crate::engine::targets::Target::Name { name, .. } => Some(name),
        crate::engine::targets::Target::Addr { ip, .. } => Some(ip.to_string()),
        crate::engine::targets::Target::Cidr { .. } => None,
    }
}

impl Requests {
    /// The domain a cell names: itself, or the name of the target it is written as
    /// ([`target_name`]), counted for the warning [`read_domains`] gives.
    fn domain_of(&mut self, cell: &str) -> String {
        match target_name(cell) {
            Some(name) => {
                self.as_names.0 += 1;
                self.as_names.1.get_or_insert_with(|| cell.to_string());
                name
            }
            None => cell.to_string(),
        }
    }
}

fn column(headers: &[String], aliases: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| aliases.contains(&crate::csvlines::key(h).as_str()))
}

fn err(file: &str, line: u64, field: Option<&str>, reason: String) -> LineError {
    LineError {
        file: file.to_string(),
        line,
        field: field.map(str::to_string),
        reason,
    }
}

/// Reads a domain list from `bytes` (named `file` in errors); rows without a method get
/// `default`.
pub fn read_domains(file: &str, bytes: &[u8], default: &[Method], out: &mut Requests) {
    // A workbook, Excel's "Unicode Text", lines ended by a lone CR (Excel for Mac's "CSV
    // (Macintosh)"): read as any list.
    let is_header = |row: &[String]| {
        row.iter()
            .any(|h| DOMAIN_COLUMNS.contains(&crate::csvlines::key(h).as_str()))
    };
    let bytes = match crate::csvlines::list_bytes(bytes, is_header) {
        Ok(b) => b,
        Err((line, why)) => return out.errors.push(err(file, line, None, why)),
    };
    let bytes = &bytes[..];
    let before = std::mem::take(&mut out.as_names);
    read_text(file, bytes, default, out);
    let (n, first) = std::mem::replace(&mut out.as_names, before);
    if let Some(first) = first {
        out.warnings.push(format!(
            "{file}: {n} line{} name{} a target, not a domain (\"{first}\" first): each is checked as its name, since a CA validates a name on the challenge's ports (80 and 443) whatever port or address the service uses",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
        ));
    }
}

/// [`read_domains`] of a list's bytes, decoded.
fn read_text(file: &str, bytes: &[u8], default: &[Method], out: &mut Requests) {
    let text = match crate::csvlines::text_of(bytes) {
        (std::borrow::Cow::Borrowed(t), _) => t,
        (decoded, _) => {
            let lines = bytes
                .split(|b| *b == b'\n')
                .filter(|l| std::str::from_utf8(l).is_err())
                .count();
            out.warnings
                .push(crate::csvlines::not_utf8_note(file, lines as u64, "line"));
            return read_text(file, decoded.as_bytes(), default, out);
        }
    };
    // A byte order mark (Notepad's and Excel's UTF-8) is no part of the first domain: it
    // was checked as `\u{feff}www.example.com`, and failed.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Excel's `sep=;` first line: blanked (its line number kept), its delimiter taken.
    if let Some((d, brk)) = crate::csvlines::sep_directive(text.as_bytes()) {
        return read_separated(file, &text[brk..], Some(d), default, out);
    }
    read_separated(file, text, None, default, out);
}

/// [`read_domains`] of UTF-8 text; `sep` is the delimiter a `sep=` line named.
fn read_separated(file: &str, text: &str, sep: Option<u8>, default: &[Method], out: &mut Requests) {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    let delimiter = sep.unwrap_or_else(|| crate::csvlines::delimiter(first.as_bytes()));
    let is_csv = first.contains(char::from(delimiter))
        && first
            .split(char::from(delimiter))
            .any(|h| DOMAIN_COLUMNS.contains(&crate::csvlines::key(h).as_str()));
    if is_csv {
        read_csv(file, text, delimiter, default, out);
        return;
    }
    // A spreadsheet's single column saved as text: its header word is no domain, and a cell
    // may be quoted.
    let mut header = DOMAIN_COLUMNS.contains(&crate::csvlines::key(first).as_str());
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let line = crate::csvlines::unquoted(line);
        if line.is_empty() {
            continue;
        }
        if std::mem::take(&mut header) {
            continue;
        }
        if let Some(why) = control_character(line) {
            out.errors.push(err(file, i as u64 + 1, None, why));
            continue;
        }
        if line.contains(char::is_whitespace) || line.contains(',') {
            out.errors.push(err(
                file,
                i as u64 + 1,
                None,
                format!("\"{line}\" is not one domain (for methods or tokens use a CSV with a domain header)"),
            ));
            continue;
        }
        let domain = out.domain_of(line);
        for m in default {
            out.push(Request {
                domain: domain.clone(),
                method: *m,
                token: None,
                expected: None,
                source: format!("{file}:{}", i + 1),
            });
        }
    }
}

/// Why a domain read from a list cannot be one: a control character (a list cut from a
/// binary file), which the report would otherwise carry raw.
fn control_character(domain: &str) -> Option<String> {
    let c = domain.chars().find(|c| c.is_control())?;
    Some(format!(
        "\"{}\" holds the control character U+{:04X}: save the list as text",
        domain.escape_debug(),
        u32::from(c)
    ))
}

fn read_csv(file: &str, text: &str, delimiter: u8, default: &[Method], out: &mut Requests) {
    let (input, mut lines) = crate::csvlines::tracked(text.as_bytes(), 1, Some(b'#'), delimiter);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(input);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            out.errors
                .push(err(file, 1, None, format!("bad CSV header: {e}")));
            return;
        }
    };
    if let Some(u) = lines.swallowed(None) {
        out.errors.push(u.error(file));
        return;
    }
    let Some(domain_col) = column(&headers, &DOMAIN_COLUMNS) else {
        out.errors
            .push(err(file, 1, Some("domain"), "no domain column".into()));
        return;
    };
    let method_col = column(
        &headers,
        &[
            "method",
            "dcvmethod",
            "validationmethod",
            "challenge",
            "challengetype",
        ],
    );
    let token_col = column(&headers, &["token"]);
    let expected_col = column(
        &headers,
        &[
            "expected",
            "keyauthorization",
            "keyauth",
            "value",
            "txt",
            "txtvalue",
        ],
    );
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = lines.of(e.position());
                out.errors
                    .push(err(file, line, None, format!("bad CSV row: {e}")));
                continue;
            }
        };
        let line = lines.of(rec.position());
        if let Some(u) = lines.swallowed(rec.position()) {
            out.errors.push(u.error(file));
            continue;
        }
        let get = |c: Option<usize>| {
            c.and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let Some(domain) = get(Some(domain_col)) else {
            out.errors.push(err(
                file,
                line,
                Some(&headers[domain_col]),
                "empty domain".into(),
            ));
            continue;
        };
        if let Some(why) = control_character(&domain) {
            out.errors
                .push(err(file, line, Some(&headers[domain_col]), why));
            continue;
        }
        let domain = out.domain_of(&domain);
        let methods = match get(method_col) {
            None => default.to_vec(),
            Some(m) => match Method::parse_list(&m) {
                Some(ms) => ms,
                None => {
                    let field = method_col.and_then(|i| headers.get(i)).map(String::as_str);
                    out.errors.push(err(
                        file,
                        line,
                        field,
                        format!("unknown DCV method \"{m}\" (this pre-check covers http-01, dns-01, tls-alpn-01, dns-persist-01 and all)"),
                    ));
                    continue;
                }
            },
        };
        for m in methods {
            out.push(Request {
                domain: domain.clone(),
                method: m,
                token: get(token_col),
                expected: get(expected_col),
                source: format!("{file}:{line}"),
            });
        }
    }
}

/// Adds the names of CLM records (CN and SANs), each with the record's DCV method when the
/// export has one, else `default`.
pub fn from_records(records: &[Record], default: &[Method], out: &mut Requests) {
    // Records naming a person or a mailbox only (client certificates, as a private CA's
    // database lists them beside its servers'): no domain to validate.
    let mut no_domain = 0u64;
    for r in records {
        let mut names = r.names();
        let named = !names.is_empty();
        names.retain(|n| crate::inventory::record::names_a_host(n));
        if named && names.is_empty() {
            no_domain += 1;
            continue;
        }
        let methods = match r
            .dcv_method
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => default.to_vec(),
            Some(m) => match Method::parse_list(m) {
                Some(ms) => ms,
                None => {
                    out.errors.push(err(
                        &r.file,
                        r.line,
                        Some("dcv_method"),
                        format!("DCV method \"{m}\" is not one this pre-check covers (http-01, dns-01, tls-alpn-01)"),
                    ));
                    continue;
                }
            },
        };
        for name in names {
            for m in &methods {
                out.push(Request {
                    domain: name.clone(),
                    method: *m,
                    token: None,
                    expected: None,
                    source: format!("{}:{} ({})", r.file, r.line, r.record_id),
                });
            }
        }
    }
    if no_domain > 0 {
        out.warnings.push(format!(
            "inventory: {no_domain} record(s) name no domain, only a person or a mailbox (client certificates, as a CA's database lists them): nothing to validate for them"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` read as the domain list `file` (HTTP-01 by default), its lines ended by `nl`.
    fn read_with(file: &str, text: &[u8], nl: &str) -> Requests {
        let text: Vec<u8> = text
            .split(|b| *b == b'\n')
            .collect::<Vec<_>>()
            .join(nl.as_bytes());
        let mut out = Requests::default();
        read_domains(file, &text, &[Method::Http01], &mut out);
        out
    }

    fn domains(out: &Requests) -> Vec<&str> {
        out.requests.iter().map(|r| r.domain.as_str()).collect()
    }

    #[test]
    fn lines_of_a_target_list_are_checked_as_their_names_and_said_to_be() {
        let out = read_with(
            "hosts.txt",
            b"www.example.com:8443\nhttps://api.example.com/login\nhttp://Web.Example.com:8080/x\n*.example.com:443\nmail.example.com@192.0.2.1:465\n192.0.2.9:443\n[2001:db8::1]:443\n2001:db8::2\n10.0.0.0/30\nplain.example.com\n",
            "\n",
        );
        assert_eq!(
            domains(&out),
            [
                "www.example.com",
                "api.example.com",
                "web.example.com",
                "*.example.com",
                "mail.example.com",
                "192.0.2.9",
                "2001:db8::1",
                "2001:db8::2",
                "10.0.0.0/30",
                "plain.example.com"
            ]
        );
        assert_eq!(
            out.warnings,
            ["hosts.txt: 7 lines name a target, not a domain (\"www.example.com:8443\" first): each is checked as its name, since a CA validates a name on the challenge's ports (80 and 443) whatever port or address the service uses"]
        );
        assert!(out.errors.is_empty());
        // In a CSV's domain column the same; a second list counts its own.
        let mut out = Requests::default();
        read_domains(
            "a.csv",
            b"domain,method\nwww.example.com:443,dns-01\n",
            &[Method::Http01],
            &mut out,
        );
        read_domains("b.txt", b"api.example.com\n", &[Method::Http01], &mut out);
        assert_eq!(domains(&out), ["www.example.com", "api.example.com"]);
        assert_eq!(out.requests[0].method, Method::Dns01);
        assert_eq!(
            out.warnings,
            ["a.csv: 1 line names a target, not a domain (\"www.example.com:443\" first): each is checked as its name, since a CA validates a name on the challenge's ports (80 and 443) whatever port or address the service uses"]
        );
    }

    #[test]
    fn plain_and_csv_lists() {
        // Lines end with LF, CRLF or (Excel for Mac's "CSV (Macintosh)") a lone CR.
        for nl in ["\n", "\r\n", "\r"] {
            let out = read_with(
                "d.txt",
                b"# fleet\nwww.example.com\n\napi.example.com # edge\nbad line\nwww.example.com\n",
                nl,
            );
            assert_eq!(
                domains(&out),
                ["www.example.com", "api.example.com"],
                "{nl:?}"
            );
            assert_eq!(out.errors.len(), 1, "{nl:?}");
            assert_eq!(out.errors[0].line, 5, "{nl:?}");

            // Not UTF-8: Excel's plain "CSV" on Windows, read as Windows-1252 and said so.
            let out = read_with("w.txt", b"b\xfccher.example\nwww.example.com\n", nl);
            assert_eq!(
                domains(&out),
                ["b\u{fc}cher.example", "www.example.com"],
                "{nl:?}"
            );
            assert_eq!(out.warnings.len(), 1, "{nl:?}");
            assert!(
                out.warnings[0].starts_with("w.txt: 1 line not in UTF-8"),
                "{:?}",
                out.warnings
            );

            // A byte order mark before the first domain or the header.
            for text in [
                "\u{feff}www.example.com\n",
                "\u{feff}sep=;\nDomain;Method\nwww.example.com;http\n",
            ] {
                let out = read_with("bom.txt", text.as_bytes(), nl);
                assert_eq!(domains(&out), ["www.example.com"], "{nl:?} {text:?}");
                assert!(out.errors.is_empty(), "{:?}", out.errors);
            }

            // One column saved as text: the header word is no domain.
            let out = read_with(
                "one.csv",
                b"# challenges\n\"Domain Name\"\nwww.example.com\n\"api.example.com\"\n",
                nl,
            );
            assert_eq!(
                domains(&out),
                ["www.example.com", "api.example.com"],
                "{nl:?}"
            );
            assert!(out.errors.is_empty(), "{nl:?}: {:?}", out.errors);

            for (text, line) in [
                (
                    "Domain,Method\nwww.example.com,HTTP\nx.example.com,email\n",
                    3,
                ),
                // Excel's `sep=` line first: its delimiter, the lines as the file has them.
                (
                    "sep=;\nDomain;Method\nwww.example.com;HTTP\nx.example.com;email\n",
                    4,
                ),
            ] {
                let out = read_with("d.csv", text.as_bytes(), nl);
                assert_eq!(out.requests.len(), 1, "{nl:?} {text:?}");
                assert_eq!(out.errors.len(), 1, "{nl:?} {text:?}");
                assert_eq!(out.errors[0].line, line, "{nl:?} {text:?}");
            }
        }

        let mut out = Requests::default();
        read_domains(
            "d.csv",
            b"Domain,Method,Token,Expected\nwww.example.com,HTTP,tok,tok.thumb\n*.example.com,dns-01,,abc\nx.example.com,email,,\n",
            &[Method::Http01],
            &mut out,
        );
        assert_eq!(out.requests.len(), 2);
        assert_eq!(out.requests[0].token.as_deref(), Some("tok"));
        assert_eq!(out.requests[1].method, Method::Dns01);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].to_string(), "d.csv:4: field Method: unknown DCV method \"email\" (this pre-check covers http-01, dns-01, tls-alpn-01, dns-persist-01 and all)");

        // A control character: the line is no domain (it was a ident_syntax row, the
        // character written raw into the report).
        let mut out = Requests::default();
        read_domains(
            "c.txt",
            b"www.example.com\n\x00x.example.com\n",
            &[Method::Http01],
            &mut out,
        );
        assert_eq!(out.requests.len(), 1);
        assert_eq!(
            out.errors[0].to_string(),
            "c.txt:2: \"\\0x.example.com\" holds the control character U+0000: save the list as text"
        );
        let mut out = Requests::default();
        read_domains(
            "c.csv",
            b"Domain,Method\nx\x07.example.com,dns-01\n",
            &[Method::Http01],
            &mut out,
        );
        assert!(out.requests.is_empty());
        assert_eq!(
            (out.errors[0].line, out.errors[0].field.as_deref()),
            (2, Some("Domain"))
        );

        // A workbook: its sheet's rows, one column or more.
        let mut out = Requests::default();
        let bytes = crate::sheet::test_workbook(
            0,
            &[
                &["Renewals due"],
                &[""],
                &["Domain"],
                &["www.example.com"],
                &["bad domain"],
            ],
        );
        read_domains("d.xlsx", &bytes, &[Method::Http01], &mut out);
        let doms: Vec<&str> = out.requests.iter().map(|r| r.domain.as_str()).collect();
        // (A CSV cell is one domain, judged by the identifier checks later.)
        assert_eq!(doms, ["www.example.com", "bad domain"]);
        assert_eq!(out.requests[1].source, "d.xlsx:5");
        let mut out = Requests::default();
        read_domains(
            "n.xlsx",
            &crate::sheet::test_workbook(0, &[&["Owner"]]),
            &[Method::Http01],
            &mut out,
        );
        assert!(
            out.errors[0]
                .to_string()
                .starts_with("n.xlsx: no sheet has a header row"),
            "{}",
            out.errors[0]
        );

        // A quote never closed: the rows after it are one cell of its row.
        let mut out = Requests::default();
        read_domains(
            "q.csv",
            b"Domain,Method\nwww.example.com,http-01\n\"api.example.com,dns-01\nx.example.com,http-01\n",
            &[Method::Http01],
            &mut out,
        );
        let doms: Vec<&str> = out.requests.iter().map(|r| r.domain.as_str()).collect();
        assert_eq!(doms, ["www.example.com"]);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].line, 3);
        assert!(
            out.errors[0].reason.contains("never closed"),
            "{}",
            out.errors[0]
        );

        // Excel's Unicode Text: UTF-16 with tabs.
        let mut out = Requests::default();
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "Domain\tMethod\nwww.example.com\tdns-01\n".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        read_domains("u.txt", &utf16, &[Method::Http01], &mut out);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.requests[0].method, Method::Dns01);

        // A spreadsheet's semicolons.
        let mut out = Requests::default();
        read_domains(
            "de.csv",
            b"Domain;Method;Token\nwww.example.com;http-01;tok\n",
            &[Method::Dns01],
            &mut out,
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.requests[0].method, Method::Http01);
        assert_eq!(out.requests[0].token.as_deref(), Some("tok"));

        // Two pending orders for one name: two checks; a repeated row: one.
        let mut out = Requests::default();
        read_domains(
            "two.csv",
            b"domain,method,expected\nwww.example.com,dns-01,aaa\nwww.example.com,dns-01,bbb\nWWW.example.com,dns-01,aaa\n",
            &[Method::Http01],
            &mut out,
        );
        let expected: Vec<_> = out.requests.iter().map(|r| r.expected.as_deref()).collect();
        assert_eq!(expected, [Some("aaa"), Some("bbb")]);
        assert_eq!(out.duplicates, 1);

        // CRLF with a blank line: the bad row is on line 4, not 2.
        let mut out = Requests::default();
        read_domains(
            "crlf.csv",
            b"Domain,Method\r\nwww.example.com,http-01\r\n\r\nx.example.com,email\r\n",
            &[Method::Http01],
            &mut out,
        );
        assert_eq!(out.errors[0].line, 4);
    }

    #[test]
    fn names_and_methods_from_records() {
        use crate::inventory::load::{load_bytes, Loaded, ReadOptions};
        let csv = "Certificate ID,Serial,Common Name,SANs,Valid To,DCV Method\n\
                   C1,0A,www.example.com,www.example.com;example.com,2027-01-01,DNS\n\
                   C2,0B,api.example.com,,2027-01-01,\n\
                   C3,0C,mail.example.com,,2027-01-01,Email\n";
        let mut loaded = Loaded::default();
        load_bytes(
            "inv.csv",
            csv.as_bytes(),
            &ReadOptions::default(),
            &mut loaded,
        );
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let mut out = Requests::default();
        from_records(&loaded.records, &[Method::Http01], &mut out);
        let got: Vec<(String, Method)> = out
            .requests
            .iter()
            .map(|r| (r.domain.clone(), r.method))
            .collect();
        assert!(got.contains(&("example.com".into(), Method::Dns01)));
        assert!(got.contains(&("www.example.com".into(), Method::Dns01)));
        assert!(got.contains(&("api.example.com".into(), Method::Http01)));
        assert_eq!(got.len(), 3);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].line, 4);
        assert_eq!(out.errors[0].field.as_deref(), Some("dcv_method"));
    }

    #[test]
    fn records_naming_a_person_or_a_mailbox_give_no_domain_and_are_counted() {
        // A private CA's database: client certificates beside its servers'.
        let loaded = crate::inventory::load::clients_beside_a_server();
        let mut out = Requests::default();
        from_records(&loaded.records, &[Method::Http01], &mut out);
        let domains: Vec<&str> = out.requests.iter().map(|r| r.domain.as_str()).collect();
        assert_eq!(domains, ["vpn.x.com"]);
        assert_eq!(
            out.warnings,
            ["inventory: 2 record(s) name no domain, only a person or a mailbox (client certificates, as a CA's database lists them): nothing to validate for them"]
        );
    }
}
