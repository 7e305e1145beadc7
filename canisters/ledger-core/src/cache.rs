//! A direct-mapped cache on the heap: each key has one place, chosen by
//! the caller's hash, and a newer entry overwrites whatever was there. A
//! lookup and an insert each cost a few hundred instructions whatever the
//! number of entries, and keys made to collide cost only misses, never
//! longer searches.

pub struct DirectMapped<K, V> {
    /// 2^bits places.
    bits: u32,
    entries: Vec<Option<(K, V)>>,
}

impl<K: Copy + Eq, V: Copy> DirectMapped<K, V> {
    /// An empty cache of 2^`bits` places; its memory is taken at the first
    /// insert.
    pub const fn new(bits: u32) -> Self {
        Self {
            bits,
            entries: vec![],
        }
    }

    pub fn get(&self, hash: u64, key: &K) -> Option<V> {
        let (k, v) = self.entries.get(self.place(hash)?)?.as_ref()?;
        (k == key).then_some(*v)
    }

    pub fn put(&mut self, hash: u64, key: K, value: V) {
        if self.entries.is_empty() {
            self.entries = vec![None; 1 << self.bits];
        }
        let place = self.place(hash).expect("allocated above");
        self.entries[place] = Some((key, value));
    }

    fn place(&self, hash: u64) -> Option<usize> {
        let len = self.entries.len();
        (len > 0).then(|| (hash as usize) & (len - 1))
    }
}

/// FNV-1a, enough to spread keys that are hashes or principals.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_forgets_what_was_overwritten() {
        let mut cache: DirectMapped<u32, u32> = DirectMapped::new(4);
        assert_eq!(cache.get(5, &5), None);
        cache.put(5, 5, 50);
        assert_eq!(cache.get(5, &5), Some(50));
        // Same place (5 + 16), another key: the old entry is gone, and a
        // lookup of a key with the same place but not held misses.
        cache.put(21, 21, 210);
        assert_eq!(cache.get(5, &5), None);
        assert_eq!(cache.get(21, &21), Some(210));
        assert_eq!(cache.get(21, &5), None);
    }
}
