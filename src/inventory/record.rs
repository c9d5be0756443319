//! The normalized certificate record every inventory format is read into.

use super::date::When;
use super::serial::Serial;
use serde::Serialize;
use std::sync::Arc;

/// Lifecycle status of a record, normalized from the platform's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// A certificate was issued (generated, downloaded).
    Issued,
    /// Ordered, not issued yet.
    Pending,
    /// Revoked.
    Revoked,
    /// Expired according to the platform.
    Expired,
    /// Order cancelled or rejected.
    Cancelled,
    /// Explicitly replaced by a newer certificate.
    Superseded,
    /// No status given.
    Unknown,
}

impl RecordStatus {
    /// Maps a platform status string (or CERTInext numeric id); a word it does not know is
    /// pending ([`RecordStatus::known`] tells them apart).
    pub fn from_raw(raw: &str) -> RecordStatus {
        RecordStatus::known(raw).unwrap_or(RecordStatus::Pending)
    }

    /// Maps a status string when its words are known: `None` for a word no platform this
    /// reads uses, which [`RecordStatus::from_raw`] takes as pending (never the certificate
    /// an endpoint should serve, so that an inactive or retired one is not taken for a
    /// renewal) and the loader reports, so that the map can name it.
    pub fn known(raw: &str) -> Option<RecordStatus> {
        let k = crate::csvlines::key(raw);
        Some(match k.as_str() {
            "" => RecordStatus::Unknown,
            // CERTInext certificateStatusId values.
            "9" | "20" | "23" | "15" | "7" => RecordStatus::Issued,
            "22" => RecordStatus::Revoked,
            "12" => RecordStatus::Expired,
            "5" | "8" | "13" | "14" | "18" | "19" | "21" => RecordStatus::Cancelled,
            _ if k.contains("revoked") => RecordStatus::Revoked,
            _ if k.contains("expired") => RecordStatus::Expired,
            _ if k.contains("cancel")
                || k.contains("reject")
                || k.contains("declin")
                || k.contains("invalid") =>
            {
                RecordStatus::Cancelled
            }
            _ if k.contains("supersed")
                || k.contains("renewed")
                || k.contains("replaced")
                || k.contains("archived")
                || k == "old" =>
            {
                RecordStatus::Superseded
            }
            _ if k.contains("generated")
                || k.contains("downloaded")
                || k.contains("issued")
                || k.contains("fulfilled")
                || k == "active"
                || k == "valid"
                || k == "current"
                || k == "deployed"
                || k == "inuse"
                || k == "installed"
                || k == "provisioned"
                || k == "ok"
                || k == "good" =>
            {
                RecordStatus::Issued
            }
            _ if k.contains("pending")
                || k.contains("await")
                || k.contains("submitted")
                || k.contains("requested")
                || k.contains("processing")
                || k.contains("approval")
                || k.contains("hold")
                // Sectigo: applied for, approved by an administrator, not yet issued.
                || k == "applied"
                || k == "approved"
                || k == "draft" =>
            {
                RecordStatus::Pending
            }
            _ if k.contains("inactive")
                || k.contains("disabled")
                || k.contains("retired")
                || k.contains("deleted")
                || k.contains("removed")
                || k.contains("suspended") =>
            {
                RecordStatus::Cancelled
            }
            // CERTInext's other numeric ids are states before issuance.
            _ if k.chars().all(|c| c.is_ascii_digit()) => RecordStatus::Pending,
            _ => return None,
        })
    }
}

/// What the platform says about deploying a certificate version (its deployment or
/// provisioning status column), normalized from its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployStatus {
    /// Deployed (installed, delivered, succeeded).
    Deployed,
    /// Deployment scheduled or running.
    Pending,
    /// Waiting for its deployment to be configured (CERTInext "Configuration Pending").
    ConfigPending,
    /// The deployment failed.
    Failed,
    /// The deployment was rolled back.
    RolledBack,
    /// No deployment is recorded (not deployed, manual).
    NotDeployed,
}

