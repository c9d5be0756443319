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
    /// Why the list cannot speak for a server certificate, if it cannot: it covers only CA
    /// certificates or some reasons, it is an indirect list, or it has a critical extension
    /// not known here (RFC 5280 §5.2.5).
    out_of_scope: Option<String>,
    /// Its CRL number (the integer's bytes, no leading zeros), when it carries one.
    crl_number: Option<Vec<u8>>,
    /// For a delta list, the number of the base list it builds on (its delta CRL
    /// indicator, RFC 5280 §5.2.4).
    delta_of: Option<Vec<u8>>,
    /// Where its delta lists are published (its Freshest CRL extension, §5.2.6), whatever
    /// the scheme.
    delta_urls: Vec<String>,
    /// The URIs its issuing distribution point names: a list fetched from another URL is
    /// another partition's.
    idp_urls: Vec<String>,
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
                Ok(list) => judge(list, q, url, now).map(|answer| (answer, list)),
                Err(e) => Err(e.clone()),
            };
            match said {
                Ok((answer, list)) => return self.with_delta(answer, list, url, q, now).await,
                Err(e) => why.push(format!("{url}: {e}")),
            }
        }
        let first = q.crl_urls.first().map(String::as_str);
        unavailable(first, why.join("; "))
    }

    /// The base list's `answer` completed by its delta list, when the certificate or the
    /// list names one (Freshest CRL, RFC 5280 §5.2.6): a CA that publishes deltas (AD CS
    /// does by default, daily beside a weekly base list) lists a revocation there first, so
    /// the base list alone would call the certificate good for days after it. An `http://`
    /// delta that cannot be used (not downloaded, another CA's, built on a later base list
    /// than the one served) makes the answer unavailable, as it leaves clients that check
    /// revocation without one; a delta only where certsweep does not fetch (`ldap://`)
    /// leaves the base list's answer, saying what is not seen.
    async fn with_delta(
        &self,
        answer: (RevocationInfo, Option<Finding>),
        base: &List,
        base_url: &str,
        q: &Query,
        now: i64,
    ) -> (RevocationInfo, Option<Finding>) {
        let mut urls: Vec<&str> = Vec::new();
        for u in q.delta_urls.iter().chain(&base.delta_urls) {
            if !urls.contains(&u.as_str()) {
                urls.push(u);
            }
        }
        if urls.is_empty() || revoked_for_good(&answer.0) {
            return answer;
        }
        let http: Vec<&str> = urls
            .iter()
            .copied()
            .filter(|u| u.starts_with("http://"))
            .collect();
        if http.is_empty() {
            return settle(
                answer,
                DeltaOutcome::NotFetched(urls),
                base.next_update,
                now,
            );
        }
        let mut why = Vec::new();
        for url in http {
            let fetched = self.fetched(url, q.issuer_key.clone()).await;
            let said = match fetched.as_ref() {
                Ok(delta) => delta_says(delta, base, q, (url, base_url), now)
                    .map(|says| (says, delta.this_update)),
                Err(e) => Err(e.clone()),
            };
            match said {
                Ok((says, issued)) => {
                    let used = DeltaOutcome::Used { says, url, issued };
                    return settle(answer, used, base.next_update, now);
                }
                Err(e) => why.push(format!("{url}: {e}")),
            }
        }
        settle(answer, DeltaOutcome::Unusable(why), base.next_update, now)
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
                Ok(Ok(body)) => tokio::task::spawn_blocking(move || read(body, key.as_deref()))
                    .await
                    .unwrap_or_else(|e| Err(format!("reading the list failed ({e})"))),
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
    if list.delta_of.is_some() {
        return Err("a delta list (the changes since a base list)".into());
    }
    partition_error(&list.idp_urls, &[url])?;
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
        delta_url: None,
        delta_this_update: None,
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

/// What a delta list adds to its base list about one certificate (RFC 5280 §5.2.4).
#[derive(Debug, Clone, PartialEq)]
enum DeltaSays {
    /// Revoked since the base list: when, and the reason code.
    Revoked(i64, Option<u8>),
    /// Taken off hold (removeFromCRL): a certificateHold of the base list is over.
    Unheld,
    /// Not listed, in a current delta list: the base list's word stands, now.
    Silent,
    /// Not listed, and the delta list is past its nextUpdate: nothing is proven since the
    /// base list.
    Outdated,
    /// The base list read is as recent as the delta list (its CRL number is not lower), so
    /// the delta adds nothing.
    Older,
}

/// Orders two CRL numbers (integer bytes without leading zeros).
fn number_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    (a.len(), a).cmp(&(b.len(), b))
}

