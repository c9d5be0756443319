//! The end-of-run summary of a sweep.

use crate::model::{ErrorClass, Finding, Observation, Starttls};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Counts over a sweep.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Endpoints with a result.
    pub endpoints: u64,
    /// Endpoints that presented a certificate.
    pub certificates: u64,
    /// Per error class.
    pub errors: BTreeMap<ErrorClass, u64>,
    /// Per trust finding.
    pub findings: BTreeMap<Finding, u64>,
    /// Endpoints that spoke a protocol before TLS, per protocol.
    pub starttls: BTreeMap<Starttls, u64>,
    /// Unusable target lines.
    pub bad_targets: u64,
    /// Where and why the target list stopped being read before its end (a read error).
    pub targets_unread: Option<String>,
    /// Duplicate targets collapsed.
    pub duplicates: u64,
    /// Endpoints named by two targets (a name pinned to an address it resolves to, ...),
    /// scanned once.
    pub duplicate_endpoints: u64,
    /// Targets whose name is on the `--exclude` list (not resolved).
    pub excluded_names: u64,
    /// Endpoints whose address is on the `--exclude` list (not connected to).
    pub excluded_addresses: u64,
    /// Endpoints that took more than one connection attempt (`--retries`).
    pub retried: u64,
    /// Of those, the ones that still failed.
    pub retried_failed: u64,
    /// Names with addresses of one family whose question for the other failed.
    pub dns_half_answered: u64,
    /// The resolver's addresses when it was asked and answered no question.
    pub dns_unheard: Option<String>,
    /// IPv6 endpoints not tried for want of a route from this host ([`crate::model::NO_ROUTE`]).
    pub ipv6_no_route: u64,
    /// Bare addresses that refused a handshake without a name
    /// ([`crate::model::refused_without_a_name`]).
    pub refused_without_a_name: u64,
    /// Endpoints asked again offering only the other key type ([`crate::model::SecondLook`]).
    pub second_looks: u64,
    /// Of those, the ones that presented a second, different certificate.
    pub second_certificates: u64,
    /// The moment expiry is counted from (Unix seconds); `None` counts none.
    pub expiry_from: Option<i64>,
    /// Endpoints presenting a certificate (either one, where two were presented) that expires
    /// within 7 days of [`Summary::expiry_from`], not yet expired.
    pub expiring_7: u64,
    /// The same within 30 days (those within 7 included).
    pub expiring_30: u64,
    /// The endpoint whose certificate expires first, of those not yet expired.
    pub soonest: Option<Soonest>,
    /// Endpoints whose validated chain has a CA certificate ending more than a day before
    /// their certificate (`chain_expires_first`).
    pub chains_ending_first: u64,
    /// Of those, the one whose chain ends first: its endpoint, and the CA certificate's
    /// subject and notAfter.
    pub soonest_chain: Option<Soonest>,
    /// Wall time.
    pub duration: Duration,
    /// Stopped early, and by what (Ctrl-C, SIGTERM, SIGHUP).
    pub interrupted: Option<crate::interrupt::Stop>,
    /// Report files given up during the sweep, with why (a write failed: a disk full, a
    /// share gone); each holds the rows written before.
    pub outputs_lost: Vec<String>,
    /// The revocation lists `--crl` fetched, by URL: how many entries each holds, or why it
    /// could not be read. One line per list that failed says at once what thousands of
    /// `crl_unavailable` rows would.
    pub crl_lists: Vec<(String, Result<usize, String>)>,
    /// The OCSP responders `--ocsp` asked, by URL, with what each answered: a responder
    /// down shows once here rather than only as thousands of `ocsp_responder_unavailable`
    /// rows.
    pub ocsp_responders: Vec<(String, crate::ocsp::ResponderTally)>,
    /// With `--ocsp`: how many certificates checked (per endpoint) named no http://
    /// responder; `None` without it.
    pub ocsp_without_responder: Option<usize>,
    /// Certificates for other names than the first of their issuer's with its key.
    pub shared_keys: SharedKeys,
    /// With `--dane`: what the TLSA questions gave.
    pub dane: DaneCounts,
    /// With `--previous`: how the endpoints compare with the earlier sweep.
    pub changes: Option<Changes>,
}

/// How a sweep's endpoints compare with an earlier one (`--previous`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The earlier sweep's file.
    pub file: String,
    /// Its endpoints that presented a certificate.
    pub read: usize,
    /// Its lines that could not be read.
    pub bad_lines: usize,
    /// The same certificate as then.
    pub same: u64,
    /// Another one, issued later (a renewal deployed).
    pub newer: u64,
    /// Another one, issued before (`rolled_back`).
    pub older: u64,
    /// Not in the earlier sweep with a certificate, or none now.
    pub unknown: u64,
    /// Of all these, the endpoints at an address not swept then, compared with what their
    /// name served at its other addresses.
    pub elsewhere: u64,
}

/// Endpoints asked for their TLSA records (`--dane`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DaneCounts {
    /// Those that publish records.
    pub published: u64,
    /// Of those, the ones whose records the resolver said are DNSSEC-authentic.
    pub validated: u64,
    /// Those whose question failed.
    pub failed: u64,
    /// Of those that publish, the ones whose records a validating resolver did not vouch
    /// for (an unsigned zone's, which DANE clients ignore).
    pub insecure: u64,
}

