//! Serial numbers in every common writing, compared as integers.
//!
//! The canonical form is the uppercase hex of the integer without leading zeros, the same
//! form `crate::cert` gives a captured certificate, so equality of canonical strings is
//! equality of integers.

use num_bigint::BigUint;

/// How to read an all-digit serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerialBase {
    /// Hex when it has letters, separators or `0x`; decimal beyond 40 digits; otherwise both
    /// readings are kept and an observed certificate decides.
    #[default]
    Auto,
    /// Always hexadecimal.
    Hex,
    /// Always decimal (CERTInext, Smallstep).
    Dec,
}

/// A parsed serial: the preferred reading, and the other one when the writing is ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serial {
    /// Canonical hex of the preferred reading.
    pub canonical: String,
    /// Canonical hex of the other reading (all-digit strings under [`SerialBase::Auto`]).
    pub alternative: Option<String>,
}

impl Serial {
    /// Whether `canonical_hex` is one of the readings.
    pub fn matches(&self, canonical_hex: &str) -> bool {
        self.canonical == canonical_hex || self.alternative.as_deref() == Some(canonical_hex)
    }
}

fn canon(n: &BigUint) -> String {
    n.to_str_radix(16).to_uppercase()
}

/// Parses `raw`; `Ok(None)` for an empty cell (no certificate yet).
pub fn parse_serial(raw: &str, base: SerialBase) -> Result<Option<Serial>, String> {
    let t = raw.trim();
    if t.is_empty() || crate::csvlines::says_none(t) {
        return Ok(None);
    }
    if let Some(why) = rounded_by_a_spreadsheet(t) {
        return Err(format!(
            "serial \"{raw}\" {why}: a spreadsheet kept 15 digits of it as a number, and the certificate's serial is lost; export again, or set the column to Text before saving"
        ));
    }
    let (t, prefixed) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(rest) => (rest, true),
        None => (t, false),
    };
    let separated = t.contains([':', '-', ' ']);
    let digits: String = t
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect();
    if digits.is_empty() {
        return Err(format!("serial \"{raw}\" has no digits"));
    }
    if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "serial \"{raw}\" contains \"{bad}\", not a hex or decimal digit"
        ));
    }
    let hex = || {
        BigUint::parse_bytes(digits.as_bytes(), 16)
            .map(|n| canon(&n))
            .ok_or_else(|| format!("serial \"{raw}\" is not a number"))
    };
    let all_digits = digits.chars().all(|c| c.is_ascii_digit());
    let dec = || {
        BigUint::parse_bytes(digits.as_bytes(), 10)
            .map(|n| canon(&n))
            .ok_or_else(|| format!("serial \"{raw}\" is not a number"))
    };
    let force_hex = prefixed || separated || !all_digits;
    let serial = match base {
        _ if force_hex && base != SerialBase::Dec => Serial {
            canonical: hex()?,
            alternative: None,
        },
        SerialBase::Dec if !all_digits || prefixed => {
            return Err(format!(
                "serial \"{raw}\" is not decimal, as this source writes serials"
            ))
        }
        SerialBase::Dec => Serial {
            canonical: dec()?,
            alternative: None,
        },
        SerialBase::Hex => Serial {
            canonical: hex()?,
            alternative: None,
        },
        // 20 bytes never take more than 40 hex digits: a longer all-digit string is decimal.
        // (Leading zeros aside: a sign byte written out makes 42 digits of 20 bytes.)
        SerialBase::Auto if digits.trim_start_matches('0').len() > 40 => Serial {
            canonical: dec()?,
            alternative: None,
        },
        SerialBase::Auto => {
            let h = hex()?;
            let d = dec()?;
            Serial {
                alternative: (d != h).then_some(d),
                canonical: h,
            }
        }
    };
    Ok(Some(serial))
}

/// How a decimal serial opened and saved in a spreadsheet shows it lost its digits: Excel
/// (and LibreOffice) keep 15 significant digits of a number, and write the rest as an
/// exponent ("1.05904128597756E+36") or as zeros. A certificate serial is random (at
/// least 64 bits since 2016), so a long one ending in zeros past the 15th digit is that
/// rounding, not a serial; read as one it would match no certificate and judge a
/// deployment wrong.
fn rounded_by_a_spreadsheet(t: &str) -> Option<&'static str> {
    if let Some((mantissa, exp)) = t.split_once(['E', 'e']) {
        let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let exp_ok = exp
            .strip_prefix('+')
            .is_some_and(|e| !e.is_empty() && digits(e));
        if exp_ok && !whole.is_empty() && digits(whole) && digits(frac) {
            return Some("is in scientific notation");
        }
        return None;
    }
    let significant = t.trim_start_matches('0');
    // At least four zeros: a serial of 64 random bits has 20 decimal digits.
    if t.bytes().all(|b| b.is_ascii_digit())
        && significant.len() >= 19
        && significant.bytes().skip(15).all(|b| b == b'0')
    {
        return Some("ends in zeros past its 15th digit");
    }
    None
}

