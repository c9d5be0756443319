//! The one place a verdict is decided: the status of every observed endpoint against the
//! records ([`judge_one`], which calls `judge`), with the knowledge it stands on in the
//! submodules: which records are versions of one certificate and which version an endpoint
//! should serve (`identities`), what a name's endpoints say together and where each
//! certificate is served (`rollout`: a partial rollout, and the one status decided only once
//! every endpoint is in, `served_on_other_port`), and the records report's rows (`records`).

mod identities;
mod records;
mod rollout;
#[cfg(test)]
mod tests;

pub use identities::{Grouping, Identities};
pub use records::{each_identity_row, identity_rows, IdentityRow};
pub use rollout::{Rollout, Serving};

use crate::inventory::record::{target_names, DeployStatus, Record, RecordStatus};
use crate::model::{
    CertInfo, ErrorClass, Finding, KeyFamily, Observation, OtherKey, Sampled, Samples, SecondLook,
};
use crate::timefmt::rfc3339_unix;
use rollout::*;
use serde::{Deserialize, Serialize};

/// Endpoint status, in precedence order (the first that holds is the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No certificate could be captured.
    Unreachable,
    /// No certificate on this port, one of several the sweep tried each name on (`--port
    /// 443,8443`), while another of them serves the name: nothing listens or speaks TLS here,
    /// which is what such a sweep is for finding out.
    ServedOnOtherPort,
    /// The endpoint serves an older member of an identity whose newest certificate differs.
    RenewedNotDeployed,
    /// Same, but the newer certificate is younger than the grace period.
    DeploymentPending,
    /// The presented certificate is revoked according to the records, or to the CA's OCSP
    /// response the server staples.
    Revoked,
    /// The presented certificate has expired.
    Expired,
    /// The presented certificate matches no record.
    Unmanaged,
    /// The certificate does not cover the name asked for.
    HostnameMismatch,
    /// Clients would not trust the chain.
    Untrusted,
    /// Expires within the renewal window and no newer certificate exists.
    ExpiringSoon,
    /// Serves the newest certificate of its identity.
    Current,
}

impl Status {
    /// Every status, in precedence order.
    pub const ALL: [Status; 11] = [
        Status::Unreachable,
        Status::ServedOnOtherPort,
        Status::RenewedNotDeployed,
        Status::DeploymentPending,
        Status::Revoked,
        Status::Expired,
        Status::Unmanaged,
        Status::HostnameMismatch,
        Status::Untrusted,
        Status::ExpiringSoon,
        Status::Current,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unreachable => "unreachable",
            Status::ServedOnOtherPort => "served_on_other_port",
            Status::RenewedNotDeployed => "renewed_not_deployed",
            Status::DeploymentPending => "deployment_pending",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
            Status::Unmanaged => "unmanaged",
            Status::HostnameMismatch => "hostname_mismatch",
            Status::Untrusted => "untrusted",
            Status::ExpiringSoon => "expiring_soon",
            Status::Current => "current",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The clock and windows a verdict is judged with.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Now, Unix seconds.
    pub now: i64,
    /// A renewal younger than this is `deployment_pending`.
    pub grace_secs: i64,
    /// How near its notAfter a certificate is `expiring_soon`.
    pub renewal_window: RenewalWindow,
}

/// How near its end a certificate with no renewal is `expiring_soon`: `--renewal-window` as
/// given, or by default 30 days or a third of the certificate's lifetime, whichever is
/// shorter. A third of the lifetime left is where ACME clients (Let's Encrypt's advice,
/// Caddy, ARI's windows) and cert-manager renew, so a short-lived certificate (an ACME
/// six-day one, the 47 days public CAs move to by 2029) is told when its renewal is late,
/// not for most of its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalWindow {
    /// The window, in seconds.
    pub secs: i64,
    /// Whether a third of a shorter lifetime takes its place (the default; a window given
    /// on the command line is the user's policy and holds as given).
    pub by_lifetime: bool,
}

impl RenewalWindow {
    /// The default: 30 days, or a third of a shorter lifetime.
    pub const DEFAULT: RenewalWindow = RenewalWindow {
        secs: 30 * 86_400,
        by_lifetime: true,
    };

    /// A window of `secs` for every certificate.
    pub fn fixed(secs: i64) -> Self {
        RenewalWindow {
            secs,
            by_lifetime: false,
        }
    }

    /// The window for a certificate valid from `not_before` (Unix seconds; `None` when a
    /// record does not say) until `not_after`.
    pub fn of(self, not_before: Option<i64>, not_after: i64) -> i64 {
        match not_before {
            Some(nb) if self.by_lifetime && not_after > nb => self.secs.min((not_after - nb) / 3),
            _ => self.secs,
        }
    }
}

/// A record as a report row names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordRef {
    /// Record id.
    pub record_id: String,
    /// Order number.
    pub order_id: Option<String>,
    /// Canonical serial.
    pub serial: Option<String>,
    /// notAfter, RFC 3339.
    pub not_after: Option<String>,
    /// Status as recorded.
    pub status: String,
    /// Provisioning bot.
    pub provisioning_bot: Option<String>,
    /// CA connector.
    pub ca_connector: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Deployment status as recorded.
    #[serde(default)]
    pub deploy_status: Option<String>,
}

impl RecordRef {
    fn of(r: &Record) -> Self {
        RecordRef {
            record_id: r.record_id.to_string(),
            order_id: r.order_id.as_deref().map(String::from),
            serial: r.serial.as_ref().map(|s| s.canonical.clone()),
            not_after: r.not_after.map(|w| rfc3339_unix(w.unix)),
            status: r.status_shown(),
            provisioning_bot: r.provisioning_bot.as_deref().map(String::from),
            ca_connector: r.ca_connector.as_deref().map(String::from),
            owner: r.owner.as_deref().map(String::from),
            deploy_status: r.deploy_status_raw.as_deref().map(String::from),
        }
    }
}

/// The verdict on one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    /// The observation judged (boxed: a sweep keeps one verdict per endpoint until its
    /// reports are written, and the vectors of them then hold pointers, not whole records).
    pub observation: Box<Observation>,
    /// The status.
    pub status: Status,
    /// Everything else true of the endpoint (statuses that also hold, trust findings,
    /// `partial_rollout`, `serial_ambiguous`, `names_managed_elsewhere`,
    /// `newer_than_records`).
    pub findings: Vec<String>,
    /// The record the presented certificate matched.
    pub matched: Option<RecordRef>,
    /// The certificate the endpoint should serve (newest of the identity).
    pub expected: Option<RecordRef>,
    /// Of this name's endpoints (same name asked for, the SNI else the host, and port), how
    /// many serve the expected one.
    pub name_endpoints_current: Option<String>,
    /// Why, in words.
    pub detail: String,
    /// What to do next (from the runbook).
    pub next_step: String,
}

/// Judges one observation. Also says whether it serves the certificate it should (it matched
/// the newest of its identity), which [`Rollout`] counts across a name's endpoints.
///
/// An endpoint that presented a certificate of each key type (see [`SecondLook`]) has both
/// judged; the verdict is the worse one's, about its certificate (the observation is turned
/// so that `cert` is that one), and names the other. So has an endpoint whose connections
/// got different certificates (`scan --samples`): the worst one's verdict speaks, and its
/// words say which share of the connections got which.
pub fn judge_one(o: Box<Observation>, ids: &Identities, p: &Policy) -> (Verdict, bool) {
    let twin = turned(&o);
    let nodes = sampled(&o);
    let samples = o.samples.clone();
    // Only with samples: every endpoint's verdict passes here.
    let first = samples
        .as_ref()
        .and(o.cert.as_ref())
        .map(|c| c.serial.clone());
    let (mut v, matched, expected) = judge(o, ids, p);
    let first_status = v.status;
    let mut serves_expected = expected.is_some() && matched == expected;
    if let Some(twin) = twin {
        serves_expected &= with_other_key(&mut v, twin, ids, p);
    }
    // Whether another node's certificate speaks for the endpoint rather than the first
    // connection's.
    let mut node_speaks = false;
    if let (false, Some(s)) = (nodes.is_empty(), samples.as_deref()) {
        let (serves, speaks) = across_nodes(&mut v, nodes, s, (first, first_status), ids, p);
        serves_expected &= serves;
        node_speaks = speaks;
    }
    // The first connection's chain has a fault the chains other connections got with its
    // certificate do not: the node it met has another chain file.
    let chain_fault = v.observation.findings.iter().any(|f| f.of_the_chain());
    if let Some(s) = samples
        .as_deref()
        .filter(|s| s.chains_fine > 0 && chain_fault && !node_speaks)
    {
        let at = connected_at(&v.observation);
        let serial = v
            .observation
            .cert
            .as_ref()
            .map_or("?", |c| c.serial.as_str());
        v.detail = format!(
            "{} Only {} of {} connections to {at} got serial {serial} with this chain; {} got it with a chain free of that fault, so the nodes behind it differ.",
            v.detail,
            s.same.saturating_sub(s.chains_fine),
            s.connections,
            s.chains_fine
        );
        v.next_step = format!(
            "{} The nodes behind {at} differ: reach each one directly (not through the load balancer) to find the ones sending serial {serial} with a chain the others do not send, and give them the full chain file.",
            v.next_step
        );
    }
    // Connections that got no certificate: a node that fails its handshakes, or a
    // moment's loss; said, with the first one's error, without changing the status
    // (samples are not retried).
    if let Some(s) = samples.as_deref().filter(|s| s.failed > 0) {
        // An error message (the detail of an endpoint without a certificate) ends without
        // a full stop; the first failure is not quoted twice.
        let end = if v.detail.ends_with('.') { "" } else { "." };
        let first = s
            .error
            .as_ref()
            .filter(|e| v.observation.error.as_ref() != Some(*e))
            .map(|e| format!(" (first: {}: {})", e.class.as_str(), e.message))
            .unwrap_or_default();
        let how_many = if s.failed == s.connections {
            format!("All {} connections", s.connections)
        } else {
            format!("{} of {} connections", s.failed, s.connections)
        };
        v.detail = format!(
            "{}{end} {how_many} to {} got no certificate{first}.",
            v.detail,
            connected_at(&v.observation),
        );
    }
    (v, serves_expected)
}

/// Where an endpoint's connections went: its address and port, else its host.
fn connected_at(o: &Observation) -> String {
    match o.ip {
        Some(ip) => std::net::SocketAddr::new(ip, o.port).to_string(),
        None => o.host.clone(),
    }
}

/// Joins the verdict on the endpoint's other key type's certificate (`twin`, what a second
/// look got) to `v`: the more urgent speaks, the other's findings and words join. Returns
/// whether `twin` serves its expected certificate.
fn with_other_key(v: &mut Verdict, twin: Box<Observation>, ids: &Identities, p: &Policy) -> bool {
    let (mut v2, matched2, expected2) = judge(twin, ids, p);
    let serves_expected = expected2.is_some() && matched2 == expected2;
    if urgency(v2.status) < urgency(v.status) {
        std::mem::swap(v, &mut v2);
    }
    // `v` decides; `v2` is the other certificate's verdict.
    let family = |o: &Observation| {
        o.cert
            .as_ref()
            .and_then(CertInfo::key_family)
            .map_or("?", KeyFamily::as_str)
    };
    let (mine, theirs) = (family(&v.observation), family(&v2.observation));
    if !v.findings.iter().any(|f| f == "dual_certificates") {
        v.findings.push("dual_certificates".into());
        v.findings.sort();
    }
    let other_serial = v2
        .observation
        .cert
        .as_ref()
        .map_or("?", |c| c.serial.as_str());
    // The other certificate's findings hold for the endpoint too: its clients meet them,
    // and `--fail-on` reads them (a TLSA record pinning one key type's key only, a
    // stale staple or a chain out of order on one of them). Its statuses join as
    // statuses holding beside; its words are told only for what its status leaves out.
    let (theirs_statuses, theirs_own): (Vec<String>, Vec<String>) = v2
        .findings
        .iter()
        .filter(|f| !v.findings.contains(f))
        .cloned()
        .partition(|f| Status::parse(f).is_some());
    if v.status != v2.status || v2.status != Status::Current || !theirs_own.is_empty() {
        let why = match theirs_own.is_empty() {
            true => String::new(),
            false => format!(" {}", v2.detail),
        };
        v.detail = format!(
            "To {mine} clients: {} {theirs} clients get serial {other_serial}: {}.{why}",
            v.detail,
            v2.status.as_str()
        );
    }
    if !theirs_own.is_empty() && v2.next_step != "Nothing to do." {
        v.next_step = match v.next_step.as_str() {
            "Nothing to do." => format!("For {theirs} clients: {}", v2.next_step),
            mine_next => format!("{mine_next} For {theirs} clients: {}", v2.next_step),
        };
    }
    v.findings.extend(theirs_statuses);
    v.findings.extend(theirs_own);
    v.findings.sort();
    serves_expected
}