/// Per issuer and key, the first certificate seen, and the endpoints since that presented
/// another certificate of the issuer for other names with that key. A TLS-inspecting proxy
/// between certsweep and the servers mints its certificates so (one issuer, one key, the
/// name asked for), and then every row is about the proxy, not the servers; a CA issues a
/// new key per certificate unless asked to reuse one.
#[derive(Debug, Default, Clone)]
pub struct SharedKeys {
    issuers: std::collections::HashMap<String, Vec<FirstOfKey>>,
}

#[derive(Debug, Clone)]
struct FirstOfKey {
    spki_sha256: String,
    sha256: String,
    names: Vec<String>,
    endpoint: String,
    /// Endpoints since with another certificate, other names and this key.
    others: u64,
    /// The first of them, as the summary names it, and its names.
    other: Option<(String, Vec<String>)>,
}

/// Issuers followed for [`SharedKeys`]: a sweep meets a few dozen; the bound keeps a sweep
/// of self-signed appliances (an issuer each) from growing it without end.
const MAX_ISSUERS: usize = 4_096;

/// Keys followed per issuer: a proxy's is among its CA's first certificates (all of them),
/// a CA's own certificates each have another.
const KEYS_PER_ISSUER: usize = 8;

/// Endpoints with certificates for other names sharing one key and issuer from which the
/// summary tells of it: two, so that one reissue keeping its key for another name is not.
const SHARED_KEY_ENDPOINTS: u64 = 2;

impl SharedKeys {
    fn add(&mut self, c: &crate::model::CertInfo, o: &Observation) {
        if c.spki_sha256.is_empty() {
            return;
        }
        let first = || FirstOfKey {
            spki_sha256: c.spki_sha256.clone(),
            sha256: c.sha256.clone(),
            names: {
                let mut names = c.sans.clone();
                names.sort();
                names
            },
            endpoint: endpoint_words(o),
            others: 0,
            other: None,
        };
        let Some(keys) = self.issuers.get_mut(&c.issuer) else {
            if self.issuers.len() < MAX_ISSUERS {
                self.issuers.insert(c.issuer.clone(), vec![first()]);
            }
            return;
        };
        match keys.iter().position(|k| k.spki_sha256 == c.spki_sha256) {
            Some(i) => {
                let k = &mut keys[i];
                // The same names in another order (a renewal's) are not other names.
                let same_names = k.names.len() == c.sans.len()
                    && c.sans.iter().all(|n| k.names.binary_search(n).is_ok());
                if k.sha256 != c.sha256 && !same_names {
                    k.others += 1;
                    k.other
                        .get_or_insert_with(|| (endpoint_words(o), c.sans.clone()));
                }
            }
            None if keys.len() < KEYS_PER_ISSUER => keys.push(first()),
            None => {}
        }
    }

    /// The keys to tell of, most endpoints first: issuer, first certificate with the key.
    fn told(&self) -> Vec<(&String, &FirstOfKey)> {
        let mut v: Vec<_> = self
            .issuers
            .iter()
            .flat_map(|(issuer, keys)| keys.iter().map(move |k| (issuer, k)))
            .filter(|(_, f)| f.others >= SHARED_KEY_ENDPOINTS)
            .collect();
        v.sort_by(|a, b| b.1.others.cmp(&a.1.others).then(a.0.cmp(b.0)));
        v
    }
}

/// The endpoint presenting the certificate that expires first (or whose chain ends first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soonest {
    /// notAfter as Unix seconds.
    pub not_after_unix: i64,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// That certificate as the summary names it: the served one by its serial, a chain's CA
    /// certificate by its subject.
    pub named: String,
    /// `host at ip:port`, or `ip:port` for a bare address.
    pub endpoint: String,
}

impl Soonest {
    /// Keeps in `slot` the earlier of what it holds and the certificate ending at
    /// `not_after_unix` on `o` (made only when it is earlier).
    fn keep_earlier(
        slot: &mut Option<Soonest>,
        not_after_unix: i64,
        o: &Observation,
        make: impl FnOnce() -> (String, String),
    ) {
        if slot
            .as_ref()
            .is_none_or(|s| not_after_unix < s.not_after_unix)
        {
            let (not_after, named) = make();
            *slot = Some(Soonest {
                not_after_unix,
                not_after,
                named,
                endpoint: endpoint_words(o),
            });
        }
    }
}

const DAY: i64 = 86_400;

/// An endpoint as the summary names it: `host at ip:port`, or `ip:port` for a bare address.
fn endpoint_words(o: &Observation) -> String {
    let addr = o.ip.map(|ip| std::net::SocketAddr::new(ip, o.port));
    match addr {
        Some(a) if o.host == a.ip().to_string() => a.to_string(),
        Some(a) => format!("{} at {a}", o.host),
        None => crate::model::host_port(&o.host, o.port),
    }
}

impl Summary {
    /// A summary that counts expiry from `now_unix`.
    pub fn counting_expiry_from(now_unix: i64) -> Self {
        Summary {
            expiry_from: Some(now_unix),
            ..Summary::default()
        }
    }