impl DeployStatus {
    /// Maps a platform's deployment status words; `None` for an empty value or words it
    /// does not know (kept as written beside it).
    pub fn from_raw(raw: &str) -> Option<DeployStatus> {
        let k = crate::csvlines::key(raw);
        let has = |w: &str| k.contains(w);
        // Negations and failures first: "Not Deployed" and "Deployment Failed" both hold
        // "deployed".
        Some(if has("rolledback") || has("rollback") || has("reverted") {
            DeployStatus::RolledBack
        } else if has("fail") || has("error") || has("unsuccessful") || has("aborted") {
            DeployStatus::Failed
        } else if has("notdeployed")
            || has("undeployed")
            || has("notstarted")
            || has("cancel")
            || has("skipped")
            || k == "none"
            || k == "manual"
        {
            DeployStatus::NotDeployed
        } else if has("config") && (has("pending") || has("required") || has("waiting")) {
            DeployStatus::ConfigPending
        } else if has("pending")
            || has("progress")
            || has("scheduled")
            || has("queue")
            || has("running")
            || has("waiting")
        {
            DeployStatus::Pending
        } else if has("deployed")
            || has("success")
            || has("completed")
            || has("installed")
            || has("delivered")
            || k == "done"
        {
            DeployStatus::Deployed
        } else {
            return None;
        })
    }
}

/// Whether a record's name may name a host or a domain: not a person (`John Doe`) or a
/// mailbox (`alice@example.com`), as client certificates' subjects do, which a private CA's
/// database lists beside its servers'.
pub fn names_a_host(name: &str) -> bool {
    !name.contains(char::is_whitespace) && !name.contains('@')
}

/// Deployment statuses per deployment endpoint: (`host:port` or `host`, status as written).
pub type PerTarget = Box<[(String, Box<str>)]>;

/// One certificate version as the CLM platform records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// File it came from.
    pub file: Arc<str>,
    /// Line in that file (of a JSON record, the line it begins on).
    pub line: u64,
    /// The platform's id for the row (certificate id, else order number, else file:line).
    pub record_id: Box<str>,
    /// Order number.
    pub order_id: Option<Box<str>>,
    /// Request number.
    pub request_id: Option<Box<str>>,
    /// The serial as written.
    pub serial_raw: Box<str>,
    /// Parsed serial; absent while no certificate was issued.
    pub serial: Option<Serial>,
    /// SHA-1 thumbprint, uppercase hex without separators.
    pub sha1: Option<Box<str>>,
    /// SHA-256 fingerprint, lowercase hex without separators.
    pub sha256: Option<Box<str>>,
    /// SHA-256 of the certificate's key (SubjectPublicKeyInfo), when the record carries
    /// the certificate (a PEM): what a `3 1 1` TLSA record pins. Boxed bytes, 8 bytes a
    /// record without it (inventories run to hundreds of thousands of records).
    pub spki_sha256: Option<Box<[u8; 32]>>,
    /// SHA-256 of the key of the CA that issued it, when the record's PEM carries that CA's
    /// certificate too (a full chain): what a `2 1 1` TLSA record pins.
    pub issuer_spki_sha256: Option<Box<[u8; 32]>>,
    /// Common name, lowercased.
    pub cn: Option<Box<str>>,
    /// SANs, lowercased.
    pub sans: Vec<String>,
    /// Issuer as written.
    pub issuer: Option<Box<str>>,
    /// notBefore.
    pub not_before: Option<When>,
    /// notAfter.
    pub not_after: Option<When>,
    /// Order date (tie-breaker).
    pub order_date: Option<When>,
    /// Normalized status.
    pub status: RecordStatus,
    /// Status as written.
    pub status_raw: Box<str>,
    /// Explicit link to the record this one renews (id, order or serial).
    pub renewal_of: Option<Box<str>>,
    /// Explicit link to the record that renews this one.
    pub renewed_by: Option<Box<str>>,
    /// Deployment endpoints (`host[:port]`).
    pub targets: Vec<String>,
    /// Provisioning bot.
    pub provisioning_bot: Option<Box<str>>,
    /// What the platform says about this version's deployment, when its words are known.
    pub deploy_status: Option<DeployStatus>,
    /// The deployment status as written.
    pub deploy_status_raw: Option<Box<str>>,
    /// The deployment status per deployment endpoint, as written, when the export gives one
    /// per endpoint (TLS Protect Cloud's instances): `host:port` (or `host`) and its status.
    pub deploy_by_target: Option<PerTarget>,
    /// The platform's id for the certificate across its renewals (a Venafi certificate
    /// object, an ACM ARN): records with the same one are one identity.
    pub identity_id: Option<Box<str>>,
    /// CA connector.
    pub ca_connector: Option<Box<str>>,
    /// Owner.
    pub owner: Option<Box<str>>,
    /// DCV method.
    pub dcv_method: Option<Box<str>>,
    /// CERTInext group number.
    pub group: Option<Box<str>>,
    /// Fields were taken from the certificate PEM in the row.
    pub from_pem: bool,
    /// The key type (RSA or ECDSA), from the PEM or a key type column; unknown otherwise.
    pub key_family: Option<crate::model::KeyFamily>,
    /// The purposes its certificate's Extended Key Usage names, when the record carries the
    /// certificate (a PEM) and it has one ([`crate::model::CertInfo::extended_key_usage`]).
    pub extended_key_usage: Option<u16>,
}