/// What `delta`, read from `delta_url` for `base` (read from `base_url`), says of the
/// query's certificate at `now`; `Err` says why it cannot be used with that base.
fn delta_says(
    delta: &List,
    base: &List,
    q: &Query,
    (delta_url, base_url): (&str, &str),
    now: i64,
) -> Result<DeltaSays, String> {
    if let Some(why_not) = &delta.out_of_scope {
        return Err(why_not.clone());
    }
    let Some(builds_on) = &delta.delta_of else {
        return Err("it is no delta list (it carries no delta CRL indicator)".into());
    };
    // A delta's issuing distribution point may name itself or the base list it completes.
    partition_error(&delta.idp_urls, &[delta_url, base_url])?;
    if delta.issuer_name != q.issuer_name {
        return Err("it is issued by another CA than the certificate".into());
    }
    verified(delta, q.issuer_key.as_deref())?;
    let Some(number) = &base.crl_number else {
        return Err(format!(
            "the base list ({base_url}) carries no CRL number, so no delta list can be matched to it"
        ));
    };
    if number_cmp(builds_on, number).is_gt() {
        return Err(format!(
            "it builds on base list number {} and the base list served at {base_url} is number {}: the CA has published a later base list than the one served there",
            number_text(builds_on),
            number_text(number)
        ));
    }
    if delta
        .crl_number
        .as_deref()
        .is_some_and(|d| number_cmp(d, number).is_le())
    {
        return Ok(DeltaSays::Older);
    }
    Ok(match delta.revoked.get(q.serial.as_slice()) {
        Some((_, Some(REMOVE_FROM_CRL))) => DeltaSays::Unheld,
        Some((at, reason)) => DeltaSays::Revoked(at, reason),
        None if delta.next_update.is_some_and(|n| n < now) => DeltaSays::Outdated,
        None => DeltaSays::Silent,
    })
}

/// The reason code of an entry a delta list lifts a hold with (RFC 5280 §5.3.1).
const REMOVE_FROM_CRL: u8 = 8;
/// The reason code of a hold, which a later list may lift.
const CERTIFICATE_HOLD: u8 = 6;

/// A CRL number in decimal.
fn number_text(n: &[u8]) -> String {
    num_bigint::BigUint::from_bytes_be(n).to_string()
}

/// Whether a list's answer is a revocation no later list undoes (any but a hold).
fn revoked_for_good(info: &RevocationInfo) -> bool {
    info.status == "revoked" && info.reason.as_deref() != Some(&reason_name(CERTIFICATE_HOLD))
}

/// What came of looking for a certificate's delta list ([`CrlCheck::with_delta`]).
#[derive(Debug, Clone, PartialEq)]
enum DeltaOutcome<'a> {
    /// One was read from `url`, issued at `issued` (Unix seconds), and says `says`.
    Used {
        says: DeltaSays,
        url: &'a str,
        issued: i64,
    },
    /// The `http://` ones could not be used, each with why.
    Unusable(Vec<String>),
    /// They are only where certsweep does not fetch (`ldap://`).
    NotFetched(Vec<&'a str>),
}