/// Judges the certificates other connections to the endpoint got (`--samples`): the worst
/// verdict speaks for the endpoint, every node's findings join, and the words say which
/// share of the connections got which. `first` is the first connection's serial and status.
/// Returns whether every node serves its expected certificate, and whether another node's
/// verdict now speaks.
fn across_nodes(
    v: &mut Verdict,
    nodes: Vec<Observation>,
    s: &Samples,
    first: (Option<String>, Status),
    ids: &Identities,
    p: &Policy,
) -> (bool, bool) {
    let (first, first_status) = first;
    let mut serves_expected = true;
    let mut node_speaks = false;
    // Every certificate the connections got is judged; the worst speaks for the
    // endpoint, and the words say which share of the connections got which.
    let mut seen = vec![(first, false, s.same, first_status)];
    let mut worst_chain_apart = false;
    // Every node's findings hold for the endpoint, whichever node's verdict speaks:
    // its clients meet them (a chain out of order on one node, a renewal pending on
    // another), and `--fail-on` reads them.
    let mut all_findings = v.findings.clone();
    for (n, x) in nodes.into_iter().zip(&s.others) {
        let (v3, matched3, expected3) = judge(Box::new(n), ids, p);
        serves_expected &= expected3.is_some() && matched3 == expected3;
        all_findings.extend(v3.findings.iter().cloned());
        seen.push((
            Some(x.cert.serial.clone()),
            x.chain_apart,
            x.seen,
            v3.status,
        ));
        if urgency(v3.status) < urgency(v.status) {
            *v = v3;
            worst_chain_apart = x.chain_apart;
            node_speaks = true;
        }
    }
    let words: Vec<String> = seen
        .iter()
        .map(|(serial, chain_apart, on, status)| {
            format!(
                "serial {}{} on {on} of {} ({})",
                serial.as_deref().unwrap_or("?"),
                if *chain_apart {
                    " with another chain"
                } else {
                    ""
                },
                s.connections,
                status.as_str()
            )
        })
        .collect();
    v.findings.extend(all_findings);
    v.findings.sort();
    v.findings.dedup();
    let at = connected_at(&v.observation);
    // A node apart by its chain alone (the same certificate, without its intermediate)
    // is said so: "different certificates" would send the user looking for a file.
    let got = match s.others.iter().all(|x| x.chain_apart) {
        true => "the same certificate with different chains",
        false if s.others.iter().any(|x| x.chain_apart) => "different certificates and chains",
        false => "different certificates",
    };
    v.detail = format!(
        "{} Connections to {at} got {got}, so the nodes behind it differ: {}.",
        v.detail,
        words.join(", ")
    );
    let serial = v
        .observation
        .cert
        .as_ref()
        .map_or("?", |c| c.serial.as_str());
    if worst_chain_apart {
        v.next_step = format!(
            "{} The nodes behind {at} differ: reach each one directly (not through the load balancer) to find the ones sending serial {serial} with a chain the others do not send, and give them the full chain file.",
            v.next_step
        );
    } else if v.status != Status::Current {
        v.next_step = format!(
            "{} The nodes behind {at} differ: reach each one directly (not through the load balancer) to find the ones serving serial {serial}.",
            v.next_step
        );
    }
    (serves_expected, node_speaks)
}

/// `o` seen from each other certificate more connections got (`scan --samples`): that
/// certificate in `cert`, with its own trust judgement. The first connection's chain,
/// parameters, staple and second look are not the other node's.
pub fn sampled(o: &Observation) -> Vec<Observation> {
    let Some(s) = o.samples.as_deref() else {
        return Vec::new();
    };
    s.others
        .iter()
        .map(|x| {
            let mut t = o.clone();
            t.cert = Some(x.cert.clone());
            t.findings = x.findings.clone();
            t.findings.push(Finding::BackendsDiffer);
            t.findings.sort();
            t.findings.dedup();
            t.trust_detail = x.trust_detail.clone();
            t.chain_expires = None;
            t.chain = Vec::new();
            t.pem = None;
            t.tls = None;
            t.ocsp = x.ocsp.clone();
            t.crl = x.crl.clone();
            t.ocsp_responder = x.ocsp_responder.clone();
            t.dane = x.dane.clone();
            t.other_key = None;
            t.error = None;
            // Its samples seen from it: its own share, the first connection's certificate
            // among the others.
            let mut others: Vec<Sampled> = o
                .cert
                .iter()
                .map(|c| Sampled {
                    cert: c.clone(),
                    seen: s.same,
                    findings: o.findings.clone(),
                    trust_detail: o.trust_detail.clone(),
                    ocsp: o.ocsp.clone(),
                    crl: o.crl.clone(),
                    ocsp_responder: o.ocsp_responder.clone(),
                    dane: o.dane.clone(),
                    chain_apart: false,
                })
                .collect();
            others.extend(
                s.others
                    .iter()
                    .filter(|y| y.cert.sha256 != x.cert.sha256)
                    .cloned(),
            );
            t.samples = Some(Box::new(Samples {
                same: x.seen,
                others,
                ..s.seen_from_another_certificate()
            }));
            t
        })
        .collect()
}

/// Which of an endpoint's two certificates' statuses speaks for it (lower first): the
/// precedence order, except that a renewal still within its grace period waits behind
/// anything the other certificate needs done now. Alone, `deployment_pending` never meets
/// an expired or revoked certificate (no grace for an outage); across two, it would have
/// told the endpoint to wait while one key type's clients were refused.
fn urgency(s: Status) -> usize {
    let place = |s: Status| 2 * Status::ALL.iter().position(|&x| x == s).unwrap_or(0);
    match s {
        // Between `untrusted` and `expiring_soon`.
        Status::DeploymentPending => place(Status::ExpiringSoon) - 1,
        _ => place(s),
    }
}

/// `o` seen from its other key type's certificate, when a second look got a different one:
/// that certificate in `cert`, the presented one in `other_key`.
fn turned(o: &Observation) -> Option<Box<Observation>> {
    let theirs = o.second_cert()?.clone();
    let other = o.other_key.as_deref()?;
    let offered = o.cert.as_ref()?.key_family()?;
    let mut t = Box::new(o.clone());
    t.other_key = Some(Box::new(OtherKey {
        offered,
        cert: t.cert.take(),
        findings: std::mem::take(&mut t.findings),
        trust_detail: t.trust_detail.take(),
        crl: t.crl.take(),
        ocsp_responder: t.ocsp_responder.take(),
        error: t.error.take(),
        previous: t.previous.take(),
        dane: t.dane.take(),
        ocsp: t.ocsp.take(),
    }));
    t.cert = Some(theirs);
    t.previous = other.previous.clone();
    t.dane = other.dane.clone();
    t.ocsp = other.ocsp.clone();
    t.samples = o
        .samples
        .as_deref()
        .map(|s| Box::new(s.seen_from_another_certificate()));
    t.findings = other.findings.clone();
    t.trust_detail = other.trust_detail.clone();
    t.crl = other.crl.clone();
    t.ocsp_responder = other.ocsp_responder.clone();
    t.error = other.error.clone();
    // The second look's chain and parameters are not kept.
    t.chain = Vec::new();
    t.pem = None;
    t.tls = None;
    Some(t)
}

/// The second look for a sweep against records: an endpoint serving a version that was
/// renewed is asked again offering only the other key type, since a server holding an RSA
/// and an ECDSA certificate for one name shows a client only one of them, and the renewal
/// may be the other. Without it such an endpoint was `renewed_not_deployed` every night.
/// An endpoint whose identity the records know to have versions of both key types (from
/// PEMs or a key type column) is asked too, so a stale one beside the newest is seen.
#[derive(Debug)]
pub struct RenewalLook {
    ids: std::sync::Arc<Identities>,
    now: i64,
    every: bool,
}

impl RenewalLook {
    /// Looks against `ids` at `now` (Unix seconds); at every endpoint when `every`
    /// (`--both-key-types`), else only where a renewed version is served.
    pub fn new(ids: std::sync::Arc<Identities>, now: i64, every: bool) -> Self {
        RenewalLook { ids, now, every }
    }
}

impl SecondLook for RenewalLook {
    fn wanted(&self, o: &Observation) -> Option<KeyFamily> {
        if self.every {
            return crate::model::EveryKeyType.wanted(o);
        }
        let c = o.cert.as_ref()?;
        let family = c.key_family()?;
        let host = o.asked_name();
        let (ri, _) = self.ids.match_cert(c, host)?;
        let other = family.other();
        // The records say the name has a certificate of the other key type: see that it is
        // served, and the right one.
        if self.ids.has_version_of(ri, other, host, self.now) {
            return Some(other);
        }
        let mismatch = o.findings.contains(&Finding::HostnameMismatch);
        // A renewal known to be of the served key type cannot be behind the other's offer.
        self.ids
            .renewal_of(ri, host, self.now, mismatch)
            .filter(|&ei| self.ids.records[ei].key_family != Some(family))
            .map(|_| other)
    }
}

/// What the second look got when it found no other certificate: evidence that the endpoint
/// holds none of the other key type.
fn second_look_text(other: &OtherKey) -> String {
    let got = match (&other.cert, &other.error) {
        (Some(c), _) => format!("serial {} (expires {})", c.serial, c.not_after),
        (None, Some(e)) => format!("no certificate ({})", e.message),
        (None, None) => "no certificate".into(),
    };
    format!(
        " A handshake offering only {} keys got {got}.",
        other.offered.as_str()
    )
}

/// What the second look says of `ei`, the version that renewed the served record `ri`.
enum Beside<'a> {
    /// It got `ei` itself: the endpoint serves both, each to its key type's clients.
    Renewal(&'a OtherKey),
    /// It got another certificate of `ei`'s key type (known from the records): that one is
    /// judged on its own, and `ri` against the versions of its own kind.
    SameKindAsRenewal,
}

/// Whether the second look (the other key type's handshake) got `ei`, the renewal of the
/// served record `ri`, or another certificate of `ei`'s key type; then also the version that
/// renewed `ri` itself, if there is one besides `ei` (see [`Identities::renewal_beside`]).
fn renewal_served_beside<'a>(
    o: &'a Observation,
    ids: &Identities,
    (ri, ei): (usize, usize),
    host: &str,
    now: i64,
) -> Option<(Beside<'a>, Option<usize>)> {
    let other = o.other_key.as_deref()?;
    let cert = other.cert.as_ref()?;
    let served = o.cert.as_ref().and_then(CertInfo::key_family);
    let own = || ids.renewal_beside(ri, served, ei, host, now);
    let serial = |j: usize| ids.records[j].serial_hex();
    match ids.match_cert(cert, host) {
        Some((oi, _)) if serial(oi) == serial(ei) => Some((Beside::Renewal(other), own())),
        _ if ids.records[ei].key_family == Some(other.offered) => {
            Some((Beside::SameKindAsRenewal, own()))
        }
        _ => None,
    }
}

/// The findings a verdict adds to the statuses that hold and the observation's trust
/// findings, each for something the next step names (`--fail-on` accepts them too).
pub const VERDICT_FINDINGS: [&str; 27] = [
    "client_auth_dropped",
    "dane_renewal_unpublished",
    "deployment_failed",
    "deployment_rolled_back",
    "deployment_stuck",
    "dual_certificates",
    "names_managed_elsewhere",
    "newer_than_records",
    "newest_ambiguous",
    "not_deployed_per_records",
    "partial_rollout",
    "records_expiry_differs",
    "records_say_deployed",
    "records_say_expired",
    "records_say_pending",
    "renewal_apple_incompatible",
    "renewal_cancelled",
    "renewal_drops_client_auth",
    "renewal_drops_name",
    "renewal_expired",
    "renewal_not_yet_valid",
    "renewal_pending",
    "renewal_revoked",
    "replacement_in_records",
    "serial_ambiguous",
    "successor_not_in_records",
    "unreachable",
];

/// The statuses an endpoint earns without any record: what a sweep without `--inventory`
/// can fail on (`--fail-on`). The same rules as [`judge_one`]'s for these statuses.
pub const RECORD_FREE: [Status; 6] = [
    Status::Unreachable,
    Status::Revoked,
    Status::Expired,
    Status::HostnameMismatch,
    Status::Untrusted,
    Status::ExpiringSoon,
];

