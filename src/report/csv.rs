//! The flat scan report: one row per endpoint, stable snake_case columns, RFC 4180.

use super::{cell, opt_cell};
use crate::model::Observation;
use serde::Serialize;
use std::io::Write;

/// One row of the scan report. Column order and names are part of the interface.
#[derive(Debug, Serialize)]
pub struct ScanRow {
    /// When the endpoint was scanned (RFC 3339 UTC).
    pub scan_time: String,
    /// Name as given (A-label) or address.
    pub host: String,
    /// Address connected to.
    pub ip: String,
    /// TCP port.
    pub port: u16,
    /// SNI sent.
    pub sni: String,
    /// Label from the target list.
    pub label: String,
    /// Leaf serial, canonical uppercase hex.
    pub serial: String,
    /// Leaf serial in decimal.
    pub serial_dec: String,
    /// Leaf subject CN.
    pub subject_cn: String,
    /// Leaf SANs, `;`-separated.
    pub sans: String,
    /// Leaf issuer DN.
    pub issuer: String,
    /// Leaf notBefore.
    pub not_before: String,
    /// Leaf notAfter.
    pub not_after: String,
    /// Whole days until notAfter (negative once expired).
    pub days_left: String,
    /// SHA-256 of the leaf, lowercase hex.
    pub sha256: String,
    /// SHA-1 thumbprint of the leaf, uppercase hex.
    pub sha1: String,
    /// RSA, EC, Ed25519…
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: String,
    /// Leaf signature algorithm.
    pub signature_algorithm: String,
    /// Number of certificates presented.
    pub chain_length: usize,
    /// Subjects of the presented chain, ` | `-separated, leaf first.
    pub chain_subjects: String,
    /// TLS version negotiated.
    pub tls_version: String,
    /// Cipher suite negotiated.
    pub cipher_suite: String,
    /// ALPN negotiated.
    pub alpn: String,
    /// Trust findings, `;`-separated.
    pub findings: String,
    /// Trust failure detail.
    pub trust_detail: String,
    /// DNS time, ms.
    pub dns_ms: String,
    /// Connect time, ms.
    pub connect_ms: String,
    /// Handshake time, ms.
    pub handshake_ms: String,
    /// Error class (stable vocabulary).
    pub error_class: String,
    /// Error detail.
    pub error_message: String,
    /// Plaintext protocol spoken before TLS (`smtp`, `imap`, …), empty for TLS from the
    /// first byte. Last, as it came after the other columns.
    pub starttls: String,
    /// STARTTLS dialogue time, ms.
    pub starttls_ms: String,
    /// The key type a second handshake offered alone (`rsa`, `ecdsa`), when one was made
    /// (`--both-key-types`); the next columns are what it got. Last, as they came later.
    pub other_key_offered: String,
    /// Its leaf serial, canonical hex (the same as `serial` when the server has one
    /// certificate for both).
    pub other_key_serial: String,
    /// Its leaf's notAfter.
    pub other_key_not_after: String,
    /// Its key type.
    pub other_key_type: String,
    /// Trust findings on its chain, `;`-separated.
    pub other_key_findings: String,
    /// Its error class (a server with one key type refuses: `tls_protocol`).
    pub other_key_error_class: String,
    /// What the stapled OCSP response says (`good`, `revoked`, `unknown`, `unusable`;
    /// empty without a staple), with `(signature not checked)` when it could not be.
    pub ocsp_status: String,
    /// Its nextUpdate.
    pub ocsp_next_update: String,
    /// What the CA's revocation list says (`scan --crl`): `good`, `revoked <when>
    /// (<reason>)`, or `unavailable: <why>`; empty without `--crl`.
    pub crl_status: String,
    /// When the chain breaks before the certificate (`chain_expires_first`): the notAfter
    /// of its CA certificate that ends first, which `trust_detail` names; else empty.
    pub chain_expires: String,
    /// With `--samples`: on how many of the connections made the endpoint presented this
    /// row's certificate, `3/4`; else empty.
    pub samples: String,
    /// With `--samples`: the other certificates connections got (`backends_differ`), each
    /// serial with its share, `SERIAL (1 of 4)`, `;`-separated.
    pub other_serials: String,
    /// SHA-256 of the certificate's key (SubjectPublicKeyInfo), lowercase hex: equal for
    /// certificates sharing a key, such as a renewal that kept its key.
    pub spki_sha256: String,
    /// With `--dane`: what the endpoint's TLSA records say of its certificates
    /// ([`crate::model::DaneInfo::shown`]); empty without the option or records.
    pub dane: String,
    /// What the CA's OCSP responder answers (`scan --ocsp`), as `crl_status` says it;
    /// empty without `--ocsp`.
    pub ocsp_responder_status: String,
    /// With `--previous`: the serial the endpoint served at the earlier sweep, when that
    /// was another certificate; else empty.
    pub previous_serial: String,
}

