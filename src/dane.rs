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
    /// Whether the resolver validates DNSSEC (its answer about the root zone was
    /// authentic): then records it does not vouch for are insecure, an unsigned zone's,
    /// and DANE clients ignore them (RFC 7672, section 2.2; RFC 6698, section 4.1).
    pub resolver_validates: bool,
    /// Whether the endpoint is a mail server's (SMTP or LMTP, STARTTLS): DANE for SMTP
    /// (RFC 7672, section 3.1.3) uses only the DANE usages, so its clients (Postfix,
    /// Exim) take PKIX-TA and PKIX-EE records for unusable.
    pub mail: bool,
}

/// Why an endpoint's TLSA records could not be had.
#[derive(Debug, Clone, PartialEq)]
pub struct Unanswered {
    /// In words: the question, and what came back.
    pub why: String,
    /// A mail server's records fail DNSSEC validation ([`Finding::DaneBogus`]).
    pub bogus: bool,
}

impl From<String> for Unanswered {
    fn from(why: String) -> Self {
        Unanswered { why, bogus: false }
    }
}

/// Whether an Extended DNS Error (as [`crate::engine::dnsq::Answer::ede`] writes it, its
/// code first) says DNSSEC validation failed (RFC 8914: 5 to 12).
pub fn dnssec_failure(ede: &str) -> bool {
    let code = ede
        .split([' ', '('])
        .next()
        .and_then(|c| c.parse::<u16>().ok());
    code.is_some_and(|c| (5..=12).contains(&c))
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

/// Why a DANE client would not use `t` at all, if it would not: parameters it does not
/// know, a digest of the wrong length, data that is not the certificate or key it says it
/// is (OpenSSL's DANE, under Postfix and Exim, refuses to load such a record), or, for a
/// `mail` server, a PKIX usage (RFC 7672, section 3.1.3). A client that finds no usable
/// record treats the endpoint as publishing none (RFC 7672, section 2.2): it authenticates
/// nothing, so a record it ignores makes neither a match nor, alone, a mismatch.
pub fn unusable(t: &TLSA, mail: bool) -> Option<String> {
    let known_usage = matches!(
        t.cert_usage,
        CertUsage::PkixTa | CertUsage::PkixEe | CertUsage::DaneTa | CertUsage::DaneEe
    );
    let len = t.cert_data.len();
    let why = match (t.selector, t.matching) {
        _ if !known_usage => "an unknown usage".to_string(),
        _ if mail && matches!(t.cert_usage, CertUsage::PkixTa | CertUsage::PkixEe) => {
            "a PKIX usage, which mail servers ignore (RFC 7672, section 3.1.3)".to_string()
        }
        (Selector::Full | Selector::Spki, Matching::Sha256) if len != 32 => {
            format!("a SHA-256 digest of {len} bytes, not 32")
        }
        (Selector::Full | Selector::Spki, Matching::Sha512) if len != 64 => {
            format!("a SHA-512 digest of {len} bytes, not 64")
        }
        (Selector::Full, Matching::Raw) if !whole_der::<X509Certificate>(&t.cert_data) => {
            "data that is not a certificate".to_string()
        }
        (Selector::Spki, Matching::Raw) if !whole_der::<SubjectPublicKeyInfo>(&t.cert_data) => {
            "data that is not a public key".to_string()
        }
        (Selector::Full | Selector::Spki, Matching::Raw | Matching::Sha256 | Matching::Sha512) => {
            return None
        }
        (Selector::Full | Selector::Spki, _) => "an unknown matching type".to_string(),
        _ => "an unknown selector".to_string(),
    };
    Some(why)
}

/// Whether `data` is one DER value of type `T`, nothing after it.
fn whole_der<'a, T: FromDer<'a, X509Error>>(data: &'a [u8]) -> bool {
    T::from_der(data).is_ok_and(|(rest, _)| rest.is_empty())
}

/// Whether `t` names a certificate of `chain` (the leaf first, as served). End-entity
/// usages (DANE-EE 3, PKIX-EE 1) are matched against the leaf, trust-anchor usages
/// (DANE-TA 2, PKIX-TA 0) against the CA certificates sent after it; a DANE-TA record that
/// holds the whole certificate or key (`2 0 0`, `2 1 0`) also names a chain with a
/// certificate it signed, sent without it, as DANE clients then take the anchor from the
/// record (RFC 7671, section 5.2.2). The PKIX usages' further demand, a path that
/// validates, is the trust judgement's to make; whether a client uses the record at all,
/// [`unusable`]'s.
pub fn matches(t: &TLSA, chain: &[CertificateDer<'_>]) -> bool {
    !named(t, chain).is_empty()
}

/// Whether `t` has a trust-anchor usage (DANE-TA 2, PKIX-TA 0).
fn is_ta(t: &TLSA) -> bool {
    matches!(t.cert_usage, CertUsage::DaneTa | CertUsage::PkixTa)
}

/// Whether usable record `t` pins a key by its SHA-256 (`x 1 1`): a CA's when `ta`
/// (`2 1 1`), else the leaf's (`3 1 1`).
fn pins_key(t: &TLSA, ta: bool) -> bool {
    is_ta(t) == ta && t.selector == Selector::Spki && t.matching == Matching::Sha256
}

/// What of a chain a TLSA record names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Named {
    /// The leaf.
    Leaf,
    /// The CA that issued the leaf: sent under the leaf's issuer name, or a full DANE-TA
    /// record's key that signed the leaf.
    LeafIssuer,
    /// A CA further up.
    Above,
}

/// Everything of `chain` that `t` names (see [`matches`]).
fn named(t: &TLSA, chain: &[CertificateDer<'_>]) -> Vec<Named> {
    let Some((leaf, cas)) = chain.split_first() else {
        return Vec::new();
    };
    let mut named = Vec::new();
    match t.cert_usage {
        CertUsage::DaneEe | CertUsage::PkixEe if selected_matches(t, leaf) => {
            named.push(Named::Leaf);
        }
        _ if is_ta(t) => {
            let leaf_issuer = parse_x509_certificate(leaf)
                .map(|(_, x)| x.issuer().as_raw().to_vec())
                .ok();
            for c in cas.iter().filter(|c| selected_matches(t, c)) {
                let issued_leaf = parse_x509_certificate(c)
                    .is_ok_and(|(_, x)| Some(x.subject().as_raw()) == leaf_issuer.as_deref());
                named.push(if issued_leaf {
                    Named::LeafIssuer
                } else {
                    Named::Above
                });
            }
            if t.cert_usage == CertUsage::DaneTa && t.matching == Matching::Raw {
                for signed in signed_by_record(t, chain) {
                    named.push(if signed == 0 {
                        Named::LeafIssuer
                    } else {
                        Named::Above
                    });
                }
            }
        }
        _ => {}
    }
    named
}

/// Whether the certificate or key of `c` that `t` selects is what `t` holds.
fn selected_matches(t: &TLSA, c: &CertificateDer<'_>) -> bool {
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
            ring::digest::digest(&ring::digest::SHA256, selected).as_ref() == t.cert_data.as_slice()
        }
        Matching::Sha512 => {
            ring::digest::digest(&ring::digest::SHA512, selected).as_ref() == t.cert_data.as_slice()
        }
        _ => false,
    }
}

