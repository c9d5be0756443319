//! DNS-01: the TXT record at `_acme-challenge.<name>`, checked where the CA's resolver will
//! end up asking: CNAME delegation followed, the zone found from the challenge name itself,
//! and every address of every authoritative nameserver asked directly (RD=0), so a record
//! that exists on one nameserver only is caught before the CA's resolver picks the other.

use super::dns::{fqdn, Failure, Recursive, Status};
use super::ident::Ident;
use super::{short, Check, Evidence};
use base64::Engine as _;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

/// The TXT value the CA will look for: a key authorization (it has a '.') becomes
/// base64url(SHA-256(key authorization)); anything else is taken as the value itself.
pub fn expected_txt(expected: &str) -> String {
    let e = expected.trim();
    if e.contains('.') {
        let d = ring::digest::digest(&ring::digest::SHA256, e.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
    } else {
        e.to_string()
    }
}

fn txt_values(records: &[RData]) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| match r {
            // A CA joins the strings of one record (RFC 7208-style splitting of long values).
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

/// The TXT records at a challenge name as the CA's lookups will find them: through the
/// recursive resolver (CNAMEs followed) and from every address of every authoritative
/// nameserver of the zone.
pub(super) struct TxtSeen {
    /// The name the CNAME chain ends at, where the record must be.
    pub target_shown: String,
    /// The zone holding it.
    pub zone_shown: String,
    /// The values the recursive resolver saw.
    pub recursive: BTreeSet<String>,
    /// The values each nameserver address (`name/address`) answered.
    pub per_ns: BTreeMap<String, BTreeSet<String>>,
    /// What each nameserver address answered, for the report.
    pub evidence: Vec<Evidence>,
}

/// Looks up the TXT records at `challenge` (a name made of the identifier, `_acme-challenge.`
/// and the like) the way [`TxtSeen`] says; the lookup's own failures are findings in `out`
/// (`None` when they leave nothing to judge). `expecting`:
/// a value is wanted there, so a CNAME to nowhere is an error; `method` (DNS-01 or
/// dns-persist-01) names the finding that tells of a CNAME and how much of each value the
/// evidence quotes (a dns-persist-01 record's faults are at its end).
pub(super) async fn gather(
    dns: &Recursive,
    challenge: &str,
    expecting: bool,
    method: super::Method,
    ns_port: u16,
    exclude: Option<&crate::engine::exclude::Exclusions>,
    out: &mut Vec<Check>,
) -> Option<TxtSeen> {
    let challenge = &match fqdn(challenge) {
        Ok(n) => n,
        Err(e) => {
            out.push(Check::fatal(
                "ident_syntax",
                format!("cannot form the name {challenge}: {e}"),
            ));
            return None;
        }
    };
    let mut evidence = Vec::new();
    let seen = dns.resolve(challenge, RecordType::TXT).await;
    let bogus = dns.dnssec_failure(challenge, &seen, RecordType::TXT).await;
    let shown = challenge.to_string().trim_end_matches('.').to_string();
    let target: Name = seen.final_name(challenge).clone();
    let target_shown = target.to_string().trim_end_matches('.').to_string();
    if &target != challenge {
        let m = format!(
            "{shown} is delegated by CNAME to {target_shown}; the TXT record must be placed there"
        );
        out.push(if method == super::Method::DnsPersist01 {
            Check::info("dns_persist_cname_delegation", m)
        } else {
            Check::info("dns01_cname_delegation", m)
        });
    }
    if !judge_lookup(
        &seen,
        bogus.as_deref(),
        &shown,
        &target_shown,
        expecting,
        out,
    ) {
        return None;
    }
    let recursive = txt_values(&seen.records);

    let zone = match dns.zone_of(&target).await {
        Ok(z) => z,
        Err(why) => {
            let timed_out = why.contains("timed out");
            let msg = format!("cannot find the zone of {target_shown}: {why}");
            out.push(if timed_out {
                Check::unknown("dns_zone_not_found", msg)
            } else {
                Check::error("dns_zone_not_found", msg)
            });
            return None;
        }
    };
    let zone_shown = zone.name.to_string().trim_end_matches('.').to_string();

    let nameservers = Nameservers {
        zone: &zone,
        zone_shown: &zone_shown,
        target: &target,
        method,
        ns_port,
        exclude,
    };
    let (per_ns, serials) = nameservers.ask_all(dns, out, &mut evidence).await;
    tell_soa_mismatch(&zone_shown, &serials, out);
    Some(TxtSeen {
        target_shown,
        zone_shown,
        recursive,
        per_ns,
        evidence,
    })
}

/// The authoritative nameservers of the challenge's zone, asked for the target's TXT
/// records.
struct Nameservers<'a> {
    zone: &'a super::dns::Zone,
    zone_shown: &'a str,
    /// The name the CNAME chain ends at.
    target: &'a Name,
    method: super::Method,
    ns_port: u16,
    exclude: Option<&'a crate::engine::exclude::Exclusions>,
}

impl Nameservers<'_> {
    /// The values and the SOA serial each nameserver address (`name/address`) answered;
    /// findings in `out`, every answer in `evidence`.
    async fn ask_all(
        &self,
        dns: &Recursive,
        out: &mut Vec<Check>,
        evidence: &mut Vec<Evidence>,
    ) -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, u32>) {
        let zone_shown = self.zone_shown;
        let mut per_ns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut serials: BTreeMap<String, u32> = BTreeMap::new();
        for (ns_name, ips) in &self.zone.nameservers {
            let ns_shown = ns_name.to_string().trim_end_matches('.').to_string();
            if ips.is_empty() {
                out.push(Check::error(
                    "ns_unreachable",
                    format!("nameserver {ns_shown} of zone {zone_shown} has no address: a CA that picks it fails"),
                ));
                evidence.push(Evidence {
                    at: ns_shown,
                    result: "no address".into(),
                    hops: vec![],
                });
                continue;
            }
            for ip in self.to_ask(&ns_shown, ips, out, evidence) {
                let at = format!("{ns_shown}/{ip}");
                let server = SocketAddr::new(*ip, self.ns_port);
                let asked = Asked {
                    at: &at,
                    zone: self.zone,
                    zone_shown,
                    target: self.target,
                    method: self.method,
                };
                let Some((values, serial)) = asked.ask(dns, server, out, evidence).await else {
                    continue;
                };
                if let Some(serial) = serial {
                    serials.insert(at.clone(), serial);
                }
                per_ns.insert(at, values);
            }
        }
        (per_ns, serials)
    }

    /// The addresses of nameserver `ns_shown` to ask; each of `ips` left out is told of in
    /// `out` and `evidence`.
    fn to_ask<'i>(
        &self,
        ns_shown: &str,
        ips: &'i [std::net::IpAddr],
        out: &mut Vec<Check>,
        evidence: &mut Vec<Evidence>,
    ) -> Vec<&'i std::net::IpAddr> {
        let zone_shown = self.zone_shown;
        // An IPv6 address seen from a host without IPv6: the CA can ask it. When another
        // address of the same nameserver was asked, that one speaks for it; when none
        // could be, nothing is known of its answer (not a lame or unreachable server).
        // So is one on the do-not-scan list (`--exclude`), by name or address.
        let spared = |ip: &std::net::IpAddr| {
            self.exclude
                .is_some_and(|x| x.address(*ip) || x.name(ns_shown))
        };
        let (routed, unrouted): (Vec<&std::net::IpAddr>, Vec<&std::net::IpAddr>) = ips
            .iter()
            .filter(|ip| !spared(ip))
            .partition(|ip| crate::model::route_from_here(**ip));
        let not_asked = unrouted
            .iter()
            .map(|ip| {
                (
                    *ip,
                    "no_route_from_here",
                    crate::model::NO_ROUTE,
                    "check from a host that has it",
                )
            })
            .chain(ips.iter().filter(|ip| spared(ip)).map(|ip| {
                (
                    ip,
                    "excluded",
                    "it is on the --exclude list",
                    "the CA asks it",
                )
            }));
        for (ip, id, why, instead) in not_asked {
            let at = format!("{ns_shown}/{ip}");
            out.push(if routed.is_empty() {
                Check::unknown(
                    id,
                    format!("nameserver {at} of zone {zone_shown} not asked: {why}; {instead}"),
                )
            } else {
                Check::info(
                    id,
                    format!("nameserver {at} of zone {zone_shown} not asked: {why}; its other addresses were"),
                )
            });
            evidence.push(Evidence {
                at,
                result: id.into(),
                hops: vec![],
            });
        }
        routed
    }
}

