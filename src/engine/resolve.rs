//! Names to addresses: every A and AAAA answer becomes its own endpoint.
//!
//! Questions go straight to the recursive resolver through [`super::dnsq`]: a full stub
//! resolver (hickory-resolver's pool, retry layers and cache) cost more CPU per name than the
//! rest of the lookup and grew with the number of distinct names (BENCHMARKS.md). The hosts
//! file is consulted first, names without a dot go through the search list, and answers are
//! kept in a bounded cache so repeated names (many ports of one host) are asked once while
//! memory stays bounded however long the target list is.

use super::dnsq::{fqdn, Answer, Failure, Questions};
use crate::model::{ErrorClass, ErrorInfo};
use hickory_resolver::proto::op::{Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::Hosts;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Which address families to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// A and AAAA.
    #[default]
    Both,
    /// A only.
    V4,
    /// AAAA only.
    V6,
}

/// Names kept in the cache; older ones are forgotten first.
const CACHE_NAMES: usize = 4096;
/// Timeout of one question to one server.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Rounds over the configured servers before a lookup fails.
const ROUNDS: usize = 3;

type Outcome = Result<Arc<[IpAddr]>, ErrorInfo>;
type Slot = Arc<OnceCell<Looked>>;

/// One name's lookup as the cache keeps it.
struct Looked {
    outcome: Outcome,
    alias: Alias,
}

/// What a name's lookup told of its alias (CNAME) chain, for `--dane`
/// ([`Dns::alias_target`]), which would otherwise ask the name's A question again.
#[derive(Clone)]
enum Alias {
    /// The lookup gave no answer to read it from (the hosts file answered, the questions
    /// failed, or a single label went through the search list).
    Untold,
    /// The target at the end of the chain, if the name is an alias, and whether the
    /// answer was DNSSEC-authentic.
    Told(Option<(Arc<str>, bool)>),
}

#[derive(Default)]
struct Cache {
    slots: HashMap<String, Slot>,
    order: VecDeque<String>,
}

/// The sweep's resolver.
pub struct Dns {
    questions: Questions,
    search: Vec<Name>,
    hosts: Option<Hosts>,
    family: Family,
    cache: Mutex<Cache>,
    /// Names with addresses of one family whose other question failed.
    half_answered: AtomicU64,
    /// Whether the resolver validates DNSSEC ([`Dns::validates`]), once asked.
    validating: tokio::sync::OnceCell<Option<bool>>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("servers", &self.questions.servers())
            .field("family", &self.family)
            .finish()
    }
}

impl Dns {
    /// The system resolver configuration (`/etc/resolv.conf`, the hosts file), or only the
    /// server at `server` when given.
    pub fn new(server: Option<SocketAddr>, family: Family) -> Result<Self, String> {
        let (servers, search, hosts) = match server {
            Some(s) => (vec![s], Vec::new(), None),
            None => {
                let (servers, search) = super::dnsq::system_servers()?;
                (servers, search, Hosts::from_system().ok())
            }
        };
        Ok(Dns {
            questions: Questions::new(servers),
            search,
            hosts,
            family,
            cache: Mutex::default(),
            half_answered: AtomicU64::new(0),
            validating: tokio::sync::OnceCell::new(),
        })
    }

    /// Names resolved so far that had addresses of one family while the question for the
    /// other failed (timed out, SERVFAIL): their endpoints of that family were not scanned.
    pub fn half_answered(&self) -> u64 {
        self.half_answered.load(Ordering::Relaxed)
    }

    /// The resolver's addresses when it was asked and never answered
    /// ([`Questions::unheard`]).
    pub fn unheard(&self) -> Option<String> {
        self.questions.unheard()
    }

    /// All addresses of `name` (A before AAAA), deduplicated, or the class of failure.
    pub async fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, ErrorInfo> {
        let slot = {
            let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            match c.slots.get(name) {
                Some(s) => s.clone(),
                None => {
                    let s: Slot = Arc::default();
                    c.slots.insert(name.to_string(), s.clone());
                    c.order.push_back(name.to_string());
                    if c.order.len() > CACHE_NAMES {
                        if let Some(old) = c.order.pop_front() {
                            c.slots.remove(&old);
                        }
                    }
                    s
                }
            }
        };
        slot.get_or_init(|| self.resolve(name))
            .await
            .outcome
            .clone()
            .map(|ips| ips.to_vec())
    }