/// The positions in `chain` of the certificates signed with the key a full DANE-TA record
/// holds: its certificate's (`2 0 0`) or the key itself (`2 1 0`).
fn signed_by_record(t: &TLSA, chain: &[CertificateDer<'_>]) -> Vec<usize> {
    let signed_by = |key: &SubjectPublicKeyInfo<'_>| -> Vec<usize> {
        chain
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                parse_x509_certificate(c).is_ok_and(|(_, x)| x.verify_signature(Some(key)).is_ok())
            })
            .map(|(i, _)| i)
            .collect()
    };
    match t.selector {
        Selector::Full => X509Certificate::from_der(&t.cert_data)
            .map(|(_, record)| signed_by(record.public_key()))
            .unwrap_or_default(),
        Selector::Spki => SubjectPublicKeyInfo::from_der(&t.cert_data)
            .map(|(_, key)| signed_by(&key))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Why a record the validating resolver did not vouch for is unusable.
const INSECURE: &str =
    "not DNSSEC-signed (the resolver validates and did not vouch for it), so DANE clients ignore it";

/// What the TLSA records `published` say of `chain`: the facts, and `dane_mismatch` when
/// there are usable records and none names a certificate served, `dane_unusable` when
/// there are records and a DANE client can use none of them ([`unusable`]). No records:
/// nothing (the endpoint publishes no DANE).
pub fn judge(
    published: &Published,
    chain: &[CertificateDer<'_>],
) -> Option<(DaneInfo, Vec<Finding>)> {
    let tlsa = &published.records;
    if tlsa.is_empty() {
        return None;
    }
    let insecure = published.resolver_validates && !published.authentic;
    // Why each record is unusable by the rules (an insecure zone's are all unusable), and
    // what the usable ones name of the chain, each read once.
    let by_rules: Vec<Option<String>> = tlsa
        .iter()
        .map(|t| self::unusable(t, published.mail))
        .collect();
    let mut usable: Vec<(&TLSA, Vec<Named>)> = Vec::new();
    let mut unusable = Vec::new();
    for (t, why) in tlsa.iter().zip(&by_rules) {
        match (insecure, why) {
            (true, _) => unusable.push(format!("{}: {INSECURE}", shown(t))),
            (false, Some(why)) => unusable.push(format!("{}: {why}", shown(t))),
            (false, None) => usable.push((t, named(t, chain))),
        }
    }
    let matched = usable
        .iter()
        .find(|(_, n)| !n.is_empty())
        .map(|(t, _)| shown(t));
    // Records of an unsigned zone that would name nothing served once it is signed: signing
    // it turns DANE on with a mismatch.
    let stale_if_signed = insecure && {
        let mut signed = tlsa.iter().zip(&by_rules).filter(|(_, why)| why.is_none());
        let any = signed.clone().next().is_some();
        any && !signed.any(|(t, _)| matches(t, chain))
    };
    // `x 1 1` records: a key's SHA-256, of the leaf (`3 1 1`) or of a CA (`2 1 1`).
    let pins = |ta: bool| -> Vec<String> {
        usable
            .iter()
            .filter(|(t, _)| pins_key(t, ta))
            .map(|(t, _)| crate::cert::hex_lower(&t.cert_data))
            .collect()
    };
    let (key_pins, ca_pins) = (pins(false), pins(true));
    // What a `2 1 1` record for the CA that issued the leaf would hold, when it is sent.
    let issuer_key = chain.first().and_then(|leaf| {
        let (_, leaf) = parse_x509_certificate(leaf).ok()?;
        let ca = crate::revocation::served_issuer(&leaf, chain)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, ca.public_key().raw);
        Some(crate::cert::hex_lower(digest.as_ref()))
    });
    // Whether a renewal from another CA would match none of them: every record pins a key
    // (the renewal's is looked for among them) or names only the CA that issued the leaf,
    // and one does that.
    let issuer_bound = |n: &[Named]| !n.is_empty() && n.iter().all(|n| *n == Named::LeafIssuer);
    let issuer_pinned = usable.iter().any(|(_, n)| issuer_bound(n))
        && usable
            .iter()
            .all(|(t, n)| pins_key(t, false) || issuer_bound(n));
    // A record naming a CA above the leaf's issuer (a root sent in the chain): a renewal
    // from another intermediate under it still matches.
    let ca_above = usable.iter().any(|(_, n)| n.contains(&Named::Above));
    let findings = match matched {
        Some(_) => Vec::new(),
        None if usable.is_empty() => vec![Finding::DaneUnusable],
        None => vec![Finding::DaneMismatch],
    };
    Some((
        DaneInfo {
            records: tlsa.iter().map(shown).collect(),
            matched,
            validated: published.authentic,
            only_key_pins: !usable.is_empty() && key_pins.len() == usable.len(),
            ca_pins,
            issuer_pinned,
            ca_above,
            issuer_key,
            insecure,
            stale_if_signed,
            key_pins,
            unusable,
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
            resolver_validates: false,
            mail: false,
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

    fn spki(c: &[u8]) -> Vec<u8> {
        parse_x509_certificate(c)
            .expect("a certificate")
            .1
            .public_key()
            .raw
            .to_vec()
    }

    fn sha256(b: &[u8]) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, b)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn records_no_client_uses_make_neither_a_match_nor_alone_a_mismatch() {
        let pki = Pki::new("DaneUnusable").unwrap();
        let leaf = pki.issue(&LeafSpec::new(&["mx.test"], 1, 1, 60)).unwrap();
        let chain = &leaf.chain;
        let key = sha256(&spki(&chain[0]));
        let mut short = key.clone();
        short.pop();
        let unusable_ones = [
            (tlsa(4, 1, 1, key.clone()), "an unknown usage"),
            (tlsa(3, 2, 1, key.clone()), "an unknown selector"),
            (tlsa(3, 1, 3, key.clone()), "an unknown matching type"),
            (
                tlsa(3, 1, 1, short.clone()),
                "a SHA-256 digest of 31 bytes, not 32",
            ),
            (
                tlsa(3, 1, 2, key.clone()),
                "a SHA-512 digest of 32 bytes, not 64",
            ),
            (tlsa(3, 0, 0, key.clone()), "data that is not a certificate"),
            (tlsa(3, 1, 0, key.clone()), "data that is not a public key"),
        ];
        for (t, why) in &unusable_ones {
            assert_eq!(unusable(t, false).as_deref(), Some(*why), "{}", shown(t));
        }
        // A whole certificate with a byte after it is not one a client loads.
        let mut padded = chain[0].to_vec();
        padded.push(0);
        assert!(unusable(&tlsa(3, 0, 0, padded), false).is_some());
        assert_eq!(unusable(&tlsa(3, 0, 0, chain[0].to_vec()), false), None);
        assert_eq!(unusable(&tlsa(3, 1, 0, spki(&chain[0])), false), None);
        // Mail servers use only the DANE usages (RFC 7672).
        let pkix = tlsa(1, 1, 1, key.clone());
        assert_eq!(unusable(&pkix, false), None);
        assert!(unusable(&pkix, true).is_some_and(|w| w.contains("PKIX usage")));
        assert_eq!(unusable(&tlsa(3, 1, 1, key.clone()), true), None);

        // Only unusable records: DANE is off, not failing.
        let only: Vec<TLSA> = unusable_ones.iter().map(|(t, _)| t.clone()).collect();
        let (info, findings) = judge(&published(only.clone(), true), chain).unwrap();
        assert_eq!(findings, [Finding::DaneUnusable]);
        assert_eq!(info.unusable.len(), only.len());
        assert!(info.key_pins.is_empty() && !info.only_key_pins);
        assert!(info
            .shown()
            .starts_with("none of 7 record(s) usable: 4 1 1 "));
        // A mail server publishing only a PKIX-EE pin of its key: the same.
        let mut mail = published(vec![pkix.clone()], true);
        mail.mail = true;
        let (info, findings) = judge(&mail, chain).unwrap();
        assert_eq!(findings, [Finding::DaneUnusable]);
        assert_eq!(info.matched, None);
        // Elsewhere it matches.
        let (_, findings) = judge(&published(vec![pkix], true), chain).unwrap();
        assert!(findings.is_empty());
        // A usable record of another key beside unusable ones: a mismatch, told with them;
        // a truncated pin of the served key does not match it.
        let other = tlsa(3, 1, 1, vec![7; 32]);
        let (info, findings) = judge(
            &published(vec![tlsa(3, 1, 1, short), other.clone()], true),
            chain,
        )
        .unwrap();
        assert_eq!(findings, [Finding::DaneMismatch]);
        assert_eq!(info.key_pins, [crate::cert::hex_lower(&other.cert_data)]);
        assert!(info.only_key_pins);
        assert!(
            info.shown().contains("(1 of them unusable: 3 1 1 "),
            "{}",
            info.shown()
        );
    }

    #[test]
    fn a_full_dane_ta_record_names_a_chain_sent_without_its_anchor() {
        let pki = Pki::new("DaneTa").unwrap();
        let other = Pki::new("DaneOther").unwrap();
        let leaf = pki.issue(&LeafSpec::new(&["mx.test"], 1, 1, 60)).unwrap();
        let alone = &leaf.chain[..1];
        let int = &pki.intermediate.cert;
        for t in [tlsa(2, 0, 0, int.to_vec()), tlsa(2, 1, 0, spki(int))] {
            assert!(matches(&t, alone), "{}", shown(&t));
            assert!(matches(&t, &leaf.chain), "{}", shown(&t));
        }
        // The root's key signed the intermediate, sent.
        let root = &pki.root.cert;
        assert!(matches(&tlsa(2, 1, 0, spki(root)), &leaf.chain));
        assert!(!matches(&tlsa(2, 1, 0, spki(root)), alone));
        // A digest cannot serve as the anchor; another CA's key signed nothing sent; a
        // PKIX-TA record needs the anchor sent.
        for t in [
            tlsa(2, 1, 1, sha256(&spki(int))),
            tlsa(2, 1, 0, spki(&other.intermediate.cert)),
            tlsa(2, 0, 0, other.intermediate.cert.to_vec()),
            tlsa(0, 1, 0, spki(int)),
        ] {
            assert!(!matches(&t, alone), "{}", shown(&t));
        }
    }

    #[test]
    fn records_a_validating_resolver_does_not_vouch_for_are_unusable() {
        let pki = Pki::new("DaneInsecure").unwrap();
        let leaf = pki.issue(&LeafSpec::new(&["mx.test"], 1, 1, 60)).unwrap();
        let pin = tlsa(3, 1, 1, sha256(&spki(&leaf.chain[0])));
        let judged = |authentic: bool, resolver_validates: bool| {
            let p = Published {
                resolver_validates,
                ..published(vec![pin.clone()], authentic)
            };
            judge(&p, &leaf.chain).expect("records")
        };
        // An unsigned zone's records: DANE clients ignore them.
        let (info, findings) = judged(false, true);
        assert_eq!(findings, [Finding::DaneUnusable]);
        assert!(info.insecure && info.matched.is_none() && !info.stale_if_signed);
        assert_eq!(info.unusable, [format!("{}: {INSECURE}", shown(&pin))]);
        assert!(info.key_pins.is_empty());
        // One naming another key: signed as it is, it would turn DANE on with a mismatch.
        let other = tlsa(3, 1, 1, vec![7; 32]);
        let p = Published {
            resolver_validates: true,
            ..published(vec![other], false)
        };
        let (info, _) = judge(&p, &leaf.chain).expect("records");
        assert!(info.insecure && info.stale_if_signed);
        // Vouched for; or a resolver that does not validate, which tells nothing.
        for (authentic, validates) in [(true, true), (false, false)] {
            let (info, findings) = judged(authentic, validates);
            assert!(findings.is_empty() && !info.insecure, "{info:?}");
            assert!(info.matched.is_some());
        }
    }

    #[test]
    fn extended_dns_errors_of_dnssec_are_told_from_the_others() {
        for ede in [
            "6 DNSSEC Bogus",
            "7 Signature Expired (RRSIG expired)",
            "12 NSEC Missing",
            "9",
        ] {
            assert!(dnssec_failure(ede), "{ede}");
        }
        for ede in [
            "1 Unsupported DNSKEY Algorithm",
            "22 (No Reachable Authority)",
            "",
            "x",
        ] {
            assert!(!dnssec_failure(ede), "{ede}");
        }
    }

    #[test]
    fn records_that_name_only_the_leafs_issuer_are_told_from_those_a_new_ca_may_match() {
        let pki = Pki::new("DaneIssuer").unwrap();
        let leaf = pki.issue(&LeafSpec::new(&["mx.test"], 1, 1, 60)).unwrap();
        let int = &pki.intermediate.cert;
        let root = &pki.root.cert;
        let with_root = [leaf.chain[0].clone(), int.clone(), root.clone()];
        let issuer_pinned = |records: Vec<TLSA>, chain: &[CertificateDer<'_>]| {
            judge(&published(records, true), chain)
                .expect("records")
                .0
                .issuer_pinned
        };
        let int_pin = || tlsa(2, 1, 1, sha256(&spki(int)));
        let leaf_pin = || tlsa(3, 1, 1, sha256(&spki(&leaf.chain[0])));
        // The issuing intermediate's pin, alone or beside a key pin; a full record of the
        // intermediate, sent or not.
        assert!(issuer_pinned(vec![int_pin()], &leaf.chain));
        // What a record for the issuing CA would hold, when the server sends it.
        let facts = |chain: &[CertificateDer<'_>]| {
            judge(&published(vec![leaf_pin()], true), chain)
                .expect("records")
                .0
        };
        let int_key = crate::cert::hex_lower(&sha256(&spki(int)));
        assert_eq!(facts(&leaf.chain).issuer_key, Some(int_key.clone()));
        assert_eq!(facts(&with_root).issuer_key, Some(int_key));
        assert_eq!(facts(&leaf.chain[..1]).issuer_key, None);
        assert!(issuer_pinned(vec![int_pin(), leaf_pin()], &leaf.chain));
        assert!(issuer_pinned(
            vec![tlsa(2, 0, 0, int.to_vec())],
            &leaf.chain[..1]
        ));
        assert!(issuer_pinned(vec![int_pin()], &with_root));
        let above = |records: Vec<TLSA>, chain: &[CertificateDer<'_>]| {
            judge(&published(records, true), chain)
                .expect("records")
                .0
                .ca_above
        };
        assert!(above(vec![tlsa(2, 1, 1, sha256(&spki(root)))], &with_root));
        assert!(above(vec![tlsa(2, 1, 0, spki(root))], &leaf.chain));
        assert!(!above(vec![int_pin(), leaf_pin()], &with_root));
        assert!(!above(
            vec![tlsa(2, 1, 1, sha256(&spki(root)))],
            &leaf.chain
        ));
        // A root's pin (any intermediate under it matches); a record that names nothing
        // served (perhaps the next CA's, published ahead); key pins alone (told apart by
        // `only_key_pins`); the leaf's whole certificate.
        for (records, chain) in [
            (vec![tlsa(2, 1, 1, sha256(&spki(root)))], &with_root[..]),
            (vec![tlsa(2, 1, 0, spki(root))], &leaf.chain[..]),
            (vec![int_pin(), tlsa(2, 1, 1, vec![7; 32])], &leaf.chain[..]),
            (vec![leaf_pin()], &leaf.chain[..]),
            (
                vec![int_pin(), tlsa(3, 0, 1, sha256(&leaf.chain[0]))],
                &leaf.chain[..],
            ),
        ] {
            assert!(!issuer_pinned(records.clone(), chain), "{records:?}");
        }
    }

    /// Where a generated record's data comes from, and what is done to it.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Damage {
        None,
        /// One byte less: a digest of the wrong length, a certificate or key cut short.
        Cut,
        /// One byte more.
        Padded,
        /// A digest's byte flipped: still a digest, of nothing served.
        Flipped,
    }

    #[test]
    fn generated_records_are_used_and_matched_as_dane_clients_use_and_match_them() {
        // The pool: two PKIs' roots, intermediates and leaves; `issuer[i]` signed pool[i].
        let a = Pki::new("DaneGenA").unwrap();
        let b = Pki::new("DaneGenB").unwrap();
        let a1 = a.issue(&LeafSpec::new(&["mx1.test"], 1, 1, 60)).unwrap();
        let a2 = a.issue(&LeafSpec::new(&["mx2.test"], 2, 1, 60)).unwrap();
        let b1 = b.issue(&LeafSpec::new(&["mx3.test"], 3, 1, 60)).unwrap();
        let pool: Vec<CertificateDer<'static>> = vec![
            a.root.cert.clone(),
            a.intermediate.cert.clone(),
            a1.chain[0].clone(),
            a2.chain[0].clone(),
            b.root.cert.clone(),
            b.intermediate.cert.clone(),
            b1.chain[0].clone(),
        ];
        let issuer = [0, 0, 1, 1, 4, 4, 5];
        let leaves = [2usize, 3, 6];
        let sha512 = |b: &[u8]| {
            ring::digest::digest(&ring::digest::SHA512, b)
                .as_ref()
                .to_vec()
        };
        let mut rng = crate::testrng::XorShift::new(0xda7e_5eed);
        let rounds = 400;
        let mut seen = [0usize; 3];
        let mut pinned_issuer = 0;
        for round in 0..rounds {
            // The chain served: a leaf alone, with its intermediate, or with the root too.
            let leaf = leaves[rng.below(3) as usize];
            let int = issuer[leaf];
            let served: Vec<usize> = match rng.below(3) {
                0 => vec![leaf],
                1 => vec![leaf, int],
                _ => vec![leaf, int, issuer[int]],
            };
            let chain: Vec<CertificateDer<'static>> =
                served.iter().map(|i| pool[*i].clone()).collect();
            let mail = rng.below(2) == 0;
            let mut records = Vec::new();
            let mut expected_usable = Vec::new();
            let mut expected_match = Vec::new();
            let mut expected_issuer_bound = Vec::new();
            let mut expected_above = Vec::new();
            for _ in 0..1 + rng.below(4) {
                // Mostly a record for a certificate the chain holds or for its issuer.
                let one_served = served[rng.below(served.len() as u64) as usize];
                let src = match rng.below(3) {
                    0 => rng.below(pool.len() as u64) as usize,
                    1 => one_served,
                    _ => issuer[one_served],
                };
                let usage = [0u8, 1, 2, 3, 3, 2, 4, 255][rng.below(8) as usize];
                let selector = [0u8, 1, 1, 2][rng.below(4) as usize];
                let matching = [0u8, 1, 1, 2, 3][rng.below(5) as usize];
                let damage = [
                    Damage::None,
                    Damage::None,
                    Damage::None,
                    Damage::Cut,
                    Damage::Padded,
                    Damage::Flipped,
                ][rng.below(6) as usize];
                let selected = match selector {
                    1 => spki(&pool[src]),
                    _ => pool[src].to_vec(),
                };
                let mut data = match matching {
                    0 => selected,
                    2 => sha512(&selected),
                    _ => sha256(&selected),
                };
                let damage = match damage {
                    // A flipped byte of a whole certificate may still read as one.
                    Damage::Flipped if matching == 0 => Damage::None,
                    d => d,
                };
                match damage {
                    Damage::None => {}
                    Damage::Cut => {
                        data.pop();
                    }
                    Damage::Padded => data.push(0),
                    Damage::Flipped => data[5] ^= 0x40,
                }
                // The rules apart: RFC 6698 and 7671's parameters, RFC 7672's usages for
                // mail, OpenSSL's refusal of malformed data.
                let usable = match usage {
                    2 | 3 => true,
                    0 | 1 => !mail,
                    _ => false,
                } && selector <= 1
                    && matching <= 2
                    && matches!(damage, Damage::None | Damage::Flipped);
                let names = damage == Damage::None
                    && match usage {
                        1 | 3 => src == served[0],
                        _ => {
                            served[1..].contains(&src)
                                || (usage == 2
                                    && matching == 0
                                    && served.iter().any(|c| issuer[*c] == src))
                        }
                    };
                let t = tlsa(usage, selector, matching, data);
                assert_eq!(
                    unusable(&t, mail).is_none(),
                    usable,
                    "round {round}: {} ({damage:?}, mail {mail})",
                    shown(&t)
                );
                if usable {
                    assert_eq!(
                        matches(&t, &chain),
                        names,
                        "round {round}: {} from {src} against {served:?} ({damage:?})",
                        shown(&t)
                    );
                }
                // What of the chain a trust-anchor record names: true for the CA that
                // issued the leaf, false for one above it.
                let mut ca_named = Vec::new();
                if names && matches!(usage, 0 | 2) {
                    if served[1..].contains(&src) {
                        ca_named.push(src == int);
                    }
                    if usage == 2 && matching == 0 {
                        for c in served.iter().filter(|c| issuer[**c] == src) {
                            ca_named.push(*c == served[0]);
                        }
                    }
                }
                expected_issuer_bound
                    .push(usable && !ca_named.is_empty() && ca_named.iter().all(|i| *i));
                expected_above.push(usable && ca_named.contains(&false));
                expected_usable.push(usable);
                expected_match.push(usable && names);
                records.push(t);
            }
            // A validating resolver that did not vouch for them: an unsigned zone's, which
            // DANE clients ignore, none usable (a resolver that does not validate tells
            // nothing).
            let (authentic, validates) = (rng.below(4) != 0, rng.below(2) == 0);
            let insecure = validates && !authentic;
            // Signed as they are, whether they would turn DANE on with a mismatch.
            let stale_if_signed =
                insecure && expected_usable.contains(&true) && !expected_match.contains(&true);
            if insecure {
                for v in [
                    &mut expected_usable,
                    &mut expected_match,
                    &mut expected_issuer_bound,
                    &mut expected_above,
                ] {
                    v.iter_mut().for_each(|u| *u = false);
                }
            }
            let mut p = published(records.clone(), authentic);
            p.mail = mail;
            p.resolver_validates = validates;
            let (info, findings) = judge(&p, &chain).expect("records were published");
            let first_match = expected_match.iter().position(|m| *m);
            let want = match first_match {
                Some(_) => vec![],
                None if !expected_usable.contains(&true) => vec![Finding::DaneUnusable],
                None => vec![Finding::DaneMismatch],
            };
            assert_eq!(findings, want, "round {round}: {:?}", info);
            seen[match want.first() {
                None => 0,
                Some(Finding::DaneMismatch) => 1,
                _ => 2,
            }] += 1;
            assert_eq!(info.matched, first_match.map(|i| shown(&records[i])));
            assert_eq!(info.insecure, insecure);
            assert_eq!(
                info.stale_if_signed, stale_if_signed,
                "round {round}: {info:?}"
            );
            assert_eq!(info.validated, authentic);
            assert_eq!(
                info.unusable.len(),
                expected_usable.iter().filter(|u| !**u).count()
            );
            // The usable `x 1 1` records of the usages given, their data whole.
            let pins_of = |usages: [u8; 2]| -> Vec<String> {
                records
                    .iter()
                    .zip(&expected_usable)
                    .filter(|(t, u)| {
                        **u && usages.contains(&u8::from(t.cert_usage))
                            && u8::from(t.selector) == 1
                            && u8::from(t.matching) == 1
                    })
                    .map(|(t, _)| crate::cert::hex_lower(&t.cert_data))
                    .collect()
            };
            let (pins, ca_pins) = (pins_of([1, 3]), pins_of([0, 2]));
            let usable_count = expected_usable.iter().filter(|u| **u).count();
            assert_eq!(
                info.only_key_pins,
                usable_count > 0 && pins.len() == usable_count
            );
            assert_eq!(info.key_pins, pins);
            assert_eq!(info.ca_pins, ca_pins);
            assert_eq!(
                info.only_pins(),
                usable_count > 0 && pins.len() + ca_pins.len() == usable_count
            );
            // A renewal from another CA matches none: each usable record a key pin or
            // naming only the leaf's issuer, one of them the latter.
            let bound = expected_issuer_bound.iter().filter(|b| **b).count();
            let issuer_pinned = bound > 0 && bound + pins.len() == usable_count;
            assert_eq!(info.issuer_pinned, issuer_pinned, "round {round}: {info:?}");
            assert_eq!(
                info.ca_above,
                expected_above.contains(&true),
                "round {round}: {info:?}"
            );
            pinned_issuer += usize::from(issuer_pinned);
        }
        // Every outcome came up, each often.
        assert!(seen.iter().all(|n| *n > rounds / 10), "{seen:?}");
        assert!(pinned_issuer > rounds / 50, "{pinned_issuer}");
    }
}
