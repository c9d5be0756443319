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

/// Where an endpoint was: the name asked for, the address, the port.
type Place = (Box<str>, Option<IpAddr>, u16);

/// What an endpoint served then, compact: a million endpoints are read whole (about 100
/// bytes each; the RFC 3339 forms are made again when one is told).
#[derive(Debug, Clone)]
struct Then {
    serial: Box<str>,
    not_before_unix: i64,
    /// When the earlier sweep saw it, Unix seconds (`None`: not said).
    scan_unix: Option<i64>,
}

/// What the earlier sweep recorded of each endpoint that presented a certificate.
#[derive(Debug, Default)]
pub struct Previous {
    /// The file read.
    pub path: String,
    by_place: HashMap<Place, Then>,
    /// Lines that could not be read (file, line and why).
    pub errors: Vec<LineError>,
}

/// How an endpoint compares with the earlier sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not in the earlier sweep, or without a certificate in one of the two.
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
    observation: Option<Box<Line>>,
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
        for (i, line) in r.lines().enumerate() {
            let line_no = i as u64 + 1;
            let line =
                line.map_err(|e| crate::Error::Input(format!("--previous {path}:{line_no}: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| LineError {
                file: path.to_string(),
                line: line_no,
                field: None,
                reason,
            };
            let read: Line = match serde_json::from_str(&line) {
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
            let then = Then {
                serial: c.serial.into_boxed_str(),
                not_before_unix: c.not_before_unix,
                scan_unix: l.scan_time.as_deref().and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                        .map(|t| t.unix_timestamp())
                }),
            };
            let name = l.sni.unwrap_or(host).into_boxed_str();
            p.by_place.insert((name, l.ip, port), then);
        }
        Ok(p)
    }

    /// Endpoints read with a certificate.
    pub fn len(&self) -> usize {
        self.by_place.len()
    }

    /// Whether no endpoint with a certificate was read.
    pub fn is_empty(&self) -> bool {
        self.by_place.is_empty()
    }

    /// Compares `o` with what the endpoint served in the earlier sweep (the newest
    /// certificate any connection got, then and now); when that changed, records the
    /// earlier one in `o.previous`, and when it went back to an older one, adds
    /// `rolled_back`.
    pub fn annotate(&self, o: &mut Observation) -> Change {
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
            return Change::Unknown;
        };
        let place = (o.asked_name().into(), o.ip, o.port);
        let Some(then) = self.by_place.get(&place) else {
            return Change::Unknown;
        };
        if *then.serial == *cert.serial {
            return Change::Same;
        }
        let change = if cert.not_before_unix < then.not_before_unix {
            o.findings.push(Finding::RolledBack);
            o.findings.sort();
            o.findings.dedup();
            Change::Older
        } else {
            Change::Newer
        };
        o.previous = Some(Box::new(PreviousCert {
            serial: then.serial.to_string(),
            not_before: crate::timefmt::rfc3339_unix(then.not_before_unix),
            not_before_unix: then.not_before_unix,
            scan_time: then
                .scan_unix
                .map(crate::timefmt::rfc3339_unix)
                .unwrap_or_default(),
        }));
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(p.annotate(&mut o), Change::Newer);
        assert!(o.findings.is_empty());
        assert_eq!(o.previous.as_deref().map(|c| c.serial.as_str()), Some("0B"));
        // Back to an older one, at the address read from a verdict's line.
        let mut o = now([10, 0, 0, 6], "0A", 1_000);
        assert_eq!(p.annotate(&mut o), Change::Older);
        assert_eq!(o.findings, [Finding::RolledBack]);
        let prev = o.previous.as_deref().expect("previous");
        assert_eq!(
            (prev.serial.as_str(), prev.scan_time.as_str()),
            ("0C", "2026-11-30T02:00:00Z")
        );
        // The same, or an endpoint not swept before: nothing.
        let mut o = now([10, 0, 0, 5], "0B", 2_000);
        assert_eq!(p.annotate(&mut o), Change::Same);
        assert!(o.previous.is_none());
        let mut o = now([10, 0, 0, 7], "0A", 1_000);
        assert_eq!(p.annotate(&mut o), Change::Unknown);
        assert!(o.findings.is_empty() && o.previous.is_none());
    }
}
