//! The one place a verdict is decided: identities of records, the newest certificate of
//! each, and the status of every observed endpoint against them.

use crate::inventory::index::KeyIndex;
use crate::inventory::record::{target_names, DeployStatus, Record, RecordStatus};
use crate::model::{CertInfo, ErrorClass, Finding, KeyFamily, Observation, OtherKey, SecondLook};
use crate::timefmt::rfc3339_unix;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Endpoint status, in precedence order (the first that holds is the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No certificate could be captured.
    Unreachable,
    /// The endpoint serves an older member of an identity whose newest certificate differs.
    RenewedNotDeployed,
    /// Same, but the newer certificate is younger than the grace period.
    DeploymentPending,
    /// The presented certificate is revoked according to the records.
    Revoked,
    /// The presented certificate has expired.
    Expired,
    /// The presented certificate matches no record.
    Unmanaged,
    /// The certificate does not cover the name asked for.
    HostnameMismatch,
    /// Clients would not trust the chain.
    Untrusted,
    /// Expires within the renewal window and no newer certificate exists.
    ExpiringSoon,
    /// Serves the newest certificate of its identity.
    Current,
}

impl Status {
    /// Every status, in precedence order.
    pub const ALL: [Status; 10] = [
        Status::Unreachable,
        Status::RenewedNotDeployed,
        Status::DeploymentPending,
        Status::Revoked,
        Status::Expired,
        Status::Unmanaged,
        Status::HostnameMismatch,
        Status::Untrusted,
        Status::ExpiringSoon,
        Status::Current,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unreachable => "unreachable",
            Status::RenewedNotDeployed => "renewed_not_deployed",
            Status::DeploymentPending => "deployment_pending",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
            Status::Unmanaged => "unmanaged",
            Status::HostnameMismatch => "hostname_mismatch",
            Status::Untrusted => "untrusted",
            Status::ExpiringSoon => "expiring_soon",
            Status::Current => "current",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The clock and windows a verdict is judged with.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Now, Unix seconds.
    pub now: i64,
    /// A renewal younger than this is `deployment_pending`.
    pub grace_secs: i64,
    /// `expiring_soon` within this many seconds of notAfter.
    pub renewal_window_secs: i64,
}

/// Records grouped into identities (certificate lineages).
#[derive(Debug)]
pub struct Identities {
    /// All records.
    pub records: Vec<Record>,
    /// Identity index of each record.
    pub identity_of: Vec<usize>,
    /// Members of each identity, oldest first.
    pub members: Vec<Vec<usize>>,
    /// Each record's place in its renewal links: one more than the record it renews
    /// (`renewal_of`, `renewed_by`, a CERTInext reissue of its order). Orders versions whose
    /// dates tie, as in an export without issue dates.
    rank: Vec<u32>,
    by_serial: KeyIndex,
    by_alt_serial: KeyIndex,
    by_sha256: KeyIndex,
    by_sha1: KeyIndex,
    by_name: KeyIndex,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, x: usize) -> usize {
        let mut r = x;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut c = x;
        while self.0[c] != r {
            let n = self.0[c];
            self.0[c] = r;
            c = n;
        }
        r
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra] = rb;
        }
    }
}

/// `ORD123R001` → `ORD123`: CERTInext names a reissue after its original order.
fn reissue_base(order: &str) -> Option<&str> {
    // By bytes, but never inside a character: an order number may hold any text (a map
    // can point the record id at any column), and a suffix cut mid-character is no reissue.
    let cut = order.len().checked_sub(4)?;
    let (base, suffix) = (order.get(..cut)?, order.get(cut..)?);
    let mut chars = suffix.chars();
    (matches!(chars.next(), Some('R' | 'r'))
        && chars.all(|c| c.is_ascii_digit())
        && !base.is_empty())
    .then_some(base)
}

/// How records may be grouped into identities beyond the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grouping {
    /// Records of different groups (CERTInext `groupNumber`) are never one identity by
    /// their names: the group counts as one more name of the set.
    pub separate_groups: bool,
}

/// Unites every record with each later one whose name set (SANs, else CN) covers its own:
/// a renewal by names. "Later" is by [`Record::issued_key`], the earlier-read record at a
/// tie. Records with the same name set are one group first (each covers the other), and a
/// group is compared only with the groups that hold its rarest name: comparing every pair of
/// records that share a name was quadratic in a name that thousands of certificates carry
/// (an autodiscover SAN on 20,000 certificates: 21 s).
fn unite_by_name_sets(records: &[Record], uf: &mut UnionFind, grouping: Grouping) {
    /// Records of one name set: where its names are in `flat`, the first record read, and
    /// its oldest and newest versions.
    struct Group {
        names: std::ops::Range<usize>,
        first: usize,
        oldest: usize,
        newest: usize,
    }
    let version = |i: usize| (records[i].issued_key(), std::cmp::Reverse(i));
    // Names as numbers; every record's set (sorted) one after another in `flat`, so that
    // 200,000 records do not make 200,000 small vectors.
    let mut name_no: HashMap<&str, usize> = HashMap::new();
    // Groups are numbered beside the names, in a map of their own: a group's id is no name.
    let mut group_no: HashMap<&str, usize> = HashMap::new();
    let mut flat: Vec<usize> = Vec::new();
    let mut sets: Vec<(std::ops::Range<usize>, usize)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if !has_certificate(r) {
            continue;
        }
        let start = flat.len();
        for n in r.name_set() {
            let next = name_no.len() + group_no.len();
            flat.push(*name_no.entry(n).or_insert(next));
        }
        if flat.len() == start {
            continue;
        }
        if grouping.separate_groups {
            // Records without a group are a group of their own.
            let g = r.group.as_deref().unwrap_or_default();
            let next = name_no.len() + group_no.len();
            flat.push(*group_no.entry(g).or_insert(next));
        }
        flat[start..].sort_unstable();
        sets.push((start..flat.len(), i));
    }
    let names_of = |r: &std::ops::Range<usize>| &flat[r.clone()];
    // Equal sets side by side, each set's records in the order they were read.
    sets.sort_unstable_by(|a, b| names_of(&a.0).cmp(names_of(&b.0)).then(a.1.cmp(&b.1)));
    let mut groups: Vec<Group> = Vec::new();
    for (set, i) in sets {
        match groups.last_mut() {
            Some(g) if names_of(&g.names) == names_of(&set) => {
                uf.union(i, g.first);
                if version(i) < version(g.oldest) {
                    g.oldest = i;
                }
                if version(i) > version(g.newest) {
                    g.newest = i;
                }
            }
            _ => groups.push(Group {
                names: set,
                first: i,
                oldest: i,
                newest: i,
            }),
        }
    }
    // The groups holding each name, as one flat list (offsets by name number).
    let numbers = name_no.len() + group_no.len();
    let mut start = vec![0usize; numbers + 1];
    for g in &groups {
        for &n in names_of(&g.names) {
            start[n + 1] += 1;
        }
    }
    for n in 0..numbers {
        start[n + 1] += start[n];
    }
    let mut fill = start.clone();
    let mut holders = vec![0usize; start[numbers]];
    for (gi, g) in groups.iter().enumerate() {
        for &n in names_of(&g.names) {
            holders[fill[n]] = gi;
            fill[n] += 1;
        }
    }
    let holding = |n: usize| &holders[start[n]..start[n + 1]];
    for (gi, g) in groups.iter().enumerate() {
        let names = names_of(&g.names);
        let Some(&rarest) = names.iter().min_by_key(|&&n| holding(n).len()) else {
            continue;
        };
        for &hi in holding(rarest) {
            let h = &groups[hi];
            let covering = names_of(&h.names);
            // h's names cover g's, and one of h's versions is later than one of g's.
            if hi != gi
                && version(h.newest) > version(g.oldest)
                && names.iter().all(|n| covering.binary_search(n).is_ok())
            {
                uf.union(h.first, g.first);
            }
        }
    }
}

/// Longest chain of renewals leading to each record (Kahn's order over the links). Records
/// on a cycle of contradictory links keep the rank reached before it.
fn link_ranks(newer_than: &[Vec<usize>]) -> Vec<u32> {
    let n = newer_than.len();
    let mut indegree = vec![0u32; n];
    for (a, later) in newer_than.iter().enumerate() {
        for &b in later {
            if b != a {
                indegree[b] += 1;
            }
        }
    }
    let mut rank = vec![0u32; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    while let Some(a) = ready.pop() {
        for &b in &newer_than[a] {
            if b == a {
                continue;
            }
            rank[b] = rank[b].max(rank[a] + 1);
            indegree[b] -= 1;
            if indegree[b] == 0 {
                ready.push(b);
            }
        }
    }
    rank
}

/// Records whose canonical serial is `serial`.
fn with_serial<'a>(
    records: &'a [Record],
    by_serial: &'a KeyIndex,
    serial: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    by_serial
        .candidates(serial)
        .filter(move |&i| records[i].serial_hex() == Some(serial))
}

/// Whether `key` is the record's id, order number or request number, ignoring ASCII case.
/// Whether record `r`, which has certificate `c`'s serial, is nevertheless another
/// certificate: its notAfter is days away from `c`'s, and either its issuer is another CA or
/// the serial is short and the names differ. Private CAs number serials from 1 (OpenSSL's
/// `ca`, small internal CAs), so two of them give the same serial to different
/// certificates; a public CA's random serial of 8 bytes or more does not collide, and a
/// wrong date in the export (a misread day and month) then stays the export's error.
fn serial_collides(r: &Record, c: &crate::model::CertInfo) -> bool {
    let Some(na) = r.not_after else { return false };
    let slack = if na.date_only { 3 * 86_400 } else { 2 * 86_400 };
    if (na.unix - c.not_after_unix).abs() <= slack {
        return false;
    }
    let short = c.serial.len() < 16;
    let other_ca = r.issuer.as_deref().is_some_and(|i| {
        let i = i.trim().to_ascii_lowercase();
        let dn = c.issuer.to_ascii_lowercase();
        let cn = c
            .issuer_cn
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        // Lenient: "emSign SSL CA - G1" names the issuer by its CN, others by the DN or a
        // shortened name; only a name found in neither is another CA.
        let same = i.is_empty()
            || dn.contains(&i)
            || cn.contains(&i)
            || (!cn.is_empty() && i.contains(&cn));
        !same
    });
    let same_names = || {
        let mut theirs = r.name_set();
        let mut ours: Vec<&str> = if c.sans.is_empty() {
            c.subject_cn.as_deref().into_iter().collect()
        } else {
            c.sans.iter().map(String::as_str).collect()
        };
        theirs.sort_unstable();
        ours.sort_unstable();
        ours.dedup();
        theirs
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .eq(ours.iter().map(|n| n.to_ascii_lowercase()))
    };
    other_ca || (short && !same_names())
}

fn has_id(r: &Record, key: &str) -> bool {
    std::iter::once(&*r.record_id)
        .chain(r.order_id.as_deref())
        .chain(r.request_id.as_deref())
        .any(|k| k.eq_ignore_ascii_case(key))
}

fn has_certificate(r: &Record) -> bool {
    r.serial.is_some() || r.sha1.is_some() || r.sha256.is_some()
}

impl Identities {
    /// Groups records, strongest evidence first: the platform's identity id, explicit
    /// renewal links, reissue lineage, then name sets (a newer certificate whose names cover
    /// an older one's renews it).
    pub fn build(records: Vec<Record>) -> Self {
        Self::build_with(records, Grouping::default())
    }

    /// [`Identities::build`], with `grouping`'s limits on joining by names.
    pub fn build_with(records: Vec<Record>, grouping: Grouping) -> Self {
        let n = records.len();
        let mut uf = UnionFind((0..n).collect());
        // One certificate object across its renewals, whatever its names became (a renewal
        // that dropped a name is no renewal by the name-set rule).
        let mut first_of: HashMap<String, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(id) = r.identity_id.as_deref() {
                let first = *first_of.entry(id.trim().to_ascii_lowercase()).or_insert(i);
                uf.union(i, first);
            }
        }
        drop(first_of);
        let each = || records.iter().enumerate();
        let by_key = KeyIndex::folded(each().flat_map(|(i, r)| {
            std::iter::once(&*r.record_id)
                .chain(r.order_id.as_deref())
                .chain(r.request_id.as_deref())
                .map(move |k| (k, i))
        }));
        let by_serial = KeyIndex::exact(
            each().filter_map(|(i, r)| Some((r.serial.as_ref()?.canonical.as_str(), i))),
        );
        let by_alt_serial = KeyIndex::exact(
            each().filter_map(|(i, r)| Some((r.serial.as_ref()?.alternative.as_deref()?, i))),
        );
        let by_sha256 = KeyIndex::exact(each().filter_map(|(i, r)| Some((r.sha256.as_ref()?, i))));
        let by_sha1 = KeyIndex::exact(each().filter_map(|(i, r)| Some((r.sha1.as_ref()?, i))));
        let by_name = KeyIndex::exact(
            each()
                .filter(|(_, r)| has_certificate(r))
                .flat_map(|(i, r)| r.names().into_iter().map(move |n| (n, i))),
        );
        let keyed = |key: &str| -> Vec<usize> {
            by_key
                .candidates(key)
                .filter(|&j| has_id(&records[j], key))
                .collect()
        };
        let lookup = |key: &str| -> Vec<usize> {
            let mut v = keyed(key);
            if let Ok(Some(s)) = crate::inventory::serial::parse_serial(key, Default::default()) {
                v.extend(with_serial(&records, &by_serial, &s.canonical));
            }
            v
        };
        // Renewal links as edges from the older record to the newer.
        let mut newer_than: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, r) in records.iter().enumerate() {
            for j in r.renewal_of.iter().flat_map(|l| lookup(l)) {
                uf.union(i, j);
                newer_than[j].push(i);
            }
            for j in r.renewed_by.iter().flat_map(|l| lookup(l)) {
                uf.union(i, j);
                newer_than[i].push(j);
            }
            if let Some(base) = r.order_id.as_deref().and_then(reissue_base) {
                for j in keyed(base) {
                    uf.union(i, j);
                    newer_than[j].push(i);
                }
            }
        }
        let rank = link_ranks(&newer_than);
        unite_by_name_sets(&records, &mut uf, grouping);
        let mut root_to_id: HashMap<usize, usize> = HashMap::new();
        let mut identity_of = vec![0; n];
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (i, slot) in identity_of.iter_mut().enumerate() {
            let root = uf.find(i);
            let id = *root_to_id.entry(root).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            });
            *slot = id;
            members[id].push(i);
        }
        for m in &mut members {
            m.sort_by_key(|&i| (records[i].issued_key(), rank[i], i));
        }
        Identities {
            records,
            identity_of,
            members,
            rank,
            by_serial,
            by_alt_serial,
            by_sha256,
            by_sha1,
            by_name,
        }
    }

    /// Whether a record may be the certificate an endpoint should serve.
    fn eligible(&self, i: usize, now: i64) -> bool {
        let r = &self.records[i];
        matches!(
            r.status,
            RecordStatus::Issued | RecordStatus::Unknown | RecordStatus::Expired
        ) && has_certificate(r)
            && r.not_before.map(|w| w.unix <= now).unwrap_or(true)
    }

    /// Whether record `a` is a later version than record `b`: issued later, or as late by
    /// the dates and after it in the renewal links. A tie in both is not "later".
    pub fn is_newer(&self, a: usize, b: usize) -> bool {
        (self.records[a].issued_key(), self.rank[a]) > (self.records[b].issued_key(), self.rank[b])
    }

    /// Another eligible version of record `i`'s identity covering `host` that no date or
    /// renewal link orders against it, with a different certificate: which of the two is
    /// the newest cannot be told from the records.
    pub fn tied_with(&self, i: usize, host: &str, now: i64) -> Option<usize> {
        self.tied(i, now).find(|&j| self.records[j].covers(host))
    }

    /// The eligible versions of record `i`'s identity, other certificates than its own, that
    /// no date or renewal link orders against it.
    fn tied(&self, i: usize, now: i64) -> impl Iterator<Item = usize> + '_ {
        let serial = |j: usize| self.records[j].serial_hex();
        self.members[self.identity_of[i]]
            .iter()
            .copied()
            .filter(move |&j| {
                j != i
                    && self.eligible(j, now)
                    && !self.is_newer(i, j)
                    && !self.is_newer(j, i)
                    && serial(j) != serial(i)
            })
    }

    /// The version that renewed record `ri` for `host`: the newest eligible version of its
    /// identity, when that is provably later than `ri`. A certificate served for a name it
    /// does not cover (`name_mismatch`: a default certificate, another site's) was renewed
    /// for this name only when its renewal covers the name (a renewal that added it);
    /// otherwise what is wrong here is the binding, not the deployment of its renewal.
    pub fn renewal_of(
        &self,
        ri: usize,
        host: &str,
        now: i64,
        name_mismatch: bool,
    ) -> Option<usize> {
        self.newest(self.identity_of[ri], Some(host), now)
            .filter(|&ei| ei != ri && self.is_newer(ei, ri))
            .filter(|&ei| !name_mismatch || self.records[ei].covers(host))
    }

    /// For record `ri`, of key type `family` when known, served beside its identity's newest
    /// version `ei` or another certificate of the other key type: the newest eligible
    /// version covering `host` that is later than `ri`, neither's certificate and not known
    /// to be of the other key type, one not expired first. Without one, `ri` is the newest of its own kind; a
    /// version whose key type the records do not say may be `ri`'s own renewal.
    fn renewal_beside(
        &self,
        ri: usize,
        family: Option<KeyFamily>,
        ei: usize,
        host: &str,
        now: i64,
    ) -> Option<usize> {
        let serial = |j: usize| self.records[j].serial_hex();
        let family = family.or(self.records[ri].key_family);
        self.members[self.identity_of[ri]]
            .iter()
            .copied()
            .filter(|&k| {
                serial(k) != serial(ri)
                    && serial(k) != serial(ei)
                    && !matches!((self.records[k].key_family, family), (Some(a), Some(b)) if a != b)
                    && self.eligible(k, now)
                    && self.records[k].covers(host)
                    && self.is_newer(k, ri)
            })
            .reduce(|a, b| self.preferred(a, b, now))
    }

    /// Of two versions, the one an endpoint should rather serve: one not expired before
    /// one expired (a later version can lapse first: a short-lived reissue), then the later.
    fn preferred(&self, a: usize, b: usize, now: i64) -> usize {
        let live = |i: usize| self.records[i].not_after.is_none_or(|w| w.unix >= now);
        match (live(a), live(b)) {
            (true, false) => a,
            (false, true) => b,
            _ if self.is_newer(b, a) => b,
            _ => a,
        }
    }

    /// The latest version of record `ri`'s identity later than `ri` that cannot be deployed
    /// for `host` now: one covering it that is revoked, cancelled, still pending or not valid
    /// yet, or a valid one that dropped the name (a renewal linked to `ri` by the records,
    /// as name sets alone never join such versions). Told when no renewal can be deployed,
    /// so that "no renewal exists" is not said of one that does.
    fn unusable_later(&self, ri: usize, host: &str, now: i64) -> Option<usize> {
        self.members[self.identity_of[ri]]
            .iter()
            .copied()
            .filter(|&k| {
                let r = &self.records[k];
                let blocked = matches!(
                    r.status,
                    RecordStatus::Revoked | RecordStatus::Cancelled | RecordStatus::Pending
                ) || r.not_before.is_some_and(|w| w.unix > now);
                // Only a name `ri` itself has can be dropped (not a bare address's, nor
                // the name a wrongly bound certificate answers for).
                let dropped = !r.covers(host)
                    && self.records[ri].covers(host)
                    && self.eligible(k, now)
                    && r.not_after.is_none_or(|w| w.unix >= now);
                ((blocked && r.covers(host)) || dropped) && self.is_newer(k, ri)
            })
            .reduce(|a, b| if self.is_newer(b, a) { b } else { a })
    }

    /// Whether the identity of record `ri` holds any version later than it.
    fn has_later(&self, ri: usize) -> bool {
        self.members[self.identity_of[ri]]
            .iter()
            .any(|&k| self.is_newer(k, ri))
    }

    /// Whether record `ri`'s identity has an eligible version covering `host` known (from
    /// its PEM or a key type column) to be of key type `family`.
    fn has_version_of(&self, ri: usize, family: KeyFamily, host: &str, now: i64) -> bool {
        self.members[self.identity_of[ri]].iter().any(|&k| {
            self.records[k].key_family == Some(family)
                && self.eligible(k, now)
                && self.records[k].covers(host)
        })
    }

    /// The newest eligible member of identity `id`, preferring members that cover `host`, and
    /// among those the ones not expired.
    ///
    /// Expiry comes before issue order because a later version can expire first (a
    /// short-lived reissue, a test certificate): the version valid today is what an
    /// endpoint should serve, not the later one that lapsed. Only when every version has
    /// expired is the latest expired one the newest.
    pub fn newest(&self, id: usize, host: Option<&str>, now: i64) -> Option<usize> {
        let eligible = || {
            self.members[id]
                .iter()
                .rev()
                .copied()
                .filter(move |&i| self.eligible(i, now))
        };
        let live = |i: &usize| self.records[*i].not_after.is_none_or(|w| w.unix >= now);
        if let Some(h) = host {
            let covering = || eligible().filter(move |&i| self.records[i].covers(h));
            if let Some(i) = covering().find(live).or_else(|| covering().next()) {
                return Some(i);
            }
        }
        eligible().find(live).or_else(|| eligible().next())
    }

    /// The record of a presented certificate: by fingerprint, then serial (with its date
    /// agreeing when the serial's writing was ambiguous). Returns the record and whether
    /// the match relied on an ambiguous reading.
    pub fn match_cert(&self, c: &crate::model::CertInfo, host: &str) -> Option<(usize, bool)> {
        // The last record of a fingerprint wins, as a later row of an export does.
        let by_hash = |idx: &KeyIndex, field: fn(&Record) -> Option<&str>, key: &str| {
            idx.candidates(key)
                .filter(|&i| field(&self.records[i]) == Some(key))
                .last()
        };
        if let Some(i) = by_hash(&self.by_sha256, |r| r.sha256.as_deref(), &c.sha256) {
            return Some((i, false));
        }
        if let Some(i) = by_hash(&self.by_sha1, |r| r.sha1.as_deref(), &c.sha1) {
            return Some((i, false));
        }
        let agrees = |i: &usize| {
            self.records[*i]
                .not_after
                .map(|w| w.agrees(c.not_after_unix))
                .unwrap_or(false)
        };
        let pick = |cands: &[usize]| -> Option<usize> {
            cands
                .iter()
                .copied()
                .max_by_key(|i| (agrees(i), self.records[*i].covers(host), usize::MAX - *i))
        };
        let cands: Vec<usize> = with_serial(&self.records, &self.by_serial, &c.serial)
            .filter(|&i| !serial_collides(&self.records[i], c))
            .collect();
        if !cands.is_empty() {
            let ambiguous = cands.iter().all(|&i| {
                self.records[i]
                    .serial
                    .as_ref()
                    .map(|s| s.alternative.is_some())
                    .unwrap_or(false)
            });
            if !ambiguous || cands.iter().any(agrees) {
                return pick(&cands).map(|i| (i, ambiguous));
            }
        }
        let alt = self.by_alt_serial.candidates(&c.serial).filter(|&i| {
            self.records[i]
                .serial
                .as_ref()
                .and_then(|s| s.alternative.as_deref())
                == Some(c.serial.as_str())
        });
        let ok: Vec<usize> = alt.filter(agrees).collect();
        if ok.is_empty() {
            return None;
        }
        pick(&ok).map(|i| (i, true))
    }

    /// What an endpoint of `host` should serve when its own certificate does not say (no
    /// certificate, one for other names, one in no record): of the identities covering
    /// `host`, the newest version covering it that was issued last, one valid today first.
    /// Two identities may
    /// cover one name (a dedicated certificate and a wildcard, an old SAN certificate); the
    /// order the records were read in says nothing about which is meant.
    pub fn expected_for_host(&self, host: &str, now: i64) -> Option<usize> {
        // As in `newest`: a certificate valid today before a later one that has expired,
        // here across identities (a wildcard still valid beside a lapsed dedicated one).
        self.identities_for_host(host)
            .into_iter()
            .filter_map(|id| self.newest(id, Some(host), now))
            .filter(|&i| self.records[i].covers(host))
            .reduce(|a, b| self.preferred(a, b, now))
    }

    /// The newest certificate of the records, other than serial `served`, that covers `host`
    /// and may be served today (eligible and not expired), in any identity of the name.
    fn valid_for_host(&self, host: &str, served: &str, now: i64) -> Option<usize> {
        self.identities_for_host(host)
            .into_iter()
            .flat_map(|id| self.members[id].iter().copied())
            .filter(|&i| {
                let r = &self.records[i];
                self.eligible(i, now)
                    && r.covers(host)
                    && r.not_after.is_none_or(|w| w.unix >= now)
                    && r.serial_hex() != Some(served)
            })
            .reduce(|a, b| if self.is_newer(b, a) { b } else { a })
    }

    /// Identities whose names cover `host`.
    pub fn identities_for_host(&self, host: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let named = |name: &str| -> Vec<usize> {
            self.by_name
                .candidates(name)
                .filter(|&i| self.records[i].has_name(name))
                .collect()
        };
        let mut candidates = named(host);
        if let Some((_, rest)) = host.split_once('.') {
            candidates.extend(named(&format!("*.{rest}")));
        }
        // In the order their records were read; a name on thousands of certificates (an
        // autodiscover SAN) is thousands of identities, so the seen ones go in a set.
        let mut seen = std::collections::HashSet::new();
        for i in candidates {
            let id = self.identity_of[i];
            if seen.insert(id) {
                out.push(id);
            }
        }
        out
    }
}