    /// Endpoints certsweep itself failed on (`internal_error`).
    pub fn internal_errors(&self) -> u64 {
        self.errors.get(&ErrorClass::Internal).copied().unwrap_or(0)
    }

    /// Counts how one endpoint compares with the earlier sweep.
    pub fn note_change(&mut self, c: crate::previous::Comparison) {
        use crate::previous::Change;
        let counts = self.changes.get_or_insert_with(Changes::default);
        counts.elsewhere += u64::from(c.elsewhere);
        match c.change {
            Change::Same => counts.same += 1,
            Change::Newer => counts.newer += 1,
            Change::Older => counts.older += 1,
            Change::Unknown => counts.unknown += 1,
        }
    }

    /// Counts one observation.
    pub fn add(&mut self, o: &Observation) {
        self.endpoints += 1;
        if o.cert.is_some() {
            self.certificates += 1;
        }
        if let Some(c) = o.error_class() {
            *self.errors.entry(c).or_default() += 1;
        }
        // With `--samples`, what other nodes behind the address presented counts for the
        // endpoint too: a node serving an expired certificate is an expired endpoint for
        // the clients it gets. So does the other key type's certificate.
        for f in o.findings_with_others().iter() {
            *self.findings.entry(*f).or_default() += 1;
        }
        if let Some(p) = o.starttls {
            *self.starttls.entry(p).or_default() += 1;
        }
        if o.other_key.is_some() {
            self.second_looks += 1;
            self.second_certificates += u64::from(o.second_cert().is_some());
        }
        if let Some(now) = self.expiry_from {
            self.count_expiry(o, now);
            self.count_chain_end(o);
        }
        if o.ip.is_some_and(|ip| ip.is_ipv6()) && crate::model::no_route(o) {
            self.ipv6_no_route += 1;
        }
        if crate::model::refused_without_a_name(o) {
            self.refused_without_a_name += 1;
        }
        if let Some(c) = &o.cert {
            self.shared_keys.add(c, o);
        }
        if let Some(d) = o.dane.as_deref() {
            match d.error {
                None => {
                    self.dane.published += 1;
                    self.dane.validated += u64::from(d.validated);
                    self.dane.insecure += u64::from(d.insecure);
                }
                Some(_) => self.dane.failed += 1,
            }
        }
        if o.attempts > 1 {
            self.retried += 1;
            if o.cert.is_none() {
                self.retried_failed += 1;
            }
        }
    }

    fn count_expiry(&mut self, o: &Observation, now: i64) {
        // Only what is still valid: the expired are counted among the findings.
        let first = o
            .cert
            .iter()
            .chain(o.second_cert())
            .chain(
                o.samples
                    .iter()
                    .flat_map(|s| s.others.iter().map(|x| &x.cert)),
            )
            .filter(|c| c.not_after_unix >= now)
            .min_by_key(|c| c.not_after_unix);
        let Some(c) = first else { return };
        let left = c.not_after_unix - now;
        self.expiring_7 += u64::from(left < 7 * DAY);
        self.expiring_30 += u64::from(left < 30 * DAY);
        Soonest::keep_earlier(&mut self.soonest, c.not_after_unix, o, || {
            (c.not_after.clone(), c.serial.clone())
        });
    }

    fn count_chain_end(&mut self, o: &Observation) {
        let Some(e) = o.chain_expires.as_deref() else {
            return;
        };
        self.chains_ending_first += 1;
        Soonest::keep_earlier(&mut self.soonest_chain, e.not_after_unix, o, || {
            (e.not_after.clone(), e.subject.clone())
        });
    }

    /// Endpoints with an error class.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// `name count, name count, ...` in the map's order.
fn counts<K: fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `lead` and the first five of `items`, `; `-separated, and how many more there
/// are; nothing when there are none.
fn first_few(f: &mut fmt::Formatter<'_>, lead: &str, items: &[String]) -> fmt::Result {
    const SHOWN: usize = 5;
    if items.is_empty() {
        return Ok(());
    }
    write!(f, "{lead}{}", items[..items.len().min(SHOWN)].join("; "))?;
    if items.len() > SHOWN {
        write!(f, "; and {} more", items.len() - SHOWN)?;
    }
    Ok(())
}

/// `1 endpoint`, `2 endpoints`: a summary read by people ("1 endpoints" reads as a slip).
pub(crate) fn n(count: u64, one: &str, many: &str) -> String {
    match count {
        1 => format!("1 {one}"),
        _ => format!("{count} {many}"),
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_headline(f)?;
        self.write_targets(f)?;
        self.write_failures(f)?;
        self.write_endpoints(f)?;
        self.write_expiry(f)?;
        self.write_dane(f)?;
        self.write_keys(f)?;
        self.write_crl(f)?;
        self.write_previous(f)?;
        self.write_ocsp(f)?;
        for e in &self.outputs_lost {
            writeln!(
                f,
                "  outputs: {e}: given up there; the file holds the rows written before"
            )?;
        }
        Ok(())
    }
}

/// The summary's sections, in the order they are written.
impl Summary {
    /// The first line: endpoints, certificates, time, pace, and whether the sweep was stopped.
    fn write_headline(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.duration.as_secs_f64();
        let rate = if secs > 0.0 {
            self.endpoints as f64 / secs
        } else {
            0.0
        };
        writeln!(
            f,
            "{}, {} captured, {:.1}s, {:.0} endpoints/s{}",
            n(self.endpoints, "endpoint", "endpoints"),
            n(self.certificates, "certificate", "certificates"),
            secs,
            rate,
            if self.interrupted.is_some() {
                " (interrupted: targets not yet started were skipped)"
            } else {
                ""
            }
        )?;
        Ok(())
    }

