//! Facts of one certificate, read from its DER: canonical serial, names, dates, hashes.

use crate::model::{CertInfo, ChainEntry};
use crate::timefmt::rfc3339;
use ring::digest;
use x509_parser::prelude::*;

/// Lowercase hex of bytes.
pub fn hex_lower(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// Canonical serial form: uppercase hex of the integer without leading zeros ("0" for zero).
pub fn canonical_serial_from_bytes(raw: &[u8]) -> String {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    let hex = data_encoding::HEXUPPER.encode(&raw[start..]);
    // Leading zero bytes are gone; only the first byte's high nibble can still be a zero.
    match hex.strip_prefix('0') {
        Some(rest) => rest.to_string(),
        None if hex.is_empty() => "0".to_string(),
        None => hex,
    }
}

/// SHA-256 of `der`, lowercase hex.
pub fn sha256_hex(der: &[u8]) -> String {
    hex_lower(digest::digest(&digest::SHA256, der).as_ref())
}

/// A parse failure of a certificate the server presented.
#[derive(Debug, thiserror::Error)]
#[error("certificate could not be parsed: {0}")]
pub struct CertParseError(String);

/// Everything a report shows about `der`.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, CertParseError> {
    cert_info_and(der, |_| ()).map(|(info, ())| info)
}

/// [`cert_info`], and whatever else `also` reads from the same parse (the sweep's CRL query
/// needs the leaf's distribution points: one parse per endpoint, not two).
pub fn cert_info_and<T>(
    der: &[u8],
    also: impl FnOnce(&X509Certificate<'_>) -> T,
) -> Result<(CertInfo, T), CertParseError> {
    let (_, x) = parse_x509_certificate(der).map_err(|e| CertParseError(e.to_string()))?;
    let sans = san_names(&x);
    let subject_cn = first_cn(x.subject());
    let issuer_cn = first_cn(x.issuer());
    let nb = x.validity().not_before.to_datetime();
    let na = x.validity().not_after.to_datetime();
    let (key_type, key_bits) = key_facts(&x);
    let key_curve = uncommon_curve(x.public_key());
    let sig_oid = &x.signature_algorithm.algorithm;
    let signature_algorithm = oid2sn(sig_oid, oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| sig_oid.to_id_string());
    let info = CertInfo {
        serial: canonical_serial_from_bytes(x.raw_serial()),
        serial_dec: x.tbs_certificate.serial.to_string(),
        subject_cn,
        subject: visible(x.subject().to_string()),
        sans,
        issuer: visible(x.issuer().to_string()),
        issuer_cn,
        not_before: rfc3339(nb),
        not_after: rfc3339(na),
        not_before_unix: nb.unix_timestamp(),
        not_after_unix: na.unix_timestamp(),
        sha256: sha256_hex(der),
        sha1: data_encoding::HEXUPPER
            .encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
        spki_sha256: sha256_hex(x.public_key().raw),
        key_type,
        key_bits,
        key_curve,
        signature_algorithm,
        must_staple: must_staple(&x),
        embedded_scts: embedded_scts(&x),
        key_usage: x.key_usage().ok().flatten().map(|k| k.value.flags),
        extended_key_usage: x
            .extended_key_usage()
            .ok()
            .flatten()
            .map(|e| crate::model::eku_names::of(e.value)),
    };
    Ok((info, also(&x)))
}

/// Whether the certificate's TLS Feature extension (RFC 7633) asks for status_request: its
/// server must staple an OCSP response.
fn must_staple(x: &X509Certificate<'_>) -> bool {
    x.extensions()
        .iter()
        // 1.3.6.1.5.5.7.1.24, compared as bytes: every served certificate passes here.
        .filter(|e| e.oid.as_bytes() == [0x2b, 6, 1, 5, 5, 7, 1, 0x18])
        .any(|e| {
            <Vec<u16> as der::Decode>::from_der(e.value).is_ok_and(|features| features.contains(&5))
        })
}

/// The key identifier of the certificate's authority (its Authority Key Identifier's
/// keyIdentifier): the issuing CA's Subject Key Identifier, which tells apart two CA
/// certificates of one name (a CA renewed with a new key).
pub fn authority_key_id<'a>(x: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    x.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0)
            }
            _ => None,
        })
}

/// The certificate's Subject Key Identifier.
pub fn subject_key_id<'a>(x: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    x.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
            _ => None,
        })
}

/// The SCTs embedded in the certificate (RFC 6962, 3.3), one per log; `None` without an
/// SCT list.
fn embedded_scts(x: &X509Certificate<'_>) -> Option<u8> {
    embedded_sct_logs(x).map(|logs| u8::try_from(logs.len()).unwrap_or(u8::MAX))
}

/// The ids of the logs whose SCTs the certificate embeds, each once; `None` without an
/// SCT list.
pub fn embedded_sct_logs(x: &X509Certificate<'_>) -> Option<Vec<[u8; 32]>> {
    x.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SCT(scts) => {
                let mut logs: Vec<[u8; 32]> = scts.iter().map(|s| *s.id.key_id).collect();
                logs.sort_unstable();
                logs.dedup();
                Some(logs)
            }
            _ => None,
        })
}