/// A record as a report row names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordRef {
    /// Record id.
    pub record_id: String,
    /// Order number.
    pub order_id: Option<String>,
    /// Canonical serial.
    pub serial: Option<String>,
    /// notAfter, RFC 3339.
    pub not_after: Option<String>,
    /// Status as recorded.
    pub status: String,
    /// Provisioning bot.
    pub provisioning_bot: Option<String>,
    /// CA connector.
    pub ca_connector: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Deployment status as recorded.
    #[serde(default)]
    pub deploy_status: Option<String>,
}

impl RecordRef {
    fn of(r: &Record) -> Self {
        RecordRef {
            record_id: r.record_id.to_string(),
            order_id: r.order_id.as_deref().map(String::from),
            serial: r.serial.as_ref().map(|s| s.canonical.clone()),
            not_after: r.not_after.map(|w| rfc3339_unix(w.unix)),
            status: if r.status_raw.is_empty() {
                format!("{:?}", r.status).to_ascii_lowercase()
            } else {
                r.status_raw.to_string()
            },
            provisioning_bot: r.provisioning_bot.as_deref().map(String::from),
            ca_connector: r.ca_connector.as_deref().map(String::from),
            owner: r.owner.as_deref().map(String::from),
            deploy_status: r.deploy_status_raw.as_deref().map(String::from),
        }
    }
}

/// The verdict on one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    /// The observation judged (boxed: a sweep keeps one verdict per endpoint until its
    /// reports are written, and the vectors of them then hold pointers, not whole records).
    pub observation: Box<Observation>,
    /// The status.
    pub status: Status,
    /// Everything else true of the endpoint (statuses that also hold, trust findings,
    /// `partial_rollout`, `serial_ambiguous`, `names_managed_elsewhere`,
    /// `newer_than_records`).
    pub findings: Vec<String>,
    /// The record the presented certificate matched.
    pub matched: Option<RecordRef>,
    /// The certificate the endpoint should serve (newest of the identity).
    pub expected: Option<RecordRef>,
    /// Of this name's endpoints (same host and port), how many serve the expected one.
    pub name_endpoints_current: Option<String>,
    /// Why, in words.
    pub detail: String,
    /// What to do next (from the runbook).
    pub next_step: String,
}

fn days(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// Judges one observation. Also says whether it serves the certificate it should (it matched
/// the newest of its identity), which [`Rollout`] counts across a name's endpoints.
///
/// An endpoint that presented a certificate of each key type (see [`SecondLook`]) has both
/// judged; the verdict is the worse one's, about its certificate (the observation is turned
/// so that `cert` is that one), and names the other.
pub fn judge_one(o: Box<Observation>, ids: &Identities, p: &Policy) -> (Verdict, bool) {
    let twin = turned(&o);
    let (mut v, matched, expected) = judge(o, ids, p);
    let mut serves_expected = expected.is_some() && matched == expected;
    if let Some(twin) = twin {
        let (mut v2, matched2, expected2) = judge(twin, ids, p);
        serves_expected &= expected2.is_some() && matched2 == expected2;
        if v2.status < v.status {
            std::mem::swap(&mut v, &mut v2);
        }
        // `v` decides; `v2` is the other certificate's verdict.
        let family = |o: &Observation| {
            o.cert
                .as_ref()
                .and_then(CertInfo::key_family)
                .map_or("?", KeyFamily::as_str)
        };
        let (mine, theirs) = (family(&v.observation), family(&v2.observation));
        if !v.findings.iter().any(|f| f == "dual_certificates") {
            v.findings.push("dual_certificates".into());
            v.findings.sort();
        }
        let other_serial = v2
            .observation
            .cert
            .as_ref()
            .map_or("?", |c| c.serial.as_str());
        if v.status != v2.status || v2.status != Status::Current {
            v.detail = format!(
                "To {mine} clients: {} {theirs} clients get serial {other_serial}: {}.",
                v.detail,
                v2.status.as_str()
            );
        }
    }
    (v, serves_expected)
}

/// `o` seen from its other key type's certificate, when a second look got a different one:
/// that certificate in `cert`, the presented one in `other_key`.
fn turned(o: &Observation) -> Option<Box<Observation>> {
    let theirs = o.second_cert()?.clone();
    let other = o.other_key.as_deref()?;
    let offered = o.cert.as_ref()?.key_family()?;
    let mut t = Box::new(o.clone());
    t.other_key = Some(Box::new(OtherKey {
        offered,
        cert: t.cert.take(),
        findings: std::mem::take(&mut t.findings),
        trust_detail: t.trust_detail.take(),
        error: t.error.take(),
    }));
    t.cert = Some(theirs);
    t.findings = other.findings.clone();
    t.trust_detail = other.trust_detail.clone();
    t.error = other.error.clone();
    // The second look's chain and parameters are not kept.
    t.chain = Vec::new();
    t.pem = None;
    t.tls = None;
    Some(t)
}

/// The second look for a sweep against records: an endpoint serving a version that was
/// renewed is asked again offering only the other key type, since a server holding an RSA
/// and an ECDSA certificate for one name shows a client only one of them, and the renewal
/// may be the other. Without it such an endpoint was `renewed_not_deployed` every night.
/// An endpoint whose identity the records know to have versions of both key types (from
/// PEMs or a key type column) is asked too, so a stale one beside the newest is seen.
#[derive(Debug)]
pub struct RenewalLook {
    ids: std::sync::Arc<Identities>,
    now: i64,
    every: bool,
}

impl RenewalLook {
    /// Looks against `ids` at `now` (Unix seconds); at every endpoint when `every`
    /// (`--both-key-types`), else only where a renewed version is served.
    pub fn new(ids: std::sync::Arc<Identities>, now: i64, every: bool) -> Self {
        RenewalLook { ids, now, every }
    }
}

impl SecondLook for RenewalLook {
    fn wanted(&self, o: &Observation) -> Option<KeyFamily> {
        if self.every {
            return crate::model::EveryKeyType.wanted(o);
        }
        let c = o.cert.as_ref()?;
        let family = c.key_family()?;
        let host = o.sni.as_deref().unwrap_or(&o.host);
        let (ri, _) = self.ids.match_cert(c, host)?;
        let other = family.other();
        // The records say the name has a certificate of the other key type: see that it is
        // served, and the right one.
        if self.ids.has_version_of(ri, other, host, self.now) {
            return Some(other);
        }
        let mismatch = o.findings.contains(&Finding::HostnameMismatch);
        // A renewal known to be of the served key type cannot be behind the other's offer.
        self.ids
            .renewal_of(ri, host, self.now, mismatch)
            .filter(|&ei| self.ids.records[ei].key_family != Some(family))
            .map(|_| other)
    }
}

/// What the second look got when it found no other certificate: evidence that the endpoint
/// holds none of the other key type.
fn second_look_text(other: &OtherKey) -> String {
    let got = match (&other.cert, &other.error) {
        (Some(c), _) => format!("serial {} (expires {})", c.serial, c.not_after),
        (None, Some(e)) => format!("no certificate ({})", e.message),
        (None, None) => "no certificate".into(),
    };
    format!(
        " A handshake offering only {} keys got {got}.",
        other.offered.as_str()
    )
}

/// What the second look says of `ei`, the version that renewed the served record `ri`.
enum Beside<'a> {
    /// It got `ei` itself: the endpoint serves both, each to its key type's clients.
    Renewal(&'a OtherKey),
    /// It got another certificate of `ei`'s key type (known from the records): that one is
    /// judged on its own, and `ri` against the versions of its own kind.
    SameKindAsRenewal,
}

/// Whether the second look (the other key type's handshake) got `ei`, the renewal of the
/// served record `ri`, or another certificate of `ei`'s key type; then also the version that
/// renewed `ri` itself, if there is one besides `ei` (see [`Identities::renewal_beside`]).
fn renewal_served_beside<'a>(
    o: &'a Observation,
    ids: &Identities,
    (ri, ei): (usize, usize),
    host: &str,
    now: i64,
) -> Option<(Beside<'a>, Option<usize>)> {
    let other = o.other_key.as_deref()?;
    let cert = other.cert.as_ref()?;
    let served = o.cert.as_ref().and_then(CertInfo::key_family);
    let own = || ids.renewal_beside(ri, served, ei, host, now);
    let serial = |j: usize| ids.records[j].serial_hex();
    match ids.match_cert(cert, host) {
        Some((oi, _)) if serial(oi) == serial(ei) => Some((Beside::Renewal(other), own())),
        _ if ids.records[ei].key_family == Some(other.offered) => {
            Some((Beside::SameKindAsRenewal, own()))
        }
        _ => None,
    }
}

/// Partial rollouts: endpoints of one name (host and port) that disagree, one load-balancer
/// member still serving the old certificate. Endpoints are noted as they are judged; once all
/// are in, [`Rollout::annotate`] tells each how many of its name's endpoints serve the expected
/// certificate and marks the stale ones. Holds counts per name, not the verdicts.
#[derive(Debug, Default)]
pub struct Rollout {
    names: HashMap<(String, u16), NameCounts>,
}

/// One name's endpoints: how many presented a certificate, and how many serve the one they
/// should, per serial of it.
#[derive(Debug, Default)]
struct NameCounts {
    total: usize,
    current: usize,
    /// Usually one serial; two identities covering the name (a wildcard beside a dedicated
    /// certificate) may each be served as expected.
    by_serial: Vec<(String, usize)>,
}

impl Rollout {
    /// Counts `v` (judged by [`judge_one`], which said whether it `serves_expected`).
    pub fn note(&mut self, v: &Verdict, serves_expected: bool) {
        if v.observation.cert.is_none() {
            return;
        }
        let e = self
            .names
            .entry((v.observation.host.clone(), v.observation.port))
            .or_default();
        e.total += 1;
        let serial = v.expected.as_ref().and_then(|r| r.serial.as_deref());
        if let (true, Some(serial)) = (serves_expected, serial) {
            e.current += 1;
            match e.by_serial.iter_mut().find(|(s, _)| s == serial) {
                Some((_, n)) => *n += 1,
                None => e.by_serial.push((serial.to_string(), 1)),
            }
        }
    }

    /// Adds what the name's other endpoints say to `v`, once every endpoint was noted.
    pub fn annotate(&self, v: &mut Verdict) {
        if v.observation.cert.is_none() {
            return;
        }
        let key = (v.observation.host.clone(), v.observation.port);
        let Some(counts) = self.names.get(&key) else {
            return;
        };
        let total = counts.total;
        if total < 2 {
            return;
        }
        v.name_endpoints_current = Some(format!("{}/{total}", counts.current));
        // Only the endpoints serving this one's expected certificate make it a rollout this
        // node missed: others serving another identity's certificate for the name (the
        // wildcard beside a dedicated one) say nothing of its deployment.
        let expected = v.expected.as_ref().and_then(|r| r.serial.as_deref());
        let current = counts
            .by_serial
            .iter()
            .find(|(s, _)| Some(s.as_str()) == expected)
            .map_or(0, |(_, n)| *n);
        // A node left with a certificate the records do not hold, where the others serve
        // the managed one (the post-deployment check against the PEM just deployed), is
        // as stale as one left with an older version.
        let has = |f: &str| v.findings.iter().any(|x| x == f);
        let stale = matches!(
            v.status,
            Status::RenewedNotDeployed | Status::DeploymentPending
        ) || (v.status == Status::Unmanaged
            && has("names_managed_elsewhere")
            && !has("newer_than_records"));
        if stale && current > 0 {
            v.findings.push("partial_rollout".into());
            v.detail.push_str(&format!(
                " Partial rollout: {current} of {total} endpoints of {}:{} serve the new certificate (serial {}).",
                v.observation.host, v.observation.port, expected.unwrap_or("?")
            ));
            // The renewal reached the other nodes, so the bot and the profile work: what
            // is left is this node, unless the records said more (`deployment_said`).
            let said = v
                .findings
                .iter()
                .any(|f| DEPLOYMENT_SAID.contains(&f.as_str()));
            if v.status == Status::RenewedNotDeployed && !said {
                let outage = if v.next_step.starts_with(OUTAGE_FIRST) {
                    OUTAGE_FIRST
                } else {
                    ""
                };
                let node = v
                    .observation
                    .ip
                    .map(|ip| ip.to_string())
                    .unwrap_or_default();
                let bot = v
                    .expected
                    .as_ref()
                    .and_then(|e| e.provisioning_bot.as_deref())
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default();
                v.next_step = format!(
                    "{outage}This node ({node}) missed a rollout the other endpoints of the name got: check that it is among the deployment targets of the renewal order's provisioning bot{bot} (a load-balancer member added later, a node that was down or drained), re-run provisioning for it and confirm its service reloads, then verify again."
                );
            }
        }
    }
}

/// Where each presented serial is served (`host:port@ip`), and how many endpoints each
/// scanned name had, for the identity rows.
#[derive(Debug, Default)]
pub struct Serving {
    served: HashMap<String, Vec<String>>,
    /// Endpoints per scanned name (the SNI, else the host), by the name's hash: a count, not
    /// the endpoints (those are in the endpoint report), so that a million-endpoint sweep
    /// keeps ~20 bytes a name for this.
    seen: HashMap<u64, u32>,
    /// The same per parent domain (`www.x.com` counts for `x.com`), for wildcards.
    under: HashMap<u64, u32>,
    /// Serials a stapled OCSP response (signature checked) says the CA revoked, with when.
    revoked_by_ca: HashMap<String, String>,
}

fn name_key(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(name.trim_end_matches('.').to_ascii_lowercase())
}

impl Serving {
    /// Notes where `v`'s certificates are served: the one it presented and the other key
    /// type's, when a second look got one; and that its name was scanned.
    pub fn note(&mut self, v: &Verdict) {
        let o = &v.observation;
        let name = o.sni.as_deref().unwrap_or(&o.host);
        *self.seen.entry(name_key(name)).or_default() += 1;
        if let Some((_, parent)) = name.split_once('.') {
            *self.under.entry(name_key(parent)).or_default() += 1;
        }
        let Some(c) = &o.cert else { return };
        if o.findings.contains(&Finding::OcspRevoked) {
            let when = o.ocsp.as_deref().and_then(|i| i.revoked_at.clone());
            self.revoked_by_ca
                .insert(c.serial.clone(), when.unwrap_or_default());
        }
        let at = format!(
            "{}:{}@{}",
            o.host,
            o.port,
            o.ip.map(|i| i.to_string()).unwrap_or_default()
        );
        if let Some(other) = o.second_cert() {
            self.served
                .entry(other.serial.clone())
                .or_default()
                .push(at.clone());
        }
        self.served.entry(c.serial.clone()).or_default().push(at);
    }

    /// How many scanned endpoints `names` had; a wildcard counts the names one label under
    /// it.
    fn scanned(&self, names: &[&str]) -> u64 {
        names
            .iter()
            .map(|n| match n.strip_prefix("*.") {
                Some(parent) => self.under.get(&name_key(parent)),
                None => self.seen.get(&name_key(n)),
            })
            .map(|c| u64::from(c.copied().unwrap_or(0)))
            .sum()
    }
}

/// The host of a [`Serving`] place (`host:port@ip`).
fn place_host(at: &str) -> &str {
    place_host_port(at).0
}

/// The host and port of a [`Serving`] place (`host:port@ip`).
fn place_host_port(at: &str) -> (&str, Option<u16>) {
    let name_port = at.rsplit_once('@').map_or(at, |(np, _)| np);
    match name_port.rsplit_once(':') {
        Some((name, port)) => (name, port.parse().ok()),
        None => (name_port, None),
    }
}

/// The findings a verdict adds to the statuses that hold and the observation's trust
/// findings, each for something the next step names (`--fail-on` accepts them too).
pub const VERDICT_FINDINGS: [&str; 19] = [
    "deployment_failed",
    "deployment_rolled_back",
    "deployment_stuck",
    "dual_certificates",
    "names_managed_elsewhere",
    "newer_than_records",
    "newest_ambiguous",
    "not_deployed_per_records",
    "partial_rollout",
    "records_say_deployed",
    "renewal_cancelled",
    "renewal_drops_name",
    "renewal_expired",
    "renewal_not_yet_valid",
    "renewal_pending",
    "renewal_revoked",
    "serial_ambiguous",
    "successor_not_in_records",
    "unreachable",
];

/// The statuses an endpoint earns without any record: what a sweep without `--inventory`
/// can fail on (`--fail-on`). The same rules as [`judge_one`]'s for these statuses.
pub const RECORD_FREE: [Status; 6] = [
    Status::Unreachable,
    Status::Revoked,
    Status::Expired,
    Status::HostnameMismatch,
    Status::Untrusted,
    Status::ExpiringSoon,
];

/// Which of [`RECORD_FREE`] hold for `o` at `now`, with `window` as the renewal window: for
/// its certificate and, where a second look got another one, for that one too (as
/// [`judge_one`] judges both).
pub fn record_free_statuses(o: &Observation, now: i64, window: i64) -> Vec<Status> {
    let Some(c) = &o.cert else {
        return vec![Status::Unreachable];
    };
    let mut out = Vec::new();
    let mut judge = |c: &crate::model::CertInfo, findings: &[Finding]| {
        let expired = now > c.not_after_unix;
        if expired {
            out.push(Status::Expired);
        }
        if findings.contains(&Finding::HostnameMismatch) {
            out.push(Status::HostnameMismatch);
        }
        if findings.contains(&Finding::OcspRevoked) {
            out.push(Status::Revoked);
        }
        if findings.iter().any(|f| f.makes_untrusted()) {
            out.push(Status::Untrusted);
        }
        if !expired && c.not_after_unix - now <= window {
            out.push(Status::ExpiringSoon);
        }
    };
    judge(c, &o.findings);
    if let (Some(second), Some(other)) = (o.second_cert(), o.other_key.as_deref()) {
        judge(second, &other.findings);
    }
    out.sort();
    out.dedup();
    out
}