/// Which of [`RECORD_FREE`] hold for `o` at `now`, with `window` as the renewal window: for
/// its certificate and, where a second look got another one, for that one too (as
/// [`judge_one`] judges both).
pub fn record_free_statuses(o: &Observation, now: i64, window: RenewalWindow) -> Vec<Status> {
    let Some(c) = &o.cert else {
        return vec![Status::Unreachable];
    };
    let mut out = Vec::new();
    let mut judge = |c: &crate::model::CertInfo, findings: &[Finding]| {
        let expired = now > c.not_after_unix;
        if expired {
            out.push(Status::Expired);
        }
        if findings.contains(&Finding::HostnameMismatch) {
            out.push(Status::HostnameMismatch);
        }
        if findings.iter().any(|f| f.is_ca_revocation()) {
            out.push(Status::Revoked);
        }
        if findings.iter().any(|f| f.makes_untrusted()) {
            out.push(Status::Untrusted);
        }
        if !expired
            && c.not_after_unix - now <= window.of(Some(c.not_before_unix), c.not_after_unix)
        {
            out.push(Status::ExpiringSoon);
        }
    };
    judge(c, &o.findings);
    if let (Some(second), Some(other)) = (o.second_cert(), o.other_key.as_deref()) {
        judge(second, &other.findings);
    }
    out.sort();
    out.dedup();
    out
}

/// An endpoint that presented no certificate, with the certificate its name should have.
fn unreachable(o: Box<Observation>, ids: &Identities, p: &Policy) -> Verdict {
    let (detail, next) = unreachable_text(&o);
    let expected_idx = ids.expected_for_host(o.asked_name(), p.now);
    Verdict {
        observation: o,
        status: Status::Unreachable,
        findings: vec!["unreachable".into()],
        matched: None,
        expected: expected_idx.map(|i| RecordRef::of(&ids.records[i])),
        name_endpoints_current: None,
        detail,
        next_step: next,
    }
}

/// Judges one observation; also returns the matched and expected record indexes. The
/// stages run in the statuses' precedence order ([`Judging`]): what the records say of the
/// served certificate, then revocation, expiry, the name, trust and the renewal window,
/// then what holds whatever the status (an outage's quickest fix, the records' own status,
/// the server's TLS, stapling, DANE, the chain, a rollback).
fn judge(
    o: Box<Observation>,
    ids: &Identities,
    p: &Policy,
) -> (Verdict, Option<usize>, Option<usize>) {
    let Some(c) = &o.cert else {
        return (unreachable(o, ids, p), None, None);
    };
    let mut j = Judging::new(&o, c, ids, p);
    match j.matched {
        Some((ri, ambiguous)) => j.managed(ri, ambiguous),
        None => j.unmanaged(),
    }
    let later = j.later();
    j.expired_unmanaged();
    j.revoked_by_ca();
    j.expired(&later);
    j.hostname_mismatch();
    j.untrusted();
    j.expiring_soon(&later);
    let status = j.status();
    if status == Status::Current {
        j.current(&later);
    }
    j.outage_fallback();
    j.records_say_pending();
    j.records_say_expired();
    j.attention(status);
    let Judging {
        statuses,
        findings,
        detail,
        next,
        matched,
        expected_idx,
        ..
    } = j;
    let mut all: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
    all.extend(o.findings.iter().map(|f| f.as_str().to_string()));
    all.extend(findings);
    all.sort();
    all.dedup();
    let matched_idx = matched.map(|(i, _)| i);
    let v = Verdict {
        status,
        findings: all,
        matched: matched_idx.map(|i| RecordRef::of(&ids.records[i])),
        expected: expected_idx.map(|i| RecordRef::of(&ids.records[i])),
        name_endpoints_current: None,
        detail,
        next_step: next,
        observation: o,
    };
    (v, matched_idx, expected_idx)
}

/// What [`judge`] knows of an endpoint that presented a certificate, as it goes: the
/// inputs, then the statuses that hold and the words for them. Each stage below adds to
/// them in turn; a stage's words win only where no earlier stage spoke (`next` empty),
/// which is how the precedence of statuses shows in the detail and the next step.
struct Judging<'a> {
    o: &'a Observation,
    c: &'a CertInfo,
    ids: &'a Identities,
    p: &'a Policy,
    /// The name asked for (the SNI, else the host).
    host: &'a str,
    /// `serial … (expires …)`, as the detail names what is served.
    presented: String,
    expired: bool,
    /// The record of the served certificate, and whether its serial was ambiguous.
    matched: Option<(usize, bool)>,
    statuses: Vec<Status>,
    /// Findings beyond the statuses and the observation's own.
    findings: Vec<String>,
    detail: String,
    next: String,
    expected_idx: Option<usize>,
    /// A version that ties with the served one on dates, no link ordering them.
    tie: Option<usize>,
    /// The renewal, served to clients of the other key type, and what the second look got.
    beside: Option<(usize, &'a OtherKey)>,
    /// The bound certificate's later version, told beside a name mismatch.
    later_version: Option<usize>,
    /// The served certificate is the newest of its key type; a later one of the other type
    /// exists and is judged as the endpoint's second certificate.
    newest_of_kind: bool,
    /// The identity's latest version, expired itself.
    lapsed: Option<usize>,
    /// A later version that cannot be deployed.
    unusable: Option<usize>,
    /// A renewal to deploy was named (the endpoint is `renewed_not_deployed` or pending).
    names_renewal: bool,
    /// That renewal, when named.
    renewal_named: Option<usize>,
}

