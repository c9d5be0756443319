//! One (domain, method) at a time: identifier, CAA, then the method's own checks, under a
//! hard per-domain deadline; many of them at once with bounded concurrency.

use super::caa::{self, CaIdentity};
use super::dns::{self, describe, fqdn, is_reserved, Failure, Recursive, Status};
use super::http01::{self, Expectation, HttpSettings};
use super::{
    alpn, dns01, ident, judge, persist, Check, Evidence, Method, Outcome, Request, Verdict,
};
use crate::engine::handshake::{TlsClient, TlsSettings};
use hickory_resolver::proto::rr::RData;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

/// Everything a check needs to know besides the request.
#[derive(Debug, Clone)]
pub struct Settings {
    /// HTTP-01 ports, timeouts and address policy.
    pub http: HttpSettings,
    /// The port TLS-ALPN-01 is checked on.
    pub tls_port: u16,
    /// The port authoritative nameservers are asked on.
    pub ns_port: u16,
    /// The CA and account CAA is judged for.
    pub ca: CaIdentity,
    /// Accept private addresses and names outside the public suffix list.
    pub allow_private: bool,
    /// Hard limit per (domain, method).
    pub deadline: Duration,
    /// Probes in flight to any one address.
    pub per_address: usize,
}

/// Shared state of a DCV run: the resolver with its caches, TLS clients, address limits.
pub struct Checker {
    dns: Recursive,
    http_tls: TlsClient,
    alpn_tls: TlsClient,
    settings: Settings,
    address_limits: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
}

/// What one check collected so far (kept when the deadline cuts it short).
#[derive(Default)]
struct State {
    checks: Vec<Check>,
    addresses: Vec<String>,
    evidence: Vec<Evidence>,
    caa: Option<String>,
}

impl Checker {
    /// Builds the checker around a recursive resolver.
    pub fn new(settings: Settings, dns: Recursive) -> Result<Self, String> {
        let http_tls = TlsClient::new(&TlsSettings {
            alpn: vec![b"http/1.1".to_vec()],
        })
        .map_err(|e| format!("TLS client: {e}"))?;
        let alpn_tls = TlsClient::new(&TlsSettings {
            alpn: vec![alpn::ACME_TLS_1.to_vec()],
        })
        .map_err(|e| format!("TLS client: {e}"))?;
        Ok(Checker {
            dns,
            http_tls,
            alpn_tls,
            settings,
            address_limits: Mutex::default(),
        })
    }

    /// The recursive resolver's addresses when it answered no question so far
    /// ([`Recursive::resolver_unheard`]).
    pub fn resolver_unheard(&self) -> Option<String> {
        self.dns.resolver_unheard()
    }

