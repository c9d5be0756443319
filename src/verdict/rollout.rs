//! What the endpoints of a sweep say together: a name's nodes that disagree (a partial
//! rollout), and where each certificate is served (for the records report).

use super::*;
use std::collections::HashMap;

/// Partial rollouts: endpoints of one name (host and port) that disagree, one load-balancer
/// member still serving the old certificate. Endpoints are noted as they are judged; once all
/// are in, [`Rollout::annotate`] tells each how many of its name's endpoints serve the expected
/// certificate and marks the stale ones. Holds counts per name, not the verdicts.
#[derive(Debug, Default)]
pub struct Rollout {
    names: HashMap<(String, u16), NameCounts>,
    /// The ports the sweep tried each name on (`--port 443,8443`), when more than one.
    ports: Vec<u16>,
    /// Where each name presented a certificate, by the name's hash: bit `i` for `ports[i]`
    /// (the first 64), 16 bytes a name however long its name.
    served_on: HashMap<u64, u64>,
    /// The places the target list named with one of `ports` as their own.
    named: crate::engine::targets::NamedPorts,
}

/// One name's endpoints: how many presented a certificate, and how many serve the one they
/// should, per serial of it.
#[derive(Debug, Default)]
struct NameCounts {
    total: usize,
    current: usize,
    /// Usually one serial; two identities covering the name (a wildcard beside a dedicated
    /// certificate) may each be served as expected.
    by_serial: Vec<(String, usize)>,
}

/// The name an endpoint's clients ask for, and its port: the SNI, else the host. Nodes of a
/// pool listed by address with the pool's name (a CSV `sni` column, an inventory's
/// deployment endpoints given by address) are one name's endpoints, as the resolved
/// addresses of that name are.
fn name_of(o: &Observation) -> (String, u16) {
    (o.asked_name().to_string(), o.port)
}

impl Rollout {
    /// A rollout of a sweep that tried names without a port of their own on each of
    /// `ports`: an endpoint without a certificate on one of them is
    /// [`Status::ServedOnOtherPort`] when its name presented one on another.
    pub fn on_ports(ports: &[u16]) -> Self {
        Rollout {
            ports: if ports.len() > 1 {
                ports.to_vec()
            } else {
                Vec::new()
            },
            ..Rollout::default()
        }
    }

    /// Takes the places the target list named with one of the sweep's ports as their own
    /// (`host:8443`): an endpoint there stays `unreachable`, as one the records place there
    /// does.
    pub fn named_by_list(&mut self, named: crate::engine::targets::NamedPorts) {
        self.named = named;
    }

    /// Counts `v` (judged by [`judge_one`], which said whether it `serves_expected`).
    pub fn note(&mut self, v: &Verdict, serves_expected: bool) {
        if v.observation.cert.is_none() {
            return;
        }
        let o = &v.observation;
        if let Some(i) = self
            .ports
            .iter()
            .position(|&p| p == o.port)
            .filter(|&i| i < 64)
        {
            *self.served_on.entry(name_key(o.asked_name())).or_default() |= 1 << i;
        }
        let e = self.names.entry(name_of(&v.observation)).or_default();
        e.total += 1;
        let serial = v.expected.as_ref().and_then(|r| r.serial.as_deref());
        if let (true, Some(serial)) = (serves_expected, serial) {
            e.current += 1;
            match e.by_serial.iter_mut().find(|(s, _)| s == serial) {
                Some((_, n)) => *n += 1,
                None => e.by_serial.push((serial.to_string(), 1)),
            }
        }
    }