/// What a later version that cannot be deployed adds: its finding, the detail's words and
/// the step.
type Later = Option<(&'static str, String, String)>;

impl<'a> Judging<'a> {
    fn new(o: &'a Observation, c: &'a CertInfo, ids: &'a Identities, p: &'a Policy) -> Self {
        let host = o.asked_name();
        Judging {
            o,
            c,
            ids,
            p,
            host,
            presented: format!("serial {} (expires {})", c.serial, c.not_after),
            expired: p.now > c.not_after_unix,
            matched: ids.match_cert(c, host),
            statuses: Vec::new(),
            findings: Vec::new(),
            detail: String::new(),
            next: String::new(),
            expected_idx: None,
            tie: None,
            beside: None,
            later_version: None,
            newest_of_kind: false,
            lapsed: None,
            unusable: None,
            names_renewal: false,
            renewal_named: None,
        }
    }

    /// The served certificate is record `ri`'s: is it the version to serve, and if not, why not.
    fn managed(&mut self, ri: usize, ambiguous: bool) {
        let Judging {
            o,
            ids,
            p,
            host,
            expired,
            ..
        } = *self;
        let r = &ids.records[ri];
        if ambiguous {
            self.findings.push("serial_ambiguous".into());
        }
        let exp = ids.newest(ids.identity_of[ri], Some(host), p.now);
        self.expected_idx = exp;
        if !r.covers(host) {
            // The wrong certificate is bound here: what should be served is the newest
            // certificate of the identity that manages this name, if any.
            if !ids.identities_for_host(host).is_empty() {
                self.expected_idx = ids.expected_for_host(host, p.now);
            }
        }
        let mismatch = o.findings.contains(&Finding::HostnameMismatch);
        let mut renewal = ids.renewal_of(ri, host, p.now, mismatch);
        // Told self.beside the name mismatch: the certificate bound here has a later version.
        self.later_version =
            exp.filter(|&ei| renewal.is_none() && ei != ri && ids.is_newer(ei, ri));
        if let Some(ei) = renewal {
            match renewal_served_beside(o, ids, (ri, ei), host, p.now) {
                // Both are served, each to its key type's clients: what is served is
                // the newest of its kind, and so expected below.
                Some((Beside::Renewal(other), None)) => {
                    self.beside = Some((ei, other));
                    renewal = None;
                }
                Some((Beside::SameKindAsRenewal, None)) => {
                    self.newest_of_kind = true;
                    renewal = None;
                }
                // A later version than the served one remains: that is what this key
                // type's clients should get.
                Some((_, Some(own))) => {
                    renewal = Some(own);
                    self.expected_idx = Some(own);
                }
                None => {}
            }
        }
        // A later version that has expired is nothing to deploy. When the served one has
        // expired too, the identity needs a new certificate, not the provisioning bot;
        // when it has not (a short-lived later version), what is served is what is valid.
        if let Some(ei) = renewal.filter(|&ei| ids.records[ei].expired_at(p.now)) {
            renewal = None;
            if expired {
                self.lapsed = Some(ei);
            }
        }
        if renewal.is_none() && self.lapsed.is_none() {
            self.unusable = ids.unusable_later(ri, host, p.now);
        }
        // Served expired while the identity holds a version valid today that outlasts it
        // (an older one with a longer life, after a short-lived reissue lapsed): that one
        // is to be served, as the next step says to deploy it, not the expired one.
        let live_instead =
            expired && exp.is_some_and(|e| e != ri && !ids.records[e].expired_at(p.now));
        if renewal.is_none()
            && self.lapsed.is_none()
            && exp.is_some()
            && !live_instead
            && r.covers(host)
            && !matches!(r.status, RecordStatus::Revoked | RecordStatus::Superseded)
        {
            // Nothing is provably later than what is served (dates and links self.tie, or the
            // served version is later than every eligible one): it is what should be
            // served, and the report says so rather than naming another record.
            self.expected_idx = Some(ri);
            self.tie = ids.tied_with(ri, host, p.now);
        }
        if r.status == RecordStatus::Revoked {
            self.expected_idx = Self::only_later(ids, self.expected_idx, ri);
        }
        if let Some(ei) = renewal {
            self.renewal_to_deploy(ri, ei);
        }
        let presented = self.presented.as_str();
        // Served for a name it does not cover, its lost successor is no more this name's
        // certificate than it is: the binding is what to fix (`hostname_mismatch`).
        if r.status == RecordStatus::Superseded
            && !mismatch
            && renewal.is_none()
            && self.lapsed.is_none()
            && self.unusable.is_none()
            && !ids.has_later(ri)
        {
            // The platform says it was replaced; the replacement is not in this export
            // (filtered by date, group or status). Saying "current" would hide exactly
            // the renewed-but-undeployed case this tool is for.
            self.statuses.push(Status::RenewedNotDeployed);
            self.findings.push("successor_not_in_records".into());
            self.detail = format!(
                "Serves {presented} of record {}, which the records mark as replaced ({}), but no later version of it is in the records.",
                r.record_id, r.status_raw
            );
            self.next = "Find its replacement in the CLM (the export may be filtered by date, group or status), deploy it and reload the service, then verify again; export the records again so that the next sweep names it.".into();
        }
        if r.status == RecordStatus::Revoked {
            self.statuses.push(Status::Revoked);
            // When and why, where the status says more than the word (a CA database's
            // `revoked 2026-05-01T08:30:00Z (keyCompromise)`).
            // CERTInext's bare status id (`22`) says nothing more.
            let raw = r.status_raw.trim();
            let more = raw.len() > "revoked".len() && raw.to_lowercase().contains("revoked");
            let said = match more {
                true => format!(" (\"{raw}\")"),
                false => String::new(),
            };
            if self.next.is_empty() {
                self.detail = format!(
                    "Serves {presented}, revoked according to record {}{said}.",
                    r.record_id
                );
                self.next = "Deploy a valid certificate for this name (reissue if there is none), reload the service, then verify again.".into();
            } else {
                self.detail.push_str(&format!(
                    " It is revoked according to record {}{said}: clients that check revocation refuse it already.",
                    r.record_id
                ));
            }
        }
    }

    /// Record `ei`, a later version of the served record `ri`, is to be deployed here:
    /// `deployment_pending` while it is young and may still be on its way, else
    /// `renewed_not_deployed`, with what the records say of its deployment.
    fn renewal_to_deploy(&mut self, ri: usize, ei: usize) {
        let Judging {
            o,
            ids,
            p,
            host,
            expired,
            ..
        } = *self;
        let presented = self.presented.as_str();
        let r = &ids.records[ri];
        self.names_renewal = true;
        self.renewal_named = Some(ei);
        let e = &ids.records[ei];
        let issued = e.issued_at().unwrap_or(i64::MIN);
        // No grace for an outage: once the served certificate has expired or been
        // revoked, clients fail now (those that check revocation, for the latter),
        // whatever provisioning may still be doing; none either once the records
        // say the deployment ended.
        let revoked_now = r.status == RecordStatus::Revoked || o.revoked_by_ca().is_some();
        // The endpoint's own deployment status when the export gives one per
        // endpoint, else the renewal's.
        // By the name asked for, or by the address, as the export lists it (an
        // inventory sweep asks an endpoint given by address for the record's name).
        let deployment = e.deployment_at_any(&[host, &o.host], o.port);
        // Nor when clients refuse the served certificate already (its chain, its
        // key, another name's): the endpoint is down for them as for an expired one.
        let refused_now = o
            .findings
            .iter()
            .any(|f| f.makes_untrusted() || *f == Finding::HostnameMismatch);
        let young = issued > p.now - p.grace_secs
            && !expired
            && !revoked_now
            && !refused_now
            && deployment_may_be_running(deployment.0);
        let exp_txt = format!(
            "serial {} (record {}, valid until {})",
            e.serial_hex().unwrap_or("?"),
            e.record_id,
            e.not_after
                .map(|w| rfc3339_unix(w.unix))
                .unwrap_or_else(|| "?".into())
        );
        let said = deployment
            .1
            .map(|raw| format!(" The records show its deployment as \"{raw}\"."))
            .unwrap_or_default();
        if young {
            self.statuses.push(Status::DeploymentPending);
            self.detail = format!(
                "Serves {presented} of record {}; its renewal {exp_txt} was issued less than the grace period ago.{said}",
                r.record_id
            );
            self.next = if deployment.0 == Some(DeployStatus::ConfigPending) {
                "The renewal's deployment waits for its configuration: complete its deployment profile and bot in the CLM, then verify again after the grace period.".into()
            } else {
                "Provisioning may still be running: verify again after the grace period; if the old certificate is still served then, check the renewal order's provisioning bot.".into()
            };
        } else {
            self.statuses.push(Status::RenewedNotDeployed);
            self.detail = format!(
                "Serves {presented} of record {}, but it was renewed as {exp_txt}.",
                r.record_id
            );
            let bot = e
                .provisioning_bot
                .as_deref()
                .map(|b| format!(" ({b})"))
                .unwrap_or_default();
            self.next = format!(
                "Check the renewal order's linked provisioning bot{bot}, confirm the deployment profile reloads or restarts the service, re-run provisioning, then verify the endpoint again."
            );
            self.detail.push_str(&said);
            if let Some((finding, step)) = deployment_said(e, deployment, p) {
                self.findings.push(finding.into());
                self.next = step;
            }
            if expired {
                self.next = format!("{OUTAGE_FIRST}{}", self.next);
            } else if revoked_now {
                self.next = format!("{REVOKED_FIRST}{}", self.next);
            } else if refused_now {
                self.next = format!("{REFUSED_FIRST}{}", self.next);
            }
        }
        // A second certificate is judged on its own (`judge_one`) and named there.
        if let (Some(other), None) = (o.other_key.as_deref(), o.second_cert()) {
            self.detail.push_str(&second_look_text(other));
        }
    }

    /// The served certificate is in no record: whose names it serves, and what to do with it.
    fn unmanaged(&mut self) {
        let Judging {
            o, c, ids, p, host, ..
        } = *self;
        let presented = self.presented.as_str();
        self.statuses.push(Status::Unmanaged);
        // Clients refuse it for what it is (another name's, self-signed, an unknown
        // CA, not valid yet, ...): however late it was issued, it is not the
        // certificate to keep, nor one to import. A missing intermediate alone is the
        // deployment's fault.
        let refused = o.findings.iter().any(|f| {
            *f == Finding::HostnameMismatch
                || (f.makes_untrusted() && *f != Finding::IncompleteChain)
        });
        let mut names: Vec<String> = c.sans.clone();
        names.extend(c.subject_cn.iter().map(|s| s.to_ascii_lowercase()));
        names.push(host.to_string());
        // The first identity managing any of its names: a name on thousands of
        // certificates (an autodiscover SAN) is not walked whole for each endpoint.
        let managing = names.iter().find_map(|n| ids.first_identity_for(n));
        if let Some(id) = managing {
            self.findings.push("names_managed_elsewhere".into());
            self.expected_idx = ids
                .expected_for_host(host, p.now)
                .or_else(|| ids.newest(id, Some(host), p.now));
            let e = self.expected_idx.map(|i| &ids.records[i]);
            if let Some(e) = e.filter(|e| !refused && issued_after(c, e)) {
                // The server is ahead of the records (an export from before a renewal, or
                // a certificate bought outside the CLM): replacing it with the managed
                // one would roll the endpoint back.
                self.findings.push("newer_than_records".into());
                // Nothing in the records should replace it: no expected certificate
                // (the older record is named in the self.detail).
                self.expected_idx = None;
                self.detail = format!(
                    "Serves {presented}, which is in no record and was issued {} (notBefore), after the newest version in the records: record {} (serial {}, issued {}).",
                    c.not_before,
                    e.record_id,
                    e.serial_hex().unwrap_or("?"),
                    e.not_before
                        .or(e.order_date)
                        .map(|w| rfc3339_unix(w.unix))
                        .unwrap_or_else(|| "?".into())
                );
                self.next = "Do not replace it with the older managed certificate: if the CLM issued it, the records predate the renewal (export them again); if not, import it into the CLM (discovery) and retire the older record; then verify again.".into();
                if o.findings.contains(&Finding::IncompleteChain) {
                    self.next = format!("Install its full chain (leaf plus intermediate) in the server's certificate file or keystore and reload: clients refuse it without. {}", self.next);
                }
            } else if let (true, Some(e)) = (refused, e) {
                self.detail = format!(
                    "Serves {presented}, which is in no record and which clients refuse; its names are managed by record {} (serial {}, valid until {}).",
                    e.record_id,
                    e.serial_hex().unwrap_or("?"),
                    e.not_after.map(|w| rfc3339_unix(w.unix)).unwrap_or_else(|| "?".into())
                );
                self.next = format!(
                    "Replace it with the managed certificate (record {}; re-run provisioning for it), reload the service, then verify again.",
                    e.record_id
                );
            } else {
                self.detail = format!(
                "Serves {presented}, which is in no record; its names are managed by record {}.",
                e.map(|e| &*e.record_id).unwrap_or("?")
            );
                self.next = "Replace it with the managed certificate (re-run provisioning for that record), or import it into the CLM if it is legitimate, then verify again.".into();
            }
        } else {
            self.detail = format!(
                "Serves {presented}, which is in no record, and no record manages its names."
            );
            self.next = if refused {
                format!("Clients refuse it: order a certificate for {host} from a CA they trust through the CLM (so that it has an owner and renews), deploy it and reload the service, then verify again.")
            } else {
                "Import the certificate into the CLM (discovery) and assign an owner, or replace it with a managed certificate.".into()
            };
        }
    }

    /// What a later version that cannot be deployed (or the identity's expired latest one) adds.
    fn later(&mut self) -> Later {
        let later = self.later_text();
        if let Some((finding, _, _)) = &later {
            self.findings.push((*finding).into());
        }
        later
    }

    /// [`Judging::later`]'s words, told as of the certificate's expiry when it has expired.
    fn later_text(&self) -> Later {
        let Judging {
            c,
            ids,
            p,
            host,
            expired,
            ..
        } = *self;
        if let Some(e) = self.lapsed.map(|i| &ids.records[i]) {
            return Some((
                    "renewal_expired",
                    format!(
                        " Its latest version in the records, serial {} (record {}), expired too, on {}.",
                        e.serial_hex().unwrap_or("?"),
                        e.record_id,
                        e.not_after.map(|w| rfc3339_unix(w.unix)).unwrap_or_else(|| "?".into())
                    ),
                    "Renew the certificate now (its latest version expired undeployed: check why the renewal was not deployed and why auto-renewal did not run again), deploy it and reload the service, then verify again.".into(),
                ));
        }
        let e = &ids.records[self.unusable?];
        Some(blocked_renewal(e, host, c.not_after_unix, expired, p.now))
    }

    /// Served expired and in no record: replace it, with the managed certificate if there is one.
    fn expired_unmanaged(&mut self) {
        let Judging {
            c,
            ids,
            p,
            host,
            expired,
            matched,
            ..
        } = *self;
        if expired && matched.is_none() {
            // Importing or keeping an expired certificate helps no one.
            self.next = match self.expected_idx {
                Some(ei) => format!(
                    "Replace it now: it expired {} ago. Deploy the managed certificate (record {}; re-run provisioning for it), reload the service, then verify again.",
                    crate::timefmt::span(p.now - c.not_after_unix),
                    ids.records[ei].record_id
                ),
                None => format!(
                    "Replace it now: it expired {} ago. Order a certificate for {host}, import it into the CLM (discovery) with an owner, deploy it, then verify again.",
                    crate::timefmt::span(p.now - c.not_after_unix)
                ),
            };
        }
    }

    /// The CA itself says revoked, in the OCSP response the server staples or in its revocation list.
    fn revoked_by_ca(&mut self) {
        let Judging {
            o,
            ids,
            host,
            matched,
            ..
        } = *self;
        let presented = self.presented.as_str();
        // The CA itself says revoked, in the OCSP response the server staples or in its
        // revocation list (their signatures checked): whatever the records say, clients that
        // check revocation refuse it.
        if let Some(rev) = o
            .revoked_by_ca()
            .filter(|_| !self.statuses.contains(&Status::Revoked))
        {
            self.statuses.push(Status::Revoked);
            if let Some((ri, _)) = matched {
                self.expected_idx = Self::only_later(ids, self.expected_idx, ri);
            }
            let when = rev.at.unwrap_or("?");
            let why = rev.reason.map(|r| format!(" ({r})")).unwrap_or_default();
            let said = format!("{} says it was revoked on {when}{why}.", rev.source);
            if self.next.is_empty() {
                self.detail = format!("Serves {presented}. {said}");
                self.next = "Deploy a valid certificate for this name (reissue it; after a keyCompromise revocation, with a new key), reload the service, then verify again; record the revocation in the CLM.".into();
            } else {
                self.detail.push_str(&format!(" {said}"));
                if matched.is_none() {
                    // In no record: importing it or keeping it (as for a certificate ahead of
                    // the records) is no longer the question.
                    self.next = match self.expected_idx.map(|i| &ids.records[i]) {
                        Some(e) => format!(
                            "Replace it now, the CA revoked it: deploy the managed certificate (record {}; re-run provisioning for it), reload the service, then verify again.",
                            e.record_id
                        ),
                        None => format!(
                            "Replace it now, the CA revoked it: order a certificate for {host} (after a keyCompromise revocation, with a new key), import it into the CLM (discovery) with an owner, deploy it, then verify again."
                        ),
                    };
                }
            }
        }
    }

    /// Served past its notAfter.
    fn expired(&mut self, later: &Later) {
        let Judging { c, p, expired, .. } = *self;
        let presented = self.presented.as_str();
        if expired {
            self.statuses.push(Status::Expired);
            if self.next.is_empty() {
                self.detail = format!(
                    "Serves {presented}: expired {} ago.",
                    crate::timefmt::span(p.now - c.not_after_unix)
                );
                self.next = "Renew the certificate now (check why auto-renewal did not run: renewal window, DCV, approvals), deploy it and reload the service, then verify again.".into();
                if let Some((_, more, step)) = &later {
                    self.detail.push_str(more);
                    self.next = step.clone();
                }
            }
        }
    }

    /// The certificate does not cover the name asked for.
    fn hostname_mismatch(&mut self) {
        let Judging {
            o,
            c,
            ids,
            host,
            matched,
            ..
        } = *self;
        let presented = self.presented.as_str();
        if o.findings.contains(&Finding::HostnameMismatch) {
            self.statuses.push(Status::HostnameMismatch);
            // A certificate naming the host only in its subject CN (no subjectAltName), as old
            // private-CA templates issue them: the name is right, clients ignore where it is.
            let cn_only = crate::cert::named_only_in_cn(c, host);
            if self.next.is_empty() && cn_only {
                self.detail = format!(
                    "Serves {presented}, which names {host} only in its subject CN and has no subjectAltName: clients match names against the subjectAltName alone (Chrome since 2017), so none accepts it."
                );
                self.next = format!(
                    "Reissue it with {host} as a subjectAltName (a private CA's certificate template must put the SAN in, e.g. from the request in AD CS), deploy it and reload the service, then verify again."
                );
            }
            if self.next.is_empty() {
                // A certificate without subjectAltName names nothing clients match: say what its
                // CN holds rather than an empty list.
                let names = match (c.sans.is_empty(), c.subject_cn.as_deref()) {
                    (false, _) => format!("names: {}", c.sans.join(", ")),
                    (true, Some(cn)) => format!("no subjectAltName; subject CN {cn}"),
                    (true, None) => "no names at all".into(),
                };
                self.detail = format!("Serves {presented}, which does not cover {host} ({names}).");
                if let Some(e) = self.later_version.map(|i| &ids.records[i]) {
                    self.detail.push_str(&format!(
                        " Its own identity has a later version: serial {} (record {}).",
                        e.serial_hex().unwrap_or("?"),
                        e.record_id
                    ));
                }
                self.next = match self.expected_idx
                    .map(|i| &ids.records[i])
                    .filter(|e| e.covers(host) && !matched.is_some_and(|(m, _)| ids.records[m].serial == e.serial))
                {
                    // The records hold the certificate this name should have: say which.
                    Some(e) => format!(
                        "Bind the certificate of record {} (serial {}), which covers {host}, to this name (SNI / virtual host / keystore alias), reload, then verify again.",
                        e.record_id,
                        e.serial_hex().unwrap_or("?")
                    ),
                    None => format!("Check the SNI / virtual-host binding for {host}, or reissue the certificate with {host} as a SAN."),
                };
            }
        }
    }

    /// Clients refuse the chain, the key, the signature, or the dates.
    fn untrusted(&mut self) {
        let Judging { o, c, .. } = *self;
        let presented = self.presented.as_str();
        // A certificate valid only from a later date is refused like an untrusted one (a
        // renewal deployed too early, a postdated reissue): not "current".
        let early = o.findings.contains(&Finding::NotYetValid);
        if o.findings.iter().any(|f| f.makes_untrusted()) {
            self.statuses.push(Status::Untrusted);
            if self.next.is_empty() {
                let why = o
                    .trust_detail
                    .clone()
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| format!("it is valid only from {}", c.not_before));
                self.detail = format!("Serves {presented}; clients will not trust it: {why}.");
                // The step for the most specific fault: each has another fix.
                let has = |f: Finding| o.findings.contains(&f);
                self.next = if has(Finding::IncompleteChain) {
                    "Install the full chain (leaf plus the intermediate that issued it, see the detail) in the server's certificate file or keystore, reload, then verify again.".into()
                } else if early {
                    format!(
                        "It is valid only from {}: if it was deployed early, put the previous certificate back until then (or reissue one valid now); if that date is right, check the server's and clients' clocks. Then verify again.",
                        c.not_before
                    )
                } else if has(Finding::CaDistrusted) {
                    "Order its replacement from a CA that Chrome trusts (this CA's certificates logged since the day in the detail are refused, whatever the chain or the server), deploy it and reload the service, then verify again.".into()
                } else if has(Finding::ValidityTooLong) {
                    "Order its replacement, valid for 398 days or fewer (public CAs issue 200 at most since 2026-03-15), deploy it and reload the service, then verify again; report the misissued certificate to its CA, which must revoke it.".into()
                } else if has(Finding::KeyUsageIncompatible) {
                    "Reissue it with the key usage digitalSignature (and keyEncipherment for an RSA key, which legacy RSA key exchange needs): the CA's template sets it (an AD CS certificate template's Key Usage, an openssl config's keyUsage), deploy it and reload the service, then verify again.".into()
                } else if (has(Finding::WeakKey) || has(Finding::ChainInvalid))
                    && !crate::trust::weak_key(c)
                    && o.trust_detail
                        .as_deref()
                        .is_some_and(crate::trust::ca_key_refused)
                {
                    // The key refused is a CA's, whose every certificate clients refuse, so
                    // reissuing this one alone, or installing its chain again, fixes nothing.
                    "Renew the CA named in the detail with a key clients accept (RSA of 2048 bits or more, or ECDSA P-256), reissue the certificates under it (this one too), deploy this one with the new CA certificate in its chain (a new root also goes to the clients and to certsweep's --ca-file), reload, then verify again.".into()
                } else if has(Finding::WeakKey) {
                    "Reissue it with a key clients accept (RSA of 2048 bits or more, or ECDSA P-256), deploy it and reload the service, then verify again.".into()
                } else if has(Finding::WeakSignature) {
                    "Reissue it from a CA that signs with SHA-256 (a private CA still set to SHA-1, such as an old AD CS, needs its hash algorithm changed, and a CA certificate signed with SHA-1 renewed), deploy it and reload the service, then verify again.".into()
                } else if has(Finding::CtMissing) {
                    "Reissue it with Certificate Transparency logging on (the CA then embeds the timestamps browsers require; an order that opted out of CT gets none), deploy it and reload the service, then verify again.".into()
                } else if has(Finding::ChainInvalid)
                    && o.trust_detail
                        .as_deref()
                        .is_some_and(crate::trust::ca_usage_refused)
                {
                    "Reissue the CA certificate named in the detail with keyCertSign in its Key Usage (with the same key, so the certificates it signed stay valid), install it in the server's chain (and wherever clients keep it), reload, then verify again.".into()
                } else if has(Finding::ChainInvalid)
                    && o.trust_detail
                        .as_deref()
                        .is_some_and(crate::trust::root_has_expired)
                {
                    "Renew the private root named in the detail (a new root certificate, or the same key with new dates) and distribute it to the clients and to certsweep (--ca-file); a new key needs the intermediates reissued under it. Then verify again.".into()
                } else if has(Finding::ChainInvalid) {
                    "Install the chain the CA issued with this certificate (the one served does not validate: see the detail), reload, then verify again.".into()
                } else if has(Finding::UnknownIssuer)
                    && o.trust_detail
                        .as_deref()
                        .is_some_and(crate::trust::ends_below_a_root)
                {
                    // The chain stops at a CA certificate whose issuer nobody sent: a private
                    // root, or a CA between it and the root left out of the chain file.
                    "If the issuer named in the detail is an intermediate CA (a policy CA of a three-level hierarchy), install it in the server's chain and reload; if it is your private CA's root, give it to certsweep with --ca-file and make sure clients trust it. Then verify again.".into()
                } else if has(Finding::SelfSigned)
                    && o.trust_detail
                        .as_deref()
                        .is_some_and(crate::trust::self_signed_anew)
                {
                    "The clients (and certsweep's --ca-file) trust this server's earlier self-signed certificate, not the one it made itself since: give them the new one (or put the old certificate and key back); better, replace it with one from your CA so that the next one needs no redistribution. Then verify again.".into()
                } else {
                    "Use a certificate from a CA the clients trust (or distribute the private root), then verify again.".into()
                };
            }
        }
    }

    /// Within the renewal window with no renewal to deploy.
    fn expiring_soon(&mut self, later: &Later) {
        let Judging {
            c,
            ids,
            p,
            host,
            expired,
            matched,
            ..
        } = *self;
        let presented = self.presented.as_str();
        let renewed = self
            .statuses
            .iter()
            .any(|s| matches!(s, Status::RenewedNotDeployed | Status::DeploymentPending));
        let left = c.not_after_unix - p.now;
        let window = p
            .renewal_window
            .of(Some(c.not_before_unix), c.not_after_unix);
        if !expired && !renewed && left <= window {
            self.statuses.push(Status::ExpiringSoon);
            // Another identity's later certificate for the name: deploying it is the fix
            // at hand, whether it was meant to replace this one (a SAN certificate split per
            // name, dedicated certificates folded into a wildcard) or not.
            let replacement = matched
                .filter(|_| self.next.is_empty())
                .and_then(|(ri, _)| ids.replacement_for(ri, host, p.now));
            if let Some(k) = replacement {
                let k = &ids.records[k];
                self.findings.push("replacement_in_records".into());
                let serial = k.serial_hex().unwrap_or("?");
                let more = later.as_ref().map_or("", |(_, more, _)| more.as_str());
                self.detail = format!(
                    "Serves {presented}: expires in {}.{more} Record {} (serial {serial}, valid until {}) covers {host}, was issued after it and is valid today.",
                    crate::timefmt::span(left),
                    k.record_id,
                    k.not_after.map(|w| rfc3339_unix(w.unix)).unwrap_or_else(|| "?".into()),
                );
                self.next = format!(
                    "Deploy the certificate of record {} (serial {serial}) here before this one expires ({}) and reload the service, or renew this one if it is meant to stay; then verify again.",
                    k.record_id, c.not_after
                );
            }
            if self.next.is_empty() {
                let none = if self.beside.is_some() {
                    "no later version of its key type"
                } else {
                    "no renewal"
                };
                match &later {
                    Some((_, more, step)) => {
                        self.detail = format!(
                            "Serves {presented}: expires in {}.{more}",
                            crate::timefmt::span(left)
                        );
                        self.next = step.clone();
                    }
                    None => {
                        self.detail = format!(
                            "Serves {presented}: expires in {} and {none} exists in the records.",
                            crate::timefmt::span(left)
                        );
                        self.next = RENEWAL_DID_NOT_TRIGGER.into();
                    }
                }
            }
        }
    }

    /// The status: the first that holds in precedence order, else `current`.
    fn status(&mut self) -> Status {
        self.statuses.sort();
        self.statuses.dedup();
        let status = self.statuses.first().copied().unwrap_or(Status::Current);
        status
    }

    /// Nothing holds against it: say so, and what ties or blocks the identity's future.
    fn current(&mut self, later: &Later) {
        let Judging { c, ids, .. } = *self;
        let presented = self.presented.as_str();
        let kind = c.key_family().map_or("?", KeyFamily::as_str);
        self.detail = match self.beside {
            None if self.newest_of_kind => format!(
                "Serves the newest {kind} certificate of its identity (a later one has the other key type): {presented}."
            ),
            None => format!("Serves the newest certificate of its identity: {presented}."),
            Some((ei, other)) => format!(
                "Serves the newest certificates of its identity, one per key type: {presented} to {kind} clients and its renewal serial {} (record {}) to {} clients.",
                other.cert.as_ref().map_or("?", |oc| oc.serial.as_str()),
                ids.records[ei].record_id,
                other.offered.as_str()
            ),
        };
        self.next = "Nothing to do.".into();
        if let Some(t) = self.tie {
            // Judged current because nothing says otherwise, not because it was shown.
            let t = &ids.records[t];
            self.findings.push("newest_ambiguous".into());
            self.detail = format!(
                "Serves {presented}, as new as any version of its identity in the records: record {} (serial {}) ties with it on dates and no renewal link orders them.",
                t.record_id,
                t.serial_hex().unwrap_or("?")
            );
            self.next = "Confirm in the CLM which of the two is the newest (or export issue dates or renewal links), then verify again.".into();
        }
        if let Some((_, more, step)) = &later {
            // Valid today, but what should replace it cannot be deployed as it stands.
            self.detail.push_str(more);
            self.next = format!(
                "Nothing to do yet. Before this certificate expires ({}): {step}",
                c.not_after
            );
        }
    }

    /// Served expired or revoked with no renewal to deploy, while the records hold another
    /// certificate for the name valid today: deploying it ends the outage now.
    fn outage_fallback(&mut self) {
        let Judging {
            c,
            ids,
            p,
            host,
            expired,
            matched,
            ..
        } = *self;
        // Served expired or revoked with no renewal to deploy, while the records hold another
        // certificate for the name valid today (an older version, another identity's): deploying
        // it ends the outage now, whatever the identity needs besides.
        // Not an older one in place of a revoked certificate, though: a renewal often keeps its
        // key, and a revocation for key compromise covers the earlier versions too.
        // Looked up only then: every verdict passes here, few need it.
        let revoked = self.statuses.contains(&Status::Revoked);
        if (expired || revoked) && !self.names_renewal {
            let fallback = ids.valid_for_host(host, &c.serial, p.now, |k| match matched {
                // Another certificate than the records' versions of it: any managed one.
                None => true,
                Some((ri, _)) => (!revoked || ids.is_newer(k, ri)) && ids.interchangeable(k, ri),
            });
            if let Some(k) = fallback {
                // What the step says to deploy now is what should be served, when the
                // records gave nothing valid to expect (the identity's versions all expired,
                // or none later than a revoked one): the column and the step agree, and the
                // endpoint does not count as serving what it should.
                if self
                    .expected_idx
                    .is_none_or(|e| ids.records[e].expired_at(p.now))
                {
                    self.expected_idx = Some(k);
                }
                let k = &ids.records[k];
                if !self.next.contains(&format!("record {}", k.record_id)) {
                    let until = k
                        .not_after
                        .map(|w| rfc3339_unix(w.unix))
                        .unwrap_or_else(|| "?".into());
                    let serial = k.serial_hex().unwrap_or("?");
                    self.detail.push_str(&format!(
                        " Record {} (serial {serial}, valid until {until}) covers {host} and is valid today.",
                        k.record_id
                    ));
                    self.next = format!(
                        "Deploy the certificate of record {} (serial {serial}) now and reload the service: it is valid until {until}. Then: {}",
                        k.record_id, self.next
                    );
                }
            }
        }
    }

    /// What may be expected in place of the served certificate, record `ri`'s, now
    /// revoked: `expected` unless it is that record or an earlier version of its identity,
    /// as a renewal often keeps its key and a revocation for key compromise covers the
    /// versions before it too (the outage fallback names none of them either). With none
    /// later, nothing is expected: a new certificate is.
    fn only_later(ids: &Identities, expected: Option<usize>, ri: usize) -> Option<usize> {
        expected.filter(|&e| {
            ids.identity_of[e] != ids.identity_of[ri] || e != ri && ids.is_newer(e, ri)
        })
    }

    /// Served, so issued, while the records still call it pending.
    /// Served and valid while its record's status calls it expired, the record's date
    /// agreeing with the certificate's (else `records_expiry_differs` says why): a CLM that
    /// takes it for expired stops reporting and renewing it.
    fn records_say_expired(&mut self) {
        let Judging {
            ids, matched, c, p, ..
        } = *self;
        let Some(r) = matched
            .filter(|&(_, ambiguous)| !ambiguous)
            .map(|(ri, _)| &ids.records[ri])
            .filter(|r| r.status == RecordStatus::Expired && p.now < c.not_after_unix)
        else {
            return;
        };
        if records_expiry_differs(c, r).is_some() {
            return;
        }
        self.findings.push("records_say_expired".into());
        self.detail.push_str(&format!(
            " The records show it (record {}) as \"{}\", though it is valid until {}.",
            r.record_id,
            r.status_shown(),
            c.not_after
        ));
        self.step_beside(
            "Nothing to do for the endpoint",
            "correct the certificate's status in the CLM (synchronize or import it again): a platform that takes it for expired stops renewing it",
        );
    }

    /// `step`, for something beside the endpoint's own verdict: after `lead` when there is
    /// nothing else to do, else after the next step.
    fn step_beside(&mut self, lead: &str, step: &str) {
        if self.next == "Nothing to do." {
            self.next = format!("{lead}; {step}.");
        } else {
            self.next.push_str(&format!(" Also {step}."));
        }
    }

    fn records_say_pending(&mut self) {
        let Judging { ids, matched, .. } = *self;
        // Served, so issued, while the records still call it pending (a CLM that lags, an
        // order completed by hand): the platform may take it for an order still to come.
        if let Some(r) = matched
            .map(|(ri, _)| &ids.records[ri])
            .filter(|r| r.status == RecordStatus::Pending)
        {
            self.findings.push("records_say_pending".into());
            let raw = r.status_shown();
            self.detail.push_str(&format!(
                " The records show it (record {}) as \"{raw}\", not issued.",
                r.record_id
            ));
            if self.next == "Nothing to do." {
                self.next = "Nothing to do for the endpoint; correct the certificate's status in the CLM (it was issued and is served), or the platform may order it again.".into();
            }
        }
    }

    /// What needs attention even when the certificate is right: the server's TLS, its OCSP
    /// stapling, DANE, the chain, and a deployment that went back since the previous sweep.
    fn attention(&mut self, status: Status) {
        let Judging { o, c, ids, .. } = *self;
        // The records' expiry of the very certificate served, when it is not the
        // certificate's own: a CLM that schedules renewals by its record (a manual
        // inventory, an order's subscription end copied as the certificate's) renews it too
        // late, or reports it expired while it serves.
        let differs = self
            .matched
            .filter(|&(_, ambiguous)| !ambiguous)
            .and_then(|(ri, _)| records_expiry_differs(c, &ids.records[ri]));
        if let Some((what, step)) = differs {
            self.findings.push("records_expiry_differs".into());
            self.detail.push_str(&what);
            if self.next == "Nothing to do." {
                self.next =
                    format!("Nothing to do for the certificate; {step}, then verify again.");
            } else if self.next == RENEWAL_DID_NOT_TRIGGER {
                self.next = format!("Renew it now and deploy the renewal ({step}): the CLM's renewal follows its record's date, not the certificate's.");
            } else {
                self.next.push_str(&format!(" Also {step}."));
            }
        }
        // A certificate read from an unfinished handshake: the server's TLS needs attention
        // even when the certificate is right.
        let unfinished = if o.findings.contains(&Finding::LegacyTls) {
            Some((
                "The server speaks only legacy TLS ({tls}), which current clients refuse",
                "upgrade the server's TLS configuration (TLS 1.2 with ECDHE and AES-GCM, or TLS 1.3)",
            ))
        } else if o.findings.contains(&Finding::UncommonTls) {
            Some((
                "The server refused a handshake like current clients make and accepted only a broader one ({tls}): it needs a key exchange group, signature algorithm or TLS 1.3 cipher suite they do not offer (such as only AES-CCM in TLS 1.3)",
                "check the server's TLS groups and certificate key type against its clients (P-256 or X25519 groups, a P-256, P-384 or RSA key)",
            ))
        } else if o.findings.contains(&Finding::OversizedChain) {
            Some((
                "The server sends a certificate chain over 64 KiB, which rustls, Go and Java clients refuse (a CA bundle configured as its chain)",
                "configure only the certificate and its intermediates as the server's chain, not a CA bundle",
            ))
        } else {
            None
        };
        if let Some((what, fix)) = unfinished {
            let tls = o
                .tls
                .as_ref()
                .map(|t| format!("{}, {}", t.version, t.cipher_suite))
                .unwrap_or_else(|| "?".into());
            self.detail.push_str(&format!(
                " {}; the certificate was read from an unfinished handshake.",
                what.replace("{tls}", &tls)
            ));
            if status == Status::Current {
                self.next = format!("Nothing to do for the certificate; {fix}, then verify again.");
            }
        }
        // The server's OCSP stapling needs attention even when the certificate is right.
        if let Some((what, fix)) = stapling_fault(o) {
            self.detail.push_str(&format!(" {what}."));
            if self.next == "Nothing to do." {
                self.next = format!("Nothing to do for the certificate; {fix}, then verify again.");
            }
        }
        // A renewal to deploy whose key the TLSA records do not pin yet: publishing it first
        // is the DANE key rollover (RFC 7671, section 8.1); deployed first, it is refused.
        if let Some(step) = self
            .renewal_named
            .and_then(|ei| dane_unpublished(o, &ids.records[ei]))
        {
            self.findings.push("dane_renewal_unpublished".into());
            self.next.push_str(&step);
        }
        // A renewal to deploy that cannot do what the served certificate does for a server
        // that is also a TLS client (mutual TLS, SIP trunks, XMPP between servers): public
        // CAs' server certificates stopped carrying clientAuth.
        if let Some((what, step)) = self
            .renewal_named
            .and_then(|ei| client_auth_dropped(o, &ids.records[ei]))
        {
            self.findings.push("renewal_drops_client_auth".into());
            self.detail.push_str(&what);
            self.next.push_str(&step);
        }
        // A renewal to deploy that Apple's platforms would refuse where the served
        // certificate passes: a CA template changed to a longer life, or without EKU.
        if let Some((what, step)) = self
            .renewal_named
            .filter(|_| !o.findings.contains(&Finding::AppleIncompatible))
            .and_then(|ei| renewal_apple_refusal(&ids.records[ei]))
        {
            self.findings.push("renewal_apple_incompatible".into());
            self.detail.push_str(&what);
            self.next.push_str(&step);
        }
        // Deployed already: the version it renewed (its PEM in the records) could.
        let dropped = match (self.renewal_named, self.matched) {
            (None, Some((ri, false))) => client_auth_lost(c, ids, ri),
            _ => None,
        };
        // Or the certificate served at the previous sweep could (`--previous`).
        let before = match dropped {
            Some(k) => {
                let k = &ids.records[k];
                Some(format!(
                    "the version it renewed (record {}, serial {})",
                    k.record_id,
                    k.serial_hex().unwrap_or("?")
                ))
            }
            None => o
                .previous
                .as_deref()
                .filter(|_| o.findings.contains(&Finding::ClientAuthDropped))
                .map(|then| {
                    format!(
                        "the certificate served at the previous sweep ({}: serial {})",
                        then.scan_time, then.serial
                    )
                }),
        };
        if let Some(before) = before {
            self.findings.push("client_auth_dropped".into());
            self.detail.push_str(&format!(
                " It is for server authentication only: it lacks the clientAuth extended key usage of {before}, as public CAs no longer issue it in server certificates."
            ));
            let step = format!("{AS_A_CLIENT}, those connections fail since it was deployed: give them a client certificate of their own (from a private CA)");
            self.step_beside("Nothing to do for the endpoint's TLS", &step);
        }
        // And TLSA records that name none of what it serves.
        if let Some((what, fix)) = dane_fault(o) {
            self.detail.push_str(&format!(" {what}."));
            if self.next == "Nothing to do." {
                self.next = format!("Nothing to do for the certificate; {fix}, then verify again.");
            }
        }
        // So does a chain that holds today with a CA certificate expiring before the leaf, an
        // expired one sent self.beside it, or its CAs sent out of order. An untrusted endpoint's
        // self.detail has these words already.
        if let Some(fix) = chain_fix(o).filter(|_| status != Status::Untrusted) {
            if let Some(words) = o.trust_detail.as_deref().filter(|d| !d.is_empty()) {
                let mut c = words.chars();
                let first = c.next().map(|f| f.to_uppercase().collect::<String>());
                self.detail
                    .push_str(&format!(" {}{}.", first.unwrap_or_default(), c.as_str()));
            }
            if self.next == "Nothing to do." {
                self.next = format!("Nothing to do for the certificate; {fix}, then verify again.");
            }
        }
        // Served a later certificate at the previous sweep (`--previous`): what deployed it
        // was undone, and will be again unless what undid it is found.
        if let Some(then) = o
            .previous
            .as_deref()
            .filter(|_| o.findings.contains(&Finding::RolledBack))
        {
            // One connection meets one node behind a balancer: another may have answered then.
            let hedge = match o.samples {
                None => " (or, if a load balancer spreads its connections, another node answered then: --samples meets them all)",
                Some(_) => "",
            };
            // An address not swept then: what the name served at another, every one of which
            // had a later certificate than this.
            let (who, at) = match then.ip {
                Some(ip) => (
                    "the name",
                    format!(" at {ip} (this address was not swept then; every address of the name served a later certificate than this one)"),
                ),
                None => ("it", String::new()),
            };
            self.detail.push_str(&format!(
                " At the previous sweep ({}) {who} served serial {}, issued {}, later than this one{at}: the deployment went back (a rollback, a restored configuration or snapshot, a node that lost the new file){hedge}.",
                then.scan_time, then.serial, then.not_before
            ));
            if self.next != "Nothing to do." {
                self.next.push_str(" Find what put the older certificate back (the provisioning bot's rollback, a restore) first, or the next deployment is undone too.");
            }
        }
    }
}

