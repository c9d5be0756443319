//! The targets already taken, so that exact duplicates anywhere in a list of any length
//! collapse to one endpoint.
//!
//! Only the top 60 bits of a 64-bit hash of each distinct target are kept (two distinct
//! targets share them with a probability of about n²/2⁶¹: 4·10⁻⁷ for a million). A hash set
//! of 64-bit hashes cost 9 bytes a slot at up to 7/8 load and doubled its table with old and
//! new alive at once: a million-line list raised the sweep's peak RSS by 26 MiB, almost all of
//! it that set. Here the top 12 bits choose one of 4,096 buckets and the next 48 are kept in
//! it, sorted, 6 bytes each; a bucket grows by an eighth at a time, nothing is doubled. A
//! bucket holds n/4,096 entries on average, so an insert is a short binary search and a
//! short move.

/// Buckets, chosen by the top bits of the hash.
const BUCKET_BITS: u32 = 12;

/// Bytes kept per entry: the hash's bits below the bucket's, big-endian so that the byte
/// order sorts like the number.
type Entry = [u8; 6];

/// A set of target hashes, compact at any size.
#[derive(Debug)]
pub struct Seen {
    buckets: Vec<Vec<Entry>>,
    len: usize,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            buckets: (0..1usize << BUCKET_BITS).map(|_| Vec::new()).collect(),
            len: 0,
        }
    }
}

/// The bucket of `hash` and its entry there.
fn place(hash: u64) -> (usize, Entry) {
    let [_, _, a, b, c, d, e, f] = (hash >> (64 - BUCKET_BITS - 48)).to_be_bytes();
    ((hash >> (64 - BUCKET_BITS)) as usize, [a, b, c, d, e, f])
}

impl Seen {
    /// Adds `hash` (its top 60 bits); false when it was there already.
    pub fn insert(&mut self, hash: u64) -> bool {
        let (at, entry) = place(hash);
        // The shift leaves BUCKET_BITS bits, so the index is always in range.
        let Some(bucket) = self.buckets.get_mut(at) else {
            return true;
        };
        match bucket.binary_search(&entry) {
            Ok(_) => false,
            Err(at) => {
                if bucket.len() == bucket.capacity() {
                    bucket.reserve_exact((bucket.len() / 8).max(4));
                }
                bucket.insert(at, entry);
                self.len += 1;
                true
            }
        }
    }

    /// Whether `hash` (its top 60 bits) was added.
    pub fn contains(&self, hash: u64) -> bool {
        let (at, entry) = place(hash);
        self.buckets
            .get(at)
            .is_some_and(|b| b.binary_search(&entry).is_ok())
    }

    /// Distinct hashes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was inserted yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries the buckets have room for: what the set occupies, in units of 6 bytes.
    pub fn capacity(&self) -> usize {
        self.buckets.iter().map(Vec::capacity).sum()
    }
}

/// The CIDR blocks of one sweep, so that an address named alone and inside a block, or by
/// two overlapping blocks, is scanned once.
///
/// Their addresses are not kept (a /8 is 16 million of them); since two CIDR blocks are
/// either nested or disjoint, an address is inside an earlier block exactly when one of its
/// own supernets, at a prefix length some block has, was registered earlier. So a lookup
/// costs one hash probe per distinct prefix length, and the registry one entry per block.
#[derive(Debug, Default)]
pub struct Blocks {
    /// Hash of (network, what its endpoints share) → the first block with it.
    first: std::collections::HashMap<u64, u32>,
    /// The prefix lengths registered, per family (IPv4, IPv6).
    lengths: [Vec<u8>; 2],
    count: u32,
}

impl Blocks {
    /// Registers `net`, whose endpoints share `rest` (a hash of port, SNI and dialogue), and
    /// returns its number in this sweep.
    pub fn add(&mut self, net: &ipnet::IpNet, rest: u64) -> u32 {
        let k = self.count;
        self.count = self.count.saturating_add(1);
        let lengths = &mut self.lengths[usize::from(matches!(net, ipnet::IpNet::V6(_)))];
        if !lengths.contains(&net.prefix_len()) {
            lengths.push(net.prefix_len());
        }
        self.first.entry(key(&net.trunc(), rest)).or_insert(k);
        k
    }

