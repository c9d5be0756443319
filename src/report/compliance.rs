//! The compliance report: one row per endpoint with its verdict, the record it matched, the
//! certificate it should serve, and the next step.

use super::{cell, opt_cell};
use crate::verdict::{IdentityRow, Verdict};
use serde::Serialize;

/// One row; the first columns are the scan report's, the rest the verdict's.
#[derive(Debug, Serialize)]
pub struct ComplianceRow {
    /// When the endpoint was scanned.
    pub scan_time: String,
    /// Name or address.
    pub host: String,
    /// Address connected to.
    pub ip: String,
    /// Port.
    pub port: u16,
    /// SNI sent.
    pub sni: String,
    /// Label from the target list.
    pub label: String,
    /// Verdict status.
    pub status: String,
    /// Everything else true of the endpoint, `;`-separated.
    pub findings: String,
    /// Presented serial (canonical hex).
    pub serial: String,
    /// Presented notAfter.
    pub not_after: String,
    /// Days until the presented certificate expires.
    pub days_left: String,
    /// Presented issuer.
    pub issuer: String,
    /// Presented subject CN.
    pub subject_cn: String,
    /// Presented SHA-256.
    pub sha256: String,
    /// Serial the endpoint should serve.
    pub expected_serial: String,
    /// notAfter of the expected certificate.
    pub expected_not_after: String,
    /// Record the presented certificate matched.
    pub record_id: String,
    /// Its order number.
    pub order_id: String,
    /// Record of the expected certificate.
    pub expected_record_id: String,
    /// Its order number.
    pub expected_order_id: String,
    /// Provisioning bot (of the expected record, else the matched one).
    pub provisioning_bot: String,
    /// CA connector.
    pub ca_connector: String,
    /// Owner.
    pub owner: String,
    /// `current/total` endpoints of this host and port serving the expected certificate.
    pub name_endpoints_current: String,
    /// Error class when unreachable.
    pub error_class: String,
    /// Error detail.
    pub error_message: String,
    /// Why, in words.
    pub detail: String,
    /// What to do next.
    pub next_step: String,
    /// Protocol spoken before TLS (`smtp`, `ldap`, ...), empty for TLS from the first byte.
    /// Last, as it came after the other columns.
    pub starttls: String,
    /// The endpoint's certificate of the other key type, when a second look found one
    /// (`dual_certificates`): its serial. Last, as it came later.
    pub other_key_serial: String,
    /// Its notAfter.
    pub other_key_not_after: String,
    /// The names the served certificate covers (DNS and IP SANs, `;`), what an auditor checks
    /// against the host. Last, as it came later.
    pub sans: String,
    /// The deployment status the records give (of the expected record, else the matched
    /// one), as written. Last, as it came later.
    pub deploy_status: String,
    /// The served certificate's notBefore; this and the columns after it are the scan
    /// report's, for an auditor's one file (key strength, signature, protocol, revocation).
    pub not_before: String,
    /// Key type (`RSA`, `EC`, ...).
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: String,
    /// The certificate's signature algorithm.
    pub signature_algorithm: String,
    /// TLS version negotiated (empty for a second look's certificate: its handshake's
    /// parameters are not kept).
    pub tls_version: String,
    /// Cipher suite negotiated.
    pub cipher_suite: String,
    /// The trust judgement in words, as in the scan report.
    pub trust_detail: String,
    /// The stapled OCSP response's status.
    pub ocsp_status: String,
    /// What the CA's revocation list says (`--crl`), as in the scan report.
    pub crl_status: String,
    /// When the chain breaks before the certificate, as in the scan report.
    pub chain_expires: String,
    /// The certificate's key hash, as in the scan report: the same as the previous
    /// version's when a renewal kept its key.
    pub spki_sha256: String,
    /// What its TLSA records say (`--dane`), as in the scan report.
    pub dane: String,
    /// What the CA's OCSP responder answers (`--ocsp`), as in the scan report.
    pub ocsp_responder_status: String,
    /// The serial served at the previous sweep (`--previous`), as in the scan report.
    pub previous_serial: String,
}