/// Whether certificate `c` was issued after record `r`'s version: by notBefore (else the
/// order date, else notAfter), with a day's tolerance for a date-only record.
fn issued_after(c: &crate::model::CertInfo, r: &Record) -> bool {
    let (theirs, ours) = match r.not_before.or(r.order_date) {
        Some(w) => (w, c.not_before_unix),
        None => match r.not_after {
            Some(w) => (w, c.not_after_unix),
            None => return false,
        },
    };
    let tol = if theirs.date_only { 86_400 } else { 0 };
    ours > theirs.unix + tol
}

fn unreachable_text(o: &Observation) -> (String, String) {
    let e = o.error.as_ref();
    let msg = e.map(|e| e.message.clone()).unwrap_or_default();
    let target = match o.ip {
        Some(ip) => format!("{} ({ip})", crate::model::host_port(&o.host, o.port)),
        None => crate::model::host_port(&o.host, o.port),
    };
    let next = match e.map(|e| e.class) {
        Some(ErrorClass::DnsNxdomain | ErrorClass::DnsNoAddress) => format!(
            "Fix the DNS records of {} or remove the endpoint from the inventory, then verify again.",
            o.host
        ),
        Some(ErrorClass::DnsError) => "The DNS lookup failed: check the authoritative servers and the resolver, then verify again.".into(),
        Some(ErrorClass::ConnectTimeout) => format!(
            "No TCP answer from {target}: check firewalls and security groups and that the service is up, then verify again."
        ),
        Some(ErrorClass::ConnectRefused) => format!(
            "Nothing listens on {target}: start the service or correct the port in the deployment profile, then verify again."
        ),
        Some(ErrorClass::ConnectError) if crate::model::no_route(o) => match o.ip {
            Some(std::net::IpAddr::V6(_)) => format!(
                "This host has no route to {target}'s network, so the endpoint was not tried: scan from a host with IPv6 connectivity, or pass --ipv4-only to leave AAAA answers out; if this host has IPv6, check its routes."
            ),
            _ => format!(
                "This host has no route to {target}'s network, so the endpoint was not tried: check this host's routes (VPN, jump host) towards it, then verify again."
            ),
        },
        Some(ErrorClass::ConnectError) => format!("The connection to {target} failed: check routing and the host, then verify again."),
        Some(ErrorClass::StarttlsError) => format!(
            "{target} did not agree to start TLS{}: enable TLS (STARTTLS) on the service; if the port speaks TLS from the first byte, give the target starttls=off (or --starttls off); then verify again.",
            o.starttls.map(|p| format!(" over {}", p.display_name())).unwrap_or_default()
        ),
        // A bare address refused (the engine said the name may be what is missing).
        _ if crate::model::refused_without_a_name(o) => format!(
            "{target} refused a handshake that asked for no name (SNI): if it serves certificates for names only (a CDN edge, name-only virtual hosts, an Envoy or Istio gateway), list it with the name its clients ask for (NAME@ADDRESS); otherwise check its TLS configuration. Then verify again."
        ),
        Some(ErrorClass::TlsProtocol) => "The server speaks no TLS version, cipher, key exchange group or key type in common with certsweep (SSL 3 or older, or a brainpool, Ed448 or FFDHE-only setup): upgrade its TLS configuration, then verify again.".into(),
        // The server has no certificate for the name the client asked for (SNI).
        Some(ErrorClass::TlsAlert) if msg == crate::model::SNI_REFUSED => format!(
            "{target} serves no certificate for the name {}: bind one to this name (virtual host, SNI mapping, keystore alias), or correct the name in the inventory, then verify again.",
            o.asked_name()
        ),
        Some(ErrorClass::TlsTimeout) => format!(
            "{target} accepted the connection but completed no TLS handshake in time: the port may not speak TLS from the first byte (plain HTTP, or a protocol that needs STARTTLS: give the target starttls=...), or the service is hung or overloaded; check it, then verify again."
        ),
        Some(ErrorClass::Internal) => format!(
            "certsweep could not judge {target} (an internal error): check it by hand and report the error message with the endpoint."
        ),
        _ => format!(
            "{target} answered but the TLS handshake failed: check the listener's TLS configuration and certificate binding, then verify again."
        ),
    };
    // A sentence, so that what later stages append (the samples, a rollout) reads on.
    let end = if msg.ends_with('.') { "" } else { "." };
    (format!("No certificate from {target}: {msg}{end}"), next)
}