    async fn resolve(&self, name: &str) -> Looked {
        // A dotted name is asked as-is (absolute): search domains would multiply queries and
        // could answer for a different name. A single label goes through the search list.
        let mut candidates = Vec::new();
        if !name.contains('.') {
            for d in &self.search {
                if let Ok(n) = Name::from_ascii(name).and_then(|n| n.append_domain(d)) {
                    candidates.push(n);
                }
            }
        }
        let untold = |outcome| Looked {
            outcome,
            alias: Alias::Untold,
        };
        match fqdn(name) {
            Ok(n) => candidates.push(n),
            Err(e) => {
                return untold(Err(ErrorInfo {
                    class: ErrorClass::DnsError,
                    message: format!("\"{name}\" is not a DNS name: {e}"),
                }))
            }
        }
        let mut last = None;
        for n in &candidates {
            match self.resolve_one(name, n).await {
                Looked {
                    outcome: Err(e), ..
                } if e.class == ErrorClass::DnsNxdomain => last = Some(e),
                // `alias_target` asks the name as given, not a search domain's.
                looked if candidates.len() > 1 => return untold(looked.outcome),
                looked => return looked,
            }
        }
        untold(Err(last.unwrap_or(ErrorInfo {
            class: ErrorClass::DnsNxdomain,
            message: format!("{name} does not exist (NXDOMAIN)"),
        })))
    }

    async fn resolve_one(&self, shown: &str, name: &Name) -> Looked {
        let untold = |outcome| Looked {
            outcome,
            alias: Alias::Untold,
        };
        if let Some(h) = &self.hosts {
            let mut ips = Vec::new();
            for t in [RecordType::A, RecordType::AAAA] {
                if let Some(l) = h.lookup_static_host(&Query::query(name.clone(), t)) {
                    ips.extend(l.answers().iter().filter_map(|r| address(&r.data)));
                }
            }
            // Blocklist hosts files map the names they block to 0.0.0.0 (or ::).
            let unspecified = ips.iter().copied().find(IpAddr::is_unspecified);
            ips.retain(|ip| self.wanted(*ip) && !ip.is_unspecified());
            if !ips.is_empty() {
                return untold(Ok(ips.into()));
            }
            if let Some(ip) = unspecified {
                return untold(Err(sinkholed(shown, ip, &[])));
            }
        }
        let (v4, v6) = match self.family {
            Family::Both => tokio::join!(
                self.ask(name, RecordType::A),
                self.ask(name, RecordType::AAAA)
            ),
            Family::V4 => (self.ask(name, RecordType::A).await, Err(Failure::Timeout)),
            Family::V6 => (
                Err(Failure::Timeout),
                self.ask(name, RecordType::AAAA).await,
            ),
        };
        let asked: Vec<&Result<Answer, Failure>> = match self.family {
            Family::Both => vec![&v4, &v6],
            Family::V4 => vec![&v4],
            Family::V6 => vec![&v6],
        };
        let servers = self.questions.servers();
        let (outcome, half) = addresses_of(shown, name, &asked, servers, |ip| self.wanted(ip));
        if half {
            self.half_answered.fetch_add(1, Ordering::Relaxed);
        }
        Looked {
            outcome,
            alias: alias_told(name, &asked),
        }
    }

    /// The longest one question takes before it is given up (every round timed out).
    pub fn question_bound() -> Duration {
        TIMEOUT.saturating_mul(ROUNDS as u32)
    }

    /// The TLSA records of `port` at `host` (`_PORT._tcp.HOST`, RFC 6698), for `--dane`:
    /// the answer, or why there is none.
    pub async fn tlsa(&self, port: u16, host: &str) -> Result<Answer, String> {
        let name = super::dnsq::fqdn(&format!("_{port}._tcp.{host}"))?;
        self.ask(&name, RecordType::TLSA)
            .await
            .map_err(|e| format!("the TLSA question for _{port}._tcp.{host}: {e}"))
    }