impl Record {
    /// The canonical serial (uppercase hex), once a certificate was issued.
    pub fn serial_hex(&self) -> Option<&str> {
        self.serial.as_ref().map(|s| s.canonical.as_str())
    }

    /// The name set used for identity: SANs, else the CN.
    pub fn names(&self) -> Vec<String> {
        self.name_set().into_iter().map(String::from).collect()
    }

    /// [`Record::names`] without copying them.
    pub fn name_set(&self) -> Vec<&str> {
        if self.sans.is_empty() {
            self.cn.as_deref().into_iter().collect()
        } else {
            let mut v: Vec<&str> = self.sans.iter().map(String::as_str).collect();
            v.sort_unstable();
            v.dedup();
            v
        }
    }

    /// Whether `name` is in the record's name set ([`Record::names`]), as written.
    pub fn has_name(&self, name: &str) -> bool {
        if self.sans.is_empty() {
            self.cn.as_deref() == Some(name)
        } else {
            self.sans.iter().any(|s| s == name)
        }
    }

    /// Whether the record covers `host` (exact, or by a one-label wildcard).
    pub fn covers(&self, host: &str) -> bool {
        // Called for every version of an identity per endpoint: no copies of the names.
        if self.sans.is_empty() {
            self.cn.as_deref().is_some_and(|n| name_covers(n, host))
        } else {
            self.sans.iter().any(|n| name_covers(n, host))
        }
    }

    /// What the records say about deploying this version to `host` on `port`, and the words
    /// they say it with: that endpoint's own status when the export gives one per endpoint,
    /// else the record's.
    pub fn deployment_at(&self, host: &str, port: u16) -> (Option<DeployStatus>, Option<&str>) {
        self.deployment_at_any(&[host], port)
    }

    /// [`Record::deployment_at`] for an endpoint known by more than one name: the name asked
    /// for (SNI) and the address connected to, as an export may list either.
    pub fn deployment_at_any(
        &self,
        hosts: &[&str],
        port: u16,
    ) -> (Option<DeployStatus>, Option<&str>) {
        let own = self
            .deploy_by_target
            .iter()
            .flatten()
            .find(|(t, _)| hosts.iter().any(|host| target_names(t, host, port)));
        match own {
            Some((_, raw)) => (DeployStatus::from_raw(raw), Some(raw)),
            None => (self.deploy_status, self.deploy_status_raw.as_deref()),
        }
    }

