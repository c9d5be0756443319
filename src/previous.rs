//! `scan --previous FILE`: an earlier sweep's JSON lines (its `--jsonl`, of observations or
//! of verdicts), read as what each endpoint served then, so that this sweep tells what
//! changed since: a new certificate (a renewal deployed), and an endpoint that went back
//! to an older one (`rolled_back`: the provisioning bot's rollback, a configuration or
//! snapshot restored, a node that lost the new file), which the records alone cannot tell
//! from a deployment that never happened.

use crate::model::{Finding, LineError, Observation, PreviousCert};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::BufRead;
use std::net::IpAddr;

/// Where a name was served: the name asked for and the port. Its addresses are kept
/// under it, so that an address not swept then (a cloud load balancer's, which change
/// from night to night) is compared with what the name served at the others.
type Spot = (Box<str>, u16);

/// What one address of a name served then.
#[derive(Debug, Clone)]
struct Node {
    ip: Option<IpAddr>,
    /// The newest certificate its connections got.
    then: Then,
    /// The second look's certificate (the other key type's), when it got another one.
    other: Option<Box<Then>>,
}

/// What an endpoint served then, compact: a million endpoints are read whole (about 100
/// bytes each; the RFC 3339 forms are made again when one is told).
#[derive(Debug, Clone)]
struct Then {
    serial: Box<str>,
    not_before_unix: i64,
    /// When the earlier sweep saw it, Unix seconds (`None`: not said).
    scan_unix: Option<i64>,
    /// Whether it could authenticate a TLS client (`None`: the line does not tell).
    client_auth: Option<bool>,
}

/// What the earlier sweep recorded of each endpoint that presented a certificate.
#[derive(Debug, Default)]
pub struct Previous {
    /// The file read.
    pub path: String,
    by_spot: HashMap<Spot, Vec<Node>>,
    /// Endpoints read with a certificate.
    endpoints: usize,
    /// Lines that could not be read (file, line and why).
    pub errors: Vec<LineError>,
}

/// How an endpoint compares with the earlier sweep, and with what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// What changed.
    pub change: Change,
    /// Compared with the name's other addresses: this one was not swept then.
    pub elsewhere: bool,
}

/// What changed since the earlier sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not in the earlier sweep, or without a certificate in one of the two; or at an
    /// address not swept then, with a certificate between those the name's addresses
    /// served (nothing to tell it by).
    Unknown,
    /// The same certificate.
    Same,
    /// Another certificate, issued later than the earlier one (a renewal deployed).
    Newer,
    /// Another certificate, issued before the earlier one: `rolled_back`.
    Older,
}

/// The fields of a JSON line read: an observation's, or a verdict's `observation`.
#[derive(Debug, Deserialize)]
struct Line {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    sni: Option<String>,
    #[serde(default)]
    ip: Option<IpAddr>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    scan_time: Option<String>,
    #[serde(default)]
    cert: Option<LineCert>,
    #[serde(default)]
    samples: Option<LineSamples>,
    #[serde(default)]
    other_key: Option<LineOtherKey>,
    #[serde(default)]
    observation: Option<Box<Line>>,
}

/// What the second look got (`other_key`).
#[derive(Debug, Deserialize)]
struct LineOtherKey {
    #[serde(default)]
    cert: Option<LineCert>,
}

/// What other connections got (`--samples`).
#[derive(Debug, Deserialize)]
struct LineSamples {
    #[serde(default)]
    others: Vec<LineSampled>,
}

#[derive(Debug, Deserialize)]
struct LineSampled {
    cert: LineCert,
}

#[derive(Debug, Deserialize)]
struct LineCert {
    serial: String,
    not_before_unix: i64,
    #[serde(default)]
    key_usage: Option<serde::de::IgnoredAny>,
    #[serde(default, with = "crate::model::eku_names")]
    extended_key_usage: Option<u16>,
}

impl LineCert {
    /// Whether the certificate could authenticate a TLS client, when the line tells: an
    /// Extended Key Usage written, or a Key Usage written without one (no extension: any
    /// purpose). Lines of versions before the two were written have neither, which would
    /// read as any purpose; nor does a certificate without either extension, rare.
    fn client_auth(&self) -> Option<bool> {
        (self.key_usage.is_some() || self.extended_key_usage.is_some())
            .then(|| crate::model::eku_names::allows_client_auth(self.extended_key_usage))
    }
}