/// When the earliest of the SCTs embedded in the certificate `der` was made (Unix seconds),
/// `None` without any (or when it does not parse). Read apart from [`CertInfo`], as only the
/// leaves of roots distrusted by SCT date are asked.
pub fn earliest_sct(der: &[u8]) -> Option<i64> {
    let (_, x) = parse_x509_certificate(der).ok()?;
    x.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SCT(scts) => scts
                .iter()
                .map(|s| i64::try_from(s.timestamp / 1000).unwrap_or(i64::MAX))
                .min(),
            _ => None,
        })
}

/// Subject, issuer and hash of a chain member; unparsable members are still listed.
pub fn chain_entry(der: &[u8]) -> ChainEntry {
    match parse_x509_certificate(der) {
        Ok((_, x)) => ChainEntry {
            subject: visible(x.subject().to_string()),
            issuer: visible(x.issuer().to_string()),
            sha256: sha256_hex(der),
        },
        Err(e) => ChainEntry {
            subject: format!("<unparsable: {e}>"),
            issuer: String::new(),
            sha256: sha256_hex(der),
        },
    }
}

/// Chain entries of the certificates already met in a run, by their DER.
///
/// A fleet presents a handful of intermediates thousands of times: their names are parsed
/// and formatted, and their hash taken, once. Bounded, so a sweep of servers that each send
/// their own odd chain cannot grow it without end (past the bound, entries are computed).
#[derive(Debug, Default)]
pub struct ChainEntries {
    known: std::sync::Mutex<std::collections::HashMap<Vec<u8>, ChainEntry>>,
}

impl ChainEntries {
    const MAX: usize = 1024;

    /// The entry for `der`, computed on first sight.
    pub fn get(&self, der: &[u8]) -> ChainEntry {
        if let Some(e) = self.known.lock().ok().and_then(|m| m.get(der).cloned()) {
            return e;
        }
        let e = chain_entry(der);
        if let Ok(mut m) = self.known.lock() {
            if m.len() < Self::MAX {
                m.insert(der.to_vec(), e.clone());
            }
        }
        e
    }
}

/// Whether a self-signed certificate marked as a CA is a server's own rather than a root:
/// it is not allowed to sign certificates (a root's key usage says it is; `openssl req
/// -x509` writes none), and every name it has (its SANs, else its CN) is a host name or an
/// address, where a root's is a title ("Corp Root CA").
pub fn is_self_signed_server(x: &X509Certificate<'_>) -> bool {
    let signs = x
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|ku| ku.value.key_cert_sign());
    let mut names = san_names(x);
    if names.is_empty() {
        names.extend(first_cn(x.subject()));
    }
    x.subject().as_raw() == x.issuer().as_raw()
        && !signs
        && !names.is_empty()
        && names.iter().all(|n| {
            n.parse::<std::net::IpAddr>().is_ok()
                || (n.contains('.')
                    && n.split('.').all(|l| {
                        !l.is_empty()
                            && (l == "*"
                                || l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                    }))
        })
}

/// Whether the certificate's subject and issuer DNs are byte-identical (self-issued).
pub fn is_self_issued(der: &[u8]) -> bool {
    parse_x509_certificate(der)
        .map(|(_, x)| x.subject().as_raw() == x.issuer().as_raw())
        .unwrap_or(false)
}

/// Whether the certificate names `host` only in its subject CN, having no subjectAltName,
/// as old private-CA templates issue them: the name is right, but clients match names
/// against the subjectAltName alone.
pub fn named_only_in_cn(c: &CertInfo, host: &str) -> bool {
    c.sans.is_empty()
        && c.subject_cn.as_deref().is_some_and(|cn| {
            cn.eq_ignore_ascii_case(host)
                || cn.strip_prefix("*.").is_some_and(|parent| {
                    host.split_once('.')
                        .is_some_and(|(_, h)| h.eq_ignore_ascii_case(parent))
                })
        })
}

/// Whether the first certificate of `chain` is self-issued and no other one bears its name
/// (none can be its issuer: a CA bundle sent after a self-signed certificate). A copy of the
/// certificate itself (a full chain file given as the chain too) is no other one.
pub fn is_self_issued_alone<C: AsRef<[u8]>>(chain: &[C]) -> bool {
    let Some(first) = chain.first().map(AsRef::as_ref) else {
        return false;
    };
    let Ok((_, leaf)) = parse_x509_certificate(first) else {
        return false;
    };
    let name = leaf.subject().as_raw();
    name == leaf.issuer().as_raw()
        && chain[1..]
            .iter()
            .map(AsRef::as_ref)
            .filter(|c| *c != first)
            .all(|c| parse_x509_certificate(c).map_or(true, |(_, x)| x.subject().as_raw() != name))
}

// A certificate's names go into the reports through `visible`: a server chooses its
// certificate's strings, and `www.bank.example\0.evil.example` (the NUL-prefix trick against
// C string handling) would read as the bank's name in a viewer that stops at the NUL.
use crate::model::visible_string as visible;

