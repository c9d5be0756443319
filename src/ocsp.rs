//! The OCSP response a server staples to its certificate (RFC 6960, asked for by every
//! rustls ClientHello): read, matched to the served certificate, and its signature checked
//! against the issuer in the chain or a responder certificate that issuer signed for OCSP.
//! Offline like the rest of the trust judgement: nothing is fetched.

use crate::model::{CertInfo, Finding, OcspInfo};
use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode, Reader, SliceReader};
use rustls::pki_types::CertificateDer;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};
use x509_parser::prelude::{FromDer, X509Certificate};

/// id-pkix-ocsp-basic: the only response type there is.
const OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
/// id-kp-OCSPSigning: what a delegated responder's certificate must be for.
const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// Entries of the checked-signature cache (about 40 bytes each).
const MAX_CHECKED: usize = 16_384;

/// Judges staples and remembers whose signatures it checked: the nodes behind one load
/// balancer staple one response for one certificate, which then costs one signature check
/// (as a leaf's own check for trust), not one per node. Bounded: past 16,384 responses
/// new ones are checked without being remembered.
#[derive(Debug, Default)]
pub struct StapleJudge {
    checked: std::sync::Mutex<std::collections::HashMap<[u8; 32], bool>>,
}

impl StapleJudge {
    /// [`judge`], with the signatures checked before remembered.
    pub fn judge(
        &self,
        staple: &[u8],
        chain: &[CertificateDer<'_>],
        leaf: &CertInfo,
        now: i64,
    ) -> (Option<OcspInfo>, Vec<Finding>) {
        judge_with(staple, chain, leaf, now, Some(self))
    }

    /// Whether the response's signature verifies, from the cache when this staple was
    /// checked under this issuer before.
    fn checked(&self, staple: &[u8], issuer: &[u8], check: impl FnOnce() -> bool) -> bool {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(staple);
        ctx.update(issuer);
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        if let Some(known) = self.checked.lock().ok().and_then(|m| m.get(&key).copied()) {
            return known;
        }
        let verified = check();
        if let Ok(mut m) = self.checked.lock() {
            if m.len() < MAX_CHECKED {
                m.insert(key, verified);
            }
        }
        verified
    }
}

/// What the staple (empty: none was stapled) says of `chain`'s leaf at `now`, and the
/// findings it makes. `leaf` is the leaf's facts (`must_staple` among them).
pub fn judge(
    staple: &[u8],
    chain: &[CertificateDer<'_>],
    leaf: &CertInfo,
    now: i64,
) -> (Option<OcspInfo>, Vec<Finding>) {
    judge_with(staple, chain, leaf, now, None)
}

fn judge_with(
    staple: &[u8],
    chain: &[CertificateDer<'_>],
    leaf: &CertInfo,
    now: i64,
    cache: Option<&StapleJudge>,
) -> (Option<OcspInfo>, Vec<Finding>) {
    if staple.is_empty() {
        let missing = leaf.must_staple.then_some(Finding::MustStapleMissing);
        return (None, missing.into_iter().collect());
    }
    let mut read = read(staple, chain, leaf, now, cache);
    let mut findings = Vec::new();
    if read.info.status == "unusable" || read.signature_failed {
        findings.push(Finding::OcspInvalid);
    } else if read.info.status == "unknown" && read.info.verified {
        // The CA's own answer that it does not know the certificate: Firefox refuses the
        // connection (SEC_ERROR_OCSP_UNKNOWN_CERT). Typical right after a renewal: the
        // server fetched its staple before the responder knew the new certificate, and
        // keeps serving that answer until it refreshes.
        findings.push(Finding::OcspInvalid);
        read.info.problem = Some(
            "the CA's responder answered \"unknown\" (it does not know this certificate, as when the response was fetched before the responder knew a new certificate): Firefox refuses the connection".into(),
        );
    } else {
        if read.info.status == "revoked" && read.info.verified {
            findings.push(Finding::OcspRevoked);
        }
        if read.next_update.is_some_and(|n| n < now) {
            findings.push(Finding::OcspStale);
        }
    }
    (Some(read.info), findings)
}

/// What reading a staple found.
struct Read {
    info: OcspInfo,
    /// Its signature was checked and does not verify.
    signature_failed: bool,
    /// nextUpdate, Unix seconds.
    next_update: Option<i64>,
}

/// An unusable response, and why.
fn unusable(problem: String) -> Read {
    Read {
        info: OcspInfo {
            status: "unusable".into(),
            verified: false,
            this_update: None,
            next_update: None,
            revoked_at: None,
            reason: None,
            problem: Some(problem),
        },
        signature_failed: false,
        next_update: None,
    }
}

/// Reads the staple.
fn read(
    staple: &[u8],
    chain: &[CertificateDer<'_>],
    leaf: &CertInfo,
    now: i64,
    cache: Option<&StapleJudge>,
) -> Read {
    let response = match OcspResponse::from_der(staple) {
        Ok(r) => r,
        Err(e) => return unusable(format!("the stapled data is not an OCSP response ({e})")),
    };
    if response.response_status != OcspResponseStatus::Successful {
        return unusable(format!(
            "the stapled OCSP response is an error ({:?})",
            response.response_status
        ));
    }
    let Some(bytes) = response.response_bytes else {
        return unusable("the stapled OCSP response carries no response".into());
    };
    if bytes.response_type.to_string() != OCSP_BASIC {
        return unusable(format!(
            "the stapled OCSP response is of type {}, not basic",
            bytes.response_type
        ));
    }
    let basic_der = bytes.response.as_bytes();
    let basic = match BasicOcspResponse::from_der(basic_der) {
        Ok(b) => b,
        Err(e) => return unusable(format!("the stapled OCSP response does not parse ({e})")),
    };
    let leaf_x = chain
        .first()
        .and_then(|c| X509Certificate::from_der(c).ok())
        .map(|(_, x)| x);
    // The issuer as served: the chain member whose subject is the leaf's issuer.
    let issuer = leaf_x.as_ref().and_then(|l| {
        chain
            .iter()
            .skip(1)
            .filter_map(|c| X509Certificate::from_der(c).ok().map(|(_, x)| x))
            .find(|x| x.subject().as_raw() == l.issuer().as_raw())
    });
    let serial_of = |raw: &[u8]| crate::cert::canonical_serial_from_bytes(raw);
    let mine = basic.tbs_response_data.responses.iter().find(|r| {
        serial_of(r.cert_id.serial_number.as_bytes()) == leaf.serial
            && issuer.as_ref().is_none_or(|i| {
                issuer_key_matches(
                    &r.cert_id.hash_algorithm.oid.to_string(),
                    r.cert_id.issuer_key_hash.as_bytes(),
                    i,
                )
            })
    });
    let Some(single) = mine else {
        let serials: Vec<String> = basic
            .tbs_response_data
            .responses
            .iter()
            .map(|r| serial_of(r.cert_id.serial_number.as_bytes()))
            .collect();
        if serials.contains(&leaf.serial) {
            return unusable(format!(
                "the stapled OCSP response is about serial {} of another issuer than the one the server sends",
                leaf.serial
            ));
        }
        return unusable(format!(
            "the stapled OCSP response is about another certificate (serial {}), not serial {}: the server staples a response it fetched for a certificate it no longer serves",
            serials.join(", "),
            leaf.serial
        ));
    };
    let unix = |t: &x509_ocsp::OcspGeneralizedTime| t.0.to_unix_duration().as_secs() as i64;
    let time = |t: &x509_ocsp::OcspGeneralizedTime| crate::timefmt::rfc3339_unix(unix(t));
    let (status, revoked_at, reason) = match &single.cert_status {
        CertStatus::Good(_) => ("good", None, None),
        CertStatus::Revoked(info) => (
            "revoked",
            Some(time(&info.revocation_time)),
            info.revocation_reason
                .map(|r| crate::model::reason_name(&format!("{r:?}"))),
        ),
        CertStatus::Unknown(_) => ("unknown", None, None),
    };
    let mut info = OcspInfo {
        status: status.into(),
        verified: false,
        this_update: Some(time(&single.this_update)),
        next_update: single.next_update.as_ref().map(time),
        revoked_at,
        reason,
        problem: None,
    };
    let next_update = single.next_update.as_ref().map(unix);
    let Some(issuer) = issuer else {
        info.problem =
            Some("its signature was not checked: the server sends no issuer certificate".into());
        return Read {
            info,
            signature_failed: false,
            next_update,
        };
    };
    let check = || signed_by_issuer_or_its_responder(basic_der, &basic, &issuer, now);
    let verified = match cache {
        Some(c) => c.checked(staple, issuer.as_ref(), check),
        None => check(),
    };
    info.verified = verified;
    if !verified {
        info.problem = Some(
            "its signature verifies neither with the issuer's key nor with a responder certificate the issuer signed for OCSP".into(),
        );
    }
    Read {
        info,
        signature_failed: !verified,
        next_update,
    }
}

/// Whether a CertID's issuer key hash is the served issuer's (SHA-1 or SHA-256 of its
/// public key's bits); other hash algorithms are not held against it.
fn issuer_key_matches(hash_oid: &str, hash: &[u8], issuer: &X509Certificate<'_>) -> bool {
    let key = issuer.public_key().subject_public_key.data.as_ref();
    let algorithm = match hash_oid {
        "1.3.14.3.2.26" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        "2.16.840.1.101.3.4.2.1" => &ring::digest::SHA256,
        _ => return true,
    };
    ring::digest::digest(algorithm, key).as_ref() == hash
}

/// Whether the response's signature is the issuer's, or that of a responder certificate
/// in the response that the issuer signed, that is for OCSP signing and valid now.
fn signed_by_issuer_or_its_responder(
    basic_der: &[u8],
    basic: &BasicOcspResponse,
    issuer: &X509Certificate<'_>,
    now: i64,
) -> bool {
    let Some(signed) = signed_part(basic_der) else {
        return false;
    };
    let Some(algorithm) = content_of(basic.signature_algorithm.to_der().ok().as_deref()) else {
        return false;
    };
    let signature = basic.signature.raw_bytes();
    let issuer_spki = issuer.public_key().raw;
    if verify(issuer_spki, &algorithm, &signed, signature) {
        return true;
    }
    basic.certs.iter().flatten().any(|responder| {
        let (Ok(tbs), Ok(spki)) = (
            responder.tbs_certificate.to_der(),
            responder.tbs_certificate.subject_public_key_info.to_der(),
        ) else {
            return false;
        };
        let Some(cert_algorithm) =
            content_of(responder.signature_algorithm.to_der().ok().as_deref())
        else {
            return false;
        };
        let issued_by_issuer = responder
            .tbs_certificate
            .issuer
            .to_der()
            .is_ok_and(|n| n == issuer.subject().as_raw())
            && verify(
                issuer_spki,
                &cert_algorithm,
                &tbs,
                responder.signature.raw_bytes(),
            );
        let validity = &responder.tbs_certificate.validity;
        let valid_now = (validity.not_before.to_unix_duration().as_secs() as i64) <= now
            && now <= validity.not_after.to_unix_duration().as_secs() as i64;
        issued_by_issuer
            && valid_now
            && for_ocsp_signing(
                responder
                    .tbs_certificate
                    .extensions
                    .iter()
                    .flatten()
                    .map(|e| (e.extn_id.to_string(), e.extn_value.as_bytes())),
            )
            && verify(&spki, &algorithm, &signed, signature)
    })
}

/// Whether a responder certificate's extensions (OID, value) make it one for OCSP signing:
/// an extended key usage that holds it.
fn for_ocsp_signing<'a>(mut extensions: impl Iterator<Item = (String, &'a [u8])>) -> bool {
    extensions.any(|(oid, value)| {
        oid == "2.5.29.37"
            && Vec::<der::oid::ObjectIdentifier>::from_der(value)
                .is_ok_and(|usages| usages.iter().any(|u| u.to_string() == OCSP_SIGNING))
    })
}

/// The bytes a BasicOCSPResponse's signature covers: its first element (tbsResponseData) as
/// sent, not as re-encoded, so that a response with a DEFAULT value written out still
/// verifies.
fn signed_part(basic_der: &[u8]) -> Option<Vec<u8>> {
    let outer = AnyRef::from_der(basic_der).ok()?;
    let mut r = SliceReader::new(outer.value()).ok()?;
    let start: usize = r.position().try_into().ok()?;
    AnyRef::decode(&mut r).ok()?;
    let end: usize = r.position().try_into().ok()?;
    outer.value().get(start..end).map(<[u8]>::to_vec)
}

/// The contents of a DER SEQUENCE (an AlgorithmIdentifier's, as webpki names algorithms).
fn content_of(der: Option<&[u8]>) -> Option<Vec<u8>> {
    Some(AnyRef::from_der(der?).ok()?.value().to_vec())
}

/// Whether `signature` over `message` verifies with the key of `spki_der` by `algorithm`
/// (an AlgorithmIdentifier's contents): webpki's algorithms, as for certificates.
fn verify(spki_der: &[u8], algorithm: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Some((key_algorithm, key)) = spki_parts(spki_der) else {
        return false;
    };
    webpki::ALL_VERIFICATION_ALGS
        .iter()
        .find(|a| {
            a.signature_alg_id().as_ref() == algorithm
                && a.public_key_alg_id().as_ref() == key_algorithm
        })
        .is_some_and(|a| a.verify_signature(key, message, signature).is_ok())
}

/// A SubjectPublicKeyInfo's algorithm (contents) and key bits.
fn spki_parts(spki_der: &[u8]) -> Option<(&[u8], &[u8])> {
    let outer = AnyRef::from_der(spki_der).ok()?;
    let mut r = SliceReader::new(outer.value()).ok()?;
    let algorithm = AnyRef::decode(&mut r).ok()?;
    let key = BitStringRef::decode(&mut r).ok()?;
    Some((algorithm.value(), key.raw_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{LeafSpec, Pki, StapleSays};

    #[test]
    fn a_staple_checked_once_is_not_checked_again_and_an_altered_one_is() {
        let pki = Pki::new("Staple cache").expect("pki");
        let leaf = pki
            .issue(&LeafSpec::new(&["lb.test"], 0x61, 10, 80))
            .expect("leaf");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let staple = pki
            .staple(&leaf, StapleSays::Good, now - 60, now + 3600)
            .expect("staple");
        let info = crate::cert::cert_info(&leaf.chain[0]).expect("parse");
        let judge = StapleJudge::default();
        for _ in 0..3 {
            let (got, findings) = judge.judge(&staple, &leaf.chain, &info, now);
            assert!(findings.is_empty(), "{findings:?}");
            assert!(got.is_some_and(|g| g.verified));
        }
        assert_eq!(judge.checked.lock().map(|m| m.len()).ok(), Some(1));
        let mut altered = staple.clone();
        if let Some(b) = altered.last_mut() {
            *b ^= 1;
        }
        let (got, findings) = judge.judge(&altered, &leaf.chain, &info, now);
        assert_eq!(findings, [Finding::OcspInvalid]);
        assert!(got.is_some_and(|g| !g.verified));
        // Without the issuer in the chain nothing can be checked, and nothing is held
        // against the staple.
        let (got, findings) = judge.judge(&staple, &leaf.chain[..1], &info, now);
        assert!(findings.is_empty(), "{findings:?}");
        let got = got.expect("read");
        assert!(!got.verified);
        assert_eq!(
            got.problem.as_deref(),
            Some("its signature was not checked: the server sends no issuer certificate")
        );
    }

    #[test]
    fn a_staple_saying_unknown_is_one_clients_cannot_use() {
        let pki = Pki::new("Staple unknown").expect("pki");
        let leaf = pki
            .issue(&LeafSpec::new(&["new.test"], 0x62, 1, 90))
            .expect("leaf");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let staple = pki
            .staple(&leaf, StapleSays::Unknown, now - 60, now + 3600)
            .expect("staple");
        let info = crate::cert::cert_info(&leaf.chain[0]).expect("parse");
        let (got, findings) = judge(&staple, &leaf.chain, &info, now);
        assert_eq!(findings, [Finding::OcspInvalid]);
        let got = got.expect("read");
        assert_eq!((got.status.as_str(), got.verified), ("unknown", true));
        assert!(got
            .problem
            .is_some_and(|p| p.contains("answered \"unknown\"")));
    }
}
