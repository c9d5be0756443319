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

impl Seen {
    /// Adds `hash` (its top 60 bits); false when it was there already.
    pub fn insert(&mut self, hash: u64) -> bool {
        // The shift leaves BUCKET_BITS bits, so the index is always in range.
        let Some(bucket) = self.buckets.get_mut((hash >> (64 - BUCKET_BITS)) as usize) else {
            return true;
        };
        let [_, _, a, b, c, d, e, f] = (hash >> (64 - BUCKET_BITS - 48)).to_be_bytes();
        let entry: Entry = [a, b, c, d, e, f];
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
