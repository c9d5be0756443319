//! DNS as a validation authority sees it: raw queries that keep the response code, the AA bit
//! and the CNAME chain (a stub resolver would hide them), a run-wide cache so thousands of
//! domains under one zone ask each question once, and zone discovery by SOA walk.

pub use crate::engine::dnsq::{fqdn, Answer, Failure};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};

/// How a name lookup (with its CNAME chain) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Records of the asked type were found.
    Found,
    /// The name exists but has no records of that type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// The CNAME chain comes back to a name already seen.
    CnameLoop,
    /// The CNAME chain ends at a name that does not exist.
    CnameDangling,
    /// The server answered with an error code (SERVFAIL, REFUSED).
    Rcode(ResponseCode),
    /// No answer.
    Failed(Failure),
}

/// A lookup through the recursive resolver, CNAMEs followed.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// How it ended.
    pub status: Status,
    /// The records of the asked type.
    pub records: Vec<RData>,
    /// The names the CNAME chain went through (not including the asked name).
    pub chain: Vec<Name>,
}

impl Resolved {
    /// The name the records were found at (the end of the CNAME chain).
    pub fn final_name<'a>(&'a self, asked: &'a Name) -> &'a Name {
        self.chain.last().unwrap_or(asked)
    }
}

type Slot = Arc<OnceCell<Result<Arc<Answer>, Failure>>>;
type BogusSlot = Arc<OnceCell<Option<String>>>;
type ZoneSlot = Arc<OnceCell<Result<Arc<Zone>, String>>>;

/// The recursive resolver the checks ask, with every answer kept for the run.
pub struct Recursive {
    timeout: Duration,
    cache: Mutex<HashMap<(Name, RecordType), Slot>>,
    bogus: Mutex<HashMap<(Name, RecordType), BogusSlot>>,
    zones: Mutex<HashMap<Name, ZoneSlot>>,
    ns_limits: Mutex<HashMap<SocketAddr, Arc<Semaphore>>>,
    ns_seen: Mutex<HashMap<SocketAddr, Heard>>,
    per_server: usize,
    questions: crate::engine::dnsq::Questions,
}

/// What a nameserver address has done so far in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heard {
    /// It answered at least once.
    Answered,
    /// It has timed out this many times and never answered.
    Silent(u32),
}

/// Timeouts after which a nameserver address that never answered is no longer asked.
const GIVE_UP_AFTER: u32 = 3;

/// A zone and the addresses of its authoritative nameservers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The zone apex.
    pub name: Name,
    /// Nameserver names with their addresses (empty when they do not resolve).
    pub nameservers: Vec<(Name, Vec<IpAddr>)>,
}

impl Recursive {
    /// Asks `server`, or the system's configured nameservers when `None`. `per_server` bounds
    /// the queries in flight to any one authoritative server address.
    pub fn new(
        server: Option<SocketAddr>,
        timeout: Duration,
        per_server: usize,
    ) -> Result<Self, String> {
        let servers = match server {
            Some(s) => vec![s],
            None => crate::engine::dnsq::system_servers()?.0,
        };
        Ok(Recursive {
            questions: crate::engine::dnsq::Questions::new(servers),
            timeout,
            cache: Mutex::default(),
            bogus: Mutex::default(),
            zones: Mutex::default(),
            ns_limits: Mutex::default(),
            ns_seen: Mutex::default(),
            per_server: per_server.max(1),
        })
    }

