//! The DCV report: one flat CSV row per (domain, method).

use crate::dcv::{Outcome, Severity};
use crate::report::cell;
use serde::Serialize;

/// Column names of the DCV CSV report, in order.
pub const DCV_COLUMNS: &[&str] = &[
    "domain",
    "method",
    "verdict",
    "failed_checks",
    "reason",
    "warnings",
    "addresses",
    "evidence",
    "caa",
    "checked_at",
    "elapsed_ms",
    "source",
];

/// One CSV row.
#[derive(Debug, Serialize)]
pub struct DcvRow {
    domain: String,
    method: &'static str,
    verdict: &'static str,
    failed_checks: String,
    reason: String,
    warnings: String,
    addresses: String,
    evidence: String,
    caa: String,
    checked_at: String,
    elapsed_ms: u64,
    source: String,
}

impl DcvRow {
    /// Flattens an outcome: blocking findings in `failed_checks`/`reason`, the rest (warnings
    /// and facts, `id: sentence`) in `warnings`, evidence as `address: result [hops]`.
    pub fn from_outcome(o: &Outcome) -> Self {
        let reason = o.reasons();
        let warnings: Vec<String> = o
            .checks
            .iter()
            .filter(|c| !c.blocks())
            .map(|c| {
                let tag = if c.severity == Severity::Info {
                    "info"
                } else {
                    "warning"
                };
                format!("{tag} {}: {}", c.id, c.message)
            })
            .collect();
        let evidence: Vec<String> = o
            .evidence
            .iter()
            .map(|e| {
                if e.hops.is_empty() {
                    format!("{}: {}", e.at, e.result)
                } else {
                    format!("{}: {} [{}]", e.at, e.result, e.hops.join(" ; "))
                }
            })
            .collect();
        DcvRow {
            domain: cell(&o.domain),
            method: o.method.as_str(),
            verdict: o.verdict.as_str(),
            failed_checks: o.failed_ids().join(" "),
            reason: cell(&reason.join(" | ")),
            warnings: cell(&warnings.join(" | ")),
            addresses: o.addresses.join(" "),
            evidence: cell(&evidence.join(" | ")),
            caa: o.caa.as_deref().map(cell).unwrap_or_default(),
            checked_at: o.checked_at.clone(),
            elapsed_ms: o.elapsed_ms,
            source: cell(&o.source),
        }
    }
}