    /// Whether `ip` with `rest` falls in a block registered before block number `before`.
    pub fn covers(&self, ip: std::net::IpAddr, rest: u64, before: u32) -> bool {
        self.lengths[usize::from(ip.is_ipv6())].iter().any(|&len| {
            ipnet::IpNet::new(ip, len).is_ok_and(|n| {
                self.first
                    .get(&key(&n.trunc(), rest))
                    .is_some_and(|&k| k < before)
            })
        })
    }

    /// True when no block was registered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

fn key(net: &ipnet::IpNet, rest: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (net, rest).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of 64-bit values (splitmix64).
    fn spread(n: u64) -> impl Iterator<Item = u64> {
        (0..n).map(|i| {
            let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
    }

    #[test]
    fn second_insert_of_a_hash_is_refused() {
        let mut s = Seen::default();
        assert!(s.is_empty());
        for h in spread(50_000) {
            assert!(s.insert(h));
        }
        for h in spread(50_000) {
            assert!(!s.insert(h));
        }
        // Extremes land in the first and last buckets; the lowest 4 bits are not kept.
        assert!(s.insert(0));
        assert!(s.insert(u64::MAX));
        assert!(!s.insert(0));
        assert!(!s.insert(u64::MAX));
        assert!(!s.insert(0x0F));
        assert!(s.insert(0x10));
        assert_eq!(s.len(), 50_003);
    }

    #[test]
    fn blocks_cover_what_an_earlier_block_holds() {
        let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let mut b = Blocks::default();
        assert!(b.is_empty() && !b.covers(ip("10.0.0.1"), 1, u32::MAX));
        let wide = b.add(&net("10.0.0.0/24"), 1);
        // Host bits in the block's address do not make it another block.
        let same = b.add(&net("10.0.0.99/24"), 1);
        let inner = b.add(&net("10.0.0.8/30"), 1);
        let other_port = b.add(&net("10.0.1.0/30"), 2);
        let v6 = b.add(&net("2001:db8::/126"), 1);
        assert_eq!((wide, same, inner, other_port, v6), (0, 1, 2, 3, 4));
        // A block's own addresses are not covered by itself, only by what came before.
        assert!(!b.covers(ip("10.0.0.7"), 1, wide));
        assert!(b.covers(ip("10.0.0.7"), 1, same));
        assert!(b.covers(ip("10.0.0.9"), 1, inner));
        // Outside, or with other shared settings, or another family: not covered.
        assert!(!b.covers(ip("10.0.1.1"), 1, u32::MAX));
        assert!(!b.covers(ip("10.0.0.9"), 2, u32::MAX));
        assert!(!b.covers(ip("10.0.1.1"), 2, other_port));
        assert!(b.covers(ip("10.0.1.1"), 2, u32::MAX));
        assert!(b.covers(ip("2001:db8::3"), 1, u32::MAX));
        assert!(!b.covers(ip("2001:db8::4"), 1, u32::MAX));
        assert!(!b.covers(ip("::ffff:10.0.0.1"), 1, u32::MAX));
    }

    #[test]
    fn contains_says_what_insert_added() {
        let mut s = Seen::default();
        for h in spread(1_000).step_by(2) {
            s.insert(h);
        }
        for (i, h) in spread(1_000).enumerate() {
            assert_eq!(s.contains(h), i % 2 == 0, "{i}");
        }
    }

    #[test]
    fn room_stays_within_an_eighth_of_what_is_held() {
        let mut s = Seen::default();
        for h in spread(300_000) {
            s.insert(h);
        }
        // Each bucket's growth step (an eighth, at least 4) is all the slack there can be.
        let slack_bound = s.len() / 8 + 4 * (1 << BUCKET_BITS);
        assert!(
            s.capacity() <= s.len() + slack_bound,
            "{} slots for {} hashes",
            s.capacity(),
            s.len()
        );
    }
}