/// What one serial, as written, says of how its file writes serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Says {
    Hex,
    Decimal,
    Nothing,
}

/// What `raw`, read as `serial`, says of its file's writing: hex when it was read as hex
/// only (letters, separators, `0x`); decimal when it can only be decimal (more than 40
/// digits), or is all digits and so long that a hex serial would hardly have no letter (20
/// digits or more: (10/16)^20, about one random serial in 12,000).
fn says(raw: &str, serial: &Serial) -> Says {
    let t = raw.trim();
    let all_digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let long = t.trim_start_matches('0').len();
    match (all_digits, &serial.alternative) {
        (true, _) if long > 40 || (serial.alternative.is_some() && long >= 20) => Says::Decimal,
        (true, _) => Says::Nothing,
        (false, None) => Says::Hex,
        (false, Some(_)) => Says::Nothing,
    }
}

/// Settles the serials read both ways ([`SerialBase::Auto`]: all digits, 40 or fewer) by
/// the other serials of their file: an export writes all its serials one way, so one that
/// shows the way (see [`says`]) decides for the file. Written in hex there, they stay read as
/// hex first; written in decimal, the decimal reading comes first, so that an expected
/// serial and the records report name the certificate's serial, not the hex reading of its
/// decimal writing. The other reading stays, for a served certificate to match by; a file
/// that shows both ways, or neither, is left as read.
pub fn settle_bases(records: &mut [crate::inventory::record::Record]) {
    use std::collections::HashMap;
    let mut files: HashMap<std::sync::Arc<str>, (bool, bool)> = HashMap::new();
    for r in records.iter() {
        let Some(s) = &r.serial else { continue };
        let seen = files.entry(r.file.clone()).or_default();
        match says(&r.serial_raw, s) {
            Says::Hex => seen.0 = true,
            Says::Decimal => seen.1 = true,
            Says::Nothing => {}
        }
    }
    for r in records.iter_mut() {
        if files.get(&r.file) != Some(&(false, true)) {
            continue;
        }
        if let Some(s) = r.serial.as_mut() {
            if let Some(alt) = s.alternative.as_mut() {
                std::mem::swap(&mut s.canonical, alt);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(raw: &str, base: SerialBase) -> (String, Option<String>) {
        let s = parse_serial(raw, base).unwrap().unwrap();
        (s.canonical, s.alternative)
    }

    #[test]
    fn a_serial_cell_saying_there_is_none_is_no_serial() {
        // An order not yet issued, as exports write it: it was refused as a bad serial.
        for raw in ["N/A", "#N/A", "-", "null", "TBD", " none "] {
            assert_eq!(parse_serial(raw, SerialBase::Auto), Ok(None), "{raw}");
        }
        // Hex serials are not words.
        assert!(parse_serial("0A", SerialBase::Auto).unwrap().is_some());
    }

    #[test]
    fn a_serial_a_spreadsheet_rounded_is_refused_not_misread() {
        for raw in [
            "1.05904128597756E+36",
            "1.05904e+36",
            "1E+36",
            "1059041285977560000000000000000000000",
        ] {
            let e = parse_serial(raw, SerialBase::Auto).unwrap_err();
            assert!(e.contains("a spreadsheet kept 15 digits"), "{raw}: {e}");
        }
        // Hex serials with an E in them, and real long serials, are read as before.
        for ok in [
            "1E36",
            "0E+",
            "1059041285977560915727303152512546186",
            "10000000000000000",
            "4A00000000000000000000000000000000",
        ] {
            assert!(
                !matches!(parse_serial(ok, SerialBase::Auto), Err(e) if e.contains("spreadsheet")),
                "{ok}"
            );
        }
    }

    #[test]
    fn every_writing_of_one_serial_is_the_same_integer() {
        let want = "CBF6C447C5DD7069619AE762F4358A";
        for raw in [
            "00CBF6C447C5DD7069619AE762F4358A",
            "cbf6c447c5dd7069619ae762f4358a",
            "00:cb:f6:c4:47:c5:dd:70:69:61:9a:e7:62:f4:35:8a",
            "CB-F6-C4-47-C5-DD-70-69-61-9A-E7-62-F4-35-8A",
            "cb f6 c4 47 c5 dd 70 69 61 9a e7 62 f4 35 8a",
            "0xCBF6C447C5DD7069619AE762F4358A",
        ] {
            assert_eq!(c(raw, SerialBase::Auto), (want.to_string(), None), "{raw}");
        }
        // CERTInext writes the same serial in decimal.
        assert_eq!(
            c("1059041285977560915727303152512546186", SerialBase::Dec).0,
            "CBF6C447C5DD7069619AE762F4358A"
        );
    }

    #[test]
    fn all_digit_serials() {
        // Ambiguous: hex preferred, decimal kept.
        assert_eq!(
            c("1234", SerialBase::Auto),
            ("1234".into(), Some("4D2".into()))
        );
        assert_eq!(c("1234", SerialBase::Dec), ("4D2".into(), None));
        assert_eq!(c("1234", SerialBase::Hex), ("1234".into(), None));
        // Over 40 digits cannot be hex of a 20-byte serial.
        let long = "1".repeat(41);
        assert_eq!(c(&long, SerialBase::Auto).1, None);
        // 20 bytes with the sign byte DER puts before a high bit: hex still possible.
        let signed = format!("00{}", "9".repeat(40));
        assert_eq!(
            c(&signed, SerialBase::Auto).0,
            "9".repeat(40),
            "the hex reading first"
        );
        // Leading zeros lost or kept: the same integer.
        assert_eq!(c("0A", SerialBase::Auto).0, c("a", SerialBase::Auto).0);
        assert_eq!(c("0", SerialBase::Auto), ("0".into(), None));
    }

    #[test]
    fn bad_and_empty() {
        assert_eq!(parse_serial("  ", SerialBase::Auto).unwrap(), None);
        assert!(parse_serial("12G4", SerialBase::Auto)
            .unwrap_err()
            .contains("\"G\""));
        assert!(parse_serial("::", SerialBase::Auto).is_err());
        assert!(parse_serial("ABCD", SerialBase::Dec).is_err());
    }

    #[test]
    fn generated_serials_read_back_in_every_writing_to_the_certificates_form() {
        let mut rng = crate::testrng::XorShift::new(0x9E37_79B9_7F4A_7C15);
        for round in 0..5_000u32 {
            // 1 to 20 bytes, as DER keeps them (a sign byte before a high bit), sometimes
            // small or with zero bytes, as private CAs number theirs.
            let len = 1 + rng.below(20) as usize;
            let mut raw: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            if rng.below(4) == 0 {
                for b in raw.iter_mut().skip(1) {
                    if rng.below(2) == 0 {
                        *b = 0;
                    }
                }
            }
            if raw[0] & 0x80 != 0 {
                raw.insert(0, 0);
            }
            let want = crate::cert::canonical_serial_from_bytes(&raw);
            let upper = data_encoding::HEXUPPER.encode(&raw);
            let lower = data_encoding::HEXLOWER.encode(&raw);
            let pairs: Vec<String> = raw.iter().map(|b| format!("{b:02x}")).collect();
            let decimal = BigUint::from_bytes_be(&raw).to_str_radix(10);
            let writings = [
                upper.clone(),
                lower.clone(),
                upper.trim_start_matches('0').to_string(),
                format!("0x{lower}"),
                pairs.join(":"),
                pairs.join(" ").to_uppercase(),
                pairs.join("-"),
            ];
            for w in &writings {
                if w.is_empty() || rounded_by_a_spreadsheet(w).is_some() {
                    continue;
                }
                for base in [SerialBase::Auto, SerialBase::Hex] {
                    let s = parse_serial(w, base)
                        .unwrap_or_else(|e| panic!("round {round}: {w}: {e}"))
                        .unwrap_or_else(|| panic!("round {round}: {w}: none"));
                    assert_eq!(s.canonical, want, "round {round}: {w} as {base:?}");
                }
            }
            if rounded_by_a_spreadsheet(&decimal).is_none() {
                let s = parse_serial(&decimal, SerialBase::Dec)
                    .unwrap_or_else(|e| panic!("round {round}: {decimal}: {e}"))
                    .unwrap_or_else(|| panic!("round {round}: {decimal}: none"));
                assert_eq!(s.canonical, want, "round {round}: {decimal}");
                // Unsaid, an all-digit writing is read both ways, and the certificate's
                // serial is one of them.
                let s = parse_serial(&decimal, SerialBase::Auto)
                    .unwrap_or_else(|e| panic!("round {round}: {decimal}: {e}"))
                    .unwrap_or_else(|| panic!("round {round}: {decimal}: none"));
                assert!(s.matches(&want), "round {round}: {decimal}: {s:?}");
            }
        }
    }
}