    /// The per-query timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// One question to the recursive resolver, answered once per run.
    pub async fn ask(&self, name: &Name, rtype: RecordType) -> Result<Arc<Answer>, Failure> {
        let slot = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.entry((name.clone(), rtype)).or_default().clone()
        };
        slot.get_or_init(|| async {
            // Two rounds over the configured servers, as a stub resolver would.
            self.questions
                .ask_servers(name, rtype, 2, self.timeout, false)
                .await
                .map(Arc::new)
        })
        .await
        .clone()
    }

    /// Whether a lookup that ended in SERVFAIL (`r`, of `asked`) fails DNSSEC validation: asked
    /// again with checking disabled, the resolver answers. Then the Extended DNS Error the
    /// SERVFAIL carried ("6 DNSSEC Bogus", or empty without one). A resolver that does not
    /// validate never gets here (it answers a bogus zone), and a SERVFAIL that stays one
    /// with checking disabled is the nameservers' failure, not DNSSEC's. Once per name and
    /// type in a run.
    pub async fn dnssec_failure(
        &self,
        asked: &Name,
        r: &Resolved,
        rtype: RecordType,
    ) -> Option<String> {
        if r.status != Status::Rcode(ResponseCode::ServFail) {
            return None;
        }
        let name = r.final_name(asked).clone();
        let slot = {
            let mut bogus = self.bogus.lock().unwrap_or_else(|e| e.into_inner());
            bogus.entry((name.clone(), rtype)).or_default().clone()
        };
        slot.get_or_init(|| async {
            let ede = match self.ask(&name, rtype).await {
                Ok(a) => a.ede.clone().unwrap_or_default(),
                Err(_) => String::new(),
            };
            for s in self.questions.servers() {
                match self
                    .questions
                    .ask_unchecked(*s, &name, rtype, self.timeout)
                    .await
                {
                    Ok(a) if matches!(a.rcode, ResponseCode::NoError | ResponseCode::NXDomain) => {
                        return Some(ede)
                    }
                    Ok(_) => return None,
                    Err(_) => continue,
                }
            }
            None
        })
        .await
        .clone()
    }

    /// Looks `name` up, following CNAMEs (in the answer or by asking again) with loop
    /// detection, at most 16 hops.
    pub async fn resolve(&self, name: &Name, rtype: RecordType) -> Resolved {
        let mut chain: Vec<Name> = Vec::new();
        let mut current = name.clone();
        for _ in 0..16 {
            let answer = match self.ask(&current, rtype).await {
                Ok(a) => a,
                Err(f) => return resolved(Status::Failed(f), vec![], chain),
            };
            // Walk the chain inside this answer first.
            let mut at = current.clone();
            loop {
                let cname = answer.answers.iter().find_map(|r| match &r.data {
                    RData::CNAME(c) if r.name == at && rtype != RecordType::CNAME => {
                        Some(c.0.clone())
                    }
                    _ => None,
                });
                match cname {
                    Some(next) => {
                        if next == *name || chain.contains(&next) {
                            return resolved(Status::CnameLoop, vec![], {
                                chain.push(next);
                                chain
                            });
                        }
                        chain.push(next.clone());
                        at = next;
                    }
                    None => break,
                }
            }
            let records: Vec<RData> = answer
                .answers
                .iter()
                .filter(|r| r.name == at && r.data.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect();
            if !records.is_empty() {
                return resolved(Status::Found, records, chain);
            }
            if at != current {
                // The chain moved on but this answer does not hold the end: ask for it.
                if answer.rcode == ResponseCode::NXDomain {
                    return resolved(Status::CnameDangling, vec![], chain);
                }
                current = at;
                continue;
            }
            let status = match answer.rcode {
                ResponseCode::NoError => Status::NoData,
                ResponseCode::NXDomain if chain.is_empty() => Status::NxDomain,
                ResponseCode::NXDomain => Status::CnameDangling,
                ResponseCode::ServFail if !chain.is_empty() => {
                    // Recursive resolvers answer SERVFAIL to a CNAME loop they detect.
                    Status::Rcode(ResponseCode::ServFail)
                }
                rc => Status::Rcode(rc),
            };
            return resolved(status, vec![], chain);
        }
        resolved(Status::CnameLoop, vec![], chain)
    }

    /// Every address of `name`: AAAA then A (the order a CA tries them), each family's
    /// lookup status kept.
    pub async fn addresses(&self, name: &Name) -> (Resolved, Resolved) {
        let v6 = self.resolve(name, RecordType::AAAA).await;
        let v4 = self.resolve(name, RecordType::A).await;
        (v6, v4)
    }

    /// The zone `name` belongs to, found by asking SOA from `name` itself upwards (so a
    /// challenge name delegated to its own zone is found), with its nameservers. Cached per
    /// zone.
    pub async fn zone_of(&self, name: &Name) -> Result<Arc<Zone>, String> {
        let mut candidate = name.clone();
        let apex = loop {
            match self.ask(&candidate, RecordType::SOA).await {
                Ok(a) => {
                    let has_soa = a
                        .answers
                        .iter()
                        .any(|r| r.name == candidate && matches!(r.data, RData::SOA(_)));
                    if has_soa {
                        break candidate;
                    }
                    match a.rcode {
                        ResponseCode::NoError | ResponseCode::NXDomain => {}
                        rc => return Err(format!("SOA lookup of {candidate} answered {rc}")),
                    }
                }
                Err(f) => return Err(format!("SOA lookup of {candidate} {f}")),
            }
            if candidate.is_root() {
                return Err(format!("no zone found above {name}"));
            }
            candidate = candidate.base_name();
        };
        let slot = {
            let mut zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
            zones.entry(apex.clone()).or_default().clone()
        };
        slot.get_or_init(|| async {
            let ns = self.resolve(&apex, RecordType::NS).await;
            if ns.status != Status::Found {
                return Err(format!(
                    "the NS lookup of zone {apex} failed: {}",
                    describe(&ns.status)
                ));
            }
            let mut nameservers = Vec::new();
            for r in &ns.records {
                if let RData::NS(n) = r {
                    let (v6, v4) = self.addresses(&n.0).await;
                    let mut ips: Vec<IpAddr> = Vec::new();
                    for rd in v4.records.iter().chain(v6.records.iter()) {
                        match rd {
                            RData::A(a) => ips.push(IpAddr::V4(a.0)),
                            RData::AAAA(a) => ips.push(IpAddr::V6(a.0)),
                            _ => {}
                        }
                    }
                    nameservers.push((n.0.clone(), ips));
                }
            }
            nameservers.sort();
            Ok(Arc::new(Zone {
                name: apex.clone(),
                nameservers,
            }))
        })
        .await
        .clone()
    }

    /// Asks one authoritative server directly (RD=0), at most `per_server` at a time per
    /// server address.
    pub async fn ask_authoritative(
        &self,
        server: SocketAddr,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Answer, Failure> {
        let sem = {
            let mut m = self.ns_limits.lock().unwrap_or_else(|e| e.into_inner());
            m.entry(server)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_server)))
                .clone()
        };
        let _permit = sem
            .acquire()
            .await
            .map_err(|_| Failure::Network("closed".into()))?;
        // A nameserver address that never answered after a few tries is not asked again:
        // thousands of domains under one zone would each wait out its timeouts.
        if self.silent(server) {
            return Err(Failure::Timeout);
        }
        let mut last = Failure::Timeout;
        for _ in 0..2 {
            let answer = self
                .questions
                .ask(server, name, rtype, false, self.timeout)
                .await;
            match answer {
                Ok(a) => {
                    self.heard(server, true);
                    return Ok(a);
                }
                Err(e) => last = e,
            }
        }
        if last == Failure::Timeout {
            self.heard(server, false);
        }
        Err(last)
    }

    /// The recursive resolver's addresses when it was asked and never answered
    /// ([`Questions::unheard`](crate::engine::dnsq::Questions::unheard)).
    pub fn resolver_unheard(&self) -> Option<String> {
        self.questions.unheard()
    }

    /// Whether `server` has timed out [`GIVE_UP_AFTER`] times and never answered.
    fn silent(&self, server: SocketAddr) -> bool {
        let m = self.ns_seen.lock().unwrap_or_else(|e| e.into_inner());
        matches!(m.get(&server), Some(Heard::Silent(n)) if *n >= GIVE_UP_AFTER)
    }

    fn heard(&self, server: SocketAddr, answered: bool) {
        let mut m = self.ns_seen.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(server).or_insert(Heard::Silent(0));
        *e = match (*e, answered) {
            (_, true) | (Heard::Answered, _) => Heard::Answered,
            (Heard::Silent(n), false) => Heard::Silent(n + 1),
        };
    }
}