impl Previous {
    /// Reads `path`. A line that is not one of certsweep's JSON lines is an error naming its
    /// line, kept in `errors`; the others are read.
    pub fn load(path: &str) -> Result<Previous, crate::Error> {
        let file = std::fs::File::open(path)
            .map_err(|e| crate::Error::Input(format!("--previous {path}: {e}")))?;
        Self::read(path, std::io::BufReader::new(file))
    }

    /// Reads the JSON lines of `r`, named `path` in messages.
    pub fn read(path: &str, r: impl BufRead) -> Result<Previous, crate::Error> {
        let mut p = Previous {
            path: path.to_string(),
            ..Previous::default()
        };
        // Lines as bytes: a line that is not UTF-8 (the last one of a sweep killed in the
        // middle of writing it, cut inside a character) is that line's error, not the file's.
        for (i, line) in r.split(b'\n').enumerate() {
            let line_no = i as u64 + 1;
            let line =
                line.map_err(|e| crate::Error::Input(format!("--previous {path}:{line_no}: {e}")))?;
            if line.trim_ascii().is_empty() {
                continue;
            }
            let bad = |reason: String| LineError {
                file: path.to_string(),
                line: line_no,
                field: None,
                reason,
            };
            let read: Line = match serde_json::from_slice(line.trim_ascii_end()) {
                Ok(l) => l,
                Err(e) => {
                    p.errors
                        .push(bad(format!("not a JSON line of certsweep ({e})")));
                    continue;
                }
            };
            let l = match read.observation {
                Some(o) => *o,
                None => read,
            };
            let (Some(host), Some(port)) = (l.host, l.port) else {
                p.errors.push(bad(
                    "no \"host\" and \"port\": not a JSON line of certsweep scan".into(),
                ));
                continue;
            };
            // The newest certificate any connection got then: behind a balancer whose nodes
            // differ, the first connection meets one node or another from night to night.
            let others = l.samples.map(|s| s.others).unwrap_or_default();
            let newest = l
                .cert
                .into_iter()
                .chain(others.into_iter().map(|o| o.cert))
                .max_by_key(|c| c.not_before_unix);
            let Some(c) = newest else {
                // No certificate then: nothing to compare with.
                continue;
            };
            let scan_unix = l.scan_time.as_deref().and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|t| t.unix_timestamp())
            });
            let other = l
                .other_key
                .and_then(|k| k.cert)
                .filter(|k| k.serial != c.serial)
                .map(|k| {
                    Box::new(Then {
                        client_auth: k.client_auth(),
                        serial: k.serial.into_boxed_str(),
                        not_before_unix: k.not_before_unix,
                        scan_unix,
                    })
                });
            let then = Then {
                client_auth: c.client_auth(),
                serial: c.serial.into_boxed_str(),
                not_before_unix: c.not_before_unix,
                scan_unix,
            };
            let name = l.sni.unwrap_or(host).into_boxed_str();
            // Most names have one address: room for one, not the four a first push makes.
            let nodes = p
                .by_spot
                .entry((name, port))
                .or_insert_with(|| Vec::with_capacity(1));
            // A place swept twice in the file (two sweeps appended): the later line holds.
            match nodes.iter_mut().find(|n| n.ip == l.ip) {
                Some(n) => (n.then, n.other) = (then, other),
                None => {
                    nodes.push(Node {
                        ip: l.ip,
                        then,
                        other,
                    });
                    p.endpoints += 1;
                }
            }
        }
        Ok(p)
    }

    /// Endpoints read with a certificate.
    pub fn len(&self) -> usize {
        self.endpoints
    }

    /// Whether no endpoint with a certificate was read.
    pub fn is_empty(&self) -> bool {
        self.endpoints == 0
    }

    /// Compares `o` with what the endpoint served in the earlier sweep (the newest
    /// certificate any connection got, then and now); when that changed, records the
    /// earlier one in `o.previous`, and when it went back to an older one, adds
    /// `rolled_back`; a newer one that cannot authenticate a TLS client where the earlier
    /// could adds `client_auth_dropped`. The second look's certificate (the other key
    /// type's) is compared with the second look's then alike, into `o.other_key`.
    ///
    /// An address not swept then is compared with what the name served at its other
    /// addresses: the same certificate as one of them, or one issued after all of them, or
    /// before all of them (`rolled_back`: older than anything the name served then); one
    /// issued between them is not told (a node left behind then may be the one answering
    /// at a new address now).
    pub fn annotate(&self, o: &mut Observation) -> Comparison {
        let unknown = Comparison {
            change: Change::Unknown,
            elsewhere: false,
        };
        // The newest certificate any of its connections got now, against the newest then:
        // a node left behind (`backends_differ`) is no rollback.
        let others = o
            .samples
            .as_deref()
            .map(|s| &s.others[..])
            .unwrap_or_default();
        let Some(cert) = o
            .cert
            .iter()
            .chain(others.iter().map(|x| &x.cert))
            .max_by_key(|c| c.not_before_unix)
        else {
            return unknown;
        };
        let spot = (o.asked_name().into(), o.port);
        let Some(nodes) = self.by_spot.get(&spot) else {
            return unknown;
        };
        let main = compare(nodes, o.ip, cert, |n| Some(&n.then));
        if let Some(then) = &main.told {
            if let Some(f) = found(main.change, then, cert.allows_client_auth()) {
                o.findings.push(f);
                o.findings.sort();
                o.findings.dedup();
            }
            o.previous = Some(Box::new(then.clone()));
        }
        let mut compared = Comparison {
            change: main.change,
            elsewhere: main.elsewhere,
        };
        // The other key type's certificate: a rollback of the RSA files while the ECDSA
        // ones stay is the endpoint's rollback too.
        let Some(theirs) = o.second_cert() else {
            return compared;
        };
        let client_auth = theirs.allows_client_auth();
        let second = compare(nodes, o.ip, theirs, |n| n.other.as_deref());
        if let (Some(then), Some(k)) = (second.told, o.other_key.as_deref_mut()) {
            if let Some(f) = found(second.change, &then, client_auth) {
                k.findings.push(f);
                k.findings.sort();
                k.findings.dedup();
            }
            if second.change == Change::Older {
                compared = Comparison {
                    change: Change::Older,
                    elsewhere: second.elsewhere,
                };
            }
            k.previous = Some(Box::new(then));
        }
        compared
    }
}