    fn limit(&self, ip: IpAddr) -> Arc<Semaphore> {
        let mut m = self
            .address_limits
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        m.entry(ip)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_address.max(1))))
            .clone()
    }

    /// Checks one request and decides its verdict; `pending` holds the TXT values every
    /// DNS-01 request of the run expects, by challenge name ([`pending_txt`]).
    pub async fn check(self: &Arc<Self>, req: &Request, pending: &PendingTxt) -> Outcome {
        let start = Instant::now();
        let checked_at = crate::timefmt::rfc3339_unix(crate::timefmt::now_unix());
        let mut st = State::default();
        let run = crate::catch_panic(self.run(req, pending, &mut st));
        match tokio::time::timeout(self.settings.deadline, run).await {
            Err(_) => st.checks.push(Check::unknown(
                "deadline",
                format!(
                    "not finished within {} (--deadline); the checks done so far are shown",
                    crate::duration::display(self.settings.deadline)
                ),
            )),
            // A bug: the domain is left undecided (never judged on the addresses whose
            // probes survived), with the message to report.
            Ok(Err(what)) => st.checks.push(Check::unknown(
                "internal_error",
                format!(
                    "certsweep failed while checking ({what}): a bug, please report it; the checks done so far are shown"
                ),
            )),
            Ok(Ok(())) => {}
        }
        // Blocking findings first, in the order found.
        st.checks
            .sort_by_key(|c| (!c.blocks(), c.inconclusive, c.severity));
        let verdict = judge(&st.checks);
        Outcome {
            domain: req.domain.clone(),
            method: req.method,
            verdict,
            checks: st.checks,
            addresses: st.addresses,
            evidence: st.evidence,
            caa: st.caa,
            checked_at,
            elapsed_ms: start.elapsed().as_millis() as u64,
            source: req.source.clone(),
        }
    }

    async fn run(self: &Arc<Self>, req: &Request, pending: &PendingTxt, st: &mut State) {
        let s = &self.settings;
        let Some(id) = ident::check(&req.domain, req.method, s.allow_private, &mut st.checks)
        else {
            return;
        };
        let name = match fqdn(&id.base) {
            Ok(n) => n,
            Err(e) => {
                st.checks.push(Check::fatal("ident_syntax", e));
                return;
            }
        };
        // The do-not-scan list: its names get no question either (a CAA or TXT lookup
        // reaches the zone's nameservers, not the host, but a list that names a host means
        // it is not to be looked into).
        if s.http.exclude.as_deref().is_some_and(|x| x.name(&id.base)) {
            st.checks.push(Check::unknown(
                "excluded",
                format!("{} is on the --exclude list: not checked", id.base),
            ));
            return;
        }
        if self.unregistered(&id.base, st).await {
            return;
        }
        if let Some(set) = caa::lookup(&self.dns, &name, &mut st.checks).await {
            caa::evaluate(&set, id.wildcard, req.method, &s.ca, &mut st.checks);
            st.caa = Some(set.summary());
        }
        match req.method {
            Method::Dns01 => {
                let expected_too = pending.get(&challenge_key(&req.domain));
                st.evidence = dns01::check(
                    &self.dns,
                    &id,
                    req.expected.as_deref(),
                    expected_too,
                    s.ns_port,
                    s.http.exclude.as_deref(),
                    &mut st.checks,
                )
                .await;
            }
            Method::DnsPersist01 => {
                st.evidence = persist::check(
                    &self.dns,
                    &id,
                    &s.ca,
                    req.expected.as_deref(),
                    crate::timefmt::now_unix(),
                    s.ns_port,
                    s.http.exclude.as_deref(),
                    &mut st.checks,
                )
                .await;
            }
            Method::Http01 | Method::TlsAlpn01 => {
                let Some(mut ips) = self.addresses(&name, st).await else {
                    return;
                };
                if let Some(x) = s.http.exclude.as_deref() {
                    ips.retain(|&ip| {
                        let out = x.address(ip);
                        if out {
                            st.checks.push(Check::unknown(
                                "excluded",
                                format!("[{ip}] not probed: the address is on the --exclude list; a CA's validation will reach it"),
                            ));
                        }
                        !out
                    });
                    if ips.is_empty() {
                        return;
                    }
                }
                st.addresses = ips.iter().map(IpAddr::to_string).collect();
                if req.method == Method::Http01 {
                    self.http01(req, &id.base, ips, st).await;
                } else {
                    self.alpn(req, &id.base, ips, st).await;
                }
            }
        }
    }

    /// Whether the registered domain above `base` does not exist at all (NXDOMAIN for its
    /// SOA): then nothing else is worth checking. Other answers and failures say nothing
    /// here; the later checks report them.
    async fn unregistered(&self, base: &str, st: &mut State) -> bool {
        let Some(registered) = psl::domain_str(base) else {
            return false;
        };
        let Ok(n) = fqdn(registered) else {
            return false;
        };
        match self
            .dns
            .ask(&n, hickory_resolver::proto::rr::RecordType::SOA)
            .await
        {
            Ok(a) if a.rcode == hickory_resolver::proto::op::ResponseCode::NXDomain => {
                st.checks.push(Check::fatal(
                    "domain_not_registered",
                    format!("{registered} does not exist (NXDOMAIN for its SOA): register the domain or fix the name"),
                ));
                true
            }
            _ => false,
        }
    }

    /// The addresses to probe: AAAA first, then A, reserved ones left out (a CA drops them).
    async fn addresses(
        &self,
        name: &hickory_resolver::proto::rr::Name,
        st: &mut State,
    ) -> Option<Vec<IpAddr>> {
        let shown = name.to_string().trim_end_matches('.').to_string();
        let (v6, v4) = self.dns.addresses(name).await;
        let mut ips: Vec<IpAddr> = Vec::new();
        for r in v6.records.iter().chain(v4.records.iter()) {
            match r {
                RData::AAAA(a) => ips.push(IpAddr::V6(a.0)),
                RData::A(a) => ips.push(IpAddr::V4(a.0)),
                _ => {}
            }
        }
        use hickory_resolver::proto::rr::RecordType;
        let bogus6 = self.dns.dnssec_failure(name, &v6, RecordType::AAAA).await;
        let bogus4 = self.dns.dnssec_failure(name, &v4, RecordType::A).await;
        let bogus = |fam: &str| {
            if fam == "AAAA" {
                bogus6.as_deref()
            } else {
                bogus4.as_deref()
            }
        };
        for (fam, r) in [("AAAA", &v6), ("A", &v4)] {
            match &r.status {
                Status::CnameLoop => {
                    st.checks.push(Check::error(
                        "cname_loop",
                        format!("the CNAME chain of {shown} loops ({fam} lookup)"),
                    ));
                    return None;
                }
                Status::CnameDangling => {
                    let end = r.chain.last().map(|n| n.to_string()).unwrap_or_default();
                    st.checks.push(Check::fatal(
                        "cname_dangling",
                        format!("{shown} is a CNAME to {}, which does not exist: fix or remove the CNAME", end.trim_end_matches('.')),
                    ));
                    return None;
                }
                Status::Rcode(_) if bogus(fam).is_some() => {
                    let what = format!("the {fam} lookup of {shown}");
                    let text = dns::dnssec_text(&what, bogus(fam).unwrap_or_default());
                    st.checks.push(if ips.is_empty() {
                        Check::error("dnssec_bogus", text)
                    } else {
                        Check::warning(
                            "dnssec_bogus",
                            format!("{text}. A CA uses the other family, but fix it"),
                        )
                    });
                }
                Status::Rcode(rc) => {
                    let msg = format!("the {fam} lookup of {shown} answered {rc}");
                    if ips.is_empty() {
                        st.checks.push(Check::error("dns_lookup_failed", format!("{msg}; a CA's lookup fails the same way, so fix the zone's nameservers")));
                    } else {
                        st.checks.push(Check::warning(
                            "dns_lookup_failed",
                            format!("{msg}; a CA uses the other family, but fix it"),
                        ));
                    }
                }
                Status::Failed(f) if ips.is_empty() => {
                    // No answer from our own resolver says nothing about what the CA's
                    // resolver will get: could not tell.
                    let how = match f {
                        Failure::Timeout => "timed out".to_string(),
                        Failure::Network(m) => format!("failed ({m})"),
                    };
                    st.checks.push(Check::unknown(
                        "dns_lookup_failed",
                        format!("the {fam} lookup of {shown} {how}: the resolver used here did not answer"),
                    ));
                }
                _ => {}
            }
        }
        if st
            .checks
            .iter()
            .any(|c| matches!(c.id, "dns_lookup_failed" | "dnssec_bogus") && c.blocks())
        {
            return None;
        }
        if v6.status == Status::NxDomain && v4.status == Status::NxDomain {
            st.checks.push(Check::fatal(
                "dns_nxdomain",
                format!("{shown} does not exist (NXDOMAIN): publish A or AAAA records"),
            ));
            return None;
        }
        if ips.is_empty() {
            st.checks.push(Check::fatal(
                "dns_no_address",
                format!(
                    "{shown} has no A or AAAA record ({}): the CA has nowhere to connect",
                    describe(&v4.status)
                ),
            ));
            return None;
        }
        if !self.settings.allow_private {
            let reserved: Vec<IpAddr> = ips.iter().copied().filter(|ip| is_reserved(*ip)).collect();
            if !reserved.is_empty() {
                let list = reserved
                    .iter()
                    .map(IpAddr::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                ips.retain(|ip| !is_reserved(*ip));
                if ips.is_empty() {
                    st.checks.push(Check::fatal(
                        "dns_reserved_address",
                        format!("{shown} resolves only to private or reserved addresses ({list}); a public CA cannot reach them (split-horizon DNS?)"),
                    ));
                    return None;
                }
                st.checks.push(Check::error(
                    "dns_reserved_address",
                    format!("{shown} also resolves to private or reserved addresses ({list}), which a CA skips; remove them from public DNS"),
                ));
            }
        }
        Some(ips)
    }

    async fn http01(self: &Arc<Self>, req: &Request, host: &str, ips: Vec<IpAddr>, st: &mut State) {
        // A key authorization is `<token>.<thumbprint>`: without a token column, its first
        // part is the token the CA will fetch.
        let token = req
            .token
            .clone()
            .or_else(|| {
                req.expected
                    .as_deref()
                    .and_then(|ka| ka.split_once('.'))
                    .map(|(t, _)| t.to_string())
                    .filter(|t| !t.is_empty())
            })
            .unwrap_or_else(random_token);
        let expect = match (&req.token, &req.expected) {
            (_, Some(ka)) => Expectation::KeyAuthorization(ka.trim_end().to_string()),
            (Some(_), None) => Expectation::TokenOnly,
            (None, None) => Expectation::Nothing,
        };
        let path = format!("/.well-known/acme-challenge/{token}");
        let mut set = JoinSet::new();
        for (i, ip) in ips.iter().copied().enumerate() {
            let me = self.clone();
            let host = host.to_string();
            let path = path.clone();
            set.spawn(async move {
                let sem = me.limit(ip);
                let _permit = sem.acquire_owned().await;
                (
                    i,
                    http01::probe(&me.settings.http, &me.http_tls, &me.dns, &host, ip, &path).await,
                )
            });
        }
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            results.push(crate::joined(r));
        }
        results.sort_by_key(|r| r.0);
        let results: Vec<http01::AddressResult> = results.into_iter().map(|r| r.1).collect();
        st.evidence = http01::judge(&results, &expect, &mut st.checks);
    }

    async fn alpn(self: &Arc<Self>, req: &Request, host: &str, ips: Vec<IpAddr>, st: &mut State) {
        let mut set = JoinSet::new();
        for (i, ip) in ips.iter().copied().enumerate() {
            let me = self.clone();
            let host = host.to_string();
            let expected = req.expected.clone();
            set.spawn(async move {
                let sem = me.limit(ip);
                let _permit = sem.acquire_owned().await;
                let mut checks = Vec::new();
                let ev = alpn::check_address(
                    &me.alpn_tls,
                    &host,
                    ip,
                    me.settings.tls_port,
                    me.settings.http.connect_timeout,
                    expected.as_deref(),
                    &mut checks,
                )
                .await;
                (i, ev, checks)
            });
        }
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            results.push(crate::joined(r));
        }
        results.sort_by_key(|r| r.0);
        for (_, ev, checks) in results {
            st.evidence.push(ev);
            st.checks.extend(checks);
        }
    }
}