    /// The status as the export writes it, else the word it was read as (`pending`), for
    /// the reports to quote.
    pub fn status_shown(&self) -> String {
        if self.status_raw.is_empty() {
            format!("{:?}", self.status).to_ascii_lowercase()
        } else {
            self.status_raw.to_string()
        }
    }

    /// Whether the record's certificate has expired at `now` by its notAfter (a date-only
    /// notAfter counts to the end of its day: not yet expired on that day); `false` without
    /// one.
    pub fn expired_at(&self, now: i64) -> bool {
        self.not_after.is_some_and(|w| w.last_second() < now)
    }

    /// When this version came to be, as near as the record tells: the later of notBefore and
    /// the order date. CAs backdate notBefore (an hour, or to the day's start), so a renewal
    /// ordered this morning must not look a day old to the grace period.
    pub fn issued_at(&self) -> Option<i64> {
        match (self.not_before, self.order_date) {
            (Some(a), Some(b)) => Some(a.unix.max(b.unix)),
            (a, b) => a.or(b).map(|w| w.unix),
        }
    }

    /// The instant used to order versions: notBefore, else the order date.
    pub fn issued_key(&self) -> (i64, i64, i64) {
        let nb = self
            .not_before
            .or(self.order_date)
            .map(|w| w.unix)
            .unwrap_or(i64::MIN);
        let na = self.not_after.map(|w| w.unix).unwrap_or(i64::MIN);
        let od = self.order_date.map(|w| w.unix).unwrap_or(i64::MIN);
        (nb, na, od)
    }
}

/// Whether deployment target `t` names `host` on `port`: `t` read as a target line is
/// (`host:port`, `[IPv6]:port`, a URL, a bare name or address for any port), names and
/// addresses compared as such (`2001:DB8:0::1` is `2001:db8::1`).
pub fn target_names(t: &str, host: &str, port: u16) -> bool {
    use crate::engine::targets::{parse_line, Target, NO_PORT};
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let on = |p: u16| p == NO_PORT || p == port;
    match parse_line(t.trim(), NO_PORT) {
        Ok(Target::Name { name, port: p, .. }) => {
            on(p) && name.eq_ignore_ascii_case(host.trim_end_matches('.'))
        }
        Ok(Target::Addr { ip, port: p, .. }) => on(p) && host.parse() == Ok(ip),
        Ok(Target::Cidr { .. }) | Err(_) => false,
    }
}

