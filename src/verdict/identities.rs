//! Records grouped into identities (a certificate and its renewals), and which version of
//! each an endpoint should serve.

use super::*;
use crate::inventory::index::KeyIndex;
use std::collections::HashMap;

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
    pub(super) rank: Vec<u32>,
    by_serial: KeyIndex,
    by_alt_serial: KeyIndex,
    by_sha256: KeyIndex,
    by_sha1: KeyIndex,
    by_name: KeyIndex,
    /// How the records were grouped (`--separate-groups`).
    grouping: Grouping,
}

/// Disjoint sets of record indexes (the identities while they are being joined).
pub(super) struct UnionFind(pub(super) Vec<usize>);

impl UnionFind {
    /// The representative of `x`'s set (compressing the path to it).
    pub(super) fn find(&mut self, x: usize) -> usize {
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
    /// Joins the sets of `a` and `b`.
    pub(super) fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra] = rb;
        }
    }
}

/// `ORD123R001` → `ORD123`: CERTInext names a reissue after its original order.
pub(super) fn reissue_base(order: &str) -> Option<&str> {
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
    // An order with no certificate yet (pending, or cancelled before issuance) that nothing
    // else joins belongs to the certificate whose names cover its own, the latest such: a
    // renewal on its way. Alone, it was an identity of its own that the records report
    // called without a valid certificate, beside the one it renews.
    let mut alone = vec![0u32; records.len()];
    for i in 0..records.len() {
        alone[uf.find(i)] += 1;
    }
    for (i, r) in records.iter().enumerate() {
        if has_certificate(r) || alone[uf.find(i)] != 1 {
            continue;
        }
        let mut names: Vec<usize> = Vec::new();
        for n in r.name_set() {
            match name_no.get(n) {
                Some(&k) => names.push(k),
                // A name no certificate has: nothing to belong to.
                None => {
                    names.clear();
                    break;
                }
            }
        }
        if grouping.separate_groups {
            match group_no.get(r.group.as_deref().unwrap_or_default()) {
                Some(&k) => names.push(k),
                None => names.clear(),
            }
        }
        let Some(&rarest) = names.iter().min_by_key(|&&n| holding(n).len()) else {
            continue;
        };
        let renewed = holding(rarest)
            .iter()
            .map(|&hi| &groups[hi])
            .filter(|h| {
                let covering = names_of(&h.names);
                names.iter().all(|n| covering.binary_search(n).is_ok())
            })
            .max_by_key(|h| version(h.newest));
        if let Some(h) = renewed {
            uf.union(i, h.first);
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

/// Whether records `a` and `b`, which have one serial, are one certificate: their
/// fingerprints agree where both have one, else their notAfter dates do (within the slack a
/// date without a time needs), as two private CAs' certificates numbered alike seldom end
/// the same day, else their issuers do not name two CAs.
fn same_certificate(a: &Record, b: &Record) -> bool {
    if let (Some(x), Some(y)) = (&a.sha256, &b.sha256) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (&a.sha1, &b.sha1) {
        return x == y;
    }
    match (a.not_after, b.not_after) {
        (Some(x), Some(y)) => {
            let slack = if x.date_only || y.date_only {
                3 * 86_400
            } else {
                2 * 86_400
            };
            (x.unix - y.unix).abs() <= slack
        }
        // Without both dates, a short serial (a private CA numbering from 01) with the
        // issuers where both are named: leniently, as one export names a CA by its CN and
        // another by its DN; only names neither holds are two CAs. A random serial of 8
        // bytes or more is one certificate's.
        _ => {
            let short = a.serial_hex().is_some_and(|s| s.len() < 16);
            match (a.issuer.as_deref(), b.issuer.as_deref()) {
                (Some(x), Some(y)) if short => {
                    let (x, y) = (x.trim().to_lowercase(), y.trim().to_lowercase());
                    x.is_empty() || y.is_empty() || x.contains(&y) || y.contains(&x)
                }
                _ => true,
            }
        }
    }
}

/// Whether record `r`, which has certificate `c`'s serial, is nevertheless another
/// certificate: its notAfter is days away from `c`'s, and either its issuer is another CA or
/// the serial is short and the names differ; without a notAfter, the serial is short and
/// its issuer another CA. Private CAs number serials from 1 (OpenSSL's
/// `ca`, small internal CAs), so two of them give the same serial to different
/// certificates; a public CA's random serial of 8 bytes or more does not collide, and a
/// wrong date in the export (a misread day and month) then stays the export's error.
fn serial_collides(r: &Record, c: &crate::model::CertInfo) -> bool {
    let dated = r.not_after.is_some();
    if let Some(na) = r.not_after {
        let slack = if na.date_only { 3 * 86_400 } else { 2 * 86_400 };
        if (na.unix - c.not_after_unix).abs() <= slack {
            return false;
        }
    }
    let short = c.serial.len() < 16;
    let other_ca = r.issuer.as_deref().is_some_and(|i| another_ca(i, c));
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
    if !dated {
        // No date to tell them apart: only a short serial under another CA's name is
        // another certificate (names alone differ between a certificate's records).
        return short && other_ca;
    }
    other_ca || (short && !same_names())
}

/// Whether `issuer`, a record's issuer as its export writes it, names another CA than the
/// one that issued `c`. Lenient: "emSign SSL CA - G1" names the issuer by its CN, others
/// by the DN or a shortened name; only a name found in neither is another CA.
pub(super) fn another_ca(issuer: &str, c: &crate::model::CertInfo) -> bool {
    let i = issuer.trim().to_ascii_lowercase();
    let dn = c.issuer.to_ascii_lowercase();
    let cn = c
        .issuer_cn
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let same =
        i.is_empty() || dn.contains(&i) || cn.contains(&i) || (!cn.is_empty() && i.contains(&cn));
    !same
}

/// Whether `key` is the record's id, order number or request number, ignoring ASCII case.
fn has_id(r: &Record, key: &str) -> bool {
    std::iter::once(&*r.record_id)
        .chain(r.order_id.as_deref())
        .chain(r.request_id.as_deref())
        .any(|k| k.eq_ignore_ascii_case(key))
}

pub(super) fn has_certificate(r: &Record) -> bool {
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
    pub fn build_with(mut records: Vec<Record>, grouping: Grouping) -> Self {
        // A file's serials read both ways are read as the file writes the others.
        crate::inventory::serial::settle_bases(&mut records);
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
            grouping,
        }
    }

    /// Whether one of two certificates of a name may stand in for the other: not across
    /// business units kept apart by `--separate-groups` (each buys its own for a shared
    /// name).
    pub(super) fn interchangeable(&self, a: usize, b: usize) -> bool {
        !self.grouping.separate_groups || self.records[a].group == self.records[b].group
    }

    /// Whether a record may be the certificate an endpoint should serve.
    pub(super) fn eligible(&self, i: usize, now: i64) -> bool {
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
    pub(super) fn tied(&self, i: usize, now: i64) -> impl Iterator<Item = usize> + '_ {
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
    pub(super) fn renewal_beside(
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
        let live = |i: usize| !self.records[i].expired_at(now);
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
    pub(super) fn unusable_later(&self, ri: usize, host: &str, now: i64) -> Option<usize> {
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
                    && !r.expired_at(now);
                ((blocked && r.covers(host)) || dropped) && self.is_newer(k, ri)
            })
            .reduce(|a, b| if self.is_newer(b, a) { b } else { a })
    }

    /// Whether the identity of record `ri` holds any version later than it.
    pub(super) fn has_later(&self, ri: usize) -> bool {
        self.members[self.identity_of[ri]]
            .iter()
            .any(|&k| self.is_newer(k, ri))
    }

    /// Whether record `ri`'s identity has an eligible version covering `host` known (from
    /// its PEM or a key type column) to be of key type `family`.
    pub(super) fn has_version_of(
        &self,
        ri: usize,
        family: KeyFamily,
        host: &str,
        now: i64,
    ) -> bool {
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
        let live = |i: &usize| !self.records[*i].expired_at(now);
        if let Some(h) = host {
            let covering = || eligible().filter(move |&i| self.records[i].covers(h));
            if let Some(i) = covering().find(live).or_else(|| covering().next()) {
                return Some(i);
            }
        }
        eligible().find(live).or_else(|| eligible().next())
    }

    /// The records of record `m`'s certificate: `m`, and the other records with its serial
    /// that are the same certificate (an export listing it twice), not another CA's
    /// certificate given the same number (see [`same_certificate`]).
    pub(super) fn same_certificate(&self, m: usize) -> impl Iterator<Item = usize> + '_ {
        let r = &self.records[m];
        let others = r
            .serial_hex()
            .into_iter()
            .flat_map(move |s| with_serial(&self.records, &self.by_serial, s))
            .filter(move |&k| k != m && same_certificate(&self.records[k], r));
        std::iter::once(m).chain(others)
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
    pub(super) fn valid_for_host(
        &self,
        host: &str,
        served: &str,
        now: i64,
        keep: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        self.identities_for_host(host)
            .into_iter()
            .flat_map(|id| self.members[id].iter().copied())
            .filter(|&i| {
                let r = &self.records[i];
                self.eligible(i, now)
                    && r.covers(host)
                    && !r.expired_at(now)
                    && r.serial_hex() != Some(served)
                    && keep(i)
            })
            .reduce(|a, b| self.preferred(a, b, now))
    }

    /// A certificate of another identity that can take over from record `ri` at `host`: it
    /// covers `host`, may be served today, was issued after `ri` and lasts beyond it. Such a
    /// certificate is no renewal by the records' links or name sets (a SAN certificate split
    /// into one certificate per name, a wildcard ordered to replace dedicated ones), but
    /// deploying it is what keeps the name served when `ri` expires; "no renewal exists"
    /// would send the user to order one more. The one issued last.
    pub(super) fn replacement_for(&self, ri: usize, host: &str, now: i64) -> Option<usize> {
        self.replacement_among(ri, &self.takeover_candidates(host, now))
    }

    /// What may take over at `host` (see [`Identities::replacement_for`]): the versions
    /// covering it that may be served today, latest issued first. Kept per name by the
    /// records report, where one name (an autodiscover SAN) can be on thousands of
    /// certificates: walking them for each was quadratic (20,000 such: 0.1 s became 41 s).
    pub(super) fn takeover_candidates(&self, host: &str, now: i64) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .identities_for_host(host)
            .into_iter()
            .flat_map(|id| self.members[id].iter().copied())
            .filter(|&k| {
                let r = &self.records[k];
                self.eligible(k, now) && r.covers(host) && !r.expired_at(now)
            })
            .collect();
        out.sort_unstable_by_key(|&k| std::cmp::Reverse((self.records[k].issued_key(), k)));
        out
    }

    /// [`Identities::replacement_for`] among `candidates` (from
    /// [`Identities::takeover_candidates`]).
    pub(super) fn replacement_among(&self, ri: usize, candidates: &[usize]) -> Option<usize> {
        let served = &self.records[ri];
        // Without its issue date nothing can be said to come after it.
        let issued = Some(served.issued_key().0).filter(|&t| t > i64::MIN)?;
        let expires = served.not_after?.unix;
        let own = self.identity_of[ri];
        // Dates only: renewal links order versions of one identity, not these.
        candidates
            .iter()
            .copied()
            .take_while(|&k| self.records[k].issued_key().0 > issued)
            .find(|&k| {
                let r = &self.records[k];
                self.identity_of[k] != own
                    && r.not_after.is_some_and(|w| w.unix > expires)
                    && r.serial_hex() != served.serial_hex()
                    && self.interchangeable(k, ri)
            })
    }

    /// Whether a record covering the name `o` asked for gives `o` as a deployment endpoint
    /// with its port written out (`www.example.com:8443`, `10.0.0.5:8443`, a URL with the
    /// port): the records then place a certificate on that port, not just on the name.
    pub fn placed_on_port(&self, o: &Observation) -> bool {
        use crate::engine::targets::{parse_line, Target, NO_PORT};
        let is_here = |t: Target| match t {
            Target::Name { name, port, .. } => {
                port == o.port && (name == o.host || name == o.asked_name())
            }
            Target::Addr { ip, port, .. } => port == o.port && Some(ip) == o.ip,
            Target::Cidr { net, port, .. } => {
                port == o.port && o.ip.is_some_and(|ip| net.contains(&ip))
            }
        };
        self.records_covering(o.asked_name()).any(|i| {
            self.records[i].targets.iter().any(|spec| {
                // `host:port/name` asks the endpoint for another name; the port is the place.
                let endpoint = parse_line(spec, NO_PORT).or_else(|e| match spec.rsplit_once('/') {
                    Some((at, _)) => parse_line(at, NO_PORT),
                    None => Err(e),
                });
                endpoint.is_ok_and(is_here)
            })
        })
    }

    /// The records naming `host`, then those naming the wildcard of its parent, each in the
    /// order they were read (identities repeat where several versions name it).
    fn records_covering<'a>(&'a self, host: &str) -> impl Iterator<Item = usize> + 'a {
        // Lazily: the first one found is all some callers need.
        let named = move |name: String| {
            let found = self.by_name.candidates(&name);
            found.filter(move |&i| self.records[i].has_name(&name))
        };
        let wildcard = host.split_once('.').map(|(_, rest)| format!("*.{rest}"));
        named(host.to_string()).chain(wildcard.into_iter().flat_map(named))
    }

    /// The first of [`Identities::identities_for_host`], without collecting the rest.
    pub fn first_identity_for(&self, host: &str) -> Option<usize> {
        self.records_covering(host)
            .next()
            .map(|i| self.identity_of[i])
    }

    /// Identities whose names cover `host`.
    pub fn identities_for_host(&self, host: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        // In the order their records were read; a name on thousands of certificates (an
        // autodiscover SAN) is thousands of identities, so the seen ones go in a set.
        let mut seen = std::collections::HashSet::new();
        for i in self.records_covering(host) {
            let id = self.identity_of[i];
            if seen.insert(id) {
                out.push(id);
            }
        }
        out
    }
}