/// The `crl_status` and `ocsp_responder_status` cells: the word, with when and why it was
/// revoked, or why no list or answer said.
fn revocation_status(i: &crate::model::RevocationInfo) -> String {
    match i.status.as_str() {
        "revoked" => {
            let mut s = format!("revoked {}", i.revoked_at.as_deref().unwrap_or("?"));
            if let Some(r) = &i.reason {
                s.push_str(&format!(" ({r})"));
            }
            s
        }
        "unavailable" => format!(
            "unavailable: {}",
            i.problem.as_deref().unwrap_or("nothing could say")
        ),
        // A list's word with what it could not see (a delta list not read).
        other => match &i.problem {
            Some(p) => format!("{other} ({p})"),
            None => other.to_string(),
        },
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_default()
}

impl ScanRow {
    /// Flattens an observation; `now_unix` fixes `days_left`.
    pub fn from_observation(o: &Observation, now_unix: i64) -> Self {
        let c = o.cert.as_ref();
        let other = o.other_key.as_deref();
        let other_cert = other.and_then(|k| k.cert.as_ref());
        ScanRow {
            scan_time: o.scan_time.clone(),
            host: cell(&o.host),
            ip: o.ip.map(|i| i.to_string()).unwrap_or_default(),
            port: o.port,
            sni: opt_cell(o.sni.as_deref()),
            label: opt_cell(o.label.as_deref()),
            serial: c.map(|c| c.serial.clone()).unwrap_or_default(),
            serial_dec: c.map(|c| c.serial_dec.clone()).unwrap_or_default(),
            subject_cn: opt_cell(c.and_then(|c| c.subject_cn.as_deref())),
            sans: c.map(|c| cell(&c.sans.join(";"))).unwrap_or_default(),
            issuer: c.map(|c| cell(&c.issuer)).unwrap_or_default(),
            not_before: c.map(|c| c.not_before.clone()).unwrap_or_default(),
            not_after: c.map(|c| c.not_after.clone()).unwrap_or_default(),
            days_left: o
                .days_left(now_unix)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            sha256: c.map(|c| c.sha256.clone()).unwrap_or_default(),
            sha1: c.map(|c| c.sha1.clone()).unwrap_or_default(),
            key_type: c.map(|c| cell(&c.key_type)).unwrap_or_default(),
            key_bits: c.map(|c| c.key_bits.to_string()).unwrap_or_default(),
            signature_algorithm: c.map(|c| cell(&c.signature_algorithm)).unwrap_or_default(),
            chain_length: o.chain.len(),
            chain_subjects: cell(
                &o.chain
                    .iter()
                    .map(|e| e.subject.as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
            tls_version: o
                .tls
                .as_ref()
                .map(|t| t.version.clone())
                .unwrap_or_default(),
            cipher_suite: o
                .tls
                .as_ref()
                .map(|t| t.cipher_suite.clone())
                .unwrap_or_default(),
            alpn: o
                .tls
                .as_ref()
                .and_then(|t| t.alpn.as_deref())
                .map(cell)
                .unwrap_or_default(),
            findings: o
                .findings
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            trust_detail: opt_cell(o.trust_detail.as_deref()),
            dns_ms: ms(o.timings.dns_ms),
            connect_ms: ms(o.timings.connect_ms),
            handshake_ms: ms(o.timings.handshake_ms),
            error_class: o
                .error_class()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            error_message: o
                .error
                .as_ref()
                .map(|e| cell(&e.message))
                .unwrap_or_default(),
            starttls: o
                .starttls
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            starttls_ms: ms(o.timings.starttls_ms),
            other_key_offered: other
                .map(|k| k.offered.as_str().to_ascii_lowercase())
                .unwrap_or_default(),
            other_key_serial: other_cert.map(|c| c.serial.clone()).unwrap_or_default(),
            other_key_not_after: other_cert.map(|c| c.not_after.clone()).unwrap_or_default(),
            other_key_type: other_cert.map(|c| cell(&c.key_type)).unwrap_or_default(),
            other_key_findings: other
                .map(|k| {
                    k.findings
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default(),
            other_key_error_class: other
                .and_then(|k| k.error.as_ref())
                .map(|e| e.class.as_str().to_string())
                .unwrap_or_default(),
            ocsp_status: o
                .ocsp
                .as_deref()
                .map(|i| {
                    if i.verified || i.status == "unusable" {
                        i.status.clone()
                    } else {
                        format!("{} (signature not checked)", i.status)
                    }
                })
                .unwrap_or_default(),
            ocsp_next_update: o
                .ocsp
                .as_deref()
                .and_then(|i| i.next_update.clone())
                .unwrap_or_default(),
            crl_status: o.crl.as_deref().map(revocation_status).unwrap_or_default(),
            chain_expires: o
                .chain_expires
                .as_deref()
                .map(|e| e.not_after.clone())
                .unwrap_or_default(),
            samples: o
                .samples
                .as_deref()
                .map(|s| format!("{}/{}", s.same, s.connections))
                .unwrap_or_default(),
            other_serials: o
                .samples
                .as_deref()
                .map(crate::model::Samples::others_shown)
                .unwrap_or_default(),
            spki_sha256: c.map(|c| c.spki_sha256.clone()).unwrap_or_default(),
            dane: o
                .dane
                .as_deref()
                .map(|d| cell(&d.shown()))
                .unwrap_or_default(),
            ocsp_responder_status: o
                .ocsp_responder
                .as_deref()
                .map(revocation_status)
                .unwrap_or_default(),
            previous_serial: o
                .previous
                .as_deref()
                .map(|p| p.serial.clone())
                .unwrap_or_default(),
        }
    }
}

/// A CSV writer of serde rows that writes the header even when no row comes.
pub struct CsvOut<W: Write> {
    w: ::csv::Writer<W>,
    header: &'static [&'static str],
    wrote_header: bool,
}

impl<W: Write> CsvOut<W> {
    /// Wraps `w`; `header` is written if no row ever is.
    pub fn new(w: W, header: &'static [&'static str]) -> Self {
        CsvOut {
            // RFC 4180's line break is CRLF (what Excel writes; csv readers take either).
            w: ::csv::WriterBuilder::new()
                .has_headers(true)
                .terminator(::csv::Terminator::CRLF)
                .from_writer(w),
            header,
            wrote_header: false,
        }
    }

    /// [`CsvOut::new`], the file started with a UTF-8 byte order mark when `bom`: Excel reads
    /// a CSV without one in the system's code page, so a subject's accents or a label in
    /// another script come out garbled in the spreadsheet an auditor opens.
    pub fn with_bom(mut w: W, header: &'static [&'static str], bom: bool) -> std::io::Result<Self> {
        if bom {
            w.write_all("\u{feff}".as_bytes())?;
        }
        Ok(CsvOut::new(w, header))
    }

    /// Writes one row (the header first, from the row's field names).
    pub fn write<T: Serialize>(&mut self, row: &T) -> std::io::Result<()> {
        self.wrote_header = true;
        self.w.serialize(row).map_err(std::io::Error::other)
    }

    /// Flushes to the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    /// Writes the header if nothing was written, then flushes.
    pub fn finish(mut self) -> std::io::Result<()> {
        if !self.wrote_header {
            self.w
                .write_record(self.header)
                .map_err(std::io::Error::other)?;
        }
        self.w.flush()
    }
}

/// The scan report's columns, in order.
pub const SCAN_COLUMNS: &[&str] = &[
    "scan_time",
    "host",
    "ip",
    "port",
    "sni",
    "label",
    "serial",
    "serial_dec",
    "subject_cn",
    "sans",
    "issuer",
    "not_before",
    "not_after",
    "days_left",
    "sha256",
    "sha1",
    "key_type",
    "key_bits",
    "signature_algorithm",
    "chain_length",
    "chain_subjects",
    "tls_version",
    "cipher_suite",
    "alpn",
    "findings",
    "trust_detail",
    "dns_ms",
    "connect_ms",
    "handshake_ms",
    "error_class",
    "error_message",
    "starttls",
    "starttls_ms",
    "other_key_offered",
    "other_key_serial",
    "other_key_not_after",
    "other_key_type",
    "other_key_findings",
    "other_key_error_class",
    "ocsp_status",
    "ocsp_next_update",
    "crl_status",
    "chain_expires",
    "samples",
    "other_serials",
    "spki_sha256",
    "dane",
    "ocsp_responder_status",
    "previous_serial",
];
