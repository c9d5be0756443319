//! DANE (RFC 6698, RFC 7671): whether the TLSA records published for an endpoint name the
//! certificate it serves. A renewal that changed the key while the TLSA record still names
//! the old one breaks every client that validates DANE (mail servers sending to an MX
//! that publishes TLSA) until the record follows; the CLM renewed, the server serves the
//! renewal, and delivery stops.

use crate::model::{DaneInfo, Finding};
use hickory_resolver::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector, TLSA};
use hickory_resolver::proto::rr::RData;
use rustls::pki_types::CertificateDer;
use x509_parser::prelude::*;

/// A TLSA record.
pub type Tlsa = TLSA;

/// The TLSA records published for an endpoint, as a DANE client finds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// The records (none: the endpoint publishes no DANE).
    pub records: Vec<TLSA>,
    /// Whether the resolver said they (and the alias that led to them) are
    /// DNSSEC-authentic.
    pub authentic: bool,
    /// Their owner, `_25._tcp.mx.provider.example`, when they are published at the target
    /// of the name's alias (CNAME) rather than at the name: where a client looks first
    /// (RFC 7671, section 7).
    pub at_alias: Option<String>,
}

/// The TLSA records of an answer's answer section (an alias chain's other records aside).
pub fn records(answer: &crate::engine::dnsq::Answer) -> Vec<TLSA> {
    answer
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TLSA(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// A TLSA record in its presentation form, its data shortened: `3 1 1 8a1f…c2e0`.
pub fn shown(t: &TLSA) -> String {
    let hex = crate::cert::hex_lower(&t.cert_data);
    let data = if hex.len() > 16 {
        format!("{}…{}", &hex[..8], &hex[hex.len() - 8..])
    } else {
        hex
    };
    format!(
        "{} {} {} {data}",
        u8::from(t.cert_usage),
        u8::from(t.selector),
        u8::from(t.matching)
    )
}

/// Whether `t` names a certificate of `chain` (the leaf first, as served). End-entity
/// usages (DANE-EE 3, PKIX-EE 1) are matched against the leaf, trust-anchor usages
/// (DANE-TA 2, PKIX-TA 0) against the CA certificates sent after it. The PKIX usages'
/// further demand, a path that validates, is the trust judgement's to make.
pub fn matches(t: &TLSA, chain: &[CertificateDer<'_>]) -> bool {
    let candidates: &[CertificateDer<'_>] = match t.cert_usage {
        CertUsage::DaneEe | CertUsage::PkixEe => chain.get(..1).unwrap_or_default(),
        CertUsage::DaneTa | CertUsage::PkixTa => chain.get(1..).unwrap_or_default(),
        _ => &[],
    };
    candidates.iter().any(|c| {
        let selected: &[u8] = match t.selector {
            Selector::Full => c.as_ref(),
            Selector::Spki => match parse_x509_certificate(c) {
                Ok((_, x)) => x.tbs_certificate.subject_pki.raw,
                Err(_) => return false,
            },
            _ => return false,
        };
        match t.matching {
            Matching::Raw => selected == t.cert_data.as_slice(),
            Matching::Sha256 => {
                ring::digest::digest(&ring::digest::SHA256, selected).as_ref()
                    == t.cert_data.as_slice()
            }
            Matching::Sha512 => {
                ring::digest::digest(&ring::digest::SHA512, selected).as_ref()
                    == t.cert_data.as_slice()
            }
            _ => false,
        }
    })
}

/// What the TLSA records `published` say of `chain`: the facts, and `dane_mismatch` when
/// there are records and none names a certificate served. No records: nothing (the
/// endpoint publishes no DANE).
pub fn judge(
    published: &Published,
    chain: &[CertificateDer<'_>],
) -> Option<(DaneInfo, Vec<Finding>)> {
    let tlsa = &published.records;
    if tlsa.is_empty() {
        return None;
    }
    let matched = tlsa.iter().find(|t| matches(t, chain)).map(shown);
    let pin = |t: &&TLSA| {
        matches!(t.cert_usage, CertUsage::DaneEe | CertUsage::PkixEe)
            && t.selector == Selector::Spki
            && t.matching == Matching::Sha256
    };
    let key_pins: Vec<String> = tlsa
        .iter()
        .filter(pin)
        .map(|t| crate::cert::hex_lower(&t.cert_data))
        .collect();
    let findings = match matched {
        Some(_) => Vec::new(),
        None => vec![Finding::DaneMismatch],
    };
    Some((
        DaneInfo {
            records: tlsa.iter().map(shown).collect(),
            matched,
            validated: published.authentic,
            only_key_pins: key_pins.len() == tlsa.len(),
            key_pins,
            error: None,
            at_alias: published.at_alias.clone(),
        },
        findings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{LeafSpec, Pki};

    fn published(records: Vec<TLSA>, authentic: bool) -> Published {
        Published {
            records,
            authentic,
            at_alias: None,
        }
    }

    fn tlsa(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> TLSA {
        TLSA::new(usage.into(), selector.into(), matching.into(), data)
    }

    #[test]
    fn records_match_the_leaf_or_a_ca_by_usage_selector_and_matching_type() {
        let pki = Pki::new("Dane").unwrap();
        let leaf = pki.issue(&LeafSpec::new(&["mx.test"], 1, 1, 60)).unwrap();
        let other = pki.issue(&LeafSpec::new(&["mx.test"], 2, 1, 60)).unwrap();
        let chain = &leaf.chain;
        let spki = |c: &CertificateDer<'_>| {
            parse_x509_certificate(c)
                .unwrap()
                .1
                .public_key()
                .raw
                .to_vec()
        };
        let sha256 = |b: &[u8]| {
            ring::digest::digest(&ring::digest::SHA256, b)
                .as_ref()
                .to_vec()
        };
        let sha512 = |b: &[u8]| {
            ring::digest::digest(&ring::digest::SHA512, b)
                .as_ref()
                .to_vec()
        };
        // DANE-EE: the leaf's key or the whole leaf, hashed or as is.
        for t in [
            tlsa(3, 1, 1, sha256(&spki(&chain[0]))),
            tlsa(3, 1, 2, sha512(&spki(&chain[0]))),
            tlsa(3, 1, 0, spki(&chain[0])),
            tlsa(3, 0, 1, sha256(&chain[0])),
            tlsa(1, 1, 1, sha256(&spki(&chain[0]))),
            // DANE-TA: the issuing CA the server sends.
            tlsa(2, 0, 1, sha256(&chain[1])),
            tlsa(2, 1, 1, sha256(&spki(&chain[1]))),
        ] {
            assert!(matches(&t, chain), "{}", shown(&t));
        }
        // The renewal's key is not the old record's; a CA usage does not match the leaf,
        // nor an end-entity usage the CA.
        for t in [
            tlsa(3, 1, 1, sha256(&spki(&other.chain[0]))),
            tlsa(2, 1, 1, sha256(&spki(&chain[0]))),
            tlsa(3, 1, 1, sha256(&spki(&chain[1]))),
            tlsa(3, 1, 1, vec![0; 32]),
        ] {
            assert!(!matches(&t, chain), "{}", shown(&t));
        }
        // Judged: one record of two matches; none does; none published.
        let old = tlsa(3, 1, 1, sha256(&spki(&other.chain[0])));
        let new = tlsa(3, 1, 1, sha256(&spki(&chain[0])));
        let (info, findings) =
            judge(&published(vec![old.clone(), new.clone()], true), chain).unwrap();
        assert!(findings.is_empty());
        assert_eq!(info.matched.as_deref(), Some(shown(&new).as_str()));
        assert_eq!(info.records.len(), 2);
        assert!(info.validated);
        // Both are key pins, kept whole for a renewal's key to be looked for among them.
        assert_eq!(
            info.key_pins,
            [
                crate::cert::hex_lower(&old.cert_data),
                crate::cert::hex_lower(&new.cert_data)
            ]
        );
        assert!(info.only_key_pins);
        let ta = tlsa(2, 0, 1, sha256(&chain[1]));
        let (info, _) = judge(&published(vec![old.clone(), ta], true), chain).unwrap();
        assert_eq!(info.key_pins.len(), 1);
        assert!(!info.only_key_pins);
        let (info, findings) = judge(&published(vec![old.clone()], false), chain).unwrap();
        assert_eq!(findings, [Finding::DaneMismatch]);
        assert_eq!(info.matched, None);
        assert!(!info.validated);
        assert!(judge(&published(Vec::new(), true), chain).is_none());
        assert!(shown(&old).starts_with("3 1 1 "), "{}", shown(&old));
        assert_eq!(shown(&old).chars().count(), "3 1 1 ".len() + 17);
    }
}