    /// What became of the list's lines: bad, duplicates, unread, excluded.
    fn write_targets(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bad_targets > 0 || self.duplicates > 0 || self.duplicate_endpoints > 0 {
            write!(
                f,
                "  targets: {} skipped, {} collapsed",
                n(self.bad_targets, "bad line", "bad lines"),
                n(self.duplicates, "duplicate", "duplicates")
            )?;
            if self.duplicate_endpoints > 0 {
                write!(
                    f,
                    ", {} named by more than one target scanned once",
                    n(self.duplicate_endpoints, "endpoint", "endpoints")
                )?;
            }
            writeln!(f)?;
        }
        if let Some(at) = &self.targets_unread {
            writeln!(
                f,
                "  targets: reading stopped at {at}; the targets after it were not swept"
            )?;
        }
        if self.excluded_names > 0 || self.excluded_addresses > 0 {
            // Not rows of the reports: nothing was asked of them. Counted, so that a list
            // excluding more than meant shows.
            writeln!(
                f,
                "  excluded (--exclude): {} by name, not resolved; {} by address, not connected to",
                n(self.excluded_names, "target", "targets"),
                n(self.excluded_addresses, "endpoint", "endpoints")
            )?;
        }
        Ok(())
    }

    /// Why endpoints gave no certificate: the error classes, and the causes behind many rows (a family not answered, a resolver silent).
    fn write_failures(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dns_half_answered > 0 {
            // Otherwise invisible: the endpoints of the failed family never become rows.
            writeln!(
                f,
                "  dns: {} answered for one address family only, the question for the other failed (timeout or SERVFAIL); endpoints of that family were not scanned",
                n(self.dns_half_answered, "name", "names")
            )?;
        }
        if !self.errors.is_empty() {
            writeln!(f, "  errors: {}", counts(&self.errors))?;
        }
        if let Some(r) = &self.dns_unheard {
            // Named: rows pinned to addresses may have been scanned, so not every row
            // says it, and the configuration it came from is not on the command line.
            writeln!(f, "{}", crate::report::resolver_unheard_line(r))?;
        } else if self.endpoints > 0
            && self.errors.get(&ErrorClass::DnsError) == Some(&self.endpoints)
        {
            // A resolver that answers nothing makes every row an error of its own: the
            // cause is here, not at the endpoints.
            writeln!(
                f,
                "  dns: no lookup succeeded: check that the resolver answers from this host (--resolver, or the system's)"
            )?;
        }
        Ok(())
    }

    /// What the sweep met on the way: no IPv6 route, refusals without a name, retries, second looks, STARTTLS, the findings.
    fn write_endpoints(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ipv6_no_route > 0 {
            // The scanning host's limit, not the endpoints' fault: say so once.
            writeln!(
                f,
                "  ipv6: {} not tried: this host has no route to their network (no IPv6 here? --ipv4-only leaves AAAA answers out)",
                n(self.ipv6_no_route, "endpoint", "endpoints")
            )?;
        }
        if self.refused_without_a_name > 0 {
            // A CIDR sweep over a CDN's addresses: thousands of rows with one cause.
            writeln!(
                f,
                "  sni: {} refused a handshake that asked for no name: servers holding certificates for names only (CDN edges, Envoy and Istio gateways) refuse so; list them as NAME@ADDRESS",
                n(self.refused_without_a_name, "bare address", "bare addresses")
            )?;
        }
        if self.retried > 0 {
            // Flaky endpoints: a reset or timeout that a second try got past is still worth
            // a look (an overloaded node, a half-broken balancer member).
            writeln!(
                f,
                "  retried: {} needed more than one connection, {} of them still failed",
                n(self.retried, "endpoint", "endpoints"),
                self.retried_failed
            )?;
        }
        if self.second_looks > 0 {
            writeln!(
                f,
                "  key types: {} asked again offering only the other key type, {} of them presented a second certificate",
                n(self.second_looks, "endpoint", "endpoints"),
                self.second_certificates
            )?;
        }
        if !self.starttls.is_empty() {
            // Ports pick a dialogue by themselves (--starttls auto): say which ones did.
            writeln!(f, "  starttls endpoints: {}", counts(&self.starttls))?;
        }
        if !self.findings.is_empty() {
            writeln!(f, "  findings: {}", counts(&self.findings))?;
        }
        Ok(())
    }

    /// What expires first: certificates, then chains.
    fn write_expiry(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(now), Some(s)) = (self.expiry_from, &self.soonest) {
            writeln!(
                f,
                "  expiry: {} within 7 days, {} within 30 days; first to expire: {}, serial {}, on {} (in {})",
                n(self.expiring_7, "endpoint", "endpoints"),
                self.expiring_30,
                s.endpoint,
                s.named,
                s.not_after,
                crate::timefmt::span(s.not_after_unix - now)
            )?;
        }
        if let (Some(now), Some(s)) = (self.expiry_from, &self.soonest_chain) {
            // A chain that breaks before its certificate is due for renewal: when, first.
            writeln!(
                f,
                "  chains: {} with a CA certificate ending before the certificate; first: {}, \"{}\" on {} (in {})",
                n(self.chains_ending_first, "endpoint", "endpoints"),
                s.endpoint,
                s.named,
                s.not_after,
                crate::timefmt::span(s.not_after_unix - now)
            )?;
        }
        Ok(())
    }