/// Column names, in order.
pub const COMPLIANCE_COLUMNS: &[&str] = &[
    "scan_time",
    "host",
    "ip",
    "port",
    "sni",
    "label",
    "status",
    "findings",
    "serial",
    "not_after",
    "days_left",
    "issuer",
    "subject_cn",
    "sha256",
    "expected_serial",
    "expected_not_after",
    "record_id",
    "order_id",
    "expected_record_id",
    "expected_order_id",
    "provisioning_bot",
    "ca_connector",
    "owner",
    "name_endpoints_current",
    "error_class",
    "error_message",
    "detail",
    "next_step",
    "starttls",
    "other_key_serial",
    "other_key_not_after",
    "sans",
    "deploy_status",
    "not_before",
    "key_type",
    "key_bits",
    "signature_algorithm",
    "tls_version",
    "cipher_suite",
    "trust_detail",
    "ocsp_status",
    "crl_status",
    "chain_expires",
    "spki_sha256",
    "dane",
    "ocsp_responder_status",
    "previous_serial",
];

impl ComplianceRow {
    /// Flattens a verdict.
    pub fn from_verdict(v: &Verdict, now_unix: i64) -> Self {
        let o = &v.observation;
        let other = o.second_cert();
        let m = v.matched.as_ref();
        let e = v.expected.as_ref();
        let pick = |f: fn(&crate::verdict::RecordRef) -> Option<&String>| {
            opt_cell(e.and_then(f).or_else(|| m.and_then(f)).map(String::as_str))
        };
        // The observation's columns as the scan report writes them.
        let s = super::csv::ScanRow::from_observation(o, now_unix);
        ComplianceRow {
            scan_time: s.scan_time,
            host: s.host,
            ip: s.ip,
            port: s.port,
            sni: s.sni,
            label: s.label,
            status: v.status.as_str().to_string(),
            findings: v.findings.join(";"),
            serial: s.serial,
            not_after: s.not_after,
            days_left: s.days_left,
            issuer: s.issuer,
            subject_cn: s.subject_cn,
            sha256: s.sha256,
            expected_serial: opt_cell(e.and_then(|e| e.serial.as_deref())),
            expected_not_after: opt_cell(e.and_then(|e| e.not_after.as_deref())),
            record_id: opt_cell(m.map(|m| m.record_id.as_str())),
            order_id: opt_cell(m.and_then(|m| m.order_id.as_deref())),
            expected_record_id: opt_cell(e.map(|e| e.record_id.as_str())),
            expected_order_id: opt_cell(e.and_then(|e| e.order_id.as_deref())),
            provisioning_bot: pick(|r| r.provisioning_bot.as_ref()),
            ca_connector: pick(|r| r.ca_connector.as_ref()),
            owner: pick(|r| r.owner.as_ref()),
            name_endpoints_current: v.name_endpoints_current.clone().unwrap_or_default(),
            error_class: s.error_class,
            error_message: s.error_message,
            detail: cell(&v.detail),
            next_step: cell(&v.next_step),
            starttls: s.starttls,
            other_key_serial: other.map(|c| c.serial.clone()).unwrap_or_default(),
            other_key_not_after: other.map(|c| c.not_after.clone()).unwrap_or_default(),
            sans: s.sans,
            deploy_status: pick(|r| r.deploy_status.as_ref()),
            not_before: s.not_before,
            key_type: s.key_type,
            key_bits: s.key_bits,
            signature_algorithm: s.signature_algorithm,
            tls_version: s.tls_version,
            cipher_suite: s.cipher_suite,
            trust_detail: s.trust_detail,
            ocsp_status: s.ocsp_status,
            crl_status: s.crl_status,
            chain_expires: s.chain_expires,
            spki_sha256: s.spki_sha256,
            dane: s.dane,
            ocsp_responder_status: s.ocsp_responder_status,
            previous_serial: s.previous_serial,
        }
    }
}

/// Column names of the records report.
pub const RECORDS_COLUMNS: &[&str] = &[
    "names",
    "versions",
    "newest_record_id",
    "newest_order_id",
    "newest_serial",
    "newest_not_after",
    "deployed_at",
    "stale_at",
    "findings",
    "next_step",
    "identity_id",
    "owner",
    "provisioning_bot",
];

/// Makes an identity row spreadsheet-safe.
pub fn safe_identity_row(r: &IdentityRow) -> IdentityRow {
    IdentityRow {
        names: cell(&r.names),
        versions: r.versions,
        newest_record_id: cell(&r.newest_record_id),
        newest_order_id: cell(&r.newest_order_id),
        newest_serial: r.newest_serial.clone(),
        newest_not_after: r.newest_not_after.clone(),
        deployed_at: cell(&r.deployed_at),
        stale_at: cell(&r.stale_at),
        findings: r.findings.clone(),
        next_step: r.next_step.clone(),
        identity_id: cell(&r.identity_id),
        owner: cell(&r.owner),
        provisioning_bot: cell(&r.provisioning_bot),
    }
}