    /// Whether the resolver validates DNSSEC, as its answer about the root zone (signed
    /// since 2010) tells: a validating resolver vouches for it (the AD bit), one that does
    /// not never does. Asked once, when `--dane` first needs it; `None` when the question
    /// fails (a resolver cut off from the root, a test's that knows only its zones).
    pub async fn validates(&self) -> Option<bool> {
        *self
            .validating
            .get_or_init(|| async {
                let answer = self.ask(&Name::root(), RecordType::SOA).await.ok()?;
                (answer.rcode == ResponseCode::NoError).then_some(answer.authentic)
            })
            .await
    }

    /// Whether the TLSA question of `port` at `host` is answered (records, or none) once
    /// checking is disabled (CD): after a validating resolver's SERVFAIL, the records are
    /// there and fail DNSSEC validation; lame nameservers fail it too.
    pub async fn tlsa_unchecked(&self, port: u16, host: &str) -> bool {
        let Ok(name) = super::dnsq::fqdn(&format!("_{port}._tcp.{host}")) else {
            return false;
        };
        let Some(server) = self.questions.servers().first().copied() else {
            return false;
        };
        let answer = self
            .questions
            .ask_unchecked(server, &name, RecordType::TLSA, TIMEOUT)
            .await;
        answer.is_ok_and(|a| matches!(a.rcode, ResponseCode::NoError | ResponseCode::NXDomain))
    }

    /// The name `host` is an alias (CNAME) of, at the end of its chain, and whether the
    /// resolver said the chain is DNSSEC-authentic; `None` when it is no alias or the
    /// question failed. Read from the answer of the name's address lookup while the cache
    /// holds it, else asked (`--dane` asks it for every endpoint with a certificate: a
    /// name's several addresses, and names pinned to an address, which were not looked up).
    pub async fn alias_target(&self, host: &str) -> Option<(String, bool)> {
        if let Some(Alias::Told(told)) = self.alias_looked_up(host) {
            return told.map(|(target, authentic)| (target.to_string(), authentic));
        }
        let name = fqdn(host).ok()?;
        let answer = self.ask(&name, RecordType::A).await.ok()?;
        match alias_told(&name, &[&Ok(answer)]) {
            Alias::Told(told) => told.map(|(target, authentic)| (target.to_string(), authentic)),
            Alias::Untold => None,
        }
    }

    /// What the cached lookup of `host`, if finished, told of its alias.
    fn alias_looked_up(&self, host: &str) -> Option<Alias> {
        let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        c.slots.get(host)?.get().map(|looked| looked.alias.clone())
    }

    /// One question, over the configured servers, a few rounds, until one answers.
    async fn ask(&self, name: &Name, t: RecordType) -> Result<Answer, Failure> {
        self.questions
            .ask_servers(name, t, ROUNDS, TIMEOUT, true)
            .await
    }