    /// The TLSA records met (`--dane`).
    fn write_dane(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let DaneCounts {
            published,
            validated,
            failed,
            insecure,
        } = self.dane;
        if published + failed > 0 {
            // Whether the records were vouched for decides whether a mismatch stops mail
            // now: a resolver that does not validate never says.
            write!(
                f,
                "  dane: {} with TLSA records, {validated} of them DNSSEC-validated by the resolver",
                n(published, "endpoint", "endpoints")
            )?;
            if insecure > 0 {
                // The resolver validates: the others are an unsigned zone's.
                write!(
                    f,
                    "; {insecure} in unsigned zones, which DANE clients ignore"
                )?;
            } else if validated < published {
                write!(
                    f,
                    " (a resolver that does not validate vouches for none: give --resolver one that does to tell)"
                )?;
            }
            if failed > 0 {
                write!(f, "; the TLSA question failed for {failed}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }

    /// Keys shared across names of one issuer: a TLS-inspecting proxy, or reuse.
    fn write_keys(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (issuer, first) in self.shared_keys.told() {
            // Every row may be about a proxy: said before the rows are read as the servers'.
            let names = |n: &[String]| n.join(", ");
            let (other_at, other_names) = first.other.clone().unwrap_or_default();
            writeln!(
                f,
                "  keys: {} presented certificates of \"{issuer}\" for other names with the key {} presented (for {}), {other_at} among them (for {}): a TLS-inspecting proxy between certsweep and the servers mints certificates so, and then what was captured is the proxy's, not the servers' (sweep from a path without inspection, or give the proxy's bypass list these names); otherwise one key is reused across certificates",
                n(first.others, "endpoint", "endpoints"),
                first.endpoint,
                names(&first.names),
                names(&other_names)
            )?;
        }
        Ok(())
    }

    /// The revocation lists read (`--crl`).
    fn write_crl(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.crl_lists.is_empty() {
            let read: Vec<usize> = self
                .crl_lists
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok().copied())
                .collect();
            let failed: Vec<String> = self
                .crl_lists
                .iter()
                .filter_map(|(url, r)| r.as_ref().err().map(|e| format!("{url} ({e})")))
                .collect();
            write!(
                f,
                "  crl: {} read ({} revoked in all)",
                n(read.len() as u64, "list", "lists"),
                read.iter().sum::<usize>()
            )?;
            first_few(f, "; not read: ", &failed)?;
            writeln!(f)?;
        }
        Ok(())
    }

    /// Against the previous sweep's file (`--previous`).
    fn write_previous(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = &self.changes {
            write!(
                f,
                "  previous: against {} ({} with a certificate",
                c.file,
                n(c.read as u64, "endpoint", "endpoints")
            )?;
            if c.bad_lines > 0 {
                write!(f, ", {} not read", n(c.bad_lines as u64, "line", "lines"))?;
            }
            write!(
                f,
                "): {} the same certificate, {} a newer one (a renewal deployed), {} an older one (rolled_back), {} not to compare",
                c.same, c.newer, c.older, c.unknown
            )?;
            if c.elsewhere > 0 {
                write!(
                    f,
                    "; {} at an address not swept then, compared with the name's others",
                    n(c.elsewhere, "endpoint", "endpoints")
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }

    /// The OCSP responders asked (`--ocsp`).
    fn write_ocsp(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ocsp_without_responder.is_some() || !self.ocsp_responders.is_empty() {
            let sum = |g: fn(&crate::ocsp::ResponderTally) -> usize| -> usize {
                self.ocsp_responders.iter().map(|(_, t)| g(t)).sum()
            };
            let answering = self
                .ocsp_responders
                .iter()
                .filter(|(_, t)| t.answered > 0)
                .count();
            write!(
                f,
                "  ocsp: {} answered by {} ({} revoked)",
                n(sum(|t| t.answered) as u64, "certificate", "certificates"),
                n(answering as u64, "responder", "responders"),
                sum(|t| t.revoked)
            )?;
            let failing: Vec<String> = self
                .ocsp_responders
                .iter()
                .filter(|(_, t)| t.failed > 0)
                .map(|(url, t)| {
                    format!(
                        "{url} ({} of {}: {})",
                        t.failed,
                        t.failed + t.answered,
                        t.first_failure.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            if let Some(unnamed) = self.ocsp_without_responder.filter(|u| *u > 0) {
                write!(
                    f,
                    "; {} no http:// responder to ask (--crl asks the CA's list)",
                    n(
                        unnamed as u64,
                        "endpoint's certificate names",
                        "endpoints' certificates name"
                    )
                )?;
            }
            first_few(f, "; no usable answer from ", &failing)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_crl_read_and_the_ones_it_could_not_are_told() {
        let mut s = Summary {
            crl_lists: vec![
                ("http://crl.x.com/1.crl".into(), Ok(3)),
                ("http://crl.x.com/2.crl".into(), Ok(0)),
                (
                    "http://crl.y.com/y.crl".into(),
                    Err("answered HTTP 404".into()),
                ),
            ],
            ..Summary::default()
        };
        assert!(
            s.to_string().ends_with(
                "  crl: 2 lists read (3 revoked in all); not read: http://crl.y.com/y.crl (answered HTTP 404)\n"
            ),
            "{s}"
        );
        s.crl_lists = (0..7)
            .map(|i| (format!("http://c/{i}.crl"), Err("refused".into())))
            .collect();
        assert!(s.to_string().contains("; and 2 more\n"), "{s}");
    }

    #[test]
    fn the_responders_ocsp_asked_and_the_ones_that_gave_no_answer_are_told() {
        use crate::ocsp::ResponderTally;
        let s = Summary {
            ocsp_without_responder: Some(0),
            ocsp_responders: vec![
                (
                    "http://ocsp.x.com".into(),
                    ResponderTally {
                        answered: 40,
                        revoked: 2,
                        failed: 0,
                        first_failure: None,
                    },
                ),
                (
                    "http://ocsp.y.com".into(),
                    ResponderTally {
                        answered: 1,
                        revoked: 0,
                        failed: 3,
                        first_failure: Some("answered HTTP 503".into()),
                    },
                ),
            ],
            ..Summary::default()
        };
        assert!(
            s.to_string().ends_with(
                "  ocsp: 41 certificates answered by 2 responders (2 revoked); no usable answer from http://ocsp.y.com (3 of 4: answered HTTP 503)\n"
            ),
            "{s}"
        );
        // Certificates naming no responder (Let's Encrypt's) are told with the way out.
        let none = Summary {
            ocsp_without_responder: Some(5000),
            ..Summary::default()
        };
        assert!(
            none.to_string().ends_with(
                "  ocsp: 0 certificates answered by 0 responders (0 revoked); 5000 endpoints' certificates name no http:// responder to ask (--crl asks the CA's list)\n"
            ),
            "{none}"
        );
    }

    #[test]
    fn what_changed_since_the_previous_sweep_is_counted() {
        use crate::previous::{Change, Comparison};
        let mut s = Summary::default();
        for (change, elsewhere) in [
            (Change::Same, false),
            (Change::Same, true),
            (Change::Newer, false),
            (Change::Older, true),
            (Change::Unknown, false),
        ] {
            s.note_change(Comparison { change, elsewhere });
        }
        if let Some(c) = s.changes.as_mut() {
            c.file = "last.jsonl".into();
            c.read = 4;
            c.bad_lines = 1;
        }
        assert!(
            s.to_string().contains(
                "  previous: against last.jsonl (4 endpoints with a certificate, 1 line not read): 2 the same certificate, 1 a newer one (a renewal deployed), 1 an older one (rolled_back), 1 not to compare; 2 endpoints at an address not swept then, compared with the name's others\n"
            ),
            "{s}"
        );
    }

    /// An endpoint of `host` at `ip` that presented nothing, failing with `class`.
    fn failed(
        host: &str,
        ip: std::net::IpAddr,
        class: ErrorClass,
        message: String,
    ) -> Box<Observation> {
        let mut o = crate::fleet::presenting(host, ip, "A", 0, 1);
        o.cert = None;
        o.error = Some(crate::model::ErrorInfo { class, message });
        o
    }

    #[test]
    fn ipv6_endpoints_without_a_route_are_told_once_as_this_hosts_limit() {
        let mut s = Summary::default();
        let v6 = std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
        let o = failed(
            "www.x.com",
            v6,
            ErrorClass::ConnectError,
            format!("connect to [2001:db8::1]:443: {}", crate::model::NO_ROUTE),
        );
        s.add(&o);
        s.add(&o);
        let text = s.to_string();
        assert!(
            text.contains("\n  ipv6: 2 endpoints not tried: this host has no route"),
            "{text}"
        );
    }

    #[test]
    fn bare_addresses_refused_without_a_name_are_told_once() {
        let mut s = Summary::default();
        let ip = std::net::IpAddr::from([192, 0, 2, 7]);
        let mut o = failed(
            "192.0.2.7",
            ip,
            ErrorClass::TlsAlert,
            "server sent alert HandshakeFailure".into(),
        );
        let mut named = o.clone();
        o.sni = None;
        s.add(&o);
        s.add(&o);
        // Or closed without an alert, as an Envoy gateway does.
        let mut closed = o.clone();
        closed.error = Some(crate::model::ErrorInfo {
            class: ErrorClass::TlsError,
            message: format!("{}; offered TLS 1.0-1.2", crate::model::RESET_IN_HANDSHAKE),
        });
        s.add(&closed);
        // Asked for a name, the refusal is the listener's.
        named.sni = Some("www.x.com".into());
        s.add(&named);
        let text = s.to_string();
        assert!(
            text.contains("\n  sni: 3 bare addresses refused a handshake that asked for no name"),
            "{text}"
        );
    }

    #[test]
    fn a_resolver_that_answers_nothing_is_named_as_the_cause() {
        let mut s = Summary::default();
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        let mut timed_out = failed(
            "www.x.com",
            ip,
            ErrorClass::DnsError,
            "lookup of www.x.com timed out".into(),
        );
        timed_out.ip = None;
        s.add(&timed_out);
        s.add(&timed_out);
        assert!(
            s.to_string()
                .contains("\n  dns: no lookup succeeded: check that the resolver answers"),
            "{s}"
        );
        // One name resolved: the others' failures are their own.
        s.add(&crate::fleet::presenting("ok.x.com", ip, "B", 0, 1));
        assert!(!s.to_string().contains("no lookup succeeded"), "{s}");
        // A resolver known to have answered nothing is named, whatever the rows say (an
        // endpoint pinned to its address needs no lookup).
        s.dns_unheard = Some("10.0.0.53:53".into());
        assert!(
            s.to_string().contains(
                "\n  dns: the resolver (10.0.0.53:53) answered no question: check that it answers"
            ),
            "{s}"
        );
    }

    #[test]
    fn expiry_counts_what_is_still_valid_and_names_the_first_to_go() {
        let now = 1_800_000_000;
        let mut s = Summary::counting_expiry_from(now);
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        let at = |days: i64| now + days * DAY + 60;
        s.add(&crate::fleet::presenting("a.x.com", ip, "A", 0, at(40)));
        s.add(&crate::fleet::presenting("b.x.com", ip, "B", 0, at(20)));
        s.add(&crate::fleet::presenting("c.x.com", ip, "C", 0, at(6)));
        // Expired: a finding, not the first to expire.
        s.add(&crate::fleet::presenting("d.x.com", ip, "D", 0, now - 1));
        let mut bare = crate::fleet::presenting("10.0.0.9", ip, "E", 0, at(3));
        bare.ip = Some(std::net::IpAddr::from([10, 0, 0, 9]));
        s.add(&bare);
        assert_eq!((s.expiring_7, s.expiring_30), (2, 3));
        let text = s.to_string();
        assert!(
            text.contains("\n  expiry: 2 endpoints within 7 days, 3 within 30 days; first to expire: 10.0.0.9:443, serial E, on "),
            "{text}"
        );
        assert!(text.ends_with(" (in 3 days)\n"), "{text}");
        // Without a clock nothing is counted or shown.
        let mut plain = Summary::default();
        plain.add(&crate::fleet::presenting("c.x.com", ip, "C", 0, at(6)));
        assert_eq!(plain.expiring_7, 0);
        assert!(!plain.to_string().contains("expiry"));
    }

    #[test]
    fn the_other_key_types_findings_are_counted_for_the_endpoint() {
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        let mut o = crate::fleet::presenting("a.x.com", ip, "E", 0, 1);
        o.findings = vec![Finding::OcspStale];
        let rsa = crate::fleet::presenting("a.x.com", ip, "R", 0, 1).cert;
        o.other_key = Some(Box::new(crate::model::OtherKey::new(
            crate::model::KeyFamily::Rsa,
            rsa,
            vec![Finding::DaneMismatch, Finding::OcspStale],
        )));
        let mut s = Summary::default();
        s.add(&o);
        // Once per endpoint, whichever certificate has it.
        assert_eq!(s.findings.get(&Finding::OcspStale), Some(&1));
        assert_eq!(s.findings.get(&Finding::DaneMismatch), Some(&1));
    }

    #[test]
    fn endpoints_with_tlsa_records_are_counted_with_how_many_were_validated() {
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        let with_insecure = |validated: bool, error: Option<&str>, insecure: bool| {
            let mut o = crate::fleet::presenting("mx.x.com", ip, "A", 0, 1);
            o.dane = Some(Box::new(crate::model::DaneInfo {
                records: vec!["3 1 1 00".into()],
                matched: None,
                validated,
                key_pins: Vec::new(),
                only_key_pins: false,
                issuer_pinned: false,
                ca_above: false,
                issuer_key: None,
                insecure,
                stale_if_signed: false,
                ca_pins: Vec::new(),
                unusable: Vec::new(),
                error: error.map(str::to_string),
                at_alias: None,
            }));
            o
        };
        let with = |validated: bool, error: Option<&str>| with_insecure(validated, error, false);
        let mut s = Summary::default();
        s.add(&with(true, None));
        s.add(&with(false, None));
        s.add(&with(false, Some("SERVFAIL")));
        s.add(&crate::fleet::presenting("www.x.com", ip, "B", 0, 1));
        let text = s.to_string();
        assert!(
            text.contains("\n  dane: 2 endpoints with TLSA records, 1 of them DNSSEC-validated by the resolver (a resolver that does not validate vouches for none: give --resolver one that does to tell); the TLSA question failed for 1\n"),
            "{text}"
        );
        // A validating resolver that did not vouch for one: an unsigned zone's.
        s.add(&with_insecure(false, None, true));
        let text = s.to_string();
        assert!(
            text.contains("\n  dane: 3 endpoints with TLSA records, 1 of them DNSSEC-validated by the resolver; 1 in unsigned zones, which DANE clients ignore; the TLSA question failed for 1\n"),
            "{text}"
        );
        let mut s = Summary::default();
        s.add(&crate::fleet::presenting("www.x.com", ip, "B", 0, 1));
        assert!(!s.to_string().contains("dane:"));
    }

    #[test]
    fn certificates_for_other_names_sharing_one_key_and_issuer_are_told() {
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        // `key` and `cert` stand for the SPKI and certificate hashes.
        let presenting = |host: &str, key: char, cert: char| {
            let mut o = crate::fleet::presenting(host, ip, "A", 0, 1);
            let c = o.cert.as_mut().unwrap();
            c.spki_sha256 = key.to_string().repeat(64);
            c.sha256 = cert.to_string().repeat(64);
            o
        };
        let told = |s: &Summary| {
            s.to_string()
                .lines()
                .filter(|l| l.starts_with("  keys: "))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        // A proxy's: one key, a certificate per name asked for.
        let mut s = Summary::default();
        for (host, cert) in [("a.x.com", '1'), ("b.y.org", '2'), ("c.z.net", '3')] {
            s.add(&presenting(host, 'k', cert));
        }
        assert_eq!(
            told(&s),
            ["  keys: 2 endpoints presented certificates of \"CN=CA\" for other names with the key a.x.com at 10.0.0.1:443 presented (for a.x.com), b.y.org at 10.0.0.1:443 among them (for b.y.org): a TLS-inspecting proxy between certsweep and the servers mints certificates so, and then what was captured is the proxy's, not the servers' (sweep from a path without inspection, or give the proxy's bypass list these names); otherwise one key is reused across certificates"]
        );
        // Not: one certificate on many endpoints, a renewal for the same names keeping its
        // key, a key each, or a single reissue for another name with the same key.
        let mut s = Summary::default();
        s.add(&presenting("a.x.com", 'k', '1'));
        s.add(&presenting("a.x.com", 'k', '1'));
        s.add(&presenting("a.x.com", 'k', '2'));
        // Renewals keeping their key, their names listed in another order: not other names.
        let named = |names: &[&str], cert: char| {
            let mut o = presenting(names[0], 'q', cert);
            o.cert.as_mut().unwrap().sans = names.iter().map(|n| n.to_string()).collect();
            o
        };
        let mut renewals = Summary::default();
        renewals.add(&named(&["a.x.com", "www.a.x.com"], '7'));
        renewals.add(&named(&["www.a.x.com", "a.x.com"], '8'));
        renewals.add(&named(&["www.a.x.com", "a.x.com"], '9'));
        assert!(told(&renewals).is_empty(), "{renewals}");
        s.add(&presenting("b.y.org", 'm', '3'));
        s.add(&presenting("c.z.net", 'n', '4'));
        s.add(&presenting("d.x.com", 'k', '5'));
        assert!(told(&s).is_empty(), "{s}");
        // The proxy's key is found behind a certificate of its CA with another key.
        s.add(&presenting("e.y.org", 'm', '6'));
        s.add(&presenting("f.z.net", 'm', '7'));
        assert_eq!(told(&s).len(), 1, "{s}");
        assert!(
            told(&s)[0].contains("with the key b.y.org at 10.0.0.1:443 presented (for b.y.org)")
        );
    }

    #[test]
    fn chains_ending_before_their_certificates_are_counted_and_the_first_named() {
        let now = 1_800_000_000;
        let mut s = Summary::counting_expiry_from(now);
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        let ending = |host: &str, subject: &str, days: i64| {
            let mut o = crate::fleet::presenting(host, ip, "A", 0, now + 300 * DAY);
            let until = now + days * DAY + 60;
            o.chain_expires = Some(Box::new(crate::model::ChainExpiry {
                subject: subject.into(),
                root: false,
                not_after: crate::timefmt::rfc3339_unix(until),
                not_after_unix: until,
            }));
            o
        };
        s.add(&ending("a.x.com", "CN=Policy CA", 40));
        s.add(&ending("b.x.com", "CN=Old Issuing CA", 12));
        s.add(&crate::fleet::presenting(
            "c.x.com",
            ip,
            "C",
            0,
            now + 90 * DAY,
        ));
        assert_eq!(s.chains_ending_first, 2);
        let text = s.to_string();
        assert!(
            text.contains("\n  chains: 2 endpoints with a CA certificate ending before the certificate; first: b.x.com at 10.0.0.1:443, \"CN=Old Issuing CA\" on "),
            "{text}"
        );
        assert!(text.ends_with(" (in 12 days)\n"), "{text}");
    }

    #[test]
    fn endpoints_behind_a_dialogue_are_counted_per_protocol() {
        let mut s = Summary::default();
        let ip = std::net::IpAddr::from([10, 0, 0, 1]);
        let mut mail = crate::fleet::presenting("mx.x.com", ip, "A", 0, 1);
        mail.starttls = Some(Starttls::Smtp);
        s.add(&mail);
        s.add(&mail);
        s.add(&crate::fleet::presenting("www.x.com", ip, "B", 0, 1));
        let text = s.to_string();
        assert!(text.contains("\n  starttls endpoints: smtp 2\n"), "{text}");
        assert!(
            text.starts_with("3 endpoints, 3 certificates captured"),
            "{text}"
        );
        // One is one: not "1 endpoints".
        let mut one = Summary::default();
        one.add(&mail);
        assert!(one
            .to_string()
            .starts_with("1 endpoint, 1 certificate captured"));
    }
}
