//! Revocation from the CA's certificate revocation list (`scan --crl`, RFC 5280 §5).
//!
//! A certificate the CA revoked outside the CLM (a mass revocation after a validation
//! incident, a key reported compromised) is still presented until someone replaces it, and
//! the records may not say so. Stapled OCSP shows it only where servers staple, and public
//! CAs now must publish CRLs while OCSP is optional (Let's Encrypt ended it in 2025), so the
//! CRL is where the CA's word is found.
//!
//! Each leaf's HTTP distribution point is fetched once per sweep (every endpoint presenting a
//! certificate of that CRL waits for the one download), read into a set of serials, and its
//! signature checked against the issuer certificate from the served chain. Only a list that
//! verifies and names the leaf's issuer can say `revoked` or `good`; anything else is
//! `unavailable`, with the reason, so a missing answer is never read as "not revoked".

use crate::model::{Finding, RevocationInfo};
use crate::revocation::{integer_slice, Query};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use x509_parser::asn1_rs::{Any, BitString, Tag};
use x509_parser::extensions::X509Extension;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::RevokedCertificate;
use x509_parser::time::ASN1Time;
use x509_parser::x509::{AlgorithmIdentifier, X509Name};

/// The largest CRL read. Public CAs shard theirs (Let's Encrypt's shards are a few hundred
/// KB) but some private and older public CAs publish one list of tens of megabytes.
const MAX_BYTES: usize = 64 << 20;

/// One CRL as read: who issued it, when, and the serials it lists.
#[derive(Debug)]
struct List {
    der: Vec<u8>,
    issuer_name: Vec<u8>,
    this_update: i64,
    next_update: Option<i64>,
    /// The serials listed, with when and why.
    revoked: Revoked,
    /// Why the list cannot speak for a server certificate from this URL, if it cannot: it
    /// covers only CA certificates or some reasons, it is a delta or an indirect list, or
    /// it is another partition's (RFC 5280 §5.2.5).
    out_of_scope: Option<String>,
    /// Issuer keys (SHA-256 of the SPKI DER) its signature was checked against, and the
    /// result. A cell per key, so that the endpoints that waited for the download together
    /// do not all check the signature (and parse the whole list) at once.
    checked: Mutex<HashMap<[u8; 32], Arc<std::sync::OnceLock<bool>>>>,
}

/// The serials a list revokes, each with its revocation time and reason code: sorted
/// entries of a fixed size (RFC 5280 serials are at most 20 bytes), 40 bytes each, and a
/// map for longer ones, which non-conforming CAs issue. A map of boxed serials took ~130
/// bytes an entry, for lists of a million.
#[derive(Debug, Default, PartialEq)]
struct Revoked {
    short: Vec<Entry>,
    long: HashMap<Box<[u8]>, (i64, Option<u8>)>,
}

/// One listed serial of at most 20 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    /// The integer's bytes, from the first, zeros after them.
    serial: [u8; 20],
    len: u8,
    at: i64,
    reason: Option<u8>,
}

impl Entry {
    fn key(&self) -> (u8, [u8; 20]) {
        (self.len, self.serial)
    }
}

impl Revoked {
    /// Adds an entry: `serial` as the integer's bytes, revoked at `at` for `reason`.
    fn push(&mut self, serial: &[u8], at: i64, reason: Option<u8>) {
        if serial.len() > 20 {
            self.long.insert(serial.into(), (at, reason));
            return;
        }
        let mut fixed = [0u8; 20];
        fixed[..serial.len()].copy_from_slice(serial);
        self.short.push(Entry {
            serial: fixed,
            len: serial.len() as u8,
            at,
            reason,
        });
    }

    /// Sorts the entries for [`Revoked::get`]; of a serial listed twice (a map took the
    /// later entry over the earlier one) the last listed is kept.
    fn finish(&mut self) {
        // Stable: equal serials stay in list order, and each later one is copied over the
        // one kept before it is dropped.
        self.short.sort_by_key(Entry::key);
        self.short.dedup_by(|later, kept| {
            let same = later.key() == kept.key();
            if same {
                *kept = *later;
            }
            same
        });
        self.short.shrink_to_fit();
    }