/// The base list's answer `(info, finding)` completed by what came of its delta list;
/// `base_next_update` is the base list's, which a lifted hold leaves to vouch for the
/// certificate.
fn settle(
    (mut info, mut finding): (RevocationInfo, Option<Finding>),
    outcome: DeltaOutcome<'_>,
    base_next_update: Option<i64>,
    now: i64,
) -> (RevocationInfo, Option<Finding>) {
    if revoked_for_good(&info) {
        // A revocation is never undone; the base list's stands.
        return (info, finding);
    }
    let held = info.status == "revoked";
    let unseen = |why: String, info: &RevocationInfo| {
        format!(
            "the list names a delta list, {why}: a revocation since its thisUpdate ({}) is not seen",
            info.this_update.as_deref().unwrap_or("?")
        )
    };
    let (says, delta_url, issued) = match outcome {
        DeltaOutcome::Used { says, url, issued } => (says, url, issued),
        DeltaOutcome::NotFetched(urls) => {
            info.problem = Some(unseen(
                format!("only where certsweep does not fetch ({})", urls.join(", ")),
                &info,
            ));
            return (info, finding);
        }
        DeltaOutcome::Unusable(why) => {
            // Clients that check revocation fetch the delta too (Windows does), and one
            // they cannot use leaves them without an answer, as it leaves certsweep; a
            // hold of the base list stands.
            info.problem = Some(unseen(
                format!("which could not be used ({})", why.join("; ")),
                &info,
            ));
            if held {
                return (info, finding);
            }
            info.status = "unavailable".into();
            return (info, Some(Finding::CrlUnavailable));
        }
    };
    info.delta_url = Some(delta_url.to_string());
    info.delta_this_update = Some(crate::timefmt::rfc3339_unix(issued));
    match says {
        DeltaSays::Revoked(at, reason) => {
            info.status = "revoked".into();
            info.revoked_at = Some(crate::timefmt::rfc3339_unix(at));
            info.reason = reason.map(reason_name);
            info.problem = None;
            finding = Some(Finding::CrlRevoked);
        }
        DeltaSays::Unheld if held => {
            info.revoked_at = None;
            info.reason = None;
            if base_next_update.is_some_and(|n| n < now) {
                info.status = "unavailable".into();
                info.problem = Some(format!(
                    "the delta list takes the certificate off hold, but the base list was due to be replaced on {} and the CA still serves it: its silence proves nothing",
                    info.next_update.as_deref().unwrap_or("?")
                ));
                finding = Some(Finding::CrlUnavailable);
            } else {
                info.status = "good".into();
                finding = None;
            }
        }
        DeltaSays::Outdated if info.status == "good" => {
            info.status = "unavailable".into();
            info.problem = Some(format!(
                "the delta list ({delta_url}) is past its nextUpdate and the CA still serves it: nothing proves the certificate was not revoked since the base list's thisUpdate ({})",
                info.this_update.as_deref().unwrap_or("?")
            ));
            finding = Some(Finding::CrlUnavailable);
        }
        DeltaSays::Unheld | DeltaSays::Outdated | DeltaSays::Silent | DeltaSays::Older => {}
    }
    (info, finding)
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

/// What a list's extensions say of what it can speak for and how it links to others.
#[derive(Debug, Default, PartialEq)]
struct Scope {
    /// Why it cannot say whether a server certificate is revoked, if it cannot (RFC 5280
    /// §5.2.5): read as complete, such a list would call revoked certificates good.
    out_of_scope: Option<String>,
    crl_number: Option<Vec<u8>>,
    delta_of: Option<Vec<u8>>,
    delta_urls: Vec<String>,
    idp_urls: Vec<String>,
}

/// The integer an extension's value holds (CRLNumber, BaseCRLNumber), as its bytes
/// without leading zeros.
fn integer_value(value: &[u8]) -> Option<Vec<u8>> {
    let (_, any) = Any::from_der(value).ok()?;
    (any.tag() == Tag::Integer).then(|| integer_slice(any.data).to_vec())
}

/// The URIs of a CRLDistributionPoints value (a Freshest CRL extension's too).
pub(crate) fn distribution_point_urls(value: &[u8]) -> Vec<String> {
    use x509_parser::extensions::{CRLDistributionPoints, DistributionPointName, GeneralName};
    let Ok((_, points)) = CRLDistributionPoints::from_der(value) else {
        return Vec::new();
    };
    points
        .iter()
        .filter_map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => Some(names),
            _ => None,
        })
        .flatten()
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some(crate::model::visible_string(u.to_string())),
            _ => None,
        })
        .collect()
}