/// Nameservers serving different SOA serials: a change (the record just published among
/// them) has not reached every one.
fn tell_soa_mismatch(zone_shown: &str, serials: &BTreeMap<String, u32>, out: &mut Vec<Check>) {
    let distinct_serials: BTreeSet<u32> = serials.values().copied().collect();
    if distinct_serials.len() > 1 {
        let each: Vec<String> = serials.iter().map(|(a, s)| format!("{a}: {s}")).collect();
        out.push(Check::warning(
            "ns_soa_mismatch",
            format!("the nameservers of {zone_shown} serve different zone versions ({}): a change has not reached all of them", each.join(", ")),
        ));
    }
}

/// Judges the recursive resolver's answer for the challenge name `shown` (its CNAME chain
/// ending at `target_shown`): a loop, a failed or refused lookup, a DNSSEC failure (`bogus`)
/// or, when a value is `expecting`, a CNAME to nowhere is a finding in `out`; false when
/// the lookup leaves nothing to judge.
fn judge_lookup(
    seen: &super::dns::Resolved,
    bogus: Option<&str>,
    shown: &str,
    target_shown: &str,
    expecting: bool,
    out: &mut Vec<Check>,
) -> bool {
    match &seen.status {
        Status::CnameLoop => {
            out.push(Check::error("cname_loop", format!("the CNAME chain of {shown} loops back on itself ({})", chain_text(&seen.chain))));
            return false;
        }
        Status::Failed(Failure::Timeout) => {
            out.push(Check::unknown("txt_lookup_failed", format!("TXT lookup of {shown} timed out")));
            return false;
        }
        Status::Failed(f) => {
            out.push(Check::unknown("txt_lookup_failed", format!("TXT lookup of {shown} failed: {f}")));
            return false;
        }
        Status::Rcode(_) if bogus.is_some() => {
            out.push(Check::error(
                "dnssec_bogus",
                super::dns::dnssec_text(
                    &format!("the TXT lookup of {shown}"),
                    bogus.unwrap_or_default(),
                ),
            ));
            return false;
        }
        Status::Rcode(rc) => {
            out.push(Check::error(
                "txt_lookup_failed",
                format!("TXT lookup of {shown} answered {rc}: the CA's lookup fails the same way; the nameservers of the zone may be malfunctioning"),
            ));
            return false;
        }
        Status::CnameDangling if expecting => out.push(Check::error(
            "cname_dangling",
            format!("{shown} is a CNAME to {target_shown}, which does not exist: create the TXT record there"),
        )),
        _ => {}
    }
    true
}