    /// When and why `serial` (integer bytes) was revoked, if it is listed.
    fn get(&self, serial: &[u8]) -> Option<(i64, Option<u8>)> {
        if serial.len() > 20 {
            return self.long.get(serial).copied();
        }
        let mut fixed = [0u8; 20];
        fixed[..serial.len()].copy_from_slice(serial);
        let key = (serial.len() as u8, fixed);
        let i = self.short.binary_search_by_key(&key, Entry::key).ok()?;
        let e = self.short[i];
        Some((e.at, e.reason))
    }

    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }
}

/// A CRL's download, or why there is none.
type Fetched = Result<List, String>;

/// The lists downloaded, by URL, kept from one sweep to the next of a `--wait`: a pipeline
/// sweeping every few seconds would otherwise download each list again each time.
#[derive(Debug, Clone, Default)]
pub struct CrlCache(Arc<Mutex<HashMap<String, Slot>>>);

/// A list's download, done once by the first endpoint asking, awaited by the others.
type Slot = Arc<OnceCell<Arc<Fetched>>>;

impl CrlCache {
    /// Forgets what a new sweep must fetch again: failed downloads (the host may be back)
    /// and lists past their nextUpdate at `now` (the CA has published another).
    fn prune(&self, now: i64) {
        let mut lists = match self.0.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        lists.retain(|_, cell| match cell.get().map(|f| f.as_ref()) {
            Some(Ok(list)) => list.next_update.is_none_or(|n| n > now),
            // Failed, or never finished (a stopped sweep).
            _ => false,
        });
    }
}

/// Fetches and remembers CRLs for one sweep.
#[derive(Debug)]
pub struct CrlCheck {
    timeout: Duration,
    /// The `--exclude` lists: a list's host on them is not connected to either.
    exclude: Option<Arc<crate::engine::exclude::Exclusions>>,
    /// The sweep's resolver: a private CA's list host is often known only to the resolver
    /// the sweep is told to use.
    dns: Arc<crate::engine::resolve::Dns>,
    lists: CrlCache,
}

impl CrlCheck {
    /// A checker whose downloads (connect, request and body together) each get `timeout`,
    /// connecting to nothing `exclude` holds and resolving names with `dns`; the lists of
    /// `cache` still current are used without a download.
    pub fn new(
        timeout: Duration,
        exclude: Option<Arc<crate::engine::exclude::Exclusions>>,
        dns: Arc<crate::engine::resolve::Dns>,
        cache: CrlCache,
    ) -> CrlCheck {
        cache.prune(crate::timefmt::now_unix());
        CrlCheck {
            timeout,
            exclude,
            dns,
            lists: cache,
        }
    }

    /// The lists fetched so far, by URL: how many entries each holds, or why it could not
    /// be read.
    pub fn lists_read(&self) -> Vec<(String, Result<usize, String>)> {
        let lists = match self.lists.0.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out: Vec<(String, Result<usize, String>)> = lists
            .iter()
            .filter_map(|(url, cell)| {
                let fetched = cell.get()?;
                Some((
                    url.clone(),
                    match fetched.as_ref() {
                        Ok(list) => Ok(list.revoked.len()),
                        Err(e) => Err(e.clone()),
                    },
                ))
            })
            .collect();
        out.sort();
        out
    }

    /// What the leaf's CRL says of it, and the finding it makes (`crl_revoked`,
    /// `crl_unavailable`; none when the list says good).
    pub async fn check(&self, q: &Query, now: i64) -> (RevocationInfo, Option<Finding>) {
        let unavailable = |url: Option<&str>, problem: String| {
            (
                RevocationInfo::unavailable(url, problem),
                Some(Finding::CrlUnavailable),
            )
        };
        let http: Vec<&String> = q
            .crl_urls
            .iter()
            .filter(|u| u.starts_with("http://"))
            .collect();
        if http.is_empty() {
            return match q.crl_urls.first() {
                Some(u) => unavailable(
                    Some(u),
                    format!("its only distribution points are not http:// ({u}); only HTTP CRLs are fetched"),
                ),
                // Short-lived certificates (7 days and less) may carry none (CA/B Forum
                // BR 7.1.2.11.2), and private CAs often leave it out: nothing to check.
                None => unavailable(None, "the certificate names no CRL distribution point".into()),
            };
        }
        let mut why = Vec::new();
        for url in http {
            let fetched = self.fetched(url, q.issuer_key.clone()).await;
            let said = match fetched.as_ref() {
                Ok(list) => judge(list, q, url, now),
                Err(e) => Err(e.clone()),
            };
            match said {
                Ok(answer) => return answer,
                Err(e) => why.push(format!("{url}: {e}")),
            }
        }
        let first = q.crl_urls.first().map(String::as_str);
        unavailable(first, why.join("; "))
    }