/// Judges one observation; also returns the matched and expected record indexes.
fn judge(
    o: Box<Observation>,
    ids: &Identities,
    p: &Policy,
) -> (Verdict, Option<usize>, Option<usize>) {
    let mut findings: Vec<String> = Vec::new();
    let host = o.sni.clone().unwrap_or_else(|| o.host.clone());
    let Some(c) = o.cert.clone() else {
        let (detail, next) = unreachable_text(&o);
        let expected_idx = ids.expected_for_host(&host, p.now);
        return (
            Verdict {
                observation: o,
                status: Status::Unreachable,
                findings: vec!["unreachable".into()],
                matched: None,
                expected: expected_idx.map(|i| RecordRef::of(&ids.records[i])),
                name_endpoints_current: None,
                detail,
                next_step: next,
            },
            None,
            None,
        );
    };
    let mut statuses: Vec<Status> = Vec::new();
    let mut detail = String::new();
    let mut next = String::new();
    let mut tie = None;
    // The renewal, served to clients of the other key type, and what the second look got.
    let mut beside: Option<(usize, &OtherKey)> = None;
    let mut later_version: Option<usize> = None;
    // The served certificate is the newest of its key type; a later one of the other type
    // exists and is judged as the endpoint's second certificate.
    let mut newest_of_kind = false;
    // The identity's latest version, expired itself; a later version that cannot be deployed.
    let mut lapsed: Option<usize> = None;
    let mut unusable: Option<usize> = None;
    // A renewal to deploy was named (the endpoint is `renewed_not_deployed` or pending).
    let mut names_renewal = false;
    let matched = ids.match_cert(&c, &host);
    let mut expected_idx = None;
    let expired = p.now > c.not_after_unix;
    let presented = format!("serial {} (expires {})", c.serial, c.not_after);
    match matched {
        Some((ri, ambiguous)) => {
            let r = &ids.records[ri];
            if ambiguous {
                findings.push("serial_ambiguous".into());
            }
            let exp = ids.newest(ids.identity_of[ri], Some(&host), p.now);
            expected_idx = exp;
            if !r.covers(&host) {
                // The wrong certificate is bound here: what should be served is the newest
                // certificate of the identity that manages this name, if any.
                if !ids.identities_for_host(&host).is_empty() {
                    expected_idx = ids.expected_for_host(&host, p.now);
                }
            }
            let mismatch = o.findings.contains(&Finding::HostnameMismatch);
            let mut renewal = ids.renewal_of(ri, &host, p.now, mismatch);
            // Told beside the name mismatch: the certificate bound here has a later version.
            later_version = exp.filter(|&ei| renewal.is_none() && ei != ri && ids.is_newer(ei, ri));
            if let Some(ei) = renewal {
                match renewal_served_beside(&o, ids, (ri, ei), &host, p.now) {
                    // Both are served, each to its key type's clients: what is served is
                    // the newest of its kind, and so expected below.
                    Some((Beside::Renewal(other), None)) => {
                        beside = Some((ei, other));
                        renewal = None;
                    }
                    Some((Beside::SameKindAsRenewal, None)) => {
                        newest_of_kind = true;
                        renewal = None;
                    }
                    // A later version than the served one remains: that is what this key
                    // type's clients should get.
                    Some((_, Some(own))) => {
                        renewal = Some(own);
                        expected_idx = Some(own);
                    }
                    None => {}
                }
            }
            // A later version that has expired is nothing to deploy. When the served one has
            // expired too, the identity needs a new certificate, not the provisioning bot;
            // when it has not (a short-lived later version), what is served is what is valid.
            if let Some(ei) =
                renewal.filter(|&ei| ids.records[ei].not_after.is_some_and(|w| w.unix < p.now))
            {
                renewal = None;
                if expired {
                    lapsed = Some(ei);
                }
            }
            if renewal.is_none() && lapsed.is_none() {
                unusable = ids.unusable_later(ri, &host, p.now);
            }
            if renewal.is_none()
                && lapsed.is_none()
                && exp.is_some()
                && r.covers(&host)
                && !matches!(r.status, RecordStatus::Revoked | RecordStatus::Superseded)
            {
                // Nothing is provably later than what is served (dates and links tie, or the
                // served version is later than every eligible one): it is what should be
                // served, and the report says so rather than naming another record.
                expected_idx = Some(ri);
                tie = ids.tied_with(ri, &host, p.now);
            }
            if let Some(ei) = renewal {
                names_renewal = true;
                let e = &ids.records[ei];
                let issued = e.issued_at().unwrap_or(i64::MIN);
                // No grace for an outage: once the served certificate has expired, clients
                // fail now, whatever provisioning may still be doing; none either once the
                // records say the deployment ended.
                // The endpoint's own deployment status when the export gives one per
                // endpoint, else the renewal's.
                let deployment = e.deployment_at(&host, o.port);
                let young = issued > p.now - p.grace_secs
                    && !expired
                    && deployment_may_be_running(deployment.0);
                let exp_txt = format!(
                    "serial {} (record {}, valid until {})",
                    e.serial_hex().unwrap_or("?"),
                    e.record_id,
                    e.not_after
                        .map(|w| rfc3339_unix(w.unix))
                        .unwrap_or_else(|| "?".into())
                );
                let said = deployment
                    .1
                    .map(|raw| format!(" The records show its deployment as \"{raw}\"."))
                    .unwrap_or_default();
                if young {
                    statuses.push(Status::DeploymentPending);
                    detail = format!(
                        "Serves {presented} of record {}; its renewal {exp_txt} was issued less than the grace period ago.{said}",
                        r.record_id
                    );
                    next = if deployment.0 == Some(DeployStatus::ConfigPending) {
                        "The renewal's deployment waits for its configuration: complete its deployment profile and bot in the CLM, then verify again after the grace period.".into()
                    } else {
                        "Provisioning may still be running: verify again after the grace period; if the old certificate is still served then, check the renewal order's provisioning bot.".into()
                    };
                } else {
                    statuses.push(Status::RenewedNotDeployed);
                    detail = format!(
                        "Serves {presented} of record {}, but it was renewed as {exp_txt}.",
                        r.record_id
                    );
                    let bot = e
                        .provisioning_bot
                        .as_deref()
                        .map(|b| format!(" ({b})"))
                        .unwrap_or_default();
                    next = format!(
                        "Check the renewal order's linked provisioning bot{bot}, confirm the deployment profile reloads or restarts the service, re-run provisioning, then verify the endpoint again."
                    );
                    detail.push_str(&said);
                    if let Some((finding, step)) = deployment_said(e, deployment, p) {
                        findings.push(finding.into());
                        next = step;
                    }
                    if expired {
                        next = format!("{OUTAGE_FIRST}{next}");
                    }
                }
                // A second certificate is judged on its own (`judge_one`) and named there.
                if let (Some(other), None) = (o.other_key.as_deref(), o.second_cert()) {
                    detail.push_str(&second_look_text(other));
                }
            }
            // Served for a name it does not cover, its lost successor is no more this name's
            // certificate than it is: the binding is what to fix (`hostname_mismatch`).
            if r.status == RecordStatus::Superseded
                && !mismatch
                && renewal.is_none()
                && lapsed.is_none()
                && unusable.is_none()
                && !ids.has_later(ri)
            {
                // The platform says it was replaced; the replacement is not in this export
                // (filtered by date, group or status). Saying "current" would hide exactly
                // the renewed-but-undeployed case this tool is for.
                statuses.push(Status::RenewedNotDeployed);
                findings.push("successor_not_in_records".into());
                detail = format!(
                    "Serves {presented} of record {}, which the records mark as replaced ({}), but no later version of it is in the records.",
                    r.record_id, r.status_raw
                );
                next = "Find its replacement in the CLM (the export may be filtered by date, group or status), deploy it and reload the service, then verify again; export the records again so that the next sweep names it.".into();
            }
            if r.status == RecordStatus::Revoked {
                statuses.push(Status::Revoked);
                if next.is_empty() {
                    detail = format!(
                        "Serves {presented}, revoked according to record {}.",
                        r.record_id
                    );
                    next = "Deploy a valid certificate for this name (reissue if there is none), reload the service, then verify again.".into();
                } else {
                    detail.push_str(&format!(
                        " It is revoked according to record {}: clients that check revocation refuse it already.",
                        r.record_id
                    ));
                }
            }
        }
        None => {
            statuses.push(Status::Unmanaged);
            let mut names: Vec<String> = c.sans.clone();
            names.extend(c.subject_cn.iter().map(|s| s.to_ascii_lowercase()));
            names.push(host.clone());
            let managing: Vec<usize> = names
                .iter()
                .flat_map(|n| ids.identities_for_host(n))
                .collect();
            if let Some(&id) = managing.first() {
                findings.push("names_managed_elsewhere".into());
                expected_idx = ids
                    .expected_for_host(&host, p.now)
                    .or_else(|| ids.newest(id, Some(&host), p.now));
                let e = expected_idx.map(|i| &ids.records[i]);
                if let Some(e) = e.filter(|e| issued_after(&c, e)) {
                    // The server is ahead of the records (an export from before a renewal, or
                    // a certificate bought outside the CLM): replacing it with the managed
                    // one would roll the endpoint back.
                    findings.push("newer_than_records".into());
                    // Nothing in the records should replace it: no expected certificate
                    // (the older record is named in the detail).
                    expected_idx = None;
                    detail = format!(
                        "Serves {presented}, which is in no record and was issued {} (notBefore), after the newest version in the records: record {} (serial {}, issued {}).",
                        c.not_before,
                        e.record_id,
                        e.serial_hex().unwrap_or("?"),
                        e.not_before
                            .or(e.order_date)
                            .map(|w| rfc3339_unix(w.unix))
                            .unwrap_or_else(|| "?".into())
                    );
                    next = "Do not replace it with the older managed certificate: if the CLM issued it, the records predate the renewal (export them again); if not, import it into the CLM (discovery) and retire the older record; then verify again.".into();
                } else {
                    detail = format!(
                    "Serves {presented}, which is in no record; its names are managed by record {}.",
                    e.map(|e| &*e.record_id).unwrap_or("?")
                );
                    next = "Replace it with the managed certificate (re-run provisioning for that record), or import it into the CLM if it is legitimate, then verify again.".into();
                }
            } else {
                detail = format!(
                    "Serves {presented}, which is in no record, and no record manages its names."
                );
                next = "Import the certificate into the CLM (discovery) and assign an owner, or replace it with a managed certificate.".into();
            }
        }
    }
    let later_text = |at_expiry: bool| -> Option<(&'static str, String, String)> {
        if let Some(e) = lapsed.map(|i| &ids.records[i]) {
            return Some((
                "renewal_expired",
                format!(
                    " Its latest version in the records, serial {} (record {}), expired too, on {}.",
                    e.serial_hex().unwrap_or("?"),
                    e.record_id,
                    e.not_after.map(|w| rfc3339_unix(w.unix)).unwrap_or_else(|| "?".into())
                ),
                "Renew the certificate now (its latest version expired undeployed: check why the renewal was not deployed and why auto-renewal did not run again), deploy it and reload the service, then verify again.".into(),
            ));
        }
        let e = &ids.records[unusable?];
        Some(blocked_renewal(
            e,
            &host,
            c.not_after_unix,
            at_expiry,
            p.now,
        ))
    };
    let later = later_text(expired);
    if let Some((f, _, _)) = &later {
        findings.push((*f).into());
    }
    if expired && matched.is_none() {
        // Importing or keeping an expired certificate helps no one.
        next = match expected_idx {
            Some(ei) => format!(
                "Replace it now: it expired {} days ago. Deploy the managed certificate (record {}; re-run provisioning for it), reload the service, then verify again.",
                -days(c.not_after_unix - p.now),
                ids.records[ei].record_id
            ),
            None => format!(
                "Replace it now: it expired {} days ago. Order a certificate for {host}, import it into the CLM (discovery) with an owner, deploy it, then verify again.",
                -days(c.not_after_unix - p.now)
            ),
        };
    }
    // The CA itself says revoked, in the OCSP response the server staples (its signature
    // checked): whatever the records say, clients that check revocation refuse it.
    if o.findings.contains(&Finding::OcspRevoked) && !statuses.contains(&Status::Revoked) {
        statuses.push(Status::Revoked);
        let ocsp = o.ocsp.as_deref();
        let when = ocsp.and_then(|i| i.revoked_at.as_deref()).unwrap_or("?");
        let why = ocsp
            .and_then(|i| i.reason.as_deref())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let said = format!(
            "The CA's OCSP response, stapled by the server, says it was revoked on {when}{why}."
        );
        if next.is_empty() {
            detail = format!("Serves {presented}. {said}");
            next = "Deploy a valid certificate for this name (reissue it; after a keyCompromise revocation, with a new key), reload the service, then verify again; record the revocation in the CLM.".into();
        } else {
            detail.push_str(&format!(" {said}"));
        }
    }
    if expired {
        statuses.push(Status::Expired);
        if next.is_empty() {
            detail = format!(
                "Serves {presented}: expired {} days ago.",
                -days(c.not_after_unix - p.now)
            );
            next = "Renew the certificate now (check why auto-renewal did not run: renewal window, DCV, approvals), deploy it and reload the service, then verify again.".into();
            if let Some((_, more, step)) = &later {
                detail.push_str(more);
                next = step.clone();
            }
        }
    }
    if o.findings.contains(&Finding::HostnameMismatch) {
        statuses.push(Status::HostnameMismatch);
        if next.is_empty() {
            detail = format!(
                "Serves {presented}, which does not cover {host} (names: {}).",
                c.sans.join(", ")
            );
            if let Some(e) = later_version.map(|i| &ids.records[i]) {
                detail.push_str(&format!(
                    " Its own identity has a later version: serial {} (record {}).",
                    e.serial_hex().unwrap_or("?"),
                    e.record_id
                ));
            }
            next = match expected_idx
                .map(|i| &ids.records[i])
                .filter(|e| e.covers(&host) && !matched.is_some_and(|(m, _)| ids.records[m].serial == e.serial))
            {
                // The records hold the certificate this name should have: say which.
                Some(e) => format!(
                    "Bind the certificate of record {} (serial {}), which covers {host}, to this name (SNI / virtual host / keystore alias), reload, then verify again.",
                    e.record_id,
                    e.serial_hex().unwrap_or("?")
                ),
                None => format!("Check the SNI / virtual-host binding for {host}, or reissue the certificate with {host} as a SAN."),
            };
        }
    }
    // A certificate valid only from a later date is refused like an untrusted one (a
    // renewal deployed too early, a postdated reissue): not "current".
    let early = o.findings.contains(&Finding::NotYetValid);
    if o.findings.iter().any(|f| f.makes_untrusted()) {
        statuses.push(Status::Untrusted);
        if next.is_empty() {
            let why = o
                .trust_detail
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| format!("it is valid only from {}", c.not_before));
            detail = format!("Serves {presented}; clients will not trust it: {why}.");
            // The step for the most specific fault: each has another fix.
            let has = |f: Finding| o.findings.contains(&f);
            next = if has(Finding::IncompleteChain) {
                "Install the full chain (leaf plus intermediate) in the server's certificate file or keystore, reload, then verify again.".into()
            } else if early {
                format!(
                    "It is valid only from {}: if it was deployed early, put the previous certificate back until then (or reissue one valid now); if that date is right, check the server's and clients' clocks. Then verify again.",
                    c.not_before
                )
            } else if has(Finding::WeakKey) {
                "Reissue it with a key clients accept (RSA of 2048 bits or more, or ECDSA P-256), deploy it and reload the service, then verify again.".into()
            } else if has(Finding::WeakSignature) {
                "Reissue it from a CA that signs with SHA-256 (a private CA still set to SHA-1, such as an old AD CS, needs its hash algorithm changed, and a CA certificate signed with SHA-1 renewed), deploy it and reload the service, then verify again.".into()
            } else if has(Finding::ChainInvalid) {
                "Install the chain the CA issued with this certificate (the one served does not validate: see the detail), reload, then verify again.".into()
            } else {
                "Use a certificate from a CA the clients trust (or distribute the private root), then verify again.".into()
            };
        }
    }
    let renewed = statuses
        .iter()
        .any(|s| matches!(s, Status::RenewedNotDeployed | Status::DeploymentPending));
    let left = c.not_after_unix - p.now;
    if !expired && !renewed && left <= p.renewal_window_secs {
        statuses.push(Status::ExpiringSoon);
        if next.is_empty() {
            let none = if beside.is_some() {
                "no later version of its key type"
            } else {
                "no renewal"
            };
            match &later {
                Some((_, more, step)) => {
                    detail = format!("Serves {presented}: expires in {} days.{more}", days(left));
                    next = step.clone();
                }
                None => {
                    detail = format!(
                        "Serves {presented}: expires in {} days and {none} exists in the records.",
                        days(left)
                    );
                    next = "The renewal did not trigger: check auto-renew and the renewal window of the order, DCV and approvals, then renew and deploy.".into();
                }
            }
        }
    }
    statuses.sort();
    statuses.dedup();
    let status = statuses.first().copied().unwrap_or(Status::Current);
    if status == Status::Current {
        let kind = c.key_family().map_or("?", KeyFamily::as_str);
        detail = match beside {
            None if newest_of_kind => format!(
                "Serves the newest {kind} certificate of its identity (a later one has the other key type): {presented}."
            ),
            None => format!("Serves the newest certificate of its identity: {presented}."),
            Some((ei, other)) => format!(
                "Serves the newest certificates of its identity, one per key type: {presented} to {kind} clients and its renewal serial {} (record {}) to {} clients.",
                other.cert.as_ref().map_or("?", |oc| oc.serial.as_str()),
                ids.records[ei].record_id,
                other.offered.as_str()
            ),
        };
        next = "Nothing to do.".into();
        if let Some(t) = tie {
            // Judged current because nothing says otherwise, not because it was shown.
            let t = &ids.records[t];
            findings.push("newest_ambiguous".into());
            detail = format!(
                "Serves {presented}, as new as any version of its identity in the records: record {} (serial {}) ties with it on dates and no renewal link orders them.",
                t.record_id,
                t.serial_hex().unwrap_or("?")
            );
            next = "Confirm in the CLM which of the two is the newest (or export issue dates or renewal links), then verify again.".into();
        }
        if let Some((_, more, step)) = &later {
            // Valid today, but what should replace it cannot be deployed as it stands.
            detail.push_str(more);
            next = format!(
                "Nothing to do yet. Before this certificate expires ({}): {step}",
                c.not_after
            );
        }
    }
    // Served expired or revoked with no renewal to deploy, while the records hold another
    // certificate for the name valid today (an older version, another identity's): deploying
    // it ends the outage now, whatever the identity needs besides.
    if (expired || statuses.contains(&Status::Revoked)) && !names_renewal {
        if let Some(k) = ids.valid_for_host(&host, &c.serial, p.now) {
            let k = &ids.records[k];
            if !next.contains(&format!("record {}", k.record_id)) {
                let until = k
                    .not_after
                    .map(|w| rfc3339_unix(w.unix))
                    .unwrap_or_else(|| "?".into());
                let serial = k.serial_hex().unwrap_or("?");
                detail.push_str(&format!(
                    " Record {} (serial {serial}, valid until {until}) covers {host} and is valid today.",
                    k.record_id
                ));
                next = format!(
                    "Deploy the certificate of record {} (serial {serial}) now and reload the service: it is valid until {until}. Then: {next}",
                    k.record_id
                );
            }
        }
    }
    // A certificate read from an unfinished handshake: the server's TLS needs attention
    // even when the certificate is right.
    let unfinished = if o.findings.contains(&Finding::LegacyTls) {
        Some((
            "The server speaks only legacy TLS ({tls}), which current clients refuse",
            "upgrade the server's TLS configuration (TLS 1.2 with ECDHE and AES-GCM, or TLS 1.3)",
        ))
    } else if o.findings.contains(&Finding::UncommonTls) {
        Some((
            "The server refused a handshake like current clients make and accepted only a broader one ({tls}): it needs a key exchange group, signature algorithm or TLS 1.3 cipher suite they do not offer (such as only AES-CCM in TLS 1.3)",
            "check the server's TLS groups and certificate key type against its clients (P-256 or X25519 groups, a P-256, P-384 or RSA key)",
        ))
    } else {
        None
    };
    if let Some((what, fix)) = unfinished {
        let tls = o
            .tls
            .as_ref()
            .map(|t| format!("{}, {}", t.version, t.cipher_suite))
            .unwrap_or_else(|| "?".into());
        detail.push_str(&format!(
            " {}; the certificate was read from an unfinished handshake.",
            what.replace("{tls}", &tls)
        ));
        if status == Status::Current {
            next = format!("Nothing to do for the certificate; {fix}, then verify again.");
        }
    }
    // The server's OCSP stapling needs attention even when the certificate is right.
    if let Some((what, fix)) = stapling_fault(&o) {
        detail.push_str(&format!(" {what}."));
        if next == "Nothing to do." {
            next = format!("Nothing to do for the certificate; {fix}, then verify again.");
        }
    }
    let mut all: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
    all.extend(o.findings.iter().map(|f| f.as_str().to_string()));
    all.extend(findings);
    all.sort();
    all.dedup();
    let matched_idx = matched.map(|(i, _)| i);
    let v = Verdict {
        status,
        findings: all,
        matched: matched_idx.map(|i| RecordRef::of(&ids.records[i])),
        expected: expected_idx.map(|i| RecordRef::of(&ids.records[i])),
        name_endpoints_current: None,
        detail,
        next_step: next,
        observation: o,
    };
    (v, matched_idx, expected_idx)
}

/// Whether certificate `c` was issued after record `r`'s version: by notBefore (else the
/// order date, else notAfter), with a day's tolerance for a date-only record.
fn issued_after(c: &crate::model::CertInfo, r: &Record) -> bool {
    let (theirs, ours) = match r.not_before.or(r.order_date) {
        Some(w) => (w, c.not_before_unix),
        None => match r.not_after {
            Some(w) => (w, c.not_after_unix),
            None => return false,
        },
    };
    let tol = if theirs.date_only { 86_400 } else { 0 };
    ours > theirs.unix + tol
}

fn unreachable_text(o: &Observation) -> (String, String) {
    let e = o.error.as_ref();
    let msg = e.map(|e| e.message.clone()).unwrap_or_default();
    let target = match o.ip {
        Some(ip) => format!("{}:{} ({ip})", o.host, o.port),
        None => format!("{}:{}", o.host, o.port),
    };
    let next = match e.map(|e| e.class) {
        Some(ErrorClass::DnsNxdomain | ErrorClass::DnsNoAddress) => format!(
            "Fix the DNS records of {} or remove the endpoint from the inventory, then verify again.",
            o.host
        ),
        Some(ErrorClass::DnsError) => "The DNS lookup failed: check the authoritative servers and the resolver, then verify again.".into(),
        Some(ErrorClass::ConnectTimeout) => format!(
            "No TCP answer from {target}: check firewalls and security groups and that the service is up, then verify again."
        ),
        Some(ErrorClass::ConnectRefused) => format!(
            "Nothing listens on {target}: start the service or correct the port in the deployment profile, then verify again."
        ),
        Some(ErrorClass::ConnectError) if crate::model::no_route(o) => match o.ip {
            Some(std::net::IpAddr::V6(_)) => format!(
                "This host has no route to {target}'s network, so the endpoint was not tried: scan from a host with IPv6 connectivity, or pass --ipv4-only to leave AAAA answers out; if this host has IPv6, check its routes."
            ),
            _ => format!(
                "This host has no route to {target}'s network, so the endpoint was not tried: check this host's routes (VPN, jump host) towards it, then verify again."
            ),
        },
        Some(ErrorClass::ConnectError) => format!("The connection to {target} failed: check routing and the host, then verify again."),
        Some(ErrorClass::StarttlsError) => format!(
            "{target} did not agree to start TLS{}: enable TLS (STARTTLS) on the service; if the port speaks TLS from the first byte, give the target starttls=off (or --starttls off); then verify again.",
            o.starttls.map(|p| format!(" over {}", p.display_name())).unwrap_or_default()
        ),
        Some(ErrorClass::TlsProtocol) => "The server speaks no TLS version, cipher, key exchange group or key type in common with certsweep (SSL 3 or older, or a brainpool, Ed448 or FFDHE-only setup): upgrade its TLS configuration, then verify again.".into(),
        // The server has no certificate for the name the client asked for (SNI).
        Some(ErrorClass::TlsAlert) if msg == crate::model::SNI_REFUSED => format!(
            "{target} serves no certificate for the name {}: bind one to this name (virtual host, SNI mapping, keystore alias), or correct the name in the inventory, then verify again.",
            o.sni.as_deref().unwrap_or(&o.host)
        ),
        Some(ErrorClass::TlsTimeout) => format!(
            "{target} accepted the connection but completed no TLS handshake in time: the port may not speak TLS from the first byte (plain HTTP, or a protocol that needs STARTTLS: give the target starttls=...), or the service is hung or overloaded; check it, then verify again."
        ),
        Some(ErrorClass::Internal) => format!(
            "certsweep could not judge {target} (an internal error): check it by hand and report the error message with the endpoint."
        ),
        _ => format!(
            "{target} answered but the TLS handshake failed: check the listener's TLS configuration and certificate binding, then verify again."
        ),
    };
    (format!("No certificate from {target}: {msg}"), next)
}