/// What a change from the certificate served `then` makes: `rolled_back` for an older
/// one; `client_auth_dropped` for a newer one that cannot authenticate a TLS client (its
/// `client_auth`) where the one then could (public CAs issue for serverAuth alone since
/// 2025-2026).
fn found(change: Change, then: &PreviousCert, client_auth: bool) -> Option<Finding> {
    match change {
        Change::Older => Some(Finding::RolledBack),
        Change::Newer if then.client_auth == Some(true) && !client_auth => {
            Some(Finding::ClientAuthDropped)
        }
        _ => None,
    }
}

/// How a certificate served now compares with what was served then.
struct Compared {
    change: Change,
    /// Compared with the name's other addresses.
    elsewhere: bool,
    /// The certificate served then, to record when the change is newer or older.
    told: Option<PreviousCert>,
}

/// How `cert`, served now at `ip`, compares with what `nodes` (a name's addresses on a
/// port) served then, each node's certificate of the kind `pick` chooses (the first
/// connections' newest, the second look's): by the node at `ip`, else by all of them.
fn compare<'a>(
    nodes: &'a [Node],
    ip: Option<IpAddr>,
    cert: &crate::model::CertInfo,
    pick: impl Fn(&'a Node) -> Option<&'a Then>,
) -> Compared {
    let (serial, not_before) = (cert.serial.as_str(), cert.not_before_unix);
    // The same certificate: its serial and its notBefore. A serial alone is not: private
    // CAs number from 01 (OpenSSL's, EasyRSA's), so a new CA's certificate can carry the
    // serial of the old CA's it replaces.
    let same = |t: &Then| *t.serial == *serial && t.not_before_unix == not_before;
    let nothing = |elsewhere| Compared {
        change: Change::Unknown,
        elsewhere,
        told: None,
    };
    // `elsewhere`: the address that served `then`, when it is not this endpoint's own.
    let told = |change, then: &Then, elsewhere: Option<Option<IpAddr>>| Compared {
        change,
        elsewhere: elsewhere.is_some(),
        told: (change != Change::Same).then(|| PreviousCert {
            serial: then.serial.to_string(),
            not_before: crate::timefmt::rfc3339_unix(then.not_before_unix),
            not_before_unix: then.not_before_unix,
            scan_time: then
                .scan_unix
                .map(crate::timefmt::rfc3339_unix)
                .unwrap_or_default(),
            ip: elsewhere.flatten(),
            client_auth: then.client_auth,
        }),
    };
    if let Some(n) = nodes.iter().find(|n| n.ip == ip) {
        // The address was swept then: its own certificate is the measure.
        return match pick(n) {
            Some(t) if same(t) => told(Change::Same, t, None),
            Some(t) if not_before < t.not_before_unix => told(Change::Older, t, None),
            Some(t) => told(Change::Newer, t, None),
            None => nothing(false),
        };
    }
    let picked: Vec<(Option<IpAddr>, &Then)> = nodes
        .iter()
        .filter_map(|n| Some((n.ip, pick(n)?)))
        .collect();
    let newest = picked.iter().max_by_key(|(_, t)| t.not_before_unix);
    let oldest = picked.iter().min_by_key(|(_, t)| t.not_before_unix);
    let (Some(&(newest_ip, newest)), Some((_, oldest))) = (newest, oldest) else {
        return nothing(true);
    };
    if let Some((at, t)) = picked.iter().find(|(_, t)| same(t)) {
        told(Change::Same, t, Some(*at))
    } else if not_before >= newest.not_before_unix {
        told(Change::Newer, newest, Some(newest_ip))
    } else if not_before < oldest.not_before_unix {
        told(Change::Older, newest, Some(newest_ip))
    } else {
        nothing(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renewal_without_the_client_auth_the_certificate_before_had_is_told() {
        use crate::model::eku_names::{CLIENT_AUTH, SERVER_AUTH};
        // Last night's lines: what each endpoint's certificate could do, as this version
        // writes it, and a line of a version that wrote no key usages.
        let line = |ip: u8, usages: &str| {
            format!(
                "{{\"scan_time\":\"2026-11-30T02:00:00Z\",\"host\":\"h{ip}.x.com\",\"ip\":\"10.0.0.{ip}\",\"port\":443,\"cert\":{{\"serial\":\"0B\",\"not_before_unix\":2000{usages}}}}}\n"
            )
        };
        let text = [
            line(1, ",\"key_usage\":[\"digitalSignature\"],\"extended_key_usage\":[\"serverAuth\",\"clientAuth\"]"),
            line(2, ",\"key_usage\":[\"digitalSignature\"]"),
            line(3, ""),
            line(4, ",\"extended_key_usage\":[\"serverAuth\"]"),
            line(5, ",\"extended_key_usage\":[\"clientAuth\"]"),
        ]
        .concat();
        let p = Previous::read("last.jsonl", text.as_bytes()).expect("read");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let now = |ip: u8, nb: i64, eku: Option<u16>| {
            let at = std::net::Ipv4Addr::new(10, 0, 0, ip);
            let host = format!("h{ip}.x.com");
            let mut o = crate::fleet::presenting(&host, at.into(), "0C", nb, nb + 1);
            o.findings.clear();
            if let Some(c) = o.cert.as_mut() {
                c.extended_key_usage = eku;
            }
            let change = p.annotate(&mut o).change;
            (change, o.findings, o.previous.and_then(|t| t.client_auth))
        };
        let dropped = vec![Finding::ClientAuthDropped];
        let server_only = Some(SERVER_AUTH);
        // clientAuth named, or no Extended Key Usage beside a Key Usage (any purpose): a
        // renewal for serverAuth alone dropped it.
        assert_eq!(
            now(1, 3_000, server_only),
            (Change::Newer, dropped.clone(), Some(true))
        );
        assert_eq!(
            now(2, 3_000, server_only),
            (Change::Newer, dropped, Some(true))
        );
        // A renewal that still allows it, by name or by having no extension: nothing.
        let both = Some(SERVER_AUTH | CLIENT_AUTH);
        assert_eq!(now(1, 3_000, both), (Change::Newer, vec![], Some(true)));
        assert_eq!(now(1, 3_000, None), (Change::Newer, vec![], Some(true)));
        // A line that does not tell: nothing said.
        assert_eq!(now(3, 3_000, server_only), (Change::Newer, vec![], None));
        // Served then for serverAuth alone: nothing lost.
        assert_eq!(
            now(4, 3_000, server_only),
            (Change::Newer, vec![], Some(false))
        );
        // An older certificate is a rollback, whatever it can do.
        assert_eq!(
            now(5, 1_000, server_only),
            (Change::Older, vec![Finding::RolledBack], Some(true))
        );
    }

    #[test]
    fn the_second_looks_renewal_without_client_auth_is_told_of_the_second_look() {
        use crate::model::eku_names::SERVER_AUTH;
        use crate::model::{KeyFamily, OtherKey};
        // Last night the ECDSA certificate and, at the second look, an RSA one that could
        // authenticate a client; tonight the same ECDSA one and the RSA one renewed for
        // serverAuth alone.
        let line = "{\"host\":\"two.x.com\",\"ip\":\"10.0.0.9\",\"port\":443,\"cert\":{\"serial\":\"0E\",\"not_before_unix\":2000},\"other_key\":{\"cert\":{\"serial\":\"0R\",\"not_before_unix\":2000,\"extended_key_usage\":[\"serverAuth\",\"clientAuth\"]}}}\n";
        let p = Previous::read("last.jsonl", line.as_bytes()).expect("read");
        let at = std::net::Ipv4Addr::new(10, 0, 0, 9);
        let mut o = crate::fleet::presenting("two.x.com", at.into(), "0E", 2_000, 9_000);
        o.findings.clear();
        let rsa = crate::fleet::presenting("two.x.com", at.into(), "1R", 3_000, 9_000).cert;
        let mut other = OtherKey::new(KeyFamily::Rsa, rsa, Vec::new());
        if let Some(c) = other.cert.as_mut() {
            c.extended_key_usage = Some(SERVER_AUTH);
        }
        o.other_key = Some(Box::new(other));
        assert_eq!(p.annotate(&mut o).change, Change::Same);
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        let k = o.other_key.as_deref().expect("second look");
        assert_eq!(k.findings, [Finding::ClientAuthDropped]);
        assert_eq!(
            k.previous
                .as_deref()
                .map(|t| (t.serial.as_str(), t.client_auth)),
            Some(("0R", Some(true)))
        );
    }

    #[test]
    fn a_certificate_older_than_the_one_served_before_is_rolled_back() {
        let then = |serial: &str, nb: i64| {
            format!(
                "{{\"scan_time\":\"2026-11-30T02:00:00Z\",\"host\":\"www.x.com\",\"ip\":\"10.0.0.5\",\"port\":443,\"sni\":\"www.x.com\",\"cert\":{{\"serial\":\"{serial}\",\"not_before\":\"t\",\"not_before_unix\":{nb}}}}}"
            )
        };
        let text = format!(
            "{}\n\n{{\"observation\":{}}}\nnot json\n{{\"a\":1}}\n",
            then("0B", 2_000),
            then("0C", 3_000).replace("10.0.0.5", "10.0.0.6")
        );
        let p = Previous::read("last.jsonl", text.as_bytes()).expect("read");
        assert_eq!(p.len(), 2);
        assert_eq!(p.errors.iter().map(|e| e.line).collect::<Vec<_>>(), [4, 5]);
        // A sweep killed while writing a line, cut inside a character ("ü" is two bytes):
        // that line is an error, the lines after it are read.
        let whole = then("0B", 2_000).replace("\"cert\"", "\"subject\":\"Zürich\",\"cert\"");
        let cut_at = whole.find('ü').expect("the umlaut") + 1;
        let mut bytes = whole.as_bytes()[..cut_at].to_vec();
        bytes.push(b'\n');
        bytes.extend_from_slice(then("0C", 3_000).as_bytes());
        bytes.extend_from_slice(b"\r\n");
        let cut = Previous::read("cut.jsonl", &bytes[..]).expect("read");
        assert_eq!(cut.len(), 1);
        assert_eq!(cut.errors.iter().map(|e| e.line).collect::<Vec<_>>(), [1]);
        assert!(p.errors[0]
            .reason
            .starts_with("not a JSON line of certsweep"));
        let now = |ip: [u8; 4], serial: &str, nb: i64| {
            let mut o = crate::fleet::presenting("www.x.com", ip.into(), serial, nb, nb + 1);
            o.findings.clear();
            o
        };
        // The renewal deployed.
        let mut o = now([10, 0, 0, 5], "0D", 4_000);
        assert_eq!(p.annotate(&mut o).change, Change::Newer);
        assert!(o.findings.is_empty());
        assert_eq!(o.previous.as_deref().map(|c| c.serial.as_str()), Some("0B"));
        // Back to an older one, at the address read from a verdict's line.
        let mut o = now([10, 0, 0, 6], "0A", 1_000);
        assert_eq!(p.annotate(&mut o).change, Change::Older);
        assert_eq!(o.findings, [Finding::RolledBack]);
        let prev = o.previous.as_deref().expect("previous");
        assert_eq!(
            (prev.serial.as_str(), prev.scan_time.as_str()),
            ("0C", "2026-11-30T02:00:00Z")
        );
        // The same, or an endpoint not swept before: nothing.
        let mut o = now([10, 0, 0, 5], "0B", 2_000);
        assert_eq!(p.annotate(&mut o).change, Change::Same);
        assert!(o.previous.is_none());
        let mut o = crate::fleet::presenting("new.x.com", [10, 0, 0, 7].into(), "0A", 1, 2);
        o.findings.clear();
        assert_eq!(p.annotate(&mut o).change, Change::Unknown);
        assert!(o.findings.is_empty() && o.previous.is_none());
        // The same serial from another CA (private CAs number from 01): another
        // certificate, told by its date, newer or older.
        let mut o = now([10, 0, 0, 5], "0B", 5_000);
        assert_eq!(p.annotate(&mut o).change, Change::Newer);
        assert_eq!(o.previous.as_deref().map(|c| c.serial.as_str()), Some("0B"));
        let mut o = now([10, 0, 0, 5], "0B", 1_500);
        assert_eq!(p.annotate(&mut o).change, Change::Older);
        assert_eq!(o.findings, [Finding::RolledBack]);
    }

    #[test]
    fn an_address_not_swept_then_is_compared_with_the_names_others() {
        let then = |ip: &str, serial: &str, nb: i64| {
            format!(
                "{{\"scan_time\":\"2026-11-30T02:00:00Z\",\"host\":\"lb.x.com\",\"ip\":\"{ip}\",\"port\":443,\"cert\":{{\"serial\":\"{serial}\",\"not_before_unix\":{nb}}}}}\n"
            )
        };
        // Then: two addresses, one left behind on 0B while the other served 0C.
        let text = then("10.0.0.5", "0C", 3_000) + &then("10.0.0.6", "0B", 2_000);
        let p = Previous::read("last.jsonl", text.as_bytes()).expect("read");
        assert_eq!(p.len(), 2);
        let now = |ip: [u8; 4], serial: &str, nb: i64| {
            let mut o = crate::fleet::presenting("lb.x.com", ip.into(), serial, nb, nb + 1);
            o.findings.clear();
            o
        };
        let compare = |mut o: Box<Observation>| {
            let c = p.annotate(&mut o);
            assert!(c.elsewhere);
            (c.change, o)
        };
        // Older than anything the name served then: rolled back, naming the newest then
        // and where it was served.
        let (c, o) = compare(now([10, 0, 0, 9], "0A", 1_000));
        assert_eq!(c, Change::Older);
        assert_eq!(o.findings, [Finding::RolledBack]);
        let prev = o.previous.as_deref().expect("previous");
        assert_eq!(prev.serial, "0C");
        assert_eq!(prev.ip, Some([10, 0, 0, 5].into()));
        // What the node left behind served: the same as one of them, no change.
        let (c, o) = compare(now([10, 0, 0, 9], "0B", 2_000));
        assert_eq!(c, Change::Same);
        assert!(o.previous.is_none() && o.findings.is_empty());
        // The left-behind node's serial from another CA, issued after all: no sameness.
        let (c, _) = compare(now([10, 0, 0, 9], "0B", 5_000));
        assert_eq!(c, Change::Newer);
        // Between the two: nothing to tell it by.
        let (c, o) = compare(now([10, 0, 0, 9], "0D", 2_500));
        assert_eq!(c, Change::Unknown);
        assert!(o.previous.is_none() && o.findings.is_empty());
        // Later than all: a renewal deployed.
        let (c, o) = compare(now([10, 0, 0, 9], "0E", 4_000));
        assert_eq!(c, Change::Newer);
        assert!(o.findings.is_empty());
        assert_eq!(o.previous.as_deref().map(|c| c.serial.as_str()), Some("0C"));
        // At an address swept then, the address's own certificate is the measure: the
        // node left behind on 0B now serving 0D is newer, not between.
        let mut o = now([10, 0, 0, 6], "0D", 2_500);
        let c = p.annotate(&mut o);
        assert_eq!((c.change, c.elsewhere), (Change::Newer, false));
        assert_eq!(o.previous.as_deref().and_then(|c| c.ip), None);
        // Another name, or another port: nothing.
        let mut o = now([10, 0, 0, 5], "0A", 1_000);
        o.port = 8443;
        assert_eq!(p.annotate(&mut o).change, Change::Unknown);
    }
}
