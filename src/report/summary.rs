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
    /// Duplicate targets collapsed.
    pub duplicates: u64,
    /// Endpoints that took more than one connection attempt (`--retries`).
    pub retried: u64,
    /// Of those, the ones that still failed.
    pub retried_failed: u64,
    /// Names with addresses of one family whose question for the other failed.
    pub dns_half_answered: u64,
    /// Endpoints asked again offering only the other key type ([`crate::model::SecondLook`]).
    pub second_looks: u64,
    /// Of those, the ones that presented a second, different certificate.
    pub second_certificates: u64,
    /// Wall time.
    pub duration: Duration,
    /// Stopped early by Ctrl-C.
    pub interrupted: bool,
}

impl Summary {
    /// Endpoints certsweep itself failed on (`internal_error`).
    pub fn internal_errors(&self) -> u64 {
        self.errors.get(&ErrorClass::Internal).copied().unwrap_or(0)
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
        for f in &o.findings {
            *self.findings.entry(*f).or_default() += 1;
        }
        if let Some(p) = o.starttls {
            *self.starttls.entry(p).or_default() += 1;
        }
        if o.other_key.is_some() {
            self.second_looks += 1;
            self.second_certificates += u64::from(o.second_cert().is_some());
        }
        if o.attempts > 1 {
            self.retried += 1;
            if o.cert.is_none() {
                self.retried_failed += 1;
            }
        }
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

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.duration.as_secs_f64();
        let rate = if secs > 0.0 {
            self.endpoints as f64 / secs
        } else {
            0.0
        };
        writeln!(
            f,
            "{} endpoints, {} certificates captured, {:.1}s, {:.0} endpoints/s{}",
            self.endpoints,
            self.certificates,
            secs,
            rate,
            if self.interrupted {
                " (interrupted: targets not yet started were skipped)"
            } else {
                ""
            }
        )?;
        if self.bad_targets > 0 || self.duplicates > 0 {
            writeln!(
                f,
                "  targets: {} bad lines skipped, {} duplicates collapsed",
                self.bad_targets, self.duplicates
            )?;
        }
        if self.dns_half_answered > 0 {
            // Otherwise invisible: the endpoints of the failed family never become rows.
            writeln!(
                f,
                "  dns: {} names answered for one address family only, the question for the other failed (timeout or SERVFAIL); endpoints of that family were not scanned",
                self.dns_half_answered
            )?;
        }
        if !self.errors.is_empty() {
            writeln!(f, "  errors: {}", counts(&self.errors))?;
        }
        if self.retried > 0 {
            // Flaky endpoints: a reset or timeout that a second try got past is still worth
            // a look (an overloaded node, a half-broken balancer member).
            writeln!(
                f,
                "  retried: {} endpoints needed more than one connection, {} of them still failed",
                self.retried, self.retried_failed
            )?;
        }
        if self.second_looks > 0 {
            writeln!(
                f,
                "  key types: {} endpoints asked again offering only the other key type, {} of them presented a second certificate",
                self.second_looks, self.second_certificates
            )?;
        }
        if !self.starttls.is_empty() {
            // Ports pick a dialogue by themselves (--starttls auto): say which ones did.
            writeln!(f, "  starttls: {} endpoints", counts(&self.starttls))?;
        }
        if !self.findings.is_empty() {
            writeln!(f, "  findings: {}", counts(&self.findings))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(text.contains("\n  starttls: smtp 2 endpoints\n"), "{text}");
        assert!(
            text.starts_with("3 endpoints, 3 certificates captured"),
            "{text}"
        );
    }
}
