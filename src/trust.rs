//! Judging a captured chain after the handshake, with no network fetch.
//!
//! No AIA chasing on purpose: a server that omits its intermediate breaks clients that do not
//! chase either, so `incomplete_chain` is a deployment defect to report, not to paper over.

use crate::model::{CertInfo, Finding};
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::prelude::*;

/// The verdict on one chain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustReport {
    /// All findings that hold, in a stable order.
    pub findings: Vec<Finding>,
    /// Why the chain failed, in words, when it did, then what needs attention even so.
    pub detail: Option<String>,
    /// The CA certificate of the path that ends first, when it ends more than a day before
    /// the leaf ([`Finding::ChainExpiresFirst`]).
    pub chain_expires: Option<Box<crate::model::ChainExpiry>>,
}

/// A failure to build the trust store.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The CA file could not be read or held no certificate.
    #[error("{path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

/// A chain the server sent, once the leaf's path through it validated: its first CA
/// certificate as an anchor for later leaves, valid while every CA certificate of the path
/// is, and when the certificates it sends stop being valid.
#[derive(Debug, Clone)]
struct ProvenIssuer {
    anchor: TrustAnchor<'static>,
    not_before: i64,
    /// The earliest notAfter of the path's CA certificates, that of `expires_first`.
    not_after: i64,
    /// The subject of the path's CA certificate that expires first.
    expires_first: String,
    /// The certificates sent after the leaf that some other certificate of the chain names as
    /// its issuer: their subject and issuer in words, and notAfter.
    sent: Vec<(String, i64)>,
    /// The root the path ends at, when certsweep holds its certificate.
    root: Option<Arc<RootDate>>,
    /// How the sent chain is out of order, in words, when the path's CA certificates do
    /// not follow the leaf each right after the one it issued.
    disorder: Option<String>,
    /// A CA certificate of the path has name constraints.
    constrained: bool,
    /// Words for the first sent CA certificate of the path whose Key Usage leaves out
    /// keyCertSign, which webpki does not check and other clients do.
    ca_usage: Option<String>,
    /// The path ends at a public root (Mozilla's store): browsers require Certificate
    /// Transparency of the leaves it issues.
    public: bool,
    /// The root it ends at is one Chrome no longer trusts for leaves logged after a date.
    distrust: Option<DistrustedRoot>,
}

/// A Chrome Root Program action against a CA: roots Chrome keeps in its store but no longer
/// trusts for certificates whose earliest Signed Certificate Timestamp is dated after a day
/// (the Chrome Root Store's SCT-based constraint), so that those logged before stay trusted
/// until they expire. webpki-roots keeps such a root, as Mozilla's store may (or the
/// operating system's, for `--system-roots`), so a path to it validates while Chrome, the
/// browser of most users, refuses a certificate issued since.
#[derive(Debug)]
struct Distrust {
    /// The CA, in words.
    ca: &'static str,
    /// The last second (Unix time) an earliest SCT may bear.
    sct_not_after: i64,
    /// That second's day, in words.
    day: &'static str,
    /// The Chrome version that enforces it.
    chrome: u16,
    /// Its roots: the SHA-256 (lowercase hex) of each one's SubjectPublicKeyInfo contents,
    /// as webpki keeps an anchor's key, and its name.
    roots: &'static [(&'static str, &'static str)],
}

/// A root of a [`Distrust`] among the anchors.
#[derive(Debug, Clone, Copy)]
struct DistrustedRoot {
    name: &'static str,
    by: &'static Distrust,
}

/// The roots Chrome distrusts by SCT date, from the Chrome Root Program's announcements
/// (June 2024, May 2025). A root explicitly trusted (`--ca-file`, as an enterprise's policy
/// trusts it) is exempt, as it is in Chrome. Later distrusts are added here.
const CHROME_DISTRUSTED: &[Distrust] = &[
    Distrust {
        ca: "Entrust",
        sct_not_after: 1_731_369_599,
        day: "2024-11-11",
        chrome: 131,
        roots: &[
            (
                "86cfbcb8997665be187082f79fa96cebb2b40412c352866bf82e81149c8529a1",
                "Entrust Root Certification Authority - EC1",
            ),
            (
                "3396a4bb5062f5314a8e07cfbda3c293e6a3b7bf73f8ea16b741df9acefb5306",
                "Entrust Root Certification Authority - G2",
            ),
            (
                "5fb951293760960c9b3f6466d8a3fe896a2f8f1200241c1c38916ba4d3888e91",
                "Entrust Root Certification Authority - G4",
            ),
            (
                "19becf587187dab0014c6876a212b44af3d12e421d43ba0cc78c34689aec75fc",
                "Entrust Root Certification Authority",
            ),
            (
                "6d6bd67832cc58266dd923facb8739027775b001cc0b906f9a8952f1ee35bd0b",
                "Entrust.net Certification Authority (2048)",
            ),
            (
                "70b7ee92c73068de6c14077bd7c4e2c4229f60556ce2ae366464881c5a9c48fc",
                "AffirmTrust Commercial",
            ),
            (
                "1b30949713b50476443a100ce8de526945c9864aa98c27214e0d05448ab4c7f2",
                "AffirmTrust Networking",
            ),
            (
                "84783e3ee6bb8002a9bf3340a176eb452896aa04cafc13a7029b92823e7f7ccd",
                "AffirmTrust Premium",
            ),
            (
                "da383f18eb1d1a96e5fb683ff1c89d00c15e7b19974282eafb54d2260c891220",
                "AffirmTrust Premium ECC",
            ),
        ],
    },
    Distrust {
        ca: "Chunghwa Telecom",
        sct_not_after: 1_754_006_399,
        day: "2025-07-31",
        chrome: 139,
        roots: &[
            (
                "55b594bb24eff61462543e16a01be03f7d9971a7934948562f5ab0f83df2512f",
                "ePKI Root Certification Authority",
            ),
            (
                "4bb89cd8663d02c45764a9fcf716bf59f1e60820c54cb9ac949e8e660889aafd",
                "HiPKI Root CA - G1",
            ),
        ],
    },
    Distrust {
        ca: "NetLock",
        sct_not_after: 1_754_006_399,
        day: "2025-07-31",
        chrome: 139,
        roots: &[(
            "90d3c6d2fcf2653a0b5e834f8bd635652b48c99cf17a5b33c091110509c45d2e",
            "NetLock Arany (Class Gold) Főtanúsítvány",
        )],
    },
];

/// A trust anchor given as a certificate (a `--ca-file` root, the system store's): its
/// subject in words and notAfter. webpki ignores an anchor's dates; OpenSSL and Windows
/// clients refuse a chain to an expired root.
#[derive(Debug)]
struct RootDate {
    subject: String,
    not_after: i64,
}

/// A known intermediate's subject and key (DER, as [`TrustJudge::trusted_key`] gives them)
/// and its issuer (a Name's contents, as webpki keeps names), read once.
struct KnownNames {
    subject: Vec<u8>,
    key: Vec<u8>,
    issuer: Vec<u8>,
}

impl KnownNames {
    /// The names and key of `cert`, `None` if it does not parse.
    fn of(cert: &CertificateDer<'_>) -> Option<Self> {
        let (_, x) = parse_x509_certificate(cert).ok()?;
        Some(KnownNames {
            subject: x.subject().as_raw().to_vec(),
            key: x.public_key().raw.to_vec(),
            issuer: der_contents(x.issuer().as_raw())?.to_vec(),
        })
    }
}

/// What a validated path's dates are, as far as known.
#[derive(Debug, Default)]
struct PathDates {
    /// The sent CA certificates of the path, when one was.
    proven: Option<Arc<ProvenIssuer>>,
    /// The root it ends at, when certsweep holds its certificate.
    root: Option<Arc<RootDate>>,
    /// It ends at a public root ([`ProvenIssuer::public`]).
    public: bool,
    /// It ends at a root Chrome distrusts by SCT date ([`ProvenIssuer::distrust`]).
    distrust: Option<DistrustedRoot>,
}

/// What checking a path in parts found (`policy_path`, `respelled_path`): the path's
/// dates, or the finding and its words.
type PartPath = Result<PathDates, (Finding, String)>;

/// How a client reached the endpoint, which its certificate must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached<'a> {
    /// By this name (the SNI sent).
    Name(&'a str),
    /// By this address, no name sent (a bare address or a CIDR block's): matched only
    /// against a certificate that names addresses, since one that names none was made for
    /// names and says nothing of the address it is served on.
    Address(std::net::IpAddr),
    /// Not said: no match is made.
    Unsaid,
}

impl<'a> From<Option<&'a str>> for Reached<'a> {
    fn from(name: Option<&'a str>) -> Self {
        name.map_or(Reached::Unsaid, Reached::Name)
    }
}

/// Why a certificate that names addresses does not fit the address it was reached at, if it
/// was reached at one.
fn address_mismatch(leaf: &CertInfo, reached: Reached<'_>) -> Option<String> {
    let Reached::Address(ip) = reached else {
        return None;
    };
    let named: Vec<std::net::IpAddr> = leaf.sans.iter().filter_map(|s| s.parse().ok()).collect();
    if named.is_empty() || named.contains(&ip) {
        return None;
    }
    let list: Vec<String> = named.iter().map(ToString::to_string).collect();
    Some(format!(
        "the certificate names the address{} {} but not {ip}, where it is served: a client connecting to {ip} refuses it",
        if named.len() > 1 { "es" } else { "" },
        list.join(", ")
    ))
}

/// Root stores plus a cache of intermediates already verified in this run.
///
/// A fleet shares a handful of intermediates: once one is proven to chain to a root, later
/// leaves under it are checked against it directly, one signature instead of the whole path.
/// Both caches are keyed by everything the server sent after its leaf:
/// a path proven with one node's chain proves nothing for a node whose chain file lacks the
/// CA above the intermediate (a three-level hierarchy).
#[derive(Debug)]
pub struct TrustJudge {
    anchors: Vec<TrustAnchor<'static>>,
    anchor_subjects: HashSet<Vec<u8>>,
    /// The keys (SubjectPublicKeyInfo contents) of the public roots, Mozilla's store: a
    /// path ending at one is a publicly trusted certificate's, which browsers require
    /// Certificate Transparency of.
    public_roots: HashSet<Vec<u8>>,
    /// The anchors (by key, SubjectPublicKeyInfo contents) of [`CHROME_DISTRUSTED`] among the
    /// public and the system roots.
    distrusted: HashMap<Vec<u8>, DistrustedRoot>,
    /// The dates of the anchors made from certificates, by their key (SubjectPublicKeyInfo
    /// contents, as webpki keeps it).
    root_dates: HashMap<Vec<u8>, Arc<RootDate>>,
    /// SHA-256 (lowercase hex) of the self-issued certificates given (CA files, the system
    /// store): a server presenting one of them as its own certificate is trusted, marked as a
    /// CA or not, as OpenSSL, Go and Java clients holding it trust it (an appliance's
    /// self-signed certificate an organisation distributes).
    given: HashSet<String>,
    /// Intermediates the user supplied (non-self-signed CAs in `--ca-file`): they tell
    /// `incomplete_chain` from `unknown_issuer` and give their keys ([`Self::trusted_key`]);
    /// only those whose issuer is not at hand are anchors as well.
    known_intermediates: Vec<CertificateDer<'static>>,
    /// The subject (Name, DER) and key (SubjectPublicKeyInfo, DER) of each of
    /// `known_intermediates`, read once for [`Self::trusted_key`].
    known_keys: Vec<(Vec<u8>, Vec<u8>)>,
    algs: &'static [&'static dyn rustls::pki_types::SignatureVerificationAlgorithm],
    proven: Mutex<HashMap<[u8; 32], Arc<ProvenIssuer>>>,
    /// Leaves whose path already validated in this run (leaf SHA-256, lowercase hex) and the
    /// [`sent_after_leaf`] key of the chain it came with: one certificate deployed on many endpoints (the
    /// nodes behind a load balancer, a SAN or wildcard certificate) costs one signature check,
    /// not one per endpoint. Looked up by the leaf's hex as it stands, with no allocation per
    /// endpoint. Bounded; only successes are kept.
    validated: Mutex<HashMap<String, Validated>>,
}

/// A leaf's validation remembered: the [`sent_after_leaf`] key of the chain it came with
/// and that chain's proven path.
type Validated = ([u8; 32], Arc<ProvenIssuer>);

/// Entries of the validated-leaf cache (about 100 bytes each).
const MAX_VALIDATED: usize = 16_384;

/// Entries of the proven-issuer cache (an owned trust anchor each, a few hundred bytes): a
/// sweep of servers that each send their own chain cannot grow it without end.
const MAX_PROVEN: usize = 4_096;

