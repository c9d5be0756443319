//! OpenSSL's CA database (`index.txt`), as `openssl ca`, EasyRSA and the private CAs built
//! on them keep it: one line per certificate the CA issued, six tab-separated fields and no
//! header (status `V`, `R` or `E`; expiry as ASN.1 time; revocation time and reason; serial
//! in hex; file name; subject in OpenSSL's one-line form `/C=US/O=Acme/CN=www.example.com`).
//! Such a CA keeps no other list of what it issued, and its `R` lines are the revocations
//! its CRL says: a node still serving a revoked or replaced certificate shows against them.
//! Lines are read as they come (a CA of many years has hundreds of thousands) and go
//! through the CSV rows' record builder, named by their line; the database has no SANs,
//! so a record's name is its subject's CN.

use super::*;
use crate::engine::targets::{read_bounded_line, Line, MAX_LINE};
use std::borrow::Cow;

/// The fields of a line, as `openssl ca`'s manual names them; errors name them so.
const FIELDS: [&str; 6] = [
    "status",
    "expiration date",
    "revocation date",
    "serial",
    "filename",
    "subject",
];

/// Whether the text opens with a CA database line: a status letter, an ASN.1 time and a hex
/// serial in their places, which no CSV header and no target list has.
pub(super) fn is_ca_database(head: &[u8]) -> bool {
    let Some(line) = head
        .split(|b| *b == b'\n')
        .find(|l| !l.trim_ascii().is_empty())
    else {
        return false;
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let fields: Vec<&[u8]> = line.split(|b| *b == b'\t').collect();
    match fields.as_slice() {
        [status, expiry, _, serial, _, _] => {
            matches!(*status, b"V" | b"R" | b"E")
                && is_asn1_time(expiry)
                && !serial.is_empty()
                && serial.iter().all(u8::is_ascii_hexdigit)
        }
        _ => false,
    }
}

/// UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`, as OpenSSL writes them.
fn is_asn1_time(v: &[u8]) -> bool {
    matches!(v.len(), 13 | 15)
        && v.last() == Some(&b'Z')
        && v[..v.len() - 1].iter().all(u8::is_ascii_digit)
}

/// Reads a CA database's records (see the module's text).
pub(super) fn load_ca_database(
    file: &str,
    mut input: impl io::BufRead,
    opts: &ReadOptions,
    out: &mut Loaded,
) {
    let shared: Arc<str> = file.into();
    let errors_from = out.errors.len();
    // ASN.1 times are never slash dates; the builder wants the tracker all the same.
    let mut slash = SlashDates::default();
    let mut buf = String::new();
    let mut line = 0u64;
    let mut legacy = 0u64;
    let mut any = false;
    loop {
        line += 1;
        match read_bounded_line(&mut input, &mut buf) {
            Ok(Line::End) => break,
            Ok(Line::Read) => {}
            Ok(Line::ReadNotUtf8) => legacy += 1,
            Ok(Line::TooLong(len)) => {
                out.errors.push(InventoryError::new(
                    file,
                    line,
                    format!("a line of {len} bytes, over the {MAX_LINE} a CA database line can be: skipped"),
                ));
                any = true;
                continue;
            }
            Err(e) => {
                out.errors.push(InventoryError::new(
                    file,
                    line,
                    format!("cannot read on: {e}"),
                ));
                out.unread.push(format!("{file}:{line}: {e}"));
                any = true;
                break;
            }
        }
        let text = buf.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        any = true;
        push_built(
            record_of(&shared, line, text, opts, &mut slash),
            &mut slash,
            out,
        );
    }
    let nothing = (!any).then_some("the file is empty: no records");
    finish_text(file, out, (slash, errors_from), (legacy, "line"), nothing);
}

/// One database line's record.
fn record_of(
    file: &Arc<str>,
    line: u64,
    text: &str,
    opts: &ReadOptions,
    slash: &mut SlashDates,
) -> Result<Record, InventoryError> {
    let field_err = |i: usize, reason: String| InventoryError {
        file: file.to_string(),
        line,
        field: Some(FIELDS[i].to_string()),
        reason,
    };
    let parts: Vec<&str> = text.split('\t').collect();
    let [status, expiry, revocation, serial, filename, subject] = parts[..] else {
        return Err(InventoryError::new(
            &**file,
            line,
            format!(
                "{} tab-separated fields where a CA database line has 6 ({})",
                parts.len(),
                FIELDS.join(", ")
            ),
        ));
    };
    let status = match status {
        "V" => "valid",
        "E" => "expired",
        "R" => "revoked",
        other => {
            return Err(field_err(
                0,
                format!("\"{other}\" is none of V (valid), R (revoked), E (expired)"),
            ))
        }
    };
    // `260501083000Z,superseded`; a hold's instruction and a compromise's time follow the
    // reason after more commas.
    let (revoked_at, reason) = revocation.split_once(',').unwrap_or((revocation, ""));
    let reason = reason.replace(',', ", ");
    let subject = unescape_oneline(subject);
    let cells = [
        (Some(Field::Status), FIELDS[0], status),
        (Some(Field::NotAfter), FIELDS[1], expiry),
        (Some(Field::RevokedAt), FIELDS[2], revoked_at),
        (Some(Field::RevocationReason), "revocation reason", &*reason),
        (Some(Field::Serial), FIELDS[3], serial),
        (None, FIELDS[4], filename),
        (Some(Field::Cn), FIELDS[5], &*subject),
    ];
    build(file, line, &cells, Profile::CaDatabase, opts, slash)
}

/// The subject with OpenSSL's `\xHH` escapes (every byte outside printable ASCII, so an
/// internationalised CN's UTF-8) turned back into its characters.
fn unescape_oneline(s: &str) -> Cow<'_, str> {
    if !s.contains("\\x") {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut bytes = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 2..i + 4)
            .filter(|_| b[i] == b'\\' && b.get(i + 1) == Some(&b'x'))
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                bytes.push(byte);
                i += 4;
            }
            None => {
                bytes.push(b[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(crate::csvlines::text_of(&bytes).0.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::record::RecordStatus;

    fn load(text: &[u8]) -> Loaded {
        let mut out = Loaded::default();
        load_bytes("index.txt", text, &ReadOptions::default(), &mut out);
        out
    }

    /// `openssl ca`'s database as EasyRSA leaves it after a renewal and a revocation.
    const DATABASE: &[u8] = b"V\t270101120000Z\t\t1000\tunknown\t/CN=www.example.com\n\
        R\t270101120000Z\t260501083000Z,superseded\t0A\tunknown\t/C=US/O=Acme/CN=api.example.com\n\
        E\t250101000000Z\t\t0B\tunknown\t/CN=old.example.com/emailAddress=pki@example.com\n\
        V\t20510101000000Z\t\tC3A9\t0B.pem\t/O=Acme/CN=b\\xC3\\xBCcher.example\r\n\
        R\t270101120000Z\t260601000000Z,certificateHold,holdInstructionReject\t0C\tunknown\t/CN=hold.example.com\n";

    #[test]
    fn every_line_is_a_record_with_its_hex_serial_status_and_name() {
        let out = load(DATABASE);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let got: Vec<(&str, &str, RecordStatus, &str, u64)> = out
            .records
            .iter()
            .map(|r| {
                (
                    r.serial_hex().unwrap_or(""),
                    r.cn.as_deref().unwrap_or(""),
                    r.status,
                    &*r.status_raw,
                    r.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                // All digits, and still hex: the database writes nothing else.
                ("1000", "www.example.com", RecordStatus::Issued, "valid", 1),
                (
                    "A",
                    "api.example.com",
                    RecordStatus::Revoked,
                    "revoked 2026-05-01T08:30:00Z (superseded)",
                    2
                ),
                ("B", "old.example.com", RecordStatus::Expired, "expired", 3),
                (
                    "C3A9",
                    "xn--bcher-kva.example",
                    RecordStatus::Issued,
                    "valid",
                    4
                ),
                (
                    "C",
                    "hold.example.com",
                    RecordStatus::Revoked,
                    "revoked 2026-06-01T00:00:00Z (certificateHold, holdInstructionReject)",
                    5
                ),
            ]
        );
        let expiry = |i: usize| out.records[i].not_after.map(|w| w.unix);
        // 2027-01-01T12:00:00Z, and GeneralizedTime past 2049.
        assert_eq!(expiry(0), Some(1_798_804_800));
        assert_eq!(expiry(3), Some(2_556_144_000));
        assert!(out
            .records
            .iter()
            .all(|r| r.sans.is_empty() && r.targets.is_empty()));
        // No decimal reading beside: `1000` is not serial 0x3E8 too.
        assert!(out
            .records
            .iter()
            .all(|r| r.serial.as_ref().is_some_and(|s| s.alternative.is_none())));
    }

    #[test]
    fn generated_databases_read_back_to_the_lines_they_were_written_from() {
        // Random lines as `openssl ca` writes them: UTCTime up to 2049 and GeneralizedTime
        // from 2050, serials of 1-20 bytes in even-length uppercase hex, revocations with
        // and without a reason (a hold's instruction after it), subjects with other RDNs
        // around the CN and escaped bytes in it, CRLF endings now and then.
        use crate::testrng::XorShift;
        const REASONS: [&str; 5] = [
            "",
            "keyCompromise",
            "superseded",
            "cessationOfOperation",
            "certificateHold,holdInstructionReject",
        ];
        let asn1 = |unix: i64| -> String {
            let t = time::OffsetDateTime::from_unix_timestamp(unix).expect("in range");
            let full = format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            match t.year() < 2050 {
                true => full[2..].to_string(),
                false => full,
            }
        };
        let mut rng = XorShift::new(0x1d3a_7e57_0000_0001);
        for round in 0..300 {
            let mut text = String::new();
            let mut want = Vec::new();
            for line in 1..=(1 + rng.below(20)) {
                let expiry = 1_000_000_000 + rng.below(3_000_000_000) as i64;
                let len = 1 + rng.below(20) as usize;
                let mut bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
                bytes[0] = bytes[0].max(1);
                let serial: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
                let canonical = serial.trim_start_matches('0').to_string();
                let host = format!("h{}.example.com", rng.below(1000));
                let (cn, name) = match rng.below(4) {
                    // `bücher`'s ü as OpenSSL escapes it.
                    0 => (format!("b\\xC3\\xBC{host}"), format!("xn--b{host}")),
                    _ => (host.clone(), host.clone()),
                };
                let subject = match rng.below(3) {
                    0 => format!("/CN={cn}"),
                    1 => format!("/C=US/O=Acme Corp/CN={cn}"),
                    _ => format!("/O=Acme/CN={cn}/emailAddress=pki@example.com"),
                };
                let (status, revocation, shown, read) = match rng.below(3) {
                    0 => (
                        "V",
                        String::new(),
                        "valid".to_string(),
                        RecordStatus::Issued,
                    ),
                    1 => (
                        "E",
                        String::new(),
                        "expired".to_string(),
                        RecordStatus::Expired,
                    ),
                    _ => {
                        let at = expiry - rng.below(86_400 * 300) as i64;
                        let reason = REASONS[rng.below(5) as usize];
                        let when = crate::timefmt::rfc3339_unix(at);
                        match reason {
                            "" => (
                                "R",
                                asn1(at),
                                format!("revoked {when}"),
                                RecordStatus::Revoked,
                            ),
                            r => (
                                "R",
                                format!("{},{r}", asn1(at)),
                                format!("revoked {when} ({})", r.replace(',', ", ")),
                                RecordStatus::Revoked,
                            ),
                        }
                    }
                };
                let end = if rng.below(5) == 0 { "\r\n" } else { "\n" };
                text.push_str(&format!(
                    "{status}\t{}\t{revocation}\t{serial}\tunknown\t{subject}{end}",
                    asn1(expiry)
                ));
                want.push((line, canonical, expiry, read, shown, name));
            }
            let out = load(text.as_bytes());
            assert!(
                out.errors.is_empty(),
                "round {round}: {:?}\n{text}",
                out.errors
            );
            let got: Vec<_> = out
                .records
                .iter()
                .map(|r| {
                    (
                        r.line,
                        r.serial_hex().unwrap_or("").to_string(),
                        r.not_after.map_or(0, |w| w.unix),
                        r.status,
                        r.status_raw.to_string(),
                        r.cn.as_deref().unwrap_or("").to_string(),
                    )
                })
                .collect();
            for w in &mut want {
                // The ü of the escaped names, as its A-label: `xn--bh1.example.com-...`
                // is not how IDNA writes it, so compare with IDNA's own.
                if let Some(host) = w.5.strip_prefix("xn--b") {
                    w.5 = idna::domain_to_ascii(&format!("bü{host}")).expect("a name");
                }
            }
            assert_eq!(got, want, "round {round}:\n{text}");
        }
    }

    #[test]
    fn a_bad_line_is_named_by_line_and_field_and_the_rest_is_read() {
        let out = load(
            b"V\t270101120000Z\t\t01\tunknown\t/CN=a.example.com\n\
              X\t270101120000Z\t\t02\tunknown\t/CN=b.example.com\n\
              V\t2701011200Z\t\t03\tunknown\t/CN=c.example.com\n\
              V\t270101120000Z\t\t0G\tunknown\t/CN=d.example.com\n\
              V\t270101120000Z\t\t05\t/CN=e.example.com\n\
              R\t270101120000Z\tyesterday\t06\tunknown\t/CN=f.example.com\n\
              \n\
              V\t270101120000Z\t\t08\tunknown\t/CN=h.example.com\n",
        );
        let errors: Vec<(u64, Option<&str>)> = out
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_deref()))
            .collect();
        assert_eq!(
            errors,
            [
                (2, Some("status")),
                (3, Some("expiration date")),
                (4, Some("serial")),
                (5, None),
                (6, Some("revocation date")),
            ],
            "{:?}",
            out.errors
        );
        assert!(
            out.errors[3]
                .reason
                .starts_with("5 tab-separated fields where a CA database line has 6"),
            "{}",
            out.errors[3].reason
        );
        assert_eq!(
            out.records.iter().map(|r| r.line).collect::<Vec<_>>(),
            [1, 8]
        );
    }

    #[test]
    fn a_map_reading_decimal_serials_for_other_exports_leaves_the_database_hex() {
        let map = crate::inventory::map::parse("m.toml", "serial_base = \"dec\"\n").expect("a map");
        let opts = ReadOptions {
            map: Some(Arc::new(map)),
            ..ReadOptions::default()
        };
        let mut out = Loaded::default();
        load_bytes("index.txt", DATABASE, &opts, &mut out);
        assert_eq!(out.records[0].serial_hex(), Some("1000"));
    }

    #[test]
    fn the_database_is_told_from_the_start_of_a_file_a_stream_or_a_target_list() {
        assert!(is_ca_database(DATABASE));
        assert!(!is_ca_database(b"Serial,Status\n0A,V\n"));
        assert!(!is_ca_database(b"www.example.com\n"));
        assert!(!is_ca_database(b"V\t2701Z\t\t01\tunknown\t/CN=a\n"));
        assert_eq!(
            not_a_target_list(DATABASE),
            Some("it is an OpenSSL CA database (index.txt)")
        );
        // A file read by path and standard input, beyond the first 64 KiB read to sniff.
        let mut long = Vec::new();
        for i in 1..=3000u32 {
            long.extend(
                format!("V\t270101120000Z\t\t{i:04X}\tunknown\t/CN=h{i}.example.com\n").bytes(),
            );
        }
        assert!(long.len() > 64 * 1024);
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("index.txt");
        std::fs::write(&path, &long).expect("written");
        let from_path = load_files(&[&path], &ReadOptions::default());
        let mut from_stdin = Loaded::default();
        load_stream("-", &long[..], &ReadOptions::default(), &mut from_stdin).expect("read");
        for out in [&from_path, &from_stdin] {
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            assert_eq!(out.records.len(), 3000);
            assert_eq!(out.records[2999].serial_hex(), Some("BB8"));
            assert_eq!(out.records[2999].line, 3000);
        }
    }
}
