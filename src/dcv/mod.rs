//! DCV pre-check: would domain control validation pass for this domain and method, the way a
//! CA's validation authority sees it, and if not, why.
//!
//! Each check that finds something produces a [`Check`] with a stable id, a severity and a
//! sentence a person can act on. [`judge`] is the one place the verdict is decided from them.
//! The probes live in `ident` (the name itself), `dns` (lookups and authoritative queries),
//! `caa`, `http01`, `dns01`, `alpn` and `persist`; `run` puts them together per domain.

pub mod alpn;
pub mod caa;
pub mod dns;
pub mod dns01;
pub mod http01;
pub mod ident;
pub mod input;
pub mod persist;
pub mod run;

use serde::Serialize;
use std::fmt;

/// A validation method (RFC 8555 §8.3, §8.4; RFC 8737).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Method {
    /// A file at `http://<name>/.well-known/acme-challenge/<token>` on port 80.
    #[serde(rename = "http-01")]
    Http01,
    /// A TXT record at `_acme-challenge.<name>`.
    #[serde(rename = "dns-01")]
    Dns01,
    /// A special certificate served with ALPN `acme-tls/1` on port 443.
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    /// A standing TXT record at `_validation-persist.<name>` naming the CA and the ACME
    /// account (draft-ietf-acme-dns-persist).
    #[serde(rename = "dns-persist-01")]
    DnsPersist01,
}

impl Method {
    /// What `all` means: the methods every ACME CA offers (RFC 8555, RFC 8737). A standing
    /// dns-persist-01 record is a choice of its own, asked for by name.
    pub const ALL: [Method; 3] = [Method::Http01, Method::Dns01, Method::TlsAlpn01];

    /// The ACME name (also the CAA `validationmethods` label).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Http01 => "http-01",
            Method::Dns01 => "dns-01",
            Method::TlsAlpn01 => "tls-alpn-01",
            Method::DnsPersist01 => "dns-persist-01",
        }
    }

    /// Reads a method as users and CLM exports write it (`http-01`, `HTTP`, `File`,
    /// `DNS TXT`, `tls-alpn-01`, `all`); `None` when it names no method this check covers.
    pub fn parse_list(s: &str) -> Option<Vec<Method>> {
        let key = crate::csvlines::key(s);
        match key.as_str() {
            "http01" | "http" | "file" | "httpfile" | "httpsfile" | "filebased" | "fileauth" => {
                Some(vec![Method::Http01])
            }
            "dns01" | "dns" | "txt" | "dnstxt" | "dnsrecord" | "txtrecord" => {
                Some(vec![Method::Dns01])
            }
            "tlsalpn01" | "tlsalpn" | "alpn" => Some(vec![Method::TlsAlpn01]),
            "dnspersist01" | "dnspersist" | "persist" => Some(vec![Method::DnsPersist01]),
            "all" => Some(Method::ALL.to_vec()),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a finding matters (the letsdebug scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Validation cannot pass and later checks would say nothing more.
    Fatal,
    /// Validation would fail.
    Error,
    /// Validation may pass, but something is fragile or wrong.
    Warning,
    /// A fact worth reporting.
    Info,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One finding of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id (documented in the README), e.g. `caa_forbids_ca`.
    pub id: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// True when the check could not be carried out (our own lookup timed out, the deadline
    /// passed): the CA might see something else, so the verdict is `unknown`, not `not_ready`.
    pub inconclusive: bool,
    /// What was found and what to do, in one or two sentences.
    pub message: String,
}

impl Check {
    fn with(id: &'static str, severity: Severity, message: String) -> Check {
        // Messages quote what servers answered (a body, a TXT or CAA value, a header).
        let message = crate::model::visible_string(message);
        Check {
            id,
            severity,
            inconclusive: false,
            message,
        }
    }

    /// A finding that stops the later checks.
    pub fn fatal(id: &'static str, message: impl Into<String>) -> Check {
        Check::with(id, Severity::Fatal, message.into())
    }

    /// A finding that makes validation fail.
    pub fn error(id: &'static str, message: impl Into<String>) -> Check {
        Check::with(id, Severity::Error, message.into())
    }

    /// A finding that does not by itself make validation fail.
    pub fn warning(id: &'static str, message: impl Into<String>) -> Check {
        Check::with(id, Severity::Warning, message.into())
    }

    /// A fact.
    pub fn info(id: &'static str, message: impl Into<String>) -> Check {
        Check::with(id, Severity::Info, message.into())
    }

    /// A check that could not be carried out.
    pub fn unknown(id: &'static str, message: impl Into<String>) -> Check {
        Check {
            inconclusive: true,
            ..Check::with(id, Severity::Error, message.into())
        }
    }

    /// Whether this finding makes validation fail (or, if inconclusive, leaves it open).
    pub fn blocks(&self) -> bool {
        matches!(self.severity, Severity::Fatal | Severity::Error)
    }
}

/// The answer for one (domain, method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing found that would make validation fail.
    Ready,
    /// Validation would fail; `failed_checks` says why.
    NotReady,
    /// Could not tell (a lookup of ours failed, the deadline passed).
    Unknown,
}

impl Verdict {
    /// The report word.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::NotReady => "not_ready",
            Verdict::Unknown => "unknown",
        }
    }
}