/// One nameserver address of the zone holding a challenge name, asked for its TXT records
/// there as a CA's validation authority asks it.
struct Asked<'a> {
    /// `name/address`, as the evidence shows it.
    at: &'a str,
    zone: &'a super::dns::Zone,
    zone_shown: &'a str,
    /// The name the CNAME chain ends at.
    target: &'a Name,
    method: super::Method,
}

impl Asked<'_> {
    /// The values `server` serves at the target and its zone's SOA serial; `None`, with
    /// a finding in `out`, when it does not answer or is lame. Every answer is in
    /// `evidence`.
    async fn ask(
        &self,
        dns: &Recursive,
        server: SocketAddr,
        out: &mut Vec<Check>,
        evidence: &mut Vec<Evidence>,
    ) -> Option<(BTreeSet<String>, Option<u32>)> {
        let Asked {
            at,
            zone,
            zone_shown,
            target,
            method,
        } = *self;
        let ns_port = server.port();
        let txt = dns.ask_authoritative(server, target, RecordType::TXT).await;
        let at = at.to_string();
        let answer = match txt {
            Err(Failure::Timeout) => {
                out.push(Check::error(
                    "ns_unreachable",
                    format!("nameserver {at} of zone {zone_shown} does not answer on port {ns_port}; a CA that asks it fails"),
                ));
                evidence.push(Evidence {
                    at,
                    result: "no answer".into(),
                    hops: vec![],
                });
                return None;
            }
            Err(Failure::Network(e)) => {
                out.push(Check::error(
                    "ns_unreachable",
                    format!("nameserver {at} of zone {zone_shown}: {e}"),
                ));
                evidence.push(Evidence {
                    at,
                    result: "network error".into(),
                    hops: vec![],
                });
                return None;
            }
            Ok(a) => a,
        };
        if !answer.authoritative
            || !matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain)
        {
            out.push(Check::error(
                "ns_lame",
                format!(
                    "nameserver {at} is lame for zone {zone_shown}: it answered {}{} instead of an authoritative answer; fix the delegation or the server",
                    answer.rcode,
                    if answer.authoritative { "" } else { " without the AA bit" }
                ),
            ));
            evidence.push(Evidence {
                at,
                result: format!("lame ({})", answer.rcode),
                hops: vec![],
            });
            return None;
        }
        let records: Vec<RData> = answer
            .answers
            .iter()
            .filter(|r| &r.name == target)
            .map(|r| r.data.clone())
            .collect();
        let values = txt_values(&records);
        let serial = match dns
            .ask_authoritative(server, &zone.name, RecordType::SOA)
            .await
        {
            Ok(soa) => soa.answers.iter().find_map(|r| match &r.data {
                RData::SOA(s) => Some(s.serial),
                _ => None,
            }),
            Err(_) => None,
        };
        let mut result = if values.is_empty() {
            "no TXT".to_string()
        } else {
            values
                .iter()
                .map(|v| match method {
                    super::Method::DnsPersist01 => super::persist::quoted(v),
                    _ => format!("\"{}\"", short(v)),
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        if let Some(s) = serial {
            result.push_str(&format!("; SOA {s}"));
        }
        evidence.push(Evidence {
            at,
            result,
            hops: vec![],
        });
        Some((values, serial))
    }
}

/// Runs the DNS-01 checks; `expected_too` are the values other requests of the run expect
/// at the same name (not stale); `ns_port` is the port authoritative servers are asked on;
/// nameservers `exclude` names (or an address of them) are not asked.
pub async fn check(
    dns: &Recursive,
    ident: &Ident,
    expected: Option<&str>,
    expected_too: Option<&BTreeSet<String>>,
    ns_port: u16,
    exclude: Option<&crate::engine::exclude::Exclusions>,
    out: &mut Vec<Check>,
) -> Vec<Evidence> {
    let want = expected.map(expected_txt);
    let Some(TxtSeen {
        target_shown,
        zone_shown,
        recursive: recursive_values,
        per_ns,
        evidence,
    }) = gather(
        dns,
        &format!("_acme-challenge.{}", ident.base),
        want.is_some(),
        super::Method::Dns01,
        ns_port,
        exclude,
        out,
    )
    .await
    else {
        return Vec::new();
    };

    match &want {
        Some(w) => {
            let missing: Vec<&String> = per_ns
                .iter()
                .filter(|(_, v)| !v.contains(w))
                .map(|(a, _)| a)
                .collect();
            let having = per_ns.len() - missing.len();
            let nowhere = if per_ns.is_empty() {
                // Nothing could be asked directly; fall back to what the resolver saw.
                let absent = !recursive_values.contains(w);
                if absent {
                    out.push(absent_or_wrong(&target_shown, &recursive_values));
                }
                absent
            } else if having == 0 {
                let all: BTreeSet<String> = per_ns.values().flatten().cloned().collect();
                out.push(absent_or_wrong(&target_shown, &all));
                true
            } else {
                false
            };
            if nowhere {
                if let Some(at) = doubled(dns, &target_shown, &zone_shown, &ident.base, w).await {
                    out.push(Check::warning(
                        "txt_double_label",
                        format!("the expected value is at {at}: the name was entered with the zone's name already in it, and the DNS editor appended the zone again; create the record as {target_shown}"),
                    ));
                }
            }
            if !missing.is_empty() && having > 0 {
                out.push(Check::error(
                    "txt_not_propagated",
                    format!(
                        "the TXT value is on {having} of {} nameserver addresses of {zone_shown}; missing on {}: the CA may ask one of those",
                        per_ns.len(),
                        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            let stale: BTreeSet<&String> = per_ns
                .values()
                .flatten()
                .filter(|v| *v != w && !expected_too.is_some_and(|t| t.contains(*v)))
                .collect();
            if !stale.is_empty() && having > 0 {
                out.push(Check::warning(
                    "txt_stale_values",
                    format!(
                        "{target_shown} also has {} other TXT value(s) ({}): old challenges; remove them before they push answers past UDP size",
                        stale.len(),
                        stale.iter().map(|s| format!("\"{}\"", short(s))).collect::<Vec<_>>().join(" ")
                    ),
                ));
            }
        }
        None => {
            let sets: BTreeSet<&BTreeSet<String>> = per_ns.values().collect();
            if sets.len() > 1 {
                let each: Vec<String> = per_ns
                    .iter()
                    .map(|(a, v)| {
                        format!(
                            "{a}: {}",
                            if v.is_empty() {
                                "none".into()
                            } else {
                                v.iter().map(|s| short(s)).collect::<Vec<_>>().join(" ")
                            }
                        )
                    })
                    .collect();
                out.push(Check::error(
                    "txt_not_propagated",
                    format!("the nameservers of {zone_shown} disagree on the TXT at {target_shown} ({}): the CA may ask the one without the value", each.join("; ")),
                ));
            } else {
                let any: BTreeSet<&String> = per_ns
                    .values()
                    .flatten()
                    .chain(recursive_values.iter())
                    .collect();
                if any.is_empty() {
                    out.push(Check::info(
                        "txt_absent",
                        format!("no TXT at {target_shown} yet; the nameservers of {zone_shown} answer, so a record placed there can validate"),
                    ));
                } else {
                    out.push(Check::info(
                        "txt_not_judged",
                        format!(
                            "{target_shown} has TXT {} on every nameserver (not judged: no expected value given)",
                            any.iter().map(|s| format!("\"{}\"", short(s))).collect::<Vec<_>>().join(" ")
                        ),
                    ));
                }
            }
        }
    }
    evidence
}

/// Where a DNS editor puts a record whose name was typed whole into a field that appends the
/// zone (`_acme-challenge.www.example.org` in the zone example.org becomes
/// `_acme-challenge.www.example.org.example.org`), when the expected value `want` is there.
/// A wildcard TXT record cannot fake it: it would answer the right name too.
async fn doubled(
    dns: &Recursive,
    target: &str,
    zone: &str,
    domain: &str,
    want: &str,
) -> Option<String> {
    let mut suffixes = vec![zone];
    if domain != zone {
        suffixes.push(domain);
    }
    for suffix in suffixes {
        let at = format!("{target}.{suffix}");
        let Ok(name) = fqdn(&at) else { continue };
        let seen = dns.resolve(&name, RecordType::TXT).await;
        if txt_values(&seen.records).contains(want) {
            return Some(at);
        }
    }
    None
}

fn absent_or_wrong(at: &str, values: &BTreeSet<String>) -> Check {
    if values.is_empty() {
        Check::error(
            "txt_absent",
            format!("No TXT record found at {at}: place the challenge value there"),
        )
    } else {
        let first = values.iter().next().map(|s| short(s)).unwrap_or_default();
        let more = values.len() - 1;
        Check::error(
            "txt_wrong",
            format!(
                "Incorrect TXT record \"{first}\"{} at {at}: the expected value is not there",
                if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                }
            ),
        )
    }
}

fn chain_text(chain: &[Name]) -> String {
    chain
        .iter()
        .map(|n| n.to_string().trim_end_matches('.').to_string())
        .collect::<Vec<_>>()
        .join(" → ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_authorization_becomes_its_digest() {
        // RFC 8555 §8.4 example shape: base64url(SHA-256(keyAuth)), 43 characters.
        let v = super::expected_txt("token.thumbprint");
        assert_eq!(v.len(), 43);
        assert_eq!(super::expected_txt("abcDEF_-123"), "abcDEF_-123");
    }
}