/// The findings of [`deployment_said`]: what the records say about a missing renewal's
/// deployment, each with its own next step.
const DEPLOYMENT_SAID: [&str; 5] = [
    "deployment_failed",
    "deployment_rolled_back",
    "records_say_deployed",
    "deployment_stuck",
    "not_deployed_per_records",
];

/// What is wrong with the server's OCSP stapling (a stapled response it cannot use, a stale
/// one, none for a must-staple certificate), in words, and what fixes it.
fn stapling_fault(o: &Observation) -> Option<(String, &'static str)> {
    let info = o.ocsp.as_deref();
    if o.findings.contains(&Finding::MustStapleMissing) {
        Some((
            "The certificate is marked must-staple, but the server staples no OCSP response: Firefox refuses it".into(),
            "turn OCSP stapling on at the server (nginx: ssl_stapling on with a resolver; Apache: SSLUseStapling on; HAProxy: an .ocsp file beside the certificate), or reissue the certificate without must-staple",
        ))
    } else if o.findings.contains(&Finding::OcspInvalid) {
        let why = info
            .and_then(|i| i.problem.as_deref())
            .unwrap_or("unusable");
        Some((
            format!("The server staples an OCSP response clients cannot use: {why}"),
            "reload or restart the server so that it fetches the response for the certificate it serves (and check it reaches the CA's OCSP responder)",
        ))
    } else if o.findings.contains(&Finding::OcspStale) {
        let next = info.and_then(|i| i.next_update.as_deref()).unwrap_or("?");
        Some((
            format!("The OCSP response the server staples expired at {next} (its nextUpdate): clients ignore it"),
            "check that the server reaches the CA's OCSP responder to refresh its staple (firewall, proxy, resolver), or restart it",
        ))
    } else {
        None
    }
}

/// How the next step of an endpoint whose expired certificate has a renewal begins.
const OUTAGE_FIRST: &str =
    "The served certificate has expired, so clients fail now: deploy the renewal at once. ";

/// Whether a deployment status leaves waiting for provisioning right: a failed, rolled back
/// or finished deployment will not bring the renewal anywhere by itself.
fn deployment_may_be_running(status: Option<DeployStatus>) -> bool {
    matches!(
        status,
        None | Some(
            DeployStatus::Pending | DeployStatus::ConfigPending | DeployStatus::NotDeployed
        )
    )
}

/// What the records say about deploying the renewal `e` (`said`: its status and the words
/// for it, the endpoint's own or the record's), which endpoints do not serve: the finding it
/// earns and the step to take. A deployment still running (or not begun) says something
/// only once `e` was issued longer than the grace period ago before `now`; one that ended
/// (failed, rolled back, done) always does. `None` when the records say nothing that
/// changes the usual advice. One wording for the endpoint verdicts and the records report.
fn deployment_said(
    e: &Record,
    said: (Option<DeployStatus>, Option<&str>),
    p: &Policy,
) -> Option<(&'static str, String)> {
    let (status, raw) = said;
    let past_grace = e.issued_at().is_none_or(|t| t <= p.now - p.grace_secs);
    if deployment_may_be_running(status) && !past_grace {
        return None;
    }
    let raw = raw.unwrap_or_default();
    let bot = e
        .provisioning_bot
        .as_deref()
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    Some(match status? {
        DeployStatus::Failed => (
            "deployment_failed",
            format!("The records show the renewal's deployment failed (\"{raw}\"): read the provisioning bot's{bot} log for the cause (keystore or file write, permissions, reaching the server), fix it, re-run provisioning and confirm the service reloads, then verify again."),
        ),
        DeployStatus::RolledBack => (
            "deployment_rolled_back",
            format!("The records show the renewal's deployment was rolled back (\"{raw}\"), which put the old certificate back: find out why (the change record, the bot's{bot} log), deploy the renewal again, then verify again."),
        ),
        DeployStatus::Deployed => (
            "records_say_deployed",
            format!("The records show the renewal as deployed (\"{raw}\"), but it is not what is served: the service was not reloaded or restarted after the new certificate was written, the node was not among the deployment's targets (a load-balancer member), or the old file came back. Reload the service there, check the deployment's targets{bot}, then verify again."),
        ),
        DeployStatus::ConfigPending => (
            "deployment_stuck",
            format!("The records still show the renewal's deployment waiting for configuration (\"{raw}\") past the grace period: complete its deployment profile and bot{bot} in the CLM, run the deployment, then verify again."),
        ),
        DeployStatus::Pending => (
            "deployment_stuck",
            format!("The records still show the renewal's deployment as pending (\"{raw}\") past the grace period: check that the provisioning bot{bot} is running and reaches the server, re-run provisioning, then verify again."),
        ),
        DeployStatus::NotDeployed => (
            "not_deployed_per_records",
            format!("The records show no deployment of the renewal (\"{raw}\"): give it a deployment profile and bot in the CLM (or install it by hand) and reload the service, then verify again."),
        ),
    })
}

/// A later version `e` that cannot be deployed for `host` in place of a certificate expiring
/// at `expires` (`expired` already): its finding, a sentence for the detail and the next step.
/// One wording for the endpoint verdicts and the records report.
fn blocked_renewal(
    e: &Record,
    host: &str,
    expires: i64,
    expired: bool,
    now: i64,
) -> (&'static str, String, String) {
    let named = match e.serial_hex() {
        Some(s) => format!("serial {s} (record {})", e.record_id),
        None => format!("record {}", e.record_id),
    };
    let starts = e.not_before.filter(|w| w.unix > now).map(|w| w.unix);
    if !e.covers(host) {
        return (
            "renewal_drops_name",
            format!(
                " Its renewal {named} does not cover {host} (names: {}).",
                e.names().join(", ")
            ),
            format!("Reissue the renewal with {host} among its names (or order a certificate for {host}), deploy it and reload the service, then verify again."),
        );
    }
    match (e.status, starts) {
        (RecordStatus::Revoked, _) => (
            "renewal_revoked",
            format!(" Its renewal {named} was revoked."),
            "Order a replacement for the revoked renewal (and find out why it was revoked), deploy it and reload the service, then verify again.".into(),
        ),
        (RecordStatus::Cancelled, _) => (
            "renewal_cancelled",
            format!(" Its renewal {named} was cancelled or rejected ({}).", e.status_raw),
            "Place a new renewal order (the last one was cancelled or rejected), deploy the certificate and reload the service, then verify again.".into(),
        ),
        (_, Some(from)) if from > expires || expired => (
            "renewal_not_yet_valid",
            format!(
                " Its renewal {named} is valid only from {}, after this certificate expires.",
                rfc3339_unix(from)
            ),
            "Reissue the renewal with a validity that starts now (a certificate valid only later cannot bridge the gap), deploy it and reload the service, then verify again.".into(),
        ),
        (_, Some(from)) => (
            "renewal_not_yet_valid",
            format!(" Its renewal {named} is valid from {}.", rfc3339_unix(from)),
            format!("Deploy the renewal once it is valid ({}), before this certificate expires, then verify again.", rfc3339_unix(from)),
        ),
        _ => (
            "renewal_pending",
            format!(" Its renewal {named} is still pending ({}).", e.status_raw),
            "Complete the renewal order (DCV, approvals), deploy the certificate and reload the service, then verify again.".into(),
        ),
    }
}

/// Endpoints listed in one cell of the records report. A wildcard on thousands of endpoints
/// made cells of 100,000 characters, which spreadsheets cut at 32,767; every endpoint is in
/// the endpoint report anyway.
const PLACES_IN_A_CELL: usize = 200;

/// The first `max` of `items` joined by `sep`, and how many more there are.
fn capped<S: AsRef<str>>(items: &[S], max: usize, sep: &str) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut out = shown.join(sep);
    if items.len() > max {
        out.push_str(&format!("{sep}... ({} more)", items.len() - max));
    }
    out
}

/// One row per identity for `--records-report`.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityRow {
    /// Names of the newest certificate.
    pub names: String,
    /// Records in the identity.
    pub versions: usize,
    /// Newest certificate's record id.
    pub newest_record_id: String,
    /// Its order number.
    pub newest_order_id: String,
    /// Its canonical serial.
    pub newest_serial: String,
    /// Its notAfter.
    pub newest_not_after: String,
    /// Endpoints serving it.
    pub deployed_at: String,
    /// Endpoints serving older versions.
    pub stale_at: String,
    /// Record-level findings.
    pub findings: String,
    /// What to do next.
    pub next_step: String,
    /// The platform's id for the certificate across its renewals, when the records give one
    /// (of the newest version, else of any). Last, as it came later.
    pub identity_id: String,
}

/// Summarises identities against where their certificates were seen, sorted by names.
pub fn identity_rows(ids: &Identities, serving: &Serving, p: &Policy) -> Vec<IdentityRow> {
    let mut rows = Vec::new();
    let pushed: Result<(), std::convert::Infallible> = each_identity_row(ids, serving, p, |r| {
        rows.push(r);
        Ok(())
    });
    match pushed {
        Ok(()) => rows,
    }
}

/// Hands `each` one row per identity, sorted by names, made one at a time: a records report
/// of 200,000 identities held whole (rows, their strings, the sort's buffer) was a quarter
/// of the comparison's peak memory.
pub fn each_identity_row<E>(
    ids: &Identities,
    serving: &Serving,
    p: &Policy,
    mut each: impl FnMut(IdentityRow) -> Result<(), E>,
) -> Result<(), E> {
    let mut order: Vec<(String, usize)> = (0..ids.members.len())
        .filter_map(|id| {
            let (shown, _) = shown_version(ids, id, p.now)?;
            Some((ids.records[shown].names().join(";"), id))
        })
        .collect();
    // By names, then identity: the order a stable sort of the rows by names gave.
    order.sort_unstable();
    for (names, id) in order {
        if let Some(row) = identity_row(ids, serving, p, id, names) {
            each(row)?;
        }
    }
    Ok(())
}

/// The version an identity's row describes, and whether it is eligible as the newest: the
/// newest eligible one, else (all revoked, cancelled, pending or not yet valid) the latest.
fn shown_version(ids: &Identities, id: usize, now: i64) -> Option<(usize, bool)> {
    if let Some(newest) = ids.newest(id, None, now) {
        return Some((newest, true));
    }
    ids.members[id]
        .iter()
        .max_by_key(|&&m| (ids.records[m].issued_key(), ids.rank[m]))
        .map(|&latest| (latest, false))
}