/// The findings of [`deployment_said`]: what the records say about a missing renewal's
/// deployment, each with its own next step.
const DEPLOYMENT_SAID: [&str; 5] = [
    "deployment_failed",
    "deployment_rolled_back",
    "records_say_deployed",
    "deployment_stuck",
    "not_deployed_per_records",
];

/// What is wrong with the server's OCSP stapling (a stapled response it cannot use, a stale
/// one, none for a must-staple certificate), in words, and what fixes it. When only some
/// nodes behind the address staple so (`scan --samples`), the words say on how many
/// connections.
fn stapling_fault(o: &Observation) -> Option<(String, &'static str)> {
    let fault = [
        Finding::MustStapleMissing,
        Finding::OcspInvalid,
        Finding::OcspStale,
    ]
    .into_iter()
    .find(|f| o.findings.contains(f))?;
    let (info, share) = o.staple_with(fault);
    let (what, fix) = match fault {
        Finding::MustStapleMissing => (
            "The certificate is marked must-staple, but the server staples no OCSP response: Firefox refuses it".to_string(),
            "turn OCSP stapling on at the server (nginx: ssl_stapling on with a resolver; Apache: SSLUseStapling on; HAProxy: an .ocsp file beside the certificate), or reissue the certificate without must-staple",
        ),
        Finding::OcspInvalid => {
            let why = info
                .and_then(|i| i.problem.as_deref())
                .unwrap_or("unusable");
            (
                format!("The server staples an OCSP response clients cannot use: {why}"),
                "reload or restart the server so that it fetches the response for the certificate it serves (and check it reaches the CA's OCSP responder)",
            )
        }
        _ => {
            let unix = |t: Option<&str>| t.and_then(crate::timefmt::parse_rfc3339);
            let when = match info.map(|i| (i.next_update.as_deref(), i.this_update.as_deref())) {
                Some((Some(next), Some(this)))
                    if unix(Some(next)).zip(unix(Some(this))).is_some_and(|(n, t)| {
                        n - t > crate::ocsp::LONGEST_LIFETIME
                    }) =>
                {
                    format!(
                        "was made at {this} with a nextUpdate ({next}) more than 10 days later, and Firefox takes a response for 10 days at most"
                    )
                }
                Some((Some(next), _)) => format!("expired at {next} (its nextUpdate)"),
                Some((None, Some(this))) => format!(
                    "was made at {this} without a nextUpdate (Firefox takes such a response for a day after it is made)"
                ),
                _ => "is outdated".into(),
            };
            (
                format!("The OCSP response the server staples {when}: clients ignore it"),
                "check that the server reaches the CA's OCSP responder to refresh its staple (firewall, proxy, resolver), or restart it",
            )
        }
    };
    match share {
        // Only some nodes: which ones is for the user to find, through each node's own
        // address.
        Some((seen, connections)) => Some((
            format!(
                "{what} (on {seen} of {connections} connections: the nodes behind the address serve the certificate alike but staple it differently)"
            ),
            match fault {
                Finding::MustStapleMissing => "turn OCSP stapling on at the nodes that staple nothing (reach each one directly, not through the load balancer), or reissue the certificate without must-staple",
                _ => "reach each node directly (not through the load balancer) to find the ones whose staple is not refreshed, and check that they reach the CA's OCSP responder (firewall, proxy, resolver), or restart them",
            },
        )),
        None => Some((what, fix)),
    }
}