/// The key of a chain in the caches: SHA-256 over every certificate sent after the leaf, in
/// order, each with its length, or `None` when the leaf came alone.
fn sent_after_leaf(chain: &[CertificateDer<'_>]) -> Option<[u8; 32]> {
    let rest = chain.get(1..).filter(|r| !r.is_empty())?;
    let mut h = ring::digest::Context::new(&ring::digest::SHA256);
    for c in rest {
        h.update(&(c.len() as u64).to_be_bytes());
        h.update(c.as_ref());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    Some(out)
}

/// The certificates of the CA file at `path`: the self-issued ones (roots) pushed to
/// `roots`, the others to `intermediates`. Every one must parse: one that did not would be
/// left out of the anchors unseen, and every server under it found untrusted for no reason
/// the run gives.
fn read_ca_file(
    path: &Path,
    pkcs12_password: Option<&str>,
    roots: &mut Vec<CertificateDer<'static>>,
    intermediates: &mut Vec<CertificateDer<'static>>,
) -> Result<(), TrustError> {
    let err = |reason: String| TrustError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    // Windows exports a CA certificate in binary by default (a `.cer`), or a bundle
    // (`.p7b`): read as well as PEM.
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> =
        crate::stores::certificates_in(&bytes, pkcs12_password)
            .map_err(err)?
            .into_iter()
            .map(CertificateDer::from)
            .collect();
    if certs.is_empty() {
        return Err(err(
            "no certificate in the file (PEM, binary DER, a PKCS#7 bundle, a PKCS#12 or Java keystore)".into(),
        ));
    }
    let n = certs.len();
    for (i, c) in certs.into_iter().enumerate() {
        let self_issued = match parse_x509_certificate(&c) {
            Ok((_, x)) => x.subject().as_raw() == x.issuer().as_raw(),
            Err(e) => {
                return Err(err(format!(
                    "its certificate {} of {n} does not parse ({e})",
                    i + 1
                )))
            }
        };
        if self_issued {
            roots.push(c);
        } else {
            intermediates.push(c);
        }
    }
    Ok(())
}

impl TrustJudge {
    /// Builds the store: Mozilla's roots unless `no_public_roots`, the OS roots when asked,
    /// and every certificate of each `ca_files` (PEM, DER, PKCS#7, or PKCS#12 opened with
    /// `pkcs12_password`).
    pub fn new(
        ca_files: &[impl AsRef<Path>],
        system_roots: bool,
        no_public_roots: bool,
        pkcs12_password: Option<&str>,
    ) -> Result<Self, TrustError> {
        let mut anchors: Vec<TrustAnchor<'static>> = Vec::new();
        if !no_public_roots {
            anchors.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        let mut known_intermediates = Vec::new();
        let mut extra: Vec<CertificateDer<'static>> = Vec::new();
        if system_roots {
            // Administrators add intermediates to the system store too: split like a CA
            // file's certificates below.
            for c in rustls_native_certs::load_native_certs().certs {
                if crate::cert::is_self_issued(&c) {
                    extra.push(c);
                } else {
                    known_intermediates.push(c);
                }
            }
        }
        let from_system = extra.len();
        for path in ca_files {
            read_ca_file(
                path.as_ref(),
                pkcs12_password,
                &mut extra,
                &mut known_intermediates,
            )?;
        }
        let given = extra
            .iter()
            .map(|c| {
                data_encoding::HEXLOWER
                    .encode(ring::digest::digest(&ring::digest::SHA256, c).as_ref())
            })
            .collect();
        let mut root_dates = HashMap::new();
        let mut date = |c: &CertificateDer<'_>, a: &TrustAnchor<'_>| {
            if let Ok((_, x)) = parse_x509_certificate(c) {
                let d = RootDate {
                    subject: crate::model::visible_string(x.subject().to_string()),
                    not_after: x.validity().not_after.timestamp(),
                };
                root_dates.insert(a.subject_public_key_info.to_vec(), Arc::new(d));
            }
        };
        for c in &extra {
            if let Ok(a) = webpki::anchor_from_trusted_cert(c) {
                date(c, &a);
                anchors.push(a.to_owned());
            }
        }
        // An intermediate in a CA file (a CA's chain download, an AD CS .p7b: root and
        // issuing CA together) is not trusted in itself when its issuer is at hand: a server
        // that leaves it out fails clients that hold only roots, and is `incomplete_chain`
        // (found by the diagnosis, which knows these). The top of a chain given without its
        // root is trusted, as the only way to trust that CA.
        let read: Vec<Option<KnownNames>> =
            known_intermediates.iter().map(KnownNames::of).collect();
        let mut at_hand: HashSet<Vec<u8>> = anchors.iter().map(|a| a.subject.to_vec()).collect();
        at_hand.extend(
            read.iter()
                .flatten()
                .filter_map(|n| der_contents(&n.subject).map(<[u8]>::to_vec)),
        );
        for (c, names) in known_intermediates.iter().zip(&read) {
            let vouched = names.as_ref().is_some_and(|n| at_hand.contains(&n.issuer));
            if !vouched {
                if let Ok(a) = webpki::anchor_from_trusted_cert(c) {
                    date(c, &a);
                    anchors.push(a.to_owned());
                }
            }
        }
        let anchor_subjects = anchors.iter().map(|a| a.subject.to_vec()).collect();
        let known_keys = read
            .into_iter()
            .flatten()
            .map(|n| (n.subject, n.key))
            .collect();
        let public_roots = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|r| r.subject_public_key_info.to_vec())
            .collect();
        let distrusted = chrome_distrusted(CHROME_DISTRUSTED, &anchors, &extra[from_system..]);
        Ok(TrustJudge {
            anchors,
            anchor_subjects,
            public_roots,
            distrusted,
            root_dates,
            given,
            known_intermediates,
            known_keys,
            // ring's checks first, then aws-lc-rs's, which add P-521 and the SHA-512
            // pairings ring lacks (a P-521 CA's leaves were `unknown_issuer`).
            algs: crate::tabled::TRUST_ALGS.as_slice(),
            proven: Mutex::new(HashMap::new()),
            validated: Mutex::new(HashMap::new()),
        })
    }

    /// Counts `root`, a test's, among the public roots.
    #[cfg(test)]
    fn count_as_public(&mut self, root: &CertificateDer<'_>) {
        if let Ok(a) = webpki::anchor_from_trusted_cert(root) {
            self.public_roots.insert(a.subject_public_key_info.to_vec());
        }
    }

    /// Has `root`, a test's, distrusted by Chrome as `d` says.
    #[cfg(test)]
    fn count_as_distrusted(&mut self, root: &CertificateDer<'_>, d: DistrustedRoot) {
        if let Ok(a) = webpki::anchor_from_trusted_cert(root) {
            self.distrusted
                .insert(a.subject_public_key_info.to_vec(), d);
        }
    }

    /// The public key (SubjectPublicKeyInfo, DER) of the trusted certificate named
    /// `subject` (a Name, DER), from the roots and `--ca-file` certificates: what checks a
    /// signature by a leaf's issuer when the server does not send it (or the issuer is a
    /// root).
    pub fn trusted_key(&self, subject: &[u8]) -> Option<Vec<u8>> {
        self.trusted_keys(subject).into_iter().next()
    }

    /// The keys of every trusted certificate named `subject`, roots first: a CA renewed with
    /// a new key keeps its name, and a CA file may hold both copies.
    fn trusted_keys(&self, subject: &[u8]) -> Vec<Vec<u8>> {
        let Some(inner) = der_contents(subject) else {
            return Vec::new();
        };
        let anchors = self
            .anchors
            .iter()
            .filter(|a| a.subject.as_ref() == inner)
            .map(|a| der_sequence(a.subject_public_key_info.as_ref()));
        let known = self
            .known_keys
            .iter()
            .filter(|(name, _)| name.as_slice() == subject)
            .map(|(_, key)| key.clone());
        anchors.chain(known).collect()
    }

    /// The key of the trusted certificate that issued `leaf` (SubjectPublicKeyInfo, DER),
    /// for a leaf whose issuer the server does not send: of several named as its issuer (a
    /// CA's old and renewed copies), the one whose key verifies the leaf's signature.
    pub fn trusted_issuer_key(&self, leaf: &X509Certificate<'_>) -> Option<Vec<u8>> {
        let mut keys = self.trusted_keys(leaf.issuer().as_raw());
        if keys.len() > 1 {
            let signed = keys.iter().position(|k| {
                SubjectPublicKeyInfo::from_der(k)
                    .is_ok_and(|(_, spki)| leaf.verify_signature(Some(&spki)).is_ok())
            });
            if let Some(i) = signed {
                return Some(keys.swap_remove(i));
            }
        }
        keys.into_iter().next()
    }

    /// [`Self::judge`] for a chain a handshake got whose key exchange used the server's key
    /// as `key_use` says, which the leaf's Key Usage must allow; `stapled_scts` tells, when
    /// asked, of how many more logs than the leaf embeds its stapled OCSP response carries
    /// SCTs ([`crate::ocsp::stapled_sct_logs`]), which browsers count for Certificate
    /// Transparency: asked only of a public CA's leaf embedding too few, so that the staple
    /// is not read again for every other endpoint.
    pub fn judge_handshake<'a>(
        &self,
        chain: &[CertificateDer<'_>],
        leaf: &CertInfo,
        reached: impl Into<Reached<'a>>,
        (now_unix, key_use, stapled_scts): (i64, KeyUse, &dyn Fn() -> u8),
    ) -> TrustReport {
        let mut report = self.judge_delivered(chain, leaf, reached.into(), now_unix, stapled_scts);
        if let Some(why) = key_usage_refusal(leaf, key_use) {
            report.findings.push(Finding::KeyUsageIncompatible);
            report.findings.sort();
            // A refusal: before the notes of what needs attention besides.
            put_first(&mut report.detail, why);
        }
        report
    }

    /// Judges `chain` (leaf first) for the endpoint as it was `reached` (a [`Reached`]; a name
    /// as `Some(name)`, `None` for no name check) at `now_unix`.
    ///
    /// Path validation runs at a time inside the leaf's validity, so an expired leaf is
    /// reported as `expired` and, independently, whether its chain would otherwise hold.
    pub fn judge<'a>(
        &self,
        chain: &[CertificateDer<'_>],
        leaf: &CertInfo,
        reached: impl Into<Reached<'a>>,
        now_unix: i64,
    ) -> TrustReport {
        self.judge_delivered(chain, leaf, reached.into(), now_unix, &|| 0)
    }

    /// [`Self::judge`], with SCTs of `delivered_scts()` logs besides those the leaf embeds
    /// (a stapled OCSP response's), asked only when the embedded ones fall short.
    fn judge_delivered(
        &self,
        chain: &[CertificateDer<'_>],
        leaf: &CertInfo,
        reached: Reached<'_>,
        now_unix: i64,
        delivered_scts: &dyn Fn() -> u8,
    ) -> TrustReport {
        let mut findings = Vec::new();
        let mut detail = None;
        let mut name_note = None;
        let mut key_note = None;
        let mut chain_notes = Vec::new();
        let mut chain_expires = None;
        let Some(leaf_der) = chain.first() else {
            return TrustReport::default();
        };
        if now_unix > leaf.not_after_unix {
            findings.push(Finding::Expired);
        }
        if now_unix < leaf.not_before_unix {
            findings.push(Finding::NotYetValid);
        }
        let ee = match EndEntityCert::try_from(leaf_der) {
            Ok(ee) => ee,
            Err(e) => {
                findings.push(Finding::ChainInvalid);
                let words = matches!(e, webpki::Error::UnsupportedCriticalExtension)
                    .then(|| critical_unknown_words(&chain[..1]))
                    .flatten()
                    .unwrap_or_else(|| format!("leaf rejected by the path validator: {e:?}"));
                return TrustReport {
                    findings,
                    detail: Some(words),
                    chain_expires: None,
                };
            }
        };
        if let Some(note) = address_mismatch(leaf, reached) {
            findings.push(Finding::HostnameMismatch);
            name_note = Some(note);
        }
        if let Reached::Name(name) = reached {
            let ok = ServerName::try_from(name)
                .map(|n| ee.verify_is_valid_for_subject_name(&n).is_ok())
                .unwrap_or(false);
            if !ok {
                findings.push(Finding::HostnameMismatch);
                if crate::cert::named_only_in_cn(leaf, name) {
                    name_note = Some(format!(
                        "{name} is only in the subject CN, and the certificate has no subjectAltName: clients match names against the subjectAltName alone"
                    ));
                }
            }
        }
        if weak_key(leaf) {
            findings.push(Finding::WeakKey);
            let min = if leaf.key_type == "EC" { "256" } else { "2048" };
            let what = match leaf.key_type.as_str() {
                "DSA" => "a DSA key, which current clients refuse".to_string(),
                kind => format!(
                    "an {kind} key of {} bits, which current clients refuse (they need {min} or more)",
                    leaf.key_bits
                ),
            };
            key_note = Some(format!("the certificate has {what}"));
        }
        let apple_note = apple_refusal(leaf);
        if apple_note.is_some() {
            findings.push(Finding::AppleIncompatible);
        }
        let kind_note = boringssl_unsupported(leaf);
        if kind_note.is_some() {
            findings.push(Finding::KeyTypeUnsupported);
        }
        let at = now_unix.clamp(
            leaf.not_before_unix,
            leaf.not_after_unix.max(leaf.not_before_unix),
        );
        let time = UnixTime::since_unix_epoch(Duration::from_secs(at.max(0) as u64));
        // Parses the chain once more, so only asked once the path has failed. Certificates
        // sent after a self-signed one (a CA bundle configured beside it) vouch for nothing,
        // unless one bears its name (the same CA's other key).
        let self_issued = || crate::cert::is_self_issued_alone(chain);
        let mut path = self.verify_path(&ee, chain, &leaf.sha256, time, at);
        // webpki refuses the critical extensions of RFC 5280's policy processing, which
        // other clients process: such a path is checked in two parts (`policy_path`).
        let mut part_fault = None;
        if matches!(path, Err(webpki::Error::UnsupportedCriticalExtension)) {
            match self.policy_path(&ee, chain, time, at, leaf) {
                Some(Ok(dates)) => path = Ok(dates),
                Some(Err(fault)) => part_fault = Some(fault),
                None => {}
            }
        }
        // webpki matches a leaf's issuer name to its CA's subject byte for byte; RFC 5280
        // and other clients compare them as names (`respelled_path`).
        let mut respelled = None;
        if matches!(path, Err(webpki::Error::UnknownIssuer)) {
            match self.respelled_path(&ee, chain, time, at) {
                Some((name, Ok(dates))) => {
                    path = Ok(dates);
                    respelled = Some(name);
                }
                Some((_, Err(fault))) => part_fault = Some(fault),
                None => {}
            }
        }
        match path {
            Ok(dates) => {
                let now = (at == now_unix).then_some(now_unix);
                (chain_notes, chain_expires) = chain_expiry(&dates, leaf, at, now, &mut findings);
                if let Some(name) = respelled {
                    chain_notes.push(format!(
                        "the certificate names its issuer \"{name}\" written otherwise than that CA certificate's subject (another string type, case or spacing): browsers and OpenSSL compare the names as RFC 5280 says and accept it, clients that compare them byte for byte (rustls, some embedded TLS stacks) refuse the chain"
                    ));
                }
                // Private CAs' leaves (every one of a fleet under an AD CS) are not asked,
                // nor their words made.
                if let Some(why) = dates
                    .public
                    .then(|| ct_shortfall(leaf, delivered_scts))
                    .flatten()
                {
                    findings.push(Finding::CtMissing);
                    detail = Some(why);
                }
                if let Some(why) = dates.public.then(|| too_long_for_public(leaf)).flatten() {
                    findings.push(Finding::ValidityTooLong);
                    put_first(&mut detail, why);
                }
                if let Some(why) = dates
                    .distrust
                    .and_then(|d| distrusted_since(d, leaf_der, leaf))
                {
                    findings.push(Finding::CaDistrusted);
                    put_first(&mut detail, why);
                }
                // A refusal of the whole chain: before the words about the leaf.
                if let Some(why) = dates.proven.as_ref().and_then(|p| p.ca_usage.clone()) {
                    findings.push(Finding::ChainInvalid);
                    put_first(&mut detail, why);
                }
            }
            // The very certificate the user trusts, though marked as a CA (the default of
            // `openssl req -x509`), which the path validator refuses as an end entity.
            Err(webpki::Error::CaUsedAsEndEntity) if self.given.contains(&leaf.sha256) => {}
            // A CA certificate as the leaf is what `openssl req -x509` and many appliances
            // make by default: the path validator refuses it as an end entity before looking
            // for an issuer, but it is still the self-signed certificate.
            Err(e @ (webpki::Error::UnknownIssuer | webpki::Error::CaUsedAsEndEntity))
                if self_issued() =>
            {
                findings.push(Finding::SelfSigned);
                let mut d = String::from("the server presents a self-signed certificate");
                if matches!(e, webpki::Error::CaUsedAsEndEntity) {
                    d.push_str(" (marked as a CA)");
                }
                if let Some(others) = chain.len().checked_sub(1).filter(|&n| n > 0) {
                    d.push_str(&format!(
                        ", and {others} other certificate(s) after it, which do not vouch for it"
                    ));
                }
                detail = Some(d);
            }
            // A self-signed certificate whose name a trusted certificate bears with another
            // key: the path validator tried that one and the signature did not verify. An
            // appliance that made itself a new certificate (a reset, an update, an expiry)
            // while the trust store holds its old one; no certificate was altered.
            Err(webpki::Error::InvalidSignatureForPublicKey) if self_issued() => {
                findings.push(Finding::SelfSigned);
                detail = Some(format!(
                    "{SELF_SIGNED_ANEW} (a CA file's or the system store's) has another key: the server made itself a new one (a reset, an update, an expiry); trust the new one, or put the old one back"
                ));
            }
            Err(webpki::Error::UnknownIssuer) => {
                let (f, d) =
                    part_fault.unwrap_or_else(|| self.diagnose_unknown_issuer(&ee, chain, time));
                findings.push(f);
                detail = Some(d);
            }
            Err(e) => {
                let unknown = || {
                    matches!(e, webpki::Error::UnsupportedCriticalExtension)
                        .then(|| critical_unknown_words(chain))
                        .flatten()
                        .map(|words| (Finding::ChainInvalid, words))
                };
                let (f, d) = part_fault
                    .or_else(|| self.ca_key_fault(chain, &e))
                    .or_else(unknown)
                    .unwrap_or_else(|| path_error(&e, leaf));
                findings.push(f);
                detail = Some(d);
            }
        }
        findings.sort();
        findings.dedup();
        // Why clients refuse it first, then what needs attention besides.
        let notes: Vec<String> = [detail, key_note, name_note, apple_note, kind_note]
            .into_iter()
            .flatten()
            .chain(chain_notes)
            .collect();
        let detail = (!notes.is_empty()).then(|| notes.join("; "));
        TrustReport {
            findings,
            detail,
            chain_expires,
        }
    }

    /// Validates the leaf's path; on success, the dates of its CA certificates as far as
    /// they are known.
    fn verify_path(
        &self,
        ee: &EndEntityCert<'_>,
        chain: &[CertificateDer<'_>],
        leaf_sha256: &str,
        time: UnixTime,
        at: i64,
    ) -> Result<PathDates, webpki::Error> {
        let dates = |p: Arc<ProvenIssuer>| PathDates {
            root: p.root.clone(),
            public: p.public,
            distrust: p.distrust,
            proven: Some(p),
        };
        let key = sent_after_leaf(chain);
        let within = |p: &ProvenIssuer| at >= p.not_before && at <= p.not_after;
        if let Some(key) = key {
            // The same leaf with the same chain validated before, at a time inside the
            // leaf's validity as now (`at` is clamped to it) and its CAs': same bytes, same
            // answer.
            let known = self.validated.lock().ok().and_then(|v| {
                v.get(leaf_sha256)
                    .filter(|(k, p)| *k == key && within(p))
                    .map(|(_, p)| p.clone())
            });
            if let Some(p) = known {
                return Ok(dates(p));
            }
        }
        let remember = |key: [u8; 32], p: &Arc<ProvenIssuer>| {
            if let Ok(mut v) = self.validated.lock() {
                if v.len() < MAX_VALIDATED || v.contains_key(leaf_sha256) {
                    v.insert(leaf_sha256.to_string(), (key, p.clone()));
                }
            }
        };
        if let Some(key) = key {
            let cached = self.proven.lock().ok().and_then(|m| m.get(&key).cloned());
            if let Some(p) = cached.filter(|p| within(p)) {
                let anchors = std::slice::from_ref(&p.anchor);
                if server_path(ee, self.algs, anchors, &[], time).is_ok() {
                    remember(key, &p);
                    return Ok(dates(p));
                }
            }
        }
        let intermediates = &chain[1.min(chain.len())..];
        let path = server_path(ee, self.algs, &self.anchors, intermediates, time)?;
        let root = self
            .root_dates
            .get(path.anchor().subject_public_key_info.as_ref())
            .cloned();
        let public = self
            .public_roots
            .contains(path.anchor().subject_public_key_info.as_ref());
        let distrust = self
            .distrusted
            .get(path.anchor().subject_public_key_info.as_ref())
            .copied();
        let proven = proven_issuer(
            path.intermediate_certificates().map(|c| c.der()),
            chain,
            root.clone(),
        )
        .map(|p| {
            Arc::new(ProvenIssuer {
                public,
                distrust,
                ..p
            })
        });
        // Remember the leaf's direct issuer as proven, when the path went through it. Not
        // when a CA of the path or its root constrains names: whether a leaf's names are
        // permitted is the leaf's own question, and the direct issuer made an anchor keeps
        // only its own constraints (a confined private root's were lost, so a later leaf of
        // its intermediate for any domain passed).
        let first = path.intermediate_certificates().next();
        let constrained = path.anchor().name_constraints.is_some()
            || proven.as_ref().is_some_and(|p| p.constrained);
        if let (Some(key), Some(first), Some(p)) = (key, first, &proven) {
            if first.der().as_ref() == chain[1].as_ref() {
                remember(key, p);
                if let (false, Ok(mut m)) = (constrained, self.proven.lock()) {
                    if m.len() < MAX_PROVEN {
                        m.insert(key, p.clone());
                    }
                }
            }
        }
        Ok(PathDates {
            proven,
            root,
            public,
            distrust,
        })
    }

    /// A path webpki refused for a CA certificate's critical policy extension
    /// ([`POLICY_EXTENSIONS`]: RFC 5280 has policyConstraints and inhibitAnyPolicy always
    /// critical, and PKIs built to it, such as governments' and banks', use them), which
    /// browsers, OpenSSL, Go and Java process. Checked in two parts: webpki validates the
    /// leaf up to such a CA certificate, taken as an anchor; above it, each certificate's
    /// signature by its issuer's key, its dates and its being a CA are checked up to a
    /// trusted certificate. The policies themselves are not evaluated. None when this does
    /// not apply (no such extension, or name constraints above the leaf's part, the root's
    /// included, which this check would not apply); else the path's dates, or the finding
    /// and its words.
    fn policy_path(
        &self,
        ee: &EndEntityCert<'_>,
        chain: &[CertificateDer<'_>],
        time: UnixTime,
        at: i64,
        leaf: &CertInfo,
    ) -> Option<PartPath> {
        let parsed = parse_chain(chain)?;
        let unknown: Vec<(usize, Vec<String>)> = (1..parsed.len())
            .map(|i| (i, critical_unknown(&parsed[i])))
            .filter(|(_, oids)| !oids.is_empty())
            .collect();
        let only_policy = unknown
            .iter()
            .flat_map(|(_, oids)| oids)
            .all(|oid| policy_extension(oid).is_some());
        let refused: Vec<usize> = unknown.iter().map(|&(i, _)| i).collect();
        if refused.is_empty() || !only_policy {
            return Some(Err((Finding::ChainInvalid, critical_unknown_words(chain)?)));
        }
        fn anchor_of<'a>(x: &'a X509Certificate<'a>) -> Option<TrustAnchor<'a>> {
            Some(TrustAnchor {
                subject: der_contents(x.subject().as_raw())?.into(),
                subject_public_key_info: der_contents(x.public_key().raw)?.into(),
                name_constraints: None,
            })
        }
        let anchors: Vec<TrustAnchor<'_>> = refused
            .iter()
            .map(|&i| anchor_of(&parsed[i]))
            .collect::<Option<_>>()?;
        let others: Vec<CertificateDer<'_>> = (1..chain.len())
            .filter(|i| !refused.contains(i))
            .map(|i| chain[i].clone())
            .collect();
        let below = server_path(ee, self.algs, &anchors, &others, time);
        let below = match below {
            Ok(p) => p,
            // A CA certificate below the policy CA left out, as any other.
            Err(webpki::Error::UnknownIssuer) => {
                return Some(Err(self.diagnose_unknown_issuer(ee, chain, time)))
            }
            Err(e) => return Some(Err(path_error(&e, leaf))),
        };
        let top = refused.iter().copied().find(|&i| {
            der_contents(parsed[i].public_key().raw)
                == Some(below.anchor().subject_public_key_info.as_ref())
        })?;
        self.walk_up(&parsed, top, at)
    }

    /// Above a part of the path webpki validated, from the sent CA certificate
    /// `parsed[start]` up to a trusted certificate (eight at most): each one's dates, its
    /// being a CA allowed to sign certificates, and its signature by its issuer's key (a
    /// trusted certificate's, else a sent one's). None where name constraints (a CA's on the
    /// way, or the root's) would apply, which this walk does not apply.
    fn walk_up(&self, parsed: &[X509Certificate<'_>], start: usize, at: i64) -> Option<PartPath> {
        let mut cur = start;
        for _ in 0..8 {
            let c = &parsed[cur];
            if c.name_constraints().ok().flatten().is_some() {
                return None;
            }
            let name = crate::model::visible_string(c.subject().to_string());
            let (nb, na) = (
                c.validity().not_before.timestamp(),
                c.validity().not_after.timestamp(),
            );
            if at > na || at < nb {
                let when = if at > na {
                    format!("expired on {}", crate::timefmt::rfc3339_unix(na))
                } else {
                    format!("is valid only from {}", crate::timefmt::rfc3339_unix(nb))
                };
                return Some(Err((
                    Finding::ChainInvalid,
                    format!("the CA certificate \"{name}\" of the chain {when}"),
                )));
            }
            if !c.is_ca() {
                return Some(Err((
                    Finding::ChainInvalid,
                    format!("the chain has \"{name}\", which is not a CA certificate, where one belongs"),
                )));
            }
            if let Some(why) = no_cert_sign(c) {
                return Some(Err((Finding::ChainInvalid, why)));
            }
            let issuer = c.issuer().as_raw();
            let signed_by = |key: &[u8]| {
                SubjectPublicKeyInfo::from_der(key)
                    .is_ok_and(|(_, spki)| c.verify_signature(Some(&spki)).is_ok())
            };
            if self.trusted_keys(issuer).iter().any(|k| signed_by(k)) {
                // A root that constrains names: not applied here, so the refusal stands.
                let inner = der_contents(issuer);
                if self
                    .anchors
                    .iter()
                    .any(|a| Some(a.subject.as_ref()) == inner && a.name_constraints.is_some())
                {
                    return None;
                }
                return Some(Ok(PathDates {
                    proven: None,
                    root: None,
                    public: false,
                    distrust: None,
                }));
            }
            let next = (1..parsed.len()).find(|&j| {
                j != cur
                    && parsed[j].subject().as_raw() == issuer
                    && signed_by(parsed[j].public_key().raw)
            });
            match next {
                Some(j) => cur = j,
                None => {
                    let issuer = crate::model::visible_string(c.issuer().to_string());
                    return Some(Err((
                        Finding::UnknownIssuer,
                        format!("{BELOW_A_ROOT}{name}\", whose issuer \"{issuer}\" is neither sent nor trusted (or its signature does not verify)"),
                    )));
                }
            }
        }
        None
    }

    /// A leaf whose issuer name is its CA certificate's subject written another way (a
    /// UTF8String for a PrintableString, another case or spacing): RFC 5280 (7.1) compares
    /// names so, as browsers and OpenSSL do, while webpki compares bytes and finds no issuer.
    /// The sent CA certificate whose subject matches so and whose key verifies the leaf's
    /// signature is taken as an anchor under the leaf's spelling of the name, for webpki to
    /// validate the leaf, and the path above it is walked ([`Self::walk_up`]). The CA's name
    /// in words, and the path's dates or the fault above.
    fn respelled_path(
        &self,
        ee: &EndEntityCert<'_>,
        chain: &[CertificateDer<'_>],
        time: UnixTime,
        at: i64,
    ) -> Option<(String, PartPath)> {
        // Nothing sent after the leaf (the common missing intermediate): no CA to compare.
        if chain.len() < 2 {
            return None;
        }
        let parsed = parse_chain(chain)?;
        let (leaf, sent) = parsed.split_first()?;
        let issuer = leaf.issuer();
        let j = 1 + sent.iter().position(|x| {
            x.subject().as_raw() != issuer.as_raw()
                && same_name(x.subject(), issuer)
                && leaf.verify_signature(Some(x.public_key())).is_ok()
        })?;
        let ca = &parsed[j];
        if !matches!(ca.name_constraints(), Ok(None)) {
            return None;
        }
        let anchor = TrustAnchor {
            subject: der_contents(issuer.as_raw())?.into(),
            subject_public_key_info: der_contents(ca.public_key().raw)?.into(),
            name_constraints: None,
        };
        server_path(ee, self.algs, &[anchor], &[], time).ok()?;
        let name = crate::model::visible_string(ca.subject().to_string());
        Some((name, self.walk_up(&parsed, j, at)?))
    }

    /// When a signature of the path did not verify, or its algorithm did not fit the key: a
    /// CA key the checks refuse, rather than an altered certificate or a mislabelled
    /// signature. webpki, like OpenSSL at the security level current Linux distributions set,
    /// checks RSA signatures only of keys of 2048 bits and more, so a private hierarchy with
    /// a 1024-bit CA (old AD CS installations) failed as if a certificate had been tampered
    /// with: each certificate sent is checked again with ring's legacy algorithms, which take
    /// 1024-bit keys, against its issuer's small key (a sent CA certificate of that name,
    /// else a trusted one). An ECDSA signature by a key on a curve webpki does not know
    /// (P-224, brainpool) failed as if the algorithm did not fit the key. The finding and the
    /// words naming the CA.
    fn ca_key_fault(
        &self,
        chain: &[CertificateDer<'_>],
        e: &webpki::Error,
    ) -> Option<(Finding, String)> {
        let unknown_curve = match e {
            webpki::Error::InvalidSignatureForPublicKey => false,
            webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => true,
            _ => return None,
        };
        let parsed: Vec<X509Certificate<'_>> = chain
            .iter()
            .filter_map(|c| parse_x509_certificate(c).ok().map(|(_, x)| x))
            .collect();
        for (i, cert) in parsed.iter().enumerate() {
            let issuer = cert.issuer().as_raw();
            // A root sent along vouches for nothing: its own signature is not checked.
            if i > 0 && issuer == cert.subject().as_raw() {
                continue;
            }
            let sent = parsed
                .iter()
                .enumerate()
                .filter(|&(j, x)| j != i && x.subject().as_raw() == issuer)
                .map(|(_, x)| (x.public_key().raw.to_vec(), true));
            let trusted = self.trusted_keys(issuer).into_iter().map(|k| (k, false));
            for (key, was_sent) in sent.chain(trusted) {
                let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(&key) else {
                    continue;
                };
                let fault = if unknown_curve {
                    unknown_curve_fault(&spki)
                } else {
                    small_rsa_bits(&spki)
                        .filter(|_| signed_by_legacy_rsa(cert, &spki))
                        .map(|bits| {
                            let key = format!("an RSA key of {bits} bits");
                            (
                                Finding::WeakKey,
                                key,
                                "current clients refuse (they need 2048 or more)",
                            )
                        })
                };
                let Some((finding, key, who)) = fault else {
                    continue;
                };
                let name = crate::model::visible_string(cert.issuer().to_string());
                let whose = if was_sent {
                    "the server sends"
                } else {
                    "trusted here (a root, or a --ca-file certificate)"
                };
                return Some((
                    finding,
                    format!(
                        "the CA certificate \"{name}\" {whose} has {key}, which {who}{CA_KEY_REFUSED}"
                    ),
                ));
            }
        }
        None
    }

    /// Tells a missing intermediate from an untrusted root when the path cannot be built.
    fn diagnose_unknown_issuer(
        &self,
        ee: &EndEntityCert<'_>,
        chain: &[CertificateDer<'_>],
        time: UnixTime,
    ) -> (Finding, String) {
        let parsed: Vec<Option<X509Certificate<'_>>> = chain
            .iter()
            .map(|c| parse_x509_certificate(c).ok().map(|(_, x)| x))
            .collect();
        // The path the server's certificates make from the leaf, each one followed by its
        // issuer where sent; not the last one sent: a server may send its intermediates in
        // any order, or another CA's intermediate instead of the leaf's.
        let mut top = 0;
        let mut on_path = vec![false; chain.len()];
        on_path[0] = true;
        while let Some(Some(cur)) = parsed.get(top) {
            let issuer = cur.issuer().as_raw();
            // A root ends it; a self-issued leaf may still have its issuer sent (the judge
            // took one whose name no other certificate bears for self-signed).
            if top > 0 && issuer == cur.subject().as_raw() {
                break;
            }
            let next = (1..chain.len()).find(|&j| {
                !on_path[j]
                    && parsed[j]
                        .as_ref()
                        .is_some_and(|x| x.subject().as_raw() == issuer)
            });
            let Some(j) = next else { break };
            on_path[j] = true;
            top = j;
        }
        let (top_subject, top_issuer, top_issuer_raw) = match &parsed[top] {
            Some(x) => (
                crate::model::visible_string(x.subject().to_string()),
                crate::model::visible_string(x.issuer().to_string()),
                x.issuer().as_raw().to_vec(),
            ),
            None => Default::default(),
        };
        // The path's end, parsed above: a root when it names itself as issuer.
        let at_root = parsed[top]
            .as_ref()
            .is_some_and(|x| x.subject().as_raw() == x.issuer().as_raw());
        if top > 0 && at_root {
            return (
                Finding::UnknownIssuer,
                format!("the chain ends at the root \"{top_subject}\", which is not trusted"),
            );
        }
        // A supplied intermediate completes the path: the server simply did not send it.
        if !self.known_intermediates.is_empty() {
            let mut with: Vec<CertificateDer<'_>> = chain[1..].to_vec();
            with.extend(self.known_intermediates.iter().cloned());
            if server_path(ee, self.algs, &self.anchors, &with, time).is_ok() {
                return (
                    Finding::IncompleteChain,
                    format!("the server does not send the intermediate \"{top_issuer}\""),
                );
            }
        }
        // webpki keeps a name without its SEQUENCE header.
        if der_contents(&top_issuer_raw).is_some_and(|n| self.anchor_subjects.contains(n)) {
            return (
                Finding::ChainInvalid,
                format!("\"{top_subject}\" names a trusted root as issuer but its signature does not verify"),
            );
        }
        if top == 0 {
            // The leaf's issuer is neither sent nor a root: the intermediate is missing.
            let others = chain.len() - 1;
            if others == 0 {
                return (
                    Finding::IncompleteChain,
                    format!(
                        "the server sends only the leaf; its issuer \"{top_issuer}\" is not a trusted root, so the intermediate is missing (or the CA is unknown)"
                    ),
                );
            }
            let sent: Vec<String> = parsed[1..]
                .iter()
                .take(3)
                .map(|x| {
                    x.as_ref().map_or_else(
                        || "?".into(),
                        |x| crate::model::visible_string(format!("\"{}\"", x.subject())),
                    )
                })
                .collect();
            let more = if others > 3 { ", ..." } else { "" };
            return (
                Finding::IncompleteChain,
                format!(
                    "the leaf's issuer \"{top_issuer}\" is not among the {others} other certificate(s) the server sends ({}{more}) nor a trusted root: its intermediate is missing, or the CA is unknown",
                    sent.join(", ")
                ),
            );
        }
        (
            Finding::UnknownIssuer,
            // Either a private CA's root not given to certsweep, or a CA between it and the
            // root left out of the chain (a three-level hierarchy's policy CA): say both.
            format!("{BELOW_A_ROOT}{top_subject}\", issued by \"{top_issuer}\", which is neither a trusted root nor sent by the server: a private CA's root (give it with --ca-file), or a CA certificate missing from the chain"),
        )
    }
}

/// Why browsers refuse `leaf`, issued under a public root, for Certificate Transparency,
/// if they do: it embeds SCTs from fewer logs than Chrome's and Apple's policies (which
/// Firefox follows) require, two for a lifetime of 180 days or less, three for a longer
/// one; or, with SCTs of `delivered()` more logs in its stapled OCSP response (asked only
/// then), fewer than two logs in all (SCTs not all embedded: two, whatever the lifetime).
/// SCTs a server sends in the TLS handshake, which certsweep cannot ask for, are rare: the
/// words say so.
fn ct_shortfall(leaf: &CertInfo, delivered: &dyn Fn() -> u8) -> Option<String> {
    let lifetime = leaf.not_after_unix - leaf.not_before_unix;
    let has = leaf.embedded_scts.unwrap_or(0);
    let embedded_needed = if lifetime <= 180 * 86_400 { 2 } else { 3 };
    if has >= embedded_needed {
        return None;
    }
    let delivered = delivered();
    let (needed, logs) = if delivered > 0 {
        (2, has.saturating_add(delivered))
    } else {
        (embedded_needed, has)
    };
    let stapled = if delivered > 0 {
        format!(" and its stapled OCSP response carries them from {delivered} more")
    } else {
        String::new()
    };
    (logs < needed).then(|| {
        format!(
            "the certificate, from a public CA, embeds Signed Certificate Timestamps from {has} Certificate Transparency log(s){stapled} where browsers require {needed} for its lifetime of {} days: Chrome, Safari and Firefox refuse it (ERR_CERTIFICATE_TRANSPARENCY_REQUIRED); it was issued with CT logging off (unless the server sends its SCTs in the TLS handshake, which certsweep does not ask for)",
            lifetime / 86_400
        )
    })
}

/// From when Chrome and Apple refuse a publicly trusted certificate valid for more than 398
/// days: those issued from 2020-09-01 (Unix seconds).
const PUBLIC_398_FROM: i64 = 1_598_918_400;

/// Why Chrome and Apple refuse `leaf`, issued under a public root, for its lifetime, if
/// they do: issued since 2020-09-01 for more than 398 days (ERR_CERT_VALIDITY_TOO_LONG;
/// the Baseline Requirements' limit then, which a public CA exceeding misissued).
fn too_long_for_public(leaf: &CertInfo) -> Option<String> {
    let lifetime = leaf.not_after_unix - leaf.not_before_unix;
    (leaf.not_before_unix >= PUBLIC_398_FROM && lifetime > 398 * 86_400).then(|| {
        format!(
            "the certificate, from a public CA, is valid for {} days where Chrome and Apple accept 398 at most of one issued since 2020-09-01: they refuse it (ERR_CERT_VALIDITY_TOO_LONG), and the CA misissued it",
            lifetime / 86_400
        )
    })
}

/// From when Apple's platforms (iOS 13, macOS 10.15) hold every TLS server certificate, a
/// private CA's too, to their rules: those issued after 2019-07-01 00:00 UTC (Unix
/// seconds; trustd compares `notBefore > ` this).
pub const APPLE_RULES_FROM: i64 = 1_561_939_200;

/// The longest validity Apple's platforms accept of a certificate issued since
/// [`APPLE_RULES_FROM`], in days.
pub const APPLE_MAX_DAYS: i64 = 825;

/// What trustd lets a certificate under a CA outside Apple's store run over
/// [`APPLE_MAX_DAYS`], in seconds: an hour (`60*60*24*825 + 3600`). A CA that backdates
/// notBefore by minutes against clock skew (smallstep's default, many appliances') makes an
/// 825-day template's certificate a little longer than 825 days, and Apple accepts it.
pub const APPLE_SLIP_SECS: i64 = 3_600;

/// Whether Apple's platforms refuse a certificate from `not_before` to `not_after` (Unix
/// seconds) for its validity: issued after [`APPLE_RULES_FROM`] and valid for longer than
/// [`APPLE_MAX_DAYS`] and [`APPLE_SLIP_SECS`].
pub fn apple_too_long(not_before: i64, not_after: i64) -> bool {
    not_before > APPLE_RULES_FROM
        && not_after - not_before > APPLE_MAX_DAYS * 86_400 + APPLE_SLIP_SECS
}

/// Why Apple's platforms refuse `leaf`, if they do (Apple's "Requirements for trusted
/// certificates in iOS 13 and macOS 10.15", as trustd applies them): issued since
/// 2019-07-01 for longer than 825 days ([`apple_too_long`]), whatever its CA; or without an
/// Extended Key Usage extension, which trustd requires under Apple's roots and under a CA
/// an app trusts itself, but, in current releases, not under a root installed on the
/// device with its trust settings (a configuration profile, the keychain): the words say
/// so. An extension without serverAuth is refused by every client, and judged with the
/// path.
fn apple_refusal(leaf: &CertInfo) -> Option<String> {
    if leaf.not_before_unix <= APPLE_RULES_FROM {
        return None;
    }
    let days = (leaf.not_after_unix - leaf.not_before_unix) / 86_400;
    let no_eku = leaf.extended_key_usage.is_none();
    if apple_too_long(leaf.not_before_unix, leaf.not_after_unix) {
        let also = if no_eku {
            ", and has no Extended Key Usage extension (which apps that trust its CA themselves require too)"
        } else {
            ""
        };
        Some(format!(
            "Safari and every iOS and macOS app refuse the certificate, as Apple does any issued since 2019-07-01 whatever its CA: it is valid for {days} days (Apple accepts {APPLE_MAX_DAYS} at most){also}"
        ))
    } else if no_eku {
        Some("iOS and macOS apps that trust its CA themselves refuse the certificate, as Apple does any issued since 2019-07-01 without an Extended Key Usage extension naming serverAuth; Safari and apps trusting a root installed on the device (a configuration profile, the keychain) accept it in current releases".into())
    } else {
        None
    }
}

/// Why Chrome, Edge and Android apps cannot use `leaf`'s key in TLS, if they cannot:
/// BoringSSL verifies server signatures with ECDSA P-256 and P-384 and RSA (PKCS#1 and PSS
/// with an rsaEncryption key) only, not P-521, Ed25519 or a PSS-only key. Firefox (NSS)
/// takes P-521, and not Ed25519 (Mozilla: EdDSA neither in certificates nor in TLS). A key
/// on a curve no browser knows (brainpool) is told with who else refuses it.
fn boringssl_unsupported(leaf: &CertInfo) -> Option<String> {
    // A curve too small is weak_key's; one browsers do not know is told here, as it is not
    // BoringSSL alone that refuses it.
    if let Some(curve) = leaf.key_curve.as_deref() {
        if let (Finding::ChainInvalid, who) = curve_refusal(curve) {
            return Some(format!(
                "the certificate has an ECDSA key on the curve {curve}, which {who}: their handshakes with the server fail"
            ));
        }
    }
    let (what, who) = match (leaf.key_type.as_str(), leaf.key_bits) {
        ("EC", 521) => ("an ECDSA P-521 key", "Chrome, Edge and Android apps"),
        ("Ed25519", _) => ("an Ed25519 key", "Chrome, Edge, Firefox and Android apps"),
        ("RSA-PSS", _) => (
            "a PSS-only RSA key (id-RSASSA-PSS)",
            "Chrome, Edge and Android apps",
        ),
        _ => return None,
    };
    Some(format!(
        "the certificate has {what}, which {who} do not accept from a server (their TLS, BoringSSL, verifies only ECDSA P-256 and P-384 and RSA), so their handshakes fail; OpenSSL, Go and Java clients accept it"
    ))
}

/// What a handshake's key exchange did with the server's key, which the Key Usage of its
/// certificate must allow (RFC 5280, 4.2.1.3; RFC 8446, 4.4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// The server signed with it: TLS 1.3, and TLS 1.2's ECDHE and DHE suites
    /// (`digitalSignature`).
    Signature,
    /// The client encrypted the premaster secret to it: TLS 1.2's RSA key exchange, from a
    /// legacy server (`keyEncipherment`).
    Encipherment,
    /// Not known, or static (EC)DH: not checked.
    Unchecked,
}

impl KeyUse {
    /// The key's use in a handshake that negotiated `tls` (by its cipher suite's IANA name)
    /// after `starttls`'s dialogue. Not asked of RDP: its clients (mstsc, FreeRDP) do not
    /// hold the key usage to the key exchange, and the certificate Windows makes for RDP
    /// allows only keyEncipherment and dataEncipherment.
    pub fn of(
        tls: Option<&crate::model::TlsInfo>,
        starttls: Option<crate::model::Starttls>,
    ) -> Self {
        let suite = tls.map(|t| t.cipher_suite.as_str());
        let Some(suite) = suite.filter(|_| starttls != Some(crate::model::Starttls::Rdp)) else {
            return KeyUse::Unchecked;
        };
        // TLS 1.3's suites name no key exchange (`TLS13_AES_128_GCM_SHA256`); a number is
        // a suite not known.
        let tls13 = !suite.contains("_WITH_") && !suite.starts_with("0x");
        if suite.starts_with("TLS_RSA_") {
            KeyUse::Encipherment
        } else if tls13 || suite.contains("_ECDHE_") || suite.contains("_DHE_") {
            KeyUse::Signature
        } else {
            KeyUse::Unchecked
        }
    }
}

/// Puts `why` clients refuse a certificate before what `detail` says already.
fn put_first(detail: &mut Option<String>, why: String) {
    *detail = Some(match detail.take() {
        Some(d) => format!("{why}; {d}"),
        None => why,
    });
}

/// Why clients that check a server certificate's Key Usage against the key exchange refuse
/// `leaf`, if they do: its extension, when it has one, does not allow `key_use`. Chrome and
/// Edge check it from version 124 whatever the root (BoringSSL: a signing key exchange
/// needs digitalSignature, RSA key exchange keyEncipherment), as Java's JSSE does; OpenSSL,
/// Go and rustls clients do not.
fn key_usage_refusal(leaf: &CertInfo, key_use: KeyUse) -> Option<String> {
    let bits = leaf.key_usage?;
    let (needed, bit, by) = match key_use {
        KeyUse::Signature => (
            "digitalSignature",
            0,
            "the server signs its key exchange (ECDHE, TLS 1.3)",
        ),
        KeyUse::Encipherment => (
            "keyEncipherment",
            2,
            "the client encrypts the key exchange to it (RSA key exchange)",
        ),
        KeyUse::Unchecked => return None,
    };
    if bits >> bit & 1 == 1 {
        return None;
    }
    let has: Vec<&str> = crate::model::key_usage_names::names(bits).collect();
    let has = if has.is_empty() {
        "none".to_string()
    } else {
        has.join(", ")
    };
    Some(format!(
        "the certificate's Key Usage ({has}) lacks {needed}, which its handshake needs ({by}): Chrome and Edge (from 124) refuse it (ERR_SSL_KEY_USAGE_INCOMPATIBLE), as Java clients do; OpenSSL and Go clients do not check"
    ))
}

/// The roots of `table` ([`CHROME_DISTRUSTED`]) among `anchors`, by key, but for those also
/// given in `given` (CA files): Chrome exempts a root an enterprise trusts explicitly.
fn chrome_distrusted(
    table: &'static [Distrust],
    anchors: &[TrustAnchor<'_>],
    given: &[CertificateDer<'_>],
) -> HashMap<Vec<u8>, DistrustedRoot> {
    let explicit: HashSet<Vec<u8>> = given
        .iter()
        .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
        .map(|a| a.subject_public_key_info.to_vec())
        .collect();
    anchors
        .iter()
        .map(|a| a.subject_public_key_info.as_ref())
        .filter(|k| !explicit.contains(*k))
        .filter_map(|k| {
            let h = crate::cert::sha256_hex(k);
            table.iter().find_map(|by| {
                let (_, name) = by.roots.iter().find(|(key, _)| *key == h)?;
                Some((k.to_vec(), DistrustedRoot { name, by }))
            })
        })
        .collect()
}

/// Why Chrome refuses `leaf`, whose path ends at a root it distrusts by SCT date (`d`), if
/// it does: its earliest embedded SCT is dated after the day (without SCTs, its notBefore,
/// which a CT-missing certificate is refused for anyway).
fn distrusted_since(
    d: DistrustedRoot,
    der: &CertificateDer<'_>,
    leaf: &CertInfo,
) -> Option<String> {
    let (logged, by) = match crate::cert::earliest_sct(der) {
        Some(t) => (t, "its earliest Signed Certificate Timestamp"),
        None => (leaf.not_before_unix, "it was issued"),
    };
    let Distrust {
        ca,
        sct_not_after,
        day,
        chrome,
        ..
    } = *d.by;
    (logged > sct_not_after).then(|| {
        format!(
            "the certificate chains to {} ({ca}), which Chrome (from version {chrome}, on every platform but iOS) no longer trusts for certificates logged after {day}: {by} is {}, so Chrome refuses it (NET::ERR_CERT_AUTHORITY_INVALID) though other clients may accept it; certificates of that CA logged before stay trusted until they expire",
            d.name,
            crate::timefmt::rfc3339_unix(logged)
        )
    })
}

/// How a trust detail ends the words for a CA key the checks refuse ([`TrustJudge`]'s
/// `ca_key_fault`).
const CA_KEY_REFUSED: &str = ": its signatures cannot be checked";

/// Whether a trust detail says a CA's key is refused (too small, or on a curve clients do
/// not know): the CA is to be renewed, not the chain installed again.
pub fn ca_key_refused(detail: &str) -> bool {
    detail.contains(CA_KEY_REFUSED)
}

/// How the trust detail of a chain that ends at a CA certificate below any root begins
/// (its issuer neither sent nor trusted).
const BELOW_A_ROOT: &str = "the chain ends at \"";

/// Whether a trust detail says the chain ends at a CA certificate whose issuer was neither
/// sent nor trusted: a private root not given, or a CA left out of the chain (not a root
/// that is not trusted).
pub fn ends_below_a_root(detail: &str) -> bool {
    detail.starts_with(BELOW_A_ROOT)
}

/// What the dates of a validated chain mean for clients: a root it ends at that has expired
/// at `at` (webpki ignores an anchor's dates; OpenSSL and Windows clients do not), a CA
/// certificate of the path (a sent one, or the root) that expires before the leaf, and (when
/// judged at `now`, not at a time clamped into the leaf's validity) expired certificates sent
/// beside the path. Pushes the findings; the words, and the CA certificate that ends first.
fn chain_expiry(
    dates: &PathDates,
    leaf: &CertInfo,
    at: i64,
    now: Option<i64>,
    findings: &mut Vec<Finding>,
) -> (Vec<String>, Option<Box<crate::model::ChainExpiry>>) {
    let mut notes = Vec::new();
    let mut ends = None;
    let date = crate::timefmt::rfc3339_unix;
    let root = dates.root.as_deref();
    if let Some(r) = root.filter(|r| r.not_after < at) {
        findings.push(Finding::ChainInvalid);
        notes.push(format!(
            "the root \"{}{ROOT_EXPIRED}{}: clients that check their roots' dates (OpenSSL, Windows) refuse the chain",
            r.subject,
            date(r.not_after)
        ));
    } else {
        // The path's sent CA certificate that ends first, then the root: the first of the
        // earliest wins a tie.
        let sent = dates
            .proven
            .as_deref()
            .map(|p| ((p.not_after, p.expires_first.as_str()), false));
        let held = root.map(|r| ((r.not_after, r.subject.as_str()), true));
        let first = sent.into_iter().chain(held).min_by_key(|((u, _), _)| *u);
        if let Some(((until, name), is_root)) =
            first.filter(|((u, _), _)| *u + ENDS_WITH_THE_LEAF < leaf.not_after_unix)
        {
            findings.push(Finding::ChainExpiresFirst);
            ends = Some(Box::new(crate::model::ChainExpiry {
                subject: name.to_string(),
                root: is_root,
                not_after: date(until),
                not_after_unix: until,
            }));
            notes.push(if is_root {
                format!(
                    "the root \"{name}\" the chain ends at expires on {}, before the certificate ({}): from then clients that check their roots' dates (OpenSSL, Windows) refuse the chain",
                    date(until),
                    leaf.not_after
                )
            } else {
                format!(
                    "the CA certificate \"{name}\" the server sends expires on {}, before the certificate ({}): from then clients that do not fetch a current copy of it (most clients other than browsers) refuse the chain",
                    date(until),
                    leaf.not_after
                )
            });
        }
    }
    if let Some(words) = dates.proven.as_deref().and_then(|p| p.disorder.as_ref()) {
        findings.push(Finding::ChainOrder);
        notes.push(words.clone());
    }
    if let (Some(now), Some(p)) = (now, dates.proven.as_deref()) {
        // The path validated now, so it holds none of them.
        let expired: Vec<&(String, i64)> =
            p.sent.iter().filter(|(_, until)| *until < now).collect();
        if let Some((words, until)) = expired.first() {
            findings.push(Finding::ExpiredInChain);
            let more = match expired.len() - 1 {
                0 => String::new(),
                n => format!(" (and {n} more expired certificate(s))"),
            };
            notes.push(format!(
                "the server also sends {words}, which expired on {}{more}: clients that trust the root build their path around it, older ones that follow the chain as sent (OpenSSL before 1.1.0) refuse it",
                date(*until)
            ));
        }
    }
    (notes, ends)
}

/// How much earlier than the leaf a CA certificate of its path may end without being told:
/// CAs cut a leaf's validity to end with their own (AD CS, EJBCA), to the second or within
/// moments of it, and such a leaf is renewed before either ends.
const ENDS_WITH_THE_LEAF: i64 = 86_400;

/// What the trust detail of a chain whose (held) root has expired says after its name.
const ROOT_EXPIRED: &str = "\" the chain ends at expired on ";

/// What a trust detail says of a self-signed certificate whose name a trusted certificate
/// bears with another key.
const SELF_SIGNED_ANEW: &str =
    "the server presents a self-signed certificate, and the certificate trusted under its name";

/// Whether a trust detail says the server presents a self-signed certificate anew: a
/// trusted certificate bears its name with another key (an appliance that made itself a new
/// certificate while the trust store holds the old one).
pub fn self_signed_anew(detail: &str) -> bool {
    detail.starts_with(SELF_SIGNED_ANEW)
}

/// Whether a trust detail says the root the chain ends at has expired (a private root past
/// its date: the fix is a new root, not another chain from the server).
pub fn root_has_expired(detail: &str) -> bool {
    detail.contains(ROOT_EXPIRED)
}

/// What a validated path says about the chain sent (`sent`, after the leaf): its first CA
/// certificate (`path`, the leaf's issuer first) as an anchor, valid while all of the path's
/// are (a CA above it that expires first ends the window), and the sent certificates' dates.
fn proven_issuer<'a>(
    path: impl Iterator<Item = CertificateDer<'a>>,
    chain: &[CertificateDer<'_>],
    root: Option<Arc<RootDate>>,
) -> Option<ProvenIssuer> {
    let path: Vec<CertificateDer<'a>> = path.collect();
    let anchor = webpki::anchor_from_trusted_cert(path.first()?)
        .ok()?
        .to_owned();
    let mut p = ProvenIssuer {
        anchor,
        not_before: i64::MIN,
        not_after: i64::MAX,
        expires_first: String::new(),
        sent: Vec::new(),
        root,
        disorder: None,
        constrained: false,
        ca_usage: None,
        public: false,
        distrust: None,
    };
    // The path's CA certificates are all sent (webpki builds from what was sent); in order,
    // they come first after the leaf, each right after the one it issued. What else is sent
    // (the root, a CA bundle's others) may follow.
    let in_order = chain.get(1..=path.len()).is_some_and(|sent| {
        sent.iter()
            .zip(&path)
            .all(|(s, c)| s.as_ref() == c.as_ref())
    });
    // Their names, for the order to write, only when it is not the order sent.
    let mut names = Vec::new();
    for der in &path {
        let (_, x) = parse_x509_certificate(der).ok()?;
        // One that cannot be read for them is taken to have them.
        p.constrained |= !matches!(x.name_constraints(), Ok(None));
        if p.ca_usage.is_none() {
            p.ca_usage = no_cert_sign(&x);
        }
        p.not_before = p.not_before.max(x.validity().not_before.timestamp());
        let until = x.validity().not_after.timestamp();
        if until < p.not_after {
            p.not_after = until;
            p.expires_first = crate::model::visible_string(x.subject().to_string());
        }
        if !in_order {
            names.push(crate::model::visible_string(x.subject().to_string()));
        }
    }
    if !in_order {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let order = match quoted.as_slice() {
            [one] => format!("{one}, which issued the certificate, is to come right after it"),
            many => format!(
                "the certificate is to be followed by {}, each right after the one it issued",
                many.join(", then ")
            ),
        };
        p.disorder = Some(format!(
            "the server sends its chain out of order: {order}, as TLS 1.2 requires; browsers and current TLS libraries sort a chain themselves, older and embedded clients that take it as sent refuse it"
        ));
    }
    // The sent certificates a path builder would try: those named as issuer by the leaf or
    // by another one sent (an expired cross-signed root, an old copy of an intermediate),
    // not what else a CA bundle configured as the chain holds.
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .filter_map(|c| parse_x509_certificate(c).ok().map(|(_, x)| x))
        .collect();
    let issuers: HashSet<&[u8]> = parsed
        .iter()
        .enumerate()
        .filter(|(i, x)| *i == 0 || x.issuer().as_raw() != x.subject().as_raw())
        .map(|(_, x)| x.issuer().as_raw())
        .collect();
    for x in parsed.iter().skip(1) {
        if issuers.contains(x.subject().as_raw()) {
            // A cross-signed root bears the trusted root's subject: its issuer tells it apart.
            let words = format!("\"{}\" issued by \"{}\"", x.subject(), x.issuer());
            p.sent.push((
                crate::model::visible_string(words),
                x.validity().not_after.timestamp(),
            ));
        }
    }
    Some(p)
}

/// The contents of a DER SEQUENCE (what webpki keeps of a name or key).
fn der_contents(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let (bytes, rest) = (rest.get(..n)?, rest.get(n..)?);
            (
                bytes.iter().fold(0usize, |l, b| (l << 8) | usize::from(*b)),
                rest,
            )
        }
        _ => return None,
    };
    (rest.len() == len).then_some(rest)
}

/// `contents` wrapped as a DER SEQUENCE.
fn der_sequence(contents: &[u8]) -> Vec<u8> {
    der_tlv(0x30, contents)
}

/// DER of the element with `tag` around `contents`.
pub(crate) fn der_tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// How a trust detail tells of a CA certificate whose Key Usage leaves out keyCertSign.
const NO_CERT_SIGN: &str = "has a Key Usage without keyCertSign";

/// Whether a trust detail says a CA certificate of the chain may not sign certificates by
/// its Key Usage: that CA certificate is to be reissued with keyCertSign.
pub fn ca_usage_refused(detail: &str) -> bool {
    detail.contains(NO_CERT_SIGN)
}

/// Words for CA certificate `x` when its Key Usage leaves out keyCertSign (RFC 5280,
/// 6.1.4 (n)): browsers, OpenSSL and Java refuse what it signed; Go and webpki do not
/// check it.
fn no_cert_sign(x: &X509Certificate<'_>) -> Option<String> {
    let usage = x.key_usage().ok().flatten()?;
    (!usage.value.key_cert_sign()).then(|| {
        format!(
            "the CA certificate \"{}\" {NO_CERT_SIGN}, so browsers, OpenSSL and Java clients refuse the certificates it signed (Go accepts them)",
            crate::model::visible_string(x.subject().to_string())
        )
    })
}

/// Whether two names are the same as RFC 5280 (7.1) compares them: attribute by attribute,
/// the strings whatever their ASN.1 type, case and runs of spaces aside.
fn same_name(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    fn words(n: &X509Name<'_>) -> Option<Vec<Vec<(String, String)>>> {
        n.iter_rdn()
            .map(|rdn| {
                rdn.iter()
                    .map(|atv| {
                        let value = atv.as_str().ok()?.split_whitespace();
                        let value = value.collect::<Vec<_>>().join(" ").to_lowercase();
                        Some((atv.attr_type().to_id_string(), value))
                    })
                    .collect()
            })
            .collect()
    }
    matches!((words(a), words(b)), (Some(x), Some(y)) if x == y)
}

/// webpki's validation of `ee` for a TLS server with `algs`, up to `anchors` through
/// `intermediates`, at `time`: every path this module builds.
fn server_path<'p>(
    ee: &'p EndEntityCert<'_>,
    algs: &[&dyn rustls::pki_types::SignatureVerificationAlgorithm],
    anchors: &'p [TrustAnchor<'_>],
    intermediates: &'p [CertificateDer<'p>],
    time: UnixTime,
) -> Result<webpki::VerifiedPath<'p>, webpki::Error> {
    ee.verify_for_usage(
        algs,
        anchors,
        intermediates,
        time,
        KeyUsage::server_auth(),
        None,
        None,
    )
}

/// Every certificate of `chain` parsed, or none when one cannot be.
fn parse_chain<'a>(chain: &'a [CertificateDer<'_>]) -> Option<Vec<X509Certificate<'a>>> {
    chain
        .iter()
        .map(|c| parse_x509_certificate(c).ok().map(|(_, x)| x))
        .collect()
}

/// The critical extensions of RFC 5280's policy processing: OID and name.
const POLICY_EXTENSIONS: [(&str, &str); 4] = [
    ("2.5.29.32", "certificatePolicies"),
    ("2.5.29.33", "policyMappings"),
    ("2.5.29.36", "policyConstraints"),
    ("2.5.29.54", "inhibitAnyPolicy"),
];

/// The extensions webpki processes, whatever their criticality: key usage, subjectAltName,
/// basic constraints, name constraints, CRL distribution points, extended key usage,
/// the key identifiers and authority information access.
const WEBPKI_EXTENSIONS: [&str; 9] = [
    "2.5.29.15",
    "2.5.29.17",
    "2.5.29.19",
    "2.5.29.30",
    "2.5.29.31",
    "2.5.29.37",
    "2.5.29.14",
    "2.5.29.35",
    "1.3.6.1.5.5.7.1.1",
];

/// The name of a policy extension, by its OID.
fn policy_extension(oid: &str) -> Option<&'static str> {
    POLICY_EXTENSIONS
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, name)| *name)
}

/// The OIDs of `cert`'s critical extensions webpki does not process.
fn critical_unknown(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.extensions()
        .iter()
        .filter(|e| e.critical)
        .map(|e| e.oid.to_id_string())
        .filter(|oid| !WEBPKI_EXTENSIONS.contains(&oid.as_str()))
        .collect()
}

/// The words for the first certificate of `chain` with a critical extension webpki does not
/// process: which certificate, which extension, and who refuses it.
fn critical_unknown_words(chain: &[CertificateDer<'_>]) -> Option<String> {
    chain.iter().enumerate().find_map(|(i, der)| {
        let (_, x) = parse_x509_certificate(der).ok()?;
        let oid = critical_unknown(&x).into_iter().next()?;
        let who = if i == 0 {
            "the certificate".to_string()
        } else {
            format!(
                "the CA certificate \"{}\"",
                crate::model::visible_string(x.subject().to_string())
            )
        };
        Some(match policy_extension(&oid) {
            Some(name) => format!(
                "{who} has the critical extension {name} ({oid}), which browsers, OpenSSL, Go and Java process and certsweep's path validator (webpki) does not: the chain was not checked"
            ),
            None => format!(
                "{who} has the critical extension {oid}, which clients that do not know it refuse"
            ),
        })
    })
}

/// The size of an RSA key (rsaEncryption) under 2048 bits, too small for webpki's checks.
fn small_rsa_bits(spki: &SubjectPublicKeyInfo<'_>) -> Option<u32> {
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
        return None;
    }
    let bits = spki.parsed().ok()?.key_size() as u32;
    (1..2048).contains(&bits).then_some(bits)
}

/// An EC key on a curve webpki does not check signatures of: weak when under 256 bits
/// (P-192, P-224), else unsupported (brainpool, secp256k1). The finding, the key in words,
/// and who refuses it.
fn unknown_curve_fault(spki: &SubjectPublicKeyInfo<'_>) -> Option<(Finding, String, &'static str)> {
    let curve = crate::cert::uncommon_curve(spki)?;
    let (finding, who) = curve_refusal(&curve);
    let key = match curve.as_str() {
        "P-192" => "an EC key on the P-192 curve (192 bits)".to_string(),
        "P-224" => "an EC key on the P-224 curve (224 bits)".to_string(),
        c if c.contains('.') => format!("an EC key on the curve {c}"),
        c => format!("an EC key on the {c} curve"),
    };
    Some((finding, key, who))
}

/// Who refuses a key on a curve [`crate::cert::uncommon_curve`] names, as of 2026: browsers
/// (BoringSSL, NSS) check P-256, P-384 and P-521 alone; Go and Java (since 16) know no
/// brainpool curve, OpenSSL and Windows do; P-224 passes Go, Java and OpenSSL's default
/// security levels, P-192 none of them. Weak (too small) or unsupported, and in words.
fn curve_refusal(curve: &str) -> (Finding, &'static str) {
    match curve {
        "P-192" => (
            Finding::WeakKey,
            "current clients refuse (they need 224 bits or more, browsers 256)",
        ),
        "P-224" => (
            Finding::WeakKey,
            "browsers refuse (they need 256 bits or more; OpenSSL, Go and Java accept it)",
        ),
        c if c.starts_with("brainpool") => (Finding::ChainInvalid, BRAINPOOL),
        _ => (
            Finding::ChainInvalid,
            "browsers and most TLS libraries do not support",
        ),
    }
}

/// Who does not check signatures by a brainpool key.
const BRAINPOOL: &str = "browsers, Go and Java clients do not support (OpenSSL and Windows do)";

/// Whether `cert`'s PKCS #1 signature verifies with `issuer`'s RSA key of 1024 bits or more
/// (ring's algorithms for legacy use; a key under 1024 bits is not checked at all).
fn signed_by_legacy_rsa(cert: &X509Certificate<'_>, issuer: &SubjectPublicKeyInfo<'_>) -> bool {
    use ring::signature as sig;
    use x509_parser::oid_registry as oids;
    let alg = &cert.signature_algorithm.algorithm;
    let legacy: &dyn sig::VerificationAlgorithm = if *alg == oids::OID_PKCS1_SHA256WITHRSA {
        &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
    } else if *alg == oids::OID_PKCS1_SHA512WITHRSA {
        &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
    } else if *alg == oids::OID_PKCS1_SHA1WITHRSA {
        &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
    } else {
        return false;
    };
    sig::UnparsedPublicKey::new(legacy, &issuer.subject_public_key.data)
        .verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
        .is_ok()
}

/// RSA under 2048 bits, EC under 256 bits, and any DSA key are weak.
pub fn weak_key(c: &CertInfo) -> bool {
    match c.key_type.as_str() {
        "RSA" | "RSA-PSS" => c.key_bits > 0 && c.key_bits < 2048,
        "EC" => c.key_bits > 0 && c.key_bits < 256,
        "DSA" => true,
        _ => false,
    }
}

/// A signature algorithm by its DER (the OID, as webpki reports it, with any parameters):
/// its name, its dotted OID (which certificate facts write when the registry has no name),
/// and whether current clients refuse it as weak (SHA-1, MD5, MD2).
fn signature_algorithm(der: &[u8]) -> (String, String, bool) {
    use x509_parser::der_parser::oid::Oid;
    // 06 len OID bytes, then the parameters (NULL for RSA).
    let Some(oid) = der
        .get(1)
        .and_then(|&len| der.get(2..2 + usize::from(len)))
        .map(|bytes| Oid::new(bytes.into()))
    else {
        return ("an unreadable algorithm".into(), String::new(), false);
    };
    let dotted = oid.to_id_string();
    let weak = match dotted.as_str() {
        "1.2.840.113549.1.1.5" => Some("sha1WithRSAEncryption"),
        "1.3.14.3.2.29" => Some("sha1WithRSA"),
        "1.2.840.113549.1.1.4" => Some("md5WithRSAEncryption"),
        "1.2.840.113549.1.1.2" => Some("md2WithRSAEncryption"),
        "1.2.840.10045.4.1" => Some("ecdsa-with-SHA1"),
        "1.2.840.10040.4.3" => Some("dsa-with-sha1"),
        _ => None,
    };
    let name = match weak {
        Some(n) => n.to_string(),
        None => x509_parser::objects::oid2sn(&oid, x509_parser::objects::oid_registry())
            .map(str::to_string)
            .unwrap_or_else(|_| format!("OID {dotted}")),
    };
    (name, dotted, weak.is_some())
}

/// What a chain that does not validate is told as: its finding and the reason in words
/// (webpki's error as written is for developers: a debug dump of every supported algorithm).
fn path_error(e: &webpki::Error, leaf: &CertInfo) -> (Finding, String) {
    use webpki::Error as E;
    // The leaf's own signature, when it is of the failing algorithm; else a CA's.
    let which = |name: &str, dotted: &str| {
        let leafs = &leaf.signature_algorithm;
        if leafs.eq_ignore_ascii_case(name) || leafs == dotted {
            "the certificate"
        } else {
            "a CA certificate of the chain"
        }
    };
    match e {
        E::UnsupportedSignatureAlgorithmContext(c) => {
            let (alg, dotted, weak) = signature_algorithm(&c.signature_algorithm_id);
            let who = which(&alg, &dotted);
            if weak {
                (
                    Finding::WeakSignature,
                    format!("{who} is signed with {alg}, which current clients refuse"),
                )
            } else {
                (
                    Finding::ChainInvalid,
                    format!("{who} is signed with {alg}, which certsweep (like most clients) cannot check"),
                )
            }
        }
        E::UnsupportedSignatureAlgorithmForPublicKeyContext(c) => {
            let (alg, ..) = signature_algorithm(&c.signature_algorithm_id);
            (
                Finding::ChainInvalid,
                format!("a certificate of the chain is signed with {alg}, which does not fit its issuer's key"),
            )
        }
        E::InvalidSignatureForPublicKey => (
            Finding::ChainInvalid,
            "a signature in the chain does not verify: a certificate was altered, or the served intermediate is another CA certificate with the issuer's name but not its key".into(),
        ),
        E::CertExpired { not_after, .. } => (
            Finding::ChainInvalid,
            format!(
                "a CA certificate of the chain expired on {}",
                crate::timefmt::rfc3339_unix(not_after.as_secs() as i64)
            ),
        ),
        E::CertNotValidYet { not_before, .. } => (
            Finding::ChainInvalid,
            format!(
                "a CA certificate of the chain is valid only from {}",
                crate::timefmt::rfc3339_unix(not_before.as_secs() as i64)
            ),
        ),
        E::RequiredEkuNotFoundContext(_) => (
            Finding::ChainInvalid,
            "the certificate (or its CA) is not for TLS servers: its extended key usage lacks serverAuth".into(),
        ),
        E::CaUsedAsEndEntity => (
            Finding::ChainInvalid,
            "the certificate is a CA certificate, not one for a server".into(),
        ),
        E::EndEntityUsedAsCa => (
            Finding::ChainInvalid,
            "the chain has a server certificate where a CA certificate belongs".into(),
        ),
        E::PathLenConstraintViolated | E::NameConstraintViolation => (
            Finding::ChainInvalid,
            format!("a CA of the chain may not issue this certificate ({})", if matches!(e, E::PathLenConstraintViolated) { "path length constraint" } else { "name constraints" }),
        ),
        E::UnsupportedCriticalExtension => (
            Finding::ChainInvalid,
            "a certificate of the chain has a critical extension clients do not know".into(),
        ),
        other => (
            Finding::ChainInvalid,
            format!("the chain does not validate: {other}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{LeafSpec, Pki};

    fn judge_of(pkis: &[&Pki]) -> (TrustJudge, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("roots.pem");
        let pem: String = pkis.iter().map(|p| p.root_pem()).collect();
        std::fs::write(&path, pem).expect("write roots");
        let judge = TrustJudge::new(&[path], false, true, None).expect("trust store");
        (judge, dir)
    }

    // Parts of an OpenSSL X509_CERT_AUX: the trust list (serverAuth, emailProtection), the
    // reject list ([0] serverAuth), an alias.
    const TRUST_SERVER: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
    ];
    const TRUST_EMAIL: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04,
    ];
    const REJECT_SERVER: &[u8] = &[
        0xa0, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
    ];
    const ALIAS: &[u8] = &[0x0c, 0x02, b'm', b'y'];

    /// `pki`'s root as a TRUSTED CERTIFICATE block with `aux` parts (none: no settings).
    fn trusted_pem(pki: &Pki, aux: &[&[u8]]) -> Vec<u8> {
        let mut contents = pki.root.cert.to_vec();
        if !aux.is_empty() {
            contents.extend(der_tlv(0x30, &aux.concat()));
        }
        ::pem::encode(&::pem::Pem::new("TRUSTED CERTIFICATE", contents)).into_bytes()
    }

    #[test]
    fn a_ca_file_is_read_as_pem_binary_a_pkcs7_bundle_or_a_pkcs12_truststore() {
        // Windows exports a root as a binary .cer by default, or as a .p7b; Java keeps its
        // trusted roots in a PKCS#12 truststore.
        let pki = Pki::new("Formats").unwrap();
        let leaf = pki.issue(&LeafSpec::new(&["f.test"], 5, 10, 80)).unwrap();
        let info = crate::cert::cert_info(&leaf.chain[0]).unwrap();
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let bundle = crate::stores::p7b(&[&pki.root.cert]);
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("root.pem", pki.root_pem().into_bytes()),
            ("root.cer", pki.root.cert.to_vec()),
            ("root.p7b", bundle.clone()),
            (
                "root-p7b.pem",
                ::pem::encode(&::pem::Pem::new("PKCS7", bundle.clone())).into_bytes(),
            ),
            // OpenSSL's trusted certificate (`openssl x509 -trustout`, Fedora's
            // ca-bundle.trust.crt): trusted for server authentication, with an alias after,
            // or with no settings at all.
            (
                "root-trusted.pem",
                trusted_pem(&pki, &[TRUST_SERVER, ALIAS]),
            ),
            ("root-trustout.pem", trusted_pem(&pki, &[])),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let judge = TrustJudge::new(&[&path], false, true, None).unwrap();
            let r = judge.judge(&leaf.chain, &info, Some("f.test"), now);
            assert!(r.findings.is_empty(), "{name}: {r:?}");
        }
        // A Java truststore (PKCS#12), opened with the password the environment gives.
        let truststore = {
            use openssl::{pkcs12::Pkcs12, stack::Stack, x509::X509};
            let mut ca = Stack::new().unwrap();
            ca.push(X509::from_der(&pki.root.cert).unwrap()).unwrap();
            let mut b = Pkcs12::builder();
            b.ca(ca);
            b.build2("changeit").unwrap().to_der().unwrap()
        };
        let path = dir.path().join("truststore.p12");
        std::fs::write(&path, &truststore).unwrap();
        let judge = TrustJudge::new(&[&path], false, true, Some("changeit")).unwrap();
        let r = judge.judge(&leaf.chain, &info, Some("f.test"), now);
        assert!(r.findings.is_empty(), "truststore.p12: {r:?}");
        let e = TrustJudge::new(&[&path], false, true, None).err().unwrap();
        assert!(e.to_string().contains("CERTSWEEP_PKCS12_PASSWORD"), "{e}");
        let distrusted = "TRUSTED CERTIFICATE block(s) are not trusted for server authentication";
        for (name, bytes, why) in [
            ("empty.pem", Vec::new(), "no certificate in the file"),
            ("junk.bin", vec![7u8; 64], "no certificate in the file"),
            (
                "root-rejected.pem",
                trusted_pem(&pki, &[REJECT_SERVER]),
                distrusted,
            ),
            (
                "root-email.pem",
                trusted_pem(&pki, &[TRUST_EMAIL]),
                distrusted,
            ),
            (
                "cut.pem",
                b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec(),
                "PEM does not parse",
            ),
            // Bad base64 in the second block: the message says where it begins.
            (
                "bad-base64.pem",
                [
                    pki.root_pem().into_bytes(),
                    b"\n-----BEGIN CERTIFICATE-----\nMIIBbad!!!\n-----END CERTIFICATE-----\n"
                        .to_vec(),
                ]
                .concat(),
                &format!(
                    "PEM does not parse: the block at line {}: ",
                    pki.root_pem().lines().count() + 2
                ),
            ),
            // Cut before its end line, after a good one.
            (
                "cut-second.pem",
                [
                    pki.root_pem().into_bytes(),
                    b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec(),
                ]
                .concat(),
                &format!(
                    "1 of its 2 blocks are cut or malformed, the first at line {}",
                    pki.root_pem().lines().count() + 1
                ),
            ),
            // A block whose base64 holds no certificate, after a good one.
            (
                "broken.pem",
                [
                    pki.root_pem().into_bytes(),
                    b"-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n".to_vec(),
                ]
                .concat(),
                "its certificate 2 of 2 does not parse",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let e = TrustJudge::new(&[&path], false, true, None).err().unwrap();
            assert!(e.to_string().contains(why), "{name}: {e}");
        }
    }

    #[test]
    fn a_trusted_certificates_key_is_found_by_its_name() {
        let pki = Pki::new("Keys").unwrap();
        let (judge, _dir) = judge_of(&[&pki]);
        let (_, root) = x509_parser::parse_x509_certificate(&pki.root.cert).unwrap();
        assert_eq!(
            judge.trusted_key(root.subject().as_raw()).as_deref(),
            Some(root.public_key().raw)
        );
        let (_, int) = x509_parser::parse_x509_certificate(&pki.intermediate.cert).unwrap();
        assert_eq!(judge.trusted_key(int.subject().as_raw()), None);
        // Long-form lengths both ways.
        let long = vec![7u8; 300];
        assert_eq!(der_contents(&der_sequence(&long)), Some(long.as_slice()));
        assert_eq!(
            der_contents(&der_sequence(&[1, 2])),
            Some([1u8, 2].as_slice())
        );
        assert_eq!(der_contents(&[0x30, 5, 1]), None);
    }

    #[test]
    fn a_validated_leaf_is_reused_only_under_the_same_issuer() {
        let a = Pki::new("Cache A").expect("pki");
        let b = Pki::new("Cache B").expect("pki");
        let (judge, _dir) = judge_of(&[&a, &b]);
        let leaf = a
            .issue(&LeafSpec::new(&["lb.test"], 77, 10, 80))
            .expect("leaf");
        let info = crate::cert::cert_info(&leaf.chain[0]).expect("parse");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        for _ in 0..3 {
            let r = judge.judge(&leaf.chain, &info, Some("lb.test"), now);
            assert!(r.findings.is_empty(), "{r:?}");
        }
        assert_eq!(judge.validated.lock().map(|v| v.len()).ok(), Some(1));
        // The same leaf behind another CA's intermediate does not chain: no reuse. It is
        // the leaf's intermediate that is missing (it was `unknown_issuer`, saying that B's
        // trusted root is not one).
        let wrong = vec![leaf.chain[0].clone(), b.intermediate.cert.clone()];
        let r = judge.judge(&wrong, &info, Some("lb.test"), now);
        assert_eq!(r.findings, vec![Finding::IncompleteChain], "{r:?}");
        let d = r.detail.unwrap_or_default();
        assert!(
            d.contains("is not among the 1 other certificate(s) the server sends (\"O=certsweep test PKI, CN=Cache B Issuing CA 1\")"),
            "{d}"
        );
        // The leaf with its trusted root but not the intermediate between: missing (it was
        // `unknown_issuer`, "the root ..., which is not trusted").
        let with_root = vec![leaf.chain[0].clone(), a.root.cert.clone()];
        let r = judge.judge(&with_root, &info, Some("lb.test"), now);
        assert_eq!(r.findings, vec![Finding::IncompleteChain], "{r:?}");
        // Sent in any order, the chain's certificates are followed from the leaf: one
        // that ends at a root the judge does not trust ends there.
        let c = Pki::new("Cache C").expect("pki");
        let leaf_c = c
            .issue(&crate::fleet::LeafSpec::new(&["lb.test"], 8, 1, 30))
            .expect("leaf");
        let info_c = crate::cert::cert_info(&leaf_c.chain[0]).expect("parse");
        let shuffled = vec![
            leaf_c.chain[0].clone(),
            c.root.cert.clone(),
            b.intermediate.cert.clone(),
            leaf_c.chain[1].clone(),
        ];
        let r = judge.judge(&shuffled, &info_c, Some("lb.test"), now);
        assert_eq!(r.findings, vec![Finding::UnknownIssuer], "{r:?}");
        assert!(
            r.detail.as_deref().is_some_and(
                |d| d.contains("ends at the root \"O=certsweep test PKI, CN=Cache C Root CA\"")
            ),
            "{r:?}"
        );
        // Nor without its intermediate.
        let r = judge.judge(&leaf.chain[..1], &info, Some("lb.test"), now);
        assert_eq!(r.findings, vec![Finding::IncompleteChain], "{r:?}");
        // The name is still checked for every endpoint.
        let r = judge.judge(&leaf.chain, &info, Some("other.test"), now);
        assert_eq!(r.findings, vec![Finding::HostnameMismatch], "{r:?}");
    }

    /// When `pki`'s root ends, Unix seconds.
    fn root_not_after(pki: &Pki) -> i64 {
        let (_, x) = parse_x509_certificate(&pki.root.cert).expect("parse");
        x.validity().not_after.timestamp()
    }

    /// The facts of `chain`'s leaf.
    #[test]
    fn a_public_cas_certificate_without_the_timestamps_browsers_require_is_refused() {
        let pki = Pki::new("Ct").expect("pki");
        let private = Pki::new("CtPrivate").expect("pki");
        let (mut judge, _dir) = judge_of(&[&pki, &private]);
        judge.count_as_public(&pki.root.cert);
        let now = crate::timefmt::now_unix();
        // `logs`: the SCTs' log ids (one repeated counts once); `days`: its lifetime.
        let issued = |pki: &Pki, logs: &[u8], days: i64| {
            let leaf = pki
                .issue(&LeafSpec {
                    sct_logs: logs.to_vec(),
                    ..LeafSpec::new(&["ct.test"], 7, 10, days - 10)
                })
                .expect("leaf");
            let info = info_of(&leaf.chain);
            (leaf, info)
        };
        let judged = |pki: &Pki, logs: &[u8], days: i64| {
            let (leaf, info) = issued(pki, logs, days);
            let r = judge.judge(&leaf.chain, &info, Some("ct.test"), now);
            (info.embedded_scts, r)
        };
        for (logs, days, count) in [
            (&[][..], 90, None),
            (&[1][..], 90, Some(1)),
            (&[1, 1][..], 90, Some(1)),
            (&[1, 2][..], 200, Some(2)),
        ] {
            let (scts, r) = judged(&pki, logs, days);
            assert_eq!(scts, count);
            assert_eq!(r.findings, [Finding::CtMissing], "{logs:?} {days}");
            let detail = r.detail.unwrap_or_default();
            assert!(
                detail.contains(&format!(
                    "embeds Signed Certificate Timestamps from {} Certificate Transparency log(s) where browsers require {} for its lifetime of {days} days",
                    count.unwrap_or(0),
                    if days > 180 { 3 } else { 2 }
                )),
                "{detail}"
            );
        }
        // SCTs a stapled OCSP response carries count beside the embedded ones: two logs in
        // all then, whatever the lifetime.
        let stapled = |logs: &[u8], days: i64, stapled: u8| {
            let (leaf, info) = issued(&pki, logs, days);
            let count = || stapled;
            let at: (i64, KeyUse, &dyn Fn() -> u8) = (now, KeyUse::Signature, &count);
            judge.judge_handshake(&leaf.chain, &info, Some("ct.test"), at)
        };
        for (logs, days, more) in [(&[1][..], 90, 1), (&[1][..], 300, 1), (&[][..], 90, 2)] {
            let r = stapled(logs, days, more);
            assert!(r.findings.is_empty(), "{logs:?} {days} {more}: {r:?}");
        }
        let r = stapled(&[], 300, 1);
        assert_eq!(r.findings, [Finding::CtMissing]);
        assert!(r.detail.unwrap_or_default().contains("embeds Signed Certificate Timestamps from 0 Certificate Transparency log(s) and its stapled OCSP response carries them from 1 more where browsers require 2 for its lifetime of 300 days"));
        assert_eq!(stapled(&[1], 90, 0).findings, [Finding::CtMissing]);
        // Enough of them: two for 180 days or less, three beyond; and a private CA's leaves,
        // which no browser asks CT of.
        for (pki, logs, days) in [
            (&pki, &[1, 2][..], 90),
            (&pki, &[1, 2][..], 180),
            (&pki, &[1, 2, 3][..], 398),
            (&private, &[][..], 398),
        ] {
            let (_, r) = judged(pki, logs, days);
            assert!(r.findings.is_empty(), "{logs:?} {days}: {r:?}");
        }
        // Judged again from the cache of proven issuers: the same.
        let (_, r) = judged(&pki, &[], 90);
        assert_eq!(r.findings, [Finding::CtMissing]);
        // Longer than Chrome and Apple accept of a public CA's certificate; a private
        // CA's may be (up to Apple's 825 days).
        let (_, r) = judged(&pki, &[1, 2, 3], 400);
        assert_eq!(r.findings, [Finding::ValidityTooLong], "{r:?}");
        assert!(
            r.detail.unwrap_or_default().starts_with("the certificate, from a public CA, is valid for 400 days where Chrome and Apple accept 398 at most of one issued since 2020-09-01"),
        );
        let (_, r) = judged(&private, &[], 800);
        assert!(r.findings.is_empty(), "{r:?}");
    }

    #[test]
    fn the_roots_chrome_distrusts_are_found_by_their_keys() {
        // Of Mozilla's roots, Chunghwa Telecom's HiPKI and NetLock's are still in the store
        // (Entrust's and the ePKI root are not): the table's digests are of the keys as
        // webpki keeps them.
        let public: Vec<TrustAnchor<'_>> = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        let mut found: Vec<&str> = chrome_distrusted(CHROME_DISTRUSTED, &public, &[])
            .values()
            .map(|d| d.name)
            .collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                "HiPKI Root CA - G1",
                "NetLock Arany (Class Gold) Főtanúsítvány"
            ]
        );
        // A root given in a CA file is exempt, as an enterprise's explicit trust is in
        // Chrome.
        let pki = Pki::new("Distrusted").expect("pki");
        let root = webpki::anchor_from_trusted_cert(&pki.root.cert).expect("anchor");
        let key: &'static str =
            crate::cert::sha256_hex(root.subject_public_key_info.as_ref()).leak();
        let table = test_distrust(0, Box::leak(Box::new([(key, "Test Root")])));
        let anchors = [root.to_owned()];
        assert_eq!(chrome_distrusted(table, &anchors, &[]).len(), 1);
        let given = [pki.root.cert.clone()];
        assert!(chrome_distrusted(table, &anchors, &given).is_empty());
    }

    #[test]
    fn a_key_usage_the_key_exchange_needs_not_allowed_is_refused() {
        use rcgen::KeyUsagePurpose::{DigitalSignature, KeyAgreement, KeyEncipherment};
        let pki = Pki::new("Ku").expect("pki");
        let (judge, _dir) = judge_of(&[&pki]);
        let now = crate::timefmt::now_unix();
        let tls = |suite: &str| crate::model::TlsInfo {
            version: "TLSv1.2".into(),
            cipher_suite: suite.into(),
            alpn: None,
            kx_group: None,
        };
        let (tls13, ecdhe, rsa_kx) = (
            tls("TLS13_AES_128_GCM_SHA256"),
            tls("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            tls("TLS_RSA_WITH_AES_128_CBC_SHA"),
        );
        let judged = |usages: &[rcgen::KeyUsagePurpose], tls: Option<&crate::model::TlsInfo>| {
            let leaf = pki
                .issue(&LeafSpec {
                    key_usages: usages.to_vec(),
                    ..LeafSpec::new(&["ku.test"], 11, 10, 90)
                })
                .expect("leaf");
            let info = info_of(&leaf.chain);
            let r = judge.judge_handshake(
                &leaf.chain,
                &info,
                Some("ku.test"),
                (now, KeyUse::of(tls, None), &|| 0),
            );
            (info.key_usage, r)
        };
        // Only keyEncipherment (an AD CS template's), over a signing key exchange.
        for tls in [&tls13, &ecdhe] {
            let (bits, r) = judged(&[KeyEncipherment], Some(tls));
            assert_eq!(bits, Some(0b100));
            assert_eq!(r.findings, [Finding::KeyUsageIncompatible], "{r:?}");
            let detail = r.detail.unwrap_or_default();
            assert!(
                detail.starts_with("the certificate's Key Usage (keyEncipherment) lacks digitalSignature, which its handshake needs (the server signs its key exchange (ECDHE, TLS 1.3)): Chrome and Edge (from 124) refuse it (ERR_SSL_KEY_USAGE_INCOMPATIBLE)"),
                "{detail}"
            );
        }
        // RSA key exchange needs keyEncipherment instead.
        let (_, r) = judged(&[DigitalSignature, KeyAgreement], Some(&rsa_kx));
        assert_eq!(r.findings, [Finding::KeyUsageIncompatible], "{r:?}");
        assert!(r.detail.unwrap_or_default().starts_with(
            "the certificate's Key Usage (digitalSignature, keyAgreement) lacks keyEncipherment"
        ));
        // Allowed; no extension (any use); a suite not known, or static ECDH: not asked.
        for (usages, tls) in [
            (&[DigitalSignature][..], Some(&tls13)),
            (&[DigitalSignature, KeyEncipherment], Some(&ecdhe)),
            (&[KeyEncipherment], Some(&rsa_kx)),
            (&[], Some(&tls13)),
            (&[KeyEncipherment], None),
            (
                &[KeyEncipherment],
                Some(&tls("TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256")),
            ),
            (&[KeyEncipherment], Some(&tls("0xC0FF"))),
        ] {
            let (_, r) = judged(usages, tls);
            assert!(r.findings.is_empty(), "{usages:?} {tls:?}: {r:?}");
        }
        // Beside another refusal, told first.
        let leaf = pki
            .issue(&LeafSpec {
                key_usages: vec![KeyEncipherment],
                ..LeafSpec::new(&["ku.test"], 12, 10, 90)
            })
            .expect("leaf");
        let info = info_of(&leaf.chain);
        let r = judge.judge_handshake(
            &leaf.chain[..1],
            &info,
            Some("other.test"),
            (now, KeyUse::Signature, &|| 0),
        );
        assert_eq!(
            r.findings,
            [
                Finding::HostnameMismatch,
                Finding::IncompleteChain,
                Finding::KeyUsageIncompatible
            ]
        );
        assert!(r
            .detail
            .unwrap_or_default()
            .starts_with("the certificate's Key Usage"));
    }

    #[test]
    fn a_certificate_apple_refuses_is_told_beside_what_others_accept() {
        let pki = Pki::new("Apple").expect("pki");
        let (judge, _dir) = judge_of(&[&pki]);
        let now = crate::timefmt::now_unix();
        let judged = |spec: LeafSpec| {
            let leaf = pki.issue(&spec).expect("leaf");
            judge.judge(&leaf.chain, &info_of(&leaf.chain), Some("apple.test"), now)
        };
        let leaf = |days_ago, days_left| LeafSpec::new(&["apple.test"], 21, days_ago, days_left);
        // Five years (a private CA's template), or no Extended Key Usage, or both.
        let r = judged(leaf(10, 1816));
        assert_eq!(r.findings, [Finding::AppleIncompatible], "{r:?}");
        assert_eq!(r.detail.as_deref(), Some("Safari and every iOS and macOS app refuse the certificate, as Apple does any issued since 2019-07-01 whatever its CA: it is valid for 1826 days (Apple accepts 825 at most)"));
        let r = judged(LeafSpec {
            extended_key_usages: vec![],
            ..leaf(10, 80)
        });
        assert_eq!(r.findings, [Finding::AppleIncompatible], "{r:?}");
        assert_eq!(r.detail.as_deref(), Some("iOS and macOS apps that trust its CA themselves refuse the certificate, as Apple does any issued since 2019-07-01 without an Extended Key Usage extension naming serverAuth; Safari and apps trusting a root installed on the device (a configuration profile, the keychain) accept it in current releases"));
        let r = judged(LeafSpec {
            extended_key_usages: vec![],
            ..leaf(10, 900)
        });
        let detail = r.detail.unwrap_or_default();
        assert!(detail.ends_with("it is valid for 910 days (Apple accepts 825 at most), and has no Extended Key Usage extension (which apps that trust its CA themselves require too)"), "{detail}");
        // 825 days; or issued before the rules (in 2018, for ten years); or an 825-day
        // template's certificate backdated by 59 minutes (trustd allows an hour).
        let slipped = |minutes: i64| {
            let nb = ::time::OffsetDateTime::now_utc() - ::time::Duration::days(10);
            LeafSpec {
                not_before: nb - ::time::Duration::minutes(minutes),
                not_after: nb + ::time::Duration::days(825),
                ..leaf(10, 815)
            }
        };
        for spec in [leaf(10, 815), leaf(3000, 650), slipped(59)] {
            let r = judged(spec);
            assert!(r.findings.is_empty(), "{r:?}");
        }
        // Beyond the hour it is refused.
        assert_eq!(judged(slipped(61)).findings, [Finding::AppleIncompatible]);
    }

    #[test]
    fn a_key_chrome_cannot_use_is_told_beside_what_others_accept() {
        let pki = Pki::new("Ed").expect("pki");
        let (judge, _dir) = judge_of(&[&pki]);
        let now = crate::timefmt::now_unix();
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
        let leaf = pki
            .issue(&LeafSpec {
                key_of: Some(ed.serialize_der()),
                ..LeafSpec::new(&["ed.test"], 31, 10, 80)
            })
            .expect("leaf");
        let info = info_of(&leaf.chain);
        assert_eq!(info.key_type, "Ed25519");
        let r = judge.judge(&leaf.chain, &info, Some("ed.test"), now);
        assert_eq!(r.findings, [Finding::KeyTypeUnsupported], "{r:?}");
        assert_eq!(r.detail.as_deref(), Some("the certificate has an Ed25519 key, which Chrome, Edge, Firefox and Android apps do not accept from a server (their TLS, BoringSSL, verifies only ECDSA P-256 and P-384 and RSA), so their handshakes fail; OpenSSL, Go and Java clients accept it"));
        // P-256 and P-384, and RSA, are what they verify.
        for key in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
        ] {
            let k = rcgen::KeyPair::generate_for(key).expect("key");
            let leaf = pki
                .issue(&LeafSpec {
                    key_of: Some(k.serialize_der()),
                    ..LeafSpec::new(&["ed.test"], 32, 10, 80)
                })
                .expect("leaf");
            let r = judge.judge(&leaf.chain, &info_of(&leaf.chain), Some("ed.test"), now);
            assert!(r.findings.is_empty(), "{r:?}");
        }
    }

    #[test]
    fn key_usages_read_back_from_their_names() {
        let pki = Pki::new("KuNames").expect("pki");
        let leaf = pki
            .issue(&LeafSpec {
                key_usages: vec![],
                ..LeafSpec::new(&["ku.test"], 13, 10, 90)
            })
            .expect("leaf");
        let mut info = info_of(&leaf.chain);
        let none = serde_json::to_value(&info).expect("json");
        assert!(none.get("key_usage").is_none(), "{none}");
        assert_eq!(
            none["extended_key_usage"],
            serde_json::json!(["serverAuth"])
        );
        assert!(!info.allows_client_auth());
        info.extended_key_usage = Some(0b100_0010);
        let json = serde_json::to_value(&info).expect("json");
        assert_eq!(
            json["extended_key_usage"],
            serde_json::json!(["clientAuth", "anyExtendedKeyUsage"])
        );
        let back: CertInfo = serde_json::from_value(json).expect("back");
        assert_eq!(back.extended_key_usage, Some(0b100_0010));
        assert!(back.allows_client_auth());
        info.key_usage = Some(0b1_0000_0101);
        let json = serde_json::to_value(&info).expect("json");
        assert_eq!(
            json["key_usage"],
            serde_json::json!(["digitalSignature", "keyEncipherment", "decipherOnly"])
        );
        let back: CertInfo = serde_json::from_value(json).expect("back");
        assert_eq!(back.key_usage, Some(0b1_0000_0101));
    }

    /// A distrust of the test CA's `roots` after `sct_not_after`, for the run.
    fn test_distrust(
        sct_not_after: i64,
        roots: &'static [(&'static str, &'static str)],
    ) -> &'static [Distrust] {
        Box::leak(Box::new([Distrust {
            ca: "Test CA",
            sct_not_after,
            day: "1970-01-01",
            chrome: 1,
            roots,
        }]))
    }

    #[test]
    fn a_certificate_logged_after_chrome_distrusted_its_root_is_refused() {
        let pki = Pki::new("Distrusted").expect("pki");
        let other = Pki::new("StillTrusted").expect("pki");
        let (mut judge, _dir) = judge_of(&[&pki, &other]);
        let now = crate::timefmt::now_unix();
        let day = now - 30 * 86_400;
        judge.count_as_distrusted(
            &pki.root.cert,
            DistrustedRoot {
                name: "Test Root",
                by: &test_distrust(day, &[])[0],
            },
        );
        // `logs`: the SCTs' log ids, dated at its notBefore, `days_ago` days back.
        let judged = |pki: &Pki, logs: &[u8], days_ago: i64| {
            let leaf = pki
                .issue(&LeafSpec {
                    sct_logs: logs.to_vec(),
                    ..LeafSpec::new(&["tw.test"], 9, days_ago, 90)
                })
                .expect("leaf");
            let info = info_of(&leaf.chain);
            judge.judge(&leaf.chain, &info, Some("tw.test"), now)
        };
        let logged = crate::timefmt::rfc3339_unix(now - 10 * 86_400);
        let r = judged(&pki, &[1, 2], 10);
        assert_eq!(r.findings, [Finding::CaDistrusted], "{r:?}");
        let detail = r.detail.unwrap_or_default();
        assert!(
            detail.contains(&format!("chains to Test Root (Test CA), which Chrome (from version 1, on every platform but iOS) no longer trusts for certificates logged after 1970-01-01: its earliest Signed Certificate Timestamp is {logged}")),
            "{detail}"
        );
        // Without SCTs, by its notBefore.
        let r = judged(&pki, &[], 10);
        assert_eq!(r.findings, [Finding::CaDistrusted], "{r:?}");
        assert!(r
            .detail
            .unwrap_or_default()
            .contains(&format!("it was issued is {logged}")));
        // Logged before the day: trusted until it expires; another root's leaves are not
        // asked. Then from the cache of proven issuers, the same.
        for (pki, days_ago) in [(&pki, 60), (&other, 10)] {
            let r = judged(pki, &[1, 2], days_ago);
            assert!(r.findings.is_empty(), "{days_ago}: {r:?}");
        }
        let r = judged(&pki, &[3], 10);
        assert_eq!(r.findings, [Finding::CaDistrusted], "{r:?}");
    }

    fn info_of(chain: &[CertificateDer<'_>]) -> CertInfo {
        crate::cert::cert_info(&chain[0]).expect("parse")
    }

    /// A leaf for `name` issued by `pki`, valid from 10 days ago for `days_left` more, and
    /// its facts.
    fn leaf_of(
        pki: &Pki,
        name: &str,
        serial: u64,
        days_left: i64,
    ) -> (crate::fleet::Leaf, CertInfo) {
        let leaf = pki
            .issue(&LeafSpec::new(&[name], serial, 10, days_left))
            .expect("leaf");
        let info = crate::cert::cert_info(&leaf.chain[0]).expect("parse");
        (leaf, info)
    }

    #[test]
    fn a_path_proven_with_one_chain_proves_nothing_for_a_shorter_one() {
        // Three levels: a node whose chain file lacks the policy CA fails clients, whatever
        // another node sent before it (the caches were keyed by the first intermediate
        // alone, so the verdict depended on which node answered first).
        let pki = Pki::three_level("Three", 3650).expect("pki");
        let (judge, _dir) = judge_of(&[&pki]);
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let (a, info_a) = leaf_of(&pki, "a.test", 1, 80);
        let (b, info_b) = leaf_of(&pki, "b.test", 2, 80);
        assert_eq!(a.chain.len(), 3);
        for _ in 0..2 {
            let r = judge.judge(&a.chain, &info_a, Some("a.test"), now);
            assert!(r.findings.is_empty(), "{r:?}");
        }
        // Another leaf of the same intermediate, served without the policy CA.
        let r = judge.judge(&b.chain[..2], &info_b, Some("b.test"), now);
        assert_eq!(r.findings, vec![Finding::UnknownIssuer], "{r:?}");
        // The validated leaf itself, on a node whose chain file is short.
        let r = judge.judge(&a.chain[..2], &info_a, Some("a.test"), now);
        assert_eq!(r.findings, vec![Finding::UnknownIssuer], "{r:?}");
        // Sent whole, both still hold.
        for (leaf, info, name) in [(&a, &info_a, "a.test"), (&b, &info_b, "b.test")] {
            let r = judge.judge(&leaf.chain, info, Some(name), now);
            assert!(r.findings.is_empty(), "{name}: {r:?}");
        }
    }

    #[test]
    fn a_name_constraint_above_the_issuer_holds_for_every_leaf_after_the_first() {
        // A private root confined to corp.example, a policy CA and an issuing CA under it:
        // a leaf of that issuing CA for another domain is refused by clients, also after
        // a leaf within the domain proved the path (the proven issuing CA, made an anchor,
        // kept its own name constraints, not those of the CAs above it).
        // The constraints in the root (the trust anchor), then in the policy CA.
        for in_policy_ca in [false, true] {
            let pki =
                Pki::name_constrained("Confined", &["corp.example"], in_policy_ca).expect("pki");
            let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
            let (a, info_a) = leaf_of(&pki, "a.corp.example", 1, 80);
            let (b, info_b) = leaf_of(&pki, "b.other.example", 2, 80);
            let (fresh, _fresh_dir) = judge_of(&[&pki]);
            let want = fresh.judge(&b.chain, &info_b, Some("b.other.example"), now);
            assert_eq!(want.findings, [Finding::ChainInvalid], "{want:?}");
            let (judge, _dir) = judge_of(&[&pki]);
            for _ in 0..2 {
                let r = judge.judge(&a.chain, &info_a, Some("a.corp.example"), now);
                assert!(r.findings.is_empty(), "{r:?}");
            }
            let r = judge.judge(&b.chain, &info_b, Some("b.other.example"), now);
            assert_eq!(
                (r.findings, r.detail),
                (want.findings, want.detail),
                "in the policy CA: {in_policy_ca}"
            );
        }
    }

    /// The findings the generated trust test works out by its own rules.
    fn rules_cover(f: Finding) -> bool {
        matches!(
            f,
            Finding::Expired
                | Finding::HostnameMismatch
                | Finding::SelfSigned
                | Finding::IncompleteChain
                | Finding::UnknownIssuer
                | Finding::ChainInvalid
        )
    }

    #[test]
    fn generated_sequences_get_from_the_caches_what_a_fresh_judge_says() {
        // Leaves of several PKIs (two and three levels, confined by name in the root or in
        // the policy CA, a policy CA that ends before its leaves), valid, ending soon or
        // ended, sent with their whole chain, a short one, out of order, beside another
        // PKI's intermediate or alone, judged now or a month on, for their name or another:
        // whatever was judged before, the caches must answer as a judge that has seen
        // nothing, and the findings must be those the README's rules give, worked out here
        // from how each was made.
        // The last two: one whose issuing CA alone is in the CA file (no root: it is the
        // anchor), one whose root and issuing CA both are (a chain download: the issuing CA
        // is no anchor, and a server leaving it out is `incomplete_chain`). Some leaves are
        // self-signed, one of them given in the CA file (an appliance's, trusted as such).
        let pkis = [
            Pki::new("Two").expect("pki"),
            Pki::three_level("Three", 3650).expect("pki"),
            Pki::three_level("Soon", 20).expect("pki"),
            Pki::name_constrained("RootNC", &["corp.example"], false).expect("pki"),
            Pki::name_constrained("PolicyNC", &["corp.example"], true).expect("pki"),
            Pki::new("IssuingOnly").expect("pki"),
            Pki::new("Download").expect("pki"),
            Pki::with_root_days_left("RootSoon", 20).expect("pki"),
        ];
        // The last names an address (an IP SAN: an appliance reached by its address).
        const NAMES: [&str; 4] = [
            "a.corp.example",
            "b.corp.example",
            "x.other.example",
            "10.0.0.5",
        ];
        const DAYS_LEFT: [i64; 3] = [80, 10, -3];
        let mut rng = crate::testrng::XorShift::new(0x7e57_cac4_e500_0001);
        let mut leaves = Vec::new();
        for (i, pki) in pkis.iter().enumerate() {
            for k in 0..4u64 {
                let name = NAMES[rng.below(4) as usize];
                let days = DAYS_LEFT[rng.below(3) as usize];
                let mut spec = LeafSpec::new(&[name], 100 * i as u64 + k + 1, 10, days);
                if i == 0 && k >= 2 {
                    spec = spec.with_chain(crate::fleet::ChainKind::SelfSigned);
                }
                // RSA leaves now and then: ring's checks beside the tabled P-256 ones.
                spec.rsa = k == 1 && i % 2 == 1;
                let leaf = pki.issue(&spec).expect("leaf");
                let info = crate::cert::cert_info(&leaf.chain[0]).expect("parse");
                leaves.push((i, k, name, days, leaf, info));
            }
        }
        let pem =
            |c: &CertificateDer<'_>| ::pem::encode(&::pem::Pem::new("CERTIFICATE", c.to_vec()));
        let trusted_pkis: String = (pkis.iter().enumerate())
            .map(|(j, p)| match j {
                5 => pem(&p.intermediate.cert),
                6 => p.root_pem() + &pem(&p.intermediate.cert),
                _ => p.root_pem(),
            })
            .collect();
        let mut trusted = trusted_pkis;
        trusted.push_str(&pem(&leaves[3].4.chain[0]));
        let dir = tempfile::tempdir().expect("temp dir");
        let roots = dir.path().join("trusted.pem");
        std::fs::write(&roots, trusted).expect("write the CA file");
        let judge = TrustJudge::new(&[&roots], false, true, None).expect("trust store");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let mut seen: HashSet<Finding> = HashSet::new();
        let mut trusted_seen = false;
        for round in 0..300 {
            let (i, k, name, days, leaf, info) = &leaves[rng.below(leaves.len() as u64) as usize];
            let full = &leaf.chain;
            let variant = rng.below(6);
            let chain: Vec<CertificateDer<'_>> = match variant {
                0 | 1 => full.clone(),
                2 => full[..full.len().saturating_sub(1).max(1)].to_vec(),
                3 => full[..1].to_vec(),
                4 => {
                    let mut c = full.clone();
                    c[1..].reverse();
                    c
                }
                _ => {
                    let other = &pkis[(i + 1) % pkis.len()];
                    let mut c = full.clone();
                    c.insert(1, other.intermediate.cert.clone());
                    c
                }
            };
            let later = rng.below(4) == 0;
            let at = if later { now + 30 * 86_400 } else { now };
            // Reached by its name (an address is reached as one, no name sent), or by
            // another name or address.
            let asked = match rng.below(5) {
                0 if name.parse::<std::net::IpAddr>().is_ok() => "10.0.0.6",
                0 => "y.other.example",
                _ => name,
            };
            let reached = || match asked.parse() {
                Ok(ip) => Reached::Address(ip),
                Err(_) => Reached::Name(asked),
            };
            let got = judge.judge(&chain, info, reached(), at);
            let fresh = TrustJudge::new(&[&roots], false, true, None).expect("trust store");
            let want = fresh.judge(&chain, info, reached(), at);
            seen.extend(want.findings.iter().copied());
            trusted_seen |= !want.findings.iter().any(|f| f.is_trust_failure());
            // What the README's findings give, worked out here from how the leaf, the CA
            // file and the chain were made.
            let mut rules = std::collections::BTreeSet::new();
            if at > now + days * 86_400 {
                rules.insert(Finding::Expired);
            }
            if asked != *name {
                rules.insert(Finding::HostnameMismatch);
            }
            let three = (1..=4).contains(i);
            // Which CA certificates of the leaf's own chain were sent.
            let (sent_issuer, sent_policy) = match variant {
                2 => (three, false),
                3 => (false, false),
                _ => (true, three),
            };
            if *i == 0 && *k >= 2 {
                // Self-signed; the fourth is in the CA file.
                if *k == 2 {
                    rules.insert(Finding::SelfSigned);
                }
            } else if *i == 5 {
                // Its issuing CA is trusted itself: the leaf alone is enough.
            } else if !sent_issuer {
                rules.insert(Finding::IncompleteChain);
            } else if three && !sent_policy {
                rules.insert(Finding::UnknownIssuer);
            } else if (*i == 3 || *i == 4) && *name == "x.other.example" {
                rules.insert(Finding::ChainInvalid);
            } else if (*i == 2 || *i == 7) && later && *days == 80 {
                // The policy CA, or the root, ends 20 days from now, inside the leaf's life.
                rules.insert(Finding::ChainInvalid);
            }
            let judged: std::collections::BTreeSet<Finding> = (want.findings.iter().copied())
                .filter(|f| rules_cover(*f))
                .collect();
            assert_eq!(
                judged, rules,
                "round {round}: {name} of PKI {i} (leaf {k}, {days} days left) asked as {asked}, chain variant {variant}{}: {:?}",
                if later { ", a month on" } else { "" },
                want.detail
            );
            assert_eq!(
                got,
                want,
                "round {round}: {name} of PKI {i} asked as {asked}, {} certificates sent",
                chain.len()
            );
        }
        // The sequences met what they were made for.
        for f in [
            Finding::ChainInvalid,
            Finding::SelfSigned,
            Finding::IncompleteChain,
            Finding::UnknownIssuer,
            Finding::Expired,
            Finding::HostnameMismatch,
        ] {
            assert!(seen.contains(&f), "{f:?} never judged: {seen:?}");
        }
        assert!(trusted_seen);
        drop(dir);
    }

    #[test]
    fn a_proven_path_holds_only_while_every_ca_on_it_is_valid() {
        // The policy CA above the intermediate expires in 20 days, the leaves in 80: a month
        // on, the path is broken even though the intermediate itself is valid.
        let pki = Pki::three_level("Soon", 20).expect("pki");
        let (judge, _dir) = judge_of(&[&pki]);
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let later = now + 30 * 86_400;
        let (a, info_a) = leaf_of(&pki, "a.test", 1, 80);
        let (b, info_b) = leaf_of(&pki, "b.test", 2, 80);
        for _ in 0..2 {
            let r = judge.judge(&a.chain, &info_a, Some("a.test"), now);
            assert!(!r.findings.iter().any(|f| f.is_trust_failure()), "{r:?}");
        }
        for (leaf, info, name) in [(&a, &info_a, "a.test"), (&b, &info_b, "b.test")] {
            let r = judge.judge(&leaf.chain, info, Some(name), later);
            assert_eq!(r.findings, vec![Finding::ChainInvalid], "{name}: {r:?}");
            assert!(
                r.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("expired on")),
                "{name}: {r:?}"
            );
        }
    }

    #[test]
    fn an_intermediate_given_with_its_root_does_not_hide_a_server_that_leaves_it_out() {
        // A CA's chain download or an AD CS .p7b holds the root and the issuing CA together.
        // Trusted in itself, the issuing CA made a server that sends only its leaf look fine,
        // though every client holding only the root refuses it.
        let pki = Pki::new("Bundle").expect("pki");
        let (leaf, info) = leaf_of(&pki, "a.test", 1, 80);
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let dir = tempfile::tempdir().expect("temp dir");
        let pem =
            |c: &CertificateDer<'_>| ::pem::encode(&::pem::Pem::new("CERTIFICATE", c.to_vec()));
        let both = dir.path().join("chain.pem");
        std::fs::write(&both, pem(&pki.intermediate.cert) + &pem(&pki.root.cert)).expect("write");
        let judge = TrustJudge::new(&[&both], false, true, None).expect("trust store");
        let r = judge.judge(&leaf.chain[..1], &info, Some("a.test"), now);
        assert_eq!(r.findings, vec![Finding::IncompleteChain], "{r:?}");
        assert_eq!(
            r.detail.as_deref(),
            Some("the server does not send the intermediate \"O=certsweep test PKI, CN=Bundle Issuing CA 1\"")
        );
        let r = judge.judge(&leaf.chain, &info, Some("a.test"), now);
        assert!(r.findings.is_empty(), "{r:?}");
        // Its key is still at hand for a revocation list or a staple it signed.
        let (_, int) = parse_x509_certificate(&pki.intermediate.cert).expect("parse");
        assert_eq!(
            judge.trusted_key(int.subject().as_raw()).as_deref(),
            Some(int.public_key().raw)
        );
        // Given without its root, the intermediate is what the user trusts.
        let alone = dir.path().join("intermediate.pem");
        std::fs::write(&alone, pem(&pki.intermediate.cert)).expect("write");
        let judge = TrustJudge::new(&[&alone], false, true, None).expect("trust store");
        let r = judge.judge(&leaf.chain[..1], &info, Some("a.test"), now);
        assert!(r.findings.is_empty(), "{r:?}");
    }

    #[test]
    fn a_servers_ca_names_reach_the_detail_with_control_characters_escaped() {
        // The CA names in a trust detail are the server's to choose: an escape sequence in
        // one would reach an operator's terminal through a failing verdict's line.
        let evil = Pki::new("Evil\u{1b}[2J").expect("pki");
        let other = Pki::new("Trusted").expect("pki");
        let (judge, _dir) = judge_of(&[&other]);
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let (leaf, info) = leaf_of(&evil, "e.test", 1, 80);
        for chain in [
            leaf.chain.clone(),
            vec![
                leaf.chain[0].clone(),
                leaf.chain[1].clone(),
                evil.root.cert.clone(),
            ],
            leaf.chain[..1].to_vec(),
        ] {
            let r = judge.judge(&chain, &info, Some("e.test"), now);
            let d = r.detail.unwrap_or_default();
            assert!(!d.contains('\u{1b}') && d.contains("Evil\\u{1b}[2J"), "{d}");
        }
    }

    #[test]
    fn a_ca_certificate_expiring_before_the_leaf_is_told_with_its_name_and_date() {
        // The policy CA ends in 20 days; a leaf valid 80 more days breaks then, one valid 10
        // more days does not.
        let pki = Pki::three_level("Ends", 20).expect("pki");
        let (judge, _dir) = judge_of(&[&pki]);
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let (long, info_long) = leaf_of(&pki, "a.test", 1, 80);
        let (short, info_short) = leaf_of(&pki, "b.test", 2, 10);
        let (_, policy) = parse_x509_certificate(&pki.policy.as_ref().unwrap().cert).unwrap();
        let until = crate::timefmt::rfc3339_unix(policy.validity().not_after.timestamp());
        // Judged afresh, then from the caches (the same leaf, then another under the chain).
        for _ in 0..2 {
            let r = judge.judge(&long.chain, &info_long, Some("a.test"), now);
            assert_eq!(r.findings, vec![Finding::ChainExpiresFirst], "{r:?}");
            assert_eq!(
                r.detail.as_deref(),
                Some(format!(
                    "the CA certificate \"O=certsweep test PKI, CN=Ends Policy CA\" the server sends expires on {until}, before the certificate ({}): from then clients that do not fetch a current copy of it (most clients other than browsers) refuse the chain",
                    info_long.not_after
                ).as_str())
            );
            let ends = r.chain_expires.as_deref().expect("when");
            assert_eq!(
                (ends.subject.as_str(), ends.root, ends.not_after.as_str()),
                (
                    "O=certsweep test PKI, CN=Ends Policy CA",
                    false,
                    until.as_str()
                )
            );
            let r = judge.judge(&short.chain, &info_short, Some("b.test"), now);
            assert!(r.findings.is_empty(), "{r:?}");
        }
    }

    #[test]
    fn a_private_root_ending_before_the_leaf_or_ended_is_told() {
        // webpki ignores a trust anchor's dates; OpenSSL and Windows clients refuse a chain
        // to an expired root. An AD CS root of ten years ends one day.
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let ending = Pki::with_root_days_left("Ending", 20).expect("pki");
        let (judge, _dir) = judge_of(&[&ending]);
        let (_, root) = parse_x509_certificate(&ending.root.cert).expect("parse");
        let until = crate::timefmt::rfc3339_unix(root.validity().not_after.timestamp());
        let (long, info) = leaf_of(&ending, "a.test", 1, 80);
        for chain in [&long.chain[..], &long.chain[..], &long.chain[..1]] {
            let r = judge.judge(chain, &info, Some("a.test"), now);
            if chain.len() == 1 {
                // Its leaf alone: the missing intermediate is what fails.
                assert_eq!(r.findings, vec![Finding::IncompleteChain], "{r:?}");
                continue;
            }
            assert_eq!(r.findings, vec![Finding::ChainExpiresFirst], "{r:?}");
            assert_eq!(
                r.detail.as_deref(),
                Some(format!(
                    "the root \"O=certsweep test PKI, CN=Ending Root CA\" the chain ends at expires on {until}, before the certificate ({}): from then clients that check their roots' dates (OpenSSL, Windows) refuse the chain",
                    info.not_after
                ).as_str())
            );
            let ends = r.chain_expires.as_deref().expect("when");
            assert_eq!(
                (ends.subject.as_str(), ends.root, ends.not_after.as_str()),
                (
                    "O=certsweep test PKI, CN=Ending Root CA",
                    true,
                    until.as_str()
                )
            );
        }
        let (short, info_short) = leaf_of(&ending, "b.test", 2, 10);
        let r = judge.judge(&short.chain, &info_short, Some("b.test"), now);
        assert!(r.findings.is_empty(), "{r:?}");
        // A leaf cut to end with its CA (as AD CS issues them), or moments after it: nothing
        // to tell, it is renewed before either ends.
        let with = Pki::with_root_days_left("With", 80).expect("pki");
        let (judge_with, _dir_with) = judge_of(&[&with]);
        let end = root_not_after(&with) + 60;
        let leaf = with
            .issue(&LeafSpec {
                not_after: ::time::OffsetDateTime::from_unix_timestamp(end).expect("time"),
                ..LeafSpec::new(&["w.test"], 3, 10, 80)
            })
            .expect("leaf");
        let info = info_of(&leaf.chain);
        let r = judge_with.judge(&leaf.chain, &info, Some("w.test"), now);
        assert!(r.findings.is_empty(), "{r:?}");
        // Past its date: refused now.
        let ended = Pki::with_root_days_left("Ended", -5).expect("pki");
        let (judge, _dir) = judge_of(&[&ended]);
        let (leaf, info) = leaf_of(&ended, "a.test", 1, 80);
        for _ in 0..2 {
            let r = judge.judge(&leaf.chain, &info, Some("a.test"), now);
            assert_eq!(r.findings, vec![Finding::ChainInvalid], "{r:?}");
            let d = r.detail.unwrap_or_default();
            assert!(
                d.starts_with("the root \"O=certsweep test PKI, CN=Ended Root CA\" the chain ends at expired on "),
                "{d}"
            );
            assert!(root_has_expired(&d), "{d}");
        }
    }

    #[test]
    fn an_expired_certificate_sent_beside_a_valid_path_is_told() {
        // An expired copy of the root (same name, an old key) sent after the intermediate:
        // clients that trust the root build around it.
        let pki = Pki::new("Beside").expect("pki");
        let old_root = Pki::with_root_days_left("Beside", -5)
            .expect("pki")
            .root
            .cert;
        let (judge, _dir) = judge_of(&[&pki]);
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let (leaf, info) = leaf_of(&pki, "a.test", 1, 80);
        let mut chain = leaf.chain.clone();
        chain.push(old_root.clone());
        for _ in 0..2 {
            let r = judge.judge(&chain, &info, Some("a.test"), now);
            assert_eq!(r.findings, vec![Finding::ExpiredInChain], "{r:?}");
            let d = r.detail.unwrap_or_default();
            assert!(
                d.starts_with("the server also sends \"O=certsweep test PKI, CN=Beside Root CA\" issued by \"O=certsweep test PKI, CN=Beside Root CA\", which expired on "),
                "{d}"
            );
            assert!(d.ends_with("(OpenSSL before 1.1.0) refuse it"), "{d}");
        }
        // Sent whole without it: nothing to say. Nor about an expired certificate no other
        // one names as issuer (what else a CA bundle configured as the chain holds): no
        // path builder tries it.
        let r = judge.judge(&leaf.chain, &info, Some("a.test"), now);
        assert!(r.findings.is_empty() && r.detail.is_none(), "{r:?}");
        let gone = Pki::three_level("Gone", -5).expect("pki");
        let mut bundle = leaf.chain.clone();
        bundle.push(gone.policy.as_ref().unwrap().cert.clone());
        let r = judge.judge(&bundle, &info, Some("a.test"), now);
        assert!(r.findings.is_empty() && r.detail.is_none(), "{r:?}");
        // An expired leaf is judged at its own last day, when the other was valid too: only
        // the leaf's expiry is told.
        let old = pki
            .issue(&LeafSpec::new(&["o.test"], 2, 90, -3))
            .expect("leaf");
        let info_old = crate::cert::cert_info(&old.chain[0]).expect("parse");
        let mut chain = old.chain.clone();
        chain.push(old_root);
        let r = judge.judge(&chain, &info_old, Some("o.test"), now);
        assert_eq!(r.findings, vec![Finding::Expired], "{r:?}");
    }

    #[test]
    fn a_chain_sent_out_of_order_is_told_with_the_order_to_send() {
        let pki = Pki::three_level("Order", 3650).expect("pki");
        let (judge, _dir) = judge_of(&[&pki]);
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let (leaf, info) = leaf_of(&pki, "a.test", 1, 80);
        // leaf, issuing CA, policy CA: in order; the root after them changes nothing.
        assert_eq!(leaf.chain.len(), 3);
        let (issuing, policy) = (leaf.chain[1].clone(), leaf.chain[2].clone());
        let root = CertificateDer::from(pki.root.cert.to_vec());
        let mut with_root = leaf.chain.clone();
        with_root.push(root.clone());
        for chain in [&leaf.chain, &with_root] {
            let r = judge.judge(chain, &info, Some("a.test"), now);
            assert!(r.findings.is_empty() && r.detail.is_none(), "{r:?}");
        }
        // The CAs in reverse, or the root first: told, twice the same (the second from
        // the caches).
        let reversed = vec![leaf.chain[0].clone(), policy.clone(), issuing.clone()];
        let root_first = vec![leaf.chain[0].clone(), root, issuing, policy];
        for chain in [&reversed, &reversed, &root_first, &root_first] {
            let r = judge.judge(chain, &info, Some("a.test"), now);
            assert_eq!(r.findings, vec![Finding::ChainOrder], "{r:?}");
            let d = r.detail.unwrap_or_default();
            assert!(
                d.starts_with("the server sends its chain out of order: the certificate is to be followed by \"O=certsweep test PKI, CN=Order Issuing CA 1\", then \"O=certsweep test PKI, CN=Order Policy CA\", each right after the one it issued, as TLS 1.2 requires"),
                "{d}"
            );
        }
        // One CA to send: named as the one to come right after the certificate.
        let two = Pki::new("Order Two").expect("pki");
        let (judge, _dir2) = judge_of(&[&two]);
        let (leaf, info) = leaf_of(&two, "b.test", 2, 80);
        let root = CertificateDer::from(two.root.cert.to_vec());
        let chain = vec![leaf.chain[0].clone(), root, leaf.chain[1].clone()];
        let r = judge.judge(&chain, &info, Some("b.test"), now);
        assert_eq!(r.findings, vec![Finding::ChainOrder], "{r:?}");
        let d = r.detail.unwrap_or_default();
        assert!(
            d.starts_with("the server sends its chain out of order: \"O=certsweep test PKI, CN=Order Two Issuing CA 1\", which issued the certificate, is to come right after it, as TLS 1.2 requires"),
            "{d}"
        );
    }

    #[test]
    fn a_name_only_in_the_subject_cn_is_said_to_be_there() {
        // Old private-CA templates: CN=box.test, no subjectAltName. The name is "right" to
        // a reader of the certificate, so the mismatch says where it is.
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "box.test");
        let cert = p.self_signed(&key).expect("cert");
        let chain = vec![cert.der().clone()];
        let info = crate::cert::cert_info(&chain[0]).expect("parse");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let note = "box.test is only in the subject CN, and the certificate has no subjectAltName: clients match names against the subjectAltName alone";
        // Trusted (its own root in --ca-file): the note alone.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("roots.pem");
        std::fs::write(&path, cert.pem()).expect("write");
        let judge = TrustJudge::new(&[path], false, true, None).expect("trust store");
        let r = judge.judge(&chain, &info, Some("box.test"), now);
        assert_eq!(r.findings, vec![Finding::HostnameMismatch], "{r:?}");
        assert_eq!(r.detail.as_deref(), Some(note));
        // Another name: a plain mismatch, nothing said of the CN.
        let r = judge.judge(&chain, &info, Some("other.test"), now);
        assert_eq!(r.findings, vec![Finding::HostnameMismatch], "{r:?}");
        assert_eq!(r.detail, None);
        // Untrusted: both said.
        let other = Pki::new("Other").expect("pki");
        let (judge, _dir) = judge_of(&[&other]);
        let r = judge.judge(&chain, &info, Some("box.test"), now);
        assert_eq!(
            r.findings,
            vec![Finding::HostnameMismatch, Finding::SelfSigned],
            "{r:?}"
        );
        assert_eq!(
            r.detail,
            Some(format!(
                "the server presents a self-signed certificate; {note}"
            ))
        );
    }

    #[test]
    fn a_self_signed_certificate_renewed_under_a_trusted_ones_name_is_self_signed() {
        // An appliance's self-signed certificate is in the CA file; the appliance made itself
        // a new one, the same name with a new key. It was `chain_invalid`, "a certificate
        // was altered".
        let (old, new) = crate::fleet::self_signed_anew("box.test").expect("certificates");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("appliance.pem");
        std::fs::write(&file, old.pem()).expect("write");
        let judge = TrustJudge::new(&[&file], false, true, None).expect("trust store");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let chain = vec![old.der().clone()];
        let info = crate::cert::cert_info(&chain[0]).expect("parse");
        let r = judge.judge(&chain, &info, Some("box.test"), now);
        assert!(r.findings.is_empty(), "{r:?}");
        let chain = vec![new.der().clone()];
        let info = crate::cert::cert_info(&chain[0]).expect("parse");
        let r = judge.judge(&chain, &info, Some("box.test"), now);
        assert_eq!(r.findings, [Finding::SelfSigned], "{r:?}");
        assert!(r.detail.as_deref().is_some_and(self_signed_anew), "{r:?}");
        assert!(
            r.detail
                .as_deref()
                .is_some_and(|d| d.contains("trusted under its name") && d.contains("another key")),
            "{r:?}"
        );
    }

    #[test]
    fn a_self_signed_certificate_marked_as_a_ca_is_self_signed() {
        // The default of `openssl req -x509` and of many appliances: CA:TRUE on the server's
        // own certificate. It used to be reported `chain_invalid` (CaUsedAsEndEntity).
        let a = Pki::new("Self CA").expect("pki");
        let (judge, _dir) = judge_of(&[&a]);
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(vec!["box.test".to_string()]).expect("params");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = p.self_signed(&key).expect("cert");
        let chain = vec![cert.der().clone()];
        let info = crate::cert::cert_info(&chain[0]).expect("parse");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let r = judge.judge(&chain, &info, Some("box.test"), now);
        assert_eq!(r.findings, vec![Finding::SelfSigned], "{r:?}");
        // The same with a CA bundle configured after it, and the certificate itself again
        // (its file given as the chain too): still self-signed (it was `chain_invalid`, and
        // `unknown_issuer` without CA:TRUE).
        for ca in [true, false] {
            p.is_ca = if ca {
                rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained)
            } else {
                rcgen::IsCa::NoCa
            };
            let cert = p.self_signed(&key).expect("cert");
            let bundled = vec![
                cert.der().clone(),
                cert.der().clone(),
                a.intermediate.cert.clone(),
                a.root.cert.clone(),
            ];
            let info = crate::cert::cert_info(&bundled[0]).expect("parse");
            let r = judge.judge(&bundled, &info, Some("box.test"), now);
            assert_eq!(r.findings, vec![Finding::SelfSigned], "{ca}: {r:?}");
            assert!(
                r.detail.as_deref().is_some_and(|d| d
                    .ends_with("and 3 other certificate(s) after it, which do not vouch for it")),
                "{r:?}"
            );
        }
        // But not when another certificate bears its name: the same CA's other key.
        let other = p
            .self_signed(&rcgen::KeyPair::generate().expect("key"))
            .expect("cert");
        let pair = vec![chain[0].clone(), other.der().clone()];
        let r = judge.judge(&pair, &info, Some("box.test"), now);
        assert!(!r.findings.contains(&Finding::SelfSigned), "{r:?}");
        // A leaf bearing its CA's name, issued by it (self-issued, not self-signed): the
        // path ends at that CA, a root not trusted.
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = p.clone();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("cert");
        let leaf = p
            .signed_by(&key, &rcgen::Issuer::new(ca_params, ca_key))
            .expect("cert");
        let pair = vec![leaf.der().clone(), ca.der().clone()];
        let info = crate::cert::cert_info(&pair[0]).expect("parse");
        let r = judge.judge(&pair, &info, Some("box.test"), now);
        assert_eq!(r.findings, vec![Finding::UnknownIssuer], "{r:?}");
        assert!(
            r.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("the chain ends at the root")),
            "{r:?}"
        );
        // Given in a CA file, the same certificate is what the user trusts: OpenSSL, Go and
        // Java clients holding it accept it. Its name is still checked.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("box.pem");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let selfie = p.self_signed(&key).expect("cert");
        std::fs::write(&path, selfie.pem()).expect("write");
        let trusting = TrustJudge::new(&[&path], false, true, None).expect("trust store");
        let served = vec![selfie.der().clone()];
        let info = crate::cert::cert_info(&served[0]).expect("parse");
        let r = trusting.judge(&served, &info, Some("box.test"), now);
        assert!(r.findings.is_empty(), "{r:?}");
        let r = trusting.judge(&served, &info, Some("other.test"), now);
        assert_eq!(r.findings, vec![Finding::HostnameMismatch], "{r:?}");
        // Another self-signed certificate of the same name is not trusted by it.
        let r = trusting.judge(&chain, &info_of(&chain), Some("box.test"), now);
        assert_eq!(r.findings, vec![Finding::SelfSigned], "{r:?}");
        // A CA certificate that is not self-issued, served as a leaf, stays chain_invalid.
        let chain = vec![a.intermediate.cert.clone()];
        let info = crate::cert::cert_info(&chain[0]).expect("parse");
        let r = judge.judge(&chain, &info, None, now);
        assert_eq!(r.findings, vec![Finding::ChainInvalid], "{r:?}");
        assert_eq!(
            r.detail.as_deref(),
            Some("the certificate is a CA certificate, not one for a server")
        );
    }

    #[test]
    fn an_intermediate_with_the_issuers_name_but_not_its_key_is_told_in_words() {
        // Two CAs of one name (a CA renewed with a new key, the old intermediate still in the
        // server's chain file): the served intermediate names the issuer but did not sign.
        let a = Pki::new("Same Name").expect("pki");
        let b = Pki::new("Same Name").expect("pki");
        let (judge, _dir) = judge_of(&[&a, &b]);
        let leaf = a
            .issue(&LeafSpec::new(&["n.test"], 78, 10, 80))
            .expect("leaf");
        let chain = vec![leaf.chain[0].clone(), b.intermediate.cert.clone()];
        let info = crate::cert::cert_info(&chain[0]).expect("parse");
        let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
        let r = judge.judge(&chain, &info, Some("n.test"), now);
        assert_eq!(r.findings, vec![Finding::ChainInvalid], "{r:?}");
        let d = r.detail.unwrap_or_default();
        assert!(
            d.starts_with("a signature in the chain does not verify"),
            "{d}"
        );
    }

    #[test]
    fn signature_algorithms_are_named_and_sha1_is_weak() {
        let der = |oid: &[u8]| {
            let mut v = vec![6, oid.len() as u8];
            v.extend_from_slice(oid);
            v.extend_from_slice(&[5, 0]);
            v
        };
        let sha1_rsa = der(&[42, 134, 72, 134, 247, 13, 1, 1, 5]);
        assert_eq!(
            signature_algorithm(&sha1_rsa),
            (
                "sha1WithRSAEncryption".into(),
                "1.2.840.113549.1.1.5".into(),
                true
            )
        );
        let sha256_rsa = der(&[42, 134, 72, 134, 247, 13, 1, 1, 11]);
        let (name, _, weak) = signature_algorithm(&sha256_rsa);
        assert_eq!((name.as_str(), weak), ("sha256WithRSAEncryption", false));
        assert!(!signature_algorithm(&[6, 40]).2);
    }
}