    /// The list at `url`, downloaded by the first endpoint asking for it, read (and its
    /// signature checked with `key`, the first asker's issuer key) off the runtime's
    /// threads: a list of a million entries takes a second to parse, which would stall
    /// every connection in flight.
    async fn fetched(&self, url: &str, key: Option<Vec<u8>>) -> Arc<Fetched> {
        let cell = {
            let mut lists = match self.lists.0.lock() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            match lists.get(url) {
                Some(cell) => cell.clone(),
                None => lists.entry(url.to_string()).or_default().clone(),
            }
        };
        cell.get_or_init(|| async {
            let got = tokio::time::timeout(
                self.timeout,
                crate::fetch::get(
                    url,
                    self.exclude.as_deref(),
                    &self.dns,
                    "CRL check",
                    MAX_BYTES,
                ),
            )
            .await;
            Arc::new(match got {
                Ok(Ok(body)) => {
                    let url = url.to_string();
                    tokio::task::spawn_blocking(move || read(body, &url, key.as_deref()))
                        .await
                        .unwrap_or_else(|e| Err(format!("reading the list failed ({e})")))
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "no complete answer within {}",
                    crate::duration::display(self.timeout)
                )),
            })
        })
        .await
        .clone()
    }
}

/// What `list`, read from `url`, says of the query's certificate at `now`; `Err` says why it
/// cannot say (the next distribution point may).
fn judge(
    list: &List,
    q: &Query,
    url: &str,
    now: i64,
) -> Result<(RevocationInfo, Option<Finding>), String> {
    if let Some(why_not) = &list.out_of_scope {
        return Err(why_not.clone());
    }
    if list.issuer_name != q.issuer_name {
        return Err("the list is issued by another CA than the certificate".into());
    }
    verified(list, q.issuer_key.as_deref())?;
    let mut info = RevocationInfo {
        url: Some(url.to_string()),
        status: "good".into(),
        this_update: Some(crate::timefmt::rfc3339_unix(list.this_update)),
        next_update: list.next_update.map(crate::timefmt::rfc3339_unix),
        revoked_at: None,
        reason: None,
        problem: None,
    };
    if let Some((at, reason)) = list.revoked.get(q.serial.as_slice()) {
        // Listed is revoked however old the list: a revocation is never undone
        // (certificateHold aside, which clients refuse while it lasts).
        info.status = "revoked".into();
        info.revoked_at = Some(crate::timefmt::rfc3339_unix(at));
        info.reason = reason.map(reason_name);
        return Ok((info, Some(Finding::CrlRevoked)));
    }
    if list.next_update.is_some_and(|n| n < now) {
        // An outdated list cannot vouch for a certificate it does not list.
        info.status = "unavailable".into();
        info.problem = Some(format!(
            "the list was due to be replaced on {} and the CA still serves it: its silence proves nothing",
            info.next_update.as_deref().unwrap_or("?")
        ));
        return Ok((info, Some(Finding::CrlUnavailable)));
    }
    Ok((info, None))
}

/// What an endpoint whose sweep was stopped while its list was awaited records.
pub fn stopped(q: &Query) -> (RevocationInfo, Option<Finding>) {
    (
        RevocationInfo::unavailable(
            q.crl_urls.first().map(String::as_str),
            "the sweep was stopped while the list was being fetched".into(),
        ),
        Some(Finding::CrlUnavailable),
    )
}

/// Checks the list's signature with the issuer's key, once per key.
fn verified(list: &List, issuer_key: Option<&[u8]>) -> Result<(), String> {
    let Some(der) = issuer_key else {
        return Err(
            "the issuer's certificate is neither in the served chain nor trusted, so the list's signature cannot be checked"
                .into(),
        );
    };
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der)
        .map_err(|e| format!("the issuer's key cannot be read ({e})"))?;
    let spki = &spki;
    let key = key_hash(der);
    let cell = match list.checked.lock() {
        Ok(mut m) => m.entry(key).or_default().clone(),
        Err(_) => Arc::default(),
    };
    // The other endpoints of this list and key wait (on a worker thread, once per list and
    // key) rather than check it again.
    let ok = *cell.get_or_init(|| parts(&list.der).is_ok_and(|p| p.signed_by(spki)));
    match ok {
        true => Ok(()),
        false => Err("the list's signature does not verify with the issuer's key".into()),
    }
}