    fn wanted(&self, ip: IpAddr) -> bool {
        match self.family {
            Family::Both => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }
}

/// The addresses the questions of one name gave, or why there are none; and whether a
/// question failed while another gave addresses (that family's endpoints, if any, go
/// unscanned, which the summary says rather than nobody noticing).
fn addresses_of(
    shown: &str,
    asked_for: &Name,
    asked: &[&Result<Answer, Failure>],
    servers: &[SocketAddr],
    wanted: impl Fn(IpAddr) -> bool,
) -> (Outcome, bool) {
    let failed = |a: &Result<Answer, Failure>| match a {
        Err(_) => true,
        Ok(a) => !matches!(a.rcode, ResponseCode::NoError | ResponseCode::NXDomain),
    };
    let mut ips: Vec<IpAddr> = Vec::new();
    let mut sinkhole = None;
    let mut foreign: Option<&Name> = None;
    // A loopback address from a resolver elsewhere is a DNS firewall's answer for a blocked
    // name (RPZ's local data, a blocklist), as the unspecified address is from any: never
    // the name's server. From a resolver on this machine (systemd-resolved, a local unbound
    // or dnsmasq, a test's) it may be the name's own record, and is scanned.
    let remote = !servers.is_empty() && !servers.iter().any(|s| s.ip().is_loopback());
    for a in asked.iter().copied().flatten() {
        let owners = aliases(asked_for, &a.answers);
        for r in &a.answers {
            if let Some(ip) = address(&r.data) {
                if !owners.iter().any(|o| o.eq_ignore_root(&r.name)) {
                    foreign.get_or_insert(&r.name);
                } else if ip.is_unspecified() || (remote && ip.is_loopback()) {
                    sinkhole = Some(ip);
                } else if wanted(ip) && !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
        }
    }
    if !ips.is_empty() {
        let half = asked.iter().any(|a| failed(a));
        return (Ok(ips.into()), half);
    }
    if let Some(ip) = sinkhole {
        return (Err(sinkholed(shown, ip, servers)), false);
    }
    if let Some(other) = foreign {
        return (
            Err(ErrorInfo {
                class: ErrorClass::DnsError,
                message: format!(
                    "lookup of {shown} failed: the resolver answered addresses of {} only, not of {shown} nor of an alias (CNAME) of it",
                    other.to_ascii().trim_end_matches('.')
                ),
            }),
            false,
        );
    }
    (Err(no_address(shown, asked, servers)), false)
}

/// The alias target of `name` by the first answer of `asked` that is NOERROR (a CNAME
/// chain is in the answer to any type's question), and whether that answer was
/// DNSSEC-authentic; untold when none is.
fn alias_told(name: &Name, asked: &[&Result<Answer, Failure>]) -> Alias {
    let Some(answer) = asked
        .iter()
        .copied()
        .flatten()
        .find(|a| a.rcode == ResponseCode::NoError)
    else {
        return Alias::Untold;
    };
    // Most names are no alias: told so without walking the answer.
    if !answer
        .answers
        .iter()
        .any(|r| matches!(r.data, RData::CNAME(_)))
    {
        return Alias::Told(None);
    }
    let chain = aliases(name, &answer.answers);
    Alias::Told(
        chain
            .last()
            .filter(|t| !t.eq_ignore_root(name))
            .map(|target| {
                let target = target.to_ascii();
                (
                    target.trim_end_matches('.').to_ascii_lowercase().into(),
                    answer.authentic,
                )
            }),
    )
}

/// The name asked for and the aliases (CNAME) its answer leads to: the owners whose
/// addresses are the name's. Others in the answer section are not (a resolver or middlebox
/// that adds records of other names), and stub resolvers such as glibc's drop them too.
fn aliases<'a>(asked_for: &'a Name, answers: &'a [Record]) -> Vec<&'a Name> {
    let mut owners = vec![asked_for];
    // The chain may come in any order; each pass adds at least one alias or ends, and a
    // loop of aliases ends when no new owner is found.
    loop {
        let before = owners.len();
        for r in answers {
            if let RData::CNAME(target) = &r.data {
                let known = |n: &Name| owners.iter().any(|o| o.eq_ignore_root(n));
                if known(&r.name) && !known(&target.0) {
                    owners.push(&target.0);
                }
            }
        }
        if owners.len() == before {
            return owners;
        }
    }
}

/// A name whose only address is the unspecified one (what DNS firewalls (RPZ), Pi-hole
/// and blocklist hosts files answer for a name they block, and what a placeholder record
/// holds), or a loopback one from `servers`, resolvers elsewhere. A connection to it
/// reaches the machine certsweep runs on, whose certificate would be reported as the
/// name's, so it is no endpoint.
fn sinkholed(shown: &str, ip: IpAddr, servers: &[SocketAddr]) -> ErrorInfo {
    let message = if ip.is_unspecified() {
        format!(
            "{shown} resolves to {ip} only, the unspecified address (a blocklist's answer for a blocked name, or a placeholder record), which is not scanned: connecting to it would reach this machine"
        )
    } else {
        // A loopback address, from `servers`, all elsewhere (see `addresses_of`).
        let from: Vec<String> = servers.iter().map(ToString::to_string).collect();
        format!(
            "{shown} resolves to {ip} only, a loopback address, from a resolver elsewhere ({}): a DNS firewall's answer for a blocked name, not a server's, and not scanned: connecting to it would reach this machine (to scan this machine, pin it: {shown}@{ip})",
            from.join(", ")
        )
    };
    ErrorInfo {
        class: ErrorClass::DnsNoAddress,
        message,
    }
}

/// Why the questions of a name gave no address, the most telling reason first.
fn no_address(
    shown: &str,
    asked: &[&Result<Answer, Failure>],
    servers: &[SocketAddr],
) -> ErrorInfo {
    let dns_error = |message: String| ErrorInfo {
        class: ErrorClass::DnsError,
        message,
    };
    for a in asked {
        match a {
            Err(Failure::Timeout) => {
                // Named, with the wait: a `--resolver` that is no DNS server (or a closed
                // port, whose refusal an unconnected UDP socket never hears) times out on
                // every name, and the message is where that shows.
                let to: Vec<String> = servers.iter().map(SocketAddr::to_string).collect();
                return dns_error(format!(
                    "lookup of {shown} timed out: no answer from {} ({ROUNDS} tries of {} s each)",
                    to.join(", "),
                    TIMEOUT.as_secs()
                ));
            }
            Err(Failure::Network(m)) => return dns_error(format!("lookup of {shown} failed: {m}")),
            Ok(a) if !matches!(a.rcode, ResponseCode::NoError | ResponseCode::NXDomain) => {
                // A validating resolver says why (RFC 8914): "7 Signature Expired" points
                // at the zone's DNSSEC, not at the resolver.
                let why = a
                    .ede
                    .as_deref()
                    .map(|e| format!(" (Extended DNS Error {e})"))
                    .unwrap_or_default();
                return dns_error(format!(
                    "lookup of {shown} failed: the resolver answered {}{why}",
                    a.rcode
                ));
            }
            _ => {}
        }
    }
    // An alias whose target does not resolve: the name exists, the target is what to fix
    // (and a dangling alias to a released cloud name is how subdomains are taken over).
    let alias = asked
        .iter()
        .copied()
        .flatten()
        .flat_map(|a| &a.answers)
        .filter_map(|r| match &r.data {
            RData::CNAME(target) => Some(target.0.to_string()),
            _ => None,
        })
        .next_back()
        .map(|t| {
            format!(
                "{shown} is an alias (CNAME) of {}, which",
                t.trim_end_matches('.')
            )
        });
    if asked
        .iter()
        .all(|a| matches!(a, Ok(a) if a.rcode == ResponseCode::NXDomain))
    {
        return ErrorInfo {
            class: ErrorClass::DnsNxdomain,
            message: match alias {
                Some(a) => format!(
                    "{a} does not exist (NXDOMAIN): a dangling alias; remove it or restore its target"
                ),
                None => format!("{shown} does not exist (NXDOMAIN)"),
            },
        };
    }
    ErrorInfo {
        class: ErrorClass::DnsNoAddress,
        message: match alias {
            Some(a) => format!("{a} has no address records"),
            None => format!("{shown} has no address records"),
        },
    }
}

fn address(r: &RData) -> Option<IpAddr> {
    match r {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::{A, AAAA};

    fn answer(rcode: ResponseCode, ips: &[&str]) -> Result<Answer, Failure> {
        let name = Name::from_ascii("www.example.").unwrap();
        Ok(Answer {
            rcode,
            authoritative: false,
            authentic: false,
            ede: None,
            answers: ips
                .iter()
                .map(|ip| {
                    let data = match ip.parse::<IpAddr>().unwrap() {
                        IpAddr::V4(v4) => RData::A(A(v4)),
                        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
                    };
                    Record::from_rdata(name.clone(), 60, data)
                })
                .collect(),
            authorities: Vec::new(),
        })
    }

    /// The name [`answer`]'s records are of.
    fn www() -> Name {
        Name::from_ascii("www.example.").expect("a name")
    }

    fn ips(o: &Outcome) -> Vec<String> {
        o.as_ref()
            .map(|a| a.iter().map(|ip| ip.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_name_resolving_to_the_unspecified_address_only_is_no_endpoint() {
        // A blocklist's (RPZ, Pi-hole) answer for a blocked name: connecting to 0.0.0.0
        // reaches this machine, whose certificate would be reported as the name's.
        let any = |_: IpAddr| true;
        let to: [SocketAddr; 1] = ["127.0.0.1:1".parse().expect("an address")];
        let v4 = answer(ResponseCode::NoError, &["0.0.0.0"]);
        let v6 = answer(ResponseCode::NoError, &["::"]);
        let (o, half) = addresses_of("ads.example", &www(), &[&v4, &v6], &to, any);
        let e = o.unwrap_err();
        assert_eq!(e.class, ErrorClass::DnsNoAddress);
        assert_eq!(
            e.message,
            "ads.example resolves to :: only, the unspecified address (a blocklist's answer for a blocked name, or a placeholder record), which is not scanned: connecting to it would reach this machine"
        );
        assert!(!half);
        // Beside a real address it is left out, the real one scanned.
        let both = answer(ResponseCode::NoError, &["0.0.0.0", "192.0.2.1"]);
        let none = answer(ResponseCode::NoError, &[]);
        let (o, _) = addresses_of("www", &www(), &[&both, &none], &to, any);
        assert_eq!(ips(&o), ["192.0.2.1"]);
    }

    #[test]
    fn a_loopback_answer_from_a_resolver_elsewhere_is_no_endpoint() {
        // RPZ's local data or a blocklist answering 127.0.0.1 for a blocked name: the
        // connection would reach this machine's own service.
        let any = |_: IpAddr| true;
        let remote: [SocketAddr; 1] = ["192.0.2.53:53".parse().expect("an address")];
        let v4 = answer(ResponseCode::NoError, &["127.0.0.1"]);
        let v6 = answer(ResponseCode::NoError, &["::1"]);
        let (o, _) = addresses_of("ads.example", &www(), &[&v4, &v6], &remote, any);
        let e = o.unwrap_err();
        assert_eq!(e.class, ErrorClass::DnsNoAddress);
        assert_eq!(
            e.message,
            "ads.example resolves to ::1 only, a loopback address, from a resolver elsewhere (192.0.2.53:53): a DNS firewall's answer for a blocked name, not a server's, and not scanned: connecting to it would reach this machine (to scan this machine, pin it: ads.example@::1)"
        );
        // Beside a real address it is left out.
        let both = answer(ResponseCode::NoError, &["127.0.0.1", "192.0.2.1"]);
        let none = answer(ResponseCode::NoError, &[]);
        let (o, _) = addresses_of("www", &www(), &[&both, &none], &remote, any);
        assert_eq!(ips(&o), ["192.0.2.1"]);
        // From a resolver on this machine it may be the name's record: scanned.
        let local: [SocketAddr; 2] = [
            "192.0.2.53:53".parse().expect("an address"),
            "127.0.0.53:53".parse().expect("an address"),
        ];
        let (o, _) = addresses_of("www", &www(), &[&v4, &none], &local, any);
        assert_eq!(ips(&o), ["127.0.0.1"]);
    }

    #[test]
    fn only_the_addresses_of_the_name_and_its_aliases_are_its_endpoints() {
        let any = |_: IpAddr| true;
        let to: [SocketAddr; 1] = ["127.0.0.1:1".parse().expect("an address")];
        let name = |s: &str| Name::from_ascii(s).expect("a name");
        let record = |owner: &str, data: RData| Record::from_rdata(name(owner), 60, data);
        let alias =
            |target: &str| RData::CNAME(hickory_resolver::proto::rr::rdata::CNAME(name(target)));
        let v4 = |ip: &str| RData::A(A(ip.parse().expect("an address")));
        // A chain given out of order, in another case (0x20), beside a record of a name
        // nobody asked about: the chain's address is the endpoint, the stranger's is not.
        let mut a = answer(ResponseCode::NoError, &[]);
        if let Ok(a) = a.as_mut() {
            a.answers = vec![
                record("edge.cdn.example.", v4("192.0.2.7")),
                record("other.example.", v4("198.51.100.1")),
                record("lb.example.", alias("EDGE.cdn.example.")),
                record("WWW.example.", alias("lb.example.")),
            ];
        }
        let none = answer(ResponseCode::NoError, &[]);
        let (o, half) = addresses_of("www.example", &www(), &[&a, &none], &to, any);
        assert_eq!((ips(&o), half), (vec!["192.0.2.7".to_string()], false));
        // Addresses of strangers only: said, not scanned as the name's.
        let mut a = answer(ResponseCode::NoError, &[]);
        if let Ok(a) = a.as_mut() {
            a.answers = vec![record("other.example.", v4("198.51.100.1"))];
        }
        let (o, _) = addresses_of("www.example", &www(), &[&a, &none], &to, any);
        let e = o.unwrap_err();
        assert_eq!(e.class, ErrorClass::DnsError);
        assert_eq!(
            e.message,
            "lookup of www.example failed: the resolver answered addresses of other.example only, not of www.example nor of an alias (CNAME) of it"
        );
        // A loop of aliases ends.
        let mut a = answer(ResponseCode::NoError, &[]);
        if let Ok(a) = a.as_mut() {
            a.answers = vec![
                record("www.example.", alias("lb.example.")),
                record("lb.example.", alias("www.example.")),
            ];
        }
        let (o, _) = addresses_of("www.example", &www(), &[&a, &none], &to, any);
        assert_eq!(o.unwrap_err().class, ErrorClass::DnsNoAddress);
    }

    #[test]
    fn a_failed_family_beside_a_good_one_is_counted_not_silent() {
        let any = |_: IpAddr| true;
        let to: [SocketAddr; 1] = ["127.0.0.1:1".parse().expect("an address")];
        // A answered, AAAA timed out (resolvers and firewalls that drop AAAA): the IPv4
        // endpoints are scanned, and the half answer is reported.
        let v4 = answer(ResponseCode::NoError, &["192.0.2.1"]);
        let (o, half) = addresses_of("www", &www(), &[&v4, &Err(Failure::Timeout)], &to, any);
        assert_eq!((ips(&o), half), (vec!["192.0.2.1".to_string()], true));
        // The same with SERVFAIL for A and an AAAA answer.
        let v6 = answer(ResponseCode::NoError, &["2001:db8::1"]);
        let (o, half) = addresses_of(
            "www",
            &www(),
            &[&answer(ResponseCode::ServFail, &[]), &v6],
            &to,
            any,
        );
        assert_eq!((ips(&o), half), (vec!["2001:db8::1".to_string()], true));
        // No AAAA records (NOERROR, empty) is an answer, not a failure.
        let (o, half) = addresses_of(
            "www",
            &www(),
            &[&v4, &answer(ResponseCode::NoError, &[])],
            &to,
            any,
        );
        assert_eq!((ips(&o), half), (vec!["192.0.2.1".to_string()], false));
        // Nothing anywhere: the row's error says why, and it is not a half answer.
        let (o, half) = addresses_of(
            "www",
            &www(),
            &[&Err(Failure::Timeout), &Err(Failure::Timeout)],
            &to,
            any,
        );
        let e = o.unwrap_err();
        assert_eq!(e.class, ErrorClass::DnsError);
        assert_eq!(
            e.message,
            "lookup of www timed out: no answer from 127.0.0.1:1 (3 tries of 3 s each)"
        );
        assert!(!half);
        let nx = answer(ResponseCode::NXDomain, &[]);
        let (o, _) = addresses_of("www", &www(), &[&nx, &nx], &to, any);
        assert_eq!(o.unwrap_err().class, ErrorClass::DnsNxdomain);
        // NXDOMAIN for an alias's target, as recursive resolvers answer it (RFC 6604): the
        // alias is named with its target.
        let mut nx = answer(ResponseCode::NXDomain, &[]);
        if let Ok(a) = nx.as_mut() {
            let target = Name::from_ascii("gone.cloud.example.").expect("a name");
            a.answers.push(Record::from_rdata(
                Name::from_ascii("www.example.").expect("a name"),
                60,
                RData::CNAME(hickory_resolver::proto::rr::rdata::CNAME(target)),
            ));
        }
        let (o, _) = addresses_of("www.example", &www(), &[&nx, &nx], &to, any);
        let e = o.unwrap_err();
        assert_eq!(e.class, ErrorClass::DnsNxdomain);
        assert_eq!(
            e.message,
            "www.example is an alias (CNAME) of gone.cloud.example, which does not exist (NXDOMAIN): a dangling alias; remove it or restore its target"
        );
    }
}