fn resolved(status: Status, records: Vec<RData>, chain: Vec<Name>) -> Resolved {
    Resolved {
        status,
        records,
        chain,
    }
}

/// A short description of a lookup status for messages.
pub fn describe(s: &Status) -> String {
    match s {
        Status::Found => "found".into(),
        Status::NoData => "no records".into(),
        Status::NxDomain => "NXDOMAIN (the name does not exist)".into(),
        Status::CnameLoop => "a CNAME loop".into(),
        Status::CnameDangling => "a CNAME to a name that does not exist".into(),
        Status::Rcode(rc) => format!("{rc}"),
        Status::Failed(f) => f.to_string(),
    }
}

/// Whether an address is in an IANA special-purpose range a public CA will not connect to.
pub fn is_reserved(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64) // 100.64.0.0/10 shared (CGNAT)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 protocol assignments
                || (o[0] == 198 && (o[1] & 0xFE) == 18) // 198.18.0.0/15 benchmarking
                || o[0] >= 240 // reserved for future use
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xFE00) == 0xFC00 // fc00::/7 unique local
                || (s[0] & 0xFFC0) == 0xFE80 // fe80::/10 link local
                || (s[0] == 0x2001 && s[1] == 0x0DB8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xFF9B) // NAT64 well-known prefix
                || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only
                || v6.to_ipv4_mapped().is_some()
                || s[0] == 0x2002 // 6to4
        }
    }
}

/// What a lookup that fails DNSSEC validation means for a CA (`what`: "the TXT lookup of
/// x"; `ede`: the resolver's Extended DNS Error, may be empty).
pub fn dnssec_text(what: &str, ede: &str) -> String {
    let why = if ede.is_empty() {
        String::new()
    } else {
        format!(" (Extended DNS Error {ede})")
    };
    format!("{what} fails DNSSEC validation: the resolver answers SERVFAIL{why}, and answers when asked with checking disabled. A CA validates DNSSEC and fails the same way: re-sign the zone (expired or missing signatures), or make the parent's DS record match a DNSKEY of the zone, or remove the DS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ranges() {
        for r in [
            "10.1.2.3",
            "127.0.0.1",
            "100.64.0.1",
            "192.168.1.1",
            "198.18.0.1",
            "2001:db8::1",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            assert!(is_reserved(r.parse().unwrap()), "{r}");
        }
        for p in ["93.184.216.34", "100.128.0.1", "2606:2800:220:1::1"] {
            assert!(!is_reserved(p.parse().unwrap()), "{p}");
        }
    }
}