fn first_cn(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(|cn| visible(cn.to_string()))
}

fn san_names(x: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ext)) = x.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|g| match g {
            GeneralName::DNSName(d) => Some(visible(d.trim_end_matches('.').to_ascii_lowercase())),
            GeneralName::IPAddress(b) => ip_from_bytes(b).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// The curve of an EC key (`spki`) that is none of NIST's P-256, P-384 and P-521, which
/// clients check and its size names: `P-192`, `P-224`, `secp256k1`, `brainpoolP256r1`,
/// `brainpoolP384r1`, `brainpoolP512r1`, or the curve's OID. None for other keys.
pub(crate) fn uncommon_curve(spki: &SubjectPublicKeyInfo<'_>) -> Option<String> {
    use x509_parser::oid_registry as oids;
    if spki.algorithm.algorithm != oids::OID_KEY_TYPE_EC_PUBLIC_KEY {
        return None;
    }
    let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
    if curve == oids::OID_EC_P256
        || curve == oids::OID_NIST_EC_P384
        || curve == oids::OID_NIST_EC_P521
    {
        return None;
    }
    let dotted = curve.to_id_string();
    let name = match dotted.as_str() {
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.132.0.33" => "P-224",
        "1.3.132.0.10" => "secp256k1",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        _ => return Some(dotted),
    };
    Some(name.to_string())
}

/// The key's type (`RSA`, `RSA-PSS`, `EC`, `Ed25519`, ...) and size in bits.
pub(crate) fn key_facts(x: &X509Certificate<'_>) -> (String, u32) {
    use x509_parser::oid_registry::{
        OID_KEY_TYPE_DSA, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_PKCS1_RSASSAPSS,
        OID_SIG_ED25519, OID_SIG_ED448,
    };
    let spki = x.public_key();
    let bits = spki.parsed().map(|k| k.key_size() as u32).unwrap_or(0);
    // Compared as OIDs: formatting each one as a dotted string first cost ~1.5 us per
    // endpoint of a sweep, for nothing but the comparison.
    let oid = &spki.algorithm.algorithm;
    let (kind, bits) = if *oid == OID_PKCS1_RSAENCRYPTION {
        ("RSA", bits)
    } else if *oid == OID_PKCS1_RSASSAPSS {
        // A PSS-only RSA key: the same RSAPublicKey, which x509-parser reads only under
        // rsaEncryption.
        use x509_parser::prelude::FromDer;
        let key = x509_parser::public_key::RSAPublicKey::from_der(&spki.subject_public_key.data);
        (
            "RSA-PSS",
            key.map(|(_, k)| k.key_size() as u32).unwrap_or(0),
        )
    } else if *oid == OID_KEY_TYPE_EC_PUBLIC_KEY {
        // The size of the curve, not of its coordinates: a P-521 point's are 528 bits, and
        // only then is the curve read.
        let p521 = bits == 528
            && spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .is_some_and(|curve| curve == x509_parser::oid_registry::OID_NIST_EC_P521);
        ("EC", if p521 { 521 } else { bits })
    } else if *oid == OID_SIG_ED25519 {
        ("Ed25519", 256)
    } else if *oid == OID_SIG_ED448 {
        ("Ed448", 456)
    } else if *oid == OID_KEY_TYPE_DSA {
        ("DSA", bits)
    } else {
        return (oid.to_id_string(), bits);
    };
    (kind.to_string(), bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_a_certificates_names_are_shown_escaped() {
        let mut p = rcgen::CertificateParams::new(vec![
            "www.bank.test\u{0}.evil.test".to_string(),
            "ok.test".to_string(),
        ])
        .unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "www.bank.test\u{0}.evil.test");
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "Evil\nCorp");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        let info = cert_info(cert.der()).unwrap();
        assert_eq!(
            info.subject_cn.as_deref(),
            Some("www.bank.test\\u{0}.evil.test")
        );
        assert_eq!(info.sans, ["www.bank.test\\u{0}.evil.test", "ok.test"]);
        assert!(!info.subject.contains(['\0', '\n']), "{}", info.subject);
        assert!(info.subject.contains("Evil\\u{a}Corp"), "{}", info.subject);
        assert_eq!(chain_entry(cert.der()).issuer, info.issuer);
        assert_eq!(visible("plain.test".into()), "plain.test");
    }

    #[test]
    fn canonical_serial_strips_sign_byte_and_leading_zero_nibbles() {
        assert_eq!(canonical_serial_from_bytes(&[0x00, 0xcb, 0xf6]), "CBF6");
        assert_eq!(canonical_serial_from_bytes(&[0x01, 0x02]), "102");
        assert_eq!(canonical_serial_from_bytes(&[0x00]), "0");
        assert_eq!(canonical_serial_from_bytes(&[]), "0");
        assert_eq!(
            canonical_serial_from_bytes(&[0x00, 0x00, 0x0a, 0x00]),
            "A00"
        );
        assert_eq!(canonical_serial_from_bytes(&[0x00, 0x00]), "0");
        assert_eq!(canonical_serial_from_bytes(&[0xff]), "FF");
    }
}