/// A random challenge path segment: without the real token, a 404 for an unknown token shows
/// the path reaches the web server.
fn random_token() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 18];
    crate::engine::random::fill(&mut b);
    format!(
        "certsweep-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// Counts over a DCV run.
#[derive(Debug, Default, Clone)]
pub struct DcvSummary {
    /// Rows per verdict.
    pub ready: u64,
    /// Rows that would fail.
    pub not_ready: u64,
    /// Rows that could not be judged.
    pub unknown: u64,
    /// Findings per blocking check id.
    pub failed: std::collections::BTreeMap<&'static str, u64>,
    /// Unusable input lines.
    pub bad_lines: u64,
    /// Rows that repeated a request exactly (domain, method, token, expected); the first was kept.
    pub duplicates: u64,
    /// Wall time.
    pub duration: Duration,
    /// Stopped early, and by what (Ctrl-C, SIGTERM, SIGHUP).
    pub interrupted: Option<crate::interrupt::Stop>,
    /// The first rows not ready or unknown by domain and method, each in a line (domain,
    /// method, verdict, why), so that a run's log says which without a report.
    pub blocked: crate::report::Firsts<(String, &'static str), String>,
    /// The recursive resolver's addresses when it answered no question in the run: every
    /// DNS-dependent verdict is then `unknown` for that reason, not for the domains'.
    pub resolver_unheard: Option<String>,
    /// Report files given up during the run, with why (a write failed); each holds the
    /// rows written before.
    pub outputs_lost: Vec<String>,
}

impl DcvSummary {
    /// Checks certsweep itself failed on (`internal_error`).
    pub fn internal_errors(&self) -> u64 {
        self.failed.get("internal_error").copied().unwrap_or(0)
    }

    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        match o.verdict {
            Verdict::Ready => self.ready += 1,
            Verdict::NotReady => self.not_ready += 1,
            Verdict::Unknown => self.unknown += 1,
        }
        for id in o.failed_ids() {
            *self.failed.entry(id).or_default() += 1;
        }
        if o.verdict != Verdict::Ready {
            self.blocked
                .offer((o.domain.clone(), o.method.as_str()), || {
                    format!(
                        "{} {} {}: {}",
                        o.domain,
                        o.method.as_str(),
                        o.verdict.as_str(),
                        o.reasons().join(" | ")
                    )
                });
        }
    }
}

impl std::fmt::Display for DcvSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} checked in {:.1}s: {} ready, {} not_ready, {} unknown{}",
            self.ready + self.not_ready + self.unknown,
            self.duration.as_secs_f64(),
            self.ready,
            self.not_ready,
            self.unknown,
            if self.interrupted.is_some() {
                " (interrupted)"
            } else {
                ""
            }
        )?;
        for (id, n) in &self.failed {
            writeln!(f, "  {id:<28} {n}")?;
        }
        if self.bad_lines > 0 {
            writeln!(f, "  {} input line(s) skipped (see above)", self.bad_lines)?;
        }
        if self.duplicates > 0 {
            writeln!(
                f,
                "  {} repeated row(s) (same domain, method, token and expected value) collapsed into the first",
                self.duplicates
            )?;
        }
        for e in &self.outputs_lost {
            writeln!(
                f,
                "  outputs: {e}: given up there; the file holds the rows written before"
            )?;
        }
        if let Some(r) = &self.resolver_unheard {
            writeln!(f, "{}", crate::report::resolver_unheard_line(r))?;
        }
        if self.blocked.total > 0 {
            writeln!(f, "  not ready or unknown:")?;
            for b in self.blocked.sorted() {
                writeln!(f, "    {b}")?;
            }
            let more = self.blocked.more();
            if more > 0 {
                writeln!(
                    f,
                    "    ... and {more} more (every one is in --report and --jsonl)"
                )?;
            }
        }
        Ok(())
    }
}