    /// Adds what the name's other endpoints say to `v`, once every endpoint was noted.
    pub fn annotate(&self, v: &mut Verdict, ids: &Identities) {
        if v.observation.cert.is_none() {
            self.served_elsewhere(v, ids);
            return;
        }
        let key = name_of(&v.observation);
        let Some(counts) = self.names.get(&key) else {
            return;
        };
        let total = counts.total;
        if total < 2 {
            return;
        }
        v.name_endpoints_current = Some(format!("{}/{total}", counts.current));
        // Only the endpoints serving this one's expected certificate make it a rollout this
        // node missed: others serving another identity's certificate for the name (the
        // wildcard beside a dedicated one) say nothing of its deployment.
        let expected = v.expected.as_ref().and_then(|r| r.serial.as_deref());
        let current = counts
            .by_serial
            .iter()
            .find(|(s, _)| Some(s.as_str()) == expected)
            .map_or(0, |(_, n)| *n);
        // A node left with a certificate the records do not hold, where the others serve
        // the managed one (the post-deployment check against the PEM just deployed), is
        // as stale as one left with an older version.
        let has = |f: &str| v.findings.iter().any(|x| x == f);
        let stale = matches!(
            v.status,
            Status::RenewedNotDeployed | Status::DeploymentPending
        ) || (v.status == Status::Unmanaged
            && has("names_managed_elsewhere")
            && !has("newer_than_records"));
        if stale && current > 0 {
            v.findings.push("partial_rollout".into());
            v.detail.push_str(&format!(
                " Partial rollout: {current} of {total} endpoints of {}:{} serve the new certificate (serial {}).",
                key.0, key.1, expected.unwrap_or("?")
            ));
            // The renewal reached the other nodes, so the bot and the profile work: what
            // is left is this node, unless the records said more (`deployment_said`).
            let said = v
                .findings
                .iter()
                .any(|f| DEPLOYMENT_SAID.contains(&f.as_str()));
            if v.status == Status::RenewedNotDeployed && !said {
                let outage = [OUTAGE_FIRST, REVOKED_FIRST, REFUSED_FIRST]
                    .into_iter()
                    .find(|first| v.next_step.starts_with(first))
                    .unwrap_or("");
                let node = v
                    .observation
                    .ip
                    .map(|ip| ip.to_string())
                    .unwrap_or_default();
                let bot = v
                    .expected
                    .as_ref()
                    .and_then(|e| e.provisioning_bot.as_deref())
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default();
                v.next_step = format!(
                    "{outage}This node ({node}) missed a rollout the other endpoints of the name got: check that it is among the deployment targets of the renewal order's provisioning bot{bot} (a load-balancer member added later, a node that was down or drained), re-run provisioning for it and confirm its service reloads, then verify again."
                );
            }
        }
    }
}

impl Rollout {
    /// Makes `v`, an `unreachable` endpoint on one of the sweep's ports, `served_on_other_port`
    /// when nothing listens or speaks TLS there (refused, no TCP answer, no handshake) and its
    /// name presented a certificate on another of the ports: a sweep of `443,8443` finds
    /// each service on the port it uses, and the others are no fault to fix. A record that
    /// places its deployment on this very port, or a target line that named it, keeps it
    /// `unreachable`.
    fn served_elsewhere(&self, v: &mut Verdict, ids: &Identities) {
        let o = &v.observation;
        if v.status != Status::Unreachable || !self.ports.contains(&o.port) {
            return;
        }
        let no_service = matches!(
            o.error.as_ref().map(|e| e.class),
            Some(ErrorClass::ConnectRefused | ErrorClass::ConnectTimeout | ErrorClass::TlsTimeout)
        );
        if !no_service {
            return;
        }
        let Some(&served) = self.served_on.get(&name_key(o.asked_name())) else {
            return;
        };
        let others: Vec<String> = (self.ports.iter().enumerate())
            .filter(|&(i, &p)| i < 64 && served & (1 << i) != 0 && p != o.port)
            .map(|(_, p)| p.to_string())
            .collect();
        if others.is_empty() || self.named.names(o) || ids.placed_on_port(o) {
            return;
        }
        let name = o.asked_name().to_string();
        let (ports, them) = match others.len() {
            1 => ("port", "it"),
            _ => ("ports", "them"),
        };
        let others = others.join(", ");
        v.status = Status::ServedOnOtherPort;
        v.findings = vec![Status::ServedOnOtherPort.as_str().into()];
        v.detail = format!(
            "{}; {name} presents its certificate on {ports} {others} of this sweep (see {them} in this report).",
            v.detail
        );
        v.next_step = format!(
            "Nothing to do if {name}'s service does not listen on port {port}: the sweep tried every name on each of its ports (give the name's port in the target list, or its deployment endpoint with a port in the records, to leave this row out); if it should listen here, start it on port {port}, then verify again.",
            port = o.port
        );
    }
}