/// One identity's row; `names` is its shown version's names, joined.
fn identity_row(
    ids: &Identities,
    serving_all: &Serving,
    p: &Policy,
    id: usize,
    names: String,
) -> Option<IdentityRow> {
    let members = &ids.members[id];
    let serving = &serving_all.served;
    let (shown, eligible) = shown_version(ids, id, p.now)?;
    let identity_id = std::iter::once(shown)
        .chain(members.iter().copied())
        .find_map(|m| ids.records[m].identity_id.as_deref())
        .unwrap_or_default()
        .to_string();
    if !eligible {
        // No eligible version: the identity still gets its row, so nothing in the records
        // goes unreported.
        let mut served = Vec::new();
        for &m in members {
            if let Some(s) = &ids.records[m].serial {
                for at in serving.get(&s.canonical).into_iter().flatten() {
                    served.push(format!("{at} (serial {})", s.canonical));
                }
            }
        }
        let statuses: Vec<String> = members
            .iter()
            .map(|&m| {
                let r = &ids.records[m];
                format!(
                    "{} {}",
                    r.record_id,
                    format!("{:?}", r.status).to_lowercase()
                )
            })
            .collect();
        return Some(IdentityRow {
            names,
            versions: members.len(),
            newest_record_id: String::new(),
            newest_order_id: String::new(),
            newest_serial: String::new(),
            newest_not_after: String::new(),
            deployed_at: String::new(),
            stale_at: capped(&served, PLACES_IN_A_CELL, ";"),
            findings: "no_valid_certificate".into(),
            next_step: format!(
                "No version is issued and valid ({}): order or approve a replacement{}.",
                statuses.join(", "),
                if served.is_empty() {
                    ""
                } else {
                    ", then replace it where it is still served"
                }
            ),
            identity_id,
        });
    }
    let newest = shown;
    let e = &ids.records[newest];
    let serial = e
        .serial
        .as_ref()
        .map(|s| s.canonical.clone())
        .unwrap_or_default();
    // Versions no date or link orders against the newest count as deployed too: which of
    // them is the newest cannot be told, and the endpoints serving them are judged current.
    let mut tied: Vec<usize> = ids.tied(newest, p.now).collect();
    tied.sort_unstable();
    let mut deployed = serving.get(&serial).cloned().unwrap_or_default();
    for &m in &tied {
        if let Some(s) = &ids.records[m].serial {
            deployed.extend(serving.get(&s.canonical).into_iter().flatten().cloned());
        }
    }
    let mut stale = Vec::new();
    // Some endpoint serves an older version that has expired: an outage, no grace.
    let mut stale_expired = false;
    for &m in members {
        if m == newest || tied.binary_search(&m).is_ok() {
            continue;
        }
        // A second record of the newest certificate itself is no older version.
        if let Some(s) = ids.records[m]
            .serial
            .as_ref()
            .filter(|s| s.canonical != serial)
        {
            for at in serving.get(&s.canonical).into_iter().flatten() {
                // Served beside the newest, to the other key type, and the newest of its
                // own kind: both are deployed there (see `renewal_served_beside`).
                let beside = deployed.contains(at)
                    && ids
                        .renewal_beside(m, None, newest, place_host(at), p.now)
                        .is_none();
                if !beside {
                    stale.push(format!("{at} (serial {})", s.canonical));
                    stale_expired |= ids.records[m].not_after.is_some_and(|w| w.unix < p.now);
                }
            }
        }
    }
    let mut findings = Vec::new();
    let mut next = String::from("Nothing to do.");
    if !tied.is_empty() {
        findings.push("newest_ambiguous");
        next = "Versions tie on dates and no renewal link orders them: confirm in the CLM which is the newest (or export issue dates or renewal links).".into();
    }
    let left = e.not_after.map(|w| w.unix - p.now);
    // A later version that cannot be deployed (revoked, cancelled, pending, not valid yet):
    // named, as on the endpoints' rows, instead of "no renewal".
    let in_window = matches!(left, Some(l) if l <= p.renewal_window_secs);
    // Only an identity near or past expiry is told of a blocked renewal: the lookup waits.
    let name_list = e.name_set();
    let blocked = name_list.first().filter(|_| in_window).and_then(|&name| {
        let b = ids.unusable_later(newest, name, p.now)?;
        let expires = e.not_after.map_or(i64::MAX, |w| w.unix);
        Some(blocked_renewal(
            &ids.records[b],
            name,
            expires,
            expires < p.now,
            p.now,
        ))
    });
    if matches!(left, Some(l) if l < 0) {
        findings.push("newest_expired");
        next = "The newest certificate has expired: renew it.".into();
    } else if in_window && blocked.is_none() {
        findings.push("expiring_no_renewal");
        next = "Expiring with no renewal in the records: check auto-renew, DCV and approvals, then renew.".into();
    }
    if let Some((f, more, step)) = blocked {
        findings.push(f);
        next = format!(
            "{}{more} {step}",
            if left.is_some_and(|l| l < 0) {
                "The newest usable certificate has expired."
            } else {
                "Expiring."
            }
        );
    }
    // Renewed: some version is provably older than the newest (a tie is no renewal).
    let renewed = members.iter().any(|&m| ids.is_newer(newest, m));
    let scanned = if deployed.is_empty() {
        serving_all.scanned(&name_list)
    } else {
        0
    };
    let issued = e.issued_at();
    // As the endpoints' verdicts say (deployment_pending): too early to call it failed.
    let young = issued.filter(|&t| {
        renewed
            && !stale.is_empty()
            && !stale_expired
            && t > p.now - p.grace_secs
            && deployment_may_be_running(e.deploy_status)
    });
    // What the records say about the renewal's deployment, where it is missing.
    let said = deployment_said(e, (e.deploy_status, e.deploy_status_raw.as_deref()), p)
        .filter(|_| young.is_none());
    if deployed.is_empty() && scanned == 0 && stale.is_empty() {
        // Seen nowhere because looked for nowhere: no advice about provisioning.
        findings.push("not_scanned");
        if next == "Nothing to do." || renewed {
            next = "None of its names was scanned in this sweep: add its endpoints to the targets to verify its deployment.".into();
        }
    } else if deployed.is_empty() && renewed {
        findings.push("renewed_seen_nowhere");
        next = "Renewed, but no scanned endpoint serves the new certificate: check the provisioning bot and deployment profile, re-run provisioning.".into();
    } else if deployed.is_empty() {
        findings.push("served_nowhere");
        if next == "Nothing to do." {
            next = format!(
                "Served at none of the {scanned} scanned endpoint(s) of its names: see their rows in the endpoint report (deploy or bind it there, or make them reachable), then verify again."
            );
        }
    }
    if !stale.is_empty() {
        findings.push("older_versions_served");
        if deployed.is_empty() {
            next = "Older versions are served and the new one nowhere: re-run provisioning and reload the services, then verify again.".into();
        } else {
            next = "Some endpoints still serve older versions: re-run provisioning on them and reload, then verify again.".into();
        }
    }
    let missing = findings
        .iter()
        .any(|f| matches!(*f, "renewed_seen_nowhere" | "older_versions_served"));
    if let (true, Some((finding, step))) = (missing, said) {
        findings.push(finding);
        next = step;
    } else if !deployed.is_empty() && stale.is_empty() && next == "Nothing to do." {
        // Served wherever its names were scanned, while the records say it was not
        // deployed: the platform's state is wrong, and its next renewal starts from it.
        let not_deployed = |status: Option<DeployStatus>| {
            matches!(
                status,
                Some(DeployStatus::Failed | DeployStatus::RolledBack | DeployStatus::NotDeployed)
            ) || (matches!(
                status,
                Some(DeployStatus::Pending | DeployStatus::ConfigPending)
            ) && issued.is_some_and(|t| t <= p.now - p.grace_secs))
        };
        // With a status per endpoint, only endpoints said not to have it count, and only
        // when each of them was scanned serving it: an unscanned failed one proves nothing.
        let outdated = match &e.deploy_by_target {
            Some(per) => {
                let against: Vec<&str> = per
                    .iter()
                    .filter(|(_, raw)| not_deployed(DeployStatus::from_raw(raw)))
                    .map(|(t, _)| t.as_str())
                    .collect();
                !against.is_empty()
                    && against.iter().all(|t| {
                        deployed.iter().any(|at| {
                            let (host, port) = place_host_port(at);
                            port.is_some_and(|port| target_names(t, host, port))
                        })
                    })
            }
            None => not_deployed(e.deploy_status),
        };
        if let (true, Some(raw)) = (outdated, e.deploy_status_raw.as_deref()) {
            findings.push("deploy_status_outdated");
            next = format!("Served wherever its names were scanned, but the records show its deployment as \"{raw}\": correct the deployment status in the CLM (a manual installation, or a bot that reported wrongly).");
        }
    }
    if let Some(t) = young {
        findings.push("deployment_pending");
        next = format!(
            "Renewed less than the grace period ago (issued {}): provisioning may still be running; verify again after {}.",
            rfc3339_unix(t),
            rfc3339_unix(t + p.grace_secs)
        );
    }
    if let Some(when) = serving_all.revoked_by_ca.get(&serial) {
        // The CA's word, stapled where it is served: whatever the export says.
        findings.push("revoked_by_ca");
        next = format!(
            "The CA revoked the newest certificate (on {when}, says the OCSP response its servers staple), while the records show it {}: order a replacement (with a new key if the key was compromised), deploy it, and record the revocation in the CLM.",
            if e.status_raw.is_empty() { "usable".to_string() } else { format!("as \"{}\"", e.status_raw) }
        );
    }
    Some(IdentityRow {
        names,
        versions: members.len(),
        newest_record_id: e.record_id.to_string(),
        newest_order_id: e.order_id.as_deref().unwrap_or_default().to_string(),
        newest_serial: serial,
        newest_not_after: e
            .not_after
            .map(|w| rfc3339_unix(w.unix))
            .unwrap_or_default(),
        deployed_at: capped(&deployed, PLACES_IN_A_CELL, ";"),
        stale_at: capped(&stale, PLACES_IN_A_CELL, ";"),
        findings: findings.join(";"),
        next_step: next,
        identity_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::load::{load_bytes, Loaded, ReadOptions};

    fn ids(csv: &str) -> Identities {
        let mut out = Loaded::default();
        load_bytes("inv.csv", csv.as_bytes(), &ReadOptions::default(), &mut out);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        Identities::build(out.records)
    }

    /// The name-set rule as first written: every pair of records that share a name, the
    /// later (the earlier-read at a tie) united with the other when its names cover them.
    fn pairwise_name_sets(records: &[Record]) -> UnionFind {
        let mut uf = UnionFind((0..records.len()).collect());
        let named: Vec<usize> = (0..records.len())
            .filter(|&i| has_certificate(&records[i]))
            .collect();
        for (x, &a) in named.iter().enumerate() {
            for &b in &named[x + 1..] {
                let (na, nb) = (records[a].names(), records[b].names());
                if !na.iter().any(|n| nb.contains(n)) {
                    continue;
                }
                let (newer, older, nn, on) = if records[a].issued_key() >= records[b].issued_key() {
                    (a, b, &na, &nb)
                } else {
                    (b, a, &nb, &na)
                };
                if on.iter().all(|o| nn.contains(o)) {
                    uf.union(newer, older);
                }
            }
        }
        uf
    }

    #[test]
    fn name_set_grouping_is_the_pairwise_rule() {
        // Random exports over a few names and dates (many ties, equal and nested name
        // sets, records without a certificate), no links or reissue numbers: the grouping
        // by name-set groups and rarest names must unite exactly what the pairwise rule
        // does.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        const NAMES: [&str; 6] = ["a.x", "b.x", "c.x", "*.x", "d.x", "e.x"];
        for round in 0..300 {
            let mut csv =
                String::from("Certificate ID,SANs,Common Name,Serial,Valid From,Valid To\n");
            for i in 0..(5 + next(40)) {
                let sans: Vec<&str> = (0..next(4)).map(|_| NAMES[next(6) as usize]).collect();
                let cn = if next(3) == 0 {
                    NAMES[next(6) as usize]
                } else {
                    ""
                };
                let serial = if next(8) == 0 {
                    String::new()
                } else {
                    format!("{:X}", i + 1)
                };
                let from = ["", "2026-01-01", "2026-02-01"][next(3) as usize];
                let to = ["", "2027-01-01", "2027-02-01"][next(3) as usize];
                csv.push_str(&format!(
                    "R{i},{},{cn},{serial},{from},{to}\n",
                    sans.join(";")
                ));
            }
            let mut out = Loaded::default();
            load_bytes("r.csv", csv.as_bytes(), &ReadOptions::default(), &mut out);
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            let got = Identities::build(out.records.clone());
            let mut want = pairwise_name_sets(&out.records);
            for a in 0..out.records.len() {
                for b in 0..out.records.len() {
                    assert_eq!(
                        got.identity_of[a] == got.identity_of[b],
                        want.find(a) == want.find(b),
                        "round {round}: records {a} and {b}\n{csv}"
                    );
                }
            }
        }
    }

    #[test]
    fn reissue_lineage_reads_any_order_number_without_panicking() {
        // Found by fuzzing: a non-ASCII character four bytes from the end panicked the whole
        // run while the records were grouped (a byte split inside the character).
        assert_eq!(reissue_base("ORD123R001"), Some("ORD123"));
        assert_eq!(reissue_base("Äußerer-1R002"), Some("Äußerer-1"));
        assert_eq!(reissue_base("ORD-0é901"), None);
        assert_eq!(reissue_base("ORD-1\u{200b}101"), None);
        assert_eq!(reissue_base("R001"), None);
        assert_eq!(reissue_base("é"), None);
        let i = ids("Order Number,Common Name,Serial Number,Expiry Date\n\
                     ORD-0é901,a.example,0A,2027-01-01\n");
        assert_eq!(i.records.len(), 1);
    }

    fn same(i: &Identities, a: &str, b: &str) -> bool {
        let pos = |id: &str| i.records.iter().position(|r| &*r.record_id == id).unwrap();
        i.identity_of[pos(a)] == i.identity_of[pos(b)]
    }

    fn newest_id(i: &Identities, of: &str) -> String {
        let pos = i.records.iter().position(|r| &*r.record_id == of).unwrap();
        let n = i.newest(i.identity_of[pos], None, 2_000_000_000).unwrap();
        i.records[n].record_id.to_string()
    }

    const H: &str =
        "Certificate ID,Order ID,SANs,Serial,Valid From,Valid To,Issuer,Renewal Of,Status\n";

    #[test]
    fn the_platforms_identity_id_joins_versions_whatever_their_names() {
        // B renews A (same certificate object) but dropped old.x.com; C is another object
        // whose names the name-set rule alone would not join to either.
        let i = ids(
            "Managed Certificate ID,Certificate ID,SANs,Serial,Valid From,Valid To,Status\n\
             M1,A,a.x.com;old.x.com,01,2025-06-01,2026-06-20,Issued\n\
             m1 ,B,a.x.com,02,2026-04-01,2027-04-01,Issued\n\
             M2,C,c.x.com,03,2026-04-01,2027-04-01,Issued\n",
        );
        assert!(same(&i, "A", "B"));
        assert!(!same(&i, "A", "C"));
        assert_eq!(newest_id(&i, "A"), "B");
        let v = judge_one(serving_a(), &i, &policy()).0;
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert_eq!(v.expected.map(|e| e.record_id).as_deref(), Some("B"));
        let mut serving = Serving::default();
        serving.note(&judge_one(serving_a(), &i, &policy()).0);
        let rows = identity_rows(&i, &serving, &policy());
        let row = rows.iter().find(|r| r.newest_record_id == "B").unwrap();
        assert_eq!(row.identity_id, "m1");
        assert_eq!(row.versions, 2);
        // Without the ids, the renewal that dropped a name is another identity.
        let apart = ids("Certificate ID,SANs,Serial,Valid From,Valid To,Status\n\
             A,a.x.com;old.x.com,01,2025-06-01,2026-06-20,Issued\n\
             B,a.x.com,02,2026-04-01,2027-04-01,Issued\n");
        assert!(!same(&apart, "A", "B"));
    }

    #[test]
    fn separate_groups_keep_business_units_apart_by_names() {
        // Two groups each buy a certificate for one name; O3 is group G1's latest.
        let csv = "orderNumber,domainName,certificateSerialNumber,certificateExpiryDate,orderDate,certificateStatus,groupNumber\n\
                   O1,shop.x.com,1,2026-09-01 00:00:00,2025-09-01 00:00:00,Certificate Downloaded,G1\n\
                   O2,shop.x.com,2,2027-05-01 00:00:00,2026-05-01 00:00:00,Certificate Downloaded,G2\n\
                   O3,shop.x.com,3,2027-04-01 00:00:00,2026-04-01 00:00:00,Certificate Downloaded,G1\n\
                   O4,shop.x.com,4,2027-04-02 00:00:00,2026-04-02 00:00:00,Certificate Downloaded,\n";
        let mut out = Loaded::default();
        load_bytes(
            "orders.csv",
            csv.as_bytes(),
            &ReadOptions::default(),
            &mut out,
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let joined = Identities::build(out.records.clone());
        assert!(same(&joined, "O1", "O2") && same(&joined, "O3", "O4"));
        let apart = Identities::build_with(
            out.records,
            Grouping {
                separate_groups: true,
            },
        );
        assert!(same(&apart, "O1", "O3"));
        assert!(!same(&apart, "O1", "O2"));
        // A record without a group is a group of its own.
        assert!(!same(&apart, "O3", "O4") && !same(&apart, "O2", "O4"));
        let serving_o3 = || presenting("shop.x.com", "10.0.0.1", "3", 1_775_001_600, 1_806_537_600);
        // Joined, G2's later purchase makes G1's endpoint look undeployed.
        let v = judge_one(serving_o3(), &joined, &policy()).0;
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        let v = judge_one(serving_o3(), &apart, &policy()).0;
        assert_eq!(v.status, Status::Current, "{}", v.detail);
    }

    #[test]
    fn renewal_by_name_set_even_across_issuer_and_key_change() {
        let i = ids(&format!(
            "{H}A,,www.x.com;x.com,0A,2025-01-01,2026-01-01,Old RSA CA,,Issued\n\
             B,,x.com;www.x.com,0B,2025-12-01,2026-12-01,New ECC CA,,Issued\n"
        ));
        assert!(same(&i, "A", "B"));
        assert_eq!(newest_id(&i, "A"), "B");
    }

    #[test]
    fn san_superset_renews_but_subset_does_not() {
        let i = ids(&format!(
            "{H}A,,www.x.com,0A,2025-01-01,2026-01-01,CA,,Issued\n\
             B,,www.x.com;api.x.com,0B,2025-12-01,2026-12-01,CA,,Issued\n\
             C,,shop.x.com;cart.x.com,0C,2025-01-01,2026-01-01,CA,,Issued\n\
             D,,shop.x.com,0D,2025-12-01,2026-12-01,CA,,Issued\n"
        ));
        assert!(same(&i, "A", "B"));
        assert!(
            !same(&i, "C", "D"),
            "a newer certificate with fewer names is another identity"
        );
    }

    #[test]
    fn reissue_lineage_and_explicit_links() {
        let i = ids(&format!(
            "{H}X1,ORD7,a.x.com,01,2025-01-01,2026-01-01,CA,,Issued\n\
             X2,ORD7R001,b.x.com,02,2025-06-01,2026-06-01,CA,,Issued\n\
             Y1,,c.x.com,03,2025-01-01,2026-01-01,CA,,Issued\n\
             Y2,,renamed.x.com,04,2025-06-01,2026-06-01,CA,Y1,Issued\n"
        ));
        assert!(same(&i, "X1", "X2"));
        assert!(same(&i, "Y1", "Y2"));
        assert!(!same(&i, "X1", "Y1"));
        assert_eq!(newest_id(&i, "Y1"), "Y2");
    }

    #[test]
    fn wildcards_are_their_own_names_and_revoked_is_never_newest() {
        let i = ids(&format!(
            "{H}W1,,*.x.com,01,2025-01-01,2026-01-01,CA,,Issued\n\
             W2,,*.x.com,02,2025-06-01,2026-06-01,CA,,Revoked\n\
             P1,,www.x.com,03,2025-06-01,2026-06-01,CA,,Issued\n"
        ));
        assert!(same(&i, "W1", "W2"));
        assert!(!same(&i, "W1", "P1"));
        assert_eq!(newest_id(&i, "W2"), "W1");
        let covering = i.identities_for_host("api.x.com");
        assert_eq!(covering.len(), 1);
    }

    #[test]
    fn ambiguous_serial_matches_only_with_agreeing_expiry() {
        let i = ids(&format!(
            "{H}A,,a.x.com,1234,2025-01-01,2026-01-01T00:00:00Z,CA,,Issued\n"
        ));
        let mut c = crate::model::CertInfo {
            serial: "4D2".into(),
            serial_dec: "1234".into(),
            subject_cn: None,
            subject: String::new(),
            sans: vec!["a.x.com".into()],
            issuer: String::new(),
            issuer_cn: None,
            not_before: String::new(),
            not_after: String::new(),
            not_before_unix: 0,
            not_after_unix: 1_767_225_600,
            sha256: "00".into(),
            sha1: "00".into(),
            key_type: "EC".into(),
            key_bits: 256,
            signature_algorithm: String::new(),
            must_staple: false,
        };
        assert_eq!(i.match_cert(&c, "a.x.com"), Some((0, true)));
        c.not_after_unix += 10 * 86_400;
        assert_eq!(i.match_cert(&c, "a.x.com"), None);
    }

    /// The verdict tests' policy: now is 2026-05-28, a day's grace, a 30-day renewal window.
    fn policy() -> Policy {
        Policy {
            now: 1_780_000_000,
            grace_secs: 86_400,
            renewal_window_secs: 30 * 86_400,
        }
    }

    /// An endpoint of `host` at `ip` that gave no certificate: `class`, `message`.
    fn failing(host: &str, ip: &str, class: ErrorClass, message: &str) -> Box<Observation> {
        let mut o = presenting(host, ip, "0", 0, 0);
        o.cert = None;
        o.error = Some(crate::model::ErrorInfo {
            class,
            message: message.into(),
        });
        o
    }

    /// An endpoint of `host` at `ip` presenting a leaf with `serial` for `host`.
    fn presenting(
        host: &str,
        ip: &str,
        serial: &str,
        not_before: i64,
        not_after: i64,
    ) -> Box<Observation> {
        let ip = ip.parse().expect("an address");
        crate::fleet::presenting(host, ip, serial, not_before, not_after)
    }

    #[test]
    fn later_versions_that_cannot_be_deployed_are_named_with_what_to_do() {
        let p = policy();
        let served = || presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
        let judged = |later: &str| {
            let i = ids(&format!(
                "{H}A,,a.x.com,01,2025-06-01,2026-06-20,CA,,Issued\n{later}"
            ));
            judge_one(served(), &i, &p).0
        };
        // Before: "expires in 22 days and no renewal exists in the records".
        let v = judged("B,,a.x.com,02,2026-04-01,2027-04-01,CA,,Revoked\n");
        assert_eq!(v.status, Status::ExpiringSoon);
        assert!(
            v.detail
                .ends_with("expires in 22 days. Its renewal serial 2 (record B) was revoked."),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.starts_with("Order a replacement"),
            "{}",
            v.next_step
        );
        // A renewal valid only after the served certificate expires leaves a gap.
        let v = judged("B,,a.x.com,02,2026-07-01,2027-07-01,CA,,Issued\n");
        assert_eq!(v.status, Status::ExpiringSoon);
        assert!(
            v.detail.contains(
                "is valid only from 2026-07-01T00:00:00Z, after this certificate expires"
            ),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.starts_with("Reissue the renewal"),
            "{}",
            v.next_step
        );
        // ... one valid before then is to be deployed when it is.
        let v = judged("B,,a.x.com,02,2026-06-10,2027-06-10,CA,,Issued\n");
        assert!(
            v.detail
                .ends_with("Its renewal serial 2 (record B) is valid from 2026-06-10T00:00:00Z."),
            "{}",
            v.detail
        );
        assert!(
            v.next_step
                .starts_with("Deploy the renewal once it is valid (2026-06-10T00:00:00Z)"),
            "{}",
            v.next_step
        );
        // Nothing later: as before.
        let v = judged("");
        assert!(
            v.detail.ends_with("no renewal exists in the records."),
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_renewal_that_dropped_the_name_is_told_before_the_name_breaks() {
        let p = policy();
        let judged = |not_after: &str, expires: i64| {
            let i = ids(&format!(
                "{H}A,,a.x.com;b.x.com,01,2025-06-01,{not_after},CA,,Issued\n\
                 B,,b.x.com,02,2026-04-01,2027-04-01,CA,A,Issued\n"
            ));
            let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, expires);
            judge_one(o, &i, &p).0
        };
        // Within the renewal window: before, "no renewal exists in the records".
        let v = judged("2026-06-20", 1_781_913_600);
        assert_eq!(v.status, Status::ExpiringSoon);
        assert!(v.findings.contains(&"renewal_drops_name".to_string()));
        assert!(
            v.detail.ends_with(
                "Its renewal serial 2 (record B) does not cover a.x.com (names: b.x.com)."
            ),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.starts_with("Reissue the renewal with a.x.com"),
            "{}",
            v.next_step
        );
        // Months before: current, and the step to take before it expires.
        let v = judged("2026-12-20", 1_797_724_800);
        assert_eq!(v.status, Status::Current);
        assert!(v.findings.contains(&"renewal_drops_name".to_string()));
        assert!(
            v.next_step.starts_with("Nothing to do yet. Before this certificate expires (2026-12-20T00:00:00Z): Reissue"),
            "{}",
            v.next_step
        );
        // A name A never had (a wrongly bound certificate) and a bare address: nothing
        // was dropped.
        let i = ids(&format!(
            "{H}A,,a.x.com;b.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n\
             B,,b.x.com,02,2026-04-01,2027-04-01,CA,A,Issued\n"
        ));
        let mut o = presenting("c.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.findings.push(Finding::HostnameMismatch);
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::HostnameMismatch);
        assert!(!v.findings.contains(&"renewal_drops_name".to_string()));
        let mut o = presenting("10.0.0.1", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.sni = None;
        let v = judge_one(o, &i, &p).0;
        assert!(
            !v.findings.contains(&"renewal_drops_name".to_string()),
            "{:?}",
            v.findings
        );
    }

    #[test]
    fn a_replaced_record_without_its_successor_is_renewed_not_deployed() {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Superseded\n"
        ));
        let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        let v = judge_one(o, &i, &policy()).0;
        // Before: current, "Nothing to do".
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert!(v.findings.contains(&"successor_not_in_records".to_string()));
        assert_eq!(v.matched.map(|r| r.record_id).as_deref(), Some("A"));
        assert!(v.expected.is_none());
        assert!(
            v.next_step.starts_with("Find its replacement in the CLM"),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn expired_and_revoked_certificates_get_steps_that_fix_them() {
        let p = policy();
        // An expired certificate in no record: not "import it into the CLM".
        let i = ids(&format!(
            "{H}A,,b.x.com,01,2025-06-01,2026-09-20,CA,,Issued\n"
        ));
        let v = judge_one(
            presenting("a.x.com", "10.0.0.1", "FF", 1_700_000_000, 1_750_000_000),
            &i,
            &p,
        )
        .0;
        assert_eq!(v.status, Status::Expired);
        assert!(
            v.next_step.starts_with(
                "Replace it now: it expired 348 days ago. Order a certificate for a.x.com"
            ),
            "{}",
            v.next_step
        );
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-09-20,CA,,Issued\n"
        ));
        let v = judge_one(
            presenting("a.x.com", "10.0.0.1", "FF", 1_700_000_000, 1_750_000_000),
            &i,
            &p,
        )
        .0;
        assert!(
            v.next_step.starts_with(
                "Replace it now: it expired 348 days ago. Deploy the managed certificate (record A"
            ),
            "{}",
            v.next_step
        );
        // A revoked certificate with a renewal: renewed_not_deployed, and the detail says
        // it is revoked.
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-09-20,CA,,Revoked\n\
             B,,a.x.com,02,2026-04-01,2027-04-01,CA,,Issued\n"
        ));
        let v = judge_one(
            presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_789_862_400),
            &i,
            &p,
        )
        .0;
        assert_eq!(v.status, Status::RenewedNotDeployed);
        assert!(v.detail.ends_with("It is revoked according to record A: clients that check revocation refuse it already."), "{}", v.detail);
    }

    #[test]
    fn a_private_cas_serial_given_to_another_certificate_is_no_match() {
        let p = policy();
        let i = ids(&format!(
            "{H}D,,www.corp.example,02,2025-06-01,2027-01-01,Corp Dev CA,,Issued\n"
        ));
        // Another CA's certificate with the same small serial and name, another date.
        let mut o = presenting(
            "www.corp.example",
            "10.0.0.1",
            "2",
            1_748_736_000,
            1_785_542_400,
        );
        if let Some(c) = o.cert.as_mut() {
            c.issuer = "CN=Corp Prod CA".into();
            c.issuer_cn = Some("Corp Prod CA".into());
        }
        let v = judge_one(o, &i, &p).0;
        assert!(v.matched.is_none(), "{}", v.detail);
        assert_eq!(v.status, Status::Unmanaged);
        // Without an issuer column: the names differ, so still no match ...
        let i = ids(&format!(
            "{H}D,,www.corp.example,02,2025-06-01,2027-01-01,,,Issued\n"
        ));
        let o = presenting(
            "api.corp.example",
            "10.0.0.1",
            "2",
            1_748_736_000,
            1_785_542_400,
        );
        assert!(judge_one(o, &i, &p).0.matched.is_none());
        // ... but the same names with a date the export got wrong: the same certificate.
        let o = presenting(
            "www.corp.example",
            "10.0.0.1",
            "2",
            1_748_736_000,
            1_785_542_400,
        );
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.matched.map(|r| r.record_id).as_deref(), Some("D"));
        // A long random serial is the same certificate whatever the export's date says.
        let long = "5A0C3E1F00112233445566778899AABB";
        let i = ids(&format!(
            "{H}L,,www.corp.example,{long},2025-06-01,2027-01-01,Corp Dev CA,,Issued\n"
        ));
        let o = presenting(
            "api.corp.example",
            "10.0.0.1",
            long,
            1_748_736_000,
            1_785_542_400,
        );
        assert_eq!(
            judge_one(o, &i, &p)
                .0
                .matched
                .map(|r| r.record_id)
                .as_deref(),
            Some("L")
        );
    }

    #[test]
    fn the_expected_certificate_of_a_name_in_several_identities_is_the_latest_issued() {
        // Q (an old SAN certificate, read first), P (dedicated) and W (a wildcard, issued
        // last) all cover www.x.com.
        let i = ids(&format!(
            "{H}Q,,a.x.com;www.x.com,01,2024-06-01,2026-09-01,CA,,Issued\n\
             P,,www.x.com,02,2025-06-01,2026-09-01,CA,,Issued\n\
             W,,*.x.com,03,2026-02-01,2027-02-01,CA,,Issued\n"
        ));
        let p = policy();
        let o = failing(
            "www.x.com",
            "10.0.0.1",
            ErrorClass::ConnectRefused,
            "refused",
        );
        let v = judge_one(o, &i, &p).0;
        // Before: Q, the first read.
        assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("W"));
        // An unmanaged certificate for the name: the same.
        let o = presenting("www.x.com", "10.0.0.1", "FF", 1_748_736_000, 1_797_724_800);
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Unmanaged);
        assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("W"));
    }

    #[test]
    fn a_certificate_not_valid_yet_or_with_a_weak_key_is_untrusted_with_its_own_fix() {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-09-01,CA,,Issued\n\
             B,,a.x.com,02,2026-06-01,2027-06-01,CA,,Issued\n"
        ));
        let p = policy();
        // B deployed before its notBefore (2026-06-01; now is 2026-05-28): before, current.
        let mut o = presenting("a.x.com", "10.0.0.1", "2", 1_780_272_000, 1_811_808_000);
        o.findings.push(Finding::NotYetValid);
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Untrusted, "{}", v.detail);
        assert!(
            v.detail.ends_with(
                "clients will not trust it: it is valid only from 2026-06-01T00:00:00Z."
            ),
            "{}",
            v.detail
        );
        assert!(v.next_step.starts_with("It is valid only from 2026-06-01T00:00:00Z: if it was deployed early, put the previous certificate back"), "{}", v.next_step);
        // A weak key: not "use a certificate from a CA the clients trust".
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_788_220_800);
        o.findings.push(Finding::WeakKey);
        o.trust_detail = Some("RSA key of 1024 bits".into());
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Untrusted, "{}", v.detail);
        assert!(
            v.next_step
                .starts_with("Reissue it with a key clients accept"),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn a_node_left_with_a_certificate_outside_the_records_is_a_partial_rollout() {
        // The pipeline case: the records are the PEM just deployed (N); one node of the
        // name still serves the old certificate, which is in no record.
        let i = ids(&format!(
            "{H}N,,a.x.com,0B,2026-05-01,2027-05-01,CA,,Issued\n"
        ));
        let p = policy();
        let mut rollout = Rollout::default();
        let mut vs = Vec::new();
        for (ip, serial, nb) in [
            ("10.0.0.1", "B", 1_777_593_600),
            ("10.0.0.2", "A", 1_751_328_000),
        ] {
            let (v, ok) = judge_one(
                presenting("a.x.com", ip, serial, nb, nb + 31_536_000),
                &i,
                &p,
            );
            rollout.note(&v, ok);
            vs.push(v);
        }
        for v in &mut vs {
            rollout.annotate(v);
        }
        assert_eq!(vs[0].status, Status::Current);
        assert_eq!(vs[1].status, Status::Unmanaged);
        assert!(
            vs[1].findings.contains(&"partial_rollout".to_string()),
            "{:?}",
            vs[1].findings
        );
        assert!(
            vs[1].detail.ends_with(
                "Partial rollout: 1 of 2 endpoints of a.x.com:443 serve the new certificate (serial B)."
            ),
            "{}",
            vs[1].detail
        );
    }

    #[test]
    fn an_expired_certificate_gets_no_grace_for_its_young_renewal() {
        let hour_ago = crate::timefmt::rfc3339_unix(policy().now - 3_600);
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-05-01,2026-05-01,CA,,Issued\n\
             B,,a.x.com,02,{hour_ago},2027-05-01,CA,A,Issued\n"
        ));
        let o = presenting("a.x.com", "10.0.0.1", "1", 1_746_057_600, 1_777_593_600);
        let v = judge_one(o, &i, &policy()).0;
        // Before: deployment_pending, "verify again after the grace period", during an outage.
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert!(v.findings.contains(&"expired".to_string()));
        assert!(v.next_step.starts_with("The served certificate has expired, so clients fail now: deploy the renewal at once."), "{}", v.next_step);
    }

    /// Identities of `a.x.com`: A (served by [`serving_a`]) and its renewal B, issued
    /// `issued` ago, by bot-7, whose deployment the records give as `deploy`.
    fn renewed_with_deployment(issued: i64, deploy: &str) -> Identities {
        let when = crate::timefmt::rfc3339_unix(policy().now - issued);
        ids(&format!(
            "Certificate ID,SANs,Serial,Valid From,Valid To,Status,Renewal Of,Provisioning Bot,Deployment Status\n\
             A,a.x.com,01,2025-06-01,2026-06-20,Issued,,bot-7,Deployed\n\
             B,a.x.com,02,{when},2027-05-27,Issued,A,bot-7,{deploy}\n"
        ))
    }

    fn serving_a() -> Box<Observation> {
        presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600)
    }

    #[test]
    fn what_the_records_say_of_the_renewals_deployment_shapes_the_verdict() {
        let (hour, days) = (3_600, 10 * 86_400);
        let judge = |age: i64, deploy: &str| {
            judge_one(
                serving_a(),
                &renewed_with_deployment(age, deploy),
                &policy(),
            )
            .0
        };
        // A failed, rolled back or finished deployment will not come by waiting: no grace.
        for (age, deploy, finding, step) in [
            (hour, "Deployment Failed", "deployment_failed", "The records show the renewal's deployment failed (\"Deployment Failed\"): read the provisioning bot's (bot-7) log"),
            (days, "Rolled Back", "deployment_rolled_back", "The records show the renewal's deployment was rolled back"),
            (hour, "Deployed", "records_say_deployed", "The records show the renewal as deployed (\"Deployed\"), but it is not what is served: the service was not reloaded"),
            (days, "Configuration Pending", "deployment_stuck", "The records still show the renewal's deployment waiting for configuration"),
            (days, "In Progress", "deployment_stuck", "The records still show the renewal's deployment as pending (\"In Progress\") past the grace period"),
            (days, "Not Deployed", "not_deployed_per_records", "The records show no deployment of the renewal"),
        ] {
            let v = judge(age, deploy);
            assert_eq!(v.status, Status::RenewedNotDeployed, "{deploy}: {}", v.detail);
            assert!(v.findings.iter().any(|f| f == finding), "{deploy}: {:?}", v.findings);
            assert!(v.next_step.starts_with(step), "{deploy}: {}", v.next_step);
            assert!(v.detail.ends_with(&format!(" The records show its deployment as \"{deploy}\".")), "{}", v.detail);
        }
        // Still running within the grace period: pending, the configuration named.
        let v = judge(hour, "Configuration Pending");
        assert_eq!(v.status, Status::DeploymentPending, "{}", v.detail);
        assert!(
            v.next_step
                .starts_with("The renewal's deployment waits for its configuration"),
            "{}",
            v.next_step
        );
        let v = judge(hour, "Pending");
        assert_eq!(v.status, Status::DeploymentPending, "{}", v.detail);
        assert!(
            v.next_step.starts_with("Provisioning may still be running"),
            "{}",
            v.next_step
        );
        // Words the tool does not know, or none: the usual advice, the words in the detail.
        for deploy in ["Gamma", ""] {
            let v = judge(days, deploy);
            assert_eq!(v.status, Status::RenewedNotDeployed);
            assert!(
                v.next_step
                    .starts_with("Check the renewal order's linked provisioning bot (bot-7)"),
                "{}",
                v.next_step
            );
            assert_eq!(
                v.detail.contains("\"Gamma\""),
                !deploy.is_empty(),
                "{}",
                v.detail
            );
        }
    }

    #[test]
    fn an_export_with_a_status_per_endpoint_tells_each_endpoint_its_own() {
        // TLS Protect Cloud: one renewal, deployed to a.x.com:443, failed on b.x.com:8443.
        let i = ids(r#"[
            {"certificateId": "A", "serialNumber": "01", "managedCertificateId": "M",
             "validityStart": "2025-06-01", "validityEnd": "2026-06-20",
             "subjectAlternativeNamesByType": {"dNSName": ["a.x.com", "b.x.com"]}},
            {"certificateId": "B", "serialNumber": "02", "managedCertificateId": "M",
             "validityStart": "2026-04-01", "validityEnd": "2027-04-01",
             "subjectAlternativeNamesByType": {"dNSName": ["a.x.com", "b.x.com"]},
             "instances": [
               {"hostname": "a.x.com", "port": 443, "deploymentStatus": "DEPLOYED"},
               {"hostname": "b.x.com", "port": 8443, "deploymentStatus": "FAILED"}]}
        ]"#);
        let p = policy();
        let old = |host: &str, port: u16| {
            let mut o = presenting(host, "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
            o.port = port;
            judge_one(o, &i, &p).0
        };
        let a = old("a.x.com", 443);
        assert_eq!(a.status, Status::RenewedNotDeployed, "{}", a.detail);
        assert!(
            a.findings.iter().any(|f| f == "records_say_deployed"),
            "{:?}",
            a.findings
        );
        assert!(a.detail.ends_with("as \"DEPLOYED\"."), "{}", a.detail);
        let b = old("b.x.com", 8443);
        assert!(
            b.findings.iter().any(|f| f == "deployment_failed"),
            "{:?}",
            b.findings
        );
        assert!(b.detail.ends_with("as \"FAILED\"."), "{}", b.detail);
        // An endpoint the export names no status for gets the record's (any failure).
        let c = old("b.x.com", 443);
        assert!(
            c.findings.iter().any(|f| f == "deployment_failed"),
            "{:?}",
            c.findings
        );
        assert!(
            c.detail.ends_with("as \"DEPLOYED;FAILED\"."),
            "{}",
            c.detail
        );
    }

    #[test]
    fn a_status_per_endpoint_is_outdated_only_where_the_failed_endpoint_was_scanned() {
        let i = ids(r#"[
            {"certificateId": "B", "serialNumber": "02",
             "validityStart": "2026-04-01", "validityEnd": "2027-04-01",
             "subjectAlternativeNamesByType": {"dNSName": ["a.x.com", "b.x.com"]},
             "instances": [
               {"hostname": "a.x.com", "port": 443, "deploymentStatus": "DEPLOYED"},
               {"hostname": "b.x.com", "port": 8443, "deploymentStatus": "FAILED"}]}
        ]"#);
        let p = policy();
        let serving_at = |hosts: &[(&str, u16)]| {
            let mut serving = Serving::default();
            for (host, port) in hosts {
                let mut o = presenting(host, "10.0.0.1", "2", 1_775_001_600, 1_806_537_600);
                o.port = *port;
                serving.note(&judge_one(o, &i, &p).0);
            }
            identity_rows(&i, &serving, &p)
        };
        // Only the deployed endpoint was scanned: the failed one says nothing yet.
        assert_eq!(serving_at(&[("a.x.com", 443)])[0].findings, "");
        // The failed endpoint serves it too: the records are wrong.
        let rows = serving_at(&[("a.x.com", 443), ("b.x.com", 8443)]);
        assert_eq!(rows[0].findings, "deploy_status_outdated");
    }

    #[test]
    fn the_records_report_names_what_the_records_say_of_a_deployment() {
        let p = policy();
        let row = |i: &Identities, o: Box<Observation>| {
            let mut serving = Serving::default();
            serving.note(&judge_one(o, i, &p).0);
            identity_rows(i, &serving, &p)
                .into_iter()
                .find(|r| r.names == "a.x.com")
                .unwrap()
        };
        let failed = renewed_with_deployment(3_600, "Deployment Failed");
        let r = row(&failed, serving_a());
        assert_eq!(
            r.findings,
            "renewed_seen_nowhere;older_versions_served;deployment_failed"
        );
        assert!(
            r.next_step
                .starts_with("The records show the renewal's deployment failed"),
            "{}",
            r.next_step
        );
        // Served where scanned while the records say it failed: the records are wrong.
        let served = presenting("a.x.com", "10.0.0.1", "2", p.now - 3_600, 1_811_548_800);
        let r = row(&failed, served);
        assert_eq!(r.findings, "deploy_status_outdated");
        assert!(
            r.next_step
                .contains("correct the deployment status in the CLM"),
            "{}",
            r.next_step
        );
        // A deployment still running within the grace period is only pending.
        let r = row(&renewed_with_deployment(3_600, "Pending"), serving_a());
        assert_eq!(
            r.findings,
            "renewed_seen_nowhere;older_versions_served;deployment_pending"
        );
    }

    #[test]
    fn a_current_endpoint_with_a_stapling_fault_is_told_what_to_fix() {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n"
        ));
        let p = policy();
        let with = |finding: Finding, info: Option<crate::model::OcspInfo>| {
            let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
            o.findings.push(finding);
            o.ocsp = info.map(Box::new);
            judge_one(o, &i, &p).0
        };
        let v = with(Finding::MustStapleMissing, None);
        assert_eq!(v.status, Status::Current);
        assert!(
            v.next_step
                .starts_with("Nothing to do for the certificate; turn OCSP stapling on"),
            "{}",
            v.next_step
        );
        let stale = crate::model::OcspInfo {
            status: "good".into(),
            verified: true,
            this_update: None,
            next_update: Some("2026-05-01T00:00:00Z".into()),
            revoked_at: None,
            reason: None,
            problem: None,
        };
        let v = with(Finding::OcspStale, Some(stale));
        assert!(
            v.detail
                .ends_with("The OCSP response the server staples expired at 2026-05-01T00:00:00Z (its nextUpdate): clients ignore it."),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.contains("reaches the CA's OCSP responder"),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn a_certificate_the_ca_says_is_revoked_is_revoked_whatever_the_records_say() {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-12-20,CA,,Issued\n"
        ));
        let p = policy();
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_797_724_800);
        o.findings.push(Finding::OcspRevoked);
        o.ocsp = Some(Box::new(crate::model::OcspInfo {
            status: "revoked".into(),
            verified: true,
            this_update: None,
            next_update: None,
            revoked_at: Some("2026-05-27T10:00:00Z".into()),
            reason: Some("keyCompromise".into()),
            problem: None,
        }));
        assert_eq!(
            record_free_statuses(&o, p.now, p.renewal_window_secs),
            [Status::Revoked]
        );
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Revoked, "{}", v.detail);
        assert!(
            v.detail
                .ends_with("says it was revoked on 2026-05-27T10:00:00Z (keyCompromise)."),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.starts_with("Deploy a valid certificate"),
            "{}",
            v.next_step
        );
        // The records report names the identity whose newest certificate the CA revoked.
        let mut serving = Serving::default();
        serving.note(&v);
        let rows = identity_rows(&i, &serving, &p);
        assert_eq!(rows[0].findings, "revoked_by_ca");
        assert!(
            rows[0].next_step.starts_with(
                "The CA revoked the newest certificate (on 2026-05-27T10:00:00Z, says the OCSP response its servers staple), while the records show it as \"Issued\""
            ),
            "{}",
            rows[0].next_step
        );
    }

    #[test]
    fn a_backdated_renewal_ordered_today_is_still_pending() {
        // The CA set notBefore to the start of yesterday; the order was placed this
        // morning: within the day's grace (now is 2026-05-28T20:26:40Z).
        let i = ids(
            "Certificate ID,SANs,Serial,Valid From,Valid To,Order Date,Status\n\
             A,a.x.com,01,2025-06-01,2026-06-20,2025-05-30,Issued\n\
             B,a.x.com,02,2026-05-27,2027-05-27,2026-05-28T10:00:00Z,Issued\n",
        );
        let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
        let v = judge_one(o, &i, &policy()).0;
        assert_eq!(v.status, Status::DeploymentPending, "{}", v.detail);
    }

    #[test]
    fn the_records_report_names_a_renewal_that_cannot_be_deployed_too() {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-06-20,CA,,Issued\n\
             B,,a.x.com,02,2026-04-01,2027-04-01,CA,,Revoked\n"
        ));
        let p = policy();
        let mut serving = Serving::default();
        let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_781_913_600);
        serving.note(&judge_one(o, &i, &p).0);
        let rows = identity_rows(&i, &serving, &p);
        let a = rows.iter().find(|r| r.names == "a.x.com").unwrap();
        // Before: expiring_no_renewal, "Expiring with no renewal in the records".
        assert_eq!(a.findings, "renewal_revoked");
        assert_eq!(
            a.next_step,
            "Expiring. Its renewal serial 2 (record B) was revoked. Order a replacement for the revoked renewal (and find out why it was revoked), deploy it and reload the service, then verify again."
        );
    }

    #[test]
    fn an_expired_renewal_is_nothing_to_deploy() {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2024-01-01,2025-01-01,CA,,Issued\n\
             B,,a.x.com,02,2025-01-01,2026-01-01,CA,,Issued\n"
        ));
        let o = presenting("a.x.com", "10.0.0.1", "1", 1_704_067_200, 1_735_689_600);
        let v = judge_one(o, &i, &policy()).0;
        // Before: renewed_not_deployed, "re-run provisioning" (of a certificate that expired).
        assert_eq!(v.status, Status::Expired, "{}", v.detail);
        assert!(v.findings.contains(&"renewal_expired".to_string()));
        assert!(!v.findings.contains(&"renewed_not_deployed".to_string()));
        assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("B"));
        assert!(v.detail.ends_with("Its latest version in the records, serial 2 (record B), expired too, on 2026-01-01T00:00:00Z."), "{}", v.detail);
        assert!(
            v.next_step.starts_with("Renew the certificate now"),
            "{}",
            v.next_step
        );
        // A later, short-lived version that expired while the served one is valid: what is
        // served is what is valid (before: renewed_not_deployed, deploy the expired one).
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2027-06-01,CA,,Issued\n\
             B,,a.x.com,02,2025-09-01,2025-12-01,CA,,Issued\n"
        ));
        let o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_811_808_000);
        let v = judge_one(o, &i, &policy()).0;
        assert_eq!(v.status, Status::Current, "{}", v.detail);
        assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some("A"));
    }

    #[test]
    fn every_finding_a_verdict_adds_is_in_the_vocabulary() {
        // `--fail-on` refuses names outside it, so a finding added here and not there could
        // never fail a run.
        let src = include_str!("verdict.rs");
        let mut named = std::collections::BTreeSet::new();
        // Findings are pushed with `findings.push(..)`, the later versions' come as string
        // literals starting renewal_, and the unreachable one in a `vec!`.
        for (open, close) in [
            ("findings.push(\"", "\".into())"),
            ("\"renewal_", "\""),
            ("findings: vec![\"", "\".into()]"),
        ] {
            for (at, _) in src.match_indices(open) {
                let rest = &src[at + open.len()..];
                let Some(end) = rest.find(close) else {
                    continue;
                };
                let name = if open.contains("renewal_") {
                    format!("renewal_{}", &rest[..end])
                } else {
                    rest[..end].to_string()
                };
                if !name.ends_with('_') && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                {
                    named.insert(name);
                }
            }
        }
        for n in &named {
            assert!(
                VERDICT_FINDINGS.contains(&n.as_str()),
                "{n} is not in VERDICT_FINDINGS"
            );
        }
        assert!(named.len() >= 10, "{named:?}");
    }

    #[test]
    fn a_certificate_later_than_the_records_is_not_to_be_replaced() {
        let i = ids(&format!(
            "{H}A,,a.x.com,01,2025-06-01,2026-06-01,CA,,Issued\n"
        ));
        let p = policy();
        // Issued after A, not in the records: the export predates it.
        let v = judge_one(
            presenting("a.x.com", "10.0.0.1", "FF", 1_772_323_200, 1_788_220_800),
            &i,
            &p,
        )
        .0;
        assert_eq!(v.status, Status::Unmanaged, "{}", v.detail);
        assert!(v.findings.contains(&"newer_than_records".to_string()));
        assert!(v.findings.contains(&"names_managed_elsewhere".to_string()));
        assert!(v.expected.is_none());
        assert!(v.detail.contains("issued 2026-03-01T00:00:00Z (notBefore), after the newest version in the records: record A (serial 1, issued 2025-06-01T00:00:00Z)"), "{}", v.detail);
        assert!(
            v.next_step.starts_with("Do not replace it"),
            "{}",
            v.next_step
        );
        // Issued before A: a stray old certificate, to be replaced.
        let v = judge_one(
            presenting("a.x.com", "10.0.0.1", "FE", 1_717_200_000, 1_782_864_000),
            &i,
            &p,
        )
        .0;
        assert_eq!(v.status, Status::Unmanaged);
        assert!(!v.findings.contains(&"newer_than_records".to_string()));
        assert!(v.next_step.starts_with("Replace it"), "{}", v.next_step);
        // Issued on A's day when the records give only dates: not provably later.
        let v = judge_one(
            presenting(
                "a.x.com",
                "10.0.0.1",
                "FD",
                1_748_736_000 + 3_600,
                1_782_864_000,
            ),
            &i,
            &p,
        )
        .0;
        assert!(!v.findings.contains(&"newer_than_records".to_string()));
    }

    #[test]
    fn an_ipv6_endpoint_this_host_has_no_route_to_is_not_blamed() {
        let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
        let o = failing(
            "www.x.com",
            "2001:db8::1",
            ErrorClass::ConnectError,
            &format!("connect to [2001:db8::1]:443: {}", crate::model::NO_ROUTE),
        );
        let v = judge_one(o, &i, &policy()).0;
        assert_eq!(v.status, Status::Unreachable);
        assert!(
            v.next_step.starts_with("This host has no route to www.x.com:443 (2001:db8::1)'s network, so the endpoint was not tried: scan from a host with IPv6"),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn without_records_the_second_certificate_counts_too() {
        let p = policy();
        let mut o = presenting("a.x.com", "10.0.0.1", "1", 1_748_736_000, 1_811_808_000);
        assert!(record_free_statuses(&o, p.now, p.renewal_window_secs).is_empty());
        // The RSA certificate beside it expired: a run failing on `expired` fails.
        let rsa = presenting("a.x.com", "10.0.0.1", "2", 1_717_200_000, 1_748_736_000)
            .cert
            .clone();
        o.other_key = Some(Box::new(crate::model::OtherKey {
            offered: KeyFamily::Rsa,
            cert: rsa,
            findings: vec![Finding::Expired],
            trust_detail: None,
            error: None,
        }));
        assert_eq!(
            record_free_statuses(&o, p.now, p.renewal_window_secs),
            vec![Status::Expired]
        );
    }

    #[test]
    fn a_handshake_timeout_is_not_called_a_failed_handshake() {
        let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
        let o = failing(
            "www.x.com",
            "10.0.0.1",
            ErrorClass::TlsTimeout,
            "no TLS handshake within 10s",
        );
        let v = judge_one(o, &i, &policy()).0;
        assert_eq!(v.status, Status::Unreachable);
        assert!(
            v.next_step
                .starts_with("www.x.com:443 (10.0.0.1) accepted the connection but completed no TLS handshake in time"),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn a_mail_server_refusing_starttls_is_told_to_enable_it() {
        let i = ids(&format!("{H}B,,mail.x.com,0B,,,CA,,Issued\n"));
        let p = policy();
        let mut o = presenting("mail.x.com", "10.0.0.1", "B", 1_767_225_600, 1_798_761_600);
        o.cert = None;
        o.port = 25;
        o.starttls = Some(crate::model::Starttls::Smtp);
        o.error = Some(crate::model::ErrorInfo {
            class: ErrorClass::StarttlsError,
            message: "SMTP STARTTLS: the server does not offer STARTTLS".into(),
        });
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Unreachable);
        assert_eq!(
            v.detail,
            "No certificate from mail.x.com:25 (10.0.0.1): SMTP STARTTLS: the server does not offer STARTTLS"
        );
        assert!(
            v.next_step.starts_with(
                "mail.x.com:25 (10.0.0.1) did not agree to start TLS over SMTP: enable TLS (STARTTLS) on the service"
            ),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn a_server_without_a_certificate_for_the_name_is_told_to_bind_one() {
        // As `openssl s_server -servername_fatal` and SNI-strict proxies answer.
        let i = ids(&format!("{H}B,,shop.x.com,0B,,,CA,,Issued\n"));
        let p = policy();
        let o = failing(
            "shop.x.com",
            "10.0.0.1",
            ErrorClass::TlsAlert,
            "server sent alert UnrecognisedName",
        );
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::Unreachable);
        assert!(
            v.next_step.starts_with(
                "shop.x.com:443 (10.0.0.1) serves no certificate for the name shop.x.com: bind one"
            ),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn a_renewal_beside_the_old_certificate_is_judged_on_its_own_chain() {
        // The RSA renewal is deployed beside the old ECDSA certificate, but without its
        // intermediate: the endpoint is not "renewed_not_deployed", and not current either.
        let i = ids(&format!(
            "{H}A,,www.x.com,0A,2026-01-01,,CA,,Issued\nB,,www.x.com,0B,2026-02-01,,CA,,Issued\n"
        ));
        let p = policy();
        let (nb, na) = (1_767_225_600, 1_798_761_600);
        let mut o = presenting("www.x.com", "10.0.0.1", "A", nb, na);
        let mut renewal = presenting("www.x.com", "10.0.0.1", "B", nb, na).cert.take();
        if let Some(c) = &mut renewal {
            c.key_type = "RSA".into();
        }
        o.other_key = Some(Box::new(crate::model::OtherKey {
            offered: KeyFamily::Rsa,
            cert: renewal,
            findings: vec![Finding::IncompleteChain],
            trust_detail: Some("the server did not send the intermediate".into()),
            error: None,
        }));
        let (v, serves_expected) = judge_one(o, &i, &p);
        assert_eq!(v.status, Status::Untrusted, "{}", v.detail);
        assert!(serves_expected);
        assert_eq!(
            v.observation.cert.as_ref().map(|c| c.serial.as_str()),
            Some("B")
        );
        assert!(v.findings.contains(&"dual_certificates".to_string()));
        assert!(v.findings.contains(&"incomplete_chain".to_string()));
        assert!(v.detail.starts_with("To RSA clients: "), "{}", v.detail);
        assert!(
            v.detail.ends_with("ECDSA clients get serial A: current."),
            "{}",
            v.detail
        );
        assert!(
            v.next_step.starts_with("Install the full chain"),
            "{}",
            v.next_step
        );
        // Without the second look it is the old certificate, renewed.
        let o = presenting("www.x.com", "10.0.0.1", "A", nb, na);
        assert_eq!(judge_one(o, &i, &p).0.status, Status::RenewedNotDeployed);
    }

    #[test]
    fn a_certificate_bound_to_a_name_it_does_not_cover_is_a_binding_fault_not_a_missed_renewal() {
        // A proxy's default certificate answering for a name it has none for: its own
        // renewal is not what this name needs. A renewal that added the name is.
        let i = ids(&format!(
            "{H}A,,www.x.com,0A,2026-01-01,,CA,,Issued\n\
             B,,www.x.com;new.x.com,0B,2026-02-01,,CA,,Issued\n"
        ));
        let p = policy();
        let (nb, na) = (1_767_225_600, 1_798_761_600);
        let mut o = presenting("other.x.com", "10.0.0.1", "A", nb, na);
        o.findings.push(Finding::HostnameMismatch);
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::HostnameMismatch, "{}", v.detail);
        assert!(!v.findings.contains(&"renewed_not_deployed".to_string()));
        assert!(
            v.detail
                .contains("Its own identity has a later version: serial B"),
            "{}",
            v.detail
        );
        assert!(v
            .next_step
            .starts_with("Check the SNI / virtual-host binding"));
        let mut o = presenting("new.x.com", "10.0.0.1", "A", nb, na);
        o.findings.push(Finding::HostnameMismatch);
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert_eq!(
            v.expected.as_ref().and_then(|e| e.serial.as_deref()),
            Some("B")
        );
    }

    /// `presenting` with the key type `key_type` and, when given, a second look's
    /// certificate `other` of the other key type.
    fn presenting_key(
        host: &str,
        serial: &str,
        key_type: &str,
        other: Option<&str>,
    ) -> Box<Observation> {
        let (nb, na) = (1_767_225_600, 1_798_761_600);
        let mut o = presenting(host, "10.0.0.1", serial, nb, na);
        if let Some(c) = &mut o.cert {
            c.key_type = key_type.into();
        }
        let family = KeyFamily::of_key_type(key_type).map(KeyFamily::other);
        o.other_key = other.zip(family).map(|(serial, offered)| {
            let mut cert = presenting(host, "10.0.0.1", serial, nb, na).cert.take();
            if let Some(c) = &mut cert {
                c.key_type = if offered == KeyFamily::Rsa {
                    "RSA"
                } else {
                    "EC"
                }
                .into();
            }
            Box::new(crate::model::OtherKey {
                offered,
                cert,
                findings: Vec::new(),
                trust_detail: None,
                error: None,
            })
        });
        o
    }

    #[test]
    fn key_types_in_the_records_choose_the_second_look_and_the_stale_version() {
        let i = std::sync::Arc::new(ids(
            "Certificate ID,SANs,Serial,Valid From,Status,Key Type\n\
             A,www.x.com,0A,2026-01-01,Issued,ECDSA P-256\n\
             B,www.x.com,0B,2026-02-01,Issued,RSA 2048\n\
             C,api.x.com,0C,2026-01-01,Issued,EC\n\
             D,api.x.com,0D,2026-02-01,Issued,prime256v1\n\
             E,old.x.com,0E,2026-01-01,Issued,\n\
             F,old.x.com,0F,2026-02-01,Issued,\n\
             G,dual.x.com,1A,2026-01-01,Issued,EC\n\
             H,dual.x.com,1B,2026-02-01,Issued,RSA\n\
             J,dual.x.com,1C,2026-03-01,Issued,RSA\n\
             K,mig.x.com,2A,2026-01-01,Issued,RSA\n\
             L,mig.x.com,2B,2026-02-01,Issued,EC\n",
        ));
        let p = policy();
        let look = RenewalLook::new(i.clone(), p.now, false);
        let wanted =
            |host: &str, serial: &str| look.wanted(&presenting_key(host, serial, "EC", None));
        // The records know an RSA version of the name: asked even while serving the newest.
        assert_eq!(wanted("www.x.com", "A"), Some(KeyFamily::Rsa));
        // The renewal is ECDSA too: no RSA offer can reach it.
        assert_eq!(wanted("api.x.com", "C"), None);
        assert_eq!(wanted("api.x.com", "D"), None);
        // Key types unknown: the renewal may be the other one.
        assert_eq!(wanted("old.x.com", "E"), Some(KeyFamily::Rsa));
        assert_eq!(wanted("old.x.com", "F"), None);
        // G (ECDSA) beside J, the newest (RSA): H, the later version between them, is RSA,
        // so G is still the newest of its kind (without key types it was stale).
        let (v, serves) = judge_one(presenting_key("dual.x.com", "1A", "EC", Some("1C")), &i, &p);
        assert_eq!(v.status, Status::Current, "{}", v.detail);
        assert!(serves);
        assert!(v.findings.contains(&"dual_certificates".to_string()));
        // ... and H beside the ECDSA one is stale: J renewed it.
        let (v, _) = judge_one(presenting_key("dual.x.com", "1A", "EC", Some("1B")), &i, &p);
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert_eq!(
            v.observation.cert.as_ref().map(|c| c.serial.as_str()),
            Some("1B")
        );
        assert_eq!(
            v.expected.as_ref().and_then(|e| e.serial.as_deref()),
            Some("1C")
        );
        assert!(
            v.detail.ends_with("ECDSA clients get serial 1A: current."),
            "{}",
            v.detail
        );
        // A migration to ECDSA not deployed: the server has only the old RSA certificate and
        // refuses the ECDSA offer, so the newest (of the other key type) is what it lacks.
        let mut o = presenting_key("mig.x.com", "2A", "RSA", None);
        o.other_key = Some(Box::new(crate::model::OtherKey {
            offered: KeyFamily::Ecdsa,
            cert: None,
            findings: Vec::new(),
            trust_detail: None,
            error: Some(crate::model::ErrorInfo {
                class: ErrorClass::TlsProtocol,
                message: "server sent alert HandshakeFailure".into(),
            }),
        }));
        let v = judge_one(o, &i, &p).0;
        assert_eq!(v.status, Status::RenewedNotDeployed, "{}", v.detail);
        assert_eq!(
            v.expected.as_ref().and_then(|e| e.serial.as_deref()),
            Some("2B")
        );
    }

    #[test]
    fn a_legacy_server_with_the_newest_certificate_is_told_to_upgrade_its_tls() {
        let i = ids(&format!("{H}B,,www.x.com,0B,,,CA,,Issued\n"));
        let p = policy();
        let mut o = presenting("www.x.com", "10.0.0.1", "B", 1_767_225_600, 1_798_761_600);
        o.findings.push(Finding::LegacyTls);
        o.tls = Some(crate::model::TlsInfo {
            version: "TLSv1_0".into(),
            cipher_suite: "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
            alpn: None,
            kx_group: None,
        });
        let v = judge_one(o, &i, &p).0;
        // The certificate is right, so the status stays `current`; the next step is not
        // "nothing to do".
        assert_eq!(v.status, Status::Current, "{}", v.detail);
        assert!(v.findings.contains(&"legacy_tls".to_string()));
        assert!(
            v.detail.contains("TLSv1_0, TLS_RSA_WITH_AES_128_CBC_SHA"),
            "{}",
            v.detail
        );
        assert!(
            v.next_step
                .contains("upgrade the server's TLS configuration"),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn the_records_report_names_ties_and_ignores_a_second_record_of_one_certificate() {
        // P and Q tie (no dates, no link); S and S2 are two records of one certificate.
        let i = ids(&format!(
            "{H}P,,api.x.com,0C,,,CA,,Issued\n\
             Q,,api.x.com,0D,,,CA,,Issued\n\
             S,,www.x.com,0E,,,CA,,Issued\n\
             S2,,www.x.com,0E,,,CA,,Issued\n"
        ));
        let p = policy();
        let (nb, na) = (1_767_225_600, 1_798_761_600);
        let mut serving = Serving::default();
        for (host, ip, serial) in [
            ("api.x.com", "10.0.0.1", "C"),
            ("api.x.com", "10.0.0.2", "D"),
            ("www.x.com", "10.0.0.3", "E"),
        ] {
            serving.note(&judge_one(presenting(host, ip, serial, nb, na), &i, &p).0);
        }
        let rows = identity_rows(&i, &serving, &p);
        let api = rows.iter().find(|r| r.names == "api.x.com").unwrap();
        assert_eq!(api.findings, "newest_ambiguous");
        assert_eq!(api.stale_at, "");
        assert_eq!(api.deployed_at.split(';').count(), 2, "{}", api.deployed_at);
        assert!(
            api.next_step.starts_with("Versions tie on dates"),
            "{}",
            api.next_step
        );
        let www = rows.iter().find(|r| r.names == "www.x.com").unwrap();
        assert_eq!((www.findings.as_str(), www.stale_at.as_str()), ("", ""));
        assert_eq!(www.next_step, "Nothing to do.");
    }

    #[test]
    fn the_records_report_tells_unscanned_from_served_nowhere_and_waits_for_a_young_renewal() {
        // Y renews X an hour before "now" (policy: a day's grace); Z is served nowhere, its
        // name's endpoint presents another certificate; W's names were not scanned; V is a
        // wildcard whose name's endpoint was unreachable.
        let p = policy();
        let hour_ago = crate::timefmt::rfc3339_unix(p.now - 3_600);
        let i = ids(&format!(
            "{H}X,,a.x.com,0A,2025-06-01,2026-12-01,CA,,Issued\n\
             Y,,a.x.com,0B,{hour_ago},2027-06-01,CA,X,Issued\n\
             Z,,b.x.com,0C,2025-06-01,2026-12-01,CA,,Issued\n\
             W,,c.x.com,0D,2025-06-01,2026-12-01,CA,,Issued\n\
             V,,*.w.x.com,0E,2025-06-01,2026-12-01,CA,,Issued\n\
             Q,,d.x.com,0F,2024-05-01,2025-05-01,CA,,Issued\n\
             R,,d.x.com,10,{hour_ago},2027-06-01,CA,Q,Issued\n"
        ));
        let (nb, na) = (1_748_736_000, 1_796_083_200);
        let mut serving = Serving::default();
        serving.note(&judge_one(presenting("a.x.com", "10.0.0.1", "A", nb, na), &i, &p).0);
        serving.note(&judge_one(presenting("b.x.com", "10.0.0.2", "FF", nb, na), &i, &p).0);
        // Q has expired: its young renewal gets no grace here either.
        let q = presenting("d.x.com", "10.0.0.4", "F", 1_714_521_600, 1_746_057_600);
        serving.note(&judge_one(q, &i, &p).0);
        let down = failing(
            "m.w.x.com",
            "10.0.0.3",
            ErrorClass::ConnectRefused,
            "refused",
        );
        serving.note(&judge_one(down, &i, &p).0);
        let rows = identity_rows(&i, &serving, &p);
        let row = |n: &str| rows.iter().find(|r| r.names == n).unwrap();
        let a = row("a.x.com");
        assert_eq!(
            a.findings,
            "renewed_seen_nowhere;older_versions_served;deployment_pending"
        );
        assert!(
            a.next_step
                .starts_with("Renewed less than the grace period ago"),
            "{}",
            a.next_step
        );
        let d = row("d.x.com");
        assert_eq!(d.findings, "renewed_seen_nowhere;older_versions_served");
        let b = row("b.x.com");
        assert_eq!(b.findings, "served_nowhere");
        assert!(
            b.next_step
                .starts_with("Served at none of the 1 scanned endpoint(s) of its names"),
            "{}",
            b.next_step
        );
        let c = row("c.x.com");
        assert_eq!(c.findings, "not_scanned");
        assert!(
            c.next_step.starts_with("None of its names was scanned"),
            "{}",
            c.next_step
        );
        let w = row("*.w.x.com");
        assert_eq!(w.findings, "served_nowhere");
        assert!(
            w.next_step
                .starts_with("Served at none of the 1 scanned endpoint(s) of its names"),
            "{}",
            w.next_step
        );
    }

    #[test]
    fn a_certificate_on_thousands_of_endpoints_fits_a_spreadsheet_cell() {
        let i = ids(&format!(
            "{H}W,,*.x.com,0E,2025-06-01,2026-12-01,CA,,Issued\n"
        ));
        let p = policy();
        let mut serving = Serving::default();
        for n in 0..250 {
            let host = format!("h{n}.x.com");
            let v = judge_one(
                presenting(&host, "10.0.0.1", "E", 1_748_736_000, 1_796_083_200),
                &i,
                &p,
            )
            .0;
            serving.note(&v);
        }
        let rows = identity_rows(&i, &serving, &p);
        let cell = &rows[0].deployed_at;
        assert_eq!(cell.split(';').count(), PLACES_IN_A_CELL + 1);
        assert!(
            cell.ends_with(";... (50 more)"),
            "{}",
            &cell[cell.len() - 40..]
        );
        assert!(cell.len() < 32_767);
    }

    #[test]
    fn versions_without_dates_are_ordered_by_their_renewal_links() {
        // An export without dates, where only "Renewal Of" says that B renews A: serving A
        // used to be `current` (the dates tie) with B named as expected; it is
        // renewed_not_deployed. Two unlinked versions that tie cannot be ordered: serving
        // either is `current`, and the expected certificate is the one served.
        let i = ids(&format!(
            "{H}A,,www.x.com,0A,,,CA,,Issued\n\
             B,,www.x.com,0B,,,CA,A,Issued\n\
             P,,api.x.com,0C,,,CA,,Issued\n\
             Q,,api.x.com,0D,,,CA,,Issued\n"
        ));
        assert!(same(&i, "A", "B") && same(&i, "P", "Q"));
        let p = policy();
        let (nb, na) = (1_767_225_600, 1_798_761_600);
        let judged = |host: &str, serial: &str| {
            judge_one(presenting(host, "10.0.0.1", serial, nb, na), &i, &p).0
        };
        let stale = judged("www.x.com", "A");
        assert_eq!(stale.status, Status::RenewedNotDeployed, "{}", stale.detail);
        assert_eq!(stale.expected.map(|r| r.record_id).as_deref(), Some("B"));
        let fresh = judged("www.x.com", "B");
        assert_eq!(fresh.status, Status::Current);
        assert_eq!(fresh.expected.map(|r| r.record_id).as_deref(), Some("B"));
        assert!(!fresh.findings.contains(&"newest_ambiguous".to_string()));
        for (serial, id, other) in [("C", "P", "Q"), ("D", "Q", "P")] {
            let v = judged("api.x.com", serial);
            assert_eq!(v.status, Status::Current, "{}", v.detail);
            assert_eq!(v.matched.map(|r| r.record_id).as_deref(), Some(id));
            assert_eq!(v.expected.map(|r| r.record_id).as_deref(), Some(id));
            // ... but the row says that it could not be told, and which record ties.
            assert!(v.findings.contains(&"newest_ambiguous".to_string()));
            assert!(
                v.detail.contains(&format!("record {other} ")),
                "{}",
                v.detail
            );
            assert!(
                v.next_step.starts_with("Confirm in the CLM"),
                "{}",
                v.next_step
            );
        }
    }

    #[test]
    fn a_partial_rollout_is_told_on_every_endpoint_of_the_name_and_survives_the_spill() {
        // www.x.com renewed from 0A to 0B; two of its three balancer members serve 0B.
        let i = ids(&format!(
            "{H}A,,www.x.com,0A,2025-01-01,2026-12-01,CA,,Issued\n\
             B,,www.x.com,0B,2026-03-01,2027-03-01,CA,A,Issued\n\
             C,,api.x.com,0C,2026-01-01,2027-01-01,CA,,Issued\n"
        ));
        let p = policy();
        let (old_nb, old_na) = (1_735_689_600, 1_796_083_200);
        let (new_nb, new_na) = (1_772_323_200, 1_803_859_200);
        let seen = [
            presenting("www.x.com", "10.0.0.1", "B", new_nb, new_na),
            presenting("www.x.com", "10.0.0.2", "B", new_nb, new_na),
            presenting("www.x.com", "10.0.0.3", "A", old_nb, old_na),
            presenting("api.x.com", "10.0.0.9", "C", 1_767_225_600, 1_798_761_600),
        ];
        let mut rollout = Rollout::default();
        let mut verdicts = Vec::new();
        for o in seen {
            let (v, serves_expected) = judge_one(o, &i, &p);
            rollout.note(&v, serves_expected);
            // As `scan --inventory` keeps them until the end: a JSON line, read back.
            let line = serde_json::to_vec(&v).unwrap();
            verdicts.push(serde_json::from_slice::<Verdict>(&line).unwrap());
        }
        for v in &mut verdicts {
            rollout.annotate(v);
        }
        let at = |ip: &str| {
            verdicts
                .iter()
                .find(|v| v.observation.ip.map(|i| i.to_string()).as_deref() == Some(ip))
                .unwrap()
        };
        let stale = at("10.0.0.3");
        assert_eq!(stale.status, Status::RenewedNotDeployed);
        assert!(
            stale.findings.iter().any(|f| f == "partial_rollout"),
            "{:?}",
            stale.findings
        );
        assert_eq!(stale.name_endpoints_current.as_deref(), Some("2/3"));
        assert!(
            stale.detail.contains("2 of 3 endpoints of www.x.com:443"),
            "{}",
            stale.detail
        );
        assert!(
            stale
                .next_step
                .starts_with("This node (10.0.0.3) missed a rollout the other endpoints"),
            "{}",
            stale.next_step
        );
        let fresh = at("10.0.0.1");
        assert_eq!(fresh.status, Status::Current);
        assert_eq!(fresh.name_endpoints_current.as_deref(), Some("2/3"));
        assert!(!fresh.findings.iter().any(|f| f == "partial_rollout"));
        // A name with one endpoint says nothing of the others.
        assert_eq!(at("10.0.0.9").name_endpoints_current, None);
    }

    #[test]
    fn identity_without_valid_version_still_reported() {
        let i = ids(&format!(
            "{H}R1,O1,api.example.com,0A,2026-01-01,2027-01-01,CA,,Revoked\n\
             R2,O2,www.example.com,0B,2026-01-01,2027-01-01,CA,,Issued\n"
        ));
        let p = policy();
        let rows = identity_rows(&i, &Serving::default(), &p);
        assert_eq!(rows.len(), 2);
        let api = rows.iter().find(|r| r.names == "api.example.com").unwrap();
        assert_eq!(api.findings, "no_valid_certificate");
        assert!(api.next_step.contains("R1 revoked"), "{}", api.next_step);
    }

    #[test]
    fn a_renewal_valid_today_is_named_though_a_later_version_lapsed_first() {
        // R3, issued after R2 with a short validity, has expired; R2 is valid until July.
        // The endpoint's outage is fixed by deploying R2, not by ordering a certificate.
        let i = ids(&format!(
            "{H}R0,,h.x.com,A0,2025-05-08,2026-03-09,CA,,Issued\n\
             R2,,h.x.com,A2,2025-08-08,2026-07-19,CA,,Issued\n\
             R3,,h.x.com,A3,2025-09-18,2026-03-23,CA,,Issued\n"
        ));
        let p = policy();
        let (v, _) = judge_one(
            presenting("h.x.com", "10.0.0.1", "A0", 1_746_662_400, 1_773_014_400),
            &i,
            &p,
        );
        assert_eq!(v.status, Status::RenewedNotDeployed, "{v:#?}");
        let expected = v.expected.as_ref().and_then(|e| e.serial.as_deref());
        assert_eq!(expected, Some("A2"));
        assert!(v.next_step.starts_with(OUTAGE_FIRST), "{}", v.next_step);
        // The records report shows R2 as the identity's certificate, R0's endpoint as stale.
        let mut serving = Serving::default();
        serving.note(&v);
        let rows = identity_rows(&i, &serving, &p);
        assert_eq!(rows[0].newest_serial, "A2");
        assert_eq!(rows[0].stale_at, "h.x.com:443@10.0.0.1 (serial A0)");
    }

    #[test]
    fn an_outage_is_told_of_a_valid_certificate_the_records_hold() {
        // Served R2 has expired; its renewal R3 was revoked; R1, older, is valid a few more
        // days: deploy it now, then order the replacement.
        let i = ids(&format!(
            "{H}R1,,h.x.com,A1,2025-05-15,2026-06-03,CA,,Issued\n\
             R2,,h.x.com,A2,2025-11-26,2026-03-15,CA,,Issued\n\
             R3,,h.x.com,A3,2025-12-24,2026-08-06,CA,,Revoked\n"
        ));
        let p = policy();
        let (v, _) = judge_one(
            presenting("h.x.com", "10.0.0.1", "A2", 1_764_115_200, 1_773_532_800),
            &i,
            &p,
        );
        assert_eq!(v.status, Status::Expired, "{v:#?}");
        assert!(v.findings.iter().any(|f| f == "renewal_revoked"));
        assert!(
            v.next_step.starts_with(
                "Deploy the certificate of record R1 (serial A1) now and reload the service: it is valid until 2026-06-03T00:00:00Z. Then: Order a replacement for the revoked renewal"
            ),
            "{}",
            v.next_step
        );
        assert!(
            v.detail.contains("Record R1 (serial A1, valid until"),
            "{}",
            v.detail
        );
        // Nothing valid to fall back on: the step is the identity's alone.
        let i = ids(&format!(
            "{H}R2,,h.x.com,A2,2025-11-26,2026-03-15,CA,,Issued\n\
             R3,,h.x.com,A3,2025-12-24,2026-08-06,CA,,Revoked\n"
        ));
        let (v, _) = judge_one(
            presenting("h.x.com", "10.0.0.1", "A2", 1_764_115_200, 1_773_532_800),
            &i,
            &p,
        );
        assert!(
            v.next_step.starts_with("Order a replacement"),
            "{}",
            v.next_step
        );
    }

    /// An endpoint of `host` serving another site's certificate (`d.x.com`): a proxy's
    /// default certificate, a wrong SNI binding.
    fn serving_another_site(host: &str, serial: &str, nb: i64, na: i64) -> Box<Observation> {
        let mut o = presenting(host, "10.0.0.1", serial, nb, na);
        if let Some(c) = o.cert.as_mut() {
            c.sans = vec!["d.x.com".into()];
            c.subject_cn = Some("d.x.com".into());
        }
        o.findings.push(Finding::HostnameMismatch);
        o
    }

    #[test]
    fn another_sites_certificate_marked_replaced_is_a_binding_fault() {
        // D1 is d.x.com's, replaced by a successor the export lacks; served for h.x.com it
        // is bound wrongly, and h.x.com's own certificate is what to bind.
        let i = ids(&format!(
            "{H}R0,,h.x.com,A0,2026-01-01,2027-01-01,CA,,Issued\n\
             D1,,d.x.com,D1,2026-03-01,2027-03-01,CA,,Superseded\n"
        ));
        let o = serving_another_site("h.x.com", "D1", 1_772_323_200, 1_803_859_200);
        let (v, _) = judge_one(o, &i, &policy());
        assert_eq!(v.status, Status::HostnameMismatch, "{v:#?}");
        assert!(!v.findings.iter().any(|f| f == "successor_not_in_records"));
        assert!(
            v.next_step
                .starts_with("Bind the certificate of record R0 (serial A0)"),
            "{}",
            v.next_step
        );
    }

    #[test]
    fn a_valid_wildcard_is_named_before_a_lapsed_dedicated_certificate() {
        // h.x.com's dedicated certificate R3 expired in February; the wildcard W0, issued
        // before it, is valid until August: that is what the name should get.
        let i = ids(&format!(
            "{H}R3,,h.x.com,A3,2025-12-06,2026-02-12,CA,,Issued\n\
             W0,,*.x.com,B0,2025-09-24,2026-08-24,CA,,Issued\n\
             D0,,d.x.com,D0,2026-01-01,2027-01-01,CA,,Issued\n"
        ));
        let p = policy();
        let o = serving_another_site("h.x.com", "D0", 1_767_225_600, 1_798_761_600);
        let (v, _) = judge_one(o, &i, &p);
        assert_eq!(v.status, Status::HostnameMismatch, "{v:#?}");
        assert!(
            v.next_step
                .starts_with("Bind the certificate of record W0 (serial B0)"),
            "{}",
            v.next_step
        );
        let down = failing("h.x.com", "10.0.0.2", ErrorClass::ConnectRefused, "refused");
        let (v, _) = judge_one(down, &i, &p);
        let expected = v.expected.as_ref().map(|e| e.record_id.as_str());
        assert_eq!(expected, Some("W0"));
    }

    /// A small deterministic generator (xorshift64*): the scenarios below must be the same
    /// on every run, so that a failure can be read and replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[self.below(of.len() as u64) as usize]
        }
    }

    /// One generated version of `h.x.com`'s certificate, as the test reads it back.
    struct Version {
        serial: String,
        not_before: i64,
        not_after: i64,
        status: &'static str,
        deploy: &'static str,
    }

    #[test]
    fn generated_histories_never_get_a_verdict_that_contradicts_the_records() {
        // Thousands of histories of one name: versions with distinct issue dates, some
        // revoked, cancelled, still pending, marked replaced, expired or valid only later,
        // with every deployment status; the endpoint serves one of them or a certificate
        // in no record. Whatever the verdict, it must not contradict what the records and the
        // served certificate plainly say. Each assertion names the scenario's seed.
        const DAY: i64 = 86_400;
        let p = policy();
        let statuses = [
            "Issued",
            "Issued",
            "Issued",
            "Issued",
            "Revoked",
            "Cancelled",
            "Pending",
            "Superseded",
            "Expired",
        ];
        let deploys = [
            "",
            "",
            "Deployed",
            "Deployment Failed",
            "Pending",
            "Rolled back",
        ];
        // Which statuses and findings the scenarios reached: the generator must reach what
        // it claims to test.
        let mut reached = std::collections::BTreeMap::<String, usize>::new();
        for seed in 1..=3000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut csv = String::from(
                "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Deployment Status,Renewal Of\n",
            );
            // The name's own certificates (R0, R1, ...) and, in a third of the scenarios, a
            // wildcard's (W0, ...) that covers it too: two identities of one name.
            let mut lineages: Vec<(&str, Vec<Version>)> = vec![("R", Vec::new())];
            if rng.below(3) == 0 {
                lineages.push(("W", Vec::new()));
            }
            // And in a quarter, another site's certificate (D0, ...), which a proxy may
            // serve for this name by mistake.
            if rng.below(4) == 0 {
                lineages.push(("D", Vec::new()));
            }
            for (l, (prefix, versions)) in lineages.iter_mut().enumerate() {
                let n = 1 + rng.below(if *prefix == "R" { 4 } else { 2 }) as usize;
                // Issue dates at least a day apart, so that dates alone order every pair;
                // links, where given, agree with them. A renewal may add a name, never drop
                // one.
                let mut start = p.now - DAY * (30 + rng.below(700) as i64);
                let mut names = match *prefix {
                    "R" => "h.x.com",
                    "W" => "*.x.com",
                    _ => "d.x.com",
                };
                for k in 0..n {
                    start += DAY * (1 + rng.below(200) as i64);
                    // Now and then a renewal issued in the last two days: around the
                    // grace period.
                    let recent = p.now - rng.below(2 * DAY as u64) as i64;
                    if k > 0 && rng.below(3) == 0 && recent > start {
                        start = recent;
                    }
                    let not_before = start + rng.below(DAY as u64 / 2) as i64;
                    let not_after = not_before + DAY * (7 + rng.below(400) as i64);
                    let status = rng.pick(&statuses);
                    let serial = format!("{:X}", 0xA000 + seed * 16 + (l * 8 + k) as u64);
                    if *prefix == "R" && rng.below(5) == 0 {
                        names = "h.x.com;w.x.com";
                    }
                    let link = match k {
                        0 => String::new(),
                        _ if rng.below(2) == 0 => format!("{prefix}{}", k - 1),
                        _ => String::new(),
                    };
                    let deploy = rng.pick(&deploys);
                    csv.push_str(&format!(
                        "{prefix}{k},{names},{serial},{},{},CA,{status},{deploy},{link}\n",
                        rfc3339_unix(not_before),
                        rfc3339_unix(not_after),
                    ));
                    versions.push(Version {
                        serial,
                        not_before,
                        not_after,
                        status,
                        deploy,
                    });
                }
            }
            let i = ids(&csv);
            let identities = i.members.iter().filter(|m| !m.is_empty()).count();
            assert_eq!(identities, lineages.len(), "seed {seed}\n{csv}");
            // Served: a version of either lineage, or a certificate in no record.
            let count: usize = lineages.iter().map(|(_, v)| v.len()).sum();
            let pick = |rng: &mut Rng| {
                let mut pick = rng.below(count as u64 + 1) as usize;
                for (l, (_, versions)) in lineages.iter().enumerate() {
                    if let Some(v) = versions.get(pick) {
                        return (v.serial.clone(), v.not_before, v.not_after, Some((l, pick)));
                    }
                    pick -= versions.len();
                }
                let nb = p.now - DAY * rng.below(500) as i64;
                let na = nb + DAY * (1 + rng.below(500) as i64);
                (format!("FFFF{:02X}", rng.below(3)), nb, na, None)
            };
            // As the trust judge would find them.
            let observe = |ip: &str, serial: &str, nb: i64, na: i64| {
                let mut o = presenting("h.x.com", ip, serial, nb, na);
                let other_site = lineages
                    .iter()
                    .any(|(x, v)| *x == "D" && v.iter().any(|w| w.serial == serial));
                if let (true, Some(c)) = (other_site, o.cert.as_mut()) {
                    c.sans = vec!["d.x.com".into()];
                    c.subject_cn = Some("d.x.com".into());
                    o.findings.push(Finding::HostnameMismatch);
                }
                if na < p.now {
                    o.findings.push(Finding::Expired);
                }
                if nb > p.now {
                    o.findings.push(Finding::NotYetValid);
                }
                o
            };
            let (serial, nb, na, served) = pick(&mut rng);
            let (v, serves) = judge_one(observe("10.0.0.1", &serial, nb, na), &i, &p);
            // Other members of the name's load balancer serve what they serve; a partial
            // rollout is told where, and only where, another member serves this one's
            // expected certificate as its own expected one.
            let mut nodes = vec![(v.clone(), serves)];
            for ip in ["10.0.0.2", "10.0.0.3"]
                .into_iter()
                .take(rng.below(3) as usize)
            {
                let (s, nb, na, _) = pick(&mut rng);
                nodes.push(judge_one(observe(ip, &s, nb, na), &i, &p));
            }
            let mut rollout = Rollout::default();
            for (n, serves) in &nodes {
                rollout.note(n, *serves);
            }
            let serial_of = |n: &Verdict| n.observation.cert.as_ref().map(|c| c.serial.clone());
            let current = nodes.iter().filter(|(_, s)| *s).count();
            for k in 0..nodes.len() {
                let mut n = nodes[k].0.clone();
                rollout.annotate(&mut n);
                let why = format!("seed {seed}: node {k}\n{csv}-> {nodes:#?}\n-> {n:#?}");
                if nodes.len() > 1 {
                    let said = format!("{current}/{}", nodes.len());
                    assert_eq!(n.name_endpoints_current, Some(said), "{why}");
                }
                let expected = n.expected.as_ref().and_then(|e| e.serial.clone());
                let elsewhere = nodes.iter().enumerate().any(|(j, (o, serves))| {
                    j != k && *serves && expected.is_some() && serial_of(o) == expected
                });
                let partial = n.findings.iter().any(|f| f == "partial_rollout");
                if partial {
                    *reached.entry("partial_rollout".into()).or_default() += 1;
                }
                assert!(!partial || elsewhere, "partial rollout told; {why}");
                if matches!(
                    n.status,
                    Status::RenewedNotDeployed | Status::DeploymentPending
                ) && elsewhere
                {
                    assert!(partial, "partial rollout not told; {why}");
                }
            }
            let why = format!("seed {seed}: served {serial}\n{csv}-> {v:#?}");
            for f in v.findings.iter().chain([&v.status.as_str().to_string()]) {
                *reached.entry(f.clone()).or_default() += 1;
            }
            assert!(!v.detail.is_empty() && !v.next_step.is_empty(), "{why}");
            let expired = p.now > na;
            let has = |f: &str| v.findings.iter().any(|x| x == f);
            for f in &v.findings {
                assert!(
                    Status::parse(f).is_some()
                        || Finding::ALL.iter().any(|x| x.as_str() == f)
                        || VERDICT_FINDINGS.contains(&f.as_str()),
                    "{f} is in no vocabulary; {why}"
                );
            }
            // What the records offer in place of the served one: an issued version valid
            // now by its dates (an export's "Expired" may be stale; its dates decide).
            let usable = |w: &Version| {
                matches!(w.status, "Issued" | "Expired")
                    && w.not_before <= p.now
                    && p.now <= w.not_after
            };
            // An outage with a valid certificate in the records: the verdict names one.
            let valid: Vec<String> = lineages
                .iter()
                .filter(|(prefix, _)| *prefix != "D")
                .flat_map(|(prefix, versions)| {
                    versions
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| usable(w))
                        .map(move |(k, _)| format!("{prefix}{k}"))
                })
                .collect();
            if expired && !valid.is_empty() {
                assert!(
                    valid
                        .iter()
                        .any(|id| v.next_step.contains(id.as_str())
                            || v.detail.contains(id.as_str())),
                    "{valid:?} valid; {why}"
                );
            }
            let Some((l, served)) = served else {
                assert_eq!(v.matched, None, "{why}");
                assert!(
                    matches!(v.status, Status::Unmanaged | Status::Expired),
                    "{why}"
                );
                continue;
            };
            let (prefix, versions) = &lineages[l];
            let m = &versions[served];
            if *prefix == "D" {
                // Another site's certificate: the binding is wrong, whatever its own
                // lineage says; the step names a certificate for this name the records
                // hold, valid today, when there is one.
                assert!(
                    matches!(
                        v.status,
                        Status::Revoked | Status::Expired | Status::HostnameMismatch
                    ),
                    "{why}"
                );
                if v.status == Status::HostnameMismatch && !valid.is_empty() {
                    assert!(
                        valid
                            .iter()
                            .any(|id| v.next_step.contains(&format!("record {id} "))),
                        "{valid:?} valid; {why}"
                    );
                }
                continue;
            }
            assert_eq!(
                v.matched.as_ref().and_then(|r| r.serial.as_deref()),
                Some(m.serial.as_str()),
                "{why}"
            );
            let later_usable = versions[served + 1..].iter().any(usable);
            if later_usable {
                assert!(
                    matches!(
                        v.status,
                        Status::RenewedNotDeployed | Status::DeploymentPending
                    ),
                    "a usable later version exists; {why}"
                );
            }
            match v.status {
                Status::RenewedNotDeployed | Status::DeploymentPending => {
                    let ei = v.expected.as_ref().and_then(|e| {
                        versions
                            .iter()
                            .position(|w| Some(w.serial.as_str()) == e.serial.as_deref())
                    });
                    // A replaced record without its successor in the export names none.
                    if has("successor_not_in_records") {
                        assert_eq!(m.status, "Superseded", "{why}");
                    } else {
                        let Some(ei) = ei else {
                            panic!("no renewal of its own identity named; {why}")
                        };
                        assert!(ei > served && usable(&versions[ei]), "{why}");
                        // The newest usable one, not any later one.
                        assert!(!versions[ei + 1..].iter().any(usable), "{why}");
                    }
                    // Within the grace period the deployment may still be running, unless the
                    // served certificate has expired or the records say it ended.
                    let renewal = ei.filter(|_| !has("successor_not_in_records"));
                    if let Some(e) = renewal.and_then(|ei| versions.get(ei)) {
                        let young = p.now - e.not_before < p.grace_secs;
                        let ended =
                            matches!(e.deploy, "Deployed" | "Deployment Failed" | "Rolled back");
                        assert_eq!(
                            v.status == Status::DeploymentPending,
                            young && !expired && !ended,
                            "{why}"
                        );
                    }
                }
                Status::Current => {
                    assert!(!expired && m.status != "Revoked", "{why}");
                    assert!(na - p.now > p.renewal_window_secs, "{why}");
                    assert!(v.next_step.starts_with("Nothing to do"), "{why}");
                }
                Status::ExpiringSoon => {
                    assert!(!expired && na - p.now <= p.renewal_window_secs, "{why}");
                }
                Status::Revoked => assert_eq!(m.status, "Revoked", "{why}"),
                Status::Expired => assert!(expired, "{why}"),
                // Deployed before its notBefore.
                Status::Untrusted => assert!(nb > p.now, "{why}"),
                other => panic!("{other} for a served certificate of the records; {why}"),
            }
            if expired {
                assert!(
                    matches!(
                        v.status,
                        Status::RenewedNotDeployed | Status::Revoked | Status::Expired
                    ),
                    "{why}"
                );
            }
            if m.status == "Revoked" {
                assert!(has("revoked"), "{why}");
            }
            // The records report shows each identity's version valid today, and the endpoint
            // where it stands: serving it, or serving an older one.
            let mut serving = Serving::default();
            serving.note(&v);
            let rows = identity_rows(&i, &serving, &p);
            assert_eq!(rows.len(), lineages.len(), "{why}");
            if let Some(k) = versions.iter().rposition(usable) {
                let row = rows
                    .iter()
                    .find(|r| r.newest_record_id.starts_with(prefix))
                    .unwrap_or_else(|| panic!("no row for {prefix}; {why}\n{rows:#?}"));
                assert_eq!(row.newest_serial, versions[k].serial, "{why}\n{row:#?}");
                if served < k {
                    assert!(!row.stale_at.is_empty(), "{why}\n{row:#?}");
                } else if served == k {
                    assert!(!row.deployed_at.is_empty(), "{why}\n{row:#?}");
                }
            }
        }
        for want in [
            "current",
            "renewed_not_deployed",
            "deployment_pending",
            "revoked",
            "expired",
            "unmanaged",
            "untrusted",
            "expiring_soon",
            "partial_rollout",
            "renewal_expired",
            "renewal_revoked",
            "successor_not_in_records",
            "deployment_failed",
            "records_say_deployed",
        ] {
            assert!(
                reached.contains_key(want),
                "{want} never reached: {reached:?}"
            );
        }
    }

    #[test]
    fn an_rsa_renewal_valid_today_is_owed_to_rsa_clients_though_a_later_one_lapsed() {
        // RSA clients get R0; R1 renewed it and is valid until July; R3, a later RSA
        // reissue, has already expired. The ECDSA side serves the newest, R2.
        let i = ids(
            "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Key Type\n\
             R0,h.x.com,C0,2025-08-11,2026-08-07,CA,Issued,RSA\n\
             R1,h.x.com,C1,2025-11-26,2026-07-27,CA,Issued,RSA\n\
             R2,h.x.com,C2,2026-03-06,2026-12-07,CA,Issued,EC\n\
             R3,h.x.com,C3,2026-03-17,2026-04-30,CA,Issued,RSA\n",
        );
        let rsa = |serial: &str, nb: i64, na: i64| {
            let mut c = presenting("h.x.com", "10.0.0.1", serial, nb, na)
                .cert
                .expect("a certificate");
            c.key_type = "RSA".into();
            c
        };
        let mut o = presenting("h.x.com", "10.0.0.1", "C2", 1_772_755_200, 1_796_601_600);
        o.other_key = Some(Box::new(OtherKey {
            offered: KeyFamily::Rsa,
            cert: Some(rsa("C0", 1_754_870_400, 1_786_060_800)),
            findings: Vec::new(),
            trust_detail: None,
            error: None,
        }));
        let (v, _) = judge_one(o, &i, &policy());
        assert_eq!(v.status, Status::RenewedNotDeployed, "{v:#?}");
        let expected = v.expected.as_ref().and_then(|e| e.serial.as_deref());
        assert_eq!(expected, Some("C1"));
        assert!(v.findings.iter().any(|f| f == "dual_certificates"));
    }

    #[test]
    fn generated_servers_with_one_certificate_per_key_type_are_judged_by_their_kind() {
        // A server may hold one certificate per key type and present each to its clients.
        // The records know each version's key type. Whatever the server holds, the verdict
        // says renewed_not_deployed exactly when a client gets a certificate that has a
        // later usable version it should have got: of its own key type when the server
        // holds both, of any when it holds one (it refuses the other type's clients the
        // newest).
        const DAY: i64 = 86_400;
        let p = policy();
        let mut reached = std::collections::BTreeMap::<String, usize>::new();
        for seed in 1..=10000u64 {
            let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
            let mut csv = String::from(
                "Certificate ID,SANs,Serial,Valid From,Valid To,Issuer,Status,Key Type\n",
            );
            // (serial, not_before, not_after, status, RSA?)
            let mut versions: Vec<(String, i64, i64, &str, bool)> = Vec::new();
            let mut start = p.now - DAY * (100 + rng.below(600) as i64);
            for k in 0..1 + rng.below(5) {
                start += DAY * (2 + rng.below(120) as i64);
                let not_after = start + DAY * (20 + rng.below(400) as i64);
                let status = rng.pick(&["Issued", "Issued", "Issued", "Revoked"]);
                let rsa = rng.below(2) == 0;
                let serial = format!("B{:X}", seed * 8 + k);
                csv.push_str(&format!(
                    "R{k},h.x.com,{serial},{},{},CA,{status},{}\n",
                    rfc3339_unix(start),
                    rfc3339_unix(not_after),
                    if rsa { "RSA 2048" } else { "EC P-256" }
                ));
                versions.push((serial, start, not_after, status, rsa));
            }
            // Valid through its notAfter second (RFC 5280), as the judge counts it.
            let usable = |k: usize| {
                let (_, nb, na, status, _) = versions[k];
                status == "Issued" && nb <= p.now && p.now <= na
            };
            // What the server holds: at most one usable version of each key type, valid
            // beyond the renewal window (so that expiry says nothing here).
            let holdable = |rsa: bool| -> Vec<usize> {
                (0..versions.len())
                    .filter(|&k| {
                        versions[k].4 == rsa
                            && usable(k)
                            && versions[k].2 - p.now > p.renewal_window_secs
                    })
                    .collect()
            };
            let hold = |rsa: bool, rng: &mut Rng| {
                let of = holdable(rsa);
                match rng.below(of.len() as u64 + 1) as usize {
                    k if k < of.len() => Some(of[k]),
                    _ => None,
                }
            };
            let (ec, rsa) = (hold(false, &mut rng), hold(true, &mut rng));
            // An ECDSA-first client gets the EC certificate when there is one.
            let (first, second) = match (ec, rsa) {
                (Some(e), r) => (e, r),
                (None, Some(r)) => (r, None),
                (None, None) => continue,
            };
            let cert_of = |k: usize| {
                let (serial, nb, na, _, is_rsa) = &versions[k];
                let mut o = presenting("h.x.com", "10.0.0.1", serial, *nb, *na);
                let mut c = o.cert.take().expect("a certificate");
                if *is_rsa {
                    c.key_type = "RSA".into();
                    c.key_bits = 2048;
                }
                c
            };
            let mut o = presenting("h.x.com", "10.0.0.1", "0", 0, 0);
            o.cert = Some(cert_of(first));
            let offered = if versions[first].4 {
                KeyFamily::Ecdsa
            } else {
                KeyFamily::Rsa
            };
            o.other_key = Some(Box::new(OtherKey {
                offered,
                cert: second.map(cert_of),
                findings: Vec::new(),
                trust_detail: None,
                error: match second {
                    Some(_) => None,
                    None => Some(crate::model::ErrorInfo {
                        class: ErrorClass::TlsAlert,
                        message: "handshake failure".into(),
                    }),
                },
            }));
            let i = ids(&csv);
            let (v, _) = judge_one(o, &i, &p);
            *reached.entry(v.status.as_str().to_string()).or_default() += 1;
            let why = format!("seed {seed}: holds {first} and {second:?}\n{csv}-> {v:#?}");
            let later = |k: usize, same_kind: bool| {
                (k + 1..versions.len())
                    .any(|j| usable(j) && (!same_kind || versions[j].4 == versions[k].4))
            };
            let stale = match second {
                Some(s) => later(first, true) || later(s, true),
                None => later(first, false),
            };
            let renewed = matches!(
                v.status,
                Status::RenewedNotDeployed | Status::DeploymentPending
            );
            assert_eq!(renewed, stale, "{why}");
            if !stale {
                assert_eq!(v.status, Status::Current, "{why}");
            }
            if second.is_some() {
                assert!(v.findings.iter().any(|f| f == "dual_certificates"), "{why}");
            }
        }
        for want in ["current", "renewed_not_deployed"] {
            assert!(
                reached.contains_key(want),
                "{want} never reached: {reached:?}"
            );
        }
    }
}