/// Whether certificate name `pattern` covers `host` (`*.example.com` covers one label).
pub fn name_covers(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let pattern = pattern.trim_end_matches('.');
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            RecordStatus::from_raw("Certificate Generated"),
            RecordStatus::Issued
        );
        assert_eq!(
            RecordStatus::from_raw("Certificate Downloaded"),
            RecordStatus::Issued
        );
        assert_eq!(
            RecordStatus::from_raw("Certificate Revoked"),
            RecordStatus::Revoked
        );
        assert_eq!(
            RecordStatus::from_raw("Certificate Expired"),
            RecordStatus::Expired
        );
        assert_eq!(
            RecordStatus::from_raw("Pending for Approver"),
            RecordStatus::Pending
        );
        assert_eq!(
            RecordStatus::from_raw("Rejected due to Order Cancellation"),
            RecordStatus::Cancelled
        );
        assert_eq!(RecordStatus::from_raw("22"), RecordStatus::Revoked);
        assert_eq!(RecordStatus::from_raw(""), RecordStatus::Unknown);
        assert_eq!(
            RecordStatus::from_raw("SUPERSEDED"),
            RecordStatus::Superseded
        );
        // Other platforms' words.
        for (word, want) in [
            ("In Use", RecordStatus::Issued),
            ("Installed", RecordStatus::Issued),
            ("Awaiting Approval", RecordStatus::Pending),
            ("On Hold", RecordStatus::Pending),
            ("Applied", RecordStatus::Pending),
            ("Inactive", RecordStatus::Cancelled),
            ("Retired", RecordStatus::Cancelled),
        ] {
            assert_eq!(RecordStatus::known(word), Some(want), "{word}");
        }
        // A word nobody uses is pending, and told apart as unknown.
        assert_eq!(RecordStatus::known("Zombie"), None);
        assert_eq!(RecordStatus::from_raw("Zombie"), RecordStatus::Pending);
    }

    #[test]
    fn deployment_statuses() {
        let d = DeployStatus::from_raw;
        assert_eq!(d("Deployment Failed"), Some(DeployStatus::Failed));
        assert_eq!(d("FAILED"), Some(DeployStatus::Failed));
        assert_eq!(d("Error"), Some(DeployStatus::Failed));
        assert_eq!(d("Rolled Back"), Some(DeployStatus::RolledBack));
        assert_eq!(
            d("Configuration Pending"),
            Some(DeployStatus::ConfigPending)
        );
        assert_eq!(d("config_pending"), Some(DeployStatus::ConfigPending));
        assert_eq!(d("Deployment Pending"), Some(DeployStatus::Pending));
        assert_eq!(d("In Progress"), Some(DeployStatus::Pending));
        assert_eq!(d("Deployed"), Some(DeployStatus::Deployed));
        assert_eq!(d("Success"), Some(DeployStatus::Deployed));
        assert_eq!(
            d("Certificate was successfully delivered to the target endpoint"),
            Some(DeployStatus::Deployed)
        );
        assert_eq!(d("Not Deployed"), Some(DeployStatus::NotDeployed));
        assert_eq!(d("Not Started"), Some(DeployStatus::NotDeployed));
        assert_eq!(d("Deployment Cancelled"), Some(DeployStatus::NotDeployed));
        assert_eq!(d("In Queue"), Some(DeployStatus::Pending));
        assert_eq!(d("Awaiting Approval"), Some(DeployStatus::Pending));
        assert_eq!(d("Deployment Unsuccessful"), Some(DeployStatus::Failed));
        assert_eq!(d("Completed with errors"), Some(DeployStatus::Failed));
        assert_eq!(d(""), None);
        assert_eq!(d("Gamma"), None);
    }

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_covers("*.example.com", "www.example.com"));
        assert!(!name_covers("*.example.com", "a.b.example.com"));
        assert!(!name_covers("*.example.com", "example.com"));
        assert!(name_covers("Example.com.", "example.com"));
        assert!(name_covers("*.Example.COM", "WWW.example.com."));
        assert!(!name_covers("*.example.com", ".example.com"));
    }

    #[test]
    fn deployment_targets_name_endpoints_by_name_or_address() {
        assert!(target_names("www.example.com:443", "WWW.example.com", 443));
        assert!(!target_names(
            "www.example.com:8443",
            "www.example.com",
            443
        ));
        assert!(target_names("www.example.com", "www.example.com", 8443));
        assert!(!target_names(
            "www.example.com:https",
            "www.example.com",
            443
        ));
        assert!(target_names("192.0.2.7:443", "192.0.2.7", 443));
        // IPv6, bracketed with a port or bare without one, written either way.
        assert!(target_names("[2001:db8::1]:443", "2001:db8::1", 443));
        assert!(!target_names("[2001:db8::1]:443", "2001:db8::1", 8443));
        assert!(target_names("[2001:DB8:0::1]", "2001:db8::1", 8443));
        assert!(target_names("2001:db8::1", "2001:db8::1", 443));
        assert!(target_names("2001:db8:0:0::1", "[2001:db8::1]", 443));
        assert!(!target_names("2001:db8::1", "2001:db8::2", 443));
        assert!(!target_names("[2001:db8::1", "2001:db8::1", 443));
    }
}