/// Whom a certificate without clientAuth fails: the server's own outgoing connections,
/// when it presents its certificate as a client.
const AS_A_CLIENT: &str = "if this server also presents its certificate as a TLS client (mutual TLS to partners or APIs, SIP trunks such as Microsoft Teams Direct Routing or Cisco Expressway, XMPP between servers)";

/// What to say (to the detail, to the next step) of renewal `r` when its certificate, read
/// from the records' PEM, cannot authenticate a TLS client while the one served can: since
/// 2025-2026 public CAs issue server certificates for serverAuth alone (the Chrome Root
/// Program's rule for hierarchies it trusts), so a renewal ordered as before loses what a
/// server presenting it as a client needs. Whether the server does is not known here.
fn client_auth_dropped(o: &Observation, r: &Record) -> Option<(String, String)> {
    let served = o.cert.as_ref()?;
    let renewal = r.extended_key_usage?;
    if !served.allows_client_auth() || crate::model::eku_names::allows_client_auth(Some(renewal)) {
        return None;
    }
    let serial = r.serial_hex().unwrap_or("?");
    Some((
        format!(" The renewal (serial {serial}) is for server authentication only: it lacks the clientAuth extended key usage the served certificate has, as public CAs no longer issue it in server certificates."),
        format!(" Before deploying it: {AS_A_CLIENT}, those peers will refuse the renewal: give those connections a client certificate of their own (from a private CA) first."),
    ))
}

/// What to say (to the detail, to the next step) of renewal `r` when Apple's platforms
/// would refuse it (as [`crate::trust`] judges a served certificate): issued since
/// 2019-07-01 for more than 825 days by the records' dates (a day more for date-only ones),
/// or, read from its PEM, without an Extended Key Usage extension (refused by apps that
/// trust its CA themselves).
fn renewal_apple_refusal(r: &Record) -> Option<(String, String)> {
    use crate::trust::{apple_too_long, APPLE_MAX_DAYS, APPLE_RULES_FROM};
    let (from, until) = (r.not_before?, r.not_after?);
    if from.unix <= APPLE_RULES_FROM {
        return None;
    }
    let slack = if from.date_only || until.date_only {
        86_400
    } else {
        0
    };
    let days = (until.unix - from.unix) / 86_400;
    let too_long = apple_too_long(from.unix, until.unix - slack);
    let no_eku = r.from_pem && r.extended_key_usage.is_none();
    let serial = r.serial_hex().unwrap_or("?");
    let what = match (too_long, no_eku) {
        (true, _) => format!(
            " The renewal (serial {serial}) is valid for {days} days (Apple accepts {APPLE_MAX_DAYS} at most){}: Safari and every iOS and macOS app would refuse it, though they accept the one served.",
            if no_eku { " and has no Extended Key Usage extension" } else { "" }
        ),
        (false, true) => format!(
            " The renewal (serial {serial}) has no Extended Key Usage extension: iOS and macOS apps that trust its CA themselves would refuse it (Safari and apps trusting a root installed on the device accept it in current releases), though they accept the one served."
        ),
        (false, false) => return None,
    };
    Some((
        what,
        format!(" Before deploying it, where Apple devices use the service: reissue it with an Extended Key Usage naming serverAuth and for {APPLE_MAX_DAYS} days or fewer (the CA's template)."),
    ))
}

/// The latest version before record `ri` (the served certificate `c`'s) whose certificate,
/// read from the records' PEM, could authenticate a TLS client, when `c` cannot: the
/// clientAuth a renewal lost, as `renewal_drops_client_auth` tells before deployment.
fn client_auth_lost(c: &CertInfo, ids: &Identities, ri: usize) -> Option<usize> {
    if c.allows_client_auth() {
        return None;
    }
    let before = ids.members[ids.identity_of[ri]]
        .iter()
        .copied()
        .filter(|&k| ids.records[k].from_pem && ids.is_newer(ri, k))
        .reduce(|a, b| if ids.is_newer(b, a) { b } else { a })?;
    let eku = ids.records[before].extended_key_usage;
    crate::model::eku_names::allows_client_auth(eku).then_some(before)
}

/// The step before deploying renewal `r` when the endpoint's TLSA records would name none
/// of its chain. All of them pins of keys (`3 1 1`) or CA keys (`2 1 1`): the renewal's
/// key and its CA's (known when its record carries its PEM, with the CA's certificate for
/// the latter) are among none. Or, the CA's key unknown, they name of CAs only the one that
/// issued the certificate served and the renewal's record names another issuer.
fn dane_unpublished(o: &Observation, r: &Record) -> Option<String> {
    let d = o.dane.as_deref()?;
    if d.error.is_some() {
        return None;
    }
    let hex = |k: &[u8; 32]| crate::cert::hex_lower(k);
    let key = r.spki_sha256.as_deref().map(hex);
    let ca = r.issuer_spki_sha256.as_deref().map(hex);
    if key.as_ref().is_some_and(|k| d.key_pins.contains(k))
        || ca.as_ref().is_some_and(|k| d.ca_pins.contains(k))
    {
        return None;
    }
    // Key pins and the renewal's key unknown: it may keep the old key. A record naming a
    // CA above the issuer (a root sent): a renewal under it may still match it.
    if (key.is_none() && !d.key_pins.is_empty()) || d.ca_above {
        return None;
    }
    let owner = d.owner(o.port, o.asked_name());
    let wait = "beside the current ones and wait for their TTL: clients that validate DANE refuse the renewal until it is published.";
    let issuer = r.issuer.as_deref().unwrap_or("its CA");
    if d.only_pins() && (ca.is_some() || d.ca_pins.is_empty()) {
        // Records of the kinds the endpoint publishes, for the renewal.
        let mut publish = Vec::new();
        if let Some(k) = key.as_ref().filter(|_| !d.key_pins.is_empty()) {
            publish.push(format!("the TLSA record for its key ({owner} 3 1 1 {k})"));
        }
        if let Some(k) = ca.as_ref().filter(|_| !d.ca_pins.is_empty()) {
            publish.push(format!(
                "the TLSA record for its CA's key, {issuer}'s ({owner} 2 1 1 {k})"
            ));
        }
        return Some(format!(
            " Before deploying it, publish {} {wait}",
            publish.join(" and ")
        ));
    }
    // Records that pin the CA that issued the certificate served: a renewal from another
    // CA (an intermediate rotation) matches none of them.
    if !d.issuer_pinned {
        return None;
    }
    let c = o.cert.as_ref()?;
    let issuer = r
        .issuer
        .as_deref()
        .filter(|i| identities::another_ca(i, c))?;
    let served = c.issuer_cn.as_deref().unwrap_or(&c.issuer);
    let ca_record = match &ca {
        Some(k) => format!("{owner} 2 1 1 {k}"),
        None => format!("{owner} 2 1 1 with the SHA-256 of its key"),
    };
    let own = key.map_or(String::new(), |k| {
        format!(", or {owner} 3 1 1 {k} for the renewal's own key")
    });
    Some(format!(
        " It is issued by {issuer}, while of CAs the TLSA records name only {served}, which issued the certificate served: before deploying it, publish a TLSA record for {issuer} ({ca_record}{own}) {wait}"
    ))
}