/// TXT values the run's DNS-01 requests expect, by challenge name ([`challenge_key`]).
pub type PendingTxt = HashMap<String, BTreeSet<String>>;

/// The challenge name a domain's DNS-01 record goes under, for comparing requests: an apex
/// and its wildcard (one order, two authorizations) share `_acme-challenge.<apex>`.
pub fn challenge_key(domain: &str) -> String {
    let d = domain.trim().trim_end_matches('.');
    let d = d.strip_prefix("*.").unwrap_or(d);
    idna::domain_to_ascii(d).unwrap_or_else(|_| d.to_ascii_lowercase())
}

/// What every DNS-01 request of a run expects at each challenge name: two authorizations
/// pending at once (an apex and its wildcard in one order, or two orders) each need their
/// value there, so neither is an old challenge to remove.
pub fn pending_txt(requests: &[Request]) -> PendingTxt {
    let mut out = PendingTxt::new();
    for r in requests.iter().filter(|r| r.method == Method::Dns01) {
        if let Some(e) = &r.expected {
            out.entry(challenge_key(&r.domain))
                .or_default()
                .insert(dns01::expected_txt(e));
        }
    }
    out
}

/// Runs every request with at most `concurrency` in flight and hands each outcome to the
/// returned channel as soon as it is decided. Stops starting new ones when `stop` fires.
pub fn start(
    checker: Arc<Checker>,
    requests: Vec<Request>,
    concurrency: usize,
    stop: Arc<tokio::sync::Notify>,
) -> mpsc::Receiver<Outcome> {
    let (tx, rx) = mpsc::channel(1024);
    let pending = Arc::new(pending_txt(&requests));
    tokio::spawn(async move {
        let sem = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut set = JoinSet::new();
        for req in requests {
            let permit = tokio::select! {
                p = sem.clone().acquire_owned() => p,
                _ = stop.notified() => break,
            };
            let Ok(permit) = permit else { break };
            let checker = checker.clone();
            let tx = tx.clone();
            let pending = pending.clone();
            set.spawn(async move {
                let o = checker.check(&req, &pending).await;
                drop(permit);
                let _ = tx.send(o).await;
            });
            while set.try_join_next().is_some() {}
        }
        while set.join_next().await.is_some() {}
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_rows_not_ready_or_unknown() {
        let outcome = |domain: &str, checks: Vec<Check>| Outcome {
            domain: domain.into(),
            method: Method::Http01,
            verdict: super::super::judge(&checks),
            checks,
            addresses: Vec::new(),
            evidence: Vec::new(),
            caa: None,
            checked_at: String::new(),
            elapsed_ms: 0,
            source: String::new(),
        };
        let mut s = DcvSummary::default();
        s.add(&outcome("ok.example", Vec::new()));
        s.add(&outcome(
            "www.example",
            vec![Check::error("http_connect_refused", "Connection refused")],
        ));
        s.add(&outcome(
            "dns.example",
            vec![Check::unknown(
                "dns_lookup_failed",
                "the resolver did not answer",
            )],
        ));
        let text = s.to_string();
        assert!(
            text.contains("  not ready or unknown:\n    dns.example http-01 unknown: the resolver did not answer\n    www.example http-01 not_ready: Connection refused\n"),
            "{text}"
        );
        assert!(
            !text.contains("ok.example") && !text.contains("more"),
            "{text}"
        );
        // By domain, whatever order they finish in: the 20 first kept, the rest counted.
        for i in (0..crate::report::Firsts::<(), ()>::SHOWN).rev() {
            s.add(&outcome(
                &format!("a{i:02}.example"),
                vec![Check::error("http_connect_refused", "refused")],
            ));
        }
        let text = s.to_string();
        assert!(
            text.contains("    a00.example http-01 not_ready: refused\n")
                && text.contains("    a19.example http-01 not_ready: refused\n    ... and 2 more (every one is in --report and --jsonl)\n")
                && !text.contains("www.example"),
            "{text}"
        );
    }
}