/// Where the records' certificates are served (`host:port@ip`), and how many endpoints each
/// scanned name had, for the identity rows. A served certificate counts for the record it
/// matches as the endpoint's verdict matches it (fingerprint, serial and the dates and
/// issuer that tell two private CAs' equal serials apart), not by its serial alone.
#[derive(Debug, Default)]
pub struct Serving {
    /// Places by the index of the record each served certificate matched.
    served: HashMap<usize, Vec<String>>,
    /// Endpoints per scanned name (the SNI, else the host), by the name's hash: a count, not
    /// the endpoints (those are in the endpoint report), so that a million-endpoint sweep
    /// keeps ~20 bytes a name for this.
    seen: HashMap<u64, u32>,
    /// The same per parent domain (`www.x.com` counts for `x.com`), for wildcards.
    under: HashMap<u64, u32>,
    /// Records whose certificate a stapled OCSP response or the CA's list (signatures
    /// checked) says the CA revoked, with when and which of the two said so.
    revoked_by_ca: HashMap<usize, (String, &'static str)>,
    /// Records whose certificate is served somewhere where clients refuse it (a missing
    /// intermediate, an unknown CA, a weak key or signature, valid only later), and at how
    /// many endpoints.
    untrusted: HashMap<usize, u32>,
    /// Of those, the records whose certificate browsers refuse for itself, and for which
    /// finding: too few SCTs embedded (`ct_missing`), a key usage the handshake needs not
    /// allowed (`key_usage_incompatible`), a public CA's too long validity
    /// (`validity_too_long`), a CA Chrome has since distrusted (`ca_distrusted`), a key too
    /// small, its own or its CA's (`weak_key`). No chain or deployment fixes that, only a
    /// reissue.
    reissue: HashMap<usize, crate::model::Finding>,
    /// Records matched by serial to a served certificate whose own notAfter (the value)
    /// is not the record's ([`super::records_expiry_differs`]).
    expiry_seen: HashMap<usize, String>,
    /// The sweep's `--exclude` lists: names on them were not scanned by design.
    pub excluded: Option<std::sync::Arc<crate::engine::exclude::Exclusions>>,
    /// Places whose connections got different certificates (`--samples`): there an older
    /// version beside the newest is a node left behind, not the other key type's.
    pub(super) nodes_differ: std::collections::HashSet<String>,
}

/// Where a finding that only a reissue mends comes in the records report's words, highest
/// first (0: not one): a CA Chrome distrusts (a reissue from another CA) before a key usage
/// or missing CT timestamps (a reissue with other settings).
fn reissue_rank(f: crate::model::Finding) -> u8 {
    use crate::model::Finding::{
        CaDistrusted, CtMissing, KeyUsageIncompatible, ValidityTooLong, WeakKey,
    };
    match f {
        CaDistrusted => 5,
        ValidityTooLong => 4,
        WeakKey => 3,
        KeyUsageIncompatible => 2,
        CtMissing => 1,
        _ => 0,
    }
}

fn name_key(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(name.trim_end_matches('.').to_ascii_lowercase())
}

impl Serving {
    /// Notes where `v`'s certificates are served: the one it presented, the other key
    /// type's when a second look got one, and the other nodes' when samples got them, each
    /// under the record of `ids` it matches; and that its name was scanned.
    pub fn note(&mut self, v: &Verdict, ids: &Identities) {
        let o = &v.observation;
        let name = o.asked_name();
        *self.seen.entry(name_key(name)).or_default() += 1;
        if let Some((_, parent)) = name.split_once('.') {
            *self.under.entry(name_key(parent)).or_default() += 1;
        }
        let Some(c) = &o.cert else { return };
        let at = format!(
            "{}:{}@{}",
            o.host,
            o.port,
            o.ip.map(|i| i.to_string()).unwrap_or_default()
        );
        if let Some(other) = o.second_cert() {
            if let Some((ri, _)) = ids.match_cert(other, name) {
                self.served.entry(ri).or_default().push(at.clone());
            }
        }
        // What other nodes behind the address presented (`--samples`) is served there too:
        // a renewal on two nodes of three is deployed, if not everywhere.
        let nodes = super::sampled(o);
        if !nodes.is_empty() {
            self.nodes_differ.insert(at.clone());
        }
        for n in &nodes {
            if let Some(nc) = &n.cert {
                self.note_certificate(ids, n, nc, at.clone());
            }
        }
        self.note_certificate(ids, o, c, at);
    }