/// What is wrong with the endpoint's TLSA records (`dane_bogus`, `dane_mismatch`,
/// `dane_unusable`), in words, and what fixes it: the record for the key served, published
/// beside the old ones until those are gone from caches (a record no client uses can go at
/// once); for records that fail validation, the zone signed again.
fn dane_fault(o: &Observation) -> Option<(String, String)> {
    let d = o.dane.as_deref()?;
    let owner = d.owner(o.port, o.asked_name());
    let key = o.cert.as_ref().map_or("?", |c| c.spki_sha256.as_str());
    if o.findings.contains(&Finding::DaneBogus) {
        return Some((
            format!(
                "Its TLSA records ({owner}) fail DNSSEC validation: {}; senders that validate DANE cannot tell whether records exist, and defer mail to it until they can",
                d.error.as_deref().unwrap_or("the question failed")
            ),
            format!(
                "have the zone holding {owner} signed again so that its records validate (signatures expired, or its DNSKEY and its parent's DS no longer agree)"
            ),
        ));
    }
    if o.findings.contains(&Finding::DaneUnusable) && d.insecure {
        // Signed as they are, records naming another key turn DANE on with a mismatch.
        let (trap, first) = match d.stale_if_signed {
            true => (
                format!("; and they name none of the certificates it serves ({}), so signing the zone as they are would stop mail from senders that validate DANE", d.records.join("; ")),
                format!(", after publishing the TLSA record for the key served ({owner} 3 1 1 {key}) in place of the current ones"),
            ),
            false => (String::new(), String::new()),
        };
        return Some((
            format!(
                "Its TLSA records ({owner}) are not DNSSEC-signed (the resolver validates DNSSEC and did not vouch for them): DANE clients ignore them, so the DANE they were published for is off (mail servers send over unauthenticated TLS){trap}"
            ),
            format!(
                "sign the zone holding {owner} with DNSSEC (its DS published at the parent){first}, or remove the records"
            ),
        ));
    }
    if o.findings.contains(&Finding::DaneUnusable) {
        return Some((
            format!(
                "Its TLSA records ({owner}) are none of them usable by a DANE client: {}; clients that validate DANE treat it as publishing none and authenticate nothing (mail servers send over unauthenticated TLS)",
                d.shown()
            ),
            format!(
                "publish the TLSA record for the key served ({owner} 3 1 1 {key}) in place of the unusable ones"
            ),
        ));
    }
    if !o.findings.contains(&Finding::DaneMismatch) {
        return None;
    }
    // An endpoint with a certificate per key type: the records may pin the other one's.
    let to_whom = match o.cert.as_ref().and_then(CertInfo::key_family) {
        Some(f) if o.second_cert().is_some() => format!(" to {} clients", f.as_str()),
        _ => String::new(),
    };
    // Records that pin CAs: the served CA's record keeps to that scheme (it outlives the
    // leaf's key changes), the key's record is the other way.
    let record = match d.issuer_key.as_deref().filter(|_| !d.ca_pins.is_empty()) {
        Some(ca) => format!(
            "the TLSA record for the CA that issued the certificate served ({owner} 2 1 1 {ca}), as the current records pin CAs, or for the key served ({owner} 3 1 1 {key}),"
        ),
        None => format!("the TLSA record for the key served ({owner} 3 1 1 {key})"),
    };
    // A CA pin names only a CA the server sends (RFC 7671, section 5.2.2): a root pinned
    // and left out of the chain, as servers leave roots out, matches nothing.
    let (unsent, send) = match d.ca_pins.is_empty() {
        true => ("", ""),
        false => (
            "; a record pinning a CA (2 1 1) names it only when the server sends it (RFC 7671, section 5.2.2), so one pinning the root, or an intermediate the server leaves out, matches nothing",
            "; or, if the records pin a CA the server does not send (its root), add that CA's certificate to the server's chain",
        ),
    };
    Some((
        format!(
            "Its TLSA records ({owner}) name none of the certificates it serves{to_whom}: {}; clients that validate DANE, such as mail servers sending to it, refuse it{unsent}",
            d.shown()
        ),
        format!(
            "publish {record} beside the current ones, and remove those that name no certificate served once their TTL has passed{send}"
        ),
    ))
}

/// What fixes a served chain that validates today but not for long or not for every client
/// ([`Finding::ChainExpiresFirst`], [`Finding::ExpiredInChain`], [`Finding::ChainOrder`],
/// [`Finding::KeyTypeUnsupported`], [`Finding::AppleIncompatible`]), when it has any of
/// them.
fn chain_fix(o: &Observation) -> Option<String> {
    let has = |f: Finding| o.findings.contains(&f);
    let mut fixes = Vec::new();
    if has(Finding::ChainExpiresFirst) {
        let replace = match o.chain_expires.as_deref() {
            Some(e) if e.root => format!(
                "before {}, renew the private root \"{}\" and distribute it to the clients (if that is not to be, reissue the certificate under a root valid past it)",
                e.not_after, e.subject
            ),
            Some(e) => format!(
                "before {}, replace \"{}\" in the server's chain with the CA's current copy (download the chain again from the CA or the CLM; if the CA has none valid past the certificate, reissue the certificate) and reload",
                e.not_after, e.subject
            ),
            None => "before the CA certificate named in the detail expires, replace it: an intermediate in the server's chain with the CA's current one (download the chain again from the CA or the CLM) and reload; a private root by a renewed one distributed to the clients; if the CA has none valid past the certificate, reissue the certificate".into(),
        };
        fixes.push(replace);
    }
    if has(Finding::ExpiredInChain) {
        fixes.push("remove the expired certificate from the server's chain file (keep the leaf and the intermediates issued with it) and reload".into());
    }
    if has(Finding::ChainOrder) {
        fixes.push("put the server's chain file in order (the certificate, then the CA that issued it, then that CA's issuer, as the detail lists them; the root may be left out) and reload".into());
    }
    if has(Finding::KeyTypeUnsupported) {
        fixes.push("where browsers or Android apps use the service, reissue the certificate with an ECDSA P-256 or P-384 or an RSA key and deploy it".into());
    }
    if has(Finding::AppleIncompatible) {
        fixes.push(format!("where Apple devices use the service, reissue the certificate with an Extended Key Usage naming serverAuth and a validity of {} days or fewer (the CA's template sets both) and deploy it", crate::trust::APPLE_MAX_DAYS));
    }
    (!fixes.is_empty()).then(|| fixes.join("; "))
}

/// The next step of a certificate near its end with no renewal in the records.
const RENEWAL_DID_NOT_TRIGGER: &str = "The renewal did not trigger: check auto-renew and the renewal window of the order, DCV and approvals, then renew and deploy.";

/// What to say (to the detail, and the step in words) when record `r`, matched to the
/// served certificate `c` by serial, gives it another expiry than its own, by more than two
/// days. A record read from the certificate's PEM has its dates.
fn records_expiry_differs(c: &CertInfo, r: &Record) -> Option<(String, String)> {
    // Two days either way: an export writes local dates, or local times without a zone
    // (read as UTC), up to 14 hours off; a record that is wrong is months off (a
    // subscription's end), or a year (a typo).
    let said = r
        .not_after
        .filter(|w| !r.from_pem && w.unix.abs_diff(c.not_after_unix) > 2 * 86_400)?;
    let full = rfc3339_unix(said.unix);
    // A date-only record's day, as it was written.
    let shown = match full.get(..10).filter(|_| said.date_only) {
        Some(day) => day.to_string(),
        None => full.clone(),
    };
    let (how, risk) = if said.unix > c.not_after_unix {
        ("later", "a renewal scheduled by the record comes too late")
    } else {
        ("earlier", "the CLM reports it expired or renews it early")
    };
    Some((
        format!(
            " Record {} gives this certificate an expiry of {shown}, {how} than its own ({}): {risk}.",
            r.record_id, c.not_after
        ),
        format!(
            "correct record {}'s expiry to {} (import the certificate again, or fix the inventory)",
            r.record_id, c.not_after
        ),
    ))
}

/// How the next step of an endpoint whose expired certificate has a renewal begins.
const OUTAGE_FIRST: &str =
    "The served certificate has expired, so clients fail now: deploy the renewal at once. ";

/// How the next step of an endpoint whose renewal is missing begins when clients refuse the
/// certificate it serves (chain, key, name).
const REFUSED_FIRST: &str =
    "Clients refuse the served certificate, so the endpoint fails now: deploy the renewal at once. ";

/// How the next step of an endpoint whose revoked certificate has a renewal begins.
const REVOKED_FIRST: &str = "The served certificate is revoked, so clients that check revocation fail now: deploy the renewal at once. ";

/// Whether a deployment status leaves waiting for provisioning right: a failed, rolled back
/// or finished deployment will not bring the renewal anywhere by itself.
fn deployment_may_be_running(status: Option<DeployStatus>) -> bool {
    matches!(
        status,
        None | Some(
            DeployStatus::Pending | DeployStatus::ConfigPending | DeployStatus::NotDeployed
        )
    )
}

/// What the records say about deploying the renewal `e` (`said`: its status and the words
/// for it, the endpoint's own or the record's), which endpoints do not serve: the finding it
/// earns and the step to take. A deployment still running (or not begun) says something
/// only once `e` was issued longer than the grace period ago before `now`; one that ended
/// (failed, rolled back, done) always does. `None` when the records say nothing that
/// changes the usual advice. One wording for the endpoint verdicts and the records report.
fn deployment_said(
    e: &Record,
    said: (Option<DeployStatus>, Option<&str>),
    p: &Policy,
) -> Option<(&'static str, String)> {
    let (status, raw) = said;
    let past_grace = e.issued_at().is_none_or(|t| t <= p.now - p.grace_secs);
    if deployment_may_be_running(status) && !past_grace {
        return None;
    }
    let raw = raw.unwrap_or_default();
    let bot = e
        .provisioning_bot
        .as_deref()
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    Some(match status? {
        DeployStatus::Failed => (
            "deployment_failed",
            format!("The records show the renewal's deployment failed (\"{raw}\"): read the provisioning bot's{bot} log for the cause (keystore or file write, permissions, reaching the server), fix it, re-run provisioning and confirm the service reloads, then verify again."),
        ),
        DeployStatus::RolledBack => (
            "deployment_rolled_back",
            format!("The records show the renewal's deployment was rolled back (\"{raw}\"), which put the old certificate back: find out why (the change record, the bot's{bot} log), deploy the renewal again, then verify again."),
        ),
        DeployStatus::Deployed => (
            "records_say_deployed",
            format!("The records show the renewal as deployed (\"{raw}\"), but it is not what is served: the service was not reloaded or restarted after the new certificate was written, the node was not among the deployment's targets (a load-balancer member), or the old file came back. Reload the service there, check the deployment's targets{bot}, then verify again."),
        ),
        DeployStatus::ConfigPending => (
            "deployment_stuck",
            format!("The records still show the renewal's deployment waiting for configuration (\"{raw}\") past the grace period: complete its deployment profile and bot{bot} in the CLM, run the deployment, then verify again."),
        ),
        DeployStatus::Pending => (
            "deployment_stuck",
            format!("The records still show the renewal's deployment as pending (\"{raw}\") past the grace period: check that the provisioning bot{bot} is running and reaches the server, re-run provisioning, then verify again."),
        ),
        DeployStatus::NotDeployed => (
            "not_deployed_per_records",
            format!("The records show no deployment of the renewal (\"{raw}\"): give it a deployment profile and bot in the CLM (or install it by hand) and reload the service, then verify again."),
        ),
    })
}

/// A later version `e` that cannot be deployed for `host` in place of a certificate expiring
/// at `expires` (`expired` already): its finding, a sentence for the detail and the next step.
/// One wording for the endpoint verdicts and the records report.
fn blocked_renewal(
    e: &Record,
    host: &str,
    expires: i64,
    expired: bool,
    now: i64,
) -> (&'static str, String, String) {
    let named = match e.serial_hex() {
        Some(s) => format!("serial {s} (record {})", e.record_id),
        None => format!("record {}", e.record_id),
    };
    let starts = e.not_before.filter(|w| w.unix > now).map(|w| w.unix);
    if !e.covers(host) {
        return (
            "renewal_drops_name",
            format!(
                " Its renewal {named} does not cover {host} (names: {}).",
                e.names().join(", ")
            ),
            format!("Reissue the renewal with {host} among its names (or order a certificate for {host}), deploy it and reload the service, then verify again."),
        );
    }
    match (e.status, starts) {
        (RecordStatus::Revoked, _) => (
            "renewal_revoked",
            format!(" Its renewal {named} was revoked."),
            "Order a replacement for the revoked renewal (and find out why it was revoked), deploy it and reload the service, then verify again.".into(),
        ),
        (RecordStatus::Cancelled, _) => (
            "renewal_cancelled",
            format!(" Its renewal {named} was cancelled or rejected ({}).", e.status_raw),
            "Place a new renewal order (the last one was cancelled or rejected), deploy the certificate and reload the service, then verify again.".into(),
        ),
        (_, Some(from)) if from > expires || expired => (
            "renewal_not_yet_valid",
            format!(
                " Its renewal {named} is valid only from {}, after this certificate expires.",
                rfc3339_unix(from)
            ),
            "Reissue the renewal with a validity that starts now (a certificate valid only later cannot bridge the gap), deploy it and reload the service, then verify again.".into(),
        ),
        (_, Some(from)) => (
            "renewal_not_yet_valid",
            format!(" Its renewal {named} is valid from {}.", rfc3339_unix(from)),
            format!("Deploy the renewal once it is valid ({}), before this certificate expires, then verify again.", rfc3339_unix(from)),
        ),
        _ => (
            "renewal_pending",
            format!(" Its renewal {named} is still pending ({}).", e.status_raw),
            "Complete the renewal order (DCV, approvals), deploy the certificate and reload the service, then verify again.".into(),
        ),
    }
}
