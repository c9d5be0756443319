//! OCSP (RFC 6960): the response a server staples to its certificate (asked for by every
//! rustls ClientHello), and, with `scan --ocsp`, the answer of the CA's responder asked
//! about each leaf. Either is read, matched to the certificate, and its signature checked
//! against the issuer or a responder certificate that issuer signed for OCSP. A staple is
//! judged offline like the rest of the trust judgement; only `--ocsp` asks the network.

use crate::model::{CertInfo, Finding, OcspInfo, RevocationInfo};
use crate::revocation::Query;
use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode, Reader, SliceReader};
use rustls::pki_types::CertificateDer;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};
use x509_parser::prelude::{FromDer, X509Certificate};

/// id-pkix-ocsp-basic: the only response type there is.
const OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
/// id-kp-OCSPSigning: what a delegated responder's certificate must be for.
const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// The key (SubjectPublicKeyInfo, DER) of a trusted certificate by its subject (a Name,
/// DER), if one is trusted.
pub type TrustedKey<'a> = &'a dyn Fn(&X509Certificate<'_>) -> Option<Vec<u8>>;

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
    /// [`judge`], with the signatures checked before remembered; `trusted_key` gives the key
    /// of a trusted certificate by its subject (a Name, DER), for a leaf whose issuer the
    /// server does not send (a root's leaf, an intermediate given in `--ca-file`).
    pub fn judge(
        &self,
        staple: &[u8],
        chain: &[CertificateDer<'_>],
        leaf: &CertInfo,
        (now, trusted_key): (i64, TrustedKey<'_>),
    ) -> (Option<OcspInfo>, Vec<Finding>) {
        judge_with(staple, chain, leaf, (now, trusted_key), Some(self))
    }

    /// Whether the response's signature verifies, from the cache when this staple was
    /// checked under this issuer (its key) before.
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
    judge_with(staple, chain, leaf, (now, &|_| None), None)
}

fn judge_with(
    staple: &[u8],
    chain: &[CertificateDer<'_>],
    leaf: &CertInfo,
    (now, trusted_key): (i64, TrustedKey<'_>),
    cache: Option<&StapleJudge>,
) -> (Option<OcspInfo>, Vec<Finding>) {
    if staple.is_empty() {
        let missing = leaf.must_staple.then_some(Finding::MustStapleMissing);
        return (None, missing.into_iter().collect());
    }
    let leaf_x = chain
        .first()
        .and_then(|c| X509Certificate::from_der(c).ok())
        .map(|(_, x)| x);
    // The issuer as served: the chain member that issued the leaf.
    let issuer_x = leaf_x
        .as_ref()
        .and_then(|l| crate::revocation::served_issuer(l, chain));
    // A leaf issued by a root, or by an intermediate the server leaves out that is
    // trusted (`--ca-file`): that certificate's key checks the staple.
    let trusted = match (&issuer_x, &leaf_x) {
        (None, Some(l)) => trusted_key(l).map(|key| (l.issuer().as_raw(), key)),
        _ => None,
    };
    let issuer = match (&issuer_x, &trusted) {
        (Some(x), _) => Some(Issuer {
            subject: x.subject().as_raw(),
            spki: x.public_key().raw,
        }),
        (None, Some((subject, key))) => Some(Issuer { subject, spki: key }),
        (None, None) => None,
    };
    let mut read = read(Source::Staple, staple, &leaf.serial, issuer, now, cache);
    let mut findings = Vec::new();
    if read.info.status == "unusable" || read.signature_failed {
        findings.push(Finding::OcspInvalid);
    } else if read.this_update.is_some_and(|t| t > now + AHEAD_ALLOWED) {
        // Firefox refuses it (SEC_ERROR_OCSP_FUTURE_RESPONSE), as it says nothing yet.
        findings.push(Finding::OcspInvalid);
        let made = read.info.this_update.as_deref().unwrap_or("?");
        let ahead = format!(
            "it was made at {made}, over a day ahead of this scan's clock (the CA responder's clock, or this host's, is wrong): Firefox refuses a response made in the future"
        );
        read.info.problem = Some(match read.info.problem.take() {
            Some(other) => format!("{ahead}; {other}"),
            None => ahead,
        });
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
        if read.stale(now) {
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
    /// thisUpdate, Unix seconds.
    this_update: Option<i64>,
}

/// How far ahead of the clock a response's thisUpdate may be, for clocks that differ:
/// mozilla::pkix's slop.
pub const AHEAD_ALLOWED: i64 = 86_400;

/// How long a response without nextUpdate is taken for current after its thisUpdate:
/// RFC 6960 leaves it open ("newer information is available all the time"); Firefox
/// (mozilla::pkix, as NSS did) takes such a response for a day, and a server refreshes
/// its staple far more often (nginx hourly).
pub const FRESH_WITHOUT_NEXT_UPDATE: i64 = 86_400;

/// How long after its thisUpdate Firefox takes a response about a server's certificate for
/// current at most, whatever its nextUpdate says (mozilla::pkix's lifetime for end-entity
/// responses; the Baseline Requirements allow public CAs no longer, a private CA's
/// responder may give more).
pub const LONGEST_LIFETIME: i64 = 10 * 86_400;

/// The extension of an OCSP answer that carries SCTs for its certificate (RFC 6962, 3.3).
const OCSP_SCT_LIST: &str = "1.3.6.1.4.1.11129.2.4.5";

/// How many Certificate Transparency logs the stapled OCSP response `staple` (empty: none)
/// carries SCTs of for the leaf `leaf_der`, leaving out logs whose SCTs the leaf embeds:
/// what browsers count beside the embedded ones (RFC 6962, 3.3; a CA that logs when it
/// answers OCSP). Read as the embedded ones are: their signatures unchecked. 0 when the
/// staple does not parse or says nothing of the leaf's serial; its other faults are the
/// staple judge's to tell.
pub fn stapled_sct_logs(staple: &[u8], leaf_der: &[u8]) -> u8 {
    use x509_parser::extensions::parse_ct_signed_certificate_timestamp_list;
    if staple.is_empty() {
        return 0;
    }
    let Ok((_, leaf)) = x509_parser::parse_x509_certificate(leaf_der) else {
        return 0;
    };
    let serial = crate::cert::canonical_serial_from_bytes(leaf.raw_serial());
    let Ok((basic, _)) = basic_response(Source::Staple, staple) else {
        return 0;
    };
    let embedded = crate::cert::embedded_sct_logs(&leaf).unwrap_or_default();
    let mut logs: Vec<[u8; 32]> = basic
        .tbs_response_data
        .responses
        .iter()
        .filter(|r| {
            crate::cert::canonical_serial_from_bytes(r.cert_id.serial_number.as_bytes()) == serial
        })
        .flat_map(|r| r.single_extensions.iter().flatten())
        .filter(|e| e.extn_id.to_string() == OCSP_SCT_LIST)
        .filter_map(|e| parse_ct_signed_certificate_timestamp_list(e.extn_value.as_bytes()).ok())
        .flat_map(|(_, scts)| scts.into_iter().map(|s| *s.id.key_id).collect::<Vec<_>>())
        .filter(|id| !embedded.contains(id))
        .collect();
    logs.sort_unstable();
    logs.dedup();
    u8::try_from(logs.len()).unwrap_or(u8::MAX)
}

/// Until when a response made at `this_update` (Unix seconds) with `next_update` is
/// current: its nextUpdate, but [`LONGEST_LIFETIME`] after it was made at most, and
/// [`FRESH_WITHOUT_NEXT_UPDATE`] without one.
pub fn current_until(this_update: i64, next_update: Option<i64>) -> i64 {
    match next_update {
        Some(next) => next.min(this_update.saturating_add(LONGEST_LIFETIME)),
        None => this_update.saturating_add(FRESH_WITHOUT_NEXT_UPDATE),
    }
}

impl Read {
    /// Whether the response is outdated at `now` ([`current_until`]).
    fn stale(&self, now: i64) -> bool {
        match (self.this_update, self.next_update) {
            (Some(this), next) => current_until(this, next) < now,
            (None, Some(next)) => next < now,
            (None, None) => false,
        }
    }
}

/// An unusable response, and why.
/// The basic response `der_bytes` (from `source`) carries, and its DER (what its signature
/// covers), or why it carries none.
fn basic_response(
    source: Source,
    der_bytes: &[u8],
) -> Result<(BasicOcspResponse, der::asn1::OctetString), String> {
    let noun = source.noun();
    let response = match OcspResponse::from_der(der_bytes) {
        Ok(r) => r,
        Err(e) if source == Source::Staple => {
            return Err(format!("the stapled data is not an OCSP response ({e})"))
        }
        Err(e) => return Err(format!("{noun} is not an OCSP response ({e})")),
    };
    if response.response_status != OcspResponseStatus::Successful {
        return Err(format!(
            "{noun} is an error ({:?})",
            response.response_status
        ));
    }
    let Some(bytes) = response.response_bytes else {
        return Err(format!("{noun} carries no response"));
    };
    if bytes.response_type.to_string() != OCSP_BASIC {
        return Err(format!(
            "{noun} is of type {}, not basic",
            bytes.response_type
        ));
    }
    match BasicOcspResponse::from_der(bytes.response.as_bytes()) {
        Ok(b) => Ok((b, bytes.response)),
        Err(e) => Err(format!("{noun} does not parse ({e})")),
    }
}

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
        this_update: None,
    }
}

/// Where a response came from: what its messages call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Stapled by the server to its handshake.
    Staple,
    /// The CA's responder's answer to our request (`--ocsp`).
    Responder,
}

impl Source {
    /// The response, as messages name it.
    fn noun(self) -> &'static str {
        match self {
            Source::Staple => "the stapled OCSP response",
            Source::Responder => "the responder's answer",
        }
    }
}

/// The CA a response speaks for: its name (DER), which a delegated responder's certificate
/// names as its issuer, and its key (SubjectPublicKeyInfo, DER).
#[derive(Debug, Clone, Copy)]
struct Issuer<'a> {
    subject: &'a [u8],
    spki: &'a [u8],
}

/// Reads a response about the certificate of serial `serial` (canonical hex) under
/// `issuer`, when known.
fn read(
    source: Source,
    der_bytes: &[u8],
    serial: &str,
    issuer: Option<Issuer<'_>>,
    now: i64,
    cache: Option<&StapleJudge>,
) -> Read {
    let (basic, basic_der) = match basic_response(source, der_bytes) {
        Ok(b) => b,
        Err(problem) => return unusable(problem),
    };
    let basic_der = basic_der.as_bytes();
    let serial_of = |raw: &[u8]| crate::cert::canonical_serial_from_bytes(raw);
    let mine = basic.tbs_response_data.responses.iter().find(|r| {
        serial_of(r.cert_id.serial_number.as_bytes()) == serial
            && issuer.is_none_or(|i| {
                issuer_key_matches(
                    &r.cert_id.hash_algorithm.oid.to_string(),
                    r.cert_id.issuer_key_hash.as_bytes(),
                    i.spki,
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
        if serials.iter().any(|s| s == serial) {
            return unusable(match source {
                Source::Staple => format!(
                    "the stapled OCSP response is about serial {serial} of another issuer than the one the server sends"
                ),
                Source::Responder => format!(
                    "the responder's answer is about serial {serial} of another issuer than the certificate's"
                ),
            });
        }
        return unusable(match source {
            Source::Staple => format!(
                "the stapled OCSP response is about another certificate (serial {}), not serial {serial}: the server staples a response it fetched for a certificate it no longer serves",
                serials.join(", "),
            ),
            Source::Responder => format!(
                "the responder's answer is about another certificate (serial {}), not serial {serial}",
                serials.join(", "),
            ),
        });
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
    let this_update = Some(unix(&single.this_update));
    let Some(issuer) = issuer else {
        info.problem = Some(
            "its signature was not checked: the server sends no issuer certificate, and none trusted has the issuer's name".into(),
        );
        return Read {
            info,
            signature_failed: false,
            next_update,
            this_update,
        };
    };
    let check = || signed_by_issuer_or_its_responder(basic_der, &basic, issuer, now);
    let verified = match cache {
        Some(c) => c.checked(der_bytes, issuer.spki, check),
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
        this_update,
    }
}

/// Whether a CertID's issuer key hash is the served issuer's (SHA-1 or SHA-256 of its
/// public key's bits); other hash algorithms are not held against it.
fn issuer_key_matches(hash_oid: &str, hash: &[u8], issuer_spki: &[u8]) -> bool {
    let Some((_, key)) = spki_parts(issuer_spki) else {
        return false;
    };
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
    issuer: Issuer<'_>,
    now: i64,
) -> bool {
    let Some(signed) = signed_part(basic_der) else {
        return false;
    };
    let Some(algorithm) = content_of(basic.signature_algorithm.to_der().ok().as_deref()) else {
        return false;
    };
    let signature = basic.signature.raw_bytes();
    let issuer_spki = issuer.spki;
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
            .is_ok_and(|n| n == issuer.subject)
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

/// Remembered responder answers (a few hundred bytes each): past this many, the finished
/// ones are forgotten, so that a sweep of millions of certificates stays bounded.
const MAX_ANSWERS: usize = 16_384;

/// The largest responder answer read: a response about one certificate with a responder
/// certificate is a few KiB.
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// The longest request URL sent by GET (RFC 5019 §5); longer requests are POSTed.
const MAX_GET_URL: usize = 255;

/// What the requests tell the responder's operators in their User-Agent.
const PURPOSE: &str = "OCSP check";

/// One responder's answer about one certificate, or why there is none.
type Answer = Result<(RevocationInfo, Option<Finding>), String>;

/// An answer asked for by the first endpoint presenting the certificate, awaited by the
/// others.
type AnswerSlot = Arc<OnceCell<Arc<Answer>>>;

/// What one responder answered in a sweep, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponderTally {
    /// Certificates it answered about, its answer verified and current.
    pub answered: usize,
    /// Of those, answers saying revoked.
    pub revoked: usize,
    /// Certificates it gave no usable answer about.
    pub failed: usize,
    /// Why, for the first of them.
    pub first_failure: Option<String>,
}

/// Asks the CA's OCSP responders about the sweep's leaves (`scan --ocsp`): once per
/// certificate and responder for the sweep, however many endpoints present it (the nodes
/// of a load balancer, a name's addresses), the others awaiting the first one's answer.
#[derive(Debug)]
pub struct OcspCheck {
    timeout: Duration,
    /// The `--exclude` lists: a responder's host on them is not connected to either.
    exclude: Option<Arc<crate::engine::exclude::Exclusions>>,
    /// The sweep's resolver (a private CA's responder is often known only to it).
    dns: Arc<crate::engine::resolve::Dns>,
    /// Answers by responder URL and request.
    answers: Mutex<HashMap<(String, Vec<u8>), AnswerSlot>>,
    /// What each responder answered, by URL.
    tally: Mutex<BTreeMap<String, ResponderTally>>,
    /// Requests in flight per responder server (host and port), at most `per_responder`
    /// each: a sweep's thousand connections in flight must not become a thousand requests
    /// at a private CA's one responder.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    per_responder: usize,
    /// Certificates checked that name no http:// responder (counted per endpoint).
    unnamed: std::sync::atomic::AtomicUsize,
}

impl OcspCheck {
    /// A checker whose requests (connect, request and answer together) each get `timeout`,
    /// at most `per_responder` (at least one) in flight to one responder, connecting to
    /// nothing `exclude` holds and resolving names with `dns`.
    pub fn new(
        timeout: Duration,
        per_responder: usize,
        exclude: Option<Arc<crate::engine::exclude::Exclusions>>,
        dns: Arc<crate::engine::resolve::Dns>,
    ) -> OcspCheck {
        OcspCheck {
            timeout,
            exclude,
            dns,
            answers: Mutex::default(),
            tally: Mutex::default(),
            in_flight: Mutex::default(),
            per_responder: per_responder.max(1),
            unnamed: Default::default(),
        }
    }

    /// The bound on requests in flight to the responder at `url`: per server (host and
    /// port), whatever paths its URLs name.
    fn turns(&self, url: &str) -> Arc<tokio::sync::Semaphore> {
        let server = url::Url::parse(url)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_ascii_lowercase();
                Some(format!("{host}:{}", u.port_or_known_default()?))
            })
            .unwrap_or_else(|| url.to_string());
        let mut m = match self.in_flight.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        m.entry(server)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.per_responder)))
            .clone()
    }

    /// How many certificates checked (one per endpoint presenting it) named no http://
    /// responder to ask.
    pub fn without_responder(&self) -> usize {
        self.unnamed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The responders asked so far, by URL, with what they answered.
    pub fn responders_asked(&self) -> Vec<(String, ResponderTally)> {
        let tally = match self.tally.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        tally.iter().map(|(u, t)| (u.clone(), t.clone())).collect()
    }

    /// What the CA's responder says of the query's certificate at `now`, and the finding it
    /// makes (`ocsp_responder_revoked`, `ocsp_responder_unavailable`; none when it says
    /// good). Each http:// responder the certificate names is asked in turn until one gives
    /// a usable answer.
    pub async fn check(&self, q: &Query, now: i64) -> (RevocationInfo, Option<Finding>) {
        let http: Vec<&String> = q
            .ocsp_urls
            .iter()
            .filter(|u| u.starts_with("http://"))
            .collect();
        let first = q.ocsp_urls.first().map(String::as_str);
        if http.is_empty() {
            self.unnamed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return match first {
                Some(u) => responder_unavailable(
                    Some(u),
                    format!("its only OCSP responders are not http:// ({u}); only HTTP responders are asked"),
                ),
                // Public CAs may leave OCSP out since 2024 (Let's Encrypt ended it in
                // 2025): their CRLs (`--crl`) say it.
                None => responder_unavailable(
                    None,
                    "the certificate names no OCSP responder".into(),
                ),
            };
        }
        let request = match request_der(q) {
            Ok(r) => r,
            Err(e) => return responder_unavailable(http.first().map(|u| u.as_str()), e),
        };
        let mut why = Vec::new();
        for url in http {
            match self.answer(url, &request, q, now).await.as_ref() {
                Ok(answer) => return answer.clone(),
                Err(e) => why.push(format!("{url}: {e}")),
            }
        }
        responder_unavailable(first, why.join("; "))
    }

    /// The answer of the responder at `url` to `request`, asked by the first endpoint
    /// wanting it.
    async fn answer(&self, url: &str, request: &[u8], q: &Query, now: i64) -> Arc<Answer> {
        let cell = {
            let mut answers = match self.answers.lock() {
                Ok(a) => a,
                Err(poisoned) => poisoned.into_inner(),
            };
            let key = (url.to_string(), request.to_vec());
            if !answers.contains_key(&key) && answers.len() >= MAX_ANSWERS {
                answers.retain(|_, cell| !cell.initialized());
            }
            answers.entry(key).or_default().clone()
        };
        cell.get_or_init(|| async {
            // The wait for a turn is not the request's time: the timeout starts after it.
            let turns = self.turns(url);
            let _turn = turns.acquire().await;
            // GET while the whole URL fits in 255 bytes, as RFC 5019 has clients ask (so
            // that caches can answer), else POST.
            let get = get_url(url, request);
            let (exclude, dns) = (self.exclude.as_deref(), &self.dns);
            let post = || {
                let body = ("application/ocsp-request", request.to_vec());
                crate::fetch::post(url, body, exclude, dns, PURPOSE, MAX_ANSWER_BYTES)
            };
            let asked = tokio::time::timeout(self.timeout, async {
                if get.len() > MAX_GET_URL {
                    return post().await.map_err(|e| e.to_string());
                }
                let by_get = crate::fetch::get(&get, exclude, dns, PURPOSE, MAX_ANSWER_BYTES).await;
                // A responder that takes no GET (one answering 405, or 400 for a request
                // under its path as OpenSSL's does, or OCSP's malformedRequest) is asked
                // again by POST, which RFC 6960 has every responder take.
                let refused = match &by_get {
                    Err(crate::fetch::Failure::Status(s))
                        if s.is_client_error() || *s == hyper::StatusCode::NOT_IMPLEMENTED =>
                    {
                        format!("answered HTTP {s} to GET")
                    }
                    Ok(body) if refuses_request(body) => {
                        "answered GET as a malformed request".to_string()
                    }
                    _ => return by_get.map_err(|e| e.to_string()),
                };
                post()
                    .await
                    .map_err(|e| format!("{refused}, and POST: {e}"))
            })
            .await;
            let answer = match asked {
                Ok(Ok(body)) => judge_answer(&body, url, q, now),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(format!(
                    "no complete answer within {}",
                    crate::duration::display(self.timeout)
                )),
            };
            self.count(url, &answer);
            Arc::new(answer)
        })
        .await
        .clone()
    }

    fn count(&self, url: &str, answer: &Answer) {
        let mut tally = match self.tally.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        let t = tally.entry(url.to_string()).or_default();
        match answer {
            Ok((_, finding)) => {
                t.answered += 1;
                t.revoked += usize::from(finding.is_some());
            }
            Err(e) => {
                t.failed += 1;
                t.first_failure.get_or_insert_with(|| e.clone());
            }
        }
    }
}

/// What an endpoint whose sweep was stopped while its answer was awaited records.
pub fn stopped(q: &Query) -> (RevocationInfo, Option<Finding>) {
    responder_unavailable(
        q.ocsp_urls.first().map(String::as_str),
        "the sweep was stopped while the responder was being asked".into(),
    )
}

/// No usable answer from `url` (the first responder named), and why.
fn responder_unavailable(url: Option<&str>, problem: String) -> (RevocationInfo, Option<Finding>) {
    (
        RevocationInfo::unavailable(url, problem),
        Some(Finding::OcspResponderUnavailable),
    )
}

/// The DER OCSPRequest for the query's certificate: one CertID of SHA-1 hashes (what every
/// responder answers; RFC 5019's profile, which CAs' responders and their caches serve,
/// knows no other), no nonce (those caches answer with responses signed in advance).
fn request_der(q: &Query) -> Result<Vec<u8>, String> {
    let no_issuer = || {
        "the issuer's certificate is neither in the served chain nor trusted, so no request can name it"
            .to_string()
    };
    let spki = q.issuer_key.as_deref().ok_or_else(no_issuer)?;
    let (_, key) = spki_parts(spki).ok_or("the issuer's key cannot be read")?;
    let sha1 = |b: &[u8]| {
        der::asn1::OctetString::new(
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b).as_ref(),
        )
    };
    let cert_id = x509_ocsp::CertId {
        hash_algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: der::oid::ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
            parameters: Some(der::asn1::Null.into()),
        },
        issuer_name_hash: sha1(&q.issuer_name).map_err(|e| e.to_string())?,
        issuer_key_hash: sha1(key).map_err(|e| e.to_string())?,
        serial_number: x509_cert::serial_number::SerialNumber::new(&q.serial)
            .map_err(|e| format!("the serial cannot be put in a request ({e})"))?,
    };
    x509_ocsp::OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            request_list: vec![x509_ocsp::Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            ..Default::default()
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(|e| format!("cannot encode the request ({e})"))
}

/// The GET form of `request` to the responder at `url` (RFC 6960 A.1): the URL, a slash,
/// the request in base64 with its `+`, `/` and `=` percent-encoded.
fn get_url(url: &str, request: &[u8]) -> String {
    let base64 = data_encoding::BASE64.encode(request);
    let encoded =
        percent_encoding::utf8_percent_encode(&base64, percent_encoding::NON_ALPHANUMERIC);
    let slash = if url.ends_with('/') { "" } else { "/" };
    format!("{url}{slash}{encoded}")
}

/// What the answer `body` from `url` says of the query's certificate at `now`; `Err` says
/// why it cannot say (another responder may).
/// Whether a responder's answer says it could not read the request (OCSP's
/// malformedRequest) or is no OCSP response at all (a web page answering the URL).
fn refuses_request(body: &[u8]) -> bool {
    match OcspResponse::from_der(body) {
        Ok(r) => r.response_status == OcspResponseStatus::MalformedRequest,
        Err(_) => true,
    }
}

fn judge_answer(body: &[u8], url: &str, q: &Query, now: i64) -> Answer {
    let Some(spki) = q.issuer_key.as_deref() else {
        return Err("the issuer's key is unknown".into());
    };
    let issuer = Issuer {
        subject: &q.issuer_name,
        spki,
    };
    let serial = crate::cert::canonical_serial_from_bytes(&q.serial);
    let read = read(Source::Responder, body, &serial, Some(issuer), now, None);
    let info = read.info;
    if info.status == "unusable" {
        return Err(info.problem.unwrap_or_default());
    }
    if !info.verified {
        return Err(info.problem.unwrap_or_else(|| {
            "its signature verifies neither with the issuer's key nor with a responder certificate the issuer signed for OCSP".into()
        }));
    }
    let said = RevocationInfo {
        url: Some(url.to_string()),
        status: info.status.clone(),
        this_update: info.this_update,
        next_update: info.next_update,
        revoked_at: info.revoked_at,
        reason: info.reason,
        problem: None,
        delta_url: None,
        delta_this_update: None,
    };
    match info.status.as_str() {
        // A revocation is never undone, however old the answer saying so.
        "revoked" => Ok((said, Some(Finding::OcspResponderRevoked))),
        "unknown" => Err(
            "the responder answers \"unknown\": it does not know this certificate (one its CA did not issue, or issued so recently that the responder has not heard of it)"
                .into(),
        ),
        _ if read.this_update.is_some_and(|t| t > now + AHEAD_ALLOWED) => Err(format!(
            "its answer was made at {}, over a day ahead of this scan's clock (the responder's clock, or this host's, is wrong): clients refuse an answer made in the future",
            said.this_update.as_deref().unwrap_or("?")
        )),
        _ if read.next_update.is_some_and(|n| n < now) => Err(format!(
            "its answer was due to be replaced on {}: an outdated \"good\" proves nothing",
            said.next_update.as_deref().unwrap_or("?")
        )),
        _ => Ok((said, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{LeafSpec, Pki, StapleSays};

    #[test]
    fn the_scts_a_staple_carries_count_by_log_beside_those_embedded() {
        use crate::fleet::{StapleSigner, StapleSpec};
        let pki = Pki::new("Staple SCTs").expect("pki");
        let leaf = pki
            .issue(&LeafSpec {
                sct_logs: vec![1],
                ..LeafSpec::new(&["ct.test"], 0x62, 10, 80)
            })
            .expect("leaf");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let staple = |logs: &[u8], serial: Option<Vec<u8>>| {
            let spec = StapleSpec {
                sct_logs: logs.to_vec(),
                serial,
                ..StapleSpec::new(StapleSays::Good, now - 60, now + 3600, StapleSigner::Issuer)
            };
            pki.staple_made(&leaf, &spec).expect("staple")
        };
        let der = &leaf.chain[0];
        // Logs 2 and 3 besides the embedded 1 (its own SCT again, and a repeat, not counted).
        assert_eq!(stapled_sct_logs(&staple(&[1, 2, 3, 3], None), der), 2);
        // None carried, another certificate's answer, no staple, not a response: none.
        assert_eq!(stapled_sct_logs(&staple(&[], None), der), 0);
        assert_eq!(stapled_sct_logs(&staple(&[2, 3], Some(vec![0x42])), der), 0);
        assert_eq!(stapled_sct_logs(&[], der), 0);
        assert_eq!(stapled_sct_logs(b"not an OCSP response", der), 0);
    }

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
        let none = |_: &X509Certificate<'_>| None;
        for _ in 0..3 {
            let (got, findings) = judge.judge(&staple, &leaf.chain, &info, (now, &none));
            assert!(findings.is_empty(), "{findings:?}");
            assert!(got.is_some_and(|g| g.verified));
        }
        assert_eq!(judge.checked.lock().map(|m| m.len()).ok(), Some(1));
        let mut altered = staple.clone();
        if let Some(b) = altered.last_mut() {
            *b ^= 1;
        }
        let (got, findings) = judge.judge(&altered, &leaf.chain, &info, (now, &none));
        assert_eq!(findings, [Finding::OcspInvalid]);
        assert!(got.is_some_and(|g| !g.verified));
        // Without the issuer in the chain nothing can be checked, and nothing is held
        // against the staple.
        let (got, findings) = judge.judge(&staple, &leaf.chain[..1], &info, (now, &none));
        assert!(findings.is_empty(), "{findings:?}");
        let got = got.expect("read");
        assert!(!got.verified);
        assert_eq!(
            got.problem.as_deref(),
            Some("its signature was not checked: the server sends no issuer certificate, and none trusted has the issuer's name")
        );
        // Unless the issuer is trusted (a root's leaf, an intermediate in --ca-file): its
        // key checks the staple, and an altered one is held against it.
        let (_, issuer) = X509Certificate::from_der(&leaf.chain[1]).expect("issuer");
        let (name, key) = (issuer.subject().as_raw(), issuer.public_key().raw.to_vec());
        let trusted = |l: &X509Certificate<'_>| (l.issuer().as_raw() == name).then(|| key.clone());
        let (got, findings) = judge.judge(&staple, &leaf.chain[..1], &info, (now, &trusted));
        assert!(findings.is_empty(), "{findings:?}");
        assert!(got.is_some_and(|g| g.verified && g.problem.is_none()));
        let (got, findings) = judge.judge(&altered, &leaf.chain[..1], &info, (now, &trusted));
        assert_eq!(findings, [Finding::OcspInvalid]);
        assert!(got.is_some_and(|g| !g.verified));
    }

    #[test]
    fn a_request_names_the_certificate_by_sha1_hashes_and_travels_in_a_get_path() {
        let pki = Pki::new("Request").expect("pki");
        // The fleet's serials have their top bit set: their DER integers need a leading
        // zero, which the request's must keep.
        let leaf = pki
            .issue(&LeafSpec::new(&["r.test"], 0x80_01, 1, 90).with_ocsp("http://ocsp.x.test"))
            .expect("leaf");
        let q = Query::of(&leaf.chain, |_| None).expect("query");
        let der = request_der(&q).expect("request");
        let request = x509_ocsp::OcspRequest::from_der(&der).expect("parses");
        let [one] = request.tbs_request.request_list.as_slice() else {
            panic!("one certificate asked about");
        };
        let id = &one.req_cert;
        assert_eq!(id.hash_algorithm.oid.to_string(), "1.3.14.3.2.26");
        let serial = crate::cert::cert_info(&leaf.chain[0])
            .expect("parse")
            .serial;
        assert!(serial.starts_with('8'), "{serial}");
        assert_eq!(
            crate::cert::canonical_serial_from_bytes(id.serial_number.as_bytes()),
            serial
        );
        let (name, key) = pki.intermediate_sha1s().expect("hashes");
        assert_eq!(id.issuer_name_hash.as_bytes(), name.as_slice());
        assert_eq!(id.issuer_key_hash.as_bytes(), key.as_slice());
        assert!(request.optional_signature.is_none());
        // The GET form: base64 with `+`, `/` and `=` escaped, after one slash.
        let url = get_url("http://ocsp.x.test", &[0xfb, 0xff, 0xfe, 0x3e]);
        assert_eq!(url, "http://ocsp.x.test/%2B%2F%2F%2BPg%3D%3D");
        assert_eq!(
            get_url("http://ocsp.x.test/", &[0]),
            "http://ocsp.x.test/AA%3D%3D"
        );
        // No issuer: no request, and the reason.
        let bare = Query::of(&leaf.chain[..1], |_| None).expect("query");
        assert!(request_der(&bare).is_err_and(|e| e.contains("neither in the served chain")));
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

    #[test]
    fn generated_staples_are_judged_by_who_signed_them_what_they_say_and_when() {
        use crate::fleet::{StapleSigner, StapleSpec};
        let pki = Pki::new("GenStaple").expect("pki");
        let other = Pki::new("GenStapleOther").expect("pki");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let plain = pki
            .issue(&LeafSpec::new(&["s.test"], 0x71, 10, 80))
            .expect("leaf");
        let must = pki
            .issue(&LeafSpec::new(&["m.test"], 0x72, 10, 80).with_must_staple())
            .expect("leaf");
        let (_, issuer) = X509Certificate::from_der(&plain.chain[1]).expect("issuer");
        let (name, key) = (issuer.subject().as_raw(), issuer.public_key().raw.to_vec());
        let trusted = |l: &X509Certificate<'_>| (l.issuer().as_raw() == name).then(|| key.clone());
        let untrusted = |_: &X509Certificate<'_>| None;
        let cache = StapleJudge::default();
        let mut seen = HashMap::new();
        let rounds = 400u64;
        for round in 1..=rounds {
            let mut rng = crate::testrng::XorShift::new(round ^ 0x0c5f_57a9);
            let leaf = if rng.below(2) == 0 { &plain } else { &must };
            let info = crate::cert::cert_info(&leaf.chain[0]).expect("parse");
            // What the server sends: the whole chain, or the leaf alone with its issuer
            // trusted (an intermediate in --ca-file) or not.
            let (chain, lookup, issuer_known): (&[CertificateDer<'_>], TrustedKey<'_>, bool) =
                match rng.below(4) {
                    0 => (&leaf.chain[..1], &trusted, true),
                    1 => (&leaf.chain[..1], &untrusted, false),
                    _ => (&leaf.chain, &untrusted, true),
                };
            let signer = match rng.below(7) {
                0 => StapleSigner::OtherCa(&other),
                1 => StapleSigner::Responder {
                    for_ocsp: rng.below(3) != 0,
                    other_ca: (rng.below(3) == 0).then_some(&other),
                    expired: rng.below(3) == 0,
                },
                _ => StapleSigner::Issuer,
            };
            let says = match rng.below(3) {
                0 => StapleSays::Revoked(now - 7200),
                1 if rng.below(2) == 0 => StapleSays::Unknown,
                _ => StapleSays::Good,
            };
            let next_update = match rng.below(6) {
                0 => Some(now - 60),
                1 => None,
                // Longer than Firefox takes a response for: outdated once made over ten
                // days ago.
                2 => Some(now + 5 * 86_400),
                _ => Some(now + 3600),
            };
            let about_another = rng.below(8) == 0;
            let this_update = match rng.below(6) {
                0 => now - 2 * 86_400,
                1 => now - 11 * 86_400,
                2 => now + 2 * 86_400,
                _ => now - 600,
            };
            let mut spec = StapleSpec::new(says, this_update, 0, signer);
            spec.next_update = next_update;
            spec.serial = about_another.then(|| vec![0x0f, 0xee]);
            spec.sha256_id = rng.below(2) == 0;
            spec.others_first = rng.below(3) as usize;
            let stapled = rng.below(10) != 0;
            let tampered = rng.below(8) == 0;
            let mut staple = match stapled {
                true => pki.staple_made(leaf, &spec).expect("staple"),
                false => Vec::new(),
            };
            if tampered && stapled {
                if let Some(b) = staple.last_mut() {
                    *b ^= 1;
                }
            }

            // The rules apart (RFC 6960 4.2.2.2, the README): a response counts when the
            // issuer signed it, or a responder certificate the issuer made for OCSP
            // signing and valid now; one that does not verify, about another
            // certificate, or saying "unknown" (verified) is unusable to clients; a
            // verified "revoked" revokes; past its nextUpdate it is stale, and made over
            // ten days ago, or a day without a nextUpdate (as Firefox takes it), and one
            // made over a day ahead of the clock is unusable; without the
            // issuer's key nothing is held against it.
            let signature_good = !tampered
                && match signer {
                    StapleSigner::Issuer => true,
                    StapleSigner::Responder {
                        for_ocsp,
                        other_ca,
                        expired,
                    } => for_ocsp && other_ca.is_none() && !expired,
                    StapleSigner::OtherCa(_) => false,
                };
            let stale = match next_update {
                Some(n) => n < now || this_update < now - 10 * 86_400,
                None => this_update < now - 86_400,
            };
            let mut want: Vec<Finding> = if !stapled {
                leaf_is_must(leaf, &must)
                    .then_some(Finding::MustStapleMissing)
                    .into_iter()
                    .collect()
            } else if about_another
                || (issuer_known && !signature_good)
                || this_update > now + 86_400
            {
                vec![Finding::OcspInvalid]
            } else {
                let verified = issuer_known;
                match says {
                    StapleSays::Unknown if verified => vec![Finding::OcspInvalid],
                    StapleSays::Revoked(_) if verified => {
                        let mut f = vec![Finding::OcspRevoked];
                        f.extend(stale.then_some(Finding::OcspStale));
                        f
                    }
                    _ => stale.then_some(Finding::OcspStale).into_iter().collect(),
                }
            };
            want.sort();
            let (got, mut findings) = judge_with(&staple, chain, &info, (now, lookup), None);
            findings.sort();
            assert_eq!(
                findings, want,
                "round {round}: {signer:?} says {says:?} this {this_update} next {next_update:?} another {about_another} tampered {tampered} stapled {stapled} issuer known {issuer_known}: {got:?}"
            );
            // The cached judge says the same, the first time and again.
            for _ in 0..2 {
                let (cached, mut f) = cache.judge(&staple, chain, &info, (now, lookup));
                f.sort();
                assert_eq!(
                    (cached, f),
                    (got.clone(), findings.clone()),
                    "round {round}"
                );
            }
            if let Some(g) = &got {
                assert_eq!(
                    g.verified,
                    stapled && !about_another && issuer_known && signature_good,
                    "round {round}: {g:?}"
                );
            }
            *seen.entry(want).or_insert(0) += 1;
        }
        for f in [
            vec![],
            vec![Finding::OcspInvalid],
            vec![Finding::OcspRevoked],
            vec![Finding::OcspStale],
            vec![Finding::OcspRevoked, Finding::OcspStale],
            vec![Finding::MustStapleMissing],
        ] {
            assert!(seen.get(&f).is_some_and(|n| *n >= 3), "{f:?}: {seen:?}");
        }
    }

    fn leaf_is_must(leaf: &crate::fleet::Leaf, must: &crate::fleet::Leaf) -> bool {
        leaf.serial_hex == must.serial_hex
    }
}