/// Why a list fetched from `url` cannot say whether a server certificate is revoked, if it
/// cannot (RFC 5280 §5.2.4, §5.2.5): read as complete, such a list would call revoked
/// certificates good.
fn out_of_scope(extensions: &[X509Extension<'_>], url: &str) -> Option<String> {
    use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
    for ext in extensions {
        match ext.parsed_extension() {
            ParsedExtension::IssuingDistributionPoint(idp) => {
                if idp.only_contains_ca_certs {
                    return Some("the list covers only CA certificates".into());
                }
                if idp.only_contains_attribute_certs {
                    return Some("the list covers only attribute certificates".into());
                }
                if idp.only_some_reasons.is_some() {
                    return Some("the list covers only some revocation reasons".into());
                }
                if idp.indirect_crl {
                    return Some(
                        "an indirect list (with other CAs' certificates), which is not read".into(),
                    );
                }
                if let Some(DistributionPointName::FullName(names)) = &idp.distribution_point {
                    let uris: Vec<&str> = names
                        .iter()
                        .filter_map(|n| match n {
                            GeneralName::URI(u) => Some(*u),
                            _ => None,
                        })
                        .collect();
                    if !uris.is_empty() && !uris.contains(&url) {
                        return Some(format!(
                            "the list is the one of another distribution point ({})",
                            uris.join(", ")
                        ));
                    }
                }
            }
            _ if ext.oid.to_id_string() == "2.5.29.27" => {
                return Some("a delta list (the changes since a base list)".into());
            }
            _ if ext.critical
                && !matches!(ext.parsed_extension(), ParsedExtension::CRLNumber(_)) =>
            {
                return Some(format!(
                    "the list has a critical extension certsweep does not know ({})",
                    ext.oid.to_id_string()
                ));
            }
            _ => {}
        }
    }
    None
}

/// RFC 5280's name of a revocation reason code (`keyCompromise`).
fn reason_name(code: u8) -> String {
    crate::model::reason_name(&x509_parser::x509::ReasonCode(code).to_string())
}

/// SHA-256 of an issuer key (SPKI DER): the key of a list's checked signatures.
fn key_hash(spki: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, spki)
        .as_ref()
        .try_into()
        .unwrap_or([0; 32])
}

/// A CRL's parts, its entries left unparsed. x509-parser reads a list whole, every entry a
/// parsed structure (a big integer, a vector of extensions): a list of a million entries (37
/// MB) peaked at 700 MB while it was read. Here the parts around the entries are taken with
/// x509-parser's own parsers and the entries parsed one at a time ([`Parts::entries`]).
struct Parts<'a> {
    /// The tbsCertList as it stands: the signed bytes.
    tbs: &'a [u8],
    signature_algorithm: AlgorithmIdentifier<'a>,
    signature: BitString<'a>,
    issuer: X509Name<'a>,
    this_update: ASN1Time,
    next_update: Option<ASN1Time>,
    /// The revokedCertificates' content: one entry after another.
    revoked: &'a [u8],
    extensions: Vec<X509Extension<'a>>,
}

/// The next element of `i` if it has tag `tag`: the element and what follows it.
fn next_if(i: &[u8], tag: Tag) -> Option<(Any<'_>, &[u8])> {
    let (rest, any) = Any::from_der(i).ok()?;
    (any.tag() == tag).then_some((any, rest))
}

