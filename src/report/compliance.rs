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
];

impl ComplianceRow {
    /// Flattens a verdict.
    pub fn from_verdict(v: &Verdict, now_unix: i64) -> Self {
        let o = &v.observation;
        let other = o.second_cert();
        let c = o.cert.as_ref();
        let m = v.matched.as_ref();
        let e = v.expected.as_ref();
        let pick = |f: fn(&crate::verdict::RecordRef) -> Option<&String>| {
            opt_cell(e.and_then(f).or_else(|| m.and_then(f)).map(String::as_str))
        };
        ComplianceRow {
            scan_time: o.scan_time.clone(),
            host: cell(&o.host),
            ip: o.ip.map(|i| i.to_string()).unwrap_or_default(),
            port: o.port,
            sni: opt_cell(o.sni.as_deref()),
            label: opt_cell(o.label.as_deref()),
            status: v.status.as_str().to_string(),
            findings: v.findings.join(";"),
            serial: c.map(|c| c.serial.clone()).unwrap_or_default(),
            not_after: c.map(|c| c.not_after.clone()).unwrap_or_default(),
            days_left: o
                .days_left(now_unix)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            issuer: c.map(|c| cell(&c.issuer)).unwrap_or_default(),
            subject_cn: opt_cell(c.and_then(|c| c.subject_cn.as_deref())),
            sha256: c.map(|c| c.sha256.clone()).unwrap_or_default(),
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
            error_class: o
                .error_class()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            error_message: o
                .error
                .as_ref()
                .map(|e| cell(&e.message))
                .unwrap_or_default(),
            detail: cell(&v.detail),
            next_step: cell(&v.next_step),
            starttls: o
                .starttls
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            other_key_serial: other.map(|c| c.serial.clone()).unwrap_or_default(),
            other_key_not_after: other.map(|c| c.not_after.clone()).unwrap_or_default(),
            sans: c.map(|c| cell(&c.sans.join(";"))).unwrap_or_default(),
            deploy_status: pick(|r| r.deploy_status.as_ref()),
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