    /// Notes that `c`, the certificate of `o` (an endpoint's or one of its nodes'), is
    /// served at `at`, and what the CA and the clients make of it there, when it is a
    /// record's of `ids` (the identity rows ask of nothing else).
    fn note_certificate(
        &mut self,
        ids: &Identities,
        o: &Observation,
        c: &crate::model::CertInfo,
        at: String,
    ) {
        let Some((ri, ambiguous)) = ids.match_cert(c, o.asked_name()) else {
            return;
        };
        if !ambiguous && super::records_expiry_differs(c, &ids.records[ri]).is_some() {
            self.expiry_seen.insert(ri, c.not_after.clone());
        }
        if let Some(rev) = o.revoked_by_ca() {
            self.revoked_by_ca.insert(
                ri,
                (rev.at.unwrap_or_default().to_string(), rev.source_short),
            );
        }
        // Refused for its chain, key or signature, or valid only from a later date (deployed
        // early): the deployment is not done there.
        if o.findings.iter().any(|f| f.makes_untrusted()) {
            *self.untrusted.entry(ri).or_default() += 1;
        }
        let first = o.findings.iter().copied().max_by_key(|&f| reissue_rank(f));
        if let Some(f) = first.filter(|&f| reissue_rank(f) > 0) {
            let told = self.reissue.entry(ri).or_insert(f);
            if reissue_rank(f) > reissue_rank(*told) {
                *told = f;
            }
        }
        self.served.entry(ri).or_default().push(at);
    }

    /// Where record `m`'s certificate is served: under `m`, or under another record of the
    /// same certificate (an export listing it twice), which a served one may have matched.
    pub(super) fn places<'a>(
        &'a self,
        ids: &'a Identities,
        m: usize,
    ) -> impl Iterator<Item = &'a String> + 'a {
        ids.same_certificate(m)
            .filter_map(|k| self.served.get(&k))
            .flatten()
    }

    /// At how many endpoints record `m`'s certificate is served where clients refuse it.
    pub(super) fn untrusted_at(&self, ids: &Identities, m: usize) -> u32 {
        ids.same_certificate(m)
            .filter_map(|k| self.untrusted.get(&k))
            .sum()
    }

    /// Why record `m`'s certificate is served where browsers refuse it for itself, if it
    /// is, the finding [`reissue_rank`] puts first.
    pub(super) fn reissue(&self, ids: &Identities, m: usize) -> Option<crate::model::Finding> {
        ids.same_certificate(m)
            .filter_map(|k| self.reissue.get(&k).copied())
            .max_by_key(|&f| reissue_rank(f))
    }

    /// The notAfter of record `m`'s certificate as served, when it is not the record's.
    pub(super) fn expiry_seen(&self, ids: &Identities, m: usize) -> Option<&str> {
        ids.same_certificate(m)
            .find_map(|k| self.expiry_seen.get(&k))
            .map(String::as_str)
    }

    /// When and by whose word the CA revoked record `m`'s certificate, if it did.
    pub(super) fn revoked_by_ca(
        &self,
        ids: &Identities,
        m: usize,
    ) -> Option<&(String, &'static str)> {
        ids.same_certificate(m)
            .find_map(|k| self.revoked_by_ca.get(&k))
    }

    /// Whether every one of `names` is on the `--exclude` list (a wildcard when its parent's
    /// names are: `*.x.com` by `*.x.com`).
    pub(super) fn all_excluded(&self, names: &[&str]) -> bool {
        let Some(x) = &self.excluded else {
            return false;
        };
        !names.is_empty()
            && names.iter().all(|n| match n.strip_prefix("*.") {
                Some(parent) => x.everything_under(parent),
                None => x.name(n),
            })
    }

    /// How many scanned endpoints `names` had; a wildcard counts the names one label under
    /// it.
    pub(super) fn scanned(&self, names: &[&str]) -> u64 {
        names
            .iter()
            .map(|n| match n.strip_prefix("*.") {
                Some(parent) => self.under.get(&name_key(parent)),
                None => self.seen.get(&name_key(n)),
            })
            .map(|c| u64::from(c.copied().unwrap_or(0)))
            .sum()
    }
}

/// The host of a [`Serving`] place (`host:port@ip`).
pub(super) fn place_host(at: &str) -> &str {
    place_host_port(at).0
}

/// The host and port of a [`Serving`] place (`host:port@ip`).
pub(super) fn place_host_port(at: &str) -> (&str, Option<u16>) {
    let name_port = at.rsplit_once('@').map_or(at, |(np, _)| np);
    match name_port.rsplit_once(':') {
        Some((name, port)) => (name, port.parse().ok()),
        None => (name_port, None),
    }
}