/// Splits a CRL into its [`Parts`] (RFC 5280 §5.1), as x509-parser's reader would read it.
fn parts(der: &[u8]) -> Result<Parts<'_>, String> {
    let bad = |what: &str| format!("not a certificate revocation list ({what})");
    // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
    let (list, _) = next_if(der, Tag::Sequence).ok_or_else(|| bad("no CertificateList"))?;
    let (tbs_list, rest) =
        next_if(list.data, Tag::Sequence).ok_or_else(|| bad("no tbsCertList"))?;
    let tbs = &list.data[..list.data.len() - rest.len()];
    let (rest, signature_algorithm) = AlgorithmIdentifier::from_der(rest)
        .map_err(|e| bad(&format!("signature algorithm: {e}")))?;
    let (_, signature) = BitString::from_der(rest).map_err(|e| bad(&format!("signature: {e}")))?;
    // TBSCertList ::= SEQUENCE { version OPTIONAL, signature, issuer, thisUpdate,
    //   nextUpdate OPTIONAL, revokedCertificates OPTIONAL, crlExtensions [0] OPTIONAL }
    let mut i = tbs_list.data;
    if let Some((_, rest)) = next_if(i, Tag::Integer) {
        i = rest;
    }
    let (rest, _) =
        AlgorithmIdentifier::from_der(i).map_err(|e| bad(&format!("algorithm: {e}")))?;
    let (rest, issuer) = X509Name::from_der(rest).map_err(|e| bad(&format!("issuer: {e}")))?;
    let (mut i, this_update) =
        ASN1Time::from_der(rest).map_err(|e| bad(&format!("thisUpdate: {e}")))?;
    let mut next_update = None;
    if next_if(i, Tag::UtcTime)
        .or_else(|| next_if(i, Tag::GeneralizedTime))
        .is_some()
    {
        let (rest, t) = ASN1Time::from_der(i).map_err(|e| bad(&format!("nextUpdate: {e}")))?;
        next_update = Some(t);
        i = rest;
    }
    let mut revoked: &[u8] = &[];
    if let Some((entries, rest)) = next_if(i, Tag::Sequence) {
        revoked = entries.data;
        i = rest;
    }
    let mut extensions = Vec::new();
    if !i.is_empty() {
        // [0] EXPLICIT Extensions, a SEQUENCE of them.
        let (_, explicit) = Any::from_der(i).map_err(|e| bad(&format!("extensions: {e}")))?;
        let (all, _) = next_if(explicit.data, Tag::Sequence)
            .ok_or_else(|| bad("extensions are no SEQUENCE"))?;
        let mut e = all.data;
        while !e.is_empty() {
            let (rest, ext) =
                X509Extension::from_der(e).map_err(|e| bad(&format!("extension: {e}")))?;
            extensions.push(ext);
            e = rest;
        }
    }
    Ok(Parts {
        tbs,
        signature_algorithm,
        signature,
        issuer,
        this_update,
        next_update,
        revoked,
        extensions,
    })
}