/// Reads a list's extensions ([`Scope`]).
fn scope_of(extensions: &[X509Extension<'_>]) -> Scope {
    use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
    let mut scope = Scope::default();
    let refuse = |scope: &mut Scope, why: String| {
        scope.out_of_scope.get_or_insert(why);
    };
    for ext in extensions {
        match ext.oid.to_id_string().as_str() {
            "2.5.29.20" => scope.crl_number = integer_value(ext.value),
            "2.5.29.27" => match integer_value(ext.value) {
                Some(base) => scope.delta_of = Some(base),
                None => refuse(&mut scope, "its delta CRL indicator cannot be read".into()),
            },
            "2.5.29.46" => scope.delta_urls.extend(distribution_point_urls(ext.value)),
            _ => match ext.parsed_extension() {
                ParsedExtension::IssuingDistributionPoint(idp) => {
                    if idp.only_contains_ca_certs {
                        refuse(&mut scope, "the list covers only CA certificates".into());
                    }
                    if idp.only_contains_attribute_certs {
                        refuse(
                            &mut scope,
                            "the list covers only attribute certificates".into(),
                        );
                    }
                    if idp.only_some_reasons.is_some() {
                        refuse(
                            &mut scope,
                            "the list covers only some revocation reasons".into(),
                        );
                    }
                    if idp.indirect_crl {
                        refuse(
                            &mut scope,
                            "an indirect list (with other CAs' certificates), which is not read"
                                .into(),
                        );
                    }
                    if let Some(DistributionPointName::FullName(names)) = &idp.distribution_point {
                        scope.idp_urls.extend(names.iter().filter_map(|n| match n {
                            GeneralName::URI(u) => Some(u.to_string()),
                            _ => None,
                        }));
                    }
                }
                _ if ext.critical => refuse(
                    &mut scope,
                    format!(
                        "the list has a critical extension certsweep does not know ({})",
                        ext.oid.to_id_string()
                    ),
                ),
                _ => {}
            },
        }
    }
    scope
}

/// Whether a list whose issuing distribution point names `idp_urls` may be read from one of
/// `urls`: a list of another partition would call its own partition's revoked
/// certificates good (Let's Encrypt shards its lists, each valid for its own URL).
fn partition_error(idp_urls: &[String], urls: &[&str]) -> Result<(), String> {
    if idp_urls.is_empty() || idp_urls.iter().any(|u| urls.contains(&u.as_str())) {
        return Ok(());
    }
    Err(format!(
        "the list is the one of another distribution point ({})",
        idp_urls.join(", ")
    ))
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

/// Reads a CRL (DER, or PEM as some CAs serve it), and checks its
/// signature with `key` (SPKI DER) in the same reading: a list of a million entries reads
/// in about a second.
fn read(body: Vec<u8>, key: Option<&[u8]>) -> Fetched {
    let der = match pem::parse(&body) {
        Ok(p) if p.tag() == "X509 CRL" => p.into_contents(),
        _ => body,
    };
    let mut checked = HashMap::new();
    let (this_update, next_update, issuer_name, revoked, scope) = {
        let p = parts(&der)?;
        let scope = scope_of(&p.extensions);
        let mut revoked = Revoked::default();
        p.entries(|r| {
            revoked.push(
                integer_slice(r.raw_serial()),
                r.revocation_date.timestamp(),
                r.reason_code().map(|(_, code)| code.0),
            );
        })?;
        revoked.finish();
        if let (Some(key), None) = (key, &scope.out_of_scope) {
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
        out_of_scope: scope.out_of_scope,
        crl_number: scope.crl_number,
        delta_of: scope.delta_of,
        delta_urls: scope.delta_urls,
        idp_urls: scope.idp_urls,
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
    fn agrees_with_a_whole_reading(list: &List, der: &[u8]) {
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
        let scope = scope_of(crl.extensions());
        assert_eq!(list.out_of_scope, scope.out_of_scope);
        assert_eq!(
            (
                &list.crl_number,
                &list.delta_of,
                &list.delta_urls,
                &list.idp_urls
            ),
            (
                &scope.crl_number,
                &scope.delta_of,
                &scope.delta_urls,
                &scope.idp_urls
            )
        );
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
            let list = read(shaped.clone(), None).unwrap_or_else(|e| panic!("{what}: {e}"));
            agrees_with_a_whole_reading(&list, &shaped);
            assert_eq!(
                list.revoked.len(),
                usize::from(!drop.contains(&5)),
                "{what}"
            );
        }
        // Cut anywhere: an error, never a panic or a partial list taken as whole.
        for cut in 1..der.len() {
            assert!(read(der[..cut].to_vec(), None).is_err());
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
            let list = read(der.clone(), q.issuer_key.as_deref()).unwrap();
            agrees_with_a_whole_reading(&list, &der);
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
    fn of_two_served_cas_of_one_name_the_one_that_issued_the_leaf_checks_its_lists() {
        // An AD CS CA renewed with a new key keeps its name; a server may send the old copy
        // beside the new one. The list (and a staple) is signed with the new key.
        let old = Pki::new("Renewed CA").unwrap();
        let new = Pki::new("Renewed CA").unwrap();
        let name = |c: &[u8]| {
            x509_parser::parse_x509_certificate(c)
                .unwrap()
                .1
                .subject()
                .as_raw()
                .to_vec()
        };
        assert_eq!(name(&old.intermediate.cert), name(&new.intermediate.cert));
        let url = "http://crl.test/renewed.crl";
        let leaf = new
            .issue(&LeafSpec::new(&["r.test"], 0x33, 10, 80).with_crl(url))
            .unwrap();
        let now = crate::timefmt::now_unix();
        let list = new
            .crl(
                &[(&leaf_serial(&leaf), R::KeyCompromise)],
                now - 60,
                now + 3600,
                false,
            )
            .unwrap();
        for chain in [
            vec![
                leaf.chain[0].clone(),
                old.intermediate.cert.clone(),
                new.intermediate.cert.clone(),
            ],
            vec![
                leaf.chain[0].clone(),
                new.intermediate.cert.clone(),
                old.intermediate.cert.clone(),
            ],
        ] {
            let q = Query::of(&chain, |_| None).unwrap();
            let read = read(list.clone(), q.issuer_key.as_deref()).unwrap();
            let (info, finding) = judge(&read, &q, url, now).unwrap();
            assert_eq!(
                (info.status.as_str(), finding),
                ("revoked", Some(Finding::CrlRevoked))
            );
            let staple = new
                .staple(&leaf, crate::fleet::StapleSays::Good, now - 60, now + 3600)
                .unwrap();
            let facts = crate::cert::cert_info(&chain[0]).unwrap();
            let (got, findings) = crate::ocsp::judge(&staple, &chain, &facts, now);
            assert!(findings.is_empty(), "{findings:?}");
            assert!(got.is_some_and(|g| g.verified));
        }
    }

    #[test]
    fn of_two_trusted_cas_of_one_name_the_one_that_issued_the_leaf_checks_its_lists() {
        // The CA file holds an AD CS CA's old and renewed copies (one name, two keys); the
        // server sends no intermediate. The renewed key signed the leaf, its list and its
        // staple.
        let old = Pki::new("Renewed trusted CA").unwrap();
        let new = Pki::new("Renewed trusted CA").unwrap();
        let url = "http://crl.test/renewed.crl";
        let leaf = new
            .issue(&LeafSpec::new(&["t.test"], 0x34, 10, 80).with_crl(url))
            .unwrap();
        let alone = &leaf.chain[..1];
        let now = crate::timefmt::now_unix();
        let list = new
            .crl(
                &[(&leaf_serial(&leaf), R::Superseded)],
                now - 60,
                now + 3600,
                false,
            )
            .unwrap();
        let staple = new
            .staple(&leaf, crate::fleet::StapleSays::Good, now - 60, now + 3600)
            .unwrap();
        let facts = crate::cert::cert_info(&alone[0]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem = |c: &[u8]| ::pem::encode(&::pem::Pem::new("CERTIFICATE", c.to_vec()));
        for (i, order) in [[&old, &new], [&new, &old]].iter().enumerate() {
            let file = dir.path().join(format!("ca{i}.pem"));
            let text: String = order.iter().map(|p| pem(&p.intermediate.cert)).collect();
            std::fs::write(&file, text).unwrap();
            let trust = crate::trust::TrustJudge::new(&[&file], false, true, None).unwrap();
            let q = Query::of(alone, |l| trust.trusted_issuer_key(l)).unwrap();
            let read = read(list.clone(), q.issuer_key.as_deref()).unwrap();
            let (info, finding) = judge(&read, &q, url, now).unwrap();
            assert_eq!(
                (info.status.as_str(), finding),
                ("revoked", Some(Finding::CrlRevoked))
            );
            let trusted =
                |l: &x509_parser::prelude::X509Certificate<'_>| trust.trusted_issuer_key(l);
            let (got, findings) =
                crate::ocsp::StapleJudge::default().judge(&staple, alone, &facts, (now, &trusted));
            assert!(findings.is_empty(), "{findings:?}");
            assert!(got.is_some_and(|g| g.verified));
        }
    }

    fn leaf_serial(leaf: &crate::fleet::Leaf) -> Vec<u8> {
        integer_slice(
            x509_parser::parse_x509_certificate(&leaf.chain[0])
                .unwrap()
                .1
                .raw_serial(),
        )
        .to_vec()
    }

    /// A base list and a delta list of `pki`'s intermediate for the tests below.
    fn built(pki: &Pki, spec: &crate::fleet::CrlSpec<'_>) -> List {
        let der = pki.crl_built(spec).unwrap();
        let list = read(der.clone(), None).unwrap();
        agrees_with_a_whole_reading(&list, &der);
        list
    }

    #[test]
    fn a_delta_list_tells_what_was_revoked_since_its_base_list() {
        use crate::fleet::CrlSpec;
        let pki = Pki::new("Delta").unwrap();
        let now = crate::timefmt::now_unix();
        let (base_url, delta_url) = ("http://crl.test/ca.crl", "http://crl.test/ca+.crl");
        let serial = [0x8a, 0x42];
        let mut spec = LeafSpec::new(&["a.test"], 1, 10, 80).with_crl(base_url);
        spec.serial = serial.to_vec();
        let leaf_with_delta = pki.issue(&spec.clone().with_delta_crl(delta_url)).unwrap();
        let leaf = pki.issue(&spec).unwrap();
        let q = Query::of(&leaf.chain, |_| None).unwrap();
        // The delta's location comes from the leaf's Freshest CRL, or the base list's.
        assert!(q.delta_urls.is_empty());
        let q_delta = Query::of(&leaf_with_delta.chain, |_| None).unwrap();
        assert_eq!(q_delta.delta_urls, [delta_url]);
        let base = built(
            &pki,
            &CrlSpec {
                this_update: now - 86_400,
                next_update: now + 6 * 86_400,
                crl_number: Some(10),
                freshest: vec![delta_url.into()],
                ..CrlSpec::default()
            },
        );
        assert_eq!(base.delta_urls, [delta_url]);
        assert_eq!(base.crl_number.as_deref(), Some(&[10u8][..]));
        let answer = judge(&base, &q, base_url, now).unwrap();
        assert_eq!(answer.0.status, "good");
        // Revoked yesterday for key compromise: only the delta says so.
        let listed = [(&serial[..], 1u8)];
        let delta = built(
            &pki,
            &CrlSpec {
                revoked: &listed,
                this_update: now - 3600,
                next_update: now + 86_400,
                crl_number: Some(11),
                delta_of: Some(10),
                ..CrlSpec::default()
            },
        );
        assert_eq!(delta.delta_of.as_deref(), Some(&[10u8][..]));
        // Read as a base list, a delta is refused.
        assert!(judge(&delta, &q, delta_url, now)
            .unwrap_err()
            .contains("a delta list"));
        let says = delta_says(&delta, &base, &q, (delta_url, base_url), now).unwrap();
        assert_eq!(says, DeltaSays::Revoked(now - 7200, Some(1)));
        let used = DeltaOutcome::Used {
            says,
            url: delta_url,
            issued: delta.this_update,
        };
        let (info, finding) = settle(answer.clone(), used, base.next_update, now);
        assert_eq!(finding, Some(Finding::CrlRevoked));
        assert_eq!(info.status, "revoked");
        assert_eq!(info.reason.as_deref(), Some("keyCompromise"));
        assert_eq!(info.url.as_deref(), Some(base_url));
        assert_eq!(info.delta_url.as_deref(), Some(delta_url));
        // A delta built on a later base list than the one served: not combined.
        let ahead = built(
            &pki,
            &CrlSpec {
                revoked: &listed,
                this_update: now - 3600,
                next_update: now + 86_400,
                crl_number: Some(13),
                delta_of: Some(12),
                ..CrlSpec::default()
            },
        );
        let e = delta_says(&ahead, &base, &q, (delta_url, base_url), now).unwrap_err();
        assert!(
            e.contains("builds on base list number 12") && e.contains("is number 10"),
            "{e}"
        );
        // A base list without a number cannot be matched with any delta.
        let unnumbered = built(
            &pki,
            &CrlSpec {
                this_update: now - 86_400,
                next_update: now + 6 * 86_400,
                ..CrlSpec::default()
            },
        );
        let e = delta_says(&delta, &unnumbered, &q, (delta_url, base_url), now).unwrap_err();
        assert!(e.contains("carries no CRL number"), "{e}");
        // A hold in the base list lifted by the delta (removeFromCRL): good again.
        let held = [(&serial[..], CERTIFICATE_HOLD)];
        let base_held = built(
            &pki,
            &CrlSpec {
                revoked: &held,
                this_update: now - 86_400,
                next_update: now + 6 * 86_400,
                crl_number: Some(10),
                ..CrlSpec::default()
            },
        );
        let answer = judge(&base_held, &q, base_url, now).unwrap();
        assert_eq!(answer.0.reason.as_deref(), Some("certificateHold"));
        let lifted = [(&serial[..], REMOVE_FROM_CRL)];
        let unhold = built(
            &pki,
            &CrlSpec {
                revoked: &lifted,
                this_update: now - 3600,
                next_update: now + 86_400,
                crl_number: Some(11),
                delta_of: Some(10),
                ..CrlSpec::default()
            },
        );
        let says = delta_says(&unhold, &base_held, &q, (delta_url, base_url), now).unwrap();
        assert_eq!(says, DeltaSays::Unheld);
        let used = DeltaOutcome::Used {
            says,
            url: delta_url,
            issued: unhold.this_update,
        };
        let (info, finding) = settle(answer.clone(), used, base_held.next_update, now);
        assert_eq!((info.status.as_str(), finding), ("good", None));
        assert_eq!(info.revoked_at, None);
        // A delta that cannot be used leaves a hold standing, and a good base list without
        // an answer; one only at an LDAP location leaves it with a word.
        let unusable = || DeltaOutcome::Unusable(vec!["http://crl.test/ca+.crl: gone".into()]);
        let (info, _) = settle(answer, unusable(), base_held.next_update, now);
        assert_eq!(info.reason.as_deref(), Some("certificateHold"));
        let good = judge(&base, &q, base_url, now).unwrap();
        let (info, finding) = settle(good.clone(), unusable(), base.next_update, now);
        assert_eq!(
            (info.status.as_str(), finding),
            ("unavailable", Some(Finding::CrlUnavailable))
        );
        let ldap = DeltaOutcome::NotFetched(vec!["ldap:///CN=Delta"]);
        let (info, finding) = settle(good, ldap, base.next_update, now);
        assert_eq!((info.status.as_str(), finding), ("good", None));
        assert!(info.problem.is_some_and(|p| p.contains("ldap:///CN=Delta")));
    }

    #[test]
    fn generated_deltas_complete_their_base_lists_as_rfc_5280_says() {
        use crate::fleet::CrlSpec;
        let pki = Pki::new("GenDelta").unwrap();
        let other = Pki::new("GenDeltaOther").unwrap();
        let now = crate::timefmt::now_unix();
        let day = 86_400;
        let (base_url, delta_url) = ("http://crl.test/ca.crl", "http://crl.test/ca+.crl");
        let serial = vec![0x8a, 0x01, 0x02];
        let mut spec = LeafSpec::new(&["a.test"], 1, 10, 80).with_crl(base_url);
        spec.serial = serial.clone();
        let leaf = pki.issue(&spec).unwrap();
        let q = Query::of(&leaf.chain, |_| None).unwrap();
        let names = [
            (1u8, "keyCompromise"),
            (4, "superseded"),
            (6, "certificateHold"),
        ];
        let mut seen = HashMap::new();
        let rounds = 300u64;
        for seed in 1..=rounds {
            let mut rng = XorShift::new(seed ^ 0x5eed_de17a);
            // The base list: numbered 10 (or not), listing the certificate or not.
            let base_numbered = rng.below(8) != 0;
            let base_reason = match rng.below(4) {
                0 => Some(names[rng.below(3) as usize]),
                1 => Some(names[2]),
                _ => None,
            };
            let base_outdated = rng.below(5) == 0;
            let entry: Vec<(&[u8], u8)> = base_reason
                .iter()
                .map(|(code, _)| (serial.as_slice(), *code))
                .collect();
            let base = built(
                &pki,
                &CrlSpec {
                    revoked: &entry,
                    this_update: now - 3 * day,
                    next_update: if base_outdated {
                        now - day
                    } else {
                        now + 4 * day
                    },
                    crl_number: base_numbered.then_some(10),
                    ..CrlSpec::default()
                },
            );
            // The delta list: built on base 9, 10 or 11, numbered 9 to 12, listing the
            // certificate (revoked, on hold, off hold) or not; now and then no delta at all,
            // another CA's, or its signature altered.
            let builds_on = 9 + rng.below(3);
            let number = 9 + rng.below(4);
            let is_delta = rng.below(8) != 0;
            let delta_reason = match rng.below(5) {
                0 => Some((1u8, "keyCompromise")),
                1 => Some((REMOVE_FROM_CRL, "removeFromCRL")),
                2 => Some((6, "certificateHold")),
                3 => Some((4, "superseded")),
                _ => None,
            };
            let delta_outdated = rng.below(4) == 0;
            let signer = rng.below(8);
            let entry: Vec<(&[u8], u8)> = delta_reason
                .iter()
                .map(|(code, _)| (serial.as_slice(), *code))
                .collect();
            let delta_spec = CrlSpec {
                revoked: &entry,
                this_update: now - day,
                next_update: if delta_outdated {
                    now - 3600
                } else {
                    now + day
                },
                crl_number: Some(number),
                delta_of: is_delta.then_some(builds_on),
                ..CrlSpec::default()
            };
            let mut der = match signer {
                0 => other.crl_built(&delta_spec),
                _ => pki.crl_built(&delta_spec),
            }
            .unwrap();
            if signer == 1 {
                // The signature's last byte altered: it no longer verifies.
                let last = der.len() - 1;
                der[last] ^= 0x01;
            }
            let delta = read(der, None).unwrap();

            let answer = judge(&base, &q, base_url, now).unwrap();
            let said = delta_says(&delta, &base, &q, (delta_url, base_url), now);
            let outcome = match &said {
                Ok(says) => DeltaOutcome::Used {
                    says: says.clone(),
                    url: delta_url,
                    issued: delta.this_update,
                },
                Err(e) => DeltaOutcome::Unusable(vec![e.clone()]),
            };
            let (info, finding) = settle(answer.clone(), outcome, base.next_update, now);

            // The rules apart (RFC 5280 §5.2.4, §5.3.1, §6.3.3): a base revocation other
            // than a hold stands; a delta counts when it is one, is the CA's, signed, built
            // on a base no later than the one read and is newer than it; it adds its
            // revocations, lifts a hold with removeFromCRL, and outdated proves nothing.
            let base_says = match base_reason {
                Some((_, name)) => ("revoked", Some(name)),
                None if base_outdated => ("unavailable", None),
                None => ("good", None),
            };
            let usable = is_delta && signer >= 2 && base_numbered && builds_on <= 10;
            let final_base = matches!(base_reason, Some((code, _)) if code != 6);
            // A delta that cannot be used leaves clients without an answer (a hold of the
            // base list aside).
            let want: (&str, Option<&str>) = if final_base || number <= 10 && usable {
                base_says
            } else if !usable {
                match base_reason {
                    Some(_) => base_says,
                    None => ("unavailable", None),
                }
            } else {
                match delta_reason {
                    Some((REMOVE_FROM_CRL, _)) if base_reason.is_some() => {
                        if base_outdated {
                            ("unavailable", None)
                        } else {
                            ("good", None)
                        }
                    }
                    Some((REMOVE_FROM_CRL, _)) => base_says,
                    Some((_, name)) => ("revoked", Some(name)),
                    None if delta_outdated && base_says.0 == "good" => ("unavailable", None),
                    None => base_says,
                }
            };
            assert_eq!(
                (info.status.as_str(), info.reason.as_deref()),
                want,
                "seed {seed}: base {base_reason:?} outdated {base_outdated} numbered {base_numbered}; delta of {builds_on} number {number} is_delta {is_delta} {delta_reason:?} outdated {delta_outdated} signer {signer}: {said:?} {info:?}"
            );
            assert_eq!(
                finding,
                match want.0 {
                    "revoked" => Some(Finding::CrlRevoked),
                    "unavailable" => Some(Finding::CrlUnavailable),
                    _ => None,
                },
                "seed {seed}"
            );
            assert_eq!(said.is_ok(), usable, "seed {seed}: {said:?}");
            *seen.entry(want).or_insert(0) += 1;
        }
        // Every outcome came up.
        for outcome in [
            ("good", None),
            ("unavailable", None),
            ("revoked", Some("keyCompromise")),
            ("revoked", Some("certificateHold")),
            ("revoked", Some("superseded")),
        ] {
            assert!(
                seen.get(&outcome).is_some_and(|n| *n > 5),
                "{outcome:?}: {seen:?}"
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
            // A delta list with a removeFromCRL entry and a base list naming its delta.
            pki.crl_built(&crate::fleet::CrlSpec {
                revoked: &[(a, 1), (b, 8)],
                this_update: now - 10,
                next_update: now + 999,
                crl_number: Some(7),
                delta_of: Some(6),
                ..crate::fleet::CrlSpec::default()
            })
            .unwrap(),
            pki.crl_built(&crate::fleet::CrlSpec {
                revoked: &[(b, 6)],
                this_update: now - 10,
                next_update: now + 999,
                crl_number: Some(6),
                freshest: vec!["http://crl.test/a+.crl".into()],
                ..crate::fleet::CrlSpec::default()
            })
            .unwrap(),
        ];
        let key = x509_parser::parse_x509_certificate(&pki.intermediate.cert)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec();
        let mut spec = LeafSpec::new(&["a.test"], 1, 10, 80).with_crl("http://crl.test/a.crl");
        spec.serial = a.to_vec();
        let q = Query::of(&pki.issue(&spec).unwrap().chain, |_| None).unwrap();
        let base = read(seeds[3].clone(), Some(&key)).unwrap();
        for seed in 1..=5_000u64 {
            let mut rng = XorShift::new(seed);
            let mut v = seeds[rng.below(seeds.len() as u64) as usize].clone();
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
                if let Ok(list) = read(v.clone(), Some(&key)) {
                    let _ = list.revoked.get(a);
                    // Judged as a base list, and as the delta of a base list.
                    let _ = judge(&list, &q, "http://crl.test/a.crl", now);
                    let _ = delta_says(
                        &list,
                        &base,
                        &q,
                        ("http://crl.test/a+.crl", "http://crl.test/a.crl"),
                        now,
                    );
                }
            });
            assert!(read_it.is_ok(), "round {seed} panicked on {v:02x?}");
        }
    }
}
