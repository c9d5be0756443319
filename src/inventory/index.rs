//! Record numbers by a string key (serial, name, id), kept as hashes of the key.

use std::hash::Hasher;

/// Record numbers by a string key, as (hash of the key, record number) pairs sorted by hash:
/// 16 bytes an entry, where a map from owned keys to vectors of numbers took ~115 (200,000
/// records of two names: 47 MB for the name index alone). A hash only names candidates:
/// callers confirm each against the record, so a collision can never match a wrong one.
#[derive(Debug, Default)]
pub struct KeyIndex {
    entries: Vec<(u64, usize)>,
    /// Keys compare ignoring ASCII case (order numbers and record ids).
    fold_case: bool,
}

impl KeyIndex {
    /// An index of exact keys.
    pub fn exact<K: AsRef<str>>(keys: impl IntoIterator<Item = (K, usize)>) -> Self {
        Self::build(keys, false)
    }

    /// An index whose keys compare ignoring ASCII case.
    pub fn folded<K: AsRef<str>>(keys: impl IntoIterator<Item = (K, usize)>) -> Self {
        Self::build(keys, true)
    }

    fn build<K: AsRef<str>>(keys: impl IntoIterator<Item = (K, usize)>, fold_case: bool) -> Self {
        let mut entries: Vec<(u64, usize)> = keys
            .into_iter()
            .map(|(k, i)| (key_hash(k.as_ref(), fold_case), i))
            .collect();
        // Record numbers ascend within a key, as the order the records were read in; a record
        // giving one key twice (its id is its order number) is listed once.
        entries.sort_unstable();
        entries.dedup();
        entries.shrink_to_fit();
        KeyIndex { entries, fold_case }
    }

    /// Records whose key may be `key`, in record order; confirm each against the record.
    pub fn candidates(&self, key: &str) -> impl Iterator<Item = usize> + '_ {
        let h = key_hash(key, self.fold_case);
        let start = self.entries.partition_point(|e| e.0 < h);
        self.entries[start..]
            .iter()
            .take_while(move |e| e.0 == h)
            .map(|e| e.1)
    }
}

fn key_hash(key: &str, fold_case: bool) -> u64 {
    // SipHash with fixed keys: the same key always lands in the same place, and names from
    // an export cannot be chosen to make lookups slow any more than they already could.
    let mut h = std::hash::DefaultHasher::new();
    if fold_case {
        for b in key.bytes() {
            h.write_u8(b.to_ascii_lowercase());
        }
    } else {
        h.write(key.as_bytes());
    }
    h.write_u8(0xff);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_by_key_in_record_order_once_each() {
        let idx = KeyIndex::exact([("b", 3), ("a", 0), ("b", 1), ("a", 0), ("B", 2)]);
        assert_eq!(idx.candidates("a").collect::<Vec<_>>(), vec![0]);
        assert_eq!(idx.candidates("b").collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(idx.candidates("B").collect::<Vec<_>>(), vec![2]);
        assert_eq!(idx.candidates("c").count(), 0);
    }

    #[test]
    fn folded_keys_ignore_ascii_case_only() {
        let idx = KeyIndex::folded([("ORD-1R001", 0), ("ord-1r001", 1), ("Äb", 2)]);
        assert_eq!(idx.candidates("Ord-1r001").collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(idx.candidates("ÄB").collect::<Vec<_>>(), vec![2]);
        assert_eq!(idx.candidates("äb").count(), 0);
    }
}