impl Parts<'_> {
    /// Calls `f` with each entry in turn, parsed and then dropped.
    fn entries(&self, mut f: impl FnMut(RevokedCertificate<'_>)) -> Result<(), String> {
        let mut i = self.revoked;
        while !i.is_empty() {
            let (rest, entry) = RevokedCertificate::from_der(i)
                .map_err(|e| format!("not a certificate revocation list (an entry: {e})"))?;
            f(entry);
            i = rest;
        }
        Ok(())
    }

    /// Whether the list's signature verifies with `spki`.
    fn signed_by(&self, spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> bool {
        x509_parser::verify::verify_signature(
            spki,
            &self.signature_algorithm,
            &self.signature,
            self.tbs,
        )
        .is_ok()
    }
}

/// Reads a CRL (DER, or PEM as some CAs serve it) fetched from `url`, and checks its
/// signature with `key` (SPKI DER) in the same reading: a list of a million entries reads
/// in about a second.
fn read(body: Vec<u8>, url: &str, key: Option<&[u8]>) -> Fetched {
    let der = match pem::parse(&body) {
        Ok(p) if p.tag() == "X509 CRL" => p.into_contents(),
        _ => body,
    };
    let mut checked = HashMap::new();
    let (this_update, next_update, issuer_name, revoked, out_of_scope) = {
        let p = parts(&der)?;
        let scope = out_of_scope(&p.extensions, url);
        let mut revoked = Revoked::default();
        p.entries(|r| {
            revoked.push(
                integer_slice(r.raw_serial()),
                r.revocation_date.timestamp(),
                r.reason_code().map(|(_, code)| code.0),
            );
        })?;
        revoked.finish();
        if let (Some(key), None) = (key, &scope) {
            let ok = x509_parser::x509::SubjectPublicKeyInfo::from_der(key)
                .is_ok_and(|(_, spki)| p.signed_by(&spki));
            checked.insert(key_hash(key), Arc::new(std::sync::OnceLock::from(ok)));
        }
        (
            p.this_update.timestamp(),
            p.next_update.map(|t| t.timestamp()),
            p.issuer.as_raw().to_vec(),
            revoked,
            scope,
        )
    };
    Ok(List {
        der,
        issuer_name,
        this_update,
        next_update,
        revoked,
        out_of_scope,
        checked: Mutex::new(checked),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{ChainKind, LeafSpec, Pki};
    use crate::testrng::XorShift;
    use rcgen::RevocationReason as R;

    /// What a list says, reduced to what the oracle predicts.
    #[derive(Debug, PartialEq)]
    enum Said {
        Revoked(String),
        Good,
        Outdated,
        Cannot(&'static str),
    }

    /// `list`, read entry by entry, holds what x509-parser's reading of the whole `der`
    /// gives.
    fn agrees_with_a_whole_reading(list: &List, der: &[u8], url: &str) {
        use x509_parser::revocation_list::CertificateRevocationList;
        let (_, crl) = CertificateRevocationList::from_der(der).unwrap();
        // Every entry is found with what it says, and nothing else is listed.
        let mut entries = std::collections::HashSet::new();
        for r in crl.iter_revoked_certificates() {
            entries.insert(integer_slice(r.raw_serial()).to_vec());
            assert_eq!(
                list.revoked.get(integer_slice(r.raw_serial())),
                Some((
                    r.revocation_date.timestamp(),
                    r.reason_code().map(|(_, c)| c.0)
                ))
            );
        }
        // A serial listed twice (as a CA may, when it revokes again) is one entry.
        assert_eq!(list.revoked.len(), entries.len());
        assert_eq!(list.issuer_name, crl.issuer().as_raw());
        assert_eq!(list.this_update, crl.last_update().timestamp());
        assert_eq!(list.next_update, crl.next_update().map(|t| t.timestamp()));
        assert_eq!(list.out_of_scope, out_of_scope(crl.extensions(), url));
        let p = parts(der).unwrap();
        assert_eq!(p.tbs, crl.tbs_cert_list.as_ref());
    }

    #[test]
    fn serials_of_any_length_are_found_and_a_serial_listed_twice_says_its_last_entry() {
        let mut r = Revoked::default();
        let long: Vec<u8> = (1..=24).collect();
        let listed: [(&[u8], i64, Option<u8>); 6] = [
            (&[0x05], 1, Some(1)),
            (&[0x05, 0x00], 2, None),
            (&[0x04, 0xff], 3, Some(4)),
            (&long, 4, Some(5)),
            (&[0x05], 5, Some(3)),
            (&[0x01; 20], 6, None),
        ];
        for (serial, at, reason) in listed {
            r.push(serial, at, reason);
        }
        r.finish();
        assert_eq!(r.len(), 5);
        assert_eq!(r.get(&[0x05]), Some((5, Some(3))));
        assert_eq!(r.get(&[0x05, 0x00]), Some((2, None)));
        assert_eq!(r.get(&[0x04, 0xff]), Some((3, Some(4))));
        assert_eq!(r.get(&long), Some((4, Some(5))));
        assert_eq!(r.get(&[0x01; 20]), Some((6, None)));
        for absent in [&[0x04][..], &[0x05, 0x01], &long[..23], &[]] {
            assert_eq!(r.get(absent), None, "{absent:02x?}");
        }
    }

    #[test]
    fn lists_without_a_version_a_next_update_or_entries_read_as_a_whole_reading_does() {
        let pki = Pki::new("Shapes").unwrap();
        let now = crate::timefmt::now_unix();
        let serial = [0x42u8];
        let der = pki
            .crl_with(
                &[(&serial, R::KeyCompromise)],
                now - 60,
                now + 3600,
                false,
                None,
            )
            .unwrap();
        // The tbsCertList's elements: version, signature, issuer, thisUpdate, nextUpdate,
        // revokedCertificates, [0] extensions.
        let p = parts(&der).unwrap();
        let (_, tbs) = Any::from_der(p.tbs).unwrap();
        let mut elements = Vec::new();
        let mut i = tbs.data;
        while !i.is_empty() {
            let (rest, _) = Any::from_der(i).unwrap();
            elements.push(&i[..i.len() - rest.len()]);
            i = rest;
        }
        assert_eq!(elements.len(), 7);
        let (_, outer) = Any::from_der(&der).unwrap();
        let after_tbs = &outer.data[p.tbs.len()..];
        // Dropping elements (the signature no longer verifies; the reading is compared).
        for (what, drop) in [
            ("a version 1 list", vec![0]),
            ("no nextUpdate", vec![4]),
            ("no entries", vec![5]),
            ("no entries nor extensions", vec![5, 6]),
            ("version 1, nothing optional", vec![0, 4, 5, 6]),
        ] {
            let kept: Vec<u8> = elements
                .iter()
                .enumerate()
                .filter(|(n, _)| !drop.contains(n))
                .flat_map(|(_, e)| e.iter().copied())
                .collect();
            let mut body = crate::trust::der_tlv(0x30, &kept);
            body.extend_from_slice(after_tbs);
            let shaped = crate::trust::der_tlv(0x30, &body);
            let list = read(shaped.clone(), "http://crl.test/x.crl", None)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            agrees_with_a_whole_reading(&list, &shaped, "http://crl.test/x.crl");
            assert_eq!(
                list.revoked.len(),
                usize::from(!drop.contains(&5)),
                "{what}"
            );
        }
        // Cut anywhere: an error, never a panic or a partial list taken as whole.
        for cut in 1..der.len() {
            assert!(read(der[..cut].to_vec(), "http://crl.test/x.crl", None).is_err());
        }
    }

    #[test]
    fn generated_lists_say_what_their_contents_and_scope_allow() {
        let pki = Pki::new("Gen").unwrap();
        let other = Pki::new("Other").unwrap();
        let now = crate::timefmt::now_unix();
        let day = 86_400;
        let reasons = [
            (R::KeyCompromise, "keyCompromise"),
            (R::Superseded, "superseded"),
            (R::CessationOfOperation, "cessationOfOperation"),
            (R::AffiliationChanged, "affiliationChanged"),
            (R::CaCompromise, "cACompromise"),
        ];
        for seed in 1..=300u64 {
            let mut rng = XorShift::new(seed);
            // Serials of every length up to 20 bytes, half with the high bit set (a
            // leading zero byte in DER).
            let serial_of = |rng: &mut XorShift| -> Vec<u8> {
                let len = 1 + rng.below(16) as usize;
                let mut b: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
                b[0] = match rng.below(2) {
                    0 => 1 + (b[0] % 0x7f),
                    _ => 0x80 | b[0],
                };
                b
            };
            let serial = serial_of(&mut rng);
            let url = format!("http://crl.test/{}.crl", rng.below(3));
            let served_issuer = rng.below(6) != 0;
            let chain = if served_issuer {
                ChainKind::Full
            } else {
                ChainKind::LeafOnly
            };
            let mut spec = LeafSpec::new(&["a.test"], 1, 10, 80)
                .with_chain(chain)
                .with_crl(&url);
            spec.serial = serial.clone();
            let leaf = pki.issue(&spec).unwrap();
            let listed = rng.below(3) == 0;
            let (reason, reason_name) = reasons[rng.below(reasons.len() as u64) as usize];
            let others: Vec<Vec<u8>> = (0..rng.below(20))
                .map(|_| serial_of(&mut rng))
                .filter(|s| *s != serial)
                .collect();
            let mut entries: Vec<(&[u8], R)> = others
                .iter()
                .map(|s| (s.as_slice(), R::Superseded))
                .collect();
            if listed {
                let at = rng.below(entries.len() as u64 + 1) as usize;
                entries.insert(at, (serial.as_slice(), reason));
            }
            let outdated = rng.below(4) == 0;
            let (this_update, next_update) = match outdated {
                true => (now - 9 * day, now - day),
                false => (now - 3600, now + 7 * day),
            };
            // 0: no scope; 1: user certificates, this URL; 2: CA certificates only;
            // 3: another partition's URL; 4: this partition, any certificates.
            let scope = rng.below(5);
            let idp = match scope {
                0 => None,
                _ => Some(rcgen::CrlIssuingDistributionPoint {
                    distribution_point: rcgen::CrlDistributionPoint {
                        uris: vec![match scope {
                            3 => format!("{url}.other"),
                            _ => url.clone(),
                        }],
                    },
                    scope: match scope {
                        1 => Some(rcgen::CrlScope::UserCertsOnly),
                        2 => Some(rcgen::CrlScope::CaCertsOnly),
                        _ => None,
                    },
                }),
            };
            // 0-3: the issuer's own list; 4: forged (another key under its name); 5:
            // another CA's.
            let signer = rng.below(6);
            let der = match signer {
                5 => other.crl_with(&entries, this_update, next_update, false, idp),
                4 => pki.crl_with(&entries, this_update, next_update, true, idp),
                _ => pki.crl_with(&entries, this_update, next_update, false, idp),
            }
            .unwrap();
            let q = Query::of(&leaf.chain, |_| None).unwrap();
            let list = read(der.clone(), &url, q.issuer_key.as_deref()).unwrap();
            agrees_with_a_whole_reading(&list, &der, &url);
            let said = match judge(&list, &q, &url, now) {
                Ok((info, Some(Finding::CrlRevoked))) => {
                    assert_eq!(info.status, "revoked");
                    Said::Revoked(info.reason.unwrap_or_default())
                }
                Ok((info, None)) => {
                    assert_eq!(info.status, "good");
                    Said::Good
                }
                Ok((info, Some(Finding::CrlUnavailable))) => {
                    assert!(info.problem.unwrap_or_default().contains("silence"));
                    Said::Outdated
                }
                Ok((_, Some(f))) => panic!("seed {seed}: {f:?}"),
                Err(e) if e.contains("only CA certificates") => Said::Cannot("scope"),
                Err(e) if e.contains("another distribution point") => Said::Cannot("scope"),
                Err(e) if e.contains("another CA") => Said::Cannot("other CA"),
                Err(e) if e.contains("neither in the served chain") => Said::Cannot("no key"),
                Err(e) if e.contains("does not verify") => Said::Cannot("forged"),
                Err(e) => panic!("seed {seed}: {e}"),
            };
            let expected = if scope == 2 || scope == 3 {
                Said::Cannot("scope")
            } else if signer == 5 {
                Said::Cannot("other CA")
            } else if !served_issuer {
                Said::Cannot("no key")
            } else if signer == 4 {
                Said::Cannot("forged")
            } else if listed {
                Said::Revoked(reason_name.to_string())
            } else if outdated {
                Said::Outdated
            } else {
                Said::Good
            };
            assert_eq!(
                said, expected,
                "seed {seed}: serial {serial:02x?}, scope {scope}, signer {signer}"
            );
        }
    }

    #[test]
    fn mutated_lists_are_read_or_refused_without_panicking() {
        // A list comes from the network: whatever its bytes, the entry-by-entry reader says
        // what it holds or why it cannot, and never panics (nor do its lookups).
        let pki = Pki::new("Mutated").unwrap();
        let now = crate::timefmt::now_unix();
        let (a, b): (&[u8], &[u8]) = (&[1, 2, 3], &[0x80, 9, 9, 9, 9]);
        let seeds = [
            pki.crl(
                &[(a, R::KeyCompromise), (b, R::Superseded)],
                now - 10,
                now + 999,
                false,
            )
            .unwrap(),
            pki.crl(&[], now - 10, now + 999, false).unwrap(),
        ];
        let key = x509_parser::parse_x509_certificate(&pki.intermediate.cert)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec();
        for seed in 1..=5_000u64 {
            let mut rng = XorShift::new(seed);
            let mut v = seeds[rng.below(2) as usize].clone();
            for _ in 0..1 + rng.below(4) {
                let len = v.len() as u64;
                if len == 0 {
                    break;
                }
                let i = rng.below(len) as usize;
                match rng.below(4) {
                    0 => v[i] ^= 1 << rng.below(8),
                    1 => v[i] = rng.below(256) as u8,
                    2 => v.truncate(i.max(1)),
                    _ => {
                        let j = (i + rng.below(8) as usize).min(v.len());
                        v.drain(i..j);
                    }
                }
            }
            let read_it = std::panic::catch_unwind(|| {
                if let Ok(list) = read(v.clone(), "http://crl.test/a.crl", Some(&key)) {
                    let _ = list.revoked.get(a);
                }
            });
            assert!(read_it.is_ok(), "round {seed} panicked on {v:02x?}");
        }
    }
}