/// Decides the verdict from the findings: any conclusive fatal or error finding means
/// `not_ready`; otherwise any inconclusive one means `unknown`; otherwise `ready`.
pub fn judge(checks: &[Check]) -> Verdict {
    if checks.iter().any(|c| c.blocks() && !c.inconclusive) {
        Verdict::NotReady
    } else if checks.iter().any(|c| c.blocks()) {
        Verdict::Unknown
    } else {
        Verdict::Ready
    }
}

/// One (domain, method) to check, with what the CA will expect if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The identifier as written in the input.
    pub domain: String,
    /// The method.
    pub method: Method,
    /// HTTP-01 token (the last path segment), when known.
    pub token: Option<String>,
    /// The expected value: the key authorization for HTTP-01 and TLS-ALPN-01; for DNS-01
    /// either the TXT value or the key authorization (then its SHA-256 digest is expected);
    /// for dns-persist-01 the ACME account URI that will order (instead of `--account-uri`).
    pub expected: Option<String>,
    /// Where the request came from (`file:line`).
    pub source: String,
}

/// What was seen at one address or nameserver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The address (or `nameserver/address`) the facts are about.
    pub at: String,
    /// What happened there, in short.
    pub result: String,
    /// Redirect hops in order (`url → status (address)`), HTTP-01 only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<String>,
}

/// The result for one (domain, method): the report row.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The identifier as written in the input.
    pub domain: String,
    /// The method.
    pub method: Method,
    /// ready, not_ready or unknown.
    pub verdict: Verdict,
    /// Every finding, blocking first.
    pub checks: Vec<Check>,
    /// The addresses the name resolved to (HTTP-01, TLS-ALPN-01).
    pub addresses: Vec<String>,
    /// Per-address or per-nameserver facts.
    pub evidence: Vec<Evidence>,
    /// The relevant CAA set (`name: record; record`), if any.
    pub caa: Option<String>,
    /// When the check ran (RFC 3339, UTC).
    pub checked_at: String,
    /// How long it took.
    pub elapsed_ms: u64,
    /// Where the request came from (`file:line`).
    pub source: String,
}

impl Outcome {
    /// The messages of the blocking findings, in order: why the verdict is not `ready`.
    pub fn reasons(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|c| c.blocks())
            .map(|c| c.message.as_str())
            .collect()
    }

    /// Ids of the blocking findings, in order, without repeats.
    pub fn failed_ids(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for c in self.checks.iter().filter(|c| c.blocks()) {
            if !ids.contains(&c.id) {
                ids.push(c.id);
            }
        }
        ids
    }
}

/// A value shown in a sentence: control characters dropped, at most 60 characters (what
/// servers and records hold is not ours to print whole).
pub(crate) fn short(s: &str) -> String {
    shortened(s, 60)
}

/// [`short`] to `width` characters: a dns-persist-01 record's faults are in its last
/// parameters, after an account URI of some 50 characters.
pub(crate) fn shortened(s: &str, width: usize) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(width).collect();
    if s.chars().count() > width {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_quoting_a_server_shows_its_control_characters_escaped() {
        let c = Check::error("http_body_mismatch", "returned \"x\u{0}\u{1b}[2J\" instead");
        assert_eq!(c.message, "returned \"x\\u{0}\\u{1b}[2J\" instead");
    }

    #[test]
    fn verdict_precedence() {
        assert_eq!(judge(&[]), Verdict::Ready);
        assert_eq!(judge(&[Check::warning("w", "x")]), Verdict::Ready);
        assert_eq!(judge(&[Check::unknown("u", "x")]), Verdict::Unknown);
        assert_eq!(
            judge(&[Check::unknown("u", "x"), Check::error("e", "y")]),
            Verdict::NotReady
        );
        assert_eq!(judge(&[Check::fatal("f", "x")]), Verdict::NotReady);
    }

    #[test]
    fn methods_as_exports_write_them() {
        assert_eq!(Method::parse_list("HTTP-01"), Some(vec![Method::Http01]));
        assert_eq!(Method::parse_list("File"), Some(vec![Method::Http01]));
        assert_eq!(Method::parse_list("DNS TXT"), Some(vec![Method::Dns01]));
        assert_eq!(
            Method::parse_list("tls-alpn-01"),
            Some(vec![Method::TlsAlpn01])
        );
        assert_eq!(Method::parse_list("all").map(|v| v.len()), Some(3));
        assert_eq!(
            Method::parse_list("DNS-PERSIST-01"),
            Some(vec![Method::DnsPersist01])
        );
        assert_eq!(Method::parse_list("email"), None);
    }
}
